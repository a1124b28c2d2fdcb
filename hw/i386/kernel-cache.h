/* The decompressed-kernel cache (hw/i386/kernel-cache.c). */
#ifndef HW_I386_KERNEL_CACHE_H
#define HW_I386_KERNEL_CACHE_H
#include <glib.h>
#include <stddef.h>
#include <stdint.h>

/* Maps the cached vmlinux ELF of bzImage file @kernel; NULL on a miss. */
uint8_t *kernel_cache_lookup(const char *kernel, size_t *len);
void kernel_cache_release(uint8_t *data, size_t len);
/* Decompresses the payload of @kernel into the cache on a background thread. */
void kernel_cache_fill_async(const char *kernel, size_t payload_offset, size_t payload_length);

#endif
