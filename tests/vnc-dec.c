/*
 * The test clients' bounded RFB rectangle decoder (tests/vnc-dec.h): Raw, Hextile and
 * ZRLE as RFC 6143 7.7.1, 7.7.4 and 7.7.6 describe them.
 */
#include "vnc-dec.h"
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ENC_RAW     0
#define ENC_HEXTILE 5
#define ENC_ZRLE    16

static bool fail(VncDec *d, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(d->err, sizeof(d->err), fmt, ap);
    va_end(ap);
    return false;
}

void vnc_dec_init(VncDec *d)
{
    memset(d, 0, sizeof(*d));
    d->bytes = 4;
    d->cbytes = 3;
}

void vnc_dec_set_format(VncDec *d, unsigned bytes, bool be, unsigned cbytes, bool chigh)
{
    d->bytes = bytes;
    d->be = be;
    d->cbytes = cbytes;
    d->chigh = chigh;
}

/* @n bytes in the client's byte order. */
static uint32_t get_n(const VncDec *d, const uint8_t *b, unsigned n)
{
    uint32_t v = 0;
    for (unsigned i = 0; i < n; i++)
        v |= (uint32_t)b[d->be ? n - 1 - i : i] << (8 * i);
    return v;
}

static uint32_t cpx(const VncDec *d, const uint8_t *b)
{
    uint32_t v = get_n(d, b, d->cbytes);
    return d->chigh ? v << 8 : v;
}

/* Reads @n pixels of the client's format into @out. */
static bool rd_pixels(VncDec *d, VncDecRead rd, void *op, uint32_t *out, size_t n)
{
    uint8_t b[256];
    while (n) {
        size_t k = n < sizeof(b) / 4 ? n : sizeof(b) / 4;
        if (!rd(op, b, k * d->bytes))
            return false;
        for (size_t i = 0; i < k; i++)
            *out++ = get_n(d, b + i * d->bytes, d->bytes);
        n -= k;
    }
    return true;
}

void vnc_dec_free(VncDec *d)
{
    if (d->zinit)
        inflateEnd(&d->zs);
    d->zinit = false;
}

const char *vnc_dec_zrle_kind(unsigned k)
{
    static const char *const names[ZRLE_KINDS] = {
        "raw", "solid", "packed-palette", "plain-rle", "palette-rle",
    };
    return k < ZRLE_KINDS ? names[k] : "?";
}

static void fill(uint32_t *fb, int fbw, int x, int y, int w, int h, uint32_t px)
{
    for (int j = 0; j < h; j++)
        for (int i = 0; i < w; i++)
            fb[(size_t)(y + j) * fbw + x + i] = px;
}

/* ---- Hextile ---- */

static bool hextile(VncDec *d, VncDecRead rd, void *op, uint32_t *fb, int fbw,
                    int x, int y, int w, int h)
{
    for (int ty = y; ty < y + h; ty += 16) {
        for (int tx = x; tx < x + w; tx += 16) {
            int tw = w - (tx - x) < 16 ? w - (tx - x) : 16;
            int th = h - (ty - y) < 16 ? h - (ty - y) : 16;
            uint8_t sub;
            if (!rd(op, &sub, 1))
                return fail(d, "hextile: stream ended in a tile");
            if (sub & ~31u)
                return fail(d, "hextile: subencoding 0x%x has unknown bits", sub);
            d->hextile_tiles++;
            if (sub & 1) {                          /* Raw */
                for (int j = 0; j < th; j++)
                    if (!rd_pixels(d, rd, op, fb + (size_t)(ty + j) * fbw + tx, tw))
                        return fail(d, "hextile: stream ended in a raw tile");
                continue;
            }
            if ((sub & 2) && !rd_pixels(d, rd, op, &d->bg, 1))
                return fail(d, "hextile: stream ended in a background");
            if ((sub & 4) && !rd_pixels(d, rd, op, &d->fg, 1))
                return fail(d, "hextile: stream ended in a foreground");
            fill(fb, fbw, tx, ty, tw, th, d->bg);
            if (!(sub & 8))
                continue;
            uint8_t n;
            if (!rd(op, &n, 1))
                return fail(d, "hextile: stream ended before the subrectangle count");
            for (unsigned k = 0; k < n; k++) {
                uint32_t colour = d->fg;
                uint8_t xy[2];
                if ((sub & 16) && !rd_pixels(d, rd, op, &colour, 1))
                    return fail(d, "hextile: stream ended in a subrectangle colour");
                if (!rd(op, xy, 2))
                    return fail(d, "hextile: stream ended in a subrectangle");
                int sx = xy[0] >> 4, sy = xy[0] & 15, sw = (xy[1] >> 4) + 1, sh = (xy[1] & 15) + 1;
                if (sx + sw > tw || sy + sh > th)
                    return fail(d, "hextile: subrectangle %dx%d+%d+%d outside a %dx%d tile",
                                sw, sh, sx, sy, tw, th);
                fill(fb, fbw, tx + sx, ty + sy, sw, sh, colour);
            }
        }
    }
    return true;
}

/* ---- ZRLE ---- */

typedef struct Cur {
    const uint8_t *p, *end;
} Cur;

static bool take(Cur *c, size_t n, const uint8_t **out)
{
    if ((size_t)(c->end - c->p) < n)
        return false;
    *out = c->p;
    c->p += n;
    return true;
}

/* A run length: bytes of 255 then one below 255, plus one (RFC 6143 7.7.6). */
static bool run_length(Cur *c, unsigned limit, unsigned *len)
{
    unsigned n = 1;
    const uint8_t *b;
    do {
        if (!take(c, 1, &b))
            return false;
        n += *b;
        if (n > limit)
            return false;
    } while (*b == 255);
    *len = n;
    return true;
}

static bool zrle_tile(VncDec *d, Cur *c, uint32_t *fb, int fbw, int tx, int ty, int tw, int th)
{
    const uint8_t *b;
    if (!take(c, 1, &b))
        return fail(d, "zrle: data ended before a tile's subencoding");
    unsigned sub = *b, npal = 0, cb = d->cbytes;
    uint32_t pal[128];
    if (sub == 0) {
        d->zrle_tiles[ZRLE_RAW]++;
        for (int j = 0; j < th; j++)
            for (int i = 0; i < tw; i++) {
                if (!take(c, cb, &b))
                    return fail(d, "zrle: data ended in a raw tile");
                fb[(size_t)(ty + j) * fbw + tx + i] = cpx(d, b);
            }
        return true;
    }
    if (sub >= 17 && sub <= 127)
        return fail(d, "zrle: unused subencoding %u", sub);
    if (sub == 129)
        return fail(d, "zrle: unused subencoding 129");
    npal = sub <= 16 ? sub : sub == 128 ? 0 : sub - 128;
    for (unsigned k = 0; k < npal; k++) {
        if (!take(c, cb, &b))
            return fail(d, "zrle: data ended in a palette");
        pal[k] = cpx(d, b);
    }
    if (sub == 1) {
        d->zrle_tiles[ZRLE_SOLID]++;
        fill(fb, fbw, tx, ty, tw, th, pal[0]);
        return true;
    }
    if (sub <= 16) {
        d->zrle_tiles[ZRLE_PACKED]++;
        unsigned bits = sub == 2 ? 1 : sub <= 4 ? 2 : 4;
        for (int j = 0; j < th; j++) {
            unsigned acc = 0, nb = 0;
            for (int i = 0; i < tw; i++) {
                if (!nb) {
                    if (!take(c, 1, &b))
                        return fail(d, "zrle: data ended in a packed palette tile");
                    acc = *b;
                    nb = 8;
                }
                nb -= bits;
                unsigned idx = (acc >> nb) & ((1u << bits) - 1);
                if (idx >= npal)
                    return fail(d, "zrle: packed index %u past a %u-colour palette", idx, npal);
                fb[(size_t)(ty + j) * fbw + tx + i] = pal[idx];
            }
        }
        return true;
    }
    /* Plain (128) or palette (130-255) RLE: runs over the tile's pixels in row order. */
    d->zrle_tiles[sub == 128 ? ZRLE_PLAIN_RLE : ZRLE_PALETTE_RLE]++;
    unsigned n = (unsigned)tw * th, i = 0;
    while (i < n) {
        uint32_t px;
        unsigned run = 1;
        if (sub == 128) {
            if (!take(c, cb, &b))
                return fail(d, "zrle: data ended in a plain RLE tile");
            px = cpx(d, b);
            if (!run_length(c, n - i, &run))
                return fail(d, "zrle: plain RLE run past the tile's %u pixels", n);
        } else {
            if (!take(c, 1, &b))
                return fail(d, "zrle: data ended in a palette RLE tile");
            unsigned idx = *b & 127;
            if (idx >= npal)
                return fail(d, "zrle: palette RLE index %u past a %u-colour palette", idx, npal);
            px = pal[idx];
            if ((*b & 128) && !run_length(c, n - i, &run))
                return fail(d, "zrle: palette RLE run past the tile's %u pixels", n);
        }
        for (unsigned r = 0; r < run; r++, i++)
            fb[(size_t)(ty + i / tw) * fbw + tx + i % tw] = px;
    }
    return true;
}

static bool zrle(VncDec *d, VncDecRead rd, void *op, uint32_t *fb, int fbw,
                 int x, int y, int w, int h)
{
    uint8_t lb[4];
    if (!rd(op, lb, 4))
        return fail(d, "zrle: stream ended before the length");
    uint32_t len = (uint32_t)lb[0] << 24 | lb[1] << 16 | lb[2] << 8 | lb[3];
    if (len > VNC_DEC_ZLEN_MAX)
        return fail(d, "zrle: length %u over %u", len, VNC_DEC_ZLEN_MAX);
    if (!d->zinit) {
        if (inflateInit(&d->zs) != Z_OK)
            return fail(d, "zrle: inflateInit failed");
        d->zinit = true;
    }
    size_t tiles = (size_t)((w + 63) / 64) * ((h + 63) / 64);
    /* The most a rectangle can take: plain RLE with runs of one pixel (a CPIXEL and a
     * byte each), plus each tile's subencoding byte and a full palette. */
    size_t cap = (size_t)w * h * (d->cbytes + 1) + tiles * (1 + 127 * d->cbytes) + 1;
    uint8_t *z = malloc(len ? len : 1), *out = malloc(cap);
    bool ok = false;
    if (!z || !out) {
        fail(d, "zrle: out of memory for %u + %zu bytes", len, cap);
        goto done;
    }
    if (!rd(op, z, len)) {
        fail(d, "zrle: stream ended in %u bytes of zlib data", len);
        goto done;
    }
    d->zs.next_in = z;
    d->zs.avail_in = len;
    d->zs.next_out = out;
    d->zs.avail_out = cap;
    while (d->zs.avail_in) {
        int r = inflate(&d->zs, Z_SYNC_FLUSH);
        if (r != Z_OK) {
            fail(d, "zrle: inflate: %s (%d)", d->zs.msg ? d->zs.msg : "error", r);
            goto done;
        }
        if (!d->zs.avail_out) {
            fail(d, "zrle: more than the %zu bytes a %dx%d rectangle can hold", cap, w, h);
            goto done;
        }
    }
    Cur c = { out, out + (cap - d->zs.avail_out) };
    for (int ty = y; ty < y + h; ty += 64)
        for (int tx = x; tx < x + w; tx += 64)
            if (!zrle_tile(d, &c, fb, fbw, tx, ty, x + w - tx < 64 ? x + w - tx : 64,
                           y + h - ty < 64 ? y + h - ty : 64))
                goto done;
    if (c.p != c.end) {
        fail(d, "zrle: %zu bytes left over after a %dx%d rectangle", (size_t)(c.end - c.p), w, h);
        goto done;
    }
    ok = true;
done:
    free(z);
    free(out);
    return ok;
}

bool vnc_dec_rect(VncDec *d, VncDecRead rd, void *op, uint32_t *fb, int fbw, int fbh,
                  int x, int y, int w, int h, int32_t enc)
{
    if (x < 0 || y < 0 || w < 0 || h < 0 || x + w > fbw || y + h > fbh)
        return fail(d, "rectangle %dx%d+%d+%d outside the %dx%d screen", w, h, x, y, fbw, fbh);
    switch (enc) {
    case ENC_RAW:
        for (int j = 0; j < h; j++)
            if (!rd_pixels(d, rd, op, fb + (size_t)(y + j) * fbw + x, w))
                return fail(d, "raw: stream ended in a rectangle");
        return true;
    case ENC_HEXTILE:
        return hextile(d, rd, op, fb, fbw, x, y, w, h);
    case ENC_ZRLE:
        return zrle(d, rd, op, fb, fbw, x, y, w, h);
    default:
        return fail(d, "encoding %d not decoded", enc);
    }
}
