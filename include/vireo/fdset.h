/*
 * File descriptor sets (QEMU's add-fd / -add-fd, query-fdsets, remove-fd): descriptors
 * a management tool hands over, grouped by set id, on the machine (m->fdsets).
 */
#ifndef VIREO_FDSET_H
#define VIREO_FDSET_H
#include <stdbool.h>
#include <stdint.h>
#include "vireo/error.h"
typedef struct Machine Machine;

typedef struct FdSetEntry {
    int fd;
    char *opaque;
} FdSetEntry;

typedef struct FdSet {
    int64_t id;
    GArray *fds;                 /* FdSetEntry */
} FdSet;

/* Adds @fd (owned from now on) to set @id (-1: a new set with the lowest free id).
 * Returns the set id, or -1 with @errp set. */
int64_t fdset_add(Machine *m, int64_t id, int fd, const char *opaque, GError **errp);
/* Closes @fd of set @id (every fd when @fd < 0); errors in QEMU's words. */
bool fdset_remove(Machine *m, int64_t id, int64_t fd, GError **errp);
void fdsets_free(Machine *m);
/* "-add-fd fd=N,set=M[,opaque=S]": an inherited descriptor, duplicated. */
bool fdset_add_option(Machine *m, const char *spec, GError **errp);
#endif
