/* Host-side decompression of a bzImage payload (hw/i386/kernel-unpack.c). */
#ifndef HW_I386_KERNEL_UNPACK_H
#define HW_I386_KERNEL_UNPACK_H
#include <glib.h>
#include <stddef.h>
#include <stdint.h>

/* Largest output accepted: a payload that decompresses to more is refused, and the
 * buffer never grows past it (a hostile bzImage costs at most this much memory). */
#define KERNEL_UNPACK_MAX ((size_t)512 << 20)

/* Decompresses an xz, gzip or zstd payload; NULL for other formats, corrupt data or an
 * output larger than KERNEL_UNPACK_MAX. The result is g_malloc'd. */
uint8_t *kernel_unpack(const uint8_t *payload, size_t len, size_t *out_len);

#endif
