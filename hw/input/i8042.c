/*
 * "i8042": the PS/2 keyboard controller at ports 0x60 (data) and 0x64 (status and
 * command), with a PS/2 keyboard on the first port (IRQ 1) and a mouse on the aux
 * port (IRQ 12). Enough for Linux's i8042, atkbd and psmouse drivers to probe, and
 * for the system reset through the controller's output port.
 *
 * References: the IBM PS/2 "Keyboard and Auxiliary Device Controller" technical
 * reference (commands, status, command byte, output port); the PS/2 keyboard and
 * mouse command sets; Linux drivers/input/serio/i8042.h for bit names.
 *
 * The controller has one output buffer. Its own replies come first, then bytes the
 * keyboard and the mouse queued, each device's queue gated by the command byte's
 * disable bits. Keyboard bytes are translated to set 1 when the command byte's XLATE
 * bit is set, as the real controller does.
 */
#include "vireo/hw-isa.h"
#include "vireo/machine.h"
#include "vireo/runstate.h"
#include "vireo/console.h"
#include "vireo/input.h"
#include <string.h>

/* Status register (port 0x64 in) */
#define STAT_OBF       0x01
#define STAT_SYS       0x04
#define STAT_CMD       0x08   /* last write went to 0x64 */
#define STAT_UNLOCKED  0x10   /* keyboard inhibit switch off */
#define STAT_AUX_OBF   0x20

/* Command byte */
#define MODE_KBD_INT   0x01
#define MODE_AUX_INT   0x02
#define MODE_SYS       0x04
#define MODE_KBD_DIS   0x10
#define MODE_AUX_DIS   0x20
#define MODE_XLATE     0x40

/* Output port */
#define OUT_RESET      0x01   /* active low: 0 resets the CPU */
#define OUT_A20        0x02
#define OUT_OBF        0x10
#define OUT_AUX_OBF    0x20
#define OUT_DEFAULT    0xcf

/* Controller commands (port 0x64 out) */
#define CCMD_READ_MODE   0x20
#define CCMD_WRITE_MODE  0x60
#define CCMD_AUX_DISABLE 0xa7
#define CCMD_AUX_ENABLE  0xa8
#define CCMD_AUX_TEST    0xa9
#define CCMD_SELF_TEST   0xaa
#define CCMD_KBD_TEST    0xab
#define CCMD_KBD_DISABLE 0xad
#define CCMD_KBD_ENABLE  0xae
#define CCMD_READ_INPORT 0xc0
#define CCMD_READ_OUTPORT  0xd0
#define CCMD_WRITE_OUTPORT 0xd1
#define CCMD_WRITE_KBD_OBUF 0xd2
#define CCMD_WRITE_AUX_OBUF 0xd3
#define CCMD_WRITE_AUX   0xd4
#define CCMD_A20_OFF     0xdd
#define CCMD_A20_ON      0xdf
#define CCMD_TEST_INPUTS 0xe0

/* Device replies */
#define PS2_ACK    0xfa
#define PS2_BAT_OK 0xaa
#define PS2_RESEND 0xfe

#define PS2_QUEUE  64
#define CTRL_QUEUE 4

enum { SRC_KBD, SRC_AUX };

typedef struct Ps2Queue {
    uint8_t data[PS2_QUEUE];
    uint8_t head, count;
} Ps2Queue;

typedef struct I8042State {
    uint8_t status, mode, outport;
    uint8_t pending;             /* controller command waiting for its data byte */
    uint8_t obuf;                /* the output buffer */
    uint8_t ctrl_q[CTRL_QUEUE], ctrl_src[CTRL_QUEUE], ctrl_count;
    uint8_t xlate_break;         /* translation saw 0xF0: the next byte is a break */
    /* keyboard */
    Ps2Queue kq;
    uint8_t kbd_cmd;             /* command waiting for its parameter */
    uint8_t kbd_scan, kbd_set, kbd_leds;
    /* mouse */
    Ps2Queue mq;
    uint8_t aux_cmd;
    uint8_t aux_enabled, aux_remote, aux_wrap, aux_scaling, aux_rate, aux_res;
    uint8_t aux_buttons;
} I8042State;

typedef struct I8042 {
    Device parent;
    I8042State s;
    const IrqLine *irq_kbd, *irq_aux;
    MemRegion data_io, cmd_io;
    IsaResetHook *reset_hook;
    void *reset_opaque;
    InputHandler kbd_handler, mouse_handler;   /* ui/ input routing */
} I8042;

/* Set 2 -> set 1 translation of the controller, for the codes a PS/2 keyboard sends
 * (prefixes 0xE0/0xE1 and bytes >= 0x80 pass through, except F7 0x83 and SysRq 0x84;
 * 0x02 -> 0x41 as on real controllers). Unlisted codes pass through. */
static const uint8_t xlate_set2[256] = {
    [0x01] = 0x43, [0x02] = 0x41, [0x03] = 0x3f, [0x04] = 0x3d, [0x05] = 0x3b,
    [0x06] = 0x3c, [0x07] = 0x58, [0x09] = 0x44, [0x0a] = 0x42, [0x0b] = 0x40,
    [0x0c] = 0x3e, [0x0d] = 0x0f, [0x0e] = 0x29, [0x11] = 0x38, [0x12] = 0x2a,
    [0x14] = 0x1d, [0x15] = 0x10, [0x16] = 0x02, [0x1a] = 0x2c, [0x1b] = 0x1f,
    [0x1c] = 0x1e, [0x1d] = 0x11, [0x1e] = 0x03, [0x21] = 0x2e, [0x22] = 0x2d,
    [0x23] = 0x20, [0x24] = 0x12, [0x25] = 0x05, [0x26] = 0x04, [0x29] = 0x39,
    [0x2a] = 0x2f, [0x2b] = 0x21, [0x2c] = 0x14, [0x2d] = 0x13, [0x2e] = 0x06,
    [0x31] = 0x31, [0x32] = 0x30, [0x33] = 0x23, [0x34] = 0x22, [0x35] = 0x15,
    [0x36] = 0x07, [0x3a] = 0x32, [0x3b] = 0x24, [0x3c] = 0x16, [0x3d] = 0x08,
    [0x3e] = 0x09, [0x41] = 0x33, [0x42] = 0x25, [0x43] = 0x17, [0x44] = 0x18,
    [0x45] = 0x0b, [0x46] = 0x0a, [0x49] = 0x34, [0x4a] = 0x35, [0x4b] = 0x26,
    [0x4c] = 0x27, [0x4d] = 0x19, [0x4e] = 0x0c, [0x52] = 0x28, [0x54] = 0x1a,
    [0x55] = 0x0d, [0x58] = 0x3a, [0x59] = 0x36, [0x5a] = 0x1c, [0x5b] = 0x1b,
    [0x5d] = 0x2b, [0x61] = 0x56, [0x66] = 0x0e, [0x69] = 0x4f, [0x6b] = 0x4b,
    [0x6c] = 0x47, [0x70] = 0x52, [0x71] = 0x53, [0x72] = 0x50, [0x73] = 0x4c,
    [0x74] = 0x4d, [0x75] = 0x48, [0x76] = 0x01, [0x77] = 0x45, [0x78] = 0x57,
    [0x79] = 0x4e, [0x7a] = 0x51, [0x7b] = 0x4a, [0x7c] = 0x37, [0x7d] = 0x49,
    [0x7e] = 0x46, [0x83] = 0x41, [0x84] = 0x54,
};

/* ---- queues (indexes taken modulo, so loaded state cannot reach outside) ---- */

static void q_reset(Ps2Queue *q) { q->head = q->count = 0; }

static bool q_put(Ps2Queue *q, uint8_t b)
{
    if (q->count >= PS2_QUEUE)
        return false;
    q->data[(q->head + q->count++) % PS2_QUEUE] = b;
    return true;
}

static uint8_t q_get(Ps2Queue *q)
{
    uint8_t b = q->data[q->head % PS2_QUEUE];
    q->head = (q->head + 1) % PS2_QUEUE;
    q->count--;
    return b;
}

/* ---- the output buffer ---- */

static void i8042_update_irq(I8042 *k)
{
    I8042State *s = &k->s;
    bool full = s->status & STAT_OBF, aux = s->status & STAT_AUX_OBF;
    irq_set(k->irq_kbd, full && !aux && (s->mode & MODE_KBD_INT));
    irq_set(k->irq_aux, full && aux && (s->mode & MODE_AUX_INT));
}

static void i8042_load_obuf(I8042State *s, uint8_t b, int src)
{
    s->obuf = b;
    s->status = (s->status | STAT_OBF) & ~STAT_AUX_OBF;
    if (src == SRC_AUX)
        s->status |= STAT_AUX_OBF;
}

/* Takes one keyboard byte through the set 2 -> set 1 translation; returns false when
 * it was swallowed (a break prefix) and nothing is ready yet. */
static bool i8042_kbd_byte(I8042State *s, uint8_t *out)
{
    while (s->kq.count) {
        uint8_t b = q_get(&s->kq);
        if (!(s->mode & MODE_XLATE)) {
            *out = b;
            return true;
        }
        if (b == 0xf0) {
            s->xlate_break = 1;
            continue;
        }
        *out = (xlate_set2[b] ? xlate_set2[b] : b) | (s->xlate_break ? 0x80 : 0);
        s->xlate_break = 0;
        return true;
    }
    return false;
}

/* Fills an empty output buffer: controller replies, then keyboard, then mouse. */
static void i8042_refill(I8042 *k)
{
    I8042State *s = &k->s;
    uint8_t b;
    if (!(s->status & STAT_OBF)) {
        if (s->ctrl_count) {
            i8042_load_obuf(s, s->ctrl_q[0], s->ctrl_src[0]);
            s->ctrl_count = MIN(s->ctrl_count, CTRL_QUEUE) - 1;
            memmove(s->ctrl_q, s->ctrl_q + 1, s->ctrl_count);
            memmove(s->ctrl_src, s->ctrl_src + 1, s->ctrl_count);
        } else if (!(s->mode & MODE_KBD_DIS) && i8042_kbd_byte(s, &b)) {
            i8042_load_obuf(s, b, SRC_KBD);
        } else if (!(s->mode & MODE_AUX_DIS) && s->mq.count) {
            i8042_load_obuf(s, q_get(&s->mq), SRC_AUX);
        }
    }
    i8042_update_irq(k);
}

/* A reply of the controller itself (or a byte written with 0xD2/0xD3). */
static void i8042_reply(I8042 *k, uint8_t b, int src)
{
    I8042State *s = &k->s;
    if (s->ctrl_count < CTRL_QUEUE) {
        s->ctrl_q[s->ctrl_count] = b;
        s->ctrl_src[s->ctrl_count++] = src;
    }
    i8042_refill(k);
}

static void i8042_request_reset(I8042 *k)
{
    k->reset_hook(k->reset_opaque);
}

/* ---- PS/2 keyboard ---- */

static void kbd_queue(I8042 *k, uint8_t b)
{
    q_put(&k->s.kq, b);
    i8042_refill(k);
}

static void kbd_defaults(I8042State *s)
{
    q_reset(&s->kq);
    s->kbd_cmd = 0;
    s->kbd_scan = 1;
    s->kbd_set = 2;
    s->kbd_leds = 0;
    s->xlate_break = 0;
}

/* The parameter byte of a command that takes one (0xED LEDs, 0xF0 set, 0xF3 rate). */
static void kbd_param(I8042 *k, uint8_t cmd, uint8_t val)
{
    I8042State *s = &k->s;
    kbd_queue(k, PS2_ACK);
    if (cmd == 0xed) {
        s->kbd_leds = val & 7;
        /* PS/2 LED bits: 0 scroll, 1 num, 2 caps (as INPUT_LED_*). */
        console_set_leds(k->parent.machine, s->kbd_leds);
    } else if (cmd == 0xf0) {
        if (val == 0)
            kbd_queue(k, s->kbd_set);         /* translated like any keyboard byte */
        else if (val <= 3)
            s->kbd_set = val;
    }
}

/* Keyboard command set (IBM PS/2 keyboard technical reference). */
static void kbd_write(I8042 *k, uint8_t val)
{
    I8042State *s = &k->s;
    if (s->kbd_cmd) {
        uint8_t cmd = s->kbd_cmd;
        s->kbd_cmd = 0;
        kbd_param(k, cmd, val);
        return;
    }
    switch (val) {
    case 0xed: case 0xf0: case 0xf3:
        s->kbd_cmd = val;
        kbd_queue(k, PS2_ACK);
        break;
    case 0xee:                                /* echo */
        kbd_queue(k, 0xee);
        break;
    case 0xf2:                                /* identify: MF2 keyboard */
        kbd_queue(k, PS2_ACK);
        kbd_queue(k, 0xab);
        kbd_queue(k, 0x83);
        break;
    case 0xf4:
        s->kbd_scan = 1;
        kbd_queue(k, PS2_ACK);
        break;
    case 0xf5:                                /* disable and set defaults */
        kbd_defaults(s);
        s->kbd_scan = 0;
        kbd_queue(k, PS2_ACK);
        break;
    case 0xf6:
        kbd_defaults(s);
        kbd_queue(k, PS2_ACK);
        break;
    case 0xf7: case 0xf8: case 0xf9: case 0xfa: case 0xfb: case 0xfc: case 0xfd:
        kbd_queue(k, PS2_ACK);                /* set-3 key attributes: accepted */
        break;
    case 0xff:                                /* reset: ack, then the BAT result */
        kbd_defaults(s);
        kbd_queue(k, PS2_ACK);
        kbd_queue(k, PS2_BAT_OK);
        break;
    default:
        kbd_queue(k, PS2_RESEND);
    }
}

/* ---- PS/2 mouse ---- */

static void aux_queue(I8042 *k, uint8_t b)
{
    q_put(&k->s.mq, b);
    i8042_refill(k);
}

static void aux_defaults(I8042State *s)
{
    s->aux_enabled = s->aux_remote = s->aux_wrap = s->aux_scaling = 0;
    s->aux_rate = 100;
    s->aux_res = 2;
    s->aux_cmd = 0;
}

static void aux_packet(I8042 *k, int dx, int dy)
{
    I8042State *s = &k->s;
    dx = CLAMP(dx, -256, 255);
    dy = CLAMP(dy, -256, 255);
    aux_queue(k, 0x08 | (s->aux_buttons & 7) | (dx < 0 ? 0x10 : 0) | (dy < 0 ? 0x20 : 0));
    aux_queue(k, dx & 0xff);
    aux_queue(k, dy & 0xff);
}

static void aux_command(I8042 *k, uint8_t val)
{
    I8042State *s = &k->s;
    switch (val) {
    case 0xe6: case 0xe7:                     /* scaling 1:1 / 2:1 */
        s->aux_scaling = val == 0xe7;
        aux_queue(k, PS2_ACK);
        break;
    case 0xe8: case 0xf3:                     /* resolution / sample rate: parameter */
        s->aux_cmd = val;
        aux_queue(k, PS2_ACK);
        break;
    case 0xe9:                                /* status request */
        aux_queue(k, PS2_ACK);
        aux_queue(k, (s->aux_remote << 6) | (s->aux_enabled << 5) | (s->aux_scaling << 4) |
                     (s->aux_buttons & 7));
        aux_queue(k, s->aux_res);
        aux_queue(k, s->aux_rate);
        break;
    case 0xea: case 0xf0:                     /* stream / remote mode */
        s->aux_remote = val == 0xf0;
        aux_queue(k, PS2_ACK);
        break;
    case 0xeb:                                /* read data */
        aux_queue(k, PS2_ACK);
        aux_packet(k, 0, 0);
        break;
    case 0xec: case 0xee:                     /* reset wrap / wrap mode */
        s->aux_wrap = val == 0xee;
        aux_queue(k, PS2_ACK);
        break;
    case 0xf2:                                /* identify: standard PS/2 mouse */
        aux_queue(k, PS2_ACK);
        aux_queue(k, 0x00);
        break;
    case 0xf4: case 0xf5:
        s->aux_enabled = val == 0xf4;
        aux_queue(k, PS2_ACK);
        break;
    case 0xf6:
        aux_defaults(s);
        aux_queue(k, PS2_ACK);
        break;
    case 0xff:                                /* reset: ack, BAT, ID */
        q_reset(&s->mq);
        aux_defaults(s);
        aux_queue(k, PS2_ACK);
        aux_queue(k, PS2_BAT_OK);
        aux_queue(k, 0x00);
        break;
    default:
        aux_queue(k, PS2_RESEND);
    }
}

static void aux_write(I8042 *k, uint8_t val)
{
    I8042State *s = &k->s;
    if (s->aux_cmd) {
        if (s->aux_cmd == 0xe8)
            s->aux_res = val & 3;
        else
            s->aux_rate = val;
        s->aux_cmd = 0;
        aux_queue(k, PS2_ACK);
    } else if (s->aux_wrap && val != 0xec && val != 0xff) {
        aux_queue(k, val);                    /* wrap mode echoes */
    } else {
        aux_command(k, val);
    }
}

/* ---- controller ---- */

static void i8042_write_outport(I8042 *k, uint8_t val)
{
    k->s.outport = val;
    if (!(val & OUT_RESET))
        i8042_request_reset(k);
}

static uint8_t i8042_read_outport(I8042State *s)
{
    return (s->outport & ~(OUT_OBF | OUT_AUX_OBF)) |
           ((s->status & STAT_OBF) && !(s->status & STAT_AUX_OBF) ? OUT_OBF : 0) |
           ((s->status & STAT_AUX_OBF) ? OUT_AUX_OBF : 0);
}

static void i8042_command(I8042 *k, uint8_t cmd)
{
    I8042State *s = &k->s;
    switch (cmd) {
    case CCMD_READ_MODE:
        i8042_reply(k, s->mode, SRC_KBD);
        return;
    case CCMD_WRITE_MODE: case CCMD_WRITE_OUTPORT: case CCMD_WRITE_KBD_OBUF:
    case CCMD_WRITE_AUX_OBUF: case CCMD_WRITE_AUX:
        s->pending = cmd;
        return;
    case CCMD_AUX_DISABLE: s->mode |= MODE_AUX_DIS; break;
    case CCMD_AUX_ENABLE: s->mode &= ~MODE_AUX_DIS; break;
    case CCMD_KBD_DISABLE: s->mode |= MODE_KBD_DIS; break;
    case CCMD_KBD_ENABLE: s->mode &= ~MODE_KBD_DIS; break;
    case CCMD_AUX_TEST: case CCMD_KBD_TEST:   /* interface test: no error */
        i8042_reply(k, 0x00, SRC_KBD);
        return;
    case CCMD_SELF_TEST:
        s->status |= STAT_SYS;
        i8042_reply(k, 0x55, SRC_KBD);
        return;
    case CCMD_READ_INPORT:
        i8042_reply(k, 0x80, SRC_KBD);        /* keyboard not inhibited */
        return;
    case CCMD_READ_OUTPORT:
        i8042_reply(k, i8042_read_outport(s), SRC_KBD);
        return;
    case CCMD_TEST_INPUTS:
        i8042_reply(k, 0x00, SRC_KBD);
        return;
    case CCMD_A20_OFF: s->outport &= ~OUT_A20; break;
    case CCMD_A20_ON: s->outport |= OUT_A20; break;
    default:
        /* 0xF0-0xFF pulse output port bits whose command bit is 0: bit 0 is reset */
        if (cmd >= 0xf0 && !(cmd & 1))
            i8042_request_reset(k);
        break;                                /* other commands are ignored */
    }
    i8042_refill(k);
}

static void i8042_write_data(I8042 *k, uint8_t val)
{
    I8042State *s = &k->s;
    uint8_t cmd = s->pending;
    s->pending = 0;
    switch (cmd) {
    case CCMD_WRITE_MODE:
        s->mode = val;
        s->status = (s->status & ~STAT_SYS) | (val & MODE_SYS);
        i8042_refill(k);
        break;
    case CCMD_WRITE_OUTPORT:
        i8042_write_outport(k, val);
        break;
    case CCMD_WRITE_KBD_OBUF:
        i8042_reply(k, val, SRC_KBD);
        break;
    case CCMD_WRITE_AUX_OBUF:
        i8042_reply(k, val, SRC_AUX);
        break;
    case CCMD_WRITE_AUX:
        s->mode &= ~MODE_AUX_DIS;             /* talking to a port enables it */
        aux_write(k, val);
        break;
    default:
        s->mode &= ~MODE_KBD_DIS;
        kbd_write(k, val);
    }
}

static uint64_t i8042_data_read(void *opaque, uint64_t addr, unsigned size)
{
    I8042 *k = opaque;
    uint8_t b = k->s.obuf;                    /* stale data if empty, as hardware */
    k->s.status &= ~(STAT_OBF | STAT_AUX_OBF);
    /* Lower the line before the next byte raises it: ISA interrupts are edges, and
     * Linux's handler takes one byte per interrupt. */
    i8042_update_irq(k);
    i8042_refill(k);
    return b;
}

static void i8042_data_write(void *opaque, uint64_t addr, uint64_t val, unsigned size)
{
    I8042 *k = opaque;
    k->s.status &= ~STAT_CMD;
    i8042_write_data(k, val);
}

static uint64_t i8042_status_read(void *opaque, uint64_t addr, unsigned size)
{
    return ((I8042 *)opaque)->s.status;
}

static void i8042_cmd_write(void *opaque, uint64_t addr, uint64_t val, unsigned size)
{
    I8042 *k = opaque;
    k->s.status |= STAT_CMD;
    k->s.pending = 0;
    i8042_command(k, val);
}

static const MemOps i8042_data_ops = {
    .read = i8042_data_read, .write = i8042_data_write, .min_access = 1, .max_access = 1,
};
static const MemOps i8042_cmd_ops = {
    .read = i8042_status_read, .write = i8042_cmd_write, .min_access = 1, .max_access = 1,
};

/* ---- public entry points ---- */

void i8042_kbd_put_scancode(Device *dev, uint8_t code)
{
    I8042 *k = (I8042 *)dev;
    if (k->s.kbd_scan)
        kbd_queue(k, code);
}

unsigned i8042_kbd_scancode_set(Device *dev)
{
    return ((I8042 *)dev)->s.kbd_set;
}

void i8042_mouse_event(Device *dev, int dx, int dy, unsigned buttons)
{
    I8042 *k = (I8042 *)dev;
    I8042State *s = &k->s;
    s->aux_buttons = buttons & 7;
    if (s->aux_enabled && !s->aux_remote && !s->aux_wrap && s->mq.count + 3 <= PS2_QUEUE)
        aux_packet(k, dx, dy);
}

/* The set 2 make code whose set 1 translation is @set1 (the last one: F7 is 0x83, not
 * 0x02), or @set1 itself when the controller passes it through. */
static uint8_t set1_to_set2(uint8_t set1)
{
    int found = -1;
    for (int i = 1; i < 256; i++)
        if (xlate_set2[i] == set1)
            found = i;
    return found >= 0 ? found : set1;
}

/* A key from ui/ input routing (QEMU's qcode), as the keyboard's current scan code set
 * sends it: set 1 codes (0x80 = break) or set 2 (0xF0 prefix = break); 0xE0 prefixes
 * for extended keys; Pause and Print Screen send their multi-byte sequences. */
static void kbd_input_key(void *opaque, QKeyCode key, bool down)
{
    I8042 *k = opaque;
    unsigned qnum = qcode_to_qnum(key);
    if (!qnum || !k->s.kbd_scan)
        return;
    bool set1 = k->s.kbd_set == 1;
    if (key == Q_KEY_CODE_PAUSE) {
        static const uint8_t p1[] = { 0xe1, 0x1d, 0x45, 0xe1, 0x9d, 0xc5 };
        static const uint8_t p2[] = { 0xe1, 0x14, 0x77, 0xe1, 0xf0, 0x14, 0xf0, 0x77 };
        for (unsigned i = 0; down && i < (set1 ? sizeof(p1) : sizeof(p2)); i++)
            kbd_queue(k, set1 ? p1[i] : p2[i]);
        return;
    }
    if (key == Q_KEY_CODE_PRINT) {              /* fake shift + the key itself */
        static const uint8_t d1[] = { 0xe0, 0x2a, 0xe0, 0x37 }, u1[] = { 0xe0, 0xb7, 0xe0, 0xaa };
        static const uint8_t d2[] = { 0xe0, 0x12, 0xe0, 0x7c };
        static const uint8_t u2[] = { 0xe0, 0xf0, 0x7c, 0xe0, 0xf0, 0x12 };
        const uint8_t *seq = set1 ? (down ? d1 : u1) : (down ? d2 : u2);
        unsigned n = set1 ? 4 : (down ? 4 : 6);
        for (unsigned i = 0; i < n; i++)
            kbd_queue(k, seq[i]);
        return;
    }
    if (qnum & 0x80)
        kbd_queue(k, 0xe0);
    if (set1) {
        kbd_queue(k, (qnum & 0x7f) | (down ? 0 : 0x80));
        return;
    }
    if (!down)
        kbd_queue(k, 0xf0);
    kbd_queue(k, set1_to_set2(qnum & 0x7f));
}

/* Relative moves with buttons (wheel presses become nothing: no IntelliMouse mode). */
static void mouse_input(void *opaque, const InputPointer *p)
{
    unsigned b = p->buttons & 7;
    /* PS/2 bit order: left, right, middle. */
    unsigned ps2 = (b & 1) | ((b & 4) >> 1) | ((b & 2) << 1);
    i8042_mouse_event(opaque, p->x, -p->y, ps2);
}

bool i8042_a20_enabled(Device *dev)
{
    return ((I8042 *)dev)->s.outport & OUT_A20;
}

static void i8042_default_reset(void *opaque)
{
    vm_request_reset(((Device *)opaque)->machine, SHUTDOWN_CAUSE_GUEST_RESET);
}

void i8042_set_reset_hook(Device *dev, IsaResetHook *fn, void *opaque)
{
    I8042 *k = (I8042 *)dev;
    k->reset_hook = fn ? fn : i8042_default_reset;
    k->reset_opaque = fn ? opaque : dev;
}

/* ---- device ---- */

static void i8042_init(Device *dev)
{
    i8042_set_reset_hook(dev, NULL, NULL);
}

static void i8042_reset(Device *dev)
{
    I8042 *k = (I8042 *)dev;
    I8042State *s = &k->s;
    memset(s, 0, sizeof(*s));
    s->status = STAT_CMD | STAT_UNLOCKED;
    s->mode = MODE_KBD_INT | MODE_AUX_INT;
    s->outport = OUT_DEFAULT;
    kbd_defaults(s);
    aux_defaults(s);
    i8042_update_irq(k);
}

static bool i8042_realize(Device *dev, GError **errp)
{
    I8042 *k = (I8042 *)dev;
    Machine *m = dev->machine;
    k->irq_kbd = &m->gsi[1];
    k->irq_aux = &m->gsi[12];
    mr_init_io(&k->data_io, "i8042-data", 1, &i8042_data_ops, k);
    mr_init_io(&k->cmd_io, "i8042-cmd", 1, &i8042_cmd_ops, k);
    if (!as_add_region(m->io, &k->data_io, 0x60, errp) ||
        !as_add_region(m->io, &k->cmd_io, 0x64, errp)) {
        as_del_region(m->io, &k->data_io);
        g_prefix_error(errp, "i8042: ");
        return false;
    }
    k->kbd_handler = (InputHandler){ .name = "QEMU PS/2 Keyboard", .mask = INPUT_MASK_KEY,
                                     .key = kbd_input_key, .opaque = k };
    k->mouse_handler = (InputHandler){ .name = "QEMU PS/2 Mouse", .mask = INPUT_MASK_REL,
                                       .pointer = mouse_input, .opaque = k };
    input_register(m, &k->kbd_handler);
    input_register(m, &k->mouse_handler);
    return true;
}

static void i8042_unrealize(Device *dev)
{
    I8042 *k = (I8042 *)dev;
    input_unregister(dev->machine, &k->kbd_handler);
    input_unregister(dev->machine, &k->mouse_handler);
    as_del_region(dev->machine->io, &k->data_io);
    as_del_region(dev->machine->io, &k->cmd_io);
}

static void i8042_post_load(Device *dev)
{
    i8042_update_irq((I8042 *)dev);
}

static const VMStateField i8042_fields[] = {
    VMS_FIELD(I8042State, status), VMS_FIELD(I8042State, mode),
    VMS_FIELD(I8042State, outport), VMS_FIELD(I8042State, pending),
    VMS_FIELD(I8042State, obuf), VMS_ARRAY(I8042State, ctrl_q),
    VMS_ARRAY(I8042State, ctrl_src), VMS_FIELD(I8042State, ctrl_count),
    VMS_FIELD(I8042State, xlate_break),
    VMS_ARRAY(I8042State, kq.data), VMS_FIELD(I8042State, kq.head),
    VMS_FIELD(I8042State, kq.count), VMS_FIELD(I8042State, kbd_cmd),
    VMS_FIELD(I8042State, kbd_scan), VMS_FIELD(I8042State, kbd_set),
    VMS_FIELD(I8042State, kbd_leds),
    VMS_ARRAY(I8042State, mq.data), VMS_FIELD(I8042State, mq.head),
    VMS_FIELD(I8042State, mq.count), VMS_FIELD(I8042State, aux_cmd),
    VMS_FIELD(I8042State, aux_enabled), VMS_FIELD(I8042State, aux_remote),
    VMS_FIELD(I8042State, aux_wrap), VMS_FIELD(I8042State, aux_scaling),
    VMS_FIELD(I8042State, aux_rate), VMS_FIELD(I8042State, aux_res),
    VMS_FIELD(I8042State, aux_buttons),
    VMS_END,
};

/* Queue positions inside the queues, as q_put/q_get keep them. */
static bool i8042_state_post_load(void *opaque, int version, GError **errp)
{
    const I8042State *s = opaque;
    if (s->kq.head >= PS2_QUEUE || s->kq.count > PS2_QUEUE || s->mq.head >= PS2_QUEUE ||
        s->mq.count > PS2_QUEUE || s->ctrl_count > CTRL_QUEUE)
        return vmstate_invalid(errp, "i8042", "queue position out of range (kbd %u+%u, "
                               "aux %u+%u, controller %u)", s->kq.head, s->kq.count,
                               s->mq.head, s->mq.count, s->ctrl_count);
    for (unsigned i = 0; i < s->ctrl_count; i++)
        if (s->ctrl_src[i] > SRC_AUX)
            return vmstate_invalid(errp, "i8042", "controller queue source %u",
                                   s->ctrl_src[i]);
    return true;
}

static const VMStateDesc i8042_vmsd = {
    .name = "i8042", .version = 1, .min_version = 1, .fields = i8042_fields,
    .post_load = i8042_state_post_load,
};

const DeviceClass i8042_class = {
    .name = "i8042",
    .desc = "PS/2 keyboard and mouse controller",
    .bus = BUS_ISA,
    .instance_size = sizeof(I8042),
    .init = i8042_init,
    .realize = i8042_realize,
    .reset = i8042_reset,
    .unrealize = i8042_unrealize,
    .vmsd = &i8042_vmsd,
    .state_offset = offsetof(I8042, s),
    .post_load = i8042_post_load,
};
