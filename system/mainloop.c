/*
 * Main loop, big lock and timers (include/vireo/mainloop.h).
 *
 * The main thread owns the lock except inside poll(): a custom GLib poll function
 * drops it, so every GLib dispatch runs with the lock held, as device models expect.
 * The lock, the default context and the real clock are process-wide by nature (one
 * main thread per process); machines and devices hold no other global state.
 */
#include "vireo/mainloop.h"
#include <pthread.h>
#include <time.h>

static pthread_mutex_t bql = PTHREAD_MUTEX_INITIALIZER;
static __thread bool bql_held;

void bql_lock(void)
{
    g_assert(!bql_held);
    pthread_mutex_lock(&bql);
    bql_held = true;
}

void bql_unlock(void)
{
    g_assert(bql_held);
    bql_held = false;
    pthread_mutex_unlock(&bql);
}

bool bql_locked(void) { return bql_held; }

static gint poll_unlocked(GPollFD *fds, guint nfds, gint timeout)
{
    bool held = bql_held;
    if (held)
        bql_unlock();
    gint r = g_poll(fds, nfds, timeout);
    if (held)
        bql_lock();
    return r;
}

void mainloop_init(void)
{
    g_main_context_set_poll_func(g_main_context_default(), poll_unlocked);
}

void mainloop_iterate(bool blocking)
{
    g_main_context_iteration(g_main_context_default(), blocking);
}

void mainloop_wakeup(void)
{
    g_main_context_wakeup(g_main_context_default());
}

/* ---- clocks and timers ---- */

struct Clock {
    bool virtual_clock;
    int64_t now;         /* virtual: current time */
    int64_t wall_base;   /* virtual: wall time at now == start */
    int64_t start;
    GList *timers;       /* virtual: armed timers, sorted by expiry */
};

typedef struct TimerSource {
    GSource src;
    Timer *timer;
} TimerSource;

struct Timer {
    Clock *clock;
    TimerCb *cb;
    void *opaque;
    int64_t expire;
    bool pending;
    GSource *source;     /* real clock only */
};

static Clock real_clock;

Clock *clock_real(void) { return &real_clock; }

Clock *vclock_new(int64_t start_ns)
{
    Clock *c = g_new0(Clock, 1);
    c->virtual_clock = true;
    c->now = c->start = c->wall_base = start_ns;
    return c;
}

void vclock_free(Clock *c)
{
    g_list_free(c->timers);
    g_free(c);
}

int64_t clock_ns(Clock *c)
{
    if (c->virtual_clock)
        return c->now;
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

int64_t clock_wall_ns(Clock *c)
{
    if (c->virtual_clock)
        return c->wall_base + (c->now - c->start);
    return g_get_real_time() * 1000;
}

static gint timer_cmp(gconstpointer a, gconstpointer b)
{
    const Timer *x = a, *y = b;
    return x->expire < y->expire ? -1 : x->expire > y->expire;
}

void vclock_step(Clock *c, int64_t ns)
{
    int64_t target = c->now + ns;
    while (c->timers) {
        Timer *t = c->timers->data;
        if (t->expire > target)
            break;
        c->timers = g_list_delete_link(c->timers, c->timers);
        t->pending = false;
        if (t->expire > c->now)
            c->now = t->expire;
        t->cb(t->opaque);
    }
    c->now = target;
}

static gboolean timer_dispatch(GSource *src, GSourceFunc cb, gpointer data)
{
    Timer *t = ((TimerSource *)src)->timer;
    g_source_set_ready_time(src, -1);
    if (t->pending && clock_ns(t->clock) >= t->expire) {
        t->pending = false;
        t->cb(t->opaque);
    } else if (t->pending) {
        g_source_set_ready_time(src, (t->expire + 999) / 1000);
    }
    return G_SOURCE_CONTINUE;
}

static GSourceFuncs timer_funcs = { .dispatch = timer_dispatch };

Timer *timer_new(Clock *c, TimerCb *cb, void *opaque)
{
    Timer *t = g_new0(Timer, 1);
    t->clock = c;
    t->cb = cb;
    t->opaque = opaque;
    if (!c->virtual_clock) {
        t->source = g_source_new(&timer_funcs, sizeof(TimerSource));
        ((TimerSource *)t->source)->timer = t;
        g_source_set_ready_time(t->source, -1);
        g_source_attach(t->source, g_main_context_default());
    }
    return t;
}

void timer_del(Timer *t)
{
    if (!t->pending)
        return;
    t->pending = false;
    if (t->clock->virtual_clock)
        t->clock->timers = g_list_remove(t->clock->timers, t);
    else
        g_source_set_ready_time(t->source, -1);
}

void timer_mod(Timer *t, int64_t expire_ns)
{
    timer_del(t);
    t->expire = expire_ns;
    t->pending = true;
    if (t->clock->virtual_clock) {
        t->clock->timers = g_list_insert_sorted(t->clock->timers, t, timer_cmp);
    } else {
        /* CLOCK_MONOTONIC and g_get_monotonic_time() share an epoch on Linux. */
        g_source_set_ready_time(t->source, (expire_ns + 999) / 1000);
    }
}

bool timer_pending(const Timer *t) { return t->pending; }

void timer_free(Timer *t)
{
    if (!t)
        return;
    timer_del(t);
    if (t->source) {
        g_source_destroy(t->source);
        g_source_unref(t->source);
    }
    g_free(t);
}

void bql_cond_wait(pthread_cond_t *cond)
{
    g_assert(bql_held);
    bql_held = false;
    pthread_cond_wait(cond, &bql);
    bql_held = true;
}
