/*
 * Machine helpers shared by every board (include/vireo/machine.h): the e820 table, the
 * ordered device list, and a bare machine for unit tests.
 */
#include "vireo/machine.h"
#include "vireo/trace.h"
#include "vireo/drive.h"
#include "vireo/net.h"
#include "vireo/pci.h"
#include "vireo/pc.h"
#include "vireo/option.h"
#include "vireo/input.h"
#include "vireo/ramblock.h"
#include "vireo/qom.h"
#include "vireo/object.h"
#include "vireo/fdset.h"
#include "vireo/job.h"
#include "vireo/migration.h"
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

extern const MachineClass pc_machine_class;
extern const MachineClass none_machine_class;

/* Every board, in `-machine help` order. */
static const MachineClass *const all_machines[] = {
    &pc_machine_class,
    &none_machine_class,
    NULL,
};

const MachineClass *const *machine_classes(void) { return all_machines; }

const MachineClass *machine_class_default(void)
{
    for (const MachineClass *const *c = all_machines; *c; c++)
        if ((*c)->is_default)
            return *c;
    return all_machines[0];
}

const MachineClass *machine_class_find(const char *name)
{
    for (const MachineClass *const *c = all_machines; *c; c++)
        if (!strcmp((*c)->name, name) || ((*c)->alias && !strcmp((*c)->alias, name)))
            return *c;
    return NULL;
}

static const char *const kernel_irqchip_names[] = { "on", "off", "split", NULL };
static const char *const kernel_boot_names[] = { "direct", "firmware", NULL };

/* QEMU's "machine" type: what every board has. */
const Property machine_props[] = {
    PROP("dump-guest-core", PROP_BOOL, MachineOpts, dump_guest_core, "on",
         "Include guest memory in a core dump"),
    PROP("mem-merge", PROP_BOOL, MachineOpts, mem_merge, "on",
         "Enable/disable memory merge support (KSM)"),
    PROP("usb", PROP_BOOL, MachineOpts, usb, "off",
         "Set on/off to enable/disable usb (Vireo has no USB: off only)"),
    PROP_LINK_("memory-backend", MachineOpts, memory_backend, "memory-backend",
               "Set RAM backend (the id of a memory-backend object)"),
    PROP_END
};

/* QEMU's "generic-pc-machine" (vmport), and Vireo's decompressed-kernel cache. */
const Property pc_machine_props[] = {
    PROP_ENUM_("vmport", MachineOpts, vmport, on_off_auto_names, "auto",
               "Enable vmport (Vireo has none: auto and off only)"),
    PROP("kernel-cache", PROP_BOOL, MachineOpts, kernel_cache, "on",
         "Cache decompressed -kernel payloads (docs/architecture.md, Boot)"),
    PROP_ENUM_("kernel-boot", MachineOpts, kernel_boot, kernel_boot_names, "direct",
               "How -kernel boots: direct (no firmware) or firmware (SeaBIOS and its "
               "linuxboot option ROM, as QEMU)"),
    PROP_END
};

/* -machine KEY=VALUE: a property of the board's type or its ancestors; QEMU's legacy
 * kernel_irqchip / kernel-irqchip goes to the accelerator, as QEMU forwards it. */
bool machine_opts_apply(MachineOpts *o, const MachineClass *cls, JsonObject *kv,
                        const char *const *skip, GError **errp)
{
    JsonObjectIter it;
    const char *key;
    JsonNode *v;
    json_object_iter_init(&it, kv);
    while (json_object_iter_next(&it, &key, &v)) {
        if (skip && g_strv_contains(skip, key))
            continue;
        bool irqchip = !strcmp(key, "kernel-irqchip") || !strcmp(key, "kernel_irqchip");
        const Property *p = irqchip ? props_find(accel_kvm_props, "kernel-irqchip") : NULL;
        for (const char *t = cls->qom_type; !p && t;) {
            QomType qt;
            if (!qom_type_lookup(t, &qt))
                break;
            p = props_find(qt.props, key);
            t = qt.parent;
        }
        if (!p) {
            g_set_error(errp, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                        "Property '%s.%s' not found", cls->qom_type, key);
            return false;
        }
        if (!prop_set(p, o, v, true, cls->qom_type, errp))
            return false;
    }
    return true;
}

const Property accel_kvm_props[] = {
    PROP_ENUM_("kernel-irqchip", MachineOpts, kernel_irqchip, kernel_irqchip_names, "on",
               "Configure KVM in-kernel irqchip (on only)"),
    PROP("x-coalesced-io", PROP_BOOL, MachineOpts, coalesced_io, "on",
         "Queue guest writes that only a later access can observe (KVM coalesced I/O)"),
    PROP_END
};

/* The abstract machine types (QEMU 7.2's); the boards' own come from their class. */
const QomType qom_machine_types[] = {
    { .name = "machine", .parent = "object", .abstract = true, .props = machine_props,
      .desc = "the base of every board" },
    { .name = "x86-machine", .parent = "machine", .abstract = true },
    { .name = "generic-pc-machine", .parent = "x86-machine", .abstract = true,
      .props = pc_machine_props },
    { .name = NULL }
};

/* QEMU lists "accel" as a concrete type. qtest runs no guest code (none machine). */
const QomType qom_accel_types[] = {
    { .name = "accel", .parent = "object" },
    { .name = "kvm-accel", .parent = "accel", .props = accel_kvm_props,
      .desc = "KVM accelerator" },
    { .name = "qtest-accel", .parent = "accel",
      .desc = "no guest execution (machines without CPUs)" },
    { .name = NULL }
};

bool machine_opts_check(const MachineOpts *o, GError **errp)
{
    const char *why = o->usb ? "usb=on: Vireo has no USB controller" :
        o->vmport == ON_OFF_AUTO_ON ? "vmport=on: Vireo has no VMware I/O port" :
        o->kernel_irqchip != KERNEL_IRQCHIP_ON ?
            "kernel-irqchip: Vireo needs KVM's in-kernel irqchip (on)" : NULL;
    if (why)
        g_set_error(errp, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED, "-machine %s", why);
    return !why;
}

void machine_opts_init(MachineOpts *o)
{
    memset(o, 0, sizeof(*o));
    o->type = machine_class_default()->name;
    o->smp_cpus = o->sockets = o->dies = o->cores = o->threads = o->max_cpus = 1;
    o->cpu_model = "qemu64";       /* QEMU's default model */
    o->rtc_utc = true;
    props_init(machine_props, o, "machine");
    props_init(pc_machine_props, o, "generic-pc-machine");
    props_init(accel_kvm_props, o, "kvm-accel");
}

X86Topology machine_topology(const MachineOpts *o)
{
    return (X86Topology){ .sockets = o->sockets, .dies = o->dies ? o->dies : 1,
                          .cores = o->cores, .threads = o->threads };
}

/* m->ncpus and their APIC ids, from the topology in m->opts. */
static void machine_init_cpus(Machine *m, unsigned n)
{
    X86Topology topo = machine_topology(&m->opts);
    m->ncpus = n;
    g_free(m->apic_ids);
    m->apic_ids = g_new0(uint32_t, MAX(n, 1));
    for (unsigned i = 0; i < n; i++)
        m->apic_ids[i] = x86_apic_id(&topo, i);
}

void machine_set_test_cpus(Machine *m, unsigned n)
{
    m->opts.smp_cpus = m->opts.max_cpus = m->opts.cores = n;
    m->opts.sockets = m->opts.dies = m->opts.threads = 1;
    machine_init_cpus(m, n);
}

Machine *machine_new(const MachineClass *cls, const MachineOpts *o, Clock *clock)
{
    Machine *m = g_new0(Machine, 1);
    m->cls = cls;
    m->opts = *o;
    if (!m->opts.ram_size && cls)
        m->opts.ram_size = cls->default_ram_size;
    m->sysmem = as_new("memory");
    m->io = as_new("io");
    m->clock = clock;
    m->devices = g_ptr_array_new();
    m->chardevs = chr_registry_new();
    m->run.state = RUN_STATE_PRELAUNCH;
    machine_init_cpus(m, cls && cls->no_cpus ? 0 : o->smp_cpus);
    return m;
}

void machine_e820_add(Machine *m, uint64_t addr, uint64_t size, uint32_t type)
{
    if (m->e820_count >= E820_MAX || size == 0)
        return;
    unsigned i = m->e820_count;
    while (i > 0 && m->e820[i - 1].addr > addr) {
        m->e820[i] = m->e820[i - 1];
        i--;
    }
    m->e820[i] = (E820Entry){ .addr = addr, .size = size, .type = type };
    m->e820_count++;
}

Device *machine_find_device(Machine *m, const char *id)
{
    for (guint i = 0; id && i < m->devices->len; i++) {
        Device *d = m->devices->pdata[i];
        if (!g_strcmp0(d->id, id))
            return d;
    }
    return NULL;
}

bool machine_add_device(Machine *m, Device *dev, GError **errp)
{
    if (dev->id && machine_find_device(m, dev->id)) {
        g_set_error(errp, G_IO_ERROR, G_IO_ERROR_EXISTS, "Duplicate ID '%s' for device",
                    dev->id);
        device_free(dev);
        return false;
    }
    if (!device_realize(dev, errp)) {
        device_free(dev);
        return false;
    }
    g_ptr_array_add(m->devices, dev);
    return true;
}

Device *machine_create_device(Machine *m, const char *type, const char *opts,
                              GError **errp)
{
    const DeviceClass *cls = device_class_find(type);
    if (!cls) {
        g_set_error(errp, G_IO_ERROR, G_IO_ERROR_NOT_FOUND,
                    "'%s' is not a valid device model name", type);
        return NULL;
    }
    Device *dev = device_new(m, cls);
    if (!device_set_props(dev, opts, errp)) {
        device_free(dev);
        return NULL;
    }
    return machine_add_device(m, dev, errp) ? dev : NULL;
}

const DeviceClass *device_class_for_user(const char *type, GError **errp)
{
    const DeviceClass *cls = type ? device_class_find(type) : NULL;
    if (!type)
        g_set_error(errp, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                    "Parameter 'driver' is missing");
    else if (!cls)
        g_set_error(errp, G_IO_ERROR, G_IO_ERROR_NOT_FOUND,
                    "'%s' is not a valid device model name", type);
    else if (cls->abstract)
        g_set_error(errp, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                    "Parameter 'driver' expects a non-abstract device type");
    else if (!cls->user_creatable)
        g_set_error(errp, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                    "Parameter 'driver' expects a pluggable device type");
    else
        return cls;
    return NULL;
}

Device *machine_create_device_from(Machine *m, JsonObject *o, bool kv, GError **errp)
{
    const DeviceClass *cls = device_class_for_user(kv_get_str(o, "driver"), errp);
    if (!cls)
        return NULL;
    Device *dev = device_new(m, cls);
    dev->user_created = true;
    if (!device_apply(dev, o, kv, errp)) {
        device_free(dev);
        return NULL;
    }
    return machine_add_device(m, dev, errp) ? dev : NULL;
}

void machine_reset_devices(Machine *m)
{
    for (guint i = 0; i < m->devices->len; i++)
        device_reset(m->devices->pdata[i]);
}

static void fake_gsi(void *opaque, int n, int level)
{
    Machine *m = opaque;
    (void)m; (void)n; (void)level;
}

Machine *machine_new_test(uint64_t ram)
{
    MachineOpts o;
    machine_opts_init(&o);
    o.ram_size = ram;
    Machine *m = machine_new(NULL, &o, vclock_new(1700000000LL * 1000000000LL));
    m->ram_size = m->below_4g = ram;
    if (ram) {
        void *p = NULL;
        g_assert(posix_memalign(&p, 4096, ram) == 0);
        memset(p, 0, ram);
        m->ram = p;
        m->ram_malloced = true;
        mr_init_ram(&m->ram_lo, "ram-below-4g", ram, m->ram);
        as_add_region(m->sysmem, &m->ram_lo, 0, NULL);
        if (!(ram & 4095))
            ram_block_register(m, "pc.ram", m->ram, ram, RAM_BLOCK_TRACKED);
    }
    for (int i = 0; i < MACHINE_NUM_GSI; i++)
        m->gsi[i] = (IrqLine){ .handler = fake_gsi, .opaque = m, .n = i };
    return m;
}

void trace_startup(const char *what)
{
    trace_emit(TRACE_VIREO_STARTUP, "%s", what);
}

/* Frees devices in reverse order of realization, then the machine. */
void machine_free(Machine *m)
{
    if (!m)
        return;
    jobs_free(m);                   /* before the drives a snapshot job names */
    migration_free(m);              /* its threads use RAM and devices; after the jobs */
    for (guint i = m->devices->len; i-- > 0;)
        device_free(m->devices->pdata[i]);
    g_ptr_array_free(m->devices, TRUE);
    drives_free(m);                 /* after the devices that used them */
    ui_free(m);                     /* consoles and input handlers left by devices */
    pc_firmware_free(m);
    net_cleanup(m);                 /* backends after the NICs that used them */
    if (m->pci_bus)
        pci_bus_free(m->pci_bus);   /* after its devices unrealized, before m->io */
    if (m->chardevs)
        chr_registry_free(m->chardevs);
    as_free(m->sysmem);
    as_free(m->io);
    objects_free(m);                /* RAM backends: after the regions that map them */
    fdsets_free(m);
    if (m->clock && m->clock != clock_real())
        vclock_free(m->clock);
    if (m->ram_malloced)
        free(m->ram);
    if (m->ram_blocks)
        g_ptr_array_free(m->ram_blocks, TRUE);
    g_free(m->apic_ids);
    g_free(m->cpus);
    runstate_cleanup(m);
    g_free(m);
}
