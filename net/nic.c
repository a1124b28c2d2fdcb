/*
 * The NIC side of the network layer: a NIC model's clients (one per queue) peered with
 * its backend's, QEMU's default MAC addresses, the receive-filter event and the
 * announcements (RARP as QEMU's qemu_announce_self sends, plus the NIC's own, e.g.
 * virtio-net's ANNOUNCE) that announce-self and migration use.
 */
#include "net-int.h"
#include "vireo/device.h"
#include <string.h>

static const uint8_t mac_base[5] = { 0x52, 0x54, 0x00, 0x12, 0x34 };

static bool mac_is_zero(const uint8_t *mac)
{
    static const uint8_t zero[6];
    return !memcmp(mac, zero, 6);
}

static void mac_mark(Machine *m, const uint8_t mac[6], int delta)
{
    NetState *s = net_state(m);
    if (memcmp(mac, mac_base, 5) || mac[5] < 0x56)
        return;
    if (delta > 0 || s->mac_used[mac[5]] > 0)
        s->mac_used[mac[5]] += delta;
}

void net_macaddr_default_if_unset(Machine *m, NicConf *conf)
{
    NetState *s = net_state(m);
    if (!mac_is_zero(conf->macaddr)) {
        mac_mark(m, conf->macaddr, 1);
        return;
    }
    unsigned idx = 0x56;
    while (idx < 0xff && s->mac_used[idx])
        idx++;
    memcpy(conf->macaddr, mac_base, 5);
    conf->macaddr[5] = idx;       /* 0xff when all are used, as QEMU's -1 wraps */
    mac_mark(m, conf->macaddr, 1);
}

void net_macaddr_release(Machine *m, const uint8_t mac[6])
{
    mac_mark(m, mac, -1);
}

NetClient *net_nic_queue(NicState *nic, unsigned i)
{
    return i < nic->queues ? nic->ncs[i] : NULL;
}

void net_nic_format_info(NicState *nic, const char *model)
{
    const uint8_t *a = nic->conf->macaddr;
    for (unsigned i = 0; i < nic->queues; i++)
        net_client_set_info(nic->ncs[i], "model=%s,macaddr=%02x:%02x:%02x:%02x:%02x:%02x",
                            model, a[0], a[1], a[2], a[3], a[4], a[5]);
}

NicState *net_nic_new(Machine *m, NicConf *conf, const NicOps *ops, const char *model,
                      const char *name, unsigned queues, void *opaque, GError **errp)
{
    g_assert(queues >= 1 && queues <= NET_MAX_QUEUES);
    NetBackend *nd = NULL;
    if (conf->netdev && !(nd = net_netdev_claim(m, conf->netdev, model, errp)))
        return NULL;
    NicState *nic = g_new0(NicState, 1);
    nic->conf = conf;
    nic->opaque = opaque;
    nic->queues = queues;
    nic->rx_filter_notify = true;
    nic->ops = (NetClientOps){ .kind = NET_KIND_NIC, .type = "nic", .receive = ops->receive,
                               .can_receive = ops->can_receive,
                               .link_status_changed = ops->link_status_changed };
    conf->peers = nd;
    for (unsigned i = 0; i < queues; i++) {
        NetClient *nc = net_client_new(m, &nic->ops, model, i ? nic->ncs[0]->name : name,
                                       nic);
        nc->queue_index = i;
        nic->ncs[i] = nc;
        if (nd && i < nd->queues && nd->nc[i])
            net_client_connect(nc, nd->nc[i]);
    }
    net_macaddr_default_if_unset(m, conf);
    net_nic_format_info(nic, model);
    g_ptr_array_add(net_state(m)->nics, nic);
    return nic;
}

void net_nic_free(NicState *nic)
{
    if (!nic)
        return;
    Machine *m = nic->ncs[0]->m;
    g_ptr_array_remove(net_state(m)->nics, nic);
    net_macaddr_release(m, nic->conf->macaddr);
    for (unsigned i = nic->queues; i-- > 0;)
        net_client_free(nic->ncs[i]);
    nic->conf->peers = NULL;
    g_free(nic);
}

/* ---- NIC_RX_FILTER_CHANGED ---- */

void net_nic_rx_filter_changed(NicState *nic)
{
    if (!nic->rx_filter_notify)
        return;
    nic->rx_filter_notify = false;
    Machine *m = nic->ncs[0]->m;
    g_autofree char *path = net_nic_qom_path(nic);
    qapi_event_send_nic_rx_filter_changed(m, nic->ncs[0]->name, path);
}

/* The device's QOM path as QEMU names it: /machine/peripheral/ID for a device with an
 * id, /machine/peripheral-anon/device[N] otherwise (N counting anonymous devices). */
char *net_nic_qom_path(NicState *nic)
{
    Device *dev = nic->device;
    if (!dev)
        return g_strdup("");
    if (dev->id)
        return g_strdup_printf("/machine/peripheral/%s", dev->id);
    GPtrArray *devs = dev->machine->devices;
    unsigned n = 0;
    for (guint i = 0; i < devs->len && devs->pdata[i] != dev; i++)
        if (!((Device *)devs->pdata[i])->id && ((Device *)devs->pdata[i])->cls->user_creatable)
            n++;
    return g_strdup_printf("/machine/peripheral-anon/device[%u]", n);
}

/* ---- announcements ---- */

size_t net_build_rarp(uint8_t *buf, const uint8_t mac[6])
{
    /* Ethernet broadcast, RARP (0x8035) "request reverse" for our own MAC (RFC 903):
     * switches learn where the MAC lives now. Padded to the 60-byte minimum. */
    memset(buf, 0, 60);
    memset(buf, 0xff, 6);
    memcpy(buf + 6, mac, 6);
    buf[12] = 0x80, buf[13] = 0x35;
    buf[14] = 0x00, buf[15] = 0x01;           /* hardware type: Ethernet */
    buf[16] = 0x08, buf[17] = 0x00;           /* protocol: IPv4 */
    buf[18] = 6, buf[19] = 4;
    buf[20] = 0x00, buf[21] = 0x03;           /* opcode: reverse request */
    memcpy(buf + 22, mac, 6);                 /* sender hardware address */
    memcpy(buf + 32, mac, 6);                 /* target hardware address */
    return 60;
}

void net_nic_set_announce(NicState *nic, void (*fn)(NicState *nic))
{
    nic->announce = fn;
}

void net_nic_announce(NicState *nic)
{
    /* Sent as the NIC's own packets are: after a (zero: no offload) virtio-net header
     * when it puts one on them, or a tap with vnet_hdr reads the frame's first bytes
     * as the header (and refuses it). */
    static const uint8_t hdr[NET_VNET_HDR_LEN];
    uint8_t buf[60];
    size_t len = net_build_rarp(buf, nic->conf->macaddr);
    NetClient *nc = nic->ncs[0];
    struct iovec iov[2] = { { (void *)hdr, sizeof(hdr) }, { buf, len } };
    if (nc->using_vnet_hdr)
        net_send(nc, iov, 2, NULL);
    else
        net_send(nc, iov + 1, 1, NULL);
    if (nic->announce)
        nic->announce(nic);
}

void net_announce_all(Machine *m, GPtrArray *names)
{
    GPtrArray *nics = net_state(m)->nics;
    for (guint i = 0; i < nics->len; i++) {
        NicState *nic = nics->pdata[i];
        bool skip = names != NULL;
        for (guint j = 0; names && j < names->len; j++)
            if (!strcmp(names->pdata[j], nic->ncs[0]->name))
                skip = false;
        if (!skip)
            net_nic_announce(nic);
    }
}
