/* isa-serial (16550A): the registers and interrupt behaviour Linux's 8250 driver
 * relies on, FIFOs and flow control both ways, loopback, break, vmstate. */
#include "vireo/hw-isa.h"
#include "vireo/machine.h"
#include <errno.h>
#include "device-fuzz.h"
#include <string.h>
#include <unistd.h>

#define COM1 0x3f8
#define RBR 0
#define THR 0
#define IER 1
#define IIR 2
#define FCR 2
#define LCR 3
#define MCR 4
#define LSR 5
#define MSR 6
#define SCR 7

typedef struct Irq {
    int level, raises, lowers;
} Irq;

static void irq_handler(void *opaque, int n, int level)
{
    Irq *irq = &((Irq *)opaque)[n];
    if (level && !irq->level)
        irq->raises++;
    if (!level && irq->level)
        irq->lowers++;
    irq->level = level;
}

typedef struct Fixture {
    Machine *m;
    Irq irq[MACHINE_NUM_GSI];
    Chardev *chr;
    Device *dev;
} Fixture;

static void fixture_irqs(Fixture *f)
{
    memset(f->irq, 0, sizeof(f->irq));
    for (int i = 0; i < MACHINE_NUM_GSI; i++)
        f->m->gsi[i] = (IrqLine){ .handler = irq_handler, .opaque = f->irq, .n = i };
}

static Device *add_serial(Machine *m, const char *opts, GError **errp)
{
    Device *d = device_new(m, &serial_isa_class);
    if (!device_set_props(d, opts, errp)) {
        device_free(d);
        return NULL;
    }
    return machine_add_device(m, d, errp) ? d : NULL;
}

/* COM1 on a ringbuf chardev (or @chr when given). */
static void setup(Fixture *f, Chardev *chr)
{
    f->m = machine_new_test(0);
    fixture_irqs(f);
    f->chr = chr ? chr : chr_new("ringbuf,id=con", NULL, NULL);
    g_assert_true(chr_registry_add(f->m->chardevs, f->chr, NULL));
    g_autofree char *opts = g_strdup_printf("index=0,chardev=%s", chr_id(f->chr));
    GError *err = NULL;
    f->dev = add_serial(f->m, opts, &err);
    g_assert_no_error(err);
}

static void teardown(Fixture *f)
{
    machine_free(f->m);
}

static uint8_t in8(Fixture *f, unsigned reg)
{
    uint64_t v = 0;
    g_assert_true(as_read(f->m->io, COM1 + reg, &v, 1));
    return v;
}

static void out8(Fixture *f, unsigned reg, uint8_t v)
{
    g_assert_true(as_write(f->m->io, COM1 + reg, v, 1));
}

static size_t output(Fixture *f, char *buf, size_t max)
{
    size_t n = chr_ringbuf_read(f->chr, (uint8_t *)buf, max - 1);
    buf[n] = '\0';
    return n;
}

/* THR writes may be coalesced only while nothing but a later access can see them. */
static void test_coalescing(void)
{
    Fixture f;
    setup(&f, NULL);
    MemRegion *r = as_find(f.m->io, COM1);
    g_assert_nonnull(r);
    g_assert_cmpuint(r->coalesce_off, ==, 0);
    g_assert_cmpuint(r->coalesce_len, ==, 1);      /* after reset: IER 0, DLAB 0, no loop */
    out8(&f, IER, 0x02);                           /* THRE interrupt on */
    g_assert_cmpuint(r->coalesce_len, ==, 0);
    out8(&f, IER, 0x01);                           /* only RX data */
    g_assert_cmpuint(r->coalesce_len, ==, 1);
    out8(&f, LCR, 0x83);                           /* offset 0 is the divisor latch */
    g_assert_cmpuint(r->coalesce_len, ==, 0);
    out8(&f, LCR, 0x03);
    g_assert_cmpuint(r->coalesce_len, ==, 1);
    out8(&f, MCR, 0x18);                           /* loopback: THR feeds RBR */
    g_assert_cmpuint(r->coalesce_len, ==, 0);
    out8(&f, MCR, 0x08);
    g_assert_cmpuint(r->coalesce_len, ==, 1);
    out8(&f, 0, 'x');                              /* a THR write itself changes nothing */
    g_assert_cmpuint(r->coalesce_len, ==, 1);
    teardown(&f);
}

static void test_reset_values(void)
{
    Fixture f;
    setup(&f, NULL);
    g_assert_cmphex(in8(&f, LSR), ==, 0x60);
    g_assert_cmphex(in8(&f, IIR), ==, 0x01);
    g_assert_cmphex(in8(&f, MSR), ==, 0xb0);
    g_assert_cmphex(in8(&f, MCR), ==, 0x08);
    g_assert_cmphex(in8(&f, LCR), ==, 0x00);
    g_assert_cmphex(in8(&f, IER), ==, 0x00);
    out8(&f, LCR, 0x80);                       /* DLAB: divisor 12 = 9600 baud */
    g_assert_cmphex(in8(&f, 0), ==, 12);
    g_assert_cmphex(in8(&f, 1), ==, 0);
    out8(&f, 0, 1);                            /* 115200 */
    out8(&f, 1, 0);
    out8(&f, LCR, 0x03);                       /* 8n1 */
    g_assert_cmphex(in8(&f, LCR), ==, 0x03);
    out8(&f, SCR, 0x5a);
    g_assert_cmphex(in8(&f, SCR), ==, 0x5a);
    g_assert_cmpint(f.irq[4].level, ==, 0);
    teardown(&f);
}

/* What serial8250 autoconfig() probes before calling the port a 16550A. */
static void test_linux_autoconfig(void)
{
    Fixture f;
    setup(&f, NULL);
    out8(&f, LCR, 0);
    out8(&f, IER, 0);
    g_assert_cmphex(in8(&f, IER) & 0x0f, ==, 0);
    out8(&f, IER, 0x0f);
    g_assert_cmphex(in8(&f, IER) & 0x0f, ==, 0x0f);
    out8(&f, IER, 0);
    out8(&f, MCR, 0x10 | 0x0a);                /* loopback, RTS, OUT2 */
    g_assert_cmphex(in8(&f, MSR) & 0xf0, ==, 0x90);
    out8(&f, MCR, 0x08);
    out8(&f, FCR, 0x01);                       /* FIFO enable */
    g_assert_cmphex(in8(&f, IIR) >> 6, ==, 3);  /* 16550A */
    out8(&f, LCR, 0xbf);                       /* no EFR behind LCR=0xbf (not a 16650) */
    g_assert_cmphex(in8(&f, IIR), !=, 0);
    out8(&f, LCR, 0);
    out8(&f, FCR, 0x01 | 0x20);                /* 64-byte FIFO bit: not a 16750 */
    g_assert_cmphex(in8(&f, IIR) & 0x20, ==, 0);
    out8(&f, IER, 0x40);                       /* UUE does not stick: not an XScale */
    g_assert_cmphex(in8(&f, IER) & 0x40, ==, 0);
    teardown(&f);
}

static void test_transmit_and_thre(void)
{
    Fixture f;
    char buf[64];
    setup(&f, NULL);
    out8(&f, FCR, 0x07);
    for (const char *p = "hello"; *p; p++)
        out8(&f, THR, *p);
    output(&f, buf, sizeof(buf));
    g_assert_cmpstr(buf, ==, "hello");
    g_assert_cmphex(in8(&f, LSR) & 0x60, ==, 0x60);
    /* Enabling ETBEI with THR empty interrupts at once */
    out8(&f, IER, 0x02);
    g_assert_cmpint(f.irq[4].level, ==, 1);
    g_assert_cmphex(in8(&f, IIR), ==, 0xc2);
    /* ... reading IIR acknowledged it */
    g_assert_cmpint(f.irq[4].level, ==, 0);
    g_assert_cmphex(in8(&f, IIR), ==, 0xc1);
    /* the UART_BUG_THRE probe: IER off and on again re-arms it */
    out8(&f, IER, 0);
    out8(&f, IER, 0x02);
    g_assert_cmphex(in8(&f, IIR), ==, 0xc2);
    /* a THR write clears it; the byte leaving sets it again */
    int raises = f.irq[4].raises;
    out8(&f, THR, '!');
    g_assert_cmpint(f.irq[4].raises, ==, raises + 1);
    g_assert_cmpint(f.irq[4].level, ==, 1);
    g_assert_cmphex(in8(&f, IIR), ==, 0xc2);
    out8(&f, IER, 0);
    g_assert_cmpint(f.irq[4].level, ==, 0);
    output(&f, buf, sizeof(buf));
    g_assert_cmpstr(buf, ==, "!");
    teardown(&f);
}

static void test_receive_fifo(void)
{
    Fixture f;
    setup(&f, NULL);
    out8(&f, FCR, 0x41 | 0x06);                /* FIFO on, trigger level 4 */
    out8(&f, IER, 0x01);
    g_assert_cmpuint(chr_be_input(f.chr, (const uint8_t *)"ab", 2), ==, 2);
    g_assert_cmphex(in8(&f, LSR) & 0x01, ==, 1);
    g_assert_cmpint(f.irq[4].level, ==, 0);    /* below the trigger level */
    /* four character times later: the timeout interrupt */
    vclock_step(f.m->clock, 10 * 1000 * 1000);
    g_assert_cmpint(f.irq[4].level, ==, 1);
    g_assert_cmphex(in8(&f, IIR), ==, 0xcc);
    g_assert_cmphex(in8(&f, RBR), ==, 'a');
    g_assert_cmpint(f.irq[4].level, ==, 0);    /* reading RBR cleared the timeout */
    g_assert_cmphex(in8(&f, RBR), ==, 'b');
    g_assert_cmphex(in8(&f, LSR) & 0x01, ==, 0);
    /* reaching the trigger level interrupts at once */
    g_assert_cmpuint(chr_be_input(f.chr, (const uint8_t *)"wxyz", 4), ==, 4);
    g_assert_cmpint(f.irq[4].level, ==, 1);
    g_assert_cmphex(in8(&f, IIR), ==, 0xc4);
    for (const char *p = "wxyz"; *p; p++)
        g_assert_cmphex(in8(&f, RBR), ==, *p);
    g_assert_cmpint(f.irq[4].level, ==, 0);
    /* flow control: never more than 16 bytes, nothing lost, no overrun */
    g_autofree char *big = g_strnfill(40, 'q');
    size_t taken = chr_be_input(f.chr, (const uint8_t *)big, 40);
    g_assert_cmpuint(taken, <=, 16);
    size_t total = taken, got = 0;
    while (got < 40) {
        while (in8(&f, LSR) & 0x01) {
            g_assert_cmphex(in8(&f, RBR), ==, 'q');
            got++;
        }
        total += chr_be_input(f.chr, (const uint8_t *)big + total, 40 - total);
    }
    g_assert_cmpuint(got, ==, 40);
    g_assert_cmphex(in8(&f, LSR) & 0x02, ==, 0);
    teardown(&f);
}

static void test_overrun_and_line_status(void)
{
    Fixture f;
    setup(&f, NULL);
    out8(&f, MCR, 0x10);                       /* loopback, 16450 mode */
    out8(&f, IER, 0x04 | 0x01);
    out8(&f, THR, 'x');
    g_assert_cmpint(f.irq[4].level, ==, 1);
    g_assert_cmphex(in8(&f, IIR), ==, 0x04);
    out8(&f, THR, 'y');                        /* nobody read 'x' */
    g_assert_cmphex(in8(&f, IIR), ==, 0x06);   /* line status wins */
    g_assert_cmphex(in8(&f, LSR) & 0x03, ==, 0x03);
    g_assert_cmphex(in8(&f, LSR) & 0x02, ==, 0);   /* cleared by the read */
    g_assert_cmphex(in8(&f, IIR), ==, 0x04);
    g_assert_cmphex(in8(&f, RBR), ==, 'y');
    g_assert_cmpint(f.irq[4].level, ==, 0);
    char buf[8];
    g_assert_cmpuint(output(&f, buf, sizeof(buf)), ==, 0);   /* loopback: nothing out */
    /* FIFO mode overrun: the 17th byte is lost */
    out8(&f, FCR, 0x07);
    for (int i = 0; i < 17; i++)
        out8(&f, THR, 'a' + i);
    g_assert_cmphex(in8(&f, LSR) & 0x03, ==, 0x03);
    for (int i = 0; i < 16; i++)
        g_assert_cmphex(in8(&f, RBR), ==, 'a' + i);
    g_assert_cmphex(in8(&f, LSR) & 0x01, ==, 0);
    teardown(&f);
}

static void test_modem_status(void)
{
    Fixture f;
    setup(&f, NULL);
    out8(&f, IER, 0x08);
    out8(&f, MCR, 0x10);                       /* loopback: all inputs drop */
    g_assert_cmpint(f.irq[4].level, ==, 1);
    g_assert_cmphex(in8(&f, IIR), ==, 0x00);
    g_assert_cmphex(in8(&f, MSR), ==, 0x0b);   /* DCTS DDSR DDCD, no lines */
    g_assert_cmpint(f.irq[4].level, ==, 0);
    out8(&f, MCR, 0x10 | 0x04);                /* OUT1 -> RI */
    g_assert_cmphex(in8(&f, MSR), ==, 0x40);   /* leading edge of RI: no TERI */
    out8(&f, MCR, 0x10);
    g_assert_cmphex(in8(&f, MSR), ==, 0x04);   /* trailing edge: TERI */
    out8(&f, MCR, 0x10 | 0x01 | 0x02 | 0x08);
    g_assert_cmphex(in8(&f, MSR), ==, 0xbb);
    out8(&f, MCR, 0x0b);                       /* out of loopback: idle lines */
    g_assert_cmphex(in8(&f, MSR) & 0xf0, ==, 0xb0);
    teardown(&f);
}

static void test_break(void)
{
    Fixture f;
    setup(&f, NULL);
    out8(&f, IER, 0x04);
    chr_be_event(f.chr, CHR_EVENT_BREAK);
    g_assert_cmpint(f.irq[4].level, ==, 1);
    g_assert_cmphex(in8(&f, LSR) & 0x11, ==, 0x11);
    g_assert_cmpint(f.irq[4].level, ==, 0);
    g_assert_cmphex(in8(&f, RBR), ==, 0);
    /* break in loopback (LCR bit 6) reaches the receiver */
    out8(&f, MCR, 0x10);
    out8(&f, LCR, 0x40);
    g_assert_cmphex(in8(&f, LSR) & 0x10, ==, 0x10);
    teardown(&f);
}

/* A backend that cannot take output: the transmitter holds the bytes (THRE/TEMT
 * clear) instead of blocking or dropping; they go once the backend drains. */
static void test_output_flow_control(void)
{
    int p[2];
    g_assert_cmpint(pipe(p), ==, 0);
    Chardev *chr = chr_new_fd(-1, p[1], "pipe");
    uint8_t junk[4096] = { 0 };
    size_t queued = 0;
    ssize_t n;
    while ((n = chr_write_nonblock(chr, junk, sizeof(junk))) > 0)
        queued += n;
    g_assert_cmpint(n, ==, -EAGAIN);
    Fixture f;
    setup(&f, chr);
    out8(&f, FCR, 0x07);
    out8(&f, THR, 'A');
    g_assert_cmphex(in8(&f, LSR) & 0x60, ==, 0x20);  /* THR empty, shifter busy */
    out8(&f, THR, 'B');
    out8(&f, THR, 'C');
    g_assert_cmphex(in8(&f, LSR) & 0x60, ==, 0x00);
    while (queued > 0)
        queued -= read(p[0], junk, MIN(queued, sizeof(junk)));
    gint64 end = g_get_monotonic_time() + 10 * G_USEC_PER_SEC;
    while (!(in8(&f, LSR) & 0x40)) {
        g_assert_cmpint(g_get_monotonic_time(), <, end);
        g_main_context_iteration(NULL, FALSE);
    }
    char buf[8];
    g_assert_cmpint(read(p[0], buf, sizeof(buf)), ==, 3);
    g_assert_cmpmem(buf, 3, "ABC", 3);
    teardown(&f);
    close(p[0]);
}

/* Input from a real fd through the main loop: in order, nothing lost. */
static void test_pipe_input(void)
{
    int p[2];
    g_assert_cmpint(pipe(p), ==, 0);
    Fixture f;
    setup(&f, chr_new_fd(p[0], -1, "in"));
    out8(&f, FCR, 0x07);
    char msg[100];
    for (int i = 0; i < 100; i++)
        msg[i] = 32 + i % 90;
    g_assert_cmpint(write(p[1], msg, sizeof(msg)), ==, sizeof(msg));
    int got = 0;
    gint64 end = g_get_monotonic_time() + 10 * G_USEC_PER_SEC;
    while (got < 100) {
        g_assert_cmpint(g_get_monotonic_time(), <, end);
        g_main_context_iteration(NULL, FALSE);
        while (in8(&f, LSR) & 0x01)
            g_assert_cmphex(in8(&f, RBR), ==, (uint8_t)msg[got++]);
    }
    g_assert_cmphex(in8(&f, LSR) & 0x02, ==, 0);
    teardown(&f);
    close(p[1]);
}

static void test_props_and_errors(void)
{
    Machine *m = machine_new_test(0);
    GError *err = NULL;
    Device *a = add_serial(m, NULL, &err);                 /* index 0: COM1 */
    g_assert_no_error(err);
    Device *b = add_serial(m, NULL, &err);                 /* index 1: COM2 */
    g_assert_no_error(err);
    uint64_t v = 0;
    g_assert_true(as_read(m->io, 0x2f8 + LSR, &v, 1));
    g_assert_cmphex(v, ==, 0x60);
    g_assert_null(add_serial(m, "index=0", &err));          /* COM1 again */
    g_assert_nonnull(strstr(err->message, "isa-serial: "));
    g_clear_error(&err);
    g_assert_null(add_serial(m, "chardev=nope", &err));
    g_assert_cmpstr(err->message, ==, "isa-serial: chardev 'nope' not found");
    g_clear_error(&err);
    g_assert_null(add_serial(m, "index=7", &err));
    g_assert_nonnull(strstr(err->message, "index 7 has no default port"));
    g_clear_error(&err);
    g_assert_nonnull(add_serial(m, "index=7,iobase=0x100,irq=5", &err));
    g_assert_cmphex(serial_isa_default_iobase(3), ==, 0x2e8);
    g_assert_cmpuint(serial_isa_default_irq(2), ==, 4);
    (void)a;
    (void)b;
    machine_free(m);
}

static void test_vmstate(void)
{
    Fixture f;
    setup(&f, NULL);
    const DeviceClass *cls = &serial_isa_class;
    /* fixed bytes of the reset state: the format changes only on purpose */
    GByteArray *out = g_byte_array_new();
    vmstate_save(cls->vmsd, device_state(f.dev), out);
    static const uint8_t head[] = { 6, 's', 'e', 'r', 'i', 'a', 'l', 1, 0, 0, 0, 50, 0, 0, 0,
                                    12, 0, /* divider */ 0, 1, 0, 8, 0x60, 0xb0, 0, 0 };
    g_assert_cmpuint(out->len, ==, sizeof(head) - 10 + 50);
    g_assert_cmpuint(out->len, ==, vmstate_size(cls->vmsd));
    g_assert_cmpmem(out->data, sizeof(head), head, sizeof(head));
    for (guint i = sizeof(head); i < out->len; i++)
        g_assert_cmpuint(out->data[i], ==, 0);
    g_byte_array_set_size(out, 0);
    /* round trip of a busy state */
    out8(&f, FCR, 0x81);
    out8(&f, LCR, 0x1b);
    out8(&f, SCR, 0x77);
    out8(&f, IER, 0x0f);
    chr_be_input(f.chr, (const uint8_t *)"xyz", 3);
    vmstate_save(cls->vmsd, device_state(f.dev), out);
    Fixture g;
    setup(&g, NULL);
    GError *err = NULL;
    g_assert_cmpint(vmstate_load(cls->vmsd, device_state(g.dev), out->data, out->len, &err),
                    ==, out->len);
    g_assert_no_error(err);
    GByteArray *again = g_byte_array_new();
    vmstate_save(cls->vmsd, device_state(g.dev), again);
    g_assert_cmpmem(again->data, again->len, out->data, out->len);
    g_byte_array_free(again, TRUE);
    serial_isa_class.post_load(g.dev);
    g_assert_cmpint(g.irq[4].level, ==, f.irq[4].level);  /* THRE pending on both */
    g_assert_cmphex(in8(&g, IIR), ==, 0xc2);               /* acknowledged ... */
    g_assert_cmpint(g.irq[4].level, ==, 0);               /* 3 bytes < trigger 8 */
    vclock_step(g.m->clock, 10 * 1000 * 1000);
    g_assert_cmphex(in8(&g, IIR), ==, 0xcc);               /* the RX timeout re-armed */
    g_assert_cmphex(in8(&g, SCR), ==, 0x77);
    g_assert_cmphex(in8(&g, RBR), ==, 'x');
    g_byte_array_free(out, TRUE);
    teardown(&f);
    teardown(&g);
}

static void fuzz(void)
{
    Fixture f;
    setup(&f, NULL);
    fuzz_ports(f.m, f.dev, COM1, 8, 20000);
    chr_be_input(f.chr, (const uint8_t *)"abc", 3);
    teardown(&f);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/serial/reset-values", test_reset_values);
    g_test_add_func("/serial/linux-autoconfig", test_linux_autoconfig);
    g_test_add_func("/serial/transmit-thre", test_transmit_and_thre);
    g_test_add_func("/serial/receive-fifo", test_receive_fifo);
    g_test_add_func("/serial/overrun-line-status", test_overrun_and_line_status);
    g_test_add_func("/serial/modem-status", test_modem_status);
    g_test_add_func("/serial/break", test_break);
    g_test_add_func("/serial/output-flow-control", test_output_flow_control);
    g_test_add_func("/serial/pipe-input", test_pipe_input);
    g_test_add_func("/serial/props-errors", test_props_and_errors);
    g_test_add_func("/serial/vmstate", test_vmstate);
    g_test_add_func("/serial/coalescing", test_coalescing);
    g_test_add_func("/serial/fuzz", fuzz);
    return g_test_run();
}
