/*
 * Block core: opening node graphs (protocol, format, backing chain), format probing,
 * request alignment for O_DIRECT, and the coroutine runner behind synchronous calls.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "block-int.h"

enum { PROBE_SIZE = 2048, MAX_CHAIN_DEPTH = 128, BOUNCE_CHUNK = 4 << 20 };

static const BlockDriver *const block_drivers[] = { &bdrv_qcow2, &bdrv_raw, &bdrv_file };

const BlockDriver *bdrv_find_format(const char *name)
{
    for (size_t i = 0; i < G_N_ELEMENTS(block_drivers); i++) {
        if (strcmp(block_drivers[i]->format_name, name) == 0) {
            return block_drivers[i];
        }
    }
    return NULL;
}

/* Formats Vireo recognises but does not implement: name them instead of opening raw. */
static const char *probe_foreign(const uint8_t *buf, size_t len)
{
    static const struct { const char *magic; size_t n; const char *name; } tab[] = {
        { "QFI\xfb\0\0\0\1", 8, "qcow (version 1)" },
        { "KDMV", 4, "vmdk" },
        { "# Disk DescriptorFile", 21, "vmdk" },
        { "conectix", 8, "vpc" },
        { "vhdxfile", 8, "vhdx" },
        { "QED\0", 4, "qed" },
        { "<<< Oracle VM VirtualBox Disk Image >>>", 39, "vdi" },
    };

    for (size_t i = 0; i < G_N_ELEMENTS(tab); i++) {
        if (len >= tab[i].n && memcmp(buf, tab[i].magic, tab[i].n) == 0) {
            return tab[i].name;
        }
    }
    return NULL;
}

static const BlockDriver *bdrv_probe(BlockDriverState *file, GError **errp)
{
    uint8_t *buf = block_alloc0(file, PROBE_SIZE);
    const BlockDriver *best = &bdrv_raw;
    const char *foreign;
    int ret, score = 0;

    ret = bdrv_co_pread(file, 0, buf, PROBE_SIZE);
    if (ret < 0) {
        g_set_error(errp, G_IO_ERROR, G_IO_ERROR_FAILED,
                    "Could not read image '%s' for format probing: %s", file->filename,
                    g_strerror(-ret));
        block_free(buf);
        return NULL;
    }
    foreign = probe_foreign(buf, PROBE_SIZE);
    if (foreign) {
        g_set_error(errp, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED,
                    "Image '%s' is in the %s format, which Vireo does not support",
                    file->filename, foreign);
        block_free(buf);
        return NULL;
    }
    for (size_t i = 0; i < G_N_ELEMENTS(block_drivers); i++) {
        const BlockDriver *d = block_drivers[i];
        int s = d->probe ? d->probe(buf, PROBE_SIZE) : 0;
        if (s > score) {
            score = s;
            best = d;
        }
    }
    block_free(buf);
    return best;
}

static BlockDriverState *bdrv_new(BlockEngine *eng, const BlockDriver *drv,
                                  const char *filename, const BlockOpenOptions *o)
{
    BlockDriverState *bs = g_new0(BlockDriverState, 1);

    bs->eng = eng;
    bs->drv = drv;
    bs->opaque = drv->state_size ? g_malloc0(drv->state_size) : NULL;
    bs->filename = g_strdup(filename);
    bs->opts = *o;
    bs->opts.format = NULL;             /* the caller's strings live only during open */
    bs->opts.backing_filename = NULL;
    bs->opts.backing_options = NULL;
    bs->opts.backing = BLOCK_BACKING_HEADER;
    bs->read_only = o->read_only;
    bs->no_flush = o->cache == BLOCK_CACHE_UNSAFE;
    bs->direct = o->cache == BLOCK_CACHE_NONE || o->cache == BLOCK_CACHE_DIRECTSYNC;
    bs->request_alignment = 1;
    bs->mem_alignment = 1;
    co_mutex_init(&bs->rmw_lock);
    bs->perm = 0;                       /* nothing held, no lock taken yet */
    bs->shared_perm = BLK_PERM_ALL;
    return bs;
}

/* ---- permissions (QEMU's model, reduced to the parents Vireo has) ---------------------- */

void bdrv_user_perm(const BlockOpenOptions *o, int depth, uint64_t *perm, uint64_t *shared)
{
    BlockUser user = depth > 0 ? BLOCK_USER_TOOL : o->user;

    switch (user) {
    case BLOCK_USER_DRIVE:
        *perm = BLK_PERM_CONSISTENT_READ;
        *shared = BLK_PERM_ALL;
        break;
    case BLOCK_USER_NODE:
        *perm = 0;
        *shared = BLK_PERM_ALL;
        break;
    default:
        if (o->read_only) {
            *perm = BLK_PERM_CONSISTENT_READ;
            *shared = BLK_PERM_ALL & ~(BLK_PERM_WRITE | BLK_PERM_RESIZE);
        } else {
            *perm = BLK_PERM_CONSISTENT_READ | BLK_PERM_WRITE | BLK_PERM_WRITE_UNCHANGED |
                    BLK_PERM_RESIZE;
            *shared = BLK_PERM_CONSISTENT_READ | BLK_PERM_WRITE_UNCHANGED;
        }
        break;
    }
    if (o->force_share) {
        *shared = BLK_PERM_ALL;
    }
}

int bdrv_set_perm(BlockDriverState *bs, uint64_t perm, uint64_t shared, GError **errp)
{
    uint64_t cperm = perm, cshared = shared;
    int ret;

    if (bs->drv->set_perm) {
        return bs->drv->set_perm(bs, perm, shared, errp);
    }
    if (bs->drv->file_is_metadata) {
        cperm = BLK_PERM_CONSISTENT_READ |
                (bs->read_only ? 0 : BLK_PERM_WRITE | BLK_PERM_RESIZE);
        cshared = shared & ~(BLK_PERM_WRITE | BLK_PERM_RESIZE);
    }
    if (bs->opts.force_share) {
        cshared = BLK_PERM_ALL;
    }
    if (bs->file && (ret = bdrv_set_perm(bs->file, cperm, cshared, errp)) < 0) {
        return ret;
    }
    bs->perm = perm;
    bs->shared_perm = shared;
    return 0;
}

static void bdrv_free(BlockDriverState *bs)
{
    g_free(bs->opaque);
    g_free(bs->filename);
    g_free(bs->backing_file);
    g_free(bs->backing_format);
    g_free(bs->full_backing_filename);
    g_free(bs->last_error);
    g_free(bs);
}

void bdrv_close(BlockDriverState *bs)
{
    if (!bs) {
        return;
    }
    if (bs->drv->co_close) {
        bs->drv->co_close(bs);
    }
    bdrv_close(bs->backing);
    bdrv_close(bs->file);
    bdrv_free(bs);
}

/* Loop detection: the chain must not contain the same inode twice. */
static bool bdrv_mark_seen(GHashTable *seen, const char *filename, GError **errp)
{
    struct stat st;
    char *key;

    if (!seen || stat(filename, &st) < 0) {
        return true;                    /* open() will report a missing file */
    }
    key = g_strdup_printf("%ju:%ju", (uintmax_t)st.st_dev, (uintmax_t)st.st_ino);
    if (g_hash_table_contains(seen, key)) {
        g_set_error(errp, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                    "Backing chain loop: '%s' is already part of this chain", filename);
        g_free(key);
        return false;
    }
    g_hash_table_add(seen, key);
    return true;
}

static int bdrv_attach_backing(BlockDriverState *bs, const BlockOpenOptions *o,
                               GHashTable *seen, GError **errp);
static int bdrv_open_backing_explicit(BlockDriverState *bs, const BlockOpenOptions *o,
                                      GHashTable *seen, GError **errp);

BlockDriverState *bdrv_open(BlockEngine *eng, const char *filename, const char *format,
                            const BlockOpenOptions *o, int depth, GHashTable *seen,
                            GError **errp)
{
    const BlockDriver *drv = NULL;
    BlockDriverState *file, *bs;
    uint64_t perm, shared;

    if (depth > MAX_CHAIN_DEPTH) {
        g_set_error(errp, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                    "Backing chain of '%s' is deeper than %d images", filename,
                    MAX_CHAIN_DEPTH);
        return NULL;
    }
    if (format && !(drv = bdrv_find_format(format))) {
        g_set_error(errp, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED,
                    "Unknown image format '%s' for '%s'", format, filename);
        return NULL;
    }
    if (!bdrv_mark_seen(seen, filename, errp)) {
        return NULL;
    }
    bdrv_user_perm(o, depth, &perm, &shared);
    file = bdrv_new(eng, &bdrv_file, filename, o);
    if (bdrv_file.co_open(file, errp) < 0) {
        bdrv_free(file);
        return NULL;
    }
    if (drv == &bdrv_file) {
        if (bdrv_set_perm(file, perm, shared, errp) < 0) {
            bdrv_close(file);
            return NULL;
        }
        return file;
    }
    /* The probe reads the first bytes unlocked; the locks are taken before the format
     * driver reads metadata or repairs anything. */
    if (!drv && !(drv = bdrv_probe(file, errp))) {
        bdrv_close(file);
        return NULL;
    }
    bs = bdrv_new(eng, drv, filename, o);
    bs->file = file;
    bs->depth = depth;
    if (bdrv_set_perm(bs, perm, shared, errp) < 0) {
        bs->drv = &bdrv_raw;            /* nothing to close in the format */
        bdrv_close(bs);
        return NULL;
    }
    if (drv->co_open(bs, errp) < 0) {
        bs->drv = &bdrv_raw;            /* nothing to close in the format */
        bdrv_close(bs);
        return NULL;
    }
    if (bdrv_attach_backing(bs, o, seen, errp) < 0) {
        bdrv_close(bs);
        return NULL;
    }
    return bs;
}

/* Opens the backing node @o asks for: the header's (unless refused), none, or the
 * explicit one (QEMU's backing=null / backing.file.filename=). */
static int bdrv_attach_backing(BlockDriverState *bs, const BlockOpenOptions *o,
                               GHashTable *seen, GError **errp)
{
    if (o->no_backing || o->backing == BLOCK_BACKING_NONE) {
        return 0;
    }
    if (o->backing == BLOCK_BACKING_EXPLICIT) {
        return bdrv_open_backing_explicit(bs, o, seen, errp);
    }
    if (!bs->backing_file) {
        return 0;
    }
    if (o->refuse_implicit_backing) {
        g_set_error(errp, G_IO_ERROR, G_IO_ERROR_PERMISSION_DENIED,
                    "Image '%s' names the backing file '%s', and implicit-backing=off "
                    "refuses backing files named by images: give it with "
                    "backing.file.filename=, or use backing=null", bs->filename,
                    bs->backing_file);
        return -EPERM;
    }
    return bdrv_open_backing(bs, seen, errp);
}

static int bdrv_open_backing_explicit(BlockDriverState *bs, const BlockOpenOptions *o,
                                      GHashTable *seen, GError **errp)
{
    BlockOpenOptions bo;
    GError *err = NULL;

    if (!bs->drv->supports_backing) {
        g_set_error(errp, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED,
                    "Driver '%s' of '%s' does not support backing files",
                    bs->drv->format_name, bs->filename);
        return -ENOTSUP;
    }
    if (!o->backing_filename || !*o->backing_filename) {
        g_set_error(errp, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                    "The backing node of '%s' needs a file name", bs->filename);
        return -EINVAL;
    }
    if (o->backing_options) {
        bo = *o->backing_options;
    } else {
        block_open_options_init(&bo);
    }
    bo.cache = o->cache;
    bo.aio = o->aio;
    bo.force_share = bo.force_share || o->force_share;
    bo.read_only = !o->backing_read_write;
    bo.backing_read_write = o->backing_read_write;
    bo.refuse_implicit_backing = bo.refuse_implicit_backing || o->refuse_implicit_backing;
    bo.check_mode = false;
    bs->backing = bdrv_open(bs->eng, o->backing_filename, bo.format, &bo, bs->depth + 1,
                            seen, &err);
    if (!bs->backing) {
        g_set_error(errp, G_IO_ERROR, G_IO_ERROR_FAILED,
                    "Could not open backing file of '%s': %s", bs->filename, err->message);
        g_error_free(err);
        return -EINVAL;
    }
    return 0;
}

/* QEMU's rule: a relative backing name is relative to the overlay's directory. */
static char *backing_path_combine(const char *base, const char *backing)
{
    const char *slash = strrchr(base, '/');

    if (backing[0] == '/' || !slash) {
        return g_strdup(backing);
    }
    return g_strdup_printf("%.*s%s", (int)(slash - base + 1), base, backing);
}

int bdrv_open_backing(BlockDriverState *bs, GHashTable *seen, GError **errp)
{
    BlockOpenOptions bo = bs->opts;
    GError *err = NULL;

    if (strstr(bs->backing_file, "://") || g_str_has_prefix(bs->backing_file, "json:")) {
        g_set_error(errp, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED,
                    "Backing file '%s' of '%s' uses a protocol Vireo does not support",
                    bs->backing_file, bs->filename);
        return -ENOTSUP;
    }
    g_free(bs->full_backing_filename);
    bs->full_backing_filename = backing_path_combine(bs->filename, bs->backing_file);
    bo.read_only = !bs->opts.backing_read_write;
    bo.check_mode = false;
    bo.locking = BLOCK_LOCKING_AUTO;    /* a node of its own, as in QEMU: file.locking=
                                         * of the overlay is not inherited */
    bs->backing = bdrv_open(bs->eng, bs->full_backing_filename, bs->backing_format, &bo,
                            bs->depth + 1, seen, &err);
    if (!bs->backing) {
        g_set_error(errp, G_IO_ERROR, G_IO_ERROR_FAILED,
                    "Could not open backing file of '%s': %s", bs->filename, err->message);
        g_error_free(err);
        return -EINVAL;
    }
    return 0;
}

/* ---- errors and buffers --------------------------------------------------------------- */

int bdrv_set_error(BlockDriverState *bs, int err, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    g_free(bs->last_error);
    bs->last_error = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    return err;
}

void *block_alloc(BlockDriverState *bs, size_t size)
{
    void *p = NULL;

    if (posix_memalign(&p, 4096, MAX(size, 1)) != 0) {
        g_error("block: out of memory allocating %zu bytes", size);
    }
    return p;
}

void *block_alloc0(BlockDriverState *bs, size_t size)
{
    void *p = block_alloc(bs, size);

    memset(p, 0, size);
    return p;
}

void block_free(void *p)
{
    free(p);
}

/* ---- requests ------------------------------------------------------------------------- */

static bool bdrv_needs_bounce(BlockDriverState *bs, int64_t off, int64_t bytes,
                              BlkIov *qiov, size_t qoff)
{
    uint32_t a = bs->request_alignment;

    if (a <= 1 && bs->mem_alignment <= 1) {
        return false;
    }
    if ((off | bytes) & (a - 1)) {
        return true;
    }
    return !blkiov_is_aligned(qiov, qoff, bytes, MAX(a, bs->mem_alignment));
}

static int bdrv_preadv_bounce(BlockDriverState *bs, int64_t off, int64_t bytes,
                              BlkIov *qiov, size_t qoff)
{
    uint32_t a = bs->request_alignment;

    while (bytes > 0) {
        int64_t start = off & ~(int64_t)(a - 1);
        int64_t end = MIN(ROUND_UP(off + bytes, a), start + BOUNCE_CHUNK);
        int64_t n = MIN(end - off, bytes);
        uint8_t *buf = block_alloc(bs, end - start);
        BlkIov b;
        int ret;

        blkiov_init_buf(&b, buf, end - start);
        ret = bs->drv->co_preadv(bs, start, end - start, &b, 0);
        if (ret >= 0) {
            blkiov_from_buf(qiov, qoff, buf + (off - start), n);
        }
        block_free(buf);
        if (ret < 0) {
            return ret;
        }
        off += n;
        qoff += n;
        bytes -= n;
    }
    return 0;
}

/* Read-modify-write of the partial blocks at either end, under rmw_lock. */
static int bdrv_pwritev_rmw_chunk(BlockDriverState *bs, int64_t off, int64_t n,
                                  BlkIov *qiov, size_t qoff, int flags)
{
    uint32_t a = bs->request_alignment;
    int64_t start = off & ~(int64_t)(a - 1);
    int64_t end = ROUND_UP(off + n, a);
    uint8_t *buf = block_alloc(bs, end - start);
    BlkIov b;
    int ret = 0;

    if (off != start || off + n != end) {
        blkiov_init_buf(&b, buf, a);
        if (off != start) {
            ret = bs->drv->co_preadv(bs, start, a, &b, 0);
        }
        if (ret >= 0 && off + n != end && (end - a != start || off == start)) {
            blkiov_init_buf(&b, buf + (end - start - a), a);
            ret = bs->drv->co_preadv(bs, end - a, a, &b, 0);
        }
    }
    if (ret >= 0) {
        blkiov_to_buf(qiov, qoff, buf + (off - start), n);
        blkiov_init_buf(&b, buf, end - start);
        ret = bs->drv->co_pwritev(bs, start, end - start, &b, 0, flags);
    }
    block_free(buf);
    return ret;
}

static int bdrv_pwritev_bounce(BlockDriverState *bs, int64_t off, int64_t bytes,
                               BlkIov *qiov, size_t qoff, int flags)
{
    int ret = 0;

    co_mutex_lock(bdrv_co(bs), &bs->rmw_lock);
    while (bytes > 0 && ret >= 0) {
        int64_t n = MIN(bytes, BOUNCE_CHUNK - (off & (bs->request_alignment - 1)));
        ret = bdrv_pwritev_rmw_chunk(bs, off, n, qiov, qoff, flags);
        off += n;
        qoff += n;
        bytes -= n;
    }
    co_mutex_unlock(bdrv_co(bs), &bs->rmw_lock);
    return ret;
}

int bdrv_co_preadv(BlockDriverState *bs, int64_t off, int64_t bytes, BlkIov *qiov,
                   size_t qoff)
{
    if (off < 0 || bytes < 0 || bytes > INT64_MAX - off) {
        return -EINVAL;
    }
    if (bytes == 0) {
        return 0;
    }
    if (bdrv_needs_bounce(bs, off, bytes, qiov, qoff)) {
        return bdrv_preadv_bounce(bs, off, bytes, qiov, qoff);
    }
    return bs->drv->co_preadv(bs, off, bytes, qiov, qoff);
}

int bdrv_co_pwritev(BlockDriverState *bs, int64_t off, int64_t bytes, BlkIov *qiov,
                    size_t qoff, int flags)
{
    if (bs->read_only) {
        return -EPERM;
    }
    if (off < 0 || bytes < 0 || bytes > INT64_MAX - off) {
        return -EINVAL;
    }
    if (bytes == 0) {
        return 0;
    }
    if (bdrv_needs_bounce(bs, off, bytes, qiov, qoff)) {
        return bdrv_pwritev_bounce(bs, off, bytes, qiov, qoff, flags);
    }
    return bs->drv->co_pwritev(bs, off, bytes, qiov, qoff, flags);
}

int bdrv_co_pread(BlockDriverState *bs, int64_t off, void *buf, int64_t bytes)
{
    BlkIov q;

    blkiov_init_buf(&q, buf, bytes);
    return bdrv_co_preadv(bs, off, bytes, &q, 0);
}

int bdrv_co_pwrite(BlockDriverState *bs, int64_t off, const void *buf, int64_t bytes)
{
    BlkIov q;

    blkiov_init_buf(&q, (void *)buf, bytes);
    return bdrv_co_pwritev(bs, off, bytes, &q, 0, 0);
}

int bdrv_co_flush(BlockDriverState *bs)
{
    if (!bs || !bs->drv->co_flush) {
        return 0;
    }
    return bs->drv->co_flush(bs);
}

int bdrv_co_pdiscard(BlockDriverState *bs, int64_t off, int64_t bytes, int flags)
{
    if (bs->read_only) {
        return -EPERM;
    }
    if (off < 0 || bytes < 0) {
        return -EINVAL;
    }
    if (!bs->drv->co_pdiscard || bytes == 0) {
        return 0;                       /* discard is advisory */
    }
    return bs->drv->co_pdiscard(bs, off, bytes, flags);
}

/* Writes zeros from a buffer when the driver cannot do better. */
static int bdrv_write_zero_buffer(BlockDriverState *bs, int64_t off, int64_t bytes)
{
    int64_t chunk = MIN(bytes, 1 << 20);
    void *buf = block_alloc0(bs, chunk);
    int ret = 0;

    while (bytes > 0 && ret >= 0) {
        int64_t n = MIN(bytes, chunk);
        ret = bdrv_co_pwrite(bs, off, buf, n);
        off += n;
        bytes -= n;
    }
    block_free(buf);
    return ret;
}

int bdrv_co_pwrite_zeroes(BlockDriverState *bs, int64_t off, int64_t bytes, int flags)
{
    int ret = -ENOTSUP;

    if (bs->read_only) {
        return -EPERM;
    }
    if (off < 0 || bytes < 0) {
        return -EINVAL;
    }
    if (bytes == 0) {
        return 0;
    }
    if (bs->drv->co_pwrite_zeroes) {
        ret = bs->drv->co_pwrite_zeroes(bs, off, bytes, flags);
    }
    if (ret != -ENOTSUP || (flags & BLK_REQ_NO_FALLBACK)) {
        return ret;
    }
    return bdrv_write_zero_buffer(bs, off, bytes);
}

int64_t bdrv_co_getlength(BlockDriverState *bs)
{
    return bs->drv->co_getlength(bs);
}

int bdrv_co_truncate(BlockDriverState *bs, int64_t size, BlockPrealloc prealloc,
                     GError **errp)
{
    if (bs->read_only) {
        g_set_error(errp, G_IO_ERROR, G_IO_ERROR_READ_ONLY, "Image '%s' is read-only",
                    bs->filename);
        return -EPERM;
    }
    if (!bs->drv->co_truncate) {
        g_set_error(errp, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED,
                    "Format %s of '%s' cannot be resized", bs->drv->format_name,
                    bs->filename);
        return -ENOTSUP;
    }
    return bs->drv->co_truncate(bs, size, prealloc, errp);
}

int bdrv_co_block_status(BlockDriverState *bs, int64_t off, int64_t bytes, int64_t *pnum,
                         BlockStatus *st)
{
    memset(st, 0, sizeof(*st));
    if (!bs->drv->co_block_status) {
        *pnum = bytes;
        st->allocated = st->data = true;
        return 0;
    }
    return bs->drv->co_block_status(bs, off, bytes, pnum, st);
}

int bdrv_co_read_backing(BlockDriverState *bs, int64_t off, int64_t bytes, BlkIov *qiov,
                         size_t qoff)
{
    int64_t len, n;
    int ret;

    if (!bs->backing) {
        blkiov_memset(qiov, qoff, 0, bytes);
        return 0;
    }
    len = bdrv_co_getlength(bs->backing);
    if (len < 0) {
        return len;
    }
    n = off >= len ? 0 : MIN(bytes, len - off);
    if (n > 0) {
        ret = bdrv_co_preadv(bs->backing, off, n, qiov, qoff);
        if (ret < 0) {
            return ret;
        }
    }
    if (n < bytes) {
        blkiov_memset(qiov, qoff + n, 0, bytes - n);
    }
    return 0;
}

/* ---- synchronous runner ------------------------------------------------------------- */

typedef struct RunCo {
    int (*fn)(void *opaque);
    void *opaque;
    int ret;
    bool done;
} RunCo;

static void run_co_entry(void *p)
{
    RunCo *r = p;

    r->ret = r->fn(r->opaque);
    r->done = true;
}

int bdrv_run_co(BlockEngine *eng, int (*fn)(void *opaque), void *opaque)
{
    RunCo r = { .fn = fn, .opaque = opaque };

    if (engine_in_coroutine(eng)) {
        return fn(opaque);
    }
    co_enter(&eng->co, co_create(&eng->co, run_co_entry, &r));
    while (!r.done) {
        engine_iterate(eng, true);
    }
    return r.ret;
}
