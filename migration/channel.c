/*
 * A migration channel: blocking, buffered I/O on one fd for the migration threads
 * (never the main loop), with a running checksum of every byte, byte counters, a
 * shared bandwidth limit and cancellation: a channel given a wake descriptor
 * (mc_set_cancel) is non-blocking and waits in poll() on its fd and the wake
 * descriptor together, so a cancel ends any read or write, on a socket, a pipe or an
 * fd: alike (the canceller also shuts sockets down).
 */
#include "migration.h"
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define WBUF_SIZE (512u << 10)
#define RBUF_SIZE (256u << 10)

/* ---- checksum: four-lane Fletcher-style sums over 64-bit words ------------------- */

static inline uint64_t load64(const uint8_t *p)
{
    uint64_t v;
    memcpy(&v, p, 8);
    return v;
}

static void csum_block(MigCsum *c, const uint8_t *p)
{
    for (int k = 0; k < 4; k++) {
        c->a[k] += load64(p + 8 * k);
        c->b[k] += c->a[k];
    }
}

void mig_csum_init(MigCsum *c)
{
    memset(c, 0, sizeof(*c));
}

void mig_csum_update(MigCsum *c, const void *data, size_t n)
{
    const uint8_t *p = data;
    c->len += n;
    if (c->nc) {
        size_t k = MIN(n, 32 - c->nc);
        memcpy(c->carry + c->nc, p, k);
        c->nc += k;
        p += k;
        n -= k;
        if (c->nc < 32)
            return;
        csum_block(c, c->carry);
        c->nc = 0;
    }
    for (; n >= 32; p += 32, n -= 32)
        csum_block(c, p);
    memcpy(c->carry, p, n);
    c->nc = n;
}

uint64_t mig_csum_value(const MigCsum *c0)
{
    MigCsum c = *c0;
    if (c.nc) {
        memset(c.carry + c.nc, 0, 32 - c.nc);
        csum_block(&c, c.carry);
    }
    uint64_t h = c.len * 0x9e3779b97f4a7c15ull;
    for (int k = 0; k < 4; k++)
        h = (h ^ c.a[k]) * 0xff51afd7ed558ccdull + (c.b[k] ^ (h >> 29));
    return h ^ (h >> 32);
}

/* ---- bandwidth limit ----------------------------------------------------------------- */

#define RATE_WINDOW_NS 100000000LL      /* as QEMU: budgets per 100 ms */

void mig_rate_init(MigRate *r, uint64_t bytes_per_sec)
{
    memset(r, 0, sizeof(*r));
    g_mutex_init(&r->lock);
    r->limit = bytes_per_sec;
}

void mig_rate_set(MigRate *r, uint64_t bytes_per_sec)
{
    g_mutex_lock(&r->lock);
    r->limit = bytes_per_sec;
    g_mutex_unlock(&r->lock);
}

/* Accounts @n bytes and sleeps (in slices, watching @cancel) when the window's
 * budget is spent. */
static void rate_account(MigRate *r, size_t n, const volatile int *cancel)
{
    for (;;) {
        g_mutex_lock(&r->lock);
        int64_t now = g_get_monotonic_time() * 1000;
        if (now - r->window_start >= RATE_WINDOW_NS) {
            r->window_start = now;
            r->window_bytes = 0;
        }
        uint64_t budget = r->limit ? r->limit / 10 : UINT64_MAX;
        bool ok = r->window_bytes < budget;
        if (ok)
            r->window_bytes += n;
        int64_t wait = r->window_start + RATE_WINDOW_NS - now;
        g_mutex_unlock(&r->lock);
        if (ok || (cancel && *cancel))
            return;
        g_usleep(MIN(wait / 1000 + 1, 20000));
    }
}

void mig_rate_account(MigChannel *c, size_t n)
{
    if (c->rate)
        rate_account(c->rate, n, c->cancel);
}

/* ---- the channel ---------------------------------------------------------------------- */

MigChannel *mc_new(int fd, const char *name)
{
    MigChannel *c = g_new0(MigChannel, 1);
    int type;
    socklen_t len = sizeof(type);
    c->fd = fd;
    c->wake_fd = -1;
    c->name = g_strdup(name);
    c->is_socket = getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) == 0;
    mig_csum_init(&c->csum);
    return c;
}

MigChannel *mc_new_io(const char *name, ssize_t (*io)(void *, void *, size_t, bool),
                      void *opaque)
{
    MigChannel *c = g_new0(MigChannel, 1);
    c->fd = -1;
    c->wake_fd = -1;
    c->name = g_strdup(name);
    c->io = io;
    c->io_opaque = opaque;
    mig_csum_init(&c->csum);
    return c;
}

void mc_set_cancel(MigChannel *c, const volatile int *cancel, int wake_fd)
{
    c->cancel = cancel;
    c->wake_fd = wake_fd;
    if (c->fd >= 0 && wake_fd >= 0)
        fcntl(c->fd, F_SETFL, fcntl(c->fd, F_GETFL) | O_NONBLOCK);
}

/* One read or write; with a wake descriptor, a wait for the fd that a cancel ends
 * (-1, errno ECANCELED). */
static ssize_t do_io(MigChannel *c, void *buf, size_t n, bool out)
{
    if (c->io)
        return c->io(c->io_opaque, buf, n, out);
    for (;;) {
        ssize_t k = !out ? read(c->fd, buf, n)
                         : c->is_socket ? send(c->fd, buf, n, MSG_NOSIGNAL)
                                        : write(c->fd, buf, n);
        if (k >= 0 || (errno != EAGAIN && errno != EWOULDBLOCK) || c->wake_fd < 0)
            return k;
        struct pollfd p[2] = { { .fd = c->fd, .events = out ? POLLOUT : POLLIN },
                               { .fd = c->wake_fd, .events = POLLIN } };
        int r = poll(p, 2, -1);
        if (r < 0 && errno != EINTR)
            return -1;
        if (r > 0 && p[1].revents) {
            errno = ECANCELED;
            return -1;
        }
    }
}

void mc_free(MigChannel *c)
{
    if (!c)
        return;
    if (c->fd >= 0)
        close(c->fd);
    g_free(c->wbuf);
    g_free(c->rbuf);
    g_free(c->name);
    g_free(c->errmsg);
    mig_mapped_free(c->mapped);
    g_free(c);
}

static void mc_fail(MigChannel *c, int err, const char *what)
{
    if (c->error)
        return;
    c->error = err;
    g_free(c->errmsg);              /* a reply after a failure clears c->error only */
    c->errmsg = g_strdup_printf("%s: %s", c->name, what);
}

bool mc_failed(const MigChannel *c) { return c->error != 0; }

void mc_set_error(MigChannel *c, GError **errp)
{
    g_set_error(errp, G_IO_ERROR, G_IO_ERROR_FAILED, "%s",
                c->errmsg ? c->errmsg : "migration channel failed");
}

/* Writes all of @p or fails (sticky). */
static bool write_all(MigChannel *c, const uint8_t *p, size_t n)
{
    while (n && !c->error) {
        if (c->cancel && *c->cancel) {
            mc_fail(c, -ECANCELED, "cancelled");
            break;
        }
        if (c->rate)
            rate_account(c->rate, n, c->cancel);
        ssize_t k = do_io(c, (void *)p, n, true);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0) {
            mc_fail(c, k < 0 ? -errno : -EPIPE, k < 0 ? g_strerror(errno) : "short write");
            break;
        }
        p += k;
        n -= k;
        c->bytes += k;
    }
    return !c->error;
}

bool mc_flush(MigChannel *c)
{
    if (!c->wlen || c->error)
        return !c->error;
    mig_csum_update(&c->csum, c->wbuf, c->wlen);
    bool ok = write_all(c, c->wbuf, c->wlen);
    c->wlen = 0;
    return ok;
}

void mc_put(MigChannel *c, const void *data, size_t n)
{
    const uint8_t *p = data;
    if (!c->wbuf)
        c->wbuf = g_malloc(WBUF_SIZE);
    while (n && !c->error) {
        size_t k = MIN(n, WBUF_SIZE - c->wlen);
        memcpy(c->wbuf + c->wlen, p, k);
        c->wlen += k;
        p += k;
        n -= k;
        if (c->wlen == WBUF_SIZE)
            mc_flush(c);
    }
}

void mc_put_le(MigChannel *c, uint64_t v, unsigned size)
{
    uint8_t b[8];
    for (unsigned i = 0; i < size; i++)
        b[i] = v >> (8 * i);
    mc_put(c, b, size);
}

/* Reads @n bytes straight into @dst (no buffer), or fails. */
static bool read_all(MigChannel *c, uint8_t *dst, size_t n)
{
    while (n && !c->error) {
        if (c->cancel && *c->cancel) {
            mc_fail(c, -ECANCELED, "cancelled");
            break;
        }
        ssize_t k = do_io(c, dst, n, false);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0) {
            mc_fail(c, k < 0 ? -errno : -EPIPE, k < 0 ? g_strerror(errno)
                                                      : "the stream ends too early");
            break;
        }
        dst += k;
        n -= k;
        c->bytes += k;
    }
    return !c->error;
}

/* Refills the read buffer with whatever is available (at least one byte). */
static bool refill(MigChannel *c)
{
    if (!c->rbuf)
        c->rbuf = g_malloc(RBUF_SIZE);
    c->rpos = c->rend = 0;
    while (!c->error) {
        ssize_t k = do_io(c, c->rbuf, RBUF_SIZE, false);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0) {
            mc_fail(c, k < 0 ? -errno : -EPIPE, k < 0 ? g_strerror(errno)
                                                      : "the stream ends too early");
            return false;
        }
        c->rend = k;
        c->bytes += k;
        return true;
    }
    return false;
}

bool mc_get(MigChannel *c, void *data, size_t n)
{
    uint8_t *p = data;
    while (n && !c->error) {
        if (c->rpos == c->rend && !refill(c))
            break;
        size_t k = MIN(n, c->rend - c->rpos);
        memcpy(p, c->rbuf + c->rpos, k);
        c->rpos += k;
        p += k;
        n -= k;
    }
    if (!c->error)
        mig_csum_update(&c->csum, data, p - (uint8_t *)data);
    return !c->error;
}

bool mc_get_direct(MigChannel *c, void *dst, size_t n)
{
    uint8_t *p = dst;
    size_t k = MIN(n, c->rend - c->rpos);
    if (k)
        memcpy(p, c->rbuf + c->rpos, k);
    c->rpos += k;
    if (!read_all(c, p + k, n - k))
        return false;
    mig_csum_update(&c->csum, dst, n);
    return true;
}

bool mc_get_le(MigChannel *c, uint64_t *v, unsigned size)
{
    uint8_t b[8];
    *v = 0;
    if (!mc_get(c, b, size))
        return false;
    for (unsigned i = 0; i < size; i++)
        *v |= (uint64_t)b[i] << (8 * i);
    return true;
}

/* The destination may have written a message before closing: peek without blocking. */
bool mc_readable(MigChannel *c, int timeout_ms)
{
    if (c->rpos < c->rend)
        return true;
    if (c->fd < 0)
        return false;
    struct pollfd p = { .fd = c->fd, .events = POLLIN };
    return poll(&p, 1, timeout_ms) > 0;
}

void mc_shutdown(MigChannel *c)
{
    if (c && c->fd >= 0 && c->is_socket)
        shutdown(c->fd, SHUT_RDWR);
}
