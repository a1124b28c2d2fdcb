/*
 * vireo_main: builds the machine from the command line and runs it.
 * Exit statuses: 0 guest poweroff / quit / Ctrl-A x / signal; 1 bad command line or
 * start-up failure or KVM internal error; (v << 1) | 1 from isa-debug-exit.
 */
#include "config-host.h"
#include "vireo/trace.h"
#include "vireo/cmdline.h"
#include "vireo/object.h"
#include "vireo/fdset.h"
#include "vireo/log.h"
#include "vireo/os.h"
#include "vireo/sandbox.h"
#include "vireo/drive.h"
#include "vireo/cpu.h"
#include "vireo/kvm.h"
#include "vireo/migration.h"
#include "vireo/qmp.h"
#include "vireo/runstate.h"
#include "vireo/vnc.h"
#ifdef CONFIG_SDL
#include "vireo/sdl.h"
#endif
#include <glib-unix.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/sysinfo.h>

static void print_machines(void)
{
    printf("Supported machines are:\n");
    for (const MachineClass *const *c = machine_classes(); *c; c++) {
        if ((*c)->alias)
            printf("%-20s %s (alias of %s)\n", (*c)->alias, (*c)->desc, (*c)->name);
        printf("%-20s %s%s\n", (*c)->name, (*c)->desc, (*c)->is_default ? " (default)" : "");
    }
}

static void print_devices(void)
{
    static const char *const bus_names[] = { "System", "ISA", "PCI" };
    for (int bus = BUS_SYS; bus <= BUS_PCI; bus++) {
        bool header = false;
        for (const DeviceClass *const *c = device_classes(); *c; c++) {
            if ((*c)->bus != (BusKind)bus || !(*c)->user_creatable)
                continue;
            if (!header)
                printf("%s%s devices:\n", bus == BUS_SYS ? "" : "\n", bus_names[bus]);
            header = true;
            printf("name \"%s\", bus %s, desc \"%s\"\n", (*c)->name,
                   bus == BUS_PCI ? "PCI" : bus == BUS_ISA ? "ISA" : "System", (*c)->desc);
        }
    }
}

/* Handles the print-and-exit requests; returns true when one was handled. */
static bool handle_info_requests(VireoOptions *o)
{
    if (o->want_version) {
        printf("Vireo emulator version " VIREO_VERSION "\n"
               "QEMU-compatible command line and QMP; KVM accelerator only.\n");
        return true;
    }
    if (o->want_help) {
        g_autoptr(GString) s = g_string_new(NULL);
        cmdline_print_usage(s);
        fputs(s->str, stdout);
        return true;
    }
    if (o->machine_help) {
        print_machines();
        return true;
    }
    if (o->cpu_help) {
        g_autoptr(GString) s = g_string_new(NULL);
        x86_cpu_list(s);
        fputs(s->str, stdout);
        return true;
    }
    if (o->device_help) {
        print_devices();
        return true;
    }
    if (net_options_want_help(o->net)) {
        g_autoptr(GString) s = g_string_new(NULL);
        net_options_print_help(o->net, s);
        fputs(s->str, stdout);
        return true;
    }
    if (o->object_help || o->object_help_name) {
        g_autoptr(GString) s = g_string_new(NULL);
        object_print_help(o->object_help_name, s);
        fputs(s->str, stdout);
        return true;
    }
    if (o->help_group) {
        g_autoptr(GString) s = g_string_new(NULL);
        cmdline_print_group_help(o->help_group, s);
        fputs(s->str, stdout);
        return true;
    }
    if (o->device_help_name) {
        g_autoptr(GString) s = g_string_new(NULL);
        device_print_help(device_class_find(o->device_help_name), s);
        fputs(s->str, stdout);
        return true;
    }
    return false;
}

static bool check_resources(Machine *m, GError **errp)
{
    struct sysinfo si;
    if (m->opts.smp_cpus > m->cls->max_cpus) {
        g_set_error(errp, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                    "-smp %u: machine '%s' supports at most %u CPUs", m->opts.smp_cpus,
                    m->cls->name, m->cls->max_cpus);
        return false;
    }
    if (m->cls->no_cpus && m->opts.cpu_given) {
        g_set_error(errp, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED,
                    "-cpu %s: machine '%s' has no CPUs in Vireo", m->opts.cpu_model,
                    m->cls->name);
        return false;
    }
    if (sysinfo(&si) == 0) {
        uint64_t host = (uint64_t)si.totalram * si.mem_unit + (uint64_t)si.totalswap * si.mem_unit;
        if (m->opts.ram_size > host) {
            g_set_error(errp, G_IO_ERROR, G_IO_ERROR_NO_SPACE,
                        "-m %" G_GUINT64_FORMAT "M: more than the host's %" G_GUINT64_FORMAT
                        " MiB of memory", m->opts.ram_size >> 20, host >> 20);
            return false;
        }
    }
    return true;
}

/* QEMU's default_monitor: cleared by any -monitor, -qmp, -mon or -nodefaults. */
static bool default_monitor(const VireoOptions *o)
{
    return !o->machine.nodefaults && !o->qmps->len && !o->qmps_pretty->len &&
           !o->mons->len && !o->monitors->len;
}

static bool add_chardev(Machine *m, Chardev *chr, GError **errp)
{
    return chr && chr_registry_add(m->chardevs, chr, errp);
}

/* The default serial port (QEMU's vl.c): none with -nodefaults or on a board
 * without one; with -nographic the stdio mux that also carries the human monitor,
 * unless a monitor was asked for (-qmp, -monitor, -mon), then plain stdio. */
static const char *default_serial(Machine *m, const VireoOptions *o)
{
    if (o->machine.nodefaults || m->cls->no_serial)
        return NULL;
    return o->nographic && default_monitor(o) ? "mon:stdio" : "stdio";
}

/* -chardev, then -serial (default: default_serial()). */
static bool create_chardevs(Machine *m, const VireoOptions *o, GError **errp)
{
    for (guint i = 0; i < o->chardevs->len; i++)
        if (!add_chardev(m, chr_new(o->chardevs->pdata[i], NULL, errp), errp))
            return false;
    GPtrArray *serials = o->serials;
    g_autoptr(GPtrArray) defaults = g_ptr_array_new();
    if (serials->len == 0 && default_serial(m, o)) {
        g_ptr_array_add(defaults, (char *)default_serial(m, o));
        serials = defaults;
    }
    if (serials->len > MACHINE_MAX_SERIAL) {
        g_set_error(errp, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                    "-serial: at most %d serial ports", MACHINE_MAX_SERIAL);
        return false;
    }
    for (guint i = 0; i < serials->len; i++) {
        const char *spec = serials->pdata[i];
        if (!strcmp(spec, "none"))
            continue;
        if (g_str_has_prefix(spec, "chardev:")) {
            m->serial[i] = chr_registry_find(m->chardevs, spec + 8);
            if (!m->serial[i]) {
                g_set_error(errp, G_IO_ERROR, G_IO_ERROR_NOT_FOUND,
                            "-serial %s: chardev '%s' not found", spec, spec + 8);
                return false;
            }
            continue;
        }
        g_autofree char *id = g_strdup_printf("serial%u", i);
        Chardev *chr = chr_new_shorthand(spec, id, errp);
        if (!add_chardev(m, chr, errp)) {
            g_prefix_error(errp, "-serial: ");
            return false;
        }
        m->serial[i] = chr;
    }
    return true;
}

static bool create_monitors(Machine *m, const VireoOptions *o, GError **errp)
{
    for (guint i = 0; i < o->qmps->len; i++)
        if (!monitor_parse_qmp_option(m, o->qmps->pdata[i], false, errp))
            return false;
    for (guint i = 0; i < o->qmps_pretty->len; i++)
        if (!monitor_parse_qmp_option(m, o->qmps_pretty->pdata[i], true, errp))
            return false;
    for (guint i = 0; i < o->mons->len; i++)
        if (!monitor_parse_mon_option(m, o->mons->pdata[i], errp))
            return false;
    for (guint i = 0; i < o->monitors->len; i++)
        if (!monitor_parse_hmp_option(m, o->monitors->pdata[i], errp))
            return false;
    /* "mon:" serial backends (the -nographic default) carry the human monitor too,
     * reached with Ctrl-A c. */
    GPtrArray *serials = o->serials;
    const char *def = default_serial(m, o);
    for (guint i = 0; i < MACHINE_MAX_SERIAL; i++) {
        const char *spec = serials->len ? (i < serials->len ? serials->pdata[i] : NULL)
                                        : (i == 0 ? def : NULL);
        bool mon = spec && g_str_has_prefix(spec, "mon:");
        if (mon && m->serial[i] && !monitor_add(m, m->serial[i], false, false, errp))
            return false;
    }
    /* -nographic with a monitor asked for nowhere else and no default serial to
     * share it with (-serial given, or a board without one): the human monitor
     * alone on stdio. */
    if (o->nographic && default_monitor(o) && !(serials->len == 0 && def) &&
        !monitor_parse_hmp_option(m, "stdio", errp))
        return false;
    return true;
}

static bool check_smp(Machine *m, GError **errp)
{
    unsigned max = kvm_max_vcpus(m->kvm);
    if (m->ncpus > max || m->ncpus > m->cls->max_cpus) {
        g_set_error(errp, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                    "-smp %u: exceeds the maximum of %u CPUs (KVM allows %u, machine '%s' %u)",
                    m->opts.smp_cpus, MIN(max, m->cls->max_cpus), max, m->cls->name,
                    m->cls->max_cpus);
        return false;
    }
    return true;
}

/* The front-ends that are not there yet are refused, never ignored. */
static bool check_display(const VireoOptions *o, GError **errp)
{
#ifndef CONFIG_SDL
    if (o->display && !strcmp(o->display, "sdl")) {
        g_set_error(errp, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED,
                    "-display sdl: this build has no SDL2 (install libsdl2-dev and rebuild)");
        return false;
    }
#endif
    if (o->full_screen && !o->display) {
        g_set_error(errp, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED,
                    "-full-screen: needs a window (-display sdl)");
        return false;
    }
    return true;
}

/* Ctrl-A x on a mux: QEMU's "quit" from the UI. */
static void mux_quit(void *opaque)
{
    vm_request_shutdown(opaque, SHUTDOWN_CAUSE_HOST_UI);
}

static void set_mux_quit(Chardev *chr, void *opaque)
{
    chr_mux_set_quit_hook(chr, mux_quit, opaque);
}

/* -object: memory backends after the accelerator (QEMU: large allocations must not
 * delay the monitor sockets management tools wait for), the others first. */
static bool create_objects(Machine *m, const VireoOptions *o, bool memory, GError **errp)
{
    for (guint i = 0; i < o->objects->len; i++) {
        OptEntry *e = o->objects->pdata[i];
        const char *type = kv_get_str(e->obj, "qom-type");
        if (g_str_has_prefix(type ? type : "", "memory-backend-") != memory)
            continue;
        if (!object_create(m, e->obj, e->kv, errp)) {
            option_prefix_error(errp, "object", e->text);
            return false;
        }
    }
    return true;
}

/* Start-up, board-independent: the class's hooks do the board's part. */
static bool build_machine(Machine *m, const VireoOptions *o, GError **errp)
{
    if (!check_display(o, errp) || !check_resources(m, errp) ||
        (m->cls->check && !m->cls->check(&m->opts, errp)))
        return false;
    for (guint i = 0; i < o->add_fds->len; i++)
        if (!fdset_add_option(m, o->add_fds->pdata[i], errp))
            return false;
    if (!create_objects(m, o, false, errp) || !create_chardevs(m, o, errp))
        return false;
    chr_registry_foreach(m->chardevs, set_mux_quit, m);
    for (guint i = 0; i < o->drives->len; i++)   /* before KVM: errors name the image */
        if (!drive_add(m, o->drives->pdata[i], errp))
            return false;
    for (guint i = 0; i < o->blockdevs->len; i++) {
        OptEntry *e = o->blockdevs->pdata[i];
        if (!blockdev_declare(m, e->obj, e->kv, e->text, errp))
            return false;
    }
    if (!blockdev_open_all(m, errp))
        return false;
    /* Network backends before the board (which creates the NICs they name), as QEMU;
     * the default NIC is one of the board's default devices (hw/i386/pc-defaults.c). */
    if (!net_init_clients(m, o->net, errp))
        return false;
    if (!strcmp(o->accel, "qtest")) {
        /* QEMU's qtest accelerator: nothing executes guest code. */
        if (!m->cls->no_cpus) {
            g_set_error(errp, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED,
                        "-accel qtest: machine '%s' has CPUs; qtest runs no guest code "
                        "(use -machine none)", m->cls->name);
            return false;
        }
    } else {
        m->kvm = kvm_init(m, errp);
        if (!m->kvm || !check_smp(m, errp))
            return false;
        trace_startup("kvm ready");
        kvm_connect_irqs(m->kvm, m);
    }
    qmp_block_init(m);
    if (!create_objects(m, o, true, errp) || !m->cls->init(m, errp))
        return false;
    for (guint i = 0; i < o->devices->len; i++) {
        OptEntry *e = o->devices->pdata[i];
        if (!machine_create_device_from(m, e->obj, e->kv, errp)) {
            option_prefix_error(errp, "device", e->text);
            return false;
        }
    }
    if (!drive_create_devices(m, errp) || (m->cls->finish && !m->cls->finish(m, errp)))
        return false;
    net_check_clients(m);
    trace_startup("payload loaded");
    if (m->ncpus && !kvm_create_vcpus(m->kvm, m, errp))
        return false;
    if (!create_monitors(m, o, errp))
        return false;
    chr_registry_foreach(m->chardevs, set_mux_quit, m);
    for (guint i = 0; i < o->audiodevs->len; i++)
        vnc_add_audiodev(m, kv_get_str(((OptEntry *)o->audiodevs->pdata[i])->obj, "id"));
    for (guint i = 0; i < o->vncs->len; i++)   /* after the display devices */
        if (!vnc_parse_option(m, o->vncs->pdata[i], errp))
            return false;
#ifdef CONFIG_SDL
    if (o->display && !strcmp(o->display, "sdl")) {
        SdlOptions so = { .full_screen = o->full_screen, .window_close = o->window_close,
                          .show_cursor = o->show_cursor, .grab_mod = o->grab_mod };
        if (!sdl_display_init(m, &so, errp))
            return false;
    }
#endif
    return true;
}

/* Without vCPUs (none machine, qtest) there is nothing to pause. */
static void vm_pause(void *opaque)
{
    Machine *m = opaque;
    if (m->kvm && m->ncpus)
        kvm_pause_all(m->kvm);
}

static void vm_resume(void *opaque)
{
    Machine *m = opaque;
    if (m->kvm && m->ncpus)
        kvm_resume_all(m->kvm);
}
static void vm_reset(void *opaque)
{
    Machine *m = opaque;
    if (m->cls->reset)
        m->cls->reset(m);
}

typedef struct SignalCtx {
    Machine *m;
    int sig;
} SignalCtx;

static gboolean on_signal(gpointer data)
{
    SignalCtx *c = data;
    fprintf(stderr, "vireo: terminating on signal %d\n", c->sig);
    vm_request_shutdown(c->m, SHUTDOWN_CAUSE_HOST_SIGNAL);
    return G_SOURCE_CONTINUE;
}

/* Threads (vCPUs, GLib's workers) get 1 MiB stacks instead of glibc's 8 MiB: with
 * transparent huge pages set to "always", the first touch of an 8 MiB stack mapping
 * faults in a 2 MiB huge page, which was 2 MiB of resident memory per thread. */
static void set_thread_stack_size(void)
{
    pthread_attr_t a;
    if (pthread_attr_init(&a) == 0) {
        pthread_attr_setstacksize(&a, 1 << 20);
        pthread_setattr_default_np(&a);
        pthread_attr_destroy(&a);
    }
}

/* Runs the VM: from an incoming migration stream (-incoming), from a snapshot
 * (-loadvm), or from power-on; -S leaves it paused. */
static bool start_vm(Machine *m, const MachineOpts *mo, GError **errp)
{
    if (mo->incoming && mo->loadvm) {
        g_set_error(errp, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                    "-incoming and -loadvm exclude each other");
        return false;
    }
    if (mo->incoming)
        return migration_incoming_init(m, mo->incoming, errp);
    if (mo->loadvm && !snapshot_load_at_start(m, mo->loadvm, errp))
        return false;
    if (mo->start_paused)
        runstate_set(m, RUN_STATE_PRELAUNCH);
    else
        vm_start(m);
    return true;
}

/* What -daemonize cannot go with (QEMU's checks): the terminal. -nographic only
 * matters while it still puts a default serial port or monitor on stdio. */
static bool check_daemonize(const VireoOptions *o, GError **errp)
{
    const MachineClass *cls = machine_class_find(o->machine.type);
    bool def_serial = !o->machine.nodefaults && !o->serials->len && !cls->no_serial;
    bool stdio = o->nographic && (def_serial || default_monitor(o));
    for (guint i = 0; i < o->serials->len; i++)
        stdio |= strstr(o->serials->pdata[i], "stdio") != NULL;
    for (guint i = 0; i < o->chardevs->len; i++)
        stdio |= g_str_has_prefix(o->chardevs->pdata[i], "stdio");
    for (guint i = 0; i < o->qmps->len; i++)
        stdio |= !strcmp(o->qmps->pdata[i], "stdio");
    for (guint i = 0; i < o->monitors->len; i++)
        stdio |= !strcmp(o->monitors->pdata[i], "stdio");
    if (stdio)
        g_set_error(errp, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                    o->nographic ? "-nographic cannot be used with -daemonize"
                                 : "cannot use stdio with -daemonize");
    return !stdio;
}

/* Before any thread exists: the daemon, its pid file, its name, locked memory. */
static bool process_setup(const VireoOptions *o, int *pidfd, GError **errp)
{
    report_set_format(o->msg_timestamp, o->msg_guest_name ? o->machine.name : NULL);
    if (o->daemonize) {
        if (!check_daemonize(o, errp))
            return false;
        os_daemonize_start();
    }
    if (o->pidfile && (*pidfd = os_pidfile_create(o->pidfile, errp)) < 0)
        return false;
    if (o->process_name)
        os_set_process_name(o->process_name);
    return !o->mem_lock || os_mlock(errp);
}

/* The machine exists and its monitors listen: the filter, then the daemon's parent
 * can go (management tools connect once it has exited). */
static bool ready(const VireoOptions *o, GError **errp)
{
    if (o->sandbox && !sandbox_install(o->sandbox_sets, errp))
        return false;
    if (o->daemonize)
        os_daemonize_done();
    return true;
}

int vireo_main(int argc, char **argv)
{
    VireoOptions o;
    g_autoptr(GError) err = NULL;
    int pidfd = -1;
    gint64 t_main = g_get_real_time();
    set_thread_stack_size();
    if (!cmdline_parse(argc, argv, &o, &err)) {
        report_error("%s", err->message);
        return 1;
    }
    trace_emit_at(TRACE_VIREO_STARTUP, t_main, "main");
    if (handle_info_requests(&o)) {
        cmdline_free(&o);
        return 0;
    }
    if (!process_setup(&o, &pidfd, &err)) {
        report_error("%s", err->message);
        cmdline_free(&o);
        return 1;
    }
    signal(SIGPIPE, SIG_IGN);
    mainloop_init();
    bql_lock();
    o.machine.globals = o.globals;
    Machine *m = machine_new(machine_class_find(o.machine.type), &o.machine, clock_real());
    int status = 1;
    if (!build_machine(m, &o, &err) || !ready(&o, &err)) {
        report_error("%s", err->message);
        goto out;
    }
    VmOps ops = { .pause_all = vm_pause, .resume_all = vm_resume, .reset = vm_reset,
                  .opaque = m };
    runstate_init(m, &ops, o.machine.no_reboot, o.machine.no_shutdown);
    static SignalCtx sigs[3];
    const int signums[3] = { SIGINT, SIGTERM, SIGHUP };
    for (int i = 0; i < 3; i++) {
        sigs[i] = (SignalCtx){ .m = m, .sig = signums[i] };
        g_unix_signal_add(signums[i], on_signal, &sigs[i]);
    }
    if (!start_vm(m, &o.machine, &err)) {
        report_error("%s", err->message);
        goto out;
    }
    status = vm_main_loop(m);
out:
    migration_shutdown(m);
    if (m->kvm && m->cpus)
        kvm_stop_vcpus(m->kvm);
    loader_finish(m, false);           /* a pending kernel-cache fill, bounded */
    vnc_cleanup(m);                    /* removes its unix socket files */
#ifdef CONFIG_SDL
    sdl_display_cleanup(m);
#endif
    monitor_cleanup(m);                /* flushes replies, removes socket files */
    net_cleanup(m);                    /* closes taps (their downscripts run) */
    chr_registry_free(m->chardevs);    /* restores the terminal */
    m->chardevs = NULL;
    bql_unlock();
    if (o.pidfile)
        os_pidfile_remove(o.pidfile, pidfd);
    cmdline_free(&o);
    return status;
}
