/*
 * The options that shape the process rather than the machine, as management tools
 * pass them (QEMU 7.2's names and texts): -pidfile, -daemonize, -name, -msg,
 * -overcommit, -sandbox, -global, -add-fd. system/vl.c acts on what they set.
 */
#include "cmdline-int.h"
#include "vireo/sandbox.h"
#include "vireo/trace.h"
#include <string.h>

bool cmdline_h_pidfile(VireoOptions *o, const char *v, GError **errp)
{
    o->pidfile = v;
    return true;
}

bool cmdline_h_daemonize(VireoOptions *o, const char *v, GError **errp)
{
    o->daemonize = true;
    return true;
}

/* -name [guest=]NAME[,process=NAME][,debug-threads=on|off] */
bool cmdline_h_name(VireoOptions *o, const char *v, GError **errp)
{
    static const char *const keys[] = { "guest", "process", "debug-threads", NULL };
    g_autoptr(JsonObject) kv = cmdline_opt_parse("name", v, "guest", keys, NULL, errp);
    bool dbg;
    if (!kv || !cmdline_opt_bool(kv, "name", v, "debug-threads", false, &dbg, errp))
        return false;
    const char *proc = kv_get_str(kv, "process");
    g_free((char *)o->machine.name);
    o->machine.name = g_strdup(kv_get_str(kv, "guest"));
    o->process_name = proc ? g_intern_string(proc) : NULL;
    o->machine.debug_threads = dbg;
    return true;
}

/* -msg timestamp=on|off,guest-name=on|off: how messages to stderr are prefixed. */
bool cmdline_h_msg(VireoOptions *o, const char *v, GError **errp)
{
    static const char *const keys[] = { "timestamp", "guest-name", NULL };
    g_autoptr(JsonObject) kv = cmdline_opt_parse("msg", v, NULL, keys, NULL, errp);
    return kv && cmdline_opt_bool(kv, "msg", v, "timestamp", false, &o->msg_timestamp, errp) &&
           cmdline_opt_bool(kv, "msg", v, "guest-name", false, &o->msg_guest_name, errp);
}

/* -trace [enable=]PATTERN[,events=FILE][,file=FILE]: QEMU's trace option over Vireo's
 * events (vireo/trace.h). */
bool cmdline_h_trace(VireoOptions *o, const char *v, GError **errp)
{
    static const char *const keys[] = { "enable", "events", "file", NULL };
    g_autoptr(JsonObject) kv = cmdline_opt_parse("trace", v, "enable", keys, NULL, errp);
    GError *err = NULL;

    if (!kv)
        return false;
    const char *en = json_object_has_member(kv, "enable") ? kv_get_str(kv, "enable") : NULL;
    const char *ev = json_object_has_member(kv, "events") ? kv_get_str(kv, "events") : NULL;
    const char *file = json_object_has_member(kv, "file") ? kv_get_str(kv, "file") : NULL;
    if ((en && !trace_enable_pattern(en, true, &err)) ||
        (ev && !trace_enable_events_file(ev, &err)) ||
        (file && !trace_set_file(file, &err))) {
        cmdline_bad(errp, "trace", v, err->message);
        g_error_free(err);
        return false;
    }
    return true;
}

/* -overcommit mem-lock=on|off,cpu-pm=on|off */
bool cmdline_h_overcommit(VireoOptions *o, const char *v, GError **errp)
{
    static const char *const keys[] = { "mem-lock", "cpu-pm", NULL };
    g_autoptr(JsonObject) kv = cmdline_opt_parse("overcommit", v, NULL, keys, NULL, errp);
    bool pm;
    if (!kv || !cmdline_opt_bool(kv, "overcommit", v, "mem-lock", false, &o->mem_lock, errp) ||
        !cmdline_opt_bool(kv, "overcommit", v, "cpu-pm", false, &pm, errp))
        return false;
    if (pm)
        return cmdline_bad(errp, "overcommit", v, "cpu-pm=on: Vireo does not let the guest "
                           "run HLT/MWAIT/PAUSE without exits");
    return true;
}

/* -sandbox on|off[,obsolete=allow|deny][,elevateprivileges=allow|deny|children]
 * [,spawn=allow|deny][,resourcecontrol=allow|deny]: QEMU's seccomp groups. */
bool cmdline_h_sandbox(VireoOptions *o, const char *v, GError **errp)
{
    static const char *const keys[] = { "enable", "obsolete", "elevateprivileges", "spawn",
                                        "resourcecontrol", NULL };
    static const struct { const char *key, *deny; unsigned set; bool on_deny; } groups[] = {
        { "obsolete", "deny", SANDBOX_SET_OBSOLETE, true },
        { "elevateprivileges", "deny", SANDBOX_SET_PRIVILEGED, false },
        { "spawn", "deny", SANDBOX_SET_SPAWN, false },
        { "resourcecontrol", "deny", SANDBOX_SET_RESOURCECTL, false },
    };
    g_autoptr(JsonObject) kv = cmdline_opt_parse("sandbox", v, "enable", keys, NULL, errp);
    if (!kv || !cmdline_opt_bool(kv, "sandbox", v, "enable", false, &o->sandbox, errp))
        return false;
    unsigned sets = SANDBOX_SET_DEFAULT | SANDBOX_SET_OBSOLETE;
    for (size_t i = 0; i < G_N_ELEMENTS(groups); i++) {
        const char *val = kv_get_str(kv, groups[i].key);
        bool children = !strcmp(groups[i].key, "elevateprivileges") && val &&
                        !strcmp(val, "children");
        if (!val)
            continue;
        if (!strcmp(val, "deny") || children) {
            sets |= groups[i].set;
            if (children)
                sets |= SANDBOX_NO_NEW_PRIVS;
        } else if (!strcmp(val, "allow")) {
            sets &= ~groups[i].set;
        } else {
            g_autofree char *why = g_strdup_printf("invalid argument for %s", groups[i].key);
            return cmdline_bad(errp, "sandbox", v, why);
        }
    }
    if (o->sandbox && !sandbox_available()) {
        g_set_error(errp, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED,
                    "-sandbox on,...: seccomp support is disabled");
        return false;
    }
    o->sandbox_sets = sets;
    return true;
}

void global_prop_free(GlobalProp *g)
{
    g_free(g->driver);
    g_free(g->property);
    g_free(g->value);
    g_free(g->text);
    g_free(g);
}

/* The value must suit the property: tried on a scratch instance of the type. */
static bool global_check(const GlobalProp *g, GError **errp)
{
    const DeviceClass *cls = device_class_find(g->driver);
    if (!cls) {
        g_set_error(errp, G_IO_ERROR, G_IO_ERROR_NOT_FOUND,
                    "'%s' is not a valid device model name", g->driver);
        return false;
    }
    const Property *p = device_class_find_prop(cls, g->property);
    if (!p) {
        g_set_error(errp, G_IO_ERROR, G_IO_ERROR_NOT_FOUND, "Property '%s.%s' not found",
                    g->driver, g->property);
        return false;
    }
    /* A scratch object to parse into: big enough for the property even when the class
     * named is an abstract parent (pci-device) whose instance size is smaller than the
     * offset of a property a subclass's struct holds. 16: the widest property value. */
    void *scratch = g_malloc0(MAX(MAX(cls->instance_size, sizeof(Device)), p->offset + 16));
    bool ok = prop_set_text(p, scratch, g->value, g->driver, errp);
    props_free((const Property[]){ *p, PROP_END }, scratch);
    g_free(scratch);
    return ok;
}

/* -global DRIVER.PROP=VALUE, or -global driver=D,property=P,value=V */
bool cmdline_h_global(VireoOptions *o, const char *v, GError **errp)
{
    GlobalProp *g = g_new0(GlobalProp, 1);
    g->text = g_strdup(v);
    const char *eq = strchr(v, '='), *dot = eq ? memchr(v, '.', eq - v) : NULL;
    if (g_str_has_prefix(v, "driver=")) {
        static const char *const keys[] = { "driver", "property", "value", NULL };
        g_autoptr(JsonObject) kv = cmdline_opt_parse("global", v, NULL, keys, NULL, errp);
        if (!kv) {
            global_prop_free(g);
            return false;
        }
        g->driver = g_strdup(kv_get_str(kv, "driver"));
        g->property = g_strdup(kv_get_str(kv, "property"));
        g->value = g_strdup(kv_get_str(kv, "value"));
    } else if (dot) {
        g->driver = g_strndup(v, dot - v);
        g->property = g_strndup(dot + 1, eq - dot - 1);
        g->value = g_strdup(eq + 1);
    }
    if (!g->driver || !g->property || !g->value || !*g->driver || !*g->property) {
        global_prop_free(g);
        return cmdline_bad(errp, "global", v, "expected DRIVER.PROPERTY=VALUE");
    }
    if (!global_check(g, errp)) {
        option_prefix_error(errp, "global", v);
        global_prop_free(g);
        return false;
    }
    g_ptr_array_add(o->globals, g);
    return true;
}

bool cmdline_h_add_fd(VireoOptions *o, const char *v, GError **errp)
{
    g_ptr_array_add(o->add_fds, (char *)v);
    return true;
}
