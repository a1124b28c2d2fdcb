#include "test.h"
#include "io.h"
#include "uart.h"
#include "trap.h"

static const char *test_name;
static unsigned checks, failures;

void debug_exit(uint32_t v)
{
    uart_flush();
    outl(DEBUG_EXIT_PORT, v);
}

static void test_exception_hook(void)
{
    kprintf("=== %s: FAIL (CPU exception)\n", test_name);
    debug_exit(TEST_FAIL_CODE);
}

void test_begin(const char *name)
{
    test_name = name;
    trap_fatal_hook = test_exception_hook;
    kprintf("\n=== %s: START\n", name);
}

bool test_check(bool cond, const char *fmt, ...)
{
    va_list ap;
    checks++;
    failures += !cond;
    putstr(cond ? "  ok   - " : "  FAIL - ");
    va_start(ap, fmt);
    kvprintf(fmt, ap);
    va_end(ap);
    putstr("\n");
    return cond;
}

unsigned test_failures(void)
{
    return failures;
}

void test_end(void)
{
    test_end_with(TEST_PASS_CODE);
}

void test_end_with(uint32_t pass_code)
{
    if (failures)
        kprintf("=== %s: FAIL (%u of %u checks failed)\n", test_name, failures, checks);
    else
        kprintf("=== %s: PASS (%u checks)\n", test_name, checks);
    debug_exit(failures ? TEST_FAIL_CODE : pass_code);
    kprintf("=== %s: isa-debug-exit did not exit the VMM\n", test_name);
    cpu_halt_forever();
}
