/* Host-side decompression of a bzImage payload (hw/i386/kernel-unpack.c). */
#ifndef HW_I386_KERNEL_UNPACK_H
#define HW_I386_KERNEL_UNPACK_H
#include <glib.h>
#include <stddef.h>
#include <stdint.h>

/* Decompresses an xz, gzip or zstd payload; NULL for other formats or corrupt data.
 * The result is g_malloc'd. */
uint8_t *kernel_unpack(const uint8_t *payload, size_t len, size_t *out_len);

#endif
