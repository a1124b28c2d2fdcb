/*
 * Intel 82371SB PIIX3 function 0, the PCI-to-ISA bridge at 01.0 of the pc board:
 * 8086:7000, class 0601, multi-function (PIIX3 datasheet, 2.2). Its reset control
 * register at I/O 0xcf9 (2.6.3) is what the FADT's RESET_REG points at.
 * The PIRQ route registers exist for completeness; interrupts are routed by the
 * board (GSI 16..19) and ACPI's _PRT, never through them.
 */
#include "pci-internal.h"

#define PIIX3_IORT      0x4c    /* ISA I/O recovery timer */
#define PIIX3_XBCS      0x4e    /* X-bus chip select */
#define PIIX3_PIRQRC    0x60    /* PIRQ[A-D] route control, 4 bytes */
#define PIIX3_TOM       0x69    /* top of memory */
#define PIIX3_MBIRQ0    0x70
#define PIIX3_APICBASE  0x80

#define RCR_SYS_RST     0x02    /* hard reset when RST_CPU is set */
#define RCR_RST_CPU     0x04    /* a write with this bit starts the reset */
#define RCR_FULL_RST    0x08

typedef struct Piix3State {
    uint8_t rcr;
} Piix3State;

typedef struct Piix3 {
    PciDevice pci;
    void (*reset_hook)(void *opaque, ShutdownCause cause);
    void *reset_opaque;
    Piix3State state;
} Piix3;

static const PciDeviceInfo piix3_pci_info = {
    .vendor_id = 0x8086,
    .device_id = 0x7000,
    .class_code = 0x060100,
    .multifunction = true,
};

static const VMStateField piix3_fields[] = {
    VMS_FIELD(Piix3State, rcr),
    VMS_END
};

static bool piix3_state_post_load(void *opaque, int version, GError **errp)
{
    const Piix3State *s = opaque;
    if (s->rcr & ~(RCR_SYS_RST | RCR_FULL_RST))
        return vmstate_invalid(errp, "PIIX3", "reset control %#x", s->rcr);
    return true;
}

static const VMStateDesc piix3_vmsd = {
    .name = "PIIX3",
    .version = 1,
    .min_version = 1,
    .fields = piix3_fields,
    .post_load = piix3_state_post_load,
};

uint8_t piix3_rcr_read(PciDevice *d)
{
    return ((Piix3 *)d)->state.rcr;
}

void piix3_rcr_write(PciDevice *d, uint8_t val)
{
    Piix3 *s = (Piix3 *)d;

    s->state.rcr = val & (RCR_SYS_RST | RCR_FULL_RST);
    if (!(val & RCR_RST_CPU))
        return;
    if (s->reset_hook)
        s->reset_hook(s->reset_opaque, SHUTDOWN_CAUSE_GUEST_RESET);
    else
        vm_request_reset(d->dev.machine, SHUTDOWN_CAUSE_GUEST_RESET);
}

void piix3_set_reset_hook(PciDevice *piix3, void (*fn)(void *opaque, ShutdownCause cause),
                          void *opaque)
{
    Piix3 *s = (Piix3 *)piix3;

    s->reset_hook = fn;
    s->reset_opaque = opaque;
}

static bool piix3_realize(Device *dev, GError **errp)
{
    PciDevice *d = &((Piix3 *)dev)->pci;

    if (!pci_device_realize(d, &piix3_pci_info, errp))
        return false;
    pci_set_wmask(d, PIIX3_IORT, 1, 0xff);
    pci_set_wmask(d, PIIX3_XBCS, 2, 0xffff);
    pci_set_wmask(d, PIIX3_PIRQRC, 4, 0x8f8f8f8f);
    pci_set_wmask(d, PIIX3_TOM, 1, 0xfe);
    pci_set_wmask(d, PIIX3_MBIRQ0, 2, 0xcfcf);
    pci_set_wmask(d, PIIX3_APICBASE, 1, 0x7f);
    return true;
}

/* Register defaults from the datasheet (2.2). */
static void piix3_reset(Device *dev)
{
    Piix3 *s = (Piix3 *)dev;
    PciDevice *d = &s->pci;

    pci_device_reset(d);
    pci_set_word(d, PCI_COMMAND, PCI_COMMAND_IO | PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER);
    pci_set_word(d, PCI_STATUS, 0x0200);    /* DEVSEL medium */
    pci_set_byte(d, PIIX3_IORT, 0x4d);
    pci_set_word(d, PIIX3_XBCS, 0x0003);
    pci_set_long(d, PIIX3_PIRQRC, 0x80808080);     /* all routes disabled */
    pci_set_byte(d, PIIX3_TOM, 0x02);
    pci_set_word(d, PIIX3_MBIRQ0, 0x8080);
    pci_set_byte(d, PIIX3_APICBASE, 0);
    s->state.rcr = 0;
}

static void piix3_unrealize(Device *dev)
{
    pci_device_unrealize(&((Piix3 *)dev)->pci);
}

/* QEMU's abstract parent of the PIIX3 function types. */
const DeviceClass pci_piix3_class = {
    .name = "pci-piix3", .parent = &pci_device_class, .abstract = true, .bus = BUS_PCI,
};

const DeviceClass piix3_class = {
    .parent = &pci_piix3_class,
    .name = "PIIX3",
    .desc = "Intel 82371SB PCI-to-ISA bridge (pc board, 01.0)",
    .bus = BUS_PCI,
    .instance_size = sizeof(Piix3),
    .user_creatable = false,
    .realize = piix3_realize,
    .reset = piix3_reset,
    .unrealize = piix3_unrealize,
    .vmsd = &piix3_vmsd,
    .state_offset = offsetof(Piix3, state),
};
