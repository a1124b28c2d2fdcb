/*
 * e1000 receive (8254x SDM 3.2): address filtering (SDM 3.2.1: the 16 receive
 * addresses RAL/RAH, the 4096-bit multicast table MTA hashed as RCTL.MO says,
 * unicast/multicast promiscuous modes, broadcast accept, the VLAN filter table VFTA),
 * VLAN tag stripping (CTRL.VME), the buffer size RCTL.BSIZE/BSEX selects, frames over
 * several descriptors (jumbo frames with RCTL.LPE), the 4-byte FCS the hardware stores
 * unless RCTL.SECRC, and the RXT0 / RXDMT0 interrupts.
 *
 * A frame that the descriptors between RDH and RDT cannot hold waits in the network
 * layer (the controller's FIFO) until the driver moves RDT; a frame that cannot fit
 * the whole ring, an oversize frame, or one that arrives while the receiver is disabled
 * is dropped and counted, as the hardware does.
 */
#include "e1000.h"
#include "vireo/machine.h"
#include <string.h>
#include <zlib.h>

#define RXD_STAT_DD     0x01
#define RXD_STAT_EOP    0x02
#define RXD_STAT_IXSM   0x04
#define RXD_STAT_VP     0x08
#define MAX_FRAME       1522        /* 1518 plus an 802.1Q tag */

unsigned e1000_rx_bufsize(uint32_t rctl)
{
    unsigned bs = (rctl >> RCTL_BSIZE_SHIFT) & 3;
    if (rctl & RCTL_BSEX)
        return bs ? 32768u >> bs : 2048;     /* 01: 16384, 10: 8192, 11: 4096 */
    return 2048u >> bs;                      /* 00: 2048, 01: 1024, 10: 512, 11: 256 */
}

static uint16_t rd16(const uint8_t *p) { return p[0] << 8 | p[1]; }

static bool rx_ready(E1000 *d)
{
    return (e_reg(d, E_RCTL) & RCTL_EN) && (e_reg(d, E_STATUS) & STATUS_LU) &&
           (pci_get_word(&d->pci, PCI_COMMAND) & PCI_COMMAND_MASTER);
}

/* Descriptors the driver handed over (RDH up to RDT, SDM 3.2.6); 0 for a bad ring. */
static uint32_t rx_avail(E1000 *d)
{
    uint32_t n = e_reg(d, E_RDLEN) / 16, h = e_reg(d, E_RDH), t = e_reg(d, E_RDT);
    if (!n || h >= n || t >= n)
        return 0;
    return (t + n - h) % n;
}

bool e1000_can_receive(NetClient *nc)
{
    E1000 *d = net_nic_of(nc)->opaque;
    return !rx_ready(d) || rx_avail(d) > 0;   /* not ready: receive drops the frame */
}

static bool rx_filter(E1000 *d, const uint8_t *b, size_t len)
{
    uint32_t rctl = e_reg(d, E_RCTL);
    if ((rctl & RCTL_VFE) && rd16(b + 12) == (e_reg(d, E_VET) & 0xffff) && len >= 16) {
        unsigned vid = rd16(b + 14) & 0xfff;
        if (!(e_reg(d, E_VFTA + 4 * (vid >> 5)) & (1u << (vid & 31))))
            return false;
    }
    bool multi = b[0] & 1, bcast = !memcmp(b, "\xff\xff\xff\xff\xff\xff", 6);
    if ((!multi && (rctl & RCTL_UPE)) || (multi && (rctl & RCTL_MPE)) ||
        (bcast && (rctl & RCTL_BAM)))
        return true;
    for (unsigned i = 0; i < 16; i++) {
        uint32_t lo = e_reg(d, E_RA + 8 * i), hi = e_reg(d, E_RA + 8 * i + 4);
        uint8_t ra[6] = { lo, lo >> 8, lo >> 16, lo >> 24, hi, hi >> 8 };
        if ((hi & RAH_AV) && !memcmp(b, ra, 6))
            return true;
    }
    if (!multi)
        return false;
    static const unsigned shift[4] = { 4, 3, 2, 0 };    /* RCTL.MO: bits 47:36 .. 43:32 */
    unsigned mo = (rctl >> RCTL_MO_SHIFT) & 3;
    unsigned hash = ((b[4] >> shift[mo]) | (b[5] << (8 - shift[mo]))) & 0xfff;
    return e_reg(d, E_MTA + 4 * (hash >> 5)) & (1u << (hash & 31));
}

static void rx_stats(E1000 *d, const uint8_t *b, size_t len)
{
    static const unsigned bins[] = { S_PRC64, S_PRC127, S_PRC255, S_PRC511, S_PRC1023,
                                     S_PRC1522 };
    static const size_t top[] = { 64, 127, 255, 511, 1023, 1522 };
    e_add_stat(d, S_TPR, 1);
    e_add_stat(d, S_GPRC, 1);
    e_add_stat64(d, S_GORCL, len);
    e_add_stat64(d, S_TORL, len);
    if (!memcmp(b, "\xff\xff\xff\xff\xff\xff", 6))
        e_add_stat(d, S_BPRC, 1);
    else if (b[0] & 1)
        e_add_stat(d, S_MPRC, 1);
    for (unsigned i = 0; i < G_N_ELEMENTS(top); i++)
        if (len <= top[i]) {
            e_add_stat(d, bins[i], 1);
            break;
        }
}

/* Writes the frame (@len bytes of d->rx_buf, FCS included) to the descriptors from
 * RDH on; @need of them are available. */
static void rx_write(E1000 *d, size_t len, unsigned need, bool vp, uint16_t tag)
{
    AddressSpace *as = d->pci.dev.machine->sysmem;
    uint32_t n = e_reg(d, E_RDLEN) / 16, bsize = e1000_rx_bufsize(e_reg(d, E_RCTL));
    uint64_t base = ((uint64_t)e_reg(d, E_RDBAH) << 32 | e_reg(d, E_RDBAL)) & ~15ull;
    size_t off = 0;
    for (unsigned i = 0; i < need; i++) {
        uint64_t gpa = base + 16ull * e_reg(d, E_RDH);
        uint8_t ds[16];
        size_t chunk = MIN((size_t)bsize, len - off);
        if (!as_dma_read(as, gpa, ds, sizeof(ds))) {
            log_budget_warn(&d->log, "e1000: receive ring at 0x%" G_GINT64_MODIFIER "x "
                            "outside guest RAM; frame dropped", gpa);
            return;
        }
        uint64_t addr = 0;
        for (int k = 7; k >= 0; k--)
            addr = addr << 8 | ds[k];
        if (addr && !as_dma_write(as, addr, d->rx_buf + off, chunk))
            log_budget_warn(&d->log, "e1000: receive buffer 0x%" G_GINT64_MODIFIER "x "
                            "outside guest RAM", addr);
        bool last = i + 1 == need;
        uint8_t wb[8] = { chunk, chunk >> 8, 0, 0,
                          RXD_STAT_DD | RXD_STAT_IXSM | (last ? RXD_STAT_EOP : 0) |
                          (vp ? RXD_STAT_VP : 0), 0, vp ? tag : 0, vp ? tag >> 8 : 0 };
        as_dma_write(as, gpa + 8, wb, sizeof(wb));
        off += chunk;
        e_set(d, E_RDH, (e_reg(d, E_RDH) + 1) % n);
    }
}

ssize_t e1000_receive(NetClient *nc, const struct iovec *iov, int iovcnt)
{
    E1000 *d = net_nic_of(nc)->opaque;
    uint32_t rctl = e_reg(d, E_RCTL);
    size_t size = iov_size_n(iov, iovcnt), hoff = d->vnet ? NET_VNET_HDR_LEN : 0;
    if (!rx_ready(d) || size < hoff)
        return size;                            /* the receiver is off: dropped */
    /* The tap's virtio-net header: the host never asks us for offloads (no
     * TUNSETOFFLOAD), so frames come complete and it is skipped. */
    size_t flen = size - hoff;
    if ((flen > E1000_RX_MAX || (flen > MAX_FRAME && !(rctl & RCTL_LPE))) &&
        !(rctl & RCTL_SBP)) {
        e_add_stat(d, S_ROC, 1);
        return size;
    }
    size_t len = iov_to_buf_n(iov, iovcnt, hoff, d->rx_buf, MIN(flen, (size_t)E1000_RX_MAX));
    if (len < 14)
        return size;
    if (len < 60) {                             /* pad runts to the 60-byte minimum */
        memset(d->rx_buf + len, 0, 60 - len);
        len = 60;
    }
    if (!rx_filter(d, d->rx_buf, len))
        return size;
    bool vp = false;
    uint16_t tag = 0;
    if ((e_reg(d, E_CTRL) & CTRL_VME) && rd16(d->rx_buf + 12) == (e_reg(d, E_VET) & 0xffff)
        && len >= 18) {                         /* strip the 802.1Q tag (SDM 3.2.3) */
        tag = rd16(d->rx_buf + 14);
        memmove(d->rx_buf + 12, d->rx_buf + 16, len - 16);
        len -= 4;
        vp = true;
    }
    if (!(rctl & RCTL_SECRC)) {                 /* the frame check sequence */
        uint32_t fcs = crc32(crc32(0, NULL, 0), d->rx_buf, len);
        for (int i = 0; i < 4; i++)
            d->rx_buf[len + i] = fcs >> (8 * i);
        len += 4;
    }
    uint32_t n = e_reg(d, E_RDLEN) / 16, bsize = e1000_rx_bufsize(rctl);
    unsigned need = (len + bsize - 1) / bsize;
    if (!n || need >= n) {                      /* can never fit: the FIFO drops it */
        e_add_stat(d, S_RNBC, 1);
        e_add_stat(d, S_MPC, 1);
        e1000_set_ics(d, ICR_RXO);
        return size;
    }
    if (rx_avail(d) < need) {
        e_add_stat(d, S_RNBC, 1);
        return 0;                               /* waits for RDT to move */
    }
    rx_write(d, len, need, vp, tag);
    rx_stats(d, d->rx_buf, len);
    uint32_t cause = ICR_RXT0;
    unsigned rdmts = (rctl >> RCTL_RDMTS_SHIFT) & 3;
    if (rdmts < 3 && rx_avail(d) <= n >> (rdmts + 1))
        cause |= ICR_RXDMT0;                    /* free descriptors below RDMTS */
    e1000_set_ics(d, cause);
    return size;
}
