/*
 * The pty backend: a pseudo-terminal master; the guest's console is the slave
 * /dev/pts/N, announced on stdout like QEMU ("char device redirected to ...").
 *
 * When a client closes the slave, the master reports POLLHUP: output is then
 * discarded (so the guest never stalls) and a 1 s timer polls for the next client.
 */
#include "chardev-internal.h"
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <termios.h>
#include <unistd.h>

#define PTY_RECONNECT_MS 1000

typedef struct Pty {
    guint timer;
} Pty;

static bool pty_slave_open(Chardev *chr)
{
    struct pollfd p = { .fd = chr->in_fd, .events = POLLIN };
    return poll(&p, 1, 0) >= 0 && !(p.revents & POLLHUP);
}

static gboolean pty_poll(gpointer opaque)
{
    Chardev *chr = opaque;
    Pty *pty = chr->be;
    if (!pty_slave_open(chr))
        return G_SOURCE_CONTINUE;
    pty->timer = 0;
    chr_set_connected(chr, true);
    return G_SOURCE_REMOVE;
}

static void pty_hangup(Chardev *chr)
{
    Pty *pty = chr->be;
    chr_set_connected(chr, false);
    if (!pty->timer)
        pty->timer = g_timeout_add(PTY_RECONNECT_MS, pty_poll, chr);
}

static ssize_t pty_write(Chardev *chr, const uint8_t *buf, size_t len)
{
    ssize_t n = write(chr->out_fd, buf, len);
    if (n >= 0)
        return n;
    if (errno == EAGAIN || errno == EINTR)
        return -EAGAIN;
    if (errno == EIO) {              /* slave closed: discard until it is back */
        pty_hangup(chr);
        return len;
    }
    return -errno;
}

static void pty_close(Chardev *chr)
{
    Pty *pty = chr->be;
    if (pty->timer)
        g_source_remove(pty->timer);
    g_free(pty);
}

static const ChrOps pty_ops = {
    .kind = "pty", .write = pty_write, .hangup = pty_hangup, .close = pty_close,
};

Chardev *chr_open_pty(const ChrOpts *o, GError **errp)
{
    char name[64];
    struct termios t;
    int fd = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (fd < 0 || grantpt(fd) < 0 || unlockpt(fd) < 0 || ptsname_r(fd, name, sizeof(name))) {
        g_set_error(errp, G_IO_ERROR, G_IO_ERROR_FAILED, "%s: cannot create a pty: %s",
                    o->option, g_strerror(errno));
        if (fd >= 0)
            close(fd);
        return NULL;
    }
    if (tcgetattr(fd, &t) == 0) {
        cfmakeraw(&t);
        tcsetattr(fd, TCSANOW, &t);
    }
    chr_fd_set_nonblock(fd);
    Chardev *chr = chr_alloc(&pty_ops, NULL);
    chr->in_fd = chr->out_fd = fd;
    chr->out_nonblock = true;
    chr->be = g_new0(Pty, 1);
    g_autofree char *label = g_strdup_printf("pty:%s", name);
    chr_set_filename(chr, label, NULL);
    /* QEMU prints this on stdout; scripts (and libvirt) look for it. */
    printf("char device redirected to %s (label %s)\n", name, o->id);
    fflush(stdout);
    return chr;
}
