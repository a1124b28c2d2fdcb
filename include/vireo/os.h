/*
 * Process-level services of start-up (system/os-posix.c): -daemonize, -pidfile,
 * -name process=, -overcommit mem-lock=on. QEMU 7.2's os-posix.c semantics.
 */
#ifndef VIREO_OS_H
#define VIREO_OS_H
#include <stdbool.h>
#include "vireo/error.h"

/* Forks twice (setsid between); only the daemon returns. The first parent waits
 * until os_daemonize_done() (exit 0) or the daemon's exit (exit 1: the daemon has
 * printed why to the still shared stderr). Call before any thread is created. */
void os_daemonize_start(void);
/* The daemon is ready (monitor sockets listening): releases the parent, moves to /,
 * points stdin/stdout/stderr at /dev/null. */
void os_daemonize_done(void);
/* Creates and locks @path with this pid (QEMU's errors: "Cannot lock pid file");
 * returns the fd to keep, or -1. */
int os_pidfile_create(const char *path, GError **errp);
/* Unlinks the pid file if it is still ours, and closes @fd. */
void os_pidfile_remove(const char *path, int fd);
/* The process name (prctl PR_SET_NAME, 15 characters). */
void os_set_process_name(const char *name);
/* mlockall(MCL_CURRENT | MCL_FUTURE). */
bool os_mlock(GError **errp);
#endif
