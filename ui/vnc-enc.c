/*
 * VNC rectangle encodings (RFC 6143 7.7): Raw, Hextile (solid tiles as a background
 * colour, others raw) and ZRLE (64x64 tiles, each in the smallest of solid, packed
 * palette, palette RLE, plain RLE and raw, through one zlib stream per client). Pixels
 * are converted from the console's x8r8g8b8 to the client's true-colour format.
 */
#include "ui/vnc-int.h"
#include <string.h>

void vnc_pf_default(PixelFormat *pf)
{
    *pf = (PixelFormat){ .bpp = 32, .depth = 24, .big_endian = 0, .true_colour = 1,
                         .rmax = 255, .gmax = 255, .bmax = 255,
                         .rshift = 16, .gshift = 8, .bshift = 0 };
}

static bool channel_ok(uint16_t max, uint8_t shift, uint8_t bpp)
{
    return max && shift < bpp && ((uint64_t)max << shift) < (1ull << bpp) &&
           ((max + 1) & max) == 0;
}

bool vnc_pf_valid(const PixelFormat *pf)
{
    return pf->true_colour && (pf->bpp == 8 || pf->bpp == 16 || pf->bpp == 32) &&
           channel_ok(pf->rmax, pf->rshift, pf->bpp) &&
           channel_ok(pf->gmax, pf->gshift, pf->bpp) &&
           channel_ok(pf->bmax, pf->bshift, pf->bpp);
}

static uint32_t convert(const PixelFormat *pf, uint32_t p)
{
    uint32_t r = (p >> 16) & 0xff, g = (p >> 8) & 0xff, b = p & 0xff;
    return (r * pf->rmax / 255) << pf->rshift | (g * pf->gmax / 255) << pf->gshift |
           (b * pf->bmax / 255) << pf->bshift;
}

static bool pf_is_native(const PixelFormat *pf)
{
    return pf->bpp == 32 && !pf->big_endian && pf->rmax == 255 && pf->gmax == 255 &&
           pf->bmax == 255 && pf->rshift == 16 && pf->gshift == 8 && pf->bshift == 0;
}

/* Writes @v as @bytes bytes in the client's byte order. */
static uint8_t *put_px(uint8_t *o, uint32_t v, unsigned bytes, bool be)
{
    for (unsigned i = 0; i < bytes; i++)
        o[i] = be ? v >> (8 * (bytes - 1 - i)) : v >> (8 * i);
    return o + bytes;
}

static const uint32_t *surface_row(VncClient *c, int y)
{
    return (const uint32_t *)((const uint8_t *)console_data(c->vd->con) +
                              (size_t)y * console_stride(c->vd->con));
}

/* A w x h block of pixels in the client's format into @o (w * h * bpp/8 bytes). */
static void pixels(VncClient *c, int x, int y, int w, int h, uint8_t *o)
{
    unsigned bytes = c->pf.bpp / 8;
    bool native = pf_is_native(&c->pf);
    for (int j = 0; j < h; j++) {
        const uint32_t *src = surface_row(c, y + j) + x;
        if (native) {
            memcpy(o, src, (size_t)w * 4);
            o += (size_t)w * 4;
            continue;
        }
        for (int i = 0; i < w; i++)
            o = put_px(o, convert(&c->pf, src[i]), bytes, c->pf.big_endian);
    }
}

static void header(VncClient *c, int x, int y, int w, int h, int32_t enc)
{
    vnc_out_u16(c, x);
    vnc_out_u16(c, y);
    vnc_out_u16(c, w);
    vnc_out_u16(c, h);
    vnc_out_u32(c, (uint32_t)enc);
}

static void send_raw(VncClient *c, int x, int y, int w, int h)
{
    size_t n = (size_t)w * h * (c->pf.bpp / 8);
    uint8_t *buf = g_malloc(n);
    pixels(c, x, y, w, h, buf);
    header(c, x, y, w, h, ENC_RAW);
    vnc_out(c, buf, n);
    g_free(buf);
}

/* Whether the block is one colour (returned in *px). */
static bool solid(VncClient *c, int x, int y, int w, int h, uint32_t *px)
{
    uint32_t p = surface_row(c, y)[x];
    for (int j = 0; j < h; j++) {
        const uint32_t *r = surface_row(c, y + j) + x;
        for (int i = 0; i < w; i++)
            if (r[i] != p)
                return false;
    }
    *px = p;
    return true;
}

static void send_hextile(VncClient *c, int x, int y, int w, int h)
{
    unsigned bytes = c->pf.bpp / 8;
    uint8_t buf[16 * 16 * 4];
    header(c, x, y, w, h, ENC_HEXTILE);
    for (int ty = y; ty < y + h; ty += 16) {
        for (int tx = x; tx < x + w; tx += 16) {
            int tw = MIN(16, x + w - tx), th = MIN(16, y + h - ty);
            uint32_t p;
            if (solid(c, tx, ty, tw, th, &p)) {
                vnc_out_u8(c, 2);                     /* BackgroundSpecified */
                vnc_out(c, buf, put_px(buf, convert(&c->pf, p), bytes, c->pf.big_endian) - buf);
            } else {
                vnc_out_u8(c, 1);                     /* Raw */
                pixels(c, tx, ty, tw, th, buf);
                vnc_out(c, buf, (size_t)tw * th * bytes);
            }
        }
    }
}

/* ---- ZRLE ---- */

/* CPIXEL size (RFC 6143 7.7.6) and whether it keeps the high 3 bytes of a pixel. */
static unsigned cpixel_bytes(const PixelFormat *pf, bool *high)
{
    *high = false;
    if (pf->bpp != 32 || pf->depth > 24)
        return pf->bpp / 8;
    uint32_t used = (uint32_t)pf->rmax << pf->rshift | (uint32_t)pf->gmax << pf->gshift |
                    (uint32_t)pf->bmax << pf->bshift;
    if (!(used & 0xff000000u))
        return 3;
    if (!(used & 0xffu)) {
        *high = true;
        return 3;
    }
    return 4;
}

/* A CPIXEL of the client pixel value @v. */
static uint8_t *put_cpv(VncClient *c, uint8_t *o, uint32_t v)
{
    bool high;
    unsigned n = cpixel_bytes(&c->pf, &high);
    return put_px(o, high ? v >> 8 : v, n, c->pf.big_endian);
}

/* What a tile holds, found in one pass: its colours (client pixel values, up to 127, in
 * order of first appearance, with a small hash table to find them) and its runs of one
 * colour in row order (a run may go on from one row to the next), which give the exact
 * size of every subencoding. A tile of more than 127 colours whose runs do not beat raw
 * over its first rows stops there as raw (plain RLE's size is then not known). */
typedef struct ZrleTile {
    uint32_t pal[127];
    unsigned n;                       /* colours; 128: more than 127 */
    uint32_t key[256];
    uint8_t slot[256];                /* 0: empty, else palette index + 1 */
    size_t plain, palrle;             /* plain RLE bytes (SIZE_MAX: raw is smaller);
                                       * palette RLE bytes but the palette */
} ZrleTile;

static unsigned zrle_slot(const ZrleTile *t, uint32_t v)
{
    unsigned h = (v * 2654435761u) >> 24;
    while (t->slot[h] && t->key[h] != v)
        h = (h + 1) & 255;
    return h;
}

/* The palette index of @v, which the analysis has seen. */
static unsigned zrle_index(const ZrleTile *t, uint32_t v)
{
    return t->slot[zrle_slot(t, v)] - 1;
}

/* Bytes of a run length (RFC 6143 7.7.6: (len - 1) as 255s and a last byte below 255). */
static size_t run_bytes(unsigned len)
{
    return (len - 1) / 255 + 1;
}

static uint8_t *put_run(uint8_t *o, unsigned len)
{
    for (len--; len >= 255; len -= 255)
        *o++ = 255;
    *o++ = len;
    return o;
}

/* The client pixel value of a surface pixel. */
static uint32_t client_value(VncClient *c, bool native, uint32_t p)
{
    return native ? p & 0xffffff : convert(&c->pf, p);
}

static void zrle_account(ZrleTile *t, unsigned run, unsigned cb)
{
    t->plain += cb + run_bytes(run);
    t->palrle += run == 1 ? 1 : 1 + run_bytes(run);
}

static void zrle_analyse(VncClient *c, int x, int y, int w, int h, ZrleTile *t)
{
    bool high, native = pf_is_native(&c->pf);
    unsigned cb = cpixel_bytes(&c->pf, &high);
    memset(t->slot, 0, sizeof(t->slot));
    t->n = 0;
    t->plain = t->palrle = 0;
    uint32_t last = 0, run_v = 0;
    unsigned run = 0;
    size_t raw = (size_t)w * h * cb;
    for (int j = 0; j < h; j++) {
        /* Past 127 colours (only plain RLE or raw left) and plain RLE no smaller than
         * raw for the rows so far, 8 at least: raw it is (noise, photos). */
        if (t->n == 128 && j >= 8 && t->plain * h >= raw * j) {
            t->plain = SIZE_MAX;
            return;
        }
        const uint32_t *r = surface_row(c, y + j) + x;
        for (int i = 0; i < w; i++) {
            uint32_t v = run && r[i] == last ? run_v : client_value(c, native, r[i]);
            last = r[i];
            if (run && v == run_v) {
                run++;
                continue;
            }
            if (run)
                zrle_account(t, run, cb);
            run_v = v;
            run = 1;
            if (t->n <= 127) {
                unsigned s = zrle_slot(t, v);
                if (!t->slot[s]) {
                    if (t->n == 127) {
                        t->n = 128;
                        continue;
                    }
                    t->key[s] = v;
                    t->pal[t->n++] = v;
                    t->slot[s] = t->n;
                }
            }
        }
    }
    zrle_account(t, run, cb);
}

/* Calls @emit for each run of the tile in row order. */
#define ZRLE_FOR_RUNS(c, x, y, w, h, native, EMIT)                                      \
    do {                                                                               \
        uint32_t run_v = 0;                                                            \
        unsigned run = 0;                                                              \
        for (int j = 0; j < (h); j++) {                                                \
            const uint32_t *r = surface_row(c, (y) + j) + (x);                         \
            for (int i = 0; i < (w); i++) {                                            \
                uint32_t v = client_value(c, native, r[i]);                            \
                if (run && v == run_v) {                                               \
                    run++;                                                             \
                    continue;                                                          \
                }                                                                      \
                if (run)                                                               \
                    EMIT;                                                              \
                run_v = v;                                                             \
                run = 1;                                                               \
            }                                                                          \
        }                                                                              \
        EMIT;                                                                          \
    } while (0)

/* One tile in the smallest of ZRLE's subencodings (RFC 6143 7.7.6): solid, packed
 * palette (2-16 colours, 1, 2 or 4 bits per pixel, rows padded to a byte), palette RLE
 * (2-127 colours: an index, with bit 7 and a run length for runs longer than one),
 * plain RLE (a CPIXEL and a run length per run) or raw. Never more than raw's
 * 1 + w * h * CPIXEL bytes. Sizes are counted before zlib (what the tile costs if
 * the stream finds nothing to reuse). */
static size_t zrle_tile(VncClient *c, ZrleTile *t, int x, int y, int w, int h, uint8_t *o)
{
    uint8_t *start = o;
    bool high, native = pf_is_native(&c->pf);
    unsigned cb = cpixel_bytes(&c->pf, &high);
    zrle_analyse(c, x, y, w, h, t);
    if (t->n == 1) {
        *o++ = 1;
        return put_cpv(c, o, t->pal[0]) - start;
    }
    unsigned bits = t->n <= 2 ? 1 : t->n <= 4 ? 2 : 4;
    size_t raw = (size_t)w * h * cb, best = raw;
    size_t packed = t->n <= 16 ? t->n * cb + (size_t)h * ((w * bits + 7) / 8) : SIZE_MAX;
    size_t palrle = t->n <= 127 ? t->n * cb + t->palrle : SIZE_MAX;
    enum { RAW, PACKED, PALRLE, PLAIN } kind = RAW;
    if (t->plain < best) {
        best = t->plain;
        kind = PLAIN;
    }
    if (palrle <= best) {
        best = palrle;
        kind = PALRLE;
    }
    if (packed <= best) {
        best = packed;
        kind = PACKED;
    }
    switch (kind) {
    case PACKED:
        *o++ = t->n;
        for (unsigned k = 0; k < t->n; k++)
            o = put_cpv(c, o, t->pal[k]);
        for (int j = 0; j < h; j++) {
            const uint32_t *r = surface_row(c, y + j) + x;
            unsigned acc = 0, nb = 0, k = 0;
            uint32_t last = 0;
            for (int i = 0; i < w; i++) {
                if (!i || r[i] != last)
                    k = zrle_index(t, client_value(c, native, r[i]));
                last = r[i];
                acc = acc << bits | k;
                nb += bits;
                if (nb == 8) {
                    *o++ = acc;
                    acc = nb = 0;
                }
            }
            if (nb)
                *o++ = acc << (8 - nb);       /* rows are padded to a byte */
        }
        break;
    case PALRLE:
        *o++ = 128 + t->n;
        for (unsigned k = 0; k < t->n; k++)
            o = put_cpv(c, o, t->pal[k]);
        ZRLE_FOR_RUNS(c, x, y, w, h, native, {
            unsigned k = zrle_index(t, run_v);
            if (run == 1) {
                *o++ = k;
            } else {
                *o++ = 128 | k;
                o = put_run(o, run);
            }
        });
        break;
    case PLAIN:
        *o++ = 128;
        ZRLE_FOR_RUNS(c, x, y, w, h, native, {
            o = put_cpv(c, o, run_v);
            o = put_run(o, run);
        });
        break;
    case RAW:
        *o++ = 0;
        for (int j = 0; j < h; j++) {
            const uint32_t *r = surface_row(c, y + j) + x;
            for (int i = 0; i < w; i++)
                o = put_cpv(c, o, client_value(c, native, r[i]));
        }
        break;
    }
    return o - start;
}

static void send_zrle(VncClient *c, int x, int y, int w, int h)
{
    if (!c->zrle_init) {
        if (deflateInit(&c->zrle, Z_DEFAULT_COMPRESSION) != Z_OK) {
            send_raw(c, x, y, w, h);
            return;
        }
        c->zrle_init = true;
    }
    /* Tiles for at most 64 rows at a time: bounded scratch memory (no subencoding is
     * chosen when larger than raw). */
    size_t tile_max = 1 + 64 * 64 * 4;
    g_autoptr(GByteArray) z = g_byte_array_new();
    uint8_t *raw = g_malloc(tile_max * ((w + 63) / 64));
    uint8_t *zout = g_malloc(deflateBound(&c->zrle, tile_max * ((w + 63) / 64)) + 64);
    ZrleTile *t = g_new(ZrleTile, 1);
    for (int ty = y; ty < y + h; ty += 64) {
        size_t len = 0;
        for (int tx = x; tx < x + w; tx += 64)
            len += zrle_tile(c, t, tx, ty, MIN(64, x + w - tx), MIN(64, y + h - ty), raw + len);
        c->zrle.next_in = raw;
        c->zrle.avail_in = len;
        do {
            c->zrle.next_out = zout;
            c->zrle.avail_out = deflateBound(&c->zrle, tile_max * ((w + 63) / 64)) + 64;
            size_t cap = c->zrle.avail_out;
            deflate(&c->zrle, ty + 64 >= y + h ? Z_SYNC_FLUSH : Z_NO_FLUSH);
            g_byte_array_append(z, zout, cap - c->zrle.avail_out);
        } while (c->zrle.avail_in || c->zrle.avail_out == 0);
    }
    g_free(t);
    g_free(raw);
    g_free(zout);
    header(c, x, y, w, h, ENC_ZRLE);
    vnc_out_u32(c, z->len);
    vnc_out(c, z->data, z->len);
}

void vnc_send_rect(VncClient *c, int x, int y, int w, int h)
{
    switch (c->enc) {
    case ENC_ZRLE: send_zrle(c, x, y, w, h); break;
    case ENC_HEXTILE: send_hextile(c, x, y, w, h); break;
    case ENC_TIGHT: vnc_tight_send(c, x, y, w, h); break;
    default: send_raw(c, x, y, w, h); break;
    }
}

unsigned vnc_rect_count(VncClient *c, int w, int h)
{
    return c->enc == ENC_TIGHT ? vnc_tight_pieces(w, h) : 1;
}

void vnc_enc_free(VncClient *c)
{
    vnc_tight_free(c);
    if (c->zrle_init)
        deflateEnd(&c->zrle);
    c->zrle_init = false;
}
