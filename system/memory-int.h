/*
 * The address space's insides, shared by system/memory.c (dispatch, regions,
 * listeners) and system/memory-log.c (dirty logging). Callers hold the big lock.
 */
#ifndef SYSTEM_MEMORY_INT_H
#define SYSTEM_MEMORY_INT_H

#include "vireo/memory.h"

struct AddressSpace {
    char *name;
    GPtrArray *regions;      /* MemRegion *, sorted by base, non-overlapping */
    GPtrArray *listeners;    /* MemListener * */
    bool logging;            /* migration's dirty logging is on (as_log_start) */
    MemDirtyFn *dirty_fn;    /* device writes into RAM while migrating */
    void *dirty_opaque;
    GPtrArray *display_regions; /* MemRegion * the display logs (as_log_display_start) */
};

/* Starts the listeners' logging of a mapped RAM region @mr when a client (migration:
 * as->logging, the display: mr->log_display) wants it and it is off, or stops it
 * (after a last harvest) when none does. Returns 0 or the -errno of a failed start
 * (the region is then not logged). */
int region_log_update(AddressSpace *as, MemRegion *mr);
/* Harvests and stops the logging of @mr (being unmapped). */
void region_log_off(AddressSpace *as, MemRegion *mr);

#endif
