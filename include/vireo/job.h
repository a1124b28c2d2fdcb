/*
 * Background jobs (system/job.c): QEMU 7.2's job model as QMP sees it (qapi/job.json).
 * A job has a unique id (an identifier: a letter, then letters, digits, '-', '.', '_'),
 * a type and a status that moves through QEMU's JobStatus state machine:
 *
 *   created -> running [<-> paused] -> waiting -> pending -> concluded -> null
 *                  \-> aborting -> concluded (failed or cancelled; error set)
 *
 * Every transition sends JOB_STATUS_CHANGE {id, status}. The work runs on the main
 * loop (an idle source, big lock held) in steps: the driver's run() is called until it
 * says done or failed; pause and cancel take effect between steps. A job created with
 * JOB_MANUAL_FINALIZE waits in pending for job-finalize; one with JOB_MANUAL_DISMISS
 * stays concluded (query-jobs shows it, with its error) until job-dismiss; otherwise it
 * goes to null and is freed at once. Main thread only.
 */
#ifndef VIREO_JOB_H
#define VIREO_JOB_H

#include "vireo/machine.h"
#include "qapi/qapi-generated.h"

typedef struct Job Job;

typedef enum JobStep {
    JOB_STEP_FAILED = -1,       /* *errp set */
    JOB_STEP_DONE = 0,
    JOB_STEP_AGAIN = 1,         /* call run() again (pause/cancel may come between) */
} JobStep;

typedef struct JobDriver {
    JobType type;
    JobStep (*run)(Job *job, GError **errp);
    void (*free)(void *opaque);         /* the driver's data, when the job goes */
    /* job-cancel does not stop the work: the job ends cancelled once run() is done
     * (QEMU's snapshot jobs, whose work cannot be interrupted). */
    bool runs_to_end;
} JobDriver;

enum {
    JOB_DEFAULT = 0,
    JOB_MANUAL_FINALIZE = 1,
    JOB_MANUAL_DISMISS = 2,
};

/* A new job in status created (JOB_STATUS_CHANGE sent), or NULL with QEMU's errors:
 * "Invalid job ID 'X'", "Job ID 'X' already in use". @opaque belongs to the job. */
Job *job_create(Machine *m, const char *id, const JobDriver *drv, void *opaque, int flags,
                GError **errp);
/* created -> running; the first step runs from the main loop, never from here. */
void job_start(Job *job);

Machine *job_machine(Job *job);
void *job_opaque(Job *job);
const char *job_id(Job *job);
JobStatus job_status(Job *job);
/* Progress as query-jobs reports it (current-progress / total-progress). */
void job_progress_set_total(Job *job, uint64_t total);
void job_progress_add(Job *job, uint64_t done);

Job *job_find(Machine *m, const char *id);
/* The verbs (QMP job-*), with QEMU's errors: "Job not found", "Job 'X' in state 'S'
 * cannot accept command verb 'V'", "Job is already paused", "Can't resume a job that
 * was not paused". */
bool job_user_pause(Machine *m, const char *id, GError **errp);
bool job_user_resume(Machine *m, const char *id, GError **errp);
bool job_user_cancel(Machine *m, const char *id, GError **errp);
bool job_user_complete(Machine *m, const char *id, GError **errp);
bool job_user_finalize(Machine *m, const char *id, GError **errp);
bool job_user_dismiss(Machine *m, const char *id, GError **errp);
/* Whether status @st accepts verb @verb (QEMU's table). */
bool job_verb_allowed(JobStatus st, JobVerb verb);
/* Whether @from -> @to is a transition of the state machine. */
bool job_transition_allowed(JobStatus from, JobStatus to);

/* query-jobs: JobInfo of every job, newest first. */
GPtrArray *job_query_all(Machine *m);
/* At exit: every job freed without further events. */
void jobs_free(Machine *m);

#endif
