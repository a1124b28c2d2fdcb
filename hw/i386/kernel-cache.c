/*
 * A cache of decompressed kernels. Booting a bzImage makes the guest run the kernel's
 * own decompressor (xz of ~65 MB here), which costs seconds as nested guest code, and
 * decompressing on the host before the first boot costs even more (measured in
 * docs/performance.md). So the first boot of a given bzImage runs normally while a
 * background thread decompresses the payload into the cache; later boots load the
 * kernel's ELF segments from the cache and enter at startup_64.
 *
 * Key: SHA-256 of the file's device, inode, size and mtime (like ccache's direct mode).
 * Files are written through O_TMPFILE and linked in when complete, so a reader never
 * sees a partial file. Location: $VIREO_CACHE_DIR, $XDG_CACHE_HOME/vireo,
 * ~/.cache/vireo or /var/tmp/vireo-UID, first writable; VIREO_KERNEL_CACHE=0 disables.
 */
#include "kernel-cache.h"
#include "kernel-unpack.h"
#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/stat.h>
#include <unistd.h>

static char *cache_dir(void)
{
    const char *env = g_getenv("VIREO_CACHE_DIR");
    g_autofree char *xdg = g_build_filename(g_get_user_cache_dir(), "vireo", NULL);
    g_autofree char *tmp = g_strdup_printf("/var/tmp/vireo-%u", (unsigned)getuid());
    const char *cands[] = { env, xdg, tmp };
    for (unsigned i = 0; i < G_N_ELEMENTS(cands); i++) {
        if (!cands[i])
            continue;
        char *d = g_build_filename(cands[i], "kernels", NULL);
        if (g_mkdir_with_parents(d, 0700) == 0 && access(d, W_OK) == 0)
            return d;
        g_free(d);
    }
    return NULL;
}

static char *cache_path(const char *kernel)
{
    struct stat st;
    if (g_strcmp0(g_getenv("VIREO_KERNEL_CACHE"), "0") == 0 || stat(kernel, &st) < 0)
        return NULL;
    g_autofree char *dir = cache_dir();
    if (!dir)
        return NULL;
    g_autofree char *id = g_strdup_printf("%llu:%llu:%lld:%lld.%ld",
                                          (unsigned long long)st.st_dev,
                                          (unsigned long long)st.st_ino,
                                          (long long)st.st_size, (long long)st.st_mtim.tv_sec,
                                          st.st_mtim.tv_nsec);
    g_autofree char *key = g_compute_checksum_for_string(G_CHECKSUM_SHA256, id, -1);
    g_autofree char *name = g_strconcat(key, ".vmlinux", NULL);
    return g_build_filename(dir, name, NULL);
}

uint8_t *kernel_cache_lookup(const char *kernel, size_t *len)
{
    g_autofree char *path = cache_path(kernel);
    if (!path)
        return NULL;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (fd < 0)
        return NULL;
    void *p = MAP_FAILED;
    if (fstat(fd, &st) == 0 && st.st_size > 0)
        p = mmap(NULL, st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
    close(fd);
    if (p == MAP_FAILED)
        return NULL;
    *len = st.st_size;
    return p;
}

void kernel_cache_release(uint8_t *data, size_t len)
{
    if (data)
        munmap(data, len);
}

typedef struct FillJob {
    char *kernel, *path;
    size_t offset, length;
} FillJob;

static bool write_all(int fd, const uint8_t *p, size_t n)
{
    while (n) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return false;
        p += w;
        n -= w;
    }
    return true;
}

static gpointer fill_thread(gpointer opaque)
{
    FillJob *j = opaque;
    gchar *img = NULL;
    gsize ilen = 0;
    size_t n = 0;
    uint8_t *elf = NULL;
    g_autofree char *dir = g_path_get_dirname(j->path);
    g_autofree char *proc = NULL;
    int fd = -1;
    /* Lowest priority: the guest that is booting meanwhile comes first. */
    setpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid), 19);
    if (!g_file_get_contents(j->kernel, &img, &ilen, NULL) || j->offset + j->length > ilen)
        goto out;
    elf = kernel_unpack((uint8_t *)img + j->offset, j->length, &n);
    g_clear_pointer(&img, g_free);
    if (!elf)
        goto out;
    fd = open(dir, O_TMPFILE | O_WRONLY | O_CLOEXEC, 0600);
    if (fd < 0 || !write_all(fd, elf, n))
        goto out;
    proc = g_strdup_printf("/proc/self/fd/%d", fd);
    if (linkat(AT_FDCWD, proc, AT_FDCWD, j->path, AT_SYMLINK_FOLLOW) < 0 && errno != EEXIST)
        g_debug("kernel cache: %s: %s", j->path, g_strerror(errno));
out:
    if (fd >= 0)
        close(fd);
    g_free(elf);
    g_free(img);
    g_free(j->kernel);
    g_free(j->path);
    g_free(j);
    return NULL;
}

void kernel_cache_fill_async(const char *kernel, size_t payload_offset, size_t payload_length)
{
    char *path = cache_path(kernel);
    if (!path || access(path, F_OK) == 0) {
        g_free(path);
        return;
    }
    FillJob *j = g_new0(FillJob, 1);
    j->kernel = g_strdup(kernel);
    j->path = path;
    j->offset = payload_offset;
    j->length = payload_length;
    g_thread_unref(g_thread_new("kernel-cache", fill_thread, j));
}
