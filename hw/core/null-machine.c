/*
 * The `none` machine (QEMU's "empty machine"): no devices, no vCPUs, no RAM unless -m
 * asks for it (then at GPA 0). Management tools start it to ask what the emulator
 * supports over QMP (libvirt: -machine none,accel=kvm:tcg -S).
 */
#include "vireo/machine.h"
#include "vireo/pc.h"

static bool none_init(Machine *m, GError **errp)
{
    if (!m->opts.ram_size)
        return true;
    return machine_alloc_ram(m, UINT64_MAX, errp);
}

const MachineClass none_machine_class = {
    .name = "none",
    .qom_type = "none-machine",
    .qom_parent = "machine",
    .desc = "empty machine",
    .no_cpus = true,
    .max_cpus = 1,
    .default_ram_size = 0,
    .default_ram_id = "ram",
    .no_serial = true,
    .init = none_init,
};
