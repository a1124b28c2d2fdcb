/*
 * QMP block commands (qapi/schema/block.json, QEMU 7.2 qapi/block.json and
 * block-core.json): query-block over the -drive list, and the removable-media commands
 * of ide-cd drives (eject, blockdev-open-tray/-close-tray, blockdev-change-medium) with
 * the DEVICE_TRAY_MOVED event. Run on the main thread with the machine lock held.
 */
#include "qapi/monitor-int.h"
#include "qapi/qapi-generated.h"
#include "vireo/drive.h"
#include "vireo/ide.h"
#include <string.h>

/* The device that took drive @d (its "drive" property names it), or NULL. */
static Device *drive_device(Machine *m, const DriveInfo *d)
{
    for (guint i = 0; i < m->devices->len; i++) {
        Device *dev = m->devices->pdata[i];
        const Property *p = dev->cls->props ? props_find(dev->cls->props, "drive") : NULL;
        const char *name = p ? *(char **)((char *)dev + p->offset) : NULL;
        if (name && !strcmp(name, d->id))
            return dev;
    }
    return NULL;
}

static char *qdev_path(Machine *m, Device *dev)
{
    if (!dev)
        return NULL;
    if (dev->id)
        return g_strdup(dev->id);
    for (guint i = 0; i < m->devices->len; i++)
        if (m->devices->pdata[i] == dev)
            return g_strdup_printf("/machine/unattached/device[%u]", i);
    return NULL;
}

static BlockDeviceInfo *inserted_info(const DriveInfo *d)
{
    BlockDeviceInfo *b = g_new0(BlockDeviceInfo, 1);
    BlockImageInfo ii = { 0 };
    g_autoptr(GError) err = NULL;

    b->file = g_strdup(blk_filename(d->blk));
    b->ro = blk_is_read_only(d->blk);
    b->drv = g_strdup(blk_format(d->blk));
    b->detect_zeroes = BLOCKDEV_DETECT_ZEROES_OPTIONS_OFF;
    b->image = g_new0(ImageInfo, 1);
    b->image->filename = g_strdup(blk_filename(d->blk));
    b->image->format = g_strdup(blk_format(d->blk));
    b->image->virtual_size = MAX(blk_getlength(d->blk), 0);
    if (blk_get_info(d->blk, 0, &ii, &err)) {
        if (ii.actual_size >= 0) {
            b->image->has_actual_size = true;
            b->image->actual_size = ii.actual_size;
        }
        if (ii.cluster_size) {
            b->image->has_cluster_size = true;
            b->image->cluster_size = ii.cluster_size;
        }
        if (ii.has_dirty_flag) {
            b->image->has_dirty_flag = true;
            b->image->dirty_flag = ii.dirty_flag;
        }
        if (ii.backing_filename) {
            b->backing_file = g_strdup(ii.backing_filename);
            b->image->backing_filename = g_strdup(ii.backing_filename);
            b->backing_file_depth = 1;
        }
        block_image_info_clear(&ii);
    }
    b->cache = g_new0(BlockdevCacheInfo, 1);
    b->cache->writeback = blk_write_cache_enabled(d->blk);
    return b;
}

GPtrArray *qmp_query_block(Machine *m, GError **errp)
{
    GPtrArray *a = g_ptr_array_new_with_free_func((GDestroyNotify)qapi_free_BlockInfo);

    for (guint i = 0; m->drives && i < m->drives->len; i++) {
        DriveInfo *d = m->drives->pdata[i];
        Device *dev = drive_device(m, d);
        BlockInfo *b = g_new0(BlockInfo, 1);
        b->device = g_strdup(d->id);
        b->qdev = qdev_path(m, dev);
        b->type = g_strdup("unknown");
        b->removable = dev && dev->cls == &ide_cd_class;
        b->locked = b->removable && ide_cd_locked(dev);
        if (b->removable) {
            b->has_tray_open = true;
            b->tray_open = ide_cd_tray_open(dev);
        }
        b->has_io_status = true;
        b->io_status = BLOCK_DEVICE_IO_STATUS_OK;
        if (d->blk)
            b->inserted = inserted_info(d);
        g_ptr_array_add(a, b);
    }
    return a;
}

/* The removable-media device named by drive id @device or qdev id @id. */
static Device *find_cd(Machine *m, const char *device, const char *id, DriveInfo **di,
                       GError **errp)
{
    Device *dev = NULL;

    *di = NULL;
    if (!!device == !!id) {
        g_set_error(errp, QMP_ERROR, QAPI_ERROR_CLASS_GENERICERROR,
                    "Need exactly one of 'device' and 'id'");
        return NULL;
    }
    for (guint i = 0; m->drives && i < m->drives->len; i++) {
        DriveInfo *d = m->drives->pdata[i];
        Device *owner = drive_device(m, d);
        if ((device && !strcmp(d->id, device)) ||
            (id && owner && owner->id && !strcmp(owner->id, id))) {
            *di = d;
            dev = owner;
        }
    }
    if (!*di) {
        g_set_error(errp, QMP_ERROR, QAPI_ERROR_CLASS_DEVICENOTFOUND,
                    "Device '%s' not found", device ? device : id);
        return NULL;
    }
    if (!dev || dev->cls != &ide_cd_class) {
        g_set_error(errp, QMP_ERROR, QAPI_ERROR_CLASS_GENERICERROR,
                    "Device '%s' is not removable", device ? device : id);
        return NULL;
    }
    return dev;
}

void qmp_blockdev_open_tray(Machine *m, const char *device, const char *id, bool has_force,
                            bool force, GError **errp)
{
    DriveInfo *d;
    Device *dev = find_cd(m, device, id, &d, errp);

    /* A locked tray without force: the guest is asked to eject (a media event) and the
     * command succeeds, as in QEMU; DEVICE_TRAY_MOVED comes if the guest opens it. */
    if (dev)
        ide_cd_open_tray(dev, has_force && force, NULL);
}

void qmp_blockdev_close_tray(Machine *m, const char *device, const char *id, GError **errp)
{
    DriveInfo *d;
    Device *dev = find_cd(m, device, id, &d, errp);

    if (dev)
        ide_cd_close_tray(dev);
}

static void remove_medium(Machine *m, Device *dev, DriveInfo *d)
{
    ide_cd_set_medium(dev, NULL);
    if (d->blk)
        blk_close(d->blk);
    d->blk = NULL;
}

void qmp_eject(Machine *m, const char *device, const char *id, bool has_force, bool force,
               GError **errp)
{
    DriveInfo *d;
    Device *dev = find_cd(m, device, id, &d, errp);

    if (!dev)
        return;
    if (!ide_cd_open_tray(dev, has_force && force, errp))
        return;
    remove_medium(m, dev, d);
}

void qmp_blockdev_change_medium(Machine *m, const char *device, const char *id,
                                const char *filename, const char *format, bool has_force,
                                bool force, bool has_read_only_mode,
                                BlockdevChangeReadOnlyMode read_only_mode, GError **errp)
{
    DriveInfo *d;
    Device *dev = find_cd(m, device, id, &d, errp);
    BlockOpenOptions o;
    BlockBackend *blk;

    if (!dev)
        return;
    block_open_options_init(&o);
    o.format = format;
    o.read_only = !has_read_only_mode || read_only_mode != BLOCKDEV_CHANGE_READ_ONLY_MODE_READ_WRITE;
    if (format && strcmp(format, "raw") && strcmp(format, "qcow2")) {
        g_set_error(errp, QMP_ERROR, QAPI_ERROR_CLASS_GENERICERROR,
                    "Unknown driver '%s' (raw, qcow2)", format);
        return;
    }
    /* Open first: a bad file leaves the old medium in place. */
    blk = blk_open(m->block_engine, filename, &o, errp);
    if (!blk)
        return;
    if (!ide_cd_open_tray(dev, has_force && force, errp)) {
        blk_close(blk);
        return;
    }
    remove_medium(m, dev, d);
    d->blk = blk;
    ide_cd_set_medium(dev, blk);
    ide_cd_close_tray(dev);
}

static void tray_moved(Device *dev, bool open)
{
    Machine *m = dev->machine;
    g_autofree char *qdev = qdev_path(m, dev);
    const char *drive = "";

    for (guint i = 0; m->drives && i < m->drives->len; i++)
        if (drive_device(m, m->drives->pdata[i]) == dev)
            drive = ((DriveInfo *)m->drives->pdata[i])->id;
    qapi_event_send_device_tray_moved(m, drive, qdev ? qdev : "", open);
}

void qmp_block_init(Machine *m)
{
    m->ide_tray_moved = tray_moved;
}
