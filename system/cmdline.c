/*
 * Command-line parsing (include/vireo/cmdline.h): QEMU's option names and its
 * "key=val,..." grammar. Values are checked here; one line names any culprit.
 */
#include "vireo/cmdline.h"
#include <stdio.h>
#include <string.h>

typedef enum { ARG_NONE, ARG_ONE } ArgKind;

typedef struct OptDef {
    const char *name;
    ArgKind arg;
    bool (*handle)(VireoOptions *o, const char *val, GError **errp);
    const char *help;
} OptDef;

static bool bad(GError **errp, const char *opt, const char *val, const char *why)
{
    g_set_error(errp, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT, "-%s %s: %s", opt, val, why);
    return false;
}

static bool is_help(const char *v)
{
    return !strcmp(v, "help") || !strcmp(v, "?");
}

/* Looks up "key=" in an option string; returns a newly allocated value or NULL. */
static char *opt_get(const char *opts, const char *key, bool first_is_implied)
{
    g_autoptr(GPtrArray) parts = opts_split(opts);
    for (guint i = 0; i < parts->len; i++) {
        const char *p = parts->pdata[i];
        const char *eq = strchr(p, '=');
        if (!eq && i == 0 && first_is_implied)
            return g_strdup(p);
        if (eq && (size_t)(eq - p) == strlen(key) && !strncmp(p, key, eq - p))
            return g_strdup(eq + 1);
    }
    return NULL;
}

/* Checks that every key of @opts is one of @keys (NULL-terminated); the first bare word
 * is allowed when @implied is set. */
static bool opts_check(const char *opt, const char *opts, const char *const *keys,
                       bool implied, GError **errp)
{
    g_autoptr(GPtrArray) parts = opts_split(opts);
    for (guint i = 0; i < parts->len; i++) {
        const char *p = parts->pdata[i];
        const char *eq = strchr(p, '=');
        if (!eq && i == 0 && implied)
            continue;
        g_autofree char *k = eq ? g_strndup(p, eq - p) : g_strdup(p);
        bool ok = false;
        for (const char *const *kk = keys; *kk; kk++)
            ok |= !strcmp(*kk, k);
        if (!ok) {
            g_set_error(errp, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                        "-%s %s: Invalid parameter '%s'", opt, opts, k);
            return false;
        }
    }
    return true;
}

bool cmdline_parse_mem(const char *s, uint64_t *out, GError **errp)
{
    static const char *const keys[] = { "size", "slots", "maxmem", NULL };
    if (!opts_check("m", s, keys, true, errp))
        return false;
    g_autofree char *v = opt_get(s, "size", true);
    uint64_t n;
    if (!v || !*v)
        return bad(errp, "m", s, "missing memory size");
    /* A bare number means MiB, as in QEMU. */
    bool bare = g_ascii_isdigit(v[strlen(v) - 1]);
    if (!parse_uint_suffix(v, &n, true))
        return bad(errp, "m", s, "invalid memory size (examples: 512, 512M, 2G)");
    if (bare) {
        if (n > (UINT64_MAX >> 20))
            return bad(errp, "m", s, "memory size too large");
        n <<= 20;
    }
    if (n < (2 << 20))
        return bad(errp, "m", s, "memory size must be at least 2 MiB");
    if (n & 0xfff)
        return bad(errp, "m", s, "memory size must be a multiple of 4 KiB");
    *out = n;
    return true;
}

static bool smp_field(const char *s, const char *key, unsigned *out, GError **errp)
{
    g_autofree char *v = opt_get(s, key, !strcmp(key, "cpus"));
    uint64_t n;
    if (!v)
        return true;
    if (!parse_uint_suffix(v, &n, false) || n > 4096) {
        g_set_error(errp, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                    "-smp %s: invalid value '%s' for '%s'", s, v, key);
        return false;
    }
    if (n == 0) {
        g_set_error(errp, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                    "-smp %s: CPU topology parameters must be greater than zero", s);
        return false;
    }
    *out = n;
    return true;
}

bool cmdline_parse_smp(const char *s, MachineOpts *mo, GError **errp)
{
    static const char *const keys[] = { "cpus", "sockets", "dies", "cores", "threads",
                                        "maxcpus", NULL };
    unsigned cpus = 0, sockets = 0, dies = 0, cores = 0, threads = 0, maxcpus = 0;
    if (!opts_check("smp", s, keys, true, errp) || !smp_field(s, "cpus", &cpus, errp) ||
        !smp_field(s, "sockets", &sockets, errp) || !smp_field(s, "dies", &dies, errp) ||
        !smp_field(s, "cores", &cores, errp) || !smp_field(s, "threads", &threads, errp) ||
        !smp_field(s, "maxcpus", &maxcpus, errp))
        return false;
    if (!dies)
        dies = 1;
    /* QEMU's rule: missing values are computed, preferring sockets. */
    if (!threads)
        threads = 1;
    if (!cores)
        cores = (sockets && cpus) ? MAX(1u, cpus / (sockets * dies * threads)) : 1;
    if (!sockets)
        sockets = cpus ? MAX(1u, cpus / (cores * dies * threads)) : 1;
    if (!cpus)
        cpus = sockets * dies * cores * threads;
    if (!maxcpus)
        maxcpus = sockets * dies * cores * threads;
    if (sockets * dies * cores * threads < cpus) {
        g_autofree char *why = g_strdup_printf(
            "Invalid CPU topology: product of the hierarchy must be >= cpus (%u*%u*%u*%u < %u)",
            sockets, dies, cores, threads, cpus);
        return bad(errp, "smp", s, why);
    }
    if (maxcpus < cpus)
        return bad(errp, "smp", s, "maxcpus must be equal to or greater than cpus");
    mo->smp_cpus = cpus;
    mo->sockets = sockets;
    mo->dies = dies;
    mo->cores = cores;
    mo->threads = threads;
    mo->max_cpus = maxcpus;
    return true;
}

static bool h_machine(VireoOptions *o, const char *v, GError **errp)
{
    static const char *const keys[] = { "type", "accel", "usb", "dump-guest-core",
                                        "mem-merge", "kernel-irqchip", "vmport", NULL };
    if (is_help(v)) {
        o->machine_help = true;
        return true;
    }
    if (!opts_check("machine", v, keys, true, errp))
        return false;
    g_autofree char *type = opt_get(v, "type", true);
    g_autofree char *accel = opt_get(v, "accel", false);
    if (type && is_help(type)) {
        o->machine_help = true;
        return true;
    }
    if (type) {
        if (!machine_class_find(type))
            return bad(errp, "machine", v, "unsupported machine type (use -machine help "
                       "to list supported machines)");
        o->machine.type = machine_class_find(type)->name;
    }
    if (accel)
        o->accel = g_intern_string(accel);
    return true;
}

static bool h_accel(VireoOptions *o, const char *v, GError **errp)
{
    g_autofree char *a = opt_get(v, "accel", true);
    if (a && is_help(a)) {
        o->want_help = true;
        printf("Accelerators supported in vireo:\nkvm\n");
        return true;
    }
    o->accel = g_intern_string(a ? a : "");
    return true;
}

static bool h_cpu(VireoOptions *o, const char *v, GError **errp)
{
    if (is_help(v))
        o->cpu_help = true;
    o->machine.cpu_model = v;
    return true;
}

static bool h_m(VireoOptions *o, const char *v, GError **errp)
{
    return cmdline_parse_mem(v, &o->machine.ram_size, errp);
}

static bool h_smp(VireoOptions *o, const char *v, GError **errp)
{
    o->smp_given = true;
    return cmdline_parse_smp(v, &o->machine, errp);
}

#define SIMPLE(fn, field)                                                     \
    static bool fn(VireoOptions *o, const char *v, GError **errp)            \
    {                                                                         \
        o->field = v;                                                         \
        return true;                                                          \
    }
SIMPLE(h_kernel, machine.kernel)
SIMPLE(h_initrd, machine.initrd)
SIMPLE(h_append, machine.append)
SIMPLE(h_uuid, machine.uuid)

#define FLAG(fn, field)                                                       \
    static bool fn(VireoOptions *o, const char *v, GError **errp)            \
    {                                                                         \
        o->field = true;                                                      \
        return true;                                                          \
    }
FLAG(h_nographic, nographic)
FLAG(h_no_reboot, machine.no_reboot)
FLAG(h_no_shutdown, machine.no_shutdown)
FLAG(h_S, machine.start_paused)
FLAG(h_version, want_version)
FLAG(h_help, want_help)

#define LIST(fn, field)                                                       \
    static bool fn(VireoOptions *o, const char *v, GError **errp)            \
    {                                                                         \
        g_ptr_array_add(o->field, (char *)v);                                 \
        return true;                                                          \
    }
LIST(h_serial, serials)
LIST(h_chardev, chardevs)
LIST(h_drive, drives)
LIST(h_qmp, qmps)
LIST(h_qmp_pretty, qmps_pretty)
LIST(h_mon, mons)
LIST(h_monitor, monitors)

static bool h_device(VireoOptions *o, const char *v, GError **errp)
{
    if (is_help(v)) {
        o->device_help = true;
        return true;
    }
    g_autoptr(GPtrArray) parts = opts_split(v);
    const char *drv = parts->len ? parts->pdata[0] : "";
    if (!device_class_find(drv)) {
        g_autofree char *why = g_strdup_printf("'%s' is not a valid device model name", drv);
        return bad(errp, "device", v, why);
    }
    for (guint i = 1; i < parts->len; i++) {
        if (is_help(parts->pdata[i])) {
            o->device_help_name = g_intern_string(drv);
            return true;
        }
    }
    g_ptr_array_add(o->devices, (char *)v);
    return true;
}

static bool h_display(VireoOptions *o, const char *v, GError **errp)
{
    g_autofree char *type = opt_get(v, "type", true);
    if (!type || strcmp(type, "none") != 0)
        return bad(errp, "display", v, "unsupported display type (supported: none)");
    o->display = "none";
    return true;
}

static bool h_name(VireoOptions *o, const char *v, GError **errp)
{
    static const char *const keys[] = { "guest", "process", "debug-threads", NULL };
    if (!opts_check("name", v, keys, true, errp))
        return false;
    o->machine.name = opt_get(v, "guest", true);
    return true;
}

static bool h_rtc(VireoOptions *o, const char *v, GError **errp)
{
    static const char *const keys[] = { "base", "clock", "driftfix", NULL };
    if (!opts_check("rtc", v, keys, false, errp))
        return false;
    g_autofree char *base = opt_get(v, "base", false);
    if (base && strcmp(base, "utc") && strcmp(base, "localtime"))
        return bad(errp, "rtc", v, "base must be 'utc' or 'localtime'");
    o->machine.rtc_utc = !base || !strcmp(base, "utc");
    return true;
}

static const OptDef opts[] = {
    { "machine", ARG_ONE, h_machine, "-machine [type=]name[,accel=kvm]  select the board" },
    { "M", ARG_ONE, h_machine, NULL },
    { "accel", ARG_ONE, h_accel, "-accel kvm                  select the accelerator" },
    { "enable-kvm", ARG_NONE, NULL, "-enable-kvm                 same as -accel kvm" },
    { "cpu", ARG_ONE, h_cpu, "-cpu model[,+feat,-feat]    host, max, qemu64 (-cpu help)" },
    { "m", ARG_ONE, h_m, "-m [size=]megs[M|G]         guest RAM (default 128M)" },
    { "smp", ARG_ONE, h_smp, "-smp [cpus=]n[,sockets=,dies=,cores=,threads=,maxcpus=]" },
    { "kernel", ARG_ONE, h_kernel, "-kernel file                bzImage or PVH ELF to boot" },
    { "initrd", ARG_ONE, h_initrd, "-initrd file                initial ram disk" },
    { "append", ARG_ONE, h_append, "-append cmdline             kernel command line" },
    { "serial", ARG_ONE, h_serial, "-serial dev                 stdio, pty, file:F, unix:P,..., tcp:H:P,..., null, none, chardev:ID" },
    { "chardev", ARG_ONE, h_chardev, "-chardev backend,id=ID,...  stdio, file, pty, socket, null" },
    { "nographic", ARG_NONE, h_nographic, "-nographic                  serial and monitor on stdio (C-a h for help)" },
    { "display", ARG_ONE, h_display, "-display none               no graphical display" },
    { "no-reboot", ARG_NONE, h_no_reboot, "-no-reboot                  exit instead of rebooting" },
    { "no-shutdown", ARG_NONE, h_no_shutdown, "-no-shutdown                stop (keep the VM) on guest shutdown" },
    { "S", ARG_NONE, h_S, "-S                          start paused (QMP cont starts)" },
    { "name", ARG_ONE, h_name, "-name [guest=]name          guest name" },
    { "uuid", ARG_ONE, h_uuid, "-uuid UUID                  machine UUID" },
    { "drive", ARG_ONE, h_drive, "-drive file=F,if=virtio|none[,id=ID,format=raw|qcow2,readonly=on,cache=C,aio=A]" },
    { "device", ARG_ONE, h_device, "-device driver[,prop=val]   add a device (-device help)" },
    { "qmp", ARG_ONE, h_qmp, "-qmp dev                    QMP on dev (unix:P,server=on,wait=off | tcp:H:P,... | stdio)" },
    { "qmp-pretty", ARG_ONE, h_qmp_pretty, NULL },
    { "mon", ARG_ONE, h_mon, "-mon chardev=ID,mode=control|readline" },
    { "monitor", ARG_ONE, h_monitor, "-monitor dev                human monitor on dev (e.g. stdio)" },
    { "rtc", ARG_ONE, h_rtc, "-rtc base=utc|localtime" },
    { "version", ARG_NONE, h_version, "-version, --version         print the version" },
    { "h", ARG_NONE, h_help, "-h, -help                   this help" },
    { "help", ARG_NONE, h_help, NULL },
};

void cmdline_print_usage(GString *out)
{
    g_string_append(out, "usage: vireo [options]\n\n");
    for (unsigned i = 0; i < G_N_ELEMENTS(opts); i++)
        if (opts[i].help)
            g_string_append_printf(out, "%s\n", opts[i].help);
    g_string_append(out, "\nWith no -kernel, vireo boots its embedded default guest.\n");
}

static void options_init(VireoOptions *o)
{
    memset(o, 0, sizeof(*o));
    o->machine.type = "pc";
    o->machine.ram_size = 128ULL << 20;
    o->machine.smp_cpus = o->machine.sockets = o->machine.dies = 1;
    o->machine.cores = o->machine.threads = o->machine.max_cpus = 1;
    o->machine.cpu_model = "qemu64";       /* QEMU's default model */
    o->machine.rtc_utc = true;
    o->accel = "kvm";
    o->serials = g_ptr_array_new();
    o->chardevs = g_ptr_array_new();
    o->devices = g_ptr_array_new();
    o->drives = g_ptr_array_new();
    o->qmps = g_ptr_array_new();
    o->qmps_pretty = g_ptr_array_new();
    o->mons = g_ptr_array_new();
    o->monitors = g_ptr_array_new();
}

bool cmdline_parse(int argc, char **argv, VireoOptions *o, GError **errp)
{
    options_init(o);
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (a[0] != '-' || a[1] == '\0') {
            g_set_error(errp, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                        "%s: unexpected argument (a disk image is given with "
                        "-drive file=%s,if=virtio)", a, a);
            return false;
        }
        const char *name = a + 1 + (a[1] == '-');
        const OptDef *d = NULL;
        for (unsigned j = 0; j < G_N_ELEMENTS(opts); j++)
            if (!strcmp(opts[j].name, name))
                d = &opts[j];
        if (!d) {
            g_set_error(errp, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                        "-%s: invalid option", name);
            return false;
        }
        const char *val = NULL;
        if (d->arg == ARG_ONE) {
            if (i + 1 >= argc) {
                g_set_error(errp, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                            "-%s: requires an argument", name);
                return false;
            }
            val = argv[++i];
        }
        if (!strcmp(name, "enable-kvm")) {
            o->accel = "kvm";
            continue;
        }
        if (!d->handle(o, val, errp))
            return false;
    }
    if (o->accel && strcmp(o->accel, "kvm") != 0 && !o->want_help) {
        g_set_error(errp, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED,
                    "-accel %s: unsupported accelerator (vireo supports kvm)", o->accel);
        return false;
    }
    return true;
}

void cmdline_free(VireoOptions *o)
{
    g_ptr_array_free(o->serials, TRUE);
    g_ptr_array_free(o->chardevs, TRUE);
    g_ptr_array_free(o->devices, TRUE);
    g_ptr_array_free(o->drives, TRUE);
    g_ptr_array_free(o->qmps, TRUE);
    g_ptr_array_free(o->qmps_pretty, TRUE);
    g_ptr_array_free(o->mons, TRUE);
    g_ptr_array_free(o->monitors, TRUE);
    g_free((char *)o->machine.name);
}
