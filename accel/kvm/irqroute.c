/*
 * MSI irqfds (Linux Documentation/virt/kvm/api.rst: KVM_SET_GSI_ROUTING, KVM_IRQFD): an
 * eventfd that, when signalled, makes KVM inject an MSI message itself, so a kernel
 * backend (vhost-net) interrupts the guest without Vireo. Each irqfd gets a GSI above
 * the irqchip's 24 pins routed to its message. KVM_SET_GSI_ROUTING replaces the whole
 * table, so every commit also carries KVM's default routes for GSIs 0-23 (PIC pins for
 * 0-15, IOAPIC pin = GSI), exactly as KVM sets them up with the irqchip.
 * Devices reach this through m->msi (vireo/irq.h), never directly.
 */
#include "kvm-int.h"
#include <errno.h>
#include <string.h>

#define FIRST_MSI_GSI MACHINE_NUM_GSI

typedef struct MsiRoute {
    bool used;
    int fd;
    uint64_t addr;
    uint32_t data;
} MsiRoute;

static void add_irqchip(struct kvm_irq_routing_entry *e, unsigned gsi, unsigned chip,
                        unsigned pin)
{
    memset(e, 0, sizeof(*e));
    e->gsi = gsi;
    e->type = KVM_IRQ_ROUTING_IRQCHIP;
    e->u.irqchip.irqchip = chip;
    e->u.irqchip.pin = pin;
}

static int commit_routes(KvmState *s)
{
    GArray *r = s->msi_routes;
    unsigned n = 16 + MACHINE_NUM_GSI + r->len;
    struct kvm_irq_routing *t = g_malloc0(sizeof(*t) + n * sizeof(t->entries[0]));
    unsigned k = 0;
    for (unsigned gsi = 0; gsi < MACHINE_NUM_GSI; gsi++) {
        add_irqchip(&t->entries[k++], gsi, KVM_IRQCHIP_IOAPIC, gsi);
        if (gsi < 16)
            add_irqchip(&t->entries[k++], gsi, gsi < 8 ? KVM_IRQCHIP_PIC_MASTER
                                                       : KVM_IRQCHIP_PIC_SLAVE, gsi % 8);
    }
    for (guint i = 0; i < r->len; i++) {
        MsiRoute *m = &g_array_index(r, MsiRoute, i);
        if (!m->used)
            continue;
        struct kvm_irq_routing_entry *e = &t->entries[k++];
        memset(e, 0, sizeof(*e));
        e->gsi = FIRST_MSI_GSI + i;
        e->type = KVM_IRQ_ROUTING_MSI;
        e->u.msi.address_lo = m->addr;
        e->u.msi.address_hi = m->addr >> 32;
        e->u.msi.data = m->data;
    }
    t->nr = k;
    int ret = kvm_vm_ioctl(s, KVM_SET_GSI_ROUTING, t);
    g_free(t);
    return ret;
}

int kvm_msi_irqfd_add(KvmState *s, int fd, uint64_t addr, uint32_t data)
{
    if (!kvm_check_ext(s, KVM_CAP_IRQ_ROUTING))
        return -ENOSYS;
    if (!s->msi_routes)
        s->msi_routes = g_array_new(FALSE, TRUE, sizeof(MsiRoute));
    GArray *r = s->msi_routes;
    guint i = 0;
    while (i < r->len && g_array_index(r, MsiRoute, i).used)
        i++;
    if (i == r->len) {
        if (FIRST_MSI_GSI + i >= (guint)MAX(kvm_check_ext(s, KVM_CAP_IRQ_ROUTING), 1024))
            return -ENOSPC;
        g_array_set_size(r, i + 1);
    }
    g_array_index(r, MsiRoute, i) = (MsiRoute){ .used = true, .fd = fd, .addr = addr,
                                                .data = data };
    int e = commit_routes(s);
    if (e >= 0)
        e = kvm_irqfd(s, fd, FIRST_MSI_GSI + i, true);
    if (e < 0) {
        g_array_index(r, MsiRoute, i).used = false;
        commit_routes(s);
        return e;
    }
    return i;
}

int kvm_msi_irqfd_update(KvmState *s, int handle, uint64_t addr, uint32_t data)
{
    if (!s->msi_routes || handle < 0 || (guint)handle >= s->msi_routes->len)
        return -EINVAL;
    MsiRoute *m = &g_array_index(s->msi_routes, MsiRoute, handle);
    if (!m->used)
        return -EINVAL;
    if (m->addr == addr && m->data == data)
        return 0;
    m->addr = addr;
    m->data = data;
    return commit_routes(s);
}

void kvm_msi_irqfd_del(KvmState *s, int handle)
{
    if (!s->msi_routes || handle < 0 || (guint)handle >= s->msi_routes->len)
        return;
    MsiRoute *m = &g_array_index(s->msi_routes, MsiRoute, handle);
    if (!m->used)
        return;
    kvm_irqfd(s, m->fd, FIRST_MSI_GSI + handle, false);
    m->used = false;
    commit_routes(s);
}
