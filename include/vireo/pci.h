/*
 * PCI: the bus, config space, BARs, INTx, MSI and MSI-X (PCI Local Bus Spec 3.0),
 * and the pc board's i440FX host bridge / PIIX3 ISA bridge.
 *
 * Writing a PCI device (e.g. hw/net/e1000.c):
 *
 *   typedef struct E1000 { PciDevice pci; ...; E1000State state; } E1000;  // pci first
 *   static const PciDeviceInfo e1000_pci = { .vendor_id = 0x8086, .device_id = 0x100e,
 *       .class_code = 0x020000, .irq_pin = 1, ... };
 *   static const Property e1000_props[] = { PROP("mac", ...), ..., PROP_END };  // own only
 *       (addr, multifunction, romfile, rombar come from the parent type "pci-device")
 *   static bool e1000_realize(Device *dev, GError **errp) {
 *       E1000 *s = (E1000 *)dev;
 *       if (!pci_device_realize(&s->pci, &e1000_pci, errp))   // attaches to m->pci_bus
 *           return false;
 *       pci_register_bar(&s->pci, 0, PCI_BAR_MEM32, 0x20000, &e1000_mmio_ops, s);
 *       ...
 *   }
 *   static void e1000_reset(Device *dev) { pci_device_reset(&((E1000 *)dev)->pci); ... }
 *   static void e1000_unrealize(Device *dev) { pci_device_unrealize(&((E1000 *)dev)->pci); }
 *   const DeviceClass e1000_class = { .name = "e1000", .bus = BUS_PCI, ... };
 *       (.parent defaults to pci_device_class for BUS_PCI)
 *
 * Locking: everything here runs with the machine lock (BQL) held.
 */
#ifndef VIREO_PCI_H
#define VIREO_PCI_H

#include <stdbool.h>
#include <stdint.h>
#include <glib.h>
#include "vireo/device.h"
#include "vireo/irq.h"
#include "vireo/memory.h"
#include "vireo/runstate.h"
#include "vireo/vmstate.h"

typedef struct Machine Machine;
typedef struct PciBus PciBus;
typedef struct PciDevice PciDevice;

/* Type 0 configuration header (PCI Local Bus 3.0, 6.1). */
#define PCI_VENDOR_ID           0x00    /* 16 bits */
#define PCI_DEVICE_ID           0x02    /* 16 bits */
#define PCI_COMMAND             0x04    /* 16 bits */
#define  PCI_COMMAND_IO         0x0001
#define  PCI_COMMAND_MEMORY     0x0002
#define  PCI_COMMAND_MASTER     0x0004
#define  PCI_COMMAND_PARITY     0x0040
#define  PCI_COMMAND_SERR       0x0100
#define  PCI_COMMAND_INTX_DISABLE 0x0400
#define PCI_STATUS              0x06    /* 16 bits */
#define  PCI_STATUS_INTERRUPT   0x0008
#define  PCI_STATUS_CAP_LIST    0x0010
#define  PCI_STATUS_W1C         0xf900  /* error bits: write 1 to clear */
#define PCI_REVISION_ID         0x08
#define PCI_CLASS_PROG          0x09
#define PCI_CLASS_DEVICE        0x0a    /* 16 bits: base class << 8 | subclass */
#define PCI_CACHE_LINE_SIZE     0x0c
#define PCI_LATENCY_TIMER       0x0d
#define PCI_HEADER_TYPE         0x0e
#define  PCI_HEADER_TYPE_MULTI_FUNCTION 0x80
#define PCI_BASE_ADDRESS_0      0x10    /* 6 BARs, 32 bits each */
#define  PCI_BASE_ADDRESS_SPACE_IO      0x01
#define  PCI_BASE_ADDRESS_MEM_TYPE_64   0x04
#define  PCI_BASE_ADDRESS_MEM_PREFETCH  0x08
#define PCI_SUBSYSTEM_VENDOR_ID 0x2c
#define PCI_SUBSYSTEM_ID        0x2e
#define PCI_ROM_ADDRESS         0x30
#define PCI_CAPABILITY_LIST     0x34
#define PCI_INTERRUPT_LINE      0x3c
#define PCI_INTERRUPT_PIN       0x3d

/* Capability IDs (PCI Code and ID Assignment Spec). */
#define PCI_CAP_ID_PM           0x01
#define PCI_CAP_ID_MSI          0x05
#define PCI_CAP_ID_VNDR         0x09
#define PCI_CAP_ID_EXP          0x10
#define PCI_CAP_ID_MSIX         0x11

#define PCI_CONFIG_SPACE_SIZE   256
#define PCI_NUM_BARS            6
#define PCI_ROM_SLOT            6       /* bars[6]: the expansion ROM BAR at 0x30 */
#define PCI_NUM_REGIONS         7       /* the six BARs and the ROM BAR */
#define  PCI_ROM_ADDRESS_ENABLE 0x01
#define PCI_ROM_MAX_SIZE        (16u << 20)
#define PCI_SLOT_MAX            32
#define PCI_FUNC_MAX            8
#define PCI_DEVFN(slot, fn)     ((((slot) & 0x1f) << 3) | ((fn) & 0x07))
#define PCI_SLOT(devfn)         (((devfn) >> 3) & 0x1f)
#define PCI_FUNC(devfn)         ((devfn) & 0x07)

#define PCI_MSIX_MAX_VECTORS    64      /* per device; table lives in PciDeviceState */

/* BAR kinds for pci_register_bar(); PCI_BAR_PREFETCH may be or'ed to a memory kind. */
enum {
    PCI_BAR_IO       = 1 << 0,
    PCI_BAR_MEM32    = 1 << 1,
    PCI_BAR_MEM64    = 1 << 2,     /* takes this BAR and the next one */
    PCI_BAR_PREFETCH = 1 << 3,
};
#define PCI_BAR_UNMAPPED UINT64_MAX

/* What a device type tells the PCI core (one static const per type). */
typedef struct PciDeviceInfo {
    uint16_t vendor_id, device_id;
    uint16_t subsystem_vendor_id, subsystem_id;
    uint32_t class_code;        /* base class << 16 | subclass << 8 | prog-if */
    uint8_t revision;
    uint8_t irq_pin;            /* 0 = no INTx, 1 = INTA# .. 4 = INTD# */
    bool multifunction;         /* always set the header's multifunction bit */
    /* The option ROM image used when romfile= is not given (QEMU's per-type default,
     * e.g. "vgabios-stdvga.bin"), looked up as -bios is (-L, /usr/share/seabios...).
     * A missing default is an error naming @romfile_package (Debian), as in QEMU. */
    const char *romfile;
    const char *romfile_package;
    /* The default ROM is for the firmware only (a NIC's iPXE): a boot without
     * firmware (-kernel) does not load it. romfile= given explicitly is always loaded. */
    bool romfile_firmware_only;
    /* Optional: called after a config write has been applied through the masks
     * (BAR/command/MSI side effects are already done). */
    void (*config_write)(PciDevice *d, uint32_t addr, uint32_t val, unsigned len);
    /* Optional: may replace *val, the value a config read is about to return. */
    void (*config_read)(PciDevice *d, uint32_t addr, unsigned len, uint32_t *val);
} PciDeviceInfo;

typedef struct PciBar {
    uint64_t size;              /* 0: BAR not implemented */
    uint32_t flags;             /* PCI_BAR_* */
    uint64_t addr;              /* where mr is mapped now, or PCI_BAR_UNMAPPED */
    uint64_t failed_addr;       /* last address that could not be mapped (logged once) */
    const MemOps *user_ops;     /* the device's ops (NULL: MSI-X only BAR) */
    void *user_opaque;
    MemOps ops;                 /* user_ops with PCI's MSI-X aware read/write */
    MemRegion mr;
    char *name;
    PciDevice *dev;
    int idx;
} PciBar;

/* Guest-visible PCI state of a device: what pci_device_vmsd migrates. */
typedef struct PciDeviceState {
    uint8_t config[PCI_CONFIG_SPACE_SIZE];
    uint8_t msix_table[PCI_MSIX_MAX_VECTORS * 16];
    uint64_t msix_pba;
    uint8_t intx_level;         /* level the device drives on its INTx pin */
} PciDeviceState;

struct PciDevice {
    Device dev;                 /* first member */
    /* Properties of the abstract type "pci-device" (pci_device_class). */
    int32_t addr;               /* devfn from "slot[.fn]" in hex ("03.0", "0x3"); -1: first free */
    bool multifunction;
    char *romfile;              /* NULL: the type's default (info->romfile); "": none */
    uint32_t rombar;
    /* Runtime, set by pci_device_realize(). */
    const PciDeviceInfo *info;
    PciBus *bus;
    uint8_t devfn;
    bool attached;
    bool intx_asserted;                       /* this device's share of its bus line */
    uint8_t *rom;                             /* expansion ROM image (mmap'd), or NULL */
    uint64_t rom_size;                        /* a power of two >= 2 KiB */
    uint8_t wmask[PCI_CONFIG_SPACE_SIZE];     /* 1 bits: guest-writable */
    uint8_t w1cmask[PCI_CONFIG_SPACE_SIZE];   /* 1 bits: write 1 to clear */
    uint8_t used[PCI_CONFIG_SPACE_SIZE];      /* bytes taken by header/capabilities */
    PciBar bars[PCI_NUM_REGIONS];             /* [PCI_ROM_SLOT]: the ROM BAR */
    uint8_t msi_cap, msix_cap;                /* capability offsets, 0 = absent */
    uint16_t msix_vectors;
    int8_t msix_table_bar, msix_pba_bar;
    uint32_t msix_table_off, msix_pba_off;
    uint8_t config_ref[PCI_CONFIG_SPACE_SIZE];    /* the config space before a load */
    PciDeviceState state;
    /* Optional: MSI-X was enabled/disabled/masked or a table entry written (for devices
     * whose interrupts bypass Vireo through irqfds, which must follow). */
    void (*msix_changed)(PciDevice *d);
};

/* The abstract type every PCI device derives from ("pci-device": addr, multifunction,
 * romfile, rombar); a BUS_PCI class without .parent gets it. */
extern const DeviceClass pci_device_class;

/* ---- device side ---- */

/* Attaches @d to its machine's PCI bus at the "addr" property (or the first free slot),
 * fills the config header from @info and resets it. Call first in a PCI realize.
 * Errors name the device: "-device X: PCI slot 3 function 0 is in use by Y". */
bool pci_device_realize(PciDevice *d, const PciDeviceInfo *info, GError **errp);
/* Detaches @d: unmaps its BARs, drops its INTx level. Safe on a never-realized device. */
void pci_device_unrealize(PciDevice *d);
/* Power-on reset of the PCI part: command 0, BARs 0 and unmapped, MSI/MSI-X off. */
void pci_device_reset(PciDevice *d);

/* Registers BAR @idx (0..5) of @size bytes (a power of two; I/O >= 4, memory >= 16)
 * whose accesses go to @ops/@opaque (offsets relative to the BAR). A MEM64 BAR also
 * takes @idx + 1. Returns 0 or -EINVAL. */
int pci_register_bar(PciDevice *d, int idx, uint32_t flags, uint64_t size,
                     const MemOps *ops, void *opaque);
/* A memory BAR backed by host memory @host (@size bytes, page aligned): guest accesses
 * go straight to it (a KVM memory slot while mapped), e.g. a framebuffer. */
int pci_register_bar_ram(PciDevice *d, int idx, uint32_t flags, uint64_t size, void *host);
/* The expansion ROM BAR (bars[PCI_ROM_SLOT]) over @size read-only bytes at @host (a
 * power of two, 2 KiB..PCI_ROM_MAX_SIZE, page aligned). pci_device_realize() calls it
 * for romfile=; returns 0 or -EINVAL. */
int pci_register_rom(PciDevice *d, uint64_t size, void *host);
/* Guest address BAR @idx (PCI_ROM_SLOT: the ROM) is mapped at, or PCI_BAR_UNMAPPED. */
uint64_t pci_bar_address(PciDevice *d, int idx);

/* Config space accessors for device code (no masks applied). */
uint8_t pci_get_byte(const PciDevice *d, unsigned off);
uint16_t pci_get_word(const PciDevice *d, unsigned off);
uint32_t pci_get_long(const PciDevice *d, unsigned off);
void pci_set_byte(PciDevice *d, unsigned off, uint8_t v);
void pci_set_word(PciDevice *d, unsigned off, uint16_t v);
void pci_set_long(PciDevice *d, unsigned off, uint32_t v);
/* Makes @len bytes at @off guest-writable under @mask (each byte gets @mask's byte). */
void pci_set_wmask(PciDevice *d, unsigned off, unsigned len, uint32_t mask);

/* Guest-style config access (masks, W1C, BAR/command side effects, hooks). */
uint32_t pci_config_read(PciDevice *d, uint32_t addr, unsigned len);
void pci_config_write(PciDevice *d, uint32_t addr, uint32_t val, unsigned len);

/* Adds capability @id taking @size bytes at @offset (0: first free dword >= 0x40)
 * and links it into the list. Returns the offset, or -ENOSPC / -EBUSY / -EINVAL. */
int pci_add_capability(PciDevice *d, uint8_t id, uint8_t offset, uint8_t size);
/* Offset of the first capability @id, or 0. */
uint8_t pci_find_capability(const PciDevice *d, uint8_t id);

/* Registers @d for fw_cfg's "bootorder" at @bootindex (negative: not registered) under
 * QEMU's OpenFirmware device path "/pci@i0cf8/NAME@SLOT[,FN]SUFFIX" (QEMU
 * pcibus_get_fw_dev_path plus the device's suffix, e.g. "ethernet" and
 * "/ethernet-phy@0" for a NIC). Returns the path to pass to machine_remove_boot_device()
 * at unrealize (then g_free it), or NULL when not registered. */
char *pci_add_boot_device(PciDevice *d, int32_t bootindex, const char *name,
                          const char *suffix);

/* Drives the device's INTx pin (from the interrupt pin register); the bus ORs every
 * device sharing a line. Masked by the command register's INTx Disable bit. */
void pci_set_irq(PciDevice *d, int level);

/* MSI capability (PCI 3.0, 6.8.1) with @nvectors (1..32, power of two) vectors,
 * 64-bit address if @is64, per-vector masking if @maskable. Returns offset or -errno. */
int pci_msi_init(PciDevice *d, uint8_t offset, unsigned nvectors, bool is64, bool maskable);
bool pci_msi_enabled(const PciDevice *d);
/* Sends vector @vector (held pending while masked). Needs Bus Master Enable. */
void pci_msi_notify(PciDevice *d, unsigned vector);

/* MSI-X capability (PCI 3.0, 6.8.2): table at @table_off in BAR @table_bar and PBA at
 * @pba_off in BAR @pba_bar; both BARs must be registered already and the structures
 * must fit. Returns the capability offset or -errno. */
int pci_msix_init(PciDevice *d, unsigned nvectors, int table_bar, uint32_t table_off,
                  int pba_bar, uint32_t pba_off);
/* Registers BAR @bar (mem32, 4 KiB) holding only the table (offset 0) and the PBA
 * (offset 2048), then adds the capability. Returns the capability offset or -errno. */
int pci_msix_init_exclusive_bar(PciDevice *d, unsigned nvectors, int bar);
bool pci_msix_enabled(const PciDevice *d);
/* Sends vector @vector, or sets its pending bit while it (or the function) is masked. */
void pci_msix_notify(PciDevice *d, unsigned vector);
bool pci_msix_is_masked(const PciDevice *d, unsigned vector);
/* The message programmed into table entry @vector; false if out of range. */
bool pci_msix_get_message(const PciDevice *d, unsigned vector, uint64_t *addr,
                          uint32_t *data);

/* Migration of the PCI part (PciDeviceState at offsetof(PciDevice, state)): the
 * abstract "pci-device" type carries pci_device_vmsd and calls pci_device_post_load()
 * (remap BARs, re-drive INTx) for every PCI device (device_state_load), so a PCI
 * device type describes only its own state. Its validator refuses read-only config
 * bits that differ from the device's. */
extern const VMStateDesc pci_device_vmsd;
void pci_device_post_load(PciDevice *d);

/* ---- bus / board side ---- */

typedef struct PciWindows {
    uint64_t io_base, io_size;          /* port I/O handed to BARs by pci_bus_assign_bars */
    uint64_t mem32_base, mem32_size;    /* 32-bit MMIO window (the PCI hole below 4 GiB) */
    uint64_t mem64_base, mem64_size;    /* 64-bit MMIO window above RAM; size 0 = none */
} PciWindows;

/* Creates @m's root PCI bus as m->pci_bus behind configuration mechanism #1 at
 * 0xcf8/0xcfc, with BAR windows @win, INTx line l (0 = PIRQA) going to GSI @gsi_base + l
 * and MSI via m->msi. The board adds the host bridge and the other fixed functions
 * (hw/i386/pc-pci.c). Free with pci_bus_free(). */
PciBus *pci_host_new(Machine *m, const PciWindows *win, unsigned gsi_base, GError **errp);
/* Hands the byte port 0xcf9 to @d's reset control register (PIIX3), or NULL. */
void pci_host_set_reset_control(PciBus *bus, PciDevice *d);
/* Frees the bus and its config ports (from machine_free, before or after the devices:
 * it detaches any still attached). */
void pci_bus_free(PciBus *bus);
void pci_bus_get_windows(const PciBus *bus, PciWindows *w);
void pci_bus_set_windows(PciBus *bus, const PciWindows *w);
/* Firmware-style BAR assignment: gives every BAR an address inside the windows (64-bit
 * BARs go above 4 GiB only if the 32-bit window is full), sets the interrupt line
 * register and enables I/O and memory decoding. Call after all devices are realized
 * (and again after a machine reset). Returns false if some BAR did not fit (logged). */
bool pci_bus_assign_bars(PciBus *bus);
/* The device at @devfn, or NULL. */
PciDevice *pci_bus_get_device(PciBus *bus, unsigned devfn);
/* A bit per slot that holds a device the board built in (not -device/device_add):
 * such a slot is not hot-pluggable (ACPI PCI hotplug, hw/acpi/pcihp.c). */
uint32_t pci_bus_builtin_slots(PciBus *bus);
/* Calls @fn for each device in devfn order (for query-pci / info pci). */
void pci_bus_foreach(PciBus *bus, void (*fn)(PciDevice *d, void *opaque), void *opaque);
/* GSI an INTx pin (1..4) of a device at @devfn is routed to (pc board routing). */
int pci_pc_intx_to_gsi(unsigned devfn, unsigned pin);

/* The pc chipset's fixed PCI functions (hw/i386/pc-pci.c creates them). */
extern const DeviceClass i440fx_class;      /* "i440FX": 8086:1237 at 00.0 */
extern const DeviceClass piix3_class;       /* "PIIX3": ISA bridge 8086:7000 at 01.0 */
/* i440FX shadow RAM (PAM): @rom is the 128 KiB the BIOS ROM decodes at 0xe0000 (the
 * image's last 128 KiB; it must stay valid); segments whose PAM attributes send reads
 * to the PCI side show it. Only effective when the board left 0xc0000-0xfffff
 * unmapped. i440fx_set_pam() writes @attr to all seven PAM registers, as a firmware
 * would (0x33: all shadow RAM, read-write; for boots without firmware). */
void i440fx_set_isa_bios(PciDevice *i440fx, const uint8_t *rom);
void i440fx_set_pam(PciDevice *i440fx, uint8_t attr);
/* Test seam: where a reset through port 0xcf9 goes (default vm_request_reset). */
void piix3_set_reset_hook(PciDevice *piix3, void (*fn)(void *opaque, ShutdownCause cause),
                          void *opaque);

#endif
