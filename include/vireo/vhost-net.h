/*
 * vhost-net (net/vhost-net.c): the host kernel moves a virtio-net queue pair's packets
 * between the guest's rings and a tap fd (Linux drivers/vhost/net.c). The guest's kicks
 * reach it through the queues' ioeventfds and it interrupts the guest through MSI
 * irqfds (virtio_pci_take_notifier / virtio_pci_take_call), so a packet costs no exit to
 * Vireo. Vireo keeps the control queue, configuration and link state.
 */
#ifndef VIREO_VHOST_NET_H
#define VIREO_VHOST_NET_H

#include <stdbool.h>
#include <stdint.h>
#include "vireo/error.h"

typedef struct Machine Machine;
typedef struct VhostNet VhostNet;

/* One vring as vhost sees it (guest-physical addresses; checked inside guest RAM). */
typedef struct VhostVring {
    unsigned num;
    uint64_t desc, avail, used;
    uint16_t last_avail_idx;
    int kick, call;                 /* eventfds */
} VhostVring;

/* Takes ownership of @vhostfd (/dev/vhost-net or one the caller passed); @tapfd is the
 * backend it will drive. @busyloop_us: tap's poll-us= (0: none). */
VhostNet *vhost_net_new(Machine *m, int vhostfd, int tapfd, uint32_t busyloop_us,
                        GError **errp);
void vhost_net_free(VhostNet *v);
/* The virtio feature bits the kernel's vhost-net handles. */
uint64_t vhost_net_features(const VhostNet *v);
/* Starts the pair (receive ring 0, transmit ring 1) with the negotiated @features. */
bool vhost_net_start(VhostNet *v, uint64_t features, const VhostVring vr[2], GError **errp);
/* Stops it; @last_avail gets each ring's next available index (Vireo continues there). */
void vhost_net_stop(VhostNet *v, uint16_t last_avail[2]);
bool vhost_net_running(const VhostNet *v);

#endif
