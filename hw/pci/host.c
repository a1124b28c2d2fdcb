/*
 * The pc board's PCI host: configuration mechanism #1 (PCI Local Bus 3.0, 3.2.2.3.2)
 * at ports 0xcf8 (32-bit address register) and 0xcfc-0xcff (data), the PIIX3 reset
 * control register that shares the range at 0xcf9, and the bus with its fixed
 * functions (i440FX at 00.0, PIIX3 at 01.0).
 */
#include "pci-internal.h"

#define CONF_ADDR_PORT      0xcf8
#define CONF_RANGE          8
#define CONF_ENABLE         0x80000000u
#define GiB                 (1ull << 30)
#define PC_MEM32_TOP        0xfec00000ull   /* IOAPIC, HPET, LAPIC, BIOS above */
#define PC_MEM64_SIZE       (32 * GiB)
#define PC_IO_BASE          0xc000
#define PC_IO_SIZE          0x4000

static uint64_t ones(unsigned size)
{
    return size >= 8 ? UINT64_MAX : (1ull << (8 * size)) - 1;
}

/* The function the address register selects, and the config offset of data port
 * byte @k (0..3). Only bus 0 exists. */
static PciDevice *conf_target(PciBus *bus, unsigned k, unsigned size, unsigned *reg)
{
    uint32_t a = bus->config_addr;

    if (!(a & CONF_ENABLE) || ((a >> 16) & 0xff) != 0 || k + size > 4)
        return NULL;
    *reg = (a & 0xfc) + k;
    return bus->devices[(a >> 8) & 0xff];
}

static uint64_t conf_read(void *opaque, uint64_t off, unsigned size)
{
    PciBus *bus = opaque;
    PciDevice *d;
    unsigned reg;

    if (off == 0 && size == 4)
        return bus->config_addr;
    if (off == 1 && size == 1 && bus->rcr_dev)
        return piix3_rcr_read(bus->rcr_dev);
    if (off < 4 || !(d = conf_target(bus, off - 4, size, &reg)))
        return ones(size);
    return pci_config_read(d, reg, size);
}

static void conf_write(void *opaque, uint64_t off, uint64_t val, unsigned size)
{
    PciBus *bus = opaque;
    PciDevice *d;
    unsigned reg;

    if (off == 0 && size == 4) {
        bus->config_addr = val & ~3u;
        return;
    }
    if (off == 1 && size == 1 && bus->rcr_dev) {
        piix3_rcr_write(bus->rcr_dev, val);
        return;
    }
    /* Other non-dword accesses to 0xcf8-0xcfb go nowhere (byte 0xcfb is the
     * obsolete mechanism #2 enable some OSes poke while probing). */
    if (off < 4 || !(d = conf_target(bus, off - 4, size, &reg)))
        return;
    pci_config_write(d, reg, val, size);
}

static const MemOps conf_ops = {
    .read = conf_read,
    .write = conf_write,
    .min_access = 1,
    .max_access = 4,
    .aligned = false,
};

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

static PciDevice *pc_add_function(Machine *m, const DeviceClass *cls, const char *addr,
                                  GError **errp)
{
    Device *dev = device_new(m, cls);

    if (!device_set_prop(dev, "addr", addr, errp)) {
        device_free(dev);
        return NULL;
    }
    if (!machine_add_device(m, dev, errp))
        return NULL;
    return (PciDevice *)dev;
}

PciBus *pci_bus_new_pc(Machine *m, GError **errp)
{
    PciBus *bus;

    if (m->pci_bus) {
        g_set_error(errp, G_IO_ERROR, G_IO_ERROR_EXISTS, "machine already has a PCI bus");
        return NULL;
    }
    bus = g_new0(PciBus, 1);
    bus->m = m;
    bus->mem = m->sysmem;
    bus->io = m->io;
    bus->gsi_base = PCI_PC_GSI_BASE;
    bus->log_budget = PCI_LOG_BUDGET;
    pc_default_windows(m, &bus->win);
    mr_init_io(&bus->conf_mr, "pci-conf", CONF_RANGE, &conf_ops, bus);
    if (!as_add_region(m->io, &bus->conf_mr, CONF_ADDR_PORT, errp)) {
        g_free(bus);
        return NULL;
    }
    m->pci_bus = bus;
    /* The machine unwinds (frees) these devices itself if a later step fails. */
    if (!pc_add_function(m, &i440fx_class, "00.0", errp) ||
        !pc_add_function(m, &piix3_class, "01.0", errp)) {
        pci_bus_free(bus);
        return NULL;
    }
    bus->rcr_dev = pci_bus_get_device(bus, PCI_DEVFN(1, 0));
    return bus;
}
