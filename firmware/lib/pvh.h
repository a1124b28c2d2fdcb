/* The PVH start-of-day structures (Xen public/arch-x86/hvm/start_info.h, version 1) and
 * helpers over them.  Field layout is fixed by the ABI: all little-endian, naturally aligned. */
#ifndef GUEST_PVH_H
#define GUEST_PVH_H

#include <stdint.h>
#include <stdbool.h>
#include <stddef.h>

#define HVM_START_MAGIC 0x336ec578u

struct hvm_start_info {
    uint32_t magic;
    uint32_t version;
    uint32_t flags;
    uint32_t nr_modules;
    uint64_t modlist_paddr;
    uint64_t cmdline_paddr;
    uint64_t rsdp_paddr;
    uint64_t memmap_paddr;      /* version >= 1 */
    uint32_t memmap_entries;    /* version >= 1 */
    uint32_t reserved;
};

struct hvm_memmap_table_entry {
    uint64_t addr;
    uint64_t size;
    uint32_t type;              /* E820 types: 1 RAM, 2 reserved, 3 ACPI, 4 NVS, 5 unusable */
    uint32_t reserved;
};

#define E820_RAM 1

/* EFLAGS, CR0 and CR4 exactly as the loader entered the guest (saved by entry.S). */
extern uint32_t pvh_entry_eflags, pvh_entry_cr0, pvh_entry_cr4;

/* What the entry code was handed; set by guest_entry() before guest_main() runs. */
extern const struct hvm_start_info *pvh_info;

/* True if pvh_info points at a structure with the right magic. */
bool pvh_valid(void);
/* The kernel command line, or "" if none. */
const char *pvh_cmdline(void);
/* Copies the value of KEY=VALUE from the command line into buf; false if absent. */
bool pvh_cmdline_get(const char *key, char *buf, size_t size);
/* Numeric KEY=VALUE (decimal or 0x hex); def if absent. */
uint64_t pvh_cmdline_u64(const char *key, uint64_t def);
/* The memory map (NULL and 0 entries if the structure is version 0 or has none). */
const struct hvm_memmap_table_entry *pvh_memmap(uint32_t *entries);
/* Type name of an E820 entry ("RAM", "reserved", ...). */
const char *e820_type_name(uint32_t type);
/* Sum of RAM entries, and the highest RAM end below 4 GiB. */
uint64_t pvh_ram_total(uint64_t *top_below_4g);
/* True if [addr, addr+len) lies entirely inside one RAM entry. */
bool pvh_is_ram(uint64_t addr, uint64_t len);

/* The C program of each guest. Returns its exit code (a guest decides what that means). */
int guest_main(void);

#endif
