/*
 * "isa-debug-exit": a write of value v to its ports ends the VMM with exit status
 * (v << 1) | 1, exactly as QEMU's device (so 0 can never mean success by accident).
 * v is the value of the access at its width (outb/outw/outl); the process status
 * keeps its low 8 bits, as exit() does.
 *
 * How it ends the process: by default through vm_request_exit(status) -- the main
 * loop returns the status and main() unwinds normally (vCPUs stopped, chardevs freed,
 * the terminal restored), rather than exit() on the vCPU thread. Tests inject a hook.
 */
#include "vireo/hw-isa.h"
#include "vireo/machine.h"
#include "vireo/runstate.h"

typedef struct DebugExit {
    Device parent;
    uint32_t iobase, iosize;       /* properties: QEMU's uint32 */
    MemRegion io;
    IsaExitHook *exit_hook;
    void *exit_opaque;
} DebugExit;

static uint64_t debugexit_read(void *opaque, uint64_t addr, unsigned size)
{
    return 0;
}

static void debugexit_write(void *opaque, uint64_t addr, uint64_t val, unsigned size)
{
    DebugExit *d = opaque;
    d->exit_hook(d->exit_opaque, (int)((val << 1) | 1));
}

static const MemOps debugexit_ops = {
    .read = debugexit_read, .write = debugexit_write, .min_access = 1, .max_access = 4,
};

static void debugexit_default(void *opaque, int status)
{
    vm_request_exit(((Device *)opaque)->machine, status);
}

void debugexit_set_exit_hook(Device *dev, IsaExitHook *fn, void *opaque)
{
    DebugExit *d = (DebugExit *)dev;
    d->exit_hook = fn ? fn : debugexit_default;
    d->exit_opaque = fn ? opaque : dev;
}

static void debugexit_init(Device *dev)
{
    debugexit_set_exit_hook(dev, NULL, NULL);
}

static bool debugexit_realize(Device *dev, GError **errp)
{
    DebugExit *d = (DebugExit *)dev;
    if (d->iosize == 0 || d->iosize > 0x10000 || d->iobase >= 0x10000 ||
        d->iobase + d->iosize > 0x10000) {
        g_set_error(errp, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                    "isa-debug-exit: iobase 0x%x + iosize 0x%x is outside the I/O space",
                    d->iobase, d->iosize);
        return false;
    }
    mr_init_io(&d->io, "isa-debug-exit", d->iosize, &debugexit_ops, d);
    if (!as_add_region(dev->machine->io, &d->io, d->iobase, errp)) {
        g_prefix_error(errp, "isa-debug-exit: ");
        return false;
    }
    return true;
}

static void debugexit_unrealize(Device *dev)
{
    as_del_region(dev->machine->io, &((DebugExit *)dev)->io);
}

/* No guest-visible state (QEMU's has none either). The empty description makes the
 * device a section of its own, so a stream from a machine that has one more or one
 * fewer is refused by name. */
static const VMStateDesc debugexit_vmsd = {
    .name = "isa-debug-exit", .version = 1, .min_version = 1,
    .fields = (const VMStateField[]){ VMS_END },
};

static const Property debugexit_props[] = {
    PROP("iobase", PROP_U32, DebugExit, iobase, "0x501", "first I/O port"),
    PROP("iosize", PROP_U32, DebugExit, iosize, "2", "number of I/O ports"),
    PROP_END,
};

const DeviceClass isa_debug_exit_class = {
    .name = "isa-debug-exit",
    .desc = "exits the VMM with status (value << 1) | 1",
    .bus = BUS_ISA,
    .instance_size = sizeof(DebugExit),
    .props = debugexit_props,
    .user_creatable = true,
    .init = debugexit_init,
    .realize = debugexit_realize,
    .unrealize = debugexit_unrealize,
    .vmsd = &debugexit_vmsd,
};
