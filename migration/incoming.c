/*
 * The destination side: -incoming URI (or defer + migrate-incoming). A thread accepts
 * the connection, checks the stream's configuration against this machine (and says
 * so on the return path before any RAM comes), writes RAM pages as they arrive (the
 * VM is not running), keeps the device state until the END record's checksum is
 * verified, then the main thread takes the disks over, applies every section and the
 * VM runs (or stays paused with -S).
 *
 * A stream that is refused ends the process with status 1 after saying why, as QEMU's
 * "load of migration failed"; on a socket the source hears the reason and resumes.
 */
#include "migration.h"
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
        int fd = mig_accept(s->listen_fd, &s->cancel, errp);
        if (fd < 0)
            return false;
        MigChannel *c = mc_new(fd, "multifd channel");
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
    for (unsigned i = 0; i < in->nmfd; i++) {
        MfdRecv *r = g_new0(MfdRecv, 1);
        *r = (MfdRecv){ in, i };
        in->mfd_threads[i] = g_thread_new("mig-multifd-in", mfd_recv_thread, r);
    }
    return true;
}

static bool join_multifd(Incoming *in, GError **errp)
{
    bool ok = true;
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

/* ---- the thread ------------------------------------------------------------------------------ */

static bool receive(Incoming *in, MigChannel *c)
{
    MigrationState *s = in->s;
    bool rp = false;
    if (!mig_load_header(&in->l, &in->err))
        return false;
    rp = in->l.flags & MIG_F_RETURN_PATH;
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
    bool mok = join_multifd(in, &merr);
    if (ok && !mok) {
        in->err = merr;
        ok = false;
    } else {
        g_clear_error(&merr);
    }
    if (ok) {
        in->ok = false;
        mig_run_on_main(apply_main, in);
        ok = in->ok;
    }
    if (rp)
        reply(c, ok ? MIG_RP_DONE : MIG_RP_ERROR, ok ? NULL : in->err->message);
    (void)s;
    return ok;
}

static gpointer incoming_thread(gpointer opaque)
{
    Incoming *in = opaque;
    MigrationState *s = in->s;
    int fd = s->listen_fd >= 0 ? mig_accept(s->listen_fd, &s->cancel, &in->err) : s->data_fd;
    s->data_fd = -1;
    if (fd >= 0) {
        MigChannel *c = mc_new(fd, s->in_uri.text);
        c->cancel = &s->cancel;
        mig_set_status(s, MIGRATION_STATUS_ACTIVE);
        mig_load_init(&in->l, s->m, c);
        bool ok = receive(in, c);
        mig_load_clear(&in->l);
        mc_free(c);
        if (ok) {
            mig_run_on_main(start_main, in);
            g_free(in);
            return NULL;
        }
    }
    mig_run_on_main(fail_main, in);
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
