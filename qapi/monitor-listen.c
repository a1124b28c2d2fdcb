/*
 * Monitor command-line options (-qmp, -qmp-pretty, -monitor, -mon) and the
 * multi-client listening sockets behind -qmp unix:...,server=on / tcp:...,server=on:
 * every accepted connection (chr_listener_new(), chardev/) is a session of its own,
 * so any number of QMP clients can be connected at once (QEMU's socket chardev
 * serves one at a time).
 */
#include "qapi/monitor-int.h"
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

static bool parse_onoff(const char *opt, const char *val, bool *out, GError **errp)
{
    if (!val || !strcmp(val, "on") || !strcmp(val, "yes") || !strcmp(val, "true"))
        *out = true;
    else if (!strcmp(val, "off") || !strcmp(val, "no") || !strcmp(val, "false"))
        *out = false;
    else {
        g_set_error(errp, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                    "Parameter '%s' expects 'on' or 'off'", opt);
        return false;
    }
    return true;
}

/* The options after the address: server=on|off, wait=on|off (and the old "server",
 * "nowait" flags); ipv4/ipv6/nodelay are accepted and ignored. */
static bool parse_socket_opts(char **opts, SocketSpec *sp, GError **errp)
{
    sp->wait = true;
    for (; *opts; opts++) {
        g_auto(GStrv) kv = g_strsplit(*opts, "=", 2);
        const char *k = kv[0], *v = kv[1];
        bool b;
        if (!strcmp(k, "nowait")) {
            sp->wait = false;
        } else if (!strcmp(k, "server") || !strcmp(k, "wait")) {
            if (!parse_onoff(k, v, &b, errp))
                return false;
            *(!strcmp(k, "server") ? &sp->server : &sp->wait) = b;
        } else if (strcmp(k, "ipv4") && strcmp(k, "ipv6") && strcmp(k, "nodelay")) {
            g_set_error(errp, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                        "Invalid parameter '%s'", k);
            return false;
        }
    }
    return true;
}

/* Parses "unix:PATH,opts" or "tcp:HOST:PORT,opts"; false (no error) for others. */
static bool parse_socket_spec(const char *spec, SocketSpec *sp, GError **errp)
{
    g_auto(GStrv) parts = g_strsplit(spec, ",", -1);
    const char *addr = parts[0];
    if (g_str_has_prefix(addr, "unix:")) {
        sp->unix_path = g_strdup(addr + 5);
    } else if (g_str_has_prefix(addr, "tcp:")) {
        const char *colon = strrchr(addr + 4, ':');
        if (!colon || !colon[1]) {
            g_set_error(errp, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                        "'%s': expected tcp:HOST:PORT", addr);
            return false;
        }
        sp->host = g_strndup(addr + 4, colon - (addr + 4));
        sp->port = g_strdup(colon + 1);
    } else {
        return true;
    }
    return parse_socket_opts(parts + 1, sp, errp);
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

bool monitor_parse_mon_option(Machine *m, const char *spec, GError **errp)
{
    g_auto(GStrv) opts = g_strsplit(spec, ",", -1);
    const char *chardev = NULL;
    bool control = false, pretty = false;
    for (char **o = opts; *o; o++) {
        const char *eq = strchr(*o, '=');
        const char *val = eq ? eq + 1 : "";
        g_autofree char *key = eq ? g_strndup(*o, eq - *o) : g_strdup(*o);
        if (!strcmp(key, "chardev")) {
            chardev = val;
        } else if (!strcmp(key, "mode") && (!strcmp(val, "control") ||
                                              !strcmp(val, "readline"))) {
            control = !strcmp(val, "control");
        } else if (!strcmp(key, "pretty")) {
            if (!parse_onoff("pretty", eq ? val : NULL, &pretty, errp))
                goto fail;
        } else {
            g_set_error(errp, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                        strcmp(key, "mode") ? "Invalid parameter '%s'"
                        : "Parameter 'mode' expects 'control' or 'readline'", key);
            goto fail;
        }
    }
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
