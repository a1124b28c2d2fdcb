/* Command-line parsing: values, suffixes, topology, and errors naming the culprit. */
#include "vireo/cmdline.h"
#include <string.h>

static bool parse(VireoOptions *o, GError **err, ...)
{
    char *argv[32] = { "vireo" };
    int argc = 1;
    va_list ap;
    va_start(ap, err);
    for (char *a; (a = va_arg(ap, char *)) != NULL;)
        argv[argc++] = a;
    va_end(ap);
    return cmdline_parse(argc, argv, o, err);
}

static void expect_error(const char *needle, ...)
{
    char *argv[32] = { "vireo" };
    int argc = 1;
    va_list ap;
    va_start(ap, needle);
    for (char *a; (a = va_arg(ap, char *)) != NULL;)
        argv[argc++] = a;
    va_end(ap);
    VireoOptions o;
    GError *err = NULL;
    g_assert_false(cmdline_parse(argc, argv, &o, &err));
    if (!strstr(err->message, needle))
        g_error("error '%s' lacks '%s'", err->message, needle);
    g_assert_null(strchr(err->message, '\n'));
    g_clear_error(&err);
    cmdline_free(&o);
}

static void test_basic(void)
{
    VireoOptions o;
    g_assert_true(parse(&o, NULL, "-machine", "pc,accel=kvm", "-m", "512", "-smp", "2",
                        "-kernel", "k", "-initrd", "i", "-append", "console=ttyS0",
                        "-nographic", "-no-reboot", "-S", "--name", "guest=vm1", NULL));
    g_assert_cmpuint(o.machine.ram_size, ==, 512ULL << 20);
    g_assert_cmpuint(o.machine.smp_cpus, ==, 2);
    g_assert_cmpuint(o.machine.sockets, ==, 2);
    g_assert_cmpstr(o.machine.kernel, ==, "k");
    g_assert_cmpstr(o.machine.append, ==, "console=ttyS0");
    g_assert_cmpstr(o.machine.name, ==, "vm1");
    g_assert_true(o.nographic && o.machine.no_reboot && o.machine.start_paused);
    cmdline_free(&o);
}

static void test_mem(void)
{
    uint64_t v;
    g_assert_true(cmdline_parse_mem("2G", &v, NULL));
    g_assert_cmpuint(v, ==, 2ULL << 30);
    g_assert_true(cmdline_parse_mem("size=768M", &v, NULL));
    g_assert_cmpuint(v, ==, 768ULL << 20);
    g_assert_true(cmdline_parse_mem("1024", &v, NULL));
    g_assert_cmpuint(v, ==, 1ULL << 30);
    expect_error("-m 12Q", "-m", "12Q", NULL);
    expect_error("-m -5", "-m", "-5", NULL);
    expect_error("at least 2 MiB", "-m", "1", NULL);
    expect_error("Invalid parameter 'foo'", "-m", "1G,foo=2", NULL);
}

static void test_smp(void)
{
    MachineOpts mo = {0};
    g_assert_true(cmdline_parse_smp("4,sockets=1,cores=2,threads=2", &mo, NULL));
    g_assert_cmpuint(mo.smp_cpus, ==, 4);
    g_assert_cmpuint(mo.cores, ==, 2);
    g_assert_cmpuint(mo.threads, ==, 2);
    g_assert_true(cmdline_parse_smp("sockets=2,cores=3", &mo, NULL));
    g_assert_cmpuint(mo.smp_cpus, ==, 6);
    expect_error("greater than zero", "-smp", "0", NULL);
    expect_error("product of the hierarchy", "-smp", "8,sockets=1,cores=2,threads=2", NULL);
    expect_error("invalid value 'x'", "-smp", "x", NULL);
}

static void test_errors(void)
{
    expect_error("-bogus: invalid option", "-bogus", NULL);
    expect_error("-kernel: requires an argument", "-kernel", NULL);
    expect_error("-machine q35x", "-machine", "q35x", NULL);
    expect_error("unsupported accelerator", "-accel", "tcg", NULL);
    expect_error("unexpected argument", "disk.img", NULL);
    expect_error("-rtc base=mars", "-rtc", "base=mars", NULL);
}

static void test_help(void)
{
    VireoOptions o;
    g_assert_true(parse(&o, NULL, "-machine", "help", NULL));
    g_assert_true(o.machine_help);
    cmdline_free(&o);
    g_assert_true(parse(&o, NULL, "-device", "?", NULL));
    g_assert_true(o.device_help);
    cmdline_free(&o);
    g_assert_true(parse(&o, NULL, "-cpu", "help", "--version", NULL));
    g_assert_true(o.cpu_help && o.want_version);
    cmdline_free(&o);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/cmdline/basic", test_basic);
    g_test_add_func("/cmdline/mem", test_mem);
    g_test_add_func("/cmdline/smp", test_smp);
    g_test_add_func("/cmdline/errors", test_errors);
    g_test_add_func("/cmdline/help", test_help);
    return g_test_run();
}
