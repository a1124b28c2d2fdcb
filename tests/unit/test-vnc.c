/*
 * The VNC server against a test client on a socketpair (no KVM): RFB 3.3/3.7/3.8
 * handshakes, None and VNC authentication (right, wrong, unset and expired passwords),
 * full and incremental updates in Raw, Hextile and ZRLE decoded back and compared with
 * the console, pixel-format conversion, keys and pointer into the input layer, and
 * hostile clients: unknown messages, huge cut text, a client that never reads (bounded
 * output), random bytes.
 */
#include "vireo/console.h"
#include "vireo/input.h"
#include "vireo/machine.h"
#include "vireo/pci.h"
#include "vireo/pc.h"
#include "vireo/vnc.h"
#include "ui/vnc-int.h"
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <zlib.h>

typedef struct Fx {
    Machine *m;
    Console *con;
    VncDisplay *vd;
    VncClient *c;
    int fd;                              /* the test client's end */
    char dir[64];
} Fx;

static void pump(void)
{
    for (int i = 0; i < 50; i++)
        g_main_context_iteration(NULL, FALSE);
}

static void fx_init(Fx *f, const char *opts)
{
    g_autoptr(GError) err = NULL;
    f->m = machine_new_test(0x80000);
    g_assert_nonnull(pci_bus_new_pc(f->m, &err));
    g_assert_nonnull(machine_create_device(f->m, "VGA", "vgamem_mb=4", &err));
    f->con = console_get(f->m, 0);
    g_strlcpy(f->dir, "/tmp/vireo-vnc-XXXXXX", sizeof(f->dir));
    g_assert_nonnull(g_mkdtemp(f->dir));
    g_autofree char *spec = g_strdup_printf("unix:%s/s%s", f->dir, opts);
    g_assert_true(vnc_parse_option(f->m, spec, &err));
    g_assert_no_error(err);
    f->vd = vnc_find(f->m, NULL);
    int sv[2];
    g_assert_cmpint(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), ==, 0);
    f->c = vnc_client_new(f->vd, sv[0]);
    f->fd = sv[1];
    console_refresh(f->con);
}

static void fx_free(Fx *f)
{
    close(f->fd);
    vnc_cleanup(f->m);
    machine_free(f->m);
    rmdir(f->dir);
}

static void tx(Fx *f, const void *p, size_t n)
{
    g_assert_cmpint(write(f->fd, p, n), ==, (ssize_t)n);
    pump();
}

/* Reads exactly @n bytes (pumping the server); false on EOF. */
static bool rx(Fx *f, void *p, size_t n)
{
    size_t got = 0;
    for (int tries = 0; got < n && tries < 2000; tries++) {
        pump();
        ssize_t r = recv(f->fd, (uint8_t *)p + got, n - got, MSG_DONTWAIT);
        if (r == 0)
            return false;
        if (r > 0)
            got += r;
    }
    return got == n;
}

static uint32_t rx32(Fx *f) { uint8_t b[4]; g_assert_true(rx(f, b, 4)); return (uint32_t)b[0] << 24 | b[1] << 16 | b[2] << 8 | b[3]; }
static uint16_t rx16(Fx *f) { uint8_t b[2]; g_assert_true(rx(f, b, 2)); return b[0] << 8 | b[1]; }
static uint8_t rx8(Fx *f) { uint8_t b; g_assert_true(rx(f, &b, 1)); return b; }

/* Whether the server closed the connection. */
static bool closed(Fx *f)
{
    char b[4096];
    for (int i = 0; i < 200; i++) {
        pump();
        ssize_t r = recv(f->fd, b, sizeof(b), MSG_DONTWAIT);
        if (r == 0)
            return true;
        if (r < 0 && errno != EAGAIN)
            return true;
    }
    return false;
}

static void handshake(Fx *f, const char *version, const char *password)
{
    char v[13] = { 0 };
    g_assert_true(rx(f, v, 12));
    g_assert_cmpstr(v, ==, "RFB 003.008\n");
    tx(f, version, 12);
    bool auth = f->vd->password_auth;
    if (!strcmp(version, "RFB 003.003\n")) {
        g_assert_cmpuint(rx32(f), ==, auth ? 2 : 1);
    } else {
        g_assert_cmpuint(rx8(f), ==, 1);
        g_assert_cmpuint(rx8(f), ==, auth ? 2 : 1);
        uint8_t t = auth ? 2 : 1;
        tx(f, &t, 1);
    }
    if (auth) {
        uint8_t ch[16], resp[16];
        g_assert_true(rx(f, ch, 16));
        vnc_des_response(password, ch, resp);
        tx(f, resp, 16);
    }
    if (auth || !strcmp(version, "RFB 003.008\n"))
        g_assert_cmpuint(rx32(f), ==, 0);
    uint8_t shared = 1;
    tx(f, &shared, 1);
    g_assert_cmpuint(rx16(f), ==, console_width(f->con));
    g_assert_cmpuint(rx16(f), ==, console_height(f->con));
    uint8_t pf[16];
    g_assert_true(rx(f, pf, 16));
    g_assert_cmpuint(pf[0], ==, 32);
    uint32_t n = rx32(f);
    char name[64] = { 0 };
    g_assert_true(n < sizeof(name) && rx(f, name, n));
    g_assert_cmpstr(name, ==, "QEMU");
}

static void set_encodings(Fx *f, const int32_t *e, unsigned n)
{
    uint8_t b[4 + 4 * 16] = { 2, 0, n >> 8, n };
    for (unsigned i = 0; i < n; i++) {
        uint32_t v = (uint32_t)e[i];
        b[4 + 4 * i] = v >> 24; b[5 + 4 * i] = v >> 16; b[6 + 4 * i] = v >> 8; b[7 + 4 * i] = v;
    }
    tx(f, b, 4 + 4 * n);
}

static void request(Fx *f, bool incremental)
{
    int w = console_width(f->con), h = console_height(f->con);
    uint8_t b[10] = { 3, incremental, 0, 0, 0, 0, w >> 8, w, h >> 8, h };
    tx(f, b, 10);
}

/* Decodes one FramebufferUpdate (Raw/Hextile/ZRLE of 32 bpp native pixels) into @fb
 * (w * h pixels); returns the number of pixel rectangles. */
static unsigned read_update(Fx *f, uint32_t *fb, int fbw, z_stream *zs)
{
    g_assert_cmpuint(rx8(f), ==, 0);
    rx8(f);
    unsigned n = rx16(f), pixrects = 0;
    for (unsigned r = 0; r < n; r++) {
        int x = rx16(f), y = rx16(f), w = rx16(f), h = rx16(f);
        int32_t enc = (int32_t)rx32(f);
        if (enc == ENC_RAW) {
            for (int j = 0; j < h; j++)
                g_assert_true(rx(f, fb + (y + j) * fbw + x, w * 4));
        } else if (enc == ENC_HEXTILE) {
            for (int ty = y; ty < y + h; ty += 16)
                for (int tx2 = x; tx2 < x + w; tx2 += 16) {
                    int tw = MIN(16, x + w - tx2), th = MIN(16, y + h - ty);
                    uint8_t sub = rx8(f);
                    uint32_t bg;
                    if (sub == 2) {
                        g_assert_true(rx(f, &bg, 4));
                        for (int j = 0; j < th; j++)
                            for (int i = 0; i < tw; i++)
                                fb[(ty + j) * fbw + tx2 + i] = bg;
                    } else {
                        g_assert_cmpuint(sub, ==, 1);
                        for (int j = 0; j < th; j++)
                            g_assert_true(rx(f, fb + (ty + j) * fbw + tx2, tw * 4));
                    }
                }
        } else if (enc == ENC_ZRLE) {
            uint32_t len = rx32(f);
            g_autofree uint8_t *z = g_malloc(len);
            g_assert_true(rx(f, z, len));
            size_t cap = (size_t)w * h * 4 + 64 * 64 * 4 + 1024;
            g_autofree uint8_t *d = g_malloc(cap);
            zs->next_in = z;
            zs->avail_in = len;
            zs->next_out = d;
            zs->avail_out = cap;
            g_assert_cmpint(inflate(zs, Z_SYNC_FLUSH), >=, 0);
            const uint8_t *p = d;
            for (int ty = y; ty < y + h; ty += 64)
                for (int tx2 = x; tx2 < x + w; tx2 += 64) {
                    int tw = MIN(64, x + w - tx2), th = MIN(64, y + h - ty);
                    uint8_t sub = *p++;
                    uint32_t pal[16] = { 0 };
                    for (unsigned k = 0; k < (sub <= 16 ? sub : 0u); k++, p += 3)
                        pal[k] = p[0] | p[1] << 8 | p[2] << 16;
                    unsigned bits = sub == 2 ? 1 : sub <= 4 ? 2 : 4;
                    for (int j = 0; j < th; j++) {
                        unsigned acc = 0, nb = 0;
                        for (int i = 0; i < tw; i++) {
                            uint32_t px;
                            if (sub == 0) {
                                px = p[0] | p[1] << 8 | p[2] << 16;
                                p += 3;
                            } else if (sub == 1) {
                                px = pal[0];
                            } else {
                                if (!nb) { acc = *p++; nb = 8; }
                                nb -= bits;
                                px = pal[(acc >> nb) & ((1u << bits) - 1)];
                            }
                            fb[(ty + j) * fbw + tx2 + i] = px;
                        }
                    }
                }
        } else {
            g_assert_not_reached();
        }
        pixrects++;
    }
    return pixrects;
}

static void assert_same(Fx *f, const uint32_t *fb)
{
    int w = console_width(f->con), h = console_height(f->con);
    for (int y = 0; y < h; y++) {
        const uint32_t *row = console_data(f->con) + y * console_stride(f->con) / 4;
        for (int x = 0; x < w; x++)
            g_assert_cmphex(fb[y * w + x] & 0xffffff, ==, row[x] & 0xffffff);
    }
}

static void write_text(Fx *f, unsigned cell, const char *s, uint8_t attr)
{
    for (; *s; s++, cell++) {
        as_write(f->m->sysmem, 0xb8000 + cell * 2, (uint8_t)*s, 1);
        as_write(f->m->sysmem, 0xb8000 + cell * 2 + 1, attr, 1);
    }
}

static void run_encoding(int32_t enc)
{
    Fx f;
    fx_init(&f, "");
    handshake(&f, "RFB 003.008\n", NULL);
    set_encodings(&f, (int32_t[]){ enc, ENC_RAW }, 2);
    int w = console_width(f.con), h = console_height(f.con);
    g_autofree uint32_t *fb = g_new0(uint32_t, w * h);
    z_stream zs = { 0 };
    inflateInit(&zs);
    write_text(&f, 0, "Hello, VNC", 0x1e);
    console_refresh(f.con);
    request(&f, false);
    read_update(&f, fb, w, &zs);
    assert_same(&f, fb);
    /* One changed cell: an incremental update covers only its tile(s). */
    write_text(&f, 80 * 10 + 40, "X", 0x4f);
    request(&f, true);
    console_refresh(f.con);
    unsigned n = read_update(&f, fb, w, &zs);
    g_assert_cmpuint(n, <=, 2);
    assert_same(&f, fb);
    inflateEnd(&zs);
    fx_free(&f);
}

static void test_raw(void) { run_encoding(ENC_RAW); }
static void test_hextile(void) { run_encoding(ENC_HEXTILE); }
static void test_zrle(void) { run_encoding(ENC_ZRLE); }

static void test_versions_and_auth(void)
{
    Fx f;
    fx_init(&f, "");
    handshake(&f, "RFB 003.003\n", NULL);
    fx_free(&f);
    fx_init(&f, "");
    handshake(&f, "RFB 003.007\n", NULL);
    fx_free(&f);
    fx_init(&f, ",password=on");
    f.vd->password = g_strdup("secret");
    handshake(&f, "RFB 003.008\n", "secret");
    fx_free(&f);

    /* Wrong password: failure with a reason (3.8), then closed. */
    fx_init(&f, ",password=on");
    f.vd->password = g_strdup("secret");
    char v[12];
    g_assert_true(rx(&f, v, 12));
    tx(&f, "RFB 003.008\n", 12);
    rx8(&f); rx8(&f);
    tx(&f, "\x02", 1);
    uint8_t ch[16], resp[16];
    g_assert_true(rx(&f, ch, 16));
    vnc_des_response("wrong", ch, resp);
    tx(&f, resp, 16);
    g_assert_cmpuint(rx32(&f), ==, 1);
    uint32_t n = rx32(&f);
    char why[64] = { 0 };
    g_assert_true(n < sizeof(why) && rx(&f, why, n));
    g_assert_cmpstr(why, ==, "Authentication failed");
    g_assert_true(closed(&f));
    fx_free(&f);

    /* password=on with no password set (QEMU: nobody gets in), and an expired one. */
    for (int expired = 0; expired < 2; expired++) {
        fx_init(&f, ",password=on");
        if (expired) {
            f.vd->password = g_strdup("secret");
            f.vd->expires = 1;
        }
        g_assert_true(rx(&f, v, 12));
        tx(&f, "RFB 003.003\n", 12);
        g_assert_cmpuint(rx32(&f), ==, 2);
        g_assert_true(rx(&f, ch, 16));
        vnc_des_response("secret", ch, resp);
        tx(&f, resp, 16);
        g_assert_cmpuint(rx32(&f), ==, 1);
        g_assert_true(closed(&f));
        fx_free(&f);
    }
    /* A bad version string or a wrong security type closes the connection. */
    fx_init(&f, "");
    g_assert_true(rx(&f, v, 12));
    tx(&f, "HTTP/1.1 GET", 12);
    g_assert_true(closed(&f));
    fx_free(&f);
    fx_init(&f, "");
    g_assert_true(rx(&f, v, 12));
    tx(&f, "RFB 003.008\n", 12);
    rx8(&f); rx8(&f);
    tx(&f, "\x10", 1);
    g_assert_true(closed(&f));
    fx_free(&f);
}

typedef struct Sink {
    InputHandler h;
    int keys, last_key, ptrs;
    InputPointer last;
} Sink;
static void sink_key(void *o, QKeyCode k, bool down) { ((Sink *)o)->keys++; ((Sink *)o)->last_key = k; }
static void sink_ptr(void *o, const InputPointer *p) { ((Sink *)o)->ptrs++; ((Sink *)o)->last = *p; }

static void test_input(void)
{
    Fx f;
    fx_init(&f, "");
    Sink s = { .h = { .name = "tablet", .mask = INPUT_MASK_KEY | INPUT_MASK_ABS,
                      .key = sink_key, .pointer = sink_ptr } };
    s.h.opaque = &s;
    input_register(f.m, &s.h);
    handshake(&f, "RFB 003.008\n", NULL);
    tx(&f, (uint8_t[]){ 4, 1, 0, 0, 0, 0, 0, 'q' }, 8);
    g_assert_cmpint(s.last_key, ==, Q_KEY_CODE_Q);
    /* QEMU extended key event: the XT number wins over the keysym. */
    set_encodings(&f, (int32_t[]){ ENC_EXT_KEY_EVENT }, 1);
    tx(&f, (uint8_t[]){ 255, 0, 0, 1, 0, 0, 0, 'q', 0, 0, 0, 0xc8 }, 12);
    g_assert_cmpint(s.last_key, ==, Q_KEY_CODE_UP);
    /* Pointer at the bottom right: the absolute maximum; coordinates past the screen
     * are clamped. */
    int w = console_width(f.con) - 1, h = console_height(f.con) - 1;
    tx(&f, (uint8_t[]){ 5, 1, w >> 8, w, h >> 8, h }, 6);
    g_assert_true(s.last.abs);
    g_assert_cmpint(s.last.x, ==, INPUT_ABS_MAX);
    g_assert_cmpint(s.last.buttons, ==, 1);
    tx(&f, (uint8_t[]){ 5, 0, 0xff, 0xff, 0xff, 0xff }, 6);
    g_assert_cmpint(s.last.y, ==, INPUT_ABS_MAX);
    input_unregister(f.m, &s.h);
    fx_free(&f);
}

static void test_hostile(void)
{
    Fx f;
    /* Cut text announcing 4 GiB: skipped as it arrives, never stored. */
    fx_init(&f, "");
    handshake(&f, "RFB 003.008\n", NULL);
    tx(&f, (uint8_t[]){ 6, 0, 0, 0, 0xff, 0xff, 0xff, 0xff }, 8);
    char junk[65536];
    memset(junk, 'a', sizeof(junk));
    for (int i = 0; i < 8; i++)
        tx(&f, junk, sizeof(junk));
    g_assert_cmpuint(f.c->in->len, <, VNC_IN_MAX);
    g_assert_cmpint(f.c->state, ==, VS_SKIP);
    fx_free(&f);
    /* An unknown message type closes the connection. */
    fx_init(&f, "");
    handshake(&f, "RFB 003.008\n", NULL);
    tx(&f, (uint8_t[]){ 77 }, 1);
    g_assert_true(closed(&f));
    fx_free(&f);
    /* A client that never reads: its output stays bounded while the screen changes and it
     * keeps asking for updates; the machine goes on. */
    fx_init(&f, "");
    handshake(&f, "RFB 003.008\n", NULL);
    int sz = 4096;
    setsockopt(f.fd, SOL_SOCKET, SO_RCVBUF, &sz, sizeof(sz));
    for (int i = 0; i < 200; i++) {
        char t[16];
        snprintf(t, sizeof(t), "%08d", i);
        write_text(&f, (i * 37) % 2000, t, i & 0x7f);
        request(&f, false);
        console_refresh(f.con);
    }
    g_assert_cmpuint(f.c->out->len, <, VNC_OUT_LOW + 720 * 400 * 4 + 4096);
    fx_free(&f);
    /* A bad pixel format (colour map) closes the connection. */
    fx_init(&f, "");
    handshake(&f, "RFB 003.008\n", NULL);
    tx(&f, (uint8_t[]){ 0, 0, 0, 0, 8, 8, 0, 0, 0, 7, 0, 7, 0, 3, 0, 3, 6, 0, 0, 0 }, 20);
    g_assert_true(closed(&f));
    fx_free(&f);
}

static void test_pixel_format(void)
{
    Fx f;
    fx_init(&f, "");
    handshake(&f, "RFB 003.008\n", NULL);
    /* 16 bpp big-endian RGB565. */
    tx(&f, (uint8_t[]){ 0, 0, 0, 0, 16, 16, 1, 1, 0, 31, 0, 63, 0, 31, 11, 5, 0, 0, 0, 0 }, 20);
    write_text(&f, 0, "\xdb", 0x0c);                 /* full block, light red */
    console_refresh(f.con);
    uint8_t b[10] = { 3, 0, 0, 0, 0, 0, 0, 1, 0, 1 };
    tx(&f, b, 10);
    g_assert_cmpuint(rx8(&f), ==, 0);
    rx8(&f);
    g_assert_cmpuint(rx16(&f), >=, 1);
    rx16(&f); rx16(&f);
    int w = rx16(&f), h = rx16(&f);
    g_assert_cmpuint(rx32(&f), ==, ENC_RAW);
    uint8_t px[2];
    g_assert_true(rx(&f, px, 2));
    /* 0xff5555 -> r 31, g 21, b 10 */
    g_assert_cmphex(px[0] << 8 | px[1], ==, 31 << 11 | 21 << 5 | 10);
    (void)w; (void)h;
    fx_free(&f);
}

static void test_fuzz(void)
{
    GRand *rnd = g_rand_new_with_seed(7);
    for (int round = 0; round < 30; round++) {
        Fx f;
        fx_init(&f, round & 1 ? ",password=on" : "");
        if (round & 1)
            f.vd->password = g_strdup("pw");
        if (round & 2)
            handshake(&f, "RFB 003.008\n", "pw");
        for (int i = 0; i < 40 && !closed(&f); i++) {
            uint8_t buf[64];
            unsigned n = g_rand_int_range(rnd, 1, sizeof(buf));
            for (unsigned k = 0; k < n; k++)
                buf[k] = g_rand_int(rnd);
            if (g_rand_boolean(rnd))
                buf[0] = g_rand_int_range(rnd, 0, 7);
            if (write(f.fd, buf, n) < 0)
                break;
            pump();
            console_refresh(f.con);
        }
        fx_free(&f);
    }
    g_rand_free(rnd);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    signal(SIGPIPE, SIG_IGN);
    g_log_set_always_fatal(G_LOG_FATAL_MASK | G_LOG_LEVEL_CRITICAL);   /* hostile clients warn */
    g_test_add_func("/vnc/raw", test_raw);
    g_test_add_func("/vnc/hextile", test_hextile);
    g_test_add_func("/vnc/zrle", test_zrle);
    g_test_add_func("/vnc/versions-auth", test_versions_and_auth);
    g_test_add_func("/vnc/input", test_input);
    g_test_add_func("/vnc/hostile", test_hostile);
    g_test_add_func("/vnc/pixel-format", test_pixel_format);
    g_test_add_func("/vnc/fuzz", test_fuzz);
    return g_test_run();
}
