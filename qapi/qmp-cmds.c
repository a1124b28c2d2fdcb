/*
 * QMP command handlers (the qmp_* functions the schema declares). Replies follow
 * QEMU 7.2 (qapi/run-state.json, qapi/machine.json, qapi/control.json, ...).
 * All run on the main thread with the machine lock held.
 */
#include "qapi/monitor-int.h"
#include "qapi/qapi-generated.h"
#include "vireo/drive.h"
#include "vireo/kvm.h"
#include "vireo/migration.h"
#include "vireo/runstate.h"
#include <string.h>
#include <unistd.h>

/* ---- control ---------------------------------------------------------------------- */

void qmp_qmp_capabilities(MonitorSession *s, GArray *enable, GError **errp)
{
    for (guint i = 0; enable && i < enable->len; i++) {
        QMPCapability cap = g_array_index(enable, QMPCapability, i);
        g_set_error(errp, QMP_ERROR, QAPI_ERROR_CLASS_GENERICERROR,
                    "Capability '%s' not available", QMPCapability_str[cap]);
        return;
    }
    s->negotiated = true;
}

VersionInfo *qmp_query_version(Machine *m, GError **errp)
{
    VersionInfo *v = g_new0(VersionInfo, 1);
    v->qemu = g_new0(VersionTriple, 1);
    v->qemu->major = QMP_QEMU_MAJOR;
    v->qemu->minor = QMP_QEMU_MINOR;
    v->qemu->micro = QMP_QEMU_MICRO;
    v->package = g_strdup(QMP_PACKAGE);
    return v;
}

GPtrArray *qmp_query_commands(Machine *m, GError **errp)
{
    GPtrArray *a = g_ptr_array_new_with_free_func((GDestroyNotify)qapi_free_CommandInfo);
    for (size_t i = 0; i < qmp_commands_count; i++) {
        CommandInfo *c = g_new0(CommandInfo, 1);
        c->name = g_strdup(qmp_commands[i].name);
        g_ptr_array_add(a, c);
    }
    return a;
}

bool qmp_query_qmp_schema(QmpCtx *c, JsonObject *args, GString *ret, GError **errp)
{
    static const char *const known[] = { NULL };
    if (!qv_check_unexpected(args, NULL, known, errp))
        return false;
    g_string_append(ret, qmp_schema_json);
    return true;
}

void qmp_quit(Machine *m, GError **errp)
{
    vm_request_shutdown(m, SHUTDOWN_CAUSE_HOST_QMP_QUIT);
}

/* ---- run state -------------------------------------------------------------------- */

StatusInfo *qmp_query_status(Machine *m, GError **errp)
{
    StatusInfo *s = g_new0(StatusInfo, 1);
    s->status = runstate_get(m);
    s->running = runstate_is_running(m);
    s->singlestep = false;
    return s;
}

void qmp_stop(Machine *m, GError **errp)
{
    if (runstate_is_running(m))
        vm_stop(m, RUN_STATE_PAUSED);      /* emits STOP through the runstate notifier */
}

/* QEMU runstate_needs_reset(): these states need system_reset before cont. */
static bool needs_reset(RunState s)
{
    return s == RUN_STATE_SHUTDOWN || s == RUN_STATE_INTERNAL_ERROR ||
           s == RUN_STATE_GUEST_PANICKED;
}

void qmp_cont(Machine *m, GError **errp)
{
    if (needs_reset(runstate_get(m))) {
        g_set_error(errp, QMP_ERROR, QAPI_ERROR_CLASS_GENERICERROR,
                    "Resetting the Virtual Machine is required");
        return;
    }
    /* QEMU: the I/O status of every drive is reset, even when already running. */
    drives_iostatus_reset(m);
    if (runstate_is_running(m))
        return;
    if (!migration_before_cont(m, errp))
        return;
    if (!vm_start(m))
        g_set_error(errp, QMP_ERROR, QAPI_ERROR_CLASS_GENERICERROR,
                    "cont: the machine could not be started");
}

void qmp_system_reset(Machine *m, GError **errp)
{
    vm_request_reset(m, SHUTDOWN_CAUSE_HOST_QMP_SYSTEM_RESET);
}

void qmp_system_powerdown(Machine *m, GError **errp)
{
    vm_request_powerdown(m);
}

/* ---- machine ---------------------------------------------------------------------- */

NameInfo *qmp_query_name(Machine *m, GError **errp)
{
    NameInfo *n = g_new0(NameInfo, 1);
    n->name = g_strdup(m->opts.name);
    return n;
}

UuidInfo *qmp_query_uuid(Machine *m, GError **errp)
{
    UuidInfo *u = g_new0(UuidInfo, 1);
    u->UUID = g_strdup(m->opts.uuid ? m->opts.uuid : "00000000-0000-0000-0000-000000000000");
    return u;
}

KvmInfo *qmp_query_kvm(Machine *m, GError **errp)
{
    KvmInfo *k = g_new0(KvmInfo, 1);
    k->enabled = m->kvm != NULL;
    k->present = true;      /* QEMU: KVM support is built in (Vireo is KVM only) */
    return k;
}

GPtrArray *qmp_query_machines(Machine *m, GError **errp)
{
    GPtrArray *a = g_ptr_array_new_with_free_func((GDestroyNotify)qapi_free_MachineInfo);
    for (const MachineClass *const *c = machine_classes(); *c; c++) {
        MachineInfo *i = g_new0(MachineInfo, 1);
        i->name = g_strdup((*c)->name);
        i->alias = g_strdup((*c)->alias);
        i->has_is_default = (*c)->is_default;
        i->is_default = (*c)->is_default;
        i->cpu_max = (*c)->max_cpus;
        i->hotpluggable_cpus = false;       /* no CPU hotplug in Vireo */
        i->numa_mem_supported = false;
        i->default_cpu_type = g_strdup((*c)->default_cpu_type);
        i->default_ram_id = g_strdup((*c)->default_ram_id);
        g_ptr_array_add(a, i);
    }
    return a;
}

TargetInfo *qmp_query_target(Machine *m, GError **errp)
{
    TargetInfo *t = g_new0(TargetInfo, 1);
    t->arch = SYS_EMU_TARGET_X86_64;
    return t;
}

/* Socket/die/core/thread ids of CPU @i, from the machine's topology (the one the
 * APIC ids come from). */
static CpuInstanceProperties *cpu_props(Machine *m, unsigned i)
{
    X86Topology t = machine_topology(&m->opts);
    TopoIds ti;
    x86_topo_ids(&t, i, &ti);
    CpuInstanceProperties *p = g_new0(CpuInstanceProperties, 1);
    p->has_thread_id = p->has_core_id = p->has_socket_id = true;
    p->thread_id = ti.thread_id;
    p->core_id = ti.core_id;
    p->has_die_id = t.dies > 1;
    p->die_id = ti.die_id;
    p->socket_id = ti.socket_id;
    return p;
}

static unsigned cpu_count(Machine *m)
{
    return m->ncpus;
}

static int cpu_thread_id(Machine *m, unsigned i)
{
    return m->kvm ? kvm_vcpu_thread_id(m->kvm, i) : getpid();
}

GPtrArray *qmp_query_cpus_fast(Machine *m, GError **errp)
{
    GPtrArray *a = g_ptr_array_new_with_free_func((GDestroyNotify)qapi_free_CpuInfoFast);
    for (unsigned i = 0; i < cpu_count(m); i++) {
        CpuInfoFast *c = g_new0(CpuInfoFast, 1);
        c->cpu_index = i;
        c->qom_path = g_strdup_printf("/machine/unattached/device[%u]", i);
        c->thread_id = cpu_thread_id(m, i);
        c->props = cpu_props(m, i);
        c->target = SYS_EMU_TARGET_X86_64;
        g_ptr_array_add(a, c);
    }
    return a;
}

GPtrArray *qmp_query_hotpluggable_cpus(Machine *m, GError **errp)
{
    if (m->cls && m->cls->no_cpus) {        /* QEMU: a machine without CPU slots */
        g_set_error(errp, QMP_ERROR, QAPI_ERROR_CLASS_GENERICERROR,
                    "The feature '%s' is not enabled", "query-hotpluggable-cpus");
        return NULL;
    }
    GPtrArray *a = g_ptr_array_new_with_free_func((GDestroyNotify)qapi_free_HotpluggableCPU);
    unsigned max = MAX(m->opts.max_cpus, cpu_count(m));
    const char *model = m->opts.cpu_model ? m->opts.cpu_model : "qemu64";
    for (unsigned i = max; i-- > 0;) {      /* QEMU lists the highest index first */
        HotpluggableCPU *h = g_new0(HotpluggableCPU, 1);
        h->type = g_strdup_printf("%s-x86_64-cpu", model);
        h->vcpus_count = 1;
        h->props = cpu_props(m, i);
        if (i < cpu_count(m))
            h->qom_path = g_strdup_printf("/machine/unattached/device[%u]", i);
        g_ptr_array_add(a, h);
    }
    return a;
}

MemoryInfo *qmp_query_memory_size_summary(Machine *m, GError **errp)
{
    MemoryInfo *i = g_new0(MemoryInfo, 1);
    i->base_memory = m->ram_size ? m->ram_size : m->opts.ram_size;
    i->has_plugged_memory = true;       /* pc has memory hotplug slots in QEMU */
    i->plugged_memory = 0;
    return i;
}

/* ---- chardevs --------------------------------------------------------------------- */

static void add_chardev(Chardev *c, void *opaque)
{
    ChardevInfo *i = g_new0(ChardevInfo, 1);
    i->label = g_strdup(chr_id(c));
    i->filename = g_strdup(chr_filename(c));
    i->frontend_open = chr_is_connected(c);
    g_ptr_array_add(opaque, i);
}

static void add_listener(const char *label, const char *filename, void *opaque)
{
    ChardevInfo *i = g_new0(ChardevInfo, 1);
    i->label = g_strdup(label);
    i->filename = g_strdup(filename);
    i->frontend_open = true;
    g_ptr_array_add(opaque, i);
}

GPtrArray *qmp_query_chardev(Machine *m, GError **errp)
{
    GPtrArray *a = g_ptr_array_new_with_free_func((GDestroyNotify)qapi_free_ChardevInfo);
    if (m->chardevs)
        chr_registry_foreach(m->chardevs, add_chardev, a);
    if (m->monitors)
        monitor_listeners_foreach(m->monitors, add_listener, a);
    return a;
}

/* ---- human monitor ------------------------------------------------------------------ */

char *qmp_human_monitor_command(MonitorSession *s, const char *command_line,
                                bool has_cpu_index, int64_t cpu_index, GError **errp)
{
    unsigned saved = s->cpu_index;
    if (has_cpu_index) {
        if (cpu_index < 0 || cpu_index >= cpu_count(s->m)) {
            g_set_error(errp, QMP_ERROR, QAPI_ERROR_CLASS_GENERICERROR,
                        "Parameter 'cpu-index' expects a CPU number");
            return NULL;
        }
        s->cpu_index = cpu_index;
    }
    g_autoptr(GString) out = g_string_new(NULL);
    hmp_execute(s, command_line, out);
    s->cpu_index = saved;
    /* QEMU's monitor output turns "\n" into "\r\n", here too. */
    GString *crlf = g_string_sized_new(out->len + 16);
    for (const char *p = out->str; *p; p++) {
        if (*p == '\n')
            g_string_append_c(crlf, '\r');
        g_string_append_c(crlf, *p);
    }
    return g_string_free(crlf, FALSE);
}
