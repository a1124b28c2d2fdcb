/*
 * Host test helper for the SDL window (tests/display/test-sdl-xvfb.py): a test machine
 * whose console shows two text lines (the 8x16 VGA font, doubled), opened with
 * sdl_display_init() as -display sdl does, then refreshed every 30 ms as the console
 * timer would. Prints READY once the window is up, "KEY <qcode> <down>" for every key
 * the window hands to the guest, and "SIZE WxH" after the console is resized (on
 * "resize" from stdin). Ends at EOF on stdin. Usage: sdl-show [full-screen]
 */
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include "vireo/console.h"
#include "vireo/input.h"
#include "vireo/machine.h"
#include "vireo/sdl.h"
#include "../ui/vgafont.h"

static const char *const lines[] = { "VIREO SDL WINDOW", "MARKER ECHO FOXTROT 4713" };

static void draw(Console *c)
{
    uint32_t *px = console_data(c);
    int stride = console_stride(c) / 4, w = console_width(c), h = console_height(c);

    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++)
            px[y * stride + x] = 0x000020;
    for (unsigned l = 0; l < G_N_ELEMENTS(lines); l++) {
        for (size_t i = 0; lines[l][i]; i++) {
            const uint8_t *g = vga_font_8x16 + 16 * (uint8_t)lines[l][i];
            for (int gy = 0; gy < 32; gy++)
                for (int gx = 0; gx < 16; gx++) {
                    int x = 32 + (int)i * 16 + gx, y = 48 + (int)l * 64 + gy;
                    if (x < w && y < h && (g[gy / 2] & (0x80 >> (gx / 2))))
                        px[y * stride + x] = 0xffffff;
                }
        }
    }
    console_damage(c, 0, 0, w, h);
}

static void on_key(void *opaque, QKeyCode key, bool down)
{
    printf("KEY %s %d\n", qcode_name(key), down);
    fflush(stdout);
}

int main(int argc, char **argv)
{
    Machine *m = machine_new_test(0);
    Console *c = console_new(m, NULL, 0, NULL, NULL);
    InputHandler kbd = { .name = "test keyboard", .mask = INPUT_MASK_KEY, .key = on_key };
    SdlOptions o = { .window_close = true,
                     .full_screen = argc > 1 && !strcmp(argv[1], "full-screen") };
    GError *err = NULL;
    char buf[256];

    console_resize(c, 720, 400);
    draw(c);
    input_register(m, &kbd);
    if (!sdl_display_init(m, &o, &err)) {
        fprintf(stderr, "sdl-show: %s\n", err->message);
        return 1;
    }
    fcntl(0, F_SETFL, O_NONBLOCK);
    for (int n = 0;; n++) {
        struct pollfd p = { .fd = 0, .events = POLLIN };
        console_refresh(c);
        if (n == 20) {
            printf("READY\n");
            fflush(stdout);
        }
        if (poll(&p, 1, 30) > 0) {
            ssize_t r = read(0, buf, sizeof(buf) - 1);
            if (r == 0)
                break;
            if (r > 0 && !strncmp(buf, "resize", 6)) {
                console_resize(c, 800, 600);
                draw(c);
                printf("SIZE %dx%d\n", console_width(c), console_height(c));
                fflush(stdout);
            }
        }
    }
    sdl_display_cleanup(m);
    input_unregister(m, &kbd);
    console_free_all(m);
    machine_free(m);
    return 0;
}
