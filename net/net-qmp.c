/*
 * QMP and HMP commands of the network layer (QEMU 7.2 qapi/net.json, hmp-commands.hx):
 * netdev_add, netdev_del, set_link, query-rx-filter, announce-self; HMP info network,
 * info usernet, netdev_add, netdev_del, set_link, hostfwd_add, hostfwd_remove.
 * All run on the main thread with the machine lock held.
 */
#include "net-int.h"
#include "qapi/qapi-runtime.h"
#include "vireo/mainloop.h"
#include <string.h>

static void not_found(GError **errp, const char *what)
{
    g_set_error(errp, QMP_ERROR, QAPI_ERROR_CLASS_DEVICENOTFOUND, "Device '%s' not found",
                what);
}

void qmp_set_link(Machine *m, const char *name, bool up, GError **errp)
{
    if (!net_client_find(m, name)) {
        not_found(errp, name);
        return;
    }
    net_set_link(m, name, up, errp);
}

void qmp_netdev_add(Machine *m, Netdev *arg, GError **errp)
{
    net_netdev_create(m, arg, errp);
}

void qmp_netdev_del(Machine *m, const char *id, GError **errp)
{
    if (!net_netdev_find(m, id)) {
        not_found(errp, id);
        return;
    }
    net_netdev_del(m, id, errp);
}

GPtrArray *qmp_query_rx_filter(Machine *m, const char *name, GError **errp)
{
    GPtrArray *out = g_ptr_array_new_with_free_func((GDestroyNotify)qapi_free_RxFilterInfo);
    GPtrArray *a = net_clients(m);
    for (guint i = 0; i < a->len; i++) {
        NetClient *nc = a->pdata[i];
        if (name && strcmp(nc->name, name))
            continue;
        if (nc->ops->kind != NET_KIND_NIC) {
            if (name) {
                g_set_error(errp, QMP_ERROR, QAPI_ERROR_CLASS_GENERICERROR,
                            "net client(%s) isn't a NIC", name);
                g_ptr_array_unref(out);
                return NULL;
            }
            continue;
        }
        if (nc->queue_index)
            continue;                       /* the filter is per NIC, not per queue */
        NicState *nic = net_nic_of(nc);
        if (nic->query_rx_filter) {
            g_ptr_array_add(out, nic->query_rx_filter(nic));
            nic->rx_filter_notify = true;   /* the next change is reported again */
        } else if (name) {
            g_set_error(errp, QMP_ERROR, QAPI_ERROR_CLASS_GENERICERROR,
                        "net client(%s) doesn't support rx-filter querying", name);
            g_ptr_array_unref(out);
            return NULL;
        }
        if (name)
            break;
    }
    if (!out->len && name) {
        g_set_error(errp, QMP_ERROR, QAPI_ERROR_CLASS_GENERICERROR,
                    "invalid net client name: %s", name);
        g_ptr_array_unref(out);
        return NULL;
    }
    return out;
}

/* ---- announce-self: rounds of announcements (QEMU's announce timer) ---- */

typedef struct Announce {
    Machine *m;
    Timer *timer;
    GPtrArray *names;
    int64_t initial, max, step;
    int64_t round, rounds;
} Announce;

static void announce_round(void *opaque)
{
    Announce *a = opaque;
    net_announce_all(a->m, a->names);
    if (++a->round >= a->rounds)
        return;
    int64_t delay = MIN(a->initial + (a->round - 1) * a->step, a->max);
    timer_mod(a->timer, clock_ns(a->m->clock) + delay * 1000000);
}

void net_announce_start(Machine *m, GPtrArray *names, int64_t initial, int64_t max,
                        int64_t rounds, int64_t step)
{
    NetState *s = net_state(m);
    Announce *a = s->announce;
    if (!a) {
        a = s->announce = g_new0(Announce, 1);
        a->m = m;
        a->timer = timer_new(m->clock, announce_round, a);
    }
    timer_del(a->timer);
    if (a->names)
        g_ptr_array_unref(a->names);
    a->names = NULL;
    if (names) {
        a->names = g_ptr_array_new_with_free_func(g_free);
        for (guint i = 0; i < names->len; i++)
            g_ptr_array_add(a->names, g_strdup(names->pdata[i]));
    }
    a->initial = initial, a->max = max, a->step = step;
    a->rounds = rounds, a->round = 0;
    announce_round(a);
}

void qmp_announce_self(Machine *m, AnnounceParameters *arg, GError **errp)
{
    if (arg->initial < 1 || arg->max < 1 || arg->rounds < 1 || arg->step < 1 ||
        arg->initial > 100000 || arg->max > 100000 || arg->rounds > 1000 ||
        arg->step > 10000) {
        g_set_error(errp, QMP_ERROR, QAPI_ERROR_CLASS_GENERICERROR,
                    "Parameter 'announce' expects initial, max and step in 1..100000 ms "
                    "(step at most 10000) and rounds in 1..1000");
        return;
    }
    net_announce_start(m, arg->interfaces, arg->initial, arg->max, arg->rounds, arg->step);
}

void net_announce_free(Machine *m)
{
    NetState *s = net_state(m);
    Announce *a = s->announce;
    if (!a)
        return;
    timer_free(a->timer);
    if (a->names)
        g_ptr_array_unref(a->names);
    g_free(a);
    s->announce = NULL;
}

/* ---- HMP ---- */

static void hmp_error(GString *out, GError *err)
{
    if (err) {
        g_string_append_printf(out, "Error: %s\n", err->message);
        g_error_free(err);
    }
}

void net_hmp_info_network(Machine *m, GString *out)
{
    net_info_network(m, out);
}

void net_hmp_info_usernet(Machine *m, GString *out)
{
    net_slirp_hmp_info_usernet(m, out);
}

void net_hmp_netdev_add(Machine *m, const char *args, GString *out)
{
    GError *err = NULL;
    bool kv, help;
    if (!strcmp(args, "help") || !strcmp(args, "?")) {
        net_print_backends(out);
        return;
    }
    g_autoptr(JsonObject) o = net_parse_netdev_text("netdev_add", args, &kv, &help, &err);
    if (o && help)
        net_print_backends(out);
    else if (o)
        net_netdev_add_from(m, o, kv, &err);
    hmp_error(out, err);
}

void net_hmp_netdev_del(Machine *m, const char *args, GString *out)
{
    GError *err = NULL;
    qmp_netdev_del(m, args, &err);
    hmp_error(out, err);
}

void net_hmp_set_link(Machine *m, const char *args, GString *out)
{
    g_auto(GStrv) w = g_strsplit_set(args, " \t", -1);
    GError *err = NULL;
    bool up;
    guint n = 0;
    const char *v[2] = { NULL, NULL };
    for (guint i = 0; w[i]; i++)
        if (*w[i] && n < 2)
            v[n++] = w[i];
    if (n != 2 || !str_to_bool(v[1], &up)) {
        g_string_append(out, "Error: usage: set_link name on|off\n");
        return;
    }
    qmp_set_link(m, v[0], up, &err);
    hmp_error(out, err);
}

static guint two_args(const char *args, char **a1, char **a2)
{
    g_auto(GStrv) w = g_strsplit_set(args, " \t", -1);
    guint n = 0;
    *a1 = *a2 = NULL;
    for (guint i = 0; w[i]; i++) {
        if (!*w[i])
            continue;
        if (n == 0)
            *a1 = g_strdup(w[i]);
        else if (n == 1)
            *a2 = g_strdup(w[i]);
        n++;
    }
    return n;
}

void net_hmp_hostfwd_add(Machine *m, const char *args, GString *out)
{
    g_autofree char *a1 = NULL, *a2 = NULL;
    guint n = two_args(args, &a1, &a2);
    if (n < 1 || n > 2) {
        g_string_append(out, "usage: hostfwd_add [netdev_id] [tcp|udp]:[hostaddr]:hostport-"
                        "[guestaddr]:guestport\n");
        return;
    }
    net_slirp_hmp_hostfwd_add(m, a1, a2, out);
}

void net_hmp_hostfwd_remove(Machine *m, const char *args, GString *out)
{
    g_autofree char *a1 = NULL, *a2 = NULL;
    guint n = two_args(args, &a1, &a2);
    if (n < 1 || n > 2) {
        g_string_append(out, "usage: hostfwd_remove [netdev_id] [tcp|udp]:[hostaddr]:hostport\n");
        return;
    }
    net_slirp_hmp_hostfwd_remove(m, a1, a2, out);
}
