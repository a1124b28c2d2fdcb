/*
 * HMP commands of migration and snapshots (QEMU 7.2 hmp-commands*.hx, migration/
 * migration-hmp-cmds.c): migrate, migrate_cancel, migrate_continue, migrate_incoming,
 * migrate_set_capability, migrate_set_parameter, savevm, loadvm, delvm, and info
 * migrate / migrate_capabilities / migrate_parameters / snapshots. Each calls the
 * QMP handler QMP calls.
 */
#include "migration.h"
#include "hmp.h"
#include "qapi/monitor-int.h"
#include "vireo/option.h"
#include <stdlib.h>
#include <string.h>

static void report(GString *out, GError *err)
{
    if (err) {
        g_string_append_printf(out, "Error: %s\n", err->message);
        g_error_free(err);
    }
}

/* "[-d] [-b] [-i] [-r] uri" */
void hmp_migrate(MonitorSession *s, const char *args, GString *out)
{
    g_auto(GStrv) w = g_strsplit_set(args, " \t", -1);
    bool detach = false, blk = false, inc = false, resume = false;
    const char *uri = NULL;
    for (int i = 0; w[i]; i++) {
        if (!*w[i])
            continue;
        if (!strcmp(w[i], "-d"))
            detach = true;
        else if (!strcmp(w[i], "-b"))
            blk = true;
        else if (!strcmp(w[i], "-i"))
            inc = true;
        else if (!strcmp(w[i], "-r"))
            resume = true;
        else if (!uri)
            uri = w[i];
    }
    if (!uri) {
        g_string_append(out, "migrate: missing parameter 'uri'\n");
        return;
    }
    GError *err = NULL;
    qmp_migrate(s->m, uri, true, blk, true, inc, true, detach, true, resume, &err);
    report(out, err);
}

void hmp_migrate_cancel(MonitorSession *s, const char *args, GString *out)
{
    qmp_migrate_cancel(s->m, NULL);
}

void hmp_migrate_incoming(MonitorSession *s, const char *args, GString *out)
{
    GError *err = NULL;
    qmp_migrate_incoming(s->m, args, &err);
    report(out, err);
}

void hmp_migrate_continue(MonitorSession *s, const char *args, GString *out)
{
    GError *err = NULL;
    for (int i = 0; i < QAPI_COUNT_MigrationStatus; i++) {
        if (!strcmp(args, MigrationStatus_str[i])) {
            qmp_migrate_continue(s->m, i, &err);
            report(out, err);
            return;
        }
    }
    g_string_append_printf(out, "Error: Parameter 'state' does not accept value '%s'\n", args);
}

void hmp_migrate_set_capability(MonitorSession *s, const char *args, GString *out)
{
    g_auto(GStrv) w = g_strsplit(args, " ", 2);
    bool on;
    if (!w[0] || !w[1] || !str_to_bool(g_strstrip(w[1]), &on)) {
        g_string_append(out, "Error: migrate_set_capability capability on|off\n");
        return;
    }
    for (int c = 0; c < QAPI_COUNT_MigrationCapability; c++) {
        if (strcmp(w[0], MigrationCapability_str[c]))
            continue;
        MigrationCapabilityStatus cs = { .capability = c, .state = on };
        GPtrArray *a = g_ptr_array_new();
        g_ptr_array_add(a, &cs);
        GError *err = NULL;
        qmp_migrate_set_capabilities(s->m, a, &err);
        g_ptr_array_free(a, TRUE);
        report(out, err);
        return;
    }
    g_string_append_printf(out, "Error: Parameter 'capability' does not accept value '%s'\n",
                           w[0]);
}

void hmp_migrate_set_parameter(MonitorSession *s, const char *args, GString *out)
{
    g_auto(GStrv) w = g_strsplit(args, " ", 2);
    if (!w[0] || !w[1]) {
        g_string_append(out, "Error: migrate_set_parameter parameter value\n");
        return;
    }
    /* The same checks as QMP: build the arguments as JSON and dispatch. */
    const char *name = w[0], *val = g_strstrip(w[1]);
    uint64_t v = 0;
    GError *err = NULL;
    bool is_size = !strcmp(name, "max-bandwidth");
    if (strcmp(name, "tls-creds") && strcmp(name, "tls-hostname") &&
        strcmp(name, "tls-authz") && strcmp(name, "multifd-compression") &&
        strcmp(name, "cpu-throttle-tailslow") &&
        !(is_size ? str_to_size(val, 1 << 20, &v) : str_to_u64(val, &v))) {
        g_string_append_printf(out, "Error: Parameter '%s' expects %s\n", name,
                               is_size ? "a size value" : "an integer");
        return;
    }
    /* (max-bandwidth without a suffix is MiB, as QEMU's HMP.) */
    bool b = false;
    str_to_bool(val, &b);
#define IS(n) !strcmp(name, n)
    qmp_migrate_set_parameters(s->m,
        IS("announce-initial"), v, IS("announce-max"), v, IS("announce-rounds"), v,
        IS("announce-step"), v, IS("throttle-trigger-threshold"), v,
        IS("cpu-throttle-initial"), v, IS("cpu-throttle-increment"), v,
        IS("cpu-throttle-tailslow"), b, IS("tls-creds") ? val : NULL,
        IS("tls-hostname") ? val : NULL, IS("tls-authz") ? val : NULL,
        IS("max-bandwidth"), v, IS("downtime-limit"), v, IS("multifd-channels"), v,
        IS("max-cpu-throttle"), v, IS("multifd-compression"),
        IS("multifd-compression") && strcmp(val, "none") ? MULTI_FD_COMPRESSION_ZLIB
                                                         : MULTI_FD_COMPRESSION_NONE,
        &err);
    if (!err && !IS("announce-initial") && !IS("announce-max") && !IS("announce-rounds") &&
        !IS("announce-step") && !IS("throttle-trigger-threshold") &&
        !IS("cpu-throttle-initial") && !IS("cpu-throttle-increment") &&
        !IS("cpu-throttle-tailslow") && !IS("tls-creds") && !IS("tls-hostname") &&
        !IS("tls-authz") && !IS("max-bandwidth") && !IS("downtime-limit") &&
        !IS("multifd-channels") && !IS("max-cpu-throttle") && !IS("multifd-compression"))
        g_string_append_printf(out, "Error: Parameter '%s' is unexpected\n", name);
#undef IS
    report(out, err);
}

/* QEMU's hmp_info_migrate layout (kbytes are KiB). */
void hmp_info_migrate(MonitorSession *s, const char *args, GString *out)
{
    MigrationInfo *i = qmp_query_migrate(s->m, NULL);
    if (i->has_status)
        g_string_append_printf(out, "Migration status: %s\n", MigrationStatus_str[i->status]);
    if (i->error_desc)
        g_string_append_printf(out, "error description: %s\n", i->error_desc);
    if (i->has_total_time)
        g_string_append_printf(out, "total time: %" G_GINT64_FORMAT " ms\n", i->total_time);
    if (i->has_expected_downtime)
        g_string_append_printf(out, "expected downtime: %" G_GINT64_FORMAT " ms\n",
                               i->expected_downtime);
    if (i->has_downtime)
        g_string_append_printf(out, "downtime: %" G_GINT64_FORMAT " ms\n", i->downtime);
    if (i->has_setup_time)
        g_string_append_printf(out, "setup: %" G_GINT64_FORMAT " ms\n", i->setup_time);
    if (i->ram) {
        MigrationStats *r = i->ram;
        g_string_append_printf(out, "transferred ram: %" G_GINT64_FORMAT " kbytes\n"
            "throughput: %0.2f mbps\nremaining ram: %" G_GINT64_FORMAT " kbytes\n"
            "total ram: %" G_GINT64_FORMAT " kbytes\nduplicate: %" G_GINT64_FORMAT " pages\n"
            "skipped: %" G_GINT64_FORMAT " pages\nnormal: %" G_GINT64_FORMAT " pages\n"
            "normal bytes: %" G_GINT64_FORMAT " kbytes\ndirty sync count: %" G_GINT64_FORMAT
            "\npage size: %" G_GINT64_FORMAT " kbytes\nmultifd bytes: %" G_GINT64_FORMAT
            " kbytes\npages-per-second: %" G_GINT64_FORMAT "\n",
            r->transferred >> 10, r->mbps, r->remaining >> 10, r->total >> 10, r->duplicate,
            r->skipped, r->normal, r->normal_bytes >> 10, r->dirty_sync_count,
            r->page_size >> 10, r->multifd_bytes >> 10, r->pages_per_second);
        if (r->dirty_pages_rate)
            g_string_append_printf(out, "dirty pages rate: %" G_GINT64_FORMAT " pages\n",
                                   r->dirty_pages_rate);
        g_string_append_printf(out, "precopy ram: %" G_GINT64_FORMAT " kbytes\n"
                               "downtime ram: %" G_GINT64_FORMAT " kbytes\n",
                               r->precopy_bytes >> 10, r->downtime_bytes >> 10);
    }
    if (i->has_cpu_throttle_percentage)
        g_string_append_printf(out, "cpu throttle percentage: %" G_GINT64_FORMAT "\n",
                               i->cpu_throttle_percentage);
    for (guint k = 0; i->socket_address && k < i->socket_address->len; k++) {
        MigrationSocketAddress *a = i->socket_address->pdata[k];
        if (!k)
            g_string_append(out, "socket address: [\n");
        if (a->path)
            g_string_append_printf(out, "\tunix:%s\n", a->path);
        else
            g_string_append_printf(out, "\ttcp:%s:%s\n", a->host, a->port);
        if (k + 1 == i->socket_address->len)
            g_string_append(out, "]\n");
    }
    qapi_free_MigrationInfo(i);
}

void hmp_info_migrate_capabilities(MonitorSession *s, const char *args, GString *out)
{
    GPtrArray *a = qmp_query_migrate_capabilities(s->m, NULL);
    for (guint i = 0; i < a->len; i++) {
        MigrationCapabilityStatus *c = a->pdata[i];
        g_string_append_printf(out, "%s: %s\n", MigrationCapability_str[c->capability],
                               c->state ? "on" : "off");
    }
    g_ptr_array_unref(a);
}

void hmp_info_migrate_parameters(MonitorSession *s, const char *args, GString *out)
{
    MigrationParameters *p = qmp_query_migrate_parameters(s->m, NULL);
    g_string_append_printf(out,
        "announce-initial: %" G_GUINT64_FORMAT " ms\nannounce-max: %" G_GUINT64_FORMAT
        " ms\nannounce-rounds: %" G_GUINT64_FORMAT "\nannounce-step: %" G_GUINT64_FORMAT
        " ms\nthrottle-trigger-threshold: %u\ncpu-throttle-initial: %u\n"
        "cpu-throttle-increment: %u\ncpu-throttle-tailslow: %s\nmax-cpu-throttle: %u\n"
        "tls-creds: '%s'\ntls-hostname: '%s'\nmax-bandwidth: %" G_GUINT64_FORMAT
        " bytes/second\ndowntime-limit: %" G_GUINT64_FORMAT " ms\nmultifd-channels: %u\n"
        "multifd-compression: %s\ntls-authz: '%s'\n",
        p->announce_initial, p->announce_max, p->announce_rounds, p->announce_step,
        p->throttle_trigger_threshold, p->cpu_throttle_initial, p->cpu_throttle_increment,
        p->cpu_throttle_tailslow ? "on" : "off", p->max_cpu_throttle, p->tls_creds,
        p->tls_hostname, p->max_bandwidth, p->downtime_limit, p->multifd_channels,
        MultiFDCompression_str[p->multifd_compression], p->tls_authz);
    qapi_free_MigrationParameters(p);
}

static char *auto_name(void)
{
    g_autoptr(GDateTime) now = g_date_time_new_now_local();
    return g_date_time_format(now, "vm-%Y%m%d%H%M%S");
}

void hmp_savevm(MonitorSession *s, const char *args, GString *out)
{
    g_autofree char *name = *args ? g_strdup(args) : auto_name();
    GError *err = NULL;
    snapshot_save(s->m, name, &err);
    report(out, err);
}

void hmp_loadvm(MonitorSession *s, const char *args, GString *out)
{
    GError *err = NULL;
    if (!*args) {
        g_string_append(out, "loadvm: missing parameter 'name'\n");
        return;
    }
    snapshot_load(s->m, args, &err);
    report(out, err);
}

void hmp_delvm(MonitorSession *s, const char *args, GString *out)
{
    GError *err = NULL;
    if (!*args) {
        g_string_append(out, "delvm: missing parameter 'name'\n");
        return;
    }
    snapshot_delete(s->m, args, &err);
    report(out, err);
}

void hmp_info_snapshots(MonitorSession *s, const char *args, GString *out)
{
    snapshot_list(s->m, out);
}
