/*
 * QOM-style type introspection (hw/core/qom.c): every type management tools can ask
 * about — devices, machines, CPU models, accelerators, -object backends, chardev
 * backends, buses — with QEMU 7.2's type names and parents, so qom-list-types,
 * device-list-properties and qom-list-properties answer from the same tables the
 * command line uses. Types are static data; nothing here is registered at run time.
 */
#ifndef VIREO_QOM_H
#define VIREO_QOM_H

#include <stdbool.h>
#include "vireo/props.h"
#include "vireo/device.h"

typedef struct QomType {
    const char *name;
    const char *parent;          /* NULL only for the root, "object" */
    bool abstract;
    const Property *props;       /* this type's own (ancestors' are inherited) */
    const char *desc;
    const DeviceClass *dev;      /* the device class, for device types */
} QomType;

/* A static list of types, for the subsystems that own some (NULL-name terminated). */
typedef struct QomTypeList {
    const QomType *types;
} QomTypeList;

/* Calls @fn for every type (abstract ones included). */
void qom_types_foreach(void (*fn)(const QomType *t, void *opaque), void *opaque);
/* Fills @out with type @name; false when there is none. */
bool qom_type_lookup(const char *name, QomType *out);
/* Whether @name is @ancestor or derives from it. */
bool qom_type_is_a(const char *name, const char *ancestor);
/* Calls @fn for every property of @name and its ancestors (own ones first). */
void qom_type_foreach_prop(const char *name, void (*fn)(const Property *p, void *opaque),
                           void *opaque);

/* The owners' tables (each NULL-name terminated). */
extern const QomType qom_core_types[];      /* hw/core/qom.c: object, container, buses */
extern const QomType qom_machine_types[];   /* hw/core/machine.c */
extern const QomType qom_accel_types[];     /* hw/core/machine.c */
extern const QomType qom_chardev_types[];   /* chardev/char-opts.c */
/* CPU types ("NAME-x86_64-cpu") come from the model table (target/i386). */
void x86_cpu_types_foreach(void (*fn)(const QomType *t, void *opaque), void *opaque);

#endif
