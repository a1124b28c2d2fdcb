/* Command-line parsing: values, suffixes, topology, and errors naming the culprit. */
#include "vireo/cmdline.h"
#include "vireo/pc.h"
#include <string.h>

static bool parse(VireoOptions *o, GError **err, ...)
{
    char *argv[32] = { "vireo" };
    int argc = 1;
    va_list ap;
    va_start(ap, err);
    for (char *a; (a = va_arg(ap, char *)) != NULL;)
        argv[argc++] = a;
    va_end(ap);
    return cmdline_parse(argc, argv, o, err);
}

static void expect_error(const char *needle, ...)
{
    char *argv[32] = { "vireo" };
    int argc = 1;
    va_list ap;
    va_start(ap, needle);
    for (char *a; (a = va_arg(ap, char *)) != NULL;)
        argv[argc++] = a;
    va_end(ap);
    VireoOptions o;
    GError *err = NULL;
    g_assert_false(cmdline_parse(argc, argv, &o, &err));
    if (!strstr(err->message, needle))
        g_error("error '%s' lacks '%s'", err->message, needle);
    g_assert_null(strchr(err->message, '\n'));
    g_clear_error(&err);
    cmdline_free(&o);
}

static void test_basic(void)
{
    VireoOptions o;
    g_assert_true(parse(&o, NULL, "-machine", "pc,accel=kvm", "-m", "512", "-smp", "2",
                        "-kernel", "k", "-initrd", "i", "-append", "console=ttyS0",
                        "-nographic", "-no-reboot", "-S", "--name", "guest=vm1", NULL));
    g_assert_cmpuint(o.machine.ram_size, ==, 512ULL << 20);
    g_assert_cmpuint(o.machine.smp_cpus, ==, 2);
    g_assert_cmpuint(o.machine.sockets, ==, 1);     /* QEMU 7.2's pc prefers cores */
    g_assert_cmpuint(o.machine.cores, ==, 2);
    g_assert_cmpstr(o.machine.kernel, ==, "k");
    g_assert_cmpstr(o.machine.append, ==, "console=ttyS0");
    g_assert_cmpstr(o.machine.name, ==, "vm1");
    g_assert_true(o.nographic && o.machine.no_reboot && o.machine.start_paused);
    cmdline_free(&o);
}

static void test_mem(void)
{
    uint64_t v;
    g_assert_true(cmdline_parse_mem("2G", &v, NULL));
    g_assert_cmpuint(v, ==, 2ULL << 30);
    g_assert_true(cmdline_parse_mem("size=768M", &v, NULL));
    g_assert_cmpuint(v, ==, 768ULL << 20);
    g_assert_true(cmdline_parse_mem("1024", &v, NULL));
    g_assert_cmpuint(v, ==, 1ULL << 30);
    expect_error("-m 12Q", "-m", "12Q", NULL);
    expect_error("-m -5", "-m", "-5", NULL);
    expect_error("at least 2 MiB", "-m", "1", NULL);
    expect_error("Invalid parameter 'foo'", "-m", "1G,foo=2", NULL);
}

static void test_smp(void)
{
    MachineOpts mo = {0};
    g_assert_true(cmdline_parse_smp("4,sockets=1,cores=2,threads=2", &mo, NULL));
    g_assert_cmpuint(mo.smp_cpus, ==, 4);
    g_assert_cmpuint(mo.cores, ==, 2);
    g_assert_cmpuint(mo.threads, ==, 2);
    g_assert_true(cmdline_parse_smp("sockets=2,cores=3", &mo, NULL));
    g_assert_cmpuint(mo.smp_cpus, ==, 6);
    expect_error("greater than zero", "-smp", "0", NULL);
    expect_error("product of the hierarchy", "-smp", "8,sockets=1,cores=2,threads=2", NULL);
    expect_error("invalid value 'x'", "-smp", "x", NULL);
}

static void test_smp_qemu72(void)
{
    /* pc-i440fx-7.2 (machine types since 6.2) computes cores before sockets. */
    MachineOpts mo = {0};
    g_assert_true(cmdline_parse_smp("4", &mo, NULL));
    g_assert_true(mo.sockets == 1 && mo.cores == 4 && mo.threads == 1 && mo.max_cpus == 4);
    g_assert_true(cmdline_parse_smp("8,sockets=2", &mo, NULL));
    g_assert_true(mo.sockets == 2 && mo.cores == 4 && mo.threads == 1);
    g_assert_true(cmdline_parse_smp("8,cores=2", &mo, NULL));
    g_assert_true(mo.sockets == 4 && mo.cores == 2);
    g_assert_true(cmdline_parse_smp("8,sockets=2,cores=2", &mo, NULL));
    g_assert_true(mo.threads == 2);
    g_assert_true(cmdline_parse_smp("2,maxcpus=4", &mo, NULL));
    g_assert_true(mo.smp_cpus == 2 && mo.cores == 4 && mo.max_cpus == 4);
    g_assert_true(cmdline_parse_smp("cpus=2,dies=2,cores=1", &mo, NULL));
    g_assert_true(mo.sockets == 1 && mo.dies == 2);
    expect_error("maxcpus must be equal to or greater than smp", "-smp", "4,maxcpus=2", NULL);
}

static void test_machine_props(void)
{
    VireoOptions o;
    g_assert_true(parse(&o, NULL, "-machine", "pc,dump-guest-core=off,mem-merge=off,usb=off,"
                        "vmport=off,kernel-irqchip=on,kernel-cache=off", "-accel",
                        "kvm,x-coalesced-io=off", NULL));
    g_assert_false(o.machine.dump_guest_core || o.machine.mem_merge || o.machine.usb);
    g_assert_cmpint(o.machine.vmport, ==, ON_OFF_AUTO_OFF);
    g_assert_false(o.machine.kernel_cache || o.machine.coalesced_io);
    cmdline_free(&o);
    g_assert_true(parse(&o, NULL, "-machine", "accel=kvm:tcg", NULL));   /* libvirt's probe */
    g_assert_true(o.machine.dump_guest_core && o.machine.mem_merge && o.machine.coalesced_io);
    cmdline_free(&o);
    expect_error("Parameter 'dump-guest-core' expects 'on' or 'off'", "-machine",
                 "pc,dump-guest-core=maybe", NULL);
    expect_error("Property 'pc-i440fx-7.2-machine.nonsense' not found", "-machine",
                 "pc,nonsense=1", NULL);
    expect_error("usb=on: Vireo has no USB controller", "-machine", "usb=on", NULL);
    expect_error("vmport=on", "-machine", "vmport=on", NULL);
    expect_error("Parameter 'vmport' does not accept value 'sometimes'", "-machine",
                 "vmport=sometimes", NULL);
    expect_error("kernel-irqchip", "-machine", "kernel-irqchip=split", NULL);
    expect_error("kernel-irqchip", "-accel", "kvm,kernel-irqchip=off", NULL);
    expect_error("Property 'kvm-accel.bogus' not found", "-accel", "kvm,bogus=1", NULL);
    expect_error("unsupported accelerator 'tcg'", "-machine", "accel=tcg", NULL);
    expect_error("slots/maxmem", "-m", "1G,slots=4,maxmem=8G", NULL);
}

static void test_rtc_uuid_devices(void)
{
    VireoOptions o;
    g_assert_true(parse(&o, NULL, "-rtc", "base=2006-06-17T16:01:21,clock=host,driftfix=none",
                        "-uuid", "12345678-1234-1234-1234-123456789abc", NULL));
    g_assert_cmpint(o.machine.rtc_base, ==, 1150560081);
    g_assert_true(o.machine.rtc_utc);
    cmdline_free(&o);
    g_assert_true(parse(&o, NULL, "-rtc", "base=localtime", NULL));
    g_assert_false(o.machine.rtc_utc);
    cmdline_free(&o);
    expect_error("only clock=host", "-rtc", "clock=vm", NULL);
    expect_error("invalid option value for clock", "-rtc", "clock=banana", NULL);
    expect_error("driftfix=slew is not supported", "-rtc", "driftfix=slew", NULL);
    expect_error("invalid date format", "-rtc", "base=2006-13-45", NULL);
    expect_error("Wrong format", "-uuid", "not-a-uuid", NULL);
    expect_error("Wrong format", "-uuid", "12345678-1234-1234-1234-123456789abcd", NULL);
    g_assert_true(parse(&o, NULL, "-device", "isa-debug-exit,id=a", "-device",
                        "{\"driver\": \"isa-debug-exit\", \"id\": \"b\", \"iobase\": 1281}",
                        NULL));
    g_assert_cmpuint(o.devices->len, ==, 2);
    OptEntry *e = o.devices->pdata[1];
    g_assert_false(e->kv);
    cmdline_free(&o);
    expect_error("Duplicate ID 'a' for device", "-device", "isa-debug-exit,id=a",
                 "-device", "isa-debug-exit,id=a", NULL);
    expect_error("Parameter 'id' expects an identifier", "-device", "isa-debug-exit,id=9",
                 NULL);
    expect_error("'nosuch' is not a valid device model name", "-device", "nosuch", NULL);
    expect_error("JSON parse error", "-device", "{\"driver\":", NULL);
}

static void test_errors(void)
{
    expect_error("-bogus: invalid option", "-bogus", NULL);
    expect_error("-kernel: requires an argument", "-kernel", NULL);
    expect_error("-machine q35x", "-machine", "q35x", NULL);
    expect_error("unsupported accelerator", "-accel", "tcg", NULL);
    expect_error("Invalid boot device for PC: 'x'", "-boot", "cx", NULL);
    expect_error("Too many boot devices for PC", "-boot", "order=cdna", NULL);
    expect_error("Boot device 'c' was given twice", "-boot", "once=cc", NULL);
    expect_error("splash-time must be 0..65535", "-boot", "splash-time=70000", NULL);
    expect_error("Invalid parameter 'bogus'", "-boot", "bogus=1", NULL);
    expect_error("menu expects on or off", "-boot", "menu=maybe", NULL);
    expect_error("-rtc base=mars", "-rtc", "base=mars", NULL);
}

/* -hda.., -cdrom and a bare image become -drive specs (commas in names escaped). */
static void test_drive_shorthands(void)
{
    VireoOptions o;
    g_assert_true(parse(&o, NULL, "disk,1.img", "-cdrom", "x.iso", "-hdb", "b.qcow2", "-snapshot",
                        "-boot", "d,menu=on,splash-time=500,strict=on", NULL));
    g_assert_cmpuint(o.drives->len, ==, 3);
    g_assert_cmpstr(o.drives->pdata[0], ==, "file=disk,,1.img,index=0,media=disk");
    g_assert_cmpstr(o.drives->pdata[1], ==, "file=x.iso,index=2,media=cdrom");
    g_assert_cmpstr(o.drives->pdata[2], ==, "file=b.qcow2,index=1,media=disk");
    g_assert_true(o.machine.snapshot);
    g_assert_cmpstr(o.machine.boot_order, ==, "d");
    g_assert_true(o.machine.boot_menu && o.machine.boot_strict && o.machine.boot_given);
    g_assert_cmpint(o.machine.splash_time, ==, 500);
    g_assert_cmpint(o.machine.reboot_timeout, ==, -1);
    cmdline_free(&o);
}

/* A -device with bootindex >= 0 (keyval or JSON) selects the firmware boot, as a drive
 * or -boot does: the boot order is SeaBIOS's to follow (a NIC's iPXE, a -blockdev disk). */
static void test_bootindex_firmware(void)
{
    static const char *const on[] = {
        "e1000,netdev=n0,bootindex=1", "virtio-net-pci,bootindex=0",
        "{\"driver\":\"virtio-net-pci\",\"bootindex\":2}",
    };
    static const char *const off[] = {
        "e1000,netdev=n0", "e1000,bootindex=-1", "{\"driver\":\"e1000\",\"bootindex\":-1}",
    };
    VireoOptions o;
    for (unsigned i = 0; i < G_N_ELEMENTS(on); i++) {
        g_assert_true(parse(&o, NULL, "-device", on[i], NULL));
        g_assert_true(o.machine.bootindex_given);
        g_assert_true(pc_firmware_wanted(&o.machine));
        cmdline_free(&o);
    }
    for (unsigned i = 0; i < G_N_ELEMENTS(off); i++) {
        g_assert_true(parse(&o, NULL, "-device", off[i], NULL));
        g_assert_false(o.machine.bootindex_given);
        g_assert_false(pc_firmware_wanted(&o.machine));
        cmdline_free(&o);
    }
    /* -kernel boots directly unless kernel-boot=firmware, bootindex or not. */
    g_assert_true(parse(&o, NULL, "-kernel", "bzImage", "-device", on[0], NULL));
    g_assert_false(pc_firmware_wanted(&o.machine));
    cmdline_free(&o);
}

static void test_help(void)
{
    VireoOptions o;
    g_assert_true(parse(&o, NULL, "-machine", "help", NULL));
    g_assert_true(o.machine_help);
    cmdline_free(&o);
    g_assert_true(parse(&o, NULL, "-device", "?", NULL));
    g_assert_true(o.device_help);
    cmdline_free(&o);
    g_assert_true(parse(&o, NULL, "-cpu", "help", "--version", NULL));
    g_assert_true(o.cpu_help && o.want_version);
    cmdline_free(&o);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/cmdline/basic", test_basic);
    g_test_add_func("/cmdline/mem", test_mem);
    g_test_add_func("/cmdline/smp", test_smp);
    g_test_add_func("/cmdline/errors", test_errors);
    g_test_add_func("/cmdline/drive-shorthands", test_drive_shorthands);
    g_test_add_func("/cmdline/smp-qemu72", test_smp_qemu72);
    g_test_add_func("/cmdline/machine-props", test_machine_props);
    g_test_add_func("/cmdline/rtc-uuid-devices", test_rtc_uuid_devices);
    g_test_add_func("/cmdline/help", test_help);
    g_test_add_func("/cmdline/bootindex-firmware", test_bootindex_firmware);
    return g_test_run();
}
