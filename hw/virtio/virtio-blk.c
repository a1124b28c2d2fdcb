/*
 * "virtio-blk-pci": block device (virtio 1.2, 5.2) on a -drive image. A request is a
 * 16-byte header { le32 type; le32 reserved; le64 sector; } in device-readable buffers,
 * data, and a 1-byte status in the last device-writable byte. Reads, writes, flushes,
 * GET_ID, DISCARD and WRITE_ZEROES (one segment each) go to the block layer
 * asynchronously and complete on the main loop. A failed request follows the drive's
 * rerror=/werror= (or the device's): reported (IOERR), ignored (OK), or kept while the
 * VM stops (io-error) and issued again when it runs (QEMU virtio_blk_handle_rw_error).
 */
#include "block/iov.h"
#include "vireo/drive.h"
#include "vireo/machine.h"
#include "vireo/virtio.h"
#include <string.h>

#define VIRTIO_BLK_F_SIZE_MAX       1
#define VIRTIO_BLK_F_SEG_MAX        2
#define VIRTIO_BLK_F_RO             5
#define VIRTIO_BLK_F_BLK_SIZE       6
#define VIRTIO_BLK_F_FLUSH          9
#define VIRTIO_BLK_F_DISCARD        13
#define VIRTIO_BLK_F_WRITE_ZEROES   14

#define T_IN            0
#define T_OUT           1
#define T_FLUSH         4
#define T_GET_ID        8
#define T_DISCARD       11
#define T_WRITE_ZEROES  13

#define S_OK      0
#define S_IOERR   1
#define S_UNSUPP  2

#define SECTOR    512
#define ID_BYTES  20
#define SEG_MAX   126             /* queue size - 2 (header and status), as QEMU */
#define CONFIG_SIZE 60

/* QEMU's BlockdevOnError; auto keeps the drive's rerror=/werror=. */
static const char *const on_error_names[] = { "auto", "report", "ignore", "enospc", "stop",
                                              NULL };
static const BlockOnError on_error_values[] = {
    BLOCK_ON_ERROR_AUTO, BLOCK_ON_ERROR_REPORT, BLOCK_ON_ERROR_IGNORE, BLOCK_ON_ERROR_ENOSPC,
    BLOCK_ON_ERROR_STOP,
};

typedef struct VirtioBlk {
    VirtioPci vp;                   /* first member */
    char *drive, *serial;           /* properties */
    uint16_t queue_size;            /* property */
    int rerror, werror;             /* properties, BlockOnError index */
    int32_t bootindex;              /* property: position in fw_cfg's bootorder */
    char *boot_path;                /* its OpenFirmware path, while registered */
    BlockBackend *blk;
    int64_t sectors;
    unsigned inflight;
    struct BlkReq *stopped;         /* requests kept by a stop on error, for cont; not
                                     * device state: migration is refused while any
                                     * waits (drives_check_no_retry) */
} VirtioBlk;

typedef struct BlkReq {
    VirtioBlk *b;
    struct BlkReq *next;            /* b->stopped */
    uint32_t type;
    int64_t off, bytes;
    int flags;
    VirtQueueElement *e;
    uint8_t *status;                /* the last device-writable byte */
    uint64_t in_bytes;              /* written into the in-buffers on success */
    BlkIov out, in;                 /* the element's buffers of each kind (not owned) */
    BlkIov data;                    /* the data part of them, into guest RAM */
} BlkReq;

/* r->data = bytes [off, off + len) of @src. */
static void set_data(BlkReq *r, const BlkIov *src, size_t off, size_t len)
{
    blkiov_init(&r->data, src->niov);
    blkiov_concat(&r->data, src, off, len);
}

static void req_finish(BlkReq *r, uint8_t status)
{
    VirtioBlk *b = r->b;
    *r->status = status;
    if (b->vp.reset_pending) {
        g_free(r->e);                   /* the driver reset the device meanwhile */
    } else {
        vq_push(&b->vp.vq[0], r->e, (status == S_OK ? r->in_bytes : 0) + 1);
        virtio_notify(&b->vp, 0);
    }
    b->inflight--;
    blkiov_destroy(&r->data);
    g_free(r);
    virtio_pci_request_done(&b->vp);
}

static void req_done(void *opaque, int ret);

/* Issues the block request @r describes (again, after a stop). */
static void req_issue(BlkReq *r)
{
    VirtioBlk *b = r->b;
    switch (r->type) {
    case T_IN:
        return blk_aio_preadv(b->blk, r->off, r->data.iov, r->data.niov, req_done, r);
    case T_OUT:
        return blk_aio_pwritev(b->blk, r->off, r->data.iov, r->data.niov, 0, req_done, r);
    case T_FLUSH:
        return blk_aio_flush(b->blk, req_done, r);
    case T_DISCARD:
        return blk_aio_pdiscard(b->blk, r->off, r->bytes, req_done, r);
    case T_WRITE_ZEROES:
        return blk_aio_pwrite_zeroes(b->blk, r->off, r->bytes, r->flags, req_done, r);
    }
}

/* cont: the stopped requests in the order they failed. */
static void blk_retry(void *opaque)
{
    VirtioBlk *b = opaque;
    BlkReq *list = NULL, *r;
    while ((r = b->stopped)) {              /* reverse the LIFO list */
        b->stopped = r->next;
        r->next = list;
        list = r;
    }
    while ((r = list)) {
        list = r->next;
        r->next = NULL;
        req_issue(r);
    }
}

/* Machine reset / unrealize: stopped requests are dropped unanswered. */
static void drop_stopped(VirtioBlk *b)
{
    BlkReq *r;
    while ((r = b->stopped)) {
        b->stopped = r->next;
        g_free(r->e);
        blkiov_destroy(&r->data);
        g_free(r);
        b->inflight--;
    }
    drive_set_retry(b->vp.pci.dev.machine, b->blk, NULL, NULL);
}

static void req_done(void *opaque, int ret)
{
    BlkReq *r = opaque;
    VirtioBlk *b = r->b;
    if (ret < 0 && ret != -ENOTSUP) {
        Machine *m = b->vp.pci.dev.machine;
        log_budget_warn(&b->vp.log, "virtio-blk-pci %s: I/O error: %s",
                        blk_filename(b->blk), g_strerror(-ret));
        switch (drive_io_error(m, b->blk, r->type == T_IN, -ret)) {
        case BLK_ERROR_ACTION_IGNORE:
            ret = 0;
            break;
        case BLK_ERROR_ACTION_STOP:
            r->next = b->stopped;
            b->stopped = r;
            drive_set_retry(m, b->blk, blk_retry, b);
            return;
        case BLK_ERROR_ACTION_REPORT:
            break;
        }
    }
    req_finish(r, ret == -ENOTSUP ? S_UNSUPP : ret < 0 ? S_IOERR : S_OK);
}

/* Range check of [sector, +bytes) against the disk; 512-byte granularity (5.2.6.1). */
static bool in_range(VirtioBlk *b, uint64_t sector, uint64_t bytes)
{
    return bytes % SECTOR == 0 && sector <= (uint64_t)b->sectors &&
           bytes / SECTOR <= (uint64_t)b->sectors - sector;
}

/* DISCARD / WRITE_ZEROES: one segment { le64 sector; le32 num_sectors; le32 flags }. */
static void start_zero_or_discard(BlkReq *r, uint32_t type, uint64_t data_len)
{
    VirtioBlk *b = r->b;
    uint8_t seg[16];
    uint64_t sector;
    uint32_t num, flags;
    if (data_len != 16 || blkiov_to_buf(&r->data, 0, seg, 16) != 16)
        return req_finish(r, S_UNSUPP);             /* max_*_seg is 1 */
    memcpy(&sector, seg, 8);
    memcpy(&num, seg + 8, 4);
    memcpy(&flags, seg + 12, 4);
    sector = le64toh(sector);
    num = le32toh(num);
    flags = le32toh(flags);
    if ((flags & ~1u) || (type == T_DISCARD && flags))
        return req_finish(r, S_UNSUPP);
    if (!in_range(b, sector, (uint64_t)num * SECTOR))
        return req_finish(r, S_IOERR);
    r->off = sector * SECTOR;
    r->bytes = (int64_t)num * SECTOR;
    r->flags = (flags & 1) ? BLK_REQ_MAY_UNMAP : 0;
    req_issue(r);
}

static void start_request(VirtioBlk *b, VirtQueueElement *e)
{
    uint8_t hdr[16];
    uint32_t type;
    uint64_t sector;
    BlkReq *r = g_new0(BlkReq, 1);
    r->b = b;
    r->e = e;
    b->inflight++;
    blkiov_init_external(&r->out, e->iov, e->out_num);
    blkiov_init_external(&r->in, e->iov + e->out_num, e->in_num);
    if (e->in_len < 1 || blkiov_to_buf(&r->out, 0, hdr, 16) != 16) {
        /* No room for a status or no header: nothing sensible to answer; drop it. */
        vq_push(&b->vp.vq[0], e, 0);
        b->inflight--;
        g_free(r);
        return;
    }
    const struct iovec *last = &r->in.iov[r->in.niov - 1];
    r->status = (uint8_t *)last->iov_base + last->iov_len - 1;
    memcpy(&type, hdr, 4);
    memcpy(&sector, hdr + 8, 8);
    type = le32toh(type);
    sector = le64toh(sector);
    r->type = type;
    r->off = (int64_t)(sector * SECTOR);
    uint64_t out_data = e->out_len - 16, in_data = e->in_len - 1;
    switch (type) {
    case T_IN:
        set_data(r, &r->in, 0, in_data);
        r->in_bytes = in_data;
        /* The used ring's len is 32 bits (2.7.8): a read it cannot describe fails. */
        if (in_data >= UINT32_MAX || !in_range(b, sector, in_data))
            return req_finish(r, S_IOERR);
        return req_issue(r);
    case T_OUT:
        set_data(r, &r->out, 16, out_data);
        if (blk_is_read_only(b->blk) || !in_range(b, sector, out_data))
            return req_finish(r, S_IOERR);
        return req_issue(r);
    case T_FLUSH:
        return req_issue(r);
    case T_GET_ID: {
        char id[ID_BYTES] = { 0 };
        strncpy(id, b->serial ? b->serial : "", ID_BYTES);
        r->in_bytes = blkiov_from_buf(&r->in, 0, id, MIN(in_data, ID_BYTES));
        return req_finish(r, S_OK);
    }
    case T_DISCARD:
    case T_WRITE_ZEROES:
        set_data(r, &r->out, 16, out_data);
        if (blk_is_read_only(b->blk))
            return req_finish(r, S_IOERR);
        return start_zero_or_discard(r, type, out_data);
    default:
        return req_finish(r, S_UNSUPP);
    }
}

static void blk_handle_queue(VirtioPci *v, unsigned q)
{
    VirtioBlk *b = (VirtioBlk *)v;
    VirtQueueElement *e;
    int ret;
    while ((ret = vq_pop(&v->vq[0], &e)) > 0)
        start_request(b, e);
    if (ret < 0)
        virtio_queue_broken(v, 0);
}

static void put32(uint8_t *c, unsigned off, uint32_t v) { v = htole32(v); memcpy(c + off, &v, 4); }

static void blk_fill_config(VirtioBlk *b)
{
    uint8_t *c = b->vp.config;
    uint64_t cap = htole64(b->sectors);
    memset(c, 0, CONFIG_SIZE);
    memcpy(c, &cap, 8);
    put32(c, 12, SEG_MAX);                           /* seg_max */
    put32(c, 20, SECTOR);                            /* blk_size */
    c[32] = blk_write_cache_enabled(b->blk);         /* writeback */
    put32(c, 36, UINT32_MAX / SECTOR);               /* max_discard_sectors */
    put32(c, 40, 1);                                 /* max_discard_seg */
    put32(c, 44, 1);                                 /* discard_sector_alignment */
    put32(c, 48, UINT32_MAX / SECTOR);               /* max_write_zeroes_sectors */
    put32(c, 52, 1);                                 /* max_write_zeroes_seg */
    c[56] = 1;                                       /* write_zeroes_may_unmap */
}

/* block_resize: the new capacity and a configuration change interrupt (5.2.4). */
static void blk_resized(void *opaque)
{
    VirtioBlk *b = opaque;
    int64_t len = blk_getlength(b->blk);
    if (len < 0)
        return;
    b->sectors = len / SECTOR;
    blk_fill_config(b);
    virtio_notify_config(&b->vp);
}

static unsigned blk_inflight(VirtioPci *v)
{
    return ((VirtioBlk *)v)->inflight;
}

static bool blk_realize(Device *dev, GError **errp)
{
    VirtioBlk *b = (VirtioBlk *)dev;
    if (b->queue_size < 4 || b->queue_size > 1024 || (b->queue_size & (b->queue_size - 1))) {
        g_set_error(errp, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                    "virtio-blk-pci: queue-size must be a power of 2 between 4 and 1024");
        return false;
    }
    b->blk = drive_claim(dev->machine, b->drive, "virtio-blk-pci", errp);
    if (!b->blk)
        return false;
    int64_t len = blk_getlength(b->blk);
    if (len < 0) {
        g_set_error(errp, G_IO_ERROR, G_IO_ERROR_FAILED, "virtio-blk-pci: drive '%s': %s",
                    b->drive, g_strerror(-len));
        drive_release(dev->machine, b->blk);
        return false;
    }
    b->sectors = len / SECTOR;
    blk_set_on_error(b->blk, on_error_values[b->rerror], on_error_values[b->werror]);
    blk_iostatus_enable(b->blk);
    drive_set_resize_cb(dev->machine, b->blk, blk_resized, b);
    /* The info is per device: the queue size and read-only bit are properties. */
    VirtioDeviceInfo *info = g_new0(VirtioDeviceInfo, 1);
    *info = (VirtioDeviceInfo){
        .name = "virtio-blk-pci", .device_id = VIRTIO_ID_BLOCK, .class_code = 0x010000,
        .num_queues = 1, .queue_size = b->queue_size, .config_size = CONFIG_SIZE,
        .features = (1ull << VIRTIO_BLK_F_SEG_MAX) | (1ull << VIRTIO_BLK_F_BLK_SIZE) |
                    (1ull << VIRTIO_BLK_F_FLUSH) | (1ull << VIRTIO_BLK_F_DISCARD) |
                    (1ull << VIRTIO_BLK_F_WRITE_ZEROES) |
                    (blk_is_read_only(b->blk) ? 1ull << VIRTIO_BLK_F_RO : 0),
        .handle_queue = blk_handle_queue, .inflight = blk_inflight,
    };
    blk_fill_config(b);
    if (!virtio_pci_realize(&b->vp, info, errp)) {
        g_free(info);
        b->vp.info = NULL;
        drive_release(dev->machine, b->blk);
        return false;
    }
    /* QEMU's path for SeaBIOS: the PCI function (class 01 00: "scsi") then the disk
     * (virtio_blk_device_realize's "/disk@0,0"); SeaBIOS matches it by PCI address. */
    b->boot_path = pci_add_boot_device(&b->vp.pci, b->bootindex, "scsi", "/disk@0,0");
    return true;
}

/* Machine reset: on the main loop thread (the block engine's), so requests can drain. */
static void blk_reset(Device *dev)
{
    VirtioBlk *b = (VirtioBlk *)dev;
    drop_stopped(b);
    if (b->blk && b->inflight)
        blk_drain(b->blk);
    pci_device_reset(&b->vp.pci);
    virtio_pci_reset(&b->vp);
}

static void blk_unrealize(Device *dev)
{
    VirtioBlk *b = (VirtioBlk *)dev;
    drop_stopped(b);
    if (b->blk && b->inflight)
        blk_drain(b->blk);
    virtio_pci_unrealize(&b->vp);
    machine_remove_boot_device(dev->machine, b->boot_path);
    g_clear_pointer(&b->boot_path, g_free);
    g_free((VirtioDeviceInfo *)b->vp.info);
    b->vp.info = NULL;
    drive_release(dev->machine, b->blk);
    b->blk = NULL;
}

static const Property blk_props[] = {
    VIRTIO_PCI_DEVICE_PROPS(VirtioBlk, vp),
    PROP("drive", PROP_STR, VirtioBlk, drive, NULL, "the -drive id of the image"),
    PROP("serial", PROP_STR, VirtioBlk, serial, NULL, "disk serial number (20 bytes)"),
    PROP("queue-size", PROP_U16, VirtioBlk, queue_size, "256", "virtqueue size"),
    PROP("bootindex", PROP_I32, VirtioBlk, bootindex, "-1", "boot order position"),
    PROP_ENUMT_("rerror", VirtioBlk, rerror, on_error_names, "BlockdevOnError", "auto",
                "action on read errors (auto: the drive's rerror)"),
    PROP_ENUMT_("werror", VirtioBlk, werror, on_error_names, "BlockdevOnError", "auto",
                "action on write errors (auto: the drive's werror)"),
    PROP_END,
};

/* QEMU's abstract parent of virtio-blk-pci (and its transitional variants). */
const DeviceClass virtio_blk_pci_base_class = {
    .name = "virtio-blk-pci-base", .parent = &virtio_pci_class, .abstract = true,
    .bus = BUS_PCI, .props = virtio_pci_generic_props,
};

const DeviceClass virtio_blk_pci_class = {
    .name = "virtio-blk-pci",
    .parent = &virtio_blk_pci_base_class,
    .desc = "virtio block device (virtio-pci, modern)",
    .bus = BUS_PCI,
    .instance_size = sizeof(VirtioBlk),
    .props = blk_props,
    .user_creatable = true,
    .realize = blk_realize,
    .reset = blk_reset,
    .unrealize = blk_unrealize,
};
