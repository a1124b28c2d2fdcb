/*
 * What the chardev backends share (chardev/ only; frontends use vireo/chardev.h).
 *
 * A Chardev is a backend (ops + private state) with at most one frontend (a mux has
 * several, see char-mux.c). fd-based backends fill in in_fd/out_fd and get input
 * watches, non-blocking writes and writable notifications from char.c.
 * Everything runs with the machine lock held (main loop dispatch or a vCPU exit).
 */
#ifndef CHARDEV_INTERNAL_H
#define CHARDEV_INTERNAL_H

#include "vireo/chardev.h"
#include "vireo/log.h"
#include <sys/types.h>

/* Parsed "key=value" options of one -chardev; values are owned by the table. */
typedef struct ChrOpts {
    const char *option;      /* "-chardev" or the shorthand, for messages */
    const char *backend;
    const char *id;          /* the chardev's id (always set before a backend opens) */
    GHashTable *kv;
} ChrOpts;

typedef struct ChrOps {
    const char *kind;
    /* Non-blocking write: bytes taken, -EAGAIN, or another -errno. NULL: the fd one. */
    ssize_t (*write)(Chardev *chr, const uint8_t *buf, size_t len);
    /* Input EOF or error on in_fd. NULL: stop reading. */
    void (*hangup)(Chardev *chr);
    /* Drops the current peer (chr_disconnect()); NULL: the backend has no peer to
     * drop (stdio, file, pty...). */
    void (*disconnect)(Chardev *chr);
    /* Frees backend state and closes what the backend opened (fds are closed by
     * char.c). */
    void (*close)(Chardev *chr);
    /* The mux overrides the frontend side (char-mux.c). */
    void (*set_frontend)(Chardev *chr, const ChrFrontend *fe);
    void (*detach_frontend)(Chardev *chr, void *opaque);
    void (*accept_input)(Chardev *chr);
    Chardev *(*inner)(Chardev *chr);   /* the backend a mux forwards output to */
} ChrOps;

typedef struct ChrWritable {
    ChrWritableFn *fn;
    void *opaque;
} ChrWritable;

struct Chardev {
    const ChrOps *ops;
    char *id, *label, *filename;
    ChrFrontend fe;
    bool has_fe;
    bool connected;
    int in_fd, out_fd;        /* -1 when none; closed by chr_free (once if equal) */
    bool out_nonblock;        /* out_fd is ours and O_NONBLOCK: no poll before write */
    bool out_socket;          /* use send(MSG_NOSIGNAL) */
    bool keep_fds;            /* do not close in_fd/out_fd (stdio) */
    bool in_eof;
    guint in_watch, out_watch, idle_writable;
    GArray *writable;         /* ChrWritable, fired once when output can go again */
    /* chr_write()'s bounded queue: bytes outq->str[outq_pos..] the backend could not
     * take yet. Written before anything else, dropped on disconnect. */
    GString *outq;
    size_t outq_pos;
    uint64_t out_dropped;     /* bytes chr_write() dropped at the bound */
    LogBudget drop_log;
    /* Descriptors that came with the last input on a unix socket (SCM_RIGHTS), for
     * the frontend to take (QMP getfd/add-fd); unclaimed ones are closed when more
     * input arrives. */
    int msgfds[CHR_MAX_MSGFDS];
    unsigned nmsgfds;
    void *be;                 /* backend state */
};

/* char.c */
Chardev *chr_alloc(const ChrOps *ops, const char *id);
void chr_set_filename(Chardev *chr, const char *label, const char *filename);
/* Re-evaluates whether in_fd should be watched (frontend present, can read). */
void chr_fd_update_input(Chardev *chr);
/* Marks connected/disconnected, tells the frontend, re-arms input and releases
 * writers waiting for a writable notification. */
void chr_set_connected(Chardev *chr, bool connected);
void chr_fe_event(Chardev *chr, ChrEvent ev);
int chr_fe_can_read(Chardev *chr);
/* Calls and clears the pending writable notifications. */
void chr_fire_writable(Chardev *chr);
/* Sets O_NONBLOCK and FD_CLOEXEC on @fd. */
void chr_fd_set_nonblock(int fd);

/* Option helpers: the value of @key or NULL; booleans accept on/off, yes/no, ... */
const char *chr_opt(const ChrOpts *o, const char *key);
bool chr_opt_bool(const ChrOpts *o, const char *key, bool def, bool *out, GError **errp);

/* Backend constructors (each file's entry point). */
Chardev *chr_open_null(const ChrOpts *o, GError **errp);
Chardev *chr_open_file(const ChrOpts *o, GError **errp);
Chardev *chr_open_stdio(const ChrOpts *o, GError **errp);
Chardev *chr_open_pty(const ChrOpts *o, GError **errp);
Chardev *chr_open_socket(const ChrOpts *o, GError **errp);
Chardev *chr_open_ringbuf(const ChrOpts *o, GError **errp);
/* Wraps @inner (which the mux then owns) in a mux with the same id. */
Chardev *chr_mux_new(Chardev *inner);

#endif
