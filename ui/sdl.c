/*
 * The SDL window (-display sdl, SDL2), as QEMU's ui/sdl2.c behaves for a 2D console:
 * the first graphical console in a resizable window, scaled with its aspect ratio kept
 * (SDL_RenderSetLogicalSize), keys and mouse into the guest, QEMU's hot keys with the
 * grab modifier held (left Ctrl+Alt, or right Ctrl with grab-mod=rctrl): G toggles the
 * mouse grab, F full screen, U restores the guest's size; a click grabs a relative mouse
 * (never needed with an absolute pointer such as a tablet); closing the window is a
 * shutdown request from the UI, as QEMU's (unless window-close=off).
 *
 * It runs on the main loop: the console's refresh timer (30 ms, runs while a listener
 * is registered) pumps SDL's events and presents the frame when damage arrived.
 */
#include "vireo/sdl.h"
#include "vireo/console.h"
#include "vireo/input.h"
#include "vireo/runstate.h"
#include <SDL.h>
#include <dlfcn.h>

/* libSDL2 is opened when -display sdl asks for a window, not linked: it pulls in some 45
 * libraries (X11, Wayland, PulseAudio, audio codecs...), and loading them cost every start
 * of Vireo, libvirt's capability probes included (~0.5 s each in the nested sandbox). */
#define SDL_FUNCS(X) \
    X(SDL_CreateRenderer) X(SDL_CreateTexture) X(SDL_CreateWindow) X(SDL_DestroyRenderer) \
    X(SDL_DestroyTexture) X(SDL_DestroyWindow) X(SDL_GetError) X(SDL_InitSubSystem) \
    X(SDL_PollEvent) X(SDL_QuitSubSystem) X(SDL_RenderClear) X(SDL_RenderCopy) \
    X(SDL_RenderPresent) X(SDL_RenderSetLogicalSize) X(SDL_SetHint) \
    X(SDL_SetRelativeMouseMode) X(SDL_SetRenderDrawColor) X(SDL_SetWindowFullscreen) \
    X(SDL_SetWindowGrab) X(SDL_SetWindowSize) X(SDL_SetWindowTitle) X(SDL_UpdateTexture)

#define SDL_FN_FIELD(f) __typeof__(f) *f;
static struct { SDL_FUNCS(SDL_FN_FIELD) } sdl_fn;   /* the library's, once loaded */
static void *sdl_lib;                                /* process-wide: dlopen's handle */

static bool sdl_load(GError **errp)
{
    if (sdl_lib)
        return true;
    void *h = dlopen("libSDL2-2.0.so.0", RTLD_NOW | RTLD_LOCAL);
    if (!h) {
        g_set_error(errp, G_IO_ERROR, G_IO_ERROR_NOT_FOUND, "-display sdl: cannot load "
                    "libSDL2-2.0.so.0 (Debian's libsdl2-2.0-0): %s", dlerror());
        return false;
    }
#define SDL_FN_LOAD(f)                                                                 \
    if (!(*(void **)&sdl_fn.f = dlsym(h, #f))) {                                       \
        g_set_error(errp, G_IO_ERROR, G_IO_ERROR_NOT_FOUND,                            \
                    "-display sdl: libSDL2-2.0.so.0 has no %s", #f);                   \
        dlclose(h);                                                                    \
        return false;                                                                  \
    }
    SDL_FUNCS(SDL_FN_LOAD)
    sdl_lib = h;
    return true;
}

/* From here on every SDL call goes through the loaded table. */
#define SDL_CreateRenderer sdl_fn.SDL_CreateRenderer
#define SDL_CreateTexture sdl_fn.SDL_CreateTexture
#define SDL_CreateWindow sdl_fn.SDL_CreateWindow
#define SDL_DestroyRenderer sdl_fn.SDL_DestroyRenderer
#define SDL_DestroyTexture sdl_fn.SDL_DestroyTexture
#define SDL_DestroyWindow sdl_fn.SDL_DestroyWindow
#define SDL_GetError sdl_fn.SDL_GetError
#define SDL_InitSubSystem sdl_fn.SDL_InitSubSystem
#define SDL_PollEvent sdl_fn.SDL_PollEvent
#define SDL_QuitSubSystem sdl_fn.SDL_QuitSubSystem
#define SDL_RenderClear sdl_fn.SDL_RenderClear
#define SDL_RenderCopy sdl_fn.SDL_RenderCopy
#define SDL_RenderPresent sdl_fn.SDL_RenderPresent
#define SDL_RenderSetLogicalSize sdl_fn.SDL_RenderSetLogicalSize
#define SDL_SetHint sdl_fn.SDL_SetHint
#define SDL_SetRelativeMouseMode sdl_fn.SDL_SetRelativeMouseMode
#define SDL_SetRenderDrawColor sdl_fn.SDL_SetRenderDrawColor
#define SDL_SetWindowFullscreen sdl_fn.SDL_SetWindowFullscreen
#define SDL_SetWindowGrab sdl_fn.SDL_SetWindowGrab
#define SDL_SetWindowSize sdl_fn.SDL_SetWindowSize
#define SDL_SetWindowTitle sdl_fn.SDL_SetWindowTitle
#define SDL_UpdateTexture sdl_fn.SDL_UpdateTexture

typedef struct SdlUi {
    Machine *m;
    Console *con;
    DisplayListener dl;
    SDL_Window *win;
    SDL_Renderer *ren;
    SDL_Texture *tex;
    int tw, th;                 /* texture size (the surface's) */
    bool dirty;
    bool grab;                  /* mouse grabbed (relative mode) */
    bool full_screen;
    bool window_close;
    bool rctrl_mod;             /* grab-mod=rctrl */
    bool show_cursor;           /* show-cursor=on: the host cursor stays while grabbed */
    bool mods[4];               /* lctrl, lalt, rctrl held */
    SDL_Scancode hot_down;      /* a hot key's key, its release is not the guest's */
    unsigned buttons;
} SdlUi;

enum { MOD_LCTRL, MOD_LALT, MOD_RCTRL };

/* SDL scancodes (USB HID usages) to QEMU's key codes. */
static const struct { SDL_Scancode sc; QKeyCode q; } keytab[] = {
    { SDL_SCANCODE_A, Q_KEY_CODE_A }, { SDL_SCANCODE_B, Q_KEY_CODE_B },
    { SDL_SCANCODE_C, Q_KEY_CODE_C }, { SDL_SCANCODE_D, Q_KEY_CODE_D },
    { SDL_SCANCODE_E, Q_KEY_CODE_E }, { SDL_SCANCODE_F, Q_KEY_CODE_F },
    { SDL_SCANCODE_G, Q_KEY_CODE_G }, { SDL_SCANCODE_H, Q_KEY_CODE_H },
    { SDL_SCANCODE_I, Q_KEY_CODE_I }, { SDL_SCANCODE_J, Q_KEY_CODE_J },
    { SDL_SCANCODE_K, Q_KEY_CODE_K }, { SDL_SCANCODE_L, Q_KEY_CODE_L },
    { SDL_SCANCODE_M, Q_KEY_CODE_M }, { SDL_SCANCODE_N, Q_KEY_CODE_N },
    { SDL_SCANCODE_O, Q_KEY_CODE_O }, { SDL_SCANCODE_P, Q_KEY_CODE_P },
    { SDL_SCANCODE_Q, Q_KEY_CODE_Q }, { SDL_SCANCODE_R, Q_KEY_CODE_R },
    { SDL_SCANCODE_S, Q_KEY_CODE_S }, { SDL_SCANCODE_T, Q_KEY_CODE_T },
    { SDL_SCANCODE_U, Q_KEY_CODE_U }, { SDL_SCANCODE_V, Q_KEY_CODE_V },
    { SDL_SCANCODE_W, Q_KEY_CODE_W }, { SDL_SCANCODE_X, Q_KEY_CODE_X },
    { SDL_SCANCODE_Y, Q_KEY_CODE_Y }, { SDL_SCANCODE_Z, Q_KEY_CODE_Z },
    { SDL_SCANCODE_1, Q_KEY_CODE_1 }, { SDL_SCANCODE_2, Q_KEY_CODE_2 },
    { SDL_SCANCODE_3, Q_KEY_CODE_3 }, { SDL_SCANCODE_4, Q_KEY_CODE_4 },
    { SDL_SCANCODE_5, Q_KEY_CODE_5 }, { SDL_SCANCODE_6, Q_KEY_CODE_6 },
    { SDL_SCANCODE_7, Q_KEY_CODE_7 }, { SDL_SCANCODE_8, Q_KEY_CODE_8 },
    { SDL_SCANCODE_9, Q_KEY_CODE_9 }, { SDL_SCANCODE_0, Q_KEY_CODE_0 },
    { SDL_SCANCODE_RETURN, Q_KEY_CODE_RET }, { SDL_SCANCODE_ESCAPE, Q_KEY_CODE_ESC },
    { SDL_SCANCODE_BACKSPACE, Q_KEY_CODE_BACKSPACE }, { SDL_SCANCODE_TAB, Q_KEY_CODE_TAB },
    { SDL_SCANCODE_SPACE, Q_KEY_CODE_SPC }, { SDL_SCANCODE_MINUS, Q_KEY_CODE_MINUS },
    { SDL_SCANCODE_EQUALS, Q_KEY_CODE_EQUAL },
    { SDL_SCANCODE_LEFTBRACKET, Q_KEY_CODE_BRACKET_LEFT },
    { SDL_SCANCODE_RIGHTBRACKET, Q_KEY_CODE_BRACKET_RIGHT },
    { SDL_SCANCODE_BACKSLASH, Q_KEY_CODE_BACKSLASH },
    { SDL_SCANCODE_NONUSHASH, Q_KEY_CODE_BACKSLASH },
    { SDL_SCANCODE_SEMICOLON, Q_KEY_CODE_SEMICOLON },
    { SDL_SCANCODE_APOSTROPHE, Q_KEY_CODE_APOSTROPHE },
    { SDL_SCANCODE_GRAVE, Q_KEY_CODE_GRAVE_ACCENT }, { SDL_SCANCODE_COMMA, Q_KEY_CODE_COMMA },
    { SDL_SCANCODE_PERIOD, Q_KEY_CODE_DOT }, { SDL_SCANCODE_SLASH, Q_KEY_CODE_SLASH },
    { SDL_SCANCODE_CAPSLOCK, Q_KEY_CODE_CAPS_LOCK },
    { SDL_SCANCODE_F1, Q_KEY_CODE_F1 }, { SDL_SCANCODE_F2, Q_KEY_CODE_F2 },
    { SDL_SCANCODE_F3, Q_KEY_CODE_F3 }, { SDL_SCANCODE_F4, Q_KEY_CODE_F4 },
    { SDL_SCANCODE_F5, Q_KEY_CODE_F5 }, { SDL_SCANCODE_F6, Q_KEY_CODE_F6 },
    { SDL_SCANCODE_F7, Q_KEY_CODE_F7 }, { SDL_SCANCODE_F8, Q_KEY_CODE_F8 },
    { SDL_SCANCODE_F9, Q_KEY_CODE_F9 }, { SDL_SCANCODE_F10, Q_KEY_CODE_F10 },
    { SDL_SCANCODE_F11, Q_KEY_CODE_F11 }, { SDL_SCANCODE_F12, Q_KEY_CODE_F12 },
    { SDL_SCANCODE_PRINTSCREEN, Q_KEY_CODE_PRINT },
    { SDL_SCANCODE_SCROLLLOCK, Q_KEY_CODE_SCROLL_LOCK },
    { SDL_SCANCODE_PAUSE, Q_KEY_CODE_PAUSE }, { SDL_SCANCODE_INSERT, Q_KEY_CODE_INSERT },
    { SDL_SCANCODE_HOME, Q_KEY_CODE_HOME }, { SDL_SCANCODE_PAGEUP, Q_KEY_CODE_PGUP },
    { SDL_SCANCODE_DELETE, Q_KEY_CODE_DELETE }, { SDL_SCANCODE_END, Q_KEY_CODE_END },
    { SDL_SCANCODE_PAGEDOWN, Q_KEY_CODE_PGDN }, { SDL_SCANCODE_RIGHT, Q_KEY_CODE_RIGHT },
    { SDL_SCANCODE_LEFT, Q_KEY_CODE_LEFT }, { SDL_SCANCODE_DOWN, Q_KEY_CODE_DOWN },
    { SDL_SCANCODE_UP, Q_KEY_CODE_UP }, { SDL_SCANCODE_NUMLOCKCLEAR, Q_KEY_CODE_NUM_LOCK },
    { SDL_SCANCODE_KP_DIVIDE, Q_KEY_CODE_KP_DIVIDE },
    { SDL_SCANCODE_KP_MULTIPLY, Q_KEY_CODE_KP_MULTIPLY },
    { SDL_SCANCODE_KP_MINUS, Q_KEY_CODE_KP_SUBTRACT },
    { SDL_SCANCODE_KP_PLUS, Q_KEY_CODE_KP_ADD }, { SDL_SCANCODE_KP_ENTER, Q_KEY_CODE_KP_ENTER },
    { SDL_SCANCODE_KP_1, Q_KEY_CODE_KP_1 }, { SDL_SCANCODE_KP_2, Q_KEY_CODE_KP_2 },
    { SDL_SCANCODE_KP_3, Q_KEY_CODE_KP_3 }, { SDL_SCANCODE_KP_4, Q_KEY_CODE_KP_4 },
    { SDL_SCANCODE_KP_5, Q_KEY_CODE_KP_5 }, { SDL_SCANCODE_KP_6, Q_KEY_CODE_KP_6 },
    { SDL_SCANCODE_KP_7, Q_KEY_CODE_KP_7 }, { SDL_SCANCODE_KP_8, Q_KEY_CODE_KP_8 },
    { SDL_SCANCODE_KP_9, Q_KEY_CODE_KP_9 }, { SDL_SCANCODE_KP_0, Q_KEY_CODE_KP_0 },
    { SDL_SCANCODE_KP_PERIOD, Q_KEY_CODE_KP_DECIMAL },
    { SDL_SCANCODE_NONUSBACKSLASH, Q_KEY_CODE_LESS },
    { SDL_SCANCODE_APPLICATION, Q_KEY_CODE_MENU }, { SDL_SCANCODE_POWER, Q_KEY_CODE_POWER },
    { SDL_SCANCODE_KP_EQUALS, Q_KEY_CODE_KP_EQUALS },
    { SDL_SCANCODE_KP_COMMA, Q_KEY_CODE_KP_COMMA },
    { SDL_SCANCODE_SYSREQ, Q_KEY_CODE_SYSRQ },
    { SDL_SCANCODE_LCTRL, Q_KEY_CODE_CTRL }, { SDL_SCANCODE_LSHIFT, Q_KEY_CODE_SHIFT },
    { SDL_SCANCODE_LALT, Q_KEY_CODE_ALT }, { SDL_SCANCODE_LGUI, Q_KEY_CODE_META_L },
    { SDL_SCANCODE_RCTRL, Q_KEY_CODE_CTRL_R }, { SDL_SCANCODE_RSHIFT, Q_KEY_CODE_SHIFT_R },
    { SDL_SCANCODE_RALT, Q_KEY_CODE_ALT_R }, { SDL_SCANCODE_RGUI, Q_KEY_CODE_META_R },
    { SDL_SCANCODE_INTERNATIONAL1, Q_KEY_CODE_RO },
    { SDL_SCANCODE_INTERNATIONAL3, Q_KEY_CODE_YEN },
    { SDL_SCANCODE_MUTE, Q_KEY_CODE_AUDIOMUTE },
    { SDL_SCANCODE_VOLUMEUP, Q_KEY_CODE_VOLUMEUP },
    { SDL_SCANCODE_VOLUMEDOWN, Q_KEY_CODE_VOLUMEDOWN },
};

QKeyCode sdl_scancode_to_qcode(int sc)
{
    for (size_t i = 0; i < G_N_ELEMENTS(keytab); i++)
        if ((int)keytab[i].sc == sc)
            return keytab[i].q;
    return Q_KEY_CODE_UNMAPPED;
}

static void set_title(SdlUi *s)
{
    const char *mod = s->rctrl_mod ? "Right-Ctrl" : "Ctrl-Alt";
    g_autofree char *t = s->grab
        ? g_strdup_printf("Vireo - Press %s-G to exit grab", mod) : g_strdup("Vireo");
    SDL_SetWindowTitle(s->win, t);
}

static void set_grab(SdlUi *s, bool on)
{
    s->grab = on;
    SDL_SetWindowGrab(s->win, on);
    /* Relative mode hides the host cursor; with show-cursor=on the window grab alone
     * confines it and SDL still reports relative motion. */
    SDL_SetRelativeMouseMode(on && !s->show_cursor);
    set_title(s);
}

static bool new_texture(SdlUi *s)
{
    int w = console_width(s->con), h = console_height(s->con);

    if (s->tex)
        SDL_DestroyTexture(s->tex);
    s->tex = SDL_CreateTexture(s->ren, SDL_PIXELFORMAT_ARGB8888, SDL_TEXTUREACCESS_STREAMING,
                               w, h);
    if (!s->tex)
        return false;
    s->tw = w, s->th = h;
    SDL_RenderSetLogicalSize(s->ren, w, h);
    SDL_UpdateTexture(s->tex, NULL, console_data(s->con), console_stride(s->con));
    s->dirty = true;
    return true;
}

static void dl_update(DisplayListener *l, int x, int y, int w, int h)
{
    SdlUi *s = l->opaque;
    SDL_Rect r = { x, y, w, h };
    const uint8_t *p = (const uint8_t *)console_data(s->con) +
                       (size_t)y * console_stride(s->con) + (size_t)x * 4;

    if (!s->tex || x + w > s->tw || y + h > s->th)
        return;
    SDL_UpdateTexture(s->tex, &r, p, console_stride(s->con));
    s->dirty = true;
}

static void dl_resize(DisplayListener *l)
{
    SdlUi *s = l->opaque;

    if (!new_texture(s))
        g_warning("-display sdl: no texture for %dx%d: %s", console_width(s->con),
                  console_height(s->con), SDL_GetError());
    else if (!s->full_screen)
        SDL_SetWindowSize(s->win, s->tw, s->th);
}

static void send_buttons(SdlUi *s, int x, int y, bool have_pos)
{
    InputPointer p = { .buttons = s->buttons };

    if (input_is_absolute(s->m) && have_pos && s->tw > 1 && s->th > 1) {
        p.abs = true;
        p.x = (int)((int64_t)CLAMP(x, 0, s->tw - 1) * INPUT_ABS_MAX / (s->tw - 1));
        p.y = (int)((int64_t)CLAMP(y, 0, s->th - 1) * INPUT_ABS_MAX / (s->th - 1));
    }
    input_pointer(s->m, &p);
}

/* Full screen as QEMU's SDL asks for it: the desktop's mode, through the window
 * manager (without one, as under a bare Xvfb, the request has no effect). */
static void set_full_screen(SdlUi *s, bool on)
{
    s->full_screen = on;
    SDL_SetWindowFullscreen(s->win, on ? SDL_WINDOW_FULLSCREEN_DESKTOP : 0);
    if (!on)
        SDL_SetWindowSize(s->win, s->tw, s->th);
    s->dirty = true;
}

static bool hotkey(SdlUi *s, SDL_Scancode sc)
{
    switch (sc) {
    case SDL_SCANCODE_G:
        set_grab(s, !s->grab);
        return true;
    case SDL_SCANCODE_F:
        set_full_screen(s, !s->full_screen);
        return true;
    case SDL_SCANCODE_U:
        if (!s->full_screen)
            SDL_SetWindowSize(s->win, s->tw, s->th);
        return true;
    default:
        return false;
    }
}

static void key_event(SdlUi *s, const SDL_KeyboardEvent *ev)
{
    bool down = ev->type == SDL_KEYDOWN;
    SDL_Scancode sc = ev->keysym.scancode;

    if (sc == SDL_SCANCODE_LCTRL) s->mods[MOD_LCTRL] = down;
    if (sc == SDL_SCANCODE_LALT) s->mods[MOD_LALT] = down;
    if (sc == SDL_SCANCODE_RCTRL) s->mods[MOD_RCTRL] = down;
    bool mod = s->rctrl_mod ? s->mods[MOD_RCTRL] : s->mods[MOD_LCTRL] && s->mods[MOD_LALT];
    if (mod && down && hotkey(s, sc)) {
        s->hot_down = sc;
        return;
    }
    if (!down && s->hot_down == sc && sc != SDL_SCANCODE_UNKNOWN) {
        s->hot_down = SDL_SCANCODE_UNKNOWN;
        return;
    }
    if (ev->repeat && !down)
        return;
    QKeyCode q = sdl_scancode_to_qcode(sc);
    if (q != Q_KEY_CODE_UNMAPPED)
        input_key(s->m, q, down);
}

static unsigned sdl_button(uint8_t b)
{
    switch (b) {
    case SDL_BUTTON_LEFT: return 1u << INPUT_BUTTON_LEFT;
    case SDL_BUTTON_MIDDLE: return 1u << INPUT_BUTTON_MIDDLE;
    case SDL_BUTTON_RIGHT: return 1u << INPUT_BUTTON_RIGHT;
    case SDL_BUTTON_X1: return 1u << INPUT_BUTTON_SIDE;
    case SDL_BUTTON_X2: return 1u << INPUT_BUTTON_EXTRA;
    default: return 0;
    }
}

static void handle_event(SdlUi *s, const SDL_Event *ev)
{
    switch (ev->type) {
    case SDL_KEYDOWN:
    case SDL_KEYUP:
        key_event(s, &ev->key);
        break;
    case SDL_MOUSEMOTION:
        if (input_is_absolute(s->m)) {
            send_buttons(s, ev->motion.x, ev->motion.y, true);
        } else if (s->grab) {
            InputPointer p = { .x = ev->motion.xrel, .y = ev->motion.yrel,
                               .buttons = s->buttons };
            input_pointer(s->m, &p);
        }
        break;
    case SDL_MOUSEBUTTONDOWN:
    case SDL_MOUSEBUTTONUP:
        if (!input_is_absolute(s->m) && !s->grab) {
            /* As QEMU: a left click into the window grabs a relative mouse. */
            if (ev->type == SDL_MOUSEBUTTONUP && ev->button.button == SDL_BUTTON_LEFT)
                set_grab(s, true);
            break;
        }
        if (ev->type == SDL_MOUSEBUTTONDOWN)
            s->buttons |= sdl_button(ev->button.button);
        else
            s->buttons &= ~sdl_button(ev->button.button);
        send_buttons(s, ev->button.x, ev->button.y, true);
        break;
    case SDL_MOUSEWHEEL: {
        unsigned b = ev->wheel.y > 0 ? 1u << INPUT_BUTTON_WHEEL_UP
                   : ev->wheel.y < 0 ? 1u << INPUT_BUTTON_WHEEL_DOWN : 0;
        if (!b || (!input_is_absolute(s->m) && !s->grab))
            break;
        InputPointer p = { .buttons = s->buttons | b };
        input_pointer(s->m, &p);
        p.buttons = s->buttons;
        input_pointer(s->m, &p);
        break;
    }
    case SDL_WINDOWEVENT:
        if (ev->window.event == SDL_WINDOWEVENT_CLOSE && s->window_close)
            vm_request_shutdown(s->m, SHUTDOWN_CAUSE_HOST_UI);
        else if (ev->window.event == SDL_WINDOWEVENT_FOCUS_LOST && s->grab)
            set_grab(s, false);
        s->dirty = true;        /* exposed, resized, ...: present again */
        break;
    case SDL_QUIT:
        if (s->window_close)
            vm_request_shutdown(s->m, SHUTDOWN_CAUSE_HOST_UI);
        break;
    }
}

/* After each console refresh (30 ms): SDL's events, then the frame if it changed. A
 * bounded number of events per round keeps the main loop responsive. */
static void dl_refresh(DisplayListener *l)
{
    SdlUi *s = l->opaque;
    SDL_Event ev;

    for (int i = 0; i < 256 && SDL_PollEvent(&ev); i++)
        handle_event(s, &ev);
    if (!s->dirty || !s->tex)
        return;
    SDL_SetRenderDrawColor(s->ren, 0, 0, 0, 255);
    SDL_RenderClear(s->ren);
    SDL_RenderCopy(s->ren, s->tex, NULL, NULL);
    SDL_RenderPresent(s->ren);
    s->dirty = false;
}

static const DisplayListenerOps sdl_dl_ops = {
    .update = dl_update,
    .resize = dl_resize,
    .refresh = dl_refresh,
};

static SdlUi *the_ui;

bool sdl_display_init(Machine *m, const SdlOptions *o, GError **errp)
{
    Console *con = console_get(m, 0);
    SdlUi *s;

    if (!con) {
        g_set_error(errp, G_IO_ERROR, G_IO_ERROR_NOT_FOUND,
                    "-display sdl: the machine has no graphical console (-vga none?)");
        return false;
    }
    if (!sdl_load(errp))
        return false;
    SDL_SetHint(SDL_HINT_NO_SIGNAL_HANDLERS, "1");     /* SIGINT/SIGTERM stay ours */
    SDL_SetHint(SDL_HINT_VIDEO_X11_NET_WM_BYPASS_COMPOSITOR, "0");
    if (SDL_InitSubSystem(SDL_INIT_VIDEO) != 0) {
        g_set_error(errp, G_IO_ERROR, G_IO_ERROR_FAILED, "-display sdl: cannot open a "
                    "window: %s (no X11 or Wayland display? -vnc :N works without one)",
                    SDL_GetError());
        return false;
    }
    s = g_new0(SdlUi, 1);
    s->m = m;
    s->con = con;
    s->full_screen = o->full_screen;
    s->window_close = o->window_close;
    s->rctrl_mod = o->grab_mod && !strcmp(o->grab_mod, "rctrl");
    s->show_cursor = o->show_cursor;
    s->win = SDL_CreateWindow("Vireo", SDL_WINDOWPOS_UNDEFINED, SDL_WINDOWPOS_UNDEFINED,
                              console_width(con), console_height(con), SDL_WINDOW_RESIZABLE);
    s->ren = s->win ? SDL_CreateRenderer(s->win, -1, 0) : NULL;
    if (!s->ren || !new_texture(s)) {
        g_set_error(errp, G_IO_ERROR, G_IO_ERROR_FAILED, "-display sdl: cannot create the "
                    "window: %s", SDL_GetError());
        if (s->ren)
            SDL_DestroyRenderer(s->ren);
        if (s->win)
            SDL_DestroyWindow(s->win);
        SDL_QuitSubSystem(SDL_INIT_VIDEO);
        g_free(s);
        return false;
    }
    if (s->full_screen)
        set_full_screen(s, true);
    s->dl = (DisplayListener){ .ops = &sdl_dl_ops, .opaque = s };
    console_add_listener(con, &s->dl);
    the_ui = s;
    return true;
}

void sdl_display_cleanup(Machine *m)
{
    SdlUi *s = the_ui;

    if (!s || s->m != m)
        return;
    console_remove_listener(&s->dl);
    if (s->tex)
        SDL_DestroyTexture(s->tex);
    SDL_DestroyRenderer(s->ren);
    SDL_DestroyWindow(s->win);
    SDL_QuitSubSystem(SDL_INIT_VIDEO);
    g_free(s);
    the_ui = NULL;
}
