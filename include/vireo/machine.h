/*
 * The machine object: everything a running VM owns hangs off it (ARCHITECTURE.md
 * convention 7: no mutable file-scope state), so one test binary can build many.
 */
#ifndef VIREO_MACHINE_H
#define VIREO_MACHINE_H

#include <stdbool.h>
#include <stdint.h>
#include <glib.h>
#include "vireo/memory.h"
#include "vireo/irq.h"
#include "vireo/device.h"
#include "vireo/chardev.h"
#include "vireo/mainloop.h"
#include "vireo/runstate.h"
#include "vireo/cpu.h"

#define MACHINE_NUM_GSI 24          /* IOAPIC pins of KVM's in-kernel irqchip */
#define MACHINE_MAX_SERIAL 4

typedef struct KvmState KvmState;
typedef struct CPUState CPUState;
typedef struct PciBus PciBus;
typedef struct MachineClass MachineClass;
typedef struct PcFirmware PcFirmware;

/* A board's hot-plug controller for PCI devices on its root bus (ACPI PCI hotplug on
 * pc): plug tells the guest a device arrived; unplug_request asks it to eject one
 * (the controller calls machine_remove_device() when the guest has). */
typedef struct HotplugOps {
    bool (*plug)(void *opaque, Device *d, GError **errp);
    bool (*unplug_request)(void *opaque, Device *d, GError **errp);
    void *opaque;
} HotplugOps;

typedef struct E820Entry {
    uint64_t addr, size;
    uint32_t type;                  /* 1 RAM, 2 reserved, 3 ACPI, 4 NVS */
} __attribute__((packed)) E820Entry;
#define E820_RAM      1
#define E820_RESERVED 2
#define E820_ACPI     3
#define E820_MAX      32

/* Options from the command line that the board consumes. */
typedef struct MachineOpts {
    const char *type;               /* class name, "pc-i440fx-7.2" */
    uint64_t ram_size;              /* 0: the class's default_ram_size */
    /* -smp: the one description of the CPU topology (APIC ids derive from it:
     * machine_topology(), m->apic_ids). */
    unsigned smp_cpus, sockets, dies, cores, threads, max_cpus;
    const char *cpu_model;          /* "host", "qemu64", ... */
    const char *kernel, *initrd, *append;
    bool no_reboot, no_shutdown, start_paused;
    const char *name;
    const char *uuid;
    bool rtc_utc;                   /* -rtc base=utc (default) or localtime */
    int64_t rtc_base;               /* -rtc base=DATETIME: epoch seconds (0: not given) */
    /* -machine and -accel properties (machine_props, accel_props in hw/core/machine.c) */
    bool dump_guest_core;           /* off: guest RAM is MADV_DONTDUMP */
    bool mem_merge;                 /* on: guest RAM is MADV_MERGEABLE (KSM) */
    bool usb;                       /* no USB controller: only off */
    int vmport;                     /* OnOffAuto; no vmport device: on is refused */
    int kernel_irqchip;             /* KernelIrqchip: KVM's in-kernel irqchip only */
    bool kernel_cache;              /* decompressed-kernel cache (docs/kernel-cache.md) */
    bool coalesced_io;              /* KVM coalesced PIO/MMIO for queued UART writes */
    bool nodefaults;                /* -nodefaults: no default devices */
    const char *vga;                /* -vga: NULL (the board's default), "std", "none" */
    bool user_display;              /* a -device is a display card (no default VGA) */
    bool ram_size_given;            /* -m was on the command line */
    char *memory_backend;           /* -machine memory-backend=ID, or NULL */
    bool debug_threads;             /* -name debug-threads=on: name the threads */
    const GPtrArray *globals;       /* GlobalProp of -global (device_new applies them) */
    bool cpu_given;                 /* -cpu was on the command line */
    int kernel_boot;                /* -machine kernel-boot=direct|firmware (PcKernelBoot) */
    /* Firmware boot (hw/i386/pc-firmware.c, docs/storage.md). */
    const char *bios;               /* -bios FILE (default bios-256k.bin) */
    GPtrArray *data_dirs;           /* -L DIR (char *), searched first, in order */
    const char *boot_order;         /* -boot order= (drive letters), NULL: "cad" */
    const char *boot_once;          /* -boot once= (first boot only) */
    bool boot_menu, boot_strict;    /* -boot menu=, strict= */
    int64_t splash_time;            /* -boot splash-time= (ms), -1: not given */
    const char *boot_splash;        /* -boot splash= (JPEG or 24-bit BMP), NULL: none */
    int64_t reboot_timeout;         /* -boot reboot-timeout= (ms), -1: not given */
    bool boot_given;                /* some -boot option was given */
    GPtrArray *fw_cfg;              /* -fw_cfg specs (char *) */
    GPtrArray *smbios;              /* -smbios specs (char *) */
    bool nographic;                 /* -nographic: SeaBIOS's serial console */
    bool snapshot;                  /* -snapshot: every drive gets snapshot=on */
    unsigned drives;                /* -drive/-hda/-cdrom/bare images given */
    bool bootindex_given;           /* a -device has bootindex >= 0 (a disk, a NIC) */
    bool firmware;                  /* set by the board: boot through SeaBIOS */
    const char *incoming;           /* -incoming URI|defer: disks open inactive */
    const char *loadvm;             /* -loadvm NAME */
} MachineOpts;

typedef enum { PC_KERNEL_BOOT_DIRECT, PC_KERNEL_BOOT_FIRMWARE } PcKernelBoot;

typedef enum { KERNEL_IRQCHIP_ON, KERNEL_IRQCHIP_OFF, KERNEL_IRQCHIP_SPLIT } KernelIrqchip;
/* The -machine properties every board has, and -accel kvm's (over MachineOpts). */
extern const Property machine_props[];
extern const Property pc_machine_props[];
/* Applies the -machine members of @kv (except @skip) to @o: properties of @cls's QOM
 * type and its ancestors; errors name the property as QEMU does. */
bool machine_opts_apply(MachineOpts *o, const MachineClass *cls, JsonObject *kv,
                        const char *const *skip, GError **errp);
extern const Property accel_kvm_props[];
/* Checks the values Vireo cannot honour (usb=on, vmport=on, kernel-irqchip=split|off),
 * with a message naming the property. */
bool machine_opts_check(const MachineOpts *o, GError **errp);

struct Machine {
    const MachineClass *cls;        /* NULL for unit-test machines */
    MachineOpts opts;
    RunCtl run;                     /* run state and lifecycle requests (runstate.h) */

    /* Guest RAM: one backend's mapping; below_4g bytes at GPA 0, the rest at 4 GiB. */
    bool ram_malloced;              /* test machines: RAM from g_malloc */
    uint8_t *ram;
    uint64_t ram_size, below_4g, above_4g;
    MemRegion ram_lo, ram_mid, ram_hi;  /* pc: [0, 640K), [1M, below_4g), above 4 GiB;
                                         * 0xa0000-0xbffff VGA, 0xc0000-0xfffff PAM */
    GPtrArray *ram_blocks;          /* RamBlock (vireo/ramblock.h): what migration copies */
    struct MigrationState *migration;   /* migration/: outgoing and incoming, or NULL */

    AddressSpace *sysmem, *io;
    KvmState *kvm;                  /* NULL in unit tests */
    Clock *clock;

    CPUState **cpus;
    unsigned ncpus;                 /* set from -smp before the board is built */
    uint32_t *apic_ids;             /* APIC ID of each vCPU (topology), ncpus entries */

    IrqLine gsi[MACHINE_NUM_GSI];   /* wired to the irqchip by the board */
    MsiSink msi;
    PciBus *pci_bus;

    GPtrArray *devices;             /* realized order; reset and unwound in this order */
    ChrRegistry *chardevs;
    Chardev *serial[MACHINE_MAX_SERIAL];
    struct MonitorSet *monitors;    /* qapi/: QMP and HMP sessions (vireo/qmp.h) */
    GPtrArray *drives;              /* DriveInfo (vireo/drive.h), NULL when none */
    GPtrArray *blockdevs;           /* -blockdev nodes (system/blockdev.c), NULL when none */
    GPtrArray *objects;             /* Object (vireo/object.h), NULL when none */
    const HotplugOps *hotplug;      /* NULL: no hot-plug once the guest runs */
    GPtrArray *fdsets;              /* FdSet (vireo/fdset.h), NULL when none */
    GList *jobs;                    /* Job (vireo/job.h): background jobs, newest first */
    struct BlockEngine *block_engine;
    struct KernelCacheFill *kernel_cache_fill;  /* hw/i386/kernel-cache.c, pending fill */
    struct UiState *ui;             /* ui/: consoles, input routing, VNC/SDL (console.h) */
    bool legacy_vga;                /* a VGA decodes 0x3c0-0x3df and 0xa0000-0xbffff */
    struct NetState *net;           /* net/: clients, backends, hubs (vireo/net.h) */

    E820Entry e820[E820_MAX];
    unsigned e820_count;
    uint64_t acpi_rsdp;             /* GPA of the RSDP, 0 when none */
    Device *fw_cfg;                 /* fw_cfg_io (pc board) */
    PcFirmware *firmware;           /* BIOS image and boot list (hw/i386/pc-firmware.c) */
    /* An ide-cd's tray moved (guest or QMP): qapi/ sends DEVICE_TRAY_MOVED. */
    void (*ide_tray_moved)(Device *dev, bool open);
    /* A disk request failed (system/drive.c decided the action): qapi/ sends
     * BLOCK_IO_ERROR. @action: BlkErrorAction (QAPI BlockErrorAction order); @error: positive errno. */
    void (*block_io_error)(Machine *m, const char *device, const char *node, bool is_read,
                           int action, bool iostatus, int error);
};

/*
 * A board. Start-up (system/vl.c) knows boards only through this table:
 *   check -> (chardevs, drives, KVM) -> init -> -device options -> finish -> vCPUs.
 * Board-specific code lives with the board (hw/i386/ for pc).
 */
struct MachineClass {
    const char *name;               /* "pc-i440fx-7.2" */
    const char *qom_type;           /* "pc-i440fx-7.2-machine" */
    const char *qom_parent;         /* "generic-pc-machine" (hw/core/machine.c lists them) */
    const char *alias;              /* "pc", or NULL */
    const char *desc;
    bool is_default;
    bool no_cpus;                   /* creates no vCPUs (none) */
    unsigned max_cpus;
    uint64_t default_ram_size;      /* RAM without -m (0: none) */
    const char *default_ram_id;     /* query-machines default-ram-id */
    const char *default_cpu_type;   /* query-machines default-cpu-type, or NULL */
    bool no_serial;                 /* no default serial port (QEMU's no_serial) */
    /* Checks what can be checked before anything is created (the files -kernel and
     * -initrd name...), so that errors come first and need no KVM. May be NULL. */
    bool (*check)(const MachineOpts *o, GError **errp);
    /* Builds the board: RAM, built-in devices, buses; with !opts.nodefaults also the
     * default devices the board adds (hw/i386/pc-defaults.c). May fail. */
    bool (*init)(Machine *m, GError **errp);
    /* After the -device options: firmware tables, BARs, the payload and the vCPUs'
     * boot state. May be NULL. */
    bool (*finish)(Machine *m, GError **errp);
    /* Resets devices and reloads the payload after a guest/QMP reset. May be NULL. */
    void (*reset)(Machine *m);
};

const MachineClass *const *machine_classes(void);
const MachineClass *machine_class_find(const char *name);
const MachineClass *machine_class_default(void);

/* Fills @o with the defaults (properties, one CPU, RTC in UTC). */
void machine_opts_init(MachineOpts *o);
/* The -smp topology as the CPU code takes it. */
X86Topology machine_topology(const MachineOpts *o);

/* The one constructor: address spaces, device list, chardev registry, run state, and
 * the APIC ids of the vCPUs the topology asks for (none when @cls->no_cpus). @cls may
 * be NULL (unit tests). Nothing is realized; cls->init builds the board. */
Machine *machine_new(const MachineClass *cls, const MachineOpts *o, Clock *clock);

/* Maps opts.ram_size bytes of guest RAM (2 MiB aligned, memfd or anonymous): up to
 * @hole_start at GPA 0 (ram-below-4g), the rest at 4 GiB (ram-above-4g). */
bool machine_alloc_ram(Machine *m, uint64_t hole_start, GError **errp);

/* Adds an e820 entry (kept sorted by address). */
void machine_e820_add(Machine *m, uint64_t addr, uint64_t size, uint32_t type);

/* Realizes @dev and appends it to the device list; frees it on failure. */
bool machine_add_device(Machine *m, Device *dev, GError **errp);
/* Creates, configures from "prop=val,..." and realizes a device by type name. */
Device *machine_create_device(Machine *m, const char *type, const char *opts,
                              GError **errp);
/* The type a user names with -device/device_add: an error (QEMU's words) when it
 * does not exist, is abstract or cannot be created by users. */
const DeviceClass *device_class_for_user(const char *type, GError **errp);
/* The same from a parsed -device option ("driver" names the type). */
Device *machine_create_device_from(Machine *m, JsonObject *o, bool kv, GError **errp);
/* The device with id @id, or NULL. */
Device *machine_find_device(Machine *m, const char *id);
void machine_reset_devices(Machine *m);

/* With VIREO_TRACE_STARTUP set, prints the wall-clock time (s.ns) and @what to stderr:
 * the phases of start-up, for the boot benchmark. */
void trace_startup(const char *what);

/* A device with bootindex= (>= 0; negative: none): its OpenFirmware path (e.g.
 * "/pci@i0cf8/ide@1,1/drive@1/disk@0") goes into fw_cfg's bootorder, by index. An
 * index is held once: device_realize() refuses a device whose bootindex= is taken
 * (QEMU: "The bootindex N has already been used"); -kernel holds 0 from the board's
 * init on, as QEMU's linuxboot option ROM does. */
void machine_add_boot_device(Machine *m, int32_t bootindex, const char *path);
/* Whether a registered device (or the -kernel ROM) holds @bootindex. */
bool machine_boot_index_used(Machine *m, int32_t bootindex);
/* Forgets @path (a device unplugged before the firmware tables are built); NULL: none. */
void machine_remove_boot_device(Machine *m, const char *path);

/* A bare machine for unit tests (machine_new() without a class): virtual clock, fake
 * IRQ lines, @ram bytes of (malloc'd) RAM at GPA 0, no KVM. */
Machine *machine_new_test(uint64_t ram);
/* Unit tests: @n vCPUs (one socket of @n cores) and their APIC ids. */
void machine_set_test_cpus(Machine *m, unsigned n);
void machine_free(Machine *m);

#endif
