/*
 * Input routing (include/vireo/input.h), after QEMU's ui/input.c: front-ends send
 * events, the newest ready handler of the right kind receives them.
 */
#include "ui/ui-internal.h"
#include <string.h>

static bool handler_ready(InputHandler *h)
{
    return !h->ready || h->ready(h->opaque);
}

/* The newest ready handler with @mask, else the newest one with it at all. */
static InputHandler *find_handler(Machine *m, unsigned mask)
{
    GPtrArray *a = ui_state(m)->input_handlers;
    InputHandler *fallback = NULL;
    for (guint i = a->len; i-- > 0;) {
        InputHandler *h = a->pdata[i];
        if (!(h->mask & mask))
            continue;
        if (handler_ready(h))
            return h;
        fallback = fallback ? fallback : h;
    }
    return mask == INPUT_MASK_ABS ? NULL : fallback;
}

void input_register(Machine *m, InputHandler *h)
{
    UiState *ui = ui_state(m);
    unsigned idx = 0;
    for (guint i = 0; i < ui->input_handlers->len; i++)
        idx = MAX(idx, ((InputHandler *)ui->input_handlers->pdata[i])->index + 1);
    h->index = idx;
    g_ptr_array_add(ui->input_handlers, h);
}

void input_unregister(Machine *m, InputHandler *h)
{
    if (m->ui)
        g_ptr_array_remove(m->ui->input_handlers, h);
}

void input_key(Machine *m, QKeyCode key, bool down)
{
    if (key <= Q_KEY_CODE_UNMAPPED || key >= Q_KEY_CODE__MAX)
        return;
    if (key == Q_KEY_CODE_SYSRQ)          /* QEMU: 'sysrq' is a synonym of 'print' */
        key = Q_KEY_CODE_PRINT;
    InputHandler *h = find_handler(m, INPUT_MASK_KEY);
    if (h && h->key)
        h->key(h->opaque, key, down);
}

void input_key_number(Machine *m, unsigned qnum, bool down)
{
    input_key(m, qnum_to_qcode(qnum), down);
}

bool input_is_absolute(Machine *m)
{
    return find_handler(m, INPUT_MASK_ABS) != NULL;
}

void input_pointer(Machine *m, const InputPointer *p)
{
    UiState *ui = ui_state(m);
    InputHandler *h = p->abs ? find_handler(m, INPUT_MASK_ABS) : NULL;
    if (h) {
        InputPointer q = *p;
        q.x = CLAMP(q.x, 0, INPUT_ABS_MAX);
        q.y = CLAMP(q.y, 0, INPUT_ABS_MAX);
        h->pointer(h->opaque, &q);
    } else if ((h = find_handler(m, INPUT_MASK_REL))) {
        InputPointer q = *p;
        if (p->abs) {
            /* No tablet: a relative move from the last absolute position. The axis
             * range is scaled to a 1024-unit screen, as mice count in their own units. */
            int x = (int)((int64_t)CLAMP(p->x, 0, INPUT_ABS_MAX) * 1024 / INPUT_ABS_MAX);
            int y = (int)((int64_t)CLAMP(p->y, 0, INPUT_ABS_MAX) * 768 / INPUT_ABS_MAX);
            q.abs = false;
            q.x = ui->abs_valid ? x - ui->abs_x : 0;
            q.y = ui->abs_valid ? y - ui->abs_y : 0;
            ui->abs_x = x;
            ui->abs_y = y;
            ui->abs_valid = true;
        }
        h->pointer(h->opaque, &q);
    }
}

void input_foreach_mouse(Machine *m, void (*fn)(InputHandler *h, bool current,
                                                void *opaque), void *opaque)
{
    GPtrArray *a = ui_state(m)->input_handlers;
    InputHandler *cur = find_handler(m, INPUT_MASK_ABS);
    if (!cur)
        cur = find_handler(m, INPUT_MASK_REL);
    for (guint i = 0; i < a->len; i++) {
        InputHandler *h = a->pdata[i];
        if (h->mask & (INPUT_MASK_REL | INPUT_MASK_ABS))
            fn(h, h == cur, opaque);
    }
}

/* ---- delayed key events (send-key's hold time), QEMU's input queue ---- */

typedef struct QueuedKey {
    QKeyCode key;
    bool down;
    unsigned delay_ms;                 /* a delay entry when non-zero */
} QueuedKey;

#define INPUT_QUEUE_MAX 4096           /* entries; a flood of send-key is refused */

static void queue_run(void *opaque)
{
    Machine *m = opaque;
    UiState *ui = ui_state(m);
    while (!g_queue_is_empty(&ui->keyq)) {
        QueuedKey *q = g_queue_pop_head(&ui->keyq);
        unsigned delay = q->delay_ms;
        if (!delay)
            input_key(m, q->key, q->down);
        g_free(q);
        if (delay) {
            timer_mod(ui->keyq_timer, clock_ns(m->clock) + (int64_t)delay * 1000000);
            return;
        }
    }
}

static bool queue_push(Machine *m, QKeyCode key, bool down, unsigned delay_ms)
{
    UiState *ui = ui_state(m);
    if (!ui->keyq_timer)
        ui->keyq_timer = timer_new(m->clock, queue_run, m);
    if (g_queue_is_empty(&ui->keyq) && !timer_pending(ui->keyq_timer)) {
        if (!delay_ms) {
            input_key(m, key, down);
            return true;
        }
    }
    if (g_queue_get_length(&ui->keyq) >= INPUT_QUEUE_MAX)
        return false;
    QueuedKey *q = g_new0(QueuedKey, 1);
    *q = (QueuedKey){ .key = key, .down = down, .delay_ms = delay_ms };
    g_queue_push_tail(&ui->keyq, q);
    if (!timer_pending(ui->keyq_timer))
        queue_run(m);
    return true;
}

bool input_queue_key(Machine *m, QKeyCode key, bool down)
{
    return queue_push(m, key, down, 0);
}

bool input_queue_delay(Machine *m, unsigned ms)
{
    return ms == 0 || queue_push(m, Q_KEY_CODE_UNMAPPED, false, ms);
}

void ui_free(Machine *m)
{
    UiState *ui = m->ui;
    if (!ui)
        return;
    console_free_all(m);
    timer_free(ui->keyq_timer);
    g_queue_clear_full(&ui->keyq, g_free);
    g_ptr_array_free(ui->consoles, TRUE);
    g_ptr_array_free(ui->input_handlers, TRUE);
    g_ptr_array_free(ui->vnc, TRUE);
    g_ptr_array_free(ui->audiodevs, TRUE);
    g_free(ui);
    m->ui = NULL;
}
