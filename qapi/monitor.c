/*
 * Monitor sessions and their transports (a chardev, or a file descriptor such as a
 * client of a listening socket), and the run-state events.
 *
 * A session is QMP (JSON, qapi/qmp-dispatch.c) or HMP (qapi/hmp.c). Everything runs
 * on the main loop with the machine lock held.
 */
#include "qapi/monitor-int.h"
#include "qapi/qapi-generated.h"
#include "vireo/runstate.h"
#include <glib-unix.h>
#include <string.h>
#include <unistd.h>

/* The runstate notifier's target; monitor_cleanup() removes the notifier and frees it. */
struct RunstateHook {
    MonitorSet *set;
};

static void ev_stop(void *o)
{
    RunstateHook *h = o;
    if (h->set)
        qapi_event_send_stop(h->set->m);
}

static void ev_resume(void *o)
{
    RunstateHook *h = o;
    if (h->set)
        qapi_event_send_resume(h->set->m);
}

static void ev_reset(void *o, ShutdownCause cause)
{
    RunstateHook *h = o;
    if (h->set)
        qapi_event_send_reset(h->set->m, shutdown_cause_is_guest(cause), cause);
}

static void ev_shutdown(void *o, ShutdownCause cause)
{
    RunstateHook *h = o;
    if (h->set)
        qapi_event_send_shutdown(h->set->m, shutdown_cause_is_guest(cause), cause);
}

static void ev_powerdown(void *o)
{
    RunstateHook *h = o;
    if (h->set)
        qapi_event_send_powerdown(h->set->m);
}

MonitorSet *monitor_set_get(Machine *m)
{
    if (m->monitors)
        return m->monitors;
    MonitorSet *set = g_new0(MonitorSet, 1);
    set->m = m;
    set->sessions = g_ptr_array_new();
    set->listeners = g_ptr_array_new_with_free_func((GDestroyNotify)monitor_listener_free);
    set->hook = g_new0(RunstateHook, 1);
    set->hook->set = set;
    set->in_budget.limit = MONITOR_IN_BUDGET;
    set->exit_flush_ms = MONITOR_EXIT_FLUSH_MS;
    set->log = (LogBudget)LOG_BUDGET_DEFAULT;
    RunstateNotifier n = {
        .stopped = ev_stop, .resumed = ev_resume, .reset = ev_reset,
        .shutdown = ev_shutdown, .powerdown = ev_powerdown, .opaque = set->hook,
    };
    runstate_add_notifier(m, &n);
    m->monitors = set;
    return set;
}

/* ---- Events (QMP spec 2.5: {"event", "data", "timestamp"}) --------------------------- */

void monitor_emit_event(Machine *m, const char *event, const char *data)
{
    MonitorSet *set = m->monitors;
    if (!set)
        return;
    gint64 now = g_get_real_time();
    g_autoptr(GString) o = g_string_sized_new(128);
    g_string_append_printf(o, "{\"timestamp\": {\"seconds\": %" G_GINT64_FORMAT
                           ", \"microseconds\": %" G_GINT64_FORMAT "}, \"event\": ",
                           now / G_USEC_PER_SEC, now % G_USEC_PER_SEC);
    qj_str(o, event);
    if (data)
        g_string_append_printf(o, ", \"data\": %s", data);
    g_string_append(o, "}");
    for (guint i = 0; i < set->sessions->len; i++) {
        MonitorSession *s = set->sessions->pdata[i];
        if (s->control && s->negotiated && !s->dead)
            monitor_send_json(s, o->str, o->len);
    }
}

/* ---- Sessions ----------------------------------------------------------------------- */

static void qmp_text(void *opaque, const char *text, size_t len, const char *error);

MonitorSession *monitor_session_new(MonitorSet *set, bool control, bool pretty)
{
    MonitorSession *s = g_new0(MonitorSession, 1);
    s->set = set;
    s->m = set->m;
    s->control = control;
    s->pretty = pretty;
    s->fd = -1;
    s->out = g_string_sized_new(4096);
    s->inq = g_byte_array_new();
    if (control) {
        s->stream = json_stream_new(qmp_text, s);
        json_stream_set_budget(s->stream, &set->in_budget);
        s->parser = json_parser_new_immutable();
    } else {
        s->line = g_string_new(NULL);
    }
    g_ptr_array_add(set->sessions, s);
    return s;
}

void monitor_session_open(MonitorSession *s)
{
    s->opened = true;
    s->negotiated = false;
    s->cpu_index = 0;
    if (s->stream)
        json_stream_reset(s->stream);
    if (s->line)
        g_string_truncate(s->line, 0);
    if (!s->control) {
        hmp_banner(s);
        return;
    }
    /* QMP spec 2.2: the greeting; no capabilities (no out-of-band execution). */
    g_autoptr(GString) o = g_string_new("{\"QMP\": {\"version\": ");
    VersionInfo *v = qmp_query_version(s->m, NULL);
    qapi_VersionInfo_to_json(o, v);
    qapi_free_VersionInfo(v);
    g_string_append(o, ", \"capabilities\": []}}");
    monitor_send_json(s, o->str, o->len);
}

static void qmp_text(void *opaque, const char *text, size_t len, const char *error)
{
    MonitorSession *s = opaque;
    if (!s->dead)
        qmp_dispatch_text(s, text, len, error);
    if (s->dead || monitor_input_held(s))
        json_stream_pause(s->stream);       /* the rest waits (qapi/monitor-io.c) */
}

/* ---- fd transport ------------------------------------------------------------------- */

MonitorSession *monitor_session_new_fd(MonitorSet *set, MonitorListener *l, int fd,
                                       bool control, bool pretty, GError **errp)
{
    GError *err = NULL;
    if (!g_unix_set_fd_nonblocking(fd, TRUE, &err)) {
        g_set_error(errp, G_IO_ERROR, G_IO_ERROR_FAILED, "monitor: fd %d: %s", fd,
                    err->message);
        g_error_free(err);
        close(fd);
        return NULL;
    }
    MonitorSession *s = monitor_session_new(set, control, pretty);
    s->fd = fd;
    s->listener = l;
    monitor_session_update_input(s);
    monitor_session_open(s);
    return s;
}

bool monitor_add_fd(Machine *m, int fd, bool control, bool pretty, GError **errp)
{
    return monitor_session_new_fd(monitor_set_get(m), NULL, fd, control, pretty, errp);
}

/* ---- chardev transport -------------------------------------------------------------- */

static int chr_can_read(void *opaque)
{
    MonitorSession *s = opaque;
    if (s->dead || s->set->closing || monitor_input_held(s)) {
        s->in_stopped = true;       /* monitor_session_update_input() asks again */
        return 0;
    }
    return 4096;
}

static void chr_read(void *opaque, const uint8_t *buf, size_t len)
{
    monitor_session_input(opaque, buf, len);
}

static void chr_event(void *opaque, ChrEvent ev)
{
    MonitorSession *s = opaque;
    if (s->dead)
        return;
    switch (ev) {
    case CHR_EVENT_OPENED:
        monitor_session_reset_io(s);    /* nothing of the previous peer's goes on */
        if (!chr_is_mux(s->chr))        /* on a mux: when it first gets the focus */
            monitor_session_open(s);
        break;
    case CHR_EVENT_CLOSED:
        monitor_session_reset_io(s);    /* the next client negotiates anew */
        break;
    case CHR_EVENT_MUX_IN:              /* Ctrl-A c gave us the terminal */
        if (!s->opened)
            monitor_session_open(s);
        else if (!s->control)
            monitor_puts(s, "\n(qemu) ");
        break;
    default:
        break;
    }
}

bool monitor_add(Machine *m, Chardev *chr, bool control, bool pretty, GError **errp)
{
    if (!chr) {
        g_set_error(errp, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT, "monitor: no chardev");
        return false;
    }
    MonitorSession *s = monitor_session_new(monitor_set_get(m), control, pretty);
    s->chr = chr;
    ChrFrontend fe = { .can_read = chr_can_read, .read = chr_read, .event = chr_event,
                       .opaque = s };
    chr_set_frontend(chr, &fe);
    if (chr_is_connected(chr) && !chr_is_mux(chr))
        monitor_session_open(s);
    return true;
}

/* ---- Teardown ----------------------------------------------------------------------- */

static gboolean free_idle(gpointer opaque)
{
    MonitorSession *s = opaque;
    s->free_idle = 0;
    monitor_session_free(s);
    return G_SOURCE_REMOVE;
}

/* Stops all I/O at once; the memory goes later, as a callback may still hold @s. */
void monitor_session_kill(MonitorSession *s)
{
    if (s->dead)
        return;
    s->dead = true;
    monitor_session_update_input(s);
    if (s->out_watch)
        g_source_remove(s->out_watch);
    s->out_watch = 0;
    s->free_idle = g_idle_add(free_idle, s);
}

void monitor_session_free(MonitorSession *s)
{
    if (s->set)
        g_ptr_array_remove(s->set->sessions, s);
    if (s->in_watch)
        g_source_remove(s->in_watch);
    if (s->out_watch)
        g_source_remove(s->out_watch);
    if (s->fd >= 0)
        close(s->fd);
    if (s->free_idle)
        g_source_remove(s->free_idle);
    if (s->chr) {
        monitor_session_reset_io(s);    /* cancels a writable notification */
        chr_detach_frontend(s->chr, s);
    }
    if (s->listener && s->set)
        monitor_listener_session_gone(s->listener);
    for (unsigned i = 0; i < s->nmsgfds; i++)
        close(s->msgfds[i]);
    if (s->named_fds)
        g_hash_table_destroy(s->named_fds);
    json_stream_free(s->stream);
    if (s->parser)
        g_object_unref(s->parser);
    if (s->line)
        g_string_free(s->line, TRUE);
    g_string_free(s->out, TRUE);
    g_byte_array_free(s->inq, TRUE);
    g_free(s);
}

void monitor_cleanup(Machine *m)
{
    MonitorSet *set = m->monitors;
    if (!set)
        return;
    runstate_remove_notifier(m, set->hook);
    g_free(set->hook);
    set->closing = true;                /* no more input, no more clients */
    for (guint i = 0; i < set->listeners->len; i++)
        monitor_listener_pause(set->listeners->pdata[i]);
    for (guint i = 0; i < set->sessions->len; i++)
        monitor_session_update_input(set->sessions->pdata[i]);
    /* Last chance for queued replies (quit's), one deadline for all sessions: a client
     * that reads slowly cannot hold up the exit. */
    gint64 deadline = g_get_monotonic_time() + (gint64)set->exit_flush_ms * 1000;
    for (guint i = 0; i < set->sessions->len; i++)
        monitor_session_flush_until(set->sessions->pdata[i], deadline);
    while (set->sessions->len)
        monitor_session_free(set->sessions->pdata[set->sessions->len - 1]);
    g_ptr_array_free(set->sessions, TRUE);
    g_ptr_array_free(set->listeners, TRUE);
    g_free(set);
    m->monitors = NULL;
}
