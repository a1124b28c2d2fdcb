/*
 * Monitor command-line options (-qmp, -qmp-pretty, -monitor, -mon) and the
 * multi-client listening sockets behind -qmp unix:...,server=on / tcp:...,server=on:
 * every accepted connection (chr_listener_new(), chardev/) is a session of its own,
 * so any number of QMP clients can be connected at once (QEMU's socket chardev
 * serves one at a time).
 */
#include "qapi/monitor-int.h"
#include "vireo/option.h"
#include <stdio.h>
#include <string.h>

struct MonitorListener {
    MonitorSet *set;
    ChrListener *listener;
    unsigned sessions;     /* open sessions it accepted (at most MONITOR_MAX_CLIENTS) */
    bool control, pretty;
    char *id;              /* "compat_monitor0" */
    char *filename;        /* "unix:/tmp/q.sock,server=on" (query-chardev) */
};

typedef struct SocketSpec {
    char *unix_path;
    char *host, *port;
    bool server, wait;
} SocketSpec;

static void spec_clear(SocketSpec *sp)
{
    g_free(sp->unix_path);
    g_free(sp->host);
    g_free(sp->port);
}

/* "unix:PATH,opts" or "tcp:HOST:PORT,opts" (false without an error for other
 * shorthands): the chardev shorthand's grammar (flat keyval, QemuOpts' short-form
 * booleans, so the old "server,nowait" is server=on,wait=off). */
static bool parse_socket_spec(const char *spec, SocketSpec *sp, GError **errp)
{
    static const char *const keys[] = { "address", "server", "wait", "ipv4", "ipv6",
                                        "nodelay", NULL };
    bool is_unix = g_str_has_prefix(spec, "unix:");
    if (!is_unix && !g_str_has_prefix(spec, "tcp:"))
        return true;
    g_autoptr(JsonObject) o = keyval_parse(strchr(spec, ':') + 1, "address",
                                           KEYVAL_FLAT | KEYVAL_SHORT_BOOLS, NULL, errp);
    if (!o || !qv_check_unexpected(o, NULL, keys, errp))
        return false;
    const char *addr = kv_get_str(o, "address"), *server = kv_get_str(o, "server");
    const char *wait = kv_get_str(o, "wait");
    sp->wait = true;
    if ((server && !str_to_bool(server, &sp->server)) || (wait && !str_to_bool(wait, &sp->wait))) {
        g_set_error(errp, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                    "Parameter '%s' expects 'on' or 'off'", server && !str_to_bool(server,
                    &sp->server) ? "server" : "wait");
        return false;
    }
    if (!addr || !*addr) {
        g_set_error(errp, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT, "'%s': missing the %s",
                    spec, is_unix ? "socket path" : "HOST:PORT");
        return false;
    }
    if (is_unix) {
        sp->unix_path = g_strdup(addr);
        return true;
    }
    const char *colon = strrchr(addr, ':');
    if (!colon || !colon[1]) {
        g_set_error(errp, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                    "'tcp:%s': expected tcp:HOST:PORT", addr);
        return false;
    }
    sp->host = g_strndup(addr, colon - addr);
    sp->port = g_strdup(colon + 1);
    return true;
}

/* Each client is a session of its own, up to MONITOR_MAX_CLIENTS at once: then the
 * listener stops accepting (more clients wait in the backlog, as with QEMU's single
 * client) until a session ends. */
static void on_accept(void *opaque, int fd)
{
    MonitorListener *l = opaque;
    g_autoptr(GError) err = NULL;
    if (!monitor_session_new_fd(l->set, l, fd, l->control, l->pretty, &err)) {
        g_warning("%s: %s", l->id, err->message);
        return;
    }
    if (++l->sessions >= MONITOR_MAX_CLIENTS)
        chr_listener_set_enabled(l->listener, false);
}

void monitor_listener_session_gone(MonitorListener *l)
{
    l->sessions--;
    if (!l->set->closing && l->sessions < MONITOR_MAX_CLIENTS)
        chr_listener_set_enabled(l->listener, true);
}

void monitor_listener_pause(MonitorListener *l)
{
    chr_listener_set_enabled(l->listener, false);
}

void monitor_listener_free(MonitorListener *l)
{
    chr_listener_free(l->listener);
    g_free(l->id);
    g_free(l->filename);
    g_free(l);
}

void monitor_listeners_foreach(MonitorSet *set,
                               void (*fn)(const char *label, const char *filename,
                                          void *opaque), void *opaque)
{
    for (guint i = 0; i < set->listeners->len; i++) {
        MonitorListener *l = set->listeners->pdata[i];
        fn(l->id, l->filename, opaque);
    }
}

static bool start_listener(MonitorSet *set, SocketSpec *sp, bool control, bool pretty,
                           const char *id, GError **errp)
{
    g_autofree char *addr = sp->unix_path ? g_strdup_printf("unix:%s", sp->unix_path)
                                          : g_strdup_printf("tcp:%s:%s", sp->host, sp->port);
    MonitorListener *l = g_new0(MonitorListener, 1);
    l->set = set;
    l->control = control;
    l->pretty = pretty;
    l->id = g_strdup(id);
    l->listener = chr_listener_new(addr, 16, on_accept, l, errp);
    if (!l->listener) {
        g_free(l->id);
        g_free(l);
        return false;
    }
    l->filename = g_strdup_printf("%s,server=on", chr_listener_address(l->listener));
    g_ptr_array_add(set->listeners, l);
    if (sp->wait) {     /* wait=on: like QEMU, start only once a client is there */
        fprintf(stderr, "vireo: waiting for connection on: %s\n", l->filename);
        int fd = chr_listener_accept(l->listener, errp);
        if (fd < 0)
            return false;
        on_accept(l, fd);
    }
    return true;
}

/* Serves @spec: a listening socket of our own, or a chardev. */
static bool monitor_open(Machine *m, const char *opt, const char *spec, bool control,
                         bool pretty, GError **errp)
{
    MonitorSet *set = monitor_set_get(m);
    g_autofree char *id = g_strdup_printf("compat_monitor%u", set->next_compat_id++);
    SocketSpec sp = { 0 };
    bool ok = parse_socket_spec(spec, &sp, errp);
    if (ok && sp.server) {
        ok = start_listener(set, &sp, control, pretty, id, errp);
    } else if (ok) {
        Chardev *chr = chr_new_shorthand(spec, id, errp);
        ok = chr && chr_registry_add(m->chardevs, chr, errp) &&
             monitor_add(m, chr, control, pretty, errp);
    }
    spec_clear(&sp);
    if (!ok)
        g_prefix_error(errp, "%s %s: ", opt, spec);
    return ok;
}

bool monitor_parse_qmp_option(Machine *m, const char *spec, bool pretty, GError **errp)
{
    return monitor_open(m, pretty ? "-qmp-pretty" : "-qmp", spec, true, pretty, errp);
}

bool monitor_parse_hmp_option(Machine *m, const char *spec, GError **errp)
{
    if (!strcmp(spec, "none"))
        return true;
    return monitor_open(m, "-monitor", spec, false, false, errp);
}

/* -mon [chardev=]ID[,mode=readline|control][,pretty=on|off][,id=ID] (QemuOpts: flat
 * keyval); the id names the monitor (QEMU keeps it as the options' id). */
bool monitor_parse_mon_option(Machine *m, const char *spec, GError **errp)
{
    static const char *const keys[] = { "chardev", "mode", "pretty", "id", NULL };
    g_autoptr(JsonObject) o = keyval_parse(spec, "chardev", KEYVAL_FLAT, NULL, errp);
    bool pretty = false, control = false;
    if (!o || !qv_check_unexpected(o, NULL, keys, errp))
        goto fail;
    const char *chardev = kv_get_str(o, "chardev"), *mode = kv_get_str(o, "mode");
    const char *pv = kv_get_str(o, "pretty"), *id = kv_get_str(o, "id");
    if (mode && strcmp(mode, "control") && strcmp(mode, "readline")) {
        g_set_error(errp, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                    "Parameter 'mode' expects 'control' or 'readline'");
        goto fail;
    }
    control = mode && !strcmp(mode, "control");
    if (pv && !str_to_bool(pv, &pretty)) {
        g_set_error(errp, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                    "Parameter 'pretty' expects 'on' or 'off'");
        goto fail;
    }
    if (id && !id_check("id", id, errp))
        goto fail;
    Chardev *chr = chardev ? chr_registry_find(m->chardevs, chardev) : NULL;
    if (!chardev)
        g_set_error(errp, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                    "Parameter 'chardev' is missing");
    else if (!chr)
        g_set_error(errp, G_IO_ERROR, G_IO_ERROR_NOT_FOUND,
                    "chardev \"%s\" not found", chardev);
    if (chr && monitor_add(m, chr, control, pretty, errp))
        return true;
fail:
    g_prefix_error(errp, "-mon %s: ", spec);
    return false;
}
