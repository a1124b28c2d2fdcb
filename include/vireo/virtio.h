/*
 * virtio devices on the modern virtio-pci transport (virtio 1.2, 4.1): PCI IDs 1af4:1040+id,
 * the common/ISR/device/notify configuration structures in one 64-bit memory BAR,
 * MSI-X (one vector per queue plus one for configuration changes) or INTx with the
 * ISR register. A device type gives a VirtioDeviceInfo, embeds VirtioPci first and
 * names virtio_pci_class as its parent (whose properties it inherits):
 *
 *   typedef struct VirtioRng { VirtioPci vp; ... } VirtioRng;
 *   static const VirtioDeviceInfo rng_info = { .device_id = VIRTIO_ID_RNG, ... };
 *   static const Property rng_props[] = { VIRTIO_PCI_DEVICE_PROPS(VirtioRng, vp), ... };
 *   const DeviceClass virtio_rng_pci_base_class = { .parent = &virtio_pci_class,
 *       .abstract = true, .props = virtio_pci_generic_props, ... };
 *   const DeviceClass virtio_rng_pci_class = { .parent = &virtio_rng_pci_base_class, ... };
 *   realize: virtio_pci_realize(&r->vp, &rng_info, errp);
 *   reset:   virtio_pci_reset(&r->vp);    unrealize: virtio_pci_unrealize(&r->vp);
 *
 * Queue notifications are eventfds (KVM ioeventfds on the notify addresses, set up when
 * the driver sets DRIVER_OK): the vCPU does not leave KVM for them; the main loop runs
 * handle_queue.
 * A driver that breaks a queue (virtqueue.h) gets DEVICE_NEEDS_RESET and a configuration
 * interrupt (2.1.2); the device stops using that queue until the driver resets it.
 * Locking: everything runs with the machine lock held.
 */
#ifndef VIREO_VIRTIO_H
#define VIREO_VIRTIO_H

#include "vireo/log.h"
#include "vireo/pci.h"
#include "vireo/virtqueue.h"

#define VIRTIO_ID_NET       1
#define VIRTIO_ID_BLOCK     2
#define VIRTIO_ID_CONSOLE   3
#define VIRTIO_ID_RNG       4

#define VIRTIO_F_RING_INDIRECT_DESC 28
#define VIRTIO_F_RING_EVENT_IDX     29
#define VIRTIO_F_VERSION_1          32

#define VIRTIO_STATUS_ACKNOWLEDGE   0x01
#define VIRTIO_STATUS_DRIVER        0x02
#define VIRTIO_STATUS_DRIVER_OK     0x04
#define VIRTIO_STATUS_FEATURES_OK   0x08
#define VIRTIO_STATUS_NEEDS_RESET   0x40
#define VIRTIO_STATUS_FAILED        0x80

#define VIRTIO_MAX_QUEUES   16
#define VIRTIO_NO_VECTOR    0xffff
#define VIRTIO_CONFIG_MAX   256
#define VIRTIO_QUEUE_BATCH  64      /* requests one handler run may take (bounded work) */

typedef struct VirtioPci VirtioPci;

/* A queue's notification eventfd (KVM ioeventfd on the notify address) and its watch. */
typedef struct VirtioNotifier {
    VirtioPci *v;
    unsigned q;
    int fd;                         /* -1 when not set up */
    unsigned watch;                 /* GLib source id */
    unsigned rerun;                 /* GLib source id of a pending batch, or 0 */
    bool external;                  /* a kernel backend (vhost) reads it, not the loop */
} VirtioNotifier;

/* A queue's "call" eventfd for a kernel backend: signalled, it interrupts the driver
 * (an MSI irqfd while the queue's MSI-X vector is usable, a main-loop watch else). */
typedef struct VirtioCall {
    VirtioPci *v;
    unsigned q;
    int fd;                         /* -1 when not in use */
    int irqfd;                      /* MsiSink irqfd handle, or -1 */
    unsigned watch;
} VirtioCall;

typedef struct VirtioDeviceInfo {
    const char *name;               /* for messages: "virtio-rng-pci" */
    uint16_t device_id;             /* VIRTIO_ID_* */
    uint32_t class_code;            /* PCI class code */
    unsigned num_queues;            /* 1..VIRTIO_MAX_QUEUES */
    uint16_t queue_size;            /* largest queue the device accepts */
    uint64_t features;              /* device feature bits (transport bits are added) */
    size_t config_size;             /* device configuration bytes (0: none) */
    /* Optional: the type's default option ROM (PciDeviceInfo's three romfile fields). */
    const char *romfile, *romfile_package;
    bool romfile_firmware_only;
    /* The driver notified queue @q (it is enabled and the device is DRIVER_OK). A run
     * takes requests with vq_pop() until it returns 0: after VIRTIO_QUEUE_BATCH of them
     * it does, and the transport runs the handler again from the main loop. A handler
     * that stops early for its own reason (a rate limit) calls virtio_queue_kick()
     * when it may go on. */
    void (*handle_queue)(VirtioPci *v, unsigned q);
    /* Optional: refresh v->config before the driver reads it. */
    void (*config_read)(VirtioPci *v);
    /* Optional: the driver wrote @len bytes at @off of v->config. */
    void (*config_write)(VirtioPci *v, unsigned off, unsigned len);
    /* Optional: device part of a reset (the transport and queues are reset already). */
    void (*reset)(VirtioPci *v);
    /* Optional: called first in a reset, while the queues still hold their state (a
     * kernel backend is stopped here). */
    void (*before_reset)(VirtioPci *v);
    /* Optional: the driver wrote device_status (not 0: that is a reset); @old is the
     * status before. Called after FEATURES_OK was checked, before the queues of a new
     * DRIVER_OK are run. */
    void (*set_status)(VirtioPci *v, uint8_t old);
    /* Optional: requests still in flight. While there are any, a driver's reset (status
     * 0) waits: device_status keeps reading non-zero, as 4.1.4.3.2 lets the driver expect,
     * until the device calls virtio_pci_request_done() for the last one. */
    unsigned (*inflight)(VirtioPci *v);
} VirtioDeviceInfo;

/* Guest-visible transport state. */
typedef struct VirtioPciState {
    uint64_t driver_features;
    uint32_t device_feature_select, driver_feature_select;
    uint16_t config_vector, queue_select;
    uint16_t queue_vector[VIRTIO_MAX_QUEUES];
    uint8_t status, config_generation, isr;
} VirtioPciState;

struct VirtioPci {
    PciDevice pci;                  /* first member */
    const VirtioDeviceInfo *info;
    PciDeviceInfo pci_info;         /* IDs derive from the virtio ID */
    VirtioPciState s;
    VirtQueue vq[VIRTIO_MAX_QUEUES];
    uint8_t config[VIRTIO_CONFIG_MAX];
    LogBudget log;                  /* messages about the driver (and its device) */
    bool reset_pending;             /* the driver reset us with requests in flight */
    uint8_t cfg_cap;                /* config offset of the PCI_CFG access window (4.1.4.9) */
    /* Properties of the abstract type "virtio-pci" (virtio_pci_class). */
    bool ioeventfd;                 /* queue notifications as KVM ioeventfds */
    uint32_t vectors;               /* MSI-X vectors; VIRTIO_PCI_VECTORS_AUTO: queues + 1 */
    int disable_legacy;             /* OnOffAuto: there is no legacy interface (on/auto) */
    bool disable_modern;            /* only false: the modern interface is all there is */
    VirtioNotifier notifier[VIRTIO_MAX_QUEUES];
    VirtioCall call[VIRTIO_MAX_QUEUES];
    unsigned resume_source;         /* after a migration: take queued requests (GLib id) */
};

#define VIRTIO_PCI_VECTORS_AUTO UINT32_MAX

/* QEMU's abstract "virtio-pci" (the parent of each virtio-X-pci-base type): the
 * transport's migration state (virtio_pci_vmsd, hw/virtio/virtio-pci-state.c), so a
 * virtio device type describes only its own state; and the properties those base types
 * have (disable-legacy, disable-modern). */
extern const DeviceClass virtio_pci_class;
extern const VMStateDesc virtio_pci_vmsd;
extern const Property virtio_pci_generic_props[];
/* Feature bits the device offers (its own and the transport's). */
uint64_t virtio_pci_offered_features(const VirtioPci *v);
/* The transport properties QEMU gives each virtio-*-pci device itself, for its table. */
#define VIRTIO_PCI_DEVICE_PROPS(st, member) \
    PROP("ioeventfd", PROP_BOOL, st, member.ioeventfd, "on", \
         "on/off: queue notifications wake the main loop through a KVM ioeventfd " \
         "instead of exiting to the vCPU thread"), \
    PROP("vectors", PROP_U32, st, member.vectors, "4294967295", \
         "MSI-X vectors (0: INTx only; default: one per queue plus one)")

/* PCI realize of a virtio device: IDs, capabilities, BARs, MSI-X. */
bool virtio_pci_realize(VirtioPci *v, const VirtioDeviceInfo *info, GError **errp);
void virtio_pci_unrealize(VirtioPci *v);
/* Device reset (power-on, or the driver writing 0 to device_status). */
void virtio_pci_reset(VirtioPci *v);

/* A request finished; completes a pending driver reset after the last one. */
void virtio_pci_request_done(VirtioPci *v);

/* Whether the driver accepted feature @bit. */
bool virtio_has_feature(const VirtioPci *v, unsigned bit);
/* After pushing used entries on queue @q: interrupts the driver if it wants one. */
void virtio_notify(VirtioPci *v, unsigned q);
/* Runs queue @q's handler now (bounded, see handle_queue) if the driver enabled it and
 * the device is DRIVER_OK and not resetting. */
void virtio_queue_kick(VirtioPci *v, unsigned q);
/* The device configuration changed: bump the generation and interrupt. */
void virtio_notify_config(VirtioPci *v);
/* The driver broke queue @q (vq_pop returned -EIO): log and set NEEDS_RESET. */
void virtio_queue_broken(VirtioPci *v, unsigned q);

/* ---- kernel backends (vhost): queues that bypass Vireo's main loop ----
 * Hands queue @q's notifications to a kernel backend: returns its notify eventfd (the
 * KVM ioeventfd of its notify address, created if needed), which the main loop stops
 * watching; -1 when none can be made. */
int virtio_pci_take_notifier(VirtioPci *v, unsigned q);
/* The main loop watches the notifier again (handle_queue runs). */
void virtio_pci_return_notifier(VirtioPci *v, unsigned q);
/* A new "call" eventfd for queue @q (see VirtioCall); -1 on failure. */
int virtio_pci_take_call(VirtioPci *v, unsigned q);
void virtio_pci_return_call(VirtioPci *v, unsigned q);
/* Interrupts the driver for queue @q unconditionally (the backend decided; masked
 * vectors become pending). */
void virtio_pci_raise_queue(VirtioPci *v, unsigned q);

#endif
