/*
 * A QMP/HMP client for unit tests: a session on a socketpair added with monitor_add_fd()
 * (or any connected descriptor), driven from the test's thread (it iterates the main
 * loop while it waits). Replies are returned; event lines are kept in order in
 * c->events.
 */
#ifndef TESTS_UNIT_QMP_TEST_CLIENT_H
#define TESTS_UNIT_QMP_TEST_CLIENT_H

#include "vireo/machine.h"
#include "vireo/qmp.h"
#include <errno.h>
#include <fcntl.h>
#include <glib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

typedef struct Client {
    int fd;                 /* -1 once a test closed it */
    GString *in;
    GString *events;        /* every event line seen, in order */
} Client;

/* A client on @fd, the test's end of a connection (made non-blocking). */
static inline void client_init_fd(Client *c, int fd)
{
    *c = (Client){ .fd = fd, .in = g_string_new(NULL), .events = g_string_new(NULL) };
    fcntl(c->fd, F_SETFL, O_NONBLOCK);
}

/* Opens a session on @m: a QMP one (@control) or HMP, @pretty JSON or not. The
 * greeting is left unread. */
static inline void client_init_session(Client *c, Machine *m, bool control, bool pretty)
{
    int sv[2];
    g_assert_cmpint(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), ==, 0);
    g_assert_true(monitor_add_fd(m, sv[0], control, pretty, NULL));
    client_init_fd(c, sv[1]);
}

static inline void client_init(Client *c, Machine *m)
{
    client_init_session(c, m, true, false);
}

static inline void client_fini(Client *c)
{
    if (c->fd >= 0)
        close(c->fd);
    g_string_free(c->in, TRUE);
    g_string_free(c->events, TRUE);
}

/* The same on the heap. */
static inline Client *client_new_session(Machine *m, bool control, bool pretty)
{
    Client *c = g_new0(Client, 1);
    client_init_session(c, m, control, pretty);
    return c;
}

static inline Client *client_new_fd(int fd)
{
    Client *c = g_new0(Client, 1);
    client_init_fd(c, fd);
    return c;
}

static inline void client_free(Client *c)
{
    client_fini(c);
    g_free(c);
}

/* Writes all of @text, running the main loop while the server's side is full. */
static inline void client_send(Client *c, const char *text)
{
    size_t len = strlen(text), done = 0;
    while (done < len) {
        ssize_t n = write(c->fd, text + done, len - done);
        if (n < 0 && errno == EAGAIN) {
            g_main_context_iteration(NULL, FALSE);
            continue;
        }
        g_assert_cmpint(n, >, 0);
        done += n;
    }
}

/* The text up to the next @end (which is consumed, not returned), running the main loop
 * until the server has written it. */
static inline char *client_line_until(Client *c, const char *end)
{
    for (;;) {
        char *nl = strstr(c->in->str, end);
        if (nl) {
            size_t n = nl - c->in->str;
            char *line = g_strndup(c->in->str, n);
            g_string_erase(c->in, 0, n + strlen(end));
            return line;
        }
        char buf[65536];
        ssize_t r = read(c->fd, buf, sizeof(buf));
        if (r > 0) {
            g_string_append_len(c->in, buf, r);
            continue;
        }
        g_assert_true(r < 0 && errno == EAGAIN);
        g_main_context_iteration(NULL, TRUE);
    }
}

static inline char *client_line(Client *c)
{
    return client_line_until(c, "\r\n");
}

/* Sends @req; the next line that is not an event (events are kept in c->events). */
static inline char *cmd(Client *c, const char *req)
{
    client_send(c, req);
    for (;;) {
        char *l = client_line(c);
        if (!strstr(l, "\"event\": "))
            return l;
        g_string_append(c->events, l);
        g_string_append_c(c->events, '\n');
        g_free(l);
    }
}

static inline void expect(Client *c, const char *req, const char *want)
{
    g_autofree char *got = cmd(c, req);
    g_assert_cmpstr(got, ==, want);
}

static inline void expect_ok(Client *c, const char *req)
{
    expect(c, req, "{\"return\": {}}");
}

static inline void expect_error(Client *c, const char *req, const char *desc)
{
    g_autofree char *want = g_strdup_printf("{\"error\": {\"class\": \"GenericError\", "
                                            "\"desc\": \"%s\"}}", desc);
    expect(c, req, want);
}

#endif
