/* vmstate: round trip, fixed bytes, versions, truncation, variable-length blobs. */
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

/* Nested structs (an array of queues), a subsection sent only when needed, and
 * post_load validation of what a stream claims. */
typedef struct { uint16_t idx; uint8_t on; } Q;
typedef struct { uint32_t nq; Q q[3]; uint64_t extra; } Dev;

static bool q_check(void *state, int version, GError **errp)
{
    Q *q = state;
    return q->idx < 256 || vmstate_invalid(errp, "q", "idx %u out of range", q->idx);
}

static const VMStateField q_fields[] = { VMS_FIELD(Q, idx), VMS_FIELD(Q, on), VMS_END };
static const VMStateDesc q_desc = { .name = "q", .version = 1, .fields = q_fields,
                                    .post_load = q_check };

static bool extra_needed(const void *state)
{
    return ((const Dev *)state)->extra != 0;
}

static const VMStateField extra_fields[] = { VMS_FIELD(Dev, extra), VMS_END };
static const VMStateDesc extra_desc = { .name = "dev/extra", .version = 1,
                                        .fields = extra_fields, .needed = extra_needed };
static const VMStateDesc *const dev_subs[] = { &extra_desc, NULL };

static bool dev_check(void *state, int version, GError **errp)
{
    Dev *d = state;
    return d->nq <= 3 || vmstate_invalid(errp, "dev", "%u queues (at most 3)", d->nq);
}

static const VMStateField dev_fields[] = {
    VMS_FIELD(Dev, nq), VMS_STRUCT_ARRAY(Dev, q, q_desc), VMS_END,
};
static const VMStateDesc dev_desc = { .name = "dev", .version = 1, .fields = dev_fields,
                                      .post_load = dev_check, .subsections = dev_subs };

static void test_nested_and_subsections(void)
{
    Dev a = { .nq = 2, .q = { { 7, 1 }, { 9, 0 }, { 255, 1 } } }, b = { 0 };
    GError *err = NULL;
    g_autoptr(GByteArray) out = g_byte_array_new();
    vmstate_save(&dev_desc, &a, out);
    g_assert_cmpuint(out->len, ==, vmstate_size(&dev_desc));     /* no subsection */
    g_assert_cmpuint(out->len, ==, 1 + 3 + 8 + 4 + 3 * 3);
    g_assert_cmpint(vmstate_load(&dev_desc, &b, out->data, out->len, &err), ==, out->len);
    g_assert_cmpmem(&a, sizeof(a), &b, sizeof(b));
    a.extra = 0x1122;
    g_byte_array_set_size(out, 0);
    vmstate_save(&dev_desc, &a, out);
    g_assert_cmpuint(out->len, ==, vmstate_size(&dev_desc) + 1 + 9 + 8 + 8);
    memset(&b, 0, sizeof(b));
    g_assert_cmpint(vmstate_load(&dev_desc, &b, out->data, out->len, &err), ==, out->len);
    g_assert_cmpuint(b.extra, ==, 0x1122);
    /* An unknown subsection and a truncated one are refused, naming the section. */
    out->data[out->len - 8 - 8 - 9 + 1] = 'X';
    g_assert_cmpint(vmstate_load(&dev_desc, &b, out->data, out->len, &err), ==, -1);
    g_assert_nonnull(strstr(err->message, "unknown subsection"));
    g_clear_error(&err);
    /* Validation: a queue index or a queue count out of range. */
    a.extra = 0;
    a.q[1].idx = 300;
    g_byte_array_set_size(out, 0);
    vmstate_save(&dev_desc, &a, out);
    g_assert_cmpint(vmstate_load(&dev_desc, &b, out->data, out->len, &err), ==, -1);
    g_assert_cmpstr(err->message, ==, "vmstate 'q': idx 300 out of range");
    g_clear_error(&err);
    a.q[1].idx = 1;
    a.nq = 4;
    g_byte_array_set_size(out, 0);
    vmstate_save(&dev_desc, &a, out);
    g_assert_cmpint(vmstate_load(&dev_desc, &b, out->data, out->len, &err), ==, -1);
    g_assert_cmpstr(err->message, ==, "vmstate 'dev': 4 queues (at most 3)");
    g_clear_error(&err);
    /* Every truncation of a stream with a subsection fails cleanly. */
    a.nq = 1;
    a.extra = 5;
    g_byte_array_set_size(out, 0);
    vmstate_save(&dev_desc, &a, out);
    for (guint n = 0; n < out->len; n++) {
        g_autofree uint8_t *cut = g_memdup2(out->data, n);
        g_assert_cmpint(vmstate_load(&dev_desc, &b, cut, n, &err), ==, -1);
        g_clear_error(&err);
    }
}

/* A blob between fixed fields: encoded as its length and its bytes, bounded by the
 * field's maximum on load, every truncation and a payload longer than the fields
 * refused; the loader's copy is the caller's to free, also after a refusal. */
typedef struct { uint32_t v; VMStateBlob b; uint16_t tail; } Bl;
static const VMStateField bl_fields[] = {
    VMS_FIELD(Bl, v), VMS_BLOB_FIELD(Bl, b, 64), VMS_FIELD(Bl, tail), VMS_END,
};
static const VMStateDesc bl_desc = { .name = "bl", .version = 1, .fields = bl_fields };

static void test_blob(void)
{
    uint8_t bytes[10] = "0123456789";
    Bl a = { .v = 0x01020304, .b = { bytes, sizeof(bytes) }, .tail = 0xbeef }, b = { 0 };
    GError *err = NULL;
    g_autoptr(GByteArray) out = g_byte_array_new();
    vmstate_save(&bl_desc, &a, out);
    static const uint8_t want[] = {
        2, 'b', 'l', 1, 0, 0, 0, 20, 0, 0, 0,
        4, 3, 2, 1, 10, 0, 0, 0, '0', '1', '2', '3', '4', '5', '6', '7', '8', '9',
        0xef, 0xbe,
    };
    g_assert_cmpmem(out->data, out->len, want, sizeof(want));
    g_assert_cmpuint(vmstate_size(&bl_desc), ==, sizeof(want) - 10);
    g_assert_cmpint(vmstate_load(&bl_desc, &b, out->data, out->len, &err), ==, out->len);
    g_assert_no_error(err);
    g_assert_cmpuint(b.v, ==, a.v);
    g_assert_cmpuint(b.tail, ==, a.tail);
    g_assert_cmpmem(b.b.data, b.b.len, bytes, sizeof(bytes));
    /* Loading again replaces the copy (no leak); an empty blob is NULL. */
    a.b.len = 0;
    g_byte_array_set_size(out, 0);
    vmstate_save(&bl_desc, &a, out);
    g_assert_cmpuint(out->len, ==, vmstate_size(&bl_desc));
    g_assert_cmpint(vmstate_load(&bl_desc, &b, out->data, out->len, &err), ==, out->len);
    g_assert_null(b.b.data);
    g_assert_cmpuint(b.b.len, ==, 0);
    /* Longer than the field allows: refused by its length word, naming the field. */
    uint8_t big[65] = { 0 };
    a.b = (VMStateBlob){ big, sizeof(big) };
    g_byte_array_set_size(out, 0);
    vmstate_save(&bl_desc, &a, out);
    g_assert_cmpint(vmstate_load(&bl_desc, &b, out->data, out->len, &err), ==, -1);
    g_assert_cmpstr(err->message, ==, "vmstate 'bl': field 'b' of 65 bytes is larger than "
                    "its maximum of 64 bytes");
    g_clear_error(&err);
    /* Every truncation, a length word past the end and a byte after the tail. */
    a.b = (VMStateBlob){ bytes, sizeof(bytes) };
    g_byte_array_set_size(out, 0);
    vmstate_save(&bl_desc, &a, out);
    for (guint n = 0; n < out->len; n++) {
        g_autofree uint8_t *cut = g_memdup2(out->data, n);
        g_assert_cmpint(vmstate_load(&bl_desc, &b, cut, n, &err), ==, -1);
        g_clear_error(&err);
    }
    out->data[15] = 30;                         /* 30 bytes claimed, 12 there */
    g_assert_cmpint(vmstate_load(&bl_desc, &b, out->data, out->len, &err), ==, -1);
    g_assert_cmpstr(err->message, ==, "vmstate 'bl': truncated at field 'b'");
    g_clear_error(&err);
    out->data[15] = 9;                          /* one byte left after the tail */
    g_assert_cmpint(vmstate_load(&bl_desc, &b, out->data, out->len, &err), ==, -1);
    g_assert_nonnull(strstr(err->message, "does not match version 1"));
    g_clear_error(&err);
    vmstate_blob_clear(&b.b);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/vmstate/roundtrip", test_roundtrip);
    g_test_add_func("/vmstate/fixed-bytes", test_fixed_bytes);
    g_test_add_func("/vmstate/versions", test_versions);
    g_test_add_func("/vmstate/nested-subsections", test_nested_and_subsections);
    g_test_add_func("/vmstate/blob", test_blob);
    return g_test_run();
}
