/*
 * Background jobs: ids, the JobStatus state machine, the verbs of QMP's job-* commands,
 * JOB_STATUS_CHANGE, query-jobs (include/vireo/job.h; QEMU 7.2 qapi/job.json documents
 * the model, the error texts are QEMU's). Jobs live in m->jobs, newest first, and run
 * from idle sources on the main loop.
 */
#include "vireo/job.h"
#include "vireo/option.h"
#include <errno.h>
#include <string.h>

#define GENERIC(errp, ...) g_set_error(errp, QMP_ERROR, QAPI_ERROR_CLASS_GENERICERROR, __VA_ARGS__)

struct Job {
    Machine *m;
    char *id;
    const JobDriver *drv;
    void *opaque;
    JobStatus status;
    bool auto_finalize, auto_dismiss;
    bool cancelled;             /* job-cancel: ends before the next step */
    bool user_paused;           /* job-pause given, job-resume not yet */
    bool in_step;               /* run() is on the stack */
    uint64_t progress_done, progress_total;
    char *error;                /* the failure, for query-jobs */
    guint idle;                 /* the source of the next step, 0 when none */
};

/* Which status may follow which (the diagram of qapi/job.json). */
bool job_transition_allowed(JobStatus from, JobStatus to)
{
    switch (from) {
    case JOB_STATUS_UNDEFINED:
        return to == JOB_STATUS_CREATED;
    case JOB_STATUS_CREATED:
        return to == JOB_STATUS_RUNNING || to == JOB_STATUS_ABORTING || to == JOB_STATUS_NULL;
    case JOB_STATUS_RUNNING:
        return to == JOB_STATUS_PAUSED || to == JOB_STATUS_READY || to == JOB_STATUS_WAITING ||
               to == JOB_STATUS_ABORTING;
    case JOB_STATUS_PAUSED:
        return to == JOB_STATUS_RUNNING;
    case JOB_STATUS_READY:
        return to == JOB_STATUS_STANDBY || to == JOB_STATUS_WAITING ||
               to == JOB_STATUS_ABORTING;
    case JOB_STATUS_STANDBY:
        return to == JOB_STATUS_READY;
    case JOB_STATUS_WAITING:
        return to == JOB_STATUS_PENDING || to == JOB_STATUS_ABORTING;
    case JOB_STATUS_PENDING:
    case JOB_STATUS_ABORTING:
        return to == JOB_STATUS_ABORTING || to == JOB_STATUS_CONCLUDED;
    case JOB_STATUS_CONCLUDED:
        return to == JOB_STATUS_NULL;
    default:
        return false;
    }
}

/* Which status accepts which verb. */
bool job_verb_allowed(JobStatus st, JobVerb verb)
{
    bool active = st == JOB_STATUS_CREATED || st == JOB_STATUS_RUNNING ||
                  st == JOB_STATUS_PAUSED || st == JOB_STATUS_READY ||
                  st == JOB_STATUS_STANDBY;
    switch (verb) {
    case JOB_VERB_CANCEL:
        return active || st == JOB_STATUS_WAITING || st == JOB_STATUS_PENDING;
    case JOB_VERB_PAUSE:
    case JOB_VERB_RESUME:
    case JOB_VERB_SET_SPEED:
    case JOB_VERB_CHANGE:
        return active;
    case JOB_VERB_COMPLETE:
        return st == JOB_STATUS_READY;
    case JOB_VERB_FINALIZE:
        return st == JOB_STATUS_PENDING;
    case JOB_VERB_DISMISS:
        return st == JOB_STATUS_CONCLUDED;
    default:
        return false;
    }
}

static void set_status(Job *job, JobStatus to)
{
    g_assert(job_transition_allowed(job->status, to));
    job->status = to;
    qapi_event_send_job_status_change(job->m, job->id, to);
}

static bool apply_verb(Job *job, JobVerb verb, GError **errp)
{
    if (job_verb_allowed(job->status, verb))
        return true;
    GENERIC(errp, "Job '%s' in state '%s' cannot accept command verb '%s'", job->id,
            JobStatus_str[job->status], JobVerb_str[verb]);
    return false;
}

Job *job_find(Machine *m, const char *id)
{
    for (GList *l = m->jobs; l; l = l->next) {
        Job *job = l->data;
        if (!strcmp(job->id, id))
            return job;
    }
    return NULL;
}

static Job *find_or_fail(Machine *m, const char *id, GError **errp)
{
    Job *job = job_find(m, id);
    if (!job)
        GENERIC(errp, "Job not found");
    return job;
}

Job *job_create(Machine *m, const char *id, const JobDriver *drv, void *opaque, int flags,
                GError **errp)
{
    if (!id_wellformed(id)) {
        GENERIC(errp, "Invalid job ID '%s'", id);
        goto fail;
    }
    if (job_find(m, id)) {
        GENERIC(errp, "Job ID '%s' already in use", id);
        goto fail;
    }
    Job *job = g_new0(Job, 1);
    job->m = m;
    job->id = g_strdup(id);
    job->drv = drv;
    job->opaque = opaque;
    job->auto_finalize = !(flags & JOB_MANUAL_FINALIZE);
    job->auto_dismiss = !(flags & JOB_MANUAL_DISMISS);
    job->status = JOB_STATUS_UNDEFINED;
    m->jobs = g_list_prepend(m->jobs, job);
    set_status(job, JOB_STATUS_CREATED);
    return job;
fail:
    if (drv->free)
        drv->free(opaque);
    return NULL;
}

static void job_free(Job *job)
{
    job->m->jobs = g_list_remove(job->m->jobs, job);
    if (job->idle)
        g_source_remove(job->idle);
    if (job->drv->free)
        job->drv->free(job->opaque);
    g_free(job->error);
    g_free(job->id);
    g_free(job);
}

/* concluded -> null: the job is gone. */
static void job_dismiss(Job *job)
{
    set_status(job, JOB_STATUS_NULL);
    job_free(job);
}

static void job_conclude(Job *job)
{
    set_status(job, JOB_STATUS_CONCLUDED);
    if (job->auto_dismiss)
        job_dismiss(job);
}

static void job_abort(Job *job, const char *error)
{
    if (!job->error)
        job->error = g_strdup(error);
    set_status(job, JOB_STATUS_ABORTING);
    job->progress_done = job->progress_total;
    job_conclude(job);
}

/* The work is done: waiting -> pending, and on to concluded unless finalized by hand. */
static void job_succeeded(Job *job)
{
    job->progress_done = job->progress_total;
    set_status(job, JOB_STATUS_WAITING);
    set_status(job, JOB_STATUS_PENDING);
    if (job->auto_finalize)
        job_conclude(job);
}

static gboolean job_step(gpointer opaque)
{
    Job *job = opaque;
    if (job->cancelled && !job->drv->runs_to_end) {
        job->idle = 0;
        job_abort(job, g_strerror(ECANCELED));
        return G_SOURCE_REMOVE;
    }
    if (job->user_paused && !job->cancelled) {
        job->idle = 0;
        set_status(job, JOB_STATUS_PAUSED);
        return G_SOURCE_REMOVE;
    }
    GError *err = NULL;
    job->in_step = true;
    JobStep r = job->drv->run(job, &err);
    job->in_step = false;
    if (r == JOB_STEP_AGAIN)
        return G_SOURCE_CONTINUE;   /* job->idle stays this source */
    job->idle = 0;
    if (r == JOB_STEP_FAILED) {
        job_abort(job, err ? err->message : "Unknown error");
        g_clear_error(&err);
    } else if (job->cancelled) {    /* cancelled while its last step ran (QEMU: ECANCELED) */
        job_abort(job, g_strerror(ECANCELED));
    } else {
        job_succeeded(job);
    }
    return G_SOURCE_REMOVE;
}

static void schedule(Job *job)
{
    /* At the default priority: a job's step is work a client waits for, not background
     * work. (An idle-priority step once never ran: slirp's source was dispatched after
     * every poll, starving every idle source; fixed in net/slirp.c.) */
    if (!job->idle)
        job->idle = g_idle_add_full(G_PRIORITY_DEFAULT, job_step, job, NULL);
}

void job_start(Job *job)
{
    set_status(job, JOB_STATUS_RUNNING);
    if (!job->progress_total)
        job->progress_total = 1;
    schedule(job);
}

Machine *job_machine(Job *job) { return job->m; }
void *job_opaque(Job *job) { return job->opaque; }
const char *job_id(Job *job) { return job->id; }
JobStatus job_status(Job *job) { return job->status; }
void job_progress_set_total(Job *job, uint64_t total) { job->progress_total = total; }
void job_progress_add(Job *job, uint64_t done) { job->progress_done += done; }

/* ---- verbs -------------------------------------------------------------------------- */

bool job_user_pause(Machine *m, const char *id, GError **errp)
{
    Job *job = find_or_fail(m, id, errp);
    if (!job || !apply_verb(job, JOB_VERB_PAUSE, errp))
        return false;
    if (job->user_paused) {
        GENERIC(errp, "Job is already paused");
        return false;
    }
    job->user_paused = true;    /* takes effect before the next step */
    return true;
}

bool job_user_resume(Machine *m, const char *id, GError **errp)
{
    Job *job = find_or_fail(m, id, errp);
    if (!job)
        return false;
    if (!job->user_paused) {
        GENERIC(errp, "Can't resume a job that was not paused");
        return false;
    }
    if (!apply_verb(job, JOB_VERB_RESUME, errp))
        return false;
    job->user_paused = false;
    if (job->status == JOB_STATUS_PAUSED) {
        set_status(job, JOB_STATUS_RUNNING);
        schedule(job);
    }
    return true;
}

bool job_user_cancel(Machine *m, const char *id, GError **errp)
{
    Job *job = find_or_fail(m, id, errp);
    if (!job || !apply_verb(job, JOB_VERB_CANCEL, errp))
        return false;
    if (job->status == JOB_STATUS_CREATED) {    /* never started: goes at once */
        job_abort(job, g_strerror(ECANCELED));
        return true;
    }
    if (job->status == JOB_STATUS_PENDING) {    /* finished, not finalized */
        job_abort(job, g_strerror(ECANCELED));
        return true;
    }
    job->cancelled = true;
    job->user_paused = false;
    if (job->status == JOB_STATUS_PAUSED) {
        set_status(job, JOB_STATUS_RUNNING);
        schedule(job);
    }
    return true;
}

bool job_user_complete(Machine *m, const char *id, GError **errp)
{
    Job *job = find_or_fail(m, id, errp);
    if (!job || !apply_verb(job, JOB_VERB_COMPLETE, errp))
        return false;
    /* No Vireo job reaches 'ready'; QEMU's text for a job without completion. */
    GENERIC(errp, "The active block job '%s' cannot be completed", job->id);
    return false;
}

bool job_user_finalize(Machine *m, const char *id, GError **errp)
{
    Job *job = find_or_fail(m, id, errp);
    if (!job || !apply_verb(job, JOB_VERB_FINALIZE, errp))
        return false;
    job_conclude(job);
    return true;
}

bool job_user_dismiss(Machine *m, const char *id, GError **errp)
{
    Job *job = find_or_fail(m, id, errp);
    if (!job || !apply_verb(job, JOB_VERB_DISMISS, errp))
        return false;
    job_dismiss(job);
    return true;
}

GPtrArray *job_query_all(Machine *m)
{
    GPtrArray *a = g_ptr_array_new_with_free_func((GDestroyNotify)qapi_free_JobInfo);
    for (GList *l = m->jobs; l; l = l->next) {
        Job *job = l->data;
        JobInfo *i = g_new0(JobInfo, 1);
        i->id = g_strdup(job->id);
        i->type = job->drv->type;
        i->status = job->status;
        i->current_progress = job->progress_done;
        i->total_progress = job->progress_total;
        i->error = g_strdup(job->error);
        g_ptr_array_add(a, i);
    }
    return a;
}

void jobs_free(Machine *m)
{
    while (m->jobs) {
        Job *job = m->jobs->data;
        g_assert(!job->in_step);
        job_free(job);
    }
}

/* ---- QMP ------------------------------------------------------------------------------ */

GPtrArray *qmp_query_jobs(Machine *m, GError **errp)
{
    return job_query_all(m);
}

void qmp_job_pause(Machine *m, const char *id, GError **errp) { job_user_pause(m, id, errp); }
void qmp_job_resume(Machine *m, const char *id, GError **errp) { job_user_resume(m, id, errp); }
void qmp_job_cancel(Machine *m, const char *id, GError **errp) { job_user_cancel(m, id, errp); }
void qmp_job_complete(Machine *m, const char *id, GError **errp) { job_user_complete(m, id, errp); }
void qmp_job_finalize(Machine *m, const char *id, GError **errp) { job_user_finalize(m, id, errp); }
void qmp_job_dismiss(Machine *m, const char *id, GError **errp) { job_user_dismiss(m, id, errp); }
