/*
 * Declarative state encoding (include/vireo/vmstate.h).
 * Section layout: u8 name length, name bytes, u32 LE version, u32 LE payload length,
 * then each field present in that version (integers little-endian at their width,
 * nested structs inline), then the needed subsections, each a whole section.
 */
#include "vireo/vmstate.h"
#include <string.h>

#define HEADER(d) (1 + strlen((d)->name) + 8)

static bool field_in(const VMStateField *f, int version)
{
    return f->version <= version;
}

static size_t field_count(const VMStateField *f)
{
    return f->count ? f->count : 1;
}

static size_t fields_size(const VMStateField *fields, int version);

/* Encoded bytes of one element of @f. */
static size_t elem_size(const VMStateField *f, int version)
{
    return f->type == VMS_STRUCT ? fields_size(f->vmsd->fields, version) : f->size;
}

static size_t fields_size(const VMStateField *fields, int version)
{
    size_t n = 0;
    for (const VMStateField *f = fields; f->name; f++)
        if (field_in(f, version))
            n += elem_size(f, version) * field_count(f);
    return n;
}

size_t vmstate_size(const VMStateDesc *d)
{
    return HEADER(d) + fields_size(d->fields, d->version);
}

bool vmstate_invalid(GError **errp, const char *section, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    g_autofree char *msg = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    g_set_error(errp, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, "vmstate '%s': %s", section, msg);
    return false;
}

static void put_le(GByteArray *out, uint64_t v, size_t size)
{
    uint8_t b[8];
    for (size_t i = 0; i < size; i++)
        b[i] = v >> (8 * i);
    g_byte_array_append(out, b, size);
}

static uint64_t get_le(const uint8_t *b, size_t size)
{
    uint64_t v = 0;
    for (size_t i = 0; i < size; i++)
        v |= (uint64_t)b[i] << (8 * i);
    return v;
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

static void save_fields(const VMStateField *fields, int version, const uint8_t *state,
                        GByteArray *out)
{
    for (const VMStateField *f = fields; f->name; f++) {
        if (!field_in(f, version))
            continue;
        const uint8_t *p = state + f->offset;
        if (f->type == VMS_BUFFER) {
            g_byte_array_append(out, p, f->size * field_count(f));
            continue;
        }
        for (size_t i = 0; i < field_count(f); i++) {
            if (f->type == VMS_STRUCT)
                save_fields(f->vmsd->fields, version, p + i * f->size, out);
            else
                put_le(out, load_uint(p + i * f->size, f->size), f->size);
        }
    }
}

void vmstate_save(const VMStateDesc *d, const void *state, GByteArray *out)
{
    size_t nl = strlen(d->name);
    uint8_t l = nl > 255 ? 255 : nl;
    g_byte_array_append(out, &l, 1);
    g_byte_array_append(out, (const guint8 *)d->name, l);
    put_le(out, d->version, 4);
    guint len_at = out->len;
    put_le(out, 0, 4);
    save_fields(d->fields, d->version, state, out);
    for (const VMStateDesc *const *sub = d->subsections; sub && *sub; sub++)
        if (!(*sub)->needed || (*sub)->needed(state))
            vmstate_save(*sub, state, out);
    uint32_t plen = out->len - len_at - 4;
    for (int i = 0; i < 4; i++)
        out->data[len_at + i] = plen >> (8 * i);
}

/* Loads the fields (the caller checked that the bytes are there); nested structs are
 * validated by their own post_load. NULL with @errp set when one refuses. */
static const uint8_t *load_fields(const VMStateField *fields, int version, uint8_t *state,
                                  const uint8_t *p, GError **errp)
{
    for (const VMStateField *f = fields; f->name; f++) {
        if (!field_in(f, version))
            continue;
        uint8_t *dst = state + f->offset;
        if (f->type == VMS_BUFFER) {
            memcpy(dst, p, f->size * field_count(f));
            p += f->size * field_count(f);
            continue;
        }
        for (size_t i = 0; i < field_count(f); i++) {
            if (f->type == VMS_STRUCT) {
                uint8_t *elem = dst + i * f->size;
                p = load_fields(f->vmsd->fields, version, elem, p, errp);
                if (!p || (f->vmsd->post_load && !f->vmsd->post_load(elem, version, errp)))
                    return NULL;
            } else {
                store_uint(dst + i * f->size, f->size, get_le(p, f->size));
                p += f->size;
            }
        }
    }
    return p;
}

/* The subsection of @d named by the section header at @buf (@len bytes left), or
 * NULL. */
static const VMStateDesc *find_subsection(const VMStateDesc *d, const uint8_t *buf,
                                          size_t len)
{
    if ((size_t)buf[0] + 1 > len)
        return NULL;
    for (const VMStateDesc *const *sub = d->subsections; sub && *sub; sub++)
        if (buf[0] == strlen((*sub)->name) && !memcmp(buf + 1, (*sub)->name, buf[0]))
            return *sub;
    return NULL;
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
    size_t plen = get_le(p + 4, 4), fixed;
    p += 8;
    if (version > d->version || version < d->min_version) {
        g_set_error(errp, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED,
                    "vmstate '%s': version %d not supported (accepts %d..%d)",
                    d->name, version, d->min_version, d->version);
        return -1;
    }
    fixed = fields_size(d->fields, version);
    if (plen > len - (p - buf) || plen < fixed || (!d->subsections && plen != fixed)) {
        g_set_error(errp, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                    "vmstate '%s': payload of %zu bytes does not match version %d",
                    d->name, plen, version);
        return -1;
    }
    const uint8_t *end = p + plen;
    if (d->pre_load)
        d->pre_load(state);
    p = load_fields(d->fields, version, state, p, errp);
    if (!p)
        return -1;
    while (p < end) {
        const VMStateDesc *sub = find_subsection(d, p, end - p);
        if (!sub) {
            g_set_error(errp, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                        "vmstate '%s': unknown subsection '%.*s'", d->name,
                        (int)MIN((size_t)p[0], (size_t)(end - p - 1)), p + 1);
            return -1;
        }
        ssize_t n = vmstate_load(sub, state, p, end - p, errp);
        if (n < 0) {
            g_prefix_error(errp, "vmstate '%s': ", d->name);
            return -1;
        }
        p += n;
    }
    if (d->post_load && !d->post_load(state, version, errp))
        return -1;
    return p - buf;
}
