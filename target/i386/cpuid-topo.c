/*
 * The topology-dependent CPUID fields of one vCPU. Whatever the host reported there
 * describes the host, so every field is rewritten from -smp and the vCPU index.
 * Intel SDM vol. 2A "CPUID" (leaves 1, 4, 0xB, 0x1F) and AMD APM vol. 3 appendix E
 * (Fn8000_0001, Fn8000_0008, Fn8000_001D, Fn8000_001E).
 */
#include "cpu-int.h"

static unsigned logical_per_pkg(const TopoInfo *t)
{
    return t->dies * t->cores * t->threads;
}

/* (1 << bits) - 1, saturated to a field of @width bits. */
static uint32_t field_max(unsigned bits, unsigned width)
{
    uint64_t v = (bits >= 32 ? ~0ull : (1ull << bits)) - 1;
    return MIN(v, (1ull << width) - 1);
}

/* Leaf 1 EBX: CLFLUSH line size (8 x 8 bytes), addressable logical processor ids per
 * package, initial APIC id; EDX.HTT says the id field is meaningful (SDM table 3-8). */
static void leaf_1(CpuidBuilder *b)
{
    struct kvm_cpuid_entry2 *e = cpuid_ent(b, 1, 0);
    e->ebx = (b->apic_id & 0xff) << 24 | 8 << 8;
    e->edx &= ~F1_EDX_HT;
    if (logical_per_pkg(&b->topo) > 1) {
        uint32_t ids = b->topo.pkg_off >= 8 ? 255 : 1u << b->topo.pkg_off;
        e->ebx |= ids << 16;
        e->edx |= F1_EDX_HT;
    }
}

/* Leaf 4 (Intel deterministic cache parameters): EAX[25:14] ids sharing the cache - 1
 * (L1/L2 per core, L3 per die), EAX[31:26] addressable core ids per package - 1.
 * AMD has no leaf 4; QEMU's vendor-only CPUID leaves it zero there. */
static void leaf_4(CpuidBuilder *b)
{
    const TopoInfo *t = &b->topo;
    if (b->amd) {
        cpuid_drop(b, 4);
        return;
    }
    uint32_t cores = field_max(t->pkg_off - t->core_off, 6);
    for (guint i = 0; i < b->e->len; i++) {
        struct kvm_cpuid_entry2 *e = &g_array_index(b->e, struct kvm_cpuid_entry2, i);
        if (e->function != 4 || !(e->eax & 0x1f))
            continue;
        unsigned level = e->eax >> 5 & 7;
        uint32_t share = field_max(level <= 2 ? t->core_off : t->die_off, 12);
        e->eax = (e->eax & 0x3fff) | share << 14 | cores << 26;
    }
}

static void put_level(CpuidBuilder *b, uint32_t fn, uint32_t idx, unsigned shift,
                      unsigned count, unsigned type)
{
    struct kvm_cpuid_entry2 *e = cpuid_ent(b, fn, idx);
    e->eax = shift;                     /* bits to shift the x2APIC id to the next level */
    e->ebx = MIN(count, 0xffffu);       /* logical processors at this level */
    e->ecx = type << 8 | idx;           /* 1 SMT, 2 core, 5 die, 0 invalid */
    e->edx = b->apic_id;
}

/* Leaf 0xB (extended topology) and leaf 0x1F (V2, adds the die level; only offered
 * when there is more than one die, like QEMU, so guests fall back to 0xB). */
static void leaf_b_1f(CpuidBuilder *b, uint32_t level)
{
    const TopoInfo *t = &b->topo;
    cpuid_drop(b, 0xb);
    cpuid_drop(b, 0x1f);
    if (level >= 0xb) {
        put_level(b, 0xb, 0, t->core_off, t->threads, 1);
        put_level(b, 0xb, 1, t->pkg_off, logical_per_pkg(t), 2);
        put_level(b, 0xb, 2, 0, 0, 0);
    }
    if (level >= 0x1f && t->dies > 1) {
        put_level(b, 0x1f, 0, t->core_off, t->threads, 1);
        put_level(b, 0x1f, 1, t->die_off, t->cores * t->threads, 2);
        put_level(b, 0x1f, 2, t->pkg_off, logical_per_pkg(t), 5);
        put_level(b, 0x1f, 3, 0, 0, 0);
    }
}

/* CmpLegacy (Fn8000_0001_ECX[1]): set on non-Intel vendors with several logical
 * processors per package, as QEMU does; Linux then skips the legacy HT sibling
 * count. NC and ApicIdSize in Fn8000_0008_ECX[7:0] and [15:12]. */
static void leaf_amd_counts(CpuidBuilder *b)
{
    unsigned n = logical_per_pkg(&b->topo);
    struct kvm_cpuid_entry2 *e = cpuid_get(b, 0x80000001, 0);
    if (e) {
        e->ecx &= ~FE1_ECX_CMP_LEGACY;
        if (!b->intel && n > 1)
            e->ecx |= FE1_ECX_CMP_LEGACY;
    }
    e = cpuid_get(b, 0x80000008, 0);
    if (e) {
        e->ecx &= ~0xf0ffu;
        if (n > 1)
            e->ecx |= MIN(n - 1, 0xffu) | MIN(b->topo.pkg_off, 15u) << 12;
    }
}

/* Fn8000_001D (AMD cache topology): EAX[25:14] logical processors sharing - 1. */
static void leaf_8000001d(CpuidBuilder *b)
{
    const TopoInfo *t = &b->topo;
    for (guint i = 0; i < b->e->len; i++) {
        struct kvm_cpuid_entry2 *e = &g_array_index(b->e, struct kvm_cpuid_entry2, i);
        if (e->function != 0x8000001d || !(e->eax & 0x1f))
            continue;
        unsigned level = e->eax >> 5 & 7;
        uint32_t share = MIN((level <= 2 ? t->threads : t->cores * t->threads) - 1, 0xfffu);
        e->eax = (e->eax & ~(0xfffu << 14)) | share << 14;
    }
}

/* Fn8000_001E: extended APIC id, core id and threads per core, node id and nodes per
 * package (one node per die). */
static void leaf_8000001e(CpuidBuilder *b, uint32_t xlevel)
{
    const TopoInfo *t = &b->topo;
    cpuid_drop(b, 0x8000001e);
    if (!b->amd || xlevel < 0x8000001e)
        return;
    struct kvm_cpuid_entry2 *e = cpuid_ent(b, 0x8000001e, 0);
    e->eax = b->apic_id;
    e->ebx = MIN(t->threads - 1, 0xffu) << 8 | ((t->die_id * t->cores + t->core_id) & 0xff);
    e->ecx = MIN(t->dies - 1, 7u) << 8 | ((t->socket_id * t->dies + t->die_id) & 0xff);
    e->edx = 0;
}

void cpuid_topology(CpuidBuilder *b)
{
    const struct kvm_cpuid_entry2 *x = cpuid_get(b, 0x80000000, 0);
    uint32_t level = cpuid_ent(b, 0, 0)->eax, xlevel = x ? x->eax : 0;
    leaf_1(b);
    leaf_4(b);
    leaf_b_1f(b, level);
    leaf_amd_counts(b);
    leaf_8000001d(b);
    leaf_8000001e(b, xlevel);
}
