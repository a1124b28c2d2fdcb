/*
 * Image information, check, snapshots and backing-file changes: the synchronous
 * entry points used by vireo-img, each running its driver operation in a coroutine.
 */
#include <errno.h>
#include <string.h>

#include "block-int.h"

void block_snapshot_info_clear(BlockSnapshotInfo *sn)
{
    g_free(sn->id);
    g_free(sn->name);
    memset(sn, 0, sizeof(*sn));
}

void block_image_info_clear(BlockImageInfo *info)
{
    g_free(info->filename);
    g_free(info->format);
    g_free(info->backing_filename);
    g_free(info->full_backing_filename);
    g_free(info->backing_format);
    for (int i = 0; i < info->n_snapshots; i++) {
        block_snapshot_info_clear(&info->snapshots[i]);
    }
    g_free(info->snapshots);
    g_free(info->compat);
    g_free(info->compression_type);
    memset(info, 0, sizeof(*info));
}

typedef struct InfoArgs {
    BlockDriverState *bs;
    BlockImageInfo *info;
} InfoArgs;

static int blk_get_info_co(void *opaque)
{
    InfoArgs *a = opaque;
    BlockDriverState *bs = a->bs;
    BlockImageInfo *info = a->info;
    BlockDriverState *file = bs->file ? bs->file : bs;

    info->filename = g_strdup(bs->filename);
    info->format = g_strdup(bs->drv->format_name);
    info->virtual_size = bdrv_co_getlength(bs);
    info->actual_size = file->drv->co_get_allocated_size ?
                        file->drv->co_get_allocated_size(file) : -1;
    if (bs->backing_file) {
        info->backing_filename = g_strdup(bs->backing_file);
        info->full_backing_filename = g_strdup(bs->full_backing_filename ?
                                               bs->full_backing_filename : bs->backing_file);
        info->backing_format = g_strdup(bs->backing_format);
    }
    if (bs->drv->get_info) {
        bs->drv->get_info(bs, info);
    }
    return 0;
}

bool blk_get_info(BlockBackend *blk, int depth, BlockImageInfo *info, GError **errp)
{
    BlockDriverState *bs = blk_root(blk);
    InfoArgs a = { .info = info };

    memset(info, 0, sizeof(*info));
    for (int i = 0; i < depth && bs; i++) {
        bs = bs->backing;
    }
    if (!bs) {
        return false;
    }
    a.bs = bs;
    bdrv_run_co(bs->eng, blk_get_info_co, &a);
    return true;
}

/* ---- check ------------------------------------------------------------------------- */

typedef struct CheckArgs {
    BlockDriverState *bs;
    BlockFix fix;
    BlockCheckResult *res;
    GError **errp;
    const char *name;
} CheckArgs;

static int blk_check_co(void *opaque)
{
    CheckArgs *a = opaque;

    return a->bs->drv->co_check(a->bs, a->res, a->fix, a->errp);
}

int blk_check(BlockBackend *blk, BlockFix fix, BlockCheckResult *res, GError **errp)
{
    BlockDriverState *bs = blk_root(blk);
    CheckArgs a = { bs, fix, res, errp, NULL };

    memset(res, 0, sizeof(*res));
    if (!bs->drv->co_check) {
        g_set_error(errp, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED,
                    "This image format does not support checks");
        return -ENOTSUP;
    }
    if (fix && bs->read_only) {
        g_set_error(errp, G_IO_ERROR, G_IO_ERROR_READ_ONLY,
                    "Cannot repair '%s': opened read-only", bs->filename);
        return -EPERM;
    }
    return bdrv_run_co(bs->eng, blk_check_co, &a);
}

/* ---- snapshots ------------------------------------------------------------------------ */

int blk_snapshot_list(BlockBackend *blk, BlockSnapshotInfo **list)
{
    BlockDriverState *bs = blk_root(blk);

    *list = NULL;
    if (!bs->drv->snapshot_list) {
        return 0;
    }
    return bs->drv->snapshot_list(bs, list);
}

typedef enum { SN_CREATE, SN_APPLY, SN_DELETE, SN_BACKING, SN_EMPTY } SnapOp;

typedef struct SnapArgs {
    BlockDriverState *bs;
    SnapOp op;
    const char *name;
    const char *fmt;
    GError **errp;
} SnapArgs;

static int blk_snapshot_co(void *opaque)
{
    SnapArgs *a = opaque;
    BlockDriverState *bs = a->bs;
    int ret = bdrv_co_flush(bs);

    if (ret < 0) {
        g_set_error(a->errp, G_IO_ERROR, G_IO_ERROR_FAILED, "Could not flush '%s': %s",
                    bs->filename, g_strerror(-ret));
        return ret;
    }
    switch (a->op) {
    case SN_CREATE:
        return bs->drv->co_snapshot_create(bs, a->name, a->errp);
    case SN_APPLY:
        return bs->drv->co_snapshot_apply(bs, a->name, a->errp);
    case SN_DELETE:
        return bs->drv->co_snapshot_delete(bs, a->name, a->errp);
    case SN_BACKING:
        return bs->drv->co_change_backing_file(bs, a->name, a->fmt, a->errp);
    case SN_EMPTY:
        return bs->drv->co_make_empty(bs, a->errp);
    }
    return -EINVAL;
}

static int blk_snapshot_run(BlockBackend *blk, SnapOp op, const char *name, const char *fmt,
                            GError **errp)
{
    BlockDriverState *bs = blk_root(blk);
    SnapArgs a = { bs, op, name, fmt, errp };
    bool supported = false;

    switch (op) {
    case SN_CREATE: supported = bs->drv->co_snapshot_create; break;
    case SN_APPLY: supported = bs->drv->co_snapshot_apply; break;
    case SN_DELETE: supported = bs->drv->co_snapshot_delete; break;
    case SN_BACKING: supported = bs->drv->co_change_backing_file; break;
    case SN_EMPTY: supported = bs->drv->co_make_empty; break;
    }
    if (!supported) {
        g_set_error(errp, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED,
                    "Format '%s' of '%s' does not support this operation",
                    bs->drv->format_name, bs->filename);
        return -ENOTSUP;
    }
    if (bs->read_only) {
        g_set_error(errp, G_IO_ERROR, G_IO_ERROR_READ_ONLY, "Image '%s' is read-only",
                    bs->filename);
        return -EPERM;
    }
    blk_drain(blk);
    return bdrv_run_co(bs->eng, blk_snapshot_co, &a);
}

int blk_snapshot_create(BlockBackend *blk, const char *name, GError **errp)
{
    return blk_snapshot_run(blk, SN_CREATE, name, NULL, errp);
}

int blk_snapshot_apply(BlockBackend *blk, const char *name_or_id, GError **errp)
{
    return blk_snapshot_run(blk, SN_APPLY, name_or_id, NULL, errp);
}

int blk_snapshot_delete(BlockBackend *blk, const char *name_or_id, GError **errp)
{
    return blk_snapshot_run(blk, SN_DELETE, name_or_id, NULL, errp);
}

/* ---- the VM state of internal snapshots (savevm/loadvm) ------------------------------ */

bool blk_has_vmstate(BlockBackend *blk)
{
    BlockDriverState *bs = blk_root(blk);
    return bs->drv->co_vmstate && bs->drv->co_snapshot_create_vm && !bs->read_only;
}

typedef struct VmstateArgs {
    BlockDriverState *bs;
    int64_t pos, len;
    void *buf;
    bool write;
    const char *name;
    uint64_t vm_state_size, vm_clock_ns;
    GError **errp;
} VmstateArgs;

static int vmstate_co(void *opaque)
{
    VmstateArgs *a = opaque;
    BlkIov q;
    blkiov_init_buf(&q, a->buf, a->len);
    return a->bs->drv->co_vmstate(a->bs, a->pos, a->len, &q, a->write);
}

int blk_vmstate_io(BlockBackend *blk, int64_t pos, void *buf, int64_t len, bool write)
{
    VmstateArgs a = { .bs = blk_root(blk), .pos = pos, .len = len, .buf = buf,
                      .write = write };
    if (!blk_has_vmstate(blk))
        return -ENOTSUP;
    return bdrv_run_co(a.bs->eng, vmstate_co, &a);
}

static int snapshot_vm_co(void *opaque)
{
    VmstateArgs *a = opaque;
    int ret = bdrv_co_flush(a->bs);
    return ret < 0 ? ret : a->bs->drv->co_snapshot_create_vm(a->bs, a->name, a->vm_state_size,
                                                             a->vm_clock_ns, a->errp);
}

int blk_snapshot_create_vm(BlockBackend *blk, const char *name, uint64_t vm_state_size,
                           uint64_t vm_clock_ns, GError **errp)
{
    VmstateArgs a = { .bs = blk_root(blk), .name = name, .vm_state_size = vm_state_size,
                      .vm_clock_ns = vm_clock_ns, .errp = errp };
    if (!blk_has_vmstate(blk)) {
        g_set_error(errp, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED, "Device '%s' is writable but "
                    "does not support snapshots", a.bs->filename);
        return -ENOTSUP;
    }
    blk_drain(blk);
    return bdrv_run_co(a.bs->eng, snapshot_vm_co, &a);
}

int blk_change_backing_file(BlockBackend *blk, const char *backing, const char *fmt,
                            GError **errp)
{
    return blk_snapshot_run(blk, SN_BACKING, backing, fmt, errp);
}

int blk_make_empty(BlockBackend *blk, GError **errp)
{
    return blk_snapshot_run(blk, SN_EMPTY, NULL, NULL, errp);
}
