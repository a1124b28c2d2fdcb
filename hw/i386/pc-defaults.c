/*
 * The default devices of the pc board: what QEMU 7.2's pc machine adds when
 * -nodefaults is not given. pc_init() calls this once, after the ISA devices and the
 * PCI bus exist and before the -device options are applied, as QEMU's pc_init1()
 * does. With -nodefaults the machine has only what the command line asks for.
 *
 *   COM1      the default serial chardev (stdio, or mon:stdio with -nographic) is
 *             chosen by start-up with the other chardevs (system/vl.c, as QEMU's
 *             vl.c does); pc_create_isa() puts an isa-serial on each -serial
 *             backend, that one included. The none machine sets no_serial.
 *   NIC       QEMU: an e1000 on the user network ("-net nic -net user", MAC
 *             52:54:00:12:34:56), unless any -net, -nic or -netdev was given (-nic
 *             none included). net_add_default_nic() creates its user backend on hub 0
 *             and asks for the NIC; pc_init() places it with the -nic and -net NICs
 *             (pc_create_nics(), right after this function) at 00:03.0 as in QEMU.
 *   VGA       QEMU: a "VGA" (std) PCI device, here at 00:02.0 before any -device, unless
 *             -vga none or a -device is a display card (VGA, bochs-display).
 *   CD-ROM    an empty ide-cd on the secondary master of the PIIX3 IDE function
 *             (1.1), drive "ide1-cd0", unless a -drive already took index 2 (as
 *             QEMU's default_cdrom; -cdrom is that drive with a medium).
 * Each of these must also stay out when -nodefaults is given (pc_init() does not
 * call this function then) and when the user gives its own (-nic none, -vga none,
 * -drive ...,media=cdrom on that slot): the owner of each device adds those rules.
 */
#include "vireo/pc.h"
#include "vireo/drive.h"
#include "vireo/net.h"
#include <string.h>

/* -vga std adds a VGA even with -nodefaults (pc_init calls this then), as QEMU's. */
bool pc_create_vga(Machine *m, GError **errp)
{
    const char *vga = m->opts.vga;
    if ((vga && !strcmp(vga, "none")) ||
        (!vga && (m->opts.user_display || m->opts.nodefaults)))
        return true;
    if (!machine_create_device(m, "VGA", "", errp)) {
        g_prefix_error(errp, "-vga std: ");
        return false;
    }
    return true;
}

static bool ide_index2_taken(Machine *m)
{
    for (guint i = 0; m->drives && i < m->drives->len; i++) {
        DriveInfo *d = m->drives->pdata[i];
        if (!strcmp(d->iface, "ide") && d->bus == 1 && d->unit == 0)
            return true;
    }
    return false;
}

bool pc_create_default_devices(Machine *m, GError **errp)
{
    /* The CD-ROM device itself is created with the other -drive devices
     * (drive_create_devices), after the -device options. */
    if (!ide_index2_taken(m)) {
        if (!drive_add(m, "if=ide,index=2,media=cdrom", errp))
            return false;
        ((DriveInfo *)m->drives->pdata[m->drives->len - 1])->is_default = true;
    }
    return pc_create_vga(m, errp) && net_add_default_nic(m, errp);
}
