/* Trace events and the -trace option's model (include/vireo/trace.h). */
#include "vireo/trace.h"
#include <errno.h>
#include <stdio.h>
#include <string.h>

static const char *const names[TRACE_EVENT_COUNT] = {
    [TRACE_VIREO_STARTUP] = "vireo_startup",
};
static bool enabled[TRACE_EVENT_COUNT];
static FILE *out;

const char *trace_event_name(TraceEvent e)
{
    return (unsigned)e < TRACE_EVENT_COUNT ? names[e] : "?";
}

bool trace_enable_pattern(const char *pattern, bool enable, GError **errp)
{
    bool any = false;

    for (int i = 0; i < TRACE_EVENT_COUNT; i++) {
        if (g_pattern_match_simple(pattern, names[i])) {
            enabled[i] = enable;
            any = true;
        }
    }
    if (!any && !strpbrk(pattern, "*?")) {
        g_set_error(errp, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                    "trace event '%s' does not exist", pattern);
        return false;
    }
    return true;
}

bool trace_enable_events_file(const char *path, GError **errp)
{
    g_autofree char *text = NULL;
    GError *err = NULL;

    if (!g_file_get_contents(path, &text, NULL, &err)) {
        g_set_error(errp, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT, "events file: %s",
                    err->message);
        g_error_free(err);
        return false;
    }
    g_auto(GStrv) lines = g_strsplit(text, "\n", -1);
    for (unsigned i = 0; lines[i]; i++) {
        char *l = g_strstrip(lines[i]);
        if (!*l || *l == '#')
            continue;
        bool on = *l != '-';
        if (!trace_enable_pattern(on ? l : l + 1, on, &err)) {
            g_set_error(errp, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT, "%s:%u: %s", path,
                        i + 1, err->message);
            g_error_free(err);
            return false;
        }
    }
    return true;
}

bool trace_set_file(const char *path, GError **errp)
{
    FILE *f = fopen(path, "w");

    if (!f) {
        g_set_error(errp, G_IO_ERROR, g_io_error_from_errno(errno), "%s: %s", path,
                    g_strerror(errno));
        return false;
    }
    setvbuf(f, NULL, _IOLBF, 0);
    if (out)
        fclose(out);
    out = f;
    return true;
}

bool trace_event_enabled(TraceEvent e)
{
    return (unsigned)e < TRACE_EVENT_COUNT && enabled[e];
}

static void emit(TraceEvent e, gint64 t, const char *fmt, va_list ap)
{
    g_autofree char *msg = g_strdup_vprintf(fmt, ap);

    fprintf(out ? out : stderr, "vireo-trace: %" G_GINT64_FORMAT ".%06d %s %s\n",
            t / 1000000, (int)(t % 1000000), names[e], msg);
}

void trace_emit(TraceEvent e, const char *fmt, ...)
{
    va_list ap;

    if (!trace_event_enabled(e))
        return;
    va_start(ap, fmt);
    emit(e, g_get_real_time(), fmt, ap);
    va_end(ap);
}

void trace_emit_at(TraceEvent e, gint64 when, const char *fmt, ...)
{
    va_list ap;

    if (!trace_event_enabled(e))
        return;
    va_start(ap, fmt);
    emit(e, when, fmt, ap);
    va_end(ap);
}
