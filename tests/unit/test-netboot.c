/*
 * Network boot as QEMU 7.2's pc: the NICs' default option ROMs (efi-e1000.rom,
 * efi-virtio.rom) in their ROM BARs when the firmware boots (and not otherwise),
 * romfile= overriding or ("") disabling them, rombar=0 handing them to fw_cfg, the
 * default image's PCI IDs patched to the function's (SeaBIOS runs an image only when
 * they match), and bootindex= giving fw_cfg "bootorder" QEMU's device paths, each
 * index held once (a duplicate refused as QEMU 7.2 refuses it).
 * The ROM images here are small stand-ins, found first through -L (opts.data_dirs).
 */
#include <glib.h>
#include <string.h>
#include <unistd.h>

#include "vireo/fw_cfg.h"
#include "vireo/hotplug.h"
#include "vireo/machine.h"
#include "vireo/pc.h"
#include "vireo/pci.h"

#define RAM (1u << 20)
#define IMG 3072                /* one 6 x 512-byte legacy image */
#define PCIR 0x20

typedef struct Fx {
    Machine *m;
    char *dir;
    GPtrArray *dirs;
} Fx;

/* A legacy option ROM image (PCI Firmware 3.0, 5.1): 55 aa, its length in 512-byte
 * units, the PCI data structure at 0x20 naming @vendor:@device, byte 6 making the sum
 * zero (where iPXE keeps its checksum). */
static void make_rom(const char *path, uint16_t vendor, uint16_t device)
{
    uint8_t img[IMG] = { 0x55, 0xaa, IMG / 512 };
    uint8_t sum = 0;

    img[0x18] = PCIR;
    memcpy(img + PCIR, "PCIR", 4);
    img[PCIR + 4] = vendor, img[PCIR + 5] = vendor >> 8;
    img[PCIR + 6] = device, img[PCIR + 7] = device >> 8;
    img[PCIR + 0x15] = 0x80;                        /* the last image */
    for (unsigned i = 0x40; i < IMG; i++)
        img[i] = i * 13;
    for (unsigned i = 0; i < IMG; i++)
        sum += img[i];
    img[6] = -sum;
    g_assert_true(g_file_set_contents(path, (char *)img, IMG, NULL));
}

static uint8_t rom_sum(const uint8_t *rom)
{
    uint8_t sum = 0;
    for (unsigned i = 0; i < rom[2] * 512u; i++)
        sum += rom[i];
    return sum;
}

static uint16_t rom_word(const uint8_t *rom, unsigned off)
{
    return rom[off] | rom[off + 1] << 8;
}

static Fx *fx_new(bool firmware)
{
    Fx *f = g_new0(Fx, 1);
    GError *err = NULL;

    f->dir = g_dir_make_tmp("vireo-netboot-XXXXXX", NULL);
    g_autofree char *e1000 = g_build_filename(f->dir, "efi-e1000.rom", NULL);
    g_autofree char *virtio = g_build_filename(f->dir, "efi-virtio.rom", NULL);
    g_autofree char *other = g_build_filename(f->dir, "other.rom", NULL);
    make_rom(e1000, 0x8086, 0x100e);
    make_rom(virtio, 0x1af4, 0x1000);               /* the transitional ID, as iPXE's */
    make_rom(other, 0x1af4, 0x1000);
    f->m = machine_new_test(RAM);
    f->dirs = g_ptr_array_new();
    g_ptr_array_add(f->dirs, f->dir);
    f->m->opts.data_dirs = f->dirs;
    f->m->opts.firmware = firmware;
    g_assert_nonnull(pci_bus_new_pc(f->m, &err));
    f->m->fw_cfg = device_new(f->m, &fw_cfg_io_class);
    g_assert_true(machine_add_device(f->m, f->m->fw_cfg, &err));
    g_assert_no_error(err);
    return f;
}

static void fx_free(Fx *f)
{
    machine_free(f->m);
    g_ptr_array_free(f->dirs, TRUE);
    for (const char *const *n = (const char *const[]){ "efi-e1000.rom", "efi-virtio.rom",
                                                      "other.rom", NULL }; *n; n++) {
        g_autofree char *p = g_build_filename(f->dir, *n, NULL);
        unlink(p);
    }
    rmdir(f->dir);
    g_free(f->dir);
    g_free(f);
}

static PciDevice *add(Fx *f, const char *type, const char *opts)
{
    GError *err = NULL;
    Device *d = machine_create_device(f->m, type, opts, &err);
    g_assert_no_error(err);
    return (PciDevice *)d;
}

/* The default ROMs in the ROM BAR, e1000's as it is, virtio's with the modern ID. */
static void test_default_roms(void)
{
    Fx *f = fx_new(true);
    PciDevice *e = add(f, "e1000", "addr=3");
    PciDevice *v = add(f, "virtio-net-pci", "addr=4");

    g_assert_cmpuint(e->bars[PCI_ROM_SLOT].size, ==, 0x1000);      /* 3 KiB -> 4 KiB */
    g_assert_nonnull(e->rom);
    g_assert_cmphex(rom_word(e->rom, 0), ==, 0xaa55);
    g_assert_cmphex(rom_word(e->rom, PCIR + 6), ==, 0x100e);
    g_assert_cmpuint(rom_sum(e->rom), ==, 0);
    /* The guest sizes it through config 0x30 as SeaBIOS does. */
    pci_config_write(e, PCI_ROM_ADDRESS, 0xfffffffe, 4);
    g_assert_cmphex(pci_config_read(e, PCI_ROM_ADDRESS, 4), ==, 0xfffff000);
    g_assert_nonnull(v->rom);
    g_assert_cmphex(pci_config_read(v, PCI_DEVICE_ID, 2), ==, 0x1041);
    g_assert_cmphex(rom_word(v->rom, PCIR + 4), ==, 0x1af4);
    g_assert_cmphex(rom_word(v->rom, PCIR + 6), ==, 0x1041);       /* patched */
    g_assert_cmpuint(rom_sum(v->rom), ==, 0);                       /* still sums to 0 */
    fx_free(f);
}

/* romfile= another image (taken as it is), romfile= "" (none), rombar=0 (fw_cfg). */
static void test_romfile_override(void)
{
    Fx *f = fx_new(true);
    g_autofree char *other = g_build_filename(f->dir, "other.rom", NULL);
    g_autofree char *opts = g_strdup_printf("addr=3,romfile=%s", other);
    PciDevice *o = add(f, "virtio-net-pci", opts);
    PciDevice *none = add(f, "e1000", "addr=4,romfile=");
    PciDevice *vnone = add(f, "virtio-net-pci", "addr=6,romfile=");
    PciDevice *fw = add(f, "e1000", "addr=5,rombar=0");
    size_t len = 0;

    g_assert_nonnull(o->rom);
    g_assert_cmphex(rom_word(o->rom, PCIR + 6), ==, 0x1000);       /* not the default */
    g_assert_null(none->rom);
    g_assert_cmpuint(none->bars[PCI_ROM_SLOT].size, ==, 0);
    pci_config_write(none, PCI_ROM_ADDRESS, 0xfffffffe, 4);
    g_assert_cmphex(pci_config_read(none, PCI_ROM_ADDRESS, 4), ==, 0);
    g_assert_null(vnone->rom);
    g_assert_null(fw->rom);
    const uint8_t *g = fw_cfg_file(f->m->fw_cfg, "genroms/efi-e1000.rom", &len);
    g_assert_nonnull(g);
    g_assert_cmpuint(len, ==, IMG);
    g_assert_cmphex(rom_word(g, 0), ==, 0xaa55);
    fx_free(f);
}

/* A boot without firmware (-kernel, the embedded guest) leaves the defaults out: no
 * file read, no ROM BAR; an explicit romfile= is still honoured. A missing default
 * is an error naming it and its package, as QEMU fails. */
static void test_direct_boot_and_missing(void)
{
    Fx *f = fx_new(false);
    g_autofree char *other = g_build_filename(f->dir, "other.rom", NULL);
    g_autofree char *opts = g_strdup_printf("addr=5,romfile=%s", other);
    PciDevice *e = add(f, "e1000", "addr=3");
    PciDevice *v = add(f, "virtio-net-pci", "addr=4");
    PciDevice *x = add(f, "e1000", opts);
    GError *err = NULL;

    g_assert_null(e->rom);
    g_assert_cmpuint(e->bars[PCI_ROM_SLOT].size, ==, 0);
    g_assert_null(v->rom);
    g_assert_nonnull(x->rom);
    fx_free(f);

    f = fx_new(true);
    g_autofree char *path = g_build_filename(f->dir, "efi-e1000.rom", NULL);
    unlink(path);
    g_autofree char *installed = pc_firmware_find_file(&f->m->opts, "efi-e1000.rom");
    if (installed) {                /* ipxe-qemu is installed: that copy is found */
        g_assert_nonnull(machine_create_device(f->m, "e1000", "addr=3", &err));
        g_assert_no_error(err);
    } else {
        g_assert_null(machine_create_device(f->m, "e1000", "addr=3", &err));
        g_assert_nonnull(strstr(err->message, "failed to find romfile \"efi-e1000.rom\""));
        g_assert_nonnull(strstr(err->message, "ipxe-qemu"));
        g_assert_nonnull(strstr(err->message, "romfile=\"\""));
        g_clear_error(&err);
    }
    fx_free(f);
}

/* bootindex= on the NICs: QEMU's paths (PCI function, then "/ethernet-phy@0"), by
 * index, "HALT" with -boot strict=on; an unplugged NIC leaves the list. */
static void test_bootorder(void)
{
    Fx *f = fx_new(true);
    size_t len;

    add(f, "e1000", "addr=3,bootindex=2");
    add(f, "virtio-net-pci", "addr=4,bootindex=1,id=vn");
    add(f, "e1000", "addr=06.1,bootindex=3,romfile=");
    add(f, "e1000", "addr=7");                                      /* no bootindex */
    g_autofree char *s = pc_firmware_bootorder(f->m, &len);
    g_assert_cmpstr(s, ==, "/pci@i0cf8/ethernet@4/ethernet-phy@0\n"
                           "/pci@i0cf8/ethernet@3/ethernet-phy@0\n"
                           "/pci@i0cf8/ethernet@6,1/ethernet-phy@0");
    g_assert_cmpuint(len, ==, strlen(s) + 1);
    machine_remove_device(f->m, machine_find_device(f->m, "vn"));
    f->m->opts.boot_strict = true;
    g_autofree char *s2 = pc_firmware_bootorder(f->m, &len);
    g_assert_cmpstr(s2, ==, "/pci@i0cf8/ethernet@3/ethernet-phy@0\n"
                            "/pci@i0cf8/ethernet@6,1/ethernet-phy@0\nHALT");
    fx_free(f);
    /* Nothing registered: an empty file. */
    f = fx_new(true);
    g_autofree char *s3 = pc_firmware_bootorder(f->m, &len);
    g_assert_cmpstr(s3, ==, "");
    g_assert_cmpuint(len, ==, 0);
    fx_free(f);
}

/* A bootindex= another device holds is refused before the device exists, with QEMU
 * 7.2's words; a removed device frees its index; -kernel holds 0 (QEMU's linuxboot ROM),
 * in a firmware boot and in a direct one alike. */
static void test_bootindex_duplicate(void)
{
    Fx *f = fx_new(true);
    GError *err = NULL;
    size_t len;

    add(f, "e1000", "addr=3,bootindex=2,id=a,romfile=");
    guint n = f->m->devices->len;
    g_assert_null(machine_create_device(f->m, "virtio-net-pci", "addr=4,bootindex=2,id=b",
                                        &err));
    g_assert_error(err, G_IO_ERROR, G_IO_ERROR_EXISTS);
    g_assert_cmpstr(err->message, ==, "The bootindex 2 has already been used");
    g_clear_error(&err);
    g_assert_cmpuint(f->m->devices->len, ==, n);                /* nothing was created */
    g_assert_null(machine_find_device(f->m, "b"));
    g_assert_null(pci_bus_get_device(f->m->pci_bus, PCI_DEVFN(4, 0)));
    g_autofree char *s = pc_firmware_bootorder(f->m, &len);
    g_assert_cmpstr(s, ==, "/pci@i0cf8/ethernet@3/ethernet-phy@0");
    /* Other indexes, and no index at all (-1) any number of times, are fine. */
    add(f, "virtio-net-pci", "addr=4,bootindex=3");
    add(f, "e1000", "addr=5,romfile=");
    add(f, "e1000", "addr=6,bootindex=-1,romfile=");
    /* Once the holder is gone the index is free again. */
    machine_remove_device(f->m, machine_find_device(f->m, "a"));
    add(f, "virtio-net-pci", "addr=7,bootindex=2");
    g_autofree char *s2 = pc_firmware_bootorder(f->m, &len);
    g_assert_cmpstr(s2, ==, "/pci@i0cf8/ethernet@7/ethernet-phy@0\n"
                            "/pci@i0cf8/ethernet@4/ethernet-phy@0");
    fx_free(f);

    for (int firmware = 0; firmware < 2; firmware++) {
        f = fx_new(firmware);
        f->m->opts.kernel = "bzImage";              /* only its presence counts here */
        pc_firmware_init(f->m);
        g_assert_null(machine_create_device(f->m, "e1000", "addr=3,bootindex=0,romfile=",
                                            &err));
        g_assert_cmpstr(err->message, ==, "The bootindex 0 has already been used");
        g_clear_error(&err);
        add(f, "e1000", "addr=3,bootindex=1,romfile=");
        f->m->opts.kernel = NULL;
        fx_free(f);
    }
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/netboot/default-roms", test_default_roms);
    g_test_add_func("/netboot/romfile-override", test_romfile_override);
    g_test_add_func("/netboot/direct-boot-and-missing", test_direct_boot_and_missing);
    g_test_add_func("/netboot/bootorder", test_bootorder);
    g_test_add_func("/netboot/bootindex-duplicate", test_bootindex_duplicate);
    return g_test_run();
}
