/*
 * qcow2 driver: header parsing and validation ("Header", "Header extensions"), open and
 * close, header rewrites that preserve unknown fields and extensions, the dirty and
 * corrupt bits, resize, and the driver table.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "qcow2.h"

enum { L2_CACHE_DEFAULT_MAX = 32 << 20 };

static uint32_t be32_at(const uint8_t *b, size_t off)
{
    uint32_t v;

    memcpy(&v, b + off, 4);
    return be32toh(v);
}

static uint64_t be64_at(const uint8_t *b, size_t off)
{
    uint64_t v;

    memcpy(&v, b + off, 8);
    return be64toh(v);
}

static void put_be32(uint8_t *b, size_t off, uint32_t v)
{
    v = htobe32(v);
    memcpy(b + off, &v, 4);
}

static void put_be64(uint8_t *b, size_t off, uint64_t v)
{
    v = htobe64(v);
    memcpy(b + off, &v, 8);
}

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

/* ---- corruption, overlap checks ------------------------------------------------------ */

int qcow2_signal_corruption(BDRVQcow2State *s, const char *fmt, ...)
{
    va_list ap;
    char *msg;

    va_start(ap, fmt);
    msg = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    if (!s->corrupt_reported && !s->bs->opts.check_mode) {
        s->corrupt_reported = true;
        if (!s->bs->read_only) {
            g_printerr("qcow2: Marking image '%s' as corrupt: %s; further corruption events "
                       "will be suppressed\n", s->bs->filename, msg);
            s->incompatible |= QCOW2_INCOMPAT_CORRUPT;
            qcow2_update_header(s);
        } else {
            g_printerr("qcow2: Image '%s' is corrupt: %s; further non-fatal corruption events "
                       "will be suppressed\n", s->bs->filename, msg);
        }
    }
    bdrv_set_error(s->bs, -EIO, "qcow2 image '%s' is corrupt: %s", s->bs->filename, msg);
    g_free(msg);
    return -EIO;
}

static bool ranges_overlap(uint64_t a, uint64_t alen, uint64_t b, uint64_t blen)
{
    return alen && blen && a < b + blen && b < a + alen;
}

/* Whether [off, off + len) hits the header cluster or one of the fixed tables. */
bool qcow2_overlaps_metadata(BDRVQcow2State *s, uint64_t off, uint64_t len)
{
    return off < s->cluster_size ||
           ranges_overlap(off, len, s->l1_table_offset, (uint64_t)s->l1_size * 8) ||
           ranges_overlap(off, len, s->refcount_table_offset,
                          (uint64_t)s->refcount_table_clusters << s->cluster_bits) ||
           (s->nb_snapshots &&
            ranges_overlap(off, len, s->snapshots_offset, s->snapshots_size));
}

/* ---- header writing ------------------------------------------------------------------- */

static size_t add_ext(uint8_t *buf, size_t pos, size_t cap, uint32_t magic, const void *data,
                      uint32_t len)
{
    size_t need = 8 + ROUND_UP(len, 8);

    if (pos + need > cap) {
        return 0;
    }
    put_be32(buf, pos, magic);
    put_be32(buf, pos + 4, len);
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
    put_be32(buf, 0, QCOW2_MAGIC);
    put_be32(buf, 4, s->version);
    put_be32(buf, 20, s->cluster_bits);
    put_be64(buf, 24, s->size);
    put_be32(buf, 32, 0);
    put_be32(buf, 36, s->l1_size);
    put_be64(buf, 40, s->l1_table_offset);
    put_be64(buf, 48, s->refcount_table_offset);
    put_be32(buf, 56, s->refcount_table_clusters);
    put_be32(buf, 60, s->nb_snapshots);
    put_be64(buf, 64, s->snapshots_offset);
    if (s->version >= 3) {
        put_be64(buf, 72, s->incompatible);
        put_be64(buf, 80, s->compatible);
        put_be64(buf, 88, s->autoclear);
        put_be32(buf, 96, s->refcount_order);
        put_be32(buf, 100, s->header_length);
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
        put_be64(buf, 8, pos);
        put_be32(buf, 16, strlen(name));
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

/* Writes the 512-byte piece of the active L1 table that holds entry @index. */
int qcow2_write_l1_entry(BDRVQcow2State *s, uint64_t index)
{
    uint64_t first = index & ~63ULL, buf[64];

    for (int i = 0; i < 64; i++) {
        buf[i] = htobe64(first + i < s->l1_size ? s->l1_table[first + i] : 0);
    }
    return bdrv_co_pwrite(s->file, s->l1_table_offset + first * 8, buf, sizeof(buf));
}

/* Writes both metadata caches (in dependency order) and flushes the file. */
int qcow2_flush_caches(BDRVQcow2State *s)
{
    int ret = qcow2_cache_write(s, s->l2_cache);

    if (ret == 0) {
        ret = qcow2_cache_write(s, s->refblock_cache);
    }
    if (ret == 0) {
        ret = bdrv_co_flush(s->file);
    }
    return ret;
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
        uint32_t magic = be32_at(buf, pos), len = be32_at(buf, pos + 4);
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
    s->version = be32_at(b, 4);
    s->size = be64_at(b, 24);
    s->l1_size = be32_at(b, 36);
    s->l1_table_offset = be64_at(b, 40);
    s->refcount_table_offset = be64_at(b, 48);
    s->refcount_table_clusters = be32_at(b, 56);
    s->nb_snapshots = be32_at(b, 60);
    s->snapshots_offset = be64_at(b, 64);
    s->refcount_order = 4;
    s->header_length = QCOW2_V2_HEADER_LEN;
    if (s->version >= 3) {
        s->incompatible = be64_at(b, 72);
        s->compatible = be64_at(b, 80);
        s->autoclear = be64_at(b, 88);
        s->refcount_order = be32_at(b, 96);
        s->header_length = be32_at(b, 100);
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
    if (be32_at(b, 32) != 0) {
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
    uint64_t need_l1, boff = be64_at(b, 8);
    uint32_t blen = be32_at(b, 16);

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

static int read_header(BDRVQcow2State *s, GError **errp)
{
    uint8_t *b = block_alloc0(s->bs, 1 << QCOW2_MAX_CLUSTER_BITS);
    const uint8_t *ft = NULL;
    uint32_t ftlen = 0;
    uint64_t boff, ext_end;
    int ret = bdrv_co_pread(s->file, 0, b, 512);

    if (ret < 0) {
        ret = open_error(s, errp, "could not read the header: %s", g_strerror(-ret));
    } else if (be32_at(b, 0) != QCOW2_MAGIC) {
        ret = open_error(s, errp, "not a qcow2 image (bad magic)");
    } else if (be32_at(b, 4) != 2 && be32_at(b, 4) != 3) {
        ret = open_error(s, errp, "unsupported qcow2 version %u", be32_at(b, 4));
    } else if ((s->cluster_bits = be32_at(b, 20)) < QCOW2_MIN_CLUSTER_BITS ||
               s->cluster_bits > QCOW2_MAX_CLUSTER_BITS) {
        ret = open_error(s, errp, "unsupported cluster size 2^%d", s->cluster_bits);
    } else {
        derive_geometry(s);
        ret = bdrv_co_pread(s->file, 0, b, s->cluster_size);
    }
    if (ret == 0 && (ret = parse_fixed_header(s, b, errp)) == 0) {
        derive_geometry(s);
        boff = be64_at(b, 8);
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

/* ---- open / close ------------------------------------------------------------------- */

static int load_l1(BDRVQcow2State *s, GError **errp)
{
    uint64_t bytes = ROUND_UP((uint64_t)s->l1_size * 8, s->cluster_size);
    int ret;

    s->l1_alloc = MAX(bytes, s->cluster_size) / 8;
    s->l1_table = g_malloc0(s->l1_alloc * 8);
    if (s->l1_size == 0) {
        return 0;
    }
    ret = bdrv_co_pread(s->file, s->l1_table_offset, s->l1_table, (uint64_t)s->l1_size * 8);
    if (ret < 0) {
        g_set_error(errp, G_IO_ERROR, G_IO_ERROR_FAILED, "Could not read the L1 table of "
                    "'%s': %s", s->bs->filename, g_strerror(-ret));
        return ret;
    }
    for (uint64_t i = 0; i < s->l1_size; i++) {
        s->l1_table[i] = be64toh(s->l1_table[i]);
    }
    return 0;
}

static void init_caches(BDRVQcow2State *s)
{
    uint64_t want = s->bs->opts.l2_cache_size;
    uint64_t l2n;

    if (!want) {
        want = MIN((uint64_t)L2_CACHE_DEFAULT_MAX, (uint64_t)s->l1_size << s->cluster_bits);
    }
    l2n = MAX(2, MIN(want >> s->cluster_bits, 65536));
    s->l2_cache = qcow2_cache_new(s, (int)l2n, true);
    s->refblock_cache = qcow2_cache_new(s, (int)MAX(4, l2n / 4), false);
}

/* What open does about the dirty, corrupt and autoclear bits of a writable image. */
static int open_fixups(BDRVQcow2State *s, GError **errp)
{
    BlockDriverState *bs = s->bs;
    BlockCheckResult res;

    if (bs->read_only) {
        if (s->incompatible & QCOW2_INCOMPAT_CORRUPT) {
            g_printerr("qcow2: Image '%s' is marked corrupt; opened read-only\n", bs->filename);
        }
        return 0;
    }
    if ((s->incompatible & QCOW2_INCOMPAT_CORRUPT) && !bs->opts.check_mode) {
        g_set_error(errp, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                    "Image '%s' is marked corrupt and cannot be opened read/write; open it "
                    "read-only or repair it with 'vireo-img check -r all'", bs->filename);
        return -EACCES;
    }
    if (s->autoclear) {
        s->autoclear = 0;               /* we maintain none of them (spec: autoclear) */
        qcow2_update_header(s);
    }
    if ((s->incompatible & QCOW2_INCOMPAT_DIRTY) && !bs->opts.check_mode) {
        /* Refcounts may lag behind (lazy refcounts): rebuild them before writing. */
        int ret = qcow2_check(bs, &res, BLOCK_FIX_ALL, errp);
        if (ret < 0) {
            return ret;
        }
        s->incompatible &= ~QCOW2_INCOMPAT_DIRTY;
        if ((ret = qcow2_update_header(s)) < 0 || (ret = bdrv_co_flush(s->file)) < 0) {
            return ret;
        }
    }
    s->use_lazy_refcounts = (s->compatible & QCOW2_COMPAT_LAZY_REFCOUNTS) != 0;
    return 0;
}

static void qcow2_close(BlockDriverState *bs);

static int qcow2_open(BlockDriverState *bs, GError **errp)
{
    BDRVQcow2State *s = bs->opaque;
    int64_t flen;
    int ret;

    s->bs = bs;
    s->file = bs->file;
    s->unknown_exts = g_ptr_array_new();
    s->discard_passthrough = true;
    co_mutex_init(&s->lock);
    co_queue_init(&s->allocs_drained);
    if ((ret = read_header(s, errp)) < 0 || (ret = load_l1(s, errp)) < 0 ||
        (ret = qcow2_refcount_init(s, errp)) < 0) {
        goto fail;
    }
    init_caches(s);
    if ((ret = qcow2_read_snapshots(s, errp)) < 0) {
        goto fail;
    }
    flen = bdrv_co_getlength(s->file);
    s->fresh_cluster = flen > 0 ? qcow2_size_to_clusters(s, flen) : 0;
    s->file_end = flen > 0 ? flen : 0;
    if ((ret = open_fixups(s, errp)) < 0) {
        goto fail;
    }
    return 0;
fail:
    qcow2_close(bs);
    return ret;
}

static void qcow2_free_state(BDRVQcow2State *s)
{
    qcow2_cache_free(s->l2_cache);
    qcow2_cache_free(s->refblock_cache);
    s->l2_cache = s->refblock_cache = NULL;
    g_free(s->l1_table);
    g_free(s->refcount_table);
    s->l1_table = s->refcount_table = NULL;
    qcow2_free_snapshots(s);
    for (guint i = 0; s->unknown_exts && i < s->unknown_exts->len; i++) {
        Qcow2Ext *e = g_ptr_array_index(s->unknown_exts, i);
        g_free(e->data);
        g_free(e);
    }
    if (s->unknown_exts) {
        g_ptr_array_free(s->unknown_exts, TRUE);
    }
    s->unknown_exts = NULL;
    g_free(s->header_tail);
    s->header_tail = NULL;
}

static void qcow2_close(BlockDriverState *bs)
{
    BDRVQcow2State *s = bs->opaque;

    if (!bs->read_only && s->l2_cache) {
        if (qcow2_flush_caches(s) < 0 ||
            (s->use_lazy_refcounts && qcow2_mark_clean(s) < 0)) {
            g_printerr("qcow2: could not write metadata of '%s' on close\n", bs->filename);
        }
        /* Give back the preallocated tail nothing was allocated in. */
        if (s->file_end > s->fresh_cluster << s->cluster_bits) {
            bdrv_co_truncate(s->file, s->fresh_cluster << s->cluster_bits,
                             BLOCK_PREALLOC_OFF, NULL);
        }
    }
    qcow2_free_state(s);
}

/* ---- other driver operations ------------------------------------------------------ */

static int qcow2_probe(const uint8_t *buf, size_t len)
{
    if (len >= 8 && be32_at(buf, 0) == QCOW2_MAGIC &&
        (be32_at(buf, 4) == 2 || be32_at(buf, 4) == 3)) {
        return 100;
    }
    return 0;
}

static int qcow2_co_flush(BlockDriverState *bs)
{
    BDRVQcow2State *s = bs->opaque;
    CoContext *co = bdrv_co(bs);
    int ret;

    if (bs->read_only) {
        return 0;
    }
    co_mutex_lock(co, &s->lock);
    ret = qcow2_flush_caches(s);
    co_mutex_unlock(co, &s->lock);
    return ret;
}

static int64_t qcow2_co_getlength(BlockDriverState *bs)
{
    return ((BDRVQcow2State *)bs->opaque)->size;
}

static int64_t qcow2_co_get_allocated_size(BlockDriverState *bs)
{
    return bs->file->drv->co_get_allocated_size(bs->file);
}

static int qcow2_co_truncate(BlockDriverState *bs, int64_t size, BlockPrealloc prealloc,
                             GError **errp)
{
    BDRVQcow2State *s = bs->opaque;
    CoContext *co = bdrv_co(bs);
    uint64_t old = s->size;
    int ret;

    if ((uint64_t)size < s->size) {
        g_set_error(errp, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED,
                    "Cannot shrink qcow2 image '%s'", bs->filename);
        return -ENOTSUP;
    }
    if (size % 512) {
        g_set_error(errp, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                    "qcow2 image size must be a multiple of 512 bytes ('%s')", bs->filename);
        return -EINVAL;
    }
    co_mutex_lock(co, &s->lock);
    ret = qcow2_grow_l1(s, DIV_ROUND_UP(size, s->cluster_size * s->l2_size));
    if (ret == 0) {
        s->size = size;
        ret = qcow2_update_header(s);
    }
    co_mutex_unlock(co, &s->lock);
    if (ret == 0 && prealloc != BLOCK_PREALLOC_OFF) {
        ret = qcow2_preallocate(s, old, size, prealloc);
    }
    if (ret < 0) {
        g_set_error(errp, G_IO_ERROR, G_IO_ERROR_FAILED, "Could not resize '%s': %s",
                    bs->filename, bs->last_error ? bs->last_error : g_strerror(-ret));
    }
    return ret;
}

static void qcow2_get_info(BlockDriverState *bs, BlockImageInfo *info)
{
    BDRVQcow2State *s = bs->opaque;

    info->cluster_size = s->cluster_size;
    info->has_dirty_flag = true;
    info->dirty_flag = (s->incompatible & QCOW2_INCOMPAT_DIRTY) != 0;
    info->is_qcow2 = true;
    info->compat = g_strdup(s->version >= 3 ? "1.1" : "0.10");
    info->compression_type = g_strdup(s->compression_type == QCOW2_COMPRESS_ZSTD ? "zstd"
                                                                                 : "zlib");
    info->lazy_refcounts = (s->compatible & QCOW2_COMPAT_LAZY_REFCOUNTS) != 0;
    info->refcount_bits = s->refcount_bits;
    info->corrupt = (s->incompatible & QCOW2_INCOMPAT_CORRUPT) != 0;
    info->extended_l2 = false;
    info->n_snapshots = qcow2_snapshot_list(bs, &info->snapshots);
}

static int qcow2_co_change_backing_file(BlockDriverState *bs, const char *backing,
                                        const char *fmt, GError **errp)
{
    BDRVQcow2State *s = bs->opaque;
    char *old_file = bs->backing_file, *old_fmt = bs->backing_format;
    int ret;

    if (backing && strlen(backing) > QCOW2_MAX_BACKING_NAME) {
        g_set_error(errp, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                    "Backing file name '%s' is too long", backing);
        return -EINVAL;
    }
    bs->backing_file = backing && *backing ? g_strdup(backing) : NULL;
    bs->backing_format = bs->backing_file && fmt ? g_strdup(fmt) : NULL;
    ret = qcow2_update_header(s);
    if (ret == 0) {
        ret = bdrv_co_flush(s->file);
    }
    if (ret < 0) {
        g_free(bs->backing_file);
        g_free(bs->backing_format);
        bs->backing_file = old_file;
        bs->backing_format = old_fmt;
        g_set_error(errp, G_IO_ERROR, G_IO_ERROR_FAILED,
                    "Could not change the backing file of '%s': %s", bs->filename,
                    bs->last_error ? bs->last_error : g_strerror(-ret));
        return ret;
    }
    g_free(old_file);
    g_free(old_fmt);
    return 0;
}

static int qcow2_co_make_empty(BlockDriverState *bs, GError **errp)
{
    BDRVQcow2State *s = bs->opaque;
    int ret = qcow2_co_pdiscard(bs, 0, ROUND_UP(s->size, s->cluster_size),
                                BDRV_REQ_DISCARD_FULL);

    if (ret == 0) {
        ret = qcow2_co_flush(bs);
    }
    if (ret < 0) {
        g_set_error(errp, G_IO_ERROR, G_IO_ERROR_FAILED, "Could not empty '%s': %s",
                    bs->filename, g_strerror(-ret));
    }
    return ret;
}

static bool qcow2_has_zero_init(BlockDriverState *bs)
{
    return bs->backing_file == NULL;
}

static const char *const qcow2_create_opts[] = {
    "size", "compat", "backing_file", "backing_fmt", "cluster_size", "preallocation",
    "lazy_refcounts", "refcount_bits", "compression_type", "extended_l2", NULL,
};

const BlockDriver bdrv_qcow2 = {
    .format_name = "qcow2",
    .state_size = sizeof(BDRVQcow2State),
    .create_opts = qcow2_create_opts,
    .probe = qcow2_probe,
    .co_open = qcow2_open,
    .co_close = qcow2_close,
    .co_preadv = qcow2_co_preadv,
    .co_pwritev = qcow2_co_pwritev,
    .co_pwritev_compressed = qcow2_co_pwritev_compressed,
    .co_flush = qcow2_co_flush,
    .co_pdiscard = qcow2_co_pdiscard,
    .co_pwrite_zeroes = qcow2_co_pwrite_zeroes,
    .co_getlength = qcow2_co_getlength,
    .co_get_allocated_size = qcow2_co_get_allocated_size,
    .co_truncate = qcow2_co_truncate,
    .co_block_status = qcow2_co_block_status,
    .get_info = qcow2_get_info,
    .co_check = qcow2_check,
    .co_create = qcow2_create,
    .snapshot_list = qcow2_snapshot_list,
    .co_snapshot_create = qcow2_snapshot_create,
    .co_snapshot_apply = qcow2_snapshot_apply,
    .co_snapshot_delete = qcow2_snapshot_delete,
    .co_change_backing_file = qcow2_co_change_backing_file,
    .co_make_empty = qcow2_co_make_empty,
    .has_zero_init = qcow2_has_zero_init,
};
