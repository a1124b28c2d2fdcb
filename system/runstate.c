/*
 * Run states and lifecycle requests (include/vireo/runstate.h).
 *
 * Requests arrive from any thread as flags and a main-loop wakeup; vm_main_loop()
 * carries them out on the main thread with the lock held. The state is the machine's
 * (m->run), so a test binary can hold several machines.
 */
#include "vireo/runstate.h"
#include "vireo/machine.h"
#include "vireo/mainloop.h"
#include <stdio.h>
#include <glib.h>

static const char *const runstate_names[RUN_STATE__MAX] = {
    [RUN_STATE_PRELAUNCH] = "prelaunch", [RUN_STATE_RUNNING] = "running",
    [RUN_STATE_PAUSED] = "paused", [RUN_STATE_SHUTDOWN] = "shutdown",
    [RUN_STATE_INTERNAL_ERROR] = "internal-error",
    [RUN_STATE_GUEST_PANICKED] = "guest-panicked", [RUN_STATE_DEBUG] = "debug",
    [RUN_STATE_INMIGRATE] = "inmigrate", [RUN_STATE_POSTMIGRATE] = "postmigrate",
    [RUN_STATE_FINISH_MIGRATE] = "finish-migrate", [RUN_STATE_SAVE_VM] = "save-vm",
    [RUN_STATE_RESTORE_VM] = "restore-vm", [RUN_STATE_SUSPENDED] = "suspended",
    [RUN_STATE_WATCHDOG] = "watchdog", [RUN_STATE_IO_ERROR] = "io-error",
    [RUN_STATE_COLO] = "colo",
};

static const char *const cause_names[SHUTDOWN_CAUSE__MAX] = {
    [SHUTDOWN_CAUSE_NONE] = "none", [SHUTDOWN_CAUSE_HOST_ERROR] = "host-error",
    [SHUTDOWN_CAUSE_HOST_QMP_QUIT] = "host-qmp-quit",
    [SHUTDOWN_CAUSE_HOST_QMP_SYSTEM_RESET] = "host-qmp-system-reset",
    [SHUTDOWN_CAUSE_HOST_SIGNAL] = "host-signal", [SHUTDOWN_CAUSE_HOST_UI] = "host-ui",
    [SHUTDOWN_CAUSE_GUEST_SHUTDOWN] = "guest-shutdown",
    [SHUTDOWN_CAUSE_GUEST_RESET] = "guest-reset", [SHUTDOWN_CAUSE_GUEST_PANIC] = "guest-panic",
    [SHUTDOWN_CAUSE_SUBSYSTEM_RESET] = "subsystem-reset",
    [SHUTDOWN_CAUSE_SNAPSHOT_LOAD] = "snapshot-load",
};

RunState runstate_get(Machine *m) { return m->run.state; }
bool runstate_is_running(Machine *m) { return m->run.state == RUN_STATE_RUNNING; }

const char *runstate_name(RunState s)
{
    return s < RUN_STATE__MAX ? runstate_names[s] : "unknown";
}

const char *shutdown_cause_name(ShutdownCause c)
{
    return c < SHUTDOWN_CAUSE__MAX ? cause_names[c] : "none";
}

bool shutdown_cause_is_guest(ShutdownCause c)
{
    return c == SHUTDOWN_CAUSE_GUEST_SHUTDOWN || c == SHUTDOWN_CAUSE_GUEST_RESET ||
           c == SHUTDOWN_CAUSE_GUEST_PANIC;
}

void runstate_add_notifier(Machine *m, const RunstateNotifier *n)
{
    if (!m->run.notifiers)
        m->run.notifiers = g_array_new(FALSE, FALSE, sizeof(RunstateNotifier));
    g_array_append_val(m->run.notifiers, *n);
}

void runstate_remove_notifier(Machine *m, void *opaque)
{
    for (guint i = m->run.notifiers ? m->run.notifiers->len : 0; i-- > 0;)
        if (g_array_index(m->run.notifiers, RunstateNotifier, i).opaque == opaque)
            g_array_remove_index(m->run.notifiers, i);
}

void runstate_cleanup(Machine *m)
{
    if (m->run.notifiers)
        g_array_free(m->run.notifiers, TRUE);
    m->run.notifiers = NULL;
}

#define NOTIFY(member, ...)                                                   \
    do {                                                                      \
        for (guint i_ = 0; rs->notifiers && i_ < rs->notifiers->len; i_++) {  \
            RunstateNotifier *n_ = &g_array_index(rs->notifiers, RunstateNotifier, i_); \
            if (n_->member)                                                   \
                n_->member(n_->opaque, ##__VA_ARGS__);                        \
        }                                                                     \
    } while (0)

void runstate_init(Machine *m, const VmOps *ops, bool no_reboot, bool no_shutdown)
{
    m->run.ops = *ops;
    m->run.no_reboot = no_reboot;
    m->run.no_shutdown = no_shutdown;
}

void runstate_set(Machine *m, RunState s)
{
    bool was = m->run.state == RUN_STATE_RUNNING, is = s == RUN_STATE_RUNNING;
    if (was != is) {
        int64_t now = clock_ns(m->clock);
        if (is)
            m->run.running_since = now;
        else
            m->run.ran_ns += now - m->run.running_since;
    }
    m->run.state = s;
}

int64_t vm_clock_ns(Machine *m)
{
    int64_t t = m->run.ran_ns;
    if (m->run.state == RUN_STATE_RUNNING)
        t += clock_ns(m->clock) - m->run.running_since;
    return t;
}

void vm_request_shutdown(Machine *m, ShutdownCause cause)
{
    g_atomic_int_set(&m->run.shutdown_req, cause);
    mainloop_wakeup();
}

void vm_request_reset(Machine *m, ShutdownCause cause)
{
    g_atomic_int_set(&m->run.reset_req, cause);
    mainloop_wakeup();
}

void vm_request_powerdown(Machine *m)
{
    g_atomic_int_set(&m->run.powerdown_req, 1);
    mainloop_wakeup();
}

void vm_request_stop(Machine *m, RunState state)
{
    g_atomic_int_set(&m->run.stop_req, (gint)state + 1);
    mainloop_wakeup();
}

void vm_request_internal_error(Machine *m)
{
    g_atomic_int_set(&m->run.error_req, 1);
    mainloop_wakeup();
}

void vm_request_exit(Machine *m, int status)
{
    m->run.exit_status = status;
    g_atomic_int_set(&m->run.exit_req, 1);
    mainloop_wakeup();
}

void vm_stop(Machine *m, RunState state)
{
    RunCtl *rs = &m->run;
    bool was_running = rs->state == RUN_STATE_RUNNING;
    if (was_running && rs->ops.pause_all)
        rs->ops.pause_all(rs->ops.opaque);
    rs->state = state;
    if (was_running)
        NOTIFY(stopped);
}

bool vm_start(Machine *m)
{
    RunCtl *rs = &m->run;
    if (rs->state == RUN_STATE_RUNNING)
        return true;
    rs->state = RUN_STATE_RUNNING;
    NOTIFY(resumed);
    if (rs->ops.resume_all)
        rs->ops.resume_all(rs->ops.opaque);
    return true;
}

/* Shutdown (guest poweroff, Ctrl-A x, signal, QMP quit): QEMU emits SHUTDOWN, then
 * either keeps the VM stopped (-no-shutdown, guest-initiated only) or exits 0. */
static bool handle_shutdown(Machine *m, ShutdownCause cause)
{
    RunCtl *rs = &m->run;
    NOTIFY(shutdown, cause);
    if (rs->no_shutdown && cause != SHUTDOWN_CAUSE_HOST_QMP_QUIT &&
        cause != SHUTDOWN_CAUSE_HOST_SIGNAL && cause != SHUTDOWN_CAUSE_HOST_UI) {
        vm_stop(m, RUN_STATE_SHUTDOWN);
        return false;
    }
    /* Exiting: park the vCPUs without a STOP event, as QEMU's vm_shutdown(). */
    if (rs->state == RUN_STATE_RUNNING && rs->ops.pause_all)
        rs->ops.pause_all(rs->ops.opaque);
    rs->state = RUN_STATE_SHUTDOWN;
    return true;
}

static bool handle_reset(Machine *m, ShutdownCause cause)
{
    RunCtl *rs = &m->run;
    if (rs->no_reboot && shutdown_cause_is_guest(cause))
        return handle_shutdown(m, cause);
    bool was_running = rs->state == RUN_STATE_RUNNING;
    if (was_running && rs->ops.pause_all)
        rs->ops.pause_all(rs->ops.opaque);
    if (rs->ops.reset)
        rs->ops.reset(rs->ops.opaque);
    NOTIFY(reset, cause);
    /* QEMU: a reset of a machine that is not running leaves it in prelaunch. */
    if (rs->state != RUN_STATE_RUNNING && rs->state != RUN_STATE_INMIGRATE)
        rs->state = RUN_STATE_PRELAUNCH;
    if (was_running && rs->ops.resume_all)
        rs->ops.resume_all(rs->ops.opaque);
    return false;
}

/* Returns true when the loop should end. */
static bool process_requests(Machine *m)
{
    RunCtl *rs = &m->run;
    if (g_atomic_int_exchange(&rs->exit_req, 0))
        return true;
    if (g_atomic_int_exchange(&rs->error_req, 0)) {
        vm_stop(m, RUN_STATE_INTERNAL_ERROR);
        rs->exit_status = 1;
        return true;
    }
    int stop = g_atomic_int_exchange(&rs->stop_req, 0);
    if (stop > 0 && stop <= RUN_STATE__MAX && rs->state == RUN_STATE_RUNNING)
        vm_stop(m, (RunState)(stop - 1));
    int cause = g_atomic_int_exchange(&rs->shutdown_req, 0);
    if (cause && handle_shutdown(m, cause))
        return true;
    cause = g_atomic_int_exchange(&rs->reset_req, 0);
    if (cause && handle_reset(m, cause))
        return true;
    if (g_atomic_int_exchange(&rs->powerdown_req, 0))
        NOTIFY(powerdown);
    return false;
}

int vm_main_loop(Machine *m)
{
    while (!process_requests(m))
        mainloop_iterate(true);
    return m->run.exit_status;
}
