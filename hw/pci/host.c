/*
 * A PCI host bridge's root bus behind configuration mechanism #1 (PCI Local Bus 3.0,
 * 3.2.2.3.2) at ports 0xcf8 (32-bit address register) and 0xcfc-0xcff (data), with the
 * byte port 0xcf9 handed to a chipset's reset control register when one claims it.
 * Which devices sit on the bus and where its windows are is the board's business
 * (hw/i386/pc-pci.c).
 */
#include "pci-internal.h"

#define CONF_ADDR_PORT      0xcf8
#define CONF_RANGE          8
#define CONF_ENABLE         0x80000000u

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

PciBus *pci_host_new(Machine *m, const PciWindows *win, unsigned gsi_base, GError **errp)
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
    bus->gsi_base = gsi_base;
    bus->log = (LogBudget)LOG_BUDGET_DEFAULT;
    bus->win = *win;
    mr_init_io(&bus->conf_mr, "pci-conf", CONF_RANGE, &conf_ops, bus);
    if (!as_add_region(m->io, &bus->conf_mr, CONF_ADDR_PORT, errp)) {
        g_free(bus);
        return NULL;
    }
    m->pci_bus = bus;
    return bus;
}

void pci_host_set_reset_control(PciBus *bus, PciDevice *d)
{
    bus->rcr_dev = d;
}
