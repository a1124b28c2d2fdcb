/*
 * -readconfig FILE: QEMU's configuration file format (the .cfg files in QEMU's docs/config):
 *
 *   # comment
 *   [GROUP]                or   [GROUP "ID"]
 *     KEY = "VALUE"
 *
 * Each section is the option whose option group is GROUP ([drive "d0"] is -drive
 * id=d0,...), run through the same handler as on the command line.
 */
#include "cmdline-int.h"
#include <stdio.h>
#include <string.h>

/* Option group (QEMU's QemuOptsList name) -> command-line option. */
static const struct { const char *group, *option; } groups[] = {
    { "machine", "machine" }, { "accel", "accel" }, { "smp-opts", "smp" },
    { "memory", "m" }, { "drive", "drive" }, { "device", "device" },
    { "chardev", "chardev" }, { "mon", "mon" }, { "global", "global" },
    { "object", "object" }, { "name", "name" }, { "rtc", "rtc" }, { "msg", "msg" },
    { "sandbox", "sandbox" }, { "overcommit", "overcommit" }, { "add-fd", "add-fd" },
};

typedef struct Section {
    const char *option;
    GString *text;                  /* KEY=VALUE,... with ',' doubled in values */
    unsigned line;
} Section;

static bool section_end(VireoOptions *o, Section *s, const char *file, GError **errp)
{
    if (!s->option)
        return true;
    char *text = g_string_free(s->text, FALSE);
    s->text = NULL;
    g_ptr_array_add(o->owned, text);
    if (cmdline_run_option(o, s->option, text, errp))
        return true;
    g_prefix_error(errp, "-readconfig %s:%u: ", file, s->line);
    return false;
}

static void append_escaped(GString *t, const char *s)
{
    for (; *s; s++) {
        if (*s == ',')
            g_string_append_c(t, ',');
        g_string_append_c(t, *s);
    }
}

static bool section_start(Section *s, const char *line, unsigned lineno, GError **errp)
{
    char group[64], id[128];
    int n = 0;
    if (sscanf(line, "[%63[^] \"] \"%127[^\"]\"]%n", group, id, &n) == 2 && n) {
        ;
    } else if (sscanf(line, "[%63[^]]]%n", group, &n) == 1 && n) {
        id[0] = '\0';
    } else {
        g_set_error(errp, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT, "parse error");
        return false;
    }
    s->option = NULL;
    for (size_t i = 0; i < G_N_ELEMENTS(groups); i++)
        if (!strcmp(groups[i].group, group))
            s->option = groups[i].option;
    if (!s->option) {
        g_set_error(errp, G_IO_ERROR, G_IO_ERROR_NOT_FOUND,
                    "There is no option group '%s'", group);
        return false;
    }
    s->text = g_string_new(NULL);
    s->line = lineno;
    if (*id) {
        g_string_append(s->text, "id=");
        append_escaped(s->text, id);
    }
    return true;
}

/* KEY = "VALUE" (QEMU's quoting: the value is everything up to the next quote). */
static bool key_value(Section *s, const char *line, GError **errp)
{
    const char *k = line + strspn(line, " \t"), *p = k + strcspn(k, " \t=");
    g_autofree char *key = g_strndup(k, p - k);
    p += strspn(p, " \t");
    const char *q = *p == '=' ? p + 1 + strspn(p + 1, " \t") : NULL;
    const char *end = q && *q == '"' ? strchr(q + 1, '"') : NULL;
    if (!*key || !end || end[1 + strspn(end + 1, " \t\r")]) {
        g_set_error(errp, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT, "parse error");
        return false;
    }
    if (!s->option) {
        g_set_error(errp, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT, "no group defined");
        return false;
    }
    g_autofree char *value = g_strndup(q + 1, end - q - 1);
    if (s->text->len)
        g_string_append_c(s->text, ',');
    g_string_append_printf(s->text, "%s=", key);
    append_escaped(s->text, value);
    return true;
}

bool cmdline_h_readconfig(VireoOptions *o, const char *v, GError **errp)
{
    g_autofree char *data = NULL;
    GError *err = NULL;
    if (!g_file_get_contents(v, &data, NULL, &err)) {
        g_set_error(errp, G_IO_ERROR, G_IO_ERROR_NOT_FOUND, "-readconfig %s: %s", v,
                    err->message);
        g_error_free(err);
        return false;
    }
    g_auto(GStrv) lines = g_strsplit(data, "\n", -1);
    Section s = { 0 };
    for (unsigned i = 0; lines[i]; i++) {
        const char *l = lines[i] + strspn(lines[i], " \t");
        bool ok = true;
        if (!*l || *l == '#' || *l == '\r')
            continue;
        if (*l == '[')
            ok = section_end(o, &s, v, errp) && section_start(&s, l, i + 1, errp);
        else
            ok = key_value(&s, l, errp);
        if (!ok) {
            if (!g_str_has_prefix((*errp)->message, "-readconfig"))
                g_prefix_error(errp, "-readconfig %s:%u: ", v, i + 1);
            if (s.text)
                g_string_free(s.text, TRUE);
            return false;
        }
    }
    return section_end(o, &s, v, errp);
}
