/*
 * qcow2 cluster mapping ("Cluster mapping"): guest offset -> host offset through the
 * L1 and L2 tables, L2 table allocation and copy-on-write, in-flight cluster
 * allocations for writes, zero clusters and discard, and L1 growth.
 * Every function here is called with s->lock held.
 */
#include <errno.h>
#include <string.h>

#include "qcow2.h"

/* Validated L2 table offset for L1 index @i: 0 if unallocated, -errno if corrupt. */
static int64_t l2_offset_of(BDRVQcow2State *s, uint64_t i)
{
    uint64_t off;

    if (i >= s->l1_size) {
        return 0;
    }
    off = s->l1_table[i] & L1E_OFFSET_MASK;
    if (qcow2_offset_in_cluster(s, off)) {
        return qcow2_signal_corruption(s, "L2 table offset %#" PRIx64 " unaligned "
                                       "(L1 index %#" PRIx64 ")", off, i);
    }
    if (off && qcow2_overlaps_metadata(s, off, s->cluster_size)) {
        return qcow2_signal_corruption(s, "L2 table at %#" PRIx64 " (L1 index %#" PRIx64
                                       ") overlaps the header or another table", off, i);
    }
    return off;
}

static int check_data_cluster(BDRVQcow2State *s, uint64_t l2e, uint64_t guest)
{
    uint64_t host = l2e & L2E_OFFSET_MASK;

    if (qcow2_offset_in_cluster(s, host)) {
        return qcow2_signal_corruption(s, "cluster offset %#" PRIx64 " unaligned (guest "
                                       "offset %#" PRIx64 ")", host, guest);
    }
    if (qcow2_overlaps_metadata(s, host, s->cluster_size)) {
        return qcow2_signal_corruption(s, "data cluster at %#" PRIx64 " (guest offset %#"
                                       PRIx64 ") overlaps the header or a table", host, guest);
    }
    return 0;
}

/* Whether entries @a and @b (b following a) continue one run of the same kind. */
static bool same_run(Qcow2ClusterType type, uint64_t a, uint64_t b, uint64_t cs)
{
    if (qcow2_l2e_type(b) != type) {
        return false;
    }
    switch (type) {
    case QCOW2_CLUSTER_NORMAL:
        return (b & L2E_OFFSET_MASK) == (a & L2E_OFFSET_MASK) + cs;
    case QCOW2_CLUSTER_COMPRESSED:
        return false;               /* each one is decompressed on its own */
    default:
        return true;
    }
}

/* Maps [off, off + *bytes): the type of the first cluster and, in *bytes, how far the
 * same type (and, for data, contiguous host clusters) extends within one L2 table. */
int qcow2_get_host_offset(BDRVQcow2State *s, uint64_t off, uint64_t *bytes,
                          uint64_t *host, Qcow2ClusterType *type, uint64_t *l2e)
{
    uint64_t in_cl = qcow2_offset_in_cluster(s, off), gc = off >> s->cluster_bits;
    uint64_t l2_index = gc & (s->l2_size - 1), n = 1, e0;
    uint64_t max = MIN(*bytes, (s->l2_size - l2_index) * s->cluster_size - in_cl);
    int64_t l2_off = l2_offset_of(s, gc >> s->l2_bits);
    void *l2;
    int ret;

    *host = 0;
    *l2e = 0;
    *type = QCOW2_CLUSTER_UNALLOCATED;
    *bytes = max;
    if (l2_off <= 0) {
        return (int)l2_off;
    }
    if ((ret = qcow2_cache_get(s, s->l2_cache, l2_off, &l2)) < 0) {
        return ret;
    }
    e0 = be64_get(l2, l2_index);
    *type = qcow2_l2e_type(e0);
    while (n * s->cluster_size < in_cl + max &&
           same_run(*type, be64_get(l2, l2_index + n - 1), be64_get(l2, l2_index + n),
                    s->cluster_size)) {
        n++;
    }
    qcow2_cache_put(s->l2_cache, &l2);
    *bytes = MIN(max, n * s->cluster_size - in_cl);
    *l2e = e0;
    if (*type == QCOW2_CLUSTER_NORMAL) {
        if ((ret = check_data_cluster(s, e0, off)) < 0) {
            return ret;
        }
        *host = (e0 & L2E_OFFSET_MASK) + in_cl;
    }
    return 0;
}

/* Makes the L2 table for L1 index @i exist and be exclusively ours (COPIED), copying a
 * shared table. The new table is on disk before the L1 entry points to it. */
int qcow2_l2_prepare(BDRVQcow2State *s, uint64_t i)
{
    int64_t old = l2_offset_of(s, i), new;
    void *table, *old_table;
    int ret;

    if (old < 0) {
        return (int)old;
    }
    if (i >= s->l1_size) {
        return qcow2_signal_corruption(s, "L1 index %#" PRIx64 " beyond the L1 table", i);
    }
    if (old && (s->l1_table[i] & QCOW_OFLAG_COPIED)) {
        return 0;
    }
    if ((new = qcow2_alloc_clusters(s, 1)) < 0) {
        return (int)new;
    }
    if ((ret = qcow2_cache_get_empty(s, s->l2_cache, new, &table)) < 0) {
        qcow2_free_clusters(s, new, s->cluster_size, false);
        return ret;
    }
    memset(table, 0, s->cluster_size);
    if (old) {
        ret = qcow2_cache_get(s, s->l2_cache, old, &old_table);
        if (ret == 0) {
            memcpy(table, old_table, s->cluster_size);
            qcow2_cache_put(s->l2_cache, &old_table);
        }
    }
    qcow2_cache_mark_dirty(s->l2_cache, table);
    qcow2_cache_put(s->l2_cache, &table);
    if (ret == 0) {
        ret = qcow2_cache_flush(s, s->l2_cache);
    }
    if (ret < 0) {
        return ret;
    }
    s->l1_table[i] = new | QCOW_OFLAG_COPIED;
    if ((ret = qcow2_write_l1_entry(s, i)) < 0) {
        return ret;
    }
    if (old) {
        qcow2_free_clusters(s, old, s->cluster_size, false);
    }
    return 0;
}

/* Waits for in-flight allocations overlapping the first guest cluster; shortens *nb so
 * the range stops before any later one. */
int qcow2_wait_allocs(BDRVQcow2State *s, uint64_t cluster, uint64_t *nb)
{
restart:
    for (GList *l = s->allocs; l; l = l->next) {
        Qcow2Alloc *a = l->data;

        if (a->guest_cluster + a->nb_clusters <= cluster ||
            a->guest_cluster >= cluster + *nb) {
            continue;
        }
        if (a->guest_cluster <= cluster) {
            co_queue_wait(bdrv_co(s->bs), &a->waiters, &s->lock);
            goto restart;
        }
        *nb = a->guest_cluster - cluster;
    }
    return 0;
}

void qcow2_alloc_done(BDRVQcow2State *s, Qcow2Alloc *a)
{
    s->allocs = g_list_remove(s->allocs, a);
    co_queue_restart_all(bdrv_co(s->bs), &a->waiters);
    g_free(a);
    if (!s->allocs) {
        co_queue_restart_all(bdrv_co(s->bs), &s->allocs_drained);
    }
}

int qcow2_drain_allocs(BDRVQcow2State *s)
{
    while (s->allocs) {
        co_queue_wait(bdrv_co(s->bs), &s->allocs_drained, &s->lock);
    }
    return 0;
}

static bool is_copied_data(uint64_t e)
{
    return qcow2_l2e_type(e) == QCOW2_CLUSTER_NORMAL && (e & QCOW_OFLAG_COPIED);
}

/* Counts leading clusters writable in place (*in_place, host in *host) or else needing a
 * new cluster (*need), for @nb clusters from @gc. */
static int scan_for_write(BDRVQcow2State *s, uint64_t gc, uint64_t nb, uint64_t *in_place,
                          uint64_t *need, uint64_t *host)
{
    uint64_t i1 = gc >> s->l2_bits, idx = gc & (s->l2_size - 1), e0, k = 1;
    int64_t l2_off = l2_offset_of(s, i1);
    void *l2;
    int ret;

    *in_place = 0;
    *need = nb;
    if (l2_off <= 0 || !(s->l1_table[i1] & QCOW_OFLAG_COPIED)) {
        return (int)MIN(l2_off, 0);
    }
    if ((ret = qcow2_cache_get(s, s->l2_cache, l2_off, &l2)) < 0) {
        return ret;
    }
    e0 = be64_get(l2, idx);
    if (is_copied_data(e0)) {
        *host = e0 & L2E_OFFSET_MASK;
        while (k < nb && be64_get(l2, idx + k) == ((*host + k * s->cluster_size) |
                                                   QCOW_OFLAG_COPIED)) {
            k++;
        }
        *in_place = k;
    } else {
        while (k < nb && !is_copied_data(be64_get(l2, idx + k))) {
            k++;
        }
        *need = k;
    }
    qcow2_cache_put(s->l2_cache, &l2);
    if (*in_place) {
        return check_data_cluster(s, e0, gc << s->cluster_bits);
    }
    return 0;
}

/* Plans the write of [off, off + bytes): either in place (*alloc NULL, host offset in
 * *host) or into newly allocated clusters registered as in flight. *len is how much of
 * the request the plan covers. */
int qcow2_prepare_write(BDRVQcow2State *s, uint64_t off, uint64_t bytes, uint64_t *host,
                        uint64_t *len, Qcow2Alloc **alloc)
{
    uint64_t in_cl = qcow2_offset_in_cluster(s, off), gc = off >> s->cluster_bits;
    uint64_t nb = MIN(qcow2_size_to_clusters(s, in_cl + bytes),
                      s->l2_size - (gc & (s->l2_size - 1)));
    uint64_t in_place, need, h = 0, fresh;
    int64_t new;
    Qcow2Alloc *a;
    int ret;

    *alloc = NULL;
    if ((ret = qcow2_wait_allocs(s, gc, &nb)) < 0 ||
        (ret = scan_for_write(s, gc, nb, &in_place, &need, &h)) < 0) {
        return ret;
    }
    if (in_place) {
        *host = h + in_cl;
        *len = MIN(bytes, in_place * s->cluster_size - in_cl);
        return 0;
    }
    if ((ret = qcow2_l2_prepare(s, gc >> s->l2_bits)) < 0) {
        return ret;
    }
    fresh = s->fresh_cluster;
    if ((new = qcow2_alloc_clusters(s, need)) < 0) {
        return (int)new;
    }
    a = g_new0(Qcow2Alloc, 1);
    a->guest_cluster = gc;
    a->nb_clusters = need;
    a->host_offset = new;
    a->fresh = ((uint64_t)new >> s->cluster_bits) >= fresh;
    co_queue_init(&a->waiters);
    s->allocs = g_list_prepend(s->allocs, a);
    *alloc = a;
    *host = new + in_cl;
    *len = MIN(bytes, need * s->cluster_size - in_cl);
    return 0;
}

/* After the data of @a is written: point the L2 entries at the new clusters and drop
 * the references the old entries held. Ends the in-flight allocation. */
int qcow2_link_alloc(BDRVQcow2State *s, Qcow2Alloc *a)
{
    uint64_t i1 = a->guest_cluster >> s->l2_bits, idx = a->guest_cluster & (s->l2_size - 1);
    int64_t l2_off = l2_offset_of(s, i1);
    uint64_t *old = g_new(uint64_t, a->nb_clusters);
    void *l2;
    int ret;

    if (l2_off == 0 || (l2_off > 0 && !(s->l1_table[i1] & QCOW_OFLAG_COPIED))) {
        l2_off = qcow2_signal_corruption(s, "L2 table for guest cluster %#" PRIx64
                                         " vanished during a write", a->guest_cluster);
    }
    ret = l2_off < 0 ? (int)l2_off : 0;
    if (ret == 0 && !s->use_lazy_refcounts) {
        ret = qcow2_cache_set_dependency(s, s->l2_cache, s->refblock_cache);
    }
    if (ret == 0 && (ret = qcow2_cache_get(s, s->l2_cache, l2_off, &l2)) == 0) {
        for (uint64_t i = 0; i < a->nb_clusters; i++) {
            old[i] = be64_get(l2, idx + i);
            be64_set(l2, idx + i, (a->host_offset + i * s->cluster_size) | QCOW_OFLAG_COPIED);
        }
        qcow2_cache_mark_dirty(s->l2_cache, l2);
        qcow2_cache_put(s->l2_cache, &l2);
        for (uint64_t i = 0; i < a->nb_clusters; i++) {
            qcow2_free_l2e(s, old[i], false);
        }
    } else {
        qcow2_free_clusters(s, a->host_offset, a->nb_clusters * s->cluster_size, false);
    }
    g_free(old);
    qcow2_alloc_done(s, a);
    return ret;
}

/* The new L2 entry for zeroing or discarding @old; returns false to leave it alone. */
static bool zero_discard_entry(BDRVQcow2State *s, uint64_t old, bool discard, int flags,
                               uint64_t *new)
{
    Qcow2ClusterType t = qcow2_l2e_type(old);
    bool backing = s->bs->backing != NULL;

    if (discard && ((flags & BDRV_REQ_DISCARD_FULL) || s->version < 3)) {
        *new = 0;                       /* falls through to the backing file */
        return t != QCOW2_CLUSTER_UNALLOCATED;
    }
    if (t == QCOW2_CLUSTER_ZERO_PLAIN || (t == QCOW2_CLUSTER_UNALLOCATED && !backing)) {
        return false;                   /* already reads as zeros */
    }
    if (!discard && !(flags & BLK_REQ_MAY_UNMAP) && (old & QCOW_OFLAG_COPIED) &&
        (t == QCOW2_CLUSTER_NORMAL || t == QCOW2_CLUSTER_ZERO_ALLOC)) {
        *new = old | QCOW_OFLAG_ZERO;   /* keep the preallocated cluster */
        return old != *new;
    }
    *new = QCOW_OFLAG_ZERO;
    return true;
}

/* Zeroes (v3 zero flag) or discards @nb whole clusters from @gc, within one L2 table. */
int qcow2_zero_or_discard(BDRVQcow2State *s, uint64_t gc, uint64_t nb, bool discard,
                          int flags)
{
    uint64_t i1 = gc >> s->l2_bits, idx = gc & (s->l2_size - 1), *freed;
    int64_t l2_off = l2_offset_of(s, i1);
    bool to_zero = !discard || (!(flags & BDRV_REQ_DISCARD_FULL) && s->version >= 3);
    int nfreed = 0, ret;
    void *l2;

    if (l2_off < 0) {
        return (int)l2_off;
    }
    if (l2_off == 0 && (!to_zero || !s->bs->backing)) {
        return 0;                       /* unallocated already means what we want */
    }
    if ((ret = qcow2_l2_prepare(s, i1)) < 0 ||
        (ret = qcow2_cache_get(s, s->l2_cache, s->l1_table[i1] & L1E_OFFSET_MASK, &l2)) < 0) {
        return ret;
    }
    freed = g_new(uint64_t, nb);
    for (uint64_t i = 0; i < nb; i++) {
        uint64_t old = be64_get(l2, idx + i), new;
        if (!zero_discard_entry(s, old, discard, flags, &new)) {
            continue;
        }
        be64_set(l2, idx + i, new);
        if ((old & L2E_OFFSET_MASK) != (new & L2E_OFFSET_MASK) ||
            qcow2_l2e_type(old) == QCOW2_CLUSTER_COMPRESSED) {
            freed[nfreed++] = old;
        }
    }
    qcow2_cache_mark_dirty(s->l2_cache, l2);
    qcow2_cache_put(s->l2_cache, &l2);
    for (int i = 0; i < nfreed; i++) {
        qcow2_free_l2e(s, freed[i], discard || (flags & BLK_REQ_MAY_UNMAP));
    }
    g_free(freed);
    return 0;
}

/* Grows the active L1 table to at least @min_size entries (new table written and
 * flushed before the header points to it). */
int qcow2_grow_l1(BDRVQcow2State *s, uint64_t min_size)
{
    uint64_t bytes = ROUND_UP(min_size * 8, s->cluster_size);
    uint64_t old_off = s->l1_table_offset, old_size = s->l1_size, *buf;
    int64_t new;
    int ret;

    if (min_size <= s->l1_size) {
        return 0;
    }
    if (min_size * 8 > QCOW2_MAX_L1_BYTES) {
        return bdrv_set_error(s->bs, -EFBIG, "L1 table would exceed %u bytes",
                              QCOW2_MAX_L1_BYTES);
    }
    if ((new = qcow2_alloc_clusters(s, bytes >> s->cluster_bits)) < 0) {
        return (int)new;
    }
    buf = block_alloc0(s->bs, bytes);
    for (uint64_t i = 0; i < s->l1_size; i++) {
        buf[i] = htobe64(s->l1_table[i]);
    }
    ret = qcow2_cache_flush(s, s->refblock_cache);
    if (ret == 0) {
        ret = bdrv_co_pwrite(s->file, new, buf, bytes);
    }
    if (ret == 0) {
        ret = bdrv_co_flush(s->file);
    }
    block_free(buf);
    if (ret == 0) {
        s->l1_table_offset = new;
        s->l1_size = min_size;
        if ((ret = qcow2_update_header(s)) < 0) {
            s->l1_table_offset = old_off;
            s->l1_size = old_size;
        }
    }
    if (ret < 0) {
        qcow2_free_clusters(s, new, bytes, false);
        return ret;
    }
    s->l1_table = g_renew(uint64_t, s->l1_table, bytes / 8);
    memset(s->l1_table + s->l1_alloc, 0, bytes - s->l1_alloc * 8);
    s->l1_alloc = bytes / 8;
    qcow2_free_clusters(s, old_off, ROUND_UP(old_size * 8, s->cluster_size), false);
    return 0;
}
