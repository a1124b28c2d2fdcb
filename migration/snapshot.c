/*
 * Internal snapshots of the whole VM (QEMU's savevm/loadvm/delvm, migration/savevm.c):
 * the disks' qcow2 internal snapshots, and the VM's state (the same stream as a
 * migration, one pass) in the VM state area of the first writable disk that has one
 * (the snapshot records its vm_state_size). Every writable disk must support
 * snapshots. These run on the main thread while the VM is stopped, as QEMU's HMP
 * commands do.
 */
#include "migration.h"
#include "vireo/drive.h"
#include "vireo/runstate.h"
#include <errno.h>
#include <string.h>

typedef struct VmstateIo {
    BlockBackend *blk;
    int64_t pos, limit;             /* bytes written / readable */
} VmstateIo;

static ssize_t vmstate_io(void *opaque, void *buf, size_t n, bool write)
{
    VmstateIo *v = opaque;
    if (!write)
        n = MIN((int64_t)n, v->limit - v->pos);
    if (!n)
        return 0;
    int r = blk_vmstate_io(v->blk, v->pos, buf, n, write);
    if (r < 0) {
        errno = -r;
        return -1;
    }
    v->pos += n;
    return n;
}

static DriveInfo *drive_at(Machine *m, guint i)
{
    return m->drives && i < m->drives->len ? m->drives->pdata[i] : NULL;
}

/* Drives snapshots leave alone: read-only ones and CD-ROM drives without medium. */
static bool no_snapshots(DriveInfo *d)
{
    return !d->blk || blk_is_read_only(d->blk);
}

/* The disk that holds the VM state; every writable disk must do snapshots. */
static BlockBackend *vmstate_disk(Machine *m, GError **errp)
{
    BlockBackend *found = NULL;
    for (guint i = 0; drive_at(m, i); i++) {
        DriveInfo *d = drive_at(m, i);
        if (no_snapshots(d))
            continue;
        if (!blk_has_vmstate(d->blk)) {
            g_set_error(errp, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED, "Device '%s' is writable "
                        "but does not support snapshots", d->id);
            return NULL;
        }
        if (!found)
            found = d->blk;
    }
    if (!found)
        g_set_error(errp, G_IO_ERROR, G_IO_ERROR_NOT_FOUND,
                    "No block device can accept snapshots");
    return found;
}

static bool snapshot_busy(Machine *m, GError **errp)
{
    MigrationState *s = mig_state(m);
    MigrationStatus st = s->status;
    if (st == MIGRATION_STATUS_SETUP || st == MIGRATION_STATUS_ACTIVE ||
        st == MIGRATION_STATUS_PRE_SWITCHOVER || st == MIGRATION_STATUS_DEVICE ||
        st == MIGRATION_STATUS_CANCELLING || migration_incoming_pending(m)) {
        g_set_error(errp, G_IO_ERROR, G_IO_ERROR_BUSY,
                    "There's a migration process in progress");
        return true;
    }
    return false;
}

static bool find_snapshot(BlockBackend *blk, const char *name, BlockSnapshotInfo *out)
{
    BlockSnapshotInfo *list = NULL;
    int n = blk_snapshot_list(blk, &list);
    bool found = false;
    for (int i = 0; i < n; i++) {
        if (!found && (!g_strcmp0(list[i].name, name) || !g_strcmp0(list[i].id, name))) {
            *out = list[i];
            found = true;
            continue;
        }
        block_snapshot_info_clear(&list[i]);
    }
    g_free(list);
    return found;
}

bool snapshot_save(Machine *m, const char *name, GError **errp)
{
    BlockBackend *vm = snapshot_busy(m, errp) ? NULL : vmstate_disk(m, errp);
    if (!vm)
        return false;
    /* Before an older snapshot of that name is deleted (mig_save_channel checks again
     * after draining). */
    if (!drives_check_no_retry(m, "savevm", errp))
        return false;
    bool was_running = runstate_is_running(m);
    RunState prev = runstate_get(m);
    vm_stop(m, RUN_STATE_SAVE_VM);
    mig_state(m)->snapshot_busy = true;
    bool ok = true;
    /* QEMU: an older snapshot of the same name goes first. */
    for (guint i = 0; drive_at(m, i); i++) {
        BlockSnapshotInfo old;
        DriveInfo *d = drive_at(m, i);
        if (!no_snapshots(d) && find_snapshot(d->blk, name, &old)) {
            block_snapshot_info_clear(&old);
            ok = blk_snapshot_delete(d->blk, name, errp) >= 0;
            if (!ok)
                break;
        }
    }
    VmstateIo io = { .blk = vm };
    if (ok) {
        MigChannel *c = mc_new_io("savevm", vmstate_io, &io);
        ok = mig_save_channel(m, c, errp);
        mc_free(c);
    }
    for (guint i = 0; ok && drive_at(m, i); i++) {
        DriveInfo *d = drive_at(m, i);
        if (no_snapshots(d))
            continue;
        ok = blk_snapshot_create_vm(d->blk, name, d->blk == vm ? io.pos : 0,
                                    (uint64_t)(clock_ns(m->clock)), errp) >= 0;
        if (!ok)
            g_prefix_error(errp, "Error while creating snapshot on '%s': ", d->id);
    }
    mig_state(m)->snapshot_busy = false;
    runstate_set(m, prev == RUN_STATE_RUNNING ? RUN_STATE_PAUSED : prev);
    if (was_running)
        vm_start(m);
    return ok;
}

/* Applies snapshot @name to every disk and loads its VM state (VM stopped). */
static bool load_stopped(Machine *m, const char *name, GError **errp)
{
    BlockBackend *vm = vmstate_disk(m, errp);
    BlockSnapshotInfo sn;
    if (!vm)
        return false;
    if (!find_snapshot(vm, name, &sn)) {
        g_set_error(errp, G_IO_ERROR, G_IO_ERROR_NOT_FOUND,
                    "Snapshot '%s' does not exist in one or more devices", name);
        return false;
    }
    uint64_t size = sn.vm_state_size;
    block_snapshot_info_clear(&sn);
    if (!size) {
        g_set_error(errp, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT, "This is a disk-only "
                    "snapshot. Revert to it offline using qemu-img");
        return false;
    }
    for (guint i = 0; drive_at(m, i); i++) {
        DriveInfo *d = drive_at(m, i);
        if (no_snapshots(d))
            continue;
        if (!find_snapshot(d->blk, name, &sn)) {
            g_set_error(errp, G_IO_ERROR, G_IO_ERROR_NOT_FOUND,
                        "Snapshot '%s' does not exist in one or more devices", name);
            return false;
        }
        block_snapshot_info_clear(&sn);
    }
    mig_quiesce_drives(m);
    for (guint i = 0; drive_at(m, i); i++) {
        DriveInfo *d = drive_at(m, i);
        if (!no_snapshots(d) && blk_snapshot_apply(d->blk, name, errp) < 0) {
            g_prefix_error(errp, "Could not load snapshot '%s' on '%s': ", name, d->id);
            return false;
        }
    }
    VmstateIo io = { .blk = vm, .limit = size };
    MigChannel *c = mc_new_io("loadvm", vmstate_io, &io);
    bool ok = mig_load_channel(m, c, errp);
    mc_free(c);
    if (!ok)
        g_prefix_error(errp, "Error while loading VM state of snapshot '%s': ", name);
    return ok;
}

bool snapshot_load(Machine *m, const char *name, GError **errp)
{
    if (snapshot_busy(m, errp))
        return false;
    bool was_running = runstate_is_running(m);
    RunState prev = runstate_get(m);
    vm_stop(m, RUN_STATE_RESTORE_VM);
    mig_state(m)->snapshot_busy = true;
    bool ok = load_stopped(m, name, errp);
    mig_state(m)->snapshot_busy = false;
    runstate_set(m, prev == RUN_STATE_RUNNING ? RUN_STATE_PAUSED : prev);
    if (ok && was_running)
        vm_start(m);
    return ok;
}

bool snapshot_load_at_start(Machine *m, const char *name, GError **errp)
{
    if (!load_stopped(m, name, errp)) {
        g_prefix_error(errp, "-loadvm %s: ", name);
        return false;
    }
    return true;
}

bool snapshot_delete(Machine *m, const char *name, GError **errp)
{
    if (snapshot_busy(m, errp))
        return false;
    for (guint i = 0; drive_at(m, i); i++) {
        DriveInfo *d = drive_at(m, i);
        BlockSnapshotInfo sn;
        if (no_snapshots(d) || !find_snapshot(d->blk, name, &sn))
            continue;
        block_snapshot_info_clear(&sn);
        if (blk_snapshot_delete(d->blk, name, errp) < 0) {
            g_prefix_error(errp, "Error while deleting snapshot on device '%s': ", d->id);
            return false;
        }
    }
    return true;
}

/* HMP "info snapshots": the snapshots of the VM state disk (QEMU's table layout). */
void snapshot_list(Machine *m, GString *out)
{
    GError *err = NULL;
    BlockBackend *vm = vmstate_disk(m, &err);
    if (!vm) {
        g_string_append_printf(out, "%s\n", err->message);
        g_error_free(err);
        return;
    }
    BlockSnapshotInfo *list = NULL;
    int n = blk_snapshot_list(vm, &list);
    if (n <= 0) {
        g_string_append(out, "There is no snapshot available.\n");
        g_free(list);
        return;
    }
    g_string_append(out, "List of snapshots present on all disks:\n");
    g_string_append_printf(out, "%-10s%-17s%8s%20s%13s%11s\n", "ID", "TAG", "VM SIZE", "DATE",
                           "VM CLOCK", "ICOUNT");
    for (int i = 0; i < n; i++) {
        BlockSnapshotInfo *sn = &list[i];
        g_autoptr(GDateTime) dt = g_date_time_new_from_unix_local(sn->date_sec);
        g_autofree char *date = dt ? g_date_time_format(dt, "%Y-%m-%d %H:%M:%S") : g_strdup("");
        g_autofree char *size = g_format_size_full(sn->vm_state_size, G_FORMAT_SIZE_IEC_UNITS);
        uint64_t secs = sn->vm_clock_nsec / 1000000000ull;
        g_string_append_printf(out, "%-10s%-17s%8s%20s %02u:%02u:%02u.%03u%11s\n", "--",
                               sn->name, sn->vm_state_size ? size : "0 B", date,
                               (unsigned)(secs / 3600), (unsigned)(secs / 60 % 60),
                               (unsigned)(secs % 60),
                               (unsigned)(sn->vm_clock_nsec / 1000000 % 1000), "");
        block_snapshot_info_clear(sn);
    }
    g_free(list);
}
