/*
 * A stopped VM to and from a file descriptor, synchronously on the main thread: what
 * savevm/loadvm store in a qcow2 image's VM state area, and what the unit tests and
 * the fuzzer drive. The same stream as a live migration, sent in one pass.
 */
#include "migration.h"
#include "vireo/drive.h"
#include <errno.h>
#include <unistd.h>

/* No request may be in flight while device state is read: the block layer completes
 * them (virtio-blk pushes them to the used ring) before the VM's state is taken. */
void mig_quiesce_drives(Machine *m)
{
    for (guint i = 0; m->drives && i < m->drives->len; i++) {
        DriveInfo *d = m->drives->pdata[i];
        if (d->blk)                     /* NULL: a CD-ROM drive without medium */
            blk_drain(d->blk);
    }
}

bool mig_save_channel(Machine *m, MigChannel *c, GError **errp)
{
    if (m->migration)                   /* RAM restored lazily is all there */
        mig_lazy_wait(m->migration->lazy);
    mig_quiesce_drives(m);
    if (!drives_check_no_retry(m, "Saving the VM state", errp))
        return false;
    GArray *secs = mig_sections(m);
    g_autoptr(GByteArray) devs = g_byte_array_new();
    MigRamStats st = { 0 };
    mig_put_header(c, 0, 0, 0);
    mig_put_config(c, m, secs, 0);
    mig_ram_dirty_begin(m);
    mig_ram_send(m, c, 0, 1, NULL, &st);
    mig_ram_dirty_end(m);
    bool ok = mig_save_sections(m, secs, devs, errp);
    if (ok) {
        mc_put(c, devs->data, devs->len);
        if (!mig_put_end(c)) {
            mc_set_error(c, errp);
            ok = false;
        }
    }
    g_array_free(secs, TRUE);
    return ok;
}

bool mig_load_channel(Machine *m, MigChannel *c, GError **errp)
{
    MigLoad l;
    mig_load_init(&l, m, c);
    bool ok = mig_load_header(&l, errp) && mig_load_config(&l, errp);
    if (ok && (l.flags & MIG_F_MAPPED_RAM))
        ok = mig_mapped_load(m, c, false, errp);
    if (ok && (l.flags & MIG_F_MULTIFD)) {
        g_set_error(errp, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                    "a multifd stream cannot be loaded from one file");
        ok = false;
    }
    ok = ok && mig_load_records(&l, errp);
    mig_quiesce_drives(m);
    ok = ok && mig_load_apply(&l, errp);
    if (!ok)
        machine_reset_devices(m);       /* nothing a refused stream loaded stays */
    mig_load_clear(&l);
    return ok;
}

static MigChannel *dup_channel(int fd, GError **errp)
{
    int dfd = dup(fd);
    if (dfd < 0) {
        g_set_error(errp, G_IO_ERROR, G_IO_ERROR_FAILED, "dup: %s", g_strerror(errno));
        return NULL;
    }
    return mc_new(dfd, "snapshot");
}

bool migration_save_fd(Machine *m, int fd, GError **errp)
{
    MigChannel *c = dup_channel(fd, errp);
    bool ok = c && mig_save_channel(m, c, errp);
    mc_free(c);
    return ok;
}

bool migration_load_fd(Machine *m, int fd, GError **errp)
{
    MigChannel *c = dup_channel(fd, errp);
    bool ok = c && mig_load_channel(m, c, errp);
    mc_free(c);
    return ok;
}
