/*
 * Graphical consoles (ui/console.c): what a display device shows and what front-ends
 * (VNC clients, the SDL window, screendump) read.
 *
 * A Console owns a surface: a pixman image in PIXMAN_x8r8g8b8 (32 bits per pixel,
 * native byte order), the picture as the guest would see it on a monitor. The display
 * device renders guest video memory into it from its refresh() hook and reports every
 * changed rectangle with console_damage(); each DisplayListener hears of the damage,
 * of resizes (a new surface after a mode change), of cursor shape changes and of the
 * keyboard LEDs. Nothing is rendered while a console has no listener: the refresh
 * timer (30 ms, as QEMU's GUI_REFRESH_INTERVAL_DEFAULT) runs only while one is
 * registered, and screendump refreshes once on demand.
 *
 * Locking: everything here runs with the machine lock held (the main loop).
 */
#ifndef VIREO_CONSOLE_H
#define VIREO_CONSOLE_H

#include <stdbool.h>
#include <stdint.h>
#include <glib.h>
#include <pixman.h>
#include "vireo/error.h"

typedef struct Machine Machine;
typedef struct Device Device;
typedef struct Console Console;
typedef struct DisplayListener DisplayListener;

/* Largest surface a device may ask for (each side) and in bytes. */
#define CONSOLE_MAX_DIM     16384
#define CONSOLE_MAX_BYTES   (256u << 20)
#define CONSOLE_REFRESH_NS  (30 * 1000000LL)

typedef struct ConsoleHwOps {
    /* Brings the surface up to date with video memory; reports changes with
     * console_damage() and mode changes with console_resize(). */
    void (*refresh)(void *opaque);
    /* The next refresh must redraw everything (a new listener, a resize). */
    void (*invalidate)(void *opaque);
    /* The first listener arrived (@on) or the last one left: the refresh timer runs
     * from now on / no longer (a device may track changes only meanwhile). May be NULL. */
    void (*listening)(void *opaque, bool on);
} ConsoleHwOps;

typedef struct DisplayListenerOps {
    /* [x, x+w) x [y, y+h) of the surface changed (clipped to it, w, h > 0). */
    void (*update)(DisplayListener *l, int x, int y, int w, int h);
    /* The surface was replaced (new size); everything is to be redrawn. */
    void (*resize)(DisplayListener *l);
    /* After each refresh: the damage of this round is complete. May be NULL. */
    void (*refresh)(DisplayListener *l);
    /* The cursor shape (console_cursor()) changed. May be NULL. */
    void (*cursor)(DisplayListener *l);
    /* Keyboard LEDs changed (INPUT_LED_*). May be NULL. */
    void (*leds)(DisplayListener *l, unsigned leds);
} DisplayListenerOps;

struct DisplayListener {
    const DisplayListenerOps *ops;
    void *opaque;
    Console *con;                 /* set by console_add_listener */
};

/* A cursor image: ARGB32 (PIXMAN_a8r8g8b8), hot spot inside it. */
typedef struct ConsoleCursor {
    int width, height, hot_x, hot_y;
    uint32_t *data;               /* width * height pixels */
} ConsoleCursor;

/* Creates a console for head @head of @dev (NULL for none) on @m, with a 640x480
 * black surface; it is appended to the machine's console list (index = position). */
Console *console_new(Machine *m, Device *dev, unsigned head, const ConsoleHwOps *hw,
                     void *opaque);
/* Unregisters and frees @con (its listeners are told nothing: remove them first). */
void console_free(Console *con);
/* Frees every console of @m (machine teardown). */
void console_free_all(Machine *m);

/* The machine's console @index, or NULL. */
Console *console_get(Machine *m, unsigned index);
/* The first console of @dev's head @head (dev == NULL: the first console). */
Console *console_find(Machine *m, const char *dev_id, unsigned head);
unsigned console_count(Machine *m);
Device *console_device(Console *con);
unsigned console_head(Console *con);

/* The surface and its geometry. */
pixman_image_t *console_surface(Console *con);
int console_width(Console *con);
int console_height(Console *con);
uint32_t *console_data(Console *con);
int console_stride(Console *con);        /* bytes per row */

/* Replaces the surface by a black @w x @h one (clamped to 1..CONSOLE_MAX_DIM and
 * CONSOLE_MAX_BYTES; returns false when clamped) and tells the listeners. A no-op
 * when the size is unchanged. */
bool console_resize(Console *con, int w, int h);
/* Reports a changed rectangle (clipped to the surface). */
void console_damage(Console *con, int x, int y, int w, int h);
/* Sets (NULL: hides) the cursor shape; the console keeps a copy. */
void console_set_cursor(Console *con, const ConsoleCursor *c);
const ConsoleCursor *console_cursor(Console *con);
/* Keyboard LED state from the guest's keyboard (INPUT_LED_* bits). */
void console_set_leds(Machine *m, unsigned leds);
unsigned console_leds(Machine *m);

/* Runs the device's refresh now (screendump, tests, listeners' own timers). */
void console_refresh(Console *con);
/* Asks for a full redraw on the next refresh. */
void console_invalidate(Console *con);

void console_add_listener(Console *con, DisplayListener *l);
void console_remove_listener(DisplayListener *l);

/* Writes the surface of @con to @filename as PPM (P6) or PNG; errors name the file. */
bool console_write_ppm(Console *con, const char *filename, GError **errp);
bool console_write_png(Console *con, const char *filename, GError **errp);

#endif
