/*
 * Graphical consoles (include/vireo/console.h): the surface a display device renders
 * into, its listeners, the refresh timer and damage fan-out.
 */
#include "ui/ui-internal.h"
#include "vireo/device.h"
#include "vireo/mainloop.h"
#include <string.h>

struct Console {
    Machine *m;
    Device *dev;
    unsigned head;
    pixman_image_t *surface;
    const ConsoleHwOps *hw;
    void *hw_opaque;
    GPtrArray *listeners;            /* DisplayListener * */
    Timer *timer;
    ConsoleCursor cursor;            /* data == NULL: no cursor */
};

UiState *ui_state(Machine *m)
{
    if (!m->ui) {
        m->ui = g_new0(UiState, 1);
        m->ui->consoles = g_ptr_array_new();
        m->ui->input_handlers = g_ptr_array_new();
        m->ui->vnc = g_ptr_array_new();
        m->ui->audiodevs = g_ptr_array_new_with_free_func(g_free);
    }
    return m->ui;
}

static pixman_image_t *surface_new(int w, int h)
{
    return pixman_image_create_bits(PIXMAN_x8r8g8b8, w, h, NULL, w * 4);
}

static void console_tick(void *opaque)
{
    Console *con = opaque;
    if (!con->listeners->len)
        return;
    console_refresh(con);
    timer_mod(con->timer, clock_ns(con->m->clock) + CONSOLE_REFRESH_NS);
}

Console *console_new(Machine *m, Device *dev, unsigned head, const ConsoleHwOps *hw,
                     void *opaque)
{
    Console *con = g_new0(Console, 1);
    con->m = m;
    con->dev = dev;
    con->head = head;
    con->hw = hw;
    con->hw_opaque = opaque;
    con->surface = surface_new(640, 480);
    con->listeners = g_ptr_array_new();
    con->timer = timer_new(m->clock, console_tick, con);
    g_ptr_array_add(ui_state(m)->consoles, con);
    return con;
}

void console_free(Console *con)
{
    if (!con)
        return;
    g_ptr_array_remove(ui_state(con->m)->consoles, con);
    timer_free(con->timer);
    pixman_image_unref(con->surface);
    g_ptr_array_free(con->listeners, TRUE);
    g_free(con->cursor.data);
    g_free(con);
}

void console_free_all(Machine *m)
{
    if (!m->ui)
        return;
    while (m->ui->consoles->len)
        console_free(m->ui->consoles->pdata[m->ui->consoles->len - 1]);
}

Console *console_get(Machine *m, unsigned index)
{
    UiState *ui = ui_state(m);
    return index < ui->consoles->len ? ui->consoles->pdata[index] : NULL;
}

Console *console_find(Machine *m, const char *dev_id, unsigned head)
{
    UiState *ui = ui_state(m);
    for (guint i = 0; i < ui->consoles->len; i++) {
        Console *c = ui->consoles->pdata[i];
        if (!dev_id)
            return c;
        if (c->dev && c->dev->id && !strcmp(c->dev->id, dev_id) && c->head == head)
            return c;
    }
    return NULL;
}

unsigned console_count(Machine *m) { return ui_state(m)->consoles->len; }
Device *console_device(Console *con) { return con->dev; }
unsigned console_head(Console *con) { return con->head; }
pixman_image_t *console_surface(Console *con) { return con->surface; }
int console_width(Console *con) { return pixman_image_get_width(con->surface); }
int console_height(Console *con) { return pixman_image_get_height(con->surface); }
uint32_t *console_data(Console *con) { return pixman_image_get_data(con->surface); }
int console_stride(Console *con) { return pixman_image_get_stride(con->surface); }

bool console_resize(Console *con, int w, int h)
{
    bool ok = true;
    if (w < 1 || h < 1 || w > CONSOLE_MAX_DIM || h > CONSOLE_MAX_DIM ||
        (uint64_t)w * h * 4 > CONSOLE_MAX_BYTES) {
        w = CLAMP(w, 1, CONSOLE_MAX_DIM);
        h = CLAMP(h, 1, MIN(CONSOLE_MAX_DIM, (int)(CONSOLE_MAX_BYTES / 4 / w)));
        ok = false;
    }
    if (w == console_width(con) && h == console_height(con))
        return ok;
    pixman_image_t *s = surface_new(w, h);
    if (!s)
        return false;
    pixman_image_unref(con->surface);
    con->surface = s;
    for (guint i = 0; i < con->listeners->len; i++) {
        DisplayListener *l = con->listeners->pdata[i];
        l->ops->resize(l);
    }
    return ok;
}

void console_damage(Console *con, int x, int y, int w, int h)
{
    int sw = console_width(con), sh = console_height(con);
    int x2 = MIN(x + w, sw), y2 = MIN(y + h, sh);
    x = MAX(x, 0);
    y = MAX(y, 0);
    if (x >= x2 || y >= y2)
        return;
    for (guint i = 0; i < con->listeners->len; i++) {
        DisplayListener *l = con->listeners->pdata[i];
        l->ops->update(l, x, y, x2 - x, y2 - y);
    }
}

void console_set_cursor(Console *con, const ConsoleCursor *c)
{
    g_free(con->cursor.data);
    memset(&con->cursor, 0, sizeof(con->cursor));
    if (c && c->width > 0 && c->height > 0 && c->width <= 256 && c->height <= 256) {
        con->cursor = *c;
        con->cursor.data = g_memdup2(c->data, (gsize)c->width * c->height * 4);
    }
    for (guint i = 0; i < con->listeners->len; i++) {
        DisplayListener *l = con->listeners->pdata[i];
        if (l->ops->cursor)
            l->ops->cursor(l);
    }
}

const ConsoleCursor *console_cursor(Console *con)
{
    return con->cursor.data ? &con->cursor : NULL;
}

void console_set_leds(Machine *m, unsigned leds)
{
    UiState *ui = ui_state(m);
    if (ui->leds == leds)
        return;
    ui->leds = leds;
    for (guint c = 0; c < ui->consoles->len; c++) {
        Console *con = ui->consoles->pdata[c];
        for (guint i = 0; i < con->listeners->len; i++) {
            DisplayListener *l = con->listeners->pdata[i];
            if (l->ops->leds)
                l->ops->leds(l, leds);
        }
    }
}

unsigned console_leds(Machine *m)
{
    return ui_state(m)->leds;
}

void console_refresh(Console *con)
{
    if (con->hw && con->hw->refresh)
        con->hw->refresh(con->hw_opaque);
    for (guint i = 0; i < con->listeners->len; i++) {
        DisplayListener *l = con->listeners->pdata[i];
        if (l->ops->refresh)
            l->ops->refresh(l);
    }
}

void console_invalidate(Console *con)
{
    if (con->hw && con->hw->invalidate)
        con->hw->invalidate(con->hw_opaque);
}

void console_add_listener(Console *con, DisplayListener *l)
{
    l->con = con;
    g_ptr_array_add(con->listeners, l);
    if (con->listeners->len == 1 && con->hw && con->hw->listening)
        con->hw->listening(con->hw_opaque, true);
    console_invalidate(con);
    if (!timer_pending(con->timer))
        timer_mod(con->timer, clock_ns(con->m->clock) + CONSOLE_REFRESH_NS);
}

void console_remove_listener(DisplayListener *l)
{
    if (!l->con)
        return;
    Console *con = l->con;
    l->con = NULL;
    if (g_ptr_array_remove(con->listeners, l) && !con->listeners->len) {
        timer_del(con->timer);
        if (con->hw && con->hw->listening)
            con->hw->listening(con->hw_opaque, false);
    }
}
