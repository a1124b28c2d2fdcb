/*
 * The PVH boot contract itself: the CPU state at the entry point (32-bit protected mode,
 * paging off, IF clear), struct hvm_start_info (magic, version 1, command line, memory
 * map, RSDP) and the memory map's consistency with the image we were loaded as and with
 * the CMOS size fields.  The runner passes "pvhtest token=vireo42" on the command line.
 */
#include "lib/io.h"
#include "lib/cmos.h"
#include "lib/pvh.h"
#include "lib/test.h"
#include "lib/string.h"

extern char __image_start[], __image_end[];

static void check_entry_state(void)
{
    CHECK((pvh_entry_cr0 & 1) && !(pvh_entry_cr0 & 0x80000000u),
          "entered with CR0.PE=1, CR0.PG=0 (CR0=0x%x)", pvh_entry_cr0);
    CHECK(!(pvh_entry_eflags & (1u << 9)) && !(pvh_entry_eflags & (1u << 17)),
          "entered with EFLAGS.IF=0, VM=0 (EFLAGS=0x%x)", pvh_entry_eflags);
    CHECK(!(pvh_entry_cr4 & (1u << 5)), "entered with CR4.PAE=0 (CR4=0x%x)", pvh_entry_cr4);
}

static void check_start_info(void)
{
    CHECK(pvh_info->version >= 1, "start_info version %u (>= 1: has a memory map)",
          pvh_info->version);
    char tok[16];
    CHECK(pvh_cmdline_get("token", tok, sizeof(tok)) && !strncmp(tok, "vireo42", 8),
          "command line \"%s\" arrived intact", pvh_cmdline());
    CHECK(pvh_info->cmdline_paddr < (1ull << 32), "command line below 4 GiB (0x%lx)",
          pvh_info->cmdline_paddr);
    if (pvh_info->rsdp_paddr)
        CHECK(!memcmp((const void *)(uintptr_t)pvh_info->rsdp_paddr, "RSD PTR ", 8),
              "rsdp_paddr 0x%lx points at an RSDP signature", pvh_info->rsdp_paddr);
    else
        test_info("rsdp_paddr is 0: the guest must scan the BIOS area for the RSDP\n");
}

static void check_memmap(void)
{
    uint32_t n;
    const struct hvm_memmap_table_entry *m = pvh_memmap(&n);
    if (!CHECK(m && n >= 2 && n < 128, "memory map at 0x%lx with %u entries",
               (uint64_t)(uintptr_t)m, n))
        return;
    bool sorted = true;
    for (uint32_t i = 0; i < n; i++) {
        test_info("%016lx-%016lx %s\n", m[i].addr, m[i].addr + m[i].size - 1,
                  e820_type_name(m[i].type));
        sorted &= m[i].size > 0 && (i == 0 || m[i].addr >= m[i - 1].addr + m[i - 1].size);
    }
    CHECK(sorted, "entries sorted, non-empty, non-overlapping");
    CHECK(pvh_is_ram(0, 0x9f000), "RAM from 0 to 636 KiB (conventional memory)");
    CHECK(!pvh_is_ram(0xa0000, 1) && !pvh_is_ram(0xf0000, 1),
          "0xa0000 and 0xf0000 (VGA window, BIOS area) are not RAM");
    uintptr_t s = (uintptr_t)__image_start, e = (uintptr_t)__image_end;
    CHECK(pvh_is_ram(s, e - s), "the loaded image 0x%lx-0x%lx lies in RAM", (uint64_t)s,
          (uint64_t)e);
    test_info("start_info at 0x%lx (%s)\n", (uint64_t)(uintptr_t)pvh_info,
              pvh_is_ram((uintptr_t)pvh_info, sizeof(*pvh_info)) ? "in RAM" : "outside RAM");
    uint64_t top, total = pvh_ram_total(&top);
    uint64_t cmos = cmos_ram_below_4g();
    CHECK(top <= cmos && cmos - top <= (1u << 20),
          "top of RAM below 4 GiB 0x%lx is at most 1 MiB short of CMOS's 0x%lx", top, cmos);
    uint64_t want = pvh_cmdline_u64("mem_mib", 0) << 20;
    if (want)
        CHECK(total <= want && total >= want - (2u << 20),
              "usable RAM %lu KiB is -m %lu MiB less at most 2 MiB of holes", total >> 10,
              want >> 20);
}

int guest_main(void)
{
    test_begin("pvh");
    check_entry_state();
    if (!CHECK(pvh_valid(), "EBX pointed at struct hvm_start_info (magic 0x336ec578)"))
        test_end();
    check_start_info();
    check_memmap();
    test_end();
}
