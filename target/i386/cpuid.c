/*
 * CPUID policy: turns KVM_GET_SUPPORTED_CPUID plus a -cpu string into the table for
 * KVM_SET_CPUID2 (Documentation/virt/kvm/api.rst 4.46, 4.48).
 *
 * "host"/"max" start from every supported leaf; named models build their leaves
 * from the model definition (vendor, family/model/stepping, brand string, feature
 * words) and borrow only informational leaves (XSAVE layout, AMD cache leaves) from
 * the host. Feature words are then masked by what KVM supports, the topology leaves
 * are written for this vCPU (cpuid-topo.c) and the KVM paravirtual leaves
 * 0x40000000/0x40000001 (Documentation/virt/kvm/x86/cpuid.rst) are added.
 */
#include "cpu-int.h"
#include "vireo/error.h"
#include "vireo/log.h"
#include <string.h>

#define KVM_LEAF_BASE 0x40000000u

static bool leaf_indexed(uint32_t fn)
{
    switch (fn) {
    case 0x4: case 0x7: case 0xb: case 0xd: case 0xf: case 0x10: case 0x12: case 0x14:
    case 0x17: case 0x18: case 0x1d: case 0x1e: case 0x1f: case 0x20: case 0x24:
    case 0x8000001d: case 0x80000020: case 0x80000026:
        return true;
    }
    return false;
}

static bool entry_matches(const struct kvm_cpuid_entry2 *e, uint32_t fn, uint32_t idx)
{
    return e->function == fn &&
           (!(e->flags & KVM_CPUID_FLAG_SIGNIFCANT_INDEX) || e->index == idx);
}

const struct kvm_cpuid_entry2 *x86_cpuid_find(const struct kvm_cpuid2 *c, uint32_t function,
                                              uint32_t index)
{
    for (uint32_t i = 0; c && i < c->nent; i++)
        if (entry_matches(&c->entries[i], function, index))
            return &c->entries[i];
    return NULL;
}

uint32_t *cpuid_reg(struct kvm_cpuid_entry2 *e, int reg)
{
    switch (reg) {
    case R_EAX: return &e->eax;
    case R_EBX: return &e->ebx;
    case R_ECX: return &e->ecx;
    default:    return &e->edx;
    }
}

struct kvm_cpuid_entry2 *cpuid_get(CpuidBuilder *b, uint32_t fn, uint32_t idx)
{
    for (guint i = 0; i < b->e->len; i++) {
        struct kvm_cpuid_entry2 *e = &g_array_index(b->e, struct kvm_cpuid_entry2, i);
        if (entry_matches(e, fn, idx))
            return e;
    }
    return NULL;
}

struct kvm_cpuid_entry2 *cpuid_ent(CpuidBuilder *b, uint32_t fn, uint32_t idx)
{
    struct kvm_cpuid_entry2 *e = cpuid_get(b, fn, idx);
    if (e)
        return e;
    struct kvm_cpuid_entry2 n = {
        .function = fn, .index = leaf_indexed(fn) ? idx : 0,
        .flags = leaf_indexed(fn) ? KVM_CPUID_FLAG_SIGNIFCANT_INDEX : 0,
    };
    g_array_append_val(b->e, n);
    return &g_array_index(b->e, struct kvm_cpuid_entry2, b->e->len - 1);
}

void cpuid_drop(CpuidBuilder *b, uint32_t fn)
{
    for (guint i = b->e->len; i-- > 0;)
        if (g_array_index(b->e, struct kvm_cpuid_entry2, i).function == fn)
            g_array_remove_index(b->e, i);
}

static void cpuid_drop_index(CpuidBuilder *b, uint32_t fn, uint32_t idx)
{
    for (guint i = b->e->len; i-- > 0;) {
        const struct kvm_cpuid_entry2 *e = &g_array_index(b->e, struct kvm_cpuid_entry2, i);
        if (e->function == fn && e->index == idx)
            g_array_remove_index(b->e, i);
    }
}

static void copy_sup(CpuidBuilder *b, uint32_t fn, uint32_t idx)
{
    const struct kvm_cpuid_entry2 *s = x86_cpuid_find(b->sup, fn, idx);
    if (s) {
        struct kvm_cpuid_entry2 *e = cpuid_ent(b, fn, idx);
        e->eax = s->eax, e->ebx = s->ebx, e->ecx = s->ecx, e->edx = s->edx;
    }
}

/* ---- Feature words ------------------------------------------------------------- */

static uint32_t sup_word(const struct kvm_cpuid2 *sup, FeatWord w)
{
    const FeatWordInfo *i = &x86_feat_words[w];
    const struct kvm_cpuid_entry2 *e = x86_cpuid_find(sup, i->function, i->index);
    uint32_t v = !e ? 0 : i->reg == R_EAX ? e->eax : i->reg == R_EBX ? e->ebx :
                 i->reg == R_ECX ? e->ecx : e->edx;
    /* KVM emulates these whatever the host has (api.rst: KVM_CAP_TSC_DEADLINE_TIMER). */
    if (w == FW_1_ECX)
        v |= F1_ECX_HYPERVISOR | F1_ECX_TSC_DEADLINE;
    /* Intel hosts leave the AMD aliases of leaf 1 EDX clear; KVM handles them. */
    if (w == FW_8000_0001_EDX)
        v |= sup_word(sup, FW_1_EDX) & AMD_EDX_ALIASES;
    return v;
}

static void describe_missing(FeatWord w, uint32_t missing, GString *out)
{
    for (unsigned bit = 0; bit < 32; bit++)
        if (missing & (1u << bit))
            g_string_append_printf(out, " %s.%s [bit %u]", x86_feat_words[w].desc,
                                   x86_feat_bit_name(w, bit), bit);
}

/* XSAVE state components and the feature that enables them (SDM vol. 1 13.1). */
static const struct { uint64_t comps; FeatWord w; uint32_t bit; } xsave_comps[] = {
    { 0x4, FW_1_ECX, F1_ECX_AVX },             /* YMM_Hi128 */
    { 0x18, FW_7_0_EBX, F7_EBX_MPX },          /* BNDREGS, BNDCSR */
    { 0xe0, FW_7_0_EBX, F7_EBX_AVX512F },      /* opmask, ZMM_Hi256, Hi16_ZMM */
    { 0x200, FW_7_0_ECX, F7_ECX_PKU },         /* PKRU */
    { 0x60000, FW_7_0_EDX, F7_EDX_AMX_TILE },  /* XTILECFG, XTILEDATA */
};

/* Features that cannot work without XSAVE are cleared with it (SDM vol. 1 13.2). */
static void xsave_dependencies(CpuidBuilder *b)
{
    if (b->feat[FW_1_ECX] & F1_ECX_XSAVE)
        return;
    b->feat[FW_D_1_EAX] = 0;
    for (size_t i = 0; i < G_N_ELEMENTS(xsave_comps); i++)
        b->feat[xsave_comps[i].w] &= ~xsave_comps[i].bit;
}

static bool compute_features(CpuidBuilder *b, GError **errp)
{
    g_autoptr(GString) missing = g_string_new(NULL);
    for (int w = 0; w < FW_COUNT; w++) {
        uint32_t sup = sup_word(b->sup, w);
        uint32_t want = b->cfg.model->host ? sup : b->cfg.model->features[w];
        /* host/max with migratable=on (QEMU's default) leave out what cannot migrate:
         * the invariant TSC (CPUID 0x80000007 EDX bit 8). */
        if (b->cfg.model->host && b->cfg.migratable && w == FW_8000_0007_EDX)
            want &= ~(1u << 8);
        want = (want | b->cfg.plus[w]) & ~b->cfg.minus[w];
        describe_missing(w, want & ~sup, missing);
        b->feat[w] = want & sup;
    }
    if (missing->len && b->cfg.enforce) {
        g_set_error(errp, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                    "-cpu %s,enforce: KVM does not support:%s", b->cfg.model->name,
                    missing->str);
        return false;
    }
    if (missing->len && b->apic_id == 0)    /* once per VM, not once per vCPU */
        warn_report("-cpu %s: KVM does not support, dropped:%s", b->cfg.model->name,
                    missing->str);
    if (!b->cfg.kvm_leaves)
        b->feat[FW_KVM] = 0;
    if (!(b->feat[FW_8000_0001_ECX] & FE1_ECX_SVM))
        b->feat[FW_8000_000A_EDX] = 0;  /* SVM sub-features need SVM */
    xsave_dependencies(b);
    return true;
}

static void apply_features(CpuidBuilder *b)
{
    for (int w = 0; w < FW_COUNT; w++) {
        const FeatWordInfo *i = &x86_feat_words[w];
        if (w == FW_KVM)
            continue;
        struct kvm_cpuid_entry2 *e = b->feat[w] ? cpuid_ent(b, i->function, i->index)
                                                : cpuid_get(b, i->function, i->index);
        if (e)
            *cpuid_reg(e, i->reg) = b->feat[w];
    }
    /* AMD mirrors leaf 1 EDX bits in 0x80000001 EDX (APM vol. 3, Fn8000_0001_EDX). */
    if (b->amd)
        cpuid_ent(b, 0x80000001, 0)->edx |= b->feat[FW_1_EDX] & AMD_EDX_ALIASES;
}

bool x86_cpu_compute_features(const struct kvm_cpuid2 *sup, const char *model,
                              uint32_t feat[FW_COUNT], uint32_t missing[FW_COUNT],
                              GError **errp)
{
    /* apic_id 1: the builder only warns about missing features for the BSP. */
    CpuidBuilder b = { .sup = sup, .apic_id = 1 };
    if (!x86_cpu_config_parse_expansion(model, &b.cfg, errp))
        return false;
    b.cfg.enforce = false;
    for (int w = 0; w < FW_COUNT; w++) {
        uint32_t want = b.cfg.model->host ? sup_word(sup, w) : b.cfg.model->features[w];
        if (b.cfg.model->host && b.cfg.migratable && w == FW_8000_0007_EDX)
            want &= ~(1u << 8);
        missing[w] = ((want | b.cfg.plus[w]) & ~b.cfg.minus[w]) & ~sup_word(sup, w);
    }
    if (!compute_features(&b, errp))
        return false;
    memcpy(feat, b.feat, sizeof(b.feat));
    return true;
}

/* ---- XSAVE leaf 0xD (SDM vol. 1 13.2) ------------------------------------------------ */

static uint64_t xsave_allowed(CpuidBuilder *b)
{
    uint64_t on = 0, off = 0;
    for (size_t i = 0; i < G_N_ELEMENTS(xsave_comps); i++)
        *(b->feat[xsave_comps[i].w] & xsave_comps[i].bit ? &on : &off) |= xsave_comps[i].comps;
    /* Components no feature name controls are kept for host, never offered by models. */
    return b->cfg.model->host ? ~off : (0x3 | on);
}

static void build_xsave(CpuidBuilder *b)
{
    if (!(b->feat[FW_1_ECX] & F1_ECX_XSAVE)) {
        cpuid_drop(b, 0xd);
        return;
    }
    const struct kvm_cpuid_entry2 *s0 = x86_cpuid_find(b->sup, 0xd, 0);
    uint64_t comps = (s0 ? s0->eax | (uint64_t)s0->edx << 32 : 0x3) & xsave_allowed(b);
    uint32_t size = 512 + 64;           /* legacy region + XSAVE header */
    for (unsigned i = 2; i < 64; i++) {
        const struct kvm_cpuid_entry2 *s = x86_cpuid_find(b->sup, 0xd, i);
        if (!(xsave_allowed(b) & (1ull << i)))
            cpuid_drop_index(b, 0xd, i);    /* a component whose feature is off */
        if (!(comps & (1ull << i)) || !s || !s->eax) {
            comps &= ~(1ull << i);
            continue;
        }
        copy_sup(b, 0xd, i);
        size = MAX(size, s->eax + s->ebx);
    }
    struct kvm_cpuid_entry2 *e = cpuid_ent(b, 0xd, 0);
    e->eax = (uint32_t)comps;
    e->edx = comps >> 32;
    if (!b->cfg.model->host) {
        e->ebx = 512 + 64;              /* size for XCR0 = x87|SSE; KVM updates it */
        e->ecx = size;
    }
}

/* ---- Named models ------------------------------------------------------------------ */

/* Stores @nregs * 4 bytes of @s, little-endian, into the registers listed in @order. */
static void put_bytes(struct kvm_cpuid_entry2 *e, const char *s, const int order[], int nregs)
{
    for (int r = 0; r < nregs; r++) {
        uint32_t v;
        memcpy(&v, s + 4 * r, 4);
        *cpuid_reg(e, order[r]) = GUINT32_FROM_LE(v);
    }
}

static void put_vendor(struct kvm_cpuid_entry2 *e, const char *vendor)
{
    static const int order[] = { R_EBX, R_EDX, R_ECX };
    char buf[13] = { 0 };
    g_strlcpy(buf, vendor, sizeof(buf));
    put_bytes(e, buf, order, 3);
}

static uint32_t signature(const X86Model *m)
{
    uint32_t eax = (m->stepping & 0xf) | (m->model & 0xf) << 4 | (m->model >> 4 & 0xf) << 16;
    if (m->family > 0xf)
        return eax | 0xf << 8 | (m->family - 0xf) << 20;
    return eax | m->family << 8;
}

static void put_brand(CpuidBuilder *b, const char *brand)
{
    static const int order[] = { R_EAX, R_EBX, R_ECX, R_EDX };
    char buf[49] = { 0 };
    g_strlcpy(buf, brand, sizeof(buf));
    for (int i = 0; i < 3; i++)
        put_bytes(cpuid_ent(b, 0x80000002 + i, 0), buf + 16 * i, order, 4);
}

/* Deterministic cache geometry for Intel-vendor models (QEMU's legacy caches):
 * L1d/L1i 32 KiB 8-way, L2 4 MiB 16-way, L3 16 MiB 16-way, 64-byte lines. */
static void build_leaf4(CpuidBuilder *b)
{
    static const struct { uint8_t type, level; uint32_t ways, sets, edx; } c[] = {
        { 1, 1, 8, 64, 1 }, { 2, 1, 8, 64, 1 }, { 3, 2, 16, 4096, 1 }, { 3, 3, 16, 16384, 6 },
    };
    for (unsigned i = 0; i < G_N_ELEMENTS(c); i++) {
        struct kvm_cpuid_entry2 *e = cpuid_ent(b, 4, i);
        e->eax = c[i].type | c[i].level << 5 | 1 << 8;    /* self-initializing */
        e->ebx = 63 | (c[i].ways - 1) << 22;              /* line 64, 1 partition */
        e->ecx = c[i].sets - 1;
        e->edx = c[i].edx;
    }
    struct kvm_cpuid_entry2 *l2 = cpuid_ent(b, 2, 0);
    l2->eax = 1;                        /* one iteration */
    l2->edx = 0xff;                     /* "use leaf 4" descriptor (SDM table 3-12) */
}

static unsigned host_phys_bits(CpuidBuilder *b)
{
    const struct kvm_cpuid_entry2 *s = x86_cpuid_find(b->sup, 0x80000008, 0);
    return s && (s->eax & 0xff) ? s->eax & 0xff : 36;
}

static unsigned phys_bits(CpuidBuilder *b)
{
    unsigned host = host_phys_bits(b);
    if (b->cfg.host_phys_bits)
        return host;
    if (b->cfg.phys_bits) {
        if (b->cfg.phys_bits > host && b->apic_id == 0)
            warn_report("-cpu %s: phys-bits=%u is more than the host's %u; using %u",
                        b->cfg.model->name, b->cfg.phys_bits, host, host);
        return MIN(b->cfg.phys_bits, host);
    }
    return b->cfg.model->host ? host : MIN(40u, host);  /* QEMU's default for models */
}

static void raise_levels(CpuidBuilder *b, uint32_t *level, uint32_t *xlevel)
{
    if (b->feat[FW_6_EAX])
        *level = MAX(*level, 6u);
    if (b->feat[FW_7_0_EBX] | b->feat[FW_7_0_ECX] | b->feat[FW_7_0_EDX] | b->feat[FW_7_1_EAX])
        *level = MAX(*level, 7u);
    if (b->feat[FW_1_ECX] & F1_ECX_XSAVE)
        *level = MAX(*level, 0xdu);
    if (b->topo.dies > 1)
        *level = MAX(*level, 0x1fu);
    if (b->feat[FW_8000_0007_EDX])
        *xlevel = MAX(*xlevel, 0x80000007u);
    if (b->feat[FW_8000_0008_EBX])
        *xlevel = MAX(*xlevel, 0x80000008u);
    if (b->feat[FW_8000_0001_ECX] & FE1_ECX_SVM)
        *xlevel = MAX(*xlevel, 0x8000000au);
    if (b->feat[FW_8000_0001_ECX] & FE1_ECX_TOPOEXT)
        *xlevel = MAX(*xlevel, 0x8000001eu);
}

static void build_model(CpuidBuilder *b)
{
    const X86Model *m = b->cfg.model;
    uint32_t level = m->level, xlevel = m->xlevel;
    raise_levels(b, &level, &xlevel);
    struct kvm_cpuid_entry2 *e = cpuid_ent(b, 0, 0);
    e->eax = level;
    put_vendor(e, m->vendor);
    cpuid_ent(b, 1, 0)->eax = signature(m);
    if (b->intel && level >= 4)
        build_leaf4(b);
    if (b->feat[FW_7_1_EAX])
        cpuid_ent(b, 7, 0)->eax = 1;    /* highest sub-leaf of leaf 7 */
    e = cpuid_ent(b, 0x80000000, 0);
    e->eax = xlevel;
    put_vendor(e, m->vendor);
    cpuid_ent(b, 0x80000001, 0)->eax = signature(m);
    if (xlevel >= 0x80000004)
        put_brand(b, m->desc);
    for (uint32_t fn = 0x80000005; fn <= MIN(xlevel, 0x80000006u); fn++)
        copy_sup(b, fn, 0);
    if (xlevel >= 0x80000008)
        cpuid_ent(b, 0x80000008, 0)->eax = 48 << 8 | phys_bits(b);
    if (b->feat[FW_8000_0001_ECX] & FE1_ECX_SVM) {
        e = cpuid_ent(b, 0x8000000a, 0);
        e->eax = 1;                     /* SVM revision */
        e->ebx = 16;                    /* ASIDs */
    }
    if (xlevel >= 0x8000001d)
        for (uint32_t i = 0; x86_cpuid_find(b->sup, 0x8000001d, i) && i < 8; i++)
            copy_sup(b, 0x8000001d, i);
}

/* ---- host / max ---------------------------------------------------------------------- */

static void build_host(CpuidBuilder *b)
{
    for (uint32_t i = 0; i < b->sup->nent; i++) {
        const struct kvm_cpuid_entry2 *s = &b->sup->entries[i];
        if ((s->function & 0xffffff00) != KVM_LEAF_BASE)
            g_array_append_val(b->e, *s);
    }
    uint32_t level = cpuid_ent(b, 0, 0)->eax;
    const struct kvm_cpuid_entry2 *x0 = cpuid_get(b, 0x80000000, 0);
    uint32_t xlevel = x0 ? x0->eax : 0;
    raise_levels(b, &level, &xlevel);
    cpuid_ent(b, 0, 0)->eax = level;
    if (xlevel)
        cpuid_ent(b, 0x80000000, 0)->eax = xlevel;
    struct kvm_cpuid_entry2 *e = cpuid_get(b, 0x80000008, 0);
    if (e && (b->cfg.phys_bits || b->cfg.host_phys_bits))
        e->eax = (e->eax & ~0xffu) | phys_bits(b);
    if (!(b->feat[FW_8000_0001_ECX] & FE1_ECX_SVM))
        cpuid_drop(b, 0x8000000a);
}

/* ---- KVM paravirtual leaves (Documentation/virt/kvm/x86/cpuid.rst) ------------------- */

static void build_kvm_leaves(CpuidBuilder *b)
{
    static const int order[] = { R_EBX, R_ECX, R_EDX };
    for (guint i = b->e->len; i-- > 0;)
        if ((g_array_index(b->e, struct kvm_cpuid_entry2, i).function & 0xffffff00) ==
            KVM_LEAF_BASE)
            g_array_remove_index(b->e, i);
    if (!b->cfg.kvm_leaves)
        return;
    struct kvm_cpuid_entry2 *e = cpuid_ent(b, KVM_LEAF_BASE, 0);
    e->eax = KVM_LEAF_BASE + 1;         /* highest KVM leaf */
    put_bytes(e, "KVMKVMKVM\0\0\0", order, 3);
    cpuid_ent(b, KVM_LEAF_BASE + 1, 0)->eax = b->feat[FW_KVM];
}

/* ---- Entry point ----------------------------------------------------------------------- */

static void detect_vendor(CpuidBuilder *b)
{
    const char *v = b->cfg.model->vendor;
    char buf[13] = { 0 };
    if (!v) {
        const struct kvm_cpuid_entry2 *e = x86_cpuid_find(b->sup, 0, 0);
        uint32_t r[3] = { e ? e->ebx : 0, e ? e->edx : 0, e ? e->ecx : 0 };
        memcpy(buf, r, 12);
        v = buf;
    }
    b->amd = !strcmp(v, "AuthenticAMD") || !strcmp(v, "HygonGenuine");
    b->intel = !strcmp(v, "GenuineIntel");
}

static gint cmp_entry(gconstpointer pa, gconstpointer pb)
{
    const struct kvm_cpuid_entry2 *a = pa, *b = pb;
    if (a->function != b->function)
        return a->function < b->function ? -1 : 1;
    return a->index < b->index ? -1 : a->index > b->index;
}

static struct kvm_cpuid2 *finish(CpuidBuilder *b)
{
    g_array_sort(b->e, cmp_entry);
    struct kvm_cpuid2 *c = g_malloc0(sizeof(*c) + b->e->len * sizeof(c->entries[0]));
    c->nent = b->e->len;
    memcpy(c->entries, b->e->data, b->e->len * sizeof(c->entries[0]));
    return c;
}

struct kvm_cpuid2 *x86_cpuid_build(const struct kvm_cpuid2 *supported, const char *model,
                                   const X86Topology *t, unsigned cpu_index, GError **errp)
{
    CpuidBuilder b = { .sup = supported };
    if (!x86_cpu_config_parse(model, &b.cfg, errp))
        return NULL;
    if (!supported || !supported->nent) {
        g_set_error(errp, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED,
                    "-cpu %s: KVM reported no supported CPUID leaves", b.cfg.model->name);
        return NULL;
    }
    x86_topo_info(t, cpu_index, &b.topo);
    b.apic_id = x86_apic_id(t, cpu_index);
    detect_vendor(&b);
    if (!compute_features(&b, errp))
        return NULL;
    b.e = g_array_new(FALSE, TRUE, sizeof(struct kvm_cpuid_entry2));
    if (b.cfg.model->host)
        build_host(&b);
    else
        build_model(&b);
    build_xsave(&b);
    apply_features(&b);
    cpuid_topology(&b);
    build_kvm_leaves(&b);
    struct kvm_cpuid2 *c = finish(&b);
    g_array_unref(b.e);
    return c;
}
