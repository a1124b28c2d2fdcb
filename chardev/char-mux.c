/*
 * The mux: one backend shared by several frontends (the serial console and the
 * monitor with -nographic / "mon:stdio" / mux=on), with QEMU's Ctrl-A escapes:
 *   C-a h  help          C-a x  quit (the owner's hook: vm_request_shutdown(HOST_UI))
 *   C-a c  next frontend C-a b  break to the focused frontend
 *   C-a C-a  a literal C-a; any other escaped byte is dropped.
 * Output of every frontend goes to the backend; input goes to the focused one
 * through a small per-frontend buffer so escapes are seen even when the frontend
 * is slow (as QEMU's MUX_BUFFER_SIZE).
 */
#include "chardev-internal.h"
#include <stdlib.h>
#include <string.h>

#define MUX_MAX_FE 4
#define MUX_BUF 32
#define MUX_ESC 0x01

typedef struct MuxFe {
    ChrFrontend fe;
    uint8_t buf[MUX_BUF];
    unsigned len;
} MuxFe;

typedef struct Mux {
    Chardev *self, *inner;
    MuxFe fes[MUX_MAX_FE];
    int count, focus;
    bool escape, flushing;
    ChrMuxQuitFn *quit;
    void *quit_opaque;
} Mux;

static const char mux_help[] =
    "\r\n"
    "C-a h    print this help\r\n"
    "C-a x    exit emulator\r\n"
    "C-a b    send break (magic sysrq)\r\n"
    "C-a c    switch between console and monitor\r\n"
    "C-a C-a  sends C-a\r\n";

static void mux_fe_event(MuxFe *f, ChrEvent ev)
{
    if (f->fe.event)
        f->fe.event(f->fe.opaque, ev);
}

/* Hands buffered input to the focused frontend as far as it takes it. */
static void mux_flush(Mux *mux)
{
    if (mux->count == 0 || mux->flushing)
        return;
    MuxFe *f = &mux->fes[mux->focus];
    mux->flushing = true;
    while (f->len > 0 && f->fe.read) {
        int room = f->fe.can_read ? f->fe.can_read(f->fe.opaque) : (int)f->len;
        if (room <= 0)
            break;
        unsigned n = MIN((unsigned)room, f->len);
        uint8_t chunk[MUX_BUF];
        memcpy(chunk, f->buf, n);
        memmove(f->buf, f->buf + n, f->len - n);
        f->len -= n;
        f->fe.read(f->fe.opaque, chunk, n);
    }
    mux->flushing = false;
}

static void mux_set_focus(Mux *mux, int focus)
{
    if (mux->count == 0)
        return;
    if (focus != mux->focus && mux->focus < mux->count)
        mux_fe_event(&mux->fes[mux->focus], CHR_EVENT_MUX_OUT);
    mux->focus = focus;
    mux_fe_event(&mux->fes[focus], CHR_EVENT_MUX_IN);
    mux_flush(mux);
}

/* Escape handling; returns true when @ch is input for the focused frontend. */
static bool mux_escape(Mux *mux, uint8_t ch)
{
    if (!mux->escape) {
        mux->escape = ch == MUX_ESC;
        return !mux->escape;
    }
    mux->escape = false;
    switch (ch) {
    case MUX_ESC:
        return true;
    case 'h': case '?':
        chr_write(mux->inner, (const uint8_t *)mux_help, strlen(mux_help));
        break;
    case 'x':
        chr_write(mux->inner, (const uint8_t *)"vireo: Terminated\r\n", 19);
        mux->quit(mux->quit_opaque);
        break;
    case 'b':
        if (mux->count)
            mux_fe_event(&mux->fes[mux->focus], CHR_EVENT_BREAK);
        break;
    case 'c':
        if (mux->count)
            mux_set_focus(mux, (mux->focus + 1) % mux->count);
        break;
    }
    return false;
}

static int mux_can_read(void *opaque)
{
    Mux *mux = opaque;
    if (mux->count == 0)
        return 1;                 /* still see escapes (C-a x) */
    return MUX_BUF - mux->fes[mux->focus].len;
}

static void mux_read(void *opaque, const uint8_t *buf, size_t len)
{
    Mux *mux = opaque;
    for (size_t i = 0; i < len; i++) {
        if (!mux_escape(mux, buf[i]) || mux->count == 0)
            continue;
        MuxFe *f = &mux->fes[mux->focus];
        if (f->len < MUX_BUF)
            f->buf[f->len++] = buf[i];
    }
    mux_flush(mux);
}

static void mux_event(void *opaque, ChrEvent ev)
{
    Mux *mux = opaque;
    if (ev == CHR_EVENT_OPENED || ev == CHR_EVENT_CLOSED)
        mux->self->connected = ev == CHR_EVENT_OPENED;
    if (ev == CHR_EVENT_BREAK) {
        if (mux->count)
            mux_fe_event(&mux->fes[mux->focus], ev);
        return;
    }
    for (int i = 0; i < mux->count; i++)
        mux_fe_event(&mux->fes[i], ev);
}

static int mux_find(Mux *mux, void *opaque)
{
    for (int i = 0; i < mux->count; i++)
        if (mux->fes[i].fe.opaque == opaque)
            return i;
    return -1;
}

static void mux_detach(Chardev *chr, void *opaque)
{
    Mux *mux = chr->be;
    int i = mux_find(mux, opaque);
    if (i < 0)
        return;
    bool had_focus = mux->focus == i;
    memmove(&mux->fes[i], &mux->fes[i + 1], (mux->count - i - 1) * sizeof(MuxFe));
    mux->count--;
    if (mux->focus > i) {
        mux->focus--;
    } else if (had_focus) {
        mux->focus = 0;
        if (mux->count) {
            mux_fe_event(&mux->fes[0], CHR_EVENT_MUX_IN);
            mux_flush(mux);
        }
    }
}

static void mux_set_frontend(Chardev *chr, const ChrFrontend *fe)
{
    Mux *mux = chr->be;
    if (!fe) {
        while (mux->count)
            mux_detach(chr, mux->fes[0].fe.opaque);
        return;
    }
    int i = mux_find(mux, fe->opaque);
    if (i >= 0) {
        mux->fes[i].fe = *fe;
    } else if (mux->count == MUX_MAX_FE) {
        g_warning("chardev '%s': a mux takes at most %d frontends", chr->id, MUX_MAX_FE);
        return;
    } else {
        mux->fes[mux->count] = (MuxFe){ .fe = *fe };
        if (++mux->count == 1) {
            mux->focus = 0;
            mux_fe_event(&mux->fes[0], CHR_EVENT_MUX_IN);
        }
    }
    chr_accept_input(mux->inner);
}

static void mux_accept_input(Chardev *chr)
{
    Mux *mux = chr->be;
    mux_flush(mux);
    chr_accept_input(mux->inner);
}

static Chardev *mux_inner(Chardev *chr) { return ((Mux *)chr->be)->inner; }

static void mux_close(Chardev *chr)
{
    Mux *mux = chr->be;
    chr_free(mux->inner);
    g_free(mux);
}

static const ChrOps mux_ops = {
    .kind = "mux", .close = mux_close, .set_frontend = mux_set_frontend,
    .detach_frontend = mux_detach, .accept_input = mux_accept_input, .inner = mux_inner,
};

/* Until the owner sets a hook (system/vl.c: shut the machine down), Ctrl-A x ends
 * the process as QEMU's does. */
static void mux_default_quit(void *opaque)
{
    exit(0);
}

Chardev *chr_mux_new(Chardev *inner)
{
    Chardev *chr = chr_alloc(&mux_ops, inner->id);
    Mux *mux = g_new0(Mux, 1);
    mux->self = chr;
    mux->inner = inner;
    mux->quit = mux_default_quit;
    chr->be = mux;
    chr->connected = inner->connected;
    g_autofree char *base = g_strdup_printf("%s-base", inner->id);
    g_free(inner->id);
    inner->id = g_steal_pointer(&base);
    g_autofree char *label = g_strdup_printf("mux:%s", chr_label(inner));
    chr_set_filename(chr, label, "mux");
    chr_set_frontend(inner, &(ChrFrontend){ .can_read = mux_can_read, .read = mux_read,
                                            .event = mux_event, .opaque = mux });
    return chr;
}

bool chr_is_mux(const Chardev *chr) { return chr->ops == &mux_ops; }

void chr_mux_focus(Chardev *chr, void *opaque)
{
    if (!chr_is_mux(chr))
        return;
    Mux *mux = chr->be;
    int i = mux_find(mux, opaque);
    if (i >= 0 && i != mux->focus)
        mux_set_focus(mux, i);
}

void chr_mux_set_quit_hook(Chardev *chr, ChrMuxQuitFn *fn, void *opaque)
{
    if (!chr_is_mux(chr))
        return;
    Mux *mux = chr->be;
    mux->quit = fn ? fn : mux_default_quit;
    mux->quit_opaque = opaque;
}
