/*
 * VGA rendering into the console surface: text modes (character cells through the font
 * in plane 2), 16-colour planar and 256-colour graphics, and VBE linear modes (8, 15,
 * 16, 24, 32 bits per pixel). Only what changed is damaged: text cells are compared
 * with a shadow of the last drawn characters, graphics rows with the surface.
 *
 * Graphics rows are converted at all only when needed: while a console listener
 * exists, the framebuffer BAR is dirty-logged for the display (as_log_display_*, as
 * QEMU's DIRTY_MEMORY_VGA), and a refresh draws just the rows whose video memory
 * touches a page written since the last one (the guest's writes from KVM's log, the
 * device's own from vram_dirty()). Every row is drawn (and compared) when that cannot
 * be trusted: no logging (no listener: screendump; no KVM: unit tests; the ioctl
 * failed), after an invalidate, a palette, mode or size change, or when a register
 * that moves or decodes pixels changed (VgaDrawKey: start address, line offset,
 * panning of the VBE view, bpp, attribute palette, ...).
 */
#include "vga-int.h"
#include <errno.h>
#include <string.h>

static uint32_t dac_color(const VgaRegs *r, unsigned idx, bool dac8)
{
    const uint8_t *p = &r->palette[(idx & 0xff) * 3];
    if (dac8)
        return (uint32_t)p[0] << 16 | p[1] << 8 | p[2];
    uint32_t c0 = p[0] & 0x3f, c1 = p[1] & 0x3f, c2 = p[2] & 0x3f;
    return (c0 << 2 | c0 >> 4) << 16 | (c1 << 2 | c1 >> 4) << 8 | (c2 << 2 | c2 >> 4);
}

/* Attribute palette entry @c (0-15) to a DAC index (AR10 bit 7, AR14 colour select). */
static unsigned ar_index(const VgaRegs *r, unsigned c)
{
    unsigned v = r->ar[c & 0xf];
    if (r->ar[0x10] & 0x80)
        return (v & 0x0f) | ((r->ar[0x14] & 0x0f) << 4);
    return (v & 0x3f) | ((r->ar[0x14] & 0x0c) << 4);
}

static uint32_t *line_buf(VgaCommon *s, int w)
{
    if (w > s->line_cap) {
        s->line = g_renew(uint32_t, s->line, w);
        s->line_cap = w;
    }
    return s->line;
}

/* Copies a rendered row into the surface, damaging the changed span. */
static void put_row(VgaCommon *s, int y, const uint32_t *src, int w, bool force)
{
    uint32_t *dst = (uint32_t *)((uint8_t *)console_data(s->con) +
                                 (size_t)y * console_stride(s->con));
    int x0 = 0, x1 = w;
    if (!force) {
        while (x0 < w && dst[x0] == src[x0])
            x0++;
        if (x0 == w)
            return;
        while (x1 > x0 && dst[x1 - 1] == src[x1 - 1])
            x1--;
    }
    memcpy(dst + x0, src + x0, (size_t)(x1 - x0) * 4);
    console_damage(s->con, x0, y, x1 - x0, 1);
}

/* ---- text ---- */

typedef struct TextGeom {
    int cols, rows, cw, ch;
    uint32_t start, line;             /* in vram bytes (4 per cell) */
} TextGeom;

static int vga_vde(const VgaRegs *r)
{
    return (r->cr[0x12] | ((r->cr[7] & 0x02) << 7) | ((r->cr[7] & 0x40) << 3)) + 1;
}

static void text_geom(const VgaRegs *r, TextGeom *g)
{
    g->cols = r->cr[1] + 1;
    g->cw = (r->sr[1] & 1) ? 8 : 9;
    g->ch = (r->cr[9] & 0x1f) + 1;
    g->rows = MAX(1, vga_vde(r) / g->ch / ((r->cr[9] & 0x80) ? 2 : 1));
    g->rows = MIN(g->rows, VGA_MAX_TEXT_CELLS / g->cols);
    g->start = ((uint32_t)r->cr[0x0c] << 8 | r->cr[0x0d]) * 4;
    g->line = (uint32_t)r->cr[0x13] << 3;
}

static void draw_cell(VgaCommon *s, const TextGeom *g, int col, int row, uint8_t chr,
                      uint8_t attr, bool cursor)
{
    const VgaRegs *r = &s->r;
    uint32_t fg = dac_color(r, ar_index(r, attr & 0xf), false);
    unsigned bgi = attr >> 4;
    if (r->ar[0x10] & 0x08)
        bgi &= 7;                                       /* bit 7 means blink */
    uint32_t bg = dac_color(r, ar_index(r, bgi), false);
    unsigned sel = ((attr & 8) && (r->sr[3] & 0x2c) != ((r->sr[3] & 0x13) << 2))
                   ? (((r->sr[3] >> 5) & 1) | ((r->sr[3] >> 1) & 6))
                   : (((r->sr[3] >> 4) & 1) | ((r->sr[3] << 1) & 6));
    uint64_t font = (uint64_t)sel * 8192 + chr * 32;
    int cs = r->cr[0x0a] & 0x1f, ce = r->cr[0x0b] & 0x1f;
    uint32_t *data = console_data(s->con);
    int stride = console_stride(s->con) / 4;
    for (int l = 0; l < g->ch; l++) {
        uint64_t fa = (font + l) * 4 + 2;
        unsigned bits = l < 32 && fa < s->vram_size ? s->vram[fa] : 0;
        if (cursor && l >= cs && l <= ce)
            bits = 0xff | 0x100;
        else if (g->cw == 9 && (r->ar[0x10] & 0x04) && chr >= 0xc0 && chr <= 0xdf)
            bits |= (bits & 1) << 8;                    /* line graphics: 9th column */
        uint32_t *p = data + (size_t)(row * g->ch + l) * stride + col * g->cw;
        for (int x = 0; x < g->cw; x++) {
            unsigned bit = x < 8 ? (bits >> (7 - x)) & 1 : (bits >> 8) & 1;
            p[x] = bit ? fg : bg;
        }
    }
    console_damage(s->con, col * g->cw, row * g->ch, g->cw, g->ch);
}

static void render_text(VgaCommon *s, bool full)
{
    const VgaRegs *r = &s->r;
    TextGeom g;
    text_geom(r, &g);
    if (!console_resize(s->con, g.cols * g.cw, g.rows * g.ch) || full ||
        s->text_cells != (unsigned)(g.cols * g.rows)) {
        full = true;
    }
    if (s->text_cells != (unsigned)(g.cols * g.rows)) {
        s->text_shadow = g_renew(uint16_t, s->text_shadow, g.cols * g.rows);
        s->text_cells = g.cols * g.rows;
    }
    if (console_width(s->con) != g.cols * g.cw || console_height(s->con) != g.rows * g.ch)
        return;                                         /* clamped: nothing sensible */
    uint32_t cur = ((uint32_t)r->cr[0x0e] << 8 | r->cr[0x0f]) * 4;
    bool cur_on = !(r->cr[0x0a] & 0x20);
    int cursor_cell = -1;
    for (int row = 0; row < g.rows; row++) {
        for (int col = 0; col < g.cols; col++) {
            uint64_t a = (uint64_t)g.start + (uint64_t)row * g.line + col * 4;
            uint8_t chr = a + 1 < s->vram_size ? s->vram[a] : 0;
            uint8_t attr = a + 1 < s->vram_size ? s->vram[a + 1] : 0;
            int cell = row * g.cols + col;
            bool is_cur = cur_on && a == cur;
            uint16_t v = chr | attr << 8;
            if (is_cur)
                cursor_cell = cell;
            if (!full && s->text_shadow[cell] == v && is_cur == (cell == s->cursor_drawn))
                continue;
            s->text_shadow[cell] = v;
            draw_cell(s, &g, col, row, chr, attr, is_cur);
        }
    }
    s->cursor_drawn = cursor_cell;
}

/* ---- graphics ---- */

/* A row renderer and the video memory it reads for row @y: [addr, addr + *len). */
typedef struct RowOps {
    void (*row)(VgaCommon *s, int y, uint32_t *out, int w);
    uint64_t (*span)(VgaCommon *s, int y, int w, uint64_t *len);
} RowOps;

/* Draws rows 0..h-1: every one when @all, otherwise only those whose video memory has
 * a page marked in the display bitmap; @force damages each drawn row whole. */
static void render_rows(VgaCommon *s, int w, int h, bool force, bool all, const RowOps *ops)
{
    uint32_t *buf = line_buf(s, w);
    for (int y = 0; y < h; y++) {
        uint64_t len, a = ops->span(s, y, w, &len);
        if (!all && !mr_display_dirty(s->vram_bar, a, len))
            continue;
        ops->row(s, y, buf, w);
        put_row(s, y, buf, w, force);
    }
}

static uint64_t legacy_row_addr(const VgaRegs *r, int y)
{
    return (((uint64_t)r->cr[0x0c] << 8 | r->cr[0x0d]) * 4) + (uint64_t)y * (r->cr[0x13] << 3);
}

/* row_planar reads 4 bytes (one per plane) per 8 pixels. */
static uint64_t span_planar(VgaCommon *s, int y, int w, uint64_t *len)
{
    *len = (uint64_t)((w + 7) >> 3) * 4;
    return legacy_row_addr(&s->r, y);
}

/* row_256 reads a byte per pixel. */
static uint64_t span_256(VgaCommon *s, int y, int w, uint64_t *len)
{
    *len = w;
    return legacy_row_addr(&s->r, y);
}

static void row_planar(VgaCommon *s, int y, uint32_t *out, int w)
{
    const VgaRegs *r = &s->r;
    uint64_t a = legacy_row_addr(r, y);
    for (int x = 0; x < w; x++) {
        int px = x;
        uint64_t wa = a + (uint64_t)(px >> 3) * 4;
        uint32_t v = 0;
        if (wa + 4 <= s->vram_size)
            memcpy(&v, &s->vram[wa], 4);
        unsigned bit = 7 - (px & 7), c = 0;
        for (int p = 0; p < 4; p++)
            c |= ((v >> (p * 8 + bit)) & 1) << p;
        c &= r->ar[0x12] & 0xf;
        out[x] = dac_color(r, ar_index(r, c), false);
    }
}

static void row_256(VgaCommon *s, int y, uint32_t *out, int w)
{
    const VgaRegs *r = &s->r;
    uint64_t a = legacy_row_addr(r, y);
    for (int x = 0; x < w; x++) {
        uint8_t c = a + x < s->vram_size ? s->vram[a + x] : 0;
        out[x] = dac_color(r, c & r->pel_mask, false);
    }
}

static unsigned vbe_bytes(const VgaRegs *r)
{
    unsigned bpp = r->vbe_regs[VBE_DISPI_INDEX_BPP];
    return bpp == 4 ? 1 : (bpp + 7) / 8;
}

static void row_vbe(VgaCommon *s, int y, uint32_t *out, int w)
{
    const VgaRegs *r = &s->r;
    unsigned bpp = r->vbe_regs[VBE_DISPI_INDEX_BPP];
    bool dac8 = r->vbe_regs[VBE_DISPI_INDEX_ENABLE] & VBE_DISPI_8BIT_DAC;
    uint64_t a = (uint64_t)r->vbe_start_addr + (uint64_t)y * r->vbe_line_offset;
    unsigned bytes = vbe_bytes(r);
    if (a + (uint64_t)w * bytes > s->vram_size) {       /* fixup makes this impossible */
        memset(out, 0, (size_t)w * 4);
        return;
    }
    const uint8_t *p = s->vram + a;
    for (int x = 0; x < w; x++, p += bytes) {
        switch (bpp) {
        case 32: out[x] = (p[0] | p[1] << 8 | p[2] << 16); break;
        case 24: out[x] = (p[0] | p[1] << 8 | p[2] << 16); break;
        case 16: {
            unsigned v = p[0] | p[1] << 8;
            unsigned r5 = v >> 11, g6 = (v >> 5) & 0x3f, b5 = v & 0x1f;
            out[x] = (r5 << 3 | r5 >> 2) << 16 | (g6 << 2 | g6 >> 4) << 8 | (b5 << 3 | b5 >> 2);
            break;
        }
        case 15: {
            unsigned v = p[0] | p[1] << 8;
            unsigned r5 = (v >> 10) & 0x1f, g5 = (v >> 5) & 0x1f, b5 = v & 0x1f;
            out[x] = (r5 << 3 | r5 >> 2) << 16 | (g5 << 3 | g5 >> 2) << 8 | (b5 << 3 | b5 >> 2);
            break;
        }
        default: out[x] = dac_color(r, p[0], dac8); break;
        }
    }
}

/* row_vbe reads w pixels from the row's start (nothing when that is past the end). */
static uint64_t span_vbe(VgaCommon *s, int y, int w, uint64_t *len)
{
    const VgaRegs *r = &s->r;
    *len = (uint64_t)w * vbe_bytes(r);
    return (uint64_t)r->vbe_start_addr + (uint64_t)y * r->vbe_line_offset;
}

static const RowOps vbe_rows = { row_vbe, span_vbe };
static const RowOps c256_rows = { row_256, span_256 };
static const RowOps planar_rows = { row_planar, span_planar };

static void draw_key(const VgaRegs *r, VgaDrawKey *k)
{
    memset(k, 0, sizeof(*k));
    memcpy(k->cr, r->cr, sizeof(k->cr));
    k->gr5 = r->gr[5];
    k->gr6 = r->gr[6];
    k->sr1 = r->sr[1];
    k->pel_mask = r->pel_mask;
    memcpy(k->ar, r->ar, sizeof(k->ar));
    memcpy(k->vbe_regs, r->vbe_regs, sizeof(k->vbe_regs));
    k->vbe_regs[VBE_DISPI_INDEX_BANK] = 0;
    k->vbe_start_addr = r->vbe_start_addr;
    k->vbe_line_offset = r->vbe_line_offset;
}

/* Starts a graphics frame: harvests the framebuffer's dirty pages and returns whether
 * every row must be drawn (logging unusable, or the registers the rows depend on
 * changed since the last frame). */
static bool frame_needs_all(VgaCommon *s, bool *tracked)
{
    VgaDrawKey k;
    draw_key(&s->r, &k);
    bool moved = memcmp(&k, &s->drawn_key, sizeof(k)) != 0;
    s->drawn_key = k;
    *tracked = s->dirty_log && as_log_display_sync(s->m->sysmem, s->vram_bar) == 0;
    return !*tracked || moved;
}

static void render_graphics(VgaCommon *s, bool force, const RowOps *ops)
{
    bool tracked, all = frame_needs_all(s, &tracked) || force;
    render_rows(s, console_width(s->con), console_height(s->con), force, all, ops);
    if (tracked)
        mr_display_clear(s->vram_bar);          /* drawn; the next frame starts afresh */
}

static void vga_refresh(void *opaque)
{
    VgaCommon *s = opaque;
    const VgaRegs *r = &s->r;
    bool full = s->invalidate || s->pal_gen != s->drawn_pal_gen;
    if (vbe_enabled(s)) {
        int w = r->vbe_regs[VBE_DISPI_INDEX_XRES], h = r->vbe_regs[VBE_DISPI_INDEX_YRES];
        if (console_width(s->con) != w || console_height(s->con) != h)
            full = true;
        console_resize(s->con, w, h);
        render_graphics(s, full, &vbe_rows);
    } else if (!s->legacy) {
        full |= console_width(s->con) != 640 || console_height(s->con) != 480;
        console_resize(s->con, 640, 480);              /* bochs-display, disabled: black */
        if (full) {
            memset(console_data(s->con), 0, (size_t)console_stride(s->con) * 480);
            console_damage(s->con, 0, 0, 640, 480);
        }
    } else if (!(r->gr[6] & 1)) {
        render_text(s, full || s->font_gen != s->drawn_font_gen);
    } else {
        bool c256 = r->gr[5] & 0x40;
        int w = (r->cr[1] + 1) * 8 / (c256 || (r->sr[1] & 0x08) ? 2 : 1);
        unsigned rep = ((r->cr[9] & 0x1f) + 1) * ((r->cr[9] & 0x80) ? 2 : 1);
        int h = MAX(1, vga_vde(r) / (int)rep);
        if (console_width(s->con) != w || console_height(s->con) != h)
            full = true;
        console_resize(s->con, w, h);
        render_graphics(s, full, c256 ? &c256_rows : &planar_rows);
    }
    s->invalidate = false;
    s->drawn_pal_gen = s->pal_gen;
    s->drawn_font_gen = s->font_gen;
}

static void vga_invalidate(void *opaque)
{
    ((VgaCommon *)opaque)->invalidate = true;
}

/* Listeners come and go: the framebuffer is dirty-logged for the display meanwhile. */
static void vga_listening(void *opaque, bool on)
{
    VgaCommon *s = opaque;
    if (!s->vram_bar)
        return;                                 /* realize has not got there: compare */
    if (!on) {
        as_log_display_stop(s->m->sysmem, s->vram_bar);
        s->dirty_log = false;
        return;
    }
    int e = as_log_display_start(s->m->sysmem, s->vram_bar);
    s->dirty_log = true;                        /* each sync says whether it can be used */
    if (e < 0 && e != -ENOTSUP)
        log_budget_warn(&s->log, "%s: dirty logging of video memory failed: %s; every "
                        "row is compared", s->dev->cls->name, g_strerror(-e));
}

const ConsoleHwOps vga_console_ops = {
    .refresh = vga_refresh,
    .invalidate = vga_invalidate,
    .listening = vga_listening,
};
