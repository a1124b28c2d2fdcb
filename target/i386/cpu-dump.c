/*
 * Register dump in the layout of QEMU's `info registers` (x86_cpu_dump_state), so
 * KVM internal-error reports and HMP output read the same as QEMU's. Segment
 * "flags" are the high dword of the descriptor (SDM vol. 3A 3.4.5): type at bit 8,
 * S 12, DPL 13, P 15, AVL 20, L 21, D/B 22, G 23.
 */
#include "cpu-int.h"
#include <inttypes.h>
#include <string.h>

#define EFER_LMA (1u << 10)

static uint32_t seg_flags(const struct kvm_segment *s)
{
    return (uint32_t)s->type << 8 | (uint32_t)!!s->s << 12 | (uint32_t)(s->dpl & 3) << 13 |
           (uint32_t)(s->present && !s->unusable) << 15 | (uint32_t)!!s->avl << 20 |
           (uint32_t)!!s->l << 21 | (uint32_t)!!s->db << 22 | (uint32_t)!!s->g << 23;
}

/* "DPL=0 CS64 [-R-]" and friends for a present descriptor in protected mode. */
static void seg_decode(GString *out, uint32_t f, bool lma)
{
    static const char *const sys[2][16] = {
        { "Reserved", "TSS16-avl", "LDT", "TSS16-busy", "CallGate16", "TaskGate",
          "IntGate16", "TrapGate16", "Reserved", "TSS32-avl", "Reserved", "TSS32-busy",
          "CallGate32", "Reserved", "IntGate32", "TrapGate32" },
        { "<hiword>", "Reserved", "LDT", "Reserved", "Reserved", "Reserved", "Reserved",
          "Reserved", "Reserved", "TSS64-avl", "Reserved", "TSS64-busy", "CallGate64",
          "Reserved", "IntGate64", "TrapGate64" },
    };
    unsigned type = f >> 8 & 0xf;
    g_string_append_printf(out, " DPL=%u ", f >> 13 & 3);
    if (!(f & (1u << 12))) {
        g_string_append(out, sys[lma][type]);
        return;
    }
    if (type & 8)                       /* code: conforming, readable */
        g_string_append_printf(out, "%s [%c%c", f & (1u << 21) ? "CS64" :
                               f & (1u << 22) ? "CS32" : "CS16",
                               type & 4 ? 'C' : '-', type & 2 ? 'R' : '-');
    else                                /* data: expand-down, writable */
        g_string_append_printf(out, "%s [%c%c", (f & (1u << 22)) || lma ? "DS  " : "DS16",
                               type & 4 ? 'E' : '-', type & 2 ? 'W' : '-');
    g_string_append_printf(out, "%c]", type & 1 ? 'A' : '-');
}

static void dump_seg(GString *out, const char *name, const struct kvm_segment *s, bool lma,
                     bool pe)
{
    uint32_t f = seg_flags(s);
    if (lma)
        g_string_append_printf(out, "%-3s=%04x %016" PRIx64 " %08x %08x", name, s->selector,
                               (uint64_t)s->base, s->limit, f);
    else
        g_string_append_printf(out, "%-3s=%04x %08x %08x %08x", name, s->selector,
                               (uint32_t)s->base, s->limit, f);
    if (pe && (f & (1u << 15)))
        seg_decode(out, f, lma);
    g_string_append_c(out, '\n');
}

static void dump_gprs(GString *out, const X86CPUState *s, bool cs64)
{
    const struct kvm_regs *r = &s->regs;
    uint32_t fl = r->rflags;
    const uint64_t g[16] = { r->rax, r->rbx, r->rcx, r->rdx, r->rsi, r->rdi, r->rbp, r->rsp,
                             r->r8, r->r9, r->r10, r->r11, r->r12, r->r13, r->r14, r->r15 };
    static const char *const n64[16] = { "RAX", "RBX", "RCX", "RDX", "RSI", "RDI", "RBP", "RSP",
                                         "R8 ", "R9 ", "R10", "R11", "R12", "R13", "R14", "R15" };
    static const char *const n32[8] = { "EAX", "EBX", "ECX", "EDX", "ESI", "EDI", "EBP", "ESP" };
    for (int i = 0; i < (cs64 ? 16 : 8); i++) {
        if (cs64)
            g_string_append_printf(out, "%s=%016" PRIx64, n64[i], g[i]);
        else
            g_string_append_printf(out, "%s=%08x", n32[i], (uint32_t)g[i]);
        g_string_append_c(out, i % 4 == 3 ? '\n' : ' ');
    }
    if (cs64)
        g_string_append_printf(out, "RIP=%016" PRIx64 " RFL=%08x", (uint64_t)r->rip, fl);
    else
        g_string_append_printf(out, "EIP=%08x EFL=%08x", (uint32_t)r->rip, fl);
    g_string_append_printf(out, " [%c%c%c%c%c%c%c] CPL=%u II=%d A20=1 SMM=%d HLT=%d\n",
                           fl & 0x400 ? 'D' : '-', fl & 0x800 ? 'O' : '-', fl & 0x80 ? 'S' : '-',
                           fl & 0x40 ? 'Z' : '-', fl & 0x10 ? 'A' : '-', fl & 0x4 ? 'P' : '-',
                           fl & 0x1 ? 'C' : '-', s->sregs.ss.dpl & 3,
                           s->events.interrupt.shadow ? 1 : 0, s->events.smi.smm ? 1 : 0,
                           s->mp_state.mp_state == KVM_MP_STATE_HALTED);
}

static void dump_system(GString *out, const X86CPUState *s, bool lma)
{
    const struct kvm_sregs *sr = &s->sregs;
    const struct kvm_dtable *dt[2] = { &sr->gdt, &sr->idt };
    for (int i = 0; i < 2; i++) {
        if (lma)
            g_string_append_printf(out, "%s=     %016" PRIx64 " %08x\n", i ? "IDT" : "GDT",
                                   (uint64_t)dt[i]->base, dt[i]->limit);
        else
            g_string_append_printf(out, "%s=     %08x %08x\n", i ? "IDT" : "GDT",
                                   (uint32_t)dt[i]->base, dt[i]->limit);
    }
    if (lma)
        g_string_append_printf(out, "CR0=%08x CR2=%016" PRIx64 " CR3=%016" PRIx64 " CR4=%08x\n",
                               (uint32_t)sr->cr0, (uint64_t)sr->cr2, (uint64_t)sr->cr3,
                               (uint32_t)sr->cr4);
    else
        g_string_append_printf(out, "CR0=%08x CR2=%08x CR3=%08x CR4=%08x\n", (uint32_t)sr->cr0,
                               (uint32_t)sr->cr2, (uint32_t)sr->cr3, (uint32_t)sr->cr4);
    for (int i = 0; i < 4; i++)
        g_string_append_printf(out, "DR%d=%016" PRIx64 " ", i, (uint64_t)s->debugregs.db[i]);
    g_string_append_printf(out, "\nDR6=%016" PRIx64 " DR7=%016" PRIx64 "\n",
                           (uint64_t)s->debugregs.dr6, (uint64_t)s->debugregs.dr7);
    g_string_append_printf(out, "EFER=%016" PRIx64 "\n", (uint64_t)sr->efer);
}

static uint64_t le(const uint8_t *p, int n)
{
    uint64_t v = 0;
    for (int i = 0; i < n; i++)
        v |= (uint64_t)p[i] << (8 * i);
    return v;
}

/* x87/SSE registers from the legacy region of the XSAVE area (FXSAVE layout, SDM
 * vol. 1 10.5.1) or from struct kvm_fpu. */
static void dump_fpu(GString *out, const X86CPUState *s, bool cs64)
{
    uint16_t fcw, fsw;
    uint8_t ftw;
    uint32_t mxcsr;
    const uint8_t *st, *xmm;
    if (s->flags & X86_STATE_XSAVE) {
        const uint8_t *x = s->xsave;
        fcw = le(x, 2), fsw = le(x + 2, 2), ftw = x[4], mxcsr = le(x + 24, 4);
        st = x + 32, xmm = x + 160;
    } else {
        fcw = s->fpu.fcw, fsw = s->fpu.fsw, ftw = s->fpu.ftwx, mxcsr = s->fpu.mxcsr;
        st = &s->fpu.fpr[0][0], xmm = &s->fpu.xmm[0][0];
    }
    g_string_append_printf(out, "FCW=%04x FSW=%04x [ST=%d] FTW=%02x MXCSR=%08x\n",
                           fcw, fsw, fsw >> 11 & 7, ftw, mxcsr);
    for (int i = 0; i < 8; i++)
        g_string_append_printf(out, "FPR%d=%016" PRIx64 " %04x%c", i, le(st + 16 * i, 8),
                               (unsigned)le(st + 16 * i + 8, 2), i & 1 ? '\n' : ' ');
    for (int i = 0; i < (cs64 ? 16 : 8); i++)
        g_string_append_printf(out, "XMM%02d=%016" PRIx64 "%016" PRIx64 "%c", i,
                               le(xmm + 16 * i + 8, 8), le(xmm + 16 * i, 8), i & 1 ? '\n' : ' ');
}

void x86_cpu_dump_state(const X86CPUState *s, GString *out)
{
    const struct kvm_sregs *sr = &s->sregs;
    bool lma = sr->efer & EFER_LMA, pe = sr->cr0 & 1, cs64 = lma && sr->cs.l;
    static const char *const names[6] = { "ES", "CS", "SS", "DS", "FS", "GS" };
    const struct kvm_segment *segs[6] = { &sr->es, &sr->cs, &sr->ss, &sr->ds, &sr->fs, &sr->gs };
    dump_gprs(out, s, cs64);
    for (int i = 0; i < 6; i++)
        dump_seg(out, names[i], segs[i], lma, pe);
    dump_seg(out, "LDT", &sr->ldt, lma, pe);
    dump_seg(out, "TR", &sr->tr, lma, pe);
    dump_system(out, s, lma);
    dump_fpu(out, s, cs64);
}
