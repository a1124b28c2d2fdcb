/*
 * A device's migration state is the state of each level of its type that has a
 * description, root first: e.g. virtio-blk-pci = "pci-device" (config space, MSI-X
 * table) + "virtio-pci" (transport, queues) + its own, if any. Each level describes
 * its own struct (DeviceClass.vmsd at .state_offset from the object's start), the way
 * each level has its own properties.
 */
#include "vireo/device.h"
#include <string.h>

#define MAX_DEPTH 8

/* The levels of @cls, root first; returns how many. */
static unsigned class_levels(const DeviceClass *cls, const DeviceClass **out)
{
    const DeviceClass *rev[MAX_DEPTH];
    unsigned n = 0;
    for (; cls && n < MAX_DEPTH; cls = device_class_parent(cls))
        rev[n++] = cls;
    for (unsigned i = 0; i < n; i++)
        out[i] = rev[n - 1 - i];
    return n;
}

bool device_class_has_state(const DeviceClass *cls)
{
    const DeviceClass *lv[MAX_DEPTH];
    unsigned n = class_levels(cls, lv);
    for (unsigned i = 0; i < n; i++)
        if (lv[i]->vmsd)
            return true;
    return false;
}

void device_state_save(Device *dev, GByteArray *out)
{
    const DeviceClass *lv[MAX_DEPTH];
    unsigned n = class_levels(dev->cls, lv);
    for (unsigned i = 0; i < n; i++)
        if (lv[i]->vmsd)
            vmstate_save(lv[i]->vmsd, (uint8_t *)dev + lv[i]->state_offset, out);
}

bool device_state_load(Device *dev, const uint8_t *buf, size_t len, GError **errp)
{
    const DeviceClass *lv[MAX_DEPTH];
    unsigned n = class_levels(dev->cls, lv);
    size_t pos = 0;
    for (unsigned i = 0; i < n; i++) {
        if (!lv[i]->vmsd)
            continue;
        ssize_t k = vmstate_load(lv[i]->vmsd, (uint8_t *)dev + lv[i]->state_offset,
                                 buf + pos, len - pos, errp);
        if (k < 0)
            return false;
        pos += k;
    }
    if (pos != len) {
        g_set_error(errp, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                    "%s: %zu bytes of state left over", dev->cls->name, len - pos);
        return false;
    }
    for (unsigned i = 0; i < n; i++)
        if (lv[i]->post_load)
            lv[i]->post_load(dev);
    return true;
}
