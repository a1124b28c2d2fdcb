/*
 * qcow2 consistency check and repair, like qemu-img check: every reference from the
 * header, the L1/L2 trees (active and snapshots), the snapshot table, valid persistent
 * bitmaps and the refcount structures is counted and compared with the stored refcounts
 * ("Host cluster management"); bit 63 of active L1/L2 entries must match "refcount is one".
 * Repairs: leaks are dropped one by one; errors rebuild the refcount structures from
 * the counted references (new table and blocks written past the end of the file).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "qcow2.h"

enum { MAX_CHECK_CLUSTERS = 1 << 26 };  /* 320 MiB of bookkeeping at most */

typedef struct Check {
    BDRVQcow2State *s;
    BlockCheckResult *res;
    BlockFix fix;
    bool quiet;
    uint32_t *refs;             /* counted references per cluster */
    uint8_t *is_rc;             /* cluster holds refcount structures */
    uint64_t nb;                /* array length (clusters) */
    uint64_t file_clusters;
    uint64_t next_contiguous;
    bool refcounts_broken;      /* refcount structures themselves are invalid */
    int copied_errors;
} Check;

static void say(Check *c, const char *fmt, ...) G_GNUC_PRINTF(2, 3);

static void say(Check *c, const char *fmt, ...)
{
    va_list ap;

    if (c->quiet) {
        return;
    }
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
}

static void grow_refs(Check *c, uint64_t n)
{
    if (n <= c->nb) {
        return;
    }
    c->refs = g_renew(uint32_t, c->refs, n);
    c->is_rc = g_renew(uint8_t, c->is_rc, n);
    memset(c->refs + c->nb, 0, (n - c->nb) * sizeof(uint32_t));
    memset(c->is_rc + c->nb, 0, n - c->nb);
    c->nb = n;
}

/* Counts one reference to every cluster touching [off, off + len). */
static bool inc_refs(Check *c, uint64_t off, uint64_t len, bool is_rc)
{
    BDRVQcow2State *s = c->s;
    uint64_t first = off >> s->cluster_bits, last = (off + len - 1) >> s->cluster_bits;

    if (len == 0) {
        return true;
    }
    if (last >= c->file_clusters) {
        say(c, "ERROR: counting reference for region exceeding the end of the file by one "
            "cluster or more: offset %#" PRIx64 " size %#" PRIx64 "\n", off, len);
        c->res->corruptions++;
        return false;
    }
    for (uint64_t k = first; k <= last; k++) {
        if (c->refs[k] < UINT32_MAX) {
            c->refs[k]++;
        }
        c->is_rc[k] |= is_rc;
    }
    return true;
}

static void count_data(Check *c, uint64_t e, bool active, bool *clear)
{
    BDRVQcow2State *s = c->s;
    uint64_t off, len;

    switch (qcow2_l2e_type(e)) {
    case QCOW2_CLUSTER_COMPRESSED:
        qcow2_parse_compressed(s, e, &off, &len);
        if (e & QCOW_OFLAG_COPIED) {
            say(c, "ERROR: coffset=%#" PRIx64 ": Compressed cluster has copied flag set\n",
                off);
            c->res->corruptions++;
        }
        *clear = !inc_refs(c, off, len, false);
        if (active) {
            c->res->allocated_clusters++;
            c->res->compressed_clusters++;
            c->res->fragmented_clusters++;      /* qemu-img counts them so, too */
        }
        break;
    case QCOW2_CLUSTER_NORMAL:
    case QCOW2_CLUSTER_ZERO_ALLOC:
        off = e & L2E_OFFSET_MASK;
        if (qcow2_offset_in_cluster(s, off)) {
            say(c, "ERROR offset=%" PRIx64 ": Cluster is not properly aligned; L2 entry "
                "corrupted.\n", off);
            c->res->corruptions++;
            *clear = true;
            break;
        }
        *clear = !inc_refs(c, off, s->cluster_size, false);
        if (active && qcow2_l2e_type(e) == QCOW2_CLUSTER_NORMAL) {
            c->res->allocated_clusters++;
            if (c->next_contiguous && off != c->next_contiguous) {
                c->res->fragmented_clusters++;
            }
            c->next_contiguous = off + s->cluster_size;
        }
        break;
    default:
        break;
    }
}

static int check_l2(Check *c, uint64_t l2_off, bool active)
{
    BDRVQcow2State *s = c->s;
    bool changed = false;
    void *l2;
    int ret = qcow2_cache_get(s, s->l2_cache, l2_off, &l2);

    if (ret < 0) {
        c->res->check_errors++;
        return 0;
    }
    for (uint64_t j = 0; j < s->l2_size; j++) {
        bool clear = false;
        count_data(c, be64_get(l2, j), active, &clear);
        if (clear && active && (c->fix & BLOCK_FIX_ERRORS)) {
            /* Unusable entry: it reads as zeros from now on (or from the backing file). */
            be64_set(l2, j, s->version >= 3 ? QCOW_OFLAG_ZERO : 0);
            changed = true;
            c->res->corruptions_fixed++;
        }
    }
    if (changed) {
        qcow2_cache_mark_dirty(s->l2_cache, l2);
    }
    qcow2_cache_put(s->l2_cache, &l2);
    return 0;
}

static bool check_l1_entry(Check *c, uint64_t *l1, uint32_t i, bool active)
{
    BDRVQcow2State *s = c->s;
    uint64_t l2_off = l1[i] & L1E_OFFSET_MASK;
    bool bad = false;

    if (qcow2_offset_in_cluster(s, l2_off)) {
        say(c, "ERROR l2_offset=%" PRIx64 ": Table is not cluster aligned; L1 entry "
            "corrupted\n", l2_off);
        c->res->corruptions++;
        bad = true;
    } else if (qcow2_overlaps_metadata(s, l2_off, s->cluster_size)) {
        say(c, "ERROR l2_offset=%" PRIx64 ": Table overlaps other metadata\n", l2_off);
        c->res->corruptions++;
        bad = true;
    } else if (!inc_refs(c, l2_off, s->cluster_size, false)) {
        bad = true;
    } else {
        check_l2(c, l2_off, active);
    }
    if (bad && active && (c->fix & BLOCK_FIX_ERRORS)) {
        l1[i] = 0;
        c->res->corruptions_fixed++;
        qcow2_write_l1_entry(s, i);
    }
    return !bad;
}

static int check_l1(Check *c, uint64_t l1_off, uint32_t l1_size, bool active)
{
    BDRVQcow2State *s = c->s;
    uint64_t *l1 = active ? s->l1_table : g_malloc0(MAX(l1_size, 1) * 8);

    if (!inc_refs(c, l1_off, (uint64_t)l1_size * 8, false)) {
        if (!active) {
            g_free(l1);
        }
        return 0;
    }
    if (!active && bdrv_co_pread(s->file, l1_off, l1, (uint64_t)l1_size * 8) < 0) {
        c->res->check_errors++;
        g_free(l1);
        return 0;
    }
    for (uint32_t i = 0; i < l1_size; i++) {
        uint64_t e = active ? l1[i] : be64toh(l1[i]);
        if (!active) {
            l1[i] = e;
        }
        if (e & L1E_OFFSET_MASK) {
            check_l1_entry(c, l1, i, active);
        }
    }
    if (!active) {
        g_free(l1);
    }
    return 0;
}

static void check_refcount_structures(Check *c)
{
    BDRVQcow2State *s = c->s;

    inc_refs(c, s->refcount_table_offset,
             (uint64_t)s->refcount_table_clusters << s->cluster_bits, true);
    for (uint64_t k = 0; k < s->refcount_table_size; k++) {
        uint64_t off = s->refcount_table[k] & REFT_OFFSET_MASK;
        if (!off) {
            continue;
        }
        if (qcow2_offset_in_cluster(s, off) || (off >> s->cluster_bits) >= c->file_clusters ||
            qcow2_overlaps_metadata(s, off, s->cluster_size)) {
            say(c, "ERROR refcount block %" PRIu64 " is not cluster aligned, outside the "
                "image or overlaps other metadata; refcount table entry corrupted\n", k);
            c->res->corruptions++;
            c->refcounts_broken = true;
            continue;
        }
        inc_refs(c, off, s->cluster_size, true);
    }
}

/* ---- comparison ---------------------------------------------------------------------- */

static uint64_t stored_clusters(Check *c)
{
    BDRVQcow2State *s = c->s;
    uint64_t n = c->nb;

    for (uint64_t k = s->refcount_table_size; k-- > 0;) {
        if (s->refcount_table[k]) {
            /* Refcounts past the end of the file count too (leaks after a crash),
             * within reason for a damaged table. */
            return MAX(n, MIN((k + 1) << s->refblock_bits, c->file_clusters + (1 << 20)));
        }
    }
    return n;
}

static void compare_refcounts(Check *c, uint64_t *end)
{
    BDRVQcow2State *s = c->s;
    uint64_t n = stored_clusters(c);

    *end = 0;
    for (uint64_t k = 0; k < n; k++) {
        uint64_t stored = 0, counted = k < c->nb ? c->refs[k] : 0;
        if (!c->refcounts_broken && qcow2_get_refcount(s, k, &stored) < 0) {
            c->refcounts_broken = true;
            c->res->check_errors++;
        }
        if (stored) {
            *end = k + 1;
        }
        if (stored == counted) {
            continue;
        }
        if (stored < counted) {
            say(c, "ERROR cluster %" PRIu64 " refcount=%" PRIu64 " reference=%" PRIu64 "\n",
                k, stored, counted);
            c->res->corruptions++;
            c->refcounts_broken |= (c->fix & BLOCK_FIX_ERRORS) != 0;
        } else {
            say(c, "%s cluster %" PRIu64 " refcount=%" PRIu64 " reference=%" PRIu64 "\n",
                (c->fix & BLOCK_FIX_LEAKS) ? "Repairing" : "Leaked", k, stored, counted);
            c->res->leaks++;
        }
    }
}

static void check_copied(Check *c)
{
    BDRVQcow2State *s = c->s;

    for (uint32_t i = 0; i < s->l1_size; i++) {
        uint64_t e = s->l1_table[i], off = e & L1E_OFFSET_MASK, rc = 0;
        void *l2;
        if (!off || qcow2_offset_in_cluster(s, off) || qcow2_get_refcount(s, off >> s->cluster_bits, &rc) < 0) {
            continue;
        }
        if ((rc == 1) != !!(e & QCOW_OFLAG_COPIED)) {
            say(c, "ERROR OFLAG_COPIED L2 cluster: l1_index=%u l1_entry=%" PRIx64
                " refcount=%" PRIu64 "\n", i, e, rc);
            c->copied_errors++;
        }
        if (qcow2_cache_get(s, s->l2_cache, off, &l2) < 0) {
            continue;
        }
        for (uint64_t j = 0; j < s->l2_size; j++) {
            uint64_t d = be64_get(l2, j), drc = 0;
            Qcow2ClusterType t = qcow2_l2e_type(d);
            if ((t != QCOW2_CLUSTER_NORMAL && t != QCOW2_CLUSTER_ZERO_ALLOC) ||
                qcow2_offset_in_cluster(s, d & L2E_OFFSET_MASK) ||
                qcow2_get_refcount(s, (d & L2E_OFFSET_MASK) >> s->cluster_bits, &drc) < 0) {
                continue;
            }
            if ((drc == 1) != !!(d & QCOW_OFLAG_COPIED)) {
                say(c, "ERROR OFLAG_COPIED data cluster: l2_entry=%" PRIx64 " refcount=%"
                    PRIu64 "\n", d, drc);
                c->copied_errors++;
            }
        }
        qcow2_cache_put(s->l2_cache, &l2);
    }
    c->res->corruptions += c->copied_errors;
}

/* ---- repairs ------------------------------------------------------------------------- */

static int fix_leaks(Check *c)
{
    BDRVQcow2State *s = c->s;
    uint64_t n = stored_clusters(c);

    for (uint64_t k = 0; k < n; k++) {
        uint64_t stored = 0, counted = k < c->nb ? c->refs[k] : 0;
        int ret = qcow2_get_refcount(s, k, &stored);
        if (ret < 0) {
            return ret;
        }
        if (stored > counted) {
            ret = qcow2_update_refcount(s, k << s->cluster_bits, 1,
                                        -(int64_t)(stored - counted), false);
            if (ret < 0) {
                return ret;
            }
            c->res->leaks_fixed++;
        }
    }
    return 0;
}

/* Lays out a new refcount table + blocks at cluster @start covering everything. */
static void plan_rebuild(Check *c, uint64_t start, uint64_t *t, uint64_t *blocks,
                         uint64_t *entries)
{
    BDRVQcow2State *s = c->s;
    uint64_t per = s->cluster_size / 8;

    *t = 1;
    *blocks = 0;
    for (int iter = 0; iter < 64; iter++) {
        uint64_t total = start + *t + *blocks, nb = 0;
        uint64_t nk = DIV_ROUND_UP(total, s->refblock_size);
        for (uint64_t k = 0; k < nk; k++) {
            bool used = (k + 1) << s->refblock_bits > start;   /* holds new structures */
            for (uint64_t i = k << s->refblock_bits; !used && i < MIN(c->nb, start) &&
                 i < (k + 1) << s->refblock_bits; i++) {
                used = c->refs[i] && !c->is_rc[i];
            }
            nb += used;
        }
        *entries = ROUND_UP(nk, per);
        if (nb == *blocks && *entries / per == *t) {
            return;
        }
        *blocks = MAX(*blocks, nb);
        *t = MAX(*t, *entries / per);
    }
}

static int write_rebuilt(Check *c, uint64_t start, uint64_t t, uint64_t entries,
                         uint64_t *table)
{
    BDRVQcow2State *s = c->s;
    uint8_t *blk = block_alloc(s->bs, s->cluster_size);
    uint64_t next = start + t, *disk;
    int ret = 0;

    for (uint64_t k = 0; k < entries && ret == 0; k++) {
        bool any = false;
        memset(blk, 0, s->cluster_size);
        for (uint64_t i = 0; i < s->refblock_size && (k << s->refblock_bits) + i < c->nb; i++) {
            uint64_t v = c->refs[(k << s->refblock_bits) + i];
            if (v > s->refcount_max) {
                ret = -ERANGE;
                break;
            }
            qcow2_refblock_set(s, blk, i, v);
            any |= v != 0;
        }
        if (any && ret == 0) {
            table[k] = next << s->cluster_bits;
            ret = bdrv_co_pwrite(s->file, next << s->cluster_bits, blk, s->cluster_size);
            next++;
        }
    }
    block_free(blk);
    disk = g_malloc0(t << s->cluster_bits);
    for (uint64_t k = 0; k < entries; k++) {
        disk[k] = htobe64(table[k]);
    }
    if (ret == 0) {
        ret = bdrv_co_pwrite(s->file, start << s->cluster_bits, disk, t << s->cluster_bits);
    }
    g_free(disk);
    return ret;
}

/* Replaces the refcount structures with ones built from the counted references. */
static int rebuild_refcounts(Check *c)
{
    BDRVQcow2State *s = c->s;
    uint64_t start = c->file_clusters, t, blocks, entries, *table;
    int ret;

    for (uint64_t k = 0; k < c->nb; k++) {
        if (c->is_rc[k]) {
            c->refs[k] = 0;             /* the old structures are dropped */
        }
    }
    plan_rebuild(c, start, &t, &blocks, &entries);
    grow_refs(c, start + t + blocks);
    for (uint64_t k = start; k < start + t + blocks; k++) {
        c->refs[k] = 1;
    }
    table = g_malloc0(entries * 8);
    qcow2_cache_empty(s, s->refblock_cache);
    ret = write_rebuilt(c, start, t, entries, table);
    if (ret == 0) {
        ret = bdrv_co_flush(s->file);
    }
    if (ret == 0) {
        s->refcount_table_offset = start << s->cluster_bits;
        s->refcount_table_clusters = t;
        g_free(s->refcount_table);
        s->refcount_table = table;
        s->refcount_table_size = entries;
        s->free_cluster_index = 0;
        s->fresh_cluster = MAX(s->fresh_cluster, start + t + blocks);
        ret = qcow2_update_header(s);
    } else {
        g_free(table);
    }
    return ret;
}

/* Persistent dirty bitmaps (header extension 0x23852875, spec "Bitmaps"): Vireo keeps the
 * extension without interpreting it and clears autoclear bit 0 when it opens an image
 * read/write, after which the bitmaps are stale and their clusters are leaks. While the
 * bit is still set (a read-only check of a QEMU image), the bitmap directory, tables and
 * data clusters are references like any other. */
enum { BITMAP_DIR_MAX = 64 << 20, BITMAP_TABLE_MAX = 1 << 26 };
#define BME_OFFSET_MASK 0x00fffffffffffe00ull

static void count_bitmaps(Check *c)
{
    BDRVQcow2State *s = c->s;
    const Qcow2Ext *ext = NULL;

    for (guint i = 0; s->unknown_exts && i < s->unknown_exts->len; i++) {
        const Qcow2Ext *e = g_ptr_array_index(s->unknown_exts, i);
        if (e->magic == QCOW2_EXT_BITMAPS) {
            ext = e;
        }
    }
    if (!ext || !(s->autoclear & 1)) {
        return;
    }
    if (ext->len < 24) {
        say(c, "ERROR: bitmaps extension of %u bytes (24 needed)\n", ext->len);
        c->res->check_errors++;
        return;
    }
    uint32_t nb = qcow2_be32_at(ext->data, 0);
    uint64_t dir_size = qcow2_be64_at(ext->data, 8), dir_off = qcow2_be64_at(ext->data, 16);
    if (nb == 0 || dir_size < 24 || dir_size > BITMAP_DIR_MAX ||
        (dir_off & (s->cluster_size - 1))) {
        say(c, "ERROR: bitmap directory at %#" PRIx64 " of %" PRIu64 " bytes for %u bitmaps "
            "is invalid\n", dir_off, dir_size, nb);
        c->res->check_errors++;
        return;
    }
    if (!inc_refs(c, dir_off, dir_size, false)) {
        return;
    }
    g_autofree uint8_t *dir = g_malloc(dir_size);
    if (bdrv_co_pread(s->file, dir_off, dir, dir_size) < 0) {
        c->res->check_errors++;
        return;
    }
    uint64_t pos = 0;
    for (uint32_t i = 0; i < nb; i++) {
        if (pos + 24 > dir_size) {
            say(c, "ERROR: bitmap directory ends inside entry %u\n", i);
            c->res->check_errors++;
            return;
        }
        uint64_t table_off = qcow2_be64_at(dir + pos, 0);
        uint32_t table_size = qcow2_be32_at(dir + pos, 8);
        uint32_t name_size = (uint32_t)dir[pos + 18] << 8 | dir[pos + 19];
        uint32_t extra_size = qcow2_be32_at(dir + pos, 20);
        if ((table_off & (s->cluster_size - 1)) || table_size > BITMAP_TABLE_MAX) {
            say(c, "ERROR: bitmap %u: table at %#" PRIx64 " with %u entries is invalid\n",
                i, table_off, table_size);
            c->res->check_errors++;
        } else if (table_size && inc_refs(c, table_off, (uint64_t)table_size * 8, false)) {
            g_autofree uint64_t *t = g_malloc((uint64_t)table_size * 8);
            if (bdrv_co_pread(s->file, table_off, t, (uint64_t)table_size * 8) < 0) {
                c->res->check_errors++;
            } else {
                for (uint32_t k = 0; k < table_size; k++) {
                    uint64_t off = be64toh(t[k]) & BME_OFFSET_MASK;
                    if (off) {
                        inc_refs(c, off, s->cluster_size, false);
                    }
                }
            }
        }
        pos += ROUND_UP(24 + (uint64_t)extra_size + name_size, 8);
    }
}

/* ---- entry point ----------------------------------------------------------------------- */

static void count_all(Check *c)
{
    BDRVQcow2State *s = c->s;

    inc_refs(c, 0, s->cluster_size, false);
    check_l1(c, s->l1_table_offset, s->l1_size, true);
    for (uint32_t i = 0; i < s->nb_snapshots; i++) {
        check_l1(c, s->snapshots[i].l1_table_offset, s->snapshots[i].l1_size, false);
    }
    if (s->nb_snapshots) {
        inc_refs(c, s->snapshots_offset, s->snapshots_size, false);
    }
    count_bitmaps(c);
    check_refcount_structures(c);
}

static int repair(Check *c, int leaks, int corruptions)
{
    BDRVQcow2State *s = c->s;
    int ret = 0;

    if ((c->fix & BLOCK_FIX_ERRORS) && c->refcounts_broken) {
        ret = rebuild_refcounts(c);
        if (ret == 0) {
            c->res->leaks_fixed += leaks;
            c->res->corruptions_fixed += corruptions - c->copied_errors;
        }
    } else if ((c->fix & BLOCK_FIX_LEAKS) && leaks) {
        ret = fix_leaks(c);
    }
    if (ret == 0 && (c->fix & BLOCK_FIX_ERRORS) && c->copied_errors) {
        ret = qcow2_fix_copied_flags(s);
        c->res->corruptions_fixed += ret == 0 ? c->copied_errors : 0;
    }
    if (ret == 0 && (c->fix & BLOCK_FIX_ERRORS) && (s->incompatible & QCOW2_INCOMPAT_CORRUPT)) {
        s->incompatible &= ~QCOW2_INCOMPAT_CORRUPT;
        ret = qcow2_update_header(s);
    }
    if (ret == 0) {
        ret = qcow2_flush_caches(s);
    }
    return ret;
}

static int check_locked(BDRVQcow2State *s, BlockCheckResult *res, BlockFix fix, bool quiet)
{
    Check c = { .s = s, .res = res, .fix = fix, .quiet = quiet };
    int64_t flen = bdrv_co_getlength(s->file);
    uint64_t end = 0;
    int ret = qcow2_flush_caches(s);

    if (flen < 0 || ret < 0) {
        return flen < 0 ? (int)flen : ret;
    }
    c.file_clusters = qcow2_size_to_clusters(s, flen);
    if (c.file_clusters > MAX_CHECK_CLUSTERS) {
        return bdrv_set_error(s->bs, -EFBIG, "image file is too large to check");
    }
    grow_refs(&c, MAX(c.file_clusters, 1));
    count_all(&c);
    compare_refcounts(&c, &end);
    check_copied(&c);
    res->total_clusters = qcow2_size_to_clusters(s, s->size);
    res->image_end_offset = end << s->cluster_bits;
    res->has_stats = true;
    ret = fix ? repair(&c, res->leaks, res->corruptions) : 0;
    g_free(c.refs);
    g_free(c.is_rc);
    return ret;
}

/* Driver check: counts (and with @fix repairs) every inconsistency. */
int qcow2_check(BlockDriverState *bs, BlockCheckResult *res, BlockFix fix, GError **errp)
{
    BDRVQcow2State *s = bs->opaque;
    CoContext *co = bdrv_co(bs);
    bool quiet = !bs->opts.check_mode;  /* automatic repairs on open stay silent */
    int ret;

    memset(res, 0, sizeof(*res));
    co_mutex_lock(co, &s->lock);
    qcow2_drain_allocs(s);
    ret = check_locked(s, res, fix, quiet);
    co_mutex_unlock(co, &s->lock);
    if (ret < 0) {
        g_set_error(errp, G_IO_ERROR, G_IO_ERROR_FAILED, "Could not check '%s': %s",
                    bs->filename, bs->last_error ? bs->last_error : g_strerror(-ret));
    }
    return ret;
}
