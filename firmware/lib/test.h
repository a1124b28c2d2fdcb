/* A tiny test harness for guests: CHECK() lines on COM1, verdict through isa-debug-exit.
 *
 * isa-debug-exit (QEMU hw/misc/debugexit.c; Vireo the same): writing v to its port makes the
 * VMM exit with status (v << 1) | 1.  Guests report TEST_PASS_CODE / TEST_FAIL_CODE, chosen so
 * that neither status (0x43 = 67, 0x45 = 69) looks like a VMM's own error exit. */
#ifndef GUEST_TEST_H
#define GUEST_TEST_H

#include <stdint.h>
#include <stdbool.h>
#include "print.h"

#define DEBUG_EXIT_PORT 0xf4
#define TEST_PASS_CODE  0x21
#define TEST_FAIL_CODE  0x22

/* Exits the VMM with status (v << 1) | 1 (32-bit write; any width works).  Returns only if
 * the device is absent. */
void debug_exit(uint32_t v);

/* Prints "=== NAME: START" and arms the exception hook (exceptions fail the test). */
void test_begin(const char *name);
/* Records one check; prints "  ok   - ..." or "  FAIL - ..." with the formatted message. */
bool test_check(bool cond, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Number of failed checks so far. */
unsigned test_failures(void);
/* Prints an informational line (not a check). */
#define test_info(...) kprintf("  info - " __VA_ARGS__)
/* Prints "=== NAME: PASS (n checks)" or "FAIL (k of n failed)" and exits via debug-exit. */
__attribute__((noreturn)) void test_end(void);
/* Same, but a passing run exits with pass_code instead of TEST_PASS_CODE. */
__attribute__((noreturn)) void test_end_with(uint32_t pass_code);

#define CHECK(cond, ...) test_check((cond), __VA_ARGS__)

#endif
