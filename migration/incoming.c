/*
 * The destination side: -incoming URI (or defer + migrate-incoming). A thread accepts
 * one connection (and the multifd channels its header announces; then the listener
 * is closed, so no other client can connect or wait in its queue), checks the
 * stream's configuration against this machine (and says so on the return path
 * before any RAM comes), writes RAM pages as they arrive (the
 * VM is not running), keeps the device state until the END record's checksum is
 * verified, then the main thread takes the disks over, applies every section and the
 * VM runs (or stays paused with -S).
 *
 * A stream that is refused ends the process with status 1 after saying why, as QEMU's
 * "load of migration failed"; on a socket the source hears the reason and resumes.
 * exec:'s command must exit with status 0 once it has written the stream (its status
 * names the failure when the stream breaks off); the main loop reaps it.
 */
#include "migration.h"
#include "vireo/log.h"
#include "vireo/net.h"
#include "vireo/runstate.h"
#include <string.h>
#include <unistd.h>

typedef struct Incoming {
    MigrationState *s;
    MigLoad l;
    MigChannel *mfd[MIG_MAX_CHANNELS];
    GThread *mfd_threads[MIG_MAX_CHANNELS];
    GError *mfd_err[MIG_MAX_CHANNELS];
    unsigned nmfd;
    GError *err;
    bool ok;
} Incoming;

static void reply(MigChannel *c, int type, const char *msg)
{
    size_t n = msg ? MIN(strlen(msg), MIG_MAX_RP_MESSAGE) : 0;
    c->error = 0;                       /* a reply even after a failed read */
    mc_put_le(c, type, 1);
    mc_put_le(c, n, 4);
    mc_put(c, msg, n);
    mc_flush(c);
}

/* No further connection: the one stream (and its multifd channels) came. */
static void close_listener(MigrationState *s)
{
    g_mutex_lock(&s->lock);
    int lfd = s->listen_fd;
    s->listen_fd = -1;
    g_mutex_unlock(&s->lock);
    mig_unlisten(lfd, &s->in_uri);
}

/* ---- multifd channels ------------------------------------------------------------------- */

typedef struct MfdRecv {
    Incoming *in;
    unsigned idx;
} MfdRecv;

static gpointer mfd_recv_thread(gpointer opaque)
{
    MfdRecv *r = opaque;
    Incoming *in = r->in;
    MigChannel *c = in->mfd[r->idx];
    GError **errp = &in->mfd_err[r->idx];
    g_free(r);
    for (;;) {
        uint64_t type;
        if (!mc_get_le(c, &type, 1)) {
            mc_set_error(c, errp);
            return NULL;
        }
        if (type == MIG_R_END) {
            mig_load_end(c, "a multifd channel", errp);
            return NULL;
        }
        if (type != MIG_R_ZERO && type != MIG_R_PAGES) {
            g_set_error(errp, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                        "multifd channel: unknown record type %u", (unsigned)type);
            return NULL;
        }
        if (!mig_ram_recv(in->s->m, c, type, errp))
            return NULL;
    }
}

/* Accepts the channels the header announced; each names this session and its index. */
static bool accept_multifd(Incoming *in, GError **errp)
{
    MigrationState *s = in->s;
    if (!(in->l.flags & MIG_F_MULTIFD))
        return true;
    if (s->listen_fd < 0) {
        g_set_error(errp, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED,
                    "a multifd stream needs a tcp: or unix: -incoming URI");
        return false;
    }
    for (unsigned i = 0; i < in->l.channels; i++) {
        int fd = mig_accept(s->listen_fd, &s->cancel, s->wake_fd, errp);
        if (fd < 0)
            return false;
        MigChannel *c = mc_new(fd, "multifd channel");
        mc_set_cancel(c, &s->cancel, s->wake_fd);
        char magic[8];
        uint64_t version, idx, session;
        if (!mc_get(c, magic, 8) || !mc_get_le(c, &version, 4) || !mc_get_le(c, &idx, 4) ||
            !mc_get_le(c, &session, 8) || memcmp(magic, MIG_MFD_MAGIC, 8) ||
            version != MIG_VERSION || session != in->l.session || idx >= in->l.channels ||
            in->mfd[idx]) {
            mc_free(c);
            g_set_error(errp, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                        "a multifd channel does not belong to this migration");
            return false;
        }
        in->mfd[idx] = c;
        in->nmfd++;
    }
    close_listener(s);
    for (unsigned i = 0; i < in->nmfd; i++) {
        MfdRecv *r = g_new0(MfdRecv, 1);
        *r = (MfdRecv){ in, i };
        in->mfd_threads[i] = g_thread_new("mig-multifd-in", mfd_recv_thread, r);
    }
    return true;
}

/* @stop: the main channel failed; the source may not close these. */
static bool join_multifd(Incoming *in, bool stop, GError **errp)
{
    bool ok = true;
    for (unsigned i = 0; stop && i < in->nmfd; i++)
        mc_shutdown(in->mfd[i]);
    for (unsigned i = 0; i < in->nmfd; i++) {
        if (in->mfd_threads[i])
            g_thread_join(in->mfd_threads[i]);
        if (in->mfd_err[i] && ok) {
            g_propagate_error(errp, in->mfd_err[i]);
            in->mfd_err[i] = NULL;
            ok = false;
        }
        g_clear_error(&in->mfd_err[i]);
        mc_free(in->mfd[i]);
    }
    return ok;
}

/* ---- the steps on the main thread --------------------------------------------------------- */

static gboolean apply_main(gpointer opaque)
{
    Incoming *in = opaque;
    MigrationState *s = in->s;
    Machine *m = s->m;
    bool late = s->caps[MIGRATION_CAPABILITY_LATE_BLOCK_ACTIVATE] && !s->incoming_autostart;
    /* The state first: a refused stream never takes the disks from the source. */
    if (!mig_load_apply(&in->l, &in->err))
        return G_SOURCE_REMOVE;
    if (!late && !mig_drives_activate(m, &in->err)) {
        GError *e = NULL;
        mig_drives_inactivate(m, &e);       /* whatever it took, the source gets back */
        g_clear_error(&e);
        return G_SOURCE_REMOVE;
    }
    s->drives_pending = late;
    in->ok = true;
    return G_SOURCE_REMOVE;
}

static gboolean start_main(gpointer opaque)
{
    Incoming *in = opaque;
    MigrationState *s = in->s;
    mig_set_status(s, MIGRATION_STATUS_COMPLETED);
    /* The switches learn where the NICs are now (QEMU announces here too, with the
     * announce-* migration parameters). */
    net_announce_start(s->m, NULL, s->p.announce_initial, s->p.announce_max,
                       s->p.announce_rounds, s->p.announce_step);
    if (s->incoming_autostart) {
        vm_start(s->m);
    } else {
        runstate_set(s->m, RUN_STATE_PAUSED);
    }
    return G_SOURCE_REMOVE;
}

static gboolean fail_main(gpointer opaque)
{
    Incoming *in = opaque;
    MigrationState *s = in->s;
    g_printerr("vireo: load of migration failed: %s\n", in->err->message);
    mig_set_error(s, in->err);
    mig_set_status(s, MIGRATION_STATUS_FAILED);
    vm_request_exit(s->m, 1);
    return G_SOURCE_REMOVE;
}

/* ---- exec: the command ------------------------------------------------------------------ */

/* The stream is complete (END verified): the command has written all; its input
 * closed, it must exit with status 0. One that lingers for 10 s is not waited for. */
static bool exec_done(Incoming *in, MigChannel *c)
{
    MigrationState *s = in->s;
    int status;
    close(c->fd);
    c->fd = -1;
    if (!mig_child_wait(s->in_child, &s->cancel, 10000, &status)) {
        if (s->cancel) {
            g_set_error(&in->err, G_IO_ERROR, G_IO_ERROR_CANCELLED, "cancelled");
            return false;
        }
        warn_report("%s: the command is still running 10 s after the end of the stream; "
                    "not waiting for it", s->in_uri.text);
        return true;
    }
    return !mig_child_error(s->in_child, status, &in->err);
}

/* The stream broke off (our end closed): the command's status says why, if it has
 * one within 5 s. */
static void exec_explain(Incoming *in)
{
    MigrationState *s = in->s;
    int status;
    if (s->in_child && mig_child_wait(s->in_child, &s->cancel, 5000, &status))
        mig_child_error(s->in_child, status, &in->err);
}

/* ---- the thread ------------------------------------------------------------------------------ */

static bool receive(Incoming *in, MigChannel *c)
{
    MigrationState *s = in->s;
    bool rp = false;
    if (!mig_load_header(&in->l, &in->err))
        return false;
    rp = in->l.flags & MIG_F_RETURN_PATH;
    if (!(in->l.flags & MIG_F_MULTIFD))
        close_listener(s);
    if (!mig_load_config(&in->l, &in->err) || !accept_multifd(in, &in->err) ||
        ((in->l.flags & MIG_F_MAPPED_RAM) && !mig_mapped_load(s->m, c, true, &in->err))) {
        if (rp)
            reply(c, MIG_RP_ERROR, in->err->message);
        return false;
    }
    if (rp)
        reply(c, MIG_RP_CONFIG_OK, NULL);
    bool ok = mig_load_records(&in->l, &in->err);
    GError *merr = NULL;
    bool mok = join_multifd(in, !ok, &merr);
    if (ok && !mok) {
        in->err = merr;
        ok = false;
    } else {
        g_clear_error(&merr);
    }
    if (ok && s->in_child)
        ok = exec_done(in, c);
    if (ok) {
        in->ok = false;
        if (!mig_run_on_main(s, apply_main, in))
            g_set_error(&in->err, G_IO_ERROR, G_IO_ERROR_CANCELLED,
                        "the machine is shutting down");
        ok = in->ok;
    }
    if (rp)
        reply(c, ok ? MIG_RP_DONE : MIG_RP_ERROR, ok ? NULL : in->err->message);
    return ok;
}

static gpointer incoming_thread(gpointer opaque)
{
    Incoming *in = opaque;
    MigrationState *s = in->s;
    int fd = s->listen_fd >= 0 ? mig_accept(s->listen_fd, &s->cancel, s->wake_fd, &in->err)
                               : s->data_fd;
    s->data_fd = -1;
    bool ok = false;
    if (fd >= 0) {
        MigChannel *c = mc_new(fd, s->in_uri.text);
        mc_set_cancel(c, &s->cancel, s->wake_fd);
        mig_set_status(s, MIGRATION_STATUS_ACTIVE);
        mig_load_init(&in->l, s->m, c);
        ok = receive(in, c);
        mig_load_clear(&in->l);
        mc_free(c);
    }
    close_listener(s);
    if (!ok)
        exec_explain(in);
    mig_run_on_main(s, ok ? start_main : fail_main, in);
    g_clear_error(&in->err);
    g_free(in);
    return NULL;
}

bool mig_incoming_start(MigrationState *s, const char *uri, GError **errp)
{
    bool listening = false;
    if (!mig_uri_parse(uri, &s->in_uri, errp))
        return false;
    int fd = mig_listen(&s->in_uri, &listening, &s->in_child, errp);
    if (fd < 0)
        return false;
    s->listen_fd = listening ? fd : -1;
    s->data_fd = listening ? -1 : fd;
    if (listening) {
        s->socket_address = g_ptr_array_new_with_free_func(
            (GDestroyNotify)qapi_free_MigrationSocketAddress);
        g_ptr_array_add(s->socket_address, mig_listen_address(fd, &s->in_uri));
    }
    s->incoming_started = true;
    Incoming *in = g_new0(Incoming, 1);
    in->s = s;
    s->in_thread = g_thread_new("migration-in", incoming_thread, in);
    return true;
}
