/*
 * Scatter/gather vectors for block requests (a struct iovec array with its total size).
 */
#ifndef VIREO_BLOCK_IOV_H
#define VIREO_BLOCK_IOV_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/uio.h>

typedef struct BlkIov {
    struct iovec *iov;
    int niov;
    int nalloc;               /* 0: iov points at storage we do not own */
    size_t size;
    struct iovec local;
} BlkIov;

/* An empty vector with room for @hint elements. */
void blkiov_init(BlkIov *q, int hint);
/* A one-element vector over @buf (no allocation). */
void blkiov_init_buf(BlkIov *q, void *buf, size_t len);
/* Wraps an existing iovec array (not copied; must outlive @q). */
void blkiov_init_external(BlkIov *q, const struct iovec *iov, int niov);
void blkiov_destroy(BlkIov *q);
void blkiov_reset(BlkIov *q);
void blkiov_add(BlkIov *q, void *base, size_t len);
/* Appends the bytes [off, off + len) of @src. */
void blkiov_concat(BlkIov *dst, const BlkIov *src, size_t off, size_t len);
size_t blkiov_to_buf(const BlkIov *q, size_t off, void *buf, size_t len);
size_t blkiov_from_buf(const BlkIov *q, size_t off, const void *buf, size_t len);
void blkiov_memset(const BlkIov *q, size_t off, int c, size_t len);
/* True when every element's base and length are multiples of @align. */
bool blkiov_is_aligned(const BlkIov *q, size_t off, size_t len, size_t align);
bool blkiov_is_zero(const BlkIov *q, size_t off, size_t len);

/* True when @buf[0..len) is all zero bytes. */
bool buffer_is_zero(const void *buf, size_t len);

#endif
