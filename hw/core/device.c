/*
 * The device core: property parsing from the static tables, realize/reset/free
 * (include/vireo/device.h). Everything -device accepts comes from these tables.
 */
#include "vireo/device.h"
#include "vireo/machine.h"
#include <errno.h>
#include <stdlib.h>
#include <string.h>

static const char *const prop_type_names[] = {
    [PROP_BOOL] = "bool", [PROP_U8] = "uint8", [PROP_U16] = "uint16",
    [PROP_U32] = "uint32", [PROP_U64] = "uint64", [PROP_SIZE] = "size",
    [PROP_STR] = "str", [PROP_CHARDEV] = "chardev",
};

const DeviceClass *device_class_find(const char *name)
{
    for (const DeviceClass *const *c = device_classes(); *c; c++)
        if (!strcmp((*c)->name, name))
            return *c;
    return NULL;
}

static const Property *prop_find(const DeviceClass *cls, const char *name)
{
    for (const Property *p = cls->props; p && p->name; p++)
        if (!strcmp(p->name, name))
            return p;
    return NULL;
}

/* Parses an unsigned number (decimal, 0x hex, 0 octal); with @suffixes, k/M/G/T/P/E
 * multiply by powers of 1024 as QEMU's size properties do. */
bool parse_uint_suffix(const char *s, uint64_t *out, bool suffixes)
{
    char *end;
    if (!s || !*s || *s == '-')
        return false;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 0);
    if (errno || end == s)
        return false;
    if (suffixes && *end) {
        static const char units[] = "kmgtpe";
        const char *u = strchr(units, g_ascii_tolower(*end));
        if (!u || (end[1] != '\0' && end[1] != 'B' && end[1] != 'b'))
            return false;
        if (end[1] && end[2])
            return false;
        unsigned shift = 10 * (unsigned)(u - units + 1);
        if (v > (~0ULL >> shift))
            return false;
        v <<= shift;
        end += strlen(end);
    }
    if (*end)
        return false;
    *out = v;
    return true;
}

bool parse_bool(const char *s, bool *out)
{
    if (!strcmp(s, "on") || !strcmp(s, "yes") || !strcmp(s, "true") || !strcmp(s, "1")) {
        *out = true;
        return true;
    }
    if (!strcmp(s, "off") || !strcmp(s, "no") || !strcmp(s, "false") || !strcmp(s, "0")) {
        *out = false;
        return true;
    }
    return false;
}

static bool prop_set(Device *dev, const Property *p, const char *val, GError **errp)
{
    void *ptr = (uint8_t *)dev + p->offset;
    uint64_t v = 0;
    bool b;
    static const uint64_t max[] = { [PROP_U8] = 0xff, [PROP_U16] = 0xffff,
                                    [PROP_U32] = 0xffffffffu };
    switch (p->type) {
    case PROP_BOOL:
        if (!parse_bool(val, &b))
            goto bad;
        *(bool *)ptr = b;
        return true;
    case PROP_U8: case PROP_U16: case PROP_U32: case PROP_U64: case PROP_SIZE:
        if (!parse_uint_suffix(val, &v, p->type == PROP_SIZE))
            goto bad;
        if (p->type != PROP_U64 && p->type != PROP_SIZE && v > max[p->type])
            goto bad;
        switch (p->type) {
        case PROP_U8: *(uint8_t *)ptr = v; break;
        case PROP_U16: *(uint16_t *)ptr = v; break;
        case PROP_U32: *(uint32_t *)ptr = v; break;
        default: *(uint64_t *)ptr = v; break;
        }
        return true;
    case PROP_STR: case PROP_CHARDEV:
        g_free(*(char **)ptr);
        *(char **)ptr = g_strdup(val);
        return true;
    }
bad:
    g_set_error(errp, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                "Property '%s.%s' doesn't take value '%s' (expects %s)",
                dev->cls->name, p->name, val, prop_type_names[p->type]);
    return false;
}

bool device_set_prop(Device *dev, const char *name, const char *value, GError **errp)
{
    if (!strcmp(name, "id")) {
        g_free(dev->id);
        dev->id = g_strdup(value);
        return true;
    }
    const Property *p = prop_find(dev->cls, name);
    if (!p) {
        g_set_error(errp, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                    "Property '%s.%s' not found", dev->cls->name, name);
        return false;
    }
    return prop_set(dev, p, value, errp);
}

/* Splits "a=1,b=x,,y" into key/value pairs (",," is a literal comma). */
GPtrArray *opts_split(const char *s)
{
    GPtrArray *parts = g_ptr_array_new_with_free_func(g_free);
    GString *cur = g_string_new(NULL);
    for (const char *p = s; ; p++) {
        if (*p == ',' && p[1] == ',') {
            g_string_append_c(cur, ',');
            p++;
        } else if (*p == ',' || *p == '\0') {
            if (cur->len)
                g_ptr_array_add(parts, g_strdup(cur->str));
            g_string_truncate(cur, 0);
            if (!*p)
                break;
        } else {
            g_string_append_c(cur, *p);
        }
    }
    g_string_free(cur, TRUE);
    return parts;
}

bool device_set_props(Device *dev, const char *opts, GError **errp)
{
    if (!opts)
        return true;
    g_autoptr(GPtrArray) parts = opts_split(opts);
    for (guint i = 0; i < parts->len; i++) {
        char *kv = parts->pdata[i];
        char *eq = strchr(kv, '=');
        if (!eq) {
            /* QEMU takes a bare "flag" as flag=on for booleans. */
            const Property *p = prop_find(dev->cls, kv);
            if (p && p->type == PROP_BOOL) {
                *(bool *)((uint8_t *)dev + p->offset) = true;
                continue;
            }
            g_set_error(errp, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                        "-device %s: expected 'property=value', got '%s'", dev->cls->name, kv);
            return false;
        }
        *eq = '\0';
        if (!device_set_prop(dev, kv, eq + 1, errp))
            return false;
    }
    return true;
}

Device *device_new(Machine *m, const DeviceClass *cls)
{
    g_assert(cls->instance_size >= sizeof(Device));
    Device *dev = g_malloc0(cls->instance_size);
    dev->cls = cls;
    dev->machine = m;
    for (const Property *p = cls->props; p && p->name; p++)
        if (p->defval && !prop_set(dev, p, p->defval, NULL))
            g_error("device %s: bad default for property %s", cls->name, p->name);
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
    for (const Property *p = dev->cls->props; p && p->name; p++)
        if (p->type == PROP_STR || p->type == PROP_CHARDEV)
            g_free(*(char **)((uint8_t *)dev + p->offset));
    g_free(dev->id);
    g_free(dev);
}

void device_print_help(const DeviceClass *cls, GString *out)
{
    g_string_append_printf(out, "%s options:\n", cls->name);
    for (const Property *p = cls->props; p && p->name; p++) {
        g_autofree char *left = g_strdup_printf("  %s=<%s>", p->name, prop_type_names[p->type]);
        g_string_append_printf(out, "%-24s - %s", left, p->help ? p->help : "");
        if (p->defval)
            g_string_append_printf(out, " (default: %s)", p->defval);
        g_string_append_c(out, '\n');
    }
    if (!cls->props || !cls->props->name)
        g_string_append(out, "  (no properties)\n");
}

void *device_state(Device *dev)
{
    return (uint8_t *)dev + dev->cls->state_offset;
}
