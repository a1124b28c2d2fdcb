/*
 * Base address registers (PCI Local Bus 3.0, 6.2.5.1): registration, sizing through
 * the write masks, and mapping each BAR's region into the bus's memory or I/O address
 * space while the command register enables decoding.
 */
#include <errno.h>
#include <inttypes.h>
#include "pci-internal.h"

static uint64_t pci_bar_read(void *opaque, uint64_t off, unsigned size)
{
    PciBar *b = opaque;
    uint64_t val;

    if (pci_msix_bar_read(b->dev, b->idx, off, size, &val))
        return val;
    if (b->user_ops && b->user_ops->read)
        return b->user_ops->read(b->user_opaque, off, size);
    return 0;
}

static void pci_bar_write(void *opaque, uint64_t off, uint64_t val, unsigned size)
{
    PciBar *b = opaque;

    if (pci_msix_bar_write(b->dev, b->idx, off, val, size))
        return;
    if (b->user_ops && b->user_ops->write)
        b->user_ops->write(b->user_opaque, off, val, size);
}

static bool pci_bar_args_ok(PciDevice *d, int idx, uint32_t flags, uint64_t size)
{
    uint32_t kind = flags & (PCI_BAR_IO | PCI_BAR_MEM32 | PCI_BAR_MEM64);

    if (idx < 0 || idx >= PCI_NUM_BARS || d->bars[idx].size)
        return false;
    if (idx > 0 && (d->bars[idx - 1].flags & PCI_BAR_MEM64))
        return false;           /* the upper half of a 64-bit BAR */
    if (kind != PCI_BAR_IO && kind != PCI_BAR_MEM32 && kind != PCI_BAR_MEM64)
        return false;
    if ((flags & PCI_BAR_PREFETCH) && kind == PCI_BAR_IO)
        return false;
    if (size == 0 || (size & (size - 1)))
        return false;
    if (kind == PCI_BAR_IO)
        return size >= 4 && size <= 256;
    if (kind == PCI_BAR_MEM32)
        return size >= 16 && size <= (1ull << 31);
    return size >= 16 && idx + 1 < PCI_NUM_BARS && !d->bars[idx + 1].size;
}

int pci_register_bar(PciDevice *d, int idx, uint32_t flags, uint64_t size,
                     const MemOps *ops, void *opaque)
{
    PciBar *b;
    unsigned reg = PCI_BASE_ADDRESS_0 + 4 * idx;
    uint64_t mask = ~(size - 1);

    if (!pci_bar_args_ok(d, idx, flags, size)) {
        g_critical("pci: %s: bad BAR %d (flags %#x, size %#" PRIx64 ")",
                   d->dev.cls->name, idx, flags, size);
        return -EINVAL;
    }
    b = &d->bars[idx];
    b->size = size;
    b->flags = flags;
    b->addr = b->failed_addr = PCI_BAR_UNMAPPED;
    b->user_ops = ops;
    b->user_opaque = opaque;
    b->dev = d;
    b->idx = idx;
    b->ops = ops ? *ops : (MemOps){ .min_access = 1, .max_access = 8 };
    b->ops.read = pci_bar_read;
    b->ops.write = pci_bar_write;
    b->name = g_strdup_printf("%s-bar%d", d->dev.cls->name, idx);
    mr_init_io(&b->mr, b->name, size, &b->ops, b);

    if (flags & PCI_BAR_IO) {
        pci_set_long(d, reg, PCI_BASE_ADDRESS_SPACE_IO);
        pci_set_wmask(d, reg, 4, (uint32_t)mask & ~3u);
        return 0;
    }
    pci_set_long(d, reg, ((flags & PCI_BAR_MEM64) ? PCI_BASE_ADDRESS_MEM_TYPE_64 : 0) |
                         ((flags & PCI_BAR_PREFETCH) ? PCI_BASE_ADDRESS_MEM_PREFETCH : 0));
    pci_set_wmask(d, reg, 4, (uint32_t)mask & ~0xfu);
    if (flags & PCI_BAR_MEM64) {
        d->bars[idx + 1].addr = PCI_BAR_UNMAPPED;
        pci_set_long(d, reg + 4, 0);
        pci_set_wmask(d, reg + 4, 4, mask >> 32);
    }
    return 0;
}

int pci_register_bar_ram(PciDevice *d, int idx, uint32_t flags, uint64_t size, void *host)
{
    int r = (flags & PCI_BAR_IO) ? -EINVAL : pci_register_bar(d, idx, flags, size, NULL, NULL);
    if (r == 0)
        mr_init_ram(&d->bars[idx].mr, d->bars[idx].name, size, host);
    return r;
}

/* The expansion ROM BAR (PCI 3.0, 6.2.5.2): read-only memory of @size bytes (a power
 * of two, 2 KiB..16 MiB) at @host; the guest sizes it through bits 31:11 and turns
 * decoding on with bit 0. */
int pci_register_rom(PciDevice *d, uint64_t size, void *host)
{
    PciBar *b = &d->bars[PCI_ROM_SLOT];

    if (b->size || size < 0x800 || size > PCI_ROM_MAX_SIZE || (size & (size - 1)))
        return -EINVAL;
    b->size = size;
    b->flags = PCI_BAR_MEM32;
    b->addr = b->failed_addr = PCI_BAR_UNMAPPED;
    b->dev = d;
    b->idx = PCI_ROM_SLOT;
    b->name = g_strdup_printf("%s-rom", d->dev.cls->name);
    mr_init_ram(&b->mr, b->name, size, host);
    b->mr.readonly = true;
    pci_set_long(d, PCI_ROM_ADDRESS, 0);
    pci_set_wmask(d, PCI_ROM_ADDRESS, 4, (uint32_t)~(size - 1) | PCI_ROM_ADDRESS_ENABLE);
    return 0;
}

uint64_t pci_bar_address(PciDevice *d, int idx)
{
    if (idx < 0 || idx >= PCI_NUM_REGIONS || !d->bars[idx].size)
        return PCI_BAR_UNMAPPED;
    return d->bars[idx].addr;
}

/* The address the BAR decodes now, or PCI_BAR_UNMAPPED when decoding is off, the BAR
 * is 0 or still holds the sizing pattern (all ones), or the range does not fit. */
static uint64_t pci_bar_wanted(PciDevice *d, int idx)
{
    PciBar *b = &d->bars[idx];
    uint16_t cmd = pci_get_word(d, PCI_COMMAND);
    uint32_t lo = pci_get_long(d, pci_bar_reg(idx));
    uint64_t mask = ~(b->size - 1), addr;

    /* The expansion ROM decodes only with its enable bit and Memory Space both set
     * (PCI 3.0, 6.2.5.2); bits 10:1 are reserved. */
    if (idx == PCI_ROM_SLOT) {
        addr = lo & ~0x7ffu;
        if (!(cmd & PCI_COMMAND_MEMORY) || !(lo & PCI_ROM_ADDRESS_ENABLE) || addr == 0 ||
            addr == ((uint32_t)mask & ~0x7ffu) || addr + b->size - 1 >= UINT32_MAX)
            return PCI_BAR_UNMAPPED;
        return addr;
    }

    if (b->flags & PCI_BAR_IO) {
        addr = lo & ~3u;
        if (!(cmd & PCI_COMMAND_IO) || addr == ((uint32_t)mask & ~3u))
            return PCI_BAR_UNMAPPED;
        return addr && addr + b->size <= 0x10000 ? addr : PCI_BAR_UNMAPPED;
    }
    if (!(cmd & PCI_COMMAND_MEMORY))
        return PCI_BAR_UNMAPPED;
    addr = lo & ~0xfu;
    if (b->flags & PCI_BAR_MEM64) {
        addr |= (uint64_t)pci_get_long(d, PCI_BASE_ADDRESS_0 + 4 * idx + 4) << 32;
        /* Half-written sizing pattern in the low dword. */
        if (b->size < (1ull << 32) && (uint32_t)addr == ((uint32_t)mask & ~0xfu))
            return PCI_BAR_UNMAPPED;
    } else {
        mask &= 0xffffffffull;
    }
    /* As QEMU: a range that wraps or reaches the last address of its space (a 32-bit
     * BAR ending at 4 GiB - 1, a 64-bit one at 2^64 - 1) does not decode, so no region
     * ever ends at the top of an address space. */
    if (addr == 0 || addr == (mask & ~0xfull) || b->size - 1 >= UINT64_MAX - addr ||
        (!(b->flags & PCI_BAR_MEM64) && addr + b->size - 1 >= UINT32_MAX))
        return PCI_BAR_UNMAPPED;
    return addr;
}

static AddressSpace *pci_bar_space(PciDevice *d, PciBar *b)
{
    return (b->flags & PCI_BAR_IO) ? d->bus->io : d->bus->mem;
}

static void pci_bar_map(PciDevice *d, PciBar *b, uint64_t want)
{
    GError *err = NULL;

    if (as_add_region(pci_bar_space(d, b), &b->mr, want, &err)) {
        b->addr = want;
        b->failed_addr = PCI_BAR_UNMAPPED;
        return;
    }
    if (b->failed_addr != want)
        pci_log(d->bus, "%02x.%x %s BAR%d at %#" PRIx64 " left unmapped: %s",
                PCI_SLOT(d->devfn), PCI_FUNC(d->devfn), d->dev.cls->name, b->idx,
                want, err->message);
    b->failed_addr = want;
    g_error_free(err);
}

/* Two passes over the whole bus: first unmap every BAR that moves or stops decoding,
 * then map the new positions, so swaps work and a BAR that failed on an overlap gets
 * another chance once the other one moves. */
void pci_bus_update_mappings(PciBus *bus)
{
    uint64_t want[PCI_SLOT_MAX * PCI_FUNC_MAX][PCI_NUM_REGIONS];

    for (unsigned fn = 0; fn < G_N_ELEMENTS(bus->devices); fn++) {
        PciDevice *d = bus->devices[fn];
        for (int i = 0; d && i < PCI_NUM_REGIONS; i++) {
            PciBar *b = &d->bars[i];
            want[fn][i] = b->size ? pci_bar_wanted(d, i) : PCI_BAR_UNMAPPED;
            if (b->size && b->addr != PCI_BAR_UNMAPPED && b->addr != want[fn][i]) {
                as_del_region(pci_bar_space(d, b), &b->mr);
                b->addr = PCI_BAR_UNMAPPED;
            }
        }
    }
    for (unsigned fn = 0; fn < G_N_ELEMENTS(bus->devices); fn++) {
        PciDevice *d = bus->devices[fn];
        for (int i = 0; d && i < PCI_NUM_REGIONS; i++) {
            PciBar *b = &d->bars[i];
            if (b->size && want[fn][i] != PCI_BAR_UNMAPPED && b->addr != want[fn][i])
                pci_bar_map(d, b, want[fn][i]);
            if (want[fn][i] == PCI_BAR_UNMAPPED)
                b->failed_addr = PCI_BAR_UNMAPPED;
        }
    }
}

void pci_bars_unmap(PciDevice *d)
{
    for (int i = 0; i < PCI_NUM_REGIONS; i++) {
        PciBar *b = &d->bars[i];
        if (b->size && b->addr != PCI_BAR_UNMAPPED)
            as_del_region(pci_bar_space(d, b), &b->mr);
        b->addr = PCI_BAR_UNMAPPED;
    }
}

/* Reset: BAR address bits read 0 again (type bits stay), nothing decodes. */
void pci_bars_reset(PciDevice *d)
{
    for (int i = 0; i < PCI_NUM_REGIONS; i++) {
        unsigned reg = pci_bar_reg(i);
        PciBar *b = &d->bars[i];
        if (!b->size)
            continue;
        if (i == PCI_ROM_SLOT) {
            pci_set_long(d, reg, 0);
            continue;
        }
        pci_set_long(d, reg, pci_get_long(d, reg) & ((b->flags & PCI_BAR_IO) ? 3u : 0xfu));
        if (b->flags & PCI_BAR_MEM64)
            pci_set_long(d, reg + 4, 0);
    }
    pci_bars_unmap(d);
}
