#include "print.h"
#include "uart.h"
#include <stdint.h>
#include <stdbool.h>

/* Output sink: the UART or a bounded buffer. */
struct sink {
    char *buf;
    size_t size, len;
};

static void sink_put(struct sink *s, char c)
{
    if (s->buf) {
        if (s->len + 1 < s->size)
            s->buf[s->len] = c;
    } else {
        if (c == '\n')
            uart_putc('\r');
        uart_putc(c);
    }
    s->len++;
}

static void sink_pad(struct sink *s, char c, int n)
{
    while (n-- > 0)
        sink_put(s, c);
}

struct spec {
    bool left, zero;
    int width, prec;        /* prec < 0: none (only %s uses it: at most prec chars) */
};

static void put_field(struct sink *s, const struct spec *sp, const char *str, int len)
{
    if (!sp->left)
        sink_pad(s, sp->zero ? '0' : ' ', sp->width - len);
    for (int i = 0; i < len; i++)
        sink_put(s, str[i]);
    if (sp->left)
        sink_pad(s, ' ', sp->width - len);
}

static void put_number(struct sink *s, struct spec *sp, uint64_t v, unsigned base,
                       bool neg, bool upper)
{
    const char *digits = upper ? "0123456789ABCDEF" : "0123456789abcdef";
    char tmp[24];
    int n = 0;
    do {
        tmp[sizeof(tmp) - 1 - n++] = digits[v % base];
        v /= base;
    } while (v);
    if (neg) {
        if (sp->zero && !sp->left) {    /* sign goes before the zero padding */
            sink_put(s, '-');
            sp->width--;
        } else {
            tmp[sizeof(tmp) - 1 - n++] = '-';
        }
    }
    put_field(s, sp, tmp + sizeof(tmp) - n, n);
}

static const char *parse_spec(const char *f, struct spec *sp, va_list *ap)
{
    sp->left = sp->zero = false;
    sp->width = 0;
    for (;; f++) {
        if (*f == '-')
            sp->left = true;
        else if (*f == '0')
            sp->zero = true;
        else
            break;
    }
    if (*f == '*') {
        sp->width = va_arg(*ap, int);
        f++;
    }
    while (*f >= '0' && *f <= '9')
        sp->width = sp->width * 10 + (*f++ - '0');
    sp->prec = -1;
    if (*f == '.') {
        sp->prec = 0;
        for (f++; *f >= '0' && *f <= '9'; f++)
            sp->prec = sp->prec * 10 + (*f - '0');
    }
    return f;
}

static void format_one(struct sink *s, char conv, int lng, struct spec *sp, va_list *ap)
{
    uint64_t u;
    int64_t i;
    switch (conv) {
    case 'c': {
        char c = (char)va_arg(*ap, int);
        put_field(s, sp, &c, 1);
        break;
    }
    case 's': {
        const char *str = va_arg(*ap, const char *);
        int len = 0;
        if (!str)
            str = "(null)";
        while (str[len] && (sp->prec < 0 || len < sp->prec))
            len++;
        put_field(s, sp, str, len);
        break;
    }
    case 'd': case 'i':
        i = lng ? va_arg(*ap, int64_t) : va_arg(*ap, int);
        put_number(s, sp, i < 0 ? -(uint64_t)i : (uint64_t)i, 10, i < 0, false);
        break;
    case 'u': case 'x': case 'X':
        u = lng ? va_arg(*ap, uint64_t) : va_arg(*ap, unsigned);
        put_number(s, sp, u, conv == 'u' ? 10 : 16, false, conv == 'X');
        break;
    case 'p':
        sink_put(s, '0');
        sink_put(s, 'x');
        put_number(s, sp, (uintptr_t)va_arg(*ap, void *), 16, false, false);
        break;
    default:
        sink_put(s, '%');
        sink_put(s, conv);
    }
}

static void format(struct sink *s, const char *f, va_list ap0)
{
    va_list ap;
    va_copy(ap, ap0);
    while (*f) {
        if (*f != '%') {
            sink_put(s, *f++);
            continue;
        }
        struct spec sp;
        f = parse_spec(f + 1, &sp, &ap);
        int lng = 0;
        while (*f == 'l' || *f == 'z')
            lng = 1, f++;
        if (!*f)
            break;
        if (*f == '%')
            sink_put(s, '%');
        else
            format_one(s, *f, lng, &sp, &ap);
        f++;
    }
    va_end(ap);
}

void putstr(const char *str)
{
    struct sink s = { 0 };
    while (*str)
        sink_put(&s, *str++);
}

int kvprintf(const char *fmt, va_list ap)
{
    struct sink s = { 0 };
    format(&s, fmt, ap);
    return (int)s.len;
}

int kprintf(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = kvprintf(fmt, ap);
    va_end(ap);
    return n;
}

int ksnprintf(char *buf, size_t size, const char *fmt, ...)
{
    struct sink s = { .buf = buf, .size = size };
    va_list ap;
    va_start(ap, fmt);
    format(&s, fmt, ap);
    va_end(ap);
    if (size)
        buf[s.len < size ? s.len : size - 1] = '\0';
    return (int)s.len;
}
