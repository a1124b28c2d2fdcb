/*
 * Messages to stderr (include/vireo/log.h: report_error): "vireo: TEXT", with the
 * prefixes -msg asks for (QEMU's error_report): timestamp=on puts the UTC time
 * ("2026-12-02T12:53:39.123456Z ") first, guest-name=on the guest's name. GLib's
 * g_warning/g_message lines (log_budget_warn's too) go through a log writer that gives
 * them the same prefixes and Vireo's form: "vireo: warning: TEXT" (QEMU's
 * warn_report), "vireo: error: TEXT" for a critical, "vireo: TEXT" for a message;
 * never GLib's "** (vireo:PID): WARNING **". The format is the process's, set once at
 * start-up before any thread exists.
 */
#include "vireo/log.h"
#include <stdio.h>
#include <string.h>

static struct {
    bool timestamp;
    char *guest;
} fmt;

static void prefix(GString *s)
{
    if (fmt.timestamp) {
        g_autoptr(GDateTime) t = g_date_time_new_now_utc();
        g_autofree char *iso = g_date_time_format(t, "%Y-%m-%dT%H:%M:%S");
        g_string_append_printf(s, "%s.%06dZ ", iso, g_date_time_get_microsecond(t));
    }
    if (fmt.guest)
        g_string_append_printf(s, "%s ", fmt.guest);
}

static const char *level_word(GLogLevelFlags level)
{
    if (level & (G_LOG_LEVEL_ERROR | G_LOG_LEVEL_CRITICAL))
        return "error: ";
    if (level & G_LOG_LEVEL_WARNING)
        return "warning: ";
    if (level & G_LOG_LEVEL_INFO)
        return "info: ";
    if (level & G_LOG_LEVEL_DEBUG)
        return "debug: ";
    return "";
}

static GLogWriterOutput writer(GLogLevelFlags level, const GLogField *fields, gsize n,
                               gpointer data)
{
    const char *msg = NULL, *domain = NULL;
    for (gsize i = 0; i < n; i++) {
        if (!strcmp(fields[i].key, "MESSAGE") && fields[i].length < 0)
            msg = fields[i].value;
        else if (!strcmp(fields[i].key, "GLIB_DOMAIN") && fields[i].length < 0)
            domain = fields[i].value;
    }
    /* debug and info only as G_MESSAGES_DEBUG asks, as GLib's own writer */
    if (g_log_writer_default_would_drop(level, domain))
        return G_LOG_WRITER_HANDLED;
    g_autoptr(GString) s = g_string_new(NULL);
    prefix(s);
    g_string_append_printf(s, "vireo: %s", level_word(level));
    if (domain)                         /* a library's message: GLib-GIO, ... */
        g_string_append_printf(s, "%s: ", domain);
    g_string_append(s, msg ? msg : "(no message)");
    g_string_append_c(s, '\n');
    fputs(s->str, stderr);
    return G_LOG_WRITER_HANDLED;
}

void report_set_format(bool timestamp, const char *guest_name)
{
    static gsize installed;
    fmt.timestamp = timestamp;
    g_free(fmt.guest);
    fmt.guest = g_strdup(guest_name);
    if (g_once_init_enter(&installed)) {    /* GLib allows one writer per process */
        g_log_set_writer_func(writer, NULL, NULL);
        g_once_init_leave(&installed, 1);
    }
}

void report_error(const char *f, ...)
{
    va_list ap;
    g_autoptr(GString) s = g_string_new(NULL);
    prefix(s);
    g_string_append(s, "vireo: ");
    va_start(ap, f);
    g_string_append_vprintf(s, f, ap);
    va_end(ap);
    fprintf(stderr, "%s\n", s->str);
}
