/*
 * Coroutines for straight-line block-layer code (format drivers wait for I/O by
 * yielding instead of chaining callbacks).
 *
 * A CoContext belongs to one thread (the block engine's home thread); coroutines
 * created in it only ever run on that thread. Switching uses ucontext only to set up a
 * new stack and sigsetjmp/siglongjmp (without saving the signal mask) afterwards, so a
 * switch costs no system call.
 */
#ifndef VIREO_BLOCK_COROUTINE_H
#define VIREO_BLOCK_COROUTINE_H

#include <stdbool.h>
#include <stddef.h>
#include <glib.h>

typedef struct Coroutine Coroutine;
typedef void CoroutineFn(void *opaque);

typedef struct CoContext {
    Coroutine *current;          /* NULL while the thread runs on its own stack */
    GPtrArray *pool;             /* idle coroutines kept for reuse */
    /* Where the thread's own stack returns to (the "leader"). */
    void *leader_env;            /* sigjmp_buf, allocated */
    const void *leader_stack;    /* for sanitizer fiber annotations */
    size_t leader_stack_size;
    void *leader_fake_stack;
    unsigned live;               /* coroutines created and not yet freed */
    GQueue wakeups;              /* woken from a coroutine: entered from the leader */
} CoContext;

/* Initialises @ctx for the calling thread. */
void co_context_init(CoContext *ctx);
/* Frees pooled coroutines; no coroutine of @ctx may be suspended. */
void co_context_destroy(CoContext *ctx);

/* Creates a coroutine that will run fn(opaque) when first entered. */
Coroutine *co_create(CoContext *ctx, CoroutineFn *fn, void *opaque);
/* Runs @co until it yields or returns; a returned coroutine goes back to the pool. */
void co_enter(CoContext *ctx, Coroutine *co);
/* Suspends the current coroutine, returning to whoever entered it. */
void co_yield(CoContext *ctx);
/* The running coroutine, or NULL outside coroutine context. */
static inline Coroutine *co_self(CoContext *ctx) { return ctx->current; }

/* Makes @co runnable: entered at once from the thread's own stack, otherwise as soon
 * as control gets back there (a coroutine may wake one that is still in the middle of
 * suspending itself, e.g. between joining a queue and yielding). */
void co_wake(CoContext *ctx, Coroutine *co);

/* A queue of suspended coroutines (waiters on a condition). */
typedef struct CoQueue {
    GQueue waiters;
} CoQueue;

/* A mutex for coroutines: lock yields while another coroutine holds it. */
typedef struct CoMutex {
    bool locked;
    Coroutine *holder;
    CoQueue queue;
} CoMutex;

void co_queue_init(CoQueue *q);
/* Suspends the current coroutine on @q; releases and retakes @m if non-NULL. */
void co_queue_wait(CoContext *ctx, CoQueue *q, CoMutex *m);
/* Wakes (enters) every coroutine waiting on @q; returns how many. */
int co_queue_restart_all(CoContext *ctx, CoQueue *q);
bool co_queue_empty(CoQueue *q);

void co_mutex_init(CoMutex *m);
void co_mutex_lock(CoContext *ctx, CoMutex *m);
void co_mutex_unlock(CoContext *ctx, CoMutex *m);

#endif
