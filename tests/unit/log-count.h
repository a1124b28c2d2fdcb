/*
 * Counting the log lines a test provokes (guest-triggered messages must stay within
 * their LogBudget, include/vireo/log.h): a handler for the default domain that counts
 * instead of printing, with warnings made non-fatal meanwhile.
 */
#ifndef TESTS_UNIT_LOG_COUNT_H
#define TESTS_UNIT_LOG_COUNT_H
#include <glib.h>

/* No line budget allows this many in the few seconds 100000 triggers take. */
#define LOG_FLOOD_MAX_LINES 50

typedef struct LogCount {
    unsigned lines;
    guint handler;
    GLogLevelFlags old_fatal;
} LogCount;

static void log_count_line(const gchar *domain, GLogLevelFlags level, const gchar *msg,
                           gpointer opaque)
{
    ((LogCount *)opaque)->lines++;
}

static inline void log_count_start(LogCount *c)
{
    c->lines = 0;
    c->old_fatal = g_log_set_always_fatal(G_LOG_FATAL_MASK);
    c->handler = g_log_set_handler(NULL, G_LOG_LEVEL_MASK, log_count_line, c);
}

static inline unsigned log_count_stop(LogCount *c)
{
    g_log_remove_handler(NULL, c->handler);
    g_log_set_always_fatal(c->old_fatal);
    return c->lines;
}

#endif
