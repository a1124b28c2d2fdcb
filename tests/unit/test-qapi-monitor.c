/*
 * The QMP/HMP server without KVM: sessions on socketpairs against a test machine,
 * checking replies, error texts (QEMU 7.2's), events, several clients, disconnects.
 */
#include "vireo/qmp.h"
#include "vireo/runstate.h"
#include "qapi/monitor-int.h"
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

typedef struct Client {
    int fd;
    GString *in;
} Client;

static Client *client_new(Machine *m, bool control, bool pretty)
{
    int sv[2];
    g_assert_cmpint(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), ==, 0);
    g_assert_true(monitor_add_fd(m, sv[0], control, pretty, NULL));
    Client *c = g_new0(Client, 1);
    c->fd = sv[1];
    c->in = g_string_new(NULL);
    fcntl(c->fd, F_SETFL, O_NONBLOCK);
    return c;
}

static void client_free(Client *c)
{
    if (c->fd >= 0)
        close(c->fd);
    g_string_free(c->in, TRUE);
    g_free(c);
}

static void client_send(Client *c, const char *text)
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

/* Pulls whatever the server wrote; runs the main loop until @want bytes of "\r\n"
 * ended text are there. */
static char *client_line_until(Client *c, const char *end)
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

static char *client_line(Client *c)
{
    return client_line_until(c, "\r\n");
}

/* Sends @req and returns the next line that is not an event. */
static char *cmd(Client *c, const char *req)
{
    client_send(c, req);
    for (;;) {
        char *l = client_line(c);
        if (!strstr(l, "\"event\": "))
            return l;
        g_free(l);
    }
}

static void expect(Client *c, const char *req, const char *want)
{
    g_autofree char *got = cmd(c, req);
    g_assert_cmpstr(got, ==, want);
}

static Client *negotiated(Machine *m)
{
    Client *c = client_new(m, true, false);
    g_free(client_line(c));
    expect(c, "{\"execute\": \"qmp_capabilities\"}", "{\"return\": {}}");
    return c;
}

static void test_greeting_and_negotiation(void)
{
    Machine *m = machine_new_test(0);
    Client *c = client_new(m, true, false);
    g_autofree char *g = client_line(c);
    g_assert_cmpstr(g, ==, "{\"QMP\": {\"version\": {\"qemu\": {\"major\": 7, \"minor\": 2, "
                    "\"micro\": 0}, \"package\": \"vireo-" VIREO_VERSION "\"}, "
                    "\"capabilities\": []}}");
    expect(c, "{\"execute\": \"query-status\"}",
           "{\"error\": {\"class\": \"CommandNotFound\", \"desc\": \"Expecting capabilities "
           "negotiation with 'qmp_capabilities'\"}}");
    expect(c, "{\"execute\": \"qmp_capabilities\", \"arguments\": {\"enable\": [\"oob\"]}}",
           "{\"error\": {\"class\": \"GenericError\", \"desc\": \"Capability 'oob' not "
           "available\"}}");
    expect(c, "{\"execute\": \"qmp_capabilities\", \"arguments\": {\"enable\": [\"x\"]}}",
           "{\"error\": {\"class\": \"GenericError\", \"desc\": \"Parameter 'enable[0]' does "
           "not accept value 'x'\"}}");
    expect(c, "{\"execute\": \"qmp_capabilities\", \"id\": 1}", "{\"return\": {}, \"id\": 1}");
    expect(c, "{\"execute\": \"qmp_capabilities\", \"id\": \"b\"}",
           "{\"id\": \"b\", \"error\": {\"class\": \"CommandNotFound\", \"desc\": "
           "\"Capabilities negotiation is already complete, command ignored\"}}");
    client_free(c);
    monitor_cleanup(m);
    machine_free(m);
}

/* Input that QEMU 7.2 answers with these exact errors (checked against it). */
static void test_errors(void)
{
    static const char *const cases[][2] = {
        { "[1, 2]", "{\"error\": {\"class\": \"GenericError\", \"desc\": \"QMP input must "
          "be a JSON object\"}}" },
        { "42 ", "{\"error\": {\"class\": \"GenericError\", \"desc\": \"QMP input must be a "
          "JSON object\"}}" },
        { "{\"foo\": 1}", "{\"error\": {\"class\": \"GenericError\", \"desc\": \"QMP input "
          "member 'foo' is unexpected\"}}" },
        { "{\"execute\": 1}", "{\"error\": {\"class\": \"GenericError\", \"desc\": \"QMP "
          "input member 'execute' must be a string\"}}" },
        { "{\"execute\": \"query-status\", \"arguments\": []}", "{\"error\": {\"class\": "
          "\"GenericError\", \"desc\": \"QMP input member 'arguments' must be an object\"}}" },
        { "{\"id\": 1}", "{\"id\": 1, \"error\": {\"class\": \"GenericError\", \"desc\": \"QMP "
          "input lacks member 'execute'\"}}" },
        { "{\"execute\": \"nope\", \"id\": \"x\"}", "{\"id\": \"x\", \"error\": {\"class\": "
          "\"CommandNotFound\", \"desc\": \"The command nope has not been found\"}}" },
        { "{\"execute\": \"query-status\", \"arguments\": {\"a\": 1}}", "{\"error\": "
          "{\"class\": \"GenericError\", \"desc\": \"Parameter 'a' is unexpected\"}}" },
        { "{\"execute\": \"human-monitor-command\"}", "{\"error\": {\"class\": "
          "\"GenericError\", \"desc\": \"Parameter 'command-line' is missing\"}}" },
        { "{\"execute\": \"human-monitor-command\", \"arguments\": {\"command-line\": 5}}",
          "{\"error\": {\"class\": \"GenericError\", \"desc\": \"Invalid parameter type for "
          "'command-line', expected: string\"}}" },
        { "{\"execute\": \"human-monitor-command\", \"arguments\": {\"command-line\": \"x\", "
          "\"cpu-index\": 1.5}}", "{\"error\": {\"class\": \"GenericError\", \"desc\": "
          "\"Invalid parameter type for 'cpu-index', expected: integer\"}}" },
        { "{\"execute\": \"human-monitor-command\", \"arguments\": {\"command-line\": \"x\", "
          "\"cpu-index\": 9}}", "{\"error\": {\"class\": \"GenericError\", \"desc\": "
          "\"Parameter 'cpu-index' expects a CPU number\"}}" },
        { "{\"exec-oob\": \"query-status\"}", "{\"error\": {\"class\": \"GenericError\", "
          "\"desc\": \"QMP input member 'exec-oob' is unexpected\"}}" },
        { "{\"execute\": \"query-status\", \"arguments\": null}", "{\"error\": {\"class\": "
          "\"GenericError\", \"desc\": \"QMP input member 'arguments' must be an object\"}}" },
        { "{\"a\" 1}", "{\"error\": {\"class\": \"GenericError\", \"desc\": \"JSON parse "
          "error, missing : in object pair\"}}" },
        { "nul ", "{\"error\": {\"class\": \"GenericError\", \"desc\": \"JSON parse error, "
          "invalid keyword 'nul'\"}}" },
        { "}", "{\"error\": {\"class\": \"GenericError\", \"desc\": \"JSON parse error, "
          "expecting value\"}}" },
        { "{\"execute\": \"query-status\", }", "{\"error\": {\"class\": \"GenericError\", "
          "\"desc\": \"JSON parse error, expecting value\"}}" },
    };
    Machine *m = machine_new_test(0);
    Client *c = negotiated(m);
    for (size_t i = 0; i < G_N_ELEMENTS(cases); i++)
        expect(c, cases[i][0], cases[i][1]);
    /* the session still works after all that */
    expect(c, "{\"execute\": \"query-name\"}", "{\"return\": {}}");
    client_free(c);
    monitor_cleanup(m);
    machine_free(m);
}

static void test_queries(void)
{
    Machine *m = machine_new_test(1 << 20);
    m->opts.name = "vm1";
    Client *c = negotiated(m);
    expect(c, "{\"execute\": \"query-name\", \"id\": {\"a\": [1, \"\\u00e9\"]}}",
           "{\"return\": {\"name\": \"vm1\"}, \"id\": {\"a\": [1, \"\\u00E9\"]}}");
    expect(c, "{'execute': 'query-uuid'}",
           "{\"return\": {\"UUID\": \"00000000-0000-0000-0000-000000000000\"}}");
    expect(c, "{\"execute\": \"query-kvm\"}", "{\"return\": {\"enabled\": false, "
           "\"present\": true}}");
    expect(c, "{\"execute\": \"query-target\"}", "{\"return\": {\"arch\": \"x86_64\"}}");
    expect(c, "{\"execute\": \"query-memory-size-summary\"}",
           "{\"return\": {\"base-memory\": 1048576, \"plugged-memory\": 0}}");
    g_autofree char *cpus = cmd(c, "{\"execute\": \"query-cpus-fast\"}");
    g_assert_nonnull(strstr(cpus, "\"cpu-index\": 0, \"qom-path\": "
                            "\"/machine/unattached/device[0]\", \"thread-id\": "));
    g_assert_nonnull(strstr(cpus, "\"props\": {\"socket-id\": 0, \"core-id\": 0, "
                            "\"thread-id\": 0}, \"target\": \"x86_64\"}"));
    g_autofree char *mach = cmd(c, "{\"execute\": \"query-machines\"}");
    g_assert_nonnull(strstr(mach, "\"name\": \"pc"));
    g_autofree char *cmds = cmd(c, "{\"execute\": \"query-commands\"}");
    for (size_t i = 0; i < qmp_commands_count; i++) {
        g_autofree char *want = g_strdup_printf("{\"name\": \"%s\"}", qmp_commands[i].name);
        g_assert_nonnull(strstr(cmds, want));
    }
    expect(c, "{\"execute\": \"query-chardev\"}", "{\"return\": []}");
    client_free(c);
    monitor_cleanup(m);
    machine_free(m);
}

/* Every type a command or event refers to is in the introspection data. */
static void test_schema(void)
{
    g_autoptr(JsonParser) p = json_parser_new();
    g_assert_true(json_parser_load_from_data(p, qmp_schema_json, -1, NULL));
    JsonArray *a = json_node_get_array(json_parser_get_root(p));
    g_autoptr(GHashTable) names = g_hash_table_new(g_str_hash, g_str_equal);
    for (guint i = 0; i < json_array_get_length(a); i++) {
        JsonObject *e = json_array_get_object_element(a, i);
        g_hash_table_add(names, (gpointer)json_object_get_string_member(e, "name"));
    }
    for (size_t i = 0; i < qmp_commands_count; i++)
        g_assert_true(g_hash_table_contains(names, qmp_commands[i].name));
    for (guint i = 0; i < json_array_get_length(a); i++) {
        JsonObject *e = json_array_get_object_element(a, i);
        const char *refs[] = { "arg-type", "ret-type", "element-type" };
        for (size_t r = 0; r < G_N_ELEMENTS(refs); r++)
            if (json_object_has_member(e, refs[r]))
                g_assert_true(g_hash_table_contains(
                    names, json_object_get_string_member(e, refs[r])));
    }
    Machine *m = machine_new_test(0);
    Client *c = negotiated(m);
    g_autofree char *r = cmd(c, "{\"execute\": \"query-qmp-schema\"}");
    g_assert_true(g_str_has_prefix(r, "{\"return\": [{\"name\": \"0\""));
    client_free(c);
    monitor_cleanup(m);
    machine_free(m);
}

/* stop/cont with events, in order, to every negotiated client only. */
static void test_events(void)
{
    Machine *m = machine_new_test(0);
    Client *a = negotiated(m), *b = negotiated(m);
    Client *raw = client_new(m, true, false);   /* never negotiates: gets no events */
    g_free(client_line(raw));
    if (runstate_is_running(m))
        vm_stop(m, RUN_STATE_PAUSED);
    client_send(a, "{\"execute\": \"cont\"}");
    g_autofree char *ev = client_line(a);
    g_assert_true(g_str_has_prefix(ev, "{\"timestamp\": {\"seconds\": "));
    g_assert_true(g_str_has_suffix(ev, "}, \"event\": \"RESUME\"}"));
    g_autofree char *ret = client_line(a);
    g_assert_cmpstr(ret, ==, "{\"return\": {}}");
    g_autofree char *evb = client_line(b);
    g_assert_true(g_str_has_suffix(evb, "\"event\": \"RESUME\"}"));
    expect(a, "{\"execute\": \"query-status\"}", "{\"return\": {\"running\": true, "
           "\"singlestep\": false, \"status\": \"running\"}}");
    expect(a, "{\"execute\": \"cont\"}", "{\"return\": {}}");    /* no event: running */
    client_send(b, "{\"execute\": \"stop\", \"id\": 7}");
    g_autofree char *evs = client_line(b);
    g_assert_true(g_str_has_suffix(evs, "\"event\": \"STOP\"}"));
    g_autofree char *r2 = client_line(b);
    g_assert_cmpstr(r2, ==, "{\"return\": {}, \"id\": 7}");
    g_autofree char *eva = client_line(a);
    g_assert_true(g_str_has_suffix(eva, "\"event\": \"STOP\"}"));
    expect(a, "{\"execute\": \"query-status\"}", "{\"return\": {\"running\": false, "
           "\"singlestep\": false, \"status\": \"paused\"}}");
    /* the raw client got nothing but still answers */
    expect(raw, "{\"execute\": \"query-status\"}", "{\"error\": {\"class\": "
           "\"CommandNotFound\", \"desc\": \"Expecting capabilities negotiation with "
           "'qmp_capabilities'\"}}");
    client_free(a);
    client_free(b);
    client_free(raw);
    monitor_cleanup(m);
    machine_free(m);
}

static void test_hmp_via_qmp(void)
{
    Machine *m = machine_new_test(0);
    Client *c = negotiated(m);
    runstate_set(m, RUN_STATE_PAUSED);
    expect(c, "{\"execute\": \"human-monitor-command\", \"arguments\": {\"command-line\": "
           "\"info status\"}}", "{\"return\": \"VM status: paused\\r\\n\"}");
    expect(c, "{\"execute\": \"human-monitor-command\", \"arguments\": {\"command-line\": "
           "\"bogus\"}}", "{\"return\": \"unknown command: 'bogus'\\r\\n\"}");
    expect(c, "{\"execute\": \"human-monitor-command\", \"arguments\": {\"command-line\": "
           "\"info bogus\"}}", "{\"return\": \"unknown command: 'info bogus'\\r\\n\"}");
    expect(c, "{\"execute\": \"human-monitor-command\", \"arguments\": {\"command-line\": "
           "\"system_reset foo\"}}", "{\"return\": \"system_reset: extraneous characters at "
           "the end of line\\r\\nTry \\\"help system_reset\\\" for more information\\r\\n\"}");
    expect(c, "{\"execute\": \"human-monitor-command\", \"arguments\": {\"command-line\": "
           "\"info version\"}}", "{\"return\": \"7.2.0 (vireo-" VIREO_VERSION ")\\r\\n\"}");
    expect(c, "{\"execute\": \"human-monitor-command\", \"arguments\": {\"command-line\": "
           "\"\"}}", "{\"return\": \"\"}");
    client_free(c);
    monitor_cleanup(m);
    machine_free(m);
}

static void test_hmp_session(void)
{
    Machine *m = machine_new_test(0);
    Client *c = client_new(m, false, false);
    g_autofree char *banner = client_line(c);
    g_assert_true(g_str_has_prefix(banner, "QEMU 7.2.0 monitor"));
    g_free(client_line_until(c, "(qemu) "));
    client_send(c, "info  kvmX\b\r\n");       /* backspace edits the line */
    g_autofree char *echo = client_line_until(c, "(qemu) ");
    g_assert_nonnull(strstr(echo, "kvm support: disabled\r\n"));
    client_free(c);
    monitor_cleanup(m);
    machine_free(m);
}

/* A client that leaves mid-command does not disturb the others. */
static void test_disconnect(void)
{
    Machine *m = machine_new_test(0);
    Client *a = negotiated(m), *b = negotiated(m);
    g_assert_cmpuint(m->monitors->sessions->len, ==, 2);
    client_send(a, "{\"execute\": \"query-status\"}{\"execute\": \"query-st");
    close(a->fd);
    a->fd = -1;
    while (m->monitors->sessions->len == 2)     /* the session goes on its own */
        g_main_context_iteration(NULL, TRUE);
    expect(b, "{\"execute\": \"query-name\"}", "{\"return\": {}}");
    client_free(a);
    client_free(b);
    monitor_cleanup(m);
    machine_free(m);
}

/* Many commands in one write: every reply, in order. */
static void test_flood(void)
{
    Machine *m = machine_new_test(0);
    Client *c = negotiated(m);
    GString *req = g_string_new(NULL);
    for (int i = 0; i < 2000; i++)
        g_string_append_printf(req, "{\"execute\": \"query-name\", \"id\": %d}", i);
    client_send(c, req->str);
    for (int i = 0; i < 2000; i++) {
        g_autofree char *l = client_line(c);
        g_autofree char *want = g_strdup_printf("{\"return\": {}, \"id\": %d}", i);
        g_assert_cmpstr(l, ==, want);
    }
    g_string_free(req, TRUE);
    client_free(c);
    monitor_cleanup(m);
    machine_free(m);
}

static int dummy_can_read(void *opaque) { return 4096; }
static void dummy_read(void *opaque, const uint8_t *buf, size_t len) { }

static char *ringbuf_text(Chardev *chr)
{
    g_autofree uint8_t *buf = g_malloc(65536);
    size_t n = chr_ringbuf_read(chr, buf, 65535);
    buf[n] = 0;
    return g_strdup((char *)buf);
}

/* HMP on a mux beside a serial port: it opens when Ctrl-A c gives it the focus. */
static void test_hmp_mux(void)
{
    Machine *m = machine_new_test(0);
    Chardev *chr = chr_new("ringbuf,id=con,mux=on", NULL, NULL);
    g_assert_nonnull(chr);
    g_assert_true(chr_registry_add(m->chardevs, chr, NULL));
    int serial_tag;
    ChrFrontend fe = { .can_read = dummy_can_read, .read = dummy_read, .opaque = &serial_tag };
    chr_set_frontend(chr, &fe);
    g_assert_true(monitor_add(m, chr, false, false, NULL));
    g_autofree char *before = ringbuf_text(chr);
    g_assert_cmpstr(before, ==, "");                /* no banner while the serial has focus */
    chr_be_input(chr, (const uint8_t *)"\x01" "c", 2);
    g_autofree char *banner = ringbuf_text(chr);
    g_assert_true(g_str_has_prefix(banner, "QEMU 7.2.0 monitor"));
    g_assert_true(g_str_has_suffix(banner, "(qemu) "));
    chr_be_input(chr, (const uint8_t *)"info kvm\r", 9);
    g_autofree char *out = ringbuf_text(chr);
    g_assert_cmpstr(out, ==, "info kvm\r\nkvm support: disabled\r\n(qemu) ");
    monitor_cleanup(m);
    machine_free(m);
}

/* Random bytes rich in JSON punctuation: no crash, the session ends at EOF, and
 * another client is served throughout. */
static void test_garbage(void)
{
    static const char alphabet[] = "{}[]\"'\\:," "\0" "0123456789.eE+-truefalsnl \n\t\xc3\xa9\xff\x01";
    Machine *m = machine_new_test(0);
    Client *a = negotiated(m), *b = negotiated(m);
    GRand *r = g_rand_new_with_seed(4);
    GString *g = g_string_new(NULL);
    for (int i = 0; i < 300000; i++)
        g_string_append_c(g, alphabet[g_rand_int_range(r, 0, sizeof(alphabet) - 1)]);
    for (int i = 0; i < 300000; i += 4096)
        g_string_insert(g, i, "{\"execute\": \"query-status\"}");
    for (size_t off = 0; off < g->len;) {
        ssize_t n = write(a->fd, g->str + off, MIN(g->len - off, 65536));
        if (n > 0)
            off += n;
        char buf[65536];
        while (read(a->fd, buf, sizeof(buf)) > 0)
            ;
        g_main_context_iteration(NULL, FALSE);
    }
    shutdown(a->fd, SHUT_WR);
    while (m->monitors->sessions->len == 2) {
        char buf[65536];
        while (read(a->fd, buf, sizeof(buf)) > 0)
            ;
        g_main_context_iteration(NULL, FALSE);
    }
    expect(b, "{\"execute\": \"query-name\"}", "{\"return\": {}}");
    g_string_free(g, TRUE);
    g_rand_free(r);
    client_free(a);
    client_free(b);
    monitor_cleanup(m);
    machine_free(m);
}

/* Replies far beyond the socket buffer and the 1 MiB input pause: all arrive. */
static void test_flow_control(void)
{
    Machine *m = machine_new_test(0);
    Client *c = negotiated(m);
    GString *req = g_string_new(NULL);
    for (int i = 0; i < 150; i++)
        g_string_append_printf(req, "{\"execute\": \"query-qmp-schema\", \"id\": %d}", i);
    client_send(c, req->str);
    for (int i = 0; i < 20; i++)        /* let the server run ahead of the reader */
        g_main_context_iteration(NULL, FALSE);
    for (int i = 0; i < 150; i++) {
        g_autofree char *l = client_line(c);
        g_autofree char *tail = g_strdup_printf("], \"id\": %d}", i);
        g_assert_true(g_str_has_prefix(l, "{\"return\": [{"));
        g_assert_true(g_str_has_suffix(l, tail));
    }
    g_string_free(req, TRUE);
    client_free(c);
    monitor_cleanup(m);
    machine_free(m);
}

static void test_pretty(void)
{
    Machine *m = machine_new_test(0);
    Client *c = client_new(m, true, true);
    g_autofree char *g = client_line_until(c, "\r\n}\r\n");
    g_assert_true(g_str_has_prefix(g, "{\r\n    \"QMP\": {\r\n"));
    client_send(c, "{\"execute\": \"qmp_capabilities\"}");
    g_autofree char *r = client_line_until(c, "\r\n}\r\n");
    g_assert_cmpstr(r, ==, "{\r\n    \"return\": {}");
    client_free(c);
    monitor_cleanup(m);
    machine_free(m);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/qapi/monitor/greeting", test_greeting_and_negotiation);
    g_test_add_func("/qapi/monitor/errors", test_errors);
    g_test_add_func("/qapi/monitor/queries", test_queries);
    g_test_add_func("/qapi/monitor/schema", test_schema);
    g_test_add_func("/qapi/monitor/events", test_events);
    g_test_add_func("/qapi/monitor/hmp-via-qmp", test_hmp_via_qmp);
    g_test_add_func("/qapi/monitor/hmp-session", test_hmp_session);
    g_test_add_func("/qapi/monitor/disconnect", test_disconnect);
    g_test_add_func("/qapi/monitor/flood", test_flood);
    g_test_add_func("/qapi/monitor/flow-control", test_flow_control);
    g_test_add_func("/qapi/monitor/pretty", test_pretty);
    g_test_add_func("/qapi/monitor/garbage", test_garbage);
    g_test_add_func("/qapi/monitor/hmp-mux", test_hmp_mux);
    return g_test_run();
}
