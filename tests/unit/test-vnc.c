/*
 * The VNC server against a test client on a socketpair (no KVM): RFB 3.3/3.7/3.8
 * handshakes, None and VNC authentication (right, wrong, unset and expired passwords),
 * full and incremental updates in Raw, Hextile and ZRLE decoded back and compared with
 * the console, pixel-format conversion, keys and pointer into the input layer, and
 * hostile clients: unknown messages, huge cut text, a client that never reads (bounded
 * output), random bytes.
 * Tight: decoded here by an independent decoder (the spec's control byte, four inflate
 * streams with their reset bits, fill, copy and palette filters, compact lengths, JPEG
 * through libjpeg) and compared with the console, pieces within the width/area limits.
 * Websockets: the RFC 6455 handshake (the RFC's own key/accept example), the RFB session
 * in masked, fragmented frames with pings between, and hostile clients (bad requests,
 * unmasked, oversized, text, stray continuation, oversized control frames, close).
 */
#include "vireo/console.h"
#include "vireo/input.h"
#include "vireo/machine.h"
#include "vireo/pci.h"
#include "vireo/pc.h"
#include "vireo/vnc.h"
#include "ui/vnc-int.h"
#include "qapi/qapi-generated.h"
#include "../../hw/display/vga-int.h"
#include "../vnc-dec.h"
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <jpeglib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <zlib.h>

VgaCommon *vga_pci_common(Device *dev);      /* hw/display/vga-pci.c, for tests */

typedef struct Fx {
    Machine *m;
    Console *con;
    Device *dev;
    VncDisplay *vd;
    VncClient *c;
    int fd;                              /* the test client's end */
    char dir[64];
    bool ws;                             /* RFB inside websocket frames */
    GByteArray *wsin;                    /* payload of the server's frames not yet read */
    int close_code;                      /* the server's close frame: status, or -1 */
    uint8_t pong[126];
    int pong_len;                        /* last pong payload length, -1: none */
} Fx;

static void pump(void)
{
    for (int i = 0; i < 50; i++)
        g_main_context_iteration(NULL, FALSE);
}

static void fx_init_full(Fx *f, const char *opts, bool ws)
{
    g_autoptr(GError) err = NULL;
    f->m = machine_new_test(0x80000);
    g_assert_nonnull(pci_bus_new_pc(f->m, &err));
    f->dev = machine_create_device(f->m, "VGA", "vgamem_mb=4", &err);
    g_assert_nonnull(f->dev);
    f->con = console_get(f->m, 0);
    g_strlcpy(f->dir, "/tmp/vireo-vnc-XXXXXX", sizeof(f->dir));
    g_assert_nonnull(g_mkdtemp(f->dir));
    g_autofree char *spec = g_strdup_printf("unix:%s/s%s", f->dir, opts);
    vnc_add_audiodev(f->m, "audio1");     /* an -audiodev none,id=audio1 */
    g_assert_true(vnc_parse_option(f->m, spec, &err));
    g_assert_no_error(err);
    f->vd = vnc_find(f->m, NULL);
    int sv[2];
    g_assert_cmpint(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), ==, 0);
    f->c = ws ? vnc_client_new_ws(f->vd, sv[0]) : vnc_client_new(f->vd, sv[0]);
    f->fd = sv[1];
    f->ws = false;                       /* set once the upgrade is done */
    f->wsin = g_byte_array_new();
    f->close_code = f->pong_len = -1;
    console_refresh(f->con);
}

static void fx_init(Fx *f, const char *opts)
{
    fx_init_full(f, opts, false);
}

static void fx_free(Fx *f)
{
    g_byte_array_free(f->wsin, TRUE);
    close(f->fd);
    vnc_cleanup(f->m);
    machine_free(f->m);
    rmdir(f->dir);
}

/* Writes all of @p, letting the server run while the socket is full. */
static void raw_tx(Fx *f, const void *p, size_t n)
{
    size_t off = 0;
    for (int tries = 0; off < n; tries++) {
        g_assert_cmpint(tries, <, 100000);
        ssize_t r = send(f->fd, (const uint8_t *)p + off, n - off, MSG_DONTWAIT | MSG_NOSIGNAL);
        if (r > 0)
            off += r;
        else
            g_assert_true(r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK));
        pump();
    }
}

/* A client frame (RFC 6455 5.2): masked unless @unmasked. */
static void ws_frame(Fx *f, bool fin, uint8_t op, const void *p, size_t n, bool unmasked)
{
    g_autoptr(GByteArray) b = g_byte_array_new();
    uint8_t h[14];
    unsigned k = 2;
    h[0] = (fin ? 0x80 : 0) | op;
    h[1] = unmasked ? 0 : 0x80;
    if (n < 126) {
        h[1] |= n;
    } else if (n < 65536) {
        h[1] |= 126;
        h[2] = n >> 8;
        h[3] = n;
        k = 4;
    } else {
        h[1] |= 127;
        for (int i = 0; i < 8; i++)
            h[2 + i] = (uint64_t)n >> (56 - 8 * i);
        k = 10;
    }
    uint8_t mask[4] = { 0x37, 0xfa, 0x21, 0x3d };
    if (!unmasked) {
        memcpy(h + k, mask, 4);
        k += 4;
    }
    g_byte_array_append(b, h, k);
    g_byte_array_append(b, p, n);
    for (size_t i = 0; i < n && !unmasked; i++)
        b->data[k + i] ^= mask[i & 3];
    raw_tx(f, b->data, b->len);
}

static void tx(Fx *f, const void *p, size_t n)
{
    if (f->ws)
        ws_frame(f, true, 2, p, n, false);
    else
        raw_tx(f, p, n);
}

static bool raw_rx(Fx *f, void *p, size_t n);

/* One server frame: binary payload to f->wsin, pong and close recorded. False on EOF or
 * a close frame. Server frames must be unmasked and whole (FIN). */
static bool ws_read_frame(Fx *f)
{
    uint8_t h[2], e[8];
    if (!raw_rx(f, h, 2))
        return false;
    g_assert_cmphex(h[0] & 0xf0, ==, 0x80);
    g_assert_cmphex(h[1] & 0x80, ==, 0);
    uint64_t len = h[1] & 0x7f;
    if (len == 126) {
        g_assert_true(raw_rx(f, e, 2));
        len = e[0] << 8 | e[1];
        g_assert_cmpuint(len, >=, 126);
    } else if (len == 127) {
        g_assert_true(raw_rx(f, e, 8));
        len = 0;
        for (int i = 0; i < 8; i++)
            len = len << 8 | e[i];
        g_assert_cmpuint(len, >=, 65536);
    }
    g_assert_cmpuint(len, <=, VNC_WS_CHUNK);
    g_autofree uint8_t *p = g_malloc(len + 1);
    g_assert_true(raw_rx(f, p, len));
    switch (h[0] & 0x0f) {
    case 2:
        g_byte_array_append(f->wsin, p, len);
        return true;
    case 10:
        g_assert_cmpuint(len, <=, 125);
        memcpy(f->pong, p, len);
        f->pong_len = len;
        return true;
    case 8:
        f->close_code = len >= 2 ? p[0] << 8 | p[1] : 0;
        return false;
    default:
        g_assert_not_reached();
    }
}

/* Reads exactly @n bytes (pumping the server); false on EOF. */
static bool rx(Fx *f, void *p, size_t n)
{
    if (!f->ws)
        return raw_rx(f, p, n);
    while (f->wsin->len < n)
        if (!ws_read_frame(f))
            return false;
    memcpy(p, f->wsin->data, n);
    g_byte_array_remove_range(f->wsin, 0, n);
    return true;
}

static bool raw_rx(Fx *f, void *p, size_t n)
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

/* ---- an independent Tight decoder ---- */

typedef struct TightDec {
    z_stream zs[4];
    bool init[4];
    unsigned tb;                  /* TPIXEL bytes: 3 (R, G, B) or 2 (16 bpp big endian) */
    uint8_t *lossy;               /* per framebuffer pixel: it came from a JPEG */
    unsigned resets, fills, copies, monos, palettes, jpegs, pieces, widest;
} TightDec;
static TightDec td;

static void td_start(int fbw, int fbh, unsigned tb)
{
    memset(&td, 0, sizeof(td));
    td.tb = tb;
    td.lossy = g_malloc0((size_t)fbw * fbh);
}

static void td_end(void)
{
    for (int s = 0; s < 4; s++)
        if (td.init[s])
            inflateEnd(&td.zs[s]);
    g_free(td.lossy);
    memset(&td, 0, sizeof(td));
}

static uint32_t tpx(const uint8_t *b)
{
    return td.tb == 3 ? (uint32_t)b[0] << 16 | b[1] << 8 | b[2] : (uint32_t)b[0] << 8 | b[1];
}

/* Compact length: 7 bits a byte, least significant first, at most 3 bytes. */
static uint32_t rx_compact(Fx *f)
{
    uint8_t b = rx8(f);
    uint32_t n = b & 0x7f;
    if (b & 0x80) {
        b = rx8(f);
        n |= (uint32_t)(b & 0x7f) << 7;
        if (b & 0x80)
            n |= (uint32_t)rx8(f) << 14;
    }
    return n;
}

/* @len bytes of filtered data through stream @s (as they are below 12 bytes). */
static void tight_data(Fx *f, int s, uint8_t *out, size_t len)
{
    if (len < 12) {
        g_assert_true(rx(f, out, len));
        return;
    }
    uint32_t zl = rx_compact(f);
    g_autofree uint8_t *z = g_malloc(zl);
    g_assert_true(rx(f, z, zl));
    if (!td.init[s]) {
        g_assert_cmpint(inflateInit(&td.zs[s]), ==, Z_OK);
        td.init[s] = true;
    }
    z_stream *zs = &td.zs[s];
    zs->next_in = z;
    zs->avail_in = zl;
    zs->next_out = out;
    zs->avail_out = len;
    g_assert_cmpint(inflate(zs, Z_SYNC_FLUSH), ==, Z_OK);
    g_assert_cmpuint(zs->avail_out, ==, 0);
    g_assert_cmpuint(zs->avail_in, ==, 0);
}

static void tight_jpeg(Fx *f, uint32_t *fb, int fbw, int x, int y, int w, int h)
{
    uint32_t len = rx_compact(f);
    g_autofree uint8_t *data = g_malloc(len);
    g_assert_true(rx(f, data, len));
    struct jpeg_decompress_struct di;
    struct jpeg_error_mgr jerr;
    di.err = jpeg_std_error(&jerr);
    jpeg_create_decompress(&di);
    jpeg_mem_src(&di, data, len);
    g_assert_cmpint(jpeg_read_header(&di, TRUE), ==, JPEG_HEADER_OK);
    di.out_color_space = JCS_RGB;
    jpeg_start_decompress(&di);
    g_assert_cmpuint(di.output_width, ==, w);
    g_assert_cmpuint(di.output_height, ==, h);
    g_autofree uint8_t *row = g_malloc((size_t)w * 3);
    for (int j = 0; j < h; j++) {
        JSAMPROW r = row;
        g_assert_cmpuint(jpeg_read_scanlines(&di, &r, 1), ==, 1);
        for (int i = 0; i < w; i++) {
            fb[(y + j) * fbw + x + i] = row[3 * i] << 16 | row[3 * i + 1] << 8 | row[3 * i + 2];
            td.lossy[(y + j) * fbw + x + i] = 1;
        }
    }
    jpeg_finish_decompress(&di);
    jpeg_destroy_decompress(&di);
    td.jpegs++;
}

static void tight_rect(Fx *f, uint32_t *fb, int fbw, int x, int y, int w, int h)
{
    td.pieces++;
    td.widest = MAX(td.widest, (unsigned)w);
    g_assert_cmpint(w, <=, 2048);
    g_assert_cmpint(w * h, <=, 65536);
    uint8_t ctl = rx8(f);
    for (int s = 0; s < 4; s++)
        if (ctl & (1u << s)) {
            td.resets++;
            if (td.init[s])
                g_assert_cmpint(inflateReset(&td.zs[s]), ==, Z_OK);
        }
    unsigned type = ctl >> 4;
    uint8_t b[4];
    if (type == 8) {                              /* fill */
        g_assert_true(rx(f, b, td.tb));
        for (int j = 0; j < h; j++)
            for (int i = 0; i < w; i++) {
                fb[(y + j) * fbw + x + i] = tpx(b);
                td.lossy[(y + j) * fbw + x + i] = 0;
            }
        td.fills++;
        return;
    }
    if (type == 9) {
        tight_jpeg(f, fb, fbw, x, y, w, h);
        return;
    }
    g_assert_cmpuint(type, <, 8);                 /* basic; nothing else is valid */
    int s = type & 3;
    uint8_t filter = type & 4 ? rx8(f) : 0;
    for (int j = 0; j < h; j++)
        memset(td.lossy + (y + j) * fbw + x, 0, w);
    if (filter == 0) {
        size_t len = (size_t)w * h * td.tb;
        g_autofree uint8_t *d = g_malloc(len);
        tight_data(f, s, d, len);
        for (int j = 0; j < h; j++)
            for (int i = 0; i < w; i++)
                fb[(y + j) * fbw + x + i] = tpx(d + ((size_t)j * w + i) * td.tb);
        td.copies++;
        return;
    }
    g_assert_cmpuint(filter, ==, 1);              /* the server sends no gradient */
    unsigned n = rx8(f) + 1;
    g_assert_cmpuint(n, >=, 2);
    uint32_t pal[256];
    for (unsigned k = 0; k < n; k++) {
        g_assert_true(rx(f, b, td.tb));
        pal[k] = tpx(b);
    }
    size_t stride = n == 2 ? (w + 7) / 8 : w, len = stride * h;
    g_autofree uint8_t *d = g_malloc(len);
    tight_data(f, s, d, len);
    for (int j = 0; j < h; j++)
        for (int i = 0; i < w; i++) {
            unsigned k = n == 2 ? (d[j * stride + i / 8] >> (7 - i % 8)) & 1 : d[j * stride + i];
            g_assert_cmpuint(k, <, n);
            fb[(y + j) * fbw + x + i] = pal[k];
        }
    if (n == 2)
        td.monos++;
    else
        td.palettes++;
}

static bool rx_dec(void *opaque, void *p, size_t n)
{
    return rx(opaque, p, n);
}

/* Decodes one FramebufferUpdate into @fb (the console's size, @fbw wide): Raw, Hextile
 * and ZRLE by tests/vnc-dec.c into @d, Tight by the decoder above; returns the number
 * of pixel rectangles. */
static GArray *upd_rects;        /* when set: each pixel rectangle's x, y, w, h */

static unsigned read_update(Fx *f, uint32_t *fb, int fbw, VncDec *d)
{
    g_assert_cmpuint(rx8(f), ==, 0);
    rx8(f);
    unsigned n = rx16(f), pixrects = 0;
    for (unsigned r = 0; r < n; r++) {
        int x = rx16(f), y = rx16(f), w = rx16(f), h = rx16(f);
        int32_t enc = (int32_t)rx32(f);
        if (upd_rects)
            g_array_append_vals(upd_rects, (int[]){ x, y, w, h }, 4);
        if (enc == ENC_TIGHT) {
            tight_rect(f, fb, fbw, x, y, w, h);
        } else {
            g_assert_nonnull(d);
            if (!vnc_dec_rect(d, rx_dec, f, fb, fbw, console_height(f->con), x, y, w, h, enc))
                g_error("decoding a rectangle of encoding %d: %s", enc, d->err);
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
    VncDec d;
    vnc_dec_init(&d);
    td_start(w, h, 3);
    write_text(&f, 0, "Hello, VNC", 0x1e);
    console_refresh(f.con);
    request(&f, false);
    read_update(&f, fb, w, &d);
    assert_same(&f, fb);
    /* One changed cell: an incremental update covers only its tile(s). */
    write_text(&f, 80 * 10 + 40, "X", 0x4f);
    request(&f, true);
    console_refresh(f.con);
    unsigned n = read_update(&f, fb, w, &d);
    g_assert_cmpuint(n, <=, 2);
    assert_same(&f, fb);
    if (enc == ENC_TIGHT) {
        /* A text screen: fills and palettes, no lossy data without a JPEG quality. */
        g_assert_cmpuint(td.fills, >, 0);
        g_assert_cmpuint(td.monos + td.palettes, >, 0);
        g_assert_cmpuint(td.jpegs, ==, 0);
    }
    td_end();
    vnc_dec_free(&d);
    fx_free(&f);
}

static void test_raw(void) { run_encoding(ENC_RAW); }
static void test_hextile(void) { run_encoding(ENC_HEXTILE); }
static void test_zrle(void) { run_encoding(ENC_ZRLE); }
static void test_tight_text(void) { run_encoding(ENC_TIGHT); }

/* A 32 bpp VBE mode wider than Tight's 2048 pixels, painted with a noisy gradient (far
 * more colours than a palette), a solid block, two-colour stripes and an eight-colour
 * checkerboard. */
#define IMG_W 2304
#define IMG_H 400
static void paint_image(Fx *f)
{
    as_write(f->m->io, 0x1ce, VBE_DISPI_INDEX_ENABLE, 2);
    as_write(f->m->io, 0x1cf, 0, 2);
    as_write(f->m->io, 0x1ce, VBE_DISPI_INDEX_XRES, 2);
    as_write(f->m->io, 0x1cf, IMG_W, 2);
    as_write(f->m->io, 0x1ce, VBE_DISPI_INDEX_YRES, 2);
    as_write(f->m->io, 0x1cf, IMG_H, 2);
    as_write(f->m->io, 0x1ce, VBE_DISPI_INDEX_BPP, 2);
    as_write(f->m->io, 0x1cf, 32, 2);
    as_write(f->m->io, 0x1ce, VBE_DISPI_INDEX_ENABLE, 2);
    as_write(f->m->io, 0x1cf, VBE_DISPI_ENABLED | VBE_DISPI_LFB_ENABLED, 2);
    uint32_t *fb = (uint32_t *)vga_pci_common(f->dev)->vram;
    GRand *rnd = g_rand_new_with_seed(11);
    for (int y = 0; y < IMG_H; y++)
        for (int x = 0; x < IMG_W; x++) {
            uint32_t p;
            if (y < 200) {                            /* photo-like: smooth + noise */
                int n = g_rand_int_range(rnd, -6, 7);
                int r = CLAMP(x * 255 / IMG_W + n, 0, 255);
                int g = CLAMP(y * 255 / 200 + n, 0, 255);
                int b = CLAMP(128 + (x - y) / 8 + n, 0, 255);
                p = r << 16 | g << 8 | b;
            } else if (x < 1024) {
                p = 0x2050a0;                             /* solid */
            } else if (x < 1600) {
                p = (x / 3 + y / 5) & 1 ? 0xffffff : 0x101010;  /* two colours */
            } else {
                p = 0x10101 * (((x / 4) + (y / 4)) % 8) * 30;    /* eight greys */
            }
            fb[y * IMG_W + x] = p;
        }
    g_rand_free(rnd);
    console_refresh(f->con);
    g_assert_cmpint(console_width(f->con), ==, IMG_W);
}

/* Compares the decoded picture with the console: exact where lossless; where it came
 * from a JPEG within a per-channel bound and a small mean error. */
static void assert_close(Fx *f, const uint32_t *fb)
{
    int w = console_width(f->con), h = console_height(f->con);
    uint64_t err = 0, lossy = 0;
    for (int y = 0; y < h; y++) {
        const uint32_t *row = console_data(f->con) + y * console_stride(f->con) / 4;
        for (int x = 0; x < w; x++) {
            uint32_t a = fb[y * w + x] & 0xffffff, b = row[x] & 0xffffff;
            if (!td.lossy[y * w + x]) {
                g_assert_cmphex(a, ==, b);
                continue;
            }
            lossy++;
            for (int sh = 0; sh < 24; sh += 8) {
                int d = abs((int)((a >> sh) & 0xff) - (int)((b >> sh) & 0xff));
                g_assert_cmpint(d, <=, 64);
                err += d;
            }
        }
    }
    if (lossy)
        g_assert_cmpfloat((double)err / (lossy * 3), <, 6.0);
}

static void test_tight_image(void)
{
    Fx f;
    fx_init(&f, "");
    paint_image(&f);
    handshake(&f, "RFB 003.008\n", NULL);
    int w = IMG_W, h = IMG_H;
    g_autofree uint32_t *fb = g_new0(uint32_t, w * h);
    td_start(w, h, 3);
    /* Lossless (no JPEG quality asked), compression level 1: every kind but JPEG, the
     * 2304-pixel rows cut into pieces (the decoder checks the 2048-pixel limit). */
    set_encodings(&f, (int32_t[]){ ENC_TIGHT, ENC_COMPRESS_LEVEL_0 + 1, ENC_RAW }, 3);
    request(&f, false);
    unsigned n = read_update(&f, fb, w, NULL);
    assert_close(&f, fb);
    g_assert_cmpuint(n, ==, td.pieces);
    g_assert_cmpuint(td.jpegs, ==, 0);
    g_assert_cmpuint(td.copies, >, 0);
    g_assert_cmpuint(td.palettes, >, 0);
    g_assert_cmpuint(td.fills, >, 0);
    g_assert_cmpuint(td.widest, ==, TIGHT_PIECE_W);
    g_assert_cmpuint(td.resets, ==, 0);
    /* Level 9 and JPEG quality 9: the streams in use are re-made (reset bits: the
     * decoder above fails on a new zlib header otherwise), many-colour pieces as JPEG. */
    memset(fb, 0, (size_t)w * h * 4);
    set_encodings(&f, (int32_t[]){ ENC_TIGHT, ENC_COMPRESS_LEVEL_0 + 9,
                                   ENC_JPEG_QUALITY_0 + 9 }, 3);
    request(&f, false);
    read_update(&f, fb, w, NULL);
    g_assert_cmpuint(td.resets, >, 0);
    g_assert_cmpuint(td.jpegs, >, 0);
    assert_close(&f, fb);
    /* The same streams go on across updates: an incremental update of a changed area,
     * whole tiles in two colours (the one-bit palette). */
    uint32_t *vram = (uint32_t *)vga_pci_common(f.dev)->vram;
    for (int y = 208; y < 304; y++)
        for (int x = 96; x < 480; x++)
            vram[y * IMG_W + x] = (x + y) & 4 ? 0xff0000 : 0x00ff00;
    console_refresh(f.con);
    request(&f, true);
    unsigned monos = td.monos;
    read_update(&f, fb, w, NULL);
    assert_close(&f, fb);
    g_assert_cmpuint(td.monos, >, monos);
    /* 16 bpp big-endian RGB565: TPIXELs are the client's 2-byte pixels. */
    tx(&f, (uint8_t[]){ 0, 0, 0, 0, 16, 16, 1, 1, 0, 31, 0, 63, 0, 31, 11, 5, 0, 0, 0, 0 }, 20);
    set_encodings(&f, (int32_t[]){ ENC_TIGHT }, 1);
    td.tb = 2;
    request(&f, false);
    read_update(&f, fb, w, NULL);
    for (int y = 0; y < h; y++) {
        const uint32_t *row = console_data(f.con) + y * console_stride(f.con) / 4;
        for (int x = 0; x < w; x++) {
            uint32_t p = row[x];
            uint32_t want = (((p >> 16) & 0xff) * 31 / 255) << 11 |
                            (((p >> 8) & 0xff) * 63 / 255) << 5 | (p & 0xff) * 31 / 255;
            g_assert_cmphex(fb[y * w + x], ==, want);
        }
    }
    td_end();
    fx_free(&f);
}

/* ---- rectangles of an update ---- */

/* Text rows whose changed cells alternate between two column spans (cell 6: tile
 * column 3; cell 5: tile columns 2-3), as a scrolling console's line numbers do. Raw
 * sends exactly the dirty tiles (a rectangle per run of rows with one span); ZRLE and
 * Tight merge them into one or two (fewer headers and zlib flushes). Rectangles never overlap, and the
 * picture decodes exactly. */
static void test_merge(void)
{
    static const int32_t encs[] = { ENC_RAW, ENC_ZRLE, ENC_TIGHT };
    for (size_t e = 0; e < G_N_ELEMENTS(encs); e++) {
        Fx f;
        fx_init(&f, "");
        handshake(&f, "RFB 003.008\n", NULL);
        set_encodings(&f, &encs[e], 1);
        int w = console_width(f.con), h = console_height(f.con);
        g_autofree uint32_t *fb = g_new0(uint32_t, w * h);
        VncDec d;
        vnc_dec_init(&d);
        td_start(w, h, 3);
        request(&f, false);
        read_update(&f, fb, w, &d);
        for (int row = 0; row < 20; row++)
            write_text(&f, 80 * row + (row % 3 ? 6 : 5), "#", 0x0f);
        console_refresh(f.con);
        upd_rects = g_array_new(FALSE, FALSE, sizeof(int));
        request(&f, true);
        unsigned n = read_update(&f, fb, w, &d);
        assert_same(&f, fb);
        if (encs[e] == ENC_RAW) {
            g_assert_cmpuint(n, ==, 14);      /* 7 spans of [2,4), 7 of [3,4) tiles */
        } else {
            g_assert_cmpuint(n, <=, 2);
        }
        for (unsigned i = 0; i < n; i++)
            for (unsigned j = i + 1; j < n; j++) {
                int *a = &g_array_index(upd_rects, int, 4 * i);
                int *b = &g_array_index(upd_rects, int, 4 * j);
                g_assert_false(a[0] < b[0] + b[2] && b[0] < a[0] + a[2] &&
                               a[1] < b[1] + b[3] && b[1] < a[1] + a[3]);
            }
        g_array_free(upd_rects, TRUE);
        upd_rects = NULL;
        td_end();
        vnc_dec_free(&d);
        fx_free(&f);
    }
}

/* ---- ZRLE's subencodings ---- */

#define ZT_W 640
#define ZT_H 192
/* A picture whose 64x64 tiles each suit one ZRLE subencoding (RFC 6143 7.7.6), by the
 * sizes the spec's subencodings give: per column of tiles, solid; two-colour text-like
 * dots (packed palette); 20 colours in runs of 7 (palette RLE); 128 colours, each row
 * two runs of 32 (plain RLE: more colours than a palette holds); noise (raw); then
 * a mix of them inside single tiles. @gen varies it. */
static uint32_t zt_pixel(int x, int y, unsigned gen)
{
    int col = x / 64 % 5, tx = x % 64;
    uint32_t h = (uint32_t)(x * 7919 + y * 104729 + gen * 31) * 2654435761u;
    if (x >= 320 && (y / 8 + x / 8) % 3 == 0)
        col = (col + 2) % 5;                               /* mixed tiles */
    switch (col) {
    case 0: return 0x336699 + gen;
    case 1: return (x / 2 + y / 3 + gen) % 5 == 0 ? 0xeeeeee : 0x102030;
    case 2: return 0x0b0d0f * (((x + gen) / 7 + y / 16) % 20) + 0x101010;
    case 3: return (uint32_t)((y % 64) * 2 + (tx >= 32)) * 0x020103 + gen;
    default: return h >> 8;
    }
}

static void zt_paint(Fx *f, unsigned gen, int x0, int y0, int w, int h)
{
    uint32_t *vram = (uint32_t *)vga_pci_common(f->dev)->vram;
    for (int y = y0; y < y0 + h; y++)
        for (int x = x0; x < x0 + w; x++)
            vram[y * ZT_W + x] = zt_pixel(x, y, gen);
    console_refresh(f->con);
}

/* The client pixel value of console pixel @p in format @pf (the conversion a client
 * expects, RFC 6143 7.4: each channel scaled to its maximum and shifted). */
static uint32_t client_pixel(const uint8_t pf[16], uint32_t p)
{
    unsigned rmax = pf[4] << 8 | pf[5], gmax = pf[6] << 8 | pf[7], bmax = pf[8] << 8 | pf[9];
    return (((p >> 16) & 0xff) * rmax / 255) << pf[10] |
           (((p >> 8) & 0xff) * gmax / 255) << pf[11] | ((p & 0xff) * bmax / 255) << pf[12];
}

static void zt_check(Fx *f, const uint32_t *fb, const uint8_t pf[16])
{
    for (int y = 0; y < ZT_H; y++) {
        const uint32_t *row = console_data(f->con) + y * console_stride(f->con) / 4;
        for (int x = 0; x < ZT_W; x++)
            if (fb[y * ZT_W + x] != client_pixel(pf, row[x]))
                g_error("pixel (%d,%d): decoded %08x, want %08x (console %06x)", x, y,
                        fb[y * ZT_W + x], client_pixel(pf, row[x]), row[x] & 0xffffff);
    }
}

/* Every ZRLE subencoding is chosen where the spec's sizes make it the smallest, and the
 * stream decodes (tests/vnc-dec.c, which checks every length, index and run) to the
 * console exactly: a full update, incremental ones (the zlib stream goes on), and the
 * CPIXEL forms of other pixel formats (3 low bytes, 3 high bytes, 2 bytes big endian,
 * 1 byte). */
static void test_zrle_subencodings(void)
{
    Fx f;
    fx_init(&f, "");
    as_write(f.m->io, 0x1ce, VBE_DISPI_INDEX_XRES, 2);
    as_write(f.m->io, 0x1cf, ZT_W, 2);
    as_write(f.m->io, 0x1ce, VBE_DISPI_INDEX_YRES, 2);
    as_write(f.m->io, 0x1cf, ZT_H, 2);
    as_write(f.m->io, 0x1ce, VBE_DISPI_INDEX_BPP, 2);
    as_write(f.m->io, 0x1cf, 32, 2);
    as_write(f.m->io, 0x1ce, VBE_DISPI_INDEX_ENABLE, 2);
    as_write(f.m->io, 0x1cf, VBE_DISPI_ENABLED | VBE_DISPI_LFB_ENABLED, 2);
    zt_paint(&f, 0, 0, 0, ZT_W, ZT_H);
    g_assert_cmpint(console_width(f.con), ==, ZT_W);
    handshake(&f, "RFB 003.008\n", NULL);
    set_encodings(&f, (int32_t[]){ ENC_ZRLE }, 1);
    g_autofree uint32_t *fb = g_new0(uint32_t, ZT_W * ZT_H);
    static const uint8_t native[16] = { 32, 24, 0, 1, 0, 255, 0, 255, 0, 255, 16, 8, 0 };
    VncDec d;
    vnc_dec_init(&d);
    request(&f, false);
    read_update(&f, fb, ZT_W, &d);
    zt_check(&f, fb, native);
    for (unsigned k = 0; k < ZRLE_KINDS; k++)
        if (!d.zrle_tiles[k])
            g_error("no %s tile in the full update", vnc_dec_zrle_kind(k));
    /* Incremental updates of changed areas, through the same zlib stream. */
    for (unsigned gen = 1; gen <= 3; gen++) {
        zt_paint(&f, gen, 40 * gen, 30 * gen, 300, 100);
        request(&f, true);
        read_update(&f, fb, ZT_W, &d);
        zt_check(&f, fb, native);
    }
    /* Other formats: SetPixelFormat redraws everything. */
    static const struct {
        uint8_t pf[16];
        unsigned bytes, cbytes;
        bool high;
    } formats[] = {
        { { 32, 24, 1, 1, 0, 255, 0, 255, 0, 255, 0, 8, 16 }, 4, 3, false },   /* BGR, BE */
        { { 32, 24, 0, 1, 0, 255, 0, 255, 0, 255, 24, 16, 8 }, 4, 3, true },   /* high bytes */
        { { 16, 16, 1, 1, 0, 31, 0, 63, 0, 31, 11, 5, 0 }, 2, 2, false },      /* RGB565 BE */
        { { 8, 8, 0, 1, 0, 7, 0, 7, 0, 3, 0, 3, 6 }, 1, 1, false },            /* BGR233 */
    };
    for (size_t i = 0; i < G_N_ELEMENTS(formats); i++) {
        uint8_t msg[20] = { 0 };
        memcpy(msg + 4, formats[i].pf, 13);
        tx(&f, msg, 20);
        vnc_dec_set_format(&d, formats[i].bytes, formats[i].pf[2], formats[i].cbytes,
                           formats[i].high);
        memset(d.zrle_tiles, 0, sizeof(d.zrle_tiles));
        memset(fb, 0, (size_t)ZT_W * ZT_H * 4);
        request(&f, false);
        read_update(&f, fb, ZT_W, &d);
        zt_check(&f, fb, formats[i].pf);
        g_assert_cmpuint(d.zrle_tiles[ZRLE_PALETTE_RLE], >, 0);
        zt_paint(&f, 9 + i, 100, 50, 200, 90);
        request(&f, true);
        read_update(&f, fb, ZT_W, &d);
        zt_check(&f, fb, formats[i].pf);
    }
    vnc_dec_free(&d);
    fx_free(&f);
}

/* ---- the test decoder against bad data ---- */

typedef struct MemRd {
    const uint8_t *p;
    size_t n, pos;
} MemRd;

static bool mem_rd(void *opaque, void *buf, size_t n)
{
    MemRd *m = opaque;
    if (m->n - m->pos < n)
        return false;
    memcpy(buf, m->p + m->pos, n);
    m->pos += n;
    return true;
}

/* A ZRLE rectangle's data: the length and @n bytes deflated with a sync flush. */
static GByteArray *zrle_data(const uint8_t *p, size_t n)
{
    z_stream z = { 0 };
    g_assert_cmpint(deflateInit(&z, 6), ==, Z_OK);
    size_t cap = deflateBound(&z, n) + 64;
    uint8_t *out = g_malloc(cap + 4);
    z.next_in = (uint8_t *)p;
    z.avail_in = n;
    z.next_out = out + 4;
    z.avail_out = cap;
    g_assert_cmpint(deflate(&z, Z_SYNC_FLUSH), ==, Z_OK);
    size_t len = cap - z.avail_out;
    deflateEnd(&z);
    out[0] = len >> 24; out[1] = len >> 16; out[2] = len >> 8; out[3] = len;
    GByteArray *a = g_byte_array_new_take(out, len + 4);
    return a;
}

static bool dec_one(const GByteArray *a, int32_t enc, int w, int h, char *err, size_t errlen)
{
    uint32_t fb[32 * 32];
    VncDec d;
    vnc_dec_init(&d);
    MemRd m = { a->data, a->len, 0 };
    bool ok = vnc_dec_rect(&d, mem_rd, &m, fb, 32, 32, 0, 0, w, h, enc);
    g_strlcpy(err, d.err, errlen);
    vnc_dec_free(&d);
    return ok;
}

/* tests/vnc-dec.c (the test clients' decoder) refuses what no rectangle can hold, by
 * name, and survives random data (under ASan in the sweep). */
static void test_decoder_bad_data(void)
{
    static const struct {
        const char *name;
        uint8_t data[40];
        size_t len;
        const char *err;
    } bad[] = {
        { "palette RLE index", { 130, 1, 2, 3, 4, 5, 6, 5 }, 8, "past a 2-colour palette" },
        { "plain RLE run", { 128, 1, 2, 3, 255, 255, 0 }, 7, "run past" },
        { "packed index", { 3, 1, 1, 1, 2, 2, 2, 3, 3, 3, 0xff }, 11, "past a 3-colour" },
        { "unused subencoding", { 17 }, 1, "unused subencoding 17" },
        { "left over", { 1, 9, 9, 9, 0 }, 5, "left over" },
        { "short", { 0, 1, 2 }, 3, "data ended in a raw tile" },
    };
    char err[160];
    for (size_t i = 0; i < G_N_ELEMENTS(bad); i++) {
        GByteArray *a = zrle_data(bad[i].data, bad[i].len);
        g_assert_false(dec_one(a, ENC_ZRLE, 16, 16, err, sizeof(err)));
        if (!strstr(err, bad[i].err))
            g_error("%s: error \"%s\" does not say \"%s\"", bad[i].name, err, bad[i].err);
        g_byte_array_free(a, TRUE);
    }
    /* A length over the bound, a rectangle outside the screen. */
    GByteArray *a = g_byte_array_new();
    g_byte_array_append(a, (const uint8_t[]){ 0x7f, 0xff, 0xff, 0xff }, 4);
    g_assert_false(dec_one(a, ENC_ZRLE, 8, 8, err, sizeof(err)));
    g_assert_nonnull(strstr(err, "over"));
    g_assert_false(dec_one(a, ENC_RAW, 33, 8, err, sizeof(err)));
    g_assert_nonnull(strstr(err, "outside"));
    g_byte_array_free(a, TRUE);
    /* Random tile data, deflated, and random Hextile bytes: refused or decoded, within
     * bounds. */
    GRand *rnd = g_rand_new_with_seed(23);
    unsigned refused = 0;
    for (int round = 0; round < 400; round++) {
        uint8_t buf[600];
        size_t n = g_rand_int_range(rnd, 1, sizeof(buf));
        for (size_t k = 0; k < n; k++)
            buf[k] = g_rand_int(rnd);
        if (round % 2)
            buf[0] = (uint8_t[]){ 0, 1, 2, 5, 16, 128, 130, 200 }[g_rand_int_range(rnd, 0, 8)];
        int w = g_rand_int_range(rnd, 1, 33), h = g_rand_int_range(rnd, 1, 33);
        GByteArray *z = zrle_data(buf, n);
        refused += !dec_one(z, ENC_ZRLE, w, h, err, sizeof(err));
        g_byte_array_free(z, TRUE);
        GByteArray *r = g_byte_array_new();
        g_byte_array_append(r, buf, n);
        refused += !dec_one(r, ENC_HEXTILE, w, h, err, sizeof(err));
        g_byte_array_free(r, TRUE);
    }
    g_assert_cmpuint(refused, >, 400);
    g_rand_free(rnd);
}

/* ---- websockets ---- */

/* RFC 6455 1.3's example key and its accept value. */
#define WS_KEY "dGhlIHNhbXBsZSBub25jZQ=="
#define WS_ACCEPT "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
static const char ws_req[] =
    "GET /websockify HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\n"
    "Connection: keep-alive, Upgrade\r\nSec-WebSocket-Key: " WS_KEY "\r\n"
    "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: binary, base64\r\n\r\n";

/* The server's HTTP answer up to its blank line ("" if it closed first). */
static char *ws_answer(Fx *f)
{
    GString *a = g_string_new(NULL);
    char ch;
    while (a->len < 4096 && !g_str_has_suffix(a->str, "\r\n\r\n") && raw_rx(f, &ch, 1))
        g_string_append_c(a, ch);
    return g_string_free(a, FALSE);
}

static void ws_upgrade(Fx *f)
{
    raw_tx(f, ws_req, strlen(ws_req));
    g_autofree char *a = ws_answer(f);
    g_assert_true(g_str_has_prefix(a, "HTTP/1.1 101 "));
    g_assert_nonnull(strstr(a, "\r\nSec-WebSocket-Accept: " WS_ACCEPT "\r\n"));
    g_assert_nonnull(strstr(a, "\r\nSec-WebSocket-Protocol: binary\r\n"));
    g_assert_nonnull(strcasestr(a, "\r\nUpgrade: websocket\r\n"));
    f->ws = true;
}

/* Reads frames until the server's close frame or EOF; returns the close status (-1:
 * none came). */
static int ws_until_close(Fx *f)
{
    while (ws_read_frame(f))
        ;
    return f->close_code;
}

static void test_ws_session(void)
{
    Fx f;
    fx_init_full(&f, "", true);
    ws_upgrade(&f);
    handshake(&f, "RFB 003.008\n", NULL);
    /* SetEncodings in three fragments with a ping between: the pong carries its payload,
     * the message arrives whole. */
    int32_t encs[] = { ENC_TIGHT, ENC_COMPRESS_LEVEL_0 + 6, ENC_RAW };
    uint8_t m[4 + 4 * 3] = { 2, 0, 0, 3 };
    for (int i = 0; i < 3; i++) {
        uint32_t v = (uint32_t)encs[i];
        m[4 + 4 * i] = v >> 24; m[5 + 4 * i] = v >> 16; m[6 + 4 * i] = v >> 8; m[7 + 4 * i] = v;
    }
    ws_frame(&f, false, 2, m, 3, false);
    ws_frame(&f, true, 9, "hello", 5, false);
    ws_frame(&f, false, 0, m + 3, 6, false);
    ws_frame(&f, true, 0, m + 9, sizeof(m) - 9, false);
    g_assert_cmpint(f.c->enc, ==, ENC_TIGHT);
    int w = console_width(f.con), h = console_height(f.con);
    g_autofree uint32_t *fb = g_new0(uint32_t, w * h);
    td_start(w, h, 3);
    write_text(&f, 0, "over a websocket", 0x1e);
    console_refresh(f.con);
    request(&f, false);
    read_update(&f, fb, w, NULL);
    assert_same(&f, fb);
    g_assert_cmpint(f.pong_len, ==, 5);
    g_assert_cmpmem(f.pong, 5, "hello", 5);
    /* A 1 MiB cut text in one frame: streamed into the RFB parser, never held whole. */
    size_t big = 1 << 20;
    g_autofree uint8_t *cut = g_malloc0(big + 8);
    memcpy(cut, (uint8_t[]){ 6, 0, 0, 0, big >> 24, big >> 16, big >> 8, big }, 8);
    ws_frame(&f, true, 2, cut, big + 8, false);
    g_assert_cmpuint(f.c->in->len, <, VNC_IN_MAX);
    g_assert_cmpint(f.c->state, ==, VS_NORMAL);
    write_text(&f, 80 * 5, "still here", 0x2f);
    console_refresh(f.con);
    request(&f, true);
    read_update(&f, fb, w, NULL);
    assert_same(&f, fb);
    /* Close with 1001: answered with a close frame, then the connection ends. */
    ws_frame(&f, true, 8, "\x03\xe9", 2, false);
    g_assert_cmpint(ws_until_close(&f), ==, 1000);
    g_assert_true(closed(&f));
    td_end();
    fx_free(&f);
}

/* A request refused with @status and the connection closed. */
static void ws_refused(const char *req, size_t len, const char *status)
{
    Fx f;
    fx_init_full(&f, "", true);
    raw_tx(&f, req, len);
    g_autofree char *a = ws_answer(&f);
    if (!g_str_has_prefix(a, status))
        g_error("request answered '%s', expected '%s'", a, status);
    g_assert_true(closed(&f));
    fx_free(&f);
}

/* After the upgrade, @frame (raw bytes) breaks the protocol: a close with @code. */
static void ws_breach(const void *frame, size_t len, int code)
{
    Fx f;
    fx_init_full(&f, "", true);
    ws_upgrade(&f);
    raw_tx(&f, frame, len);
    g_assert_cmpint(ws_until_close(&f), ==, code);
    g_assert_true(closed(&f));
    fx_free(&f);
}

static void test_ws_hostile(void)
{
    const char *hdr = "GET / HTTP/1.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n";
    g_autofree char *nokey = g_strdup_printf("%sSec-WebSocket-Version: 13\r\n\r\n", hdr);
    ws_refused(nokey, strlen(nokey), "HTTP/1.1 400 ");
    g_autofree char *v8 = g_strdup_printf("%sSec-WebSocket-Key: " WS_KEY "\r\n"
                                          "Sec-WebSocket-Version: 8\r\n\r\n", hdr);
    ws_refused(v8, strlen(v8), "HTTP/1.1 400 ");
    g_autofree char *shortkey = g_strdup_printf("%sSec-WebSocket-Key: AAAA\r\n"
                                                "Sec-WebSocket-Version: 13\r\n\r\n", hdr);
    ws_refused(shortkey, strlen(shortkey), "HTTP/1.1 400 ");
    g_autofree char *chat = g_strdup_printf("%sSec-WebSocket-Key: " WS_KEY "\r\n"
                                            "Sec-WebSocket-Protocol: chat\r\n"
                                            "Sec-WebSocket-Version: 13\r\n\r\n", hdr);
    ws_refused(chat, strlen(chat), "HTTP/1.1 400 ");
    const char *post = "POST / HTTP/1.1\r\nUpgrade: websocket\r\n\r\n";
    ws_refused(post, strlen(post), "HTTP/1.1 400 ");
    /* A plain RFB client on the websocket port: no request yet, nothing answered (the
     * server waits for the blank line, within its bound). */
    Fx f;
    fx_init_full(&f, "", true);
    raw_tx(&f, "RFB 003.008\n", 12);
    g_assert_false(closed(&f));
    g_assert_cmpuint(f.c->ws_http->len, ==, 12);
    fx_free(&f);
    /* A header that never ends: refused at the bound, not buffered on. */
    g_autofree char *endless = g_strnfill(3 * VNC_WS_HTTP_MAX, 'a');
    memcpy(endless, "GET / HTTP/1.1\r\nX: ", 19);
    ws_refused(endless, strlen(endless), "HTTP/1.1 400 ");
    /* A NUL inside the request. */
    char nul[] = "GET / HTTP/1.1\r\nX: a\0b\r\n\r\n";
    ws_refused(nul, sizeof(nul) - 1, "HTTP/1.1 400 ");

    /* Frames. */
    uint8_t unmasked[] = { 0x82, 0x01, 'R' };
    ws_breach(unmasked, sizeof(unmasked), 1002);
    uint8_t huge[] = { 0x82, 0xff, 0x40, 0, 0, 0, 0, 0, 0, 0, 1, 2, 3, 4 };
    ws_breach(huge, sizeof(huge), 1009);
    uint8_t topbit[] = { 0x82, 0xff, 0x80, 0, 0, 0, 0, 0, 0, 1, 1, 2, 3, 4 };
    ws_breach(topbit, sizeof(topbit), 1009);
    uint8_t text[] = { 0x81, 0x81, 1, 2, 3, 4, 'x' };
    ws_breach(text, sizeof(text), 1003);
    uint8_t cont[] = { 0x80, 0x81, 1, 2, 3, 4, 'x' };
    ws_breach(cont, sizeof(cont), 1002);
    uint8_t rsv[] = { 0xc2, 0x81, 1, 2, 3, 4, 'x' };
    ws_breach(rsv, sizeof(rsv), 1002);
    uint8_t bigping[4 + 4 + 126] = { 0x89, 0xfe, 0, 126 };
    ws_breach(bigping, sizeof(bigping), 1002);
    uint8_t fragping[] = { 0x09, 0x80, 1, 2, 3, 4 };
    ws_breach(fragping, sizeof(fragping), 1002);
    uint8_t nested[] = { 0x02, 0x81, 1, 2, 3, 4, 'x', 0x82, 0x81, 1, 2, 3, 4, 'y' };
    ws_breach(nested, sizeof(nested), 1002);
    uint8_t op3[] = { 0x83, 0x80, 1, 2, 3, 4 };
    ws_breach(op3, sizeof(op3), 1002);

    /* A client that never reads while it floods pings and asks for updates: what the
     * server holds stays bounded (one pending pong, one frame, one update). */
    fx_init_full(&f, "", true);
    ws_upgrade(&f);
    handshake(&f, "RFB 003.008\n", NULL);
    int sz = 4096;
    setsockopt(f.fd, SOL_SOCKET, SO_RCVBUF, &sz, sizeof(sz));
    uint8_t ping[125];
    memset(ping, 'p', sizeof(ping));
    for (int i = 0; i < 200; i++) {
        char t[16];
        snprintf(t, sizeof(t), "%08d", i);
        write_text(&f, (i * 37) % 2000, t, i & 0x7f);
        request(&f, false);
        for (int k = 0; k < 20; k++)
            ws_frame(&f, true, 9, ping, sizeof(ping), false);
        console_refresh(f.con);
    }
    g_assert_cmpuint(f.vd->clients->len, ==, 1);                /* still connected */
    g_assert_false(f.c->closing);
    g_assert_cmpuint(f.c->out->len + f.c->ws_out->len, <,
                     VNC_OUT_LOW + 720 * 400 * 4 + 4096 + VNC_WS_CHUNK + 16);
    fx_free(&f);

    /* Random frames after the upgrade never crash the server. */
    GRand *rnd = g_rand_new_with_seed(3);
    for (int round = 0; round < 20; round++) {
        fx_init_full(&f, "", true);
        ws_upgrade(&f);
        for (int i = 0; i < 30 && f.vd->clients->len; i++) {     /* until it is dropped */
            uint8_t buf[48];
            unsigned n = g_rand_int_range(rnd, 1, sizeof(buf));
            for (unsigned k = 0; k < n; k++)
                buf[k] = g_rand_int(rnd);
            if (g_rand_boolean(rnd))
                ws_frame(&f, g_rand_boolean(rnd), g_rand_int_range(rnd, 0, 11), buf, n,
                         g_rand_int_range(rnd, 0, 8) == 0);
            else if (write(f.fd, buf, n) < 0)
                break;
            pump();
        }
        fx_free(&f);
    }
    g_rand_free(rnd);
}

static void test_ws_option(void)
{
    g_autoptr(GError) err = NULL;
    Machine *m = machine_new_test(0x80000);
    g_assert_nonnull(pci_bus_new_pc(m, &err));
    g_assert_nonnull(machine_create_device(m, "VGA", "vgamem_mb=4", &err));
    g_assert_false(vnc_parse_option(m, "unix:/tmp/vireo-no-such-dir/s,websocket=on", &err));
    g_assert_nonnull(strstr(err->message, "websocket"));
    g_clear_error(&err);
    g_assert_false(vnc_parse_option(m, "127.0.0.1:0,websocket=x:y", &err));
    g_clear_error(&err);
    /* An ephemeral port: the listener exists and query data names it. */
    g_assert_true(vnc_parse_option(m, "127.0.0.1:0,to=99,websocket=127.0.0.1:0", &err));
    g_assert_no_error(err);
    VncDisplay *vd = vnc_find(m, NULL);
    g_assert_cmpint(vd->ws_lfd, >=, 0);
    g_assert_cmpstr(vd->ws_host, ==, "127.0.0.1");
    /* query-vnc-servers lists both listeners, the second as the websocket one. */
    GPtrArray *q = qmp_query_vnc_servers(m, &err);
    g_assert_no_error(err);
    VncInfo2 *i = q->pdata[0];
    g_assert_cmpuint(i->server->len, ==, 2);
    g_assert_false(((VncServerInfo2 *)i->server->pdata[0])->websocket);
    g_assert_true(((VncServerInfo2 *)i->server->pdata[1])->websocket);
    g_assert_cmpstr(((VncServerInfo2 *)i->server->pdata[1])->service, ==, vd->ws_service);
    g_ptr_array_free(q, TRUE);
    vnc_cleanup(m);
    /* websocket=on: port 5700 + display (QEMU's rule); websocket=PORT: the VNC host. */
    if (vnc_parse_option(m, "127.0.0.1:3971,websocket=on", &err)) {
        g_assert_cmpstr(vnc_find(m, NULL)->ws_service, ==, "9671");
        vnc_cleanup(m);
    } else {
        g_test_message("port 9871 or 9671 busy: %s", err->message);   /* not ours */
        g_clear_error(&err);
    }
    if (vnc_parse_option(m, "127.0.0.1:3972,websocket=9673", &err)) {
        g_assert_cmpstr(vnc_find(m, NULL)->ws_service, ==, "9673");
        g_assert_cmpstr(vnc_find(m, NULL)->ws_host, ==, "127.0.0.1");
        vnc_cleanup(m);
    } else {
        g_test_message("port 9872 or 9673 busy: %s", err->message);
        g_clear_error(&err);
    }
    machine_free(m);
}

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

/* audiodev= (libvirt passes it with every <graphics type='vnc'>): it must name an
 * -audiodev; a client that lists QEMU's audio pseudo-encoding gets it acknowledged and
 * may enable audio and set a format (Vireo has no sound device: nothing is ever sent);
 * a bad format, or audio messages to a server without audiodev=, close the connection. */
static void test_audiodev(void)
{
    g_autoptr(GError) err = NULL;
    Machine *m = machine_new_test(0x80000);
    g_assert_nonnull(pci_bus_new_pc(m, &err));
    g_assert_nonnull(machine_create_device(m, "VGA", "vgamem_mb=4", &err));
    g_assert_false(vnc_parse_option(m, "127.0.0.1:0,audiodev=audio9", &err));
    g_assert_nonnull(strstr(err->message, "Audiodev 'audio9' not found"));
    g_assert_nonnull(strstr(err->message, "-vnc 127.0.0.1:0,audiodev=audio9"));
    machine_free(m);

    Fx f;
    fx_init(&f, ",audiodev=audio1");
    g_assert_cmpstr(f.vd->audiodev, ==, "audio1");
    handshake(&f, "RFB 003.008\n", NULL);
    set_encodings(&f, (const int32_t[]){ ENC_RAW, ENC_AUDIO }, 2);
    uint8_t hdr[4];
    g_assert_true(rx(&f, hdr, 4));
    g_assert_cmpuint(hdr[0], ==, 0);
    g_assert_cmpuint(hdr[3], ==, 1);
    g_assert_cmpuint(rx32(&f), ==, 0);                      /* x, y */
    g_assert_cmpuint(rx16(&f), ==, console_width(f.con));
    g_assert_cmpuint(rx16(&f), ==, console_height(f.con));
    g_assert_cmpint((int32_t)rx32(&f), ==, ENC_AUDIO);
    tx(&f, (uint8_t[]){ 255, 1, 0, 0 }, 4);                  /* enable */
    pump();
    g_assert_true(f.c->audio_on);
    tx(&f, (uint8_t[]){ 255, 1, 0, 2, 3, 2, 0, 0, 0xac, 0x44 }, 10);   /* s16, 2, 44100 */
    tx(&f, (uint8_t[]){ 255, 1, 0, 1 }, 4);                  /* disable */
    pump();
    g_assert_false(f.c->audio_on);
    g_assert_false(f.c->closing);
    tx(&f, (uint8_t[]){ 255, 1, 0, 2, 6, 2, 0, 0, 0xac, 0x44 }, 10);   /* format 6 */
    g_assert_true(closed(&f));
    fx_free(&f);

    static const uint8_t bad[][10] = {
        { 255, 1, 0, 2, 3, 0, 0, 0, 0xac, 0x44 },    /* no channels */
        { 255, 1, 0, 2, 3, 3, 0, 0, 0xac, 0x44 },    /* 3 channels */
        { 255, 1, 0, 2, 3, 2, 0, 0, 0, 0 },          /* 0 Hz */
        { 255, 1, 0, 2, 3, 2, 0x80, 0, 0, 0 },       /* 2^31 Hz */
        { 255, 1, 0, 3 },                            /* no operation 3 */
        { 255, 2, 0, 0 },                            /* no QEMU message 2 */
    };
    for (size_t i = 0; i < G_N_ELEMENTS(bad); i++) {
        fx_init(&f, ",audiodev=audio1");
        handshake(&f, "RFB 003.008\n", NULL);
        set_encodings(&f, (const int32_t[]){ ENC_AUDIO }, 1);
        uint8_t ack[16];
        g_assert_true(rx(&f, ack, 16));
        tx(&f, bad[i], 10);
        if (!closed(&f))
            g_error("audio message %zu did not close the connection", i);
        fx_free(&f);
    }
    /* Without audiodev= the encoding is not acknowledged, audio messages close. */
    fx_init(&f, "");
    handshake(&f, "RFB 003.008\n", NULL);
    set_encodings(&f, (const int32_t[]){ ENC_AUDIO }, 1);
    pump();
    g_assert_false(f.c->has_audio);
    tx(&f, (uint8_t[]){ 255, 1, 0, 0 }, 4);
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

/* The display is watched only while a client is connected: the first client attaches
 * the console listener (the VGA's video memory is dirty-logged for the display from
 * then on), the last one to leave detaches it. */
static void test_idle_without_clients(void)
{
    g_autoptr(GError) err = NULL;
    Machine *m = machine_new_test(0x80000);
    g_assert_nonnull(pci_bus_new_pc(m, &err));
    Device *dev = machine_create_device(m, "VGA", "vgamem_mb=4", &err);
    g_assert_nonnull(dev);
    VgaCommon *s = vga_pci_common(dev);
    char dir[] = "/tmp/vireo-vnc-XXXXXX";
    g_assert_nonnull(g_mkdtemp(dir));
    g_autofree char *spec = g_strdup_printf("unix:%s/s", dir);
    g_assert_true(vnc_parse_option(m, spec, &err));
    g_assert_false(s->dirty_log);                    /* listening socket, no client */
    VncDisplay *vd = vnc_find(m, NULL);
    int a[2], b[2];
    g_assert_cmpint(socketpair(AF_UNIX, SOCK_STREAM, 0, a), ==, 0);
    g_assert_cmpint(socketpair(AF_UNIX, SOCK_STREAM, 0, b), ==, 0);
    VncClient *c1 = vnc_client_new(vd, a[0]);
    g_assert_true(s->dirty_log);
    VncClient *c2 = vnc_client_new(vd, b[0]);
    vnc_client_close(c1);
    g_assert_true(s->dirty_log);                     /* one client still watches */
    vnc_client_close(c2);
    g_assert_false(s->dirty_log);
    VncClient *c3 = vnc_client_new(vd, a[1]);        /* and again */
    g_assert_true(s->dirty_log);
    vnc_client_close(c3);
    g_assert_false(s->dirty_log);
    close(b[1]);
    vnc_cleanup(m);
    machine_free(m);
    g_autofree char *sock = g_strdup_printf("%s/s", dir);
    unlink(sock);
    rmdir(dir);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    signal(SIGPIPE, SIG_IGN);
    g_log_set_always_fatal(G_LOG_FATAL_MASK | G_LOG_LEVEL_CRITICAL);   /* hostile clients warn */
    g_test_add_func("/vnc/raw", test_raw);
    g_test_add_func("/vnc/hextile", test_hextile);
    g_test_add_func("/vnc/zrle", test_zrle);
    g_test_add_func("/vnc/zrle-subencodings", test_zrle_subencodings);
    g_test_add_func("/vnc/merge", test_merge);
    g_test_add_func("/vnc/decoder-bad-data", test_decoder_bad_data);
    g_test_add_func("/vnc/tight-text", test_tight_text);
    g_test_add_func("/vnc/tight-image", test_tight_image);
    g_test_add_func("/vnc/websocket", test_ws_session);
    g_test_add_func("/vnc/websocket-hostile", test_ws_hostile);
    g_test_add_func("/vnc/websocket-option", test_ws_option);
    g_test_add_func("/vnc/versions-auth", test_versions_and_auth);
    g_test_add_func("/vnc/audiodev", test_audiodev);
    g_test_add_func("/vnc/input", test_input);
    g_test_add_func("/vnc/hostile", test_hostile);
    g_test_add_func("/vnc/pixel-format", test_pixel_format);
    g_test_add_func("/vnc/fuzz", test_fuzz);
    g_test_add_func("/vnc/idle-without-clients", test_idle_without_clients);
    return g_test_run();
}
