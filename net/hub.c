/*
 * Hubs: what one port receives goes out of every other port (QEMU's net/hub.c model).
 * The legacy "-net nic -net user" form puts both on hub 0; -netdev hubport,hubid=N adds
 * a port explicitly. A hub port can receive while any other port's peer can.
 */
#include "net-int.h"
#include <string.h>

struct NetHub {
    int id;
    GPtrArray *ports;               /* NetClient * (kind HUBPORT) */
    unsigned num_ports;             /* ports ever added: names hubNportM */
};

static NetHub *port_hub(NetClient *port)
{
    return port->opaque;
}

static ssize_t port_receive(NetClient *nc, const struct iovec *iov, int iovcnt)
{
    NetHub *hub = port_hub(nc);
    size_t len = iov_size_n(iov, iovcnt);
    for (guint i = 0; i < hub->ports->len; i++) {
        NetClient *p = hub->ports->pdata[i];
        if (p != nc)
            net_send(p, iov, iovcnt, NULL);
    }
    return len;
}

static bool port_can_receive(NetClient *nc)
{
    NetHub *hub = port_hub(nc);
    for (guint i = 0; i < hub->ports->len; i++) {
        NetClient *p = hub->ports->pdata[i];
        if (p != nc && net_can_send(p))
            return true;
    }
    return false;
}

static void port_cleanup(NetClient *nc)
{
    NetHub *hub = port_hub(nc);
    if (hub)
        g_ptr_array_remove(hub->ports, nc);
}

static const NetClientOps hubport_ops = {
    .kind = NET_KIND_HUBPORT,
    .type = "hubport",
    .receive = port_receive,
    .can_receive = port_can_receive,
    .cleanup = port_cleanup,
};

static NetHub *hub_get(Machine *m, int id)
{
    GPtrArray *hubs = net_state(m)->hubs;
    for (guint i = 0; i < hubs->len; i++)
        if (((NetHub *)hubs->pdata[i])->id == id)
            return hubs->pdata[i];
    NetHub *h = g_new0(NetHub, 1);
    h->id = id;
    h->ports = g_ptr_array_new();
    g_ptr_array_insert(hubs, 0, h);           /* newest first, as QEMU's lists */
    return h;
}

NetClient *net_hub_add_port(Machine *m, int hub_id, const char *name, GError **errp)
{
    if (name && net_client_find(m, name)) {
        g_set_error(errp, G_IO_ERROR, G_IO_ERROR_EXISTS, "Duplicate ID '%s' for netdev",
                    name);
        return NULL;
    }
    NetHub *hub = hub_get(m, hub_id);
    g_autofree char *def = g_strdup_printf("hub%dport%u", hub_id, hub->num_ports++);
    NetClient *nc = net_client_new(m, &hubport_ops, "hub", name ? name : def, hub);
    g_ptr_array_insert(hub->ports, 0, nc);    /* newest first ("info network") */
    return nc;
}

bool net_hub_owns(NetClient *nc)
{
    return nc->ops->kind == NET_KIND_HUBPORT ||
           (nc->peer && nc->peer->ops->kind == NET_KIND_HUBPORT);
}

void net_hub_flush(NetClient *port)
{
    NetHub *hub = port_hub(port);
    for (guint i = 0; i < hub->ports->len; i++) {
        NetClient *p = hub->ports->pdata[i];
        if (p != port && net_queued(p))
            net_flush_queued(p);
    }
}

void net_hub_info(Machine *m, GString *out)
{
    GPtrArray *hubs = net_state(m)->hubs;
    for (guint i = 0; i < hubs->len; i++) {
        NetHub *hub = hubs->pdata[i];
        g_string_append_printf(out, "hub %d\n", hub->id);
        for (guint j = 0; j < hub->ports->len; j++) {
            NetClient *p = hub->ports->pdata[j];
            g_string_append_printf(out, " \\ %s", p->name);
            if (p->peer) {
                g_string_append(out, ": ");
                net_print_client(p->peer, out);
            } else {
                g_string_append_c(out, '\n');
            }
        }
    }
}

/* QEMU's net_check_clients(): a hub with NICs but no backend (or the reverse), or a
 * backend nobody uses, is legal but usually a mistake. Runs after every device. */
void net_check_clients(Machine *m)
{
    GPtrArray *hubs = net_state(m)->hubs;
    for (guint i = 0; i < hubs->len; i++) {
        NetHub *hub = hubs->pdata[i];
        bool nic = false, host = false;
        for (guint j = 0; j < hub->ports->len; j++) {
            NetClient *peer = ((NetClient *)hub->ports->pdata[j])->peer;
            if (!peer)
                continue;
            if (peer->ops->kind == NET_KIND_NIC)
                nic = true;
            else if (peer->ops->kind != NET_KIND_HUBPORT)
                host = true;
        }
        if (host && !nic)
            g_printerr("vireo: warning: hub %d with no nics\n", hub->id);
        if (nic && !host)
            g_printerr("vireo: warning: hub %d is not connected to host network\n",
                       hub->id);
    }
    GPtrArray *reqs = net_state(m)->nic_requests;
    if (reqs && reqs->len)                /* a board without PCI (none) made no NICs */
        g_printerr("vireo: warning: %u requested NIC(s) not created (not supported by "
                   "machine '%s'?)\n", reqs->len, m->cls ? m->cls->name : "?");
    GPtrArray *nds = net_state(m)->netdevs;
    for (guint i = 0; i < nds->len; i++) {
        NetBackend *nd = nds->pdata[i];
        if (nd->user_created && nd->nc[0] && !nd->nc[0]->peer &&
            nd->nc[0]->ops->kind != NET_KIND_HUBPORT)
            g_printerr("vireo: warning: netdev %s has no peer\n", nd->id);
    }
}

void net_hubs_free(Machine *m)
{
    GPtrArray *hubs = net_state(m)->hubs;
    while (hubs->len) {
        NetHub *hub = hubs->pdata[hubs->len - 1];
        while (hub->ports->len) {
            NetClient *p = hub->ports->pdata[hub->ports->len - 1];
            g_ptr_array_remove_index(hub->ports, hub->ports->len - 1);
            p->opaque = NULL;
            net_client_free(p);
        }
        g_ptr_array_free(hub->ports, TRUE);
        g_ptr_array_remove_index(hubs, hubs->len - 1);
        g_free(hub);
    }
}
