/*
 * Network clients (include/vireo/net.h): peers, sending and queueing, link state,
 * the machine's client list and "info network".
 */
#include "net-int.h"
#include <errno.h>
#include <stdarg.h>
#include <string.h>

NetState *net_state(Machine *m)
{
    if (!m->net) {
        NetState *s = g_new0(NetState, 1);
        s->clients = g_ptr_array_new();
        s->netdevs = g_ptr_array_new();
        s->hubs = g_ptr_array_new();
        s->nics = g_ptr_array_new();
        s->log = (LogBudget)LOG_BUDGET_DEFAULT;
        m->net = s;
    }
    return m->net;
}

GPtrArray *net_clients(Machine *m)
{
    return net_state(m)->clients;
}

GPtrArray *net_netdevs(Machine *m)
{
    return net_state(m)->netdevs;
}

NetClient *net_client_find(Machine *m, const char *name)
{
    GPtrArray *a = net_clients(m);
    for (guint i = 0; i < a->len; i++) {
        NetClient *nc = a->pdata[i];
        if (!strcmp(nc->name, name))
            return nc;
    }
    return NULL;
}

/* QEMU's assign_name(): "MODEL.N", N counting the clients of that model. */
static char *assign_name(Machine *m, const char *model)
{
    GPtrArray *a = net_clients(m);
    unsigned id = 0;
    for (guint i = 0; i < a->len; i++) {
        NetClient *nc = a->pdata[i];
        if (!strcmp(nc->model, model))
            id++;
    }
    return g_strdup_printf("%s.%u", model, id);
}

NetClient *net_client_new(Machine *m, const NetClientOps *ops, const char *model,
                          const char *name, void *opaque)
{
    NetClient *nc = g_new0(NetClient, 1);
    nc->ops = ops;
    nc->m = m;
    nc->model = g_strdup(model);
    nc->name = name ? g_strdup(name) : assign_name(m, model);
    nc->opaque = opaque;
    nc->incoming = net_queue_new();
    g_ptr_array_add(net_clients(m), nc);
    return nc;
}

void net_client_set_info(NetClient *nc, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    g_vsnprintf(nc->info_str, sizeof(nc->info_str), fmt, ap);
    va_end(ap);
}

void net_client_connect(NetClient *a, NetClient *b)
{
    g_assert(!a->peer && !b->peer);
    a->peer = b;
    b->peer = a;
}

void net_client_disconnect(NetClient *nc)
{
    NetClient *peer = nc->peer;
    if (!peer)
        return;
    net_queue_purge(peer->incoming, nc, false);   /* what we sent, not yet delivered */
    net_queue_purge(nc->incoming, NULL, true);    /* what the peer sent: let it go on */
    peer->peer = NULL;
    nc->peer = NULL;
}

void net_client_free(NetClient *nc)
{
    if (!nc)
        return;
    net_client_disconnect(nc);
    if (nc->ops->cleanup)
        nc->ops->cleanup(nc);
    net_queue_free(nc->incoming);
    g_ptr_array_remove(net_clients(nc->m), nc);
    g_free(nc->name);
    g_free(nc->model);
    g_free(nc);
}

/* ---- packets ---- */

size_t iov_size_n(const struct iovec *iov, int cnt)
{
    size_t n = 0;
    for (int i = 0; i < cnt; i++)
        n += iov[i].iov_len;
    return n;
}

size_t iov_to_buf_n(const struct iovec *iov, int cnt, size_t off, void *buf, size_t len)
{
    size_t done = 0;
    for (int i = 0; i < cnt && done < len; i++) {
        if (off >= iov[i].iov_len) {
            off -= iov[i].iov_len;
            continue;
        }
        size_t n = MIN(iov[i].iov_len - off, len - done);
        memcpy((uint8_t *)buf + done, (uint8_t *)iov[i].iov_base + off, n);
        done += n;
        off = 0;
    }
    return done;
}

static bool can_deliver(NetClient *nc)
{
    return !nc->receive_disabled && net_queue_len(nc->incoming) == 0 &&
           (!nc->ops->can_receive || nc->ops->can_receive(nc));
}

bool net_can_send(NetClient *sender)
{
    NetClient *peer = sender->peer;
    return !peer || peer->link_down || can_deliver(peer);
}

ssize_t net_send(NetClient *sender, const struct iovec *iov, int iovcnt, NetSentCb *sent)
{
    NetClient *peer = sender->peer;
    size_t len = iov_size_n(iov, iovcnt);
    if (sender->link_down || !peer || peer->link_down)
        return len;                       /* a wire with nobody listening */
    if (len > NET_MAX_FRAME)
        return -EMSGSIZE;
    if (can_deliver(peer)) {
        ssize_t r = peer->ops->receive(peer, iov, iovcnt);
        if (r != 0)
            return r;
        peer->receive_disabled = true;
    }
    if (!net_queue_append(peer->incoming, sender, iov, iovcnt, len, sent))
        return len;                       /* queue full: dropped, as a full FIFO */
    return 0;
}

ssize_t net_send_buf(NetClient *sender, const void *buf, size_t len, NetSentCb *sent)
{
    struct iovec iov = { (void *)buf, len };
    return net_send(sender, &iov, 1, sent);
}

unsigned net_flush_queued(NetClient *nc)
{
    nc->receive_disabled = false;
    unsigned n = net_queue_flush(nc->incoming, nc);
    /* Behind a hub, senders wait at the other ports: let them try again. */
    if (nc->peer && nc->peer->ops->kind == NET_KIND_HUBPORT && !nc->receive_disabled)
        net_hub_flush(nc->peer);
    return n;
}

void net_purge_queued(NetClient *nc)
{
    net_queue_purge(nc->incoming, NULL, true);
    if (nc->peer)
        net_queue_purge(nc->peer->incoming, nc, false);
}

unsigned net_queued(NetClient *nc)
{
    return net_queue_len(nc->incoming);
}

/* ---- link state ---- */

static void set_link(NetClient *nc, bool down)
{
    nc->link_down = down;
    if (nc->ops->link_status_changed)
        nc->ops->link_status_changed(nc);
}

bool net_set_link(Machine *m, const char *name, bool up, GError **errp)
{
    GPtrArray *a = net_clients(m);
    GPtrArray *hits = g_ptr_array_new();
    for (guint i = 0; i < a->len; i++) {
        NetClient *nc = a->pdata[i];
        if (!strcmp(nc->name, name))
            g_ptr_array_add(hits, nc);
    }
    if (!hits->len) {
        g_ptr_array_free(hits, TRUE);
        g_set_error(errp, G_IO_ERROR, G_IO_ERROR_NOT_FOUND,
                    "Device '%s' not found", name);
        return false;
    }
    for (guint i = 0; i < hits->len; i++)
        ((NetClient *)hits->pdata[i])->link_down = !up;
    NetClient *first = hits->pdata[0];
    if (first->ops->link_status_changed)
        first->ops->link_status_changed(first);
    /* A backend's NIC peer follows (the guest sees the carrier); a hub port or a
     * backend peer keeps its state (so hub members still talk), as in QEMU. */
    if (first->peer) {
        if (first->peer->ops->kind == NET_KIND_NIC)
            for (guint i = 0; i < hits->len; i++) {
                NetClient *p = ((NetClient *)hits->pdata[i])->peer;
                if (p)
                    p->link_down = !up;
            }
        if (first->peer->ops->link_status_changed)
            first->peer->ops->link_status_changed(first->peer);
    }
    g_ptr_array_free(hits, TRUE);
    return true;
}

void net_backend_failed(NetClient *nc, const char *why)
{
    log_budget_warn(&net_state(nc->m)->log, "netdev %s: %s; link down", nc->name, why);
    if (nc->link_down)
        return;
    set_link(nc, true);
    if (nc->peer && nc->peer->ops->kind == NET_KIND_NIC && !nc->peer->link_down)
        set_link(nc->peer, true);
}

/* ---- the NIC's view of its backend ---- */

bool net_peer_has_vnet_hdr(NetClient *nic)
{
    NetClient *p = nic->peer;
    return p && p->ops->has_vnet_hdr && p->ops->has_vnet_hdr(p);
}

bool net_peer_has_ufo(NetClient *nic)
{
    NetClient *p = nic->peer;
    return p && p->ops->has_ufo && p->ops->has_ufo(p);
}

void net_peer_using_vnet_hdr(NetClient *nic, bool on)
{
    NetClient *p = nic->peer;
    nic->using_vnet_hdr = on;
    if (p && p->ops->using_vnet_hdr)
        p->ops->using_vnet_hdr(p, on);
}

void net_peer_set_offload(NetClient *nic, const NetOffloads *o)
{
    NetClient *p = nic->peer;
    if (p && p->ops->set_offload)
        p->ops->set_offload(p, o);
}

void net_peer_set_queue_enabled(NetClient *nic, bool on)
{
    NetClient *p = nic->peer;
    if (p && p->ops->set_queue_enabled)
        p->ops->set_queue_enabled(p, on);
}

/* ---- info network (QEMU's hmp_info_network) ---- */

static const char *const kind_names[] = {
    [NET_KIND_NIC] = "nic", [NET_KIND_USER] = "user", [NET_KIND_TAP] = "tap",
    [NET_KIND_SOCKET] = "socket", [NET_KIND_STREAM] = "stream", [NET_KIND_DGRAM] = "dgram",
    [NET_KIND_HUBPORT] = "hubport",
};

void net_print_client(NetClient *nc, GString *out)
{
    g_string_append_printf(out, "%s: index=%u,type=%s,%s\n", nc->name, nc->queue_index,
                           kind_names[nc->ops->kind], nc->info_str);
}

void net_info_network(Machine *m, GString *out)
{
    net_hub_info(m, out);
    GPtrArray *a = net_clients(m);
    for (guint i = 0; i < a->len; i++) {
        NetClient *nc = a->pdata[i], *peer = nc->peer;
        if (net_hub_owns(nc))
            continue;
        bool nic = nc->ops->kind == NET_KIND_NIC;
        if (!peer || nic)
            net_print_client(nc, out);
        if (peer && nic) {
            g_string_append(out, " \\ ");
            net_print_client(peer, out);
        }
    }
}

void net_cleanup(Machine *m)
{
    NetState *s = m->net;
    if (!s)
        return;
    net_announce_free(m);
    while (s->netdevs->len)
        net_netdev_free(m, s->netdevs->pdata[s->netdevs->len - 1]);
    net_hubs_free(m);
    while (s->clients->len)
        net_client_free(s->clients->pdata[s->clients->len - 1]);
    g_ptr_array_free(s->clients, TRUE);
    g_ptr_array_free(s->netdevs, TRUE);
    g_ptr_array_free(s->hubs, TRUE);
    g_ptr_array_free(s->nics, TRUE);
    g_free(s);
    m->net = NULL;
}
