/*
 * qcow2 header ("Header", "Header extensions", "Feature name table"): parsing with
 * validation of every field a malformed image could abuse, and rewriting that keeps
 * unknown additional fields and unknown extensions as the specification requires.
 */
#include <errno.h>
#include <stdarg.h>
#include <string.h>

#include "qcow2.h"

static int open_error(BDRVQcow2State *s, GError **errp, const char *fmt, ...)
    G_GNUC_PRINTF(3, 4);

static int open_error(BDRVQcow2State *s, GError **errp, const char *fmt, ...)
{
    va_list ap;
    char *msg;

    va_start(ap, fmt);
    msg = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    g_set_error(errp, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, "Image '%s': %s",
                s->bs->filename, msg);
    g_free(msg);
    return -EINVAL;
}

/* ---- header writing ------------------------------------------------------------------- */

static size_t add_ext(uint8_t *buf, size_t pos, size_t cap, uint32_t magic, const void *data,
                      uint32_t len)
{
    size_t need = 8 + ROUND_UP(len, 8);

    if (pos + need > cap) {
        return 0;
    }
    qcow2_put_be32(buf, pos, magic);
    qcow2_put_be32(buf, pos + 4, len);
    if (len) {
        memcpy(buf + pos + 8, data, len);
    }
    memset(buf + pos + 8 + len, 0, ROUND_UP(len, 8) - len);
    return need;
}

/* Feature name table entries (type, bit, name) for the features the spec defines. */
static size_t feature_table(uint8_t *out)
{
    static const struct { uint8_t type, bit; const char *name; } f[] = {
        { 0, 0, "dirty bit" }, { 0, 1, "corrupt bit" }, { 0, 2, "external data file" },
        { 0, 3, "compression type" }, { 0, 4, "extended L2 entries" },
        { 1, 0, "lazy refcounts" }, { 2, 0, "bitmaps" }, { 2, 1, "raw external data" },
    };

    memset(out, 0, sizeof(f) / sizeof(f[0]) * 48);
    for (size_t i = 0; i < G_N_ELEMENTS(f); i++) {
        out[i * 48] = f[i].type;
        out[i * 48 + 1] = f[i].bit;
        strncpy((char *)out + i * 48 + 2, f[i].name, 46);
    }
    return G_N_ELEMENTS(f) * 48;
}

static void build_fixed_header(BDRVQcow2State *s, uint8_t *buf)
{
    qcow2_put_be32(buf, 0, QCOW2_MAGIC);
    qcow2_put_be32(buf, 4, s->version);
    qcow2_put_be32(buf, 20, s->cluster_bits);
    qcow2_put_be64(buf, 24, s->size);
    qcow2_put_be32(buf, 32, 0);
    qcow2_put_be32(buf, 36, s->l1_size);
    qcow2_put_be64(buf, 40, s->l1_table_offset);
    qcow2_put_be64(buf, 48, s->refcount_table_offset);
    qcow2_put_be32(buf, 56, s->refcount_table_clusters);
    qcow2_put_be32(buf, 60, s->nb_snapshots);
    qcow2_put_be64(buf, 64, s->snapshots_offset);
    if (s->version >= 3) {
        qcow2_put_be64(buf, 72, s->incompatible);
        qcow2_put_be64(buf, 80, s->compatible);
        qcow2_put_be64(buf, 88, s->autoclear);
        qcow2_put_be32(buf, 96, s->refcount_order);
        qcow2_put_be32(buf, 100, s->header_length);
        buf[104] = s->compression_type;
        if (s->header_tail_len) {
            memcpy(buf + QCOW2_OUR_HEADER_LEN, s->header_tail, s->header_tail_len);
        }
    }
}

/* Serialises the whole header cluster: fields, extensions (unknown ones preserved),
 * then the backing file name. Returns the used length or -ENOSPC. */
static int64_t build_header(BDRVQcow2State *s, uint8_t *buf)
{
    size_t cap = s->cluster_size, pos, n;
    uint8_t ft[8 * 48];
    const char *fmt = s->bs->backing_format, *name = s->bs->backing_file;

    memset(buf, 0, cap);
    if (s->version >= 3) {
        s->header_length = QCOW2_OUR_HEADER_LEN + s->header_tail_len;
    }
    build_fixed_header(s, buf);
    pos = s->version >= 3 ? s->header_length : QCOW2_V2_HEADER_LEN;
    if (name && fmt && *fmt) {
        if (!(n = add_ext(buf, pos, cap - 8, QCOW2_EXT_BACKING_FORMAT, fmt, strlen(fmt)))) {
            return -ENOSPC;
        }
        pos += n;
    }
    for (guint i = 0; s->unknown_exts && i < s->unknown_exts->len; i++) {
        Qcow2Ext *e = g_ptr_array_index(s->unknown_exts, i);
        if (!(n = add_ext(buf, pos, cap - 8, e->magic, e->data, e->len))) {
            return -ENOSPC;
        }
        pos += n;
    }
    if (s->version >= 3) {
        /* Optional: left out when the cluster is too small (512-byte clusters). */
        size_t ftlen = feature_table(ft);
        size_t room = cap - 8 - (name ? strlen(name) : 0);
        pos += pos + 8 + ftlen <= room ? add_ext(buf, pos, room, QCOW2_EXT_FEATURE_TABLE, ft,
                                                 ftlen) : 0;
    }
    pos += 8;                           /* end of extensions: already zero */
    if (name) {
        if (pos + strlen(name) > cap) {
            return -ENOSPC;
        }
        qcow2_put_be64(buf, 8, pos);
        qcow2_put_be32(buf, 16, strlen(name));
        memcpy(buf + pos, name, strlen(name));
        pos += strlen(name);
    }
    return pos;
}

/* Rewrites the header cluster from the in-memory state. */
int qcow2_update_header(BDRVQcow2State *s)
{
    uint8_t *buf = block_alloc(s->bs, s->cluster_size);
    int64_t used = build_header(s, buf);
    int ret;

    if (used < 0) {
        block_free(buf);
        return bdrv_set_error(s->bs, (int)used, "the qcow2 header of '%s' does not fit in "
                              "one cluster", s->bs->filename);
    }
    ret = bdrv_co_pwrite(s->file, 0, buf, MIN(ROUND_UP(used, 512), s->cluster_size));
    block_free(buf);
    return ret;
}

/* Lazy refcounts: set the dirty bit (flushed) before refcounts may lag behind. */
int qcow2_mark_dirty(BDRVQcow2State *s)
{
    int ret;

    if (s->incompatible & QCOW2_INCOMPAT_DIRTY) {
        return 0;
    }
    s->incompatible |= QCOW2_INCOMPAT_DIRTY;
    if ((ret = bdrv_co_flush(s->file)) < 0 || (ret = qcow2_update_header(s)) < 0) {
        return ret;
    }
    return bdrv_co_flush(s->file);
}

int qcow2_mark_clean(BDRVQcow2State *s)
{
    int ret;

    if (!(s->incompatible & QCOW2_INCOMPAT_DIRTY)) {
        return 0;
    }
    if ((ret = qcow2_flush_caches(s)) < 0) {
        return ret;
    }
    s->incompatible &= ~QCOW2_INCOMPAT_DIRTY;
    if ((ret = qcow2_update_header(s)) < 0) {
        return ret;
    }
    return bdrv_co_flush(s->file);
}

/* ---- header parsing ------------------------------------------------------------------ */

/* Names of incompatible features: the image's feature table, else the spec's names. */
static char *feature_names(const uint8_t *table, uint32_t len, uint64_t bits)
{
    static const char *const spec[] = { "dirty bit", "corrupt bit", "external data file",
                                        "compression type", "extended L2 entries" };
    GString *out = g_string_new(NULL);

    for (int b = 0; b < 64; b++) {
        const char *name = b < (int)G_N_ELEMENTS(spec) ? spec[b] : NULL;
        if (!(bits & (1ULL << b))) {
            continue;
        }
        for (uint32_t i = 0; table && i + 48 <= len; i += 48) {
            if (table[i] == 0 && table[i + 1] == b) {
                name = (const char *)table + i + 2;
            }
        }
        if (name) {
            g_string_append_printf(out, "%s%.46s", out->len ? ", " : "", name);
        } else {
            g_string_append_printf(out, "%sunknown feature bit %d", out->len ? ", " : "", b);
        }
    }
    return g_string_free(out, FALSE);
}

static int parse_extensions(BDRVQcow2State *s, const uint8_t *buf, uint64_t start,
                            uint64_t end, const uint8_t **ftable, uint32_t *ftlen,
                            GError **errp)
{
    uint64_t pos = start;

    while (pos + 8 <= end) {
        uint32_t magic = qcow2_be32_at(buf, pos), len = qcow2_be32_at(buf, pos + 4);
        pos += 8;
        if (magic == QCOW2_EXT_END) {
            break;
        }
        if (len > end - pos) {
            return open_error(s, errp, "header extension %#x of %u bytes does not fit in "
                              "the header cluster", magic, len);
        }
        if (magic == QCOW2_EXT_BACKING_FORMAT) {
            if (len > 1023) {
                return open_error(s, errp, "backing format name is too long");
            }
            g_free(s->bs->backing_format);
            s->bs->backing_format = g_strndup((const char *)buf + pos, len);
        } else if (magic == QCOW2_EXT_FEATURE_TABLE) {
            *ftable = buf + pos;
            *ftlen = len;
        } else {
            /* Unknown (or unsupported but harmless): kept on header rewrites. */
            Qcow2Ext *e = g_new0(Qcow2Ext, 1);
            e->magic = magic;
            e->len = len;
            e->data = g_memdup2(buf + pos, len);
            g_ptr_array_add(s->unknown_exts, e);
        }
        pos += ROUND_UP(len, 8);
    }
    return 0;
}

static int check_features(BDRVQcow2State *s, const uint8_t *ft, uint32_t ftlen, GError **errp)
{
    uint64_t unsupported = s->incompatible & ~QCOW2_INCOMPAT_KNOWN;

    if (unsupported) {
        char *names = feature_names(ft, ftlen, unsupported);
        int ret = open_error(s, errp, "unsupported qcow2 feature(s): %s", names);
        g_free(names);
        return ret;
    }
    if ((s->incompatible & QCOW2_INCOMPAT_COMPRESSION) ?
        s->compression_type != QCOW2_COMPRESS_ZSTD :
        s->compression_type != QCOW2_COMPRESS_ZLIB) {
        return open_error(s, errp, "invalid compression type %d", s->compression_type);
    }
    return 0;
}

static int parse_fixed_header(BDRVQcow2State *s, const uint8_t *b, GError **errp)
{
    s->version = qcow2_be32_at(b, 4);
    s->size = qcow2_be64_at(b, 24);
    s->l1_size = qcow2_be32_at(b, 36);
    s->l1_table_offset = qcow2_be64_at(b, 40);
    s->refcount_table_offset = qcow2_be64_at(b, 48);
    s->refcount_table_clusters = qcow2_be32_at(b, 56);
    s->nb_snapshots = qcow2_be32_at(b, 60);
    s->snapshots_offset = qcow2_be64_at(b, 64);
    s->refcount_order = 4;
    s->header_length = QCOW2_V2_HEADER_LEN;
    if (s->version >= 3) {
        s->incompatible = qcow2_be64_at(b, 72);
        s->compatible = qcow2_be64_at(b, 80);
        s->autoclear = qcow2_be64_at(b, 88);
        s->refcount_order = qcow2_be32_at(b, 96);
        s->header_length = qcow2_be32_at(b, 100);
        if (s->header_length < QCOW2_V3_HEADER_LEN || s->header_length % 8 ||
            s->header_length > s->cluster_size) {
            return open_error(s, errp, "invalid header length %u", s->header_length);
        }
        s->compression_type = s->header_length > 104 ? b[104] : 0;
        if (s->header_length > QCOW2_OUR_HEADER_LEN) {
            s->header_tail_len = s->header_length - QCOW2_OUR_HEADER_LEN;
            s->header_tail = g_memdup2(b + QCOW2_OUR_HEADER_LEN, s->header_tail_len);
        }
    }
    if (qcow2_be32_at(b, 32) != 0) {
        return open_error(s, errp, "encrypted images are not supported");
    }
    if (s->refcount_order < 0 || s->refcount_order > 6) {
        return open_error(s, errp, "invalid refcount order %d", s->refcount_order);
    }
    return 0;
}

static void derive_geometry(BDRVQcow2State *s)
{
    s->cluster_size = 1ULL << s->cluster_bits;
    s->l2_bits = s->cluster_bits - 3;
    s->l2_size = 1ULL << s->l2_bits;
    s->refcount_bits = 1 << s->refcount_order;
    s->refcount_max = s->refcount_bits == 64 ? UINT64_MAX : (1ULL << s->refcount_bits) - 1;
    s->refblock_bits = s->cluster_bits + 3 - s->refcount_order;
    s->refblock_size = 1ULL << s->refblock_bits;
    s->csize_shift = 62 - (s->cluster_bits - 8);
    s->csize_mask = (1ULL << (s->cluster_bits - 8)) - 1;
    s->cluster_offset_mask = (1ULL << s->csize_shift) - 1;
}

static int check_tables(BDRVQcow2State *s, const uint8_t *b, GError **errp)
{
    uint64_t need_l1, boff = qcow2_be64_at(b, 8);
    uint32_t blen = qcow2_be32_at(b, 16);

    if (s->size > (1ULL << 62)) {
        return open_error(s, errp, "virtual size %" PRIu64 " is too large", s->size);
    }
    need_l1 = DIV_ROUND_UP(s->size, s->cluster_size * s->l2_size);
    if ((uint64_t)s->l1_size * 8 > QCOW2_MAX_L1_BYTES) {
        return open_error(s, errp, "active L1 table of %u entries is too large", s->l1_size);
    }
    if (s->l1_size < need_l1) {
        return open_error(s, errp, "L1 table of %u entries is too small for the %" PRIu64
                          "-byte disk", s->l1_size, s->size);
    }
    if (s->l1_size && (qcow2_offset_in_cluster(s, s->l1_table_offset) ||
                       s->l1_table_offset < s->cluster_size)) {
        return open_error(s, errp, "L1 table offset %#" PRIx64 " is invalid",
                          s->l1_table_offset);
    }
    if (s->l1_table_offset >= QCOW2_MAX_OFFSET || s->refcount_table_offset >= QCOW2_MAX_OFFSET ||
        (s->nb_snapshots && s->snapshots_offset >= QCOW2_MAX_OFFSET)) {
        return open_error(s, errp, "a table offset lies beyond the largest possible image");
    }
    if (s->nb_snapshots > QCOW2_MAX_SNAPSHOTS) {
        return open_error(s, errp, "too many snapshots (%u)", s->nb_snapshots);
    }
    if (boff) {
        if (blen > QCOW2_MAX_BACKING_NAME || boff > s->cluster_size ||
            blen > s->cluster_size - boff) {
            return open_error(s, errp, "backing file name (offset %#" PRIx64 ", %u bytes) "
                              "is invalid", boff, blen);
        }
        s->bs->backing_file = g_strndup((const char *)b + boff, blen);
    }
    return 0;
}

/* Reads and validates the header cluster: fields, extensions, features, tables. */
int qcow2_read_header(BDRVQcow2State *s, GError **errp)
{
    uint8_t *b = block_alloc0(s->bs, 512);
    const uint8_t *ft = NULL;
    uint32_t ftlen = 0;
    uint64_t boff, ext_end;
    int ret = bdrv_co_pread(s->file, 0, b, 512);

    if (ret < 0) {
        ret = open_error(s, errp, "could not read the header: %s", g_strerror(-ret));
    } else if (qcow2_be32_at(b, 0) != QCOW2_MAGIC) {
        ret = open_error(s, errp, "not a qcow2 image (bad magic)");
    } else if (qcow2_be32_at(b, 4) != 2 && qcow2_be32_at(b, 4) != 3) {
        ret = open_error(s, errp, "unsupported qcow2 version %u", qcow2_be32_at(b, 4));
    } else if ((s->cluster_bits = qcow2_be32_at(b, 20)) < QCOW2_MIN_CLUSTER_BITS ||
               s->cluster_bits > QCOW2_MAX_CLUSTER_BITS) {
        ret = open_error(s, errp, "unsupported cluster size 2^%d", s->cluster_bits);
    } else {
        derive_geometry(s);
        block_free(b);                  /* now read the whole header cluster */
        b = block_alloc(s->bs, s->cluster_size);
        ret = bdrv_co_pread(s->file, 0, b, s->cluster_size);
    }
    if (ret == 0 && (ret = parse_fixed_header(s, b, errp)) == 0) {
        derive_geometry(s);
        boff = qcow2_be64_at(b, 8);
        ext_end = boff > s->header_length ? MIN(boff, s->cluster_size) : s->cluster_size;
        ret = parse_extensions(s, b, s->header_length, ext_end, &ft, &ftlen, errp);
    }
    if (ret == 0) {
        ret = check_features(s, ft, ftlen, errp);
    }
    if (ret == 0) {
        ret = check_tables(s, b, errp);
    }
    block_free(b);
    return ret;
}

