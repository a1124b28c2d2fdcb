/*
 * qcow2 guest I/O: reads through the cluster mapping, writes with allocation and
 * copy-on-write of partial clusters (from the backing file, a compressed cluster or a
 * shared cluster), zero writes and discard with zero clusters, compressed writes, and
 * allocation status.
 */
#include <errno.h>
#include <string.h>

#include "qcow2.h"

static int read_compressed(BDRVQcow2State *s, uint64_t l2e, uint64_t in_cl, uint64_t bytes,
                           BlkIov *qiov, size_t qoff)
{
    uint64_t coff, clen;
    uint8_t *cbuf, *out;
    int ret;

    qcow2_parse_compressed(s, l2e, &coff, &clen);
    cbuf = block_alloc(s->bs, clen);
    out = block_alloc(s->bs, s->cluster_size);
    ret = bdrv_co_pread(s->file, coff, cbuf, clen);
    if (ret == 0 && qcow2_co_decompress(s, out, s->cluster_size, cbuf, clen) < 0) {
        ret = qcow2_signal_corruption(s, "compressed cluster at %#" PRIx64 " does not "
                                      "decompress", coff);
    }
    if (ret == 0) {
        blkiov_from_buf(qiov, qoff, out + in_cl, bytes);
    }
    block_free(cbuf);
    block_free(out);
    return ret;
}

/* Reads @bytes at guest offset @guest_off, which maps as (@type, @host, @l2e). */
int qcow2_read_cluster_data(BDRVQcow2State *s, uint64_t guest_off, Qcow2ClusterType type,
                            uint64_t host, uint64_t l2e, uint64_t bytes, BlkIov *qiov,
                            size_t qoff)
{
    switch (type) {
    case QCOW2_CLUSTER_UNALLOCATED:
        return bdrv_co_read_backing(s->bs, guest_off, bytes, qiov, qoff);
    case QCOW2_CLUSTER_ZERO_PLAIN:
    case QCOW2_CLUSTER_ZERO_ALLOC:
        blkiov_memset(qiov, qoff, 0, bytes);
        return 0;
    case QCOW2_CLUSTER_NORMAL:
        return bdrv_co_preadv(s->file, host, bytes, qiov, qoff);
    case QCOW2_CLUSTER_COMPRESSED:
        return read_compressed(s, l2e, qcow2_offset_in_cluster(s, guest_off), bytes, qiov,
                               qoff);
    }
    return -EIO;
}

static int qcow2_map(BDRVQcow2State *s, uint64_t off, uint64_t *n, uint64_t *host,
                     Qcow2ClusterType *type, uint64_t *l2e)
{
    CoContext *co = bdrv_co(s->bs);
    int ret;

    co_mutex_lock(co, &s->lock);
    ret = qcow2_get_host_offset(s, off, n, host, type, l2e);
    co_mutex_unlock(co, &s->lock);
    return ret;
}

int qcow2_co_preadv(BlockDriverState *bs, int64_t off, int64_t bytes, BlkIov *qiov,
                           size_t qoff)
{
    BDRVQcow2State *s = bs->opaque;

    while (bytes > 0) {
        uint64_t n = bytes, host, l2e;
        Qcow2ClusterType type;
        int ret = qcow2_map(s, off, &n, &host, &type, &l2e);

        if (ret == 0) {
            ret = qcow2_read_cluster_data(s, off, type, host, l2e, n, qiov, qoff);
        }
        if (ret < 0) {
            return ret;
        }
        off += n;
        qoff += n;
        bytes -= n;
    }
    return 0;
}

/* ---- writes ------------------------------------------------------------------------------ */

/* The current contents of [guest_off, guest_off + len) within one cluster. */
static int cow_read(BDRVQcow2State *s, uint64_t guest_off, uint64_t len, void *buf)
{
    uint64_t n = len, host, l2e;
    Qcow2ClusterType type;
    BlkIov q;
    int ret = qcow2_map(s, guest_off, &n, &host, &type, &l2e);

    if (ret < 0) {
        return ret;
    }
    blkiov_init_buf(&q, buf, len);
    return qcow2_read_cluster_data(s, guest_off, type, host, l2e, len, &q, 0);
}

/* Writes head (old data) + guest data + tail (old data) into the new clusters of @a,
 * then links them into the L2 table. Zero head/tail in never-written clusters are
 * skipped: those bytes already read as zeros. */
int qcow2_write_alloc(BDRVQcow2State *s, Qcow2Alloc *a, uint64_t off, uint64_t n,
                      BlkIov *qiov, size_t qoff)
{
    uint64_t start = a->guest_cluster << s->cluster_bits;
    uint64_t head = off - start, tail = start + a->nb_clusters * s->cluster_size - off - n;
    uint8_t *hbuf = head ? block_alloc(s->bs, head) : NULL;
    uint8_t *tbuf = tail ? block_alloc(s->bs, tail) : NULL;
    bool wh = false, wt = false;
    CoContext *co = bdrv_co(s->bs);
    BlkIov v;
    int ret = 0;

    if (head) {
        ret = cow_read(s, start, head, hbuf);
        wh = ret == 0 && (!a->fresh || !buffer_is_zero(hbuf, head));
    }
    if (tail && ret == 0) {
        ret = cow_read(s, off + n, tail, tbuf);
        wt = ret == 0 && (!a->fresh || !buffer_is_zero(tbuf, tail));
    }
    if (ret == 0) {
        blkiov_init(&v, qiov->niov + 2);
        if (wh) {
            blkiov_add(&v, hbuf, head);
        }
        blkiov_concat(&v, qiov, qoff, n);
        if (wt) {
            blkiov_add(&v, tbuf, tail);
        }
        ret = bdrv_co_pwritev(s->file, a->host_offset + (wh ? 0 : head), v.size, &v, 0, 0);
        blkiov_destroy(&v);
    }
    block_free(hbuf);
    block_free(tbuf);
    co_mutex_lock(co, &s->lock);
    if (ret == 0) {
        ret = qcow2_link_alloc(s, a);
    } else {
        qcow2_free_clusters(s, a->host_offset, a->nb_clusters * s->cluster_size, false);
        qcow2_alloc_done(s, a);
    }
    co_mutex_unlock(co, &s->lock);
    return ret;
}

int qcow2_co_pwritev(BlockDriverState *bs, int64_t off, int64_t bytes, BlkIov *qiov,
                            size_t qoff, int flags)
{
    BDRVQcow2State *s = bs->opaque;
    CoContext *co = bdrv_co(bs);

    if ((uint64_t)off + bytes > s->size) {
        return -EIO;
    }
    while (bytes > 0) {
        uint64_t host, n;
        Qcow2Alloc *a;
        int ret;

        co_mutex_lock(co, &s->lock);
        ret = qcow2_prepare_write(s, off, bytes, &host, &n, &a);
        co_mutex_unlock(co, &s->lock);
        if (ret < 0) {
            return ret;
        }
        ret = a ? qcow2_write_alloc(s, a, off, n, qiov, qoff)
                : bdrv_co_pwritev(s->file, host, n, qiov, qoff, 0);
        if (ret < 0) {
            return ret;
        }
        off += n;
        qoff += n;
        bytes -= n;
    }
    return 0;
}

/* ---- zeroes, discard ------------------------------------------------------------------- */

static int zero_discard_range(BDRVQcow2State *s, uint64_t start, uint64_t end, bool discard,
                              int flags)
{
    CoContext *co = bdrv_co(s->bs);
    int ret = 0;

    co_mutex_lock(co, &s->lock);
    while (start < end && ret == 0) {
        uint64_t gc = start >> s->cluster_bits;
        uint64_t nb = MIN((end - start) >> s->cluster_bits,
                          s->l2_size - (gc & (s->l2_size - 1)));

        ret = qcow2_wait_allocs(s, gc, &nb);
        if (ret == 0) {
            ret = qcow2_zero_or_discard(s, gc, nb, discard, flags);
        }
        start += nb << s->cluster_bits;
    }
    co_mutex_unlock(co, &s->lock);
    return ret;
}

/* Whole clusters inside [off, off + bytes); the partial cluster at the image end counts. */
static void whole_clusters(BDRVQcow2State *s, uint64_t off, uint64_t bytes, uint64_t *start,
                           uint64_t *end)
{
    *start = ROUND_UP(off, s->cluster_size);
    *end = off + bytes;
    *end = *end >= s->size ? ROUND_UP(*end, s->cluster_size)
                           : *end & ~(s->cluster_size - 1);
    if (*end < *start) {
        *end = *start;
    }
}

int qcow2_co_pdiscard(BlockDriverState *bs, int64_t off, int64_t bytes, int flags)
{
    BDRVQcow2State *s = bs->opaque;
    uint64_t start, end;

    whole_clusters(s, off, bytes, &start, &end);
    return start < end ? zero_discard_range(s, start, end, true, flags) : 0;
}

static int write_zero_buffer(BlockDriverState *bs, uint64_t off, uint64_t len)
{
    void *buf = block_alloc0(bs, len);
    BlkIov q;
    int ret;

    blkiov_init_buf(&q, buf, len);
    ret = len ? qcow2_co_pwritev(bs, off, len, &q, 0, 0) : 0;
    block_free(buf);
    return ret;
}

int qcow2_co_pwrite_zeroes(BlockDriverState *bs, int64_t off, int64_t bytes, int flags)
{
    BDRVQcow2State *s = bs->opaque;
    uint64_t start, end;
    int ret;

    if (s->version < 3) {
        return -ENOTSUP;                /* no zero flag in version 2 */
    }
    whole_clusters(s, off, bytes, &start, &end);
    if (start >= end) {
        return write_zero_buffer(bs, off, bytes);
    }
    if ((ret = write_zero_buffer(bs, off, start - off)) < 0 ||
        (ret = zero_discard_range(s, start, end, false, flags)) < 0) {
        return ret;
    }
    return end < (uint64_t)off + bytes ? write_zero_buffer(bs, end, off + bytes - end) : 0;
}

/* ---- compressed writes --------------------------------------------------------------- */

/* Links a compressed cluster written at @coff into guest cluster @gc (lock held). */
static int link_compressed(BDRVQcow2State *s, uint64_t gc, uint64_t coff, uint64_t clen)
{
    uint64_t i1 = gc >> s->l2_bits, idx = gc & (s->l2_size - 1), sectors, old;
    void *l2;
    int ret = qcow2_cache_set_dependency(s, s->l2_cache, s->refblock_cache);

    if (ret < 0 ||
        (ret = qcow2_cache_get(s, s->l2_cache, s->l1_table[i1] & L1E_OFFSET_MASK, &l2)) < 0) {
        return ret;
    }
    sectors = ((coff + clen - 1) >> 9) - (coff >> 9);
    old = be64_get(l2, idx);
    be64_set(l2, idx, QCOW_OFLAG_COMPRESSED | coff | (sectors << s->csize_shift));
    qcow2_cache_mark_dirty(s->l2_cache, l2);
    qcow2_cache_put(s->l2_cache, &l2);
    qcow2_free_l2e(s, old, false);
    return 0;
}

/* Reserves room for @clen compressed bytes in guest cluster @gc, which must be
 * unallocated; returns 1 if it is not (the caller writes uncompressed). */
static int reserve_compressed(BDRVQcow2State *s, uint64_t gc, uint64_t clen, uint64_t *coff,
                              Qcow2Alloc **alloc)
{
    uint64_t nb = 1, n = s->cluster_size, host, l2e;
    Qcow2ClusterType type;
    int64_t off;
    int ret;

    if ((ret = qcow2_wait_allocs(s, gc, &nb)) < 0 ||
        (ret = qcow2_get_host_offset(s, gc << s->cluster_bits, &n, &host, &type, &l2e)) < 0) {
        return ret;
    }
    if (type != QCOW2_CLUSTER_UNALLOCATED && type != QCOW2_CLUSTER_ZERO_PLAIN) {
        return 1;
    }
    if ((ret = qcow2_l2_prepare(s, gc >> s->l2_bits)) < 0 ||
        (off = qcow2_alloc_bytes(s, clen)) < 0) {
        return ret < 0 ? ret : (int)off;
    }
    *coff = off;
    *alloc = g_new0(Qcow2Alloc, 1);
    (*alloc)->guest_cluster = gc;
    (*alloc)->nb_clusters = 1;
    co_queue_init(&(*alloc)->waiters);
    s->allocs = g_list_prepend(s->allocs, *alloc);
    return 0;
}

static int write_compressed_cluster(BlockDriverState *bs, uint64_t off, uint64_t len,
                                    BlkIov *qiov, size_t qoff)
{
    BDRVQcow2State *s = bs->opaque;
    CoContext *co = bdrv_co(bs);
    uint8_t *buf = block_alloc0(bs, s->cluster_size);
    uint8_t *out = block_alloc(bs, s->cluster_size);
    uint64_t coff = 0;
    Qcow2Alloc *a = NULL;
    int clen, ret;

    blkiov_to_buf(qiov, qoff, buf, len);
    clen = qcow2_co_compress(s, out, s->cluster_size - 512, buf, s->cluster_size);
    ret = clen > 0 ? 0 : 1;             /* incompressible: store it plainly */
    if (ret == 0) {
        co_mutex_lock(co, &s->lock);
        ret = reserve_compressed(s, off >> s->cluster_bits, clen, &coff, &a);
        co_mutex_unlock(co, &s->lock);
    }
    if (ret == 0) {
        ret = bdrv_co_pwrite(s->file, coff, out, clen);
        co_mutex_lock(co, &s->lock);
        if (ret == 0) {
            ret = link_compressed(s, off >> s->cluster_bits, coff, clen);
        } else {
            qcow2_free_clusters(s, coff, clen, false);
        }
        qcow2_alloc_done(s, a);
        co_mutex_unlock(co, &s->lock);
    } else if (ret == 1) {
        ret = qcow2_co_pwritev(bs, off, len, qiov, qoff, 0);
    }
    block_free(buf);
    block_free(out);
    return ret;
}

int qcow2_co_pwritev_compressed(BlockDriverState *bs, int64_t off, int64_t bytes,
                                       BlkIov *qiov, size_t qoff)
{
    BDRVQcow2State *s = bs->opaque;

    if (qcow2_offset_in_cluster(s, off) ||
        (qcow2_offset_in_cluster(s, bytes) && (uint64_t)(off + bytes) != s->size)) {
        return -EINVAL;                 /* whole clusters only */
    }
    while (bytes > 0) {
        uint64_t n = MIN((uint64_t)bytes, s->cluster_size);
        int ret = write_compressed_cluster(bs, off, n, qiov, qoff);
        if (ret < 0) {
            return ret;
        }
        off += n;
        qoff += n;
        bytes -= n;
    }
    return 0;
}

/* ---- allocation status, preallocation ------------------------------------------------ */

int qcow2_co_block_status(BlockDriverState *bs, int64_t off, int64_t bytes,
                                 int64_t *pnum, BlockStatus *st)
{
    BDRVQcow2State *s = bs->opaque;
    uint64_t n = bytes, host, l2e;
    Qcow2ClusterType type;
    int ret = qcow2_map(s, off, &n, &host, &type, &l2e);

    if (ret < 0) {
        return ret;
    }
    *pnum = n;
    st->allocated = type != QCOW2_CLUSTER_UNALLOCATED;
    st->zero = type == QCOW2_CLUSTER_ZERO_PLAIN || type == QCOW2_CLUSTER_ZERO_ALLOC;
    st->data = type == QCOW2_CLUSTER_NORMAL || type == QCOW2_CLUSTER_COMPRESSED;
    st->compressed = type == QCOW2_CLUSTER_COMPRESSED;
    if (type == QCOW2_CLUSTER_NORMAL || type == QCOW2_CLUSTER_ZERO_ALLOC) {
        st->offset_valid = true;
        st->offset = type == QCOW2_CLUSTER_NORMAL ? host :
                     (l2e & L2E_OFFSET_MASK) + qcow2_offset_in_cluster(s, off);
        st->file = s->file->filename;
    }
    return 0;
}

/* Allocates unallocated clusters of one L2 table's range [gc, gc + nb). */
static int prealloc_chunk(BDRVQcow2State *s, uint64_t gc, uint64_t nb)
{
    uint64_t i1 = gc >> s->l2_bits, idx = gc & (s->l2_size - 1), i = 0;
    void *l2;
    int ret;

    if ((ret = qcow2_l2_prepare(s, i1)) < 0) {
        return ret;
    }
    while (i < nb) {
        uint64_t k = 0;
        int64_t h;

        if ((ret = qcow2_cache_get(s, s->l2_cache, s->l1_table[i1] & L1E_OFFSET_MASK,
                                   &l2)) < 0) {
            return ret;
        }
        while (i + k < nb && be64_get(l2, idx + i + k) == 0) {
            k++;
        }
        qcow2_cache_put(s->l2_cache, &l2);
        if (k == 0) {
            i++;
            continue;
        }
        if ((h = qcow2_alloc_clusters(s, k)) < 0 ||
            (ret = qcow2_cache_get(s, s->l2_cache, s->l1_table[i1] & L1E_OFFSET_MASK,
                                   &l2)) < 0) {
            return h < 0 ? (int)h : ret;
        }
        for (uint64_t j = 0; j < k; j++) {
            be64_set(l2, idx + i + j, (h + j * s->cluster_size) | QCOW_OFLAG_COPIED);
        }
        qcow2_cache_mark_dirty(s->l2_cache, l2);
        qcow2_cache_put(s->l2_cache, &l2);
        i += k;
    }
    return 0;
}

/* preallocation=metadata|falloc|full for guest range [start, end). */
int qcow2_preallocate(BDRVQcow2State *s, uint64_t start, uint64_t end, BlockPrealloc mode)
{
    CoContext *co = bdrv_co(s->bs);
    uint64_t c = start >> s->cluster_bits, last = qcow2_size_to_clusters(s, end);
    int64_t flen;
    int ret = 0;

    co_mutex_lock(co, &s->lock);
    while (c < last && ret == 0) {
        uint64_t nb = MIN(last - c, s->l2_size - (c & (s->l2_size - 1)));
        ret = prealloc_chunk(s, c, nb);
        c += nb;
    }
    if (ret == 0) {
        ret = qcow2_flush_caches(s);
    }
    co_mutex_unlock(co, &s->lock);
    flen = bdrv_co_getlength(s->file);
    if (ret == 0 && flen >= 0 && (uint64_t)flen < (s->fresh_cluster << s->cluster_bits)) {
        ret = bdrv_co_truncate(s->file, s->fresh_cluster << s->cluster_bits,
                               mode == BLOCK_PREALLOC_METADATA ? BLOCK_PREALLOC_OFF : mode,
                               NULL);
    }
    return ret;
}
