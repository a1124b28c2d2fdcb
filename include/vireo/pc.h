/* The pc board (hw/i386/): what its files share. Start-up knows the board only
 * through pc_machine_class (include/vireo/machine.h). */
#ifndef VIREO_PC_H
#define VIREO_PC_H
#include "vireo/machine.h"
#include "vireo/loader.h"
#include "vireo/pci.h"

/* Fills m->e820 from the RAM layout. */
void pc_build_e820(Machine *m);
/* hw/i386/pc-defaults.c: the devices QEMU's pc adds unless -nodefaults. */
bool pc_create_default_devices(Machine *m, GError **errp);
/* The VGA of -vga std (or of the defaults): hw/i386/pc-defaults.c. */
bool pc_create_vga(Machine *m, GError **errp);
/* Checks -kernel/-initrd files (exist, bootable, fit) before the machine is built. */
bool pc_check_payload(const MachineOpts *o, GError **errp);
/* Loads -kernel/-initrd/-append, or the embedded default guest. */
bool pc_load_payload(Machine *m, BootInfo *bi, GError **errp);
/* hw/i386/pc-pci.c: creates the pc board's bus as m->pci_bus: config mechanism #1 at 0xcf8/0xcfc (and the
 * PIIX3 reset control register at 0xcf9), INTx routing of slot s pin p (0 = INTA) to
 * GSI 16 + ((s + p) & 3) (level, active low in ACPI), MSI via m->msi, the i440FX host
 * bridge at 00.0 and the PIIX3 ISA bridge at 01.0 (added with machine_add_device).
 * Windows: mem32 = max(below_4g, 3 GiB) .. 0xFEBFFFFF, mem64 = 32 GiB from the first
 * 1 GiB boundary above RAM, I/O 0xc000..0xffff. Free with pci_bus_free(). */
PciBus *pci_bus_new_pc(Machine *m, GError **errp);

/* Firmware boot (hw/i386/pc-firmware.c). Whether SeaBIOS boots the machine: no -kernel
 * (or -machine kernel-boot=firmware) and -bios, -boot, a drive or a -device with
 * bootindex= was given. */
bool pc_firmware_wanted(const MachineOpts *o);
/* -fw_cfg SPEC: checked (@fw NULL, at parse time) or added to fw_cfg. */
bool pc_fw_cfg_option(Device *fw, const char *spec, GError **errp);
/* SMBIOS tables for this machine (hw/smbios/smbios.c). */
struct SmbiosTables;
bool pc_smbios_build(Machine *m, struct SmbiosTables *t, GError **errp);
/* Start-up check (before KVM): the BIOS (and linuxboot ROM) files exist. */
bool pc_firmware_check(const MachineOpts *o, GError **errp);
/* Loads the BIOS, fills fw_cfg for it (after every device is realized). */
bool pc_firmware_finish(Machine *m, GError **errp);
/* Board init, before any -device: -kernel takes bootindex 0 for linuxboot_dma.bin, as
 * QEMU's pc does with its option ROM (a -device with bootindex=0 is then refused, in
 * both kinds of kernel boot, as in QEMU). */
void pc_firmware_init(Machine *m);
/* -kernel/-initrd/-append as fw_cfg items plus linuxboot_dma.bin (kernel-boot=firmware). */
bool pc_firmware_add_kernel(Machine *m, GError **errp);
/* fw_cfg's "bootorder" (QEMU get_boot_devices_list): the devices registered with
 * machine_add_boot_device() by bootindex, one path a line, "HALT" last with -boot
 * strict=on; NUL-terminated, *len counts the NUL (0 and "" when empty). g_free it. */
char *pc_firmware_bootorder(Machine *m, size_t *len);
/* Machine reset: -boot once= is over, the CMOS gets order=, and "bootorder" is built
 * again from the devices there are now (hot-plugged ones in, removed ones out), as
 * QEMU's fw_cfg_machine_reset does. */
void pc_firmware_reset(Machine *m);
void pc_firmware_free(Machine *m);
/* The path of data file @name (BIOS, option ROM): itself, in -L folders, then in the
 * installed firmware folders; NULL when not found. */
char *pc_firmware_find_file(const MachineOpts *o, const char *name);
#endif
