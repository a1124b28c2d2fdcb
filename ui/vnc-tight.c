/*
 * The Tight encoding (RFB encoding 7, as TightVNC defined it and TigerVNC, noVNC and
 * gtk-vnc decode it).
 *
 * A dirty rectangle is cut into pieces at most TIGHT_PIECE_W wide (the protocol allows
 * TIGHT_MAX_WIDTH) and TIGHT_MAX_AREA pixels large (clients size their buffers by those
 * limits), so that large solid areas become fills. Each piece starts with the
 * compression-control byte: its low four bits tell the client to reset zlib streams 0-3
 * before use, the high four the kind:
 *   0x8  fill: one TPIXEL for a one-colour piece;
 *   0x9  JPEG: a compact length and a baseline JFIF image (libjpeg-turbo), only when the
 *        client sent a JPEG quality pseudo-encoding, its pixels are 16 or 32 bits, and
 *        the piece has more colours than a palette holds;
 *   0x0-0x7 basic: bits 4-5 the zlib stream, bit 6 "a filter id follows". Filters used:
 *        copy (TPIXELs as they are, stream 0) and palette (2 colours: one bit per pixel,
 *        rows padded to a byte, stream 1; 3-256 colours: one byte per pixel, stream 2).
 *        Filtered data shorter than 12 bytes goes as it is; longer goes through the
 *        stream's deflate with a sync flush, after a compact length.
 * The four deflate streams live as long as the client (freed on disconnect); one is
 * re-made, and its reset bit sent, when the compression level pseudo-encoding changes.
 *
 * TPIXEL: a pixel in the client's format, except that a 32-bit, depth-24 format with
 * 8-bit channels is sent as three bytes R, G, B.
 * Compact length: 7 bits per byte, least significant first, the top bit set when
 * another byte follows; at most 3 bytes (22 bits).
 */
#include "ui/vnc-int.h"
#include <stdio.h>                 /* before jpeglib.h, which uses FILE */
#include <jpeglib.h>
#include <setjmp.h>
#include <string.h>

#define TIGHT_MIN_TO_COMPRESS   12
#define TIGHT_MAX_PALETTE       256
#define TIGHT_JPEG_MIN_AREA     1024     /* smaller pieces go lossless: headers dominate */
#define TIGHT_MAX_LEN           ((1u << 22) - 1)

enum { STREAM_COPY, STREAM_MONO, STREAM_PALETTE };

static const uint32_t *row_of(VncClient *c, int y)
{
    return (const uint32_t *)((const uint8_t *)console_data(c->vd->con) +
                              (size_t)y * console_stride(c->vd->con));
}

static bool tpixel24(const PixelFormat *pf)
{
    return pf->bpp == 32 && pf->depth == 24 && pf->rmax == 255 && pf->gmax == 255 &&
           pf->bmax == 255;
}

unsigned vnc_tight_tpixel_bytes(const PixelFormat *pf)
{
    return tpixel24(pf) ? 3 : pf->bpp / 8;
}

static uint8_t *put_tpixel(const PixelFormat *pf, uint8_t *o, uint32_t p)
{
    if (tpixel24(pf)) {
        o[0] = p >> 16;
        o[1] = p >> 8;
        o[2] = p;
        return o + 3;
    }
    uint32_t r = (p >> 16) & 0xff, g = (p >> 8) & 0xff, b = p & 0xff;
    uint32_t v = (r * pf->rmax / 255) << pf->rshift | (g * pf->gmax / 255) << pf->gshift |
                 (b * pf->bmax / 255) << pf->bshift;
    unsigned n = pf->bpp / 8;
    for (unsigned i = 0; i < n; i++)
        o[i] = pf->big_endian ? v >> (8 * (n - 1 - i)) : v >> (8 * i);
    return o + n;
}

static void out_compact_len(VncClient *c, uint32_t n)
{
    uint8_t b[3];
    unsigned k = 0;
    b[k++] = n & 0x7f;
    if (n > 0x7f) {
        b[k - 1] |= 0x80;
        b[k++] = (n >> 7) & 0x7f;
        if (n > 0x3fff) {
            b[k - 1] |= 0x80;
            b[k++] = n >> 14;
        }
    }
    vnc_out(c, b, k);
}

/* ---- colour analysis ---- */

/* A small open-addressing set of up to TIGHT_MAX_PALETTE colours (index + 1 stored). */
typedef struct Palette {
    uint32_t colour[TIGHT_MAX_PALETTE];
    unsigned n;
    uint32_t key[1024];
    uint16_t idx[1024];               /* 0: empty */
} Palette;

static unsigned hash_px(uint32_t p)
{
    return (p * 2654435761u) >> 22;   /* 10 bits */
}

/* Index of @p, adding it if there is room; -1 when the set is full. */
static int pal_lookup(Palette *pl, uint32_t p, bool add)
{
    unsigned h = hash_px(p);
    for (;;) {
        if (!pl->idx[h]) {
            if (!add || pl->n == TIGHT_MAX_PALETTE)
                return -1;
            pl->colour[pl->n] = p;
            pl->key[h] = p;
            pl->idx[h] = ++pl->n;
            return pl->n - 1;
        }
        if (pl->key[h] == p)
            return pl->idx[h] - 1;
        h = (h + 1) & 1023;
    }
}

/* The colours of the piece into @pl; false when there are more than the palette holds. */
static bool analyse(VncClient *c, int x, int y, int w, int h, Palette *pl)
{
    memset(pl->idx, 0, sizeof(pl->idx));
    pl->n = 0;
    uint32_t last = 0;
    bool have_last = false;
    for (int j = 0; j < h; j++) {
        const uint32_t *r = row_of(c, y + j) + x;
        for (int i = 0; i < w; i++) {
            uint32_t p = r[i] & 0xffffff;
            if (have_last && p == last)
                continue;
            if (pal_lookup(pl, p, true) < 0)
                return false;
            last = p;
            have_last = true;
        }
    }
    return true;
}

/* ---- zlib streams ---- */

static int zlib_level(VncClient *c)
{
    return c->tight_level < 0 ? Z_DEFAULT_COMPRESSION : MAX(1, c->tight_level);
}

/* Stream @s ready at the client's level; sets its reset bit in *ctl when it was re-made.
 * False when zlib cannot give one. */
static bool stream_ready(VncClient *c, int s, uint8_t *ctl)
{
    int level = zlib_level(c);
    if (c->tight_zinit[s] && c->tight_zlevel[s] == level)
        return true;
    if (c->tight_zinit[s]) {
        deflateEnd(&c->tight_z[s]);
        c->tight_zinit[s] = false;
        *ctl |= 1u << s;              /* the client resets its inflate stream too */
    }
    memset(&c->tight_z[s], 0, sizeof(c->tight_z[s]));
    if (deflateInit2(&c->tight_z[s], level, Z_DEFLATED, MAX_WBITS, MAX_MEM_LEVEL,
                     Z_DEFAULT_STRATEGY) != Z_OK)
        return false;
    c->tight_zinit[s] = true;
    c->tight_zlevel[s] = level;
    return true;
}

/* Sends the control byte, then @data as Tight basic data through stream @s. */
static void send_basic(VncClient *c, uint8_t ctl, int s, const uint8_t *filter, size_t flen,
                       const uint8_t *data, size_t len)
{
    if (len < TIGHT_MIN_TO_COMPRESS) {
        vnc_out_u8(c, ctl | s << 4 | (flen ? 0x40 : 0));
        vnc_out(c, filter, flen);
        vnc_out(c, data, len);
        return;
    }
    if (!stream_ready(c, s, &ctl)) {
        c->closing = true;
        return;
    }
    z_stream *z = &c->tight_z[s];
    size_t cap = deflateBound(z, len) + 64;
    uint8_t *buf = g_malloc(cap);
    z->next_in = (uint8_t *)data;
    z->avail_in = len;
    z->next_out = buf;
    z->avail_out = cap;
    int r = deflate(z, Z_SYNC_FLUSH);
    size_t zlen = cap - z->avail_out;
    if (r != Z_OK || z->avail_in || zlen > TIGHT_MAX_LEN) {
        /* Cannot happen with deflateBound's room; drop the client rather than send a
         * stream its decoder cannot follow. */
        g_free(buf);
        c->closing = true;
        return;
    }
    vnc_out_u8(c, ctl | s << 4 | (flen ? 0x40 : 0));
    vnc_out(c, filter, flen);
    out_compact_len(c, zlen);
    vnc_out(c, buf, zlen);
    g_free(buf);
}

/* ---- JPEG ---- */

typedef struct JpegErr {
    struct jpeg_error_mgr mgr;
    jmp_buf jb;
} JpegErr;

static void jpeg_fail(j_common_ptr cinfo)
{
    longjmp(((JpegErr *)cinfo->err)->jb, 1);
}

static void jpeg_quiet(j_common_ptr cinfo, int level) { }

/* JPEG quality of the client's level 0-9 (Vireo's own scale). */
static int jpeg_quality(int level)
{
    return 10 + level * 10 - (level == 9 ? 5 : 0);     /* 10, 20, ... 90, then 95 */
}

/* The piece as a JPEG image; false (nothing sent) if libjpeg failed. */
static bool send_jpeg(VncClient *c, int x, int y, int w, int h)
{
    struct jpeg_compress_struct ci;
    JpegErr err;
    /* What libjpeg writes lives outside this frame: nothing local changes between
     * setjmp and a longjmp. */
    struct { unsigned char *buf; unsigned long len; } *const out = g_malloc0(sizeof(*out));
    memset(&ci, 0, sizeof(ci));
    ci.err = jpeg_std_error(&err.mgr);
    err.mgr.error_exit = jpeg_fail;
    err.mgr.emit_message = jpeg_quiet;
    if (setjmp(err.jb)) {
        jpeg_destroy_compress(&ci);
        free(out->buf);
        g_free(out);
        return false;
    }
    jpeg_create_compress(&ci);
    jpeg_mem_dest(&ci, &out->buf, &out->len);
    ci.image_width = w;
    ci.image_height = h;
    ci.input_components = 4;
    ci.in_color_space = JCS_EXT_BGRX;    /* the surface's x8r8g8b8, little endian */
    jpeg_set_defaults(&ci);
    jpeg_set_quality(&ci, jpeg_quality(c->tight_quality), TRUE);
    jpeg_start_compress(&ci, TRUE);
    while (ci.next_scanline < ci.image_height) {
        JSAMPROW row = (JSAMPROW)(row_of(c, y + ci.next_scanline) + x);
        jpeg_write_scanlines(&ci, &row, 1);
    }
    jpeg_finish_compress(&ci);
    jpeg_destroy_compress(&ci);
    bool ok = out->len <= TIGHT_MAX_LEN;
    if (ok) {
        vnc_out_u8(c, 0x90);
        out_compact_len(c, out->len);
        vnc_out(c, out->buf, out->len);
    }
    free(out->buf);
    g_free(out);
    return ok;
}

/* ---- pieces ---- */

static void header(VncClient *c, int x, int y, int w, int h)
{
    vnc_out_u16(c, x);
    vnc_out_u16(c, y);
    vnc_out_u16(c, w);
    vnc_out_u16(c, h);
    vnc_out_u32(c, (uint32_t)ENC_TIGHT);
}

static void send_piece(VncClient *c, int x, int y, int w, int h)
{
    Palette *pl = g_new(Palette, 1);
    const PixelFormat *pf = &c->pf;
    unsigned tb = vnc_tight_tpixel_bytes(pf);
    uint8_t px[4];
    header(c, x, y, w, h);
    bool few = analyse(c, x, y, w, h, pl);
    if (few && pl->n == 1) {
        vnc_out_u8(c, 0x80);
        vnc_out(c, px, put_tpixel(pf, px, pl->colour[0]) - px);
    } else if (few) {
        /* Palette filter: id 1, colours - 1, the colours, then the indices. */
        uint8_t filter[2 + TIGHT_MAX_PALETTE * 4], *f = filter;
        *f++ = 1;
        *f++ = pl->n - 1;
        for (unsigned k = 0; k < pl->n; k++)
            f = put_tpixel(pf, f, pl->colour[k]);
        bool mono = pl->n == 2;
        size_t len = mono ? (size_t)(w + 7) / 8 * h : (size_t)w * h;
        uint8_t *data = g_malloc0(len), *o = data;
        for (int j = 0; j < h; j++) {
            const uint32_t *r = row_of(c, y + j) + x;
            for (int i = 0; i < w; i++) {
                int k = pal_lookup(pl, r[i] & 0xffffff, false);
                if (mono)
                    o[i / 8] |= k << (7 - i % 8);
                else
                    o[i] = k;
            }
            o += mono ? (w + 7) / 8 : w;
        }
        send_basic(c, 0, mono ? STREAM_MONO : STREAM_PALETTE, filter, f - filter, data, len);
        g_free(data);
    } else if (c->tight_quality >= 0 && pf->bpp >= 16 && w * h >= TIGHT_JPEG_MIN_AREA &&
               send_jpeg(c, x, y, w, h)) {
        /* sent */
    } else {
        size_t len = (size_t)w * h * tb;
        uint8_t *data = g_malloc(len), *o = data;
        for (int j = 0; j < h; j++) {
            const uint32_t *r = row_of(c, y + j) + x;
            for (int i = 0; i < w; i++)
                o = put_tpixel(pf, o, r[i]);
        }
        send_basic(c, 0, STREAM_COPY, NULL, 0, data, len);
        g_free(data);
    }
    g_free(pl);
}

/* Pieces are at most TIGHT_PIECE_W wide (well inside the protocol's 2048) and
 * TIGHT_MAX_AREA pixels: small enough that the solid parts of a large rectangle become
 * fills of their own, large enough that a text console is a few palette pieces. */
static int piece_rows(int w)
{
    return MAX(1, TIGHT_MAX_AREA / MIN(w, TIGHT_PIECE_W));
}

unsigned vnc_tight_pieces(int w, int h)
{
    int ph = piece_rows(w);
    return (unsigned)((w + TIGHT_PIECE_W - 1) / TIGHT_PIECE_W) * ((h + ph - 1) / ph);
}

void vnc_tight_send(VncClient *c, int x, int y, int w, int h)
{
    int ph = piece_rows(w);
    for (int py = y; py < y + h; py += ph)
        for (int px = x; px < x + w; px += TIGHT_PIECE_W)
            send_piece(c, px, py, MIN(TIGHT_PIECE_W, x + w - px), MIN(ph, y + h - py));
}

void vnc_tight_free(VncClient *c)
{
    for (int s = 0; s < 4; s++) {
        if (c->tight_zinit[s])
            deflateEnd(&c->tight_z[s]);
        c->tight_zinit[s] = false;
    }
}
