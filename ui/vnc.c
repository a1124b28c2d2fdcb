/*
 * VNC server: listening sockets, clients, the RFB handshake and client messages
 * (RFC 6143), damage-driven updates with flow control (ui/vnc-int.h).
 * Everything runs on the main loop with the machine lock held.
 */
#include "ui/vnc-int.h"
#include "vireo/vnc.h"
#include "vireo/option.h"
#include <errno.h>
#include <fcntl.h>
#include <glib-unix.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/un.h>
#include <unistd.h>

static void vnc_try_update(VncClient *c);

/* ---- output ---- */

static gboolean vnc_writable(gint fd, GIOCondition cond, gpointer opaque);

/* Bytes queued for the client: RFB output and, on a websocket, the frame being sent. */
static size_t vnc_pending(VncClient *c)
{
    return c->out->len + (c->ws_out ? c->ws_out->len : 0);
}

static void vnc_flush(VncClient *c)
{
    for (;;) {
        GByteArray *q = c->out;
        if (c->ws_state != WS_NONE) {
            vnc_ws_fill(c);
            q = c->ws_out;
        }
        if (!q->len)
            break;
        ssize_t n = send(c->fd, q->data, q->len, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            break;
        if (n <= 0) {
            c->closing = true;
            return;
        }
        g_byte_array_remove_range(q, 0, n);
    }
    if (vnc_pending(c) && !c->out_watch)
        c->out_watch = g_unix_fd_add(c->fd, G_IO_OUT, vnc_writable, c);
}

static gboolean vnc_writable(gint fd, GIOCondition cond, gpointer opaque)
{
    VncClient *c = opaque;
    c->out_watch = 0;
    vnc_flush(c);
    if (c->closing) {
        vnc_client_close(c);
        return G_SOURCE_REMOVE;
    }
    if (!vnc_pending(c))
        vnc_try_update(c);
    return G_SOURCE_REMOVE;
}

void vnc_out(VncClient *c, const void *p, size_t n)
{
    if (c->out->len + n > VNC_OUT_MAX) {
        c->closing = true;            /* never grows without bound */
        return;
    }
    g_byte_array_append(c->out, p, n);
}
void vnc_out_u8(VncClient *c, uint8_t v) { vnc_out(c, &v, 1); }
void vnc_out_u16(VncClient *c, uint16_t v) { uint8_t b[2] = { v >> 8, v }; vnc_out(c, b, 2); }
void vnc_out_u32(VncClient *c, uint32_t v)
{
    uint8_t b[4] = { v >> 24, v >> 16, v >> 8, v };
    vnc_out(c, b, 4);
}

static void out_rect_header(VncClient *c, int x, int y, int w, int h, int32_t enc)
{
    vnc_out_u16(c, x);
    vnc_out_u16(c, y);
    vnc_out_u16(c, w);
    vnc_out_u16(c, h);
    vnc_out_u32(c, (uint32_t)enc);
}

/* ---- dirty tiles ---- */

static void client_resize_dirty(VncClient *c)
{
    int w = console_width(c->vd->con), h = console_height(c->vd->con);
    c->tw = (w + VNC_TILE - 1) / VNC_TILE;
    c->th = (h + VNC_TILE - 1) / VNC_TILE;
    g_free(c->dirty);
    c->dirty = g_malloc((size_t)c->tw * c->th);
    memset(c->dirty, 1, (size_t)c->tw * c->th);
}

static void client_mark(VncClient *c, int x, int y, int w, int h)
{
    int tx0 = x / VNC_TILE, ty0 = y / VNC_TILE;
    int tx1 = MIN((x + w - 1) / VNC_TILE, c->tw - 1), ty1 = MIN((y + h - 1) / VNC_TILE, c->th - 1);
    for (int ty = ty0; ty <= ty1; ty++)
        memset(c->dirty + (size_t)ty * c->tw + tx0, 1, MAX(0, tx1 - tx0 + 1));
}

static void dl_update(DisplayListener *l, int x, int y, int w, int h)
{
    VncDisplay *vd = l->opaque;
    for (guint i = 0; i < vd->clients->len; i++)
        client_mark(vd->clients->pdata[i], x, y, w, h);
}

static void dl_resize(DisplayListener *l)
{
    VncDisplay *vd = l->opaque;
    for (guint i = 0; i < vd->clients->len; i++) {
        VncClient *c = vd->clients->pdata[i];
        client_resize_dirty(c);
        c->need_resize = true;
    }
}

static void dl_refresh(DisplayListener *l)
{
    VncDisplay *vd = l->opaque;
    for (guint i = 0; i < vd->clients->len; i++) {
        VncClient *c = vd->clients->pdata[i];
        bool abs = input_is_absolute(vd->m);
        if (c->has_ptr_type && abs != c->absolute) {
            c->absolute = abs;
            c->need_ptr_type = true;
        }
        vnc_try_update(c);
    }
}

static void dl_leds(DisplayListener *l, unsigned leds)
{
    VncDisplay *vd = l->opaque;
    for (guint i = 0; i < vd->clients->len; i++) {
        VncClient *c = vd->clients->pdata[i];
        c->need_led = c->has_led;
        vnc_try_update(c);
    }
}

static const DisplayListenerOps vnc_dl_ops = {
    .update = dl_update, .resize = dl_resize, .refresh = dl_refresh, .leds = dl_leds,
};

/* ---- framebuffer updates ---- */

typedef struct TileRect {
    int x0, x1, y0, y1;               /* tiles [x0, x1) x [y0, y1) */
} TileRect;

static int tr_area(const TileRect *t) { return (t->x1 - t->x0) * (t->y1 - t->y0); }

static bool tr_meets(const TileRect *a, const TileRect *b)
{
    return a->x0 < b->x1 && b->x0 < a->x1 && a->y0 < b->y1 && b->y0 < a->y1;
}

/* Merges pairs of rectangles into their bounding box while the box takes in at most
 * @waste clean tiles and covers no third rectangle. */
static void merge_pass(GArray *tr, int waste)
{
    for (;;) {
        int best = INT_MAX;
        guint bi = 0, bj = 0;
        TileRect bb = { 0 };
        for (guint i = 0; i < tr->len; i++)
            for (guint j = i + 1; j < tr->len; j++) {
                TileRect *a = &g_array_index(tr, TileRect, i);
                TileRect *b = &g_array_index(tr, TileRect, j);
                TileRect u = { MIN(a->x0, b->x0), MAX(a->x1, b->x1),
                               MIN(a->y0, b->y0), MAX(a->y1, b->y1) };
                int wst = tr_area(&u) - tr_area(a) - tr_area(b);
                if (wst > waste || wst >= best)
                    continue;
                bool clear = true;
                for (guint k = 0; k < tr->len && clear; k++)
                    clear = k == i || k == j || !tr_meets(&u, &g_array_index(tr, TileRect, k));
                if (!clear)
                    continue;
                best = wst;
                bi = i;
                bj = j;
                bb = u;
            }
        if (best == INT_MAX)
            return;
        g_array_index(tr, TileRect, bi) = bb;
        g_array_remove_index(tr, bj);
    }
}

/* Dirty tiles as rectangles, cleared from the map; returns how many. Each tile row's
 * runs of dirty tiles extend the rectangle that ended on the row above when they lie
 * within its columns: exactly its columns for Raw and Hextile, where every clean pixel
 * sent costs its raw bytes; up to VNC_MERGE_SLACK tiles narrower for ZRLE and Tight,
 * whose clean pixels compress to little while each rectangle costs a header, a length
 * and a zlib flush. For those two, pairs of rectangles whose bounding box covers no
 * other rectangle and at most VNC_MERGE_WASTE clean tiles are merged (while there are
 * at most VNC_MERGE_MAX rectangles: bounded work). A scrolling text console becomes one
 * or two rectangles instead of one per 16-row band or per changed column span
 * (tests/vnc-encbench.c measured the constants: scroll1 227 -> 143 bytes per update). */
#define VNC_MERGE_SLACK 2
#define VNC_MERGE_WASTE 16
#define VNC_MERGE_MAX   32
static unsigned collect_rects(VncClient *c, GArray *rects)
{
    int w = console_width(c->vd->con), h = console_height(c->vd->con);
    bool cheap = c->enc == ENC_ZRLE || c->enc == ENC_TIGHT;
    int slack = cheap ? VNC_MERGE_SLACK : 0;
    g_autoptr(GArray) tr = g_array_new(FALSE, FALSE, sizeof(TileRect));
    g_autoptr(GArray) open = g_array_new(FALSE, FALSE, sizeof(guint));
    g_autoptr(GArray) next = g_array_new(FALSE, FALSE, sizeof(guint));
    g_autofree int *runs = g_new(int, 2 * (size_t)c->tw + 2);
    for (int ty = 0; ty < c->th; ty++) {
        uint8_t *row = c->dirty + (size_t)ty * c->tw;
        int nr = 0;
        for (int tx = 0; tx < c->tw;) {
            if (!row[tx]) {
                tx++;
                continue;
            }
            runs[2 * nr] = tx;
            while (tx < c->tw && row[tx])
                row[tx++] = 0;
            runs[2 * nr++ + 1] = tx;
        }
        g_array_set_size(next, 0);
        guint oi = 0;
        for (int i = 0; i < nr; i++) {
            int s = runs[2 * i], e = runs[2 * i + 1];
            /* The open rectangles are in column order and disjoint. */
            while (oi < open->len &&
                   g_array_index(tr, TileRect, g_array_index(open, guint, oi)).x1 <= s)
                oi++;
            TileRect *p = oi < open->len
                          ? &g_array_index(tr, TileRect, g_array_index(open, guint, oi)) : NULL;
            /* It extends p when within p's columns, not much narrower, and the only run
             * of this row under p (else p's new row would cover another rectangle). */
            if (p && p->x0 <= s && e <= p->x1 && (p->x1 - p->x0) - (e - s) <= slack &&
                (i == 0 || runs[2 * i - 1] <= p->x0) &&
                (i == nr - 1 || runs[2 * i + 2] >= p->x1)) {
                p->y1 = ty + 1;
                g_array_append_val(next, g_array_index(open, guint, oi));
                oi++;
            } else {
                TileRect r = { s, e, ty, ty + 1 };
                guint idx = tr->len;
                g_array_append_val(tr, r);
                g_array_append_val(next, idx);
            }
        }
        GArray *t = open;
        open = next;
        next = t;
    }
    if (cheap && tr->len <= VNC_MERGE_MAX)
        merge_pass(tr, VNC_MERGE_WASTE);
    for (guint i = 0; i < tr->len; i++) {
        TileRect *t = &g_array_index(tr, TileRect, i);
        int r[4] = { t->x0 * VNC_TILE, t->y0 * VNC_TILE,
                     MIN(t->x1 * VNC_TILE, w) - t->x0 * VNC_TILE,
                     MIN(t->y1 * VNC_TILE, h) - t->y0 * VNC_TILE };
        g_array_append_vals(rects, r, 4);
    }
    return rects->len / 4;
}

static unsigned pseudo_count(VncClient *c)
{
    bool resize = c->need_resize && (c->has_desktop_size || c->has_ext_desktop_size);
    return resize + (c->need_ptr_type && c->has_ptr_type) + (c->need_led && c->has_led);
}

static void send_pseudo(VncClient *c)
{
    int w = console_width(c->vd->con), h = console_height(c->vd->con);
    if (c->need_resize && c->has_ext_desktop_size) {
        out_rect_header(c, 0, 0, w, h, ENC_EXT_DESKTOPSIZE);   /* reason 0: server */
        vnc_out_u8(c, 1);
        vnc_out(c, "\0\0\0", 3);
        vnc_out_u32(c, 0);                                   /* screen id */
        vnc_out_u16(c, 0); vnc_out_u16(c, 0); vnc_out_u16(c, w); vnc_out_u16(c, h);
        vnc_out_u32(c, 0);
    } else if (c->need_resize && c->has_desktop_size) {
        out_rect_header(c, 0, 0, w, h, ENC_DESKTOPSIZE);
    }
    if (c->need_ptr_type && c->has_ptr_type)
        out_rect_header(c, c->absolute, 0, w, h, ENC_POINTER_TYPE_CHANGE);
    if (c->need_led && c->has_led) {
        out_rect_header(c, 0, 0, 1, 1, ENC_LED_STATE);
        vnc_out_u8(c, ui_state(c->vd->m)->leds);
    }
    c->need_resize = c->need_ptr_type = c->need_led = false;
}

static void vnc_try_update(VncClient *c)
{
    if (c->state != VS_NORMAL || c->closing || !c->update_requested ||
        vnc_pending(c) > VNC_OUT_LOW)
        return;
    if (c->need_resize && !c->has_desktop_size && !c->has_ext_desktop_size)
        c->need_resize = false;       /* the client cannot follow: it sees the top left */
    g_autoptr(GArray) rects = g_array_new(FALSE, FALSE, sizeof(int));
    unsigned np = pseudo_count(c);
    unsigned n = np ? 0 : collect_rects(c, rects);
    if (np && c->need_resize)
        memset(c->dirty, 1, (size_t)c->tw * c->th);   /* everything after a resize */
    if (np + n == 0)
        return;
    c->update_requested = false;
    /* Rectangles as the encoding cuts them (Tight: pieces); what does not fit in one
     * update's 65535 stays dirty for the next. */
    unsigned total = np, fit = 0;
    for (; fit < n; fit++) {
        int *r = &g_array_index(rects, int, fit * 4);
        unsigned k = vnc_rect_count(c, r[2], r[3]);
        if (total + k > 65535u)
            break;
        total += k;
    }
    for (unsigned i = fit; i < n; i++) {
        int *r = &g_array_index(rects, int, i * 4);
        client_mark(c, r[0], r[1], r[2], r[3]);
    }
    vnc_out_u8(c, 0);
    vnc_out_u8(c, 0);
    vnc_out_u16(c, total);
    send_pseudo(c);
    for (unsigned i = 0; i < fit; i++) {
        int *r = &g_array_index(rects, int, i * 4);
        vnc_send_rect(c, r[0], r[1], r[2], r[3]);
    }
    vnc_flush(c);
    if (c->closing)
        vnc_client_close(c);
}

/* ---- client messages ---- */

static uint16_t rd16(const uint8_t *p) { return p[0] << 8 | p[1]; }
static uint32_t rd32(const uint8_t *p) { return (uint32_t)p[0] << 24 | p[1] << 16 | p[2] << 8 | p[3]; }

static void set_encodings(VncClient *c, const uint8_t *p, unsigned n)
{
    c->enc = ENC_RAW;
    bool chosen = false;
    c->has_desktop_size = c->has_ext_desktop_size = c->has_ext_key = false;
    c->has_led = c->has_ptr_type = c->has_audio = false;
    c->tight_level = c->tight_quality = -1;
    for (unsigned i = 0; i < n; i++) {
        int32_t e = (int32_t)rd32(p + 4 * i);
        /* The first encoding of the list that Vireo has is the one used. */
        if (!chosen && (e == ENC_RAW || e == ENC_HEXTILE || e == ENC_ZRLE ||
                        e == ENC_TIGHT)) {
            c->enc = e;
            chosen = true;
        }
        if (e >= ENC_COMPRESS_LEVEL_0 && e <= ENC_COMPRESS_LEVEL_0 + 9 && c->tight_level < 0)
            c->tight_level = e - ENC_COMPRESS_LEVEL_0;
        if (e >= ENC_JPEG_QUALITY_0 && e <= ENC_JPEG_QUALITY_0 + 9 && c->tight_quality < 0)
            c->tight_quality = e - ENC_JPEG_QUALITY_0;
        c->has_desktop_size |= e == ENC_DESKTOPSIZE;
        c->has_ext_desktop_size |= e == ENC_EXT_DESKTOPSIZE;
        c->has_ext_key |= e == ENC_EXT_KEY_EVENT;
        c->has_led |= e == ENC_LED_STATE;
        c->has_ptr_type |= e == ENC_POINTER_TYPE_CHANGE;
        c->has_audio |= e == ENC_AUDIO && c->vd->audiodev;
    }
    /* Acknowledge the extensions QEMU acknowledges with an empty rectangle. */
    c->absolute = input_is_absolute(c->vd->m);
    c->need_ptr_type = c->has_ptr_type;
    c->need_led = c->has_led;
    if (c->has_ext_key) {
        vnc_out_u8(c, 0); vnc_out_u8(c, 0); vnc_out_u16(c, 1);
        out_rect_header(c, 0, 0, console_width(c->vd->con), console_height(c->vd->con),
                        ENC_EXT_KEY_EVENT);
    }
    if (c->has_audio) {
        vnc_out_u8(c, 0); vnc_out_u8(c, 0); vnc_out_u16(c, 1);
        out_rect_header(c, 0, 0, console_width(c->vd->con), console_height(c->vd->con),
                        ENC_AUDIO);
    }
}

static void pointer_event(VncClient *c, uint8_t mask, int x, int y)
{
    Machine *m = c->vd->m;
    int w = console_width(c->vd->con), h = console_height(c->vd->con);
    if (c->has_ptr_type && !c->absolute) {
        input_pointer(m, &(InputPointer){ .x = x - 0x7fff, .y = y - 0x7fff, .buttons = mask });
    } else {
        int ax = (int)((int64_t)MIN(x, w - 1) * INPUT_ABS_MAX / MAX(w - 1, 1));
        int ay = (int)((int64_t)MIN(y, h - 1) * INPUT_ABS_MAX / MAX(h - 1, 1));
        input_pointer(m, &(InputPointer){ .abs = true, .x = ax, .y = ay, .buttons = mask });
    }
    c->last_buttons = mask;
}

/* Length of the complete message at the start of @p, 0 if more bytes are needed, -1 if
 * it is not a message this server takes. */
static ssize_t msg_length(VncClient *c, const uint8_t *p, size_t len)
{
    switch (p[0]) {
    case 0: return 20;
    case 2: return len < 4 ? 0 : 4 + 4 * (ssize_t)rd16(p + 2);
    case 3: return 10;
    case 4: return 8;
    case 5: return 6;
    case 6: return 8;                 /* the text follows, skipped separately */
    case 255:                         /* QEMU's messages: extended key event, audio */
        if (len < 2)
            return 0;
        if (p[1] == 0)
            return 12;
        if (p[1] != 1 || !c->has_audio)
            return -1;
        return len < 4 ? 0 : rd16(p + 2) < 2 ? 4 : rd16(p + 2) == 2 ? 10 : -1;
    default: return -1;
    }
}

/* QEMU's audio client message (after the client listed ENC_AUDIO and the server has an
 * audiodev): 0 enable, 1 disable, 2 set the sample format (U8 format 0-5: u8 s8 u16 s16
 * u32 s32, U8 channels 1 or 2, U32 frequency). What is captured is what the machine
 * plays, and Vireo has no sound device: an enabled client gets no audio messages, as
 * under QEMU with no sound card (its capture starts only when a voice plays). */
static void audio_msg(VncClient *c, const uint8_t *p)
{
    uint16_t op = rd16(p + 2);
    if (op < 2) {
        c->audio_on = op == 0;
        return;
    }
    uint32_t freq = rd32(p + 6);
    if (p[4] > 5 || p[5] < 1 || p[5] > 2 || !freq || freq > INT32_MAX) {
        log_budget_warn(&c->vd->log, "vnc: %s: bad audio format (format %u, %u channels, "
                        "%u Hz): disconnected", c->host, p[4], p[5], freq);
        c->closing = true;
    }
}

static void handle_msg(VncClient *c, const uint8_t *p)
{
    switch (p[0]) {
    case 0: {
        PixelFormat pf = { .bpp = p[4], .depth = p[5], .big_endian = p[6] != 0,
                           .true_colour = p[7] != 0, .rmax = rd16(p + 8),
                           .gmax = rd16(p + 10), .bmax = rd16(p + 12), .rshift = p[14],
                           .gshift = p[15], .bshift = p[16] };
        if (!vnc_pf_valid(&pf)) {
            log_budget_warn(&c->vd->log, "vnc: %s: unsupported pixel format (bpp %u, true "
                            "colour %u): disconnected", c->host, pf.bpp, pf.true_colour);
            c->closing = true;
            return;
        }
        c->pf = pf;
        memset(c->dirty, 1, (size_t)c->tw * c->th);
        break;
    }
    case 2:
        set_encodings(c, p + 4, rd16(p + 2));
        break;
    case 3: {
        int x = rd16(p + 2), y = rd16(p + 4), w = rd16(p + 6), h = rd16(p + 8);
        int sw = console_width(c->vd->con), sh = console_height(c->vd->con);
        if (!p[1] && x < sw && y < sh && w && h)
            client_mark(c, x, y, MIN(w, sw - x), MIN(h, sh - y));
        c->update_requested = true;
        break;
    }
    case 4: {
        QKeyCode k = keysym_to_qcode(rd32(p + 4));
        input_key(c->vd->m, k, p[1] != 0);
        break;
    }
    case 5:
        pointer_event(c, p[1], rd16(p + 2), rd16(p + 4));
        break;
    case 6: {
        uint32_t n = rd32(p + 4);
        c->skip = n;                  /* the host clipboard is not connected: dropped */
        if (n)
            c->state = VS_SKIP;
        break;
    }
    case 255: {                       /* QEMU extended key event */
        if (p[1] == 1) {
            audio_msg(c, p);
            break;
        }
        uint32_t qnum = rd32(p + 8);
        QKeyCode k = qnum ? qnum_to_qcode(qnum) : keysym_to_qcode(rd32(p + 4));
        input_key(c->vd->m, k, rd16(p + 2) != 0);
        break;
    }
    }
}

static void send_server_init(VncClient *c)
{
    VncDisplay *vd = c->vd;
    const char *name = vd->m->opts.name;
    g_autofree char *title = name ? g_strdup_printf("QEMU (%s)", name) : g_strdup("QEMU");
    vnc_pf_default(&c->pf);
    vnc_out_u16(c, console_width(vd->con));
    vnc_out_u16(c, console_height(vd->con));
    uint8_t pf[16] = { c->pf.bpp, c->pf.depth, c->pf.big_endian, c->pf.true_colour,
                       c->pf.rmax >> 8, c->pf.rmax, c->pf.gmax >> 8, c->pf.gmax,
                       c->pf.bmax >> 8, c->pf.bmax, c->pf.rshift, c->pf.gshift,
                       c->pf.bshift };
    vnc_out(c, pf, 16);
    vnc_out_u32(c, strlen(title));
    vnc_out(c, title, strlen(title));
    client_resize_dirty(c);
}

/* ClientInit: the shared flag against the share= policy (QEMU's semantics). */
static void client_init(VncClient *c, uint8_t shared)
{
    VncDisplay *vd = c->vd;
    if (vd->share == VNC_SHARE_ALLOW_EXCLUSIVE && !shared) {
        for (guint i = 0; i < vd->clients->len; i++) {
            VncClient *o = vd->clients->pdata[i];
            if (o != c && o->state == VS_NORMAL)
                o->closing = true;
        }
    }
    c->state = VS_NORMAL;
    send_server_init(c);
    vnc_event_initialized(c);
    c->initialized = true;
}

static void security_failed(VncClient *c, const char *why)
{
    if (c->minor >= 8) {
        vnc_out_u32(c, 1);
        vnc_out_u32(c, strlen(why));
        vnc_out(c, why, strlen(why));
    } else {
        vnc_out_u32(c, 1);
    }
    c->closing = true;
}

static bool password_usable(VncDisplay *vd)
{
    return vd->password && (!vd->expires || g_get_real_time() / 1000000 < vd->expires);
}

static void start_auth(VncClient *c)
{
    vnc_make_challenge(c->challenge);
    vnc_out(c, c->challenge, 16);
    c->state = VS_AUTH;
}

/* Consumes what it can of the input buffer; returns bytes used, 0 for "need more". */
static size_t handle_input(VncClient *c, const uint8_t *p, size_t len)
{
    VncDisplay *vd = c->vd;
    switch (c->state) {
    case VS_VERSION: {
        if (len < 12)
            return 0;
        /* "RFB xxx.yyy\n" (7.1.1), parsed within its 12 bytes. */
        int major = 0, minor = 0;
        bool ok = !memcmp(p, "RFB ", 4) && p[7] == '.' && p[11] == '\n';
        for (int i = 0; ok && i < 3; i++) {
            ok = g_ascii_isdigit(p[4 + i]) && g_ascii_isdigit(p[8 + i]);
            major = major * 10 + (p[4 + i] - '0');
            minor = minor * 10 + (p[8 + i] - '0');
        }
        if (!ok || major != 3) {
            c->closing = true;
            return len;
        }
        /* 3.4/3.5/3.6 (UltraVNC and others) are 3.3 as RFC 6143 says; 3.889 is 3.8. */
        c->minor = minor >= 8 ? 8 : minor == 7 ? 7 : 3;
        if (c->minor == 3) {
            vnc_out_u32(c, vd->password_auth ? 2 : 1);
            if (vd->password_auth)
                start_auth(c);
            else
                c->state = VS_INIT;
        } else {
            vnc_out_u8(c, 1);
            vnc_out_u8(c, vd->password_auth ? 2 : 1);
            c->state = VS_SECURITY;
        }
        return 12;
    }
    case VS_SECURITY:
        if (p[0] != (vd->password_auth ? 2 : 1)) {
            security_failed(c, "Unsupported security type");
            return len;
        }
        if (vd->password_auth) {
            start_auth(c);
        } else {
            if (c->minor >= 8)
                vnc_out_u32(c, 0);
            c->state = VS_INIT;
        }
        return 1;
    case VS_AUTH:
        if (len < 16)
            return 0;
        if (!password_usable(vd) || !vnc_check_response(vd->password, c->challenge, p)) {
            log_budget_warn(&vd->log, "vnc: %s:%s: VNC authentication failed", c->host,
                            c->service);
            security_failed(c, "Authentication failed");
            return len;
        }
        vnc_out_u32(c, 0);
        c->state = VS_INIT;
        return 16;
    case VS_INIT:
        client_init(c, p[0]);
        return 1;
    case VS_SKIP: {
        size_t n = MIN(len, c->skip);
        c->skip -= n;
        if (!c->skip)
            c->state = VS_NORMAL;
        return n;
    }
    case VS_NORMAL: {
        ssize_t n = msg_length(c, p, len);
        if (n < 0) {
            log_budget_warn(&vd->log, "vnc: %s:%s: unknown message type %u: disconnected",
                            c->host, c->service, p[0]);
            c->closing = true;
            return len;
        }
        if (n == 0 || (size_t)n > len)
            return 0;
        handle_msg(c, p);
        return n;
    }
    }
    return len;
}

static gboolean vnc_readable(gint fd, GIOCondition cond, gpointer opaque)
{
    VncClient *c = opaque;
    uint8_t buf[16384];
    ssize_t n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
    if (n < 0 && (errno == EAGAIN || errno == EINTR))
        return G_SOURCE_CONTINUE;
    if (n <= 0) {
        c->in_watch = 0;
        vnc_client_close(c);
        return G_SOURCE_REMOVE;
    }
    if (c->ws_state != WS_NONE)
        vnc_ws_input(c, buf, n);          /* the frames' payload goes to c->in */
    else
        g_byte_array_append(c->in, buf, n);
    size_t off = 0;
    while (off < c->in->len && !c->closing) {
        size_t used = handle_input(c, c->in->data + off, c->in->len - off);
        if (!used)
            break;
        off += used;
    }
    g_byte_array_remove_range(c->in, 0, off);
    if (c->in->len > VNC_IN_MAX)
        c->closing = true;
    vnc_flush(c);
    if (c->closing) {
        c->in_watch = 0;
        vnc_client_close(c);
        return G_SOURCE_REMOVE;
    }
    vnc_try_update(c);
    return G_SOURCE_CONTINUE;
}

/* ---- clients ---- */

void vnc_client_close(VncClient *c)
{
    VncDisplay *vd = c->vd;
    if (!g_ptr_array_remove(vd->clients, c))
        return;
    if (!vd->clients->len)
        console_remove_listener(&vd->dl);   /* nobody watches: no refresh, no logging */
    if (c->in_watch)
        g_source_remove(c->in_watch);
    if (c->out_watch)
        g_source_remove(c->out_watch);
    vnc_event_disconnected(c);
    close(c->fd);
    vnc_enc_free(c);
    vnc_ws_free(c);
    g_byte_array_free(c->in, TRUE);
    g_byte_array_free(c->out, TRUE);
    g_free(c->dirty);
    g_free(c);
}

static void describe_peer(VncClient *c)
{
    struct sockaddr_storage ss;
    socklen_t sl = sizeof(ss);
    c->family = 4;                                  /* unknown */
    g_strlcpy(c->host, "", sizeof(c->host));
    g_strlcpy(c->service, "", sizeof(c->service));
    if (getpeername(c->fd, (struct sockaddr *)&ss, &sl) < 0)
        return;
    if (ss.ss_family == AF_UNIX) {
        c->family = 2;
        return;
    }
    c->family = ss.ss_family == AF_INET6 ? 1 : 0;
    getnameinfo((struct sockaddr *)&ss, sl, c->host, sizeof(c->host), c->service,
                sizeof(c->service), NI_NUMERICHOST | NI_NUMERICSERV);
}

void vnc_client_greet(VncClient *c)
{
    vnc_out(c, "RFB 003.008\n", 12);
}

static VncClient *client_new(VncDisplay *vd, int fd, bool ws)
{
    VncClient *c = g_new0(VncClient, 1);
    c->vd = vd;
    c->fd = fd;
    c->in = g_byte_array_new();
    c->out = g_byte_array_new();
    c->state = VS_VERSION;
    c->tight_level = c->tight_quality = -1;
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    describe_peer(c);
    g_ptr_array_add(vd->clients, c);
    if (vd->clients->len == 1) {
        /* The display is watched only while a client is connected (QEMU idles its VNC
         * refresh without clients too): the first one attaches the listener, which
         * starts the console's refresh and the device's dirty logging, and one refresh
         * now brings the surface up to date for ServerInit's size. */
        console_add_listener(vd->con, &vd->dl);
        console_refresh(vd->con);
    }
    client_resize_dirty(c);
    vnc_event_connected(c);
    if (ws) {
        c->ws_state = WS_HTTP;        /* RFB starts after the upgrade */
        c->ws_http = g_byte_array_new();
        c->ws_out = g_byte_array_new();
    } else {
        vnc_client_greet(c);
    }
    vnc_flush(c);
    c->in_watch = g_unix_fd_add(fd, G_IO_IN | G_IO_HUP | G_IO_ERR, vnc_readable, c);
    return c;
}

VncClient *vnc_client_new(VncDisplay *vd, int fd)
{
    return client_new(vd, fd, false);
}

VncClient *vnc_client_new_ws(VncDisplay *vd, int fd)
{
    return client_new(vd, fd, true);
}

static gboolean vnc_accept(gint fd, GIOCondition cond, gpointer opaque)
{
    VncDisplay *vd = opaque;
    int cfd = accept4(fd, NULL, NULL, SOCK_CLOEXEC);
    if (cfd >= 0)
        vnc_client_new(vd, cfd);
    return G_SOURCE_CONTINUE;
}

static gboolean vnc_accept_ws(gint fd, GIOCondition cond, gpointer opaque)
{
    VncDisplay *vd = opaque;
    int cfd = accept4(fd, NULL, NULL, SOCK_CLOEXEC);
    if (cfd >= 0)
        vnc_client_new_ws(vd, cfd);
    return G_SOURCE_CONTINUE;
}

/* ---- servers ---- */

static int listen_tcp(const char *host, int port, int *family, GError **errp)
{
    struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM,
                              .ai_flags = AI_PASSIVE | AI_NUMERICSERV }, *res, *ai;
    char svc[16];
    snprintf(svc, sizeof(svc), "%d", port);
    int r = getaddrinfo(*host ? host : NULL, svc, &hints, &res);
    if (r) {
        g_set_error(errp, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                    "address resolution failed for %s:%s: %s", host, svc, gai_strerror(r));
        return -1;
    }
    int fd = -1, err = 0;
    for (ai = res; ai && fd < 0; ai = ai->ai_next) {
        fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, 0);
        if (fd < 0)
            continue;
        int one = 1;
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
        if (bind(fd, ai->ai_addr, ai->ai_addrlen) < 0 || listen(fd, 16) < 0) {
            err = errno;
            close(fd);
            fd = -1;
            continue;
        }
        *family = ai->ai_family == AF_INET6 ? 1 : 0;
    }
    freeaddrinfo(res);
    if (fd < 0)
        g_set_error(errp, G_IO_ERROR, g_io_error_from_errno(err),
                    "Failed to bind socket: %s", g_strerror(err));
    return fd;
}

static int listen_unix(const char *path, GError **errp)
{
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    if (strlen(path) >= sizeof(sa.sun_path)) {
        g_set_error(errp, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                    "UNIX socket path '%s' is too long", path);
        return -1;
    }
    strcpy(sa.sun_path, path);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    unlink(path);
    if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 16) < 0) {
        g_set_error(errp, G_IO_ERROR, g_io_error_from_errno(errno),
                    "Failed to bind socket to %s: %s", path, g_strerror(errno));
        if (fd >= 0)
            close(fd);
        return -1;
    }
    return fd;
}

static const char *const share_names[] = { "allow-exclusive", "force-shared", "ignore",
                                           NULL };

/* Options of -vnc that Vireo does not implement: refused by name. */
static const char *const vnc_refused[] = {
    "reverse", "tls-creds", "tls-authz", "sasl", "sasl-authz", "acl", "lossy",
    "non-adaptive", "power-control", "key-delay-ms", "connections", NULL };

static bool vnc_listen(VncDisplay *vd, const char *addr, int to, GError **errp)
{
    if (g_str_has_prefix(addr, "unix:")) {
        vd->lfd = listen_unix(addr + 5, errp);
        vd->unix_path = g_strdup(addr + 5);
        vd->family = 2;
        g_strlcpy(vd->host, "", sizeof(vd->host));
        g_strlcpy(vd->service, addr + 5, sizeof(vd->service));
        return vd->lfd >= 0;
    }
    const char *colon = strrchr(addr, ':');
    uint64_t disp;
    if (!colon || !str_to_u64(colon + 1, &disp) || disp > 65535 - 5900) {
        g_set_error(errp, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                    "'%s' is not a VNC display ([host]:N or unix:PATH)", addr);
        return false;
    }
    g_autofree char *host = g_strndup(addr, colon - addr);
    if (host[0] == '[' && host[strlen(host) - 1] == ']') {
        memmove(host, host + 1, strlen(host));
        host[strlen(host) - 1] = 0;
    }
    int last = to >= 0 ? MAX(to, (int)disp) : (int)disp;
    for (int d = disp; d <= last; d++) {
        g_clear_error(errp);
        vd->lfd = listen_tcp(host, 5900 + d, &vd->family, errp);
        if (vd->lfd >= 0) {
            g_clear_error(errp);
            struct sockaddr_storage ss;
            socklen_t sl = sizeof(ss);
            getsockname(vd->lfd, (struct sockaddr *)&ss, &sl);
            getnameinfo((struct sockaddr *)&ss, sl, vd->host, sizeof(vd->host), vd->service,
                        sizeof(vd->service), NI_NUMERICHOST | NI_NUMERICSERV);
            return true;
        }
    }
    return false;
}

/* websocket=on (port 5700 + display, as QEMU), =PORT (the VNC host) or =HOST:PORT: a
 * second listener whose clients speak RFB inside RFC 6455 frames (vnc-ws.c). */
static bool vnc_listen_ws(VncDisplay *vd, const char *addr, const char *ws, GError **errp)
{
    if (vd->family == 2) {
        g_set_error(errp, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED,
                    "websocket= needs a TCP VNC address, not a UNIX socket");
        return false;
    }
    g_autofree char *host = NULL;
    uint64_t port;
    const char *colon = strrchr(ws, ':');
    if (!strcmp(ws, "on")) {
        const char *vc = strrchr(addr, ':');
        host = g_strndup(addr, vc - addr);
        port = 5700 + (uint64_t)atoi(vd->service) - 5900;
    } else if (colon) {
        host = g_strndup(ws, colon - ws);
        if (!str_to_u64(colon + 1, &port) || port > 65535)
            goto bad;
    } else {
        const char *vc = strrchr(addr, ':');
        host = g_strndup(addr, vc - addr);
        if (!str_to_u64(ws, &port) || port > 65535)
            goto bad;
    }
    if (host[0] == '[' && host[strlen(host) - 1] == ']') {
        memmove(host, host + 1, strlen(host));
        host[strlen(host) - 1] = 0;
    }
    vd->ws_lfd = listen_tcp(host, port, &vd->ws_family, errp);
    if (vd->ws_lfd < 0)
        return false;
    struct sockaddr_storage ss;
    socklen_t sl = sizeof(ss);
    getsockname(vd->ws_lfd, (struct sockaddr *)&ss, &sl);
    getnameinfo((struct sockaddr *)&ss, sl, vd->ws_host, sizeof(vd->ws_host),
                vd->ws_service, sizeof(vd->ws_service), NI_NUMERICHOST | NI_NUMERICSERV);
    vd->ws_lwatch = g_unix_fd_add(vd->ws_lfd, G_IO_IN, vnc_accept_ws, vd);
    return true;
bad:
    g_set_error(errp, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                "websocket: '%s' is not on, off, a port or HOST:PORT", ws);
    return false;
}

static bool vnc_apply_opts(VncDisplay *vd, JsonObject *o, int *to, GError **errp)
{
    for (const char *const *k = vnc_refused; *k; k++) {
        if (json_object_has_member(o, *k)) {
            g_set_error(errp, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED,
                        "'%s' is not supported by Vireo's VNC server", *k);
            return false;
        }
    }
    static const char *const known[] = { "vnc", "id", "to", "password", "share",
                                         "display", "head", "ipv4", "ipv6", "websocket",
                                         "audiodev", NULL };
    if (!qv_check_unexpected(o, NULL, known, errp))
        return false;
    JsonNode *n;
    int share = 0;
    uint64_t t;
    if ((n = json_object_get_member(o, "to"))) {
        const char *ts = kv_get_str(o, "to");
        if (!ts || !str_to_u64(ts, &t) || t > 65535 - 5900) {
            g_set_error(errp, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                        "Parameter 'to' expects a display number");
            return false;
        }
        *to = t;
    }
    if ((n = json_object_get_member(o, "password")) &&
        !qv_bool(n, NULL, "password", true, &vd->password_auth, errp))
        return false;
    if ((n = json_object_get_member(o, "share"))) {
        if (!qv_enum(n, NULL, "share", share_names, 3, &share, errp))
            return false;
        vd->share = share;
    }
    const char *ad = kv_get_str(o, "audiodev");
    if (ad) {
        GPtrArray *ids = ui_state(vd->m)->audiodevs;
        guint i = 0;
        while (i < ids->len && strcmp(ids->pdata[i], ad))
            i++;
        if (i == ids->len) {
            g_set_error(errp, G_IO_ERROR, G_IO_ERROR_NOT_FOUND, "Audiodev '%s' not found", ad);
            return false;
        }
        vd->audiodev = g_strdup(ad);
    }
    return true;
}

void vnc_add_audiodev(Machine *m, const char *id)
{
    g_ptr_array_add(ui_state(m)->audiodevs, g_strdup(id));
}

bool vnc_parse_option(Machine *m, const char *spec, GError **errp)
{
    bool help;
    g_autoptr(JsonObject) o = keyval_parse(spec, "vnc", KEYVAL_FLAT | KEYVAL_SHORT_BOOLS,
                                           &help, errp);
    if (!o)
        goto fail;
#define KV0(k) (kv_get_str(o, k) ? kv_get_str(o, k) : "")
    const char *addr = KV0("vnc"), *id = KV0("id"), *dev = KV0("display");
    const char *head_s = KV0("head");
#undef KV0
    if (!strcmp(addr, "none"))
        return true;
    uint64_t head = 0;
    if (*head_s && !str_to_u64(head_s, &head)) {
        g_set_error(errp, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                    "Parameter 'head' expects a number");
        goto fail;
    }
    Console *con = console_find(m, *dev ? dev : NULL, head);
    if (!con) {
        g_set_error(errp, G_IO_ERROR, G_IO_ERROR_NOT_FOUND, *dev ?
                    "display '%s' (head %" G_GUINT64_FORMAT ") is not a graphic console" :
                    "no graphic console to show (-vga none and no display device)%s", dev,
                    head);
        goto fail;
    }
    VncDisplay *vd = g_new0(VncDisplay, 1);
    vd->m = m;
    vd->id = g_strdup(*id ? id : ui_state(m)->vnc->len ? "vnc" : "default");
    vd->con = con;
    vd->lfd = vd->ws_lfd = -1;
    vd->clients = g_ptr_array_new();
    vd->log = (LogBudget)LOG_BUDGET_DEFAULT;
    int to = -1;
    const char *ws = kv_get_str(o, "websocket");
    if (ws && !strcmp(ws, "off"))
        ws = NULL;
    if (!vnc_apply_opts(vd, o, &to, errp) || !vnc_listen(vd, addr, to, errp) ||
        (ws && !vnc_listen_ws(vd, addr, ws, errp))) {
        if (vd->lfd >= 0)
            close(vd->lfd);
        if (vd->unix_path)
            unlink(vd->unix_path);
        g_free(vd->id);
        g_free(vd->unix_path);
        g_free(vd->audiodev);
        g_ptr_array_free(vd->clients, TRUE);
        g_free(vd);
        goto fail;
    }
    vd->lwatch = g_unix_fd_add(vd->lfd, G_IO_IN, vnc_accept, vd);
    vd->dl = (DisplayListener){ .ops = &vnc_dl_ops, .opaque = vd };   /* per client */
    g_ptr_array_add(ui_state(m)->vnc, vd);
    return true;
fail:
    g_prefix_error(errp, "-vnc %s: ", spec);
    return false;
}

void vnc_cleanup(Machine *m)
{
    if (!m->ui)
        return;
    GPtrArray *a = m->ui->vnc;
    while (a->len) {
        VncDisplay *vd = g_ptr_array_steal_index(a, a->len - 1);
        while (vd->clients->len)
            vnc_client_close(vd->clients->pdata[vd->clients->len - 1]);
        console_remove_listener(&vd->dl);
        if (vd->lwatch)
            g_source_remove(vd->lwatch);
        if (vd->lfd >= 0)
            close(vd->lfd);
        if (vd->ws_lwatch)
            g_source_remove(vd->ws_lwatch);
        if (vd->ws_lfd >= 0)
            close(vd->ws_lfd);
        if (vd->unix_path)
            unlink(vd->unix_path);
        g_free(vd->unix_path);
        g_free(vd->password);
        g_free(vd->audiodev);
        g_free(vd->id);
        g_ptr_array_free(vd->clients, TRUE);
        g_free(vd);
    }
}

VncDisplay *vnc_find(Machine *m, const char *id)
{
    GPtrArray *a = ui_state(m)->vnc;
    for (guint i = 0; i < a->len; i++) {
        VncDisplay *vd = a->pdata[i];
        if (!id || !strcmp(vd->id, id))
            return vd;
    }
    return NULL;
}
