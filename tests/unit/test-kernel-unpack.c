/*
 * Host-side bzImage payload decompression (hw/i386/kernel-unpack.c) against hostile
 * payloads: an output past KERNEL_UNPACK_MAX is refused (the buffer never grows past
 * it, whatever the payload's length), corrupt or truncated streams are refused, and
 * ordinary payloads of each format come back byte for byte.
 */
#include <glib.h>
#include <lzma.h>
#include <stdbool.h>
#include <string.h>
#include <zlib.h>
#include <zstd.h>

#include "hw/i386/kernel-unpack.h"

/* @total bytes of a repeating pattern (zeros when @zeros), zstd-compressed, padded with
 * zero bytes to @pad_to (the decompressor stops at the frame's end). */
static GByteArray *zstd_of(uint64_t total, bool zeros, size_t pad_to)
{
    ZSTD_CStream *c = ZSTD_createCStream();
    GByteArray *out = g_byte_array_new();
    uint8_t chunk[1 << 16], buf[1 << 16];
    for (size_t i = 0; i < sizeof(chunk); i++)
        chunk[i] = zeros ? 0 : (uint8_t)(i * 7 + i / 251);
    ZSTD_initCStream(c, 1);
    for (uint64_t done = 0; done < total;) {
        size_t n = MIN((uint64_t)sizeof(chunk), total - done);
        ZSTD_inBuffer ib = { chunk, n, 0 };
        while (ib.pos < ib.size) {
            ZSTD_outBuffer ob = { buf, sizeof(buf), 0 };
            g_assert_false(ZSTD_isError(ZSTD_compressStream(c, &ob, &ib)));
            g_byte_array_append(out, buf, ob.pos);
        }
        done += n;
    }
    size_t left;
    do {
        ZSTD_outBuffer ob = { buf, sizeof(buf), 0 };
        left = ZSTD_endStream(c, &ob);
        g_byte_array_append(out, buf, ob.pos);
    } while (left);
    ZSTD_freeCStream(c);
    g_assert_cmpuint(out->len, <=, pad_to ? pad_to : out->len);
    while (out->len < pad_to)
        g_byte_array_append(out, (const uint8_t *)"", 1);
    return out;
}

/* A zstd bomb of 600 MiB. With 80000 payload bytes, growth by doubling from 4x the
 * payload would reach 655 MB, enough to hold it all: the limit must hold anyway. */
static void test_bomb_refused(void)
{
    g_autoptr(GByteArray) p = zstd_of(600ull << 20, true, 80000);
    size_t n = 0;
    g_assert_null(kernel_unpack(p->data, p->len, &n));
}

static void test_formats_round_trip(void)
{
    size_t len = 3 << 20, n = 0;
    g_autofree uint8_t *plain = g_malloc(len);
    for (size_t i = 0; i < len; i++)
        plain[i] = (uint8_t)((i % (1 << 16)) * 7 + (i % (1 << 16)) / 251);   /* as zstd_of */
    /* zstd */
    g_autoptr(GByteArray) zs = zstd_of(len, false, 0);
    g_autofree uint8_t *a = kernel_unpack(zs->data, zs->len, &n);
    g_assert_nonnull(a);
    g_assert_cmpmem(a, n, plain, len);
    /* gzip */
    g_autofree uint8_t *gz = g_malloc(len + 1024);
    z_stream z = { 0 };
    g_assert_cmpint(deflateInit2(&z, 6, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY),
                    ==, Z_OK);
    z.next_in = plain;
    z.avail_in = len;
    z.next_out = gz;
    z.avail_out = len + 1024;
    g_assert_cmpint(deflate(&z, Z_FINISH), ==, Z_STREAM_END);
    size_t gz_len = z.total_out;
    deflateEnd(&z);
    g_autofree uint8_t *b = kernel_unpack(gz, gz_len, &n);
    g_assert_nonnull(b);
    g_assert_cmpmem(b, n, plain, len);
    /* xz */
    g_autofree uint8_t *xz = g_malloc(len + 1024);
    size_t xz_len = 0;
    g_assert_cmpint(lzma_easy_buffer_encode(0, LZMA_CHECK_CRC32, NULL, plain, len, xz,
                                            &xz_len, len + 1024), ==, LZMA_OK);
    g_autofree uint8_t *c = kernel_unpack(xz, xz_len, &n);
    g_assert_nonnull(c);
    g_assert_cmpmem(c, n, plain, len);
    /* Truncated or corrupt streams are refused. */
    g_assert_null(kernel_unpack(gz, gz_len / 2, &n));
    g_assert_null(kernel_unpack(xz, xz_len / 2, &n));
    g_assert_null(kernel_unpack(zs->data, zs->len / 2, &n));
    gz[gz_len / 2] ^= 0xff;
    g_assert_null(kernel_unpack(gz, gz_len, &n));
    static const uint8_t magic_only[] = { 0x28, 0xb5, 0x2f, 0xfd };
    g_assert_null(kernel_unpack(magic_only, sizeof(magic_only), &n));
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/kernel-unpack/bomb-refused", test_bomb_refused);
    g_test_add_func("/kernel-unpack/formats", test_formats_round_trip);
    return g_test_run();
}
