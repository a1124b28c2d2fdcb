/*
 * Port I/O: all three access widths through real devices, string I/O (rep ins/outs), reads
 * of unassigned ports (all ones, as on ISA: nobody drives the bus), writes to them ignored,
 * and finally the isa-debug-exit round trip: the guest writes the value given as
 * exitcode=N on the command line and the runner expects exit status (N << 1) | 1.
 */
#include "lib/io.h"
#include "lib/pvh.h"
#include "lib/test.h"
#include "lib/uart.h"
#include "lib/pci.h"

/* No device on Vireo's or QEMU's pc board decodes it (0x2e8, COM4, would be taken by -serial x4). */
#define UNASSIGNED_PORT 0x230

static void check_unassigned(void)
{
    CHECK(inb(UNASSIGNED_PORT) == 0xff, "inb from unassigned port 0x%x reads 0xff (got 0x%x)",
          UNASSIGNED_PORT, inb(UNASSIGNED_PORT));
    CHECK(inw(UNASSIGNED_PORT) == 0xffff, "inw from unassigned port reads 0xffff (got 0x%x)",
          inw(UNASSIGNED_PORT));
    CHECK(inl(UNASSIGNED_PORT) == 0xffffffff, "inl from unassigned port reads 0xffffffff (got 0x%x)",
          inl(UNASSIGNED_PORT));
    outb(UNASSIGNED_PORT, 0x12);
    outw(UNASSIGNED_PORT, 0x3456);
    outl(UNASSIGNED_PORT, 0x789abcde);
    CHECK(inl(UNASSIGNED_PORT) == 0xffffffff, "writes to the unassigned port are ignored");
}

static void check_widths(void)
{
    uint16_t scr = COM1_BASE + UART_SCR;
    outb(scr, 0xa5);
    CHECK(inb(scr) == 0xa5, "8-bit round trip through the UART scratch register");
    outl(PCI_CONF_ADDR, pci_addr(0, 0, 0, 0));
    CHECK(inl(PCI_CONF_ADDR) == 0x80000000, "32-bit round trip through the PCI address port 0xcf8 (got 0x%x)",
          inl(PCI_CONF_ADDR));
    CHECK(inw(PCI_CONF_DATA) == 0x8086, "16-bit read of 0xcfc: host bridge vendor 0x8086 (got 0x%x)",
          inw(PCI_CONF_DATA));
    CHECK(inw(PCI_CONF_DATA + 2) == 0x1237, "16-bit read of 0xcfe: host bridge device 0x1237 (got 0x%x)",
          inw(PCI_CONF_DATA + 2));
    CHECK(inl(PCI_CONF_DATA) == 0x12378086, "32-bit read of 0xcfc: 0x12378086 (got 0x%x)",
          inl(PCI_CONF_DATA));
}

/* String I/O: KVM reports one exit for a whole rep ins/outs (count > 1); the VMM must do
 * every element. */
static void check_string_io(void)
{
    uint8_t buf[8] = { 0 }, out[3] = { 0x11, 0x22, 0x33 };
    void *d = buf;
    size_t n = sizeof(buf);
    __asm__ volatile("rep insb" : "+D"(d), "+c"(n) : "d"(UNASSIGNED_PORT) : "memory");
    bool all = true;
    for (unsigned i = 0; i < sizeof(buf); i++)
        all &= buf[i] == 0xff;
    CHECK(all && n == 0, "rep insb (8 bytes) from an unassigned port fills 0xff");

    const void *s = out;
    n = sizeof(out);
    __asm__ volatile("rep outsb" : "+S"(s), "+c"(n) : "d"(COM1_BASE + UART_SCR) : "memory");
    uint8_t last = inb(COM1_BASE + UART_SCR);
    CHECK(last == 0x33 && n == 0, "rep outsb (3 bytes) to the scratch register leaves the last (got 0x%x)",
          last);

    uint16_t ids[2] = { 0, 0 };
    d = ids;
    n = 2;
    outl(PCI_CONF_ADDR, pci_addr(0, 0, 0, 0));
    __asm__ volatile("rep insw" : "+D"(d), "+c"(n) : "d"(PCI_CONF_DATA) : "memory");
    CHECK(ids[0] == 0x8086 && ids[1] == 0x8086, "rep insw reads 0xcfc twice (got %04x %04x)",
          ids[0], ids[1]);
}

int guest_main(void)
{
    test_begin("ioport");
    check_unassigned();
    check_widths();
    check_string_io();
    uint64_t code = pvh_cmdline_u64("exitcode", TEST_PASS_CODE);
    test_info("exiting through isa-debug-exit with value 0x%lx: expect status %lu\n", code,
              ((code << 1) | 1) & 0xff);
    test_end_with(code);
}
