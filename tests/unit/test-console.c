/*
 * ui/ core: console surfaces, damage fan-out to listeners, resize, screendump files,
 * input routing and key tables.
 */
#include "vireo/console.h"
#include "vireo/input.h"
#include "vireo/machine.h"
#include <string.h>
#include <unistd.h>

typedef struct Rec {
    DisplayListener l;
    int updates, resizes, refreshes;
    int x0, y0, x1, y1;
} Rec;

static void rec_update(DisplayListener *l, int x, int y, int w, int h)
{
    Rec *r = (Rec *)l;
    r->updates++;
    r->x0 = MIN(r->x0, x);
    r->y0 = MIN(r->y0, y);
    r->x1 = MAX(r->x1, x + w);
    r->y1 = MAX(r->y1, y + h);
}
static void rec_resize(DisplayListener *l) { ((Rec *)l)->resizes++; }
static void rec_refresh(DisplayListener *l) { ((Rec *)l)->refreshes++; }
static const DisplayListenerOps rec_ops = {
    .update = rec_update, .resize = rec_resize, .refresh = rec_refresh,
};

static void rec_init(Rec *r)
{
    memset(r, 0, sizeof(*r));
    r->l.ops = &rec_ops;
    r->x0 = r->y0 = 1 << 30;
}

static void test_damage_and_resize(void)
{
    Machine *m = machine_new_test(0);
    Console *c = console_new(m, NULL, 0, NULL, NULL);
    Rec a, b;
    rec_init(&a);
    rec_init(&b);
    console_add_listener(c, &a.l);
    console_add_listener(c, &b.l);
    g_assert_cmpint(console_width(c), ==, 640);
    console_damage(c, -10, -10, 20, 30);        /* clipped to the surface */
    g_assert_cmpint(a.updates, ==, 1);
    g_assert_cmpint(b.updates, ==, 1);
    g_assert_cmpint(a.x0, ==, 0);
    g_assert_cmpint(a.y1, ==, 20);
    console_damage(c, 700, 10, 5, 5);           /* outside: nothing */
    g_assert_cmpint(a.updates, ==, 1);
    g_assert_true(console_resize(c, 800, 600));
    g_assert_cmpint(a.resizes, ==, 1);
    g_assert_true(console_resize(c, 800, 600)); /* same size: no event */
    g_assert_cmpint(a.resizes, ==, 1);
    g_assert_false(console_resize(c, 100000, 100000));   /* clamped */
    g_assert_cmpint((int64_t)console_width(c) * console_height(c) * 4, <=,
                    CONSOLE_MAX_BYTES);
    /* The refresh timer runs while a listener is registered. */
    vclock_step(m->clock, CONSOLE_REFRESH_NS * 3);
    g_assert_cmpint(a.refreshes, >=, 3);
    console_remove_listener(&a.l);
    console_remove_listener(&b.l);
    int before = a.refreshes;
    vclock_step(m->clock, CONSOLE_REFRESH_NS * 3);
    g_assert_cmpint(a.refreshes, ==, before);
    machine_free(m);
}

static void test_screendump_files(void)
{
    Machine *m = machine_new_test(0);
    Console *c = console_new(m, NULL, 0, NULL, NULL);
    console_resize(c, 4, 2);
    uint32_t *d = console_data(c);
    d[0] = 0xff0000;
    d[1] = 0x00ff00;
    d[5] = 0x0000ff;
    g_autofree char *dir = g_dir_make_tmp("vireo-console-XXXXXX", NULL);
    g_autofree char *ppm = g_build_filename(dir, "a.ppm", NULL);
    g_autofree char *png = g_build_filename(dir, "a.png", NULL);
    g_autoptr(GError) err = NULL;
    g_assert_true(console_write_ppm(c, ppm, &err));
    g_autofree char *buf = NULL;
    gsize len;
    g_assert_true(g_file_get_contents(ppm, &buf, &len, NULL));
    const char hdr[] = "P6\n4 2\n255\n";
    g_assert_cmpuint(len, ==, strlen(hdr) + 4 * 2 * 3);
    g_assert_cmpint(memcmp(buf, hdr, strlen(hdr)), ==, 0);
    const uint8_t *px = (const uint8_t *)buf + strlen(hdr);
    g_assert_cmpint(px[0], ==, 0xff);
    g_assert_cmpint(px[4], ==, 0xff);
    g_assert_cmpint(px[5 * 3 + 2], ==, 0xff);
    g_assert_true(console_write_png(c, png, &err));
    g_autofree char *pbuf = NULL;
    g_assert_true(g_file_get_contents(png, &pbuf, &len, NULL));
    g_assert_cmpint(memcmp(pbuf, "\x89PNG\r\n\x1a\n", 8), ==, 0);
    /* A file that cannot be created is an error naming it. */
    g_autofree char *bad = g_build_filename(dir, "no/such/dir.ppm", NULL);
    g_assert_false(console_write_ppm(c, bad, &err));
    g_assert_nonnull(strstr(err->message, bad));
    unlink(ppm);
    unlink(png);
    rmdir(dir);
    machine_free(m);
}

typedef struct Sink {
    InputHandler h;
    int keys, last_key, last_down, ptrs;
    InputPointer last;
    bool ready;
} Sink;

static void sink_key(void *o, QKeyCode k, bool down)
{
    Sink *s = o;
    s->keys++;
    s->last_key = k;
    s->last_down = down;
}
static void sink_ptr(void *o, const InputPointer *p) { ((Sink *)o)->ptrs++; ((Sink *)o)->last = *p; }
static bool sink_ready(void *o) { return ((Sink *)o)->ready; }

static void test_input_routing(void)
{
    Machine *m = machine_new_test(0);
    Sink kbd = { .h = { .name = "kbd", .mask = INPUT_MASK_KEY, .key = sink_key } };
    Sink mouse = { .h = { .name = "mouse", .mask = INPUT_MASK_REL, .pointer = sink_ptr } };
    Sink tab = { .h = { .name = "tablet", .mask = INPUT_MASK_ABS, .pointer = sink_ptr,
                        .ready = sink_ready } };
    kbd.h.opaque = &kbd;
    mouse.h.opaque = &mouse;
    tab.h.opaque = &tab;
    input_register(m, &kbd.h);
    input_register(m, &mouse.h);
    input_register(m, &tab.h);
    input_key(m, Q_KEY_CODE_A, true);
    g_assert_cmpint(kbd.last_key, ==, Q_KEY_CODE_A);
    input_key(m, Q_KEY_CODE__MAX + 5, true);    /* out of range: dropped */
    g_assert_cmpint(kbd.keys, ==, 1);
    /* Tablet not ready: absolute moves become relative ones for the mouse. */
    g_assert_false(input_is_absolute(m));
    input_pointer(m, &(InputPointer){ .abs = true, .x = 0, .y = 0 });
    input_pointer(m, &(InputPointer){ .abs = true, .x = INPUT_ABS_MAX, .y = 0 });
    g_assert_cmpint(mouse.ptrs, ==, 2);
    g_assert_false(mouse.last.abs);
    g_assert_cmpint(mouse.last.x, ==, 1024);
    tab.ready = true;
    g_assert_true(input_is_absolute(m));
    input_pointer(m, &(InputPointer){ .abs = true, .x = 1 << 20, .y = -5 });
    g_assert_cmpint(tab.ptrs, ==, 1);
    g_assert_cmpint(tab.last.x, ==, INPUT_ABS_MAX);   /* clamped */
    g_assert_cmpint(tab.last.y, ==, 0);
    /* Queued keys: the release waits for the hold time. */
    g_assert_true(input_queue_key(m, Q_KEY_CODE_B, true));
    g_assert_true(input_queue_delay(m, 100));
    g_assert_true(input_queue_key(m, Q_KEY_CODE_B, false));
    g_assert_cmpint(kbd.last_down, ==, 1);
    vclock_step(m->clock, 99 * 1000000LL);
    g_assert_cmpint(kbd.last_down, ==, 1);
    vclock_step(m->clock, 2 * 1000000LL);
    g_assert_cmpint(kbd.last_down, ==, 0);
    input_unregister(m, &tab.h);
    machine_free(m);
}

static void test_keymaps(void)
{
    g_assert_cmpuint(qcode_to_qnum(Q_KEY_CODE_A), ==, 0x1e);
    g_assert_cmpuint(qcode_to_qnum(Q_KEY_CODE_UP), ==, 0xc8);
    g_assert_cmpint(qnum_to_qcode(0x1c), ==, Q_KEY_CODE_RET);
    g_assert_cmpint(qnum_to_qcode(0x9c), ==, Q_KEY_CODE_KP_ENTER);
    g_assert_cmpint(qnum_to_qcode(0x1000), ==, Q_KEY_CODE_UNMAPPED);
    g_assert_cmpuint(qcode_to_linux(Q_KEY_CODE_ESC), ==, 1);
    g_assert_cmpuint(qcode_to_linux(Q_KEY_CODE_UP), ==, 103);
    g_assert_cmpint(keysym_to_qcode('A'), ==, Q_KEY_CODE_A);
    g_assert_cmpint(keysym_to_qcode('!'), ==, Q_KEY_CODE_1);
    g_assert_cmpint(keysym_to_qcode(0xff0d), ==, Q_KEY_CODE_RET);
    g_assert_cmpint(keysym_to_qcode(0x12345678), ==, Q_KEY_CODE_UNMAPPED);
    g_assert_cmpstr(qcode_name(Q_KEY_CODE_SHIFT_R), ==, "shift_r");
    g_assert_cmpint(qcode_from_name("kp_enter"), ==, Q_KEY_CODE_KP_ENTER);
    g_assert_cmpint(qcode_from_name("nope"), ==, Q_KEY_CODE__MAX);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/console/damage-resize", test_damage_and_resize);
    g_test_add_func("/console/screendump", test_screendump_files);
    g_test_add_func("/console/input-routing", test_input_routing);
    g_test_add_func("/console/keymaps", test_keymaps);
    return g_test_run();
}
