/* Property tables: every property type from text, JSON and C, introspection and help,
 * with QEMU's words in the errors. */
#include "vireo/props.h"
#include "vireo/option.h"
#include <string.h>

typedef struct Obj {
    bool b;
    uint8_t u8;
    uint16_t u16;
    uint32_t u32;
    uint64_t u64, size;
    int32_t i32, devfn;
    int64_t i64;
    char *str, *chr;
    int mode, oa;
    uint8_t mac[6];
} Obj;

static const char *const mode_names[] = { "none", "fast", "safe", NULL };

static const Property props[] = {
    PROP("b", PROP_BOOL, Obj, b, "on", NULL),
    PROP("u8", PROP_U8, Obj, u8, "1", "small"),
    PROP("u16", PROP_U16, Obj, u16, NULL, NULL),
    PROP("u32", PROP_U32, Obj, u32, "0x20", NULL),
    PROP("u64", PROP_U64, Obj, u64, NULL, NULL),
    PROP("size", PROP_SIZE, Obj, size, "64K", NULL),
    PROP("i32", PROP_I32, Obj, i32, "-3", NULL),
    PROP("i64", PROP_I64, Obj, i64, NULL, NULL),
    PROP("str", PROP_STR, Obj, str, "abc", NULL),
    PROP("chardev", PROP_CHARDEV, Obj, chr, NULL, NULL),
    PROP_ENUM_("mode", Obj, mode, mode_names, "safe", "how"),
    PROP_ENUM_("oa", Obj, oa, on_off_auto_names, "auto", NULL),
    PROP("mac", PROP_MACADDR, Obj, mac, "52:54:00:12:34:56", NULL),
    PROP("addr", PROP_PCI_DEVFN, Obj, devfn, NULL, "slot"),
    PROP_END,
};

static void test_defaults(void)
{
    Obj o = { 0 };
    props_init(props, &o, "obj");
    g_assert_true(o.b);
    g_assert_cmpuint(o.u8, ==, 1);
    g_assert_cmpuint(o.u32, ==, 32);
    g_assert_cmpuint(o.size, ==, 65536);
    g_assert_cmpint(o.i32, ==, -3);
    g_assert_cmpstr(o.str, ==, "abc");
    g_assert_null(o.chr);
    g_assert_cmpint(o.mode, ==, 2);
    g_assert_cmpint(o.oa, ==, ON_OFF_AUTO_AUTO);
    g_assert_cmpint(o.mac[5], ==, 0x56);
    g_assert_cmpint(o.devfn, ==, -1);
    props_free(props, &o);
    g_assert_null(o.str);
}

static void test_text_and_json(void)
{
    Obj o = { 0 };
    GError *err = NULL;
    props_init(props, &o, "obj");
    g_autoptr(JsonObject) kv = keyval_parse("b=off,u16=65535,u64=0xffffffffffffffff,"
                                            "size=2M,i64=-9,str=x,,y,mode=fast,oa=on,"
                                            "mac=02-00-00-00-00-01,addr=1f.7,skipme=1",
                                            NULL, KEYVAL_FLAT, NULL, &err);
    static const char *const skip[] = { "skipme", NULL };
    g_assert_true(props_apply(props, &o, kv, true, "obj", skip, &err));
    g_assert_no_error(err);
    g_assert_false(o.b);
    g_assert_cmpuint(o.u16, ==, 65535);
    g_assert_cmpuint(o.u64, ==, UINT64_MAX);
    g_assert_cmpuint(o.size, ==, 2 << 20);
    g_assert_cmpint(o.i64, ==, -9);
    g_assert_cmpstr(o.str, ==, "x,y");
    g_assert_cmpint(o.mode, ==, 1);
    g_assert_cmpint(o.oa, ==, ON_OFF_AUTO_ON);
    g_assert_cmpint(o.mac[0], ==, 2);
    g_assert_cmpint(o.devfn, ==, 31 << 3 | 7);
    g_autofree char *mac = prop_format(props_find(props, "mac"), &o);
    g_assert_cmpstr(mac, ==, "02:00:00:00:00:01");
    g_autofree char *addr = prop_format(props_find(props, "addr"), &o);
    g_assert_cmpstr(addr, ==, "1f.7");
    g_autoptr(JsonNode) v = prop_get(props_find(props, "u16"), &o);
    g_assert_cmpint(json_node_get_int(v), ==, 65535);
    g_autoptr(JsonObject) js = option_parse("x", "{\"b\": true, \"addr\": 24, \"size\": 512}",
                                            NULL, 0, NULL, NULL, &err);
    g_assert_true(props_apply(props, &o, js, false, "obj", NULL, &err));
    g_assert_true(o.b);
    g_assert_cmpint(o.devfn, ==, 24);
    g_assert_cmpuint(o.size, ==, 512);
    g_assert_true(prop_set_int(props_find(props, "i32"), &o, INT32_MIN, "obj", NULL));
    g_assert_false(prop_set_int(props_find(props, "i32"), &o, (int64_t)INT32_MAX + 1, "obj",
                                &err));
    g_assert_cmpstr(err->message, ==, "Parameter 'i32' expects int32_t");
    g_clear_error(&err);
    props_free(props, &o);
}

static void expect_bad(const char *text, const char *msg)
{
    Obj o = { 0 };
    GError *err = NULL;
    props_init(props, &o, "obj");
    g_autoptr(JsonObject) kv = keyval_parse(text, NULL, KEYVAL_FLAT, NULL, &err);
    g_assert_nonnull(kv);
    g_assert_false(props_apply(props, &o, kv, true, "obj", NULL, &err));
    if (strcmp(err->message, msg))
        g_error("'%s': '%s', want '%s'", text, err->message, msg);
    g_error_free(err);
    props_free(props, &o);
}

static void test_errors(void)
{
    expect_bad("nope=1", "Property 'obj.nope' not found");
    expect_bad("b=1", "Parameter 'b' expects 'on' or 'off'");
    expect_bad("u8=256", "Parameter 'u8' expects uint8_t");
    expect_bad("u32=-1", "Parameter 'u32' expects integer");
    expect_bad("mode=slow", "Parameter 'mode' does not accept value 'slow'");
    expect_bad("mac=52:54:00:12:34", "Property 'obj.mac' doesn't take value '52:54:00:12:34'");
    expect_bad("mac=52:54:00:12:34:5g", "Property 'obj.mac' doesn't take value '52:54:00:12:34:5g'");
    expect_bad("addr=20", "Property 'obj.addr' doesn't take value '20'");
    expect_bad("addr=3.8", "Property 'obj.addr' doesn't take value '3.8'");
    expect_bad("size=1Q", "Parameter 'size' expects a non-negative number below 2^64 "
                          "(optional suffix k, M, G, T, P or E)");
}

static void test_help(void)
{
    g_autoptr(GString) s = g_string_new(NULL);
    props_print_help(props, "obj", s);
    g_assert_true(g_str_has_prefix(s->str, "obj options:\n"));
    g_assert_nonnull(strstr(s->str, "  b=<bool>               - on/off (default: on)\n"));
    g_assert_nonnull(strstr(s->str, "  oa=<OnOffAuto>"));
    g_assert_nonnull(strstr(s->str, "  chardev=<str>\n"));
    g_assert_nonnull(strstr(s->str, "  mode=<enum>            - how (default: safe)\n"));
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/props/defaults", test_defaults);
    g_test_add_func("/props/text-and-json", test_text_and_json);
    g_test_add_func("/props/errors", test_errors);
    g_test_add_func("/props/help", test_help);
    return g_test_run();
}
