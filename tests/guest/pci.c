/*
 * PCI configuration mechanism #1 on bus 0: the i440FX host bridge at 00:00.0, the address
 * latch, byte/word/dword data-port accesses agreeing with each other, read-only ID
 * registers, all-ones for absent functions, slots and buses, and BAR sizing (PCI Local Bus
 * 3.0, 6.2.5.1) on every BAR of every device found, restoring each BAR afterwards.
 */
#include "lib/io.h"
#include "lib/pci.h"
#include "lib/test.h"

static void check_host_bridge(void)
{
    uint32_t id = pci_read32(0, 0, 0, PCI_VENDOR_ID);
    CHECK(id == 0x12378086, "00:00.0 is the i440FX host bridge 8086:1237 (got %04x:%04x)",
          id & 0xffff, id >> 16);
    uint32_t cls = pci_read32(0, 0, 0, PCI_REVISION);
    CHECK(cls >> 16 == 0x0600, "00:00.0 class 0600 (host bridge) (got %04x)", cls >> 16);
    uint8_t ht = pci_read8(0, 0, 0, PCI_HEADER_TYPE);
    CHECK((ht & 0x7f) == 0, "00:00.0 header type 0 (got 0x%x)", ht);
    CHECK(pci_read16(0, 0, 0, PCI_VENDOR_ID) == 0x8086 && pci_read16(0, 0, 0, PCI_DEVICE_ID) == 0x1237,
          "16-bit reads at 0xcfc/0xcfe agree with the dword");
    CHECK(pci_read8(0, 0, 0, PCI_CLASS) == 0x06 && pci_read8(0, 0, 0, PCI_SUBCLASS) == 0x00 &&
          pci_read8(0, 0, 0, 1) == 0x80,
          "8-bit reads at 0xcfc+n agree with the dword");
    pci_write32(0, 0, 0, PCI_VENDOR_ID, 0xffffffff);
    CHECK(pci_read32(0, 0, 0, PCI_VENDOR_ID) == 0x12378086, "vendor/device ID are read-only");
    outl(PCI_CONF_ADDR, pci_addr(0, 0, 0, 8));
    CHECK(inl(PCI_CONF_ADDR) == 0x80000008, "0xcf8 latches the address (got 0x%x)",
          inl(PCI_CONF_ADDR));
    outl(PCI_CONF_ADDR, pci_addr(0, 0, 0, 0) & 0x7fffffff);
    uint32_t off = inl(PCI_CONF_DATA);
    CHECK(off == 0xffffffff, "with the enable bit clear 0xcfc is not a config access (got 0x%x)",
          off);
}

static void check_absent(void)
{
    CHECK(pci_read16(0, 31, 0, PCI_VENDOR_ID) == 0xffff, "empty slot 00:1f.0 reads vendor 0xffff");
    CHECK(pci_read32(0, 31, 0, PCI_VENDOR_ID) == 0xffffffff, "empty slot 00:1f.0 reads 0xffffffff");
    CHECK(pci_read32(0, 0, 7, PCI_VENDOR_ID) == 0xffffffff, "absent function 00:00.7 reads 0xffffffff");
    CHECK(pci_read16(5, 0, 0, PCI_VENDOR_ID) == 0xffff, "absent bus 05:00.0 reads vendor 0xffff");
    pci_write32(0, 31, 0, PCI_COMMAND, 0x7);
    CHECK(pci_read32(0, 31, 0, PCI_COMMAND) == 0xffffffff, "writes to an empty slot are ignored");
}

/* Sizes one BAR with decoding off; returns the number of BAR slots it used (1 or 2) and
 * counts implemented BARs in *found. */
static unsigned size_bar(unsigned dev, unsigned fn, unsigned bar, unsigned *found)
{
    unsigned off = PCI_BAR0 + 4 * bar;
    uint32_t orig = pci_read32(0, dev, fn, off);
    bool io = orig & 1, is64 = !io && ((orig >> 1) & 3) == 2;
    pci_write32(0, dev, fn, off, 0xffffffff);
    uint32_t mask = pci_read32(0, dev, fn, off);
    uint32_t hi_orig = 0, hi_mask = 0xffffffff;
    if (is64) {
        hi_orig = pci_read32(0, dev, fn, off + 4);
        pci_write32(0, dev, fn, off + 4, 0xffffffff);
        hi_mask = pci_read32(0, dev, fn, off + 4);
        pci_write32(0, dev, fn, off + 4, hi_orig);
    }
    pci_write32(0, dev, fn, off, orig);
    uint32_t back = pci_read32(0, dev, fn, off);
    if (mask == 0 || mask == 0xffffffff)
        return 1;                                   /* unimplemented BAR */
    (*found)++;
    uint64_t m = ((uint64_t)hi_mask << 32) | (mask & (io ? ~3u : ~15u));
    if (io)
        m |= 0xffffffffffff0000ull;                 /* I/O BARs may hardwire the top 16 bits */
    uint64_t size = ~m + 1;
    uint64_t base = ((uint64_t)hi_orig << 32) | (orig & (io ? ~3u : ~15u));
    CHECK(size && !(size & (size - 1)) && !(base & (size - 1)) && back == orig,
          "00:%02x.%u BAR%u: %s%s, %lu bytes at 0x%lx, restored", dev, fn, bar,
          io ? "I/O" : "memory", is64 ? " 64-bit" : (io ? "" : " 32-bit"), size, base);
    return is64 ? 2 : 1;
}

static void check_devices(void)
{
    unsigned devices = 0, bars = 0;
    for (unsigned dev = 0; dev < 32; dev++) {
        unsigned nfn = (pci_read8(0, dev, 0, PCI_HEADER_TYPE) & 0x80) ? 8 : 1;
        for (unsigned fn = 0; fn < nfn; fn++) {
            uint32_t id = pci_read32(0, dev, fn, PCI_VENDOR_ID);
            if ((id & 0xffff) == 0xffff)
                continue;
            devices++;
            uint32_t cls = pci_read32(0, dev, fn, PCI_REVISION);
            const char *name = pci_device_name(id & 0xffff, id >> 16);
            test_info("00:%02x.%u %04x:%04x class %04x %s\n", dev, fn, id & 0xffff, id >> 16,
                      cls >> 16, name ? name : pci_class_name(cls >> 24, cls >> 16));
            /* Bridges are left alone: turning off the ISA bridge's decoding would cut
             * off COM1 on real hardware, and they have no BARs on these boards. */
            if ((pci_read8(0, dev, fn, PCI_HEADER_TYPE) & 0x7f) != 0 || cls >> 24 == 0x06)
                continue;
            uint16_t cmd = pci_read16(0, dev, fn, PCI_COMMAND);
            pci_write32(0, dev, fn, PCI_COMMAND, cmd & ~3u);   /* no decoding while sizing */
            for (unsigned bar = 0; bar < 6;)
                bar += size_bar(dev, fn, bar, &bars);
            pci_write32(0, dev, fn, PCI_COMMAND, cmd);
            CHECK(pci_read16(0, dev, fn, PCI_COMMAND) == cmd, "00:%02x.%u command register restored",
                  dev, fn);
        }
    }
    CHECK(devices >= 1, "%u functions found on bus 0", devices);
    if (!bars)
        test_info("no device with a BAR on bus 0: BAR sizing not exercised\n");
}

int guest_main(void)
{
    test_begin("pci");
    check_host_bridge();
    check_absent();
    check_devices();
    test_end();
}
