/* SMBIOS: the structures a DMI reader walks (types, handles, strings, the 2.8 anchor's
 * checksums and counts), -smbios fields and file=, and bad options. */
#include "vireo/smbios.h"
#include <stdio.h>
#include <string.h>

static uint8_t sum(const uint8_t *p, size_t n) { uint8_t s = 0; while (n--) s += *p++; return s; }

/* Finds structure @type (@nth one); returns its offset or -1; @str gets string @idx. */
static long find(const GByteArray *b, uint8_t type, unsigned nth, unsigned idx, const char **str,
                 unsigned *count)
{
    long found = -1;
    unsigned n = 0, c = 0;
    for (size_t off = 0; off < b->len; c++) {
        const uint8_t *s = b->data + off;
        size_t e = off + s[1];
        g_assert_cmpuint(s[1], >=, 4);
        if (s[0] == type && n++ == nth) {
            found = off;
            const char *p = (const char *)b->data + e;
            for (unsigned i = 1; str && idx && i < idx && *p; i++)
                p += strlen(p) + 1;
            if (str)
                *str = idx ? p : NULL;
        }
        while (b->data[e] || b->data[e + 1])
            e++;
        off = e + 2;
        if (s[0] == 127) {
            c++;
            break;
        }
    }
    if (count)
        *count = c;
    return found;
}

static void test_default_tables(void)
{
    SmbiosMachine mi = { .ram_size = 20ULL << 30, .sockets = 2, .cores_per_socket = 2,
                         .threads_per_core = 1, .uuid = "12345678-9abc-def0-1122-334455667788",
                         .ranges = { { 0, 3ULL << 30 }, { 4ULL << 30, 17ULL << 30 } },
                         .nranges = 2 };
    SmbiosTables t;
    GError *err = NULL;
    const char *s;
    unsigned count;

    g_assert_true(smbios_build(&mi, &t, &err));
    g_assert_cmpint(find(t.tables, 0, 0, 0, NULL, NULL), <, 0);      /* SeaBIOS adds it */
    long t1 = find(t.tables, 1, 0, 2, &s, &count);
    g_assert_cmpint(t1, >=, 0);
    g_assert_cmpstr(s, ==, "Standard PC (i440FX + PIIX, 1996)");
    const uint8_t *u = t.tables->data + t1 + 8;                      /* UUID, LE fields */
    g_assert_cmphex(u[0], ==, 0x78);
    g_assert_cmphex(u[3], ==, 0x12);
    g_assert_cmphex(u[8], ==, 0x11);
    g_assert_cmpint(find(t.tables, 4, 1, 1, &s, NULL), >=, 0);
    g_assert_cmpstr(s, ==, "CPU 1");
    g_assert_cmpint(find(t.tables, 17, 1, 0, NULL, NULL), >=, 0);     /* 2 DIMMs for 20 GiB */
    g_assert_cmpint(find(t.tables, 17, 2, 0, NULL, NULL), <, 0);
    g_assert_cmpint(find(t.tables, 19, 1, 0, NULL, NULL), >=, 0);
    g_assert_cmpint(find(t.tables, 32, 0, 0, NULL, NULL), >=, 0);
    g_assert_cmpint(find(t.tables, 127, 0, 0, NULL, NULL), >=, 0);
    /* Anchor: checksums, length, count, address after placing. */
    g_assert_cmpmem(t.anchor, 4, "_SM_", 4);
    smbios_anchor_set_address(t.anchor, 0xf0020);
    g_assert_cmpuint(sum(t.anchor, SMBIOS_ANCHOR_LEN), ==, 0);
    g_assert_cmpuint(sum(t.anchor + 16, 15), ==, 0);
    g_assert_cmpuint(t.anchor[22] | t.anchor[23] << 8, ==, t.tables->len);
    g_assert_cmpuint(t.anchor[28] | t.anchor[29] << 8, ==, count);
    g_assert_cmphex(t.anchor[24] | t.anchor[25] << 8 | t.anchor[26] << 16, ==, 0xf0020);
    g_byte_array_free(t.tables, TRUE);
}

static void test_options(void)
{
    const char *dir = g_getenv("VIREO_BUILD_DIR");
    g_autofree char *path = g_build_filename(dir ? dir : g_get_tmp_dir(), "smbios-t3.bin", NULL);
    /* A raw type 3 structure with one string, replacing the built-in one. */
    static const uint8_t t3[] = { 3, 5, 0x34, 0x12, 1, 'R', 'A', 'W', 0, 0 };
    g_assert_true(g_file_set_contents(path, (const char *)t3, sizeof(t3), NULL));
    g_autofree char *file = g_strdup_printf("file=%s", path);
    GPtrArray *o = g_ptr_array_new();
    g_ptr_array_add(o, "type=0,vendor=MyBIOS,release=1.2");
    g_ptr_array_add(o, "type=1,manufacturer=ACME,serial=S-1");
    g_ptr_array_add(o, "type=11,value=hello");
    g_ptr_array_add(o, "type=17,loc_pfx=SLOT,speed=3200");
    g_ptr_array_add(o, file);
    SmbiosMachine mi = { .ram_size = 1ULL << 30, .sockets = 1, .cores_per_socket = 1,
                         .threads_per_core = 1, .ranges = { { 0, 1ULL << 30 } },
                         .nranges = 1, .opts = o };
    SmbiosTables t;
    GError *err = NULL;
    const char *s;
    g_assert_true(smbios_build(&mi, &t, &err));
    g_assert_no_error(err);
    g_assert_cmpint(find(t.tables, 0, 0, 1, &s, NULL), >=, 0);
    g_assert_cmpstr(s, ==, "MyBIOS");
    g_assert_cmpint(find(t.tables, 1, 0, 1, &s, NULL), >=, 0);
    g_assert_cmpstr(s, ==, "ACME");
    g_assert_cmpint(find(t.tables, 11, 0, 1, &s, NULL), >=, 0);
    g_assert_cmpstr(s, ==, "hello");
    g_assert_cmpint(find(t.tables, 17, 0, 1, &s, NULL), >=, 0);
    g_assert_cmpstr(s, ==, "SLOT 0");
    g_assert_cmpint(find(t.tables, 3, 0, 1, &s, NULL), >=, 0);
    g_assert_cmpstr(s, ==, "RAW");
    g_assert_cmpint(find(t.tables, 3, 1, 0, NULL, NULL), <, 0);
    g_byte_array_free(t.tables, TRUE);
    g_ptr_array_free(o, TRUE);
    /* Bad options: errors naming them. */
    static const char *bad[] = { "type=5", "type=1,bogus=1", "type=4,max-speed=70000",
                                 "type=1,uuid=xyz", "type=0,release=1", "file=/nonexistent" };
    for (unsigned i = 0; i < G_N_ELEMENTS(bad); i++) {
        g_assert_false(smbios_option(NULL, bad[i], &err));
        g_assert_nonnull(strstr(err->message, "-smbios"));
        g_clear_error(&err);
    }
    static const uint8_t broken[] = { 3, 40, 0, 0 };           /* length past the end */
    g_assert_true(g_file_set_contents(path, (const char *)broken, sizeof(broken), NULL));
    g_assert_false(smbios_option(NULL, file, &err));
    g_clear_error(&err);
    remove(path);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/smbios/default-tables", test_default_tables);
    g_test_add_func("/smbios/options", test_options);
    return g_test_run();
}
