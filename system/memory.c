/*
 * Memory dispatch (include/vireo/memory.h): one sorted, non-overlapping region list per
 * address space, binary-searched on every access. Callers hold the big lock.
 */
#include "memory-int.h"
#include <string.h>
#include <unistd.h>

AddressSpace *as_new(const char *name)
{
    AddressSpace *as = g_new0(AddressSpace, 1);
    as->name = g_strdup(name);
    as->regions = g_ptr_array_new();
    as->listeners = g_ptr_array_new();
    return as;
}

void as_free(AddressSpace *as)
{
    if (!as)
        return;
    for (guint i = 0; i < as->regions->len; i++) {
        MemRegion *r = as->regions->pdata[i];
        r->mapped = false;
        r->as = NULL;
    }
    g_ptr_array_free(as->regions, TRUE);
    g_ptr_array_free(as->listeners, TRUE);
    if (as->display_regions)
        g_ptr_array_free(as->display_regions, TRUE);
    g_free(as->name);
    g_free(as);
}

const char *as_name(const AddressSpace *as) { return as->name; }

void mr_init_io(MemRegion *mr, const char *name, uint64_t size, const MemOps *ops,
                void *opaque)
{
    memset(mr, 0, sizeof(*mr));
    mr->name = name;
    mr->size = size;
    mr->ops = ops;
    mr->opaque = opaque;
}

void mr_init_ram(MemRegion *mr, const char *name, uint64_t size, void *host)
{
    memset(mr, 0, sizeof(*mr));
    mr->name = name;
    mr->size = size;
    mr->ram = host;
}

static void notify_coalescing(AddressSpace *as, MemListener *only, MemRegion *mr, bool add)
{
    if (!mr->coalesce_len)
        return;
    for (guint j = 0; j < as->listeners->len; j++) {
        MemListener *l = as->listeners->pdata[j];
        if (only && l != only)
            continue;
        if (add && l->coalescing_add)
            l->coalescing_add(l, mr, mr->base + mr->coalesce_off, mr->coalesce_len);
        else if (!add && l->coalescing_del)
            l->coalescing_del(l, mr, mr->base + mr->coalesce_off, mr->coalesce_len);
    }
}

static void notify_eventfd(AddressSpace *as, MemListener *only, MemRegion *mr,
                           const MemEventfd *e, bool add)
{
    for (guint j = 0; j < as->listeners->len; j++) {
        MemListener *l = as->listeners->pdata[j];
        if (only && l != only)
            continue;
        if (add && l->eventfd_add)
            l->eventfd_add(l, mr, e, mr->base + e->off);
        else if (!add && l->eventfd_del)
            l->eventfd_del(l, mr, e, mr->base + e->off);
    }
}

static void notify_eventfds(AddressSpace *as, MemListener *only, MemRegion *mr, bool add)
{
    for (guint i = 0; mr->eventfds && i < mr->eventfds->len; i++)
        notify_eventfd(as, only, mr, &g_array_index(mr->eventfds, MemEventfd, i), add);
}

void mr_add_eventfd(MemRegion *mr, uint64_t off, unsigned len, bool match, uint64_t data,
                    int fd)
{
    MemEventfd e = { off, len, match, data, fd };
    g_assert(!mr->ram && off < mr->size && len <= mr->size - off);
    if (!mr->eventfds)
        mr->eventfds = g_array_new(FALSE, FALSE, sizeof(MemEventfd));
    g_array_append_val(mr->eventfds, e);
    if (mr->mapped)
        notify_eventfd(mr->as, NULL, mr, &e, true);
}

void mr_del_eventfd(MemRegion *mr, uint64_t off, unsigned len, bool match, uint64_t data,
                    int fd)
{
    for (guint i = 0; mr->eventfds && i < mr->eventfds->len; i++) {
        MemEventfd *e = &g_array_index(mr->eventfds, MemEventfd, i);
        if (e->off != off || e->len != len || e->match != match || e->data != data ||
            e->fd != fd)
            continue;
        if (mr->mapped)
            notify_eventfd(mr->as, NULL, mr, e, false);
        g_array_remove_index(mr->eventfds, i);
        break;
    }
    if (mr->eventfds && mr->eventfds->len == 0) {
        g_array_free(mr->eventfds, TRUE);
        mr->eventfds = NULL;
    }
}

/* The dispatcher's own ioeventfd: true when the write went to an eventfd. */
static bool write_eventfd(MemRegion *r, uint64_t off, uint64_t val, unsigned size)
{
    for (guint i = 0; r->eventfds && i < r->eventfds->len; i++) {
        const MemEventfd *e = &g_array_index(r->eventfds, MemEventfd, i);
        if (e->off == off && e->len == size && (!e->match || e->data == val)) {
            uint64_t one = 1;
            if (write(e->fd, &one, sizeof(one)) < 0) {
                /* EAGAIN: the counter is saturated, a wake-up is pending anyway */
            }
            return true;
        }
    }
    return false;
}

void mr_set_coalescing(MemRegion *mr, uint64_t off, uint64_t len)
{
    g_assert(!mr->ram && (len == 0 || (off < mr->size && len <= mr->size - off)));
    if (mr->coalesce_off == off && mr->coalesce_len == len)
        return;
    if (mr->mapped)
        notify_coalescing(mr->as, NULL, mr, false);
    mr->coalesce_off = len ? off : 0;
    mr->coalesce_len = len;
    if (mr->mapped)
        notify_coalescing(mr->as, NULL, mr, true);
}

/* Index of the first region whose end is above @addr (may be regions->len). */
static guint as_lower_bound(AddressSpace *as, uint64_t addr)
{
    guint lo = 0, hi = as->regions->len;
    while (lo < hi) {
        guint mid = (lo + hi) / 2;
        MemRegion *r = as->regions->pdata[mid];
        if (r->base + r->size - 1 < addr)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

bool as_add_region(AddressSpace *as, MemRegion *mr, uint64_t base, GError **errp)
{
    if (mr->size == 0 || base + mr->size - 1 < base) {
        g_set_error(errp, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                    "%s: region '%s' at 0x%" G_GINT64_MODIFIER "x has an invalid size",
                    as->name, mr->name, base);
        return false;
    }
    if (mr->mapped) {
        g_set_error(errp, G_IO_ERROR, G_IO_ERROR_EXISTS,
                    "%s: region '%s' is already mapped", as->name, mr->name);
        return false;
    }
    guint i = as_lower_bound(as, base);
    if (i < as->regions->len) {
        MemRegion *r = as->regions->pdata[i];
        if (r->base <= base + mr->size - 1) {
            g_set_error(errp, G_IO_ERROR, G_IO_ERROR_EXISTS,
                        "%s: region '%s' [0x%" G_GINT64_MODIFIER "x, 0x%" G_GINT64_MODIFIER
                        "x] overlaps '%s' [0x%" G_GINT64_MODIFIER "x, 0x%" G_GINT64_MODIFIER "x]",
                        as->name, mr->name, base, base + mr->size - 1,
                        r->name, r->base, r->base + r->size - 1);
            return false;
        }
    }
    mr->base = base;
    mr->mapped = true;
    mr->as = as;
    g_ptr_array_insert(as->regions, i, mr);
    notify_coalescing(as, NULL, mr, true);
    notify_eventfds(as, NULL, mr, true);
    if (mr->ram) {
        for (guint j = 0; j < as->listeners->len; j++) {
            MemListener *l = as->listeners->pdata[j];
            if (l->region_add)
                l->region_add(l, mr);
        }
        if (region_log_update(as, mr) < 0)
            g_warning("%s: dirty logging of '%s' failed: its writes are not tracked",
                      as->name, mr->name);
    }
    return true;
}

void as_del_region(AddressSpace *as, MemRegion *mr)
{
    if (!mr->mapped || !g_ptr_array_remove(as->regions, mr))
        return;
    mr->mapped = false;
    mr->as = NULL;
    notify_coalescing(as, NULL, mr, false);
    notify_eventfds(as, NULL, mr, false);
    if (mr->ram) {
        region_log_off(as, mr);         /* harvests first: an unmap loses no write */
        for (guint j = 0; j < as->listeners->len; j++) {
            MemListener *l = as->listeners->pdata[j];
            if (l->region_del)
                l->region_del(l, mr);
        }
    }
}

void as_add_listener(AddressSpace *as, MemListener *l)
{
    g_ptr_array_add(as->listeners, l);
    for (guint i = 0; i < as->regions->len; i++) {
        MemRegion *r = as->regions->pdata[i];
        if (r->ram && l->region_add)
            l->region_add(l, r);
        notify_coalescing(as, l, r, true);
        notify_eventfds(as, l, r, true);
    }
}

void as_del_listener(AddressSpace *as, MemListener *l)
{
    g_ptr_array_remove(as->listeners, l);
}

MemRegion *as_find(AddressSpace *as, uint64_t addr)
{
    guint i = as_lower_bound(as, addr);
    if (i < as->regions->len) {
        MemRegion *r = as->regions->pdata[i];
        if (r->base <= addr)
            return r;
    }
    return NULL;
}

static void ops_limits(const MemOps *ops, unsigned *min, unsigned *max)
{
    *min = ops->min_access ? ops->min_access : 1;
    *max = ops->max_access ? ops->max_access : 8;
}

/* One access of @size bytes at @off, split into pieces the device accepts
 * (little-endian composition, as x86 does). */
static uint64_t io_read(MemRegion *r, uint64_t off, unsigned size)
{
    unsigned min, max;
    ops_limits(r->ops, &min, &max);
    if (!r->ops->read)
        return ~0ULL;
    if (size >= min && size <= max)
        return r->ops->read(r->opaque, off, size);
    if (size < min) {
        uint64_t base = off & ~(uint64_t)(min - 1);
        uint64_t v = r->ops->read(r->opaque, base, min);
        return v >> ((off - base) * 8);
    }
    uint64_t v = 0;
    for (unsigned i = 0; i < size; i += max)
        v |= r->ops->read(r->opaque, off + i, max) << (i * 8);
    return v;
}

static void io_write(MemRegion *r, uint64_t off, uint64_t val, unsigned size)
{
    unsigned min, max;
    ops_limits(r->ops, &min, &max);
    if (!r->ops->write)
        return;
    if (size >= min && size <= max) {
        r->ops->write(r->opaque, off, val, size);
    } else if (size < min) {
        /* Read-modify-write of the smallest access the device takes. */
        uint64_t base = off & ~(uint64_t)(min - 1);
        unsigned sh = (off - base) * 8;
        uint64_t mask = (size == 8 ? ~0ULL : ((1ULL << (size * 8)) - 1)) << sh;
        uint64_t old = r->ops->read ? r->ops->read(r->opaque, base, min) : 0;
        r->ops->write(r->opaque, base, (old & ~mask) | ((val << sh) & mask), min);
    } else {
        for (unsigned i = 0; i < size; i += max)
            r->ops->write(r->opaque, off + i, val >> (i * 8), max);
    }
}

static uint64_t size_mask(unsigned size)
{
    return size >= 8 ? ~0ULL : (1ULL << (size * 8)) - 1;
}

/* [addr, addr + size) lies inside @r (r->base <= addr is known). Written so that
 * nothing wraps, even for a region that ends at the top of the address space. */
static bool in_region(const MemRegion *r, uint64_t addr, uint64_t size)
{
    return size <= r->size && addr - r->base <= r->size - size;
}

bool as_read(AddressSpace *as, uint64_t addr, uint64_t *val, unsigned size)
{
    MemRegion *r = as_find(as, addr);
    if (!r || !in_region(r, addr, size) ||
        (r->ops && r->ops->aligned && (addr & (size - 1)))) {
        *val = size_mask(size);
        return false;
    }
    uint64_t off = addr - r->base;
    if (r->ram) {
        uint64_t v = 0;
        memcpy(&v, (uint8_t *)r->ram + off, size);
        *val = v;
        return true;
    }
    *val = io_read(r, off, size) & size_mask(size);
    return true;
}

bool as_write(AddressSpace *as, uint64_t addr, uint64_t val, unsigned size)
{
    MemRegion *r = as_find(as, addr);
    if (!r || !in_region(r, addr, size) ||
        (r->ops && r->ops->aligned && (addr & (size - 1))))
        return false;
    uint64_t off = addr - r->base;
    if (r->ram) {
        if (!r->readonly)
            memcpy((uint8_t *)r->ram + off, &val, size);
        return true;
    }
    if (r->eventfds && write_eventfd(r, off, val & size_mask(size), size))
        return true;
    io_write(r, off, val & size_mask(size), size);
    return true;
}

/* Host pointer for [gpa, gpa+len) when it lies in RAM regions that follow each other
 * both in guest and in host addresses (e.g. low RAM and the i440FX shadow segments,
 * which are separate regions over one host mapping); NULL otherwise, and when
 * @writable and one of them is read-only. */
static void *ram_span(AddressSpace *as, uint64_t gpa, uint64_t len, bool writable)
{
    if (len == 0 || gpa + len - 1 < gpa)        /* empty, or wraps around */
        return NULL;
    guint i = as_lower_bound(as, gpa);
    if (i >= as->regions->len)
        return NULL;
    MemRegion *first = as->regions->pdata[i], *r = first;
    if (r->base > gpa || !r->ram)
        return NULL;
    uint64_t last = gpa + len - 1;
    for (;;) {
        if (writable && r->readonly)
            return NULL;
        if (last <= r->base + r->size - 1)
            return (uint8_t *)first->ram + (gpa - first->base);
        if (++i >= as->regions->len)
            return NULL;
        MemRegion *n = as->regions->pdata[i];
        if (!n->ram || n->base != r->base + r->size ||
            (uint8_t *)n->ram != (uint8_t *)r->ram + r->size)
            return NULL;
        r = n;
    }
}

void *as_ram_ptr(AddressSpace *as, uint64_t gpa, uint64_t len)
{
    return ram_span(as, gpa, len, false);
}

void *as_ram_ptr_writable(AddressSpace *as, uint64_t gpa, uint64_t len)
{
    void *p = ram_span(as, gpa, len, true);
    if (p)
        as_mark_dirty(as, p, len);  /* the caller writes there (now or soon) */
    return p;
}

bool as_dma_read(AddressSpace *as, uint64_t gpa, void *buf, uint64_t len)
{
    if (len == 0)
        return true;
    void *p = as_ram_ptr(as, gpa, len);
    if (!p)
        return false;
    memcpy(buf, p, len);
    return true;
}

bool as_dma_write(AddressSpace *as, uint64_t gpa, const void *buf, uint64_t len)
{
    if (len == 0)
        return true;
    void *p = as_ram_ptr_writable(as, gpa, len);
    if (!p)
        return false;
    memcpy(p, buf, len);
    return true;
}

void as_foreach(AddressSpace *as, void (*fn)(MemRegion *r, void *opaque), void *opaque)
{
    for (guint i = 0; i < as->regions->len; i++)
        fn(as->regions->pdata[i], opaque);
}

