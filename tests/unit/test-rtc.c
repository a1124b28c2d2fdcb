/* mc146818rtc: time in BCD/binary and 12/24 h, setting the clock, UIP, periodic,
 * alarm and update interrupts on a virtual clock, NVRAM and the firmware fields. */
#include "vireo/hw-isa.h"
#include "vireo/machine.h"
#include "device-fuzz.h"
#include <string.h>

#define MS 1000000LL
#define SEC 1000000000LL

typedef struct Irq {
    int level, raises;
} Irq;

static void irq_handler(void *opaque, int n, int level)
{
    Irq *irq = opaque;
    if (n != 8)
        return;
    if (level && !irq->level)
        irq->raises++;
    irq->level = level;
}

typedef struct Fixture {
    Machine *m;
    Device *rtc;
    Irq irq;
} Fixture;

/* machine_new_test's virtual wall clock starts at 1700000000 s since the epoch:
 * Tuesday 2023-11-14 22:13:20 UTC. */
static void setup(Fixture *f)
{
    memset(f, 0, sizeof(*f));
    f->m = machine_new_test(0);
    for (int i = 0; i < MACHINE_NUM_GSI; i++)
        f->m->gsi[i] = (IrqLine){ .handler = irq_handler, .opaque = &f->irq, .n = i };
    f->rtc = device_new(f->m, &rtc_mc146818_class);
    GError *err = NULL;
    g_assert_true(machine_add_device(f->m, f->rtc, &err));
    g_assert_no_error(err);
}

static uint8_t cmos_read(Fixture *f, uint8_t reg)
{
    uint64_t v = 0;
    as_write(f->m->io, 0x70, reg, 1);
    as_read(f->m->io, 0x71, &v, 1);
    return v;
}

static void cmos_write(Fixture *f, uint8_t reg, uint8_t val)
{
    as_write(f->m->io, 0x70, reg, 1);
    as_write(f->m->io, 0x71, val, 1);
}

static void step(Fixture *f, int64_t ns) { vclock_step(f->m->clock, ns); }

static void test_read_time_modes(void)
{
    Fixture f;
    setup(&f);
    g_assert_cmphex(cmos_read(&f, 0x0a), ==, 0x26);
    g_assert_cmphex(cmos_read(&f, 0x0b), ==, 0x02);
    g_assert_cmphex(cmos_read(&f, 0x0d), ==, 0x80);
    g_assert_cmphex(cmos_read(&f, 0x00), ==, 0x20);   /* BCD 24 h */
    g_assert_cmphex(cmos_read(&f, 0x02), ==, 0x13);
    g_assert_cmphex(cmos_read(&f, 0x04), ==, 0x22);
    g_assert_cmphex(cmos_read(&f, 0x06), ==, 3);      /* Tuesday (Sunday = 1) */
    g_assert_cmphex(cmos_read(&f, 0x07), ==, 0x14);
    g_assert_cmphex(cmos_read(&f, 0x08), ==, 0x11);
    g_assert_cmphex(cmos_read(&f, 0x09), ==, 0x23);
    g_assert_cmphex(cmos_read(&f, 0x32), ==, 0x20);
    cmos_write(&f, 0x0b, 0x06);                        /* binary 24 h */
    g_assert_cmpuint(cmos_read(&f, 0x00), ==, 20);
    g_assert_cmpuint(cmos_read(&f, 0x04), ==, 22);
    g_assert_cmpuint(cmos_read(&f, 0x09), ==, 23);
    g_assert_cmpuint(cmos_read(&f, 0x32), ==, 20);
    cmos_write(&f, 0x0b, 0x04);                        /* binary 12 h: 10 PM */
    g_assert_cmphex(cmos_read(&f, 0x04), ==, 0x8a);
    cmos_write(&f, 0x0b, 0x00);                        /* BCD 12 h */
    g_assert_cmphex(cmos_read(&f, 0x04), ==, 0x90);
    step(&f, 3 * SEC);
    g_assert_cmphex(cmos_read(&f, 0x00), ==, 0x23);
    machine_free(f.m);
}

static void set_time(Fixture *f, uint8_t cent, uint8_t yr, uint8_t mon, uint8_t day,
                     uint8_t h, uint8_t m, uint8_t s)
{
    uint8_t b = cmos_read(f, 0x0b);
    cmos_write(f, 0x0b, b | 0x80);
    cmos_write(f, 0x32, cent);
    cmos_write(f, 0x09, yr);
    cmos_write(f, 0x08, mon);
    cmos_write(f, 0x07, day);
    cmos_write(f, 0x04, h);
    cmos_write(f, 0x02, m);
    cmos_write(f, 0x00, s);
    cmos_write(f, 0x0b, b & ~0x80);
}

static void test_set_time_and_rollover(void)
{
    Fixture f;
    setup(&f);
    set_time(&f, 0x20, 0x00, 0x02, 0x29, 0x23, 0x59, 0x58);   /* leap day 2000 */
    g_assert_cmphex(cmos_read(&f, 0x00), ==, 0x58);
    g_assert_cmphex(cmos_read(&f, 0x07), ==, 0x29);
    g_assert_cmphex(cmos_read(&f, 0x06), ==, 3);             /* a Tuesday */
    step(&f, SEC);
    g_assert_cmphex(cmos_read(&f, 0x00), ==, 0x59);
    step(&f, SEC);
    g_assert_cmphex(cmos_read(&f, 0x00), ==, 0x00);
    g_assert_cmphex(cmos_read(&f, 0x04), ==, 0x00);
    g_assert_cmphex(cmos_read(&f, 0x07), ==, 0x01);
    g_assert_cmphex(cmos_read(&f, 0x08), ==, 0x03);
    g_assert_cmphex(cmos_read(&f, 0x06), ==, 4);
    /* while SET, the registers hold still */
    cmos_write(&f, 0x0b, 0x82);
    step(&f, 5 * SEC);
    g_assert_cmphex(cmos_read(&f, 0x00), ==, 0x00);
    cmos_write(&f, 0x0b, 0x02);
    step(&f, SEC);
    g_assert_cmphex(cmos_read(&f, 0x00), ==, 0x01);
    /* a write to a running clock register takes effect at once */
    cmos_write(&f, 0x02, 0x42);
    g_assert_cmphex(cmos_read(&f, 0x02), ==, 0x42);
    g_assert_cmphex(cmos_read(&f, 0x04), ==, 0x00);
    /* 12 h binary set: 11 PM on 1999-12-31 */
    cmos_write(&f, 0x0b, 0x04);
    set_time(&f, 19, 99, 12, 31, 0x8b, 59, 59);
    step(&f, SEC);
    cmos_write(&f, 0x0b, 0x02);
    g_assert_cmphex(cmos_read(&f, 0x32), ==, 0x20);
    g_assert_cmphex(cmos_read(&f, 0x09), ==, 0x00);
    g_assert_cmphex(cmos_read(&f, 0x08), ==, 0x01);
    g_assert_cmphex(cmos_read(&f, 0x04), ==, 0x00);
    /* nonsense from the guest is survived */
    set_time(&f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff);
    step(&f, SEC);
    cmos_read(&f, 0x00);
    cmos_read(&f, 0x0c);
    machine_free(f.m);
}

static void test_uip(void)
{
    Fixture f;
    setup(&f);
    set_time(&f, 0x20, 0x24, 0x01, 0x01, 0x00, 0x00, 0x00);  /* second starts now */
    g_assert_cmphex(cmos_read(&f, 0x0a) & 0x80, ==, 0);
    step(&f, SEC - 244000 - 1);
    g_assert_cmphex(cmos_read(&f, 0x0a) & 0x80, ==, 0);
    step(&f, 1);                                  /* the last 244 us of the second */
    g_assert_cmphex(cmos_read(&f, 0x0a), ==, 0xa6);
    g_assert_cmphex(cmos_read(&f, 0x00), ==, 0x00);
    step(&f, 244000);                             /* update done */
    g_assert_cmphex(cmos_read(&f, 0x0a), ==, 0x26);
    g_assert_cmphex(cmos_read(&f, 0x00), ==, 0x01);
    cmos_write(&f, 0x0b, 0x82);                   /* no UIP while SET */
    step(&f, SEC - 100000);
    g_assert_cmphex(cmos_read(&f, 0x0a) & 0x80, ==, 0);
    machine_free(f.m);
}

static void test_periodic(void)
{
    Fixture f;
    setup(&f);
    const int64_t period = 976562;                /* RS = 6: 1024 Hz */
    cmos_write(&f, 0x0b, 0x42);                   /* PIE */
    for (int i = 0; i < 10; i++) {
        g_assert_cmpint(f.irq.level, ==, 0);
        step(&f, period + (i & 1));
        g_assert_cmpint(f.irq.level, ==, 1);
        g_assert_cmphex(cmos_read(&f, 0x0c), ==, 0xc0);
        g_assert_cmpint(f.irq.level, ==, 0);
    }
    g_assert_cmpint(f.irq.raises, ==, 10);
    cmos_write(&f, 0x0a, 0x2f);                   /* RS = 15: 2 Hz */
    step(&f, 499 * MS);
    g_assert_cmpint(f.irq.level, ==, 0);
    step(&f, MS);
    g_assert_cmpint(f.irq.level, ==, 1);
    g_assert_cmphex(cmos_read(&f, 0x0c) & 0x40, ==, 0x40);
    cmos_write(&f, 0x0a, 0x23);                   /* RS = 3: 8192 Hz */
    step(&f, 122070);
    g_assert_cmphex(cmos_read(&f, 0x0c) & 0x40, ==, 0x40);
    cmos_write(&f, 0x0b, 0x02);                   /* PIE off: nothing more */
    int raises = f.irq.raises;
    step(&f, SEC);
    g_assert_cmpint(f.irq.raises, ==, raises);
    machine_free(f.m);
}

static void test_alarm_and_update(void)
{
    Fixture f;
    setup(&f);
    set_time(&f, 0x20, 0x24, 0x06, 0x15, 0x12, 0x00, 0x00);
    cmos_write(&f, 0x01, 0x05);                   /* alarm at 12:00:05 */
    cmos_write(&f, 0x03, 0x00);
    cmos_write(&f, 0x05, 0x12);
    cmos_write(&f, 0x0b, 0x22);                   /* AIE */
    step(&f, 4 * SEC);
    g_assert_cmpint(f.irq.level, ==, 0);
    step(&f, SEC);
    g_assert_cmpint(f.irq.level, ==, 1);
    g_assert_cmphex(cmos_read(&f, 0x0c), ==, 0xb0);   /* IRQF AF UF */
    g_assert_cmpint(f.irq.level, ==, 0);
    step(&f, 10 * SEC);
    g_assert_cmpint(f.irq.level, ==, 0);
    cmos_write(&f, 0x01, 0xc0);                   /* don't care: every second */
    cmos_write(&f, 0x03, 0xff);
    cmos_write(&f, 0x05, 0xc0);
    cmos_read(&f, 0x0c);
    step(&f, SEC);
    g_assert_cmpint(f.irq.level, ==, 1);
    g_assert_cmphex(cmos_read(&f, 0x0c), ==, 0xb0);
    /* update-ended interrupt */
    cmos_write(&f, 0x0b, 0x12);
    step(&f, SEC);
    g_assert_cmpint(f.irq.level, ==, 1);
    g_assert_cmphex(cmos_read(&f, 0x0c), ==, 0x90 | 0x20);  /* UF (AF also flagged) */
    /* flags without enables: UF is set, IRQF is not */
    cmos_write(&f, 0x0b, 0x02);
    step(&f, SEC);
    g_assert_cmpint(f.irq.level, ==, 0);
    g_assert_cmphex(cmos_read(&f, 0x0c) & 0x90, ==, 0x10);
    g_assert_cmphex(cmos_read(&f, 0x0c), ==, 0x00);         /* read cleared it */
    /* enabling UIE with UF already set raises IRQF at once */
    step(&f, SEC);
    g_assert_cmpint(f.irq.level, ==, 0);
    cmos_read(&f, 0x00);
    cmos_write(&f, 0x0b, 0x12);
    g_assert_cmpint(f.irq.level, ==, 1);
    /* SET clears UIE */
    cmos_write(&f, 0x0b, 0x92);
    g_assert_cmphex(cmos_read(&f, 0x0b), ==, 0x82);
    machine_free(f.m);
}

static void test_nvram_nmi_reset(void)
{
    Fixture f;
    setup(&f);
    cmos_write(&f, 0x40, 0xa5);
    cmos_write(&f, 0x7f, 0x5a);
    g_assert_cmphex(cmos_read(&f, 0x40), ==, 0xa5);
    g_assert_cmphex(cmos_read(&f, 0xff), ==, 0x5a);      /* bit 7 is the NMI mask */
    g_assert_true(rtc_nmi_disabled(f.rtc));
    cmos_read(&f, 0x7f);
    g_assert_false(rtc_nmi_disabled(f.rtc));
    uint64_t v;
    as_read(f.m->io, 0x70, &v, 1);
    g_assert_cmphex(v, ==, 0xff);
    cmos_write(&f, 0x0b, 0x72);                           /* PIE AIE UIE */
    step(&f, SEC);
    g_assert_cmpint(f.irq.level, ==, 1);
    machine_reset_devices(f.m);
    g_assert_cmpint(f.irq.level, ==, 0);
    g_assert_cmphex(cmos_read(&f, 0x0b), ==, 0x02);
    g_assert_cmphex(cmos_read(&f, 0x40), ==, 0xa5);       /* NVRAM survives */
    g_assert_cmphex(cmos_read(&f, 0x0c), ==, 0x00);
    g_assert_cmphex(cmos_read(&f, 0x00), ==, 0x21);       /* so does the time */
    /* register D is read-only VRT; C is read-only */
    cmos_write(&f, 0x0d, 0x00);
    g_assert_cmphex(cmos_read(&f, 0x0d), ==, 0x80);
    machine_free(f.m);
}

static unsigned word(Device *d, unsigned a)
{
    return rtc_cmos_get(d, a) | rtc_cmos_get(d, a + 1) << 8;
}

static void check_checksum(Device *d)
{
    unsigned sum = 0;
    for (unsigned i = 0x10; i <= 0x2d; i++)
        sum += rtc_cmos_get(d, i);
    g_assert_cmphex(word(d, 0x2e), ==, ((sum & 0xff) << 8) | (sum >> 8));
}

static void test_machine_info(void)
{
    Fixture f;
    setup(&f);
    f.m->below_4g = 3ULL << 30;
    f.m->above_4g = 1ULL << 30;
    f.m->ncpus = 4;
    rtc_cmos_set_machine_info(f.rtc, f.m);
    g_assert_cmpuint(word(f.rtc, 0x15), ==, 640);
    g_assert_cmpuint(word(f.rtc, 0x17), ==, 0xffff);
    g_assert_cmpuint(word(f.rtc, 0x30), ==, 0xffff);
    g_assert_cmpuint(word(f.rtc, 0x34), ==, ((3ULL << 30) - (16 << 20)) >> 16);
    g_assert_cmphex(rtc_cmos_get(f.rtc, 0x5b), ==, 0x00);
    g_assert_cmphex(rtc_cmos_get(f.rtc, 0x5c), ==, 0x40);
    g_assert_cmphex(rtc_cmos_get(f.rtc, 0x5d), ==, 0x00);
    g_assert_cmpuint(rtc_cmos_get(f.rtc, 0x5f), ==, 3);
    g_assert_cmphex(rtc_cmos_get(f.rtc, 0x3d), ==, 0x12);   /* c, then a */
    g_assert_cmphex(rtc_cmos_get(f.rtc, 0x38), ==, 0x30);   /* then d */
    g_assert_cmphex(rtc_cmos_get(f.rtc, 0x14), ==, 0x06);
    check_checksum(f.rtc);
    f.m->below_4g = 32 << 20;
    f.m->above_4g = 0;
    f.m->ncpus = 1;
    rtc_cmos_set_machine_info(f.rtc, f.m);
    g_assert_cmpuint(word(f.rtc, 0x17), ==, 31 * 1024);
    g_assert_cmpuint(word(f.rtc, 0x34), ==, 256);
    g_assert_cmpuint(rtc_cmos_get(f.rtc, 0x5f), ==, 0);
    g_assert_true(rtc_cmos_set_boot_order(f.rtc, "nd"));
    g_assert_cmphex(rtc_cmos_get(f.rtc, 0x3d), ==, 0x34);
    g_assert_false(rtc_cmos_set_boot_order(f.rtc, "z"));
    g_assert_false(rtc_cmos_set_boot_order(f.rtc, "cdna"));
    rtc_cmos_set(f.rtc, 0x12, 0xf0);                       /* keeps the checksum */
    check_checksum(f.rtc);
    g_assert_cmphex(cmos_read(&f, 0x12), ==, 0xf0);        /* visible to the guest */
    machine_free(f.m);
}

static void test_vmstate(void)
{
    Fixture f, g;
    setup(&f);
    setup(&g);
    const VMStateDesc *d = rtc_mc146818_class.vmsd;
    GByteArray *out = g_byte_array_new();
    vmstate_save(d, device_state(f.rtc), out);
    static const uint8_t head[] = { 11, 'm', 'c', '1', '4', '6', '8', '1', '8', 'r', 't', 'c',
                                    1, 0, 0, 0, 146, 0, 0, 0 };
    g_assert_cmpuint(out->len, ==, sizeof(head) + 146);
    g_assert_cmpuint(out->len, ==, vmstate_size(d));
    g_assert_cmpmem(out->data, sizeof(head), head, sizeof(head));
    g_assert_cmphex(out->data[sizeof(head) + 0x0a], ==, 0x26);   /* cmos[] first */
    g_byte_array_set_size(out, 0);
    set_time(&f, 0x20, 0x30, 0x07, 0x04, 0x10, 0x20, 0x30);
    cmos_write(&f, 0x50, 0x99);
    cmos_write(&f, 0x0b, 0x06);
    vmstate_save(d, device_state(f.rtc), out);
    GError *err = NULL;
    g_assert_cmpint(vmstate_load(d, device_state(g.rtc), out->data, out->len, &err), ==,
                    out->len);
    g_assert_no_error(err);
    g_assert_cmphex(cmos_read(&g, 0x50), ==, 0x99);
    g_assert_cmpuint(cmos_read(&g, 0x09), ==, 30);             /* 2030, binary */
    g_assert_cmpuint(cmos_read(&g, 0x00), ==, 30);
    /* the same register reads on the source refresh the same cached registers */
    cmos_read(&f, 0x09);
    cmos_read(&f, 0x00);
    g_byte_array_set_size(out, 0);
    vmstate_save(d, device_state(f.rtc), out);
    GByteArray *again = g_byte_array_new();
    vmstate_save(d, device_state(g.rtc), again);
    g_assert_cmpmem(again->data, again->len, out->data, out->len);
    g_byte_array_free(again, TRUE);
    /* post_load restarts the periodic timer of a loaded PIE */
    cmos_write(&f, 0x0b, 0x46);
    g_byte_array_set_size(out, 0);
    vmstate_save(d, device_state(f.rtc), out);
    g_assert_cmpint(vmstate_load(d, device_state(g.rtc), out->data, out->len, NULL), ==,
                    out->len);
    rtc_mc146818_class.post_load(g.rtc);
    step(&g, SEC / 1024 + 1);
    g_assert_cmpint(g.irq.level, ==, 1);
    g_byte_array_free(out, TRUE);
    machine_free(f.m);
    machine_free(g.m);
}

static void fuzz(void)
{
    Fixture f;
    setup(&f);
    fuzz_ports(f.m, f.rtc, 0x70, 2, 20000);
    machine_free(f.m);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/rtc/read-time-modes", test_read_time_modes);
    g_test_add_func("/rtc/set-time-rollover", test_set_time_and_rollover);
    g_test_add_func("/rtc/uip", test_uip);
    g_test_add_func("/rtc/periodic", test_periodic);
    g_test_add_func("/rtc/alarm-update", test_alarm_and_update);
    g_test_add_func("/rtc/nvram-nmi-reset", test_nvram_nmi_reset);
    g_test_add_func("/rtc/machine-info", test_machine_info);
    g_test_add_func("/rtc/vmstate", test_vmstate);
    g_test_add_func("/rtc/fuzz", fuzz);
    return g_test_run();
}
