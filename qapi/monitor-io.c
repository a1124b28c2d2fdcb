/*
 * Monitor I/O: one output queue per session for both transports (a file descriptor
 * served directly, or a chardev), written without ever blocking the main loop; flow
 * control (input held back while the queue is over MONITOR_OUT_HIGH); disconnect at
 * the limits; replies written (and re-indented for -qmp-pretty) straight into the
 * queue with the limit enforced as they grow. Limits: qapi/monitor-int.h.
 *
 * Everything runs on the main loop with the machine lock held.
 */
#include "qapi/monitor-int.h"
#include <errno.h>
#include <glib-unix.h>
#include <poll.h>
#include <sys/socket.h>
#include <string.h>
#include <unistd.h>

static size_t out_pending(const MonitorSession *s)
{
    return s->out->len - s->out_pos;
}

static bool out_over_high(const MonitorSession *s)
{
    return out_pending(s) >= MONITOR_OUT_HIGH;
}

bool monitor_input_held(const MonitorSession *s)
{
    return s->inq->len || out_over_high(s);
}

/* Forgets what was written; gives memory back after a burst. */
static void out_consumed(MonitorSession *s, size_t n)
{
    s->out_pos += n;
    if (s->out_pos == s->out->len) {
        if (s->out->allocated_len > (64u << 10)) {
            g_string_free(s->out, TRUE);
            s->out = g_string_sized_new(4096);
        } else {
            g_string_truncate(s->out, 0);
        }
        s->out_pos = 0;
    } else if (s->out_pos >= (64u << 10) && s->out_pos >= s->out->len / 2) {
        g_string_erase(s->out, 0, s->out_pos);
        s->out_pos = 0;
    }
}

static void out_clear(MonitorSession *s)
{
    out_consumed(s, out_pending(s));
}

/* ---- transports ---- */

static ssize_t transport_write(MonitorSession *s, const char *buf, size_t len)
{
    if (s->chr)
        return chr_write_nonblock(s->chr, (const uint8_t *)buf, len);
    ssize_t n = send(s->fd, buf, len, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n < 0 && errno == ENOTSOCK)
        n = write(s->fd, buf, len);         /* a pipe (non-blocking: monitor_add_fd) */
    if (n < 0)
        return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR ? -EAGAIN : -errno;
    return n;
}

static gboolean fd_writable(gint fd, GIOCondition cond, gpointer opaque)
{
    MonitorSession *s = opaque;
    s->out_watch = 0;
    monitor_session_writable(s);
    return G_SOURCE_REMOVE;
}

static void chr_writable(void *opaque)
{
    MonitorSession *s = opaque;
    s->chr_waiting = false;
    monitor_session_writable(s);
}

static void transport_wait(MonitorSession *s)
{
    if (s->chr) {
        if (!s->chr_waiting) {
            s->chr_waiting = true;
            chr_notify_writable(s->chr, chr_writable, s);
        }
    } else if (!s->out_watch) {
        s->out_watch = g_unix_fd_add(s->fd, G_IO_OUT | G_IO_ERR | G_IO_HUP, fd_writable, s);
    }
}

static gboolean fd_readable(gint fd, GIOCondition cond, gpointer opaque);

void monitor_session_update_input(MonitorSession *s)
{
    bool want = !s->dead && !s->set->closing && !s->in_eof && !monitor_input_held(s);
    if (s->chr) {
        if (want && s->in_stopped) {      /* the chardev asked can_read and got 0 */
            s->in_stopped = false;
            chr_accept_input(s->chr);
        }
    } else if (want && !s->in_watch) {
        s->in_watch = g_unix_fd_add(s->fd, G_IO_IN | G_IO_HUP | G_IO_ERR, fd_readable, s);
    } else if (!want && s->in_watch) {
        g_source_remove(s->in_watch);
        s->in_watch = 0;
    }
}

/* ---- the output queue ---- */

/* Writes what the transport takes now; arms the wait for the rest. */
static void flush_now(MonitorSession *s)
{
    unsigned gen = s->conn_gen;
    while (!s->dead && out_pending(s)) {
        ssize_t n = transport_write(s, s->out->str + s->out_pos, out_pending(s));
        if (gen != s->conn_gen)
            return;                 /* the write saw the chardev peer leave: reset */
        if (n == -EAGAIN || n == 0) {
            transport_wait(s);
            return;
        }
        if (n < 0) {
            if (s->chr)
                out_clear(s);       /* lost, as for a peer that left (the chardev says) */
            else
                monitor_session_kill(s);
            return;
        }
        out_consumed(s, n);
    }
    if (s->in_eof && !s->inq->len && !s->dead)
        monitor_session_kill(s);    /* the client half-closed: all answered, all sent */
}

static void overflow(MonitorSession *s)
{
    log_budget_warn(&s->set->log, "monitor: a client does not read its replies (%zu KiB "
                    "queued); disconnecting it", out_pending(s) >> 10);
    if (s->chr && chr_disconnect(s->chr) && out_pending(s) <= MONITOR_OUT_HIGH)
        return;                     /* CHR_EVENT_CLOSED emptied the queue */
    monitor_session_kill(s);
}

/* After output was queued: false (and the client is disconnected) past the limits. */
static bool out_check(MonitorSession *s)
{
    size_t pending = out_pending(s);
    if (pending <= MONITOR_OUT_HIGH)
        return true;
    size_t total = 0;
    for (guint i = 0; i < s->set->sessions->len; i++)
        total += out_pending(s->set->sessions->pdata[i]);
    if (pending <= MONITOR_OUT_LIMIT && total <= MONITOR_OUT_TOTAL)
        return true;
    overflow(s);
    return false;
}

void monitor_session_flush(MonitorSession *s)
{
    if (s->in_input || s->dead)
        return;                     /* the input path flushes once it is done */
    flush_now(s);
    monitor_session_update_input(s);
}

void monitor_puts(MonitorSession *s, const char *text)
{
    if (s->dead)
        return;
    for (const char *p = text;;) {
        const char *nl = strchr(p, '\n');
        if (!nl) {
            g_string_append(s->out, p);
            break;
        }
        g_string_append_len(s->out, p, nl - p);
        g_string_append_len(s->out, "\r\n", 2);
        p = nl + 1;
    }
    if (out_check(s))
        monitor_session_flush(s);
}

void monitor_json_begin(MonitorJson *j, MonitorSession *s)
{
    j->s = s;
    j->failed = s->dead;
    qj_pretty_init(&j->pretty, "\r\n");
}

void monitor_json_put(MonitorJson *j, const char *json, size_t len)
{
    MonitorSession *s = j->s;
    if (j->failed)
        return;
    if (s->pretty)
        qj_pretty_feed(&j->pretty, s->out, json, len, s->out_pos + MONITOR_OUT_LIMIT + 1);
    else
        g_string_append_len(s->out, json, len);
    j->failed = !out_check(s);
}

void monitor_json_put_echo(MonitorJson *j, const char *json, size_t len)
{
    MonitorSession *s = j->s;
    if (j->failed || !s->pretty) {
        monitor_json_put(j, json, len);
        return;
    }
    g_autoptr(GString) tmp = g_string_sized_new(len + 64);
    QjPretty p = j->pretty;
    if (qj_pretty_feed(&p, tmp, json, len, 4 * len + 4096)) {
        j->pretty = p;
        g_string_append_len(s->out, tmp->str, tmp->len);
    } else {
        g_string_append_len(s->out, json, len);    /* the same value, on one line */
    }
    j->failed = !out_check(s);
}

void monitor_json_end(MonitorJson *j)
{
    if (j->failed)
        return;
    g_string_append_len(j->s->out, "\r\n", 2);
    if (out_check(j->s))
        monitor_session_flush(j->s);
}

void monitor_send_json(MonitorSession *s, const char *json, size_t len)
{
    MonitorJson j;
    monitor_json_begin(&j, s);
    monitor_json_put(&j, json, len);
    monitor_json_end(&j);
}

/* ---- input and flow control ---- */

/* Runs input until the output queue is over the high mark; returns the bytes taken
 * (all of them when the session ended or its chardev peer changed meanwhile). */
static size_t session_feed(MonitorSession *s, const uint8_t *buf, size_t len)
{
    unsigned gen = s->conn_gen;
    size_t done = 0;
    s->in_input = true;
    while (done < len && !s->dead && gen == s->conn_gen && !out_over_high(s))
        done += s->control ? json_stream_feed(s->stream, buf + done, len - done)
                           : hmp_input(s, buf + done, len - done);
    s->in_input = false;
    return s->dead || gen != s->conn_gen ? len : done;
}

/* Output drained: runs the held-back input while the queue stays under the mark. */
static void session_pump(MonitorSession *s)
{
    if (s->pumping)
        return;
    s->pumping = true;
    for (;;) {
        flush_now(s);
        if (s->dead || s->set->closing || out_over_high(s) || !s->inq->len)
            break;
        g_autoptr(GByteArray) q = s->inq;
        unsigned gen = s->conn_gen;
        s->inq = g_byte_array_new();
        size_t done = session_feed(s, q->data, q->len);
        if (done < q->len && gen == s->conn_gen)
            g_byte_array_append(s->inq, q->data + done, q->len - done);
    }
    s->pumping = false;
    if (s->in_eof && !s->dead && !out_pending(s) && !s->inq->len)
        monitor_session_kill(s);
    else
        monitor_session_update_input(s);
}

void monitor_session_writable(MonitorSession *s)
{
    if (!s->dead)
        session_pump(s);
}

void monitor_session_input(MonitorSession *s, const uint8_t *buf, size_t len)
{
    if (s->dead)
        return;
    if (monitor_input_held(s)) {
        g_byte_array_append(s->inq, buf, len);      /* came in before the pause took */
    } else {
        unsigned gen = s->conn_gen;
        size_t done = session_feed(s, buf, len);
        if (done < len && gen == s->conn_gen)
            g_byte_array_append(s->inq, buf + done, len - done);
    }
    session_pump(s);
}

void monitor_session_reset_io(MonitorSession *s)
{
    s->conn_gen++;
    out_clear(s);
    g_byte_array_set_size(s->inq, 0);
    if (s->stream) {
        json_stream_reset(s->stream);
        json_stream_pause(s->stream);    /* if inside a feed: the rest is the old peer's */
    }
    if (s->line)
        g_string_truncate(s->line, 0);
    s->negotiated = false;
    if (s->chr_waiting) {
        chr_cancel_writable(s->chr, chr_writable, s);
        s->chr_waiting = false;
    }
}

void monitor_session_flush_until(MonitorSession *s, gint64 deadline)
{
    while (!s->dead && out_pending(s)) {
        ssize_t n = transport_write(s, s->out->str + s->out_pos, out_pending(s));
        if (n > 0) {
            out_consumed(s, n);
            continue;
        }
        gint64 left = deadline - g_get_monotonic_time();
        if ((n != -EAGAIN && n != 0) || left <= 0)
            return;
        int ms = (int)((left + 999) / 1000);
        struct pollfd p = { .fd = s->fd, .events = POLLOUT };
        if (s->chr ? !chr_wait_writable(s->chr, ms) : poll(&p, 1, ms) <= 0)
            return;
    }
}

/* ---- the fd transport's input ---- */

static gboolean fd_readable(gint fd, GIOCondition cond, gpointer opaque)
{
    MonitorSession *s = opaque;
    uint8_t buf[65536];
    /* descriptors passed with the input (SCM_RIGHTS) wait for getfd/add-fd */
    ssize_t n = chr_recv_fds(fd, buf, sizeof(buf), s->msgfds, &s->nmsgfds, CHR_MAX_MSGFDS);
    if (n < 0 && (errno == EAGAIN || errno == EINTR))
        return G_SOURCE_CONTINUE;
    if (n < 0) {
        s->in_watch = 0;
        monitor_session_kill(s);
        return G_SOURCE_REMOVE;
    }
    if (n == 0) {                   /* EOF: answer what came before it, then close */
        s->in_watch = 0;
        s->in_eof = true;
        session_pump(s);
        return G_SOURCE_REMOVE;
    }
    monitor_session_input(s, buf, n);
    return G_SOURCE_CONTINUE;       /* a removed watch was removed with g_source_remove */
}
