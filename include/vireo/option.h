/*
 * The option layer (util/): one grammar and one set of typed-value rules for everything
 * configured by text — the command line, -readconfig, QMP arguments, vireo-img options.
 *
 * Grammar: QEMU's keyval ("KEY=VALUE,..." with ",," escaping a comma, dotted keys
 * building nested objects, numeric fragments building arrays, an optional implied first
 * key, "help"/"?" anywhere). The parse result is a json-glib tree whose leaves are
 * strings. Options libvirt passes as JSON ("{...}") parse to the same tree with typed
 * leaves. Either way the tree is then read through the typed accessors below (qv_*),
 * which take strings from keyval text with QEMU's rules (on/off/yes/no/true/false/y/n,
 * sizes with suffixes, integers in any C base) and insist on the JSON type otherwise.
 * Errors are GErrors (G_IO_ERROR) whose messages name the parameter.
 */
#ifndef VIREO_OPTION_H
#define VIREO_OPTION_H

#include <stdbool.h>
#include <stdint.h>
#include <glib.h>
#include <json-glib/json-glib.h>
#include "vireo/error.h"

/* ---- keyval grammar (util/keyval.c) ---- */

enum {
    /* QemuOpts' short-form booleans, which QEMU 7.2 still takes with a deprecation
     * warning for options parsed by QemuOpts (-device, -drive, -netdev, -chardev,
     * -accel, ...): a bare "flag" is flag=on, a bare "noflag" is flag=off. */
    KEYVAL_SHORT_BOOLS = 1 << 0,
    /* Keys are flat (QemuOpts): "a.b=1" is the member "a.b", not a nested object. */
    KEYVAL_FLAT = 1 << 1,
    /* With KEYVAL_FLAT: a key given more than once collects its values, in order, into
     * an array of strings (QemuOpts' repeated options, e.g. -netdev user's hostfwd=);
     * a caller that takes one value uses the last, as QEMU does. */
    KEYVAL_REPEAT = 1 << 2,
};

/* Parses @params. @implied_key (or NULL) is the key of a first element without '='.
 * "help" or "?" as an element sets *@help (an error when @help is NULL). Repeated keys:
 * the last one wins, as in QEMU. Returns a new object (json_object_unref) or NULL. */
JsonObject *keyval_parse(const char *params, const char *implied_key, unsigned flags,
                         bool *help, GError **errp);

/* An option argument as QEMU's -device/-object/-blockdev/-netdev take it: a JSON object
 * when it starts with '{' (sets *@is_json when non-NULL), else keyval. Errors are
 * prefixed with "-OPT ARG: ". */
JsonObject *option_parse(const char *opt, const char *arg, const char *implied_key,
                         unsigned flags, bool *help, bool *is_json, GError **errp);

/* Prefixes an error from the typed accessors with "-OPT ARG: ". */
void option_prefix_error(GError **errp, const char *opt, const char *arg);

/* ---- typed values (util/qvalue.c) ----
 * @path names the enclosing object (NULL at the top), @name the member; messages name
 * "path.name" in QEMU's words. @kv: the tree came from keyval text, so scalars are
 * strings to be converted; otherwise the JSON type must match. */
char *qv_full(const char *path, const char *name);
bool qv_missing(const char *path, const char *name, GError **errp);
bool qv_check_unexpected(JsonObject *obj, const char *path, const char *const *known,
                         GError **errp);
bool qv_object(JsonNode *n, const char *path, const char *name, JsonObject **out,
               GError **errp);
bool qv_array(JsonNode *n, const char *path, const char *name, JsonArray **out,
              GError **errp);
bool qv_str(JsonNode *n, const char *path, const char *name, char **out, GError **errp);
bool qv_bool(JsonNode *n, const char *path, const char *name, bool kv, bool *out,
             GError **errp);
bool qv_number(JsonNode *n, const char *path, const char *name, bool kv, double *out,
               GError **errp);
bool qv_any(JsonNode *n, const char *path, const char *name, JsonNode **out, GError **errp);
/* Integers; @ctype ("int32_t") names the type in range errors, as QEMU does. */
bool qv_int(JsonNode *n, const char *path, const char *name, bool kv, int64_t min,
            int64_t max, const char *ctype, int64_t *out, GError **errp);
bool qv_uint(JsonNode *n, const char *path, const char *name, bool kv, uint64_t max,
             const char *ctype, uint64_t *out, GError **errp);
/* A byte count: an integer in JSON; in keyval text a number with an optional suffix
 * (B, K, M, G, T, P, E: powers of 1024) and decimal fraction, as qemu_strtosz. */
bool qv_size(JsonNode *n, const char *path, const char *name, bool kv, uint64_t *out,
             GError **errp);
bool qv_enum(JsonNode *n, const char *path, const char *name, const char *const *table,
             int count, int *out, GError **errp);

/* Scalar text rules, for callers that hold a plain string. */
bool str_to_bool(const char *s, bool *out);              /* on/yes/true/y, off/no/false/n */
bool str_to_u64(const char *s, uint64_t *out);           /* any C base, no sign */
bool str_to_i64(const char *s, int64_t *out);            /* any C base */
/* @unit: the multiplier of a bare number (1 for bytes; 1 << 20 for -m's megabytes). */
bool str_to_size(const char *s, uint64_t unit, uint64_t *out);

/* QEMU's identifiers (id=, node-name=, chardev ids): a letter, then letters, digits,
 * '-', '.', '_'. */
bool id_wellformed(const char *id);
/* Checks @id, with QEMU's message ("Parameter 'id' expects an identifier") and hint. */
bool id_check(const char *what, const char *id, GError **errp);

/* Helpers over a parsed tree: a member as text ("" when absent) for simple options. */
const char *kv_get_str(JsonObject *o, const char *key);
/* Removes and returns a member (a new reference), or NULL. */
JsonNode *kv_take(JsonObject *o, const char *key);

#endif
