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
#include <errno.h>
#include <glib-unix.h>
#include <sys/socket.h>
#include <string.h>
#include <unistd.h>

/* The runstate notifier cannot be removed, so its target outlives the set and is
 * only disconnected from it (monitor_cleanup()). */
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
        if (!s->control || !s->negotiated || s->dead)
            continue;
        if (s->pretty) {
            g_autoptr(GString) p = g_string_new(NULL);
            qj_pretty(p, o->str);
            g_string_append_c(p, '\n');
            monitor_puts(s, p->str);
        } else {
            monitor_puts(s, o->str);
            monitor_puts(s, "\n");
        }
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
    if (control) {
        s->stream = json_stream_new(qmp_text, s);
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
    if (s->pretty) {
        g_autoptr(GString) p = g_string_new(NULL);
        qj_pretty(p, o->str);
        g_string_assign(o, p->str);
    }
    g_string_append_c(o, '\n');
    monitor_puts(s, o->str);
}

void monitor_session_input(MonitorSession *s, const uint8_t *buf, size_t len)
{
    if (s->control)
        json_stream_feed(s->stream, buf, len);
    else
        hmp_input(s, buf, len);
}

static void qmp_text(void *opaque, const char *text, size_t len, const char *error)
{
    MonitorSession *s = opaque;
    if (!s->dead)
        qmp_dispatch_text(s, text, len, error);
}

/* ---- fd transport ------------------------------------------------------------------- */

static gboolean fd_readable(gint fd, GIOCondition cond, gpointer opaque);

static void fd_watch_input(MonitorSession *s, bool on)
{
    if (on && !s->in_watch)
        s->in_watch = g_unix_fd_add(s->fd, G_IO_IN | G_IO_HUP | G_IO_ERR, fd_readable, s);
    else if (!on && s->in_watch) {
        g_source_remove(s->in_watch);
        s->in_watch = 0;
    }
}

static ssize_t fd_send(int fd, const char *buf, size_t len)
{
    ssize_t n = send(fd, buf, len, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n < 0 && errno == ENOTSOCK)
        n = write(fd, buf, len);
    return n;
}

/* Writes as much of s->out as the fd takes; false when the peer is gone. */
static bool fd_flush(MonitorSession *s)
{
    while (s->out->len) {
        ssize_t n = fd_send(s->fd, s->out->str, s->out->len);
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            break;
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return false;
        g_string_erase(s->out, 0, n);
    }
    return true;
}

static gboolean fd_writable(gint fd, GIOCondition cond, gpointer opaque)
{
    MonitorSession *s = opaque;
    if (!fd_flush(s)) {
        s->out_watch = 0;
        monitor_session_kill(s);
        return G_SOURCE_REMOVE;
    }
    if (s->out->len < MONITOR_OUT_HIGH)
        fd_watch_input(s, true);
    if (s->out->len)
        return G_SOURCE_CONTINUE;
    s->out_watch = 0;
    return G_SOURCE_REMOVE;
}

static void fd_write(MonitorSession *s, const char *buf, size_t len)
{
    g_string_append_len(s->out, buf, len);
    if (!s->out_watch && !fd_flush(s)) {     /* else: already waiting for room */
        monitor_session_kill(s);
        return;
    }
    if (s->out->len > MONITOR_OUT_LIMIT) {
        g_warning("monitor: a client does not read its replies; disconnecting it");
        monitor_session_kill(s);
        return;
    }
    if (s->out->len && !s->out_watch)
        s->out_watch = g_unix_fd_add(s->fd, G_IO_OUT | G_IO_ERR | G_IO_HUP, fd_writable, s);
    if (s->out->len >= MONITOR_OUT_HIGH)
        fd_watch_input(s, false);       /* flow control: read again once drained */
}

static gboolean fd_readable(gint fd, GIOCondition cond, gpointer opaque)
{
    MonitorSession *s = opaque;
    uint8_t buf[65536];
    ssize_t n = read(fd, buf, sizeof(buf));
    if (n < 0 && (errno == EAGAIN || errno == EINTR))
        return G_SOURCE_CONTINUE;
    if (n <= 0) {
        s->in_watch = 0;
        monitor_session_kill(s);
        return G_SOURCE_REMOVE;
    }
    monitor_session_input(s, buf, n);
    return s->in_watch ? G_SOURCE_CONTINUE : G_SOURCE_REMOVE;
}

bool monitor_add_fd(Machine *m, int fd, bool control, bool pretty, GError **errp)
{
    GError *err = NULL;
    if (!g_unix_set_fd_nonblocking(fd, TRUE, &err)) {
        g_set_error(errp, G_IO_ERROR, G_IO_ERROR_FAILED, "monitor: fd %d: %s", fd,
                    err->message);
        g_error_free(err);
        close(fd);
        return false;
    }
    MonitorSession *s = monitor_session_new(monitor_set_get(m), control, pretty);
    s->fd = fd;
    s->out = g_string_new(NULL);
    fd_watch_input(s, true);
    monitor_session_open(s);
    return true;
}

/* ---- chardev transport -------------------------------------------------------------- */

static int chr_can_read(void *opaque)
{
    MonitorSession *s = opaque;
    return s->dead ? 0 : 4096;
}

static void chr_read(void *opaque, const uint8_t *buf, size_t len)
{
    monitor_session_input(opaque, buf, len);
}

static void chr_event(void *opaque, ChrEvent ev)
{
    MonitorSession *s = opaque;
    switch (ev) {
    case CHR_EVENT_OPENED:
        if (!chr_is_mux(s->chr))    /* on a mux: when it first gets the focus */
            monitor_session_open(s);
        break;
    case CHR_EVENT_CLOSED:
        s->negotiated = false;      /* the next client negotiates anew */
        break;
    case CHR_EVENT_MUX_IN:          /* Ctrl-A c gave us the terminal */
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

/* ---- Output, teardown ----------------------------------------------------------------- */

void monitor_puts(MonitorSession *s, const char *text)
{
    if (s->dead)
        return;
    g_autoptr(GString) o = g_string_sized_new(strlen(text) + 16);
    for (const char *p = text; *p; p++) {
        if (*p == '\n')
            g_string_append_c(o, '\r');
        g_string_append_c(o, *p);
    }
    if (s->chr) {
        if (chr_write(s->chr, (const uint8_t *)o->str, o->len) < 0)
            s->negotiated = false;      /* the chardev reports the disconnect itself */
        return;
    }
    fd_write(s, o->str, o->len);
}

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
    fd_watch_input(s, false);
    if (s->out_watch)
        g_source_remove(s->out_watch);
    s->out_watch = 0;
    s->free_idle = g_idle_add(free_idle, s);
}

void monitor_session_free(MonitorSession *s)
{
    if (s->set)
        g_ptr_array_remove(s->set->sessions, s);
    if (s->fd >= 0) {
        fd_watch_input(s, false);
        if (s->out_watch)
            g_source_remove(s->out_watch);
        close(s->fd);
    }
    if (s->free_idle)
        g_source_remove(s->free_idle);
    if (s->chr)
        chr_detach_frontend(s->chr, s);
    json_stream_free(s->stream);
    if (s->parser)
        g_object_unref(s->parser);
    if (s->line)
        g_string_free(s->line, TRUE);
    if (s->out)
        g_string_free(s->out, TRUE);
    g_free(s);
}

/* Last chance for queued replies (e.g. to `quit`): a short blocking flush. */
static void flush_before_exit(MonitorSession *s)
{
    if (s->fd < 0 || !s->out || !s->out->len || s->dead)
        return;
    g_unix_set_fd_nonblocking(s->fd, FALSE, NULL);
    struct timeval tv = { .tv_sec = 1 };
    setsockopt(s->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    fd_flush(s);
}

void monitor_cleanup(Machine *m)
{
    MonitorSet *set = m->monitors;
    if (!set)
        return;
    set->hook->set = NULL;
    while (set->sessions->len) {
        MonitorSession *s = set->sessions->pdata[set->sessions->len - 1];
        flush_before_exit(s);
        monitor_session_free(s);
    }
    g_ptr_array_free(set->sessions, TRUE);
    g_ptr_array_free(set->listeners, TRUE);
    g_free(set);
    m->monitors = NULL;
}
