/*
 * ACPI: the tables read back from guest memory (RSDP chain, checksums, FADT, MADT,
 * DSDT contents including the _PRT against the PCI routing, iasl -d of the DSDT), and
 * the PM device (S5, power button and SCI, PM timer, migration state).
 */
#include "log-count.h"
#include <string.h>
#include <glib/gstdio.h>
#include "vireo/pc.h"
#include "vireo/acpi.h"
#include "vireo/machine.h"
#include "vireo/pci.h"

#define RAM_SIZE    (2 << 20)
#define TABLES      0xe0000ull
#define TABLES_LEN  0x20000ull

typedef struct Fx {
    Machine *m;
    int level[MACHINE_NUM_GSI];
    int shutdowns;
    ShutdownCause cause;
} Fx;

static void gsi_handler(void *opaque, int n, int level)
{
    ((Fx *)opaque)->level[n] = level;
}

static Fx *fx_new(unsigned ncpus)
{
    Fx *fx = g_new0(Fx, 1);
    GError *err = NULL;

    fx->m = machine_new_test(RAM_SIZE);
    machine_set_test_cpus(fx->m, ncpus);
    for (int i = 0; i < MACHINE_NUM_GSI; i++)
        fx->m->gsi[i] = (IrqLine){ .handler = gsi_handler, .opaque = fx, .n = i };
    g_assert_nonnull(pci_bus_new_pc(fx->m, &err));
    g_assert_no_error(err);
    return fx;
}

static void fx_free(Fx *fx)
{
    pci_bus_free(fx->m->pci_bus);
    machine_free(fx->m);
    g_free(fx);
}

static const uint8_t *gpa(Fx *fx, uint64_t addr, uint64_t len)
{
    const uint8_t *p = as_ram_ptr(fx->m->sysmem, addr, len);
    g_assert_nonnull(p);
    return p;
}

static uint32_t le32(const uint8_t *p) { return p[0] | p[1] << 8 | p[2] << 16 | (uint32_t)p[3] << 24; }
static uint64_t le64(const uint8_t *p) { return le32(p) | (uint64_t)le32(p + 4) << 32; }
static uint16_t le16(const uint8_t *p) { return p[0] | p[1] << 8; }

static uint8_t sum(const uint8_t *p, size_t n)
{
    uint8_t s = 0;
    while (n--)
        s += *p++;
    return s;
}

/* A table at @addr with signature @sig: valid header and checksum, inside the area. */
static const uint8_t *table(Fx *fx, uint64_t addr, const char *sig)
{
    const uint8_t *h = gpa(fx, addr, 36);
    uint32_t len = le32(h + 4);

    g_assert_cmpmem(h, 4, sig, 4);
    g_assert_cmpuint(len, >=, 36);
    g_assert_cmpuint(addr + len, <=, TABLES + TABLES_LEN);
    h = gpa(fx, addr, len);
    g_assert_cmpuint(sum(h, len), ==, 0);
    g_assert_cmpmem(h + 10, 6, "VIREO ", 6);
    return h;
}

static void build(Fx *fx)
{
    GError *err = NULL;
    g_assert_true(acpi_build_pc(fx->m, TABLES, TABLES_LEN, &err));
    g_assert_no_error(err);
    g_assert_cmphex(fx->m->acpi_rsdp, ==, TABLES);
}

/* Returns the tables the XSDT lists, checking the RSDT lists the same. */
static void root_tables(Fx *fx, const uint8_t **fadt, const uint8_t **madt)
{
    const uint8_t *rsdp = gpa(fx, fx->m->acpi_rsdp, 36), *x, *r;
    unsigned n;

    g_assert_cmpmem(rsdp, 8, "RSD PTR ", 8);
    g_assert_cmpuint(sum(rsdp, 20), ==, 0);
    g_assert_cmpuint(rsdp[15], ==, 2);
    g_assert_cmpuint(le32(rsdp + 20), ==, 36);
    g_assert_cmpuint(sum(rsdp, 36), ==, 0);
    g_assert_cmpmem(rsdp + 9, 6, "VIREO ", 6);
    x = table(fx, le64(rsdp + 24), "XSDT");
    r = table(fx, le32(rsdp + 16), "RSDT");
    n = (le32(x + 4) - 36) / 8;
    g_assert_cmpuint(n, ==, 2);
    g_assert_cmpuint((le32(r + 4) - 36) / 4, ==, n);
    *fadt = *madt = NULL;
    for (unsigned i = 0; i < n; i++) {
        uint64_t a = le64(x + 36 + 8 * i);
        g_assert_cmphex(a, ==, le32(r + 36 + 4 * i));
        const uint8_t *h = gpa(fx, a, 4);
        if (!memcmp(h, "FACP", 4))
            *fadt = table(fx, a, "FACP");
        else
            *madt = table(fx, a, "APIC");
    }
    g_assert_nonnull(*fadt);
    g_assert_nonnull(*madt);
}

static void check_gas(const uint8_t *g, uint8_t space, uint8_t bits, uint64_t addr)
{
    g_assert_cmpuint(g[0], ==, space);
    g_assert_cmpuint(g[1], ==, bits);
    g_assert_cmphex(le64(g + 4), ==, addr);
}

static void test_fadt(void)
{
    Fx *fx = fx_new(1);
    const uint8_t *f, *madt, *facs;

    build(fx);
    root_tables(fx, &f, &madt);
    g_assert_cmpuint(le32(f + 4), ==, 268);
    g_assert_cmpuint(f[8], ==, 5);
    g_assert_cmpuint(le16(f + 46), ==, 9);                  /* SCI_INT */
    g_assert_cmpuint(le32(f + 48), ==, 0);                  /* SMI_CMD */
    g_assert_cmphex(le32(f + 56), ==, 0x600);
    g_assert_cmphex(le32(f + 64), ==, 0x604);
    g_assert_cmphex(le32(f + 76), ==, 0x608);
    g_assert_cmpuint(f[88], ==, 4);
    g_assert_cmpuint(f[89], ==, 2);
    g_assert_cmpuint(f[91], ==, 4);
    g_assert_cmphex(le16(f + 109) & 2, ==, 2);              /* 8042 present */
    g_assert_cmphex(le32(f + 112) & (1u << 10), ==, 1u << 10);  /* RESET_REG_SUP */
    g_assert_cmphex(le32(f + 112) & (1u << 20), ==, 0);     /* not HW-reduced */
    check_gas(f + 116, 1, 8, 0xcf9);
    g_assert_cmphex(f[128], ==, 0x06);
    check_gas(f + 148, 1, 32, 0x600);
    check_gas(f + 172, 1, 16, 0x604);
    check_gas(f + 208, 1, 32, 0x608);
    g_assert_cmphex(le32(f + 80), ==, 0xafe0);              /* GPE0_BLK (PIIX4_PM) */
    g_assert_cmpuint(f[92], ==, 4);                         /* GPE0_BLK_LEN */
    g_assert_cmpuint(f[93], ==, 0);                         /* no GPE1 */
    check_gas(f + 220, 1, 32, 0xafe0);                      /* X_GPE0_BLK */
    g_assert_cmphex(le64(f + 140), ==, le32(f + 40));        /* X_DSDT == DSDT */
    table(fx, le32(f + 40), "DSDT");
    facs = gpa(fx, le32(f + 36), 64);
    g_assert_cmpmem(facs, 4, "FACS", 4);
    g_assert_cmpuint(le32(facs + 4), ==, 64);
    g_assert_cmphex(le32(f + 36) & 63, ==, 0);
    fx_free(fx);
}

static void check_madt(unsigned ncpus)
{
    Fx *fx = fx_new(ncpus);
    const uint8_t *f, *m, *p, *end;
    unsigned lapics = 0, ioapics = 0, isos = 0;

    build(fx);
    root_tables(fx, &f, &m);
    g_assert_cmphex(le32(m + 36), ==, 0xfee00000);
    for (p = m + 44, end = m + le32(m + 4); p < end; p += p[1]) {
        g_assert_cmpuint(p[1], >=, 2);
        g_assert_true(p + p[1] <= end);
        switch (p[0]) {
        case 0:
            g_assert_cmpuint(p[3], ==, lapics);             /* APIC IDs 0..n-1 */
            g_assert_cmpuint(le32(p + 4) & 1, ==, 1);
            lapics++;
            break;
        case 1:
            g_assert_cmphex(le32(p + 4), ==, 0xfec00000);
            g_assert_cmpuint(le32(p + 8), ==, 0);
            ioapics++;
            break;
        case 2:
            if (p[3] == 0) {
                g_assert_cmpuint(le32(p + 4), ==, 2);
                g_assert_cmphex(le16(p + 8), ==, 0x5);      /* edge, active high */
            } else {
                g_assert_cmpuint(p[3], ==, 9);
                g_assert_cmpuint(le32(p + 4), ==, 9);
                g_assert_cmphex(le16(p + 8), ==, 0xd);      /* level, active high */
            }
            isos++;
            break;
        }
    }
    g_assert_cmpuint(lapics, ==, ncpus);
    g_assert_cmpuint(ioapics, ==, 1);
    g_assert_cmpuint(isos, ==, 2);
    fx_free(fx);
}

static void test_madt_1(void) { check_madt(1); }
static void test_madt_4(void) { check_madt(4); }

static const uint8_t *dsdt_of(Fx *fx, uint32_t *len)
{
    const uint8_t *f, *m, *d;

    root_tables(fx, &f, &m);
    d = table(fx, le32(f + 40), "DSDT");
    *len = le32(d + 4);
    return d;
}

static const uint8_t *memfind(const uint8_t *h, size_t hl, const void *n, size_t nl)
{
    for (size_t i = 0; i + nl <= hl; i++)
        if (!memcmp(h + i, n, nl))
            return h + i;
    return NULL;
}

/* AML integer (ACPI 6.3, 20.2.3): Zero/One/Ones or Byte/Word/DWord/QWord prefix. */
static const uint8_t *aml_int(const uint8_t *p, uint64_t *v)
{
    switch (*p) {
    case 0x00: *v = 0; return p + 1;
    case 0x01: *v = 1; return p + 1;
    case 0x0a: *v = p[1]; return p + 2;
    case 0x0b: *v = le16(p + 1); return p + 3;
    case 0x0c: *v = le32(p + 1); return p + 5;
    case 0x0e: *v = le64(p + 1); return p + 9;
    }
    g_assert_not_reached();
}

static const uint8_t *aml_pkglen(const uint8_t *p)
{
    return p + 1 + (*p >> 6);
}

static void test_dsdt(void)
{
    Fx *fx = fx_new(2);
    uint32_t len;
    const uint8_t *d, *p;
    PciWindows w;

    fx->m->serial[0] = (Chardev *)fx;               /* only COM1 present */
    build(fx);
    d = dsdt_of(fx, &len);
    g_assert_cmpuint(d[8], ==, 2);                              /* 64-bit integers */
    g_assert_nonnull(memfind(d, len, "\x08_S5_\x12", 6));
    g_assert_nonnull(memfind(d, len, "\x0c\x41\xd0\x0a\x03", 5));    /* PNP0A03 */
    g_assert_nonnull(memfind(d, len, "\x0c\x41\xd0\x05\x01", 5));    /* PNP0501 */
    g_assert_nonnull(memfind(d, len, "\x0c\x41\xd0\x0b\x00", 5));    /* PNP0B00 */
    g_assert_nonnull(memfind(d, len, "\x0c\x41\xd0\x03\x03", 5));    /* PNP0303 */
    g_assert_nonnull(memfind(d, len, "\x0c\x41\xd0\x0f\x13", 5));    /* PNP0F13 */
    g_assert_nonnull(memfind(d, len, "CM1S\x0a\x0f", 6));
    g_assert_nonnull(memfind(d, len, "CM2S\x0a\x00", 6));
    g_assert_null(memfind(d, len, "\xa5\xa5\xa5", 3));               /* all patched */
    /* The windows in PCI0._CRS: DWordMemory then QWordMemory fields. */
    pci_bus_get_windows(fx->m->pci_bus, &w);
    uint8_t m32[16] = { 0 }, m64[32] = { 0 };
    for (int i = 0; i < 4; i++) {
        m32[i] = w.mem32_base >> (8 * i);
        m32[4 + i] = (w.mem32_base + w.mem32_size - 1) >> (8 * i);
        m32[12 + i] = w.mem32_size >> (8 * i);
    }
    for (int i = 0; i < 8; i++) {
        m64[i] = w.mem64_base >> (8 * i);
        m64[8 + i] = (w.mem64_base + w.mem64_size - 1) >> (8 * i);
        m64[24 + i] = w.mem64_size >> (8 * i);
    }
    g_assert_nonnull(memfind(d, len, m32, 16));
    g_assert_nonnull(memfind(d, len, m64, 32));

    /* _PRT: 128 entries, each the routing hw/pci uses. */
    p = memfind(d, len, "_PRT\x12", 5);
    g_assert_nonnull(p);
    p = aml_pkglen(p + 5);
    g_assert_cmpuint(*p++, ==, 128);
    for (unsigned i = 0; i < 128; i++) {
        uint64_t adr, pin, src, gsi;
        g_assert_cmpuint(*p++, ==, 0x12);
        p = aml_pkglen(p);
        g_assert_cmpuint(*p++, ==, 4);
        p = aml_int(aml_int(aml_int(aml_int(p, &adr), &pin), &src), &gsi);
        g_assert_cmphex(adr, ==, (uint64_t)(i / 4) << 16 | 0xffff);
        g_assert_cmpuint(pin, ==, i % 4);
        g_assert_cmpuint(src, ==, 0);
        g_assert_cmpint(gsi, ==, pci_pc_intx_to_gsi(PCI_DEVFN(i / 4, 0), pin + 1));
    }
    fx->m->serial[0] = NULL;
    fx_free(fx);
}

/* The DSDT the guest gets disassembles cleanly (when iasl is installed). */
static void test_dsdt_iasl(void)
{
    g_autofree char *iasl = g_find_program_in_path("iasl");
    g_autofree char *dir = NULL, *aml = NULL, *dsl = NULL, *out = NULL, *text = NULL;
    Fx *fx;
    uint32_t len;
    int status;

    if (!iasl) {
        g_test_skip("iasl not installed");
        return;
    }
    fx = fx_new(4);
    build(fx);
    const uint8_t *d = dsdt_of(fx, &len);
    dir = g_dir_make_tmp("vireo-acpi-XXXXXX", NULL);
    aml = g_build_filename(dir, "dsdt.aml", NULL);
    dsl = g_build_filename(dir, "dsdt.dsl", NULL);
    g_assert_true(g_file_set_contents(aml, (const char *)d, len, NULL));
    const char *argv[] = { iasl, "-d", aml, NULL };
    g_assert_true(g_spawn_sync(dir, (char **)argv, NULL, G_SPAWN_STDOUT_TO_DEV_NULL |
                               G_SPAWN_STDERR_TO_DEV_NULL, NULL, NULL, NULL, NULL,
                               &status, NULL));
    g_assert_true(g_spawn_check_wait_status(status, NULL));
    g_assert_true(g_file_get_contents(dsl, &text, NULL, NULL));
    g_assert_nonnull(strstr(text, "PNP0A03"));
    g_assert_nonnull(strstr(text, "Name (_S5, Package"));
    g_assert_nonnull(strstr(text, "Method (_E01, 0, NotSerialized)"));
    g_assert_nonnull(strstr(text, "OperationRegion (PCST, SystemIO, 0xAE00, 0x18)"));
    g_assert_nonnull(strstr(text, "Device (S1F)"));
    /* A test machine has no hot-plug controller: no slot offers eject. */
    g_assert_null(strstr(text, "Method (_EJ0"));
    g_assert_nonnull(strstr(text, "Method (EJ0, 1, NotSerialized)"));   /* "EJ0_" */
    g_assert_nonnull(strstr(text, "0xC0000000,         // Range Minimum"));
    g_assert_nonnull(strstr(text, "0x0000000100000000, // Range Minimum"));
    g_unlink(aml);
    g_unlink(dsl);
    g_rmdir(dir);
    fx_free(fx);
}

static void test_placement(void)
{
    Fx *fx = fx_new(1);
    GError *err = NULL;

    g_assert_false(acpi_build_pc(fx->m, TABLES, 0x200, &err));      /* too small */
    g_assert_nonnull(strstr(err->message, "reserved at 0xe0000"));
    g_clear_error(&err);
    g_assert_false(acpi_build_pc(fx->m, 0x100000, TABLES_LEN, &err));
    g_assert_nonnull(strstr(err->message, "0xe0000..0xfffff"));
    g_clear_error(&err);
    g_assert_false(acpi_build_pc(fx->m, TABLES + 8, TABLES_LEN, &err));
    g_clear_error(&err);
    machine_set_test_cpus(fx->m, 300);
    g_assert_false(acpi_build_pc(fx->m, TABLES, TABLES_LEN, &err));
    g_clear_error(&err);
    fx_free(fx);
}

/* ---- the PM device ---- */

static void shutdown_hook(void *opaque, ShutdownCause c)
{
    Fx *fx = opaque;
    fx->shutdowns++;
    fx->cause = c;
}

static Device *pm_new(Fx *fx)
{
    GError *err = NULL;
    Device *pm = acpi_pm_create(fx->m, &err);

    g_assert_no_error(err);
    acpi_pm_set_shutdown_hook(pm, shutdown_hook, fx);
    return pm;
}

static uint64_t io_read(Fx *fx, uint16_t port, unsigned size)
{
    uint64_t v;
    g_assert_true(as_read(fx->m->io, port, &v, size));
    return v;
}

static void io_write(Fx *fx, uint16_t port, uint64_t v, unsigned size)
{
    g_assert_true(as_write(fx->m->io, port, v, size));
}

static void test_pm_s5(void)
{
    Fx *fx = fx_new(1);
    pm_new(fx);

    g_assert_cmphex(io_read(fx, 0x604, 2), ==, ACPI_PM1_SCI_EN);   /* ACPI mode */
    io_write(fx, 0x604, 0, 2);
    g_assert_cmphex(io_read(fx, 0x604, 2) & ACPI_PM1_SCI_EN, ==, ACPI_PM1_SCI_EN);
    /* SLP_TYP without SLP_EN: nothing. An unsupported type: nothing. */
    io_write(fx, 0x604, 5 << 10, 2);
    g_test_expect_message(NULL, G_LOG_LEVEL_WARNING,
                          "acpi-pm: guest asked for unsupported sleep type 5, ignored");
    io_write(fx, 0x604, (5 << 10) | ACPI_PM1_SLP_EN, 2);
    g_test_assert_expected_messages();
    g_assert_cmpint(fx->shutdowns, ==, 0);
    g_assert_cmphex(io_read(fx, 0x604, 2), ==, (5 << 10) | ACPI_PM1_SCI_EN);  /* SLP_EN wo */
    /* S5 (SLP_TYP 0 as \_S5 says), as the high byte alone like a byte-wise OS would. */
    io_write(fx, 0x605, ACPI_PM1_SLP_EN >> 8, 1);
    g_assert_cmpint(fx->shutdowns, ==, 1);
    g_assert_cmpint(fx->cause, ==, SHUTDOWN_CAUSE_GUEST_SHUTDOWN);
    io_write(fx, 0x604, ACPI_PM1_SLP_EN, 2);
    g_assert_cmpint(fx->shutdowns, ==, 2);
    fx_free(fx);
}

/* A guest that writes an unsupported SLP_TYP with SLP_EN 100000 times gets a bounded
 * number of log lines (issue 13: it used to be one line per write). */
static void test_pm_sleep_flood(void)
{
    Fx *fx = fx_new(1);
    pm_new(fx);
    LogCount c;
    log_count_start(&c);
    for (int i = 0; i < 100000; i++)
        io_write(fx, 0x604, (5 << 10) | ACPI_PM1_SLP_EN, 2);
    g_assert_cmpuint(log_count_stop(&c), <=, LOG_FLOOD_MAX_LINES);
    g_assert_cmpuint(c.lines, >=, 1);
    g_assert_cmpint(fx->shutdowns, ==, 0);
    fx_free(fx);
}

static void test_pm_power_button(void)
{
    Fx *fx = fx_new(1);
    Device *pm = pm_new(fx);

    acpi_pm_power_button(pm);                   /* not enabled: status only */
    g_assert_cmphex(io_read(fx, 0x600, 2) & ACPI_PM1_PWRBTN_STS, ==, ACPI_PM1_PWRBTN_STS);
    g_assert_cmpint(fx->level[9], ==, 0);
    io_write(fx, 0x602, ACPI_PM1_PWRBTN_STS, 2);  /* PWRBTN_EN */
    g_assert_cmpint(fx->level[9], ==, 1);
    g_assert_cmphex(io_read(fx, 0x602, 2), ==, ACPI_PM1_PWRBTN_STS);
    io_write(fx, 0x600, 0, 2);                  /* writing 0 clears nothing */
    g_assert_cmpint(fx->level[9], ==, 1);
    io_write(fx, 0x600, ACPI_PM1_PWRBTN_STS, 2);  /* write 1 to clear */
    g_assert_cmpint(fx->level[9], ==, 0);
    g_assert_cmphex(io_read(fx, 0x600, 2) & ACPI_PM1_PWRBTN_STS, ==, 0);
    acpi_pm_power_button(pm);
    g_assert_cmpint(fx->level[9], ==, 1);
    /* 32-bit access to the whole event block: status and enable at once. */
    g_assert_cmphex(io_read(fx, 0x600, 4) & 0x01000100, ==, 0x01000100);
    io_write(fx, 0x600, 0x00000100, 4);         /* clear status, disable */
    g_assert_cmpint(fx->level[9], ==, 0);
    acpi_pm_power_button(pm);
    device_reset(pm);                           /* reset clears status, drops the SCI */
    g_assert_cmphex(io_read(fx, 0x600, 2) & ACPI_PM1_PWRBTN_STS, ==, 0);
    g_assert_cmpint(fx->level[9], ==, 0);
    fx_free(fx);
}

static void test_pm_timer(void)
{
    Fx *fx = fx_new(1);
    uint32_t prev, now;

    pm_new(fx);
    prev = io_read(fx, 0x608, 4);
    g_assert_cmphex(prev & 0xff000000, ==, 0);             /* 24 bits */
    vclock_step(fx->m->clock, 1000000000);                 /* one second */
    now = io_read(fx, 0x608, 4);
    g_assert_cmpuint((now - prev) & 0xffffff, ==, ACPI_PM_TIMER_HZ & 0xffffff);
    for (int i = 0; i < 100; i++) {                        /* monotonic, modulo 2^24 */
        prev = now;
        vclock_step(fx->m->clock, 123457);
        now = io_read(fx, 0x608, 4);
        g_assert_cmpuint((now - prev) & 0xffffff, >=, 441);   /* 123457 ns = 441.9 ticks */
        g_assert_cmpuint((now - prev) & 0xffffff, <=, 442);
    }
    /* Writes are ignored. */
    io_write(fx, 0x608, 0, 4);
    g_assert_cmpuint(io_read(fx, 0x608, 4), ==, now);
    fx_free(fx);
}

static void test_pm_timer_sci(void)
{
    Fx *fx = fx_new(1);

    pm_new(fx);
    io_write(fx, 0x600, ACPI_PM1_TMR_STS, 2);                  /* start clean */
    g_assert_cmphex(io_read(fx, 0x600, 2) & ACPI_PM1_TMR_STS, ==, 0);
    io_write(fx, 0x602, ACPI_PM1_TMR_STS, 2);                  /* TMR_EN */
    /* Bit 23 toggles every 2^23 ticks (2.34 s): the timer raises the SCI. */
    vclock_step(fx->m->clock, 2400000000LL);
    g_assert_cmphex(io_read(fx, 0x600, 2) & ACPI_PM1_TMR_STS, ==, ACPI_PM1_TMR_STS);
    g_assert_cmpint(fx->level[9], ==, 1);
    io_write(fx, 0x600, ACPI_PM1_TMR_STS, 2);
    g_assert_cmpint(fx->level[9], ==, 0);
    vclock_step(fx->m->clock, 2400000000LL);
    g_assert_cmpint(fx->level[9], ==, 1);
    io_write(fx, 0x602, 0, 2);
    g_assert_cmpint(fx->level[9], ==, 0);
    fx_free(fx);
}

static void test_pm_vmstate(void)
{
    Fx *fx = fx_new(1);
    Device *pm = pm_new(fx);
    const VMStateDesc *vmsd = pm->cls->vmsd;
    g_autoptr(GByteArray) b = g_byte_array_new();
    static const uint8_t head[] = { 7, 'a', 'c', 'p', 'i', '-', 'p', 'm', 1, 0, 0, 0,
                                    14, 0, 0, 0, 0x00, 0x01, 0x00, 0x01, 0x00, 0x14 };
    GError *err = NULL;

    acpi_pm_power_button(pm);
    io_write(fx, 0x602, ACPI_PM1_PWRBTN_STS, 2);
    io_write(fx, 0x604, 5 << 10, 2);
    vmstate_save(vmsd, device_state(pm), b);
    g_assert_cmpuint(b->len, ==, vmstate_size(vmsd));
    g_assert_cmpmem(b->data, sizeof(head), head, sizeof(head));
    /* Load into a fresh device of another machine: same registers, SCI re-driven on
     * the next access. */
    Fx *fx2 = fx_new(1);
    Device *pm2 = pm_new(fx2);
    g_assert_cmpint(vmstate_load(vmsd, device_state(pm2), b->data, b->len, &err), ==, b->len);
    g_assert_no_error(err);
    g_assert_cmphex(io_read(fx2, 0x600, 4) & 0x01000100, ==, 0x01000100);
    g_assert_cmphex(io_read(fx2, 0x604, 2), ==, (5 << 10) | 1);
    io_write(fx2, 0x602, ACPI_PM1_PWRBTN_STS, 2);
    g_assert_cmpint(fx2->level[9], ==, 1);
    fx_free(fx2);
    fx_free(fx);
}

/* The firmware form: a loader script that, run as SeaBIOS runs it (romfile_loader:
 * ALLOCATE, ADD_POINTER, ADD_CHECKSUM), gives the same tables as the direct build when
 * the blobs land where the direct build puts them. */
static void test_table_loader(void)
{
    Fx *fx = fx_new(2);
    AcpiLoaderBlobs b;
    GError *err = NULL;
    const uint64_t rsdp_at = TABLES, tables_at = TABLES + 64;

    build(fx);
    g_autofree uint8_t *direct = g_memdup2(gpa(fx, TABLES, TABLES_LEN), TABLES_LEN);
    g_assert_true(acpi_build_pc_loader(fx->m, &b, &err));
    g_assert_no_error(err);
    g_assert_cmpuint(b.loader->len % 128, ==, 0);
    uint8_t *rsdp = g_memdup2(b.rsdp->data, b.rsdp->len);
    uint8_t *tabs = g_memdup2(b.tables->data, b.tables->len);
    unsigned allocs = 0, ptrs = 0, csums = 0;
    for (unsigned off = 0; off < b.loader->len; off += 128) {
        const uint8_t *e = b.loader->data + off;
        const char *f = (const char *)e + 4;
        bool is_rsdp = !strcmp(f, ACPI_LOADER_RSDP);
        g_assert_true(is_rsdp || !strcmp(f, ACPI_LOADER_TABLES));
        uint8_t *blob = is_rsdp ? rsdp : tabs;
        size_t len = is_rsdp ? b.rsdp->len : b.tables->len;
        switch (le32(e)) {
        case 1:                                             /* ALLOCATE */
            allocs++;
            g_assert_cmpuint(e[4 + 56 + 4], ==, is_rsdp ? 2 : 1);   /* FSEG / HIGH */
            break;
        case 2: {                                           /* ADD_POINTER */
            g_assert_cmpstr((const char *)e + 60, ==, ACPI_LOADER_TABLES);
            uint32_t at = le32(e + 116);
            uint8_t size = e[120];
            g_assert_true(size == 4 || size == 8);
            g_assert_cmpuint(at + size, <=, len);
            uint64_t v = size == 4 ? le32(blob + at) : le64(blob + at);
            g_assert_cmpuint(v, <, b.tables->len);
            v += tables_at;
            for (unsigned i = 0; i < size; i++)
                blob[at + i] = v >> (8 * i);
            ptrs++;
            break;
        }
        case 3: {                                           /* ADD_CHECKSUM */
            uint32_t at = le32(e + 60), start = le32(e + 64), n = le32(e + 68);
            g_assert_cmpuint(start + n, <=, len);
            g_assert_cmpuint(at, <, len);
            blob[at] -= sum(blob + start, n);
            csums++;
            break;
        }
        default:
            g_assert_not_reached();
        }
    }
    g_assert_cmpuint(allocs, ==, 2);
    g_assert_cmpuint(ptrs, >=, 7);          /* FACS, DSDT x2, RSDT x2, XSDT x2, RSDP x2 */
    g_assert_cmpuint(csums, >=, 6);
    g_assert_cmpmem(rsdp, b.rsdp->len, direct + (rsdp_at - TABLES), b.rsdp->len);
    g_assert_cmpmem(tabs, b.tables->len, direct + (tables_at - TABLES), b.tables->len);
    g_free(rsdp);
    g_free(tabs);
    g_byte_array_unref(b.tables);
    g_byte_array_unref(b.rsdp);
    g_byte_array_unref(b.loader);
    fx_free(fx);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/acpi/table-loader", test_table_loader);
    g_test_add_func("/acpi/fadt", test_fadt);
    g_test_add_func("/acpi/madt-1cpu", test_madt_1);
    g_test_add_func("/acpi/madt-4cpu", test_madt_4);
    g_test_add_func("/acpi/dsdt", test_dsdt);
    g_test_add_func("/acpi/dsdt-iasl", test_dsdt_iasl);
    g_test_add_func("/acpi/placement", test_placement);
    g_test_add_func("/acpi/pm/s5", test_pm_s5);
    g_test_add_func("/acpi/pm/power-button", test_pm_power_button);
    g_test_add_func("/acpi/pm/timer", test_pm_timer);
    g_test_add_func("/acpi/pm/timer-sci", test_pm_timer_sci);
    g_test_add_func("/acpi/pm/vmstate", test_pm_vmstate);
    g_test_add_func("/acpi/pm/sleep-flood", test_pm_sleep_flood);
    return g_test_run();
}
