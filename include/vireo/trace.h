/*
 * Trace events, enabled as QEMU's are: -trace [enable=]PATTERN[,events=FILE][,file=FILE].
 * PATTERN is a glob over the event names below; an events file holds one pattern per
 * line ('#' comments, a leading '-' disables). Lines go to stderr or to FILE.
 */
#ifndef VIREO_TRACE_H
#define VIREO_TRACE_H

#include <stdbool.h>
#include <gio/gio.h>

typedef enum TraceEvent {
    TRACE_VIREO_STARTUP,        /* "vireo_startup": milestones from main to the first KVM_RUN */
    TRACE_EVENT_COUNT
} TraceEvent;

const char *trace_event_name(TraceEvent e);
/* Enables (or with @enable false disables) the events matching @pattern; a pattern
 * without wildcards that names no event is an error. */
bool trace_enable_pattern(const char *pattern, bool enable, GError **errp);
bool trace_enable_events_file(const char *path, GError **errp);
/* Sends trace lines to @path (truncated) instead of stderr. */
bool trace_set_file(const char *path, GError **errp);
bool trace_event_enabled(TraceEvent e);
/* "vireo-trace: SECONDS.USEC NAME MESSAGE" if @e is enabled. */
void trace_emit(TraceEvent e, const char *fmt, ...) G_GNUC_PRINTF(2, 3);
/* Same, stamped with @when (g_get_real_time()): a milestone seen before -trace was read. */
void trace_emit_at(TraceEvent e, gint64 when, const char *fmt, ...) G_GNUC_PRINTF(3, 4);

#endif
