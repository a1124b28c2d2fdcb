/*
 * SMBIOS tables of the pc board (DMTF DSP0134 3.x; entry point 2.8, the 32-bit "_SM_"
 * anchor QEMU 7.2's pc machine uses): types 1 (system, with -uuid), 2 (only when given),
 * 3 (chassis), 4 (one per socket), 11 (OEM strings, when given), 16 (memory array),
 * 17 (one per 16 GiB device), 19 (one per RAM range), 32 (boot status), 127 (end); type 0
 * only when -smbios type=0 is given (SeaBIOS adds its own otherwise, as with QEMU).
 * Strings and numbers come from -smbios type=N,key=value; -smbios file=F adds raw
 * structures (a type given by file replaces Vireo's tables of that type).
 *
 * Firmware boot: etc/smbios/smbios-tables and etc/smbios/smbios-anchor through fw_cfg
 * (SeaBIOS places them); direct boot: the anchor in the BIOS area where Linux's DMI
 * scan looks (0xf0000-0xfffff, 16-byte aligned) with the tables after it.
 */
#include "vireo/smbios.h"
#include "vireo/option.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define GIB (1ULL << 30)
#define DIMM_MAX (16 * GIB)              /* QEMU's MAX_DIMM_SZ */
#define VERSION_STR "pc-i440fx-7.2"
#define PRODUCT_STR "Standard PC (i440FX + PIIX, 1996)"

static const char *const t0_keys[] = { "vendor", "version", "date", "release", NULL };
static const char *const t1_keys[] = { "manufacturer", "product", "version", "serial",
                                       "uuid", "sku", "family", NULL };
static const char *const t2_keys[] = { "manufacturer", "product", "version", "serial",
                                       "asset", "location", NULL };
static const char *const t3_keys[] = { "manufacturer", "version", "serial", "asset", "sku",
                                       NULL };
static const char *const t4_keys[] = { "sock_pfx", "manufacturer", "version", "serial",
                                       "asset", "part", "max-speed", "current-speed", NULL };
static const char *const t11_keys[] = { "value", NULL };
static const char *const t17_keys[] = { "loc_pfx", "bank", "manufacturer", "serial",
                                        "asset", "part", "speed", NULL };

static const char *const *keys_of(int type)
{
    switch (type) {
    case 0: return t0_keys;
    case 1: return t1_keys;
    case 2: return t2_keys;
    case 3: return t3_keys;
    case 4: return t4_keys;
    case 11: return t11_keys;
    case 17: return t17_keys;
    default: return NULL;
    }
}

/* ---- options ---- */

typedef struct SmbiosOpts {
    GHashTable *kv[128];            /* per type: key -> value (last wins) */
    GPtrArray *oem;                 /* type 11 values */
    GByteArray *file;               /* -smbios file= structures */
    bool file_types[128];
} SmbiosOpts;

static bool opt_error(GError **errp, const char *spec, const char *why)
{
    g_set_error(errp, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT, "-smbios %s: %s", spec, why);
    return false;
}

/* Walks @data (structures ending in a double NUL) and checks it; sets @types. */
static bool check_file(const char *spec, const uint8_t *data, size_t len, bool *types,
                       GError **errp)
{
    size_t off = 0;

    while (off < len) {
        if (len - off < 4 || data[off + 1] < 4 || data[off + 1] > len - off)
            return opt_error(errp, spec, "not a sequence of SMBIOS structures");
        size_t s = off + data[off + 1];
        while (s + 1 < len && (data[s] || data[s + 1]))
            s++;
        if (s + 1 >= len)
            return opt_error(errp, spec, "a structure's string set is not terminated");
        if (data[off] < 128)
            types[data[off]] = true;
        off = s + 2;
    }
    return true;
}

/* Parses one -smbios option into @so (NULL: only check it). */
bool smbios_option(void *opaque, const char *spec, GError **errp)
{
    SmbiosOpts *so = opaque;
    g_autoptr(JsonObject) o = keyval_parse(spec, NULL, KEYVAL_FLAT, NULL, errp);
    JsonObjectIter it;
    const char *k;
    JsonNode *n;

    if (!o) {
        option_prefix_error(errp, "smbios", spec);
        return false;
    }
    const char *file = kv_get_str(o, "file"), *type = kv_get_str(o, "type");
    if (file) {
        g_autofree char *data = NULL;
        gsize len;
        bool types[128] = { 0 };
        if (type || json_object_get_size(o) != 1)
            return opt_error(errp, spec, "file= takes no other parameter");
        if (!g_file_get_contents(file, &data, &len, errp)) {
            g_prefix_error(errp, "-smbios %s: ", spec);
            return false;
        }
        if (!check_file(spec, (uint8_t *)data, len, types, errp))
            return false;
        if (so) {
            g_byte_array_append(so->file, (uint8_t *)data, len);
            for (int i = 0; i < 128; i++)
                so->file_types[i] |= types[i];
        }
        return true;
    }
    uint64_t t;
    if (!type || !str_to_u64(type, &t) || !keys_of(t))
        return opt_error(errp, spec, "type= must be 0, 1, 2, 3, 4, 11 or 17");
    json_object_iter_init(&it, o);
    while (json_object_iter_next(&it, &k, &n)) {
        if (!strcmp(k, "type"))
            continue;
        if (!g_strv_contains(keys_of(t), k)) {
            g_autofree char *why = g_strdup_printf("Invalid parameter '%s' for type %u", k,
                                                   (unsigned)t);
            return opt_error(errp, spec, why);
        }
        const char *v = kv_get_str(o, k);
        uint64_t num;
        if ((!strcmp(k, "max-speed") || !strcmp(k, "current-speed") || !strcmp(k, "speed")) &&
            (!str_to_u64(v, &num) || num > 0xffff))
            return opt_error(errp, spec, "speeds are 0..65535 (MHz)");
        if (!strcmp(k, "uuid") && !g_uuid_string_is_valid(v))
            return opt_error(errp, spec, "uuid is not a valid UUID");
        if (!strcmp(k, "release")) {
            unsigned a, b;
            char c;
            if (sscanf(v, "%u.%u%c", &a, &b, &c) != 2 || a > 255 || b > 255)
                return opt_error(errp, spec, "release must be MAJOR.MINOR (0..255 each)");
        }
        if (!so)
            continue;
        if (t == 11) {
            g_ptr_array_add(so->oem, g_strdup(v));
            continue;
        }
        if (!so->kv[t])
            so->kv[t] = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
        g_hash_table_insert(so->kv[t], g_strdup(k), g_strdup(v));
    }
    if (so && !so->kv[t] && t != 11)
        so->kv[t] = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
    return true;
}

static const char *sopt(SmbiosOpts *so, int type, const char *key, const char *def)
{
    const char *v = so->kv[type] ? g_hash_table_lookup(so->kv[type], key) : NULL;
    return v ? v : def;
}

/* ---- structures ---- */

typedef struct Builder {
    GByteArray *b;
    GPtrArray *strings;             /* the current structure's strings */
    unsigned start, nstr, count, max_size;
} Builder;

static void put(Builder *sb, const void *p, size_t n) { g_byte_array_append(sb->b, p, n); }
static void u8(Builder *sb, uint8_t v) { put(sb, &v, 1); }
static void u16(Builder *sb, uint16_t v) { u8(sb, v); u8(sb, v >> 8); }
static void u32(Builder *sb, uint32_t v) { u16(sb, v); u16(sb, v >> 16); }
static void u64(Builder *sb, uint64_t v) { u32(sb, v); u32(sb, v >> 32); }

static void begin(Builder *sb, uint8_t type, uint16_t handle)
{
    sb->start = sb->b->len;
    sb->nstr = 0;
    u8(sb, type);
    u8(sb, 0);                          /* formatted length, set by end() */
    u16(sb, handle);
}

/* A string field: its number in the string set, or 0 for none/empty. */
static void str(Builder *sb, const char *s)
{
    if (!s || !*s) {
        u8(sb, 0);
        return;
    }
    g_ptr_array_add(sb->strings, (char *)s);
    u8(sb, ++sb->nstr);
}

static void end(Builder *sb)
{
    sb->b->data[sb->start + 1] = sb->b->len - sb->start;
    for (guint i = 0; i < sb->strings->len; i++)
        put(sb, sb->strings->pdata[i], strlen(sb->strings->pdata[i]) + 1);
    if (!sb->strings->len)
        u8(sb, 0);
    u8(sb, 0);
    g_ptr_array_set_size(sb->strings, 0);
    sb->count++;
    sb->max_size = MAX(sb->max_size, sb->b->len - sb->start);
}

/* UUID field: SMBIOS 2.6+ stores the first three fields little-endian (7.2.1). */
static void uuid_field(Builder *sb, const char *text)
{
    uint8_t u[16] = { 0 };
    for (unsigned i = 0, j = 0; text && i < 16 && text[j]; j++) {
        if (text[j] == '-')
            continue;
        u[i++] = g_ascii_xdigit_value(text[j]) << 4 | g_ascii_xdigit_value(text[j + 1]);
        j++;
    }
    const uint8_t order[16] = { 3, 2, 1, 0, 5, 4, 7, 6, 8, 9, 10, 11, 12, 13, 14, 15 };
    for (unsigned i = 0; i < 16; i++)
        u8(sb, u[order[i]]);
}

static void type0(Builder *sb, SmbiosOpts *so)
{
    unsigned a = 0, b = 0;
    sscanf(sopt(so, 0, "release", "0.0"), "%u.%u", &a, &b);
    begin(sb, 0, 0x000);
    str(sb, sopt(so, 0, "vendor", NULL));
    str(sb, sopt(so, 0, "version", NULL));
    u16(sb, 0xe800);                    /* BIOS starting segment */
    str(sb, sopt(so, 0, "date", NULL));
    u8(sb, 0);                          /* ROM size */
    u64(sb, 1u << 3);                   /* characteristics: not supported */
    u8(sb, 0);
    u8(sb, 1 << 4);                     /* extension 2: virtual machine */
    u8(sb, a);
    u8(sb, b);
    u8(sb, 0xff);                       /* embedded controller: none */
    u8(sb, 0xff);
    end(sb);
}

static void type1(Builder *sb, SmbiosOpts *so, const char *uuid)
{
    begin(sb, 1, 0x100);
    str(sb, sopt(so, 1, "manufacturer", "QEMU"));
    str(sb, sopt(so, 1, "product", PRODUCT_STR));
    str(sb, sopt(so, 1, "version", VERSION_STR));
    str(sb, sopt(so, 1, "serial", NULL));
    uuid_field(sb, sopt(so, 1, "uuid", uuid));
    u8(sb, 6);                          /* wake-up: power switch */
    str(sb, sopt(so, 1, "sku", NULL));
    str(sb, sopt(so, 1, "family", NULL));
    end(sb);
}

static void type2(Builder *sb, SmbiosOpts *so)
{
    begin(sb, 2, 0x200);
    str(sb, sopt(so, 2, "manufacturer", "QEMU"));
    str(sb, sopt(so, 2, "product", PRODUCT_STR));
    str(sb, sopt(so, 2, "version", VERSION_STR));
    str(sb, sopt(so, 2, "serial", NULL));
    str(sb, sopt(so, 2, "asset", NULL));
    u8(sb, 1);                          /* feature flags: hosting board */
    str(sb, sopt(so, 2, "location", NULL));
    u16(sb, 0x300);                     /* chassis handle */
    u8(sb, 0x0a);                       /* motherboard */
    u8(sb, 0);
    end(sb);
}

static void type3(Builder *sb, SmbiosOpts *so)
{
    begin(sb, 3, 0x300);
    str(sb, sopt(so, 3, "manufacturer", "QEMU"));
    u8(sb, 1);                          /* other */
    str(sb, sopt(so, 3, "version", VERSION_STR));
    str(sb, sopt(so, 3, "serial", NULL));
    str(sb, sopt(so, 3, "asset", NULL));
    u8(sb, 3);                          /* boot-up, power supply, thermal: safe */
    u8(sb, 3);
    u8(sb, 3);
    u8(sb, 2);                          /* security: unknown */
    u32(sb, 0);
    u8(sb, 0);                          /* height */
    u8(sb, 0);                          /* power cords */
    u8(sb, 0);                          /* contained elements */
    u8(sb, 0);
    str(sb, sopt(so, 3, "sku", NULL));
    end(sb);
}

static void type4(Builder *sb, SmbiosOpts *so, unsigned socket, const SmbiosMachine *mi)
{
    g_autofree char *name = g_strdup_printf("%s %u", sopt(so, 4, "sock_pfx", "CPU"), socket);
    unsigned cores = mi->cores_per_socket, threads = cores * mi->threads_per_core;
    begin(sb, 4, 0x400 + socket);
    str(sb, name);
    u8(sb, 3);                          /* central processor */
    u8(sb, 0xfe);                       /* family: see family 2 */
    str(sb, sopt(so, 4, "manufacturer", "QEMU"));
    u64(sb, 0);                         /* processor ID: not recorded */
    str(sb, sopt(so, 4, "version", VERSION_STR));
    u8(sb, 0);                          /* voltage */
    u16(sb, 0);                         /* external clock */
    u16(sb, atoi(sopt(so, 4, "max-speed", "2000")));
    u16(sb, atoi(sopt(so, 4, "current-speed", "2000")));
    u8(sb, 0x41);                       /* socket populated, CPU enabled */
    u8(sb, 1);                          /* upgrade: other */
    u16(sb, 0xffff);                    /* no L1/L2/L3 cache information */
    u16(sb, 0xffff);
    u16(sb, 0xffff);
    str(sb, sopt(so, 4, "serial", NULL));
    str(sb, sopt(so, 4, "asset", NULL));
    str(sb, sopt(so, 4, "part", NULL));
    u8(sb, MIN(cores, 0xff));
    u8(sb, MIN(cores, 0xff));
    u8(sb, MIN(threads, 0xff));
    u16(sb, 0x02);                      /* characteristics: unknown */
    u16(sb, 0x01);                      /* family 2: other */
    u16(sb, cores);
    u16(sb, cores);
    u16(sb, threads);
    end(sb);
}

static void type11(Builder *sb, SmbiosOpts *so)
{
    begin(sb, 11, 0xb00);
    u8(sb, so->oem->len);
    for (guint i = 0; i < so->oem->len; i++)
        str(sb, so->oem->pdata[i]);
    end(sb);
}

static void type16(Builder *sb, uint64_t ram, unsigned ndimm)
{
    uint64_t kib = ram / 1024;
    begin(sb, 16, 0x1000);
    u8(sb, 1);                          /* location: other */
    u8(sb, 3);                          /* use: system memory */
    u8(sb, 6);                          /* multi-bit ECC */
    u32(sb, kib >= 0x80000000u ? 0x80000000u : kib);
    u16(sb, 0xfffe);                    /* no error information */
    u16(sb, ndimm);
    u64(sb, kib >= 0x80000000u ? ram : 0);
    end(sb);
}

static void type17(Builder *sb, SmbiosOpts *so, unsigned i, uint64_t size)
{
    g_autofree char *loc = g_strdup_printf("%s %u", sopt(so, 17, "loc_pfx", "DIMM"), i);
    uint64_t mib = size >> 20;
    uint16_t speed = atoi(sopt(so, 17, "speed", "0"));
    begin(sb, 17, 0x1100 + i);
    u16(sb, 0x1000);
    u16(sb, 0xfffe);
    u16(sb, 0xffff);                    /* widths unknown */
    u16(sb, 0xffff);
    u16(sb, mib < 0x7fff ? mib : 0x7fff);
    u8(sb, 0x09);                       /* DIMM */
    u8(sb, 0);
    str(sb, loc);
    str(sb, sopt(so, 17, "bank", NULL));
    u8(sb, 0x07);                       /* RAM */
    u16(sb, 0x02);                      /* other */
    u16(sb, speed);
    str(sb, sopt(so, 17, "manufacturer", "QEMU"));
    str(sb, sopt(so, 17, "serial", NULL));
    str(sb, sopt(so, 17, "asset", NULL));
    str(sb, sopt(so, 17, "part", NULL));
    u8(sb, 0);
    u32(sb, mib < 0x7fff ? 0 : mib);
    u16(sb, speed);
    u16(sb, 0);                         /* voltages unknown */
    u16(sb, 0);
    u16(sb, 0);
    end(sb);
}

static void type19(Builder *sb, unsigned i, uint64_t start, uint64_t size)
{
    uint64_t s = start / 1024, e = (start + size) / 1024 - 1;
    bool ext = e >= 0xffffffffu;
    begin(sb, 19, 0x1300 + i);
    u32(sb, ext ? 0xffffffffu : s);
    u32(sb, ext ? 0xffffffffu : e);
    u16(sb, 0x1000);
    u8(sb, 1);                          /* partition width */
    u64(sb, ext ? start : 0);
    u64(sb, ext ? start + size - 1 : 0);
    end(sb);
}

static void type32(Builder *sb)
{
    begin(sb, 32, 0x2000);
    u32(sb, 0);                         /* reserved (6 bytes) */
    u16(sb, 0);
    u8(sb, 0);                          /* no errors detected */
    end(sb);
}

bool smbios_build(const SmbiosMachine *mi, SmbiosTables *out, GError **errp)
{
    SmbiosOpts so = { .oem = g_ptr_array_new_with_free_func(g_free),
                      .file = g_byte_array_new() };
    Builder sb = { .b = g_byte_array_new(), .strings = g_ptr_array_new() };
    bool ok = true;
    unsigned ndimm = (mi->ram_size + DIMM_MAX - 1) / DIMM_MAX;

    for (guint i = 0; mi->opts && i < mi->opts->len && ok; i++)
        ok = smbios_option(&so, mi->opts->pdata[i], errp);
    if (ok) {
#define WANT(t) (!so.file_types[t])
        if (so.kv[0] && WANT(0))
            type0(&sb, &so);
        if (WANT(1))
            type1(&sb, &so, mi->uuid);
        if (so.kv[2] && WANT(2))
            type2(&sb, &so);
        if (WANT(3))
            type3(&sb, &so);
        for (unsigned s = 0; WANT(4) && s < mi->sockets; s++)
            type4(&sb, &so, s, mi);
        if (so.oem->len && WANT(11))
            type11(&sb, &so);
        if (WANT(16))
            type16(&sb, mi->ram_size, ndimm);
        for (unsigned i = 0; WANT(17) && i < ndimm; i++)
            type17(&sb, &so, i, MIN(DIMM_MAX, mi->ram_size - (uint64_t)i * DIMM_MAX));
        for (unsigned i = 0; WANT(19) && i < mi->nranges; i++)
            type19(&sb, i, mi->ranges[i][0], mi->ranges[i][1]);
        if (WANT(32))
            type32(&sb);
        if (so.file->len) {
            bool types[128] = { 0 };
            g_byte_array_append(sb.b, so.file->data, so.file->len);
            check_file("file=", so.file->data, so.file->len, types, NULL);
            for (size_t off = 0; off < so.file->len; ) {   /* count and size them */
                size_t s = off + so.file->data[off + 1];
                while (so.file->data[s] || so.file->data[s + 1])
                    s++;
                sb.count++;
                sb.max_size = MAX(sb.max_size, s + 2 - off);
                off = s + 2;
            }
        }
        begin(&sb, 127, 0x7f00);
        end(&sb);
    }
    for (int t = 0; t < 128; t++)
        if (so.kv[t])
            g_hash_table_destroy(so.kv[t]);
    g_ptr_array_free(so.oem, TRUE);
    g_byte_array_free(so.file, TRUE);
    g_ptr_array_free(sb.strings, TRUE);
    if (!ok) {
        g_byte_array_free(sb.b, TRUE);
        return false;
    }
    out->tables = sb.b;
    /* SMBIOS 2.8 entry point (7.1.1 of DSP0134 2.8): table address filled by whoever
     * places the tables (smbios_place(), or SeaBIOS). */
    uint8_t *a = out->anchor;
    memset(a, 0, SMBIOS_ANCHOR_LEN);
    memcpy(a, "_SM_", 4);
    a[5] = SMBIOS_ANCHOR_LEN;
    a[6] = 2;
    a[7] = 8;
    a[8] = sb.max_size;
    a[9] = sb.max_size >> 8;
    memcpy(a + 16, "_DMI_", 5);
    a[22] = sb.b->len;
    a[23] = sb.b->len >> 8;
    a[28] = sb.count;
    a[29] = sb.count >> 8;
    a[30] = 0x28;
    smbios_anchor_set_address(a, 0);
    return true;
}

static uint8_t sum(const uint8_t *p, size_t n)
{
    uint8_t s = 0;
    while (n--)
        s += *p++;
    return s;
}

void smbios_anchor_set_address(uint8_t *a, uint32_t addr)
{
    for (unsigned i = 0; i < 4; i++)
        a[24 + i] = addr >> (8 * i);
    a[21] = 0;
    a[21] = -sum(a + 16, 15);
    a[4] = 0;
    a[4] = -sum(a, SMBIOS_ANCHOR_LEN);
}
