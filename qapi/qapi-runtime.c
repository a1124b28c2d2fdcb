/*
 * Runtime of the generated QMP code: argument checks with QEMU's messages
 * (QEMU qapi/qobject-input-visitor.c, qapi/qmp/qerror.h), the compact JSON writer
 * (QEMU qobject/json-writer.c style) and the error classes.
 */
#include "qapi/qapi-runtime.h"
#include "qapi/qapi-generated.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>

G_DEFINE_QUARK(vireo-qmp-error-quark, qmp_error)

const char *qmp_error_class(const GError *err)
{
    if (err->domain == QMP_ERROR && err->code >= 0 && err->code < QAPI_COUNT_QapiErrorClass)
        return QapiErrorClass_str[err->code];
    return QapiErrorClass_str[QAPI_ERROR_CLASS_GENERICERROR];
}

static int cmd_cmp(const void *key, const void *elem)
{
    return strcmp(key, ((const QmpCommand *)elem)->name);
}

const QmpCommand *qmp_command_find(const char *name)
{
    return bsearch(name, qmp_commands, qmp_commands_count, sizeof(QmpCommand), cmd_cmp);
}

/* ---- Output ----------------------------------------------------------------------- */

void qj_key(GString *o, bool *first, const char *key)
{
    if (!*first)
        g_string_append(o, ", ");
    *first = false;
    qj_str(o, key);
    g_string_append(o, ": ");
}

static void append_u16(GString *o, unsigned v)
{
    g_string_append_printf(o, "\\u%04X", v);
}

/* One non-ASCII or control character starting at @p; returns the bytes consumed. */
static size_t append_escaped(GString *o, const char *p)
{
    gunichar c = g_utf8_get_char_validated(p, -1);
    if (c == (gunichar)-1 || c == (gunichar)-2) {
        append_u16(o, 0xFFFD);      /* invalid UTF-8, as QEMU's to_json does */
        return 1;
    }
    if (c >= 0x10000) {
        c -= 0x10000;
        append_u16(o, 0xD800 | (c >> 10));
        append_u16(o, 0xDC00 | (c & 0x3FF));
    } else {
        append_u16(o, c);
    }
    return g_utf8_next_char(p) - p;
}

void qj_str(GString *o, const char *s)
{
    g_string_append_c(o, '"');
    const char *p = s ? s : "";
    while (*p) {
        const char *run = p;
        while ((unsigned char)*p >= 0x20 && (unsigned char)*p < 0x7F && *p != '"' &&
               *p != '\\')
            p++;
        g_string_append_len(o, run, p - run);
        if (!*p)
            break;
        switch (*p) {
        case '"': g_string_append(o, "\\\""); p++; continue;
        case '\\': g_string_append(o, "\\\\"); p++; continue;
        case '\b': g_string_append(o, "\\b"); p++; continue;
        case '\f': g_string_append(o, "\\f"); p++; continue;
        case '\n': g_string_append(o, "\\n"); p++; continue;
        case '\r': g_string_append(o, "\\r"); p++; continue;
        case '\t': g_string_append(o, "\\t"); p++; continue;
        }
        p += append_escaped(o, p);
    }
    g_string_append_c(o, '"');
}

void qj_int(GString *o, int64_t v) { g_string_append_printf(o, "%" G_GINT64_FORMAT, v); }
void qj_uint(GString *o, uint64_t v) { g_string_append_printf(o, "%" G_GUINT64_FORMAT, v); }
void qj_bool(GString *o, bool v) { g_string_append(o, v ? "true" : "false"); }

void qj_number(GString *o, double v)
{
    if (!isfinite(v)) {
        g_string_append(o, "null");     /* JSON has no inf/nan */
        return;
    }
    char buf[G_ASCII_DTOSTR_BUF_SIZE];
    g_string_append(o, g_ascii_formatd(buf, sizeof(buf), "%.17g", v));
}

void qj_enum(GString *o, const char *const *table, int count, int v)
{
    qj_str(o, v >= 0 && v < count ? table[v] : "");
}

static void node_value(GString *o, JsonNode *n)
{
    GType t = json_node_get_value_type(n);
    if (t == G_TYPE_INT64)
        qj_int(o, json_node_get_int(n));
    else if (t == G_TYPE_DOUBLE)
        qj_number(o, json_node_get_double(n));
    else if (t == G_TYPE_BOOLEAN)
        qj_bool(o, json_node_get_boolean(n));
    else
        qj_str(o, json_node_get_string(n));
}

static bool node_write(GString *o, JsonNode *n, size_t max);

static bool object_write(GString *o, JsonObject *obj, size_t max)
{
    GList *members = json_object_get_members(obj);    /* insertion order */
    bool ok = true;
    g_string_append_c(o, '{');
    for (GList *l = members; l && ok; l = l->next) {
        if (l != members)
            g_string_append(o, ", ");
        ok = strlen(l->data) <= max - MIN(o->len, max);
        if (ok) {
            qj_str(o, l->data);
            g_string_append(o, ": ");
            ok = node_write(o, json_object_get_member(obj, l->data), max);
        }
    }
    g_string_append_c(o, '}');
    g_list_free(members);
    return ok && o->len <= max;
}

static bool array_write(GString *o, JsonArray *a, size_t max)
{
    guint len = json_array_get_length(a);
    bool ok = true;
    g_string_append_c(o, '[');
    for (guint i = 0; i < len && ok; i++) {
        if (i)
            g_string_append(o, ", ");
        ok = node_write(o, json_array_get_element(a, i), max);
    }
    g_string_append_c(o, ']');
    return ok && o->len <= max;
}

/* Compact JSON of @n; stops early (false) once @o passes @max bytes. A string is
 * measured before it is written, so the overshoot is at most a few escapes. */
static bool node_write(GString *o, JsonNode *n, size_t max)
{
    if (o->len > max)
        return false;
    if (!n || JSON_NODE_HOLDS_NULL(n))
        g_string_append(o, "null");
    else if (JSON_NODE_HOLDS_OBJECT(n))
        return object_write(o, json_node_get_object(n), max);
    else if (JSON_NODE_HOLDS_ARRAY(n))
        return array_write(o, json_node_get_array(n), max);
    else if (json_node_get_value_type(n) == G_TYPE_STRING &&
             strlen(json_node_get_string(n)) > max - o->len)
        return false;
    else
        node_value(o, n);
    return o->len <= max;
}

void qj_node(GString *o, JsonNode *n)
{
    node_write(o, n, SIZE_MAX);
}

bool qj_node_max(GString *o, JsonNode *n, size_t max)
{
    return node_write(o, n, max);
}

/* ---- -qmp-pretty: re-indenting compact JSON as it streams by ---- */

static void pretty_newline(QjPretty *p, GString *o)
{
    g_string_append(o, p->nl);
    for (unsigned i = 0; i < p->depth; i++)
        g_string_append_len(o, "    ", 4);
}

void qj_pretty_init(QjPretty *p, const char *nl)
{
    memset(p, 0, sizeof(*p));
    p->nl = nl;
}

/* Compact input has ", " between members and ": " after keys (qj_* output). The layout
 * is QEMU's json-writer.c: a newline and the indentation before every member and
 * before every closing bracket, so an empty object is "{", a newline, "}". */
bool qj_pretty_feed(QjPretty *p, GString *o, const char *json, size_t len, size_t max)
{
    const char *c = json, *end = json + len;
    while (c < end) {
        if (o->len > max)
            return false;
        if (p->in_string) {
            const char *run = c;
            while (c < end && (p->escape || (*c != '"' && *c != '\\'))) {
                p->escape = false;
                c++;
            }
            g_string_append_len(o, run, c - run);
            if (c == end)
                break;
            if (*c == '\\')
                p->escape = true;
            else
                p->in_string = false;
            g_string_append_c(o, *c++);
            continue;
        }
        char ch = *c++;
        if (ch == ' ' && p->after_comma) {
            p->after_comma = false;
            continue;
        }
        p->after_comma = false;
        if (ch == '}' || ch == ']') {
            p->depth -= p->depth > 0;
            pretty_newline(p, o);           /* QEMU's json-writer: even after '{' */
            p->opened = false;
            g_string_append_c(o, ch);
            continue;
        }
        if (p->opened) {
            p->opened = false;
            pretty_newline(p, o);
        }
        g_string_append_c(o, ch);
        if (ch == '{' || ch == '[') {
            p->depth++;
            p->opened = true;
        } else if (ch == ',') {
            pretty_newline(p, o);
            p->after_comma = true;
        } else if (ch == '"') {
            p->in_string = true;
        }
    }
    return o->len <= max;
}

void qj_pretty(GString *o, const char *json)
{
    QjPretty p;
    qj_pretty_init(&p, "\n");
    qj_pretty_feed(&p, o, json, strlen(json), SIZE_MAX);
}
