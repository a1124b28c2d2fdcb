/* The option layer: QEMU's keyval grammar, the JSON form, typed values and ids. Each
 * case follows QEMU 7.2's behaviour (util/keyval.c, qapi_bool_parse, qemu_strtosz). */
#include "vireo/option.h"
#include <string.h>

static char *to_json(JsonObject *o)
{
    g_autoptr(JsonNode) n = json_node_init_object(json_node_alloc(), o);
    return json_to_string(n, FALSE);
}

/* Parses @in and compares the tree with @want (compact JSON). */
static void ok(const char *in, const char *implied, unsigned flags, const char *want)
{
    GError *err = NULL;
    g_autoptr(JsonObject) o = keyval_parse(in, implied, flags, NULL, &err);
    if (!o)
        g_error("'%s': %s", in, err->message);
    g_autofree char *got = to_json(o);
    if (strcmp(got, want))
        g_error("'%s': got %s, want %s", in, got, want);
}

static void fails(const char *in, const char *implied, unsigned flags, const char *msg)
{
    GError *err = NULL;
    JsonObject *o = keyval_parse(in, implied, flags, NULL, &err);
    g_assert_null(o);
    if (strcmp(err->message, msg))
        g_error("'%s': error '%s', want '%s'", in, err->message, msg);
    g_error_free(err);
}

static void test_keyval_grammar(void)
{
    ok("", NULL, 0, "{}");
    ok("a=1", NULL, 0, "{\"a\":\"1\"}");
    ok("a=1,b=2,", NULL, 0, "{\"a\":\"1\",\"b\":\"2\"}");          /* trailing comma */
    ok("a=x,,y,b=", NULL, 0, "{\"a\":\"x,y\",\"b\":\"\"}");         /* ",," and empty */
    ok("a=1,a=2", NULL, 0, "{\"a\":\"2\"}");                          /* last one wins */
    ok("a.b=1,a.c=2", NULL, 0, "{\"a\":{\"b\":\"1\",\"c\":\"2\"}}");
    ok("a.1=y,a.0=x", NULL, 0, "{\"a\":[\"x\",\"y\"]}");              /* any order */
    ok("a.0.b=1,a.0.c=2", NULL, 0, "{\"a\":[{\"b\":\"1\",\"c\":\"2\"}]}");
    ok("file.driver=qcow2,file.file.filename=/x", NULL, 0,
       "{\"file\":{\"driver\":\"qcow2\",\"file\":{\"filename\":\"/x\"}}}");
    ok("q35,accel=kvm", "type", 0, "{\"type\":\"q35\",\"accel\":\"kvm\"}");
    ok("a,,b,c=d", "path", 0, "{\"path\":\"a,b\",\"c\":\"d\"}");
    ok("k=v", "implied", 0, "{\"k\":\"v\"}");                        /* implied unused */
    ok("x-y_z.q=1", NULL, 0, "{\"x-y_z\":{\"q\":\"1\"}}");
    fails("a", NULL, 0, "Expected '=' after parameter 'a'");
    fails("=1", NULL, 0, "Invalid parameter ''");
    fails("1a=1", NULL, 0, "Invalid parameter '1a'");
    fails("a..b=1", NULL, 0, "Invalid parameter 'a..b'");
    fails("a.b=1,a=2", NULL, 0, "Parameters 'a.*' used inconsistently");
    fails("a=2,a.b=1", NULL, 0, "Parameters 'a.*' used inconsistently");
    fails("a.1=x", NULL, 0, "Parameter 'a.0' missing");
    fails("a.0=x,a.b=y", NULL, 0, "Parameters 'a.*' used inconsistently");
    fails("a.0=x,a.00=y", NULL, 0, "Parameter 'a.1' missing");
    g_autofree char *longkey = g_strnfill(128, 'k');
    g_autofree char *in = g_strdup_printf("%s=1", longkey);
    g_autofree char *msg = g_strdup_printf("Parameter '%s' is too long", longkey);
    fails(in, NULL, 0, msg);
}

static void test_keyval_qemuopts(void)
{
    /* QemuOpts' flat keys and short-form booleans (-device, -drive, -chardev). */
    ok("virtio-blk-pci,drive=d0,ioeventfd", "driver", KEYVAL_FLAT | KEYVAL_SHORT_BOOLS,
       "{\"driver\":\"virtio-blk-pci\",\"drive\":\"d0\",\"ioeventfd\":\"on\"}");
    ok("socket,server,nowait", "backend", KEYVAL_FLAT | KEYVAL_SHORT_BOOLS,
       "{\"backend\":\"socket\",\"server\":\"on\",\"wait\":\"off\"}");
    ok("file.filename=/x", NULL, KEYVAL_FLAT, "{\"file.filename\":\"/x\"}");
    fails("flag", NULL, KEYVAL_FLAT, "Expected '=' after parameter 'flag'");
}

static void test_keyval_help(void)
{
    bool help = false;
    GError *err = NULL;
    g_autoptr(JsonObject) o = keyval_parse("virtio-blk-pci,help", "driver", 0, &help, &err);
    g_assert_nonnull(o);
    g_assert_true(help);
    g_autoptr(JsonObject) o2 = keyval_parse("?", NULL, 0, &help, &err);
    g_assert_true(o2 && help);
    fails("help", NULL, 0, "Invalid parameter 'help'");      /* help not wanted here */
}

static void test_option_parse(void)
{
    GError *err = NULL;
    bool json = false;
    g_autoptr(JsonObject) o = option_parse("device", "{\"driver\": \"e1000\", \"addr\": 3}",
                                           "driver", 0, NULL, &json, &err);
    g_assert_no_error(err);
    g_assert_true(json);
    g_assert_cmpstr(kv_get_str(o, "driver"), ==, "e1000");
    g_autoptr(JsonNode) addr = kv_take(o, "addr");
    g_assert_cmpint(json_node_get_int(addr), ==, 3);
    g_assert_false(json_object_has_member(o, "addr"));
    g_assert_null(option_parse("device", "{\"driver\": ", "driver", 0, NULL, NULL, &err));
    g_assert_true(g_str_has_prefix(err->message, "-device {\"driver\": : JSON parse error"));
    g_clear_error(&err);
    g_assert_null(option_parse("blockdev", "driver=file,a..b=1", NULL, 0, NULL, NULL, &err));
    g_assert_cmpstr(err->message, ==, "-blockdev driver=file,a..b=1: Invalid parameter 'a..b'");
    g_clear_error(&err);
}

static JsonNode *str_node(const char *s)
{
    return json_node_init_string(json_node_alloc(), s);
}

static void test_typed_values(void)
{
    GError *err = NULL;
    bool b;
    uint64_t u;
    int64_t i;
    double d;
    static const char *const yes[] = { "on", "yes", "true", "y" };
    static const char *const no[] = { "off", "no", "false", "n" };
    for (int k = 0; k < 4; k++) {
        g_autoptr(JsonNode) y = str_node(yes[k]), n = str_node(no[k]);
        g_assert_true(qv_bool(y, NULL, "f", true, &b, NULL) && b);
        g_assert_true(qv_bool(n, NULL, "f", true, &b, NULL) && !b);
    }
    g_autoptr(JsonNode) one = str_node("1");
    g_assert_false(qv_bool(one, NULL, "f", true, &b, &err));      /* QEMU refuses 1/0 */
    g_assert_cmpstr(err->message, ==, "Parameter 'f' expects 'on' or 'off'");
    g_clear_error(&err);
    g_assert_false(qv_bool(one, "dev", "f", false, &b, &err));    /* JSON: wrong type */
    g_assert_cmpstr(err->message, ==, "Invalid parameter type for 'dev.f', expected: boolean");
    g_clear_error(&err);
    g_autoptr(JsonNode) hex = str_node("0x1f");
    g_assert_true(qv_uint(hex, NULL, "n", true, UINT8_MAX, "uint8_t", &u, NULL) && u == 31);
    g_autoptr(JsonNode) big = str_node("256");
    g_assert_false(qv_uint(big, NULL, "n", true, UINT8_MAX, "uint8_t", &u, &err));
    g_assert_cmpstr(err->message, ==, "Parameter 'n' expects uint8_t");
    g_clear_error(&err);
    g_autoptr(JsonNode) neg = str_node("-5");
    g_assert_false(qv_uint(neg, NULL, "n", true, UINT64_MAX, "uint64", &u, &err));
    g_clear_error(&err);
    g_assert_true(qv_int(neg, NULL, "n", true, INT32_MIN, INT32_MAX, "int32_t", &i, NULL));
    g_assert_cmpint(i, ==, -5);
    g_autoptr(JsonNode) junk = str_node("12x");
    g_assert_false(qv_int(junk, NULL, "n", true, INT32_MIN, INT32_MAX, "int32_t", &i, &err));
    g_assert_cmpstr(err->message, ==, "Parameter 'n' expects integer");
    g_clear_error(&err);
    g_autoptr(JsonNode) num = str_node("2.5");
    g_assert_true(qv_number(num, NULL, "x", true, &d, NULL) && d == 2.5);
    g_autoptr(JsonNode) sz = str_node("1.5G");
    g_assert_true(qv_size(sz, NULL, "s", true, &u, NULL) && u == 3ULL << 29);
    g_autoptr(JsonNode) jint = json_node_init_int(json_node_alloc(), 4096);
    g_assert_true(qv_size(jint, NULL, "s", false, &u, NULL) && u == 4096);
    g_assert_false(qv_size(sz, NULL, "s", false, &u, &err));      /* JSON: an integer */
    g_clear_error(&err);
}

static void test_sizes(void)
{
    struct { const char *in; uint64_t unit, want; bool ok; } c[] = {
        { "0", 1, 0, true }, { "512", 1, 512, true }, { "4k", 1, 4096, true },
        { "4K", 1, 4096, true }, { "1M", 1, 1 << 20, true }, { "2G", 1, 2ULL << 30, true },
        { "1T", 1, 1ULL << 40, true }, { "1P", 1, 1ULL << 50, true },
        { "15E", 1, 15ULL << 60, true }, { "16E", 1, 0, false }, { "8B", 1, 8, true },
        { "1.5k", 1, 1536, true }, { "1.k", 1, 1024, true }, { "0x10", 1, 16, true },
        { "0x10M", 1, 16 << 20, true }, { "0x1.8", 1, 0, false }, { "1.5", 1, 0, false },
        { "1e3", 1, 0, false }, { "-1", 1, 0, false }, { "", 1, 0, false },
        { "1KB", 1, 0, false }, { "1Q", 1, 0, false }, { " 1", 1, 0, false },
        { "512", 1 << 20, 512ULL << 20, true }, { "512M", 1 << 20, 512ULL << 20, true },
        { "1.5", 1 << 20, 3ULL << 19, true }, { "2048k", 1 << 20, 2 << 20, true },
        { "18446744073709551615", 1, UINT64_MAX, true },
        { "18446744073709551616", 1, 0, false },
    };
    for (size_t i = 0; i < G_N_ELEMENTS(c); i++) {
        uint64_t v = 0;
        bool r = str_to_size(c[i].in, c[i].unit, &v);
        if (r != c[i].ok || (r && v != c[i].want))
            g_error("size '%s' (unit %" G_GUINT64_FORMAT "): got %d %" G_GUINT64_FORMAT,
                    c[i].in, c[i].unit, r, v);
    }
}

static void test_ids(void)
{
    g_assert_true(id_wellformed("disk0"));
    g_assert_true(id_wellformed("a-b.c_d"));
    g_assert_true(id_wellformed("Z"));
    g_assert_false(id_wellformed("0disk"));
    g_assert_false(id_wellformed("_x"));
    g_assert_false(id_wellformed(""));
    g_assert_false(id_wellformed("a b"));
    g_assert_false(id_wellformed("a/b"));
    GError *err = NULL;
    g_assert_false(id_check("node-name", "#block1", &err));
    g_assert_true(g_str_has_prefix(err->message,
                                   "Parameter 'node-name' expects an identifier"));
    g_clear_error(&err);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/option/keyval/grammar", test_keyval_grammar);
    g_test_add_func("/option/keyval/qemuopts", test_keyval_qemuopts);
    g_test_add_func("/option/keyval/help", test_keyval_help);
    g_test_add_func("/option/parse", test_option_parse);
    g_test_add_func("/option/typed", test_typed_values);
    g_test_add_func("/option/sizes", test_sizes);
    g_test_add_func("/option/ids", test_ids);
    return g_test_run();
}
