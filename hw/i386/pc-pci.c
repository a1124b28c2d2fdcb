/*
 * The pc board's PCI: the i440FX host bridge's bus (hw/pci/host.c) with its windows,
 * INTx routing to GSI 16-19, and the fixed functions: i440FX at 00.0, PIIX3 at 01.0
 * (whose reset control register answers at port 0xcf9).
 */
#include "vireo/pc.h"
#include "vireo/pci.h"

#define GiB                 (1ull << 30)
#define PC_MEM32_TOP        0xfec00000ull   /* IOAPIC, HPET, LAPIC, BIOS above */
#define PC_MEM64_SIZE       (32 * GiB)
#define PC_IO_BASE          0xc000
#define PC_IO_SIZE          0x4000
#define PC_PCI_GSI_BASE     16              /* PIRQA..D -> IOAPIC pins 16..19 */

static void pc_default_windows(Machine *m, PciWindows *w)
{
    uint64_t ram_top = 4 * GiB + m->above_4g;

    w->io_base = PC_IO_BASE;
    w->io_size = PC_IO_SIZE;
    w->mem32_base = MAX(m->below_4g, 3 * GiB);
    w->mem32_size = w->mem32_base < PC_MEM32_TOP ? PC_MEM32_TOP - w->mem32_base : 0;
    w->mem64_base = (ram_top + GiB - 1) & ~(GiB - 1);
    w->mem64_size = PC_MEM64_SIZE;
}

static PciDevice *pc_add_function(Machine *m, const DeviceClass *cls, unsigned devfn,
                                  GError **errp)
{
    Device *dev = device_new(m, cls);

    if (!device_set_int(dev, "addr", devfn, errp)) {
        device_free(dev);
        return NULL;
    }
    if (!machine_add_device(m, dev, errp))
        return NULL;
    return (PciDevice *)dev;
}

PciBus *pci_bus_new_pc(Machine *m, GError **errp)
{
    PciWindows win;

    pc_default_windows(m, &win);
    PciBus *bus = pci_host_new(m, &win, PC_PCI_GSI_BASE, errp);
    if (!bus)
        return NULL;
    /* The machine unwinds (frees) these devices itself if a later step fails. */
    if (!pc_add_function(m, &i440fx_class, PCI_DEVFN(0, 0), errp) ||
        !pc_add_function(m, &piix3_class, PCI_DEVFN(1, 0), errp)) {
        pci_bus_free(bus);
        return NULL;
    }
    pci_host_set_reset_control(bus, pci_bus_get_device(bus, PCI_DEVFN(1, 0)));
    return bus;
}
