/*
 * The device core: property parsing from the static tables, realize/reset/free
 * (include/vireo/device.h). Everything -device accepts comes from these tables.
 */
#include "vireo/device.h"
#include "vireo/machine.h"
#include "vireo/option.h"
#include <string.h>

const DeviceClass *device_class_find(const char *name)
{
    for (const DeviceClass *const *c = device_classes(); *c; c++)
        if (!strcmp((*c)->name, name))
            return *c;
    return NULL;
}

/* The abstract roots of the hierarchy (QEMU 7.2's type names). */
const DeviceClass device_base_class = {
    .name = "device", .desc = "the base of every device type", .abstract = true,
};
const DeviceClass sys_bus_device_class = {
    .name = "sys-bus-device", .parent = &device_base_class, .abstract = true,
    .bus = BUS_SYS,
};
const DeviceClass isa_device_class = {
    .name = "isa-device", .parent = &device_base_class, .abstract = true, .bus = BUS_ISA,
};

const DeviceClass *device_class_parent(const DeviceClass *cls)
{
    if (cls->parent || cls == &device_base_class)
        return cls->parent;
    if (cls == &pci_device_class || cls == &isa_device_class || cls == &sys_bus_device_class)
        return &device_base_class;
    switch (cls->bus) {
    case BUS_PCI: return &pci_device_class;
    case BUS_ISA: return &isa_device_class;
    default: return &sys_bus_device_class;
    }
}

bool device_class_is(const DeviceClass *cls, const DeviceClass *ancestor)
{
    for (; cls; cls = device_class_parent(cls))
        if (cls == ancestor)
            return true;
    return false;
}

const Property *device_class_find_prop(const DeviceClass *cls, const char *name)
{
    for (; cls; cls = device_class_parent(cls)) {
        const Property *p = props_find(cls->props, name);
        if (p)
            return p;
    }
    return NULL;
}

void device_class_foreach_prop(const DeviceClass *cls,
                               void (*fn)(const Property *p, void *opaque), void *opaque)
{
    for (; cls; cls = device_class_parent(cls))
        for (const Property *p = cls->props; p && p->name; p++)
            fn(p, opaque);
}

/* Applies @fn to each level's table, root first (defaults) or leaf first (free). */
static void chain_init(const DeviceClass *cls, Device *dev)
{
    const DeviceClass *parent = device_class_parent(cls);
    if (parent)
        chain_init(parent, dev);
    props_init(cls->props, dev, dev->cls->name);
}

/* -global defaults of this type and its ancestors (QEMU: object_apply_global_props),
 * in command-line order. Their values were checked when the options were parsed. */
static void apply_globals(Device *dev)
{
    const GPtrArray *g = dev->machine ? dev->machine->opts.globals : NULL;
    for (guint i = 0; g && i < g->len; i++) {
        const GlobalProp *gp = g->pdata[i];
        bool match = false;
        for (const DeviceClass *c = dev->cls; c && !match; c = device_class_parent(c))
            match = !strcmp(c->name, gp->driver);
        const Property *p = match ? device_class_find_prop(dev->cls, gp->property) : NULL;
        g_autoptr(GError) err = NULL;
        if (p && !prop_set_text(p, dev, gp->value, dev->cls->name, &err))
            g_warning("-global %s: %s", gp->text, err->message);
    }
}

static const Property *prop_lookup(Device *dev, const char *name, GError **errp)
{
    const Property *p = device_class_find_prop(dev->cls, name);
    if (!p)
        g_set_error(errp, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                    "Property '%s.%s' not found", dev->cls->name, name);
    return p;
}

/* The buses a board has, by QEMU's names: "pci.0" (the i440FX root bus), "isa.0" (the
 * PIIX3's), "main-system-bus". */
static bool bus_exists(Machine *m, const char *bus, BusKind *kind)
{
    if (!strcmp(bus, "main-system-bus"))
        *kind = BUS_SYS;
    else if (!strcmp(bus, "pci.0") && m && m->pci_bus)
        *kind = BUS_PCI;
    else if (!strcmp(bus, "isa.0") && m && m->pci_bus)
        *kind = BUS_ISA;
    else
        return false;
    return true;
}

/* "bus": the only bus of each kind is the one a device goes on anyway, so the value
 * is checked, not stored. */
static bool check_bus(Device *dev, JsonNode *v, GError **errp)
{
    static const char *const kind_names[] = { "System", "ISA", "PCI" };
    g_autofree char *bus = NULL;
    BusKind kind;
    if (!qv_str(v, NULL, "bus", &bus, errp))
        return false;
    if (!bus_exists(dev->machine, bus, &kind)) {
        g_set_error(errp, G_IO_ERROR, G_IO_ERROR_NOT_FOUND, "Bus '%s' not found", bus);
        return false;
    }
    if (kind != dev->cls->bus) {
        g_set_error(errp, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                    "Device '%s' can't go on %s bus", dev->cls->name, kind_names[kind]);
        return false;
    }
    return true;
}

bool device_set_node(Device *dev, const char *name, JsonNode *v, bool kv, GError **errp)
{
    if (!strcmp(name, "bus") && !device_class_find_prop(dev->cls, "bus"))
        return check_bus(dev, v, errp);     /* a device with buses of its own takes it */
    if (!strcmp(name, "id")) {
        g_autofree char *id = NULL;
        if (!qv_str(v, NULL, "id", &id, errp) || !id_check("id", id, errp))
            return false;
        g_free(dev->id);
        dev->id = g_steal_pointer(&id);
        return true;
    }
    const Property *p = prop_lookup(dev, name, errp);
    return p && prop_set(p, dev, v, kv, dev->cls->name, errp);
}

bool device_set_prop(Device *dev, const char *name, const char *value, GError **errp)
{
    g_autoptr(JsonNode) n = json_node_init_string(json_node_alloc(), value);
    return device_set_node(dev, name, n, true, errp);
}

bool device_set_bool(Device *dev, const char *name, bool v, GError **errp)
{
    const Property *p = prop_lookup(dev, name, errp);
    return p && prop_set_bool(p, dev, v, dev->cls->name, errp);
}

bool device_set_int(Device *dev, const char *name, int64_t v, GError **errp)
{
    const Property *p = prop_lookup(dev, name, errp);
    return p && prop_set_int(p, dev, v, dev->cls->name, errp);
}

bool device_set_str(Device *dev, const char *name, const char *v, GError **errp)
{
    const Property *p = prop_lookup(dev, name, errp);
    return p && prop_set_str(p, dev, v, dev->cls->name, errp);
}

bool device_apply(Device *dev, JsonObject *o, bool kv, GError **errp)
{
    JsonObjectIter it;
    const char *key;
    JsonNode *val;
    json_object_iter_init(&it, o);
    while (json_object_iter_next(&it, &key, &val))
        if (strcmp(key, "driver") && !device_set_node(dev, key, val, kv, errp))
            return false;
    return true;
}

bool device_set_props(Device *dev, const char *opts, GError **errp)
{
    if (!opts)
        return true;
    g_autoptr(JsonObject) o = keyval_parse(opts, NULL, KEYVAL_FLAT | KEYVAL_SHORT_BOOLS,
                                           NULL, errp);
    return o && device_apply(dev, o, true, errp);
}

Device *device_new(Machine *m, const DeviceClass *cls)
{
    g_assert(cls->instance_size >= sizeof(Device));
    Device *dev = g_malloc0(cls->instance_size);
    static uint64_t next_serial;
    dev->cls = cls;
    dev->machine = m;
    dev->serial = __atomic_add_fetch(&next_serial, 1, __ATOMIC_RELAXED);
    chain_init(cls, dev);
    apply_globals(dev);
    if (cls->init)
        cls->init(dev);
    return dev;
}

/* QEMU's check_boot_index: a device whose bootindex= (>= 0) another device already
 * holds is refused before it is created, with QEMU's words. */
static bool check_bootindex(Device *dev, GError **errp)
{
    const Property *p = device_class_find_prop(dev->cls, "bootindex");
    if (!p || p->type != PROP_I32 || !dev->machine)
        return true;
    int32_t index = *(const int32_t *)((const uint8_t *)dev + p->offset);
    if (index < 0 || !machine_boot_index_used(dev->machine, index))
        return true;
    g_set_error(errp, G_IO_ERROR, G_IO_ERROR_EXISTS, "The bootindex %d has already been used",
                index);
    return false;
}

bool device_realize(Device *dev, GError **errp)
{
    if (dev->realized)
        return true;
    if (!check_bootindex(dev, errp))
        return false;
    if (dev->cls->realize && !dev->cls->realize(dev, errp))
        return false;
    dev->realized = true;
    device_reset(dev);
    return true;
}

void device_reset(Device *dev)
{
    if (dev->cls->reset)
        dev->cls->reset(dev);
}

void device_free(Device *dev)
{
    if (!dev)
        return;
    if (dev->realized && dev->cls->unrealize)
        dev->cls->unrealize(dev);
    for (const DeviceClass *c = dev->cls; c; c = device_class_parent(c))
        props_free(c->props, dev);
    g_free(dev->id);
    g_free(dev);
}

void device_print_help(const DeviceClass *cls, GString *out)
{
    bool any = false;
    g_string_append_printf(out, "%s options:\n", cls->name);
    for (const DeviceClass *c = cls; c; c = device_class_parent(c)) {
        props_print_entries(c->props, out);
        any |= c->props && c->props->name;
    }
    if (!any)
        g_string_append(out, "  (no properties)\n");
}

void *device_state(Device *dev)
{
    return (uint8_t *)dev + dev->cls->state_offset;
}
