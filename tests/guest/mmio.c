/*
 * Memory and MMIO: RAM reads/writes of every width at addresses across the memory map
 * (low memory, above 1 MiB, across a 2 MiB page boundary, the top of RAM), checked for
 * aliasing; unassigned MMIO reads all ones and swallows writes; MMIO round trips through
 * two in-kernel devices (LAPIC and IOAPIC registers).
 *
 * Unassigned reads: Vireo returns all ones, as a PCI master abort does on real hardware.
 * QEMU's pc returns 0 (its unassigned_mem_read), so the QEMU run passes unassigned=0.
 */
#include "lib/io.h"
#include "lib/pvh.h"
#include "lib/test.h"

extern char __image_start[], __image_end[];

/* Unassigned MMIO: in the PCI hole, below the usual 32-bit BAR window and the IOAPIC.
 * Overridable with mmio_hole=ADDR on the command line. */
#define DEFAULT_HOLE 0xd0000000u
#define LAPIC_BASE   0xfee00000u
#define IOAPIC_BASE  0xfec00000u

static bool overlaps(uint64_t a, uint64_t len, uint64_t b, uint64_t blen)
{
    return a < b + blen && b < a + len;
}

/* A RAM address is usable for the test if the memory map calls it RAM and nothing the
 * loader or we placed lives there. */
static bool usable(uint64_t a)
{
    const uint64_t len = 16;
    if (!pvh_is_ram(a, len))
        return false;
    if (overlaps(a, len, (uintptr_t)__image_start, __image_end - __image_start) ||
        overlaps(a, len, (uintptr_t)pvh_info, 4096) || overlaps(a, len, 0, 0x1000))
        return false;
    if (pvh_info->cmdline_paddr && overlaps(a, len, pvh_info->cmdline_paddr, 4096))
        return false;
    if (pvh_info->memmap_paddr && overlaps(a, len, pvh_info->memmap_paddr, 4096))
        return false;
    return true;
}

static uint64_t pattern(uint64_t a) { return 0x5a5a000000000000ull ^ (a * 0x9e3779b97f4a7c15ull); }

static void check_ram(void)
{
    uint64_t top;
    pvh_ram_total(&top);
    uint64_t addrs[] = {
        0x70000, 0x9f000, 0x200000 - 4, 0x1000000, 0x2000008, 0x4000000 - 8, 0x6000000,
        top - 16, top - 0x101000,
    };
    const unsigned n = sizeof(addrs) / sizeof(addrs[0]);
    uint64_t saved[sizeof(addrs) / sizeof(addrs[0])][2];
    bool use[sizeof(addrs) / sizeof(addrs[0])];
    for (unsigned i = 0; i < n; i++) {
        use[i] = usable(addrs[i]);
        if (!use[i]) {
            test_info("0x%lx skipped (not free RAM in this memory map)\n", addrs[i]);
            continue;
        }
        saved[i][0] = mmio_read64(addrs[i]);
        saved[i][1] = mmio_read64(addrs[i] + 8);
        mmio_write64(addrs[i], pattern(addrs[i]));      /* a distinct value per address */
    }
    for (unsigned i = 0; i < n; i++) {                  /* then all read back: no aliasing */
        if (!use[i])
            continue;
        uint64_t a = addrs[i], v = mmio_read64(a);
        bool ok = v == pattern(a);
        mmio_write8(a + 8, 0xa1);
        mmio_write16(a + 9, 0xb2c3);                    /* unaligned */
        mmio_write32(a + 11, 0xd4e5f607);               /* unaligned */
        uint64_t expect = 0x00d4e5f607b2c3a1ull | (saved[i][1] & 0xff00000000000000ull);
        ok &= mmio_read8(a + 8) == 0xa1 && mmio_read16(a + 9) == 0xb2c3 &&
              mmio_read32(a + 11) == 0xd4e5f607 && mmio_read32(a + 8) == 0x07b2c3a1 &&
              mmio_read64(a + 8) == expect;
        mmio_write64(a, saved[i][0]);
        mmio_write64(a + 8, saved[i][1]);
        CHECK(ok, "RAM at 0x%08lx: 64/32/16/8-bit writes read back (got 0x%lx)", a, v);
    }
}

static void check_unassigned(void)
{
    uint64_t hole = pvh_cmdline_u64("mmio_hole", DEFAULT_HOLE);
    uint64_t ones = pvh_cmdline_u64("unassigned", 1) ? ~0ull : 0;
    if (pvh_is_ram(hole, 8)) {
        test_info("0x%lx is RAM here: no unassigned-MMIO check\n", hole);
        return;
    }
    uint8_t b = mmio_read8(hole);
    uint16_t w = mmio_read16(hole + 2);
    uint32_t l = mmio_read32(hole + 4);
    uint64_t q = mmio_read64(hole + 8);
    const char *what = ones ? "all ones" : "zero (QEMU)";
    CHECK(b == (uint8_t)ones && w == (uint16_t)ones && l == (uint32_t)ones && q == ones,
          "unassigned MMIO at 0x%lx reads %s at 8/16/32/64 bits (got %x %x %x %lx)",
          hole, what, b, w, l, q);
    mmio_write32(hole + 4, 0x12345678);
    mmio_write64(hole + 8, ~ones);
    CHECK(mmio_read32(hole + 4) == (uint32_t)ones && mmio_read64(hole + 8) == ones,
          "writes to unassigned MMIO are ignored (got 0x%x)", mmio_read32(hole + 4));
    uint32_t hi = mmio_read32(0xfebff000);
    CHECK(hi == (uint32_t)ones, "unassigned MMIO at 0xfebff000 (below the IOAPIC) reads %s (got 0x%x)",
          what, hi);
}

static void check_devices(void)
{
    /* LAPIC version register (SDM vol. 3, 11.4.8): version 0x1x, max LVT entry >= 4. */
    uint32_t ver = mmio_read32(LAPIC_BASE + 0x30);
    CHECK((ver & 0xf0) == 0x10 && ((ver >> 16) & 0xff) >= 4,
          "LAPIC version register at 0xfee00030 reads 0x%x", ver);
    uint32_t id = mmio_read32(LAPIC_BASE + 0x20) >> 24;
    CHECK(id == cpuid(1, 0).ebx >> 24, "LAPIC ID register matches CPUID (%u)", id);
    /* LAPIC TPR: a read/write register. */
    uint32_t tpr = mmio_read32(LAPIC_BASE + 0x80);
    mmio_write32(LAPIC_BASE + 0x80, 0x20);
    uint32_t tpr2 = mmio_read32(LAPIC_BASE + 0x80);
    mmio_write32(LAPIC_BASE + 0x80, tpr);
    CHECK((tpr2 & 0xff) == 0x20, "LAPIC TPR write/read round trip (got 0x%x)", tpr2);
    /* IOAPIC (82093AA datasheet 3.1): index at +0, data at +0x10; register 1 = version. */
    mmio_write32(IOAPIC_BASE, 1);
    uint32_t iov = mmio_read32(IOAPIC_BASE + 0x10);
    CHECK((iov & 0xff) >= 0x11 && ((iov >> 16) & 0xff) >= 23,
          "IOAPIC version 0x%x with %u redirection entries", iov & 0xff, ((iov >> 16) & 0xff) + 1);
    mmio_write32(IOAPIC_BASE, 0);
    uint32_t ioid = mmio_read32(IOAPIC_BASE + 0x10);
    test_info("IOAPIC ID register 0x%x\n", ioid);
}

int guest_main(void)
{
    test_begin("mmio");
    if (!CHECK(pvh_valid(), "PVH start_info present (needed for the memory map)"))
        test_end();
    check_ram();
    check_unassigned();
    check_devices();
    test_end();
}
