/*
 * The VM state area of qcow2 internal snapshots (docs/interop/qcow2.txt, "Snapshots":
 * vm_state_size; QEMU's layout): the saved VM lives in guest clusters just past the
 * virtual disk, from the first L1 entry the disk does not use. savevm writes it there
 * in the active tables, the snapshot then shares those clusters, and the active layer
 * drops them again (they would only cost copy-on-write later). loadvm applies the
 * snapshot, which brings them back into the active tables, and reads them.
 */
#include <errno.h>
#include <string.h>

#include "qcow2.h"

static int vm_shift(BDRVQcow2State *s)
{
    return s->cluster_bits + s->l2_bits;
}

/* First byte of the VM state area: the disk's size rounded up to whole L1 entries. */
static uint64_t vm_state_offset(BDRVQcow2State *s)
{
    return ((s->size + (1ull << vm_shift(s)) - 1) >> vm_shift(s)) << vm_shift(s);
}

/* The write path without the virtual size limit (qcow2_co_pwritev's loop). */
static int write_area(BDRVQcow2State *s, uint64_t off, uint64_t bytes, BlkIov *qiov)
{
    CoContext *co = bdrv_co(s->bs);
    size_t qoff = 0;
    while (bytes > 0) {
        uint64_t host, n;
        Qcow2Alloc *a;
        co_mutex_lock(co, &s->lock);
        int ret = qcow2_prepare_write(s, off, bytes, &host, &n, &a);
        co_mutex_unlock(co, &s->lock);
        if (ret < 0)
            return ret;
        ret = a ? qcow2_write_alloc(s, a, off, n, qiov, qoff)
                : bdrv_co_pwritev(s->file, host, n, qiov, qoff, 0);
        if (ret < 0)
            return ret;
        off += n;
        qoff += n;
        bytes -= n;
    }
    return 0;
}

int qcow2_co_vmstate(BlockDriverState *bs, int64_t pos, int64_t bytes, BlkIov *qiov,
                     bool write)
{
    BDRVQcow2State *s = bs->opaque;
    uint64_t off = vm_state_offset(s) + pos, end = off + bytes;
    if (pos < 0 || bytes < 0 || end < off)
        return -EINVAL;
    if (!write)
        return qcow2_co_preadv(bs, off, bytes, qiov, 0);
    CoContext *co = bdrv_co(bs);
    co_mutex_lock(co, &s->lock);
    int ret = qcow2_grow_l1(s, (end + (1ull << vm_shift(s)) - 1) >> vm_shift(s));
    co_mutex_unlock(co, &s->lock);
    return ret < 0 ? ret : write_area(s, off, bytes, qiov);
}

/* Drops [vm_state_offset, +size) from the active tables (whole clusters, one L2 table
 * at a time). */
static int drop_area(BDRVQcow2State *s, uint64_t size)
{
    uint64_t gc = vm_state_offset(s) >> s->cluster_bits;
    uint64_t end = gc + ((size + s->cluster_size - 1) >> s->cluster_bits);
    while (gc < end) {
        uint64_t nb = MIN(end - gc, s->l2_size - (gc & (s->l2_size - 1)));
        int ret = qcow2_zero_or_discard(s, gc, nb, true, BDRV_REQ_DISCARD_FULL);
        if (ret < 0)
            return ret;
        gc += nb;
    }
    return qcow2_flush_caches(s);
}

int qcow2_snapshot_create_vm(BlockDriverState *bs, const char *name, uint64_t vm_state_size,
                             uint64_t vm_clock_ns, GError **errp)
{
    BDRVQcow2State *s = bs->opaque;
    s->pending_vm_state_size = vm_state_size;
    s->pending_vm_clock_ns = vm_clock_ns;
    int ret = qcow2_snapshot_create(bs, name, errp);
    s->pending_vm_state_size = s->pending_vm_clock_ns = 0;
    if (ret < 0 || !vm_state_size)
        return ret;
    CoContext *co = bdrv_co(bs);
    co_mutex_lock(co, &s->lock);
    ret = drop_area(s, vm_state_size);
    co_mutex_unlock(co, &s->lock);
    return ret;
}
