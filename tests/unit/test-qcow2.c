/*
 * Unit tests of the qcow2 metadata code on small temporary images: cluster allocation
 * and refcounts, copy-on-write from a backing file, every refcount width, L2 cache
 * eviction, zero clusters and discard, snapshots, compressed clusters, check/repair.
 */
#include <string.h>
#include <unistd.h>

#include "block/qcow2.h"
#include "block-fixture.h"

static char *fx_path(Fixture *f, const char *name)
{
    return g_build_filename(f->dir, name, NULL);
}

static BlockBackend *fx_create_open(Fixture *f, const char *name, const char *opts,
                                    int64_t size, uint64_t l2_cache)
{
    char *path = fx_path(f, name);
    BlockOpenOptions o;
    BlockBackend *blk;
    GError *err = NULL;

    g_assert_cmpint(block_create(f->eng, path, "qcow2", opts, size, &err), ==, 0);
    block_open_options_init(&o);
    o.l2_cache_size = l2_cache;
    blk = blk_open(f->eng, path, &o, &err);
    g_assert_no_error(err);
    g_free(path);
    return blk;
}

static BDRVQcow2State *state(BlockBackend *blk)
{
    return blk_root(blk)->opaque;
}

static void assert_clean(BlockBackend *blk)
{
    BlockCheckResult r;
    GError *err = NULL;

    g_assert_cmpint(blk_check(blk, BLOCK_FIX_NONE, &r, &err), ==, 0);
    g_assert_no_error(err);
    g_assert_cmpint(r.corruptions, ==, 0);
    g_assert_cmpint(r.leaks, ==, 0);
    g_assert_cmpint(r.check_errors, ==, 0);
}

static void write_pattern(BlockBackend *blk, int64_t off, int64_t len, int pat)
{
    uint8_t *buf = g_malloc(len);

    memset(buf, pat, len);
    g_assert_cmpint(blk_pwrite(blk, off, buf, len, 0), ==, 0);
    g_free(buf);
}

static void assert_pattern(BlockBackend *blk, int64_t off, int64_t len, int pat)
{
    uint8_t *buf = g_malloc(len);

    g_assert_cmpint(blk_pread(blk, off, buf, len), ==, 0);
    for (int64_t i = 0; i < len; i++) {
        if (buf[i] != pat) {
            g_error("byte %" PRId64 " is %#x, expected %#x", off + i, buf[i], pat);
        }
    }
    g_free(buf);
}

typedef struct MapArgs {
    BDRVQcow2State *s;
    uint64_t off, bytes, host, l2e;
    Qcow2ClusterType type;
} MapArgs;

static int map_co(void *opaque)
{
    MapArgs *a = opaque;

    return qcow2_get_host_offset(a->s, a->off, &a->bytes, &a->host, &a->type, &a->l2e);
}

static MapArgs map(BlockBackend *blk, uint64_t off)
{
    MapArgs a = { .s = state(blk), .off = off, .bytes = 1 };

    g_assert_cmpint(bdrv_run_co(blk_engine(blk), map_co, &a), ==, 0);
    return a;
}

typedef struct RcArgs {
    BDRVQcow2State *s;
    uint64_t cluster, rc;
} RcArgs;

static int rc_co(void *opaque)
{
    RcArgs *a = opaque;

    return qcow2_get_refcount(a->s, a->cluster, &a->rc);
}

static uint64_t refcount_of(BlockBackend *blk, uint64_t host)
{
    RcArgs a = { .s = state(blk), .cluster = host >> state(blk)->cluster_bits };

    g_assert_cmpint(bdrv_run_co(blk_engine(blk), rc_co, &a), ==, 0);
    return a.rc;
}

/* ---- tests ---------------------------------------------------------------------------- */

static void test_allocation(Fixture *f, gconstpointer data)
{
    BlockBackend *blk = fx_create_open(f, "a.qcow2", "cluster_size=4k", 8 << 20, 0);
    MapArgs m0, m1, m2;

    write_pattern(blk, 0, 8192, 0x11);           /* two clusters in one write */
    write_pattern(blk, 1 << 20, 100, 0x22);      /* partial cluster */
    m0 = map(blk, 0);
    m1 = map(blk, 4096);
    m2 = map(blk, 1 << 20);
    g_assert_cmpint(m0.type, ==, QCOW2_CLUSTER_NORMAL);
    g_assert_cmpuint(m1.host, ==, m0.host + 4096);      /* contiguous allocation */
    g_assert_true(m0.l2e & QCOW_OFLAG_COPIED);
    g_assert_cmpuint(refcount_of(blk, m0.host), ==, 1);
    g_assert_cmpuint(refcount_of(blk, m2.host), ==, 1);
    g_assert_cmpint(map(blk, 2 << 20).type, ==, QCOW2_CLUSTER_UNALLOCATED);
    assert_pattern(blk, 1 << 20, 100, 0x22);
    assert_pattern(blk, (1 << 20) + 100, 4096 - 100, 0);   /* the rest of it is zero */
    write_pattern(blk, 0, 4096, 0x33);           /* rewrite in place */
    g_assert_cmpuint(map(blk, 0).host, ==, m0.host);
    assert_clean(blk);
    blk_close(blk);
}

static void test_cow_from_backing(Fixture *f, gconstpointer data)
{
    BlockBackend *base = fx_create_open(f, "base.qcow2", "cluster_size=4k", 1 << 20, 0);
    char *opts = g_strdup_printf("cluster_size=64k,backing_file=%s/base.qcow2,"
                                 "backing_fmt=qcow2", f->dir);
    BlockBackend *top;
    MapArgs m;

    write_pattern(base, 0, 1 << 20, 0x5a);
    blk_close(base);
    top = fx_create_open(f, "top.qcow2", opts, -1, 0);
    g_assert_cmpint(blk_getlength(top), ==, 1 << 20);
    write_pattern(top, 70000, 1000, 0x77);       /* inside the second 64k cluster */
    assert_pattern(top, 65536, 70000 - 65536, 0x5a);
    assert_pattern(top, 70000, 1000, 0x77);
    assert_pattern(top, 71000, 131072 - 71000, 0x5a);
    m = map(top, 65536);
    g_assert_cmpint(m.type, ==, QCOW2_CLUSTER_NORMAL);
    g_assert_cmpint(map(top, 0).type, ==, QCOW2_CLUSTER_UNALLOCATED);
    g_assert_cmpint(blk_pdiscard(top, 65536, 65536), ==, 0);  /* v3: zero, not backing */
    assert_pattern(top, 65536, 65536, 0);
    assert_clean(top);
    blk_close(top);
    g_free(opts);
}

static void test_refcount_widths(Fixture *f, gconstpointer data)
{
    for (int order = 0; order <= 6; order++) {
        BDRVQcow2State s = { .refcount_order = order, .refcount_bits = 1 << order };
        uint64_t max = order == 6 ? UINT64_MAX : (1ULL << (1 << order)) - 1;
        uint8_t blk[512] = { 0 };
        int n = 512 * 8 >> order;

        for (int i = 0; i < n; i++) {
            qcow2_refblock_set(&s, blk, i, (i * 7919ULL) & max);
        }
        for (int i = 0; i < n; i++) {
            g_assert_cmpuint(qcow2_refblock_get(&s, blk, i), ==, (i * 7919ULL) & max);
        }
        if (order == 0) {
            g_assert_cmpint(blk[0] & 1, ==, 0);          /* entry 0 is the low bit */
            g_assert_cmpint((blk[0] >> 1) & 1, ==, 1);   /* 7919 is odd */
        }
    }
    for (int bits = 1; bits <= 64; bits *= 2) {
        char *opts = g_strdup_printf("cluster_size=512,refcount_bits=%d", bits);
        char *name = g_strdup_printf("rc%d.qcow2", bits);
        BlockBackend *blk = fx_create_open(f, name, opts, 16 << 20, 0);

        /* 512-byte clusters: this outgrows the first refcount table cluster. */
        for (int i = 0; i < 64; i++) {
            write_pattern(blk, (int64_t)i * 256 * 1024, 512, i + 1);
        }
        for (int i = 0; i < 64; i++) {
            assert_pattern(blk, (int64_t)i * 256 * 1024, 512, i + 1);
        }
        assert_clean(blk);
        blk_close(blk);
        g_free(opts);
        g_free(name);
    }
}

static void test_l2_cache_eviction(Fixture *f, gconstpointer data)
{
    /* 512-byte clusters: one L2 table maps 32 KiB; a two-table cache must evict
     * (writing dirty tables, after the refcounts they depend on) constantly. */
    BlockBackend *blk = fx_create_open(f, "e.qcow2", "cluster_size=512", 8 << 20, 1024);
    char *path = fx_path(f, "e.qcow2");
    int expect[200];
    BlockOpenOptions o;

    for (int round = 0; round < 2; round++) {
        for (int i = 0; i < 200; i++) {
            int region = (i * 37) % 200, pat = (i + round * 7 + 1) & 0xff;
            write_pattern(blk, (int64_t)region * 40960, 700, pat);
            expect[region] = pat;
        }
    }
    for (int i = 0; i < 200; i++) {
        assert_pattern(blk, (int64_t)i * 40960, 700, expect[i]);
    }
    assert_clean(blk);
    blk_close(blk);
    block_open_options_init(&o);
    o.l2_cache_size = 1024;
    blk = blk_open(f->eng, path, &o, NULL);
    g_assert_nonnull(blk);
    for (int i = 0; i < 200; i++) {
        assert_pattern(blk, (int64_t)i * 40960, 700, expect[i]);
    }
    blk_close(blk);
    g_free(path);
}

static void test_zero_and_discard(Fixture *f, gconstpointer data)
{
    BlockBackend *blk = fx_create_open(f, "z.qcow2", "cluster_size=4k", 4 << 20, 0);
    MapArgs m;
    uint64_t host;

    write_pattern(blk, 0, 64 << 10, 0x44);
    host = map(blk, 8192).host;
    g_assert_cmpint(blk_pwrite_zeroes(blk, 8192, 4096, 0), ==, 0);
    m = map(blk, 8192);
    g_assert_cmpint(m.type, ==, QCOW2_CLUSTER_ZERO_ALLOC);    /* kept, flagged zero */
    g_assert_cmpuint(m.l2e & L2E_OFFSET_MASK, ==, host);
    g_assert_cmpint(blk_pwrite_zeroes(blk, 16384, 4096, BLK_REQ_MAY_UNMAP), ==, 0);
    g_assert_cmpint(map(blk, 16384).type, ==, QCOW2_CLUSTER_ZERO_PLAIN);
    g_assert_cmpint(blk_pdiscard(blk, 20480, 4096 * 3), ==, 0);
    g_assert_cmpint(map(blk, 24576).type, ==, QCOW2_CLUSTER_ZERO_PLAIN);
    g_assert_cmpint(blk_pwrite_zeroes(blk, 40000, 100, 0), ==, 0);  /* partial: data */
    assert_pattern(blk, 8192, 4096, 0);
    assert_pattern(blk, 16384, 16384, 0);
    assert_pattern(blk, 40000, 100, 0);
    assert_pattern(blk, 40100, 4096, 0x44);
    write_pattern(blk, 8192, 512, 0x55);        /* zero-alloc cluster written again */
    assert_pattern(blk, 8192, 512, 0x55);
    assert_pattern(blk, 8704, 4096 - 512, 0);
    assert_clean(blk);
    blk_close(blk);
}

static void test_snapshots(Fixture *f, gconstpointer data)
{
    BlockBackend *blk = fx_create_open(f, "s.qcow2", "cluster_size=4k", 1 << 20, 0);
    BlockSnapshotInfo *list;
    GError *err = NULL;
    MapArgs m;

    write_pattern(blk, 0, 64 << 10, 0x01);
    g_assert_cmpint(blk_snapshot_create(blk, "one", &err), ==, 0);
    m = map(blk, 0);
    g_assert_false(m.l2e & QCOW_OFLAG_COPIED);          /* shared with the snapshot */
    g_assert_cmpuint(refcount_of(blk, m.host), ==, 2);
    write_pattern(blk, 0, 4096, 0x02);                   /* COW of a shared cluster */
    g_assert_cmpuint(map(blk, 0).host, !=, m.host);
    g_assert_true(map(blk, 0).l2e & QCOW_OFLAG_COPIED);
    g_assert_cmpuint(refcount_of(blk, m.host), ==, 1);
    g_assert_cmpint(blk_snapshot_create(blk, "one", &err), <, 0);   /* duplicate */
    g_clear_error(&err);
    g_assert_cmpint(blk_snapshot_create(blk, "two", &err), ==, 0);
    g_assert_cmpint(blk_snapshot_list(blk, &list), ==, 2);
    g_assert_cmpstr(list[0].name, ==, "one");
    g_assert_cmpstr(list[1].id, ==, "2");
    for (int i = 0; i < 2; i++) {
        block_snapshot_info_clear(&list[i]);
    }
    g_free(list);
    write_pattern(blk, 4096, 4096, 0x03);
    assert_clean(blk);
    g_assert_cmpint(blk_snapshot_apply(blk, "one", &err), ==, 0);
    assert_pattern(blk, 0, 64 << 10, 0x01);
    assert_clean(blk);
    g_assert_cmpint(blk_snapshot_apply(blk, "2", &err), ==, 0);   /* by id */
    assert_pattern(blk, 0, 4096, 0x02);
    assert_pattern(blk, 4096, 60 << 10, 0x01);
    g_assert_cmpint(blk_snapshot_delete(blk, "one", &err), ==, 0);
    g_assert_cmpint(blk_snapshot_delete(blk, "two", &err), ==, 0);
    g_assert_cmpint(blk_snapshot_delete(blk, "two", &err), <, 0);
    g_clear_error(&err);
    m = map(blk, 8192);
    g_assert_true(m.l2e & QCOW_OFLAG_COPIED);           /* exclusive again */
    g_assert_cmpuint(refcount_of(blk, m.host), ==, 1);
    assert_clean(blk);
    blk_close(blk);
}

static void test_compressed(Fixture *f, gconstpointer data)
{
    const char *const types[] = { "zlib", "zstd" };

    for (int t = 0; t < 2; t++) {
        char *opts = g_strdup_printf("cluster_size=4k,compression_type=%s", types[t]);
        char *name = g_strdup_printf("c%d.qcow2", t);
        BlockBackend *blk = fx_create_open(f, name, opts, 1 << 20, 0);
        uint8_t *buf = g_malloc(16384);
        MapArgs m;

        for (int i = 0; i < 16384; i++) {
            buf[i] = (i / 100) & 0xff;                   /* compressible */
        }
        g_assert_cmpint(blk_pwrite_compressed(blk, 0, buf, 16384), ==, 0);
        m = map(blk, 4096);
        g_assert_cmpint(m.type, ==, QCOW2_CLUSTER_COMPRESSED);
        memset(buf, 0, 16384);
        g_assert_cmpint(blk_pread(blk, 0, buf, 16384), ==, 0);
        for (int i = 0; i < 16384; i++) {
            g_assert_cmpint(buf[i], ==, (i / 100) & 0xff);
        }
        write_pattern(blk, 5000, 10, 0x99);           /* COW from a compressed cluster */
        g_assert_cmpint(map(blk, 4096).type, ==, QCOW2_CLUSTER_NORMAL);
        g_assert_cmpint(blk_pread(blk, 4096, buf, 4096), ==, 0);
        g_assert_cmpint(buf[0], ==, (4096 / 100) & 0xff);
        g_assert_cmpint(buf[5000 - 4096], ==, 0x99);
        assert_clean(blk);
        blk_close(blk);
        g_free(buf);
        g_free(opts);
        g_free(name);
    }
}

typedef struct LeakArgs {
    BDRVQcow2State *s;
} LeakArgs;

static int make_leak_co(void *opaque)
{
    LeakArgs *a = opaque;
    int64_t off = qcow2_alloc_clusters(a->s, 3);        /* referenced by nothing */

    return off < 0 ? (int)off : qcow2_flush_caches(a->s);
}

static void test_check_repair(Fixture *f, gconstpointer data)
{
    BlockBackend *blk = fx_create_open(f, "r.qcow2", "cluster_size=4k", 1 << 20, 0);
    LeakArgs a = { state(blk) };
    BlockCheckResult r;
    GError *err = NULL;

    write_pattern(blk, 0, 8192, 0x31);
    g_assert_cmpint(bdrv_run_co(blk_engine(blk), make_leak_co, &a), ==, 0);
    g_assert_cmpint(blk_check(blk, BLOCK_FIX_NONE, &r, &err), ==, 0);
    g_assert_cmpint(r.leaks, ==, 3);
    g_assert_cmpint(r.corruptions, ==, 0);
    g_assert_cmpint(r.allocated_clusters, ==, 2);
    g_assert_cmpint(blk_check(blk, BLOCK_FIX_LEAKS, &r, &err), ==, 0);
    g_assert_cmpint(r.leaks_fixed, ==, 3);
    assert_clean(blk);
    assert_pattern(blk, 0, 8192, 0x31);
    blk_close(blk);
}

static void test_lazy_refcounts(Fixture *f, gconstpointer data)
{
    BlockBackend *blk = fx_create_open(f, "l.qcow2", "cluster_size=4k,lazy_refcounts=on",
                                       1 << 20, 0);
    char *path = fx_path(f, "l.qcow2");
    BlockOpenOptions o;
    BlockImageInfo info;

    write_pattern(blk, 0, 4096, 0x61);
    blk_get_info(blk, 0, &info, NULL);
    g_assert_true(info.dirty_flag);                      /* set while refcounts lag */
    block_image_info_clear(&info);
    blk_close(blk);                                      /* clean close clears it */
    block_open_options_init(&o);
    o.read_only = true;
    blk = blk_open(f->eng, path, &o, NULL);
    blk_get_info(blk, 0, &info, NULL);
    g_assert_false(info.dirty_flag);
    g_assert_true(info.lazy_refcounts);
    block_image_info_clear(&info);
    assert_pattern(blk, 0, 4096, 0x61);
    blk_close(blk);
    g_free(path);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
#define ADD(name, fn) g_test_add("/qcow2/" name, Fixture, NULL, fx_setup, fn, fx_teardown)
    ADD("allocation", test_allocation);
    ADD("cow-from-backing", test_cow_from_backing);
    ADD("refcount-widths", test_refcount_widths);
    ADD("l2-cache-eviction", test_l2_cache_eviction);
    ADD("zero-and-discard", test_zero_and_discard);
    ADD("snapshots", test_snapshots);
    ADD("compressed", test_compressed);
    ADD("check-repair", test_check_repair);
    ADD("lazy-refcounts", test_lazy_refcounts);
    return g_test_run();
}
