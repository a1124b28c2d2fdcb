/*
 * ATAPI CD/DVD-ROM (ide-cd): the PACKET protocol (ATA8-APT 11.8: command packet through
 * the data port, replies in DRQ blocks of at most the byte count limit, or through the
 * bus master) and the MMC-6 / SPC-4 commands a BIOS and Linux's sr driver use. Errors
 * are CHECK CONDITION with sense data (REQUEST SENSE); a medium change is reported once
 * as UNIT ATTENTION and through GET EVENT STATUS NOTIFICATION.
 *
 * Every length and address in a packet is checked against the medium and the 128 KiB
 * buffer; a READ is streamed through the buffer (PIO) or mapped by the PRD table (DMA).
 */
#include "ide-internal.h"
#include <string.h>

#define CD_MAX_BLOCKS       (80u * 60 * 75)     /* 80-minute CD; larger media are DVDs */
#define MEDIA_EVENT_EJECT_REQUEST 1
#define MEDIA_EVENT_NEW     2
#define MEDIA_EVENT_REMOVAL 3

#define F_CHECK_READY   1   /* needs a medium */
#define F_ALLOW_UA      2   /* runs despite a pending unit attention */

static bool medium_present(IdeDrive *d) { return d->blk && !d->s.tray_open; }
static uint32_t total_blocks(IdeDrive *d) { return MIN(d->nb_sectors / 4, UINT32_MAX); }
static uint16_t be16(const uint8_t *p) { return p[0] << 8 | p[1]; }
static uint32_t be32(const uint8_t *p) { return (uint32_t)p[0] << 24 | p[1] << 16 | p[2] << 8 | p[3]; }
static void st_be16(uint8_t *p, uint16_t v) { p[0] = v >> 8; p[1] = v; }
static void st_be32(uint8_t *p, uint32_t v) { st_be16(p, v >> 16); st_be16(p + 2, v); }

void atapi_set_signature(IdeDrive *d)
{
    d->s.nsector = 1;
    d->s.sector = 1;
    d->s.lcyl = 0x14;
    d->s.hcyl = 0xeb;
}

void atapi_medium_changed(IdeDrive *d)
{
    d->s.unit_attention = 1;
    d->s.media_event = d->blk ? MEDIA_EVENT_NEW : MEDIA_EVENT_REMOVAL;
}

/* Command complete: interrupt reason I/O + C/D, status DRDY (ATA8-APT 11.8.2). */
static void atapi_ok(IdeDrive *d)
{
    d->bus->s->bm.status &= ~BM_ST_ACTIVE;
    ide_cmd_done(d, false);
    d->s.nsector = (d->s.nsector & ~7) | IR_IO | IR_COD;
    ide_set_irq(d->bus);
}

static void atapi_error(IdeDrive *d, uint8_t key, uint8_t asc)
{
    d->s.sense_key = key;
    d->s.asc = asc;
    d->bus->s->bm.status &= ~BM_ST_ACTIVE;
    ide_cmd_done(d, false);
    d->s.status = ST_DRDY | ST_ERR;
    d->s.error = key << 4;
    d->s.nsector = (d->s.nsector & ~7) | IR_IO | IR_COD;
    ide_set_irq(d->bus);
}

static bool use_dma(IdeDrive *d) { return d->s.feature & 1; }

/* Next DRQ block of the reply, at most the byte count limit (even unless it is the
 * last block), or the end of the command. */
static void send_next(IdeDrive *d);

static void read_chunk_done(IdeDrive *d, int ret)
{
    if (ret < 0) {
        log_budget_warn(&d->bus->log, "ide%u.%u: CD read error: %s", d->bus->index, d->unit,
                        g_strerror(-ret));
        atapi_error(d, 3 /* MEDIUM ERROR */, 0x11 /* unrecovered read error */);
        return;
    }
    d->s.lba += d->s.buf_len / CD_SECTOR;
    d->s.atapi_left -= d->s.buf_len;
    d->s.buf_pos = 0;
    send_next(d);
}

static void send_next(IdeDrive *d)
{
    IdeDriveState *s = &d->s;

    if (s->buf_pos >= s->buf_len && s->atapi_left > 0) {
        s->buf_pos = 0;
        s->buf_len = MIN(s->atapi_left, IDE_BUF_SIZE);
        if (!d->blk || s->lba + s->buf_len / CD_SECTOR > total_blocks(d)) {
            atapi_error(d, SENSE_ILLEGAL_REQUEST, ASC_LBA_OUT_OF_RANGE);
            return;
        }
        d->iov[0] = (struct iovec){ s->io_buffer, s->buf_len };
        ide_submit(d, false, s->lba * CD_SECTOR, d->iov, 1, read_chunk_done);
        return;
    }
    if (s->buf_pos >= s->buf_len) {
        atapi_ok(d);
        return;
    }
    uint32_t bcl = s->atapi_bcl, n = s->buf_len - s->buf_pos;
    if (bcl == 0 || bcl == 0xffff)
        bcl = 0xfffe;
    if (n > bcl)
        n = bcl & ~1u;
    s->xfer = XFER_PIO_IN;
    s->data_pos = s->buf_pos;
    s->data_end = s->buf_pos + n;
    s->buf_pos += n;
    s->lcyl = n;
    s->hcyl = n >> 8;
    s->nsector = (s->nsector & ~7) | IR_IO;
    s->status = ST_DRDY | ST_DSC | ST_DRQ;
    ide_set_irq(d->bus);
}

void atapi_pio_next(IdeDrive *d)
{
    send_next(d);
}

/* A reply of @len bytes in io_buffer, cut to the allocation length. */
static void reply(IdeDrive *d, uint32_t len, uint32_t alloc)
{
    d->s.buf_pos = 0;
    d->s.buf_len = MIN(len, alloc);
    d->s.atapi_left = 0;
    if (d->s.buf_len == 0) {
        atapi_ok(d);
    } else if (use_dma(d)) {
        d->s.dma_pending = 1;
        ide_dma_kick(d->bus);
    } else {
        send_next(d);
    }
}

/* DMA reads follow rerror= (QEMU: ide_atapi_cmd_read_dma_cb); PIO reads report. */
static void dma_read_done(IdeDrive *d, int ret)
{
    if (ret < 0 && ide_handle_error(d, ret, true, read_chunk_done))
        return;
    d->s.lba += d->s.atapi_left / CD_SECTOR;
    d->s.atapi_left = 0;
    atapi_ok(d);
}

void atapi_dma_run(IdeDrive *d)
{
    IdeDriveState *s = &d->s;

    if (s->atapi_left > 0) {                       /* READ: straight into the PRDs */
        if (!d->blk || s->lba + s->atapi_left / CD_SECTOR > total_blocks(d)) {
            atapi_error(d, SENSE_ILLEGAL_REQUEST, ASC_LBA_OUT_OF_RANGE);
            return;
        }
        if (ide_dma_map(d, s->atapi_left, true))
            ide_submit(d, false, s->lba * CD_SECTOR, d->iov, d->niov, dma_read_done);
        return;
    }
    if (!ide_dma_map(d, s->buf_len, true))
        return;
    for (int i = 0, off = 0; i < d->niov; off += d->iov[i].iov_len, i++)
        memcpy(d->iov[i].iov_base, s->io_buffer + off, d->iov[i].iov_len);
    atapi_ok(d);
}

/* ---- commands ---- */

static void cmd_read(IdeDrive *d, uint32_t lba, uint32_t count)
{
    if ((uint64_t)lba + count > total_blocks(d)) {
        atapi_error(d, SENSE_ILLEGAL_REQUEST, ASC_LBA_OUT_OF_RANGE);
        return;
    }
    if (count == 0) {
        atapi_ok(d);
        return;
    }
    if (count > UINT32_MAX / CD_SECTOR) {          /* more than the 32-bit byte count */
        atapi_error(d, SENSE_ILLEGAL_REQUEST, ASC_INV_FIELD_IN_CDB);
        return;
    }
    d->s.lba = lba;
    d->s.atapi_left = count * CD_SECTOR;
    d->s.buf_pos = d->s.buf_len = 0;
    if (use_dma(d)) {
        d->s.dma_pending = 1;
        ide_dma_kick(d->bus);
    } else {
        send_next(d);
    }
}

static void lba_to_msf(uint8_t *p, uint32_t lba)
{
    lba += 150;
    p[0] = lba / (60 * 75);
    p[1] = (lba / 75) % 60;
    p[2] = lba % 75;
}

static void toc_addr(uint8_t *p, uint32_t lba, bool msf)
{
    if (msf) {
        p[0] = 0;
        lba_to_msf(p + 1, lba);
    } else {
        st_be32(p, lba);
    }
}

/* READ TOC/PMA/ATIP (MMC-6 6.38): one data track, formats 0 (TOC), 1 (sessions),
 * 2 (raw TOC). */
static void cmd_read_toc(IdeDrive *d)
{
    uint8_t *p = d->s.packet, *b = d->s.io_buffer;
    unsigned format = p[2] & 0xf ? p[2] & 0xf : p[9] >> 6, start = p[6], len;
    bool msf = p[1] & 2;

    memset(b, 0, 64);
    b[2] = b[3] = 1;
    switch (format) {
    case 0:
        if (start > 1 && start != 0xaa) {
            atapi_error(d, SENSE_ILLEGAL_REQUEST, ASC_INV_FIELD_IN_CDB);
            return;
        }
        len = 4;
        if (start <= 1) {
            b[len + 1] = 0x14;
            b[len + 2] = 1;
            toc_addr(b + len + 4, 0, msf);
            len += 8;
        }
        b[len + 1] = 0x16;
        b[len + 2] = 0xaa;
        toc_addr(b + len + 4, total_blocks(d), msf);
        len += 8;
        break;
    case 1:
        b[5] = 0x14;
        b[6] = 1;
        toc_addr(b + 8, 0, msf);
        len = 12;
        break;
    case 2: {
        static const uint8_t points[] = { 0xa0, 0xa1, 0xa2, 1 };
        len = 4;
        for (unsigned i = 0; i < 4; i++, len += 11) {
            uint8_t *e = b + len;
            e[0] = 1;                                   /* session */
            e[1] = 0x14;
            e[3] = points[i];
            if (points[i] == 0xa0 || points[i] == 0xa1)
                e[8] = 1;                               /* first / last track */
            else
                lba_to_msf(e + 8, points[i] == 0xa2 ? total_blocks(d) : 0);
        }
        break;
    }
    default:
        atapi_error(d, SENSE_ILLEGAL_REQUEST, ASC_INV_FIELD_IN_CDB);
        return;
    }
    st_be16(b, len - 2);
    reply(d, len, be16(p + 7));
}

/* MODE SENSE(10) (SPC-4 6.12): error recovery (01h) and capabilities (2Ah) pages. */
static void cmd_mode_sense(IdeDrive *d)
{
    uint8_t *p = d->s.packet, *b = d->s.io_buffer;
    unsigned page = p[2] & 0x3f, pc = p[2] >> 6, len = 8;

    if (pc == 3) {
        atapi_error(d, SENSE_ILLEGAL_REQUEST, ASC_SAVING_NOT_SUPPORTED);
        return;
    }
    if (page != 0x01 && page != 0x2a && page != 0x3f) {
        atapi_error(d, SENSE_ILLEGAL_REQUEST, ASC_INV_FIELD_IN_CDB);
        return;
    }
    memset(b, 0, 64);
    b[2] = 0x70;
    if (page == 0x01 || page == 0x3f) {
        b[len] = 0x01;
        b[len + 1] = 6;
        b[len + 3] = 5;                                 /* read retry count */
        len += 8;
    }
    if (page == 0x2a || page == 0x3f) {
        uint8_t *c = b + len;
        c[0] = 0x2a;
        c[1] = 0x12;
        c[4] = 0x71;                                    /* audio, multisession, mode 2 */
        c[5] = 3 << 5;
        c[6] = 1 | 1 << 3 | 1 << 5 | (d->s.tray_locked ? 2 : 0);  /* lock, eject, tray */
        st_be16(c + 8, 706);                            /* max speed, KB/s */
        st_be16(c + 10, 2);
        st_be16(c + 12, 512);
        st_be16(c + 14, 706);
        len += 20;
    }
    st_be16(b, len - 2);
    reply(d, len, be16(p + 7));
}

/* GET CONFIGURATION (MMC-6 6.6): profile list (DVD-ROM, CD-ROM), core, removable
 * medium; the current profile follows the medium's size as in QEMU. */
static void cmd_get_configuration(IdeDrive *d)
{
    uint8_t *p = d->s.packet, *b = d->s.io_buffer;
    bool present = medium_present(d), dvd = present && total_blocks(d) > CD_MAX_BLOCKS;
    unsigned len = 8;

    memset(b, 0, 64);
    st_be16(b + 6, !present ? 0 : dvd ? 0x0010 : 0x0008);
    b[len + 2] = 0x03;                                  /* profile list */
    b[len + 3] = 8;
    st_be16(b + len + 4, 0x0010);
    b[len + 6] = dvd;
    st_be16(b + len + 8, 0x0008);
    b[len + 10] = present && !dvd;
    len += 12;
    st_be16(b + len, 0x0001);                           /* core: ATAPI */
    b[len + 2] = 0x0b;
    b[len + 3] = 8;
    st_be32(b + len + 4, 2);
    b[len + 8] = 1;
    len += 12;
    st_be16(b + len, 0x0003);                           /* removable medium: tray */
    b[len + 2] = 0x03;
    b[len + 3] = 4;
    b[len + 4] = 1 << 5 | 1 << 3 | 1 | (d->s.tray_locked ? 4 : 0);
    len += 8;
    st_be32(b, len - 4);
    reply(d, len, be16(p + 7));
}

/* GET EVENT STATUS NOTIFICATION (MMC-6 6.7), polled, media class only. */
static void cmd_gesn(IdeDrive *d)
{
    uint8_t *p = d->s.packet, *b = d->s.io_buffer;

    if (!(p[1] & 1)) {
        atapi_error(d, SENSE_ILLEGAL_REQUEST, ASC_INV_FIELD_IN_CDB);
        return;
    }
    memset(b, 0, 8);
    b[3] = 0x10;                                        /* supported: media */
    if (!(p[4] & 0x10)) {
        b[1] = 2;
        b[2] = 0x80;                                    /* no event available */
        reply(d, 4, be16(p + 7));
        return;
    }
    b[1] = 6;
    b[2] = 0x04;
    b[4] = d->s.media_event;
    b[5] = (medium_present(d) ? 2 : 0) | (d->s.tray_open ? 1 : 0);
    d->s.media_event = 0;
    reply(d, 8, be16(p + 7));
}

static void cmd_start_stop(IdeDrive *d)
{
    bool loej = d->s.packet[4] & 2, start = d->s.packet[4] & 1;

    if (loej && !start && d->s.tray_locked) {
        atapi_error(d, SENSE_NOT_READY, ASC_MEDIUM_REMOVAL_PREVENTED);
        return;
    }
    if (loej && d->s.tray_open == start) {
        d->s.tray_open = !start;
        if (d->tray_moved)
            d->tray_moved(d);
    }
    atapi_ok(d);
}

static void cmd_simple(IdeDrive *d)
{
    uint8_t *p = d->s.packet, *b = d->s.io_buffer;

    switch (p[0]) {
    case 0x00:                                          /* TEST UNIT READY */
    case 0xbb:                                          /* SET CD SPEED */
        atapi_ok(d);
        return;
    case 0x03:                                          /* REQUEST SENSE */
        memset(b, 0, 18);
        b[0] = 0x70;
        b[2] = d->s.sense_key;
        b[7] = 10;
        b[12] = d->s.asc;
        d->s.sense_key = d->s.asc = 0;
        reply(d, 18, p[4]);
        return;
    case 0x12:                                          /* INQUIRY (SPC-4 6.4) */
        if (p[1] & 1) {
            atapi_error(d, SENSE_ILLEGAL_REQUEST, ASC_INV_FIELD_IN_CDB);
            return;
        }
        memset(b, 0, 36);
        b[0] = 5;                                       /* CD/DVD device */
        b[1] = 0x80;                                    /* removable */
        b[3] = 0x21;
        b[4] = 31;
        memcpy(b + 8, "QEMU    ", 8);
        memcpy(b + 16, "QEMU DVD-ROM    ", 16);
        memset(b + 32, ' ', 4);
        memcpy(b + 32, d->version, MIN(strlen(d->version), 4));
        reply(d, 36, be16(p + 3));
        return;
    case 0x1e:                                          /* PREVENT ALLOW MEDIUM REMOVAL */
        d->s.tray_locked = p[4] & 1;
        atapi_ok(d);
        return;
    case 0x25:                                          /* READ CAPACITY */
        st_be32(b, total_blocks(d) - 1);
        st_be32(b + 4, CD_SECTOR);
        reply(d, 8, 8);
        return;
    case 0x2b:                                          /* SEEK(10) */
        if (be32(p + 2) >= total_blocks(d))
            atapi_error(d, SENSE_ILLEGAL_REQUEST, ASC_LBA_OUT_OF_RANGE);
        else
            atapi_ok(d);
        return;
    case 0x51:                                          /* READ DISC INFORMATION */
        if (p[1] & 7) {
            atapi_error(d, SENSE_ILLEGAL_REQUEST, ASC_INV_FIELD_IN_CDB);
            return;
        }
        memset(b, 0, 34);
        b[1] = 32;
        b[2] = 0x0e;                                    /* complete, finalized session */
        b[3] = b[4] = b[5] = b[6] = 1;
        b[7] = 0x20;                                    /* unrestricted use */
        reply(d, 34, be16(p + 7));
        return;
    case 0xbd:                                          /* MECHANISM STATUS */
        memset(b, 0, 8);
        b[5] = 1;
        reply(d, 8, be16(p + 8));
        return;
    }
}

static const struct {
    uint8_t op, flags;
} cmd_flags[] = {
    { 0x00, F_CHECK_READY }, { 0x03, F_ALLOW_UA }, { 0x12, F_ALLOW_UA },
    { 0x1b, 0 }, { 0x1e, 0 }, { 0x25, F_CHECK_READY }, { 0x28, F_CHECK_READY },
    { 0x2b, F_CHECK_READY }, { 0x43, F_CHECK_READY }, { 0x46, F_ALLOW_UA },
    { 0x4a, F_ALLOW_UA }, { 0x51, F_CHECK_READY }, { 0x5a, 0 }, { 0xa8, F_CHECK_READY },
    { 0xbb, 0 }, { 0xbd, 0 },
};

void atapi_packet_received(IdeDrive *d)
{
    uint8_t *p = d->s.io_buffer;
    int flags = -1;

    memcpy(d->s.packet, p, 12);
    p = d->s.packet;
    for (unsigned i = 0; i < G_N_ELEMENTS(cmd_flags); i++)
        if (cmd_flags[i].op == p[0])
            flags = cmd_flags[i].flags;
    if (flags < 0) {
        atapi_error(d, SENSE_ILLEGAL_REQUEST, ASC_INV_OPCODE);
        return;
    }
    if (d->s.unit_attention && !(flags & F_ALLOW_UA)) {
        d->s.unit_attention = 0;
        atapi_error(d, SENSE_UNIT_ATTENTION, ASC_MEDIUM_MAY_HAVE_CHANGED);
        return;
    }
    if ((flags & F_CHECK_READY) && !medium_present(d)) {
        atapi_error(d, SENSE_NOT_READY, ASC_MEDIUM_NOT_PRESENT);
        return;
    }
    switch (p[0]) {
    case 0x28: cmd_read(d, be32(p + 2), be16(p + 7)); return;
    case 0xa8: cmd_read(d, be32(p + 2), be32(p + 6)); return;
    case 0x43: cmd_read_toc(d); return;
    case 0x5a: cmd_mode_sense(d); return;
    case 0x46: cmd_get_configuration(d); return;
    case 0x4a: cmd_gesn(d); return;
    case 0x1b: cmd_start_stop(d); return;
    default: cmd_simple(d); return;
    }
}

/* IDENTIFY PACKET DEVICE (ATA8-ACS 7.17): a removable CD-ROM with 12-byte packets. */
void atapi_identify(IdeDrive *d)
{
    uint16_t *w = (uint16_t *)d->s.io_buffer;
    unsigned mdma = d->s.xfer_mode >> 3 == 4 ? 1u << (d->s.xfer_mode & 7) : 0;
    unsigned udma = d->s.xfer_mode >> 3 == 8 ? 1u << (d->s.xfer_mode & 7) : 0;
    static const struct { unsigned i; uint16_t v; } words[] = {
        { 0, 0x85c0 }, { 20, 3 }, { 21, 512 }, { 22, 4 }, { 48, 1 },
        { 49, 1 << 9 | 1 << 8 }, { 53, 7 }, { 62, 7 }, { 64, 3 }, { 65, 0xb4 },
        { 66, 0xb4 }, { 67, 0x12c }, { 68, 0xb4 }, { 71, 30 }, { 72, 30 }, { 80, 0x1e },
        { 82, 1 << 14 | 1 << 4 }, { 83, 1 << 14 }, { 84, 1 << 14 }, { 85, 1 << 4 },
        { 86, 0 }, { 87, 1 << 14 }, { 93, 1 | 1 << 14 | 1 << 13 },
    };
    char model[41];

    memset(w, 0, 512);
    for (unsigned i = 0; i < G_N_ELEMENTS(words); i++)
        w[words[i].i] = GUINT16_TO_LE(words[i].v);
    w[63] = GUINT16_TO_LE(7 | mdma << 8);
    w[88] = GUINT16_TO_LE(0x3f | udma << 8);
    for (unsigned i = 0; i < 10; i++) {
        char a = i * 2 < strlen(d->serial) ? d->serial[i * 2] : ' ';
        char b = i * 2 + 1 < strlen(d->serial) ? d->serial[i * 2 + 1] : ' ';
        w[10 + i] = GUINT16_TO_LE((uint8_t)a << 8 | (uint8_t)b);
    }
    g_snprintf(model, sizeof(model), "%-40s", d->model);
    for (unsigned i = 0; i < 20; i++)
        w[27 + i] = GUINT16_TO_LE((uint8_t)model[2 * i] << 8 | (uint8_t)model[2 * i + 1]);
    for (unsigned i = 0; i < 4; i++) {
        char a = i * 2 < strlen(d->version) ? d->version[i * 2] : ' ';
        char b = i * 2 + 1 < strlen(d->version) ? d->version[i * 2 + 1] : ' ';
        w[23 + i] = GUINT16_TO_LE((uint8_t)a << 8 | (uint8_t)b);
    }
    ide_pio_start(d, XFER_PIO_IN, 512);
}
