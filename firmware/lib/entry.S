/*
 * PVH entry for freestanding Vireo guests.
 *
 * The x86 PVH boot ABI (Xen docs/misc/pvh.pandoc, also implemented by QEMU's -kernel and by
 * Vireo): the loader finds the entry in an ELF note of type XEN_ELFNOTE_PHYS32_ENTRY (18),
 * name "Xen", and starts the CPU there in 32-bit protected mode, paging off, flat 4 GiB
 * CS/DS/ES/SS, interrupts off, with EBX = physical address of struct hvm_start_info.
 *
 * We identity-map the low 4 GiB with 2 MiB pages (enough for RAM, the PCI hole, the IOAPIC
 * and LAPIC), switch to long mode and call guest_entry(start_info) in C.  The work is kept
 * to a few thousand instructions because some KVM hosts emulate every guest instruction.
 */

#define XEN_ELFNOTE_PHYS32_ENTRY 18
#define MSR_EFER   0xc0000080
#define EFER_LME   (1 << 8)
#define CR4_PAE    (1 << 5)
#define CR0_PG     (1 << 31)
#define PTE_P_RW   0x3
#define PTE_PS     0x80
#define SEL_CODE64 0x08
#define SEL_DATA   0x10

    /* ELF note: namesz, descsz, type, "Xen\0", 32-bit entry.  4-byte aligned (ELF64 notes
     * with p_align 4, as Linux emits them; QEMU aligns the name by p_align). */
    .section .note.pvh, "a", @note
    .balign 4
    .long 4
    .long 4
    .long XEN_ELFNOTE_PHYS32_ENTRY
    .asciz "Xen"
    .long pvh_entry32

    .section .text.entry, "ax", @progbits
    .code32
    .globl pvh_entry32
pvh_entry32:
    cli
    cld
    /* EBX (start_info) is kept untouched until guest_entry.  ESP is unspecified at entry:
     * take our own stack before the first push.  The control registers and flags as the
     * loader left them are kept for tests/guest/pvh.c. */
    movl $stack_top, %esp
    pushfl
    popl pvh_entry_eflags
    movl %cr0, %eax
    movl %eax, pvh_entry_cr0
    movl %cr4, %eax
    movl %eax, pvh_entry_cr4
    lgdt gdt_desc

    /* Zero .bss: the page tables and the C program's zero-initialised data live there. */
    movl $__bss_start, %edi
    movl $__bss_end, %ecx
    subl %edi, %ecx
    shrl $2, %ecx
    xorl %eax, %eax
    rep stosl

    /* PML4[0] -> PDPT; PDPT[0..3] -> the four page directories. */
    movl $(pt_pdpt + PTE_P_RW), pt_pml4
    movl $(pt_pd + PTE_P_RW), %eax
    movl $pt_pdpt, %edi
    movl $4, %ecx
1:  movl %eax, (%edi)
    addl $0x1000, %eax
    addl $8, %edi
    loop 1b

    /* 2048 PDEs, each a 2 MiB page: identity map of 0 .. 4 GiB (high dwords stay zero). */
    movl $(PTE_P_RW + PTE_PS), %eax
    movl $pt_pd, %edi
    movl $2048, %ecx
2:  movl %eax, (%edi)
    addl $0x200000, %eax
    addl $8, %edi
    loop 2b

    movl %cr4, %eax
    orl $CR4_PAE, %eax
    movl %eax, %cr4
    movl $pt_pml4, %eax
    movl %eax, %cr3
    movl $MSR_EFER, %ecx
    rdmsr
    orl $EFER_LME, %eax
    wrmsr
    movl %cr0, %eax
    orl $CR0_PG, %eax
    movl %eax, %cr0
    ljmp $SEL_CODE64, $entry64

    .code64
entry64:
    movl $SEL_DATA, %eax
    movl %eax, %ds
    movl %eax, %es
    movl %eax, %ss
    movl %eax, %fs
    movl %eax, %gs
    movq $stack_top, %rsp
    xorl %ebp, %ebp
    movl %ebx, %edi             /* zero-extends: rdi = start_info */
    call guest_entry
3:  cli
    hlt
    jmp 3b

/* Exception stubs: push a dummy error code where the CPU pushes none, then the vector. */
    .macro exc_stub vec, has_err
    .balign 16
    .if \has_err == 0
    pushq $0
    .endif
    pushq $\vec
    jmp exc_common
    .endm

    .balign 16
    .globl exc_stubs
exc_stubs:
    exc_stub 0, 0
    exc_stub 1, 0
    exc_stub 2, 0
    exc_stub 3, 0
    exc_stub 4, 0
    exc_stub 5, 0
    exc_stub 6, 0
    exc_stub 7, 0
    exc_stub 8, 1
    exc_stub 9, 0
    exc_stub 10, 1
    exc_stub 11, 1
    exc_stub 12, 1
    exc_stub 13, 1
    exc_stub 14, 1
    exc_stub 15, 0
    exc_stub 16, 0
    exc_stub 17, 1
    exc_stub 18, 0
    exc_stub 19, 0
    exc_stub 20, 0
    exc_stub 21, 1
    exc_stub 22, 0
    exc_stub 23, 0
    exc_stub 24, 0
    exc_stub 25, 0
    exc_stub 26, 0
    exc_stub 27, 0
    exc_stub 28, 0
    exc_stub 29, 1
    exc_stub 30, 1
    exc_stub 31, 0

exc_common:
    /* Stack: vector, error code, RIP, CS, RFLAGS, RSP, SS.  The handler never returns. */
    movq %rsp, %rdi
    andq $-16, %rsp
    call guest_exception
4:  cli
    hlt
    jmp 4b

    .section .data.entry, "aw", @progbits
    .balign 4
    .globl pvh_entry_eflags, pvh_entry_cr0, pvh_entry_cr4
pvh_entry_eflags: .long 0
pvh_entry_cr0:    .long 0
pvh_entry_cr4:    .long 0

    .section .rodata.entry, "a", @progbits
    .balign 8
gdt:
    .quad 0                     /* null */
    .quad 0x00af9a000000ffff    /* 0x08: 64-bit code, DPL 0 */
    .quad 0x00cf92000000ffff    /* 0x10: flat data */
gdt_end:
gdt_desc:
    .word gdt_end - gdt - 1
    .long gdt

    .section .bss.pagetables, "aw", @nobits
    .balign 4096
pt_pml4: .skip 4096
pt_pdpt: .skip 4096
pt_pd:   .skip 4 * 4096

    .section .stack, "aw", @nobits
    .balign 16
    .skip 16384
stack_top:

    .section .note.GNU-stack, "", @progbits
