/*
 * qcow2 refcounts ("Host cluster management"): the two-level refcount table, every
 * refcount width from 1 to 64 bits, cluster and byte allocation, refcount block
 * creation and refcount table growth.
 */
#include <errno.h>
#include <string.h>

#include "qcow2.h"

/* ---- refcount block entries (refcount_bits = 1 << refcount_order) ----------------------- */

uint64_t qcow2_refblock_get(BDRVQcow2State *s, const void *blk, uint64_t i)
{
    const uint8_t *b = blk;

    switch (s->refcount_order) {
    case 3:
        return b[i];
    case 4:
        return be16toh(((const uint16_t *)blk)[i]);
    case 5:
        return be32toh(((const uint32_t *)blk)[i]);
    case 6:
        return be64toh(((const uint64_t *)blk)[i]);
    default: {
        /* Sub-byte widths: entry 0 is in the least significant bits of byte 0. */
        int bits = s->refcount_bits, per_byte = 8 / bits;
        return (b[i / per_byte] >> ((i % per_byte) * bits)) & ((1u << bits) - 1);
    }
    }
}

void qcow2_refblock_set(BDRVQcow2State *s, void *blk, uint64_t i, uint64_t v)
{
    uint8_t *b = blk;

    switch (s->refcount_order) {
    case 3:
        b[i] = v;
        break;
    case 4:
        ((uint16_t *)blk)[i] = htobe16(v);
        break;
    case 5:
        ((uint32_t *)blk)[i] = htobe32(v);
        break;
    case 6:
        ((uint64_t *)blk)[i] = htobe64(v);
        break;
    default: {
        int bits = s->refcount_bits, per_byte = 8 / bits, shift = (i % per_byte) * bits;
        uint8_t mask = ((1u << bits) - 1) << shift;
        b[i / per_byte] = (b[i / per_byte] & ~mask) | ((v << shift) & mask);
        break;
    }
    }
}

/* ---- the refcount table --------------------------------------------------------------- */

int qcow2_refcount_init(BDRVQcow2State *s, GError **errp)
{
    uint64_t bytes = (uint64_t)s->refcount_table_clusters << s->cluster_bits;
    int ret;

    if (bytes == 0 || bytes > QCOW2_MAX_REFTABLE_BYTES) {
        g_set_error(errp, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                    "Image '%s': refcount table of %u clusters is %s", s->bs->filename,
                    s->refcount_table_clusters, bytes ? "too large" : "empty");
        return -EINVAL;
    }
    if (qcow2_offset_in_cluster(s, s->refcount_table_offset) ||
        s->refcount_table_offset == 0) {
        g_set_error(errp, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                    "Image '%s': refcount table offset %#" PRIx64 " is invalid",
                    s->bs->filename, s->refcount_table_offset);
        return -EINVAL;
    }
    s->refcount_table_size = bytes / 8;
    s->refcount_table = g_malloc(bytes);
    ret = bdrv_co_pread(s->file, s->refcount_table_offset, s->refcount_table, bytes);
    if (ret < 0) {
        g_set_error(errp, G_IO_ERROR, G_IO_ERROR_FAILED,
                    "Could not read the refcount table of '%s': %s", s->bs->filename,
                    g_strerror(-ret));
        return ret;
    }
    for (uint64_t i = 0; i < s->refcount_table_size; i++) {
        s->refcount_table[i] = be64toh(s->refcount_table[i]);
    }
    return 0;
}

/* Writes the 512-byte piece of the refcount table holding entry @index. */
int qcow2_write_reftable_entry(BDRVQcow2State *s, uint64_t index)
{
    uint64_t first = index & ~63ULL, buf[64];

    for (int i = 0; i < 64; i++) {
        buf[i] = htobe64(first + i < s->refcount_table_size ? s->refcount_table[first + i] : 0);
    }
    return bdrv_co_pwrite(s->file, s->refcount_table_offset + first * 8, buf, sizeof(buf));
}

/* Offset of the refcount block for table index @idx, 0 if none, -errno if invalid. */
static int64_t refblock_offset(BDRVQcow2State *s, uint64_t idx)
{
    uint64_t off;

    if (idx >= s->refcount_table_size) {
        return 0;
    }
    off = s->refcount_table[idx] & REFT_OFFSET_MASK;
    if (off >= QCOW2_MAX_OFFSET) {
        return qcow2_signal_corruption(s, "refcount block offset %#" PRIx64 " is beyond "
                                       "the largest possible image (refcount table index %#"
                                       PRIx64 ")", off, idx);
    }
    if (qcow2_offset_in_cluster(s, off)) {
        return qcow2_signal_corruption(s, "refcount block offset %#" PRIx64 " unaligned "
                                       "(refcount table index %#" PRIx64 ")", off, idx);
    }
    if (off && qcow2_overlaps_metadata(s, off, s->cluster_size)) {
        return qcow2_signal_corruption(s, "refcount block offset %#" PRIx64 " overlaps "
                                       "the header or a table", off);
    }
    return off;
}

int qcow2_get_refcount(BDRVQcow2State *s, uint64_t cluster, uint64_t *rc)
{
    int64_t off = refblock_offset(s, cluster >> s->refblock_bits);
    void *blk;
    int ret;

    *rc = 0;
    if (off <= 0) {
        return off < 0 ? (int)off : 0;
    }
    ret = qcow2_cache_get(s, s->refblock_cache, off, &blk);
    if (ret < 0) {
        return ret;
    }
    *rc = qcow2_refblock_get(s, blk, cluster & (s->refblock_size - 1));
    qcow2_cache_put(s->refblock_cache, &blk);
    return 0;
}

/* ---- free space ----------------------------------------------------------------------- */

/* First run of @nb clusters with refcount 0, from the free-cluster hint on. */
static int64_t find_free_range(BDRVQcow2State *s, uint64_t nb)
{
    uint64_t c = s->free_cluster_index, start = c, run = 0;
    bool first_free_seen = false;

    while (run < nb) {
        uint64_t idx = c >> s->refblock_bits, rc;
        int64_t rb = refblock_offset(s, idx);

        if (rb < 0) {
            return rb;
        }
        if (rb == 0) {
            /* No refcount block: its whole range is free. */
            uint64_t end = (idx + 1) << s->refblock_bits;
            if (run == 0) {
                start = c;
            }
            run += end - c;
            c = end;
        } else {
            int ret = qcow2_get_refcount(s, c, &rc);
            if (ret < 0) {
                return ret;
            }
            if (rc == 0) {
                start = run ? start : c;
                run++;
            } else {
                run = 0;
            }
            c++;
        }
        if (run && !first_free_seen) {
            s->free_cluster_index = start;
            first_free_seen = true;
        }
        if (c >= (1ULL << (56 - s->cluster_bits))) {
            return -ENOSPC;
        }
        if (c > s->fresh_cluster + (1ULL << 20) && run == 0) {
            /* Nothing is ever allocated this far past the end of the file. */
            return qcow2_signal_corruption(s, "refcounts claim clusters far beyond the "
                                           "end of the image (%#" PRIx64 ")",
                                           c << s->cluster_bits);
        }
    }
    return start;
}

static int write_new_refblock(BDRVQcow2State *s, uint64_t cluster, bool self)
{
    void *blk;
    int ret = qcow2_cache_get_empty(s, s->refblock_cache, cluster << s->cluster_bits, &blk);

    if (ret < 0) {
        return ret;
    }
    memset(blk, 0, s->cluster_size);
    if (self) {
        qcow2_refblock_set(s, blk, cluster & (s->refblock_size - 1), 1);
    }
    qcow2_cache_mark_dirty(s->refblock_cache, blk);
    qcow2_cache_put(s->refblock_cache, &blk);
    /* The block must be on disk before the table entry that makes it reachable. */
    return qcow2_cache_flush(s, s->refblock_cache);
}

static int grow_reftable(BDRVQcow2State *s, uint64_t min_idx);

/* Creates the refcount block for table index @idx (Host cluster management). */
static int alloc_refblock(BDRVQcow2State *s, uint64_t idx)
{
    for (int tries = 0; tries < 16; tries++) {
        int64_t c, rb;
        uint64_t j;
        int ret;

        if (idx >= s->refcount_table_size) {
            if ((ret = grow_reftable(s, idx)) < 0) {
                return ret;
            }
            continue;
        }
        if (s->refcount_table[idx]) {
            return 0;
        }
        if ((c = find_free_range(s, 1)) < 0) {
            return (int)c;
        }
        j = (uint64_t)c >> s->refblock_bits;
        if (j != idx && (rb = refblock_offset(s, j)) <= 0) {
            if (rb < 0 || (ret = alloc_refblock(s, j)) < 0) {
                return rb < 0 ? (int)rb : ret;
            }
            continue;                   /* the free cluster moved: look again */
        }
        if (j != idx &&
            (ret = qcow2_update_refcount(s, (uint64_t)c << s->cluster_bits, 1, 1, false)) < 0) {
            return ret;
        }
        if ((ret = write_new_refblock(s, c, j == idx)) < 0) {
            return ret;
        }
        s->refcount_table[idx] = (uint64_t)c << s->cluster_bits;
        s->fresh_cluster = MAX(s->fresh_cluster, (uint64_t)c + 1);
        return qcow2_write_reftable_entry(s, idx);
    }
    return qcow2_signal_corruption(s, "cannot place refcount block %#" PRIx64, idx);
}

/* Plans where a grown table and the refcount blocks it needs go: the table at
 * [*p, *p + *t), missing blocks right after it. Returns how many blocks are missing. */
static int64_t plan_reftable(BDRVQcow2State *s, uint64_t *entries, uint64_t *p, uint64_t *t)
{
    uint64_t per_cluster = s->cluster_size / 8, b = 0;

    for (int iter = 0; iter < 64; iter++) {
        int64_t start = find_free_range(s, *t + b);
        uint64_t first, last, needed = 0;

        if (start < 0) {
            return start;
        }
        first = (uint64_t)start >> s->refblock_bits;
        last = ((uint64_t)start + *t + b - 1) >> s->refblock_bits;
        for (uint64_t k = first; k <= last; k++) {
            needed += k >= s->refcount_table_size || !s->refcount_table[k];
        }
        if (last + 1 > *entries) {
            *entries = ROUND_UP(last + 1, per_cluster);
            *t = *entries / per_cluster;
            continue;
        }
        if (needed > b) {
            b = needed;
            continue;
        }
        *p = start;
        return needed;
    }
    return -ENOSPC;
}

/* Builds and writes the new refcount blocks for clusters [p, end). */
static int write_growth_blocks(BDRVQcow2State *s, uint64_t *table, uint64_t p,
                               uint64_t t, uint64_t end)
{
    uint64_t next = p + t;
    void *buf = block_alloc(s->bs, s->cluster_size);
    int ret = 0;

    for (uint64_t k = p >> s->refblock_bits; k <= (end - 1) >> s->refblock_bits && !ret; k++) {
        uint64_t lo = MAX(p, k << s->refblock_bits);
        uint64_t hi = MIN(end, (k + 1) << s->refblock_bits);

        if (k < s->refcount_table_size && s->refcount_table[k]) {
            ret = qcow2_update_refcount(s, lo << s->cluster_bits,
                                        (hi - lo) << s->cluster_bits, 1, false);
            continue;
        }
        memset(buf, 0, s->cluster_size);
        for (uint64_t c = lo; c < hi; c++) {
            qcow2_refblock_set(s, buf, c & (s->refblock_size - 1), 1);
        }
        table[k] = next << s->cluster_bits;
        ret = bdrv_co_pwrite(s->file, next << s->cluster_bits, buf, s->cluster_size);
        next++;
    }
    block_free(buf);
    return ret;
}

/* Grows the refcount table to cover index @min_idx: new table and the refcount blocks
 * describing it are written first, then the header switches to them. */
static int grow_reftable(BDRVQcow2State *s, uint64_t min_idx)
{
    uint64_t per_cluster = s->cluster_size / 8;
    uint64_t entries = ROUND_UP(MAX(min_idx + 1, s->refcount_table_size * 3 / 2), per_cluster);
    uint64_t t = entries / per_cluster, p = 0, old_off = s->refcount_table_offset;
    uint64_t old_clusters = s->refcount_table_clusters, *table, *disk;
    int64_t needed = plan_reftable(s, &entries, &p, &t);
    int ret;

    if (needed < 0) {
        return (int)needed;
    }
    if (entries * 8 > QCOW2_MAX_REFTABLE_BYTES) {
        return bdrv_set_error(s->bs, -EFBIG, "refcount table would exceed %u bytes",
                              QCOW2_MAX_REFTABLE_BYTES);
    }
    table = g_malloc0(entries * 8);
    memcpy(table, s->refcount_table, s->refcount_table_size * 8);
    ret = write_growth_blocks(s, table, p, t, p + t + needed);
    disk = g_malloc(entries * 8);
    for (uint64_t i = 0; i < entries; i++) {
        disk[i] = htobe64(table[i]);
    }
    if (ret == 0) {
        ret = bdrv_co_pwrite(s->file, p << s->cluster_bits, disk, entries * 8);
    }
    g_free(disk);
    if (ret == 0) {
        ret = qcow2_cache_flush(s, s->refblock_cache);
    }
    if (ret < 0) {
        g_free(table);
        return ret;
    }
    s->refcount_table_offset = p << s->cluster_bits;
    s->refcount_table_clusters = t;
    if ((ret = qcow2_update_header(s)) < 0) {
        s->refcount_table_offset = old_off;
        s->refcount_table_clusters = old_clusters;
        g_free(table);
        return ret;
    }
    g_free(s->refcount_table);
    s->refcount_table = table;
    s->refcount_table_size = entries;
    s->fresh_cluster = MAX(s->fresh_cluster, p + t + needed);
    qcow2_free_clusters(s, old_off, old_clusters << s->cluster_bits, false);
    return 0;
}

/* ---- refcount updates ------------------------------------------------------------------- */

static int update_one(BDRVQcow2State *s, uint64_t c, int64_t addend)
{
    uint64_t idx = c >> s->refblock_bits, rc;
    int64_t rb = refblock_offset(s, idx);
    void *blk;
    int ret;

    if (rb < 0) {
        return (int)rb;
    }
    if (rb == 0) {
        if (addend < 0) {
            return qcow2_signal_corruption(s, "freeing cluster %#" PRIx64 " which has no "
                                           "refcount block", c << s->cluster_bits);
        }
        if ((ret = alloc_refblock(s, idx)) < 0) {
            return ret;
        }
        rb = refblock_offset(s, idx);
    }
    if ((ret = qcow2_cache_get(s, s->refblock_cache, rb, &blk)) < 0) {
        return ret;
    }
    rc = qcow2_refblock_get(s, blk, c & (s->refblock_size - 1));
    if ((addend < 0 && rc < (uint64_t)-addend) ||
        (addend > 0 && s->refcount_max - rc < (uint64_t)addend)) {
        qcow2_cache_put(s->refblock_cache, &blk);
        return qcow2_signal_corruption(s, "refcount of cluster %#" PRIx64 " (%" PRIu64
                                       ") would %s", c << s->cluster_bits, rc,
                                       addend < 0 ? "drop below zero" : "overflow");
    }
    qcow2_refblock_set(s, blk, c & (s->refblock_size - 1), rc + addend);
    qcow2_cache_mark_dirty(s->refblock_cache, blk);
    qcow2_cache_put(s->refblock_cache, &blk);
    if (rc + addend == 0) {
        s->free_cluster_index = MIN(s->free_cluster_index, c);
        qcow2_cache_discard(s->l2_cache, c << s->cluster_bits);
        qcow2_cache_discard(s->refblock_cache, c << s->cluster_bits);
    }
    return 1 + (rc + addend == 0);      /* 2: the cluster became free */
}

/* Adds @addend to the refcount of every cluster touching [off, off + len). */
int qcow2_update_refcount(BDRVQcow2State *s, uint64_t off, uint64_t len, int64_t addend,
                          bool discard)
{
    uint64_t first = off >> s->cluster_bits, last, run_start = 0, run_len = 0;
    int ret = 0;

    if (len == 0 || addend == 0) {
        return 0;
    }
    last = (off + len - 1) >> s->cluster_bits;
    if (s->use_lazy_refcounts && !(s->incompatible & QCOW2_INCOMPAT_DIRTY) &&
        (ret = qcow2_mark_dirty(s)) < 0) {
        return ret;                     /* refcounts may lag from now on */
    }
    if (addend < 0 && !s->use_lazy_refcounts &&
        (ret = qcow2_cache_set_dependency(s, s->refblock_cache, s->l2_cache)) < 0) {
        return ret;
    }
    for (uint64_t c = first; c <= last; c++) {
        ret = update_one(s, c, addend);
        if (ret < 0) {
            /* Undo what was done so refcounts stay consistent with the caller's view. */
            for (uint64_t u = first; u < c; u++) {
                update_one(s, u, -addend);
            }
            return ret;
        }
        if (ret == 2 && discard && s->discard_passthrough) {
            if (run_len && run_start + run_len == c) {
                run_len++;
            } else {
                if (run_len) {
                    bdrv_co_pdiscard(s->file, run_start << s->cluster_bits,
                                     run_len << s->cluster_bits, 0);
                }
                run_start = c;
                run_len = 1;
            }
        }
    }
    if (run_len) {
        bdrv_co_pdiscard(s->file, run_start << s->cluster_bits, run_len << s->cluster_bits, 0);
    }
    return 0;
}

/* ---- allocation ------------------------------------------------------------------------- */

/* Allocates @nb contiguous clusters (refcount 1); returns the host offset. */
int64_t qcow2_alloc_clusters(BDRVQcow2State *s, uint64_t nb)
{
    for (int tries = 0; tries < 64; tries++) {
        int64_t c = find_free_range(s, nb);
        bool missing = false;
        int ret;

        if (c < 0) {
            return c;
        }
        for (uint64_t k = (uint64_t)c >> s->refblock_bits;
             k <= ((uint64_t)c + nb - 1) >> s->refblock_bits; k++) {
            if (k >= s->refcount_table_size || !s->refcount_table[k]) {
                if ((ret = alloc_refblock(s, k)) < 0) {
                    return ret;
                }
                missing = true;
                break;
            }
        }
        if (missing) {
            continue;                   /* the new block may sit in our range */
        }
        if (qcow2_overlaps_metadata(s, (uint64_t)c << s->cluster_bits, nb << s->cluster_bits)) {
            /* Refcounts call the header or a table free: writing would destroy it. */
            return qcow2_signal_corruption(s, "free cluster %#" PRIx64 " found inside "
                                           "metadata: refcounts are wrong",
                                           (uint64_t)c << s->cluster_bits);
        }
        if (!s->use_lazy_refcounts &&
            (ret = qcow2_cache_set_dependency(s, s->l2_cache, s->refblock_cache)) < 0) {
            return ret;
        }
        ret = qcow2_update_refcount(s, (uint64_t)c << s->cluster_bits,
                                    nb << s->cluster_bits, 1, false);
        if (ret < 0) {
            return ret;
        }
        s->fresh_cluster = MAX(s->fresh_cluster, (uint64_t)c + nb);
        if (s->free_cluster_index == (uint64_t)c) {
            s->free_cluster_index = c + nb;
        }
        qcow2_extend_file(s, ((uint64_t)c + nb) << s->cluster_bits);
        return c << s->cluster_bits;
    }
    return qcow2_signal_corruption(s, "cannot allocate %" PRIu64 " clusters", nb);
}

/* Makes the file at least @end bytes long, preallocated in chunks: data written later
 * into newly allocated clusters then lands inside the file, in allocated blocks, where
 * direct I/O writes need no file size update and run in parallel. Best effort. */
int qcow2_extend_file(BDRVQcow2State *s, uint64_t end)
{
    uint64_t chunk = MAX(8ULL << 20, 4 * s->cluster_size), want;
    int ret;

    if (end <= s->file_end || s->no_falloc || s->bs->read_only) {
        return 0;
    }
    want = ROUND_UP(MAX(end, s->file_end + chunk), s->cluster_size);
    ret = bdrv_co_truncate(s->file, want, BLOCK_PREALLOC_FALLOC, NULL);
    if (ret < 0) {
        s->no_falloc = true;            /* writes will extend the file instead */
        return ret;
    }
    s->file_end = want;
    return 0;
}

/* Allocates @size bytes for compressed data, packing them into partly used clusters;
 * every cluster the data touches gets one more reference. */
int64_t qcow2_alloc_bytes(BDRVQcow2State *s, uint64_t size)
{
    uint64_t off = s->free_byte_offset, room = s->cluster_size - (off & (s->cluster_size - 1));
    int64_t nc;
    int ret;

    if (off && (off & (s->cluster_size - 1)) && room >= size) {
        if ((ret = qcow2_update_refcount(s, off, 1, 1, false)) < 0) {
            return ret;
        }
        s->free_byte_offset = off + size;
        return off;
    }
    if ((nc = qcow2_alloc_clusters(s, 1)) < 0) {
        return nc;
    }
    if (off && (off & (s->cluster_size - 1)) &&
        (uint64_t)nc == (off & ~(s->cluster_size - 1)) + s->cluster_size) {
        /* The data spills into the next, contiguous cluster. */
        if ((ret = qcow2_update_refcount(s, off, 1, 1, false)) < 0) {
            return ret;
        }
        s->free_byte_offset = off + size;
        return off;
    }
    s->free_byte_offset = nc + size;
    return nc;
}

void qcow2_free_clusters(BDRVQcow2State *s, uint64_t off, uint64_t len, bool discard)
{
    int ret = qcow2_update_refcount(s, off, len, -1, discard);

    if (ret < 0) {
        /* A leak at worst; the caller has already dropped its reference. */
        g_warning("qcow2: could not free clusters at %#" PRIx64 " in '%s': %s", off,
                  s->bs->filename, g_strerror(-ret));
    }
}

/* Drops the reference an L2 entry holds on its host cluster(s). */
void qcow2_free_l2e(BDRVQcow2State *s, uint64_t l2e, bool discard)
{
    uint64_t off, len;

    switch (qcow2_l2e_type(l2e)) {
    case QCOW2_CLUSTER_NORMAL:
    case QCOW2_CLUSTER_ZERO_ALLOC:
        off = l2e & L2E_OFFSET_MASK;
        if (qcow2_offset_in_cluster(s, off)) {
            qcow2_signal_corruption(s, "cannot free unaligned cluster %#" PRIx64, off);
            return;
        }
        qcow2_free_clusters(s, off, s->cluster_size, discard);
        break;
    case QCOW2_CLUSTER_COMPRESSED:
        qcow2_parse_compressed(s, l2e, &off, &len);
        qcow2_free_clusters(s, off, len, false);
        break;
    default:
        break;
    }
}
