/*
 * The QMP/HMP server without KVM: sessions on socketpairs against a test machine,
 * checking replies, error texts (QEMU 7.2's), events, several clients, disconnects.
 */
#include "vireo/qmp.h"
#include "vireo/runstate.h"
#include "qapi/monitor-int.h"
#include "qmp-test-client.h"
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

static Client *negotiated(Machine *m)
{
    Client *c = client_new_session(m, true, false);
    g_free(client_line(c));
    expect(c, "{\"execute\": \"qmp_capabilities\"}", "{\"return\": {}}");
    return c;
}

static void test_greeting_and_negotiation(void)
{
    Machine *m = machine_new_test(0);
    Client *c = client_new_session(m, true, false);
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
    Client *raw = client_new_session(m, true, false);   /* never negotiates: gets no events */
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
    Client *c = client_new_session(m, false, false);
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
    Client *c = client_new_session(m, true, true);
    g_autofree char *g = client_line_until(c, "\r\n}\r\n");
    g_assert_true(g_str_has_prefix(g, "{\r\n    \"QMP\": {\r\n"));
    client_send(c, "{\"execute\": \"qmp_capabilities\"}");
    g_autofree char *r = client_line_until(c, "\r\n}\r\n");
    g_assert_cmpstr(r, ==, "{\r\n    \"return\": {\r\n    }");   /* QEMU's layout */
    client_free(c);
    monitor_cleanup(m);
    machine_free(m);
}


/* ---- issue 13: hostile and slow clients ----------------------------------------------- */

static int unix_connect(const char *path)
{
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    g_strlcpy(sa.sun_path, path, sizeof(sa.sun_path));
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    g_assert_cmpint(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), ==, 0);
    return fd;
}

/* Runs the main loop until nothing is left to dispatch. */
static void settle(void)
{
    for (int idle = 0; idle < 3;)
        idle = g_main_context_iteration(NULL, FALSE) ? 0 : idle + 1;
}

/* Whatever the server has sent so far, without waiting. */
static void client_drain(Client *c)
{
    char buf[65536];
    ssize_t r;
    while ((r = read(c->fd, buf, sizeof(buf))) > 0)
        g_string_append_len(c->in, buf, r);
}

/* Item 5: a -qmp listener serves 16 clients at once; the 17th waits in the backlog
 * until one leaves (on 26354bc every client got a session). */
static void test_listener_cap(void)
{
    Machine *m = machine_new_test(0);
    g_autofree char *dir = g_dir_make_tmp("vireo-qmp-XXXXXX", NULL);
    g_autofree char *path = g_build_filename(dir, "q", NULL);
    g_autofree char *spec = g_strdup_printf("unix:%s,server=on,wait=off", path);
    g_assert_true(monitor_parse_qmp_option(m, spec, false, NULL));
    Client *c[18];
    for (int i = 0; i < 18; i++) {          /* (the backlog holds 17: connect one by one) */
        c[i] = client_new_fd(unix_connect(path));
        while (i < 16 && m->monitors->sessions->len < (guint)i + 1)
            g_main_context_iteration(NULL, TRUE);
        settle();
    }
    g_assert_cmpuint(m->monitors->sessions->len, ==, 16);
    for (int i = 0; i < 16; i++)
        g_free(client_line(c[i]));                    /* greetings */
    client_drain(c[16]);
    g_assert_cmpuint(c[16]->in->len, ==, 0);         /* waiting in the backlog */
    close(c[0]->fd);
    c[0]->fd = -1;
    g_autofree char *g = client_line(c[16]);         /* ... served once one leaves */
    g_assert_true(g_str_has_prefix(g, "{\"QMP\": "));
    settle();
    g_assert_cmpuint(m->monitors->sessions->len, ==, 16);
    for (int i = 0; i < 18; i++)
        client_free(c[i]);
    monitor_cleanup(m);
    machine_free(m);
    g_assert_false(g_file_test(path, G_FILE_TEST_EXISTS));
    rmdir(dir);
}

static void send_big_string(Client *c, const char *head, size_t mib)
{
    client_send(c, head);
    g_autofree char *chunk = g_malloc(1 << 20);
    memset(chunk, 'x', 1 << 20);
    for (size_t i = 0; i < mib; i++) {
        for (size_t done = 0; done < (1 << 20);) {
            ssize_t n = write(c->fd, chunk + done, (1 << 20) - done);
            if (n > 0)
                done += n;
            else
                g_main_context_iteration(NULL, FALSE);
        }
    }
}

/* Item 5: unfinished commands share one budget beyond 64 KiB each: a second client
 * parking 40 MiB next to the first one's 40 MiB is told so at once, and a small
 * command is still served (on 26354bc each client could park 64 MiB). */
static void test_input_budget(void)
{
    Machine *m = machine_new_test(0);
    Client *a = negotiated(m), *b = negotiated(m), *small = negotiated(m);
    static const char head[] = "{\"execute\": \"query-status\", \"arguments\": {\"x\": \"";
    send_big_string(a, head, 40);
    send_big_string(b, head, 40);
    client_send(b, "\"}}");                          /* the end of the refused text */
    g_autofree char *eb = client_line(b);
    g_assert_cmpstr(eb, ==, "{\"error\": {\"class\": \"GenericError\", \"desc\": \"JSON token "
                    "size limit exceeded (the unfinished input of all clients together has "
                    "reached its limit)\"}}");
    expect(small, "{\"execute\": \"query-name\"}", "{\"return\": {}}");
    expect(b, "{\"execute\": \"query-name\"}", "{\"return\": {}}");
    expect(a, "\"}}", "{\"error\": {\"class\": \"GenericError\", \"desc\": \"Parameter 'x' "
           "is unexpected\"}}");
    client_free(a);
    client_free(b);
    client_free(small);
    monitor_cleanup(m);
    machine_free(m);
}

/* Reads one -qmp-pretty message (it ends with a closing brace at column 0). */
static char *pretty_message(Client *c)
{
    return client_line_until(c, "\r\n}\r\n");
}

/* Item 6: what an echoed id costs is bounded: deep ids are echoed on one line, long
 * ones refused before the command runs; shallow ones are indented as QEMU does. */
static void test_pretty_id(void)
{
    Machine *m = machine_new_test(0);
    Client *c = client_new_session(m, true, true);
    g_free(pretty_message(c));
    client_send(c, "{\"execute\": \"qmp_capabilities\"}");
    g_free(pretty_message(c));
    GString *id = g_string_new("["), *idc = g_string_new("[");
    for (int i = 0; i < 60; i++) {
        g_string_append(id, i ? "," : "");
        g_string_append(idc, i ? ", " : "");
        for (int d = 0; d < 1000; d++) {
            g_string_append_c(id, d < 500 ? '[' : ']');
            g_string_append_c(idc, d < 500 ? '[' : ']');
        }
    }
    g_string_append_c(id, ']');
    g_string_append_c(idc, ']');
    g_autofree char *req = g_strdup_printf("{\"execute\": \"query-name\", \"id\": %s}", id->str);
    client_send(c, req);
    g_autofree char *deep = pretty_message(c);
    /* 26354bc: ~60 MB of indentation (and three copies in memory) for this 60 KB id */
    g_assert_cmpuint(strlen(deep), <, 4 * id->len + 4096 + 64);
    g_autofree char *want = g_strdup_printf("{\r\n    \"return\": {\r\n    },\r\n    \"id\": "
                                            "%s", idc->str);
    g_assert_cmpstr(deep, ==, want);                 /* the same value, on one line */
    client_send(c, "{\"execute\": \"query-name\", \"id\": {\"a\": [1, {}]}}");
    g_autofree char *shallow = pretty_message(c);
    g_assert_cmpstr(shallow, ==, "{\r\n    \"return\": {\r\n    },\r\n    \"id\": {\r\n"
                    "        \"a\": [\r\n            1,\r\n            {\r\n            }\r\n"
                    "        ]\r\n    }");
    GString *longid = g_string_new("\"");
    for (int i = 0; i < 70000; i++)
        g_string_append_c(longid, 'i');
    g_string_append_c(longid, '"');
    g_autofree char *req2 = g_strdup_printf("{\"execute\": \"stop\", \"id\": %s}", longid->str);
    client_send(c, req2);
    g_autofree char *refused = pretty_message(c);
    g_assert_cmpstr(refused, ==, "{\r\n    \"error\": {\r\n        \"class\": \"GenericError\","
                    "\r\n        \"desc\": \"QMP input member 'id' is longer than 65536 bytes\""
                    "\r\n    }");
    g_string_free(longid, TRUE);
    g_string_free(id, TRUE);
    g_string_free(idc, TRUE);
    client_free(c);
    monitor_cleanup(m);
    machine_free(m);
}

/* Item 7: a -mon chardev client that sends 40 query-qmp-schema and reads nothing does
 * not stall anybody; when it reads, every reply is there, whole and in order, and
 * its session is still negotiated (26354bc: blocking writes of up to 1 s each, 23 of
 * 40 replies dropped, negotiation reset). */
static void test_chardev_slow_client(void)
{
    Machine *m = machine_new_test(0);
    g_autofree char *dir = g_dir_make_tmp("vireo-qmp-XXXXXX", NULL);
    g_autofree char *path = g_build_filename(dir, "m", NULL);
    g_autofree char *spec = g_strdup_printf("socket,id=mon1,path=%s,server=on,wait=off", path);
    Chardev *chr = chr_new(spec, NULL, NULL);
    g_assert_nonnull(chr);
    g_assert_true(chr_registry_add(m->chardevs, chr, NULL));
    g_assert_true(monitor_add(m, chr, true, false, NULL));
    Client *a = client_new_fd(unix_connect(path));
    int small = 4096;
    setsockopt(a->fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof(small));
    g_free(client_line(a));
    expect(a, "{\"execute\": \"qmp_capabilities\"}", "{\"return\": {}}");
    GString *req = g_string_new(NULL);
    for (int i = 0; i < 40; i++)
        g_string_append_printf(req, "{\"execute\": \"query-qmp-schema\", \"id\": %d}", i);
    client_send(a, req->str);
    settle();
    Client *b = negotiated(m);
    expect(b, "{\"execute\": \"query-name\"}", "{\"return\": {}}");
    client_send(a, "{\"execute\": \"query-name\", \"id\": \"end\"}");
    int schema = 0;
    for (;;) {
        g_autofree char *l = client_line(a);
        if (g_str_has_suffix(l, "\"id\": \"end\"}")) {
            g_assert_cmpstr(l, ==, "{\"return\": {}, \"id\": \"end\"}");
            break;
        }
        g_autofree char *tail = g_strdup_printf("], \"id\": %d}", schema);
        g_assert_true(g_str_has_prefix(l, "{\"return\": [{\"name\": \"0\""));
        g_assert_true(g_str_has_suffix(l, tail));
        schema++;
    }
    g_assert_cmpint(schema, ==, 40);
    g_string_free(req, TRUE);
    client_free(a);
    client_free(b);
    monitor_cleanup(m);
    machine_free(m);
    rmdir(dir);
}

/* Item 7: a chardev client that lets its output pile up past the limit (events it
 * never reads) is disconnected, and the chardev serves the next client. */
static void test_chardev_disconnect_at_limit(void)
{
    Machine *m = machine_new_test(0);
    g_autofree char *dir = g_dir_make_tmp("vireo-qmp-XXXXXX", NULL);
    g_autofree char *path = g_build_filename(dir, "m", NULL);
    g_autofree char *spec = g_strdup_printf("socket,id=mon1,path=%s,server=on,wait=off", path);
    Chardev *chr = chr_new(spec, NULL, NULL);
    g_assert_true(chr_registry_add(m->chardevs, chr, NULL));
    g_assert_true(monitor_add(m, chr, true, false, NULL));
    Client *a = client_new_fd(unix_connect(path));
    g_free(client_line(a));
    expect(a, "{\"execute\": \"qmp_capabilities\"}", "{\"return\": {}}");
    g_test_expect_message(NULL, G_LOG_LEVEL_WARNING, "*does not read its replies*");
    for (int i = 0; i < 1000000 && chr_is_connected(chr); i++)
        monitor_emit_event(m, "STOP", NULL);
    g_test_assert_expected_messages();
    g_assert_false(chr_is_connected(chr));
    for (;;) {                                       /* a reads: some events, then EOF */
        char buf[65536];
        ssize_t r = read(a->fd, buf, sizeof(buf));
        if (r == 0)
            break;
        if (r < 0) {
            g_assert_cmpint(errno, ==, EAGAIN);
            g_main_context_iteration(NULL, TRUE);
        }
    }
    Client *b = client_new_fd(unix_connect(path));
    g_autofree char *g = client_line(b);
    g_assert_true(g_str_has_prefix(g, "{\"QMP\": "));
    client_free(a);
    client_free(b);
    monitor_cleanup(m);
    machine_free(m);
    rmdir(dir);
}

/* A client that sends its commands and half-closes gets every reply, then EOF
 * (26354bc closed the session at EOF and dropped what was still queued). */
static void test_half_close(void)
{
    Machine *m = machine_new_test(0);
    int sv[2];
    g_assert_cmpint(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), ==, 0);
    g_assert_true(monitor_add_fd(m, sv[0], true, false, NULL));
    Client *c = client_new_fd(sv[1]);
    g_free(client_line(c));
    GString *req = g_string_new("{\"execute\": \"qmp_capabilities\"}");
    for (int i = 0; i < 40; i++)
        g_string_append_printf(req, "{\"execute\": \"query-qmp-schema\", \"id\": %d}", i);
    client_send(c, req->str);
    shutdown(c->fd, SHUT_WR);
    g_free(client_line(c));
    for (int i = 0; i < 40; i++) {
        g_autofree char *l = client_line(c);
        g_autofree char *tail = g_strdup_printf("], \"id\": %d}", i);
        g_assert_true(g_str_has_suffix(l, tail));
    }
    while (m->monitors->sessions->len)               /* then the session ends */
        g_main_context_iteration(NULL, TRUE);
    g_string_free(req, TRUE);
    client_free(c);
    monitor_cleanup(m);
    machine_free(m);
}

typedef struct Reader {
    int fd;
    unsigned pause_us;     /* between 4 KiB reads */
    int replies;
} Reader;

/* Reads 4 KiB at a time until EOF, counting lines. */
static gpointer reader_thread(gpointer opaque)
{
    Reader *r = opaque;
    char buf[4096];
    ssize_t n;
    fcntl(r->fd, F_SETFL, 0);
    while ((n = read(r->fd, buf, sizeof(buf))) > 0) {
        for (ssize_t i = 0; i < n; i++)
            r->replies += buf[i] == '\n';
        if (r->pause_us)
            g_usleep(r->pause_us);
    }
    return NULL;
}

/* How many query-qmp-schema replies fit in 3/4 of MONITOR_OUT_HIGH (so that all are
 * answered before input is held back); the schema grows as commands are added. */
static int queued_replies(void)
{
    return MIN(60, (int)((MONITOR_OUT_HIGH / 4 * 3) / (strlen(qmp_schema_json) + 64)));
}

/* A session with a 4 KiB socket buffer and queued_replies() query-qmp-schema replies
 * (about 768 KB) answered, nearly all still queued. */
static Client *queued_client(Machine *m)
{
    int sv[2];
    g_assert_cmpint(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), ==, 0);
    int small = 4096;
    setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &small, sizeof(small));
    setsockopt(sv[1], SOL_SOCKET, SO_RCVBUF, &small, sizeof(small));
    g_assert_true(monitor_add_fd(m, sv[0], true, false, NULL));
    Client *c = client_new_fd(sv[1]);
    g_free(client_line(c));
    expect(c, "{\"execute\": \"qmp_capabilities\"}", "{\"return\": {}}");
    GString *req = g_string_new(NULL);
    for (int i = 0; i < queued_replies(); i++)
        g_string_append_printf(req, "{\"execute\": \"query-qmp-schema\", \"id\": %d}", i);
    client_send(c, req->str);
    settle();                                        /* all answered, mostly queued */
    g_string_free(req, TRUE);
    return c;
}

/* Item 8: at exit, queued output gets one deadline (1 s) for all sessions together. A
 * reader that would need ~4 s for its ~768 KB of replies (at most 200 KiB/s) does not hold up
 * the exit: it gets EOF with replies missing. A client that reads gets everything
 * (26354bc dropped what was queued at exit, reading or not; and its chardev sessions
 * could block for as long as a client kept reading slowly). */
static void test_exit_deadline(void)
{
    Machine *m = machine_new_test(0);
    Client *slow = queued_client(m);
    Reader rs = { .fd = slow->fd, .pause_us = 20000 };
    GThread *t = g_thread_new("slow-reader", reader_thread, &rs);
    monitor_cleanup(m);                              /* closes the session */
    g_thread_join(t);
    g_assert_cmpint(rs.replies, <, queued_replies());
    client_free(slow);

    Client *fast = queued_client(m);
    m->monitors->exit_flush_ms = 600000;             /* no deadline in sight: all of it */
    Reader rf = { .fd = fast->fd };
    t = g_thread_new("reader", reader_thread, &rf);
    monitor_cleanup(m);
    g_thread_join(t);
    g_assert_cmpint(rf.replies, ==, queued_replies());
    client_free(fast);
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
    g_test_add_func("/qapi/monitor/listener-cap", test_listener_cap);
    g_test_add_func("/qapi/monitor/input-budget", test_input_budget);
    g_test_add_func("/qapi/monitor/pretty-id", test_pretty_id);
    g_test_add_func("/qapi/monitor/chardev-slow-client", test_chardev_slow_client);
    g_test_add_func("/qapi/monitor/chardev-disconnect-at-limit",
                    test_chardev_disconnect_at_limit);
    g_test_add_func("/qapi/monitor/half-close", test_half_close);
    g_test_add_func("/qapi/monitor/exit-deadline", test_exit_deadline);
    return g_test_run();
}
