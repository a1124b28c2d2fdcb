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

const VMStateDesc vmstate_x86_cpu = {
    .name = "x86-cpu",
    .version = 1,
    .min_version = 1,
    .fields = x86_cpu_fields,
};
