/*
 * The network layer (net/): QEMU's model of a NIC and a backend as two peer clients.
 *
 *   guest <-> NIC model (hw/net/) <-> NetClient (NIC) <=peer=> NetClient (backend) <-> host
 *
 * A backend ("netdev": user, tap, bridge, socket, stream, dgram, hubport) has one client
 * per queue; a multiqueue NIC has one per queue too, each the peer of the backend's
 * client with the same index. A hub (-net legacy form, -netdev hubport) forwards what
 * one of its ports receives to all the others.
 *
 * Sending: net_send() hands a packet to the sender's peer. When the peer cannot take it
 * now (a NIC whose guest posted no receive buffers) the packet waits in the peer's
 * incoming queue, and the sender's @sent callback runs once it is delivered: a sender
 * that passes a callback (tap, socket, a NIC's transmit path) stops producing until
 * then, so a stalled guest costs one queued packet per sender, never a drop. Packets
 * without a callback (slirp, hubs) wait up to NET_QUEUE_MAX_PACKETS, then are dropped,
 * as a full receive FIFO drops them. The receiver calls net_flush_queued() when it can
 * take packets again (bounded: at most the queue's length).
 *
 * A NIC whose link is down drops what it is sent and sends nothing, as a wire would;
 * a backend that fails (tap fd error, a closed stream) sets its link down and tells
 * its NIC peer (the guest sees the carrier go), never ends the process.
 *
 * Locking: everything runs on the main thread with the machine lock held.
 */
#ifndef VIREO_NET_H
#define VIREO_NET_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <glib.h>
#include <json-glib/json-glib.h>
#include "vireo/error.h"
#include "vireo/props.h"
#include "vireo/vmstate.h"

typedef struct Machine Machine;
typedef struct NetClient NetClient;
typedef struct NetQueue NetQueue;
typedef struct NetBackend NetBackend;
typedef struct NetHub NetHub;
typedef struct NicConf NicConf;

#define NET_QUEUE_MAX_PACKETS  1024     /* queued packets without a sent callback */
#define NET_MAX_FRAME          (64 * 1024 + 14 + 4 + 12)   /* GSO frame + hdrs + vnet */
#define NET_MAX_QUEUES         8        /* queue pairs of one backend / NIC */
#define NET_VNET_HDR_LEN       12       /* struct virtio_net_hdr_mrg_rxbuf (virtio 1.2 5.1.6) */

typedef enum NetClientKind {
    NET_KIND_NIC,
    NET_KIND_USER,
    NET_KIND_TAP,
    NET_KIND_SOCKET,
    NET_KIND_STREAM,
    NET_KIND_DGRAM,
    NET_KIND_HUBPORT,
} NetClientKind;

/* Called when a queued packet from @sender was delivered (@ret > 0) or dropped. */
typedef void NetSentCb(NetClient *sender, ssize_t ret);

/* The offloads a NIC asks its backend for (TUNSETOFFLOAD; virtio 1.2 5.1.6.4). */
typedef struct NetOffloads {
    bool csum, tso4, tso6, ecn, ufo, uso4, uso6;
} NetOffloads;

typedef struct NetClientOps {
    NetClientKind kind;
    const char *type;               /* "user", "tap", "nic", "hubport", ... */
    /* Takes a packet: > 0 taken (or dropped by design), 0 cannot take it now (the
     * packet is queued and receiving stops until net_flush_queued), < 0 an error
     * (the packet is dropped). */
    ssize_t (*receive)(NetClient *nc, const struct iovec *iov, int iovcnt);
    /* Optional: false while the client could take nothing (checked before receive). */
    bool (*can_receive)(NetClient *nc);
    /* Optional: nc->link_down changed. */
    void (*link_status_changed)(NetClient *nc);
    /* Optional: frees what the client owns (the client itself is freed by net/). */
    void (*cleanup)(NetClient *nc);
    /* Optional (tap): the virtio-net header (NET_VNET_HDR_LEN bytes) on packets. */
    bool (*has_vnet_hdr)(NetClient *nc);
    bool (*has_ufo)(NetClient *nc);
    /* The NIC puts/expects the header on each packet (@on), or raw frames. */
    void (*using_vnet_hdr)(NetClient *nc, bool on);
    void (*set_offload)(NetClient *nc, const NetOffloads *o);
    /* Optional (multiqueue tap): attach or detach this queue (TUNSETQUEUE), so the host
     * steers nothing to a queue the guest does not use. */
    void (*set_queue_enabled)(NetClient *nc, bool on);
    /* Optional: stop/start the backend's own I/O (while vhost-net moves its packets). */
    void (*poll)(NetClient *nc, bool enable);
    /* Optional (tap): the fd vhost-net drives, or -1. */
    int (*get_fd)(NetClient *nc);
    /* Optional (tap): the vhost-net instance of this queue (net/vhost-net.c), or NULL. */
    struct VhostNet *(*get_vhost)(NetClient *nc);
} NetClientOps;

struct NetClient {
    const NetClientOps *ops;
    Machine *m;
    char *name;                     /* id (-netdev id=, device id) or "model.N" */
    char *model;                    /* "user", "tap", "e1000", "virtio-net-pci", "hub" */
    char info_str[256];             /* what `info network` prints after the name */
    NetClient *peer;
    NetQueue *incoming;             /* packets waiting for this client */
    bool link_down;
    bool receive_disabled;          /* receive returned 0; until net_flush_queued */
    bool is_netdev;                 /* created by -netdev / netdev_add */
    bool using_vnet_hdr;            /* a NIC: its packets start with the virtio-net header
                                     * (NET_VNET_HDR_LEN bytes), net_peer_using_vnet_hdr */
    unsigned queue_index;
    NetBackend *netdev;                 /* the backend this client is a queue of, or NULL */
    void *opaque;                   /* the owner (NIC model, backend state) */
    NetSentCb *peer_sent_cb;        /* internal */
};

/* A backend instance (-netdev ID): its queues' clients. */
struct NetBackend {
    char *id;
    int type;                       /* NetClientDriver (qapi/schema/net.json) */
    unsigned queues;
    NetClient *nc[NET_MAX_QUEUES];
    void *state;                    /* the backend's own state */
    void (*free_state)(NetBackend *nd); /* frees @state after the clients */
    bool user_created;              /* -netdev / netdev_add (netdev_del may remove it) */
};

/* ---- clients ---- */

/* Creates a client of @ops named @name (NULL: "MODEL.N"), owned by @opaque, and
 * registers it with the machine. */
NetClient *net_client_new(Machine *m, const NetClientOps *ops, const char *model,
                          const char *name, void *opaque);
/* Disconnects from the peer, purges queues that hold packets of @nc, unregisters and
 * frees @nc (calls ops->cleanup first). */
void net_client_free(NetClient *nc);
void net_client_connect(NetClient *a, NetClient *b);
void net_client_disconnect(NetClient *nc);
/* Sets info_str (printf-style). */
void net_client_set_info(NetClient *nc, const char *fmt, ...) G_GNUC_PRINTF(2, 3);

/* ---- packets ---- */

/* Sends @iov to the sender's peer; see the header comment. Returns the bytes sent
 * (or dropped, as a wire drops: no peer, link down), 0 when queued (@sent runs later,
 * when non-NULL), < 0 on error. */
ssize_t net_send(NetClient *sender, const struct iovec *iov, int iovcnt, NetSentCb *sent);
ssize_t net_send_buf(NetClient *sender, const void *buf, size_t len, NetSentCb *sent);
/* Whether @sender's peer would take a packet now. */
bool net_can_send(NetClient *sender);
/* @nc can receive again: delivers its queued packets in order until it refuses one
 * (at most the queue's length, so the work is bounded). Returns packets delivered. */
unsigned net_flush_queued(NetClient *nc);
/* Drops every packet queued for @nc, and every packet @nc queued elsewhere (its
 * sent callbacks run with 0). */
void net_purge_queued(NetClient *nc);
/* Packets waiting for @nc. */
unsigned net_queued(NetClient *nc);

/* Link state: sets it on every client named @name and, when a backend's peer is a NIC,
 * on that NIC too (QEMU's set_link). */
bool net_set_link(Machine *m, const char *name, bool up, GError **errp);
/* A backend failed: link down on it and its NIC peer (the guest sees no carrier). */
void net_backend_failed(NetClient *nc, const char *why);

/* Offloads / vnet header of a NIC's peer (false / no-ops without a peer). */
bool net_peer_has_vnet_hdr(NetClient *nic);
bool net_peer_has_ufo(NetClient *nic);
void net_peer_using_vnet_hdr(NetClient *nic, bool on);
void net_peer_set_offload(NetClient *nic, const NetOffloads *o);
void net_peer_set_queue_enabled(NetClient *nic, bool on);

/* ---- the machine's clients ---- */

/* Every client, in creation order (GPtrArray of NetClient *), for info network. */
GPtrArray *net_clients(Machine *m);
NetClient *net_client_find(Machine *m, const char *name);

/* ---- backends (net/netdev.c) ---- */

/* -netdev ARG: parses (keyval with QemuOpts short booleans and implied "type", or JSON)
 * and creates the backend. Errors start with "-netdev ARG: ". */
bool net_netdev_option(Machine *m, const char *arg, GError **errp);
/* Creates a backend from a parsed -netdev / netdev_add object. */
NetBackend *net_netdev_add_from(Machine *m, JsonObject *o, bool kv, GError **errp);
NetBackend *net_netdev_find(Machine *m, const char *id);
/* netdev_del: the backend's clients are disconnected and freed. */
bool net_netdev_del(Machine *m, const char *id, GError **errp);
/* Claims @id for a NIC: errors when missing or already in use (QEMU's texts). */
NetBackend *net_netdev_claim(Machine *m, const char *id, const char *owner, GError **errp);

/* Every backend (NetBackend *), in creation order. */
GPtrArray *net_netdevs(Machine *m);

/* ---- migration of -netdev user (net/slirp.c) ---- */

/* The most bytes of libslirp state one netdev's section may carry (about 256 KiB per
 * guestfwd connection: its two socket buffers). */
#define NET_SLIRP_STATE_MAX (8u << 20)
/* The section's description (name "slirp"): libslirp's state version, its state. */
extern const VMStateDesc vmstate_slirp;
/* Appends the section of user netdev @nd (VM stopped, main thread); fails when
 * libslirp's state is larger than NET_SLIRP_STATE_MAX. */
bool net_slirp_state_save(NetBackend *nd, GByteArray *out, GError **errp);
/* Checks one section of @len bytes against @nd (layout, libslirp version, each
 * connection to one of its chardev guestfwd rules) and only then hands it to libslirp.
 * Main thread. */
bool net_slirp_state_load(NetBackend *nd, const uint8_t *buf, size_t len, GError **errp);

/* -netdev, -nic, -net: parsed by the command line (syntax errors name the option),
 * created at start-up by net_init_clients() before the board; the board then creates
 * the NICs they name with net_create_nics(). */
typedef struct NetOptions NetOptions;
NetOptions *net_options_new(void);
void net_options_free(NetOptions *o);
bool net_option_netdev(NetOptions *o, const char *arg, GError **errp);
bool net_option_nic(NetOptions *o, const char *arg, GError **errp);
bool net_option_net(NetOptions *o, const char *arg, GError **errp);
/* Whether -net, -nic or -netdev was given (QEMU then adds no default NIC). */
bool net_options_any(const NetOptions *o);
/* "model=help" or "-netdev help" was given: print the lists and exit. */
bool net_options_want_help(const NetOptions *o);
void net_options_print_help(const NetOptions *o, GString *out);
void net_print_nic_models(GString *out);
void net_print_backends(GString *out);
/* Creates every -netdev, then the -nic and -net backends and hubs, in QEMU's order.
 * Runs before the board is built. */
bool net_init_clients(Machine *m, NetOptions *o, GError **errp);
/* QEMU's default "-net nic -net user" unless a -net/-nic/-netdev was given; called by
 * the board's default devices (not under -nodefaults), before net_create_nics(). */
bool net_add_default_nic(Machine *m, GError **errp);
/* The board's part: creates the NIC devices -nic/-net/the default asked for (first
 * free PCI slots, before -device), @default_model when none was named. */
bool net_create_nics(Machine *m, const char *default_model, GError **errp);
/* After every device: warns (stderr) about hubs without NICs or host side and netdevs
 * without a NIC, as QEMU's net_check_clients. */
void net_check_clients(Machine *m);

/* ---- NICs (hw/net/) ---- */

typedef struct Device Device;

/* What every NIC device has (QEMU's NICConf): "mac" and "netdev" properties. */
struct NicConf {
    uint8_t macaddr[6];             /* property "mac"; all zero: QEMU's default */
    char *netdev;                   /* property "netdev": the backend id */
    int32_t bootindex;              /* property "bootindex": fw_cfg bootorder, -1: none */
    NetBackend *peers;                  /* claimed at realize */
    char *boot_path;                /* the bootorder path registered, or NULL */
};

#define NIC_PROPS(st, member) \
    PROP("mac", PROP_MACADDR, st, member.macaddr, NULL, \
         "Ethernet 6-byte MAC Address, example: 52:54:00:12:34:56"), \
    PROP("netdev", PROP_NETDEV, st, member.netdev, NULL, "ID of a netdev to use as a backend"), \
    PROP("bootindex", PROP_I32, st, member.bootindex, "-1", \
         "boot order position: SeaBIOS runs the NIC's option ROM (iPXE) in that place")

typedef struct NicOps {
    ssize_t (*receive)(NetClient *nc, const struct iovec *iov, int iovcnt);
    bool (*can_receive)(NetClient *nc);
    void (*link_status_changed)(NetClient *nc);
} NicOps;

typedef struct NicState NicState;
struct NicState {
    NetClient *ncs[NET_MAX_QUEUES]; /* every queue's client has the same name */
    unsigned queues;
    NicConf *conf;
    void *opaque;                   /* the NIC model (nc->opaque is the NicState) */
    Device *device;                 /* for the QOM path in events (set by the model) */
    NetClientOps ops;
    bool rx_filter_notify;          /* NIC_RX_FILTER_CHANGED armed (query-rx-filter) */
    /* Optional: the NIC's own announcement (virtio-net: VIRTIO_NET_S_ANNOUNCE). */
    void (*announce)(NicState *nic);
    /* Optional: query-rx-filter's answer (a RxFilterInfo *, qapi-generated.h). */
    void *(*query_rx_filter)(NicState *nic);
};

/* Creates the NIC's clients (@queues of them), each peered with the claimed backend's
 * queue of the same index. @name: the device id or NULL ("MODEL.N"). Sets QEMU's
 * default MAC when none was given. Errors as QEMU's for a missing or busy netdev. */
NicState *net_nic_new(Machine *m, NicConf *conf, const NicOps *ops, const char *model,
                      const char *name, unsigned queues, void *opaque, GError **errp);
void net_nic_free(NicState *nic);
NetClient *net_nic_queue(NicState *nic, unsigned i);
static inline NicState *net_nic_of(NetClient *nc) { return nc->opaque; }
/* QEMU's default MACs: 52:54:00:12:34:56 + the first free index when none was set;
 * a given MAC in that range marks its index used. */
void net_macaddr_default_if_unset(Machine *m, NicConf *conf);
void net_macaddr_release(Machine *m, const uint8_t mac[6]);
/* Sets "info network"'s text: "model=e1000,macaddr=52:54:00:12:34:56". */
void net_nic_format_info(NicState *nic, const char *model);
/* The receive filter changed: NIC_RX_FILTER_CHANGED, once until query-rx-filter. */
void net_nic_rx_filter_changed(NicState *nic);
char *net_nic_qom_path(NicState *nic);
void net_nic_set_announce(NicState *nic, void (*fn)(NicState *nic));
/* One announcement round for @nic: a RARP for its MAC out of its backend (as QEMU's
 * qemu_announce_self), then the NIC's own announce function. */
void net_nic_announce(NicState *nic);
/* Announces every NIC (only those named in @names when non-NULL). */
void net_announce_all(Machine *m, GPtrArray *names);
/* @rounds announcement rounds (QEMU's announce timer): one now, the next after
 * @initial ms, each later one @step ms further apart, at most @max ms; replaces rounds
 * still due. announce-self, and the destination of a migration. */
void net_announce_start(Machine *m, GPtrArray *names, int64_t initial, int64_t max,
                        int64_t rounds, int64_t step);
/* The 60-byte RARP frame announcing @mac; returns its length. */
size_t net_build_rarp(uint8_t *buf, const uint8_t mac[6]);

/* ---- helpers ---- */

/* net/checksum.c: RFC 1071 sums (big-endian 16-bit words). */
uint32_t net_checksum_add(const uint8_t *buf, size_t len, uint32_t sum);
uint16_t net_checksum_finish(uint32_t sum);
/* Checksums buf[start..len) and stores the result (big-endian) at start + off; false
 * when the field does not fit. The field's old contents are part of the sum. */
bool net_checksum_insert(uint8_t *buf, size_t len, size_t start, size_t off);
/* net/net.c: iovec helpers. */
size_t iov_to_buf_n(const struct iovec *iov, int cnt, size_t off, void *buf, size_t len);
size_t iov_size_n(const struct iovec *iov, int cnt);

/* ---- monitor (net/net-qmp.c): HMP commands of the network layer ---- */
void net_hmp_info_network(Machine *m, GString *out);
void net_hmp_info_usernet(Machine *m, GString *out);
void net_hmp_netdev_add(Machine *m, const char *args, GString *out);
void net_hmp_netdev_del(Machine *m, const char *args, GString *out);
void net_hmp_set_link(Machine *m, const char *args, GString *out);
void net_hmp_hostfwd_add(Machine *m, const char *args, GString *out);
void net_hmp_hostfwd_remove(Machine *m, const char *args, GString *out);
/* Frees every client, backend and hub (machine_free, exit: runs tap downscripts). */
void net_cleanup(Machine *m);

#endif
