/* I/O threads (-object iothread, system/iothread.c). */
#ifndef VIREO_IOTHREAD_H
#define VIREO_IOTHREAD_H
#include <stdint.h>
#include <glib.h>
typedef struct Object Object;
typedef struct IoThreadInfo {
    const char *id;
    int thread_id;
    int64_t poll_max_ns, poll_grow, poll_shrink;
    uint64_t aio_max_batch;
} IoThreadInfo;
/* The thread's main context (sources attached there run on the thread). */
GMainContext *iothread_context(Object *o);
void iothread_info(Object *o, IoThreadInfo *info);
#endif
