/*
 * vnc-encbench: what each VNC encoding sends for scripted console pictures, measured on
 * the host without a guest (bench/vnc-enc.sh; the check mode is the meson test
 * `vnc-enc`, unit suite).
 *
 *   vnc-encbench [--check] [SCENARIO...]
 *
 * A test machine's console (no display device) gets a deterministic sequence of
 * pictures; each picture is written into the surface row by row, damaging only the
 * changed span of each row as hw/display/vga-render.c does for a VBE mode. After each
 * picture a client on a socketpair asks for an incremental update (the first: a full
 * one), the server's reply is read whole and counted (bytes, rectangles, server CPU
 * time: the main-loop iterations that encoded it), then decoded by tests/vnc-dec.c and
 * compared with the surface (Raw, Hextile, ZRLE; Tight is counted, not decoded here:
 * tests/unit/test-vnc.c decodes it). Scenarios:
 *   scroll1   1024x768 fbcon-like text (the 8x16 VGA font, grey on black, an underline
 *             cursor), the bench's line "line N: the quick brown fox ..." printed one
 *             per picture: the screen scrolls by one text row each update
 *   scroll8   the same, eight lines per picture
 *   fill      1024x768 random frames alternating with black ones (bench/display.sh's
 *             full-screen workload)
 *   desktop   1024x768 synthetic desktop: a vertical gradient, windows with gradient
 *             title bars, text, 20-colour stripes, 8-colour icons and a noisy photo; a
 *             window moves 8 pixels each picture (every ZRLE subencoding has its tiles)
 * Prints one row per scenario and encoding: updates, rectangles, bytes, bytes per update,
 * server CPU ms, and ZRLE's tiles per subencoding. --check runs short scripts and
 * prints TAP: each scenario x encoding decoded exactly, and every ZRLE subencoding used.
 * QEMU is not here (its VNC server needs a guest): bench/display.sh compares with it.
 */
#include "ui/vnc-int.h"
#include "ui/vgafont.h"
#include "vireo/console.h"
#include "vireo/machine.h"
#include "vireo/vnc.h"
#include "vnc-dec.h"
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define W 1024
#define H 768
#define COLS (W / 8)
#define ROWS (H / 16)

typedef struct Bench {
    Machine *m;
    Console *con;
    VncClient *c;
    int fd;
    char dir[64];
    GByteArray *in;                 /* the server's bytes not yet parsed */
    size_t pos;
    uint32_t *fb;                   /* the client's picture */
    VncDec dec;
    int32_t enc;
    bool decode;
    /* totals */
    unsigned updates, rects;
    uint64_t bytes;
    double cpu_ms;
    char err[200];
} Bench;

typedef struct Scene {
    const char *name;
    unsigned frames, check_frames;
    void (*draw)(uint32_t *pic, unsigned frame);
} Scene;

/* ---- pictures ---- */

static uint32_t hash32(uint32_t x)
{
    x ^= x >> 16; x *= 0x7feb352d; x ^= x >> 15; x *= 0x846ca68b; x ^= x >> 16;
    return x;
}

static void text_cell(uint32_t *pic, int col, int row, uint8_t ch, uint32_t fg, uint32_t bg)
{
    for (int l = 0; l < 16; l++) {
        uint8_t bits = vga_font_8x16[ch * 16 + l];
        uint32_t *p = pic + (size_t)(row * 16 + l) * W + col * 8;
        for (int x = 0; x < 8; x++)
            p[x] = (bits >> (7 - x)) & 1 ? fg : bg;
    }
}

/* The screen after @printed lines: the last ROWS - 1 of them, the cursor below. */
static void draw_console(uint32_t *pic, unsigned printed)
{
    const uint32_t fg = 0xaaaaaa, bg = 0;
    for (size_t i = 0; i < (size_t)W * H; i++)
        pic[i] = bg;
    unsigned first = printed > ROWS - 1 ? printed - (ROWS - 1) : 0;
    for (unsigned n = first, row = 0; n < printed; n++, row++) {
        char line[COLS + 1];
        int len = snprintf(line, sizeof(line),
                           "line %u: the quick brown fox jumps over the lazy dog 0123456789", n);
        for (int col = 0; col < len && col < COLS; col++)
            text_cell(pic, col, row, (uint8_t)line[col], fg, bg);
    }
    unsigned crow = printed - first;                 /* underline cursor, column 0 */
    for (int l = 14; l < 16; l++)
        for (int x = 0; x < 8; x++)
            pic[(size_t)(crow * 16 + l) * W + x] = fg;
}

static void draw_scroll1(uint32_t *pic, unsigned frame) { draw_console(pic, 60 + frame); }
static void draw_scroll8(uint32_t *pic, unsigned frame) { draw_console(pic, 60 + 8 * frame); }

static void draw_fill(uint32_t *pic, unsigned frame)
{
    for (size_t i = 0; i < (size_t)W * H; i++)
        pic[i] = frame & 1 ? 0 : hash32(i * 2654435761u + frame) & 0xffffff;
}

static void rect(uint32_t *pic, int x, int y, int w, int h, uint32_t c)
{
    for (int j = MAX(y, 0); j < MIN(y + h, H); j++)
        for (int i = MAX(x, 0); i < MIN(x + w, W); i++)
            pic[(size_t)j * W + i] = c;
}

static void window(uint32_t *pic, int x, int y, int w, int h, unsigned seed)
{
    rect(pic, x - 1, y - 1, w + 2, h + 2, 0x202020);       /* border */
    for (int j = 0; j < 20; j++)                             /* title: 200-colour gradient */
        for (int i = 0; i < w; i++)
            if (x + i >= 0 && x + i < W && y + j < H)
                pic[(size_t)(y + j) * W + x + i] = (0x30 + i * 200 / w) << 16 | 0x40 << 8 | 0xa0;
    rect(pic, x, y + 20, w, h - 20, 0xf0f0f0);
    static const char *const text[] = {
        "File  Edit  View  Help", "The quick brown fox jumps over the lazy dog.",
        "0123456789 ABCDEFGHIJKLMNOPQRSTUVWXYZ", "Vireo VNC encoder benchmark",
    };
    for (int r = 0; r < 4; r++) {
        const char *s = text[(r + seed) % 4];
        for (int k = 0; s[k] && (k + 1) * 8 < w; k++) {
            int cx = x + 4 + k * 8, cy = y + 28 + r * 18;
            if (cx >= 0 && cx + 8 <= W && cy + 16 <= H)
                for (int l = 0; l < 16; l++) {
                    uint8_t bits = vga_font_8x16[(uint8_t)s[k] * 16 + l];
                    for (int b = 0; b < 8; b++)
                        if ((bits >> (7 - b)) & 1)
                            pic[(size_t)(cy + l) * W + cx + b] = 0x101010;
                }
        }
    }
}

static void draw_desktop(uint32_t *pic, unsigned frame)
{
    for (int y = 0; y < H; y++)                              /* background gradient */
        for (int x = 0; x < W; x++)
            pic[(size_t)y * W + x] = (y * 255 / H) << 8 | (255 - y * 255 / H);
    for (int y = 600; y < 700; y++)                          /* 20-colour stripes */
        for (int x = 0; x < 512; x++)
            pic[(size_t)y * W + x] = 0x0a0b0c * (((x / 7) + (y / 16)) % 20) + 0x101010;
    for (int k = 0; k < 8; k++)                              /* 8-colour icons */
        for (int y = 0; y < 48; y++)
            for (int x = 0; x < 48; x++)
                pic[(size_t)(16 + y + 64 * k) * W + 960 + x] =
                    (uint32_t)((x / 6 + y / 6 + k) % 8) * 0x1f1f1f;
    for (int y = 520; y < 720; y++)                          /* photo: noise */
        for (int x = 600; x < 900; x++)
            pic[(size_t)y * W + x] = (hash32(y * W + x) & 0x3f3f3f) | 0x806040;
    window(pic, 80, 60, 500, 300, 0);
    window(pic, 200 + 8 * (int)frame, 250, 420, 240, 1);     /* the moving one */
}

static const Scene scenes[] = {
    { "scroll1", 100, 12, draw_scroll1 },
    { "scroll8", 30, 6, draw_scroll8 },
    { "fill", 6, 4, draw_fill },
    { "desktop", 30, 6, draw_desktop },
};

/* ---- the client ---- */

static void pump(Bench *b)
{
    struct timespec t0, t1;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t0);
    for (int i = 0; i < 4; i++)
        g_main_context_iteration(NULL, FALSE);
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t1);
    b->cpu_ms += (t1.tv_sec - t0.tv_sec) * 1e3 + (t1.tv_nsec - t0.tv_nsec) / 1e6;
}

/* Reads what the socket has; false when nothing was there. */
static bool recv_some(Bench *b)
{
    uint8_t buf[65536];
    ssize_t n = recv(b->fd, buf, sizeof(buf), MSG_DONTWAIT);
    if (n <= 0)
        return false;
    g_byte_array_append(b->in, buf, n);
    return true;
}

static void send_all(Bench *b, const void *p, size_t n)
{
    if (send(b->fd, p, n, MSG_NOSIGNAL) != (ssize_t)n) {
        fprintf(stderr, "vnc-encbench: send failed\n");
        exit(1);
    }
}

/* Runs the server until it has nothing left to send and the socket is empty. */
static void settle(Bench *b)
{
    for (int idle = 0; idle < 3;) {
        pump(b);
        bool got = false;
        while (recv_some(b))
            got = true;
        bool busy = b->c->out->len || b->c->update_requested;
        idle = got || busy ? 0 : idle + 1;
        if (b->c->closing) {
            fprintf(stderr, "vnc-encbench: the server closed the client\n");
            exit(1);
        }
        if (!got && b->c->update_requested && !b->c->out->len)
            break;                              /* nothing dirty: no update */
    }
}

static bool rd_mem(void *opaque, void *buf, size_t n)
{
    Bench *b = opaque;
    if (b->in->len - b->pos < n)
        return false;
    memcpy(buf, b->in->data + b->pos, n);
    b->pos += n;
    return true;
}

static uint32_t be32(const uint8_t *p) { return (uint32_t)p[0] << 24 | p[1] << 16 | p[2] << 8 | p[3]; }
static uint16_t be16(const uint8_t *p) { return p[0] << 8 | p[1]; }

static void take(Bench *b, void *p, size_t n)
{
    if (!rd_mem(b, p, n)) {
        fprintf(stderr, "vnc-encbench: the server's reply is short\n");
        exit(1);
    }
}

static bool bench_open(Bench *b, int32_t enc)
{
    memset(b, 0, sizeof(*b));
    g_autoptr(GError) err = NULL;
    b->m = machine_new_test(0);
    b->con = console_new(b->m, NULL, 0, NULL, NULL);
    console_resize(b->con, W, H);
    g_strlcpy(b->dir, "/tmp/vireo-encbench-XXXXXX", sizeof(b->dir));
    if (!g_mkdtemp(b->dir))
        return false;
    g_autofree char *spec = g_strdup_printf("unix:%s/s", b->dir);
    if (!vnc_parse_option(b->m, spec, &err)) {
        fprintf(stderr, "vnc-encbench: %s\n", err->message);
        return false;
    }
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv))
        return false;
    b->c = vnc_client_new(vnc_find(b->m, NULL), sv[0]);
    b->fd = sv[1];
    b->in = g_byte_array_new();
    b->fb = g_new0(uint32_t, (size_t)W * H);
    b->enc = enc;
    b->decode = enc != ENC_TIGHT;
    vnc_dec_init(&b->dec);
    /* RFB 3.8, security None, shared; the server's default pixel format. */
    settle(b);
    uint8_t v[12];
    take(b, v, 12);
    send_all(b, "RFB 003.008\n", 12);
    settle(b);
    uint8_t n;
    take(b, &n, 1);
    uint8_t types[256];
    take(b, types, n);
    send_all(b, "\x01", 1);
    settle(b);
    take(b, types, 4);                                   /* SecurityResult */
    send_all(b, "\x01", 1);
    settle(b);
    uint8_t si[24];
    take(b, si, 24);
    uint8_t name[256];
    take(b, name, MIN(be32(si + 20), sizeof(name)));
    uint32_t e = (uint32_t)enc;
    uint8_t se[8] = { 2, 0, 0, 1, e >> 24, e >> 16, e >> 8, e };
    send_all(b, se, 8);
    settle(b);
    g_byte_array_set_size(b->in, 0);
    b->pos = 0;
    return true;
}

static void bench_close(Bench *b)
{
    vnc_dec_free(&b->dec);
    close(b->fd);
    vnc_cleanup(b->m);
    machine_free(b->m);
    rmdir(b->dir);
    g_byte_array_free(b->in, TRUE);
    g_free(b->fb);
}

/* Puts @pic on the surface, damaging each row's changed span. */
static void show(Bench *b, const uint32_t *pic)
{
    uint32_t *s = console_data(b->con);
    int stride = console_stride(b->con) / 4;
    for (int y = 0; y < H; y++) {
        uint32_t *d = s + (size_t)y * stride;
        const uint32_t *p = pic + (size_t)y * W;
        int x0 = 0, x1 = W;
        while (x0 < W && d[x0] == p[x0])
            x0++;
        if (x0 == W)
            continue;
        while (d[x1 - 1] == p[x1 - 1])
            x1--;
        memcpy(d + x0, p + x0, (size_t)(x1 - x0) * 4);
        console_damage(b->con, x0, y, x1 - x0, 1);
    }
}

/* One update: request, read it whole, count it, decode and compare. */
static bool update(Bench *b, bool incremental)
{
    uint8_t req[10] = { 3, incremental, 0, 0, 0, 0, W >> 8, W & 0xff, H >> 8, H & 0xff };
    send_all(b, req, 10);
    settle(b);
    size_t len = b->in->len;
    if (!len)
        return true;                                     /* nothing changed */
    uint8_t hdr[4];
    take(b, hdr, 4);
    if (hdr[0] != 0) {
        snprintf(b->err, sizeof(b->err), "message type %u, not an update", hdr[0]);
        return false;
    }
    unsigned n = be16(hdr + 2);
    b->updates++;
    b->rects += n;
    b->bytes += len;
    if (b->decode) {
        for (unsigned r = 0; r < n; r++) {
            uint8_t rh[12];
            take(b, rh, 12);
            if (!vnc_dec_rect(&b->dec, rd_mem, b, b->fb, W, H, be16(rh), be16(rh + 2),
                              be16(rh + 4), be16(rh + 6), (int32_t)be32(rh + 8))) {
                snprintf(b->err, sizeof(b->err), "decoding: %s", b->dec.err);
                return false;
            }
        }
        if (b->pos != len) {
            snprintf(b->err, sizeof(b->err), "%zu bytes after the update's last rectangle",
                     len - b->pos);
            return false;
        }
        const uint32_t *s = console_data(b->con);
        int stride = console_stride(b->con) / 4;
        for (int y = 0; y < H; y++)
            for (int x = 0; x < W; x++)
                if ((b->fb[(size_t)y * W + x] ^ s[(size_t)y * stride + x]) & 0xffffff) {
                    snprintf(b->err, sizeof(b->err), "pixel (%d,%d) is %06x, the console has %06x",
                             x, y, b->fb[(size_t)y * W + x] & 0xffffff,
                             s[(size_t)y * stride + x] & 0xffffff);
                    return false;
                }
    }
    g_byte_array_set_size(b->in, 0);
    b->pos = 0;
    return true;
}

static const struct { const char *name; int32_t enc; } encodings[] = {
    { "raw", ENC_RAW }, { "hextile", ENC_HEXTILE }, { "zrle", ENC_ZRLE }, { "tight", ENC_TIGHT },
};

int main(int argc, char **argv)
{
    bool check = argc > 1 && !strcmp(argv[1], "--check");
    int first = check ? 2 : 1;
    unsigned tap = 0, failed = 0, zrle_tiles[ZRLE_KINDS] = { 0 };
    uint32_t *pic = g_new(uint32_t, (size_t)W * H);
    if (!check)
        printf("%-8s %-8s %7s %7s %11s %10s %9s  %s\n", "scene", "encoding", "updates",
               "rects", "bytes", "bytes/upd", "cpu-ms", "zrle tiles (raw solid packed "
               "plain-rle palette-rle)");
    for (size_t s = 0; s < G_N_ELEMENTS(scenes); s++) {
        bool want = argc <= first;
        for (int i = first; i < argc; i++)
            want |= !strcmp(argv[i], scenes[s].name);
        if (!want)
            continue;
        unsigned frames = check ? scenes[s].check_frames : scenes[s].frames;
        for (size_t e = 0; e < G_N_ELEMENTS(encodings); e++) {
            Bench b;
            if (!bench_open(&b, encodings[e].enc)) {
                fprintf(stderr, "vnc-encbench: cannot set up the server\n");
                return 1;
            }
            /* The starting picture, sent whole and not counted. */
            scenes[s].draw(pic, 0);
            show(&b, pic);
            bool ok = update(&b, false);
            b.updates = b.rects = 0;
            b.bytes = 0;
            b.cpu_ms = 0;
            memset(b.dec.zrle_tiles, 0, sizeof(b.dec.zrle_tiles));
            for (unsigned f = 1; ok && f <= frames; f++) {
                scenes[s].draw(pic, f);
                show(&b, pic);
                ok = update(&b, true);
            }
            for (unsigned k = 0; k < ZRLE_KINDS; k++)
                zrle_tiles[k] += b.dec.zrle_tiles[k];
            if (check) {
                printf("%s %u - %s %s: %u updates %s (%llu bytes)%s%s\n",
                       ok ? "ok" : "not ok", ++tap, scenes[s].name, encodings[e].name,
                       b.updates, b.decode ? "decoded, equal to the console" : "counted, not decoded",
                       (unsigned long long)b.bytes, ok ? "" : ": ", ok ? "" : b.err);
                failed += !ok;
            } else {
                if (!ok) {
                    fprintf(stderr, "vnc-encbench: %s %s: %s\n", scenes[s].name,
                            encodings[e].name, b.err);
                    return 1;
                }
                printf("%-8s %-8s %7u %7u %11llu %10.0f %9.1f", scenes[s].name,
                       encodings[e].name, b.updates, b.rects, (unsigned long long)b.bytes,
                       b.updates ? (double)b.bytes / b.updates : 0.0, b.cpu_ms);
                if (encodings[e].enc == ENC_ZRLE)
                    for (unsigned k = 0; k < ZRLE_KINDS; k++)
                        printf(" %u", b.dec.zrle_tiles[k]);
                printf("\n");
            }
            fflush(stdout);
            bench_close(&b);
        }
    }
    if (check) {
        bool all = true;
        GString *seen = g_string_new("");
        for (unsigned k = 0; k < ZRLE_KINDS; k++) {
            all &= zrle_tiles[k] > 0;
            g_string_append_printf(seen, " %s %u", vnc_dec_zrle_kind(k), zrle_tiles[k]);
        }
        printf("%s %u - zrle: every subencoding sent and decoded:%s\n", all ? "ok" : "not ok",
               ++tap, seen->str);
        g_string_free(seen, TRUE);
        failed += !all;
        printf("1..%u\n", tap);
    }
    g_free(pic);
    return failed ? 1 : 0;
}
