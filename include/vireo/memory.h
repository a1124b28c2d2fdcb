/*
 * Memory dispatch: one address-space object per space (system memory, port I/O).
 *
 * An address space is a sorted, non-overlapping list of regions. Each region is either
 * RAM (a host pointer) or I/O (an ops table with read/write callbacks and an opaque).
 * Handlers get the offset from the region base, never the absolute address.
 * Lookups are binary searches over a snapshot array that is rebuilt on change.
 * Listeners (the KVM slot listener) are told when RAM regions come and go, and when
 * an I/O region's coalesced write range changes, so hw/ never issues a KVM ioctl.
 *
 * Locking: add/del/dispatch are called with the machine lock (BQL) held.
 */
#ifndef VIREO_MEMORY_H
#define VIREO_MEMORY_H

#include <stdbool.h>
#include <stdint.h>
#include <stddef.h>
#include <glib.h>
#include "vireo/error.h"

typedef struct MemOps {
    /* Returns the value read; size is 1, 2, 4 or 8 bytes. */
    uint64_t (*read)(void *opaque, uint64_t offset, unsigned size);
    void (*write)(void *opaque, uint64_t offset, uint64_t value, unsigned size);
    /* Access sizes the device accepts; 0 means 1 and 8. The dispatcher splits or
     * widens accesses outside [min,max] and rejects misaligned ones when aligned. */
    unsigned min_access, max_access;
    bool aligned;
} MemOps;

typedef struct MemRegion MemRegion;
typedef struct AddressSpace AddressSpace;

/* A write of @len bytes at @off (equal to @data when @match) signals eventfd @fd instead
 * of reaching the device's write callback: KVM does it without an exit (ioeventfd), the
 * dispatcher does it otherwise, so the device sees the same thing either way. */
typedef struct MemEventfd {
    uint64_t off;
    unsigned len;
    bool match;
    uint64_t data;
    int fd;
} MemEventfd;

struct MemRegion {
    const char *name;
    uint64_t base, size;
    const MemOps *ops;     /* NULL for RAM */
    void *opaque;
    void *ram;             /* host address of base, for RAM regions */
    bool readonly;         /* ROM: guest writes are dropped (RAM regions only) */
    bool mapped;           /* set while registered in an address space */
    AddressSpace *as;      /* the address space it is mapped in */
    /* Write coalescing (I/O regions): writes to [coalesce_off, +coalesce_len) may be
     * queued by the accelerator and delivered, in order, before the next access that
     * is not queued. Only for writes without side effects the guest can observe other
     * than through a later access (e.g. a UART's THR while its THRE interrupt is off).
     * A queued write's handler must not change coalescing itself. */
    uint64_t coalesce_off, coalesce_len;
    GArray *eventfds;      /* MemEventfd; NULL when none */
    /* Dirty logging (system/memory-log.c; RAM regions; kept by the memory core). */
    bool log_on;           /* the listeners log this mapping (for any client) */
    bool log_display;      /* the display client wants it logged (as_log_display_start) */
    uint64_t *display_dirty; /* display client: pages written since it last cleared them,
                              * bit i = page i (4 KiB); NULL while it does not log */
};

typedef struct MemListener MemListener;
struct MemListener {
    void (*region_add)(MemListener *l, MemRegion *r);
    void (*region_del)(MemListener *l, MemRegion *r);
    /* A mapped I/O region's coalesced range [addr, addr + len) (absolute addresses)
     * starts or stops, including on map/unmap and for regions mapped before the
     * listener was added. */
    void (*coalescing_add)(MemListener *l, MemRegion *r, uint64_t addr, uint64_t len);
    void (*coalescing_del)(MemListener *l, MemRegion *r, uint64_t addr, uint64_t len);
    /* The same for the eventfds of mapped I/O regions (@addr: absolute address). */
    void (*eventfd_add)(MemListener *l, MemRegion *r, const MemEventfd *e, uint64_t addr);
    void (*eventfd_del)(MemListener *l, MemRegion *r, const MemEventfd *e, uint64_t addr);
    /* Dirty logging of RAM regions (for migration and the display: the memory core
     * calls log_start once when the first client wants a region logged and log_stop
     * when the last one stops): start/stop tracking guest writes to @r, and hand the
     * pages written since the last sync to @fn (bit i of @bitmap: page i of @r, 4 KiB
     * pages, @bitmap covers r->size) while re-arming the tracking of exactly those
     * pages. Returns 0 or -errno. */
    int (*log_start)(MemListener *l, MemRegion *r);
    void (*log_stop)(MemListener *l, MemRegion *r);
    int (*log_sync)(MemListener *l, MemRegion *r,
                    void (*fn)(MemRegion *r, const unsigned long *bitmap, void *opaque),
                    void *opaque);
    void *opaque;
};

AddressSpace *as_new(const char *name);
void as_free(AddressSpace *as);
const char *as_name(const AddressSpace *as);

/* Initialises an I/O region (does not map it). */
void mr_init_io(MemRegion *mr, const char *name, uint64_t size, const MemOps *ops, void *opaque);
/* Initialises a RAM region backed by host memory at @host. */
void mr_init_ram(MemRegion *mr, const char *name, uint64_t size, void *host);

/* Sets (len > 0) or clears (len == 0) the coalesced write range of an I/O region;
 * listeners of its address space are told at once when it is mapped. */
void mr_set_coalescing(MemRegion *mr, uint64_t off, uint64_t len);

/* Adds / removes a write eventfd of an I/O region (see MemEventfd); listeners of its
 * address space hear of it at once when the region is mapped. */
void mr_add_eventfd(MemRegion *mr, uint64_t off, unsigned len, bool match, uint64_t data,
                    int fd);
void mr_del_eventfd(MemRegion *mr, uint64_t off, unsigned len, bool match, uint64_t data,
                    int fd);

/* Maps @mr at @base. Fails (with a message naming both regions) on overlap. */
bool as_add_region(AddressSpace *as, MemRegion *mr, uint64_t base, GError **errp);
/* Unmaps @mr; a no-op if it is not mapped. */
void as_del_region(AddressSpace *as, MemRegion *mr);
/* Registers a listener; it is told about every RAM region already mapped. */
void as_add_listener(AddressSpace *as, MemListener *l);
void as_del_listener(AddressSpace *as, MemListener *l);

/* Region that contains @addr, or NULL. */
MemRegion *as_find(AddressSpace *as, uint64_t addr);

/* Dispatches a guest access. Unassigned reads return all-ones; unassigned writes are
 * dropped. Returns false when nothing is mapped at @addr (for logging). */
bool as_read(AddressSpace *as, uint64_t addr, uint64_t *val, unsigned size);
bool as_write(AddressSpace *as, uint64_t addr, uint64_t val, unsigned size);

/* DMA helpers: guest-physical to host, only when [gpa, gpa+len) lies in RAM regions that
 * are contiguous in guest and host addresses (one host mapping split into regions).
 * Return NULL (never a pointer outside guest RAM) otherwise. */
void *as_ram_ptr(AddressSpace *as, uint64_t gpa, uint64_t len);
/* The same, and NULL for read-only (ROM) regions: for buffers a device writes into. */
void *as_ram_ptr_writable(AddressSpace *as, uint64_t gpa, uint64_t len);
/* Copy to/from guest RAM; false if any byte is outside RAM (nothing is copied then). */
bool as_dma_read(AddressSpace *as, uint64_t gpa, void *buf, uint64_t len);
bool as_dma_write(AddressSpace *as, uint64_t gpa, const void *buf, uint64_t len);

/* Calls @fn for each mapped region in address order. */
void as_foreach(AddressSpace *as, void (*fn)(MemRegion *r, void *opaque), void *opaque);

/*
 * Dirty tracking (system/memory-log.c) has two clients, as QEMU's DIRTY_MEMORY_MIGRATION
 * and DIRTY_MEMORY_VGA: migration (docs/migration.md) logs every RAM region, the
 * display (docs/display.md) one region, its video memory. A region is logged by the
 * listeners while either client wants it; stopping one never stops the other. Every
 * harvest of a region serves both: a migration sync ORs the region's pages into its
 * display bitmap, a display sync hands them to the migration's dirty hook.
 *
 * Guest writes are tracked by the accelerator through the listeners' log_* hooks;
 * writes the device models make into guest RAM (DMA: as_dma_write,
 * as_ram_ptr_writable, virtqueue pushes) are told to the dirty hook, which migration
 * installs while it runs. The hook gets host addresses and may be called from any
 * thread holding the big lock.
 */
typedef void MemDirtyFn(void *opaque, const void *host, uint64_t len);
void as_set_dirty_hook(AddressSpace *as, MemDirtyFn *fn, void *opaque);
/* Marks [host, host + len) of guest RAM written by a device (no-op without a hook). */
void as_mark_dirty(AddressSpace *as, const void *host, uint64_t len);
/* Starts (every listener that can) / stops dirty logging of every RAM region mapped
 * now or later. Returns 0 or the first -errno (logging is then stopped again). */
int as_log_start(AddressSpace *as);
void as_log_stop(AddressSpace *as);
bool as_log_active(AddressSpace *as);
/* For each logged RAM region: @fn with the pages written since the last sync. */
int as_log_sync(AddressSpace *as,
                void (*fn)(MemRegion *r, const unsigned long *bitmap, void *opaque),
                void *opaque);

/*
 * The display client, for one RAM region @mr of @as (mapped now or later):
 *   as_log_display_start()   at the first display listener: @mr is logged from now on;
 *                            its display bitmap starts all set
 *   as_log_display_sync()    each refresh: harvests the guest's writes into the bitmap
 *   mr_display_dirty()       which pages changed
 *   mr_display_clear()       after drawing them
 *   as_log_display_stop()    at the last listener's departure
 * Sync returns -ENOTSUP when the bitmap cannot be trusted: no listener logs dirty pages
 * (no accelerator: unit tests) or starting failed; -errno when harvesting failed (the
 * bitmap is then all set). The caller then compares everything, as without logging.
 * A device model writing into @mr itself tells the bitmap with mr_display_mark().
 */
int as_log_display_start(AddressSpace *as, MemRegion *mr);
void as_log_display_stop(AddressSpace *as, MemRegion *mr);
int as_log_display_sync(AddressSpace *as, MemRegion *mr);
/* Marks [off, off + len) of @mr written (no-op while the display does not log it). */
void mr_display_mark(MemRegion *mr, uint64_t off, uint64_t len);
/* Whether a page touching [off, off + len) of @mr is marked (true when not logging). */
bool mr_display_dirty(const MemRegion *mr, uint64_t off, uint64_t len);
void mr_display_clear(MemRegion *mr);

#endif
