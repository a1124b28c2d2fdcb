/*
 * Internals of the network layer shared by the net/ files (include/vireo/net.h is the API).
 */
#ifndef NET_NET_INT_H
#define NET_NET_INT_H

#include "vireo/net.h"
#include "vireo/machine.h"
#include "vireo/log.h"
#include "qapi/qapi-generated.h"

/* Everything the network layer owns for one machine (m->net). */
typedef struct NetState {
    GPtrArray *clients;             /* NetClient *, creation order */
    GPtrArray *netdevs;             /* NetBackend * */
    GPtrArray *hubs;                /* NetHub * */
    GPtrArray *nics;                /* NicState * */
    GPtrArray *nic_requests;        /* NICs the board creates (netdev.c), or NULL */
    bool any_option;                /* -net/-nic/-netdev given: no default NIC */
    unsigned mac_used[256];         /* QEMU's mac_table: users of 52:54:00:12:34:XX */
    LogBudget log;                  /* backend failures, hostile peers */
    struct Announce *announce;      /* announce-self rounds (net-qmp.c), or NULL */
} NetState;

NetState *net_state(Machine *m);

/* net/queue.c */
NetQueue *net_queue_new(void);
void net_queue_free(NetQueue *q);
bool net_queue_append(NetQueue *q, NetClient *sender, const struct iovec *iov, int cnt,
                      size_t len, NetSentCb *cb);
unsigned net_queue_len(const NetQueue *q);
/* Delivers to @nc in order; see net_flush_queued. */
unsigned net_queue_flush(NetQueue *q, NetClient *nc);
/* Drops packets (all when @from is NULL, else only those of @from); @notify: call the
 * senders' callbacks with 0. */
void net_queue_purge(NetQueue *q, NetClient *from, bool notify);

/* net/hub.c */
NetClient *net_hub_add_port(Machine *m, int hub_id, const char *name, GError **errp);
/* Whether @nc is a hub port or the peer of one (printed under its hub). */
bool net_hub_owns(NetClient *nc);
/* A NIC behind hub port @port can receive again: the other ports' queues flush. */
void net_hub_flush(NetClient *port);
void net_hub_info(Machine *m, GString *out);
void net_hubs_free(Machine *m);

/* netdev_add: a backend from parsed options (QAPI Netdev). */
NetBackend *net_netdev_create(Machine *m, const Netdev *o, GError **errp);
/* The -netdev keyval/JSON text as the tree the QAPI parser takes (@kv: keyval). */
JsonObject *net_parse_netdev_text(const char *opt, const char *arg, bool *kv, bool *help,
                                  GError **errp);

/* "TYPE.N" numbering of -net backends. */
unsigned net_count_model(Machine *m, int type);

/* Backends: each creates its NetBackend's clients from its QAPI options. */
NetBackend *net_netdev_alloc(Machine *m, const char *id, int type, unsigned queues);
void net_netdev_free(Machine *m, NetBackend *nd);
bool net_init_user(Machine *m, NetBackend *nd, const NetdevUserOptions *o,
                   GError **errp);
bool net_init_tap(Machine *m, NetBackend *nd, const NetdevTapOptions *o, GError **errp);
bool net_init_bridge(Machine *m, NetBackend *nd, const NetdevBridgeOptions *o,
                     GError **errp);
bool net_init_socket(Machine *m, NetBackend *nd, const NetdevSocketOptions *o,
                     GError **errp);
bool net_init_stream(Machine *m, NetBackend *nd, const NetdevStreamOptions *o,
                     GError **errp);
bool net_init_dgram(Machine *m, NetBackend *nd, const NetdevDgramOptions *o,
                    GError **errp);

/* net/slirp.c: HMP hostfwd_add / hostfwd_remove ([netdev_id] rule), info usernet. */
void net_slirp_hmp_hostfwd_add(Machine *m, const char *a1, const char *a2, GString *out);
void net_slirp_hmp_hostfwd_remove(Machine *m, const char *a1, const char *a2, GString *out);
void net_slirp_hmp_info_usernet(Machine *m, GString *out);
void net_announce_free(Machine *m);

/* "info network" */
void net_print_client(NetClient *nc, GString *out);
void net_info_network(Machine *m, GString *out);

#endif
