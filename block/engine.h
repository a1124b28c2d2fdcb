/*
 * The block engine: one per thread that runs block requests (normally the main loop
 * thread). It owns the coroutine context, the io_uring ring (when available), the
 * thread pool used for blocking system calls and as the I/O fallback, a bottom-half
 * queue, and the GSource that ties all of them into a GLib main context.
 */
#ifndef VIREO_BLOCK_ENGINE_H
#define VIREO_BLOCK_ENGINE_H

#include <stdint.h>
#include <sys/uio.h>
#include <glib.h>

#include "config-host.h"
#include "coroutine.h"
#include "vireo/block.h"

typedef void EngineBhFn(void *opaque);
typedef int EngineThreadFn(void *opaque);

typedef struct EngineSource EngineSource;

struct BlockEngine {
    GMainContext *ctx;
    EngineSource *source;
    GThread *home;
    CoContext co;
    bool have_uring;
    void *ring;                     /* struct io_uring * */
    unsigned sq_pending;            /* prepared, not yet submitted SQEs */
    uint64_t uring_submits;         /* io_uring_submit() calls that submitted */
    unsigned uring_inflight;
    GThreadPool *pool;
    int pool_efd;                   /* eventfd: pool work done */
    GMutex lock;                    /* protects done and xthread */
    GQueue done;                    /* finished pool work items */
    GQueue xthread;                 /* bottom halves queued from other threads */
    GQueue bh;                      /* bottom halves (home thread only) */
    unsigned max_workers;
};

/* block_engine_new() with io_uring allowed or not (tests of the thread-pool path). */
BlockEngine *block_engine_new_full(GMainContext *ctx, bool allow_uring);

/* Schedules fn(opaque) to run soon on the engine's thread, outside any coroutine. */
void engine_bh(BlockEngine *eng, EngineBhFn *fn, void *opaque);
/* Same, callable from any thread. */
void engine_bh_threadsafe(BlockEngine *eng, EngineBhFn *fn, void *opaque);

/* Requests prepared in the io_uring submission queue before they are submitted (unless
 * the main loop comes round first); a file node's aio-max-batch lowers it. */
#define ENGINE_SUBMIT_BATCH 32u

/* Coroutine-only I/O primitives; they return bytes transferred or -errno. @uring_batch:
 * 0 runs the request on the thread pool; otherwise it goes through io_uring (when the
 * engine has it) and the queue is submitted once it holds @uring_batch requests. */
ssize_t engine_co_preadv(BlockEngine *eng, int fd, const struct iovec *iov, int niov,
                         int64_t off, unsigned uring_batch);
ssize_t engine_co_pwritev(BlockEngine *eng, int fd, const struct iovec *iov, int niov,
                          int64_t off, unsigned uring_batch);
int engine_co_fdatasync(BlockEngine *eng, int fd, unsigned uring_batch);
/* Runs fn(opaque) on a pool thread and yields until it returns its result. */
int engine_co_run_in_thread(BlockEngine *eng, EngineThreadFn *fn, void *opaque);

/* Runs one main-context iteration of the engine (blocking if @blocking). */
void engine_iterate(BlockEngine *eng, bool blocking);

static inline CoContext *engine_co(BlockEngine *eng) { return &eng->co; }
static inline bool engine_in_coroutine(BlockEngine *eng) { return eng->co.current != NULL; }

#endif
