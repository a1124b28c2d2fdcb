/*
 * x86 vCPU: CPUID policy (models, +feat/-feat, topology leaves) and the complete
 * KVM vCPU state in one plain struct (ARCHITECTURE.md convention 5), with its
 * get/put ioctls, a register dump and a migration description.
 *
 * Nothing here keeps file-scope state; the functions that take fds only issue
 * ioctls on them. The data functions (CPUID building, MSR lists, dump) need no KVM
 * and are what the unit tests exercise.
 */
#ifndef VIREO_CPU_H
#define VIREO_CPU_H

#include <stdbool.h>
#include <stdint.h>
#include <glib.h>
#include <linux/kvm.h>
#include "vireo/vmstate.h"

/* ---- Topology ---------------------------------------------------------------- */

/* -smp sockets/dies/cores/threads; a 0 count is taken as 1. */
typedef struct X86Topology {
    unsigned sockets, dies, cores, threads;
} X86Topology;

/* Initial APIC id of vCPU @cpu_index: thread, core, die and socket ids packed in bit
 * fields of width ceil(log2(count)) each, lowest first (QEMU's layout, Intel SDM
 * vol. 3A 8.9.1). accel/kvm must pass it to KVM_CREATE_VCPU as the vcpu id. */
uint32_t x86_apic_id(const X86Topology *t, unsigned cpu_index);

/* The socket/die/core/thread ids of vCPU @cpu_index (what the APIC id packs; QMP's
 * CpuInstanceProperties). */
typedef struct TopoIds {
    unsigned socket_id, die_id, core_id, thread_id;
} TopoIds;
void x86_topo_ids(const X86Topology *t, unsigned cpu_index, TopoIds *ids);

/* ---- CPUID ------------------------------------------------------------------- */

/*
 * Builds the CPUID table for vCPU @cpu_index from what KVM_GET_SUPPORTED_CPUID
 * reported (@supported) and a -cpu string (@model): "host", "max", "qemu64",
 * "kvm64", "qemu32", optionally followed by ",+feat", ",-feat", ",feat=on|off",
 * ",enforce", ",kvm=off", ",phys-bits=N", ",host-phys-bits=on". NULL means
 * "qemu64". Features the host lacks are dropped with a warning (an error with
 * "enforce"). Returns a g_malloc'd table for KVM_SET_CPUID2, or NULL with @errp set
 * naming the unknown model/feature/property.
 */
struct kvm_cpuid2 *x86_cpuid_build(const struct kvm_cpuid2 *supported, const char *model,
                                   const X86Topology *t, unsigned cpu_index, GError **errp);

/* The entry for (@function, @index) in @c, or NULL. @index only matters for leaves
 * flagged KVM_CPUID_FLAG_SIGNIFCANT_INDEX. */
const struct kvm_cpuid_entry2 *x86_cpuid_find(const struct kvm_cpuid2 *c, uint32_t function,
                                              uint32_t index);

/* Appends the `-cpu help` text: the models and the recognized feature names. */
void x86_cpu_list(GString *out);

/* The models as QMP lists them (query-cpu-definitions). */
typedef struct X86CpuModelDef {
    const char *name, *qom_type, *desc;
    bool host;                      /* all KVM supports (host, max): needs KVM */
} X86CpuModelDef;
void x86_cpu_models_foreach(void (*fn)(const X86CpuModelDef *d, void *opaque), void *opaque);
/* Every feature's property name (QEMU's, one per feature bit). */
void x86_cpu_feature_names(void (*fn)(const char *name, void *opaque), void *opaque);
/* The features of -cpu @model on KVM's @sup: @fn(name, on) for each (when non-NULL),
 * @missing(name) for each the model asks for that @sup lacks (when non-NULL). @model may
 * also start with QEMU's static "base" (no features: only the ones it turns on). */
bool x86_cpu_expand(const struct kvm_cpuid2 *sup, const char *model,
                    void (*fn)(const char *name, bool on, void *opaque),
                    void (*missing)(const char *name, void *opaque), void *opaque,
                    GError **errp);

/* ---- vCPU state -------------------------------------------------------------- */

#define X86_MAX_MSRS  96
#define X86_XSAVE_MAX 16384     /* bytes; KVM_CAP_XSAVE2 sizes above this are refused */

/* Same layout as struct kvm_msr_entry. */
typedef struct X86MsrEntry {
    uint32_t index;
    uint32_t reserved;
    uint64_t data;
} X86MsrEntry;

/* X86CPUState.flags: which optional parts were read and must be written back. */
#define X86_STATE_XSAVE     (1u << 0)   /* xsave[] valid (else fpu) */
#define X86_STATE_XCRS      (1u << 1)
#define X86_STATE_LAPIC     (1u << 2)   /* in-kernel LAPIC present */
#define X86_STATE_EVENTS    (1u << 3)
#define X86_STATE_DEBUGREGS (1u << 4)
#define X86_STATE_MP_STATE  (1u << 5)

/*
 * The complete architectural state of one vCPU as KVM exposes it. Plain data (no
 * pointers, no fds): migration and reset reuse it verbatim. The KVM structs keep
 * their uapi layout. Field order has no implicit padding, so every byte is
 * described by vmstate_x86_cpu.
 */
typedef struct X86CPUState {
    uint32_t flags;                 /* X86_STATE_* */
    uint32_t xsave_len;             /* valid bytes in xsave[] (4096 or KVM_CAP_XSAVE2) */
    uint32_t nmsrs;                 /* valid entries in msrs[] */
    struct kvm_mp_state mp_state;
    uint64_t tsc_khz;               /* KVM_GET_TSC_KHZ; 0 = unknown, not restored */
    struct kvm_regs regs;
    struct kvm_sregs sregs;         /* includes EFER and APIC_BASE */
    struct kvm_fpu fpu;             /* used when X86_STATE_XSAVE is clear */
    struct kvm_xcrs xcrs;
    struct kvm_vcpu_events events;
    struct kvm_debugregs debugregs;
    struct kvm_lapic_state lapic;
    X86MsrEntry msrs[X86_MAX_MSRS];
    uint8_t xsave[X86_XSAVE_MAX];
} X86CPUState;

/*
 * Reads the whole state of @vcpu_fd. @kvm_fd (the /dev/kvm fd) is used for
 * KVM_GET_MSR_INDEX_LIST and capability checks; the MSRs saved are the standard set
 * (see docs/cpu.md) that KVM lists and the vCPU's CPUID enables. Call with the vCPU
 * not running (from its own thread or while it is parked). Returns 0 or -errno; on
 * failure x86_cpu_get_state() logs a warning naming the failing ioctl, the _err
 * variant sets @errp instead.
 */
int x86_cpu_get_state(int kvm_fd, int vcpu_fd, X86CPUState *s);
int x86_cpu_get_state_err(int kvm_fd, int vcpu_fd, X86CPUState *s, GError **errp);

/* Writes @s back into @vcpu_fd, in the order KVM needs (sregs before LAPIC, LAPIC
 * before TSC_DEADLINE, ...). Returns 0 or -errno, like x86_cpu_get_state(). */
int x86_cpu_put_state(int vcpu_fd, const X86CPUState *s);
int x86_cpu_put_state_err(int vcpu_fd, const X86CPUState *s, GError **errp);

/*
 * Firmware-like MSR values at power-on/reset: MISC_ENABLE fast strings, the PAT
 * default, and when the vCPU's CPUID has MTRR: MTRRs with write-back default, the
 * legacy VGA hole 0xa0000-0xbffff uncacheable and [@ram_below_4g, 4 GiB) (the PCI
 * hole) uncacheable through variable ranges. Returns 0 or -errno (warning logged).
 */
int x86_cpu_setup_msrs(int vcpu_fd, uint64_t ram_below_4g);
int x86_cpu_setup_msrs_err(int vcpu_fd, uint64_t ram_below_4g, GError **errp);

/* ---- Data helpers (no KVM needed) ------------------------------------------------ */

/* The MSRs that get/put transfer, in write order: the standard list filtered by
 * @kvm_msrs (KVM_GET_MSR_INDEX_LIST) and by @guest's CPUID. Returns the count. */
unsigned x86_msr_list_build(const uint32_t *kvm_msrs, unsigned n_kvm,
                            const struct kvm_cpuid2 *guest, uint32_t *out, unsigned max);
/* What x86_cpu_setup_msrs() writes, for a guest with @phys_bits address bits;
 * @mtrr: include MTRRs. Returns the count. */
unsigned x86_msr_reset_values(uint64_t ram_below_4g, unsigned phys_bits, bool mtrr,
                              X86MsrEntry *out, unsigned max);
/* A short name for an MSR ("MSR_LSTAR"), or NULL when unknown. */
const char *x86_msr_name(uint32_t index);

/* Appends a register dump in the format of QEMU's `info registers`: general
 * registers, RIP/RFL with flags, segments, descriptor tables, control and debug
 * registers, EFER, then FPU/SSE registers. */
void x86_cpu_dump_state(const X86CPUState *s, GString *out);

/* Migration description of X86CPUState (section "x86-cpu"). */
extern const VMStateDesc vmstate_x86_cpu;

#endif
