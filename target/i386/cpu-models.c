/*
 * CPU models, feature names and the -cpu string parser.
 *
 * Bit positions: Intel SDM vol. 2A "CPUID", AMD APM vol. 3 appendix E, and the KVM
 * paravirtual features of Documentation/virt/kvm/x86/cpuid.rst. Names follow QEMU's
 * so the same -cpu strings work. Named models are QEMU's definitions as QEMU applies
 * them under KVM (x2apic and the hypervisor bit on, svm off, the default kvmclock /
 * async-PF / steal-time / PV-EOI set).
 */
#include "vireo/option.h"
#include "vireo/qom.h"
#include "cpu-int.h"
#include "vireo/error.h"
#include <string.h>

const FeatWordInfo x86_feat_words[FW_COUNT] = {
    [FW_1_EDX]         = { 0x1, 0, R_EDX, "CPUID.01H:EDX" },
    [FW_1_ECX]         = { 0x1, 0, R_ECX, "CPUID.01H:ECX" },
    [FW_6_EAX]         = { 0x6, 0, R_EAX, "CPUID.06H:EAX" },
    [FW_7_0_EBX]       = { 0x7, 0, R_EBX, "CPUID.07H.0:EBX" },
    [FW_7_0_ECX]       = { 0x7, 0, R_ECX, "CPUID.07H.0:ECX" },
    [FW_7_0_EDX]       = { 0x7, 0, R_EDX, "CPUID.07H.0:EDX" },
    [FW_7_1_EAX]       = { 0x7, 1, R_EAX, "CPUID.07H.1:EAX" },
    [FW_D_1_EAX]       = { 0xd, 1, R_EAX, "CPUID.0DH.1:EAX" },
    [FW_8000_0001_EDX] = { 0x80000001, 0, R_EDX, "CPUID.80000001H:EDX" },
    [FW_8000_0001_ECX] = { 0x80000001, 0, R_ECX, "CPUID.80000001H:ECX" },
    [FW_8000_0007_EDX] = { 0x80000007, 0, R_EDX, "CPUID.80000007H:EDX" },
    [FW_8000_0008_EBX] = { 0x80000008, 0, R_EBX, "CPUID.80000008H:EBX" },
    [FW_8000_000A_EDX] = { 0x8000000a, 0, R_EDX, "CPUID.8000000AH:EDX" },
    [FW_KVM]           = { 0x40000001, 0, R_EAX, "CPUID.40000001H:EAX" },
};

#define B(n) (1u << (n))
#define F(nm, w, bit) { nm, w, B(bit) }

static const FeatName feat_names[] = {
    F("fpu", FW_1_EDX, 0), F("vme", FW_1_EDX, 1), F("de", FW_1_EDX, 2),
    F("pse", FW_1_EDX, 3), F("tsc", FW_1_EDX, 4), F("msr", FW_1_EDX, 5),
    F("pae", FW_1_EDX, 6), F("mce", FW_1_EDX, 7), F("cx8", FW_1_EDX, 8),
    F("apic", FW_1_EDX, 9), F("sep", FW_1_EDX, 11), F("mtrr", FW_1_EDX, 12),
    F("pge", FW_1_EDX, 13), F("mca", FW_1_EDX, 14), F("cmov", FW_1_EDX, 15),
    F("pat", FW_1_EDX, 16), F("pse36", FW_1_EDX, 17), F("pn", FW_1_EDX, 18),
    F("clflush", FW_1_EDX, 19), F("ds", FW_1_EDX, 21), F("acpi", FW_1_EDX, 22),
    F("mmx", FW_1_EDX, 23), F("fxsr", FW_1_EDX, 24), F("sse", FW_1_EDX, 25),
    F("sse2", FW_1_EDX, 26), F("ss", FW_1_EDX, 27), F("ht", FW_1_EDX, 28),
    F("tm", FW_1_EDX, 29), F("ia64", FW_1_EDX, 30), F("pbe", FW_1_EDX, 31),

    F("pni", FW_1_ECX, 0), F("sse3", FW_1_ECX, 0), F("pclmulqdq", FW_1_ECX, 1),
    F("pclmuldq", FW_1_ECX, 1), F("dtes64", FW_1_ECX, 2), F("monitor", FW_1_ECX, 3),
    F("ds-cpl", FW_1_ECX, 4), F("vmx", FW_1_ECX, 5), F("smx", FW_1_ECX, 6),
    F("est", FW_1_ECX, 7), F("tm2", FW_1_ECX, 8), F("ssse3", FW_1_ECX, 9),
    F("cid", FW_1_ECX, 10), F("fma", FW_1_ECX, 12), F("cx16", FW_1_ECX, 13),
    F("xtpr", FW_1_ECX, 14), F("pdcm", FW_1_ECX, 15), F("pcid", FW_1_ECX, 17),
    F("dca", FW_1_ECX, 18), F("sse4.1", FW_1_ECX, 19), F("sse4-1", FW_1_ECX, 19),
    F("sse4.2", FW_1_ECX, 20), F("sse4-2", FW_1_ECX, 20), F("x2apic", FW_1_ECX, 21),
    F("movbe", FW_1_ECX, 22), F("popcnt", FW_1_ECX, 23),
    F("tsc-deadline", FW_1_ECX, 24), F("aes", FW_1_ECX, 25), F("xsave", FW_1_ECX, 26),
    F("osxsave", FW_1_ECX, 27), F("avx", FW_1_ECX, 28), F("f16c", FW_1_ECX, 29),
    F("rdrand", FW_1_ECX, 30), F("hypervisor", FW_1_ECX, 31),

    F("arat", FW_6_EAX, 2),

    F("fsgsbase", FW_7_0_EBX, 0), F("tsc-adjust", FW_7_0_EBX, 1),
    F("sgx", FW_7_0_EBX, 2), F("bmi1", FW_7_0_EBX, 3), F("hle", FW_7_0_EBX, 4),
    F("avx2", FW_7_0_EBX, 5), F("smep", FW_7_0_EBX, 7), F("bmi2", FW_7_0_EBX, 8),
    F("erms", FW_7_0_EBX, 9), F("invpcid", FW_7_0_EBX, 10), F("rtm", FW_7_0_EBX, 11),
    F("mpx", FW_7_0_EBX, 14), F("avx512f", FW_7_0_EBX, 16),
    F("avx512dq", FW_7_0_EBX, 17), F("rdseed", FW_7_0_EBX, 18),
    F("adx", FW_7_0_EBX, 19), F("smap", FW_7_0_EBX, 20),
    F("avx512ifma", FW_7_0_EBX, 21), F("pcommit", FW_7_0_EBX, 22),
    F("clflushopt", FW_7_0_EBX, 23), F("clwb", FW_7_0_EBX, 24),
    F("intel-pt", FW_7_0_EBX, 25), F("avx512pf", FW_7_0_EBX, 26),
    F("avx512er", FW_7_0_EBX, 27), F("avx512cd", FW_7_0_EBX, 28),
    F("sha-ni", FW_7_0_EBX, 29), F("avx512bw", FW_7_0_EBX, 30),
    F("avx512vl", FW_7_0_EBX, 31),

    F("avx512vbmi", FW_7_0_ECX, 1), F("umip", FW_7_0_ECX, 2), F("pku", FW_7_0_ECX, 3),
    F("ospke", FW_7_0_ECX, 4), F("waitpkg", FW_7_0_ECX, 5),
    F("avx512vbmi2", FW_7_0_ECX, 6), F("gfni", FW_7_0_ECX, 8), F("vaes", FW_7_0_ECX, 9),
    F("vpclmulqdq", FW_7_0_ECX, 10), F("avx512vnni", FW_7_0_ECX, 11),
    F("avx512bitalg", FW_7_0_ECX, 12), F("avx512-vpopcntdq", FW_7_0_ECX, 14),
    F("la57", FW_7_0_ECX, 16), F("rdpid", FW_7_0_ECX, 22),
    F("bus-lock-detect", FW_7_0_ECX, 24), F("cldemote", FW_7_0_ECX, 25),
    F("movdiri", FW_7_0_ECX, 27), F("movdir64b", FW_7_0_ECX, 28),
    F("sgxlc", FW_7_0_ECX, 30), F("pks", FW_7_0_ECX, 31),

    F("avx512-4vnniw", FW_7_0_EDX, 2), F("avx512-4fmaps", FW_7_0_EDX, 3),
    F("fsrm", FW_7_0_EDX, 4), F("avx512-vp2intersect", FW_7_0_EDX, 8),
    F("md-clear", FW_7_0_EDX, 10), F("serialize", FW_7_0_EDX, 14),
    F("tsx-ldtrk", FW_7_0_EDX, 16), F("arch-lbr", FW_7_0_EDX, 19),
    F("amx-bf16", FW_7_0_EDX, 22), F("avx512-fp16", FW_7_0_EDX, 23),
    F("amx-tile", FW_7_0_EDX, 24), F("amx-int8", FW_7_0_EDX, 25),
    F("spec-ctrl", FW_7_0_EDX, 26), F("stibp", FW_7_0_EDX, 27),
    F("flush-l1d", FW_7_0_EDX, 28), F("arch-capabilities", FW_7_0_EDX, 29),
    F("core-capability", FW_7_0_EDX, 30), F("ssbd", FW_7_0_EDX, 31),

    F("avx-vnni", FW_7_1_EAX, 4), F("avx512-bf16", FW_7_1_EAX, 5),
    F("fzrm", FW_7_1_EAX, 10), F("fsrs", FW_7_1_EAX, 11), F("fsrc", FW_7_1_EAX, 12),

    F("xsaveopt", FW_D_1_EAX, 0), F("xsavec", FW_D_1_EAX, 1),
    F("xgetbv1", FW_D_1_EAX, 2), F("xsaves", FW_D_1_EAX, 3), F("xfd", FW_D_1_EAX, 4),

    F("syscall", FW_8000_0001_EDX, 11), F("nx", FW_8000_0001_EDX, 20),
    F("xd", FW_8000_0001_EDX, 20), F("mmxext", FW_8000_0001_EDX, 22),
    F("fxsr-opt", FW_8000_0001_EDX, 25), F("ffxsr", FW_8000_0001_EDX, 25),
    F("pdpe1gb", FW_8000_0001_EDX, 26), F("rdtscp", FW_8000_0001_EDX, 27),
    F("lm", FW_8000_0001_EDX, 29), F("i64", FW_8000_0001_EDX, 29),
    F("3dnowext", FW_8000_0001_EDX, 30), F("3dnow", FW_8000_0001_EDX, 31),

    F("lahf-lm", FW_8000_0001_ECX, 0), F("cmp-legacy", FW_8000_0001_ECX, 1),
    F("svm", FW_8000_0001_ECX, 2), F("extapic", FW_8000_0001_ECX, 3),
    F("cr8legacy", FW_8000_0001_ECX, 4), F("abm", FW_8000_0001_ECX, 5),
    F("sse4a", FW_8000_0001_ECX, 6), F("misalignsse", FW_8000_0001_ECX, 7),
    F("3dnowprefetch", FW_8000_0001_ECX, 8), F("osvw", FW_8000_0001_ECX, 9),
    F("ibs", FW_8000_0001_ECX, 10), F("xop", FW_8000_0001_ECX, 11),
    F("skinit", FW_8000_0001_ECX, 12), F("wdt", FW_8000_0001_ECX, 13),
    F("lwp", FW_8000_0001_ECX, 15), F("fma4", FW_8000_0001_ECX, 16),
    F("tce", FW_8000_0001_ECX, 17), F("nodeid-msr", FW_8000_0001_ECX, 19),
    F("tbm", FW_8000_0001_ECX, 21), F("topoext", FW_8000_0001_ECX, 22),
    F("perfctr-core", FW_8000_0001_ECX, 23), F("perfctr-nb", FW_8000_0001_ECX, 24),

    F("invtsc", FW_8000_0007_EDX, 8),

    F("clzero", FW_8000_0008_EBX, 0), F("xsaveerptr", FW_8000_0008_EBX, 2),
    F("wbnoinvd", FW_8000_0008_EBX, 9), F("ibpb", FW_8000_0008_EBX, 12),
    F("ibrs", FW_8000_0008_EBX, 14), F("amd-stibp", FW_8000_0008_EBX, 15),
    F("stibp-always-on", FW_8000_0008_EBX, 17), F("amd-ssbd", FW_8000_0008_EBX, 24),
    F("virt-ssbd", FW_8000_0008_EBX, 25), F("amd-no-ssb", FW_8000_0008_EBX, 26),
    F("amd-psfd", FW_8000_0008_EBX, 28),

    F("npt", FW_8000_000A_EDX, 0), F("lbrv", FW_8000_000A_EDX, 1),
    F("svm-lock", FW_8000_000A_EDX, 2), F("nrip-save", FW_8000_000A_EDX, 3),
    F("tsc-scale", FW_8000_000A_EDX, 4), F("vmcb-clean", FW_8000_000A_EDX, 5),
    F("flushbyasid", FW_8000_000A_EDX, 6), F("decodeassists", FW_8000_000A_EDX, 7),
    F("pause-filter", FW_8000_000A_EDX, 10), F("pfthreshold", FW_8000_000A_EDX, 12),
    F("avic", FW_8000_000A_EDX, 13), F("v-vmsave-vmload", FW_8000_000A_EDX, 15),
    F("vgif", FW_8000_000A_EDX, 16),

    /* kvmclock covers both the old (bit 0) and the new (bit 3) MSR pair. */
    { "kvmclock", FW_KVM, B(0) | B(3) }, F("kvm-nopiodelay", FW_KVM, 1),
    F("kvm-mmu", FW_KVM, 2), F("kvm-asyncpf", FW_KVM, 4),
    F("kvm-steal-time", FW_KVM, 5), F("kvm-pv-eoi", FW_KVM, 6),
    F("kvm-pv-unhalt", FW_KVM, 7), F("kvm-pv-tlb-flush", FW_KVM, 9),
    F("kvm-asyncpf-vmexit", FW_KVM, 10), F("kvm-pv-ipi", FW_KVM, 11),
    F("kvm-poll-control", FW_KVM, 12), F("kvm-pv-sched-yield", FW_KVM, 13),
    F("kvm-asyncpf-int", FW_KVM, 14), F("kvm-msi-ext-dest-id", FW_KVM, 15),
    F("kvmclock-stable-bit", FW_KVM, 24),
};

/* Intel SDM "PPRO_FEATURES" set QEMU's generic models start from: fpu de pse tsc
 * msr pae mce cx8 apic sep pge cmov pat mmx fxsr sse sse2. */
#define PPRO_EDX (B(0) | B(2) | B(3) | B(4) | B(5) | B(6) | B(7) | B(8) | B(9) | \
                  B(11) | B(13) | B(15) | B(16) | B(23) | B(24) | B(25) | B(26))
#define QEMU64_EDX (PPRO_EDX | B(12) /* mtrr */ | B(14) /* mca */ | B(17) /* pse36 */ | \
                    B(19) /* clflush */)
/* What QEMU turns on under KVM for every named model (kvm_default_props). */
#define KVM_ECX    (F1_ECX_X2APIC | F1_ECX_HYPERVISOR)
#define KVM_PV     (B(0) | B(3) | B(1) | B(4) | B(5) | B(6) | B(14) | B(24))
#define LM_EDX     (B(11) /* syscall */ | B(20) /* nx */ | B(29) /* lm */)

static const X86Model models[] = {
    { .name = "host", .qom = "host-x86_64-cpu", .desc = "processor with all features KVM supports on this host",
      .host = true },
    { .name = "max", .qom = "max-x86_64-cpu", .desc = "same as host: all features KVM supports", .host = true },
    { .name = "qemu64", .qom = "qemu64-x86_64-cpu", .desc = "QEMU Virtual CPU version 2.5+",
      .level = 0xd, .xlevel = 0x8000000a, .vendor = "AuthenticAMD",
      .family = 6, .model = 6, .stepping = 3,
      .features = {
          [FW_1_EDX] = QEMU64_EDX,
          [FW_1_ECX] = B(0) /* sse3 */ | B(13) /* cx16 */ | KVM_ECX,
          [FW_8000_0001_EDX] = LM_EDX,
          [FW_8000_0001_ECX] = B(0), /* lahf-lm; QEMU's svm is off under KVM */
          [FW_KVM] = KVM_PV,
      } },
    { .name = "kvm64", .qom = "kvm64-x86_64-cpu", .desc = "Common KVM processor",
      .level = 0xd, .xlevel = 0x80000008, .vendor = "GenuineIntel",
      .family = 15, .model = 6, .stepping = 1,
      .features = {
          [FW_1_EDX] = QEMU64_EDX | B(1) /* vme */,
          [FW_1_ECX] = B(0) | B(13) | KVM_ECX,
          [FW_8000_0001_EDX] = LM_EDX,
          [FW_KVM] = KVM_PV,
      } },
    { .name = "qemu32", .qom = "qemu32-x86_64-cpu", .desc = "QEMU Virtual CPU version 2.5+ (32-bit)",
      .level = 4, .xlevel = 0x80000004, .vendor = "GenuineIntel",
      .family = 6, .model = 6, .stepping = 3,
      .features = {
          [FW_1_EDX] = PPRO_EDX,
          [FW_1_ECX] = B(0) | KVM_ECX,
          [FW_KVM] = KVM_PV,
      } },
};

/* QEMU's static "base" model: no feature at all. query-cpu-model-expansion answers a
 * static expansion as "base" plus every feature, and libvirt expands that answer again
 * (type full) to learn the host model; it is no -cpu model here (no CPUID levels). */
static const X86Model base_model = {
    .name = "base", .qom = "base-x86_64-cpu", .desc = "base CPU model type with no features enabled",
};

static const X86Model *model_find(const char *name)
{
    for (size_t i = 0; i < G_N_ELEMENTS(models); i++)
        if (strcmp(models[i].name, name) == 0)
            return &models[i];
    return NULL;
}

static const FeatName *feat_find(const char *name)
{
    g_autofree char *n = g_strdup(name);
    g_strdelimit(n, "_", '-');          /* QEMU accepts lahf_lm for lahf-lm */
    for (size_t i = 0; i < G_N_ELEMENTS(feat_names); i++)
        if (strcmp(feat_names[i].name, n) == 0)
            return &feat_names[i];
    return NULL;
}

const char *x86_feat_bit_name(FeatWord word, unsigned bit)
{
    for (size_t i = 0; i < G_N_ELEMENTS(feat_names); i++)
        if (feat_names[i].word == word && (feat_names[i].mask & B(bit)))
            return feat_names[i].name;
    return "?";
}

static void set_feat(X86CpuConfig *cfg, const FeatName *f, bool on)
{
    /* The last mention wins. */
    (on ? cfg->plus : cfg->minus)[f->word] |= f->mask;
    (on ? cfg->minus : cfg->plus)[f->word] &= ~f->mask;
}

static bool parse_prop(X86CpuConfig *cfg, const char *key, const char *val, GError **errp)
{
    const FeatName *f = feat_find(key);
    bool b = true;
    guint64 n;
    if (!strcmp(key, "migratable") && !cfg->model->host) {
        g_set_error(errp, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                    "-cpu %s: 'migratable' is a property of host and max only",
                    cfg->model->name);
        return false;
    }
    if (f || !strcmp(key, "kvm") || !strcmp(key, "enforce") || !strcmp(key, "check") ||
        !strcmp(key, "host-phys-bits") || !strcmp(key, "migratable")) {
        if (val && !str_to_bool(val, &b)) {
            g_set_error(errp, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                        "-cpu: '%s=%s': expected on or off", key, val);
            return false;
        }
        if (f)
            set_feat(cfg, f, b);
        else if (!strcmp(key, "kvm"))
            cfg->kvm_leaves = b;
        else if (!strcmp(key, "enforce"))
            cfg->enforce = b;
        else if (!strcmp(key, "host-phys-bits"))
            cfg->host_phys_bits = b;
        else if (!strcmp(key, "migratable"))
            cfg->migratable = b;
        return true;
    }
    if (!strcmp(key, "phys-bits")) {
        if (!val || !g_ascii_string_to_unsigned(val, 10, 32, 52, &n, NULL)) {
            g_set_error(errp, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                        "-cpu: phys-bits must be a number from 32 to 52");
            return false;
        }
        cfg->phys_bits = n;
        return true;
    }
    g_set_error(errp, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                "-cpu %s: unknown CPU feature or property '%s' (see -cpu help)",
                cfg->model->name, key);
    return false;
}

static bool parse_item(X86CpuConfig *cfg, const char *item, GError **errp)
{
    if (item[0] == '+' || item[0] == '-') {
        const FeatName *f = feat_find(item + 1);
        if (!f) {
            g_set_error(errp, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                        "-cpu %s: unknown CPU feature '%s' (see -cpu help)",
                        cfg->model->name, item + 1);
            return false;
        }
        set_feat(cfg, f, item[0] == '+');
        return true;
    }
    const char *eq = strchr(item, '=');
    g_autofree char *key = eq ? g_strndup(item, eq - item) : g_strdup(item);
    return parse_prop(cfg, key, eq ? eq + 1 : NULL, errp);
}

static void model_names(GString *s)
{
    for (size_t i = 0; i < G_N_ELEMENTS(models); i++)
        g_string_append_printf(s, "%s%s", i ? ", " : "", models[i].name);
}

static bool config_parse(const char *str, X86CpuConfig *cfg, bool base, GError **errp)
{
    memset(cfg, 0, sizeof(*cfg));
    cfg->kvm_leaves = true;
    cfg->migratable = true;
    g_auto(GStrv) items = g_strsplit(str && *str ? str : "qemu64", ",", -1);
    cfg->model = base && !strcmp(items[0], "base") ? &base_model : model_find(items[0]);
    if (!cfg->model) {
        g_autoptr(GString) valid = g_string_new(NULL);
        model_names(valid);
        g_set_error(errp, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                    "-cpu: unknown CPU model '%s' (valid: %s)", items[0], valid->str);
        return false;
    }
    for (int i = 1; items[i]; i++)
        if (*items[i] && !parse_item(cfg, items[i], errp))
            return false;
    return true;
}

bool x86_cpu_config_parse(const char *str, X86CpuConfig *cfg, GError **errp)
{
    return config_parse(str, cfg, false, errp);
}

bool x86_cpu_config_parse_expansion(const char *str, X86CpuConfig *cfg, GError **errp)
{
    return config_parse(str, cfg, true, errp);
}

static gint cmp_str(gconstpointer a, gconstpointer b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

void x86_cpu_list(GString *out)
{
    g_string_append(out, "Available CPUs:\n");
    for (size_t i = 0; i < G_N_ELEMENTS(models); i++)
        g_string_append_printf(out, "x86 %-20s %s\n", models[i].name, models[i].desc);
    g_string_append(out, "\nRecognized CPUID flags:\n");
    g_autoptr(GPtrArray) names = g_ptr_array_new();
    for (size_t i = 0; i < G_N_ELEMENTS(feat_names); i++)
        g_ptr_array_add(names, (gpointer)feat_names[i].name);
    g_ptr_array_sort(names, cmp_str);
    size_t col = 0;
    for (guint i = 0; i < names->len; i++) {
        const char *n = names->pdata[i];
        if (col && col + 1 + strlen(n) > 76) {
            g_string_append_c(out, '\n');
            col = 0;
        }
        g_string_append_printf(out, "%s%s", col ? " " : "  ", n);
        col += (col ? 1 : 2) + strlen(n);
    }
    g_string_append(out, "\n\nOptions: +feat -feat feat=on|off enforce check kvm=on|off "
                         "phys-bits=N host-phys-bits=on|off\n");
}

/* ---- Introspection (QMP: query-cpu-definitions, query-cpu-model-expansion) ---- */

static const QomType cpu_base_types[] = {
    { .name = "cpu", .parent = "device", .abstract = true },
    { .name = "x86_64-cpu", .parent = "cpu", .abstract = true },
};

void x86_cpu_types_foreach(void (*fn)(const QomType *t, void *opaque), void *opaque)
{
    for (size_t i = 0; i < G_N_ELEMENTS(cpu_base_types); i++)
        fn(&cpu_base_types[i], opaque);
    for (size_t i = 0; i < G_N_ELEMENTS(models); i++) {
        /* QEMU: "host" derives from "max". */
        QomType t = { .name = models[i].qom, .desc = models[i].desc,
                      .parent = !strcmp(models[i].name, "host") ? "max-x86_64-cpu"
                                                                : "x86_64-cpu" };
        fn(&t, opaque);
    }
}

void x86_cpu_models_foreach(void (*fn)(const X86CpuModelDef *d, void *opaque), void *opaque)
{
    for (size_t i = 0; i < G_N_ELEMENTS(models); i++) {
        X86CpuModelDef d = { .name = models[i].name, .qom_type = models[i].qom,
                             .desc = models[i].desc, .host = models[i].host };
        fn(&d, opaque);
    }
}

/* The first name of each feature bit is QEMU's property name (pni, not sse3). */
static bool canonical(size_t i)
{
    for (size_t j = 0; j < i; j++)
        if (feat_names[j].word == feat_names[i].word && feat_names[j].mask == feat_names[i].mask)
            return false;
    return true;
}

void x86_cpu_feature_names(void (*fn)(const char *name, void *opaque), void *opaque)
{
    for (size_t i = 0; i < G_N_ELEMENTS(feat_names); i++)
        if (canonical(i))
            fn(feat_names[i].name, opaque);
}

bool x86_cpu_expand(const struct kvm_cpuid2 *sup, const char *model,
                    void (*fn)(const char *name, bool on, void *opaque),
                    void (*missing)(const char *name, void *opaque), void *opaque,
                    GError **errp)
{
    uint32_t feat[FW_COUNT], miss[FW_COUNT];
    if (!x86_cpu_compute_features(sup, model, feat, miss, errp))
        return false;
    for (size_t i = 0; i < G_N_ELEMENTS(feat_names); i++) {
        const FeatName *f = &feat_names[i];
        if (!canonical(i))
            continue;
        if (fn)
            fn(f->name, (feat[f->word] & f->mask) == f->mask, opaque);
        if (missing && (miss[f->word] & f->mask))
            missing(f->name, opaque);
    }
    return true;
}
