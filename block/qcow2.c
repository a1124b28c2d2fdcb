/*
 * qcow2 driver: open and close (what to do about the dirty, corrupt and autoclear
 * bits), corruption reports and metadata overlap checks, resize, backing-file changes,
 * and the driver table. The header itself is in qcow2-header.c.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "qcow2.h"

enum { L2_CACHE_DEFAULT_MAX = 32 << 20 };

/* ---- corruption, overlap checks ------------------------------------------------------ */

int qcow2_signal_corruption(BDRVQcow2State *s, const char *fmt, ...)
{
    va_list ap;
    char *msg;

    va_start(ap, fmt);
    msg = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    if (!s->corrupt_reported && !s->bs->opts.check_mode) {
        s->corrupt_reported = true;
        if (!s->bs->read_only) {
            g_printerr("qcow2: Marking image '%s' as corrupt: %s; further corruption events "
                       "will be suppressed\n", s->bs->filename, msg);
            s->incompatible |= QCOW2_INCOMPAT_CORRUPT;
            qcow2_update_header(s);
        } else {
            g_printerr("qcow2: Image '%s' is corrupt: %s; further non-fatal corruption events "
                       "will be suppressed\n", s->bs->filename, msg);
        }
    }
    bdrv_set_error(s->bs, -EIO, "qcow2 image '%s' is corrupt: %s", s->bs->filename, msg);
    g_free(msg);
    return -EIO;
}

static bool ranges_overlap(uint64_t a, uint64_t alen, uint64_t b, uint64_t blen)
{
    return alen && blen && a < b + blen && b < a + alen;
}

/* Whether [off, off + len) hits the header cluster or one of the fixed tables. */
bool qcow2_overlaps_metadata(BDRVQcow2State *s, uint64_t off, uint64_t len)
{
    return off < s->cluster_size ||
           ranges_overlap(off, len, s->l1_table_offset, (uint64_t)s->l1_size * 8) ||
           ranges_overlap(off, len, s->refcount_table_offset,
                          (uint64_t)s->refcount_table_clusters << s->cluster_bits) ||
           (s->nb_snapshots &&
            ranges_overlap(off, len, s->snapshots_offset, s->snapshots_size));
}

/* Writes the 512-byte piece of the active L1 table that holds entry @index. */
int qcow2_write_l1_entry(BDRVQcow2State *s, uint64_t index)
{
    uint64_t first = index & ~63ULL, buf[64];

    for (int i = 0; i < 64; i++) {
        buf[i] = htobe64(first + i < s->l1_size ? s->l1_table[first + i] : 0);
    }
    return bdrv_co_pwrite(s->file, s->l1_table_offset + first * 8, buf, sizeof(buf));
}

/* Writes both metadata caches (in dependency order) and flushes the file. */
int qcow2_flush_caches(BDRVQcow2State *s)
{
    int ret = qcow2_cache_write(s, s->l2_cache);

    if (ret == 0) {
        ret = qcow2_cache_write(s, s->refblock_cache);
    }
    if (ret == 0) {
        ret = bdrv_co_flush(s->file);
    }
    return ret;
}

/* ---- open / close ------------------------------------------------------------------- */

static int load_l1(BDRVQcow2State *s, GError **errp)
{
    uint64_t bytes = ROUND_UP((uint64_t)s->l1_size * 8, s->cluster_size);
    int ret;

    s->l1_alloc = MAX(bytes, s->cluster_size) / 8;
    s->l1_table = g_malloc0(s->l1_alloc * 8);
    if (s->l1_size == 0) {
        return 0;
    }
    ret = bdrv_co_pread(s->file, s->l1_table_offset, s->l1_table, (uint64_t)s->l1_size * 8);
    if (ret < 0) {
        g_set_error(errp, G_IO_ERROR, G_IO_ERROR_FAILED, "Could not read the L1 table of "
                    "'%s': %s", s->bs->filename, g_strerror(-ret));
        return ret;
    }
    for (uint64_t i = 0; i < s->l1_size; i++) {
        s->l1_table[i] = be64toh(s->l1_table[i]);
    }
    return 0;
}

static void init_caches(BDRVQcow2State *s)
{
    uint64_t want = s->bs->opts.l2_cache_size;
    uint64_t l2n;

    if (!want) {
        want = MIN((uint64_t)L2_CACHE_DEFAULT_MAX, (uint64_t)s->l1_size << s->cluster_bits);
    }
    l2n = MAX(2, MIN(want >> s->cluster_bits, 65536));
    s->l2_cache = qcow2_cache_new(s, (int)l2n, true);
    s->refblock_cache = qcow2_cache_new(s, (int)MAX(4, l2n / 4), false);
}

/* What open does about the dirty, corrupt and autoclear bits of a writable image. */
static int open_fixups(BDRVQcow2State *s, GError **errp)
{
    BlockDriverState *bs = s->bs;
    BlockCheckResult res;

    if (bs->read_only) {
        if (s->incompatible & QCOW2_INCOMPAT_CORRUPT) {
            g_printerr("qcow2: Image '%s' is marked corrupt; opened read-only\n", bs->filename);
        }
        return 0;
    }
    if ((s->incompatible & QCOW2_INCOMPAT_CORRUPT) && !bs->opts.check_mode) {
        g_set_error(errp, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                    "Image '%s' is marked corrupt and cannot be opened read/write; open it "
                    "read-only or repair it with 'vireo-img check -r all'", bs->filename);
        return -EACCES;
    }
    if (s->autoclear) {
        s->autoclear = 0;               /* we maintain none of them (spec: autoclear) */
        qcow2_update_header(s);
    }
    if ((s->incompatible & QCOW2_INCOMPAT_DIRTY) && !bs->opts.check_mode) {
        /* Refcounts may lag behind (lazy refcounts): rebuild them before writing. */
        int ret = qcow2_check(bs, &res, BLOCK_FIX_ALL, errp);
        if (ret < 0) {
            return ret;
        }
        s->incompatible &= ~QCOW2_INCOMPAT_DIRTY;
        if ((ret = qcow2_update_header(s)) < 0 || (ret = bdrv_co_flush(s->file)) < 0) {
            return ret;
        }
    }
    s->use_lazy_refcounts = (s->compatible & QCOW2_COMPAT_LAZY_REFCOUNTS) != 0;
    return 0;
}

static void qcow2_close(BlockDriverState *bs);

static int qcow2_open(BlockDriverState *bs, GError **errp)
{
    BDRVQcow2State *s = bs->opaque;
    int64_t flen;
    int ret;

    s->bs = bs;
    s->file = bs->file;
    s->unknown_exts = g_ptr_array_new();
    s->discard_passthrough = true;
    co_mutex_init(&s->lock);
    co_queue_init(&s->allocs_drained);
    if ((ret = qcow2_read_header(s, errp)) < 0 || (ret = load_l1(s, errp)) < 0 ||
        (ret = qcow2_refcount_init(s, errp)) < 0) {
        goto fail;
    }
    init_caches(s);
    if ((ret = qcow2_read_snapshots(s, errp)) < 0) {
        goto fail;
    }
    flen = bdrv_co_getlength(s->file);
    s->fresh_cluster = flen > 0 ? qcow2_size_to_clusters(s, flen) : 0;
    s->file_end = flen > 0 ? flen : 0;
    if ((ret = open_fixups(s, errp)) < 0) {
        goto fail;
    }
    return 0;
fail:
    qcow2_close(bs);
    return ret;
}

static void qcow2_free_state(BDRVQcow2State *s)
{
    qcow2_cache_free(s->l2_cache);
    qcow2_cache_free(s->refblock_cache);
    s->l2_cache = s->refblock_cache = NULL;
    g_free(s->l1_table);
    g_free(s->refcount_table);
    s->l1_table = s->refcount_table = NULL;
    qcow2_free_snapshots(s);
    for (guint i = 0; s->unknown_exts && i < s->unknown_exts->len; i++) {
        Qcow2Ext *e = g_ptr_array_index(s->unknown_exts, i);
        g_free(e->data);
        g_free(e);
    }
    if (s->unknown_exts) {
        g_ptr_array_free(s->unknown_exts, TRUE);
    }
    s->unknown_exts = NULL;
    g_free(s->header_tail);
    s->header_tail = NULL;
}

static void qcow2_close(BlockDriverState *bs)
{
    BDRVQcow2State *s = bs->opaque;

    if (!bs->read_only && s->l2_cache) {
        if (qcow2_flush_caches(s) < 0 ||
            (s->use_lazy_refcounts && qcow2_mark_clean(s) < 0)) {
            g_printerr("qcow2: could not write metadata of '%s' on close\n", bs->filename);
        }
        /* Give back the preallocated tail nothing was allocated in. */
        if (s->file_end > s->fresh_cluster << s->cluster_bits) {
            bdrv_co_truncate(s->file, s->fresh_cluster << s->cluster_bits,
                             BLOCK_PREALLOC_OFF, NULL);
        }
    }
    qcow2_free_state(s);
}

/* ---- other driver operations ------------------------------------------------------ */

static int qcow2_probe(const uint8_t *buf, size_t len)
{
    if (len >= 8 && qcow2_be32_at(buf, 0) == QCOW2_MAGIC &&
        (qcow2_be32_at(buf, 4) == 2 || qcow2_be32_at(buf, 4) == 3)) {
        return 100;
    }
    return 0;
}

static int qcow2_co_flush(BlockDriverState *bs)
{
    BDRVQcow2State *s = bs->opaque;
    CoContext *co = bdrv_co(bs);
    int ret;

    if (bs->read_only) {
        return 0;
    }
    co_mutex_lock(co, &s->lock);
    ret = qcow2_flush_caches(s);
    co_mutex_unlock(co, &s->lock);
    return ret;
}

static int64_t qcow2_co_getlength(BlockDriverState *bs)
{
    return ((BDRVQcow2State *)bs->opaque)->size;
}

static int64_t qcow2_co_get_allocated_size(BlockDriverState *bs)
{
    return bs->file->drv->co_get_allocated_size(bs->file);
}

static int qcow2_co_truncate(BlockDriverState *bs, int64_t size, BlockPrealloc prealloc,
                             GError **errp)
{
    BDRVQcow2State *s = bs->opaque;
    CoContext *co = bdrv_co(bs);
    uint64_t old = s->size;
    int ret;

    if ((uint64_t)size < s->size) {
        g_set_error(errp, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED,
                    "Cannot shrink qcow2 image '%s'", bs->filename);
        return -ENOTSUP;
    }
    if (size % 512) {
        g_set_error(errp, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                    "qcow2 image size must be a multiple of 512 bytes ('%s')", bs->filename);
        return -EINVAL;
    }
    co_mutex_lock(co, &s->lock);
    ret = qcow2_grow_l1(s, DIV_ROUND_UP(size, s->cluster_size * s->l2_size));
    if (ret == 0) {
        s->size = size;
        ret = qcow2_update_header(s);
    }
    co_mutex_unlock(co, &s->lock);
    if (ret == 0 && prealloc != BLOCK_PREALLOC_OFF) {
        ret = qcow2_preallocate(s, old, size, prealloc);
    }
    if (ret < 0) {
        g_set_error(errp, G_IO_ERROR, G_IO_ERROR_FAILED, "Could not resize '%s': %s",
                    bs->filename, bs->last_error ? bs->last_error : g_strerror(-ret));
    }
    return ret;
}

static void qcow2_get_info(BlockDriverState *bs, BlockImageInfo *info)
{
    BDRVQcow2State *s = bs->opaque;

    info->cluster_size = s->cluster_size;
    info->has_dirty_flag = true;
    info->dirty_flag = (s->incompatible & QCOW2_INCOMPAT_DIRTY) != 0;
    info->is_qcow2 = true;
    info->compat = g_strdup(s->version >= 3 ? "1.1" : "0.10");
    info->compression_type = g_strdup(s->compression_type == QCOW2_COMPRESS_ZSTD ? "zstd"
                                                                                 : "zlib");
    info->lazy_refcounts = (s->compatible & QCOW2_COMPAT_LAZY_REFCOUNTS) != 0;
    info->refcount_bits = s->refcount_bits;
    info->corrupt = (s->incompatible & QCOW2_INCOMPAT_CORRUPT) != 0;
    info->extended_l2 = false;
    info->n_snapshots = qcow2_snapshot_list(bs, &info->snapshots);
}

static int qcow2_co_change_backing_file(BlockDriverState *bs, const char *backing,
                                        const char *fmt, GError **errp)
{
    BDRVQcow2State *s = bs->opaque;
    char *old_file = bs->backing_file, *old_fmt = bs->backing_format;
    int ret;

    if (backing && strlen(backing) > QCOW2_MAX_BACKING_NAME) {
        g_set_error(errp, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                    "Backing file name '%s' is too long", backing);
        return -EINVAL;
    }
    bs->backing_file = backing && *backing ? g_strdup(backing) : NULL;
    bs->backing_format = bs->backing_file && fmt ? g_strdup(fmt) : NULL;
    ret = qcow2_update_header(s);
    if (ret == 0) {
        ret = bdrv_co_flush(s->file);
    }
    if (ret < 0) {
        g_free(bs->backing_file);
        g_free(bs->backing_format);
        bs->backing_file = old_file;
        bs->backing_format = old_fmt;
        g_set_error(errp, G_IO_ERROR, G_IO_ERROR_FAILED,
                    "Could not change the backing file of '%s': %s", bs->filename,
                    bs->last_error ? bs->last_error : g_strerror(-ret));
        return ret;
    }
    g_free(old_file);
    g_free(old_fmt);
    return 0;
}

static int qcow2_co_make_empty(BlockDriverState *bs, GError **errp)
{
    BDRVQcow2State *s = bs->opaque;
    int ret = qcow2_co_pdiscard(bs, 0, ROUND_UP(s->size, s->cluster_size),
                                BDRV_REQ_DISCARD_FULL);

    if (ret == 0) {
        ret = qcow2_co_flush(bs);
    }
    if (ret < 0) {
        g_set_error(errp, G_IO_ERROR, G_IO_ERROR_FAILED, "Could not empty '%s': %s",
                    bs->filename, g_strerror(-ret));
    }
    return ret;
}

static bool qcow2_has_zero_init(BlockDriverState *bs)
{
    return bs->backing_file == NULL;
}

static const char *const qcow2_create_opts[] = {
    "size", "compat", "backing_file", "backing_fmt", "cluster_size", "preallocation",
    "lazy_refcounts", "refcount_bits", "compression_type", "extended_l2", NULL,
};

const BlockDriver bdrv_qcow2 = {
    .format_name = "qcow2",
    .supports_backing = true,
    .file_is_metadata = true,
    .state_size = sizeof(BDRVQcow2State),
    .create_opts = qcow2_create_opts,
    .probe = qcow2_probe,
    .co_open = qcow2_open,
    .co_close = qcow2_close,
    .co_preadv = qcow2_co_preadv,
    .co_pwritev = qcow2_co_pwritev,
    .co_pwritev_compressed = qcow2_co_pwritev_compressed,
    .co_flush = qcow2_co_flush,
    .co_pdiscard = qcow2_co_pdiscard,
    .co_pwrite_zeroes = qcow2_co_pwrite_zeroes,
    .co_getlength = qcow2_co_getlength,
    .co_get_allocated_size = qcow2_co_get_allocated_size,
    .co_truncate = qcow2_co_truncate,
    .co_block_status = qcow2_co_block_status,
    .get_info = qcow2_get_info,
    .co_check = qcow2_check,
    .co_create = qcow2_create,
    .snapshot_list = qcow2_snapshot_list,
    .co_snapshot_create = qcow2_snapshot_create,
    .co_snapshot_apply = qcow2_snapshot_apply,
    .co_snapshot_delete = qcow2_snapshot_delete,
    .co_vmstate = qcow2_co_vmstate,
    .co_snapshot_create_vm = qcow2_snapshot_create_vm,
    .co_change_backing_file = qcow2_co_change_backing_file,
    .co_make_empty = qcow2_co_make_empty,
    .has_zero_init = qcow2_has_zero_init,
};
