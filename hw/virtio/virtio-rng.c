/*
 * "virtio-rng-pci": entropy device (virtio 1.2, 5.4). One queue; the driver posts
 * device-writable buffers and the device fills them from the host's getrandom(2).
 * Rate limit as QEMU's virtio-rng: at most max-bytes (default 2^63 - 1, "unlimited")
 * per period ms (default 65536). The first request after a refill starts the period;
 * when it ends the quota is max-bytes again and waiting buffers are served. A device
 * reset does not refill the quota (a driver cannot reset its way past the limit).
 * Each handler run is bounded (VIRTIO_QUEUE_BATCH buffers; virtio.h).
 */
#include "vireo/virtio.h"
#include "vireo/machine.h"
#include <errno.h>
#include <sys/random.h>

#define MS 1000000LL

typedef struct VirtioRng {
    VirtioPci vp;                     /* first member */
    uint64_t max_bytes;               /* property */
    uint32_t period_ms;               /* property */
    uint64_t quota;                   /* bytes left in this period */
    bool period_running;              /* the refill timer is armed */
    Timer *period;
} VirtioRng;

static size_t fill(struct iovec *iov, unsigned n, uint64_t limit)
{
    size_t done = 0;
    for (unsigned i = 0; i < n && done < limit; i++) {
        size_t want = MIN(iov[i].iov_len, limit - done), got = 0;
        while (got < want) {
            ssize_t r = getrandom((uint8_t *)iov[i].iov_base + got, want - got, 0);
            if (r < 0 && errno == EINTR)
                continue;
            if (r <= 0)
                return done + got;
            got += r;
        }
        done += got;
    }
    return done;
}

static void rng_handle_queue(VirtioPci *v, unsigned q)
{
    VirtioRng *r = (VirtioRng *)v;
    VirtQueue *vq = &v->vq[0];
    VirtQueueElement *e;
    bool pushed = false;
    if (!r->period_running && vq_pending(vq)) {    /* a request starts the period */
        r->period_running = true;
        timer_mod(r->period, clock_ns(v->pci.dev.machine->clock) + r->period_ms * MS);
    }
    while (r->quota) {
        int ret = vq_pop(vq, &e);
        if (ret < 0) {
            virtio_queue_broken(v, 0);
            break;
        }
        if (ret == 0)
            break;                    /* empty, or this run's batch is done */
        size_t n = fill(e->iov + e->out_num, e->in_num, MIN(e->in_len, r->quota));
        r->quota -= n;
        vq_push(vq, e, n);
        pushed = true;
    }
    if (pushed)
        virtio_notify(v, 0);
}

/* The period is over: a full quota again, and buffers that waited for it are served. */
static void rng_period(void *opaque)
{
    VirtioRng *r = opaque;
    r->quota = r->max_bytes;
    r->period_running = false;
    virtio_queue_kick(&r->vp, 0);
}

static const VirtioDeviceInfo rng_info = {
    .name = "virtio-rng-pci",
    .device_id = VIRTIO_ID_RNG,
    .class_code = 0x00ff00,           /* unclassified "other", as QEMU */
    .num_queues = 1,
    .queue_size = 8,
    .handle_queue = rng_handle_queue,
};

static bool rng_realize(Device *dev, GError **errp)
{
    VirtioRng *r = (VirtioRng *)dev;
    if (r->period_ms == 0) {
        g_set_error(errp, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                    "virtio-rng-pci: 'period' parameter expects a positive integer");
        return false;
    }
    if (r->max_bytes > INT64_MAX) {
        g_set_error(errp, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT, "virtio-rng-pci: "
                    "'max-bytes' parameter must be non-negative, and less than 2^63");
        return false;
    }
    if (!virtio_pci_realize(&r->vp, &rng_info, errp))
        return false;
    r->quota = r->max_bytes;
    r->period = timer_new(dev->machine->clock, rng_period, r);
    return true;
}

static void rng_reset(Device *dev)
{
    VirtioRng *r = (VirtioRng *)dev;
    pci_device_reset(&r->vp.pci);
    virtio_pci_reset(&r->vp);
}

static void rng_unrealize(Device *dev)
{
    VirtioRng *r = (VirtioRng *)dev;
    timer_free(r->period);
    r->period = NULL;
    virtio_pci_unrealize(&r->vp);
}

static const Property rng_props[] = {
    VIRTIO_PCI_DEVICE_PROPS(VirtioRng, vp),
    PROP("max-bytes", PROP_U64, VirtioRng, max_bytes, "9223372036854775807",
         "entropy bytes the guest may take per period (default: unlimited)"),
    PROP("period", PROP_U32, VirtioRng, period_ms, "65536", "rate-limit period in ms"),
    PROP_END,
};

const DeviceClass virtio_rng_pci_base_class = {
    .name = "virtio-rng-pci-base", .parent = &virtio_pci_class, .abstract = true,
    .bus = BUS_PCI, .props = virtio_pci_generic_props,
};

const DeviceClass virtio_rng_pci_class = {
    .name = "virtio-rng-pci",
    .parent = &virtio_rng_pci_base_class,
    .desc = "virtio entropy source (virtio-pci, modern)",
    .bus = BUS_PCI,
    .instance_size = sizeof(VirtioRng),
    .props = rng_props,
    .user_creatable = true,
    .realize = rng_realize,
    .reset = rng_reset,
    .unrealize = rng_unrealize,
};
