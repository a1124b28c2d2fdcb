/*
 * Character backends: stdio (with the QEMU Ctrl-A mux), file, pty, unix/tcp socket,
 * null, ringbuf. A frontend (UART, QMP, monitor) attaches callbacks; input is
 * delivered on the main loop with the machine lock held. Every function here is
 * called with the machine lock held.
 */
#ifndef VIREO_CHARDEV_H
#define VIREO_CHARDEV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <glib.h>
#include "vireo/error.h"

typedef struct Chardev Chardev;

typedef enum {
    CHR_EVENT_OPENED,      /* a peer connected (socket) */
    CHR_EVENT_CLOSED,      /* the peer went away */
    CHR_EVENT_BREAK,       /* a break condition (mux: Ctrl-A b) */
    CHR_EVENT_MUX_IN,      /* a mux gave this frontend the focus (Ctrl-A c) */
    CHR_EVENT_MUX_OUT,     /* ... and took it away */
} ChrEvent;

typedef struct ChrFrontend {
    /* How many bytes the frontend can take now (0 stops input until it asks again). */
    int (*can_read)(void *opaque);
    void (*read)(void *opaque, const uint8_t *buf, size_t len);
    void (*event)(void *opaque, ChrEvent ev);
    void *opaque;
} ChrFrontend;

/* Creates a backend from a -chardev spec ("socket,id=x,path=...,server=on,wait=off");
 * @default_id is used when the spec carries no id= (an id is required).
 * Backends: null, stdio[,signal=on|off], file,path=P[,append=on], pty,
 * socket,(path=P|host=H,port=N)[,server=on][,wait=on][,nodelay=on], ringbuf[,size=N];
 * any of them with mux=on is shared by several frontends (Ctrl-A c switches).
 * Errors start with "-chardev: " and name the culprit. */
Chardev *chr_new(const char *spec, const char *default_id, GError **errp);
/* Creates from a shorthand as -serial/-qmp accept it: "stdio", "mon:stdio" (stdio
 * through the mux), "file:PATH", "pty", "unix:PATH[,opts]", "tcp:HOST:PORT[,opts]",
 * "null". "none" and "chardev:ID" are the caller's business (they create nothing).
 * Error messages start with the quoted spec; the caller prefixes the option. */
Chardev *chr_new_shorthand(const char *spec, const char *id, GError **errp);
/* Wraps connected file descriptors (a socket, or pipe ends; equal for a socket) as a
 * chardev that owns and closes them. EOF on input reports CHR_EVENT_CLOSED. */
Chardev *chr_new_fd(int in_fd, int out_fd, const char *id);
void chr_free(Chardev *chr);

const char *chr_id(const Chardev *chr);
const char *chr_label(const Chardev *chr);      /* e.g. "stdio", "pty:/dev/pts/3" */
const char *chr_kind(const Chardev *chr);       /* the backend: "socket", "pty", "mux" */
const char *chr_filename(const Chardev *chr);   /* QMP query-chardev "filename" */
bool chr_is_connected(const Chardev *chr);

/* Never blocks: writes what the backend takes now and queues the rest in the chardev's
 * own bounded queue (64 KiB), written from the main loop before any later output;
 * what does not fit is dropped (a budgeted warning says so). Returns the bytes written
 * or queued, or -errno. Output to a disconnected backend is discarded (and counted as
 * written), as QEMU does. For best-effort text (mux help, messages); frontends that
 * must not lose output use chr_write_nonblock() + chr_notify_writable() and keep
 * their own queue (the monitor), or stop (a UART holds THRE). */
ssize_t chr_write(Chardev *chr, const uint8_t *buf, size_t len);
/* Never blocks: returns the bytes taken (maybe fewer than @len), -EAGAIN when the
 * backend can take nothing now, or another -errno. For vCPU-side frontends. */
ssize_t chr_write_nonblock(Chardev *chr, const uint8_t *buf, size_t len);
/* Calls @fn(@opaque) once, on the main loop, when output can go again after -EAGAIN
 * (or the peer disconnected). Registering the same pair twice is one call. */
typedef void ChrWritableFn(void *opaque);
void chr_notify_writable(Chardev *chr, ChrWritableFn *fn, void *opaque);
void chr_cancel_writable(Chardev *chr, ChrWritableFn *fn, void *opaque);
/* Waits up to @timeout_ms for the backend to take output (for flushing at exit, the
 * only place a wait is allowed); true when it can (or has nowhere to wait). */
bool chr_wait_writable(Chardev *chr, int timeout_ms);
/* Drops the current peer of a backend that has one (a socket: the connection is
 * closed, CHR_EVENT_CLOSED follows, a server listens again). False when the backend
 * has no peer to drop (stdio, file, pty, ringbuf) or is not connected. */
bool chr_disconnect(Chardev *chr);

/* Attaches a frontend (a copy of @fe is kept), or detaches with NULL. On a mux this
 * adds a frontend (the first one keeps the focus; NULL detaches all). No OPENED event
 * is sent for a backend that is already connected: check chr_is_connected(). */
void chr_set_frontend(Chardev *chr, const ChrFrontend *fe);
/* Detaches the frontend whose opaque is @opaque (the way to leave a mux). */
void chr_detach_frontend(Chardev *chr, void *opaque);
/* Called by a frontend when it can take input again after can_read returned 0. */
void chr_accept_input(Chardev *chr);

/* Takes (the caller owns it) a descriptor that arrived with the input read so far
 * over a unix socket (SCM_RIGHTS), or -1 (QEMU's qemu_chr_fe_get_msgfd). */
int chr_get_msgfd(Chardev *chr);
/* recvmsg() into @buf keeping up to @max passed descriptors in @fds (closing the
 * unclaimed ones of the previous message); read() on what is not a socket. */
#define CHR_MAX_MSGFDS 16
ssize_t chr_recv_fds(int fd, uint8_t *buf, size_t len, int *fds, unsigned *nfds,
                     unsigned max);

/* Backend side, for tests and QMP (ringbuf-write, send-break): hands @buf to the
 * frontend as if it had arrived, as far as can_read allows; returns bytes taken. */
size_t chr_be_input(Chardev *chr, const uint8_t *buf, size_t len);
void chr_be_event(Chardev *chr, ChrEvent ev);
/* ringbuf backend: takes up to @max bytes of the frontend's output, oldest first
 * (0 for other backends). */
size_t chr_ringbuf_read(Chardev *chr, uint8_t *buf, size_t max);

/* Mux (mux=on, "mon:stdio", -nographic): Ctrl-A h help, x quit, c switch frontend,
 * b break, Ctrl-A Ctrl-A a literal Ctrl-A. */
bool chr_is_mux(const Chardev *chr);
/* Gives the focus to the frontend with @opaque. */
void chr_mux_focus(Chardev *chr, void *opaque);
/* What Ctrl-A x does (start-up sets vm_request_shutdown(m, SHUTDOWN_CAUSE_HOST_UI));
 * without a hook it exits the process. */
typedef void ChrMuxQuitFn(void *opaque);
void chr_mux_set_quit_hook(Chardev *chr, ChrMuxQuitFn *fn, void *opaque);

/* Puts the terminal back as stdio found it (idempotent, async-signal-safe). Runs
 * at exit and on fatal signals by itself; exported for paths that skip both. */
void chr_stdio_restore_terminal(void);

/*
 * A listening socket for frontends that serve several clients (QMP): "unix:PATH" or
 * "tcp:HOST:PORT" (HOST may be empty for any address, PORT 0 for an ephemeral one).
 * @fn gets each accepted connection (non-blocking, close-on-exec; the callee owns it)
 * on the main loop. A unix socket file is unlinked before bind and when freed.
 */
typedef struct ChrListener ChrListener;
typedef void ChrAcceptFn(void *opaque, int fd);
ChrListener *chr_listener_new(const char *addr, int backlog, ChrAcceptFn *fn, void *opaque,
                              GError **errp);
/* The same around an already listening socket @fd (inherited: fd=N), which it owns. */
ChrListener *chr_listener_new_fd(int fd, ChrAcceptFn *fn, void *opaque);
/* Stops/starts accepting (pending clients wait in the backlog). */
void chr_listener_set_enabled(ChrListener *l, bool enabled);
/* Blocks until a client connects (wait=on); returns its fd or -1 with @errp set. */
int chr_listener_accept(ChrListener *l, GError **errp);
/* "unix:/path" or "tcp:127.0.0.1:4444" with the port actually bound. */
const char *chr_listener_address(const ChrListener *l);
void chr_listener_free(ChrListener *l);

/* The registry of named chardevs hangs off the machine; these are the lookups. */
typedef struct ChrRegistry ChrRegistry;
ChrRegistry *chr_registry_new(void);
/* Frees every registered chardev (restoring the terminal if stdio was one). */
void chr_registry_free(ChrRegistry *r);
/* Takes ownership of @chr; fails on a duplicate id (and then frees @chr). */
bool chr_registry_add(ChrRegistry *r, Chardev *chr, GError **errp);
Chardev *chr_registry_find(ChrRegistry *r, const char *id);
/* In the order the chardevs were added. */
void chr_registry_foreach(ChrRegistry *r, void (*fn)(Chardev *c, void *opaque), void *opaque);

#endif
