/*
 * Run states and lifecycle requests (QEMU's names, so QMP query-status matches).
 * Each machine has its own (m->run: convention 7, no file-scope state). Requests may
 * come from any thread (a vCPU exit, a device, QMP); the main loop acts on them.
 * Exit statuses of the vireo process are documented in README.md.
 */
#ifndef VIREO_RUNSTATE_H
#define VIREO_RUNSTATE_H

#include <stdbool.h>
#include <glib.h>

typedef struct Machine Machine;

typedef enum {
    RUN_STATE_PRELAUNCH,   /* -S: created, not yet started */
    RUN_STATE_RUNNING,
    RUN_STATE_PAUSED,      /* QMP stop */
    RUN_STATE_SHUTDOWN,    /* guest shut down and -no-shutdown kept it */
    RUN_STATE_INTERNAL_ERROR,
    RUN_STATE_GUEST_PANICKED,
    RUN_STATE_DEBUG,
    RUN_STATE_INMIGRATE,
    RUN_STATE_POSTMIGRATE,
    RUN_STATE_FINISH_MIGRATE,
    RUN_STATE_SAVE_VM,
    RUN_STATE_RESTORE_VM,
    RUN_STATE_SUSPENDED,
    RUN_STATE_WATCHDOG,
    RUN_STATE_IO_ERROR,
    RUN_STATE_COLO,
    RUN_STATE__MAX
} RunState;

/* Why the machine is shutting down or resetting: QEMU's ShutdownCause names. */
typedef enum {
    SHUTDOWN_CAUSE_NONE,
    SHUTDOWN_CAUSE_HOST_ERROR,
    SHUTDOWN_CAUSE_HOST_QMP_QUIT,
    SHUTDOWN_CAUSE_HOST_QMP_SYSTEM_RESET,
    SHUTDOWN_CAUSE_HOST_SIGNAL,
    SHUTDOWN_CAUSE_HOST_UI,
    SHUTDOWN_CAUSE_GUEST_SHUTDOWN,
    SHUTDOWN_CAUSE_GUEST_RESET,
    SHUTDOWN_CAUSE_GUEST_PANIC,
    SHUTDOWN_CAUSE_SUBSYSTEM_RESET,
    SHUTDOWN_CAUSE_SNAPSHOT_LOAD,
    SHUTDOWN_CAUSE__MAX
} ShutdownCause;

RunState runstate_get(Machine *m);
const char *runstate_name(RunState s);
bool runstate_is_running(Machine *m);
const char *shutdown_cause_name(ShutdownCause c);
/* true when the cause came from the guest (QMP SHUTDOWN/RESET "guest" member). */
bool shutdown_cause_is_guest(ShutdownCause c);

/* Requests, safe from any thread; the main loop carries them out. */
void vm_request_shutdown(Machine *m, ShutdownCause cause);
void vm_request_reset(Machine *m, ShutdownCause cause);
void vm_request_powerdown(Machine *m);        /* ACPI power button */
/* Stops a running machine in @state (e.g. io-error after a failed disk request with
 * werror=stop), emitting STOP; nothing when it is not running. */
void vm_request_stop(Machine *m, RunState state);
/* Fatal guest error (KVM internal error): stops the machine, process exits non-zero. */
void vm_request_internal_error(Machine *m);

/* Main thread, lock held: pause all vCPUs / resume them. vm_stop returns once every
 * vCPU is parked outside KVM_RUN. */
void vm_stop(Machine *m, RunState state);
bool vm_start(Machine *m);

/* Event hooks, so QMP can emit STOP/RESUME/RESET/SHUTDOWN/POWERDOWN without the core
 * knowing about QMP. Each is called on the main thread with the lock held. */
typedef struct RunstateNotifier {
    void (*stopped)(void *opaque);
    void (*resumed)(void *opaque);
    void (*reset)(void *opaque, ShutdownCause cause);
    void (*shutdown)(void *opaque, ShutdownCause cause);
    void (*powerdown)(void *opaque);
    void *opaque;
} RunstateNotifier;
void runstate_add_notifier(Machine *m, const RunstateNotifier *n);
/* Removes the notifiers whose opaque is @opaque (not from inside a notification). */
void runstate_remove_notifier(Machine *m, void *opaque);


/* ---- for the machine core (system/, accel/) ---- */

/* What the run-state code calls to act on the machine; set once by main. */
typedef struct VmOps {
    void (*pause_all)(void *opaque);      /* park every vCPU outside KVM_RUN */
    void (*resume_all)(void *opaque);
    void (*reset)(void *opaque);          /* devices + vCPUs + payload */
    void *opaque;
} VmOps;

/* A machine's run state and pending requests (embedded in Machine as m->run). */
typedef struct RunCtl {
    RunState state;
    VmOps ops;
    bool no_reboot, no_shutdown;
    GArray *notifiers;                    /* RunstateNotifier */
    volatile gint shutdown_req, reset_req, powerdown_req, error_req, exit_req, stop_req;
    int exit_status;
    int64_t ran_ns, running_since;        /* the VM clock: time spent running */
} RunCtl;

void runstate_init(Machine *m, const VmOps *ops, bool no_reboot, bool no_shutdown);
void runstate_set(Machine *m, RunState s);
/* QEMU's virtual clock as snapshots record it: nanoseconds the VM has spent running
 * (paused and stopped time excluded). */
int64_t vm_clock_ns(Machine *m);
/* Frees what m->run holds (machine_free). */
void runstate_cleanup(Machine *m);
/* Runs the main loop until the machine quits; returns the process exit status. */
int vm_main_loop(Machine *m);
/* Asks vm_main_loop() to return @status (e.g. isa-debug-exit, Ctrl-A x, QMP quit). */
void vm_request_exit(Machine *m, int status);

#endif
