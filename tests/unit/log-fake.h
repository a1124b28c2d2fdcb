/*
 * A memory listener that does what KVM's dirty log does (accel/kvm/dirty.c), for unit
 * tests without KVM: it logs the RAM regions the memory core starts it on, "guest
 * writes" through fake_log_write() set their pages, and a sync hands the pages out
 * and re-arms them (clears its copy), as KVM_GET_DIRTY_LOG + KVM_CLEAR_DIRTY_LOG do.
 */
#ifndef TESTS_UNIT_LOG_FAKE_H
#define TESTS_UNIT_LOG_FAKE_H

#include "vireo/memory.h"
#include <errno.h>
#include <string.h>

typedef struct FakeLog {
    MemListener l;
    GHashTable *logged;         /* MemRegion * -> uint64_t bitmap (pages written) */
    unsigned starts, stops, syncs;
    int fail_start;             /* -errno log_start returns (0: succeed) */
} FakeLog;

static uint64_t fake_log_words(const MemRegion *r) { return (r->size / 4096 + 63) / 64; }

static int fake_log_start(MemListener *l, MemRegion *r)
{
    FakeLog *f = l->opaque;
    if (f->fail_start)
        return f->fail_start;
    g_assert_false(g_hash_table_contains(f->logged, r));    /* started once per client change */
    g_hash_table_insert(f->logged, r, g_new0(uint64_t, fake_log_words(r)));
    f->starts++;
    return 0;
}

static void fake_log_stop(MemListener *l, MemRegion *r)
{
    FakeLog *f = l->opaque;
    if (g_hash_table_remove(f->logged, r))
        f->stops++;
}

static int fake_log_sync(MemListener *l, MemRegion *r,
                         void (*fn)(MemRegion *r, const unsigned long *bitmap, void *opaque),
                         void *opaque)
{
    FakeLog *f = l->opaque;
    uint64_t *map = g_hash_table_lookup(f->logged, r);
    if (!map)
        return 0;
    g_autofree uint64_t *copy = g_memdup2(map, fake_log_words(r) * 8);
    memset(map, 0, fake_log_words(r) * 8);
    f->syncs++;
    fn(r, (const unsigned long *)copy, opaque);
    return 0;
}

static void fake_log_init(FakeLog *f)
{
    memset(f, 0, sizeof(*f));
    f->l.log_start = fake_log_start;
    f->l.log_stop = fake_log_stop;
    f->l.log_sync = fake_log_sync;
    f->l.opaque = f;
    f->logged = g_hash_table_new_full(NULL, NULL, NULL, g_free);
}

static void fake_log_free(FakeLog *f)
{
    g_hash_table_destroy(f->logged);
}

static bool fake_log_logging(FakeLog *f, MemRegion *r)
{
    return g_hash_table_contains(f->logged, r);
}

/* A guest write of @len bytes at @off of @r: the bytes change, logged pages are set. */
static void fake_log_write(FakeLog *f, MemRegion *r, uint64_t off, const void *data,
                           uint64_t len)
{
    memcpy((uint8_t *)r->ram + off, data, len);
    uint64_t *map = g_hash_table_lookup(f->logged, r);
    for (uint64_t p = off / 4096; map && len && p <= (off + len - 1) / 4096; p++)
        map[p / 64] |= 1ull << (p % 64);
}

#endif
