/*
 * BlockBackend: the handle devices and tools hold. Bounds checks, writethrough
 * emulation, asynchronous requests (a coroutine each, completed through a bottom half
 * on the engine's main context) and synchronous wrappers.
 */
#include <errno.h>
#include <string.h>

#include "block-int.h"

struct BlockBackend {
    BlockEngine *eng;
    BlockDriverState *root;
    bool wce;                   /* write cache enabled: no implied flush per write */
    unsigned in_flight;
    bool inactive;              /* BlockOpenOptions.inactive: root is a read-only view */
    bool read_only;             /* as the user asked (root may be read-only when inactive) */
    bool dev_attached;          /* a guest device holds it */
    bool dev_read_only, dev_resizable;
    bool discard_ignore;
    BlockDetectZeroes detect_zeroes;
    BlockOnError on_read_error, on_write_error;
    bool iostatus_enabled;
    BlockIoStatus iostatus;
    BlockAcctStats stats;
};

typedef enum { REQ_READ, REQ_WRITE, REQ_WRITE_COMPRESSED, REQ_FLUSH, REQ_DISCARD,
               REQ_ZEROES } BlkReqOp;

typedef struct BlkReq {
    BlockBackend *blk;
    BlkReqOp op;
    int64_t off, bytes;
    BlkIov qiov;
    int flags;
    int ret;
    bool invalid;               /* refused by the bounds check (statistics) */
    int64_t start_ns;
    BlockCompletionFunc *cb;
    void *opaque;
} BlkReq;

void block_open_options_init(BlockOpenOptions *o)
{
    memset(o, 0, sizeof(*o));
    o->cache = BLOCK_CACHE_WRITEBACK;
    o->aio = BLOCK_AIO_DEFAULT;
}

/* The index of @s in @names (an enum's values in order), or -1. */
static int name_index(const char *s, const char *const *names, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(s, names[i]) == 0)
            return (int)i;
    return -1;
}

bool block_cache_mode_parse(const char *s, BlockCacheMode *mode)
{
    static const char *const names[] = { "writeback", "none", "writethrough", "directsync",
                                         "unsafe" };
    int i = strcmp(s, "off") == 0 ? BLOCK_CACHE_NONE : name_index(s, names, G_N_ELEMENTS(names));

    if (i < 0)
        return false;
    *mode = (BlockCacheMode)i;
    return true;
}

bool block_locking_parse(const char *s, BlockLocking *out)
{
    static const char *const names[] = { "auto", "on", "off" };
    int i = name_index(s, names, G_N_ELEMENTS(names));

    if (i < 0)
        return false;
    *out = (BlockLocking)i;
    return true;
}

bool block_aio_mode_parse(const char *s, BlockAioMode *mode)
{
    if (strcmp(s, "threads") == 0) {
        *mode = BLOCK_AIO_THREADS;
    } else if (strcmp(s, "io_uring") == 0 || strcmp(s, "native") == 0) {
        *mode = BLOCK_AIO_IO_URING;
    } else {
        return false;
    }
    return true;
}

bool block_detect_zeroes_parse(const char *s, BlockDetectZeroes *dz)
{
    static const char *const names[] = { "off", "on", "unmap" };
    int i = name_index(s, names, G_N_ELEMENTS(names));

    if (i < 0)
        return false;
    *dz = (BlockDetectZeroes)i;
    return true;
}

bool block_discard_parse(const char *s, bool *ignore)
{
    if (!strcmp(s, "ignore") || !strcmp(s, "off")) {
        *ignore = true;
    } else if (!strcmp(s, "unmap") || !strcmp(s, "on")) {
        *ignore = false;
    } else {
        return false;
    }
    return true;
}

static const char *const on_error_names[] = { "report", "ignore", "enospc", "stop", "auto" };

bool block_on_error_parse(const char *s, bool is_read, BlockOnError *out)
{
    for (size_t i = 0; i < BLOCK_ON_ERROR_AUTO; i++) {
        if (strcmp(s, on_error_names[i]) == 0) {
            if (is_read && i == BLOCK_ON_ERROR_ENOSPC) {
                return false;
            }
            *out = (BlockOnError)i;
            return true;
        }
    }
    return false;
}

const char *block_on_error_name(BlockOnError e)
{
    return e <= BLOCK_ON_ERROR_AUTO ? on_error_names[e] : "?";
}

bool block_prealloc_parse(const char *s, BlockPrealloc *p)
{
    static const char *const names[] = { "off", "metadata", "falloc", "full" };

    for (size_t i = 0; i < G_N_ELEMENTS(names); i++) {
        if (strcmp(s, names[i]) == 0) {
            *p = (BlockPrealloc)i;
            return true;
        }
    }
    return false;
}

/* ---- open / close ------------------------------------------------------------------- */

typedef struct OpenArgs {
    BlockEngine *eng;
    const char *filename;
    const BlockOpenOptions *o;
    GError **errp;
    BlockDriverState *bs;
} OpenArgs;

static int blk_open_co(void *opaque)
{
    OpenArgs *a = opaque;
    GHashTable *seen = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);

    a->bs = bdrv_open(a->eng, a->filename, a->o->format, a->o, 0, seen, a->errp);
    g_hash_table_destroy(seen);
    return a->bs ? 0 : -EINVAL;
}

static int blk_close_co(void *opaque);

/* Closes a root that never became the backend's (nothing written through it yet). */
static int close_bs_co(void *opaque)
{
    bdrv_close(opaque);
    return 0;
}

/* An inactive image is opened read-only and takes no locks (QEMU's inactive nodes). */
static BlockDriverState *open_root(BlockEngine *eng, const char *filename,
                                   const BlockOpenOptions *o, GError **errp)
{
    BlockOpenOptions view = *o;
    if (o->inactive) {
        view.read_only = true;
        view.force_share = true;
        view.locking = BLOCK_LOCKING_OFF;
    }
    OpenArgs a = { .eng = eng, .filename = filename, .o = &view, .errp = errp };
    return bdrv_run_co(eng, blk_open_co, &a) < 0 ? NULL : a.bs;
}

BlockBackend *blk_open(BlockEngine *eng, const char *filename, const BlockOpenOptions *o,
                       GError **errp)
{
    BlockDriverState *bs = open_root(eng, filename, o, errp);
    BlockBackend *blk;

    if (!bs) {
        return NULL;
    }
    blk = g_new0(BlockBackend, 1);
    blk->eng = eng;
    blk->root = bs;
    blk->inactive = o->inactive;
    blk->read_only = o->read_only;
    blk->wce = o->cache != BLOCK_CACHE_WRITETHROUGH && o->cache != BLOCK_CACHE_DIRECTSYNC;
    blk->discard_ignore = o->discard_ignore;
    blk->detect_zeroes = o->detect_zeroes;
    blk->on_read_error = BLOCK_ON_ERROR_REPORT;
    blk->on_write_error = BLOCK_ON_ERROR_ENOSPC;
    return blk;
}

bool blk_is_inactive(BlockBackend *blk) { return blk->inactive; }

/* The device's permissions on @root (force-share=on of the node shares everything). */
static int set_dev_perm(BlockDriverState *root, bool read_only, bool resizable,
                        GError **errp)
{
    uint64_t perm = BLK_PERM_CONSISTENT_READ | (read_only ? 0 : BLK_PERM_WRITE);
    uint64_t shared = BLK_PERM_CONSISTENT_READ | BLK_PERM_WRITE_UNCHANGED |
                      (resizable ? BLK_PERM_RESIZE : 0);

    if (root->opts.force_share) {
        shared = BLK_PERM_ALL;
    }
    return bdrv_set_perm(root, perm, shared, errp);
}

bool blk_attach_dev(BlockBackend *blk, bool read_only, bool resizable, GError **errp)
{
    if (set_dev_perm(blk->root, read_only, resizable, errp) < 0) {
        return false;
    }
    blk->dev_attached = true;
    blk->dev_read_only = read_only;
    blk->dev_resizable = resizable;
    return true;
}

void blk_detach_dev(BlockBackend *blk)
{
    uint64_t perm, shared;

    if (!blk->dev_attached) {
        return;
    }
    blk->dev_attached = false;
    bdrv_user_perm(&blk->root->opts, 0, &perm, &shared);
    /* Fewer permissions and more sharing: only a lock syscall can fail, and then the
     * bytes stay as they were (more than needed, never fewer). */
    g_autoptr(GError) err = NULL;
    if (bdrv_set_perm(blk->root, perm, shared, &err) < 0) {
        g_warning("%s", err->message);
    }
}

bool blk_set_active(BlockBackend *blk, bool active, const BlockOpenOptions *o,
                    GError **errp)
{
    BlockOpenOptions want = *o;
    g_autofree char *filename = g_strdup(blk->root->filename);
    BlockDriverState *bs;

    if (active == !blk->inactive) {
        return true;
    }
    want.inactive = !active;
    blk_drain(blk);
    /* Close first: the old root's cached metadata is written (source) or dropped
     * (destination), and its locks are released before the new root takes them. */
    int ret = bdrv_run_co(blk->eng, blk_close_co, blk);
    if (ret < 0) {
        g_warning("%s: flushing before the hand-over: %s", filename, g_strerror(-ret));
    }
    bs = open_root(blk->eng, filename, &want, errp);
    if (bs && blk->dev_attached &&
        set_dev_perm(bs, blk->dev_read_only, blk->dev_resizable, errp) < 0) {
        bdrv_run_co(blk->eng, close_bs_co, bs);
        bs = NULL;
    }
    if (!bs) {
        /* Keep a usable handle: the read-only view, without locks. */
        want.inactive = true;
        bs = open_root(blk->eng, filename, &want, NULL);
        if (!bs) {
            g_error("%s: the image cannot be reopened after a migration hand-over", filename);
        }
        blk->root = bs;
        blk->inactive = true;
        return false;
    }
    blk->root = bs;
    blk->inactive = !active;
    return true;
}

/* ---- error policy, I/O status, statistics (QEMU block/block-backend.c semantics) ---- */

void blk_set_on_error(BlockBackend *blk, BlockOnError on_read, BlockOnError on_write)
{
    if (on_read != BLOCK_ON_ERROR_AUTO) {
        blk->on_read_error = on_read;
    }
    if (on_write != BLOCK_ON_ERROR_AUTO) {
        blk->on_write_error = on_write;
    }
}

BlockOnError blk_get_on_error(BlockBackend *blk, bool is_read)
{
    return is_read ? blk->on_read_error : blk->on_write_error;
}

BlkErrorAction blk_get_error_action(BlockBackend *blk, bool is_read, int error)
{
    switch (blk_get_on_error(blk, is_read)) {
    case BLOCK_ON_ERROR_ENOSPC:
        return error == ENOSPC ? BLK_ERROR_ACTION_STOP : BLK_ERROR_ACTION_REPORT;
    case BLOCK_ON_ERROR_STOP:
        return BLK_ERROR_ACTION_STOP;
    case BLOCK_ON_ERROR_IGNORE:
        return BLK_ERROR_ACTION_IGNORE;
    default:
        return BLK_ERROR_ACTION_REPORT;
    }
}

void blk_iostatus_enable(BlockBackend *blk)
{
    blk->iostatus_enabled = true;
    blk->iostatus = BLOCK_IOSTATUS_OK;
}

/* QEMU: the status means something only when some error can stop the VM. */
bool blk_iostatus_is_enabled(BlockBackend *blk)
{
    return blk->iostatus_enabled && (blk->on_write_error == BLOCK_ON_ERROR_ENOSPC ||
                                     blk->on_write_error == BLOCK_ON_ERROR_STOP ||
                                     blk->on_read_error == BLOCK_ON_ERROR_STOP);
}

BlockIoStatus blk_iostatus(BlockBackend *blk) { return blk->iostatus; }

void blk_iostatus_set_err(BlockBackend *blk, int error)
{
    if (blk_iostatus_is_enabled(blk) && blk->iostatus == BLOCK_IOSTATUS_OK) {
        blk->iostatus = error == ENOSPC ? BLOCK_IOSTATUS_NOSPACE : BLOCK_IOSTATUS_FAILED;
    }
}

void blk_iostatus_reset(BlockBackend *blk)
{
    blk->iostatus = BLOCK_IOSTATUS_OK;
}

const BlockAcctStats *blk_stats(BlockBackend *blk) { return &blk->stats; }
bool blk_discard_ignored(BlockBackend *blk) { return blk->discard_ignore; }
BlockDetectZeroes blk_detect_zeroes(BlockBackend *blk) { return blk->detect_zeroes; }

static int64_t now_ns(void)
{
    return g_get_monotonic_time() * 1000;
}

static void blk_account(BlkReq *r)
{
    BlockAcctStats *st = &r->blk->stats;
    int64_t ns = now_ns(), t = ns - r->start_ns;
    bool ok = r->ret >= 0;

    st->last_access_ns = ns;
    switch (r->op) {
    case REQ_READ:
        if (r->invalid) st->invalid_rd_ops++;
        else if (!ok) st->failed_rd_ops++;
        else { st->rd_ops++; st->rd_bytes += r->bytes; st->rd_total_time_ns += t; }
        break;
    case REQ_WRITE:
    case REQ_WRITE_COMPRESSED:
    case REQ_ZEROES:
        if (r->invalid) st->invalid_wr_ops++;
        else if (!ok) st->failed_wr_ops++;
        else {
            st->wr_ops++;
            st->wr_bytes += r->bytes;
            st->wr_total_time_ns += t;
            st->wr_highest_offset = MAX(st->wr_highest_offset, r->off + r->bytes);
        }
        break;
    case REQ_FLUSH:
        if (!ok) st->failed_flush_ops++;
        else { st->flush_ops++; st->flush_total_time_ns += t; }
        break;
    case REQ_DISCARD:
        if (r->invalid) st->invalid_unmap_ops++;
        else if (!ok) st->failed_unmap_ops++;
        else { st->unmap_ops++; st->unmap_bytes += r->bytes; st->unmap_total_time_ns += t; }
        break;
    }
}

static int blk_close_co(void *opaque)
{
    BlockBackend *blk = opaque;
    int ret = 0;

    if (!blk->root->read_only) {
        ret = bdrv_co_flush(blk->root);
    }
    bdrv_close(blk->root);
    return ret;
}

int blk_close(BlockBackend *blk)
{
    int ret;

    if (!blk) {
        return 0;
    }
    blk_drain(blk);
    ret = bdrv_run_co(blk->eng, blk_close_co, blk);
    g_free(blk);
    return ret;
}

BlockEngine *blk_engine(BlockBackend *blk) { return blk->eng; }
const char *blk_filename(BlockBackend *blk) { return blk->root->filename; }
const char *blk_format(BlockBackend *blk) { return blk->root->drv->format_name; }
bool blk_is_read_only(BlockBackend *blk) { return blk->read_only; }
bool blk_write_cache_enabled(BlockBackend *blk) { return blk->wce; }

const char *blk_last_error(BlockBackend *blk)
{
    for (BlockDriverState *bs = blk->root; bs; bs = bs->backing) {
        if (bs->last_error) {
            return bs->last_error;
        }
    }
    return NULL;
}

int64_t blk_getlength(BlockBackend *blk)
{
    /* Format drivers answer from memory, so this needs no coroutine. */
    return blk->root->drv->co_getlength(blk->root);
}

/* ---- requests ------------------------------------------------------------------------- */

static int blk_check_request(BlockBackend *blk, int64_t off, int64_t bytes)
{
    int64_t len = bdrv_co_getlength(blk->root);

    if (len < 0) {
        return (int)len;
    }
    if (off < 0 || bytes < 0 || off > len || bytes > len - off) {
        return -EIO;
    }
    return 0;
}

static int blk_req_run(BlkReq *r)
{
    BlockBackend *blk = r->blk;
    BlockDriverState *bs = blk->root;
    int ret = r->op == REQ_FLUSH ? 0 : blk_check_request(blk, r->off, r->bytes);
    int flags = r->flags & ~BLK_REQ_FUA;

    if (ret < 0) {
        r->invalid = true;
        return ret;
    }
    if (blk->inactive && r->op != REQ_READ) {
        return r->op == REQ_FLUSH ? 0 : -EPERM;    /* the other process owns the image */
    }
    /* discard=ignore: no deallocation at all (QEMU drops BDRV_REQ_MAY_UNMAP too). */
    if (blk->discard_ignore) {
        flags &= ~BLK_REQ_MAY_UNMAP;
    }
    switch (r->op) {
    case REQ_READ:
        return bdrv_co_preadv(bs, r->off, r->bytes, &r->qiov, 0);
    case REQ_WRITE:
        /* detect-zeroes: a buffer of zeroes is written as a zero range (qcow2: zero
         * clusters; unmap: deallocated when discard=unmap allows it). */
        if (blk->detect_zeroes != BLOCK_DETECT_ZEROES_OFF && r->bytes > 0 &&
            blkiov_is_zero(&r->qiov, 0, r->bytes)) {
            if (blk->detect_zeroes == BLOCK_DETECT_ZEROES_UNMAP && !blk->discard_ignore) {
                flags |= BLK_REQ_MAY_UNMAP;
            }
            ret = bdrv_co_pwrite_zeroes(bs, r->off, r->bytes, flags);
            break;
        }
        ret = bdrv_co_pwritev(bs, r->off, r->bytes, &r->qiov, 0, flags);
        break;
    case REQ_WRITE_COMPRESSED:
        if (!bs->drv->co_pwritev_compressed) {
            return -ENOTSUP;
        }
        if (bs->read_only) {
            return -EPERM;
        }
        ret = bs->drv->co_pwritev_compressed(bs, r->off, r->bytes, &r->qiov, 0);
        break;
    case REQ_FLUSH:
        return bdrv_co_flush(bs);
    case REQ_DISCARD:
        if (blk->discard_ignore) {
            return 0;                   /* QEMU: accepted, nothing deallocated */
        }
        return bdrv_co_pdiscard(bs, r->off, r->bytes, 0);
    case REQ_ZEROES:
        ret = bdrv_co_pwrite_zeroes(bs, r->off, r->bytes, flags);
        break;
    }
    /* Writethrough (and FUA) is a flush of the whole graph after the write, so that
     * the metadata pointing at the data is stable too. */
    if (ret == 0 && (!blk->wce || (r->flags & BLK_REQ_FUA))) {
        ret = bdrv_co_flush(bs);
    }
    return ret;
}

static int blk_req_sync_entry(void *opaque)
{
    return blk_req_run(opaque);
}

static int blk_req_sync(BlockBackend *blk, BlkReqOp op, int64_t off, void *buf,
                        int64_t bytes, int flags)
{
    BlkReq r = { .blk = blk, .op = op, .off = off, .bytes = bytes, .flags = flags };

    blkiov_init_buf(&r.qiov, buf, buf ? bytes : 0);
    return bdrv_run_co(blk->eng, blk_req_sync_entry, &r);
}

int blk_pread(BlockBackend *blk, int64_t offset, void *buf, int64_t bytes)
{
    return blk_req_sync(blk, REQ_READ, offset, buf, bytes, 0);
}

int blk_pwrite(BlockBackend *blk, int64_t offset, const void *buf, int64_t bytes, int flags)
{
    return blk_req_sync(blk, REQ_WRITE, offset, (void *)buf, bytes, flags);
}

int blk_pwrite_compressed(BlockBackend *blk, int64_t offset, const void *buf, int64_t bytes)
{
    return blk_req_sync(blk, REQ_WRITE_COMPRESSED, offset, (void *)buf, bytes, 0);
}

int blk_pwrite_zeroes(BlockBackend *blk, int64_t offset, int64_t bytes, int flags)
{
    return blk_req_sync(blk, REQ_ZEROES, offset, NULL, bytes, flags);
}

int blk_pdiscard(BlockBackend *blk, int64_t offset, int64_t bytes)
{
    return blk_req_sync(blk, REQ_DISCARD, offset, NULL, bytes, 0);
}

int blk_flush(BlockBackend *blk)
{
    return blk_req_sync(blk, REQ_FLUSH, 0, NULL, 0, 0);
}

/* ---- parallel tasks ------------------------------------------------------------------ */

typedef struct ParTasks {
    BlockTaskFn *fn;
    void *opaque;
    int left;
    int ret;
} ParTasks;

typedef struct ParTask {
    ParTasks *all;
    int index;
} ParTask;

static void par_entry(void *opaque)
{
    ParTask *t = opaque;
    int ret = t->all->fn(t->all->opaque, t->index);

    if (ret < 0 && t->all->ret == 0) {
        t->all->ret = ret;
    }
    t->all->left--;
    g_free(t);
}

int block_run_parallel(BlockEngine *eng, int n, BlockTaskFn *fn, void *opaque)
{
    ParTasks all = { fn, opaque, n, 0 };

    g_assert(!engine_in_coroutine(eng));
    for (int i = 0; i < n; i++) {
        ParTask *t = g_new(ParTask, 1);
        t->all = &all;
        t->index = i;
        co_enter(&eng->co, co_create(&eng->co, par_entry, t));
    }
    while (all.left > 0) {
        engine_iterate(eng, true);
    }
    return all.ret;
}

/* ---- asynchronous requests ---------------------------------------------------------- */

static void blk_aio_done(void *opaque)
{
    BlkReq *r = opaque;

    r->blk->in_flight--;
    blk_account(r);
    r->cb(r->opaque, r->ret);
    g_free(r);
}

static void blk_aio_entry(void *opaque)
{
    BlkReq *r = opaque;

    r->ret = blk_req_run(r);
    engine_bh(r->blk->eng, blk_aio_done, r);
}

static void blk_aio_start(void *opaque)
{
    BlkReq *r = opaque;
    CoContext *co = &r->blk->eng->co;

    co_enter(co, co_create(co, blk_aio_entry, r));
}

static void blk_aio_submit(BlockBackend *blk, BlkReqOp op, int64_t off,
                           const struct iovec *iov, int niov, int64_t bytes, int flags,
                           BlockCompletionFunc *cb, void *opaque)
{
    BlkReq *r = g_new0(BlkReq, 1);

    r->blk = blk;
    r->op = op;
    r->off = off;
    r->flags = flags;
    r->cb = cb;
    r->opaque = opaque;
    blkiov_init_external(&r->qiov, iov, niov);
    r->bytes = iov ? (int64_t)r->qiov.size : bytes;
    r->start_ns = now_ns();
    if (g_thread_self() == blk->eng->home) {
        blk->in_flight++;
        blk_aio_start(r);
    } else {
        /* From a vCPU thread (big lock held): start on the engine's thread. */
        blk->in_flight++;
        engine_bh_threadsafe(blk->eng, blk_aio_start, r);
    }
}

void blk_aio_preadv(BlockBackend *blk, int64_t offset, const struct iovec *iov, int niov,
                    BlockCompletionFunc *cb, void *opaque)
{
    blk_aio_submit(blk, REQ_READ, offset, iov, niov, 0, 0, cb, opaque);
}

void blk_aio_pwritev(BlockBackend *blk, int64_t offset, const struct iovec *iov, int niov,
                     int flags, BlockCompletionFunc *cb, void *opaque)
{
    blk_aio_submit(blk, REQ_WRITE, offset, iov, niov, 0, flags, cb, opaque);
}

void blk_aio_flush(BlockBackend *blk, BlockCompletionFunc *cb, void *opaque)
{
    blk_aio_submit(blk, REQ_FLUSH, 0, NULL, 0, 0, 0, cb, opaque);
}

void blk_aio_pdiscard(BlockBackend *blk, int64_t offset, int64_t bytes,
                      BlockCompletionFunc *cb, void *opaque)
{
    blk_aio_submit(blk, REQ_DISCARD, offset, NULL, 0, bytes, 0, cb, opaque);
}

void blk_aio_pwrite_zeroes(BlockBackend *blk, int64_t offset, int64_t bytes, int flags,
                           BlockCompletionFunc *cb, void *opaque)
{
    blk_aio_submit(blk, REQ_ZEROES, offset, NULL, 0, bytes, flags, cb, opaque);
}

void blk_drain(BlockBackend *blk)
{
    while (blk->in_flight) {
        engine_iterate(blk->eng, true);
    }
}

/* ---- resize, status ----------------------------------------------------------------- */

typedef struct TruncArgs {
    BlockBackend *blk;
    int64_t size;
    BlockPrealloc prealloc;
    GError **errp;
} TruncArgs;

static int blk_truncate_co(void *opaque)
{
    TruncArgs *a = opaque;

    return bdrv_co_truncate(a->blk->root, a->size, a->prealloc, a->errp);
}

int blk_truncate(BlockBackend *blk, int64_t size, BlockPrealloc prealloc, GError **errp)
{
    TruncArgs a = { blk, size, prealloc, errp };

    if (size < 0) {
        g_set_error(errp, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT, "Invalid size %" G_GINT64_FORMAT,
                    size);
        return -EINVAL;
    }
    return bdrv_run_co(blk->eng, blk_truncate_co, &a);
}

typedef struct StatusArgs {
    BlockBackend *blk;
    int64_t off, bytes, *pnum;
    BlockStatus *st;
    bool chain;
} StatusArgs;

/* Unallocated with nothing (or nothing that long) below reads as zeros. */
static int status_fill_zero(BlockDriverState *bs, int64_t off, BlockStatus *st)
{
    int64_t len;

    if (st->allocated) {
        return 0;
    }
    if (!bs->backing) {
        st->zero = true;
        return 0;
    }
    len = bdrv_co_getlength(bs->backing);
    if (len < 0) {
        return (int)len;
    }
    if (off >= len) {
        st->zero = true;
    }
    return 0;
}

static int blk_block_status_co(void *opaque)
{
    StatusArgs *a = opaque;
    BlockDriverState *bs = a->blk->root;
    int64_t bytes = a->bytes;
    int ret;

    for (int depth = 0;; depth++) {
        ret = bdrv_co_block_status(bs, a->off, bytes, a->pnum, a->st);
        if (ret < 0) {
            return ret;
        }
        a->st->depth = depth;
        if ((ret = status_fill_zero(bs, a->off, a->st)) < 0) {
            return ret;
        }
        if (!a->chain || a->st->allocated || a->st->zero || !bs->backing) {
            return 0;
        }
        bytes = *a->pnum;
        bs = bs->backing;
    }
}

static int blk_block_status_common(BlockBackend *blk, int64_t off, int64_t bytes,
                                   int64_t *pnum, BlockStatus *st, bool chain)
{
    StatusArgs a = { blk, off, bytes, pnum, st, chain };
    int64_t len = blk_getlength(blk);

    if (off < 0 || bytes <= 0 || off >= len) {
        return -EINVAL;
    }
    a.bytes = MIN(bytes, len - off);
    return bdrv_run_co(blk->eng, blk_block_status_co, &a);
}

int blk_block_status(BlockBackend *blk, int64_t offset, int64_t bytes, int64_t *pnum,
                     BlockStatus *st)
{
    return blk_block_status_common(blk, offset, bytes, pnum, st, false);
}

int blk_block_status_chain(BlockBackend *blk, int64_t offset, int64_t bytes, int64_t *pnum,
                           BlockStatus *st)
{
    return blk_block_status_common(blk, offset, bytes, pnum, st, true);
}

bool blk_has_zero_init(BlockBackend *blk)
{
    BlockDriverState *bs = blk->root;

    return bs->drv->has_zero_init ? bs->drv->has_zero_init(bs) : false;
}

BlockDriverState *blk_root(BlockBackend *blk)
{
    return blk->root;
}

int blk_get_nodes(BlockBackend *blk, BlockNodeDesc *out, int max)
{
    int n = 0, depth = 0;

    for (BlockDriverState *bs = blk->root; bs && n < max; bs = bs->backing, depth++) {
        out[n++] = (BlockNodeDesc){ bs->filename, bs->drv->format_name, bs->read_only,
                                    bs->drv->is_protocol, depth };
        if (bs->file && n < max)
            out[n++] = (BlockNodeDesc){ bs->file->filename, bs->file->drv->format_name,
                                        bs->file->read_only, true, depth };
    }
    return n;
}
