/*
 * The QOM tree over QMP (qom-list, qom-get, qom-set) and the commands that change it
 * (object-add, object-del, device_add, device_del). Paths are QEMU's:
 *   /machine                       the board (type NAME-machine)
 *   /machine/peripheral/ID         devices added with an id (-device, device_add)
 *   /machine/peripheral-anon/device[N]   ... and without one
 *   /machine/unattached/device[N]  what the board made: the vCPUs first (device[0] is
 *                                  CPU 0, as on QEMU's pc), then its devices
 *   /objects/ID                    -object / object-add
 *   /chardevs/ID                   -chardev and the monitors' chardevs
 */
#include "qapi/monitor-int.h"
#include "qapi/qapi-generated.h"
#include "vireo/device.h"
#include "vireo/hotplug.h"
#include "vireo/kvm.h"
#include "vireo/migration.h"
#include "vireo/object.h"
#include "vireo/qom.h"
#include <stdio.h>
#include <string.h>

typedef enum { N_ROOT, N_CONTAINER, N_MACHINE, N_DEVICE, N_CPU, N_OBJECT, N_CHARDEV } Kind;

typedef struct Node {
    Kind kind;
    const char *container;          /* N_CONTAINER: "objects", "peripheral", ... */
    void *ptr;                      /* Device, Object, Chardev */
    unsigned cpu;                   /* N_CPU */
} Node;

typedef void ChildFn(const char *name, const char *type, const Node *child, void *opaque);

static void error_not_found(GError **errp, const char *path)
{
    g_set_error(errp, QMP_ERROR, QAPI_ERROR_CLASS_DEVICENOTFOUND, "Device '%s' not found",
                path);
}

/* The QOM type of a node's object. */
static const char *node_type(Machine *m, const Node *n)
{
    switch (n->kind) {
    case N_MACHINE: return m->cls ? m->cls->qom_type : "machine";
    case N_DEVICE: return ((Device *)n->ptr)->cls->name;
    case N_OBJECT: return ((Object *)n->ptr)->cls->type.name;
    case N_CPU: return NULL;
    case N_CHARDEV: return NULL;
    default: return "container";
    }
}

static char *cpu_type(Machine *m)
{
    g_autofree char *model = g_strndup(m->opts.cpu_model, strcspn(m->opts.cpu_model, ","));
    return g_strdup_printf("%s-x86_64-cpu", model);
}

static void container_children(Machine *m, const char *c, ChildFn *fn, void *opaque)
{
    char name[32];
    if (!strcmp(c, "objects")) {
        for (guint i = 0; m->objects && i < m->objects->len; i++) {
            Object *o = m->objects->pdata[i];
            Node n = { .kind = N_OBJECT, .ptr = o };
            g_autofree char *t = g_strdup_printf("child<%s>", o->cls->type.name);
            fn(o->id, t, &n, opaque);
        }
    } else if (!strcmp(c, "unattached")) {
        g_autofree char *ct = cpu_type(m);
        g_autofree char *cchild = g_strdup_printf("child<%s>", ct);
        for (unsigned i = 0; i < m->ncpus; i++) {
            Node n = { .kind = N_CPU, .cpu = i };
            snprintf(name, sizeof(name), "device[%u]", i);
            fn(name, cchild, &n, opaque);
        }
        unsigned k = m->ncpus;
        for (guint i = 0; i < m->devices->len; i++) {
            Device *d = m->devices->pdata[i];
            if (d->user_created)
                continue;
            Node n = { .kind = N_DEVICE, .ptr = d };
            snprintf(name, sizeof(name), "device[%u]", k++);
            g_autofree char *t = g_strdup_printf("child<%s>", d->cls->name);
            fn(name, t, &n, opaque);
        }
    } else if (!strcmp(c, "peripheral") || !strcmp(c, "peripheral-anon")) {
        bool anon = !strcmp(c, "peripheral-anon");
        unsigned k = 0;
        for (guint i = 0; i < m->devices->len; i++) {
            Device *d = m->devices->pdata[i];
            if (!d->user_created || !d->id != anon)
                continue;
            Node n = { .kind = N_DEVICE, .ptr = d };
            snprintf(name, sizeof(name), "device[%u]", k++);
            g_autofree char *t = g_strdup_printf("child<%s>", d->cls->name);
            fn(anon ? name : d->id, t, &n, opaque);
        }
    }
}

typedef struct ChrIter {
    ChildFn *fn;
    void *opaque;
} ChrIter;

static void chardev_child(Chardev *c, void *opaque)
{
    ChrIter *it = opaque;
    Node n = { .kind = N_CHARDEV, .ptr = c };
    g_autofree char *t = g_strdup_printf("child<chardev-%s>", chr_kind(c));
    it->fn(chr_id(c), t, &n, it->opaque);
}

static void children(Machine *m, const Node *n, ChildFn *fn, void *opaque)
{
    static const char *const machine_containers[] = { "peripheral", "peripheral-anon",
                                                       "unattached" };
    if (n->kind == N_ROOT) {
        Node mach = { .kind = N_MACHINE };
        g_autofree char *t = g_strdup_printf("child<%s>", node_type(m, &mach));
        fn("machine", t, &mach, opaque);
        Node objs = { .kind = N_CONTAINER, .container = "objects" };
        fn("objects", "child<container>", &objs, opaque);
        Node chrs = { .kind = N_CONTAINER, .container = "chardevs" };
        fn("chardevs", "child<container>", &chrs, opaque);
    } else if (n->kind == N_MACHINE) {
        for (size_t i = 0; i < G_N_ELEMENTS(machine_containers); i++) {
            Node c = { .kind = N_CONTAINER, .container = machine_containers[i] };
            fn(machine_containers[i], "child<container>", &c, opaque);
        }
    } else if (n->kind == N_CONTAINER && !strcmp(n->container, "chardevs")) {
        ChrIter it = { fn, opaque };
        if (m->chardevs)
            chr_registry_foreach(m->chardevs, chardev_child, &it);
    } else if (n->kind == N_CONTAINER) {
        container_children(m, n->container, fn, opaque);
    }
}

typedef struct Find {
    const char *name;
    Node found;
    bool ok;
} Find;

static void find_child(const char *name, const char *type, const Node *child, void *opaque)
{
    Find *f = opaque;
    if (!f->ok && !strcmp(name, f->name)) {
        f->found = *child;
        f->ok = true;
    }
}

/* Resolves an absolute path ("/machine/peripheral/net0"). */
static bool resolve(Machine *m, const char *path, Node *out, GError **errp)
{
    Node n = { .kind = N_ROOT };
    if (!path || path[0] != '/') {
        error_not_found(errp, path ? path : "");
        return false;
    }
    g_auto(GStrv) parts = g_strsplit(path + 1, "/", -1);
    for (char **p = parts; *p; p++) {
        if (!**p)
            continue;
        Find f = { .name = *p };
        children(m, &n, find_child, &f);
        if (!f.ok) {
            error_not_found(errp, path);
            return false;
        }
        n = f.found;
    }
    *out = n;
    return true;
}

/* ---- properties of a node ---------------------------------------------------------- */

typedef struct ListCtx {
    GPtrArray *out;
    bool object;                    /* not a device: QOM object type names */
} ListCtx;

static void list_add(ListCtx *c, const char *name, const char *type)
{
    ObjectPropertyInfo *i = g_new0(ObjectPropertyInfo, 1);
    i->name = g_strdup(name);
    i->type = g_strdup(type);
    g_ptr_array_add(c->out, i);
}

static void list_child(const char *name, const char *type, const Node *child, void *opaque)
{
    list_add(opaque, name, type);
}

static void list_prop(const Property *p, void *opaque)
{
    ListCtx *c = opaque;
    g_autofree char *t = c->object ? prop_qom_object_type(p) : prop_qom_type(p);
    list_add(c, p->name, t);
}

static void list_feature(const char *name, void *opaque)
{
    list_add(opaque, name, "bool");
}

/* The property table chain behind a node and the struct it reads (NULL: none). */
static void *node_props(Machine *m, const Node *n, const char **type)
{
    *type = NULL;
    switch (n->kind) {
    case N_MACHINE: *type = node_type(m, n); return &m->opts;
    case N_DEVICE: *type = node_type(m, n); return n->ptr;
    case N_OBJECT: *type = node_type(m, n); return n->ptr;
    default: return NULL;
    }
}

GPtrArray *qmp_qom_list(Machine *m, const char *path, GError **errp)
{
    Node n;
    if (!resolve(m, path, &n, errp))
        return NULL;
    ListCtx c = { g_ptr_array_new_with_free_func((GDestroyNotify)qapi_free_ObjectPropertyInfo) };
    const char *type;
    list_add(&c, "type", "string");
    if (n.kind == N_DEVICE || n.kind == N_CPU) {
        list_add(&c, "parent_bus", "link<bus>");
        list_add(&c, "realized", "bool");
        list_add(&c, "hotplugged", "bool");
        list_add(&c, "hotpluggable", "bool");
    }
    if (n.kind == N_CPU) {
        static const char *const ints[] = { "apic-id", "socket-id", "die-id", "core-id",
                                            "thread-id" };
        for (size_t i = 0; i < G_N_ELEMENTS(ints); i++)
            list_add(&c, ints[i], "int32");
        list_add(&c, "filtered-features", "strList");
        list_add(&c, "unavailable-features", "strList");
        x86_cpu_feature_names(list_feature, &c);
    }
    c.object = n.kind != N_DEVICE;
    if (node_props(m, &n, &type))
        qom_type_foreach_prop(type, list_prop, &c);
    children(m, &n, list_child, &c);
    return c.out;
}

typedef struct Feat {
    const char *want;
    int on;                          /* -1 unknown */
    GPtrArray *missing;
} Feat;

static void feat_value(const char *name, bool on, void *opaque)
{
    Feat *f = opaque;
    if (f->want && !strcmp(name, f->want))
        f->on = on;
}

static void feat_missing(const char *name, void *opaque)
{
    Feat *f = opaque;
    if (f->missing)
        g_ptr_array_add(f->missing, (gpointer)name);
}

/* A vCPU's property: its ids, and its features as KVM gave them (the CPUID its -cpu
 * string built). */
static JsonNode *cpu_get(Machine *m, unsigned i, const char *prop, GError **errp)
{
    X86Topology t = machine_topology(&m->opts);
    TopoIds ids;
    x86_topo_ids(&t, i, &ids);
    const struct { const char *name; int64_t v; } ints[] = {
        { "apic-id", m->apic_ids[i] }, { "socket-id", ids.socket_id },
        { "die-id", ids.die_id }, { "core-id", ids.core_id }, { "thread-id", ids.thread_id },
    };
    for (size_t k = 0; k < G_N_ELEMENTS(ints); k++)
        if (!strcmp(prop, ints[k].name))
            return json_node_init_int(json_node_alloc(), ints[k].v);
    if (!strcmp(prop, "type")) {
        g_autofree char *ct = cpu_type(m);
        return json_node_init_string(json_node_alloc(), ct);
    }
    if (!strcmp(prop, "realized") || !strcmp(prop, "hotpluggable"))
        return json_node_init_boolean(json_node_alloc(), true);
    if (!strcmp(prop, "hotplugged"))
        return json_node_init_boolean(json_node_alloc(), false);
    bool list = !strcmp(prop, "filtered-features") || !strcmp(prop, "unavailable-features");
    g_autoptr(GPtrArray) missing = list ? g_ptr_array_new() : NULL;
    Feat f = { .want = list ? NULL : prop, .on = -1, .missing = missing };
    if (m->kvm && !x86_cpu_expand(kvm_supported_cpuid(m->kvm), m->opts.cpu_model, feat_value,
                                  feat_missing, &f, NULL))
        f.on = -1;
    if (list) {
        JsonArray *a = json_array_new();
        for (guint k = 0; k < missing->len; k++)
            json_array_add_string_element(a, missing->pdata[k]);
        return json_node_init_array(json_node_alloc(), a);
    }
    if (f.on < 0) {
        g_set_error(errp, QMP_ERROR, QAPI_ERROR_CLASS_GENERICERROR,
                    "Property '%s' not found", prop);
        return NULL;
    }
    return json_node_init_boolean(json_node_alloc(), f.on);
}

typedef struct GetCtx {
    const char *name;
    const Property *found;
} GetCtx;

static void find_prop(const Property *p, void *opaque)
{
    GetCtx *g = opaque;
    if (!g->found && !strcmp(p->name, g->name))
        g->found = p;
}

static const Property *node_prop(Machine *m, const Node *n, const char *name, void **obj)
{
    const char *type;
    *obj = node_props(m, n, &type);
    GetCtx g = { .name = name };
    if (*obj)
        qom_type_foreach_prop(type, find_prop, &g);
    return g.found;
}

JsonNode *qmp_qom_get(Machine *m, const char *path, const char *property, GError **errp)
{
    Node n;
    void *obj;
    if (!resolve(m, path, &n, errp))
        return NULL;
    if (n.kind == N_CPU)
        return cpu_get(m, n.cpu, property, errp);
    if (!strcmp(property, "type")) {
        const char *t = node_type(m, &n);
        if (n.kind == N_CHARDEV)
            return json_node_init_string(json_node_alloc(), chr_kind(n.ptr));
        return json_node_init_string(json_node_alloc(), t);
    }
    if (n.kind == N_DEVICE) {
        Device *d = n.ptr;
        if (!strcmp(property, "realized"))
            return json_node_init_boolean(json_node_alloc(), d->realized);
        if (!strcmp(property, "hotplugged"))
            return json_node_init_boolean(json_node_alloc(), d->hotplugged);
        if (!strcmp(property, "hotpluggable"))
            return json_node_init_boolean(json_node_alloc(), d->cls->user_creatable);
    }
    const Property *p = node_prop(m, &n, property, &obj);
    if (!p) {
        g_set_error(errp, QMP_ERROR, QAPI_ERROR_CLASS_GENERICERROR,
                    "Property '%s' not found", property);
        return NULL;
    }
    JsonNode *v = prop_get(p, obj);
    return v ? v : json_node_init_null(json_node_alloc());
}

/* Properties are set when an object is made; QEMU too refuses changing a realized
 * device's. Vireo changes nothing afterwards. */
void qmp_qom_set(Machine *m, const char *path, const char *property, JsonNode *value,
                 GError **errp)
{
    Node n;
    void *obj;
    if (!resolve(m, path, &n, errp))
        return;
    if (n.kind != N_CPU && !node_prop(m, &n, property, &obj)) {
        g_set_error(errp, QMP_ERROR, QAPI_ERROR_CLASS_GENERICERROR,
                    "Property '%s' not found", property);
        return;
    }
    if (n.kind == N_DEVICE || n.kind == N_CPU) {
        Device *d = n.kind == N_DEVICE ? n.ptr : NULL;
        g_set_error(errp, QMP_ERROR, QAPI_ERROR_CLASS_GENERICERROR,
                    "Attempt to set property '%s' on device '%s' (type '%s') after it was "
                    "realized", property, d && d->id ? d->id : "<anon>",
                    d ? d->cls->name : "cpu");
        return;
    }
    g_set_error(errp, QMP_ERROR, QAPI_ERROR_CLASS_GENERICERROR,
                "Property '%s' of '%s' cannot be changed after creation in Vireo",
                property, path);
}

/* ---- object-add / object-del --------------------------------------------------------- */

static void qmp_error_from(GError **errp, GError *err)
{
    g_set_error_literal(errp, QMP_ERROR, QAPI_ERROR_CLASS_GENERICERROR, err->message);
    g_error_free(err);
}

bool qmp_object_add(QmpCtx *c, JsonObject *args, GString *ret, GError **errp)
{
    GError *err = NULL;
    if (!object_create(c->m, args, false, &err)) {
        qmp_error_from(errp, err);
        return false;
    }
    g_string_append(ret, "{}");
    return true;
}

void qmp_object_del(Machine *m, const char *id, GError **errp)
{
    GError *err = NULL;
    if (!object_delete(m, id, &err))
        qmp_error_from(errp, err);
}

/* ---- device_add / device_del ------------------------------------------------------ */

bool qmp_device_add(QmpCtx *c, JsonObject *args, GString *ret, GError **errp)
{
    GError *err = NULL;
    if (migration_is_active(c->m)) {               /* QEMU's check and words */
        g_set_error_literal(errp, QMP_ERROR, QAPI_ERROR_CLASS_GENERICERROR,
                            "device_add not allowed while migrating");
        return false;
    }
    if (!machine_hotplug_device(c->m, args, &err)) {
        qmp_error_from(errp, err);
        return false;
    }
    g_string_append(ret, "{}");
    return true;
}

void qmp_device_del(Machine *m, const char *id, GError **errp)
{
    GError *err = NULL;
    Device *d = machine_find_device(m, id);
    if (!d || !d->user_created) {
        error_not_found(errp, id);
        return;
    }
    if (migration_is_active(m)) {
        g_set_error_literal(errp, QMP_ERROR, QAPI_ERROR_CLASS_GENERICERROR,
                            "device_del not allowed while migrating");
        return;
    }
    if (!machine_unplug_device(m, d, &err))
        qmp_error_from(errp, err);
}
