/*
 * The "file" protocol: regular files and block devices through a file descriptor.
 * Data I/O goes through the engine (io_uring or the thread pool); fallocate and ioctls
 * run on the pool. Images are locked with OFD locks on the byte layout QEMU uses, so
 * Vireo and QEMU see each other's locks.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/falloc.h>
#include <linux/fs.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "block-int.h"

enum { LOCK_PERM_BASE = 100, LOCK_SHARED_BASE = 200, NSTACK_IOV = 16,
       SPLIT_SIZE = 256 << 10, SPLIT_MAX = 16 };

typedef struct BDRVFileState {
    int fd;
    bool is_blockdev;
    unsigned uring_batch;       /* engine_co_*(): 0 = thread pool (aio=threads) */
    bool no_locks;              /* locking=auto on a file system without OFD locks */
} BDRVFileState;

static const char *const perm_names[] = {
    "consistent read", "write", "write unchanged", "resize",
};

/* ---- locking ----------------------------------------------------------------------------
 * QEMU's layout (file-posix.c), so the two see each other: a shared (read) OFD lock on
 * byte 100+n for each permission n held, on byte 200+n for each permission not shared;
 * n = consistent read, write, write unchanged, resize. A conflict is another open file
 * description's lock on 200+n for a permission held, or on 100+n for one not shared;
 * F_OFD_GETLK with a write lock finds those and never our own. As in QEMU the bytes are
 * locked first and checked after, so two processes racing both see each other. */

static int lock_byte(int fd, int cmd, short type, off_t off)
{
    struct flock fl = { .l_whence = SEEK_SET, .l_start = off, .l_len = 1, .l_type = type };

    if (fcntl(fd, cmd, &fl) < 0) {
        return -errno;
    }
    return cmd == F_OFD_GETLK ? (fl.l_type != F_UNLCK) : 0;
}

/* Locks exactly the bytes of (@perm, @shared) and unlocks the others; -errno and the
 * byte that failed. */
static int apply_lock_bytes(int fd, uint64_t perm, uint64_t shared, int *bad)
{
    for (int i = 0; i < 4; i++) {
        uint64_t bit = 1u << i;
        int r;
        *bad = LOCK_PERM_BASE + i;
        if ((r = lock_byte(fd, F_OFD_SETLK, (perm & bit) ? F_RDLCK : F_UNLCK, *bad)) < 0) {
            return r;
        }
        *bad = LOCK_SHARED_BASE + i;
        if ((r = lock_byte(fd, F_OFD_SETLK, (shared & bit) ? F_UNLCK : F_RDLCK, *bad)) < 0) {
            return r;
        }
    }
    return 0;
}

/* The first conflict with another process's locks, in QEMU's order (held permissions,
 * then unshared ones): an error naming it and the file. */
static int check_lock_bytes(BlockDriverState *bs, int fd, uint64_t perm, uint64_t shared,
                            GError **errp)
{
    for (int i = 0; i < 4; i++) {
        if ((perm & (1u << i)) && lock_byte(fd, F_OFD_GETLK, F_WRLCK, LOCK_SHARED_BASE + i)) {
            g_set_error(errp, G_IO_ERROR, G_IO_ERROR_BUSY,
                        "Failed to get \"%s\" lock on '%s': is another process using the "
                        "image?", perm_names[i], bs->filename);
            return -EAGAIN;
        }
    }
    for (int i = 0; i < 4; i++) {
        if (!(shared & (1u << i)) && lock_byte(fd, F_OFD_GETLK, F_WRLCK, LOCK_PERM_BASE + i)) {
            g_set_error(errp, G_IO_ERROR, G_IO_ERROR_BUSY,
                        "Failed to get shared \"%s\" lock on '%s': is another process "
                        "using the image?", perm_names[i], bs->filename);
            return -EAGAIN;
        }
    }
    return 0;
}

static int file_set_perm(BlockDriverState *bs, uint64_t perm, uint64_t shared,
                         GError **errp)
{
    BDRVFileState *s = bs->opaque;
    int ret, bad, ignored;

    perm &= BLK_PERM_ALL;
    shared &= BLK_PERM_ALL;
    if (bs->opts.locking == BLOCK_LOCKING_OFF || s->no_locks || s->fd < 0) {
        bs->perm = perm;
        bs->shared_perm = shared;
        return 0;
    }
    ret = apply_lock_bytes(s->fd, perm, shared, &bad);
    if (ret < 0 && bs->opts.locking == BLOCK_LOCKING_AUTO &&
        (ret == -EINVAL || ret == -ENOTSUP || ret == -ENOLCK)) {
        /* locking=auto on a file system without OFD locks: nobody locks there. */
        apply_lock_bytes(s->fd, 0, BLK_PERM_ALL, &ignored);
        s->no_locks = true;
        bs->perm = perm;
        bs->shared_perm = shared;
        return 0;
    }
    if (ret < 0) {
        g_set_error(errp, G_IO_ERROR, g_io_error_from_errno(-ret),
                    "Failed to lock byte %d of '%s': %s%s", bad, bs->filename,
                    g_strerror(-ret), bs->opts.locking == BLOCK_LOCKING_ON ?
                    " (locking=on; locking=off opens it without locks)" : "");
    } else {
        ret = check_lock_bytes(bs, s->fd, perm, shared, errp);
    }
    if (ret < 0) {
        apply_lock_bytes(s->fd, bs->perm, bs->shared_perm, &ignored);   /* as before */
        return ret;
    }
    bs->perm = perm;
    bs->shared_perm = shared;
    return 0;
}

/* ---- open / close --------------------------------------------------------------------- */

static void file_probe_alignment(BlockDriverState *bs, BDRVFileState *s)
{
    uint32_t mem = 0, off = 0;
#ifdef STATX_DIOALIGN
    struct statx stx;

    if (statx(s->fd, "", AT_EMPTY_PATH, STATX_DIOALIGN, &stx) == 0 &&
        (stx.stx_mask & STATX_DIOALIGN)) {
        mem = stx.stx_dio_mem_align;
        off = stx.stx_dio_offset_align;
    }
#endif
    if (s->is_blockdev) {
        int ss;
        if (ioctl(s->fd, BLKSSZGET, &ss) == 0 && ss > 0) {
            off = MAX(off, (uint32_t)ss);
        }
    }
    /* Unknown: 4 KiB is safe for every device and file system. */
    bs->request_alignment = off ? off : 4096;
    bs->mem_alignment = mem ? MAX(mem, 512) : 4096;
}

static int file_open(BlockDriverState *bs, GError **errp)
{
    BDRVFileState *s = bs->opaque;
    int flags = O_CLOEXEC | (bs->read_only ? O_RDONLY : O_RDWR);
    struct stat st = { 0 };
    int ret;

    if (bs->direct) {
        flags |= O_DIRECT;
    }
    /* O_NONBLOCK: a FIFO (or a device that waits for a peer) named by an image header
     * must not hang start-up in open(); only regular files and block devices are
     * images. The flag is cleared again once the type is known. */
    s->fd = open(bs->filename, flags | O_NONBLOCK);
    if (s->fd < 0) {
        ret = -errno;
        g_set_error(errp, G_IO_ERROR, g_io_error_from_errno(-ret), "Could not open '%s': %s%s",
                    bs->filename, g_strerror(-ret),
                    bs->direct && ret == -EINVAL ? " (cache=none needs O_DIRECT, which "
                    "this file system does not support)" : "");
        return ret;
    }
    if (fstat(s->fd, &st) < 0 || !(S_ISREG(st.st_mode) || S_ISBLK(st.st_mode)) ||
        fcntl(s->fd, F_SETFL, fcntl(s->fd, F_GETFL) & ~O_NONBLOCK) < 0) {
        g_set_error(errp, G_IO_ERROR, S_ISDIR(st.st_mode) ? G_IO_ERROR_IS_DIRECTORY :
                    G_IO_ERROR_NOT_REGULAR_FILE,
                    "Could not open '%s': not a regular file or block device (%s)",
                    bs->filename, S_ISDIR(st.st_mode) ? "a directory" :
                    S_ISFIFO(st.st_mode) ? "a FIFO" : S_ISCHR(st.st_mode) ?
                    "a character device" : S_ISSOCK(st.st_mode) ? "a socket" : "unusable");
        close(s->fd);
        return S_ISDIR(st.st_mode) ? -EISDIR : -EINVAL;
    }
    s->is_blockdev = S_ISBLK(st.st_mode);
    /* aio-max-batch=N caps the requests queued before a submission (QEMU applies it
     * to aio=native; here native is io_uring); aio=threads has no batches, as QEMU */
    s->uring_batch = bs->opts.aio == BLOCK_AIO_THREADS ? 0 :
                     bs->opts.aio_max_batch && bs->opts.aio_max_batch < ENGINE_SUBMIT_BATCH ?
                     (unsigned)bs->opts.aio_max_batch : ENGINE_SUBMIT_BATCH;
    if (bs->direct) {
        file_probe_alignment(bs, s);
    }
    return 0;                       /* locks: file_set_perm(), once the format is known */
}

static void file_close(BlockDriverState *bs)
{
    BDRVFileState *s = bs->opaque;

    if (s->fd >= 0) {
        close(s->fd);               /* drops the OFD locks */
        s->fd = -1;
    }
}

/* ---- data I/O -------------------------------------------------------------------------- */

/* Builds the iovec array for [qoff, qoff+len) of @q, on @stackv when it fits. */
static int file_iov(BlkIov *q, size_t qoff, size_t len, struct iovec *stackv,
                    struct iovec **out)
{
    BlkIov v;
    size_t total = len;
    int n = 0;

    for (int i = 0, skip = qoff; i < q->niov && len; i++) {
        size_t l = q->iov[i].iov_len;
        if ((size_t)skip >= l) {
            skip -= l;
            continue;
        }
        size_t take = MIN(l - skip, len);
        if (n < NSTACK_IOV) {
            stackv[n].iov_base = (char *)q->iov[i].iov_base + skip;
            stackv[n].iov_len = take;
        }
        n++;
        len -= take;
        skip = 0;
    }
    if (n <= NSTACK_IOV) {
        *out = stackv;
        return n;
    }
    blkiov_init(&v, n);
    blkiov_concat(&v, q, qoff, total);
    *out = v.iov;
    return n;
}

static int file_rw_one(BlockDriverState *bs, bool write, int64_t off, int64_t bytes,
                       BlkIov *qiov, size_t qoff)
{
    BDRVFileState *s = bs->opaque;
    struct iovec stackv[NSTACK_IOV], *iov;
    int64_t done = 0;

    while (done < bytes) {
        int n = file_iov(qiov, qoff + done, bytes - done, stackv, &iov);
        ssize_t ret = write ?
            engine_co_pwritev(bs->eng, s->fd, iov, n, off + done, s->uring_batch) :
            engine_co_preadv(bs->eng, s->fd, iov, n, off + done, s->uring_batch);
        if (iov != stackv) {
            g_free(iov);
        }
        if (ret == -EINTR || ret == -EAGAIN) {
            continue;
        }
        if (ret < 0) {
            return ret;
        }
        if (ret == 0 || (!write && bs->direct && (off + done + ret) % bs->request_alignment)) {
            if (write) {
                return -EIO;
            }
            /* End of file: the rest reads as zeros. */
            blkiov_memset(qiov, qoff + done + ret, 0, bytes - done - ret);
            return 0;
        }
        done += ret;
    }
    return 0;
}

typedef struct SplitSet {
    Coroutine *parent;
    bool parent_waiting;
    int pending;
    int ret;
} SplitSet;

typedef struct SplitReq {
    SplitSet *set;
    BlockDriverState *bs;
    bool write;
    int64_t off, bytes;
    BlkIov *qiov;
    size_t qoff;
} SplitReq;

static void split_entry(void *opaque)
{
    SplitReq *r = opaque;
    SplitSet *set = r->set;
    int ret = file_rw_one(r->bs, r->write, r->off, r->bytes, r->qiov, r->qoff);

    if (ret < 0 && set->ret == 0) {
        set->ret = ret;
    }
    if (--set->pending == 0 && set->parent_waiting) {
        co_wake(bdrv_co(r->bs), set->parent);
    }
}

/* Large direct requests go to the device as several concurrent pieces: deeper queues
 * keep it busier than one big request (measured: ~15% more throughput for 1 MiB). */
static int file_rw(BlockDriverState *bs, bool write, int64_t off, int64_t bytes,
                   BlkIov *qiov, size_t qoff)
{
    int64_t piece = MAX(SPLIT_SIZE, ROUND_UP(DIV_ROUND_UP(bytes, SPLIT_MAX),
                                             (int64_t)bs->request_alignment));
    SplitSet set = { .parent = co_self(bdrv_co(bs)) };
    SplitReq reqs[SPLIT_MAX];
    int n = 0;

    if (!bs->direct || bytes <= SPLIT_SIZE) {
        return file_rw_one(bs, write, off, bytes, qiov, qoff);
    }
    for (int64_t done = 0; done < bytes; done += piece, n++) {
        reqs[n] = (SplitReq){ &set, bs, write, off + done, MIN(piece, bytes - done), qiov,
                              qoff + done };
    }
    set.pending = n;
    for (int i = 0; i < n; i++) {
        co_enter(bdrv_co(bs), co_create(bdrv_co(bs), split_entry, &reqs[i]));
    }
    while (set.pending) {
        set.parent_waiting = true;
        co_yield(bdrv_co(bs));
    }
    return set.ret;
}

static int file_co_preadv(BlockDriverState *bs, int64_t off, int64_t bytes, BlkIov *qiov,
                          size_t qoff)
{
    return file_rw(bs, false, off, bytes, qiov, qoff);
}

static int file_co_pwritev(BlockDriverState *bs, int64_t off, int64_t bytes, BlkIov *qiov,
                           size_t qoff, int flags)
{
    int ret = file_rw(bs, true, off, bytes, qiov, qoff);

    if (ret == 0 && (flags & BLK_REQ_FUA)) {
        ret = bdrv_co_flush(bs);
    }
    return ret;
}

static int file_co_flush(BlockDriverState *bs)
{
    BDRVFileState *s = bs->opaque;

    if (bs->no_flush || bs->read_only) {
        return 0;
    }
    return engine_co_fdatasync(bs->eng, s->fd, s->uring_batch);
}

/* ---- fallocate / ioctl on the pool ------------------------------------------------------ */

typedef struct FileOp {
    int fd;
    int mode;           /* fallocate mode, or -1 BLKDISCARD, -2 BLKZEROOUT, -3 ftruncate */
    int64_t off, len;
} FileOp;

static int file_op_thread(void *opaque)
{
    FileOp *op = opaque;
    uint64_t range[2] = { op->off, op->len };
    int ret;

    switch (op->mode) {
    case -1:
        ret = ioctl(op->fd, BLKDISCARD, range);
        break;
    case -2:
        ret = ioctl(op->fd, BLKZEROOUT, range);
        break;
    case -3:
        ret = ftruncate(op->fd, op->off);
        break;
    default:
        ret = fallocate(op->fd, op->mode, op->off, op->len);
        break;
    }
    return ret < 0 ? -errno : 0;
}

static int file_op(BlockDriverState *bs, int mode, int64_t off, int64_t len)
{
    BDRVFileState *s = bs->opaque;
    FileOp op = { .fd = s->fd, .mode = mode, .off = off, .len = len };

    return engine_co_run_in_thread(bs->eng, file_op_thread, &op);
}

static int file_co_pdiscard(BlockDriverState *bs, int64_t off, int64_t bytes, int flags)
{
    BDRVFileState *s = bs->opaque;
    int ret;

    ret = s->is_blockdev ? file_op(bs, -1, off, bytes)
                         : file_op(bs, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, off, bytes);
    return ret == -EOPNOTSUPP || ret == -ENOTTY ? 0 : ret;   /* advisory */
}

static int64_t file_co_getlength(BlockDriverState *bs)
{
    BDRVFileState *s = bs->opaque;
    struct stat st;
    uint64_t size;

    if (s->is_blockdev) {
        return ioctl(s->fd, BLKGETSIZE64, &size) < 0 ? -errno : (int64_t)size;
    }
    return fstat(s->fd, &st) < 0 ? -errno : st.st_size;
}

static int file_co_pwrite_zeroes(BlockDriverState *bs, int64_t off, int64_t bytes, int flags)
{
    BDRVFileState *s = bs->opaque;
    int64_t len;
    int ret;

    if (s->is_blockdev) {
        ret = file_op(bs, -2, off, bytes);
    } else {
        len = file_co_getlength(bs);
        if ((flags & BLK_REQ_MAY_UNMAP) && len >= off + bytes) {
            ret = file_op(bs, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, off, bytes);
        } else {
            ret = file_op(bs, FALLOC_FL_ZERO_RANGE, off, bytes);
        }
    }
    if (ret == -EOPNOTSUPP || ret == -ENOTTY || ret == -EINVAL) {
        return -ENOTSUP;
    }
    return ret;
}

static int64_t file_co_get_allocated_size(BlockDriverState *bs)
{
    BDRVFileState *s = bs->opaque;
    struct stat st;

    if (s->is_blockdev) {
        return -ENOTSUP;
    }
    return fstat(s->fd, &st) < 0 ? -errno : (int64_t)st.st_blocks * 512;
}

/* Extends with zeros written out, for preallocation=full. */
static int file_fill_zeros(BlockDriverState *bs, int64_t off, int64_t end)
{
    int64_t chunk = 1 << 20;
    void *buf = block_alloc0(bs, chunk);
    int ret = 0;

    while (off < end && ret >= 0) {
        int64_t n = MIN(chunk, end - off);
        ret = bdrv_co_pwrite(bs, off, buf, n);
        off += n;
    }
    block_free(buf);
    return ret;
}

static int file_co_truncate(BlockDriverState *bs, int64_t size, BlockPrealloc prealloc,
                            GError **errp)
{
    BDRVFileState *s = bs->opaque;
    int64_t old = file_co_getlength(bs);
    int ret = 0;

    if (s->is_blockdev) {
        if (old < size) {
            g_set_error(errp, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED,
                        "Cannot grow block device '%s'", bs->filename);
            return -ENOTSUP;
        }
        return 0;
    }
    if (prealloc == BLOCK_PREALLOC_METADATA) {
        g_set_error(errp, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                    "Unsupported preallocation mode 'metadata' for '%s'", bs->filename);
        return -ENOTSUP;
    }
    if (prealloc == BLOCK_PREALLOC_FALLOC && size > old) {
        ret = file_op(bs, 0, old, size - old);
    } else if (prealloc == BLOCK_PREALLOC_FULL && size > old) {
        ret = file_fill_zeros(bs, old, size);
    }
    if (ret >= 0) {
        ret = file_op(bs, -3, size, 0);
    }
    if (ret < 0) {
        g_set_error(errp, G_IO_ERROR, g_io_error_from_errno(-ret),
                    "Could not resize '%s' to %" G_GINT64_FORMAT " bytes: %s", bs->filename,
                    size, g_strerror(-ret));
    }
    return ret;
}

/* Holes via SEEK_DATA/SEEK_HOLE: they read as zeros. */
static int file_co_block_status(BlockDriverState *bs, int64_t off, int64_t bytes,
                                int64_t *pnum, BlockStatus *st)
{
    BDRVFileState *s = bs->opaque;
    off_t data, hole;

    st->allocated = true;
    st->offset_valid = true;
    st->offset = off;
    st->file = bs->filename;
    *pnum = bytes;
    if (s->is_blockdev) {
        st->data = true;
        return 0;
    }
    data = lseek(s->fd, off, SEEK_DATA);
    if (data < 0 || data > off) {
        st->zero = true;            /* hole up to @data, or to the end of the file */
        if (data > off) {
            *pnum = MIN(bytes, data - off);
        }
        return 0;
    }
    hole = lseek(s->fd, off, SEEK_HOLE);
    st->data = true;
    if (hole > off) {
        *pnum = MIN(bytes, hole - off);
    }
    return 0;
}

static bool file_has_zero_init(BlockDriverState *bs)
{
    return !((BDRVFileState *)bs->opaque)->is_blockdev;
}

static int write_zeros_fd(int fd, int64_t size)
{
    enum { CHUNK = 1 << 20 };
    char *buf = g_malloc0(CHUNK);
    int64_t off = 0;
    int ret = 0;

    while (off < size) {
        ssize_t n = pwrite(fd, buf, MIN(CHUNK, size - off), off);
        if (n <= 0) {
            ret = n < 0 ? -errno : -EIO;
            break;
        }
        off += n;
    }
    g_free(buf);
    return ret;
}

/* Creates (truncating) a file of @size bytes, used by raw and qcow2 create. */
int bdrv_file_create(const char *filename, int64_t size, BlockPrealloc prealloc,
                     GError **errp)
{
    int fd = open(filename, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    struct stat st;
    int ret = 0;

    if (fd < 0) {
        ret = -errno;
        g_set_error(errp, G_IO_ERROR, g_io_error_from_errno(-ret), "Could not create '%s': %s",
                    filename, g_strerror(-ret));
        return ret;
    }
    if (fstat(fd, &st) == 0 && S_ISBLK(st.st_mode)) {
        close(fd);                      /* a device is "created" by using it */
        return 0;
    }
    if (ftruncate(fd, 0) < 0 || ftruncate(fd, size) < 0) {
        ret = -errno;
    } else if (prealloc == BLOCK_PREALLOC_FALLOC && size > 0) {
        ret = fallocate(fd, 0, 0, size) < 0 ? -errno : 0;
    } else if (prealloc == BLOCK_PREALLOC_FULL && size > 0) {
        ret = write_zeros_fd(fd, size);
    }
    if (close(fd) < 0 && ret == 0) {
        ret = -errno;
    }
    if (ret < 0) {
        g_set_error(errp, G_IO_ERROR, g_io_error_from_errno(-ret),
                    "Could not size '%s' to %" G_GINT64_FORMAT " bytes: %s", filename, size,
                    g_strerror(-ret));
    }
    return ret;
}

const BlockDriver bdrv_file = {
    .format_name = "file",
    .is_protocol = true,
    .state_size = sizeof(BDRVFileState),
    .co_open = file_open,
    .co_close = file_close,
    .set_perm = file_set_perm,
    .co_preadv = file_co_preadv,
    .co_pwritev = file_co_pwritev,
    .co_flush = file_co_flush,
    .co_pdiscard = file_co_pdiscard,
    .co_pwrite_zeroes = file_co_pwrite_zeroes,
    .co_getlength = file_co_getlength,
    .co_get_allocated_size = file_co_get_allocated_size,
    .co_truncate = file_co_truncate,
    .co_block_status = file_co_block_status,
    .has_zero_init = file_has_zero_init,
};
