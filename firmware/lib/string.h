/* The few string/memory routines a freestanding guest needs (gcc may also call mem*). */
#ifndef GUEST_STRING_H
#define GUEST_STRING_H

#include <stddef.h>
#include <stdint.h>

void *memset(void *d, int c, size_t n);
void *memcpy(void *d, const void *s, size_t n);
void *memmove(void *d, const void *s, size_t n);
int memcmp(const void *a, const void *b, size_t n);
size_t strlen(const char *s);
int strncmp(const char *a, const char *b, size_t n);

/* -ffreestanding turns builtins off; these let gcc inline small fixed-size copies and
 * compares (a 4-byte memcpy becomes one load) and call the functions above otherwise. */
#ifndef GUEST_STRING_IMPL
#define memcpy(d, s, n) __builtin_memcpy(d, s, n)
#define memset(d, c, n) __builtin_memset(d, c, n)
#define memcmp(a, b, n) __builtin_memcmp(a, b, n)
#endif

/* Parses a decimal or 0x-prefixed hexadecimal number; *end (if given) points past it. */
uint64_t str_to_u64(const char *s, const char **end);

#endif
