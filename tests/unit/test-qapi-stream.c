/*
 * QMP input framing (qapi/json-stream.c): texts split at balanced braces, bare
 * scalars, strings with escapes, single quotes, and the limits of QEMU's streamer.
 */
#include "qapi/json-stream.h"
#include <string.h>

typedef struct Out {
    GPtrArray *texts;      /* "T:text" or "E:error" */
} Out;

static void emit(void *opaque, const char *text, size_t len, const char *error)
{
    Out *o = opaque;
    g_ptr_array_add(o->texts, error ? g_strdup_printf("E:%s", error)
                                    : g_strdup_printf("T:%.*s", (int)len, text));
}

static Out *feed(const char *input, size_t chunk)
{
    Out *o = g_new0(Out, 1);
    o->texts = g_ptr_array_new_with_free_func(g_free);
    JsonStream *s = json_stream_new(emit, o);
    size_t len = strlen(input);
    for (size_t i = 0; i < len; i += chunk)
        json_stream_feed(s, (const uint8_t *)input + i, MIN(chunk, len - i));
    json_stream_free(s);
    return o;
}

static void out_free(Out *o)
{
    g_ptr_array_free(o->texts, TRUE);
    g_free(o);
}

static void check(const char *input, const char *const *want)
{
    /* Whole, and one byte at a time: framing must not depend on read sizes. */
    for (size_t chunk = 1; chunk <= strlen(input); chunk = chunk == 1 ? strlen(input) : chunk + 1) {
        Out *o = feed(input, chunk);
        guint n = 0;
        for (; want[n]; n++) {
            g_assert_cmpuint(n, <, o->texts->len);
            g_assert_cmpstr(o->texts->pdata[n], ==, want[n]);
        }
        g_assert_cmpuint(o->texts->len, ==, n);
        out_free(o);
    }
}

static void test_objects(void)
{
    check("{\"execute\": \"stop\"}\n{\"a\":[1,{\"b\":2}]}",
          (const char *[]){ "T:{\"execute\": \"stop\"}", "T:{\"a\":[1,{\"b\":2}]}", NULL });
}

static void test_braces_in_strings(void)
{
    check("{\"a\":\"}{][\\\"\\\\\"}",
          (const char *[]){ "T:{\"a\":\"}{][\\\"\\\\\"}", NULL });
}

static void test_scalars(void)
{
    check("42 \"str\" true [1] nul\n",
          (const char *[]){ "T:42", "T:\"str\"", "T:true", "T:[1]", "T:nul", NULL });
}

static void test_stray_closer(void)
{
    check("{\"a\":1}}", (const char *[]){ "T:{\"a\":1}", "T:}", NULL });
}

static void test_single_quotes(void)
{
    check("{'execute':'it\\'s \"x\"'}",
          (const char *[]){ "T:{\"execute\":\"it's \\\"x\\\"\"}", NULL });
}

static void test_nesting_limit(void)
{
    GString *in = g_string_new(NULL);
    for (int i = 0; i < JSON_STREAM_MAX_DEPTH + 10; i++)
        g_string_append_c(in, '[');
    for (int i = 0; i < JSON_STREAM_MAX_DEPTH + 10; i++)
        g_string_append_c(in, ']');
    g_string_append(in, "{\"ok\":1}");
    Out *o = feed(in->str, in->len);
    g_assert_cmpuint(o->texts->len, ==, 2);
    g_assert_cmpstr(o->texts->pdata[0], ==, "E:JSON nesting depth limit exceeded");
    g_assert_cmpstr(o->texts->pdata[1], ==, "T:{\"ok\":1}");
    out_free(o);
    g_string_free(in, TRUE);
}

static void test_depth_at_limit_ok(void)
{
    GString *in = g_string_new(NULL);
    for (int i = 0; i < JSON_STREAM_MAX_DEPTH; i++)
        g_string_append_c(in, '[');
    for (int i = 0; i < JSON_STREAM_MAX_DEPTH; i++)
        g_string_append_c(in, ']');
    Out *o = feed(in->str, 4096);
    g_assert_cmpuint(o->texts->len, ==, 1);
    g_assert_true(g_str_has_prefix(o->texts->pdata[0], "T:[[["));
    out_free(o);
    g_string_free(in, TRUE);
}

static void test_size_limit(void)
{
    Out *o = g_new0(Out, 1);
    o->texts = g_ptr_array_new_with_free_func(g_free);
    JsonStream *s = json_stream_new(emit, o);
    const char *head = "{\"execute\":\"x\",\"id\":\"";
    json_stream_feed(s, (const uint8_t *)head, strlen(head));
    g_autofree uint8_t *chunk = g_malloc(1 << 20);
    memset(chunk, 'x', 1 << 20);
    for (unsigned i = 0; i < (JSON_STREAM_MAX_SIZE >> 20) + 1; i++)
        json_stream_feed(s, chunk, 1 << 20);
    json_stream_feed(s, (const uint8_t *)"\"}{\"b\":2}", 9);
    g_assert_cmpuint(o->texts->len, ==, 2);
    g_assert_cmpstr(o->texts->pdata[0], ==, "E:JSON token size limit exceeded");
    g_assert_cmpstr(o->texts->pdata[1], ==, "T:{\"b\":2}");
    json_stream_free(s);
    out_free(o);
}

static void test_reset(void)
{
    Out *o = g_new0(Out, 1);
    o->texts = g_ptr_array_new_with_free_func(g_free);
    JsonStream *s = json_stream_new(emit, o);
    json_stream_feed(s, (const uint8_t *)"{\"a\": \"half", 11);
    json_stream_reset(s);
    json_stream_feed(s, (const uint8_t *)"{}", 2);
    g_assert_cmpuint(o->texts->len, ==, 1);
    g_assert_cmpstr(o->texts->pdata[0], ==, "T:{}");
    json_stream_free(s);
    out_free(o);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/qapi/stream/objects", test_objects);
    g_test_add_func("/qapi/stream/braces-in-strings", test_braces_in_strings);
    g_test_add_func("/qapi/stream/scalars", test_scalars);
    g_test_add_func("/qapi/stream/stray-closer", test_stray_closer);
    g_test_add_func("/qapi/stream/single-quotes", test_single_quotes);
    g_test_add_func("/qapi/stream/nesting-limit", test_nesting_limit);
    g_test_add_func("/qapi/stream/depth-at-limit", test_depth_at_limit_ok);
    g_test_add_func("/qapi/stream/size-limit", test_size_limit);
    g_test_add_func("/qapi/stream/reset", test_reset);
    return g_test_run();
}
