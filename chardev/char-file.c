/*
 * The file backend (output only, like QEMU's without in=) and the ringbuf backend
 * (output kept in memory, QEMU's "ringbuf"/"memory": the newest @size bytes).
 */
#include "chardev-internal.h"
#include "vireo/option.h"
#include "vireo/device.h"
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

static const ChrOps file_ops = { .kind = "file" };

Chardev *chr_open_file(const ChrOpts *o, GError **errp)
{
    const char *path = chr_opt(o, "path");
    bool append;
    if (!path || !*path) {
        g_set_error(errp, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                    "%s: file backend needs path=", o->option);
        return NULL;
    }
    if (!chr_opt_bool(o, "append", false, &append, errp))
        return NULL;
    int fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC | (append ? O_APPEND : O_TRUNC),
                  0666);
    if (fd < 0) {
        g_set_error(errp, G_IO_ERROR, g_io_error_from_errno(errno),
                    "%s: could not open '%s': %s", o->option, path, g_strerror(errno));
        return NULL;
    }
    Chardev *chr = chr_alloc(&file_ops, NULL);
    chr->out_fd = fd;
    chr->out_nonblock = true;      /* a regular file never blocks; a FIFO is ours */
    chr_fd_set_nonblock(fd);
    g_autofree char *label = g_strdup_printf("file:%s", path);
    chr_set_filename(chr, label, "file");
    return chr;
}

typedef struct Ringbuf {
    uint8_t *data;
    size_t size;        /* a power of two */
    uint64_t prod, cons;
} Ringbuf;

static ssize_t ringbuf_write(Chardev *chr, const uint8_t *buf, size_t len)
{
    Ringbuf *rb = chr->be;
    for (size_t i = 0; i < len; i++) {
        rb->data[rb->prod++ & (rb->size - 1)] = buf[i];
        if (rb->prod - rb->cons > rb->size)
            rb->cons = rb->prod - rb->size;     /* drop the oldest */
    }
    return len;
}

static void ringbuf_close(Chardev *chr)
{
    Ringbuf *rb = chr->be;
    g_free(rb->data);
    g_free(rb);
}

static const ChrOps ringbuf_ops = {
    .kind = "ringbuf", .write = ringbuf_write, .close = ringbuf_close,
};

size_t chr_ringbuf_read(Chardev *chr, uint8_t *buf, size_t max)
{
    while (chr->ops->inner)
        chr = chr->ops->inner(chr);
    if (chr->ops != &ringbuf_ops)
        return 0;
    Ringbuf *rb = chr->be;
    size_t n = 0;
    while (n < max && rb->cons < rb->prod)
        buf[n++] = rb->data[rb->cons++ & (rb->size - 1)];
    return n;
}

Chardev *chr_open_ringbuf(const ChrOpts *o, GError **errp)
{
    uint64_t size = 65536;
    const char *s = chr_opt(o, "size");
    if (s && (!str_to_size(s, 1, &size) || size == 0 || (size & (size - 1)) ||
              size > (1u << 30))) {
        g_set_error(errp, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                    "%s: ringbuf size '%s' must be a power of two up to 1G", o->option, s);
        return NULL;
    }
    Chardev *chr = chr_alloc(&ringbuf_ops, NULL);
    Ringbuf *rb = g_new0(Ringbuf, 1);
    rb->size = size;
    rb->data = g_malloc(size);
    chr->be = rb;
    chr_set_filename(chr, "ringbuf", NULL);
    return chr;
}
