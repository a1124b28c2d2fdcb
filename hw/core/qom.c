/*
 * The type registry (include/vireo/qom.h): the owners' static tables, walked in one
 * place. Device types come from hw-classes.def through their DeviceClass (parent,
 * abstract flag, own properties).
 */
#include "vireo/qom.h"
#include "vireo/machine.h"
#include "vireo/object.h"
#include <string.h>

/* The root, the QOM tree's containers, and the buses devices sit on. */
const QomType qom_core_types[] = {
    { .name = "object", .abstract = true, .desc = "the root type" },
    { .name = "container", .parent = "object", .desc = "a node of the QOM tree" },
    { .name = "bus", .parent = "object", .abstract = true },
    { .name = "System", .parent = "bus", .desc = "the system bus" },
    { .name = "ISA", .parent = "bus", .desc = "the PIIX3's ISA bus" },
    { .name = "PCI", .parent = "bus", .desc = "the i440FX's root PCI bus" },
    { .name = NULL }
};

static void device_type(const DeviceClass *c, QomType *t)
{
    const DeviceClass *parent = device_class_parent(c);
    *t = (QomType){ .name = c->name, .parent = parent ? parent->name : "object",
                    .abstract = c->abstract, .props = c->props, .desc = c->desc, .dev = c };
}

static void table_foreach(const QomType *tab, void (*fn)(const QomType *, void *),
                          void *opaque)
{
    for (const QomType *t = tab; t->name; t++)
        fn(t, opaque);
}

void qom_types_foreach(void (*fn)(const QomType *t, void *opaque), void *opaque)
{
    table_foreach(qom_core_types, fn, opaque);
    for (const DeviceClass *const *c = device_classes(); *c; c++) {
        QomType t;
        device_type(*c, &t);
        fn(&t, opaque);
    }
    table_foreach(qom_machine_types, fn, opaque);
    for (const MachineClass *const *c = machine_classes(); *c; c++) {
        QomType t = { .name = (*c)->qom_type, .parent = (*c)->qom_parent,
                      .desc = (*c)->desc };
        fn(&t, opaque);
    }
    table_foreach(qom_accel_types, fn, opaque);
    table_foreach(qom_chardev_types, fn, opaque);
    for (const ObjectClass *const *c = object_classes(); *c; c++)
        fn(&(*c)->type, opaque);
    x86_cpu_types_foreach(fn, opaque);
}

typedef struct Lookup {
    const char *name;
    QomType *out;
    bool found;
} Lookup;

static void lookup_one(const QomType *t, void *opaque)
{
    Lookup *l = opaque;
    if (!l->found && !strcmp(t->name, l->name)) {
        *l->out = *t;
        l->found = true;
    }
}

bool qom_type_lookup(const char *name, QomType *out)
{
    Lookup l = { .name = name, .out = out };
    if (name)
        qom_types_foreach(lookup_one, &l);
    return l.found;
}

bool qom_type_is_a(const char *name, const char *ancestor)
{
    QomType t;
    for (unsigned depth = 0; name && depth < 32; depth++) {
        if (!strcmp(name, ancestor))
            return true;
        if (!qom_type_lookup(name, &t))
            return false;
        name = t.parent;
    }
    return false;
}

void qom_type_foreach_prop(const char *name, void (*fn)(const Property *p, void *opaque),
                           void *opaque)
{
    QomType t;
    for (unsigned depth = 0; name && depth < 32 && qom_type_lookup(name, &t); depth++) {
        for (const Property *p = t.props; p && p->name; p++)
            fn(p, opaque);
        name = t.parent;
    }
}
