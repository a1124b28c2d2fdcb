/*
 * Message signalled interrupts: the MSI capability (PCI Local Bus 3.0, 6.8.1) and
 * MSI-X with its table and pending bit array in a BAR (6.8.2). Messages are memory
 * writes by the device, so both need Bus Master Enable; they go to m->msi.
 */
#include <errno.h>
#include <string.h>
#include "pci-internal.h"

#define MSI_CTRL_ENABLE     0x0001
#define MSI_CTRL_MMC_SHIFT  1           /* multiple message capable, log2 */
#define MSI_CTRL_MME_SHIFT  4           /* multiple message enable, log2 */
#define MSI_CTRL_MME_MASK   0x0070
#define MSI_CTRL_64BIT      0x0080
#define MSI_CTRL_MASKABLE   0x0100

#define MSIX_CTRL_MASKALL   0x4000
#define MSIX_CTRL_ENABLE    0x8000
#define MSIX_ENTRY_SIZE     16
#define MSIX_ENTRY_CTRL     12
#define MSIX_CTRL_MASKED    0x1
#define MSIX_EXCL_BAR_SIZE  4096
#define MSIX_EXCL_PBA_OFF   2048

static void pci_send_msi(PciDevice *d, uint64_t addr, uint32_t data)
{
    if (!d->attached || !(pci_get_word(d, PCI_COMMAND) & PCI_COMMAND_MASTER))
        return;
    msi_send(&d->bus->m->msi, addr, data);
}

/* ---- MSI ---- */

static uint16_t msi_ctrl(const PciDevice *d)
{
    return pci_get_word(d, d->msi_cap + 2);
}

static unsigned msi_data_off(const PciDevice *d)
{
    return d->msi_cap + ((msi_ctrl(d) & MSI_CTRL_64BIT) ? 0x0c : 0x08);
}

static unsigned msi_mask_off(const PciDevice *d)
{
    return msi_data_off(d) + 4;
}

/* Vectors the guest enabled: 2^min(MME, MMC). */
static unsigned msi_nr_enabled(const PciDevice *d)
{
    uint16_t c = msi_ctrl(d);
    unsigned mmc = (c >> MSI_CTRL_MMC_SHIFT) & 7;
    unsigned mme = (c & MSI_CTRL_MME_MASK) >> MSI_CTRL_MME_SHIFT;

    return 1u << MIN(mmc, mme);
}

int pci_msi_init(PciDevice *d, uint8_t offset, unsigned nvectors, bool is64, bool maskable)
{
    unsigned size = (is64 ? 0x0e : 0x0a) + (maskable ? 10 : 0);
    unsigned log2n = 0;
    int off;

    if (d->msi_cap || nvectors == 0 || nvectors > 32 || (nvectors & (nvectors - 1)))
        return -EINVAL;
    while ((1u << log2n) < nvectors)
        log2n++;
    off = pci_add_capability(d, PCI_CAP_ID_MSI, offset, size);
    if (off < 0)
        return off;
    d->msi_cap = off;
    pci_set_word(d, off + 2, (log2n << MSI_CTRL_MMC_SHIFT) |
                 (is64 ? MSI_CTRL_64BIT : 0) | (maskable ? MSI_CTRL_MASKABLE : 0));
    pci_set_wmask(d, off + 2, 2, MSI_CTRL_ENABLE | MSI_CTRL_MME_MASK);
    pci_set_wmask(d, off + 4, 4, 0xfffffffc);
    if (is64)
        pci_set_wmask(d, off + 8, 4, 0xffffffff);
    pci_set_wmask(d, msi_data_off(d), 2, 0xffff);
    if (maskable)
        pci_set_wmask(d, msi_mask_off(d), 4,
                      nvectors == 32 ? 0xffffffffu : (1u << nvectors) - 1);
    return off;
}

bool pci_msi_enabled(const PciDevice *d)
{
    return d->msi_cap && (msi_ctrl(d) & MSI_CTRL_ENABLE);
}

static void msi_deliver(PciDevice *d, unsigned vector)
{
    unsigned n = msi_nr_enabled(d);
    uint64_t addr = pci_get_long(d, d->msi_cap + 4);
    uint32_t data = pci_get_word(d, msi_data_off(d));

    if (msi_ctrl(d) & MSI_CTRL_64BIT)
        addr |= (uint64_t)pci_get_long(d, d->msi_cap + 8) << 32;
    /* The device modifies the low log2(n) bits of the data (6.8.1.6). */
    data = (data & ~(n - 1)) | vector;
    pci_send_msi(d, addr, data);
}

void pci_msi_notify(PciDevice *d, unsigned vector)
{
    if (!pci_msi_enabled(d) || vector >= msi_nr_enabled(d))
        return;
    if (msi_ctrl(d) & MSI_CTRL_MASKABLE) {
        unsigned moff = msi_mask_off(d);
        if (pci_get_long(d, moff) & (1u << vector)) {
            pci_set_long(d, moff + 4, pci_get_long(d, moff + 4) | (1u << vector));
            return;
        }
    }
    msi_deliver(d, vector);
}

/* A write to the capability may unmask or enable vectors with pending messages. */
void pci_msi_config_written(PciDevice *d, uint32_t addr, unsigned len)
{
    unsigned moff;
    uint32_t pend, mask;

    if (!d->msi_cap || !pci_ranges_overlap(addr, len, d->msi_cap, 0x18))
        return;
    if (!pci_msi_enabled(d) || !(msi_ctrl(d) & MSI_CTRL_MASKABLE))
        return;
    moff = msi_mask_off(d);
    mask = pci_get_long(d, moff);
    pend = pci_get_long(d, moff + 4);
    for (unsigned v = 0; v < msi_nr_enabled(d); v++) {
        if ((pend & (1u << v)) && !(mask & (1u << v))) {
            pend &= ~(1u << v);
            pci_set_long(d, moff + 4, pend);
            msi_deliver(d, v);
        }
    }
}

void pci_msi_reset(PciDevice *d)
{
    unsigned c = d->msi_cap, end;

    if (!c)
        return;
    end = msi_data_off(d) + 2 + ((msi_ctrl(d) & MSI_CTRL_MASKABLE) ? 10 : 0);
    pci_set_word(d, c + 2, msi_ctrl(d) & ~(MSI_CTRL_ENABLE | MSI_CTRL_MME_MASK));
    /* Address, data, mask and pending all read 0 after reset. */
    for (unsigned off = c + 4; off < end; off++)
        pci_set_byte(d, off, 0);
}

/* ---- MSI-X ---- */

static uint16_t msix_ctrl(const PciDevice *d)
{
    return pci_get_word(d, d->msix_cap + 2);
}

bool pci_msix_enabled(const PciDevice *d)
{
    return d->msix_cap && (msix_ctrl(d) & MSIX_CTRL_ENABLE);
}

static uint8_t *msix_entry(PciDevice *d, unsigned v)
{
    return d->state.msix_table + v * MSIX_ENTRY_SIZE;
}

static uint32_t msix_entry_long(const PciDevice *d, unsigned v, unsigned off)
{
    const uint8_t *e = d->state.msix_table + v * MSIX_ENTRY_SIZE + off;
    return e[0] | e[1] << 8 | e[2] << 16 | (uint32_t)e[3] << 24;
}

bool pci_msix_is_masked(const PciDevice *d, unsigned vector)
{
    if (!pci_msix_enabled(d) || vector >= d->msix_vectors)
        return true;
    return (msix_ctrl(d) & MSIX_CTRL_MASKALL) ||
           (msix_entry_long(d, vector, MSIX_ENTRY_CTRL) & MSIX_CTRL_MASKED);
}

bool pci_msix_get_message(const PciDevice *d, unsigned vector, uint64_t *addr,
                          uint32_t *data)
{
    if (!d->msix_cap || vector >= d->msix_vectors)
        return false;
    *addr = msix_entry_long(d, vector, 0) | (uint64_t)msix_entry_long(d, vector, 4) << 32;
    *data = msix_entry_long(d, vector, 8);
    return true;
}

static void msix_deliver(PciDevice *d, unsigned v)
{
    uint64_t addr;
    uint32_t data;

    if (pci_msix_get_message(d, v, &addr, &data))
        pci_send_msi(d, addr, data);
}

void pci_msix_notify(PciDevice *d, unsigned vector)
{
    if (!pci_msix_enabled(d) || vector >= d->msix_vectors)
        return;
    if (pci_msix_is_masked(d, vector)) {
        d->state.msix_pba |= 1ull << vector;
        return;
    }
    msix_deliver(d, vector);
}

/* Sends every pending vector that is no longer masked (6.8.2.9). */
static void msix_flush_pending(PciDevice *d)
{
    for (unsigned v = 0; v < d->msix_vectors && d->state.msix_pba; v++) {
        if ((d->state.msix_pba & (1ull << v)) && !pci_msix_is_masked(d, v)) {
            d->state.msix_pba &= ~(1ull << v);
            msix_deliver(d, v);
        }
    }
}

static bool msix_hit(uint64_t off, unsigned size, uint32_t start, uint32_t len)
{
    return off >= start && off - start < len && size >= 1 && size <= 8;
}

static uint32_t msix_table_len(const PciDevice *d)
{
    return d->msix_vectors * MSIX_ENTRY_SIZE;
}

static uint32_t msix_pba_len(const PciDevice *d)
{
    return 8;       /* one qword covers PCI_MSIX_MAX_VECTORS */
}

bool pci_msix_bar_read(PciDevice *d, int bar, uint64_t off, unsigned size, uint64_t *val)
{
    const uint8_t *src;
    uint32_t base, len;
    uint8_t pba[8];

    if (!d->msix_cap)
        return false;
    if (bar == d->msix_table_bar && msix_hit(off, size, d->msix_table_off,
                                             msix_table_len(d))) {
        src = d->state.msix_table;
        base = d->msix_table_off;
        len = msix_table_len(d);
    } else if (bar == d->msix_pba_bar && msix_hit(off, size, d->msix_pba_off,
                                                  msix_pba_len(d))) {
        for (int i = 0; i < 8; i++)
            pba[i] = d->state.msix_pba >> (8 * i);
        src = pba;
        base = d->msix_pba_off;
        len = msix_pba_len(d);
    } else {
        return false;
    }
    *val = 0;
    for (unsigned i = 0; i < size && off - base + i < len; i++)
        *val |= (uint64_t)src[off - base + i] << (8 * i);
    return true;
}

bool pci_msix_bar_write(PciDevice *d, int bar, uint64_t off, uint64_t val, unsigned size)
{
    if (!d->msix_cap)
        return false;
    if (bar == d->msix_pba_bar && msix_hit(off, size, d->msix_pba_off, msix_pba_len(d)))
        return true;        /* the PBA is read-only */
    if (bar != d->msix_table_bar || !msix_hit(off, size, d->msix_table_off,
                                              msix_table_len(d)))
        return false;
    off -= d->msix_table_off;
    for (unsigned i = 0; i < size && off + i < msix_table_len(d); i++) {
        unsigned pos = off + i, field = pos % MSIX_ENTRY_SIZE;
        uint8_t b = val >> (8 * i);
        if (field >= MSIX_ENTRY_CTRL)   /* only the mask bit of vector control */
            b = field == MSIX_ENTRY_CTRL ? (b & MSIX_CTRL_MASKED) : 0;
        d->state.msix_table[pos] = b;
    }
    msix_flush_pending(d);
    if (d->msix_changed)
        d->msix_changed(d);
    return true;
}

void pci_msix_config_written(PciDevice *d, uint32_t addr, unsigned len)
{
    if (d->msix_cap && pci_ranges_overlap(addr, len, d->msix_cap + 2, 2)) {
        msix_flush_pending(d);
        if (d->msix_changed)
            d->msix_changed(d);
    }
}

void pci_msix_reset(PciDevice *d)
{
    if (!d->msix_cap)
        return;
    pci_set_word(d, d->msix_cap + 2, msix_ctrl(d) & ~(MSIX_CTRL_ENABLE | MSIX_CTRL_MASKALL));
    memset(d->state.msix_table, 0, sizeof(d->state.msix_table));
    for (unsigned v = 0; v < d->msix_vectors; v++)
        msix_entry(d, v)[MSIX_ENTRY_CTRL] = MSIX_CTRL_MASKED;
    d->state.msix_pba = 0;
}

static bool msix_fits(PciDevice *d, int bar, uint32_t off, uint32_t len)
{
    return bar >= 0 && bar < PCI_NUM_BARS && d->bars[bar].size &&
           !(d->bars[bar].flags & PCI_BAR_IO) && (off & 7) == 0 &&
           (uint64_t)off + len <= d->bars[bar].size;
}

int pci_msix_init(PciDevice *d, unsigned nvectors, int table_bar, uint32_t table_off,
                  int pba_bar, uint32_t pba_off)
{
    int off;

    if (d->msix_cap || nvectors == 0 || nvectors > PCI_MSIX_MAX_VECTORS ||
        !msix_fits(d, table_bar, table_off, nvectors * MSIX_ENTRY_SIZE) ||
        !msix_fits(d, pba_bar, pba_off, 8))
        return -EINVAL;
    if (table_bar == pba_bar &&
        pci_ranges_overlap(table_off, nvectors * MSIX_ENTRY_SIZE, pba_off, 8))
        return -EINVAL;
    off = pci_add_capability(d, PCI_CAP_ID_MSIX, 0, 12);
    if (off < 0)
        return off;
    d->msix_cap = off;
    d->msix_vectors = nvectors;
    d->msix_table_bar = table_bar;
    d->msix_table_off = table_off;
    d->msix_pba_bar = pba_bar;
    d->msix_pba_off = pba_off;
    pci_set_word(d, off + 2, nvectors - 1);
    pci_set_wmask(d, off + 2, 2, MSIX_CTRL_ENABLE | MSIX_CTRL_MASKALL);
    pci_set_long(d, off + 4, table_off | table_bar);
    pci_set_long(d, off + 8, pba_off | pba_bar);
    pci_msix_reset(d);
    return off;
}

int pci_msix_init_exclusive_bar(PciDevice *d, unsigned nvectors, int bar)
{
    int ret = pci_register_bar(d, bar, PCI_BAR_MEM32, MSIX_EXCL_BAR_SIZE, NULL, NULL);

    if (ret < 0)
        return ret;
    return pci_msix_init(d, nvectors, bar, 0, bar, MSIX_EXCL_PBA_OFF);
}
