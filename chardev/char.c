/*
 * The chardev core: the object, its frontend, non-blocking output with writable
 * notifications, fd input watches on the GLib default context, and the registry.
 * Backends live in char-*.c; the -chardev/-serial syntax is parsed in char-opts.c.
 */
#include "chardev-internal.h"
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <string.h>
#include <limits.h>
#include <unistd.h>
#include <glib-unix.h>
#include <sys/socket.h>

#define CHR_READ_CHUNK 4096
/* chr_write()'s queue for output the backend cannot take at once; past it, output is
 * dropped (with a budgeted warning) rather than blocking the main loop or growing. */
#define CHR_OUTQ_MAX (64u << 10)

static bool outq_drain(Chardev *chr);
static void outq_clear(Chardev *chr);

Chardev *chr_alloc(const ChrOps *ops, const char *id)
{
    Chardev *chr = g_new0(Chardev, 1);
    chr->ops = ops;
    chr->id = g_strdup(id);
    chr->in_fd = chr->out_fd = -1;
    chr->connected = true;
    chr->writable = g_array_new(FALSE, FALSE, sizeof(ChrWritable));
    chr->drop_log = (LogBudget)LOG_BUDGET_DEFAULT;
    return chr;
}

void chr_set_filename(Chardev *chr, const char *label, const char *filename)
{
    g_free(chr->label);
    g_free(chr->filename);
    chr->label = g_strdup(label);
    chr->filename = g_strdup(filename ? filename : label);
}

void chr_fd_set_nonblock(int fd)
{
    int fl = fcntl(fd, F_GETFL);
    if (fl >= 0)
        fcntl(fd, F_SETFL, fl | O_NONBLOCK);
    fcntl(fd, F_SETFD, FD_CLOEXEC);
}

static void fd_hangup(Chardev *chr)
{
    chr_set_connected(chr, false);     /* the peer is gone for good */
}

Chardev *chr_new_fd(int in_fd, int out_fd, const char *id)
{
    static const ChrOps fd_ops = { .kind = "fd", .hangup = fd_hangup };
    Chardev *chr = chr_alloc(&fd_ops, id);
    chr->in_fd = in_fd;
    chr->out_fd = out_fd;
    if (out_fd >= 0) {
        chr_fd_set_nonblock(out_fd);
        chr->out_nonblock = true;
        int type;
        socklen_t len = sizeof(type);
        chr->out_socket = getsockopt(out_fd, SOL_SOCKET, SO_TYPE, &type, &len) == 0;
    }
    g_autofree char *label = g_strdup_printf("fd:%d", in_fd >= 0 ? in_fd : out_fd);
    chr_set_filename(chr, label, NULL);
    return chr;
}

static void drop_msgfds(Chardev *chr);

void chr_free(Chardev *chr)
{
    if (!chr)
        return;
    drop_msgfds(chr);
    if (chr->in_watch)
        g_source_remove(chr->in_watch);
    if (chr->out_watch)
        g_source_remove(chr->out_watch);
    if (chr->idle_writable)
        g_source_remove(chr->idle_writable);
    chr->has_fe = false;                /* no events to a frontend from here on */
    if (chr->connected)
        outq_drain(chr);                /* a last try for queued output, never blocking */
    outq_clear(chr);
    if (chr->ops->close)
        chr->ops->close(chr);
    if (!chr->keep_fds) {
        if (chr->in_fd >= 0)
            close(chr->in_fd);
        if (chr->out_fd >= 0 && chr->out_fd != chr->in_fd)
            close(chr->out_fd);
    }
    g_array_free(chr->writable, TRUE);
    g_free(chr->id);
    g_free(chr->label);
    g_free(chr->filename);
    g_free(chr);
}

const char *chr_id(const Chardev *chr) { return chr->id; }
const char *chr_kind(const Chardev *chr) { return chr->ops->kind; }
const char *chr_label(const Chardev *chr) { return chr->label ? chr->label : chr->ops->kind; }
const char *chr_filename(const Chardev *chr)
{
    return chr->filename ? chr->filename : chr->ops->kind;
}
bool chr_is_connected(const Chardev *chr) { return chr->connected; }

/* ---- frontend side ---- */

void chr_fe_event(Chardev *chr, ChrEvent ev)
{
    if (chr->has_fe && chr->fe.event)
        chr->fe.event(chr->fe.opaque, ev);
}

int chr_fe_can_read(Chardev *chr)
{
    if (!chr->has_fe || !chr->fe.read)
        return 0;
    return chr->fe.can_read ? chr->fe.can_read(chr->fe.opaque) : CHR_READ_CHUNK;
}

void chr_set_frontend(Chardev *chr, const ChrFrontend *fe)
{
    if (chr->ops->set_frontend) {
        chr->ops->set_frontend(chr, fe);
        return;
    }
    chr->has_fe = fe != NULL;
    if (fe)
        chr->fe = *fe;
    else
        memset(&chr->fe, 0, sizeof(chr->fe));
    chr_fd_update_input(chr);
}

void chr_detach_frontend(Chardev *chr, void *opaque)
{
    if (chr->ops->detach_frontend)
        chr->ops->detach_frontend(chr, opaque);
    else if (chr->has_fe && chr->fe.opaque == opaque)
        chr_set_frontend(chr, NULL);
}

void chr_accept_input(Chardev *chr)
{
    if (chr->ops->accept_input)
        chr->ops->accept_input(chr);
    else
        chr_fd_update_input(chr);
}

static Chardev *chr_out(Chardev *chr);

size_t chr_be_input(Chardev *chr, const uint8_t *buf, size_t len)
{
    size_t done = 0;
    chr = chr_out(chr);           /* a mux: through its escape handling */
    while (done < len) {
        int room = chr_fe_can_read(chr);
        if (room <= 0)
            break;
        size_t n = MIN((size_t)room, len - done);
        chr->fe.read(chr->fe.opaque, buf + done, n);
        done += n;
    }
    return done;
}

void chr_be_event(Chardev *chr, ChrEvent ev)
{
    chr_fe_event(chr_out(chr), ev);
}

static gboolean chr_idle_ready(gpointer opaque);

/* ---- fd input ---- */

static void drop_msgfds(Chardev *chr)
{
    for (unsigned i = 0; i < chr->nmsgfds; i++)
        close(chr->msgfds[i]);
    chr->nmsgfds = 0;
}

/* read(), or on a socket recvmsg() keeping passed descriptors (SCM_RIGHTS, at most
 * CHR_MAX_MSGFDS; the kernel discards the rest). */
ssize_t chr_recv_fds(int fd, uint8_t *buf, size_t len, int *fds, unsigned *nfds,
                     unsigned max)
{
    union { struct cmsghdr h; char b[CMSG_SPACE(sizeof(int) * CHR_MAX_MSGFDS)]; } ctl;
    struct iovec iov = { buf, len };
    struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl.b,
                          .msg_controllen = sizeof(ctl.b) };
    ssize_t n = recvmsg(fd, &msg, MSG_CMSG_CLOEXEC);
    if (n < 0 && errno == ENOTSOCK)
        return read(fd, buf, len);
    for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); n >= 0 && c; c = CMSG_NXTHDR(&msg, c)) {
        if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
            continue;
        unsigned count = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
        for (unsigned i = 0; i < *nfds; i++)    /* the previous, unclaimed ones */
            close(fds[i]);
        *nfds = 0;
        for (unsigned i = 0; i < count; i++) {
            int got;
            memcpy(&got, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
            if (*nfds < MIN(max, (unsigned)CHR_MAX_MSGFDS))
                fds[(*nfds)++] = got;
            else
                close(got);
        }
    }
    return n;
}

static ssize_t chr_fd_read(Chardev *chr, int fd, uint8_t *buf, size_t len)
{
    if (!chr->out_socket)
        return read(fd, buf, len);
    return chr_recv_fds(fd, buf, len, chr->msgfds, &chr->nmsgfds, CHR_MAX_MSGFDS);
}

int chr_get_msgfd(Chardev *chr)
{
    while (chr->ops->inner)
        chr = chr->ops->inner(chr);
    if (!chr->nmsgfds)
        return -1;
    int fd = chr->msgfds[0];
    memmove(chr->msgfds, chr->msgfds + 1, --chr->nmsgfds * sizeof(int));
    return fd;
}

static gboolean chr_fd_readable(int fd, GIOCondition cond, gpointer opaque)
{
    Chardev *chr = opaque;
    uint8_t buf[CHR_READ_CHUNK];
    int room = chr_fe_can_read(chr);
    if (room <= 0) {
        chr->in_watch = 0;       /* chr_accept_input() re-arms */
        return G_SOURCE_REMOVE;
    }
    ssize_t n = chr_fd_read(chr, fd, buf, MIN((size_t)room, sizeof(buf)));
    if (n > 0) {
        chr->fe.read(chr->fe.opaque, buf, n);
        return G_SOURCE_CONTINUE;
    }
    if (n < 0 && (errno == EAGAIN || errno == EINTR))
        return G_SOURCE_CONTINUE;
    chr->in_watch = 0;
    chr->in_eof = true;
    if (chr->ops->hangup)
        chr->ops->hangup(chr);
    return G_SOURCE_REMOVE;
}

void chr_fd_update_input(Chardev *chr)
{
    bool want = chr->in_fd >= 0 && chr->connected && !chr->in_eof && chr->has_fe &&
                chr->fe.read;
    if (want && !chr->in_watch) {
        chr->in_watch = g_unix_fd_add(chr->in_fd, G_IO_IN | G_IO_HUP | G_IO_ERR,
                                      chr_fd_readable, chr);
    } else if (!want && chr->in_watch) {
        g_source_remove(chr->in_watch);
        chr->in_watch = 0;
    }
}

void chr_set_connected(Chardev *chr, bool connected)
{
    if (chr->connected == connected)
        return;
    chr->connected = connected;
    chr->in_eof = false;
    chr_fd_update_input(chr);
    if (!connected)
        outq_clear(chr);                /* it was for the peer that left */
    chr_fe_event(chr, connected ? CHR_EVENT_OPENED : CHR_EVENT_CLOSED);
    /* Output is discarded now: let waiting writers go on, from the main loop (this
     * may run inside a frontend's own write). */
    if (!connected && chr->out_watch) {
        g_source_remove(chr->out_watch);
        chr->out_watch = 0;
    }
    if (!connected && chr->writable->len && !chr->idle_writable)
        chr->idle_writable = g_idle_add(chr_idle_ready, chr);
}

/* ---- output ---- */

static ssize_t chr_fd_write(Chardev *chr, const uint8_t *buf, size_t len)
{
    if (chr->out_fd < 0)
        return len;
    if (!chr->out_nonblock) {
        /* A description we could not make non-blocking (stdio's fallback): ask poll,
         * and write no more than a pipe takes atomically once it says there is room. */
        struct pollfd p = { .fd = chr->out_fd, .events = POLLOUT };
        if (poll(&p, 1, 0) <= 0)
            return -EAGAIN;
        if (!(p.revents & POLLOUT))
            return -EPIPE;
        len = MIN(len, (size_t)PIPE_BUF);
    }
    ssize_t n = chr->out_socket ? send(chr->out_fd, buf, len, MSG_NOSIGNAL | MSG_DONTWAIT)
                                : write(chr->out_fd, buf, len);
    if (n < 0)
        return errno == EWOULDBLOCK || errno == EINTR ? -EAGAIN : -errno;
    return n;
}

static Chardev *chr_out(Chardev *chr)
{
    while (chr->ops->inner)
        chr = chr->ops->inner(chr);
    return chr;
}

/* The backend's own non-blocking write: bytes taken, -EAGAIN or another -errno. */
static ssize_t backend_write(Chardev *chr, const uint8_t *buf, size_t len)
{
    return chr->ops->write ? chr->ops->write(chr, buf, len) : chr_fd_write(chr, buf, len);
}

static size_t outq_pending(const Chardev *chr)
{
    return chr->outq ? chr->outq->len - chr->outq_pos : 0;
}

static void outq_clear(Chardev *chr)
{
    if (chr->outq)
        g_string_free(chr->outq, TRUE);
    chr->outq = NULL;
    chr->outq_pos = 0;
}

static gboolean chr_out_ready(int fd, GIOCondition cond, gpointer opaque);

static void chr_arm_out_watch(Chardev *chr)
{
    if (chr->out_fd >= 0 && chr->connected && !chr->out_watch)
        chr->out_watch = g_unix_fd_add(chr->out_fd, G_IO_OUT | G_IO_ERR | G_IO_HUP,
                                       chr_out_ready, chr);
}

/* Writes what the backend takes of chr_write()'s queue; true once it is empty. A
 * backend error loses the queue, as output to a peer that went away is lost. */
static bool outq_drain(Chardev *chr)
{
    while (outq_pending(chr)) {
        ssize_t n = backend_write(chr, (const uint8_t *)chr->outq->str + chr->outq_pos,
                                  outq_pending(chr));
        if (!chr->outq || !chr->connected)
            break;                      /* the write saw the peer leave */
        if (n == -EAGAIN || n == 0)
            return false;
        if (n < 0)
            break;
        chr->outq_pos += n;
    }
    outq_clear(chr);
    return true;
}

/* Queues what the backend could not take now, up to CHR_OUTQ_MAX; drops the rest. */
static size_t outq_put(Chardev *chr, const uint8_t *buf, size_t len)
{
    size_t pending = outq_pending(chr);
    size_t take = MIN(len, CHR_OUTQ_MAX - MIN(pending, CHR_OUTQ_MAX));
    if (!chr->outq)
        chr->outq = g_string_sized_new(MIN(len, CHR_OUTQ_MAX));
    if (chr->outq_pos && chr->outq_pos >= chr->outq->len / 2) {
        g_string_erase(chr->outq, 0, chr->outq_pos);
        chr->outq_pos = 0;
    }
    g_string_append_len(chr->outq, (const char *)buf, take);
    if (take < len) {
        chr->out_dropped += len - take;
        log_budget_warn(&chr->drop_log, "chardev '%s': its peer does not read; %" G_GUINT64_FORMAT
                        " bytes of output dropped so far", chr->id ? chr->id : chr->ops->kind,
                        chr->out_dropped);
    }
    chr_arm_out_watch(chr);
    return take;
}

ssize_t chr_write_nonblock(Chardev *chr, const uint8_t *buf, size_t len)
{
    chr = chr_out(chr);
    if (!chr->connected || len == 0)
        return len;
    if (!outq_drain(chr))
        return -EAGAIN;             /* chr_write()'s earlier bytes go first */
    if (!chr->connected)
        return len;
    return backend_write(chr, buf, len);
}

ssize_t chr_write(Chardev *chr, const uint8_t *buf, size_t len)
{
    chr = chr_out(chr);
    if (!chr->connected || len == 0)
        return len;
    size_t done = 0;
    if (outq_drain(chr) && chr->connected) {
        ssize_t n = backend_write(chr, buf, len);
        if (n < 0 && n != -EAGAIN)
            return n;
        done = n > 0 ? (size_t)n : 0;
    }
    if (!chr->connected)
        return len;                 /* discarded, as for any disconnected backend */
    if (done < len)
        done += outq_put(chr, buf + done, len - done);
    return done;
}

bool chr_wait_writable(Chardev *chr, int timeout_ms)
{
    chr = chr_out(chr);
    if (!chr->connected || chr->out_fd < 0)
        return true;
    struct pollfd p = { .fd = chr->out_fd, .events = POLLOUT };
    return poll(&p, 1, timeout_ms) > 0;
}

bool chr_disconnect(Chardev *chr)
{
    chr = chr_out(chr);
    if (!chr->ops->disconnect || !chr->connected)
        return false;
    chr->ops->disconnect(chr);
    return true;
}

void chr_fire_writable(Chardev *chr)
{
    if (chr->out_watch) {
        g_source_remove(chr->out_watch);
        chr->out_watch = 0;
    }
    if (chr->idle_writable) {
        g_source_remove(chr->idle_writable);
        chr->idle_writable = 0;
    }
    /* Callbacks may register again: work on a copy. */
    GArray *w = chr->writable;
    chr->writable = g_array_new(FALSE, FALSE, sizeof(ChrWritable));
    for (guint i = 0; i < w->len; i++) {
        ChrWritable *cb = &g_array_index(w, ChrWritable, i);
        cb->fn(cb->opaque);
    }
    g_array_free(w, TRUE);
}

static gboolean chr_out_ready(int fd, GIOCondition cond, gpointer opaque)
{
    Chardev *chr = opaque;
    if (!outq_drain(chr) && chr->connected)
        return G_SOURCE_CONTINUE;       /* chr_write()'s queue first */
    chr->out_watch = 0;
    chr_fire_writable(chr);
    return G_SOURCE_REMOVE;
}

static gboolean chr_idle_ready(gpointer opaque)
{
    Chardev *chr = opaque;
    chr->idle_writable = 0;
    chr_fire_writable(chr);
    return G_SOURCE_REMOVE;
}

void chr_notify_writable(Chardev *chr, ChrWritableFn *fn, void *opaque)
{
    chr = chr_out(chr);
    for (guint i = 0; i < chr->writable->len; i++) {
        ChrWritable *cb = &g_array_index(chr->writable, ChrWritable, i);
        if (cb->fn == fn && cb->opaque == opaque)
            return;
    }
    g_array_append_val(chr->writable, ((ChrWritable){ fn, opaque }));
    if (chr->out_fd >= 0 && chr->connected)
        chr_arm_out_watch(chr);
    else if (!chr->idle_writable)
        chr->idle_writable = g_idle_add(chr_idle_ready, chr);
}

void chr_cancel_writable(Chardev *chr, ChrWritableFn *fn, void *opaque)
{
    chr = chr_out(chr);
    for (guint i = 0; i < chr->writable->len; i++) {
        ChrWritable *cb = &g_array_index(chr->writable, ChrWritable, i);
        if (cb->fn == fn && cb->opaque == opaque) {
            g_array_remove_index(chr->writable, i);
            break;
        }
    }
    if (chr->writable->len == 0 && chr->out_watch && !outq_pending(chr)) {
        g_source_remove(chr->out_watch);
        chr->out_watch = 0;
    }
}

/* ---- null ---- */

static ssize_t null_write(Chardev *chr, const uint8_t *buf, size_t len) { return len; }

Chardev *chr_open_null(const ChrOpts *o, GError **errp)
{
    static const ChrOps null_ops = { .kind = "null", .write = null_write };
    Chardev *chr = chr_alloc(&null_ops, NULL);
    chr_set_filename(chr, "null", NULL);
    return chr;
}

/* ---- registry ---- */

struct ChrRegistry {
    GPtrArray *list;     /* owned, in order of addition */
};

ChrRegistry *chr_registry_new(void)
{
    ChrRegistry *r = g_new0(ChrRegistry, 1);
    r->list = g_ptr_array_new();
    return r;
}

void chr_registry_free(ChrRegistry *r)
{
    if (!r)
        return;
    for (guint i = r->list->len; i-- > 0;)
        chr_free(r->list->pdata[i]);
    g_ptr_array_free(r->list, TRUE);
    g_free(r);
}

bool chr_registry_add(ChrRegistry *r, Chardev *chr, GError **errp)
{
    if (chr_registry_find(r, chr->id)) {
        g_set_error(errp, G_IO_ERROR, G_IO_ERROR_EXISTS,
                    "-chardev: duplicate chardev id '%s'", chr->id);
        chr_free(chr);
        return false;
    }
    g_ptr_array_add(r->list, chr);
    return true;
}

Chardev *chr_registry_find(ChrRegistry *r, const char *id)
{
    for (guint i = 0; id && i < r->list->len; i++) {
        Chardev *c = r->list->pdata[i];
        if (c->id && !strcmp(c->id, id))
            return c;
    }
    return NULL;
}

void chr_registry_foreach(ChrRegistry *r, void (*fn)(Chardev *c, void *opaque), void *opaque)
{
    for (guint i = 0; i < r->list->len; i++)
        fn(r->list->pdata[i], opaque);
}
