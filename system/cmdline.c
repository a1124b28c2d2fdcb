/*
 * Command-line parsing (include/vireo/cmdline.h): QEMU's option names and its
 * "key=val,..." grammar. Values are checked here; one line names any culprit.
 */
#include "cmdline-int.h"
#include "vireo/object.h"
#include "vireo/pc.h"
#include "vireo/smbios.h"
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef enum { ARG_NONE, ARG_ONE } ArgKind;

typedef struct OptDef {
    const char *name;
    ArgKind arg;
    bool (*handle)(VireoOptions *o, const char *val, GError **errp);
    const char *help;
    /* QEMU's option group (query-command-line-options, -readconfig, "-OPT help") and
     * its parameters: a table, or a property table (-machine, -accel). */
    const char *group;
    const CmdParam *params;
    const Property *props;
} OptDef;

bool cmdline_bad(GError **errp, const char *opt, const char *val, const char *why)
{
    g_set_error(errp, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT, "-%s %s: %s", opt, val, why);
    return false;
}
#define bad cmdline_bad

bool cmdline_is_help(const char *v)
{
    return !strcmp(v, "help") || !strcmp(v, "?");
}
#define is_help cmdline_is_help

bool cmdline_opt_bool(JsonObject *o, const char *opt, const char *v, const char *key,
                      bool def, bool *out, GError **errp)
{
    const char *s = kv_get_str(o, key);
    *out = def;
    if (!s || str_to_bool(s, out))
        return true;
    g_autofree char *why = g_strdup_printf("Parameter '%s' expects 'on' or 'off'", key);
    return bad(errp, opt, v, why);
}

JsonObject *cmdline_opt_parse(const char *opt, const char *v, const char *implied,
                              const char *const *keys, bool *help, GError **errp)
{
    JsonObject *o = keyval_parse(v, implied, KEYVAL_FLAT, help, errp);
    if (o && keys) {
        JsonObjectIter it;
        const char *k;
        JsonNode *n;
        json_object_iter_init(&it, o);
        while (json_object_iter_next(&it, &k, &n)) {
            if (!g_strv_contains(keys, k)) {
                g_set_error(errp, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                            "Invalid parameter '%s'", k);
                g_clear_pointer(&o, json_object_unref);
                break;
            }
        }
    }
    if (!o)
        option_prefix_error(errp, opt, v);
    return o;
}
#define opt_parse cmdline_opt_parse

bool cmdline_parse_mem(const char *s, uint64_t *out, GError **errp)
{
    static const char *const keys[] = { "size", "slots", "maxmem", NULL };
    g_autoptr(JsonObject) o = opt_parse("m", s, "size", keys, NULL, errp);
    if (!o)
        return false;
    if (kv_get_str(o, "slots") || kv_get_str(o, "maxmem"))
        return bad(errp, "m", s, "slots/maxmem: memory hotplug is not supported");
    const char *v = kv_get_str(o, "size");
    uint64_t n;
    if (!v || !*v)
        return bad(errp, "m", s, "missing memory size");
    /* A bare number means MiB, as in QEMU. */
    if (!str_to_size(v, 1 << 20, &n))
        return bad(errp, "m", s, "invalid memory size (examples: 512, 512M, 2G)");
    if (n < (2 << 20))
        return bad(errp, "m", s, "memory size must be at least 2 MiB");
    if (n & 0xfff)
        return bad(errp, "m", s, "memory size must be a multiple of 4 KiB");
    *out = n;
    return true;
}

static bool smp_field(JsonObject *o, const char *s, const char *key, unsigned *out,
                      GError **errp)
{
    const char *v = kv_get_str(o, key);
    uint64_t n;
    if (!v)
        return true;
    if (!str_to_u64(v, &n) || n > 4096) {
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

/* QEMU 7.2's smp_parse() for machine types since 6.2 (pc-i440fx-7.2): omitted values
 * are computed preferring cores over sockets, then threads; the product must equal
 * maxcpus. */
bool cmdline_parse_smp(const char *s, MachineOpts *mo, GError **errp)
{
    static const char *const keys[] = { "cpus", "sockets", "dies", "cores", "threads",
                                        "maxcpus", NULL };
    unsigned cpus = 0, sockets = 0, dies = 0, cores = 0, threads = 0, maxcpus = 0;
    g_autoptr(JsonObject) o = opt_parse("smp", s, "cpus", keys, NULL, errp);
    if (!o || !smp_field(o, s, "cpus", &cpus, errp) ||
        !smp_field(o, s, "sockets", &sockets, errp) || !smp_field(o, s, "dies", &dies, errp) ||
        !smp_field(o, s, "cores", &cores, errp) || !smp_field(o, s, "threads", &threads, errp) ||
        !smp_field(o, s, "maxcpus", &maxcpus, errp))
        return false;
    dies = dies ? dies : 1;
    if (!cpus && !maxcpus) {
        sockets = sockets ? sockets : 1;
        cores = cores ? cores : 1;
        threads = threads ? threads : 1;
    } else {
        maxcpus = maxcpus ? maxcpus : cpus;
        if (!cores) {
            sockets = sockets ? sockets : 1;
            threads = threads ? threads : 1;
            cores = MAX(1u, maxcpus / (sockets * dies * threads));
        } else if (!sockets) {
            threads = threads ? threads : 1;
            sockets = MAX(1u, maxcpus / (dies * cores * threads));
        }
        if (!threads)
            threads = MAX(1u, maxcpus / (sockets * dies * cores));
    }
    uint64_t total = (uint64_t)sockets * dies * cores * threads;
    maxcpus = maxcpus ? maxcpus : total;
    cpus = cpus ? cpus : maxcpus;
    if (total != maxcpus) {
        g_autofree char *why = g_strdup_printf(
            "Invalid CPU topology: product of the hierarchy must match maxcpus: "
            "sockets (%u) * dies (%u) * cores (%u) * threads (%u) != maxcpus (%u)",
            sockets, dies, cores, threads, maxcpus);
        return bad(errp, "smp", s, why);
    }
    if (maxcpus < cpus) {
        g_autofree char *why = g_strdup_printf(
            "Invalid CPU topology: maxcpus must be equal to or greater than smp: "
            "sockets (%u) * dies (%u) * cores (%u) * threads (%u) == maxcpus (%u) < "
            "smp_cpus (%u)", sockets, dies, cores, threads, maxcpus, cpus);
        return bad(errp, "smp", s, why);
    }
    mo->smp_cpus = cpus;
    mo->sockets = sockets;
    mo->dies = dies;
    mo->cores = cores;
    mo->threads = threads;
    mo->max_cpus = maxcpus;
    return true;
}

/* The accelerator list "kvm", "kvm:tcg": Vireo takes the first it has: kvm, or qtest
 * (QEMU's accelerator that runs no guest code, for machines without CPUs). */
static bool set_accel(VireoOptions *o, const char *opt, const char *v, const char *list,
                      GError **errp)
{
    g_auto(GStrv) names = g_strsplit(list, ":", -1);
    for (char **n = names; *n; n++) {
        if (!strcmp(*n, "kvm") || !strcmp(*n, "qtest")) {
            o->accel = g_intern_string(*n);
            return true;
        }
    }
    g_set_error(errp, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED,
                "-%s %s: unsupported accelerator '%s' (vireo supports kvm, and qtest for "
                "machines without CPUs)", opt, v, list);
    return false;
}

static bool apply_props(const Property *table, const char *owner, MachineOpts *mo,
                        JsonObject *o, const char *const *skip, const char *opt,
                        const char *v, GError **errp)
{
    if (props_apply(table, mo, o, true, owner, skip, errp))
        return true;
    option_prefix_error(errp, opt, v);
    return false;
}

static bool h_machine(VireoOptions *o, const char *v, GError **errp)
{
    static const char *const skip[] = { "type", "accel", NULL };
    bool help;
    g_autoptr(JsonObject) kv = opt_parse("machine", v, "type", NULL, &help, errp);
    if (!kv)
        return false;
    const char *type = kv_get_str(kv, "type"), *accel = kv_get_str(kv, "accel");
    if (help || (type && is_help(type))) {
        o->machine_help = true;
        return true;
    }
    if (type) {
        if (!machine_class_find(type))
            return bad(errp, "machine", v, "unsupported machine type (use -machine help "
                       "to list supported machines)");
        o->machine.type = machine_class_find(type)->name;
    }
    if (accel && !set_accel(o, "machine", v, accel, errp))
        return false;
    if (machine_opts_apply(&o->machine, machine_class_find(o->machine.type), kv, skip, errp))
        return true;
    option_prefix_error(errp, "machine", v);
    return false;
}

static bool h_accel(VireoOptions *o, const char *v, GError **errp)
{
    static const char *const skip[] = { "accel", NULL };
    bool help;
    g_autoptr(JsonObject) kv = opt_parse("accel", v, "accel", NULL, &help, errp);
    if (!kv)
        return false;
    const char *a = kv_get_str(kv, "accel");
    if (help || (a && is_help(a))) {
        o->want_help = true;
        printf("Accelerators supported in vireo:\nkvm\nqtest\n");
        return true;
    }
    if (!a)
        return bad(errp, "accel", v, "Parameter 'accel' is missing");
    return set_accel(o, "accel", v, a, errp) &&
           apply_props(accel_kvm_props, "kvm-accel", &o->machine, kv, skip, "accel", v,
                       errp);
}

static bool h_cpu(VireoOptions *o, const char *v, GError **errp)
{
    if (is_help(v))
        o->cpu_help = true;
    o->machine.cpu_model = v;
    o->machine.cpu_given = true;
    return true;
}

static bool h_m(VireoOptions *o, const char *v, GError **errp)
{
    o->machine.ram_size_given = true;
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

static bool h_uuid(VireoOptions *o, const char *v, GError **errp)
{
    if (!g_uuid_string_is_valid(v))
        return bad(errp, "uuid", v, "Fail to parse UUID string. Wrong format.");
    o->machine.uuid = v;
    return true;
}

/* -incoming URI|defer and -loadvm NAME: the checks are migration's (at start-up). */
static bool h_incoming(VireoOptions *o, const char *v, GError **errp)
{
    o->machine.incoming = v;
    return true;
}

static bool h_loadvm(VireoOptions *o, const char *v, GError **errp)
{
    o->machine.loadvm = v;
    return true;
}

#define FLAG(fn, field)                                                       \
    static bool fn(VireoOptions *o, const char *v, GError **errp)            \
    {                                                                         \
        o->field = true;                                                      \
        return true;                                                          \
    }
static bool h_nographic(VireoOptions *o, const char *v, GError **errp)
{
    o->nographic = o->machine.nographic = true;
    return true;
}
FLAG(h_no_reboot, machine.no_reboot)
FLAG(h_no_shutdown, machine.no_shutdown)
FLAG(h_S, machine.start_paused)
FLAG(h_nodefaults, machine.nodefaults)
/* QEMU reads /etc/qemu/qemu.conf unless -no-user-config; Vireo reads no default
 * configuration file at all, so the option holds by construction. */
FLAG(h_no_user_config, no_user_config)
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
static bool h_drive(VireoOptions *o, const char *v, GError **errp)
{
    g_ptr_array_add(o->drives, (char *)v);
    o->machine.drives++;
    return true;
}
LIST(h_qmp, qmps)
LIST(h_qmp_pretty, qmps_pretty)
LIST(h_mon, mons)
LIST(h_monitor, monitors)
LIST(h_vnc, vncs)

void opt_entry_free(OptEntry *e)
{
    if (!e)
        return;
    g_free(e->text);
    if (e->obj)
        json_object_unref(e->obj);
    g_free(e);
}

/* bootindex= >= 0 on a -device (keyval string or JSON integer): the board boots
 * through its firmware then, which is what reads the boot order (pc_firmware_wanted). */
static bool has_bootindex(JsonObject *obj)
{
    JsonNode *n = json_object_get_member(obj, "bootindex");
    const char *s = kv_get_str(obj, "bootindex");
    char *end;

    if (s) {
        long long v = strtoll(s, &end, 0);
        return end != s && !*end && v >= 0;
    }
    return n && JSON_NODE_HOLDS_VALUE(n) && json_node_get_value_type(n) == G_TYPE_INT64 &&
           json_node_get_int(n) >= 0;
}

/* -device: keyval with QemuOpts' short-form booleans and implied "driver", or JSON.
 * The class and the id are checked here; properties when the device is made. */
static bool h_device(VireoOptions *o, const char *v, GError **errp)
{
    bool help, json;
    if (is_help(v)) {
        o->device_help = true;
        return true;
    }
    JsonObject *obj = option_parse("device", v, "driver", KEYVAL_FLAT | KEYVAL_SHORT_BOOLS,
                                   &help, &json, errp);
    if (!obj)
        return false;
    OptEntry *e = g_new0(OptEntry, 1);
    *e = (OptEntry){ .text = g_strdup(v), .obj = obj, .kv = !json };
    const char *drv = kv_get_str(obj, "driver");
    const char *id = json_object_has_member(obj, "id") ? kv_get_str(obj, "id") : NULL;
    GError *err = NULL;
    if (!device_class_for_user(drv, &err) &&
        !(help && drv && device_class_find(drv))) {
        opt_entry_free(e);
        bool r = bad(errp, "device", v, err->message);
        g_error_free(err);
        return r;
    }
    g_clear_error(&err);
    if (!strcmp(drv, "VGA") || !strcmp(drv, "bochs-display"))
        o->machine.user_display = true;
    if (!help && has_bootindex(obj))
        o->machine.bootindex_given = true;
    if (help) {
        o->device_help_name = g_intern_string(drv);
        opt_entry_free(e);
        return true;
    }
    if (json_object_has_member(obj, "id") && (!id || !id_wellformed(id))) {
        opt_entry_free(e);
        return bad(errp, "device", v, "Parameter 'id' expects an identifier (letters, "
                   "digits, '-', '.', '_', starting with a letter)");
    }
    for (guint i = 0; id && i < o->devices->len; i++) {
        OptEntry *d = o->devices->pdata[i];
        if (!g_strcmp0(kv_get_str(d->obj, "id"), id)) {
            g_autofree char *why = g_strdup_printf("Duplicate ID '%s' for device", id);
            opt_entry_free(e);
            return bad(errp, "device", v, why);
        }
    }
    g_ptr_array_add(o->devices, e);
    return true;
}

static bool h_netdev(VireoOptions *o, const char *v, GError **errp)
{
    return net_option_netdev(o->net, v, errp);
}

static bool h_nic(VireoOptions *o, const char *v, GError **errp)
{
    return net_option_nic(o->net, v, errp);
}

static bool h_net(VireoOptions *o, const char *v, GError **errp)
{
    return net_option_net(o->net, v, errp);
}

/* -object: QEMU's keyval with the implied "qom-type" (not QemuOpts), or JSON. The
 * type and id are checked when the object is made (system/object.c). */
static bool h_object(VireoOptions *o, const char *v, GError **errp)
{
    bool help, json;
    if (is_help(v)) {
        o->object_help = true;
        return true;
    }
    JsonObject *obj = option_parse("object", v, "qom-type", 0, &help, &json, errp);
    if (!obj)
        return false;
    const char *type = kv_get_str(obj, "qom-type");
    if (help) {
        const ObjectClass *cls = object_class_find(type);
        o->object_help_name = cls && !cls->type.abstract ? g_intern_string(type) : NULL;
        json_object_unref(obj);
        return o->object_help_name || bad(errp, "object", v, "invalid object type");
    }
    OptEntry *e = g_new0(OptEntry, 1);
    *e = (OptEntry){ .text = g_strdup(v), .obj = obj, .kv = !json };
    g_ptr_array_add(o->objects, e);
    return true;
}

/* -display TYPE[,opts]: none, sdl[,full-screen=on|off] or vnc=DISPLAY (as -vnc).
 * QEMU's gtk, curses, egl-headless, dbus, spice-app and cocoa are not built in. */
static bool h_display(VireoOptions *o, const char *v, GError **errp)
{
    static const char *const sdl_keys[] = { "type", "full-screen", "gl",
                                            "grab-mod", "show-cursor", "window-close",
                                            NULL };
    if (g_str_has_prefix(v, "vnc=") || g_str_has_prefix(v, "vnc,")) {
        if (!g_str_has_prefix(v, "vnc="))
            return bad(errp, "display", v, "vnc needs a display: -display vnc=:N");
        g_ptr_array_add(o->vncs, (char *)v + 4);
        return true;
    }
    g_autoptr(JsonObject) kv = opt_parse("display", v, "type", NULL, NULL, errp);
    if (!kv)
        return false;
    const char *type = kv_get_str(kv, "type") ? kv_get_str(kv, "type") : "";
    if (!strcmp(type, "none") && json_object_get_size(kv) == 1) {
        o->display = "none";
        return true;
    }
    if (!strcmp(type, "sdl")) {
        JsonObjectIter it;
        const char *k;
        JsonNode *n;
        json_object_iter_init(&it, kv);
        while (json_object_iter_next(&it, &k, &n)) {
            if (!g_strv_contains(sdl_keys, k)) {
                g_autofree char *why = g_strdup_printf("Invalid parameter '%s'", k);
                return bad(errp, "display", v, why);
            }
        }
#define KV0(k) (kv_get_str(kv, k) ? kv_get_str(kv, k) : "")
        const char *gl = KV0("gl"), *fs = KV0("full-screen"), *wc = KV0("window-close");
        const char *gm = KV0("grab-mod"), *sc = KV0("show-cursor");
#undef KV0
        bool b;
        if (*gl && (!str_to_bool(gl, &b) || b))
            return bad(errp, "display", v, "gl=on: OpenGL is not supported");
        if (*fs && !str_to_bool(fs, &o->full_screen))
            return bad(errp, "display", v, "full-screen expects on or off");
        if (*sc && !str_to_bool(sc, &o->show_cursor))
            return bad(errp, "display", v, "show-cursor expects on or off");
        o->window_close = true;
        if (*wc && !str_to_bool(wc, &o->window_close))
            return bad(errp, "display", v, "window-close expects on or off");
        if (*gm && strcmp(gm, "lshift-lctrl-lalt") && strcmp(gm, "rctrl"))
            return bad(errp, "display", v, "grab-mod expects lshift-lctrl-lalt or rctrl");
        o->grab_mod = *gm ? g_intern_string(gm) : NULL;
        o->display = "sdl";
        return true;
    }
    if (!strcmp(type, "gtk"))
        return bad(errp, "display", v, "the GTK display is not built into Vireo: use "
                   "-display sdl for a window or -vnc :N (-display vnc=:N) for a remote one");
    return bad(errp, "display", v, "unsupported display type (supported: none, sdl, vnc)");
}

static bool h_vga(VireoOptions *o, const char *v, GError **errp)
{
    if (is_help(v)) {
        o->want_help = true;
        printf("std                  standard VGA (default)\nnone                 no graphic card\n");
        return true;
    }
    if (strcmp(v, "std") && strcmp(v, "none"))
        return bad(errp, "vga", v, !strcmp(v, "cirrus") || !strcmp(v, "vmware") ||
                   !strcmp(v, "qxl") || !strcmp(v, "virtio") || !strcmp(v, "xenfb") ||
                   !strcmp(v, "tcx") || !strcmp(v, "cg3")
                   ? "this VGA card is not available in Vireo (supported: std, none; "
                     "-device bochs-display for a framebuffer without legacy VGA)"
                   : "unknown vga type (supported: std, none)");
    o->vga = v;
    o->machine.vga = v;
    return true;
}

static bool h_full_screen(VireoOptions *o, const char *v, GError **errp)
{
    o->full_screen = true;
    return true;
}

/* "2006-06-17T16:01:21" or "2006-06-17" (UTC), as QEMU's -rtc base=. */
static bool parse_rtc_date(const char *s, int64_t *out)
{
    int y, mo, d, h = 0, mi = 0, sec = 0;
    char tail;
    int n = sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d%c", &y, &mo, &d, &h, &mi, &sec, &tail);
    if (n != 6 && !(n == 3 && sscanf(s, "%4d-%2d-%2d%c", &y, &mo, &d, &tail) == 3))
        return false;
    g_autoptr(GDateTime) t = g_date_time_new_utc(y, mo, d, h, mi, sec);
    if (!t)
        return false;
    *out = g_date_time_to_unix(t);
    return true;
}

static bool h_rtc(VireoOptions *o, const char *v, GError **errp)
{
    static const char *const keys[] = { "base", "clock", "driftfix", NULL };
    g_autoptr(JsonObject) kv = opt_parse("rtc", v, NULL, keys, NULL, errp);
    if (!kv)
        return false;
    const char *base = kv_get_str(kv, "base"), *clock = kv_get_str(kv, "clock");
    const char *drift = kv_get_str(kv, "driftfix");
    o->machine.rtc_utc = !base || strcmp(base, "localtime");
    if (base && strcmp(base, "utc") && strcmp(base, "localtime") &&
        !parse_rtc_date(base, &o->machine.rtc_base))
        return bad(errp, "rtc", v, "invalid date format (valid formats: "
                   "'2006-06-17T16:01:21' or '2006-06-17'); base may also be utc or localtime");
    if (clock && strcmp(clock, "host"))
        return bad(errp, "rtc", v, strcmp(clock, "rt") && strcmp(clock, "vm")
                   ? "invalid option value for clock (host, rt or vm)"
                   : "only clock=host is supported (the RTC follows the host's wall clock)");
    if (drift && strcmp(drift, "none"))
        return bad(errp, "rtc", v, strcmp(drift, "slew")
                   ? "invalid option value for driftfix (none or slew)"
                   : "driftfix=slew is not supported (KVM's in-kernel irqchip has no "
                     "missed-tick reinjection for the RTC)");
    return true;
}

/* -boot [order=]drives][,once=drives][,menu=on|off][,splash=F][,splash-time=T]
 * [,reboot-timeout=T][,strict=on|off]: drive letters a (floppy), c (disk), d (CD-ROM),
 * n (network), at most three, each once (QEMU's validate_bootdevices + pc_boot_set). */
static bool boot_devices_ok(const char *opt, const char *key, const char *v, GError **errp)
{
    g_autofree char *why = NULL;
    if (strlen(v) > 3)
        why = g_strdup("Too many boot devices for PC");
    for (const char *p = v; !why && *p; p++) {
        if (!strchr("acdn", *p))
            why = g_strdup_printf("Invalid boot device for PC: '%c'", *p);
        else if (strchr(p + 1, *p))
            why = g_strdup_printf("Boot device '%c' was given twice", *p);
    }
    if (why)
        g_set_error(errp, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT, "-boot %s=%s: %s", key,
                    v, why);
    return !why;
}

static bool boot_time(const char *spec, const char *key, const char *v, int64_t min,
                      int64_t *out, GError **errp)
{
    char *end;
    if (!v)
        return true;
    errno = 0;
    long long n = strtoll(v, &end, 10);
    if (errno || end == v || *end || n < min || n > 0xffff)
        return bad(errp, "boot", spec, key[0] == 's'
                   ? "splash-time must be 0..65535 (milliseconds)"
                   : "reboot-timeout must be -1..65535 (milliseconds)");
    *out = n;
    return true;
}

static bool h_boot(VireoOptions *o, const char *v, GError **errp)
{
    static const char *const keys[] = { "order", "once", "menu", "splash", "splash-time",
                                        "reboot-timeout", "strict", NULL };
    g_autoptr(JsonObject) kv = opt_parse("boot", v, "order", keys, NULL, errp);
    MachineOpts *mo = &o->machine;
    if (!kv)
        return false;
    const char *order = kv_get_str(kv, "order"), *once = kv_get_str(kv, "once");
    const char *menu = kv_get_str(kv, "menu"), *strict = kv_get_str(kv, "strict");
    if ((order && !boot_devices_ok("boot", "order", order, errp)) ||
        (once && !boot_devices_ok("boot", "once", once, errp)))
        return false;
    if (menu && !str_to_bool(menu, &mo->boot_menu))
        return bad(errp, "boot", v, "menu expects on or off");
    if (strict && !str_to_bool(strict, &mo->boot_strict))
        return bad(errp, "boot", v, "strict expects on or off");
    if (kv_get_str(kv, "splash")) {
        if (!*kv_get_str(kv, "splash"))
            return bad(errp, "boot", v, "splash= needs a file name");
        mo->boot_splash = g_intern_string(kv_get_str(kv, "splash"));
    }
    if (!boot_time(v, "splash-time", kv_get_str(kv, "splash-time"), 0, &mo->splash_time,
                   errp) ||
        !boot_time(v, "reboot-timeout", kv_get_str(kv, "reboot-timeout"), -1,
                   &mo->reboot_timeout, errp))
        return false;
    if (order)
        mo->boot_order = g_intern_string(order);
    if (once)
        mo->boot_once = g_intern_string(once);
    mo->boot_given = true;
    return true;
}

static bool h_bios(VireoOptions *o, const char *v, GError **errp)
{
    o->machine.bios = v;
    return true;
}

static bool h_L(VireoOptions *o, const char *v, GError **errp)
{
    if (!o->machine.data_dirs)
        o->machine.data_dirs = g_ptr_array_new();
    g_ptr_array_add(o->machine.data_dirs, (char *)v);
    return true;
}

/* -fw_cfg [name=]NAME,file=F | -fw_cfg [name=]NAME,string=S (checked at start-up). */
static bool h_fw_cfg(VireoOptions *o, const char *v, GError **errp)
{
    if (!pc_fw_cfg_option(NULL, v, errp))
        return false;
    if (!o->machine.fw_cfg)
        o->machine.fw_cfg = g_ptr_array_new();
    g_ptr_array_add(o->machine.fw_cfg, (char *)v);
    return true;
}

/* -blockdev, keyval (dotted keys: cache.direct=on) or JSON, as libvirt passes it. */
static bool h_blockdev(VireoOptions *o, const char *v, GError **errp)
{
    bool help, json;
    JsonObject *obj = option_parse("blockdev", v, NULL, 0, &help, &json, errp);
    if (!obj)
        return false;
    OptEntry *e = g_new0(OptEntry, 1);
    *e = (OptEntry){ .text = g_strdup(v), .obj = obj, .kv = !json };
    g_ptr_array_add(o->blockdevs, e);
    o->machine.drives++;
    return true;
}

/* -audiodev driver=none,id=ID: QEMU's backend that discards sound. Vireo has no sound
 * device, so "none" is the one backend it can be true to; others are refused. */
static bool h_audiodev(VireoOptions *o, const char *v, GError **errp)
{
    static const char *const keys[] = { "driver", "id", NULL };
    bool json;
    JsonObject *obj = option_parse("audiodev", v, "driver", 0, NULL, &json, errp);
    if (!obj)
        return false;
    OptEntry *e = g_new0(OptEntry, 1);
    *e = (OptEntry){ .text = g_strdup(v), .obj = obj, .kv = !json };
    const char *drv = kv_get_str(obj, "driver"), *id = kv_get_str(obj, "id");
    GError *err = NULL;
    if (!qv_check_unexpected(obj, NULL, keys, &err) || !id_check("id", id ? id : "", &err) ||
        !drv || strcmp(drv, "none")) {
        g_autofree char *why = err ? g_strdup(err->message) :
            g_strdup_printf("driver '%s': Vireo has no sound devices; only 'none'",
                            drv ? drv : "");
        g_clear_error(&err);
        opt_entry_free(e);
        return bad(errp, "audiodev", v, why);
    }
    for (guint i = 0; i < o->audiodevs->len; i++)
        if (!strcmp(kv_get_str(((OptEntry *)o->audiodevs->pdata[i])->obj, "id"), id)) {
            opt_entry_free(e);
            return bad(errp, "audiodev", v, "duplicate id");
        }
    g_ptr_array_add(o->audiodevs, e);
    return true;
}

/* -smbios type=N,...|file=F (checked here, built by the board). */
static bool h_smbios(VireoOptions *o, const char *v, GError **errp)
{
    if (!smbios_option(NULL, v, errp))
        return false;
    if (!o->machine.smbios)
        o->machine.smbios = g_ptr_array_new();
    g_ptr_array_add(o->machine.smbios, (char *)v);
    return true;
}

/* -hda..-hdd, -cdrom and a bare image: -drive file=F,index=N[,media=cdrom] (if=ide). */
static bool add_drive_shorthand(VireoOptions *o, const char *file, int index, bool cdrom)
{
    GString *spec = g_string_new("file=");
    for (const char *p = file; *p; p++) {
        if (*p == ',')
            g_string_append_c(spec, ',');
        g_string_append_c(spec, *p);
    }
    g_string_append_printf(spec, ",index=%d,media=%s", index, cdrom ? "cdrom" : "disk");
    char *str = g_string_free(spec, FALSE);
    g_ptr_array_add(o->owned, str);
    g_ptr_array_add(o->drives, str);
    o->machine.drives++;
    return true;
}

#define HD(fn, n)                                                             \
    static bool fn(VireoOptions *o, const char *v, GError **errp)            \
    {                                                                         \
        return add_drive_shorthand(o, v, n, false);                           \
    }
HD(h_hda, 0)
HD(h_hdb, 1)
HD(h_hdc, 2)
HD(h_hdd, 3)

static bool h_cdrom(VireoOptions *o, const char *v, GError **errp)
{
    return add_drive_shorthand(o, v, 2, true);
}

FLAG(h_snapshot, machine.snapshot)

/* Parameters of the option groups (QEMU's QemuOptsList names), as Vireo takes them. */
#define P(n, t, h) { n, CLP_##t, h, NULL }
#define PEND { NULL }
static const CmdParam smp_params[] = {
    P("cpus", NUMBER, NULL), P("sockets", NUMBER, NULL), P("dies", NUMBER, NULL),
    P("cores", NUMBER, NULL), P("threads", NUMBER, NULL), P("maxcpus", NUMBER, NULL), PEND };
static const CmdParam memory_params[] = { P("size", SIZE, NULL), PEND };
static const CmdParam name_params[] = {
    P("guest", STRING, "Sets the name of the guest"),
    P("process", STRING, "Sets the name of the QEMU process, as shown in top etc"),
    P("debug-threads", BOOLEAN, "When enabled, name the individual threads"), PEND };
static const CmdParam msg_params[] = {
    P("timestamp", BOOLEAN, NULL), P("guest-name", BOOLEAN, "Prepends guest name for error "
                                     "messages but only if -name guest is set otherwise "
                                     "option is ignored"), PEND };
static const CmdParam trace_params[] = {
    P("enable", STRING, NULL), P("events", STRING, NULL), P("file", STRING, NULL), PEND };
static const CmdParam overcommit_params[] = {
    P("mem-lock", BOOLEAN, NULL), P("cpu-pm", BOOLEAN, NULL), PEND };
static const CmdParam sandbox_params[] = {
    P("enable", BOOLEAN, NULL), P("obsolete", STRING, NULL),
    P("elevateprivileges", STRING, NULL), P("spawn", STRING, NULL),
    P("resourcecontrol", STRING, NULL), PEND };
static const CmdParam global_params[] = {
    P("driver", STRING, NULL), P("property", STRING, NULL), P("value", STRING, NULL), PEND };
static const CmdParam add_fd_params[] = {
    P("fd", NUMBER, "file descriptor of which a duplicate is added to fd set"),
    P("set", NUMBER, "ID of the fd set to add fd to"),
    P("opaque", STRING, "free-form string used to describe fd"), PEND };
static const CmdParam mon_params[] = {
    P("mode", STRING, NULL), P("chardev", STRING, NULL), P("pretty", BOOLEAN, NULL), PEND };
static const CmdParam rtc_params[] = {
    P("base", STRING, NULL), P("clock", STRING, NULL), P("driftfix", STRING, NULL), PEND };
static const CmdParam drive_params[] = {
    P("file", STRING, "file name"), P("format", STRING, "disk format (raw, qcow2)"),
    P("if", STRING, "interface (ide, virtio, none)"), P("readonly", BOOLEAN, NULL),
    P("cache", STRING, "host cache usage"), P("aio", STRING, "host AIO implementation"),
    P("media", STRING, "media type (disk, cdrom)"), P("index", NUMBER, "index number"),
    P("bus", NUMBER, "bus number"), P("unit", NUMBER, "unit number (rel. to bus)"),
    P("snapshot", BOOLEAN, "enable/disable snapshot mode"),
    P("discard", STRING, "discard operation (ignore/off, unmap/on)"),
    P("detect-zeroes", STRING, "try to optimize zero writes (off, on, unmap)"),
    P("werror", STRING, "write error action"), P("rerror", STRING, "read error action"),
    PEND };
static const CmdParam chardev_params[] = {
    P("backend", STRING, NULL), P("path", STRING, NULL), P("host", STRING, NULL),
    P("port", STRING, NULL), P("fd", STRING, NULL), P("server", BOOLEAN, NULL),
    P("wait", BOOLEAN, NULL), P("ipv4", BOOLEAN, NULL), P("ipv6", BOOLEAN, NULL),
    P("nodelay", BOOLEAN, NULL), P("delay", BOOLEAN, NULL), P("mux", BOOLEAN, NULL),
    P("signal", BOOLEAN, NULL), P("append", BOOLEAN, NULL), P("size", SIZE, NULL), PEND };
/* What QEMU lists for -machine (its legacy QemuOpts; the board's properties come from
 * qom-list-properties): the ones Vireo has. */
static const CmdParam machine_params[] = {
    P("type", STRING, "emulated machine"), P("accel", STRING, "accelerator list"),
    P("usb", BOOLEAN, "Set on/off to enable/disable usb"),
    P("mem-merge", BOOLEAN, "enable/disable memory merge support"),
    P("dump-guest-core", BOOLEAN, "Include guest memory in a core dump"), PEND };
static const CmdParam none_params[] = { PEND };

static bool h_readconfig(VireoOptions *o, const char *v, GError **errp)
{
    return cmdline_h_readconfig(o, v, errp);
}

static const OptDef opts[] = {
    { "machine", ARG_ONE, h_machine, "-machine [type=]name[,accel=kvm]  select the board",
      "machine", machine_params },
    { "M", ARG_ONE, h_machine, NULL },
    { "accel", ARG_ONE, h_accel, "-accel kvm|qtest             select the accelerator",
      "accel", none_params },
    { "enable-kvm", ARG_NONE, NULL, "-enable-kvm                 same as -accel kvm" },
    { "cpu", ARG_ONE, h_cpu, "-cpu model[,+feat,-feat]    host, max, qemu64 (-cpu help)" },
    { "m", ARG_ONE, h_m, "-m [size=]megs[M|G]         guest RAM (default 128M)", "memory",
      memory_params },
    { "smp", ARG_ONE, h_smp, "-smp [cpus=]n[,sockets=,dies=,cores=,threads=,maxcpus=]",
      "smp-opts", smp_params },
    { "kernel", ARG_ONE, h_kernel, "-kernel file                bzImage or PVH ELF to boot" },
    { "initrd", ARG_ONE, h_initrd, "-initrd file                initial ram disk" },
    { "append", ARG_ONE, h_append, "-append cmdline             kernel command line" },
    { "serial", ARG_ONE, h_serial, "-serial dev                 stdio, pty, file:F, unix:P,..., tcp:H:P,..., null, none, chardev:ID" },
    { "chardev", ARG_ONE, h_chardev, "-chardev backend,id=ID,...  stdio, file, pty, socket (path=, host=,port=, fd=), null, ringbuf",
      "chardev", chardev_params },
    { "nographic", ARG_NONE, h_nographic, "-nographic                  serial and monitor on stdio (C-a h for help)" },
    { "display", ARG_ONE, h_display, "-display none|sdl[,full-screen=on]|vnc=:N  graphical display" },
    { "vga", ARG_ONE, h_vga, "-vga std|none               graphics card (default: std)" },
    { "vnc", ARG_ONE, h_vnc, "-vnc [host]:N[,password=on,share=,to=,websocket=] | unix:PATH  VNC server" },
    { "full-screen", ARG_NONE, h_full_screen, "-full-screen                SDL window in full screen" },
    { "no-reboot", ARG_NONE, h_no_reboot, "-no-reboot                  exit instead of rebooting" },
    { "no-shutdown", ARG_NONE, h_no_shutdown, "-no-shutdown                stop (keep the VM) on guest shutdown" },
    { "S", ARG_NONE, h_S, "-S                          start paused (QMP cont starts)" },
    { "nodefaults", ARG_NONE, h_nodefaults, "-nodefaults                 no default devices (serial port, monitor)" },
    { "no-user-config", ARG_NONE, h_no_user_config, "-no-user-config             read no user configuration files (Vireo reads none)" },
    { "readconfig", ARG_ONE, h_readconfig, "-readconfig file            read options from a QEMU configuration file" },
    { "name", ARG_ONE, cmdline_h_name, "-name [guest=]name[,process=p][,debug-threads=on|off]",
      "name", name_params },
    { "uuid", ARG_ONE, h_uuid, "-uuid UUID                  machine UUID" },
    { "hda", ARG_ONE, h_hda, "-hda/-hdb/-hdc/-hdd file     IDE disk 0..3 (same as a bare image argument for -hda)" },
    { "hdb", ARG_ONE, h_hdb, NULL },
    { "hdc", ARG_ONE, h_hdc, NULL },
    { "hdd", ARG_ONE, h_hdd, NULL },
    { "cdrom", ARG_ONE, h_cdrom, "-cdrom file                 IDE CD-ROM (secondary master)" },
    { "snapshot", ARG_NONE, h_snapshot, "-snapshot                   write to temporary overlays, never to the images" },
    { "boot", ARG_ONE, h_boot, "-boot [order=]drives][,once=drives][,menu=on|off][,splash=F][,splash-time=T][,reboot-timeout=T][,strict=on|off]" },
    { "bios", ARG_ONE, h_bios, "-bios file                  BIOS image (default bios-256k.bin from -L dirs, /usr/share/seabios)" },
    { "L", ARG_ONE, h_L, "-L path                     directory for the BIOS and option ROMs" },
    { "smbios", ARG_ONE, h_smbios, "-smbios type=0|1|2|3|4|11|17,field=value... | file=F  SMBIOS fields" },
    { "fw_cfg", ARG_ONE, h_fw_cfg, "-fw_cfg [name=]opt/N,file=F|string=S  add a fw_cfg file" },
    { "audiodev", ARG_ONE, h_audiodev, "-audiodev none,id=ID          an audio backend that discards sound" },
    { "blockdev", ARG_ONE, h_blockdev, "-blockdev driver=file|host_device|raw|qcow2,node-name=N,...  (or JSON) a block node" },
    { "drive", ARG_ONE, h_drive, "-drive file=F,if=virtio|none[,id=ID,format=raw|qcow2,readonly=on,cache=C,aio=A]",
      "drive", drive_params },
    { "device", ARG_ONE, h_device, "-device driver[,prop=val]   add a device (-device help)",
      "device", none_params },
    { "global", ARG_ONE, cmdline_h_global, "-global driver.prop=value   default of a device property",
      "global", global_params },
    { "object", ARG_ONE, h_object, "-object TYPE,id=ID[,prop=val] add an object (-object help)",
      "object", none_params },
    { "netdev", ARG_ONE, h_netdev, "-netdev user|tap|bridge|socket|stream|dgram|hubport,id=ID[,...]  a network backend" },
    { "nic", ARG_ONE, h_nic, "-nic [TYPE][,model=M][,mac=MAC][,backend options]  a NIC and its backend (-nic none: no NIC)" },
    { "net", ARG_ONE, h_net, "-net nic[,model=M][,macaddr=MAC]|TYPE[,...]  legacy form: NICs and backends on hub 0" },
    { "qmp", ARG_ONE, h_qmp, "-qmp dev                    QMP on dev (unix:P,server=on,wait=off | tcp:H:P,... | stdio)" },
    { "qmp-pretty", ARG_ONE, h_qmp_pretty, NULL },
    { "mon", ARG_ONE, h_mon, "-mon chardev=ID[,mode=control|readline][,pretty=on|off][,id=ID]",
      "mon", mon_params },
    { "monitor", ARG_ONE, h_monitor, "-monitor dev                human monitor on dev (e.g. stdio)" },
    { "incoming", ARG_ONE, h_incoming, "-incoming uri|defer        wait for a migration stream (tcp:, unix:, fd:, exec:, file:)" },
    { "loadvm", ARG_ONE, h_loadvm, "-loadvm name                start from the snapshot 'name' of the qcow2 disks" },
    { "rtc", ARG_ONE, h_rtc, "-rtc [base=utc|localtime|DATE][,clock=host][,driftfix=none]",
      "rtc", rtc_params },
    { "pidfile", ARG_ONE, cmdline_h_pidfile, "-pidfile file               write the process id to file (locked)" },
    { "daemonize", ARG_NONE, cmdline_h_daemonize, "-daemonize                  detach once the monitors are ready" },
    { "msg", ARG_ONE, cmdline_h_msg, "-msg timestamp=on|off[,guest-name=on|off]  message prefixes",
      "msg", msg_params },
    { "trace", ARG_ONE, cmdline_h_trace, "-trace [enable=]PATTERN[,events=FILE][,file=FILE]  trace events (-trace help)",
      "trace", trace_params },
    { "overcommit", ARG_ONE, cmdline_h_overcommit, "-overcommit mem-lock=on|off  lock guest and Vireo memory",
      "overcommit", overcommit_params },
    { "sandbox", ARG_ONE, cmdline_h_sandbox, "-sandbox on|off[,obsolete=,elevateprivileges=,spawn=,resourcecontrol=]",
      "sandbox", sandbox_params },
    { "add-fd", ARG_ONE, cmdline_h_add_fd, "-add-fd fd=N,set=M[,opaque=S]  add a descriptor to an fd set",
      "add-fd", add_fd_params },
    { "version", ARG_NONE, h_version, "-version, --version         print the version" },
    { "h", ARG_NONE, h_help, "-h, -help                   this help" },
    { "help", ARG_NONE, h_help, NULL },
};

/* The parameters of a group, with a property table's converted to QEMU's types. */
static GArray *group_params(const OptDef *d)
{
    GArray *a = g_array_new(FALSE, FALSE, sizeof(CmdParam));
    for (const CmdParam *p = d->params; p && p->name; p++)
        g_array_append_val(a, *p);
    for (const Property *p = d->props; p && p->name; p++) {
        CmdParam c = { .name = p->name, .help = p->help, .def = p->defval,
                       .type = p->type == PROP_BOOL ? CLP_BOOLEAN :
                               p->type == PROP_SIZE ? CLP_SIZE :
                               p->type >= PROP_U8 && p->type <= PROP_I64 ? CLP_NUMBER :
                               CLP_STRING };
        g_array_append_val(a, c);
    }
    return a;
}

void cmdline_groups_foreach(void (*fn)(const char *group, const CmdParam *params,
                                       unsigned n, void *opaque), void *opaque)
{
    for (unsigned i = 0; i < G_N_ELEMENTS(opts); i++) {
        if (!opts[i].group)
            continue;
        GArray *a = group_params(&opts[i]);
        fn(opts[i].group, (const CmdParam *)a->data, a->len, opaque);
        g_array_free(a, TRUE);
    }
}

static const OptDef *opt_find(const char *name)
{
    for (unsigned j = 0; j < G_N_ELEMENTS(opts); j++)
        if (!strcmp(opts[j].name, name))
            return &opts[j];
    return NULL;
}

void cmdline_print_group_help(const char *opt, GString *out)
{
    static const char *const types[] = { "str", "bool", "num", "size" };
    const OptDef *d = opt_find(opt);
    if (!d || !d->group)
        return;
    g_autoptr(GArray) a = group_params(d);
    g_string_append_printf(out, "%s options:\n", d->group);
    for (guint i = 0; i < a->len; i++) {
        CmdParam *p = &g_array_index(a, CmdParam, i);
        g_autofree char *left = g_strdup_printf("%s=<%s>", p->name, types[p->type]);
        if (p->help)
            g_string_append_printf(out, "  %-22s - %s\n", left, p->help);
        else
            g_string_append_printf(out, "  %s\n", left);
    }
}

void cmdline_print_usage(GString *out)
{
    g_string_append(out, "usage: vireo [options]\n\n");
    for (unsigned i = 0; i < G_N_ELEMENTS(opts); i++)
        if (opts[i].help)
            g_string_append_printf(out, "%s\n", opts[i].help);
    g_string_append(out, "\nWith no -kernel, vireo boots its embedded default guest, or SeaBIOS when a drive,\n"
                         "-bios or -boot is given (docs/storage.md).\n");
}

static void options_init(VireoOptions *o)
{
    memset(o, 0, sizeof(*o));
    machine_opts_init(&o->machine);
    o->accel = "kvm";
    o->serials = g_ptr_array_new();
    o->chardevs = g_ptr_array_new();
    o->devices = g_ptr_array_new_with_free_func((GDestroyNotify)opt_entry_free);
    o->objects = g_ptr_array_new_with_free_func((GDestroyNotify)opt_entry_free);
    o->globals = g_ptr_array_new_with_free_func((GDestroyNotify)global_prop_free);
    o->add_fds = g_ptr_array_new();
    o->owned = g_ptr_array_new_with_free_func(g_free);
    o->drives = g_ptr_array_new();
    o->blockdevs = g_ptr_array_new_with_free_func((GDestroyNotify)opt_entry_free);
    o->audiodevs = g_ptr_array_new_with_free_func((GDestroyNotify)opt_entry_free);
    o->machine.splash_time = o->machine.reboot_timeout = -1;
    o->qmps = g_ptr_array_new();
    o->qmps_pretty = g_ptr_array_new();
    o->mons = g_ptr_array_new();
    o->monitors = g_ptr_array_new();
    o->vncs = g_ptr_array_new();
    o->net = net_options_new();
}

/* "-OPT help" (or "...,help") for the options whose handler prints nothing itself. */
static bool wants_group_help(const OptDef *d, const char *val)
{
    static const char *const own[] = { "machine", "M", "accel", "device", "object", NULL };
    return d->group && val && !g_strv_contains(own, d->name) &&
           (is_help(val) || g_str_has_suffix(val, ",help") || g_str_has_suffix(val, ",?"));
}

bool cmdline_run_option(VireoOptions *o, const char *name, const char *val, GError **errp)
{
    const OptDef *d = opt_find(name);
    if (!d) {
        g_set_error(errp, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT, "-%s: invalid option",
                    name);
        return false;
    }
    if (!strcmp(name, "enable-kvm")) {
        o->accel = "kvm";
        return true;
    }
    if (wants_group_help(d, val)) {
        o->help_group = d->name;
        return true;
    }
    return d->handle(o, val, errp);
}

bool cmdline_parse(int argc, char **argv, VireoOptions *o, GError **errp)
{
    options_init(o);
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (a[0] != '-' || a[1] == '\0') {        /* a bare image: -hda */
            add_drive_shorthand(o, a, 0, false);
            continue;
        }
        const char *name = a + 1 + (a[1] == '-');
        const OptDef *d = opt_find(name);
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
        if (!cmdline_run_option(o, name, val, errp))
            return false;
    }
    return machine_opts_check(&o->machine, errp);
}

void cmdline_free(VireoOptions *o)
{
    g_ptr_array_free(o->serials, TRUE);
    g_ptr_array_free(o->chardevs, TRUE);
    g_ptr_array_free(o->devices, TRUE);
    g_ptr_array_free(o->objects, TRUE);
    g_ptr_array_free(o->globals, TRUE);
    g_ptr_array_free(o->add_fds, TRUE);
    g_ptr_array_free(o->owned, TRUE);
    g_ptr_array_free(o->drives, TRUE);
    g_ptr_array_free(o->blockdevs, TRUE);
    g_ptr_array_free(o->audiodevs, TRUE);
    if (o->machine.data_dirs)
        g_ptr_array_free(o->machine.data_dirs, TRUE);
    if (o->machine.fw_cfg)
        g_ptr_array_free(o->machine.fw_cfg, TRUE);
    if (o->machine.smbios)
        g_ptr_array_free(o->machine.smbios, TRUE);
    g_ptr_array_free(o->qmps, TRUE);
    g_ptr_array_free(o->qmps_pretty, TRUE);
    g_ptr_array_free(o->mons, TRUE);
    g_ptr_array_free(o->monitors, TRUE);
    g_ptr_array_free(o->vncs, TRUE);
    net_options_free(o->net);
    g_free((char *)o->machine.name);
}
