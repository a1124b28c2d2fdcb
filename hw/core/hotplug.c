/*
 * device_add / device_del (include/vireo/hotplug.h).
 */
#include "vireo/hotplug.h"
#include "vireo/block.h"
#include "vireo/ide.h"
#include "vireo/pci.h"
#include "qapi/qapi-generated.h"
#include <string.h>

/* The guest has not run yet: a device can come and go as on the command line. */
static bool coldplug_time(Machine *m)
{
    return runstate_get(m) == RUN_STATE_PRELAUNCH;
}

/* @bus: the device's bus= if given. IDE devices sit on the IDE buses, which (as in
 * QEMU) take no hot-plugged devices; QEMU 7.2 names the pc's ide.1 when no bus= picks
 * one. */
static bool check_hotplug(Machine *m, const DeviceClass *cls, const char *bus, GError **errp)
{
    if (coldplug_time(m))
        return true;
    if (cls->bus == BUS_PCI && m->pci_bus && m->hotplug && m->hotplug->plug)
        return true;
    bool ide = device_class_is(cls, &ide_hd_class) || device_class_is(cls, &ide_cd_class);
    g_set_error(errp, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED,
                "Bus '%s' does not support hotplugging",
                ide ? (bus && *bus ? bus : "ide.1") : cls->bus == BUS_PCI ? "pci.0"
                : cls->bus == BUS_ISA ? "isa.0" : "main-system-bus");
    return false;
}

Device *machine_hotplug_device(Machine *m, JsonObject *args, GError **errp)
{
    const DeviceClass *cls = device_class_for_user(kv_get_str(args, "driver"), errp);
    if (!cls || !check_hotplug(m, cls, kv_get_str(args, "bus"), errp))
        return NULL;
    Device *d = machine_create_device_from(m, args, false, errp);
    if (!d)
        return NULL;
    if (coldplug_time(m)) {
        if (cls->bus == BUS_PCI && m->pci_bus)
            pci_bus_assign_bars(m->pci_bus);
        return d;
    }
    d->hotplugged = true;
    if (!m->hotplug->plug(m->hotplug->opaque, d, errp)) {
        g_ptr_array_remove(m->devices, d);
        device_free(d);
        return NULL;
    }
    return d;
}

char *machine_device_path(Machine *m, Device *d)
{
    if (d->id)
        return g_strdup_printf("/machine/peripheral/%s", d->id);
    unsigned k = 0;
    for (guint i = 0; i < m->devices->len; i++) {
        Device *o = m->devices->pdata[i];
        if (o == d)
            break;
        k += o->user_created && !o->id;
    }
    return g_strdup_printf("/machine/peripheral-anon/device[%u]", k);
}

void machine_remove_device(Machine *m, Device *d)
{
    g_autofree char *path = machine_device_path(m, d);
    g_autofree char *id = g_strdup(d->id);
    g_ptr_array_remove(m->devices, d);
    device_free(d);
    qapi_event_send_device_deleted(m, id, path);
}

bool machine_unplug_device(Machine *m, Device *d, GError **errp)
{
    if (coldplug_time(m)) {
        machine_remove_device(m, d);
        return true;
    }
    if (!check_hotplug(m, d->cls, NULL, errp))
        return false;
    return m->hotplug->unplug_request(m->hotplug->opaque, d, errp);
}
