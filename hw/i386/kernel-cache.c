/*
 * A cache of decompressed kernels (docs/kernel-cache.md). Booting a bzImage makes the
 * guest run the kernel's own decompressor, which costs seconds as nested guest code; a
 * cached payload lets the loader place the kernel itself (hw/i386/vmlinux.c, with the
 * same KASLR the decompressor applies) and enter at startup_64.
 *
 * Security: the directory is private (created 0700; used only if it is a real
 * directory owned by the effective user with no group/other access; every entry is
 * opened relative to it with O_NOFOLLOW and checked with fstat), so no other user can
 * plant or swap an entry. The key is SHA-256 over the compressed payload, so a kernel
 * rewritten in place never matches an old entry. Entries are written to a temporary
 * file, synced and renamed; they are validated against the bzImage header before every
 * use; the directory is kept under KCACHE_LIMIT by evicting the least recently used.
 */
#include "kernel-cache.h"
#include "kernel-unpack.h"
#include "vmlinux.h"
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define ENTRY_SUFFIX ".vmlinux"
#define TMP_PREFIX   ".tmp-"
#define STALE_TMP_S  3600            /* a temporary file this old is a crashed writer's */
#define KERNEL_FILE_MAX (1ULL << 30)

char *kernel_cache_default_dir(void)
{
    const char *xdg = g_getenv("XDG_CACHE_HOME");
    if (xdg && g_path_is_absolute(xdg))
        return g_build_filename(xdg, "vireo", "kernels", NULL);
    const char *home = g_getenv("HOME");
    struct passwd *pw = NULL;
    if (!home || !g_path_is_absolute(home))
        home = (pw = getpwuid(geteuid())) ? pw->pw_dir : NULL;
    return home ? g_build_filename(home, ".cache", "vireo", "kernels", NULL) : NULL;
}

static int dir_error(GError **errp, const char *path, const char *why)
{
    g_set_error(errp, G_IO_ERROR, G_IO_ERROR_PERMISSION_DENIED,
                "kernel cache %s: %s; the cache is not used", path, why);
    return -1;
}

int kernel_cache_open_dir(const char *path, GError **errp)
{
    g_autofree char *parent = g_path_get_dirname(path);
    g_autofree char *leaf = g_path_get_basename(path);
    if (g_mkdir_with_parents(parent, 0700) < 0)
        return dir_error(errp, path, g_strerror(errno));
    int pfd = open(parent, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (pfd < 0)
        return dir_error(errp, path, g_strerror(errno));
    if (mkdirat(pfd, leaf, 0700) < 0 && errno != EEXIST) {
        close(pfd);
        return dir_error(errp, path, g_strerror(errno));
    }
    int fd = openat(pfd, leaf, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    int saved = errno;
    close(pfd);
    if (fd < 0)
        return dir_error(errp, path, saved == ELOOP || saved == ENOTDIR ?
                         "not a directory (a symbolic link?)" : g_strerror(saved));
    struct stat st;
    g_autofree char *why = NULL;
    if (fstat(fd, &st) < 0)
        why = g_strdup(g_strerror(errno));
    else if (st.st_uid != geteuid())
        why = g_strdup_printf("owned by uid %u, not by uid %u", (unsigned)st.st_uid,
                              (unsigned)geteuid());
    else if (st.st_mode & 077)
        why = g_strdup_printf("mode %04o gives other users access (needs 0700)",
                              (unsigned)(st.st_mode & 07777));
    if (why) {
        close(fd);
        return dir_error(errp, path, why);
    }
    return fd;
}

size_t kernel_cache_expected_size(const uint8_t *payload, size_t len, const BzImageInfo *h)
{
    if (len < 16)
        return 0;
    const uint8_t *t = payload + len - 4;
    uint64_t n = t[0] | t[1] << 8 | t[2] << 16 | (uint64_t)t[3] << 24;
    if (!n || n > h->init_size || n > KCACHE_ENTRY_MAX || n > (uint64_t)len * KCACHE_MAX_RATIO)
        return 0;
    return n;
}

void kernel_cache_key(const uint8_t *payload, size_t len, char key[KCACHE_KEY_LEN + 1])
{
    static const char domain[] = "vireo kernel cache v1";
    GChecksum *c = g_checksum_new(G_CHECKSUM_SHA256);
    g_checksum_update(c, (const guchar *)domain, sizeof(domain));
    g_checksum_update(c, payload, len);
    g_strlcpy(key, g_checksum_get_string(c), KCACHE_KEY_LEN + 1);
    g_checksum_free(c);
}

static char *entry_name(const char *key)
{
    return g_strconcat(key, ENTRY_SUFFIX, NULL);
}

uint8_t *kernel_cache_lookup(int dirfd, const char *key, size_t expect)
{
    g_autofree char *name = entry_name(key);
    int fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
    struct stat st;
    void *p = MAP_FAILED;
    if (fd < 0)
        return NULL;
    if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_uid == geteuid() &&
        st.st_nlink == 1 && !(st.st_mode & 022) && (uint64_t)st.st_size == expect) {
        p = mmap(NULL, expect, PROT_READ, MAP_PRIVATE, fd, 0);
        if (p != MAP_FAILED)
            futimens(fd, NULL);          /* recently used: last to be evicted */
    }
    close(fd);
    return p == MAP_FAILED ? NULL : p;
}

void kernel_cache_release(uint8_t *data, size_t len)
{
    if (data)
        munmap(data, len);
}

void kernel_cache_drop(int dirfd, const char *key)
{
    g_autofree char *name = entry_name(key);
    unlinkat(dirfd, name, 0);
}

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

typedef struct CacheFile {
    char *name;
    uint64_t size;
    struct timespec used;
} CacheFile;

static int by_use(const void *a, const void *b)
{
    const CacheFile *x = a, *y = b;
    if (x->used.tv_sec != y->used.tv_sec)
        return x->used.tv_sec < y->used.tv_sec ? -1 : 1;
    return (x->used.tv_nsec > y->used.tv_nsec) - (x->used.tv_nsec < y->used.tv_nsec);
}

static bool is_entry_name(const char *n)
{
    size_t l = strlen(n);
    return l == KCACHE_KEY_LEN + strlen(ENTRY_SUFFIX) && g_str_has_suffix(n, ENTRY_SUFFIX) &&
           strspn(n, "0123456789abcdef") == KCACHE_KEY_LEN;
}

/* Lists entries (regular files only; stale temporary files are removed on the way). */
static GArray *list_entries(int dirfd)
{
    GArray *a = g_array_new(FALSE, FALSE, sizeof(CacheFile));
    int fd = dup(dirfd);
    DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
    struct dirent *de;
    if (!d) {
        if (fd >= 0)
            close(fd);
        return a;
    }
    rewinddir(d);
    while ((de = readdir(d))) {
        struct stat st;
        bool tmp = g_str_has_prefix(de->d_name, TMP_PREFIX);
        if ((!tmp && !is_entry_name(de->d_name)) ||
            fstatat(dirfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISREG(st.st_mode))
            continue;
        if (tmp) {
            if (time(NULL) - st.st_mtime > STALE_TMP_S)
                unlinkat(dirfd, de->d_name, 0);
            continue;
        }
        CacheFile f = { g_strdup(de->d_name), (uint64_t)st.st_size, st.st_mtim };
        g_array_append_val(a, f);
    }
    closedir(d);
    return a;
}

/* Removes least recently used entries (mtime, set on every hit) until @limit holds. */
static void evict(int dirfd, uint64_t limit, const char *keep)
{
    GArray *a = list_entries(dirfd);
    uint64_t total = 0;
    g_array_sort(a, by_use);
    for (guint i = 0; i < a->len; i++)
        total += g_array_index(a, CacheFile, i).size;
    for (guint i = 0; i < a->len; i++) {
        CacheFile *f = &g_array_index(a, CacheFile, i);
        if (total > limit && strcmp(f->name, keep) && unlinkat(dirfd, f->name, 0) == 0)
            total -= f->size;
        g_free(f->name);
    }
    g_array_free(a, TRUE);
}

bool kernel_cache_store(int dirfd, const char *key, const uint8_t *data, size_t len,
                        uint64_t limit, GError **errp)
{
    g_autofree char *name = entry_name(key);
    g_autofree char *tmp = g_strdup_printf(TMP_PREFIX "%s-%08x", key, g_random_int());
    int fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0) {
        g_set_error(errp, G_IO_ERROR, g_io_error_from_errno(errno),
                    "kernel cache: cannot create %s: %s", tmp, g_strerror(errno));
        return false;
    }
    errno = 0;
    bool ok = write_all(fd, data, len) && fdatasync(fd) == 0;
    int saved = ok ? 0 : (errno ? errno : EIO);
    close(fd);
    if (ok && renameat(dirfd, tmp, dirfd, name) < 0) {
        ok = false;
        saved = errno;
    }
    if (!ok) {
        unlinkat(dirfd, tmp, 0);
        g_set_error(errp, G_IO_ERROR, g_io_error_from_errno(saved),
                    "kernel cache: cannot write %s: %s", name, g_strerror(saved));
        return false;
    }
    evict(dirfd, limit, name);
    return true;
}

bool kernel_cache_fill(int dirfd, const char *key, const uint8_t *payload, size_t len,
                       const BzImageInfo *h, uint64_t limit, GError **errp)
{
    size_t expect = kernel_cache_expected_size(payload, len, h), n = 0;
    g_autofree uint8_t *elf = expect ? kernel_unpack(payload, len, &n) : NULL;
    VmlinuxImage v;
    if (!elf || n != expect) {
        g_set_error(errp, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, "kernel cache: the payload "
                    "does not decompress to the %zu bytes it announces", expect);
        return false;
    }
    return vmlinux_parse(elf, n, h, &v, errp) &&
           kernel_cache_store(dirfd, key, elf, n, limit, errp);
}

/* ---- the background fill -------------------------------------------------------------- */

struct KernelCacheFill {
    GThread *thread;
    GMutex lock;
    GCond cond;
    bool hurry;                      /* exiting: stop waiting for idle time */
    bool done;                       /* the thread finished (filled or gave up) */
    bool abandoned;                  /* exit did not wait: the thread frees this */
    pid_t tid;                       /* the thread's id, to lift its priority */
    int dirfd;
    char *kernel;
    char key[KCACHE_KEY_LEN + 1];
    size_t off, len;
    BzImageInfo h;
};

/* CPU time of every other thread of the process: the vCPUs and the main loop. */
static int64_t others_cpu_ns(void)
{
    struct timespec p, t;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &p);
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return (p.tv_sec - t.tv_sec) * 1000000000LL + (p.tv_nsec - t.tv_nsec);
}

/* Returns once the rest of the process used less than a quarter of a CPU over 100 ms
 * (the guest idles: it reached its init, or waits for something), or on exit. */
static void wait_guest_idle(KernelCacheFill *f)
{
    g_mutex_lock(&f->lock);
    while (!f->hurry) {
        int64_t c0 = others_cpu_ns(), t0 = g_get_monotonic_time();
        g_cond_wait_until(&f->cond, &f->lock, t0 + 100000);
        int64_t used = others_cpu_ns() - c0, wall = (g_get_monotonic_time() - t0) * 1000;
        if (used * 4 < wall)
            break;
    }
    g_mutex_unlock(&f->lock);
}

/* The payload as the file holds it now, if it still hashes to the key. */
static uint8_t *read_payload(KernelCacheFill *f)
{
    int fd = open(f->kernel, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    struct stat st;
    uint8_t *buf = NULL;
    char key[KCACHE_KEY_LEN + 1];
    if (fd < 0)
        return NULL;
    if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && (uint64_t)st.st_size <= KERNEL_FILE_MAX &&
        f->off + f->len <= (uint64_t)st.st_size) {
        buf = g_malloc(f->len);
        if (pread(fd, buf, f->len, f->off) != (ssize_t)f->len)
            g_clear_pointer(&buf, g_free);
    }
    close(fd);
    if (buf) {
        kernel_cache_key(buf, f->len, key);
        if (strcmp(key, f->key))
            g_clear_pointer(&buf, g_free);
    }
    return buf;
}

static void fill_free(KernelCacheFill *f)
{
    close(f->dirfd);
    g_mutex_clear(&f->lock);
    g_cond_clear(&f->cond);
    g_free(f->kernel);
    g_free(f);
}

/* Normal priority again (the process is exiting and waits for the fill). */
static void fill_lift_priority(pid_t tid)
{
    struct sched_param sp = { 0 };
    sched_setscheduler(tid, SCHED_OTHER, &sp);
    setpriority(PRIO_PROCESS, tid, 0);
}

static gpointer fill_thread(gpointer opaque)
{
    KernelCacheFill *f = opaque;
    struct sched_param sp = { 0 };
    g_mutex_lock(&f->lock);
    f->tid = gettid();
    g_mutex_unlock(&f->lock);
    /* Never ahead of the guest: idle class (runs only when the CPU has nothing else). */
    if (sched_setscheduler(0, SCHED_IDLE, &sp) < 0)
        setpriority(PRIO_PROCESS, 0, 19);
    wait_guest_idle(f);
    g_mutex_lock(&f->lock);
    if (f->hurry)
        fill_lift_priority(0);
    g_mutex_unlock(&f->lock);
    g_autofree uint8_t *payload = read_payload(f);
    g_autoptr(GError) err = NULL;
    if (payload && !kernel_cache_fill(f->dirfd, f->key, payload, f->len, &f->h,
                                      KCACHE_LIMIT, &err))
        g_debug("%s", err->message);
    g_mutex_lock(&f->lock);
    f->done = true;
    bool abandoned = f->abandoned;
    g_cond_broadcast(&f->cond);
    g_mutex_unlock(&f->lock);
    if (abandoned)
        fill_free(f);
    return NULL;
}

KernelCacheFill *kernel_cache_fill_start(int dirfd, const char *kernel, const char *key,
                                         size_t off, size_t len, const BzImageInfo *h)
{
    KernelCacheFill *f = g_new0(KernelCacheFill, 1);
    g_mutex_init(&f->lock);
    g_cond_init(&f->cond);
    f->dirfd = dirfd;
    f->kernel = g_strdup(kernel);
    g_strlcpy(f->key, key, sizeof(f->key));
    f->off = off;
    f->len = len;
    f->h = *h;
    f->thread = g_thread_new("kernel-cache", fill_thread, f);
    return f;
}

void kernel_cache_fill_finish(KernelCacheFill *f, int64_t timeout_us)
{
    if (!f)
        return;
    int64_t deadline = g_get_monotonic_time() + timeout_us;
    g_mutex_lock(&f->lock);
    f->hurry = true;
    if (f->tid)
        fill_lift_priority(f->tid);
    g_cond_broadcast(&f->cond);
    while (!f->done) {
        if (timeout_us < 0) {
            g_cond_wait(&f->cond, &f->lock);
        } else if (!g_cond_wait_until(&f->cond, &f->lock, deadline) && !f->done) {
            /* Exit is not held up: the thread finishes or dies with the process; a
             * half-written temporary file is removed by a later run. */
            f->abandoned = true;
            g_mutex_unlock(&f->lock);
            g_thread_unref(f->thread);
            return;
        }
    }
    g_mutex_unlock(&f->lock);
    g_thread_join(f->thread);
    fill_free(f);
}
