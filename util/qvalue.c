/*
 * Typed values from an option tree (include/vireo/option.h), with QEMU's rules and words:
 * its QObject input visitor for JSON (qapi/qobject-input-visitor.c: "Invalid parameter
 * type for 'X', expected: T", "Parameter 'X' expects T") and, for keyval text, its keyval
 * variant, which converts strings (qapi_bool_parse, qemu_strtosz, qemu_strtou64).
 */
#include "vireo/option.h"
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

char *qv_full(const char *path, const char *name)
{
    if (path && name)
        return g_strdup_printf("%s.%s", path, name);
    return g_strdup(path ? path : name ? name : "null");
}

static bool type_error(const char *path, const char *name, const char *expected,
                       GError **errp)
{
    g_autofree char *full = qv_full(path, name);
    g_set_error(errp, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                "Invalid parameter type for '%s', expected: %s", full, expected);
    return false;
}

static bool value_error(const char *path, const char *name, const char *expected,
                        GError **errp)
{
    g_autofree char *full = qv_full(path, name);
    g_set_error(errp, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                "Parameter '%s' expects %s", full, expected);
    return false;
}

bool qv_missing(const char *path, const char *name, GError **errp)
{
    g_autofree char *full = qv_full(path, name);
    g_set_error(errp, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                "Parameter '%s' is missing", full);
    return false;
}

static bool is_known(const char *const *known, const char *key)
{
    for (; *known; known++)
        if (!strcmp(*known, key))
            return true;
    return false;
}

bool qv_check_unexpected(JsonObject *obj, const char *path, const char *const *known,
                         GError **errp)
{
    JsonObjectIter it;
    const char *key;
    JsonNode *val;
    json_object_iter_init(&it, obj);
    while (json_object_iter_next(&it, &key, &val)) {
        if (!is_known(known, key)) {
            g_autofree char *full = qv_full(path, key);
            g_set_error(errp, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                        "Parameter '%s' is unexpected", full);
            return false;
        }
    }
    return true;
}

bool qv_object(JsonNode *n, const char *path, const char *name, JsonObject **out,
               GError **errp)
{
    if (!JSON_NODE_HOLDS_OBJECT(n))
        return type_error(path, name, "object", errp);
    *out = json_node_get_object(n);
    return true;
}

bool qv_array(JsonNode *n, const char *path, const char *name, JsonArray **out,
              GError **errp)
{
    if (!JSON_NODE_HOLDS_ARRAY(n))
        return type_error(path, name, "array", errp);
    *out = json_node_get_array(n);
    return true;
}

static bool holds(JsonNode *n, GType t)
{
    return JSON_NODE_HOLDS_VALUE(n) && json_node_get_value_type(n) == t;
}

/* The string of a keyval leaf, or NULL when @n is not one. */
static const char *kv_text(JsonNode *n, bool kv)
{
    return kv && holds(n, G_TYPE_STRING) ? json_node_get_string(n) : NULL;
}

bool qv_str(JsonNode *n, const char *path, const char *name, char **out, GError **errp)
{
    if (!holds(n, G_TYPE_STRING))
        return type_error(path, name, "string", errp);
    *out = g_strdup(json_node_get_string(n));
    return true;
}

bool str_to_bool(const char *s, bool *out)
{
    static const char *const yes[] = { "on", "yes", "true", "y", NULL };
    static const char *const no[] = { "off", "no", "false", "n", NULL };
    if (g_strv_contains(yes, s))
        *out = true;
    else if (g_strv_contains(no, s))
        *out = false;
    else
        return false;
    return true;
}

bool qv_bool(JsonNode *n, const char *path, const char *name, bool kv, bool *out,
             GError **errp)
{
    const char *t = kv_text(n, kv);
    if (t)
        return str_to_bool(t, out) || value_error(path, name, "'on' or 'off'", errp);
    if (!holds(n, G_TYPE_BOOLEAN))
        return type_error(path, name, "boolean", errp);
    *out = json_node_get_boolean(n);
    return true;
}

bool qv_number(JsonNode *n, const char *path, const char *name, bool kv, double *out,
               GError **errp)
{
    const char *t = kv_text(n, kv);
    if (t) {
        char *end;
        errno = 0;
        double d = g_ascii_strtod(t, &end);
        if (!*t || *end || errno || !isfinite(d))
            return value_error(path, name, "number", errp);
        *out = d;
        return true;
    }
    if (holds(n, G_TYPE_INT64))
        *out = (double)json_node_get_int(n);
    else if (holds(n, G_TYPE_DOUBLE))
        *out = json_node_get_double(n);
    else
        return type_error(path, name, "number", errp);
    return true;
}

bool qv_any(JsonNode *n, const char *path, const char *name, JsonNode **out, GError **errp)
{
    *out = json_node_copy(n);
    return true;
}

bool str_to_u64(const char *s, uint64_t *out)
{
    char *end;
    if (!g_ascii_isdigit(*s))
        return false;                   /* no sign, no blanks */
    errno = 0;
    unsigned long long v = strtoull(s, &end, 0);
    if (errno || *end)
        return false;
    *out = v;
    return true;
}

bool str_to_i64(const char *s, int64_t *out)
{
    char *end;
    const char *d = s + (*s == '-' || *s == '+');
    if (!g_ascii_isdigit(*d))
        return false;
    errno = 0;
    long long v = strtoll(s, &end, 0);
    if (errno || *end)
        return false;
    *out = v;
    return true;
}

bool qv_int(JsonNode *n, const char *path, const char *name, bool kv, int64_t min,
            int64_t max, const char *ctype, int64_t *out, GError **errp)
{
    const char *t = kv_text(n, kv);
    int64_t v;
    if (t) {
        if (!str_to_i64(t, &v))
            return value_error(path, name, "integer", errp);
    } else if (holds(n, G_TYPE_INT64)) {
        v = json_node_get_int(n);
    } else {
        return type_error(path, name, "integer", errp);
    }
    if (v < min || v > max)
        return value_error(path, name, ctype, errp);
    *out = v;
    return true;
}

bool qv_uint(JsonNode *n, const char *path, const char *name, bool kv, uint64_t max,
             const char *ctype, uint64_t *out, GError **errp)
{
    const char *t = kv_text(n, kv);
    uint64_t v;
    if (t) {
        if (!str_to_u64(t, &v))
            return value_error(path, name, "integer", errp);
    } else if (holds(n, G_TYPE_INT64)) {
        /* QEMU takes negative JSON values for uint64 as their two's complement. */
        v = (uint64_t)json_node_get_int(n);
    } else {
        return type_error(path, name, "integer", errp);
    }
    if (max != UINT64_MAX && v > max)
        return value_error(path, name, ctype, errp);
    *out = v;
    return true;
}

static uint64_t suffix_mul(char c)
{
    static const char units[] = "BKMGTPE";
    const char *u = c ? strchr(units, g_ascii_toupper(c)) : NULL;
    return u ? 1ULL << (10 * (u - units)) : 0;
}

/* qemu_strtosz's grammar: decimal digits with an optional fraction, or 0x hex without
 * one, then at most one suffix letter; a bare number is multiplied by @unit. */
bool str_to_size(const char *s, uint64_t unit, uint64_t *out)
{
    char *end;
    double frac = 0;
    if (!g_ascii_isdigit(*s))
        return false;
    errno = 0;
    uint64_t v = strtoull(s, &end, 10);
    if (errno)
        return false;
    if (v == 0 && (*end == 'x' || *end == 'X')) {
        v = strtoull(s, &end, 16);
        if (errno || end == s + 2 || *end == '.')
            return false;
    } else if (*end == '.') {
        const char *f = end;
        if (g_ascii_isdigit(f[1])) {
            frac = g_ascii_strtod(f, &end);
            if (memchr(f, 'e', end - f) || memchr(f, 'E', end - f))
                return false;
        } else {
            end++;                      /* "1.K" */
        }
    }
    uint64_t mul = suffix_mul(*end);
    if (mul)
        end++;
    else
        mul = unit;
    if (*end || (mul == 1 && frac != 0))
        return false;
    uint64_t extra = (uint64_t)(frac * (double)mul);
    if (v > (UINT64_MAX - extra) / mul)
        return false;
    *out = v * mul + extra;
    return true;
}

bool qv_size(JsonNode *n, const char *path, const char *name, bool kv, uint64_t *out,
             GError **errp)
{
    const char *t = kv_text(n, kv);
    if (t)
        return str_to_size(t, 1, out) ||
               value_error(path, name, "a non-negative number below 2^64 (optional suffix "
                           "k, M, G, T, P or E)", errp);
    return qv_uint(n, path, name, false, UINT64_MAX, "size", out, errp);
}

bool qv_enum(JsonNode *n, const char *path, const char *name, const char *const *table,
             int count, int *out, GError **errp)
{
    if (!holds(n, G_TYPE_STRING))
        return type_error(path, name, "string", errp);
    const char *s = json_node_get_string(n);
    for (int i = 0; i < count; i++) {
        if (!strcmp(table[i], s)) {
            *out = i;
            return true;
        }
    }
    g_autofree char *full = qv_full(path, name);
    g_set_error(errp, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                "Parameter '%s' does not accept value '%s'", full, s);
    return false;
}

bool id_wellformed(const char *id)
{
    if (!id || !g_ascii_isalpha(id[0]))
        return false;
    for (const char *p = id + 1; *p; p++)
        if (!g_ascii_isalnum(*p) && !strchr("-._", *p))
            return false;
    return true;
}

bool id_check(const char *what, const char *id, GError **errp)
{
    if (id_wellformed(id))
        return true;
    g_set_error(errp, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                "Parameter '%s' expects an identifier (letters, digits, '-', '.', '_', "
                "starting with a letter)", what ? what : "id");
    return false;
}
