/*
 * Messages to stderr (include/vireo/log.h: report_error): "vireo: TEXT", with the
 * prefixes -msg asks for (QEMU's error_report): timestamp=on puts the UTC time
 * ("2026-12-02T12:53:39.123456Z ") first, guest-name=on the guest's name. GLib's
 * g_warning/g_message lines get the same prefixes through a log writer. The format is
 * the process's, set once at start-up before any thread exists.
 */
#include "vireo/log.h"
#include <stdio.h>

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

static GLogWriterOutput writer(GLogLevelFlags level, const GLogField *fields, gsize n,
                               gpointer data)
{
    if (!g_log_writer_default_would_drop(level, NULL) || (level & G_LOG_LEVEL_WARNING)) {
        g_autoptr(GString) s = g_string_new(NULL);
        g_autofree char *line = g_log_writer_format_fields(level, fields, n, FALSE);
        prefix(s);
        fprintf(stderr, "%s%s\n", s->str, line);
    }
    return G_LOG_WRITER_HANDLED;
}

void report_set_format(bool timestamp, const char *guest_name)
{
    fmt.timestamp = timestamp;
    g_free(fmt.guest);
    fmt.guest = g_strdup(guest_name);
    if (timestamp || guest_name)
        g_log_set_writer_func(writer, NULL, NULL);
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
