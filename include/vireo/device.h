/*
 * Devices: one static descriptor per device type, with a property table.
 *
 * Lifecycle (ARCHITECTURE.md convention 4): init (cannot fail) -> set properties ->
 * realize (may fail with a GError) -> reset -> ... -> unrealize. The machine keeps an
 * ordered device list and unwinds in reverse when a realize fails.
 * `-device NAME,prop=val,...` and `-device NAME,help` work from the table alone.
 */
#ifndef VIREO_DEVICE_H
#define VIREO_DEVICE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <glib.h>
#include "vireo/error.h"
#include "vireo/vmstate.h"
#include "vireo/props.h"

typedef struct Machine Machine;
typedef struct Device Device;

/* -global DRIVER.PROPERTY=VALUE: a default for every device of type DRIVER (or of a
 * type deriving from it), applied by device_new() after the class defaults. */
typedef struct GlobalProp {
    char *driver, *property, *value;
    char *text;                    /* the option as given, for messages */
} GlobalProp;

typedef enum { BUS_SYS, BUS_ISA, BUS_PCI } BusKind;

/*
 * Device types form a hierarchy as QEMU's QOM types do (virtio-blk-pci -> virtio-pci ->
 * pci-device -> device): a type inherits its parent's properties, whose offsets are
 * from the start of the object (each level's struct is the first member of the next:
 * Device in PciDevice, PciDevice in VirtioPci, VirtioPci in VirtioBlk). Abstract types
 * carry shared properties and are listed by introspection but cannot be created.
 */
typedef struct DeviceClass {
    const char *name;
    const char *desc;
    /* Parent type; NULL means the abstract type of the bus (pci-device, isa-device,
     * sys-bus-device), and for those the root "device". */
    const struct DeviceClass *parent;
    bool abstract;
    BusKind bus;
    size_t instance_size;          /* >= sizeof(Device); Device is the first member */
    const Property *props;         /* this type's own; terminated by PROP_END; may be NULL */
    bool user_creatable;           /* may be given with -device */
    void (*init)(Device *dev);     /* cannot fail */
    bool (*realize)(Device *dev, GError **errp);
    void (*reset)(Device *dev);
    void (*unrealize)(Device *dev);
    const VMStateDesc *vmsd;       /* describes the state at @state_offset */
    size_t state_offset;           /* offset of the plain state struct in the device */
    /* After vmstate_load() filled that state: re-derives what is not migrated (timers,
     * IRQ line levels, pending output). May be NULL. device_state_load() calls every
     * level's, root first (a level need not call its parent's). */
    void (*post_load)(Device *dev);
} DeviceClass;

struct Device {
    const DeviceClass *cls;
    Machine *machine;
    char *id;
    bool realized;
    bool user_created;             /* -device / device_add (QOM: /machine/peripheral*) */
    bool hotplugged;               /* device_add after the guest started */
    uint64_t serial;               /* unique in the process, never reused: finds a device
                                    * again without holding a pointer (migration) */
};

/* All device types, abstract ones included, in a static table (hw/core/devices.c). */
const DeviceClass *const *device_classes(void);
const DeviceClass *device_class_find(const char *name);
/* The abstract roots: "device", and the bus types concrete devices default to. */
extern const DeviceClass device_base_class, sys_bus_device_class, isa_device_class,
                         pci_device_class;
/* @cls's parent type, or NULL for "device". */
const DeviceClass *device_class_parent(const DeviceClass *cls);
/* Whether @cls is @ancestor or derives from it. */
bool device_class_is(const DeviceClass *cls, const DeviceClass *ancestor);
/* Property @name of @cls or of an ancestor, or NULL. */
const Property *device_class_find_prop(const DeviceClass *cls, const char *name);
/* Calls @fn for every property of @cls, its own first, then its parent's, ... */
void device_class_foreach_prop(const DeviceClass *cls,
                               void (*fn)(const Property *p, void *opaque), void *opaque);

/* Allocates @cls, applies property defaults and calls init. */
Device *device_new(Machine *m, const DeviceClass *cls);
/* Sets one property from its textual form (keyval rules); errors name device and
 * property as QEMU's do. "id" is the device's id (checked as QEMU checks ids). */
bool device_set_prop(Device *dev, const char *name, const char *value, GError **errp);
/* Sets one property from a parsed option value (keyval text when @kv, else JSON). */
bool device_set_node(Device *dev, const char *name, JsonNode *v, bool kv, GError **errp);
/* Typed setters for devices the board creates itself. */
bool device_set_bool(Device *dev, const char *name, bool v, GError **errp);
bool device_set_int(Device *dev, const char *name, int64_t v, GError **errp);
bool device_set_str(Device *dev, const char *name, const char *v, GError **errp);
/* Applies every member of a parsed -device option ("driver" is skipped). */
bool device_apply(Device *dev, JsonObject *o, bool kv, GError **errp);
/* Parses "prop=val,prop=val" (-device's syntax, ",," escapes a comma) and applies it. */
bool device_set_props(Device *dev, const char *opts, GError **errp);
bool device_realize(Device *dev, GError **errp);
void device_reset(Device *dev);
void device_free(Device *dev);
/* Writes "NAME options:" and one line per property to @out (for -device NAME,help). */
void device_print_help(const DeviceClass *cls, GString *out);
/* Pointer to the plain state struct described by cls->vmsd. */
void *device_state(Device *dev);

/* Migration state of a device: the descriptions of every level of its type, root
 * first (hw/core/device-state.c), e.g. "pci-device", "virtio-pci", then its own.
 * _load refuses (naming the section) bytes that do not parse, fail a validator or are
 * left over, then runs each level's post_load, root first. A refused load may have
 * changed the state: reset the device before it runs again. */
void device_state_save(Device *dev, GByteArray *out);
bool device_state_load(Device *dev, const uint8_t *buf, size_t len, GError **errp);
/* Whether any level of @cls describes state. */
bool device_class_has_state(const DeviceClass *cls);

#define DEVICE(p) ((Device *)(p))


#endif
