#include "trap.h"
#include "print.h"

/* 64-bit interrupt gate (Intel SDM vol. 3, 6.14.1): 16 bytes. */
struct idt_gate {
    uint16_t off_lo, sel;
    uint8_t ist, type_attr;
    uint16_t off_mid;
    uint32_t off_hi, zero;
} __attribute__((packed));

static struct idt_gate idt[32];
void (*trap_fatal_hook)(void);

extern const char exc_stubs[];  /* entry.S: 32 stubs, 16 bytes apart */

void trap_init(void)
{
    for (int v = 0; v < 32; v++) {
        uint64_t a = (uintptr_t)(exc_stubs + 16 * v);
        idt[v] = (struct idt_gate){
            .off_lo = (uint16_t)a, .sel = 0x08, .type_attr = 0x8e,
            .off_mid = (uint16_t)(a >> 16), .off_hi = (uint32_t)(a >> 32),
        };
    }
    struct { uint16_t limit; uint64_t base; } __attribute__((packed)) desc = {
        sizeof(idt) - 1, (uintptr_t)idt,
    };
    __asm__ volatile("lidt %0" :: "m"(desc));
}

void guest_exception(struct trap_frame *f)
{
    uint64_t cr2;
    __asm__ volatile("mov %%cr2, %0" : "=r"(cr2));
    kprintf("\n*** CPU exception %u (error code 0x%lx) at rip=%lx rsp=%lx cr2=%lx\n",
            (unsigned)f->vector, f->error, f->rip, f->rsp, cr2);
    if (trap_fatal_hook)
        trap_fatal_hook();
    cpu_halt_forever();
}
