/*
 * State of the ui/ layer that hangs off the machine (m->ui): consoles, input handlers,
 * front-ends. Private to ui/.
 */
#ifndef UI_INTERNAL_H
#define UI_INTERNAL_H

#include "vireo/console.h"
#include "vireo/input.h"
#include "vireo/machine.h"
#include "vireo/mainloop.h"

typedef struct UiState {
    GPtrArray *consoles;          /* Console *, index order */
    GPtrArray *input_handlers;    /* InputHandler *, registration order */
    unsigned leds;
    int abs_x, abs_y;             /* last absolute position (for rel conversion) */
    int ptr_x, ptr_y;             /* input-send-event's absolute position */
    unsigned buttons;             /* input-send-event's buttons held */
    bool abs_valid;
    GPtrArray *vnc;               /* VncDisplay * (ui/vnc.c) */
    GPtrArray *audiodevs;         /* ids of -audiodev backends (all 'none'), for -vnc audiodev= */
    void *sdl;                    /* SdlDisplay * (ui/sdl.c) */
    GQueue keyq;                  /* QueuedKey: send-key events behind a hold time */
    Timer *keyq_timer;
} UiState;

/* m->ui, created on first use. */
UiState *ui_state(Machine *m);

#endif
