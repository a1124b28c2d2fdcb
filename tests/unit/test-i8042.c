/* i8042: what Linux's i8042/atkbd/psmouse probes do, the reset pulse and output port,
 * scancode translation, IRQ 1/12 edges, vmstate. */
#include "vireo/hw-isa.h"
#include "vireo/machine.h"
#include "vireo/input.h"
#include "device-fuzz.h"
#include <string.h>

typedef struct Irq {
    int level, raises;
} Irq;

typedef struct Fixture {
    Machine *m;
    Device *dev;
    Irq irq[MACHINE_NUM_GSI];
    int resets;
} Fixture;

static void irq_handler(void *opaque, int n, int level)
{
    Irq *irq = &((Irq *)opaque)[n];
    if (level && !irq->level)
        irq->raises++;
    irq->level = level;
}

static void on_reset(void *opaque) { (*(int *)opaque)++; }

static void setup(Fixture *f)
{
    memset(f, 0, sizeof(*f));
    f->m = machine_new_test(0);
    for (int i = 0; i < MACHINE_NUM_GSI; i++)
        f->m->gsi[i] = (IrqLine){ .handler = irq_handler, .opaque = f->irq, .n = i };
    f->dev = device_new(f->m, &i8042_class);
    i8042_set_reset_hook(f->dev, on_reset, &f->resets);
    GError *err = NULL;
    g_assert_true(machine_add_device(f->m, f->dev, &err));
    g_assert_no_error(err);
}

static uint8_t status(Fixture *f)
{
    uint64_t v = 0;
    as_read(f->m->io, 0x64, &v, 1);
    return v;
}

static void cmd(Fixture *f, uint8_t c) { as_write(f->m->io, 0x64, c, 1); }
static void data_out(Fixture *f, uint8_t d) { as_write(f->m->io, 0x60, d, 1); }

/* Reads one byte, which must be there (OBF), from the expected source. */
static uint8_t data_in(Fixture *f, bool aux)
{
    uint8_t st = status(f);
    g_assert_cmphex(st & 0x01, ==, 0x01);
    g_assert_cmphex(st & 0x20, ==, aux ? 0x20 : 0);
    uint64_t v = 0;
    as_read(f->m->io, 0x60, &v, 1);
    return v;
}

static void expect_bytes(Fixture *f, bool aux, const uint8_t *b, size_t n)
{
    for (size_t i = 0; i < n; i++)
        g_assert_cmphex(data_in(f, aux), ==, b[i]);
    g_assert_cmphex(status(f) & 0x01, ==, 0);
}

#define EXPECT(f, aux, ...) do { \
        static const uint8_t e_[] = { __VA_ARGS__ }; \
        expect_bytes((f), (aux), e_, sizeof(e_)); \
    } while (0)

static uint8_t read_mode(Fixture *f)
{
    cmd(f, 0x20);
    return data_in(f, false);
}

static void test_controller(void)
{
    Fixture f;
    setup(&f);
    g_assert_cmphex(status(&f), ==, 0x18);
    g_assert_cmphex(read_mode(&f), ==, 0x03);
    cmd(&f, 0xaa);
    EXPECT(&f, false, 0x55);
    g_assert_cmphex(status(&f) & 0x04, ==, 0x04);         /* system flag */
    cmd(&f, 0xab);
    EXPECT(&f, false, 0x00);
    cmd(&f, 0xa9);
    EXPECT(&f, false, 0x00);
    cmd(&f, 0xad);
    g_assert_cmphex(read_mode(&f) & 0x10, ==, 0x10);
    cmd(&f, 0xae);
    g_assert_cmphex(read_mode(&f) & 0x10, ==, 0);
    cmd(&f, 0xa7);                                         /* Linux's i8042_toggle_aux */
    g_assert_cmphex(read_mode(&f) & 0x20, ==, 0x20);
    cmd(&f, 0xa8);
    g_assert_cmphex(read_mode(&f) & 0x20, ==, 0);
    cmd(&f, 0x60);
    data_out(&f, 0x47);
    g_assert_cmphex(read_mode(&f), ==, 0x47);
    g_assert_cmphex(status(&f) & 0x08, ==, 0x08);          /* last write: command */
    cmd(&f, 0xc0);
    EXPECT(&f, false, 0x80);
    cmd(&f, 0xe0);
    EXPECT(&f, false, 0x00);
    g_assert_cmpint(f.resets, ==, 0);
    machine_free(f.m);
}

static void test_output_port_and_reset(void)
{
    Fixture f;
    setup(&f);
    cmd(&f, 0xd0);
    EXPECT(&f, false, 0xcf);
    g_assert_true(i8042_a20_enabled(f.dev));
    cmd(&f, 0xd1);
    data_out(&f, 0xcd);                                    /* A20 off, no reset */
    g_assert_false(i8042_a20_enabled(f.dev));
    g_assert_cmpint(f.resets, ==, 0);
    cmd(&f, 0xdf);
    g_assert_true(i8042_a20_enabled(f.dev));
    cmd(&f, 0xdd);
    g_assert_false(i8042_a20_enabled(f.dev));
    cmd(&f, 0xd1);
    data_out(&f, 0xce);                                    /* reset line low */
    g_assert_cmpint(f.resets, ==, 1);
    cmd(&f, 0xff);                                         /* pulse nothing */
    g_assert_cmpint(f.resets, ==, 1);
    cmd(&f, 0xfe);                                         /* pulse reset: the classic */
    g_assert_cmpint(f.resets, ==, 2);
    cmd(&f, 0xf0);
    g_assert_cmpint(f.resets, ==, 3);
    cmd(&f, 0xfd);                                         /* bit 1 only: no reset */
    g_assert_cmpint(f.resets, ==, 3);
    machine_free(f.m);
}

static void test_keyboard(void)
{
    Fixture f;
    setup(&f);
    data_out(&f, 0xff);                                    /* reset */
    g_assert_cmpint(f.irq[1].level, ==, 1);
    g_assert_cmpint(f.irq[12].level, ==, 0);
    EXPECT(&f, false, 0xfa, 0xaa);
    g_assert_cmpint(f.irq[1].raises, ==, 2);               /* one edge per byte */
    g_assert_cmpint(f.irq[1].level, ==, 0);
    data_out(&f, 0xf2);
    EXPECT(&f, false, 0xfa, 0xab, 0x83);
    data_out(&f, 0xed);
    data_out(&f, 0x07);
    EXPECT(&f, false, 0xfa, 0xfa);
    data_out(&f, 0xf0);
    data_out(&f, 0x00);
    EXPECT(&f, false, 0xfa, 0xfa, 0x02);
    data_out(&f, 0xf0);
    data_out(&f, 0x01);
    EXPECT(&f, false, 0xfa, 0xfa);
    g_assert_cmpuint(i8042_kbd_scancode_set(f.dev), ==, 1);
    data_out(&f, 0xee);
    EXPECT(&f, false, 0xee);
    data_out(&f, 0x12);                                    /* not a command */
    EXPECT(&f, false, 0xfe);
    data_out(&f, 0xf4);
    EXPECT(&f, false, 0xfa);
    /* keys: untranslated set 2 */
    i8042_kbd_put_scancode(f.dev, 0x1c);
    i8042_kbd_put_scancode(f.dev, 0xf0);
    i8042_kbd_put_scancode(f.dev, 0x1c);
    EXPECT(&f, false, 0x1c, 0xf0, 0x1c);
    /* translated to set 1 by the controller (command byte XLATE) */
    cmd(&f, 0x60);
    data_out(&f, 0x43);
    i8042_kbd_put_scancode(f.dev, 0x1c);
    i8042_kbd_put_scancode(f.dev, 0xe0);
    i8042_kbd_put_scancode(f.dev, 0x75);
    i8042_kbd_put_scancode(f.dev, 0xf0);
    i8042_kbd_put_scancode(f.dev, 0x1c);
    EXPECT(&f, false, 0x1e, 0xe0, 0x48, 0x9e);
    /* The same through ui/ input routing (qcodes, as send-key and VNC send them), with
     * the keyboard back in scan code set 2. */
    data_out(&f, 0xf0);
    data_out(&f, 0x02);
    EXPECT(&f, false, 0xfa, 0xfa);
    input_key(f.m, Q_KEY_CODE_A, true);
    input_key(f.m, Q_KEY_CODE_UP, true);
    input_key(f.m, Q_KEY_CODE_A, false);
    input_key(f.m, Q_KEY_CODE_F7, true);
    EXPECT(&f, false, 0x1e, 0xe0, 0x48, 0x9e, 0x41);
    data_out(&f, 0xf2);                                    /* translated keyboard ID */
    EXPECT(&f, false, 0xfa, 0xab, 0x41);
    /* disabled keyboard port: bytes wait; scanning off: keys dropped */
    cmd(&f, 0xad);
    i8042_kbd_put_scancode(f.dev, 0x1c);
    g_assert_cmphex(status(&f) & 0x01, ==, 0);
    cmd(&f, 0xae);
    EXPECT(&f, false, 0x1e);
    data_out(&f, 0xf5);
    EXPECT(&f, false, 0xfa);
    i8042_kbd_put_scancode(f.dev, 0x1c);
    g_assert_cmphex(status(&f) & 0x01, ==, 0);
    /* interrupts off in the command byte: no IRQ 1 */
    cmd(&f, 0x60);
    data_out(&f, 0x00);
    data_out(&f, 0xee);
    g_assert_cmpint(f.irq[1].level, ==, 0);
    EXPECT(&f, false, 0xee);
    machine_free(f.m);
}

static void aux_out(Fixture *f, uint8_t b)
{
    cmd(f, 0xd4);
    data_out(f, b);
}

static void test_mouse(void)
{
    Fixture f;
    setup(&f);
    cmd(&f, 0xd3);                                         /* Linux's AUX_LOOP test */
    data_out(&f, 0x5a);
    g_assert_cmpint(f.irq[12].level, ==, 1);
    g_assert_cmpint(f.irq[1].level, ==, 0);
    EXPECT(&f, true, 0x5a);
    g_assert_cmpint(f.irq[12].level, ==, 0);
    aux_out(&f, 0xff);
    EXPECT(&f, true, 0xfa, 0xaa, 0x00);
    aux_out(&f, 0xf2);
    EXPECT(&f, true, 0xfa, 0x00);
    aux_out(&f, 0xf3);
    aux_out(&f, 200);
    EXPECT(&f, true, 0xfa, 0xfa);
    aux_out(&f, 0xe9);
    EXPECT(&f, true, 0xfa, 0x00, 0x02, 200);
    i8042_mouse_event(f.dev, 5, -3, 1);                    /* not enabled yet */
    g_assert_cmphex(status(&f) & 0x01, ==, 0);
    aux_out(&f, 0xf4);
    EXPECT(&f, true, 0xfa);
    i8042_mouse_event(f.dev, 5, -3, 1);
    EXPECT(&f, true, 0x29, 0x05, 0xfd);
    i8042_mouse_event(f.dev, 1000, 0, 0);                  /* clamped */
    EXPECT(&f, true, 0x08, 0xff, 0x00);
    aux_out(&f, 0x00);
    EXPECT(&f, true, 0xfe);
    /* controller replies come before queued device bytes */
    aux_out(&f, 0xf2);
    cmd(&f, 0x20);
    uint8_t first = data_in(&f, true);                     /* already in the buffer */
    g_assert_cmphex(first, ==, 0xfa);
    g_assert_cmphex(data_in(&f, false), ==, 0x03);
    EXPECT(&f, true, 0x00);
    machine_free(f.m);
}

static void test_reset_and_vmstate(void)
{
    Fixture f, g;
    setup(&f);
    setup(&g);
    const VMStateDesc *d = i8042_class.vmsd;
    GByteArray *out = g_byte_array_new();
    vmstate_save(d, device_state(f.dev), out);
    g_assert_cmpuint(out->len, ==, vmstate_size(d));
    static const uint8_t head[] = { 5, 'i', '8', '0', '4', '2', 1, 0, 0, 0, 159, 0, 0, 0,
                                    0x18, 0x03, 0xcf };
    g_assert_cmpuint(out->len, ==, 14 + 159);
    g_assert_cmpmem(out->data, sizeof(head), head, sizeof(head));
    g_byte_array_set_size(out, 0);
    data_out(&f, 0xf2);                                    /* bytes in flight */
    cmd(&f, 0x60);
    data_out(&f, 0x47);
    vmstate_save(d, device_state(f.dev), out);
    GError *err = NULL;
    g_assert_cmpint(vmstate_load(d, device_state(g.dev), out->data, out->len, &err), ==,
                    out->len);
    g_assert_no_error(err);
    i8042_class.post_load(g.dev);                         /* the loaded OBF interrupts */
    g_assert_cmpint(g.irq[1].level, ==, 1);
    EXPECT(&g, false, 0xfa, 0xab, 0x41);
    g_assert_cmphex(read_mode(&g), ==, 0x47);
    machine_reset_devices(f.m);
    g_assert_cmphex(status(&f), ==, 0x18);
    g_assert_cmphex(read_mode(&f), ==, 0x03);
    g_byte_array_free(out, TRUE);
    machine_free(f.m);
    machine_free(g.m);
}

static void fuzz(void)
{
    Fixture f;
    setup(&f);
    fuzz_ports(f.m, f.dev, 0x60, 5, 20000);
    for (int i = 0; i < 100; i++) {
        i8042_kbd_put_scancode(f.dev, i);
        i8042_mouse_event(f.dev, i, -i, i);
    }
    machine_free(f.m);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/i8042/controller", test_controller);
    g_test_add_func("/i8042/output-port-reset", test_output_port_and_reset);
    g_test_add_func("/i8042/keyboard", test_keyboard);
    g_test_add_func("/i8042/mouse", test_mouse);
    g_test_add_func("/i8042/reset-vmstate", test_reset_and_vmstate);
    g_test_add_func("/i8042/fuzz", fuzz);
    return g_test_run();
}
