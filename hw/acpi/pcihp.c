/*
 * PIIX4_PM at 01.3: the PIIX4 power-management function as QEMU's pc has it, here the
 * home of ACPI PCI hotplug for bus 0 (QEMU's docs/specs/acpi_pci_hotplug.rst) and of
 * the GPE0 block that signals it. The PM1 event/control blocks and the PM timer stay
 * in the acpi-pm device (pm.c); this function shares its SCI (acpi_pm_set_gpe_sci).
 *
 * Guest interface (the DSDT's \_GPE._E01 and the slot devices use it, dsdt.asl):
 *   0xafe0  GPE0_STS (2 bytes, write 1 to clear), 0xafe2 GPE0_EN (2 bytes); GPE 1 is
 *           "PCI hotplug" (ACPI 6.3, 4.8.4.1: a GPE block of status then enable);
 *   0xae00  UP: slots with a device to announce; cleared by the read (4 bytes);
 *   0xae04  DOWN: slots whose removal is requested; cleared by the eject (4 bytes);
 *   0xae08  EJ: write a slot bit (the lowest set one is taken) to eject; reads 0;
 *   0xae0c  RMV: slots that can take hot-plugged devices (none holds a built-in one);
 *   0xae10  BSEL: bus selector for the registers above; only bus 0 exists here;
 *   0xae14  ACPI index (QEMU's): no device has one, reads 0.
 * The hotplug registers act on aligned 4-byte accesses only; others read 0 and are
 * ignored. The PM base register (0x40) reads 0x601, where acpi-pm answers, and is
 * read-only, as is DEVACTB's APMC enable bit (set: no SMM to initialise).
 *
 * A guest eject (or a reset with a removal pending) removes every -device/device_add
 * device of the slot: machine_remove_device(), from the main loop (the eject comes from
 * a vCPU thread, and a disk drains its requests on the main loop).
 */
#include "vireo/acpi.h"
#include "vireo/hotplug.h"
#include "vireo/log.h"
#include "vireo/machine.h"
#include "vireo/pci.h"

#define PM_PMBA         0x40        /* PM I/O base (bit 0: I/O space) */
#define PM_DEVACTB      0x58        /* device activity B; bit 25: APMC_EN */
#define PM_PMREGMISC    0x80        /* bit 0: PM I/O space enabled */

#define HP_UP           0x00
#define HP_DOWN         0x04
#define HP_EJ           0x08
#define HP_RMV          0x0c
#define HP_SEL          0x10
#define HP_AIDX         0x14

typedef struct Piix4PmState {
    uint16_t gpe_sts, gpe_en;
    uint32_t up, down;              /* bus 0, a bit per slot */
    uint32_t sel;                   /* BSEL as written */
} Piix4PmState;

typedef struct Piix4Pm {
    PciDevice pci;
    bool bridge_hotplug;            /* properties */
    bool root_hotplug;
    Device *acpi_pm;                /* the SCI goes out through it */
    bool sci_level;
    MemRegion gpe_mr, hp_mr;
    HotplugOps ops;
    uint32_t eject_pending;         /* ejected slots the main loop has yet to empty */
    guint eject_source;
    LogBudget log;
    Piix4PmState state;
} Piix4Pm;

static const PciDeviceInfo piix4_pm_info = {
    .vendor_id = 0x8086,
    .device_id = 0x7113,
    .revision = 0x03,
    .class_code = 0x068000,         /* bridge, other */
    .irq_pin = 1,
};

static void pcihp_update_sci(Piix4Pm *s)
{
    bool level = (s->state.gpe_sts & s->state.gpe_en) != 0;

    if (level != s->sci_level && s->acpi_pm) {
        s->sci_level = level;
        acpi_pm_set_gpe_sci(s->acpi_pm, level);
    }
}

static void pcihp_event(Piix4Pm *s)
{
    s->state.gpe_sts |= ACPI_GPE_PCI_HOTPLUG;
    pcihp_update_sci(s);
}

static PciBus *pcihp_bus(Piix4Pm *s)
{
    return s->pci.dev.machine->pci_bus;
}

/* Slots that take hot-plugged devices: none while root hotplug is off. */
static uint32_t pcihp_slots(Piix4Pm *s)
{
    return s->root_hotplug ? ~pci_bus_builtin_slots(pcihp_bus(s)) : 0;
}

/* Removes the user's devices of @slot, highest function first (main loop). */
static void pcihp_empty_slot(Piix4Pm *s, unsigned slot)
{
    Machine *m = s->pci.dev.machine;

    s->state.up &= ~(1u << slot);
    s->state.down &= ~(1u << slot);
    for (int fn = PCI_FUNC_MAX - 1; fn >= 0; fn--) {
        PciDevice *d = pci_bus_get_device(m->pci_bus, PCI_DEVFN(slot, fn));
        if (d && d->dev.user_created)
            machine_remove_device(m, &d->dev);
    }
}

static gboolean pcihp_eject_run(gpointer opaque)
{
    Piix4Pm *s = opaque;
    uint32_t slots = s->eject_pending;

    s->eject_source = 0;
    s->eject_pending = 0;
    for (unsigned slot = 0; slot < PCI_SLOT_MAX; slot++)
        if (slots & (1u << slot))
            pcihp_empty_slot(s, slot);
    return G_SOURCE_REMOVE;
}

/* PCI_EJ: the lowest slot of @val on the selected bus (as QEMU). */
static void pcihp_eject(Piix4Pm *s, uint32_t val)
{
    if (!val || s->state.sel != 0)
        return;
    unsigned slot = __builtin_ctz(val);
    if (!(pcihp_slots(s) & (1u << slot))) {
        log_budget_warn(&s->log, "PIIX4_PM: guest ejected PCI slot %u, which takes no "
                        "hot-plug: ignored", slot);
        return;
    }
    s->state.down &= ~(1u << slot);
    s->state.up &= ~(1u << slot);
    s->eject_pending |= 1u << slot;
    if (!s->eject_source)
        s->eject_source = g_idle_add_full(G_PRIORITY_HIGH, pcihp_eject_run, s, NULL);
}

static uint64_t hp_read(void *opaque, uint64_t off, unsigned size)
{
    Piix4Pm *s = opaque;
    bool bus0 = s->state.sel == 0;
    uint32_t v;

    if (size != 4 || (off & 3))
        return 0;
    switch (off) {
    case HP_UP:
        v = bus0 ? s->state.up : 0;
        if (bus0)
            s->state.up = 0;
        return v;
    case HP_DOWN:
        return bus0 ? s->state.down : 0;
    case HP_RMV:
        return bus0 ? pcihp_slots(s) : 0;
    case HP_SEL:
        return s->state.sel;
    default:                    /* EJ: no features; ACPI index: none */
        return 0;
    }
}

static void hp_write(void *opaque, uint64_t off, uint64_t val, unsigned size)
{
    Piix4Pm *s = opaque;

    if (size != 4 || (off & 3))
        return;
    if (off == HP_EJ)
        pcihp_eject(s, val);
    else if (off == HP_SEL)
        s->state.sel = val;
}

static const MemOps hp_ops = {
    .read = hp_read,
    .write = hp_write,
    .min_access = 1,
    .max_access = 4,
    .aligned = false,
};

static uint64_t gpe_read(void *opaque, uint64_t off, unsigned size)
{
    Piix4Pm *s = opaque;
    uint32_t img = s->state.gpe_sts | (uint32_t)s->state.gpe_en << 16;

    return off < ACPI_GPE0_LEN ? (img >> (8 * off)) & (0xffffffffu >> (32 - 8 * size)) : 0;
}

/* Byte by byte: status bytes are write-1-to-clear, enable bytes plain. */
static void gpe_write(void *opaque, uint64_t off, uint64_t val, unsigned size)
{
    Piix4Pm *s = opaque;

    for (unsigned i = 0; i < size && off + i < ACPI_GPE0_LEN; i++) {
        unsigned sh = ((off + i) & 1) * 8;
        uint16_t b = (uint16_t)((val >> (8 * i)) & 0xff) << sh;
        if (off + i < ACPI_GPE0_LEN / 2)
            s->state.gpe_sts &= ~b;
        else
            s->state.gpe_en = (s->state.gpe_en & ~(0xff << sh)) | b;
    }
    pcihp_update_sci(s);
}

static const MemOps gpe_ops = {
    .read = gpe_read,
    .write = gpe_write,
    .min_access = 1,
    .max_access = 4,
    .aligned = false,
};

/* ---- the board's hot-plug controller (HotplugOps, hw/core/hotplug.c) ---- */

static bool pcihp_check_slot(Piix4Pm *s, PciDevice *d, const char *what, GError **errp)
{
    unsigned slot = PCI_SLOT(d->devfn);

    if (d->attached && d->bus == pcihp_bus(s) && (pcihp_slots(s) & (1u << slot)))
        return true;
    g_set_error(errp, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED, "%s: PCI slot %u holds built-in "
                "devices and takes no hot-plug", what, slot);
    return false;
}

/* device_add once the guest runs: a device in function 0 is announced (UP, GPE 1);
 * other functions wait for theirs, as QEMU's. */
static bool pcihp_plug(void *opaque, Device *d, GError **errp)
{
    Piix4Pm *s = opaque;
    PciDevice *p = (PciDevice *)d;

    g_assert(device_class_is(d->cls, &pci_device_class));
    if (!pcihp_check_slot(s, p, d->cls->name, errp))
        return false;
    if (PCI_FUNC(p->devfn) == 0) {
        s->state.up |= 1u << PCI_SLOT(p->devfn);
        pcihp_event(s);
    }
    return true;
}

/* device_del: asks the guest to eject the slot (DOWN, GPE 1). */
static bool pcihp_unplug_request(void *opaque, Device *d, GError **errp)
{
    Piix4Pm *s = opaque;
    PciDevice *p = (PciDevice *)d;
    uint32_t bit = 1u << PCI_SLOT(p->devfn);
    g_autofree char *what = g_strdup_printf("Device '%s'", d->id ? d->id : d->cls->name);

    g_assert(device_class_is(d->cls, &pci_device_class));
    if (!pcihp_check_slot(s, p, what, errp))
        return false;
    if ((s->state.down | s->eject_pending) & bit) {
        g_set_error(errp, G_IO_ERROR, G_IO_ERROR_BUSY, "Device %s is already in the "
                    "process of unplug", d->id ? d->id : d->cls->name);
        return false;
    }
    s->state.down |= bit;
    pcihp_event(s);
    return true;
}

const HotplugOps *piix4_pm_hotplug(Device *dev)
{
    Piix4Pm *s = (Piix4Pm *)dev;

    return s->root_hotplug ? &s->ops : NULL;
}

void piix4_pm_finish_unplugs(Device *dev)
{
    Piix4Pm *s = (Piix4Pm *)dev;
    uint32_t slots = s->state.down & pcihp_slots(s);

    s->eject_pending |= slots;
    s->state.down = 0;
    if (s->eject_source)
        g_source_remove(s->eject_source);
    pcihp_eject_run(s);
}

/* ---- the device ---- */

static bool piix4_pm_realize(Device *dev, GError **errp)
{
    Piix4Pm *s = (Piix4Pm *)dev;
    Machine *m = dev->machine;

    if (!s->acpi_pm) {
        g_set_error(errp, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED, "PIIX4_PM: the board has "
                    "no ACPI PM device (acpi-pm) to raise the SCI through");
        return false;
    }
    if (!pci_device_realize(&s->pci, &piix4_pm_info, errp))
        return false;
    s->log = (LogBudget)LOG_BUDGET_DEFAULT;
    s->ops = (HotplugOps){ .plug = pcihp_plug, .unplug_request = pcihp_unplug_request,
                           .opaque = s };
    mr_init_io(&s->gpe_mr, "acpi-gpe0", ACPI_GPE0_LEN, &gpe_ops, s);
    mr_init_io(&s->hp_mr, "acpi-pci-hotplug", ACPI_PCIHP_SIZE, &hp_ops, s);
    if (!as_add_region(m->io, &s->gpe_mr, ACPI_GPE0_BASE, errp) ||
        !as_add_region(m->io, &s->hp_mr, ACPI_PCIHP_BASE, errp)) {
        if (s->gpe_mr.mapped)
            as_del_region(m->io, &s->gpe_mr);
        pci_device_unrealize(&s->pci);
        return false;
    }
    return true;
}

static void piix4_pm_reset(Device *dev)
{
    Piix4Pm *s = (Piix4Pm *)dev;
    PciDevice *d = &s->pci;

    pci_device_reset(d);
    pci_set_word(d, PCI_STATUS, 0x0280);        /* fast back-to-back, DEVSEL medium */
    pci_set_long(d, PM_PMBA, ACPI_PM_BASE | 1);
    pci_set_long(d, PM_DEVACTB, 1u << 25);      /* APMC_EN: no SMM to set up */
    pci_set_byte(d, PM_PMREGMISC, 1);
    s->state = (Piix4PmState){ 0 };
    pcihp_update_sci(s);
}

static void piix4_pm_unrealize(Device *dev)
{
    Piix4Pm *s = (Piix4Pm *)dev;
    Machine *m = dev->machine;

    if (s->eject_source)
        g_source_remove(s->eject_source);
    s->eject_source = 0;
    if (m->hotplug == &s->ops)
        m->hotplug = NULL;
    if (s->sci_level)
        acpi_pm_set_gpe_sci(s->acpi_pm, false);
    as_del_region(m->io, &s->gpe_mr);
    as_del_region(m->io, &s->hp_mr);
    pci_device_unrealize(&s->pci);
}

Device *piix4_pm_create(Machine *m, Device *acpi_pm, GError **errp)
{
    Device *dev = device_new(m, &piix4_pm_class);

    ((Piix4Pm *)dev)->acpi_pm = acpi_pm;
    if (!device_set_int(dev, "addr", PCI_DEVFN(1, 3), errp)) {
        device_free(dev);
        return NULL;
    }
    return machine_add_device(m, dev, errp) ? dev : NULL;
}

static const Property piix4_pm_props[] = {
    PROP("acpi-pci-hotplug-with-bridge-support", PROP_BOOL, Piix4Pm, bridge_hotplug, "on",
         "ACPI hotplug behind PCI bridges (Vireo has no PCI bridges: no effect)"),
    PROP("acpi-root-pci-hotplug", PROP_BOOL, Piix4Pm, root_hotplug, "on",
         "ACPI hotplug of devices on the root bus pci.0 (off: device_add/device_del of "
         "PCI devices only before the guest runs)"),
    PROP_END
};

static const VMStateField piix4_pm_fields[] = {
    VMS_FIELD(Piix4PmState, gpe_sts),
    VMS_FIELD(Piix4PmState, gpe_en),
    VMS_FIELD(Piix4PmState, up),
    VMS_FIELD(Piix4PmState, down),
    VMS_FIELD(Piix4PmState, sel),
    VMS_END
};

/* Only GPE 1 has a status source; every other value is one a guest can write. */
static bool piix4_pm_state_post_load(void *opaque, int version, GError **errp)
{
    const Piix4PmState *st = opaque;

    if (st->gpe_sts & ~ACPI_GPE_PCI_HOTPLUG)
        return vmstate_invalid(errp, "PIIX4_PM", "GPE0 status %#x has bits no event sets",
                               st->gpe_sts);
    return true;
}

static const VMStateDesc piix4_pm_vmsd = {
    .name = "PIIX4_PM",
    .version = 1,
    .min_version = 1,
    .fields = piix4_pm_fields,
    .post_load = piix4_pm_state_post_load,
};

static void piix4_pm_post_load(Device *dev)
{
    pcihp_update_sci((Piix4Pm *)dev);
}

const DeviceClass piix4_pm_class = {
    .name = "PIIX4_PM",
    .desc = "Intel 82371AB power management function: GPE0 and ACPI PCI hotplug "
            "(pc board, 01.3)",
    .bus = BUS_PCI,
    .instance_size = sizeof(Piix4Pm),
    .props = piix4_pm_props,
    .user_creatable = false,
    .realize = piix4_pm_realize,
    .reset = piix4_pm_reset,
    .unrealize = piix4_pm_unrealize,
    .vmsd = &piix4_pm_vmsd,
    .state_offset = offsetof(Piix4Pm, state),
    .post_load = piix4_pm_post_load,
};
