/*
 * Coalesced writes (KVM_CAP_COALESCED_MMIO / KVM_CAP_COALESCED_PIO, api.rst 4.116):
 * writes to a registered zone do not exit; KVM appends them to a ring in a page of the
 * vCPU mapping shared by the whole VM, and Vireo delivers them, in order, to the memory
 * dispatch before handling any exit (so a later read or an unqueued write sees them),
 * when the vCPUs pause, and from a main-loop timer while a zone exists (so output of a
 * guest that stops exiting still appears).
 *
 * Zones come from MemRegion coalescing ranges through listeners on the system and
 * port-I/O address spaces. Everything here runs with the machine lock held.
 */
#include "kvm-int.h"
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define FLUSH_PERIOD_NS (50 * 1000 * 1000)

static void zone(KvmState *s, uint64_t addr, uint64_t len, bool pio, bool add)
{
    struct kvm_coalesced_mmio_zone z = { .addr = addr, .size = (uint32_t)len, .pio = pio };
    int e;

    if (!(pio ? s->have_coalesced_pio : s->have_coalesced_mmio))
        return;
    if (add)
        kvm_coalesced_flush(s);         /* nothing queued may overtake an earlier write */
    e = kvm_vm_ioctl(s, add ? KVM_REGISTER_COALESCED_MMIO : KVM_UNREGISTER_COALESCED_MMIO, &z);
    if (e < 0) {
        log_budget_warn(&s->log_zone, "kvm: %s coalesced %s zone 0x%" G_GINT64_MODIFIER
                        "x+%" G_GUINT64_FORMAT ": %s", add ? "adding" : "removing",
                        pio ? "PIO" : "MMIO", addr, len, g_strerror(-e));
        return;
    }
    if (!add) {
        kvm_coalesced_flush(s);         /* what was queued before the zone went */
        s->coalesced_zones--;
        return;
    }
    if (s->coalesced_zones++ == 0 && !timer_pending(s->coalesced_timer))
        timer_mod(s->coalesced_timer, clock_ns(clock_real()) + FLUSH_PERIOD_NS);
}

/* The port-I/O listener's zones are PIO zones, the system-memory listener's MMIO zones. */
static void coalescing_add(MemListener *l, MemRegion *r, uint64_t addr, uint64_t len)
{
    KvmState *s = l->opaque;
    zone(s, addr, len, l == &s->io_listener, true);
}

static void coalescing_del(MemListener *l, MemRegion *r, uint64_t addr, uint64_t len)
{
    KvmState *s = l->opaque;
    zone(s, addr, len, l == &s->io_listener, false);
}

static void flush_timer(void *opaque)
{
    KvmState *s = opaque;

    kvm_coalesced_flush(s);
    if (s->coalesced_zones)
        timer_mod(s->coalesced_timer, clock_ns(clock_real()) + FLUSH_PERIOD_NS);
}

void kvm_coalesced_init(KvmState *s)
{
    bool allowed = s->m->opts.coalesced_io;     /* -accel kvm,x-coalesced-io=off: A/B */

    s->coalesced_page = allowed ? kvm_check_ext(s, KVM_CAP_COALESCED_MMIO) : 0;
    s->have_coalesced_mmio = s->coalesced_page > 0;
    s->have_coalesced_pio = s->have_coalesced_mmio && kvm_check_ext(s, KVM_CAP_COALESCED_PIO);
    s->coalesced_timer = timer_new(clock_real(), flush_timer, s);
    s->listener.coalescing_add = coalescing_add;
    s->listener.coalescing_del = coalescing_del;
    s->io_listener = (MemListener){ .coalescing_add = coalescing_add,
                                    .coalescing_del = coalescing_del, .opaque = s };
}

void kvm_coalesced_destroy(KvmState *s)
{
    if (s->io_listener.opaque)
        as_del_listener(s->m->io, &s->io_listener);
    s->io_listener.opaque = NULL;
    timer_free(s->coalesced_timer);
    s->coalesced_timer = NULL;
}

/* The ring lives in every vCPU mapping at page coalesced_page; the first vCPU's will do. */
void kvm_coalesced_attach(KvmState *s, void *run)
{
    long page = sysconf(_SC_PAGESIZE);

    if (s->coalesced_ring || !s->have_coalesced_mmio ||
        (s->coalesced_page + 1) * page > s->run_size)
        return;
    s->coalesced_ring = (struct kvm_coalesced_mmio_ring *)((char *)run + s->coalesced_page * page);
    s->coalesced_max = (page - sizeof(struct kvm_coalesced_mmio_ring)) /
                       sizeof(struct kvm_coalesced_mmio);
}

void kvm_coalesced_flush(KvmState *s)
{
    struct kvm_coalesced_mmio_ring *ring = s->coalesced_ring;

    if (!ring)
        return;
    /* KVM is the producer (it advances last); we consume from first. The indices come
     * from shared memory: anything out of range means we stop rather than index past
     * the ring. */
    /* At most one ring's worth per call: vCPUs keep producing while we consume, and a
     * guest that writes a zone without pause must not keep this loop going. */
    for (unsigned done = 0; done < s->coalesced_max; done++) {
        uint32_t first = __atomic_load_n(&ring->first, __ATOMIC_RELAXED);
        uint32_t last = __atomic_load_n(&ring->last, __ATOMIC_ACQUIRE);
        if (first == last || first >= s->coalesced_max)
            break;
        struct kvm_coalesced_mmio e = ring->coalesced_mmio[first];
        uint64_t v = 0;
        if (e.len == 1 || e.len == 2 || e.len == 4 || e.len == 8) {
            memcpy(&v, e.data, e.len);
            as_write(e.pio ? s->m->io : s->m->sysmem, e.phys_addr, v, e.len);
        }
        __atomic_store_n(&ring->first, (first + 1) % s->coalesced_max, __ATOMIC_RELEASE);
    }
}
