/* printf-lite over COM1.  Conversions: %c %s %d %i %u %x %X %p %%, flags '-' '0',
 * a width (digits or '*'), a precision for %s (".6s"), length modifiers l, ll, z.  "\n" goes out as "\r\n". */
#ifndef GUEST_PRINT_H
#define GUEST_PRINT_H

#include <stdarg.h>
#include <stddef.h>

void putstr(const char *s);
int kprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
int kvprintf(const char *fmt, va_list ap);
/* Formats into buf (always NUL-terminated when size > 0); returns the full length. */
int ksnprintf(char *buf, size_t size, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

#endif
