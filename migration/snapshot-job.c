/*
 * QMP snapshot-save / snapshot-load / snapshot-delete (QEMU 7.2 qapi/migration.json):
 * each command creates a job (system/job.c) and returns; the job does the work of
 * savevm/loadvm/delvm (snapshot.c) in one step from the main loop, on the disks named
 * by node name in @devices and with the VM state on node @vmstate. As QEMU's, the jobs
 * are created with manual dismiss: a job stays 'concluded' (query-jobs shows it, with
 * its error when it failed) until job-dismiss. The VM is stopped around the work by
 * snapshot.c (STOP/RESUME when it was running; a load that fails leaves it in restore-vm).
 */
#include "migration.h"
#include "vireo/job.h"

typedef struct SnapshotJob {
    char *tag, *vmstate;
    GPtrArray *devices;         /* char *: node names */
} SnapshotJob;

static void snapshot_job_free(void *opaque)
{
    SnapshotJob *s = opaque;
    g_free(s->tag);
    g_free(s->vmstate);
    g_ptr_array_unref(s->devices);
    g_free(s);
}

static JobStep save_run(Job *job, GError **errp)
{
    SnapshotJob *s = job_opaque(job);
    bool ok = snapshot_save_vm(job_machine(job), s->tag, s->vmstate, s->devices, false, errp);
    return ok ? JOB_STEP_DONE : JOB_STEP_FAILED;
}

static JobStep load_run(Job *job, GError **errp)
{
    SnapshotJob *s = job_opaque(job);
    bool ok = snapshot_load_vm(job_machine(job), s->tag, s->vmstate, s->devices, errp);
    return ok ? JOB_STEP_DONE : JOB_STEP_FAILED;
}

static JobStep delete_run(Job *job, GError **errp)
{
    SnapshotJob *s = job_opaque(job);
    bool ok = snapshot_delete_vm(job_machine(job), s->tag, s->devices, errp);
    return ok ? JOB_STEP_DONE : JOB_STEP_FAILED;
}

/* The work is one step that a cancel does not stop: a job cancelled before it ran does
 * it and ends cancelled, as QEMU's (there the work runs before the client can ask). */
static const JobDriver save_driver = { JOB_TYPE_SNAPSHOT_SAVE, save_run, snapshot_job_free,
                                       .runs_to_end = true };
static const JobDriver load_driver = { JOB_TYPE_SNAPSHOT_LOAD, load_run, snapshot_job_free,
                                       .runs_to_end = true };
static const JobDriver delete_driver = { JOB_TYPE_SNAPSHOT_DELETE, delete_run,
                                         snapshot_job_free, .runs_to_end = true };

static void start(Machine *m, const JobDriver *drv, const char *job_id, const char *tag,
                  const char *vmstate, GPtrArray *devices, GError **errp)
{
    SnapshotJob *s = g_new0(SnapshotJob, 1);
    s->tag = g_strdup(tag);
    s->vmstate = g_strdup(vmstate);
    s->devices = g_ptr_array_new_with_free_func(g_free);
    for (guint i = 0; i < devices->len; i++)
        g_ptr_array_add(s->devices, g_strdup(devices->pdata[i]));
    Job *job = job_create(m, job_id, drv, s, JOB_MANUAL_DISMISS, errp);
    if (job)
        job_start(job);
}

void qmp_snapshot_save(Machine *m, const char *job_id, const char *tag, const char *vmstate,
                       GPtrArray *devices, GError **errp)
{
    start(m, &save_driver, job_id, tag, vmstate, devices, errp);
}

void qmp_snapshot_load(Machine *m, const char *job_id, const char *tag, const char *vmstate,
                       GPtrArray *devices, GError **errp)
{
    start(m, &load_driver, job_id, tag, vmstate, devices, errp);
}

void qmp_snapshot_delete(Machine *m, const char *job_id, const char *tag, GPtrArray *devices,
                         GError **errp)
{
    start(m, &delete_driver, job_id, tag, NULL, devices, errp);
}
