/*
 * User-creatable objects (include/vireo/object.h): -object and object-add parse to the
 * same JSON tree (util/ option layer); the class's property table takes the values,
 * then complete() makes the object real. Ids share QEMU's namespace /objects.
 */
#include "vireo/object.h"
#include "vireo/machine.h"
#include "vireo/option.h"
#include <string.h>

extern const ObjectClass secret_class, rng_backend_class, rng_random_class, iothread_class,
                         event_loop_base_class, secret_common_class;

static const ObjectClass *const all_objects[] = {
    &memory_backend_class, &memory_backend_ram_class, &memory_backend_memfd_class,
    &memory_backend_file_class, &secret_common_class, &secret_class, &rng_backend_class,
    &rng_random_class, &event_loop_base_class, &iothread_class, NULL,
};

const ObjectClass *const *object_classes(void) { return all_objects; }

const ObjectClass *object_class_find(const char *name)
{
    for (const ObjectClass *const *c = all_objects; *c; c++)
        if (name && !strcmp((*c)->type.name, name))
            return *c;
    return NULL;
}

const Property *object_class_find_prop(const ObjectClass *cls, const char *name)
{
    for (; cls; cls = cls->parent) {
        const Property *p = props_find(cls->type.props, name);
        if (p)
            return p;
    }
    return NULL;
}

static void props_init_chain(const ObjectClass *cls, Object *o)
{
    if (cls->parent)
        props_init_chain(cls->parent, o);
    props_init(cls->type.props, o, o->cls->type.name);
}

static void object_free(Object *o)
{
    if (!o)
        return;
    if (o->cls->finalize)
        o->cls->finalize(o);
    for (const ObjectClass *c = o->cls; c; c = c->parent)
        props_free(c->type.props, o);
    g_free(o->id);
    g_free(o);
}

Object *object_find(Machine *m, const char *id)
{
    for (guint i = 0; id && m->objects && i < m->objects->len; i++) {
        Object *o = m->objects->pdata[i];
        if (!strcmp(o->id, id))
            return o;
    }
    return NULL;
}

Object *object_find_typed(Machine *m, const char *id, const char *type, const char *what,
                          GError **errp)
{
    Object *o = object_find(m, id);
    if (!o)
        g_set_error(errp, G_IO_ERROR, G_IO_ERROR_NOT_FOUND,
                    "%s: no object with id '%s' (-object ...,id=%s)", what, id, id);
    else if (!qom_type_is_a(o->cls->type.name, type))
        g_set_error(errp, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                    "%s: object '%s' is a %s, not a %s", what, id, o->cls->type.name, type);
    else
        return o;
    return NULL;
}

/* QEMU's user_creatable_add_type(): the class must exist and be creatable. */
static const ObjectClass *class_for(const char *type, GError **errp)
{
    const ObjectClass *cls = object_class_find(type);
    if (cls && !cls->type.abstract)
        return cls;
    g_set_error(errp, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                "Parameter 'qom-type' does not accept value '%s'", type);
    return NULL;
}

static bool apply(Object *o, JsonObject *opts, bool kv, GError **errp)
{
    JsonObjectIter it;
    const char *key;
    JsonNode *val;
    json_object_iter_init(&it, opts);
    while (json_object_iter_next(&it, &key, &val)) {
        if (!strcmp(key, "qom-type") || !strcmp(key, "id"))
            continue;
        const Property *p = object_class_find_prop(o->cls, key);
        if (!p) {
            g_set_error(errp, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                        "Invalid parameter '%s'", key);
            return false;
        }
        if (!prop_set(p, o, val, kv, o->cls->type.name, errp))
            return false;
    }
    return true;
}

Object *object_create(Machine *m, JsonObject *opts, bool kv, GError **errp)
{
    const char *type = kv_get_str(opts, "qom-type");
    const char *id = kv_get_str(opts, "id");
    if (!type) {
        g_set_error(errp, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                    "Parameter 'qom-type' is missing");
        return NULL;
    }
    const ObjectClass *cls = class_for(type, errp);
    if (!cls)
        return NULL;
    if (!id) {
        g_set_error(errp, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                    "Parameter 'id' is missing");
        return NULL;
    }
    if (!id_check("id", id, errp))
        return NULL;
    if (object_find(m, id)) {
        g_set_error(errp, G_IO_ERROR, G_IO_ERROR_EXISTS, "Duplicate ID '%s' for object", id);
        return NULL;
    }
    Object *o = g_malloc0(cls->instance_size);
    o->cls = cls;
    o->m = m;
    o->id = g_strdup(id);
    props_init_chain(cls, o);
    if (cls->init)
        cls->init(o);
    if (!apply(o, opts, kv, errp) || (cls->complete && !cls->complete(o, errp))) {
        object_free(o);
        return NULL;
    }
    if (!m->objects)
        m->objects = g_ptr_array_new();
    g_ptr_array_add(m->objects, o);
    return o;
}

bool object_delete(Machine *m, const char *id, GError **errp)
{
    Object *o = object_find(m, id);
    if (!o) {
        g_set_error(errp, G_IO_ERROR, G_IO_ERROR_NOT_FOUND,
                    "object '%s' not found", id);
        return false;
    }
    if (o->used_by) {
        g_set_error(errp, G_IO_ERROR, G_IO_ERROR_BUSY,
                    "object '%s' is in use, can not be deleted", id);
        return false;
    }
    g_ptr_array_remove(m->objects, o);
    object_free(o);
    return true;
}

void objects_free(Machine *m)
{
    for (guint i = m->objects ? m->objects->len : 0; i-- > 0;)
        object_free(m->objects->pdata[i]);
    if (m->objects)
        g_ptr_array_free(m->objects, TRUE);
    m->objects = NULL;
}

void object_print_help(const char *type, GString *out)
{
    if (!type) {
        g_string_append(out, "List of user creatable objects:\n");
        for (const ObjectClass *const *c = all_objects; *c; c++)
            if (!(*c)->type.abstract)
                g_string_append_printf(out, "  %s\n", (*c)->type.name);
        return;
    }
    const ObjectClass *cls = object_class_find(type);
    g_string_append_printf(out, "%s options:\n", type);
    for (; cls; cls = cls->parent)
        props_print_entries(cls->type.props, out);
}
