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

typedef enum { BUS_SYS, BUS_ISA, BUS_PCI } BusKind;

typedef struct DeviceClass {
    const char *name;
    const char *desc;
    BusKind bus;
    size_t instance_size;          /* >= sizeof(Device); Device is the first member */
    const Property *props;         /* terminated by PROP_END; may be NULL */
    bool user_creatable;           /* may be given with -device */
    void (*init)(Device *dev);     /* cannot fail */
    bool (*realize)(Device *dev, GError **errp);
    void (*reset)(Device *dev);
    void (*unrealize)(Device *dev);
    const VMStateDesc *vmsd;       /* describes the state at @state_offset */
    size_t state_offset;           /* offset of the plain state struct in the device */
    /* After vmstate_load() filled that state: re-derives what is not migrated (timers,
     * IRQ line levels, pending output). May be NULL. */
    void (*post_load)(Device *dev);
} DeviceClass;

struct Device {
    const DeviceClass *cls;
    Machine *machine;
    char *id;
    bool realized;
};

/* All device types, in a static table (hw/core/devices.c). */
const DeviceClass *const *device_classes(void);
const DeviceClass *device_class_find(const char *name);

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

#define DEVICE(p) ((Device *)(p))


#endif
