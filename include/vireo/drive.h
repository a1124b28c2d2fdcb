/*
 * -drive: disk images opened by the machine for its block devices (QEMU's grammar:
 * file=, format=, if=none|virtio, id=, readonly=, cache=, aio=, media=disk). A device
 * names one with drive=ID and claims it; if=virtio drives get a virtio-blk-pci each.
 * Images live on the machine's block engine (the main loop's GLib context).
 */
#ifndef VIREO_DRIVE_H
#define VIREO_DRIVE_H

#include "vireo/block.h"
#include "vireo/error.h"

typedef struct Machine Machine;

typedef struct DriveInfo {
    char *id;
    char *iface;                 /* "none" or "virtio" */
    char *spec;                  /* the option as given, for messages */
    BlockBackend *blk;
    const char *claimed_by;      /* device type that uses it, or NULL */
} DriveInfo;

/* Parses and opens one -drive option; the error names the option and the culprit. */
bool drive_add(Machine *m, const char *spec, GError **errp);
/* The drive @id for device type @dev, which takes it: NULL with an error when it does
 * not exist or another device has it. */
BlockBackend *drive_claim(Machine *m, const char *id, const char *dev, GError **errp);
/* Gives a drive back (device unrealize). */
void drive_release(Machine *m, BlockBackend *blk);
/* Creates the devices of if=virtio drives. */
bool drive_create_devices(Machine *m, GError **errp);
/* Flushes and closes every drive (after the devices are gone). */
void drives_free(Machine *m);

#endif
