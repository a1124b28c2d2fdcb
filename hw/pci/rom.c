/*
 * PCI option ROMs (QEMU's romfile=/rombar= of every PCI device): the image named by
 * romfile= (or the type's default, e.g. vgabios-stdvga.bin for VGA, efi-e1000.rom for
 * e1000) is looked up as -bios is (the name itself, -L folders, /usr/share/seabios,
 * /usr/share/qemu, /usr/lib/ipxe/qemu) and exposed through the expansion ROM BAR (PCI
 * Local Bus 3.0, 6.2.5.2; the image format with its PCI data structure is 6.3.1), where
 * SeaBIOS finds, copies and runs it. With rombar=0 it is handed to the firmware as the
 * fw_cfg file "vgaroms/NAME" (display class) or "genroms/NAME" instead, as QEMU does.
 * A default marked romfile_firmware_only (the NICs' iPXE) is left out of a boot without
 * firmware, which would never run it.
 */
#include <errno.h>
#include <string.h>
#include <sys/mman.h>
#include "pci-internal.h"
#include "vireo/fw_cfg.h"
#include "vireo/pc.h"

#define PCI_CLASS_DISPLAY_VGA   0x0300

static uint64_t pow2_at_least(uint64_t n, uint64_t min)
{
    uint64_t p = min;

    while (p < n)
        p <<= 1;
    return p;
}

/* Reads @name into *data; errors name the device and the file (and, for a type's
 * default, the package that has it). */
static bool rom_read(PciDevice *d, const char *name, bool is_default, char **data,
                     gsize *len, GError **errp)
{
    Machine *m = d->dev.machine;
    const char *dev = d->dev.cls->name, *pkg = d->info ? d->info->romfile_package : NULL;
    g_autofree char *path = pc_firmware_find_file(&m->opts, name);
    GError *err = NULL;

    if (!path) {
        g_autofree char *hint = is_default ?
            g_strdup_printf("; %s's default%s%s; romfile=\"\" for none", dev,
                            pkg ? ", Debian package " : "", pkg ? pkg : "") : NULL;
        g_set_error(errp, G_IO_ERROR, G_IO_ERROR_NOT_FOUND, "-device %s: failed to find "
                    "romfile \"%s\" (looked for it as a file, in -L folders and in "
                    "/usr/share/seabios, /usr/share/qemu, /usr/lib/ipxe/qemu%s)", dev, name,
                    hint ? hint : "");
        return false;
    }
    if (!g_file_get_contents(path, data, len, &err)) {
        g_set_error(errp, G_IO_ERROR, G_IO_ERROR_FAILED, "-device %s: romfile \"%s\": %s",
                    dev, path, err->message);
        g_error_free(err);
        return false;
    }
    if (*len == 0 || *len > PCI_ROM_MAX_SIZE) {
        g_set_error(errp, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, "-device %s: romfile \"%s\" "
                    "is %s (%zu bytes; at most %u MiB)", dev, path,
                    *len ? "too large" : "empty", (size_t)*len, PCI_ROM_MAX_SIZE >> 20);
        g_clear_pointer(data, g_free);
        return false;
    }
    return true;
}

/* One image serves several devices (efi-virtio.rom carries 1af4:1000, the transitional
 * virtio-net ID; Vireo's modern-only function is 1af4:1041), and SeaBIOS runs an image
 * only when the vendor and device IDs of its PCI data structure (PCI Firmware 3.0,
 * 5.1.2: "PCIR", vendor at +4, device at +6, pointed to by the word at 0x18) are the
 * function's. So, as QEMU does for default images (pci_patch_ids), the IDs are set to
 * the device's and the difference is balanced in byte 6 of the header, the checksum
 * byte of iPXE's images, so that the image still sums to zero. */
static void rom_patch_ids(PciDevice *d, uint8_t *rom, size_t len)
{
    const uint16_t ids[2] = { pci_get_word(d, PCI_VENDOR_ID), pci_get_word(d, PCI_DEVICE_ID) };
    size_t pcir;

    if (len < 0x1a || rom[0] != 0x55 || rom[1] != 0xaa)
        return;
    pcir = rom[0x18] | rom[0x19] << 8;
    if (pcir < 0x1a || pcir + 8 > len || memcmp(rom + pcir, "PCIR", 4))
        return;
    for (unsigned i = 0; i < 2; i++) {
        uint8_t *p = rom + pcir + 4 + 2 * i;
        uint8_t old_sum = p[0] + p[1], new_sum = (uint8_t)ids[i] + (uint8_t)(ids[i] >> 8);
        rom[6] += old_sum - new_sum;
        p[0] = ids[i];
        p[1] = ids[i] >> 8;
    }
}

bool pci_rom_realize(PciDevice *d, GError **errp)
{
    bool is_default = !d->romfile;
    const char *name = d->romfile ? d->romfile : d->info ? d->info->romfile : NULL;
    Machine *m = d->dev.machine;
    g_autofree char *data = NULL;
    gsize len = 0;

    if (!name || !*name || !m)
        return true;
    if (is_default && d->info->romfile_firmware_only && !m->opts.firmware)
        return true;    /* a direct boot never runs it: no file read, no ROM BAR */
    if (!rom_read(d, name, is_default, &data, &len, errp))
        return false;
    if (!d->rombar) {
        /* QEMU's rom_add_vga()/rom_add_option(): a file for the firmware to run. */
        bool vga = pci_get_word(d, PCI_CLASS_DEVICE) == PCI_CLASS_DISPLAY_VGA;
        g_autofree char *base = g_path_get_basename(name);
        g_autofree char *file = g_strdup_printf("%s/%s", vga ? "vgaroms" : "genroms", base);
        if (!m->fw_cfg)
            return true;    /* no firmware interface on this machine: as QEMU, nothing */
        if (!fw_cfg_add_file_take(m->fw_cfg, file, g_steal_pointer(&data), len, errp)) {
            g_prefix_error(errp, "-device %s: romfile \"%s\" with rombar=0: ",
                           d->dev.cls->name, name);
            return false;
        }
        return true;
    }
    if (is_default)         /* QEMU: only for the ROM BAR (SeaBIOS matches the IDs there) */
        rom_patch_ids(d, (uint8_t *)data, len);
    uint64_t size = pow2_at_least(len, 0x800);
    size_t map = (size + 4095) & ~(size_t)4095;
    void *p = mmap(NULL, map, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) {
        g_set_error(errp, G_IO_ERROR, G_IO_ERROR_NO_SPACE, "-device %s: romfile \"%s\": %s",
                    d->dev.cls->name, name, g_strerror(errno));
        return false;
    }
    memcpy(p, data, len);
    if (pci_register_rom(d, size, p) < 0) {
        munmap(p, map);
        g_set_error(errp, G_IO_ERROR, G_IO_ERROR_FAILED, "-device %s: romfile \"%s\": the "
                    "ROM BAR cannot be registered", d->dev.cls->name, name);
        return false;
    }
    d->rom = p;
    d->rom_size = size;
    return true;
}

void pci_rom_free(PciDevice *d)
{
    if (d->rom)
        munmap(d->rom, (d->rom_size + 4095) & ~(uint64_t)4095);
    d->rom = NULL;
    d->rom_size = 0;
    d->bars[PCI_ROM_SLOT].size = 0;
}
