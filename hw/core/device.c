/*
 * The device core: property parsing from the static tables, realize/reset/free
 * (include/vireo/device.h). Everything -device accepts comes from these tables.
 */
#include "vireo/device.h"
#include "vireo/machine.h"
#include "vireo/option.h"
#include <string.h>

const DeviceClass *device_class_find(const char *name)
{
    for (const DeviceClass *const *c = device_classes(); *c; c++)
        if (!strcmp((*c)->name, name))
            return *c;
    return NULL;
}

static const Property *prop_lookup(Device *dev, const char *name, GError **errp)
{
    const Property *p = props_find(dev->cls->props, name);
    if (!p)
        g_set_error(errp, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                    "Property '%s.%s' not found", dev->cls->name, name);
    return p;
}

bool device_set_node(Device *dev, const char *name, JsonNode *v, bool kv, GError **errp)
{
    if (!strcmp(name, "id")) {
        g_autofree char *id = NULL;
        if (!qv_str(v, NULL, "id", &id, errp) || !id_check("id", id, errp))
            return false;
        g_free(dev->id);
        dev->id = g_steal_pointer(&id);
        return true;
    }
    const Property *p = prop_lookup(dev, name, errp);
    return p && prop_set(p, dev, v, kv, dev->cls->name, errp);
}

bool device_set_prop(Device *dev, const char *name, const char *value, GError **errp)
{
    g_autoptr(JsonNode) n = json_node_init_string(json_node_alloc(), value);
    return device_set_node(dev, name, n, true, errp);
}

bool device_set_bool(Device *dev, const char *name, bool v, GError **errp)
{
    const Property *p = prop_lookup(dev, name, errp);
    return p && prop_set_bool(p, dev, v, dev->cls->name, errp);
}

bool device_set_int(Device *dev, const char *name, int64_t v, GError **errp)
{
    const Property *p = prop_lookup(dev, name, errp);
    return p && prop_set_int(p, dev, v, dev->cls->name, errp);
}

bool device_set_str(Device *dev, const char *name, const char *v, GError **errp)
{
    const Property *p = prop_lookup(dev, name, errp);
    return p && prop_set_str(p, dev, v, dev->cls->name, errp);
}

bool device_apply(Device *dev, JsonObject *o, bool kv, GError **errp)
{
    JsonObjectIter it;
    const char *key;
    JsonNode *val;
    json_object_iter_init(&it, o);
    while (json_object_iter_next(&it, &key, &val))
        if (strcmp(key, "driver") && !device_set_node(dev, key, val, kv, errp))
            return false;
    return true;
}

bool device_set_props(Device *dev, const char *opts, GError **errp)
{
    if (!opts)
        return true;
    g_autoptr(JsonObject) o = keyval_parse(opts, NULL, KEYVAL_FLAT | KEYVAL_SHORT_BOOLS,
                                           NULL, errp);
    return o && device_apply(dev, o, true, errp);
}

Device *device_new(Machine *m, const DeviceClass *cls)
{
    g_assert(cls->instance_size >= sizeof(Device));
    Device *dev = g_malloc0(cls->instance_size);
    dev->cls = cls;
    dev->machine = m;
    props_init(cls->props, dev, cls->name);
    if (cls->init)
        cls->init(dev);
    return dev;
}

bool device_realize(Device *dev, GError **errp)
{
    if (dev->realized)
        return true;
    if (dev->cls->realize && !dev->cls->realize(dev, errp))
        return false;
    dev->realized = true;
    device_reset(dev);
    return true;
}

void device_reset(Device *dev)
{
    if (dev->cls->reset)
        dev->cls->reset(dev);
}

void device_free(Device *dev)
{
    if (!dev)
        return;
    if (dev->realized && dev->cls->unrealize)
        dev->cls->unrealize(dev);
    props_free(dev->cls->props, dev);
    g_free(dev->id);
    g_free(dev);
}

void device_print_help(const DeviceClass *cls, GString *out)
{
    props_print_help(cls->props, cls->name, out);
}

void *device_state(Device *dev)
{
    return (uint8_t *)dev + dev->cls->state_offset;
}
