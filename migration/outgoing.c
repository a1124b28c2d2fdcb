/*
 * The source side of a live migration (pre-copy), on its own thread:
 *
 *   setup      connect (and the multifd channels), start dirty logging with every page
 *              dirty, send the header and CONFIG; on a socket, wait for the
 *              destination's CONFIG_OK, so a machine that differs is refused at once.
 *   iterate    send the dirty pages, harvest the dirty log; again until what is left
 *              fits downtime-limit at the bandwidth measured in the last pass
 *              (auto-converge throttles the vCPUs when a pass dirties more than it sent).
 *   complete   stop the VM, drain the disks and hand them over, read every section's
 *              state, send the rest of RAM and the state, END; on a socket, wait for
 *              DONE; on exec:, wait for the command to exit with status 0 (it alone
 *              knows whether the stream was stored). Any failure or migrate_cancel
 *              before that gives the disks back and resumes the VM: the source keeps
 *              running unchanged.
 */
#include "migration.h"
#include "vireo/drive.h"
#include "vireo/kvm.h"
#include "vireo/runstate.h"
#include <signal.h>
#include <string.h>
#include <unistd.h>

#define MAX_PASSES 60

typedef struct MainStep {
    MigrationState *s;
    GError *err;
    bool ok;
    GByteArray *devices;
    uint64_t dirty;
    bool refused;                   /* the machine is shutting down: @fn did not run */
} MainStep;

static int64_t now_ms(void) { return g_get_monotonic_time() / 1000; }
static bool on_main(MigrationState *s, gboolean (*fn)(gpointer), MainStep *st, GError **errp);

/* ---- steps on the main thread ------------------------------------------------------------ */

static gboolean setup_main(gpointer opaque)
{
    MainStep *st = opaque;
    MigrationState *s = st->s;
    Machine *m = s->m;
    s->secs = mig_sections(m);
    mig_ram_dirty_begin(m);
    s->dirty_tracking = true;
    int e = as_log_start(m->sysmem);
    if (e < 0) {
        g_set_error(&st->err, G_IO_ERROR, G_IO_ERROR_FAILED,
                    "dirty logging could not be started: %s", g_strerror(-e));
        return G_SOURCE_REMOVE;
    }
    st->ok = true;
    return G_SOURCE_REMOVE;
}

static gboolean sync_main(gpointer opaque)
{
    MainStep *st = opaque;
    int64_t n = mig_ram_sync(st->s->m, false);
    st->ok = n >= 0;
    st->dirty = n < 0 ? 0 : n;
    if (n < 0)
        g_set_error(&st->err, G_IO_ERROR, G_IO_ERROR_FAILED, "reading the dirty log: %s",
                    g_strerror(-n));
    return G_SOURCE_REMOVE;
}

static gboolean stop_main(gpointer opaque)
{
    MainStep *st = opaque;
    MigrationState *s = st->s;
    s->vm_was_running = runstate_is_running(s->m);
    s->prev_state = runstate_get(s->m);
    s->downtime_start = now_ms();
    vm_stop(s->m, RUN_STATE_FINISH_MIGRATE);
    if (!runstate_is_running(s->m) && runstate_get(s->m) != RUN_STATE_FINISH_MIGRATE)
        runstate_set(s->m, RUN_STATE_FINISH_MIGRATE);
    st->ok = true;
    return G_SOURCE_REMOVE;
}

/* VM stopped: disks drained and handed over, the last dirty pages, every section. */
static gboolean complete_main(gpointer opaque)
{
    MainStep *st = opaque;
    MigrationState *s = st->s;
    Machine *m = s->m;
    mig_quiesce_drives(m);
    /* A request that failed meanwhile (or while the VM ran) and waits for a retry does
     * not travel: refuse (the VM stays as it was, the request waits for 'cont'). */
    if (!drives_check_no_retry(m, "Migration", &st->err))
        return G_SOURCE_REMOVE;
    if (!mig_drives_inactivate(m, &st->err))
        return G_SOURCE_REMOVE;
    s->drives_inactive = true;
    int64_t n = mig_ram_sync(m, true);
    if (n < 0) {
        g_set_error(&st->err, G_IO_ERROR, G_IO_ERROR_FAILED, "reading the dirty log: %s",
                    g_strerror(-n));
        return G_SOURCE_REMOVE;
    }
    st->dirty = n;
    st->devices = g_byte_array_new();
    st->ok = mig_save_sections(m, s->secs, st->devices, &st->err);
    return G_SOURCE_REMOVE;
}

/* After DONE: the VM lives on the destination. */
static gboolean finish_main(gpointer opaque)
{
    MainStep *st = opaque;
    MigrationState *s = st->s;
    if (s->m->kvm)
        kvm_set_throttle(s->m->kvm, 0);
    mig_ram_dirty_end(s->m);
    s->dirty_tracking = false;
    runstate_set(s->m, RUN_STATE_POSTMIGRATE);
    s->postmigrate = true;
    return G_SOURCE_REMOVE;
}

static gboolean activate_main(gpointer opaque)
{
    MainStep *st = opaque;
    st->ok = mig_drives_activate(st->s->m, &st->err);
    if (st->ok)
        st->s->drives_inactive = false;
    return G_SOURCE_REMOVE;
}

/* A destination that refused the stream may still be closing the images it opened:
 * the disks are taken back with a few tries, waiting on this thread. */
static void take_disks_back(MigrationState *s)
{
    MainStep st;
    for (int i = 0; s->drives_inactive && i < 50; i++) {
        if (on_main(s, activate_main, &st, NULL) || st.refused)
            return;
        g_usleep(100000);
    }
}

/* Failure or cancel: everything as before the migration. */
static gboolean undo_main(gpointer opaque)
{
    MainStep *st = opaque;
    MigrationState *s = st->s;
    Machine *m = s->m;
    GError *err = NULL;
    if (m->kvm)
        kvm_set_throttle(m->kvm, 0);
    mig_ram_dirty_end(m);
    s->dirty_tracking = false;
    if (s->drives_inactive && mig_drives_activate(m, &err))
        s->drives_inactive = false;
    if (s->drives_inactive) {
        g_printerr("vireo: migration failed and the disks cannot be taken back: %s; the VM "
                   "stays paused\n", err->message);
        g_clear_error(&err);
        s->vm_was_running = false;
    }
    g_clear_error(&err);
    if (runstate_get(m) == RUN_STATE_FINISH_MIGRATE) {
        runstate_set(m, s->vm_was_running ? RUN_STATE_PAUSED : s->prev_state);
        if (s->vm_was_running)
            vm_start(m);
    }
    return G_SOURCE_REMOVE;
}

static bool on_main(MigrationState *s, gboolean (*fn)(gpointer), MainStep *st, GError **errp)
{
    *st = (MainStep){ .s = s };
    if (!mig_run_on_main(s, fn, st)) {
        st->refused = true;
        g_set_error(&st->err, G_IO_ERROR, G_IO_ERROR_CANCELLED,
                    "the machine is shutting down");
    }
    if (!st->ok && st->err)
        g_propagate_error(errp, st->err);
    return st->ok;
}

/* ---- the return path ----------------------------------------------------------------------- */

/* Waits for the destination's word: @want, or an error it explains. */
static bool await_reply(MigrationState *s, int want, GError **errp)
{
    MigChannel *c = s->main;
    uint64_t type, len;
    if (!mc_get_le(c, &type, 1) || !mc_get_le(c, &len, 4)) {
        g_set_error(errp, G_IO_ERROR, G_IO_ERROR_BROKEN_PIPE, "the destination closed the "
                    "connection without a reply (%s)", c->errmsg ? c->errmsg : "");
        return false;
    }
    if (len > MIG_MAX_RP_MESSAGE) {
        g_set_error(errp, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                    "the destination's reply is malformed");
        return false;
    }
    g_autofree char *msg = g_malloc0(len + 1);
    if (!mc_get(c, msg, len)) {
        mc_set_error(c, errp);
        return false;
    }
    if (type == (uint64_t)want)
        return true;
    g_set_error(errp, G_IO_ERROR, G_IO_ERROR_FAILED, "the destination refused the "
                "migration: %s", type == MIG_RP_ERROR ? msg : "unexpected reply");
    return false;
}

/* A write failed: the destination may have said why before it closed. */
static void explain_failure(MigrationState *s, GError **errp)
{
    if (!s->main->is_socket || s->cancel || !mc_readable(s->main, 200))
        return;
    MigChannel *c = s->main;
    c->error = 0;
    GError *why = NULL;
    if (!await_reply(s, -1, &why) && why && strstr(why->message, "refused")) {
        g_clear_error(errp);
        g_propagate_error(errp, why);
        return;
    }
    g_clear_error(&why);
}

/* ---- statistics ----------------------------------------------------------------------------- */

static void account(MigrationState *s, const MigRamStats *r, uint64_t bytes, bool downtime)
{
    g_mutex_lock(&s->lock);
    s->st.duplicate += r->zero_pages;
    s->st.normal += r->normal_pages;
    s->st.normal_bytes += r->normal_pages * RAM_PAGE_SIZE;
    s->st.transferred += bytes;
    if (downtime)
        s->st.downtime_bytes += bytes;
    else
        s->st.precopy_bytes += bytes;
    if (s->nmfd)
        s->st.multifd_bytes += bytes;
    g_mutex_unlock(&s->lock);
}

static uint64_t channel_bytes(MigrationState *s)
{
    uint64_t n = s->main->bytes;
    for (unsigned i = 0; i < s->nmfd; i++)
        n += s->mfd[i]->bytes;
    return n;
}

/* ---- multifd: one thread per channel, one pass at a time ------------------------------------- */

typedef struct MfdWorker {
    MigrationState *s;
    unsigned idx;
    GThread *thread;
} MfdWorker;

static gpointer mfd_thread(gpointer opaque)
{
    MfdWorker *w = opaque;
    MigrationState *s = w->s;
    unsigned gen = 0;
    for (;;) {
        g_mutex_lock(&s->mfd_lock);
        while (s->mfd_gen == gen && !s->cancel)
            g_cond_wait(&s->mfd_cond, &s->mfd_lock);
        gen = s->mfd_gen;
        bool last = s->mfd_last;
        g_mutex_unlock(&s->mfd_lock);
        MigRamStats r = { 0 };
        if (!s->cancel) {
            mig_ram_send(s->m, s->mfd[w->idx], w->idx, s->nmfd, &s->cancel, &r);
            if (last)
                mig_put_end(s->mfd[w->idx]);
            else
                mc_flush(s->mfd[w->idx]);
        }
        g_mutex_lock(&s->mfd_lock);
        s->mfd_pass_stats.zero_pages += r.zero_pages;
        s->mfd_pass_stats.normal_pages += r.normal_pages;
        s->mfd_done++;
        g_cond_broadcast(&s->mfd_cond);
        g_mutex_unlock(&s->mfd_lock);
        if (last || s->cancel)
            return NULL;
    }
}

/* Sends one pass of dirty pages on the main channel or the multifd channels. */
static bool send_pass(MigrationState *s, bool last, MigRamStats *r)
{
    if (!s->nmfd) {
        mig_ram_send(s->m, s->main, 0, 1, &s->cancel, r);
        return mc_flush(s->main);
    }
    g_mutex_lock(&s->mfd_lock);
    s->mfd_done = 0;
    s->mfd_last = last;
    s->mfd_pass_stats = (MigRamStats){ 0 };
    s->mfd_gen++;
    g_cond_broadcast(&s->mfd_cond);
    while (s->mfd_done < s->nmfd)
        g_cond_wait(&s->mfd_cond, &s->mfd_lock);
    *r = s->mfd_pass_stats;
    g_mutex_unlock(&s->mfd_lock);
    for (unsigned i = 0; i < s->nmfd; i++)
        if (mc_failed(s->mfd[i]))
            return false;
    return !s->cancel;
}

static bool start_multifd(MigrationState *s, uint64_t session, GError **errp)
{
    if (!s->caps[MIGRATION_CAPABILITY_MULTIFD])
        return true;
    if (s->uri.kind != MT_TCP && s->uri.kind != MT_UNIX) {
        g_set_error(errp, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED,
                    "multifd is not supported by current protocol (tcp: and unix: only)");
        return false;
    }
    for (unsigned i = 0; i < s->p.multifd_channels; i++) {
        int fd = mig_connect(&s->uri, NULL, s->wake_fd, errp);
        if (fd < 0)
            return false;
        MigChannel *c = mc_new(fd, s->uri.text);
        mc_set_cancel(c, &s->cancel, s->wake_fd);
        c->rate = &s->rate;
        mig_put_mfd_header(c, i, session);
        g_mutex_lock(&s->lock);
        s->mfd[s->nmfd++] = c;
        g_mutex_unlock(&s->lock);
    }
    for (unsigned i = 0; i < s->nmfd; i++) {
        MfdWorker *w = g_new0(MfdWorker, 1);
        *w = (MfdWorker){ .s = s, .idx = i };
        s->mfd_workers[i] = w;
        w->thread = g_thread_new("mig-multifd", mfd_thread, w);
    }
    return true;
}

static void stop_multifd(MigrationState *s)
{
    g_mutex_lock(&s->mfd_lock);
    s->mfd_gen++;
    g_cond_broadcast(&s->mfd_cond);
    g_mutex_unlock(&s->mfd_lock);
    for (unsigned i = 0; i < s->nmfd; i++) {
        if (s->mfd_workers[i]) {
            mc_shutdown(s->mfd[i]);
            g_thread_join(s->mfd_workers[i]->thread);
            g_free(s->mfd_workers[i]);
            s->mfd_workers[i] = NULL;
        }
    }
}

/* ---- auto-converge ------------------------------------------------------------------------------ */

typedef struct ThrottleStep {
    MigrationState *s;
    unsigned pct;
} ThrottleStep;

static gboolean throttle_main(gpointer opaque)
{
    ThrottleStep *t = opaque;
    if (t->s->m->kvm)
        kvm_set_throttle(t->s->m->kvm, t->pct);
    return G_SOURCE_REMOVE;
}

/* QEMU's rule: when a pass dirtied more than throttle-trigger-threshold percent of what
 * it sent, twice, throttle (cpu-throttle-initial, then +cpu-throttle-increment, at most
 * max-cpu-throttle). */
static void auto_converge(MigrationState *s, uint64_t dirtied, uint64_t sent)
{
    if (!s->caps[MIGRATION_CAPABILITY_AUTO_CONVERGE] || !s->m->kvm)
        return;
    if (dirtied * 100 <= sent * s->p.throttle_trigger_threshold) {
        s->dirty_rate_high = 0;
        return;
    }
    if (++s->dirty_rate_high < 2)
        return;
    s->dirty_rate_high = 0;
    unsigned pct = s->st.throttle ? s->st.throttle + s->p.cpu_throttle_increment
                                  : s->p.cpu_throttle_initial;
    pct = MIN(pct, s->p.max_cpu_throttle);
    ThrottleStep t = { s, pct };
    mig_run_on_main(s, throttle_main, &t);
    g_mutex_lock(&s->lock);
    s->st.throttle = pct;
    g_mutex_unlock(&s->lock);
}

/* ---- the phases ---------------------------------------------------------------------------------- */

static bool phase_setup(MigrationState *s, GError **errp)
{
    MainStep st;
    MigChild *child = NULL;
    int fd = mig_connect(&s->uri, &child, s->wake_fd, errp);
    if (fd < 0)
        return false;
    MigChannel *c = mc_new(fd, s->uri.text);
    mc_set_cancel(c, &s->cancel, s->wake_fd);
    c->rate = &s->rate;
    g_mutex_lock(&s->lock);
    s->main = c;
    s->child = child;
    g_mutex_unlock(&s->lock);
    uint64_t session = g_random_int() | (uint64_t)g_random_int() << 32;
    if (!start_multifd(s, session, errp) || !on_main(s, setup_main, &st, errp))
        return false;
    uint32_t flags = (s->main->is_socket ? MIG_F_RETURN_PATH : 0) |
                     (s->nmfd ? MIG_F_MULTIFD : 0) |
                     (s->uri.kind == MT_FILE ? MIG_F_MAPPED_RAM : 0);
    mig_put_header(s->main, flags, s->nmfd, session);
    mig_put_config(s->main, s->m, s->secs, flags);
    if (flags & MIG_F_MAPPED_RAM)
        mig_mapped_new(s->m, s->main);
    for (unsigned i = 0; i < s->nmfd; i++)
        mc_flush(s->mfd[i]);
    if (!mc_flush(s->main)) {
        mc_set_error(s->main, errp);
        return false;
    }
    if (s->main->is_socket && !await_reply(s, MIG_RP_CONFIG_OK, errp))
        return false;
    g_mutex_lock(&s->lock);
    s->st.setup_time = now_ms() - s->start_ms;
    g_mutex_unlock(&s->lock);
    return true;
}

static void pass_stats(MigrationState *s, uint64_t dirty, uint64_t bytes, int64_t ms,
                       uint64_t pages)
{
    g_mutex_lock(&s->lock);
    s->st.dirty_sync_count++;
    s->st.remaining = dirty * RAM_PAGE_SIZE;
    s->st.mbps = ms > 0 ? bytes * 8.0 / 1000.0 / ms : s->st.mbps;
    s->st.pages_per_second = ms > 0 ? pages * 1000 / ms : 0;
    s->st.dirty_pages_rate = ms > 0 ? dirty * 1000 / ms : 0;
    double bw = s->st.mbps * 1000.0 / 8.0;          /* bytes per ms */
    s->st.expected_downtime = bw > 0 ? (int64_t)(s->st.remaining / bw) : s->p.downtime_limit;
    g_mutex_unlock(&s->lock);
}

/* Pre-copy passes until the rest fits the downtime limit. */
static bool phase_iterate(MigrationState *s, GError **errp)
{
    MainStep st;
    uint64_t prev_dirty = UINT64_MAX;
    for (int pass = 1; pass <= MAX_PASSES; pass++) {
        mig_emit_pass(s, pass);
        int64_t t0 = now_ms();
        uint64_t b0 = channel_bytes(s);
        MigRamStats r = { 0 };
        bool ok = send_pass(s, false, &r);
        mc_put_le(s->main, MIG_R_PASS, 1);
        mc_put_le(s->main, pass, 4);
        if (!ok || !mc_flush(s->main))
            return false;
        uint64_t bytes = channel_bytes(s) - b0;
        account(s, &r, bytes, false);
        if (!on_main(s, sync_main, &st, errp))
            return false;
        int64_t ms = now_ms() - t0;
        pass_stats(s, st.dirty, bytes, ms, r.zero_pages + r.normal_pages);
        g_mutex_lock(&s->lock);
        int64_t expected = s->st.expected_downtime;
        g_mutex_unlock(&s->lock);
        /* Stop when the rest fits the limit; below a third of it only while passes
         * still shrink it (a shorter downtime for a few more short passes). */
        bool fits = expected <= (int64_t)s->p.downtime_limit;
        bool shrinking = st.dirty * 10 < prev_dirty * 9;
        if (fits && (expected * 3 <= (int64_t)s->p.downtime_limit || !shrinking || pass > 8))
            return true;
        prev_dirty = st.dirty;
        auto_converge(s, st.dirty * RAM_PAGE_SIZE, bytes);
        if (s->cancel)
            return false;
    }
    return true;
}

/* Waits for migrate-continue (pause-before-switchover) or a cancel. */
static bool wait_continue(MigrationState *s)
{
    if (!s->caps[MIGRATION_CAPABILITY_PAUSE_BEFORE_SWITCHOVER])
        return true;
    mig_set_status(s, MIGRATION_STATUS_PRE_SWITCHOVER);
    g_mutex_lock(&s->cont_lock);
    while (!s->cont && !s->cancel)
        g_cond_wait(&s->cont_cond, &s->cont_lock);
    s->cont = false;
    g_mutex_unlock(&s->cont_lock);
    if (s->cancel)
        return false;
    mig_set_status(s, MIGRATION_STATUS_DEVICE);
    return true;
}

static bool phase_complete(MigrationState *s, GError **errp)
{
    MainStep st;
    if (!on_main(s, stop_main, &st, errp))
        return false;
    if (!wait_continue(s))
        return false;
    if (!on_main(s, complete_main, &st, errp))
        return false;
    g_autoptr(GByteArray) devices = st.devices;
    mig_rate_set(&s->rate, 0);                  /* the VM is stopped: full speed */
    uint64_t b0 = channel_bytes(s);
    MigRamStats r = { 0 };
    bool ok = send_pass(s, true, &r);
    mc_put(s->main, devices->data, devices->len);
    if (!ok || !mig_put_end(s->main))
        return false;
    account(s, &r, channel_bytes(s) - b0, true);
    if (s->main->is_socket && !await_reply(s, MIG_RP_DONE, errp))
        return false;
    g_mutex_lock(&s->lock);
    s->st.downtime = now_ms() - s->downtime_start;
    s->st.remaining = 0;
    g_mutex_unlock(&s->lock);
    return true;
}

/* Takes the channels out of s (under the lock migrate_cancel shuts them down with)
 * and frees them: exec:'s command sees the end of its input. */
static void release_channels(MigrationState *s)
{
    g_mutex_lock(&s->lock);
    MigChannel *main = s->main, *mfd[MIG_MAX_CHANNELS];
    unsigned n = s->nmfd;
    memcpy(mfd, s->mfd, sizeof(mfd));
    s->main = NULL;
    s->nmfd = 0;
    g_mutex_unlock(&s->lock);
    mc_free(main);
    for (unsigned i = 0; i < n; i++)
        mc_free(mfd[i]);
}

/* exec: the command's exit status decides, once it has read the whole stream (its
 * input closed). After a failure its status, if non-zero, explains the failure (a
 * broken pipe says little); one that has not exited within 5 s then, or when the
 * migration is cancelled, is terminated. The main loop reaps the process either way. */
static bool exec_result(MigrationState *s, bool ok, GError **errp)
{
    g_mutex_lock(&s->lock);
    MigChild *ch = s->child;
    s->child = NULL;
    g_mutex_unlock(&s->lock);
    if (!ch)
        return ok;
    int status;
    bool exited = mig_child_wait(ch, &s->cancel, ok ? -1 : 5000, &status);
    if (!exited)                                /* a failure, or cancelled */
        mig_child_kill(ch, SIGTERM);
    bool failed = exited && mig_child_error(ch, status, errp);
    mig_child_unref(ch);
    if (!exited)
        return ok && !s->cancel;
    return ok && !failed;
}

static gpointer outgoing_thread(gpointer opaque)
{
    MigrationState *s = opaque;
    GError *err = NULL;
    MainStep st;
    /* A VM restored lazily from a file has all its RAM before any is sent: the
     * pages the fill thread places are not seen by the dirty log. */
    bool ok = mig_lazy_wait_cancel(s->lazy, &s->cancel) && phase_setup(s, &err);
    if (ok) {
        mig_set_status(s, MIGRATION_STATUS_ACTIVE);
        ok = phase_iterate(s, &err) && !s->cancel && phase_complete(s, &err);
    }
    if (!ok && !err && s->main && mc_failed(s->main))
        mc_set_error(s->main, &err);
    if (!ok && s->main && !s->cancel)
        explain_failure(s, &err);
    if (s->nmfd)
        stop_multifd(s);
    release_channels(s);
    ok = exec_result(s, ok, &err);
    g_mutex_lock(&s->lock);
    s->st.total_time = now_ms() - s->start_ms;
    g_mutex_unlock(&s->lock);
    if (ok) {
        on_main(s, finish_main, &st, NULL);
        mig_set_status(s, MIGRATION_STATUS_COMPLETED);
    } else {
        if (!s->cancel && err)
            mig_set_error(s, err);
        take_disks_back(s);
        on_main(s, undo_main, &st, NULL);
        mig_set_status(s, s->cancel ? MIGRATION_STATUS_CANCELLED : MIGRATION_STATUS_FAILED);
        if (err && !s->cancel)
            g_printerr("vireo: migration failed: %s\n", err->message);
    }
    g_clear_error(&err);
    return NULL;
}

bool mig_outgoing_start(MigrationState *s, const char *uri, GError **errp)
{
    MigUri u;
    if (!mig_uri_parse(uri, &u, errp))
        return false;
    if (s->thread) {
        g_thread_join(s->thread);              /* the last one has ended (status says) */
        s->thread = NULL;
    }
    if (s->secs)
        g_array_free(s->secs, TRUE);
    s->secs = NULL;
    mig_uri_clear(&s->uri);
    s->uri = u;
    s->cancel = 0;
    if (s->wake_fd >= 0) {                      /* a cancel before this one is over */
        uint64_t v;
        while (read(s->wake_fd, &v, sizeof(v)) > 0)
            ;
    }
    s->cont = false;
    s->dirty_rate_high = 0;
    s->drives_inactive = false;
    s->vm_was_running = runstate_is_running(s->m);
    g_mutex_lock(&s->lock);
    memset(&s->st, 0, sizeof(s->st));
    g_clear_pointer(&s->error, g_free);
    s->start_ms = now_ms();
    g_mutex_unlock(&s->lock);
    s->outgoing_started = true;
    mig_rate_set(&s->rate, s->p.max_bandwidth);
    mig_set_status(s, MIGRATION_STATUS_SETUP);
    s->thread = g_thread_new("migration", outgoing_thread, s);
    return true;
}

void mig_outgoing_cancel(MigrationState *s)
{
    mig_wake(s);
    g_mutex_lock(&s->cont_lock);
    g_cond_broadcast(&s->cont_cond);
    g_mutex_unlock(&s->cont_lock);
    g_mutex_lock(&s->mfd_lock);
    g_cond_broadcast(&s->mfd_cond);
    g_mutex_unlock(&s->mfd_lock);
    g_mutex_lock(&s->lock);
    mc_shutdown(s->main);
    for (unsigned i = 0; i < s->nmfd; i++)
        mc_shutdown(s->mfd[i]);
    mig_child_kill(s->child, SIGTERM);
    g_mutex_unlock(&s->lock);
}
