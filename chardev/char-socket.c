/*
 * Stream sockets: the listening-socket helper (ChrListener, also used by QMP to serve
 * several clients) and the socket backend, which serves one connection at a time as
 * QEMU's does: while a client is connected, others wait in the backlog.
 *
 * Addresses: "unix:PATH" or "tcp:HOST:PORT". Everything non-blocking after start-up;
 * wait=on (the QEMU default for a server) blocks at start-up for the first client.
 */
#include "chardev-internal.h"
#include "vireo/option.h"
#include "vireo/device.h"
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sys/stat.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <glib-unix.h>
#include <sys/socket.h>
#include <sys/un.h>

/* accept() failing for lack of descriptors or memory (EMFILE, ENFILE, ENOBUFS, ENOMEM)
 * leaves the client in the backlog and the socket readable: the watch would fire
 * forever. The listener pauses and tries again this much later. */
#define CHR_ACCEPT_RETRY_MS 200

struct ChrListener {
    int fd;
    guint watch, retry;
    bool enabled;
    LogBudget log;
    char *address;
    char *unix_path;        /* unlinked when freed */
    ChrAcceptFn *fn;
    void *opaque;
};

static bool unix_addr(struct sockaddr_un *sa, const char *path, GError **errp)
{
    memset(sa, 0, sizeof(*sa));
    sa->sun_family = AF_UNIX;
    if (!*path || strlen(path) >= sizeof(sa->sun_path)) {
        g_set_error(errp, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                    "unix socket path '%s' is empty or longer than %zu bytes", path,
                    sizeof(sa->sun_path) - 1);
        return false;
    }
    strcpy(sa->sun_path, path);
    return true;
}

static int unix_listen(const char *path, int backlog, GError **errp)
{
    struct sockaddr_un sa;
    if (!unix_addr(&sa, path, errp))
        return -1;
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    unlink(path);
    if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, backlog) < 0) {
        g_set_error(errp, G_IO_ERROR, g_io_error_from_errno(errno),
                    "cannot listen on unix socket '%s': %s", path, g_strerror(errno));
        if (fd >= 0)
            close(fd);
        return -1;
    }
    return fd;
}

/* Resolves HOST:PORT; @passive for a listening socket ("" = any address). */
static struct addrinfo *tcp_resolve(const char *host, const char *port, bool passive,
                                    GError **errp)
{
    struct addrinfo hints = { .ai_socktype = SOCK_STREAM,
                              .ai_flags = passive ? AI_PASSIVE : 0 }, *res = NULL;
    int rc = getaddrinfo(host && *host ? host : NULL, port, &hints, &res);
    if (rc) {
        g_set_error(errp, G_IO_ERROR, G_IO_ERROR_NOT_FOUND, "address '%s:%s': %s",
                    host ? host : "", port, gai_strerror(rc));
        return NULL;
    }
    return res;
}

static int tcp_listen(const char *host, const char *port, int backlog, GError **errp)
{
    struct addrinfo *res = tcp_resolve(host, port, true, errp);
    int fd = -1, err = 0;
    for (struct addrinfo *a = res; a && fd < 0; a = a->ai_next) {
        int one = 1;
        fd = socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, a->ai_protocol);
        if (fd < 0)
            continue;
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
        if (bind(fd, a->ai_addr, a->ai_addrlen) < 0 || listen(fd, backlog) < 0) {
            err = errno;
            close(fd);
            fd = -1;
        }
    }
    if (res)
        freeaddrinfo(res);
    if (fd < 0 && res)
        g_set_error(errp, G_IO_ERROR, g_io_error_from_errno(err),
                    "cannot listen on tcp '%s:%s': %s", host ? host : "", port,
                    g_strerror(err));
    return fd;
}

/* "tcp:HOST:PORT" with the bound address (port 0 becomes the real port). */
static char *tcp_local_address(int fd)
{
    struct sockaddr_storage ss;
    socklen_t len = sizeof(ss);
    char host[NI_MAXHOST], port[NI_MAXSERV];
    if (getsockname(fd, (struct sockaddr *)&ss, &len) < 0 ||
        getnameinfo((struct sockaddr *)&ss, len, host, sizeof(host), port, sizeof(port),
                    NI_NUMERICHOST | NI_NUMERICSERV))
        return g_strdup("tcp:?");
    return g_strdup_printf(ss.ss_family == AF_INET6 ? "tcp:[%s]:%s" : "tcp:%s:%s", host, port);
}

/* Splits "unix:PATH" / "tcp:HOST:PORT"; returns false for anything else. */
static bool addr_split(const char *addr, char **path, char **host, char **port)
{
    *path = *host = *port = NULL;
    if (g_str_has_prefix(addr, "unix:")) {
        *path = g_strdup(addr + 5);
        return true;
    }
    const char *colon = strrchr(addr, ':');
    if (!g_str_has_prefix(addr, "tcp:") || colon < addr + 4)
        return false;
    *host = g_strndup(addr + 4, colon - (addr + 4));
    if (**host == '[' && (*host)[strlen(*host) - 1] == ']') {
        memmove(*host, *host + 1, strlen(*host));
        (*host)[strlen(*host) - 1] = '\0';
    }
    *port = g_strdup(colon + 1);
    return true;
}

static gboolean listener_retry(gpointer opaque)
{
    ChrListener *l = opaque;
    l->retry = 0;
    if (l->enabled)
        chr_listener_set_enabled(l, true);
    return G_SOURCE_REMOVE;
}

static gboolean listener_ready(int fd, GIOCondition cond, gpointer opaque)
{
    ChrListener *l = opaque;
    int c = accept4(l->fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
    if (c >= 0) {
        l->fn(l->opaque, c);      /* may disable or even free @l: return at once */
        return G_SOURCE_CONTINUE;
    }
    if (errno != EMFILE && errno != ENFILE && errno != ENOBUFS && errno != ENOMEM)
        return G_SOURCE_CONTINUE; /* EAGAIN, ECONNABORTED...: that client is gone */
    log_budget_warn(&l->log, "%s: cannot accept a client: %s; trying again in %d ms",
                    l->address, g_strerror(errno), CHR_ACCEPT_RETRY_MS);
    l->watch = 0;
    l->retry = g_timeout_add(CHR_ACCEPT_RETRY_MS, listener_retry, l);
    return G_SOURCE_REMOVE;
}

ChrListener *chr_listener_new(const char *addr, int backlog, ChrAcceptFn *fn, void *opaque,
                              GError **errp)
{
    g_autofree char *path = NULL, *host = NULL, *port = NULL;
    if (!addr_split(addr, &path, &host, &port)) {
        g_set_error(errp, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                    "'%s': expected unix:PATH or tcp:HOST:PORT", addr);
        return NULL;
    }
    int fd = path ? unix_listen(path, backlog, errp) : tcp_listen(host, port, backlog, errp);
    if (fd < 0)
        return NULL;
    chr_fd_set_nonblock(fd);   /* a client that vanishes before accept() must not block */
    ChrListener *l = g_new0(ChrListener, 1);
    l->fd = fd;
    l->log = (LogBudget)LOG_BUDGET_DEFAULT;
    l->fn = fn;
    l->opaque = opaque;
    l->unix_path = g_steal_pointer(&path);
    l->address = l->unix_path ? g_strdup_printf("unix:%s", l->unix_path)
                              : tcp_local_address(fd);
    chr_listener_set_enabled(l, true);
    return l;
}

/* "unix:PATH" or "tcp:HOST:PORT" of a socket we were given. */
static char *fd_address(int fd)
{
    struct sockaddr_storage ss;
    socklen_t len = sizeof(ss);
    if (getsockname(fd, (struct sockaddr *)&ss, &len) < 0)
        return g_strdup_printf("fd:%d", fd);
    if (ss.ss_family == AF_UNIX)
        return g_strdup_printf("unix:%s", ((struct sockaddr_un *)&ss)->sun_path);
    return tcp_local_address(fd);
}

ChrListener *chr_listener_new_fd(int fd, ChrAcceptFn *fn, void *opaque)
{
    chr_fd_set_nonblock(fd);
    ChrListener *l = g_new0(ChrListener, 1);
    l->fd = fd;
    l->fn = fn;
    l->opaque = opaque;
    l->address = fd_address(fd);
    chr_listener_set_enabled(l, true);
    return l;
}

void chr_listener_set_enabled(ChrListener *l, bool enabled)
{
    l->enabled = enabled;
    if (enabled && !l->watch && !l->retry) {      /* a pending retry re-arms by itself */
        l->watch = g_unix_fd_add(l->fd, G_IO_IN, listener_ready, l);
    } else if (!enabled) {
        if (l->watch)
            g_source_remove(l->watch);
        if (l->retry)
            g_source_remove(l->retry);
        l->watch = l->retry = 0;
    }
}

int chr_listener_accept(ChrListener *l, GError **errp)
{
    int c;
    for (;;) {
        struct pollfd p = { .fd = l->fd, .events = POLLIN };
        c = accept4(l->fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
        if (c >= 0 || (errno != EAGAIN && errno != EINTR))
            break;
        poll(&p, 1, -1);
    }
    if (c < 0)
        g_set_error(errp, G_IO_ERROR, g_io_error_from_errno(errno), "%s: accept: %s",
                    l->address, g_strerror(errno));
    return c;
}

const char *chr_listener_address(const ChrListener *l) { return l->address; }

void chr_listener_free(ChrListener *l)
{
    if (!l)
        return;
    chr_listener_set_enabled(l, false);
    close(l->fd);
    if (l->unix_path)
        unlink(l->unix_path);
    g_free(l->unix_path);
    g_free(l->address);
    g_free(l);
}

/* ---- the socket backend ---- */

typedef struct Sock {
    ChrListener *listener;   /* server=on */
    int conn;
    bool nodelay;
    char *addr;              /* "unix:/p" or "tcp:h:p" */
    char *opts;              /* ",server=on" or "" */
} Sock;

static void sock_update_filename(Chardev *chr)
{
    Sock *s = chr->be;
    g_autofree char *f = g_strdup_printf("%s%s%s", s->conn < 0 ? "disconnected:" : "",
                                         s->addr, s->opts);
    chr_set_filename(chr, s->addr, f);
}

static void sock_attach(Chardev *chr, int fd)
{
    Sock *s = chr->be;
    int one = 1;
    s->conn = fd;
    if (s->nodelay)
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    chr_fd_set_nonblock(fd);
    chr->in_fd = chr->out_fd = fd;
    chr->out_socket = true;
    if (s->listener)
        chr_listener_set_enabled(s->listener, false);
    sock_update_filename(chr);
    chr_set_connected(chr, true);
}

static void sock_accepted(void *opaque, int fd)
{
    Chardev *chr = opaque;
    Sock *s = chr->be;
    if (s->conn >= 0) {          /* cannot happen: the listener is off while connected */
        close(fd);
        return;
    }
    sock_attach(chr, fd);
}

static void sock_hangup(Chardev *chr)
{
    Sock *s = chr->be;
    if (s->conn < 0)
        return;
    int fd = s->conn;
    chr->in_fd = chr->out_fd = -1;
    s->conn = -1;
    sock_update_filename(chr);
    chr_set_connected(chr, false);      /* drops the watches on @fd first */
    close(fd);
    if (s->listener)
        chr_listener_set_enabled(s->listener, true);
}

static ssize_t sock_write(Chardev *chr, const uint8_t *buf, size_t len)
{
    Sock *s = chr->be;
    ssize_t n = send(s->conn, buf, len, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n >= 0)
        return n;
    if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
        return -EAGAIN;
    sock_hangup(chr);          /* the peer is gone: discard, as when disconnected */
    return len;
}

static void sock_close(Chardev *chr)
{
    Sock *s = chr->be;
    chr_listener_free(s->listener);
    g_free(s->addr);
    g_free(s->opts);
    g_free(s);             /* conn == in_fd == out_fd: char.c closes it */
}

static const ChrOps sock_ops = {
    .kind = "socket", .write = sock_write, .hangup = sock_hangup, .disconnect = sock_hangup,
    .close = sock_close,
};

static int sock_connect(const char *path, const char *host, const char *port, GError **errp)
{
    int fd = -1, err = 0;
    if (path) {
        struct sockaddr_un sa;
        if (!unix_addr(&sa, path, errp))
            return -1;
        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
            err = errno;
            close(fd);
            fd = -1;
        }
    } else {
        struct addrinfo *res = tcp_resolve(host, port, false, errp);
        if (!res)
            return -1;
        for (struct addrinfo *a = res; a && fd < 0; a = a->ai_next) {
            fd = socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, a->ai_protocol);
            if (fd >= 0 && connect(fd, a->ai_addr, a->ai_addrlen) < 0) {
                err = errno;
                close(fd);
                fd = -1;
            }
        }
        freeaddrinfo(res);
    }
    if (fd < 0)
        g_set_error(errp, G_IO_ERROR, g_io_error_from_errno(err),
                    "cannot connect to %s%s%s%s: %s", path ? "unix:" : "tcp:",
                    path ? path : host, path ? "" : ":", path ? "" : port, g_strerror(err));
    return fd;
}

/* Start-up wait for the first client (wait=on), announced as QEMU does. */
static bool sock_wait_first(Chardev *chr, const ChrOpts *o, GError **errp)
{
    Sock *s = chr->be;
    fprintf(stderr, "vireo: %s: info: waiting for connection on: %s\n", o->option,
            chr_filename(chr));
    int fd = chr_listener_accept(s->listener, errp);
    if (fd < 0)
        return false;
    sock_attach(chr, fd);
    return true;
}

/* fd=N: a socket the parent process (libvirt) opened, inherited: listening when
 * server=on, connected otherwise. Errors name the descriptor. */
static int inherited_socket(const ChrOpts *o, const char *text, GError **errp)
{
    uint64_t n;
    struct stat st;
    if (!str_to_u64(text, &n) || n > INT_MAX) {
        g_set_error(errp, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                    "%s: fd=%s: not a file descriptor number", o->option, text);
        return -1;
    }
    if (fstat(n, &st) < 0 || !S_ISSOCK(st.st_mode)) {
        g_set_error(errp, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                    "%s: fd=%s: %s", o->option, text,
                    errno == EBADF ? "not an open file descriptor" : "not a socket");
        return -1;
    }
    fcntl(n, F_SETFD, FD_CLOEXEC);
    return n;
}

static Chardev *sock_new(const ChrOpts *o, bool server, bool nodelay, GError **errp)
{
    const char *path = chr_opt(o, "path"), *host = chr_opt(o, "host");
    const char *port = chr_opt(o, "port"), *fdtext = chr_opt(o, "fd");
    Chardev *chr = chr_alloc(&sock_ops, NULL);
    Sock *s = chr->be = g_new0(Sock, 1);
    s->conn = -1;
    s->nodelay = nodelay;
    s->opts = g_strdup(server ? ",server=on" : "");
    if (fdtext) {
        int fd = inherited_socket(o, fdtext, errp);
        if (fd >= 0 && server) {
            s->listener = chr_listener_new_fd(fd, sock_accepted, chr);
            s->addr = g_strdup(chr_listener_address(s->listener));
            chr->connected = false;
        } else if (fd >= 0) {
            s->addr = fd_address(fd);
            sock_attach(chr, fd);
        }
        if (fd < 0) {
            chr_free(chr);
            return NULL;
        }
        sock_update_filename(chr);
        return chr;
    }
    g_autofree char *addr = path ? g_strdup_printf("unix:%s", path)
                                 : g_strdup_printf(strchr(host ? host : "", ':') ? "tcp:[%s]:%s"
                                                   : "tcp:%s:%s", host ? host : "", port);
    if (server) {
        s->listener = chr_listener_new(addr, 1, sock_accepted, chr, errp);
        s->addr = s->listener ? g_strdup(chr_listener_address(s->listener)) : NULL;
        chr->connected = false;
    } else {
        int fd = sock_connect(path, host, port, errp);
        s->addr = g_steal_pointer(&addr);
        if (fd >= 0)
            sock_attach(chr, fd);
    }
    if (!s->addr || (!server && s->conn < 0)) {
        g_prefix_error(errp, "%s: ", o->option);
        chr_free(chr);
        return NULL;
    }
    sock_update_filename(chr);
    return chr;
}

Chardev *chr_open_socket(const ChrOpts *o, GError **errp)
{
    bool server, wait, nodelay;
    const char *path = chr_opt(o, "path"), *port = chr_opt(o, "port");
    if (!chr_opt_bool(o, "server", false, &server, errp) ||
        !chr_opt_bool(o, "wait", true, &wait, errp) ||
        !chr_opt_bool(o, "nodelay", false, &nodelay, errp))
        return NULL;
    bool fd = chr_opt(o, "fd") != NULL;
    if (fd ? (path || port || chr_opt(o, "host"))
           : (!!path == !!port || (path && chr_opt(o, "host")))) {
        g_set_error(errp, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                    "%s: socket needs one of path= (unix), host=,port= (tcp) or fd=",
                    o->option);
        return NULL;
    }
    uint64_t num;
    if (port && (!*port || (g_ascii_isdigit(*port) &&
                            (!str_to_u64(port, &num) || num > 65535)))) {
        g_set_error(errp, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                    "%s: port '%s' is not a port number (0-65535)", o->option, port);
        return NULL;
    }
    Chardev *chr = sock_new(o, server, nodelay, errp);
    if (chr && server && wait && !sock_wait_first(chr, o, errp)) {
        chr_free(chr);
        return NULL;
    }
    return chr;
}
