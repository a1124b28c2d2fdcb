/*
 * The VM's in-kernel state for migration and snapshots: PIC, IOAPIC and PIT
 * (KVM_GET/SET_IRQCHIP, KVM_GET/SET_PIT2), kvmclock (KVM_GET/SET_CLOCK), and each
 * vCPU's state (target/i386's X86CPUState, read and written here because only
 * accel/kvm holds the fds).
 *
 * kvmclock: the value read when the VM stopped is written back when it runs again
 * (QEMU's kvmclock device does the same), so the guest's clock does not count the
 * time it spent stopped or in flight and never goes backwards.
 */
#include "kvm-int.h"
#include <errno.h>
#include <string.h>

static bool kvm_err(GError **errp, const char *what, int e)
{
    g_set_error(errp, G_IO_ERROR, g_io_error_from_errno(-e), "kvm: %s: %s", what,
                g_strerror(-e));
    return false;
}

bool kvm_vm_state_get(KvmState *s, KvmVmState *st, GError **errp)
{
    memset(st, 0, sizeof(*st));
    st->pic[0].chip_id = KVM_IRQCHIP_PIC_MASTER;
    st->pic[1].chip_id = KVM_IRQCHIP_PIC_SLAVE;
    st->ioapic.chip_id = KVM_IRQCHIP_IOAPIC;
    int e;
    if ((e = kvm_vm_ioctl(s, KVM_GET_IRQCHIP, &st->pic[0])) < 0 ||
        (e = kvm_vm_ioctl(s, KVM_GET_IRQCHIP, &st->pic[1])) < 0 ||
        (e = kvm_vm_ioctl(s, KVM_GET_IRQCHIP, &st->ioapic)) < 0)
        return kvm_err(errp, "KVM_GET_IRQCHIP", e);
    if ((e = kvm_vm_ioctl(s, KVM_GET_PIT2, &st->pit)) < 0)
        return kvm_err(errp, "KVM_GET_PIT2", e);
    struct kvm_clock_data c = { 0 };
    if ((e = kvm_vm_ioctl(s, KVM_GET_CLOCK, &c)) < 0)
        return kvm_err(errp, "KVM_GET_CLOCK", e);
    st->clock = c.clock;
    return true;
}

bool kvm_vm_state_put(KvmState *s, const KvmVmState *st, GError **errp)
{
    int e;
    KvmVmState c = *st;
    if ((e = kvm_vm_ioctl(s, KVM_SET_IRQCHIP, &c.pic[0])) < 0 ||
        (e = kvm_vm_ioctl(s, KVM_SET_IRQCHIP, &c.pic[1])) < 0 ||
        (e = kvm_vm_ioctl(s, KVM_SET_IRQCHIP, &c.ioapic)) < 0)
        return kvm_err(errp, "KVM_SET_IRQCHIP", e);
    if ((e = kvm_vm_ioctl(s, KVM_SET_PIT2, &c.pit)) < 0)
        return kvm_err(errp, "KVM_SET_PIT2", e);
    return true;
}

bool kvm_clock_put(KvmState *s, uint64_t clock, GError **errp)
{
    struct kvm_clock_data c = { .clock = clock };
    int e = kvm_vm_ioctl(s, KVM_SET_CLOCK, &c);
    return e < 0 ? kvm_err(errp, "KVM_SET_CLOCK", e) : true;
}

/* The vCPUs must be parked (kvm_pause_all, or never started). */
bool kvm_vcpu_state_get(KvmState *s, unsigned i, X86CPUState *st, GError **errp)
{
    CPUState *cpu = s->m->cpus[i];
    g_assert(i < s->m->ncpus && cpu->parked);
    if (x86_cpu_get_state_err(s->fd, cpu->fd, st, errp) < 0) {
        g_prefix_error(errp, "vCPU %u: ", i);
        return false;
    }
    return true;
}

bool kvm_vcpu_state_put(KvmState *s, unsigned i, const X86CPUState *st, GError **errp)
{
    CPUState *cpu = s->m->cpus[i];
    g_assert(i < s->m->ncpus && cpu->parked);
    if (x86_cpu_put_state_err(cpu->fd, st, errp) < 0) {
        g_prefix_error(errp, "vCPU %u: ", i);
        return false;
    }
    cpu->reset_pending = false;     /* runs from this state, not from power-on */
    return true;
}

/* ---- the "kvm-vm" section ---------------------------------------------------------- */

/* The PIT as a guest could program it (8254 data sheet): count up to 65536, a 3-bit
 * mode (KVM keeps 0xff for a channel never programmed), access modes 0-3, the read/
 * write byte states KVM uses (RW_STATE_LSB..WORD1 = 1..4). */
static bool pit_valid(const struct kvm_pit_state2 *p, GError **errp)
{
    for (int i = 0; i < 3; i++) {
        const struct kvm_pit_channel_state *c = &p->channels[i];
        if (c->count > 0x10000 || (c->mode > 7 && c->mode != 0xff) || c->rw_mode > 3 ||
            c->bcd > 1 || c->gate > 1 || c->read_state > 4 || c->write_state > 4 ||
            c->count_latched > 4 || c->status_latched > 1)
            return vmstate_invalid(errp, "kvm-vm", "PIT channel %d out of range", i);
    }
    if (p->flags & ~(KVM_PIT_FLAGS_HPET_LEGACY | KVM_PIT_FLAGS_SPEAKER_DATA_ON))
        return vmstate_invalid(errp, "kvm-vm", "unknown PIT flags %#x", p->flags);
    return true;
}

static bool kvm_vm_post_load(void *opaque, int version, GError **errp)
{
    KvmVmState *st = opaque;
    if (st->pic[0].chip_id != KVM_IRQCHIP_PIC_MASTER ||
        st->pic[1].chip_id != KVM_IRQCHIP_PIC_SLAVE || st->ioapic.chip_id != KVM_IRQCHIP_IOAPIC)
        return vmstate_invalid(errp, "kvm-vm", "irqchip ids %u/%u/%u are not PIC/PIC/IOAPIC",
                               st->pic[0].chip_id, st->pic[1].chip_id, st->ioapic.chip_id);
    const struct kvm_ioapic_state *io = &st->ioapic.chip.ioapic;
    if (io->base_address != 0xfec00000 || io->ioregsel > 0x3f)
        return vmstate_invalid(errp, "kvm-vm", "IOAPIC at %#llx, IOREGSEL %u",
                               (unsigned long long)io->base_address, io->ioregsel);
    return pit_valid(&st->pit, errp);
}

const VMStateDesc vmstate_kvm_vm = {
    .name = "kvm-vm",
    .version = 1,
    .min_version = 1,
    .post_load = kvm_vm_post_load,
    .fields = (const VMStateField[]){
        VMS_BUF(KvmVmState, pic),
        VMS_BUF(KvmVmState, ioapic),
        VMS_BUF(KvmVmState, pit),
        VMS_FIELD(KvmVmState, clock),
        VMS_END,
    },
};
