/*
 * Backends from options: -netdev (QemuOpts-style keyval, or JSON as libvirt passes it,
 * or keyval with dotted keys for stream/dgram as QEMU 7.2's "modern" syntax), QMP
 * netdev_add, the -nic shorthand and the legacy -net form with hubs, and QEMU's default
 * NIC. Every form is parsed into the QAPI union Netdev (qapi/schema/net.json) by the
 * generated parser, so the same rules and messages apply everywhere.
 *
 * Order of creation as QEMU 7.2's net_init_clients(): every -netdev, then every -nic,
 * then every -net; NICs named by -nic/-net (and the default one) are created by the
 * board before -device devices, in that order, with their MACs taken in that order.
 */
#include "net-int.h"
#include "vireo/device.h"
#include <stdio.h>
#include <string.h>

typedef struct NetOpt {
    char *text;
    JsonObject *obj;
    bool kv;
} NetOpt;

struct NetOptions {
    GPtrArray *netdevs, *nics, *nets;     /* NetOpt * */
    bool any;                             /* -net/-nic/-netdev given (no default NIC) */
    bool want_models, want_backends;      /* model=help, -netdev help */
};

/* A NIC the board creates (-nic, -net nic, the default one). */
typedef struct NicRequest {
    char *model;                          /* NULL: the board's default (e1000) */
    char *netdev;                         /* backend id (a hub port for -net) */
    char *addr;
    uint8_t mac[6];
    uint32_t vectors;
    bool has_vectors;
} NicRequest;

static void net_opt_free(gpointer p)
{
    NetOpt *o = p;
    g_free(o->text);
    if (o->obj)
        json_object_unref(o->obj);
    g_free(o);
}

NetOptions *net_options_new(void)
{
    NetOptions *o = g_new0(NetOptions, 1);
    o->netdevs = g_ptr_array_new_with_free_func(net_opt_free);
    o->nics = g_ptr_array_new_with_free_func(net_opt_free);
    o->nets = g_ptr_array_new_with_free_func(net_opt_free);
    return o;
}

void net_options_free(NetOptions *o)
{
    if (!o)
        return;
    g_ptr_array_free(o->netdevs, TRUE);
    g_ptr_array_free(o->nics, TRUE);
    g_ptr_array_free(o->nets, TRUE);
    g_free(o);
}

bool net_options_any(const NetOptions *o) { return o && o->any; }
bool net_options_want_help(const NetOptions *o)
{
    return o && (o->want_models || o->want_backends);
}

/* ---- parsing ---- */

static bool is_help(const char *s)
{
    return s && (!strcmp(s, "help") || !strcmp(s, "?"));
}

/* QemuOpts list members (repeatable keys): the values become [ { "str": V } ]. */
static const char *const list_keys[] = { "hostfwd", "guestfwd", "dnssearch", NULL };

static JsonNode *string_obj(const char *s)
{
    JsonObject *o = json_object_new();
    json_object_set_string_member(o, "str", s);
    return json_node_init_object(json_node_alloc(), o);
}

/* Keyval text to the shape of the QAPI type: list members as String objects, the last
 * value of any other repeated key, ipv6-net=PREFIX/LEN split as QEMU does. */
static bool normalize_kv(JsonObject *o, GError **errp)
{
    g_autoptr(GList) members = json_object_get_members(o);
    g_autoptr(GPtrArray) keys = g_ptr_array_new_with_free_func(g_free);
    for (GList *l = members; l; l = l->next)
        g_ptr_array_add(keys, g_strdup(l->data));
    for (guint i = 0; i < keys->len; i++) {
        const char *k = keys->pdata[i];
        JsonNode *v = json_object_get_member(o, k);
        bool list = g_strv_contains(list_keys, k);
        if (JSON_NODE_HOLDS_ARRAY(v) && !list) {
            JsonArray *a = json_node_get_array(v);
            json_object_set_string_member(o, k, json_array_get_string_element(
                                              a, json_array_get_length(a) - 1));
        } else if (list) {
            JsonArray *out = json_array_new();
            if (JSON_NODE_HOLDS_ARRAY(v)) {
                JsonArray *a = json_node_get_array(v);
                for (guint j = 0; j < json_array_get_length(a); j++)
                    json_array_add_element(out, string_obj(
                                               json_array_get_string_element(a, j)));
            } else {
                json_array_add_element(out, string_obj(json_node_get_string(v)));
            }
            json_object_set_array_member(o, k, out);
        }
    }
    const char *net6 = kv_get_str(o, "ipv6-net");
    if (net6) {
        g_auto(GStrv) parts = g_strsplit(net6, "/", 2);
        uint64_t len = 64;                    /* QEMU's default prefix length */
        if (parts[1] && (!str_to_u64(parts[1], &len) || len > 128)) {
            g_set_error(errp, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                        "Parameter 'ipv6-prefixlen' expects a number");
            return false;
        }
        json_object_set_string_member(o, "ipv6-prefix", parts[0]);
        g_autofree char *n = g_strdup_printf("%" G_GUINT64_FORMAT, len);
        json_object_set_string_member(o, "ipv6-prefixlen", n);
        json_object_remove_member(o, "ipv6-net");
    }
    return true;
}

/* Parses a -netdev / -net / -nic argument. Keyval text is QemuOpts-style (flat keys,
 * short booleans, repeatable list keys) except for stream and dgram, which QEMU 7.2
 * parses with keyval proper (dotted keys: addr.type=inet,addr.host=...). */
JsonObject *net_parse_netdev_text(const char *opt, const char *arg, bool *kv, bool *help,
                                  GError **errp)
{
    bool json;
    JsonObject *o = option_parse(opt, arg, "type",
                                 KEYVAL_FLAT | KEYVAL_SHORT_BOOLS | KEYVAL_REPEAT, help,
                                 &json, errp);
    if (!o)
        return NULL;
    *kv = !json;
    if (json)
        return o;
    const char *type = kv_get_str(o, "type");
    if (type && (!strcmp(type, "stream") || !strcmp(type, "dgram"))) {
        json_object_unref(o);
        return option_parse(opt, arg, "type", 0, help, NULL, errp);
    }
    if (!normalize_kv(o, errp)) {
        option_prefix_error(errp, opt, arg);
        json_object_unref(o);
        return NULL;
    }
    return o;
}

static bool add_opt(GPtrArray *list, const char *opt, const char *arg, bool *help,
                    GError **errp)
{
    NetOpt *n = g_new0(NetOpt, 1);
    n->obj = net_parse_netdev_text(opt, arg, &n->kv, help, errp);
    if (!n->obj) {
        g_free(n);
        return false;
    }
    n->text = g_strdup(arg);
    g_ptr_array_add(list, n);
    return true;
}

bool net_option_netdev(NetOptions *o, const char *arg, GError **errp)
{
    bool help = false;
    o->any = true;
    if (is_help(arg)) {
        o->want_backends = true;
        return true;
    }
    if (!add_opt(o->netdevs, "netdev", arg, &help, errp))
        return false;
    NetOpt *n = o->netdevs->pdata[o->netdevs->len - 1];
    if (help || is_help(kv_get_str(n->obj, "type")))
        o->want_backends = true;
    return true;
}

static bool model_help(NetOptions *o, NetOpt *n)
{
    if (is_help(kv_get_str(n->obj, "model"))) {
        o->want_models = true;
        return true;
    }
    return false;
}

bool net_option_nic(NetOptions *o, const char *arg, GError **errp)
{
    bool help = false;
    o->any = true;
    if (!add_opt(o->nics, "nic", arg, &help, errp))
        return false;
    NetOpt *n = o->nics->pdata[o->nics->len - 1];
    if (help || is_help(kv_get_str(n->obj, "type")))
        o->want_backends = true;
    model_help(o, n);
    return true;
}

bool net_option_net(NetOptions *o, const char *arg, GError **errp)
{
    bool help = false;
    o->any = true;
    if (!add_opt(o->nets, "net", arg, &help, errp))
        return false;
    NetOpt *n = o->nets->pdata[o->nets->len - 1];
    if (help || is_help(kv_get_str(n->obj, "type")))
        o->want_backends = true;
    model_help(o, n);
    return true;
}

/* ---- backends ---- */

NetBackend *net_netdev_alloc(Machine *m, const char *id, int type, unsigned queues)
{
    NetBackend *nd = g_new0(NetBackend, 1);
    nd->id = g_strdup(id);
    nd->type = type;
    nd->queues = queues;
    g_ptr_array_add(net_state(m)->netdevs, nd);
    return nd;
}

void net_netdev_free(Machine *m, NetBackend *nd)
{
    NetState *s = net_state(m);
    for (guint i = 0; i < s->nics->len; i++) {
        NicState *nic = s->nics->pdata[i];
        if (nic->conf->peers == nd)
            nic->conf->peers = NULL;
    }
    for (unsigned i = nd->queues; i-- > 0;)
        if (nd->nc[i])
            net_client_free(nd->nc[i]);
    if (nd->free_state)
        nd->free_state(nd);
    g_ptr_array_remove(s->netdevs, nd);
    g_free(nd->id);
    g_free(nd);
}

NetBackend *net_netdev_find(Machine *m, const char *id)
{
    GPtrArray *a = net_state(m)->netdevs;
    for (guint i = 0; i < a->len; i++)
        if (!strcmp(((NetBackend *)a->pdata[i])->id, id))
            return a->pdata[i];
    return NULL;
}

NetBackend *net_netdev_claim(Machine *m, const char *id, const char *owner, GError **errp)
{
    NetBackend *nd = net_netdev_find(m, id);
    if (!nd || !nd->nc[0]) {
        g_set_error(errp, G_IO_ERROR, G_IO_ERROR_NOT_FOUND,
                    "Property '%s.netdev' can't find value '%s'", owner, id);
        return NULL;
    }
    if (nd->nc[0]->peer) {
        g_set_error(errp, G_IO_ERROR, G_IO_ERROR_BUSY,
                    "Property '%s.netdev' can't take value '%s', it's in use", owner, id);
        return NULL;
    }
    return nd;
}

static unsigned count_fds(const char *fds)
{
    g_auto(GStrv) v = g_strsplit(fds, ":", -1);
    return MAX(1u, g_strv_length(v));
}

/* Creates backend @o named @name; connects queue 0 to @peer (a hub port) if given.
 * @is_netdev: a -netdev/netdev_add/-nic backend (netdev_del may remove it); its id is
 * checked unless it is one -nic made up ("__org.qemu.nicN"). */
static NetBackend *create_backend(Machine *m, const Netdev *o, const char *name,
                                  bool is_netdev, NetClient *peer, GError **errp)
{
    const char *type = NetClientDriver_str[o->type];
    switch (o->type) {
    case NET_CLIENT_DRIVER_USER: case NET_CLIENT_DRIVER_TAP:
    case NET_CLIENT_DRIVER_BRIDGE: case NET_CLIENT_DRIVER_SOCKET:
    case NET_CLIENT_DRIVER_STREAM: case NET_CLIENT_DRIVER_DGRAM:
    case NET_CLIENT_DRIVER_HUBPORT:
        break;
    case NET_CLIENT_DRIVER_NONE: case NET_CLIENT_DRIVER_NIC:
        g_set_error(errp, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                    "Parameter 'type' expects a netdev backend type");
        return NULL;
    default:
        g_set_error(errp, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED,
                    "network backend '%s' is not supported by Vireo (it has user, tap, "
                    "bridge, socket, stream, dgram and hubport)", type);
        return NULL;
    }
    if (is_netdev && !g_str_has_prefix(name, "__org.qemu.nic") && !id_check("id", name, errp))
        return NULL;
    if (net_netdev_find(m, name) || net_client_find(m, name)) {
        g_set_error(errp, G_IO_ERROR, G_IO_ERROR_EXISTS, "Duplicate ID '%s' for netdev",
                    name);
        return NULL;
    }
    unsigned queues = 1;
    if (o->type == NET_CLIENT_DRIVER_TAP) {
        const NetdevTapOptions *t = &o->u.tap;
        queues = t->fds ? count_fds(t->fds) : t->has_queues ? MAX(t->queues, 1u) : 1;
        if (queues > NET_MAX_QUEUES) {
            g_set_error(errp, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                        "tap: %u queues requested, Vireo supports at most %d", queues,
                        NET_MAX_QUEUES);
            return NULL;
        }
    }
    NetBackend *nd = net_netdev_alloc(m, name, o->type, queues);
    nd->user_created = is_netdev;
    bool ok = false;
    switch (o->type) {
    case NET_CLIENT_DRIVER_USER: ok = net_init_user(m, nd, &o->u.user, errp); break;
    case NET_CLIENT_DRIVER_TAP: ok = net_init_tap(m, nd, &o->u.tap, errp); break;
    case NET_CLIENT_DRIVER_BRIDGE: ok = net_init_bridge(m, nd, &o->u.bridge, errp); break;
    case NET_CLIENT_DRIVER_SOCKET: ok = net_init_socket(m, nd, &o->u.socket, errp); break;
    case NET_CLIENT_DRIVER_STREAM: ok = net_init_stream(m, nd, &o->u.stream, errp); break;
    case NET_CLIENT_DRIVER_DGRAM: ok = net_init_dgram(m, nd, &o->u.dgram, errp); break;
    default: {                              /* hubport (the others were refused) */
        const NetdevHubPortOptions *h = &o->u.hubport;
        nd->nc[0] = net_hub_add_port(m, h->hubid, name, errp);
        ok = nd->nc[0] != NULL;
        if (ok && h->netdev) {
            NetBackend *other = net_netdev_claim(m, h->netdev, "hubport", errp);
            ok = other != NULL;
            if (ok)
                net_client_connect(nd->nc[0], other->nc[0]);
        }
        break;
    }
    }
    if (!ok) {
        net_netdev_free(m, nd);
        return NULL;
    }
    for (unsigned i = 0; i < nd->queues; i++) {
        nd->nc[i]->netdev = nd;
        nd->nc[i]->queue_index = i;
        nd->nc[i]->is_netdev = is_netdev;
    }
    if (peer)
        net_client_connect(nd->nc[0], peer);
    return nd;
}

NetBackend *net_netdev_create(Machine *m, const Netdev *o, GError **errp)
{
    return create_backend(m, o, o->id, true, NULL, errp);
}

NetBackend *net_netdev_add_from(Machine *m, JsonObject *obj, bool kv, GError **errp)
{
    Netdev o = { 0 };
    NetBackend *nd = NULL;
    if (qapi_Netdev_members_from_json(obj, NULL, kv, &o, errp))
        nd = create_backend(m, &o, o.id, true, NULL, errp);
    qapi_Netdev_free_members(&o);
    return nd;
}

bool net_netdev_option(Machine *m, const char *arg, GError **errp)
{
    bool kv, help;
    g_autoptr(JsonObject) o = net_parse_netdev_text("netdev", arg, &kv, &help, errp);
    if (!o)
        return false;
    if (net_netdev_add_from(m, o, kv, errp))
        return true;
    option_prefix_error(errp, "netdev", arg);
    return false;
}

bool net_netdev_del(Machine *m, const char *id, GError **errp)
{
    NetBackend *nd = net_netdev_find(m, id);
    if (!nd) {
        g_set_error(errp, G_IO_ERROR, G_IO_ERROR_NOT_FOUND, "Device '%s' not found", id);
        return false;
    }
    if (!nd->user_created) {
        g_set_error(errp, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                    "Device '%s' is not a netdev", id);
        return false;
    }
    NetClient *peer = nd->nc[0] ? nd->nc[0]->peer : NULL;
    if (peer && peer->ops->kind == NET_KIND_NIC) {   /* the guest sees the carrier go */
        for (unsigned i = 0; i < nd->queues; i++)
            if (nd->nc[i] && nd->nc[i]->peer)
                nd->nc[i]->peer->link_down = true;
        if (peer->ops->link_status_changed)
            peer->ops->link_status_changed(peer);
    }
    net_netdev_free(m, nd);
    return true;
}

/* ---- -nic, -net, the default NIC ---- */

static GPtrArray *nic_requests(Machine *m)
{
    NetState *s = net_state(m);
    if (!s->nic_requests)
        s->nic_requests = g_ptr_array_new();
    return s->nic_requests;
}

static void nic_request_free(gpointer p, gpointer unused)
{
    NicRequest *r = p;
    g_free(r->model);
    g_free(r->netdev);
    g_free(r->addr);
    g_free(r);
}

static bool parse_mac(const char *s, uint8_t mac[6])
{
    unsigned v[6];
    char tail;
    if (sscanf(s, "%2x:%2x:%2x:%2x:%2x:%2x%c", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5],
               &tail) != 6 && sscanf(s, "%2x-%2x-%2x-%2x-%2x-%2x%c", &v[0], &v[1], &v[2],
                                     &v[3], &v[4], &v[5], &tail) != 6)
        return false;
    for (int i = 0; i < 6; i++)
        mac[i] = v[i];
    return true;
}

/* A NIC for the board, its MAC taken now (QEMU's nd_table order). */
static NicRequest *add_nic_request(Machine *m, const char *model, const char *netdev,
                                   const char *mac, GError **errp)
{
    NicRequest *r = g_new0(NicRequest, 1);
    if (mac && !parse_mac(mac, r->mac)) {
        g_set_error(errp, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                    "invalid syntax for ethernet address");
        g_free(r);
        return NULL;
    }
    NicConf c = { 0 };
    memcpy(c.macaddr, r->mac, 6);
    net_macaddr_default_if_unset(m, &c);
    memcpy(r->mac, c.macaddr, 6);
    r->model = g_strdup(model);
    r->netdev = g_strdup(netdev);
    g_ptr_array_add(nic_requests(m), r);
    return r;
}

/* -nic TYPE,model=M,mac=X,...: a backend "__org.qemu.nicN" (unless type=none or no
 * type) and a NIC of model M on it. */
static bool init_nic_opt(Machine *m, NetOpt *n, unsigned idx, GError **errp)
{
    JsonObject *o = n->obj;
    const char *type = kv_get_str(o, "type");
    if (type && !strcmp(type, "none"))
        return true;
    g_autofree char *model = g_strdup(kv_get_str(o, "model"));
    g_autofree char *mac = g_strdup(kv_get_str(o, "mac"));
    g_autofree char *id = g_strdup(kv_get_str(o, "id"));
    if (json_object_has_member(o, "model"))
        json_object_remove_member(o, "model");
    if (json_object_has_member(o, "mac"))
        json_object_remove_member(o, "mac");
    if (!id) {
        id = g_strdup_printf("__org.qemu.nic%u", idx);
        json_object_set_string_member(o, "id", id);
    }
    if (!add_nic_request(m, model, type ? id : NULL, mac, errp))
        return false;
    if (!type)
        return true;
    Netdev nd = { 0 };
    bool ok = qapi_Netdev_members_from_json(o, NULL, n->kv, &nd, errp) &&
              create_backend(m, &nd, id, true, NULL, errp);
    qapi_Netdev_free_members(&nd);
    return ok;
}

/* -net TYPE,...: the legacy form. A backend goes on a port of hub 0 (named by name=/id=
 * or "TYPE.N"); -net nic makes a NIC on its own hub port (or on netdev=). */
static bool init_net_opt(Machine *m, NetOpt *n, GError **errp)
{
    JsonObject *o = n->obj;
    const char *type = kv_get_str(o, "type");
    if (!type) {
        g_set_error(errp, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                    "Parameter 'type' is missing");
        return false;
    }
    if (!strcmp(type, "none"))
        return true;
    g_autofree char *name = g_strdup(kv_get_str(o, "name"));
    if (json_object_has_member(o, "name"))
        json_object_remove_member(o, "name");
    if (!json_object_has_member(o, "id"))
        json_object_set_string_member(o, "id", name ? name : "");
    Netdev nd = { 0 };
    bool ok = qapi_Netdev_members_from_json(o, NULL, n->kv, &nd, errp);
    if (ok && nd.type == NET_CLIENT_DRIVER_NIC) {
        const NetLegacyNicOptions *nic = &nd.u.nic;
        g_autofree char *netdev = g_strdup(nic->netdev);
        if (!netdev) {
            NetClient *port = net_hub_add_port(m, 0, NULL, errp);
            NetBackend *wrap = port ? net_netdev_alloc(m, port->name, NET_CLIENT_DRIVER_HUBPORT,
                                                   1) : NULL;
            ok = port != NULL;
            if (wrap) {
                wrap->nc[0] = port;
                port->netdev = wrap;
                netdev = g_strdup(port->name);
            }
        }
        NicRequest *r = ok ? add_nic_request(m, nic->model, netdev, nic->macaddr, errp) : NULL;
        ok = r != NULL;
        if (r) {
            r->addr = g_strdup(nic->addr);
            r->vectors = nic->vectors;
            r->has_vectors = nic->has_vectors;
        }
    } else if (ok) {
        g_autofree char *auto_name = NULL;
        const char *nm = *nd.id ? nd.id : (auto_name = g_strdup_printf(
            "%s.%u", NetClientDriver_str[nd.type], net_count_model(m, nd.type)));
        NetClient *port = net_hub_add_port(m, 0, NULL, errp);
        ok = port && create_backend(m, &nd, nm, false, port, errp);
    }
    qapi_Netdev_free_members(&nd);
    return ok;
}

/* Backends counted for "TYPE.N" names of -net backends (QEMU's assign_name). */
unsigned net_count_model(Machine *m, int type)
{
    GPtrArray *a = net_state(m)->netdevs;
    unsigned n = 0;
    for (guint i = 0; i < a->len; i++)
        if (((NetBackend *)a->pdata[i])->type == type && !((NetBackend *)a->pdata[i])->user_created)
            n++;
    return n;
}

bool net_init_clients(Machine *m, NetOptions *o, GError **errp)
{
    net_state(m)->any_option = o->any;
    for (guint i = 0; i < o->netdevs->len; i++) {
        NetOpt *n = o->netdevs->pdata[i];
        if (!net_netdev_add_from(m, n->obj, n->kv, errp)) {
            option_prefix_error(errp, "netdev", n->text);
            return false;
        }
    }
    for (guint i = 0; i < o->nics->len; i++) {
        NetOpt *n = o->nics->pdata[i];
        if (!init_nic_opt(m, n, i, errp)) {
            option_prefix_error(errp, "nic", n->text);
            return false;
        }
    }
    for (guint i = 0; i < o->nets->len; i++) {
        NetOpt *n = o->nets->pdata[i];
        if (!init_net_opt(m, n, errp)) {
            option_prefix_error(errp, "net", n->text);
            return false;
        }
    }
    return true;
}

/* QEMU's default network, "-net nic -net user" (its vl.c: default_net), unless a
 * -net, -nic or -netdev was given. The board calls this with its other default devices
 * (hw/i386/pc-defaults.c), never under -nodefaults. */
bool net_add_default_nic(Machine *m, GError **errp)
{
    if (net_state(m)->any_option)
        return true;
    NetOptions *d = net_options_new();
    bool ok = net_option_net(d, "nic", errp) && net_option_net(d, "user", errp);
    for (guint i = 0; ok && i < d->nets->len; i++)
        ok = init_net_opt(m, d->nets->pdata[i], errp);
    net_options_free(d);
    if (!ok)
        g_prefix_error(errp, "default NIC (-net nic -net user): ");
    return ok;
}

/* ---- NIC models ---- */

/* A PCI device with QEMU's NIC properties (NIC_PROPS: "mac" and "netdev"). */
static bool is_nic_class(const DeviceClass *c)
{
    const Property *mac = c->props ? props_find(c->props, "mac") : NULL;
    return c->bus == BUS_PCI && c->user_creatable && mac && mac->type == PROP_MACADDR &&
           props_find(c->props, "netdev");
}

void net_print_nic_models(GString *out)
{
    g_string_append(out, "Supported NIC models:\n");
    for (const DeviceClass *const *c = device_classes(); *c; c++)
        if (is_nic_class(*c))
            g_string_append_printf(out, "%s\n", (*c)->name);
}

void net_print_backends(GString *out)
{
    g_string_append(out, "Available netdev backend types:\nsocket\nstream\ndgram\nhubport\n"
                    "tap\nuser\nbridge\n");
}

static const DeviceClass *nic_model(const char *model, const char *def, GError **errp)
{
    const char *name = model ? model : def;
    if (!strcmp(name, "virtio"))
        name = "virtio-net-pci";
    const DeviceClass *c = device_class_find(name);
    if (!c || !is_nic_class(c)) {
        g_set_error(errp, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                    "Unsupported NIC model: %s", name);
        return NULL;
    }
    return c;
}

bool net_create_nics(Machine *m, const char *default_model, GError **errp)
{
    GPtrArray *reqs = net_state(m)->nic_requests;
    for (guint i = 0; reqs && i < reqs->len; i++) {
        NicRequest *r = reqs->pdata[i];
        const DeviceClass *c = nic_model(r->model, default_model, errp);
        if (!c)
            return false;
        Device *d = device_new(m, c);
        memcpy((uint8_t *)d + props_find(c->props, "mac")->offset, r->mac, 6);
        bool ok = (!r->netdev || device_set_str(d, "netdev", r->netdev, errp)) &&
                  (!r->addr || device_set_str(d, "addr", r->addr, errp)) &&
                  (!r->has_vectors || !props_find(c->props, "vectors") ||
                   device_set_int(d, "vectors", r->vectors, errp));
        if (!ok) {
            device_free(d);
            return false;
        }
        if (!machine_add_device(m, d, errp))
            return false;
    }
    if (reqs) {
        g_ptr_array_foreach(reqs, nic_request_free, NULL);
        g_ptr_array_set_size(reqs, 0);
    }
    return true;
}

void net_options_print_help(const NetOptions *o, GString *out)
{
    if (o->want_backends)
        net_print_backends(out);
    if (o->want_models)
        net_print_nic_models(out);
}
