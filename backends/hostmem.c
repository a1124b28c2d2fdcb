/*
 * Memory backends (QEMU 7.2's memory-backend-ram, -memfd, -file): what guest RAM is
 * made of. A backend opens its memory at completion (memfd, file); the board maps it
 * with hostmem_map() at a 2 MiB-aligned address it reserved (hw/core/machine-ram.c),
 * where dump/merge/prealloc are applied. -machine memory-backend=ID picks one for the
 * machine's RAM; without it the machine makes its own (machine-ram.c).
 */
#include "vireo/object.h"
#include "vireo/machine.h"
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#ifndef MFD_HUGE_SHIFT
#define MFD_HUGE_SHIFT 26             /* linux/memfd.h: log2(page size) in bits 26.. */
#endif
#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23        /* Linux 5.14 */
#endif

HostMemBackend *hostmem_from_object(Object *o)
{
    return o && qom_type_is_a(o->cls->type.name, "memory-backend") ? (HostMemBackend *)o
                                                                    : NULL;
}

static bool fail(GError **errp, HostMemBackend *b, const char *what, int err)
{
    g_set_error(errp, G_IO_ERROR, g_io_error_from_errno(err), "memory backend '%s': %s: %s",
                b->obj.id, what, g_strerror(err));
    return false;
}

/* Touches every page (QEMU's prealloc), by the kernel when it can. */
static bool prealloc(HostMemBackend *b, uint8_t *p, GError **errp)
{
    if (madvise(p, b->size, MADV_POPULATE_WRITE) == 0)
        return true;
    if (errno != EINVAL)
        return fail(errp, b, "preallocating", errno);
    long page = sysconf(_SC_PAGESIZE);
    for (uint64_t off = 0; off < b->size; off += page)
        *(volatile uint8_t *)(p + off) = *(volatile uint8_t *)(p + off);
    return true;
}

bool hostmem_map(HostMemBackend *b, void *at, GError **errp)
{
    int prot = PROT_READ | (b->readonly ? 0 : PROT_WRITE);
    int flags = (b->share ? MAP_SHARED : MAP_PRIVATE) | MAP_FIXED |
                (b->reserve ? 0 : MAP_NORESERVE) | (b->fd < 0 ? MAP_ANONYMOUS : 0);
    void *p = mmap(at, b->size, prot, flags, b->fd, 0);
    if (p == MAP_FAILED)
        return fail(errp, b, "mapping", errno);
    b->ptr = p;
    if (!b->hugetlb)
        madvise(p, b->size, MADV_HUGEPAGE);
    if (!b->dump)
        madvise(p, b->size, MADV_DONTDUMP);
    if (b->merge)
        madvise(p, b->size, MADV_MERGEABLE);
    return !b->prealloc || prealloc(b, p, errp);
}

static bool backend_check(HostMemBackend *b, GError **errp)
{
    if (!b->size) {
        g_set_error(errp, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                    "Parameter 'size' is missing");
        return false;
    }
    return true;
}

static void backend_init(Object *o)
{
    ((HostMemBackend *)o)->fd = -1;
}

static bool ram_complete(Object *o, GError **errp)
{
    return backend_check((HostMemBackend *)o, errp);
}

static bool memfd_complete(Object *o, GError **errp)
{
    HostMemBackend *b = (HostMemBackend *)o;
    if (!backend_check(b, errp))
        return false;
    unsigned flags = MFD_CLOEXEC | (b->seal ? MFD_ALLOW_SEALING : 0);
    if (b->hugetlb) {
        flags |= MFD_HUGETLB;
        if (b->hugetlbsize) {
            if (b->hugetlbsize & (b->hugetlbsize - 1)) {
                g_set_error(errp, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                            "memory backend '%s': hugetlbsize must be a power of two",
                            o->id);
                return false;
            }
            flags |= (unsigned)g_bit_nth_lsf(b->hugetlbsize, -1) << MFD_HUGE_SHIFT;
        }
    } else if (b->hugetlbsize) {
        g_set_error(errp, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                    "memory backend '%s': hugetlbsize needs hugetlb=on", o->id);
        return false;
    }
    b->fd = memfd_create(o->id, flags);
    if (b->fd < 0)
        return fail(errp, b, "memfd_create", errno);
    if (ftruncate(b->fd, b->size) < 0)
        return fail(errp, b, "sizing the memfd", errno);
    /* seal=on (QEMU's default): the size can no longer change. */
    if (b->seal && fcntl(b->fd, F_ADD_SEALS, F_SEAL_GROW | F_SEAL_SHRINK | F_SEAL_SEAL) < 0)
        return fail(errp, b, "sealing the memfd", errno);
    return true;
}

static bool file_complete(Object *o, GError **errp)
{
    HostMemBackend *b = (HostMemBackend *)o;
    struct stat st;
    if (!backend_check(b, errp))
        return false;
    if (!b->mem_path || !*b->mem_path) {
        g_set_error(errp, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                    "Parameter 'mem-path' is missing");
        return false;
    }
    if (b->pmem) {
        g_set_error(errp, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED,
                    "memory backend '%s': pmem=on: Vireo does not sync persistent memory",
                    o->id);
        return false;
    }
    if (b->align && b->align != 2 << 20) {
        g_set_error(errp, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED,
                    "memory backend '%s': align: Vireo maps RAM at 2 MiB alignment only",
                    o->id);
        return false;
    }
    /* A directory (hugetlbfs mount, QEMU's -mem-path style): an unlinked file in it. */
    if (stat(b->mem_path, &st) == 0 && S_ISDIR(st.st_mode)) {
        b->fd = open(b->mem_path, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
        if (b->fd < 0)
            return fail(errp, b, b->mem_path, errno);
    } else {
        b->fd = open(b->mem_path, (b->readonly ? O_RDONLY : O_RDWR | O_CREAT) | O_CLOEXEC,
                     0600);
        if (b->fd < 0)
            return fail(errp, b, b->mem_path, errno);
        if (fstat(b->fd, &st) < 0)
            return fail(errp, b, b->mem_path, errno);
    }
    if ((uint64_t)st.st_size < b->size && S_ISREG(st.st_mode)) {
        if (b->readonly) {
            g_set_error(errp, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                        "memory backend '%s': %s is smaller than size=%" G_GUINT64_FORMAT,
                        o->id, b->mem_path, b->size);
            return false;
        }
        if (ftruncate(b->fd, b->size) < 0)
            return fail(errp, b, b->mem_path, errno);
    }
    return true;
}

static void backend_finalize(Object *o)
{
    HostMemBackend *b = (HostMemBackend *)o;
    if (b->ptr && b->discard_data)
        madvise(b->ptr, b->size, MADV_REMOVE);
    if (b->ptr)
        munmap(b->ptr, b->size);
    if (b->fd >= 0)
        close(b->fd);
}

static const Property backend_props[] = {
    PROP("size", PROP_SIZE, HostMemBackend, size, NULL, "Size of the memory region (ex: 500M)"),
    PROP("share", PROP_BOOL, HostMemBackend, share, "off",
         "Mark the memory as private to QEMU or shared"),
    PROP("prealloc", PROP_BOOL, HostMemBackend, prealloc, "off", "Preallocate memory"),
    PROP("dump", PROP_BOOL, HostMemBackend, dump, "on",
         "Set to 'off' to exclude from core dump"),
    PROP("merge", PROP_BOOL, HostMemBackend, merge, "on", "Mark memory as mergeable"),
    PROP("reserve", PROP_BOOL, HostMemBackend, reserve, "on",
         "Reserve swap space (or huge pages) if applicable"),
    PROP_END
};

static const Property memfd_props[] = {
    PROP("share", PROP_BOOL, HostMemBackend, share, "on",
         "Mark the memory as private to QEMU or shared"),
    PROP("hugetlb", PROP_BOOL, HostMemBackend, hugetlb, "off", "Use huge pages"),
    PROP("hugetlbsize", PROP_SIZE, HostMemBackend, hugetlbsize, NULL, "Huge pages size (ex: 2M, 1G)"),
    PROP("seal", PROP_BOOL, HostMemBackend, seal, "on", "Seal growing & shrinking"),
    PROP_END
};

static const Property file_props[] = {
    PROP("mem-path", PROP_STR, HostMemBackend, mem_path, NULL, "File to be used as the memory backend"),
    PROP("align", PROP_SIZE, HostMemBackend, align, NULL, "Mapping alignment (2M only)"),
    PROP("discard-data", PROP_BOOL, HostMemBackend, discard_data, "off",
         "Discard the data of the file on exit"),
    PROP("readonly", PROP_BOOL, HostMemBackend, readonly, "off", "Map the file read-only"),
    PROP("pmem", PROP_BOOL, HostMemBackend, pmem, "off", "Persistent memory (off only)"),
    PROP_END
};

const ObjectClass memory_backend_class = {
    .type = { .name = "memory-backend", .parent = "object", .abstract = true,
              .props = backend_props },
    .instance_size = sizeof(HostMemBackend),
};

const ObjectClass memory_backend_ram_class = {
    .type = { .name = "memory-backend-ram", .parent = "memory-backend",
              .desc = "anonymous memory" },
    .parent = &memory_backend_class,
    .instance_size = sizeof(HostMemBackend),
    .init = backend_init,
    .complete = ram_complete,
    .finalize = backend_finalize,
};

const ObjectClass memory_backend_memfd_class = {
    .type = { .name = "memory-backend-memfd", .parent = "memory-backend",
              .props = memfd_props, .desc = "a memfd (shareable)" },
    .parent = &memory_backend_class,
    .instance_size = sizeof(HostMemBackend),
    .init = backend_init,
    .complete = memfd_complete,
    .finalize = backend_finalize,
};

const ObjectClass memory_backend_file_class = {
    .type = { .name = "memory-backend-file", .parent = "memory-backend",
              .props = file_props, .desc = "a file (or hugetlbfs)" },
    .parent = &memory_backend_class,
    .instance_size = sizeof(HostMemBackend),
    .init = backend_init,
    .complete = file_complete,
    .finalize = backend_finalize,
};
