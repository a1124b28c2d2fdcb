/*
 * qcow2 image creation. Layout (as QEMU lays it out): header cluster, refcount table,
 * refcount blocks covering all metadata, then the L1 table; preallocation allocates
 * the data clusters afterwards through the normal allocation path.
 */
#include <errno.h>
#include <string.h>

#include "qcow2.h"

static int create_error(GError **errp, const char *filename, const char *msg)
{
    g_set_error(errp, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT, "Cannot create '%s': %s",
                filename, msg);
    return -EINVAL;
}

static int validate(const char *filename, const BlockCreateOpts *o, GError **errp)
{
    if (o->size % 512) {
        return create_error(errp, filename, "image size must be a multiple of 512 bytes");
    }
    if (o->extended_l2) {
        return create_error(errp, filename, "extended_l2 is not supported");
    }
    if (o->version < 3 && o->lazy_refcounts) {
        return create_error(errp, filename, "lazy_refcounts needs compat=1.1");
    }
    if (o->version < 3 && o->compression_type != QCOW2_COMPRESS_ZLIB) {
        return create_error(errp, filename, "compression_type=zstd needs compat=1.1");
    }
    if (o->version < 3 && o->refcount_bits != 16) {
        return create_error(errp, filename, "refcount_bits other than 16 needs compat=1.1");
    }
    if (o->backing_file && *o->backing_file && o->prealloc != BLOCK_PREALLOC_OFF) {
        return create_error(errp, filename, "backing file and preallocation cannot be used "
                            "at the same time");
    }
    return 0;
}

static void fill_state(BDRVQcow2State *s, const BlockCreateOpts *o)
{
    int cb = __builtin_ctzll(o->cluster_size ? o->cluster_size : 65536);

    s->version = o->version;
    s->cluster_bits = cb;
    s->cluster_size = 1ULL << cb;
    s->l2_bits = cb - 3;
    s->l2_size = 1ULL << s->l2_bits;
    s->size = o->size;
    s->refcount_order = __builtin_ctz(o->refcount_bits);
    s->refcount_bits = o->refcount_bits;
    s->refblock_bits = cb + 3 - s->refcount_order;
    s->refblock_size = 1ULL << s->refblock_bits;
    s->compression_type = o->compression_type;
    s->header_length = s->version >= 3 ? QCOW2_OUR_HEADER_LEN : QCOW2_V2_HEADER_LEN;
    if (o->lazy_refcounts) {
        s->compatible |= QCOW2_COMPAT_LAZY_REFCOUNTS;
    }
    if (o->compression_type == QCOW2_COMPRESS_ZSTD) {
        s->incompatible |= QCOW2_INCOMPAT_COMPRESSION;
    }
    s->l1_size = DIV_ROUND_UP(s->size, s->cluster_size * s->l2_size);
}

/* Writes refcount table, blocks and an empty L1 table after the header cluster. */
static int write_tables(BDRVQcow2State *s)
{
    uint64_t l1c = DIV_ROUND_UP((uint64_t)s->l1_size * 8, s->cluster_size), t = 1, b = 1;
    uint64_t total, bytes;
    uint8_t *buf;
    int ret;

    for (int i = 0; i < 32; i++) {
        total = 1 + t + b + l1c;
        b = DIV_ROUND_UP(total, s->refblock_size);
        t = DIV_ROUND_UP(b * 8, s->cluster_size);
    }
    total = 1 + t + b + l1c;
    bytes = (t + b + l1c) << s->cluster_bits;
    buf = block_alloc0(s->bs, bytes);
    for (uint64_t k = 0; k < b; k++) {
        uint64_t e = htobe64((1 + t + k) << s->cluster_bits);
        memcpy(buf + k * 8, &e, 8);
    }
    for (uint64_t c = 0; c < total; c++) {
        qcow2_refblock_set(s, buf + ((t + (c >> s->refblock_bits)) << s->cluster_bits),
                           c & (s->refblock_size - 1), 1);
    }
    s->refcount_table_offset = s->cluster_size;
    s->refcount_table_clusters = t;
    s->l1_table_offset = (1 + t + b) << s->cluster_bits;
    ret = bdrv_co_pwrite(s->file, s->cluster_size, buf, bytes);
    block_free(buf);
    return ret;
}

static int write_new_image(BlockEngine *eng, const char *filename, const BlockCreateOpts *o,
                           GError **errp)
{
    BlockOpenOptions fo;
    BlockDriverState fake = { 0 }, *file;
    BDRVQcow2State s = { 0 };
    int ret;

    block_open_options_init(&fo);
    fo.force_share = true;
    file = bdrv_open(eng, filename, "file", &fo, 0, NULL, errp);
    if (!file) {
        return -EIO;
    }
    fake.eng = eng;
    fake.filename = (char *)filename;
    fake.backing_file = o->backing_file && *o->backing_file ? o->backing_file : NULL;
    fake.backing_format = o->backing_fmt;
    fake.opts.check_mode = true;
    s.bs = &fake;
    s.file = file;
    fill_state(&s, o);
    ret = write_tables(&s);
    if (ret == 0) {
        ret = qcow2_update_header(&s);
    }
    if (ret == 0) {
        ret = bdrv_co_flush(file);
    }
    if (ret < 0) {
        g_set_error(errp, G_IO_ERROR, G_IO_ERROR_FAILED, "Could not write '%s': %s", filename,
                    fake.last_error ? fake.last_error : g_strerror(-ret));
    }
    g_free(fake.last_error);
    bdrv_close(file);
    return ret;
}

static int preallocate(BlockEngine *eng, const char *filename, const BlockCreateOpts *o,
                       GError **errp)
{
    BlockOpenOptions bo;
    BlockDriverState *bs;
    int ret;

    block_open_options_init(&bo);
    bo.no_backing = true;
    bo.force_share = true;
    bs = bdrv_open(eng, filename, "qcow2", &bo, 0, NULL, errp);
    if (!bs) {
        return -EIO;
    }
    ret = qcow2_preallocate(bs->opaque, 0, o->size, o->prealloc);
    if (ret < 0) {
        g_set_error(errp, G_IO_ERROR, G_IO_ERROR_FAILED, "Could not preallocate '%s': %s",
                    filename, bs->last_error ? bs->last_error : g_strerror(-ret));
    }
    bdrv_close(bs);
    return ret;
}

int qcow2_create(BlockEngine *eng, const char *filename, const BlockCreateOpts *o,
                 GError **errp)
{
    int ret = validate(filename, o, errp);

    if (ret == 0) {
        ret = bdrv_file_create(filename, 0, BLOCK_PREALLOC_OFF, errp);
    }
    if (ret == 0) {
        ret = write_new_image(eng, filename, o, errp);
    }
    if (ret == 0 && o->prealloc != BLOCK_PREALLOC_OFF) {
        ret = preallocate(eng, filename, o, errp);
    }
    return ret;
}
