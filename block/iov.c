/* Scatter/gather vectors for block requests. */
#include <stdint.h>
#include <string.h>
#include <glib.h>

#include "iov.h"

void blkiov_init(BlkIov *q, int hint)
{
    q->nalloc = hint > 0 ? hint : 1;
    q->iov = g_new(struct iovec, q->nalloc);
    q->niov = 0;
    q->size = 0;
}

void blkiov_init_buf(BlkIov *q, void *buf, size_t len)
{
    q->local.iov_base = buf;
    q->local.iov_len = len;
    q->iov = &q->local;
    q->niov = 1;
    q->nalloc = 0;
    q->size = len;
}

void blkiov_init_external(BlkIov *q, const struct iovec *iov, int niov)
{
    q->iov = (struct iovec *)iov;
    q->niov = niov;
    q->nalloc = 0;
    q->size = 0;
    for (int i = 0; i < niov; i++) {
        q->size += iov[i].iov_len;
    }
}

void blkiov_destroy(BlkIov *q)
{
    if (q->nalloc) {
        g_free(q->iov);
    }
    q->iov = NULL;
    q->niov = q->nalloc = 0;
    q->size = 0;
}

void blkiov_reset(BlkIov *q)
{
    g_assert(q->nalloc);
    q->niov = 0;
    q->size = 0;
}

void blkiov_add(BlkIov *q, void *base, size_t len)
{
    g_assert(q->nalloc);
    if (len == 0) {
        return;
    }
    if (q->niov && (char *)q->iov[q->niov - 1].iov_base + q->iov[q->niov - 1].iov_len ==
        (char *)base) {
        q->iov[q->niov - 1].iov_len += len;     /* merge contiguous pieces */
        q->size += len;
        return;
    }
    if (q->niov == q->nalloc) {
        q->nalloc *= 2;
        q->iov = g_renew(struct iovec, q->iov, q->nalloc);
    }
    q->iov[q->niov].iov_base = base;
    q->iov[q->niov].iov_len = len;
    q->niov++;
    q->size += len;
}

void blkiov_concat(BlkIov *dst, const BlkIov *src, size_t off, size_t len)
{
    for (int i = 0; i < src->niov && len; i++) {
        size_t l = src->iov[i].iov_len;
        if (off >= l) {
            off -= l;
            continue;
        }
        size_t n = MIN(l - off, len);
        blkiov_add(dst, (char *)src->iov[i].iov_base + off, n);
        len -= n;
        off = 0;
    }
    g_assert(len == 0);
}

size_t blkiov_to_buf(const BlkIov *q, size_t off, void *buf, size_t len)
{
    size_t done = 0;

    for (int i = 0; i < q->niov && done < len; i++) {
        size_t l = q->iov[i].iov_len;
        if (off >= l) {
            off -= l;
            continue;
        }
        size_t n = MIN(l - off, len - done);
        memcpy((char *)buf + done, (char *)q->iov[i].iov_base + off, n);
        done += n;
        off = 0;
    }
    return done;
}

size_t blkiov_from_buf(const BlkIov *q, size_t off, const void *buf, size_t len)
{
    size_t done = 0;

    for (int i = 0; i < q->niov && done < len; i++) {
        size_t l = q->iov[i].iov_len;
        if (off >= l) {
            off -= l;
            continue;
        }
        size_t n = MIN(l - off, len - done);
        memcpy((char *)q->iov[i].iov_base + off, (const char *)buf + done, n);
        done += n;
        off = 0;
    }
    return done;
}

void blkiov_memset(const BlkIov *q, size_t off, int c, size_t len)
{
    for (int i = 0; i < q->niov && len; i++) {
        size_t l = q->iov[i].iov_len;
        if (off >= l) {
            off -= l;
            continue;
        }
        size_t n = MIN(l - off, len);
        memset((char *)q->iov[i].iov_base + off, c, n);
        len -= n;
        off = 0;
    }
}

bool blkiov_is_aligned(const BlkIov *q, size_t off, size_t len, size_t align)
{
    for (int i = 0; i < q->niov && len; i++) {
        size_t l = q->iov[i].iov_len;
        if (off >= l) {
            off -= l;
            continue;
        }
        size_t n = MIN(l - off, len);
        if (((uintptr_t)q->iov[i].iov_base + off) % align || n % align) {
            return false;
        }
        len -= n;
        off = 0;
    }
    return true;
}

bool blkiov_is_zero(const BlkIov *q, size_t off, size_t len)
{
    for (int i = 0; i < q->niov && len; i++) {
        size_t l = q->iov[i].iov_len;
        if (off >= l) {
            off -= l;
            continue;
        }
        size_t n = MIN(l - off, len);
        if (!buffer_is_zero((char *)q->iov[i].iov_base + off, n)) {
            return false;
        }
        len -= n;
        off = 0;
    }
    return true;
}

bool buffer_is_zero(const void *buf, size_t len)
{
    const unsigned char *p = buf;
    size_t i = 0;

    /* Check a short prefix byte-wise, then compare the buffer against itself shifted
     * by 16 bytes: if the first 16 are zero and every byte equals the one 16 later,
     * all are zero. memcmp is vectorised by libc. */
    for (; i < len && i < 16; i++) {
        if (p[i]) {
            return false;
        }
    }
    if (len <= 16) {
        return true;
    }
    return memcmp(p, p + 16, len - 16) == 0;
}
