/*
 * virtio-net-pci (virtio 1.2, 5.1) driven as a driver does, and as a hostile one does:
 * features with and without a backend carrying the virtio-net header, transmit (header
 * dropped or passed through), receive into one or several buffers (MRG_RXBUF), frames
 * held while there are no buffers, the control queue (receive modes, MAC table, VLANs,
 * MQ, offloads), link changes, announcements, query-rx-filter, the state description,
 * and broken requests (short headers, readable receive buffers, control requests without
 * an ack byte: DEVICE_NEEDS_RESET, never a crash).
 */
#include <glib.h>
#include <string.h>

#include "vireo/machine.h"
#include "vireo/pc.h"
#include "vireo/virtio.h"
#include "qapi/qapi-generated.h"
#include "net-fake.h"
#include "../../hw/net/virtio-net.h"

#define RAM_SIZE (16u << 20)
#define QSIZE 8
#define QBASE(q) (0x100000u + (q) * 0x10000u)
#define DESC(q)  QBASE(q)
#define AVAIL(q) (QBASE(q) + 0x4000)
#define USED(q)  (QBASE(q) + 0x8000)
#define BUF      0x800000u

#define F(bit) (1ull << (bit))
#define VERSION_1 F(32)

typedef struct Fx {
    Machine *m;
    PciDevice *pci;
    VirtioPci *vp;
    FakeNet *be;
    uint64_t common, isr, notify, devcfg;
    int gsi[MACHINE_NUM_GSI];
} Fx;

static const uint8_t MAC[6] = { 0x52, 0x54, 0x00, 0x12, 0x34, 0x56 };

static void gsi_handler(void *opaque, int n, int level) { ((Fx *)opaque)->gsi[n] = level; }
static void msi_handler(void *opaque, uint64_t addr, uint32_t data) { }

static uint64_t rd(Fx *f, uint64_t a, unsigned n)
{
    uint64_t v = 0;
    g_assert_true(as_read(f->m->sysmem, a, &v, n));
    return v;
}

static void wr(Fx *f, uint64_t a, uint64_t v, unsigned n)
{
    g_assert_true(as_write(f->m->sysmem, a, v, n));
}

static uint8_t *ram(Fx *f, uint64_t gpa) { return f->m->ram + gpa; }

static void loop(void)
{
    while (g_main_context_iteration(NULL, FALSE))
        ;
}

static Fx *fx_new(bool vnet, const char *opts)
{
    Fx *f = g_new0(Fx, 1);
    GError *err = NULL;
    f->m = machine_new_test(RAM_SIZE);
    for (int i = 0; i < MACHINE_NUM_GSI; i++)
        f->m->gsi[i] = (IrqLine){ .handler = gsi_handler, .opaque = f, .n = i };
    f->m->msi = (MsiSink){ .send = msi_handler, .opaque = f };
    g_assert_nonnull(pci_bus_new_pc(f->m, &err));
    f->be = fake_net_new(f->m, "fb", vnet);
    g_autofree char *o = g_strdup_printf("addr=05.0,netdev=fb,id=vn,vectors=0%s%s",
                                         opts ? "," : "", opts ? opts : "");
    Device *d = machine_create_device(f->m, "virtio-net-pci", o, &err);
    g_assert_no_error(err);
    f->pci = (PciDevice *)d;
    f->vp = (VirtioPci *)d;
    g_assert_true(pci_bus_assign_bars(f->m->pci_bus));
    pci_config_write(f->pci, PCI_COMMAND, PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER, 2);
    uint64_t bar = pci_bar_address(f->pci, 4);
    for (uint8_t c = pci_config_read(f->pci, PCI_CAPABILITY_LIST, 1); c;
         c = pci_config_read(f->pci, c + 1, 1)) {
        if (pci_config_read(f->pci, c, 1) != PCI_CAP_ID_VNDR)
            continue;
        uint8_t type = pci_config_read(f->pci, c + 3, 1);
        uint64_t at = bar + pci_config_read(f->pci, c + 8, 4);
        if (type == 1) f->common = at;
        if (type == 2) f->notify = at;
        if (type == 3) f->isr = at;
        if (type == 4) f->devcfg = at;
    }
    g_assert_true(f->common && f->notify && f->isr && f->devcfg);
    return f;
}

static void fx_free(Fx *f)
{
    machine_free(f->m);
    g_free(f);
}

static uint64_t offered(Fx *f)
{
    wr(f, f->common + 0x00, 0, 4);
    uint64_t lo = rd(f, f->common + 0x04, 4);
    wr(f, f->common + 0x00, 1, 4);
    return lo | rd(f, f->common + 0x04, 4) << 32;
}

static uint8_t negotiate(Fx *f, uint64_t features)
{
    wr(f, f->common + 0x14, 0, 1);
    wr(f, f->common + 0x14, 3, 1);
    wr(f, f->common + 0x08, 0, 4);
    wr(f, f->common + 0x0c, (uint32_t)features, 4);
    wr(f, f->common + 0x08, 1, 4);
    wr(f, f->common + 0x0c, features >> 32, 4);
    wr(f, f->common + 0x14, 3 | VIRTIO_STATUS_FEATURES_OK, 1);
    return rd(f, f->common + 0x14, 1);
}

static void setup_queue(Fx *f, unsigned q)
{
    memset(ram(f, QBASE(q)), 0, 0x10000);
    wr(f, f->common + 0x16, q, 2);
    g_assert_cmpuint(rd(f, f->common + 0x18, 2), >=, QSIZE);
    wr(f, f->common + 0x18, QSIZE, 2);
    wr(f, f->common + 0x20, DESC(q), 4);
    wr(f, f->common + 0x24, 0, 4);
    wr(f, f->common + 0x28, AVAIL(q), 4);
    wr(f, f->common + 0x2c, 0, 4);
    wr(f, f->common + 0x30, USED(q), 4);
    wr(f, f->common + 0x34, 0, 4);
    wr(f, f->common + 0x1c, 1, 2);
}

/* Feature negotiation, every queue, DRIVER_OK. */
static void start(Fx *f, uint64_t features, unsigned queues)
{
    g_assert_true(negotiate(f, features | VERSION_1) & VIRTIO_STATUS_FEATURES_OK);
    for (unsigned q = 0; q < queues; q++)
        setup_queue(f, q);
    wr(f, f->common + 0x14, 3 | VIRTIO_STATUS_FEATURES_OK | VIRTIO_STATUS_DRIVER_OK, 1);
    loop();
}

static void put_desc(Fx *f, unsigned q, unsigned i, uint64_t addr, uint32_t len,
                     uint16_t flags, uint16_t next)
{
    uint8_t *d = ram(f, DESC(q) + 16 * i);
    memcpy(d, &addr, 8);
    memcpy(d + 8, &len, 4);
    memcpy(d + 12, &flags, 2);
    memcpy(d + 14, &next, 2);
}

static void offer(Fx *f, unsigned q, uint16_t head)
{
    uint16_t idx;
    memcpy(&idx, ram(f, AVAIL(q) + 2), 2);
    memcpy(ram(f, AVAIL(q) + 4 + 2 * (idx % QSIZE)), &head, 2);
    idx++;
    memcpy(ram(f, AVAIL(q) + 2), &idx, 2);
}

static void kick(Fx *f, unsigned q)
{
    wr(f, f->notify + 4 * q, q, 2);
    loop();
}

static uint16_t used_idx(Fx *f, unsigned q)
{
    uint16_t v;
    memcpy(&v, ram(f, USED(q) + 2), 2);
    return v;
}

static uint32_t used_len(Fx *f, unsigned q, unsigned slot)
{
    uint32_t v;
    memcpy(&v, ram(f, USED(q) + 4 + 8 * (slot % QSIZE) + 4), 4);
    return v;
}

static uint8_t status(Fx *f) { return rd(f, f->common + 0x14, 1); }

/* Transmits header + @frame in two descriptors; waits for the used entry. */
static void transmit(Fx *f, const uint8_t *hdr, const uint8_t *frame, size_t len, unsigned d0)
{
    memcpy(ram(f, BUF + 0x10000 * d0), hdr, 12);
    memcpy(ram(f, BUF + 0x10000 * d0 + 0x100), frame, len);
    put_desc(f, 1, d0, BUF + 0x10000 * d0, 12, VIRTQ_DESC_F_NEXT, d0 + 1);
    put_desc(f, 1, d0 + 1, BUF + 0x10000 * d0 + 0x100, len, 0, 0);
    offer(f, 1, d0);
    kick(f, 1);
}

/* Posts receive buffer @i of @len bytes at BUF + 0x10000 * (4 + i). */
static void post_rx(Fx *f, unsigned i, uint32_t len)
{
    put_desc(f, 0, i, BUF + 0x10000 * (4 + i), len, VIRTQ_DESC_F_WRITE, 0);
    offer(f, 0, i);
}

static uint8_t *rx_buf(Fx *f, unsigned i) { return ram(f, BUF + 0x10000 * (4 + i)); }

static void test_features(void)
{
    Fx *f = fx_new(false, NULL);
    uint64_t o = offered(f);
    g_assert_true(o & F(VIRTIO_NET_F_MAC) && o & F(VIRTIO_NET_F_STATUS) &&
                  o & F(VIRTIO_NET_F_MRG_RXBUF) && o & F(VIRTIO_NET_F_CTRL_VQ) &&
                  o & F(VIRTIO_NET_F_CTRL_RX) && o & F(VIRTIO_NET_F_GUEST_ANNOUNCE));
    /* No header on the backend's side: no offloads (5.1.3.1, as QEMU). */
    g_assert_false(o & (F(VIRTIO_NET_F_CSUM) | F(VIRTIO_NET_F_GUEST_CSUM) |
                        F(VIRTIO_NET_F_HOST_TSO4) | F(VIRTIO_NET_F_GUEST_TSO4)));
    g_assert_false(o & F(VIRTIO_NET_F_MQ));
    g_assert_cmpuint(rd(f, f->common + 0x12, 2), ==, 3);            /* rx, tx, ctrl */
    uint8_t mac[6];
    for (int i = 0; i < 6; i++)
        mac[i] = rd(f, f->devcfg + i, 1);
    g_assert_cmpmem(mac, 6, MAC, 6);
    g_assert_cmphex(rd(f, f->devcfg + 6, 2), ==, VIRTIO_NET_S_LINK_UP);
    g_assert_cmpuint(rd(f, f->devcfg + 8, 2), ==, 1);               /* max pairs */
    fx_free(f);
    /* With the header (a tap with IFF_VNET_HDR): checksum and TSO are offered. */
    f = fx_new(true, "host_mtu=9000");
    o = offered(f);
    g_assert_true(o & F(VIRTIO_NET_F_CSUM) && o & F(VIRTIO_NET_F_GUEST_CSUM) &&
                  o & F(VIRTIO_NET_F_HOST_TSO4) && o & F(VIRTIO_NET_F_GUEST_TSO6) &&
                  o & F(VIRTIO_NET_F_MTU));
    g_assert_cmpuint(rd(f, f->devcfg + 10, 2), ==, 9000);
    g_assert_true(f->be->using_vnet);
    start(f, F(VIRTIO_NET_F_GUEST_CSUM) | F(VIRTIO_NET_F_GUEST_TSO4), 3);
    g_assert_true(f->be->offloads.csum && f->be->offloads.tso4 && !f->be->offloads.tso6);
    fx_free(f);
    /* gso=off: no segmentation offloads, checksums stay. */
    f = fx_new(true, "gso=off");
    o = offered(f);
    g_assert_true(o & F(VIRTIO_NET_F_CSUM));
    g_assert_false(o & (F(VIRTIO_NET_F_HOST_TSO4) | F(VIRTIO_NET_F_GUEST_TSO4)));
    fx_free(f);
}

static void test_transmit(void)
{
    Fx *f = fx_new(false, NULL);
    start(f, F(VIRTIO_NET_F_MAC), 3);
    uint8_t hdr[12] = { 0 }, frame[60];
    make_frame(frame, sizeof(frame), MAC);
    transmit(f, hdr, frame, sizeof(frame), 0);
    g_assert_cmpuint(used_idx(f, 1), ==, 1);
    g_assert_cmpuint(f->be->frames->len, ==, 1);
    GByteArray *b = fake_frame(f->be, 0);
    g_assert_cmpmem(b->data, b->len, frame, sizeof(frame));          /* header dropped */
    /* The backend is full: the frame waits, the queue pauses, then both go. */
    f->be->full = true;
    transmit(f, hdr, frame, sizeof(frame), 2);
    transmit(f, hdr, frame, sizeof(frame), 4);
    g_assert_cmpuint(used_idx(f, 1), ==, 1);
    f->be->full = false;
    net_flush_queued(f->be->nc);
    loop();
    g_assert_cmpuint(used_idx(f, 1), ==, 3);
    g_assert_cmpuint(f->be->frames->len, ==, 3);
    fx_free(f);
    /* With the header on the backend: it goes through as the guest wrote it. */
    f = fx_new(true, NULL);
    start(f, F(VIRTIO_NET_F_CSUM), 3);
    hdr[0] = 1;                                                    /* NEEDS_CSUM */
    hdr[6] = 34, hdr[8] = 16;                                      /* csum_start/offset */
    transmit(f, hdr, frame, sizeof(frame), 0);
    b = fake_frame(f->be, 0);
    g_assert_cmpuint(b->len, ==, 12 + sizeof(frame));
    g_assert_cmpmem(b->data, 12, hdr, 12);
    fx_free(f);
}

static void test_receive(void)
{
    Fx *f = fx_new(false, NULL);
    start(f, F(VIRTIO_NET_F_MAC), 3);
    uint8_t frame[100];
    make_frame(frame, sizeof(frame), MAC);
    /* No buffers yet: the frame waits (not dropped), the sender is told later. */
    g_assert_cmpint(fake_send(f->be, frame, sizeof(frame)), ==, 0);
    g_assert_cmpuint(net_queued(f->vp ? net_nic_queue(((VirtioNet *)f->vp)->nic, 0) : NULL),
                     ==, 1);
    post_rx(f, 0, 2048);
    kick(f, 0);
    g_assert_cmpuint(used_idx(f, 0), ==, 1);
    g_assert_cmpuint(used_len(f, 0, 0), ==, 12 + sizeof(frame));
    g_assert_cmpuint(f->be->sent_cbs, ==, 1);
    uint8_t *b = rx_buf(f, 0);
    g_assert_cmpuint(b[10] | b[11] << 8, ==, 1);                    /* num_buffers */
    g_assert_cmpmem(b + 12, sizeof(frame), frame, sizeof(frame));
    /* Without MRG_RXBUF a frame larger than the buffer is dropped, not truncated. */
    static uint8_t big[3000];
    make_frame(big, sizeof(big), MAC);
    post_rx(f, 1, 1500);
    kick(f, 0);
    g_assert_cmpint(fake_send(f->be, big, sizeof(big)), ==, sizeof(big));
    g_assert_cmpuint(used_idx(f, 0), ==, 1);
    fx_free(f);
    /* With MRG_RXBUF it spans buffers and num_buffers says how many. */
    f = fx_new(false, NULL);
    start(f, F(VIRTIO_NET_F_MRG_RXBUF), 3);
    for (unsigned i = 0; i < 3; i++)
        post_rx(f, i, 1500);
    kick(f, 0);
    g_assert_cmpint(fake_send(f->be, big, sizeof(big)), ==, sizeof(big));
    g_assert_cmpuint(used_idx(f, 0), ==, 3);
    g_assert_cmpuint(used_len(f, 0, 0), ==, 1500);
    g_assert_cmpuint(used_len(f, 0, 1), ==, 1500);
    g_assert_cmpuint(used_len(f, 0, 2), ==, 12);
    g_assert_cmpuint(rx_buf(f, 0)[10], ==, 3);
    g_assert_cmpmem(rx_buf(f, 0) + 12, 1488, big, 1488);
    g_assert_cmpmem(rx_buf(f, 1), 1500, big + 1488, 1500);
    g_assert_cmpmem(rx_buf(f, 2), 12, big + 2988, 12);
    /* Too few buffers for the next one: nothing is taken, the frame waits. */
    post_rx(f, 3, 1500);
    kick(f, 0);
    g_assert_cmpint(fake_send(f->be, big, sizeof(big)), ==, 0);
    g_assert_cmpuint(used_idx(f, 0), ==, 3);
    post_rx(f, 4, 1500);                            /* 3000 < 12 + 3000: still waits */
    kick(f, 0);
    g_assert_cmpuint(used_idx(f, 0), ==, 3);
    post_rx(f, 5, 1500);
    kick(f, 0);
    g_assert_cmpuint(used_idx(f, 0), ==, 6);
    g_assert_cmpuint(f->be->sent_cbs, ==, 1);
    fx_free(f);
}

/* A control command: class, cmd, data; returns the ack byte. */
static uint8_t ctrl(Fx *f, uint8_t cls, uint8_t cmd, const void *data, uint32_t len)
{
    uint8_t *p = ram(f, BUF + 0xc0000);
    p[0] = cls, p[1] = cmd;
    memcpy(p + 2, data, len);
    p[0x800] = 0xee;
    put_desc(f, 2, 0, BUF + 0xc0000, 2 + len, VIRTQ_DESC_F_NEXT, 1);
    put_desc(f, 2, 1, BUF + 0xc0800, 1, VIRTQ_DESC_F_WRITE, 0);
    offer(f, 2, 0);
    kick(f, 2);
    return p[0x800];
}

static bool delivered(Fx *f, const uint8_t *dst, unsigned *posted)
{
    uint8_t frame[64];
    make_frame(frame, sizeof(frame), dst);
    uint16_t before = used_idx(f, 0);
    post_rx(f, *posted % QSIZE, 2048);
    (*posted)++;
    kick(f, 0);
    fake_send(f->be, frame, sizeof(frame));
    return used_idx(f, 0) != before;
}

static void test_control(void)
{
    Fx *f = fx_new(false, NULL);
    VirtioNet *n = (VirtioNet *)f->vp;
    start(f, F(VIRTIO_NET_F_CTRL_VQ) | F(VIRTIO_NET_F_CTRL_RX) | F(VIRTIO_NET_F_CTRL_VLAN) |
          F(VIRTIO_NET_F_CTRL_RX_EXTRA), 3);
    unsigned posted = 0;
    static const uint8_t other[6] = { 0x02, 1, 2, 3, 4, 5 }, mc[6] = { 0x01, 0, 0x5e, 0, 0, 9 };
    g_assert_true(delivered(f, other, &posted));                 /* promiscuous at first */
    g_assert_cmpuint(ctrl(f, 0, 0, "\0", 1), ==, 0);              /* PROMISC off */
    g_assert_false(n->nic->rx_filter_notify);                    /* event sent, disarmed */
    g_assert_false(delivered(f, other, &posted));
    g_assert_true(delivered(f, MAC, &posted));
    g_assert_false(delivered(f, mc, &posted));
    /* MAC table: one unicast, one multicast entry. */
    uint8_t tbl[4 + 6 + 4 + 6] = { 1, 0, 0, 0 };
    memcpy(tbl + 4, other, 6);
    tbl[10] = 1;
    memcpy(tbl + 14, mc, 6);
    g_assert_cmpuint(ctrl(f, 1, 0, tbl, sizeof(tbl)), ==, 0);
    g_assert_true(delivered(f, other, &posted));
    g_assert_true(delivered(f, mc, &posted));
    /* Entry counts that do not match the data, a huge count: refused. */
    uint8_t bad[8] = { 0xff, 0xff, 0xff, 0x7f, 0, 0, 0, 0 };
    g_assert_cmpuint(ctrl(f, 1, 0, bad, sizeof(bad)), ==, 1);
    g_assert_cmpuint(ctrl(f, 1, 0, tbl, sizeof(tbl) - 1), ==, 1);
    /* More than 64 unicast entries: overflow, so every unicast frame is taken. */
    static uint8_t many[4 + 70 * 6 + 4];
    many[0] = 70;
    g_assert_cmpuint(ctrl(f, 1, 0, many, sizeof(many)), ==, 0);
    g_assert_true(n->s.uni_overflow);
    /* query-rx-filter reports the state and re-arms the event. */
    GError *err = NULL;
    GPtrArray *q = qmp_query_rx_filter(f->m, "vn", &err);
    g_assert_no_error(err);
    RxFilterInfo *ri = q->pdata[0];
    g_assert_false(ri->promiscuous);
    g_assert_true(ri->unicast_overflow);
    g_assert_cmpstr(ri->main_mac, ==, "52:54:00:12:34:56");
    g_assert_cmpint(ri->vlan, ==, RX_STATE_NORMAL);
    g_ptr_array_unref(q);
    g_assert_true(n->nic->rx_filter_notify);
    g_assert_null(qmp_query_rx_filter(f->m, "fb", &err));
    g_assert_cmpstr(err->message, ==, "net client(fb) isn't a NIC");
    g_clear_error(&err);
    /* VLAN filter: tagged frames pass only for added VLAN ids. */
    uint8_t vf[64];
    make_frame(vf, sizeof(vf), MAC);
    vf[12] = 0x81, vf[13] = 0x00, vf[14] = 0x00, vf[15] = 0x05;
    uint16_t before = used_idx(f, 0);
    post_rx(f, posted++ % QSIZE, 2048);
    kick(f, 0);
    fake_send(f->be, vf, sizeof(vf));
    g_assert_cmpuint(used_idx(f, 0), ==, before);
    g_assert_cmpuint(ctrl(f, 2, 0, "\x05\x00", 2), ==, 0);
    fake_send(f->be, vf, sizeof(vf));
    g_assert_cmpuint(used_idx(f, 0), ==, before + 1);
    g_assert_cmpuint(ctrl(f, 2, 0, "\xff\x7f", 2), ==, 1);       /* VLAN id >= 4096 */
    /* MQ and guest offloads were not negotiated; unknown classes are errors. */
    g_assert_cmpuint(ctrl(f, 4, 0, "\x02\x00", 2), ==, 1);
    g_assert_cmpuint(ctrl(f, 5, 0, "\0\0\0\0\0\0\0\0", 8), ==, 1);
    g_assert_cmpuint(ctrl(f, 99, 0, "", 0), ==, 1);
    g_assert_false(status(f) & VIRTIO_STATUS_NEEDS_RESET);
    fx_free(f);
}

static void test_hostile(void)
{
    Fx *f = fx_new(false, NULL);
    start(f, 0, 3);
    /* A transmit request shorter than the header breaks the queue. */
    memset(ram(f, BUF), 0, 4);
    put_desc(f, 1, 0, BUF, 4, 0, 0);
    offer(f, 1, 0);
    kick(f, 1);
    g_assert_true(status(f) & VIRTIO_STATUS_NEEDS_RESET);
    g_assert_cmpuint(f->be->frames->len, ==, 0);
    fx_free(f);
    /* A receive buffer the device could only read. */
    f = fx_new(false, NULL);
    start(f, 0, 3);
    put_desc(f, 0, 0, BUF, 2048, 0, 0);
    offer(f, 0, 0);
    kick(f, 0);
    uint8_t frame[60];
    make_frame(frame, sizeof(frame), MAC);
    g_assert_cmpint(fake_send(f->be, frame, sizeof(frame)), ==, sizeof(frame));
    g_assert_true(status(f) & VIRTIO_STATUS_NEEDS_RESET);
    /* Reset recovers. A buffer too small for the frame is dropped without merging... */
    start(f, 0, 3);
    g_assert_false(status(f) & VIRTIO_STATUS_NEEDS_RESET);
    post_rx(f, 0, 4);
    kick(f, 0);
    g_assert_cmpint(fake_send(f->be, frame, sizeof(frame)), ==, sizeof(frame));
    g_assert_cmpuint(used_idx(f, 0), ==, 0);
    g_assert_false(status(f) & VIRTIO_STATUS_NEEDS_RESET);
    /* ...and with MRG_RXBUF, a buffer smaller than the header breaks the rule of
     * 5.1.6.3.1: the queue breaks. */
    start(f, F(VIRTIO_NET_F_MRG_RXBUF), 3);
    post_rx(f, 0, 4);
    post_rx(f, 1, 2048);
    kick(f, 0);
    fake_send(f->be, frame, sizeof(frame));
    g_assert_true(status(f) & VIRTIO_STATUS_NEEDS_RESET);
    fx_free(f);
    /* A control request without the ack byte. */
    f = fx_new(false, NULL);
    start(f, F(VIRTIO_NET_F_CTRL_VQ) | F(VIRTIO_NET_F_CTRL_RX), 3);
    put_desc(f, 2, 0, BUF, 3, 0, 0);
    offer(f, 2, 0);
    kick(f, 2);
    g_assert_true(status(f) & VIRTIO_STATUS_NEEDS_RESET);
    fx_free(f);
    /* Garbage everywhere in the queues: nothing crashes, nothing spins. */
    f = fx_new(false, NULL);
    start(f, F(VIRTIO_NET_F_MRG_RXBUF) | F(VIRTIO_NET_F_CTRL_VQ) | F(VIRTIO_NET_F_CTRL_RX), 3);
    GRand *r = g_rand_new_with_seed(9);
    for (int round = 0; round < 200; round++) {
        for (unsigned q = 0; q < 3; q++) {
            for (unsigned i = 0; i < 16 * QSIZE; i += 4) {
                uint32_t v = g_rand_int(r);
                if (g_rand_int_range(r, 0, 3) == 0)
                    v &= 0x0000ffff;                   /* plausible small addresses */
                memcpy(ram(f, DESC(q) + i), &v, 4);
            }
            uint16_t idx = g_rand_int(r);
            memcpy(ram(f, AVAIL(q) + 2), &idx, 2);
            kick(f, q);
        }
        fake_send(f->be, frame, sizeof(frame));
        if (status(f) & VIRTIO_STATUS_NEEDS_RESET)
            start(f, F(VIRTIO_NET_F_MRG_RXBUF) | F(VIRTIO_NET_F_CTRL_VQ), 3);
    }
    g_rand_free(r);
    fx_free(f);
}

static void test_link_and_announce(void)
{
    Fx *f = fx_new(false, NULL);
    start(f, F(VIRTIO_NET_F_STATUS) | F(VIRTIO_NET_F_CTRL_VQ) |
          F(VIRTIO_NET_F_GUEST_ANNOUNCE), 3);
    rd(f, f->isr, 1);
    GError *err = NULL;
    g_assert_true(net_set_link(f->m, "vn", false, &err));
    g_assert_cmphex(rd(f, f->devcfg + 6, 2) & VIRTIO_NET_S_LINK_UP, ==, 0);
    g_assert_cmphex(rd(f, f->isr, 1) & 2, ==, 2);                  /* config interrupt */
    g_assert_true(net_set_link(f->m, "fb", true, &err));           /* the backend's name */
    g_assert_cmphex(rd(f, f->devcfg + 6, 2) & VIRTIO_NET_S_LINK_UP, ==, VIRTIO_NET_S_LINK_UP);
    /* Announce: a RARP out of the backend, and ANNOUNCE asks the guest for its own. */
    net_announce_all(f->m, NULL);
    GByteArray *b = fake_frame(f->be, 0);
    g_assert_cmpuint(b->len, ==, 60);
    g_assert_cmpuint(b->data[12] << 8 | b->data[13], ==, 0x8035);
    g_assert_cmpmem(b->data + 6, 6, MAC, 6);
    g_assert_true(rd(f, f->devcfg + 6, 2) & VIRTIO_NET_S_ANNOUNCE);
    g_assert_cmpuint(ctrl(f, 3, 0, "", 0), ==, 0);                /* ANNOUNCE_ACK */
    g_assert_false(rd(f, f->devcfg + 6, 2) & VIRTIO_NET_S_ANNOUNCE);
    fx_free(f);
    /* On a backend with the virtio-net header (a tap with vnet_hdr), which the NIC puts
     * on its packets: the RARP comes after a zero header, as the NIC's own would. */
    f = fx_new(true, NULL);
    start(f, F(VIRTIO_NET_F_STATUS), 2);
    g_assert_true(f->be->using_vnet);
    net_announce_all(f->m, NULL);
    b = fake_frame(f->be, 0);
    static const uint8_t zero[NET_VNET_HDR_LEN];
    g_assert_cmpuint(b->len, ==, NET_VNET_HDR_LEN + 60);
    g_assert_cmpmem(b->data, NET_VNET_HDR_LEN, zero, NET_VNET_HDR_LEN);
    g_assert_cmpuint(b->data[NET_VNET_HDR_LEN + 12] << 8 | b->data[NET_VNET_HDR_LEN + 13], ==,
                     0x8035);
    fx_free(f);
}

static void test_vmstate(void)
{
    Fx *f = fx_new(false, NULL), *g = fx_new(false, NULL);
    start(f, F(VIRTIO_NET_F_CTRL_VQ) | F(VIRTIO_NET_F_CTRL_RX) | F(VIRTIO_NET_F_CTRL_VLAN), 3);
    ctrl(f, 0, 0, "\0", 1);
    ctrl(f, 2, 0, "\x07\x00", 2);
    VirtioNet *a = (VirtioNet *)f->vp, *b = (VirtioNet *)g->vp;
    const DeviceClass *cls = f->pci->dev.cls;
    GByteArray *s = g_byte_array_new();
    vmstate_save(cls->vmsd, device_state(&f->pci->dev), s);
    g_assert_cmpuint(s->len, ==, vmstate_size(cls->vmsd));
    GError *err = NULL;
    g_assert_cmpint(vmstate_load(cls->vmsd, device_state(&g->pci->dev), s->data, s->len,
                                 &err), ==, s->len);
    cls->post_load(&g->pci->dev);
    g_assert_cmpmem(&a->s, sizeof(a->s), &b->s, sizeof(b->s));
    g_assert_cmpint(vmstate_load(cls->vmsd, device_state(&g->pci->dev), s->data, s->len - 1,
                                 &err), <, 0);                   /* truncated: refused */
    g_clear_error(&err);
    g_byte_array_unref(s);
    fx_free(f);
    fx_free(g);
}

static void test_bad_props(void)
{
    GError *err = NULL;
    Machine *m = machine_new_test(RAM_SIZE);
    g_assert_nonnull(pci_bus_new_pc(m, &err));
    g_assert_null(machine_create_device(m, "virtio-net-pci", "rx_queue_size=100", &err));
    g_assert_nonnull(strstr(err->message, "Invalid rx_queue_size (= 100)"));
    g_clear_error(&err);
    g_assert_null(machine_create_device(m, "virtio-net-pci", "netdev=nope", &err));
    g_assert_cmpstr(err->message, ==,
                    "Property 'virtio-net-pci.netdev' can't find value 'nope'");
    g_clear_error(&err);
    g_assert_null(machine_create_device(m, "virtio-net-pci", "mac=01:02", &err));
    g_clear_error(&err);
    machine_free(m);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_log_set_always_fatal(G_LOG_LEVEL_CRITICAL);   /* budgeted warnings are expected */
    g_test_add_func("/virtio-net/features", test_features);
    g_test_add_func("/virtio-net/transmit", test_transmit);
    g_test_add_func("/virtio-net/receive", test_receive);
    g_test_add_func("/virtio-net/control", test_control);
    g_test_add_func("/virtio-net/hostile", test_hostile);
    g_test_add_func("/virtio-net/link-announce", test_link_and_announce);
    g_test_add_func("/virtio-net/vmstate", test_vmstate);
    g_test_add_func("/virtio-net/bad-props", test_bad_props);
    return g_test_run();
}
