/*
 * Coroutines: ucontext sets up each new stack once; every later switch is a
 * sigsetjmp/siglongjmp pair that does not touch the signal mask.
 *
 * glibc's fortified longjmp refuses jumps between stacks, so fortification is off here.
 */
#ifdef _FORTIFY_SOURCE
#undef _FORTIFY_SOURCE
#endif
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <ucontext.h>
#include <unistd.h>

#include "coroutine.h"

#if defined(__SANITIZE_ADDRESS__)
#define CO_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define CO_ASAN 1
#endif
#endif

#ifdef CO_ASAN
#include <sanitizer/common_interface_defs.h>
#define asan_start(save, bottom, size) __sanitizer_start_switch_fiber(save, bottom, size)
#define asan_finish(save, bottom, size) __sanitizer_finish_switch_fiber(save, bottom, size)
#else
#define asan_start(save, bottom, size) ((void)(save), (void)(bottom), (void)(size))
#define asan_finish(save, bottom, size) ((void)(save), *(bottom) = NULL, *(size) = 0)
#endif

enum { CO_STACK_SIZE = 1 << 20, CO_POOL_MAX = 128 };

struct Coroutine {
    sigjmp_buf env;
    CoContext *ctx;
    CoroutineFn *fn;
    void *opaque;
    Coroutine *caller;      /* who entered us; NULL = the thread's own stack */
    void *map;              /* mmap'd region, guard page first */
    size_t map_size;
    void *stack;            /* usable stack above the guard page */
    size_t stack_size;
    bool done;
    void *fake_stack;       /* ASan bookkeeping while suspended */
    sigjmp_buf *init_env;
};

/* Called right after landing on a stack: finishes the sanitizer switch. */
static void co_landed(CoContext *ctx, void *fake)
{
    const void *bottom;
    size_t size;

    asan_finish(fake, &bottom, &size);
    if (ctx->current && !ctx->current->caller && !ctx->leader_stack && bottom) {
        ctx->leader_stack = bottom;
        ctx->leader_stack_size = size;
    }
}

/* The arguments are only used before the jump away; what is read after the jump back
 * goes through the volatile copies. GCC cannot see that under ASan (-Wclobbered). */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wclobbered"
#endif
static void co_switch(CoContext *ctx, sigjmp_buf *from, void **from_fake,
                      sigjmp_buf *to, const void *to_stack, size_t to_size,
                      bool terminate)
{
    CoContext *volatile vctx = ctx;
    void **volatile vfake = from_fake;

    if (terminate) {
        *from_fake = NULL;
    }
    if (!sigsetjmp(*from, 0)) {
        asan_start(terminate ? NULL : from_fake, to_stack, to_size);
        siglongjmp(*to, 1);
    }
    co_landed(vctx, *vfake);
}
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif

static void co_switch_to_caller(Coroutine *co, bool terminate)
{
    CoContext *ctx = co->ctx;
    Coroutine *to = co->caller;

    ctx->current = to;
    if (to) {
        co_switch(ctx, &co->env, &co->fake_stack, &to->env, to->stack,
                  to->stack_size, terminate);
    } else {
        co_switch(ctx, &co->env, &co->fake_stack, ctx->leader_env,
                  ctx->leader_stack, ctx->leader_stack_size, terminate);
    }
}

static void co_trampoline(int hi, int lo)
{
    Coroutine *co = (Coroutine *)(((uintptr_t)(unsigned)hi << 32) |
                                  (uintptr_t)(unsigned)lo);
    const void *creator_stack;
    size_t creator_size;

    asan_finish(NULL, &creator_stack, &creator_size);
    if (!sigsetjmp(co->env, 0)) {
        asan_start(&co->fake_stack, creator_stack, creator_size);
        siglongjmp(*co->init_env, 1);
    }
    co_landed(co->ctx, co->fake_stack);
    for (;;) {
        co->fn(co->opaque);
        co->done = true;
        co_switch_to_caller(co, true);
    }
}

static Coroutine *co_new(CoContext *ctx)
{
    long page = sysconf(_SC_PAGESIZE);
    Coroutine *co = g_new0(Coroutine, 1);
    ucontext_t uc, old_uc;
    sigjmp_buf init_env;
    void *fake = NULL;
    uintptr_t p = (uintptr_t)co;

    co->ctx = ctx;
    co->map_size = CO_STACK_SIZE + page;
    co->map = mmap(NULL, co->map_size, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_STACK, -1, 0);
    if (co->map == MAP_FAILED) {
        g_error("coroutine: cannot map a %d-byte stack", CO_STACK_SIZE);
    }
    mprotect(co->map, page, PROT_NONE);         /* guard page catches overflow */
    co->stack = (char *)co->map + page;
    co->stack_size = CO_STACK_SIZE;
    if (getcontext(&uc) < 0) {
        g_error("coroutine: getcontext failed");
    }
    uc.uc_link = NULL;
    uc.uc_stack.ss_sp = co->stack;
    uc.uc_stack.ss_size = co->stack_size;
    uc.uc_stack.ss_flags = 0;
    makecontext(&uc, (void (*)(void))co_trampoline, 2, (int)(p >> 32), (int)p);
    co->init_env = &init_env;
    if (!sigsetjmp(init_env, 0)) {
        asan_start(&fake, co->stack, co->stack_size);
        swapcontext(&old_uc, &uc);
    }
    asan_finish(fake, &(const void *){NULL}, &(size_t){0});
    co->init_env = NULL;
    ctx->live++;
    return co;
}

static void co_free(CoContext *ctx, Coroutine *co)
{
    munmap(co->map, co->map_size);
    g_free(co);
    ctx->live--;
}

void co_context_init(CoContext *ctx)
{
    memset(ctx, 0, sizeof(*ctx));
    g_queue_init(&ctx->wakeups);
    ctx->pool = g_ptr_array_new();
    ctx->leader_env = g_new0(sigjmp_buf, 1);
}

void co_context_destroy(CoContext *ctx)
{
    for (guint i = 0; i < ctx->pool->len; i++) {
        co_free(ctx, g_ptr_array_index(ctx->pool, i));
    }
    g_ptr_array_free(ctx->pool, TRUE);
    g_free(ctx->leader_env);
    ctx->pool = NULL;
    ctx->leader_env = NULL;
}

Coroutine *co_create(CoContext *ctx, CoroutineFn *fn, void *opaque)
{
    Coroutine *co;

    if (ctx->pool->len) {
        co = g_ptr_array_steal_index_fast(ctx->pool, ctx->pool->len - 1);
    } else {
        co = co_new(ctx);
    }
    co->fn = fn;
    co->opaque = opaque;
    co->done = false;
    co->caller = NULL;
    return co;
}

void co_enter(CoContext *ctx, Coroutine *co)
{
    Coroutine *caller = ctx->current;

    for (Coroutine *c = caller; c; c = c->caller) {
        g_assert(c != co);          /* re-entering a running coroutine */
    }
    co->caller = caller;
    ctx->current = co;
    if (caller) {
        co_switch(ctx, &caller->env, &caller->fake_stack, &co->env, co->stack,
                  co->stack_size, false);
    } else {
        co_switch(ctx, ctx->leader_env, &ctx->leader_fake_stack, &co->env,
                  co->stack, co->stack_size, false);
    }
    if (co->done) {
        if (ctx->pool->len < CO_POOL_MAX) {
            g_ptr_array_add(ctx->pool, co);
        } else {
            co_free(ctx, co);
        }
    }
    if (!ctx->current) {
        Coroutine *w;
        while ((w = g_queue_pop_head(&ctx->wakeups))) {
            co_enter(ctx, w);
        }
    }
}

void co_wake(CoContext *ctx, Coroutine *co)
{
    if (ctx->current) {
        g_queue_push_tail(&ctx->wakeups, co);
    } else {
        co_enter(ctx, co);
    }
}

void co_yield(CoContext *ctx)
{
    Coroutine *co = ctx->current;

    g_assert(co);
    co_switch_to_caller(co, false);
}

void co_queue_init(CoQueue *q)
{
    g_queue_init(&q->waiters);
}

bool co_queue_empty(CoQueue *q)
{
    return g_queue_is_empty(&q->waiters);
}

void co_queue_wait(CoContext *ctx, CoQueue *q, CoMutex *m)
{
    g_queue_push_tail(&q->waiters, co_self(ctx));
    if (m) {
        co_mutex_unlock(ctx, m);
    }
    co_yield(ctx);
    if (m) {
        co_mutex_lock(ctx, m);
    }
}

int co_queue_restart_all(CoContext *ctx, CoQueue *q)
{
    GQueue woken = G_QUEUE_INIT;
    int n = 0;
    Coroutine *co;

    /* Detach first: a woken coroutine may wait on @q again. */
    while ((co = g_queue_pop_head(&q->waiters))) {
        g_queue_push_tail(&woken, co);
    }
    while ((co = g_queue_pop_head(&woken))) {
        co_wake(ctx, co);
        n++;
    }
    return n;
}

void co_mutex_init(CoMutex *m)
{
    m->locked = false;
    m->holder = NULL;
    co_queue_init(&m->queue);
}

void co_mutex_lock(CoContext *ctx, CoMutex *m)
{
    Coroutine *self = co_self(ctx);

    g_assert(self);
    while (m->locked) {
        g_assert(m->holder != self);    /* not recursive */
        g_queue_push_tail(&m->queue.waiters, self);
        co_yield(ctx);
    }
    m->locked = true;
    m->holder = self;
}

void co_mutex_unlock(CoContext *ctx, CoMutex *m)
{
    Coroutine *next;

    g_assert(m->locked);
    m->locked = false;
    m->holder = NULL;
    next = g_queue_pop_head(&m->queue.waiters);
    if (next) {
        co_wake(ctx, next);             /* it retries the lock when it runs */
    }
}
