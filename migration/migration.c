/*
 * The migration state of a machine: status, capabilities, parameters, statistics,
 * and the helpers the migration threads use to act on the main thread.
 */
#include "migration.h"
#include "vireo/drive.h"
#include "vireo/runstate.h"
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

static void params_init(MigParams *p)
{
    memset(p, 0, sizeof(*p));
    /* QEMU 7.2's defaults (migration/migration.c). */
    p->announce_initial = 50;
    p->announce_max = 550;
    p->announce_rounds = 5;
    p->announce_step = 100;
    p->throttle_trigger_threshold = 50;
    p->cpu_throttle_initial = 20;
    p->cpu_throttle_increment = 10;
    p->tls_creds = g_strdup("");
    p->tls_hostname = g_strdup("");
    p->tls_authz = g_strdup("");
    p->max_bandwidth = 128ull << 20;
    p->downtime_limit = 300;
    p->multifd_channels = 2;
    p->max_cpu_throttle = 99;
    p->multifd_compression = MULTI_FD_COMPRESSION_NONE;
}

MigrationState *mig_state(Machine *m)
{
    if (m->migration)
        return m->migration;
    MigrationState *s = g_new0(MigrationState, 1);
    s->m = m;
    g_mutex_init(&s->lock);
    g_mutex_init(&s->cont_lock);
    g_mutex_init(&s->mfd_lock);
    g_cond_init(&s->mfd_cond);
    g_cond_init(&s->cont_cond);
    s->status = MIGRATION_STATUS_NONE;
    s->listen_fd = s->data_fd = -1;
    s->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);   /* -1: cancel by flag alone */
    s->uri.fd = s->in_uri.fd = -1;
    s->in_blocks = g_ptr_array_new();
    params_init(&s->p);
    mig_rate_init(&s->rate, s->p.max_bandwidth);
    m->migration = s;
    return s;
}

/* ---- running things on the main thread ------------------------------------------------ */

typedef struct MainCall {
    MigrationState *s;
    gboolean (*fn)(gpointer);
    gpointer opaque;
    guint source;
    GMutex lock;
    GCond cond;
    bool done, ran;
} MainCall;

static gboolean main_call(gpointer data)
{
    MainCall *c = data;
    MigrationState *s = c->s;
    g_mutex_lock(&s->lock);
    s->calls = g_slist_remove(s->calls, c);
    g_mutex_unlock(&s->lock);
    c->fn(c->opaque);
    g_mutex_lock(&c->lock);
    c->done = c->ran = true;
    g_cond_signal(&c->cond);
    g_mutex_unlock(&c->lock);
    return G_SOURCE_REMOVE;
}

bool mig_run_on_main(MigrationState *s, gboolean (*fn)(gpointer), gpointer opaque)
{
    MainCall c = { .s = s, .fn = fn, .opaque = opaque };
    g_assert(!bql_locked());
    g_mutex_lock(&s->lock);             /* before main_call() or a refusal looks for it */
    if (s->closing) {
        g_mutex_unlock(&s->lock);
        return false;
    }
    g_mutex_init(&c.lock);
    g_cond_init(&c.cond);
    c.source = g_idle_add_full(G_PRIORITY_HIGH, main_call, &c, NULL);
    s->calls = g_slist_prepend(s->calls, &c);
    g_mutex_unlock(&s->lock);
    mainloop_wakeup();
    g_mutex_lock(&c.lock);
    while (!c.done)
        g_cond_wait(&c.cond, &c.lock);
    g_mutex_unlock(&c.lock);
    g_mutex_clear(&c.lock);
    g_cond_clear(&c.cond);
    return c.ran;
}

/* Main thread: every request waiting for the main loop, and every later one, is
 * refused; the threads then end without the main loop. */
static void refuse_main_calls(MigrationState *s)
{
    g_mutex_lock(&s->lock);
    s->closing = true;
    for (GSList *l = s->calls; l; l = l->next) {
        MainCall *c = l->data;
        g_source_remove(c->source);
        g_mutex_lock(&c->lock);
        c->done = true;                 /* the waiter may free it once this is unlocked */
        g_cond_signal(&c->cond);
        g_mutex_unlock(&c->lock);
    }
    g_slist_free(s->calls);
    s->calls = NULL;
    g_mutex_unlock(&s->lock);
}

void mig_wake(MigrationState *s)
{
    s->cancel = 1;
    if (s->wake_fd >= 0) {
        uint64_t one = 1;
        if (write(s->wake_fd, &one, sizeof(one)) < 0) {
            /* EAGAIN: the counter is already far from zero */
        }
    }
}

/* ---- status and events -------------------------------------------------------------------- */

typedef struct StatusEvent {
    MigrationState *s;
    MigrationStatus st;
    int64_t pass;
    guint source;
} StatusEvent;

static void send_event(MigrationState *s, MigrationStatus st, int64_t pass)
{
    if (!s->caps[MIGRATION_CAPABILITY_EVENTS])
        return;
    if (pass)
        qapi_event_send_migration_pass(s->m, pass);
    else
        qapi_event_send_migration(s->m, st);
}

static gboolean emit_event(gpointer data)
{
    StatusEvent *e = data;
    MigrationState *s = e->s;
    g_mutex_lock(&s->lock);
    s->events = g_slist_remove(s->events, e);
    g_mutex_unlock(&s->lock);
    send_event(s, e->st, e->pass);
    g_free(e);
    return G_SOURCE_REMOVE;
}

/* Events go out from the main thread, in the order they were raised. One raised on
 * another thread waits in s->events for the main loop (migration_free() drops it). */
static void queue_event(MigrationState *s, MigrationStatus st, int64_t pass)
{
    if (bql_locked() && g_main_context_is_owner(g_main_context_default())) {
        send_event(s, st, pass);
        return;
    }
    StatusEvent *e = g_new0(StatusEvent, 1);
    *e = (StatusEvent){ .s = s, .st = st, .pass = pass };
    g_mutex_lock(&s->lock);             /* before emit_event() looks for it */
    e->source = g_idle_add_full(G_PRIORITY_HIGH, emit_event, e, NULL);
    s->events = g_slist_append(s->events, e);
    g_mutex_unlock(&s->lock);
    mainloop_wakeup();
}

void mig_set_status(MigrationState *s, MigrationStatus st)
{
    g_mutex_lock(&s->lock);
    bool changed = s->status != st;
    s->status = st;
    g_mutex_unlock(&s->lock);
    if (changed)
        queue_event(s, st, 0);
}

void mig_emit_pass(MigrationState *s, int64_t pass)
{
    queue_event(s, 0, pass);
}

void mig_set_error(MigrationState *s, const GError *err)
{
    g_mutex_lock(&s->lock);
    g_free(s->error);
    s->error = g_strdup(err ? err->message : "unknown error");
    g_mutex_unlock(&s->lock);
}

/* ---- disks --------------------------------------------------------------------------------- */

bool mig_drives_inactivate(Machine *m, GError **errp)
{
    return drives_set_active(m, false, errp);
}

bool mig_drives_activate(Machine *m, GError **errp)
{
    return drives_set_active(m, true, errp);
}

/* Cancels what runs and joins the threads: their requests to the main loop are
 * refused first (the main thread is here, not in the loop), every blocking wait of
 * theirs watches the cancel. */
static void stop_threads(MigrationState *s)
{
    mig_outgoing_cancel(s);             /* s->cancel, the wake descriptor, the channels */
    refuse_main_calls(s);
    if (s->thread)
        g_thread_join(s->thread);
    s->thread = NULL;
    if (s->in_thread)
        g_thread_join(s->in_thread);
    s->in_thread = NULL;
    mig_lazy_free(s->lazy);             /* its fill thread; RAM unregistered */
    s->lazy = NULL;
}

void migration_shutdown(Machine *m)
{
    MigrationState *s = m->migration;
    if (s)
        stop_threads(s);
}

void migration_free(Machine *m)
{
    MigrationState *s = m->migration;
    if (!s)
        return;
    /* The threads first: they use the machine's RAM, devices and this state. */
    stop_threads(s);
    if (s->dirty_tracking)              /* the thread could not end it on the main loop */
        mig_ram_dirty_end(m);
    for (GSList *l = s->events; l; l = l->next) {
        StatusEvent *e = l->data;
        g_source_remove(e->source);
        g_free(e);
    }
    g_slist_free(s->events);
    RunstateNotifier n = mig_incoming_notifier(s);
    while (runstate_remove_notifier(m, &n))
        ;
    mig_unlisten(s->listen_fd, &s->in_uri);
    if (s->data_fd >= 0)
        close(s->data_fd);
    if (s->wake_fd >= 0)
        close(s->wake_fd);
    mig_child_unref(s->child);
    mig_child_unref(s->in_child);
    mig_uri_clear(&s->uri);
    mig_uri_clear(&s->in_uri);
    if (s->secs)
        g_array_free(s->secs, TRUE);
    if (s->socket_address)
        g_ptr_array_free(s->socket_address, TRUE);
    g_ptr_array_free(s->in_blocks, TRUE);
    g_free(s->error);
    g_free(s->p.tls_creds);
    g_free(s->p.tls_hostname);
    g_free(s->p.tls_authz);
    g_mutex_clear(&s->rate.lock);
    g_mutex_clear(&s->lock);
    g_mutex_clear(&s->cont_lock);
    g_mutex_clear(&s->mfd_lock);
    g_cond_clear(&s->mfd_cond);
    g_cond_clear(&s->cont_cond);
    g_free(s);
    m->migration = NULL;
}
