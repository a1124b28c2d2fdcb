/*
 * RNG backends (QEMU 7.2's rng-backend / rng-random): a host file of entropy,
 * /dev/urandom by default, read without blocking the main loop (virtio-rng's rng=).
 */
#include "vireo/object.h"
#include "vireo/rng.h"
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

typedef struct RngRandom {
    Object obj;
    char *filename;
    int fd;
} RngRandom;

static void rng_init(Object *o)
{
    ((RngRandom *)o)->fd = -1;
}

static bool rng_complete(Object *o, GError **errp)
{
    RngRandom *r = (RngRandom *)o;
    r->fd = open(r->filename, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (r->fd < 0) {
        g_set_error(errp, G_IO_ERROR, g_io_error_from_errno(errno),
                    "Could not open '%s': %s", r->filename, g_strerror(errno));
        return false;
    }
    return true;
}

static void rng_finalize(Object *o)
{
    RngRandom *r = (RngRandom *)o;
    if (r->fd >= 0)
        close(r->fd);
}

int rng_backend_fd(Object *o)
{
    return ((RngRandom *)o)->fd;
}

ssize_t rng_backend_read(Object *o, void *buf, size_t len)
{
    ssize_t n;
    do {
        n = read(((RngRandom *)o)->fd, buf, len);
    } while (n < 0 && errno == EINTR);
    return n < 0 ? -errno : n;
}

static const Property random_props[] = {
    PROP("filename", PROP_STR, RngRandom, filename, "/dev/urandom",
         "the host file to read entropy from"),
    PROP_END
};

const ObjectClass rng_backend_class = {
    .type = { .name = "rng-backend", .parent = "object", .abstract = true },
    .instance_size = sizeof(RngRandom),
};

const ObjectClass rng_random_class = {
    .type = { .name = "rng-random", .parent = "rng-backend", .props = random_props,
              .desc = "entropy from a host file" },
    .parent = &rng_backend_class,
    .instance_size = sizeof(RngRandom),
    .init = rng_init,
    .complete = rng_complete,
    .finalize = rng_finalize,
};
