/* isa-debug-exit: the status arithmetic at each access width, properties and errors;
 * port92: A20 and the fast-reset edge. Exit and reset go to injected hooks. */
#include "vireo/hw-isa.h"
#include "vireo/machine.h"
#include <string.h>

typedef struct Exits {
    int count, status;
} Exits;

static void on_exit_hook(void *opaque, int status)
{
    Exits *e = opaque;
    e->count++;
    e->status = status;
}

static Device *make(Machine *m, const DeviceClass *cls, const char *opts, GError **errp)
{
    Device *d = device_new(m, cls);
    if (!device_set_props(d, opts, errp)) {
        device_free(d);
        return NULL;
    }
    return machine_add_device(m, d, errp) ? d : NULL;
}

static void test_status_arithmetic(void)
{
    Machine *m = machine_new_test(0);
    Exits e = { 0 };
    GError *err = NULL;
    Device *d = make(m, &isa_debug_exit_class, "iobase=0xf4,iosize=4", &err);
    g_assert_no_error(err);
    debugexit_set_exit_hook(d, on_exit_hook, &e);
    static const struct { uint64_t v; unsigned size; int status; } cases[] = {
        { 0x00, 1, 1 }, { 0x21, 1, 0x43 }, { 0x2a, 1, 85 }, { 0x7f, 1, 255 },
        { 0xff, 1, 0x1ff }, { 0x1234, 2, 0x2469 }, { 0x10, 4, 0x21 },
    };
    for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
        g_assert_true(as_write(m->io, 0xf4, cases[i].v, cases[i].size));
        g_assert_cmpint(e.count, ==, (int)i + 1);
        g_assert_cmpint(e.status, ==, cases[i].status);
        g_assert_cmpint(e.status & 0xff, ==, ((cases[i].v << 1) | 1) & 0xff);
    }
    as_write(m->io, 0xf7, 3, 1);                /* any port of the range */
    g_assert_cmpint(e.status, ==, 7);
    uint64_t v = 0xdead;
    as_read(m->io, 0xf4, &v, 1);
    g_assert_cmphex(v, ==, 0);
    g_assert_false(as_write(m->io, 0xf8, 1, 1));   /* outside: unassigned */
    g_assert_cmpint(e.count, ==, (int)G_N_ELEMENTS(cases) + 1);
    machine_free(m);
}

static void test_defaults_and_errors(void)
{
    Machine *m = machine_new_test(0);
    Exits e = { 0 };
    GError *err = NULL;
    Device *d = make(m, &isa_debug_exit_class, NULL, &err);   /* 0x501, 2 ports */
    g_assert_no_error(err);
    debugexit_set_exit_hook(d, on_exit_hook, &e);
    as_write(m->io, 0x502, 5, 1);
    g_assert_cmpint(e.status, ==, 11);
    g_assert_false(as_write(m->io, 0x503, 5, 1));
    g_assert_null(make(m, &isa_debug_exit_class, "iobase=0xffff,iosize=4", &err));
    g_assert_nonnull(strstr(err->message, "isa-debug-exit: iobase 0xffff"));
    g_clear_error(&err);
    g_assert_null(make(m, &isa_debug_exit_class, "iobase=0x500", &err));  /* overlaps */
    g_assert_true(g_str_has_prefix(err->message, "isa-debug-exit: "));
    g_clear_error(&err);
    GString *help = g_string_new(NULL);
    device_print_help(&isa_debug_exit_class, help);
    g_assert_nonnull(strstr(help->str, "(default: 0x501)"));
    g_string_free(help, TRUE);
    machine_free(m);
}

static void on_reset(void *opaque) { (*(int *)opaque)++; }

static void test_port92(void)
{
    Machine *m = machine_new_test(0);
    int resets = 0;
    GError *err = NULL;
    Device *d = make(m, &port92_class, NULL, &err);
    g_assert_no_error(err);
    port92_set_reset_hook(d, on_reset, &resets);
    uint64_t v = 0xff;
    as_read(m->io, 0x92, &v, 1);
    g_assert_cmphex(v, ==, 0);
    as_write(m->io, 0x92, 0x02, 1);                      /* A20 on */
    g_assert_true(port92_a20_enabled(d));
    as_read(m->io, 0x92, &v, 1);
    g_assert_cmphex(v, ==, 0x02);
    g_assert_cmpint(resets, ==, 0);
    as_write(m->io, 0x92, 0x03, 1);                      /* bit 0 rises: reset */
    g_assert_cmpint(resets, ==, 1);
    as_write(m->io, 0x92, 0x03, 1);                      /* no edge, no reset */
    g_assert_cmpint(resets, ==, 1);
    machine_reset_devices(m);
    as_read(m->io, 0x92, &v, 1);
    g_assert_cmphex(v, ==, 0x02);                        /* reset bit cleared, A20 kept */
    as_write(m->io, 0x92, 0x01, 1);
    g_assert_cmpint(resets, ==, 2);
    g_assert_false(port92_a20_enabled(d));
    GByteArray *out = g_byte_array_new();
    vmstate_save(port92_class.vmsd, device_state(d), out);
    static const uint8_t bytes[] = { 6, 'p', 'o', 'r', 't', '9', '2', 1, 0, 0, 0, 1, 0, 0, 0,
                                     0x01 };
    g_assert_cmpmem(out->data, out->len, bytes, sizeof(bytes));
    g_byte_array_free(out, TRUE);
    machine_free(m);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/debugexit/status", test_status_arithmetic);
    g_test_add_func("/debugexit/defaults-errors", test_defaults_and_errors);
    g_test_add_func("/port92/a20-reset", test_port92);
    return g_test_run();
}
