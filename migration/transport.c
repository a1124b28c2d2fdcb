/*
 * Migration URIs (QEMU's): tcp:HOST:PORT, unix:PATH, fd:N, exec:COMMAND, and file:PATH
 * (newer QEMUs' snapshot-to-file). Connecting, listening and accepting are blocking
 * calls made by the migration threads, never by the main loop.
 */
#include "migration.h"
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

void mig_uri_clear(MigUri *u)
{
    g_free(u->host);
    g_free(u->port);
    g_free(u->path);
    g_free(u->cmd);
    g_free(u->text);
    memset(u, 0, sizeof(*u));
    u->fd = -1;
}

static bool bad_uri(GError **errp)
{
    g_set_error(errp, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                "Parameter 'uri' expects a valid migration protocol");
    return false;
}

/* "HOST:PORT", HOST possibly "[v6]" or empty (any address). */
static bool split_host_port(const char *s, MigUri *u)
{
    const char *colon;
    if (s[0] == '[') {
        const char *close = strchr(s, ']');
        if (!close || close[1] != ':')
            return false;
        u->host = g_strndup(s + 1, close - s - 1);
        colon = close + 1;
    } else {
        colon = strrchr(s, ':');
        if (!colon)
            return false;
        u->host = g_strndup(s, colon - s);
    }
    u->port = g_strdup(colon + 1);
    return u->port[0] != 0;
}

bool mig_uri_parse(const char *uri, MigUri *u, GError **errp)
{
    memset(u, 0, sizeof(*u));
    u->fd = -1;
    u->text = g_strdup(uri);
    if (g_str_has_prefix(uri, "tcp:")) {
        u->kind = MT_TCP;
        if (!split_host_port(uri + 4, u))
            return bad_uri(errp);
    } else if (g_str_has_prefix(uri, "unix:") && uri[5]) {
        u->kind = MT_UNIX;
        u->path = g_strdup(uri + 5);
    } else if (g_str_has_prefix(uri, "exec:") && uri[5]) {
        u->kind = MT_EXEC;
        u->cmd = g_strdup(uri + 5);
    } else if (g_str_has_prefix(uri, "file:") && uri[5]) {
        u->kind = MT_FILE;
        u->path = g_strdup(uri + 5);
    } else if (g_str_has_prefix(uri, "fd:") && uri[3]) {
        char *end;
        long v = strtol(uri + 3, &end, 10);
        u->kind = MT_FD;
        if (*end || v < 0 || v > INT32_MAX || fcntl(v, F_GETFD) < 0) {
            g_set_error(errp, G_IO_ERROR, G_IO_ERROR_NOT_FOUND,
                        "File descriptor named '%s' has not been found", uri + 3);
            return false;
        }
        u->fd = v;
    } else {
        return bad_uri(errp);
    }
    return true;
}

static void tune_socket(int fd)
{
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

static int tcp_socket(const MigUri *u, bool listen_on, GError **errp)
{
    struct addrinfo hints = { .ai_socktype = SOCK_STREAM,
                              .ai_flags = listen_on ? AI_PASSIVE : 0 }, *res, *ai;
    const char *host = u->host[0] ? u->host : (listen_on ? NULL : "localhost");
    int e = getaddrinfo(host, u->port, &hints, &res), fd = -1, err = 0;
    if (e) {
        g_set_error(errp, G_IO_ERROR, G_IO_ERROR_NOT_FOUND, "address resolution failed for "
                    "%s:%s: %s", u->host, u->port, gai_strerror(e));
        return -1;
    }
    for (ai = res; ai && fd < 0; ai = ai->ai_next) {
        fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
        if (fd < 0)
            continue;
        int one = 1;
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
        bool ok = listen_on ? bind(fd, ai->ai_addr, ai->ai_addrlen) == 0 && listen(fd, 16) == 0
                            : connect(fd, ai->ai_addr, ai->ai_addrlen) == 0;
        if (!ok) {
            err = errno;
            close(fd);
            fd = -1;
        }
    }
    freeaddrinfo(res);
    if (fd < 0)
        g_set_error(errp, G_IO_ERROR, g_io_error_from_errno(err), listen_on ?
                    "Failed to listen on '%s:%s': %s" : "Failed to connect to '%s:%s': %s",
                    u->host, u->port, g_strerror(err));
    else if (!listen_on)
        tune_socket(fd);
    return fd;
}

static int unix_socket(const MigUri *u, bool listen_on, GError **errp)
{
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    if (strlen(u->path) >= sizeof(sa.sun_path)) {
        g_set_error(errp, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                    "UNIX socket path '%s' is too long", u->path);
        return -1;
    }
    strcpy(sa.sun_path, u->path);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        g_set_error(errp, G_IO_ERROR, g_io_error_from_errno(errno), "socket: %s",
                    g_strerror(errno));
        return -1;
    }
    if (listen_on)
        unlink(u->path);
    bool ok = listen_on ? bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0 &&
                          listen(fd, 16) == 0
                        : connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0;
    if (!ok) {
        int err = errno;
        close(fd);
        g_set_error(errp, G_IO_ERROR, g_io_error_from_errno(err), listen_on ?
                    "Failed to bind socket to '%s': %s" : "Failed to connect to '%s': %s",
                    u->path, g_strerror(err));
        return -1;
    }
    return fd;
}

/* /bin/sh -c COMMAND with its stdin (outgoing) or stdout (incoming) on a pipe. */
static int exec_command(const MigUri *u, bool outgoing, GPid *child, GError **errp)
{
    const char *argv[] = { "/bin/sh", "-c", u->cmd, NULL };
    int fd = -1;
    if (!g_spawn_async_with_pipes(NULL, (char **)argv, NULL, G_SPAWN_DO_NOT_REAP_CHILD, NULL,
                                  NULL, child, outgoing ? &fd : NULL, outgoing ? NULL : &fd,
                                  NULL, errp)) {
        g_prefix_error(errp, "exec:%s: ", u->cmd);
        return -1;
    }
    fcntl(fd, F_SETFD, FD_CLOEXEC);
    return fd;
}

static int open_file(const MigUri *u, bool outgoing, GError **errp)
{
    int fd = outgoing ? open(u->path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600)
                      : open(u->path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        g_set_error(errp, G_IO_ERROR, g_io_error_from_errno(errno), "Could not open '%s': %s",
                    u->path, g_strerror(errno));
    return fd;
}

int mig_connect(const MigUri *u, GPid *child, GError **errp)
{
    switch (u->kind) {
    case MT_TCP:
        return tcp_socket(u, false, errp);
    case MT_UNIX:
        return unix_socket(u, false, errp);
    case MT_EXEC:
        return exec_command(u, true, child, errp);
    case MT_FILE:
        return open_file(u, true, errp);
    case MT_FD: {
        int fd = fcntl(u->fd, F_DUPFD_CLOEXEC, 3);
        if (fd < 0)
            g_set_error(errp, G_IO_ERROR, g_io_error_from_errno(errno), "fd:%d: %s", u->fd,
                        g_strerror(errno));
        return fd;
    }
    }
    return -1;
}

int mig_listen(const MigUri *u, bool *listening, GPid *child, GError **errp)
{
    *listening = u->kind == MT_TCP || u->kind == MT_UNIX;
    switch (u->kind) {
    case MT_TCP:
        return tcp_socket(u, true, errp);
    case MT_UNIX:
        return unix_socket(u, true, errp);
    case MT_EXEC:
        return exec_command(u, false, child, errp);
    case MT_FILE:
        return open_file(u, false, errp);
    case MT_FD:
        return mig_connect(u, child, errp);
    }
    return -1;
}

int mig_accept(int lfd, const volatile int *cancel, GError **errp)
{
    for (;;) {
        if (cancel && *cancel) {
            g_set_error(errp, G_IO_ERROR, G_IO_ERROR_CANCELLED, "cancelled");
            return -1;
        }
        struct pollfd p = { .fd = lfd, .events = POLLIN };
        int r = poll(&p, 1, 200);
        if (r < 0 && errno != EINTR) {
            g_set_error(errp, G_IO_ERROR, g_io_error_from_errno(errno), "poll: %s",
                        g_strerror(errno));
            return -1;
        }
        if (r <= 0)
            continue;
        int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
        if (fd >= 0) {
            tune_socket(fd);
            return fd;
        }
        if (errno != EINTR && errno != EAGAIN && errno != ECONNABORTED) {
            g_set_error(errp, G_IO_ERROR, g_io_error_from_errno(errno), "accept: %s",
                        g_strerror(errno));
            return -1;
        }
    }
}

MigrationSocketAddress *mig_listen_address(int lfd, const MigUri *u)
{
    MigrationSocketAddress *a = g_new0(MigrationSocketAddress, 1);
    if (u->kind == MT_UNIX) {
        a->type = g_strdup("unix");
        a->path = g_strdup(u->path);
        return a;
    }
    struct sockaddr_storage ss;
    socklen_t len = sizeof(ss);
    char host[NI_MAXHOST] = "", port[NI_MAXSERV] = "";
    if (getsockname(lfd, (struct sockaddr *)&ss, &len) == 0)
        getnameinfo((struct sockaddr *)&ss, len, host, sizeof(host), port, sizeof(port),
                    NI_NUMERICHOST | NI_NUMERICSERV);
    a->type = g_strdup("inet");
    a->host = g_strdup(host);
    a->port = g_strdup(port);
    return a;
}
