/*
 * The SDL window (ui/sdl.c): -display sdl[,full-screen=][,window-close=][,grab-mod=]
 * [,show-cursor=] and -full-screen. See docs/display.md. Machine lock held.
 */
#ifndef VIREO_SDL_H
#define VIREO_SDL_H

#include <stdbool.h>
#include <glib.h>
#include "vireo/input.h"
#include "vireo/machine.h"

typedef struct SdlOptions {
    bool full_screen;
    bool window_close;          /* closing the window asks the VM to shut down */
    bool show_cursor;
    const char *grab_mod;       /* NULL (left Ctrl+Alt) or "rctrl" */
} SdlOptions;

/* Opens the window on the machine's first console; false (errp names -display sdl) when
 * there is no display server or no console. */
bool sdl_display_init(Machine *m, const SdlOptions *o, GError **errp);
/* Closes the window (before the consoles are freed). */
void sdl_display_cleanup(Machine *m);
/* An SDL scancode (USB HID usage) as QEMU's key code, or Q_KEY_CODE_UNMAPPED. */
QKeyCode sdl_scancode_to_qcode(int scancode);

#endif
