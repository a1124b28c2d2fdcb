/*
 * virtio-input (virtio 1.2, 5.8): "virtio-keyboard-pci", "virtio-mouse-pci",
 * "virtio-tablet-pci". Events are Linux evdev triples (type, code, value) the device
 * puts into the driver's buffers on the event queue (0), each batch ended by
 * SYN_REPORT; the status queue (1) carries LED changes from the driver. The
 * configuration space answers select/subsel queries (5.8.5): name, serial, device
 * ids, property bits, event bits per type, absolute axis ranges.
 * Events wait in a bounded queue while the driver has no buffer (oldest dropped).
 */
#include "vireo/virtio.h"
#include "vireo/console.h"
#include "vireo/input.h"
#include "vireo/machine.h"
#include <string.h>

#define VIRTIO_ID_INPUT        18
#define CFG_ID_NAME            0x01
#define CFG_ID_SERIAL          0x02
#define CFG_ID_DEVIDS          0x03
#define CFG_PROP_BITS          0x10
#define CFG_EV_BITS            0x11
#define CFG_ABS_INFO           0x12

/* linux/input-event-codes.h */
#define EV_SYN 0x00
#define EV_KEY 0x01
#define EV_REL 0x02
#define EV_ABS 0x03
#define EV_LED 0x11
#define EV_REP 0x14
#define SYN_REPORT 0
#define REL_X 0
#define REL_Y 1
#define REL_WHEEL 8
#define ABS_X 0
#define ABS_Y 1
#define BTN_LEFT 0x110
#define LED_NUML 0
#define LED_CAPSL 1
#define LED_SCROLLL 2

#define EVQ_MAX 256

typedef enum { VI_KEYBOARD, VI_MOUSE, VI_TABLET } VirtioInputKind;

typedef struct InputEvent {
    uint16_t type, code;
    uint32_t value;
} InputEvent;

typedef struct VirtioInput {
    VirtioPci vp;                     /* first member */
    VirtioInputKind kind;
    char *serial;                     /* property */
    InputHandler handler;
    InputEvent q[EVQ_MAX];
    unsigned head, count;
    unsigned buttons;                 /* last reported (InputButton bits) */
} VirtioInput;

static const char *const names[] = {
    "QEMU Virtio Keyboard", "QEMU Virtio Mouse", "QEMU Virtio Tablet",
};

/* ---- events ---- */

static void evq_push(VirtioInput *vi, uint16_t type, uint16_t code, uint32_t value)
{
    if (vi->count == EVQ_MAX) {           /* no buffers for a long time: drop the oldest */
        vi->head = (vi->head + 1) % EVQ_MAX;
        vi->count--;
    }
    vi->q[(vi->head + vi->count++) % EVQ_MAX] = (InputEvent){ type, code, value };
}

/* Moves queued events into the driver's buffers (one event per buffer, 5.8.6.2). */
static void evq_flush(VirtioInput *vi)
{
    VirtioPci *v = &vi->vp;
    VirtQueue *vq = &v->vq[0];
    bool pushed = false;
    if (!(v->s.status & VIRTIO_STATUS_DRIVER_OK) || !vq->s.enabled)
        return;
    while (vi->count && vq_pending(vq)) {
        VirtQueueElement *e;
        int r = vq_pop(vq, &e);
        if (r < 0) {
            virtio_queue_broken(v, 0);
            break;
        }
        if (r == 0)
            break;
        InputEvent *ev = &vi->q[vi->head];
        uint8_t b[8] = { ev->type, ev->type >> 8, ev->code, ev->code >> 8, ev->value,
                         ev->value >> 8, ev->value >> 16, ev->value >> 24 };
        size_t done = 0;
        for (unsigned i = e->out_num; i < e->out_num + e->in_num && done < 8; i++) {
            size_t n = MIN(e->iov[i].iov_len, 8 - done);
            memcpy(e->iov[i].iov_base, b + done, n);
            done += n;
        }
        vq_push(vq, e, done);
        vi->head = (vi->head + 1) % EVQ_MAX;
        vi->count--;
        pushed = true;
    }
    if (pushed)
        virtio_notify(v, 0);
}

static void sync_report(VirtioInput *vi)
{
    evq_push(vi, EV_SYN, SYN_REPORT, 0);
    evq_flush(vi);
}

static void vi_key(void *opaque, QKeyCode key, bool down)
{
    VirtioInput *vi = opaque;
    unsigned code = qcode_to_linux(key);
    if (!code)
        return;
    evq_push(vi, EV_KEY, code, down);
    sync_report(vi);
}

static void vi_pointer(void *opaque, const InputPointer *p)
{
    VirtioInput *vi = opaque;
    static const uint16_t btn_code[] = { BTN_LEFT, BTN_LEFT + 2, BTN_LEFT + 1, 0, 0,
                                         BTN_LEFT + 3, BTN_LEFT + 4 };
    unsigned changed = (p->buttons ^ vi->buttons) & 0x7f;
    for (unsigned b = 0; b < G_N_ELEMENTS(btn_code); b++) {
        if (!(changed & (1u << b)))
            continue;
        if (b == INPUT_BUTTON_WHEEL_UP || b == INPUT_BUTTON_WHEEL_DOWN) {
            if (p->buttons & (1u << b))
                evq_push(vi, EV_REL, REL_WHEEL, b == INPUT_BUTTON_WHEEL_UP ? 1 : (uint32_t)-1);
        } else {
            evq_push(vi, EV_KEY, btn_code[b], !!(p->buttons & (1u << b)));
        }
    }
    vi->buttons = p->buttons;
    if (p->abs) {
        evq_push(vi, EV_ABS, ABS_X, p->x);
        evq_push(vi, EV_ABS, ABS_Y, p->y);
    } else {
        if (p->x)
            evq_push(vi, EV_REL, REL_X, (uint32_t)p->x);
        if (p->y)
            evq_push(vi, EV_REL, REL_Y, (uint32_t)p->y);
    }
    sync_report(vi);
}

static bool vi_ready(void *opaque)
{
    VirtioInput *vi = opaque;
    return vi->vp.s.status & VIRTIO_STATUS_DRIVER_OK;
}

/* Status queue: LED events from the driver (EV_LED). */
static void vi_status(VirtioInput *vi)
{
    VirtQueue *vq = &vi->vp.vq[1];
    VirtQueueElement *e;
    int r;
    while ((r = vq_pop(vq, &e)) > 0) {
        uint8_t b[8] = { 0 };
        size_t done = 0;
        for (unsigned i = 0; i < e->out_num && done < 8; i++) {
            size_t n = MIN(e->iov[i].iov_len, 8 - done);
            memcpy(b + done, e->iov[i].iov_base, n);
            done += n;
        }
        if (done == 8 && (b[0] | b[1] << 8) == EV_LED) {
            unsigned code = b[2] | b[3] << 8, on = b[4];
            unsigned bit = code == LED_NUML ? INPUT_LED_NUM : code == LED_CAPSL ?
                           INPUT_LED_CAPS : code == LED_SCROLLL ? INPUT_LED_SCROLL : 0;
            Machine *m = vi->vp.pci.dev.machine;
            unsigned leds = console_leds(m);
            console_set_leds(m, on ? leds | bit : leds & ~bit);
        }
        vq_push(vq, e, 0);
    }
    if (r < 0)
        virtio_queue_broken(&vi->vp, 1);
    virtio_notify(&vi->vp, 1);
}

static void vi_handle_queue(VirtioPci *v, unsigned q)
{
    VirtioInput *vi = (VirtioInput *)v;
    if (q == 0)
        evq_flush(vi);
    else
        vi_status(vi);
}

/* ---- configuration (5.8.4) ---- */

static void set_bit(uint8_t *bits, unsigned n, uint8_t *size)
{
    if (n / 8 < 128) {
        bits[n / 8] |= 1u << (n % 8);
        *size = MAX(*size, n / 8 + 1);
    }
}

static void vi_config_write(VirtioPci *v, unsigned off, unsigned len)
{
    VirtioInput *vi = (VirtioInput *)v;
    uint8_t sel = v->config[0], sub = v->config[1], *size = &v->config[2];
    uint8_t *data = v->config + 8;
    memset(v->config + 3, 0, 5);
    /* Only select / subsel are writable: a write anywhere else is undone by answering
     * the current query again. */
    *size = 0;
    memset(data, 0, 128);
    switch (sel) {
    case CFG_ID_NAME:
        *size = strlen(names[vi->kind]);
        memcpy(data, names[vi->kind], *size);
        break;
    case CFG_ID_SERIAL:
        if (vi->serial) {
            *size = MIN(strlen(vi->serial), 128u);
            memcpy(data, vi->serial, *size);
        }
        break;
    case CFG_ID_DEVIDS: {
        uint16_t ids[4] = { 0x06 /* BUS_VIRTUAL */, 0x0627, vi->kind + 1, 1 };
        memcpy(data, ids, 8);             /* little-endian host */
        *size = 8;
        break;
    }
    case CFG_EV_BITS:
        if (sub == EV_KEY && vi->kind == VI_KEYBOARD) {
            for (unsigned k = 1; k < Q_KEY_CODE__MAX; k++)
                if (qcode_to_linux(k))
                    set_bit(data, qcode_to_linux(k), size);
        } else if (sub == EV_KEY) {
            for (unsigned b = 0; b < 5; b++)
                set_bit(data, BTN_LEFT + b, size);
        } else if (sub == EV_REL && vi->kind != VI_KEYBOARD) {
            if (vi->kind == VI_MOUSE) {
                set_bit(data, REL_X, size);
                set_bit(data, REL_Y, size);
            }
            set_bit(data, REL_WHEEL, size);
        } else if (sub == EV_ABS && vi->kind == VI_TABLET) {
            set_bit(data, ABS_X, size);
            set_bit(data, ABS_Y, size);
        } else if (sub == EV_LED && vi->kind == VI_KEYBOARD) {
            set_bit(data, LED_NUML, size);
            set_bit(data, LED_CAPSL, size);
            set_bit(data, LED_SCROLLL, size);
        } else if (sub == EV_REP && vi->kind == VI_KEYBOARD) {
            *size = 1;
        }
        break;
    case CFG_ABS_INFO:
        if (vi->kind == VI_TABLET && (sub == ABS_X || sub == ABS_Y)) {
            uint32_t info[5] = { 0, INPUT_ABS_MAX, 0, 0, 0 };
            memcpy(data, info, 20);
            *size = 20;
        }
        break;
    default:
        break;                            /* PROP_BITS and unknown: size 0 */
    }
}

/* ---- device ---- */

static void vi_reset_dev(VirtioPci *v)
{
    VirtioInput *vi = (VirtioInput *)v;
    vi->head = vi->count = 0;
    vi->buttons = 0;
    memset(v->config, 0, 136);
}

static const VirtioDeviceInfo vi_info = {
    .name = "virtio-input",
    .device_id = VIRTIO_ID_INPUT,
    .class_code = 0x098000,               /* input device, other (as QEMU) */
    .num_queues = 2,
    .queue_size = 64,
    .config_size = 136,
    .handle_queue = vi_handle_queue,
    .config_write = vi_config_write,
    .reset = vi_reset_dev,
};

static bool vi_realize(Device *dev, VirtioInputKind kind)
{
    VirtioInput *vi = (VirtioInput *)dev;
    vi->kind = kind;
    vi->handler = (InputHandler){
        .name = names[kind],
        .mask = kind == VI_KEYBOARD ? INPUT_MASK_KEY : kind == VI_MOUSE ? INPUT_MASK_REL
                                                                          : INPUT_MASK_ABS,
        .key = vi_key, .pointer = vi_pointer, .ready = vi_ready, .opaque = vi,
    };
    input_register(dev->machine, &vi->handler);
    return true;
}

static bool kbd_realize(Device *dev, GError **errp)
{
    return virtio_pci_realize(&((VirtioInput *)dev)->vp, &vi_info, errp) &&
           vi_realize(dev, VI_KEYBOARD);
}
static bool mouse_realize(Device *dev, GError **errp)
{
    return virtio_pci_realize(&((VirtioInput *)dev)->vp, &vi_info, errp) &&
           vi_realize(dev, VI_MOUSE);
}
static bool tablet_realize(Device *dev, GError **errp)
{
    return virtio_pci_realize(&((VirtioInput *)dev)->vp, &vi_info, errp) &&
           vi_realize(dev, VI_TABLET);
}

static void vi_reset(Device *dev)
{
    VirtioInput *vi = (VirtioInput *)dev;
    pci_device_reset(&vi->vp.pci);
    virtio_pci_reset(&vi->vp);
}

static void vi_unrealize(Device *dev)
{
    VirtioInput *vi = (VirtioInput *)dev;
    input_unregister(dev->machine, &vi->handler);
    virtio_pci_unrealize(&vi->vp);
}

static const Property vi_props[] = {
    PROP("serial", PROP_STR, VirtioInput, serial, NULL, "serial number reported to the guest"),
    PROP_END,
};

/* Migrated: the events not yet in the driver's buffers, the last button state. */
static const VMStateField input_event_fields[] = {
    VMS_FIELD(InputEvent, type), VMS_FIELD(InputEvent, code), VMS_FIELD(InputEvent, value),
    VMS_END
};

static const VMStateDesc input_event_vmsd = {
    .name = "virtio-input-event", .version = 1, .min_version = 1,
    .fields = input_event_fields,
};

static const VMStateField vi_fields[] = {
    VMS_STRUCT_ARRAY(VirtioInput, q, input_event_vmsd),
    VMS_FIELD(VirtioInput, head), VMS_FIELD(VirtioInput, count),
    VMS_FIELD(VirtioInput, buttons),
    VMS_END
};

/* A stream is hostile input: the queue position indexes q[]. */
static bool vi_state_post_load(void *state, int version, GError **errp)
{
    const VirtioInput *vi = state;
    if (vi->head >= EVQ_MAX || vi->count > EVQ_MAX)
        return vmstate_invalid(errp, "virtio-input", "event queue at %u+%u (holds %u)",
                               vi->head, vi->count, EVQ_MAX);
    if (vi->buttons >> INPUT_BUTTON__MAX)
        return vmstate_invalid(errp, "virtio-input", "button state 0x%x", vi->buttons);
    return true;
}

static const VMStateDesc vi_vmsd = {
    .name = "virtio-input", .version = 1, .min_version = 1, .fields = vi_fields,
    .post_load = vi_state_post_load,
};

/* Events queued on the source go out as soon as the driver has buffers. */
static void vi_post_load(Device *dev)
{
    evq_flush((VirtioInput *)dev);
}

/* QEMU's abstract chain: virtio-pci, virtio-input-pci, virtio-input-hid-pci, then one
 * virtio-X-pci-base-type per device. */
const DeviceClass virtio_input_pci_class = {
    .name = "virtio-input-pci", .parent = &virtio_pci_class, .abstract = true,
    .bus = BUS_PCI,
};
const DeviceClass virtio_input_hid_pci_class = {
    .name = "virtio-input-hid-pci", .parent = &virtio_input_pci_class, .abstract = true,
    .bus = BUS_PCI,
};

#define VIRTIO_INPUT_CLASS(sym, n, d, fn) \
    const DeviceClass sym##_base = { \
        .name = n "-base-type", .parent = &virtio_input_hid_pci_class, .abstract = true, \
        .bus = BUS_PCI, .props = virtio_pci_generic_props, \
    }; \
    const DeviceClass sym = { \
        .name = n, .parent = &sym##_base, .desc = d, .bus = BUS_PCI, \
        .instance_size = sizeof(VirtioInput), .props = vi_props, .user_creatable = true, \
        .realize = fn, .reset = vi_reset, .unrealize = vi_unrealize, \
        .vmsd = &vi_vmsd, .state_offset = 0, .post_load = vi_post_load, \
    }

VIRTIO_INPUT_CLASS(virtio_keyboard_pci_class, "virtio-keyboard-pci",
                   "virtio keyboard (virtio-input)", kbd_realize);
VIRTIO_INPUT_CLASS(virtio_mouse_pci_class, "virtio-mouse-pci",
                   "virtio mouse (virtio-input, relative)", mouse_realize);
VIRTIO_INPUT_CLASS(virtio_tablet_pci_class, "virtio-tablet-pci",
                   "virtio tablet (virtio-input, absolute)", tablet_realize);
