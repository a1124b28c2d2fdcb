/*
 * Direct kernel boot (include/vireo/loader.h).
 * bzImage: Linux Documentation/arch/x86/boot.rst ("The Linux/x86 Boot Protocol"), 64-bit
 * entry at the protected-mode kernel + 0x200 with RSI = struct boot_params.
 * PVH: xen/include/public/arch-x86/hvm/start_info.h; the ELF note XEN_ELFNOTE_PHYS32_ENTRY
 * gives a 32-bit entry point entered with paging off and EBX = struct hvm_start_info.
 */
#include "vireo/loader.h"
#include "kernel-cache.h"
#include "vmlinux.h"
#include <stdio.h>
#include <unistd.h>
#include <elf.h>
#include <string.h>

#define SETUP_HDR        0x1f1
#define ZP_ACPI_RSDP     0x070
#define ZP_EXT_RD_IMAGE  0x0c0
#define ZP_EXT_RD_SIZE   0x0c4
#define ZP_EXT_CMDLINE   0x0c8
#define ZP_E820_ENTRIES  0x1e8
#define ZP_E820_TABLE    0x2d0
#define ZP_E820_MAX      128
#define HDR_TYPE_LOADER  0x210
#define HDR_LOADFLAGS    0x211
#define HDR_RD_IMAGE     0x218
#define HDR_RD_SIZE      0x21c
#define HDR_HEAP_END     0x224
#define HDR_CMDLINE_PTR  0x228
#define LOADED_HIGH      0x01
#define CAN_USE_HEAP     0x80
#define XLF_KERNEL_64    0x01
#define XEN_ELFNOTE_PHYS32_ENTRY 18
#define HVM_START_MAGIC  0x336ec578

static uint16_t rd16(const uint8_t *p) { return p[0] | p[1] << 8; }
static uint32_t rd32(const uint8_t *p) { return rd16(p) | (uint32_t)rd16(p + 2) << 16; }
static uint64_t rd64(const uint8_t *p) { return rd32(p) | (uint64_t)rd32(p + 4) << 32; }
static void wr16(uint8_t *p, uint16_t v) { p[0] = v; p[1] = v >> 8; }
static void wr32(uint8_t *p, uint32_t v) { wr16(p, v); wr16(p + 2, v >> 16); }
static void write_screen_info(uint8_t *zp);
static void wr64(uint8_t *p, uint64_t v) { wr32(p, v); wr32(p + 4, v >> 32); }

static uint8_t *gmem(Machine *m, uint64_t gpa, uint64_t len, const char *what,
                     GError **errp)
{
    uint8_t *p = as_ram_ptr(m->sysmem, gpa, len ? len : 1);
    if (!p)
        g_set_error(errp, G_IO_ERROR, G_IO_ERROR_NO_SPACE,
                    "%s (%" G_GUINT64_FORMAT " bytes at 0x%" G_GINT64_MODIFIER "x) does not "
                    "fit in guest RAM (%" G_GUINT64_FORMAT " MiB)",
                    what, len, gpa, m->ram_size >> 20);
    return p;
}

bool bzimage_parse(const uint8_t *img, size_t len, BzImageInfo *bi, GError **errp)
{
    memset(bi, 0, sizeof(*bi));
    if (len < 0x270 || rd32(img + 0x202) != 0x53726448 /* "HdrS" */ ||
        rd16(img + 0x1fe) != 0xaa55) {
        g_set_error(errp, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                    "not a Linux bzImage (no boot-protocol 'HdrS' header)");
        return false;
    }
    bi->version = rd16(img + 0x206);
    bi->setup_sects = img[SETUP_HDR] ? img[SETUP_HDR] : 4;
    bi->loadflags = img[HDR_LOADFLAGS];
    bi->setup_size = (bi->setup_sects + 1) * 512;
    if (bi->version < 0x206 || !(bi->loadflags & LOADED_HIGH)) {
        g_set_error(errp, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED,
                    "boot protocol %u.%02u is too old (need 2.06 or later, bzImage)",
                    bi->version >> 8, bi->version & 0xff);
        return false;
    }
    if (bi->setup_size >= len) {
        g_set_error(errp, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                    "bzImage is truncated (setup of %zu bytes, file of %zu)",
                    bi->setup_size, len);
        return false;
    }
    bi->kernel_size = len - bi->setup_size;
    bi->initrd_addr_max = rd32(img + 0x22c);
    bi->kernel_alignment = rd32(img + 0x230);
    bi->relocatable = img[0x234];
    bi->xloadflags = bi->version >= 0x20c ? rd16(img + 0x236) : 0;
    bi->cmdline_size = rd32(img + 0x238);
    bi->payload_offset = bi->version >= 0x208 ? rd32(img + 0x248) : 0;
    bi->payload_length = bi->version >= 0x208 ? rd32(img + 0x24c) : 0;
    bi->pref_address = bi->version >= 0x20a ? rd64(img + 0x258) : 0x100000;
    bi->init_size = bi->version >= 0x20a ? rd32(img + 0x260) : 0;
    if (!(bi->xloadflags & XLF_KERNEL_64)) {
        g_set_error(errp, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED,
                    "bzImage has no 64-bit entry point (xloadflags bit 0 clear)");
        return false;
    }
    return true;
}

/* Fills a Linux e820 table (struct boot_e820_entry: u64 addr, u64 size, u32 type). */
static void write_e820(Machine *m, uint8_t *zp)
{
    unsigned n = MIN(m->e820_count, ZP_E820_MAX);
    for (unsigned i = 0; i < n; i++) {
        uint8_t *e = zp + ZP_E820_TABLE + i * 20;
        wr64(e, m->e820[i].addr);
        wr64(e + 8, m->e820[i].size);
        wr32(e + 16, m->e820[i].type);
    }
    zp[ZP_E820_ENTRIES] = n;
}

static bool load_cmdline(Machine *m, const char *cmdline, uint32_t max, GError **errp)
{
    size_t n = strlen(cmdline ? cmdline : "");
    if (max && n > max) {
        g_set_error(errp, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                    "-append: command line of %zu bytes exceeds the kernel's limit of %u",
                    n, max);
        return false;
    }
    if (n >= BOOT_CMDLINE_MAX) {
        g_set_error(errp, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                    "-append: command line too long (%zu bytes)", n);
        return false;
    }
    uint8_t *p = gmem(m, BOOT_CMDLINE_ADDR, n + 1, "command line", errp);
    if (!p)
        return false;
    memcpy(p, cmdline ? cmdline : "", n + 1);
    return true;
}

/* Places the initrd as high as allowed below @limit, above @floor, page aligned. */
static bool place_initrd(Machine *m, const uint8_t *initrd, size_t ilen, uint64_t floor,
                         uint64_t limit, BootInfo *bi, GError **errp)
{
    uint64_t top = MIN(limit, m->below_4g);
    /* Keep out of the firmware area when RAM is tiny. */
    if (ilen == 0)
        return true;
    if (ilen > top || (top - ilen) < floor) {
        g_set_error(errp, G_IO_ERROR, G_IO_ERROR_NO_SPACE,
                    "-initrd: initrd of %zu bytes does not fit in guest RAM below 0x%"
                    G_GINT64_MODIFIER "x (kernel ends at 0x%" G_GINT64_MODIFIER "x); "
                    "increase -m", ilen, top, floor);
        return false;
    }
    uint64_t start = (top - ilen) & ~0xfffULL;
    uint8_t *p = gmem(m, start, ilen, "initrd", errp);
    if (!p)
        return false;
    memcpy(p, initrd, ilen);
    bi->initrd_start = start;
    bi->initrd_size = ilen;
    return true;
}

typedef struct ElfImage {
    const uint8_t *img;
    size_t len;
    bool is64;
    uint16_t phnum;
    uint64_t phoff;
    size_t phentsize;
    uint64_t entry;
} ElfImage;

/* ---- the decompressed-kernel cache (kernel-cache.c, vmlinux.c) ---- */

typedef struct CachedKernel {
    uint8_t *data;                  /* mapping of the cache entry */
    size_t len;
    VmlinuxImage v;
    bool kaslr;
} CachedKernel;

/* Whether the cache may stand in for the kernel's decompressor on this boot. With KASLR,
 * memmap=/mem=/hugepages options change where the decompressor may put the kernel
 * (kaslr.c handle_mem_options): those boots run the decompressor. */
static bool cache_usable(Machine *m, const char *cmdline)
{
    const char *c = cmdline ? cmdline : "";
    return m->opts.kernel_cache && (cmdline_has_word(c, "nokaslr") ||
           (!strstr(c, "memmap=") && !strstr(c, "mem=") && !strstr(c, "hugepages")));
}

static int cache_dir(GError **errp)
{
    g_autofree char *path = kernel_cache_default_dir();
    if (!path) {
        g_set_error(errp, G_IO_ERROR, G_IO_ERROR_NOT_FOUND,
                    "kernel cache: no home directory; the cache is not used");
        return -1;
    }
    return kernel_cache_open_dir(path, errp);
}

/* Looks the payload up; on a miss (or an entry that fails validation) starts the
 * background fill, once per machine. */
static bool cache_lookup(Machine *m, const char *name, const uint8_t *img, size_t len,
                         const BzImageInfo *h, const char *cmdline, CachedKernel *ck)
{
    size_t off = h->setup_size + (size_t)h->payload_offset;
    memset(ck, 0, sizeof(*ck));
    if (!h->payload_length || off > len || h->payload_length > len - off ||
        !cache_usable(m, cmdline))
        return false;
    const uint8_t *pay = img + off;
    size_t expect = kernel_cache_expected_size(pay, h->payload_length, h);
    g_autoptr(GError) err = NULL;
    int dfd = expect ? cache_dir(&err) : -1;
    if (dfd < 0) {
        if (err)
            fprintf(stderr, "vireo: warning: %s\n", err->message);
        return false;
    }
    char key[KCACHE_KEY_LEN + 1];
    kernel_cache_key(pay, h->payload_length, key);
    ck->data = kernel_cache_lookup(dfd, key, expect);
    ck->len = expect;
    if (ck->data && vmlinux_parse(ck->data, expect, h, &ck->v, &err)) {
        close(dfd);
        ck->kaslr = vmlinux_wants_kaslr(&ck->v, cmdline);
        return true;
    }
    if (ck->data) {
        fprintf(stderr, "vireo: warning: -kernel %s: cache entry dropped: %s\n", name,
                err->message);
        kernel_cache_release(ck->data, expect);
        kernel_cache_drop(dfd, key);
        ck->data = NULL;
    }
    if (m->kernel_cache_fill)
        close(dfd);
    else
        m->kernel_cache_fill = kernel_cache_fill_start(dfd, name, key, off,
                                                       h->payload_length, h);
    return false;
}

void loader_finish(Machine *m, bool wait)
{
    kernel_cache_fill_finish(m->kernel_cache_fill, wait ? -1 : LOADER_EXIT_FILL_WAIT_US);
    m->kernel_cache_fill = NULL;
}

/* Places and loads the cached kernel, clear of what the decompressor avoids: the area
 * the bzImage would occupy, the initrd, the command line, the zero page. */
static bool load_cached(Machine *m, const CachedKernel *ck, uint64_t load, uint64_t need,
                        BootInfo *bi, uint8_t *zp, GError **errp)
{
    const VmlinuxRange avoid[] = {
        { load, need }, { bi->initrd_start, bi->initrd_size },
        { BOOT_CMDLINE_ADDR, BOOT_CMDLINE_MAX }, { BOOT_ZERO_PAGE_ADDR, 4096 },
    };
    VmlinuxPlace p;
    vmlinux_place(m, &ck->v, ck->kaslr, avoid, G_N_ELEMENTS(avoid), NULL, NULL, &p);
    if (!vmlinux_load(m, &ck->v, &p, bi, errp))
        return false;
    if (p.kaslr)
        zp[HDR_LOADFLAGS] |= KASLR_FLAG;
    return true;
}

/* The zero page: the image's setup header plus what a boot loader fills in. */
static uint8_t *write_zero_page(Machine *m, const uint8_t *img, const BzImageInfo *h,
                                GError **errp)
{
    uint8_t *zp = gmem(m, BOOT_ZERO_PAGE_ADDR, 4096, "zero page", errp);
    if (!zp)
        return NULL;
    memset(zp, 0, 4096);
    size_t hdr_end = MIN(0x202 + (size_t)img[0x201], (size_t)0x280);
    memcpy(zp + SETUP_HDR, img + SETUP_HDR, hdr_end - SETUP_HDR);
    zp[HDR_TYPE_LOADER] = 0xff;
    zp[HDR_LOADFLAGS] = (h->loadflags | CAN_USE_HEAP) & ~(0x20 | KASLR_FLAG); /* no QUIET */
    wr16(zp + HDR_HEAP_END, 0xfe00);
    wr32(zp + HDR_CMDLINE_PTR, BOOT_CMDLINE_ADDR);
    wr32(zp + ZP_EXT_CMDLINE, 0);
    if (h->version >= 0x20e)
        wr64(zp + ZP_ACPI_RSDP, m->acpi_rsdp);
    write_e820(m, zp);
    if (m->legacy_vga)
        write_screen_info(zp);
    return zp;
}

static bool load_bzimage(Machine *m, const char *name, const uint8_t *img, size_t len,
                         const uint8_t *initrd, size_t ilen, const char *cmdline,
                         BootInfo *bi, GError **errp)
{
    BzImageInfo h;
    if (!bzimage_parse(img, len, &h, errp))
        return false;
    uint64_t load = h.pref_address >= 0x100000 ? h.pref_address : 0x100000;
    uint64_t need = MAX((uint64_t)h.init_size, h.kernel_size);
    uint64_t limit = h.initrd_addr_max ? (uint64_t)h.initrd_addr_max + 1 : 0x38000000;
    uint8_t *zp = write_zero_page(m, img, &h, errp);
    if (!zp || !load_cmdline(m, cmdline, h.cmdline_size, errp) ||
        !place_initrd(m, initrd, ilen, load + need, limit, bi, errp))
        return false;
    wr32(zp + HDR_RD_IMAGE, bi->initrd_start);
    wr32(zp + HDR_RD_SIZE, bi->initrd_size);
    wr32(zp + ZP_EXT_RD_IMAGE, bi->initrd_start >> 32);
    wr32(zp + ZP_EXT_RD_SIZE, (uint64_t)bi->initrd_size >> 32);
    bi->mode = BOOT_LINUX64;
    bi->arg = BOOT_ZERO_PAGE_ADDR;
    bi->protocol = h.version;

    CachedKernel ck;
    if (cache_lookup(m, name, img, len, &h, cmdline, &ck)) {
        trace_startup(ck.kaslr ? "kernel from the cache (KASLR)" : "kernel from the cache");
        bool ok = load_cached(m, &ck, load, need, bi, zp, errp);
        kernel_cache_release(ck.data, ck.len);
        return ok;
    }
    uint8_t *k = gmem(m, load, need, "kernel", errp);
    if (!k)
        return false;
    memcpy(k, img + h.setup_size, h.kernel_size);
    bi->entry = load + 0x200;
    bi->kernel_start = load;
    bi->kernel_end = load + need;
    return true;
}

/* struct screen_info at the start of the zero page, as a bootloader leaves it after the
 * VGA BIOS set mode 3 (Linux include/uapi/linux/screen_info.h): an 80x25 colour VGA
 * text console with 16-line characters, cursor at the top left; vgacon then takes it
 * (and fbcon when a framebuffer driver such as bochs-drm replaces it). */
static void write_screen_info(uint8_t *zp)
{
    zp[0x00] = 0;                   /* orig_x */
    zp[0x01] = 0;                   /* orig_y */
    wr16(zp + 0x04, 0);             /* orig_video_page */
    zp[0x06] = 3;                   /* orig_video_mode */
    zp[0x07] = 80;                  /* orig_video_cols */
    wr16(zp + 0x0a, 0);             /* orig_video_ega_bx: not 0x10 (CGA) */
    zp[0x0e] = 25;                  /* orig_video_lines */
    zp[0x0f] = 0x22;                /* orig_video_isVGA: VIDEO_TYPE_VGAC */
    wr16(zp + 0x10, 16);            /* orig_video_points */
}

/* ---- ELF with a PVH note ---- */


typedef struct ElfPhdr {
    uint32_t type;
    uint64_t offset, paddr, filesz, memsz;
} ElfPhdr;

static bool elf_open(const uint8_t *img, size_t len, ElfImage *e, GError **errp)
{
    if (len < EI_NIDENT || memcmp(img, ELFMAG, SELFMAG) != 0)
        return false;
    e->img = img;
    e->len = len;
    e->is64 = img[EI_CLASS] == ELFCLASS64;
    size_t ehsz = e->is64 ? sizeof(Elf64_Ehdr) : sizeof(Elf32_Ehdr);
    if (len < ehsz || img[EI_DATA] != ELFDATA2LSB)
        goto bad;
    if (e->is64) {
        const Elf64_Ehdr *h = (const void *)img;
        if (h->e_machine != EM_X86_64)
            goto bad;
        e->phoff = h->e_phoff; e->phnum = h->e_phnum; e->phentsize = h->e_phentsize;
        e->entry = h->e_entry;
        if (e->phentsize != sizeof(Elf64_Phdr))
            goto bad;
    } else {
        const Elf32_Ehdr *h = (const void *)img;
        if (h->e_machine != EM_386)
            goto bad;
        e->phoff = h->e_phoff; e->phnum = h->e_phnum; e->phentsize = h->e_phentsize;
        e->entry = h->e_entry;
        if (e->phentsize != sizeof(Elf32_Phdr))
            goto bad;
    }
    if (e->phoff > len || (uint64_t)e->phnum * e->phentsize > len - e->phoff)
        goto bad;
    return true;
bad:
    g_set_error(errp, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                "unsupported or malformed ELF file (need little-endian x86 ELF with "
                "valid program headers)");
    return false;
}


static ElfPhdr elf_phdr(const ElfImage *e, unsigned i)
{
    const uint8_t *p = e->img + e->phoff + (uint64_t)i * e->phentsize;
    ElfPhdr r;
    if (e->is64) {
        const Elf64_Phdr *ph = (const void *)p;
        r = (ElfPhdr){ ph->p_type, ph->p_offset, ph->p_paddr, ph->p_filesz, ph->p_memsz };
    } else {
        const Elf32_Phdr *ph = (const void *)p;
        r = (ElfPhdr){ ph->p_type, ph->p_offset, ph->p_paddr, ph->p_filesz, ph->p_memsz };
    }
    return r;
}

/* Finds XEN_ELFNOTE_PHYS32_ENTRY in the PT_NOTE segments; 0 when absent. */
static uint64_t elf_pvh_entry(const ElfImage *e)
{
    for (unsigned i = 0; i < e->phnum; i++) {
        ElfPhdr ph = elf_phdr(e, i);
        if (ph.type != PT_NOTE || ph.offset > e->len || ph.filesz > e->len - ph.offset)
            continue;
        const uint8_t *n = e->img + ph.offset, *end = n + ph.filesz;
        while (end - n >= 12) {
            uint32_t namesz = rd32(n), descsz = rd32(n + 4), type = rd32(n + 8);
            uint64_t nsz = (namesz + 3ULL) & ~3ULL, dsz = (descsz + 3ULL) & ~3ULL;
            if (nsz + dsz > (uint64_t)(end - n - 12))
                break;
            const uint8_t *name = n + 12, *desc = name + nsz;
            if (type == XEN_ELFNOTE_PHYS32_ENTRY && namesz == 4 &&
                !memcmp(name, "Xen", 4) && descsz >= 4)
                return descsz >= 8 ? rd64(desc) : rd32(desc);
            n = desc + dsz;
        }
    }
    return 0;
}

static bool elf_load_segments(Machine *m, const ElfImage *e, BootInfo *bi, GError **errp)
{
    bi->kernel_start = UINT64_MAX;
    bi->kernel_end = 0;
    for (unsigned i = 0; i < e->phnum; i++) {
        ElfPhdr ph = elf_phdr(e, i);
        if (ph.type != PT_LOAD || ph.memsz == 0)
            continue;
        if (ph.filesz > ph.memsz || ph.offset > e->len || ph.filesz > e->len - ph.offset) {
            g_set_error(errp, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                        "ELF segment %u lies outside the file", i);
            return false;
        }
        uint8_t *dst = gmem(m, ph.paddr, ph.memsz, "ELF segment", errp);
        if (!dst)
            return false;
        memcpy(dst, e->img + ph.offset, ph.filesz);
        memset(dst + ph.filesz, 0, ph.memsz - ph.filesz);
        bi->kernel_start = MIN(bi->kernel_start, ph.paddr);
        bi->kernel_end = MAX(bi->kernel_end, ph.paddr + ph.memsz);
    }
    if (bi->kernel_end == 0) {
        g_set_error(errp, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, "ELF file has no loadable segment");
        return false;
    }
    return true;
}

/* struct hvm_start_info (v1) + one module + the memory map, at BOOT_START_INFO_ADDR. */
static bool write_start_info(Machine *m, BootInfo *bi, GError **errp)
{
    const uint64_t si = BOOT_START_INFO_ADDR, mod = si + 64, map = si + 128;
    uint8_t *p = gmem(m, si, 128 + 24 * E820_MAX, "start_info", errp);
    if (!p)
        return false;
    memset(p, 0, 128 + 24 * E820_MAX);
    wr32(p, HVM_START_MAGIC);
    wr32(p + 4, 1);
    if (bi->initrd_size) {
        wr32(p + 12, 1);
        wr64(p + 16, mod);
        wr64(p + 64, bi->initrd_start);
        wr64(p + 72, bi->initrd_size);
    }
    wr64(p + 24, BOOT_CMDLINE_ADDR);
    wr64(p + 32, m->acpi_rsdp);
    wr64(p + 40, map);
    wr32(p + 48, m->e820_count);
    for (unsigned i = 0; i < m->e820_count; i++) {
        uint8_t *e = p + 128 + 24 * i;
        wr64(e, m->e820[i].addr);
        wr64(e + 8, m->e820[i].size);
        wr32(e + 16, m->e820[i].type);
    }
    bi->arg = si;
    return true;
}

static bool load_elf(Machine *m, const ElfImage *e, const uint8_t *initrd, size_t ilen,
                     const char *cmdline, BootInfo *bi, GError **errp)
{
    uint64_t entry = elf_pvh_entry(e);
    if (!entry) {
        g_set_error(errp, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED,
                    "ELF kernel has no PVH entry note (XEN_ELFNOTE_PHYS32_ENTRY); "
                    "use a bzImage or a kernel built with CONFIG_PVH");
        return false;
    }
    if (!elf_load_segments(m, e, bi, errp) || !load_cmdline(m, cmdline, 0, errp))
        return false;
    if (!place_initrd(m, initrd, ilen, bi->kernel_end, m->below_4g, bi, errp))
        return false;
    bi->mode = BOOT_PVH32;
    bi->entry = entry;
    return write_start_info(m, bi, errp);
}

bool loader_setup_tables(Machine *m, GError **errp)
{
    static const uint64_t gdt[] = {
        0,
        0x00cf9b000000ffffULL,   /* 0x08: 32-bit code, flat (PVH entry) */
        0x00af9b000000ffffULL,   /* 0x10: 64-bit code (__BOOT_CS) */
        0x00cf93000000ffffULL,   /* 0x18: data, flat (__BOOT_DS) */
        0x00008b0000000fffULL,   /* 0x20: busy 32-bit TSS */
    };
    uint8_t *g = gmem(m, BOOT_GDT_ADDR, sizeof(gdt), "boot GDT", errp);
    uint8_t *pt = gmem(m, BOOT_PML4_ADDR, 6 * 4096, "boot page tables", errp);
    if (!g || !pt)
        return false;
    for (unsigned i = 0; i < G_N_ELEMENTS(gdt); i++)
        wr64(g + 8 * i, gdt[i]);
    memset(pt, 0, 6 * 4096);
    wr64(pt, (BOOT_PML4_ADDR + 0x1000) | 3);                 /* PML4[0] -> PDPT */
    for (unsigned i = 0; i < 4; i++) {                       /* PDPT[i] -> PD i */
        wr64(pt + 0x1000 + 8 * i, (BOOT_PML4_ADDR + 0x2000 + 0x1000 * i) | 3);
        for (unsigned j = 0; j < 512; j++) {
            uint64_t addr = ((uint64_t)i << 30) | ((uint64_t)j << 21);
            wr64(pt + 0x2000 + 0x1000 * i + 8 * j, addr | 0x83);  /* P|RW|PS */
        }
    }
    return true;
}

bool loader_check(const char *name, const uint8_t *kernel, size_t klen, GError **errp)
{
    GError *err = NULL;
    ElfImage e;
    BzImageInfo h;
    bool ok;
    if (elf_open(kernel, klen, &e, &err)) {
        ok = elf_pvh_entry(&e) != 0;
        if (!ok)
            g_set_error(&err, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED,
                        "ELF kernel has no PVH entry note (XEN_ELFNOTE_PHYS32_ENTRY); "
                        "use a bzImage or a kernel built with CONFIG_PVH");
    } else {
        ok = !err && bzimage_parse(kernel, klen, &h, &err);
    }
    if (!ok)
        g_propagate_prefixed_error(errp, err, "-kernel %s: ", name);
    return ok;
}

bool loader_load(Machine *m, const char *name, const uint8_t *kernel, size_t klen,
                 const uint8_t *initrd, size_t ilen, const char *cmdline,
                 BootInfo *bi, GError **errp)
{
    GError *err = NULL;
    ElfImage e;
    bool ok;
    memset(bi, 0, sizeof(*bi));
    if (!loader_setup_tables(m, errp))
        return false;
    if (elf_open(kernel, klen, &e, &err))
        ok = load_elf(m, &e, initrd, ilen, cmdline, bi, &err);
    else if (!err)
        ok = load_bzimage(m, name, kernel, klen, initrd, ilen, cmdline, bi, &err);
    else
        ok = false;
    if (!ok)
        g_propagate_prefixed_error(errp, err, "-kernel %s: ", name);
    return ok;
}
