/*
 * Budgeted logging (util/log.c) for every message a guest, an image, a stream or a
 * client can trigger: a token bucket per message site (or per device), so a hostile
 * peer that repeats the trigger a million times costs a few lines, then one line per
 * interval with the number of messages suppressed in between.
 */
#ifndef VIREO_LOG_H
#define VIREO_LOG_H

#include <stdbool.h>
#include <stdint.h>
#include <glib.h>

typedef struct LogBudget {
    unsigned burst;          /* lines allowed at once */
    unsigned interval_ms;    /* one more line allowed per interval */
    unsigned tokens;
    bool started;
    int64_t last_refill_us;
    uint64_t suppressed;     /* lines dropped since the last one printed */
} LogBudget;

/* 10 lines, then one every 5 s: the default for guest-triggerable messages. */
#define LOG_BUDGET_DEFAULT { .burst = 10, .interval_ms = 5000 }
#define LOG_BUDGET(b, ms) { .burst = (b), .interval_ms = (ms) }

/* Prints a warning (g_warning's channel, so tests can count it; "vireo: warning: ..."
 * through report_set_format()'s writer) when @b has a token; otherwise counts it as
 * suppressed. Returns whether it printed. Thread-safe only under the caller's lock
 * (the BQL for device models). */
bool log_budget_warn(LogBudget *b, const char *fmt, ...) G_GNUC_PRINTF(2, 3);
/* A start-up warning about the configuration as QEMU's warn_report(): one line
 * "vireo: warning: ..." on stderr (g_printerr), never a GLib warning, so it is never
 * fatal (GLib test programs abort on warnings) and reads like QEMU's. */
void warn_report(const char *fmt, ...) G_GNUC_PRINTF(1, 2);

/* The same with an explicit time, for tests. */
bool log_budget_check(LogBudget *b, int64_t now_us);

/* A start-up or fatal message on stderr: "vireo: TEXT" with -msg's prefixes. */
void report_error(const char *fmt, ...) G_GNUC_PRINTF(1, 2);
/* -msg timestamp=on / guest-name=on (NULL: off); also for g_warning/g_message lines.
 * The first call installs the process's GLib log writer: every GLib warning, message
 * and critical becomes "vireo: warning: TEXT" / "vireo: TEXT" / "vireo: error: TEXT". */
void report_set_format(bool timestamp, const char *guest_name);

#endif
