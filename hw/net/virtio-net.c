/*
 * "virtio-net-pci": the virtio network device (virtio 1.2, 5.1) on the modern virtio-pci
 * transport. Queues: receiveq/transmitq pairs (one per backend queue, MQ), then the
 * control queue (virtio-net-ctrl.c). Every packet carries the 12-byte virtio_net_hdr
 * (5.1.6; num_buffers is always there with VERSION_1).
 *
 * With a tap backend that has IFF_VNET_HDR, the header goes to the host kernel as it is:
 * transmit hands the guest's buffers to writev() without a copy, and the checksum and
 * segmentation offloads (CSUM/HOST_TSO*, GUEST_CSUM/GUEST_TSO*) are offered and set on
 * the tap (TUNSETOFFLOAD). With any other backend the header is dropped on transmit,
 * zero on receive, and no offload is offered (as QEMU).
 *
 * Receive: a frame the guest's filter takes is copied into the receive queue's buffers
 * (several with MRG_RXBUF). When there are too few buffers the frame stays queued in the
 * network layer and notifications are enabled; the driver's next kick flushes it.
 * Transmit: requests go to the backend in bursts of tx_burst with notifications off;
 * a frame the backend queues (tap full) pauses the queue until it is delivered.
 * The guest is hostile: header lengths, buffer layouts and queue indexes are checked;
 * a request that breaks a rule breaks the queue (DEVICE_NEEDS_RESET), nothing spins.
 */
#include "virtio-net.h"
#include "vireo/machine.h"
#include "vireo/vhost-net.h"
#include <string.h>

#define VNET_HDR 12

static VirtioNet *vnet_of(NetClient *nc)
{
    return net_nic_of(nc)->opaque;
}

/* Copies @len bytes of @buf to offset @off of @e's device-writable buffers. */
static size_t to_in(VirtQueueElement *e, size_t off, const void *buf, size_t len)
{
    size_t done = 0;
    for (unsigned i = e->out_num; i < e->out_num + e->in_num && done < len; i++) {
        struct iovec *v = &e->iov[i];
        if (off >= v->iov_len) {
            off -= v->iov_len;
            continue;
        }
        size_t k = MIN(v->iov_len - off, len - done);
        memcpy((uint8_t *)v->iov_base + off, (const uint8_t *)buf + done, k);
        done += k;
        off = 0;
    }
    return done;
}

/* Copies from the iovec @src (from offset @soff) into @e's writable buffers at @doff. */
static size_t iov_to_in(VirtQueueElement *e, size_t doff, const struct iovec *src, int cnt,
                        size_t soff, size_t len)
{
    size_t done = 0;
    for (int i = 0; i < cnt && done < len; i++) {
        if (soff >= src[i].iov_len) {
            soff -= src[i].iov_len;
            continue;
        }
        size_t k = MIN(src[i].iov_len - soff, len - done);
        size_t w = to_in(e, doff + done, (const uint8_t *)src[i].iov_base + soff, k);
        done += w;
        if (w < k)
            break;
        soff = 0;
    }
    return done;
}

static void vnet_error(VirtioNet *n, unsigned q, const char *why)
{
    VirtQueue *vq = &n->vp.vq[q];
    if (!vq->broken) {
        vq->broken = true;
        vq->error = why;
    }
    virtio_queue_broken(&n->vp, q);
}

/* ---- receive ---- */

static bool vnet_can_receive(NetClient *nc)
{
    VirtioNet *n = vnet_of(nc);
    unsigned q = nc->queue_index;
    return q < n->s.curr_pairs && (n->vp.s.status & VIRTIO_STATUS_DRIVER_OK) &&
           n->vp.vq[2 * q].s.enabled && !n->vp.vq[2 * q].broken && !n->vp.reset_pending;
}

/* Takes buffers for @need bytes into @el (*@cnt of them). Returns 1, 0 (too few
 * buffers: given back), -1 (the queue broke) or -2 (the frame needs more than @max). */
static int rx_pop(VirtioNet *n, unsigned q, size_t need, VirtQueueElement **el,
                  unsigned max, unsigned *cnt)
{
    VirtQueue *vq = &n->vp.vq[2 * q];
    bool mrg = vnet_has(n, VIRTIO_NET_F_MRG_RXBUF);
    size_t have = 0;
    *cnt = 0;
    while (have < need && *cnt < max) {
        VirtQueueElement *e;
        int r = vq_pop(vq, &e);
        if (r < 0) {
            virtio_queue_broken(&n->vp, 2 * q);
            goto fail;
        }
        if (r == 0)
            break;
        if (!e->in_num || e->out_num) {
            g_free(e);
            vnet_error(n, 2 * q, "receive buffer without device-writable part");
            goto fail;
        }
        el[(*cnt)++] = e;
        have += e->in_len;
        if (!mrg)
            break;
    }
    if (*cnt && (have >= need || !mrg))
        return 1;
    bool hopeless = *cnt == max;
    while (*cnt)
        vq_unpop(vq, el[--*cnt]);
    return hopeless ? -2 : 0;
fail:
    while (*cnt)
        g_free(el[--*cnt]);
    return -1;
}

/* As rx_pop; when the buffers are too few, turns notifications on and looks once more
 * (the driver may have added some before it could see the request for a kick). */
static int rx_take(VirtioNet *n, unsigned q, size_t need, VirtQueueElement **el,
                   unsigned max, unsigned *cnt)
{
    VirtQueue *vq = &n->vp.vq[2 * q];
    int r = rx_pop(n, q, need, el, max, cnt);
    if (r != 0)
        return r;
    vq_set_notification(vq, true);
    r = rx_pop(n, q, need, el, max, cnt);
    if (r == 1)
        vq_set_notification(vq, false);   /* buffers are there: no kicks needed */
    return r;
}

static ssize_t vnet_receive(NetClient *nc, const struct iovec *iov, int iovcnt)
{
    VirtioNet *n = vnet_of(nc);
    unsigned q = nc->queue_index;
    VirtQueue *vq = &n->vp.vq[2 * q];
    size_t size = iov_size_n(iov, iovcnt), hoff = n->peer_vnet ? VNET_HDR : 0;
    uint8_t hdr[VNET_HDR] = { 0 }, head[18];
    if (size < hoff + 14)
        return size;                                 /* a runt: no Ethernet header */
    if (hoff)
        iov_to_buf_n(iov, iovcnt, 0, hdr, VNET_HDR);
    size_t plen = size - hoff, hl = iov_to_buf_n(iov, iovcnt, hoff, head, sizeof(head));
    if (!vnet_rx_filter(n, head, hl))
        return size;
    VirtQueueElement *el[64];
    unsigned cnt, max = vnet_has(n, VIRTIO_NET_F_MRG_RXBUF) ? G_N_ELEMENTS(el) : 1;
    int r = rx_take(n, q, VNET_HDR + plen, el, max, &cnt);
    if (r == -2)
        log_budget_warn(&n->log, "virtio-net: a %zu-byte frame needs more than %u receive "
                        "buffers; dropped", plen, max);
    if (r <= 0)
        return r < 0 ? (ssize_t)size : 0;
    if (el[cnt - 1]->in_len < 1 || (cnt == 1 && el[0]->in_len < VNET_HDR + plen &&
                                    !vnet_has(n, VIRTIO_NET_F_MRG_RXBUF))) {
        uint64_t have = el[0]->in_len;               /* too small, no merging: drop */
        for (unsigned j = cnt; j-- > 0;)
            vq_unpop(vq, el[j]);                     /* (frees the elements) */
        log_budget_warn(&n->log, "virtio-net: receive buffer of %" G_GUINT64_FORMAT
                        " bytes too small for a %zu-byte frame; dropped", have, plen);
        return size;
    }
    hdr[10] = cnt, hdr[11] = cnt >> 8;               /* num_buffers, le16 */
    /* The stream [0, total) is our header, then the frame; each buffer takes the next
     * piece of it. */
    size_t pos = 0, total = VNET_HDR + plen;
    uint32_t lens[64];
    for (unsigned i = 0; i < cnt; i++) {
        size_t k = MIN(el[i]->in_len, total - pos), w = 0;
        if (i == 0 && (w = to_in(el[0], 0, hdr, VNET_HDR)) < VNET_HDR) {
            for (unsigned j = cnt; j-- > 0;)
                vq_unpop(vq, el[j]);
            vnet_error(n, 2 * q, "receive buffer smaller than the virtio-net header");
            return size;
        }
        if (k > w)
            w += iov_to_in(el[i], w, iov, iovcnt, hoff + pos + w - VNET_HDR, k - w);
        lens[i] = w;
        pos += w;
    }
    for (unsigned i = 0; i < cnt; i++)
        vq_push(vq, el[i], lens[i]);
    virtio_notify(&n->vp, 2 * q);
    return size;
}

/* ---- transmit ---- */

static void vnet_flush_tx(VirtioNetQueue *q);

static void tx_done(NetClient *nc, ssize_t ret)
{
    VirtioNet *n = vnet_of(nc);
    VirtioNetQueue *q = &n->q[nc->queue_index];
    VirtQueue *vq = &n->vp.vq[2 * q->index + 1];
    if (!q->tx_waiting)
        return;
    vq_push(vq, q->tx_waiting, 0);
    q->tx_waiting = NULL;
    virtio_notify(&n->vp, 2 * q->index + 1);
    vnet_flush_tx(q);
}

static gboolean tx_continue(gpointer opaque)
{
    VirtioNetQueue *q = opaque;
    q->tx_idle = 0;
    vnet_flush_tx(q);
    return G_SOURCE_REMOVE;
}

/* Sends up to tx_burst requests; 1 when the burst ran out, 0 when the queue is empty,
 * -1 when it paused (a frame queued at the peer, or the queue broke). */
static int tx_burst(VirtioNetQueue *q)
{
    VirtioNet *n = q->n;
    unsigned qi = 2 * q->index + 1;
    VirtQueue *vq = &n->vp.vq[qi];
    NetClient *nc = net_nic_queue(n->nic, q->index);
    unsigned sent = 0;
    int ret = 0;
    while (!ret) {
        VirtQueueElement *e;
        if (sent >= (unsigned)n->tx_burst) {      /* >= 1 (realize) */
            ret = 1;
            break;
        }
        int r = vq_pop(vq, &e);
        if (r < 0) {
            virtio_queue_broken(&n->vp, qi);
            ret = -1;
            break;
        }
        if (r == 0)
            break;
        if (e->out_len < VNET_HDR || e->in_num) {
            g_free(e);
            vnet_error(n, qi, "transmit request without the virtio-net header, or with "
                       "device-writable buffers");
            ret = -1;
            break;
        }
        /* Skip the header unless the backend takes it (5.1.6.2 offloads are its job). */
        struct iovec v[e->out_num];
        int cnt = 0;
        size_t skip = n->peer_vnet ? 0 : VNET_HDR;
        for (unsigned i = 0; i < e->out_num; i++) {
            if (skip >= e->iov[i].iov_len) {
                skip -= e->iov[i].iov_len;
                continue;
            }
            v[cnt++] = (struct iovec){ (uint8_t *)e->iov[i].iov_base + skip,
                                       e->iov[i].iov_len - skip };
            skip = 0;
        }
        ssize_t s = net_send(nc, v, cnt, tx_done);
        if (s == 0) {
            q->tx_waiting = e;
            ret = -1;
            break;
        }
        if (s < 0)
            log_budget_warn(&n->log, "virtio-net: transmit of %" G_GUINT64_FORMAT
                            " bytes failed (%s); dropped", e->out_len, g_strerror(-s));
        vq_push(vq, e, 0);
        sent++;
    }
    if (sent)
        virtio_notify(&n->vp, qi);
    return ret;
}

static void vnet_flush_tx(VirtioNetQueue *q)
{
    VirtioNet *n = q->n;
    VirtQueue *vq = &n->vp.vq[2 * q->index + 1];
    if (q->tx_waiting || q->tx_idle || !(n->vp.s.status & VIRTIO_STATUS_DRIVER_OK) ||
        !vq->s.enabled || q->index >= n->s.curr_pairs)
        return;
    vq_set_notification(vq, false);
    for (;;) {
        int r = tx_burst(q);
        if (r < 0)
            return;                       /* notifications stay off until tx_done */
        if (r > 0) {                      /* let the rest of the main loop run */
            q->tx_idle = g_idle_add(tx_continue, q);
            return;
        }
        if (vq_budget_exhausted(vq))
            return;                       /* virtio-pci runs the queue again soon */
        vq_set_notification(vq, true);
        if (!vq_pending(vq))
            return;
        vq_set_notification(vq, false);
    }
}

static void vnet_handle_queue(VirtioPci *v, unsigned qi)
{
    VirtioNet *n = (VirtioNet *)v;
    if (qi == 2 * n->max_pairs) {
        vnet_handle_ctrl(n);
    } else if (qi % 2) {
        vnet_flush_tx(&n->q[qi / 2]);
    } else if (qi / 2 < n->s.curr_pairs) {
        /* New receive buffers: deliver what waited for them. */
        net_flush_queued(net_nic_queue(n->nic, qi / 2));
    }
}

/* ---- vhost-net: the host kernel moves the data queues while it can ---- */

static VhostNet *peer_vhost(VirtioNet *n, unsigned pair)
{
    NetClient *p = net_nic_queue(n->nic, pair)->peer;
    return p && p->ops->get_vhost ? p->ops->get_vhost(p) : NULL;
}

static void peer_poll(VirtioNet *n, unsigned pair, bool on)
{
    NetClient *p = net_nic_queue(n->nic, pair)->peer;
    if (p && p->ops->poll)
        p->ops->poll(p, on);
}

/* vhost runs while the driver is up, the link is up and every pair in use has it (as
 * QEMU: with the link down Vireo drops the frames itself). */
static unsigned vhost_wanted(VirtioNet *n)
{
    unsigned pairs = vnet_has(n, VIRTIO_NET_F_MQ) ? n->max_pairs : 1;
    if (!(n->vp.s.status & VIRTIO_STATUS_DRIVER_OK) || n->vp.reset_pending ||
        (n->vp.s.status & VIRTIO_STATUS_NEEDS_RESET) || n->nic->ncs[0]->link_down)
        return 0;
    for (unsigned i = 0; i < pairs; i++) {
        VirtQueue *rx = &n->vp.vq[2 * i], *tx = &n->vp.vq[2 * i + 1];
        if (!peer_vhost(n, i) || !rx->s.enabled || !tx->s.enabled || rx->broken ||
            tx->broken)
            return 0;
    }
    return pairs;
}

/* Takes the rings back: Vireo continues at vhost's next available index and at the used
 * index the ring shows. */
static void vhost_stop(VirtioNet *n)
{
    for (unsigned i = 0; i < n->vhost_pairs; i++) {
        uint16_t last[2] = { n->vp.vq[2 * i].s.last_avail_idx,
                             n->vp.vq[2 * i + 1].s.last_avail_idx };
        VhostNet *vh = peer_vhost(n, i);
        if (vh && vhost_net_running(vh))
            vhost_net_stop(vh, last);
        for (unsigned k = 0; k < 2; k++) {
            VirtQueue *vq = &n->vp.vq[2 * i + k];
            const uint16_t *used = as_ram_ptr(vq->as, vq->s.used + 2, 2);
            vq->s.last_avail_idx = last[k];
            if (used)
                vq->s.used_idx = le16toh(__atomic_load_n(used, __ATOMIC_ACQUIRE));
            vq->inflight = 0;
            vq->s.signalled_valid = 0;
            virtio_pci_return_notifier(&n->vp, 2 * i + k);
            virtio_pci_return_call(&n->vp, 2 * i + k);
        }
        peer_poll(n, i, true);
    }
    n->vhost_pairs = 0;
}

static bool vhost_start_pair(VirtioNet *n, unsigned i, GError **errp)
{
    VhostVring vr[2];
    VirtioNetQueue *q = &n->q[i];
    if (q->tx_waiting) {                  /* a frame Vireo had queued: complete it */
        net_purge_queued(net_nic_queue(n->nic, i));
        vq_push(&n->vp.vq[2 * i + 1], q->tx_waiting, 0);
        q->tx_waiting = NULL;
    }
    if (q->tx_idle)
        g_source_remove(q->tx_idle);
    q->tx_idle = 0;
    for (unsigned k = 0; k < 2; k++) {
        VirtQueue *vq = &n->vp.vq[2 * i + k];
        vr[k] = (VhostVring){ .num = vq->s.num, .desc = vq->s.desc, .avail = vq->s.avail,
                              .used = vq->s.used, .last_avail_idx = vq->s.last_avail_idx,
                              .kick = virtio_pci_take_notifier(&n->vp, 2 * i + k),
                              .call = virtio_pci_take_call(&n->vp, 2 * i + k) };
        if (vr[k].kick < 0 || vr[k].call < 0) {
            g_set_error(errp, G_IO_ERROR, G_IO_ERROR_FAILED, "no eventfd for queue %u",
                        2 * i + k);
            return false;
        }
    }
    peer_poll(n, i, false);
    n->vhost_pairs = i + 1;
    return vhost_net_start(peer_vhost(n, i), n->vp.s.driver_features, vr, errp);
}

static void vhost_update(VirtioNet *n)
{
    unsigned want = vhost_wanted(n);
    if (want == n->vhost_pairs)
        return;
    vhost_stop(n);
    for (unsigned i = 0; i < want; i++) {
        g_autoptr(GError) err = NULL;
        if (!vhost_start_pair(n, i, &err)) {
            log_budget_warn(&n->log, "virtio-net: unable to start vhost-net: %s; falling back "
                            "on userspace virtio", err->message);
            vhost_stop(n);
            break;
        }
    }
    if (!n->vhost_pairs && (n->vp.s.status & VIRTIO_STATUS_DRIVER_OK)) {
        for (unsigned i = 0; i < n->s.curr_pairs; i++) {   /* Vireo's turn: catch up */
            vnet_flush_tx(&n->q[i]);
            net_flush_queued(net_nic_queue(n->nic, i));
        }
    }
}

static void vnet_before_reset(VirtioPci *v)
{
    vhost_stop((VirtioNet *)v);
}

/* ---- configuration, status, features ---- */

static void vnet_config_read(VirtioPci *v)
{
    VirtioNet *n = (VirtioNet *)v;
    uint8_t *c = v->config;
    memcpy(c, n->s.mac, 6);
    c[6] = n->s.status, c[7] = n->s.status >> 8;
    c[8] = n->max_pairs, c[9] = n->max_pairs >> 8;
    c[10] = n->host_mtu, c[11] = n->host_mtu >> 8;
}

static void vnet_config_write(VirtioPci *v, unsigned off, unsigned len)
{
    vnet_config_read(v);          /* read-only for a VERSION_1 driver (5.1.4) */
}

static void vnet_link_changed(NetClient *nc)
{
    VirtioNet *n = vnet_of(nc);
    uint16_t old = n->s.status;
    vhost_update(n);
    if (nc->link_down)
        n->s.status &= ~VIRTIO_NET_S_LINK_UP;
    else
        n->s.status |= VIRTIO_NET_S_LINK_UP;
    if (old != n->s.status && vnet_has(n, VIRTIO_NET_F_STATUS))
        virtio_notify_config(&n->vp);
}

static void vnet_set_status(VirtioPci *v, uint8_t old)
{
    VirtioNet *n = (VirtioNet *)v;
    uint8_t now = v->s.status;
    if ((now & VIRTIO_STATUS_FEATURES_OK) && !(old & VIRTIO_STATUS_FEATURES_OK)) {
        memset(n->s.vlans, vnet_has(n, VIRTIO_NET_F_CTRL_VLAN) ? 0 : 0xff,
               sizeof(n->s.vlans));
        n->s.guest_offloads = v->s.driver_features &
            ((1ull << VIRTIO_NET_F_GUEST_CSUM) | (1ull << VIRTIO_NET_F_GUEST_TSO4) |
             (1ull << VIRTIO_NET_F_GUEST_TSO6) | (1ull << VIRTIO_NET_F_GUEST_ECN) |
             (1ull << VIRTIO_NET_F_GUEST_UFO));
        vnet_apply_offloads(n);
    }
    vnet_set_queue_pairs(n);
    vhost_update(n);
    if ((now & VIRTIO_STATUS_DRIVER_OK) && !(old & VIRTIO_STATUS_DRIVER_OK) && !n->vhost_pairs)
        for (unsigned i = 0; i < n->s.curr_pairs; i++)
            net_flush_queued(net_nic_queue(n->nic, i));
}

static void vnet_reset_dev(VirtioPci *v)
{
    VirtioNet *n = (VirtioNet *)v;
    for (unsigned i = 0; i < n->max_pairs; i++) {
        VirtioNetQueue *q = &n->q[i];
        if (q->tx_waiting) {               /* forget the frame queued at the peer */
            net_purge_queued(net_nic_queue(n->nic, i));
            g_free(q->tx_waiting);
            q->tx_waiting = NULL;
        }
        if (q->tx_idle)
            g_source_remove(q->tx_idle);
        q->tx_idle = 0;
        v->vq[2 * i].s.num = n->rx_queue_size;
        v->vq[2 * i + 1].s.num = n->tx_queue_size;
    }
    VirtioNetState *s = &n->s;
    uint8_t mac[6];
    memcpy(mac, n->conf.macaddr, 6);
    memset(s, 0, sizeof(*s));
    memcpy(s->mac, mac, 6);
    s->promisc = 1;                        /* until the driver sets a mode (QEMU) */
    s->curr_pairs = 1;
    s->status = n->nic && n->nic->ncs[0]->link_down ? 0 : VIRTIO_NET_S_LINK_UP;
    memset(s->vlans, 0xff, sizeof(s->vlans));
    if (n->nic) {
        vnet_apply_offloads(n);
        vnet_set_queue_pairs(n);
    }
}

/* The guest announces itself (gratuitous ARP) when asked (5.1.6.5.4). */
static void vnet_announce(NicState *nic)
{
    VirtioNet *n = nic->opaque;
    if (vnet_has(n, VIRTIO_NET_F_GUEST_ANNOUNCE) && vnet_has(n, VIRTIO_NET_F_CTRL_VQ) &&
        (n->vp.s.status & VIRTIO_STATUS_DRIVER_OK)) {
        n->s.status |= VIRTIO_NET_S_ANNOUNCE;
        virtio_notify_config(&n->vp);
    }
}

static uint64_t vnet_features(VirtioNet *n)
{
    const struct { bool on; unsigned bit; } f[] = {
        { n->csum, VIRTIO_NET_F_CSUM }, { n->guest_csum, VIRTIO_NET_F_GUEST_CSUM },
        { n->ctrl_guest_offloads, VIRTIO_NET_F_CTRL_GUEST_OFFLOADS },
        { n->host_mtu != 0, VIRTIO_NET_F_MTU }, { n->mac_f, VIRTIO_NET_F_MAC },
        { n->guest_tso4, VIRTIO_NET_F_GUEST_TSO4 }, { n->guest_tso6, VIRTIO_NET_F_GUEST_TSO6 },
        { n->guest_ecn, VIRTIO_NET_F_GUEST_ECN }, { n->guest_ufo, VIRTIO_NET_F_GUEST_UFO },
        { n->host_tso4, VIRTIO_NET_F_HOST_TSO4 }, { n->host_tso6, VIRTIO_NET_F_HOST_TSO6 },
        { n->host_ecn, VIRTIO_NET_F_HOST_ECN }, { n->host_ufo, VIRTIO_NET_F_HOST_UFO },
        { n->mrg_rxbuf, VIRTIO_NET_F_MRG_RXBUF }, { n->status_f, VIRTIO_NET_F_STATUS },
        { n->ctrl_vq, VIRTIO_NET_F_CTRL_VQ }, { n->ctrl_rx, VIRTIO_NET_F_CTRL_RX },
        { n->ctrl_vlan, VIRTIO_NET_F_CTRL_VLAN },
        { n->ctrl_rx_extra, VIRTIO_NET_F_CTRL_RX_EXTRA },
        { n->guest_announce, VIRTIO_NET_F_GUEST_ANNOUNCE }, { n->mq, VIRTIO_NET_F_MQ },
        { n->ctrl_mac_addr, VIRTIO_NET_F_CTRL_MAC_ADDR },
    };
    uint64_t feat = 0;
    for (unsigned i = 0; i < G_N_ELEMENTS(f); i++)
        if (f[i].on)
            feat |= 1ull << f[i].bit;
    /* "gso" off takes every segmentation offload away, as QEMU's property. */
    if (!n->gso)
        feat &= ~((1ull << VIRTIO_NET_F_HOST_TSO4) | (1ull << VIRTIO_NET_F_HOST_TSO6) |
                  (1ull << VIRTIO_NET_F_HOST_ECN) | (1ull << VIRTIO_NET_F_HOST_UFO) |
                  (1ull << VIRTIO_NET_F_GUEST_TSO4) | (1ull << VIRTIO_NET_F_GUEST_TSO6) |
                  (1ull << VIRTIO_NET_F_GUEST_ECN) | (1ull << VIRTIO_NET_F_GUEST_UFO));
    if (!n->peer_vnet)               /* offloads need the header on the backend's side */
        feat &= ~((1ull << VIRTIO_NET_F_CSUM) | (1ull << VIRTIO_NET_F_GUEST_CSUM) |
                  (1ull << VIRTIO_NET_F_HOST_TSO4) | (1ull << VIRTIO_NET_F_HOST_TSO6) |
                  (1ull << VIRTIO_NET_F_HOST_ECN) | (1ull << VIRTIO_NET_F_GUEST_TSO4) |
                  (1ull << VIRTIO_NET_F_GUEST_TSO6) | (1ull << VIRTIO_NET_F_GUEST_ECN));
    if (!n->peer_vnet || !net_peer_has_ufo(net_nic_queue(n->nic, 0)))
        feat &= ~((1ull << VIRTIO_NET_F_HOST_UFO) | (1ull << VIRTIO_NET_F_GUEST_UFO));
    /* Without checksum offload there is no segmentation offload (5.1.3.1). */
    if (!(feat & (1ull << VIRTIO_NET_F_CSUM)))
        feat &= ~((1ull << VIRTIO_NET_F_HOST_TSO4) | (1ull << VIRTIO_NET_F_HOST_TSO6) |
                  (1ull << VIRTIO_NET_F_HOST_ECN) | (1ull << VIRTIO_NET_F_HOST_UFO));
    if (!(feat & (1ull << VIRTIO_NET_F_GUEST_CSUM)))
        feat &= ~((1ull << VIRTIO_NET_F_GUEST_TSO4) | (1ull << VIRTIO_NET_F_GUEST_TSO6) |
                  (1ull << VIRTIO_NET_F_GUEST_ECN) | (1ull << VIRTIO_NET_F_GUEST_UFO));
    if (!(feat & (1ull << VIRTIO_NET_F_CTRL_VQ)))
        feat &= ~((1ull << VIRTIO_NET_F_CTRL_RX) | (1ull << VIRTIO_NET_F_CTRL_VLAN) |
                  (1ull << VIRTIO_NET_F_CTRL_RX_EXTRA) | (1ull << VIRTIO_NET_F_GUEST_ANNOUNCE) |
                  (1ull << VIRTIO_NET_F_MQ) | (1ull << VIRTIO_NET_F_CTRL_MAC_ADDR) |
                  (1ull << VIRTIO_NET_F_CTRL_GUEST_OFFLOADS));
    return feat;
}

static const NicOps vnet_nic_ops = {
    .receive = vnet_receive,
    .can_receive = vnet_can_receive,
    .link_status_changed = vnet_link_changed,
};

static bool check_queue_size(const char *name, uint16_t v, uint16_t max, GError **errp)
{
    if (v < 256 || v > max || (v & (v - 1))) {
        g_set_error(errp, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                    "Invalid %s (= %u), must be a power of 2 between 256 and %u", name, v,
                    max);
        return false;
    }
    return true;
}

static bool vnet_realize(Device *dev, GError **errp)
{
    VirtioNet *n = (VirtioNet *)dev;
    if (!check_queue_size("rx_queue_size", n->rx_queue_size, 1024, errp) ||
        !check_queue_size("tx_queue_size", n->tx_queue_size, 256, errp))
        return false;
    if (n->host_mtu && (n->host_mtu < 68 || n->host_mtu > 65535 - 14)) {
        g_set_error(errp, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                    "host_mtu=%u: must be between 68 and 65521", n->host_mtu);
        return false;
    }
    if (n->tx_burst < 1) {
        g_set_error(errp, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                    "x-txburst=%d: must be at least 1", n->tx_burst);
        return false;
    }
    unsigned pairs = n->conf.netdev ? 0 : 1;
    if (n->conf.netdev) {
        NetBackend *nd = net_netdev_find(dev->machine, n->conf.netdev);
        pairs = nd ? MAX(nd->queues, 1u) : 1;
    }
    if (pairs > VNET_MAX_PAIRS) {
        g_set_error(errp, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                    "virtio-net-pci: netdev '%s' has %u queues; at most %d queue pairs",
                    n->conf.netdev, pairs, VNET_MAX_PAIRS);
        return false;
    }
    n->max_pairs = pairs;
    n->nic = net_nic_new(dev->machine, &n->conf, &vnet_nic_ops, "virtio-net-pci", dev->id,
                         pairs, n, errp);
    if (!n->nic)
        return false;
    n->nic->device = dev;
    n->nic->query_rx_filter = vnet_query_rx_filter;
    net_nic_set_announce(n->nic, vnet_announce);
    n->peer_vnet = net_peer_has_vnet_hdr(n->nic->ncs[0]);
    for (unsigned i = 0; i < pairs; i++) {
        n->q[i] = (VirtioNetQueue){ .n = n, .index = i };
        net_peer_using_vnet_hdr(n->nic->ncs[i], n->peer_vnet);
    }
    n->log = (LogBudget)LOG_BUDGET_DEFAULT;
    n->info = (VirtioDeviceInfo){
        .name = "virtio-net-pci", .device_id = VIRTIO_ID_NET, .class_code = 0x020000,
        .num_queues = 2 * pairs + (n->ctrl_vq ? 1 : 0),
        .queue_size = MAX(n->rx_queue_size, n->tx_queue_size),
        .features = vnet_features(n), .config_size = VNET_CONFIG_SIZE,
        .handle_queue = vnet_handle_queue, .config_read = vnet_config_read,
        .config_write = vnet_config_write, .reset = vnet_reset_dev,
        .set_status = vnet_set_status, .before_reset = vnet_before_reset,
        /* QEMU 7.2's pc-i440fx-7.2: iPXE's virtio-net driver with its UEFI one. Its
         * image says 1af4:1000 (transitional); the ROM code patches in 1af4:1041. */
        .romfile = "efi-virtio.rom", .romfile_package = "ipxe-qemu",
        .romfile_firmware_only = true,
    };
    if (!virtio_pci_realize(&n->vp, &n->info, errp)) {
        net_nic_free(n->nic);
        n->nic = NULL;
        return false;
    }
    /* QEMU's virtio-net realize: the proxy's PCI path plus "/ethernet-phy@0". */
    n->conf.boot_path = pci_add_boot_device(&n->vp.pci, n->conf.bootindex, "ethernet",
                                            "/ethernet-phy@0");
    return true;
}

static void vnet_reset(Device *dev)
{
    VirtioNet *n = (VirtioNet *)dev;
    pci_device_reset(&n->vp.pci);
    virtio_pci_reset(&n->vp);
}

static void vnet_unrealize(Device *dev)
{
    VirtioNet *n = (VirtioNet *)dev;
    if (n->info.name) {
        vhost_stop(n);
        vnet_reset_dev(&n->vp);            /* drops what waits at the peer */
    }
    virtio_pci_unrealize(&n->vp);
    machine_remove_boot_device(dev->machine, n->conf.boot_path);
    g_clear_pointer(&n->conf.boot_path, g_free);
    net_nic_free(n->nic);
    n->nic = NULL;
}

/* After the state was loaded: the backend's offloads and queues follow it. */
static void vnet_post_load(Device *dev)
{
    VirtioNet *n = (VirtioNet *)dev;
    if (n->s.curr_pairs < 1 || n->s.curr_pairs > n->max_pairs)
        n->s.curr_pairs = 1;
    n->s.mac_in_use = MIN(n->s.mac_in_use, (uint32_t)VNET_MAC_TABLE);
    n->s.mac_first_multi = MIN(n->s.mac_first_multi, n->s.mac_in_use);
    memcpy(n->conf.macaddr, n->s.mac, 6);
    vnet_apply_offloads(n);
    vnet_set_queue_pairs(n);
}

static const VMStateDesc vnet_vmsd = {
    .name = "virtio-net",
    .version = 1,
    .min_version = 1,
    .fields = (const VMStateField[]){
        VMS_BUF(VirtioNetState, mac),
        VMS_FIELD(VirtioNetState, status),
        VMS_FIELD(VirtioNetState, curr_pairs),
        VMS_FIELD(VirtioNetState, promisc),
        VMS_FIELD(VirtioNetState, allmulti),
        VMS_FIELD(VirtioNetState, alluni),
        VMS_FIELD(VirtioNetState, nomulti),
        VMS_FIELD(VirtioNetState, nouni),
        VMS_FIELD(VirtioNetState, nobcast),
        VMS_FIELD(VirtioNetState, uni_overflow),
        VMS_FIELD(VirtioNetState, multi_overflow),
        VMS_FIELD(VirtioNetState, mac_in_use),
        VMS_FIELD(VirtioNetState, mac_first_multi),
        VMS_BUF(VirtioNetState, macs),
        VMS_BUF(VirtioNetState, vlans),
        VMS_FIELD(VirtioNetState, guest_offloads),
        VMS_END,
    },
};

#define FEATURE(name, field, help) PROP(name, PROP_BOOL, VirtioNet, field, "on", help)

static const Property vnet_props[] = {
    NIC_PROPS(VirtioNet, conf),
    VIRTIO_PCI_DEVICE_PROPS(VirtioNet, vp),
    FEATURE("csum", csum, "checksum offload of transmitted packets (VIRTIO_NET_F_CSUM)"),
    FEATURE("guest_csum", guest_csum, "partial checksums to the guest (GUEST_CSUM)"),
    FEATURE("gso", gso, "any segmentation offload (off clears all of them)"),
    FEATURE("guest_tso4", guest_tso4, "TCPv4 segmentation offload to the guest"),
    FEATURE("guest_tso6", guest_tso6, "TCPv6 segmentation offload to the guest"),
    FEATURE("guest_ecn", guest_ecn, "TSO with ECN to the guest"),
    FEATURE("guest_ufo", guest_ufo, "UDP fragmentation offload to the guest"),
    FEATURE("guest_announce", guest_announce, "the guest announces itself when asked"),
    FEATURE("host_tso4", host_tso4, "TCPv4 segmentation offload of transmitted packets"),
    FEATURE("host_tso6", host_tso6, "TCPv6 segmentation offload of transmitted packets"),
    FEATURE("host_ecn", host_ecn, "TSO with ECN of transmitted packets"),
    FEATURE("host_ufo", host_ufo, "UDP fragmentation offload of transmitted packets"),
    FEATURE("mrg_rxbuf", mrg_rxbuf, "a received packet may span several buffers"),
    FEATURE("status", status_f, "link status in the configuration (STATUS)"),
    FEATURE("ctrl_vq", ctrl_vq, "the control queue"),
    FEATURE("ctrl_rx", ctrl_rx, "receive mode control (promiscuous, all-multicast)"),
    FEATURE("ctrl_vlan", ctrl_vlan, "VLAN filtering"),
    FEATURE("ctrl_rx_extra", ctrl_rx_extra, "extra receive modes (all-unicast, no-broadcast)"),
    FEATURE("ctrl_mac_addr", ctrl_mac_addr, "MAC address set through the control queue"),
    FEATURE("ctrl_guest_offloads", ctrl_guest_offloads, "guest offloads set at run time"),
    PROP("mq", PROP_BOOL, VirtioNet, mq, "off", "multiqueue (one pair per backend queue)"),
    PROP("x-mac", PROP_BOOL, VirtioNet, mac_f, "on", "the MAC in the configuration"),
    PROP("rx_queue_size", PROP_U16, VirtioNet, rx_queue_size, "256",
         "receive queue size (power of 2, 256..1024)"),
    PROP("tx_queue_size", PROP_U16, VirtioNet, tx_queue_size, "256", "transmit queue size"),
    PROP("host_mtu", PROP_U16, VirtioNet, host_mtu, "0",
         "MTU advertised to the guest (VIRTIO_NET_F_MTU; 0: none)"),
    PROP("x-txburst", PROP_I32, VirtioNet, tx_burst, "256",
         "transmitted packets per round before other work runs"),
    PROP_END,
};

/* QEMU's abstract parent of virtio-net-pci (and its transitional variants). */
const DeviceClass virtio_net_pci_base_class = {
    .name = "virtio-net-pci-base", .parent = &virtio_pci_class, .abstract = true,
    .bus = BUS_PCI, .props = virtio_pci_generic_props,
};

const DeviceClass virtio_net_pci_class = {
    .name = "virtio-net-pci",
    .parent = &virtio_net_pci_base_class,
    .desc = "virtio network device (virtio-pci, modern)",
    .bus = BUS_PCI,
    .instance_size = sizeof(VirtioNet),
    .props = vnet_props,
    .user_creatable = true,
    .realize = vnet_realize,
    .reset = vnet_reset,
    .unrealize = vnet_unrealize,
    .vmsd = &vnet_vmsd,
    .state_offset = offsetof(VirtioNet, s),
    .post_load = vnet_post_load,
};
