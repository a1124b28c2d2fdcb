/*
 * A QMP client for unit tests: one session on a socketpair added with monitor_add_fd(),
 * driven from the test's thread (it iterates the main loop while it waits). Replies are
 * returned; event lines are kept in order in c->events.
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
    int fd;
    GString *in;
    GString *events;        /* every event line seen, in order */
} Client;

/* Opens a session on @m (the greeting is left unread). */
static inline void client_init(Client *c, Machine *m)
{
    int sv[2];
    g_assert_cmpint(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), ==, 0);
    g_assert_true(monitor_add_fd(m, sv[0], true, false, NULL));
    *c = (Client){ .fd = sv[1], .in = g_string_new(NULL), .events = g_string_new(NULL) };
    fcntl(c->fd, F_SETFL, O_NONBLOCK);
}

static inline void client_fini(Client *c)
{
    close(c->fd);
    g_string_free(c->in, TRUE);
    g_string_free(c->events, TRUE);
}

static inline char *client_line(Client *c)
{
    for (;;) {
        char *nl = strstr(c->in->str, "\r\n");
        if (nl) {
            char *line = g_strndup(c->in->str, nl - c->in->str);
            g_string_erase(c->in, 0, nl - c->in->str + 2);
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

/* Sends @req; the reply (events are kept in c->events). */
static inline char *cmd(Client *c, const char *req)
{
    g_assert_cmpint(write(c->fd, req, strlen(req)), ==, (ssize_t)strlen(req));
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
