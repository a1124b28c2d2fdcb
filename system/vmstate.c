/*
 * Declarative state encoding (include/vireo/vmstate.h).
 * Section layout: u8 name length, name bytes, u32 LE version, u32 LE payload length,
 * then each field present in that version, integers little-endian at their width.
 */
#include "vireo/vmstate.h"
#include <string.h>

static bool field_in(const VMStateField *f, int version)
{
    return f->version <= version;
}

static size_t field_bytes(const VMStateField *f)
{
    return f->size * (f->count ? f->count : 1);
}

static size_t payload_size(const VMStateDesc *d, int version)
{
    size_t n = 0;
    for (const VMStateField *f = d->fields; f->name; f++)
        if (field_in(f, version))
            n += field_bytes(f);
    return n;
}

size_t vmstate_size(const VMStateDesc *d)
{
    return 1 + strlen(d->name) + 8 + payload_size(d, d->version);
}

static void put_le(GByteArray *out, uint64_t v, size_t size)
{
    uint8_t b[8];
    for (size_t i = 0; i < size; i++)
        b[i] = v >> (8 * i);
    g_byte_array_append(out, b, size);
}

static uint64_t load_uint(const void *p, size_t size)
{
    switch (size) {
    case 1: return *(const uint8_t *)p;
    case 2: return *(const uint16_t *)p;
    case 4: return *(const uint32_t *)p;
    default: return *(const uint64_t *)p;
    }
}

static void store_uint(void *p, size_t size, uint64_t v)
{
    switch (size) {
    case 1: *(uint8_t *)p = v; break;
    case 2: *(uint16_t *)p = v; break;
    case 4: *(uint32_t *)p = v; break;
    default: *(uint64_t *)p = v; break;
    }
}

void vmstate_save(const VMStateDesc *d, const void *state, GByteArray *out)
{
    size_t nl = strlen(d->name);
    uint8_t l = nl > 255 ? 255 : nl;
    g_byte_array_append(out, &l, 1);
    g_byte_array_append(out, (const guint8 *)d->name, l);
    put_le(out, d->version, 4);
    put_le(out, payload_size(d, d->version), 4);
    for (const VMStateField *f = d->fields; f->name; f++) {
        if (!field_in(f, d->version))
            continue;
        const uint8_t *p = (const uint8_t *)state + f->offset;
        size_t n = f->count ? f->count : 1;
        if (f->type == VMS_BUFFER) {
            g_byte_array_append(out, p, field_bytes(f));
            continue;
        }
        for (size_t i = 0; i < n; i++)
            put_le(out, load_uint(p + i * f->size, f->size), f->size);
    }
}

static uint64_t get_le(const uint8_t *b, size_t size)
{
    uint64_t v = 0;
    for (size_t i = 0; i < size; i++)
        v |= (uint64_t)b[i] << (8 * i);
    return v;
}

ssize_t vmstate_load(const VMStateDesc *d, void *state, const uint8_t *buf, size_t len,
                     GError **errp)
{
    size_t nl = strlen(d->name);
    if (len < 1 || len < 1 + (size_t)buf[0] + 8) {
        g_set_error(errp, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                    "vmstate '%s': truncated section header", d->name);
        return -1;
    }
    if (buf[0] != nl || memcmp(buf + 1, d->name, nl) != 0) {
        g_set_error(errp, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                    "vmstate: expected section '%s', found '%.*s'", d->name, buf[0], buf + 1);
        return -1;
    }
    const uint8_t *p = buf + 1 + nl;
    int version = get_le(p, 4);
    size_t plen = get_le(p + 4, 4);
    p += 8;
    if (version > d->version || version < d->min_version) {
        g_set_error(errp, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED,
                    "vmstate '%s': version %d not supported (accepts %d..%d)",
                    d->name, version, d->min_version, d->version);
        return -1;
    }
    if (plen != payload_size(d, version) || (size_t)(p - buf) + plen > len) {
        g_set_error(errp, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                    "vmstate '%s': payload of %zu bytes does not match version %d",
                    d->name, plen, version);
        return -1;
    }
    for (const VMStateField *f = d->fields; f->name; f++) {
        if (!field_in(f, version))
            continue;
        uint8_t *dst = (uint8_t *)state + f->offset;
        size_t n = f->count ? f->count : 1;
        if (f->type == VMS_BUFFER) {
            memcpy(dst, p, field_bytes(f));
        } else {
            for (size_t i = 0; i < n; i++)
                store_uint(dst + i * f->size, f->size, get_le(p + i * f->size, f->size));
        }
        p += field_bytes(f);
    }
    return p - buf;
}
