#include "pci.h"
#include "io.h"

uint32_t pci_read32(unsigned bus, unsigned dev, unsigned fn, unsigned off)
{
    outl(PCI_CONF_ADDR, pci_addr(bus, dev, fn, off));
    return inl(PCI_CONF_DATA);
}

uint16_t pci_read16(unsigned bus, unsigned dev, unsigned fn, unsigned off)
{
    outl(PCI_CONF_ADDR, pci_addr(bus, dev, fn, off));
    return inw(PCI_CONF_DATA + (off & 2));
}

uint8_t pci_read8(unsigned bus, unsigned dev, unsigned fn, unsigned off)
{
    outl(PCI_CONF_ADDR, pci_addr(bus, dev, fn, off));
    return inb(PCI_CONF_DATA + (off & 3));
}

void pci_write32(unsigned bus, unsigned dev, unsigned fn, unsigned off, uint32_t v)
{
    outl(PCI_CONF_ADDR, pci_addr(bus, dev, fn, off));
    outl(PCI_CONF_DATA, v);
}

struct pci_name {
    uint16_t vendor, device;
    const char *name;
};

/* Devices QEMU's and Vireo's x86 boards commonly carry. */
static const struct pci_name pci_names[] = {
    { 0x8086, 0x1237, "Intel 440FX host bridge" },
    { 0x8086, 0x7000, "Intel PIIX3 ISA bridge" },
    { 0x8086, 0x7010, "Intel PIIX3 IDE" },
    { 0x8086, 0x7020, "Intel PIIX3 USB (UHCI)" },
    { 0x8086, 0x7113, "Intel PIIX4 power management (ACPI)" },
    { 0x8086, 0x29c0, "Intel Q35 host bridge" },
    { 0x8086, 0x2918, "Intel ICH9 LPC bridge" },
    { 0x8086, 0x2922, "Intel ICH9 AHCI" },
    { 0x8086, 0x2930, "Intel ICH9 SMBus" },
    { 0x8086, 0x100e, "Intel 82540EM gigabit ethernet (e1000)" },
    { 0x8086, 0x10d3, "Intel 82574L gigabit ethernet (e1000e)" },
    { 0x10ec, 0x8139, "Realtek RTL8139 ethernet" },
    { 0x1234, 0x1111, "Bochs/QEMU standard VGA" },
    { 0x1013, 0x00b8, "Cirrus CLGD 5446 VGA" },
    { 0x1b36, 0x0001, "Red Hat PCI-PCI bridge" },
    { 0x1b36, 0x0005, "Red Hat PCI test device" },
    { 0x1b36, 0x000d, "Red Hat xHCI USB" },
    { 0x1af4, 0x1000, "virtio network (transitional)" },
    { 0x1af4, 0x1001, "virtio block (transitional)" },
    { 0x1af4, 0x1002, "virtio balloon (transitional)" },
    { 0x1af4, 0x1003, "virtio console (transitional)" },
    { 0x1af4, 0x1004, "virtio SCSI (transitional)" },
    { 0x1af4, 0x1005, "virtio RNG (transitional)" },
    { 0x1af4, 0x1009, "virtio 9p (transitional)" },
    { 0x1af4, 0x1041, "virtio network" },
    { 0x1af4, 0x1042, "virtio block" },
    { 0x1af4, 0x1043, "virtio console" },
    { 0x1af4, 0x1044, "virtio RNG" },
    { 0x1af4, 0x1045, "virtio balloon" },
    { 0x1af4, 0x1048, "virtio SCSI" },
    { 0x1af4, 0x1049, "virtio 9p" },
    { 0x1af4, 0x1050, "virtio GPU" },
    { 0x1af4, 0x1052, "virtio input" },
    { 0x1af4, 0x1053, "virtio vsock" },
};

const char *pci_device_name(uint16_t vendor, uint16_t device)
{
    for (unsigned i = 0; i < sizeof(pci_names) / sizeof(pci_names[0]); i++)
        if (pci_names[i].vendor == vendor && pci_names[i].device == device)
            return pci_names[i].name;
    return 0;
}

/* PCI Code and ID Assignment Specification 1.x, section 1. */
const char *pci_class_name(uint8_t cls, uint8_t sub)
{
    switch (cls) {
    case 0x01:
        return sub == 0x01 ? "IDE controller" : sub == 0x06 ? "SATA controller" :
               sub == 0x08 ? "NVMe controller" : "storage controller";
    case 0x02: return "network controller";
    case 0x03: return "display controller";
    case 0x04: return "multimedia controller";
    case 0x05: return "memory controller";
    case 0x06:
        return sub == 0x00 ? "host bridge" : sub == 0x01 ? "ISA bridge" :
               sub == 0x04 ? "PCI-PCI bridge" : "bridge";
    case 0x07: return "communication controller";
    case 0x08: return "system peripheral";
    case 0x0c:
        return sub == 0x03 ? "USB controller" : sub == 0x05 ? "SMBus controller" :
               "serial bus controller";
    case 0xff: return "unassigned class";
    default: return "other";
    }
}
