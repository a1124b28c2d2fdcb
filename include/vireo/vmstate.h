/*
 * Declarative device state for migration and snapshots (after QEMU's VMState).
 *
 * A device describes its plain state struct (no pointers, no fds) with a field table.
 * The same table drives live migration, snapshot files and each device's round-trip
 * unit test. Integers are stored little-endian at their declared width; arrays are
 * @count elements of @size bytes. A field added in version N carries .version = N and
 * is neither sent to nor expected from an older stream.
 */
#ifndef VIREO_VMSTATE_H
#define VIREO_VMSTATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <glib.h>
#include "vireo/error.h"

typedef enum {
    VMS_UINT,      /* unsigned integer of @size bytes (1, 2, 4, 8) times @count */
    VMS_BUFFER,    /* raw bytes: @size * @count */
} VMStateType;

typedef struct VMStateField {
    const char *name;
    VMStateType type;
    size_t offset;
    size_t size;
    size_t count;      /* 0 is taken as 1 */
    int version;       /* first version with this field (0 = always) */
} VMStateField;

typedef struct VMStateDesc {
    const char *name;
    int version;
    int min_version;   /* oldest stream version this code can load */
    const VMStateField *fields;   /* terminated by a field with name == NULL */
} VMStateDesc;

#define VMS_FIELD(st, f) \
    { .name = #f, .type = VMS_UINT, .offset = offsetof(st, f), \
      .size = sizeof(((st *)0)->f), .count = 1 }
#define VMS_ARRAY(st, f) \
    { .name = #f, .type = VMS_UINT, .offset = offsetof(st, f), \
      .size = sizeof(((st *)0)->f[0]), \
      .count = sizeof(((st *)0)->f) / sizeof(((st *)0)->f[0]) }
#define VMS_BUF(st, f) \
    { .name = #f, .type = VMS_BUFFER, .offset = offsetof(st, f), \
      .size = sizeof(((st *)0)->f), .count = 1 }
#define VMS_END { .name = NULL }

/* Appends the encoding of @state to @out: name, version, then the fields. */
void vmstate_save(const VMStateDesc *d, const void *state, GByteArray *out);
/* Decodes one section from @buf; returns bytes consumed or -1 with @errp set
 * (wrong name, unsupported version, truncated data). */
ssize_t vmstate_load(const VMStateDesc *d, void *state, const uint8_t *buf, size_t len,
                     GError **errp);
/* Bytes vmstate_save() would produce for @d (fixed for a given version). */
size_t vmstate_size(const VMStateDesc *d);

#endif
