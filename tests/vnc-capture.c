/*
 * vnc-capture: a small RFB 3.8 client for the display sandbox case and the benchmark.
 *
 *   vnc-capture ADDR [-p PASSWORD] [-o OUT.ppm] [-t TEXT] [-e raw|hextile|zrle]
 *               [-w SECONDS] [-z]
 *
 * ADDR is HOST:DISPLAY or unix:PATH. Connects (VNC authentication with -p), asks for the
 * whole screen in Raw or ZRLE, writes it as PPM (-o), types TEXT as key events
 * (-t; '\n' is Return), and with -w keeps requesting incremental updates for SECONDS,
 * printing "updates N bytes B" at the end (for bench/display.sh). Rectangles are
 * decoded by tests/vnc-dec.c (Raw, Hextile, ZRLE with all its subencodings).
 * -z prints ZRLE's tiles per subencoding ("zrle-tiles raw N solid N ...") at the end.
 * Exit status 0 on success, 1 with a message on stderr otherwise.
 */
#include "ui/vnc-int.h"
#include "vnc-dec.h"
#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

static int fd;
static uint64_t bytes_in;

static void die(const char *msg)
{
    fprintf(stderr, "vnc-capture: %s\n", msg);
    exit(1);
}

static void rd(void *p, size_t n)
{
    size_t got = 0;
    while (got < n) {
        ssize_t r = read(fd, (uint8_t *)p + got, n - got);
        if (r <= 0)
            die(r == 0 ? "connection closed" : strerror(errno));
        got += r;
    }
    bytes_in += n;
}

static void wr(const void *p, size_t n)
{
    if (write(fd, p, n) != (ssize_t)n)
        die("write failed");
}

static uint32_t r32(void) { uint8_t b[4]; rd(b, 4); return (uint32_t)b[0] << 24 | b[1] << 16 | b[2] << 8 | b[3]; }
static uint16_t r16(void) { uint8_t b[2]; rd(b, 2); return b[0] << 8 | b[1]; }
static uint8_t r8(void) { uint8_t b; rd(&b, 1); return b; }

static int connect_to(const char *addr)
{
    if (!strncmp(addr, "unix:", 5)) {
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", addr + 5);
        int s = socket(AF_UNIX, SOCK_STREAM, 0);
        if (connect(s, (struct sockaddr *)&sa, sizeof(sa)) < 0)
            die("cannot connect");
        return s;
    }
    const char *colon = strrchr(addr, ':');
    if (!colon)
        die("address must be HOST:DISPLAY or unix:PATH");
    char host[256], port[16];
    snprintf(host, sizeof(host), "%.*s", (int)(colon - addr), addr);
    snprintf(port, sizeof(port), "%d", 5900 + atoi(colon + 1));
    struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *res;
    if (getaddrinfo(*host ? host : "127.0.0.1", port, &hints, &res))
        die("cannot resolve host");
    int s = socket(res->ai_family, SOCK_STREAM, 0);
    if (connect(s, res->ai_addr, res->ai_addrlen) < 0)
        die("cannot connect");
    freeaddrinfo(res);
    return s;
}

static void handshake(const char *password, int *w, int *h)
{
    char v[13] = { 0 };
    rd(v, 12);
    if (strncmp(v, "RFB 003.", 8))
        die("not an RFB server");
    wr("RFB 003.008\n", 12);
    unsigned n = r8();
    if (!n) {
        char why[256] = { 0 };
        uint32_t l = r32();
        rd(why, l < 255 ? l : 255);
        die(why);
    }
    uint8_t types[256], want = password ? 2 : 1;
    rd(types, n);
    if (!memchr(types, want, n))
        die(password ? "server does not offer VNC authentication" : "server needs a password");
    wr(&want, 1);
    if (password) {
        uint8_t ch[16], resp[16];
        rd(ch, 16);
        vnc_des_response(password, ch, resp);
        wr(resp, 16);
    }
    if (r32() != 0) {
        char why[256] = { 0 };
        uint32_t l = r32();
        rd(why, l < 255 ? l : 255);
        die(why[0] ? why : "authentication failed");
    }
    wr("\x01", 1);
    *w = r16();
    *h = r16();
    uint8_t pf[16];
    rd(pf, 16);
    uint32_t l = r32();
    char name[256];
    rd(name, l < 256 ? l : 256);
    /* 32 bpp little-endian xRGB, as the default. */
    uint8_t spf[20] = { 0, 0, 0, 0, 32, 24, 0, 1, 0, 255, 0, 255, 0, 255, 16, 8, 0 };
    wr(spf, 20);
}

static void set_encodings(int32_t enc)
{
    int32_t e[] = { enc, ENC_RAW, ENC_DESKTOPSIZE, ENC_EXT_DESKTOPSIZE };
    uint8_t b[4 + 4 * 4] = { 2, 0, 0, 4 };
    for (int i = 0; i < 4; i++) {
        uint32_t v = (uint32_t)e[i];
        b[4 + 4 * i] = v >> 24; b[5 + 4 * i] = v >> 16; b[6 + 4 * i] = v >> 8; b[7 + 4 * i] = v;
    }
    wr(b, sizeof(b));
}

static void request(int incremental, int w, int h)
{
    uint8_t b[10] = { 3, incremental, 0, 0, 0, 0, w >> 8, w, h >> 8, h };
    wr(b, 10);
}

static bool rd_dec(void *opaque, void *p, size_t n)
{
    rd(p, n);                                    /* dies at end of stream */
    return true;
}

/* Reads one server message: the number of rectangles of a framebuffer update, -1 for
 * any other message. */
static int read_message(VncDec *d, uint32_t **fb, int *w, int *h)
{
    uint8_t t = r8();
    if (t == 2)                                  /* bell */
        return -1;
    if (t == 3) {                                /* server cut text */
        uint8_t pad[3];
        rd(pad, 3);
        uint32_t l = r32();
        while (l--)
            r8();
        return -1;
    }
    if (t != 0)
        die("unexpected server message");
    r8();
    int n = r16(), rects = 0;
    for (int r = 0; r < n; r++) {
        int x = r16(), y = r16(), rw = r16(), rh = r16();
        int32_t enc = (int32_t)r32();
        if (enc == ENC_DESKTOPSIZE || enc == ENC_EXT_DESKTOPSIZE) {
            if (enc == ENC_EXT_DESKTOPSIZE) {
                uint8_t hdr[4], scr[16];
                rd(hdr, 4);
                for (int s = 0; s < hdr[0]; s++)
                    rd(scr, 16);
            }
            *w = rw;
            *h = rh;
            if (rw > CONSOLE_MAX_DIM || rh > CONSOLE_MAX_DIM)
                die("desktop size over 16384 pixels");
            *fb = realloc(*fb, (size_t)rw * rh * 4 + 4);
            if (!*fb)
                die("out of memory");
            memset(*fb, 0, (size_t)rw * rh * 4);
            continue;
        }
        if (!vnc_dec_rect(d, rd_dec, NULL, *fb, *w, *h, x, y, rw, rh, enc))
            die(d->err);
        rects++;
    }
    return rects;
}

static void type_text(const char *t)
{
    for (; *t; t++) {
        uint32_t sym = *t == '\n' ? 0xff0d : (uint8_t)*t;
        for (int down = 1; down >= 0; down--) {
            uint8_t b[8] = { 4, down, 0, 0, sym >> 24, sym >> 16, sym >> 8, sym };
            wr(b, 8);
            usleep(20000);
        }
    }
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
    const char *password = NULL, *out = NULL, *text = NULL;
    int32_t enc = ENC_ZRLE;
    double watch = 0;
    bool tiles = false;
    if (argc < 2)
        die("usage: vnc-capture ADDR [-p PASSWORD] [-o OUT.ppm] [-t TEXT] [-e raw|hextile|zrle] [-w S] [-z]");
    for (int i = 2; i < argc; i++) {
        if (!strcmp(argv[i], "-z")) {
            tiles = true;
            continue;
        }
        if (i + 1 >= argc)
            die("option needs a value");
        if (!strcmp(argv[i], "-p")) password = argv[++i];
        else if (!strcmp(argv[i], "-o")) out = argv[++i];
        else if (!strcmp(argv[i], "-t")) text = argv[++i];
        else if (!strcmp(argv[i], "-w")) watch = atof(argv[++i]);
        else if (!strcmp(argv[i], "-e")) {
            i++;
            enc = !strcmp(argv[i], "raw") ? ENC_RAW : !strcmp(argv[i], "hextile") ? ENC_HEXTILE
                                                                          : ENC_ZRLE;
        } else die("unknown option");
    }
    fd = connect_to(argv[1]);
    int w, h;
    handshake(password, &w, &h);
    set_encodings(enc);
    uint32_t *fb = calloc((size_t)w * h, 4);
    VncDec dec;
    vnc_dec_init(&dec);
    request(0, w, h);
    /* The first update may hold only pseudo-rectangles (QEMU acknowledges encodings that
     * way): ask again until pixels come. */
    for (int r; (r = read_message(&dec, &fb, &w, &h)) <= 0;)
        if (r == 0)
            request(0, w, h);
    if (out) {
        FILE *f = fopen(out, "wb");
        if (!f)
            die("cannot write the output file");
        fprintf(f, "P6\n%d %d\n255\n", w, h);
        for (size_t i = 0; i < (size_t)w * h; i++) {
            uint8_t rgb[3] = { fb[i] >> 16, fb[i] >> 8, fb[i] };
            fwrite(rgb, 3, 1, f);
        }
        fclose(f);
    }
    if (text)
        type_text(text);
    if (watch > 0) {
        uint64_t updates = 0, start_bytes = bytes_in;
        double end = now_s() + watch, max_gap = 0, last = now_s();
        request(1, w, h);
        while (now_s() < end) {
            struct timeval tv = { 0, 100000 };
            fd_set rs;
            FD_ZERO(&rs);
            FD_SET(fd, &rs);
            if (select(fd + 1, &rs, NULL, NULL, &tv) <= 0)
                continue;
            if (read_message(&dec, &fb, &w, &h) >= 0) {
                double t = now_s();
                max_gap = MAX(max_gap, t - last);
                last = t;
                updates++;
                request(1, w, h);
            }
        }
        printf("updates %llu bytes %llu\n", (unsigned long long)updates,
               (unsigned long long)(bytes_in - start_bytes));
    }
    if (tiles) {
        printf("zrle-tiles");
        for (unsigned k = 0; k < ZRLE_KINDS; k++)
            printf(" %s %u", vnc_dec_zrle_kind(k), dec.zrle_tiles[k]);
        printf("\n");
    }
    vnc_dec_free(&dec);
    free(fb);
    close(fd);
    return 0;
}
