/*
 * Intel 82441FX PCI and memory controller (PMC), function 00.0 of the pc board:
 * 8086:1237 rev 02, class 0600 host bridge (82441FX datasheet, 3.2). Firmware-only
 * registers (PAM shadow control, SMRAM) are plain writable bytes without effect:
 * guest RAM is always RAM here.
 */
#include "pci-internal.h"

#define I440FX_PMCCFG   0x50    /* PMC configuration, 2 bytes */
#define I440FX_DRAMC    0x57
#define I440FX_PAM0     0x59    /* PAM0..PAM6 */
#define I440FX_PAM_NUM  7
#define I440FX_DRB0     0x60    /* DRAM row boundaries, 8 bytes */
#define I440FX_SMRAM    0x72

typedef struct I440fx {
    PciDevice pci;
} I440fx;

static const PciDeviceInfo i440fx_pci_info = {
    .vendor_id = 0x8086,
    .device_id = 0x1237,
    .revision = 0x02,
    .class_code = 0x060000,
};

static bool i440fx_realize(Device *dev, GError **errp)
{
    PciDevice *d = &((I440fx *)dev)->pci;

    if (!pci_device_realize(d, &i440fx_pci_info, errp))
        return false;
    pci_set_wmask(d, I440FX_PMCCFG, 2, 0xffff);
    pci_set_wmask(d, I440FX_DRAMC, 1, 0xff);
    pci_set_wmask(d, I440FX_PAM0, I440FX_PAM_NUM, 0x33333333);
    pci_set_wmask(d, I440FX_DRB0, 8, 0xffffffff);
    pci_set_wmask(d, I440FX_SMRAM, 1, 0x78);
    return true;
}

static void i440fx_reset(Device *dev)
{
    PciDevice *d = &((I440fx *)dev)->pci;

    pci_device_reset(d);
    for (unsigned i = 0; i < I440FX_PAM_NUM; i++)
        pci_set_byte(d, I440FX_PAM0 + i, 0);
    pci_set_byte(d, I440FX_SMRAM, 0x02);    /* default value from the datasheet */
}

static void i440fx_unrealize(Device *dev)
{
    pci_device_unrealize(&((I440fx *)dev)->pci);
}

const DeviceClass i440fx_class = {
    .name = "i440FX",
    .desc = "Intel 82441FX host bridge (pc board, 00.0)",
    .bus = BUS_PCI,
    .instance_size = sizeof(I440fx),
    .user_creatable = false,
    .realize = i440fx_realize,
    .reset = i440fx_reset,
    .unrealize = i440fx_unrealize,
    /* No state beyond the PCI part, which pci_device_vmsd carries. */
};
