/* RNG backends (-object rng-random, backends/rng-random.c) as devices use them. */
#ifndef VIREO_RNG_H
#define VIREO_RNG_H
#include <sys/types.h>
typedef struct Object Object;
/* The backend's fd (non-blocking), to wait for it to become readable. */
int rng_backend_fd(Object *o);
/* Reads up to @len bytes without blocking: the count, or -EAGAIN / -errno. */
ssize_t rng_backend_read(Object *o, void *buf, size_t len);
#endif
