/*
 * QMP command dispatch: one framed JSON text in, one reply out (QMP spec sections
 * 2.3 "Issuing commands" and 2.4 "Commands responses"; the checks and their texts
 * follow QEMU 7.2's qapi/qmp-dispatch.c and monitor/qmp.c).
 */
#include "qapi/monitor-int.h"
#include "qapi/qapi-generated.h"
#include <string.h>

/* @id: the request's "id" as compact JSON, or NULL. Written straight into the
 * session's queue (monitor-io.c), re-indented there for -qmp-pretty. */
static void send_error(MonitorSession *s, const GString *id, const GError *err)
{
    g_autoptr(GString) o = g_string_sized_new(128);
    MonitorJson j;
    monitor_json_begin(&j, s);
    if (id) {
        monitor_json_put(&j, "{\"id\": ", 7);
        monitor_json_put_echo(&j, id->str, id->len);
        g_string_append(o, ", ");
    } else {
        g_string_append_c(o, '{');
    }
    g_string_append(o, "\"error\": {\"class\": ");
    qj_str(o, qmp_error_class(err));
    g_string_append(o, ", \"desc\": ");
    qj_str(o, err->message);
    g_string_append(o, "}}");
    monitor_json_put(&j, o->str, o->len);
    monitor_json_end(&j);
}

static void send_return(MonitorSession *s, const GString *ret, const GString *id)
{
    MonitorJson j;
    monitor_json_begin(&j, s);
    monitor_json_put(&j, "{\"return\": ", 11);
    monitor_json_put(&j, ret->str, ret->len);
    if (id) {
        monitor_json_put(&j, ", \"id\": ", 8);
        monitor_json_put_echo(&j, id->str, id->len);
    }
    monitor_json_put(&j, "}", 1);
    monitor_json_end(&j);
}

static bool set_error(GError **errp, QapiErrorClass cls, const char *fmt, const char *arg)
{
    g_set_error(errp, QMP_ERROR, cls, fmt, arg);
    return false;
}

/* QEMU's json-parser texts for what json-glib reports (newly allocated). */
static char *parse_error_text(const GError *e)
{
    if (e->domain != JSON_PARSER_ERROR)
        return g_strdup("Invalid JSON syntax");
    switch (e->code) {
    case JSON_PARSER_ERROR_MISSING_COLON: return g_strdup("missing : in object pair");
    case JSON_PARSER_ERROR_MISSING_COMMA: return g_strdup("expected separator in dict");
    case JSON_PARSER_ERROR_INVALID_DATA: return g_strdup("invalid UTF-8 sequence in string");
    case JSON_PARSER_ERROR_INVALID_BAREWORD: {
        /* json-glib: "unexpected identifier `nul', expected value" */
        const char *id = strstr(e->message, "identifier `");
        const char *end = id ? strchr(id + 12, '\'') : NULL;
        if (end)
            return g_strdup_printf("invalid keyword '%.*s'", (int)(end - id - 12), id + 12);
        return g_strdup("expecting value");
    }
    default: return g_strdup("expecting value");
    }
}

/* Checks the request object itself (QEMU qmp_dispatch_check_obj()). */
static bool check_request(JsonObject *req, const char **cmd, GError **errp)
{
    JsonObjectIter it;
    const char *key;
    JsonNode *val;
    json_object_iter_init(&it, req);
    while (json_object_iter_next(&it, &key, &val)) {
        if (!strcmp(key, "exec-oob")) {
            /* out-of-band execution is never offered (empty capabilities) */
            return set_error(errp, QAPI_ERROR_CLASS_GENERICERROR,
                             "QMP input member '%s' is unexpected", key);
        } else if (!strcmp(key, "execute")) {
            if (!JSON_NODE_HOLDS_VALUE(val) || json_node_get_value_type(val) != G_TYPE_STRING)
                return set_error(errp, QAPI_ERROR_CLASS_GENERICERROR,
                                 "QMP input member '%s' must be a string", key);
        } else if (!strcmp(key, "arguments")) {
            if (!JSON_NODE_HOLDS_OBJECT(val))
                return set_error(errp, QAPI_ERROR_CLASS_GENERICERROR,
                                 "QMP input member '%s' must be an object", key);
        } else if (strcmp(key, "id")) {
            return set_error(errp, QAPI_ERROR_CLASS_GENERICERROR,
                             "QMP input member '%s' is unexpected", key);
        }
    }
    const char *exec = json_object_get_string_member_with_default(req, "execute", NULL);
    if (!exec)
        return set_error(errp, QAPI_ERROR_CLASS_GENERICERROR,
                         "QMP input lacks member '%s'", "execute");
    *cmd = exec;
    return true;
}

/* Runs @req; appends the return value to @ret or sets @errp. */
static bool run_request(MonitorSession *s, JsonObject *req, GString *ret, GError **errp)
{
    const char *name;
    if (!check_request(req, &name, errp))
        return false;
    bool caps = !strcmp(name, "qmp_capabilities");
    if (!s->negotiated && !caps)
        return set_error(errp, QAPI_ERROR_CLASS_COMMANDNOTFOUND, "%s",
                         "Expecting capabilities negotiation with 'qmp_capabilities'");
    if (s->negotiated && caps)
        return set_error(errp, QAPI_ERROR_CLASS_COMMANDNOTFOUND, "%s",
                         "Capabilities negotiation is already complete, command ignored");
    const QmpCommand *cmd = qmp_command_find(name);
    if (!cmd)
        return set_error(errp, QAPI_ERROR_CLASS_COMMANDNOTFOUND,
                         "The command %s has not been found", name);
    JsonNode *an = json_object_get_member(req, "arguments");
    JsonObject *args = an ? json_node_get_object(an) : NULL;
    g_autoptr(JsonObject) empty = args ? NULL : json_object_new();
    QmpCtx ctx = { .m = s->m, .session = s };
    return cmd->fn(&ctx, args ? args : empty, ret, errp);
}

static void dispatch_node(MonitorSession *s, JsonNode *root)
{
    g_autoptr(GError) err = NULL;
    if (!JSON_NODE_HOLDS_OBJECT(root)) {
        set_error(&err, QAPI_ERROR_CLASS_GENERICERROR, "%s",
                  "QMP input must be a JSON object");
        send_error(s, NULL, err);
        return;
    }
    JsonObject *req = json_node_get_object(root);
    JsonNode *idn = json_object_get_member(req, "id");
    g_autoptr(GString) id = idn ? g_string_sized_new(32) : NULL;
    if (id && !qj_node_max(id, idn, MONITOR_ID_MAX)) {
        /* Echoing it would cost what the client chooses: refuse before running. */
        g_set_error(&err, QMP_ERROR, QAPI_ERROR_CLASS_GENERICERROR,
                    "QMP input member 'id' is longer than %u bytes", MONITOR_ID_MAX);
        send_error(s, NULL, err);
        return;
    }
    g_autoptr(GString) ret = g_string_sized_new(128);
    if (!run_request(s, req, ret, &err)) {
        send_error(s, id, err);
        return;
    }
    send_return(s, ret, id);
}

void qmp_dispatch_text(MonitorSession *s, const char *text, size_t len, const char *error)
{
    g_autoptr(GError) err = NULL;
    if (error) {
        set_error(&err, QAPI_ERROR_CLASS_GENERICERROR, "%s", error);
        send_error(s, NULL, err);
        return;
    }
    GError *perr = NULL;
    if (!json_parser_load_from_data(s->parser, text, len, &perr)) {
        g_autofree char *why = parse_error_text(perr);
        g_set_error(&err, QMP_ERROR, QAPI_ERROR_CLASS_GENERICERROR,
                    "JSON parse error, %s", why);
        g_error_free(perr);
        send_error(s, NULL, err);
    } else {
        dispatch_node(s, json_parser_get_root(s->parser));
    }
    if (len > JSON_STREAM_FREE) {
        /* The parser keeps the last tree until the next text: not a large one. */
        g_object_unref(s->parser);
        s->parser = json_parser_new_immutable();
    }
}
