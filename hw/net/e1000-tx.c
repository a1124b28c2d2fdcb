/*
 * e1000 transmit (8254x SDM 3.3): the ring between TDH and TDT, legacy descriptors
 * (with the IC checksum insertion), context descriptors (SDM 3.3.6: IP and TCP/UDP
 * checksum fields, TSO header length and MSS) and data descriptors (SDM 3.3.7: IXSM,
 * TXSM, TSE), VLAN insertion (VLE with CTRL.VME), TCP segmentation (SDM 3.5).
 *
 * The guest is hostile: TDH/TDT/TDLEN out of range stop the ring (as the hardware's
 * behaviour is undefined), a packet beyond 64 KiB + 256 bytes is dropped, a TSO context
 * whose header length or MSS cannot describe the packet is dropped with a budgeted log
 * line, at most 1024 segments come from one packet, and each run handles at most
 * TX_BUDGET descriptors before letting the main loop go on (an idle callback continues).
 * A frame the backend queues (tap full) pauses the ring until it is delivered.
 */
#include "e1000.h"
#include "vireo/machine.h"
#include <string.h>

#define TX_BUDGET       256
#define TSO_MAX_SEGS    1024

/* Legacy CMD / extended DCMD bits (SDM 3.3.3, 3.3.7.1). */
#define TXD_EOP     0x01
#define TXD_IFCS    0x02
#define TXD_IC      0x04            /* legacy: insert checksum */
#define TXD_TSE     0x04            /* extended data: TCP segmentation */
#define TXD_RS      0x08
#define TXD_RPS     0x10
#define TXD_DEXT    0x20
#define TXD_VLE     0x40
#define TXD_IDE     0x80
#define TXD_DD      0x01            /* status: descriptor done */
/* Extended descriptor types (DTYP, bits 23:20 of the third dword). */
#define DTYP_CONTEXT 0x0
#define DTYP_DATA    0x1
/* POPTS (data descriptor) */
#define POPTS_IXSM  0x01
#define POPTS_TXSM  0x02
/* TUCMD (context descriptor) */
#define TUCMD_TCP   0x01
#define TUCMD_IP    0x02

static void tx_packet_reset(E1000 *d)
{
    d->tx_size = 0;
    d->tx_first_seen = d->tx_tse = d->tx_ixsm = d->tx_txsm = false;
    d->tx_legacy_ic = d->tx_vle = d->tx_too_big = false;
}

void e1000_tx_reset(E1000 *d)
{
    if (d->tx_idle)
        g_source_remove(d->tx_idle);
    d->tx_idle = 0;
    if (d->tx_pending && d->nic)
        net_purge_queued(d->nic->ncs[0]);
    d->tx_pending = 0;
    tx_packet_reset(d);
}

static uint16_t rd16(const uint8_t *p) { return p[0] << 8 | p[1]; }
static uint32_t rd32(const uint8_t *p) { return (uint32_t)rd16(p) << 16 | rd16(p + 2); }
static void wr16(uint8_t *p, uint16_t v) { p[0] = v >> 8, p[1] = v; }
static void wr32(uint8_t *p, uint32_t v) { wr16(p, v >> 16), wr16(p + 2, v); }

/* Inserts the checksum of [start, end] (end 0: the end of the frame) at @off. */
static void insert_csum(uint8_t *f, size_t len, unsigned start, unsigned off, unsigned end,
                        uint32_t extra)
{
    size_t stop = end && end < len ? end + 1u : len;
    if (start >= stop || off + 2 > len)
        return;
    uint32_t sum = net_checksum_add(f + start, stop - start, extra);
    wr16(f + off, net_checksum_finish(sum));
}

static void tx_stats(E1000 *d, const uint8_t *f, size_t len)
{
    static const unsigned bins[] = { S_PTC64, S_PTC127, S_PTC255, S_PTC511, S_PTC1023,
                                     S_PTC1522 };
    static const size_t top[] = { 64, 127, 255, 511, 1023, 1522 };
    e_add_stat(d, S_TPT, 1);
    e_add_stat(d, S_GPTC, 1);
    e_add_stat64(d, S_GOTCL, len + 4);
    e_add_stat64(d, S_TOTL, len + 4);
    if (!memcmp(f, "\xff\xff\xff\xff\xff\xff", 6))
        e_add_stat(d, S_BPTC, 1);
    else if (f[0] & 1)
        e_add_stat(d, S_MPTC, 1);
    for (unsigned i = 0; i < G_N_ELEMENTS(top); i++)
        if (len + 4 <= top[i]) {
            e_add_stat(d, bins[i], 1);
            break;
        }
}

static void tx_sent(NetClient *nc, ssize_t ret)
{
    E1000 *d = net_nic_of(nc)->opaque;
    if (d->tx_pending && --d->tx_pending == 0)
        e1000_start_xmit(d);
}

/* Sends one frame, inserting the 802.1Q tag when asked (SDM 3.3.7.1: VLE). */
/* The virtio-net header that goes with a frame to a backend that carries it (a tap with
 * IFF_VNET_HDR): zero, or a checksum/segmentation request the host kernel carries out
 * (virtio 1.2 5.1.6: flags, gso_type, hdr_len, gso_size, csum_start, csum_offset). */
typedef struct VnetHdr {
    uint8_t b[NET_VNET_HDR_LEN];
} VnetHdr;

static void vnet_hdr_set(VnetHdr *h, uint8_t gso, unsigned hdr_len, unsigned mss,
                         unsigned start, unsigned off)
{
    memset(h, 0, sizeof(*h));
    h->b[0] = 1;                                        /* NEEDS_CSUM */
    h->b[1] = gso;
    h->b[2] = hdr_len, h->b[3] = hdr_len >> 8;
    h->b[4] = mss, h->b[5] = mss >> 8;
    h->b[6] = start, h->b[7] = start >> 8;
    h->b[8] = off, h->b[9] = off >> 8;
}

/* Sends one frame (with @vh when the backend takes the header), inserting the 802.1Q
 * tag when asked (SDM 3.3.7.1: VLE): the header's offsets then move by 4. */
static void tx_frame_vh(E1000 *d, uint8_t *f, size_t len, VnetHdr *vh)
{
    NetClient *nc = d->nic->ncs[0];
    uint8_t *tagged = d->tx_tag;
    VnetHdr zero = { { 0 } };
    if (len < 14)
        return;
    tx_stats(d, f, len);
    if (d->tx_vle && (e_reg(d, E_CTRL) & CTRL_VME)) {
        if (len > E1000_TX_MAX)
            return;
        memcpy(tagged, f, 12);
        wr16(tagged + 12, e_reg(d, E_VET));
        wr16(tagged + 14, d->tx_vlan);
        memcpy(tagged + 16, f + 12, len - 12);
        f = tagged;
        len += 4;
        if (vh) {
            unsigned hl = (vh->b[2] | vh->b[3] << 8) + 4, st = (vh->b[6] | vh->b[7] << 8) + 4;
            vh->b[2] = hl, vh->b[3] = hl >> 8, vh->b[6] = st, vh->b[7] = st >> 8;
        }
    }
    if (!d->vnet) {
        if (net_send_buf(nc, f, len, tx_sent) == 0)
            d->tx_pending++;
        return;
    }
    struct iovec iov[2] = { { vh ? vh->b : zero.b, NET_VNET_HDR_LEN }, { f, len } };
    if (net_send(nc, iov, 2, tx_sent) == 0)
        d->tx_pending++;
}

static void tx_frame(E1000 *d, uint8_t *f, size_t len)
{
    tx_frame_vh(d, f, len, NULL);
}

/* With the header on the backend, a TSO packet goes out whole and the host kernel cuts
 * it (GSO): one write instead of one per segment. The TCP checksum field gets the
 * pseudo-header sum with the packet's length, as the kernel expects for GSO. */
static bool tx_tso_gso(E1000 *d, bool ipv4)
{
    const E1000TxContext *c = &d->s.ctx;
    uint8_t *h = d->tx_buf;
    size_t len = d->tx_size;
    if (!d->vnet || !d->tx_txsm || len - c->ipcss > 65535 || !(c->tucmd & TUCMD_TCP) ||
        c->tucso < c->tucss || c->tucso - c->tucss > 255)
        return false;
    if (ipv4) {
        wr16(h + c->ipcss + 2, len - c->ipcss);
        if (d->tx_ixsm) {
            wr16(h + c->ipcso, 0);
            insert_csum(h, len, c->ipcss, c->ipcso, c->ipcse, 0);
        }
    } else {
        wr16(h + c->ipcss + 4, len - c->ipcss - 40);
    }
    uint32_t sum = net_checksum_add(h + c->tucso, 2, len - c->tucss);
    uint16_t folded = ~net_checksum_finish(sum);
    wr16(h + c->tucso, folded);
    VnetHdr vh;
    vnet_hdr_set(&vh, ipv4 ? 1 : 4, c->hdr_len, c->mss, c->tucss, c->tucso - c->tucss);
    tx_frame_vh(d, h, len, &vh);
    return true;
}

/* SDM 3.5: each segment gets the header with its IP length/ID, TCP sequence number and
 * flags, and fresh checksums (the TCP pseudo-header sum the driver left in the header
 * lacks the length, which we add per segment). */
static void tx_tso(E1000 *d)
{
    const E1000TxContext *c = &d->s.ctx;
    unsigned hdr = c->hdr_len, mss = c->mss;
    size_t payload = d->tx_size > hdr ? d->tx_size - hdr : 0;
    bool ipv4 = c->tucmd & TUCMD_IP, tcp = c->tucmd & TUCMD_TCP;
    if (!hdr || hdr > d->tx_size || !mss || hdr + (size_t)mss > E1000_TX_MAX ||
        c->ipcss + 20u > hdr || c->tucss + (tcp ? 20u : 8u) > hdr || c->tucss < c->ipcss ||
        (payload + mss - 1) / mss > TSO_MAX_SEGS || c->tucso + 2u > hdr ||
        (ipv4 && c->ipcso + 2u > hdr)) {
        log_budget_warn(&d->log, "e1000: TSO context (header %u, MSS %u) does not fit a "
                        "%u-byte packet; dropped", hdr, mss, d->tx_size);
        e_add_stat(d, S_TSCTFC, 1);
        return;
    }
    e_add_stat(d, S_TSCTC, 1);
    if (payload > mss && tx_tso_gso(d, ipv4))
        return;
    uint8_t *seg = d->tx_seg;
    uint8_t *h = d->tx_buf;
    uint32_t seq = rd32(h + c->tucss + 4);
    uint16_t ipid = rd16(h + c->ipcss + 4);
    uint16_t pseudo = rd16(h + c->tucso);
    for (size_t off = 0, i = 0; off < payload || (i == 0 && payload == 0); off += mss, i++) {
        size_t chunk = MIN((size_t)mss, payload - off), len = hdr + chunk;
        bool last = off + chunk >= payload;
        memcpy(seg, h, hdr);
        memcpy(seg + hdr, h + hdr + off, chunk);
        if (ipv4) {
            wr16(seg + c->ipcss + 2, len - c->ipcss);
            wr16(seg + c->ipcss + 4, ipid + i);
            if (d->tx_ixsm) {
                wr16(seg + c->ipcso, 0);
                insert_csum(seg, len, c->ipcss, c->ipcso, c->ipcse, 0);
            }
        } else {
            wr16(seg + c->ipcss + 4, len - c->ipcss - 40);   /* IPv6 payload length */
        }
        if (tcp) {
            wr32(seg + c->tucss + 4, seq + off);
            if (!last)
                seg[c->tucss + 13] &= ~0x09;                  /* no FIN/PSH but last */
        } else {
            wr16(seg + c->tucss + 4, len - c->tucss);          /* UDP length */
        }
        if (d->tx_txsm) {
            wr16(seg + c->tucso, pseudo);
            insert_csum(seg, len, c->tucss, c->tucso, 0, len - c->tucss);
        }
        tx_frame(d, seg, len);
        if (payload == 0)
            break;
    }
}

static void tx_packet_done(E1000 *d)
{
    const E1000TxContext *c = &d->s.ctx;
    if (d->tx_too_big) {
        log_budget_warn(&d->log, "e1000: transmit packet over %u bytes; dropped",
                        E1000_TX_MAX);
    } else if (d->tx_tse) {
        tx_tso(d);
    } else {
        if (d->tx_legacy_ic)
            insert_csum(d->tx_buf, d->tx_size, d->tx_css, d->tx_cso, 0, 0);
        if (d->tx_ixsm && c->ipcso + 2u <= d->tx_size) {
            wr16(d->tx_buf + c->ipcso, 0);
            insert_csum(d->tx_buf, d->tx_size, c->ipcss, c->ipcso, c->ipcse, 0);
        }
        if (d->tx_txsm && d->vnet && !c->tucse && c->tucso >= c->tucss &&
            c->tucso + 2u <= d->tx_size && c->tucso - c->tucss <= 255) {
            VnetHdr vh;                   /* the host kernel inserts the checksum */
            vnet_hdr_set(&vh, 0, 0, 0, c->tucss, c->tucso - c->tucss);
            tx_frame_vh(d, d->tx_buf, d->tx_size, &vh);
            tx_packet_reset(d);
            return;
        }
        if (d->tx_txsm)
            insert_csum(d->tx_buf, d->tx_size, c->tucss, c->tucso, c->tucse, 0);
        tx_frame(d, d->tx_buf, d->tx_size);
    }
    tx_packet_reset(d);
}

static void tx_context(E1000 *d, const uint8_t *ds)
{
    E1000TxContext *c = &d->s.ctx;
    c->ipcss = ds[0];
    c->ipcso = ds[1];
    c->ipcse = ds[2] | ds[3] << 8;
    c->tucss = ds[4];
    c->tucso = ds[5];
    c->tucse = ds[6] | ds[7] << 8;
    c->paylen = (ds[8] | ds[9] << 8 | ds[10] << 16) & 0xfffff;
    c->tucmd = ds[11];
    c->hdr_len = ds[13];
    c->mss = ds[14] | ds[15] << 8;
}

/* Appends the buffer of a data or legacy descriptor to the packet. */
static void tx_append(E1000 *d, uint64_t addr, uint32_t len)
{
    AddressSpace *as = d->pci.dev.machine->sysmem;
    if (d->tx_too_big || !len)
        return;
    if ((uint64_t)d->tx_size + len > E1000_TX_MAX) {
        d->tx_too_big = true;
        return;
    }
    if (!as_dma_read(as, addr, d->tx_buf + d->tx_size, len)) {
        log_budget_warn(&d->log, "e1000: transmit buffer 0x%" G_GINT64_MODIFIER "x+%u "
                        "outside guest RAM; packet dropped", addr, len);
        d->tx_too_big = true;
        return;
    }
    d->tx_size += len;
}

/* Handles one descriptor; returns the interrupt cause of its write-back. */
static uint32_t tx_desc(E1000 *d, uint8_t *ds, uint64_t gpa)
{
    uint64_t addr = 0;
    for (int i = 7; i >= 0; i--)
        addr = addr << 8 | ds[i];
    uint8_t cmd = ds[11], dtyp = ds[10] >> 4;
    bool ext = cmd & TXD_DEXT;
    if (ext && dtyp == DTYP_CONTEXT) {
        tx_context(d, ds);
    } else if (ext && dtyp == DTYP_DATA) {
        if (!d->tx_first_seen) {             /* the first descriptor sets the options */
            d->tx_first_seen = true;
            d->tx_tse = cmd & TXD_TSE;
            d->tx_ixsm = ds[13] & POPTS_IXSM;
            d->tx_txsm = ds[13] & POPTS_TXSM;
            d->tx_vle = cmd & TXD_VLE;
            d->tx_vlan = ds[14] | ds[15] << 8;
        }
        tx_append(d, addr, ds[8] | ds[9] << 8 | (ds[10] & 0x0f) << 16);
        if (cmd & TXD_EOP)
            tx_packet_done(d);
    } else if (!ext) {
        if (!d->tx_first_seen) {
            d->tx_first_seen = true;
            d->tx_legacy_ic = cmd & TXD_IC;
            d->tx_cso = ds[10];
            d->tx_css = ds[13];
            d->tx_vle = cmd & TXD_VLE;
            d->tx_vlan = ds[14] | ds[15] << 8;
        }
        tx_append(d, addr, ds[8] | ds[9] << 8);
        if (cmd & TXD_EOP)
            tx_packet_done(d);
    }                                        /* other types are reserved: skipped */
    if (cmd & TXD_IDE)
        d->s.mit_ide = 1;
    if (!(cmd & (TXD_RS | TXD_RPS)))
        return 0;
    ds[12] |= TXD_DD;                        /* write back the status byte */
    as_dma_write(d->pci.dev.machine->sysmem, gpa + 12, ds + 12, 1);
    return ICR_TXDW;
}

static gboolean tx_continue(gpointer opaque)
{
    E1000 *d = opaque;
    d->tx_idle = 0;
    e1000_start_xmit(d);
    return G_SOURCE_REMOVE;
}

void e1000_start_xmit(E1000 *d)
{
    uint32_t n = e_reg(d, E_TDLEN) / 16, cause = ICR_TXQE;
    uint64_t base = ((uint64_t)e_reg(d, E_TDBAH) << 32 | e_reg(d, E_TDBAL)) & ~15ull;
    AddressSpace *as = d->pci.dev.machine->sysmem;
    if (!(e_reg(d, E_TCTL) & TCTL_EN) || !n || d->tx_pending || d->tx_idle ||
        !(pci_get_word(&d->pci, PCI_COMMAND) & PCI_COMMAND_MASTER))
        return;
    if (e_reg(d, E_TDH) >= n || e_reg(d, E_TDT) >= n) {
        log_budget_warn(&d->log, "e1000: TDH %u / TDT %u beyond the %u-descriptor ring; "
                        "transmit stopped", e_reg(d, E_TDH), e_reg(d, E_TDT), n);
        return;
    }
    for (unsigned done = 0; e_reg(d, E_TDH) != e_reg(d, E_TDT); done++) {
        if (done == TX_BUDGET || d->tx_pending) {
            if (!d->tx_pending)
                d->tx_idle = g_idle_add(tx_continue, d);
            break;
        }
        uint8_t ds[16];
        uint64_t gpa = base + 16ull * e_reg(d, E_TDH);
        if (!as_dma_read(as, gpa, ds, sizeof(ds))) {
            log_budget_warn(&d->log, "e1000: transmit ring at 0x%" G_GINT64_MODIFIER "x "
                            "outside guest RAM; transmit stopped", gpa);
            break;
        }
        cause |= tx_desc(d, ds, gpa);
        e_set(d, E_TDH, (e_reg(d, E_TDH) + 1) % n);
    }
    e1000_set_ics(d, cause);
}
