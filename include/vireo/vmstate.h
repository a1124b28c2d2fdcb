/*
 * Declarative device state for migration and snapshots (after QEMU's VMState).
 *
 * A device describes its plain state struct (no pointers, no fds) with a field table.
 * The same table drives live migration, snapshot files and each device's round-trip
 * unit test. Integers are stored little-endian at their declared width; arrays are
 * @count elements of @size bytes. A field added in version N carries .version = N and
 * is neither sent to nor expected from an older stream.
 *
 * Nested structs (VMS_STRUCT: one element or an array, e.g. the queues of a virtio
 * device) are encoded inline with their own field table. Optional state goes into
 * subsections (QEMU's idea): a subsection is sent only when its needed() says so, and a
 * loader that finds it absent keeps the device's reset value; an unknown subsection is
 * refused. After its fields (and subsections) are loaded, a description's post_load
 * validates them as strictly as a guest write would be: a stream is hostile input.
 *
 * State that is not Vireo's to describe field by field (a library's own serialised
 * state, such as libslirp's) travels as a VMS_BLOB: a byte string of variable length,
 * at most the field's @size, in a VMStateBlob of a transient struct that the owner
 * fills before vmstate_save() and consumes after vmstate_load() (its post_load checks
 * the bytes first). Such a struct is not a device's state struct: it holds a pointer.
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
    VMS_STRUCT,    /* @count structs of @size bytes, each described by @vmsd (inline) */
    VMS_BLOB,      /* one VMStateBlob of at most @size bytes: u32 LE length, the bytes */
} VMStateType;

/* A VMS_BLOB field's value. vmstate_load() replaces @data with a copy of the stream's
 * bytes (NULL when empty), also when the load then fails: free it with
 * vmstate_blob_clear(). The saver keeps @len within the field's @size. */
typedef struct VMStateBlob {
    uint8_t *data;
    uint32_t len;
} VMStateBlob;

typedef struct VMStateDesc VMStateDesc;

typedef struct VMStateField {
    const char *name;
    VMStateType type;
    size_t offset;
    size_t size;
    size_t count;      /* 0 is taken as 1 */
    int version;       /* first version with this field (0 = always) */
    const VMStateDesc *vmsd;   /* VMS_STRUCT: the element's fields (its name and version
                                * are not sent; the element takes the outer version) */
} VMStateField;

struct VMStateDesc {
    const char *name;
    int version;
    int min_version;   /* oldest stream version this code can load */
    const VMStateField *fields;   /* terminated by a field with name == NULL */
    /* Optional: checks the loaded @state (ranges, indices, consistency); false with
     * @errp set refuses the stream. Runs after the fields and subsections. */
    bool (*post_load)(void *state, int version, GError **errp);
    /* Optional: runs before the fields are loaded (e.g. to keep what post_load
     * compares the loaded values with). */
    void (*pre_load)(void *state);
    /* Subsections (NULL-terminated), each over the same state struct. */
    const VMStateDesc *const *subsections;
    /* For a subsection: whether to send it for @state. */
    bool (*needed)(const void *state);
};

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
#define VMS_STRUCT_FIELD(st, f, desc) \
    { .name = #f, .type = VMS_STRUCT, .offset = offsetof(st, f), \
      .size = sizeof(((st *)0)->f), .count = 1, .vmsd = &(desc) }
#define VMS_STRUCT_ARRAY(st, f, desc) \
    { .name = #f, .type = VMS_STRUCT, .offset = offsetof(st, f), \
      .size = sizeof(((st *)0)->f[0]), \
      .count = sizeof(((st *)0)->f) / sizeof(((st *)0)->f[0]), .vmsd = &(desc) }
#define VMS_BLOB_FIELD(st, f, max) \
    { .name = #f, .type = VMS_BLOB, .offset = offsetof(st, f), .size = (max), .count = 1 }
#define VMS_END { .name = NULL }

void vmstate_blob_clear(VMStateBlob *b);

/* Appends the encoding of @state to @out: name, version, then the fields. */
void vmstate_save(const VMStateDesc *d, const void *state, GByteArray *out);
/* Decodes one section from @buf; returns bytes consumed or -1 with @errp set
 * (wrong name, unsupported version, truncated data). */
ssize_t vmstate_load(const VMStateDesc *d, void *state, const uint8_t *buf, size_t len,
                     GError **errp);
/* Bytes vmstate_save() produces for @d without subsections (fixed for a version; for a
 * description with VMS_BLOB fields, the size with every blob empty). */
size_t vmstate_size(const VMStateDesc *d);
/* For post_load validators: sets "vmstate 'SECTION': MESSAGE" and returns false. */
bool vmstate_invalid(GError **errp, const char *section, const char *fmt, ...)
    G_GNUC_PRINTF(3, 4);

#endif
