/*
 * ACPI power-off: find the RSDP (start_info.rsdp_paddr, else the BIOS area), walk
 * XSDT/RSDT to the FADT, take PM1a_CNT_BLK from it and SLP_TYPa from \_S5 in the DSDT,
 * check every checksum on the way, then write SLP_TYPa | SLP_EN.  Passing means the VMM
 * exits with status 0 right after that write; if the guest is still running it fails
 * through isa-debug-exit.
 */
#include "lib/io.h"
#include "lib/acpi.h"
#include "lib/pvh.h"
#include "lib/test.h"
#include "lib/string.h"

static void check_tables(void)
{
    const struct acpi_rsdp *r = acpi.rsdp;
    CHECK(!pvh_valid() || !pvh_info->rsdp_paddr || (uintptr_t)r == pvh_info->rsdp_paddr,
          "start_info.rsdp_paddr (0x%lx) points at the RSDP", pvh_valid() ? pvh_info->rsdp_paddr : 0);
    CHECK((uintptr_t)r >= 0xe0000 && (uintptr_t)r < 0x100000 && !((uintptr_t)r & 15),
          "RSDP at 0x%lx: 16-byte aligned in 0xe0000-0xfffff, where a BIOS scan finds it",
          (uint64_t)(uintptr_t)r);
    CHECK(acpi.root != NULL, "%s found with a valid checksum", r->revision >= 2 ? "XSDT" : "RSDT");
    unsigned n = acpi_table_count(), bad = 0;
    for (unsigned i = 0; i < n; i++) {
        const struct acpi_header *h = acpi_table(i);
        if (!h || acpi_checksum(h, h->length)) {
            bad++;
            continue;
        }
        test_info("%c%c%c%c at 0x%lx, %u bytes, revision %u\n", h->signature[0],
                  h->signature[1], h->signature[2], h->signature[3], (uint64_t)(uintptr_t)h,
                  h->length, h->revision);
    }
    CHECK(n > 0 && !bad, "%u tables listed, %u with a bad checksum or address", n, bad);
    CHECK(acpi.fadt != NULL, "FADT (FACP) present");
    CHECK(acpi.dsdt != NULL, "DSDT found through the FADT, checksum valid");
    CHECK(acpi.madt != NULL && acpi.cpus >= 1, "MADT lists %u enabled CPU(s), %u IOAPIC(s)",
          acpi.cpus, acpi.ioapics);
    CHECK(acpi.pm1a_cnt != 0, "PM1a_CNT_BLK at port 0x%x", acpi.pm1a_cnt);
    CHECK(acpi.have_s5, "\\_S5 package in the DSDT: SLP_TYPa=%u SLP_TYPb=%u", acpi.slp_typa,
          acpi.slp_typb);
}

int guest_main(void)
{
    test_begin("poweroff");
    if (!CHECK(acpi_init(), "RSDP found with a valid checksum"))
        test_end();
    check_tables();
    if (test_failures())
        test_end();
    kprintf("=== poweroff: writing 0x%x to PM1a_CNT (port 0x%x): the VMM should exit with status 0\n",
            acpi.slp_typa << 10 | 1 << 13, acpi.pm1a_cnt);
    acpi_poweroff();
    CHECK(false, "the machine is still running after the ACPI power-off request");
    test_end();
}
