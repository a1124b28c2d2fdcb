/*
 * Descriptors passed over the monitor (QEMU 7.2's getfd, closefd, add-fd, remove-fd,
 * query-fdsets). They arrive with a command's bytes on a unix socket (SCM_RIGHTS):
 * through the chardev of -mon/-chardev monitors, or the session's own socket.
 */
#include "qapi/monitor-int.h"
#include "qapi/qapi-generated.h"
#include "vireo/fdset.h"
#include <unistd.h>

/* The descriptor that came with this command, or -1 (QEMU: qemu_chr_fe_get_msgfd). */
static int take_msgfd(MonitorSession *s)
{
    if (s->chr)
        return chr_get_msgfd(s->chr);
    if (!s->nmsgfds)
        return -1;
    int fd = s->msgfds[0];
    memmove(s->msgfds, s->msgfds + 1, --s->nmsgfds * sizeof(int));
    return fd;
}

static void no_fd(GError **errp)
{
    g_set_error(errp, QMP_ERROR, QAPI_ERROR_CLASS_GENERICERROR,
                "No file descriptor supplied via SCM_RIGHTS");
}

static void close_fd(gpointer p)
{
    close(GPOINTER_TO_INT(p));
}

void qmp_getfd(MonitorSession *s, const char *fdname, GError **errp)
{
    int fd = take_msgfd(s);
    if (fd < 0) {
        no_fd(errp);
        return;
    }
    if (g_ascii_isdigit(fdname[0])) {
        close(fd);
        g_set_error(errp, QMP_ERROR, QAPI_ERROR_CLASS_GENERICERROR,
                    "Parameter 'fdname' name may not start with a digit");
        return;
    }
    if (!s->named_fds)
        s->named_fds = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, close_fd);
    g_hash_table_replace(s->named_fds, g_strdup(fdname), GINT_TO_POINTER(fd));
}

void qmp_closefd(MonitorSession *s, const char *fdname, GError **errp)
{
    if (!s->named_fds || !g_hash_table_remove(s->named_fds, fdname))
        g_set_error(errp, QMP_ERROR, QAPI_ERROR_CLASS_GENERICERROR,
                    "File descriptor named '%s' not found", fdname);
}

AddfdInfo *qmp_add_fd(MonitorSession *s, bool has_fdset_id, int64_t fdset_id,
                      const char *opaque, GError **errp)
{
    int fd = take_msgfd(s);
    if (fd < 0) {
        no_fd(errp);
        return NULL;
    }
    if (has_fdset_id && fdset_id < 0) {
        close(fd);
        g_set_error(errp, QMP_ERROR, QAPI_ERROR_CLASS_GENERICERROR,
                    "Parameter 'fdset-id' expects a non-negative value");
        return NULL;
    }
    AddfdInfo *i = g_new0(AddfdInfo, 1);
    i->fdset_id = fdset_add(s->m, has_fdset_id ? fdset_id : -1, fd, opaque, NULL);
    i->fd = fd;
    return i;
}

void qmp_remove_fd(Machine *m, int64_t fdset_id, bool has_fd, int64_t fd, GError **errp)
{
    GError *err = NULL;
    if (!fdset_remove(m, fdset_id, has_fd ? fd : -1, &err)) {
        g_set_error_literal(errp, QMP_ERROR, QAPI_ERROR_CLASS_GENERICERROR, err->message);
        g_error_free(err);
    }
}

GPtrArray *qmp_query_fdsets(Machine *m, GError **errp)
{
    GPtrArray *a = g_ptr_array_new_with_free_func((GDestroyNotify)qapi_free_FdsetInfo);
    for (guint i = 0; m->fdsets && i < m->fdsets->len; i++) {
        FdSet *s = m->fdsets->pdata[i];
        FdsetInfo *info = g_new0(FdsetInfo, 1);
        info->fdset_id = s->id;
        info->fds = g_ptr_array_new_with_free_func((GDestroyNotify)qapi_free_FdsetFdInfo);
        for (guint k = 0; k < s->fds->len; k++) {
            FdSetEntry *e = &g_array_index(s->fds, FdSetEntry, k);
            FdsetFdInfo *f = g_new0(FdsetFdInfo, 1);
            f->fd = e->fd;
            f->opaque = g_strdup(e->opaque);
            g_ptr_array_add(info->fds, f);
        }
        g_ptr_array_add(a, info);
    }
    return a;
}
