/*
 * The -chardev option syntax (QEMU's: "backend,id=x,key=value,..." with ",," for a
 * literal comma) and the -serial/-qmp shorthands ("stdio", "file:F", "unix:P,...",
 * "tcp:H:P,...", "pty", "null", "mon:stdio").
 */
#include "chardev-internal.h"
#include "vireo/option.h"
#include "vireo/qom.h"
#include <string.h>

typedef struct ChrBackend {
    const char *name;
    const char *const *keys;          /* accepted besides id and mux */
    Chardev *(*open)(const ChrOpts *o, GError **errp);
} ChrBackend;

static const char *const no_keys[] = { NULL };
static const char *const stdio_keys[] = { "signal", NULL };
static const char *const file_keys[] = { "path", "append", NULL };
static const char *const socket_keys[] = { "path", "host", "port", "fd", "server", "wait",
                                           "nodelay", "ipv4", "ipv6", NULL };
static const char *const ringbuf_keys[] = { "size", NULL };

static const ChrBackend backends[] = {
    { "null", no_keys, chr_open_null },
    { "stdio", stdio_keys, chr_open_stdio },
    { "file", file_keys, chr_open_file },
    { "pty", no_keys, chr_open_pty },
    { "socket", socket_keys, chr_open_socket },
    { "ringbuf", ringbuf_keys, chr_open_ringbuf },
    { "memory", ringbuf_keys, chr_open_ringbuf },     /* QEMU's old name */
};

/* The backends as QOM types (qom-list-types), QEMU 7.2's names. */
const QomType qom_chardev_types[] = {
    { .name = "chardev", .parent = "object", .abstract = true },
    { .name = "chardev-null", .parent = "chardev" },
    { .name = "chardev-fd", .parent = "chardev", .abstract = true },
    { .name = "chardev-stdio", .parent = "chardev-fd" },
    { .name = "chardev-file", .parent = "chardev-fd" },
    { .name = "chardev-pty", .parent = "chardev" },
    { .name = "chardev-socket", .parent = "chardev" },
    { .name = "chardev-ringbuf", .parent = "chardev" },
    { .name = "chardev-memory", .parent = "chardev-ringbuf" },
    { .name = "chardev-mux", .parent = "chardev" },
    { .name = NULL }
};

const char *chr_opt(const ChrOpts *o, const char *key)
{
    return g_hash_table_lookup(o->kv, key);
}

bool chr_opt_bool(const ChrOpts *o, const char *key, bool def, bool *out, GError **errp)
{
    const char *v = chr_opt(o, key);
    *out = def;
    if (!v)
        return true;
    if (str_to_bool(v, out))
        return true;
    g_set_error(errp, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                "%s: parameter '%s' expects 'on' or 'off', not '%s'", o->option, key, v);
    return false;
}

static const ChrBackend *backend_find(const char *name)
{
    for (size_t i = 0; i < G_N_ELEMENTS(backends); i++)
        if (!strcmp(backends[i].name, name))
            return &backends[i];
    return NULL;
}

static bool key_allowed(const ChrBackend *b, const char *key)
{
    if (!strcmp(key, "id") || !strcmp(key, "mux"))
        return true;
    for (const char *const *k = b->keys; *k; k++)
        if (!strcmp(*k, key))
            return true;
    return false;
}

/* Fills @o->kv from a parsed option (QemuOpts' flat keys and short-form booleans, so
 * QEMU's legacy "server,nowait" is server=on,wait=off); @skip is the implied key. QEMU
 * spells TCP_NODELAY "delay=off" (short form "nodelay"). */
static bool parse_kv(ChrOpts *o, const ChrBackend *b, JsonObject *kv, const char *skip,
                     GError **errp)
{
    JsonObjectIter it;
    const char *key;
    JsonNode *val;
    json_object_iter_init(&it, kv);
    while (json_object_iter_next(&it, &key, &val)) {
        if (skip && !strcmp(key, skip))
            continue;
        const char *v = kv_get_str(kv, key);
        bool delay;
        if (!strcmp(key, "delay") && !strcmp(b->name, "socket")) {
            if (!str_to_bool(v, &delay)) {
                g_set_error(errp, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                            "%s: parameter 'delay' expects 'on' or 'off', not '%s'",
                            o->option, v);
                return false;
            }
            key = "nodelay";
            v = delay ? "off" : "on";
        }
        if (!key_allowed(b, key)) {
            g_set_error(errp, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                        "%s: invalid parameter '%s' for backend '%s'", o->option, key,
                        b->name);
            return false;
        }
        g_hash_table_replace(o->kv, g_strdup(key), g_strdup(v));
    }
    return true;
}

/* Opens backend @b with @o, wraps it in a mux when asked and names it. */
static Chardev *open_backend(const ChrBackend *b, ChrOpts *o, const char *id,
                             GError **errp)
{
    bool mux;
    if (!id || !*id) {
        g_set_error(errp, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                    "%s: parameter 'id' is missing", o->option);
        return NULL;
    }
    if (!chr_opt_bool(o, "mux", false, &mux, errp))
        return NULL;
    o->id = id;
    Chardev *chr = b->open(o, errp);
    if (!chr)
        return NULL;
    g_free(chr->id);
    chr->id = g_strdup(id);
    return mux ? chr_mux_new(chr) : chr;
}

static ChrOpts *opts_new(const char *option, const char *backend)
{
    ChrOpts *o = g_new0(ChrOpts, 1);
    o->option = option;
    o->backend = backend;
    o->kv = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
    return o;
}

static void opts_free(ChrOpts *o)
{
    g_hash_table_destroy(o->kv);
    g_free(o);
}
G_DEFINE_AUTOPTR_CLEANUP_FUNC(ChrOpts, opts_free)

Chardev *chr_new(const char *spec, const char *default_id, GError **errp)
{
    g_autoptr(JsonObject) kv = keyval_parse(spec ? spec : "", "backend",
                                            KEYVAL_FLAT | KEYVAL_SHORT_BOOLS, NULL, errp);
    if (!kv) {
        option_prefix_error(errp, "chardev", spec);
        return NULL;
    }
    const char *name = kv_get_str(kv, "backend");
    if (!name) {
        g_set_error(errp, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                    "-chardev: '%s' does not start with a backend name", spec ? spec : "");
        return NULL;
    }
    const ChrBackend *b = backend_find(name);
    if (!b) {
        g_set_error(errp, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                    "-chardev: unknown backend '%s'", name);
        return NULL;
    }
    g_autoptr(ChrOpts) o = opts_new("-chardev", b->name);
    if (!parse_kv(o, b, kv, "backend", errp))
        return NULL;
    const char *id = chr_opt(o, "id");
    return open_backend(b, o, id ? id : default_id, errp);
}

/* "HOST:PORT" (HOST may be empty or a bracketed IPv6 address) into host/port. */
static bool split_host_port(ChrOpts *o, const char *hp, GError **errp)
{
    const char *colon = strrchr(hp, ':');
    if (!colon || !colon[1]) {
        g_set_error(errp, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                    "%s: expected tcp:HOST:PORT", o->option);
        return false;
    }
    g_autofree char *host = g_strndup(hp, colon - hp);
    if (host[0] == '[' && host[strlen(host) - 1] == ']') {
        char *inner = g_strndup(host + 1, strlen(host) - 2);
        g_free(host);
        host = inner;
    }
    g_hash_table_replace(o->kv, g_strdup("host"), g_steal_pointer(&host));
    g_hash_table_replace(o->kv, g_strdup("port"), g_strdup(colon + 1));
    return true;
}

/* Maps a shorthand onto a backend and its options. */
static const ChrBackend *shorthand_parse(ChrOpts *o, const char *spec, GError **errp)
{
    if (!strcmp(spec, "stdio") || !strcmp(spec, "null") || !strcmp(spec, "pty"))
        return backend_find(spec);
    if (g_str_has_prefix(spec, "file:")) {
        /* The rest is the path, commas included (as in QEMU). */
        g_hash_table_replace(o->kv, g_strdup("path"), g_strdup(spec + 5));
        return backend_find("file");
    }
    bool is_unix = g_str_has_prefix(spec, "unix:");
    if (!is_unix && !g_str_has_prefix(spec, "tcp:")) {
        const char *colon = strchr(spec, ':');
        g_autofree char *name = colon ? g_strndup(spec, colon - spec) : g_strdup(spec);
        g_set_error(errp, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                    "%s: unknown character device '%s' (expected stdio, mon:stdio, "
                    "file:PATH, pty, unix:PATH, tcp:HOST:PORT, null, none or chardev:ID)",
                    o->option, name);
        return NULL;
    }
    const ChrBackend *b = backend_find("socket");
    const char *rest = strchr(spec, ':') + 1;
    g_autoptr(JsonObject) kv = keyval_parse(rest, "address", KEYVAL_FLAT | KEYVAL_SHORT_BOOLS,
                                            NULL, errp);
    if (!kv) {
        g_prefix_error(errp, "%s: ", o->option);
        return NULL;
    }
    const char *addr = kv_get_str(kv, "address");
    if (!addr || !*addr) {
        g_set_error(errp, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                    "%s: missing the %s", o->option, is_unix ? "socket path" : "HOST:PORT");
        return NULL;
    }
    if (is_unix)
        g_hash_table_replace(o->kv, g_strdup("path"), g_strdup(addr));
    else if (!split_host_port(o, addr, errp))
        return NULL;
    return parse_kv(o, b, kv, "address", errp) ? b : NULL;
}

Chardev *chr_new_shorthand(const char *spec, const char *id, GError **errp)
{
    bool mux = g_str_has_prefix(spec, "mon:");
    const char *rest = mux ? spec + 4 : spec;
    g_autofree char *option = g_strdup_printf("'%s'", spec);
    g_autoptr(ChrOpts) o = opts_new(option, NULL);
    const ChrBackend *b = shorthand_parse(o, rest, errp);
    if (!b)
        return NULL;
    if (mux)
        g_hash_table_replace(o->kv, g_strdup("mux"), g_strdup("on"));
    return open_backend(b, o, id, errp);
}
