/*
 * The systematic hostile-guest sweep (tests/unit/device-fuzz.h) over every device class:
 * a test machine with the PCI host (i440FX, PIIX3, configuration ports) and one device
 * of the class, its BARs assigned and decoding, guest RAM full of random bytes (so any
 * ring or descriptor a device follows is garbage); then every width at every offset of
 * every port and MMIO region and of every PCI configuration space, reads and writes of
 * boundary and random values; then once more after loading random migrated state.
 * Meant to run under ASan (the `device-sweep-asan` test does that in `make check`).
 */
#include <glib.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "device-fuzz.h"
#include "vireo/acpi.h"
#include "vireo/drive.h"
#include "vireo/fw_cfg.h"
#include "vireo/net.h"
#include "vireo/pc.h"

#define RAM_SIZE 0x80000u          /* below the legacy VGA window at 0xa0000 */

/* One line per (concrete) device class of hw/core/hw-classes.def. */
typedef struct SweepDevice {
    const char *cls;
    const char *opts;                       /* -device options */
    bool with_bus;                          /* created by pci_bus_new_pc() */
    Device *(*create)(Machine *m, GError **errp);   /* board-internal devices */
    const char *drive;                      /* -drive options beside file=,id=sweep0 */
    const char *parent;                     /* created first (the bus it sits on) */
    bool loopback_netdev;                   /* NICs: netdev "sweepnet" sends each frame
                                             * back (so random rings drive RX too) */
} SweepDevice;

/* fw_cfg as the board fills it: items, files, and DMA a hostile guest can aim anywhere. */
static Device *fw_cfg_create(Machine *m, GError **errp)
{
    static const char blob[] = "sweep fw_cfg item contents";
    Device *d = device_new(m, &fw_cfg_io_class);
    if (!machine_add_device(m, d, errp))
        return NULL;
    fw_cfg_add_bytes(d, FW_CFG_KERNEL_CMDLINE, blob, sizeof(blob));
    if (!fw_cfg_add_file(d, "etc/sweep", blob, sizeof(blob), errp) ||
        !fw_cfg_add_file(d, "opt/sweep", blob, 5, errp))
        return NULL;
    return d;
}

/* PIIX4_PM needs the board's acpi-pm (its SCI); a user's device in slot 5 gives the
 * guest's ejects something to remove, and m->hotplug makes the slot hot-pluggable. */
static Device *piix4_pm_sweep_create(Machine *m, GError **errp)
{
    Device *pm = acpi_pm_create(m, errp);
    Device *d = pm ? piix4_pm_create(m, pm, errp) : NULL;
    if (!d)
        return NULL;
    m->hotplug = piix4_pm_hotplug(d);
    Device *user = machine_create_device(m, "virtio-rng-pci", "addr=05.0", errp);
    if (!user)
        return NULL;
    user->user_created = true;
    return d;
}

static const SweepDevice sweep_devices[] = {
    { "i440FX", .with_bus = true },
    { "PIIX3", .with_bus = true },
    { "acpi-pm", .create = acpi_pm_create },
    { "PIIX4_PM", .create = piix4_pm_sweep_create },
    { "isa-serial", "index=0" },
    { "mc146818rtc", NULL },
    { "i8042", NULL },
    { "port92", NULL },
    { "isa-debug-exit", NULL },
    { "virtio-rng-pci", "max-bytes=4096,period=10" },
    { "virtio-blk-pci", "drive=sweep0", .drive = "format=raw" },
    { "VGA", NULL },
    { "bochs-display", NULL },
    { "virtio-keyboard-pci", NULL },
    { "virtio-mouse-pci", NULL },
    { "virtio-tablet-pci", NULL },
    { "fw_cfg_io", .create = fw_cfg_create },
    { "piix3-ide", NULL },
    { "ide-hd", "drive=sweep0,bus=ide.0,unit=0", .drive = "format=raw", .parent = "piix3-ide" },
    { "ide-cd", "drive=sweep0,bus=ide.1,unit=0", .drive = "format=raw,media=cdrom",
      .parent = "piix3-ide" },
    { "virtio-net-pci", "netdev=sweepnet", .loopback_netdev = true },
    { "e1000", "netdev=sweepnet", .loopback_netdev = true },
};

static const SweepDevice *sweep_find(const char *cls)
{
    for (size_t i = 0; i < G_N_ELEMENTS(sweep_devices); i++)
        if (!strcmp(sweep_devices[i].cls, cls))
            return &sweep_devices[i];
    return NULL;
}

static void test_every_class_listed(void)
{
    for (const DeviceClass *const *c = device_classes(); *c; c++) {
        if (!(*c)->abstract && !sweep_find((*c)->name))
            g_error("device class '%s' has no line in tests/unit/test-device-sweep.c: "
                    "add one so the hostile-guest sweep covers it", (*c)->name);
    }
}

static char *sweep_image(void)
{
    const char *dir = g_getenv("VIREO_BUILD_DIR");
    char *path = g_strdup_printf("%s/test-device-sweep-%d.raw", dir ? dir : g_get_tmp_dir(),
                                 (int)getpid());
    int fd = open(path, O_CREAT | O_TRUNC | O_WRONLY, 0600);
    g_assert_cmpint(fd, >=, 0);
    g_assert_cmpint(ftruncate(fd, 1 << 20), ==, 0);
    close(fd);
    return path;
}

/* Random bytes over the state of every device that has a migration description. */
static void load_random_state(Machine *m, GRand *rnd)
{
    for (guint i = 0; i < m->devices->len; i++) {
        Device *dev = m->devices->pdata[i];
        if (dev->cls->vmsd)
            fuzz_load_random_state(dev, rnd);
    }
}

static uint64_t sweep_round(Machine *m, GRand *rnd)
{
    for (uint32_t i = 0; i < RAM_SIZE; i += 4) {
        uint32_t v = g_rand_int(rnd);
        memcpy(m->ram + i, &v, 4);
    }
    g_assert_true(pci_bus_assign_bars(m->pci_bus));     /* decoding, bus master on */
    uint64_t n = sweep_address_space(m->io, rnd);
    n += sweep_address_space(m->sysmem, rnd);
    n += sweep_pci_config(m->pci_bus, rnd);
    while (g_main_context_iteration(NULL, FALSE))       /* queue work, completions */
        ;
    vclock_step(m->clock, 2000000000LL);                /* timers (rate limits, RTC) */
    return n;
}

static void sweep_class(gconstpointer data)
{
    const SweepDevice *sd = data;
    g_autofree char *image = sd->drive ? sweep_image() : NULL;
    Machine *m = machine_new_test(RAM_SIZE);
    GError *err = NULL;
    GRand *rnd = g_rand_new_with_seed(0x13);
    g_log_set_always_fatal(G_LOG_FATAL_MASK | G_LOG_LEVEL_CRITICAL);   /* warnings expected */
    g_assert_nonnull(pci_bus_new_pc(m, &err));
    if (image) {
        g_autofree char *spec = g_strdup_printf("file=%s,%s,if=none,id=sweep0", image,
                                                sd->drive);
        g_assert_true(drive_add(m, spec, &err));
    }
    if (sd->loopback_netdev) {
        /* A datagram socket sending to itself (abstract unix name: no file). */
        g_autofree char *nd = g_strdup_printf(
            "dgram,id=sweepnet,local.type=unix,local.path=vireo-sweep-%d,local.abstract=on,"
            "remote.type=unix,remote.path=vireo-sweep-%d,remote.abstract=on",
            (int)getpid(), (int)getpid());
        g_assert_true(net_netdev_option(m, nd, &err));
    }
    if (sd->parent)
        g_assert_nonnull(machine_create_device(m, sd->parent, NULL, &err));
    g_assert_no_error(err);
    if (sd->create)
        g_assert_nonnull(sd->create(m, &err));
    else if (!sd->with_bus)
        machine_create_device(m, sd->cls, sd->opts, &err);
    g_assert_no_error(err);
    uint64_t n = sweep_round(m, rnd);
    load_random_state(m, rnd);
    n += sweep_round(m, rnd);
    g_test_message("%s: %" G_GUINT64_FORMAT " accesses", sd->cls, n);
    g_assert_cmpuint(n, >, 0);
    pci_bus_free(m->pci_bus);
    machine_free(m);
    g_rand_free(rnd);
    if (image)
        unlink(image);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/sweep/every-class-listed", test_every_class_listed);
    for (size_t i = 0; i < G_N_ELEMENTS(sweep_devices); i++) {
        g_autofree char *path = g_strdup_printf("/sweep/%s", sweep_devices[i].cls);
        g_test_add_data_func(path, &sweep_devices[i], sweep_class);
    }
    return g_test_run();
}
