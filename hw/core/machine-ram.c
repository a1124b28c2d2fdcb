/*
 * Guest RAM of a machine (include/vireo/machine.h): one mapping, split around the
 * board's hole below 4 GiB into ram-below-4g (at GPA 0) and ram-above-4g (at 4 GiB).
 */
#include "vireo/machine.h"
#include "vireo/ramblock.h"
#include "vireo/object.h"
#include <errno.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

/* Whether the kernel backs shared memory (memfd) with transparent huge pages. */
static bool shmem_thp_enabled(void)
{
    g_autofree char *s = NULL;
    if (!g_file_get_contents("/sys/kernel/mm/transparent_hugepage/shmem_enabled", &s,
                             NULL, NULL))
        return false;
    return strstr(s, "[always]") || strstr(s, "[advise]") || strstr(s, "[within_size]");
}

/* The machine's own backend when -machine memory-backend= is not given (QEMU makes a
 * memory-backend-ram named after the board's default_ram_id; it shows in /objects).
 * Vireo picks a memfd when the host gives shared memory transparent huge pages, since
 * with 4 KiB pages every first guest touch of a page is a nested page fault (that
 * dominated boot time in the sandbox), and anonymous memory otherwise. The machine's
 * dump-guest-core and mem-merge apply to it. Users choose explicitly with -object
 * memory-backend-ram/-memfd/-file and -machine memory-backend=ID. */
static HostMemBackend *default_backend(Machine *m, GError **errp)
{
    bool memfd = shmem_thp_enabled();
    const char *id = m->cls && m->cls->default_ram_id ? m->cls->default_ram_id : "ram";
    g_autoptr(JsonObject) o = json_object_new();
    json_object_set_string_member(o, "qom-type", memfd ? "memory-backend-memfd"
                                                       : "memory-backend-ram");
    json_object_set_string_member(o, "id", id);
    json_object_set_int_member(o, "size", m->opts.ram_size);
    json_object_set_boolean_member(o, "dump", m->opts.dump_guest_core);
    json_object_set_boolean_member(o, "merge", m->opts.mem_merge);
    if (memfd)
        json_object_set_boolean_member(o, "seal", false);
    Object *obj = object_create(m, o, false, errp);
    if (!obj)
        g_prefix_error(errp, "-m: ");
    return hostmem_from_object(obj);
}

/* The backend -machine memory-backend= names; its size is the RAM size (QEMU). */
static HostMemBackend *named_backend(Machine *m, GError **errp)
{
    Object *o = object_find(m, m->opts.memory_backend);
    HostMemBackend *b = hostmem_from_object(o);
    if (!b) {
        g_set_error(errp, G_IO_ERROR, G_IO_ERROR_NOT_FOUND, "Memory backend '%s' not found",
                    m->opts.memory_backend);
        return NULL;
    }
    if (o->used_by) {
        g_set_error(errp, G_IO_ERROR, G_IO_ERROR_BUSY,
                    "-machine memory-backend=%s: the backend is already in use by %s",
                    o->id, o->used_by);
        return NULL;
    }
    if (m->opts.ram_size_given && m->opts.ram_size != b->size) {
        g_set_error(errp, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                    "Machine memory size does not match the size of the memory backend");
        return NULL;
    }
    m->opts.ram_size = b->size;
    return b;
}

/* Guest RAM from one backend, mapped 2 MiB-aligned (MADV_HUGEPAGE unless hugetlb) so
 * that KVM can use large (nested) mappings (KVM-HOSTS.md: 3x faster guest I/O than 4 KiB
 * pages). */
bool machine_alloc_ram(Machine *m, uint64_t hole_start, GError **errp)
{
    const uint64_t align = 2 << 20;
    HostMemBackend *b = m->opts.memory_backend ? named_backend(m, errp)
                                               : default_backend(m, errp);
    if (!b)
        return false;
    m->ram_size = b->size;
    m->below_4g = MIN(m->ram_size, hole_start);
    m->above_4g = m->ram_size - m->below_4g;
    uint8_t *area = mmap(NULL, m->ram_size + align, PROT_NONE,
                         MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (area == MAP_FAILED) {
        g_set_error(errp, G_IO_ERROR, G_IO_ERROR_NO_SPACE,
                    "-m %" G_GUINT64_FORMAT "M: cannot map guest RAM: %s",
                    m->ram_size >> 20, g_strerror(errno));
        return false;
    }
    uint8_t *aligned = (uint8_t *)(((uintptr_t)area + align - 1) & ~(align - 1));
    if (aligned > area)
        munmap(area, aligned - area);
    munmap(aligned + m->ram_size, (area + m->ram_size + align) - (aligned + m->ram_size));
    if (!hostmem_map(b, aligned, errp)) {
        munmap(aligned, m->ram_size);
        return false;
    }
    b->obj.used_by = "the machine's RAM";
    m->ram = aligned;
    /* One RAM block for all of it, named as QEMU names it: after the backend (the
     * board's default-ram-id for the machine's own). A read-only backend
     * (memory-backend-file readonly=on) cannot take incoming RAM. */
    if (!ram_block_register(m, b->obj.id, m->ram, m->ram_size,
                            RAM_BLOCK_TRACKED | (b->readonly ? RAM_BLOCK_READONLY : 0))) {
        g_set_error(errp, G_IO_ERROR, G_IO_ERROR_EXISTS,
                    "memory backend '%s': cannot register it as a RAM block", b->obj.id);
        return false;
    }
    mr_init_ram(&m->ram_lo, "ram-below-4g", m->below_4g, m->ram);
    if (!as_add_region(m->sysmem, &m->ram_lo, 0, errp))
        return false;
    if (m->above_4g) {
        mr_init_ram(&m->ram_hi, "ram-above-4g", m->above_4g, m->ram + m->below_4g);
        if (!as_add_region(m->sysmem, &m->ram_hi, 1ULL << 32, errp))
            return false;
    }
    return true;
}
