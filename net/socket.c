/*
 * Socket backends, as QEMU 7.2 has them:
 *   -netdev socket: listen=[HOST]:PORT / connect=HOST:PORT (TCP), mcast=MADDR:PORT
 *                   [,localaddr=ADDR] (UDP multicast), udp=HOST:PORT,localaddr=HOST:PORT,
 *                   fd=N (a connected socket the caller opened);
 *   -netdev stream: addr=SocketAddress (inet, unix, fd), server=on|off;
 *   -netdev dgram:  local=/remote= SocketAddress (UDP unicast or multicast, unix).
 * Stream sockets carry each frame behind a 4-byte big-endian length (QEMU's format, so a
 * Vireo and a QEMU guest can share a wire); datagram sockets carry one frame each.
 * A closed or failed connection sets the link down (the NIC sees no carrier); a listening
 * backend takes the next connection and brings the link back up.
 */
#include "net-int.h"
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <glib-unix.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#define SOCK_BUF  (4096 + 65536)

typedef struct SockNet {
    NetClient *nc;
    bool stream;                    /* length-prefixed frames on a stream socket */
    int fd, listen_fd;
    unsigned read_watch, write_watch, listen_watch, connect_watch;
    bool read_poll, write_poll;
    struct sockaddr_storage dest;   /* datagram destination */
    socklen_t dest_len;
    /* stream receive reassembly */
    uint32_t want;                  /* frame length being read (0: reading the prefix) */
    uint32_t have;
    uint8_t lenbuf[4];
    unsigned lenhave;
    size_t send_index;              /* bytes of the current frame already written */
    char *desc;                     /* for messages */
    uint8_t rbuf[SOCK_BUF];
    uint8_t frame[SOCK_BUF];
} SockNet;

static void sock_update(SockNet *s);

static bool fail(GError **errp, const char *fmt, ...) G_GNUC_PRINTF(2, 3);
static bool fail(GError **errp, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    g_autofree char *msg = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    g_set_error_literal(errp, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT, msg);
    return false;
}

/* ---- connection state ---- */

static void sock_close_conn(SockNet *s, const char *why)
{
    if (s->fd < 0)
        return;
    s->read_poll = s->write_poll = false;
    sock_update(s);
    close(s->fd);
    s->fd = -1;
    s->want = s->have = s->lenhave = 0;
    s->send_index = 0;
    net_backend_failed(s->nc, why);
    if (s->listen_fd >= 0)
        sock_update(s);                     /* accept the next one */
}

static void link_up(SockNet *s)
{
    NetClient *nc = s->nc;
    if (!nc->link_down)
        return;
    nc->link_down = false;
    if (nc->peer && nc->peer->ops->kind == NET_KIND_NIC && nc->peer->link_down) {
        nc->peer->link_down = false;
        if (nc->peer->ops->link_status_changed)
            nc->peer->ops->link_status_changed(nc->peer);
    }
}

static void sock_sent(NetClient *nc, ssize_t ret)
{
    SockNet *s = nc->opaque;
    s->read_poll = s->fd >= 0;
    sock_update(s);
}

/* Feeds stream bytes through the length-prefix reassembly. */
static void stream_input(SockNet *s, const uint8_t *p, size_t n)
{
    while (n && s->fd >= 0) {
        if (s->lenhave < 4) {
            size_t k = MIN(n, 4 - s->lenhave);
            memcpy(s->lenbuf + s->lenhave, p, k);
            s->lenhave += k, p += k, n -= k;
            if (s->lenhave < 4)
                return;
            s->want = (uint32_t)s->lenbuf[0] << 24 | s->lenbuf[1] << 16 | s->lenbuf[2] << 8 |
                      s->lenbuf[3];
            s->have = 0;
            if (s->want > sizeof(s->frame)) {
                sock_close_conn(s, "frame longer than 69632 bytes on the stream");
                return;
            }
        }
        size_t k = MIN(n, s->want - s->have);
        memcpy(s->frame + s->have, p, k);
        s->have += k, p += k, n -= k;
        if (s->have == s->want) {
            s->lenhave = 0;
            if (net_send_buf(s->nc, s->frame, s->want, sock_sent) == 0)
                s->read_poll = false;           /* until sock_sent */
        }
    }
}

static gboolean sock_readable(gint fd, GIOCondition cond, gpointer opaque)
{
    SockNet *s = opaque;
    ssize_t n;
    do {
        n = recv(s->fd, s->rbuf, sizeof(s->rbuf), 0);
    } while (n < 0 && errno == EINTR);
    if (n < 0 && errno == EAGAIN)
        return G_SOURCE_CONTINUE;
    if (n < 0 || (n == 0 && s->stream)) {
        sock_close_conn(s, n ? g_strerror(errno) : "connection closed by the peer");
        return G_SOURCE_CONTINUE;
    }
    if (s->stream)
        stream_input(s, s->rbuf, n);
    else if (net_send_buf(s->nc, s->rbuf, n, sock_sent) == 0)
        s->read_poll = false;
    sock_update(s);
    return G_SOURCE_CONTINUE;
}

static gboolean sock_writable(gint fd, GIOCondition cond, gpointer opaque)
{
    SockNet *s = opaque;
    s->write_poll = false;
    sock_update(s);
    net_flush_queued(s->nc);
    return G_SOURCE_CONTINUE;
}

static gboolean sock_accept(gint fd, GIOCondition cond, gpointer opaque)
{
    SockNet *s = opaque;
    int c = accept4(s->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (c < 0)
        return G_SOURCE_CONTINUE;
    if (s->fd >= 0) {                       /* one connection at a time, as QEMU */
        close(c);
        return G_SOURCE_CONTINUE;
    }
    s->fd = c;
    s->read_poll = true;
    net_client_set_info(s->nc, "%s: connection accepted", s->desc);
    link_up(s);
    sock_update(s);
    return G_SOURCE_CONTINUE;
}

static gboolean sock_connected(gint fd, GIOCondition cond, gpointer opaque)
{
    SockNet *s = opaque;
    int err = 0;
    socklen_t len = sizeof(err);
    s->connect_watch = 0;
    if (getsockopt(s->fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
        err = errno;
    if (err) {
        sock_close_conn(s, g_strerror(err));
        return G_SOURCE_REMOVE;
    }
    s->read_poll = true;
    link_up(s);
    sock_update(s);
    return G_SOURCE_REMOVE;
}

static void watch(unsigned *id, bool on, int fd, GIOCondition c, GUnixFDSourceFunc fn,
                  SockNet *s)
{
    if (on && !*id)
        *id = g_unix_fd_add(fd, c, fn, s);
    else if (!on && *id) {
        g_source_remove(*id);
        *id = 0;
    }
}

static void sock_update(SockNet *s)
{
    bool conn = s->fd >= 0 && !s->connect_watch;
    watch(&s->read_watch, conn && s->read_poll, s->fd, G_IO_IN, sock_readable, s);
    watch(&s->write_watch, conn && s->write_poll, s->fd, G_IO_OUT, sock_writable, s);
    watch(&s->listen_watch, s->listen_fd >= 0 && s->fd < 0, s->listen_fd, G_IO_IN,
          sock_accept, s);
}

/* ---- the client ---- */

static ssize_t sock_receive(NetClient *nc, const struct iovec *iov, int iovcnt)
{
    SockNet *s = nc->opaque;
    size_t size = iov_size_n(iov, iovcnt);
    if (s->fd < 0 || s->connect_watch)
        return size;                        /* no connection: the wire drops it */
    ssize_t n;
    if (!s->stream) {
        struct msghdr msg = { .msg_name = s->dest_len ? &s->dest : NULL,
                              .msg_namelen = s->dest_len, .msg_iov = (struct iovec *)iov,
                              .msg_iovlen = iovcnt };
        do {
            n = sendmsg(s->fd, &msg, 0);
        } while (n < 0 && errno == EINTR);
        if (n < 0 && errno == EAGAIN) {
            s->write_poll = true;
            sock_update(s);
            return 0;
        }
        return size;                        /* datagrams: an error drops the frame */
    }
    uint32_t be = htonl(size);
    struct iovec v[iovcnt + 1];
    v[0] = (struct iovec){ &be, 4 };
    memcpy(v + 1, iov, iovcnt * sizeof(*iov));
    /* Skip what a previous partial write sent. */
    size_t skip = s->send_index;
    int first = 0;
    while (first <= iovcnt && skip >= v[first].iov_len)
        skip -= v[first++].iov_len;
    if (first <= iovcnt) {
        v[first].iov_base = (uint8_t *)v[first].iov_base + skip;
        v[first].iov_len -= skip;
    }
    struct msghdr msg = { .msg_iov = v + first, .msg_iovlen = iovcnt + 1 - first };
    do {
        n = sendmsg(s->fd, &msg, MSG_NOSIGNAL);
    } while (n < 0 && errno == EINTR);
    if (n < 0 && errno != EAGAIN) {
        sock_close_conn(s, g_strerror(errno));
        return size;
    }
    s->send_index += n > 0 ? n : 0;
    if (s->send_index < size + 4) {
        s->write_poll = true;
        sock_update(s);
        return 0;                           /* queued; resent from send_index */
    }
    s->send_index = 0;
    return size;
}

static bool sock_can_receive(NetClient *nc)
{
    return !((SockNet *)nc->opaque)->write_poll;
}

static void sock_cleanup(NetClient *nc)
{
    SockNet *s = nc->opaque;
    s->read_poll = s->write_poll = false;
    if (s->connect_watch)
        g_source_remove(s->connect_watch);
    s->connect_watch = 0;
    int fd = s->fd, lfd = s->listen_fd;
    s->fd = s->listen_fd = -1;
    sock_update(s);
    if (fd >= 0)
        close(fd);
    if (lfd >= 0)
        close(lfd);
    g_free(s->desc);
    g_free(s);
}

static const NetClientOps sock_ops[] = {
    { .kind = NET_KIND_SOCKET, .type = "socket", .receive = sock_receive,
      .can_receive = sock_can_receive, .cleanup = sock_cleanup },
    { .kind = NET_KIND_STREAM, .type = "stream", .receive = sock_receive,
      .can_receive = sock_can_receive, .cleanup = sock_cleanup },
    { .kind = NET_KIND_DGRAM, .type = "dgram", .receive = sock_receive,
      .can_receive = sock_can_receive, .cleanup = sock_cleanup },
};

static SockNet *sock_new(Machine *m, NetBackend *nd, const NetClientOps *ops, bool stream)
{
    SockNet *s = g_new0(SockNet, 1);
    s->fd = s->listen_fd = -1;
    s->stream = stream;
    s->nc = nd->nc[0] = net_client_new(m, ops, ops->type, nd->id, s);
    return s;
}

/* ---- addresses ---- */

/* "HOST:PORT" (HOST may be empty: any) as an IPv4 address. */
static bool parse_host_port(const char *spec, struct sockaddr_in *sin, GError **errp)
{
    const char *colon = strrchr(spec, ':');
    if (!colon)
        return fail(errp, "host address '%s' doesn't contain ':' separating host from port",
                    spec);
    g_autofree char *host = g_strndup(spec, colon - spec);
    char *end;
    long port = strtol(colon + 1, &end, 10);
    if (!colon[1] || *end || port < 0 || port > 65535)
        return fail(errp, "port number '%s' is invalid", colon + 1);
    memset(sin, 0, sizeof(*sin));
    sin->sin_family = AF_INET;
    sin->sin_port = htons(port);
    if (!*host)
        return true;
    struct addrinfo hints = { .ai_family = AF_INET }, *res = NULL;
    if (getaddrinfo(host, NULL, &hints, &res) != 0 || !res)
        return fail(errp, "can't resolve host address '%s'", host);
    sin->sin_addr = ((struct sockaddr_in *)res->ai_addr)->sin_addr;
    freeaddrinfo(res);
    return true;
}

static int new_socket(int family, int type, GError **errp)
{
    int fd = socket(family, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        fail(errp, "can't create socket: %s", g_strerror(errno));
    return fd;
}

static bool start_listen(SockNet *s, const struct sockaddr *a, socklen_t len, GError **errp)
{
    int one = 1;
    s->listen_fd = new_socket(a->sa_family, SOCK_STREAM, errp);
    if (s->listen_fd < 0)
        return false;
    setsockopt(s->listen_fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (bind(s->listen_fd, a, len) < 0 || listen(s->listen_fd, 1) < 0)
        return fail(errp, "can't bind/listen on %s: %s", s->desc, g_strerror(errno));
    s->nc->link_down = true;                /* until a peer connects */
    net_client_set_info(s->nc, "%s: wait connection", s->desc);
    sock_update(s);
    return true;
}

static bool start_connect(SockNet *s, const struct sockaddr *a, socklen_t len,
                          GError **errp)
{
    s->fd = new_socket(a->sa_family, SOCK_STREAM, errp);
    if (s->fd < 0)
        return false;
    if (a->sa_family == AF_INET) {
        int one = 1;
        setsockopt(s->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    }
    int r;
    do {
        r = connect(s->fd, a, len);
    } while (r < 0 && errno == EINTR);
    if (r < 0 && errno != EINPROGRESS)
        return fail(errp, "can't connect socket to %s: %s", s->desc, g_strerror(errno));
    net_client_set_info(s->nc, "%s: connect", s->desc);
    if (r < 0)
        s->connect_watch = g_unix_fd_add(s->fd, G_IO_OUT, sock_connected, s);
    else
        s->read_poll = true;
    sock_update(s);
    return true;
}

static bool start_dgram(SockNet *s, int fd, const struct sockaddr *dest, socklen_t dlen)
{
    s->fd = fd;
    if (dest) {
        memcpy(&s->dest, dest, dlen);
        s->dest_len = dlen;
    }
    s->read_poll = true;
    sock_update(s);
    return true;
}

static bool open_mcast(SockNet *s, const struct sockaddr_in *group, const char *localaddr,
                       GError **errp)
{
    if (!IN_MULTICAST(ntohl(group->sin_addr.s_addr)))
        return fail(errp, "specified mcastaddr %s (0x%08x) does not contain a multicast "
                    "address", inet_ntoa(group->sin_addr), ntohl(group->sin_addr.s_addr));
    struct in_addr local = { .s_addr = htonl(INADDR_ANY) };
    if (localaddr && !inet_aton(localaddr, &local))
        return fail(errp, "localaddr '%s' is not a valid IPv4 address", localaddr);
    int fd = new_socket(AF_INET, SOCK_DGRAM, errp), one = 1;
    if (fd < 0)
        return false;
    struct ip_mreq mreq = { .imr_multiaddr = group->sin_addr, .imr_interface = local };
    struct sockaddr_in bind_addr = *group;
    if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
        bind(fd, (struct sockaddr *)&bind_addr, sizeof(bind_addr)) < 0 ||
        setsockopt(fd, IPPROTO_IP, IP_ADD_MEMBERSHIP, &mreq, sizeof(mreq)) < 0 ||
        setsockopt(fd, IPPROTO_IP, IP_MULTICAST_LOOP, &one, sizeof(one)) < 0 ||
        (localaddr && setsockopt(fd, IPPROTO_IP, IP_MULTICAST_IF, &local,
                                 sizeof(local)) < 0)) {
        int e = errno;
        close(fd);
        return fail(errp, "multicast socket %s: %s", s->desc, g_strerror(e));
    }
    net_client_set_info(s->nc, "socket: mcast=%s:%d", inet_ntoa(group->sin_addr),
                        ntohs(group->sin_port));
    return start_dgram(s, fd, (const struct sockaddr *)group, sizeof(*group));
}

static bool check_fd(const char *what, const char *str, int *fd, GError **errp)
{
    uint64_t v;
    if (!str_to_u64(str, &v) || v > G_MAXINT || fcntl((int)v, F_GETFD) < 0)
        return fail(errp, "%s=%s: not an open file descriptor (monitor fd names are not "
                    "supported by Vireo)", what, str);
    *fd = (int)v;
    fcntl(*fd, F_SETFL, fcntl(*fd, F_GETFL) | O_NONBLOCK);
    return true;
}

static bool sock_is_stream(int fd)
{
    int type = 0;
    socklen_t len = sizeof(type);
    return getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) == 0 && type == SOCK_STREAM;
}

bool net_init_socket(Machine *m, NetBackend *nd, const NetdevSocketOptions *o, GError **errp)
{
    if (!!o->fd + !!o->listen + !!o->connect + !!o->mcast + !!o->udp != 1)
        return fail(errp, "exactly one of fd=, listen=, connect=, mcast= or udp= is required");
    if (o->localaddr && !o->mcast && !o->udp)
        return fail(errp, "localaddr= is only valid with mcast= or udp=");
    struct sockaddr_in sin;
    if (o->fd) {
        int fd;
        if (!check_fd("fd", o->fd, &fd, errp))
            return false;
        SockNet *s = sock_new(m, nd, &sock_ops[0], sock_is_stream(fd));
        s->desc = g_strdup_printf("fd=%d", fd);
        net_client_set_info(s->nc, "socket: fd=%d", fd);
        return start_dgram(s, fd, NULL, 0);
    }
    const char *spec = o->listen ? o->listen : o->connect ? o->connect : o->mcast ? o->mcast
                                                                                   : o->udp;
    SockNet *s = sock_new(m, nd, &sock_ops[0], o->listen || o->connect);
    s->desc = g_strdup_printf("socket %s", spec);
    if (!parse_host_port(spec, &sin, errp))
        return false;
    if (o->listen)
        return start_listen(s, (struct sockaddr *)&sin, sizeof(sin), errp);
    if (o->connect)
        return start_connect(s, (struct sockaddr *)&sin, sizeof(sin), errp);
    if (o->mcast)
        return open_mcast(s, &sin, o->localaddr, errp);
    struct sockaddr_in local;
    if (!o->localaddr)
        return fail(errp, "localaddr= is mandatory with udp=");
    if (!parse_host_port(o->localaddr, &local, errp))
        return false;
    int fd = new_socket(AF_INET, SOCK_DGRAM, errp), one = 1;
    if (fd < 0)
        return false;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (bind(fd, (struct sockaddr *)&local, sizeof(local)) < 0) {
        int e = errno;
        close(fd);
        return fail(errp, "can't bind udp socket to %s: %s", o->localaddr, g_strerror(e));
    }
    net_client_set_info(s->nc, "socket: udp=%s:%d", inet_ntoa(sin.sin_addr),
                        ntohs(sin.sin_port));
    return start_dgram(s, fd, (struct sockaddr *)&sin, sizeof(sin));
}

/* A SocketAddress (inet or unix) as a sockaddr. */
static bool sockaddr_of(const SocketAddress *a, struct sockaddr_storage *ss, socklen_t *len,
                        char **desc, GError **errp)
{
    memset(ss, 0, sizeof(*ss));
    if (a->type == SOCKET_ADDRESS_TYPE_INET) {
        g_autofree char *hp = g_strdup_printf("%s:%s", a->u.inet.host, a->u.inet.port);
        if (!parse_host_port(hp, (struct sockaddr_in *)ss, errp))
            return false;
        *len = sizeof(struct sockaddr_in);
        *desc = g_strdup_printf("tcp:%s", hp);
        return true;
    }
    if (a->type == SOCKET_ADDRESS_TYPE_UNIX) {
        struct sockaddr_un *un = (struct sockaddr_un *)ss;
        bool abstract = a->u.q_unix.has_abstract && a->u.q_unix.abstract;
        size_t n = strlen(a->u.q_unix.path);
        if (n + abstract >= sizeof(un->sun_path))
            return fail(errp, "UNIX socket path '%s' is too long", a->u.q_unix.path);
        un->sun_family = AF_UNIX;
        memcpy(un->sun_path + abstract, a->u.q_unix.path, n);
        bool tight = !a->u.q_unix.has_tight || a->u.q_unix.tight;
        *len = abstract && tight ? offsetof(struct sockaddr_un, sun_path) + 1 + n
                                 : sizeof(*un);
        *desc = g_strdup_printf("unix:%s", a->u.q_unix.path);
        return true;
    }
    return fail(errp, "socket address type '%s' is not supported here",
                SocketAddressType_str[a->type]);
}

bool net_init_stream(Machine *m, NetBackend *nd, const NetdevStreamOptions *o, GError **errp)
{
    SockNet *s = sock_new(m, nd, &sock_ops[1], true);
    bool server = o->has_server && o->server;
    if (o->addr->type == SOCKET_ADDRESS_TYPE_FD) {
        int fd;
        if (!check_fd("addr.str", o->addr->u.fd.str, &fd, errp))
            return false;
        s->desc = g_strdup_printf("fd=%d", fd);
        if (server) {
            s->listen_fd = fd;
            s->nc->link_down = true;
            net_client_set_info(s->nc, "%s: wait connection", s->desc);
            sock_update(s);
            return true;
        }
        net_client_set_info(s->nc, "%s", s->desc);
        return start_dgram(s, fd, NULL, 0);
    }
    struct sockaddr_storage ss;
    socklen_t len;
    if (!sockaddr_of(o->addr, &ss, &len, &s->desc, errp))
        return false;
    if (server) {
        if (ss.ss_family == AF_UNIX && ((struct sockaddr_un *)&ss)->sun_path[0])
            unlink(((struct sockaddr_un *)&ss)->sun_path);
        return start_listen(s, (struct sockaddr *)&ss, len, errp);
    }
    return start_connect(s, (struct sockaddr *)&ss, len, errp);
}

bool net_init_dgram(Machine *m, NetBackend *nd, const NetdevDgramOptions *o, GError **errp)
{
    const SocketAddress *r = o->remote, *l = o->local;
    SockNet *s = sock_new(m, nd, &sock_ops[2], false);
    struct sockaddr_storage rs, ls;
    socklen_t rlen = 0, llen = 0;
    g_autofree char *rdesc = NULL, *ldesc = NULL;
    if (r && r->type == SOCKET_ADDRESS_TYPE_INET) {
        if (!sockaddr_of(r, &rs, &rlen, &rdesc, errp))
            return false;
        struct sockaddr_in *sin = (struct sockaddr_in *)&rs;
        if (IN_MULTICAST(ntohl(sin->sin_addr.s_addr))) {
            s->desc = g_strdup_printf("dgram %s", rdesc);
            const char *local = l && l->type == SOCKET_ADDRESS_TYPE_INET ? l->u.inet.host
                                                                          : NULL;
            return open_mcast(s, sin, local, errp);
        }
    }
    if (!l)
        return fail(errp, "dgram requires local= parameter");
    if (r) {
        if (l->type == SOCKET_ADDRESS_TYPE_FD)
            return fail(errp, "don't set remote with local.fd");
        if (r->type != l->type)
            return fail(errp, "remote and local types must be the same");
    } else if (l->type != SOCKET_ADDRESS_TYPE_FD) {
        return fail(errp, "type=inet or type=unix requires remote parameter");
    }
    if (l->type == SOCKET_ADDRESS_TYPE_FD) {
        int fd;
        if (!check_fd("local.str", l->u.fd.str, &fd, errp))
            return false;
        s->desc = g_strdup_printf("fd=%d", fd);
        net_client_set_info(s->nc, "fd=%d", fd);
        return start_dgram(s, fd, NULL, 0);
    }
    if ((!rdesc && !sockaddr_of(r, &rs, &rlen, &rdesc, errp)) ||
        !sockaddr_of(l, &ls, &llen, &ldesc, errp))
        return false;
    s->desc = g_strdup_printf("dgram %s", ldesc);
    int fd = new_socket(ls.ss_family, SOCK_DGRAM, errp), one = 1;
    if (fd < 0)
        return false;
    if (ls.ss_family == AF_UNIX && ((struct sockaddr_un *)&ls)->sun_path[0])
        unlink(((struct sockaddr_un *)&ls)->sun_path);
    else
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (bind(fd, (struct sockaddr *)&ls, llen) < 0) {
        int e = errno;
        close(fd);
        return fail(errp, "can't bind %s: %s", ldesc, g_strerror(e));
    }
    net_client_set_info(s->nc, "%s,%s", ldesc, rdesc);
    return start_dgram(s, fd, (struct sockaddr *)&rs, rlen);
}
