/*
 * Write-back cache of qcow2 metadata tables (L2 tables, refcount blocks), one cluster
 * per entry, LRU replacement. Ordering between the two caches is expressed as a
 * dependency: before any table of cache C is written, C's dependency is written and
 * flushed to disk (see the crash-consistency rules in qcow2.h).
 */
#include <errno.h>
#include <string.h>

#include "qcow2.h"

typedef struct Qcow2CacheEntry {
    uint64_t offset;        /* 0: slot empty */
    int ref;
    bool dirty;
    uint64_t lru;
} Qcow2CacheEntry;

struct Qcow2Cache {
    Qcow2CacheEntry *e;
    uint8_t *mem;
    int n;
    size_t table_size;
    uint64_t lru_counter;
    Qcow2Cache *depends;
    bool depends_on_flush;
    bool is_l2;
    GHashTable *index;      /* offset -> slot + 1 */
};

Qcow2Cache *qcow2_cache_new(BDRVQcow2State *s, int entries, bool is_l2)
{
    Qcow2Cache *c = g_new0(Qcow2Cache, 1);

    c->n = entries;
    c->table_size = s->cluster_size;
    c->e = g_new0(Qcow2CacheEntry, entries);
    c->mem = block_alloc(s->bs, c->table_size * entries);
    c->is_l2 = is_l2;
    c->index = g_hash_table_new(g_int64_hash, g_int64_equal);
    return c;
}

void qcow2_cache_free(Qcow2Cache *c)
{
    if (!c) {
        return;
    }
    g_hash_table_destroy(c->index);
    block_free(c->mem);
    g_free(c->e);
    g_free(c);
}

static void *slot_table(Qcow2Cache *c, int i)
{
    return c->mem + (size_t)i * c->table_size;
}

static int table_slot(Qcow2Cache *c, void *table)
{
    ptrdiff_t d = (uint8_t *)table - c->mem;

    g_assert(d >= 0 && (size_t)d % c->table_size == 0 && d / c->table_size < (size_t)c->n);
    return (int)(d / c->table_size);
}

static int cache_resolve_dependency(BDRVQcow2State *s, Qcow2Cache *c)
{
    int ret = 0;

    if (c->depends) {
        ret = qcow2_cache_flush(s, c->depends);
        if (ret == 0) {
            c->depends = NULL;
            c->depends_on_flush = false;
        }
    } else if (c->depends_on_flush) {
        ret = bdrv_co_flush(s->file);
        if (ret == 0) {
            c->depends_on_flush = false;
        }
    }
    return ret;
}

static int cache_write_slot(BDRVQcow2State *s, Qcow2Cache *c, int i)
{
    Qcow2CacheEntry *e = &c->e[i];
    int ret;

    if (!e->dirty || !e->offset) {
        return 0;
    }
    ret = cache_resolve_dependency(s, c);
    if (ret < 0) {
        return ret;
    }
    if (qcow2_overlaps_metadata(s, e->offset, c->table_size)) {
        return qcow2_signal_corruption(s, "%s at offset %#" PRIx64 " overlaps other metadata",
                                       c->is_l2 ? "L2 table" : "refcount block", e->offset);
    }
    ret = bdrv_co_pwrite(s->file, e->offset, slot_table(c, i), c->table_size);
    if (ret == 0) {
        e->dirty = false;
    }
    return ret;
}

static void slot_drop(Qcow2Cache *c, int i)
{
    if (c->e[i].offset) {
        g_hash_table_remove(c->index, &c->e[i].offset);
    }
    c->e[i].offset = 0;
    c->e[i].dirty = false;
    c->e[i].lru = 0;
}

/* Picks the least recently used unpinned slot, writing it back if dirty. */
static int cache_victim(BDRVQcow2State *s, Qcow2Cache *c)
{
    int best = -1;

    for (int i = 0; i < c->n; i++) {
        if (c->e[i].ref == 0 && (best < 0 || c->e[i].lru < c->e[best].lru)) {
            best = i;
        }
    }
    if (best < 0) {
        return -ENOSPC;                 /* every table pinned: a bug, not an image issue */
    }
    if (c->e[best].dirty) {
        int ret = cache_write_slot(s, c, best);
        if (ret < 0) {
            return ret;
        }
    }
    slot_drop(c, best);
    return best;
}

static int cache_do_get(BDRVQcow2State *s, Qcow2Cache *c, uint64_t off, void **table,
                        bool read)
{
    gpointer v = g_hash_table_lookup(c->index, &off);
    int i, ret;

    if (v) {
        i = GPOINTER_TO_INT(v) - 1;
    } else {
        if ((i = cache_victim(s, c)) < 0) {
            return i;
        }
        if (read) {
            ret = bdrv_co_pread(s->file, off, slot_table(c, i), c->table_size);
            if (ret < 0) {
                return ret;
            }
        }
        c->e[i].offset = off;
        g_hash_table_insert(c->index, &c->e[i].offset, GINT_TO_POINTER(i + 1));
    }
    c->e[i].ref++;
    c->e[i].lru = ++c->lru_counter;
    *table = slot_table(c, i);
    return 0;
}

/* Loads (or finds) the table at @off and pins it until qcow2_cache_put(). */
int qcow2_cache_get(BDRVQcow2State *s, Qcow2Cache *c, uint64_t off, void **table)
{
    return cache_do_get(s, c, off, table, true);
}

/* Same for a new table: no read; the caller fills it and marks it dirty. */
int qcow2_cache_get_empty(BDRVQcow2State *s, Qcow2Cache *c, uint64_t off, void **table)
{
    return cache_do_get(s, c, off, table, false);
}

void qcow2_cache_put(Qcow2Cache *c, void **table)
{
    int i = table_slot(c, *table);

    g_assert(c->e[i].ref > 0);
    c->e[i].ref--;
    *table = NULL;
}

void qcow2_cache_mark_dirty(Qcow2Cache *c, void *table)
{
    c->e[table_slot(c, table)].dirty = true;
}

bool qcow2_cache_is_dirty(Qcow2Cache *c)
{
    for (int i = 0; i < c->n; i++) {
        if (c->e[i].dirty) {
            return true;
        }
    }
    return false;
}

/* Writes every dirty table (after the dependency); no disk flush. With nothing dirty
 * the dependency is simply dropped: whoever dirties a table that needs one sets it
 * again first, so dependencies never form a cycle through clean caches. */
int qcow2_cache_write(BDRVQcow2State *s, Qcow2Cache *c)
{
    int ret;

    if (!qcow2_cache_is_dirty(c)) {
        c->depends = NULL;
        return 0;
    }
    if ((ret = cache_resolve_dependency(s, c)) < 0) {
        return ret;
    }
    for (int i = 0; i < c->n; i++) {
        int r = cache_write_slot(s, c, i);
        if (r < 0 && ret == 0) {
            ret = r;
        }
    }
    return ret;
}

int qcow2_cache_flush(BDRVQcow2State *s, Qcow2Cache *c)
{
    int ret = qcow2_cache_write(s, c);

    if (ret == 0) {
        ret = bdrv_co_flush(s->file);
    }
    return ret;
}

/* From now on, tables of @c are written only after @dep is on disk. */
int qcow2_cache_set_dependency(BDRVQcow2State *s, Qcow2Cache *c, Qcow2Cache *dep)
{
    int ret;

    if (c->depends == dep) {
        return 0;
    }
    if (dep->depends && (ret = qcow2_cache_flush(s, dep)) < 0) {
        return ret;                     /* never let dependencies form a cycle */
    }
    g_assert(!dep->depends);
    if (c->depends && (ret = qcow2_cache_flush(s, c)) < 0) {
        return ret;
    }
    c->depends = dep;
    return 0;
}

/* The cluster at @off was freed: forget its table without writing it. */
void qcow2_cache_discard(Qcow2Cache *c, uint64_t off)
{
    gpointer v = g_hash_table_lookup(c->index, &off);

    if (v) {
        int i = GPOINTER_TO_INT(v) - 1;
        if (c->e[i].ref == 0) {
            slot_drop(c, i);
        } else {
            c->e[i].dirty = false;
        }
    }
}

/* Writes back and forgets everything (tables are about to change behind the cache). */
int qcow2_cache_empty(BDRVQcow2State *s, Qcow2Cache *c)
{
    int ret = qcow2_cache_write(s, c);

    if (ret < 0) {
        return ret;
    }
    for (int i = 0; i < c->n; i++) {
        if (c->e[i].ref == 0) {
            slot_drop(c, i);
        }
    }
    return 0;
}
