/*
 * The block layer: disk images for devices and for vireo-img.
 *
 * A BlockBackend is what a device (or a tool) holds: the top of a graph of nodes, a
 * format driver (raw, qcow2) stacked on the "file" protocol, with backing images as
 * further format nodes. Requests are asynchronous to their caller and complete on the
 * GLib main context of the BlockEngine that opened the image; format logic runs as
 * coroutines and data I/O goes through io_uring, or a thread pool when io_uring is
 * unavailable (docs/block.md).
 *
 * Threading: every function here must be called on the engine's thread (for the
 * machine: the main loop thread, with the big lock held) except blk_aio_*(), which may
 * also be called from a vCPU thread holding the big lock; completions always run on the
 * engine's thread. The synchronous functions (blk_pread() ...) spin the engine's main
 * context until the request completes: for tools and for set-up, not for device paths.
 *
 * Errors: negative errno from I/O functions (blk_last_error() may add a sentence about
 * a corrupt image); GError (domain G_IO_ERROR) from open/create/check/snapshot with a
 * message naming the file at fault.
 */
#ifndef VIREO_BLOCK_H
#define VIREO_BLOCK_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>
#include <gio/gio.h>
#include <glib.h>

typedef struct BlockEngine BlockEngine;
typedef struct BlockBackend BlockBackend;

/* ---- engine ------------------------------------------------------------------------- */

/* Creates the engine for the calling thread; @ctx NULL means the global default context. */
BlockEngine *block_engine_new(GMainContext *ctx);
/* Frees the engine; every image opened with it must be closed first. */
void block_engine_free(BlockEngine *eng);
/* True when data I/O goes through io_uring (false: thread pool). */
bool block_engine_has_io_uring(BlockEngine *eng);

/* ---- options ------------------------------------------------------------------------ */

/* Cache modes with QEMU's names and meaning. */
typedef enum BlockCacheMode {
    BLOCK_CACHE_WRITEBACK,      /* page cache, flushes honoured */
    BLOCK_CACHE_NONE,           /* O_DIRECT, flushes honoured */
    BLOCK_CACHE_WRITETHROUGH,   /* page cache, every write is flushed */
    BLOCK_CACHE_DIRECTSYNC,     /* O_DIRECT, every write is flushed */
    BLOCK_CACHE_UNSAFE,         /* page cache, flushes ignored */
} BlockCacheMode;

typedef enum BlockAioMode {
    BLOCK_AIO_DEFAULT,          /* io_uring when available */
    BLOCK_AIO_IO_URING,
    BLOCK_AIO_THREADS,
} BlockAioMode;

/* Parses "writeback", "none", ...; returns false for an unknown name. */
bool block_cache_mode_parse(const char *s, BlockCacheMode *mode);
/* Parses "threads", "io_uring" ("native" is accepted as io_uring). */
bool block_aio_mode_parse(const char *s, BlockAioMode *mode);

/* Where a format node's backing node comes from (QEMU's "backing" option). */
typedef enum BlockBackingMode {
    BLOCK_BACKING_HEADER,       /* the file the image header names, if any (default) */
    BLOCK_BACKING_NONE,         /* no backing node, whatever the header says (null) */
    BLOCK_BACKING_EXPLICIT,     /* backing_filename opened with backing_options */
} BlockBackingMode;

/* detect-zeroes (QEMU BlockdevDetectZeroesOptions): a write of zeroes becomes a
 * write-zeroes request; with UNMAP (needs discard=unmap) it may deallocate. */
typedef enum BlockDetectZeroes {
    BLOCK_DETECT_ZEROES_OFF,
    BLOCK_DETECT_ZEROES_ON,
    BLOCK_DETECT_ZEROES_UNMAP,
} BlockDetectZeroes;
bool block_detect_zeroes_parse(const char *s, BlockDetectZeroes *dz);
/* "ignore"/"off" -> true (ignore), "unmap"/"on" -> false; false return: unknown. */
bool block_discard_parse(const char *s, bool *ignore);

/* Image locking (QEMU's file-posix "locking" option): OFD locks on QEMU's byte layout
 * (docs/block.md). AUTO: lock, and treat a file system that has no OFD locks as one
 * where nobody locks; ON: that is an error; OFF: no locks, nobody is kept out. */
typedef enum BlockLocking {
    BLOCK_LOCKING_AUTO,
    BLOCK_LOCKING_ON,
    BLOCK_LOCKING_OFF,
} BlockLocking;
/* "auto", "on", "off"; false for anything else. */
bool block_locking_parse(const char *s, BlockLocking *out);

/* Who holds an image while no guest device is attached: the permissions QEMU's
 * parents of the top node take, which decide the lock bytes (docs/block.md). */
typedef enum BlockUser {
    BLOCK_USER_TOOL,            /* vireo-img, vireo-io (the default): read-only, reads and
                                 * shares all but writes and resizes; writable, reads,
                                 * writes and resizes and shares only reads */
    BLOCK_USER_DRIVE,           /* a -drive: reads, shares everything (QEMU's -drive
                                 * before a device takes it) */
    BLOCK_USER_NODE,            /* a -blockdev root: nothing (a format's metadata locks
                                 * still apply) */
} BlockUser;

typedef struct BlockOpenOptions BlockOpenOptions;
struct BlockOpenOptions {
    const char *format;         /* "raw", "qcow2", NULL = probe */
    bool read_only;
    BlockCacheMode cache;
    BlockAioMode aio;
    bool force_share;           /* like qemu-img -U / QEMU's force-share=on: share every
                                 * permission (the held ones are still locked) */
    BlockLocking locking;       /* the file node's locking= (implicit backing files: AUTO) */
    BlockUser user;             /* who holds the top node before a device does */
    bool no_backing;            /* do not open the backing chain (tools: info, check) */
    BlockBackingMode backing;   /* the backing node; pinned chains use NONE/EXPLICIT */
    const char *backing_filename;               /* EXPLICIT: the backing image */
    const BlockOpenOptions *backing_options;    /* EXPLICIT: its format and its own backing
                                                 * (NULL: probe, header's backing); cache,
                                                 * aio and locking follow this node */
    bool refuse_implicit_backing;   /* implicit-backing=off: a backing file named by an
                                     * image header (anywhere in the chain) is an error */
    bool backing_read_write;    /* open the backing chain writable (commit) */
    bool check_mode;            /* do not repair a dirty image on open (check) */
    uint64_t l2_cache_size;     /* qcow2 L2 table cache in bytes; 0 = default */
    uint64_t aio_max_batch;     /* file: io_uring requests per submission; 0 = default */
    bool inactive;              /* migration destination: the source still owns the image.
                                 * Opened read-only without locks; the backend still says
                                 * read_only as asked, writes fail with -EPERM until
                                 * blk_set_active() (QEMU's inactive nodes) */
    bool discard_ignore;        /* discard=ignore: discards succeed doing nothing and
                                 * write-zeroes never deallocates (QEMU's default for
                                 * guests; false = discard=unmap, what the tools use) */
    BlockDetectZeroes detect_zeroes;    /* detect-zeroes= for guest writes */
};

/* Fills @o with defaults: probe, read-write, writeback, default aio. */
void block_open_options_init(BlockOpenOptions *o);

/* ---- open / close ------------------------------------------------------------------- */

/* Opens @filename with its backing chain; NULL with @errp set on failure. */
BlockBackend *blk_open(BlockEngine *eng, const char *filename, const BlockOpenOptions *o,
                       GError **errp);
/* Waits for requests, flushes (unless read-only) and closes; returns the flush result. */
int blk_close(BlockBackend *blk);

/* Migration hand-over (QEMU's bdrv_inactivate_all / bdrv_activate_all): @active
 * false drains, flushes and reopens the image read-only without locks, so another
 * process may take it; true reopens it with @o (caches dropped: another process may
 * have changed the image), taking the locks. The handle stays the same. */
bool blk_set_active(BlockBackend *blk, bool active, const BlockOpenOptions *o,
                    GError **errp);
bool blk_is_inactive(BlockBackend *blk);

/* A guest device takes @blk (QEMU's blkconf_apply_backend_options, share-rw=off): it
 * reads, writes unless @read_only, and shares reads, unchanged writes and, when
 * @resizable, resizes (never writes). The image's locks follow. False, with QEMU's
 * error ("Failed to get "write" lock") naming the file and the locks as they were,
 * when another process's locks conflict. */
bool blk_attach_dev(BlockBackend *blk, bool read_only, bool resizable, GError **errp);
/* The device lets go: the locks of the BlockOpenOptions.user again. */
void blk_detach_dev(BlockBackend *blk);

BlockEngine *blk_engine(BlockBackend *blk);
const char *blk_filename(BlockBackend *blk);
const char *blk_format(BlockBackend *blk);
bool blk_is_read_only(BlockBackend *blk);
/* Virtual size in bytes, or -errno. */
int64_t blk_getlength(BlockBackend *blk);
/* A sentence about the last failure of this image (e.g. what is corrupt), or NULL. */
const char *blk_last_error(BlockBackend *blk);
/* Whether writes go through without an implied flush (false for writethrough modes). */
bool blk_write_cache_enabled(BlockBackend *blk);

/* ---- guest error policy, I/O status, statistics ---------------------------------------- */

/* QEMU's BlockdevOnError (rerror=/werror=). enospc is for writes only. AUTO: a device
 * property that leaves the drive's policy alone. */
typedef enum BlockOnError {
    BLOCK_ON_ERROR_REPORT,
    BLOCK_ON_ERROR_IGNORE,
    BLOCK_ON_ERROR_ENOSPC,
    BLOCK_ON_ERROR_STOP,
    BLOCK_ON_ERROR_AUTO,
} BlockOnError;

/* What a device does with a failed request (QEMU's BlkErrorAction). */
typedef enum BlkErrorAction {
    BLK_ERROR_ACTION_IGNORE,
    BLK_ERROR_ACTION_REPORT,
    BLK_ERROR_ACTION_STOP,
} BlkErrorAction;

typedef enum BlockIoStatus {
    BLOCK_IOSTATUS_OK,
    BLOCK_IOSTATUS_FAILED,
    BLOCK_IOSTATUS_NOSPACE,
} BlockIoStatus;

/* Parses "report", "ignore", "stop", and for writes "enospc"; false otherwise. */
bool block_on_error_parse(const char *s, bool is_read, BlockOnError *out);
const char *block_on_error_name(BlockOnError e);
/* Defaults: reads report, writes enospc (stop on ENOSPC, report other errors). */
void blk_set_on_error(BlockBackend *blk, BlockOnError on_read, BlockOnError on_write);
BlockOnError blk_get_on_error(BlockBackend *blk, bool is_read);
/* The action for a request that failed with @error (a positive errno). */
BlkErrorAction blk_get_error_action(BlockBackend *blk, bool is_read, int error);
/* I/O status (query-block "io-status"): kept by devices that stop on errors. */
void blk_iostatus_enable(BlockBackend *blk);
bool blk_iostatus_is_enabled(BlockBackend *blk);
BlockIoStatus blk_iostatus(BlockBackend *blk);
void blk_iostatus_set_err(BlockBackend *blk, int error);
void blk_iostatus_reset(BlockBackend *blk);

/* Counters of the asynchronous (device) requests, QEMU's BlockDeviceStats. */
typedef struct BlockAcctStats {
    uint64_t rd_bytes, wr_bytes, unmap_bytes;
    uint64_t rd_ops, wr_ops, flush_ops, unmap_ops, zone_ops;
    uint64_t failed_rd_ops, failed_wr_ops, failed_flush_ops, failed_unmap_ops;
    uint64_t invalid_rd_ops, invalid_wr_ops, invalid_flush_ops, invalid_unmap_ops;
    uint64_t rd_merged, wr_merged, unmap_merged;
    uint64_t rd_total_time_ns, wr_total_time_ns, flush_total_time_ns, unmap_total_time_ns;
    int64_t wr_highest_offset;
    int64_t last_access_ns;         /* monotonic; 0 = never */
} BlockAcctStats;
const BlockAcctStats *blk_stats(BlockBackend *blk);
bool blk_discard_ignored(BlockBackend *blk);
BlockDetectZeroes blk_detect_zeroes(BlockBackend *blk);

/* ---- requests ----------------------------------------------------------------------- */

enum {
    BLK_REQ_FUA = 1 << 0,        /* flush this write before completing */
    BLK_REQ_MAY_UNMAP = 1 << 1,  /* write-zeroes may deallocate */
    BLK_REQ_NO_FALLBACK = 1 << 2,/* write-zeroes: fail with -ENOTSUP rather than write */
};

typedef void BlockCompletionFunc(void *opaque, int ret);

/* Asynchronous requests; @cb(opaque, 0 or -errno) runs later on the engine's thread.
 * @iov must stay valid until then. */
void blk_aio_preadv(BlockBackend *blk, int64_t offset, const struct iovec *iov, int niov,
                    BlockCompletionFunc *cb, void *opaque);
void blk_aio_pwritev(BlockBackend *blk, int64_t offset, const struct iovec *iov, int niov,
                     int flags, BlockCompletionFunc *cb, void *opaque);
void blk_aio_flush(BlockBackend *blk, BlockCompletionFunc *cb, void *opaque);
void blk_aio_pdiscard(BlockBackend *blk, int64_t offset, int64_t bytes,
                      BlockCompletionFunc *cb, void *opaque);
void blk_aio_pwrite_zeroes(BlockBackend *blk, int64_t offset, int64_t bytes, int flags,
                           BlockCompletionFunc *cb, void *opaque);
/* Runs the engine until no request of @blk is in flight. */
void blk_drain(BlockBackend *blk);

/* Runs fn(opaque, i) for i in [0, n) as n concurrent coroutines of the engine and waits
 * for all of them; inside, the synchronous calls below yield instead of blocking, so
 * straight-line code in each task overlaps its I/O with the others'. Returns the first
 * negative result, else 0. Not callable from inside such a task. */
typedef int BlockTaskFn(void *opaque, int index);
int block_run_parallel(BlockEngine *eng, int n, BlockTaskFn *fn, void *opaque);

/* Synchronous requests: 0 or -errno. */
int blk_pread(BlockBackend *blk, int64_t offset, void *buf, int64_t bytes);
int blk_pwrite(BlockBackend *blk, int64_t offset, const void *buf, int64_t bytes, int flags);
/* Writes whole clusters compressed (qcow2 only); the target clusters must be unallocated. */
int blk_pwrite_compressed(BlockBackend *blk, int64_t offset, const void *buf, int64_t bytes);
int blk_pwrite_zeroes(BlockBackend *blk, int64_t offset, int64_t bytes, int flags);
int blk_pdiscard(BlockBackend *blk, int64_t offset, int64_t bytes);
int blk_flush(BlockBackend *blk);

typedef enum BlockPrealloc {
    BLOCK_PREALLOC_OFF,
    BLOCK_PREALLOC_METADATA,
    BLOCK_PREALLOC_FALLOC,
    BLOCK_PREALLOC_FULL,
} BlockPrealloc;

bool block_prealloc_parse(const char *s, BlockPrealloc *p);
/* Grows (or, for raw, shrinks) the virtual disk to @size. */
int blk_truncate(BlockBackend *blk, int64_t size, BlockPrealloc prealloc, GError **errp);

/* The nodes of @blk's graph, top first: each layer's format node followed by its
 * protocol node (depth = layer, 0 = top). Returns how many were written (<= max). */
typedef struct BlockNodeDesc {
    const char *filename;
    const char *driver;           /* "qcow2", "raw", "file" */
    bool read_only;
    bool protocol;
    int depth;
} BlockNodeDesc;
int blk_get_nodes(BlockBackend *blk, BlockNodeDesc *out, int max);

/* ---- allocation status ---------------------------------------------------------------- */

typedef struct BlockStatus {
    bool allocated;       /* the range is defined by this layer (not its backing) */
    bool zero;            /* reads as zeros */
    bool data;            /* has data stored (not a hole / zero cluster) */
    bool offset_valid;    /* @offset is where the data lives in @file */
    bool compressed;
    int64_t offset;
    int depth;            /* layer that defines the range (0 = top) */
    const char *file;     /* file holding the data when offset_valid */
} BlockStatus;

/* Status of [offset, offset + bytes) in the top layer only; *pnum gets the length
 * (> 0) over which it holds. */
int blk_block_status(BlockBackend *blk, int64_t offset, int64_t bytes, int64_t *pnum,
                     BlockStatus *st);
/* Same, but descends the backing chain like qemu-img map (depth = defining layer). */
int blk_block_status_chain(BlockBackend *blk, int64_t offset, int64_t bytes, int64_t *pnum,
                           BlockStatus *st);
/* True when a freshly created image of this backend reads as zeros everywhere. */
bool blk_has_zero_init(BlockBackend *blk);

/* ---- information -------------------------------------------------------------------- */

typedef struct BlockSnapshotInfo {
    char *id;
    char *name;
    uint64_t vm_state_size;
    uint64_t date_sec;
    uint32_t date_nsec;
    uint64_t vm_clock_nsec;
    uint64_t icount;              /* UINT64_MAX when not recorded */
    uint64_t disk_size;
} BlockSnapshotInfo;

typedef struct BlockImageInfo {
    char *filename;
    char *format;
    int64_t virtual_size;
    int64_t actual_size;          /* bytes allocated on the host, -1 unknown */
    int64_t cluster_size;         /* 0 when the format has none */
    bool dirty_flag;
    bool has_dirty_flag;
    char *backing_filename;
    char *full_backing_filename;
    char *backing_format;
    int n_snapshots;
    BlockSnapshotInfo *snapshots;
    /* qcow2-specific ("Format specific information") */
    bool is_qcow2;
    char *compat;                 /* "0.10" or "1.1" */
    char *compression_type;       /* "zlib" or "zstd" */
    bool lazy_refcounts;
    int refcount_bits;
    bool corrupt;
    bool extended_l2;
} BlockImageInfo;

/* Describes layer @depth (0 = top) of the chain; false if there is no such layer. */
bool blk_get_info(BlockBackend *blk, int depth, BlockImageInfo *info, GError **errp);
void block_image_info_clear(BlockImageInfo *info);
void block_snapshot_info_clear(BlockSnapshotInfo *sn);

/* ---- check -------------------------------------------------------------------------- */

typedef enum BlockFix {
    BLOCK_FIX_NONE = 0,
    BLOCK_FIX_LEAKS = 1,
    BLOCK_FIX_ERRORS = 2,
    BLOCK_FIX_ALL = 3,
} BlockFix;

typedef struct BlockCheckResult {
    int corruptions;
    int leaks;
    int check_errors;
    int corruptions_fixed;
    int leaks_fixed;
    int64_t image_end_offset;
    int64_t total_clusters;
    int64_t allocated_clusters;
    int64_t fragmented_clusters;
    int64_t compressed_clusters;
    bool has_stats;
} BlockCheckResult;

/* Checks (and with @fix repairs) the top image; details go to stderr like qemu-img.
 * Returns 0 when the check could run, -ENOTSUP when the format has no check. */
int blk_check(BlockBackend *blk, BlockFix fix, BlockCheckResult *res, GError **errp);

/* ---- create ------------------------------------------------------------------------- */

/* Creates an image. @options is qemu-img's -o string (cluster_size=64k,...) or NULL;
 * @size -1 takes the size from the backing file. */
int block_create(BlockEngine *eng, const char *filename, const char *format,
                 const char *options, int64_t size, GError **errp);
/* Prints the -o options a format accepts (for -o help). */
void block_create_help(const char *format, GString *out);

/* ---- snapshots, backing files ------------------------------------------------------- */

/* Returns the number of internal snapshots and their descriptions (free with
 * block_snapshot_info_clear + g_free), or -errno. */
int blk_snapshot_list(BlockBackend *blk, BlockSnapshotInfo **list);
int blk_snapshot_create(BlockBackend *blk, const char *name, GError **errp);
int blk_snapshot_apply(BlockBackend *blk, const char *name_or_id, GError **errp);
int blk_snapshot_delete(BlockBackend *blk, const char *name_or_id, GError **errp);
/* The VM state area of internal snapshots (qcow2): whether the image has one, I/O at
 * @pos of it (0 or -errno), and a snapshot that records @vm_state_size bytes of it
 * (savevm; the active image then drops the area again). */
bool blk_has_vmstate(BlockBackend *blk);
int blk_vmstate_io(BlockBackend *blk, int64_t pos, void *buf, int64_t len, bool write);
int blk_snapshot_create_vm(BlockBackend *blk, const char *name, uint64_t vm_state_size,
                           uint64_t vm_clock_ns, GError **errp);

/* Rewrites the backing file name/format recorded in the top image (NULL = none). */
int blk_change_backing_file(BlockBackend *blk, const char *backing, const char *fmt,
                            GError **errp);
/* Drops every cluster of the top image, so it reads from its backing file. */
int blk_make_empty(BlockBackend *blk, GError **errp);

#endif
