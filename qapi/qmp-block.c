/*
 * QMP block commands (qapi/schema/block.json, QEMU 7.2 qapi/block.json and
 * block-core.json): query-block, query-blockstats and query-named-block-nodes over the
 * drive list, block_resize, the removable-media commands of ide-cd drives (eject,
 * blockdev-open-tray/-close-tray, blockdev-change-medium, blockdev-remove-medium,
 * blockdev-insert-medium) with the DEVICE_TRAY_MOVED
 * event, and BLOCK_IO_ERROR. Run on the main thread with the machine lock held.
 */
#include "qapi/monitor-int.h"
#include "qapi/qapi-generated.h"
#include "vireo/drive.h"
#include "vireo/hotplug.h"
#include "vireo/ide.h"
#include <errno.h>
#include <string.h>
#include <sys/stat.h>

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

/* QEMU names the device a BlockBackend is attached to by its id, else by its QOM path;
 * virtio-blk-pci's backend is its inner virtio-blk device, which has no id. */
static char *qdev_path(Machine *m, Device *dev)
{
    if (!dev)
        return NULL;
    if (!strcmp(dev->cls->name, "virtio-blk-pci")) {
        g_autofree char *path = machine_device_path(m, dev);
        return g_strdup_printf("%s/virtio-backend", path);
    }
    if (dev->id)
        return g_strdup(dev->id);
    for (guint i = 0; i < m->devices->len; i++)
        if (m->devices->pdata[i] == dev)
            return g_strdup_printf("/machine/unattached/device[%u]", i);
    return NULL;
}

/* Drive ids are device names; -blockdev nodes are anonymous to query-block's device
 * but named by node-name (QEMU: the BlockBackend of a -device has no name). */
static const char *drive_device_name(const DriveInfo *d) { return d->is_node ? "" : d->id; }

static char *node_name(const DriveInfo *d, guint index, int pos)
{
    return drive_node_name(d, index, pos);
}

static BlockDeviceInfo *inserted_info(const DriveInfo *d)
{
    BlockDeviceInfo *b = g_new0(BlockDeviceInfo, 1);
    BlockImageInfo ii = { 0 };
    g_autoptr(GError) err = NULL;

    b->file = g_strdup(blk_filename(d->blk));
    b->ro = blk_is_read_only(d->blk);
    /* A protocol node opened alone is read through raw, but it is the file node. */
    b->drv = g_strdup(d->protocol_node ? "file" : blk_format(d->blk));
    b->detect_zeroes = (BlockdevDetectZeroesOptions)blk_detect_zeroes(d->blk);
    b->image = g_new0(ImageInfo, 1);
    b->image->filename = g_strdup(blk_filename(d->blk));
    b->image->format = g_strdup(b->drv);
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
        if (d->is_node && !dev)
            continue;   /* QEMU lists block backends: a node only once a device has it */
        BlockInfo *b = g_new0(BlockInfo, 1);
        b->device = g_strdup(drive_device_name(d));
        b->qdev = qdev_path(m, dev);
        b->type = g_strdup("unknown");
        b->removable = dev && dev->cls == &ide_cd_class;
        b->locked = b->removable && ide_cd_locked(dev);
        if (b->removable) {
            b->has_tray_open = true;
            b->tray_open = ide_cd_tray_open(dev);
        }
        /* QEMU shows the status only where an error can stop the VM. */
        if (d->blk && blk_iostatus_is_enabled(d->blk)) {
            b->has_io_status = true;
            b->io_status = (BlockDeviceIoStatus)blk_iostatus(d->blk);
        }
        if (d->blk) {
            b->inserted = inserted_info(d);
            b->inserted->node_name = node_name(d, i, 0);
        }
        g_ptr_array_add(a, b);
    }
    /* ide-cd devices without a drive (no drive=, or a -blockdev medium removed). */
    for (guint i = 0; i < m->devices->len; i++) {
        Device *dev = m->devices->pdata[i];
        if (dev->cls != &ide_cd_class || ide_cd_drive(dev))
            continue;
        BlockInfo *b = g_new0(BlockInfo, 1);
        b->device = g_strdup("");
        b->qdev = qdev_path(m, dev);
        b->type = g_strdup("unknown");
        b->removable = true;
        b->locked = ide_cd_locked(dev);
        b->has_tray_open = true;
        b->tray_open = ide_cd_tray_open(dev);
        g_ptr_array_add(a, b);
    }
    return a;
}

static DriveInfo *drive_by_id(Machine *m, const char *id)
{
    for (guint i = 0; id && m->drives && i < m->drives->len; i++)
        if (!strcmp(((DriveInfo *)m->drives->pdata[i])->id, id))
            return m->drives->pdata[i];
    return NULL;
}

/* The removable-media device named by drive id @device or qdev id @id; *di its drive
 * (NULL for an ide-cd whose medium was removed from a -blockdev node: it has none). */
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
    if (device) {
        *di = drive_by_id(m, device);
        dev = *di ? drive_device(m, *di) : NULL;
    } else {
        dev = machine_find_device(m, id);
        if (dev && dev->cls == &ide_cd_class)
            *di = drive_by_id(m, ide_cd_drive(dev));
    }
    if (!*di && !dev) {
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

/* A -drive's medium is closed (the drive stays, empty, as QEMU's named backend); a
 * -blockdev node is let go, to be deleted by blockdev-del (QEMU: the node stays). */
static void remove_medium(Machine *m, Device *dev, DriveInfo *d)
{
    if (!d)
        return;
    if (d->is_node) {
        ide_cd_release_drive(dev);
        return;
    }
    ide_cd_set_medium(dev, NULL);
    if (d->blk)
        blk_close(d->blk);
    d->blk = NULL;
}

/* libvirt's media change (QEMU 7.2 block.json): blockdev-open-tray, then this, then
 * blockdev-del of the old nodes, blockdev-add of the new, blockdev-insert-medium,
 * blockdev-close-tray. An empty device is no error (QEMU's rule). */
/* The CD-ROM device @id with its tray open (the media commands' precondition), or NULL. */
static Device *find_open_cd(Machine *m, const char *id, DriveInfo **d, GError **errp)
{
    Device *dev = find_cd(m, NULL, id, d, errp);

    if (dev && !ide_cd_tray_open(dev)) {
        g_set_error(errp, QMP_ERROR, QAPI_ERROR_CLASS_GENERICERROR,
                    "Tray of device '%s' is not open", id);
        return NULL;
    }
    return dev;
}

void qmp_blockdev_remove_medium(Machine *m, const char *id, GError **errp)
{
    DriveInfo *d;
    Device *dev = find_open_cd(m, id, &d, errp);

    if (dev)
        remove_medium(m, dev, d);
}

void qmp_blockdev_insert_medium(Machine *m, const char *id, const char *node_name,
                                GError **errp)
{
    DriveInfo *d, *node = drive_by_id(m, node_name);
    Device *dev;

    if (!node || !node->is_node) {
        g_set_error(errp, QMP_ERROR, QAPI_ERROR_CLASS_GENERICERROR, "Node '%s' not found",
                    node_name);
        return;
    }
    if (node->claimed_by) {
        g_set_error(errp, QMP_ERROR, QAPI_ERROR_CLASS_GENERICERROR,
                    "Node '%s' is already in use", node_name);
        return;
    }
    dev = find_open_cd(m, id, &d, errp);
    if (!dev)
        return;
    if (d && d->blk) {
        g_set_error(errp, QMP_ERROR, QAPI_ERROR_CLASS_GENERICERROR,
                    "There already is a medium in device '%s'", id);
        return;
    }
    /* An empty -drive the device had stays, unclaimed: the device now names the node. */
    if (d)
        ide_cd_release_drive(dev);
    ide_cd_take_drive(dev, node_name, errp);
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
    /* QEMU opens an anonymous node into the device's backend; Vireo's media of a device
     * that takes -blockdev nodes come and go as nodes (what libvirt sends). */
    if (!d || d->is_node) {
        g_set_error(errp, QMP_ERROR, QAPI_ERROR_CLASS_GENERICERROR,
                    "Device '%s' takes its medium from -blockdev nodes: use "
                    "blockdev-add and blockdev-insert-medium", device ? device : id);
        return;
    }
    block_open_options_init(&o);
    o.format = format;
    o.user = BLOCK_USER_DRIVE;
    o.read_only = !has_read_only_mode || read_only_mode != BLOCKDEV_CHANGE_READ_ONLY_MODE_READ_WRITE;
    if (format && strcmp(format, "raw") && strcmp(format, "qcow2")) {
        g_set_error(errp, QMP_ERROR, QAPI_ERROR_CLASS_GENERICERROR,
                    "Unknown driver '%s' (raw, qcow2)", format);
        return;
    }
    /* Open first: a bad file (or one another process keeps from a CD-ROM's locks)
     * leaves the old medium in place. */
    blk = blk_open(m->block_engine, filename, &o, errp);
    if (!blk)
        return;
    if (!blk_attach_dev(blk, true, false, errp)) {
        blk_close(blk);
        return;
    }
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
            drive = drive_device_name(m->drives->pdata[i]);
    qapi_event_send_device_tray_moved(m, drive, qdev ? qdev : "", open);
}

/* ---- statistics, nodes, resize ---- */

static BlockDeviceStats *device_stats(BlockBackend *blk)
{
    BlockDeviceStats *s = g_new0(BlockDeviceStats, 1);
    const BlockAcctStats *a = blk_stats(blk);

    s->rd_bytes = a->rd_bytes;
    s->wr_bytes = a->wr_bytes;
    s->unmap_bytes = a->unmap_bytes;
    s->rd_operations = a->rd_ops;
    s->wr_operations = a->wr_ops;
    s->flush_operations = a->flush_ops;
    s->unmap_operations = a->unmap_ops;
    s->rd_total_time_ns = a->rd_total_time_ns;
    s->wr_total_time_ns = a->wr_total_time_ns;
    s->flush_total_time_ns = a->flush_total_time_ns;
    s->unmap_total_time_ns = a->unmap_total_time_ns;
    s->wr_highest_offset = a->wr_highest_offset;
    s->failed_rd_operations = a->failed_rd_ops;
    s->failed_wr_operations = a->failed_wr_ops;
    s->failed_flush_operations = a->failed_flush_ops;
    s->failed_unmap_operations = a->failed_unmap_ops;
    s->invalid_rd_operations = a->invalid_rd_ops;
    s->invalid_wr_operations = a->invalid_wr_ops;
    s->invalid_flush_operations = a->invalid_flush_ops;
    s->invalid_unmap_operations = a->invalid_unmap_ops;
    s->account_invalid = true;
    s->account_failed = true;
    if (a->last_access_ns) {
        s->has_idle_time_ns = true;
        s->idle_time_ns = g_get_monotonic_time() * 1000 - a->last_access_ns;
    }
    return s;
}

GPtrArray *qmp_query_blockstats(Machine *m, bool has_query_nodes, bool query_nodes,
                                GError **errp)
{
    GPtrArray *a = g_ptr_array_new_with_free_func((GDestroyNotify)qapi_free_BlockStats);

    for (guint i = 0; m->drives && i < m->drives->len; i++) {
        DriveInfo *d = m->drives->pdata[i];
        BlockStats *s;
        if (has_query_nodes && query_nodes && !d->blk)
            continue;
        s = g_new0(BlockStats, 1);
        if (!(has_query_nodes && query_nodes)) {
            s->device = g_strdup(drive_device_name(d));
            s->qdev = qdev_path(m, drive_device(m, d));
        }
        if (d->blk) {
            s->node_name = node_name(d, i, 0);
            s->stats = device_stats(d->blk);
        } else {
            s->stats = g_new0(BlockDeviceStats, 1);
            s->stats->account_invalid = s->stats->account_failed = true;
        }
        g_ptr_array_add(a, s);
    }
    return a;
}

GPtrArray *qmp_query_named_block_nodes(Machine *m, bool has_flat, bool flat, GError **errp)
{
    GPtrArray *a = g_ptr_array_new_with_free_func((GDestroyNotify)qapi_free_BlockDeviceInfo);

    for (guint i = 0; m->drives && i < m->drives->len; i++) {
        DriveInfo *d = m->drives->pdata[i];
        BlockNodeDesc nodes[64];
        int n = d->blk ? blk_get_nodes(d->blk, nodes, G_N_ELEMENTS(nodes)) : 0;
        for (int k = d->protocol_node ? 1 : 0; k < n; k++) {
            bool top = k == (d->protocol_node ? 1 : 0);
            BlockDeviceInfo *b = top ? inserted_info(d) : g_new0(BlockDeviceInfo, 1);
            b->node_name = node_name(d, i, k);
            if (!top) {
                b->file = g_strdup(nodes[k].filename);
                b->ro = nodes[k].read_only;
                b->drv = g_strdup(nodes[k].driver);
                b->backing_file_depth = 0;
                b->image = g_new0(ImageInfo, 1);
                b->image->filename = g_strdup(nodes[k].filename);
                b->image->format = g_strdup(nodes[k].driver);
                struct stat st;
                if (nodes[k].protocol && stat(nodes[k].filename, &st) == 0 &&
                    S_ISREG(st.st_mode)) {  /* the file's size, in whole sectors (QEMU) */
                    b->image->virtual_size = (st.st_size + 511) & ~(int64_t)511;
                    b->image->has_actual_size = true;
                    b->image->actual_size = (int64_t)st.st_blocks * 512;
                }
                b->cache = g_new0(BlockdevCacheInfo, 1);
                b->cache->writeback = blk_write_cache_enabled(d->blk);
            }
            g_ptr_array_add(a, b);
        }
    }
    return a;
}

/* ---- blockdev-add / blockdev-del (system/blockdev.c) ---- */

bool qmp_blockdev_add(QmpCtx *c, JsonObject *args, GString *ret, GError **errp)
{
    g_autoptr(GError) err = NULL;
    if (!blockdev_add(c->m, args, &err)) {
        g_set_error_literal(errp, QMP_ERROR, QAPI_ERROR_CLASS_GENERICERROR, err->message);
        return false;
    }
    g_string_append(ret, "{}");
    return true;
}

void qmp_blockdev_del(Machine *m, const char *node_name_arg, GError **errp)
{
    g_autoptr(GError) err = NULL;
    switch (blockdev_del(m, node_name_arg, &err)) {
    case BLOCKDEV_DEL_OK:
        return;
    case BLOCKDEV_DEL_ERROR:
        g_set_error_literal(errp, QMP_ERROR, QAPI_ERROR_CLASS_GENERICERROR, err->message);
        return;
    case BLOCKDEV_DEL_NOT_FOUND:
        break;
    }
    /* The nodes of -drive images (and the implicit ones below a node's chain): QEMU's
     * checks, in its order, for nodes the monitor did not create. */
    for (guint i = 0; m->drives && i < m->drives->len; i++) {
        DriveInfo *d = m->drives->pdata[i];
        BlockNodeDesc nodes[64];
        int n = d->blk ? blk_get_nodes(d->blk, nodes, G_N_ELEMENTS(nodes)) : 0;
        for (int k = 0; k < n; k++) {
            g_autofree char *name = node_name(d, i, k);
            if (strcmp(name, node_name_arg))
                continue;
            g_set_error(errp, QMP_ERROR, QAPI_ERROR_CLASS_GENERICERROR,
                        k == 0 && !d->is_node ? "Node %s is in use"
                                              : "Node %s is not owned by the monitor",
                        node_name_arg);
            return;
        }
    }
    g_set_error(errp, QMP_ERROR, QAPI_ERROR_CLASS_GENERICERROR,
                "Failed to find node with node-name='%s'", node_name_arg);
}

void qmp_block_resize(Machine *m, const char *device, const char *node, int64_t size,
                      GError **errp)
{
    DriveInfo *d = NULL;
    g_autoptr(GError) err = NULL;

    for (guint i = 0; m->drives && i < m->drives->len; i++) {
        DriveInfo *c = m->drives->pdata[i];
        g_autofree char *name = node_name(c, i, 0);
        if (!c->blk)
            continue;
        if ((device && !c->is_node && !strcmp(c->id, device)) ||
            (node && !strcmp(node, name)))
            d = c;
    }
    if (!d) {
        g_set_error(errp, QMP_ERROR, QAPI_ERROR_CLASS_GENERICERROR,
                    "Cannot find device='%s' nor node-name='%s'", device ? device : "",
                    node ? node : "");
        return;
    }
    if (size < 0) {
        g_set_error(errp, QMP_ERROR, QAPI_ERROR_CLASS_GENERICERROR,
                    "Parameter 'size' expects a >0 size");
        return;
    }
    if (blk_is_read_only(d->blk)) {
        g_set_error(errp, QMP_ERROR, QAPI_ERROR_CLASS_GENERICERROR,
                    "Cannot resize a read-only image '%s'", blk_filename(d->blk));
        return;
    }
    blk_drain(d->blk);
    if (blk_truncate(d->blk, size, BLOCK_PREALLOC_OFF, &err) < 0) {
        g_set_error(errp, QMP_ERROR, QAPI_ERROR_CLASS_GENERICERROR, "%s",
                    err ? err->message : "resize failed");
        return;
    }
    if (d->resized)
        d->resized(d->resized_opaque);
}

static void block_io_error(Machine *m, const char *device, const char *node, bool is_read,
                           int action, bool iostatus, int error)
{
    qapi_event_send_block_io_error(m, device, node, is_read ? IO_OPERATION_TYPE_READ
                                                            : IO_OPERATION_TYPE_WRITE,
                                   (BlockErrorAction)action, iostatus, error == ENOSPC,
                                   g_strerror(error));
}

void qmp_block_init(Machine *m)
{
    m->ide_tray_moved = tray_moved;
    m->block_io_error = block_io_error;
}
