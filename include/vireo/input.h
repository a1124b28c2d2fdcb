/*
 * Keyboard and pointer input (ui/input.c): front-ends (VNC, SDL, QMP send-key and
 * input-send-event) produce events in QEMU's terms — key codes as QKeyCode ("qcodes"),
 * pointer moves relative or absolute (0..INPUT_ABS_MAX on each axis), buttons — and the
 * machine's input devices (i8042 keyboard and mouse, virtio-input) register handlers.
 *
 * Routing as QEMU's qemu_input_*: keys go to the most recently registered ready
 * keyboard; an absolute move goes to the most recent ready absolute device (a tablet),
 * or, when there is none, becomes a relative move for the most recent relative mouse.
 * Locking: machine lock held.
 */
#ifndef VIREO_INPUT_H
#define VIREO_INPUT_H

#include <stdbool.h>
#include <stdint.h>
#include <glib.h>

typedef struct Machine Machine;

/* QEMU 7.2's QKeyCode (qapi/ui.json), in its order; the schema's enum is this one. */
typedef enum QKeyCode {
    Q_KEY_CODE_UNMAPPED, Q_KEY_CODE_SHIFT, Q_KEY_CODE_SHIFT_R, Q_KEY_CODE_ALT,
    Q_KEY_CODE_ALT_R, Q_KEY_CODE_CTRL, Q_KEY_CODE_CTRL_R, Q_KEY_CODE_MENU, Q_KEY_CODE_ESC,
    Q_KEY_CODE_1, Q_KEY_CODE_2, Q_KEY_CODE_3, Q_KEY_CODE_4, Q_KEY_CODE_5, Q_KEY_CODE_6,
    Q_KEY_CODE_7, Q_KEY_CODE_8, Q_KEY_CODE_9, Q_KEY_CODE_0, Q_KEY_CODE_MINUS,
    Q_KEY_CODE_EQUAL, Q_KEY_CODE_BACKSPACE, Q_KEY_CODE_TAB, Q_KEY_CODE_Q, Q_KEY_CODE_W,
    Q_KEY_CODE_E, Q_KEY_CODE_R, Q_KEY_CODE_T, Q_KEY_CODE_Y, Q_KEY_CODE_U, Q_KEY_CODE_I,
    Q_KEY_CODE_O, Q_KEY_CODE_P, Q_KEY_CODE_BRACKET_LEFT, Q_KEY_CODE_BRACKET_RIGHT,
    Q_KEY_CODE_RET, Q_KEY_CODE_A, Q_KEY_CODE_S, Q_KEY_CODE_D, Q_KEY_CODE_F, Q_KEY_CODE_G,
    Q_KEY_CODE_H, Q_KEY_CODE_J, Q_KEY_CODE_K, Q_KEY_CODE_L, Q_KEY_CODE_SEMICOLON,
    Q_KEY_CODE_APOSTROPHE, Q_KEY_CODE_GRAVE_ACCENT, Q_KEY_CODE_BACKSLASH, Q_KEY_CODE_Z,
    Q_KEY_CODE_X, Q_KEY_CODE_C, Q_KEY_CODE_V, Q_KEY_CODE_B, Q_KEY_CODE_N, Q_KEY_CODE_M,
    Q_KEY_CODE_COMMA, Q_KEY_CODE_DOT, Q_KEY_CODE_SLASH, Q_KEY_CODE_ASTERISK,
    Q_KEY_CODE_SPC, Q_KEY_CODE_CAPS_LOCK, Q_KEY_CODE_F1, Q_KEY_CODE_F2, Q_KEY_CODE_F3,
    Q_KEY_CODE_F4, Q_KEY_CODE_F5, Q_KEY_CODE_F6, Q_KEY_CODE_F7, Q_KEY_CODE_F8,
    Q_KEY_CODE_F9, Q_KEY_CODE_F10, Q_KEY_CODE_NUM_LOCK, Q_KEY_CODE_SCROLL_LOCK,
    Q_KEY_CODE_KP_DIVIDE, Q_KEY_CODE_KP_MULTIPLY, Q_KEY_CODE_KP_SUBTRACT,
    Q_KEY_CODE_KP_ADD, Q_KEY_CODE_KP_ENTER, Q_KEY_CODE_KP_DECIMAL, Q_KEY_CODE_SYSRQ,
    Q_KEY_CODE_KP_0, Q_KEY_CODE_KP_1, Q_KEY_CODE_KP_2, Q_KEY_CODE_KP_3, Q_KEY_CODE_KP_4,
    Q_KEY_CODE_KP_5, Q_KEY_CODE_KP_6, Q_KEY_CODE_KP_7, Q_KEY_CODE_KP_8, Q_KEY_CODE_KP_9,
    Q_KEY_CODE_LESS, Q_KEY_CODE_F11, Q_KEY_CODE_F12, Q_KEY_CODE_PRINT, Q_KEY_CODE_HOME,
    Q_KEY_CODE_PGUP, Q_KEY_CODE_PGDN, Q_KEY_CODE_END, Q_KEY_CODE_LEFT, Q_KEY_CODE_UP,
    Q_KEY_CODE_DOWN, Q_KEY_CODE_RIGHT, Q_KEY_CODE_INSERT, Q_KEY_CODE_DELETE,
    Q_KEY_CODE_STOP, Q_KEY_CODE_AGAIN, Q_KEY_CODE_PROPS, Q_KEY_CODE_UNDO,
    Q_KEY_CODE_FRONT, Q_KEY_CODE_COPY, Q_KEY_CODE_OPEN, Q_KEY_CODE_PASTE, Q_KEY_CODE_FIND,
    Q_KEY_CODE_CUT, Q_KEY_CODE_LF, Q_KEY_CODE_HELP, Q_KEY_CODE_META_L, Q_KEY_CODE_META_R,
    Q_KEY_CODE_COMPOSE, Q_KEY_CODE_PAUSE, Q_KEY_CODE_RO, Q_KEY_CODE_HIRAGANA,
    Q_KEY_CODE_HENKAN, Q_KEY_CODE_YEN, Q_KEY_CODE_MUHENKAN, Q_KEY_CODE_KATAKANAHIRAGANA,
    Q_KEY_CODE_KP_COMMA, Q_KEY_CODE_KP_EQUALS, Q_KEY_CODE_POWER, Q_KEY_CODE_SLEEP,
    Q_KEY_CODE_WAKE, Q_KEY_CODE_AUDIONEXT, Q_KEY_CODE_AUDIOPREV, Q_KEY_CODE_AUDIOSTOP,
    Q_KEY_CODE_AUDIOPLAY, Q_KEY_CODE_AUDIOMUTE, Q_KEY_CODE_VOLUMEUP,
    Q_KEY_CODE_VOLUMEDOWN, Q_KEY_CODE_MEDIASELECT, Q_KEY_CODE_MAIL,
    Q_KEY_CODE_CALCULATOR, Q_KEY_CODE_COMPUTER, Q_KEY_CODE_AC_HOME, Q_KEY_CODE_AC_BACK,
    Q_KEY_CODE_AC_FORWARD, Q_KEY_CODE_AC_REFRESH, Q_KEY_CODE_AC_BOOKMARKS,
    Q_KEY_CODE_LANG1, Q_KEY_CODE_LANG2,
    Q_KEY_CODE__MAX
} QKeyCode;

/* QEMU 7.2's InputButton order. */
typedef enum InputButton {
    INPUT_BUTTON_LEFT, INPUT_BUTTON_MIDDLE, INPUT_BUTTON_RIGHT, INPUT_BUTTON_WHEEL_UP,
    INPUT_BUTTON_WHEEL_DOWN, INPUT_BUTTON_SIDE, INPUT_BUTTON_EXTRA,
    INPUT_BUTTON__MAX
} InputButton;

#define INPUT_ABS_MAX 0x7fff          /* absolute axis range 0..0x7fff, as QEMU's */

#define INPUT_MASK_KEY  0x1
#define INPUT_MASK_REL  0x2           /* relative pointer (mouse) with buttons */
#define INPUT_MASK_ABS  0x4           /* absolute pointer (tablet) with buttons */

#define INPUT_LED_SCROLL 0x1
#define INPUT_LED_NUM    0x2
#define INPUT_LED_CAPS   0x4

/* One pointer report: buttons held (1 << InputButton; the wheel bits are presses),
 * and either a relative move (dx, dy) or an absolute position (x, y). */
typedef struct InputPointer {
    bool abs;
    int x, y;                          /* dx, dy when !abs */
    unsigned buttons;
} InputPointer;

typedef struct InputHandler {
    const char *name;                  /* "QEMU PS/2 Mouse", for query-mice */
    unsigned mask;
    void (*key)(void *opaque, QKeyCode key, bool down);
    void (*pointer)(void *opaque, const InputPointer *p);
    bool (*ready)(void *opaque);       /* may be NULL: always ready */
    void *opaque;
    unsigned index;                    /* set at registration */
} InputHandler;

void input_register(Machine *m, InputHandler *h);
void input_unregister(Machine *m, InputHandler *h);

/* Events from front-ends. */
void input_key(Machine *m, QKeyCode key, bool down);
/* A key given as QEMU's "number" (XT set 1, 0x80 for the 0xE0 prefix). */
void input_key_number(Machine *m, unsigned qnum, bool down);
void input_pointer(Machine *m, const InputPointer *p);
/* Queued key events, delivered in order after earlier delays (send-key's hold time);
 * false when the queue is full (4096 entries). */
bool input_queue_key(Machine *m, QKeyCode key, bool down);
bool input_queue_delay(Machine *m, unsigned ms);
/* Frees the ui/ state of @m (consoles left, queued keys); from machine_free(). */
void ui_free(Machine *m);
/* Whether an absolute device is ready (front-ends then send positions). */
bool input_is_absolute(Machine *m);
/* For query-mice: calls @fn for every pointer handler, with whether it is current. */
void input_foreach_mouse(Machine *m, void (*fn)(InputHandler *h, bool current,
                                                void *opaque), void *opaque);

/* Key code tables (ui/keymap.c). */
/* XT number (QEMU's qnum) of @key, 0 if none. */
unsigned qcode_to_qnum(QKeyCode key);
QKeyCode qnum_to_qcode(unsigned qnum);
/* Linux evdev code (KEY_*) of @key, 0 if none. */
unsigned qcode_to_linux(QKeyCode key);
/* An X11 keysym (RFB KeyEvent) on a US layout; Q_KEY_CODE_UNMAPPED if unknown. */
QKeyCode keysym_to_qcode(uint32_t keysym);
/* The QMP name of @key ("shift_r") and back (Q_KEY_CODE__MAX if unknown). */
const char *qcode_name(QKeyCode key);
QKeyCode qcode_from_name(const char *name);

#endif
