/*
 * Migration description of X86CPUState (ARCHITECTURE.md conventions 5 and 6).
 * The KVM structures travel as their uapi byte layout (little-endian on x86, fixed
 * by the kernel ABI); the header words are little-endian integers. Every byte of
 * X86CPUState is covered, which test-cpustate checks.
 */
#include "vireo/cpu.h"

static const VMStateField x86_cpu_fields[] = {
    VMS_FIELD(X86CPUState, flags),
    VMS_FIELD(X86CPUState, xsave_len),
    VMS_FIELD(X86CPUState, nmsrs),
    VMS_FIELD(X86CPUState, mp_state.mp_state),
    VMS_FIELD(X86CPUState, tsc_khz),
    VMS_BUF(X86CPUState, regs),
    VMS_BUF(X86CPUState, sregs),
    VMS_BUF(X86CPUState, fpu),
    VMS_BUF(X86CPUState, xcrs),
    VMS_BUF(X86CPUState, events),
    VMS_BUF(X86CPUState, debugregs),
    VMS_BUF(X86CPUState, lapic),
    VMS_BUF(X86CPUState, msrs),
    VMS_BUF(X86CPUState, xsave),
    VMS_END
};

#define KNOWN_FLAGS (X86_STATE_XSAVE | X86_STATE_XCRS | X86_STATE_LAPIC | X86_STATE_EVENTS | \
                     X86_STATE_DEBUGREGS | X86_STATE_MP_STATE)

/* A stream is hostile: counts stay inside the arrays, only the MSRs Vireo itself saves
 * may be written (x86_msr_name knows each), the XSAVE area is no larger than KVM's
 * buffer. What KVM then refuses (a reserved bit in CR4, an MSR value) fails the
 * KVM_SET_* ioctl and the load with it. */
static bool x86_cpu_post_load(void *opaque, int version, GError **errp)
{
    const X86CPUState *s = opaque;
    if (s->flags & ~KNOWN_FLAGS)
        return vmstate_invalid(errp, "x86-cpu", "unknown state flags %#x", s->flags);
    if (s->nmsrs > X86_MAX_MSRS)
        return vmstate_invalid(errp, "x86-cpu", "%u MSRs (at most %d)", s->nmsrs,
                               X86_MAX_MSRS);
    for (unsigned i = 0; i < s->nmsrs; i++)
        if (!x86_msr_name(s->msrs[i].index))
            return vmstate_invalid(errp, "x86-cpu", "MSR %#x is not one Vireo migrates",
                                   s->msrs[i].index);
    if ((s->flags & X86_STATE_XSAVE) &&
        (s->xsave_len < sizeof(struct kvm_xsave) || s->xsave_len > X86_XSAVE_MAX))
        return vmstate_invalid(errp, "x86-cpu", "XSAVE area of %u bytes", s->xsave_len);
    if (s->mp_state.mp_state > KVM_MP_STATE_SUSPENDED)
        return vmstate_invalid(errp, "x86-cpu", "MP state %u", s->mp_state.mp_state);
    if (s->tsc_khz > 100000000)
        return vmstate_invalid(errp, "x86-cpu", "TSC frequency %llu kHz",
                               (unsigned long long)s->tsc_khz);
    return true;
}

const VMStateDesc vmstate_x86_cpu = {
    .name = "x86-cpu",
    .version = 1,
    .min_version = 1,
    .fields = x86_cpu_fields,
    .post_load = x86_cpu_post_load,
};
