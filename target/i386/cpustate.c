/*
 * Reading and writing the whole vCPU state (Documentation/virt/kvm/api.rst:
 * KVM_GET/SET_REGS, _SREGS, _FPU, _XSAVE/_XSAVE2, _XCRS, _MSRS, _LAPIC,
 * _VCPU_EVENTS, _MP_STATE, _DEBUGREGS, KVM_GET/SET_TSC_KHZ).
 *
 * The order of the writes follows what KVM depends on (and QEMU's
 * kvm_arch_put_registers): SREGS first (EFER, APIC_BASE and x2APIC mode decide how
 * later state is interpreted), MSRs before the LAPIC, the LAPIC before the events
 * and TSC_DEADLINE (which arms the LAPIC timer).
 */
#include "cpu-int.h"
#include "vireo/error.h"
#include <errno.h>
#include <inttypes.h>
#include <string.h>
#include <sys/ioctl.h>

#define MSR_IA32_TSC_DEADLINE 0x6e0
#define KVM_MAX_CPUID 256

static int xioctl(int fd, unsigned long req, void *arg)
{
    int r;
    do {
        r = ioctl(fd, req, arg);
    } while (r < 0 && errno == EINTR);
    return r < 0 ? -errno : r;
}

static int fail(GError **errp, int e, const char *what)
{
    g_set_error(errp, G_IO_ERROR, g_io_error_from_errno(-e), "%s: %s", what, g_strerror(-e));
    return e;
}

/* An ioctl whose failure ends the operation, reported by name. */
#define TRY(fd, req, arg) do { \
        int e_ = xioctl(fd, req, arg); \
        if (e_ < 0) \
            return fail(errp, e_, #req); \
    } while (0)

static int check_ext(int kvm_fd, long cap)
{
    int r = ioctl(kvm_fd, KVM_CHECK_EXTENSION, cap);
    return r < 0 ? 0 : r;
}

/* ---- MSRs ------------------------------------------------------------------------- */

static uint32_t *msr_index_list(int kvm_fd, unsigned *n, GError **errp)
{
    struct kvm_msr_list probe = { .nmsrs = 0 };
    int e = xioctl(kvm_fd, KVM_GET_MSR_INDEX_LIST, &probe);
    if (e < 0 && e != -E2BIG) {
        fail(errp, e, "KVM_GET_MSR_INDEX_LIST");
        return NULL;
    }
    struct kvm_msr_list *l = g_malloc0(sizeof(*l) + (probe.nmsrs + 1) * sizeof(uint32_t));
    l->nmsrs = probe.nmsrs;
    if ((e = xioctl(kvm_fd, KVM_GET_MSR_INDEX_LIST, l)) < 0) {
        g_free(l);
        fail(errp, e, "KVM_GET_MSR_INDEX_LIST");
        return NULL;
    }
    *n = MIN(l->nmsrs, probe.nmsrs);
    uint32_t *idx = g_new0(uint32_t, *n + 1);
    memcpy(idx, l->indices, *n * sizeof(uint32_t));
    g_free(l);
    return idx;
}

/* The vCPU's CPUID. KVM_GET_CPUID2 copies the entries but does not report how many
 * (Linux 6.1 updates nent on neither success nor E2BIG), so the buffer is filled
 * with sentinel entries no real leaf has, and the ones KVM overwrote are counted. */
static struct kvm_cpuid2 *vcpu_cpuid(int vcpu_fd, GError **errp)
{
    struct kvm_cpuid2 *c = g_malloc0(sizeof(*c) + KVM_MAX_CPUID * sizeof(c->entries[0]));
    c->nent = KVM_MAX_CPUID;
    memset(c->entries, 0xff, KVM_MAX_CPUID * sizeof(c->entries[0]));
    int e = xioctl(vcpu_fd, KVM_GET_CPUID2, c);
    if (e < 0) {
        g_free(c);
        fail(errp, e, "KVM_GET_CPUID2");
        return NULL;
    }
    uint32_t n = 0;
    while (n < KVM_MAX_CPUID && !(c->entries[n].function == ~0u && c->entries[n].flags == ~0u))
        n++;
    c->nent = n;
    return c;
}

/* KVM_GET/SET_MSRS process entries in order and return how many succeeded. */
static int msrs_io(int vcpu_fd, bool set, X86MsrEntry *m, unsigned n, GError **errp)
{
    if (!n)
        return 0;
    g_autofree struct kvm_msrs *k = g_malloc0(sizeof(*k) + n * sizeof(k->entries[0]));
    G_STATIC_ASSERT(sizeof(X86MsrEntry) == sizeof(struct kvm_msr_entry));
    k->nmsrs = n;
    memcpy(k->entries, m, n * sizeof(*m));
    int r = xioctl(vcpu_fd, set ? KVM_SET_MSRS : KVM_GET_MSRS, k);
    if (r < 0)
        return fail(errp, r, set ? "KVM_SET_MSRS" : "KVM_GET_MSRS");
    if ((unsigned)r < n) {
        const char *name = x86_msr_name(m[r].index);
        g_set_error(errp, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED, "%s: MSR %#x (%s) %s",
                    set ? "KVM_SET_MSRS" : "KVM_GET_MSRS", m[r].index, name ? name : "?",
                    set ? "rejected" : "not readable");
        return -EINVAL;
    }
    if (!set)
        memcpy(m, k->entries, n * sizeof(*m));
    return 0;
}

static int get_msrs(int kvm_fd, int vcpu_fd, X86CPUState *s, GError **errp)
{
    unsigned nk = 0;
    g_autofree uint32_t *kvm_list = msr_index_list(kvm_fd, &nk, errp);
    if (!kvm_list)
        return -EIO;
    g_autofree struct kvm_cpuid2 *cpuid = vcpu_cpuid(vcpu_fd, errp);
    if (!cpuid)
        return -EIO;
    uint32_t idx[X86_MAX_MSRS];
    s->nmsrs = x86_msr_list_build(kvm_list, nk, cpuid, idx, X86_MAX_MSRS);
    for (unsigned i = 0; i < s->nmsrs; i++)
        s->msrs[i] = (X86MsrEntry){ .index = idx[i] };
    return msrs_io(vcpu_fd, false, s->msrs, s->nmsrs, errp);
}

/* Writes the MSRs of @s that are (@deadline) or are not (!@deadline) TSC_DEADLINE. */
static int put_msrs(int vcpu_fd, const X86CPUState *s, bool deadline, GError **errp)
{
    X86MsrEntry m[X86_MAX_MSRS];
    unsigned n = 0;
    for (unsigned i = 0; i < MIN(s->nmsrs, (uint32_t)X86_MAX_MSRS); i++)
        if ((s->msrs[i].index == MSR_IA32_TSC_DEADLINE) == deadline)
            m[n++] = (X86MsrEntry){ .index = s->msrs[i].index, .data = s->msrs[i].data };
    return msrs_io(vcpu_fd, true, m, n, errp);
}

/* ---- Get -------------------------------------------------------------------------- */

static int get_fpu(int kvm_fd, int vcpu_fd, X86CPUState *s, GError **errp)
{
    int size = check_ext(kvm_fd, KVM_CAP_XSAVE2);
    if (size > X86_XSAVE_MAX) {
        g_set_error(errp, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED,
                    "KVM_CAP_XSAVE2: XSAVE area of %d bytes exceeds %d", size, X86_XSAVE_MAX);
        return -E2BIG;
    }
    if (size > 0) {
        TRY(vcpu_fd, KVM_GET_XSAVE2, s->xsave);
    } else if (check_ext(kvm_fd, KVM_CAP_XSAVE)) {
        size = sizeof(struct kvm_xsave);
        TRY(vcpu_fd, KVM_GET_XSAVE, s->xsave);
    } else {
        TRY(vcpu_fd, KVM_GET_FPU, &s->fpu);
        return 0;
    }
    s->xsave_len = size;
    s->flags |= X86_STATE_XSAVE;
    if (check_ext(kvm_fd, KVM_CAP_XCRS)) {
        TRY(vcpu_fd, KVM_GET_XCRS, &s->xcrs);
        s->flags |= X86_STATE_XCRS;
    }
    return 0;
}

/* LAPIC, events, debug registers, TSC frequency: each only where KVM has it. */
static int get_optional(int kvm_fd, int vcpu_fd, X86CPUState *s, GError **errp)
{
    int e = xioctl(vcpu_fd, KVM_GET_LAPIC, &s->lapic);
    if (e == 0)
        s->flags |= X86_STATE_LAPIC;
    else if (e != -EINVAL && e != -ENXIO)     /* no in-kernel LAPIC: not an error */
        return fail(errp, e, "KVM_GET_LAPIC");
    if (check_ext(kvm_fd, KVM_CAP_VCPU_EVENTS)) {
        TRY(vcpu_fd, KVM_GET_VCPU_EVENTS, &s->events);
        s->flags |= X86_STATE_EVENTS;
    }
    if (check_ext(kvm_fd, KVM_CAP_DEBUGREGS)) {
        TRY(vcpu_fd, KVM_GET_DEBUGREGS, &s->debugregs);
        s->flags |= X86_STATE_DEBUGREGS;
    }
    if (check_ext(kvm_fd, KVM_CAP_GET_TSC_KHZ)) {
        int khz = ioctl(vcpu_fd, KVM_GET_TSC_KHZ, 0);
        s->tsc_khz = khz > 0 ? khz : 0;
    }
    return 0;
}

int x86_cpu_get_state_err(int kvm_fd, int vcpu_fd, X86CPUState *s, GError **errp)
{
    int e;
    memset(s, 0, sizeof(*s));
    /* MP_STATE first: it can change CS:RIP of an AP that took a SIPI (QEMU's order). */
    TRY(vcpu_fd, KVM_GET_MP_STATE, &s->mp_state);
    s->flags |= X86_STATE_MP_STATE;
    TRY(vcpu_fd, KVM_GET_REGS, &s->regs);
    if ((e = get_fpu(kvm_fd, vcpu_fd, s, errp)) < 0)
        return e;
    TRY(vcpu_fd, KVM_GET_SREGS, &s->sregs);
    if ((e = get_msrs(kvm_fd, vcpu_fd, s, errp)) < 0)
        return e;
    return get_optional(kvm_fd, vcpu_fd, s, errp);
}

int x86_cpu_get_state(int kvm_fd, int vcpu_fd, X86CPUState *s)
{
    g_autoptr(GError) err = NULL;
    int e = x86_cpu_get_state_err(kvm_fd, vcpu_fd, s, &err);
    if (e < 0)
        g_warning("reading vCPU state: %s", err->message);
    return e;
}

/* ---- Put -------------------------------------------------------------------------- */

static int put_tsc_khz(int vcpu_fd, const X86CPUState *s, GError **errp)
{
    if (!s->tsc_khz)
        return 0;
    int cur = ioctl(vcpu_fd, KVM_GET_TSC_KHZ, 0);
    if (cur > 0 && (uint64_t)cur == s->tsc_khz)
        return 0;
    int e = xioctl(vcpu_fd, KVM_SET_TSC_KHZ, (void *)(uintptr_t)s->tsc_khz);
    if (e < 0) {
        g_set_error(errp, G_IO_ERROR, g_io_error_from_errno(-e),
                    "KVM_SET_TSC_KHZ: cannot run the vCPU at %" PRIu64 " kHz (host: %d kHz): %s",
                    s->tsc_khz, cur, g_strerror(-e));
        return e;
    }
    return 0;
}

static int put_fpu(int vcpu_fd, const X86CPUState *s, GError **errp)
{
    if (!(s->flags & X86_STATE_XSAVE)) {
        TRY(vcpu_fd, KVM_SET_FPU, (void *)&s->fpu);
        return 0;
    }
    if (s->xsave_len > X86_XSAVE_MAX)
        return fail(errp, -EINVAL, "KVM_SET_XSAVE (xsave_len)");
    TRY(vcpu_fd, KVM_SET_XSAVE, (void *)s->xsave);
    if (s->flags & X86_STATE_XCRS)
        TRY(vcpu_fd, KVM_SET_XCRS, (void *)&s->xcrs);
    return 0;
}

static int put_events(int vcpu_fd, const X86CPUState *s, GError **errp)
{
    if (s->flags & X86_STATE_LAPIC)
        TRY(vcpu_fd, KVM_SET_LAPIC, (void *)&s->lapic);
    if (s->flags & X86_STATE_EVENTS) {
        struct kvm_vcpu_events ev = s->events;
        /* Restore the pending NMI and SIPI vector too (api.rst, KVM_SET_VCPU_EVENTS). */
        ev.flags |= KVM_VCPUEVENT_VALID_NMI_PENDING | KVM_VCPUEVENT_VALID_SIPI_VECTOR;
        TRY(vcpu_fd, KVM_SET_VCPU_EVENTS, &ev);
    }
    if (s->flags & X86_STATE_MP_STATE)
        TRY(vcpu_fd, KVM_SET_MP_STATE, (void *)&s->mp_state);
    return 0;
}

int x86_cpu_put_state_err(int vcpu_fd, const X86CPUState *s, GError **errp)
{
    int e;
    TRY(vcpu_fd, KVM_SET_SREGS, (void *)&s->sregs);
    if ((e = put_tsc_khz(vcpu_fd, s, errp)) < 0)
        return e;
    TRY(vcpu_fd, KVM_SET_REGS, (void *)&s->regs);
    if ((e = put_fpu(vcpu_fd, s, errp)) < 0 || (e = put_msrs(vcpu_fd, s, false, errp)) < 0 ||
        (e = put_events(vcpu_fd, s, errp)) < 0 || (e = put_msrs(vcpu_fd, s, true, errp)) < 0)
        return e;
    if (s->flags & X86_STATE_DEBUGREGS)
        TRY(vcpu_fd, KVM_SET_DEBUGREGS, (void *)&s->debugregs);
    return 0;
}

int x86_cpu_put_state(int vcpu_fd, const X86CPUState *s)
{
    g_autoptr(GError) err = NULL;
    int e = x86_cpu_put_state_err(vcpu_fd, s, &err);
    if (e < 0)
        g_warning("writing vCPU state: %s", err->message);
    return e;
}

/* ---- Power-on MSRs ------------------------------------------------------------------ */

int x86_cpu_setup_msrs(int vcpu_fd, uint64_t ram_below_4g)
{
    g_autoptr(GError) err = NULL;
    int e = x86_cpu_setup_msrs_err(vcpu_fd, ram_below_4g, &err);
    if (e < 0)
        g_warning("setting the power-on MSRs: %s", err->message);
    return e;
}

int x86_cpu_setup_msrs_err(int vcpu_fd, uint64_t ram_below_4g, GError **errp)
{
    g_autoptr(GError) err = NULL;
    g_autofree struct kvm_cpuid2 *c = vcpu_cpuid(vcpu_fd, &err);
    int e = -EIO;
    if (c) {
        const struct kvm_cpuid_entry2 *l1 = x86_cpuid_find(c, 1, 0);
        const struct kvm_cpuid_entry2 *a = x86_cpuid_find(c, 0x80000008, 0);
        bool mtrr = l1 && (l1->edx & F1_EDX_MTRR);
        X86MsrEntry m[X86_MAX_MSRS];
        unsigned n = x86_msr_reset_values(ram_below_4g, a ? a->eax & 0xff : 36, mtrr,
                                          m, X86_MAX_MSRS);
        e = msrs_io(vcpu_fd, true, m, n, &err);
    }
    if (e < 0)
        g_propagate_error(errp, g_steal_pointer(&err));
    return e;
}
