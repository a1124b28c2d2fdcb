/*
 * Compressed clusters (header field compression_type): zlib raw deflate with a 4 KiB
 * window (type 0) and zstd (type 1). The work runs on the engine's thread pool so a
 * convert -c uses every core. Decompression stops once a whole cluster is produced:
 * the bytes after the compressed stream may belong to another cluster.
 */
#include <errno.h>
#include <zlib.h>
#include <zstd.h>

#include "qcow2.h"

typedef struct CompressJob {
    void *dst;
    size_t dst_len;
    const void *src;
    size_t src_len;
    int type;
} CompressJob;

static int zlib_compress(CompressJob *j)
{
    z_stream z = { 0 };
    int ret;

    if (deflateInit2(&z, Z_DEFAULT_COMPRESSION, Z_DEFLATED, -12, 9, Z_DEFAULT_STRATEGY) != Z_OK) {
        return -EIO;
    }
    z.next_in = (Bytef *)j->src;
    z.avail_in = j->src_len;
    z.next_out = j->dst;
    z.avail_out = j->dst_len;
    ret = deflate(&z, Z_FINISH);
    deflateEnd(&z);
    return ret == Z_STREAM_END ? (int)(j->dst_len - z.avail_out) : -ENOSPC;
}

static int zlib_decompress(CompressJob *j)
{
    z_stream z = { 0 };
    int ret;

    if (inflateInit2(&z, -12) != Z_OK) {
        return -EIO;
    }
    z.next_in = (Bytef *)j->src;
    z.avail_in = j->src_len;
    z.next_out = j->dst;
    z.avail_out = j->dst_len;
    ret = inflate(&z, Z_FINISH);
    inflateEnd(&z);
    return (ret == Z_STREAM_END || ret == Z_BUF_ERROR) && z.avail_out == 0 ? 0 : -EIO;
}

static int zstd_compress(CompressJob *j)
{
    size_t n = ZSTD_compress(j->dst, j->dst_len, j->src, j->src_len, ZSTD_CLEVEL_DEFAULT);

    return ZSTD_isError(n) ? -ENOSPC : (int)n;
}

static int zstd_decompress(CompressJob *j)
{
    ZSTD_DCtx *d = ZSTD_createDCtx();
    ZSTD_inBuffer in = { j->src, j->src_len, 0 };
    ZSTD_outBuffer out = { j->dst, j->dst_len, 0 };
    int ret = 0;

    if (!d) {
        return -ENOMEM;
    }
    while (out.pos < out.size) {
        size_t in_before = in.pos, out_before = out.pos;
        size_t r = ZSTD_decompressStream(d, &out, &in);
        if (ZSTD_isError(r) || (in.pos == in_before && out.pos == out_before)) {
            ret = -EIO;                 /* bad data, or no progress: input ran out */
            break;
        }
    }
    ZSTD_freeDCtx(d);
    return ret;
}

static int compress_thread(void *opaque)
{
    CompressJob *j = opaque;

    return j->type == QCOW2_COMPRESS_ZSTD ? zstd_compress(j) : zlib_compress(j);
}

static int decompress_thread(void *opaque)
{
    CompressJob *j = opaque;

    return j->type == QCOW2_COMPRESS_ZSTD ? zstd_decompress(j) : zlib_decompress(j);
}

/* Compresses @src into at most @dst_len bytes; returns the size or -ENOSPC. */
int qcow2_co_compress(BDRVQcow2State *s, void *dst, size_t dst_len, const void *src,
                      size_t src_len)
{
    CompressJob j = { dst, dst_len, src, src_len, s->compression_type };

    return engine_co_run_in_thread(s->bs->eng, compress_thread, &j);
}

/* Fills all of @dst (one cluster) from compressed @src; -EIO if that is impossible. */
int qcow2_co_decompress(BDRVQcow2State *s, void *dst, size_t dst_len, const void *src,
                        size_t src_len)
{
    CompressJob j = { dst, dst_len, src, src_len, s->compression_type };

    return engine_co_run_in_thread(s->bs->eng, decompress_thread, &j);
}
