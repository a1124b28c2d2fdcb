/* Device core: property table parsing, defaults, errors, help, lifecycle order. */
#include "vireo/machine.h"
#include "vireo/option.h"
#include <string.h>

typedef struct TestDev {
    Device parent;
    bool flag;
    uint8_t u8;
    uint32_t u32;
    uint64_t size;
    char *name;
    int realized, resets;
} TestDev;

static bool td_realize(Device *d, GError **errp)
{
    TestDev *t = (TestDev *)d;
    if (t->u32 == 13) {
        g_set_error(errp, G_IO_ERROR, G_IO_ERROR_FAILED, "unlucky");
        return false;
    }
    t->realized++;
    return true;
}

static void td_reset(Device *d) { ((TestDev *)d)->resets++; }

static const Property td_props[] = {
    PROP("flag", PROP_BOOL, TestDev, flag, "off", "a flag"),
    PROP("u8", PROP_U8, TestDev, u8, "7", "small"),
    PROP("u32", PROP_U32, TestDev, u32, "0x10", "medium"),
    PROP("size", PROP_SIZE, TestDev, size, "1M", "a size"),
    PROP("name", PROP_STR, TestDev, name, NULL, "a name"),
    PROP_END,
};

static const DeviceClass td_class = {
    .name = "test-dev", .desc = "test", .bus = BUS_ISA, .instance_size = sizeof(TestDev),
    .props = td_props, .realize = td_realize, .reset = td_reset,
};

static void test_props(void)
{
    Machine *m = machine_new_test(0);
    TestDev *t = (TestDev *)device_new(m, &td_class);
    g_assert_cmpuint(t->u8, ==, 7);
    g_assert_cmpuint(t->u32, ==, 16);
    g_assert_cmpuint(t->size, ==, 1 << 20);
    GError *err = NULL;
    g_assert_true(device_set_props(DEVICE(t), "flag,u8=255,size=2G,name=a,,b,id=x", &err));
    g_assert_true(t->flag);
    g_assert_cmpuint(t->u8, ==, 255);
    g_assert_cmpuint(t->size, ==, 2ULL << 30);
    g_assert_cmpstr(t->name, ==, "a,b");
    g_assert_cmpstr(DEVICE(t)->id, ==, "x");
    g_assert_false(device_set_props(DEVICE(t), "u8=256", &err));
    g_assert_cmpstr(err->message, ==, "Parameter 'u8' expects uint8_t");
    g_clear_error(&err);
    g_assert_false(device_set_props(DEVICE(t), "nope=1", &err));
    g_assert_cmpstr(err->message, ==, "Property 'test-dev.nope' not found");
    g_clear_error(&err);
    g_assert_false(device_set_props(DEVICE(t), "flag=maybe", &err));
    g_assert_cmpstr(err->message, ==, "Parameter 'flag' expects 'on' or 'off'");
    g_clear_error(&err);
    g_assert_false(device_set_props(DEVICE(t), "id=1x", &err));
    g_assert_nonnull(strstr(err->message, "Parameter 'id' expects an identifier"));
    g_clear_error(&err);
    GString *s = g_string_new(NULL);
    device_print_help(&td_class, s);
    g_assert_nonnull(strstr(s->str, "u32=<uint32>"));
    g_assert_nonnull(strstr(s->str, "(default: 0x10)"));
    g_string_free(s, TRUE);
    g_assert_true(machine_add_device(m, DEVICE(t), NULL));
    g_assert_cmpint(t->realized, ==, 1);
    g_assert_cmpint(t->resets, ==, 1);
    machine_reset_devices(m);
    g_assert_cmpint(t->resets, ==, 2);
    TestDev *bad = (TestDev *)device_new(m, &td_class);
    bad->u32 = 13;
    g_assert_false(machine_add_device(m, DEVICE(bad), &err));   /* freed on failure */
    g_assert_cmpstr(err->message, ==, "unlucky");
    g_clear_error(&err);
    g_assert_cmpuint(m->devices->len, ==, 1);
    machine_free(m);
}

/* The JSON form (libvirt's -device) and the typed setters the board uses. */
static void test_json_and_typed(void)
{
    Machine *m = machine_new_test(0);
    TestDev *t = (TestDev *)device_new(m, &td_class);
    GError *err = NULL;
    g_autoptr(JsonObject) o = option_parse("device", "{\"driver\": \"test-dev\", "
                                           "\"flag\": true, \"u8\": 9, \"size\": 4096, "
                                           "\"id\": \"dev0\"}", "driver", 0, NULL, NULL, &err);
    g_assert_no_error(err);
    g_assert_true(device_apply(DEVICE(t), o, false, &err));
    g_assert_true(t->flag);
    g_assert_cmpuint(t->u8, ==, 9);
    g_assert_cmpuint(t->size, ==, 4096);
    g_assert_cmpstr(DEVICE(t)->id, ==, "dev0");
    /* JSON types must match: "on" is not a boolean there, as in QEMU. */
    g_autoptr(JsonObject) bad = option_parse("device", "{\"driver\": \"test-dev\", "
                                             "\"flag\": \"on\"}", "driver", 0, NULL, NULL, &err);
    g_assert_false(device_apply(DEVICE(t), bad, false, &err));
    g_assert_cmpstr(err->message, ==, "Invalid parameter type for 'flag', expected: boolean");
    g_clear_error(&err);
    g_assert_true(device_set_int(DEVICE(t), "u32", 77, NULL) && t->u32 == 77);
    g_assert_true(device_set_str(DEVICE(t), "name", "x,y", NULL));
    g_assert_cmpstr(t->name, ==, "x,y");
    g_assert_true(device_set_bool(DEVICE(t), "flag", false, NULL) && !t->flag);
    g_assert_false(device_set_int(DEVICE(t), "u8", 300, &err));
    g_clear_error(&err);
    g_assert_false(device_set_bool(DEVICE(t), "nope", true, &err));
    g_assert_cmpstr(err->message, ==, "Property 'test-dev.nope' not found");
    g_clear_error(&err);
    /* Two devices with one id: the second is refused, as QEMU refuses it. */
    g_assert_true(machine_add_device(m, DEVICE(t), NULL));
    TestDev *t2 = (TestDev *)device_new(m, &td_class);
    g_assert_true(device_set_prop(DEVICE(t2), "id", "dev0", NULL));
    g_assert_false(machine_add_device(m, DEVICE(t2), &err));
    g_assert_cmpstr(err->message, ==, "Duplicate ID 'dev0' for device");
    g_clear_error(&err);
    machine_free(m);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/device/props", test_props);
    g_test_add_func("/device/json-and-typed", test_json_and_typed);
    return g_test_run();
}
