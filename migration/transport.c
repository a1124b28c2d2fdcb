/*
 * Migration URIs (QEMU's): tcp:HOST:PORT, unix:PATH, fd:N, exec:COMMAND, and file:PATH
 * (newer QEMUs' snapshot-to-file). Connecting, listening and accepting are blocking
 * calls made by the migration threads, never by the main loop; connecting and
 * accepting end early when the migration's wake descriptor is signalled (cancel).
 * An exec: command's process is watched from the main loop (g_child_watch_add), which
 * reaps it whenever it exits; the threads wait for its exit status (MigChild).
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
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
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

/* The source connects the main channel and every multifd channel before the
 * destination, which learns their number from the header, accepts any of them. */
#define MIG_BACKLOG (MIG_MAX_CHANNELS + 1)

static void tune_socket(int fd)
{
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

/* Waits until @fd has @events or @wake_fd (if >= 0) is signalled: 1, 0 (woken), -errno. */
static int wait_fd(int fd, short events, int wake_fd)
{
    struct pollfd p[2] = { { .fd = fd, .events = events }, { .fd = wake_fd, .events = POLLIN } };
    for (;;) {
        int r = poll(p, wake_fd >= 0 ? 2 : 1, -1);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return -errno;
        if (wake_fd >= 0 && p[1].revents)
            return 0;
        return 1;
    }
}

/* connect() that a cancel ends (a TCP connect to an unreachable host takes minutes). */
static int connect_wake(int fd, const struct sockaddr *sa, socklen_t len, int wake_fd)
{
    if (wake_fd < 0)
        return connect(fd, sa, len);
    int fl = fcntl(fd, F_GETFL);
    fcntl(fd, F_SETFL, fl | O_NONBLOCK);
    int r = connect(fd, sa, len);
    /* A unix socket whose queue is full says EAGAIN (a blocking connect would wait). */
    while (r < 0 && errno == EAGAIN) {
        struct pollfd p = { .fd = wake_fd, .events = POLLIN };
        if (poll(&p, 1, 10) > 0) {
            errno = ECANCELED;
            return -1;
        }
        r = connect(fd, sa, len);
    }
    if (r < 0 && errno == EINPROGRESS) {
        int w = wait_fd(fd, POLLOUT, wake_fd), err = 0;
        socklen_t el = sizeof(err);
        if (w <= 0) {
            errno = w < 0 ? -w : ECANCELED;
            return -1;
        }
        getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &el);
        r = err ? -1 : 0;
        errno = err;
    }
    int e = errno;
    fcntl(fd, F_SETFL, fl);
    errno = e;
    return r;
}

static int tcp_socket(const MigUri *u, bool listen_on, int wake_fd, GError **errp)
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
        bool ok = listen_on ? bind(fd, ai->ai_addr, ai->ai_addrlen) == 0 && listen(fd, MIG_BACKLOG) == 0
                            : connect_wake(fd, ai->ai_addr, ai->ai_addrlen, wake_fd) == 0;
        if (!ok) {
            err = errno;
            close(fd);
            fd = -1;
            if (err == ECANCELED)
                break;
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

static int unix_socket(const MigUri *u, bool listen_on, int wake_fd, GError **errp)
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
                          listen(fd, MIG_BACKLOG) == 0
                        : connect_wake(fd, (struct sockaddr *)&sa, sizeof(sa), wake_fd) == 0;
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

/* ---- exec: the command's process ---------------------------------------------------------- */

struct MigChild {
    gint refs;
    GPid pid;
    int pidfd;                      /* signals cannot reach a reused pid; -1: kill() */
    char *uri;                      /* "exec:COMMAND", for messages */
    GMutex lock;
    GCond cond;
    bool exited;
    int status;                     /* wait status, once exited */
};

static void child_unref(gpointer data)
{
    MigChild *ch = data;
    if (!g_atomic_int_dec_and_test(&ch->refs))
        return;
    if (ch->pidfd >= 0)
        close(ch->pidfd);
    g_free(ch->uri);
    g_mutex_clear(&ch->lock);
    g_cond_clear(&ch->cond);
    g_free(ch);
}

void mig_child_unref(MigChild *ch)
{
    if (ch)
        child_unref(ch);
}

/* Main loop: GLib has reaped the process. */
static void child_exited(GPid pid, gint status, gpointer data)
{
    MigChild *ch = data;
    g_mutex_lock(&ch->lock);
    ch->exited = true;
    ch->status = status;
    g_cond_broadcast(&ch->cond);
    g_mutex_unlock(&ch->lock);
    g_spawn_close_pid(pid);
}

static MigChild *child_new(GPid pid, const char *uri)
{
    MigChild *ch = g_new0(MigChild, 1);
    ch->refs = 2;                   /* the caller's, the watch's */
    ch->pid = pid;
#ifdef SYS_pidfd_open
    ch->pidfd = syscall(SYS_pidfd_open, pid, 0);
#else
    ch->pidfd = -1;
#endif
    if (ch->pidfd >= 0)
        fcntl(ch->pidfd, F_SETFD, FD_CLOEXEC);
    ch->uri = g_strdup(uri);
    g_mutex_init(&ch->lock);
    g_cond_init(&ch->cond);
    g_child_watch_add_full(G_PRIORITY_DEFAULT, pid, child_exited, ch, child_unref);
    return ch;
}

GPid mig_child_pid(const MigChild *ch)
{
    return ch->pid;
}

void mig_child_kill(MigChild *ch, int sig)
{
    if (!ch)
        return;
    g_mutex_lock(&ch->lock);
    if (!ch->exited) {
#ifdef SYS_pidfd_send_signal
        if (ch->pidfd >= 0)
            syscall(SYS_pidfd_send_signal, ch->pidfd, sig, NULL, 0);
        else
#endif
            kill(ch->pid, sig);
    }
    g_mutex_unlock(&ch->lock);
}

bool mig_child_wait(MigChild *ch, const volatile int *cancel, int timeout_ms, int *status)
{
    gint64 end = timeout_ms < 0 ? G_MAXINT64 : g_get_monotonic_time() + timeout_ms * 1000ll;
    g_mutex_lock(&ch->lock);
    while (!ch->exited && !(cancel && *cancel)) {
        gint64 now = g_get_monotonic_time();
        if (now >= end)
            break;
        /* a cancel sets *cancel without signalling: look again every 50 ms */
        g_cond_wait_until(&ch->cond, &ch->lock, MIN(end, now + 50000));
    }
    bool exited = ch->exited;
    *status = ch->status;
    g_mutex_unlock(&ch->lock);
    return exited;
}

bool mig_child_error(const MigChild *ch, int status, GError **errp)
{
    g_autofree char *why = NULL;
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
        return false;
    if (WIFEXITED(status))
        why = g_strdup_printf("the command exited with status %d", WEXITSTATUS(status));
    else if (WIFSIGNALED(status))
        why = g_strdup_printf("the command was killed by signal %d (%s)", WTERMSIG(status),
                              g_strsignal(WTERMSIG(status)));
    else
        why = g_strdup_printf("the command ended with wait status %#x", status);
    /* The channel's own message starts with the URI too: said once. */
    const char *prev = errp && *errp ? (*errp)->message : NULL;
    size_t ul = strlen(ch->uri);
    if (prev && !strncmp(prev, ch->uri, ul) && !strncmp(prev + ul, ": ", 2))
        prev += ul + 2;
    GError *e = prev ? g_error_new(G_IO_ERROR, G_IO_ERROR_FAILED, "%s: %s (%s)", ch->uri, why,
                                   prev)
                     : g_error_new(G_IO_ERROR, G_IO_ERROR_FAILED, "%s: %s", ch->uri, why);
    g_clear_error(errp);
    g_propagate_error(errp, e);
    return true;
}

/* /bin/sh -c COMMAND with its stdin (outgoing) or stdout (incoming) on a pipe. */
static int exec_command(const MigUri *u, bool outgoing, MigChild **child, GError **errp)
{
    const char *argv[] = { "/bin/sh", "-c", u->cmd, NULL };
    int fd = -1;
    GPid pid;
    if (!g_spawn_async_with_pipes(NULL, (char **)argv, NULL, G_SPAWN_DO_NOT_REAP_CHILD, NULL,
                                  NULL, &pid, outgoing ? &fd : NULL, outgoing ? NULL : &fd,
                                  NULL, errp)) {
        g_prefix_error(errp, "%s: ", u->text);
        return -1;
    }
    fcntl(fd, F_SETFD, FD_CLOEXEC);
    MigChild *ch = child_new(pid, u->text);
    if (child)
        *child = ch;
    else
        child_unref(ch);
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

int mig_connect(const MigUri *u, MigChild **child, int wake_fd, GError **errp)
{
    switch (u->kind) {
    case MT_TCP:
        return tcp_socket(u, false, wake_fd, errp);
    case MT_UNIX:
        return unix_socket(u, false, wake_fd, errp);
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

int mig_listen(const MigUri *u, bool *listening, MigChild **child, GError **errp)
{
    int fd;
    *listening = u->kind == MT_TCP || u->kind == MT_UNIX;
    switch (u->kind) {
    case MT_TCP:
    case MT_UNIX:
        fd = u->kind == MT_TCP ? tcp_socket(u, true, -1, errp) : unix_socket(u, true, -1, errp);
        if (fd >= 0)                /* accept() after poll() never blocks */
            fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
        return fd;
    case MT_EXEC:
        return exec_command(u, false, child, errp);
    case MT_FILE:
        return open_file(u, false, errp);
    case MT_FD:
        return mig_connect(u, child, -1, errp);
    }
    return -1;
}

void mig_unlisten(int lfd, const MigUri *u)
{
    if (lfd < 0)
        return;
    close(lfd);
    if (u->kind == MT_UNIX)
        unlink(u->path);            /* the socket file bind() made */
}

int mig_accept(int lfd, const volatile int *cancel, int wake_fd, GError **errp)
{
    for (;;) {
        if (cancel && *cancel) {
            g_set_error(errp, G_IO_ERROR, G_IO_ERROR_CANCELLED, "cancelled");
            return -1;
        }
        /* Without a wake descriptor, the cancel flag is looked at every 200 ms. */
        struct pollfd p[2] = { { .fd = lfd, .events = POLLIN },
                               { .fd = wake_fd, .events = POLLIN } };
        int r = poll(p, wake_fd >= 0 ? 2 : 1, wake_fd >= 0 ? -1 : 200);
        if (r < 0 && errno != EINTR) {
            g_set_error(errp, G_IO_ERROR, g_io_error_from_errno(errno), "poll: %s",
                        g_strerror(errno));
            return -1;
        }
        if (r <= 0 || !p[0].revents)
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
