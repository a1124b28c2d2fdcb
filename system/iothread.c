/*
 * I/O threads (QEMU 7.2's "iothread" object): a thread running its own GLib main
 * context, with QEMU's polling properties. What runs there must attach sources to
 * iothread_context(); no device model of Vireo does yet (virtio-blk-pci refuses
 * iothread=), so an iothread idles in poll() until it is deleted.
 */
#include "vireo/object.h"
#include "vireo/iothread.h"
#include "vireo/machine.h"
#include <sys/syscall.h>
#include <unistd.h>

typedef struct IoThread {
    Object obj;
    uint64_t aio_max_batch;
    int64_t poll_max_ns, poll_grow, poll_shrink;
    GMainContext *ctx;
    GMainLoop *loop;
    GThread *thread;
    GMutex lock;
    GCond started;
    int tid;                          /* 0 until the thread runs */
} IoThread;

static gpointer iothread_run(gpointer opaque)
{
    IoThread *t = opaque;
    g_main_context_push_thread_default(t->ctx);
    g_mutex_lock(&t->lock);
    t->tid = syscall(SYS_gettid);
    g_cond_signal(&t->started);
    g_mutex_unlock(&t->lock);
    g_main_loop_run(t->loop);
    g_main_context_pop_thread_default(t->ctx);
    return NULL;
}

static bool check_range(const char *name, int64_t v, GError **errp)
{
    if (v >= 0)
        return true;
    g_set_error(errp, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                "%s value must be in range [0, %" G_GINT64_FORMAT "]", name, G_MAXINT64);
    return false;
}

static bool iothread_complete(Object *o, GError **errp)
{
    IoThread *t = (IoThread *)o;
    if (!check_range("poll-max-ns", t->poll_max_ns, errp) ||
        !check_range("poll-grow", t->poll_grow, errp) ||
        !check_range("poll-shrink", t->poll_shrink, errp))
        return false;
    g_mutex_init(&t->lock);
    g_cond_init(&t->started);
    t->ctx = g_main_context_new();
    t->loop = g_main_loop_new(t->ctx, FALSE);
    /* Thread names are at most 15 bytes; QEMU calls them "IO <id>". */
    g_autofree char *name = g_strdup_printf("IO %s", o->id);
    t->thread = g_thread_new(name, iothread_run, t);
    g_mutex_lock(&t->lock);
    while (!t->tid)
        g_cond_wait(&t->started, &t->lock);
    g_mutex_unlock(&t->lock);
    return true;
}

static gboolean quit_loop(gpointer opaque)
{
    g_main_loop_quit(opaque);
    return G_SOURCE_REMOVE;
}

static void iothread_finalize(Object *o)
{
    IoThread *t = (IoThread *)o;
    if (!t->thread)
        return;
    g_main_context_invoke(t->ctx, quit_loop, t->loop);
    g_thread_join(t->thread);
    g_main_loop_unref(t->loop);
    g_main_context_unref(t->ctx);
    g_cond_clear(&t->started);
    g_mutex_clear(&t->lock);
}

GMainContext *iothread_context(Object *o)
{
    return ((IoThread *)o)->ctx;
}

void iothread_info(Object *o, IoThreadInfo *info)
{
    IoThread *t = (IoThread *)o;
    *info = (IoThreadInfo){ .id = o->id, .thread_id = t->tid,
                            .poll_max_ns = t->poll_max_ns, .poll_grow = t->poll_grow,
                            .poll_shrink = t->poll_shrink, .aio_max_batch = t->aio_max_batch };
}

static const Property base_props[] = {
    PROP("aio-max-batch", PROP_U64, IoThread, aio_max_batch, "0",
         "maximum number of requests in a batch for the AIO engine (0: default)"),
    PROP_END
};

/* QEMU's default poll-max-ns is 32 us on Linux. */
static const Property iothread_props[] = {
    PROP("poll-max-ns", PROP_I64, IoThread, poll_max_ns, "32768",
         "maximum polling time in ns (0: no polling)"),
    PROP("poll-grow", PROP_I64, IoThread, poll_grow, "0",
         "polling time growth factor (0: default)"),
    PROP("poll-shrink", PROP_I64, IoThread, poll_shrink, "0",
         "polling time shrink divisor (0: default)"),
    PROP_END
};

const ObjectClass event_loop_base_class = {
    .type = { .name = "event-loop-base", .parent = "object", .abstract = true,
              .props = base_props },
    .instance_size = sizeof(IoThread),
};

const ObjectClass iothread_class = {
    .type = { .name = "iothread", .parent = "event-loop-base", .props = iothread_props,
              .desc = "a thread with its own event loop" },
    .parent = &event_loop_base_class,
    .instance_size = sizeof(IoThread),
    .complete = iothread_complete,
    .finalize = iothread_finalize,
};
