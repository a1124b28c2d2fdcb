/*
 * e1000 (82540EM) driven as Linux's e1000 driver does and as a hostile driver does:
 * the EEPROM through EECD bit-banging (the checksum Linux checks) and EERD, the PHY
 * through MDIC with auto-negotiation, transmit (legacy descriptors, context + data
 * descriptors with checksum insertion and TSO), receive (address filter, buffer sizes,
 * frames over several descriptors, frames held while there are no descriptors),
 * interrupt mitigation, link changes, the state description, and garbage in every
 * register and ring (nothing crashes, loops or writes outside guest RAM).
 */
#include <glib.h>
#include <string.h>

#include "vireo/machine.h"
#include "vireo/pc.h"
#include "vireo/pci.h"
#include "net-fake.h"
#include "../../hw/net/e1000.h"

#define RAM_SIZE (16u << 20)
#define TXR  0x100000u
#define RXR  0x110000u
#define TXB  0x200000u
#define RXB  0x400000u

typedef struct Fx {
    Machine *m;
    PciDevice *pci;
    E1000 *d;
    FakeNet *be;
    uint64_t bar;
    uint16_t io;
    int gsi[MACHINE_NUM_GSI];
    unsigned irq;
} Fx;

static const uint8_t MAC[6] = { 0x52, 0x54, 0x00, 0x12, 0x34, 0x56 };

static void gsi_handler(void *opaque, int n, int level) { ((Fx *)opaque)->gsi[n] = level; }

static uint32_t rr(Fx *f, unsigned off)
{
    uint64_t v = 0;
    g_assert_true(as_read(f->m->sysmem, f->bar + off, &v, 4));
    return v;
}

static void rw(Fx *f, unsigned off, uint32_t v)
{
    g_assert_true(as_write(f->m->sysmem, f->bar + off, v, 4));
}

static uint8_t *ram(Fx *f, uint64_t gpa) { return f->m->ram + gpa; }

static Fx *fx_new_be(const char *opts, bool vnet)
{
    Fx *f = g_new0(Fx, 1);
    GError *err = NULL;
    f->m = machine_new_test(RAM_SIZE);
    for (int i = 0; i < MACHINE_NUM_GSI; i++)
        f->m->gsi[i] = (IrqLine){ .handler = gsi_handler, .opaque = f, .n = i };
    g_assert_nonnull(pci_bus_new_pc(f->m, &err));
    f->be = fake_net_new(f->m, "fb", vnet);
    g_autofree char *o = g_strdup_printf("addr=05.0,netdev=fb,id=e%s%s", opts ? "," : "",
                                         opts ? opts : "");
    Device *dev = machine_create_device(f->m, "e1000", o, &err);
    g_assert_no_error(err);
    f->pci = (PciDevice *)dev;
    f->d = (E1000 *)dev;
    g_assert_true(pci_bus_assign_bars(f->m->pci_bus));
    pci_config_write(f->pci, PCI_COMMAND, PCI_COMMAND_MEMORY | PCI_COMMAND_IO |
                     PCI_COMMAND_MASTER, 2);
    f->bar = pci_bar_address(f->pci, 0);
    f->io = pci_bar_address(f->pci, 1);
    f->irq = pci_pc_intx_to_gsi(PCI_DEVFN(5, 0), 1);
    g_assert_cmpint(f->be->using_vnet, ==, vnet);  /* the header when the backend has it */
    return f;
}

static Fx *fx_new(const char *opts)
{
    return fx_new_be(opts, false);
}

static void fx_free(Fx *f)
{
    machine_free(f->m);
    g_free(f);
}

/* ---- EEPROM, as Linux's e1000_read_eeprom does it for Microwire parts ---- */

static void ee_clock(Fx *f, uint32_t *eecd)
{
    rw(f, E_EECD, *eecd | EECD_SK);
    rw(f, E_EECD, *eecd);
}

static void ee_shift_out(Fx *f, uint32_t *eecd, unsigned data, unsigned bits)
{
    for (int b = bits - 1; b >= 0; b--) {
        *eecd = (*eecd & ~EECD_DI) | ((data >> b) & 1 ? EECD_DI : 0);
        rw(f, E_EECD, *eecd);
        ee_clock(f, eecd);
    }
}

static uint16_t ee_read(Fx *f, unsigned word)
{
    uint32_t eecd = rr(f, E_EECD) | EECD_REQ;
    rw(f, E_EECD, eecd);
    g_assert_true(rr(f, E_EECD) & EECD_GNT);
    eecd = (eecd & ~(EECD_DI | EECD_SK)) | EECD_CS;
    rw(f, E_EECD, eecd);
    ee_shift_out(f, &eecd, 6, 3);                     /* READ */
    ee_shift_out(f, &eecd, word, 6);
    uint16_t v = 0;
    eecd &= ~EECD_DI;
    for (int i = 0; i < 16; i++) {
        rw(f, E_EECD, eecd | EECD_SK);
        v = v << 1 | !!(rr(f, E_EECD) & EECD_DO);
        rw(f, E_EECD, eecd);
    }
    rw(f, E_EECD, eecd & ~(EECD_CS | EECD_REQ));      /* standby / release */
    return v;
}

static void test_eeprom(void)
{
    Fx *f = fx_new(NULL);
    g_assert_cmphex(pci_get_long(f->pci, 0), ==, 0x100e8086);
    g_assert_cmphex(pci_get_word(f->pci, PCI_CLASS_DEVICE), ==, 0x0200);
    g_assert_true(rr(f, E_EECD) & EECD_PRES);
    uint16_t sum = 0;
    for (unsigned w = 0; w < 64; w++)
        sum += ee_read(f, w);
    g_assert_cmphex(sum, ==, 0xbaba);                 /* what e1000 validates */
    g_assert_cmphex(ee_read(f, 0), ==, 0x5452);
    g_assert_cmphex(ee_read(f, 2), ==, 0x5634);
    g_assert_cmphex(ee_read(f, 0x0d), ==, 0x100e);
    /* EERD: start + address, done + data. */
    rw(f, E_EERD, EERD_START | 1 << 8);
    uint32_t v = rr(f, E_EERD);
    g_assert_true(v & EERD_DONE);
    g_assert_cmphex(v >> 16, ==, 0x1200);
    /* The I/O window reaches the same registers. */
    uint64_t x = 0;
    as_write(f->m->io, f->io, E_STATUS, 4);
    as_read(f->m->io, f->io + 4, &x, 4);
    g_assert_cmphex(x, ==, rr(f, E_STATUS));
    fx_free(f);
}

static uint16_t mdic_read(Fx *f, unsigned phy, unsigned reg)
{
    rw(f, E_MDIC, MDIC_OP_READ | phy << 21 | reg << 16);
    uint32_t v = rr(f, E_MDIC);
    g_assert_true(v & MDIC_READY);
    return (v & MDIC_ERROR) ? 0xdead : (uint16_t)v;
}

static void test_phy(void)
{
    Fx *f = fx_new(NULL);
    g_assert_cmphex(mdic_read(f, 1, PHY_ID1), ==, 0x0141);
    g_assert_cmphex(mdic_read(f, 1, PHY_ID2), ==, 0x0c20);   /* 88E1011: Linux checks */
    g_assert_cmphex(mdic_read(f, 2, PHY_ID1), ==, 0xdead);   /* no PHY at address 2 */
    g_assert_true(rr(f, E_STATUS) & STATUS_LU);
    rw(f, E_IMS, ICR_LSC);
    /* Restart auto-negotiation: the link drops, then comes back after 500 ms. */
    rw(f, E_MDIC, MDIC_OP_WRITE | 1 << 21 | PHY_CTRL << 16 | MII_CR_AN_EN | MII_CR_RESTART_AN);
    g_assert_false(rr(f, E_STATUS) & STATUS_LU);
    g_assert_false(mdic_read(f, 1, PHY_STATUS) & MII_SR_AN_COMPLETE);
    g_assert_false(mdic_read(f, 1, PHY_CTRL) & MII_CR_RESTART_AN);   /* self-clearing */
    vclock_step(f->m->clock, 400 * 1000000LL);
    g_assert_false(rr(f, E_STATUS) & STATUS_LU);
    vclock_step(f->m->clock, 200 * 1000000LL);
    g_assert_true(rr(f, E_STATUS) & STATUS_LU);
    g_assert_true(mdic_read(f, 1, PHY_STATUS) & (MII_SR_AN_COMPLETE | MII_SR_LINK));
    g_assert_cmpint(f->gsi[f->irq], ==, 1);
    g_assert_true(rr(f, E_ICR) & ICR_LSC);
    g_assert_cmpint(f->gsi[f->irq], ==, 0);              /* ICR read clears, INTx drops */
    /* set_link: the carrier follows, with an LSC each way. */
    GError *err = NULL;
    g_assert_true(net_set_link(f->m, "e", false, &err));
    g_assert_false(rr(f, E_STATUS) & STATUS_LU);
    g_assert_true(rr(f, E_ICR) & ICR_LSC);
    g_assert_true(net_set_link(f->m, "e", true, &err));
    vclock_step(f->m->clock, 600 * 1000000LL);
    g_assert_true(rr(f, E_STATUS) & STATUS_LU);
    fx_free(f);
}

/* ---- transmit ---- */

static void tx_setup(Fx *f)
{
    memset(ram(f, TXR), 0, 0x1000);
    rw(f, E_TDBAL, TXR);
    rw(f, E_TDBAH, 0);
    rw(f, E_TDLEN, 8 * 16);
    rw(f, E_TDH, 0);
    rw(f, E_TDT, 0);
    rw(f, E_TCTL, TCTL_EN);
}

static void put_txd(Fx *f, unsigned i, const uint8_t d[16])
{
    memcpy(ram(f, TXR + 16 * i), d, 16);
}

static void legacy_txd(Fx *f, unsigned i, uint64_t addr, uint16_t len, uint8_t cmd)
{
    uint8_t d[16] = { 0 };
    memcpy(d, &addr, 8);
    d[8] = len, d[9] = len >> 8;
    d[11] = cmd;
    put_txd(f, i, d);
}

static void test_tx_legacy(void)
{
    Fx *f = fx_new(NULL);
    tx_setup(f);
    uint8_t frame[100];
    make_frame(frame, sizeof(frame), MAC);
    memcpy(ram(f, TXB), frame, 40);
    memcpy(ram(f, TXB + 0x1000), frame + 40, 60);
    legacy_txd(f, 0, TXB, 40, 0x02);                       /* IFCS */
    legacy_txd(f, 1, TXB + 0x1000, 60, 0x0b);              /* EOP | IFCS | RS */
    rw(f, E_IMS, ICR_TXDW);
    rw(f, E_TDT, 2);
    g_assert_cmpuint(rr(f, E_TDH), ==, 2);
    g_assert_cmpuint(f->be->frames->len, ==, 1);
    GByteArray *b = fake_frame(f->be, 0);
    g_assert_cmpmem(b->data, b->len, frame, sizeof(frame));
    g_assert_cmpuint(ram(f, TXR + 16 + 12)[0] & 1, ==, 1);  /* DD written back */
    g_assert_cmpuint(ram(f, TXR + 12)[0] & 1, ==, 0);       /* not without RS */
    g_assert_cmpint(f->gsi[f->irq], ==, 1);
    g_assert_cmphex(rr(f, E_ICR) & (ICR_TXDW | ICR_TXQE), ==, ICR_TXDW | ICR_TXQE);
    g_assert_cmpuint(rr(f, S_GPTC), ==, 1);
    g_assert_cmpuint(rr(f, S_GPTC), ==, 0);                  /* clear on read */
    g_assert_cmpuint(rr(f, S_GOTCL), ==, 104);
    fx_free(f);
}

static uint16_t csum16(const uint8_t *p, size_t n, uint32_t s)
{
    return net_checksum_finish(net_checksum_add(p, n, s));
}

/* An IPv4/TCP packet: 14 + 20 + 20 header bytes, @payload bytes. */
static size_t make_tcp(uint8_t *p, size_t payload)
{
    make_frame(p, 54 + payload, (const uint8_t[6]){ 2, 0, 0, 0, 0, 1 });
    uint8_t *ip = p + 14, *tcp = p + 34;
    memset(ip, 0, 20);
    ip[0] = 0x45, ip[8] = 64, ip[9] = 6;
    ip[4] = 0x12, ip[5] = 0x34;                            /* id */
    memcpy(ip + 12, "\x0a\x00\x00\x01\x0a\x00\x00\x02", 8);
    memset(tcp, 0, 20);
    tcp[0] = 0x04, tcp[1] = 0x00, tcp[2] = 0x00, tcp[3] = 0x50;
    memcpy(tcp + 4, "\x00\x01\x00\x00", 4);                /* seq 65536 */
    tcp[12] = 0x50, tcp[13] = 0x18;                        /* ACK | PSH */
    /* The pseudo-header sum without the length, as Linux leaves it for TSO. */
    uint32_t ps = net_checksum_add(ip + 12, 8, 6);
    uint16_t part = ~net_checksum_finish(ps);
    tcp[16] = part >> 8, tcp[17] = part;
    return 54 + payload;
}

static bool tcp_ok(const uint8_t *p, size_t len)
{
    const uint8_t *ip = p + 14;
    if (csum16(ip, 20, 0) != 0)
        return false;
    uint32_t ps = net_checksum_add(ip + 12, 8, 6 + (len - 34));
    return csum16(p + 34, len - 34, ps) == 0;
}

static void test_tx_tso(void)
{
    Fx *f = fx_new(NULL);
    tx_setup(f);
    static uint8_t pkt[54 + 2500];
    size_t len = make_tcp(pkt, 2500);
    memcpy(ram(f, TXB), pkt, len);
    uint8_t ctx[16] = { 14, 24, 33, 0, 34, 50, 0, 0 };     /* IPCSS/IPCSO/IPCSE, TUCSS.. */
    uint32_t paylen = 2500;
    ctx[8] = paylen, ctx[9] = paylen >> 8, ctx[10] = 0x00;   /* DTYP 0 = context */
    ctx[11] = 0x20 | 0x04 | 0x02 | 0x01;                   /* DEXT TSE IP TCP */
    ctx[13] = 54;                                          /* HDRLEN */
    ctx[14] = 1000 & 0xff, ctx[15] = 1000 >> 8;            /* MSS */
    put_txd(f, 0, ctx);
    uint8_t data[16] = { 0 };
    uint64_t a = TXB;
    memcpy(data, &a, 8);
    data[8] = len, data[9] = len >> 8, data[10] = 0x10;   /* DTYP 1 = data */
    data[11] = 0x20 | 0x04 | 0x08 | 0x01;                  /* DEXT TSE RS EOP */
    data[13] = 0x03;                                       /* IXSM | TXSM */
    put_txd(f, 1, data);
    rw(f, E_TDT, 2);
    g_assert_cmpuint(f->be->frames->len, ==, 3);
    uint32_t seq = 65536;
    for (unsigned i = 0; i < 3; i++) {
        GByteArray *b = fake_frame(f->be, i);
        size_t want = 54 + (i < 2 ? 1000 : 500);
        g_assert_cmpuint(b->len, ==, want);
        g_assert_cmpuint(b->data[16] << 8 | b->data[17], ==, want - 14);   /* IP length */
        g_assert_cmpuint(b->data[18] << 8 | b->data[19], ==, 0x1234 + i);   /* IP id */
        uint32_t s = (uint32_t)b->data[38] << 24 | b->data[39] << 16 | b->data[40] << 8 |
                     b->data[41];
        g_assert_cmpuint(s, ==, seq + 1000 * i);
        g_assert_cmpuint(b->data[47] & 0x08, ==, i == 2 ? 0x08 : 0);     /* PSH on last */
        g_assert_true(tcp_ok(b->data, b->len));
        g_assert_cmpmem(b->data + 54, want - 54, pkt + 54 + 1000 * i, want - 54);
    }
    g_assert_cmpuint(rr(f, S_TSCTC), ==, 1);
    /* Absurd contexts: a header longer than the packet, MSS 0. Dropped, no loop. */
    ctx[13] = 200;
    put_txd(f, 2, ctx);
    data[8] = 100, data[9] = 0;
    put_txd(f, 3, data);
    data[8] = len, data[9] = len >> 8;
    ctx[13] = 54, ctx[14] = ctx[15] = 0;
    put_txd(f, 4, ctx);
    put_txd(f, 5, data);
    rw(f, E_TDT, 6);
    g_assert_cmpuint(f->be->frames->len, ==, 3);
    g_assert_cmpuint(rr(f, S_TSCTFC), ==, 2);
    /* Checksum offload without TSO. */
    make_tcp(pkt, 100);
    memcpy(ram(f, TXB), pkt, 154);
    ctx[11] = 0x20 | 0x02 | 0x01;
    put_txd(f, 6, ctx);
    data[8] = 154, data[9] = 0;
    data[11] = 0x20 | 0x08 | 0x01;
    put_txd(f, 7, data);
    uint8_t *ip = ram(f, TXB + 14), *tcp = ram(f, TXB + 34);
    uint16_t full = ~net_checksum_finish(net_checksum_add(ip + 12, 8, 6 + 120));
    tcp[16] = full >> 8, tcp[17] = full;
    rw(f, E_TDT, 0);
    g_assert_cmpuint(f->be->frames->len, ==, 4);
    g_assert_true(tcp_ok(fake_frame(f->be, 3)->data, 154));
    fx_free(f);
}

/* A backend with the virtio-net header (a tap): TSO goes out whole for the host to cut
 * (GSO), a checksum-only request as NEEDS_CSUM; received frames lose the header. */
static void test_tx_gso(void)
{
    Fx *f = fx_new_be(NULL, true);
    tx_setup(f);
    static uint8_t pkt[54 + 2500];
    size_t len = make_tcp(pkt, 2500);
    memcpy(ram(f, TXB), pkt, len);
    uint8_t ctx[16] = { 14, 24, 33, 0, 34, 50, 0, 0, 0xc4, 0x09, 0, 0x27, 0, 54, 0xe8, 0x03 };
    put_txd(f, 0, ctx);
    uint8_t data[16] = { 0 };
    uint64_t a = TXB;
    memcpy(data, &a, 8);
    data[8] = len, data[9] = len >> 8, data[10] = 0x10;
    data[11] = 0x20 | 0x04 | 0x08 | 0x01;
    data[13] = 0x03;
    put_txd(f, 1, data);
    rw(f, E_TDT, 2);
    g_assert_cmpuint(f->be->frames->len, ==, 1);
    GByteArray *b = fake_frame(f->be, 0);
    g_assert_cmpuint(b->len, ==, 12 + len);
    const uint8_t *h = b->data, *p = b->data + 12;
    g_assert_cmpuint(h[0], ==, 1);                          /* NEEDS_CSUM */
    g_assert_cmpuint(h[1], ==, 1);                          /* GSO TCPv4 */
    g_assert_cmpuint(h[2] | h[3] << 8, ==, 54);            /* hdr_len */
    g_assert_cmpuint(h[4] | h[5] << 8, ==, 1000);          /* gso_size */
    g_assert_cmpuint(h[6] | h[7] << 8, ==, 34);            /* csum_start */
    g_assert_cmpuint(h[8] | h[9] << 8, ==, 16);            /* csum_offset */
    g_assert_cmpuint(p[16] << 8 | p[17], ==, len - 14);    /* IP total length */
    g_assert_cmpuint(csum16(p + 14, 20, 0), ==, 0);        /* IP header checksum */
    /* The TCP field: the pseudo-header sum with the length, as for CHECKSUM_PARTIAL. */
    uint16_t want = ~net_checksum_finish(net_checksum_add(p + 26, 8, 6 + len - 34));
    g_assert_cmphex(p[50] << 8 | p[51], ==, want);
    fx_free(f);
}

/* ---- receive ---- */

static void rx_setup(Fx *f, unsigned n, uint32_t rctl)
{
    memset(ram(f, RXR), 0, 0x1000);
    for (unsigned i = 0; i < n; i++) {
        uint64_t a = RXB + 0x4000 * i;
        memcpy(ram(f, RXR + 16 * i), &a, 8);
    }
    rw(f, E_RDBAL, RXR);
    rw(f, E_RDBAH, 0);
    rw(f, E_RDLEN, n * 16);
    rw(f, E_RDH, 0);
    rw(f, E_RDT, 0);
    rw(f, E_RCTL, rctl | RCTL_EN);
}

static uint8_t rxd_status(Fx *f, unsigned i) { return ram(f, RXR + 16 * i + 12)[0]; }
static uint16_t rxd_len(Fx *f, unsigned i)
{
    return ram(f, RXR + 16 * i + 8)[0] | ram(f, RXR + 16 * i + 9)[0] << 8;
}

static void test_rx(void)
{
    Fx *f = fx_new(NULL);
    rx_setup(f, 8, RCTL_BAM);
    uint8_t frame[200];
    make_frame(frame, sizeof(frame), MAC);
    /* No descriptors handed over (RDT == RDH): the frame waits. */
    g_assert_cmpint(fake_send(f->be, frame, sizeof(frame)), ==, 0);
    rw(f, E_IMS, ICR_RXT0);
    rw(f, E_RDT, 4);
    g_assert_cmpuint(f->be->sent_cbs, ==, 1);
    g_assert_cmpuint(rxd_status(f, 0), ==, 0x07);            /* DD EOP IXSM */
    g_assert_cmpuint(rxd_len(f, 0), ==, 204);                /* + FCS */
    g_assert_cmpmem(ram(f, RXB), 200, frame, 200);
    g_assert_cmpuint(rr(f, E_RDH), ==, 1);
    g_assert_cmpint(f->gsi[f->irq], ==, 1);
    g_assert_true(rr(f, E_ICR) & ICR_RXT0);
    /* Other unicast: dropped; broadcast (BAM): taken; promiscuous (UPE): taken. */
    make_frame(frame, sizeof(frame), (const uint8_t[6]){ 2, 1, 1, 1, 1, 1 });
    g_assert_cmpint(fake_send(f->be, frame, sizeof(frame)), ==, sizeof(frame));
    g_assert_cmpuint(rr(f, E_RDH), ==, 1);
    make_frame(frame, sizeof(frame), (const uint8_t[6]){ 0xff, 0xff, 0xff, 0xff, 0xff, 0xff });
    fake_send(f->be, frame, sizeof(frame));
    g_assert_cmpuint(rr(f, E_RDH), ==, 2);
    rw(f, E_RCTL, rr(f, E_RCTL) | RCTL_UPE);
    make_frame(frame, sizeof(frame), (const uint8_t[6]){ 2, 1, 1, 1, 1, 1 });
    fake_send(f->be, frame, sizeof(frame));
    g_assert_cmpuint(rr(f, E_RDH), ==, 3);
    /* Multicast through the MTA hash (MO 0: address bits 47:36). */
    rw(f, E_RCTL, (rr(f, E_RCTL) & ~RCTL_UPE));
    uint8_t mc[6] = { 0x01, 0x00, 0x5e, 0x00, 0x12, 0x34 };
    unsigned hash = ((mc[4] >> 4) | (mc[5] << 4)) & 0xfff;
    make_frame(frame, sizeof(frame), mc);
    fake_send(f->be, frame, sizeof(frame));
    g_assert_cmpuint(rr(f, E_RDH), ==, 3);
    rw(f, E_MTA + 4 * (hash >> 5), 1u << (hash & 31));
    fake_send(f->be, frame, sizeof(frame));
    g_assert_cmpuint(rr(f, E_RDH), ==, 4);
    /* Runts are padded to 60 bytes. */
    rw(f, E_RDT, 7);
    make_frame(frame, 42, MAC);
    fake_send(f->be, frame, 42);
    g_assert_cmpuint(rxd_len(f, 4), ==, 64);
    /* A 1600-byte frame without LPE is dropped (ROC). */
    static uint8_t big[3000];
    make_frame(big, 1600, MAC);
    g_assert_cmpint(fake_send(f->be, big, 1600), ==, 1600);
    g_assert_cmpuint(rr(f, S_ROC), ==, 1);
    fx_free(f);
    /* Jumbo with LPE, 1024-byte buffers: one frame over three descriptors. */
    f = fx_new(NULL);
    rx_setup(f, 8, RCTL_LPE | 1u << RCTL_BSIZE_SHIFT | RCTL_SECRC);
    rw(f, E_RDT, 7);
    make_frame(big, 3000, MAC);
    fake_send(f->be, big, 3000);
    g_assert_cmpuint(rr(f, E_RDH), ==, 3);
    g_assert_cmpuint(rxd_len(f, 0), ==, 1024);
    g_assert_cmpuint(rxd_status(f, 0), ==, 0x05);            /* DD IXSM, no EOP */
    g_assert_cmpuint(rxd_len(f, 2), ==, 3000 - 2048);
    g_assert_cmpuint(rxd_status(f, 2), ==, 0x07);
    g_assert_cmpmem(ram(f, RXB + 0x4000), 1024, big + 1024, 1024);
    fx_free(f);
}

static void test_rx_vnet(void)
{
    Fx *f = fx_new_be(NULL, true);
    rx_setup(f, 8, RCTL_BAM | RCTL_SECRC);
    rw(f, E_RDT, 4);
    uint8_t frame[12 + 100] = { 0 };
    make_frame(frame + 12, 100, MAC);
    fake_send(f->be, frame, sizeof(frame));
    g_assert_cmpuint(rxd_len(f, 0), ==, 100);                /* the header is not data */
    g_assert_cmpmem(ram(f, RXB), 100, frame + 12, 100);
    fx_free(f);
}

static void test_mitigation(void)
{
    Fx *f = fx_new(NULL);
    rw(f, E_ITR, 1000);                                      /* 256 us */
    rw(f, E_IMS, ICR_TXDW);
    rw(f, E_ICS, ICR_TXDW);
    g_assert_cmpint(f->gsi[f->irq], ==, 1);                  /* the first one goes out */
    rr(f, E_ICR);
    g_assert_cmpint(f->gsi[f->irq], ==, 0);
    rw(f, E_ICS, ICR_TXDW);
    g_assert_cmpint(f->gsi[f->irq], ==, 0);                  /* within the window: held */
    vclock_step(f->m->clock, 200000);
    g_assert_cmpint(f->gsi[f->irq], ==, 0);
    vclock_step(f->m->clock, 100000);
    g_assert_cmpint(f->gsi[f->irq], ==, 1);
    fx_free(f);
    f = fx_new("mitigation=off");
    rw(f, E_ITR, 1000);
    rw(f, E_IMS, ICR_TXDW);
    rw(f, E_ICS, ICR_TXDW);
    rr(f, E_ICR);
    rw(f, E_ICS, ICR_TXDW);
    g_assert_cmpint(f->gsi[f->irq], ==, 1);
    fx_free(f);
}

static void test_hostile(void)
{
    Fx *f = fx_new(NULL);
    /* TDT beyond the ring: nothing loops, nothing is sent. */
    tx_setup(f);
    rw(f, E_TDT, 100);
    g_assert_cmpuint(f->be->frames->len, ==, 0);
    /* A 1 MB ring outside guest RAM, buffers outside RAM. */
    rw(f, E_TDBAL, 0xfff00000u);
    rw(f, E_TDLEN, 0xfff80);
    rw(f, E_TDT, 5);
    rw(f, E_TDBAL, TXR);
    legacy_txd(f, 0, 0xffff0000u, 1000, 0x09);
    rw(f, E_TDLEN, 8 * 16);
    rw(f, E_TDH, 0);
    rw(f, E_TDT, 1);
    g_assert_cmpuint(f->be->frames->len, ==, 0);
    /* Descriptors that never end a packet and are 64 KiB each: capped, dropped. */
    for (unsigned i = 0; i < 8; i++)
        legacy_txd(f, i, TXB, 0xffff, i == 7 ? 0x01 : 0);
    rw(f, E_TDH, 0);
    rw(f, E_TDT, 0);
    rw(f, E_TDT, 7);
    rw(f, E_TDT, 0);
    g_assert_cmpuint(f->be->frames->len, ==, 0);
    /* Garbage in every register, then rings and frames. */
    GRand *r = g_rand_new_with_seed(7);
    uint8_t frame[1500];
    make_frame(frame, sizeof(frame), MAC);
    for (int round = 0; round < 20000; round++) {
        unsigned off = g_rand_int_range(r, 0, 0x20000 / 4) * 4;
        if (g_rand_int_range(r, 0, 4) == 0)
            off = g_rand_int_range(r, 0, 0x6000 / 4) * 4;
        if (off == E_CTRL && g_rand_int_range(r, 0, 50))
            continue;
        if (g_rand_boolean(r))
            rw(f, off, g_rand_int(r));
        else
            rr(f, off);
        if (round % 97 == 0) {
            for (unsigned i = 0; i < 0x1000; i += 4) {
                uint32_t v = g_rand_int(r) & (g_rand_boolean(r) ? 0x00ffffff : ~0u);
                memcpy(ram(f, TXR + i), &v, 4);
                memcpy(ram(f, RXR + i), &v, 4);
            }
            rw(f, E_TDBAL, TXR), rw(f, E_RDBAL, RXR);
            rw(f, E_TCTL, TCTL_EN), rw(f, E_RCTL, RCTL_EN | (g_rand_int(r) & 0x7fc0038));
            rw(f, E_TDT, g_rand_int_range(r, 0, 300));
            fake_send(f->be, frame, g_rand_int_range(r, 14, sizeof(frame)));
            while (g_main_context_iteration(NULL, FALSE))
                ;
        }
    }
    g_rand_free(r);
    fx_free(f);
}

static void test_vmstate_announce(void)
{
    Fx *f = fx_new(NULL), *g = fx_new(NULL);
    rw(f, E_RCTL, RCTL_EN | RCTL_BAM);
    rw(f, E_MTA + 8, 0x1234);
    ee_read(f, 3);
    const DeviceClass *cls = f->pci->dev.cls;
    GByteArray *s = g_byte_array_new();
    vmstate_save(cls->vmsd, device_state(&f->pci->dev), s);
    GError *err = NULL;
    g_assert_cmpint(vmstate_load(cls->vmsd, device_state(&g->pci->dev), s->data, s->len,
                                 &err), ==, s->len);
    cls->post_load(&g->pci->dev);
    g_assert_cmpmem(&f->d->s, sizeof(f->d->s), &g->d->s, sizeof(g->d->s));
    g_assert_cmphex(rr(g, E_MTA + 8), ==, 0x1234);
    g_byte_array_unref(s);
    /* Announce: a RARP for the MAC out of the backend. */
    net_announce_all(f->m, NULL);
    GByteArray *b = fake_frame(f->be, 0);
    g_assert_cmpuint(b->len, ==, 60);
    g_assert_cmpuint(b->data[12] << 8 | b->data[13], ==, 0x8035);
    g_assert_cmpmem(b->data + 22, 6, MAC, 6);
    fx_free(f);
    fx_free(g);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_log_set_always_fatal(G_LOG_LEVEL_CRITICAL);   /* budgeted warnings are expected */
    g_test_add_func("/e1000/eeprom", test_eeprom);
    g_test_add_func("/e1000/phy-link", test_phy);
    g_test_add_func("/e1000/tx-legacy", test_tx_legacy);
    g_test_add_func("/e1000/tx-tso-csum", test_tx_tso);
    g_test_add_func("/e1000/tx-gso", test_tx_gso);
    g_test_add_func("/e1000/rx", test_rx);
    g_test_add_func("/e1000/rx-vnet", test_rx_vnet);
    g_test_add_func("/e1000/mitigation", test_mitigation);
    g_test_add_func("/e1000/hostile", test_hostile);
    g_test_add_func("/e1000/vmstate-announce", test_vmstate_announce);
    return g_test_run();
}
