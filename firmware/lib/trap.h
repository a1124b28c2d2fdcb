/* CPU exceptions: an IDT whose 32 vectors print what happened over COM1 and stop. */
#ifndef GUEST_TRAP_H
#define GUEST_TRAP_H

#include <stdint.h>
#include "io.h"

/* What exc_common (entry.S) hands to guest_exception: the stack at the fault. */
struct trap_frame {
    uint64_t vector, error, rip, cs, rflags, rsp, ss;
};

/* Loads the IDT (interrupts stay disabled: only exceptions arrive). */
void trap_init(void);
/* Called after an exception has been reported, before the CPU halts (e.g. test failure exit). */
extern void (*trap_fatal_hook)(void);
void guest_exception(struct trap_frame *f);

#endif
