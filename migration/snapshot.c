/*
 * Internal snapshots of the whole VM (QEMU's savevm/loadvm/delvm, migration/savevm.c):
 * the disks' qcow2 internal snapshots, and the VM's state (the same stream as a
 * migration, one pass) in the VM state area of the first writable disk that has one
 * (the snapshot records its vm_state_size). Every writable disk must support
 * snapshots. These run on the main thread while the VM is stopped, as QEMU's HMP
 * commands do. The QMP jobs (snapshot-job.c) use the same functions on the disks they
 * name, with the VM state on the node they name.
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

/*
 * The disks a snapshot covers (DriveInfo, in m->drives order): every drive (HMP, NULL
 * @devices), or the nodes @devices names (the QMP jobs: node names, as QEMU's
 * bdrv_find_node; query-named-block-nodes lists them). Every drive: read-only drives
 * and drives without medium are left out.
 */
static GPtrArray *select_disks(Machine *m, GPtrArray *devices, GError **errp)
{
    GPtrArray *sel = g_ptr_array_new();
    if (devices && !devices->len) {
        g_set_error(errp, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                    "At least one device is required for snapshot");
        goto fail;
    }
    for (guint i = 0; devices && i < devices->len; i++) {
        if (!drive_find_node(m, devices->pdata[i], NULL)) {
            g_set_error(errp, G_IO_ERROR, G_IO_ERROR_NOT_FOUND, "No block device node '%s'",
                        (const char *)devices->pdata[i]);
            goto fail;
        }
    }
    for (guint i = 0; drive_at(m, i); i++) {
        DriveInfo *d = drive_at(m, i);
        bool named = !devices;
        for (guint k = 0; !named && k < devices->len; k++) {
            g_autofree char *name = drive_node_name(d, i, 0);
            named = !strcmp(name, devices->pdata[k]);
        }
        /* Named, a read-only node is kept: can_snapshot() refuses it, as QEMU does. */
        if (devices ? named && d->blk : !no_snapshots(d))
            g_ptr_array_add(sel, d);
    }
    return sel;
fail:
    g_ptr_array_free(sel, TRUE);
    return NULL;
}

/* Every disk of @sel must support snapshots (QEMU's bdrv_all_can_snapshot). */
static bool can_snapshot(GPtrArray *sel, GError **errp)
{
    for (guint i = 0; i < sel->len; i++) {
        DriveInfo *d = sel->pdata[i];
        if (!blk_has_vmstate(d->blk)) {
            g_set_error(errp, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED, "Device '%s' is writable "
                        "but does not support snapshots", d->id);
            return false;
        }
    }
    return true;
}

/* The disk of @sel that holds the VM state: node @vmstate, or the first one. */
static BlockBackend *vmstate_disk(Machine *m, GPtrArray *sel, const char *vmstate,
                                  GError **errp)
{
    if (!vmstate) {
        if (sel->len)
            return ((DriveInfo *)sel->pdata[0])->blk;
        g_set_error(errp, G_IO_ERROR, G_IO_ERROR_NOT_FOUND,
                    "No block device can accept snapshots");
        return NULL;
    }
    DriveInfo *d = drive_find_node(m, vmstate, NULL);
    for (guint i = 0; d && i < sel->len; i++)
        if (sel->pdata[i] == d)
            return d->blk;
    g_set_error(errp, G_IO_ERROR, G_IO_ERROR_NOT_FOUND,
                "vmstate block device '%s' does not exist", vmstate);
    return NULL;
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

static bool has_snapshot(BlockBackend *blk, const char *name)
{
    BlockSnapshotInfo sn;
    if (!find_snapshot(blk, name, &sn))
        return false;
    block_snapshot_info_clear(&sn);
    return true;
}

static bool save_selected(Machine *m, GPtrArray *sel, const char *name, const char *vmstate,
                          bool overwrite, GError **errp)
{
    if (!can_snapshot(sel, errp))
        return false;
    for (guint i = 0; !overwrite && i < sel->len; i++) {
        if (has_snapshot(((DriveInfo *)sel->pdata[i])->blk, name)) {
            g_set_error(errp, G_IO_ERROR, G_IO_ERROR_EXISTS,
                        "Snapshot '%s' already exists in one or more devices", name);
            return false;
        }
    }
    BlockBackend *vm = vmstate_disk(m, sel, vmstate, errp);
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
    for (guint i = 0; i < sel->len; i++) {
        DriveInfo *d = sel->pdata[i];
        if (has_snapshot(d->blk, name)) {
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
    for (guint i = 0; ok && i < sel->len; i++) {
        DriveInfo *d = sel->pdata[i];
        ok = blk_snapshot_create_vm(d->blk, name, d->blk == vm ? io.pos : 0,
                                    (uint64_t)vm_clock_ns(m), errp) >= 0;
        if (!ok)
            g_prefix_error(errp, "Error while creating snapshot on '%s': ", d->id);
    }
    mig_state(m)->snapshot_busy = false;
    runstate_set(m, prev == RUN_STATE_RUNNING ? RUN_STATE_PAUSED : prev);
    if (was_running)
        vm_start(m);
    return ok;
}

bool snapshot_save_vm(Machine *m, const char *name, const char *vmstate, GPtrArray *devices,
                      bool overwrite, GError **errp)
{
    if (snapshot_busy(m, errp))
        return false;
    GPtrArray *sel = select_disks(m, devices, errp);
    if (!sel)
        return false;
    bool ok = save_selected(m, sel, name, vmstate, overwrite, errp);
    g_ptr_array_free(sel, TRUE);
    return ok;
}

bool snapshot_save(Machine *m, const char *name, GError **errp)
{
    return snapshot_save_vm(m, name, NULL, NULL, true, errp);
}

/* Applies snapshot @name to the disks and loads its VM state (VM stopped). */
static bool load_selected(Machine *m, GPtrArray *sel, const char *name, const char *vmstate,
                          GError **errp)
{
    BlockSnapshotInfo sn;
    if (!can_snapshot(sel, errp))
        return false;
    for (guint i = 0; i < sel->len; i++) {
        if (!has_snapshot(((DriveInfo *)sel->pdata[i])->blk, name)) {
            g_set_error(errp, G_IO_ERROR, G_IO_ERROR_NOT_FOUND,
                        "Snapshot '%s' does not exist in one or more devices", name);
            return false;
        }
    }
    BlockBackend *vm = vmstate_disk(m, sel, vmstate, errp);
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
    mig_quiesce_drives(m);
    for (guint i = 0; i < sel->len; i++) {
        DriveInfo *d = sel->pdata[i];
        if (blk_snapshot_apply(d->blk, name, errp) < 0) {
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

static bool load_stopped(Machine *m, const char *name, const char *vmstate,
                         GPtrArray *devices, GError **errp)
{
    GPtrArray *sel = select_disks(m, devices, errp);
    if (!sel)
        return false;
    bool ok = load_selected(m, sel, name, vmstate, errp);
    g_ptr_array_free(sel, TRUE);
    return ok;
}

bool snapshot_load_vm(Machine *m, const char *name, const char *vmstate, GPtrArray *devices,
                      GError **errp)
{
    if (snapshot_busy(m, errp))
        return false;
    bool was_running = runstate_is_running(m);
    RunState prev = runstate_get(m);
    vm_stop(m, RUN_STATE_RESTORE_VM);
    mig_state(m)->snapshot_busy = true;
    bool ok = load_stopped(m, name, vmstate, devices, errp);
    mig_state(m)->snapshot_busy = false;
    if (ok && was_running)
        vm_start(m);
    else if (!was_running)
        runstate_set(m, prev);
    /* else QEMU's: a VM that ran stays stopped in restore-vm after a failed load. */
    return ok;
}

bool snapshot_load(Machine *m, const char *name, GError **errp)
{
    return snapshot_load_vm(m, name, NULL, NULL, errp);
}

bool snapshot_load_at_start(Machine *m, const char *name, GError **errp)
{
    if (!load_stopped(m, name, NULL, NULL, errp)) {
        g_prefix_error(errp, "-loadvm %s: ", name);
        return false;
    }
    return true;
}

bool snapshot_delete_vm(Machine *m, const char *name, GPtrArray *devices, GError **errp)
{
    if (snapshot_busy(m, errp))
        return false;
    GPtrArray *sel = select_disks(m, devices, errp);
    if (!sel)
        return false;
    bool ok = true;
    for (guint i = 0; ok && i < sel->len; i++) {
        DriveInfo *d = sel->pdata[i];
        if (!has_snapshot(d->blk, name))
            continue;
        if (blk_snapshot_delete(d->blk, name, errp) < 0) {
            g_prefix_error(errp, "Error while deleting snapshot on device '%s': ", d->id);
            ok = false;
        }
    }
    g_ptr_array_free(sel, TRUE);
    return ok;
}

bool snapshot_delete(Machine *m, const char *name, GError **errp)
{
    return snapshot_delete_vm(m, name, NULL, errp);
}

/* HMP "info snapshots": the snapshots of the VM state disk (QEMU's table layout). */
void snapshot_list(Machine *m, GString *out)
{
    GError *err = NULL;
    GPtrArray *sel = select_disks(m, NULL, &err);
    BlockBackend *vm = can_snapshot(sel, &err) ? vmstate_disk(m, sel, NULL, &err) : NULL;
    g_ptr_array_free(sel, TRUE);
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
