/*
 * ACPI for the pc board: the firmware tables (RSDP, RSDT, XSDT, FADT, FACS, DSDT, MADT;
 * ACPI 6.3 layouts) and the fixed-hardware PM device (PM1 event/control blocks and the
 * PM timer, ACPI 6.3 chapter 4.8) behind them.
 *
 * Board use (hw/i386/pc.c), after the PCI bus and all devices exist:
 *   Device *pm = acpi_pm_create(m, errp);            // ports 0x600-0x60b, SCI on GSI 9
 *   pci_bus_assign_bars(m->pci_bus);
 *   acpi_build_pc(m, 0xE0000, 0x20000, errp);         // sets m->acpi_rsdp
 *   ... QMP system_powerdown: acpi_pm_power_button(pm);
 *
 * Locking: called with the machine lock held.
 */
#ifndef VIREO_ACPI_H
#define VIREO_ACPI_H

#include <stdbool.h>
#include <stdint.h>
#include <glib.h>
#include "vireo/device.h"
#include "vireo/runstate.h"

typedef struct Machine Machine;

/* Fixed hardware as the FADT describes it. */
#define ACPI_PM_BASE        0x600
#define ACPI_PM1_EVT_BLK    (ACPI_PM_BASE + 0)  /* PM1a status (2) + enable (2) */
#define ACPI_PM1_CNT_BLK    (ACPI_PM_BASE + 4)  /* PM1a control (2) */
#define ACPI_PM_TMR_BLK     (ACPI_PM_BASE + 8)  /* 24-bit PM timer (4) */
#define ACPI_PM_IO_SIZE     12
#define ACPI_PM_TIMER_HZ    3579545
#define ACPI_SCI_IRQ        9
#define ACPI_RESET_PORT     0xcf9               /* PIIX3 reset control register */
#define ACPI_RESET_VALUE    0x06
#define ACPI_IOAPIC_ADDR    0xfec00000u
#define ACPI_LAPIC_ADDR     0xfee00000u
#define ACPI_GPE0_BASE      0xafe0              /* GPE0 status (2) + enable (2) */
#define ACPI_GPE0_LEN       4
#define ACPI_GPE_PCI_HOTPLUG (1u << 1)          /* GPE 1: \_GPE._E01 */
#define ACPI_PCIHP_BASE     0xae00              /* QEMU's PIIX4 PCI hotplug block */
#define ACPI_PCIHP_SIZE     0x18
#define ACPI_OEM_ID         "VIREO "
#define ACPI_OEM_TABLE_ID   "VIREOPC "

/* PM1 status / enable bits (ACPI 6.3, 4.8.3.1). */
#define ACPI_PM1_TMR_STS        (1u << 0)
#define ACPI_PM1_BM_STS         (1u << 4)
#define ACPI_PM1_GBL_STS        (1u << 5)
#define ACPI_PM1_PWRBTN_STS     (1u << 8)
#define ACPI_PM1_SLPBTN_STS     (1u << 9)
#define ACPI_PM1_RTC_STS        (1u << 10)
#define ACPI_PM1_WAK_STS        (1u << 15)
/* PM1 control bits (ACPI 6.3, 4.8.3.2.1). */
#define ACPI_PM1_SCI_EN         (1u << 0)
#define ACPI_PM1_SLP_TYP_SHIFT  10
#define ACPI_PM1_SLP_TYP_MASK   (7u << 10)
#define ACPI_PM1_SLP_EN         (1u << 13)
#define ACPI_SLP_TYP_S5         0                /* the DSDT's \_S5 package says 0 */

/* Builds the tables for @m (m->ncpus CPUs, the windows of m->pci_bus, COM ports for
 * each m->serial[i]) and copies them into guest RAM at @gpa (16-byte aligned; the RSDP
 * comes first and must lie in 0xE0000..0xFFFFF). Fails if they do not fit @max_len or
 * the range is not RAM. Sets m->acpi_rsdp. */
bool acpi_build_pc(Machine *m, uint64_t gpa, uint64_t max_len, GError **errp);

/* The same tables for firmware: the fw_cfg files etc/acpi/tables and etc/acpi/rsdp
 * with the loader script etc/table-loader that makes SeaBIOS allocate them (tables in
 * high memory, RSDP in the F segment), resolve the pointers and compute the checksums
 * (QEMU's BIOS linker/loader commands). Free each array with g_byte_array_unref. */
#define ACPI_LOADER_TABLES "etc/acpi/tables"
#define ACPI_LOADER_RSDP   "etc/acpi/rsdp"
#define ACPI_LOADER_SCRIPT "etc/table-loader"
typedef struct AcpiLoaderBlobs {
    GByteArray *tables, *rsdp, *loader;
} AcpiLoaderBlobs;
bool acpi_build_pc_loader(Machine *m, AcpiLoaderBlobs *out, GError **errp);

/* The compiled DSDT template (hw/acpi/dsdt.asl, built by iasl at build time). */
extern const unsigned char acpi_dsdt_template[];
extern const unsigned int acpi_dsdt_template_len;

/* Creates and realizes the PM device ("acpi-pm", ports ACPI_PM_BASE.., SCI on GSI 9)
 * and adds it to the machine. */
Device *acpi_pm_create(Machine *m, GError **errp);
/* Presses the power button: sets PWRBTN_STS and raises the SCI if PWRBTN_EN. */
void acpi_pm_power_button(Device *dev);
/* Test seam: where S5 (and other guest sleep requests) go; default vm_request_shutdown. */
void acpi_pm_set_shutdown_hook(Device *dev, void (*fn)(void *opaque, ShutdownCause c),
                               void *opaque);
/* The GPE0 block's share of the SCI (PIIX4_PM): or-ed with the PM1 events. */
void acpi_pm_set_gpe_sci(Device *dev, bool level);
extern const DeviceClass acpi_pm_class;

/* PIIX4_PM (hw/acpi/pcihp.c): the PCI function at 01.3 with the GPE0 block
 * (ACPI_GPE0_BASE) and QEMU's ACPI PCI hotplug registers (ACPI_PCIHP_BASE) for bus 0.
 * Its SCI goes through @acpi_pm. -global PIIX4_PM.acpi-root-pci-hotplug=off turns
 * hotplug off. */
Device *piix4_pm_create(Machine *m, Device *acpi_pm, GError **errp);
/* The machine's hot-plug controller (m->hotplug), or NULL when root hotplug is off. */
struct HotplugOps;
const struct HotplugOps *piix4_pm_hotplug(Device *dev);
/* Machine reset, before the devices reset: removals the guest has not acknowledged
 * complete now (as QEMU's), so their DEVICE_DELETED events go out. Main loop only. */
void piix4_pm_finish_unplugs(Device *dev);
extern const DeviceClass piix4_pm_class;

#endif
