/*
 * Monitor internals shared by qapi/monitor*.c, qapi/hmp.c and qapi/qmp-cmds.c.
 * Everything hangs off the machine's MonitorSet (no file-scope state).
 */
#ifndef QAPI_MONITOR_INT_H
#define QAPI_MONITOR_INT_H

#include "vireo/qmp.h"
#include "qapi/qapi-runtime.h"
#include "qapi/json-stream.h"
#include "vireo/log.h"

/* The QEMU release whose QMP interface Vireo implements (query-version). */
#define QMP_QEMU_MAJOR 7
#define QMP_QEMU_MINOR 2
#define QMP_QEMU_MICRO 0
#define QMP_PACKAGE    "vireo-" VIREO_VERSION

/*
 * Limits (the threat model: a client may be hostile or just slow).
 * Output: a session whose unwritten output reaches MONITOR_OUT_HIGH has its input held
 * back (not read, not run) until the queue drains; it is disconnected when the queue
 * passes MONITOR_OUT_LIMIT (only events it never reads can get it there), or when it is
 * over MONITOR_OUT_HIGH while all sessions together hold more than MONITOR_OUT_TOTAL.
 * Input: unfinished commands may hold JSON_STREAM_FREE each, plus MONITOR_IN_BUDGET
 * shared by all sessions. A -qmp listener serves MONITOR_MAX_CLIENTS at once (more wait
 * in the backlog). An echoed "id" may be MONITOR_ID_MAX bytes of JSON. At exit, pending
 * replies get MONITOR_EXIT_FLUSH_MS in all.
 */
#define MONITOR_OUT_HIGH      (1u << 20)
#define MONITOR_OUT_LIMIT     (16u << 20)
#define MONITOR_OUT_TOTAL     (64u << 20)
#define MONITOR_IN_BUDGET     (64u << 20)
#define MONITOR_MAX_CLIENTS   16
#define MONITOR_ID_MAX        (64u << 10)
#define MONITOR_EXIT_FLUSH_MS 1000

typedef struct MonitorListener MonitorListener;
typedef struct RunstateHook RunstateHook;

typedef struct MonitorSet {
    Machine *m;
    GPtrArray *sessions;           /* MonitorSession*, fd and chardev ones */
    GPtrArray *listeners;          /* MonitorListener* */
    RunstateHook *hook;            /* runstate notifier target */
    unsigned next_compat_id;       /* compat_monitorN */
    JsonStreamBudget in_budget;    /* shared by every QMP session's input */
    size_t out_total;              /* unwritten output of all sessions */
    bool closing;                  /* monitor_cleanup() runs: no input, no new clients */
    unsigned exit_flush_ms;        /* MONITOR_EXIT_FLUSH_MS (tests may change it) */
    LogBudget log;                 /* messages clients can trigger */
} MonitorSet;

struct MonitorSession {
    MonitorSet *set;
    Machine *m;
    MonitorListener *listener;     /* the -qmp listener that accepted it, if any */
    bool control;                  /* QMP, else HMP */
    bool pretty;
    bool negotiated;               /* QMP: qmp_capabilities done */
    bool dead;                     /* closed for good; freed from an idle callback */
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
    bool chr_waiting;              /* chardev: a writable notification is registered */
    unsigned conn_gen;             /* chardev: bumped when a peer comes or goes */
    /* Output (qapi/monitor-io.c): out->str[out_pos..] is not written yet. */
    GString *out;
    size_t out_pos;
    /* Input read but held back while the output queue is over MONITOR_OUT_HIGH. */
    GByteArray *inq;
    bool in_input, pumping;
    bool in_eof;                   /* fd: the client half-closed; close once answered */
    bool in_stopped;               /* chardev: can_read said 0; accept input again */
    /* fd: descriptors passed with the input (SCM_RIGHTS), for getfd/add-fd. */
    int msgfds[CHR_MAX_MSGFDS];
    unsigned nmsgfds;
    GHashTable *named_fds;         /* getfd's name -> fd (owned) */
};

MonitorSet *monitor_set_get(Machine *m);
MonitorSession *monitor_session_new(MonitorSet *set, bool control, bool pretty);
/* A session on a connected @fd (owned from now on; closed on failure too), accepted
 * by @l or NULL. */
MonitorSession *monitor_session_new_fd(MonitorSet *set, MonitorListener *l, int fd,
                                       bool control, bool pretty, GError **errp);
/* A connection opened: greeting (QMP) or banner and prompt (HMP). */
void monitor_session_open(MonitorSession *s);
void monitor_session_kill(MonitorSession *s);
void monitor_session_free(MonitorSession *s);

/* ---- I/O (qapi/monitor-io.c) ---- */
/* Input from the transport: run as far as the output queue allows, the rest kept. */
void monitor_session_input(MonitorSession *s, const uint8_t *buf, size_t len);
/* True while the session must not take more input (output over the high mark, or
 * input held back already). */
bool monitor_input_held(const MonitorSession *s);
/* Queues text for the client; "\n" becomes "\r\n" as QEMU's monitor_puts() does. */
void monitor_puts(MonitorSession *s, const char *text);
/* One JSON message (compact text in pieces), compact on one line or re-indented for
 * -qmp-pretty straight into the queue; the output limit is enforced as it grows. */
typedef struct MonitorJson {
    MonitorSession *s;
    QjPretty pretty;
    bool failed;
} MonitorJson;
void monitor_json_begin(MonitorJson *j, MonitorSession *s);
void monitor_json_put(MonitorJson *j, const char *json, size_t len);
/* An echoed client value: re-indented only while that costs at most 4x its size
 * plus 4 KiB, else written compact (deep nesting would cost 4 spaces a level a line). */
void monitor_json_put_echo(MonitorJson *j, const char *json, size_t len);
void monitor_json_end(MonitorJson *j);
void monitor_send_json(MonitorSession *s, const char *json, size_t len);
/* Writes what the transport takes now and arms the wait for the rest. */
void monitor_session_flush(MonitorSession *s);
/* A chardev peer came or went: its queue, held input and partial command go. */
void monitor_session_reset_io(MonitorSession *s);
/* Called by the transports when output can go again. */
void monitor_session_writable(MonitorSession *s);
/* Starts or stops watching the transport's input as monitor_input_held() says. */
void monitor_session_update_input(MonitorSession *s);
/* At exit: writes pending output until done or @deadline (monotonic us). */
void monitor_session_flush_until(MonitorSession *s, gint64 deadline);

/* QMP (qapi/qmp-dispatch.c): answers one framed text, or reports a framing @error. */
void qmp_dispatch_text(MonitorSession *s, const char *text, size_t len, const char *error);

/* HMP (qapi/hmp.c): runs one command line, appending its output to @out. */
void hmp_execute(MonitorSession *s, const char *line, GString *out);
/* Takes input bytes; stops after a command line once input is held (returns the
 * bytes taken). */
size_t hmp_input(MonitorSession *s, const uint8_t *buf, size_t len);
void hmp_banner(MonitorSession *s);

/* Listeners (qapi/monitor-listen.c). */
bool monitor_listen(MonitorSet *set, const char *spec, bool control, bool pretty,
                    const char *id, GError **errp);
void monitor_listener_free(MonitorListener *l);
/* A session the listener accepted has ended: it may accept again. */
void monitor_listener_session_gone(MonitorListener *l);
/* Stops accepting for good (exit). */
void monitor_listener_pause(MonitorListener *l);
/* query-chardev entries for the listeners: calls @fn(label, filename, opaque). */
void monitor_listeners_foreach(MonitorSet *set,
                               void (*fn)(const char *label, const char *filename,
                                          void *opaque), void *opaque);

#endif
