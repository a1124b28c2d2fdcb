/*
 * PCI device core: attaching to the bus, the type 0 configuration header with its
 * write masks (PCI Local Bus 3.0, 6.1-6.2), capability lists (6.7) and INTx (2.2.6).
 */
#include <errno.h>
#include <stdarg.h>
#include <string.h>
#include "pci-internal.h"

uint8_t pci_get_byte(const PciDevice *d, unsigned off)
{
    return off < PCI_CONFIG_SPACE_SIZE ? d->state.config[off] : 0xff;
}

uint16_t pci_get_word(const PciDevice *d, unsigned off)
{
    return pci_get_byte(d, off) | (uint16_t)pci_get_byte(d, off + 1) << 8;
}

uint32_t pci_get_long(const PciDevice *d, unsigned off)
{
    return pci_get_word(d, off) | (uint32_t)pci_get_word(d, off + 2) << 16;
}

void pci_set_byte(PciDevice *d, unsigned off, uint8_t v)
{
    if (off < PCI_CONFIG_SPACE_SIZE)
        d->state.config[off] = v;
}

void pci_set_word(PciDevice *d, unsigned off, uint16_t v)
{
    pci_set_byte(d, off, v);
    pci_set_byte(d, off + 1, v >> 8);
}

void pci_set_long(PciDevice *d, unsigned off, uint32_t v)
{
    pci_set_word(d, off, v);
    pci_set_word(d, off + 2, v >> 16);
}

void pci_set_wmask(PciDevice *d, unsigned off, unsigned len, uint32_t mask)
{
    for (unsigned i = 0; i < len && off + i < PCI_CONFIG_SPACE_SIZE; i++)
        d->wmask[off + i] = mask >> (8 * (i & 3));
}

/* Guest-triggerable (a BAR programmed over another range): budgeted per bus. */
void pci_log(PciBus *bus, const char *fmt, ...)
{
    va_list ap;

    if (!bus || !log_budget_check(&bus->log, g_get_monotonic_time()))
        return;
    va_start(ap, fmt);
    g_autofree char *msg = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    if (bus->log.suppressed)
        g_message("pci: %s (%" G_GUINT64_FORMAT " similar messages suppressed)", msg,
                  bus->log.suppressed);
    else
        g_message("pci: %s", msg);
    bus->log.suppressed = 0;
}

static char *pci_dev_label(const PciDevice *d)
{
    if (d->dev.id)
        return g_strdup_printf("%s (id '%s')", d->dev.cls->name, d->dev.id);
    return g_strdup(d->dev.cls->name);
}

static bool pci_is_multifunction(const PciDevice *d)
{
    return d->multifunction || (d->info && d->info->multifunction);
}

static bool pci_slot_empty(PciBus *bus, unsigned slot)
{
    for (unsigned fn = 0; fn < PCI_FUNC_MAX; fn++)
        if (bus->devices[PCI_DEVFN(slot, fn)])
            return false;
    return true;
}

/* Picks the devfn from the "addr" property or the first empty slot. */
static bool pci_choose_devfn(PciDevice *d, PciBus *bus, unsigned *devfn, GError **errp)
{
    const char *name = d->dev.cls->name;

    if (d->addr >= 0) {
        *devfn = d->addr;
        return true;
    }
    for (unsigned slot = 0; slot < PCI_SLOT_MAX; slot++) {
        if (pci_slot_empty(bus, slot)) {
            *devfn = PCI_DEVFN(slot, 0);
            return true;
        }
    }
    g_set_error(errp, G_IO_ERROR, G_IO_ERROR_NO_SPACE,
                "-device %s: no free PCI slot on the bus", name);
    return false;
}

/* Multi-function rules: Linux only probes functions 1..7 when function 0 says
 * multi-function in its header type (PCI 3.0, 6.2.1). */
static bool pci_check_slot(PciDevice *d, PciBus *bus, unsigned devfn, GError **errp)
{
    const char *name = d->dev.cls->name;
    unsigned slot = PCI_SLOT(devfn), fn = PCI_FUNC(devfn);
    PciDevice *other = bus->devices[devfn];

    if (other) {
        g_autofree char *label = pci_dev_label(other);
        g_set_error(errp, G_IO_ERROR, G_IO_ERROR_EXISTS,
                    "-device %s: PCI slot %u function %u is in use by %s",
                    name, slot, fn, label);
        return false;
    }
    if (fn) {
        PciDevice *f0 = bus->devices[PCI_DEVFN(slot, 0)];
        if (f0 && !pci_is_multifunction(f0)) {
            g_autofree char *label = pci_dev_label(f0);
            g_set_error(errp, G_IO_ERROR, G_IO_ERROR_EXISTS,
                        "-device %s: PCI slot %u function 0 (%s) is single-function; "
                        "function %u cannot be used (set multifunction=on there)",
                        name, slot, label, fn);
            return false;
        }
        return true;
    }
    if (!pci_is_multifunction(d) && !pci_slot_empty(bus, slot)) {
        g_set_error(errp, G_IO_ERROR, G_IO_ERROR_EXISTS,
                    "-device %s: PCI slot %u has other functions in use; function 0 "
                    "needs multifunction=on", name, slot);
        return false;
    }
    return true;
}

/* Fills the header and its masks; leaves BARs and capabilities alone, so devices
 * may register those before or after realize. */
static void pci_init_header(PciDevice *d, const PciDeviceInfo *info)
{
    pci_set_word(d, PCI_VENDOR_ID, info->vendor_id);
    pci_set_word(d, PCI_DEVICE_ID, info->device_id);
    pci_set_byte(d, PCI_REVISION_ID, info->revision);
    pci_set_byte(d, PCI_CLASS_PROG, info->class_code & 0xff);
    pci_set_word(d, PCI_CLASS_DEVICE, info->class_code >> 8);
    pci_set_byte(d, PCI_HEADER_TYPE, pci_is_multifunction(d) ?
                 PCI_HEADER_TYPE_MULTI_FUNCTION : 0);
    pci_set_word(d, PCI_SUBSYSTEM_VENDOR_ID, info->subsystem_vendor_id);
    pci_set_word(d, PCI_SUBSYSTEM_ID, info->subsystem_id);
    pci_set_byte(d, PCI_INTERRUPT_PIN, info->irq_pin <= 4 ? info->irq_pin : 0);

    pci_set_wmask(d, PCI_COMMAND, 2, PCI_COMMAND_IO | PCI_COMMAND_MEMORY |
                  PCI_COMMAND_MASTER | PCI_COMMAND_PARITY | PCI_COMMAND_SERR |
                  PCI_COMMAND_INTX_DISABLE);
    d->w1cmask[PCI_STATUS] = PCI_STATUS_W1C & 0xff;
    d->w1cmask[PCI_STATUS + 1] = PCI_STATUS_W1C >> 8;
    d->wmask[PCI_CACHE_LINE_SIZE] = 0xff;
    d->wmask[PCI_LATENCY_TIMER] = 0xff;
    d->wmask[PCI_INTERRUPT_LINE] = 0xff;
    memset(d->used, 1, 0x40);
}

static const Property pci_device_props[] = {
    PROP("addr", PROP_PCI_DEVFN, PciDevice, addr, NULL,
         "Slot and optional function number, example: 06.0 or 06"),
    PROP("multifunction", PROP_BOOL, PciDevice, multifunction, "off", "on/off"),
    PROP("romfile", PROP_STR, PciDevice, romfile, NULL,
         "option ROM image (file, or name in -L dirs, /usr/share/seabios, ...; empty: none)"),
    PROP("rombar", PROP_U32, PciDevice, rombar, "1",
         "0: the ROM goes to the firmware through fw_cfg instead of a ROM BAR"),
    PROP_END
};

static void pci_device_class_post_load(Device *dev);

/* QEMU's abstract "pci-device": what every PCI function shares. */
const DeviceClass pci_device_class = {
    .name = "pci-device",
    .desc = "the base of PCI device types",
    .parent = &device_base_class,
    .abstract = true,
    .bus = BUS_PCI,
    .props = pci_device_props,
    /* Every PCI function migrates its config space and MSI-X state at this level. */
    .vmsd = &pci_device_vmsd,
    .state_offset = offsetof(PciDevice, state),
    .post_load = pci_device_class_post_load,
};

bool pci_device_realize(PciDevice *d, const PciDeviceInfo *info, GError **errp)
{
    Machine *m = d->dev.machine;
    PciBus *bus = m ? m->pci_bus : NULL;
    unsigned devfn;

    if (!bus) {
        g_set_error(errp, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED,
                    "No 'PCI' bus found for device '%s'", d->dev.cls->name);
        return false;
    }
    if (d->attached)
        return true;
    d->info = info;
    if (!pci_choose_devfn(d, bus, &devfn, errp) || !pci_check_slot(d, bus, devfn, errp))
        return false;
    d->bus = bus;
    d->devfn = devfn;
    for (int i = 0; i < PCI_NUM_REGIONS; i++)
        if (!d->bars[i].size)
            d->bars[i].addr = PCI_BAR_UNMAPPED;
    pci_init_header(d, info);
    if (!pci_rom_realize(d, errp))
        return false;
    bus->devices[devfn] = d;
    d->attached = true;
    pci_device_reset(d);
    return true;
}

void pci_device_unrealize(PciDevice *d)
{
    if (!d->attached)
        return;
    pci_set_irq(d, 0);
    pci_bars_unmap(d);
    for (int i = 0; i < PCI_NUM_REGIONS; i++)
        g_clear_pointer(&d->bars[i].name, g_free);
    pci_rom_free(d);
    if (d->bus->devices[d->devfn] == d)
        d->bus->devices[d->devfn] = NULL;
    if (d->bus->rcr_dev == d)
        d->bus->rcr_dev = NULL;
    d->attached = false;
    d->bus = NULL;
}

void pci_device_reset(PciDevice *d)
{
    if (!d->attached)
        return;
    pci_set_irq(d, 0);
    pci_set_word(d, PCI_COMMAND, 0);
    pci_set_word(d, PCI_STATUS, pci_get_word(d, PCI_STATUS) & PCI_STATUS_CAP_LIST);
    pci_set_byte(d, PCI_CACHE_LINE_SIZE, 0);
    pci_set_byte(d, PCI_LATENCY_TIMER, 0);
    pci_set_byte(d, PCI_INTERRUPT_LINE, 0);
    pci_msi_reset(d);
    pci_msix_reset(d);
    pci_bars_reset(d);
}

/* INTx Disable (command bit 10) masks the pin; Interrupt Status shows the pin's own
 * level either way (PCI 3.0, 6.2.2 and 6.2.3). */
static void pci_intx_update(PciDevice *d)
{
    uint16_t st = pci_get_word(d, PCI_STATUS) & ~PCI_STATUS_INTERRUPT;
    uint8_t pin = pci_get_byte(d, PCI_INTERRUPT_PIN);
    bool assert = d->state.intx_level && pin >= 1 && pin <= 4 &&
                  !(pci_get_word(d, PCI_COMMAND) & PCI_COMMAND_INTX_DISABLE);

    pci_set_word(d, PCI_STATUS, st | (d->state.intx_level ? PCI_STATUS_INTERRUPT : 0));
    if (assert == d->intx_asserted || !d->attached)
        return;
    d->intx_asserted = assert;
    pci_bus_irq_adjust(d->bus, pci_bus_irq_line(d->devfn, pin), assert);
}

void pci_set_irq(PciDevice *d, int level)
{
    d->state.intx_level = level != 0;
    pci_intx_update(d);
}

uint32_t pci_config_read(PciDevice *d, uint32_t addr, unsigned len)
{
    uint32_t val = 0;

    if (len == 0 || len > 4 || addr >= PCI_CONFIG_SPACE_SIZE)
        return 0xffffffffu >> (len && len <= 4 ? 32 - 8 * len : 0);
    for (unsigned i = 0; i < len; i++)
        val |= (uint32_t)pci_get_byte(d, addr + i) << (8 * i);
    if (d->info && d->info->config_read)
        d->info->config_read(d, addr, len, &val);
    return val;
}

static void pci_config_write_byte(PciDevice *d, unsigned a, uint8_t b)
{
    uint8_t c = d->state.config[a];

    c = (c & ~d->wmask[a]) | (b & d->wmask[a]);
    c &= ~(b & d->w1cmask[a]);
    d->state.config[a] = c;
}

void pci_config_write(PciDevice *d, uint32_t addr, uint32_t val, unsigned len)
{
    if (len == 0 || len > 4 || addr >= PCI_CONFIG_SPACE_SIZE)
        return;
    if (addr + len > PCI_CONFIG_SPACE_SIZE)
        len = PCI_CONFIG_SPACE_SIZE - addr;
    for (unsigned i = 0; i < len; i++)
        pci_config_write_byte(d, addr + i, val >> (8 * i));

    if (pci_ranges_overlap(addr, len, PCI_COMMAND, 2))
        pci_intx_update(d);
    if (d->attached && (pci_ranges_overlap(addr, len, PCI_COMMAND, 2) ||
                        pci_ranges_overlap(addr, len, PCI_BASE_ADDRESS_0, 24) ||
                        pci_ranges_overlap(addr, len, PCI_ROM_ADDRESS, 4)))
        pci_bus_update_mappings(d->bus);
    pci_msi_config_written(d, addr, len);
    pci_msix_config_written(d, addr, len);
    if (d->info && d->info->config_write)
        d->info->config_write(d, addr, val, len);
}

/* Capabilities: a list through PCI_CAPABILITY_LIST (PCI 3.0, 6.7). */
static int pci_find_cap_space(PciDevice *d, uint8_t size)
{
    for (unsigned off = 0x40; off + size <= PCI_CONFIG_SPACE_SIZE; off += 4) {
        bool free = true;
        for (unsigned i = 0; i < size && free; i++)
            free = !d->used[off + i];
        if (free)
            return off;
    }
    return -ENOSPC;
}

int pci_add_capability(PciDevice *d, uint8_t id, uint8_t offset, uint8_t size)
{
    int off = offset;

    if (size < 2)
        return -EINVAL;
    if (!off) {
        off = pci_find_cap_space(d, size);
        if (off < 0)
            return off;
    }
    if (off < 0x40 || (off & 3) || off + size > PCI_CONFIG_SPACE_SIZE)
        return -EINVAL;
    for (unsigned i = 0; i < size; i++)
        if (d->used[off + i])
            return -EBUSY;
    memset(d->used + off, 1, size);
    pci_set_byte(d, off, id);
    pci_set_byte(d, off + 1, pci_get_byte(d, PCI_CAPABILITY_LIST));
    pci_set_byte(d, PCI_CAPABILITY_LIST, off);
    pci_set_word(d, PCI_STATUS, pci_get_word(d, PCI_STATUS) | PCI_STATUS_CAP_LIST);
    return off;
}

uint8_t pci_find_capability(const PciDevice *d, uint8_t id)
{
    uint8_t off = pci_get_byte(d, PCI_CAPABILITY_LIST);

    /* A bounded walk: the list is ours, but never loop forever. */
    for (int hops = 0; off >= 0x40 && hops < 48; hops++) {
        if (pci_get_byte(d, off) == id)
            return off;
        off = pci_get_byte(d, off + 1) & ~3;
    }
    return 0;
}

/* SeaBIOS matches a bootorder line by the PCI address (its bootprio_find_pci_rom and
 * friends glob "/pci@i0cf8/ANY@SLOT"), so the name is QEMU's but only the address counts. */
char *pci_add_boot_device(PciDevice *d, int32_t bootindex, const char *name,
                          const char *suffix)
{
    unsigned slot = PCI_SLOT(d->devfn), fn = PCI_FUNC(d->devfn);
    char *path;

    if (bootindex < 0 || !d->dev.machine)
        return NULL;
    path = fn ? g_strdup_printf("/pci@i0cf8/%s@%x,%x%s", name, slot, fn, suffix ? suffix : "")
              : g_strdup_printf("/pci@i0cf8/%s@%x%s", name, slot, suffix ? suffix : "");
    machine_add_boot_device(d->dev.machine, bootindex, path);
    return path;
}

static const VMStateField pci_device_fields[] = {
    VMS_BUF(PciDeviceState, config),
    VMS_BUF(PciDeviceState, msix_table),
    VMS_FIELD(PciDeviceState, msix_pba),
    VMS_FIELD(PciDeviceState, intx_level),
    VMS_END
};

static PciDevice *pci_of_state(void *state)
{
    return (PciDevice *)((uint8_t *)state - offsetof(PciDevice, state));
}

/* Keeps the configuration space as the device built it: what a guest cannot write
 * must come back unchanged from a stream. */
static void pci_pre_load(void *state)
{
    PciDevice *d = pci_of_state(state);
    memcpy(d->config_ref, d->state.config, PCI_CONFIG_SPACE_SIZE);
}

/* Bytes the device itself changes while running (so a stream may differ there): the
 * Interrupt Status bit (derived again by post_load) and MSI pending bits. */
static uint8_t pci_dynamic_bits(const PciDevice *d, unsigned a)
{
    if (a == PCI_STATUS)
        return PCI_STATUS_INTERRUPT;
    if (d->msi_cap && (pci_get_word(d, d->msi_cap + 2) & 0x0100)) {     /* maskable */
        unsigned pend = d->msi_cap + ((pci_get_word(d, d->msi_cap + 2) & 0x0080) ? 0x14 : 0x10);
        if (a >= pend && a < pend + 4)
            return 0xff;
    }
    return 0;
}

/* As strict as a guest's config writes: every bit outside the write masks equals the
 * device's own value; MSI-X entries and pending bits stay within its vectors. */
static bool pci_post_load(void *state, int version, GError **errp)
{
    PciDevice *d = pci_of_state(state);
    const char *name = d->dev.cls ? d->dev.cls->name : "pci-device";
    for (unsigned a = 0; a < PCI_CONFIG_SPACE_SIZE; a++) {
        uint8_t fixed = ~(d->wmask[a] | d->w1cmask[a] | pci_dynamic_bits(d, a));
        if ((d->state.config[a] ^ d->config_ref[a]) & fixed)
            return vmstate_invalid(errp, "pci-device", "%s: read-only config byte %#x is "
                                   "%#04x in the stream, %#04x here", name, a,
                                   d->state.config[a], d->config_ref[a]);
    }
    uint64_t vec_mask = d->msix_vectors >= 64 ? ~0ull : (1ull << d->msix_vectors) - 1;
    if (d->state.msix_pba & ~vec_mask)
        return vmstate_invalid(errp, "pci-device", "%s: MSI-X pending bits beyond its %u "
                               "vectors", name, d->msix_vectors);
    for (size_t i = (size_t)d->msix_vectors * 16; i < sizeof(d->state.msix_table); i++)
        if (d->state.msix_table[i])
            return vmstate_invalid(errp, "pci-device", "%s: MSI-X table entry %zu beyond "
                                   "its %u vectors", name, i / 16, d->msix_vectors);
    if (d->state.intx_level > 1)
        return vmstate_invalid(errp, "pci-device", "%s: INTx level %u", name,
                               d->state.intx_level);
    return true;
}

const VMStateDesc pci_device_vmsd = {
    .name = "pci-device",
    .version = 1,
    .min_version = 1,
    .fields = pci_device_fields,
    .pre_load = pci_pre_load,
    .post_load = pci_post_load,
};

/* Re-derives the INTx line and maps the BARs where the loaded registers put them. */
void pci_device_post_load(PciDevice *d)
{
    pci_intx_update(d);
    if (d->attached)
        pci_bus_update_mappings(d->bus);
}

static void pci_device_class_post_load(Device *dev)
{
    pci_device_post_load((PciDevice *)dev);
}
