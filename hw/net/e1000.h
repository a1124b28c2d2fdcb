/*
 * e1000: the Intel 82540EM Gigabit Ethernet controller (PCI 8086:100e), as QEMU's
 * "-device e1000". Shared by e1000.c (registers, interrupts, EEPROM, PHY, link),
 * e1000-tx.c (transmit descriptors, context, checksum offload, TSO) and e1000-rx.c
 * (receive filter and descriptors). Register offsets and bit meanings are those of
 * Intel's "PCI/PCI-X Family of Gigabit Ethernet Controllers Software Developer's Manual"
 * (8254x SDM), section 13 (registers) and 3 (descriptors).
 */
#ifndef HW_NET_E1000_H
#define HW_NET_E1000_H

#include "vireo/pci.h"
#include "vireo/net.h"
#include "vireo/log.h"
#include "vireo/mainloop.h"

/* Registers (SDM 13.1, table 13-2): byte offsets in BAR 0. */
enum {
    E_CTRL = 0x0000, E_STATUS = 0x0008, E_EECD = 0x0010, E_EERD = 0x0014,
    E_CTRL_EXT = 0x0018, E_FLA = 0x001c, E_MDIC = 0x0020, E_FCAL = 0x0028,
    E_FCAH = 0x002c, E_FCT = 0x0030, E_VET = 0x0038, E_ICR = 0x00c0, E_ITR = 0x00c4,
    E_ICS = 0x00c8, E_IMS = 0x00d0, E_IMC = 0x00d8, E_RCTL = 0x0100, E_FCTTV = 0x0170,
    E_TXCW = 0x0178, E_RXCW = 0x0180, E_TCTL = 0x0400, E_TIPG = 0x0410, E_AIT = 0x0458,
    E_LEDCTL = 0x0e00, E_PBA = 0x1000, E_FCRTL = 0x2160, E_FCRTH = 0x2168,
    E_RDFH = 0x2410, E_RDFT = 0x2418, E_RDFHS = 0x2420, E_RDFTS = 0x2428, E_RDFPC = 0x2430,
    E_RDBAL = 0x2800, E_RDBAH = 0x2804, E_RDLEN = 0x2808, E_RDH = 0x2810, E_RDT = 0x2818,
    E_RDTR = 0x2820, E_RXDCTL = 0x2828, E_RADV = 0x282c, E_RSRPD = 0x2c00,
    E_TXDMAC = 0x3000, E_TDFH = 0x3410, E_TDFT = 0x3418, E_TDFHS = 0x3420,
    E_TDFTS = 0x3428, E_TDFPC = 0x3430, E_TDBAL = 0x3800, E_TDBAH = 0x3804,
    E_TDLEN = 0x3808, E_TDH = 0x3810, E_TDT = 0x3818, E_TIDV = 0x3820, E_TXDCTL = 0x3828,
    E_TADV = 0x382c, E_TSPMT = 0x3830,
    E_STATS = 0x4000, E_STATS_END = 0x4100,          /* statistics, clear on read */
    E_RXCSUM = 0x5000, E_MTA = 0x5200, E_RA = 0x5400, E_VFTA = 0x5600, E_WUC = 0x5800,
    E_WUFC = 0x5808, E_WUS = 0x5810, E_MANC = 0x5820, E_IPAV = 0x5838, E_IP4AT = 0x5840,
    E_IP6AT = 0x5880, E_WUPL = 0x5900, E_WUPM = 0x5a00, E_FFLT = 0x5f00, E_FFMT = 0x9000,
    E_FFVT = 0x9800,
    E_REGS_END = 0x6000,                             /* the register file we keep */
};

/* Statistics (SDM 13.7). */
enum {
    S_CRCERRS = 0x4000, S_ALGNERRC = 0x4004, S_SYMERRS = 0x4008, S_RXERRC = 0x400c,
    S_MPC = 0x4010, S_SCC = 0x4014, S_ECOL = 0x4018, S_MCC = 0x401c, S_LATECOL = 0x4020,
    S_COLC = 0x4028, S_DC = 0x4030, S_TNCRS = 0x4034, S_SEC = 0x4038, S_CEXTERR = 0x403c,
    S_RLEC = 0x4040, S_XONRXC = 0x4048, S_XONTXC = 0x404c, S_XOFFRXC = 0x4050,
    S_XOFFTXC = 0x4054, S_FCRUC = 0x4058, S_PRC64 = 0x405c, S_PRC127 = 0x4060,
    S_PRC255 = 0x4064, S_PRC511 = 0x4068, S_PRC1023 = 0x406c, S_PRC1522 = 0x4070,
    S_GPRC = 0x4074, S_BPRC = 0x4078, S_MPRC = 0x407c, S_GPTC = 0x4080, S_GORCL = 0x4088,
    S_GORCH = 0x408c, S_GOTCL = 0x4090, S_GOTCH = 0x4094, S_RNBC = 0x40a0, S_RUC = 0x40a4,
    S_RFC = 0x40a8, S_ROC = 0x40ac, S_RJC = 0x40b0, S_MGTPRC = 0x40b4, S_MGTPDC = 0x40b8,
    S_MGTPTC = 0x40bc, S_TORL = 0x40c0, S_TORH = 0x40c4, S_TOTL = 0x40c8, S_TOTH = 0x40cc,
    S_TPR = 0x40d0, S_TPT = 0x40d4, S_PTC64 = 0x40d8, S_PTC127 = 0x40dc, S_PTC255 = 0x40e0,
    S_PTC511 = 0x40e4, S_PTC1023 = 0x40e8, S_PTC1522 = 0x40ec, S_MPTC = 0x40f0,
    S_BPTC = 0x40f4, S_TSCTC = 0x40f8, S_TSCTFC = 0x40fc,
};

/* CTRL (13.4.1) */
#define CTRL_FD         (1u << 0)
#define CTRL_LRST       (1u << 3)
#define CTRL_ASDE       (1u << 5)
#define CTRL_SLU        (1u << 6)
#define CTRL_RST        (1u << 26)
#define CTRL_VME        (1u << 30)
#define CTRL_PHY_RST    (1u << 31)
/* STATUS (13.4.2) */
#define STATUS_FD       (1u << 0)
#define STATUS_LU       (1u << 1)
#define STATUS_TXOFF    (1u << 4)
#define STATUS_SPEED_1000 (2u << 6)
#define STATUS_ASDV_1000 (2u << 8)
/* EECD (13.4.3) */
#define EECD_SK         (1u << 0)
#define EECD_CS         (1u << 1)
#define EECD_DI         (1u << 2)
#define EECD_DO         (1u << 3)
#define EECD_FWE        (3u << 4)
#define EECD_REQ        (1u << 6)
#define EECD_GNT        (1u << 7)
#define EECD_PRES       (1u << 8)
/* EERD (13.4.4, 82540: start bit 0, done bit 4, address 15:8, data 31:16) */
#define EERD_START      (1u << 0)
#define EERD_DONE       (1u << 4)
/* MDIC (13.4.7) */
#define MDIC_DATA       0xffffu
#define MDIC_OP_WRITE   (1u << 26)
#define MDIC_OP_READ    (2u << 26)
#define MDIC_READY      (1u << 28)
#define MDIC_INT_EN     (1u << 29)
#define MDIC_ERROR      (1u << 30)
/* Interrupt causes (13.4.17) */
#define ICR_TXDW        (1u << 0)
#define ICR_TXQE        (1u << 1)
#define ICR_LSC         (1u << 2)
#define ICR_RXSEQ       (1u << 3)
#define ICR_RXDMT0      (1u << 4)
#define ICR_RXO         (1u << 6)
#define ICR_RXT0        (1u << 7)
#define ICR_MDAC        (1u << 9)
/* RCTL (13.4.22) */
#define RCTL_EN         (1u << 1)
#define RCTL_SBP        (1u << 2)
#define RCTL_UPE        (1u << 3)
#define RCTL_MPE        (1u << 4)
#define RCTL_LPE        (1u << 5)
#define RCTL_RDMTS_SHIFT 8
#define RCTL_MO_SHIFT   12
#define RCTL_BAM        (1u << 15)
#define RCTL_BSIZE_SHIFT 16
#define RCTL_VFE        (1u << 18)
#define RCTL_BSEX       (1u << 25)
#define RCTL_SECRC      (1u << 26)
/* TCTL (13.4.33) */
#define TCTL_EN         (1u << 1)
/* RAH (13.5.2) */
#define RAH_AV          (1u << 31)
/* RXCSUM (13.5.1) */
#define RXCSUM_IPOFL    (1u << 8)
#define RXCSUM_TUOFL    (1u << 9)

/* PHY registers (IEEE 802.3 clause 22 plus the Marvell 88E1011's, SDM 13.4.7.1). */
enum {
    PHY_CTRL = 0, PHY_STATUS = 1, PHY_ID1 = 2, PHY_ID2 = 3, PHY_AUTONEG_ADV = 4,
    PHY_LP_ABILITY = 5, PHY_AUTONEG_EXP = 6, PHY_NEXT_PAGE_TX = 7, PHY_LP_NEXT_PAGE = 8,
    PHY_1000T_CTRL = 9, PHY_1000T_STATUS = 10, PHY_EXT_STATUS = 15,
    M88_PHY_SPEC_CTRL = 16, M88_PHY_SPEC_STATUS = 17, M88_INT_ENABLE = 18,
    M88_INT_STATUS = 19, M88_EXT_PHY_SPEC_CTRL = 20, M88_RX_ERR_CNTR = 21,
    M88_LED_CTRL = 24, M88_PHY_PAGE_SELECT = 29, M88_PHY_GEN_CONTROL = 30,
};
#define MII_CR_RESTART_AN   (1u << 9)
#define MII_CR_AN_EN        (1u << 12)
#define MII_CR_RESET        (1u << 15)
#define MII_SR_LINK         (1u << 2)
#define MII_SR_AN_COMPLETE  (1u << 5)
#define MII_LPAR_LPACK      (1u << 14)

#define E1000_EEPROM_WORDS  64
#define E1000_PHY_ADDR      1
#define E1000_TX_MAX        (65536 + 256)    /* the largest packet (TSO) we collect */
#define E1000_RX_MAX        16384            /* the longest frame with RCTL.LPE */

/* The last context descriptor (SDM 3.3.6). */
typedef struct E1000TxContext {
    uint8_t ipcss, ipcso, tucss, tucso, tucmd, hdr_len;
    uint16_t ipcse, tucse, mss;
    uint32_t paylen;
} E1000TxContext;

/* Guest-visible state (migrated). */
typedef struct E1000State {
    uint32_t regs[E_REGS_END / 4];
    uint16_t eeprom[E1000_EEPROM_WORDS];
    uint16_t phy[32];
    uint32_t ioaddr;                  /* IOADDR of the I/O window (SDM 13.2) */
    /* Microwire EEPROM interface (EECD bit-banging, SDM 5.6) */
    uint32_t ee_in;                   /* opcode and address bits shifted in */
    uint16_t ee_bits_in, ee_bits_out, ee_addr;
    uint8_t ee_reading, ee_do, ee_old;
    /* interrupt mitigation (ITR, TADV, RADV) */
    uint8_t mit_timer_on, mit_irq_level, mit_ide;
    uint8_t autoneg_pending;          /* link auto-negotiation in progress */
    E1000TxContext ctx;
} E1000State;

typedef struct E1000 {
    PciDevice pci;                    /* first member */
    NicConf conf;
    bool mitigation, autoneg;         /* properties */
    bool vnet;                        /* the backend carries the virtio-net header (tap):
                                         TSO and checksums go to the host kernel */
    NicState *nic;
    Timer *mit_timer, *autoneg_timer;
    unsigned tx_idle;                 /* GLib source continuing a long TX ring */
    unsigned tx_pending;              /* frames queued at the peer (TX paused) */
    /* the packet being collected from TX descriptors (not migrated) */
    uint8_t *tx_buf;
    uint8_t *tx_seg, *tx_tag;         /* scratch: a TSO segment, a VLAN-tagged frame */
    uint8_t *rx_buf;                  /* scratch: a received frame (padded, untagged) */
    uint32_t tx_size;
    bool tx_first_seen, tx_tse, tx_ixsm, tx_txsm, tx_legacy_ic, tx_vle, tx_too_big;
    uint8_t tx_cso, tx_css;
    uint16_t tx_vlan;
    LogBudget log;
    E1000State s;
} E1000;

static inline uint32_t e_reg(const E1000 *d, unsigned off) { return d->s.regs[off / 4]; }
static inline void e_set(E1000 *d, unsigned off, uint32_t v) { d->s.regs[off / 4] = v; }
static inline void e_add_stat(E1000 *d, unsigned off, uint32_t n)
{
    uint32_t *r = &d->s.regs[off / 4];
    *r = *r + n < *r ? UINT32_MAX : *r + n;          /* counters saturate (SDM 13.7) */
}
void e_add_stat64(E1000 *d, unsigned lo, uint64_t n);

/* e1000.c */
void e1000_set_ics(E1000 *d, uint32_t cause);
/* e1000-tx.c */
void e1000_start_xmit(E1000 *d);
void e1000_tx_reset(E1000 *d);
/* e1000-rx.c */
ssize_t e1000_receive(NetClient *nc, const struct iovec *iov, int iovcnt);
bool e1000_can_receive(NetClient *nc);
/* RCTL's buffer size in bytes (SDM 13.4.22: BSIZE with BSEX). */
unsigned e1000_rx_bufsize(uint32_t rctl);

#endif
