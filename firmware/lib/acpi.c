#include "acpi.h"
#include "pvh.h"
#include "io.h"
#include "string.h"
#include "cmos.h"

struct acpi_info acpi;

uint8_t acpi_checksum(const void *p, uint32_t len)
{
    const uint8_t *b = p;
    uint8_t sum = 0;
    while (len--)
        sum += *b++;
    return sum;
}

static bool rsdp_valid(const struct acpi_rsdp *r)
{
    if (memcmp(r->signature, "RSD PTR ", 8) || acpi_checksum(r, 20))
        return false;
    return r->revision < 2 || (r->length >= 36 && r->length < 4096 &&
                               !acpi_checksum(r, r->length));
}

/* ACPI 6.5, 5.2.5.1: on legacy BIOS systems the RSDP sits on a 16-byte boundary in the
 * first KiB of the EBDA or in 0xe0000-0xfffff. */
static const struct acpi_rsdp *rsdp_find(void)
{
    if (pvh_valid() && pvh_info->rsdp_paddr) {
        const struct acpi_rsdp *r = (const void *)(uintptr_t)pvh_info->rsdp_paddr;
        if (rsdp_valid(r))
            return r;
    }
    /* One 64-bit compare per paragraph: this scan is the guest's longest loop. */
    const uint64_t sig = 0x2052545020445352ull;     /* "RSD PTR " little-endian */
    for (uintptr_t a = 0xe0000; a < 0x100000; a += 16)
        if (*(const volatile uint64_t *)a == sig && rsdp_valid((const void *)a))
            return (const void *)a;
    return NULL;
}

static bool table_valid(const struct acpi_header *h)
{
    return h && h->length >= sizeof(*h) && h->length < (64u << 20) &&
           !acpi_checksum(h, h->length);
}

unsigned acpi_table_count(void)
{
    if (!acpi.root)
        return 0;
    return (acpi.root->length - sizeof(struct acpi_header)) / (acpi.root_is_xsdt ? 8 : 4);
}

const struct acpi_header *acpi_table(unsigned i)
{
    const uint8_t *e = (const uint8_t *)(acpi.root + 1);
    uint64_t a;
    if (acpi.root_is_xsdt)
        memcpy(&a, e + 8 * i, 8);           /* XSDT entries are only 4-byte aligned */
    else
        a = ((const uint32_t *)e)[i];
    return a && a < (1ull << 32) ? (const void *)(uintptr_t)a : NULL;
}

const struct acpi_header *acpi_find(const char sig[4], unsigned n)
{
    unsigned count = acpi_table_count();
    for (unsigned i = 0; i < count; i++) {
        const struct acpi_header *h = acpi_table(i);
        if (h && !memcmp(h->signature, sig, 4) && table_valid(h) && n-- == 0)
            return h;
    }
    return NULL;
}

/* AML PkgLength (ACPI 6.5, 20.2.4): lead byte bits 7:6 = count of extra bytes. */
static const uint8_t *aml_skip_pkglength(const uint8_t *p)
{
    return p + 1 + (*p >> 6);
}

/* One integer data object: ZeroOp, OneOp, BytePrefix/WordPrefix/DWordPrefix n. */
static const uint8_t *aml_integer(const uint8_t *p, uint8_t *out)
{
    switch (*p) {
    case 0x00: *out = 0; return p + 1;
    case 0x01: *out = 1; return p + 1;
    case 0x0a: case 0x0b: case 0x0c: *out = p[1]; return p + 1 + (1 << (*p - 0x0a));
    default: return NULL;
    }
}

/* Looks for NameOp "_S5_" PackageOp in the DSDT (or an SSDT) and reads SLP_TYPa/b. */
static bool parse_s5(const struct acpi_header *t)
{
    const uint8_t *p = (const uint8_t *)(t + 1), *end = (const uint8_t *)t + t->length;
    for (; p + 8 < end; p++) {
        uint32_t name;
        memcpy(&name, p, 4);                        /* one unaligned load per byte */
        if (name != 0x5f35535f || p[4] != 0x12 || (p[-1] != 0x08 && p[-1] != '\\'))
            continue;
        const uint8_t *q = aml_skip_pkglength(p + 5) + 1;   /* skip NumElements */
        q = q < end ? aml_integer(q, &acpi.slp_typa) : NULL;
        if (q && q < end && aml_integer(q, &acpi.slp_typb))
            return true;
        if (q) {                                            /* one element is enough */
            acpi.slp_typb = acpi.slp_typa;
            return true;
        }
    }
    return false;
}

static void parse_fadt(const struct acpi_header *f)
{
    const uint8_t *b = (const uint8_t *)f;
    uint32_t dsdt32, pm1a, pm1b;
    uint64_t dsdt64 = 0, xpm1a = 0;
    memcpy(&dsdt32, b + 40, 4);
    memcpy(&pm1a, b + 64, 4);
    memcpy(&pm1b, b + 68, 4);
    if (f->length >= 148)
        memcpy(&dsdt64, b + 140, 8);
    /* X_PM1a_CNT_BLK (GAS at 172): used only if it is in system I/O space (id 1). */
    if (f->length >= 184 && b[172] == 1)
        memcpy(&xpm1a, b + 176, 8);
    acpi.pm1a_cnt = xpm1a ? (uint32_t)xpm1a : pm1a;
    acpi.pm1b_cnt = pm1b;
    uint64_t d = dsdt64 && dsdt64 < (1ull << 32) ? dsdt64 : dsdt32;
    const struct acpi_header *dsdt = (const void *)(uintptr_t)d;
    if (d && table_valid(dsdt) && !memcmp(dsdt->signature, "DSDT", 4))
        acpi.dsdt = dsdt;
}

/* MADT (ACPI 6.5, 5.2.12): count enabled (or online-capable) processors and IOAPICs. */
static void parse_madt(const struct acpi_header *m)
{
    const uint8_t *p = (const uint8_t *)m + 44, *end = (const uint8_t *)m + m->length;
    memcpy(&acpi.lapic_addr, (const uint8_t *)m + 36, 4);
    for (; p + 2 <= end && p[1] >= 2 && p + p[1] <= end; p += p[1]) {
        uint32_t flags;
        if (p[0] == 0 && p[1] >= 8) {               /* Processor Local APIC */
            memcpy(&flags, p + 4, 4);
            acpi.cpus += (flags & 3) != 0;
        } else if (p[0] == 9 && p[1] >= 16) {       /* Processor Local x2APIC */
            memcpy(&flags, p + 8, 4);
            acpi.cpus += (flags & 3) != 0;
        } else if (p[0] == 1) {
            acpi.ioapics++;
        }
    }
}

bool acpi_init(void)
{
    memset(&acpi, 0, sizeof(acpi));
    acpi.rsdp = rsdp_find();
    if (!acpi.rsdp)
        return false;
    const struct acpi_header *x = NULL;
    if (acpi.rsdp->revision >= 2 && acpi.rsdp->xsdt_addr && acpi.rsdp->xsdt_addr < (1ull << 32))
        x = (const void *)(uintptr_t)acpi.rsdp->xsdt_addr;
    if (table_valid(x) && !memcmp(x->signature, "XSDT", 4)) {
        acpi.root = x;
        acpi.root_is_xsdt = true;
    } else {
        const struct acpi_header *r = (const void *)(uintptr_t)acpi.rsdp->rsdt_addr;
        if (acpi.rsdp->rsdt_addr && table_valid(r) && !memcmp(r->signature, "RSDT", 4))
            acpi.root = r;
    }
    acpi.fadt = acpi_find("FACP", 0);
    if (acpi.fadt)
        parse_fadt(acpi.fadt);
    acpi.have_s5 = acpi.dsdt && parse_s5(acpi.dsdt);
    for (unsigned i = 0; !acpi.have_s5 && acpi_find("SSDT", i); i++)
        acpi.have_s5 = parse_s5(acpi_find("SSDT", i));
    acpi.madt = acpi_find("APIC", 0);
    if (acpi.madt)
        parse_madt(acpi.madt);
    return true;
}

#define PM1_SLP_TYP_SHIFT 10
#define PM1_SLP_TYP_MASK  (7u << 10)
#define PM1_SLP_EN        (1u << 13)

/* ACPI 6.5, 4.8.3.2.1 / 7.4.2: write SLP_TYPx with SLP_EN in one write per PM1x_CNT. */
bool acpi_poweroff(void)
{
    if (!acpi.pm1a_cnt || !acpi.have_s5)
        return false;
    uint16_t a = inw(acpi.pm1a_cnt) & ~(PM1_SLP_TYP_MASK | PM1_SLP_EN);
    outw(acpi.pm1a_cnt, a | acpi.slp_typa << PM1_SLP_TYP_SHIFT | PM1_SLP_EN);
    if (acpi.pm1b_cnt) {
        uint16_t b = inw(acpi.pm1b_cnt) & ~(PM1_SLP_TYP_MASK | PM1_SLP_EN);
        outw(acpi.pm1b_cnt, b | acpi.slp_typb << PM1_SLP_TYP_SHIFT | PM1_SLP_EN);
    }
    /* A VMM may act on the request asynchronously (QEMU finishes the current vCPU time
     * slice first), so only after two RTC seconds have ticked is it declared a failure. */
    for (int ticks = 0, s = cmos_read(RTC_SECONDS), n = 0; ticks < 2 && n < 5000000; n++) {
        int now = cmos_read(RTC_SECONDS);
        ticks += now != s;
        s = now;
    }
    return true;
}
