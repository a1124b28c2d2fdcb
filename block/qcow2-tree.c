/*
 * Whole L1/L2 trees ("Snapshots"): adding to the refcount of everything a tree
 * reaches, and making the COPIED flags (bit 63) of the active tables exact.
 */
#include <errno.h>
#include <string.h>

#include "qcow2.h"

/* ---- refcounts of whole trees ------------------------------------------------------------ */

static int l2_refcounts(BDRVQcow2State *s, uint64_t l2_off, int addend)
{
    void *l2;
    int ret = qcow2_cache_get(s, s->l2_cache, l2_off, &l2);
    uint64_t *entries;

    if (ret < 0) {
        return ret;
    }
    /* Copy: updating refcounts may evict the table from the cache. */
    entries = g_memdup2(l2, s->cluster_size);
    qcow2_cache_put(s->l2_cache, &l2);
    for (uint64_t j = 0; j < s->l2_size && ret == 0; j++) {
        uint64_t e = be64toh(entries[j]), off, len;
        switch (qcow2_l2e_type(e)) {
        case QCOW2_CLUSTER_NORMAL:
        case QCOW2_CLUSTER_ZERO_ALLOC:
            ret = qcow2_update_refcount(s, e & L2E_OFFSET_MASK, s->cluster_size, addend, false);
            break;
        case QCOW2_CLUSTER_COMPRESSED:
            qcow2_parse_compressed(s, e, &off, &len);
            ret = qcow2_update_refcount(s, off, len, addend, false);
            break;
        default:
            break;
        }
    }
    g_free(entries);
    return ret;
}

/* Adds @addend to every cluster reachable from an L1 table (entries in host order). */
int qcow2_tree_refcounts(BDRVQcow2State *s, const uint64_t *l1, uint32_t n, int addend)
{
    for (uint32_t i = 0; i < n; i++) {
        uint64_t l2_off = l1[i] & L1E_OFFSET_MASK;
        int ret;

        if (!l2_off) {
            continue;
        }
        if (qcow2_offset_in_cluster(s, l2_off)) {
            return qcow2_signal_corruption(s, "L2 table offset %#" PRIx64 " unaligned", l2_off);
        }
        if ((ret = l2_refcounts(s, l2_off, addend)) < 0 ||
            (ret = qcow2_update_refcount(s, l2_off, s->cluster_size, addend, false)) < 0) {
            return ret;
        }
    }
    return 0;
}

uint64_t *qcow2_read_l1(BDRVQcow2State *s, uint64_t off, uint32_t n, int *ret)
{
    uint64_t *l1 = g_malloc0(MAX(n, 1) * 8);

    *ret = n ? bdrv_co_pread(s->file, off, l1, (uint64_t)n * 8) : 0;
    for (uint32_t i = 0; i < n; i++) {
        l1[i] = be64toh(l1[i]);
    }
    return l1;
}

int qcow2_update_tree_refcounts(BDRVQcow2State *s, uint64_t l1_off, uint32_t l1_size,
                                int addend)
{
    int ret;
    uint64_t *l1 = qcow2_read_l1(s, l1_off, l1_size, &ret);

    if (ret == 0) {
        ret = qcow2_tree_refcounts(s, l1, l1_size, addend);
    }
    g_free(l1);
    return ret;
}

static int fix_l2_flags(BDRVQcow2State *s, uint64_t l2_off)
{
    void *l2;
    bool dirty = false;
    int ret = qcow2_cache_get(s, s->l2_cache, l2_off, &l2);

    for (uint64_t j = 0; ret == 0 && j < s->l2_size; j++) {
        uint64_t e = be64_get(l2, j), rc = 0, want = e & ~QCOW_OFLAG_COPIED;
        Qcow2ClusterType t = qcow2_l2e_type(e);
        if (t == QCOW2_CLUSTER_NORMAL || t == QCOW2_CLUSTER_ZERO_ALLOC) {
            ret = qcow2_get_refcount(s, (e & L2E_OFFSET_MASK) >> s->cluster_bits, &rc);
            want |= rc == 1 ? QCOW_OFLAG_COPIED : 0;
        }
        if (ret == 0 && want != e) {
            be64_set(l2, j, want);
            dirty = true;
        }
    }
    if (l2) {
        if (dirty) {
            qcow2_cache_mark_dirty(s->l2_cache, l2);
        }
        qcow2_cache_put(s->l2_cache, &l2);
    }
    return ret;
}

/* Makes bit 63 of every active L1/L2 entry say exactly "refcount is one". */
int qcow2_fix_copied_flags(BDRVQcow2State *s)
{
    uint64_t bytes = ROUND_UP((uint64_t)s->l1_size * 8, s->cluster_size), *buf;
    int ret = 0;

    for (uint32_t i = 0; i < s->l1_size && ret == 0; i++) {
        uint64_t l2_off = s->l1_table[i] & L1E_OFFSET_MASK, rc = 0;
        if (!l2_off) {
            continue;
        }
        ret = qcow2_get_refcount(s, l2_off >> s->cluster_bits, &rc);
        if (ret == 0) {
            s->l1_table[i] = l2_off | (rc == 1 ? QCOW_OFLAG_COPIED : 0);
            ret = fix_l2_flags(s, l2_off);
        }
    }
    if (ret < 0 || !s->l1_size) {
        return ret;
    }
    buf = block_alloc0(s->bs, bytes);
    for (uint32_t i = 0; i < s->l1_size; i++) {
        buf[i] = htobe64(s->l1_table[i]);
    }
    ret = qcow2_flush_caches(s);
    if (ret == 0) {
        ret = bdrv_co_pwrite(s->file, s->l1_table_offset, buf, bytes);
    }
    block_free(buf);
    return ret;
}

