/*
 * Device side of a virtio split virtqueue (virtio 1.2, section 2.7): taking requests off
 * the available ring as scatter-gather lists of guest memory, and returning them on the
 * used ring, with notification suppression (VIRTIO_F_EVENT_IDX, 2.7.7/2.7.10).
 *
 * The rings live in guest memory and the guest is hostile: every index, length and
 * address is checked, every buffer must lie inside guest RAM (as_ram_ptr), descriptor
 * chains are bounded by the queue size (so loops end), an indirect table may not hold
 * another. A queue that breaks a rule is marked broken (the device should then set
 * DEVICE_NEEDS_RESET, 2.1.2) and returns nothing more until it is reset.
 *
 * Everything here runs with the machine lock held (or from the one thread that owns the
 * queue).
 */
#ifndef VIREO_VIRTQUEUE_H
#define VIREO_VIRTQUEUE_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>
#include "vireo/memory.h"
#include "vireo/vmstate.h"

#define VIRTQ_MAX_SIZE      32768     /* 2.7: "The maximum Queue Size value is 32768" */
#define VIRTQ_MAX_SG        1024      /* buffers per request (Linux: UIO_MAXIOV) */

#define VIRTQ_DESC_F_NEXT       1
#define VIRTQ_DESC_F_WRITE      2
#define VIRTQ_DESC_F_INDIRECT   4
#define VIRTQ_AVAIL_F_NO_INTERRUPT 1
#define VIRTQ_USED_F_NO_NOTIFY     1

/* Guest-visible queue state (the device's transport fills it in; migrated as is). */
typedef struct VirtQueueState {
    uint64_t desc, avail, used;   /* guest-physical addresses of the three parts */
    uint16_t num;                 /* queue size; 0: not configured */
    uint16_t last_avail_idx;      /* next avail ring slot the device will take */
    uint16_t used_idx;            /* next used ring slot the device will fill */
    uint16_t signalled_used;      /* used_idx at the last interrupt (EVENT_IDX) */
    uint8_t enabled, event_idx, indirect, signalled_valid;
} VirtQueueState;

typedef struct VirtQueue {
    VirtQueueState s;
    AddressSpace *as;             /* guest memory */
    bool notify_off;              /* vq_set_notification(false) with EVENT_IDX: vq_pop
                                     leaves avail_event behind, so the driver does not
                                     kick while the device is busy with the queue */
    bool broken;
    const char *error;            /* why it broke (static string) */
    unsigned inflight;            /* popped, not yet pushed */
    bool limited;                 /* a budget is set (vq_set_budget) */
    bool budget_hit;              /* vq_pop refused a request for lack of budget */
    unsigned budget;              /* requests vq_pop may still return */
} VirtQueue;

/* One request: the device-readable buffers (out) come first, then the device-writable
 * ones (in). The iovecs point into guest RAM. */
typedef struct VirtQueueElement {
    uint16_t head;                /* id returned on the used ring */
    unsigned out_num, in_num;
    uint64_t out_len, in_len;     /* total bytes of each kind */
    struct iovec iov[];           /* out_num + in_num entries */
} VirtQueueElement;

extern const VMStateDesc vmstate_virtqueue;

/* Resets @vq to unconfigured (keeps @as). */
void vq_reset(VirtQueue *vq, AddressSpace *as);
/* Checks the configured addresses and size (alignment, inside guest RAM); on failure the
 * queue is broken and false is returned. Transports call it when the driver enables it. */
bool vq_validate(VirtQueue *vq);
/* Requests available (0 when empty, disabled or broken). */
unsigned vq_pending(VirtQueue *vq);
/* Takes the next request: 1 and *@out (free with g_free) on success, 0 when there is
 * none, -EIO when the guest broke the queue (vq->error says how; the queue stays broken). */
int vq_pop(VirtQueue *vq, VirtQueueElement **out);
/* Gives back @elem, the last request taken and not pushed (a receive that found too few
 * buffers): the next vq_pop returns it again. Undo several pops in reverse order. */
void vq_unpop(VirtQueue *vq, VirtQueueElement *elem);
/* Bounded work: after @n more requests vq_pop() returns 0 even when more are
 * available, and vq_budget_exhausted() says so (0: no limit). */
void vq_set_budget(VirtQueue *vq, unsigned n);
bool vq_budget_exhausted(const VirtQueue *vq);
/* Returns @elem with @written bytes written into its in-buffers on the used ring (the
 * length is clamped to in_len and to the ring's 32 bits), and frees it. */
void vq_push(VirtQueue *vq, VirtQueueElement *elem, uint64_t written);
/* After pushing: whether the driver wants an interrupt now (2.7.7.2, 2.7.10). */
bool vq_should_notify(VirtQueue *vq);
/* Asks the driver to stop (false) or resume (true) notifying us of new requests. */
void vq_set_notification(VirtQueue *vq, bool enable);

#endif
