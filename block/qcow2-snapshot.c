/*
 * qcow2 internal snapshots ("Snapshots"): the snapshot table, and create / apply /
 * delete as refcount changes over a whole L1/L2 tree. After each, the COPIED flags of
 * the active tables are made exact again (bit 63 of L1/L2 entries: refcount is one).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "qcow2.h"

enum { SN_FIXED = 40, SN_EXTRA_KNOWN = 24, SN_MAX_EXTRA = 1024 };

void qcow2_free_snapshots(BDRVQcow2State *s)
{
    for (uint32_t i = 0; s->snapshots && i < s->nb_snapshots; i++) {
        g_free(s->snapshots[i].id_str);
        g_free(s->snapshots[i].name);
        g_free(s->snapshots[i].extra_unknown);
    }
    g_free(s->snapshots);
    s->snapshots = NULL;
}

static uint64_t get64(const uint8_t *b)
{
    uint64_t v;

    memcpy(&v, b, 8);
    return be64toh(v);
}

static uint32_t get32(const uint8_t *b)
{
    uint32_t v;

    memcpy(&v, b, 4);
    return be32toh(v);
}

static void parse_extra(BDRVQcow2State *s, Qcow2Snapshot *sn, const uint8_t *x, uint32_t len)
{
    if (len >= 8) {
        sn->vm_state_size = get64(x);
    }
    sn->disk_size = len >= 16 ? get64(x + 8) : s->size;
    sn->icount = len >= 24 ? get64(x + 16) : UINT64_MAX;
    if (len > SN_EXTRA_KNOWN) {
        sn->extra_unknown_len = len - SN_EXTRA_KNOWN;
        sn->extra_unknown = g_memdup2(x + SN_EXTRA_KNOWN, sn->extra_unknown_len);
    }
}

/* Reads one table entry at *pos (relative to the table); advances *pos. */
static int read_one(BDRVQcow2State *s, Qcow2Snapshot *sn, uint64_t *pos, GError **errp)
{
    uint8_t h[SN_FIXED], *var;
    uint32_t extra, id_len, name_len, var_len;
    int ret = bdrv_co_pread(s->file, s->snapshots_offset + *pos, h, SN_FIXED);

    if (ret < 0) {
        return ret;
    }
    sn->l1_table_offset = get64(h);
    sn->l1_size = get32(h + 8);
    id_len = (h[12] << 8) | h[13];
    name_len = (h[14] << 8) | h[15];
    sn->date_sec = get32(h + 16);
    sn->date_nsec = get32(h + 20);
    sn->vm_clock_nsec = get64(h + 24);
    sn->vm_state_size = get32(h + 32);
    extra = get32(h + 36);
    if (extra > SN_MAX_EXTRA) {
        g_set_error(errp, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, "Image '%s': snapshot extra "
                    "data of %u bytes is too large", s->bs->filename, extra);
        return -EINVAL;
    }
    var_len = extra + id_len + name_len;
    var = g_malloc(var_len + 1);
    ret = bdrv_co_pread(s->file, s->snapshots_offset + *pos + SN_FIXED, var, var_len);
    if (ret == 0) {
        sn->extra_size = extra;
        parse_extra(s, sn, var, extra);
        sn->id_str = g_strndup((char *)var + extra, id_len);
        sn->name = g_strndup((char *)var + extra + id_len, name_len);
        *pos += ROUND_UP(SN_FIXED + var_len, 8);
    }
    g_free(var);
    return ret;
}

static int check_snapshot(BDRVQcow2State *s, Qcow2Snapshot *sn, GError **errp)
{
    if (qcow2_offset_in_cluster(s, sn->l1_table_offset) ||
        sn->l1_table_offset >= QCOW2_MAX_OFFSET ||
        (sn->l1_size && sn->l1_table_offset < s->cluster_size)) {
        g_set_error(errp, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, "Image '%s': snapshot '%s' "
                    "has an invalid L1 table offset %#" PRIx64, s->bs->filename, sn->name,
                    sn->l1_table_offset);
        return -EINVAL;
    }
    if ((uint64_t)sn->l1_size * 8 > QCOW2_MAX_L1_BYTES) {
        g_set_error(errp, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, "Image '%s': snapshot '%s' "
                    "L1 table is too large", s->bs->filename, sn->name);
        return -EINVAL;
    }
    return 0;
}

int qcow2_read_snapshots(BDRVQcow2State *s, GError **errp)
{
    uint64_t pos = 0;
    int ret = 0;

    s->snapshots = g_new0(Qcow2Snapshot, MAX(s->nb_snapshots, 1));
    if (s->nb_snapshots && (qcow2_offset_in_cluster(s, s->snapshots_offset) ||
                            s->snapshots_offset < s->cluster_size)) {
        g_set_error(errp, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, "Image '%s': snapshot table "
                    "offset %#" PRIx64 " is invalid", s->bs->filename, s->snapshots_offset);
        return -EINVAL;
    }
    for (uint32_t i = 0; i < s->nb_snapshots && ret == 0; i++) {
        if (pos > QCOW2_MAX_SNAPSHOT_TABLE) {
            g_set_error(errp, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                        "Image '%s': snapshot table is too large", s->bs->filename);
            return -EFBIG;
        }
        ret = read_one(s, &s->snapshots[i], &pos, errp);
        if (ret == 0) {
            ret = check_snapshot(s, &s->snapshots[i], errp);
        } else if (errp && !*errp) {
            g_set_error(errp, G_IO_ERROR, G_IO_ERROR_FAILED, "Could not read the snapshot "
                        "table of '%s': %s", s->bs->filename, g_strerror(-ret));
        }
    }
    s->snapshots_size = pos;
    return ret;
}

/* ---- writing the table ------------------------------------------------------------------ */

static size_t entry_size(const Qcow2Snapshot *sn)
{
    return ROUND_UP(SN_FIXED + SN_EXTRA_KNOWN + sn->extra_unknown_len + strlen(sn->id_str) +
                    strlen(sn->name), 8);
}

static void put64(uint8_t *b, uint64_t v)
{
    v = htobe64(v);
    memcpy(b, &v, 8);
}

static void put32(uint8_t *b, uint32_t v)
{
    v = htobe32(v);
    memcpy(b, &v, 4);
}

static size_t serialize_one(const Qcow2Snapshot *sn, uint8_t *b)
{
    size_t id = strlen(sn->id_str), name = strlen(sn->name);
    uint32_t extra = SN_EXTRA_KNOWN + sn->extra_unknown_len;

    put64(b, sn->l1_table_offset);
    put32(b + 8, sn->l1_size);
    b[12] = id >> 8;
    b[13] = id;
    b[14] = name >> 8;
    b[15] = name;
    put32(b + 16, sn->date_sec);
    put32(b + 20, sn->date_nsec);
    put64(b + 24, sn->vm_clock_nsec);
    put32(b + 32, MIN(sn->vm_state_size, UINT32_MAX));
    put32(b + 36, extra);
    put64(b + 40, sn->vm_state_size);
    put64(b + 48, sn->disk_size);
    put64(b + 56, sn->icount);
    if (sn->extra_unknown_len) {
        memcpy(b + 64, sn->extra_unknown, sn->extra_unknown_len);
    }
    memcpy(b + 64 + sn->extra_unknown_len, sn->id_str, id);
    memcpy(b + 64 + sn->extra_unknown_len + id, sn->name, name);
    return entry_size(sn);
}

/* Writes the snapshot table to new clusters, switches the header to it, frees the old
 * one. The table is on disk (with its refcounts) before the header points to it. */
static int write_snapshot_table(BDRVQcow2State *s, Qcow2Snapshot *sns, uint32_t n)
{
    uint64_t size = 0, pos = 0, old_off = s->snapshots_offset, old_size = s->snapshots_size;
    uint32_t old_n = s->nb_snapshots;
    int64_t off = 0;
    uint8_t *buf;
    int ret = 0;

    for (uint32_t i = 0; i < n; i++) {
        size += entry_size(&sns[i]);
    }
    if (size > QCOW2_MAX_SNAPSHOT_TABLE) {
        return bdrv_set_error(s->bs, -EFBIG, "snapshot table would be too large");
    }
    if (size && (off = qcow2_alloc_clusters(s, qcow2_size_to_clusters(s, size))) < 0) {
        return (int)off;
    }
    buf = block_alloc0(s->bs, ROUND_UP(MAX(size, 1), s->cluster_size));
    for (uint32_t i = 0; i < n; i++) {
        pos += serialize_one(&sns[i], buf + pos);
    }
    if (size) {
        ret = qcow2_cache_flush(s, s->refblock_cache);
        if (ret == 0) {
            ret = bdrv_co_pwrite(s->file, off, buf, ROUND_UP(size, s->cluster_size));
        }
        if (ret == 0) {
            ret = bdrv_co_flush(s->file);
        }
    }
    block_free(buf);
    if (ret == 0) {
        s->snapshots_offset = off;
        s->snapshots_size = size;
        s->nb_snapshots = n;
        if ((ret = qcow2_update_header(s)) < 0) {
            s->snapshots_offset = old_off;
            s->snapshots_size = old_size;
            s->nb_snapshots = old_n;
        }
    }
    if (ret < 0) {
        if (size) {
            qcow2_free_clusters(s, off, size, false);
        }
        return ret;
    }
    if (old_n && old_size) {
        qcow2_free_clusters(s, old_off, old_size, false);
    }
    return bdrv_co_flush(s->file);
}

/* ---- operations ------------------------------------------------------------------------ */

static int find_snapshot(BDRVQcow2State *s, const char *name)
{
    for (uint32_t i = 0; i < s->nb_snapshots; i++) {
        if (!strcmp(s->snapshots[i].id_str, name)) {
            return i;
        }
    }
    for (uint32_t i = 0; i < s->nb_snapshots; i++) {
        if (!strcmp(s->snapshots[i].name, name)) {
            return i;
        }
    }
    return -1;
}

int qcow2_snapshot_list(BlockDriverState *bs, BlockSnapshotInfo **list)
{
    BDRVQcow2State *s = bs->opaque;
    BlockSnapshotInfo *out = g_new0(BlockSnapshotInfo, MAX(s->nb_snapshots, 1));

    for (uint32_t i = 0; i < s->nb_snapshots; i++) {
        Qcow2Snapshot *sn = &s->snapshots[i];
        out[i].id = g_strdup(sn->id_str);
        out[i].name = g_strdup(sn->name);
        out[i].vm_state_size = sn->vm_state_size;
        out[i].date_sec = sn->date_sec;
        out[i].date_nsec = sn->date_nsec;
        out[i].vm_clock_nsec = sn->vm_clock_nsec;
        out[i].icount = sn->icount;
        out[i].disk_size = sn->disk_size;
    }
    *list = out;
    return s->nb_snapshots;
}

static char *next_snapshot_id(BDRVQcow2State *s)
{
    unsigned long max = 0;

    for (uint32_t i = 0; i < s->nb_snapshots; i++) {
        max = MAX(max, strtoul(s->snapshots[i].id_str, NULL, 10));
    }
    return g_strdup_printf("%lu", max + 1);
}

static int snapshot_create_locked(BDRVQcow2State *s, const char *name, GError **errp)
{
    uint64_t bytes = ROUND_UP((uint64_t)s->l1_size * 8, s->cluster_size), *buf;
    int64_t l1_off = 0, now = g_get_real_time();
    Qcow2Snapshot sn = { 0 }, *sns;
    int ret;

    if (s->l1_size && (l1_off = qcow2_alloc_clusters(s, bytes >> s->cluster_bits)) < 0) {
        return (int)l1_off;
    }
    buf = block_alloc0(s->bs, MAX(bytes, 1));
    for (uint32_t i = 0; i < s->l1_size; i++) {
        buf[i] = htobe64(s->l1_table[i]);
    }
    ret = bytes ? bdrv_co_pwrite(s->file, l1_off, buf, bytes) : 0;
    block_free(buf);
    if (ret == 0) {
        ret = qcow2_tree_refcounts(s, s->l1_table, s->l1_size, 1);
    }
    if (ret == 0) {
        ret = qcow2_fix_copied_flags(s);
    }
    if (ret < 0) {
        return ret;
    }
    sn.l1_table_offset = l1_off;
    sn.l1_size = s->l1_size;
    sn.id_str = next_snapshot_id(s);
    sn.name = g_strdup(name);
    sn.date_sec = now / G_USEC_PER_SEC;
    sn.date_nsec = (now % G_USEC_PER_SEC) * 1000;
    sn.disk_size = s->size;
    sn.icount = 0;
    sn.vm_state_size = s->pending_vm_state_size;
    sn.vm_clock_nsec = s->pending_vm_clock_ns;
    sns = g_new0(Qcow2Snapshot, s->nb_snapshots + 1);
    if (s->nb_snapshots) {
        memcpy(sns, s->snapshots, s->nb_snapshots * sizeof(*sns));
    }
    sns[s->nb_snapshots] = sn;
    ret = write_snapshot_table(s, sns, s->nb_snapshots + 1);
    if (ret < 0) {
        g_free(sn.id_str);
        g_free(sn.name);
        g_free(sns);
        g_set_error(errp, G_IO_ERROR, G_IO_ERROR_FAILED, "Could not write the snapshot table");
        return ret;
    }
    g_free(s->snapshots);
    s->snapshots = sns;
    return 0;
}

typedef int SnapshotFn(BDRVQcow2State *s, const char *name, GError **errp);

/* Runs a snapshot operation with the metadata lock held and no write in flight. */
static int snapshot_locked(BlockDriverState *bs, SnapshotFn *fn, const char *name,
                           GError **errp)
{
    BDRVQcow2State *s = bs->opaque;
    CoContext *co = bdrv_co(bs);
    int ret;

    co_mutex_lock(co, &s->lock);
    qcow2_drain_allocs(s);
    ret = qcow2_flush_caches(s);
    if (ret == 0) {
        ret = fn(s, name, errp);
    }
    if (ret == 0) {
        ret = qcow2_flush_caches(s);
    }
    co_mutex_unlock(co, &s->lock);
    if (ret < 0 && errp && !*errp) {
        g_set_error(errp, G_IO_ERROR, G_IO_ERROR_FAILED, "Snapshot operation on '%s' "
                    "failed: %s", bs->filename, bs->last_error ? bs->last_error
                                                               : g_strerror(-ret));
    }
    return ret;
}

static int do_create(BDRVQcow2State *s, const char *name, GError **errp)
{
    if (find_snapshot(s, name) >= 0) {
        g_set_error(errp, G_IO_ERROR, G_IO_ERROR_EXISTS,
                    "Snapshot '%s' already exists in '%s'", name, s->bs->filename);
        return -EEXIST;
    }
    return snapshot_create_locked(s, name, errp);
}

int qcow2_snapshot_create(BlockDriverState *bs, const char *name, GError **errp)
{
    return snapshot_locked(bs, do_create, name, errp);
}

static int not_found(BDRVQcow2State *s, const char *name, GError **errp)
{
    g_set_error(errp, G_IO_ERROR, G_IO_ERROR_NOT_FOUND,
                "Snapshot '%s' not found in '%s'", name, s->bs->filename);
    return -ENOENT;
}

static int do_apply(BDRVQcow2State *s, const char *name, GError **errp)
{
    int idx = find_snapshot(s, name), ret;
    Qcow2Snapshot *sn;
    uint64_t *sn_l1, *old;
    uint32_t old_n = s->l1_size;

    if (idx < 0) {
        return not_found(s, name, errp);
    }
    sn = &s->snapshots[idx];
    sn_l1 = qcow2_read_l1(s, sn->l1_table_offset, sn->l1_size, &ret);
    if (ret == 0) {
        ret = qcow2_grow_l1(s, sn->l1_size);
    }
    /* Take the snapshot's references first, so dropping the old tree frees nothing it
     * shares with the snapshot. */
    if (ret == 0) {
        ret = qcow2_tree_refcounts(s, sn_l1, sn->l1_size, 1);
    }
    if (ret == 0) {
        ret = qcow2_cache_flush(s, s->refblock_cache);
    }
    if (ret < 0) {
        g_free(sn_l1);
        return ret;
    }
    old = g_memdup2(s->l1_table, (uint64_t)old_n * 8);
    memset(s->l1_table, 0, s->l1_alloc * 8);
    memcpy(s->l1_table, sn_l1, (uint64_t)sn->l1_size * 8);
    ret = qcow2_fix_copied_flags(s);          /* writes the new active L1 */
    if (ret == 0) {
        ret = qcow2_tree_refcounts(s, old, old_n, -1);
    }
    if (ret == 0 && sn->disk_size != s->size) {
        s->size = sn->disk_size;
        ret = qcow2_update_header(s);
    }
    if (ret == 0) {
        ret = qcow2_fix_copied_flags(s);
    }
    g_free(old);
    g_free(sn_l1);
    return ret;
}

int qcow2_snapshot_apply(BlockDriverState *bs, const char *name, GError **errp)
{
    return snapshot_locked(bs, do_apply, name, errp);
}

static int do_delete(BDRVQcow2State *s, const char *name, GError **errp)
{
    int idx = find_snapshot(s, name), ret;
    Qcow2Snapshot sn, *sns;

    if (idx < 0) {
        return not_found(s, name, errp);
    }
    sn = s->snapshots[idx];
    sns = g_new0(Qcow2Snapshot, MAX(s->nb_snapshots, 1));
    memcpy(sns, s->snapshots, idx * sizeof(*sns));
    memcpy(sns + idx, s->snapshots + idx + 1, (s->nb_snapshots - idx - 1) * sizeof(*sns));
    /* Forget the snapshot on disk first: a crash afterwards only leaks its clusters. */
    ret = write_snapshot_table(s, sns, s->nb_snapshots - 1);
    if (ret < 0) {
        g_free(sns);
        return ret;
    }
    g_free(s->snapshots);
    s->snapshots = sns;
    ret = qcow2_update_tree_refcounts(s, sn.l1_table_offset, sn.l1_size, -1);
    if (ret == 0 && sn.l1_size) {
        qcow2_free_clusters(s, sn.l1_table_offset,
                            ROUND_UP((uint64_t)sn.l1_size * 8, s->cluster_size), false);
    }
    if (ret == 0) {
        ret = qcow2_fix_copied_flags(s);
    }
    g_free(sn.id_str);
    g_free(sn.name);
    g_free(sn.extra_unknown);
    return ret;
}

int qcow2_snapshot_delete(BlockDriverState *bs, const char *name, GError **errp)
{
    return snapshot_locked(bs, do_delete, name, errp);
}
