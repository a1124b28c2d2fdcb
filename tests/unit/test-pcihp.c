/*
 * ACPI PCI hotplug on the pc board without KVM (hw/acpi/pcihp.c, hw/i386/pc.c): the
 * real `pc` machine class built on a virtual clock (no vCPUs run; the test plays the
 * guest's AML on ports 0xae00 and 0xafe0) with a QMP session on a socketpair.
 *
 *  - the board: PIIX4_PM at 01.3, m->hotplug, the DSDT's _EJ0 only on hot-pluggable
 *    slots, -global PIIX4_PM.acpi-root-pci-hotplug=off;
 *  - registers: UP cleared by its read, DOWN until the eject, RMV, BSEL, GPE0 W1C and
 *    the SCI;
 *  - device_add / device_del once running: UP/DOWN and GPE 1, no removal until the
 *    guest ejects, a second device_del refused, eject -> DEVICE_DELETED, a reset
 *    completing a removal, teardown of a live virtio device (BARs, MSI-X, ioeventfd)
 *    and of NICs with their netdev (run under ASan by asan-sweep.sh);
 *  - a hostile driver: every width at every offset of both blocks with boundary and
 *    random values, ejects of every slot (built-in, empty, populated), random state;
 *  - the state description: round trip, fixed bytes, a refused stream.
 */
#include "device-fuzz.h"
#include "virtio-fixture.h"
#include "qmp-test-client.h"
#include "vireo/acpi.h"
#include "vireo/drive.h"
#include "vireo/fw_cfg.h"
#include "vireo/hotplug.h"
#include "vireo/qmp.h"
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

extern const MachineClass pc_machine_class;

#define GPE_STS     ACPI_GPE0_BASE
#define GPE_EN      (ACPI_GPE0_BASE + 2)
#define HP_UP       (ACPI_PCIHP_BASE + 0x00)
#define HP_DOWN     (ACPI_PCIHP_BASE + 0x04)
#define HP_EJ       (ACPI_PCIHP_BASE + 0x08)
#define HP_RMV      (ACPI_PCIHP_BASE + 0x0c)
#define HP_SEL      (ACPI_PCIHP_BASE + 0x10)

/* ---- a QMP client on a socketpair (qmp-test-client.h) ---- */

/* Events seen so far (after a round trip, so the ones already sent are in). */
static const char *events(Client *c)
{
    g_free(cmd(c, "{\"execute\": \"query-status\"}"));
    return c->events->str;
}

/* ---- the machine ---- */

typedef struct Hp {
    Machine *m;
    Device *pm4;
    Client c;
    int sci;
    char *img;
    char *bios;                 /* a stand-in BIOS image (firmware boot), or NULL */
    GPtrArray *globals;
} Hp;

static void hp_gsi(void *opaque, int n, int level)
{
    if (n == ACPI_SCI_IRQ)
        ((Hp *)opaque)->sci = level;
}

static void hp_msi(void *opaque, uint64_t addr, uint32_t data)
{
}

/* The pc board with -nodefaults -vga std (VGA at 02.0), 64 MiB, direct boot of the
 * embedded guest (with @firmware: -bios of a stand-in image, so fw_cfg is filled for
 * SeaBIOS), @global as -global (or NULL), built and finished; QMP connected. */
static Hp *hp_build(const char *global, bool defaults, bool firmware)
{
    Hp *h = g_new0(Hp, 1);
    MachineOpts o;
    GError *err = NULL;
    const char *dir = g_getenv("VIREO_BUILD_DIR");
    machine_opts_init(&o);
    if (firmware) {                 /* 64 KiB of HLT: only its size is checked */
        g_autofree char *bios = g_malloc(64 << 10);
        memset(bios, 0xf4, 64 << 10);
        h->bios = g_strdup_printf("%s/test-pcihp-%d.bios", dir ? dir : g_get_tmp_dir(),
                                  (int)getpid());
        g_assert_true(g_file_set_contents(h->bios, bios, 64 << 10, NULL));
        o.bios = h->bios;
    }
    o.type = pc_machine_class.name;
    o.nodefaults = !defaults;
    o.vga = defaults ? NULL : "std";
    o.nographic = defaults;
    o.ram_size = 64 << 20;
    h->globals = g_ptr_array_new();
    if (global) {
        GlobalProp *g = g_new0(GlobalProp, 1);
        char **kv = g_strsplit_set(global, ".=", 3);
        g->driver = kv[0];
        g->property = kv[1];
        g->value = kv[2];
        g_free(kv);                                         /* the strings are g's */
        g->text = (char *)global;
        g_ptr_array_add(h->globals, g);
    }
    o.globals = h->globals;
    h->m = machine_new(&pc_machine_class, &o, vclock_new(1700000000LL * 1000000000LL));
    for (int i = 0; i < MACHINE_NUM_GSI; i++)
        h->m->gsi[i] = (IrqLine){ .handler = hp_gsi, .opaque = h, .n = i };
    h->m->msi = (MsiSink){ .send = hp_msi, .opaque = h };
    g_assert_true(pc_machine_class.init(h->m, &err));
    g_assert_no_error(err);
    g_assert_true(pc_machine_class.finish(h->m, &err));
    g_assert_no_error(err);
    PciDevice *p = pci_bus_get_device(h->m->pci_bus, PCI_DEVFN(1, 3));
    g_assert_nonnull(p);
    h->pm4 = &p->dev;
    g_assert_true(h->pm4->cls == &piix4_pm_class);
    qmp_block_init(h->m);
    client_init(&h->c, h->m);
    g_free(client_line(&h->c));
    expect_ok(&h->c, "{\"execute\": \"qmp_capabilities\"}");
    h->img = g_strdup_printf("%s/test-pcihp-%d.raw", dir ? dir : g_get_tmp_dir(), (int)getpid());
    int fd = open(h->img, O_CREAT | O_TRUNC | O_WRONLY, 0600);
    g_assert_cmpint(fd, >=, 0);
    g_assert_cmpint(ftruncate(fd, 1 << 20), ==, 0);
    close(fd);
    return h;
}

static Hp *hp_new_with(const char *global, bool defaults)
{
    return hp_build(global, defaults, false);
}

static Hp *hp_new(const char *global)
{
    return hp_new_with(global, false);
}

static void hp_free(Hp *h)
{
    client_fini(&h->c);
    monitor_cleanup(h->m);
    machine_free(h->m);
    for (guint i = 0; i < h->globals->len; i++) {
        GlobalProp *g = h->globals->pdata[i];
        g_free(g->driver);
        g_free(g->property);
        g_free(g->value);
        g_free(g);
    }
    g_ptr_array_free(h->globals, TRUE);
    unlink(h->img);
    g_free(h->img);
    if (h->bios)
        unlink(h->bios);
    g_free(h->bios);
    g_free(h);
}

static uint64_t in(Hp *h, uint16_t port, unsigned size)
{
    uint64_t v = 0;
    as_read(h->m->io, port, &v, size);
    return v;
}

static void out(Hp *h, uint16_t port, uint64_t v, unsigned size)
{
    as_write(h->m->io, port, v, size);
}

/* Bounded: a user netdev's poll source may always have something to do. */
static void run_main_loop(void)
{
    for (int i = 0; i < 1000 && g_main_context_iteration(NULL, FALSE); i++)
        ;
}

static PciDevice *slot_dev(Hp *h, unsigned slot, unsigned fn)
{
    return pci_bus_get_device(h->m->pci_bus, PCI_DEVFN(slot, fn));
}

/* The DSDT direct boot placed in the BIOS area. */
static const uint8_t *dsdt(Hp *h, uint32_t *len)
{
    const uint8_t *area = as_ram_ptr(h->m->sysmem, 0xe0000, 0x20000);
    g_assert_nonnull(area);
    const uint8_t *d = memmem(area, 0x20000, "DSDT", 4);
    g_assert_nonnull(d);
    memcpy(len, d + 4, 4);
    return d;
}

static bool slot_ejectable(Hp *h, unsigned slot)
{
    uint32_t len;
    const uint8_t *d = dsdt(h, &len);
    uint8_t yes[11] = { '_', 'E', 'J', '0', 1, 'P', 'C', 'E', 'J', 0x0a, slot };
    uint8_t no[11] = { 'E', 'J', '0', '_', 1, 'P', 'C', 'E', 'J', 0x0a, slot };
    uint8_t sun[7] = { 0x08, '_', 'S', 'U', 'N', 0x0a, slot };
    uint8_t nosun[7] = { 0x08, 'S', 'U', 'N', '_', 0x0a, slot };
    bool y = memmem(d, len, yes, 11) != NULL, n = memmem(d, len, no, 11) != NULL;
    bool ys = memmem(d, len, sun, 7) != NULL, ns = memmem(d, len, nosun, 7) != NULL;
    g_assert_true(y != n);
    g_assert_true(ys != ns);
    g_assert_true(y == ys);                 /* _SUN only with _EJ0 */
    return y;
}

/* ---- the board ---- */

static void test_board(void)
{
    Hp *h = hp_new(NULL);
    PciDevice *p = (PciDevice *)h->pm4;

    g_assert_cmphex(pci_config_read(p, PCI_VENDOR_ID, 4), ==, 0x71138086);
    g_assert_cmphex(pci_config_read(p, PCI_CLASS_DEVICE, 2), ==, 0x0680);
    g_assert_cmphex(pci_config_read(p, 0x40, 4), ==, 0x601);
    pci_config_write(p, 0x40, 0xb001, 4);                  /* fixed: acpi-pm is at 0x600 */
    g_assert_cmphex(pci_config_read(p, 0x40, 4), ==, 0x601);
    g_assert_cmphex(pci_config_read(p, 0x58, 4) & (1u << 25), ==, 1u << 25);
    g_assert_cmphex(pci_config_read(slot_dev(h, 1, 0), PCI_HEADER_TYPE, 1) & 0x80, ==, 0x80);
    g_assert_true(h->m->hotplug == piix4_pm_hotplug(h->pm4));
    g_assert_nonnull(h->m->hotplug);
    g_assert_cmpstr(slot_dev(h, 2, 0)->dev.cls->name, ==, "VGA");
    /* Slots 0 (i440FX), 1 (PIIX) and 2 (the built-in VGA) take no hot-plug. */
    g_assert_cmphex(in(h, HP_RMV, 4), ==, 0xfffffff8);
    g_assert_false(slot_ejectable(h, 2));
    for (unsigned s = 3; s < 32; s++)
        g_assert_true(slot_ejectable(h, s));
    hp_free(h);
}

/* The default devices (-nographic, -nic none as the sandbox runs it): the VGA is the
 * board's, at 02.0. */
static void test_board_defaults(void)
{
    Hp *h = hp_new_with("e1000.romfile=", true);
    for (unsigned d = 0; d < 256; d++) {
        PciDevice *p = pci_bus_get_device(h->m->pci_bus, d);
        if (p)
            g_test_message("%02x.%x %s%s", d >> 3, d & 7, p->dev.cls->name,
                           p->dev.user_created ? " (user)" : "");
    }
    g_assert_cmpstr(slot_dev(h, 2, 0)->dev.cls->name, ==, "VGA");
    g_assert_cmphex(in(h, HP_RMV, 4) & 7, ==, 0);
    g_assert_false(slot_ejectable(h, 2));
    hp_free(h);
}

/* A -device given before the guest runs is a user's: its slot stays ejectable. */
static void test_board_coldplug(void)
{
    Hp *h = hp_new(NULL);
    expect_ok(&h->c, "{\"execute\": \"device_add\", \"arguments\": {\"driver\": "
                     "\"virtio-rng-pci\", \"id\": \"rng0\", \"addr\": \"0x5\"}}");
    g_assert_cmphex(in(h, HP_RMV, 4), ==, 0xfffffff8);
    g_assert_cmphex(in(h, HP_UP, 4), ==, 0);                 /* no event at cold plug */
    g_assert_cmphex(in(h, GPE_STS, 2), ==, 0);
    expect_ok(&h->c, "{\"execute\": \"cont\"}");
    expect_ok(&h->c, "{\"execute\": \"device_del\", \"arguments\": {\"id\": \"rng0\"}}");
    g_assert_cmphex(in(h, HP_DOWN, 4), ==, 1u << 5);
    out(h, HP_EJ, 1u << 5, 4);
    g_assert_nonnull(strstr(events(&h->c), "\"device\": \"rng0\""));
    g_assert_null(slot_dev(h, 5, 0));
    hp_free(h);
}

static void test_root_off(void)
{
    Hp *h = hp_new("PIIX4_PM.acpi-root-pci-hotplug=off");
    g_assert_null(h->m->hotplug);
    g_assert_cmphex(in(h, HP_RMV, 4), ==, 0);
    for (unsigned s = 2; s < 32; s++)
        g_assert_false(slot_ejectable(h, s));
    /* Before the guest runs a device comes and goes as on the command line. */
    expect_ok(&h->c, "{\"execute\": \"device_add\", \"arguments\": {\"driver\": "
                     "\"virtio-rng-pci\", \"id\": \"rng0\"}}");
    expect_ok(&h->c, "{\"execute\": \"cont\"}");
    expect_error(&h->c, "{\"execute\": \"device_add\", \"arguments\": {\"driver\": "
                        "\"virtio-rng-pci\", \"id\": \"rng1\"}}",
                 "Bus 'pci.0' does not support hotplugging");
    expect_error(&h->c, "{\"execute\": \"device_del\", \"arguments\": {\"id\": \"rng0\"}}",
                 "Bus 'pci.0' does not support hotplugging");
    out(h, HP_EJ, 1u << 3, 4);                              /* the guest cannot either */
    run_main_loop();
    g_assert_nonnull(machine_find_device(h->m, "rng0"));
    hp_free(h);
}

/* ---- the registers and device_add / device_del ---- */

/* blockdev-add of node d1: a raw node on the test's image file. */
static char *blockdev_add_d1(const Hp *h)
{
    return g_strdup_printf(
        "{\"execute\": \"blockdev-add\", \"arguments\": {\"driver\": \"raw\", "
        "\"node-name\": \"d1\", \"file\": {\"driver\": \"file\", \"filename\": \"%s\"}}}",
        h->img);
}

static void test_plug_unplug(void)
{
    Hp *h = hp_new(NULL);
    Client *c = &h->c;
    g_autofree char *add = blockdev_add_d1(h);

    expect_ok(c, "{\"execute\": \"cont\"}");
    out(h, GPE_EN, ACPI_GPE_PCI_HOTPLUG, 1);                /* Linux enables _E01's GPE */
    g_assert_cmpint(h->sci, ==, 0);
    expect_ok(c, add);
    expect_ok(c, "{\"execute\": \"device_add\", \"arguments\": {\"driver\": "
                 "\"virtio-blk-pci\", \"id\": \"vd1\", \"drive\": \"d1\"}}");
    /* First free slot: 3. Visible in config space at once, BARs unassigned. */
    PciDevice *d = slot_dev(h, 3, 0);
    g_assert_nonnull(d);
    g_assert_cmpstr(d->dev.id, ==, "vd1");
    g_assert_true(d->dev.hotplugged);
    g_assert_cmphex(pci_bar_address(d, 4), ==, PCI_BAR_UNMAPPED);
    g_assert_cmphex(in(h, GPE_STS, 2), ==, ACPI_GPE_PCI_HOTPLUG);
    g_assert_cmpint(h->sci, ==, 1);
    g_assert_cmphex(in(h, HP_UP, 4), ==, 1u << 3);
    g_assert_cmphex(in(h, HP_UP, 4), ==, 0);                /* the read cleared it */
    g_assert_cmphex(in(h, HP_DOWN, 4), ==, 0);
    out(h, GPE_STS, 0xffff, 2);                             /* W1C */
    g_assert_cmphex(in(h, GPE_STS, 2), ==, 0);
    g_assert_cmpint(h->sci, ==, 0);

    /* device_del: the guest is asked; nothing goes until it ejects. */
    expect_ok(c, "{\"execute\": \"device_del\", \"arguments\": {\"id\": \"vd1\"}}");
    g_assert_cmpint(h->sci, ==, 1);
    g_assert_cmphex(in(h, HP_DOWN, 4), ==, 1u << 3);
    g_assert_cmphex(in(h, HP_DOWN, 4), ==, 1u << 3);        /* not cleared by reads */
    expect_error(c, "{\"execute\": \"device_del\", \"arguments\": {\"id\": \"vd1\"}}",
                 "Device vd1 is already in the process of unplug");
    run_main_loop();
    g_assert_null(strstr(events(c), "DEVICE_DELETED"));
    g_assert_true(slot_dev(h, 3, 0) == d);
    expect_error(c, "{\"execute\": \"blockdev-del\", \"arguments\": {\"node-name\": \"d1\"}}",
                 "Node d1 is in use");
    /* Ejecting another (empty) slot or with another bus selected does nothing. */
    out(h, HP_EJ, 1u << 7, 4);
    out(h, HP_SEL, 1, 4);
    g_assert_cmphex(in(h, HP_DOWN, 4), ==, 0);
    out(h, HP_EJ, 1u << 3, 4);
    out(h, HP_SEL, 0, 4);
    run_main_loop();
    g_assert_true(slot_dev(h, 3, 0) == d);
    g_assert_cmphex(in(h, HP_DOWN, 4), ==, 1u << 3);
    /* The _EJ0 write: gone from the main loop, DEVICE_DELETED, the node free again. */
    out(h, HP_EJ, 1u << 3, 4);
    g_assert_cmphex(in(h, HP_DOWN, 4), ==, 0);
    const char *ev = events(c);
    g_assert_nonnull(strstr(ev, "\"event\": \"DEVICE_DELETED\""));
    g_assert_nonnull(strstr(ev, "\"device\": \"vd1\", \"path\": \"/machine/peripheral/vd1\""));
    g_assert_null(slot_dev(h, 3, 0));
    g_assert_null(machine_find_device(h->m, "vd1"));
    expect_ok(c, "{\"execute\": \"blockdev-del\", \"arguments\": {\"node-name\": \"d1\"}}");
    out(h, GPE_STS, ACPI_GPE_PCI_HOTPLUG, 1);
    g_assert_cmpint(h->sci, ==, 0);

    /* Built-in slots: no hot-plug into them, no device_del of what is there. */
    expect_error(c, "{\"execute\": \"device_add\", \"arguments\": {\"driver\": "
                    "\"virtio-rng-pci\", \"addr\": \"01.5\"}}",
                 "virtio-rng-pci: PCI slot 1 holds built-in devices and takes no hot-plug");
    g_assert_null(slot_dev(h, 1, 5));
    g_assert_cmphex(in(h, HP_UP, 4), ==, 0);
    hp_free(h);
}

/* The SCI is shared with the PM1 events (acpi-pm): it stays up while either asks. */
static void test_sci_shared(void)
{
    Hp *h = hp_new(NULL);
    Device *pm = NULL;
    for (guint i = 0; i < h->m->devices->len; i++)
        if (((Device *)h->m->devices->pdata[i])->cls == &acpi_pm_class)
            pm = h->m->devices->pdata[i];
    g_assert_nonnull(pm);
    expect_ok(&h->c, "{\"execute\": \"cont\"}");
    out(h, ACPI_PM1_EVT_BLK + 2, ACPI_PM1_PWRBTN_STS, 2);
    out(h, GPE_EN, ACPI_GPE_PCI_HOTPLUG, 1);
    acpi_pm_power_button(pm);
    g_assert_cmpint(h->sci, ==, 1);
    expect_ok(&h->c, "{\"execute\": \"device_add\", \"arguments\": {\"driver\": "
                     "\"virtio-rng-pci\"}}");
    out(h, ACPI_PM1_EVT_BLK, ACPI_PM1_PWRBTN_STS, 2);      /* PM1 done, GPE 1 still */
    g_assert_cmpint(h->sci, ==, 1);
    out(h, GPE_EN, 0, 1);                                   /* masked */
    g_assert_cmpint(h->sci, ==, 0);
    out(h, GPE_EN, ACPI_GPE_PCI_HOTPLUG, 1);
    g_assert_cmpint(h->sci, ==, 1);
    out(h, GPE_STS, ACPI_GPE_PCI_HOTPLUG, 1);
    g_assert_cmpint(h->sci, ==, 0);
    hp_free(h);
}

/* A function other than 0 waits silently; function 0 announces the slot. */
static void test_functions(void)
{
    Hp *h = hp_new(NULL);
    expect_ok(&h->c, "{\"execute\": \"cont\"}");
    expect_ok(&h->c, "{\"execute\": \"device_add\", \"arguments\": {\"driver\": "
                     "\"virtio-rng-pci\", \"id\": \"f1\", \"addr\": \"06.1\"}}");
    g_assert_cmphex(in(h, HP_UP, 4), ==, 0);
    g_assert_cmphex(in(h, GPE_STS, 2), ==, 0);
    expect_ok(&h->c, "{\"execute\": \"device_add\", \"arguments\": {\"driver\": "
                     "\"virtio-rng-pci\", \"id\": \"f0\", \"addr\": \"06.0\", "
                     "\"multifunction\": true}}");
    g_assert_cmphex(in(h, HP_UP, 4), ==, 1u << 6);
    /* device_del of one function ejects the slot: both go, each with its event. */
    expect_ok(&h->c, "{\"execute\": \"device_del\", \"arguments\": {\"id\": \"f1\"}}");
    g_assert_cmphex(in(h, HP_DOWN, 4), ==, 1u << 6);
    out(h, HP_EJ, 1u << 6, 4);
    const char *ev = events(&h->c);
    g_assert_nonnull(strstr(ev, "\"device\": \"f1\""));
    g_assert_nonnull(strstr(ev, "\"device\": \"f0\""));
    g_assert_null(slot_dev(h, 6, 0));
    g_assert_null(slot_dev(h, 6, 1));
    hp_free(h);
}

/* The guest may eject on its own (no device_del), as under QEMU. */
static void test_guest_eject(void)
{
    Hp *h = hp_new(NULL);
    expect_ok(&h->c, "{\"execute\": \"cont\"}");
    expect_ok(&h->c, "{\"execute\": \"device_add\", \"arguments\": {\"driver\": "
                     "\"virtio-rng-pci\", \"id\": \"rng0\"}}");
    out(h, HP_EJ, 1u << 3, 4);
    out(h, HP_EJ, 1u << 3, 4);                              /* twice: one removal */
    const char *ev = events(&h->c);
    g_assert_nonnull(strstr(ev, "\"device\": \"rng0\""));
    g_assert_true(strstr(ev, "DEVICE_DELETED") == g_strrstr(ev, "DEVICE_DELETED"));
    g_assert_null(slot_dev(h, 3, 0));
    hp_free(h);
}

/* A reset completes the removals the guest did not answer (QEMU does the same) and
 * clears the registers. */
static void test_reset(void)
{
    Hp *h = hp_new(NULL);
    expect_ok(&h->c, "{\"execute\": \"cont\"}");
    out(h, GPE_EN, 0xffff, 2);
    expect_ok(&h->c, "{\"execute\": \"device_add\", \"arguments\": {\"driver\": "
                     "\"virtio-rng-pci\", \"id\": \"a\"}}");
    expect_ok(&h->c, "{\"execute\": \"device_add\", \"arguments\": {\"driver\": "
                     "\"virtio-rng-pci\", \"id\": \"b\"}}");
    expect_ok(&h->c, "{\"execute\": \"device_del\", \"arguments\": {\"id\": \"a\"}}");
    out(h, HP_SEL, 0x1234, 4);
    g_assert_cmpint(h->sci, ==, 1);
    pc_machine_class.reset(h->m);
    g_assert_cmpint(h->sci, ==, 0);
    g_assert_cmphex(in(h, GPE_EN, 2), ==, 0);
    g_assert_cmphex(in(h, HP_SEL, 4), ==, 0);
    g_assert_cmphex(in(h, HP_UP, 4), ==, 0);
    g_assert_cmphex(in(h, HP_DOWN, 4), ==, 0);
    const char *ev = events(&h->c);
    g_assert_nonnull(strstr(ev, "\"device\": \"a\""));
    g_assert_null(strstr(ev, "\"device\": \"b\""));
    g_assert_null(machine_find_device(h->m, "a"));
    g_assert_nonnull(machine_find_device(h->m, "b"));
    hp_free(h);
}

/* fw_cfg file @name as the guest reads it: the directory at selector 0x19 (a big-endian
 * count, then 64-byte entries: size, select, reserved, name), then the file's selector,
 * byte by byte through the data port. NULL when the directory has no such file. */
static char *fw_cfg_read_file(Hp *h, const char *name, uint32_t *size)
{
    uint8_t e[64];
    out(h, FW_CFG_IO_BASE, FW_CFG_FILE_DIR, 2);
    uint32_t n = 0;
    for (int i = 0; i < 4; i++)
        n = n << 8 | in(h, FW_CFG_IO_BASE + 1, 1);
    for (uint32_t i = 0; i < n; i++) {
        for (unsigned j = 0; j < sizeof(e); j++)
            e[j] = in(h, FW_CFG_IO_BASE + 1, 1);
        if (strncmp((char *)e + 8, name, 56))
            continue;
        *size = (uint32_t)e[0] << 24 | e[1] << 16 | e[2] << 8 | e[3];
        out(h, FW_CFG_IO_BASE, e[4] << 8 | e[5], 2);
        char *data = g_malloc0(*size + 1);
        for (uint32_t j = 0; j < *size; j++)
            data[j] = in(h, FW_CFG_IO_BASE + 1, 1);
        return data;
    }
    return NULL;
}

/* The guest's "bootorder" (NUL-terminated text; "" when empty). */
static char *bootorder(Hp *h)
{
    uint32_t size = 0;
    char *s = fw_cfg_read_file(h, "bootorder", &size);
    g_assert_nonnull(s);
    g_assert_true(size == 0 || (size == strlen(s) + 1));
    return s;
}

/* fw_cfg "bootorder" follows the devices at the next system reset, as QEMU rebuilds it
 * in fw_cfg_machine_reset: a disk and a NIC hot-plugged with bootindex= are in it after
 * the reset (not before: the firmware that runs now read the old one), a device_del'ed
 * disk (the guest did not eject it: the reset completes the removal) is gone. A
 * device_add with a bootindex another device holds fails with QEMU's GenericError and
 * creates nothing. */
static void test_bootorder_reset(void)
{
    Hp *h = hp_build(NULL, false, true);
    Client *c = &h->c;
    g_autofree char *add = blockdev_add_d1(h);
    const char *disk = "/pci@i0cf8/scsi@3/disk@0,0";
    const char *nic = "/pci@i0cf8/ethernet@4/ethernet-phy@0";

    g_assert_true(h->m->opts.firmware);
    g_autofree char *before = bootorder(h);
    g_assert_cmpstr(before, ==, "");
    expect_ok(c, "{\"execute\": \"cont\"}");
    expect_ok(c, add);
    expect_ok(c, "{\"execute\": \"device_add\", \"arguments\": {\"driver\": "
                 "\"virtio-blk-pci\", \"id\": \"vd1\", \"drive\": \"d1\", \"bootindex\": 2}}");
    expect_ok(c, "{\"execute\": \"device_add\", \"arguments\": {\"driver\": "
                 "\"e1000\", \"id\": \"n1\", \"romfile\": \"\", \"bootindex\": 1}}");
    g_assert_true(slot_dev(h, 3, 0) == (PciDevice *)machine_find_device(h->m, "vd1"));
    g_assert_true(slot_dev(h, 4, 0) == (PciDevice *)machine_find_device(h->m, "n1"));
    /* The same index again: refused before anything exists. */
    guint ndev = h->m->devices->len;
    expect_error(c, "{\"execute\": \"device_add\", \"arguments\": {\"driver\": "
                    "\"virtio-net-pci\", \"id\": \"n2\", \"bootindex\": 2}}",
                 "The bootindex 2 has already been used");
    g_assert_null(machine_find_device(h->m, "n2"));
    g_assert_null(slot_dev(h, 5, 0));
    g_assert_cmpuint(h->m->devices->len, ==, ndev);
    g_assert_cmphex(in(h, HP_UP, 4), ==, (1u << 3) | (1u << 4));   /* no slot 5 */
    g_autofree char *unchanged = bootorder(h);
    g_assert_cmpstr(unchanged, ==, "");

    pc_machine_class.reset(h->m);
    g_autofree char *plugged = bootorder(h);
    g_autofree char *want = g_strdup_printf("%s\n%s", nic, disk);
    g_assert_cmpstr(plugged, ==, want);

    expect_ok(c, "{\"execute\": \"device_del\", \"arguments\": {\"id\": \"vd1\"}}");
    g_assert_nonnull(machine_find_device(h->m, "vd1"));     /* until the guest ejects */
    g_autofree char *pending = bootorder(h);
    g_assert_cmpstr(pending, ==, want);
    pc_machine_class.reset(h->m);
    g_assert_null(machine_find_device(h->m, "vd1"));
    g_autofree char *unplugged = bootorder(h);
    g_assert_cmpstr(unplugged, ==, nic);
    /* The index is free again: a NIC takes it, the next reset lists it. */
    expect_ok(c, "{\"execute\": \"device_add\", \"arguments\": {\"driver\": "
                 "\"virtio-net-pci\", \"id\": \"n2\", \"bootindex\": 2, \"addr\": \"6\"}}");
    pc_machine_class.reset(h->m);
    g_autofree char *again = bootorder(h);
    g_autofree char *want2 = g_strdup_printf("%s\n/pci@i0cf8/ethernet@6/ethernet-phy@0", nic);
    g_assert_cmpstr(again, ==, want2);
    hp_free(h);
}

/* Removal of live devices: a virtio-blk with its BARs mapped, MSI-X on, a queue set up
 * and its notification ioeventfd registered; an e1000 and a virtio-net on user
 * netdevs, which stay for netdev_del. ASan checks nothing is left or used after. */
static void hp_eject(Hp *h, const char *id, unsigned slot)
{
    g_autofree char *del = g_strdup_printf("{\"execute\": \"device_del\", \"arguments\": "
                                           "{\"id\": \"%s\"}}", id);
    g_autofree char *want = g_strdup_printf("\"device\": \"%s\"", id);
    expect_ok(&h->c, del);
    g_assert_cmphex(in(h, HP_DOWN, 4), ==, 1u << slot);
    out(h, HP_EJ, 1u << slot, 4);
    g_assert_nonnull(strstr(events(&h->c), want));
    g_assert_null(slot_dev(h, slot, 0));
}

static void drive_virtio(Hp *h, PciDevice *d)
{
    Fx f = { .m = h->m, .pci = d, .vp = (VirtioPci *)d };
    g_assert_true(pci_bus_assign_bars(h->m->pci_bus));     /* as the guest's pci core */
    pci_config_write(d, PCI_COMMAND, PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER, 2);
    uint8_t cap = pci_find_capability(d, PCI_CAP_ID_MSIX);
    g_assert_cmpuint(cap, !=, 0);
    pci_config_write(d, cap + 2, 0x8000, 2);                /* MSI-X enable */
    g_assert_true(pci_msix_enabled(d));
    find_caps(&f);
    negotiate(&f, 1ull << VIRTIO_F_VERSION_1);
    setup_queue(&f, DESC, 0);
    wr(&f, f.common + 0x14, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER |
       VIRTIO_STATUS_FEATURES_OK | VIRTIO_STATUS_DRIVER_OK, 1);
    wr(&f, f.notify, 0, 2);                                 /* through the ioeventfd */
    run_main_loop();
}

static void test_teardown(void)
{
    Hp *h = hp_new(NULL);
    Client *c = &h->c;
    g_autofree char *add = blockdev_add_d1(h);
    expect_ok(c, "{\"execute\": \"cont\"}");
    expect_ok(c, add);
    expect_ok(c, "{\"execute\": \"device_add\", \"arguments\": {\"driver\": "
                 "\"virtio-blk-pci\", \"id\": \"vd1\", \"drive\": \"d1\"}}");
    drive_virtio(h, slot_dev(h, 3, 0));
    hp_eject(h, "vd1", 3);
    expect_ok(c, "{\"execute\": \"blockdev-del\", \"arguments\": {\"node-name\": \"d1\"}}");

    expect_ok(c, "{\"execute\": \"netdev_add\", \"arguments\": {\"type\": \"user\", "
                 "\"id\": \"n1\"}}");
    expect_ok(c, "{\"execute\": \"device_add\", \"arguments\": {\"driver\": \"e1000\", "
                 "\"id\": \"nic1\", \"netdev\": \"n1\"}}");
    g_assert_true(pci_bus_assign_bars(h->m->pci_bus));
    pci_config_write(slot_dev(h, 3, 0), PCI_COMMAND,
                     PCI_COMMAND_IO | PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER, 2);
    hp_eject(h, "nic1", 3);
    expect_error(c, "{\"execute\": \"device_add\", \"arguments\": {\"driver\": \"e1000\", "
                    "\"id\": \"nic1\", \"netdev\": \"nx\"}}",
                 "Property 'e1000.netdev' can't find value 'nx'");
    expect_ok(c, "{\"execute\": \"device_add\", \"arguments\": {\"driver\": "
                 "\"virtio-net-pci\", \"id\": \"nic2\", \"netdev\": \"n1\"}}");
    drive_virtio(h, slot_dev(h, 3, 0));
    hp_eject(h, "nic2", 3);
    expect_ok(c, "{\"execute\": \"netdev_del\", \"arguments\": {\"id\": \"n1\"}}");
    hp_free(h);
}

/* ---- a hostile driver ---- */

static uint64_t sweep_range(Hp *h, uint16_t base, unsigned len, GRand *rnd)
{
    static const unsigned widths[] = { 1, 2, 4, 8 };
    uint64_t n = 0, v;
    for (unsigned off = 0; off < len + 7; off++) {
        for (unsigned w = 0; w < G_N_ELEMENTS(widths); w++) {
            for (unsigned k = 0; k < SWEEP_VALUES; k++, n += 2) {
                as_read(h->m->io, base + off, &v, widths[w]);
                as_write(h->m->io, base + off, sweep_value(rnd, k, widths[w]), widths[w]);
            }
        }
    }
    return n;
}

static void test_hostile(void)
{
    Hp *h = hp_new(NULL);
    GRand *rnd = g_rand_new_with_seed(0xae00);
    static const char *const builtin[] = { "i440FX", "PIIX3", "piix3-ide", "PIIX4_PM", "VGA" };
    uint64_t n = 0;

    expect_ok(&h->c, "{\"execute\": \"cont\"}");
    for (int round = 0; round < 3; round++) {
        /* Devices in slots 3, 4 and 30 for the ejects to find. */
        for (unsigned s = 0; s < 3; s++) {
            g_autofree char *add = g_strdup_printf(
                "{\"execute\": \"device_add\", \"arguments\": {\"driver\": "
                "\"virtio-rng-pci\", \"addr\": \"%#x\"}}", (unsigned[]){ 3, 4, 30 }[s]);
            expect_ok(&h->c, add);
        }
        g_assert_true(pci_bus_assign_bars(h->m->pci_bus));
        n += sweep_range(h, ACPI_PCIHP_BASE, ACPI_PCIHP_SIZE, rnd);
        n += sweep_range(h, ACPI_GPE0_BASE, ACPI_GPE0_LEN, rnd);
        /* Every slot, on bus 0 and on others, each width. */
        for (unsigned sel = 0; sel < 3; sel++) {
            out(h, HP_SEL, sel == 2 ? g_rand_int(rnd) : sel, 4);
            for (unsigned s = 0; s < 32; s++)
                for (unsigned w = 1; w <= 8; w *= 2)
                    out(h, HP_EJ, 1ull << s, w), n++;
        }
        out(h, HP_EJ, 0, 4);
        out(h, HP_SEL, 0, 4);
        for (unsigned s = 0; s < 32; s++)
            out(h, HP_EJ, 1u << s, 4);
        if (round == 1)
            fuzz_load_random_state(h->pm4, rnd);
        run_main_loop();
        for (size_t i = 0; i < G_N_ELEMENTS(builtin); i++) {
            bool found = false;
            for (guint j = 0; j < h->m->devices->len; j++)
                found |= !strcmp(((Device *)h->m->devices->pdata[j])->cls->name, builtin[i]);
            g_assert_true(found);
        }
        g_assert_null(slot_dev(h, 3, 0));                   /* ejected */
        g_assert_null(slot_dev(h, 30, 0));
        g_assert_cmpuint(in(h, HP_RMV, 4), ==, 0xfffffff8);
    }
    g_test_message("%" G_GUINT64_FORMAT " accesses", n);
    g_rand_free(rnd);
    hp_free(h);
}

/* ---- the state description ---- */

static void test_vmstate(void)
{
    Hp *a = hp_new(NULL), *b = hp_new(NULL);
    const VMStateDesc *vmsd = a->pm4->cls->vmsd;
    g_autoptr(GByteArray) x = g_byte_array_new();
    g_autoptr(GByteArray) y = g_byte_array_new();
    GError *err = NULL;
    /* name, version 1, 16 bytes: GPE0 status and enable, UP (slot 24), DOWN, BSEL */
    static const uint8_t want[] = { 8, 'P', 'I', 'I', 'X', '4', '_', 'P', 'M', 1, 0, 0, 0,
                                    16, 0, 0, 0, 0x02, 0x00, 0x02, 0x00, 0x00, 0x00, 0x00,
                                    0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00 };

    expect_ok(&a->c, "{\"execute\": \"cont\"}");
    out(a, GPE_EN, ACPI_GPE_PCI_HOTPLUG, 2);
    expect_ok(&a->c, "{\"execute\": \"device_add\", \"arguments\": {\"driver\": "
                     "\"virtio-rng-pci\", \"id\": \"r\", \"addr\": \"0x18\"}}");
    g_assert_cmpint(a->sci, ==, 1);
    vmstate_save(vmsd, device_state(a->pm4), x);
    g_assert_cmpmem(x->data, x->len, want, sizeof(want));   /* the stream's bytes */
    g_assert_cmpuint(x->len, ==, vmstate_size(vmsd));
    g_byte_array_set_size(x, 0);
    device_state_save(a->pm4, x);
    g_assert_true(device_state_load(b->pm4, x->data, x->len, &err));
    g_assert_no_error(err);
    device_state_save(b->pm4, y);
    g_assert_cmpmem(x->data, x->len, y->data, y->len);
    g_assert_cmpint(b->sci, ==, 1);                         /* re-driven after the load */
    g_assert_cmphex(in(b, HP_UP, 4), ==, 1u << 0x18);
    /* GPE status bits no event sets are refused, naming the section. */
    uint8_t bad[sizeof(want)];
    memcpy(bad, want, sizeof(want));
    bad[17] = 0x03;
    g_assert_cmpint(vmstate_load(vmsd, device_state(b->pm4), bad, sizeof(bad), &err), <, 0);
    g_assert_nonnull(strstr(err->message, "PIIX4_PM"));
    g_clear_error(&err);
    hp_free(a);
    hp_free(b);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_log_set_always_fatal(G_LOG_FATAL_MASK | G_LOG_LEVEL_CRITICAL);  /* warnings expected */
    g_test_add_func("/pcihp/board", test_board);
    g_test_add_func("/pcihp/board-defaults", test_board_defaults);
    g_test_add_func("/pcihp/board-coldplug", test_board_coldplug);
    g_test_add_func("/pcihp/root-hotplug-off", test_root_off);
    g_test_add_func("/pcihp/plug-unplug", test_plug_unplug);
    g_test_add_func("/pcihp/sci-shared", test_sci_shared);
    g_test_add_func("/pcihp/functions", test_functions);
    g_test_add_func("/pcihp/guest-eject", test_guest_eject);
    g_test_add_func("/pcihp/reset", test_reset);
    g_test_add_func("/pcihp/bootorder-reset", test_bootorder_reset);
    g_test_add_func("/pcihp/teardown", test_teardown);
    g_test_add_func("/pcihp/hostile", test_hostile);
    g_test_add_func("/pcihp/vmstate", test_vmstate);
    return g_test_run();
}
