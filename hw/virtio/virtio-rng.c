/*
 * "virtio-rng-pci": entropy device (virtio 1.2, 5.4). One queue; the driver posts
 * device-writable buffers and the device fills them from the host's getrandom(2).
 * Properties as QEMU names them: at most max-bytes per period milliseconds (default:
 * unlimited); a request that would exceed the budget waits for the next period.
 */
#include "vireo/virtio.h"
#include "vireo/machine.h"
#include <errno.h>
#include <sys/random.h>

typedef struct VirtioRng {
    VirtioPci vp;                     /* first member */
    uint64_t max_bytes;               /* property */
    uint32_t period_ms;               /* property */
    uint64_t budget;                  /* bytes left in this period */
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
    while (r->budget && vq_pending(vq)) {
        int ret = vq_pop(vq, &e);
        if (ret < 0) {
            virtio_queue_broken(v, 0);
            break;
        }
        if (ret == 0)
            break;
        size_t n = fill(e->iov + e->out_num, e->in_num, MIN(e->in_len, r->budget));
        if (r->max_bytes != UINT64_MAX)
            r->budget -= n;
        vq_push(vq, e, n);
        pushed = true;
    }
    if (pushed)
        virtio_notify(v, 0);
}

static void rng_period(void *opaque)
{
    VirtioRng *r = opaque;
    r->budget = r->max_bytes;
    timer_mod(r->period, clock_ns(clock_real()) + (int64_t)r->period_ms * 1000000);
    if ((r->vp.s.status & VIRTIO_STATUS_DRIVER_OK) && r->vp.vq[0].s.enabled)
        rng_handle_queue(&r->vp, 0);
}

static void rng_reset_dev(VirtioPci *v)
{
    VirtioRng *r = (VirtioRng *)v;
    r->budget = r->max_bytes;
}

static const VirtioDeviceInfo rng_info = {
    .name = "virtio-rng-pci",
    .device_id = VIRTIO_ID_RNG,
    .class_code = 0x00ff00,           /* unclassified "other", as QEMU */
    .num_queues = 1,
    .queue_size = 8,
    .handle_queue = rng_handle_queue,
    .reset = rng_reset_dev,
};

static bool rng_realize(Device *dev, GError **errp)
{
    VirtioRng *r = (VirtioRng *)dev;
    if (r->period_ms == 0) {
        g_set_error(errp, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                    "virtio-rng-pci: 'period' parameter expects a positive integer");
        return false;
    }
    if (!virtio_pci_realize(&r->vp, &rng_info, errp))
        return false;
    if (r->max_bytes != UINT64_MAX) {
        r->period = timer_new(clock_real(), rng_period, r);
        timer_mod(r->period, clock_ns(clock_real()) + (int64_t)r->period_ms * 1000000);
    }
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
    PROP("max-bytes", PROP_U64, VirtioRng, max_bytes, "18446744073709551615",
         "entropy bytes the guest may take per period (default: unlimited)"),
    PROP("period", PROP_U32, VirtioRng, period_ms, "65536", "rate-limit period in ms"),
    PROP_END,
};

const DeviceClass virtio_rng_pci_class = {
    .name = "virtio-rng-pci",
    .parent = &virtio_pci_class,
    .desc = "virtio entropy source (virtio-pci, modern)",
    .bus = BUS_PCI,
    .instance_size = sizeof(VirtioRng),
    .props = rng_props,
    .user_creatable = true,
    .realize = rng_realize,
    .reset = rng_reset,
    .unrealize = rng_unrealize,
};
