/*
 * Adding and removing devices while the machine exists (QMP device_add/device_del,
 * hw/core/hotplug.c). Before the guest first runs (-S, run state prelaunch) a device is
 * simply added or removed, as if it had been on the command line. Once the guest runs,
 * a PCI device on the root bus needs the guest's cooperation: ACPI PCI hotplug as on
 * QEMU's pc, where removal completes (DEVICE_DELETED) when the guest ejects the slot.
 */
#ifndef VIREO_HOTPLUG_H
#define VIREO_HOTPLUG_H
#include "vireo/machine.h"

/* device_add: @args are the -device option's as JSON ("driver", "id", "bus", ...). */
Device *machine_hotplug_device(Machine *m, JsonObject *args, GError **errp);
/* device_del: starts removing @d; DEVICE_DELETED follows when it is gone. */
bool machine_unplug_device(Machine *m, Device *d, GError **errp);
/* Removes @d now (unrealize, free) and emits DEVICE_DELETED. */
void machine_remove_device(Machine *m, Device *d);
/* QEMU's QOM path of a device the user added ("/machine/peripheral/ID", or
 * "/machine/peripheral-anon/device[N]"), newly allocated. */
char *machine_device_path(Machine *m, Device *d);
#endif
