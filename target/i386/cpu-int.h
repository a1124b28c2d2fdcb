/* Private to target/i386: feature words, CPU models and the parsed -cpu string. */
#ifndef TARGET_I386_CPU_INT_H
#define TARGET_I386_CPU_INT_H

#include "vireo/cpu.h"

enum { R_EAX, R_EBX, R_ECX, R_EDX };

/* The CPUID registers that hold feature bits users can name (+feat/-feat). */
typedef enum {
    FW_1_EDX, FW_1_ECX, FW_6_EAX, FW_7_0_EBX, FW_7_0_ECX, FW_7_0_EDX, FW_7_1_EAX,
    FW_D_1_EAX, FW_8000_0001_EDX, FW_8000_0001_ECX, FW_8000_0007_EDX,
    FW_8000_0008_EBX, FW_8000_000A_EDX, FW_KVM,
    FW_COUNT
} FeatWord;

typedef struct FeatWordInfo {
    uint32_t function, index;
    uint8_t reg;                 /* R_EAX.. */
    const char *desc;            /* "CPUID.01H:ECX", for messages */
} FeatWordInfo;

typedef struct FeatName {
    const char *name;
    uint8_t word;                /* FeatWord */
    uint32_t mask;               /* usually one bit; "kvmclock" is two */
} FeatName;

typedef struct X86Model {
    const char *name;
    const char *qom;             /* QOM type: "qemu64-x86_64-cpu" */
    const char *desc;
    bool host;                   /* everything KVM supports (host, max) */
    uint32_t level, xlevel;
    const char *vendor;          /* 12 characters */
    unsigned family, model, stepping;
    uint32_t features[FW_COUNT];
} X86Model;

/* A parsed -cpu string. */
typedef struct X86CpuConfig {
    const X86Model *model;
    uint32_t plus[FW_COUNT], minus[FW_COUNT];
    bool enforce;
    bool kvm_leaves;             /* kvm=on (default): 0x40000000 signature leaves */
    bool host_phys_bits;
    bool migratable;             /* host/max: only features that can migrate (QEMU) */
    unsigned phys_bits;          /* 0: model default */
} X86CpuConfig;

/* Feature bits the builder itself relies on. */
#define F1_EDX_MTRR        (1u << 12)
#define F1_EDX_HT          (1u << 28)
#define F1_ECX_X2APIC      (1u << 21)
#define F1_ECX_TSC_DEADLINE (1u << 24)
#define F1_ECX_XSAVE       (1u << 26)
#define F1_ECX_AVX         (1u << 28)
#define F1_ECX_HYPERVISOR  (1u << 31)
#define F7_EBX_MPX         (1u << 14)
#define F7_EBX_AVX512F     (1u << 16)
#define F7_ECX_PKU         (1u << 3)
#define F7_EDX_AMX_TILE    (1u << 24)
#define FE1_ECX_CMP_LEGACY (1u << 1)
#define FE1_ECX_SVM        (1u << 2)
#define FE1_ECX_TOPOEXT    (1u << 22)
/* 1 EDX bits AMD mirrors in 0x80000001 EDX (AMD APM vol. 3, CPUID Fn8000_0001_EDX). */
#define AMD_EDX_ALIASES    0x0183f3ffu

extern const FeatWordInfo x86_feat_words[FW_COUNT];

/* A topology with 0 counts replaced by 1, and the APIC id bit offsets of each level. */
typedef struct TopoInfo {
    unsigned sockets, dies, cores, threads;
    unsigned core_off, die_off, pkg_off;   /* lowest APIC id bit of core, die, package */
    unsigned socket_id, die_id, core_id, thread_id;   /* of the vCPU asked for */
} TopoInfo;

void x86_topo_info(const X86Topology *t, unsigned cpu_index, TopoInfo *ti);

/* State of one x86_cpuid_build() call. */
typedef struct CpuidBuilder {
    GArray *e;                       /* struct kvm_cpuid_entry2 */
    const struct kvm_cpuid2 *sup;    /* KVM_GET_SUPPORTED_CPUID */
    X86CpuConfig cfg;
    TopoInfo topo;
    uint32_t apic_id;
    bool amd;                        /* AuthenticAMD / HygonGenuine vendor */
    bool intel;                      /* GenuineIntel */
    uint32_t feat[FW_COUNT];         /* final feature words */
} CpuidBuilder;

/* The entry (@fn, @idx), created zeroed when missing. The pointer is valid until the
 * next entry is created. */
struct kvm_cpuid_entry2 *cpuid_ent(CpuidBuilder *b, uint32_t fn, uint32_t idx);
/* The entry (@fn, @idx) or NULL. */
struct kvm_cpuid_entry2 *cpuid_get(CpuidBuilder *b, uint32_t fn, uint32_t idx);
/* Removes every sub-leaf of @fn. */
void cpuid_drop(CpuidBuilder *b, uint32_t fn);
uint32_t *cpuid_reg(struct kvm_cpuid_entry2 *e, int reg);
/* Writes the topology-dependent fields (leaves 1, 4, 0xB, 0x1F, 0x80000001,
 * 0x80000008, 0x8000001D, 0x8000001E); cpuid-topo.c. */
void cpuid_topology(CpuidBuilder *b);

/* Parses "model[,+feat|-feat|feat=on|prop=val...]". */
bool x86_cpu_config_parse(const char *str, X86CpuConfig *cfg, GError **errp);
/* The same for query-cpu-model-expansion: also QEMU's static "base" (no features). */
bool x86_cpu_config_parse_expansion(const char *str, X86CpuConfig *cfg, GError **errp);

/* The feature words -cpu @model gets with KVM's @sup (x86_cpuid_build's rules), and
 * those it asks for that @sup lacks. */
bool x86_cpu_compute_features(const struct kvm_cpuid2 *sup, const char *model,
                              uint32_t feat[FW_COUNT], uint32_t missing[FW_COUNT],
                              GError **errp);

/* Lowest-set-bit name of @bit in @word, for messages; "?" when unnamed. */
const char *x86_feat_bit_name(FeatWord word, unsigned bit);

#endif
