/*
 * QMP commands of migration (QEMU 7.2 qapi/migration.json): migrate, migrate-incoming,
 * migrate_cancel, migrate-continue, query-migrate, the capabilities and parameters.
 * Texts of errors are QEMU's where QEMU has one. Main thread, big lock held.
 */
#include "migration.h"
#include "vireo/drive.h"
#include "vireo/kvm.h"
#include "vireo/runstate.h"
#include <string.h>

#define GENERIC(errp, ...) g_set_error(errp, QMP_ERROR, QAPI_ERROR_CLASS_GENERICERROR, __VA_ARGS__)

static bool active(MigrationStatus st)
{
    return st == MIGRATION_STATUS_SETUP || st == MIGRATION_STATUS_ACTIVE ||
           st == MIGRATION_STATUS_CANCELLING || st == MIGRATION_STATUS_PRE_SWITCHOVER ||
           st == MIGRATION_STATUS_DEVICE;
}

static MigrationStatus status_of(MigrationState *s)
{
    g_mutex_lock(&s->lock);
    MigrationStatus st = s->status;
    g_mutex_unlock(&s->lock);
    return st;
}

/* ---- query-migrate ------------------------------------------------------------------------ */

static MigrationStats *ram_stats(MigrationState *s, const MigStats *st, bool done)
{
    MigrationStats *r = g_new0(MigrationStats, 1);
    uint64_t total = 0;
    for (unsigned i = 0; i < ram_block_count(s->m); i++)
        total += ram_block_at(s->m, i)->size;
    r->transferred = st->transferred;
    r->remaining = done ? 0 : st->remaining ? st->remaining : total;
    r->total = total;
    r->duplicate = st->duplicate;
    r->normal = st->normal;
    r->normal_bytes = st->normal_bytes;
    r->dirty_pages_rate = done ? 0 : st->dirty_pages_rate;
    r->mbps = st->mbps;
    r->dirty_sync_count = st->dirty_sync_count;
    r->page_size = RAM_PAGE_SIZE;
    r->multifd_bytes = st->multifd_bytes;
    r->pages_per_second = st->pages_per_second;
    r->precopy_bytes = st->precopy_bytes;
    r->downtime_bytes = st->downtime_bytes;
    return r;
}

MigrationInfo *qmp_query_migrate(Machine *m, GError **errp)
{
    MigrationState *s = mig_state(m);
    MigrationInfo *i = g_new0(MigrationInfo, 1);
    g_mutex_lock(&s->lock);
    MigStats st = s->st;
    MigrationStatus status = s->status;
    i->error_desc = status == MIGRATION_STATUS_FAILED ? g_strdup(s->error) : NULL;
    g_mutex_unlock(&s->lock);
    if (s->socket_address && status == MIGRATION_STATUS_NONE) {
        i->socket_address = g_ptr_array_new_with_free_func(
            (GDestroyNotify)qapi_free_MigrationSocketAddress);
        for (guint k = 0; k < s->socket_address->len; k++) {
            MigrationSocketAddress *a = s->socket_address->pdata[k], *b = g_new0(MigrationSocketAddress, 1);
            *b = (MigrationSocketAddress){ g_strdup(a->type), g_strdup(a->path),
                                           g_strdup(a->host), g_strdup(a->port), NULL };
            g_ptr_array_add(i->socket_address, b);
        }
    }
    if (status == MIGRATION_STATUS_NONE)
        return i;
    i->has_status = true;
    i->status = status;
    /* The destination reports only its status; a VM that came in and is now migrating
     * out (or has) reports as a source. */
    if (s->incoming_started && !s->outgoing_started)
        return i;
    bool done = status == MIGRATION_STATUS_COMPLETED;
    if (status != MIGRATION_STATUS_SETUP)
        i->ram = ram_stats(s, &st, done);
    i->has_setup_time = status != MIGRATION_STATUS_SETUP;
    i->setup_time = st.setup_time;
    i->has_total_time = true;
    i->total_time = active(status) ? g_get_monotonic_time() / 1000 - s->start_ms : st.total_time;
    if (done) {
        i->has_downtime = true;
        i->downtime = st.downtime;
    } else if (active(status)) {
        i->has_expected_downtime = true;
        i->expected_downtime = st.expected_downtime ? st.expected_downtime
                                                    : (int64_t)s->p.downtime_limit;
    }
    if (st.throttle && active(status)) {
        i->has_cpu_throttle_percentage = true;
        i->cpu_throttle_percentage = st.throttle;
    }
    return i;
}

/* ---- capabilities ------------------------------------------------------------------------ */

static bool cap_supported(MigrationCapability c)
{
    switch (c) {
    case MIGRATION_CAPABILITY_AUTO_CONVERGE:
    case MIGRATION_CAPABILITY_ZERO_BLOCKS:      /* only meaningful with block migration */
    case MIGRATION_CAPABILITY_EVENTS:
    case MIGRATION_CAPABILITY_RETURN_PATH:      /* sockets always have one */
    case MIGRATION_CAPABILITY_PAUSE_BEFORE_SWITCHOVER:
    case MIGRATION_CAPABILITY_MULTIFD:
    case MIGRATION_CAPABILITY_LATE_BLOCK_ACTIVATE:
    case MIGRATION_CAPABILITY_VALIDATE_UUID:
        return true;
    default:
        return false;
    }
}

void qmp_migrate_set_capabilities(Machine *m, GPtrArray *caps, GError **errp)
{
    MigrationState *s = mig_state(m);
    if (active(status_of(s))) {
        GENERIC(errp, "There's a migration process in progress");
        return;
    }
    for (guint i = 0; i < caps->len; i++) {
        MigrationCapabilityStatus *c = caps->pdata[i];
        if (c->state && !cap_supported(c->capability)) {
            GENERIC(errp, "Migration capability '%s' is not supported by Vireo",
                    MigrationCapability_str[c->capability]);
            return;
        }
    }
    for (guint i = 0; i < caps->len; i++) {
        MigrationCapabilityStatus *c = caps->pdata[i];
        s->caps[c->capability] = c->state;
    }
}

GPtrArray *qmp_query_migrate_capabilities(Machine *m, GError **errp)
{
    MigrationState *s = mig_state(m);
    GPtrArray *a = g_ptr_array_new_with_free_func(
        (GDestroyNotify)qapi_free_MigrationCapabilityStatus);
    for (int c = 0; c < QAPI_COUNT_MigrationCapability; c++) {
        MigrationCapabilityStatus *e = g_new0(MigrationCapabilityStatus, 1);
        e->capability = c;
        e->state = s->caps[c];
        g_ptr_array_add(a, e);
    }
    return a;
}

/* ---- parameters --------------------------------------------------------------------------- */

MigrationParameters *qmp_query_migrate_parameters(Machine *m, GError **errp)
{
    MigParams *p = &mig_state(m)->p;
    MigrationParameters *r = g_new0(MigrationParameters, 1);
#define SET(f) do { r->has_##f = true; r->f = p->f; } while (0)
    SET(announce_initial); SET(announce_max); SET(announce_rounds); SET(announce_step);
    SET(throttle_trigger_threshold); SET(cpu_throttle_initial); SET(cpu_throttle_increment);
    SET(cpu_throttle_tailslow); SET(max_bandwidth); SET(downtime_limit);
    SET(multifd_channels); SET(max_cpu_throttle); SET(multifd_compression);
#undef SET
    r->tls_creds = g_strdup(p->tls_creds);
    r->tls_hostname = g_strdup(p->tls_hostname);
    r->tls_authz = g_strdup(p->tls_authz);
    return r;
}

static bool range(GError **errp, bool has, uint64_t v, uint64_t lo, uint64_t hi,
                  const char *msg)
{
    if (has && (v < lo || v > hi)) {
        GENERIC(errp, "%s", msg);
        return false;
    }
    return true;
}

void qmp_migrate_set_parameters(Machine *m, bool has_announce_initial, uint64_t announce_initial,
    bool has_announce_max, uint64_t announce_max, bool has_announce_rounds,
    uint64_t announce_rounds, bool has_announce_step, uint64_t announce_step,
    bool has_throttle_trigger_threshold, uint8_t throttle_trigger_threshold,
    bool has_cpu_throttle_initial, uint8_t cpu_throttle_initial,
    bool has_cpu_throttle_increment, uint8_t cpu_throttle_increment,
    bool has_cpu_throttle_tailslow, bool cpu_throttle_tailslow, const char *tls_creds,
    const char *tls_hostname, const char *tls_authz, bool has_max_bandwidth,
    uint64_t max_bandwidth, bool has_downtime_limit, uint64_t downtime_limit,
    bool has_multifd_channels, uint8_t multifd_channels, bool has_max_cpu_throttle,
    uint8_t max_cpu_throttle, bool has_multifd_compression,
    MultiFDCompression multifd_compression, GError **errp)
{
    MigrationState *s = mig_state(m);
    MigParams *p = &s->p;
    /* QEMU's checks and texts (migration/migration.c, migrate_params_check). */
    uint8_t initial = has_cpu_throttle_initial ? cpu_throttle_initial : p->cpu_throttle_initial;
    if (!range(errp, has_throttle_trigger_threshold, throttle_trigger_threshold, 1, 100,
               "Parameter 'throttle_trigger_threshold' expects an integer in the range of "
               "1 to 100") ||
        !range(errp, has_cpu_throttle_initial, cpu_throttle_initial, 1, 99,
               "Parameter 'cpu_throttle_initial' expects an integer in the range of 1 to 99") ||
        !range(errp, has_cpu_throttle_increment, cpu_throttle_increment, 1, 99,
               "Parameter 'cpu_throttle_increment' expects an integer in the range of 1 to 99") ||
        !range(errp, has_max_bandwidth, max_bandwidth, 0, SIZE_MAX / 1000,
               "Parameter 'max_bandwidth' expects an integer in the range of 0 to "
               "18446744073709551 bytes/second") ||
        !range(errp, has_downtime_limit, downtime_limit, 0, 2000 * 1000,
               "Parameter 'downtime_limit' expects an integer in the range of 0 to "
               "(2000 * 1000) ms") ||
        !range(errp, has_multifd_channels, multifd_channels, 1, 255,
               "Parameter 'multifd_channels' expects a value between 1 and 255") ||
        !range(errp, has_max_cpu_throttle, max_cpu_throttle, initial, 99,
               "Parameter 'max_cpu_throttle' expects an integer in the range of "
               "cpu_throttle_initial to 99") ||
        !range(errp, has_announce_initial, announce_initial, 1, 100000,
               "Parameter 'announce_initial' expects an integer in the range of 1 to 100000 ms") ||
        !range(errp, has_announce_max, announce_max, 1, 100000,
               "Parameter 'announce_max' expects an integer in the range of 1 to 100000 ms") ||
        !range(errp, has_announce_rounds, announce_rounds, 1, 1000,
               "Parameter 'announce_rounds' expects an integer in the range of 1 to 1000 rounds") ||
        !range(errp, has_announce_step, announce_step, 1, 10000,
               "Parameter 'announce_step' expects an integer in the range of 1 to 10000 ms"))
        return;
    const char *tls[] = { tls_creds, tls_hostname, tls_authz };
    const char *names[] = { "tls-creds", "tls-hostname", "tls-authz" };
    for (int i = 0; i < 3; i++) {
        if (tls[i] && *tls[i]) {
            GENERIC(errp, "Parameter '%s': Vireo has no TLS for migration (only \"\")",
                    names[i]);
            return;
        }
    }
    if (has_multifd_compression && multifd_compression != MULTI_FD_COMPRESSION_NONE) {
        GENERIC(errp, "Parameter 'multifd-compression': Vireo sends pages uncompressed "
                "(only 'none')");
        return;
    }
#define APPLY(f) do { if (has_##f) p->f = f; } while (0)
    APPLY(announce_initial); APPLY(announce_max); APPLY(announce_rounds); APPLY(announce_step);
    APPLY(throttle_trigger_threshold); APPLY(cpu_throttle_initial);
    APPLY(cpu_throttle_increment); APPLY(cpu_throttle_tailslow); APPLY(max_bandwidth);
    APPLY(downtime_limit); APPLY(multifd_channels); APPLY(max_cpu_throttle);
#undef APPLY
    /* QEMU applies a new bandwidth to a running migration at once. */
    if (has_max_bandwidth && status_of(s) == MIGRATION_STATUS_ACTIVE)
        mig_rate_set(&s->rate, max_bandwidth);
}

/* ---- migrate, migrate_cancel, migrate-continue, migrate-incoming --------------------------- */

void qmp_migrate(Machine *m, const char *uri, bool has_blk, bool blk, bool has_inc, bool inc,
                 bool has_detach, bool detach, bool has_resume, bool resume, GError **errp)
{
    if ((has_blk && blk) || (has_inc && inc)) {
        GENERIC(errp, "Block migration (blk/inc) is not supported by Vireo: share the "
                "images between the hosts");
        return;
    }
    if (has_resume && resume) {
        GENERIC(errp, "Cannot resume if there is no paused migration");
        return;
    }
    /* A request kept for a retry after an I/O error cannot travel (drive.h). */
    if (!drives_check_no_retry(m, "Migration", errp))
        return;
    MigrationState *s = mig_state(m);
    if (active(status_of(s))) {
        GENERIC(errp, "There's a migration process in progress");
        return;
    }
    if (runstate_get(m) == RUN_STATE_POSTMIGRATE) {
        GENERIC(errp, "Can't migrate the vm that was paused due to previous migration");
        return;
    }
    if (migration_incoming_pending(m)) {
        GENERIC(errp, "Guest is waiting for an incoming migration");
        return;
    }
    if (s->snapshot_busy) {
        GENERIC(errp, "A snapshot is being saved or loaded");
        return;
    }
    mig_outgoing_start(s, uri, errp);
}

void qmp_migrate_cancel(Machine *m, GError **errp)
{
    MigrationState *s = mig_state(m);
    MigrationStatus st = status_of(s);
    if (!active(st) || (s->incoming_started && !s->outgoing_started))
        return;                             /* QEMU: nothing to cancel is not an error */
    mig_set_status(s, MIGRATION_STATUS_CANCELLING);
    mig_outgoing_cancel(s);
}

void qmp_migrate_continue(Machine *m, MigrationStatus state, GError **errp)
{
    MigrationState *s = mig_state(m);
    MigrationStatus st = status_of(s);
    if (st != state) {
        GENERIC(errp, "Migration not in expected state: %s", MigrationStatus_str[st]);
        return;
    }
    g_mutex_lock(&s->cont_lock);
    s->cont = true;
    g_cond_broadcast(&s->cont_cond);
    g_mutex_unlock(&s->cont_lock);
}

void qmp_migrate_incoming(Machine *m, const char *uri, GError **errp)
{
    MigrationState *s = mig_state(m);
    if (!s->incoming) {
        GENERIC(errp, "'-incoming' was not specified on the command line");
        return;
    }
    if (s->incoming_started) {
        GENERIC(errp, "The incoming migration has already been started");
        return;
    }
    mig_incoming_start(s, uri, errp);
}

/* ---- start-up ------------------------------------------------------------------------------- */

/* late-block-activate: the disks are taken over when the VM first runs. */
static void on_resume(void *opaque)
{
    MigrationState *s = opaque;
    GError *err = NULL;
    if (!s->drives_pending)
        return;
    s->drives_pending = false;
    if (!mig_drives_activate(s->m, &err)) {
        g_printerr("vireo: taking over the disks after the migration: %s\n", err->message);
        g_error_free(err);
    }
}

RunstateNotifier mig_incoming_notifier(MigrationState *s)
{
    return (RunstateNotifier){ .resumed = on_resume, .opaque = s };
}

bool migration_incoming_init(Machine *m, const char *uri, GError **errp)
{
    MigrationState *s = mig_state(m);
    s->incoming = true;
    s->incoming_autostart = !m->opts.start_paused;
    RunstateNotifier n = mig_incoming_notifier(s);
    runstate_add_notifier(m, &n);
    runstate_set(m, RUN_STATE_INMIGRATE);
    if (!strcmp(uri, "defer"))
        return true;
    if (!mig_incoming_start(s, uri, errp)) {
        g_prefix_error(errp, "-incoming %s: ", uri);
        return false;
    }
    return true;
}

bool migration_incoming_pending(Machine *m)
{
    MigrationState *s = m->migration;
    return s && s->incoming && runstate_get(m) == RUN_STATE_INMIGRATE;
}

bool migration_is_active(Machine *m)
{
    return m->migration && active(status_of(m->migration));
}

bool migration_before_cont(Machine *m, GError **errp)
{
    MigrationState *s = m->migration;
    if (!s)
        return true;
    if (migration_incoming_pending(m)) {
        s->incoming_autostart = true;       /* QEMU: runs once the migration is done */
        return false;
    }
    if (runstate_get(m) == RUN_STATE_POSTMIGRATE && !mig_drives_activate(m, errp))
        return false;
    return true;
}
