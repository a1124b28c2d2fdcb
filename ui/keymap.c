/*
 * Key code tables: QEMU's QKeyCode ("qcode") names, its XT numbers ("qnum": IBM XT /
 * PS/2 scan code set 1 make codes, 0x80 added for keys with the 0xE0 prefix, as QEMU's
 * send-key "number" and the RFB QEMU Extended Key Event use them) and Linux evdev codes
 * (linux/input-event-codes.h, for virtio-input). Keysyms (X11 keysymdef.h, what RFB
 * KeyEvents carry) are mapped for a US layout: the client sends Shift itself.
 */
#include "vireo/input.h"
#include <string.h>

typedef struct KeyInfo {
    const char *name;
    uint16_t qnum, evdev;
} KeyInfo;

static const KeyInfo keys[Q_KEY_CODE__MAX] = {
    { "unmapped", 0, 0 },
    { "shift", 0x2a, 42 },
    { "shift_r", 0x36, 54 },
    { "alt", 0x38, 56 },
    { "alt_r", 0xb8, 100 },
    { "ctrl", 0x1d, 29 },
    { "ctrl_r", 0x9d, 97 },
    { "menu", 0xdd, 127 },
    { "esc", 0x01, 1 },
    { "1", 0x02, 2 },
    { "2", 0x03, 3 },
    { "3", 0x04, 4 },
    { "4", 0x05, 5 },
    { "5", 0x06, 6 },
    { "6", 0x07, 7 },
    { "7", 0x08, 8 },
    { "8", 0x09, 9 },
    { "9", 0x0a, 10 },
    { "0", 0x0b, 11 },
    { "minus", 0x0c, 12 },
    { "equal", 0x0d, 13 },
    { "backspace", 0x0e, 14 },
    { "tab", 0x0f, 15 },
    { "q", 0x10, 16 },
    { "w", 0x11, 17 },
    { "e", 0x12, 18 },
    { "r", 0x13, 19 },
    { "t", 0x14, 20 },
    { "y", 0x15, 21 },
    { "u", 0x16, 22 },
    { "i", 0x17, 23 },
    { "o", 0x18, 24 },
    { "p", 0x19, 25 },
    { "bracket_left", 0x1a, 26 },
    { "bracket_right", 0x1b, 27 },
    { "ret", 0x1c, 28 },
    { "a", 0x1e, 30 },
    { "s", 0x1f, 31 },
    { "d", 0x20, 32 },
    { "f", 0x21, 33 },
    { "g", 0x22, 34 },
    { "h", 0x23, 35 },
    { "j", 0x24, 36 },
    { "k", 0x25, 37 },
    { "l", 0x26, 38 },
    { "semicolon", 0x27, 39 },
    { "apostrophe", 0x28, 40 },
    { "grave_accent", 0x29, 41 },
    { "backslash", 0x2b, 43 },
    { "z", 0x2c, 44 },
    { "x", 0x2d, 45 },
    { "c", 0x2e, 46 },
    { "v", 0x2f, 47 },
    { "b", 0x30, 48 },
    { "n", 0x31, 49 },
    { "m", 0x32, 50 },
    { "comma", 0x33, 51 },
    { "dot", 0x34, 52 },
    { "slash", 0x35, 53 },
    { "asterisk", 0x37, 55 },
    { "spc", 0x39, 57 },
    { "caps_lock", 0x3a, 58 },
    { "f1", 0x3b, 59 },
    { "f2", 0x3c, 60 },
    { "f3", 0x3d, 61 },
    { "f4", 0x3e, 62 },
    { "f5", 0x3f, 63 },
    { "f6", 0x40, 64 },
    { "f7", 0x41, 65 },
    { "f8", 0x42, 66 },
    { "f9", 0x43, 67 },
    { "f10", 0x44, 68 },
    { "num_lock", 0x45, 69 },
    { "scroll_lock", 0x46, 70 },
    { "kp_divide", 0xb5, 98 },
    { "kp_multiply", 0x37, 55 },
    { "kp_subtract", 0x4a, 74 },
    { "kp_add", 0x4e, 78 },
    { "kp_enter", 0x9c, 96 },
    { "kp_decimal", 0x53, 83 },
    { "sysrq", 0x54, 99 },
    { "kp_0", 0x52, 82 },
    { "kp_1", 0x4f, 79 },
    { "kp_2", 0x50, 80 },
    { "kp_3", 0x51, 81 },
    { "kp_4", 0x4b, 75 },
    { "kp_5", 0x4c, 76 },
    { "kp_6", 0x4d, 77 },
    { "kp_7", 0x47, 71 },
    { "kp_8", 0x48, 72 },
    { "kp_9", 0x49, 73 },
    { "less", 0x56, 86 },
    { "f11", 0x57, 87 },
    { "f12", 0x58, 88 },
    { "print", 0xb7, 99 },
    { "home", 0xc7, 102 },
    { "pgup", 0xc9, 104 },
    { "pgdn", 0xd1, 109 },
    { "end", 0xcf, 107 },
    { "left", 0xcb, 105 },
    { "up", 0xc8, 103 },
    { "down", 0xd0, 108 },
    { "right", 0xcd, 106 },
    { "insert", 0xd2, 110 },
    { "delete", 0xd3, 111 },
    { "stop", 0xe8, 128 },
    { "again", 0x85, 129 },
    { "props", 0x86, 130 },
    { "undo", 0x87, 131 },
    { "front", 0x8c, 132 },
    { "copy", 0xf8, 133 },
    { "open", 0x64, 134 },
    { "paste", 0x65, 135 },
    { "find", 0xc1, 136 },
    { "cut", 0xbc, 137 },
    { "lf", 0x5b, 101 },
    { "help", 0xf5, 138 },
    { "meta_l", 0xdb, 125 },
    { "meta_r", 0xdc, 126 },
    { "compose", 0xdd, 127 },
    { "pause", 0xc6, 119 },
    { "ro", 0x73, 89 },
    { "hiragana", 0x77, 91 },
    { "henkan", 0x79, 92 },
    { "yen", 0x7d, 124 },
    { "muhenkan", 0x7b, 94 },
    { "katakanahiragana", 0x70, 93 },
    { "kp_comma", 0x7e, 121 },
    { "kp_equals", 0x59, 117 },
    { "power", 0xde, 116 },
    { "sleep", 0xdf, 142 },
    { "wake", 0xe3, 143 },
    { "audionext", 0x99, 163 },
    { "audioprev", 0x90, 165 },
    { "audiostop", 0xa4, 166 },
    { "audioplay", 0xa2, 164 },
    { "audiomute", 0xa0, 113 },
    { "volumeup", 0xb0, 115 },
    { "volumedown", 0xae, 114 },
    { "mediaselect", 0xed, 226 },
    { "mail", 0xec, 155 },
    { "calculator", 0xa1, 140 },
    { "computer", 0xeb, 157 },
    { "ac_home", 0xb2, 172 },
    { "ac_back", 0xea, 158 },
    { "ac_forward", 0xe9, 159 },
    { "ac_refresh", 0xe7, 173 },
    { "ac_bookmarks", 0xe6, 156 },
    { "lang1", 0x72, 122 },
    { "lang2", 0x71, 123 },
};

const char *qcode_name(QKeyCode key)
{
    return key < Q_KEY_CODE__MAX ? keys[key].name : "unmapped";
}

QKeyCode qcode_from_name(const char *name)
{
    for (unsigned i = 0; i < Q_KEY_CODE__MAX; i++)
        if (!strcmp(keys[i].name, name))
            return i;
    return Q_KEY_CODE__MAX;
}

unsigned qcode_to_qnum(QKeyCode key)
{
    return key < Q_KEY_CODE__MAX ? keys[key].qnum : 0;
}

unsigned qcode_to_linux(QKeyCode key)
{
    return key < Q_KEY_CODE__MAX ? keys[key].evdev : 0;
}

QKeyCode qnum_to_qcode(unsigned qnum)
{
    if (qnum == 0 || qnum > 0xff)
        return Q_KEY_CODE_UNMAPPED;
    if (qnum == 0x54)                    /* Alt+Print: the print key */
        return Q_KEY_CODE_PRINT;
    for (unsigned i = 1; i < Q_KEY_CODE__MAX; i++)
        if (keys[i].qnum == qnum && i != Q_KEY_CODE_SYSRQ && i != Q_KEY_CODE_MENU)
            return i;
    return Q_KEY_CODE_UNMAPPED;
}

/* Printable ASCII keysyms (0x20-0x7e) on a US keyboard. */
static const uint8_t ascii_keys[95] = {
    [' ' - 32] = Q_KEY_CODE_SPC, ['!' - 32] = Q_KEY_CODE_1, ['"' - 32] = Q_KEY_CODE_APOSTROPHE,
    ['#' - 32] = Q_KEY_CODE_3, ['$' - 32] = Q_KEY_CODE_4, ['%' - 32] = Q_KEY_CODE_5,
    ['&' - 32] = Q_KEY_CODE_7, ['\'' - 32] = Q_KEY_CODE_APOSTROPHE, ['(' - 32] = Q_KEY_CODE_9,
    [')' - 32] = Q_KEY_CODE_0, ['*' - 32] = Q_KEY_CODE_8, ['+' - 32] = Q_KEY_CODE_EQUAL,
    [',' - 32] = Q_KEY_CODE_COMMA, ['-' - 32] = Q_KEY_CODE_MINUS, ['.' - 32] = Q_KEY_CODE_DOT,
    ['/' - 32] = Q_KEY_CODE_SLASH, ['0' - 32] = Q_KEY_CODE_0, ['1' - 32] = Q_KEY_CODE_1,
    ['2' - 32] = Q_KEY_CODE_2, ['3' - 32] = Q_KEY_CODE_3, ['4' - 32] = Q_KEY_CODE_4,
    ['5' - 32] = Q_KEY_CODE_5, ['6' - 32] = Q_KEY_CODE_6, ['7' - 32] = Q_KEY_CODE_7,
    ['8' - 32] = Q_KEY_CODE_8, ['9' - 32] = Q_KEY_CODE_9, [':' - 32] = Q_KEY_CODE_SEMICOLON,
    [';' - 32] = Q_KEY_CODE_SEMICOLON, ['<' - 32] = Q_KEY_CODE_COMMA,
    ['=' - 32] = Q_KEY_CODE_EQUAL, ['>' - 32] = Q_KEY_CODE_DOT, ['?' - 32] = Q_KEY_CODE_SLASH,
    ['@' - 32] = Q_KEY_CODE_2, ['[' - 32] = Q_KEY_CODE_BRACKET_LEFT,
    ['\\' - 32] = Q_KEY_CODE_BACKSLASH, [']' - 32] = Q_KEY_CODE_BRACKET_RIGHT,
    ['^' - 32] = Q_KEY_CODE_6, ['_' - 32] = Q_KEY_CODE_MINUS,
    ['`' - 32] = Q_KEY_CODE_GRAVE_ACCENT, ['{' - 32] = Q_KEY_CODE_BRACKET_LEFT,
    ['|' - 32] = Q_KEY_CODE_BACKSLASH, ['}' - 32] = Q_KEY_CODE_BRACKET_RIGHT,
    ['~' - 32] = Q_KEY_CODE_GRAVE_ACCENT,
};

static const uint8_t letters[26] = {
    Q_KEY_CODE_A, Q_KEY_CODE_B, Q_KEY_CODE_C, Q_KEY_CODE_D, Q_KEY_CODE_E, Q_KEY_CODE_F,
    Q_KEY_CODE_G, Q_KEY_CODE_H, Q_KEY_CODE_I, Q_KEY_CODE_J, Q_KEY_CODE_K, Q_KEY_CODE_L,
    Q_KEY_CODE_M, Q_KEY_CODE_N, Q_KEY_CODE_O, Q_KEY_CODE_P, Q_KEY_CODE_Q, Q_KEY_CODE_R,
    Q_KEY_CODE_S, Q_KEY_CODE_T, Q_KEY_CODE_U, Q_KEY_CODE_V, Q_KEY_CODE_W, Q_KEY_CODE_X,
    Q_KEY_CODE_Y, Q_KEY_CODE_Z,
};

/* Function and keypad keysyms (0xff00-0xffff). */
static const struct { uint16_t sym; uint8_t key; } fn_keys[] = {
    { 0xff08, Q_KEY_CODE_BACKSPACE }, { 0xff09, Q_KEY_CODE_TAB }, { 0xff0d, Q_KEY_CODE_RET },
    { 0xff13, Q_KEY_CODE_PAUSE }, { 0xff14, Q_KEY_CODE_SCROLL_LOCK },
    { 0xff15, Q_KEY_CODE_SYSRQ }, { 0xff1b, Q_KEY_CODE_ESC }, { 0xff50, Q_KEY_CODE_HOME },
    { 0xff51, Q_KEY_CODE_LEFT }, { 0xff52, Q_KEY_CODE_UP }, { 0xff53, Q_KEY_CODE_RIGHT },
    { 0xff54, Q_KEY_CODE_DOWN }, { 0xff55, Q_KEY_CODE_PGUP }, { 0xff56, Q_KEY_CODE_PGDN },
    { 0xff57, Q_KEY_CODE_END }, { 0xff61, Q_KEY_CODE_PRINT }, { 0xff63, Q_KEY_CODE_INSERT },
    { 0xff67, Q_KEY_CODE_MENU }, { 0xff7f, Q_KEY_CODE_NUM_LOCK },
    { 0xff8d, Q_KEY_CODE_KP_ENTER }, { 0xff95, Q_KEY_CODE_KP_7 }, { 0xff96, Q_KEY_CODE_KP_4 },
    { 0xff97, Q_KEY_CODE_KP_8 }, { 0xff98, Q_KEY_CODE_KP_6 }, { 0xff99, Q_KEY_CODE_KP_2 },
    { 0xff9a, Q_KEY_CODE_KP_9 }, { 0xff9b, Q_KEY_CODE_KP_3 }, { 0xff9c, Q_KEY_CODE_KP_1 },
    { 0xff9d, Q_KEY_CODE_KP_5 }, { 0xff9e, Q_KEY_CODE_KP_0 },
    { 0xff9f, Q_KEY_CODE_KP_DECIMAL }, { 0xffaa, Q_KEY_CODE_KP_MULTIPLY },
    { 0xffab, Q_KEY_CODE_KP_ADD }, { 0xffad, Q_KEY_CODE_KP_SUBTRACT },
    { 0xffae, Q_KEY_CODE_KP_DECIMAL }, { 0xffaf, Q_KEY_CODE_KP_DIVIDE },
    { 0xffb0, Q_KEY_CODE_KP_0 }, { 0xffb1, Q_KEY_CODE_KP_1 }, { 0xffb2, Q_KEY_CODE_KP_2 },
    { 0xffb3, Q_KEY_CODE_KP_3 }, { 0xffb4, Q_KEY_CODE_KP_4 }, { 0xffb5, Q_KEY_CODE_KP_5 },
    { 0xffb6, Q_KEY_CODE_KP_6 }, { 0xffb7, Q_KEY_CODE_KP_7 }, { 0xffb8, Q_KEY_CODE_KP_8 },
    { 0xffb9, Q_KEY_CODE_KP_9 }, { 0xffbd, Q_KEY_CODE_KP_EQUALS },
    { 0xffbe, Q_KEY_CODE_F1 }, { 0xffbf, Q_KEY_CODE_F2 }, { 0xffc0, Q_KEY_CODE_F3 },
    { 0xffc1, Q_KEY_CODE_F4 }, { 0xffc2, Q_KEY_CODE_F5 }, { 0xffc3, Q_KEY_CODE_F6 },
    { 0xffc4, Q_KEY_CODE_F7 }, { 0xffc5, Q_KEY_CODE_F8 }, { 0xffc6, Q_KEY_CODE_F9 },
    { 0xffc7, Q_KEY_CODE_F10 }, { 0xffc8, Q_KEY_CODE_F11 }, { 0xffc9, Q_KEY_CODE_F12 },
    { 0xffe1, Q_KEY_CODE_SHIFT }, { 0xffe2, Q_KEY_CODE_SHIFT_R }, { 0xffe3, Q_KEY_CODE_CTRL },
    { 0xffe4, Q_KEY_CODE_CTRL_R }, { 0xffe5, Q_KEY_CODE_CAPS_LOCK },
    { 0xffe7, Q_KEY_CODE_META_L }, { 0xffe8, Q_KEY_CODE_META_R }, { 0xffe9, Q_KEY_CODE_ALT },
    { 0xffea, Q_KEY_CODE_ALT_R }, { 0xffeb, Q_KEY_CODE_META_L }, { 0xffec, Q_KEY_CODE_META_R },
    { 0xfe03, Q_KEY_CODE_ALT_R }, { 0xffff, Q_KEY_CODE_DELETE },
};

QKeyCode keysym_to_qcode(uint32_t sym)
{
    if (sym >= 'a' && sym <= 'z')
        return letters[sym - 'a'];
    if (sym >= 'A' && sym <= 'Z')
        return letters[sym - 'A'];
    if (sym >= 0x20 && sym <= 0x7e)
        return ascii_keys[sym - 0x20];
    if (sym == 0xa7 || sym == 0xbd)      /* section sign / one-half: the 102nd key */
        return Q_KEY_CODE_LESS;
    for (unsigned i = 0; i < G_N_ELEMENTS(fn_keys); i++)
        if (fn_keys[i].sym == sym)
            return fn_keys[i].key;
    return Q_KEY_CODE_UNMAPPED;
}
