/*
 * The options management tools pass (issue 8): QEMU 7.2's syntax for each, as its
 * documentation gives it, and bad input whose error names the option and the bad
 * part. Also -readconfig files, -global on devices, -object on a machine, fdsets.
 */
#include "vireo/cmdline.h"
#include "vireo/fdset.h"
#include "vireo/machine.h"
#include "vireo/object.h"
#include "vireo/sandbox.h"
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

static bool parsev(VireoOptions *o, GError **err, char **args)
{
    char *argv[64] = { "vireo" };
    int argc = 1;
    for (; *args; args++)
        argv[argc++] = *args;
    return cmdline_parse(argc, argv, o, err);
}

#define OK(o, ...) g_assert_true(parsev((o), NULL, (char *[]){ __VA_ARGS__, NULL }))

/* The error names the option and its value, and holds @needle; one line. */
static void bad_(const char *needle, char **args)
{
    VireoOptions o;
    GError *err = NULL;
    g_assert_false(parsev(&o, &err, args));
    g_autofree char *opt = args[1] ? g_strdup_printf("%s %s", args[0], args[1])
                                   : g_strdup(args[0]);
    if (!strstr(err->message, needle) || !strstr(err->message, opt))
        g_error("error '%s' lacks '%s' or '%s'", err->message, needle, opt);
    g_assert_null(strchr(err->message, '\n'));
    g_error_free(err);
    cmdline_free(&o);
}
#define BAD(needle, ...) bad_((needle), (char *[]){ __VA_ARGS__, NULL })

static void test_name_msg(void)
{
    VireoOptions o;
    OK(&o, "-name", "guest=vm1,process=vireo-vm1,debug-threads=on", "-msg", "timestamp=on");
    g_assert_cmpstr(o.machine.name, ==, "vm1");
    g_assert_cmpstr(o.process_name, ==, "vireo-vm1");
    g_assert_true(o.machine.debug_threads && o.msg_timestamp && !o.msg_guest_name);
    cmdline_free(&o);
    OK(&o, "-name", "vm2", "-msg", "timestamp=off,guest-name=on");
    g_assert_cmpstr(o.machine.name, ==, "vm2");
    g_assert_true(!o.msg_timestamp && o.msg_guest_name && !o.machine.debug_threads);
    cmdline_free(&o);
    BAD("Invalid parameter 'threads'", "-name", "vm,threads=on");
    BAD("Parameter 'debug-threads' expects 'on' or 'off'", "-name", "vm,debug-threads=2");
    BAD("Parameter 'timestamp' expects 'on' or 'off'", "-msg", "timestamp=maybe");
    BAD("Invalid parameter 'color'", "-msg", "color=on");
}

static void test_overcommit(void)
{
    VireoOptions o;
    OK(&o, "-overcommit", "mem-lock=on");
    g_assert_true(o.mem_lock);
    cmdline_free(&o);
    OK(&o, "-overcommit", "mem-lock=off,cpu-pm=off");
    g_assert_false(o.mem_lock);
    cmdline_free(&o);
    BAD("cpu-pm=on", "-overcommit", "cpu-pm=on");
    BAD("Parameter 'mem-lock' expects 'on' or 'off'", "-overcommit", "mem-lock=yesplease");
    BAD("Invalid parameter 'swap'", "-overcommit", "swap=on");
}

static void test_sandbox(void)
{
    VireoOptions o;
    if (!sandbox_available()) {
        g_test_skip("no seccomp TSYNC here");
        return;
    }
    OK(&o, "-sandbox", "on,obsolete=deny,elevateprivileges=deny,spawn=deny,resourcecontrol=deny");
    g_assert_true(o.sandbox);
    g_assert_cmphex(o.sandbox_sets, ==, SANDBOX_SET_DEFAULT | SANDBOX_SET_OBSOLETE |
                    SANDBOX_SET_PRIVILEGED | SANDBOX_SET_SPAWN | SANDBOX_SET_RESOURCECTL);
    cmdline_free(&o);
    OK(&o, "-sandbox", "on,obsolete=allow,elevateprivileges=children");
    g_assert_cmphex(o.sandbox_sets, ==, SANDBOX_SET_DEFAULT | SANDBOX_SET_PRIVILEGED |
                    SANDBOX_NO_NEW_PRIVS);
    cmdline_free(&o);
    OK(&o, "-sandbox", "off");
    g_assert_false(o.sandbox);
    cmdline_free(&o);
    BAD("invalid argument for spawn", "-sandbox", "on,spawn=sometimes");
    BAD("invalid argument for elevateprivileges", "-sandbox", "on,elevateprivileges=no");
    BAD("Parameter 'enable' expects 'on' or 'off'", "-sandbox", "strict");
}

static void test_global(void)
{
    VireoOptions o;
    OK(&o, "-global", "virtio-blk-pci.ioeventfd=off", "-global",
       "driver=isa-serial,property=index,value=1", "-global", "pci-device.multifunction=on");
    g_assert_cmpuint(o.globals->len, ==, 3);
    GlobalProp *g = o.globals->pdata[1];
    g_assert_cmpstr(g->driver, ==, "isa-serial");
    g_assert_cmpstr(g->property, ==, "index");
    g_assert_cmpstr(g->value, ==, "1");
    /* The defaults reach the devices made later, for the type and its subtypes. */
    o.machine.globals = o.globals;
    Machine *m = machine_new(NULL, &o.machine, clock_real());
    Device *d = device_new(m, device_class_find("virtio-blk-pci"));
    JsonNode *v = prop_get(device_class_find_prop(d->cls, "ioeventfd"), d);
    g_assert_false(json_node_get_boolean(v));
    json_node_unref(v);
    v = prop_get(device_class_find_prop(d->cls, "multifunction"), d);
    g_assert_true(json_node_get_boolean(v));      /* pci-device's, inherited */
    json_node_unref(v);
    device_free(d);
    machine_free(m);
    cmdline_free(&o);
    BAD("'nosuch' is not a valid device model name", "-global", "nosuch.x=1");
    BAD("Property 'isa-serial.bogus' not found", "-global", "isa-serial.bogus=1");
    BAD("Parameter 'ioeventfd' expects 'on' or 'off'", "-global", "virtio-blk-pci.ioeventfd=7");
    BAD("expected DRIVER.PROPERTY=VALUE", "-global", "ioeventfd=off");
}

static void test_process(void)
{
    VireoOptions o;
    OK(&o, "-daemonize", "-pidfile", "/run/x.pid", "-no-user-config", "-nodefaults",
       "-add-fd", "fd=3,set=2,opaque=rdonly:/dev/null");
    g_assert_true(o.daemonize && o.no_user_config && o.machine.nodefaults);
    g_assert_cmpstr(o.pidfile, ==, "/run/x.pid");
    cmdline_free(&o);
    BAD("requires an argument", "-pidfile");
}

static void test_help(void)
{
    const char *opts[] = { "name", "msg", "overcommit", "sandbox", "trace", "global", "add-fd",
                           "smp", "m", "rtc", "mon", "drive", "chardev" };
    for (size_t i = 0; i < G_N_ELEMENTS(opts); i++) {
        VireoOptions o;
        g_autofree char *opt = g_strdup_printf("-%s", opts[i]);
        OK(&o, opt, "help");
        g_assert_cmpstr(o.help_group, ==, opts[i]);
        g_autoptr(GString) s = g_string_new(NULL);
        cmdline_print_group_help(opts[i], s);
        g_assert_true(g_str_has_suffix(strchr(s->str, ' '), "options:\n") ||
                      strstr(s->str, " options:\n"));
        cmdline_free(&o);
    }
}

/* -readconfig: QEMU's format, sections run as the options they name. */
static void test_readconfig(void)
{
    g_autofree char *path = NULL;
    int fd = g_file_open_tmp("vireo-cfg-XXXXXX", &path, NULL);
    const char *text =
        "# a comment\n"
        "[machine]\n  type = \"pc\"\n  dump-guest-core = \"off\"\n\n"
        "[smp-opts]\n  cpus = \"2\"\n"
        "[memory]\n  size = \"256M\"\n"
        "[device \"rng0\"]\n  driver = \"virtio-rng-pci\"\n  period = \"1000\"\n"
        "[global]\n  driver = \"virtio-blk-pci\"\n  property = \"ioeventfd\"\n  value = \"off\"\n"
        "[object \"mem0\"]\n  qom-type = \"memory-backend-ram\"\n  size = \"256M\"\n"
        "[name]\n  guest = \"a,b\"\n";
    g_assert_cmpint(write(fd, text, strlen(text)), ==, (ssize_t)strlen(text));
    close(fd);
    VireoOptions o;
    OK(&o, "-readconfig", path);
    g_assert_cmpuint(o.machine.smp_cpus, ==, 2);
    g_assert_cmpuint(o.machine.ram_size, ==, 256 << 20);
    g_assert_false(o.machine.dump_guest_core);
    g_assert_cmpuint(o.devices->len, ==, 1);
    g_assert_cmpuint(o.objects->len, ==, 1);
    g_assert_cmpuint(o.globals->len, ==, 1);
    g_assert_cmpstr(o.machine.name, ==, "a,b");           /* commas stay in the value */
    OptEntry *e = o.devices->pdata[0];
    g_assert_cmpstr(kv_get_str(e->obj, "id"), ==, "rng0");
    cmdline_free(&o);
    const char *bad[][2] = {
        { "[nosuch]\n  x = \"1\"\n", "There is no option group 'nosuch'" },
        { "  type = \"pc\"\n", "no group defined" },
        { "[machine]\n  type = pc\n", "parse error" },
        { "[device \"d\"]\n  driver = \"nosuch\"\n", "'nosuch' is not a valid device model" },
    };
    for (size_t i = 0; i < G_N_ELEMENTS(bad); i++) {
        g_file_set_contents(path, bad[i][0], -1, NULL);
        GError *err = NULL;
        char *argv[] = { "vireo", "-readconfig", path, NULL };
        g_assert_false(cmdline_parse(3, argv, &o, &err));
        g_autofree char *where = g_strdup_printf("-readconfig %s:", path);
        if (!strstr(err->message, bad[i][1]) || !strstr(err->message, where))
            g_error("error '%s' lacks '%s' or '%s'", err->message, bad[i][1], where);
        g_error_free(err);
        cmdline_free(&o);
    }
    BAD("No such file", "-readconfig", "/nonexistent/vireo.cfg");
    unlink(path);
}

/* -object on a test machine: the property rules and QEMU's error texts. */
static void test_objects(void)
{
    Machine *m = machine_new_test(0);
    const char *good[] = {
        "memory-backend-ram,id=r0,size=1M,prealloc=on,share=off",
        "memory-backend-memfd,id=f0,size=2M,seal=on",
        "secret,id=s0,data=aGVsbG8=,format=base64",
        "iothread,id=io0,poll-max-ns=0",
        "rng-random,id=rng0,filename=/dev/urandom",
    };
    for (size_t i = 0; i < G_N_ELEMENTS(good); i++) {
        GError *err = NULL;
        g_autoptr(JsonObject) o = option_parse("object", good[i], "qom-type", 0, NULL, NULL,
                                               &err);
        g_assert_no_error(err);
        g_assert_nonnull(object_create(m, o, true, &err));
        g_assert_no_error(err);
    }
    const char *bad[][2] = {
        { "memory-backend-ram,id=r1", "Parameter 'size' is missing" },
        { "memory-backend-ram,id=r0,size=1M", "Duplicate ID 'r0' for object" },
        { "memory-backend-ram,id=1r,size=1M", "Parameter 'id' expects an identifier" },
        { "memory-backend-ram,id=r2,size=1Q", "Parameter 'size' expects" },
        { "memory-backend-ram,id=r3,size=1M,bogus=1", "Invalid parameter 'bogus'" },
        { "memory-backend,id=r4,size=1M", "Parameter 'qom-type' does not accept value" },
        { "memory-backend-file,id=r5,size=1M", "Parameter 'mem-path' is missing" },
        { "memory-backend-memfd,id=r6,size=1M,hugetlbsize=3M,hugetlb=on", "power of two" },
        { "secret,id=s1", "Either 'file' or 'data' must be provided" },
        { "secret,id=s2,data=x,keyid=k", "not supported" },
        { "secret,id=s3,data=!!,format=base64", "invalid base64" },
        { "iothread,id=io1,poll-max-ns=-1", "poll-max-ns value must be in range" },
        { "rng-random,id=rng1,filename=/nonexistent", "Could not open '/nonexistent'" },
    };
    for (size_t i = 0; i < G_N_ELEMENTS(bad); i++) {
        GError *err = NULL;
        g_autoptr(JsonObject) o = option_parse("object", bad[i][0], "qom-type", 0, NULL,
                                               NULL, &err);
        g_assert_no_error(err);
        g_assert_null(object_create(m, o, true, &err));
        if (!strstr(err->message, bad[i][1]))
            g_error("%s: error '%s' lacks '%s'", bad[i][0], err->message, bad[i][1]);
        g_error_free(err);
    }
    GError *err = NULL;
    g_assert_false(object_delete(m, "nosuch", &err));
    g_assert_cmpstr(err->message, ==, "object 'nosuch' not found");
    g_clear_error(&err);
    g_assert_true(object_delete(m, "io0", &err));          /* the thread ends */
    machine_free(m);
}

/* A memory backend as the machine's RAM: -machine memory-backend=ID, its size. */
static void test_ram_backend(void)
{
    MachineOpts mo;
    machine_opts_init(&mo);
    mo.memory_backend = "ram0";
    mo.ram_size = 4 << 20;
    mo.ram_size_given = true;
    Machine *m = machine_new(NULL, &mo, clock_real());
    GError *err = NULL;
    g_assert_false(machine_alloc_ram(m, UINT64_MAX, &err));
    g_assert_cmpstr(err->message, ==, "Memory backend 'ram0' not found");
    g_clear_error(&err);
    g_autoptr(JsonObject) o = option_parse("object", "memory-backend-memfd,id=ram0,size=2M",
                                           "qom-type", 0, NULL, NULL, &err);
    g_assert_nonnull(object_create(m, o, true, &err));
    g_assert_false(machine_alloc_ram(m, UINT64_MAX, &err));
    g_assert_cmpstr(err->message, ==, "Machine memory size does not match the size of the "
                    "memory backend");
    g_clear_error(&err);
    m->opts.ram_size_given = false;
    g_assert_true(machine_alloc_ram(m, UINT64_MAX, &err));
    g_assert_cmpuint(m->ram_size, ==, 2 << 20);
    m->ram[0x1000] = 0x5a;                                  /* the mapping is RAM */
    g_assert_false(object_delete(m, "ram0", &err));
    g_assert_cmpstr(err->message, ==, "object 'ram0' is in use, can not be deleted");
    g_clear_error(&err);
    machine_free(m);
}

static void test_fdsets(void)
{
    Machine *m = machine_new_test(0);
    int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    g_autofree char *spec = g_strdup_printf("fd=%d,set=3,opaque=null", fd);
    GError *err = NULL;
    bool ok = fdset_add_option(m, spec, &err);
    g_assert_no_error(err);
    g_assert_true(ok);
    g_assert_cmpuint(m->fdsets->len, ==, 1);
    g_assert_cmpint(fdset_add(m, -1, dup(fd), NULL, NULL), ==, 0);   /* lowest free id */
    g_assert_false(fdset_add_option(m, "fd=1,set=1", &err));
    g_assert_nonnull(strstr(err->message, "fd cannot be a standard I/O stream"));
    g_clear_error(&err);
    g_assert_false(fdset_add_option(m, "set=1", &err));
    g_assert_nonnull(strstr(err->message, "-add-fd set=1: fd option is required"));
    g_clear_error(&err);
    g_assert_false(fdset_remove(m, 9, -1, &err));
    g_assert_cmpstr(err->message, ==, "File descriptor named 'fdset-id:9' not found");
    g_clear_error(&err);
    g_assert_true(fdset_remove(m, 3, -1, NULL));
    g_assert_cmpuint(m->fdsets->len, ==, 1);
    close(fd);
    machine_free(m);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/mgmt/name-msg", test_name_msg);
    g_test_add_func("/mgmt/overcommit", test_overcommit);
    g_test_add_func("/mgmt/sandbox", test_sandbox);
    g_test_add_func("/mgmt/global", test_global);
    g_test_add_func("/mgmt/process", test_process);
    g_test_add_func("/mgmt/help", test_help);
    g_test_add_func("/mgmt/readconfig", test_readconfig);
    g_test_add_func("/mgmt/objects", test_objects);
    g_test_add_func("/mgmt/ram-backend", test_ram_backend);
    g_test_add_func("/mgmt/fdsets", test_fdsets);
    return g_test_run();
}
