/*
 * Migration state of the virtio-pci transport (the "virtio-pci" level of every
 * virtio-*-pci device, hw/core/device-state.c): the common configuration registers,
 * every queue (virtio 1.2, 2.7: addresses, size, the device's ring indices and event
 * state) and the device configuration bytes. Requests in flight are not part of it:
 * migration stops the VM and drains the block layer first, so every popped request has
 * been pushed; requests the driver queued but the device had not taken stay in the
 * available ring (guest RAM) and are taken when the VM runs again.
 */
#include "vireo/virtio.h"
#include <string.h>

#define KNOWN_STATUS (VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | \
                      VIRTIO_STATUS_DRIVER_OK | VIRTIO_STATUS_FEATURES_OK | \
                      VIRTIO_STATUS_NEEDS_RESET | VIRTIO_STATUS_FAILED)

static bool vector_ok(const VirtioPci *v, uint16_t vec)
{
    return vec == VIRTIO_NO_VECTOR || vec < v->pci.msix_vectors;
}

/* One queue, as strictly as the driver's writes to the common configuration. */
static bool queue_ok(VirtioPci *v, unsigned q, GError **errp)
{
    const char *name = v->info->name;
    VirtQueue *vq = &v->vq[q];
    const VirtQueueState *s = &vq->s;
    vq->broken = false;
    vq->error = NULL;
    vq->inflight = 0;
    if (q >= v->info->num_queues) {
        if (s->num || s->enabled)
            return vmstate_invalid(errp, "virtio-pci", "%s: queue %u does not exist",
                                   name, q);
        return true;
    }
    if (!s->num || s->num > v->info->queue_size)
        return vmstate_invalid(errp, "virtio-pci", "%s: queue %u size %u (at most %u)",
                               name, q, s->num, v->info->queue_size);
    if (s->enabled > 1 || s->event_idx > 1 || s->indirect > 1 || s->signalled_valid > 1 ||
        s->event_idx != virtio_has_feature(v, VIRTIO_F_RING_EVENT_IDX) ||
        s->indirect != virtio_has_feature(v, VIRTIO_F_RING_INDIRECT_DESC))
        return vmstate_invalid(errp, "virtio-pci", "%s: queue %u flags disagree with the "
                               "negotiated features", name, q);
    if (!vector_ok(v, v->s.queue_vector[q]))
        return vmstate_invalid(errp, "virtio-pci", "%s: queue %u MSI-X vector %u (has %u)",
                               name, q, v->s.queue_vector[q], v->pci.msix_vectors);
    if (s->enabled && !vq_validate(vq))
        return vmstate_invalid(errp, "virtio-pci", "%s: queue %u: %s", name, q, vq->error);
    return true;
}

static bool virtio_pci_state_post_load(void *state, int version, GError **errp)
{
    VirtioPci *v = state;
    const char *name = v->info->name;
    if (v->s.driver_features & ~virtio_pci_offered_features(v))
        return vmstate_invalid(errp, "virtio-pci", "%s: driver features %#llx were not "
                               "offered", name, (unsigned long long)v->s.driver_features);
    if ((v->s.status & ~KNOWN_STATUS) || v->s.isr > 3)
        return vmstate_invalid(errp, "virtio-pci", "%s: status %#x, ISR %#x", name,
                               v->s.status, v->s.isr);
    if (!vector_ok(v, v->s.config_vector))
        return vmstate_invalid(errp, "virtio-pci", "%s: config MSI-X vector %u (has %u)",
                               name, v->s.config_vector, v->pci.msix_vectors);
    for (unsigned q = 0; q < VIRTIO_MAX_QUEUES; q++)
        if (!queue_ok(v, q, errp))
            return false;
    return true;
}

static const VMStateField virtio_pci_fields[] = {
    VMS_FIELD(VirtioPci, s.driver_features),
    VMS_FIELD(VirtioPci, s.device_feature_select),
    VMS_FIELD(VirtioPci, s.driver_feature_select),
    VMS_FIELD(VirtioPci, s.config_vector),
    VMS_FIELD(VirtioPci, s.queue_select),
    VMS_ARRAY(VirtioPci, s.queue_vector),
    VMS_FIELD(VirtioPci, s.status),
    VMS_FIELD(VirtioPci, s.config_generation),
    VMS_FIELD(VirtioPci, s.isr),
    VMS_STRUCT_ARRAY(VirtioPci, vq, vmstate_virtqueue),
    VMS_BUF(VirtioPci, config),
    VMS_END
};

const VMStateDesc virtio_pci_vmsd = {
    .name = "virtio-pci",
    .version = 1,
    .min_version = 1,
    .fields = virtio_pci_fields,
    .post_load = virtio_pci_state_post_load,
};
