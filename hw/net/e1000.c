/*
 * "e1000": Intel 82540EM (8254x SDM). BAR 0: 128 KiB of registers; BAR 1: the I/O
 * window (IOADDR at 0, IODATA at 4, SDM 13.2), which Linux uses to issue the reset.
 * This file: register reads and writes, interrupt causes and masks with QEMU's
 * mitigation (ITR/TADV/RADV, at most one interrupt per 128 us while mitigation=on),
 * the Microwire EEPROM behind EECD (and EERD), the 88E1011 PHY behind MDIC with link
 * auto-negotiation (500 ms, as QEMU), link changes, reset and migration state.
 * Transmit is in e1000-tx.c, receive in e1000-rx.c.
 *
 * Every register access is bounded work; offsets outside the implemented registers
 * read 0 and ignore writes. Everything runs with the machine lock held.
 */
#include "e1000.h"
#include "vireo/machine.h"
#include <string.h>

#define E1000_MMIO_SIZE 0x20000
#define E1000_IO_SIZE   0x40
#define AUTONEG_MS      500

static const PciDeviceInfo e1000_pci_info = {
    .vendor_id = 0x8086, .device_id = 0x100e,
    .subsystem_vendor_id = 0x1af4, .subsystem_id = 0x1100,   /* as QEMU's */
    .class_code = 0x020000, .revision = 0x03, .irq_pin = 1,
    /* QEMU 7.2's pc-i440fx-7.2: iPXE with its UEFI driver (pxe-e1000.rom before 2.2). */
    .romfile = "efi-e1000.rom", .romfile_package = "ipxe-qemu", .romfile_firmware_only = true,
};

void e_add_stat64(E1000 *d, unsigned lo, uint64_t n)
{
    uint64_t v = e_reg(d, lo) | (uint64_t)e_reg(d, lo + 4) << 32;
    v = v + n < v ? UINT64_MAX : v + n;
    e_set(d, lo, v);
    e_set(d, lo + 4, v >> 32);
}

/* ---- interrupts ---- */

static void mit_delay_min(uint32_t *cur, uint32_t v)
{
    if (v && (!*cur || v < *cur))
        *cur = v;
}

/* Drives INTx from ICR & IMS. A rising edge while mitigation is on waits for the
 * mitigation timer (ITR in 256 ns units, TADV/RADV in 1.024 us units), at least 500
 * units (the 82540's guaranteed maximum of 7813 interrupts per second). */
static void update_irq(E1000 *d)
{
    uint32_t pending = e_reg(d, E_ICR) & e_reg(d, E_IMS);
    if (pending && !d->s.mit_irq_level) {
        if (d->s.mit_timer_on)
            return;
        if (d->mitigation) {
            uint32_t delay = 0;
            if (d->s.mit_ide && (pending & (ICR_TXQE | ICR_TXDW)))
                mit_delay_min(&delay, e_reg(d, E_TADV) * 4);
            if (e_reg(d, E_RDTR) && (pending & ICR_RXT0))
                mit_delay_min(&delay, e_reg(d, E_RADV) * 4);
            mit_delay_min(&delay, e_reg(d, E_ITR));
            delay = MAX(delay, 500u);
            d->s.mit_timer_on = 1;
            d->s.mit_ide = 0;
            Clock *c = d->pci.dev.machine->clock;
            timer_mod(d->mit_timer, clock_ns(c) + (int64_t)delay * 256);
        }
    }
    d->s.mit_irq_level = pending != 0;
    pci_set_irq(&d->pci, d->s.mit_irq_level);
}

static void mit_timer_fire(void *opaque)
{
    E1000 *d = opaque;
    d->s.mit_timer_on = 0;
    update_irq(d);
}

void e1000_set_ics(E1000 *d, uint32_t cause)
{
    e_set(d, E_ICR, e_reg(d, E_ICR) | cause);
    update_irq(d);
}

/* ---- link ---- */

static void link_down(E1000 *d)
{
    e_set(d, E_STATUS, e_reg(d, E_STATUS) & ~STATUS_LU);
    d->s.phy[PHY_STATUS] &= ~(MII_SR_LINK | MII_SR_AN_COMPLETE);
    d->s.phy[PHY_LP_ABILITY] &= ~MII_LPAR_LPACK;
    d->s.phy[M88_PHY_SPEC_STATUS] &= ~(1u << 10);
}

static void link_up(E1000 *d)
{
    e_set(d, E_STATUS, e_reg(d, E_STATUS) | STATUS_LU);
    d->s.phy[PHY_STATUS] |= MII_SR_LINK | MII_SR_AN_COMPLETE;
    d->s.phy[PHY_LP_ABILITY] |= MII_LPAR_LPACK;
    d->s.phy[M88_PHY_SPEC_STATUS] |= 1u << 10;
    net_flush_queued(d->nic->ncs[0]);
}

static bool backend_link_down(E1000 *d)
{
    return d->nic->ncs[0]->link_down;
}

static bool autoneg_enabled(E1000 *d)
{
    return d->autoneg && (d->s.phy[PHY_CTRL] & MII_CR_AN_EN);
}

static void autoneg_done(void *opaque)
{
    E1000 *d = opaque;
    d->s.autoneg_pending = 0;
    if (backend_link_down(d))
        return;
    link_up(d);
    e1000_set_ics(d, ICR_LSC);
}

static void start_autoneg(E1000 *d)
{
    link_down(d);
    d->s.autoneg_pending = 1;
    timer_mod(d->autoneg_timer, clock_ns(d->pci.dev.machine->clock) +
                                (int64_t)AUTONEG_MS * 1000000);
}

/* set_link / a backend failure: the carrier follows the NIC's link (LSC interrupt). */
static void e1000_link_changed(NetClient *nc)
{
    E1000 *d = net_nic_of(nc)->opaque;
    uint32_t old = e_reg(d, E_STATUS);
    if (nc->link_down) {
        timer_del(d->autoneg_timer);
        d->s.autoneg_pending = 0;
        link_down(d);
    } else if (autoneg_enabled(d) && !(d->s.phy[PHY_STATUS] & MII_SR_AN_COMPLETE)) {
        start_autoneg(d);                /* LSC when it completes */
        return;
    } else {
        link_up(d);
    }
    if (old != e_reg(d, E_STATUS))
        e1000_set_ics(d, ICR_LSC);
}

/* ---- EEPROM (SDM 5.6: 64 words, Microwire) ---- */

static void eeprom_init(E1000 *d)
{
    uint16_t *e = d->s.eeprom;
    const uint8_t *mac = d->conf.macaddr;
    memset(e, 0xff, sizeof(d->s.eeprom));
    for (int i = 0; i < 3; i++)
        e[i] = mac[2 * i] | mac[2 * i + 1] << 8;     /* Ethernet address, words 0-2 */
    e[0x03] = 0x0000;                 /* compatibility */
    e[0x05] = 0x0000;                 /* image version */
    e[0x08] = 0x0000, e[0x09] = 0x0000;  /* PBA number */
    e[0x0a] = 0x4408;                 /* ICW1: load subsystem/device IDs, 32-bit slot */
    e[0x0b] = 0x1100;                 /* subsystem ID */
    e[0x0c] = 0x1af4;                 /* subsystem vendor */
    e[0x0d] = 0x100e;                 /* device ID */
    e[0x0e] = 0x8086;                 /* vendor ID */
    e[0x0f] = 0x3000;                 /* ICW2: PAUSE and ASM_DIR advertised */
    e[0x24] = 0x0000;                 /* ICW3 port A: no APM wake-up */
    uint16_t sum = 0;
    for (int i = 0; i < E1000_EEPROM_WORDS - 1; i++)
        sum += e[i];
    e[E1000_EEPROM_WORDS - 1] = 0xbaba - sum;       /* words 0..3f sum to 0xbaba */
}

/* Clocks the Microwire interface: opcode 110 (READ) and a 6-bit address come in on DI
 * at rising SK edges while CS is high; then each rising edge puts the next data bit on
 * DO (MSB first, words in sequence). Writes and erases are not supported (the EEPROM
 * stays read-only), as in QEMU. */
static void eecd_write(E1000 *d, uint32_t v)
{
    E1000State *s = &d->s;
    uint32_t keep = EECD_SK | EECD_CS | EECD_DI | EECD_FWE | EECD_REQ;
    uint8_t old = s->ee_old;
    e_set(d, E_EECD, (v & keep) | ((v & EECD_REQ) ? EECD_GNT : 0) | EECD_PRES);
    s->ee_old = v & (EECD_SK | EECD_CS | EECD_DI);
    if (!(v & EECD_CS)) {
        s->ee_bits_in = s->ee_bits_out = 0;
        s->ee_in = 0;
        s->ee_reading = 0;
        return;
    }
    if (!(old & EECD_CS)) {               /* chip select raised: a new command */
        s->ee_bits_in = s->ee_bits_out = 0;
        s->ee_in = 0;
        s->ee_reading = 0;
    }
    if (!(v & EECD_SK) || (old & EECD_SK))
        return;                           /* not a rising edge */
    if (s->ee_reading) {
        unsigned word = (s->ee_addr + s->ee_bits_out / 16) % E1000_EEPROM_WORDS;
        s->ee_do = (s->eeprom[word] >> (15 - s->ee_bits_out % 16)) & 1;
        s->ee_bits_out++;
        return;
    }
    if (s->ee_bits_in >= 9)
        return;
    s->ee_in = (s->ee_in << 1) | !!(v & EECD_DI);
    if (++s->ee_bits_in == 9 && (s->ee_in >> 6) == 6) {
        s->ee_reading = 1;
        s->ee_addr = s->ee_in & 0x3f;
        s->ee_bits_out = 0;
        s->ee_do = 0;                     /* the dummy zero bit */
    }
}

static uint32_t eecd_read(E1000 *d)
{
    uint32_t v = e_reg(d, E_EECD) | EECD_PRES;
    v &= ~EECD_DO;
    if (d->s.ee_reading && d->s.ee_do)
        v |= EECD_DO;
    return v;
}

static uint32_t eerd_read(E1000 *d)
{
    uint32_t v = e_reg(d, E_EERD);
    if (!(v & EERD_START))
        return v;
    unsigned addr = (v >> 8) & 0xff;
    if (addr >= E1000_EEPROM_WORDS)
        return v | EERD_DONE;
    return (uint32_t)d->s.eeprom[addr] << 16 | EERD_DONE | (v & 0xff01) | (addr << 8);
}

/* ---- PHY (88E1011) through MDIC ---- */

static void phy_init(E1000 *d)
{
    uint16_t *p = d->s.phy;
    memset(d->s.phy, 0, sizeof(d->s.phy));
    p[PHY_CTRL] = 0x1140;             /* AN enable, full duplex, 1000 Mb/s */
    p[PHY_STATUS] = 0x796d;           /* 10/100 capable, AN done, link up, ext. status */
    p[PHY_ID1] = 0x0141;              /* Marvell 88E1011: 0x01410c20 (SDM 13.4.7) */
    p[PHY_ID2] = 0x0c20;
    p[PHY_AUTONEG_ADV] = 0x0de1;
    p[PHY_LP_ABILITY] = 0x45e1;       /* partner: 10/100 full/half, PAUSE */
    p[PHY_AUTONEG_EXP] = 0x0001;
    p[PHY_1000T_CTRL] = 0x0e00;
    p[PHY_1000T_STATUS] = 0x3c00;     /* local/remote receiver OK, partner 1000FD/HD */
    p[PHY_EXT_STATUS] = 0x3000;       /* 1000BASE-T full and half duplex */
    p[M88_PHY_SPEC_CTRL] = 0x0360;
    p[M88_PHY_SPEC_STATUS] = 0xac00;  /* 1000 Mb/s, full duplex, resolved, link */
    p[M88_EXT_PHY_SPEC_CTRL] = 0x0d60;
    p[M88_LED_CTRL] = 0x4100;
}

static void phy_write(E1000 *d, unsigned reg, uint16_t v)
{
    uint16_t *p = d->s.phy;
    switch (reg) {
    case PHY_CTRL:
        /* reset and restart-autonegotiation are self-clearing (IEEE 802.3 22.2.4.1) */
        p[PHY_CTRL] = v & ~(MII_CR_RESET | MII_CR_RESTART_AN | 0x3f);
        if (d->autoneg && (v & MII_CR_RESTART_AN) && (v & MII_CR_AN_EN))
            start_autoneg(d);
        break;
    case PHY_AUTONEG_ADV: case PHY_NEXT_PAGE_TX: case PHY_1000T_CTRL:
    case M88_PHY_SPEC_CTRL: case M88_INT_ENABLE: case M88_EXT_PHY_SPEC_CTRL:
    case M88_LED_CTRL: case M88_PHY_PAGE_SELECT: case M88_PHY_GEN_CONTROL:
        p[reg] = v;
        break;
    default:                          /* status and ID registers are read-only */
        break;
    }
}

static void mdic_write(E1000 *d, uint32_t v)
{
    unsigned reg = (v >> 16) & 0x1f, phy = (v >> 21) & 0x1f;
    uint32_t op = v & (3u << 26);
    v &= ~(MDIC_READY | MDIC_ERROR);
    if (phy != E1000_PHY_ADDR || (op != MDIC_OP_READ && op != MDIC_OP_WRITE)) {
        v |= MDIC_ERROR;
    } else if (op == MDIC_OP_READ) {
        v = (v & ~MDIC_DATA) | d->s.phy[reg];
        if (reg == M88_INT_STATUS)
            d->s.phy[reg] = 0;        /* read to clear */
    } else {
        phy_write(d, reg, v & MDIC_DATA);
    }
    e_set(d, E_MDIC, v | MDIC_READY);
    if (v & MDIC_INT_EN)
        e1000_set_ics(d, ICR_MDAC);
}

/* ---- reset ---- */

static void e1000_reset_regs(E1000 *d)
{
    timer_del(d->mit_timer);
    timer_del(d->autoneg_timer);
    e1000_tx_reset(d);
    uint16_t eeprom[E1000_EEPROM_WORDS];
    memcpy(eeprom, d->s.eeprom, sizeof(eeprom));
    memset(&d->s, 0, sizeof(d->s));
    memcpy(d->s.eeprom, eeprom, sizeof(eeprom));
    phy_init(d);
    e_set(d, E_CTRL, CTRL_SLU | CTRL_FD | CTRL_ASDE | (2u << 8));   /* speed 1000 */
    e_set(d, E_STATUS, STATUS_FD | STATUS_LU | STATUS_SPEED_1000 | STATUS_ASDV_1000);
    e_set(d, E_EECD, EECD_PRES);
    e_set(d, E_MDIC, MDIC_READY);
    e_set(d, E_VET, 0x8100);
    e_set(d, E_PBA, 0x00100030);      /* 48 KB RX, 16 KB TX */
    e_set(d, E_LEDCTL, 0x07068302);
    e_set(d, E_TCTL, 0x00040000);     /* collision threshold default */
    e_set(d, E_TIPG, 0x00602008);
    e_set(d, E_RXCSUM, 0x0000);
    e_set(d, E_TXCW, 0x00000000);
    const uint8_t *m = d->conf.macaddr;  /* receive address 0 from the EEPROM */
    e_set(d, E_RA, m[0] | m[1] << 8 | m[2] << 16 | (uint32_t)m[3] << 24);
    e_set(d, E_RA + 4, m[4] | m[5] << 8 | RAH_AV);
    if (backend_link_down(d))
        link_down(d);
    pci_set_irq(&d->pci, 0);
}

/* ---- register file ---- */

/* Registers we keep (beyond the ones with handlers): reads return what was written. */
static bool reg_stored(unsigned off)
{
    static const struct { uint16_t start, end; } ranges[] = {
        { E_CTRL_EXT, E_CTRL_EXT }, { E_FLA, E_FLA }, { E_FCAL, E_FCT }, { E_VET, E_VET },
        { E_ITR, E_ITR }, { E_RCTL, E_RCTL }, { E_FCTTV, E_FCTTV }, { E_TXCW, E_TXCW },
        { E_RXCW, E_RXCW }, { E_TCTL, E_TCTL }, { E_TIPG, E_TIPG }, { E_AIT, E_AIT },
        { E_LEDCTL, E_LEDCTL }, { E_PBA, E_PBA }, { E_FCRTL, E_FCRTL }, { E_FCRTH, E_FCRTH },
        { E_RDFH, E_RDFPC }, { E_RDBAL, E_RDT }, { E_RDTR, E_RADV }, { E_RSRPD, E_RSRPD },
        { E_TXDMAC, E_TXDMAC }, { E_TDFH, E_TDFPC }, { E_TDBAL, E_TSPMT },
        { E_RXCSUM, E_RXCSUM }, { E_MTA, E_MTA + 0x1fc }, { E_RA, E_RA + 0x7c },
        { E_VFTA, E_VFTA + 0x1fc }, { E_WUC, E_WUS }, { E_MANC, E_MANC },
        { E_IPAV, E_IPAV }, { E_IP4AT, E_IP4AT + 0x1c }, { E_IP6AT, E_IP6AT + 0xc },
        { E_WUPL, E_WUPL }, { E_WUPM, E_WUPM + 0x7c }, { E_FFLT, E_FFLT + 0x1c },
    };
    for (unsigned i = 0; i < G_N_ELEMENTS(ranges); i++)
        if (off >= ranges[i].start && off <= ranges[i].end)
            return true;
    return false;
}

static uint32_t reg_read(E1000 *d, unsigned off)
{
    uint32_t v;
    if (off >= E_REGS_END || (off & 3))
        return 0;
    switch (off) {
    case E_CTRL: case E_STATUS: case E_IMS: case E_MDIC:
        return e_reg(d, off);
    case E_ICR:                               /* read to clear (SDM 13.4.17) */
        v = e_reg(d, E_ICR);
        e_set(d, E_ICR, 0);
        update_irq(d);
        return v;
    case E_EECD:
        return eecd_read(d);
    case E_EERD:
        return eerd_read(d);
    case S_GORCH: case S_GOTCH: case S_TORH: case S_TOTH:   /* 64-bit: high clears both */
        v = e_reg(d, off);
        e_set(d, off, 0);
        e_set(d, off - 4, 0);
        return v;
    case S_GORCL: case S_GOTCL: case S_TORL: case S_TOTL:
        return e_reg(d, off);
    }
    if (off >= E_STATS && off < E_STATS_END) {  /* clear on read */
        v = e_reg(d, off);
        e_set(d, off, 0);
        return v;
    }
    return reg_stored(off) ? e_reg(d, off) : 0;
}

static void reg_write(E1000 *d, unsigned off, uint32_t v)
{
    NetClient *nc = d->nic->ncs[0];
    if (off >= E_REGS_END || (off & 3))
        return;
    switch (off) {
    case E_CTRL:
        if (v & CTRL_RST) {                   /* self-clearing software reset */
            e1000_reset_regs(d);
            return;
        }
        if (v & CTRL_PHY_RST)
            phy_init(d);
        e_set(d, E_CTRL, v & ~(CTRL_RST | CTRL_PHY_RST));
        return;
    case E_EECD:
        eecd_write(d, v);
        return;
    case E_EERD:
        e_set(d, E_EERD, v & 0xff01);
        return;
    case E_MDIC:
        mdic_write(d, v);
        return;
    case E_ICR:                               /* write 1 to clear */
        e_set(d, E_ICR, e_reg(d, E_ICR) & ~v);
        update_irq(d);
        return;
    case E_ICS:
        e1000_set_ics(d, v);
        return;
    case E_IMS:
        e_set(d, E_IMS, e_reg(d, E_IMS) | v);
        update_irq(d);
        return;
    case E_IMC:
        e_set(d, E_IMS, e_reg(d, E_IMS) & ~v);
        update_irq(d);
        return;
    case E_ITR: case E_RDTR: case E_RADV: case E_TADV: case E_TIDV:
        e_set(d, off, v & 0xffff);
        return;
    case E_RDLEN: case E_TDLEN:
        e_set(d, off, v & 0xfff80);           /* 128-byte multiples, up to 1 MB */
        return;
    case E_RDH: case E_TDH:
        e_set(d, off, v & 0xffff);
        return;
    case E_RDT:
        e_set(d, off, v & 0xffff);
        net_flush_queued(nc);                 /* new receive buffers */
        return;
    case E_RCTL:
        e_set(d, off, v);
        if (v & RCTL_EN)
            net_flush_queued(nc);
        return;
    case E_TDT:
        e_set(d, off, v & 0xffff);
        e1000_start_xmit(d);
        return;
    case E_TCTL:
        e_set(d, off, v);
        e1000_start_xmit(d);
        return;
    }
    if (reg_stored(off))
        e_set(d, off, v);
}

static uint64_t mmio_read(void *opaque, uint64_t addr, unsigned size)
{
    return reg_read(opaque, addr);
}

static void mmio_write(void *opaque, uint64_t addr, uint64_t val, unsigned size)
{
    reg_write(opaque, addr, val);
}

static const MemOps e1000_mmio_ops = {
    .read = mmio_read, .write = mmio_write, .min_access = 4, .max_access = 4,
};

/* I/O window (SDM 13.2): IOADDR selects a register, IODATA reaches it. */
static uint64_t io_read(void *opaque, uint64_t addr, unsigned size)
{
    E1000 *d = opaque;
    if (addr == 0)
        return d->s.ioaddr;
    if (addr == 4)
        return reg_read(d, d->s.ioaddr & 0x1fffc);
    return 0;
}

static void io_write(void *opaque, uint64_t addr, uint64_t val, unsigned size)
{
    E1000 *d = opaque;
    if (addr == 0)
        d->s.ioaddr = val & 0x1fffc;
    else if (addr == 4)
        reg_write(d, d->s.ioaddr, val);
}

static const MemOps e1000_io_ops = {
    .read = io_read, .write = io_write, .min_access = 4, .max_access = 4,
};

/* ---- device ---- */

static const NicOps e1000_nic_ops = {
    .receive = e1000_receive,
    .can_receive = e1000_can_receive,
    .link_status_changed = e1000_link_changed,
};

static bool e1000_realize(Device *dev, GError **errp)
{
    E1000 *d = (E1000 *)dev;
    d->log = (LogBudget)LOG_BUDGET_DEFAULT;
    d->nic = net_nic_new(dev->machine, &d->conf, &e1000_nic_ops, "e1000", dev->id, 1, d,
                         errp);
    if (!d->nic)
        return false;
    d->nic->device = dev;
    if (!pci_device_realize(&d->pci, &e1000_pci_info, errp)) {
        net_nic_free(d->nic);
        d->nic = NULL;
        return false;
    }
    if (pci_register_bar(&d->pci, 0, PCI_BAR_MEM32, E1000_MMIO_SIZE, &e1000_mmio_ops, d) < 0 ||
        pci_register_bar(&d->pci, 1, PCI_BAR_IO, E1000_IO_SIZE, &e1000_io_ops, d) < 0) {
        g_set_error(errp, G_IO_ERROR, G_IO_ERROR_FAILED, "e1000: cannot set up its BARs");
        pci_device_unrealize(&d->pci);
        net_nic_free(d->nic);
        d->nic = NULL;
        return false;
    }
    /* QEMU's e1000 realize: the PCI function's path plus "/ethernet-phy@0". */
    d->conf.boot_path = pci_add_boot_device(&d->pci, d->conf.bootindex, "ethernet",
                                            "/ethernet-phy@0");
    d->vnet = net_peer_has_vnet_hdr(d->nic->ncs[0]);
    net_peer_using_vnet_hdr(d->nic->ncs[0], d->vnet);
    d->tx_buf = g_malloc(E1000_TX_MAX);
    d->tx_seg = g_malloc(E1000_TX_MAX);
    d->tx_tag = g_malloc(E1000_TX_MAX + 4);
    d->rx_buf = g_malloc(E1000_RX_MAX + 4);
    Clock *c = dev->machine->clock;
    d->mit_timer = timer_new(c, mit_timer_fire, d);
    d->autoneg_timer = timer_new(c, autoneg_done, d);
    eeprom_init(d);
    e1000_reset_regs(d);
    return true;
}

static void e1000_reset(Device *dev)
{
    E1000 *d = (E1000 *)dev;
    pci_device_reset(&d->pci);
    e1000_reset_regs(d);
}

static void e1000_unrealize(Device *dev)
{
    E1000 *d = (E1000 *)dev;
    if (d->nic)
        e1000_tx_reset(d);
    timer_free(d->mit_timer);
    timer_free(d->autoneg_timer);
    d->mit_timer = d->autoneg_timer = NULL;
    pci_device_unrealize(&d->pci);
    machine_remove_boot_device(dev->machine, d->conf.boot_path);
    g_clear_pointer(&d->conf.boot_path, g_free);
    net_nic_free(d->nic);
    d->nic = NULL;
    g_free(d->tx_buf);
    g_free(d->tx_seg);
    g_free(d->tx_tag);
    g_free(d->rx_buf);
    d->tx_buf = d->tx_seg = d->tx_tag = d->rx_buf = NULL;
}

/* Timers and the INTx level follow the loaded state. */
static void e1000_post_load(Device *dev)
{
    E1000 *d = (E1000 *)dev;
    d->s.mit_timer_on = 0;
    d->s.ee_addr %= E1000_EEPROM_WORDS;
    if (d->s.autoneg_pending)
        start_autoneg(d);
    update_irq(d);
}

/* A RARP for the MAC out of the backend (QEMU's announce); e1000 has nothing else. */
static const VMStateDesc e1000_vmsd = {
    .name = "e1000",
    .version = 1,
    .min_version = 1,
    .fields = (const VMStateField[]){
        VMS_ARRAY(E1000State, regs),
        VMS_ARRAY(E1000State, eeprom),
        VMS_ARRAY(E1000State, phy),
        VMS_FIELD(E1000State, ioaddr),
        VMS_FIELD(E1000State, ee_in),
        VMS_FIELD(E1000State, ee_bits_in),
        VMS_FIELD(E1000State, ee_bits_out),
        VMS_FIELD(E1000State, ee_addr),
        VMS_FIELD(E1000State, ee_reading),
        VMS_FIELD(E1000State, ee_do),
        VMS_FIELD(E1000State, ee_old),
        VMS_FIELD(E1000State, mit_timer_on),
        VMS_FIELD(E1000State, mit_irq_level),
        VMS_FIELD(E1000State, mit_ide),
        VMS_FIELD(E1000State, autoneg_pending),
        VMS_FIELD(E1000State, ctx.ipcss),
        VMS_FIELD(E1000State, ctx.ipcso),
        VMS_FIELD(E1000State, ctx.tucss),
        VMS_FIELD(E1000State, ctx.tucso),
        VMS_FIELD(E1000State, ctx.tucmd),
        VMS_FIELD(E1000State, ctx.hdr_len),
        VMS_FIELD(E1000State, ctx.ipcse),
        VMS_FIELD(E1000State, ctx.tucse),
        VMS_FIELD(E1000State, ctx.mss),
        VMS_FIELD(E1000State, ctx.paylen),
        VMS_END,
    },
};

static const Property e1000_props[] = {
    NIC_PROPS(E1000, conf),
    PROP("mitigation", PROP_BOOL, E1000, mitigation, "on",
         "interrupt mitigation (ITR, TADV, RADV) as QEMU's"),
    PROP("autonegotiation", PROP_BOOL, E1000, autoneg, "on",
         "link auto-negotiation: the link comes up 500 ms after a restart"),
    PROP_END,
};

/* QEMU's abstract parent of e1000 and its 82544/82545 variants. */
const DeviceClass e1000_base_class = {
    .name = "e1000-base", .parent = &pci_device_class, .abstract = true, .bus = BUS_PCI,
};

const DeviceClass e1000_class = {
    .name = "e1000",
    .parent = &e1000_base_class,
    .desc = "Intel Gigabit Ethernet (82540EM)",
    .bus = BUS_PCI,
    .instance_size = sizeof(E1000),
    .props = e1000_props,
    .user_creatable = true,
    .realize = e1000_realize,
    .reset = e1000_reset,
    .unrealize = e1000_unrealize,
    .vmsd = &e1000_vmsd,
    .state_offset = offsetof(E1000, s),
    .post_load = e1000_post_load,
};
