/* Chardev backends: option syntax, null/file/ringbuf, fd input with flow control,
 * non-blocking output, the Ctrl-A mux, unix/tcp sockets, pty, the registry. */
#include "vireo/chardev.h"
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <arpa/inet.h>
#include <string.h>
#include <unistd.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>

/* A frontend that records what it gets; @room limits can_read. */
typedef struct Fe {
    GString *in;
    int room;
    int events[8];
} Fe;

static int fe_can_read(void *o) { return ((Fe *)o)->room; }
static void fe_read(void *o, const uint8_t *b, size_t n)
{
    Fe *fe = o;
    g_string_append_len(fe->in, (const char *)b, n);
    if (fe->room < 1000)
        fe->room -= n;
}
static void fe_event(void *o, ChrEvent ev) { ((Fe *)o)->events[ev]++; }

static void fe_init(Fe *fe, int room)
{
    memset(fe, 0, sizeof(*fe));
    fe->in = g_string_new(NULL);
    fe->room = room;
}

static ChrFrontend fe_ops(Fe *fe)
{
    return (ChrFrontend){ fe_can_read, fe_read, fe_event, fe };
}

/* Runs the main loop until *@flag is true (or fails after 10 s: a hang, not a
 * timing threshold). */
static void iterate_until(const bool *flag)
{
    gint64 end = g_get_monotonic_time() + 10 * G_USEC_PER_SEC;
    while (!*flag) {
        g_assert_cmpint(g_get_monotonic_time(), <, end);
        g_main_context_iteration(NULL, FALSE);
        g_usleep(1000);
    }
}

static void iterate_some(void)
{
    for (int i = 0; i < 20; i++)
        g_main_context_iteration(NULL, FALSE);
}

static void wait_events(Fe *fe, ChrEvent ev, int n)
{
    gint64 end = g_get_monotonic_time() + 10 * G_USEC_PER_SEC;
    while (fe->events[ev] < n) {
        g_assert_cmpint(g_get_monotonic_time(), <, end);
        g_main_context_iteration(NULL, FALSE);
        g_usleep(1000);
    }
}

static void wait_input(Fe *fe, size_t len)
{
    gint64 end = g_get_monotonic_time() + 10 * G_USEC_PER_SEC;
    while (fe->in->len < len) {
        g_assert_cmpint(g_get_monotonic_time(), <, end);
        g_main_context_iteration(NULL, FALSE);
        g_usleep(1000);
    }
}

static void expect_error(const char *spec, const char *msg)
{
    GError *err = NULL;
    g_assert_null(chr_new(spec, "x", &err));
    g_assert_nonnull(err);
    g_assert_cmpstr(err->message, ==, msg);
    g_error_free(err);
}

static void test_errors(void)
{
    expect_error("foo,id=x", "-chardev: unknown backend 'foo'");
    expect_error("null,id=x,bogus=1", "-chardev: invalid parameter 'bogus' for backend 'null'");
    expect_error("id=x", "-chardev: 'id=x' does not start with a backend name");
    expect_error("file,id=x", "-chardev: file backend needs path=");
    expect_error("file,id=x,path=/nonexistent/dir/f",
                 "-chardev: could not open '/nonexistent/dir/f': No such file or directory");
    expect_error("socket,id=x", "-chardev: socket needs one of path= (unix), host=,port= (tcp) or fd=");
    expect_error("socket,id=x,path=/tmp/x,server=maybe",
                 "-chardev: parameter 'server' expects 'on' or 'off', not 'maybe'");
    expect_error("ringbuf,id=x,size=3", "-chardev: ringbuf size '3' must be a power of two up to 1G");
    GError *err = NULL;
    g_assert_null(chr_new("null", NULL, &err));
    g_assert_cmpstr(err->message, ==, "-chardev: parameter 'id' is missing");
    g_clear_error(&err);
    g_assert_null(chr_new_shorthand("bogus:x", "serial0", &err));
    g_assert_nonnull(strstr(err->message, "'bogus:x': unknown character device 'bogus'"));
    g_clear_error(&err);
    g_assert_null(chr_new_shorthand("tcp:nohostport", "serial0", &err));
    g_assert_nonnull(strstr(err->message, "expected tcp:HOST:PORT"));
    g_clear_error(&err);
}

static Chardev *must_new(const char *spec)
{
    GError *err = NULL;
    Chardev *chr = chr_new(spec, NULL, &err);
    g_assert_no_error(err);
    g_assert_nonnull(chr);
    return chr;
}

static void test_null_ringbuf(void)
{
    Chardev *n = must_new("null,id=n");
    g_assert_cmpstr(chr_id(n), ==, "n");
    g_assert_cmpstr(chr_filename(n), ==, "null");
    g_assert_cmpint(chr_write(n, (const uint8_t *)"abc", 3), ==, 3);
    chr_free(n);

    Chardev *r = must_new("ringbuf,id=r,size=8");
    uint8_t buf[16];
    g_assert_cmpint(chr_write(r, (const uint8_t *)"0123456789", 10), ==, 10);
    g_assert_cmpuint(chr_ringbuf_read(r, buf, sizeof(buf)), ==, 8);  /* newest 8 */
    g_assert_cmpmem(buf, 8, "23456789", 8);
    g_assert_cmpuint(chr_ringbuf_read(r, buf, sizeof(buf)), ==, 0);
    chr_free(r);
}

static void test_file(void)
{
    g_autofree char *dir = g_dir_make_tmp("vireo-chr-XXXXXX", NULL);
    g_autofree char *path = g_build_filename(dir, "out.txt", NULL);
    g_autofree char *spec = g_strdup_printf("file:%s", path);
    GError *err = NULL;
    Chardev *f = chr_new_shorthand(spec, "serial0", &err);
    g_assert_no_error(err);
    g_assert_cmpstr(chr_label(f), ==, spec);
    g_assert_cmpint(chr_write(f, (const uint8_t *)"hello\n", 6), ==, 6);
    g_assert_cmpint(chr_write_nonblock(f, (const uint8_t *)"x", 1), ==, 1);
    chr_free(f);
    g_autofree char *spec2 = g_strdup_printf("file,id=f,path=%s,append=on", path);
    f = must_new(spec2);
    chr_write(f, (const uint8_t *)"more", 4);
    chr_free(f);
    g_autofree char *data = NULL;
    g_assert_true(g_file_get_contents(path, &data, NULL, NULL));
    g_assert_cmpstr(data, ==, "hello\nxmore");
    unlink(path);
    rmdir(dir);
}

/* Pipe-backed chardev: input through the main loop, can_read flow control, EOF. */
static void test_fd_input(void)
{
    int in[2], out[2];
    g_assert_cmpint(pipe(in), ==, 0);
    g_assert_cmpint(pipe(out), ==, 0);
    Chardev *c = chr_new_fd(in[0], out[1], "p");
    Fe fe;
    fe_init(&fe, 3);
    chr_set_frontend(c, &(ChrFrontend){ fe_can_read, fe_read, fe_event, &fe });
    g_assert_cmpint(write(in[1], "abcdef", 6), ==, 6);
    bool got3 = false;
    for (int i = 0; i < 200 && !got3; i++) {
        g_main_context_iteration(NULL, FALSE);
        got3 = fe.in->len == 3;
    }
    g_assert_cmpstr(fe.in->str, ==, "abc");
    iterate_some();                       /* can_read is 0: nothing more */
    g_assert_cmpstr(fe.in->str, ==, "abc");
    fe.room = 1000;
    chr_accept_input(c);
    bool all = false;
    while (!all) {
        g_main_context_iteration(NULL, FALSE);
        all = fe.in->len == 6;
    }
    g_assert_cmpstr(fe.in->str, ==, "abcdef");
    /* output */
    g_assert_cmpint(chr_write(c, (const uint8_t *)"xyz", 3), ==, 3);
    char buf[8];
    g_assert_cmpint(read(out[0], buf, sizeof(buf)), ==, 3);
    g_assert_cmpmem(buf, 3, "xyz", 3);
    /* EOF: the peer is gone */
    close(in[1]);
    wait_events(&fe, CHR_EVENT_CLOSED, 1);
    g_assert_false(chr_is_connected(c));
    chr_free(c);
    close(out[0]);
    g_string_free(fe.in, TRUE);
}

static void on_writable(void *opaque) { *(bool *)opaque = true; }

/* A full pipe: -EAGAIN, then the writable notification once it drains. */
static void test_nonblock_output(void)
{
    int out[2];
    g_assert_cmpint(pipe(out), ==, 0);
    Chardev *c = chr_new_fd(-1, out[1], "w");
    uint8_t chunk[4096] = { 0 };
    ssize_t n;
    size_t total = 0;
    while ((n = chr_write_nonblock(c, chunk, sizeof(chunk))) > 0)
        total += n;
    g_assert_cmpint(n, ==, -EAGAIN);
    g_assert_cmpuint(total, >, 0);
    bool ready = false;
    chr_notify_writable(c, on_writable, &ready);
    chr_notify_writable(c, on_writable, &ready);   /* same pair: once */
    iterate_some();
    g_assert_false(ready);
    while (total > 0) {
        ssize_t r = read(out[0], chunk, sizeof(chunk));
        g_assert_cmpint(r, >, 0);
        total -= r;
    }
    iterate_until(&ready);
    g_assert_cmpint(chr_write_nonblock(c, chunk, 1), ==, 1);
    /* cancel */
    bool never = false;
    while (chr_write_nonblock(c, chunk, sizeof(chunk)) > 0)
        ;
    chr_notify_writable(c, on_writable, &never);
    chr_cancel_writable(c, on_writable, &never);
    while (read(out[0], chunk, sizeof(chunk)) == sizeof(chunk))
        ;
    iterate_some();
    g_assert_false(never);
    chr_free(c);
    close(out[0]);
}

static void on_quit(void *opaque) { (*(int *)opaque)++; }

static size_t rb_read_str(Chardev *c, char *buf, size_t max)
{
    size_t n = chr_ringbuf_read(c, (uint8_t *)buf, max - 1);
    buf[n] = '\0';
    return n;
}

static void test_mux(void)
{
    Chardev *m = must_new("ringbuf,id=con,mux=on");
    g_assert_true(chr_is_mux(m));
    g_assert_cmpstr(chr_id(m), ==, "con");
    Fe a, b;
    fe_init(&a, 1000);
    fe_init(&b, 1000);
    ChrFrontend fa = fe_ops(&a), fb = fe_ops(&b);
    chr_set_frontend(m, &fa);
    chr_set_frontend(m, &fb);
    g_assert_cmpint(a.events[CHR_EVENT_MUX_IN], ==, 1);     /* first keeps the focus */
    g_assert_cmpint(b.events[CHR_EVENT_MUX_IN], ==, 0);
    chr_be_input(m, (const uint8_t *)"ab", 2);
    g_assert_cmpstr(a.in->str, ==, "ab");
    chr_be_input(m, (const uint8_t *)"\x01" "c" "x", 3);    /* C-a c: focus to b */
    g_assert_cmpint(a.events[CHR_EVENT_MUX_OUT], ==, 1);
    g_assert_cmpint(b.events[CHR_EVENT_MUX_IN], ==, 1);
    g_assert_cmpstr(b.in->str, ==, "x");
    chr_be_input(m, (const uint8_t *)"\x01\x01" "\x01z", 4); /* C-a C-a; C-a z dropped */
    g_assert_cmpmem(b.in->str, b.in->len, "x\x01", 2);
    chr_be_input(m, (const uint8_t *)"\x01" "b", 2);
    g_assert_cmpint(b.events[CHR_EVENT_BREAK], ==, 1);
    g_assert_cmpint(a.events[CHR_EVENT_BREAK], ==, 0);
    char out[1024];
    rb_read_str(m, out, sizeof(out));
    chr_be_input(m, (const uint8_t *)"\x01h", 2);
    rb_read_str(m, out, sizeof(out));
    g_assert_nonnull(strstr(out, "C-a x    exit emulator"));
    /* output from both frontends reaches the backend */
    chr_write(m, (const uint8_t *)"12", 2);
    rb_read_str(m, out, sizeof(out));
    g_assert_cmpstr(out, ==, "12");
    int quits = 0;
    chr_mux_set_quit_hook(m, on_quit, &quits);
    chr_be_input(m, (const uint8_t *)"\x01x", 2);
    g_assert_cmpint(quits, ==, 1);
    rb_read_str(m, out, sizeof(out));
    g_assert_nonnull(strstr(out, "Terminated"));
    /* flow control: the focused frontend takes nothing, the mux buffers */
    chr_mux_focus(m, &a);
    a.room = 0;
    g_assert_cmpuint(chr_be_input(m, (const uint8_t *)"hello", 5), ==, 5);
    g_assert_cmpstr(a.in->str, ==, "ab");
    a.room = 1000;
    chr_accept_input(m);
    g_assert_cmpstr(a.in->str, ==, "abhello");
    /* leaving: b detaches, a keeps working; a detaches while focused */
    chr_detach_frontend(m, &b);
    chr_be_input(m, (const uint8_t *)"!", 1);
    g_assert_cmpstr(a.in->str, ==, "abhello!");
    chr_set_frontend(m, NULL);
    chr_be_input(m, (const uint8_t *)"?", 1);
    g_assert_cmpstr(a.in->str, ==, "abhello!");
    chr_free(m);
    g_string_free(a.in, TRUE);
    g_string_free(b.in, TRUE);
}

static int unix_connect(const char *path)
{
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    g_strlcpy(sa.sun_path, path, sizeof(sa.sun_path));
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    g_assert_cmpint(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), ==, 0);
    return fd;
}

/* One session on a connected chardev: both directions, then the peer leaves. */
static void socket_session(Chardev *c, Fe *fe, int peer, int n)
{
    wait_events(fe, CHR_EVENT_OPENED, n);
    g_assert_true(chr_is_connected(c));
    g_assert_false(g_str_has_prefix(chr_filename(c), "disconnected:"));
    g_assert_cmpint(write(peer, "ping", 4), ==, 4);
    size_t before = fe->in->len;
    wait_input(fe, before + 4);
    g_assert_cmpstr(fe->in->str + before, ==, "ping");
    g_assert_cmpint(chr_write(c, (const uint8_t *)"pong", 4), ==, 4);
    char buf[8];
    g_assert_cmpint(read(peer, buf, sizeof(buf)), ==, 4);
    g_assert_cmpmem(buf, 4, "pong", 4);
    close(peer);
    wait_events(fe, CHR_EVENT_CLOSED, n);
    g_assert_false(chr_is_connected(c));
    /* output while disconnected is discarded, not an error */
    g_assert_cmpint(chr_write_nonblock(c, (const uint8_t *)"lost", 4), ==, 4);
}

static void test_unix_server(void)
{
    g_autofree char *dir = g_dir_make_tmp("vireo-chr-XXXXXX", NULL);
    g_autofree char *path = g_build_filename(dir, "s", NULL);
    g_autofree char *spec = g_strdup_printf("unix:%s,server=on,wait=off", path);
    GError *err = NULL;
    Chardev *c = chr_new_shorthand(spec, "serial0", &err);
    g_assert_no_error(err);
    g_autofree char *fname = g_strdup_printf("disconnected:unix:%s,server=on", path);
    g_assert_cmpstr(chr_filename(c), ==, fname);
    g_assert_false(chr_is_connected(c));
    Fe fe;
    fe_init(&fe, 1000);
    ChrFrontend ops = fe_ops(&fe);
    chr_set_frontend(c, &ops);
    socket_session(c, &fe, unix_connect(path), 1);
    socket_session(c, &fe, unix_connect(path), 2);   /* the next client */
    chr_free(c);
    g_assert_false(g_file_test(path, G_FILE_TEST_EXISTS));  /* unlinked */
    rmdir(dir);
    g_string_free(fe.in, TRUE);
}

static gpointer late_client(gpointer path)
{
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    g_strlcpy(sa.sun_path, path, sizeof(sa.sun_path));
    for (int i = 0; i < 10000; i++) {
        int fd = socket(AF_UNIX, SOCK_STREAM, 0);
        if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0)
            return GINT_TO_POINTER(fd);
        close(fd);
        g_usleep(1000);
    }
    return GINT_TO_POINTER(-1);
}

/* server=on without wait=off: start-up blocks until the first client is there. */
static void test_unix_server_wait(void)
{
    g_autofree char *dir = g_dir_make_tmp("vireo-chr-XXXXXX", NULL);
    g_autofree char *path = g_build_filename(dir, "w", NULL);
    g_autofree char *spec = g_strdup_printf("socket,id=w,path=%s,server=on", path);
    GThread *t = g_thread_new("client", late_client, path);
    Chardev *c = must_new(spec);
    int peer = GPOINTER_TO_INT(g_thread_join(t));
    g_assert_cmpint(peer, >=, 0);
    g_assert_true(chr_is_connected(c));
    g_assert_cmpint(chr_write(c, (const uint8_t *)"hey", 3), ==, 3);
    char buf[4];
    g_assert_cmpint(read(peer, buf, sizeof(buf)), ==, 3);
    close(peer);
    chr_free(c);
    rmdir(dir);
}

static int tcp_connect(const char *addr)
{
    /* addr: "tcp:127.0.0.1:PORT" */
    const char *colon = strrchr(addr, ':');
    struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(atoi(colon + 1)) };
    sa.sin_addr.s_addr = htonl(0x7f000001);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    g_assert_cmpint(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), ==, 0);
    return fd;
}

static void test_tcp_server(void)
{
    GError *err = NULL;
    Chardev *c = chr_new_shorthand("tcp:127.0.0.1:0,server=on,wait=off,nodelay=on", "s0", &err);
    g_assert_no_error(err);
    g_assert_true(g_str_has_prefix(chr_label(c), "tcp:127.0.0.1:"));
    Fe fe;
    fe_init(&fe, 1000);
    ChrFrontend ops = fe_ops(&fe);
    chr_set_frontend(c, &ops);
    socket_session(c, &fe, tcp_connect(chr_label(c)), 1);
    chr_free(c);
    g_string_free(fe.in, TRUE);
}

static void on_accept(void *opaque, int fd)
{
    g_array_append_val((GArray *)opaque, fd);
}

/* The listener helper: several clients at once; a client-mode socket chardev. */
static void test_listener_and_client(void)
{
    g_autofree char *dir = g_dir_make_tmp("vireo-chr-XXXXXX", NULL);
    g_autofree char *path = g_build_filename(dir, "l", NULL);
    g_autofree char *addr = g_strdup_printf("unix:%s", path);
    GArray *fds = g_array_new(FALSE, FALSE, sizeof(int));
    GError *err = NULL;
    ChrListener *l = chr_listener_new(addr, 4, on_accept, fds, &err);
    g_assert_no_error(err);
    g_assert_cmpstr(chr_listener_address(l), ==, addr);
    int c1 = unix_connect(path), c2 = unix_connect(path);
    g_autofree char *spec = g_strdup_printf("socket,id=cl,path=%s", path);
    Chardev *client = must_new(spec);
    g_assert_true(chr_is_connected(client));
    gint64 end = g_get_monotonic_time() + 10 * G_USEC_PER_SEC;
    while (fds->len < 3) {
        g_assert_cmpint(g_get_monotonic_time(), <, end);
        g_main_context_iteration(NULL, FALSE);
        g_usleep(1000);
    }
    /* the third accepted connection is the chardev's */
    int srv = g_array_index(fds, int, 2);
    chr_write(client, (const uint8_t *)"hi", 2);
    char buf[4];
    struct pollfd p = { .fd = srv, .events = POLLIN };
    g_assert_cmpint(poll(&p, 1, 10000), ==, 1);
    g_assert_cmpint(read(srv, buf, sizeof(buf)), ==, 2);
    chr_free(client);
    for (guint i = 0; i < fds->len; i++)
        close(g_array_index(fds, int, i));
    close(c1);
    close(c2);
    chr_listener_free(l);
    g_array_free(fds, TRUE);
    g_assert_null(chr_listener_new("udp:x", 1, on_accept, NULL, &err));
    g_assert_nonnull(strstr(err->message, "expected unix:PATH or tcp:HOST:PORT"));
    g_clear_error(&err);
    g_autofree char *nospec = g_strdup_printf("socket,id=n,path=%s/none", dir);
    g_assert_null(chr_new(nospec, NULL, &err));
    g_assert_nonnull(strstr(err->message, "cannot connect to unix:"));
    g_clear_error(&err);
    rmdir(dir);
}

static void test_pty(void)
{
    GError *err = NULL;
    int out = dup(STDOUT_FILENO), null = open("/dev/null", O_WRONLY);
    dup2(null, STDOUT_FILENO);       /* "char device redirected to" is not TAP */
    Chardev *c = chr_new("pty,id=pt", NULL, &err);
    dup2(out, STDOUT_FILENO);
    close(out);
    close(null);
    if (!c) {
        g_test_skip(err->message);
        g_error_free(err);
        return;
    }
    const char *label = chr_label(c);
    g_assert_true(g_str_has_prefix(label, "pty:/dev/pts/"));
    int slave = open(label + 4, O_RDWR | O_NOCTTY);
    g_assert_cmpint(slave, >=, 0);
    Fe fe;
    fe_init(&fe, 1000);
    ChrFrontend ops = fe_ops(&fe);
    chr_set_frontend(c, &ops);
    g_assert_cmpint(chr_write(c, (const uint8_t *)"out", 3), ==, 3);
    char buf[8];
    struct pollfd p = { .fd = slave, .events = POLLIN };
    g_assert_cmpint(poll(&p, 1, 10000), ==, 1);
    g_assert_cmpint(read(slave, buf, sizeof(buf)), ==, 3);
    g_assert_cmpmem(buf, 3, "out", 3);
    g_assert_cmpint(write(slave, "in", 2), ==, 2);
    wait_input(&fe, 2);
    g_assert_cmpstr(fe.in->str, ==, "in");
    close(slave);
    wait_events(&fe, CHR_EVENT_CLOSED, 1);
    g_assert_cmpint(chr_write_nonblock(c, (const uint8_t *)"x", 1), ==, 1);  /* dropped */
    chr_free(c);
    g_string_free(fe.in, TRUE);
}

static void collect(Chardev *c, void *opaque)
{
    g_string_append_printf(opaque, "%s;", chr_id(c));
}

static void test_registry(void)
{
    ChrRegistry *r = chr_registry_new();
    GError *err = NULL;
    g_assert_true(chr_registry_add(r, must_new("null,id=a"), &err));
    g_assert_true(chr_registry_add(r, must_new("ringbuf,id=b"), &err));
    g_assert_false(chr_registry_add(r, must_new("null,id=a"), &err));
    g_assert_cmpstr(err->message, ==, "-chardev: duplicate chardev id 'a'");
    g_clear_error(&err);
    g_assert_nonnull(chr_registry_find(r, "b"));
    g_assert_null(chr_registry_find(r, "c"));
    GString *s = g_string_new(NULL);
    chr_registry_foreach(r, collect, s);
    g_assert_cmpstr(s->str, ==, "a;b;");
    g_string_free(s, TRUE);
    chr_registry_free(r);
}

static void test_stdio_once(void)
{
    GError *err = NULL;
    Chardev *a = chr_new_shorthand("mon:stdio", "serial0", &err);
    g_assert_no_error(err);
    g_assert_true(chr_is_mux(a));
    g_assert_null(chr_new("stdio,id=b", NULL, &err));
    g_assert_cmpstr(err->message, ==, "-chardev: cannot use stdio by multiple character devices");
    g_clear_error(&err);
    chr_free(a);
    Chardev *b = chr_new("stdio,id=b,signal=off", NULL, &err);   /* free again */
    g_assert_no_error(err);
    chr_free(b);
}


/* ---- issue 13: nothing a peer does (or fails to do) blocks the main loop ---------- */

/* chr_write() never waits: what the backend cannot take goes to a 64 KiB queue, the
 * rest is dropped (with a warning), and later output waits behind the queue
 * (26354bc: up to 1 s of poll() per call on the main loop, then -EAGAIN). */
static void test_write_queue(void)
{
    int out[2];
    g_assert_cmpint(pipe(out), ==, 0);
    Chardev *c = chr_new_fd(-1, out[1], "q");
    uint8_t chunk[4096];
    memset(chunk, '.', sizeof(chunk));
    size_t piped = 0;
    ssize_t n;
    while ((n = chr_write_nonblock(c, chunk, sizeof(chunk))) > 0)
        piped += n;
    g_assert_cmpint(n, ==, -EAGAIN);
    g_autofree uint8_t *big = g_malloc(100 << 10);
    for (size_t i = 0; i < (100 << 10); i++)
        big[i] = 'a' + i % 26;
    g_test_expect_message(NULL, G_LOG_LEVEL_WARNING, "*its peer does not read*");
    g_assert_cmpint(chr_write(c, big, 100 << 10), ==, 64 << 10);
    g_test_assert_expected_messages();
    g_assert_cmpint(chr_write_nonblock(c, (const uint8_t *)"Z", 1), ==, -EAGAIN);
    fcntl(out[0], F_SETFL, O_NONBLOCK);
    GString *got = g_string_new(NULL);
    gint64 end = g_get_monotonic_time() + 10 * G_USEC_PER_SEC;
    while (got->len < piped + (64 << 10)) {
        g_assert_cmpint(g_get_monotonic_time(), <, end);
        char buf[65536];
        ssize_t r = read(out[0], buf, sizeof(buf));
        if (r > 0)
            g_string_append_len(got, buf, r);
        g_main_context_iteration(NULL, FALSE);   /* the queue drains from the loop */
    }
    g_assert_cmpuint(got->len, ==, piped + (64 << 10));
    g_assert_cmpmem(got->str + piped, 64 << 10, big, 64 << 10);
    g_assert_cmpint(chr_write_nonblock(c, (const uint8_t *)"Z", 1), ==, 1);
    char z;
    g_assert_cmpint(read(out[0], &z, 1), ==, 1);
    g_assert_cmpint(z, ==, 'Z');
    g_string_free(got, TRUE);
    chr_free(c);
    close(out[0]);
}

static void stdio_tty_child(void)
{
    int master = posix_openpt(O_RDWR | O_NOCTTY);
    g_assert_cmpint(master, >=, 0);
    g_assert_cmpint(grantpt(master), ==, 0);
    g_assert_cmpint(unlockpt(master), ==, 0);
    int slave = open(ptsname(master), O_RDWR | O_NOCTTY);
    g_assert_cmpint(slave, >=, 0);
    g_assert_cmpint(dup2(slave, STDOUT_FILENO), ==, STDOUT_FILENO);  /* blocking */
    GError *err = NULL;
    Chardev *c = chr_new("stdio,id=s,signal=off", NULL, &err);
    g_assert_no_error(err);
    uint8_t chunk[4096];
    memset(chunk, 'x', sizeof(chunk));
    size_t total = 0;
    ssize_t n;
    while ((n = chr_write_nonblock(c, chunk, sizeof(chunk))) > 0 && total < (64u << 20))
        total += n;
    g_assert_cmpint(n, ==, -EAGAIN);                 /* the terminal is full */
    g_assert_cmpint(fcntl(STDOUT_FILENO, F_GETFL) & O_NONBLOCK, ==, 0);  /* fd 1 untouched */
    g_test_expect_message(NULL, G_LOG_LEVEL_WARNING, "*its peer does not read*");
    g_assert_cmpint(chr_write(c, chunk, sizeof(chunk)), ==, sizeof(chunk));  /* queued */
    g_autofree uint8_t *big = g_malloc0(1 << 20);
    ssize_t took = chr_write(c, big, 1 << 20);       /* (the terminal may drain a little) */
    g_assert_cmpint(took, >=, (64 << 10) - sizeof(chunk));
    g_assert_cmpint(took, <, 256 << 10);             /* the rest is dropped, not waited for */
    g_test_assert_expected_messages();
    chr_free(c);
}

/* A terminal on stdout that nobody reads (a UART's guest output, the monitor): output
 * stops with -EAGAIN, never blocks (26354bc: a blocking write() of up to 4 KiB once
 * poll() saw any room: the main loop, or a vCPU thread holding the lock, hung). */
static void test_stdio_never_blocks(void)
{
    if (g_test_subprocess()) {
        stdio_tty_child();
        return;
    }
    g_test_trap_subprocess(NULL, 60 * G_USEC_PER_SEC, G_TEST_SUBPROCESS_DEFAULT);
    g_test_trap_assert_passed();
}

static void emfile_child(void)
{
    g_autofree char *dir = g_dir_make_tmp("vireo-chr-XXXXXX", NULL);
    g_autofree char *path = g_build_filename(dir, "l", NULL);
    g_autofree char *addr = g_strdup_printf("unix:%s", path);
    GArray *fds = g_array_new(FALSE, FALSE, sizeof(int));
    ChrListener *l = chr_listener_new(addr, 4, on_accept, fds, NULL);
    g_assert_nonnull(l);
    g_main_context_iteration(NULL, FALSE);           /* GLib's own descriptors first */
    int client = unix_connect(path);                 /* waits in the backlog */
    struct rlimit rl = { 64, 64 };
    g_assert_cmpint(setrlimit(RLIMIT_NOFILE, &rl), ==, 0);
    GArray *hog = g_array_new(FALSE, FALSE, sizeof(int));
    int fd;
    while ((fd = open("/dev/null", O_RDONLY | O_CLOEXEC)) >= 0)
        g_array_append_val(hog, fd);
    g_assert_cmpint(errno, ==, EMFILE);
    /* The listener is readable but accept() fails: it must pause, not spin. */
    g_test_expect_message(NULL, G_LOG_LEVEL_WARNING, "*cannot accept a client*");
    int dispatched = 0;
    for (int i = 0; i < 1000; i++)
        dispatched += g_main_context_iteration(NULL, FALSE);
    g_test_assert_expected_messages();
    g_assert_cmpint(dispatched, <=, 2);              /* 26354bc: 1000 */
    g_assert_cmpuint(fds->len, ==, 0);
    for (guint i = 0; i < hog->len; i++)
        close(g_array_index(hog, int, i));
    gint64 end = g_get_monotonic_time() + 10 * G_USEC_PER_SEC;
    while (fds->len == 0) {                          /* the retry timer accepts it */
        g_assert_cmpint(g_get_monotonic_time(), <, end);
        g_main_context_iteration(NULL, TRUE);
    }
    close(g_array_index(fds, int, 0));
    close(client);
    chr_listener_free(l);
    g_array_free(fds, TRUE);
    g_array_free(hog, TRUE);
    rmdir(dir);
}

/* Out of descriptors: accept() fails with EMFILE while the client stays in the
 * backlog; the listener pauses and retries from a timer (26354bc: the watch fired
 * forever, 96% CPU). */
static void test_listener_emfile(void)
{
    if (g_test_subprocess()) {
        emfile_child();
        return;
    }
    g_test_trap_subprocess(NULL, 60 * G_USEC_PER_SEC, G_TEST_SUBPROCESS_DEFAULT);
    g_test_trap_assert_passed();
}

/* chr_disconnect() drops a socket's peer (the monitor's disconnect-at-limit); backends
 * without a peer say no. */
static void test_disconnect(void)
{
    g_autofree char *dir = g_dir_make_tmp("vireo-chr-XXXXXX", NULL);
    g_autofree char *path = g_build_filename(dir, "d", NULL);
    g_autofree char *spec = g_strdup_printf("socket,id=d,path=%s,server=on,wait=off", path);
    Chardev *c = must_new(spec);
    Fe fe;
    fe_init(&fe, 1000);
    ChrFrontend ops = fe_ops(&fe);
    chr_set_frontend(c, &ops);
    int peer = unix_connect(path);
    wait_events(&fe, CHR_EVENT_OPENED, 1);
    g_assert_true(chr_disconnect(c));
    g_assert_cmpint(fe.events[CHR_EVENT_CLOSED], ==, 1);
    char buf[4];
    g_assert_cmpint(read(peer, buf, sizeof(buf)), ==, 0);   /* EOF */
    g_assert_false(chr_disconnect(c));
    close(peer);
    peer = unix_connect(path);                               /* listening again */
    wait_events(&fe, CHR_EVENT_OPENED, 2);
    close(peer);
    chr_free(c);
    Chardev *r = must_new("ringbuf,id=r");
    g_assert_false(chr_disconnect(r));
    chr_free(r);
    rmdir(dir);
    g_string_free(fe.in, TRUE);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/chardev/errors", test_errors);
    g_test_add_func("/chardev/null-ringbuf", test_null_ringbuf);
    g_test_add_func("/chardev/file", test_file);
    g_test_add_func("/chardev/fd-input", test_fd_input);
    g_test_add_func("/chardev/nonblock-output", test_nonblock_output);
    g_test_add_func("/chardev/mux", test_mux);
    g_test_add_func("/chardev/unix-server", test_unix_server);
    g_test_add_func("/chardev/unix-server-wait", test_unix_server_wait);
    g_test_add_func("/chardev/tcp-server", test_tcp_server);
    g_test_add_func("/chardev/listener-client", test_listener_and_client);
    g_test_add_func("/chardev/pty", test_pty);
    g_test_add_func("/chardev/registry", test_registry);
    g_test_add_func("/chardev/stdio-once", test_stdio_once);
    g_test_add_func("/chardev/write-queue", test_write_queue);
    g_test_add_func("/chardev/stdio-never-blocks", test_stdio_never_blocks);
    g_test_add_func("/chardev/listener-emfile", test_listener_emfile);
    g_test_add_func("/chardev/disconnect", test_disconnect);
    return g_test_run();
}
