/*
 * Modern virtio-pci transport (virtio 1.2, 4.1). BAR 4 (64-bit, prefetchable, 16 KiB):
 *   0x0000 common configuration (4.1.4.3)   0x1000 ISR status (4.1.4.5)
 *   0x2000 device configuration (4.1.4.6)   0x3000 notifications, queue q at q * 4 (4.1.4.4)
 * each described by a vendor-specific capability (4.1.4); BAR 1 holds the MSI-X table and
 * PBA. No legacy (0.9.5) interface: the device IDs are 0x1040 + virtio ID (4.1.2.1).
 */
#include "vireo/virtio.h"
#include "vireo/machine.h"
#include <glib-unix.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#define VENDOR_VIRTIO       0x1af4
#define SUBSYS_ID           0x1100
#define BAR_MSIX            1
#define BAR_MODERN          4
#define BAR_SIZE            0x4000
#define OFF_COMMON          0x0000
#define OFF_ISR             0x1000
#define OFF_DEVICE          0x2000
#define OFF_NOTIFY          0x3000
#define REGION              0x1000
#define NOTIFY_MULT         4
#define COMMON_LEN          0x40

#define CAP_COMMON  1
#define CAP_NOTIFY  2
#define CAP_ISR     3
#define CAP_DEVICE  4
#define CAP_PCI_CFG 5
#define CFG_CAP_LEN 20          /* struct virtio_pci_cfg_cap: the capability + pci_cfg_data */

/* Common configuration layout (4.1.4.3). */
enum {
    CC_DFSELECT = 0x00, CC_DF = 0x04, CC_GFSELECT = 0x08, CC_GF = 0x0c,
    CC_MSIX_CONFIG = 0x10, CC_NUM_QUEUES = 0x12, CC_STATUS = 0x14, CC_CFG_GEN = 0x15,
    CC_Q_SELECT = 0x16, CC_Q_SIZE = 0x18, CC_Q_MSIX = 0x1a, CC_Q_ENABLE = 0x1c,
    CC_Q_NOFF = 0x1e, CC_Q_DESC = 0x20, CC_Q_AVAIL = 0x28, CC_Q_USED = 0x30,
};

static void put_le(uint8_t *b, unsigned off, uint64_t v, unsigned n)
{
    for (unsigned i = 0; i < n; i++)
        b[off + i] = v >> (8 * i);
}

static uint64_t get_le(const uint8_t *b, unsigned off, unsigned n)
{
    uint64_t v = 0;
    for (unsigned i = 0; i < n; i++)
        v |= (uint64_t)b[off + i] << (8 * i);
    return v;
}

static uint64_t offered_features(const VirtioPci *v)
{
    return v->info->features | (1ull << VIRTIO_F_VERSION_1) |
           (1ull << VIRTIO_F_RING_INDIRECT_DESC) | (1ull << VIRTIO_F_RING_EVENT_IDX);
}

uint64_t virtio_pci_offered_features(const VirtioPci *v)
{
    return offered_features(v);
}

bool virtio_has_feature(const VirtioPci *v, unsigned bit)
{
    return bit < 64 && (v->s.driver_features >> bit) & 1;
}

static VirtQueue *selected(VirtioPci *v)
{
    return v->s.queue_select < v->info->num_queues ? &v->vq[v->s.queue_select] : NULL;
}

/*
 * 4.1.3.1: "the driver MUST use 8-bit wide accesses for 8-bit wide fields, 16-bit wide
 * and aligned accesses for 16-bit wide fields and 32-bit wide and aligned accesses for
 * 32-bit and 64-bit wide fields. For 64-bit fields, the driver MAY access each of the
 * high and low 32-bit parts of the field independently." Anything else (a 4-byte write
 * at 0x17 spanning queue_select and queue_size, an 8-byte one at 0x13) is refused:
 * writes are ignored, reads return 0. A whole, aligned 8-byte access to a 64-bit field
 * is accepted as well (it means the same as its two halves).
 * Returns the offset of the field the access is for, or -1 when it is refused.
 */
static int common_field(uint64_t off, unsigned size)
{
    static const uint8_t width[CC_Q_USED + 8] = {
        [CC_DFSELECT] = 4, [CC_DF] = 4, [CC_GFSELECT] = 4, [CC_GF] = 4,
        [CC_MSIX_CONFIG] = 2, [CC_NUM_QUEUES] = 2, [CC_STATUS] = 1, [CC_CFG_GEN] = 1,
        [CC_Q_SELECT] = 2, [CC_Q_SIZE] = 2, [CC_Q_MSIX] = 2, [CC_Q_ENABLE] = 2,
        [CC_Q_NOFF] = 2, [CC_Q_DESC] = 8, [CC_Q_AVAIL] = 8, [CC_Q_USED] = 8,
    };
    if (off >= G_N_ELEMENTS(width))
        return -1;                      /* past queue_used: fields we do not offer */
    if (width[off] == size)
        return off;
    if (size == 4 && width[off] == 8)
        return off;                     /* the low half of a 64-bit field */
    if (size == 4 && off >= 4 && width[off - 4] == 8)
        return off - 4;                 /* the high half */
    return -1;
}

/* The value of common-configuration field @f (its offset); 64-bit fields whole. */
static uint64_t common_get(VirtioPci *v, unsigned f)
{
    VirtQueue *q = selected(v);
    uint32_t sel = v->s.device_feature_select, gsel = v->s.driver_feature_select;
    switch (f) {
    case CC_DFSELECT:    return sel;
    case CC_DF:          return sel < 2 ? (uint32_t)(offered_features(v) >> (32 * sel)) : 0;
    case CC_GFSELECT:    return gsel;
    case CC_GF:          return gsel < 2 ? (uint32_t)(v->s.driver_features >> (32 * gsel)) : 0;
    case CC_MSIX_CONFIG: return v->s.config_vector;
    case CC_NUM_QUEUES:  return v->info->num_queues;
    case CC_STATUS:      return v->s.status;
    case CC_CFG_GEN:     return v->s.config_generation;
    case CC_Q_SELECT:    return v->s.queue_select;
    }
    if (!q)
        return 0;                       /* 4.1.4.3.2: size reads 0 for absent queues */
    switch (f) {
    case CC_Q_SIZE:      return q->s.num;
    case CC_Q_MSIX:      return v->s.queue_vector[v->s.queue_select];
    case CC_Q_ENABLE:    return q->s.enabled;
    case CC_Q_NOFF:      return v->s.queue_select;
    case CC_Q_DESC:      return q->s.desc;
    case CC_Q_AVAIL:     return q->s.avail;
    case CC_Q_USED:      return q->s.used;
    }
    return 0;
}

static void log_driver(VirtioPci *v, const char *fmt, const char *what)
{
    log_budget_warn(&v->log, "%s: %s%s", v->info->name, fmt, what ? what : "");
}

static void raise_config_irq(VirtioPci *v)
{
    if (pci_msix_enabled(&v->pci)) {
        if (v->s.config_vector != VIRTIO_NO_VECTOR)
            pci_msix_notify(&v->pci, v->s.config_vector);
        return;
    }
    v->s.isr |= 2;
    pci_set_irq(&v->pci, 1);
}

void virtio_notify_config(VirtioPci *v)
{
    v->s.config_generation++;
    if (v->s.status & VIRTIO_STATUS_DRIVER_OK)
        raise_config_irq(v);
}

void virtio_queue_broken(VirtioPci *v, unsigned q)
{
    char why[160];
    if (q >= v->info->num_queues || (v->s.status & VIRTIO_STATUS_NEEDS_RESET))
        return;                         /* said once; nothing more until a reset */
    g_snprintf(why, sizeof(why), "queue %u: %s; device needs reset", q,
               v->vq[q].error ? v->vq[q].error : "invalid");
    log_driver(v, "the driver broke ", why);
    v->s.status |= VIRTIO_STATUS_NEEDS_RESET;
    virtio_notify_config(v);
}

static void raise_queue(VirtioPci *v, unsigned q);

void virtio_notify(VirtioPci *v, unsigned q)
{
    if (q < v->info->num_queues && vq_should_notify(&v->vq[q]))
        raise_queue(v, q);
}

/* ---- queue notifications through eventfds ---- */

/*
 * Bounded work per call: a handler run takes at most VIRTIO_QUEUE_BATCH requests off
 * the queue (the virtqueue's budget makes vq_pop return 0 after that). When requests
 * are left, the run is repeated from a main-loop source at default priority, so a driver
 * that re-offers buffers as fast as they are used gets its queue served in batches
 * between everything else the main loop does (QMP, signals, timers), instead of holding
 * the big lock forever.
 */
static void run_queue(VirtioPci *v, unsigned q);

static gboolean rerun_queue(gpointer opaque)
{
    VirtioNotifier *n = opaque;
    n->rerun = 0;
    run_queue(n->v, n->q);
    return G_SOURCE_REMOVE;
}

static void run_queue(VirtioPci *v, unsigned q)
{
    VirtQueue *vq = &v->vq[q];
    if (!vq->s.enabled || v->reset_pending || !(v->s.status & VIRTIO_STATUS_DRIVER_OK))
        return;
    vq_set_budget(vq, VIRTIO_QUEUE_BATCH);
    v->info->handle_queue(v, q);
    bool more = vq_budget_exhausted(vq);
    vq_set_budget(vq, 0);
    VirtioNotifier *n = &v->notifier[q];
    if (more && !n->rerun)
        n->rerun = g_idle_add_full(G_PRIORITY_DEFAULT, rerun_queue, n, NULL);
}

void virtio_queue_kick(VirtioPci *v, unsigned q)
{
    if (q < v->info->num_queues)
        run_queue(v, q);
}

static void reruns_cancel(VirtioPci *v)
{
    for (unsigned q = 0; q < VIRTIO_MAX_QUEUES; q++) {
        if (v->notifier[q].rerun)
            g_source_remove(v->notifier[q].rerun);
        v->notifier[q].rerun = 0;
    }
}

static gboolean notifier_ready(gint fd, GIOCondition cond, gpointer opaque)
{
    VirtioNotifier *n = opaque;
    uint64_t cnt;
    if (read(fd, &cnt, sizeof(cnt)) < 0) {
        /* EAGAIN: someone else consumed it; nothing to do */
    }
    run_queue(n->v, n->q);
    return G_SOURCE_CONTINUE;
}

static MemRegion *notify_region(VirtioPci *v)
{
    return &v->pci.bars[BAR_MODERN].mr;
}

/* Linux writes the 16-bit queue index (4.1.4.4); other widths still exit and are
 * handled by bar_write. */
static bool notifier_create(VirtioPci *v, unsigned q)
{
    VirtioNotifier *n = &v->notifier[q];
    if (n->fd >= 0)
        return true;
    n->fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (n->fd < 0)
        return false;                   /* notifications keep exiting: slower, correct */
    n->v = v;
    n->q = q;
    mr_add_eventfd(notify_region(v), OFF_NOTIFY + q * NOTIFY_MULT, 2, false, 0, n->fd);
    return true;
}

static void notifier_start(VirtioPci *v, unsigned q)
{
    VirtioNotifier *n = &v->notifier[q];
    if (!v->ioeventfd && n->fd < 0)
        return;                         /* ioeventfd=off: notifications exit (A/B) */
    if (!notifier_create(v, q) || n->watch || n->external)
        return;
    n->watch = g_unix_fd_add(n->fd, G_IO_IN, notifier_ready, n);
}

int virtio_pci_take_notifier(VirtioPci *v, unsigned q)
{
    VirtioNotifier *n = &v->notifier[q];
    if (q >= v->info->num_queues || !notifier_create(v, q))
        return -1;
    if (n->watch)
        g_source_remove(n->watch);
    n->watch = 0;
    n->external = true;
    return n->fd;
}

void virtio_pci_return_notifier(VirtioPci *v, unsigned q)
{
    VirtioNotifier *n = &v->notifier[q];
    if (q >= v->info->num_queues || !n->external)
        return;
    n->external = false;
    if (n->fd >= 0 && (v->s.status & VIRTIO_STATUS_DRIVER_OK)) {
        uint64_t cnt;
        if (read(n->fd, &cnt, sizeof(cnt)) < 0) {
            /* nothing pending */
        }
        n->watch = g_unix_fd_add(n->fd, G_IO_IN, notifier_ready, n);
    }
}

/* ---- call eventfds ---- */

static void raise_queue(VirtioPci *v, unsigned q)
{
    if (pci_msix_enabled(&v->pci)) {
        if (v->s.queue_vector[q] != VIRTIO_NO_VECTOR)
            pci_msix_notify(&v->pci, v->s.queue_vector[q]);
        return;
    }
    v->s.isr |= 1;
    pci_set_irq(&v->pci, 1);
}

void virtio_pci_raise_queue(VirtioPci *v, unsigned q)
{
    if (q < v->info->num_queues)
        raise_queue(v, q);
}

static gboolean call_ready(gint fd, GIOCondition cond, gpointer opaque)
{
    VirtioCall *c = opaque;
    uint64_t cnt;
    if (read(fd, &cnt, sizeof(cnt)) == sizeof(cnt) &&
        (c->v->s.status & VIRTIO_STATUS_DRIVER_OK))
        raise_queue(c->v, c->q);
    return G_SOURCE_CONTINUE;
}

/* irqfd while MSI-X is on and the queue's vector is usable and unmasked; else the main
 * loop reads the eventfd and interrupts through the PCI layer (pending bits, INTx). */
static void call_update(VirtioPci *v, unsigned q)
{
    VirtioCall *c = &v->call[q];
    const MsiSink *msi = &v->pci.dev.machine->msi;
    uint16_t vec = v->s.queue_vector[q];
    uint64_t addr;
    uint32_t data;
    if (c->fd < 0)
        return;
    bool direct = msi->irqfd_add && pci_msix_enabled(&v->pci) && vec != VIRTIO_NO_VECTOR &&
                  !pci_msix_is_masked(&v->pci, vec) &&
                  (pci_get_word(&v->pci, PCI_COMMAND) & PCI_COMMAND_MASTER) &&
                  pci_msix_get_message(&v->pci, vec, &addr, &data);
    if (direct && c->irqfd >= 0 && msi->irqfd_update(msi->opaque, c->irqfd, addr, data) >= 0)
        return;
    if (direct && c->irqfd < 0)
        c->irqfd = msi->irqfd_add(msi->opaque, c->fd, addr, data);
    if (direct && c->irqfd >= 0) {
        if (c->watch)
            g_source_remove(c->watch);
        c->watch = 0;
        return;
    }
    if (c->irqfd >= 0)
        msi->irqfd_del(msi->opaque, c->irqfd);
    c->irqfd = -1;
    if (!c->watch)
        c->watch = g_unix_fd_add(c->fd, G_IO_IN, call_ready, c);
}

static void calls_update(PciDevice *d)
{
    VirtioPci *v = (VirtioPci *)d;
    for (unsigned q = 0; q < VIRTIO_MAX_QUEUES; q++)
        call_update(v, q);
}

int virtio_pci_take_call(VirtioPci *v, unsigned q)
{
    VirtioCall *c = &v->call[q];
    if (q >= v->info->num_queues)
        return -1;
    if (c->fd < 0) {
        c->fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
        if (c->fd < 0)
            return -1;
        c->v = v;
        c->q = q;
        c->irqfd = -1;
    }
    call_update(v, q);
    return c->fd;
}

void virtio_pci_return_call(VirtioPci *v, unsigned q)
{
    VirtioCall *c = &v->call[q];
    const MsiSink *msi = &v->pci.dev.machine->msi;
    if (q >= VIRTIO_MAX_QUEUES || c->fd < 0)
        return;
    if (c->irqfd >= 0)
        msi->irqfd_del(msi->opaque, c->irqfd);
    if (c->watch)
        g_source_remove(c->watch);
    call_ready(c->fd, G_IO_IN, c);      /* a last signal must not be lost */
    close(c->fd);
    *c = (VirtioCall){ .fd = -1, .irqfd = -1 };
}

static void notifiers_stop(VirtioPci *v)
{
    for (unsigned q = 0; q < VIRTIO_MAX_QUEUES; q++) {
        VirtioNotifier *n = &v->notifier[q];
        virtio_pci_return_call(v, q);
        if (n->fd < 0)
            continue;
        mr_del_eventfd(notify_region(v), OFF_NOTIFY + q * NOTIFY_MULT, 2, false, 0, n->fd);
        if (n->watch)
            g_source_remove(n->watch);
        n->watch = 0;
        n->external = false;
        close(n->fd);
        n->fd = -1;
    }
}

void virtio_pci_reset(VirtioPci *v)
{
    if (v->info->before_reset)
        v->info->before_reset(v);
    notifiers_stop(v);
    reruns_cancel(v);
    v->reset_pending = false;
    memset(&v->s, 0, sizeof(v->s));
    v->s.config_vector = VIRTIO_NO_VECTOR;
    for (unsigned i = 0; i < VIRTIO_MAX_QUEUES; i++) {
        v->s.queue_vector[i] = VIRTIO_NO_VECTOR;
        vq_reset(&v->vq[i], v->pci.dev.machine->sysmem);
        v->vq[i].s.num = i < v->info->num_queues ? v->info->queue_size : 0;
    }
    pci_set_irq(&v->pci, 0);
    if (v->info->reset)
        v->info->reset(v);
}

/* FEATURES_OK only sticks if the driver took VERSION_1 and nothing we did not offer. */
static void write_status(VirtioPci *v, uint8_t val)
{
    if (v->reset_pending)
        return;                         /* the reset finishes when the requests do */
    if (val == 0) {
        if (v->info->inflight && v->info->inflight(v))
            v->reset_pending = true;
        else
            virtio_pci_reset(v);
        return;
    }
    uint8_t old = v->s.status;
    if ((val & VIRTIO_STATUS_FEATURES_OK) && !(old & VIRTIO_STATUS_FEATURES_OK) &&
        ((v->s.driver_features & ~offered_features(v)) ||
         !virtio_has_feature(v, VIRTIO_F_VERSION_1)))
        val &= ~VIRTIO_STATUS_FEATURES_OK;
    v->s.status = val | (old & VIRTIO_STATUS_NEEDS_RESET);
    if ((val & VIRTIO_STATUS_FEATURES_OK) && !(old & VIRTIO_STATUS_FEATURES_OK)) {
        for (unsigned i = 0; i < v->info->num_queues; i++) {
            v->vq[i].s.event_idx = virtio_has_feature(v, VIRTIO_F_RING_EVENT_IDX);
            v->vq[i].s.indirect = virtio_has_feature(v, VIRTIO_F_RING_INDIRECT_DESC);
        }
    }
    if (v->info->set_status)
        v->info->set_status(v, old);
    if ((val & VIRTIO_STATUS_DRIVER_OK) && !(old & VIRTIO_STATUS_DRIVER_OK))
        for (unsigned i = 0; i < v->info->num_queues; i++) {
            if (!v->vq[i].s.enabled || v->notifier[i].external)
                continue;
            notifier_start(v, i);
            run_queue(v, i);                                   /* requests queued early */
        }
}

void virtio_pci_request_done(VirtioPci *v)
{
    if (v->reset_pending && !v->info->inflight(v))
        virtio_pci_reset(v);
}

static void write_queue_enable(VirtioPci *v, VirtQueue *q, uint16_t val)
{
    if (val != 1 || q->s.enabled)
        return;                         /* 4.1.4.3.2: only 1 may be written */
    if (!vq_validate(q)) {
        virtio_queue_broken(v, q - v->vq);
        return;
    }
    q->s.enabled = 1;
}

/* A vector the device does not have reads back as NO_VECTOR, which is how the driver
 * learns that the mapping failed (4.1.4.3.2 / 4.1.5.1.2). */
static uint16_t checked_vector(const VirtioPci *v, uint16_t vec)
{
    return vec < v->pci.msix_vectors ? vec : VIRTIO_NO_VECTOR;
}

/* Writes common-configuration field @f (its offset) with @val (64-bit fields whole).
 * The queue is looked up for this one field, so a queue_select write can never be
 * combined with a write through the queue it selects. */
static void common_set(VirtioPci *v, unsigned f, uint64_t val)
{
    VirtQueue *q = selected(v);
    bool q_writable = q && !q->s.enabled;
    switch (f) {
    case CC_DFSELECT:
        v->s.device_feature_select = val;
        break;
    case CC_GFSELECT:
        v->s.driver_feature_select = val;
        break;
    case CC_GF:
        if (v->s.driver_feature_select < 2 && !(v->s.status & VIRTIO_STATUS_FEATURES_OK)) {
            unsigned sh = 32 * v->s.driver_feature_select;
            v->s.driver_features = (v->s.driver_features & ~(0xffffffffull << sh)) |
                                   ((uint64_t)(uint32_t)val << sh);
        }
        break;
    case CC_MSIX_CONFIG:
        v->s.config_vector = checked_vector(v, val);
        break;
    case CC_STATUS:
        write_status(v, val);
        break;
    case CC_Q_SELECT:
        v->s.queue_select = val;
        break;
    case CC_Q_MSIX:
        if (q) {
            v->s.queue_vector[q - v->vq] = checked_vector(v, val);
            call_update(v, q - v->vq);          /* a kernel backend's irqfd follows */
        }
        break;
    case CC_Q_SIZE:
        if (q_writable && val && val <= v->info->queue_size)
            q->s.num = val;
        break;
    case CC_Q_ENABLE:
        if (q)
            write_queue_enable(v, q, val);
        break;
    case CC_Q_DESC:
        if (q_writable)
            q->s.desc = val;
        break;
    case CC_Q_AVAIL:
        if (q_writable)
            q->s.avail = val;
        break;
    case CC_Q_USED:
        if (q_writable)
            q->s.used = val;
        break;
    default:                            /* read-only: num_queues, generation, notify_off */
        break;
    }
}

static void common_refused(VirtioPci *v, const char *op, uint64_t off, unsigned size)
{
    log_budget_warn(&v->log, "%s: %u-byte %s at common configuration offset 0x%" PRIx64
                    " is not one aligned field (virtio 1.2 4.1.3.1), ignored",
                    v->info->name, size, op, off);
}

static uint64_t common_read(VirtioPci *v, uint64_t off, unsigned size)
{
    int f = common_field(off, size);
    /* A read narrower than its field, at the field's start (or a 64-bit field's high
     * half), gets the field's low bytes: QEMU answers so, and iPXE before 2023 (Debian
     * 12's ipxe-qemu among them) reads the 32-bit feature words 16 bits wide. Reads
     * have no side effects here; writes stay whole fields only. */
    if (f < 0 && size < 4 && (f = common_field(off, 4)) < 0)
        f = size < 2 ? common_field(off, 2) : -1;
    if (f < 0) {
        common_refused(v, "read", off, size);
        return 0;
    }
    uint64_t val = common_get(v, f) >> (8 * (off - f));
    return size == 8 ? val : val & ((1ull << (8 * size)) - 1);
}

static void common_write(VirtioPci *v, uint64_t off, uint64_t val, unsigned size)
{
    int f = common_field(off, size);
    if (f < 0) {
        common_refused(v, "write", off, size);
        return;
    }
    if (size == 4 && off - f < 8 && (f == CC_Q_DESC || f == CC_Q_AVAIL || f == CC_Q_USED)) {
        unsigned sh = 8 * (off - f);    /* one half of a 64-bit field */
        val = (common_get(v, f) & ~(0xffffffffull << sh)) | ((val & 0xffffffffull) << sh);
    }
    common_set(v, f, val);
}

static uint64_t bar_read(void *opaque, uint64_t addr, unsigned size)
{
    VirtioPci *v = opaque;
    if (addr < OFF_COMMON + COMMON_LEN)
        return common_read(v, addr - OFF_COMMON, size);
    if (addr == OFF_ISR) {              /* read clears, and drops INTx (4.1.4.5) */
        uint8_t isr = v->s.isr;
        v->s.isr = 0;
        pci_set_irq(&v->pci, 0);
        return isr;
    }
    if (addr >= OFF_DEVICE && addr - OFF_DEVICE + size <= v->info->config_size) {
        if (v->info->config_read)
            v->info->config_read(v);
        return get_le(v->config, addr - OFF_DEVICE, size);
    }
    return 0;
}

static void bar_write(void *opaque, uint64_t addr, uint64_t val, unsigned size)
{
    VirtioPci *v = opaque;
    if (addr < OFF_COMMON + COMMON_LEN) {
        common_write(v, addr - OFF_COMMON, val, size);
    } else if (addr >= OFF_DEVICE && addr - OFF_DEVICE + size <= v->info->config_size) {
        put_le(v->config, addr - OFF_DEVICE, val, size);
        if (v->info->config_write)
            v->info->config_write(v, addr - OFF_DEVICE, size);
    } else if (addr >= OFF_NOTIFY && addr < OFF_NOTIFY + REGION) {
        unsigned q = (addr - OFF_NOTIFY) / NOTIFY_MULT;
        if (q < v->info->num_queues && v->notifier[q].external) {
            uint64_t one = 1;                     /* the kernel backend's kick */
            if (write(v->notifier[q].fd, &one, sizeof(one)) < 0) {
                /* the counter is saturated: a kick is pending anyway */
            }
        } else if (q < v->info->num_queues) {
            virtio_queue_kick(v, q);
        }
    }
}

/* Accesses reach bar_read/bar_write whole (up to 8 bytes), so the common configuration
 * sees the width the driver used and can refuse the ones 4.1.3.1 forbids. */
static const MemOps virtio_bar_ops = {
    .read = bar_read, .write = bar_write, .min_access = 1, .max_access = 8,
};

/* One virtio_pci_cap (4.1.4): vendor capability naming a structure in BAR 4. */
static bool add_cap(VirtioPci *v, uint8_t type, uint32_t off, uint32_t len, GError **errp)
{
    unsigned size = type == CAP_NOTIFY ? 20 : 16;
    int c = pci_add_capability(&v->pci, PCI_CAP_ID_VNDR, 0, size);
    if (c < 0) {
        g_set_error(errp, G_IO_ERROR, G_IO_ERROR_FAILED,
                    "%s: no room for its PCI capabilities", v->info->name);
        return false;
    }
    pci_set_byte(&v->pci, c + 2, size);         /* cap_len */
    pci_set_byte(&v->pci, c + 3, type);         /* cfg_type */
    pci_set_byte(&v->pci, c + 4, BAR_MODERN);
    pci_set_long(&v->pci, c + 8, off);
    pci_set_long(&v->pci, c + 12, len);
    if (type == CAP_NOTIFY)
        pci_set_long(&v->pci, c + 16, NOTIFY_MULT);
    return true;
}

/* The PCI configuration access capability (4.1.4.9): the driver points cap.bar,
 * cap.offset and cap.length (1, 2 or 4) at a part of BAR 4 and reads or writes it
 * through pci_cfg_data. "The device MUST present at least one VIRTIO_PCI_CAP_PCI_CFG
 * capability", and iPXE's virtio-net probe fails without it (and uses it when the BAR
 * cannot be mapped). Returns the window's BAR offset and width, false if the driver's
 * values name none (then, as in QEMU, nothing happens). */
static bool cfg_window(VirtioPci *v, uint32_t *off, unsigned *len)
{
    unsigned c = v->cfg_cap;
    *off = pci_get_long(&v->pci, c + 8);
    *len = pci_get_long(&v->pci, c + 12);
    return pci_get_byte(&v->pci, c + 4) == BAR_MODERN && (*len == 1 || *len == 2 ||
           *len == 4) && !(*off & (*len - 1)) && *off <= BAR_SIZE - *len;
}

/* Whether a config access [addr, addr + len) covers pci_cfg_data's first byte: what
 * makes it a window access (QEMU's rule). */
static bool cfg_data_access(const VirtioPci *v, uint32_t addr, unsigned len)
{
    unsigned data = v->cfg_cap + 16;
    return v->cfg_cap && addr <= data && data < addr + len;
}

static void cfg_window_write(PciDevice *d, uint32_t addr, uint32_t val, unsigned len)
{
    VirtioPci *v = (VirtioPci *)d;
    uint32_t off;
    unsigned n;

    if (cfg_data_access(v, addr, len) && cfg_window(v, &off, &n))
        bar_write(v, off, get_le(v->pci.state.config, v->cfg_cap + 16, n), n);
}

static void cfg_window_read(PciDevice *d, uint32_t addr, unsigned len, uint32_t *val)
{
    VirtioPci *v = (VirtioPci *)d;
    uint32_t off;
    unsigned n;

    if (!cfg_data_access(v, addr, len) || !cfg_window(v, &off, &n))
        return;
    put_le(v->pci.state.config, v->cfg_cap + 16, bar_read(v, off, n), n);
    *val = get_le(v->pci.state.config, addr, len);
}

static bool add_cfg_cap(VirtioPci *v, GError **errp)
{
    int c = pci_add_capability(&v->pci, PCI_CAP_ID_VNDR, 0, CFG_CAP_LEN);
    if (c < 0) {
        g_set_error(errp, G_IO_ERROR, G_IO_ERROR_FAILED,
                    "%s: no room for its PCI capabilities", v->info->name);
        return false;
    }
    pci_set_byte(&v->pci, c + 2, CFG_CAP_LEN);
    pci_set_byte(&v->pci, c + 3, CAP_PCI_CFG);
    pci_set_wmask(&v->pci, c + 4, 1, 0xff);             /* cap.bar */
    pci_set_wmask(&v->pci, c + 8, 12, 0xffffffff);      /* offset, length, pci_cfg_data */
    v->cfg_cap = c;
    return true;
}

/* The values of the transport's properties Vireo can honour. */
static bool check_props(VirtioPci *v, const VirtioDeviceInfo *info, GError **errp)
{
    const char *why = NULL;
    if (v->disable_legacy == ON_OFF_AUTO_OFF)
        why = "disable-legacy=off: Vireo's virtio-pci has no legacy (0.9.5) interface";
    else if (v->disable_modern)
        why = "disable-modern=on: the modern interface is the only one Vireo has";
    else if (v->vectors != VIRTIO_PCI_VECTORS_AUTO && v->vectors > PCI_MSIX_MAX_VECTORS)
        why = "vectors: at most 64 MSI-X vectors";
    if (why)
        g_set_error(errp, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED, "-device %s: %s",
                    info->name, why);
    return !why;
}

bool virtio_pci_realize(VirtioPci *v, const VirtioDeviceInfo *info, GError **errp)
{
    for (unsigned q = 0; q < VIRTIO_MAX_QUEUES; q++) {
        v->notifier[q] = (VirtioNotifier){ .v = v, .q = q, .fd = -1 };
        v->call[q] = (VirtioCall){ .fd = -1, .irqfd = -1 };
    }
    v->pci.msix_changed = calls_update;
    g_assert(info->num_queues >= 1 && info->num_queues <= VIRTIO_MAX_QUEUES &&
             info->queue_size >= 1 && info->queue_size <= VIRTQ_MAX_SIZE &&
             info->config_size <= VIRTIO_CONFIG_MAX && info->handle_queue);
    v->pci_info = (PciDeviceInfo){ .vendor_id = VENDOR_VIRTIO, .device_id = 0x1040 + info->device_id,
                           .subsystem_vendor_id = VENDOR_VIRTIO, .subsystem_id = SUBSYS_ID,
                           .class_code = info->class_code, .revision = 1, .irq_pin = 1,
                           .romfile = info->romfile, .romfile_package = info->romfile_package,
                           .romfile_firmware_only = info->romfile_firmware_only,
                           .config_write = cfg_window_write, .config_read = cfg_window_read };
    v->cfg_cap = 0;
    v->info = info;
    v->log = (LogBudget)LOG_BUDGET_DEFAULT;
    if (!check_props(v, info, errp) || !pci_device_realize(&v->pci, &v->pci_info, errp))
        return false;
    /* vectors=0: no MSI-X, INTx and the ISR only (as QEMU). */
    unsigned nvec = v->vectors == VIRTIO_PCI_VECTORS_AUTO ? info->num_queues + 1 : v->vectors;
    if (pci_register_bar(&v->pci, BAR_MODERN, PCI_BAR_MEM64 | PCI_BAR_PREFETCH, BAR_SIZE,
                         &virtio_bar_ops, v) < 0 ||
        (nvec && pci_msix_init_exclusive_bar(&v->pci, nvec, BAR_MSIX) < 0)) {
        g_set_error(errp, G_IO_ERROR, G_IO_ERROR_FAILED, "%s: cannot set up its BARs",
                    info->name);
        pci_device_unrealize(&v->pci);  /* a failed realize leaves nothing on the bus */
        return false;
    }
    if (!add_cap(v, CAP_COMMON, OFF_COMMON, COMMON_LEN, errp) ||
        !add_cap(v, CAP_ISR, OFF_ISR, 4, errp) ||
        (info->config_size && !add_cap(v, CAP_DEVICE, OFF_DEVICE, info->config_size, errp)) ||
        !add_cap(v, CAP_NOTIFY, OFF_NOTIFY, info->num_queues * NOTIFY_MULT, errp) ||
        !add_cfg_cap(v, errp)) {
        pci_device_unrealize(&v->pci);
        return false;
    }
    virtio_pci_reset(v);
    return true;
}

void virtio_pci_unrealize(VirtioPci *v)
{
    if (v->resume_source)
        g_source_remove(v->resume_source);
    v->resume_source = 0;
    if (v->info) {
        notifiers_stop(v);
        reruns_cancel(v);
    }
    pci_device_unrealize(&v->pci);
}

/* The interface choice every virtio-*-pci-base type has (QEMU's generic properties). */
const Property virtio_pci_generic_props[] = {
    PROP_ENUM_("disable-legacy", VirtioPci, disable_legacy, on_off_auto_names, "on",
               "on/auto (no legacy interface)"),
    PROP("disable-modern", PROP_BOOL, VirtioPci, disable_modern, "off", "off only"),
    PROP_END
};

/* After a migration: queue notifications as before, and the requests the driver queued
 * while the VM was in flight are taken once the VM runs (from the main loop, after the
 * destination has taken over the disks). */
static gboolean resume_queues(gpointer opaque)
{
    VirtioPci *v = opaque;
    v->resume_source = 0;
    if (!(v->s.status & VIRTIO_STATUS_DRIVER_OK) || (v->s.status & VIRTIO_STATUS_NEEDS_RESET))
        return G_SOURCE_REMOVE;
    for (unsigned i = 0; i < v->info->num_queues; i++)
        if (v->vq[i].s.enabled)
            v->info->handle_queue(v, i);
    return G_SOURCE_REMOVE;
}

static void virtio_pci_post_load(Device *dev)
{
    VirtioPci *v = (VirtioPci *)dev;
    notifiers_stop(v);
    v->reset_pending = false;
    if (!(v->s.status & VIRTIO_STATUS_DRIVER_OK))
        return;
    for (unsigned i = 0; i < v->info->num_queues; i++)
        if (v->vq[i].s.enabled)
            notifier_start(v, i);
    if (!v->resume_source)
        v->resume_source = g_idle_add(resume_queues, v);
}

/* QEMU's abstract "virtio-pci": the transport and its migration state. */
const DeviceClass virtio_pci_class = {
    .name = "virtio-pci",
    .desc = "the base of virtio-pci device types",
    .parent = &pci_device_class,
    .abstract = true,
    .bus = BUS_PCI,
    .vmsd = &virtio_pci_vmsd,
    .state_offset = 0,              /* virtio_pci_vmsd describes VirtioPci itself */
    .post_load = virtio_pci_post_load,
};
