/*
 * The static table of device types (no constructor magic: a new device file adds its
 * class here). -device help lists this table.
 */
#include "vireo/device.h"

#include "hw-classes.h"

static const DeviceClass *const all_devices[] = {
#define DEVICE_CLASS(c) &c,
#include "hw-classes.def"
#undef DEVICE_CLASS
    NULL,
};

const DeviceClass *const *device_classes(void) { return all_devices; }
