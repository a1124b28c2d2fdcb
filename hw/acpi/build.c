/*
 * ACPI tables of the pc board (ACPI 6.3, chapter 5.2): RSDP, RSDT, XSDT, FADT, FACS,
 * DSDT (compiled from dsdt.asl, patched here) and MADT.
 *
 * The tables are built once as two blobs, the RSDP and the rest, with every pointer
 * between tables written as an offset into the tables blob and recorded, and every
 * checksum recorded. Direct boot places both blobs in the BIOS area and resolves the
 * pointers itself; firmware boot hands the blobs to SeaBIOS through fw_cfg with QEMU's
 * loader script (etc/table-loader: ALLOCATE, ADD_POINTER, ADD_CHECKSUM commands), so
 * SeaBIOS puts them where it likes and patches them the same way.
 */
#include <string.h>
#include "vireo/acpi.h"
#include "vireo/machine.h"
#include "vireo/pci.h"

#define ACPI_HDR_LEN        36
#define ACPI_CREATOR_ID     "VIRO"
#define FADT_REV            5           /* with FADT minor version 1: ACPI 5.1 */
#define FADT_MINOR          1
#define FADT_LEN            268
#define FACS_LEN            64
#define RSDP_LEN            36
#define LEGACY_RSDP_START   0xe0000ull  /* ACPI 6.3, 5.2.5.1: BIOS read-only area */
#define LEGACY_RSDP_END     0x100000ull

/* FADT fixed feature flags (ACPI 6.3, table 5-34). */
#define FADT_WBINVD         (1u << 0)
#define FADT_PROC_C1        (1u << 2)
#define FADT_SLP_BUTTON     (1u << 5)   /* no fixed sleep button */
#define FADT_FIX_RTC        (1u << 6)   /* no RTC wake status in PM1 */
#define FADT_RESET_REG_SUP  (1u << 10)
#define FADT_PLATFORM_CLOCK (1u << 15)
/* IA-PC boot architecture flags (table 5-35). */
#define BOOT_LEGACY_DEVICES (1u << 0)
#define BOOT_8042           (1u << 1)

#define GAS_SYSTEM_IO       1
#define GAS_ACCESS_BYTE     1
#define GAS_ACCESS_WORD     2
#define GAS_ACCESS_DWORD    3

/* MADT (5.2.12) structure types and MPS INTI flags (table 5-50). */
#define MADT_LAPIC          0
#define MADT_IOAPIC         1
#define MADT_ISO            2
#define MADT_LAPIC_NMI      4
#define MADT_PCAT_COMPAT    1u
#define MPS_ACTIVE_HIGH     0x1
#define MPS_EDGE            (0x1 << 2)
#define MPS_LEVEL           (0x3 << 2)

/* A pointer field: @size bytes at @off of the tables blob (or of the RSDP) holding an
 * offset into the tables blob, to which the tables' guest address is added. */
typedef struct AcpiPtr {
    bool in_rsdp;
    uint32_t off;
    uint8_t size;
} AcpiPtr;

/* A checksum byte at @off making the bytes [start, start + len) sum to zero. */
typedef struct AcpiCsum {
    bool in_rsdp;
    uint32_t off, start, len;
} AcpiCsum;

typedef struct Tables {
    GByteArray *b;
    uint64_t gpa;                       /* guest address of b->data[0]: 0 (relative) */
    uint8_t rsdp[36];
    GArray *ptrs, *csums;               /* AcpiPtr, AcpiCsum */
} Tables;

static void put(Tables *t, const void *p, size_t n) { g_byte_array_append(t->b, p, n); }
static void put_u8(Tables *t, uint8_t v) { put(t, &v, 1); }

static void put_le(Tables *t, uint64_t v, unsigned n)
{
    for (unsigned i = 0; i < n; i++)
        put_u8(t, v >> (8 * i));
}
static void put_u16(Tables *t, uint16_t v) { put_le(t, v, 2); }
static void put_u32(Tables *t, uint32_t v) { put_le(t, v, 4); }
static void put_u64(Tables *t, uint64_t v) { put_le(t, v, 8); }
static void put_zeros(Tables *t, unsigned n) { while (n--) put_u8(t, 0); }

static void set_le(Tables *t, unsigned off, uint64_t v, unsigned n)
{
    for (unsigned i = 0; i < n; i++)
        t->b->data[off + i] = v >> (8 * i);
}

static uint64_t addr_of(const Tables *t, unsigned off) { return t->gpa + off; }

/* A pointer to the table at @target, @width bytes, recorded for the relocation. */
static void put_ptr(Tables *t, unsigned target, unsigned width)
{
    AcpiPtr p = { .off = t->b->len, .size = width };

    g_array_append_val(t->ptrs, p);
    put_le(t, addr_of(t, target), width);
}

/* Pads so the next byte's guest address is a multiple of @align. */
static void align_to(Tables *t, unsigned align)
{
    while ((t->gpa + t->b->len) % align)
        put_u8(t, 0);
}

static uint8_t acpi_sum(const uint8_t *p, size_t n)
{
    uint8_t s = 0;

    while (n--)
        s += *p++;
    return s;
}

/* Generic Address Structure (5.2.3.2). */
static void put_gas(Tables *t, uint8_t space, uint8_t bits, uint8_t access, uint64_t addr)
{
    put_u8(t, space);
    put_u8(t, bits);
    put_u8(t, 0);
    put_u8(t, access);
    put_u64(t, addr);
}

/* System description table header (5.2.6); length and checksum come at the end. */
static unsigned table_begin(Tables *t, const char *sig, uint8_t rev)
{
    unsigned start;

    align_to(t, 16);
    start = t->b->len;
    put(t, sig, 4);
    put_u32(t, 0);
    put_u8(t, rev);
    put_u8(t, 0);
    put(t, ACPI_OEM_ID, 6);
    put(t, ACPI_OEM_TABLE_ID, 8);
    put_u32(t, 1);
    put(t, ACPI_CREATOR_ID, 4);
    put_u32(t, 1);
    return start;
}

static void table_end(Tables *t, unsigned start)
{
    uint8_t *h = t->b->data + start;

    AcpiCsum c = { .off = start + 9, .start = start, .len = t->b->len - start };

    set_le(t, start + 4, t->b->len - start, 4);
    h[9] = 0;
    h[9] = -acpi_sum(h, t->b->len - start);
    g_array_append_val(t->csums, c);
}

/* FACS (5.2.10): needed for the global lock of a full (not hardware-reduced) platform. */
static unsigned build_facs(Tables *t)
{
    unsigned start;

    align_to(t, 64);
    start = t->b->len;
    put(t, "FACS", 4);
    put_u32(t, FACS_LEN);
    put_zeros(t, FACS_LEN - 8);
    t->b->data[start + 32] = 2;         /* version */
    return start;
}

/* Finds @pat exactly once in @aml and overwrites it with @rep (same length). */
static bool aml_patch(uint8_t *aml, size_t len, const void *pat, const void *rep, size_t n,
                      const char *what, GError **errp)
{
    uint8_t *hit = NULL;
    unsigned count = 0;

    for (size_t i = 0; i + n <= len; i++) {
        if (!memcmp(aml + i, pat, n)) {
            hit = aml + i;
            count++;
        }
    }
    if (count != 1) {
        g_set_error(errp, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                    "ACPI: DSDT template has %u copies of the %s placeholder (need 1)",
                    count, what);
        return false;
    }
    memcpy(hit, rep, n);
    return true;
}

static void le_fields(uint8_t *out, unsigned width, const uint64_t *v, unsigned nv)
{
    for (unsigned f = 0; f < nv; f++)
        for (unsigned i = 0; i < width; i++)
            out[f * width + i] = v[f] >> (8 * i);
}

/* The min, max, translation and length fields of an address space descriptor
 * (6.4.3.5.1/2) with placeholder values @ph_min/@ph_len, set to [base, base+size). */
static bool patch_window(uint8_t *aml, size_t len, unsigned width, uint64_t ph_min,
                         uint64_t base, uint64_t size, const char *what, GError **errp)
{
    uint64_t ph[4] = { ph_min, ph_min + 0xfff, 0, 0x1000 };
    uint64_t nv[4] = { base, size ? base + size - 1 : base, 0, size };
    uint8_t pat[32], rep[32];

    le_fields(pat, width, ph, 4);
    le_fields(rep, width, nv, 4);
    return aml_patch(aml, len, pat, rep, 4 * width, what, errp);
}

/* Slots 2..31 keep their _EJ0 and _SUN only where devices can come and go: with a
 * hot-plug controller (m->hotplug, PIIX4_PM) and no built-in device in the slot.
 * Without _EJ0 Linux's acpiphp offers no eject; without _SUN its ACPI slot driver lists
 * no slot (as QEMU's DSDT, which describes no slot for a built-in device). Found by
 * their bytes, Method (_EJ0, 1) { PCEJ (slot) } and Name (_SUN, slot), and renamed
 * EJ0_ and SUN_ (same length). */
static bool patch_slots(Machine *m, uint8_t *aml, size_t len, GError **errp)
{
    uint32_t hotplug = m->hotplug && m->pci_bus ? ~pci_bus_builtin_slots(m->pci_bus) : 0;

    for (unsigned slot = 2; slot < PCI_SLOT_MAX; slot++) {
        bool on = hotplug & (1u << slot);
        uint8_t ej[11] = { '_', 'E', 'J', '0', 0x01, 'P', 'C', 'E', 'J', 0x0a, slot };
        uint8_t sun[7] = { 0x08, '_', 'S', 'U', 'N', 0x0a, slot };
        uint8_t ej_rep[11], sun_rep[7];
        memcpy(ej_rep, ej, sizeof(ej));
        memcpy(sun_rep, sun, sizeof(sun));
        if (!on) {
            memcpy(ej_rep, "EJ0_", 4);
            memcpy(sun_rep + 1, "SUN_", 4);
        }
        if (!aml_patch(aml, len, ej, ej_rep, sizeof(ej), "slot _EJ0", errp) ||
            !aml_patch(aml, len, sun, sun_rep, sizeof(sun), "slot _SUN", errp))
            return false;
    }
    return true;
}

static bool patch_dsdt(Machine *m, uint8_t *aml, size_t len, GError **errp)
{
    PciWindows w = { 0 };

    if (m->pci_bus)
        pci_bus_get_windows(m->pci_bus, &w);
    if (!patch_window(aml, len, 4, 0xa5a5a000ull, w.mem32_base, w.mem32_size,
                      "32-bit PCI window", errp) ||
        !patch_window(aml, len, 8, 0xa5a5a5a5a5a5a000ull, w.mem64_base, w.mem64_size,
                      "64-bit PCI window", errp))
        return false;
    for (int i = 0; i < 4; i++) {
        uint8_t pat[6] = { 'C', 'M', '1' + i, 'S', 0x0a, 0x0f }, rep[6];
        memcpy(rep, pat, 6);
        rep[5] = i < MACHINE_MAX_SERIAL && m->serial[i] ? 0x0f : 0;
        if (!aml_patch(aml, len, pat, rep, 6, "COM presence", errp))
            return false;
    }
    return patch_slots(m, aml, len, errp);
}

static bool build_dsdt(Machine *m, Tables *t, unsigned *off, GError **errp)
{
    unsigned len = acpi_dsdt_template_len, start;
    uint8_t *h;

    align_to(t, 16);
    start = t->b->len;
    put(t, acpi_dsdt_template, len);
    h = t->b->data + start;
    if (len < ACPI_HDR_LEN || memcmp(h, "DSDT", 4)) {
        g_set_error(errp, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, "ACPI: bad DSDT template");
        return false;
    }
    if (!patch_dsdt(m, h + ACPI_HDR_LEN, len - ACPI_HDR_LEN, errp))
        return false;
    memcpy(h + 10, ACPI_OEM_ID, 6);     /* iasl pads the OEM fields with NULs */
    memcpy(h + 16, ACPI_OEM_TABLE_ID, 8);
    table_end(t, start);
    *off = start;
    return true;
}

/* FADT (5.2.9), revision 5.1 layout; offsets in the comments. */
static unsigned build_fadt(Tables *t, unsigned facs, unsigned dsdt)
{
    unsigned start = table_begin(t, "FACP", FADT_REV);

    put_ptr(t, facs, 4);                    /* 36 FIRMWARE_CTRL */
    put_ptr(t, dsdt, 4);                    /* 40 DSDT */
    put_u8(t, 0);                           /* 44 reserved */
    put_u8(t, 0);                           /* 45 preferred PM profile: unspecified */
    put_u16(t, ACPI_SCI_IRQ);               /* 46 SCI_INT */
    put_u32(t, 0);                          /* 48 SMI_CMD: none, ACPI is always on */
    put_u8(t, 0);                           /* 52 ACPI_ENABLE */
    put_u8(t, 0);                           /* 53 ACPI_DISABLE */
    put_u8(t, 0);                           /* 54 S4BIOS_REQ */
    put_u8(t, 0);                           /* 55 PSTATE_CNT */
    put_u32(t, ACPI_PM1_EVT_BLK);           /* 56 PM1a_EVT_BLK */
    put_u32(t, 0);                          /* 60 PM1b_EVT_BLK */
    put_u32(t, ACPI_PM1_CNT_BLK);           /* 64 PM1a_CNT_BLK */
    put_u32(t, 0);                          /* 68 PM1b_CNT_BLK */
    put_u32(t, 0);                          /* 72 PM2_CNT_BLK */
    put_u32(t, ACPI_PM_TMR_BLK);            /* 76 PM_TMR_BLK */
    put_u32(t, ACPI_GPE0_BASE);             /* 80 GPE0_BLK (PIIX4_PM, pcihp.c) */
    put_u32(t, 0);                          /* 84 GPE1_BLK */
    put_u8(t, 4);                           /* 88 PM1_EVT_LEN */
    put_u8(t, 2);                           /* 89 PM1_CNT_LEN */
    put_u8(t, 0);                           /* 90 PM2_CNT_LEN */
    put_u8(t, 4);                           /* 91 PM_TMR_LEN */
    put_u8(t, ACPI_GPE0_LEN);               /* 92 GPE0_BLK_LEN */
    put_zeros(t, 3);                        /* 93 GPE1_BLK_LEN, GPE1_BASE, CST_CNT */
    put_u16(t, 0x0fff);                     /* 96 P_LVL2_LAT: C2 unsupported */
    put_u16(t, 0x0fff);                     /* 98 P_LVL3_LAT: C3 unsupported */
    put_zeros(t, 8);                        /* 100 FLUSH_*, DUTY_*, DAY/MON_ALRM */
    put_u8(t, 0x32);                        /* 108 CENTURY: CMOS register */
    put_u16(t, BOOT_LEGACY_DEVICES | BOOT_8042);    /* 109 IAPC_BOOT_ARCH */
    put_u8(t, 0);                           /* 111 reserved */
    put_u32(t, FADT_WBINVD | FADT_PROC_C1 | FADT_SLP_BUTTON | FADT_FIX_RTC |
               FADT_RESET_REG_SUP | FADT_PLATFORM_CLOCK);   /* 112 flags */
    put_gas(t, GAS_SYSTEM_IO, 8, GAS_ACCESS_BYTE, ACPI_RESET_PORT);  /* 116 RESET_REG */
    put_u8(t, ACPI_RESET_VALUE);            /* 128 RESET_VALUE */
    put_u16(t, 0);                          /* 129 ARM_BOOT_ARCH */
    put_u8(t, FADT_MINOR);                  /* 131 FADT minor version */
    put_u64(t, 0);                          /* 132 X_FIRMWARE_CTRL (32-bit one is set) */
    put_ptr(t, dsdt, 8);                    /* 140 X_DSDT */
    put_gas(t, GAS_SYSTEM_IO, 32, GAS_ACCESS_WORD, ACPI_PM1_EVT_BLK);  /* 148 */
    put_gas(t, 0, 0, 0, 0);                 /* 160 X_PM1b_EVT_BLK */
    put_gas(t, GAS_SYSTEM_IO, 16, GAS_ACCESS_WORD, ACPI_PM1_CNT_BLK);  /* 172 */
    put_gas(t, 0, 0, 0, 0);                 /* 184 X_PM1b_CNT_BLK */
    put_gas(t, 0, 0, 0, 0);                 /* 196 X_PM2_CNT_BLK */
    put_gas(t, GAS_SYSTEM_IO, 32, GAS_ACCESS_DWORD, ACPI_PM_TMR_BLK);  /* 208 */
    put_gas(t, GAS_SYSTEM_IO, ACPI_GPE0_LEN * 8, GAS_ACCESS_BYTE, ACPI_GPE0_BASE); /* 220 */
    put_gas(t, 0, 0, 0, 0);                 /* 232 X_GPE1_BLK */
    put_gas(t, 0, 0, 0, 0);                 /* 244 SLEEP_CONTROL_REG */
    put_gas(t, 0, 0, 0, 0);                 /* 256 SLEEP_STATUS_REG */
    g_assert(t->b->len - start == FADT_LEN);
    table_end(t, start);
    return start;
}

static void put_iso(Tables *t, uint8_t irq, uint32_t gsi, uint16_t flags)
{
    put_u8(t, MADT_ISO);
    put_u8(t, 10);
    put_u8(t, 0);                           /* bus: ISA */
    put_u8(t, irq);
    put_u32(t, gsi);
    put_u16(t, flags);
}

/* MADT (5.2.12): one enabled local APIC per vCPU (APIC IDs from the -smp topology,
 * m->apic_ids, or 0..n-1), the IOAPIC with ID 0 (KVM's reset value) at GSI base 0, and
 * the ISA overrides. */
static unsigned build_madt(Tables *t, unsigned ncpus, const uint32_t *apic_ids)
{
    unsigned start = table_begin(t, "APIC", 5);

    put_u32(t, ACPI_LAPIC_ADDR);
    put_u32(t, MADT_PCAT_COMPAT);           /* the 8259s exist too */
    for (unsigned i = 0; i < ncpus; i++) {
        put_u8(t, MADT_LAPIC);
        put_u8(t, 8);
        put_u8(t, i);                       /* ACPI processor UID */
        put_u8(t, apic_ids ? apic_ids[i] : i);   /* APIC ID */
        put_u32(t, 1);                      /* enabled */
    }
    put_u8(t, MADT_IOAPIC);
    put_u8(t, 12);
    put_u8(t, 0);                           /* IOAPIC ID */
    put_u8(t, 0);
    put_u32(t, ACPI_IOAPIC_ADDR);
    put_u32(t, 0);                          /* GSI base */
    put_iso(t, 0, 2, MPS_ACTIVE_HIGH | MPS_EDGE);       /* PIT on IOAPIC pin 2 */
    put_iso(t, ACPI_SCI_IRQ, ACPI_SCI_IRQ, MPS_ACTIVE_HIGH | MPS_LEVEL);
    put_u8(t, MADT_LAPIC_NMI);
    put_u8(t, 6);
    put_u8(t, 0xff);                        /* all processors */
    put_u16(t, 0);
    put_u8(t, 1);                           /* LINT1 */
    table_end(t, start);
    return start;
}

static unsigned build_root(Tables *t, const char *sig, unsigned width,
                           const unsigned *tables, unsigned n)
{
    unsigned start = table_begin(t, sig, 1);

    for (unsigned i = 0; i < n; i++)
        put_ptr(t, tables[i], width);
    table_end(t, start);
    return start;
}

/* RSDP (5.2.5.3): both checksums. */
static void fill_rsdp(Tables *t, unsigned rsdt, unsigned xsdt)
{
    uint8_t *r = t->rsdp;
    const AcpiPtr p[2] = { { true, 16, 4 }, { true, 24, 8 } };
    const AcpiCsum c[2] = { { true, 8, 0, 20 }, { true, 32, 0, RSDP_LEN } };

    memset(r, 0, RSDP_LEN);
    memcpy(r, "RSD PTR ", 8);
    memcpy(r + 9, ACPI_OEM_ID, 6);
    r[15] = 2;
    for (unsigned i = 0; i < 4; i++)
        r[16 + i] = rsdt >> (8 * i);
    r[20] = RSDP_LEN;
    for (unsigned i = 0; i < 8; i++)
        r[24 + i] = (uint64_t)xsdt >> (8 * i);
    g_array_append_vals(t->ptrs, p, 2);
    g_array_append_vals(t->csums, c, 2);
}

static bool check_cpus(Machine *m, GError **errp)
{
    if (m->ncpus == 0 || m->ncpus > 255) {
        g_set_error(errp, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                    "ACPI: %u CPUs cannot be described with xAPIC IDs (1..255)", m->ncpus);
        return false;
    }
    return true;
}

static void tables_free(Tables *t)
{
    g_byte_array_free(t->b, TRUE);
    g_array_free(t->ptrs, TRUE);
    g_array_free(t->csums, TRUE);
}

/* Builds the relocatable blobs into @t (free with tables_free). */
static bool build_all(Machine *m, Tables *t, GError **errp)
{
    unsigned facs, dsdt, sdt[2], rsdt, xsdt;

    *t = (Tables){ .b = g_byte_array_new(), .ptrs = g_array_new(FALSE, FALSE, sizeof(AcpiPtr)),
                   .csums = g_array_new(FALSE, FALSE, sizeof(AcpiCsum)) };
    if (!check_cpus(m, errp))
        return false;
    facs = build_facs(t);
    if (!build_dsdt(m, t, &dsdt, errp))
        return false;
    sdt[0] = build_fadt(t, facs, dsdt);
    sdt[1] = build_madt(t, m->ncpus, m->apic_ids);
    rsdt = build_root(t, "RSDT", 4, sdt, 2);
    xsdt = build_root(t, "XSDT", 8, sdt, 2);
    fill_rsdp(t, rsdt, xsdt);
    return true;
}

/* Adds @base to every pointer and redoes every checksum, as the loader would. */
static void relocate(Tables *t, uint64_t base)
{
    for (guint i = 0; i < t->ptrs->len; i++) {
        AcpiPtr *p = &g_array_index(t->ptrs, AcpiPtr, i);
        uint8_t *f = (p->in_rsdp ? t->rsdp : t->b->data) + p->off;
        uint64_t v = 0;
        for (unsigned j = 0; j < p->size; j++)
            v |= (uint64_t)f[j] << (8 * j);
        v += base;
        for (unsigned j = 0; j < p->size; j++)
            f[j] = v >> (8 * j);
    }
    for (guint i = 0; i < t->csums->len; i++) {
        AcpiCsum *c = &g_array_index(t->csums, AcpiCsum, i);
        uint8_t *f = c->in_rsdp ? t->rsdp : t->b->data;
        f[c->off] = 0;
        f[c->off] = -acpi_sum(f + c->start, c->len);
    }
}

static bool check_placement(uint64_t gpa, GError **errp)
{
    if (gpa & 15 || gpa < LEGACY_RSDP_START || gpa + RSDP_LEN > LEGACY_RSDP_END) {
        g_set_error(errp, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                    "ACPI: tables at 0x%" G_GINT64_MODIFIER "x: the RSDP must be 16-byte "
                    "aligned inside 0xe0000..0xfffff", gpa);
        return false;
    }
    return true;
}

/* Direct boot: the RSDP at @gpa, the tables from the next 64-byte boundary (the FACS
 * must be 64-byte aligned, ACPI 6.3 5.2.10). */
bool acpi_build_pc(Machine *m, uint64_t gpa, uint64_t max_len, GError **errp)
{
    Tables t = { 0 };
    uint64_t base = (gpa + RSDP_LEN + 63) & ~63ull;
    bool ok = false;

    if (!check_placement(gpa, errp) || !build_all(m, &t, errp))
        goto out;
    if (base - gpa + t.b->len > max_len) {
        g_set_error(errp, G_IO_ERROR, G_IO_ERROR_NO_SPACE,
                    "ACPI: tables need %" G_GUINT64_FORMAT " bytes, only %" G_GUINT64_FORMAT
                    " reserved at 0x%" G_GINT64_MODIFIER "x", base - gpa + t.b->len, max_len,
                    gpa);
        goto out;
    }
    relocate(&t, base);
    if (!as_dma_write(m->sysmem, gpa, t.rsdp, RSDP_LEN) ||
        !as_dma_write(m->sysmem, base, t.b->data, t.b->len)) {
        g_set_error(errp, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                    "ACPI: guest range 0x%" G_GINT64_MODIFIER "x+%" G_GUINT64_FORMAT " for the "
                    "tables is not RAM", gpa, base - gpa + t.b->len);
        goto out;
    }
    m->acpi_rsdp = gpa;
    ok = true;
out:
    if (t.b)
        tables_free(&t);
    return ok;
}

/* ---- QEMU's BIOS linker/loader script (hw/acpi/bios-linker-loader.c) ---- */

#define LOADER_ENTRY_LEN    128
#define LOADER_ALLOCATE     1
#define LOADER_ADD_POINTER  2
#define LOADER_ADD_CHECKSUM 3
#define LOADER_ZONE_HIGH    1
#define LOADER_ZONE_FSEG    2
#define LOADER_FILE_LEN     56

static uint8_t *loader_entry(GByteArray *l, uint32_t command)
{
    unsigned off = l->len;

    g_byte_array_set_size(l, off + LOADER_ENTRY_LEN);
    memset(l->data + off, 0, LOADER_ENTRY_LEN);
    for (unsigned i = 0; i < 4; i++)
        l->data[off + i] = command >> (8 * i);
    return l->data + off + 4;
}

static void le32_at(uint8_t *p, uint32_t v)
{
    for (unsigned i = 0; i < 4; i++)
        p[i] = v >> (8 * i);
}

static void loader_allocate(GByteArray *l, const char *file, uint32_t align, uint8_t zone)
{
    uint8_t *e = loader_entry(l, LOADER_ALLOCATE);

    g_strlcpy((char *)e, file, LOADER_FILE_LEN);
    le32_at(e + LOADER_FILE_LEN, align);
    e[LOADER_FILE_LEN + 4] = zone;
}

bool acpi_build_pc_loader(Machine *m, AcpiLoaderBlobs *out, GError **errp)
{
    Tables t;

    memset(out, 0, sizeof(*out));
    if (!build_all(m, &t, errp)) {
        tables_free(&t);
        return false;
    }
    GByteArray *l = g_byte_array_new();
    loader_allocate(l, ACPI_LOADER_TABLES, 64, LOADER_ZONE_HIGH);
    loader_allocate(l, ACPI_LOADER_RSDP, 16, LOADER_ZONE_FSEG);
    for (guint i = 0; i < t.ptrs->len; i++) {
        AcpiPtr *p = &g_array_index(t.ptrs, AcpiPtr, i);
        uint8_t *e = loader_entry(l, LOADER_ADD_POINTER);
        g_strlcpy((char *)e, p->in_rsdp ? ACPI_LOADER_RSDP : ACPI_LOADER_TABLES,
                  LOADER_FILE_LEN);
        g_strlcpy((char *)e + LOADER_FILE_LEN, ACPI_LOADER_TABLES, LOADER_FILE_LEN);
        le32_at(e + 2 * LOADER_FILE_LEN, p->off);
        e[2 * LOADER_FILE_LEN + 4] = p->size;
    }
    for (guint i = 0; i < t.csums->len; i++) {
        AcpiCsum *c = &g_array_index(t.csums, AcpiCsum, i);
        uint8_t *e = loader_entry(l, LOADER_ADD_CHECKSUM);
        g_strlcpy((char *)e, c->in_rsdp ? ACPI_LOADER_RSDP : ACPI_LOADER_TABLES,
                  LOADER_FILE_LEN);
        le32_at(e + LOADER_FILE_LEN, c->off);
        le32_at(e + LOADER_FILE_LEN + 4, c->start);
        le32_at(e + LOADER_FILE_LEN + 8, c->len);
    }
    out->loader = l;
    out->rsdp = g_byte_array_new();
    g_byte_array_append(out->rsdp, t.rsdp, RSDP_LEN);
    out->tables = t.b;
    t.b = g_byte_array_new();
    tables_free(&t);
    return true;
}
