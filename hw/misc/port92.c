/*
 * "port92": System Control Port A at 0x92 (IBM PS/2 and PC chipsets): bit 1 gates
 * A20, a 0 -> 1 transition of bit 0 requests a fast CPU reset. Under KVM the A20
 * gate has no effect on guest memory (as in QEMU with KVM); its state is kept for
 * read-back.
 */
#include "vireo/hw-isa.h"
#include "vireo/machine.h"
#include "vireo/runstate.h"

#define PORT92_RESET 0x01
#define PORT92_A20   0x02

typedef struct Port92State {
    uint8_t outport;
} Port92State;

typedef struct Port92 {
    Device parent;
    Port92State s;
    MemRegion io;
    IsaResetHook *reset_hook;
    void *reset_opaque;
} Port92;

static uint64_t port92_read(void *opaque, uint64_t addr, unsigned size)
{
    return ((Port92 *)opaque)->s.outport;
}

static void port92_write(void *opaque, uint64_t addr, uint64_t val, unsigned size)
{
    Port92 *p = opaque;
    uint8_t old = p->s.outport;
    p->s.outport = val & (PORT92_RESET | PORT92_A20);
    if ((val & PORT92_RESET) && !(old & PORT92_RESET))
        p->reset_hook(p->reset_opaque);
}

static const MemOps port92_ops = {
    .read = port92_read, .write = port92_write, .min_access = 1, .max_access = 1,
};

static void port92_default_reset(void *opaque)
{
    vm_request_reset(((Device *)opaque)->machine, SHUTDOWN_CAUSE_GUEST_RESET);
}

void port92_set_reset_hook(Device *dev, IsaResetHook *fn, void *opaque)
{
    Port92 *p = (Port92 *)dev;
    p->reset_hook = fn ? fn : port92_default_reset;
    p->reset_opaque = fn ? opaque : dev;
}

bool port92_a20_enabled(Device *dev)
{
    return ((Port92 *)dev)->s.outport & PORT92_A20;
}

static void port92_init(Device *dev)
{
    port92_set_reset_hook(dev, NULL, NULL);
}

/* The reset bit reads back as 0 after a reset; A20 keeps its state (as QEMU). */
static void port92_reset(Device *dev)
{
    ((Port92 *)dev)->s.outport &= ~PORT92_RESET;
}

static bool port92_realize(Device *dev, GError **errp)
{
    Port92 *p = (Port92 *)dev;
    mr_init_io(&p->io, "port92", 1, &port92_ops, p);
    if (!as_add_region(dev->machine->io, &p->io, 0x92, errp)) {
        g_prefix_error(errp, "port92: ");
        return false;
    }
    return true;
}

static void port92_unrealize(Device *dev)
{
    as_del_region(dev->machine->io, &((Port92 *)dev)->io);
}

static const VMStateField port92_fields[] = {
    VMS_FIELD(Port92State, outport),
    VMS_END,
};

static bool port92_state_post_load(void *opaque, int version, GError **errp)
{
    const Port92State *s = opaque;
    if (s->outport & ~(PORT92_RESET | PORT92_A20))
        return vmstate_invalid(errp, "port92", "value %#x has bits a write cannot set",
                               s->outport);
    return true;
}

static const VMStateDesc port92_vmsd = {
    .name = "port92", .version = 1, .min_version = 1, .fields = port92_fields,
    .post_load = port92_state_post_load,
};

const DeviceClass port92_class = {
    .name = "port92",
    .desc = "System Control Port A (A20, fast reset)",
    .bus = BUS_ISA,
    .instance_size = sizeof(Port92),
    .init = port92_init,
    .realize = port92_realize,
    .reset = port92_reset,
    .unrealize = port92_unrealize,
    .vmsd = &port92_vmsd,
    .state_offset = offsetof(Port92, s),
};
