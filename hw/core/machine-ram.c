/*
 * Guest RAM of a machine (include/vireo/machine.h): one mapping, split around the
 * board's hole below 4 GiB into ram-below-4g (at GPA 0) and ram-above-4g (at 4 GiB).
 */
#include "vireo/machine.h"
#include "vireo/ramblock.h"
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

/* Guest RAM, mapped 2 MiB-aligned with MADV_HUGEPAGE so that KVM can use large (nested)
 * mappings (KVM-HOSTS.md: 3x faster guest I/O than 4 KiB pages). It is a memfd
 * (shareable, for migration/vhost later) when the host gives shmem transparent huge
 * pages; otherwise anonymous memory, which always can: with 4 KiB pages every first
 * guest touch of a page is a nested page fault, which dominated boot time in the sandbox.
 * VIREO_RAM=memfd|anon overrides the choice (for benchmarks). */
bool machine_alloc_ram(Machine *m, uint64_t hole_start, GError **errp)
{
    const uint64_t align = 2 << 20;
    const char *force = g_getenv("VIREO_RAM");
    bool use_memfd = force ? !strcmp(force, "memfd") : shmem_thp_enabled();
    m->ram_size = m->opts.ram_size;
    m->below_4g = MIN(m->ram_size, hole_start);
    m->above_4g = m->ram_size - m->below_4g;
    m->ram_fd = -1;
    if (use_memfd) {
        m->ram_fd = memfd_create("vireo-ram", MFD_CLOEXEC);
        if (m->ram_fd < 0 || ftruncate(m->ram_fd, m->ram_size) < 0) {
            g_set_error(errp, G_IO_ERROR, G_IO_ERROR_NO_SPACE,
                        "-m %" G_GUINT64_FORMAT "M: cannot allocate guest RAM: %s",
                        m->ram_size >> 20, g_strerror(errno));
            return false;
        }
    }
    uint8_t *area = mmap(NULL, m->ram_size + align, PROT_NONE,
                         MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (area == MAP_FAILED)
        goto nomem;
    uint8_t *aligned = (uint8_t *)(((uintptr_t)area + align - 1) & ~(align - 1));
    if (use_memfd)
        m->ram = mmap(aligned, m->ram_size, PROT_READ | PROT_WRITE,
                      MAP_SHARED | MAP_FIXED | MAP_NORESERVE, m->ram_fd, 0);
    else
        m->ram = mmap(aligned, m->ram_size, PROT_READ | PROT_WRITE,
                      MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED | MAP_NORESERVE, -1, 0);
    if (m->ram == MAP_FAILED) {
        munmap(area, m->ram_size + align);
        m->ram = NULL;
        goto nomem;
    }
    if (aligned > area)
        munmap(area, aligned - area);
    munmap(aligned + m->ram_size, (area + m->ram_size + align) - (aligned + m->ram_size));
    madvise(m->ram, m->ram_size, MADV_HUGEPAGE);
    /* -machine dump-guest-core=off, mem-merge (on by default, as QEMU's). */
    if (!m->opts.dump_guest_core)
        madvise(m->ram, m->ram_size, MADV_DONTDUMP);
    if (m->opts.mem_merge)
        madvise(m->ram, m->ram_size, MADV_MERGEABLE);
    /* One block for all of it, named as QEMU's board names it (default-ram-id). */
    const char *id = m->cls && m->cls->default_ram_id ? m->cls->default_ram_id : "pc.ram";
    if (!ram_block_register(m, id, m->ram, m->ram_size, RAM_BLOCK_TRACKED))
        goto nomem;
    mr_init_ram(&m->ram_lo, "ram-below-4g", m->below_4g, m->ram);
    if (!as_add_region(m->sysmem, &m->ram_lo, 0, errp))
        return false;
    if (m->above_4g) {
        mr_init_ram(&m->ram_hi, "ram-above-4g", m->above_4g, m->ram + m->below_4g);
        if (!as_add_region(m->sysmem, &m->ram_hi, 1ULL << 32, errp))
            return false;
    }
    return true;
nomem:
    g_set_error(errp, G_IO_ERROR, G_IO_ERROR_NO_SPACE,
                "-m %" G_GUINT64_FORMAT "M: cannot map guest RAM: %s",
                m->ram_size >> 20, g_strerror(errno));
    return false;
}
