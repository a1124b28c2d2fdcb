/*
 * Block engine: io_uring (liburing) for data I/O, a GLib thread pool for blocking calls
 * and as the fallback when io_uring is unavailable, and a GSource that completes
 * requests on the engine's GLib main context.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "engine.h"
#ifdef CONFIG_LIBURING
#include <liburing.h>
#endif

enum { RING_ENTRIES = 256, POOL_THREADS = 64 };

struct EngineSource {
    GSource src;
    BlockEngine *eng;
    gpointer ring_tag;
    gpointer efd_tag;
};

typedef struct Bh {
    EngineBhFn *fn;
    void *opaque;
} Bh;

typedef enum { PW_READ, PW_WRITE, PW_FSYNC, PW_FN } PoolOp;

typedef struct PoolWork {
    PoolOp op;
    int fd;
    const struct iovec *iov;
    int niov;
    int64_t off;
    EngineThreadFn *fn;
    void *opaque;
    ssize_t ret;
    Coroutine *co;
} PoolWork;

typedef struct UringReq {
    Coroutine *co;
    int res;
    bool done;
} UringReq;

/* ---- bottom halves ---------------------------------------------------------------- */

void engine_bh(BlockEngine *eng, EngineBhFn *fn, void *opaque)
{
    Bh *bh = g_new(Bh, 1);

    bh->fn = fn;
    bh->opaque = opaque;
    g_queue_push_tail(&eng->bh, bh);
    if (g_thread_self() != eng->home) {
        g_main_context_wakeup(eng->ctx);
    }
}

void engine_bh_threadsafe(BlockEngine *eng, EngineBhFn *fn, void *opaque)
{
    Bh *bh = g_new(Bh, 1);
    uint64_t one = 1;

    bh->fn = fn;
    bh->opaque = opaque;
    g_mutex_lock(&eng->lock);
    g_queue_push_tail(&eng->xthread, bh);
    g_mutex_unlock(&eng->lock);
    if (write(eng->pool_efd, &one, sizeof(one)) < 0) {
        g_main_context_wakeup(eng->ctx);
    }
}

static void engine_run_bhs(BlockEngine *eng)
{
    guint n = g_queue_get_length(&eng->bh);

    /* Only the ones queued so far: a BH that queues another must not starve I/O. */
    while (n-- > 0) {
        Bh *bh = g_queue_pop_head(&eng->bh);
        bh->fn(bh->opaque);
        g_free(bh);
    }
}

/* ---- thread pool ------------------------------------------------------------------ */

static void pool_worker(gpointer data, gpointer user_data)
{
    PoolWork *w = data;
    BlockEngine *eng = user_data;
    uint64_t one = 1;

    switch (w->op) {
    case PW_READ:
        w->ret = preadv(w->fd, w->iov, w->niov, w->off);
        break;
    case PW_WRITE:
        w->ret = pwritev(w->fd, w->iov, w->niov, w->off);
        break;
    case PW_FSYNC:
        w->ret = fdatasync(w->fd);
        break;
    case PW_FN:
        w->ret = w->fn(w->opaque);
        break;
    }
    if (w->op != PW_FN && w->ret < 0) {
        w->ret = -errno;
    }
    g_mutex_lock(&eng->lock);
    g_queue_push_tail(&eng->done, w);
    g_mutex_unlock(&eng->lock);
    if (write(eng->pool_efd, &one, sizeof(one)) < 0) {
        g_main_context_wakeup(eng->ctx);
    }
}

static void engine_pool_complete(BlockEngine *eng)
{
    uint64_t cnt;
    GQueue done = G_QUEUE_INIT, xq = G_QUEUE_INIT;
    PoolWork *w;
    Bh *bh;

    if (read(eng->pool_efd, &cnt, sizeof(cnt)) < 0 && errno != EAGAIN) {
        g_warning("block engine: eventfd read failed: %s", g_strerror(errno));
    }
    g_mutex_lock(&eng->lock);
    done = eng->done;
    g_queue_init(&eng->done);
    xq = eng->xthread;
    g_queue_init(&eng->xthread);
    g_mutex_unlock(&eng->lock);
    while ((bh = g_queue_pop_head(&xq))) {
        g_queue_push_tail(&eng->bh, bh);
    }
    while ((w = g_queue_pop_head(&done))) {
        Coroutine *co = w->co;
        w->co = NULL;               /* marks it done */
        co_wake(&eng->co, co);
    }
}

static ssize_t pool_submit_co(BlockEngine *eng, PoolWork *w)
{
    w->co = co_self(&eng->co);
    g_assert(w->co);
    g_thread_pool_push(eng->pool, w, NULL);
    while (w->co) {
        co_yield(&eng->co);
    }
    return w->ret;
}

int engine_co_run_in_thread(BlockEngine *eng, EngineThreadFn *fn, void *opaque)
{
    PoolWork w = { .op = PW_FN, .fn = fn, .opaque = opaque };

    return pool_submit_co(eng, &w);
}

/* ---- io_uring ----------------------------------------------------------------------- */

#ifdef CONFIG_LIBURING
static void uring_submit(BlockEngine *eng)
{
    int ret = io_uring_submit(eng->ring);

    if (ret >= 0) {
        eng->sq_pending = 0;
        eng->uring_submits++;
    } else if (ret != -EAGAIN && ret != -EBUSY && ret != -EINTR) {
        g_warning("block engine: io_uring_submit: %s", g_strerror(-ret));
    }
}

static void uring_reap(BlockEngine *eng)
{
    struct io_uring_cqe *cqe;

    while (io_uring_peek_cqe(eng->ring, &cqe) == 0) {
        UringReq *r = io_uring_cqe_get_data(cqe);
        r->res = cqe->res;
        r->done = true;
        io_uring_cqe_seen(eng->ring, cqe);
        eng->uring_inflight--;
        co_wake(&eng->co, r->co);
    }
}

static struct io_uring_sqe *uring_get_sqe(BlockEngine *eng)
{
    struct io_uring_sqe *sqe;

    while (!(sqe = io_uring_get_sqe(eng->ring))) {
        uring_submit(eng);
        if ((sqe = io_uring_get_sqe(eng->ring))) {
            break;
        }
        /* The kernel is backed up: make room by completing what has finished. */
        io_uring_submit_and_wait(eng->ring, 1);
        uring_reap(eng);
    }
    return sqe;
}

static ssize_t uring_wait(BlockEngine *eng, struct io_uring_sqe *sqe, UringReq *r,
                          unsigned batch)
{
    r->co = co_self(&eng->co);
    r->done = false;
    io_uring_sqe_set_data(sqe, r);
    eng->sq_pending++;
    eng->uring_inflight++;
    if (eng->sq_pending >= MIN(batch, ENGINE_SUBMIT_BATCH)) {
        uring_submit(eng);
    }
    while (!r->done) {
        co_yield(&eng->co);
    }
    return r->res;
}
#endif

static ssize_t engine_co_rw(BlockEngine *eng, PoolOp op, int fd, const struct iovec *iov,
                            int niov, int64_t off, unsigned uring_batch)
{
#ifdef CONFIG_LIBURING
    if (uring_batch && eng->have_uring) {
        UringReq r;
        struct io_uring_sqe *sqe = uring_get_sqe(eng);
        ssize_t ret;

        if (op == PW_READ) {
            io_uring_prep_readv(sqe, fd, iov, niov, off);
        } else {
            io_uring_prep_writev(sqe, fd, iov, niov, off);
        }
        ret = uring_wait(eng, sqe, &r, uring_batch);
        return ret;
    }
#endif
    PoolWork w = { .op = op, .fd = fd, .iov = iov, .niov = niov, .off = off };
    return pool_submit_co(eng, &w);
}

ssize_t engine_co_preadv(BlockEngine *eng, int fd, const struct iovec *iov, int niov,
                         int64_t off, unsigned uring_batch)
{
    return engine_co_rw(eng, PW_READ, fd, iov, niov, off, uring_batch);
}

ssize_t engine_co_pwritev(BlockEngine *eng, int fd, const struct iovec *iov, int niov,
                          int64_t off, unsigned uring_batch)
{
    return engine_co_rw(eng, PW_WRITE, fd, iov, niov, off, uring_batch);
}

int engine_co_fdatasync(BlockEngine *eng, int fd, unsigned uring_batch)
{
#ifdef CONFIG_LIBURING
    if (uring_batch && eng->have_uring) {
        UringReq r;
        struct io_uring_sqe *sqe = uring_get_sqe(eng);

        io_uring_prep_fsync(sqe, fd, IORING_FSYNC_DATASYNC);
        return uring_wait(eng, sqe, &r, uring_batch);
    }
#endif
    PoolWork w = { .op = PW_FSYNC, .fd = fd };
    return pool_submit_co(eng, &w);
}

/* ---- GSource ------------------------------------------------------------------------ */

static bool engine_cq_ready(BlockEngine *eng)
{
#ifdef CONFIG_LIBURING
    return eng->have_uring && io_uring_cq_ready(eng->ring) > 0;
#else
    return false;
#endif
}

static gboolean engine_prepare(GSource *src, gint *timeout)
{
    BlockEngine *eng = ((EngineSource *)src)->eng;

#ifdef CONFIG_LIBURING
    if (eng->sq_pending) {
        uring_submit(eng);
    }
#endif
    if (!g_queue_is_empty(&eng->bh) || engine_cq_ready(eng)) {
        *timeout = 0;
        return TRUE;
    }
    *timeout = -1;
    return FALSE;
}

static gboolean engine_check(GSource *src)
{
    EngineSource *es = (EngineSource *)src;
    BlockEngine *eng = es->eng;

    if (!g_queue_is_empty(&eng->bh) || engine_cq_ready(eng)) {
        return TRUE;
    }
    return g_source_query_unix_fd(src, es->efd_tag) & G_IO_IN;
}

static gboolean engine_dispatch(GSource *src, GSourceFunc cb, gpointer data)
{
    EngineSource *es = (EngineSource *)src;
    BlockEngine *eng = es->eng;

    if (g_source_query_unix_fd(src, es->efd_tag) & G_IO_IN) {
        engine_pool_complete(eng);
    }
#ifdef CONFIG_LIBURING
    if (eng->have_uring) {
        uring_reap(eng);
    }
#endif
    engine_run_bhs(eng);
#ifdef CONFIG_LIBURING
    if (eng->sq_pending) {
        uring_submit(eng);
    }
#endif
    return G_SOURCE_CONTINUE;
}

static GSourceFuncs engine_source_funcs = {
    .prepare = engine_prepare,
    .check = engine_check,
    .dispatch = engine_dispatch,
};

/* ---- life cycle --------------------------------------------------------------------- */

static void engine_init_uring(BlockEngine *eng, bool allow)
{
#ifdef CONFIG_LIBURING
    if (!allow) {
        return;                         /* thread pool only */
    }
    eng->ring = g_new0(struct io_uring, 1);
    if (io_uring_queue_init(RING_ENTRIES, eng->ring, 0) == 0) {
        eng->have_uring = true;
    } else {
        g_free(eng->ring);
        eng->ring = NULL;
    }
#endif
}

BlockEngine *block_engine_new(GMainContext *ctx)
{
    return block_engine_new_full(ctx, true);
}

BlockEngine *block_engine_new_full(GMainContext *ctx, bool allow_uring)
{
    BlockEngine *eng = g_new0(BlockEngine, 1);
    EngineSource *es;

    eng->ctx = g_main_context_ref(ctx ? ctx : g_main_context_default());
    eng->home = g_thread_self();
    co_context_init(&eng->co);
    g_mutex_init(&eng->lock);
    eng->pool_efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (eng->pool_efd < 0) {
        g_error("block engine: eventfd: %s", g_strerror(errno));
    }
    eng->pool = g_thread_pool_new(pool_worker, eng, POOL_THREADS, FALSE, NULL);
    engine_init_uring(eng, allow_uring);
    es = (EngineSource *)g_source_new(&engine_source_funcs, sizeof(EngineSource));
    es->eng = eng;
    es->efd_tag = g_source_add_unix_fd(&es->src, eng->pool_efd, G_IO_IN);
#ifdef CONFIG_LIBURING
    if (eng->have_uring) {
        es->ring_tag = g_source_add_unix_fd(&es->src,
                                            ((struct io_uring *)eng->ring)->ring_fd, G_IO_IN);
    }
#endif
    g_source_set_can_recurse(&es->src, TRUE);
    g_source_set_name(&es->src, "vireo-block");
    g_source_attach(&es->src, eng->ctx);
    eng->source = es;
    return eng;
}

void block_engine_free(BlockEngine *eng)
{
    if (!eng) {
        return;
    }
    while (!g_queue_is_empty(&eng->bh)) {
        engine_run_bhs(eng);
    }
    g_thread_pool_free(eng->pool, FALSE, TRUE);
    g_source_destroy(&eng->source->src);
    g_source_unref(&eng->source->src);
#ifdef CONFIG_LIBURING
    if (eng->have_uring) {
        io_uring_queue_exit(eng->ring);
    }
    g_free(eng->ring);
#endif
    close(eng->pool_efd);
    co_context_destroy(&eng->co);
    g_mutex_clear(&eng->lock);
    g_main_context_unref(eng->ctx);
    g_free(eng);
}

bool block_engine_has_io_uring(BlockEngine *eng)
{
    return eng->have_uring;
}

void engine_iterate(BlockEngine *eng, bool blocking)
{
    g_main_context_iteration(eng->ctx, blocking);
}
