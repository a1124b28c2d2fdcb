/*
 * Host-side decompression of a bzImage payload (boot protocol 2.08+ payload_offset /
 * payload_length). The payload is the kernel's vmlinux ELF (plus relocations), compressed
 * with xz, gzip or zstd; decompressing it in the VMM with liblzma/zlib/libzstd lets the
 * guest enter the kernel proper at startup_64, skipping its own decompressor, which runs
 * much slower as nested guest code than as VMM code.
 */
#include "kernel-unpack.h"
#include <lzma.h>
#include <stdbool.h>
#include <string.h>
#include <zlib.h>
#include <zstd.h>

/* The first buffer: 4x the payload (kernels compress about 3-4:1) within [1 MiB,
 * KERNEL_UNPACK_MAX], computed without overflow whatever the payload length. */
static size_t first_cap(size_t len)
{
    size_t cap = len > KERNEL_UNPACK_MAX / 4 ? KERNEL_UNPACK_MAX : len * 4;
    return MAX(cap, (size_t)1 << 20);
}

/* Doubles the output buffer when it is full, never past KERNEL_UNPACK_MAX; false when
 * it is full at that size (the payload decompresses to more: refused). */
static bool grow(uint8_t **out, size_t *cap, size_t used)
{
    if (used < *cap)
        return true;
    if (*cap >= KERNEL_UNPACK_MAX)
        return false;
    *cap = *cap > KERNEL_UNPACK_MAX / 2 ? KERNEL_UNPACK_MAX : *cap * 2;
    *out = g_realloc(*out, *cap);
    return true;
}

static uint8_t *unxz(const uint8_t *in, size_t len, size_t *out_len)
{
    lzma_stream s = LZMA_STREAM_INIT;
    if (lzma_stream_decoder(&s, KERNEL_UNPACK_MAX, 0) != LZMA_OK)
        return NULL;
    size_t cap = first_cap(len), n = 0;
    uint8_t *out = g_malloc(cap);
    s.next_in = in;
    s.avail_in = len;
    lzma_ret r;
    do {
        if (!grow(&out, &cap, n))
            break;
        s.next_out = out + n;
        s.avail_out = cap - n;
        r = lzma_code(&s, LZMA_FINISH);
        n = cap - s.avail_out;
    } while (r == LZMA_OK);
    lzma_end(&s);
    /* The kernel's xz stream may be followed by padding: stop at STREAM_END. */
    if (r != LZMA_STREAM_END) {
        g_free(out);
        return NULL;
    }
    *out_len = n;
    return out;
}

static uint8_t *ungzip(const uint8_t *in, size_t len, size_t *out_len)
{
    z_stream z = { 0 };
    if (inflateInit2(&z, 16 + MAX_WBITS) != Z_OK || len > UINT32_MAX)
        return NULL;
    size_t cap = first_cap(len), n = 0;
    uint8_t *out = g_malloc(cap);
    z.next_in = (Bytef *)in;
    z.avail_in = len;
    int r;
    do {
        if (!grow(&out, &cap, n))
            break;
        z.next_out = out + n;
        z.avail_out = MIN(cap - n, (size_t)UINT32_MAX);
        r = inflate(&z, Z_NO_FLUSH);
        n = z.next_out - out;
    } while (r == Z_OK || (r == Z_BUF_ERROR && n == cap));
    inflateEnd(&z);
    if (r != Z_STREAM_END) {
        g_free(out);
        return NULL;
    }
    *out_len = n;
    return out;
}

static uint8_t *unzstd(const uint8_t *in, size_t len, size_t *out_len)
{
    ZSTD_DStream *d = ZSTD_createDStream();
    if (!d)
        return NULL;                  /* out of memory */
    size_t cap = first_cap(len), n = 0, r = 1;
    uint8_t *out = g_malloc(cap);
    ZSTD_inBuffer ib = { in, len, 0 };
    /* Until the frame is complete (0) or nothing moves: all input taken and room in
     * the output, so a truncated stream. Output still buffered inside zstd after the
     * last input byte is drained with further calls. */
    for (;;) {
        if (!grow(&out, &cap, n))
            break;
        ZSTD_outBuffer ob = { out, cap, n };
        size_t in_before = ib.pos;
        r = ZSTD_decompressStream(d, &ob, &ib);
        bool moved = ob.pos != n || ib.pos != in_before;
        n = ob.pos;
        if (ZSTD_isError(r) || r == 0 || !moved)
            break;
    }
    ZSTD_freeDStream(d);
    if (r != 0) {
        g_free(out);
        return NULL;
    }
    *out_len = n;
    return out;
}

uint8_t *kernel_unpack(const uint8_t *payload, size_t len, size_t *out_len)
{
    static const uint8_t xz[] = { 0xfd, '7', 'z', 'X', 'Z', 0 };
    static const uint8_t gz[] = { 0x1f, 0x8b };
    static const uint8_t zs[] = { 0x28, 0xb5, 0x2f, 0xfd };
    if (len >= sizeof(xz) && !memcmp(payload, xz, sizeof(xz)))
        return unxz(payload, len, out_len);
    if (len >= sizeof(gz) && !memcmp(payload, gz, sizeof(gz)))
        return ungzip(payload, len, out_len);
    if (len >= sizeof(zs) && !memcmp(payload, zs, sizeof(zs)))
        return unzstd(payload, len, out_len);
    return NULL;
}
