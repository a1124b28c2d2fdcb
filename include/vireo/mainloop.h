/*
 * The main loop and the machine lock (the "big lock", like QEMU's BQL).
 *
 * The main thread runs a GLib main loop and holds the lock except while it polls, so
 * every GLib callback (chardev input, QMP, timers) runs with the lock held.
 * vCPU threads take it only to dispatch an exit to a device model.
 *
 * Timers run on a clock: the real one (CLOCK_MONOTONIC, fired from the main loop) or a
 * virtual one that unit tests advance by hand with vclock_step().
 */
#ifndef VIREO_MAINLOOP_H
#define VIREO_MAINLOOP_H

#include <stdbool.h>
#include <stdint.h>
#include <glib.h>
#include "vireo/error.h"

void bql_lock(void);
void bql_unlock(void);
bool bql_locked(void);
/* Waits on @cond with the lock as its mutex (the lock is held again on return). */
#include <pthread.h>
void bql_cond_wait(pthread_cond_t *cond);

/* Installs the poll function that drops the lock around poll(); call once at start. */
void mainloop_init(void);
/* Runs one iteration of the default main context (blocking if @blocking). */
void mainloop_iterate(bool blocking);
/* Wakes the main loop from any thread. */
void mainloop_wakeup(void);

typedef struct Clock Clock;
typedef struct Timer Timer;
typedef void TimerCb(void *opaque);

/* The real clock: nanoseconds of CLOCK_MONOTONIC; timers fire on the main loop. */
Clock *clock_real(void);
/* A virtual clock for tests, starting at @start_ns; timers fire in vclock_step(). */
Clock *vclock_new(int64_t start_ns);
void vclock_free(Clock *c);
/* Advances a virtual clock by @ns, firing due timers in order. */
void vclock_step(Clock *c, int64_t ns);

int64_t clock_ns(Clock *c);
/* Host wall-clock time in ns since the epoch (for the RTC); virtual clocks offset it. */
int64_t clock_wall_ns(Clock *c);

Timer *timer_new(Clock *c, TimerCb *cb, void *opaque);
/* Arms the timer to fire at absolute time @expire_ns of its clock. */
void timer_mod(Timer *t, int64_t expire_ns);
void timer_del(Timer *t);
bool timer_pending(const Timer *t);
void timer_free(Timer *t);

#endif
