/*
 * Type and capability introspection over QMP, answered from the tables the command
 * line uses (include/vireo/qom.h, object.h, props.h, cpu.h), in QEMU 7.2's shapes:
 * qom-list-types, qom-list-properties, device-list-properties, query-cpu-definitions,
 * query-cpu-model-expansion, query-sev/sgx-capabilities, query-iothreads
 * (query-migrate-capabilities is migration/qmp.c's).
 */
#include "qapi/monitor-int.h"
#include "qapi/qapi-generated.h"
#include "vireo/cmdline.h"
#include "vireo/iothread.h"
#include "vireo/kvm.h"
#include "vireo/object.h"
#include "vireo/qom.h"
#include <string.h>

static void set_err(GError **errp, QapiErrorClass cls, const char *fmt, const char *arg)
{
    g_set_error(errp, QMP_ERROR, cls, fmt, arg);
}

/* ---- qom-list-types ------------------------------------------------------------ */

typedef struct TypesCtx {
    GPtrArray *out;
    const char *implements;
    bool abstract;
} TypesCtx;

static void add_type(const QomType *t, void *opaque)
{
    TypesCtx *c = opaque;
    if ((t->abstract && !c->abstract) ||
        (c->implements && !qom_type_is_a(t->name, c->implements)))
        return;
    ObjectTypeInfo *i = g_new0(ObjectTypeInfo, 1);
    i->name = g_strdup(t->name);
    i->parent = g_strdup(t->parent);
    i->has_abstract = t->abstract;      /* QEMU reports "abstract" only when true */
    i->abstract = t->abstract;
    g_ptr_array_add(c->out, i);
}

GPtrArray *qmp_qom_list_types(Machine *m, const char *implements, bool has_abstract,
                              bool abstract, GError **errp)
{
    TypesCtx c = { .out = g_ptr_array_new_with_free_func(
                       (GDestroyNotify)qapi_free_ObjectTypeInfo),
                   .implements = implements, .abstract = has_abstract && abstract };
    qom_types_foreach(add_type, &c);
    return c.out;
}

/* ---- properties of a type ------------------------------------------------------ */

typedef struct PropsCtx {
    GPtrArray *out;
    bool object;                 /* not a device: QOM object type names */
    GHashTable *seen;            /* a subclass's redefinition hides the parent's */
    const DeviceClass *dev;      /* for default values (device-list-properties) */
    void *instance;              /* a default-initialized instance of the type */
} PropsCtx;

static ObjectPropertyInfo *prop_info(const char *name, const char *type, const char *desc)
{
    ObjectPropertyInfo *i = g_new0(ObjectPropertyInfo, 1);
    i->name = g_strdup(name);
    i->type = g_strdup(type);
    i->description = g_strdup(desc);
    return i;
}

static void add_prop(const Property *p, void *opaque)
{
    PropsCtx *c = opaque;
    /* A device's bus= (IDE's ide.N) is -device's option in QEMU, not a property. */
    if (g_hash_table_contains(c->seen, p->name) || (!c->object && !strcmp(p->name, "bus")))
        return;
    g_hash_table_add(c->seen, (gpointer)p->name);
    g_autofree char *type = c->object ? prop_qom_object_type(p) : prop_qom_type(p);
    ObjectPropertyInfo *i = prop_info(p->name, type, p->help);
    /* QEMU reports a default for every qdev property that has one (-1 for addr). */
    if (c->instance && (p->defval || p->type == PROP_PCI_DEVFN))
        i->default_value = prop_get(p, c->instance);
    g_ptr_array_add(c->out, i);
}

static void add_named(PropsCtx *c, const char *name, const char *type)
{
    if (g_hash_table_contains(c->seen, name))
        return;
    g_hash_table_add(c->seen, (gpointer)name);
    g_ptr_array_add(c->out, prop_info(name, type, NULL));
}

static void add_feature(const char *name, void *opaque)
{
    add_named(opaque, name, "bool");
}

static GPtrArray *props_new(PropsCtx *c)
{
    c->out = g_ptr_array_new_with_free_func((GDestroyNotify)qapi_free_ObjectPropertyInfo);
    c->seen = g_hash_table_new(g_str_hash, g_str_equal);
    return c->out;
}

static void props_done(PropsCtx *c)
{
    g_hash_table_destroy(c->seen);
    if (c->instance) {
        for (const DeviceClass *d = c->dev; d; d = device_class_parent(d))
            props_free(d->props, c->instance);
        g_free(c->instance);
    }
}

/* The properties every device has besides its table (QEMU's DeviceState). */
static void add_device_base(PropsCtx *c)
{
    add_named(c, "parent_bus", "link<bus>");
    add_named(c, "realized", "bool");
    add_named(c, "hotplugged", "bool");
    add_named(c, "hotpluggable", "bool");
}

GPtrArray *qmp_qom_list_properties(Machine *m, const char *typename, GError **errp)
{
    QomType t;
    if (!qom_type_lookup(typename, &t)) {
        set_err(errp, QAPI_ERROR_CLASS_GENERICERROR, "Class '%s' not found", typename);
        return NULL;
    }
    PropsCtx c = { .object = !qom_type_is_a(typename, "device") };
    GPtrArray *out = props_new(&c);
    add_named(&c, "type", "string");
    if (!c.object)
        add_device_base(&c);
    qom_type_foreach_prop(typename, add_prop, &c);
    if (qom_type_is_a(typename, "x86_64-cpu")) {
        add_named(&c, "migratable", "bool");
        x86_cpu_feature_names(add_feature, &c);
    }
    props_done(&c);
    return out;
}

GPtrArray *qmp_device_list_properties(Machine *m, const char *typename, GError **errp)
{
    QomType t;
    if (!qom_type_lookup(typename, &t)) {
        set_err(errp, QAPI_ERROR_CLASS_DEVICENOTFOUND, "Device '%s' not found", typename);
        return NULL;
    }
    if (!t.dev) {
        set_err(errp, QAPI_ERROR_CLASS_GENERICERROR,
                "Parameter 'typename' expects %s", "a device type");
        return NULL;
    }
    if (t.abstract) {
        set_err(errp, QAPI_ERROR_CLASS_GENERICERROR,
                "Parameter 'typename' expects %s", "a non-abstract device type");
        return NULL;
    }
    PropsCtx c = { .dev = t.dev };
    GPtrArray *out = props_new(&c);
    /* An instance holding the defaults, never realized: what -device would start from. */
    c.instance = g_malloc0(t.dev->instance_size);
    const DeviceClass *chain[16];
    unsigned n = 0;
    for (const DeviceClass *d = t.dev; d && n < G_N_ELEMENTS(chain); d = device_class_parent(d))
        chain[n++] = d;
    for (unsigned i = n; i-- > 0;)
        props_init(chain[i]->props, c.instance, typename);
    while (n-- > 0)                     /* the root's first, as QEMU lists them */
        for (const Property *p = chain[n]->props; p && p->name; p++)
            add_prop(p, &c);
    props_done(&c);
    return out;
}

/* ---- CPU models --------------------------------------------------------------- */

typedef struct DefsCtx {
    Machine *m;
    GPtrArray *out;
    GPtrArray *missing;
} DefsCtx;

static void add_missing(const char *name, void *opaque)
{
    g_ptr_array_add(opaque, g_strdup(name));
}

static void add_def(const X86CpuModelDef *d, void *opaque)
{
    DefsCtx *c = opaque;
    CpuDefinitionInfo *i = g_new0(CpuDefinitionInfo, 1);
    i->name = g_strdup(d->name);
    i->typename = g_strdup(d->qom_type);
    i->has_migration_safe = true;
    i->migration_safe = !d->host;
    i->q_static = false;
    i->deprecated = false;
    /* What KVM cannot give the model (without KVM nothing is known: omitted). */
    if (c->m->kvm) {
        i->unavailable_features = g_ptr_array_new_with_free_func(g_free);
        x86_cpu_expand(kvm_supported_cpuid(c->m->kvm), d->name, NULL, add_missing,
                       i->unavailable_features, NULL);
    }
    g_ptr_array_add(c->out, i);
}

GPtrArray *qmp_query_cpu_definitions(Machine *m, GError **errp)
{
    DefsCtx c = { .m = m, .out = g_ptr_array_new_with_free_func(
                                     (GDestroyNotify)qapi_free_CpuDefinitionInfo) };
    x86_cpu_models_foreach(add_def, &c);
    return c.out;
}

static void expand_prop(const char *name, bool on, void *opaque)
{
    json_object_set_boolean_member(opaque, name, on);
}

/* The -cpu string for @model: its name and each property as name=value. */
static char *cpu_string(CpuModelInfo *model, GError **errp)
{
    g_autoptr(GString) s = g_string_new(model->name);
    if (!model->props)
        return g_string_free(g_steal_pointer(&s), FALSE);
    if (!JSON_NODE_HOLDS_OBJECT(model->props)) {
        set_err(errp, QAPI_ERROR_CLASS_GENERICERROR,
                "Invalid parameter type for 'model.props', expected: %s", "dict");
        return NULL;
    }
    JsonObjectIter it;
    const char *k;
    JsonNode *v;
    json_object_iter_init(&it, json_node_get_object(model->props));
    while (json_object_iter_next(&it, &k, &v)) {
        if (!JSON_NODE_HOLDS_VALUE(v) || json_node_get_value_type(v) != G_TYPE_BOOLEAN ||
            strchr(k, ',')) {
            set_err(errp, QAPI_ERROR_CLASS_GENERICERROR,
                    "Property '%s' of the CPU model: Vireo takes only feature on/off "
                    "properties and 'migratable'", k);
            return NULL;
        }
        g_string_append_printf(s, ",%s=%s", k, json_node_get_boolean(v) ? "on" : "off");
    }
    return g_string_free(g_steal_pointer(&s), FALSE);
}

/* static: QEMU's answer is the "base" model plus every feature on or off; full: the
 * model itself with the same feature list. Both need KVM's supported CPUID. */
CpuModelExpansionInfo *qmp_query_cpu_model_expansion(Machine *m, CpuModelExpansionType type,
                                                     CpuModelInfo *model, GError **errp)
{
    if (!m->kvm) {
        set_err(errp, QAPI_ERROR_CLASS_GENERICERROR, "%s",
                "CPU model expansion needs the KVM accelerator (this machine runs with "
                "none)");
        return NULL;
    }
    g_autofree char *str = cpu_string(model, errp);
    if (!str)
        return NULL;
    JsonObject *props = json_object_new();
    GError *err = NULL;
    if (!x86_cpu_expand(kvm_supported_cpuid(m->kvm), str, expand_prop, NULL, props, &err)) {
        json_object_unref(props);
        set_err(errp, QAPI_ERROR_CLASS_GENERICERROR, "%s", err->message);
        g_error_free(err);
        return NULL;
    }
    CpuModelExpansionInfo *info = g_new0(CpuModelExpansionInfo, 1);
    info->model = g_new0(CpuModelInfo, 1);
    info->model->name = g_strdup(type == CPU_MODEL_EXPANSION_TYPE_STATIC ? "base"
                                                                         : model->name);
    info->model->props = json_node_init_object(json_node_alloc(), props);
    json_object_unref(props);
    return info;
}

/* ---- what Vireo does not have, answered as QEMU does without it ---------------- */

SevCapability *qmp_query_sev_capabilities(Machine *m, GError **errp)
{
    set_err(errp, QAPI_ERROR_CLASS_GENERICERROR, "%s",
            m->kvm ? "SEV is not enabled in KVM" : "KVM not enabled");
    return NULL;
}

SgxInfo *qmp_query_sgx_capabilities(Machine *m, GError **errp)
{
    set_err(errp, QAPI_ERROR_CLASS_GENERICERROR, "%s", "SGX is not enabled in KVM");
    return NULL;
}

/* ---- I/O threads ---------------------------------------------------------------- */

GPtrArray *qmp_query_iothreads(Machine *m, GError **errp)
{
    GPtrArray *a = g_ptr_array_new_with_free_func((GDestroyNotify)qapi_free_IOThreadInfo);
    for (guint i = 0; m->objects && i < m->objects->len; i++) {
        Object *o = m->objects->pdata[i];
        if (strcmp(o->cls->type.name, "iothread"))
            continue;
        IoThreadInfo t;
        iothread_info(o, &t);
        IOThreadInfo *info = g_new0(IOThreadInfo, 1);
        *info = (IOThreadInfo){ .id = g_strdup(t.id), .thread_id = t.thread_id,
                                .poll_max_ns = t.poll_max_ns, .poll_grow = t.poll_grow,
                                .poll_shrink = t.poll_shrink,
                                .aio_max_batch = t.aio_max_batch };
        g_ptr_array_add(a, info);
    }
    return a;
}

/* ---- query-command-line-options ---------------------------------------------------- */

typedef struct OptsCtx {
    GPtrArray *out;
    const char *only;
} OptsCtx;

static void add_group(const char *group, const CmdParam *params, unsigned n, void *opaque)
{
    OptsCtx *c = opaque;
    if (c->only && strcmp(c->only, group))
        return;
    CommandLineOptionInfo *i = g_new0(CommandLineOptionInfo, 1);
    i->option = g_strdup(group);
    i->parameters = g_ptr_array_new_with_free_func(
        (GDestroyNotify)qapi_free_CommandLineParameterInfo);
    for (unsigned k = 0; k < n; k++) {
        CommandLineParameterInfo *p = g_new0(CommandLineParameterInfo, 1);
        p->name = g_strdup(params[k].name);
        p->type = (CommandLineParameterType)params[k].type;
        p->help = g_strdup(params[k].help);
        p->q_default = g_strdup(params[k].def);
        g_ptr_array_add(i->parameters, p);
    }
    g_ptr_array_add(c->out, i);
}

GPtrArray *qmp_query_command_line_options(Machine *m, const char *option, GError **errp)
{
    OptsCtx c = { .out = g_ptr_array_new_with_free_func(
                      (GDestroyNotify)qapi_free_CommandLineOptionInfo), .only = option };
    cmdline_groups_foreach(add_group, &c);
    if (option && !c.out->len) {
        g_ptr_array_unref(c.out);
        g_set_error(errp, QMP_ERROR, QAPI_ERROR_CLASS_GENERICERROR,
                    "invalid option name: %s", option);
        return NULL;
    }
    return c.out;
}
