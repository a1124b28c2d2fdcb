/*
 * Private to hw/pci: the bus object and the calls between the PCI files.
 */
#ifndef HW_PCI_INTERNAL_H
#define HW_PCI_INTERNAL_H

#include "vireo/pci.h"
#include "vireo/log.h"
#include "vireo/machine.h"

#define PCI_BUS_NIRQ        4       /* INTx lines of the bus (PIRQA..D) */
#define PCI_PC_GSI_BASE     16      /* pc board: PIRQA..D -> IOAPIC pins 16..19 */

struct PciBus {
    Machine *m;
    AddressSpace *mem, *io;         /* where BARs are mapped */
    PciDevice *devices[PCI_SLOT_MAX * PCI_FUNC_MAX];
    unsigned irq_count[PCI_BUS_NIRQ];   /* devices asserting each line */
    unsigned gsi_base;
    PciWindows win;
    /* Configuration mechanism #1 (PCI 3.0, 3.2.2.3.2) at 0xcf8..0xcff. */
    uint32_t config_addr;
    MemRegion conf_mr;
    PciDevice *rcr_dev;             /* owner of the byte port 0xcf9 (PIIX3) */
    LogBudget log;          /* guest-triggered messages (pci_log) */
};

/* Rate-limited log of something a guest did (never fatal). */
void pci_log(PciBus *bus, const char *fmt, ...) G_GNUC_PRINTF(2, 3);

/* bar.c */
void pci_bus_update_mappings(PciBus *bus);
void pci_bars_reset(PciDevice *d);
void pci_bars_unmap(PciDevice *d);

/* bus.c */
void pci_bus_irq_adjust(PciBus *bus, unsigned line, bool assert);
unsigned pci_bus_irq_line(unsigned devfn, unsigned pin);

/* msi.c */
bool pci_msix_bar_read(PciDevice *d, int bar, uint64_t off, unsigned size, uint64_t *val);
bool pci_msix_bar_write(PciDevice *d, int bar, uint64_t off, uint64_t val, unsigned size);
void pci_msi_config_written(PciDevice *d, uint32_t addr, unsigned len);
void pci_msix_config_written(PciDevice *d, uint32_t addr, unsigned len);
void pci_msi_reset(PciDevice *d);
void pci_msix_reset(PciDevice *d);

/* piix3.c: the reset control register at 0xcf9 (PIIX3 datasheet, 2.6.3 RC). */
uint8_t piix3_rcr_read(PciDevice *d);
void piix3_rcr_write(PciDevice *d, uint8_t val);

/* Config offset of region @idx: BAR0..5 at 0x10.., the ROM BAR at 0x30. */
static inline unsigned pci_bar_reg(int idx)
{
    return idx == PCI_ROM_SLOT ? PCI_ROM_ADDRESS : PCI_BASE_ADDRESS_0 + 4 * idx;
}

/* rom.c */
bool pci_rom_realize(PciDevice *d, GError **errp);
void pci_rom_free(PciDevice *d);

static inline bool pci_ranges_overlap(uint32_t a, unsigned alen, uint32_t b, unsigned blen)
{
    return a < b + blen && b < a + alen;
}

#endif
