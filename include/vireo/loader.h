/*
 * Direct kernel boot: bzImage (Linux x86 boot protocol 2.06+, 64-bit entry) and ELF
 * images with a Xen PVH note (32-bit entry with hvm_start_info), plus the boot-time
 * tables the entry needs (GDT, identity page tables, zero page / start_info).
 */
#ifndef VIREO_LOADER_H
#define VIREO_LOADER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <glib.h>
#include "vireo/machine.h"

/* Fixed low-memory layout used by the loader (all below the EBDA at 0x9fc00). */
#define BOOT_GDT_ADDR        0x0500
#define BOOT_START_INFO_ADDR 0x6000    /* PVH hvm_start_info + memmap */
#define BOOT_ZERO_PAGE_ADDR  0x7000    /* Linux struct boot_params */
#define BOOT_STACK_TOP       0x8ff0
#define BOOT_PML4_ADDR       0x9000    /* PML4, PDPT, 4 PDs: identity map of 4 GiB */
#define BOOT_CMDLINE_ADDR    0x20000
#define BOOT_CMDLINE_MAX     0x10000

/* BOOT_FIRMWARE: the vCPUs start at the reset vector (SeaBIOS). */
typedef enum { BOOT_LINUX64, BOOT_PVH32, BOOT_FIRMWARE } BootMode;

typedef struct BootInfo {
    BootMode mode;
    uint64_t entry;          /* RIP at start */
    uint64_t arg;            /* RSI (Linux: zero page) or RBX (PVH: start_info) */
    uint64_t kernel_start, kernel_end;   /* where the payload landed */
    uint64_t initrd_start, initrd_size;
    uint16_t protocol;       /* boot protocol version (bzImage) */
} BootInfo;

/* Parsed bzImage setup header fields we use (Linux Documentation/arch/x86/boot.rst). */
typedef struct BzImageInfo {
    uint16_t version;
    uint8_t setup_sects;
    uint8_t loadflags;
    uint16_t xloadflags;
    uint32_t kernel_alignment;
    uint8_t relocatable;
    uint32_t cmdline_size;
    uint32_t initrd_addr_max;
    uint64_t pref_address;
    uint32_t init_size;
    uint32_t payload_offset, payload_length;
    size_t setup_size;       /* bytes of real-mode setup incl. boot sector */
    size_t kernel_size;      /* protected-mode part */
} BzImageInfo;

/* Validates and parses a bzImage header; errors say why the file is not bootable. */
bool bzimage_parse(const uint8_t *img, size_t len, BzImageInfo *bi, GError **errp);

/* Loads @kernel (file contents) with optional initrd and command line into @m's RAM and
 * fills @bi with the entry state. The kind is detected from the contents. */
bool loader_load(Machine *m, const char *name, const uint8_t *kernel, size_t klen,
                 const uint8_t *initrd, size_t ilen, const char *cmdline,
                 BootInfo *bi, GError **errp);

/* Before exit: lets a pending kernel-cache fill (docs/kernel-cache.md) complete, waiting
 * at most LOADER_EXIT_FILL_WAIT_US unless @wait (tests: until it ends). */
#define LOADER_EXIT_FILL_WAIT_US (10 * G_USEC_PER_SEC)
void loader_finish(Machine *m, bool wait);

/* Checks that @kernel is a bootable bzImage or PVH ELF without loading it. */
bool loader_check(const char *name, const uint8_t *kernel, size_t klen, GError **errp);

/* Writes the boot GDT and the identity-mapping page tables (first 4 GiB, 2 MiB pages). */
bool loader_setup_tables(Machine *m, GError **errp);

/* The embedded default guest (firmware/), a PVH ELF. */
extern const unsigned char vireo_default_guest[];
extern const unsigned int vireo_default_guest_len;

#endif
