/*
 * fw_cfg: QEMU's firmware configuration interface (QEMU docs/specs/fw_cfg.txt), the
 * channel through which SeaBIOS learns the machine: numbered items (signature, ID,
 * CPU count, kernel/initrd/command line...) and named files listed in a directory at
 * selector 0x0019 (etc/e820, bootorder, ACPI tables with their loader script, SMBIOS,
 * option ROMs, opt/ files from -fw_cfg).
 *
 * On the pc board the device is "fw_cfg_io": a 16-bit selector at I/O port 0x510, the
 * data byte at 0x511 and the 64-bit big-endian DMA address register at 0x514..0x51b.
 * Items are read-only for the guest (writes through the data port are ignored, DMA
 * writes are answered with the error bit), as in QEMU since 2.4.
 *
 * Locking: called with the big lock held (board set-up, guest port accesses).
 */
#ifndef VIREO_FW_CFG_H
#define VIREO_FW_CFG_H

#include <stdbool.h>
#include <stdint.h>
#include <glib.h>
#include "vireo/device.h"

/* Selector keys (fw_cfg.txt, "Selector Register Key Values"). */
#define FW_CFG_SIGNATURE        0x00
#define FW_CFG_ID               0x01
#define FW_CFG_UUID             0x02
#define FW_CFG_RAM_SIZE         0x03
#define FW_CFG_NOGRAPHIC        0x04
#define FW_CFG_NB_CPUS          0x05
#define FW_CFG_MACHINE_ID       0x06
#define FW_CFG_KERNEL_ADDR      0x07
#define FW_CFG_KERNEL_SIZE      0x08
#define FW_CFG_KERNEL_CMDLINE   0x09
#define FW_CFG_INITRD_ADDR      0x0a
#define FW_CFG_INITRD_SIZE      0x0b
#define FW_CFG_BOOT_DEVICE      0x0c
#define FW_CFG_NUMA             0x0d
#define FW_CFG_BOOT_MENU        0x0e
#define FW_CFG_MAX_CPUS         0x0f
#define FW_CFG_KERNEL_ENTRY     0x10
#define FW_CFG_KERNEL_DATA      0x11
#define FW_CFG_INITRD_DATA      0x12
#define FW_CFG_CMDLINE_ADDR     0x13
#define FW_CFG_CMDLINE_SIZE     0x14
#define FW_CFG_CMDLINE_DATA     0x15
#define FW_CFG_SETUP_ADDR       0x16
#define FW_CFG_SETUP_SIZE       0x17
#define FW_CFG_SETUP_DATA       0x18
#define FW_CFG_FILE_DIR         0x19
#define FW_CFG_FILE_FIRST       0x20
#define FW_CFG_WRITE_CHANNEL    0x4000   /* ignored since QEMU 2.4 */
#define FW_CFG_ARCH_LOCAL       0x8000
#define FW_CFG_ENTRY_MASK       (~(FW_CFG_WRITE_CHANNEL | FW_CFG_ARCH_LOCAL))
#define FW_CFG_INVALID          0xffff
/* x86 arch-local keys (QEMU hw/i386/fw_cfg.h). */
#define FW_CFG_ACPI_TABLES      (FW_CFG_ARCH_LOCAL + 0)
#define FW_CFG_SMBIOS_ENTRIES   (FW_CFG_ARCH_LOCAL + 1)
#define FW_CFG_IRQ0_OVERRIDE    (FW_CFG_ARCH_LOCAL + 2)
#define FW_CFG_E820_TABLE       (FW_CFG_ARCH_LOCAL + 3)
#define FW_CFG_HPET             (FW_CFG_ARCH_LOCAL + 4)
#define FW_CFG_ARCH_KEYS        5

/* ID bits and DMA control bits (fw_cfg.txt, "Feature Bitmap", "DMA interface"). */
#define FW_CFG_VERSION          0x01
#define FW_CFG_VERSION_DMA      0x02
#define FW_CFG_DMA_CTL_ERROR    0x01
#define FW_CFG_DMA_CTL_READ     0x02
#define FW_CFG_DMA_CTL_SKIP     0x04
#define FW_CFG_DMA_CTL_SELECT   0x08
#define FW_CFG_DMA_CTL_WRITE    0x10
#define FW_CFG_DMA_SIGNATURE    0x51454d5520434647ULL   /* "QEMU CFG" */

#define FW_CFG_IO_BASE          0x510
#define FW_CFG_DMA_IO_BASE      0x514
#define FW_CFG_MAX_FILE_PATH    56

extern const DeviceClass fw_cfg_io_class;

/* Items. The data is copied; an item or file added twice replaces the old one. */
void fw_cfg_add_bytes(Device *fw, uint16_t key, const void *data, size_t len);
void fw_cfg_add_i16(Device *fw, uint16_t key, uint16_t v);     /* little-endian */
void fw_cfg_add_i32(Device *fw, uint16_t key, uint32_t v);
void fw_cfg_add_i64(Device *fw, uint16_t key, uint64_t v);
/* Takes ownership of @data (g_malloc'd). */
void fw_cfg_add_bytes_take(Device *fw, uint16_t key, void *data, size_t len);

/* Named files, kept sorted by name in the directory as QEMU does. False with an error
 * naming the file when the name is too long or every file slot is taken. */
bool fw_cfg_add_file(Device *fw, const char *name, const void *data, size_t len,
                     GError **errp);
bool fw_cfg_add_file_take(Device *fw, const char *name, void *data, size_t len,
                          GError **errp);
/* The contents of file @name (NULL when absent), for tests and the board. */
const uint8_t *fw_cfg_file(Device *fw, const char *name, size_t *len);
/* Data of item @key (NULL when empty). */
const uint8_t *fw_cfg_item(Device *fw, uint16_t key, size_t *len);

#endif
