/*
 * Monitors: QMP (the JSON control protocol, docs/interop/qmp-spec in QEMU) and HMP
 * (the human monitor), both driving the same command handlers (qapi/).
 *
 * Every monitor hangs off its machine (m->monitors); all functions here run on the
 * main thread with the machine lock held. Input arrives on the GLib main loop.
 * See docs/qmp.md for the protocol as Vireo speaks it.
 */
#ifndef VIREO_QMP_H
#define VIREO_QMP_H

#include <stdbool.h>
#include <glib.h>
#include "vireo/machine.h"

/*
 * -qmp SPEC / -qmp-pretty SPEC. SPEC is a chardev shorthand:
 *   unix:PATH,server=on,wait=off    listening socket; any number of clients at once
 *   tcp:HOST:PORT,server=on,wait=off   (each connection is its own QMP session)
 *   stdio, or any other shorthand chr_new_shorthand() accepts (one session).
 * Listening sockets are served by the monitor itself so that several clients can be
 * connected at once (QEMU serves one at a time); the others go through a chardev
 * registered as "compat_monitorN". Errors name the option and the culprit.
 */
bool monitor_parse_qmp_option(Machine *m, const char *spec, bool pretty, GError **errp);

/* -monitor SPEC: a human monitor (HMP) on SPEC ("stdio", "unix:...,server=on", ...). */
bool monitor_parse_hmp_option(Machine *m, const char *spec, GError **errp);

/* -mon chardev=ID[,mode=control|readline][,pretty=on|off]: a monitor on the -chardev
 * ID (mode=readline, the default, is HMP; mode=control is QMP). */
bool monitor_parse_mon_option(Machine *m, const char *spec, GError **errp);

/*
 * Attaches a monitor to @chr (which the caller keeps registered in m->chardevs): QMP
 * when @control, else HMP; @pretty indents QMP replies. A new session (greeting,
 * capabilities negotiation) starts each time the chardev reports CHR_EVENT_OPENED,
 * and at once when @chr is already connected. On a mux (mon:stdio, -nographic) the
 * monitor is one more frontend: it opens when Ctrl-A c first gives it the focus.
 */
bool monitor_add(Machine *m, Chardev *chr, bool control, bool pretty, GError **errp);

/*
 * Serves one session on a connected file descriptor (a socket or a pipe end used for
 * both directions), which the monitor then owns and closes. Used for the clients of
 * a listening socket, and by unit tests with a socketpair.
 */
bool monitor_add_fd(Machine *m, int fd, bool control, bool pretty, GError **errp);

/* Flushes pending replies (quit's), closes every session and listener of @m (unix
 * socket files are removed). Call before chr_registry_free() and machine_free(). */
void monitor_cleanup(Machine *m);
/* Hooks the block events (DEVICE_TRAY_MOVED) to the monitors (qapi/qmp-block.c). */
void qmp_block_init(Machine *m);

#endif
