/*
 * Split virtqueue, device side (virtio 1.2 section 2.7). Layout in guest memory:
 *   descriptor table: num x { le64 addr; le32 len; le16 flags; le16 next; }   (16-aligned)
 *   available ring:   le16 flags; le16 idx; le16 ring[num]; le16 used_event;  (2-aligned)
 *   used ring:        le16 flags; le16 idx; {le32 id; le32 len} ring[num];
 *                     le16 avail_event;                                        (4-aligned)
 * Indices are free-running 16-bit counters; slots are idx % num.
 *
 * Memory ordering (2.7.13): the driver writes ring entries before it publishes avail->idx,
 * so idx is read with acquire semantics before the entries; we write used entries before
 * publishing used->idx with release semantics; a full fence separates publishing used->idx
 * from reading the driver's suppression fields (2.7.7.2), and enabling notifications from
 * re-checking for work.
 */
#include "vireo/virtqueue.h"
#include <endian.h>
#include <errno.h>
#include <string.h>

typedef struct VirtqDesc {
    uint64_t addr;
    uint32_t len;
    uint16_t flags, next;
} VirtqDesc;

const VMStateDesc vmstate_virtqueue = {
    .name = "virtqueue",
    .version = 1,
    .min_version = 1,
    .fields = (const VMStateField[]){
        VMS_FIELD(VirtQueueState, desc),
        VMS_FIELD(VirtQueueState, avail),
        VMS_FIELD(VirtQueueState, used),
        VMS_FIELD(VirtQueueState, num),
        VMS_FIELD(VirtQueueState, last_avail_idx),
        VMS_FIELD(VirtQueueState, used_idx),
        VMS_FIELD(VirtQueueState, signalled_used),
        VMS_FIELD(VirtQueueState, enabled),
        VMS_FIELD(VirtQueueState, event_idx),
        VMS_FIELD(VirtQueueState, indirect),
        VMS_FIELD(VirtQueueState, signalled_valid),
        VMS_END,
    },
};

static int vq_break(VirtQueue *vq, const char *why)
{
    if (!vq->broken) {
        vq->broken = true;
        vq->error = why;
    }
    return -EIO;
}

/* A 16-bit field of the available ring (read only) or of the used ring (written); NULL
 * when it is not in guest RAM, so a queue that was never validated cannot hurt us. */
static const uint16_t *avail_p(VirtQueue *vq, uint64_t off)
{
    return as_ram_ptr(vq->as, vq->s.avail + off, 2);
}

static uint16_t load16(const uint16_t *p)
{
    return le16toh(__atomic_load_n(p, __ATOMIC_ACQUIRE));
}

static uint16_t *used_field(VirtQueue *vq, uint64_t off)
{
    return as_ram_ptr_writable(vq->as, vq->s.used + off, 2);
}

void vq_reset(VirtQueue *vq, AddressSpace *as)
{
    memset(vq, 0, sizeof(*vq));
    vq->as = as;
}

bool vq_validate(VirtQueue *vq)
{
    const VirtQueueState *s = &vq->s;
    uint64_t n = s->num;

    vq->broken = false;
    vq->error = NULL;
    if (n == 0 || n > VIRTQ_MAX_SIZE)
        return vq_break(vq, "queue size out of range"), false;
    if ((s->desc & 15) || (s->avail & 1) || (s->used & 3))
        return vq_break(vq, "misaligned ring address"), false;
    if (!as_ram_ptr(vq->as, s->desc, 16 * n) ||
        !as_ram_ptr(vq->as, s->avail, 6 + 2 * n) ||
        !as_ram_ptr_writable(vq->as, s->used, 6 + 8 * n))
        return vq_break(vq, "ring outside guest RAM"), false;
    return true;
}

unsigned vq_pending(VirtQueue *vq)
{
    if (!vq->s.enabled || vq->broken || !vq->s.num)
        return 0;
    const uint16_t *idx = avail_p(vq, 2);
    if (!idx)
        return vq_break(vq, "available ring outside guest RAM"), 0;
    uint16_t n = load16(idx) - vq->s.last_avail_idx;
    if (n > vq->s.num)
        return vq_break(vq, "available index ran more than a queue ahead"), 0;
    return n;
}

/* Walk state of one descriptor chain. */
typedef struct Walk {
    const uint8_t *table;     /* current descriptor table (main or indirect) */
    uint32_t size;            /* its entries */
    unsigned nsg, out_num;
    uint64_t out_len, in_len;
    struct iovec sg[VIRTQ_MAX_SG];
} Walk;

static void read_desc(const Walk *w, uint32_t i, VirtqDesc *d)
{
    uint8_t raw[16];
    memcpy(raw, w->table + 16 * (size_t)i, 16);   /* one copy: the guest may change it */
    memcpy(&d->addr, raw, 8);
    memcpy(&d->len, raw + 8, 4);
    memcpy(&d->flags, raw + 12, 2);
    memcpy(&d->next, raw + 14, 2);
    d->addr = le64toh(d->addr);
    d->len = le32toh(d->len);
    d->flags = le16toh(d->flags);
    d->next = le16toh(d->next);
}

/* Switches the walk to the indirect table @d describes (2.7.5.3). */
static int enter_indirect(VirtQueue *vq, Walk *w, const VirtqDesc *d)
{
    if (!vq->s.indirect)
        return vq_break(vq, "indirect descriptor without VIRTIO_F_INDIRECT_DESC");
    if (d->flags & VIRTQ_DESC_F_NEXT)
        return vq_break(vq, "indirect descriptor with the NEXT flag");
    if (d->len == 0 || d->len % 16 || d->len / 16 > VIRTQ_MAX_SIZE)
        return vq_break(vq, "indirect table length invalid");
    w->table = as_ram_ptr(vq->as, d->addr, d->len);
    if (!w->table)
        return vq_break(vq, "indirect table outside guest RAM");
    w->size = d->len / 16;
    return 0;
}

/* Adds one buffer to the walk. */
static int add_buffer(VirtQueue *vq, Walk *w, const VirtqDesc *d)
{
    bool write = d->flags & VIRTQ_DESC_F_WRITE;

    if (!write && w->nsg > w->out_num)
        return vq_break(vq, "device-readable buffer after a device-writable one");
    if (d->len == 0)
        return 0;
    if (w->nsg == VIRTQ_MAX_SG)
        return vq_break(vq, "more than 1024 buffers in one request");
    void *p = write ? as_ram_ptr_writable(vq->as, d->addr, d->len)
                    : as_ram_ptr(vq->as, d->addr, d->len);
    if (!p)
        return vq_break(vq, "buffer outside guest RAM");
    w->sg[w->nsg++] = (struct iovec){ p, d->len };
    if (write) {
        w->in_len += d->len;
    } else {
        w->out_num++;
        w->out_len += d->len;
    }
    return 0;
}

static int walk_chain(VirtQueue *vq, Walk *w, uint16_t head)
{
    VirtqDesc d;
    uint32_t i = head, seen = 0;

    w->table = as_ram_ptr(vq->as, vq->s.desc, 16 * (uint64_t)vq->s.num);
    w->size = vq->s.num;
    if (!w->table)
        return vq_break(vq, "descriptor table outside guest RAM");
    read_desc(w, i, &d);
    if ((d.flags & VIRTQ_DESC_F_INDIRECT)) {
        if (enter_indirect(vq, w, &d) < 0)
            return -EIO;
        i = 0;
        read_desc(w, i, &d);
    }
    for (;;) {
        if (d.flags & VIRTQ_DESC_F_INDIRECT)
            return vq_break(vq, "indirect descriptor inside a chain or an indirect table");
        if (++seen > w->size)
            return vq_break(vq, "descriptor chain longer than its table (a loop?)");
        if (add_buffer(vq, w, &d) < 0)
            return -EIO;
        if (!(d.flags & VIRTQ_DESC_F_NEXT))
            return 0;
        i = d.next;
        if (i >= w->size)
            return vq_break(vq, "next descriptor index out of range");
        read_desc(w, i, &d);
    }
}

int vq_pop(VirtQueue *vq, VirtQueueElement **out)
{
    *out = NULL;
    if (vq_pending(vq) == 0)
        return vq->broken ? -EIO : 0;
    if (vq->limited && vq->budget == 0) {
        vq->budget_hit = true;          /* more work: the caller reschedules */
        return 0;
    }
    if (vq->inflight >= vq->s.num)      /* heads reused before we returned them */
        return vq_break(vq, "more requests in flight than the queue has entries");
    const uint16_t *slot = avail_p(vq, 4 + 2 * (uint64_t)(vq->s.last_avail_idx % vq->s.num));
    uint16_t head = slot ? load16(slot) : 0;
    if (!slot || head >= vq->s.num)
        return vq_break(vq, "available ring entry out of range");
    g_autofree Walk *w = g_new(Walk, 1);
    w->nsg = w->out_num = 0;
    w->out_len = w->in_len = 0;
    if (walk_chain(vq, w, head) < 0)
        return -EIO;
    VirtQueueElement *e = g_malloc(sizeof(*e) + w->nsg * sizeof(struct iovec));
    e->head = head;
    e->out_num = w->out_num;
    e->in_num = w->nsg - w->out_num;
    e->out_len = w->out_len;
    e->in_len = w->in_len;
    memcpy(e->iov, w->sg, w->nsg * sizeof(struct iovec));
    vq->s.last_avail_idx++;
    vq->inflight++;
    if (vq->limited)
        vq->budget--;
    if (vq->s.event_idx && !vq->notify_off) {   /* 2.7.10: how far we have read */
        uint16_t *ev = used_field(vq, 4 + 8 * (uint64_t)vq->s.num);
        if (ev)
            __atomic_store_n(ev, htole16(vq->s.last_avail_idx), __ATOMIC_RELAXED);
    }
    *out = e;
    return 1;
}

void vq_set_budget(VirtQueue *vq, unsigned n)
{
    vq->limited = n != 0;
    vq->budget = n;
    vq->budget_hit = false;
}

bool vq_budget_exhausted(const VirtQueue *vq)
{
    return vq->budget_hit;
}

void vq_unpop(VirtQueue *vq, VirtQueueElement *elem)
{
    if (!elem)
        return;
    vq->s.last_avail_idx--;
    if (vq->inflight)
        vq->inflight--;
    if (vq->limited)
        vq->budget++;
    g_free(elem);
}

void vq_push(VirtQueue *vq, VirtQueueElement *elem, uint64_t written)
{
    if (!elem)
        return;
    /* The used element's len is le32 (2.7.8): clamp, never truncate. */
    uint32_t len = MIN(MIN(written, elem->in_len), UINT32_MAX);
    /* The device wrote the in-buffers after vq_pop handed them out: a migration that
     * copied those pages meanwhile must copy them again. */
    for (unsigned i = elem->out_num; i < elem->out_num + elem->in_num; i++)
        as_mark_dirty(vq->as, elem->iov[i].iov_base, elem->iov[i].iov_len);
    uint8_t *ring = vq->s.num && !vq->broken
        ? as_ram_ptr_writable(vq->as, vq->s.used + 4, 8 * (uint64_t)vq->s.num) : NULL;
    uint16_t *idx = ring ? used_field(vq, 2) : NULL;
    if (idx) {
        uint32_t ent[2] = { htole32(elem->head), htole32(len) };
        memcpy(ring + 8 * (size_t)(vq->s.used_idx % vq->s.num), ent, 8);
        vq->s.used_idx++;
        __atomic_store_n(idx, htole16(vq->s.used_idx), __ATOMIC_RELEASE);
    }
    if (vq->inflight)
        vq->inflight--;
    g_free(elem);
}

/* 2.7.10: true when new_idx has passed event since old (all modulo 2^16). */
static bool need_event(uint16_t event, uint16_t new_idx, uint16_t old)
{
    return (uint16_t)(new_idx - event - 1) < (uint16_t)(new_idx - old);
}

bool vq_should_notify(VirtQueue *vq)
{
    if (!vq->s.num || vq->broken)
        return false;
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    if (vq->s.event_idx) {
        const uint16_t *ev = avail_p(vq, 4 + 2 * (uint64_t)vq->s.num);
        uint16_t old = vq->s.signalled_used, now = vq->s.used_idx;
        bool valid = vq->s.signalled_valid;
        vq->s.signalled_used = now;
        vq->s.signalled_valid = 1;
        return !valid || !ev || need_event(load16(ev), now, old);
    }
    const uint16_t *flags = avail_p(vq, 0);
    return !flags || !(load16(flags) & VIRTQ_AVAIL_F_NO_INTERRUPT);
}

void vq_set_notification(VirtQueue *vq, bool enable)
{
    vq->notify_off = !enable;
    if (!vq->s.num || vq->broken)
        return;
    if (vq->s.event_idx) {
        uint16_t *ev = used_field(vq, 4 + 8 * (uint64_t)vq->s.num);
        const uint16_t *idx = avail_p(vq, 2);
        if (enable && ev && idx)
            __atomic_store_n(ev, htole16(load16(idx)), __ATOMIC_RELAXED);
    } else {
        uint16_t *flags = used_field(vq, 0);
        if (flags)
            __atomic_store_n(flags, htole16(enable ? 0 : VIRTQ_USED_F_NO_NOTIFY),
                             __ATOMIC_RELAXED);
    }
    if (enable)
        __atomic_thread_fence(__ATOMIC_SEQ_CST);   /* the caller re-checks vq_pending */
}
