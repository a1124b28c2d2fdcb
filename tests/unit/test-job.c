/*
 * The job core (system/job.c) without KVM: the JobStatus transitions and verb tables,
 * job ids, and whole lives of a made-up job on a test machine (pause/resume, cancel,
 * failure, manual finalize and dismiss, auto-dismiss), with the JOB_STATUS_CHANGE
 * events a QMP client sees and query-jobs' answers. Error texts are QEMU 7.2's.
 */
#include "vireo/job.h"
#include "vireo/qmp.h"
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

typedef struct Client {
    int fd;
    GString *in;
} Client;

/* A negotiated QMP session on a socketpair; its events are what the test reads. */
static Client *client_new(Machine *m)
{
    int sv[2];
    g_assert_cmpint(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), ==, 0);
    g_assert_true(monitor_add_fd(m, sv[0], true, false, NULL));
    Client *c = g_new0(Client, 1);
    c->fd = sv[1];
    c->in = g_string_new(NULL);
    fcntl(c->fd, F_SETFL, O_NONBLOCK);
    const char *neg = "{\"execute\": \"qmp_capabilities\"}";
    g_assert_cmpint(write(c->fd, neg, strlen(neg)), ==, (ssize_t)strlen(neg));
    for (int i = 0; i < 1000 && !strstr(c->in->str, "{\"return\": {}}\r\n"); i++) {
        char buf[4096];
        ssize_t r = read(c->fd, buf, sizeof(buf));
        if (r > 0)
            g_string_append_len(c->in, buf, r);
        else
            g_main_context_iteration(NULL, FALSE);
    }
    g_assert_nonnull(strstr(c->in->str, "{\"return\": {}}\r\n"));
    g_string_truncate(c->in, 0);
    return c;
}

static void client_free(Client *c)
{
    close(c->fd);
    g_string_free(c->in, TRUE);
    g_free(c);
}

/* The statuses of the JOB_STATUS_CHANGE events since the last call ("a,b,c"). */
static char *events(Client *c)
{
    char buf[65536];
    ssize_t r;
    for (int i = 0; i < 3; i++)
        g_main_context_iteration(NULL, FALSE);
    while ((r = read(c->fd, buf, sizeof(buf))) > 0)
        g_string_append_len(c->in, buf, r);
    GString *out = g_string_new(NULL);
    char **lines = g_strsplit(c->in->str, "\r\n", -1);
    for (char **l = lines; *l; l++) {
        if (!strstr(*l, "\"event\": \"JOB_STATUS_CHANGE\""))
            continue;
        const char *s = strstr(*l, "\"status\": \"");
        g_assert_nonnull(s);
        s += strlen("\"status\": \"");
        if (out->len)
            g_string_append_c(out, ',');
        g_string_append_len(out, s, strchr(s, '"') - s);
    }
    g_strfreev(lines);
    g_string_truncate(c->in, 0);
    return g_string_free(out, FALSE);
}

#define EXPECT_EVENTS(c, want) do {                                                   \
        g_autofree char *got_ = events(c);                                            \
        g_assert_cmpstr(got_, ==, want);                                              \
    } while (0)

/* ---- a made-up job: @steps steps, each let through by the test ---------------------- */

typedef struct Fake {
    int steps, done, allowed;   /* run() takes a step only while allowed > 0 */
    bool fail_last;             /* the last step fails */
    bool *freed;
} Fake;

static JobStep fake_run(Job *job, GError **errp)
{
    Fake *f = job_opaque(job);
    if (!f->allowed)
        return JOB_STEP_AGAIN;
    f->allowed--;
    f->done++;
    job_progress_add(job, 1);
    if (f->done < f->steps)
        return JOB_STEP_AGAIN;
    if (f->fail_last) {
        g_set_error(errp, G_IO_ERROR, G_IO_ERROR_FAILED, "the fake job failed");
        return JOB_STEP_FAILED;
    }
    return JOB_STEP_DONE;
}

static void fake_free(void *opaque)
{
    Fake *f = opaque;
    if (f->freed)
        *f->freed = true;
    g_free(f);
}

static const JobDriver fake_driver = { JOB_TYPE_CREATE, fake_run, fake_free };
static const JobDriver fake_to_end = { JOB_TYPE_SNAPSHOT_SAVE, fake_run, fake_free,
                                       .runs_to_end = true };

static Job *fake_job(Machine *m, const char *id, int steps, int flags, Fake **out)
{
    Fake *f = g_new0(Fake, 1);
    f->steps = steps;
    Job *job = job_create(m, id, &fake_driver, f, flags, NULL);
    g_assert_nonnull(job);
    job_progress_set_total(job, steps);
    job_start(job);
    *out = f;
    return job;
}

/* Lets @n steps through and runs the main loop until they are taken. */
static void step(Fake *f, int n)
{
    int want = f->done + n;
    f->allowed += n;
    for (int i = 0; i < 1000 && f->done < want; i++)
        g_main_context_iteration(NULL, FALSE);
    g_assert_cmpint(f->done, ==, want);
}

static JobInfo *query(Machine *m, const char *id, GPtrArray **keep)
{
    *keep = job_query_all(m);
    for (guint i = 0; i < (*keep)->len; i++) {
        JobInfo *j = (*keep)->pdata[i];
        if (!strcmp(j->id, id))
            return j;
    }
    return NULL;
}

static void expect_error(bool ok, GError *err, const char *want)
{
    g_assert_false(ok);
    g_assert_nonnull(err);
    g_assert_cmpstr(err->message, ==, want);
    g_error_free(err);
}

/* @expr fails (it sets the local err) with message @want. */
#define EXPECT_FAIL(expr, want) do {                                                  \
        GError *err = NULL;                                                           \
        bool ok_ = (expr);                                                            \
        expect_error(ok_, err, want);                                                 \
    } while (0)

/* ---- the tables --------------------------------------------------------------------- */

static void test_tables(void)
{
    g_assert_true(job_transition_allowed(JOB_STATUS_UNDEFINED, JOB_STATUS_CREATED));
    g_assert_true(job_transition_allowed(JOB_STATUS_CREATED, JOB_STATUS_RUNNING));
    g_assert_true(job_transition_allowed(JOB_STATUS_RUNNING, JOB_STATUS_PAUSED));
    g_assert_true(job_transition_allowed(JOB_STATUS_PAUSED, JOB_STATUS_RUNNING));
    g_assert_true(job_transition_allowed(JOB_STATUS_RUNNING, JOB_STATUS_WAITING));
    g_assert_true(job_transition_allowed(JOB_STATUS_WAITING, JOB_STATUS_PENDING));
    g_assert_true(job_transition_allowed(JOB_STATUS_PENDING, JOB_STATUS_CONCLUDED));
    g_assert_true(job_transition_allowed(JOB_STATUS_RUNNING, JOB_STATUS_ABORTING));
    g_assert_true(job_transition_allowed(JOB_STATUS_ABORTING, JOB_STATUS_CONCLUDED));
    g_assert_true(job_transition_allowed(JOB_STATUS_CONCLUDED, JOB_STATUS_NULL));
    g_assert_false(job_transition_allowed(JOB_STATUS_RUNNING, JOB_STATUS_CONCLUDED));
    g_assert_false(job_transition_allowed(JOB_STATUS_CREATED, JOB_STATUS_CONCLUDED));
    g_assert_false(job_transition_allowed(JOB_STATUS_PAUSED, JOB_STATUS_ABORTING));
    g_assert_false(job_transition_allowed(JOB_STATUS_CONCLUDED, JOB_STATUS_RUNNING));
    for (int s = 0; s < QAPI_COUNT_JobStatus; s++)
        g_assert_false(job_transition_allowed(JOB_STATUS_NULL, s));

    g_assert_true(job_verb_allowed(JOB_STATUS_CONCLUDED, JOB_VERB_DISMISS));
    g_assert_true(job_verb_allowed(JOB_STATUS_PENDING, JOB_VERB_FINALIZE));
    g_assert_true(job_verb_allowed(JOB_STATUS_READY, JOB_VERB_COMPLETE));
    g_assert_true(job_verb_allowed(JOB_STATUS_RUNNING, JOB_VERB_CANCEL));
    g_assert_true(job_verb_allowed(JOB_STATUS_PENDING, JOB_VERB_CANCEL));
    g_assert_true(job_verb_allowed(JOB_STATUS_PAUSED, JOB_VERB_RESUME));
    for (int s = 0; s < QAPI_COUNT_JobStatus; s++) {
        g_assert_cmpint(job_verb_allowed(s, JOB_VERB_DISMISS), ==, s == JOB_STATUS_CONCLUDED);
        g_assert_cmpint(job_verb_allowed(s, JOB_VERB_FINALIZE), ==, s == JOB_STATUS_PENDING);
        g_assert_cmpint(job_verb_allowed(s, JOB_VERB_COMPLETE), ==, s == JOB_STATUS_READY);
    }
    g_assert_false(job_verb_allowed(JOB_STATUS_CONCLUDED, JOB_VERB_CANCEL));
    g_assert_false(job_verb_allowed(JOB_STATUS_ABORTING, JOB_VERB_CANCEL));
    g_assert_false(job_verb_allowed(JOB_STATUS_WAITING, JOB_VERB_PAUSE));
}

/* ---- ids ------------------------------------------------------------------------------ */

static void test_ids(void)
{
    Machine *m = machine_new_test(0);
    GError *err = NULL;
    bool freed = false;
    Fake *f = g_new0(Fake, 1);
    f->freed = &freed;
    g_assert_null(job_create(m, "1job", &fake_driver, f, JOB_DEFAULT, &err));
    expect_error(false, err, "Invalid job ID '1job'");
    g_assert_true(freed);           /* the job's data is the job's, even when refused */
    err = NULL;
    g_assert_null(job_create(m, "", &fake_driver, g_new0(Fake, 1), JOB_DEFAULT, &err));
    expect_error(false, err, "Invalid job ID ''");
    err = NULL;
    g_assert_null(job_create(m, "a b", &fake_driver, g_new0(Fake, 1), JOB_DEFAULT, &err));
    expect_error(false, err, "Invalid job ID 'a b'");
    Fake *a;
    fake_job(m, "a-1.b_c", 1, JOB_MANUAL_DISMISS, &a);
    err = NULL;
    g_assert_null(job_create(m, "a-1.b_c", &fake_driver, g_new0(Fake, 1), JOB_DEFAULT, &err));
    expect_error(false, err, "Job ID 'a-1.b_c' already in use");
    EXPECT_FAIL(job_user_dismiss(m, "nope", &err), "Job not found");
    machine_free(m);                /* frees the job that is left */
}

/* ---- lives ----------------------------------------------------------------------------- */

static void test_pause_resume_dismiss(void)
{
    Machine *m = machine_new_test(0);
    Client *c = client_new(m);
    GPtrArray *q;
    Fake *f;
    fake_job(m, "j", 3, JOB_MANUAL_DISMISS, &f);
    EXPECT_EVENTS(c, "created,running");
    JobInfo *i = query(m, "j", &q);
    g_assert_cmpint(i->status, ==, JOB_STATUS_RUNNING);
    g_assert_cmpint(i->current_progress, ==, 0);
    g_assert_cmpint(i->total_progress, ==, 3);
    g_ptr_array_free(q, TRUE);
    step(f, 1);

    EXPECT_FAIL(job_user_resume(m, "j", &err), "Can't resume a job that was not paused");
    g_assert_true(job_user_pause(m, "j", NULL));
    EXPECT_FAIL(job_user_pause(m, "j", &err), "Job is already paused");
    f->allowed = 5;                 /* would run on, but the pause comes first */
    EXPECT_EVENTS(c, "paused");
    g_assert_cmpint(f->done, ==, 1);
    EXPECT_FAIL(job_user_dismiss(m, "j", &err),
                 "Job 'j' in state 'paused' cannot accept command verb 'dismiss'");
    f->allowed = 0;
    g_assert_true(job_user_resume(m, "j", NULL));
    EXPECT_EVENTS(c, "running");
    step(f, 1);
    i = query(m, "j", &q);
    g_assert_cmpint(i->current_progress, ==, 2);
    g_ptr_array_free(q, TRUE);
    step(f, 1);
    EXPECT_EVENTS(c, "waiting,pending,concluded");
    i = query(m, "j", &q);
    g_assert_cmpint(i->status, ==, JOB_STATUS_CONCLUDED);
    g_assert_cmpint(i->current_progress, ==, 3);
    g_assert_null(i->error);
    g_ptr_array_free(q, TRUE);

    EXPECT_FAIL(job_user_cancel(m, "j", &err),
                 "Job 'j' in state 'concluded' cannot accept command verb 'cancel'");
    EXPECT_FAIL(job_user_finalize(m, "j", &err),
                 "Job 'j' in state 'concluded' cannot accept command verb 'finalize'");
    EXPECT_FAIL(job_user_complete(m, "j", &err),
                 "Job 'j' in state 'concluded' cannot accept command verb 'complete'");
    g_assert_true(job_user_dismiss(m, "j", NULL));
    EXPECT_EVENTS(c, "null");
    g_assert_null(job_find(m, "j"));
    q = job_query_all(m);
    g_assert_cmpint(q->len, ==, 0);
    g_ptr_array_free(q, TRUE);
    client_free(c);
    monitor_cleanup(m);
    machine_free(m);
}

static void test_cancel(void)
{
    Machine *m = machine_new_test(0);
    Client *c = client_new(m);
    GPtrArray *q;
    Fake *f;
    fake_job(m, "c", 3, JOB_MANUAL_DISMISS, &f);
    step(f, 1);
    g_assert_true(job_user_pause(m, "c", NULL));
    EXPECT_EVENTS(c, "created,running,paused");
    g_assert_true(job_user_cancel(m, "c", NULL));   /* a paused job is resumed to end */
    EXPECT_EVENTS(c, "running,aborting,concluded");
    g_assert_cmpint(f->done, ==, 1);
    JobInfo *i = query(m, "c", &q);
    g_assert_cmpint(i->status, ==, JOB_STATUS_CONCLUDED);
    g_assert_cmpstr(i->error, ==, g_strerror(ECANCELED));
    g_ptr_array_free(q, TRUE);
    client_free(c);
    monitor_cleanup(m);
    machine_free(m);
}

/* A driver whose work a cancel does not stop (the snapshot jobs): it runs on and the
 * job ends cancelled. */
static void test_cancel_runs_to_end(void)
{
    Machine *m = machine_new_test(0);
    Client *c = client_new(m);
    GPtrArray *q;
    Fake *f = g_new0(Fake, 1);
    f->steps = 2;
    Job *job = job_create(m, "e", &fake_to_end, f, JOB_MANUAL_DISMISS, NULL);
    job_start(job);
    g_assert_true(job_user_cancel(m, "e", NULL));
    g_assert_true(job_user_pause(m, "e", NULL));    /* a cancelled job does not pause */
    step(f, 2);
    EXPECT_EVENTS(c, "created,running,aborting,concluded");
    JobInfo *i = query(m, "e", &q);
    g_assert_cmpint(i->type, ==, JOB_TYPE_SNAPSHOT_SAVE);
    g_assert_cmpstr(i->error, ==, g_strerror(ECANCELED));
    g_ptr_array_free(q, TRUE);
    client_free(c);
    monitor_cleanup(m);
    machine_free(m);
}

static void test_failure_and_auto_dismiss(void)
{
    Machine *m = machine_new_test(0);
    Client *c = client_new(m);
    GPtrArray *q;
    Fake *f;
    fake_job(m, "f", 2, JOB_MANUAL_DISMISS, &f);
    f->fail_last = true;
    step(f, 2);
    EXPECT_EVENTS(c, "created,running,aborting,concluded");
    JobInfo *i = query(m, "f", &q);
    g_assert_cmpstr(i->error, ==, "the fake job failed");
    g_assert_cmpint(i->type, ==, JOB_TYPE_CREATE);
    g_ptr_array_free(q, TRUE);

    bool freed = false;
    Fake *g;
    fake_job(m, "auto", 1, JOB_DEFAULT, &g);
    g->freed = &freed;
    g->allowed = 1;                 /* step() cannot watch: the job frees its data */
    for (int k = 0; k < 1000 && !freed; k++)
        g_main_context_iteration(NULL, FALSE);
    EXPECT_EVENTS(c, "created,running,waiting,pending,concluded,null");
    g_assert_true(freed);
    g_assert_null(job_find(m, "auto"));
    g_assert_nonnull(job_find(m, "f"));
    client_free(c);
    monitor_cleanup(m);
    machine_free(m);
}

static void test_manual_finalize(void)
{
    Machine *m = machine_new_test(0);
    Client *c = client_new(m);
    Fake *f;
    fake_job(m, "p", 1, JOB_MANUAL_FINALIZE | JOB_MANUAL_DISMISS, &f);
    EXPECT_FAIL(job_user_finalize(m, "p", &err),
                 "Job 'p' in state 'running' cannot accept command verb 'finalize'");
    step(f, 1);
    EXPECT_EVENTS(c, "created,running,waiting,pending");
    g_assert_cmpint(job_status(job_find(m, "p")), ==, JOB_STATUS_PENDING);
    g_assert_true(job_user_finalize(m, "p", NULL));
    g_assert_true(job_user_dismiss(m, "p", NULL));
    EXPECT_EVENTS(c, "concluded,null");

    /* A pending job may still be cancelled. */
    fake_job(m, "p2", 1, JOB_MANUAL_FINALIZE | JOB_MANUAL_DISMISS, &f);
    step(f, 1);
    g_assert_true(job_user_cancel(m, "p2", NULL));
    EXPECT_EVENTS(c, "created,running,waiting,pending,aborting,concluded");
    client_free(c);
    monitor_cleanup(m);
    machine_free(m);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/job/tables", test_tables);
    g_test_add_func("/job/ids", test_ids);
    g_test_add_func("/job/pause-resume-dismiss", test_pause_resume_dismiss);
    g_test_add_func("/job/cancel", test_cancel);
    g_test_add_func("/job/cancel-runs-to-end", test_cancel_runs_to_end);
    g_test_add_func("/job/failure-and-auto-dismiss", test_failure_and_auto_dismiss);
    g_test_add_func("/job/manual-finalize", test_manual_finalize);
    return g_test_run();
}
