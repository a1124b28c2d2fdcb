/*
 * Firmware boot of the pc board (docs/storage.md): SeaBIOS (Debian's seabios package)
 * mapped at the top of 4 GiB and, through the i440FX's PAM segments, at 0xe0000-0xfffff;
 * fw_cfg filled as QEMU 7.2 fills it for SeaBIOS (hw/i386/fw_cfg.c, hw/i386/x86.c,
 * hw/nvram/fw_cfg.c there): RAM size, CPUs, UUID, etc/e820, the ACPI tables with their
 * loader script, bootorder from bootindex= properties, -boot's CMOS bytes and menu wait,
 * the serial console under -nographic, opt/ files from -fw_cfg, and -kernel through
 * QEMU's linuxboot_dma.bin option ROM when -machine kernel-boot=firmware.
 *
 * When the firmware is used (pc_firmware_wanted): no -kernel (or kernel-boot=firmware)
 * and one of -bios, -boot, a disk or CD-ROM (-drive, -hda.., -cdrom, a bare image), a
 * -device with bootindex= (a -blockdev disk, a NIC to boot from the network).
 * Without any of them the embedded default guest boots directly, as `make run` shows.
 */
#include "vireo/acpi.h"
#include "vireo/fw_cfg.h"
#include "vireo/hw-isa.h"
#include "vireo/loader.h"
#include "vireo/log.h"
#include "vireo/option.h"
#include "vireo/pc.h"
#include "vireo/pci.h"
#include "vireo/smbios.h"
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define BIOS_DEFAULT        "bios-256k.bin"
#define BIOS_MAX_SIZE       (16u << 20)
#define ISA_BIOS_SIZE       0x20000u         /* decoded at 0xe0000 through PAM */
#define LINUXBOOT_ROM       "linuxboot_dma.bin"
#define ACPI_DATA_SIZE      0x28000u         /* QEMU pc: kept free below 4 GiB for ACPI */
#define SERIAL1_PORT        0x3f8

/* Installed data folders searched after -L (Debian: seabios, qemu-system-data, ipxe-qemu). */
static const char *const default_dirs[] = {
    "/usr/share/seabios", "/usr/share/qemu", "/usr/lib/ipxe/qemu", NULL,
};

typedef struct BootEntry {
    int32_t index;
    char *path;
} BootEntry;

struct PcFirmware {
    uint8_t *bios;              /* mmap'd image, bios_size bytes */
    size_t bios_size;
    uint8_t *isa_bios;          /* the 128 KiB seen at 0xe0000 (inside bios or isa_buf) */
    uint8_t *isa_buf;           /* 128 KiB mapping when the image is smaller */
    MemRegion bios_mr;
    GArray *boot;               /* BootEntry, registered by devices with bootindex= */
    bool first_boot_done;
};

bool pc_firmware_wanted(const MachineOpts *o)
{
    if (o->kernel)
        return o->kernel_boot == PC_KERNEL_BOOT_FIRMWARE;
    return o->bios || o->boot_given || o->drives || o->bootindex_given;
}

static PcFirmware *fw_state(Machine *m)
{
    if (!m->firmware) {
        m->firmware = g_new0(PcFirmware, 1);
        m->firmware->boot = g_array_new(FALSE, FALSE, sizeof(BootEntry));
    }
    return m->firmware;
}

void machine_add_boot_device(Machine *m, int32_t bootindex, const char *path)
{
    BootEntry e = { bootindex, g_strdup(path) };

    if (bootindex >= 0)
        g_array_append_val(fw_state(m)->boot, e);
    else
        g_free(e.path);
}

bool machine_boot_index_used(Machine *m, int32_t bootindex)
{
    for (guint i = 0; m->firmware && i < m->firmware->boot->len; i++)
        if (g_array_index(m->firmware->boot, BootEntry, i).index == bootindex)
            return true;
    return false;
}

void machine_remove_boot_device(Machine *m, const char *path)
{
    for (guint i = 0; path && m->firmware && i < m->firmware->boot->len; i++) {
        BootEntry *e = &g_array_index(m->firmware->boot, BootEntry, i);
        if (!strcmp(e->path, path)) {
            g_free(e->path);
            g_array_remove_index(m->firmware->boot, i);
            return;
        }
    }
}

/* QEMU's qemu_find_file(QEMU_FILE_TYPE_BIOS): the name itself when it is readable,
 * then each -L folder, then the installed ones. */
char *pc_firmware_find_file(const MachineOpts *o, const char *name)
{
    if (strchr(name, '/') || access(name, R_OK) == 0)
        return access(name, R_OK) == 0 ? g_strdup(name) : NULL;
    for (guint i = 0; o->data_dirs && i < o->data_dirs->len; i++) {
        char *p = g_build_filename(o->data_dirs->pdata[i], name, NULL);
        if (access(p, R_OK) == 0)
            return p;
        g_free(p);
    }
    for (const char *const *d = default_dirs; *d; d++) {
        char *p = g_build_filename(*d, name, NULL);
        if (access(p, R_OK) == 0)
            return p;
        g_free(p);
    }
    return NULL;
}

static bool not_found(GError **errp, const char *opt, const char *name, const char *pkg)
{
    g_set_error(errp, G_IO_ERROR, G_IO_ERROR_NOT_FOUND, "%s %s: not found as a file, in -L "
                "folders or in /usr/share/seabios, /usr/share/qemu (Debian package %s)",
                opt, name, pkg);
    return false;
}

/* -boot splash=F: a boot logo SeaBIOS shows on the VGA during the menu wait, handed over
 * as bootsplash.jpg or bootsplash.bmp (QEMU fw_cfg_bootsplash/read_splashfile: a JPEG,
 * or a BMP whose bits-per-pixel field at byte 28 is 24; at least 30 bytes). Looked up
 * like firmware files. */
#define SPLASH_MAX (16u << 20)

static GMappedFile *splash_map(const MachineOpts *o, bool *jpeg_out, GError **errp)
{
    const char *name = o->boot_splash;
    g_autofree char *path = NULL;
    GMappedFile *mf = NULL;
    GError *err = NULL;

    path = pc_firmware_find_file(o, name);
    if (!path) {
        g_set_error(errp, G_IO_ERROR, G_IO_ERROR_NOT_FOUND, "-boot splash=%s: failed to "
                    "find the file (as given or in -L folders)", name);
        return NULL;
    }
    mf = g_mapped_file_new(path, FALSE, &err);
    if (!mf) {
        g_set_error(errp, G_IO_ERROR, G_IO_ERROR_FAILED, "-boot splash=%s: %s", name,
                    err->message);
        g_error_free(err);
        return NULL;
    }
    const uint8_t *b = (const uint8_t *)g_mapped_file_get_contents(mf);
    gsize len = g_mapped_file_get_length(mf);
    bool jpeg = len >= 30 && b[0] == 0xff && b[1] == 0xd8;
    bool bmp = len >= 30 && b[0] == 'B' && b[1] == 'M' && (b[28] | b[29] << 8) == 24;
    if (len > SPLASH_MAX || (!jpeg && !bmp)) {
        g_set_error(errp, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, "-boot splash=%s: %s", name,
                    len > SPLASH_MAX ? "larger than 16 MiB"
                                     : "format not supported; must be JPEG or 24 bit BMP");
        g_mapped_file_unref(mf);
        return NULL;
    }
    *jpeg_out = jpeg;
    return mf;
}

static bool add_splash(Machine *m, GError **errp)
{
    bool jpeg = false;
    if (!m->opts.boot_splash)
        return true;
    g_autoptr(GMappedFile) mf = splash_map(&m->opts, &jpeg, errp);
    return mf && fw_cfg_add_file(m->fw_cfg, jpeg ? "bootsplash.jpg" : "bootsplash.bmp",
                                 g_mapped_file_get_contents(mf),
                                 g_mapped_file_get_length(mf), errp);
}

bool pc_firmware_check(const MachineOpts *o, GError **errp)
{
    const char *name = o->bios ? o->bios : BIOS_DEFAULT;
    g_autofree char *bios = pc_firmware_find_file(o, name);
    g_autofree char *rom = o->kernel ? pc_firmware_find_file(o, LINUXBOOT_ROM) : NULL;

    if (!bios)
        return not_found(errp, "-bios", name, "seabios");
    if (o->kernel && !rom)
        return not_found(errp, "-machine kernel-boot=firmware: option ROM", LINUXBOOT_ROM,
                         "qemu-system-data");
    if (o->boot_splash) {                           /* bad logos fail before KVM */
        bool jpeg;
        GMappedFile *mf = splash_map(o, &jpeg, errp);
        if (!mf)
            return false;
        g_mapped_file_unref(mf);
    }
    return true;
}

static uint8_t *map_anon(size_t len)
{
    void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    return p == MAP_FAILED ? NULL : p;
}

/* Reads the BIOS image (a multiple of 64 KiB, at most 16 MiB) into page-aligned memory
 * and maps it read-only below 4 GiB; the last 128 KiB go to the PAM segments. */
static bool load_bios(Machine *m, PcFirmware *f, GError **errp)
{
    const char *name = m->opts.bios ? m->opts.bios : BIOS_DEFAULT;
    g_autofree char *path = pc_firmware_find_file(&m->opts, name);
    g_autofree char *data = NULL;
    gsize len = 0;

    if (!path)
        return not_found(errp, "-bios", name, "seabios");
    if (!g_file_get_contents(path, &data, &len, errp)) {
        g_prefix_error(errp, "-bios %s: ", name);
        return false;
    }
    if (len == 0 || len % 0x10000 || len > BIOS_MAX_SIZE) {
        g_set_error(errp, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, "-bios %s: could not load PC "
                    "BIOS: its size %zu is not a multiple of 64 KiB up to 16 MiB", path,
                    (size_t)len);
        return false;
    }
    f->bios = map_anon(len);
    if (!f->bios) {
        g_set_error(errp, G_IO_ERROR, G_IO_ERROR_NO_SPACE, "-bios %s: %s", path,
                    g_strerror(errno));
        return false;
    }
    memcpy(f->bios, data, len);
    f->bios_size = len;
    if (len >= ISA_BIOS_SIZE) {
        f->isa_bios = f->bios + len - ISA_BIOS_SIZE;
    } else {
        if (!(f->isa_buf = map_anon(ISA_BIOS_SIZE)))
            return not_found(errp, "-bios", name, "seabios");
        memset(f->isa_buf, 0xff, ISA_BIOS_SIZE - len);
        memcpy(f->isa_buf + ISA_BIOS_SIZE - len, data, len);
        f->isa_bios = f->isa_buf;
    }
    mr_init_ram(&f->bios_mr, "pc.bios", len, f->bios);
    f->bios_mr.readonly = true;
    if (!as_add_region(m->sysmem, &f->bios_mr, (1ULL << 32) - len, errp))
        return false;
    i440fx_set_isa_bios(pci_bus_get_device(m->pci_bus, 0), f->isa_bios);
    return true;
}

static int boot_cmp(const void *a, const void *b)
{
    const BootEntry *x = a, *y = b;
    return x->index < y->index ? -1 : x->index > y->index;
}

/* "bootorder": one OpenFirmware device path per line by bootindex, "HALT" last with
 * -boot strict=on, NUL-terminated (QEMU get_boot_devices_list). */
char *pc_firmware_bootorder(Machine *m, size_t *len)
{
    PcFirmware *f = fw_state(m);
    GString *s = g_string_new(NULL);

    g_array_sort(f->boot, boot_cmp);
    for (guint i = 0; i < f->boot->len; i++)
        g_string_append_printf(s, "%s%s", i ? "\n" : "", g_array_index(f->boot, BootEntry,
                                                                      i).path);
    if (m->opts.boot_strict)
        g_string_append_printf(s, "%sHALT", s->len ? "\n" : "");
    *len = s->len ? s->len + 1 : 0;
    return g_string_free(s, FALSE);
}

static bool add_bootorder(Machine *m, GError **errp)
{
    size_t len;
    char *s = pc_firmware_bootorder(m, &len);
    return fw_cfg_add_file_take(m->fw_cfg, "bootorder", s, len, errp);
}

/* etc/e820: the RAM ranges only; SeaBIOS reserves its own areas (QEMU e820_add_entry). */
static bool add_e820(Machine *m, GError **errp)
{
    uint8_t buf[2 * 20];
    size_t n = 0;
    uint64_t ranges[2][2] = { { 0, m->below_4g }, { 1ULL << 32, m->above_4g } };

    for (unsigned i = 0; i < 2; i++) {
        if (!ranges[i][1])
            continue;
        uint64_t a = GUINT64_TO_LE(ranges[i][0]), l = GUINT64_TO_LE(ranges[i][1]);
        uint32_t t = GUINT32_TO_LE(E820_RAM);
        memcpy(buf + n, &a, 8);
        memcpy(buf + n + 8, &l, 8);
        memcpy(buf + n + 16, &t, 4);
        n += 20;
    }
    return fw_cfg_add_file(m->fw_cfg, "etc/e820", buf, n, errp);
}

static bool add_acpi(Machine *m, GError **errp)
{
    AcpiLoaderBlobs b;

    if (!acpi_build_pc_loader(m, &b, errp))
        return false;
    bool ok = fw_cfg_add_file(m->fw_cfg, ACPI_LOADER_TABLES, b.tables->data, b.tables->len,
                              errp) &&
              fw_cfg_add_file(m->fw_cfg, ACPI_LOADER_RSDP, b.rsdp->data, b.rsdp->len, errp) &&
              fw_cfg_add_file(m->fw_cfg, ACPI_LOADER_SCRIPT, b.loader->data, b.loader->len,
                              errp);
    g_byte_array_unref(b.tables);
    g_byte_array_unref(b.rsdp);
    g_byte_array_unref(b.loader);
    return ok;
}

bool pc_smbios_build(Machine *m, SmbiosTables *t, GError **errp)
{
    SmbiosMachine mi = {
        .ram_size = m->ram_size, .sockets = MAX(m->opts.sockets, 1),
        .cores_per_socket = MAX(m->opts.cores, 1) * MAX(m->opts.dies, 1),
        .threads_per_core = MAX(m->opts.threads, 1), .uuid = m->opts.uuid,
        .ranges = { { 0, m->below_4g }, { 1ULL << 32, m->above_4g } },
        .nranges = m->above_4g ? 2 : 1, .opts = m->opts.smbios,
    };
    return smbios_build(&mi, t, errp);
}

/* etc/smbios/smbios-tables and -anchor: SeaBIOS places them (QEMU's fw_cfg form). */
static bool add_smbios(Machine *m, GError **errp)
{
    SmbiosTables t;

    if (!pc_smbios_build(m, &t, errp))
        return false;
    bool ok = fw_cfg_add_file(m->fw_cfg, "etc/smbios/smbios-tables", t.tables->data,
                              t.tables->len, errp) &&
              fw_cfg_add_file(m->fw_cfg, "etc/smbios/smbios-anchor", t.anchor,
                              SMBIOS_ANCHOR_LEN, errp);
    g_byte_array_free(t.tables, TRUE);
    return ok;
}

static bool add_u16_file(Machine *m, const char *name, uint16_t v, GError **errp)
{
    v = GUINT16_TO_LE(v);
    return fw_cfg_add_file(m->fw_cfg, name, &v, 2, errp);
}

/* -fw_cfg [name=]NAME,file=F|string=S (QEMU parse_fw_cfg): checks @spec and, with
 * @fw, adds the file. */
bool pc_fw_cfg_option(Device *fw, const char *spec, GError **errp)
{
    static const char *const keys[] = { "name", "file", "string", "gen_id", NULL };
    g_autoptr(JsonObject) o = keyval_parse(spec, "name", KEYVAL_FLAT, NULL, errp);
    const char *why = NULL, *name, *file, *str;
    g_autofree char *data = NULL;
    gsize len = 0;
    JsonObjectIter it;
    const char *key;
    JsonNode *node;

    if (!o) {
        option_prefix_error(errp, "fw_cfg", spec);
        return false;
    }
    json_object_iter_init(&it, o);
    while (!why && json_object_iter_next(&it, &key, &node))
        if (!g_strv_contains(keys, key))
            why = "Invalid parameter (name, file, string)";
    name = kv_get_str(o, "name");
    file = kv_get_str(o, "file");
    str = kv_get_str(o, "string");
    if (why)
        ;
    else if (kv_get_str(o, "gen_id"))
        why = "gen_id= (VM generation ID) is not supported";
    else if (!name || !*name)
        why = "invalid argument(s): name= is required";
    else if (!!file == !!str)
        why = file ? "file and string are mutually exclusive"
                   : "invalid argument(s): file= or string= is required";
    else if (strncmp(name, "opt/", 4))
        why = "externally provided fw_cfg item names must start with \"opt/\"";
    else if (strlen(name) >= FW_CFG_MAX_FILE_PATH)
        why = "name longer than 55 bytes";
    if (why) {
        g_set_error(errp, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT, "-fw_cfg %s: %s", spec,
                    why);
        return false;
    }
    if (!fw)
        return true;
    if (file && !g_file_get_contents(file, &data, &len, errp)) {
        g_prefix_error(errp, "-fw_cfg %s: ", spec);
        return false;
    }
    if (str) {
        data = g_strdup(str);
        len = strlen(str);
    }
    if (!fw_cfg_add_file(fw, name, data, len, errp)) {
        g_prefix_error(errp, "-fw_cfg %s: ", spec);
        return false;
    }
    return true;
}

static bool add_user_files(Machine *m, GError **errp)
{
    for (guint i = 0; m->opts.fw_cfg && i < m->opts.fw_cfg->len; i++)
        if (!pc_fw_cfg_option(m->fw_cfg, m->opts.fw_cfg->pdata[i], errp))
            return false;
    return true;
}

/* Order of a boot: -boot once= the first time, order= (default "cad") afterwards. */
static void set_cmos_boot_order(Machine *m, PcFirmware *f)
{
    const char *order = m->opts.boot_order ? m->opts.boot_order : "cad";

    if (!f->first_boot_done && m->opts.boot_once)
        order = m->opts.boot_once;
    for (guint i = 0; i < m->devices->len; i++) {
        Device *d = m->devices->pdata[i];
        if (d->cls == &rtc_mc146818_class) {
            rtc_cmos_set_boot_order(d, order);
            rtc_cmos_set(d, 0x38, (rtc_cmos_get(d, 0x38) & 0xfe) | 1);  /* no floppy check */
        }
    }
}

static bool add_items(Machine *m, GError **errp)
{
    Device *fw = m->fw_cfg;
    uint8_t uuid[16] = { 0 };

    if (m->opts.uuid)
        for (unsigned i = 0, j = 0; i < 16 && m->opts.uuid[j]; j++) {
            if (m->opts.uuid[j] == '-')
                continue;
            uuid[i] = g_ascii_xdigit_value(m->opts.uuid[j]) << 4 |
                      g_ascii_xdigit_value(m->opts.uuid[j + 1]);
            j++;
            i++;
        }
    fw_cfg_add_bytes(fw, FW_CFG_UUID, uuid, 16);
    fw_cfg_add_i64(fw, FW_CFG_RAM_SIZE, m->ram_size);
    fw_cfg_add_i16(fw, FW_CFG_NOGRAPHIC, m->opts.nographic);
    fw_cfg_add_i16(fw, FW_CFG_NB_CPUS, m->ncpus);
    fw_cfg_add_i16(fw, FW_CFG_MAX_CPUS, MAX(m->opts.max_cpus, m->ncpus));
    fw_cfg_add_i16(fw, FW_CFG_BOOT_MENU, m->opts.boot_menu);
    fw_cfg_add_i32(fw, FW_CFG_IRQ0_OVERRIDE, 1);
    if (!add_e820(m, errp) || !add_acpi(m, errp) || !add_smbios(m, errp) ||
        !add_user_files(m, errp))
        return false;
    if (m->opts.splash_time >= 0 &&
        !add_u16_file(m, "etc/boot-menu-wait", m->opts.splash_time, errp))
        return false;
    if (!add_splash(m, errp))
        return false;
    /* QEMU (fw_cfg_reboot) always passes it, -1 (never reboot) unless -boot
     * reboot-timeout= says otherwise: SeaBIOS then stops at "No bootable device."
     * instead of resetting every 60 s. */
    {
        uint32_t t = GUINT32_TO_LE((uint32_t)m->opts.reboot_timeout);
        if (!fw_cfg_add_file(fw, "etc/boot-fail-wait", &t, 4, errp))
            return false;
    }
    if (m->opts.nographic && !add_u16_file(m, "etc/sercon-port", SERIAL1_PORT, errp))
        return false;
    return true;
}

void pc_firmware_init(Machine *m)
{
    if (m->opts.kernel)
        machine_add_boot_device(m, 0, "/rom@genroms/" LINUXBOOT_ROM);
}

bool pc_firmware_finish(Machine *m, GError **errp)
{
    PcFirmware *f = fw_state(m);

    if (!load_bios(m, f, errp) || !add_items(m, errp))
        return false;
    if (m->opts.kernel && !pc_firmware_add_kernel(m, errp))
        return false;
    set_cmos_boot_order(m, f);
    return add_bootorder(m, errp);
}

void pc_firmware_reset(Machine *m)
{
    g_autoptr(GError) err = NULL;

    if (!m->firmware)
        return;
    m->firmware->first_boot_done = true;
    set_cmos_boot_order(m, m->firmware);
    /* Replacing a file that exists never fails; a guest that had it selected reads on
     * from its offset, bounded by the new length. */
    if (!add_bootorder(m, &err))
        warn_report("reset: fw_cfg bootorder: %s", err->message);
}

void pc_firmware_free(Machine *m)
{
    PcFirmware *f = m->firmware;

    if (!f)
        return;
    as_del_region(m->sysmem, &f->bios_mr);
    if (f->bios)
        munmap(f->bios, f->bios_size);
    if (f->isa_buf)
        munmap(f->isa_buf, ISA_BIOS_SIZE);
    for (guint i = 0; i < f->boot->len; i++)
        g_free(g_array_index(f->boot, BootEntry, i).path);
    g_array_free(f->boot, TRUE);
    g_free(f);
    m->firmware = NULL;
}

/* ---- -kernel through the firmware: QEMU x86_load_linux's fw_cfg items ---- */

static void st16(uint8_t *p, uint16_t v) { p[0] = v; p[1] = v >> 8; }
static void st32(uint8_t *p, uint32_t v) { st16(p, v); st16(p + 2, v >> 16); }
static uint32_t ld32(const uint8_t *p) { return p[0] | p[1] << 8 | p[2] << 16 | (uint32_t)p[3] << 24; }

/* Linux boot protocol (Documentation/arch/x86/boot.rst): the real-mode setup at 0x10000,
 * the protected-mode kernel at 1 MiB, the command line at 0x20000, the initrd as high
 * as initrd_addr_max and the RAM left for ACPI allow; linuxboot_dma.bin copies each part
 * through fw_cfg DMA and jumps to the setup code. */
bool pc_firmware_add_kernel(Machine *m, GError **errp)
{
    const MachineOpts *o = &m->opts;
    g_autofree char *rom_path = pc_firmware_find_file(o, LINUXBOOT_ROM);
    g_autofree uint8_t *k = NULL, *initrd = NULL, *rom = NULL;
    gsize klen = 0, ilen = 0, romlen = 0;
    const uint32_t real_addr = 0x10000, cmdline_addr = 0x20000, prot_addr = 0x100000;
    const char *cmdline = o->append ? o->append : "";

    if (!rom_path)
        return not_found(errp, "-machine kernel-boot=firmware: option ROM", LINUXBOOT_ROM,
                         "qemu-system-data");
    if (!g_file_get_contents(o->kernel, (char **)&k, &klen, errp) ||
        (o->initrd && !g_file_get_contents(o->initrd, (char **)&initrd, &ilen, errp)) ||
        !g_file_get_contents(rom_path, (char **)&rom, &romlen, errp))
        return false;
    BzImageInfo bz;
    if (!bzimage_parse(k, klen, &bz, errp) || bz.version < 0x202) {
        if (errp && !*errp)
            g_set_error(errp, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, "-kernel %s: boot protocol "
                        "2.02 or later is needed for kernel-boot=firmware", o->kernel);
        g_prefix_error(errp, "-machine kernel-boot=firmware: ");
        return false;
    }
    size_t setup = bz.setup_size;
    uint8_t *hdr = k;                            /* patched in place: our copy */
    uint32_t initrd_max = bz.version >= 0x203 ? ld32(hdr + 0x22c) : 0x37ffffff;
    if (initrd_max >= m->below_4g - ACPI_DATA_SIZE)
        initrd_max = m->below_4g - ACPI_DATA_SIZE - 1;
    st32(hdr + 0x228, cmdline_addr);             /* cmd_line_ptr */
    hdr[0x210] = 0xb0;                           /* type_of_loader: QEMU's */
    hdr[0x211] |= 0x80;                          /* CAN_USE_HEAP */
    st16(hdr + 0x224, cmdline_addr - real_addr - 0x200);   /* heap_end_ptr */
    if (initrd) {
        uint32_t initrd_addr = (initrd_max - ilen) & ~4095u;
        if (ilen > initrd_max) {
            g_set_error(errp, G_IO_ERROR, G_IO_ERROR_NO_SPACE, "-initrd %s: too large for "
                        "the RAM below 4 GiB", o->initrd);
            return false;
        }
        st32(hdr + 0x218, initrd_addr);
        st32(hdr + 0x21c, ilen);
        fw_cfg_add_i32(m->fw_cfg, FW_CFG_INITRD_ADDR, initrd_addr);
        fw_cfg_add_i32(m->fw_cfg, FW_CFG_INITRD_SIZE, ilen);
        fw_cfg_add_bytes_take(m->fw_cfg, FW_CFG_INITRD_DATA, g_steal_pointer(&initrd), ilen);
    }
    fw_cfg_add_i32(m->fw_cfg, FW_CFG_CMDLINE_ADDR, cmdline_addr);
    fw_cfg_add_i32(m->fw_cfg, FW_CFG_CMDLINE_SIZE, strlen(cmdline) + 1);
    fw_cfg_add_bytes(m->fw_cfg, FW_CFG_CMDLINE_DATA, cmdline, strlen(cmdline) + 1);
    fw_cfg_add_i32(m->fw_cfg, FW_CFG_KERNEL_ADDR, prot_addr);
    fw_cfg_add_i32(m->fw_cfg, FW_CFG_KERNEL_SIZE, klen - setup);
    fw_cfg_add_bytes(m->fw_cfg, FW_CFG_KERNEL_DATA, k + setup, klen - setup);
    fw_cfg_add_i32(m->fw_cfg, FW_CFG_SETUP_ADDR, real_addr);
    fw_cfg_add_i32(m->fw_cfg, FW_CFG_SETUP_SIZE, setup);
    fw_cfg_add_bytes(m->fw_cfg, FW_CFG_SETUP_DATA, k, setup);
    return fw_cfg_add_file_take(m->fw_cfg, "genroms/" LINUXBOOT_ROM, g_steal_pointer(&rom),
                                romlen, errp);
}
