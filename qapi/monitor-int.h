/*
 * Monitor internals shared by qapi/monitor*.c, qapi/hmp.c and qapi/qmp-cmds.c.
 * Everything hangs off the machine's MonitorSet (no file-scope state).
 */
#ifndef QAPI_MONITOR_INT_H
#define QAPI_MONITOR_INT_H

#include "vireo/qmp.h"
#include "qapi/qapi-runtime.h"
#include "qapi/json-stream.h"

/* The QEMU release whose QMP interface Vireo implements (query-version). */
#define QMP_QEMU_MAJOR 7
#define QMP_QEMU_MINOR 2
#define QMP_QEMU_MICRO 0
#define QMP_PACKAGE    "vireo-" VIREO_VERSION

/* Output above this stops reading the client's input until it drains; a client
 * that lets this much more pile up (events it never reads) is disconnected. */
#define MONITOR_OUT_HIGH  (1u << 20)
#define MONITOR_OUT_LIMIT (64u << 20)

typedef struct MonitorListener MonitorListener;
typedef struct RunstateHook RunstateHook;

typedef struct MonitorSet {
    Machine *m;
    GPtrArray *sessions;           /* MonitorSession*, fd and chardev ones */
    GPtrArray *listeners;          /* MonitorListener* */
    RunstateHook *hook;            /* runstate notifier target; outlives the set */
    unsigned next_compat_id;       /* compat_monitorN */
} MonitorSet;

struct MonitorSession {
    MonitorSet *set;
    Machine *m;
    bool control;                  /* QMP, else HMP */
    bool pretty;
    bool negotiated;               /* QMP: qmp_capabilities done */
    bool dead;                     /* transport failed; freed from an idle callback */
    bool opened;                   /* greeting or banner sent */
    bool last_cr;                  /* HMP: the previous input byte was '\r' */
    unsigned cpu_index;            /* HMP current CPU ("cpu N", cpu-index) */
    JsonStream *stream;            /* QMP framing */
    JsonParser *parser;
    GString *line;                 /* HMP input line */
    int esc_state;                 /* HMP: skipping an escape sequence */
    /* Transport: a chardev, or a file descriptor served directly. */
    Chardev *chr;
    int fd;
    guint in_watch, out_watch, free_idle;
    GString *out;                  /* fd: bytes not yet written */
};

MonitorSet *monitor_set_get(Machine *m);
MonitorSession *monitor_session_new(MonitorSet *set, bool control, bool pretty);
/* A connection opened: greeting (QMP) or banner and prompt (HMP). */
void monitor_session_open(MonitorSession *s);
void monitor_session_input(MonitorSession *s, const uint8_t *buf, size_t len);
/* Writes to the client; "\n" becomes "\r\n" as QEMU's monitor_puts() does. */
void monitor_puts(MonitorSession *s, const char *text);
void monitor_session_kill(MonitorSession *s);
void monitor_session_free(MonitorSession *s);

/* QMP (qapi/qmp-dispatch.c): answers one framed text, or reports a framing @error. */
void qmp_dispatch_text(MonitorSession *s, const char *text, size_t len, const char *error);

/* HMP (qapi/hmp.c): runs one command line, appending its output to @out. */
void hmp_execute(MonitorSession *s, const char *line, GString *out);
void hmp_input(MonitorSession *s, const uint8_t *buf, size_t len);
void hmp_banner(MonitorSession *s);

/* Listeners (qapi/monitor-listen.c). */
bool monitor_listen(MonitorSet *set, const char *spec, bool control, bool pretty,
                    const char *id, GError **errp);
void monitor_listener_free(MonitorListener *l);
/* query-chardev entries for the listeners: calls @fn(label, filename, opaque). */
void monitor_listeners_foreach(MonitorSet *set,
                               void (*fn)(const char *label, const char *filename,
                                          void *opaque), void *opaque);

#endif
