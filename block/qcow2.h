/*
 * qcow2 driver internals. Section references are to the qcow2 specification
 * (QEMU docs/interop/qcow2.txt): "Header", "Header extensions", "Host cluster
 * management", "Cluster mapping", "Snapshots".
 *
 * Concurrency: one CoMutex (s->lock) protects all metadata; it is dropped for guest
 * data I/O. Clusters being allocated by a write are tracked in s->allocs so that
 * overlapping writes wait for them.
 *
 * Crash consistency (see docs/block.md): refcount increases reach the disk before any
 * L2 entry that uses the cluster (the L2 cache depends on the refcount cache), an L2
 * table reaches the disk before the L1 entry pointing at it, and refcount decreases
 * reach the disk only after the L2 update that dropped the reference. A crash thus
 * leaves leaks at worst.
 */
#ifndef VIREO_BLOCK_QCOW2_H
#define VIREO_BLOCK_QCOW2_H

#include <endian.h>
#include <stdint.h>
#include <string.h>

#include "block-int.h"

#define QCOW2_MAGIC              0x514649fbu   /* "QFI\xfb" */

/* Header: incompatible / compatible / autoclear feature bits */
#define QCOW2_INCOMPAT_DIRTY     (1ULL << 0)
#define QCOW2_INCOMPAT_CORRUPT   (1ULL << 1)
#define QCOW2_INCOMPAT_DATA_FILE (1ULL << 2)
#define QCOW2_INCOMPAT_COMPRESSION (1ULL << 3)
#define QCOW2_INCOMPAT_EXTL2     (1ULL << 4)
#define QCOW2_INCOMPAT_KNOWN     (QCOW2_INCOMPAT_DIRTY | QCOW2_INCOMPAT_CORRUPT | \
                                  QCOW2_INCOMPAT_COMPRESSION)
#define QCOW2_COMPAT_LAZY_REFCOUNTS (1ULL << 0)

/* Header extension types */
#define QCOW2_EXT_END            0x00000000u
#define QCOW2_EXT_BACKING_FORMAT 0xe2792acau
#define QCOW2_EXT_FEATURE_TABLE  0x6803f857u
#define QCOW2_EXT_BITMAPS        0x23852875u
#define QCOW2_EXT_CRYPTO         0x0537be77u
#define QCOW2_EXT_DATA_FILE      0x44415441u

/* Cluster mapping: L1 and L2 entries */
#define QCOW_OFLAG_COPIED        (1ULL << 63)
#define QCOW_OFLAG_COMPRESSED    (1ULL << 62)
#define QCOW_OFLAG_ZERO          (1ULL << 0)
#define L1E_OFFSET_MASK          0x00fffffffffffe00ULL
#define L2E_OFFSET_MASK          0x00fffffffffffe00ULL
#define REFT_OFFSET_MASK         0xfffffffffffffe00ULL

/* Implementation limits, the same as QEMU's so that images move both ways. */
#define QCOW2_MIN_CLUSTER_BITS   9
#define QCOW2_MAX_CLUSTER_BITS   21
#define QCOW2_MAX_L1_BYTES       (32u << 20)
#define QCOW2_MAX_REFTABLE_BYTES (8u << 20)
#define QCOW2_MAX_SNAPSHOTS      65536
#define QCOW2_MAX_SNAPSHOT_TABLE (64u << 20)
#define QCOW2_MAX_BACKING_NAME   1023
#define QCOW2_MAX_OFFSET         (1ULL << 56)  /* host offsets must stay below */
#define QCOW2_V2_HEADER_LEN      72
#define QCOW2_V3_HEADER_LEN      104
#define QCOW2_OUR_HEADER_LEN     112           /* with compression_type, padded */

enum { QCOW2_COMPRESS_ZLIB = 0, QCOW2_COMPRESS_ZSTD = 1 };

typedef enum Qcow2ClusterType {
    QCOW2_CLUSTER_UNALLOCATED,
    QCOW2_CLUSTER_ZERO_PLAIN,
    QCOW2_CLUSTER_ZERO_ALLOC,
    QCOW2_CLUSTER_NORMAL,
    QCOW2_CLUSTER_COMPRESSED,
} Qcow2ClusterType;

typedef struct Qcow2Cache Qcow2Cache;

typedef struct Qcow2Snapshot {
    uint64_t l1_table_offset;
    uint32_t l1_size;
    char *id_str;
    char *name;
    uint64_t disk_size;
    uint64_t vm_state_size;
    uint32_t date_sec;
    uint32_t date_nsec;
    uint64_t vm_clock_nsec;
    uint64_t icount;
    uint32_t extra_size;            /* as read; we write 24 */
    uint8_t *extra_unknown;         /* extra data beyond the fields we know */
    uint32_t extra_unknown_len;
} Qcow2Snapshot;

typedef struct Qcow2Ext {
    uint32_t magic;
    uint32_t len;
    uint8_t *data;
} Qcow2Ext;

/* Guest clusters whose allocation is in flight (COW and data being written). */
typedef struct Qcow2Alloc {
    uint64_t guest_cluster;
    uint64_t nb_clusters;
    uint64_t host_offset;
    bool fresh;                     /* host clusters never written: read as zeros */
    CoQueue waiters;
} Qcow2Alloc;

typedef struct BDRVQcow2State {
    BlockDriverState *bs;
    BlockDriverState *file;
    int version;
    int cluster_bits;
    uint64_t cluster_size;
    int l2_bits;
    uint64_t l2_size;               /* entries per L2 table */
    uint64_t size;                  /* virtual disk size */
    uint32_t header_length;
    uint64_t incompatible, compatible, autoclear;
    int refcount_order;
    int refcount_bits;
    uint64_t refcount_max;
    int refblock_bits;              /* log2(entries per refcount block) */
    uint64_t refblock_size;
    int compression_type;
    int csize_shift;                /* compressed descriptor layout */
    uint64_t csize_mask;
    uint64_t cluster_offset_mask;

    uint64_t l1_table_offset;
    uint32_t l1_size;
    uint64_t *l1_table;             /* host byte order, l1_alloc entries */
    uint64_t l1_alloc;

    uint64_t refcount_table_offset;
    uint32_t refcount_table_clusters;
    uint64_t *refcount_table;       /* host byte order */
    uint64_t refcount_table_size;   /* entries */

    uint64_t snapshots_offset;
    uint32_t nb_snapshots;
    Qcow2Snapshot *snapshots;
    uint64_t snapshots_size;        /* bytes on disk */
    uint64_t pending_vm_state_size; /* the next snapshot's VM state (qcow2-vmstate.c) */
    uint64_t pending_vm_clock_ns;

    GPtrArray *unknown_exts;        /* Qcow2Ext*, preserved on header rewrites */
    uint8_t *header_tail;           /* unknown additional header fields, preserved */
    uint32_t header_tail_len;

    Qcow2Cache *l2_cache;
    Qcow2Cache *refblock_cache;
    CoMutex lock;
    GList *allocs;                  /* Qcow2Alloc*, in flight */
    CoQueue allocs_drained;

    uint64_t free_cluster_index;    /* no free cluster below this */
    uint64_t free_byte_offset;      /* compressed data packing position, 0 = none */
    uint64_t fresh_cluster;         /* clusters from here on were never written */
    uint64_t file_end;              /* file length as extended by us */
    bool no_falloc;                 /* the file cannot be preallocated */
    bool use_lazy_refcounts;
    bool discard_passthrough;       /* punch holes for clusters freed by discard */
    bool corrupt_reported;
} BDRVQcow2State;

static inline uint64_t be64_get(const void *p, uint64_t i)
{
    return be64toh(((const uint64_t *)p)[i]);
}

static inline void be64_set(void *p, uint64_t i, uint64_t v)
{
    ((uint64_t *)p)[i] = htobe64(v);
}

/* Unaligned big-endian fields of on-disk structures. */
static inline uint32_t qcow2_be32_at(const uint8_t *b, size_t off)
{
    uint32_t v;

    memcpy(&v, b + off, 4);
    return be32toh(v);
}

static inline uint64_t qcow2_be64_at(const uint8_t *b, size_t off)
{
    uint64_t v;

    memcpy(&v, b + off, 8);
    return be64toh(v);
}

static inline void qcow2_put_be32(uint8_t *b, size_t off, uint32_t v)
{
    v = htobe32(v);
    memcpy(b + off, &v, 4);
}

static inline void qcow2_put_be64(uint8_t *b, size_t off, uint64_t v)
{
    v = htobe64(v);
    memcpy(b + off, &v, 8);
}

static inline uint64_t qcow2_cluster_index(BDRVQcow2State *s, uint64_t off)
{
    return off >> s->cluster_bits;
}

static inline uint64_t qcow2_offset_in_cluster(BDRVQcow2State *s, uint64_t off)
{
    return off & (s->cluster_size - 1);
}

static inline uint64_t qcow2_size_to_clusters(BDRVQcow2State *s, uint64_t size)
{
    return (size + s->cluster_size - 1) >> s->cluster_bits;
}

/* Cluster mapping: type of an L2 entry (standard entries, no subclusters). */
static inline Qcow2ClusterType qcow2_l2e_type(uint64_t l2e)
{
    if (l2e & QCOW_OFLAG_COMPRESSED) {
        return QCOW2_CLUSTER_COMPRESSED;
    }
    if (l2e & QCOW_OFLAG_ZERO) {
        return (l2e & L2E_OFFSET_MASK) ? QCOW2_CLUSTER_ZERO_ALLOC : QCOW2_CLUSTER_ZERO_PLAIN;
    }
    return (l2e & L2E_OFFSET_MASK) ? QCOW2_CLUSTER_NORMAL : QCOW2_CLUSTER_UNALLOCATED;
}

/* Compressed Clusters Descriptor: host offset and byte length it may span. */
static inline void qcow2_parse_compressed(BDRVQcow2State *s, uint64_t l2e, uint64_t *off,
                                          uint64_t *len)
{
    uint64_t nb_sectors = (l2e >> s->csize_shift) & s->csize_mask;

    *off = l2e & s->cluster_offset_mask;
    *len = (nb_sectors + 1) * 512 - (*off & 511);
}

/* qcow2-header.c */
int qcow2_read_header(BDRVQcow2State *s, GError **errp);
int qcow2_update_header(BDRVQcow2State *s);
int qcow2_mark_dirty(BDRVQcow2State *s);
int qcow2_mark_clean(BDRVQcow2State *s);

/* qcow2.c */
int qcow2_signal_corruption(BDRVQcow2State *s, const char *fmt, ...) G_GNUC_PRINTF(2, 3);
bool qcow2_overlaps_metadata(BDRVQcow2State *s, uint64_t off, uint64_t len);
int qcow2_write_l1_entry(BDRVQcow2State *s, uint64_t index);
int qcow2_flush_caches(BDRVQcow2State *s);

/* qcow2-cache.c */
Qcow2Cache *qcow2_cache_new(BDRVQcow2State *s, int entries, bool is_l2);
void qcow2_cache_free(Qcow2Cache *c);
int qcow2_cache_get(BDRVQcow2State *s, Qcow2Cache *c, uint64_t off, void **table);
int qcow2_cache_get_empty(BDRVQcow2State *s, Qcow2Cache *c, uint64_t off, void **table);
void qcow2_cache_put(Qcow2Cache *c, void **table);
void qcow2_cache_mark_dirty(Qcow2Cache *c, void *table);
int qcow2_cache_write(BDRVQcow2State *s, Qcow2Cache *c);
int qcow2_cache_flush(BDRVQcow2State *s, Qcow2Cache *c);
int qcow2_cache_set_dependency(BDRVQcow2State *s, Qcow2Cache *c, Qcow2Cache *dep);
void qcow2_cache_discard(Qcow2Cache *c, uint64_t off);
int qcow2_cache_empty(BDRVQcow2State *s, Qcow2Cache *c);
bool qcow2_cache_is_dirty(Qcow2Cache *c);

/* qcow2-refcount.c */
int qcow2_refcount_init(BDRVQcow2State *s, GError **errp);
uint64_t qcow2_refblock_get(BDRVQcow2State *s, const void *blk, uint64_t i);
void qcow2_refblock_set(BDRVQcow2State *s, void *blk, uint64_t i, uint64_t v);
int qcow2_get_refcount(BDRVQcow2State *s, uint64_t cluster, uint64_t *rc);
int qcow2_update_refcount(BDRVQcow2State *s, uint64_t off, uint64_t len, int64_t addend,
                          bool discard);
int64_t qcow2_alloc_clusters(BDRVQcow2State *s, uint64_t nb);
int64_t qcow2_alloc_bytes(BDRVQcow2State *s, uint64_t size);
void qcow2_free_clusters(BDRVQcow2State *s, uint64_t off, uint64_t len, bool discard);
void qcow2_free_l2e(BDRVQcow2State *s, uint64_t l2e, bool discard);
int qcow2_extend_file(BDRVQcow2State *s, uint64_t end);
int qcow2_write_reftable_entry(BDRVQcow2State *s, uint64_t index);

/* qcow2-cluster.c */
int qcow2_get_host_offset(BDRVQcow2State *s, uint64_t off, uint64_t *bytes,
                          uint64_t *host, Qcow2ClusterType *type, uint64_t *l2e);
int qcow2_l2_prepare(BDRVQcow2State *s, uint64_t l1_index);
int qcow2_grow_l1(BDRVQcow2State *s, uint64_t min_size);
int qcow2_wait_allocs(BDRVQcow2State *s, uint64_t cluster, uint64_t *nb);
void qcow2_alloc_done(BDRVQcow2State *s, Qcow2Alloc *a);
int qcow2_prepare_write(BDRVQcow2State *s, uint64_t off, uint64_t bytes, uint64_t *host,
                        uint64_t *len, Qcow2Alloc **alloc);
int qcow2_link_alloc(BDRVQcow2State *s, Qcow2Alloc *a);
int qcow2_zero_or_discard(BDRVQcow2State *s, uint64_t cluster, uint64_t nb, bool discard,
                          int flags);
int qcow2_drain_allocs(BDRVQcow2State *s);

/* qcow2-rw.c */
int qcow2_read_cluster_data(BDRVQcow2State *s, uint64_t guest_off, Qcow2ClusterType type,
                            uint64_t host, uint64_t l2e, uint64_t bytes, BlkIov *qiov,
                            size_t qoff);
int qcow2_preallocate(BDRVQcow2State *s, uint64_t start, uint64_t end, BlockPrealloc mode);
int qcow2_co_preadv(BlockDriverState *bs, int64_t off, int64_t bytes, BlkIov *qiov,
                    size_t qoff);
int qcow2_co_pwritev(BlockDriverState *bs, int64_t off, int64_t bytes, BlkIov *qiov,
                     size_t qoff, int flags);
int qcow2_co_pwritev_compressed(BlockDriverState *bs, int64_t off, int64_t bytes,
                                BlkIov *qiov, size_t qoff);
int qcow2_co_pdiscard(BlockDriverState *bs, int64_t off, int64_t bytes, int flags);
int qcow2_co_pwrite_zeroes(BlockDriverState *bs, int64_t off, int64_t bytes, int flags);
int qcow2_co_block_status(BlockDriverState *bs, int64_t off, int64_t bytes, int64_t *pnum,
                          BlockStatus *st);

/* qcow2-compress.c */
int qcow2_co_compress(BDRVQcow2State *s, void *dst, size_t dst_len, const void *src,
                      size_t src_len);
int qcow2_co_decompress(BDRVQcow2State *s, void *dst, size_t dst_len, const void *src,
                        size_t src_len);

/* qcow2-snapshot.c */
int qcow2_read_snapshots(BDRVQcow2State *s, GError **errp);
void qcow2_free_snapshots(BDRVQcow2State *s);
int qcow2_snapshot_list(BlockDriverState *bs, BlockSnapshotInfo **list);
int qcow2_snapshot_create(BlockDriverState *bs, const char *name, GError **errp);
int qcow2_snapshot_apply(BlockDriverState *bs, const char *name, GError **errp);
int qcow2_snapshot_delete(BlockDriverState *bs, const char *name, GError **errp);

/* qcow2-vmstate.c: the VM state area past the disk, and snapshots that own one. */
int qcow2_co_vmstate(BlockDriverState *bs, int64_t pos, int64_t bytes, BlkIov *qiov,
                     bool write);
int qcow2_snapshot_create_vm(BlockDriverState *bs, const char *name, uint64_t vm_state_size,
                             uint64_t vm_clock_ns, GError **errp);
/* qcow2-rw.c: writes @n bytes at @off into the clusters of @a and links them. */
int qcow2_write_alloc(BDRVQcow2State *s, Qcow2Alloc *a, uint64_t off, uint64_t n,
                      BlkIov *qiov, size_t qoff);

/* qcow2-tree.c */
int qcow2_tree_refcounts(BDRVQcow2State *s, const uint64_t *l1, uint32_t n, int addend);
uint64_t *qcow2_read_l1(BDRVQcow2State *s, uint64_t off, uint32_t n, int *ret);
int qcow2_update_tree_refcounts(BDRVQcow2State *s, uint64_t l1_off, uint32_t l1_size,
                                int addend);
int qcow2_fix_copied_flags(BDRVQcow2State *s);

/* qcow2-check.c */
int qcow2_check(BlockDriverState *bs, BlockCheckResult *res, BlockFix fix, GError **errp);

/* qcow2-create.c */
int qcow2_create(BlockEngine *eng, const char *filename, const BlockCreateOpts *o,
                 GError **errp);

#endif
