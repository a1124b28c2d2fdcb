/*
 * User-creatable objects (-object, object-add, object-del): memory backends, secrets,
 * RNG backends, I/O threads, as QEMU 7.2 names them. A class is a static descriptor
 * (QOM type, property table, complete/finalize), like a DeviceClass; the instances hang
 * off the machine (m->objects) under their id, in QOM path /objects/ID.
 */
#ifndef VIREO_OBJECT_H
#define VIREO_OBJECT_H

#include <stdbool.h>
#include <json-glib/json-glib.h>
#include "vireo/qom.h"
#include "vireo/error.h"

typedef struct Machine Machine;
typedef struct Object Object;

typedef struct ObjectClass {
    QomType type;                      /* name, QOM parent, abstract, own properties */
    const struct ObjectClass *parent;  /* for inherited properties (NULL: none) */
    size_t instance_size;              /* >= sizeof(Object); Object first */
    void (*init)(Object *o);           /* before the properties; cannot fail */
    /* After the properties are set (QEMU's user_creatable_complete): may fail. */
    bool (*complete)(Object *o, GError **errp);
    void (*finalize)(Object *o);
} ObjectClass;

struct Object {
    const ObjectClass *cls;
    Machine *m;
    char *id;
    const char *used_by;               /* what holds it ("machine RAM"): not deletable */
};

/* Every object class, abstract ones included (system/object.c). */
const ObjectClass *const *object_classes(void);
const ObjectClass *object_class_find(const char *name);
const Property *object_class_find_prop(const ObjectClass *cls, const char *name);

/* Creates an object from a parsed -object / object-add ("qom-type", "id" and the
 * properties; @kv: keyval text), completes it and adds it to @m. Errors use QEMU's
 * words ("Parameter 'qom-type' does not accept value 'X'", "Invalid parameter 'K'",
 * "Duplicate ID 'ID' for object"). */
Object *object_create(Machine *m, JsonObject *o, bool kv, GError **errp);
/* The object @id of @m, or NULL. */
Object *object_find(Machine *m, const char *id);
/* The object @id when it is a @type (or derives from it); error naming both else. */
Object *object_find_typed(Machine *m, const char *id, const char *type, const char *what,
                          GError **errp);
/* object-del: refuses objects in use. */
bool object_delete(Machine *m, const char *id, GError **errp);
/* Frees every object (machine_free). */
void objects_free(Machine *m);
/* "-object help" and "-object TYPE,help" text. */
void object_print_help(const char *type, GString *out);

/* ---- memory backends (backends/hostmem.c) ---- */

typedef struct HostMemBackend {
    Object obj;
    uint64_t size;
    bool share, prealloc, dump, merge, reserve;
    /* memory-backend-memfd */
    bool hugetlb, seal;
    uint64_t hugetlbsize;
    /* memory-backend-file */
    char *mem_path;
    uint64_t align;
    bool discard_data, readonly, pmem;
    /* runtime */
    int fd;                            /* memfd/file, or -1 (anonymous) */
    void *ptr;                         /* mapped by machine_alloc_ram() */
} HostMemBackend;

/* Opens what the backend maps (memfd, file) with its size; -1 fd means anonymous. */
HostMemBackend *hostmem_from_object(Object *o);
/* Maps the backend's @size bytes at the (2 MiB aligned, reserved) address @at, and
 * applies dump/merge/prealloc. */
bool hostmem_map(HostMemBackend *b, void *at, GError **errp);
extern const ObjectClass memory_backend_class, memory_backend_ram_class,
                         memory_backend_memfd_class, memory_backend_file_class;

#endif
