/*
 * Host test helper for real VNC clients (tests/display/test-vnc-clients.py): a test
 * machine whose 640x480 console shows a fixed picture (a noisy gradient with far more
 * colours than a palette, a solid block, two-colour stripes, eight greys), served by the
 * VNC server as -vnc SPEC would. Writes the picture as PPM to OUT.ppm, prints READY, runs
 * the main loop until EOF on stdin. Usage: vnc-show SPEC OUT.ppm
 */
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include "vireo/console.h"
#include "vireo/machine.h"
#include "vireo/vnc.h"

#define W 640
#define H 480

static uint32_t pixel(int x, int y)
{
    if (y < 240) {
        int n = (int)((x * 7919u + y * 104729u) % 13) - 6;
        int r = CLAMP(x * 255 / W + n, 0, 255), g = CLAMP(y * 255 / 240 + n, 0, 255);
        int b = CLAMP(128 + (x - y) / 4 + n, 0, 255);
        return r << 16 | g << 8 | b;
    }
    if (y >= 384) {                   /* the last 96 rows: ZRLE's RLE subencodings */
        if (x < 320)                  /* 20 colours in runs of 7: palette RLE */
            return 0x0b0d0f * ((x / 7 + y / 16) % 20) + 0x101010;
        /* two runs of 32 per tile row, 128 colours a tile: plain RLE (and few enough
         * for Tight's palette: lossless there even with JPEG allowed) */
        return (uint32_t)((y % 64) * 2 + (x / 32) % 2) * 0x020103;
    }
    if (x < 256)
        return 0x2050a0;
    if (x < 448)
        return (x / 3 + y / 5) & 1 ? 0xffffff : 0x101010;
    return 0x10101 * ((x / 4 + y / 4) % 8) * 30;
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: vnc-show SPEC OUT.ppm\n");
        return 2;
    }
    Machine *m = machine_new_test(0);
    Console *c = console_new(m, NULL, 0, NULL, NULL);
    GError *err = NULL;
    console_resize(c, W, H);
    uint32_t *px = console_data(c);
    int stride = console_stride(c) / 4;
    FILE *f = fopen(argv[2], "wb");
    if (!f) {
        perror(argv[2]);
        return 1;
    }
    fprintf(f, "P6\n%d %d\n255\n", W, H);
    for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x++) {
            uint32_t p = pixel(x, y);
            px[y * stride + x] = p;
            fputc(p >> 16, f);
            fputc((p >> 8) & 0xff, f);
            fputc(p & 0xff, f);
        }
    fclose(f);
    console_damage(c, 0, 0, W, H);
    if (!vnc_parse_option(m, argv[1], &err)) {
        fprintf(stderr, "vnc-show: %s\n", err->message);
        return 1;
    }
    printf("READY\n");
    fflush(stdout);
    for (;;) {
        struct pollfd p = { .fd = 0, .events = POLLIN };
        if (poll(&p, 1, 0) > 0) {
            char b[64];
            if (read(0, b, sizeof(b)) <= 0)
                break;
        }
        g_main_context_iteration(NULL, FALSE);
        usleep(2000);
    }
    vnc_cleanup(m);
    machine_free(m);
    return 0;
}
