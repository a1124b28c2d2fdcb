/*
 * "piix3-ide": PIIX3 function 1, the IDE controller at 01.1 of the pc board (82371SB
 * datasheet, 2.3): 8086:7010, class 0101 prog-if 80h (both channels in compatibility
 * mode at the legacy ports 0x1f0/0x3f6 on IRQ 14 and 0x170/0x376 on IRQ 15, bus master
 * capable). BAR 4 holds the bus-master registers (SFF 8038i): per channel at +0/+8 the
 * command, status and PRD table address. IDETIM (40h/42h) bit 15 enables a channel's
 * decode; Linux's ata_piix checks it, SeaBIOS sets it: Vireo sets it at reset so that
 * direct boots (no firmware) find both channels.
 */
#include "ide-internal.h"
#include "vireo/pci.h"
#include <string.h>

#define IDETIM_PRI      0x40
#define IDETIM_SEC      0x42
#define IDETIM_IDE_EN   0x8000

typedef struct PiixIdeState {
    IdeBusState bus[2];
} PiixIdeState;

typedef struct PiixIde {
    PciDevice pci;
    IdeBus bus[2];
    PiixIdeState state;
} PiixIde;

static uint64_t bm_read(void *opaque, uint64_t off, unsigned size)
{
    PiixIde *s = opaque;
    BmdmaState *bm = &s->bus[off >> 3].s->bm;
    uint64_t v = 0;

    for (unsigned i = 0; i < size; i++) {
        unsigned r = (off + i) & 7;
        uint8_t b = r == 0 ? bm->cmd : r == 2 ? bm->status
                  : r >= 4 ? bm->addr >> (8 * (r - 4)) : 0;
        v |= (uint64_t)b << (8 * i);
    }
    return v;
}

static void bm_cmd_write(IdeBus *b, uint8_t v)
{
    BmdmaState *bm = &b->s->bm;
    bool was = bm->cmd & BM_CMD_START;

    bm->cmd = v & (BM_CMD_START | BM_CMD_READ);
    if ((v & BM_CMD_START) && !was) {
        bm->status |= BM_ST_ACTIVE;
        ide_dma_kick(b);
    } else if (!(v & BM_CMD_START)) {
        bm->status &= ~BM_ST_ACTIVE;     /* stopping does not cancel a request in flight */
    }
}

static void bm_write(void *opaque, uint64_t off, uint64_t val, unsigned size)
{
    PiixIde *s = opaque;

    for (unsigned i = 0; i < size; i++) {
        IdeBus *b = &s->bus[((off + i) >> 3) & 1];
        BmdmaState *bm = &b->s->bm;
        unsigned r = (off + i) & 7, shift;
        uint8_t v = val >> (8 * i);
        switch (r) {
        case 0:
            bm_cmd_write(b, v);
            break;
        case 2:     /* error and interrupt: write 1 to clear; drive DMA capable: R/W */
            bm->status = (bm->status & BM_ST_ACTIVE) |
                         (bm->status & ~v & (BM_ST_ERROR | BM_ST_INT)) |
                         (v & BM_ST_CAP_MASK);
            break;
        case 4: case 5: case 6: case 7:
            shift = 8 * (r - 4);
            bm->addr = (bm->addr & ~(0xffu << shift)) | (uint32_t)v << shift;
            bm->addr &= ~3u;
            break;
        }
    }
}

static const MemOps bm_ops = { .read = bm_read, .write = bm_write,
                               .min_access = 1, .max_access = 4 };

static const PciDeviceInfo piix_ide_info = {
    .vendor_id = 0x8086,
    .device_id = 0x7010,
    .class_code = 0x010180,
};

#define BUS_FIELDS(n) \
    VMS_FIELD(PiixIdeState, bus[n].ctl), VMS_FIELD(PiixIdeState, bus[n].irq_pending), \
    VMS_FIELD(PiixIdeState, bus[n].unit), VMS_FIELD(PiixIdeState, bus[n].bm.cmd), \
    VMS_FIELD(PiixIdeState, bus[n].bm.status), VMS_FIELD(PiixIdeState, bus[n].bm.addr)

static const VMStateField piix_ide_fields[] = {
    BUS_FIELDS(0),
    BUS_FIELDS(1),
    VMS_END
};

/* A stream is hostile input: refuse what no guest write to the controller produces
 * (the drive select is one bit, the PRD table address dword aligned, SFF-8038i 3.1
 * defines these command and status bits only). */
static bool piix_ide_state_post_load(void *state, int version, GError **errp)
{
    const PiixIdeState *s = state;
    for (unsigned i = 0; i < 2; i++) {
        const IdeBusState *b = &s->bus[i];
        if (b->unit > 1 || b->irq_pending > 1)
            return vmstate_invalid(errp, "ide", "bus %u: drive %u / IRQ pending %u", i,
                                   b->unit, b->irq_pending);
        if ((b->bm.addr & 3) || (b->bm.cmd & ~(BM_CMD_START | BM_CMD_READ)) ||
            (b->bm.status & ~(BM_ST_ACTIVE | BM_ST_ERROR | BM_ST_INT | BM_ST_CAP_MASK)))
            return vmstate_invalid(errp, "ide", "bus %u: bus master command 0x%x, status "
                                   "0x%x, PRD table 0x%x", i, b->bm.cmd, b->bm.status,
                                   b->bm.addr);
    }
    return true;
}

static const VMStateDesc piix_ide_vmsd = {
    .name = "ide",
    .version = 1,
    .min_version = 1,
    .fields = piix_ide_fields,
    .post_load = piix_ide_state_post_load,
};

static bool piix_ide_realize(Device *dev, GError **errp)
{
    PiixIde *s = (PiixIde *)dev;
    Machine *m = dev->machine;
    static const uint16_t io[2] = { 0x1f0, 0x170 }, ctl[2] = { 0x3f6, 0x376 };

    if (s->pci.addr < 0)
        s->pci.addr = PCI_DEVFN(1, 1);
    if (!pci_device_realize(&s->pci, &piix_ide_info, errp))
        return false;
    pci_set_wmask(&s->pci, IDETIM_PRI, 4, 0xffffffff);
    pci_set_wmask(&s->pci, 0x44, 1, 0xff);          /* slave IDE timing */
    if (pci_register_bar(&s->pci, 4, PCI_BAR_IO, 16, &bm_ops, s) < 0) {
        g_set_error(errp, G_IO_ERROR, G_IO_ERROR_FAILED, "piix3-ide: BAR 4");
        return false;
    }
    for (unsigned i = 0; i < 2; i++) {
        ide_bus_init(&s->bus[i], m, i, &m->gsi[14 + i], &s->state.bus[i]);
        if (!ide_bus_map(&s->bus[i], io[i], ctl[i], errp)) {
            g_prefix_error(errp, "piix3-ide: ");
            return false;
        }
    }
    return true;
}

static void piix_ide_reset(Device *dev)
{
    PiixIde *s = (PiixIde *)dev;

    pci_device_reset(&s->pci);
    pci_set_word(&s->pci, PCI_STATUS, 0x0280);      /* fast back-to-back, DEVSEL medium */
    pci_set_word(&s->pci, IDETIM_PRI, IDETIM_IDE_EN);
    pci_set_word(&s->pci, IDETIM_SEC, IDETIM_IDE_EN);
    for (unsigned i = 0; i < 2; i++)
        ide_bus_reset(&s->bus[i]);
}

static void piix_ide_post_load(Device *dev)
{
    PiixIde *s = (PiixIde *)dev;

    pci_device_post_load(&s->pci);
    for (unsigned i = 0; i < 2; i++) {
        s->state.bus[i].unit &= 1;
        s->state.bus[i].bm.addr &= ~3u;
        ide_bus_update_irq(&s->bus[i]);
    }
}

static void piix_ide_unrealize(Device *dev)
{
    PiixIde *s = (PiixIde *)dev;

    for (unsigned i = 0; i < 2; i++) {
        irq_lower(s->bus[i].irq);
        ide_bus_unmap(&s->bus[i]);
    }
    pci_device_unrealize(&s->pci);
}

/* QEMU's abstract parent of the PCI IDE controllers. */
const DeviceClass pci_ide_class = {
    .name = "pci-ide", .parent = &pci_device_class, .abstract = true, .bus = BUS_PCI,
};

const DeviceClass piix3_ide_class = {
    .name = "piix3-ide",
    .parent = &pci_ide_class,
    .desc = "Intel 82371SB PIIX3 IDE controller (pc board, 01.1)",
    .bus = BUS_PCI,
    .instance_size = sizeof(PiixIde),
    .user_creatable = false,
    .realize = piix_ide_realize,
    .reset = piix_ide_reset,
    .unrealize = piix_ide_unrealize,
    .vmsd = &piix_ide_vmsd,
    .state_offset = offsetof(PiixIde, state),
    .post_load = piix_ide_post_load,
};

/* ---- the drives' side ---- */

IdeBus *piix_ide_bus(Device *ctrl, unsigned bus)
{
    return ctrl && ctrl->cls == &piix3_ide_class && bus < 2 ? &((PiixIde *)ctrl)->bus[bus]
                                                          : NULL;
}

Device *ide_ctrl_drive(Device *ctrl, unsigned bus, unsigned unit)
{
    IdeBus *b = piix_ide_bus(ctrl, bus);

    return b && unit < 2 && b->drive[unit] ? b->drive[unit]->owner : NULL;
}
