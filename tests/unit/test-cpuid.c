/*
 * CPUID policy on canned KVM_GET_SUPPORTED_CPUID tables: models, +/-feat, topology
 * leaves, APIC ids, KVM leaves, errors.
 */
#include "vireo/cpu.h"
#include <string.h>

#define B(n) (1u << (n))
#define IDX KVM_CPUID_FLAG_SIGNIFCANT_INDEX
/* "AuthenticAMD" / "GenuineIntel" as EBX, ECX, EDX. */
#define AMD_VENDOR .ebx = 0x68747541, .ecx = 0x444d4163, .edx = 0x69746e65
#define INTEL_VENDOR .ebx = 0x756e6547, .ecx = 0x6c65746e, .edx = 0x49656e69
#define KVM_SIG .ebx = 0x4b4d564b, .ecx = 0x564b4d56, .edx = 0x4d
/* KVM 6.1 paravirtual features: clocksource(0) nopiodelay(1) clocksource2(3)
 * async_pf(4) steal(5) pv_eoi(6) unhalt(7) tlb(9) apf_vmexit(10) ipi(11) poll(12)
 * yield(13) apf_int(14) stable(24). */
#define KVM_SUP (B(0) | B(1) | B(3) | B(4) | B(5) | B(6) | B(7) | B(9) | B(10) | B(11) | \
                 B(12) | B(13) | B(14) | B(24))
/* QEMU's qemu64 features. */
#define QEMU64_EDX 0x078bfbfdu   /* fpu de pse tsc msr pae mce cx8 apic sep mtrr pge mca
                                    cmov pat pse36 clflush mmx fxsr sse sse2 */
#define SSE3 B(0)
#define SSSE3 B(9)
#define CX16 B(13)
#define X2APIC B(21)
#define XSAVE B(26)
#define AVX B(28)
#define HYPERVISOR B(31)
#define SVM B(2)

typedef struct { struct kvm_cpuid2 h; struct kvm_cpuid_entry2 e[40]; } Table;

/* An AMD EPYC-like host with nested SVM. */
static const struct kvm_cpuid_entry2 amd_entries[] = {
    { .function = 0, .eax = 0xd, AMD_VENDOR },
    { .function = 1, .eax = 0x00830f10, .ebx = 0x12345678,
      .ecx = SSE3 | B(1) | SSSE3 | B(12) | CX16 | B(19) | B(20) | X2APIC | B(22) | B(23) |
             B(25) | XSAVE | AVX | B(29) | B(30),
      .edx = 0x078bfbff },
    { .function = 7, .index = 0, .flags = IDX, .ebx = B(0) | B(3) | B(5) | B(7) | B(8) },
    { .function = 0xd, .index = 0, .flags = IDX, .eax = 7, .ebx = 0x240, .ecx = 0x340 },
    { .function = 0xd, .index = 1, .flags = IDX, .eax = 0xf },
    { .function = 0xd, .index = 2, .flags = IDX, .eax = 0x100, .ebx = 0x240 },
    { .function = 0x40000000, .eax = 0x40000001, KVM_SIG },
    { .function = 0x40000001, .eax = KVM_SUP },
    { .function = 0x80000000, .eax = 0x8000001e, AMD_VENDOR },
    { .function = 0x80000001, .eax = 0x00830f10,
      .ecx = B(0) | B(1) | SVM | B(3) | B(4) | B(5) | B(6) | B(7) | B(8) | B(9) | B(22),
      .edx = 0x2fd3fbff },
    { .function = 0x80000005, .ecx = 0x20080140, .edx = 0x20080140 },
    { .function = 0x80000006, .ecx = 0x02006140 },
    { .function = 0x80000007, .edx = B(8) },
    { .function = 0x80000008, .eax = 0x3030, .ebx = B(12), .ecx = 0x1700f },
    { .function = 0x8000000a, .eax = 1, .ebx = 0x8000, .edx = B(0) | B(3) },
    { .function = 0x8000001d, .index = 0, .flags = IDX, .eax = 0x00004121, .ecx = 0x3f },
    { .function = 0x8000001d, .index = 1, .flags = IDX, .eax = 0x00004122, .ecx = 0x3f },
    { .function = 0x8000001d, .index = 2, .flags = IDX, .eax = 0x00004143, .ecx = 0x3ff },
    { .function = 0x8000001d, .index = 3, .flags = IDX, .eax = 0x0003c163, .ecx = 0x3fff },
    { .function = 0x8000001e, .eax = 0x22, .ebx = 0x105, .ecx = 0x3 },
};

/* An Intel Skylake-like host (no SVM, 39 physical address bits). */
static const struct kvm_cpuid_entry2 intel_entries[] = {
    { .function = 0, .eax = 0x16, INTEL_VENDOR },
    { .function = 1, .eax = 0x000906ea, .ebx = 0x0c100800,
      .ecx = SSE3 | B(1) | SSSE3 | B(12) | CX16 | B(17) | B(19) | B(20) | X2APIC | B(22) |
             B(23) | B(25) | XSAVE | AVX | B(29) | B(30),
      .edx = 0x078bfbff },
    { .function = 2, .eax = 0x00feff01, .edx = 0x00c30000 },
    { .function = 4, .index = 0, .flags = IDX, .eax = 0x1c004121, .ebx = 0x01c0003f, .ecx = 0x3f },
    { .function = 4, .index = 1, .flags = IDX, .eax = 0x1c004122, .ebx = 0x01c0003f, .ecx = 0x3f },
    { .function = 4, .index = 2, .flags = IDX, .eax = 0x1c004143, .ebx = 0x00c0003f, .ecx = 0x3ff },
    { .function = 4, .index = 3, .flags = IDX, .eax = 0x1c03c163, .ebx = 0x02c0003f, .ecx = 0x2fff,
      .edx = 6 },
    { .function = 4, .index = 4, .flags = IDX },
    { .function = 7, .index = 0, .flags = IDX, .ebx = B(0) | B(3) | B(5) | B(7) | B(8) | B(9),
      .edx = B(10) | B(26) | B(27) | B(29) | B(31) },
    { .function = 0xb, .index = 0, .flags = IDX, .eax = 1, .ebx = 2, .ecx = 0x100 },
    { .function = 0xb, .index = 1, .flags = IDX, .eax = 4, .ebx = 8, .ecx = 0x201 },
    { .function = 0xd, .index = 0, .flags = IDX, .eax = 7, .ebx = 0x240, .ecx = 0x340 },
    { .function = 0xd, .index = 1, .flags = IDX, .eax = 0xf },
    { .function = 0xd, .index = 2, .flags = IDX, .eax = 0x100, .ebx = 0x240 },
    { .function = 0x40000000, .eax = 0x40000001, KVM_SIG },
    { .function = 0x40000001, .eax = KVM_SUP },
    { .function = 0x80000000, .eax = 0x80000008 },
    { .function = 0x80000001, .ecx = 0x121, .edx = 0x2c100800 },
    { .function = 0x80000006, .ecx = 0x01006040 },
    { .function = 0x80000008, .eax = 0x3027 },
};

static void load(Table *t, const struct kvm_cpuid_entry2 *e, size_t n)
{
    memset(t, 0, sizeof(*t));
    g_assert_cmpuint(n, <=, G_N_ELEMENTS(t->e));
    t->h.nent = n;
    memcpy(t->e, e, n * sizeof(*e));
}

static Table amd, intel;

static struct kvm_cpuid2 *build(const Table *t, const char *model, unsigned sockets,
                                unsigned dies, unsigned cores, unsigned threads, unsigned cpu)
{
    X86Topology topo = { sockets, dies, cores, threads };
    GError *err = NULL;
    struct kvm_cpuid2 *c = x86_cpuid_build(&t->h, model, &topo, cpu, &err);
    g_assert_no_error(err);
    g_assert_nonnull(c);
    return c;
}

static const struct kvm_cpuid_entry2 *get(const struct kvm_cpuid2 *c, uint32_t fn, uint32_t i)
{
    const struct kvm_cpuid_entry2 *e = x86_cpuid_find(c, fn, i);
    if (!e)
        g_error("CPUID leaf %#x.%u missing", fn, i);
    return e;
}

static void test_apic_id(void)
{
    X86Topology t = { 1, 1, 2, 1 };
    g_assert_cmpuint(x86_apic_id(&t, 0), ==, 0);
    g_assert_cmpuint(x86_apic_id(&t, 1), ==, 1);
    /* 3 cores -> 2 bits, 2 threads -> 1 bit: socket field starts at bit 3. */
    X86Topology u = { 2, 1, 3, 2 };
    g_assert_cmpuint(x86_apic_id(&u, 5), ==, (2 << 1) | 1);
    g_assert_cmpuint(x86_apic_id(&u, 6), ==, 1 << 3);
    g_assert_cmpuint(x86_apic_id(&u, 11), ==, 1 << 3 | 2 << 1 | 1);
    /* Dies: 2 sockets x 2 dies x 2 cores x 1 thread: core bit 0, die bit 1, socket bit 2. */
    X86Topology d = { 2, 2, 2, 1 };
    g_assert_cmpuint(x86_apic_id(&d, 3), ==, 3);
    g_assert_cmpuint(x86_apic_id(&d, 5), ==, 5);
    /* Zero counts are ones. */
    X86Topology z = { 0, 0, 0, 0 };
    g_assert_cmpuint(x86_apic_id(&z, 3), ==, 3);
}

/* -smp 2,sockets=1,cores=2 with -cpu host on the AMD host, second vCPU. */
static void test_smp2_host_amd(void)
{
    g_autofree struct kvm_cpuid2 *c = build(&amd, "host", 1, 1, 2, 1, 1);
    const struct kvm_cpuid_entry2 *e = get(c, 1, 0);
    g_assert_cmphex(e->ebx, ==, 1 << 24 | 2 << 16 | 8 << 8);
    g_assert_true(e->edx & B(28));                 /* HTT */
    g_assert_true(e->ecx & HYPERVISOR);
    g_assert_true(e->ecx & B(24));                 /* tsc-deadline, emulated by KVM */
    g_assert_cmphex(e->eax, ==, 0x00830f10);       /* host signature kept */
    e = get(c, 0xb, 0);
    g_assert_cmphex(e->eax, ==, 0);
    g_assert_cmphex(e->ebx, ==, 1);
    g_assert_cmphex(e->ecx, ==, 0x100);
    g_assert_cmphex(e->edx, ==, 1);
    e = get(c, 0xb, 1);
    g_assert_cmphex(e->eax, ==, 1);
    g_assert_cmphex(e->ebx, ==, 2);
    g_assert_cmphex(e->ecx, ==, 0x201);
    e = get(c, 0xb, 2);
    g_assert_cmphex(e->ecx, ==, 2);
    g_assert_cmphex(e->ebx, ==, 0);
    g_assert_cmphex(get(c, 0x80000008, 0)->ecx, ==, 0x10000 | 1 << 12 | 1);  /* NC=1 */
    g_assert_true(get(c, 0x80000001, 0)->ecx & B(1));                     /* CmpLegacy */
    g_assert_true(get(c, 0x80000001, 0)->ecx & SVM);
    e = get(c, 0x8000001e, 0);
    g_assert_cmphex(e->eax, ==, 1);
    g_assert_cmphex(e->ebx, ==, 1);                /* core 1, one thread per core */
    g_assert_cmphex(e->ecx, ==, 0);
    g_assert_cmphex(get(c, 0x8000001d, 0)->eax >> 14 & 0xfff, ==, 0);   /* L1 per thread */
    g_assert_cmphex(get(c, 0x8000001d, 3)->eax >> 14 & 0xfff, ==, 1);   /* L3 both cores */
    g_assert_null(x86_cpuid_find(c, 4, 0));        /* no Intel leaf 4 on AMD */
    g_assert_cmphex(get(c, 0xd, 0)->eax, ==, 7);   /* XSAVE leaf passed through */
    g_assert_cmphex(get(c, 0x8000000a, 0)->edx, ==, B(0) | B(3));
}

static void test_single_cpu(void)
{
    g_autofree struct kvm_cpuid2 *c = build(&amd, "host", 1, 1, 1, 1, 0);
    const struct kvm_cpuid_entry2 *e = get(c, 1, 0);
    g_assert_cmphex(e->ebx, ==, 8 << 8);
    g_assert_false(e->edx & B(28));
    g_assert_false(get(c, 0x80000001, 0)->ecx & B(1));
    g_assert_cmphex(get(c, 0x80000008, 0)->ecx, ==, 0x10000);
}

static void test_kvm_leaves(void)
{
    g_autofree struct kvm_cpuid2 *c = build(&amd, "host", 1, 1, 1, 1, 0);
    const struct kvm_cpuid_entry2 *e = get(c, 0x40000000, 0);
    char sig[13] = { 0 };
    memcpy(sig, &e->ebx, 4);
    memcpy(sig + 4, &e->ecx, 4);
    memcpy(sig + 8, &e->edx, 4);
    g_assert_cmpstr(sig, ==, "KVMKVMKVM");
    g_assert_cmphex(e->eax, ==, 0x40000001);
    g_assert_cmphex(get(c, 0x40000001, 0)->eax, ==, KVM_SUP);

    g_autofree struct kvm_cpuid2 *q = build(&amd, "qemu64", 1, 1, 1, 1, 0);
    g_assert_cmphex(get(q, 0x40000001, 0)->eax, ==,
                    B(0) | B(1) | B(3) | B(4) | B(5) | B(6) | B(14) | B(24));

    g_autofree struct kvm_cpuid2 *n = build(&amd, "host,-kvmclock,kvm-pv-unhalt=off", 1, 1, 1, 1, 0);
    g_assert_cmphex(get(n, 0x40000001, 0)->eax, ==, KVM_SUP & ~(B(0) | B(3) | B(7)));

    g_autofree struct kvm_cpuid2 *off = build(&amd, "host,kvm=off", 1, 1, 1, 1, 0);
    g_assert_null(x86_cpuid_find(off, 0x40000000, 0));
    g_assert_null(x86_cpuid_find(off, 0x40000001, 0));
}

/* qemu64 hides what the (Intel) host has beyond QEMU's definition. */
static void test_qemu64_masks_host(void)
{
    g_autofree struct kvm_cpuid2 *c = build(&intel, "qemu64", 1, 1, 1, 1, 0);
    const struct kvm_cpuid_entry2 *e = get(c, 0, 0);
    g_assert_cmphex(e->eax, ==, 0xd);
    g_assert_cmphex(e->ebx, ==, 0x68747541);       /* AuthenticAMD */
    e = get(c, 1, 0);
    g_assert_cmphex(e->eax, ==, 0x663);
    g_assert_cmphex(e->ecx, ==, SSE3 | CX16 | X2APIC | HYPERVISOR);
    g_assert_cmphex(e->edx, ==, QEMU64_EDX);
    g_assert_null(x86_cpuid_find(c, 7, 0));
    g_assert_null(x86_cpuid_find(c, 0xd, 0));
    g_assert_null(x86_cpuid_find(c, 4, 0));
    g_assert_null(x86_cpuid_find(c, 2, 0));
    e = get(c, 0x80000001, 0);
    g_assert_cmphex(e->eax, ==, 0x663);
    g_assert_cmphex(e->ecx, ==, B(0));             /* lahf-lm; svm off under KVM */
    g_assert_cmphex(e->edx, ==, (QEMU64_EDX & 0x0183f3ff) | B(11) | B(20) | B(29));
    g_assert_cmphex(get(c, 0x80000000, 0)->eax, ==, 0x8000000a);
    g_assert_cmphex(get(c, 0x80000008, 0)->eax, ==, 48 << 8 | 39);   /* min(40, host) */
    g_assert_null(x86_cpuid_find(c, 0x8000000a, 0));
    g_assert_cmphex(get(c, 0xb, 1)->ecx, ==, 0x201);  /* level 0xd covers 0xB */
    char brand[49] = { 0 };
    for (int i = 0; i < 3; i++)
        memcpy(brand + 16 * i, &get(c, 0x80000002 + i, 0)->eax, 16);
    g_assert_cmpstr(brand, ==, "QEMU Virtual CPU version 2.5+");
}

static void test_plus_minus(void)
{
    g_autofree struct kvm_cpuid2 *a = build(&amd, "host,-svm,+x2apic", 1, 1, 1, 1, 0);
    g_assert_false(get(a, 0x80000001, 0)->ecx & SVM);
    g_assert_null(x86_cpuid_find(a, 0x8000000a, 0));
    g_assert_true(get(a, 1, 0)->ecx & X2APIC);

    g_autofree struct kvm_cpuid2 *b = build(&intel, "qemu64,+ssse3", 1, 1, 1, 1, 0);
    g_assert_true(get(b, 1, 0)->ecx & SSSE3);

    g_autofree struct kvm_cpuid2 *c = build(&intel, "qemu64,ssse3=on,-sse3,lahf_lm=off",
                                            1, 1, 1, 1, 0);
    g_assert_cmphex(get(c, 1, 0)->ecx & (SSE3 | SSSE3), ==, SSSE3);
    g_assert_false(get(c, 0x80000001, 0)->ecx & B(0));

    /* The last mention wins. */
    g_autofree struct kvm_cpuid2 *d = build(&intel, "qemu64,-cx16,+cx16", 1, 1, 1, 1, 0);
    g_assert_true(get(d, 1, 0)->ecx & CX16);

    /* SVM can be turned back on for nested guests where the host offers it. */
    g_autofree struct kvm_cpuid2 *e = build(&amd, "qemu64,+svm,+npt", 1, 1, 1, 1, 0);
    g_assert_true(get(e, 0x80000001, 0)->ecx & SVM);
    g_assert_cmphex(get(e, 0x8000000a, 0)->edx, ==, B(0));
    g_assert_cmphex(get(e, 0x8000000a, 0)->ebx, ==, 16);
}

static void test_xsave_model(void)
{
    g_autofree struct kvm_cpuid2 *c = build(&intel, "qemu64,+xsave,+avx,+xsaveopt", 1, 1, 1, 1, 0);
    const struct kvm_cpuid_entry2 *e = get(c, 0xd, 0);
    g_assert_cmphex(e->eax, ==, 7);
    g_assert_cmphex(e->ecx, ==, 0x340);
    g_assert_cmphex(get(c, 0xd, 1)->eax, ==, 1);
    g_assert_cmphex(get(c, 0xd, 2)->eax, ==, 0x100);
    g_assert_true(get(c, 1, 0)->ecx & AVX);

    g_autofree struct kvm_cpuid2 *s = build(&intel, "qemu64,+xsave", 1, 1, 1, 1, 0);
    g_assert_cmphex(get(s, 0xd, 0)->eax, ==, 3);
    g_assert_cmphex(get(s, 0xd, 0)->ecx, ==, 0x240);
    g_assert_null(x86_cpuid_find(s, 0xd, 2));

    /* AVX without XSAVE cannot work and is dropped. */
    g_autofree struct kvm_cpuid2 *n = build(&intel, "qemu64,+avx", 1, 1, 1, 1, 0);
    g_assert_false(get(n, 1, 0)->ecx & AVX);
    g_assert_null(x86_cpuid_find(n, 0xd, 0));

    g_autofree struct kvm_cpuid2 *h = build(&intel, "host,-avx", 1, 1, 1, 1, 0);
    g_assert_cmphex(get(h, 0xd, 0)->eax, ==, 3);
    g_assert_null(x86_cpuid_find(h, 0xd, 2));
}

static void test_unknown_model(void)
{
    X86Topology t = { 1, 1, 1, 1 };
    GError *err = NULL;
    g_assert_null(x86_cpuid_build(&amd.h, "pentium9,+sse3", &t, 0, &err));
    g_assert_nonnull(err);
    g_assert_nonnull(strstr(err->message, "'pentium9'"));
    g_assert_nonnull(strstr(err->message, "qemu64"));
    g_assert_nonnull(strstr(err->message, "host"));
    g_clear_error(&err);
    g_assert_null(x86_cpuid_build(NULL, "host", &t, 0, &err));
    g_assert_nonnull(err);
    g_clear_error(&err);
}

static void test_unknown_feature(void)
{
    static const char *const bad[][2] = {
        { "host,+frobnicate", "'frobnicate'" },
        { "qemu64,-nosuchflag", "'nosuchflag'" },
        { "qemu64,nosuchprop=on", "'nosuchprop'" },
        { "qemu64,sse3=maybe", "sse3=maybe" },
        { "qemu64,phys-bits=abc", "phys-bits" },
    };
    X86Topology t = { 1, 1, 1, 1 };
    for (size_t i = 0; i < G_N_ELEMENTS(bad); i++) {
        GError *err = NULL;
        g_assert_null(x86_cpuid_build(&amd.h, bad[i][0], &t, 0, &err));
        g_assert_nonnull(err);
        if (!strstr(err->message, bad[i][1]))
            g_error("'%s': message '%s' lacks %s", bad[i][0], err->message, bad[i][1]);
        g_clear_error(&err);
    }
}

static void collect_on(const char *name, bool on, void *opaque)
{
    if (on)
        g_string_append_printf(opaque, "%s ", name);
}

static void collect_prop(const char *name, bool on, void *opaque)
{
    g_string_append_printf(opaque, ",%s=%s", name, on ? "on" : "off");
}

/* query-cpu-model-expansion's static answer is "base" plus every feature; libvirt expands
 * that again (type full): "base" is an expansion model with no features of its own, so
 * the round trip gives the same features. It is no -cpu model. */
static void test_base_model(void)
{
    g_autoptr(GString) on = g_string_new(NULL);
    GError *err = NULL;
    g_assert_true(x86_cpu_expand(&amd.h, "base,fpu=on,sse=on,lm=on,kvm-pv-eoi=on,"
                                 "avx512f=on", collect_on, NULL, on, &err));
    g_assert_no_error(err);
    g_assert_cmpstr(on->str, ==, "fpu sse lm kvm-pv-eoi ");   /* no avx512f on this host */

    g_autoptr(GString) host = g_string_new("base"), host_on = g_string_new(NULL);
    g_autoptr(GString) again = g_string_new(NULL);
    g_assert_true(x86_cpu_expand(&amd.h, "host", collect_prop, NULL, host, &err));
    g_assert_true(x86_cpu_expand(&amd.h, "host", collect_on, NULL, host_on, &err));
    g_assert_true(x86_cpu_expand(&amd.h, host->str, collect_on, NULL, again, &err));
    g_assert_no_error(err);
    g_assert_cmpstr(again->str, ==, host_on->str);
    g_assert_nonnull(strstr(again->str, "svm "));

    X86Topology t = { 1, 1, 1, 1 };
    g_assert_null(x86_cpuid_build(&amd.h, "base,fpu=on", &t, 0, &err));
    g_assert_nonnull(strstr(err->message, "unknown CPU model 'base'"));
    g_clear_error(&err);
}

static GString *printed;

static void capture_printerr(const gchar *s)
{
    g_string_append(printed, s);
}

/* Dropped features are a warning as QEMU's warn_report gives: a "vireo: warning:" line
 * on stderr, not a GLib warning (which aborts GLib test programs, e.g. test-cpu-kvm on a
 * host KVM without SSE3 for qemu64), and only once per VM. */
static void test_unsupported_feature(void)
{
    printed = g_string_new(NULL);
    GPrintFunc old = g_set_printerr_handler(capture_printerr);
    g_autofree struct kvm_cpuid2 *c = build(&amd, "qemu64,+xsave,+avx512f", 1, 1, 1, 1, 0);
    g_assert_cmpstr(printed->str, ==, "vireo: warning: -cpu qemu64: KVM does not support, "
                    "dropped: CPUID.07H.0:EBX.avx512f [bit 16]\n");
    g_assert_null(x86_cpuid_find(c, 7, 0));    /* avx512f was all leaf 7 had */

    /* Not repeated for the other vCPUs. */
    g_string_truncate(printed, 0);
    g_autofree struct kvm_cpuid2 *d = build(&amd, "qemu64,+xsave,+avx512f", 1, 1, 2, 1, 1);
    g_assert_nonnull(d);
    g_assert_cmpstr(printed->str, ==, "");
    g_set_printerr_handler(old);
    g_string_free(printed, TRUE);

    X86Topology t = { 1, 1, 1, 1 };
    GError *err = NULL;
    g_assert_null(x86_cpuid_build(&amd.h, "qemu64,+avx512f,+pku,enforce", &t, 0, &err));
    g_assert_nonnull(err);
    g_assert_nonnull(strstr(err->message, "avx512f"));
    g_assert_nonnull(strstr(err->message, "pku"));
    g_clear_error(&err);
}

/* Intel cache leaf 4 and topology: kvm64, 1 socket, 4 cores, 2 threads. */
static void test_intel_leaf4(void)
{
    g_autofree struct kvm_cpuid2 *c = build(&amd, "kvm64", 1, 1, 4, 2, 3);
    const struct kvm_cpuid_entry2 *e = get(c, 4, 0);
    g_assert_cmphex(e->eax & 0x3fff, ==, 0x121);       /* L1d, self-initializing */
    g_assert_cmpuint(e->eax >> 26, ==, 3);              /* 4 core ids */
    g_assert_cmpuint(e->eax >> 14 & 0xfff, ==, 1);      /* 2 threads share L1 */
    e = get(c, 4, 3);
    g_assert_cmphex(e->eax & 0x3fff, ==, 0x163);        /* L3 unified */
    g_assert_cmpuint(e->eax >> 14 & 0xfff, ==, 7);
    g_assert_cmphex(e->ecx, ==, 16383);
    g_assert_cmphex(get(c, 2, 0)->edx, ==, 0xff);
    e = get(c, 1, 0);
    g_assert_cmphex(e->ebx >> 24, ==, 3);               /* core 1 thread 1 */
    g_assert_cmphex(e->ebx >> 16 & 0xff, ==, 8);
    g_assert_cmphex(e->eax, ==, 0xf61);
    g_assert_cmphex(get(c, 0, 0)->ebx, ==, 0x756e6547);  /* GenuineIntel */
    g_assert_false(get(c, 0x80000001, 0)->ecx & B(1));   /* no CmpLegacy on Intel */
    g_assert_cmphex(get(c, 0xb, 0)->ebx, ==, 2);
    g_assert_cmphex(get(c, 0xb, 1)->eax, ==, 3);
    g_assert_cmphex(get(c, 0xb, 1)->ebx, ==, 8);
    g_assert_null(x86_cpuid_find(c, 0x8000001e, 0));

    /* The host's own leaf 4 keeps its geometry and gets our topology. */
    g_autofree struct kvm_cpuid2 *h = build(&intel, "host", 1, 1, 2, 1, 0);
    e = get(h, 4, 2);
    g_assert_cmphex(e->eax & 0x3fff, ==, 0x143);
    g_assert_cmpuint(e->eax >> 26, ==, 1);
    g_assert_cmpuint(e->eax >> 14 & 0xfff, ==, 0);
    g_assert_cmphex(e->ecx, ==, 0x3ff);
    g_assert_cmphex(get(h, 4, 3)->eax >> 14 & 0xfff, ==, 1);
}

static void test_dies(void)
{
    /* 1 socket, 2 dies, 2 cores, 2 threads; vCPU 6 = die 1 core 1 thread 0. */
    g_autofree struct kvm_cpuid2 *c = build(&intel, "host", 1, 2, 2, 2, 6);
    g_assert_cmphex(get(c, 0, 0)->eax, ==, 0x1f);
    const struct kvm_cpuid_entry2 *e = get(c, 0x1f, 2);
    g_assert_cmphex(e->ecx, ==, 5 << 8 | 2);
    g_assert_cmphex(e->eax, ==, 3);
    g_assert_cmphex(e->ebx, ==, 8);
    g_assert_cmphex(e->edx, ==, 6);
    g_assert_cmphex(get(c, 0x1f, 1)->eax, ==, 2);
    g_assert_cmphex(get(c, 0x1f, 1)->ebx, ==, 4);
    g_assert_cmphex(get(c, 0x1f, 3)->ecx, ==, 3);

    g_autofree struct kvm_cpuid2 *one = build(&intel, "host", 2, 1, 2, 2, 0);
    g_assert_null(x86_cpuid_find(one, 0x1f, 0));

    /* AMD: node id from the die. */
    g_autofree struct kvm_cpuid2 *a = build(&amd, "host", 2, 2, 2, 1, 7);
    e = get(a, 0x8000001e, 0);
    g_assert_cmphex(e->ecx, ==, 1 << 8 | 3);            /* socket 1 die 1 -> node 3 */
    g_assert_cmphex(e->ebx & 0xff, ==, 3);              /* core 3 of the socket */
}

static void test_qemu32_and_options(void)
{
    g_autofree struct kvm_cpuid2 *c = build(&intel, "qemu32", 1, 1, 2, 1, 0);
    g_assert_cmphex(get(c, 0, 0)->eax, ==, 4);
    g_assert_null(x86_cpuid_find(c, 0xb, 0));
    g_assert_cmphex(get(c, 0x80000000, 0)->eax, ==, 0x80000004);
    g_assert_null(x86_cpuid_find(c, 0x80000008, 0));
    g_assert_cmpuint(get(c, 4, 0)->eax >> 26, ==, 1);

    g_autofree struct kvm_cpuid2 *p = build(&amd, "qemu64,phys-bits=36", 1, 1, 1, 1, 0);
    g_assert_cmphex(get(p, 0x80000008, 0)->eax, ==, 48 << 8 | 36);
    g_autofree struct kvm_cpuid2 *h = build(&amd, "qemu64,host-phys-bits=on", 1, 1, 1, 1, 0);
    g_assert_cmphex(get(h, 0x80000008, 0)->eax, ==, 48 << 8 | 48);
    g_autofree struct kvm_cpuid2 *d = build(&amd, NULL, 1, 1, 1, 1, 0);
    g_assert_cmphex(get(d, 1, 0)->eax, ==, 0x663);
    g_autofree struct kvm_cpuid2 *m = build(&amd, "max", 1, 1, 1, 1, 0);
    g_assert_cmphex(get(m, 1, 0)->eax, ==, 0x00830f10);
}

/* Every model yields a sorted table without duplicates; indexed leaves carry the
 * KVM flag so KVM matches the sub-leaf. */
static void test_table_shape(void)
{
    static const char *const models[] = { "host", "max", "qemu64", "kvm64", "qemu32" };
    const Table *tables[] = { &amd, &intel };
    for (size_t m = 0; m < G_N_ELEMENTS(models); m++) {
        for (size_t t = 0; t < 2; t++) {
            g_autofree struct kvm_cpuid2 *c = build(tables[t], models[m], 2, 1, 2, 2, 5);
            for (uint32_t i = 0; i < c->nent; i++) {
                const struct kvm_cpuid_entry2 *e = &c->entries[i];
                bool idx = e->function == 4 || e->function == 7 || e->function == 0xb ||
                           e->function == 0xd || e->function == 0x8000001d;
                if (idx)
                    g_assert_true(e->flags & IDX);
                if (i == 0)
                    continue;
                const struct kvm_cpuid_entry2 *p = &c->entries[i - 1];
                g_assert_true(p->function < e->function ||
                              (p->function == e->function && p->index < e->index));
            }
            g_assert_cmphex(get(c, 1, 0)->ebx >> 24, ==, 5);
        }
    }
}

static void test_cpu_list(void)
{
    g_autoptr(GString) s = g_string_new(NULL);
    x86_cpu_list(s);
    g_assert_nonnull(strstr(s->str, "x86 qemu64 "));
    g_assert_nonnull(strstr(s->str, "x86 host "));
    g_assert_nonnull(strstr(s->str, "Recognized CPUID flags:"));
    g_assert_nonnull(strstr(s->str, " ssse3 "));
    g_assert_nonnull(strstr(s->str, "kvmclock"));
    g_auto(GStrv) lines = g_strsplit(s->str, "\n", -1);
    for (int i = 0; lines[i]; i++)
        g_assert_cmpuint(strlen(lines[i]), <=, 100);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    load(&amd, amd_entries, G_N_ELEMENTS(amd_entries));
    load(&intel, intel_entries, G_N_ELEMENTS(intel_entries));
    g_test_add_func("/cpuid/apic-id", test_apic_id);
    g_test_add_func("/cpuid/smp2-host-amd", test_smp2_host_amd);
    g_test_add_func("/cpuid/single-cpu", test_single_cpu);
    g_test_add_func("/cpuid/kvm-leaves", test_kvm_leaves);
    g_test_add_func("/cpuid/qemu64-masks-host", test_qemu64_masks_host);
    g_test_add_func("/cpuid/plus-minus", test_plus_minus);
    g_test_add_func("/cpuid/xsave-model", test_xsave_model);
    g_test_add_func("/cpuid/unknown-model", test_unknown_model);
    g_test_add_func("/cpuid/unknown-feature", test_unknown_feature);
    g_test_add_func("/cpuid/unsupported-feature", test_unsupported_feature);
    g_test_add_func("/cpuid/base-model", test_base_model);
    g_test_add_func("/cpuid/intel-leaf4", test_intel_leaf4);
    g_test_add_func("/cpuid/dies", test_dies);
    g_test_add_func("/cpuid/qemu32-options", test_qemu32_and_options);
    g_test_add_func("/cpuid/table-shape", test_table_shape);
    g_test_add_func("/cpuid/cpu-list", test_cpu_list);
    return g_test_run();
}
