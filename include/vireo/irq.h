/*
 * Interrupts: one abstraction for a line a device raises and lowers, and MSI messages.
 * The board wires lines to KVM's irqchip (KVM_IRQ_LINE) through an IrqLine whose
 * handler it supplies; unit tests hand devices a fake line.
 */
#ifndef VIREO_IRQ_H
#define VIREO_IRQ_H

#include <stdint.h>

typedef struct IrqLine {
    void (*handler)(void *opaque, int n, int level);
    void *opaque;
    int n;
} IrqLine;

/* Sets the level of @irq (0 or 1); a NULL line or handler is ignored. */
static inline void irq_set(const IrqLine *irq, int level)
{
    if (irq && irq->handler)
        irq->handler(irq->opaque, irq->n, level);
}
static inline void irq_raise(const IrqLine *irq) { irq_set(irq, 1); }
static inline void irq_lower(const IrqLine *irq) { irq_set(irq, 0); }
/* Edge: raise then lower. */
static inline void irq_pulse(const IrqLine *irq) { irq_set(irq, 1); irq_set(irq, 0); }

/* Where MSI messages go (KVM_SIGNAL_MSI on the real machine). The irqfd operations are
 * optional (NULL without KVM): an eventfd that injects the message (@addr, @data) by
 * itself when signalled (KVM_IRQFD on an MSI route), so a kernel backend such as
 * vhost-net interrupts the guest without a detour through Vireo. */
typedef struct MsiSink {
    void (*send)(void *opaque, uint64_t addr, uint32_t data);
    /* Returns a handle >= 0, or -errno (the caller then signals in userspace). */
    int (*irqfd_add)(void *opaque, int fd, uint64_t addr, uint32_t data);
    /* The guest reprogrammed the message. */
    int (*irqfd_update)(void *opaque, int handle, uint64_t addr, uint32_t data);
    void (*irqfd_del)(void *opaque, int handle);
    void *opaque;
} MsiSink;

static inline void msi_send(const MsiSink *s, uint64_t addr, uint32_t data)
{
    if (s && s->send)
        s->send(s->opaque, addr, data);
}

#endif
