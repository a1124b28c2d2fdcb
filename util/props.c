/*
 * Property tables (include/vireo/props.h): typed fields set from keyval text, JSON or C,
 * with QEMU's parsing rules (util/qvalue.c) and error texts.
 */
#include "vireo/props.h"
#include "vireo/option.h"
#include <string.h>

const char *const on_off_auto_names[] = { "auto", "on", "off", NULL };

static const char *const type_names[] = {
    [PROP_BOOL] = "bool", [PROP_U8] = "uint8", [PROP_U16] = "uint16",
    [PROP_U32] = "uint32", [PROP_U64] = "uint64", [PROP_I32] = "int32",
    [PROP_I64] = "int64", [PROP_SIZE] = "size", [PROP_STR] = "str",
    [PROP_CHARDEV] = "str", [PROP_DRIVE] = "str", [PROP_NETDEV] = "str",
    [PROP_LINK] = "link", [PROP_ENUM] = "enum", [PROP_MACADDR] = "str",
    [PROP_PCI_DEVFN] = "int32",
};

const char *prop_type_name(const Property *p)
{
    if (p->type == PROP_ENUM && p->enum_names == on_off_auto_names)
        return "OnOffAuto";
    if (p->type == PROP_ENUM && p->link_type)
        return p->link_type;            /* PROP_ENUMT_: the QAPI enum's name */
    return type_names[p->type];
}

char *prop_qom_type(const Property *p)
{
    if (p->type == PROP_LINK)
        return g_strdup_printf("link<%s>", p->link_type ? p->link_type : "object");
    return g_strdup(prop_type_name(p));
}

char *prop_qom_object_type(const Property *p)
{
    switch (p->type) {
    case PROP_BOOL: return g_strdup("bool");
    case PROP_STR: case PROP_CHARDEV: case PROP_DRIVE: case PROP_NETDEV: case PROP_MACADDR:
        return g_strdup("string");
    case PROP_LINK: return prop_qom_type(p);
    case PROP_ENUM:
        if (p->link_type)
            return g_strdup(p->link_type);
        if (p->enum_names == on_off_auto_names)
            return g_strdup("OnOffAuto");
        return g_strjoinv("|", (char **)p->enum_names);
    default: return g_strdup("int");
    }
}

const Property *props_find(const Property *table, const char *name)
{
    for (const Property *p = table; p && p->name; p++)
        if (!strcmp(p->name, name))
            return p;
    return NULL;
}

static void *field(const Property *p, const void *obj)
{
    return (uint8_t *)obj + p->offset;
}

static bool bad_value(const Property *p, const char *owner, const char *text, GError **errp)
{
    g_set_error(errp, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                "Property '%s.%s' doesn't take value '%s'", owner, p->name, text);
    return false;
}

static bool parse_mac(const char *s, uint8_t mac[6])
{
    for (int i = 0; i < 6; i++) {
        if (!g_ascii_isxdigit(s[0]) || !g_ascii_isxdigit(s[1]))
            return false;
        mac[i] = g_ascii_xdigit_value(s[0]) << 4 | g_ascii_xdigit_value(s[1]);
        s += 2;
        if (i < 5 && *s != ':' && *s != '-')
            return false;
        if (i < 5)
            s++;
    }
    return *s == '\0';
}

/* QEMU's PCI "addr": "slot" or "slot.fn" in hex (slot < 32, fn < 8). */
static bool parse_devfn(const char *s, int32_t *out)
{
    char *end;
    unsigned long slot = strtoul(s, &end, 16), fn = 0;
    if (end == s || slot > 31)
        return false;
    if (*end == '.') {
        const char *f = end + 1;
        fn = strtoul(f, &end, 16);
        if (end == f || fn > 7)
            return false;
    }
    if (*end)
        return false;
    *out = (int32_t)(slot << 3 | fn);
    return true;
}

static bool set_int(const Property *p, void *obj, JsonNode *v, bool kv, GError **errp)
{
    static const struct { uint64_t max; const char *ctype; } u[] = {
        [PROP_U8] = { UINT8_MAX, "uint8_t" }, [PROP_U16] = { UINT16_MAX, "uint16_t" },
        [PROP_U32] = { UINT32_MAX, "uint32_t" }, [PROP_U64] = { UINT64_MAX, "uint64" },
    };
    void *f = field(p, obj);
    if (p->type == PROP_I32 || p->type == PROP_I64) {
        int64_t x;
        bool i32 = p->type == PROP_I32;
        if (!qv_int(v, NULL, p->name, kv, i32 ? INT32_MIN : INT64_MIN,
                    i32 ? INT32_MAX : INT64_MAX, i32 ? "int32_t" : "int64", &x, errp))
            return false;
        if (i32)
            *(int32_t *)f = x;
        else
            *(int64_t *)f = x;
        return true;
    }
    uint64_t x;
    if (p->type == PROP_SIZE) {
        if (!qv_size(v, NULL, p->name, kv, &x, errp))
            return false;
    } else if (!qv_uint(v, NULL, p->name, kv, u[p->type].max, u[p->type].ctype, &x, errp)) {
        return false;
    }
    switch (p->type) {
    case PROP_U8: *(uint8_t *)f = x; break;
    case PROP_U16: *(uint16_t *)f = x; break;
    case PROP_U32: *(uint32_t *)f = x; break;
    default: *(uint64_t *)f = x; break;
    }
    return true;
}

/* Properties whose value is text with a syntax of its own (enum, MAC, PCI address). */
static bool set_special(const Property *p, void *obj, const char *s, const char *owner,
                        GError **errp)
{
    void *f = field(p, obj);
    if (p->type == PROP_ENUM) {
        for (int i = 0; p->enum_names[i]; i++) {
            if (!strcmp(p->enum_names[i], s)) {
                *(int *)f = i;
                return true;
            }
        }
        g_set_error(errp, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                    "Parameter '%s' does not accept value '%s'", p->name, s);
        return false;
    }
    if (p->type == PROP_MACADDR)
        return parse_mac(s, f) || bad_value(p, owner, s, errp);
    return parse_devfn(s, f) || bad_value(p, owner, s, errp);
}

bool prop_set(const Property *p, void *obj, JsonNode *v, bool kv, const char *owner,
              GError **errp)
{
    char *s = NULL;
    switch (p->type) {
    case PROP_BOOL:
        return qv_bool(v, NULL, p->name, kv, field(p, obj), errp);
    case PROP_U8: case PROP_U16: case PROP_U32: case PROP_U64:
    case PROP_I32: case PROP_I64: case PROP_SIZE:
        return set_int(p, obj, v, kv, errp);
    case PROP_PCI_DEVFN:
        /* JSON may give the devfn as a number (QEMU accepts both). */
        if (!kv && JSON_NODE_HOLDS_VALUE(v) && json_node_get_value_type(v) == G_TYPE_INT64) {
            int64_t x = json_node_get_int(v);
            if (x < -1 || x > 255)
                return bad_value(p, owner, "(number)", errp);
            *(int32_t *)field(p, obj) = x;
            return true;
        }
        /* fall through */
    case PROP_ENUM: case PROP_MACADDR:
        if (!qv_str(v, NULL, p->name, &s, errp))
            return false;
        bool ok = set_special(p, obj, s, owner, errp);
        g_free(s);
        return ok;
    case PROP_STR: case PROP_CHARDEV: case PROP_DRIVE: case PROP_NETDEV: case PROP_LINK:
        if (!qv_str(v, NULL, p->name, &s, errp))
            return false;
        g_free(*(char **)field(p, obj));
        *(char **)field(p, obj) = s;
        return true;
    }
    g_assert_not_reached();
}

bool prop_set_text(const Property *p, void *obj, const char *text, const char *owner,
                   GError **errp)
{
    g_autoptr(JsonNode) n = json_node_init_string(json_node_alloc(), text);
    return prop_set(p, obj, n, true, owner, errp);
}

bool prop_set_bool(const Property *p, void *obj, bool v, const char *owner, GError **errp)
{
    g_autoptr(JsonNode) n = json_node_init_boolean(json_node_alloc(), v);
    return prop_set(p, obj, n, false, owner, errp);
}

bool prop_set_int(const Property *p, void *obj, int64_t v, const char *owner, GError **errp)
{
    g_autoptr(JsonNode) n = json_node_init_int(json_node_alloc(), v);
    return prop_set(p, obj, n, false, owner, errp);
}

bool prop_set_str(const Property *p, void *obj, const char *v, const char *owner,
                  GError **errp)
{
    g_autoptr(JsonNode) n = json_node_init_string(json_node_alloc(), v);
    return prop_set(p, obj, n, false, owner, errp);
}

bool props_apply(const Property *table, void *obj, JsonObject *o, bool kv,
                 const char *owner, const char *const *skip, GError **errp)
{
    JsonObjectIter it;
    const char *key;
    JsonNode *val;
    json_object_iter_init(&it, o);
    while (json_object_iter_next(&it, &key, &val)) {
        if (skip && g_strv_contains(skip, key))
            continue;
        const Property *p = props_find(table, key);
        if (!p) {
            g_set_error(errp, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                        "Property '%s.%s' not found", owner, key);
            return false;
        }
        if (!prop_set(p, obj, val, kv, owner, errp))
            return false;
    }
    return true;
}

void props_init(const Property *table, void *obj, const char *owner)
{
    for (const Property *p = table; p && p->name; p++) {
        if (p->type == PROP_PCI_DEVFN)
            *(int32_t *)field(p, obj) = -1;
        if (p->defval && !prop_set_text(p, obj, p->defval, owner, NULL))
            g_error("%s: bad default '%s' for property %s", owner, p->defval, p->name);
    }
}

static bool owns_string(const Property *p)
{
    return p->type == PROP_STR || p->type == PROP_CHARDEV || p->type == PROP_DRIVE ||
           p->type == PROP_NETDEV || p->type == PROP_LINK;
}

void props_free(const Property *table, void *obj)
{
    for (const Property *p = table; p && p->name; p++) {
        if (owns_string(p)) {
            g_free(*(char **)field(p, obj));
            *(char **)field(p, obj) = NULL;
        }
    }
}

JsonNode *prop_get(const Property *p, const void *obj)
{
    const void *f = field(p, obj);
    switch (p->type) {
    case PROP_BOOL: return json_node_init_boolean(json_node_alloc(), *(const bool *)f);
    case PROP_U8: return json_node_init_int(json_node_alloc(), *(const uint8_t *)f);
    case PROP_U16: return json_node_init_int(json_node_alloc(), *(const uint16_t *)f);
    case PROP_U32: return json_node_init_int(json_node_alloc(), *(const uint32_t *)f);
    case PROP_U64: case PROP_SIZE:
        return json_node_init_int(json_node_alloc(), (int64_t)*(const uint64_t *)f);
    case PROP_I32: case PROP_PCI_DEVFN:
        return json_node_init_int(json_node_alloc(), *(const int32_t *)f);
    case PROP_I64: return json_node_init_int(json_node_alloc(), *(const int64_t *)f);
    default: break;
    }
    g_autofree char *s = prop_format(p, obj);
    return s ? json_node_init_string(json_node_alloc(), s) : NULL;
}

char *prop_format(const Property *p, const void *obj)
{
    const void *f = field(p, obj);
    const uint8_t *mac = f;
    int32_t devfn = *(const int32_t *)f;
    switch (p->type) {
    case PROP_BOOL: return g_strdup(*(const bool *)f ? "true" : "false");
    case PROP_U8: return g_strdup_printf("%u", *(const uint8_t *)f);
    case PROP_U16: return g_strdup_printf("%u", *(const uint16_t *)f);
    case PROP_U32: return g_strdup_printf("%u", *(const uint32_t *)f);
    case PROP_U64: case PROP_SIZE:
        return g_strdup_printf("%" G_GUINT64_FORMAT, *(const uint64_t *)f);
    case PROP_I32: return g_strdup_printf("%d", *(const int32_t *)f);
    case PROP_I64: return g_strdup_printf("%" G_GINT64_FORMAT, *(const int64_t *)f);
    case PROP_ENUM: return g_strdup(p->enum_names[*(const int *)f]);
    case PROP_MACADDR:
        return g_strdup_printf("%02x:%02x:%02x:%02x:%02x:%02x", mac[0], mac[1], mac[2],
                               mac[3], mac[4], mac[5]);
    case PROP_PCI_DEVFN:
        return devfn < 0 ? g_strdup("-1") : g_strdup_printf("%02x.%x", devfn >> 3, devfn & 7);
    default:
        return g_strdup(*(char *const *)f);
    }
}

void props_print_help(const Property *table, const char *owner, GString *out)
{
    g_string_append_printf(out, "%s options:\n", owner);
    props_print_entries(table, out);
    if (!table || !table->name)
        g_string_append(out, "  (no properties)\n");
}

void props_print_entries(const Property *table, GString *out)
{
    for (const Property *p = table; p && p->name; p++) {
        g_autofree char *left = g_strdup_printf("%s=<%s>", p->name, prop_type_name(p));
        const char *help = p->help ? p->help : p->type == PROP_BOOL ? "on/off" : "";
        if (*help || p->defval)
            g_string_append_printf(out, "  %-22s - %s", left, help);
        else
            g_string_append_printf(out, "  %s", left);
        if (p->defval)
            g_string_append_printf(out, " (default: %s)", p->defval);
        g_string_append_c(out, '\n');
    }
}
