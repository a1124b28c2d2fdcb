/*
 * -netdev tap and -netdev bridge: a Linux TAP device (/dev/net/tun), as QEMU 7.2's
 * net/tap.c and tap-linux.c: ifname=, script=/downscript= (defaults /etc/qemu-ifup and
 * /etc/qemu-ifdown, "no" for none), fd=/fds= (descriptors passed by the caller, e.g.
 * libvirt), queues= (IFF_MULTI_QUEUE, one fd per queue), vnet_hdr= (IFF_VNET_HDR: the
 * virtio-net header rides on every packet, so checksum and segmentation offloads reach
 * the host kernel), sndbuf=, vhost=/vhostfd(s)= (net/vhost-net.c moves the packets in
 * the kernel), helper=/br= (qemu-bridge-helper creates the tap and passes its fd).
 *
 * Reading: the fd is watched on the main loop; up to TAP_BATCH packets per wakeup go to
 * the peer with net_send(); when the peer queues one (the guest has no buffers), the
 * watch stops until the packet is delivered. Writing: a full tap (EAGAIN) queues the
 * packet and waits for the fd to become writable. A read or write error other than
 * EAGAIN brings the link down (net_backend_failed) and stops the watch.
 */
#include "net-int.h"
#include "vireo/vhost-net.h"
#include <errno.h>
#include <fcntl.h>
#include <glib-unix.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <signal.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#define PATH_NET_TUN            "/dev/net/tun"
#define DEFAULT_SCRIPT          "/etc/qemu-ifup"
#define DEFAULT_DOWNSCRIPT      "/etc/qemu-ifdown"
#define DEFAULT_BRIDGE_HELPER   "/usr/lib/qemu/qemu-bridge-helper"
#define DEFAULT_BRIDGE          "br0"
#define TAP_BUFSIZE             (4096 + 65536)
#define TAP_BATCH               64

typedef struct TapState {
    NetClient *nc;
    int fd;
    unsigned read_watch, write_watch;
    bool read_poll, write_poll, enabled;
    unsigned host_hdr_len;          /* vnet header bytes the tap puts on packets */
    bool using_vnet_hdr;            /* the NIC reads/writes that header itself */
    bool has_ufo;
    bool multiqueue, attached;      /* IFF_MULTI_QUEUE; attached to the device */
    char *down_script, *down_arg;
    struct VhostNet *vhost;
    uint8_t buf[TAP_BUFSIZE];
} TapState;

static void tap_update_watches(TapState *s);

/* ---- fd helpers (tap-linux.c's) ---- */

static int tap_open(char *ifname, size_t ifname_size, bool *vnet_hdr, bool hdr_required,
                    bool mq, GError **errp)
{
    struct ifreq ifr = { .ifr_flags = IFF_TAP | IFF_NO_PI };
    unsigned features = 0;
    int fd = open(PATH_NET_TUN, O_RDWR | O_CLOEXEC);
    if (fd < 0) {
        g_set_error(errp, G_IO_ERROR, g_io_error_from_errno(errno), "could not open %s: %s",
                    PATH_NET_TUN, g_strerror(errno));
        return -1;
    }
    if (ioctl(fd, TUNGETFEATURES, &features) < 0)
        features = 0;
    if (*vnet_hdr) {
        *vnet_hdr = features & IFF_VNET_HDR;
        if (*vnet_hdr)
            ifr.ifr_flags |= IFF_VNET_HDR;
        else if (hdr_required) {
            g_set_error(errp, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED, "vnet_hdr=1 requested, "
                        "but no kernel support for IFF_VNET_HDR available");
            close(fd);
            return -1;
        }
    }
    if (mq) {
        if (!(features & IFF_MULTI_QUEUE)) {
            g_set_error(errp, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED, "multiqueue required, "
                        "but no kernel support for IFF_MULTI_QUEUE available");
            close(fd);
            return -1;
        }
        ifr.ifr_flags |= IFF_MULTI_QUEUE;
    }
    g_strlcpy(ifr.ifr_name, ifname[0] ? ifname : "tap%d", IFNAMSIZ);
    if (ioctl(fd, TUNSETIFF, &ifr) != 0) {
        int e = errno;
        if (ifname[0])
            g_set_error(errp, G_IO_ERROR, g_io_error_from_errno(e),
                        "could not configure %s (%s): %s", PATH_NET_TUN, ifr.ifr_name,
                        g_strerror(e));
        else
            g_set_error(errp, G_IO_ERROR, g_io_error_from_errno(e), "could not configure %s: %s",
                        PATH_NET_TUN, g_strerror(e));
        close(fd);
        return -1;
    }
    g_strlcpy(ifname, ifr.ifr_name, ifname_size);
    fcntl(fd, F_SETFL, O_NONBLOCK);
    return fd;
}

static bool tap_probe_vnet_hdr(int fd)
{
    struct ifreq ifr;
    return ioctl(fd, TUNGETIFF, &ifr) == 0 && (ifr.ifr_flags & IFF_VNET_HDR);
}

static bool tap_probe_has_ufo(int fd)
{
    unsigned off = TUN_F_CSUM | TUN_F_UFO;
    return ioctl(fd, TUNSETOFFLOAD, off) == 0;
}

/* Runs @script IFNAME with only 0-2 and the tap fd open; waits for it (start-up). */
static bool launch_script(const char *script, const char *ifname, int fd, GError **errp)
{
    pid_t pid = fork();
    if (pid < 0) {
        g_set_error(errp, G_IO_ERROR, G_IO_ERROR_FAILED, "%s: could not launch network "
                    "script: %s", script, g_strerror(errno));
        return false;
    }
    if (pid == 0) {
        int max = sysconf(_SC_OPEN_MAX);
        for (int i = 3; i < max; i++)
            if (i != fd)
                close(i);
        signal(SIGPIPE, SIG_DFL);
        execl(script, script, ifname, (char *)NULL);
        _exit(1);
    }
    int status;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
        return true;
    g_set_error(errp, G_IO_ERROR, G_IO_ERROR_FAILED, "%s: could not launch network script",
                script);
    return false;
}

static bool use_script(const char *s)
{
    return s && s[0] && strcmp(s, "no");
}

/* ---- the client ---- */

static ssize_t tap_write(TapState *s, const struct iovec *iov, int iovcnt)
{
    ssize_t n;
    do {
        n = writev(s->fd, iov, iovcnt);
    } while (n < 0 && errno == EINTR);
    if (n < 0 && errno == EAGAIN) {
        s->write_poll = true;
        tap_update_watches(s);
        return 0;
    }
    if (n < 0) {
        net_backend_failed(s->nc, g_strerror(errno));
        return iov_size_n(iov, iovcnt);       /* dropped; the link is down now */
    }
    return n;
}

static ssize_t tap_receive(NetClient *nc, const struct iovec *iov, int iovcnt)
{
    TapState *s = nc->opaque;
    if (s->host_hdr_len && !s->using_vnet_hdr) {    /* the NIC sends raw frames */
        static const uint8_t zero[NET_VNET_HDR_LEN];
        struct iovec v[iovcnt + 1];
        v[0] = (struct iovec){ (void *)zero, s->host_hdr_len };
        memcpy(v + 1, iov, iovcnt * sizeof(*iov));
        ssize_t r = tap_write(s, v, iovcnt + 1);
        return r > 0 ? MAX(r - (ssize_t)s->host_hdr_len, 1) : r;
    }
    return tap_write(s, iov, iovcnt);
}

static void tap_sent(NetClient *nc, ssize_t ret)
{
    TapState *s = nc->opaque;
    s->read_poll = true;
    tap_update_watches(s);
}

static gboolean tap_readable(gint fd, GIOCondition cond, gpointer opaque)
{
    TapState *s = opaque;
    for (int n = 0; n < TAP_BATCH; n++) {
        ssize_t len = read(s->fd, s->buf, sizeof(s->buf));
        if (len < 0 && (errno == EAGAIN || errno == EINTR))
            break;
        if (len <= 0) {
            net_backend_failed(s->nc, len ? g_strerror(errno) : "end of file");
            s->read_poll = false;
            tap_update_watches(s);
            break;
        }
        uint8_t *p = s->buf;
        if (s->host_hdr_len && !s->using_vnet_hdr) {
            if ((size_t)len < s->host_hdr_len)
                continue;
            p += s->host_hdr_len;
            len -= s->host_hdr_len;
        }
        if (net_send_buf(s->nc, p, len, tap_sent) == 0) {
            s->read_poll = false;             /* until tap_sent: nothing is dropped */
            tap_update_watches(s);
            break;
        }
    }
    return G_SOURCE_CONTINUE;
}

static gboolean tap_writable(gint fd, GIOCondition cond, gpointer opaque)
{
    TapState *s = opaque;
    s->write_poll = false;
    tap_update_watches(s);
    net_flush_queued(s->nc);
    return G_SOURCE_CONTINUE;
}

static void tap_update_watches(TapState *s)
{
    bool r = s->enabled && s->read_poll && s->fd >= 0;
    bool w = s->enabled && s->write_poll && s->fd >= 0;
    if (r && !s->read_watch)
        s->read_watch = g_unix_fd_add(s->fd, G_IO_IN, tap_readable, s);
    else if (!r && s->read_watch) {
        g_source_remove(s->read_watch);
        s->read_watch = 0;
    }
    if (w && !s->write_watch)
        s->write_watch = g_unix_fd_add(s->fd, G_IO_OUT, tap_writable, s);
    else if (!w && s->write_watch) {
        g_source_remove(s->write_watch);
        s->write_watch = 0;
    }
}

static bool tap_can_receive(NetClient *nc)
{
    TapState *s = nc->opaque;
    return !s->write_poll;
}

static bool tap_has_vnet_hdr(NetClient *nc)
{
    return ((TapState *)nc->opaque)->host_hdr_len != 0;
}

static bool tap_has_ufo(NetClient *nc)
{
    return ((TapState *)nc->opaque)->has_ufo;
}

static void tap_using_vnet_hdr(NetClient *nc, bool on)
{
    TapState *s = nc->opaque;
    s->using_vnet_hdr = on && s->host_hdr_len;
}

static void tap_set_offload(NetClient *nc, const NetOffloads *o)
{
    TapState *s = nc->opaque;
    unsigned f = 0;
    if (!s->host_hdr_len)
        return;
    if (o->csum) {
        f |= TUN_F_CSUM;
        f |= o->tso4 ? TUN_F_TSO4 : 0;
        f |= o->tso6 ? TUN_F_TSO6 : 0;
        f |= o->ecn ? TUN_F_TSO_ECN : 0;
        f |= o->ufo && s->has_ufo ? TUN_F_UFO : 0;
    }
    if (ioctl(s->fd, TUNSETOFFLOAD, f) != 0 && (f & TUN_F_UFO))
        ioctl(s->fd, TUNSETOFFLOAD, f & ~TUN_F_UFO);
}

static void tap_poll(NetClient *nc, bool enable)
{
    TapState *s = nc->opaque;
    s->enabled = enable;
    s->read_poll = enable;
    tap_update_watches(s);
}

static void tap_set_queue_enabled(NetClient *nc, bool on)
{
    TapState *s = nc->opaque;
    struct ifreq ifr = { .ifr_flags = on ? IFF_ATTACH_QUEUE : IFF_DETACH_QUEUE };
    if (!s->multiqueue || s->attached == on)
        return;
    if (ioctl(s->fd, TUNSETQUEUE, &ifr) == 0)
        s->attached = on;
    else
        log_budget_warn(&net_state(nc->m)->log, "netdev %s: queue %u: TUNSETQUEUE: %s",
                        nc->name, nc->queue_index, g_strerror(errno));
}

static int tap_get_fd(NetClient *nc)
{
    return ((TapState *)nc->opaque)->fd;
}

static struct VhostNet *tap_get_vhost(NetClient *nc)
{
    return ((TapState *)nc->opaque)->vhost;
}

static void tap_cleanup(NetClient *nc)
{
    TapState *s = nc->opaque;
    vhost_net_free(s->vhost);
    s->enabled = false;
    tap_update_watches(s);
    if (s->down_script) {
        launch_script(s->down_script, s->down_arg, s->fd, NULL);
        g_free(s->down_script);
        g_free(s->down_arg);
    }
    if (s->fd >= 0)
        close(s->fd);
    g_free(s);
}

static const NetClientOps tap_ops = {
    .kind = NET_KIND_TAP,
    .type = "tap",
    .receive = tap_receive,
    .can_receive = tap_can_receive,
    .cleanup = tap_cleanup,
    .has_vnet_hdr = tap_has_vnet_hdr,
    .has_ufo = tap_has_ufo,
    .using_vnet_hdr = tap_using_vnet_hdr,
    .set_offload = tap_set_offload,
    .poll = tap_poll,
    .set_queue_enabled = tap_set_queue_enabled,
    .get_fd = tap_get_fd,
    .get_vhost = tap_get_vhost,
};

/* ---- creation ---- */

static bool set_sndbuf(int fd, const NetdevTapOptions *t, GError **errp)
{
    int sndbuf = t->has_sndbuf && t->sndbuf ? (int)MIN(t->sndbuf, (uint64_t)G_MAXINT)
                                             : G_MAXINT;
    if (ioctl(fd, TUNSETSNDBUF, &sndbuf) == -1 && t->has_sndbuf) {
        g_set_error(errp, G_IO_ERROR, g_io_error_from_errno(errno),
                    "TUNSETSNDBUF ioctl failed: %s", g_strerror(errno));
        return false;
    }
    return true;
}

/* One queue: the client for an open tap fd (owned from here on). */
static TapState *tap_one(Machine *m, NetBackend *nd, unsigned q, int fd, bool vnet_hdr,
                         const NetdevTapOptions *t, GError **errp)
{
    TapState *s = g_new0(TapState, 1);
    s->fd = fd;
    s->nc = net_client_new(m, &tap_ops, "tap", nd->id, s);
    nd->nc[q] = s->nc;
    s->enabled = s->read_poll = true;
    s->attached = true;
    s->multiqueue = nd->queues > 1;
    s->has_ufo = tap_probe_has_ufo(fd);
    if (vnet_hdr) {
        int len = NET_VNET_HDR_LEN;
        /* The virtio 1.x header (with num_buffers): the NIC's layout, so its guest
         * buffers can go to the tap as they are. */
        if (ioctl(fd, TUNSETVNETHDRSZ, &len) == 0)
            s->host_hdr_len = len;
    }
    tap_set_offload(s->nc, &(NetOffloads){ 0 });
    if (!set_sndbuf(fd, t, errp))
        return NULL;
    tap_update_watches(s);
    return s;
}

static int parse_fd(const char *what, const char *s, GError **errp)
{
    uint64_t v;
    if (!str_to_u64(s, &v) || v > G_MAXINT || fcntl((int)v, F_GETFD) < 0) {
        g_set_error(errp, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                    "%s=%s: not an open file descriptor (monitor fd names from getfd are "
                    "not supported by Vireo)", what, s);
        return -1;
    }
    return (int)v;
}

static bool start_vhost(Machine *m, TapState *s, unsigned q, const NetdevTapOptions *t,
                        const char *vhostfd, GError **errp)
{
    bool want = t->has_vhost ? t->vhost : (vhostfd || (t->has_vhostforce && t->vhostforce));
    if (!want) {
        if (vhostfd) {
            g_set_error(errp, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                        "vhostfd(s)= is not valid without vhost");
            return false;
        }
        return true;
    }
    int vfd;
    if (vhostfd) {
        if ((vfd = parse_fd("vhostfd", vhostfd, errp)) < 0)
            return false;
    } else if ((vfd = open("/dev/vhost-net", O_RDWR | O_CLOEXEC)) < 0) {
        g_set_error(errp, G_IO_ERROR, g_io_error_from_errno(errno),
                    "tap: open vhost char device failed: %s", g_strerror(errno));
        return false;
    }
    if (!s->host_hdr_len) {
        close(vfd);
        g_set_error(errp, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED,
                    "vhost-net requested but the tap has no virtio-net header (vnet_hdr=off)");
        return false;
    }
    s->vhost = vhost_net_new(m, vfd, s->fd, t->has_poll_us ? t->poll_us : 0, errp);
    if (!s->vhost) {
        g_prefix_error(errp, "vhost-net requested but could not be initialized: ");
        return false;
    }
    return true;
}

static bool check_exclusive(const NetdevTapOptions *t, GError **errp)
{
    const char *msg = NULL;
    if (t->fd && (t->ifname || t->script || t->downscript || t->has_vnet_hdr || t->helper ||
                  t->has_queues || t->fds || t->vhostfds))
        msg = "ifname=, script=, downscript=, vnet_hdr=, helper=, queues=, fds=, and "
              "vhostfds= are invalid with fd=";
    else if (t->fds && (t->ifname || t->script || t->downscript || t->has_vnet_hdr ||
                        t->helper || t->has_queues || t->vhostfd))
        msg = "ifname=, script=, downscript=, vnet_hdr=, helper=, queues=, and vhostfd= "
              "are invalid with fds=";
    else if (t->helper && (t->ifname || t->script || t->downscript || t->has_vnet_hdr ||
                           t->has_queues || t->fds || t->vhostfds))
        msg = "ifname=, script=, downscript=, vnet_hdr=, queues=, fds=, and vhostfds= are "
              "invalid with helper=";
    else if (!t->fd && !t->fds && !t->helper && t->vhostfds)
        msg = "vhostfds= is invalid if fds= wasn't specified";
    if (msg)
        g_set_error_literal(errp, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT, msg);
    return !msg;
}

/* fd=N or fds=N:M:...: descriptors the caller opened (vnet_hdr probed from them). */
static bool tap_from_fds(Machine *m, NetBackend *nd, const NetdevTapOptions *t, GError **errp)
{
    g_auto(GStrv) fds = g_strsplit(t->fd ? t->fd : t->fds, ":", -1);
    g_auto(GStrv) vfds = t->vhostfds ? g_strsplit(t->vhostfds, ":", -1) : NULL;
    if (vfds && g_strv_length(vfds) != g_strv_length(fds)) {
        g_set_error(errp, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                    "The number of fds passed does not match the number of vhostfds passed");
        return false;
    }
    bool hdr0 = false;
    for (unsigned i = 0; fds[i]; i++) {
        int fd = parse_fd(t->fd ? "fd" : "fds", fds[i], errp);
        if (fd < 0)
            return false;
        fcntl(fd, F_SETFL, O_NONBLOCK);
        bool hdr = tap_probe_vnet_hdr(fd);
        if (i == 0)
            hdr0 = hdr;
        else if (hdr != hdr0) {
            g_set_error(errp, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                        "vnet_hdr not consistent across given tap fds");
            return false;
        }
        TapState *s = tap_one(m, nd, i, fd, hdr, t, errp);
        if (!s || !start_vhost(m, s, i, t, vfds ? vfds[i] : t->vhostfd, errp))
            return false;
        net_client_set_info(s->nc, "fd=%d", fd);
    }
    return true;
}

bool net_init_tap(Machine *m, NetBackend *nd, const NetdevTapOptions *t, GError **errp)
{
    if (!check_exclusive(t, errp))
        return false;
    if (t->fd || t->fds)
        return tap_from_fds(m, nd, t, errp);
    if (t->helper) {
        NetdevBridgeOptions b = { .br = t->br, .helper = t->helper };
        return net_init_bridge(m, nd, &b, errp);
    }
    const char *script = t->script ? t->script : DEFAULT_SCRIPT;
    const char *down = t->downscript ? t->downscript : DEFAULT_DOWNSCRIPT;
    char ifname[IFNAMSIZ] = "";
    if (t->ifname)
        g_strlcpy(ifname, t->ifname, sizeof(ifname));
    for (unsigned i = 0; i < nd->queues; i++) {
        bool hdr = t->has_vnet_hdr ? t->vnet_hdr : true;
        int fd = tap_open(ifname, sizeof(ifname), &hdr, t->has_vnet_hdr && t->vnet_hdr,
                          nd->queues > 1, errp);
        if (fd < 0)
            return false;
        if (i == 0 && use_script(script) && !launch_script(script, ifname, fd, errp)) {
            close(fd);
            return false;
        }
        TapState *s = tap_one(m, nd, i, fd, hdr, t, errp);
        if (!s || !start_vhost(m, s, i, t, t->vhostfd, errp))
            return false;
        net_client_set_info(s->nc, "ifname=%s,script=%s,downscript=%s", ifname,
                            i ? "no" : script, i ? "no" : down);
        if (i == 0 && use_script(down)) {
            s->down_script = g_strdup(down);
            s->down_arg = g_strdup(ifname);
        }
    }
    return true;
}

/* ---- bridge: QEMU's helper convention ---- */

/* Runs "HELPER --use-vnet --br=BR --fd=N" (through /bin/sh -c when HELPER has
 * arguments) and receives the tap fd it opened over a socketpair (SCM_RIGHTS). */
static int bridge_helper(const char *helper, const char *br, GError **errp)
{
    int sv[2];
    if (socketpair(PF_UNIX, SOCK_STREAM, 0, sv) < 0) {
        g_set_error(errp, G_IO_ERROR, G_IO_ERROR_FAILED, "socketpair() failed: %s",
                    g_strerror(errno));
        return -1;
    }
    pid_t pid = fork();
    if (pid < 0) {
        close(sv[0]), close(sv[1]);
        g_set_error(errp, G_IO_ERROR, G_IO_ERROR_FAILED, "failed to fork: %s", g_strerror(errno));
        return -1;
    }
    if (pid == 0) {
        int max = sysconf(_SC_OPEN_MAX);
        for (int i = 3; i < max; i++)
            if (i != sv[1])
                close(i);
        char fdbuf[32], brbuf[IFNAMSIZ + 8];
        g_snprintf(fdbuf, sizeof(fdbuf), "--fd=%d", sv[1]);
        g_snprintf(brbuf, sizeof(brbuf), "--br=%s", br);
        if (strchr(helper, ' ') || strchr(helper, '\t')) {
            g_autofree char *cmd = g_strdup_printf("%s --use-vnet %s %s", helper, fdbuf, brbuf);
            execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
        } else {
            execl(helper, helper, "--use-vnet", fdbuf, brbuf, (char *)NULL);
        }
        _exit(1);
    }
    close(sv[1]);
    int fd = -1;
    char dummy;
    char ctl[CMSG_SPACE(sizeof(int))];
    struct iovec iov = { &dummy, 1 };
    struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl,
                          .msg_controllen = sizeof(ctl) };
    ssize_t r;
    do {
        r = recvmsg(sv[0], &msg, MSG_CMSG_CLOEXEC);
    } while (r < 0 && errno == EINTR);
    struct cmsghdr *c = r > 0 ? CMSG_FIRSTHDR(&msg) : NULL;
    if (c && c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS &&
        c->cmsg_len == CMSG_LEN(sizeof(int)))
        memcpy(&fd, CMSG_DATA(c), sizeof(int));
    close(sv[0]);
    int status;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    if (fd < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        if (fd >= 0)
            close(fd);
        g_set_error(errp, G_IO_ERROR, G_IO_ERROR_FAILED, "bridge helper failed");
        return -1;
    }
    return fd;
}

bool net_init_bridge(Machine *m, NetBackend *nd, const NetdevBridgeOptions *b, GError **errp)
{
    const char *helper = b->helper ? b->helper : DEFAULT_BRIDGE_HELPER;
    const char *br = b->br ? b->br : DEFAULT_BRIDGE;
    int fd = bridge_helper(helper, br, errp);
    if (fd < 0)
        return false;
    fcntl(fd, F_SETFL, O_NONBLOCK);
    NetdevTapOptions none = { 0 };
    TapState *s = tap_one(m, nd, 0, fd, tap_probe_vnet_hdr(fd), &none, errp);
    if (!s)
        return false;
    net_client_set_info(s->nc, "helper=%s,br=%s", helper, br);
    return true;
}
