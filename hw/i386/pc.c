/*
 * The `pc` board: RAM (with the PCI hole below 4 GiB), the e820 map, the ISA devices
 * (COM1-4, CMOS RTC, i8042, port 0x92), the i440FX PCI bus with its PIIX3 bridge, the
 * ACPI PM device and tables, and the boot payload (-kernel or the embedded guest).
 */
#include "vireo/machine.h"
#include "vireo/acpi.h"
#include "vireo/hw-isa.h"
#include "vireo/kvm.h"
#include "vireo/loader.h"
#include "vireo/net.h"
#include "vireo/pc.h"
#include "vireo/pci.h"
#include "vireo/runstate.h"
#include "vireo/smbios.h"
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define PC_PCI_HOLE_START 0xc0000000ULL   /* RAM above this moves to 4 GiB */
#define PC_BIOS_AREA      0xe0000ULL      /* ACPI tables live here (reserved in e820) */
#define PC_BIOS_AREA_SIZE 0x20000ULL
#define PC_VGA_WINDOW     0xa0000ULL      /* legacy VGA memory: not RAM */
#define PC_VGA_WINDOW_END 0xc0000ULL
#define PC_EBDA           0x9fc00ULL
#define PC_SMBIOS_ANCHOR  0xf0000ULL      /* direct boot: SMBIOS entry point */
#define PC_PAM_START      0xc0000ULL      /* i440FX shadow segments up to 1 MiB */
#define PC_PAM_END        0x100000ULL

static const struct { uint16_t iobase; uint8_t irq; } com_ports[MACHINE_MAX_SERIAL] = {
    { 0x3f8, 4 }, { 0x2f8, 3 }, { 0x3e8, 4 }, { 0x2e8, 3 },
};

/* Low RAM as on a PC: 0xa0000-0xbffff is the legacy VGA window (a VGA decodes it;
 * without one it is unassigned) and 0xc0000-0xfffff belongs to the i440FX's shadow
 * segments (PAM, hw/pci/i440fx.c): RAM below 4 GiB becomes [0, 640K) and [1M, below_4g),
 * over the same host mapping. */
static bool pc_low_ram(Machine *m, GError **errp)
{
    if (m->below_4g <= PC_VGA_WINDOW)
        return true;
    as_del_region(m->sysmem, &m->ram_lo);
    mr_init_ram(&m->ram_lo, "ram-low", PC_VGA_WINDOW, m->ram);
    if (!as_add_region(m->sysmem, &m->ram_lo, 0, errp))
        return false;
    if (m->below_4g <= PC_PAM_END)
        return true;
    mr_init_ram(&m->ram_mid, "ram-below-4g", m->below_4g - PC_PAM_END, m->ram + PC_PAM_END);
    return as_add_region(m->sysmem, &m->ram_mid, PC_PAM_END, errp);
}

/* e820: low RAM up to the EBDA, the legacy BIOS area reserved (ACPI tables), RAM from
 * 1 MiB to the PCI hole, RAM above 4 GiB. */
void pc_build_e820(Machine *m)
{
    m->e820_count = 0;
    machine_e820_add(m, 0, PC_EBDA, E820_RAM);
    machine_e820_add(m, PC_EBDA, 0xa0000 - PC_EBDA, E820_RESERVED);
    machine_e820_add(m, PC_BIOS_AREA, PC_BIOS_AREA_SIZE, E820_RESERVED);
    if (m->below_4g > 0x100000)
        machine_e820_add(m, 0x100000, m->below_4g - 0x100000, E820_RAM);
    if (m->above_4g)
        machine_e820_add(m, 1ULL << 32, m->above_4g, E820_RAM);
}

/* A built-in device of the board, configured through the typed setters. */
static Device *pc_new_device(Machine *m, const char *type)
{
    return device_new(m, device_class_find(type));
}

static bool pc_create_isa(Machine *m, GError **errp)
{
    for (int i = 0; i < MACHINE_MAX_SERIAL; i++) {
        if (!m->serial[i])
            continue;
        Device *d = pc_new_device(m, "isa-serial");
        if (!device_set_int(d, "iobase", com_ports[i].iobase, errp) ||
            !device_set_int(d, "irq", com_ports[i].irq, errp) ||
            !device_set_str(d, "chardev", chr_id(m->serial[i]), errp) ||
            !device_set_int(d, "index", i, errp)) {
            device_free(d);
            return false;
        }
        if (!machine_add_device(m, d, errp))
            return false;
    }
    Device *rtc = pc_new_device(m, "mc146818rtc");
    if (!device_set_bool(rtc, "x-localtime", !m->opts.rtc_utc, errp) ||
        !device_set_int(rtc, "x-base-epoch", m->opts.rtc_base, errp)) {
        device_free(rtc);
        return false;
    }
    if (!machine_add_device(m, rtc, errp))
        return false;
    rtc_cmos_set_machine_info(rtc, m);
    return machine_add_device(m, pc_new_device(m, "i8042"), errp) &&
           machine_add_device(m, pc_new_device(m, "port92"), errp);
}

static void pc_powerdown(void *opaque)
{
    acpi_pm_power_button(opaque);
}

/* Reads a file by mapping it (no resident copy kept after loading). */
static uint8_t *map_file(const char *opt, const char *path, size_t *len, GError **errp)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) < 0) {
        g_set_error(errp, G_IO_ERROR, G_IO_ERROR_NOT_FOUND, "%s %s: %s", opt, path,
                    g_strerror(errno));
        if (fd >= 0)
            close(fd);
        return NULL;
    }
    if (!S_ISREG(st.st_mode) || st.st_size == 0) {
        g_set_error(errp, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, "%s %s: not a regular, "
                    "non-empty file", opt, path);
        close(fd);
        return NULL;
    }
    void *p = mmap(NULL, st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
    close(fd);
    if (p == MAP_FAILED) {
        g_set_error(errp, G_IO_ERROR, G_IO_ERROR_FAILED, "%s %s: %s", opt, path,
                    g_strerror(errno));
        return NULL;
    }
    *len = st.st_size;
    return p;
}

/* Start-up checks of -kernel/-initrd before anything is created, so that a missing or
 * non-kernel file is reported even where KVM is unavailable. */
bool pc_check_payload(const MachineOpts *o, GError **errp)
{
    size_t klen = 0, ilen = 0;
    if (!o->kernel) {
        if (o->initrd || o->append) {
            g_set_error(errp, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                        "%s only allowed with -kernel option", o->initrd ? "-initrd" : "-append");
            return false;
        }
        return true;
    }
    uint8_t *k = map_file("-kernel", o->kernel, &klen, errp);
    if (!k)
        return false;
    bool ok = loader_check(o->kernel, k, klen, errp);
    munmap(k, klen);
    if (ok && o->initrd) {
        uint8_t *i = map_file("-initrd", o->initrd, &ilen, errp);
        ok = i != NULL;
        if (i)
            munmap(i, ilen);
        if (ok && ilen >= o->ram_size) {
            g_set_error(errp, G_IO_ERROR, G_IO_ERROR_NO_SPACE,
                        "-initrd %s: %zu bytes do not fit in %" G_GUINT64_FORMAT " MiB of RAM",
                        o->initrd, ilen, o->ram_size >> 20);
            ok = false;
        }
    }
    return ok;
}

/* Loads -kernel/-initrd/-append, or the embedded default guest. */
bool pc_load_payload(Machine *m, BootInfo *bi, GError **errp)
{
    if (!m->opts.kernel) {
        return loader_load(m, "(embedded default guest)", vireo_default_guest,
                           vireo_default_guest_len, NULL, 0, m->opts.append, bi, errp);
    }
    size_t klen = 0, ilen = 0;
    uint8_t *k = map_file("-kernel", m->opts.kernel, &klen, errp), *i = NULL;
    if (!k)
        return false;
    if (m->opts.initrd && !(i = map_file("-initrd", m->opts.initrd, &ilen, errp))) {
        munmap(k, klen);
        return false;
    }
    bool ok = loader_load(m, m->opts.kernel, k, klen, i, ilen, m->opts.append, bi, errp);
    munmap(k, klen);
    if (i)
        munmap(i, ilen);
    return ok;
}

/* Direct boot: the SMBIOS entry point at 0xf0000 (Linux's DMI scan looks at 16-byte
 * steps in 0xf0000-0xfffff), the structures right after it. */
static bool pc_place_smbios(Machine *m, GError **errp)
{
    SmbiosTables t;
    const uint64_t anchor = PC_SMBIOS_ANCHOR, tables = PC_SMBIOS_ANCHOR + 32;

    if (!pc_smbios_build(m, &t, errp))
        return false;
    bool ok = tables + t.tables->len <= PC_BIOS_AREA + PC_BIOS_AREA_SIZE;
    if (ok) {
        smbios_anchor_set_address(t.anchor, tables);
        ok = as_dma_write(m->sysmem, tables, t.tables->data, t.tables->len) &&
             as_dma_write(m->sysmem, anchor, t.anchor, SMBIOS_ANCHOR_LEN);
    }
    if (!ok)
        g_set_error(errp, G_IO_ERROR, G_IO_ERROR_NO_SPACE, "SMBIOS: %u bytes of tables do "
                    "not fit in the BIOS area", t.tables->len);
    g_byte_array_free(t.tables, TRUE);
    return ok;
}

/* Direct boot: no firmware shadows the BIOS area, so the board opens it as RAM (as
 * SeaBIOS would leave it) and writes the ACPI tables there itself. */
static bool pc_firmware_tables(Machine *m, GError **errp)
{
    i440fx_set_pam(pci_bus_get_device(m->pci_bus, 0), 0x33);
    return acpi_build_pc(m, PC_BIOS_AREA, PC_BIOS_AREA_SIZE, errp) &&
           pc_place_smbios(m, errp);
}

/* Before anything is created: the -kernel/-initrd files, and the BIOS files when the
 * firmware will boot the machine. */
static bool pc_check(const MachineOpts *o, GError **errp)
{
    return pc_check_payload(o, errp) && (!pc_firmware_wanted(o) || pc_firmware_check(o, errp));
}

/* The NICs of -nic, -net nic and the default one (pc-defaults.c), on the first free
 * slots before -device ones; e1000 when no model was named, as QEMU's pc. */
static bool pc_create_nics(Machine *m, GError **errp)
{
    return net_create_nics(m, "e1000", errp);
}

static bool pc_init(Machine *m, GError **errp)
{
    m->opts.firmware = pc_firmware_wanted(&m->opts);
    pc_firmware_init(m);
    if (!machine_alloc_ram(m, PC_PCI_HOLE_START, errp) || !pc_low_ram(m, errp))
        return false;
    pc_build_e820(m);
    if (!pc_create_isa(m, errp))
        return false;
    if (!pci_bus_new_pc(m, errp))
        return false;
    Device *pm = acpi_pm_create(m, errp);
    if (!pm)
        return false;
    runstate_add_notifier(m, &(RunstateNotifier){ .powerdown = pc_powerdown, .opaque = pm });
    /* QEMU's pc always has the PIIX3 IDE function at 01.1 (even with -nodefaults). */
    if (!machine_add_device(m, device_new(m, device_class_find("piix3-ide")), errp))
        return false;
    /* PIIX4_PM at 01.3: GPE0 and ACPI PCI hotplug (hw/acpi/pcihp.c), as QEMU's pc. */
    Device *pm4 = piix4_pm_create(m, pm, errp);
    if (!pm4)
        return false;
    m->hotplug = piix4_pm_hotplug(pm4);
    m->fw_cfg = device_new(m, device_class_find("fw_cfg_io"));
    if (!machine_add_device(m, m->fw_cfg, errp))
        return false;
    /* Default devices first (QEMU's VGA takes 02.0), then the NICs (03.0 in QEMU). */
    return (m->opts.nodefaults ? pc_create_vga(m, errp) : pc_create_default_devices(m, errp)) &&
           pc_create_nics(m, errp);
}

/* After -device processing: BARs, firmware tables, payload and the boot state. */
static bool pc_finish(Machine *m, GError **errp)
{
    BootInfo bi;
    pci_bus_assign_bars(m->pci_bus);
    if (m->opts.firmware) {
        if (!pc_firmware_finish(m, errp))
            return false;
        bi = (BootInfo){ .mode = BOOT_FIRMWARE };
    } else if (m->opts.incoming || m->opts.loadvm) {
        /* RAM and the vCPUs' registers come from the stream or the snapshot: the
         * payload would be loaded only to be overwritten (reading, hashing and copying
         * it is most of a direct boot's start-up). A reset loads it (pc_reset). */
        if (!pc_firmware_tables(m, errp))
            return false;
        bi = (BootInfo){ .mode = BOOT_FIRMWARE };
    } else if (!pc_firmware_tables(m, errp) || !pc_load_payload(m, &bi, errp)) {
        return false;
    }
    if (m->kvm)
        kvm_set_boot_info(m->kvm, &bi);
    return true;
}

/* The board's PIIX4_PM, or NULL. */
static Device *pc_piix4_pm(Machine *m)
{
    for (guint i = 0; i < m->devices->len; i++)
        if (((Device *)m->devices->pdata[i])->cls == &piix4_pm_class)
            return m->devices->pdata[i];
    return NULL;
}

static void pc_reset(Machine *m)
{
    g_autoptr(GError) err = NULL;
    BootInfo bi;
    Device *pm4 = pc_piix4_pm(m);
    if (pm4)
        piix4_pm_finish_unplugs(pm4);   /* device_del the guest did not answer */
    machine_reset_devices(m);
    pci_bus_assign_bars(m->pci_bus);
    if (m->opts.firmware) {
        pc_firmware_reset(m);
        bi = (BootInfo){ .mode = BOOT_FIRMWARE };
    } else if (!pc_firmware_tables(m, &err) || !pc_load_payload(m, &bi, &err)) {
        fprintf(stderr, "vireo: reset: %s\n", err->message);
        vm_request_exit(m, 1);
        return;
    }
    if (m->kvm) {
        kvm_set_boot_info(m->kvm, &bi);
        kvm_reset_vcpus(m->kvm);
    }
}

/* QEMU 7.2's pc machine: "pc-i440fx-7.2", alias "pc". */
const MachineClass pc_machine_class = {
    .name = "pc-i440fx-7.2",
    .qom_type = "pc-i440fx-7.2-machine",
    .qom_parent = "generic-pc-machine",
    .alias = "pc",
    .desc = "Standard PC (i440FX + PIIX, 1996)",
    .is_default = true,
    .max_cpus = 255,
    .default_ram_size = 128ULL << 20,
    .default_ram_id = "pc.ram",
    .default_cpu_type = "qemu64-x86_64-cpu",
    .check = pc_check,
    .init = pc_init,
    .finish = pc_finish,
    .reset = pc_reset,
};
