/*
 * The raw format: the virtual disk is the file's bytes, one to one. All work is done by
 * the file protocol below (holes, discard by punching holes, zeroing, resize).
 */
#include <errno.h>

#include "block-int.h"

typedef struct BDRVRawState {
    int64_t size;           /* cached: the image is ours while it is open */
} BDRVRawState;

static const char *const raw_create_opts[] = { "size", "preallocation", NULL };

static int raw_probe(const uint8_t *buf, size_t len)
{
    return 1;               /* anything can be raw; every real format scores higher */
}

static int raw_open(BlockDriverState *bs, GError **errp)
{
    BDRVRawState *s = bs->opaque;

    s->size = bdrv_co_getlength(bs->file);
    if (s->size < 0) {
        g_set_error(errp, G_IO_ERROR, G_IO_ERROR_FAILED, "Could not get the size of '%s': %s",
                    bs->filename, g_strerror((int)-s->size));
        return (int)s->size;
    }
    bs->request_alignment = 1;
    bs->mem_alignment = 1;
    return 0;
}

static int raw_co_preadv(BlockDriverState *bs, int64_t off, int64_t bytes, BlkIov *qiov,
                         size_t qoff)
{
    return bdrv_co_preadv(bs->file, off, bytes, qiov, qoff);
}

static int raw_co_pwritev(BlockDriverState *bs, int64_t off, int64_t bytes, BlkIov *qiov,
                          size_t qoff, int flags)
{
    return bdrv_co_pwritev(bs->file, off, bytes, qiov, qoff, flags);
}

static int raw_co_flush(BlockDriverState *bs)
{
    return bdrv_co_flush(bs->file);
}

static int raw_co_pdiscard(BlockDriverState *bs, int64_t off, int64_t bytes, int flags)
{
    return bdrv_co_pdiscard(bs->file, off, bytes, flags);
}

static int raw_co_pwrite_zeroes(BlockDriverState *bs, int64_t off, int64_t bytes, int flags)
{
    return bdrv_co_pwrite_zeroes(bs->file, off, bytes, flags);
}

static int64_t raw_co_getlength(BlockDriverState *bs)
{
    return ((BDRVRawState *)bs->opaque)->size;
}

static int64_t raw_co_get_allocated_size(BlockDriverState *bs)
{
    return bs->file->drv->co_get_allocated_size(bs->file);
}

static int raw_co_truncate(BlockDriverState *bs, int64_t size, BlockPrealloc prealloc,
                           GError **errp)
{
    BDRVRawState *s = bs->opaque;
    int ret = bdrv_co_truncate(bs->file, size, prealloc, errp);

    if (ret >= 0) {
        s->size = size;
    }
    return ret;
}

static int raw_co_block_status(BlockDriverState *bs, int64_t off, int64_t bytes,
                               int64_t *pnum, BlockStatus *st)
{
    return bdrv_co_block_status(bs->file, off, bytes, pnum, st);
}

static int raw_co_create(BlockEngine *eng, const char *filename, const BlockCreateOpts *o,
                         GError **errp)
{
    if (o->size < 0) {
        g_set_error(errp, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                    "Image size must be specified to create '%s'", filename);
        return -EINVAL;
    }
    if (o->prealloc == BLOCK_PREALLOC_METADATA) {
        g_set_error(errp, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                    "Unsupported preallocation mode 'metadata' for raw image '%s'", filename);
        return -EINVAL;
    }
    return bdrv_file_create(filename, o->size, o->prealloc, errp);
}

static bool raw_has_zero_init(BlockDriverState *bs)
{
    return bs->file->drv->has_zero_init(bs->file);
}

const BlockDriver bdrv_raw = {
    .format_name = "raw",
    .state_size = sizeof(BDRVRawState),
    .create_opts = raw_create_opts,
    .probe = raw_probe,
    .co_open = raw_open,
    .co_preadv = raw_co_preadv,
    .co_pwritev = raw_co_pwritev,
    .co_flush = raw_co_flush,
    .co_pdiscard = raw_co_pdiscard,
    .co_pwrite_zeroes = raw_co_pwrite_zeroes,
    .co_getlength = raw_co_getlength,
    .co_get_allocated_size = raw_co_get_allocated_size,
    .co_truncate = raw_co_truncate,
    .co_block_status = raw_co_block_status,
    .co_create = raw_co_create,
    .has_zero_init = raw_has_zero_init,
};
