/*
 * An IDE channel: the task file (ATA8-APT, command block and control block registers),
 * the ATA commands of a disk (ATA8-ACS: IDENTIFY, SET FEATURES, SET MULTIPLE, READ/WRITE
 * SECTORS/MULTIPLE/DMA and their EXT forms with 48-bit LBA, VERIFY, FLUSH CACHE, power
 * management no-ops), PIO data transfers and the bus-master DMA glue; ATAPI packets go
 * to atapi.c.
 *
 * Data moves asynchronously through the block layer: a command that needs the medium
 * sets BSY and submits one request; the completion (main loop) sets DRQ or finishes and
 * raises the interrupt. A vCPU never waits for I/O. A reset while a request is in flight
 * bumps the drive's generation so that the late completion changes nothing.
 */
#include "ide-internal.h"
#include "vireo/drive.h"
#include <string.h>

static IdeDrive *cur_drive(IdeBus *b) { return b->drive[b->s->unit]; }

void ide_bus_update_irq(IdeBus *b)
{
    irq_set(b->irq, b->s->irq_pending && !(b->s->ctl & CTL_NIEN));
}

/* INTRQ: latched until the status register is read (ATA8-APT 5.2.9); the bus master
 * records it in its status (SFF 8038i, bit 2). */
void ide_set_irq(IdeBus *b)
{
    b->s->irq_pending = 1;
    b->s->bm.status |= BM_ST_INT;
    ide_bus_update_irq(b);
}

void ide_cmd_done(IdeDrive *d, bool irq)
{
    d->s.status = ST_DRDY | ST_DSC;
    d->s.xfer = XFER_NONE;
    d->s.data_pos = d->s.data_end = 0;
    d->s.dma_pending = 0;
    if (irq)
        ide_set_irq(d->bus);
}

void ide_abort(IdeDrive *d)
{
    ide_cmd_done(d, false);
    d->s.status = ST_DRDY | ST_ERR;
    d->s.error = ER_ABRT;
    ide_set_irq(d->bus);
}

/* Opens a PIO window of @len bytes of io_buffer with DRQ and the interrupt. */
void ide_pio_start(IdeDrive *d, IdeXfer dir, uint32_t len)
{
    d->s.xfer = dir;
    d->s.data_pos = 0;
    d->s.data_end = MIN(len, IDE_BUF_SIZE);
    d->s.status = ST_DRDY | ST_DSC | ST_DRQ;
    ide_set_irq(d->bus);
}

/* ---- block requests ---- */

typedef struct IdeTicket {
    IdeDrive *d;
    unsigned gen;
    IdeDoneFn *done;
} IdeTicket;

static void ticket_done(void *opaque, int ret)
{
    IdeTicket *t = opaque;
    IdeDrive *d = t->d;

    if (t->gen == d->gen) {
        d->inflight = false;
        t->done(d, ret);
    }
    g_free(t);
}

/* Issues d->last: the request in d->iov / d->niov (TRIM: one range in last.offset and
 * d->iov[0].iov_len bytes). */
static void ide_issue(IdeDrive *d)
{
    IdeTicket *t = g_new(IdeTicket, 1);

    *t = (IdeTicket){ d, d->gen, d->last.done };
    d->inflight = true;
    d->s.status = ST_BSY | ST_DRDY;
    switch (d->last.op) {
    case IDE_OP_WRITE:
        blk_aio_pwritev(d->blk, d->last.offset, d->iov, d->niov, 0, ticket_done, t);
        break;
    case IDE_OP_READ:
        blk_aio_preadv(d->blk, d->last.offset, d->iov, d->niov, ticket_done, t);
        break;
    case IDE_OP_FLUSH:
        blk_aio_flush(d->blk, ticket_done, t);
        break;
    case IDE_OP_TRIM:
        blk_aio_pdiscard(d->blk, d->last.offset, d->iov[0].iov_len, ticket_done, t);
        break;
    }
}

void ide_submit(IdeDrive *d, bool write, uint64_t offset, struct iovec *iov, int niov,
                IdeDoneFn *done)
{
    if (iov != d->iov) {
        memcpy(d->iov, iov, sizeof(*iov) * MIN(niov, IDE_PRD_MAX));
    }
    d->niov = MIN(niov, IDE_PRD_MAX);
    d->last.op = write ? IDE_OP_WRITE : IDE_OP_READ;
    d->last.offset = offset;
    d->last.done = done;
    ide_issue(d);
}

/* The VM runs again after a stop on an error: the same request once more, unless the
 * drive was reset (or lost its medium) meanwhile. */
static void ide_retry(void *opaque)
{
    IdeDrive *d = opaque;

    if (d->retry_gen == d->gen && d->inflight && d->blk)
        ide_issue(d);
}

/* A reset forgets the request a stop on error kept (ide_retry would drop it anyway):
 * nothing waits for a retry any more, so migration is allowed again. */
static void ide_drop_retry(IdeDrive *d)
{
    if (d->bus && d->blk)
        drive_set_retry(d->bus->m, d->blk, NULL, NULL);
}

bool ide_handle_error(IdeDrive *d, int ret, bool is_read, IdeDoneFn *report)
{
    Machine *m = d->bus->m;

    switch (drive_io_error(m, d->blk, is_read, -ret)) {
    case BLK_ERROR_ACTION_IGNORE:
        return false;
    case BLK_ERROR_ACTION_REPORT:
        report(d, ret);
        return true;
    case BLK_ERROR_ACTION_STOP:
        break;
    }
    /* The command stays busy until the retry completes it. */
    d->inflight = true;
    d->s.status = ST_BSY | ST_DRDY;
    d->retry_gen = d->gen;
    drive_set_retry(m, d->blk, ide_retry, d);
    return true;
}

static void ata_io_error(IdeDrive *d, int ret, bool write)
{
    log_budget_warn(&d->bus->log, "ide%u.%u: %s error at sector %" G_GUINT64_FORMAT ": %s",
                    d->bus->index, d->unit, write ? "write" : "read", d->s.lba,
                    g_strerror(-ret));
    ide_cmd_done(d, false);
    d->s.status = ST_DRDY | ST_ERR;
    d->s.error = write ? ER_ABRT : ER_UNC | ER_ABRT;
    ide_set_irq(d->bus);
}

/* ---- task file addressing ---- */

static uint64_t ata_get_sector(IdeDrive *d)
{
    IdeDriveState *s = &d->s;

    if (!(s->select & DEV_LBA)) {
        uint32_t cyl = s->lcyl | s->hcyl << 8, head = s->select & 0x0f;
        return ((uint64_t)cyl * d->heads + head) * d->secs + s->sector - 1;
    }
    if (s->lba48)
        return (uint64_t)s->hob_hcyl << 40 | (uint64_t)s->hob_lcyl << 32 |
               (uint64_t)s->hob_sector << 24 | (uint64_t)s->hcyl << 16 | s->lcyl << 8 |
               s->sector;
    return (uint64_t)(s->select & 0x0f) << 24 | s->hcyl << 16 | s->lcyl << 8 | s->sector;
}

static void ata_set_sector(IdeDrive *d, uint64_t n)
{
    IdeDriveState *s = &d->s;

    if (!(s->select & DEV_LBA)) {
        uint32_t r = n % (d->heads * d->secs), cyl = n / (d->heads * d->secs);
        s->hcyl = cyl >> 8;
        s->lcyl = cyl;
        s->select = (s->select & 0xf0) | (r / d->secs);
        s->sector = r % d->secs + 1;
    } else if (s->lba48) {
        s->sector = n;
        s->lcyl = n >> 8;
        s->hcyl = n >> 16;
        s->hob_sector = n >> 24;
        s->hob_lcyl = n >> 32;
        s->hob_hcyl = n >> 40;
    } else {
        s->select = (s->select & 0xf0) | ((n >> 24) & 0x0f);
        s->hcyl = n >> 16;
        s->lcyl = n >> 8;
        s->sector = n;
    }
}

static uint32_t ata_get_count(IdeDrive *d)
{
    uint32_t n = d->s.nsector | (d->s.lba48 ? d->s.hob_nsector << 8 : 0);

    return n ? n : d->s.lba48 ? 65536 : 256;
}

/* The command's range inside the medium; ABRT otherwise (QEMU ide_sect_range_ok). */
static bool ata_range_ok(IdeDrive *d, uint64_t lba, uint64_t n)
{
    if (d->blk && lba <= d->nb_sectors && n <= d->nb_sectors - lba)
        return true;
    log_budget_warn(&d->bus->log, "ide%u.%u: sectors %" G_GUINT64_FORMAT "+%" G_GUINT64_FORMAT
                    " are outside the disk", d->bus->index, d->unit, lba, n);
    ide_abort(d);
    return false;
}

/* ---- PIO reads and writes ---- */

static void ata_read_block(IdeDrive *d);

static void ata_read_error(IdeDrive *d, int ret) { ata_io_error(d, ret, false); }
static void ata_write_error(IdeDrive *d, int ret) { ata_io_error(d, ret, true); }

/* PIO reads read ahead: one block request fills io_buffer with up to IDE_BUF_SIZE of the
 * command's sectors (buf_len bytes; ATAPI reads do the same), and the DRQ blocks are
 * windows into it from buf_pos on, so that a BIOS reading 512-byte blocks through PIO
 * costs one request per 128 KiB instead of one per sector. Registers, interrupts and
 * DRQ blocks are those of a read per block; a read ahead that fails is redone for the
 * current block alone, so an error is reported at the sector where it is, with the
 * blocks before it delivered, as before. buf_pos/buf_len migrate with the state. */
static uint32_t ata_per_block(IdeDrive *d)
{
    bool multiple = d->s.cmd == 0xc4 || d->s.cmd == 0x29 || d->s.cmd == 0xc5 ||
                    d->s.cmd == 0x39;

    return multiple && d->s.mult_sectors ? d->s.mult_sectors : 1;
}

static uint32_t ata_block_size(IdeDrive *d)
{
    return MIN(ata_per_block(d), d->s.nsect_left);
}

/* Opens the next DRQ block of a PIO read on the sectors read ahead at buf_pos. */
static void ata_read_deliver(IdeDrive *d)
{
    IdeDriveState *s = &d->s;

    s->block_sectors = ata_block_size(d);
    s->lba += s->block_sectors;
    s->nsect_left -= s->block_sectors;
    ata_set_sector(d, s->lba);
    s->xfer = XFER_PIO_IN;
    s->data_pos = s->buf_pos;
    s->data_end = s->buf_pos + s->block_sectors * IDE_SECTOR;
    s->buf_pos = s->data_end;
    s->status = ST_DRDY | ST_DSC | ST_DRQ;
    ide_set_irq(d->bus);
}

static void ata_read_done(IdeDrive *d, int ret)
{
    IdeDriveState *s = &d->s;
    size_t len = d->iov[0].iov_len;

    if (ret < 0 && len > s->block_sectors * IDE_SECTOR) {
        /* the read ahead failed: the current block alone decides what the guest sees */
        d->iov[0].iov_len = s->block_sectors * IDE_SECTOR;
        ide_submit(d, false, s->lba * IDE_SECTOR, d->iov, 1, ata_read_done);
        return;
    }
    if (ret < 0 && ide_handle_error(d, ret, true, ata_read_error))
        return;
    s->buf_pos = 0;
    s->buf_len = len;
    ata_read_deliver(d);
}

static void ata_read_block(IdeDrive *d)
{
    IdeDriveState *s = &d->s;
    uint32_t n;

    s->block_sectors = ata_block_size(d);
    if (s->buf_pos <= s->buf_len &&
        s->block_sectors * IDE_SECTOR <= s->buf_len - s->buf_pos) {
        ata_read_deliver(d);
        return;
    }
    n = MIN(s->nsect_left, IDE_BUF_SIZE / IDE_SECTOR);
    if (!ata_range_ok(d, s->lba, n))
        return;
    s->buf_pos = s->buf_len = 0;
    d->iov[0] = (struct iovec){ s->io_buffer, n * IDE_SECTOR };
    ide_submit(d, false, s->lba * IDE_SECTOR, d->iov, 1, ata_read_done);
}

/* PIO writes write behind, the mirror of the read ahead: the DRQ blocks of a write
 * command are gathered in io_buffer (s->lba and nsect_left stay at the first sector not
 * yet written, buf_len counts the bytes gathered before the open window), each block
 * acknowledged with its interrupt and the next window at once, as a drive with its
 * write cache does; one block request writes what was gathered when the command's last
 * block came or the buffer is full. The command completes only when that request has:
 * an error is reported then, at the first sector of the request. */
static void ata_write_done(IdeDrive *d, int ret)
{
    uint32_t n = MIN(d->iov[0].iov_len / IDE_SECTOR, d->s.nsect_left);

    if (ret < 0)
        ata_set_sector(d, d->s.lba);           /* where the failed request starts */
    if (ret < 0 && ide_handle_error(d, ret, false, ata_write_error))
        return;
    d->s.lba += n;
    d->s.nsect_left -= n;
    ata_set_sector(d, d->s.lba);
    if (d->s.nsect_left == 0) {
        ide_cmd_done(d, true);
        return;
    }
    d->s.block_sectors = ata_block_size(d);
    d->s.buf_pos = d->s.buf_len = 0;
    ide_pio_start(d, XFER_PIO_OUT, d->s.block_sectors * IDE_SECTOR);
}

/* The guest filled a PIO write's window (it ends at data_end: that many bytes are
 * gathered): the next window, or the write. */
static void ata_write_block(IdeDrive *d)
{
    IdeDriveState *s = &d->s;
    uint32_t got = MIN(s->data_end / IDE_SECTOR, s->nsect_left);

    if (got < s->nsect_left) {
        uint32_t next = MIN(ata_per_block(d), s->nsect_left - got);
        if (s->data_end + next * IDE_SECTOR <= IDE_BUF_SIZE) {
            s->buf_pos = s->buf_len = s->data_end;
            s->block_sectors = next;
            ata_set_sector(d, s->lba + got);
            s->xfer = XFER_PIO_OUT;
            s->data_pos = s->data_end;
            s->data_end += next * IDE_SECTOR;
            s->status = ST_DRDY | ST_DSC | ST_DRQ;
            ide_set_irq(d->bus);
            return;
        }
    }
    if (!ata_range_ok(d, s->lba, got))
        return;
    s->buf_pos = s->buf_len = 0;
    d->iov[0] = (struct iovec){ s->io_buffer, got * IDE_SECTOR };
    ide_submit(d, true, s->lba * IDE_SECTOR, d->iov, 1, ata_write_done);
}

/* The guest emptied or filled the PIO window. */
static void pio_window_done(IdeDrive *d)
{
    IdeXfer x = d->s.xfer;

    d->s.xfer = XFER_NONE;
    if (d->is_cd) {
        if (x == XFER_PIO_OUT)
            atapi_packet_received(d);
        else
            atapi_pio_next(d);
        return;
    }
    if (x == XFER_PIO_OUT && d->blk) {
        ata_write_block(d);
    } else if (x == XFER_PIO_IN && d->s.nsect_left > 0 && d->blk) {
        ata_read_block(d);
    } else {
        ide_cmd_done(d, false);
    }
}

static uint32_t data_read(IdeBus *b, unsigned size)
{
    IdeDrive *d = cur_drive(b);
    uint32_t v = 0;

    if (!d || d->s.xfer != XFER_PIO_IN || d->inflight || d->s.data_pos >= d->s.data_end)
        return 0;
    size = MIN(size, d->s.data_end - d->s.data_pos);
    memcpy(&v, d->s.io_buffer + d->s.data_pos, size);
    d->s.data_pos += size;
    if (d->s.data_pos >= d->s.data_end)
        pio_window_done(d);
    return v;
}

static void data_write(IdeBus *b, uint32_t v, unsigned size)
{
    IdeDrive *d = cur_drive(b);

    if (!d || d->s.xfer != XFER_PIO_OUT || d->inflight || d->s.data_pos >= d->s.data_end)
        return;
    size = MIN(size, d->s.data_end - d->s.data_pos);
    memcpy(d->s.io_buffer + d->s.data_pos, &v, size);
    d->s.data_pos += size;
    if (d->s.data_pos >= d->s.data_end)
        pio_window_done(d);
}

/* ---- DMA ---- */

static bool ata_dma_is_write(uint8_t cmd) { return cmd == 0xca || cmd == 0xcb || cmd == 0x35; }

static void ata_dma_error(IdeDrive *d, int ret)
{
    ata_io_error(d, ret, ata_dma_is_write(d->s.cmd));
    d->bus->s->bm.status = (d->bus->s->bm.status & ~BM_ST_ACTIVE) | BM_ST_ERROR;
}

static void ata_dma_done(IdeDrive *d, int ret)
{
    if (ret < 0 && ide_handle_error(d, ret, !ata_dma_is_write(d->s.cmd), ata_dma_error))
        return;
    d->s.lba += d->s.nsect_left;
    d->s.nsect_left = 0;
    ata_set_sector(d, d->s.lba);
    ide_dma_finish(d, true);
}

/* The bus master reads the PRD table: up to IDE_PRD_MAX entries of { le32 address,
 * le16 byte count (0 = 64 KiB), bit 31 of the second dword = end of table }. */
bool ide_dma_map(IdeDrive *d, uint64_t bytes, bool to_memory)
{
    AddressSpace *as = d->bus->m->sysmem;
    uint32_t table = d->bus->s->bm.addr;
    bool eot = false;

    d->niov = 0;
    for (unsigned i = 0; i < IDE_PRD_MAX && bytes > 0 && !eot; i++) {
        uint32_t e[2];
        if (!as_dma_read(as, (uint64_t)table + 8 * i, e, 8))
            break;
        uint32_t addr = GUINT32_FROM_LE(e[0]) & ~1u, flags = GUINT32_FROM_LE(e[1]);
        uint32_t len = flags & 0xfffe ? flags & 0xfffe : 0x10000;
        eot = flags & 0x80000000u;
        len = MIN(len, bytes);
        void *p = to_memory ? as_ram_ptr_writable(as, addr, len) : as_ram_ptr(as, addr, len);
        if (!p)
            break;
        d->iov[d->niov++] = (struct iovec){ p, len };
        bytes -= len;
    }
    if (bytes == 0)
        return true;
    log_budget_warn(&d->bus->log, "ide%u.%u: PRD table at 0x%x is short, unterminated "
                    "or points outside guest RAM", d->bus->index, d->unit, table);
    ide_dma_finish(d, false);
    return false;
}

/* End of a DMA command: the bus master goes inactive (with its error bit on failure),
 * the drive reports, the interrupt is raised. */
void ide_dma_finish(IdeDrive *d, bool ok)
{
    BmdmaState *bm = &d->bus->s->bm;

    bm->status &= ~BM_ST_ACTIVE;
    if (ok) {
        ide_cmd_done(d, true);
        return;
    }
    bm->status |= BM_ST_ERROR;
    ide_abort(d);
}

/* ---- DATA SET MANAGEMENT (TRIM), ACS-2 7.10: DMA of nsect 512-byte blocks of 8-byte
 * entries { LBA bits 0-47, sector count bits 48-63 (0: unused) }; each range becomes a
 * discard (nothing with discard=ignore), one at a time. ---- */

static void trim_next(IdeDrive *d);

static void trim_error(IdeDrive *d, int ret)
{
    ata_io_error(d, ret, true);
    d->bus->s->bm.status = (d->bus->s->bm.status & ~BM_ST_ACTIVE) | BM_ST_ERROR;
}

static void trim_done(IdeDrive *d, int ret)
{
    if (ret < 0 && ide_handle_error(d, ret, false, trim_error))
        return;
    trim_next(d);
}

static void trim_next(IdeDrive *d)
{
    while (d->trim_pos < d->trim_end) {
        uint64_t e;
        memcpy(&e, d->s.io_buffer + d->trim_pos, 8);
        d->trim_pos += 8;
        e = GUINT64_FROM_LE(e);
        uint64_t lba = e & 0xffffffffffffull, n = e >> 48;
        if (n == 0)
            continue;
        if (lba > d->nb_sectors || n > d->nb_sectors - lba) {
            /* QEMU: an invalid range fails the command (aborted, bus master error) */
            log_budget_warn(&d->bus->log, "ide%u.%u: TRIM range %" G_GUINT64_FORMAT "+%"
                            G_GUINT64_FORMAT " is outside the disk", d->bus->index, d->unit,
                            lba, n);
            ide_dma_finish(d, false);
            return;
        }
        d->iov[0] = (struct iovec){ NULL, n * IDE_SECTOR };
        d->niov = 1;
        d->last.op = IDE_OP_TRIM;
        d->last.offset = lba * IDE_SECTOR;
        d->last.done = trim_done;
        ide_issue(d);
        return;
    }
    ide_dma_finish(d, true);
}

static void ata_trim_run(IdeDrive *d)
{
    uint64_t bytes = (uint64_t)d->s.nsect_left * IDE_SECTOR;

    if (bytes > IDE_BUF_SIZE) {                     /* 16384 ranges at most */
        ide_dma_finish(d, false);
        return;
    }
    if (!ide_dma_map(d, bytes, false))
        return;
    for (int i = 0, off = 0; i < d->niov; off += d->iov[i].iov_len, i++)
        memcpy(d->s.io_buffer + off, d->iov[i].iov_base, d->iov[i].iov_len);
    d->trim_pos = 0;
    d->trim_end = bytes;
    trim_next(d);
}

static void ata_dma_run(IdeDrive *d)
{
    bool write = d->s.cmd == 0xca || d->s.cmd == 0xcb || d->s.cmd == 0x35;

    if (d->s.cmd == 0x06) {
        ata_trim_run(d);
        return;
    }
    if (!ide_dma_map(d, (uint64_t)d->s.nsect_left * IDE_SECTOR, !write))
        return;
    ide_submit(d, write, d->s.lba * IDE_SECTOR, d->iov, d->niov, ata_dma_done);
}

void ide_dma_kick(IdeBus *b)
{
    IdeDrive *d = cur_drive(b);

    if (!d || !d->s.dma_pending || d->inflight || !(b->s->bm.status & BM_ST_ACTIVE))
        return;
    d->s.dma_pending = 0;
    if (d->is_cd)
        atapi_dma_run(d);
    else
        ata_dma_run(d);
}

/* ---- ATA commands ---- */

static void put_string(uint16_t *w, const char *s, unsigned words)
{
    char buf[80];

    memset(buf, ' ', sizeof(buf));
    memcpy(buf, s, MIN(strlen(s), words * 2));
    for (unsigned i = 0; i < words; i++)   /* ATA strings: two characters per word, swapped */
        w[i] = GUINT16_TO_LE((uint8_t)buf[2 * i] << 8 | (uint8_t)buf[2 * i + 1]);
}

static void put_w(uint16_t *w, unsigned i, uint16_t v) { w[i] = GUINT16_TO_LE(v); }

/* IDENTIFY DEVICE data (ATA8-ACS table 22), the words Linux and SeaBIOS read. */
static void ata_identify(IdeDrive *d)
{
    uint16_t *w = (uint16_t *)d->s.io_buffer;
    uint64_t n = d->nb_sectors, n28 = MIN(n, 0x0fffffffu);
    unsigned mdma = d->s.xfer_mode >> 3 == 4 ? 1u << (d->s.xfer_mode & 7) : 0;
    unsigned udma = d->s.xfer_mode >> 3 == 8 ? 1u << (d->s.xfer_mode & 7) : 0;

    memset(w, 0, 512);
    put_w(w, 0, 0x0040);                            /* fixed, non-removable */
    put_w(w, 1, d->cyls);
    put_w(w, 3, d->heads);
    put_w(w, 6, d->secs);
    put_string(w + 10, d->serial, 10);
    put_w(w, 20, 3);
    put_w(w, 21, 512);
    put_w(w, 22, 4);
    put_string(w + 23, d->version, 4);
    put_string(w + 27, d->model, 20);
    put_w(w, 47, 0x8000 | IDE_MAX_MULT);
    put_w(w, 48, 1);                                /* 32-bit PIO */
    put_w(w, 49, 1 << 11 | 1 << 9 | 1 << 8);        /* IORDY, LBA, DMA */
    put_w(w, 51, 0x200);
    put_w(w, 52, 0x200);
    put_w(w, 53, 1 | 2 | 4);                        /* words 54-58, 64-70, 88 valid */
    put_w(w, 54, d->cyls);
    put_w(w, 55, d->heads);
    put_w(w, 56, d->secs);
    put_w(w, 57, (uint32_t)d->cyls * d->heads * d->secs);
    put_w(w, 58, ((uint32_t)d->cyls * d->heads * d->secs) >> 16);
    put_w(w, 59, d->s.mult_sectors ? 0x100 | d->s.mult_sectors : 0);
    put_w(w, 60, n28);
    put_w(w, 61, n28 >> 16);
    put_w(w, 62, 0x07);                             /* single-word DMA 0-2 */
    put_w(w, 63, 0x07 | mdma << 8);                 /* multiword DMA 0-2 */
    put_w(w, 64, 0x03);                             /* PIO 3, 4 */
    for (unsigned i = 65; i <= 68; i++)
        put_w(w, i, 120);
    put_w(w, 80, 0xf0);                             /* ATA/ATAPI-4..7 */
    put_w(w, 81, 0x16);
    put_w(w, 82, 1 << 14 | 1 << 5);                 /* NOP, write cache */
    put_w(w, 83, 1 << 14 | 1 << 13 | 1 << 12 | 1 << 10);   /* flush ext, flush, LBA48 */
    put_w(w, 84, 1 << 14 | (d->wwn ? 1 << 8 : 0));
    put_w(w, 85, 1 << 14 | (d->s.write_cache ? 1 << 5 : 0));
    put_w(w, 86, 1 << 13 | 1 << 12 | 1 << 10);
    put_w(w, 87, 1 << 14 | (d->wwn ? 1 << 8 : 0));
    put_w(w, 88, 0x3f | udma << 8);                 /* Ultra DMA 0-5 */
    put_w(w, 93, 1 | 1 << 14 | 1 << 13);            /* 80-conductor cable */
    put_w(w, 169, 1);                               /* DATA SET MANAGEMENT: TRIM */
    for (unsigned i = 0; i < 4; i++)
        put_w(w, 100 + i, n >> (16 * i));
    if (d->wwn)
        for (unsigned i = 0; i < 4; i++)
            put_w(w, 108 + i, d->wwn >> (16 * (3 - i)));
    ide_pio_start(d, XFER_PIO_IN, 512);
}

static bool set_features(IdeDrive *d)
{
    switch (d->s.feature) {
    case 0x02: d->s.write_cache = 1; return true;
    case 0x82: d->s.write_cache = 0; return true;
    case 0x03:                                      /* set transfer mode */
        switch (d->s.nsector >> 3) {
        case 0: case 1: case 4: case 8:             /* PIO default/PIO n/MWDMA n/UDMA n */
            d->s.xfer_mode = d->s.nsector;
            return true;
        }
        return false;
    case 0xaa: case 0x55: case 0x66: case 0xcc: case 0x31: case 0x42: case 0x85: case 0x05:
        return true;                                /* look-ahead, defaults, APM: no-ops */
    default:
        return false;
    }
}

static void ata_rw_start(IdeDrive *d, bool lba48, bool write, bool dma)
{
    d->s.lba48 = lba48;
    d->s.lba = ata_get_sector(d);
    d->s.nsect_left = ata_get_count(d);
    if (!ata_range_ok(d, d->s.lba, d->s.nsect_left))
        return;
    if (dma) {
        d->s.dma_pending = 1;
        d->s.status = ST_DRDY | ST_DSC | ST_DRQ;
        ide_dma_kick(d->bus);
    } else if (write) {
        d->s.block_sectors = ata_block_size(d);
        d->s.xfer = XFER_PIO_OUT;
        d->s.buf_pos = d->s.buf_len = 0;
        d->s.data_pos = 0;
        d->s.data_end = d->s.block_sectors * IDE_SECTOR;
        d->s.status = ST_DRDY | ST_DSC | ST_DRQ;   /* no interrupt for the first block */
    } else {
        ata_read_block(d);
    }
}

static void flush_done(IdeDrive *d, int ret)
{
    if (ret < 0 && ide_handle_error(d, ret, false, ata_write_error))
        return;
    ide_cmd_done(d, true);
}

static void ata_flush(IdeDrive *d)
{
    if (!d->blk) {
        ide_cmd_done(d, true);
        return;
    }
    d->last.op = IDE_OP_FLUSH;
    d->last.done = flush_done;
    ide_issue(d);
}

static bool multiple_ok(IdeDrive *d, uint8_t cmd)
{
    return !((cmd == 0xc4 || cmd == 0x29 || cmd == 0xc5 || cmd == 0x39) && !d->s.mult_sectors);
}

/* ATA commands of a disk; false: abort. */
static bool ata_exec(IdeDrive *d, uint8_t cmd)
{
    switch (cmd) {
    case 0xec: ata_identify(d); return true;
    case 0xef: if (!set_features(d)) return false; ide_cmd_done(d, true); return true;
    case 0xc6:                                      /* SET MULTIPLE MODE */
        if (d->s.nsector > IDE_MAX_MULT || (d->s.nsector & (d->s.nsector - 1)))
            return false;
        d->s.mult_sectors = d->s.nsector;
        ide_cmd_done(d, true);
        return true;
    case 0x20: case 0x21: case 0xc4: ata_rw_start(d, false, false, false); return true;
    case 0x24: case 0x29: ata_rw_start(d, true, false, false); return true;
    case 0x30: case 0x31: case 0xc5: ata_rw_start(d, false, true, false); return true;
    case 0x34: case 0x39: ata_rw_start(d, true, true, false); return true;
    case 0xc8: case 0xc9: ata_rw_start(d, false, false, true); return true;
    case 0x25: ata_rw_start(d, true, false, true); return true;
    case 0xca: case 0xcb: ata_rw_start(d, false, true, true); return true;
    case 0x35: ata_rw_start(d, true, true, true); return true;
    case 0x40: case 0x41: case 0x42:                /* READ VERIFY: range check only */
        d->s.lba48 = cmd == 0x42;
        if (ata_range_ok(d, ata_get_sector(d), ata_get_count(d))) {
            ata_set_sector(d, ata_get_sector(d) + ata_get_count(d) - 1);
            ide_cmd_done(d, true);
        }
        return true;
    case 0xe7: case 0xea: ata_flush(d); return true;
    case 0x06:                                      /* DATA SET MANAGEMENT: TRIM by DMA */
        if (!(d->s.feature & 1) || !d->blk)
            return false;
        d->s.lba48 = 1;
        d->s.nsect_left = ata_get_count(d);
        d->s.dma_pending = 1;
        d->s.status = ST_DRDY | ST_DSC | ST_DRQ;
        ide_dma_kick(d->bus);
        return true;
    case 0xf8: case 0x27:                           /* READ NATIVE MAX ADDRESS (EXT) */
        d->s.lba48 = cmd == 0x27;
        d->s.select |= DEV_LBA;
        ata_set_sector(d, d->nb_sectors ? d->nb_sectors - 1 : 0);
        ide_cmd_done(d, true);
        return true;
    case 0xe5: d->s.nsector = 0xff; ide_cmd_done(d, true); return true;   /* active */
    case 0x10 ... 0x1f: case 0x70: case 0x91: case 0xe0: case 0xe1: case 0xe2: case 0xe3:
    case 0xe6:                                      /* recalibrate, seek, CHS, power */
        ide_cmd_done(d, true);
        return true;
    default:
        return false;
    }
}

static void exec_diagnostic(IdeBus *b)
{
    for (unsigned u = 0; u < 2; u++)
        if (b->drive[u]) {
            ide_drive_reset(b->drive[u]);
            b->drive[u]->s.error = 0x01;
        }
    ide_set_irq(b);
}

static void command_write(IdeBus *b, uint8_t cmd)
{
    IdeDrive *d = cur_drive(b);

    if (!d || (d->s.status & ST_BSY) || d->inflight)
        return;     /* ATA8-APT: the command register is ignored while BSY */
    if (cmd == 0x90) {
        exec_diagnostic(b);
        return;
    }
    d->s.cmd = cmd;
    d->s.error = 0;
    d->s.xfer = XFER_NONE;
    d->s.dma_pending = 0;
    d->s.nsect_left = 0;        /* a command cut short by this one moves no more */
    d->s.buf_pos = d->s.buf_len = 0;
    if (d->is_cd) {
        switch (cmd) {
        case 0xa1: atapi_identify(d); return;
        case 0xa0:                                  /* PACKET */
            d->s.atapi_bcl = d->s.lcyl | d->s.hcyl << 8;
            d->s.nsector = IR_COD;
            d->s.xfer = XFER_PIO_OUT;
            d->s.data_pos = 0;
            d->s.data_end = 12;
            d->s.status = ST_DRDY | ST_DSC | ST_DRQ;
            return;
        case 0x08:                                  /* DEVICE RESET */
            ide_drive_reset(d);
            return;
        case 0xef: if (set_features(d)) { ide_cmd_done(d, true); return; } break;
        case 0xe7: case 0xe0: case 0xe1: case 0xe3: case 0xe5: case 0xe6:
            ide_cmd_done(d, true);
            return;
        case 0xec:                                  /* IDENTIFY: abort with the signature */
            atapi_set_signature(d);
            break;
        }
        ide_abort(d);
        return;
    }
    if (!multiple_ok(d, cmd) || !ata_exec(d, cmd))
        ide_abort(d);
}

/* ---- registers ---- */

static uint8_t reg_read(IdeBus *b, unsigned reg)
{
    IdeDrive *d = cur_drive(b);
    bool hob = b->s->ctl & CTL_HOB;

    if (!b->drive[0] && !b->drive[1])
        return 0xff;                                /* floating bus: nothing attached */
    if (!d)
        return 0;                                   /* the other drive is absent */
    switch (reg) {
    case 1: return hob ? d->s.hob_feature : d->s.error;
    case 2: return hob ? d->s.hob_nsector : d->s.nsector;
    case 3: return hob ? d->s.hob_sector : d->s.sector;
    case 4: return hob ? d->s.hob_lcyl : d->s.lcyl;
    case 5: return hob ? d->s.hob_hcyl : d->s.hcyl;
    case 6: return d->s.select;
    case 7:
        b->s->irq_pending = 0;
        ide_bus_update_irq(b);
        return d->s.status;
    }
    return 0xff;
}

/* Command block writes reach both drives (each latches the task file); writing any of
 * them clears HOB (ATA8-APT 5.2.4). */
static void reg_write(IdeBus *b, unsigned reg, uint8_t v)
{
    if (reg == 7) {
        command_write(b, v);
        return;
    }
    b->s->ctl &= ~CTL_HOB;
    for (unsigned u = 0; u < 2; u++) {
        IdeDriveState *s = b->drive[u] ? &b->drive[u]->s : NULL;
        if (!s)
            continue;
        switch (reg) {
        case 1: s->hob_feature = s->feature; s->feature = v; break;
        case 2: s->hob_nsector = s->nsector; s->nsector = v; break;
        case 3: s->hob_sector = s->sector; s->sector = v; break;
        case 4: s->hob_lcyl = s->lcyl; s->lcyl = v; break;
        case 5: s->hob_hcyl = s->hcyl; s->hcyl = v; break;
        case 6: s->select = v | 0xa0; break;
        }
    }
    if (reg == 6) {
        b->s->unit = !!(v & DEV_DEV);
        ide_bus_update_irq(b);
    }
}

static uint64_t cmd_read(void *opaque, uint64_t off, unsigned size)
{
    IdeBus *b = opaque;
    uint64_t v = 0;

    if (off == 0 && size >= 2)
        return data_read(b, size);
    for (unsigned i = 0; i < size; i++)
        v |= (uint64_t)(off + i == 0 ? 0xff : reg_read(b, off + i)) << (8 * i);
    return v;
}

static void cmd_write(void *opaque, uint64_t off, uint64_t val, unsigned size)
{
    IdeBus *b = opaque;

    if (off == 0 && size >= 2) {
        data_write(b, val, size);
        return;
    }
    for (unsigned i = 0; i < size; i++)
        if (off + i)
            reg_write(b, off + i, val >> (8 * i));
}

static const MemOps cmd_ops = { .read = cmd_read, .write = cmd_write,
                                .min_access = 1, .max_access = 4 };

/* Alternate status (no interrupt acknowledge) and device control (nIEN, SRST, HOB). */
static uint64_t ctl_read(void *opaque, uint64_t off, unsigned size)
{
    IdeBus *b = opaque;
    IdeDrive *d = cur_drive(b);

    if (!b->drive[0] && !b->drive[1])
        return 0xff;
    return d ? d->s.status : 0;
}

static void ctl_write(void *opaque, uint64_t off, uint64_t val, unsigned size)
{
    IdeBus *b = opaque;
    uint8_t old = b->s->ctl;

    b->s->ctl = val;
    if ((val & CTL_SRST) && !(old & CTL_SRST)) {
        for (unsigned u = 0; u < 2; u++)
            if (b->drive[u]) {
                b->drive[u]->gen++;
                b->drive[u]->inflight = false;
                ide_drop_retry(b->drive[u]);
                b->drive[u]->s.status = ST_BSY | ST_DSC;
                b->drive[u]->s.error = 0x01;
            }
    } else if (!(val & CTL_SRST) && (old & CTL_SRST)) {
        for (unsigned u = 0; u < 2; u++)
            if (b->drive[u]) {
                ide_drive_reset(b->drive[u]);
                b->drive[u]->s.error = 0x01;
            }
        b->s->unit = 0;
    }
    ide_bus_update_irq(b);
}

static const MemOps ctl_ops = { .read = ctl_read, .write = ctl_write,
                                .min_access = 1, .max_access = 1 };

/* Power-on / software reset state with the signature (ATA8-APT 9.2; ATAPI: 14h EBh). */
void ide_drive_reset(IdeDrive *d)
{
    IdeDriveState *s = &d->s;
    uint8_t tray_open = s->tray_open, locked = s->tray_locked, ua = s->unit_attention;

    d->gen++;
    d->inflight = false;
    ide_drop_retry(d);
    memset(s, 0, offsetof(IdeDriveState, io_buffer));
    s->tray_open = tray_open;
    s->tray_locked = locked;
    s->unit_attention = ua;
    s->write_cache = d->blk ? blk_write_cache_enabled(d->blk) : 0;
    s->select = 0xa0 | (d->unit ? DEV_DEV : 0);
    s->nsector = s->sector = 1;
    s->error = 0x01;
    if (d->is_cd) {
        atapi_set_signature(d);
        s->status = 0;
    } else {
        s->status = ST_DRDY | ST_DSC;
    }
}

void ide_bus_reset(IdeBus *b)
{
    IdeBusState *s = b->s;

    s->ctl = 0;
    s->irq_pending = 0;
    s->unit = 0;
    s->bm.cmd = 0;
    s->bm.status &= BM_ST_CAP_MASK;
    s->bm.addr = 0;
    for (unsigned u = 0; u < 2; u++)
        if (b->drive[u]) {
            b->drive[u]->s.tray_locked = 0;
            ide_drive_reset(b->drive[u]);
        }
    ide_bus_update_irq(b);
}

void ide_bus_init(IdeBus *b, Machine *m, unsigned index, IrqLine *irq, IdeBusState *s)
{
    b->m = m;
    b->index = index;
    b->irq = irq;
    b->s = s;
    b->log = (LogBudget)LOG_BUDGET_DEFAULT;
    mr_init_io(&b->cmd_mr, index ? "ide1-cmd" : "ide0-cmd", 8, &cmd_ops, b);
    mr_init_io(&b->ctl_mr, index ? "ide1-ctl" : "ide0-ctl", 1, &ctl_ops, b);
}

bool ide_bus_map(IdeBus *b, uint16_t iobase, uint16_t ctlbase, GError **errp)
{
    return as_add_region(b->m->io, &b->cmd_mr, iobase, errp) &&
           as_add_region(b->m->io, &b->ctl_mr, ctlbase, errp);
}

void ide_bus_unmap(IdeBus *b)
{
    as_del_region(b->m->io, &b->cmd_mr);
    as_del_region(b->m->io, &b->ctl_mr);
}
