/*
 * Private to migration/: channels, transports, the section list, RAM transfer and the
 * migration state shared by the QMP handlers and the migration threads.
 * docs/migration.md describes the design; format.h the stream.
 *
 * Threads: the QMP handlers and every change of run state run on the main thread
 * with the big lock. The outgoing migration runs on its own thread (and one per
 * multifd channel), the incoming one too; they read guest RAM without the lock, and
 * ask the main thread (mig_run_on_main) to stop the VM, read device state, apply it,
 * start the VM. Status, statistics and the error message are under s->lock.
 *
 * Ending: a cancel sets s->cancel and signals s->wake_fd, which every blocking wait of
 * the threads watches (channel I/O, connect, accept); migration_shutdown() and
 * migration_free() also refuse the threads' requests to the main thread (pending and
 * future: mig_run_on_main() returns false), so they can join the threads without the
 * main loop. The outgoing channels are published in s->main/s->mfd under s->lock and
 * the canceller shuts them down under it; the thread takes them out under it before
 * freeing them.
 */
#ifndef MIGRATION_MIGRATION_H
#define MIGRATION_MIGRATION_H

#include "vireo/migration.h"
#include "vireo/machine.h"
#include "vireo/ramblock.h"
#include "qapi/qapi-generated.h"
#include "format.h"

/* ---- checksum and rate limit (channel.c) ---- */

typedef struct MigCsum {
    uint64_t a[4], b[4];
    uint8_t carry[32];
    unsigned nc;
    uint64_t len;
} MigCsum;
void mig_csum_init(MigCsum *c);
void mig_csum_update(MigCsum *c, const void *data, size_t n);
uint64_t mig_csum_value(const MigCsum *c);

typedef struct MigRate {
    GMutex lock;
    uint64_t limit;                 /* bytes per second, 0: none */
    int64_t window_start;
    uint64_t window_bytes;
} MigRate;
void mig_rate_init(MigRate *r, uint64_t bytes_per_sec);
void mig_rate_set(MigRate *r, uint64_t bytes_per_sec);
struct MigChannel;
/* Accounts @n bytes written besides the channel's buffer (file: RAM area). */
void mig_rate_account(struct MigChannel *c, size_t n);

/* ---- channels (channel.c) ---- */

typedef struct MigChannel {
    int fd;
    char *name;                     /* for messages: the URI */
    bool is_socket;
    uint8_t *wbuf, *rbuf;
    size_t wlen, rpos, rend;
    MigCsum csum;                   /* of every byte written or read */
    uint64_t bytes;
    int error;                      /* sticky -errno */
    char *errmsg;
    MigRate *rate;                  /* shared limit, or NULL */
    const volatile int *cancel;
    int wake_fd;                    /* readable on cancel (mc_set_cancel), or -1 */
    /* Instead of the fd (snapshots in a qcow2 VM state area): returns bytes moved,
     * 0 at the end, -errno. */
    ssize_t (*io)(void *opaque, void *buf, size_t n, bool write);
    void *io_opaque;
    struct MigMapped *mapped;       /* file: RAM written in place (ram.c) */
} MigChannel;

MigChannel *mc_new(int fd, const char *name);
MigChannel *mc_new_io(const char *name, ssize_t (*io)(void *, void *, size_t, bool),
                      void *opaque);
void mc_free(MigChannel *c);
void mc_put(MigChannel *c, const void *data, size_t n);
void mc_put_le(MigChannel *c, uint64_t v, unsigned size);
bool mc_flush(MigChannel *c);
bool mc_get(MigChannel *c, void *data, size_t n);
bool mc_get_le(MigChannel *c, uint64_t *v, unsigned size);
/* Reads @n bytes into @dst without the buffer (guest RAM), checksummed. */
bool mc_get_direct(MigChannel *c, void *dst, size_t n);
bool mc_failed(const MigChannel *c);
void mc_set_error(MigChannel *c, GError **errp);
bool mc_readable(MigChannel *c, int timeout_ms);
void mc_shutdown(MigChannel *c);
/* Reads and writes fail (ECANCELED) once *@cancel is set and @wake_fd is signalled,
 * whatever the descriptor (a pipe or a stalled peer included): the fd is made
 * non-blocking and every wait polls @wake_fd too. */
void mc_set_cancel(MigChannel *c, const volatile int *cancel, int wake_fd);

/* ---- transports (transport.c) ---- */

typedef enum { MT_TCP, MT_UNIX, MT_FD, MT_EXEC, MT_FILE } MigTransportKind;

typedef struct MigUri {
    MigTransportKind kind;
    char *host, *port, *path, *cmd;
    int fd;
    char *text;                     /* the URI as given */
} MigUri;

/* An exec: command's process. The main loop reaps it when it exits (a GLib child
 * watch, which holds a reference); threads wait for its status. */
typedef struct MigChild MigChild;
void mig_child_unref(MigChild *ch);
GPid mig_child_pid(const MigChild *ch);
/* Signals the process unless it has been reaped (a pidfd where the kernel has one:
 * never a reused pid). Any thread. */
void mig_child_kill(MigChild *ch, int sig);
/* Until the process has exited (true, *@status its wait status), *@cancel is set or
 * @timeout_ms (-1: none) passed. Needs the main loop running. Not the main thread. */
bool mig_child_wait(MigChild *ch, const volatile int *cancel, int timeout_ms, int *status);
/* False for exit status 0; else true with *@errp (replaced) "exec:CMD: the command
 * exited with status N", followed by what *@errp said before in parentheses. */
bool mig_child_error(const MigChild *ch, int status, GError **errp);

bool mig_uri_parse(const char *uri, MigUri *u, GError **errp);
void mig_uri_clear(MigUri *u);
/* Outgoing: a connected fd (exec: the child's stdin; *child set when @child). A
 * connect ends with ECANCELED when @wake_fd (>= 0) is signalled. */
int mig_connect(const MigUri *u, MigChild **child, int wake_fd, GError **errp);
/* Incoming: a listening socket (tcp, unix; *listening true; non-blocking) or the data
 * fd itself (exec: *child set). */
int mig_listen(const MigUri *u, bool *listening, MigChild **child, GError **errp);
/* Closes a listening socket (and removes a unix: socket's file). */
void mig_unlisten(int lfd, const MigUri *u);
/* Waits for a connection on @lfd; -1 with @errp set on error or cancellation (*@cancel
 * set and @wake_fd signalled; without @wake_fd, *@cancel is looked at every 200 ms). */
int mig_accept(int lfd, const volatile int *cancel, int wake_fd, GError **errp);
/* The address a listening socket has (query-migrate socket-address). */
MigrationSocketAddress *mig_listen_address(int lfd, const MigUri *u);

/* ---- sections: what the stream carries besides RAM (sections.c) ---- */

#define MIG_MAX_LEVELS 8

/* A -netdev user's section: named by the netdev id (instance not compared). */
#define MIG_SECTION_SLIRP "slirp"

typedef struct MigSection {
    char name[64];                  /* "kvm-vm", "x86-cpu", the device type or "slirp" */
    uint32_t instance;              /* among sections of that name, in machine order */
    char id[64];                    /* the device's or netdev's id, or "" */
    int32_t devfn;                  /* PCI devfn, or -1 */
    Device *dev;                    /* NULL for kvm-vm, vCPUs and netdevs; used only
                                     * while a device of serial dev_serial is there */
    uint64_t dev_serial;
    int cpu;                        /* vCPU index, or -1 */
    struct NetBackend *nd;          /* a user netdev (looked up again before use) */
    unsigned nlevels;
    const VMStateDesc *levels[MIG_MAX_LEVELS];
} MigSection;

/* The sections of @m in stream order: kvm-vm, the devices, the vCPUs, the user
 * netdevs (last: their state is loaded after everything else is accepted). */
GArray *mig_sections(Machine *m);
/* "'virtio-blk-pci' instance 0 (id 'd0', PCI 00:04.0)" for messages (g_free). */
char *mig_section_label(const MigSection *s);
/* The CONFIG payload for @m. */
void mig_config_build(Machine *m, GArray *secs, uint32_t flags, GByteArray *out);
/* Checks a CONFIG payload against @m; fills @map (stream index -> local index) and
 * *nchannels (multifd channels the source will open). Errors name what differs. */
bool mig_config_check(Machine *m, GArray *secs, const uint8_t *buf, size_t len,
                      GArray *map, GError **errp);
/* Appends a DEVICE record for every section (VM stopped, big lock held). */
bool mig_save_sections(Machine *m, GArray *secs, GByteArray *out, GError **errp);
/* Loads one section's bytes (big lock held). Errors name the section. */
bool mig_load_section(Machine *m, const MigSection *s, const uint8_t *buf, size_t len,
                      GError **errp);

/* ---- RAM (ram.c) ---- */

/* A file: stream's RAM area: block i at off[i]; pages that hold data in the file. */
typedef struct MigMapped {
    int fd;
    unsigned n;
    uint64_t *off;
    uint64_t **in_file;             /* per block, one bit per page */
    uint64_t tail;                  /* where the records continue */
} MigMapped;
/* Lays the blocks out after the prologue and writes the MAPPED records into @c. */
MigMapped *mig_mapped_new(Machine *m, MigChannel *c);
void mig_mapped_free(MigMapped *mm);
/* Destination: loads the blocks the MAPPED records name (after CONFIG) and moves @c's
 * reading to the records after the RAM area. @lazy: where the kernel allows, the
 * pages are placed on demand and in the background (lazy.c, s->lazy) instead of read
 * before this returns. */
bool mig_mapped_load(Machine *m, MigChannel *c, bool lazy, GError **errp);

/* ---- lazy restore (lazy.c) ---- */

typedef struct MigLazy MigLazy;
typedef struct MigLazyStats {
    uint64_t blocks;                /* blocks restored lazily */
    uint64_t faults;                /* page faults served */
    uint64_t pages_read;            /* pages read from the file */
    uint64_t zero_pages;            /* pages zero-filled on a fault (file holes) */
    uint64_t read_errors;
    int64_t fill_us;                /* from start to every data page placed */
} MigLazyStats;
/* NULL when no userfaultfd can be had. @fd: the file (duplicated). */
MigLazy *mig_lazy_new(int fd);
/* Empties @b and registers it, its pages at @off in the file; false (nothing changed)
 * when the kernel cannot do that for @b: the caller reads it. */
bool mig_lazy_add(MigLazy *lz, RamBlock *b, uint64_t off);
void mig_lazy_start(MigLazy *lz);
/* Until every page is in place (NULL: returns at once). Any thread. */
void mig_lazy_wait(MigLazy *lz);
/* The same until *@cancel is set too: whether every page is in place. */
bool mig_lazy_wait_cancel(MigLazy *lz, const volatile int *cancel);
bool mig_lazy_finished(MigLazy *lz);
/* Exact once finished. */
MigLazyStats mig_lazy_stats(MigLazy *lz);
/* Stops the thread (pages not placed yet read as zeros) and frees. */
void mig_lazy_free(MigLazy *lz);
/* Tests: the fill thread's own descriptor of the file. */
int mig_lazy_file_fd(MigLazy *lz);
/* Tests: while held, the fill thread serves faults only (no background fill). */
void mig_lazy_hold_fill(bool hold);

typedef struct MigRamStats {
    uint64_t zero_pages, normal_pages, bytes;
} MigRamStats;

/* Allocates the dirty bitmaps (all pages dirty) and installs the device-write hook. */
void mig_ram_dirty_begin(Machine *m);
void mig_ram_dirty_end(Machine *m);
/* Harvests dirty pages (KVM log, device writes) into the blocks' bitmaps (big lock).
 * @final: also marks untracked blocks whole. Returns dirty pages or -errno. */
int64_t mig_ram_sync(Machine *m, bool final);
uint64_t mig_ram_dirty_pages(Machine *m);
/* Sends the dirty pages of @m whose chunk belongs to channel @idx of @n (all when
 * @n == 1), clearing their bits. Stops early when @c fails or *@stop is set. */
bool mig_ram_send(Machine *m, MigChannel *c, unsigned idx, unsigned n,
                  const volatile int *stop, MigRamStats *st);
/* Receives one RAM record of @type (ZERO or PAGES) into @m. */
bool mig_ram_recv(Machine *m, MigChannel *c, int type, GError **errp);
/* The RAM block list as it travels in CONFIG and its check. */
void mig_ram_config(Machine *m, GByteArray *out);
bool mig_ram_config_check(Machine *m, const uint8_t **p, const uint8_t *end, GError **errp);

/* ---- the stream (stream.c) ---- */

void mig_put_header(MigChannel *c, uint32_t flags, uint32_t channels, uint64_t session);
void mig_put_config(MigChannel *c, Machine *m, GArray *secs, uint32_t flags);
/* END and the checksum; flushes. */
bool mig_put_end(MigChannel *c);
void mig_put_mfd_header(MigChannel *c, uint32_t idx, uint64_t session);

/* An incoming stream being parsed. */
typedef struct MigLoad {
    Machine *m;
    MigChannel *c;
    GArray *secs;                   /* this machine's sections */
    GArray *map;                    /* int: stream section -> index in secs */
    GPtrArray *records;             /* GBytes per stream section */
    uint64_t device_bytes, session;
    uint32_t flags, channels, passes;
} MigLoad;

void mig_load_init(MigLoad *l, Machine *m, MigChannel *c);
void mig_load_clear(MigLoad *l);
bool mig_load_header(MigLoad *l, GError **errp);
bool mig_load_config(MigLoad *l, GError **errp);
/* RAM records (applied at once) and DEVICE records (kept) up to END. */
bool mig_load_records(MigLoad *l, GError **errp);
/* Reads END's checksum from @c and compares it with what was read. */
bool mig_load_end(MigChannel *c, const char *what, GError **errp);
/* Applies the kept sections and the clock (big lock held, VM stopped). */
bool mig_load_apply(MigLoad *l, GError **errp);

/* ---- the migration state ---- */

typedef struct MigParams {
    uint64_t announce_initial, announce_max, announce_rounds, announce_step;
    uint8_t throttle_trigger_threshold, cpu_throttle_initial, cpu_throttle_increment;
    bool cpu_throttle_tailslow;
    char *tls_creds, *tls_hostname, *tls_authz;
    uint64_t max_bandwidth, downtime_limit;
    uint8_t multifd_channels, max_cpu_throttle;
    MultiFDCompression multifd_compression;
} MigParams;

typedef struct MigStats {
    uint64_t transferred, remaining, total, duplicate, normal, normal_bytes;
    uint64_t dirty_pages_rate, dirty_sync_count, multifd_bytes, pages_per_second;
    uint64_t precopy_bytes, downtime_bytes;
    double mbps;
    int64_t setup_time, total_time, downtime, expected_downtime;
    int throttle;                   /* cpu-throttle-percentage */
} MigStats;

struct MigrationState {
    Machine *m;
    GMutex lock;                    /* status, st, error */
    MigrationStatus status;
    bool caps[QAPI_COUNT_MigrationCapability];
    MigParams p;
    MigStats st;
    char *error;
    int64_t start_ms;
    /* outgoing */
    GThread *thread;
    volatile int cancel;
    MigUri uri;
    GArray *secs;                   /* the sections sent (CONFIG order) */
    MigChannel *main;               /* channels: freed by the thread under s->lock */
    MigChannel *mfd[MIG_MAX_CHANNELS];
    struct MfdWorker *mfd_workers[MIG_MAX_CHANNELS];
    unsigned nmfd;
    GMutex mfd_lock;
    GCond mfd_cond;
    unsigned mfd_gen, mfd_done;
    bool mfd_last;
    MigRamStats mfd_pass_stats;
    MigChild *child;                /* exec: (under s->lock: the canceller signals it) */
    MigRate rate;
    int64_t downtime_start;
    unsigned dirty_rate_high;       /* auto-converge: passes in a row above threshold */
    RunState prev_state;            /* before the VM was stopped for the switch-over */
    bool vm_was_running, drives_inactive, postmigrate;
    GMutex cont_lock;
    GCond cont_cond;
    bool cont;                      /* migrate-continue came (pre-switchover) */
    /* incoming */
    bool incoming;                  /* -incoming was given */
    bool incoming_started;
    bool outgoing_started;          /* a migration out began (also after coming in) */
    bool incoming_autostart;        /* run the VM after loading (not -S) */
    MigUri in_uri;
    int listen_fd;                  /* until the stream (and its multifd channels) came */
    MigChild *in_child;
    GThread *in_thread;
    GPtrArray *socket_address;      /* MigrationSocketAddress */
    GPtrArray *in_blocks;           /* RamBlock per stream block index */
    int data_fd;                    /* -incoming fd:/exec:/file: before the thread runs */
    bool drives_pending;            /* late-block-activate: take the disks at first run */
    bool snapshot_busy;             /* savevm/loadvm running */
    uint64_t loaded_clock;          /* kvmclock from the kvm-vm section */
    MigLazy *lazy;                  /* -incoming file: restoring RAM lazily, or NULL */
    GSList *events;                 /* MIGRATION events waiting for the main loop (lock) */
    /* ending */
    int wake_fd;                    /* eventfd: signalled on cancel, drained at a start */
    bool closing;                   /* shutdown/free: main-thread requests refused (lock) */
    GSList *calls;                  /* requests waiting for the main loop (lock) */
    bool dirty_tracking;            /* the outgoing setup began dirty tracking (main) */
};

/* State of @m, created on first use. */
MigrationState *mig_state(Machine *m);
void mig_set_status(MigrationState *s, MigrationStatus st);
void mig_set_error(MigrationState *s, const GError *err);
void mig_emit_pass(MigrationState *s, int64_t pass);
/* Runs @fn(@opaque) on the main thread with the big lock and waits for it; the caller
 * must not hold the lock. False (@fn not run) once the machine's migration state is
 * being shut down or freed. */
bool mig_run_on_main(MigrationState *s, gboolean (*fn)(gpointer), gpointer opaque);
/* s->cancel set and s->wake_fd signalled. */
void mig_wake(MigrationState *s);

/* savevm.c: drains every drive (no request in flight while state is read). */
void mig_quiesce_drives(Machine *m);
/* The VM (stopped) to / from a channel in one pass. */
bool mig_save_channel(Machine *m, MigChannel *c, GError **errp);
bool mig_load_channel(Machine *m, MigChannel *c, GError **errp);

/* qmp.c: the runstate notifier migration_incoming_init() adds (late-block-activate). */
RunstateNotifier mig_incoming_notifier(MigrationState *s);

/* outgoing.c */
bool mig_outgoing_start(MigrationState *s, const char *uri, GError **errp);
void mig_outgoing_cancel(MigrationState *s);
/* incoming.c */
bool mig_incoming_start(MigrationState *s, const char *uri, GError **errp);

/* The drives (disks) are handed over: flushed and unlocked on the source before the
 * destination takes them; reopened (caches dropped, locks taken) on the destination. */
bool mig_drives_inactivate(Machine *m, GError **errp);
bool mig_drives_activate(Machine *m, GError **errp);

#endif
