/*
 * Declarative state encoding (include/vireo/vmstate.h).
 * Section layout: u8 name length, name bytes, u32 LE version, u32 LE payload length,
 * then each field present in that version (integers little-endian at their width,
 * nested structs inline, a blob as its u32 LE length and its bytes), then the needed
 * subsections, each a whole section.
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
    return f->type == VMS_BLOB || !f->count ? 1 : f->count;
}

static size_t fields_size(const VMStateField *fields, int version);

/* Encoded bytes of one element of @f (a blob: its length word alone). */
static size_t elem_size(const VMStateField *f, int version)
{
    if (f->type == VMS_BLOB)
        return 4;
    return f->type == VMS_STRUCT ? fields_size(f->vmsd->fields, version) : f->size;
}

/* Whether the encoding of @fields in @version has a variable length (a blob). */
static bool fields_vary(const VMStateField *fields, int version)
{
    for (const VMStateField *f = fields; f->name; f++)
        if (field_in(f, version) &&
            (f->type == VMS_BLOB || (f->type == VMS_STRUCT && fields_vary(f->vmsd->fields, version))))
            return true;
    return false;
}

void vmstate_blob_clear(VMStateBlob *b)
{
    g_free(b->data);
    b->data = NULL;
    b->len = 0;
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
        if (f->type == VMS_BLOB) {
            const VMStateBlob *b = (const VMStateBlob *)p;
            put_le(out, b->len, 4);
            if (b->len)
                g_byte_array_append(out, b->data, b->len);
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

static const uint8_t *truncated(GError **errp, const VMStateDesc *top,
                                const VMStateField *f)
{
    vmstate_invalid(errp, top->name, "truncated at field '%s'", f->name);
    return NULL;
}

/* Loads the fields of @top (or of a struct nested in it) from @p, reading no byte at
 * or past @end; nested structs are validated by their own post_load. NULL with @errp
 * set when the bytes run out, a blob is longer than its field allows, or a nested
 * post_load refuses. */
static const uint8_t *load_fields(const VMStateDesc *top, const VMStateField *fields,
                                  int version, uint8_t *state, const uint8_t *p,
                                  const uint8_t *end, GError **errp)
{
    for (const VMStateField *f = fields; f->name; f++) {
        if (!field_in(f, version))
            continue;
        uint8_t *dst = state + f->offset;
        if (f->type == VMS_BLOB) {
            VMStateBlob *b = (VMStateBlob *)dst;
            if (end - p < 4)
                return truncated(errp, top, f);
            uint64_t n = get_le(p, 4);
            p += 4;
            if (n > f->size) {
                vmstate_invalid(errp, top->name, "field '%s' of %" G_GUINT64_FORMAT
                                " bytes is larger than its maximum of %zu bytes", f->name,
                                n, f->size);
                return NULL;
            }
            if ((uint64_t)(end - p) < n)
                return truncated(errp, top, f);
            vmstate_blob_clear(b);
            b->data = n ? g_memdup2(p, n) : NULL;
            b->len = n;
            p += n;
            continue;
        }
        if (f->type == VMS_BUFFER) {
            size_t n = f->size * field_count(f);
            if ((size_t)(end - p) < n)
                return truncated(errp, top, f);
            memcpy(dst, p, n);
            p += n;
            continue;
        }
        for (size_t i = 0; i < field_count(f); i++) {
            if (f->type == VMS_STRUCT) {
                uint8_t *elem = dst + i * f->size;
                p = load_fields(top, f->vmsd->fields, version, elem, p, end, errp);
                if (!p || (f->vmsd->post_load && !f->vmsd->post_load(elem, version, errp)))
                    return NULL;
            } else {
                if ((size_t)(end - p) < f->size)
                    return truncated(errp, top, f);
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
    bool vary = fields_vary(d->fields, version);
    if (plen > len - (p - buf) || plen < fixed || (!d->subsections && !vary && plen != fixed)) {
        g_set_error(errp, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                    "vmstate '%s': payload of %zu bytes does not match version %d",
                    d->name, plen, version);
        return -1;
    }
    const uint8_t *end = p + plen;
    if (d->pre_load)
        d->pre_load(state);
    p = load_fields(d, d->fields, version, state, p, end, errp);
    if (!p)
        return -1;
    if (!d->subsections && p != end) {          /* bytes after a blob */
        g_set_error(errp, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                    "vmstate '%s': payload of %zu bytes does not match version %d",
                    d->name, plen, version);
        return -1;
    }
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
