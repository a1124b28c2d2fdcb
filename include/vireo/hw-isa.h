/*
 * The ISA devices of the pc board: 16550A UARTs (hw/char/serial.c), the MC146818 CMOS
 * RTC (hw/timer/rtc.c), the i8042 PS/2 controller (hw/input/i8042.c), port 0x92
 * (hw/misc/port92.c) and isa-debug-exit (hw/misc/debugexit.c).
 *
 * Each is a DeviceClass created with machine_create_device(); the functions below are
 * the extra entry points the board, the UI and unit tests use. All of them are called
 * with the machine lock held.
 */
#ifndef VIREO_HW_ISA_H
#define VIREO_HW_ISA_H

#include <stdbool.h>
#include <stdint.h>
#include "vireo/device.h"
#include "vireo/chardev.h"

typedef struct Machine Machine;

/* "isa-serial": iobase, irq (0 = the COM default of index), chardev, index. */
extern const DeviceClass serial_isa_class;
/* "mc146818rtc": iobase (0x70), irq (8), localtime (off). */
extern const DeviceClass rtc_mc146818_class;
/* "i8042": the PS/2 keyboard/mouse controller at 0x60/0x64, IRQ 1 and 12. */
extern const DeviceClass i8042_class;
/* "port92": system control port A (A20, fast reset). */
extern const DeviceClass port92_class;
/* "isa-debug-exit": iobase (0x501), iosize (2). */
extern const DeviceClass isa_debug_exit_class;

/* Default I/O base and IRQ of COM1..COM4 (index 0..3). */
uint16_t serial_isa_default_iobase(unsigned index);
uint8_t serial_isa_default_irq(unsigned index);
/* Gives the UART its backend directly (before realize), instead of the chardev
 * property; the board uses it for -serial backends that are not in the registry. */
void serial_isa_set_backend(Device *dev, Chardev *chr);

/*
 * Fills the NVRAM fields firmware reads (QEMU's pc_cmos_init layout): base memory
 * (0x15/0x16), extended memory (0x17/0x18, 0x30/0x31), RAM above 16 MiB (0x34/0x35)
 * and above 4 GiB (0x5b-0x5d) in 64 KiB units, CPUs - 1 (0x5f), boot order "cad"
 * (0x3d/0x38), the equipment byte (0x14) and the checksum (0x2e/0x2f).
 */
void rtc_cmos_set_machine_info(Device *rtc, Machine *m);
/* Boot order as -boot order= gives it ("cdn": a floppy, c disk, d cdrom, n net);
 * returns false (nothing changed) for another letter or more than 3 devices. */
bool rtc_cmos_set_boot_order(Device *rtc, const char *order);
/* Raw NVRAM access (addr 0..127) for the board; writes inside the checksummed range
 * 0x10-0x2d update the checksum at 0x2e/0x2f. */
uint8_t rtc_cmos_get(Device *rtc, unsigned addr);
void rtc_cmos_set(Device *rtc, unsigned addr, uint8_t val);
/* Bit 7 of the last write to the index port (the board's NMI mask). */
bool rtc_nmi_disabled(Device *rtc);

/* Queues bytes from the keyboard as it sends them in its current scancode set (set 2
 * after reset); the controller translates to set 1 when its command byte says so.
 * Dropped while the keyboard is disabled or its queue is full. */
void i8042_kbd_put_scancode(Device *dev, uint8_t code);
/* The scancode set the guest selected (1, 2 or 3). */
unsigned i8042_kbd_scancode_set(Device *dev);
/* A relative mouse movement (dx right, dy up) and button state (bit 0 left, 1 right,
 * 2 middle); queued as a standard 3-byte PS/2 packet when reporting is enabled. */
void i8042_mouse_event(Device *dev, int dx, int dy, unsigned buttons);
/* State of the A20 gate as the controller's output port (0xD1) last set it. */
bool i8042_a20_enabled(Device *dev);

/* How a device asks for a system reset; the default calls
 * vm_request_reset(SHUTDOWN_CAUSE_GUEST_RESET). Tests inject their own. */
typedef void IsaResetHook(void *opaque);
void i8042_set_reset_hook(Device *dev, IsaResetHook *fn, void *opaque);
void port92_set_reset_hook(Device *dev, IsaResetHook *fn, void *opaque);
bool port92_a20_enabled(Device *dev);

/* How isa-debug-exit ends the process; the default is vm_request_exit(status), so the
 * main loop returns @status and main() restores the terminal on its normal way out.
 * Tests inject their own. */
typedef void IsaExitHook(void *opaque, int status);
void debugexit_set_exit_hook(Device *dev, IsaExitHook *fn, void *opaque);

#endif
