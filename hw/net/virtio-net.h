/*
 * virtio-net-pci (virtio 1.2, 5.1): shared by virtio-net.c (device, receive and transmit
 * paths) and virtio-net-ctrl.c (control queue, receive filter).
 */
#ifndef HW_NET_VIRTIO_NET_H
#define HW_NET_VIRTIO_NET_H

#include "vireo/virtio.h"
#include "vireo/net.h"
#include "vireo/log.h"

/* Feature bits (5.1.3). */
#define VIRTIO_NET_F_CSUM               0
#define VIRTIO_NET_F_GUEST_CSUM         1
#define VIRTIO_NET_F_CTRL_GUEST_OFFLOADS 2
#define VIRTIO_NET_F_MTU                3
#define VIRTIO_NET_F_MAC                5
#define VIRTIO_NET_F_GUEST_TSO4         7
#define VIRTIO_NET_F_GUEST_TSO6         8
#define VIRTIO_NET_F_GUEST_ECN          9
#define VIRTIO_NET_F_GUEST_UFO          10
#define VIRTIO_NET_F_HOST_TSO4          11
#define VIRTIO_NET_F_HOST_TSO6          12
#define VIRTIO_NET_F_HOST_ECN           13
#define VIRTIO_NET_F_HOST_UFO           14
#define VIRTIO_NET_F_MRG_RXBUF          15
#define VIRTIO_NET_F_STATUS             16
#define VIRTIO_NET_F_CTRL_VQ            17
#define VIRTIO_NET_F_CTRL_RX            18
#define VIRTIO_NET_F_CTRL_VLAN          19
#define VIRTIO_NET_F_CTRL_RX_EXTRA      20
#define VIRTIO_NET_F_GUEST_ANNOUNCE     21
#define VIRTIO_NET_F_MQ                 22
#define VIRTIO_NET_F_CTRL_MAC_ADDR      23

#define VIRTIO_NET_S_LINK_UP    1
#define VIRTIO_NET_S_ANNOUNCE   2

/* virtio_net_hdr flags and gso types (5.1.6). */
#define VIRTIO_NET_HDR_F_NEEDS_CSUM  1
#define VIRTIO_NET_HDR_F_DATA_VALID  2

#define VNET_MAX_PAIRS      ((VIRTIO_MAX_QUEUES - 1) / 2)
#define VNET_MAC_TABLE      64            /* QEMU's MAC_TABLE_ENTRIES */
#define VNET_MAX_VLAN       4096
#define VNET_CONFIG_SIZE    12            /* mac, status, max_virtqueue_pairs, mtu */

/* Guest-visible device state (migrated; the transport and queues have their own). */
typedef struct VirtioNetState {
    uint8_t mac[6];
    uint16_t status;                      /* VIRTIO_NET_S_* */
    uint16_t curr_pairs;                  /* queue pairs in use (MQ) */
    uint8_t promisc, allmulti, alluni, nomulti, nouni, nobcast;
    uint8_t uni_overflow, multi_overflow;
    uint32_t mac_in_use, mac_first_multi; /* entries; unicast ones come first */
    uint8_t macs[VNET_MAC_TABLE * 6];
    uint8_t vlans[VNET_MAX_VLAN / 8];     /* bit per VLAN id: accepted */
    uint64_t guest_offloads;              /* VIRTIO_NET_F_GUEST_* in force */
} VirtioNetState;

typedef struct VirtioNet VirtioNet;

typedef struct VirtioNetQueue {
    VirtioNet *n;
    unsigned index;                       /* queue pair */
    VirtQueueElement *tx_waiting;         /* sent, queued at the peer: TX paused */
    unsigned tx_idle;                     /* GLib source continuing a long TX burst */
} VirtioNetQueue;

struct VirtioNet {
    VirtioPci vp;                         /* first member */
    NicConf conf;
    /* properties (QEMU's names) */
    bool mq, csum, guest_csum, gso, guest_tso4, guest_tso6, guest_ecn, guest_ufo;
    bool host_tso4, host_tso6, host_ecn, host_ufo, mrg_rxbuf, status_f, ctrl_vq;
    bool ctrl_rx, ctrl_vlan, ctrl_rx_extra, ctrl_mac_addr, ctrl_guest_offloads;
    bool guest_announce, mac_f;
    uint16_t rx_queue_size, tx_queue_size, host_mtu;
    int32_t tx_burst;                     /* x-txburst (>= 1) */
    /* runtime */
    VirtioDeviceInfo info;                /* per instance: the queue count varies */
    NicState *nic;
    unsigned max_pairs;
    bool peer_vnet;                       /* the backend carries the virtio-net header */
    unsigned vhost_pairs;                 /* pairs vhost-net moves now (0: Vireo does) */
    VirtioNetQueue q[VNET_MAX_PAIRS];
    LogBudget log;
    VirtioNetState s;
};

/* virtio-net-ctrl.c */
void vnet_handle_ctrl(VirtioNet *n);
/* Whether the guest's receive filter takes the frame @buf (@len bytes, at least 14). */
bool vnet_rx_filter(const VirtioNet *n, const uint8_t *buf, size_t len);
void *vnet_query_rx_filter(NicState *nic);
void vnet_set_queue_pairs(VirtioNet *n);
void vnet_apply_offloads(VirtioNet *n);

static inline bool vnet_has(const VirtioNet *n, unsigned bit)
{
    return virtio_has_feature(&n->vp, bit);
}

#endif
