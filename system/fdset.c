/*
 * File descriptor sets (include/vireo/fdset.h), QEMU 7.2's monitor/fds.c semantics.
 */
#include "vireo/fdset.h"
#include "vireo/machine.h"
#include "vireo/option.h"
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

static FdSet *find(Machine *m, int64_t id)
{
    for (guint i = 0; m->fdsets && i < m->fdsets->len; i++)
        if (((FdSet *)m->fdsets->pdata[i])->id == id)
            return m->fdsets->pdata[i];
    return NULL;
}

static void set_free(FdSet *s)
{
    for (guint i = 0; i < s->fds->len; i++) {
        FdSetEntry *e = &g_array_index(s->fds, FdSetEntry, i);
        close(e->fd);
        g_free(e->opaque);
    }
    g_array_free(s->fds, TRUE);
    g_free(s);
}

int64_t fdset_add(Machine *m, int64_t id, int fd, const char *opaque, GError **errp)
{
    if (!m->fdsets)
        m->fdsets = g_ptr_array_new_with_free_func((GDestroyNotify)set_free);
    if (id < 0)
        for (id = 0; find(m, id); id++)
            ;
    FdSet *s = find(m, id);
    if (!s) {
        s = g_new0(FdSet, 1);
        s->id = id;
        s->fds = g_array_new(FALSE, FALSE, sizeof(FdSetEntry));
        g_ptr_array_add(m->fdsets, s);
    }
    FdSetEntry e = { .fd = fd, .opaque = g_strdup(opaque) };
    g_array_append_val(s->fds, e);
    return id;
}

bool fdset_remove(Machine *m, int64_t id, int64_t fd, GError **errp)
{
    FdSet *s = find(m, id);
    for (guint i = 0; s && i < s->fds->len; i++) {
        FdSetEntry *e = &g_array_index(s->fds, FdSetEntry, i);
        if (fd >= 0 && e->fd != fd)
            continue;
        close(e->fd);
        g_free(e->opaque);
        g_array_remove_index(s->fds, i);
        if (!s->fds->len)
            g_ptr_array_remove(m->fdsets, s);
        if (fd >= 0 || !find(m, id))
            return true;
        i = (guint)-1;                          /* start over on the shortened array */
    }
    if (fd >= 0)
        g_set_error(errp, G_IO_ERROR, G_IO_ERROR_NOT_FOUND,
                    "File descriptor named 'fdset-id:%" G_GINT64_FORMAT ", fd:%" G_GINT64_FORMAT
                    "' not found", id, fd);
    else
        g_set_error(errp, G_IO_ERROR, G_IO_ERROR_NOT_FOUND,
                    "File descriptor named 'fdset-id:%" G_GINT64_FORMAT "' not found", id);
    return false;
}

void fdsets_free(Machine *m)
{
    if (m->fdsets)
        g_ptr_array_free(m->fdsets, TRUE);
    m->fdsets = NULL;
}

/* QEMU's -add-fd: fd and set are required; the fd is duplicated (the original stays
 * open as the parent passed it) and may not be 0-2. */
bool fdset_add_option(Machine *m, const char *spec, GError **errp)
{
    static const char *const keys[] = { "fd", "set", "opaque", NULL };
    g_autoptr(JsonObject) o = keyval_parse(spec, NULL, KEYVAL_FLAT, NULL, errp);
    uint64_t fd, set;
    if (!o || !qv_check_unexpected(o, NULL, keys, errp))
        goto fail;
    const char *f = kv_get_str(o, "fd"), *st = kv_get_str(o, "set");
    if (!f || !str_to_u64(f, &fd) || fd > G_MAXINT) {
        g_set_error(errp, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                    f ? "fd option is not a valid file descriptor" : "fd option is required");
        goto fail;
    }
    if (!st || !str_to_u64(st, &set) || set > G_MAXINT64) {
        g_set_error(errp, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                    st ? "set option is not a valid number" : "set option is required");
        goto fail;
    }
    if (fd <= STDERR_FILENO) {
        g_set_error(errp, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                    "fd cannot be a standard I/O stream");
        goto fail;
    }
    int dup = fcntl(fd, F_DUPFD_CLOEXEC, 0);
    if (dup < 0) {
        g_set_error(errp, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                    "Failed to dup() file descriptor %d: %s", (int)fd, g_strerror(errno));
        goto fail;
    }
    fdset_add(m, set, dup, kv_get_str(o, "opaque"), NULL);
    return true;
fail:
    g_prefix_error(errp, "-add-fd %s: ", spec);
    return false;
}
