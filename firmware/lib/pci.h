/* PCI configuration mechanism #1 (PCI Local Bus 3.0, 3.2.2.3.2): address at 0xcf8, data at
 * 0xcfc..0xcff. */
#ifndef GUEST_PCI_H
#define GUEST_PCI_H

#include <stdint.h>
#include <stdbool.h>

#define PCI_CONF_ADDR 0xcf8
#define PCI_CONF_DATA 0xcfc

#define PCI_VENDOR_ID     0x00
#define PCI_DEVICE_ID     0x02
#define PCI_COMMAND       0x04
#define PCI_REVISION      0x08
#define PCI_PROG_IF       0x09
#define PCI_SUBCLASS      0x0a
#define PCI_CLASS         0x0b
#define PCI_HEADER_TYPE   0x0e
#define PCI_BAR0          0x10
#define PCI_INTERRUPT_PIN 0x3d

static inline uint32_t pci_addr(unsigned bus, unsigned dev, unsigned fn, unsigned off)
{
    return 0x80000000u | bus << 16 | dev << 11 | fn << 8 | (off & 0xfc);
}

uint32_t pci_read32(unsigned bus, unsigned dev, unsigned fn, unsigned off);
uint16_t pci_read16(unsigned bus, unsigned dev, unsigned fn, unsigned off);
uint8_t pci_read8(unsigned bus, unsigned dev, unsigned fn, unsigned off);
void pci_write32(unsigned bus, unsigned dev, unsigned fn, unsigned off, uint32_t v);

/* A human name for a vendor:device pair, or NULL. */
const char *pci_device_name(uint16_t vendor, uint16_t device);
/* A name for a base class / subclass pair (never NULL). */
const char *pci_class_name(uint8_t cls, uint8_t sub);

#endif
