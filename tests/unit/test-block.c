/*
 * Unit tests of the generic block layer: coroutines and their locks, scatter/gather
 * vectors, the raw driver (holes, discard, zeroes, resize), O_DIRECT alignment
 * handling, asynchronous requests, the thread-pool fallback, image locking, options.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "block/block-int.h"
#include "block-fixture.h"

static BlockBackend *open_raw(Fixture *f, const char *name, int64_t size, BlockCacheMode c)
{
    char *path = g_build_filename(f->dir, name, NULL);
    BlockOpenOptions o;
    BlockBackend *blk;
    GError *err = NULL;

    if (size >= 0) {
        g_assert_cmpint(block_create(f->eng, path, "raw", NULL, size, &err), ==, 0);
    }
    block_open_options_init(&o);
    o.format = "raw";
    o.cache = c;
    blk = blk_open(f->eng, path, &o, &err);
    g_assert_no_error(err);
    g_free(path);
    return blk;
}

/* ---- coroutines ---------------------------------------------------------------------- */

typedef struct CoTest {
    CoContext *ctx;
    CoMutex m;
    CoQueue q;
    GString *log;
    Coroutine *parked;
} CoTest;

static void co_yielder(void *opaque)
{
    CoTest *t = opaque;

    g_string_append_c(t->log, 'a');
    co_yield(t->ctx);
    g_string_append_c(t->log, 'c');
}

static void co_locker(void *opaque)
{
    CoTest *t = opaque;

    co_mutex_lock(t->ctx, &t->m);
    g_string_append_c(t->log, 'L');
    co_queue_wait(t->ctx, &t->q, &t->m);     /* drops the lock while waiting */
    g_string_append_c(t->log, 'W');
    co_mutex_unlock(t->ctx, &t->m);
}

static void co_nested(void *opaque)
{
    CoTest *t = opaque;
    Coroutine *inner = co_create(t->ctx, co_yielder, t);

    co_enter(t->ctx, inner);                 /* runs until its yield, comes back here */
    g_string_append_c(t->log, 'b');
    t->parked = inner;
}

static void test_coroutines(void)
{
    CoContext ctx;
    CoTest t = { .ctx = &ctx, .log = g_string_new(NULL) };
    Coroutine *a, *b;

    co_context_init(&ctx);
    co_mutex_init(&t.m);
    co_queue_init(&t.q);
    co_enter(&ctx, co_create(&ctx, co_nested, &t));
    co_enter(&ctx, t.parked);
    g_assert_cmpstr(t.log->str, ==, "abc");
    g_assert_null(co_self(&ctx));
    g_string_truncate(t.log, 0);
    a = co_create(&ctx, co_locker, &t);
    b = co_create(&ctx, co_locker, &t);
    co_enter(&ctx, a);
    co_enter(&ctx, b);                       /* lock is free again while a waits */
    g_assert_cmpstr(t.log->str, ==, "LL");
    g_assert_cmpint(co_queue_restart_all(&ctx, &t.q), ==, 2);
    g_assert_cmpstr(t.log->str, ==, "LLWW");
    g_assert_false(t.m.locked);
    unsigned before = ctx.live;
    for (int i = 0; i < 1000; i++) {         /* finished coroutines go back to the pool */
        Coroutine *c = co_create(&ctx, co_yielder, &t);
        co_enter(&ctx, c);                   /* to its yield */
        co_enter(&ctx, c);                   /* to its end */
    }
    g_assert_cmpuint(ctx.live, ==, before);
    co_context_destroy(&ctx);
    g_string_free(t.log, TRUE);
}

/* ---- iov ------------------------------------------------------------------------------ */

static void test_iov(void)
{
    char a[10] = "0123456789", b[6] = "abcdef", out[16] = { 0 };
    BlkIov q, s;

    blkiov_init(&q, 1);
    blkiov_add(&q, a, 10);
    blkiov_add(&q, b, 6);
    g_assert_cmpuint(q.size, ==, 16);
    g_assert_cmpuint(blkiov_to_buf(&q, 8, out, 5), ==, 5);
    g_assert_cmpstr(out, ==, "89abc");
    blkiov_init(&s, 1);
    blkiov_concat(&s, &q, 9, 3);
    g_assert_cmpint(s.niov, ==, 2);
    g_assert_cmpuint(s.size, ==, 3);
    blkiov_memset(&q, 9, 0, 2);
    g_assert_cmpint(a[9], ==, 0);
    g_assert_cmpint(b[0], ==, 0);
    g_assert_false(blkiov_is_zero(&q, 8, 3));
    g_assert_true(blkiov_is_zero(&q, 9, 2));
    g_assert_true(buffer_is_zero((char[40]){ 0 }, 40));
    g_assert_false(buffer_is_zero((char[40]){ [39] = 1 }, 40));
    blkiov_destroy(&q);
    blkiov_destroy(&s);
}

/* ---- raw ------------------------------------------------------------------------------ */

static void test_raw(Fixture *f, gconstpointer data)
{
    BlockBackend *blk = open_raw(f, "r.raw", 4 << 20, BLOCK_CACHE_WRITEBACK);
    uint8_t buf[8192];
    BlockStatus st;
    int64_t pnum;
    GError *err = NULL;

    memset(buf, 0x42, sizeof(buf));
    g_assert_cmpint(blk_pwrite(blk, 1 << 20, buf, sizeof(buf), 0), ==, 0);
    g_assert_cmpint(blk_block_status(blk, 0, 4 << 20, &pnum, &st), ==, 0);
    g_assert_true(st.zero);                                /* a hole */
    g_assert_cmpint(pnum, ==, 1 << 20);
    g_assert_cmpint(blk_block_status(blk, 1 << 20, 3 << 20, &pnum, &st), ==, 0);
    g_assert_true(st.data);
    g_assert_cmpint(blk_pwrite_zeroes(blk, (1 << 20) + 100, 200, 0), ==, 0);
    g_assert_cmpint(blk_pread(blk, 1 << 20, buf, sizeof(buf)), ==, 0);
    g_assert_cmpint(buf[99], ==, 0x42);
    g_assert_cmpint(buf[100], ==, 0);
    g_assert_cmpint(buf[300], ==, 0x42);
    g_assert_cmpint(blk_pdiscard(blk, 1 << 20, 4096), ==, 0);
    g_assert_cmpint(blk_pread(blk, 1 << 20, buf, 4096), ==, 0);
    g_assert_true(buffer_is_zero(buf, 4096));
    g_assert_cmpint(blk_pread(blk, (4 << 20) - 10, buf, 20), ==, -EIO);   /* past end */
    g_assert_cmpint(blk_truncate(blk, 8 << 20, BLOCK_PREALLOC_OFF, &err), ==, 0);
    g_assert_cmpint(blk_getlength(blk), ==, 8 << 20);
    g_assert_cmpint(blk_pread(blk, (8 << 20) - 10, buf, 10), ==, 0);
    g_assert_cmpint(blk_close(blk), ==, 0);
}

static void test_direct_alignment(Fixture *f, gconstpointer data)
{
    BlockBackend *blk = open_raw(f, "d.raw", 1 << 20, BLOCK_CACHE_NONE);
    uint8_t *buf = g_malloc(10000), *check = g_malloc(10000);

    if (!blk) {
        g_test_skip("no O_DIRECT here");
        return;
    }
    for (int i = 0; i < 10000; i++) {
        buf[i] = i * 7;
    }
    /* Unaligned offsets, lengths and (heap) buffers: bounced and read-modify-written. */
    g_assert_cmpint(blk_pwrite(blk, 4097, buf + 1, 9999, 0), ==, 0);
    g_assert_cmpint(blk_pread(blk, 4097, check + 1, 9999), ==, 0);
    g_assert_cmpmem(buf + 1, 9999, check + 1, 9999);
    g_assert_cmpint(blk_pread(blk, 4096, check, 1), ==, 0);
    g_assert_cmpint(check[0], ==, 0);
    g_assert_cmpint(blk_flush(blk), ==, 0);
    blk_close(blk);
    g_free(buf);
    g_free(check);
}

/* ---- asynchronous requests --------------------------------------------------------- */

typedef struct AioState {
    int done;
    int errors;
} AioState;

static void aio_cb(void *opaque, int ret)
{
    AioState *a = opaque;

    a->done++;
    a->errors += ret < 0;
}

static void run_aio(Fixture *f, const char *name)
{
    BlockBackend *blk = open_raw(f, name, 1 << 20, BLOCK_CACHE_WRITEBACK);
    enum { N = 64 };
    static uint8_t bufs[N][4096];
    struct iovec iov[N];
    AioState a = { 0 };

    for (int i = 0; i < N; i++) {
        memset(bufs[i], i + 1, 4096);
        iov[i] = (struct iovec){ bufs[i], 4096 };
        blk_aio_pwritev(blk, i * 4096, &iov[i], 1, 0, aio_cb, &a);
    }
    g_assert_cmpint(a.done, ==, 0);                        /* never completes inline */
    blk_drain(blk);
    g_assert_cmpint(a.done, ==, N);
    blk_aio_flush(blk, aio_cb, &a);
    blk_drain(blk);
    memset(bufs, 0, sizeof(bufs));
    for (int i = 0; i < N; i++) {
        blk_aio_preadv(blk, i * 4096, &iov[i], 1, aio_cb, &a);
    }
    blk_drain(blk);
    g_assert_cmpint(a.done, ==, 2 * N + 1);
    g_assert_cmpint(a.errors, ==, 0);
    for (int i = 0; i < N; i++) {
        g_assert_cmpint(bufs[i][0], ==, i + 1);
        g_assert_cmpint(bufs[i][4095], ==, i + 1);
    }
    blk_close(blk);
}

static void test_aio(Fixture *f, gconstpointer data)
{
    run_aio(f, "aio.raw");
}

static void test_thread_pool(Fixture *f, gconstpointer data)
{
    /* The fallback used when io_uring is unavailable. */
    block_engine_free(f->eng);
    f->eng = block_engine_new_full(NULL, false);
    g_assert_false(block_engine_has_io_uring(f->eng));
    run_aio(f, "pool.raw");
}

/* aio-max-batch=N: io_uring gets the requests queued N at a time (the engine's batch of
 * 32 otherwise); the submissions are counted while 64 reads are queued, before the
 * main loop runs. */
static uint64_t batch_submits(Fixture *f, const char *name, uint64_t max_batch)
{
    g_autofree char *path = g_build_filename(f->dir, name, NULL);
    enum { N = 64 };
    static uint8_t bufs[N][512];
    struct iovec iov[N];
    AioState a = { 0 };
    BlockOpenOptions o;
    GError *err = NULL;

    g_assert_cmpint(block_create(f->eng, path, "raw", NULL, N * 512, &err), ==, 0);
    block_open_options_init(&o);
    o.format = "raw";
    o.aio = BLOCK_AIO_IO_URING;
    o.aio_max_batch = max_batch;
    BlockBackend *blk = blk_open(f->eng, path, &o, &err);
    g_assert_no_error(err);
    uint64_t before = f->eng->uring_submits;
    for (int i = 0; i < N; i++) {
        iov[i] = (struct iovec){ bufs[i], 512 };
        blk_aio_preadv(blk, i * 512, &iov[i], 1, aio_cb, &a);
    }
    uint64_t n = f->eng->uring_submits - before;
    blk_drain(blk);
    g_assert_cmpint(a.done, ==, N);
    g_assert_cmpint(a.errors, ==, 0);
    blk_close(blk);
    return n;
}

static void test_aio_max_batch(Fixture *f, gconstpointer data)
{
    if (!block_engine_has_io_uring(f->eng)) {
        g_test_skip("io_uring is not available here (aio-max-batch batches its requests)");
        return;
    }
    g_assert_cmpuint(batch_submits(f, "b0.raw", 0), ==, 64 / ENGINE_SUBMIT_BATCH);
    g_assert_cmpuint(batch_submits(f, "b4.raw", 4), ==, 16);
    g_assert_cmpuint(batch_submits(f, "b1.raw", 1), ==, 64);
    g_assert_cmpuint(batch_submits(f, "b99.raw", 99), ==, 64 / ENGINE_SUBMIT_BATCH);
}

/* ---- locking, options -------------------------------------------------------------- */

static void test_locking(Fixture *f, gconstpointer data)
{
    char *path = g_build_filename(f->dir, "l.raw", NULL);
    BlockBackend *w = open_raw(f, "l.raw", 1 << 20, BLOCK_CACHE_WRITEBACK), *r;
    BlockOpenOptions o;
    GError *err = NULL;

    block_open_options_init(&o);
    o.format = "raw";
    g_assert_null(blk_open(f->eng, path, &o, &err));       /* second writer */
    g_assert_nonnull(strstr(err->message, "lock"));
    g_assert_nonnull(strstr(err->message, path));
    g_clear_error(&err);
    o.read_only = true;
    g_assert_null(blk_open(f->eng, path, &o, &err));       /* readers refuse writers */
    g_clear_error(&err);
    o.force_share = true;
    r = blk_open(f->eng, path, &o, &err);
    g_assert_no_error(err);
    blk_close(r);
    blk_close(w);
    o.force_share = false;
    r = blk_open(f->eng, path, &o, &err);                  /* two readers are fine */
    w = blk_open(f->eng, path, &o, &err);
    g_assert_no_error(err);
    blk_close(r);
    blk_close(w);
    g_free(path);
}

/* The lock bytes (100..103, 200..203) some open file description holds on @path, as
 * "100 101 201": probed from a description of our own (OFD locks of the same process
 * on other descriptions conflict with it; its own would not). */
static char *held(const char *path)
{
    GString *s = g_string_new(NULL);
    int fd = open(path, O_RDONLY | O_CLOEXEC);

    g_assert_cmpint(fd, >=, 0);
    for (int base = 100; base <= 200; base += 100) {
        for (int i = 0; i < 4; i++) {
            struct flock fl = { .l_whence = SEEK_SET, .l_start = base + i, .l_len = 1,
                                .l_type = F_WRLCK };
            g_assert_cmpint(fcntl(fd, F_OFD_GETLK, &fl), ==, 0);
            if (fl.l_type != F_UNLCK) {
                g_string_append_printf(s, "%s%d", s->len ? " " : "", base + i);
            }
        }
    }
    close(fd);
    return g_string_free(s, FALSE);
}

static BlockBackend *open_as(Fixture *f, const char *path, BlockUser user, bool ro,
                             BlockLocking locking, bool force_share)
{
    BlockOpenOptions o;
    GError *err = NULL;

    block_open_options_init(&o);
    o.user = user;
    o.read_only = ro;
    o.locking = locking;
    o.force_share = force_share;
    BlockBackend *blk = blk_open(f->eng, path, &o, &err);
    g_assert_no_error(err);
    return blk;
}

#define ASSERT_HELD(path, want) do { \
        g_autofree char *h_ = held(path); \
        g_assert_cmpstr(h_, ==, want); \
    } while (0)

/* The bytes QEMU 7.2 locks for the same configuration (its file-posix.c layout, measured
 * from /proc/locks; tests/compat/vm_locking.py checks both against each other): per
 * user, format, read-only, device, force-share, locking=, and the backing file. */
static void test_lock_bytes(Fixture *f, gconstpointer data)
{
    g_autofree char *raw = g_build_filename(f->dir, "lb.raw", NULL);
    g_autofree char *qc = g_build_filename(f->dir, "lb.qcow2", NULL);
    g_autofree char *ov = g_build_filename(f->dir, "lb-ov.qcow2", NULL);
    g_autofree char *bopt = g_strdup_printf("backing_file=%s,backing_fmt=raw", raw);
    GError *err = NULL;
    BlockBackend *a, *b;

    g_assert_cmpint(block_create(f->eng, raw, "raw", NULL, 1 << 20, &err), ==, 0);
    g_assert_cmpint(block_create(f->eng, qc, "qcow2", NULL, 1 << 20, &err), ==, 0);
    g_assert_cmpint(block_create(f->eng, ov, "qcow2", bopt, -1, &err), ==, 0);
    g_assert_no_error(err);

    /* -drive raw: reads only until a disk takes it; a CD-ROM neither writes nor lets
     * resize; after the device, reads again. */
    a = open_as(f, raw, BLOCK_USER_DRIVE, false, BLOCK_LOCKING_AUTO, false);
    ASSERT_HELD(raw, "100");
    g_assert_true(blk_attach_dev(a, false, true, &err));
    ASSERT_HELD(raw, "100 101 201");
    blk_detach_dev(a);
    ASSERT_HELD(raw, "100");
    g_assert_true(blk_attach_dev(a, true, false, &err));
    ASSERT_HELD(raw, "100 201 203");
    blk_detach_dev(a);
    blk_close(a);
    ASSERT_HELD(raw, "");
    /* readonly=on with a disk; force-share=on shares everything. */
    a = open_as(f, raw, BLOCK_USER_DRIVE, true, BLOCK_LOCKING_AUTO, false);
    g_assert_true(blk_attach_dev(a, true, true, &err));
    ASSERT_HELD(raw, "100 201");
    blk_close(a);
    a = open_as(f, raw, BLOCK_USER_DRIVE, true, BLOCK_LOCKING_AUTO, true);
    g_assert_true(blk_attach_dev(a, true, true, &err));
    ASSERT_HELD(raw, "100");
    blk_close(a);
    /* qcow2: its file is metadata, locked as soon as it is open, whoever holds it. */
    a = open_as(f, qc, BLOCK_USER_DRIVE, false, BLOCK_LOCKING_AUTO, false);
    ASSERT_HELD(qc, "100 101 103 201 203");
    g_assert_true(blk_attach_dev(a, false, true, &err));
    ASSERT_HELD(qc, "100 101 103 201 203");
    blk_close(a);
    a = open_as(f, qc, BLOCK_USER_NODE, true, BLOCK_LOCKING_AUTO, false);
    ASSERT_HELD(qc, "100 201 203");
    blk_close(a);
    a = open_as(f, qc, BLOCK_USER_DRIVE, true, BLOCK_LOCKING_AUTO, true);
    ASSERT_HELD(qc, "100");
    blk_close(a);
    /* A -blockdev raw root: nothing until a device. */
    a = open_as(f, raw, BLOCK_USER_NODE, false, BLOCK_LOCKING_AUTO, false);
    ASSERT_HELD(raw, "");
    blk_close(a);
    /* The backing file: read, writes and resizes unshared; locking=off of the overlay
     * is the overlay's (QEMU: a backing file named by the header has its own options). */
    a = open_as(f, ov, BLOCK_USER_DRIVE, false, BLOCK_LOCKING_AUTO, false);
    ASSERT_HELD(ov, "100 101 103 201 203");
    ASSERT_HELD(raw, "100 201 203");
    blk_close(a);
    a = open_as(f, ov, BLOCK_USER_DRIVE, false, BLOCK_LOCKING_OFF, false);
    g_assert_true(blk_attach_dev(a, false, true, &err));
    ASSERT_HELD(ov, "");
    ASSERT_HELD(raw, "100 201 203");
    blk_close(a);
    /* locking=off: nothing, device or not; nobody is kept out. */
    a = open_as(f, raw, BLOCK_USER_DRIVE, false, BLOCK_LOCKING_OFF, false);
    b = open_as(f, raw, BLOCK_USER_DRIVE, false, BLOCK_LOCKING_OFF, false);
    g_assert_true(blk_attach_dev(a, false, true, &err));
    g_assert_true(blk_attach_dev(b, false, true, &err));
    g_assert_no_error(err);
    ASSERT_HELD(raw, "");
    blk_close(a);
    blk_close(b);
}

/* A device that another process's locks keep out: QEMU's error naming the file, and the
 * locks of the refused side as they were; once the holder is gone it attaches. A
 * migration destination (inactive) holds nothing and takes the device's locks when it
 * becomes active. */
static void test_lock_conflicts(Fixture *f, gconstpointer data)
{
    g_autofree char *raw = g_build_filename(f->dir, "lc.raw", NULL);
    GError *err = NULL;
    BlockOpenOptions o;

    g_assert_cmpint(block_create(f->eng, raw, "raw", NULL, 1 << 20, &err), ==, 0);
    BlockBackend *a = open_as(f, raw, BLOCK_USER_DRIVE, false, BLOCK_LOCKING_AUTO, false);
    g_assert_true(blk_attach_dev(a, false, true, &err));
    BlockBackend *b = open_as(f, raw, BLOCK_USER_DRIVE, false, BLOCK_LOCKING_AUTO, false);
    g_assert_false(blk_attach_dev(b, false, true, &err));
    g_assert_error(err, G_IO_ERROR, G_IO_ERROR_BUSY);
    g_autofree char *want = g_strdup_printf("Failed to get \"write\" lock on '%s': is another "
                                            "process using the image?", raw);
    g_assert_cmpstr(err->message, ==, want);
    g_clear_error(&err);
    g_assert_false(blk_attach_dev(b, true, true, &err));    /* a reader: write unshared */
    g_assert_nonnull(strstr(err->message, "Failed to get shared \"write\" lock"));
    g_clear_error(&err);
    blk_close(a);
    ASSERT_HELD(raw, "100");                                /* b rolled back to -drive's */
    g_assert_true(blk_attach_dev(b, false, true, &err));
    ASSERT_HELD(raw, "100 101 201");
    /* Neither a second writer nor a reader with a device gets in now. */
    g_assert_null(blk_open(f->eng, raw, &(BlockOpenOptions){ .read_only = true }, &err));
    g_clear_error(&err);
    blk_close(b);

    block_open_options_init(&o);
    o.user = BLOCK_USER_DRIVE;
    o.inactive = true;
    BlockBackend *in = blk_open(f->eng, raw, &o, &err);
    g_assert_no_error(err);
    g_assert_true(blk_attach_dev(in, false, true, &err));
    ASSERT_HELD(raw, "");
    o.inactive = false;
    g_assert_true(blk_set_active(in, true, &o, &err));
    g_assert_no_error(err);
    ASSERT_HELD(raw, "100 101 201");
    g_assert_true(blk_set_active(in, false, &o, &err));
    ASSERT_HELD(raw, "");
    /* The hand-over back fails while another process has the device's bytes. */
    a = open_as(f, raw, BLOCK_USER_DRIVE, true, BLOCK_LOCKING_AUTO, false);
    g_assert_true(blk_attach_dev(a, true, true, &err));
    g_assert_false(blk_set_active(in, true, &o, &err));
    g_assert_nonnull(strstr(err->message, "Failed to get \"write\" lock"));
    g_clear_error(&err);
    g_assert_true(blk_is_inactive(in));
    ASSERT_HELD(raw, "100 201");
    blk_close(a);
    blk_close(in);
}

static void test_options(Fixture *f, gconstpointer data)
{
    BlockCacheMode c;
    BlockPrealloc p;
    char *path = g_build_filename(f->dir, "o.qcow2", NULL);
    GError *err = NULL;

    g_assert_true(block_cache_mode_parse("directsync", &c) && c == BLOCK_CACHE_DIRECTSYNC);
    g_assert_false(block_cache_mode_parse("fast", &c));
    g_assert_true(block_prealloc_parse("falloc", &p) && p == BLOCK_PREALLOC_FALLOC);
    g_assert_cmpint(block_parse_size("64k"), ==, 65536);
    g_assert_cmpint(block_parse_size("1.5G"), ==, 3LL << 29);
    g_assert_cmpint(block_parse_size("12x"), ==, -1);
    g_assert_cmpint(block_create(f->eng, path, "qcow2", "cluster_sise=4k", 1 << 20, &err),
                    <, 0);
    g_assert_nonnull(strstr(err->message, "cluster_sise"));
    g_clear_error(&err);
    g_assert_cmpint(block_create(f->eng, path, "qcow2", "cluster_size=3000", 1 << 20, &err),
                    <, 0);
    g_assert_nonnull(strstr(err->message, "cluster_size"));
    g_clear_error(&err);
    g_assert_cmpint(block_create(f->eng, path, "qcow2", "compat=0.10,lazy_refcounts=on",
                                 1 << 20, &err), <, 0);
    g_clear_error(&err);
    g_assert_cmpint(block_create(f->eng, path, "vmdk", NULL, 1 << 20, &err), <, 0);
    g_clear_error(&err);
    g_free(path);
}

static void test_probe(Fixture *f, gconstpointer data)
{
    char *q = g_build_filename(f->dir, "p.qcow2", NULL);
    char *v = g_build_filename(f->dir, "p.vmdk", NULL);
    BlockOpenOptions o;
    BlockBackend *blk;
    GError *err = NULL;

    g_assert_cmpint(block_create(f->eng, q, "qcow2", NULL, 1 << 20, &err), ==, 0);
    block_open_options_init(&o);
    blk = blk_open(f->eng, q, &o, &err);
    g_assert_cmpstr(blk_format(blk), ==, "qcow2");
    blk_close(blk);
    g_file_set_contents(v, "KDMV\1\0\0\0", 8, NULL);
    g_assert_null(blk_open(f->eng, v, &o, &err));
    g_assert_nonnull(strstr(err->message, "vmdk"));
    g_clear_error(&err);
    g_free(q);
    g_free(v);
}

/* Issue 13 item 10: backing files are opened non-blocking and must be regular files or
 * block devices; the chain can be pinned (BLOCK_BACKING_NONE / _EXPLICIT) and implicit
 * backing files refused. */
static uint8_t read_byte(Fixture *f, const char *path, const BlockOpenOptions *o,
                         GError **err)
{
    BlockBackend *blk = blk_open(f->eng, path, o, err);
    uint8_t b = 0xee;
    if (!blk)
        return 0xee;
    g_assert_cmpint(blk_pread(blk, 0, &b, 1), ==, 0);
    blk_close(blk);
    return b;
}

static char *raw_with(Fixture *f, const char *name, uint8_t byte)
{
    char *path = g_build_filename(f->dir, name, NULL);
    BlockOpenOptions o;
    GError *err = NULL;
    uint8_t buf[4096];
    g_assert_cmpint(block_create(f->eng, path, "raw", NULL, 1 << 20, &err), ==, 0);
    block_open_options_init(&o);
    o.format = "raw";
    BlockBackend *blk = blk_open(f->eng, path, &o, &err);
    memset(buf, byte, sizeof(buf));
    g_assert_cmpint(blk_pwrite(blk, 0, buf, sizeof(buf), 0), ==, 0);
    blk_close(blk);
    return path;
}

static void test_backing_pinned(Fixture *f, gconstpointer data)
{
    g_autofree char *base = raw_with(f, "base.raw", 0x11);
    g_autofree char *other = raw_with(f, "other.raw", 0x22);
    g_autofree char *top = g_build_filename(f->dir, "top.qcow2", NULL);
    g_autofree char *opts = g_strdup_printf("backing_file=%s,backing_fmt=raw", base);
    BlockOpenOptions o, ob;
    GError *err = NULL;
    g_assert_cmpint(block_create(f->eng, top, "qcow2", opts, 1 << 20, &err), ==, 0);
    block_open_options_init(&o);
    g_assert_cmphex(read_byte(f, top, &o, &err), ==, 0x11);      /* the header's */
    o.backing = BLOCK_BACKING_NONE;                               /* backing=null */
    g_assert_cmphex(read_byte(f, top, &o, &err), ==, 0);
    g_assert_no_error(err);
    block_open_options_init(&ob);
    ob.format = "raw";
    o.backing = BLOCK_BACKING_EXPLICIT;                           /* backing.file.filename= */
    o.backing_filename = other;
    o.backing_options = &ob;
    g_assert_cmphex(read_byte(f, top, &o, &err), ==, 0x22);
    g_assert_no_error(err);
    o.refuse_implicit_backing = true;                             /* pinned: allowed */
    g_assert_cmphex(read_byte(f, top, &o, &err), ==, 0x22);
    g_assert_no_error(err);
    o.backing = BLOCK_BACKING_HEADER;                             /* from the header: no */
    g_assert_cmphex(read_byte(f, top, &o, &err), ==, 0xee);
    g_assert_nonnull(strstr(err->message, "implicit-backing=off"));
    g_assert_nonnull(strstr(err->message, base));
    g_clear_error(&err);
    /* A backing node for a format without backing files is an error. */
    block_open_options_init(&o);
    o.format = "raw";
    o.backing = BLOCK_BACKING_EXPLICIT;
    o.backing_filename = other;
    g_assert_cmphex(read_byte(f, base, &o, &err), ==, 0xee);
    g_assert_nonnull(strstr(err->message, "does not support backing files"));
    g_clear_error(&err);
}

static void test_backing_fifo(Fixture *f, gconstpointer data)
{
    g_autofree char *fifo = g_build_filename(f->dir, "fifo", NULL);
    g_autofree char *top = g_build_filename(f->dir, "f.qcow2", NULL);
    g_autofree char *opts = g_strdup_printf("backing_file=%s,backing_fmt=raw", fifo);
    BlockOpenOptions o;
    GError *err = NULL;
    g_assert_cmpint(mkfifo(fifo, 0600), ==, 0);
    g_assert_cmpint(block_create(f->eng, top, "qcow2", opts, 1 << 20, &err), ==, 0);
    block_open_options_init(&o);
    /* Before the fix this open() never returned (no writer on the FIFO). */
    g_assert_null(blk_open(f->eng, top, &o, &err));
    g_assert_nonnull(strstr(err->message, "not a regular file or block device (a FIFO)"));
    g_clear_error(&err);
    o.format = "raw";
    g_assert_null(blk_open(f->eng, fifo, &o, &err));
    g_clear_error(&err);
    g_assert_null(blk_open(f->eng, "/dev/null", &o, &err));
    g_assert_nonnull(strstr(err->message, "a character device"));
    g_clear_error(&err);
    unlink(fifo);
}

/* discard=ignore/unmap and detect-zeroes=on/unmap on a qcow2 image: what ends up
 * allocated; the error policy parser (enospc is for writes only) and the actions. */
static BlockBackend *open_q(Fixture *f, const char *path, bool discard_ignore,
                            BlockDetectZeroes dz)
{
    BlockOpenOptions o;
    GError *err = NULL;
    block_open_options_init(&o);
    o.format = "qcow2";
    o.discard_ignore = discard_ignore;
    o.detect_zeroes = dz;
    BlockBackend *blk = blk_open(f->eng, path, &o, &err);
    g_assert_no_error(err);
    return blk;
}

static void test_discard_detect_zeroes(Fixture *f, gconstpointer data)
{
    g_autofree char *p = g_build_filename(f->dir, "dz.qcow2", NULL);
    GError *err = NULL;
    uint8_t buf[65536];
    BlockStatus st;
    int64_t pnum;

    g_assert_cmpint(block_create(f->eng, p, "qcow2", NULL, 4 << 20, &err), ==, 0);
    /* detect-zeroes=off: zeroes are data */
    BlockBackend *blk = open_q(f, p, true, BLOCK_DETECT_ZEROES_OFF);
    memset(buf, 0, sizeof(buf));
    g_assert_cmpint(blk_pwrite(blk, 0, buf, sizeof(buf), 0), ==, 0);
    g_assert_cmpint(blk_block_status(blk, 0, 65536, &pnum, &st), ==, 0);
    g_assert_true(st.data);
    /* discard=ignore: the discard succeeds and frees nothing */
    g_assert_cmpint(blk_pdiscard(blk, 0, 65536), ==, 0);
    g_assert_cmpint(blk_block_status(blk, 0, 65536, &pnum, &st), ==, 0);
    g_assert_true(st.data);
    g_assert_cmpint(blk_close(blk), ==, 0);
    /* detect-zeroes=on: a zero write of a new cluster stores no data */
    blk = open_q(f, p, true, BLOCK_DETECT_ZEROES_ON);
    g_assert_cmpint(blk_pwrite(blk, 65536, buf, sizeof(buf), 0), ==, 0);
    g_assert_cmpint(blk_block_status(blk, 65536, 65536, &pnum, &st), ==, 0);
    g_assert_false(st.data);
    g_assert_true(st.zero);
    memset(buf, 0x5a, sizeof(buf));                 /* non-zero data is written */
    g_assert_cmpint(blk_pwrite(blk, 131072, buf, sizeof(buf), 0), ==, 0);
    g_assert_cmpint(blk_block_status(blk, 131072, 65536, &pnum, &st), ==, 0);
    g_assert_true(st.data);
    g_assert_cmpint(blk_close(blk), ==, 0);
    /* discard=unmap: the data cluster goes; detect-zeroes=unmap over data frees it */
    blk = open_q(f, p, false, BLOCK_DETECT_ZEROES_UNMAP);
    g_assert_cmpint(blk_pdiscard(blk, 0, 65536), ==, 0);
    g_assert_cmpint(blk_block_status(blk, 0, 65536, &pnum, &st), ==, 0);
    g_assert_false(st.data);
    memset(buf, 0, sizeof(buf));
    g_assert_cmpint(blk_pwrite(blk, 131072, buf, sizeof(buf), 0), ==, 0);
    g_assert_cmpint(blk_block_status(blk, 131072, 65536, &pnum, &st), ==, 0);
    g_assert_false(st.data);
    g_assert_cmpint(blk_pread(blk, 131072, buf, sizeof(buf)), ==, 0);
    g_assert_true(buffer_is_zero(buf, sizeof(buf)));
    g_assert_cmpint(blk_close(blk), ==, 0);
}

static void test_error_policy(Fixture *f, gconstpointer data)
{
    BlockBackend *blk = open_raw(f, "e.raw", 1 << 20, BLOCK_CACHE_WRITEBACK);
    BlockOnError e;

    g_assert_true(block_on_error_parse("stop", true, &e) && e == BLOCK_ON_ERROR_STOP);
    g_assert_true(block_on_error_parse("enospc", false, &e) && e == BLOCK_ON_ERROR_ENOSPC);
    g_assert_false(block_on_error_parse("enospc", true, &e));
    g_assert_false(block_on_error_parse("auto", false, &e));
    g_assert_false(block_on_error_parse("", false, &e));
    g_assert_false(block_on_error_parse("STOP", false, &e));
    /* defaults: rerror=report, werror=enospc */
    g_assert_cmpint(blk_get_error_action(blk, true, ENOSPC), ==, BLK_ERROR_ACTION_REPORT);
    g_assert_cmpint(blk_get_error_action(blk, false, ENOSPC), ==, BLK_ERROR_ACTION_STOP);
    g_assert_cmpint(blk_get_error_action(blk, false, EIO), ==, BLK_ERROR_ACTION_REPORT);
    g_assert_false(blk_iostatus_is_enabled(blk));
    blk_iostatus_enable(blk);
    g_assert_true(blk_iostatus_is_enabled(blk));
    blk_iostatus_set_err(blk, ENOSPC);
    g_assert_cmpint(blk_iostatus(blk), ==, BLOCK_IOSTATUS_NOSPACE);
    blk_iostatus_set_err(blk, EIO);                 /* the first error stays */
    g_assert_cmpint(blk_iostatus(blk), ==, BLOCK_IOSTATUS_NOSPACE);
    blk_iostatus_reset(blk);
    g_assert_cmpint(blk_iostatus(blk), ==, BLOCK_IOSTATUS_OK);
    blk_set_on_error(blk, BLOCK_ON_ERROR_STOP, BLOCK_ON_ERROR_IGNORE);
    g_assert_cmpint(blk_get_error_action(blk, true, EIO), ==, BLK_ERROR_ACTION_STOP);
    g_assert_cmpint(blk_get_error_action(blk, false, ENOSPC), ==, BLK_ERROR_ACTION_IGNORE);
    blk_set_on_error(blk, BLOCK_ON_ERROR_AUTO, BLOCK_ON_ERROR_REPORT);  /* auto: unchanged */
    g_assert_cmpint(blk_get_on_error(blk, true), ==, BLOCK_ON_ERROR_STOP);
    g_assert_cmpint(blk_get_on_error(blk, false), ==, BLOCK_ON_ERROR_REPORT);
    g_assert_cmpint(blk_close(blk), ==, 0);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/block/coroutines", test_coroutines);
    g_test_add_func("/block/iov", test_iov);
#define ADD(name, fn) g_test_add("/block/" name, Fixture, NULL, fx_setup, fn, fx_teardown)
    ADD("raw", test_raw);
    ADD("direct-alignment", test_direct_alignment);
    ADD("aio", test_aio);
    ADD("thread-pool", test_thread_pool);
    ADD("aio-max-batch", test_aio_max_batch);
    ADD("locking", test_locking);
    ADD("lock-bytes", test_lock_bytes);
    ADD("lock-conflicts", test_lock_conflicts);
    ADD("options", test_options);
    ADD("backing-pinned", test_backing_pinned);
    ADD("backing-fifo", test_backing_fifo);
    ADD("probe", test_probe);
    ADD("discard-detect-zeroes", test_discard_detect_zeroes);
    ADD("error-policy", test_error_policy);
    return g_test_run();
}
