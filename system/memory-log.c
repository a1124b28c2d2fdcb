/*
 * Dirty logging of RAM regions for its two clients (include/vireo/memory.h): migration,
 * which logs every RAM region of the address space (as_log_start), and the display,
 * which logs its video memory (as_log_display_start). The memory core decides when the
 * listeners (the KVM slot listener: KVM_MEM_LOG_DIRTY_PAGES) log a region: while either
 * client wants it (mr->log_on). A harvest hands each region's pages to both clients,
 * whoever asked for it, because the accelerator re-arms what it reports: a page a sync
 * for one client took is never reported again for the other.
 */
#include "memory-int.h"
#include <errno.h>
#include <string.h>

#define PAGE_SHIFT 12

static uint64_t region_pages(const MemRegion *mr)
{
    return (mr->size + (1u << PAGE_SHIFT) - 1) >> PAGE_SHIFT;
}

static uint64_t region_words(const MemRegion *mr)
{
    return (region_pages(mr) + 63) / 64;
}

static void display_set_all(MemRegion *mr)
{
    if (mr->display_dirty)
        memset(mr->display_dirty, 0xff, region_words(mr) * 8);
}

/* ORs a harvested log into the region's display bitmap (when the display logs it). */
static void display_or(MemRegion *r, const unsigned long *bitmap)
{
    const uint64_t *src = (const uint64_t *)bitmap;
    for (uint64_t w = 0; r->display_dirty && w < region_words(r); w++)
        r->display_dirty[w] |= src[w];
}

/* Hands the pages set in @map to migration's dirty hook, a run of pages per call. */
static void migration_mark(AddressSpace *as, MemRegion *r, const uint64_t *map)
{
    uint64_t pages = region_pages(r);
    if (!__atomic_load_n(&as->dirty_fn, __ATOMIC_ACQUIRE))
        return;
    for (uint64_t p = 0; p < pages;) {
        if (!(map[p / 64] >> (p % 64) & 1)) {
            p = map[p / 64] >> (p % 64) ? p + 1 : (p / 64 + 1) * 64;
            continue;
        }
        uint64_t q = p;
        while (q < pages && map[q / 64] >> (q % 64) & 1)
            q++;
        uint64_t off = p << PAGE_SHIFT;
        as_mark_dirty(as, (uint8_t *)r->ram + off, MIN((q - p) << PAGE_SHIFT, r->size - off));
        p = q;
    }
}

/* A harvest outside migration's own syncs (the display's, an unmap's): both clients. */
static void harvest_cb(MemRegion *r, const unsigned long *bitmap, void *opaque)
{
    display_or(r, bitmap);
    migration_mark(opaque, r, (const uint64_t *)bitmap);
}

static int region_harvest(AddressSpace *as, MemRegion *mr)
{
    for (guint j = 0; j < as->listeners->len; j++) {
        MemListener *l = as->listeners->pdata[j];
        int e = l->log_sync ? l->log_sync(l, mr, harvest_cb, as) : 0;
        if (e < 0)
            return e;
    }
    return 0;
}

static int listeners_log_start(AddressSpace *as, MemRegion *mr)
{
    for (guint j = 0; j < as->listeners->len; j++) {
        MemListener *l = as->listeners->pdata[j];
        int e = l->log_start ? l->log_start(l, mr) : 0;
        if (e < 0) {
            for (guint k = 0; k < j; k++) {
                MemListener *o = as->listeners->pdata[k];
                if (o->log_stop)
                    o->log_stop(o, mr);
            }
            return e;
        }
    }
    return 0;
}

int region_log_update(AddressSpace *as, MemRegion *mr)
{
    bool want = mr->ram && mr->mapped && mr->as == as && (as->logging || mr->log_display);
    if (want == mr->log_on)
        return 0;
    if (!want) {
        region_log_off(as, mr);
        return 0;
    }
    int e = listeners_log_start(as, mr);
    mr->log_on = e == 0;
    return e;
}

void region_log_off(AddressSpace *as, MemRegion *mr)
{
    if (!mr->log_on)
        return;
    /* The last pages go to whoever still counts them (a display bitmap that outlives
     * the logging, a migration that runs on while a BAR moves). */
    if ((mr->display_dirty || __atomic_load_n(&as->dirty_fn, __ATOMIC_ACQUIRE)) &&
        region_harvest(as, mr) < 0)
        display_set_all(mr);
    for (guint j = 0; j < as->listeners->len; j++) {
        MemListener *l = as->listeners->pdata[j];
        if (l->log_stop)
            l->log_stop(l, mr);
    }
    mr->log_on = false;
}

/* ---- migration ------------------------------------------------------------------------ */

void as_set_dirty_hook(AddressSpace *as, MemDirtyFn *fn, void *opaque)
{
    __atomic_store_n(&as->dirty_opaque, opaque, __ATOMIC_RELAXED);
    __atomic_store_n(&as->dirty_fn, fn, __ATOMIC_RELEASE);
}

void as_mark_dirty(AddressSpace *as, const void *host, uint64_t len)
{
    MemDirtyFn *fn = __atomic_load_n(&as->dirty_fn, __ATOMIC_ACQUIRE);
    if (fn && len)
        fn(__atomic_load_n(&as->dirty_opaque, __ATOMIC_RELAXED), host, len);
    for (guint i = 0; len && as->display_regions && i < as->display_regions->len; i++) {
        MemRegion *r = as->display_regions->pdata[i];
        const uint8_t *p = host, *ram = r->ram;
        if (p + len > ram && p < ram + r->size) {       /* a device wrote video memory */
            uint64_t off = p > ram ? (uint64_t)(p - ram) : 0;
            mr_display_mark(r, off, MIN((uint64_t)(p + len - ram), r->size) - off);
        }
    }
}

bool as_log_active(AddressSpace *as) { return as->logging; }

static void update_all(AddressSpace *as)
{
    for (guint i = 0; i < as->regions->len; i++)
        region_log_update(as, as->regions->pdata[i]);
}

int as_log_start(AddressSpace *as)
{
    if (as->logging)
        return 0;
    as->logging = true;
    for (guint i = 0; i < as->regions->len; i++) {
        int e = region_log_update(as, as->regions->pdata[i]);
        if (e < 0) {
            as->logging = false;
            update_all(as);             /* stops what started, the display's stays */
            return e;
        }
    }
    return 0;
}

void as_log_stop(AddressSpace *as)
{
    if (!as->logging)
        return;
    as->logging = false;
    update_all(as);
}

typedef struct SyncCtx {
    void (*fn)(MemRegion *r, const unsigned long *bitmap, void *opaque);
    void *opaque;
} SyncCtx;

/* Migration's harvest: the display's bitmap gets the pages too. */
static void sync_cb(MemRegion *r, const unsigned long *bitmap, void *opaque)
{
    SyncCtx *c = opaque;
    display_or(r, bitmap);
    c->fn(r, bitmap, c->opaque);
}

int as_log_sync(AddressSpace *as,
                void (*fn)(MemRegion *r, const unsigned long *bitmap, void *opaque),
                void *opaque)
{
    SyncCtx c = { fn, opaque };
    for (guint i = 0; as->logging && i < as->regions->len; i++) {
        MemRegion *r = as->regions->pdata[i];
        for (guint j = 0; r->log_on && j < as->listeners->len; j++) {
            MemListener *l = as->listeners->pdata[j];
            int e = l->log_sync ? l->log_sync(l, r, sync_cb, &c) : 0;
            if (e < 0)
                return e;
        }
    }
    return 0;
}

/* ---- the display ---------------------------------------------------------------------- */

static bool has_log_listener(AddressSpace *as)
{
    for (guint j = 0; j < as->listeners->len; j++) {
        MemListener *l = as->listeners->pdata[j];
        if (l->log_start && l->log_sync)
            return true;
    }
    return false;
}

/* Every guest write to @mr since the display started is in its bitmap or the log:
 * some listener logs, and the region is logged while mapped (unmapped, the guest
 * cannot write it, and device models mark what they write). */
static bool display_usable(AddressSpace *as, const MemRegion *mr)
{
    return mr->log_display && has_log_listener(as) &&
           (!mr->mapped || (mr->as == as && mr->log_on));
}

int as_log_display_start(AddressSpace *as, MemRegion *mr)
{
    if (!mr->ram)
        return -EINVAL;
    if (!mr->log_display) {
        mr->log_display = true;
        mr->display_dirty = g_new0(uint64_t, region_words(mr));
        display_set_all(mr);
        if (!as->display_regions)
            as->display_regions = g_ptr_array_new();
        g_ptr_array_add(as->display_regions, mr);
        int e = region_log_update(as, mr);
        if (e < 0)
            return e;
    }
    return display_usable(as, mr) ? 0 : -ENOTSUP;
}

void as_log_display_stop(AddressSpace *as, MemRegion *mr)
{
    if (!mr->log_display)
        return;
    mr->log_display = false;
    g_ptr_array_remove(as->display_regions, mr);
    g_clear_pointer(&mr->display_dirty, g_free);
    region_log_update(as, mr);          /* off unless migration logs it */
}

int as_log_display_sync(AddressSpace *as, MemRegion *mr)
{
    if (!display_usable(as, mr))
        return -ENOTSUP;
    int e = mr->log_on ? region_harvest(as, mr) : 0;
    if (e < 0)
        display_set_all(mr);            /* what the failed harvest held is unknown */
    return e;
}

void mr_display_mark(MemRegion *mr, uint64_t off, uint64_t len)
{
    if (!mr->display_dirty || !len || off >= mr->size)
        return;
    len = MIN(len, mr->size - off);
    for (uint64_t p = off >> PAGE_SHIFT; p <= (off + len - 1) >> PAGE_SHIFT; p++)
        mr->display_dirty[p / 64] |= 1ull << (p % 64);
}

bool mr_display_dirty(const MemRegion *mr, uint64_t off, uint64_t len)
{
    if (!mr->display_dirty)
        return true;
    if (!len || off >= mr->size)
        return false;
    len = MIN(len, mr->size - off);
    for (uint64_t p = off >> PAGE_SHIFT; p <= (off + len - 1) >> PAGE_SHIFT; p++)
        if (mr->display_dirty[p / 64] >> (p % 64) & 1)
            return true;
    return false;
}

void mr_display_clear(MemRegion *mr)
{
    if (mr->display_dirty)
        memset(mr->display_dirty, 0, region_words(mr) * 8);
}
