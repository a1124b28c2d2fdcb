/*
 * Live migration, snapshots to file and into qcow2 (migration/, docs/migration.md).
 * QMP and HMP reach it through the generated qmp_* handlers; start-up through these.
 * All of these run on the main thread with the big lock held.
 */
#ifndef VIREO_MIGRATION_H
#define VIREO_MIGRATION_H

#include <stdbool.h>
#include <glib.h>

typedef struct Machine Machine;
typedef struct MigrationState MigrationState;

/* -incoming URI ("defer": wait for migrate-incoming): after the machine is built and
 * before its vCPUs run; the VM then starts from the stream (and stays paused with
 * -S). Errors name the URI. */
bool migration_incoming_init(Machine *m, const char *uri, GError **errp);
/* Whether the machine waits for (or is loading) an incoming stream. */
bool migration_incoming_pending(Machine *m);

/* A stopped VM saved to / loaded from a file descriptor, synchronously: snapshots
 * (savevm/loadvm) and unit tests. The load refuses (naming what differs) a stream
 * that does not match the machine; a refused load leaves the devices reset. */
bool migration_save_fd(Machine *m, int fd, GError **errp);
bool migration_load_fd(Machine *m, int fd, GError **errp);

/* QMP cont: false (nothing to do now) while an incoming migration is pending (the VM
 * then runs when it completes, as QEMU); after a completed outgoing migration takes
 * the disks back first. */
bool migration_before_cont(Machine *m, GError **errp);
/* Whether a migration runs (setup to switch-over): device_add and device_del wait. */
bool migration_is_active(Machine *m);

/* Snapshots of the whole VM into the qcow2 disks (savevm/loadvm/delvm, info
 * snapshots); errors are QEMU's texts. */
bool snapshot_save(Machine *m, const char *name, GError **errp);
bool snapshot_load(Machine *m, const char *name, GError **errp);
bool snapshot_delete(Machine *m, const char *name, GError **errp);
void snapshot_list(Machine *m, GString *out);
/* The same on the disks whose node names @devices lists (char *; NULL: every writable
 * disk), the VM state on node @vmstate (NULL: the first of them); QMP snapshot jobs.
 * !@overwrite: an existing snapshot @name is an error instead of being replaced. */
bool snapshot_save_vm(Machine *m, const char *name, const char *vmstate, GPtrArray *devices,
                      bool overwrite, GError **errp);
bool snapshot_load_vm(Machine *m, const char *name, const char *vmstate, GPtrArray *devices,
                      GError **errp);
bool snapshot_delete_vm(Machine *m, const char *name, GPtrArray *devices, GError **errp);

/* -loadvm NAME: loads the snapshot NAME of the machine's disks before it first runs. */
bool snapshot_load_at_start(Machine *m, const char *name, GError **errp);

/* At exit (the main loop has ended): cancels what runs and joins the migration
 * threads. Their requests to the main thread are refused from here on (pending ones
 * included), and every wait of theirs ends on the cancel (channel I/O on any fd,
 * connect, accept, an exec: command's exit, a lazy restore's fill), so this returns
 * without the main loop; only a tcp: host name being resolved (getaddrinfo) is
 * waited for.
 * A migration cancelled so does not resume the VM or take its disks back. */
void migration_shutdown(Machine *m);
/* Frees the migration state of @m (machine_free()): first as migration_shutdown(),
 * so a migration may still be running (the machine is freed under it, as source or
 * destination); then drops the MIGRATION events not sent yet. An exec: command still
 * running is reaped by the main loop whenever it exits. */
void migration_free(Machine *m);

#endif
