/*
 * Every device class migrates: it has a state description (a VMStateDesc at some level
 * of its type, hw/core/device-state.c) and a save/load round-trip test. The table
 * below is the one place that says which test covers which class; a class added to
 * hw/core/hw-classes.def without a line here fails /device-state/every-class with a
 * message saying what to add. The named test must exist: each binary is asked for its
 * test list (-l). Then a plain round trip of every class that can be built on a test
 * machine (save, load into a second machine, save again, same bytes).
 */
#include <glib.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "vireo/acpi.h"
#include "vireo/drive.h"
#include "vireo/fw_cfg.h"
#include "vireo/pc.h"

typedef struct StateTest {
    const char *cls;        /* DeviceClass name */
    const char *binary;     /* unit test binary (build/tests/NAME) */
    const char *path;       /* its save/load round-trip test */
    const char *opts;       /* -device options for the plain round trip below */
} StateTest;

/* The one list: class -> the round-trip test that covers its state. */
static const StateTest device_state_tests[] = {
    { "pci-device", "test-pci", "/pci/vmstate" },
    { "virtio-pci", "test-migration", "/migration/roundtrip" },
    { "i440FX", "test-migration", "/migration/roundtrip" },
    { "PIIX3", "test-migration", "/migration/roundtrip" },
    { "acpi-pm", "test-acpi", "/acpi/pm/vmstate" },
    { "PIIX4_PM", "test-pcihp", "/pcihp/vmstate" },
    { "isa-serial", "test-serial", "/serial/vmstate", "index=0" },
    { "mc146818rtc", "test-rtc", "/rtc/vmstate" },
    { "i8042", "test-i8042", "/i8042/reset-vmstate" },
    { "port92", "test-migration", "/migration/roundtrip" },
    { "isa-debug-exit", "test-migration", "/migration/roundtrip" },
    { "virtio-rng-pci", "test-migration", "/migration/roundtrip" },
    { "virtio-blk-pci", "test-migration", "/migration/roundtrip", "drive=d0" },
    { "VGA", "test-migration", "/migration/pc-devices", "vgamem_mb=1" },
    { "bochs-display", "test-migration", "/migration/pc-devices", "vgamem=4M" },
    { "virtio-keyboard-pci", "test-migration", "/migration/pc-devices" },
    { "virtio-mouse-pci", "test-migration", "/migration/pc-devices" },
    { "virtio-tablet-pci", "test-migration", "/migration/pc-devices" },
    { "fw_cfg_io", "test-migration", "/migration/pc-devices" },
    { "piix3-ide", "test-ide", "/ide/migrate-inflight" },
    { "ide-hd", "test-ide", "/ide/migrate-inflight", "drive=d1,bus=ide.0,unit=0" },
    { "ide-cd", "test-ide", "/ide/migrate-inflight", "drive=c0,bus=ide.1,unit=0" },
    { "virtio-net-pci", "test-virtio-net", "/virtio-net/vmstate" },
    { "e1000", "test-e1000", "/e1000/vmstate-announce" },
};

static const StateTest *find_entry(const char *cls)
{
    for (size_t i = 0; i < G_N_ELEMENTS(device_state_tests); i++)
        if (!strcmp(device_state_tests[i].cls, cls))
            return &device_state_tests[i];
    return NULL;
}

/* The test paths binary @name has (cached). */
static const char *test_list(const char *name)
{
    static GHashTable *lists;
    if (!lists)
        lists = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
    char *out = g_hash_table_lookup(lists, name);
    if (out)
        return out;
    const char *dir = g_getenv("VIREO_BUILD_DIR");
    g_autofree char *bin = g_strdup_printf("%s/tests/%s", dir ? dir : ".", name);
    const char *argv[] = { bin, "-l", NULL };
    if (!g_spawn_sync(NULL, (char **)argv, NULL, G_SPAWN_STDERR_TO_DEV_NULL, NULL, NULL,
                      &out, NULL, NULL, NULL))
        out = g_strdup("");
    g_hash_table_insert(lists, g_strdup(name), out);
    return out;
}

static bool lists_path(const char *list, const char *path)
{
    g_auto(GStrv) lines = g_strsplit(list, "\n", -1);
    for (int i = 0; lines[i]; i++)
        if (!strcmp(g_strstrip(lines[i]), path))
            return true;
    return false;
}

static void test_every_class(void)
{
    GString *missing = g_string_new(NULL);
    for (const DeviceClass *const *c = device_classes(); *c; c++) {
        const DeviceClass *cls = *c;
        bool state = cls->vmsd != NULL || (!cls->abstract && device_class_has_state(cls));
        const StateTest *t = find_entry(cls->name);
        if (!state && cls->abstract)
            continue;                       /* "device", "isa-device", ...: nothing */
        if (!state) {
            g_string_append_printf(missing, "device class '%s' has no state description: "
                "give its DeviceClass a .vmsd (a VMStateDesc over its plain state struct, "
                ".state_offset, a post_load validator as strict as guest writes) and a "
                "save/load round-trip unit test; then add { \"%s\", \"test-BINARY\", "
                "\"/TEST/PATH\" } to device_state_tests[] in "
                "tests/unit/test-device-state.c\n", cls->name, cls->name);
            continue;
        }
        if (!t) {
            g_string_append_printf(missing, "device class '%s' has no line in "
                "device_state_tests[] (tests/unit/test-device-state.c): add { \"%s\", "
                "\"test-BINARY\", \"/TEST/PATH\" } naming its save/load round-trip test "
                "(write one if it has none)\n", cls->name, cls->name);
            continue;
        }
        if (!lists_path(test_list(t->binary), t->path))
            g_string_append_printf(missing, "device class '%s': its round-trip test '%s' "
                "is not in build/tests/%s -l (renamed? fix its line in "
                "device_state_tests[])\n", cls->name, t->path, t->binary);
    }
    for (size_t i = 0; i < G_N_ELEMENTS(device_state_tests); i++)
        if (!device_class_find(device_state_tests[i].cls))
            g_string_append_printf(missing, "device_state_tests[] names '%s', which is not "
                                   "a device class\n", device_state_tests[i].cls);
    if (missing->len)
        g_error("%s", missing->str);
    g_string_free(missing, TRUE);
}

/* ---- a plain round trip of every class a test machine can hold ---------------------------- */

static char *image;

static Machine *machine_with(const DeviceClass *cls, const char *opts, Device **out)
{
    GError *err = NULL;
    Machine *m = machine_new_test(0x80000);     /* below the legacy VGA window */
    g_assert_nonnull(pci_bus_new_pc(m, &err));
    g_autofree char *spec = g_strdup_printf("file=%s,format=raw,if=none,id=d0,readonly=on",
                                            image);
    g_assert_true(drive_add(m, spec, &err));
    g_assert_true(drive_add(m, "if=none,id=c0,media=cdrom", &err));
    /* a writable disk of its own for ide-hd (open, then unlinked) */
    static unsigned n;
    g_autofree char *rw = g_strdup_printf("%s.%u", image, n++);
    int fd = open(rw, O_CREAT | O_TRUNC | O_WRONLY, 0600);
    g_assert_cmpint(fd, >=, 0);
    g_assert_cmpint(ftruncate(fd, 1 << 20), ==, 0);
    close(fd);
    g_autofree char *rwspec = g_strdup_printf("file=%s,format=raw,if=none,id=d1", rw);
    g_assert_true(drive_add(m, rwspec, &err));
    unlink(rw);
    if (!strcmp(cls->name, "ide-hd") || !strcmp(cls->name, "ide-cd"))
        g_assert_nonnull(machine_create_device(m, "piix3-ide", NULL, &err));
    if (!strcmp(cls->name, "acpi-pm")) {
        *out = acpi_pm_create(m, &err);
    } else if (!strcmp(cls->name, "fw_cfg_io")) {
        *out = device_new(m, cls);
        if (machine_add_device(m, *out, &err)) {
            fw_cfg_add_bytes(*out, FW_CFG_KERNEL_CMDLINE, "x", 2);
            g_assert_true(fw_cfg_add_file(*out, "etc/state", "abc", 3, &err));
        }
    } else if (!strcmp(cls->name, "PIIX4_PM")) {
        Device *pm = acpi_pm_create(m, &err);
        *out = pm ? piix4_pm_create(m, pm, &err) : NULL;
    } else if (!strcmp(cls->name, "i440FX") || !strcmp(cls->name, "PIIX3")) {
        *out = NULL;
        for (guint i = 0; i < m->devices->len; i++)
            if (((Device *)m->devices->pdata[i])->cls == cls)
                *out = m->devices->pdata[i];
    } else {
        *out = machine_create_device(m, cls->name, opts, &err);
    }
    if (err)
        g_error("device class '%s' cannot be created on a test machine with options '%s': "
                "%s (set the options of its line in device_state_tests[])", cls->name,
                opts ? opts : "", err->message);
    g_assert_nonnull(*out);
    return m;
}

static void roundtrip_class(gconstpointer data)
{
    const DeviceClass *cls = data;
    const StateTest *t = find_entry(cls->name);
    Device *a, *b;
    Machine *ma = machine_with(cls, t ? t->opts : NULL, &a);
    Machine *mb = machine_with(cls, t ? t->opts : NULL, &b);
    g_autoptr(GByteArray) x = g_byte_array_new(), y = g_byte_array_new();
    GError *err = NULL;
    device_state_save(a, x);
    g_assert_true(device_state_load(b, x->data, x->len, &err));
    g_assert_no_error(err);
    device_state_save(b, y);
    g_assert_cmpmem(x->data, x->len, y->data, y->len);
    /* Cut short anywhere: refused, naming the section. */
    for (guint n = 0; n < x->len; n += 1 + n / 5) {
        g_assert_false(device_state_load(b, x->data, n, &err));
        g_assert_nonnull(err);
        g_clear_error(&err);
    }
    pci_bus_free(ma->pci_bus);
    machine_free(ma);
    pci_bus_free(mb->pci_bus);
    machine_free(mb);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    const char *dir = g_getenv("VIREO_BUILD_DIR");
    image = g_strdup_printf("%s/test-device-state-%d.raw", dir ? dir : g_get_tmp_dir(),
                            (int)getpid());
    int fd = open(image, O_CREAT | O_TRUNC | O_WRONLY, 0600);
    g_assert_cmpint(fd, >=, 0);
    g_assert_cmpint(ftruncate(fd, 1 << 20), ==, 0);
    close(fd);
    g_test_add_func("/device-state/every-class", test_every_class);
    for (const DeviceClass *const *c = device_classes(); *c; c++) {
        if ((*c)->abstract || !device_class_has_state(*c))
            continue;
        g_autofree char *path = g_strdup_printf("/device-state/roundtrip/%s", (*c)->name);
        g_test_add_data_func(path, *c, roundtrip_class);
    }
    int r = g_test_run();
    unlink(image);
    return r;
}
