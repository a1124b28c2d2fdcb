/*
 * virtio-net's control queue (virtio 1.2, 5.1.6.5) and receive filter: receive modes
 * (promiscuous, all-multicast, all-unicast, no-multicast, no-unicast, no-broadcast),
 * the MAC filter table (64 entries, overflow flags beyond), the MAC address, the VLAN
 * filter, announcement acks, the number of queue pairs (MQ) and the guest offloads.
 * Every command is read from the driver's buffers into a bounded local copy; lengths
 * that do not match the command are answered VIRTIO_NET_ERR. A request without the
 * header or the ack byte breaks the queue (DEVICE_NEEDS_RESET).
 */
#include "virtio-net.h"
#include "qapi/qapi-generated.h"
#include <string.h>

#define CTRL_RX         0
#define  CTRL_RX_PROMISC    0
#define  CTRL_RX_ALLMULTI   1
#define  CTRL_RX_ALLUNI     2
#define  CTRL_RX_NOMULTI    3
#define  CTRL_RX_NOUNI      4
#define  CTRL_RX_NOBCAST    5
#define CTRL_MAC        1
#define  CTRL_MAC_TABLE_SET 0
#define  CTRL_MAC_ADDR_SET  1
#define CTRL_VLAN       2
#define  CTRL_VLAN_ADD      0
#define  CTRL_VLAN_DEL      1
#define CTRL_ANNOUNCE   3
#define  CTRL_ANNOUNCE_ACK  0
#define CTRL_MQ         4
#define  CTRL_MQ_VQ_PAIRS_SET 0
#define CTRL_GUEST_OFFLOADS 5
#define  CTRL_GUEST_OFFLOADS_SET 0

#define VIRTIO_NET_OK   0
#define VIRTIO_NET_ERR  1

#define CTRL_MAX_DATA   (8 + 2 * 4 + 2 * 4096 * 6)   /* larger commands are refused */

/* ---- receive filter ---- */

bool vnet_rx_filter(const VirtioNet *n, const uint8_t *buf, size_t len)
{
    static const uint8_t bcast[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
    const VirtioNetState *s = &n->s;
    if (s->promisc)
        return true;
    if (len >= 16 && buf[12] == 0x81 && buf[13] == 0x00) {       /* 802.1Q tag */
        unsigned vid = (buf[14] << 8 | buf[15]) & 0xfff;
        if (!(s->vlans[vid >> 3] & (1u << (vid & 7))))
            return false;
    }
    if (buf[0] & 1) {
        if (!memcmp(buf, bcast, 6))
            return !s->nobcast;
        if (s->nomulti)
            return false;
        if (s->allmulti || s->multi_overflow)
            return true;
        for (uint32_t i = s->mac_first_multi; i < s->mac_in_use; i++)
            if (!memcmp(buf, s->macs + 6 * i, 6))
                return true;
        return false;
    }
    if (s->nouni)
        return false;
    if (s->alluni || s->uni_overflow || !memcmp(buf, s->mac, 6))
        return true;
    for (uint32_t i = 0; i < s->mac_first_multi; i++)
        if (!memcmp(buf, s->macs + 6 * i, 6))
            return true;
    return false;
}

/* ---- commands ---- */

static uint8_t ctrl_rx(VirtioNet *n, uint8_t cmd, const uint8_t *d, size_t len)
{
    uint8_t *field[] = { &n->s.promisc, &n->s.allmulti, &n->s.alluni, &n->s.nomulti,
                         &n->s.nouni, &n->s.nobcast };
    if (len != 1 || cmd >= G_N_ELEMENTS(field))
        return VIRTIO_NET_ERR;
    if (cmd >= CTRL_RX_ALLUNI && !vnet_has(n, VIRTIO_NET_F_CTRL_RX_EXTRA))
        return VIRTIO_NET_ERR;
    *field[cmd] = d[0] != 0;
    net_nic_rx_filter_changed(n->nic);
    return VIRTIO_NET_OK;
}

static uint32_t le32(const uint8_t *p)
{
    return p[0] | p[1] << 8 | p[2] << 16 | (uint32_t)p[3] << 24;
}

/* MAC_TABLE_SET: two virtio_net_ctrl_mac { le32 entries; u8 macs[entries][6]; }, the
 * unicast then the multicast table, exactly filling the data. */
static uint8_t ctrl_mac_table(VirtioNet *n, const uint8_t *d, size_t len)
{
    uint8_t macs[VNET_MAC_TABLE * 6];
    uint32_t in_use = 0, first_multi;
    uint8_t uni_over = 0, multi_over = 0;
    if (len < 4)
        return VIRTIO_NET_ERR;
    uint64_t uni = le32(d), ubytes = uni * 6;
    if (ubytes > len - 4)
        return VIRTIO_NET_ERR;
    if (uni <= VNET_MAC_TABLE) {
        memcpy(macs, d + 4, ubytes);
        in_use = uni;
    } else {
        uni_over = 1;
    }
    size_t rest = len - 4 - ubytes;
    const uint8_t *m = d + 4 + ubytes;
    if (rest < 4)
        return VIRTIO_NET_ERR;
    uint64_t multi = le32(m), mbytes = multi * 6;
    if (mbytes != rest - 4)
        return VIRTIO_NET_ERR;
    first_multi = in_use;
    if (multi <= VNET_MAC_TABLE - in_use) {
        memcpy(macs + 6 * in_use, m + 4, mbytes);
        in_use += multi;
    } else {
        multi_over = 1;
    }
    n->s.mac_in_use = in_use;
    n->s.mac_first_multi = first_multi;
    n->s.uni_overflow = uni_over;
    n->s.multi_overflow = multi_over;
    memcpy(n->s.macs, macs, 6 * in_use);
    net_nic_rx_filter_changed(n->nic);
    return VIRTIO_NET_OK;
}

static uint8_t ctrl_mac(VirtioNet *n, uint8_t cmd, const uint8_t *d, size_t len)
{
    if (cmd == CTRL_MAC_ADDR_SET) {
        if (len != 6 || !vnet_has(n, VIRTIO_NET_F_CTRL_MAC_ADDR))
            return VIRTIO_NET_ERR;
        memcpy(n->s.mac, d, 6);
        net_nic_format_info(n->nic, "virtio-net-pci");
        net_nic_rx_filter_changed(n->nic);
        return VIRTIO_NET_OK;
    }
    return cmd == CTRL_MAC_TABLE_SET ? ctrl_mac_table(n, d, len) : VIRTIO_NET_ERR;
}

static uint8_t ctrl_vlan(VirtioNet *n, uint8_t cmd, const uint8_t *d, size_t len)
{
    if (len != 2)
        return VIRTIO_NET_ERR;
    unsigned vid = d[0] | d[1] << 8;
    if (vid >= VNET_MAX_VLAN)
        return VIRTIO_NET_ERR;
    if (cmd == CTRL_VLAN_ADD)
        n->s.vlans[vid >> 3] |= 1u << (vid & 7);
    else if (cmd == CTRL_VLAN_DEL)
        n->s.vlans[vid >> 3] &= ~(1u << (vid & 7));
    else
        return VIRTIO_NET_ERR;
    net_nic_rx_filter_changed(n->nic);
    return VIRTIO_NET_OK;
}

static uint8_t ctrl_mq(VirtioNet *n, uint8_t cmd, const uint8_t *d, size_t len)
{
    if (cmd != CTRL_MQ_VQ_PAIRS_SET || len != 2 || !vnet_has(n, VIRTIO_NET_F_MQ))
        return VIRTIO_NET_ERR;
    unsigned pairs = d[0] | d[1] << 8;
    if (pairs < 1 || pairs > n->max_pairs)
        return VIRTIO_NET_ERR;
    n->s.curr_pairs = pairs;
    vnet_set_queue_pairs(n);
    for (unsigned i = 0; i < pairs; i++)
        net_flush_queued(net_nic_queue(n->nic, i));
    return VIRTIO_NET_OK;
}

static uint8_t ctrl_offloads(VirtioNet *n, uint8_t cmd, const uint8_t *d, size_t len)
{
    const uint64_t supported = (1ull << VIRTIO_NET_F_GUEST_CSUM) |
        (1ull << VIRTIO_NET_F_GUEST_TSO4) | (1ull << VIRTIO_NET_F_GUEST_TSO6) |
        (1ull << VIRTIO_NET_F_GUEST_ECN) | (1ull << VIRTIO_NET_F_GUEST_UFO);
    if (cmd != CTRL_GUEST_OFFLOADS_SET || len != 8 ||
        !vnet_has(n, VIRTIO_NET_F_CTRL_GUEST_OFFLOADS))
        return VIRTIO_NET_ERR;
    uint64_t off = le32(d) | (uint64_t)le32(d + 4) << 32;
    /* Only offloads the driver negotiated (5.1.6.5.6.2). */
    if (off & ~(n->vp.s.driver_features & supported))
        return VIRTIO_NET_ERR;
    n->s.guest_offloads = off;
    vnet_apply_offloads(n);
    return VIRTIO_NET_OK;
}

static uint8_t ctrl_command(VirtioNet *n, uint8_t cls, uint8_t cmd, const uint8_t *d,
                            size_t len)
{
    switch (cls) {
    case CTRL_RX:
        return vnet_has(n, VIRTIO_NET_F_CTRL_RX) ? ctrl_rx(n, cmd, d, len) : VIRTIO_NET_ERR;
    case CTRL_MAC:
        return vnet_has(n, VIRTIO_NET_F_CTRL_RX) ? ctrl_mac(n, cmd, d, len) : VIRTIO_NET_ERR;
    case CTRL_VLAN:
        return vnet_has(n, VIRTIO_NET_F_CTRL_VLAN) ? ctrl_vlan(n, cmd, d, len)
                                                   : VIRTIO_NET_ERR;
    case CTRL_ANNOUNCE:
        if (cmd != CTRL_ANNOUNCE_ACK || !vnet_has(n, VIRTIO_NET_F_GUEST_ANNOUNCE))
            return VIRTIO_NET_ERR;
        n->s.status &= ~VIRTIO_NET_S_ANNOUNCE;
        return VIRTIO_NET_OK;
    case CTRL_MQ:
        return ctrl_mq(n, cmd, d, len);
    case CTRL_GUEST_OFFLOADS:
        return ctrl_offloads(n, cmd, d, len);
    }
    return VIRTIO_NET_ERR;
}

void vnet_handle_ctrl(VirtioNet *n)
{
    unsigned qi = 2 * n->max_pairs;
    VirtQueue *vq = &n->vp.vq[qi];
    bool pushed = false;
    g_autofree uint8_t *buf = NULL;
    for (unsigned budget = vq->s.num; budget; budget--) {
        VirtQueueElement *e;
        int r = vq_pop(vq, &e);
        if (r < 0) {
            virtio_queue_broken(&n->vp, qi);
            break;
        }
        if (r == 0)
            break;
        if (e->out_len < 2 || e->in_len < 1) {
            g_free(e);
            vq->broken = true;
            vq->error = "control request without its header or ack byte";
            virtio_queue_broken(&n->vp, qi);
            break;
        }
        uint8_t ack = VIRTIO_NET_ERR;
        if (e->out_len <= 2 + CTRL_MAX_DATA) {
            if (!buf)
                buf = g_malloc(2 + CTRL_MAX_DATA);
            size_t len = iov_to_buf_n(e->iov, e->out_num, 0, buf, e->out_len);
            ack = ctrl_command(n, buf[0], buf[1], buf + 2, len - 2);
        }
        struct iovec *in = e->iov + e->out_num;
        size_t k = 0;
        while (k < e->in_num && !in[k].iov_len)
            k++;
        if (k < e->in_num)
            *(uint8_t *)in[k].iov_base = ack;
        vq_push(vq, e, 1);
        pushed = true;
    }
    if (pushed)
        virtio_notify(&n->vp, qi);
}

/* ---- what the filter and offloads mean for the backend ---- */

void vnet_apply_offloads(VirtioNet *n)
{
    if (!n->nic || !n->peer_vnet)
        return;
    uint64_t g = n->s.guest_offloads;
    NetOffloads o = {
        .csum = g & (1ull << VIRTIO_NET_F_GUEST_CSUM),
        .tso4 = g & (1ull << VIRTIO_NET_F_GUEST_TSO4),
        .tso6 = g & (1ull << VIRTIO_NET_F_GUEST_TSO6),
        .ecn = g & (1ull << VIRTIO_NET_F_GUEST_ECN),
        .ufo = g & (1ull << VIRTIO_NET_F_GUEST_UFO),
    };
    for (unsigned i = 0; i < n->max_pairs; i++)
        net_peer_set_offload(net_nic_queue(n->nic, i), &o);
}

/* Backend queues beyond the pairs in use are detached, so the host steers nothing to
 * them (QEMU's virtio_net_set_queue_pairs). */
void vnet_set_queue_pairs(VirtioNet *n)
{
    if (!n->nic)
        return;
    for (unsigned i = 0; i < n->max_pairs; i++)
        net_peer_set_queue_enabled(net_nic_queue(n->nic, i), i < n->s.curr_pairs);
}

/* ---- query-rx-filter ---- */

static char *mac_str(const uint8_t *m)
{
    return g_strdup_printf("%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2], m[3], m[4],
                           m[5]);
}

void *vnet_query_rx_filter(NicState *nic)
{
    VirtioNet *n = nic->opaque;
    const VirtioNetState *s = &n->s;
    RxFilterInfo *i = g_new0(RxFilterInfo, 1);
    i->name = g_strdup(nic->ncs[0]->name);
    i->promiscuous = s->promisc;
    i->unicast = s->nouni ? RX_STATE_NONE : s->alluni ? RX_STATE_ALL : RX_STATE_NORMAL;
    i->multicast = s->nomulti ? RX_STATE_NONE : s->allmulti ? RX_STATE_ALL : RX_STATE_NORMAL;
    i->broadcast_allowed = !s->nobcast;
    i->multicast_overflow = s->multi_overflow;
    i->unicast_overflow = s->uni_overflow;
    i->main_mac = mac_str(s->mac);
    i->unicast_table = g_ptr_array_new_with_free_func(g_free);
    i->multicast_table = g_ptr_array_new_with_free_func(g_free);
    for (uint32_t k = 0; k < s->mac_in_use && k < VNET_MAC_TABLE; k++)
        g_ptr_array_add(k < s->mac_first_multi ? i->unicast_table : i->multicast_table,
                        mac_str(s->macs + 6 * k));
    i->vlan_table = g_array_new(FALSE, FALSE, sizeof(int64_t));
    bool vlan = vnet_has(n, VIRTIO_NET_F_CTRL_VLAN);
    for (int64_t v = 0; vlan && v < VNET_MAX_VLAN; v++)
        if (s->vlans[v >> 3] & (1u << (v & 7)))
            g_array_append_val(i->vlan_table, v);
    i->vlan = vlan ? RX_STATE_NORMAL : RX_STATE_ALL;
    return i;
}
