/* A decompressed bzImage payload (vmlinux ELF + relocations), loaded the way the
 * kernel's own decompressor loads it (hw/i386/vmlinux.c). */
#ifndef HW_I386_VMLINUX_H
#define HW_I386_VMLINUX_H
#include "vireo/loader.h"

#define VMLINUX_MAX_SEGS 8
#define KASLR_FLAG       0x02      /* boot_params.hdr.loadflags bit 1 */

typedef struct VmlinuxSeg {
    uint64_t offset, paddr, filesz, memsz;
} VmlinuxSeg;

typedef struct VmlinuxImage {
    const uint8_t *data;
    size_t len;
    uint64_t base;                 /* LOAD_PHYSICAL_ADDR: the header's pref_address */
    uint64_t align;                /* CONFIG_PHYSICAL_ALIGN: the header's kernel_alignment */
    uint64_t span;                 /* kernel_total_size: _end - _text */
    uint64_t entry_off;            /* e_entry - base */
    bool relocatable;              /* may be moved (header relocatable_kernel) */
    bool has_relocs;               /* relocation tables present: CONFIG_RANDOMIZE_BASE */
    size_t relocs_start;           /* first byte of the tables (the 64-bit terminator) */
    unsigned nsegs;
    VmlinuxSeg seg[VMLINUX_MAX_SEGS];
} VmlinuxImage;

/* Where the kernel goes: physical load address and the virtual base (both
 * LOAD_PHYSICAL_ADDR without KASLR). */
typedef struct VmlinuxPlace {
    uint64_t phys, virt;
    bool kaslr;                    /* KASLR_FLAG for the kernel */
} VmlinuxPlace;

typedef struct VmlinuxRange {
    uint64_t start, size;
} VmlinuxRange;

/* Validates @data (@len bytes, the whole decompressed payload) against the bzImage
 * header @h: an x86-64 ELF whose loadable segments start at pref_address and fit in
 * init_size, and, when present, relocation tables whose every entry points inside the
 * loaded file data. */
bool vmlinux_parse(const uint8_t *data, size_t len, const BzImageInfo *h, VmlinuxImage *v,
                   GError **errp);

/* Whether the kernel would randomise its base itself: it has relocations
 * (CONFIG_RANDOMIZE_BASE on x86-64) and @cmdline has no 'nokaslr'. */
bool vmlinux_wants_kaslr(const VmlinuxImage *v, const char *cmdline);

/* Chooses the load addresses as arch/x86/boot/compressed/kaslr.c does: a random
 * physical slot of RAM below 4 GiB (@m's e820) avoiding @avoid, and a random virtual
 * offset within the 1 GiB kernel image area; @random supplies the randomness (NULL:
 * getrandom). Without KASLR both stay at base. */
typedef uint64_t VmlinuxRandom(void *opaque);
void vmlinux_place(Machine *m, const VmlinuxImage *v, bool kaslr, const VmlinuxRange *avoid,
                   unsigned navoid, VmlinuxRandom *random, void *opaque, VmlinuxPlace *p);

/* Copies the segments to @p->phys, applies the relocations for @p->virt
 * (handle_relocations) and sets the entry point and kernel range in @bi. */
bool vmlinux_load(Machine *m, const VmlinuxImage *v, const VmlinuxPlace *p, BootInfo *bi,
                  GError **errp);

/* Whether @cmdline contains the word @opt (arch/x86/boot/cmdline.c semantics: options
 * are separated by white space; no quoting). */
bool cmdline_has_word(const char *cmdline, const char *opt);

#endif
