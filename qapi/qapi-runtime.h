/*
 * What the generated QMP code (qapi-generated.c) needs: argument checks that produce
 * QEMU's error texts (qapi/qobject-input-visitor.c in QEMU), a compact JSON writer in
 * QEMU's output style, the error classes, and the dispatch table types.
 */
#ifndef QAPI_RUNTIME_H
#define QAPI_RUNTIME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <glib.h>
#include <json-glib/json-glib.h>
#include "vireo/machine.h"
#include "vireo/option.h"

typedef struct MonitorSession MonitorSession;

/* What a command runs with: the machine and the session that sent it. */
typedef struct QmpCtx {
    Machine *m;
    MonitorSession *session;
} QmpCtx;

/* A marshaller checks @args, calls the handler and appends the JSON of its return
 * value to @ret. */
typedef bool QmpMarshalFn(QmpCtx *c, JsonObject *args, GString *ret, GError **errp);
typedef struct QmpCommand {
    const char *name;
    QmpMarshalFn *fn;
} QmpCommand;

extern const QmpCommand qmp_commands[];     /* generated, sorted by name */
extern const size_t qmp_commands_count;
extern const char qmp_schema_json[];        /* generated: query-qmp-schema's reply */

const QmpCommand *qmp_command_find(const char *name);

/* Error classes: GError code in the QMP_ERROR domain = QapiErrorClass value
 * (qapi/schema/error.json). Errors of any other domain are GenericError. */
#define QMP_ERROR (qmp_error_quark())
GQuark qmp_error_quark(void);
/* The "class" string of @err. */
const char *qmp_error_class(const GError *err);

/* Input checks (qv_*) are the option layer's typed values: vireo/option.h. */

/* ---- Output: QEMU's compact style ({"a": 1, "b": [2, 3]}), non-ASCII as \uXXXX. ---- */
void qj_key(GString *o, bool *first, const char *key);
void qj_str(GString *o, const char *s);
void qj_int(GString *o, int64_t v);
void qj_uint(GString *o, uint64_t v);
void qj_bool(GString *o, bool v);
void qj_number(GString *o, double v);
void qj_enum(GString *o, const char *const *table, int count, int v);
/* Any JSON value (NULL is null). */
void qj_node(GString *o, JsonNode *n);
/* The same, but stops (false) once @o is longer than @max: for values a client sent,
 * whose echo must cost a bounded amount (a QMP "id"). */
bool qj_node_max(GString *o, JsonNode *n, size_t max);

/* Re-indents compact JSON (qj_* output) as it streams by: 4 spaces a level, QEMU's
 * -qmp-pretty. The text may come in pieces; no parse, no tree, no copy of the whole. */
typedef struct QjPretty {
    const char *nl;          /* "\n", or "\r\n" straight into a monitor's queue */
    unsigned depth;
    bool in_string, escape, opened, after_comma;
} QjPretty;
void qj_pretty_init(QjPretty *p, const char *nl);
/* Appends @len bytes of @json re-indented to @o; false (and stops) once @o would be
 * longer than @max. */
bool qj_pretty_feed(QjPretty *p, GString *o, const char *json, size_t len, size_t max);
/* Re-indents the whole compact JSON text @json. */
void qj_pretty(GString *o, const char *json);

/* Queues an event (JSON object text @data or NULL) to every QMP session of @m that
 * finished capabilities negotiation (qapi/monitor.c). */
void monitor_emit_event(Machine *m, const char *event, const char *data);

#endif
