/*
 * The PCI bus: devices by devfn, INTx line sharing, the MMIO/I-O windows and a
 * firmware-style BAR assignment.
 */
#include <inttypes.h>
#include <stdlib.h>
#include "pci-internal.h"

/* pc board routing, as the DSDT's _PRT says: slot s, pin p (1 = INTA#) -> PIRQ
 * (s + p - 1) & 3 -> GSI 16 + that. */
unsigned pci_bus_irq_line(unsigned devfn, unsigned pin)
{
    return (PCI_SLOT(devfn) + pin - 1) & 3;
}

int pci_pc_intx_to_gsi(unsigned devfn, unsigned pin)
{
    if (pin < 1 || pin > 4)
        return -1;
    return PCI_PC_GSI_BASE + pci_bus_irq_line(devfn, pin);
}

/* A line is asserted while any device on it asserts (wired-OR of open-drain INTx#). */
void pci_bus_irq_adjust(PciBus *bus, unsigned line, bool assert)
{
    unsigned *cnt = &bus->irq_count[line % PCI_BUS_NIRQ];
    unsigned gsi = bus->gsi_base + line % PCI_BUS_NIRQ;

    if (assert) {
        if ((*cnt)++ == 0 && gsi < MACHINE_NUM_GSI)
            irq_raise(&bus->m->gsi[gsi]);
    } else if (*cnt > 0) {
        if (--(*cnt) == 0 && gsi < MACHINE_NUM_GSI)
            irq_lower(&bus->m->gsi[gsi]);
    }
}

void pci_bus_free(PciBus *bus)
{
    if (!bus)
        return;
    for (unsigned i = 0; i < G_N_ELEMENTS(bus->devices); i++)
        if (bus->devices[i])
            pci_device_unrealize(bus->devices[i]);
    if (bus->conf_mr.mapped)
        as_del_region(bus->io, &bus->conf_mr);
    if (bus->m && bus->m->pci_bus == bus)
        bus->m->pci_bus = NULL;
    g_free(bus);
}

void pci_bus_get_windows(const PciBus *bus, PciWindows *w)
{
    *w = bus->win;
}

void pci_bus_set_windows(PciBus *bus, const PciWindows *w)
{
    bus->win = *w;
}

PciDevice *pci_bus_get_device(PciBus *bus, unsigned devfn)
{
    return bus && devfn < G_N_ELEMENTS(bus->devices) ? bus->devices[devfn] : NULL;
}

uint32_t pci_bus_builtin_slots(PciBus *bus)
{
    uint32_t mask = 0;

    for (unsigned i = 0; bus && i < G_N_ELEMENTS(bus->devices); i++)
        if (bus->devices[i] && !bus->devices[i]->dev.user_created)
            mask |= 1u << PCI_SLOT(i);
    return mask;
}

void pci_bus_foreach(PciBus *bus, void (*fn)(PciDevice *d, void *opaque), void *opaque)
{
    for (unsigned i = 0; i < G_N_ELEMENTS(bus->devices); i++)
        if (bus->devices[i])
            fn(bus->devices[i], opaque);
}

/* ---- BAR assignment, as firmware would do it ---- */

typedef struct BarReq {
    PciDevice *d;
    int idx;
    uint64_t size;
} BarReq;

typedef struct Allocator {
    uint64_t next, end;     /* end is exclusive */
} Allocator;

/* Largest first, so every BAR stays naturally aligned with little waste. */
static int bar_req_cmp(const void *a, const void *b)
{
    const BarReq *x = a, *y = b;

    if (x->size != y->size)
        return x->size < y->size ? 1 : -1;
    return x->d->devfn != y->d->devfn ? (int)x->d->devfn - (int)y->d->devfn
                                      : x->idx - y->idx;
}

static bool alloc_take(Allocator *a, uint64_t size, uint64_t *addr)
{
    uint64_t base = (a->next + size - 1) & ~(size - 1);

    if (base < a->next || base + size < base || base + size > a->end)
        return false;
    *addr = base;
    a->next = base + size;
    return true;
}

static void bar_set(BarReq *r, uint64_t addr)
{
    unsigned reg = pci_bar_reg(r->idx);
    uint32_t flags = r->d->bars[r->idx].flags;
    uint32_t low_bits = pci_get_long(r->d, reg) & ((flags & PCI_BAR_IO) ? 3u : 0xfu);

    if (r->idx == PCI_ROM_SLOT)     /* placed with decoding off, as SeaBIOS leaves it */
        low_bits = 0;

    pci_set_long(r->d, reg, (uint32_t)addr | low_bits);
    if (flags & PCI_BAR_MEM64)
        pci_set_long(r->d, reg + 4, addr >> 32);
}

static uint64_t reqs_total(const BarReq *r, unsigned n)
{
    uint64_t t = 0;

    for (unsigned i = 0; i < n; i++)
        t += r[i].size;
    return t;
}

/* Places @n requests (sorted) with @a; 64-bit BARs go to @a64 when it is given. */
static bool assign_list(PciBus *bus, BarReq *r, unsigned n, Allocator *a, Allocator *a64)
{
    bool ok = true;

    for (unsigned i = 0; i < n; i++) {
        bool is64 = r[i].d->bars[r[i].idx].flags & PCI_BAR_MEM64;
        uint64_t addr;
        if (alloc_take(is64 && a64 ? a64 : a, r[i].size, &addr)) {
            bar_set(&r[i], addr);
            continue;
        }
        pci_log(bus, "%02x.%x %s BAR%d (%#" PRIx64 " bytes) does not fit the PCI window",
                PCI_SLOT(r[i].d->devfn), PCI_FUNC(r[i].d->devfn),
                r[i].d->dev.cls->name, r[i].idx, r[i].size);
        ok = false;
    }
    return ok;
}

static void collect_bars(PciBus *bus, GArray *io, GArray *mem)
{
    for (unsigned fn = 0; fn < G_N_ELEMENTS(bus->devices); fn++) {
        PciDevice *d = bus->devices[fn];
        for (int i = 0; d && i < PCI_NUM_REGIONS; i++) {
            BarReq r = { d, i, d->bars[i].size };
            if (r.size)
                g_array_append_val((d->bars[i].flags & PCI_BAR_IO) ? io : mem, r);
        }
    }
    g_array_sort(io, bar_req_cmp);
    g_array_sort(mem, bar_req_cmp);
}

/* Enables decoding of what the device has, and sets the interrupt line register to
 * the GSI its pin routes to (informational; the OS uses _PRT). */
static void enable_device(PciDevice *d)
{
    uint16_t cmd = pci_get_word(d, PCI_COMMAND);
    uint8_t pin = pci_get_byte(d, PCI_INTERRUPT_PIN);

    for (int i = 0; i < PCI_NUM_BARS; i++) {
        if (d->bars[i].size)
            cmd |= (d->bars[i].flags & PCI_BAR_IO) ? PCI_COMMAND_IO : PCI_COMMAND_MEMORY;
    }
    pci_set_word(d, PCI_COMMAND, cmd);
    if (pin >= 1 && pin <= 4)
        pci_set_byte(d, PCI_INTERRUPT_LINE, pci_pc_intx_to_gsi(d->devfn, pin));
}

bool pci_bus_assign_bars(PciBus *bus)
{
    GArray *io = g_array_new(false, false, sizeof(BarReq));
    GArray *mem = g_array_new(false, false, sizeof(BarReq));
    Allocator aio = { bus->win.io_base, bus->win.io_base + bus->win.io_size };
    Allocator a32 = { bus->win.mem32_base, bus->win.mem32_base + bus->win.mem32_size };
    Allocator a64 = { bus->win.mem64_base, bus->win.mem64_base + bus->win.mem64_size };
    bool ok, fits32;

    collect_bars(bus, io, mem);
    fits32 = reqs_total((BarReq *)mem->data, mem->len) <= bus->win.mem32_size;
    ok = assign_list(bus, (BarReq *)io->data, io->len, &aio, NULL);
    /* Like SeaBIOS: everything below 4 GiB if it fits, else 64-bit BARs go high. */
    ok &= assign_list(bus, (BarReq *)mem->data, mem->len, &a32,
                      fits32 || !bus->win.mem64_size ? NULL : &a64);
    g_array_free(io, true);
    g_array_free(mem, true);
    for (unsigned fn = 0; fn < G_N_ELEMENTS(bus->devices); fn++)
        if (bus->devices[fn])
            enable_device(bus->devices[fn]);
    pci_bus_update_mappings(bus);
    return ok;
}
