/* vmstate: round trip, fixed bytes, versions, truncation. */
#include "vireo/vmstate.h"
#include <string.h>

typedef struct { uint8_t a; uint16_t b; uint32_t c[3]; uint64_t d; uint8_t buf[5]; uint32_t v2; } St;

static const VMStateField fields[] = {
    VMS_FIELD(St, a), VMS_FIELD(St, b), VMS_ARRAY(St, c), VMS_FIELD(St, d),
    VMS_BUF(St, buf),
    { .name = "v2", .type = VMS_UINT, .offset = offsetof(St, v2), .size = 4, .version = 2 },
    VMS_END,
};
static const VMStateDesc desc2 = { .name = "st", .version = 2, .min_version = 1, .fields = fields };
static const VMStateDesc desc1 = { .name = "st", .version = 1, .min_version = 1, .fields = fields };

static void fill(St *s)
{
    memset(s, 0, sizeof(*s));      /* padding too, so memcmp compares only fields */
    *s = (St){ 1, 0x0203, { 4, 5, 6 }, 0x0708090a0b0c0d0eULL, "abcd", 0x11223344 };
}

static void test_roundtrip(void)
{
    St s, t;
    fill(&s);
    GByteArray *b = g_byte_array_new();
    vmstate_save(&desc2, &s, b);
    g_assert_cmpuint(b->len, ==, vmstate_size(&desc2));
    memset(&t, 0, sizeof(t));
    g_assert_cmpint(vmstate_load(&desc2, &t, b->data, b->len, NULL), ==, b->len);
    g_assert_true(s.a == t.a && s.b == t.b && s.d == t.d && s.v2 == t.v2);
    g_assert_cmpmem(s.c, sizeof(s.c), t.c, sizeof(t.c));
    g_assert_cmpmem(s.buf, sizeof(s.buf), t.buf, sizeof(t.buf));
    g_byte_array_free(b, TRUE);
}

static void test_fixed_bytes(void)
{
    St s = { 1, 0x0203, { 4, 5, 6 }, 0x0708090a0b0c0d0eULL, "abcd", 0x11223344 };
    static const uint8_t want[] = {
        2, 's', 't', 2, 0, 0, 0, 32, 0, 0, 0,
        1, 3, 2, 4, 0, 0, 0, 5, 0, 0, 0, 6, 0, 0, 0,
        0x0e, 0x0d, 0x0c, 0x0b, 0x0a, 0x09, 0x08, 0x07, 'a', 'b', 'c', 'd', 0,
        0x44, 0x33, 0x22, 0x11,
    };
    GByteArray *b = g_byte_array_new();
    vmstate_save(&desc2, &s, b);
    g_assert_cmpmem(b->data, b->len, want, sizeof(want));
    g_byte_array_free(b, TRUE);
}

static void test_versions(void)
{
    St s = { .a = 9, .v2 = 77 }, t = { .v2 = 5 };
    GByteArray *b = g_byte_array_new();
    GError *err = NULL;
    vmstate_save(&desc1, &s, b);            /* an old stream without v2 */
    g_assert_cmpint(vmstate_load(&desc2, &t, b->data, b->len, NULL), ==, b->len);
    g_assert_cmpuint(t.a, ==, 9);
    g_assert_cmpuint(t.v2, ==, 5);           /* untouched */
    g_byte_array_set_size(b, 0);
    vmstate_save(&desc2, &s, b);            /* newer than desc1 accepts */
    g_assert_cmpint(vmstate_load(&desc1, &t, b->data, b->len, &err), ==, -1);
    g_assert_nonnull(strstr(err->message, "version 2 not supported"));
    g_clear_error(&err);
    g_assert_cmpint(vmstate_load(&desc2, &t, b->data, b->len - 1, &err), ==, -1);
    g_clear_error(&err);
    b->data[1] = 'x';
    g_assert_cmpint(vmstate_load(&desc2, &t, b->data, b->len, &err), ==, -1);
    g_assert_nonnull(strstr(err->message, "expected section 'st'"));
    g_clear_error(&err);
    g_byte_array_free(b, TRUE);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/vmstate/roundtrip", test_roundtrip);
    g_test_add_func("/vmstate/fixed-bytes", test_fixed_bytes);
    g_test_add_func("/vmstate/versions", test_versions);
    return g_test_run();
}
