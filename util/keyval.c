/*
 * QEMU's KEY=VALUE,... grammar (include/vireo/option.h), reduced to a JSON tree:
 *
 *   key-vals     = [ key-val { ',' key-val } [ ',' ] ]
 *   key-val      = key '=' val | 'help' | '?'
 *   key          = fragment { '.' fragment }
 *   fragment     = name (a letter, then letters, digits, '-', '_') | index (digits,
 *                  not first)
 *   val          = { any character but ',' | ',,' }
 *
 * Each key-val names a path from the root object to a string leaf; a numeric fragment
 * makes its parent an array (indexes 0..n-1 without gaps, in any order). The same leaf
 * given twice keeps the last value; a node used both as a leaf and as an inner node, or
 * as an array and an object, is an error. With an implied key, a first element without
 * '=' is the value of that key.
 */
#include "vireo/option.h"
#include <string.h>

#define KEY_FRAGMENT_MAX 127

static bool kv_error(GError **errp, const char *fmt, ...) G_GNUC_PRINTF(2, 3);
static bool kv_error(GError **errp, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    g_autofree char *msg = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    g_set_error_literal(errp, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT, msg);
    return false;
}

/* Length of a valid name at @s (0 when there is none). */
static size_t name_len(const char *s, size_t max)
{
    size_t n = 0;
    if (max == 0 || !g_ascii_isalpha(s[0]))
        return 0;
    while (n < max && (g_ascii_isalnum(s[n]) || s[n] == '-' || s[n] == '_'))
        n++;
    return n;
}

static size_t index_len(const char *s, size_t max)
{
    size_t n = 0;
    while (n < max && g_ascii_isdigit(s[n]))
        n++;
    return n;
}

static bool is_help(const char *s, size_t len)
{
    return (len == 4 && !strncmp(s, "help", 4)) || (len == 1 && s[0] == '?');
}

/* Makes @parent[@key] an object (creating it) unless it is a string leaf. */
static JsonObject *child_object(JsonObject *parent, const char *key, const char *full,
                                size_t full_len, GError **errp)
{
    JsonNode *n = json_object_get_member(parent, key);
    if (!n) {
        JsonObject *o = json_object_new();
        json_object_set_object_member(parent, key, o);
        return o;
    }
    if (!JSON_NODE_HOLDS_OBJECT(n)) {
        kv_error(errp, "Parameters '%.*s.*' used inconsistently", (int)full_len, full);
        return NULL;
    }
    return json_node_get_object(n);
}

/* Reads the value starting at @s (",," is a comma) into @val; returns the end. */
static const char *read_value(const char *s, GString *val)
{
    for (; *s; s++) {
        if (*s == ',') {
            if (s[1] != ',')
                break;
            s++;
        }
        g_string_append_c(val, *s);
    }
    return s;
}

/* Parses one key-val at @s into @root; returns the position after it or NULL. */
static const char *parse_one(JsonObject *root, const char *s, const char *implied,
                             unsigned flags, bool *help, GError **errp)
{
    size_t len = strcspn(s, "=,");
    const char *key = s, *val_start = NULL;
    g_autofree char *bare_key = NULL;
    const char *bare_val = NULL;
    if (len && s[len] != '=') {
        if (is_help(s, len)) {
            if (!help)
                return kv_error(errp, "Invalid parameter '%.*s'", (int)len, s), NULL;
            *help = true;
            return s[len] == ',' ? s + len + 1 : s + len;
        }
        if (implied) {
            key = implied;
            val_start = s;
            len = strlen(implied);
        } else if (flags & KEYVAL_SHORT_BOOLS) {
            bool no = len > 2 && !strncmp(s, "no", 2);
            bare_key = g_strndup(s + (no ? 2 : 0), len - (no ? 2 : 0));
            bare_val = no ? "off" : "on";
            key = bare_key;
            len = strlen(bare_key);
        }
    }
    const char *key_end = key + len;
    JsonObject *cur = root;
    char frag[KEY_FRAGMENT_MAX + 1];
    const char *f = key;
    for (;;) {
        size_t flen;
        if (flags & KEYVAL_FLAT)
            flen = key_end - f;
        else if (f != key && g_ascii_isdigit(*f))
            flen = index_len(f, key_end - f);
        else
            flen = name_len(f, key_end - f);
        if ((flags & KEYVAL_FLAT) && flen && !name_len(f, 1))
            flen = 0;
        if (!flen || (f + flen < key_end && f[flen] != '.'))
            return kv_error(errp, "Invalid parameter '%.*s'", (int)len, key), NULL;
        if (flen > KEY_FRAGMENT_MAX)
            return kv_error(errp, "Parameter%s '%.*s' is too long",
                            f != key || f + flen != key_end ? " fragment" : "",
                            (int)flen, f), NULL;
        if (f != key && !(cur = child_object(cur, frag, key, f - 1 - key, errp)))
            return NULL;
        memcpy(frag, f, flen);
        frag[flen] = '\0';
        f += flen;
        if (f == key_end)
            break;
        f++;                                    /* the '.' */
    }
    g_autoptr(GString) val = g_string_new(NULL);
    const char *next;
    if (bare_val) {
        g_string_assign(val, bare_val);
        next = s + strcspn(s, ",");
        g_printerr("vireo: warning: short-form boolean option '%.*s' deprecated; "
                   "please use %s=%s instead\n", (int)(next - s), s, bare_key, bare_val);
    } else if (val_start) {
        next = read_value(val_start, val);
    } else {
        if (s[len] != '=')
            return kv_error(errp, "Expected '=' after parameter '%.*s'", (int)len, key), NULL;
        next = read_value(s + len + 1, val);
    }
    JsonNode *old = json_object_get_member(cur, frag);
    if (old && (flags & KEYVAL_REPEAT) && (flags & KEYVAL_FLAT)) {
        JsonArray *a;
        if (JSON_NODE_HOLDS_ARRAY(old)) {
            a = json_node_get_array(old);
        } else {
            a = json_array_new();
            json_array_add_string_element(a, json_node_get_string(old));
            json_object_set_array_member(cur, frag, a);
        }
        json_array_add_string_element(a, val->str);
        return *next == ',' ? next + 1 : next;
    }
    if (old && !JSON_NODE_HOLDS_VALUE(old))
        return kv_error(errp, "Parameters '%.*s.*' used inconsistently", (int)len, key), NULL;
    json_object_set_string_member(cur, frag, val->str);
    return *next == ',' ? next + 1 : next;
}

static bool is_index_key(const char *k)
{
    return g_ascii_isdigit(*k) && index_len(k, strlen(k)) == strlen(k);
}

/* Replaces objects whose members are all indexes by arrays, depth first. @path is the
 * dotted path to @o (with a trailing dot, or empty at the root). */
static JsonNode *listify(JsonObject *o, const char *path, GError **errp)
{
    bool has_index = false, has_name = false;
    /* Copies of the names: replacing a member frees its name. */
    g_autoptr(GPtrArray) keys = g_ptr_array_new_with_free_func(g_free);
    g_autoptr(GList) members = json_object_get_members(o);
    for (GList *l = members; l; l = l->next)
        g_ptr_array_add(keys, g_strdup(l->data));
    for (guint i = 0; i < keys->len; i++) {
        const char *k = keys->pdata[i];
        JsonNode *v = json_object_get_member(o, k);
        if (is_index_key(k))
            has_index = true;
        else
            has_name = true;
        if (JSON_NODE_HOLDS_OBJECT(v)) {
            g_autofree char *sub = g_strdup_printf("%s%s.", path, k);
            JsonNode *r = listify(json_node_get_object(v), sub, errp);
            if (!r)
                return NULL;
            if (JSON_NODE_HOLDS_ARRAY(r))
                json_object_set_member(o, k, r);
            else
                json_node_unref(r);
        }
    }
    if (has_index && has_name) {
        kv_error(errp, "Parameters '%s*' used inconsistently", path);
        return NULL;
    }
    if (!has_index)
        return json_node_init_object(json_node_alloc(), o);
    guint n = json_object_get_size(o);
    JsonArray *a = json_array_sized_new(n);
    for (guint i = 0; i < n; i++) {
        char k[16];
        g_snprintf(k, sizeof(k), "%u", i);
        JsonNode *v = json_object_get_member(o, k);
        if (!v) {
            /* An index outside 0..n-1 (or written with leading zeros) leaves a gap. */
            kv_error(errp, "Parameter '%s%u' missing", path, i);
            json_array_unref(a);
            return NULL;
        }
        json_array_add_element(a, json_node_copy(v));
    }
    return json_node_init_array(json_node_alloc(), a);
}

JsonObject *keyval_parse(const char *params, const char *implied_key, unsigned flags,
                         bool *help, GError **errp)
{
    JsonObject *root = json_object_new();
    const char *s = params ? params : "";
    if (help)
        *help = false;
    while (*s) {
        s = parse_one(root, s, implied_key, flags, help, errp);
        if (!s) {
            json_object_unref(root);
            return NULL;
        }
        implied_key = NULL;
    }
    if (flags & KEYVAL_FLAT)
        return root;
    JsonNode *r = listify(root, "", errp);
    if (!r) {
        json_object_unref(root);
        return NULL;
    }
    json_node_unref(r);
    return root;
}

void option_prefix_error(GError **errp, const char *opt, const char *arg)
{
    if (errp && *errp)
        g_prefix_error(errp, "-%s %s: ", opt, arg);
}

JsonObject *option_parse(const char *opt, const char *arg, const char *implied_key,
                         unsigned flags, bool *help, bool *is_json, GError **errp)
{
    if (is_json)
        *is_json = false;
    if (help)
        *help = false;
    if (arg[0] != '{') {
        JsonObject *o = keyval_parse(arg, implied_key, flags, help, errp);
        if (!o)
            option_prefix_error(errp, opt, arg);
        return o;
    }
    g_autoptr(JsonParser) p = json_parser_new();     /* mutable: callers take members */
    GError *perr = NULL;
    if (!json_parser_load_from_data(p, arg, -1, &perr)) {
        g_set_error(errp, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT, "-%s %s: JSON parse error, %s",
                    opt, arg, perr->message);
        g_error_free(perr);
        return NULL;
    }
    JsonNode *root = json_parser_get_root(p);
    if (!root || !JSON_NODE_HOLDS_OBJECT(root)) {
        g_set_error(errp, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                    "-%s %s: JSON argument must be an object", opt, arg);
        return NULL;
    }
    if (is_json)
        *is_json = true;
    return json_object_ref(json_node_get_object(root));
}

const char *kv_get_str(JsonObject *o, const char *key)
{
    JsonNode *n = o ? json_object_get_member(o, key) : NULL;
    if (!n || !JSON_NODE_HOLDS_VALUE(n) || json_node_get_value_type(n) != G_TYPE_STRING)
        return NULL;
    return json_node_get_string(n);
}

JsonNode *kv_take(JsonObject *o, const char *key)
{
    JsonNode *n = json_object_get_member(o, key);
    if (!n)
        return NULL;
    json_node_ref(n);
    json_object_remove_member(o, key);
    return n;
}
