/*
 * Loading a decompressed bzImage payload as the kernel's decompressor would
 * (arch/x86/boot/compressed/misc.c extract_kernel, kaslr.c choose_random_location).
 *
 * The payload is the kernel's vmlinux ELF followed, when the kernel randomises its
 * base (CONFIG_RANDOMIZE_BASE, which is what makes x86-64 need relocations), by the
 * tables of arch/x86/tools/relocs: read backwards from the end, 32-bit relocations,
 * a zero, inverse 32-bit relocations, a zero, 64-bit relocations, a zero. Each entry is
 * the kernel virtual address (sign-extended from 32 bits) of a value to adjust by the
 * virtual offset the decompressor chose. The physical offset needs no relocation on
 * x86-64: the kernel's early code works it out from where it runs.
 */
#include "vmlinux.h"
#include <elf.h>
#include <errno.h>
#include <string.h>
#include <sys/random.h>

#define START_KERNEL_MAP   0xffffffff80000000ULL   /* __START_KERNEL_map */
#define KERNEL_IMAGE_SIZE  (1ULL << 30)            /* x86-64 with RANDOMIZE_BASE */
#define MIN_KERNEL_ALIGN   (1ULL << 21)
#define PHYS_MIN_CAP       (512ULL << 20)          /* min(output, 512M) */
#define MAX_SLOT_AREAS     100
#define ROUND_UP(x, a)     (((x) + (a) - 1) / (a) * (a))

static uint32_t rd32(const uint8_t *p) { uint32_t v; memcpy(&v, p, 4); return v; }

static bool bad(GError **errp, const char *why)
{
    g_set_error(errp, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, "decompressed kernel: %s", why);
    return false;
}

/* The end of everything the ELF headers describe: relocation tables start there. */
static uint64_t elf_extent(const Elf64_Ehdr *eh, const VmlinuxImage *v)
{
    uint64_t end = eh->e_phoff + (uint64_t)eh->e_phnum * sizeof(Elf64_Phdr);
    end = MAX(end, eh->e_shoff + (uint64_t)eh->e_shnum * eh->e_shentsize);
    for (unsigned i = 0; i < v->nsegs; i++)
        end = MAX(end, v->seg[i].offset + v->seg[i].filesz);
    return end;
}

static bool parse_segments(const Elf64_Ehdr *eh, VmlinuxImage *v, uint64_t limit,
                           GError **errp)
{
    const Elf64_Phdr *ph = (const void *)(v->data + eh->e_phoff);
    uint64_t end = 0;
    for (unsigned i = 0; i < eh->e_phnum; i++) {
        Elf64_Phdr p;
        memcpy(&p, ph + i, sizeof(p));
        if (p.p_type != PT_LOAD || !p.p_memsz)
            continue;
        if (v->nsegs == VMLINUX_MAX_SEGS)
            return bad(errp, "too many loadable segments");
        if (p.p_filesz > p.p_memsz || p.p_offset > v->len || p.p_filesz > v->len - p.p_offset)
            return bad(errp, "a segment lies outside the file");
        if (p.p_paddr < v->base || p.p_memsz > limit || p.p_paddr - v->base > limit - p.p_memsz)
            return bad(errp, "a segment lies outside [pref_address, +init_size)");
        v->seg[v->nsegs++] = (VmlinuxSeg){ p.p_offset, p.p_paddr, p.p_filesz, p.p_memsz };
        end = MAX(end, p.p_paddr + p.p_memsz);
    }
    if (!v->nsegs || v->seg[0].paddr != v->base)
        return bad(errp, "the first segment does not start at pref_address");
    v->span = end - v->base;
    return true;
}

/* Whether [off, off + width) of the loaded image is file data of some segment. */
static bool reloc_target_ok(const VmlinuxImage *v, uint64_t off, unsigned width)
{
    for (unsigned i = 0; i < v->nsegs; i++) {
        uint64_t s = v->seg[i].paddr - v->base;
        if (off >= s && off - s <= v->seg[i].filesz && v->seg[i].filesz - (off - s) >= width)
            return true;
    }
    return false;
}

/* Offset in the loaded image of the value a table entry names (misc.c: extended + map). */
static uint64_t reloc_off(const VmlinuxImage *v, int32_t entry)
{
    return (uint64_t)(int64_t)entry - START_KERNEL_MAP - v->base;
}

/* Walks the three tables backwards from the end; checks every entry. */
static bool parse_relocs(VmlinuxImage *v, size_t elf_end, GError **errp)
{
    static const unsigned width[3] = { 4, 4, 8 };
    size_t pos = v->len;
    if (v->len - elf_end < 12 || (v->len - elf_end) % 4)
        return bad(errp, "relocation tables are truncated");
    for (unsigned t = 0; t < 3; t++) {
        for (;;) {
            if (pos - elf_end < 4)
                return bad(errp, "relocation table without its terminator");
            pos -= 4;
            int32_t e = (int32_t)rd32(v->data + pos);
            if (!e)
                break;
            if (!reloc_target_ok(v, reloc_off(v, e), width[t]))
                return bad(errp, "relocation outside the kernel");
        }
    }
    v->relocs_start = pos;
    return true;
}

bool vmlinux_parse(const uint8_t *data, size_t len, const BzImageInfo *h, VmlinuxImage *v,
                   GError **errp)
{
    memset(v, 0, sizeof(*v));
    v->data = data;
    v->len = len;
    v->base = h->pref_address;
    v->align = h->kernel_alignment;
    v->relocatable = h->relocatable;
    Elf64_Ehdr eh;
    if (len < sizeof(eh) || len > h->init_size)
        return bad(errp, "size does not match the header's init_size");
    memcpy(&eh, data, sizeof(eh));
    if (memcmp(eh.e_ident, ELFMAG, SELFMAG) || eh.e_ident[EI_CLASS] != ELFCLASS64 ||
        eh.e_ident[EI_DATA] != ELFDATA2LSB || eh.e_machine != EM_X86_64 ||
        eh.e_type != ET_EXEC || eh.e_phentsize != sizeof(Elf64_Phdr))
        return bad(errp, "not an x86-64 executable ELF");
    if (eh.e_phoff > len || (uint64_t)eh.e_phnum * sizeof(Elf64_Phdr) > len - eh.e_phoff)
        return bad(errp, "program headers lie outside the file");
    if (v->align < MIN_KERNEL_ALIGN || (v->align & (v->align - 1)) || v->base % v->align)
        return bad(errp, "the header's kernel_alignment or pref_address is unusable");
    if (!parse_segments(&eh, v, h->init_size, errp))
        return false;
    v->entry_off = eh.e_entry - v->base;
    if (eh.e_entry < v->base || v->entry_off >= v->seg[0].filesz)
        return bad(errp, "entry point outside the first segment");
    uint64_t ext = elf_extent(&eh, v);
    if (ext > len)
        return bad(errp, "section headers lie outside the file");
    v->has_relocs = ext < len;
    return !v->has_relocs || parse_relocs(v, ext, errp);
}

bool cmdline_has_word(const char *cmdline, const char *opt)
{
    size_t n = strlen(opt);
    for (const char *p = cmdline ? cmdline : ""; *p;) {
        while (*p && (unsigned char)*p <= ' ')
            p++;
        const char *w = p;
        while (*p && (unsigned char)*p > ' ')
            p++;
        if ((size_t)(p - w) == n && !memcmp(w, opt, n))
            return true;
    }
    return false;
}

bool vmlinux_wants_kaslr(const VmlinuxImage *v, const char *cmdline)
{
    return v->has_relocs && v->relocatable && !cmdline_has_word(cmdline, "nokaslr");
}

static uint64_t getrandom64(void *opaque)
{
    uint64_t r = 0;
    (void)opaque;
    while (getrandom(&r, sizeof(r), 0) < 0 && errno == EINTR)
        ;
    return r;
}

typedef struct SlotArea {
    uint64_t addr, num;
} SlotArea;

typedef struct Slots {
    SlotArea area[MAX_SLOT_AREAS];
    unsigned n;
    uint64_t total, align, size;
} Slots;

static void slots_add(Slots *s, uint64_t start, uint64_t size)
{
    if (s->n == MAX_SLOT_AREAS || size < s->size)
        return;
    s->area[s->n] = (SlotArea){ start, (size - s->size) / s->align + 1 };
    s->total += s->area[s->n++].num;
}

/* kaslr.c process_mem_region: the aligned parts of [start, end) that avoid @avoid. */
static void slots_region(Slots *s, uint64_t start, uint64_t end, uint64_t minimum,
                         const VmlinuxRange *avoid, unsigned navoid)
{
    while (s->n < MAX_SLOT_AREAS) {
        start = ROUND_UP(MAX(start, minimum), s->align);
        if (start >= end || end - start < s->size)
            return;
        const VmlinuxRange *first = NULL;   /* the lowest avoided range overlapping */
        for (unsigned i = 0; i < navoid; i++) {
            const VmlinuxRange *a = &avoid[i];
            if (a->size && a->start < end && a->start + a->size > start &&
                (!first || a->start < first->start))
                first = a;
        }
        if (!first) {
            slots_add(s, start, end - start);
            return;
        }
        if (first->start > start)
            slots_add(s, start, first->start - start);
        start = first->start + first->size;
    }
}

void vmlinux_place(Machine *m, const VmlinuxImage *v, bool kaslr, const VmlinuxRange *avoid,
                   unsigned navoid, VmlinuxRandom *random, void *opaque, VmlinuxPlace *p)
{
    *p = (VmlinuxPlace){ .phys = v->base, .virt = v->base, .kaslr = kaslr };
    if (!kaslr)
        return;
    random = random ? random : getrandom64;
    /* The hole must hold the larger of the whole payload and the running kernel. */
    uint64_t size = ROUND_UP(MAX((uint64_t)v->len, v->span), v->align);
    Slots s = { .align = v->align, .size = size };
    uint64_t minimum = ROUND_UP(MIN(v->base, PHYS_MIN_CAP), v->align);
    for (unsigned i = 0; i < m->e820_count; i++) {
        const E820Entry *e = &m->e820[i];
        uint64_t end = MIN(e->addr + e->size, m->below_4g);   /* boot page tables: 4 GiB */
        if (e->type == E820_RAM && e->addr < end)
            slots_region(&s, e->addr, end, minimum, avoid, navoid);
    }
    if (s.total) {
        uint64_t slot = random(opaque) % s.total;
        for (unsigned i = 0; i < s.n; slot -= s.area[i++].num)
            if (slot < s.area[i].num) {
                p->phys = s.area[i].addr + slot * v->align;
                break;
            }
    }
    uint64_t vslots = (KERNEL_IMAGE_SIZE - v->base - size) / v->align + 1;
    if (v->base + size <= KERNEL_IMAGE_SIZE)
        p->virt = v->base + random(opaque) % vslots * v->align;
}

/* misc.c handle_relocations, on the copy in guest RAM at @k. The tables were checked
 * by vmlinux_parse; the bounds are checked again because @v may be a mapping of a file
 * (a cache entry changed meanwhile must not make this write outside the kernel). */
static void apply_relocs(const VmlinuxImage *v, uint8_t *k, int64_t delta)
{
    size_t pos = v->len;
    for (unsigned t = 0; t < 3; t++) {
        unsigned w = t == 2 ? 8 : 4;
        for (; pos >= v->relocs_start + 4; ) {
            pos -= 4;
            int32_t e = (int32_t)rd32(v->data + pos);
            uint64_t off = reloc_off(v, e);
            if (!e)
                break;
            if (off > v->span - w)
                continue;
            uint8_t *ptr = k + off;
            if (w == 8) {
                uint64_t x;
                memcpy(&x, ptr, 8);
                x += delta;
                memcpy(ptr, &x, 8);
            } else {
                uint32_t x = rd32(ptr);
                x = t == 0 ? x + (uint32_t)delta : x - (uint32_t)delta;
                memcpy(ptr, &x, 4);
            }
        }
    }
}

bool vmlinux_load(Machine *m, const VmlinuxImage *v, const VmlinuxPlace *p, BootInfo *bi,
                  GError **errp)
{
    uint8_t *k = as_ram_ptr(m->sysmem, p->phys, v->span);
    if (!k) {
        g_set_error(errp, G_IO_ERROR, G_IO_ERROR_NO_SPACE,
                    "kernel (%" G_GUINT64_FORMAT " bytes at 0x%" G_GINT64_MODIFIER "x) does "
                    "not fit in guest RAM", v->span, p->phys);
        return false;
    }
    for (unsigned i = 0; i < v->nsegs; i++) {
        const VmlinuxSeg *s = &v->seg[i];
        uint8_t *dst = k + (s->paddr - v->base);
        memcpy(dst, v->data + s->offset, s->filesz);
        memset(dst + s->filesz, 0, s->memsz - s->filesz);
    }
    if (v->has_relocs && p->virt != v->base)
        apply_relocs(v, k, (int64_t)(p->virt - v->base));
    bi->entry = p->phys + v->entry_off;
    bi->kernel_start = p->phys;
    bi->kernel_end = p->phys + v->span;
    return true;
}
