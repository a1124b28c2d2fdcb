/*
 * Triple fault: the first boot marks CMOS byte 0x7d and then faults with an empty IDT
 * (an exception that cannot be delivered becomes a double fault, then a triple fault,
 * Intel SDM vol. 3 6.15 "Interrupt 8"). A VMM resets the machine on a triple fault, so
 * the guest boots again, finds the mark, clears it and passes. Under -no-reboot the VMM
 * exits instead (status 0) and the second boot never happens.
 */
#include "lib/cmos.h"
#include "lib/io.h"
#include "lib/test.h"

#define MARK_REG 0x7d
#define MARK     0x5a

int guest_main(void)
{
    test_begin("triplefault");
    if (cmos_read(MARK_REG) == MARK) {
        cmos_write(MARK_REG, 0);
        CHECK(true, "second boot after the triple fault: the VMM reset the machine");
        CHECK(cmos_read(MARK_REG) == 0, "CMOS mark cleared");
        test_end();
    }
    cmos_write(MARK_REG, MARK);
    CHECK(cmos_read(MARK_REG) == MARK, "CMOS mark set; now faulting with an empty IDT");
    struct { uint16_t limit; uint64_t base; } __attribute__((packed)) idt = { 0, 0 };
    __asm__ volatile("lidt %0; int3" :: "m"(idt));
    CHECK(false, "still running after the triple fault");
    test_end();
}
