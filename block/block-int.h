/*
 * Internal interface between the block core and the drivers (file protocol, raw, qcow2).
 *
 * A node (BlockDriverState) is one driver instance. Format nodes read and write their
 * "file" child (the protocol node) and fall through to "backing" for unallocated data.
 * Every co_* function runs in a coroutine of the node's engine and may yield.
 */
#ifndef VIREO_BLOCK_INT_H
#define VIREO_BLOCK_INT_H

#include <inttypes.h>
#include <stdint.h>
#include <gio/gio.h>
#include <glib.h>

#include "vireo/block.h"
#include "coroutine.h"
#include "engine.h"
#include "iov.h"

typedef struct BlockDriver BlockDriver;
typedef struct BlockDriverState BlockDriverState;
typedef struct BlockCreateOpts BlockCreateOpts;

/* Power-of-two alignment helpers. */
#define ROUND_UP(n, a)      (((n) + (a) - 1) & ~((__typeof__(n))(a) - 1))
#define DIV_ROUND_UP(n, d)  (((n) + (d) - 1) / (d))

/* Permissions, locked as bytes 100+bit (held) and 200+bit (not shared) like QEMU. */
enum {
    BLK_PERM_CONSISTENT_READ = 1 << 0,
    BLK_PERM_WRITE = 1 << 1,
    BLK_PERM_WRITE_UNCHANGED = 1 << 2,
    BLK_PERM_RESIZE = 1 << 3,
    BLK_PERM_ALL = 0xf,
};

/* Internal request flags (beyond BLK_REQ_*). */
enum {
    BDRV_REQ_DISCARD_FULL = 1 << 8,   /* discard: make unallocated even over a backing */
};

struct BlockDriverState {
    BlockEngine *eng;
    const BlockDriver *drv;
    void *opaque;
    char *filename;
    BlockDriverState *file;           /* protocol child of a format node */
    BlockDriverState *backing;        /* backing image, a format node */
    char *backing_file;               /* name recorded in the image, NULL if none */
    char *backing_format;
    char *full_backing_filename;
    BlockOpenOptions opts;            /* format string not kept */
    bool read_only;
    bool no_flush;                    /* cache=unsafe */
    bool direct;                      /* O_DIRECT */
    uint64_t perm, shared_perm;       /* what this node's parent holds and shares
                                       * (file nodes: what their lock bytes say) */
    uint32_t request_alignment;       /* offsets and lengths (1 = any) */
    uint32_t mem_alignment;           /* buffer addresses */
    CoMutex rmw_lock;                 /* serialises unaligned read-modify-write */
    char *last_error;
    int depth;                        /* position in the chain, 0 = top */
};

struct BlockDriver {
    const char *format_name;
    bool is_protocol;
    bool supports_backing;            /* the format has a backing node (qcow2) */
    bool file_is_metadata;            /* its file child holds metadata (qcow2): the file
                                       * is read, written and resized while the node is
                                       * writable, and never shared for writes or
                                       * resizes (QEMU's metadata child permissions);
                                       * otherwise the parent's pass through (raw) */
    /* Protocol nodes: hold @perm and share @shared (BLK_PERM_*), i.e. take the lock
     * bytes; on a conflict an error naming the file and the locks as before. */
    int (*set_perm)(BlockDriverState *bs, uint64_t perm, uint64_t shared, GError **errp);
    size_t state_size;
    const char *const *create_opts;   /* -o names accepted, NULL-terminated */
    /* Score 0..100 that @buf (the first bytes of the file) is this format. */
    int (*probe)(const uint8_t *buf, size_t len);
    int (*co_open)(BlockDriverState *bs, GError **errp);
    void (*co_close)(BlockDriverState *bs);
    int (*co_preadv)(BlockDriverState *bs, int64_t off, int64_t bytes, BlkIov *qiov,
                     size_t qoff);
    int (*co_pwritev)(BlockDriverState *bs, int64_t off, int64_t bytes, BlkIov *qiov,
                      size_t qoff, int flags);
    int (*co_pwritev_compressed)(BlockDriverState *bs, int64_t off, int64_t bytes,
                                 BlkIov *qiov, size_t qoff);
    int (*co_flush)(BlockDriverState *bs);
    int (*co_pdiscard)(BlockDriverState *bs, int64_t off, int64_t bytes, int flags);
    int (*co_pwrite_zeroes)(BlockDriverState *bs, int64_t off, int64_t bytes, int flags);
    int64_t (*co_getlength)(BlockDriverState *bs);
    int64_t (*co_get_allocated_size)(BlockDriverState *bs);
    int (*co_truncate)(BlockDriverState *bs, int64_t size, BlockPrealloc prealloc,
                       GError **errp);
    int (*co_block_status)(BlockDriverState *bs, int64_t off, int64_t bytes, int64_t *pnum,
                           BlockStatus *st);
    void (*get_info)(BlockDriverState *bs, BlockImageInfo *info);
    int (*co_check)(BlockDriverState *bs, BlockCheckResult *res, BlockFix fix,
                    GError **errp);
    int (*co_create)(BlockEngine *eng, const char *filename,
                     const BlockCreateOpts *o, GError **errp);
    int (*snapshot_list)(BlockDriverState *bs, BlockSnapshotInfo **list);
    int (*co_snapshot_create)(BlockDriverState *bs, const char *name, GError **errp);
    int (*co_snapshot_apply)(BlockDriverState *bs, const char *name, GError **errp);
    int (*co_snapshot_delete)(BlockDriverState *bs, const char *name, GError **errp);
    /* The VM state area of internal snapshots (savevm/loadvm). */
    int (*co_vmstate)(BlockDriverState *bs, int64_t pos, int64_t bytes, BlkIov *qiov,
                      bool write);
    int (*co_snapshot_create_vm)(BlockDriverState *bs, const char *name,
                                 uint64_t vm_state_size, uint64_t vm_clock_ns, GError **errp);
    int (*co_change_backing_file)(BlockDriverState *bs, const char *backing,
                                  const char *fmt, GError **errp);
    int (*co_make_empty)(BlockDriverState *bs, GError **errp);
    bool (*has_zero_init)(BlockDriverState *bs);
};

/* Parsed -o options for create (block/create.c). */
struct BlockCreateOpts {
    int64_t size;                     /* -1 = from backing file */
    int64_t cluster_size;             /* 0 = default */
    int version;                      /* 2 or 3 */
    int compression_type;             /* 0 zlib, 1 zstd */
    char *backing_file;
    char *backing_fmt;
    bool lazy_refcounts;
    BlockPrealloc prealloc;
    int refcount_bits;
    bool extended_l2;
};

extern const BlockDriver bdrv_file;
extern const BlockDriver bdrv_raw;
extern const BlockDriver bdrv_qcow2;

/* ---- core (block/block.c) ---- */
const BlockDriver *bdrv_find_format(const char *name);
/* Opens a node (and, for formats, its protocol child and backing chain). */
BlockDriverState *bdrv_open(BlockEngine *eng, const char *filename, const char *format,
                            const BlockOpenOptions *o, int depth, GHashTable *seen,
                            GError **errp);
void bdrv_close(BlockDriverState *bs);
/* What the user named by @o holds on a top node (@depth 0) and shares, or what an overlay
 * holds on its backing node (@depth > 0: the TOOL rule, read-only unless the chain is
 * opened writable); force_share shares everything. */
void bdrv_user_perm(const BlockOpenOptions *o, int depth, uint64_t *perm, uint64_t *shared);
/* The parent of @bs now holds @perm and shares @shared: the file node's locks are
 * updated down the node (not into the backing chain). On a conflict: the error, and
 * nothing changed. */
int bdrv_set_perm(BlockDriverState *bs, uint64_t perm, uint64_t shared, GError **errp);
/* Opens the backing chain of @bs per its backing_file/backing_format fields. */
int bdrv_open_backing(BlockDriverState *bs, GHashTable *seen, GError **errp);

int bdrv_co_preadv(BlockDriverState *bs, int64_t off, int64_t bytes, BlkIov *qiov,
                   size_t qoff);
int bdrv_co_pwritev(BlockDriverState *bs, int64_t off, int64_t bytes, BlkIov *qiov,
                    size_t qoff, int flags);
int bdrv_co_pread(BlockDriverState *bs, int64_t off, void *buf, int64_t bytes);
int bdrv_co_pwrite(BlockDriverState *bs, int64_t off, const void *buf, int64_t bytes);
int bdrv_co_flush(BlockDriverState *bs);
int bdrv_co_pdiscard(BlockDriverState *bs, int64_t off, int64_t bytes, int flags);
int bdrv_co_pwrite_zeroes(BlockDriverState *bs, int64_t off, int64_t bytes, int flags);
int64_t bdrv_co_getlength(BlockDriverState *bs);
int bdrv_co_truncate(BlockDriverState *bs, int64_t size, BlockPrealloc prealloc,
                     GError **errp);
int bdrv_co_block_status(BlockDriverState *bs, int64_t off, int64_t bytes, int64_t *pnum,
                         BlockStatus *st);
/* Reads [off, off+bytes) of @bs's backing file into @qiov, zero-filling past its end. */
int bdrv_co_read_backing(BlockDriverState *bs, int64_t off, int64_t bytes, BlkIov *qiov,
                         size_t qoff);

/* Runs fn(opaque) in a coroutine of @eng and waits for it (directly if already in one). */
int bdrv_run_co(BlockEngine *eng, int (*fn)(void *opaque), void *opaque);

/* Records a sentence about the last failure (printf-style); returns @err. */
int bdrv_set_error(BlockDriverState *bs, int err, const char *fmt, ...) G_GNUC_PRINTF(3, 4);

/* Buffers aligned for O_DIRECT (free with qemu_vfree-like block_free). */
void *block_alloc(BlockDriverState *bs, size_t size);
void *block_alloc0(BlockDriverState *bs, size_t size);
void block_free(void *p);

static inline CoContext *bdrv_co(BlockDriverState *bs) { return &bs->eng->co; }

/* The root node of a backend (block/blk.c). */
BlockDriverState *blk_root(BlockBackend *blk);

/* ---- create (block/create.c) ---- */
int block_create_opts_parse(const BlockDriver *drv, const char *str, BlockCreateOpts *o,
                            GError **errp);
void block_create_opts_clear(BlockCreateOpts *o);
int64_t block_parse_size(const char *s);

/* ---- file protocol helpers (block/file-posix.c) ---- */
int bdrv_file_create(const char *filename, int64_t size, BlockPrealloc prealloc,
                     GError **errp);

#endif
