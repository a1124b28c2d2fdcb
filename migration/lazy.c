/*
 * Lazy restore from a file: stream (-incoming file:). The RAM area of such a file keeps
 * every block at a fixed offset with a hole for each zero page (format.h), so the
 * destination does not have to read it before the guest runs: each block is emptied
 * (its pages given back) and registered with a userfaultfd in "missing" mode; one
 * thread ("restore-fill") then
 *   - serves page faults (a vCPU, the kernel for KVM or vhost, a device model): the
 *     1 MiB around the faulting page is read from the file (or zero-filled when the
 *     file has a hole there) and placed with UFFDIO_COPY / UFFDIO_ZEROPAGE, which
 *     wakes the faulting thread;
 *   - between faults, fills the file's data extents (SEEK_DATA/SEEK_HOLE) in order, so
 *     a hole is never read: an untouched zero page is never even allocated;
 *   - when every data extent is in place, unregisters the blocks (a hole page then
 *     faults in as the kernel's zero page) and ends.
 * Where a userfaultfd cannot be had (no permission, a kernel without it, a block the
 * kernel cannot register: a private file mapping, hugetlbfs) or a block cannot be
 * emptied (locked memory), that block is read at once, as before.
 *
 * The fill thread never touches guest RAM itself (a fault of its own would wait for
 * itself); it writes only through the userfaultfd ioctls. Nothing it does waits for
 * the main thread. An outgoing migration or a savevm waits for it to end first
 * (mig_lazy_wait): their dirty tracking does not see pages placed by ioctl.
 */
#include "migration.h"
#include <errno.h>
#include <fcntl.h>
#include <linux/userfaultfd.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#define LAZY_RUN_PAGES 256              /* 1 MiB per fault or fill step */

typedef struct LazyBlock {
    RamBlock *b;
    uint64_t off;                       /* of the block's pages in the file */
    uint64_t *done;                     /* one bit per page placed */
    uint64_t cursor;                    /* background fill: next page to look at */
    bool registered;
} LazyBlock;

struct MigLazy {
    int uffd, fd;
    LazyBlock *blk;
    unsigned n;
    GThread *thread;
    volatile int stop;
    GMutex lock;
    GCond cond;
    bool finished;
    uint8_t *buf;                       /* LAZY_RUN_PAGES pages */
    bool read_error_told;
    MigLazyStats st;
};

static volatile int hold_fill;

void mig_lazy_hold_fill(bool hold)
{
    hold_fill = hold;
}

/* ---- placing pages --------------------------------------------------------------------------- */

static bool page_done(const LazyBlock *lb, uint64_t p)
{
    return lb->done[p / 64] & (1ull << (p % 64));
}

static void mark_done(LazyBlock *lb, uint64_t p, uint64_t n)
{
    for (uint64_t i = p; i < p + n; i++)
        lb->done[i / 64] |= 1ull << (i % 64);
}

/* Zero-fills pages [p, p + n) of @lb. */
static void place_zero(MigLazy *lz, LazyBlock *lb, uint64_t p, uint64_t n)
{
    struct uffdio_zeropage z = {
        .range = { .start = (uintptr_t)lb->b->host + p * RAM_PAGE_SIZE,
                   .len = n * RAM_PAGE_SIZE },
    };
    if (ioctl(lz->uffd, UFFDIO_ZEROPAGE, &z) < 0 && errno != EEXIST) {
        /* shmem without zeropage support: copy zeros instead */
        memset(lz->buf, 0, LAZY_RUN_PAGES * RAM_PAGE_SIZE);
        for (uint64_t i = 0; i < n; i++) {
            struct uffdio_copy c = {
                .dst = (uintptr_t)lb->b->host + (p + i) * RAM_PAGE_SIZE,
                .src = (uintptr_t)lz->buf, .len = RAM_PAGE_SIZE,
            };
            if (ioctl(lz->uffd, UFFDIO_COPY, &c) < 0 && errno != EEXIST)
                break;
        }
    }
    lz->st.zero_pages += n;
    mark_done(lb, p, n);
}

/* Reads pages [p, p + n) of @lb (n <= LAZY_RUN_PAGES) from the file and places them. */
static void place_data(MigLazy *lz, LazyBlock *lb, uint64_t p, uint64_t n)
{
    size_t len = n * RAM_PAGE_SIZE, got = 0;
    while (got < len) {
        ssize_t k = pread(lz->fd, lz->buf + got, len - got,
                          lb->off + p * RAM_PAGE_SIZE + got);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0) {
            /* The file changed under the restored VM (truncated, unreadable): the
             * pages cannot be had; they read as zeros. Said once. */
            if (!lz->read_error_told) {
                g_printerr("vireo: restoring RAM block '%s' from the file: %s; the "
                           "missing pages read as zeros\n", lb->b->name,
                           k < 0 ? g_strerror(errno) : "the file is shorter than it was");
                lz->read_error_told = true;
            }
            lz->st.read_errors++;
            memset(lz->buf + got, 0, len - got);
            break;
        }
        got += k;
    }
    uint64_t i = 0;
    unsigned again = 0;
    while (i < n) {
        struct uffdio_copy c = {
            .dst = (uintptr_t)lb->b->host + (p + i) * RAM_PAGE_SIZE,
            .src = (uintptr_t)lz->buf + i * RAM_PAGE_SIZE,
            .len = (n - i) * RAM_PAGE_SIZE,
        };
        if (ioctl(lz->uffd, UFFDIO_COPY, &c) == 0)
            break;
        if (c.copy > 0) {                       /* part of it went in */
            i += c.copy / RAM_PAGE_SIZE;
        } else if (errno == EAGAIN && again++ < 1000) {
            g_usleep(100);                      /* the address space is changing (fork) */
        } else {
            /* EEXIST: there already. Anything else: the page cannot be placed; wake
             * whoever waits for it (it faults again, after the unregistering at the
             * end, as an ordinary page). */
            struct uffdio_range r = { .start = c.dst, .len = RAM_PAGE_SIZE };
            ioctl(lz->uffd, UFFDIO_WAKE, &r);
            i++;
        }
    }
    lz->st.pages_read += n;
    mark_done(lb, p, n);
}

/* Places the pages of [p, p + n) of @lb that are not there yet; @data: the file holds
 * data somewhere in the range (else it is all hole). */
static void place_range(MigLazy *lz, LazyBlock *lb, uint64_t p, uint64_t n, bool data)
{
    uint64_t end = MIN(p + n, ram_block_pages(lb->b));
    while (p < end) {
        if (page_done(lb, p)) {
            p++;
            continue;
        }
        uint64_t q = p + 1;
        while (q < end && !page_done(lb, q))
            q++;
        if (data) {
            place_data(lz, lb, p, q - p);
        } else {
            place_zero(lz, lb, p, q - p);
        }
        p = q;
    }
}

/* A fault at @addr: the run of LAZY_RUN_PAGES around it. */
static void serve_fault(MigLazy *lz, uint64_t addr)
{
    for (unsigned i = 0; i < lz->n; i++) {
        LazyBlock *lb = &lz->blk[i];
        uintptr_t h = (uintptr_t)lb->b->host;
        if (!lb->registered || addr < h || addr - h >= lb->b->size)
            continue;
        uint64_t p = (addr - h) / RAM_PAGE_SIZE / LAZY_RUN_PAGES * LAZY_RUN_PAGES;
        uint64_t n = MIN((uint64_t)LAZY_RUN_PAGES, ram_block_pages(lb->b) - p);
        lz->st.faults++;
        if (page_done(lb, (addr - h) / RAM_PAGE_SIZE)) {
            /* placed already, the fault raced with it: wake the thread */
            struct uffdio_range r = { .start = addr & ~(uint64_t)(RAM_PAGE_SIZE - 1),
                                      .len = RAM_PAGE_SIZE };
            ioctl(lz->uffd, UFFDIO_WAKE, &r);
            return;
        }
        off_t d = lseek(lz->fd, lb->off + p * RAM_PAGE_SIZE, SEEK_DATA);
        bool data = d >= 0 && (uint64_t)d < lb->off + (p + n) * RAM_PAGE_SIZE;
        place_range(lz, lb, p, n, data);
        return;
    }
}

/* One background step: the next LAZY_RUN_PAGES of a data extent. False when every
 * block's data is in place. */
static bool fill_step(MigLazy *lz)
{
    for (unsigned i = 0; i < lz->n; i++) {
        LazyBlock *lb = &lz->blk[i];
        uint64_t pages = ram_block_pages(lb->b);
        if (!lb->registered || lb->cursor >= pages)
            continue;
        off_t d = lseek(lz->fd, lb->off + lb->cursor * RAM_PAGE_SIZE, SEEK_DATA);
        if (d < 0 || (uint64_t)d >= lb->off + lb->b->size) {
            lb->cursor = pages;                 /* the rest is hole */
            continue;
        }
        uint64_t p = ((uint64_t)d - lb->off) / RAM_PAGE_SIZE;
        off_t h = lseek(lz->fd, (off_t)(lb->off + p * RAM_PAGE_SIZE), SEEK_HOLE);
        uint64_t hp = h < 0 || (uint64_t)h >= lb->off + lb->b->size ? pages :
                      ((uint64_t)h - lb->off + RAM_PAGE_SIZE - 1) / RAM_PAGE_SIZE;
        uint64_t n = MIN((uint64_t)LAZY_RUN_PAGES, hp - p);
        if (n == 0)
            n = 1;
        place_range(lz, lb, p, n, true);
        lb->cursor = p + n;
        return true;
    }
    return false;
}

/* Reads what the userfaultfd has; true when it had something. */
static bool drain_faults(MigLazy *lz)
{
    struct uffd_msg msg[16];
    bool any = false;
    for (;;) {
        ssize_t k = read(lz->uffd, msg, sizeof(msg));
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            return any;
        for (size_t i = 0; i < (size_t)k / sizeof(msg[0]); i++) {
            if (msg[i].event == UFFD_EVENT_PAGEFAULT)
                serve_fault(lz, msg[i].arg.pagefault.address);
        }
        any = true;
    }
}

static void unregister_all(MigLazy *lz)
{
    for (unsigned i = 0; i < lz->n; i++) {
        LazyBlock *lb = &lz->blk[i];
        if (!lb->registered)
            continue;
        struct uffdio_range r = { .start = (uintptr_t)lb->b->host, .len = lb->b->size };
        ioctl(lz->uffd, UFFDIO_UNREGISTER, &r);     /* wakes whoever still waits */
        lb->registered = false;
    }
}

static gpointer fill_thread(gpointer opaque)
{
    MigLazy *lz = opaque;
    int64_t t0 = g_get_monotonic_time();
    /* Faults first, one fill step between looks at them; the thread never sleeps
     * while data is left to place. */
    while (!lz->stop) {
        struct pollfd p = { .fd = lz->uffd, .events = POLLIN };
        if (poll(&p, 1, hold_fill ? 10 : 0) > 0 && (p.revents & POLLIN)) {
            drain_faults(lz);
            continue;
        }
        if (hold_fill)
            continue;
        if (!fill_step(lz))
            break;
    }
    /* Every data page is in place: what is left is holes. */
    drain_faults(lz);
    unregister_all(lz);
    g_mutex_lock(&lz->lock);
    lz->st.fill_us = g_get_monotonic_time() - t0;
    lz->finished = true;
    g_cond_broadcast(&lz->cond);
    g_mutex_unlock(&lz->lock);
    return NULL;
}

/* ---- start, wait, free ----------------------------------------------------------------------- */

/* Empties @b and registers it; false (nothing changed that reading it eagerly would
 * not redo) when the kernel refuses either. */
static bool take_block(MigLazy *lz, LazyBlock *lb)
{
    struct uffdio_register reg = {
        .range = { .start = (uintptr_t)lb->b->host, .len = lb->b->size },
        .mode = UFFDIO_REGISTER_MODE_MISSING,
    };
    if (ioctl(lz->uffd, UFFDIO_REGISTER, &reg) < 0)
        return false;
    /* No ZEROPAGE: hugetlbfs (which also needs whole huge pages), shared memory on some
     * kernels: such a block is read eagerly */
    if (!(reg.ioctls & (1ull << _UFFDIO_COPY)) || !(reg.ioctls & (1ull << _UFFDIO_ZEROPAGE)))
        goto undo;
    /* A shared mapping keeps its pages in the page cache: they must be punched out,
     * or no fault comes. Private anonymous memory: dropping the pages is enough. */
    if (madvise(lb->b->host, lb->b->size, MADV_REMOVE) < 0 &&
        madvise(lb->b->host, lb->b->size, MADV_DONTNEED) < 0)
        goto undo;
    lb->registered = true;
    return true;
undo:;
    struct uffdio_range r = { .start = (uintptr_t)lb->b->host, .len = lb->b->size };
    ioctl(lz->uffd, UFFDIO_UNREGISTER, &r);
    return false;
}

MigLazy *mig_lazy_new(int fd)
{
    int uffd = syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK);
    if (uffd < 0)
        return NULL;
    struct uffdio_api api = { .api = UFFD_API };
    if (ioctl(uffd, UFFDIO_API, &api) < 0) {
        close(uffd);
        return NULL;
    }
    MigLazy *lz = g_new0(MigLazy, 1);
    lz->uffd = uffd;
    /* An open file description of its own: SEEK_DATA/SEEK_HOLE move the file offset,
     * which a dup() would share with the channel still reading the stream's records
     * after the RAM area (the records were then read from inside the RAM area). */
    g_autofree char *path = g_strdup_printf("/proc/self/fd/%d", fd);
    lz->fd = open(path, O_RDONLY | O_CLOEXEC);
    if (lz->fd < 0) {
        mig_lazy_free(lz);
        return NULL;
    }
    g_mutex_init(&lz->lock);
    g_cond_init(&lz->cond);
    lz->buf = g_malloc(LAZY_RUN_PAGES * RAM_PAGE_SIZE);
    return lz;
}

bool mig_lazy_add(MigLazy *lz, RamBlock *b, uint64_t off)
{
    lz->blk = g_renew(LazyBlock, lz->blk, lz->n + 1);
    LazyBlock *lb = &lz->blk[lz->n];
    *lb = (LazyBlock){ .b = b, .off = off };
    if (!take_block(lz, lb))
        return false;
    lb->done = g_new0(uint64_t, ram_block_bitmap_words(b));
    lz->n++;
    lz->st.blocks++;
    return true;
}

void mig_lazy_start(MigLazy *lz)
{
    lz->thread = g_thread_new("restore-fill", fill_thread, lz);
}

bool mig_lazy_wait_cancel(MigLazy *lz, const volatile int *cancel)
{
    if (!lz || !lz->thread)
        return true;
    g_mutex_lock(&lz->lock);
    while (!lz->finished && !(cancel && *cancel))     /* a cancel is seen within 50 ms */
        g_cond_wait_until(&lz->cond, &lz->lock, g_get_monotonic_time() + 50000);
    bool f = lz->finished;
    g_mutex_unlock(&lz->lock);
    return f;
}

void mig_lazy_wait(MigLazy *lz)
{
    mig_lazy_wait_cancel(lz, NULL);
}

bool mig_lazy_finished(MigLazy *lz)
{
    if (!lz || !lz->thread)
        return true;
    g_mutex_lock(&lz->lock);
    bool f = lz->finished;
    g_mutex_unlock(&lz->lock);
    return f;
}

int mig_lazy_file_fd(MigLazy *lz)
{
    return lz->fd;
}

MigLazyStats mig_lazy_stats(MigLazy *lz)
{
    g_mutex_lock(&lz->lock);
    MigLazyStats st = lz->st;
    g_mutex_unlock(&lz->lock);
    return st;
}

void mig_lazy_free(MigLazy *lz)
{
    if (!lz)
        return;
    if (lz->thread) {
        lz->stop = 1;
        g_thread_join(lz->thread);
    } else {
        unregister_all(lz);
    }
    for (unsigned i = 0; i < lz->n; i++)
        g_free(lz->blk[i].done);
    g_free(lz->blk);
    g_free(lz->buf);
    if (lz->uffd >= 0)
        close(lz->uffd);
    if (lz->fd >= 0)
        close(lz->fd);
    if (lz->thread) {
        g_mutex_clear(&lz->lock);
        g_cond_clear(&lz->cond);
    }
    g_free(lz);
}
