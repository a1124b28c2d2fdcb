/* Budgeted logging (include/vireo/log.h). */
#include "vireo/log.h"

bool log_budget_check(LogBudget *b, int64_t now_us)
{
    if (!b->started) {
        b->started = true;
        b->tokens = b->burst;
        b->last_refill_us = now_us;
    }
    int64_t step = (int64_t)b->interval_ms * 1000;
    if (step > 0 && now_us - b->last_refill_us >= step) {
        int64_t n = (now_us - b->last_refill_us) / step;
        b->tokens = (unsigned)MIN((int64_t)b->burst, (int64_t)b->tokens + n);
        b->last_refill_us += n * step;
    }
    if (b->tokens == 0) {
        b->suppressed++;
        return false;
    }
    b->tokens--;
    return true;
}

void warn_report(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    g_autofree char *msg = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    g_printerr("vireo: warning: %s\n", msg);
}

bool log_budget_warn(LogBudget *b, const char *fmt, ...)
{
    if (!log_budget_check(b, g_get_monotonic_time()))
        return false;
    va_list ap;
    va_start(ap, fmt);
    g_autofree char *msg = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    if (b->suppressed) {
        g_warning("%s (%" G_GUINT64_FORMAT " similar messages suppressed)", msg, b->suppressed);
        b->suppressed = 0;
    } else {
        g_warning("%s", msg);
    }
    return true;
}
