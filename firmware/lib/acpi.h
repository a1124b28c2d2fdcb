/* Just enough ACPI (spec 6.5, chapter 5) to find tables, count CPUs and power off. */
#ifndef GUEST_ACPI_H
#define GUEST_ACPI_H

#include <stdint.h>
#include <stdbool.h>

struct acpi_header {
    char signature[4];
    uint32_t length;
    uint8_t revision, checksum;
    char oem_id[6], oem_table_id[8];
    uint32_t oem_revision, creator_id, creator_revision;
} __attribute__((packed));

struct acpi_rsdp {
    char signature[8];          /* "RSD PTR " */
    uint8_t checksum;
    char oem_id[6];
    uint8_t revision;           /* 0: ACPI 1.0 (20-byte RSDP), 2: ACPI 2.0+ */
    uint32_t rsdt_addr;
    uint32_t length;            /* revision >= 2 from here */
    uint64_t xsdt_addr;
    uint8_t ext_checksum, reserved[3];
} __attribute__((packed));

/* What acpi_init() learned. */
struct acpi_info {
    const struct acpi_rsdp *rsdp;
    const struct acpi_header *root;     /* XSDT if present and valid, else RSDT */
    bool root_is_xsdt;
    const struct acpi_header *fadt, *dsdt, *madt;
    uint32_t pm1a_cnt, pm1b_cnt;        /* I/O ports; 0 if absent */
    bool have_s5;
    uint8_t slp_typa, slp_typb;         /* from \_S5 */
    unsigned cpus;                      /* enabled processor LAPIC/x2APIC entries in the MADT */
    uint32_t lapic_addr;
    unsigned ioapics;
};

extern struct acpi_info acpi;

/* Byte sum of a range (an ACPI structure is valid when it is 0). */
uint8_t acpi_checksum(const void *p, uint32_t len);
/* Finds the RSDP (start_info.rsdp_paddr first, then the BIOS area 0xe0000-0xfffff) and
 * parses FADT, DSDT (\_S5) and MADT.  Returns false if no valid RSDP was found. */
bool acpi_init(void);
/* The n-th table with this signature listed in the XSDT/RSDT, or NULL. */
const struct acpi_header *acpi_find(const char sig[4], unsigned n);
/* Number of tables listed in the root table. */
unsigned acpi_table_count(void);
const struct acpi_header *acpi_table(unsigned i);
/* Writes SLP_TYP(S5) | SLP_EN to PM1a_CNT (and PM1b_CNT).  Returns only if the machine did
 * not power off (false if there was nothing to write to). */
bool acpi_poweroff(void);

#endif
