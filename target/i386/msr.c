/*
 * The MSRs a vCPU's state includes, and their power-on values.
 *
 * The list is the set QEMU saves (target/i386/kvm/kvm.c, kvm_put_msrs): everything
 * architectural that KVM does not already carry in kvm_sregs (EFER, APIC_BASE) or
 * kvm_lapic_state. An MSR is transferred only when KVM_GET_MSR_INDEX_LIST names it
 * (KVM supports it on this host), the KVM paravirtual ones only when the guest's
 * CPUID 0x40000001 offers the feature (Documentation/virt/kvm/x86/msr.rst), and the
 * MTRRs (not listed by KVM, always emulated) only when CPUID.01H:EDX.MTRR is set.
 * Order matters: ASYNC_PF_INT before ASYNC_PF_EN (msr.rst), TSC_DEADLINE last
 * (written after the LAPIC by x86_cpu_put_state).
 */
#include "cpu-int.h"

#define MSR_IA32_TSC_DEADLINE 0x6e0

enum { NEED_LISTED = 1, NEED_MTRR = 2 };

typedef struct MsrDef {
    uint32_t index;
    const char *name;
    uint8_t need;           /* NEED_* */
    uint32_t kvm_feat;      /* any of these CPUID.40000001H:EAX bits */
} MsrDef;

#define L(i, n) { i, n, NEED_LISTED, 0 }
#define PV(i, n, bits) { i, n, NEED_LISTED, bits }
#define MTRR(i, n) { i, n, NEED_MTRR, 0 }

static const MsrDef msr_defs[] = {
    L(0x10, "MSR_IA32_TSC"),
    L(0x174, "MSR_IA32_SYSENTER_CS"), L(0x175, "MSR_IA32_SYSENTER_ESP"),
    L(0x176, "MSR_IA32_SYSENTER_EIP"),
    { 0x277, "MSR_IA32_CR_PAT", 0, 0 },        /* always emulated, not always listed */
    L(0xc0000081, "MSR_STAR"), L(0xc0000082, "MSR_LSTAR"), L(0xc0000083, "MSR_CSTAR"),
    L(0xc0000084, "MSR_SYSCALL_MASK"), L(0xc0000102, "MSR_KERNEL_GS_BASE"),
    L(0xc0000103, "MSR_TSC_AUX"), L(0x3b, "MSR_IA32_TSC_ADJUST"),
    L(0x1a0, "MSR_IA32_MISC_ENABLE"), L(0x48, "MSR_IA32_SPEC_CTRL"),
    L(0xc001011f, "MSR_AMD64_VIRT_SPEC_CTRL"), L(0xda0, "MSR_IA32_XSS"),
    L(0xe1, "MSR_IA32_UMWAIT_CONTROL"), L(0xd90, "MSR_IA32_BNDCFGS"),
    L(0x6e1, "MSR_IA32_PKRS"), L(0x122, "MSR_IA32_TSX_CTRL"),
    L(0x17a, "MSR_IA32_MCG_STATUS"), L(0x17b, "MSR_IA32_MCG_CTL"),
    L(0x3a, "MSR_IA32_FEAT_CTL"), L(0xc0010015, "MSR_K7_HWCR"),
    L(0xc0010117, "MSR_VM_HSAVE_PA"), L(0x34, "MSR_SMI_COUNT"),
    PV(0x11, "MSR_KVM_WALL_CLOCK", 1u << 0), PV(0x12, "MSR_KVM_SYSTEM_TIME", 1u << 0),
    PV(0x4b564d00, "MSR_KVM_WALL_CLOCK_NEW", 1u << 3),
    PV(0x4b564d01, "MSR_KVM_SYSTEM_TIME_NEW", 1u << 3),
    PV(0x4b564d06, "MSR_KVM_ASYNC_PF_INT", 1u << 14),
    PV(0x4b564d02, "MSR_KVM_ASYNC_PF_EN", 1u << 4),
    PV(0x4b564d03, "MSR_KVM_STEAL_TIME", 1u << 5),
    PV(0x4b564d04, "MSR_KVM_PV_EOI_EN", 1u << 6),
    PV(0x4b564d05, "MSR_KVM_POLL_CONTROL", 1u << 12),
    MTRR(0x2ff, "MSR_MTRRdefType"), MTRR(0x250, "MSR_MTRRfix64K_00000"),
    MTRR(0x258, "MSR_MTRRfix16K_80000"), MTRR(0x259, "MSR_MTRRfix16K_A0000"),
    MTRR(0x268, "MSR_MTRRfix4K_C0000"), MTRR(0x269, "MSR_MTRRfix4K_C8000"),
    MTRR(0x26a, "MSR_MTRRfix4K_D0000"), MTRR(0x26b, "MSR_MTRRfix4K_D8000"),
    MTRR(0x26c, "MSR_MTRRfix4K_E0000"), MTRR(0x26d, "MSR_MTRRfix4K_E8000"),
    MTRR(0x26e, "MSR_MTRRfix4K_F0000"), MTRR(0x26f, "MSR_MTRRfix4K_F8000"),
    MTRR(0x200, "MSR_MTRRphysBase0"), MTRR(0x201, "MSR_MTRRphysMask0"),
    MTRR(0x202, "MSR_MTRRphysBase1"), MTRR(0x203, "MSR_MTRRphysMask1"),
    MTRR(0x204, "MSR_MTRRphysBase2"), MTRR(0x205, "MSR_MTRRphysMask2"),
    MTRR(0x206, "MSR_MTRRphysBase3"), MTRR(0x207, "MSR_MTRRphysMask3"),
    MTRR(0x208, "MSR_MTRRphysBase4"), MTRR(0x209, "MSR_MTRRphysMask4"),
    MTRR(0x20a, "MSR_MTRRphysBase5"), MTRR(0x20b, "MSR_MTRRphysMask5"),
    MTRR(0x20c, "MSR_MTRRphysBase6"), MTRR(0x20d, "MSR_MTRRphysMask6"),
    MTRR(0x20e, "MSR_MTRRphysBase7"), MTRR(0x20f, "MSR_MTRRphysMask7"),
    L(MSR_IA32_TSC_DEADLINE, "MSR_IA32_TSC_DEADLINE"),
};

G_STATIC_ASSERT(G_N_ELEMENTS(msr_defs) <= X86_MAX_MSRS);

const char *x86_msr_name(uint32_t index)
{
    for (size_t i = 0; i < G_N_ELEMENTS(msr_defs); i++)
        if (msr_defs[i].index == index)
            return msr_defs[i].name;
    return NULL;
}

static bool listed(const uint32_t *kvm_msrs, unsigned n, uint32_t index)
{
    for (unsigned i = 0; i < n; i++)
        if (kvm_msrs[i] == index)
            return true;
    return false;
}

static uint32_t guest_reg(const struct kvm_cpuid2 *c, uint32_t fn, int reg)
{
    const struct kvm_cpuid_entry2 *e = x86_cpuid_find(c, fn, 0);
    if (!e)
        return 0;
    return reg == R_EAX ? e->eax : reg == R_EBX ? e->ebx : reg == R_ECX ? e->ecx : e->edx;
}

unsigned x86_msr_list_build(const uint32_t *kvm_msrs, unsigned n_kvm,
                            const struct kvm_cpuid2 *guest, uint32_t *out, unsigned max)
{
    bool mtrr = guest_reg(guest, 1, R_EDX) & F1_EDX_MTRR;
    uint32_t pv = guest_reg(guest, 0x40000001, R_EAX);
    unsigned n = 0;
    for (size_t i = 0; i < G_N_ELEMENTS(msr_defs) && n < max; i++) {
        const MsrDef *d = &msr_defs[i];
        if ((d->need & NEED_LISTED) && !listed(kvm_msrs, n_kvm, d->index))
            continue;
        if ((d->need & NEED_MTRR) && !mtrr)
            continue;
        if (d->kvm_feat && !(pv & d->kvm_feat))
            continue;
        out[n++] = d->index;
    }
    return n;
}

/* ---- Power-on values ------------------------------------------------------------ */

#define MTRR_UC 0
#define MTRR_WB 6
#define MTRR_BYTES(t) (0x0101010101010101ull * (t))   /* one type per sub-range */
#define MTRR_VALID (1ull << 11)
#define MTRR_VAR_MAX 8                                /* KVM_NR_VAR_MTRR */

static unsigned add(X86MsrEntry *out, unsigned n, unsigned max, uint32_t index, uint64_t v)
{
    if (n < max)
        out[n] = (X86MsrEntry){ .index = index, .data = v };
    return n + 1;
}

/* Covers [base, 4 GiB) with naturally aligned power-of-two uncacheable ranges
 * (SDM vol. 3A 11.11.3: a variable range is base/mask with size a power of two
 * and base a multiple of it); clears the pairs left over. */
static unsigned pci_hole_mtrrs(uint64_t base, unsigned phys_bits, X86MsrEntry *out,
                               unsigned n, unsigned max)
{
    const uint64_t top = 1ull << 32, addr_mask = (1ull << phys_bits) - 1;
    base = base ? (base + 4095) & ~4095ull : top;       /* 0: no hole */
    for (unsigned v = 0; v < MTRR_VAR_MAX; v++) {
        uint64_t size = 0, mask = 0, b = 0;
        if (base < top) {
            size = base ? base & -base : top;         /* largest alignment of base */
            while (base + size > top)
                size >>= 1;
            b = base | MTRR_UC;
            mask = (~(size - 1) & addr_mask) | MTRR_VALID;
            base += size;
        }
        n = add(out, n, max, 0x200 + 2 * v, b);
        n = add(out, n, max, 0x201 + 2 * v, mask);
    }
    return n;
}

unsigned x86_msr_reset_values(uint64_t ram_below_4g, unsigned phys_bits, bool mtrr,
                              X86MsrEntry *out, unsigned max)
{
    unsigned n = 0;
    n = add(out, n, max, 0x1a0, 1);                       /* MISC_ENABLE: fast strings */
    n = add(out, n, max, 0x277, 0x0007040600070406ull);   /* PAT power-on (SDM 11.12.4) */
    if (!mtrr)
        return MIN(n, max);
    phys_bits = CLAMP(phys_bits, 36u, 52u);
    /* Like SeaBIOS: write-back everywhere but the legacy VGA window and the PCI
     * hole; fixed ranges on (SDM 11.11.2). */
    n = add(out, n, max, 0x2ff, 0xc00 | MTRR_WB);
    n = add(out, n, max, 0x250, MTRR_BYTES(MTRR_WB));     /* 0 - 512 KiB */
    n = add(out, n, max, 0x258, MTRR_BYTES(MTRR_WB));     /* 512 - 640 KiB */
    n = add(out, n, max, 0x259, MTRR_BYTES(MTRR_UC));     /* 640 - 768 KiB: VGA */
    for (uint32_t i = 0x268; i <= 0x26f; i++)
        n = add(out, n, max, i, MTRR_BYTES(MTRR_WB));     /* 768 KiB - 1 MiB */
    n = pci_hole_mtrrs(ram_below_4g, phys_bits, out, n, max);
    return MIN(n, max);
}
