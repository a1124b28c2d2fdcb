/*
 * QMP commands of the display and input layer (qapi/schema/ui.json): screendump,
 * query-mice, send-key, input-send-event. Texts follow QEMU 7.2's ui/console.c and
 * ui/input.c. Machine lock held.
 */
#include "ui/ui-internal.h"
#include "qapi/qapi-generated.h"
#include "qapi/monitor-int.h"
#include <string.h>

static Console *lookup_console(Machine *m, const char *device, bool has_head, int64_t head,
                               GError **errp)
{
    if (!device) {
        if (has_head) {
            g_set_error(errp, QMP_ERROR, QAPI_ERROR_CLASS_GENERICERROR,
                        "'head' must be specified together with 'device'");
            return NULL;
        }
        Console *c = console_get(m, 0);
        if (!c)
            g_set_error(errp, QMP_ERROR, QAPI_ERROR_CLASS_GENERICERROR,
                        "There is no console to take a screendump from.");
        return c;
    }
    if (!machine_find_device(m, device)) {
        g_set_error(errp, QMP_ERROR, QAPI_ERROR_CLASS_DEVICENOTFOUND,
                    "Device '%s' not found", device);
        return NULL;
    }
    Console *c = console_find(m, device, has_head ? head : 0);
    if (!c)
        g_set_error(errp, QMP_ERROR, QAPI_ERROR_CLASS_GENERICERROR,
                    "Device '%s' (head %" G_GINT64_FORMAT ") is not a graphic console",
                    device, has_head ? head : 0);
    return c;
}

void qmp_screendump(Machine *m, const char *filename, const char *device, bool has_head,
                    int64_t head, bool has_format, ImageFormat format, GError **errp)
{
    Console *c = lookup_console(m, device, has_head, head, errp);
    if (!c)
        return;
    if (has_format && format == IMAGE_FORMAT_PNG)
        console_write_png(c, filename, errp);
    else
        console_write_ppm(c, filename, errp);
}

static void add_mouse(InputHandler *h, bool current, void *opaque)
{
    MouseInfo *i = g_new0(MouseInfo, 1);
    i->name = g_strdup(h->name);
    i->index = h->index;
    i->current = current;
    i->absolute = h->mask & INPUT_MASK_ABS;
    g_ptr_array_add(opaque, i);
}

GPtrArray *qmp_query_mice(Machine *m, GError **errp)
{
    GPtrArray *a = g_ptr_array_new_with_free_func((GDestroyNotify)qapi_free_MouseInfo);
    input_foreach_mouse(m, add_mouse, a);
    return a;
}

/* A KeyValue union: {"type": "qcode", "data": NAME} or {"type": "number", "data": N}. */
static bool parse_key(JsonNode *n, const char *path, QKeyCode *out, GError **errp)
{
    static const char *const known[] = { "type", "data", NULL };
    JsonObject *o;
    int kind;
    if (!qv_object(n, NULL, path, &o, errp) || !qv_check_unexpected(o, path, known, errp))
        return false;
    JsonNode *t = json_object_get_member(o, "type"), *d = json_object_get_member(o, "data");
    if (!t)
        return qv_missing(path, "type", errp);
    if (!qv_enum(t, path, "type", KeyValueKind_str, QAPI_COUNT_KeyValueKind, &kind, errp))
        return false;
    if (!d)
        return qv_missing(path, "data", errp);
    if (kind == KEY_VALUE_KIND_NUMBER) {
        int64_t v;
        if (!qv_int(d, path, "data", false, INT64_MIN, INT64_MAX, "int64_t", &v, errp))
            return false;
        *out = v > 0 && v <= 0xff ? qnum_to_qcode(v) : Q_KEY_CODE_UNMAPPED;
        return true;
    }
    int q;
    if (!qv_enum(d, path, "data", QKeyCode_str, QAPI_COUNT_QKeyCode, &q, errp))
        return false;
    *out = q;
    return true;
}

bool qmp_send_key(QmpCtx *c, JsonObject *args, GString *ret, GError **errp)
{
    static const char *const known[] = { "keys", "hold-time", NULL };
    JsonArray *keys;
    int64_t hold = 100;
    if (!qv_check_unexpected(args, NULL, known, errp))
        return false;
    JsonNode *k = json_object_get_member(args, "keys");
    JsonNode *h = json_object_get_member(args, "hold-time");
    if (!k)
        return qv_missing(NULL, "keys", errp);
    if (!qv_array(k, NULL, "keys", &keys, errp) ||
        (h && !qv_int(h, NULL, "hold-time", false, INT64_MIN, INT64_MAX, "int64_t", &hold,
                      errp)))
        return false;
    guint n = json_array_get_length(keys);
    g_autofree QKeyCode *codes = g_new0(QKeyCode, n + 1);
    for (guint i = 0; i < n; i++) {
        g_autofree char *path = g_strdup_printf("keys[%u]", i);
        if (!parse_key(json_array_get_element(keys, i), path, &codes[i], errp))
            return false;
    }
    /* QEMU: press in order, hold, release in reverse order. */
    bool ok = true;
    for (guint i = 0; i < n; i++)
        ok &= input_queue_key(c->m, codes[i], true);
    ok &= input_queue_delay(c->m, hold > 0 ? MIN(hold, 60000) : 0);
    for (guint i = n; i-- > 0;)
        ok &= input_queue_key(c->m, codes[i], false);
    if (!ok) {
        g_set_error(errp, QMP_ERROR, QAPI_ERROR_CLASS_GENERICERROR,
                    "send-key: too many key events queued");
        return false;
    }
    g_string_append(ret, "{}");
    return true;
}

typedef struct PointerBatch {
    bool rel, abs, btn;
    int dx, dy, x, y;
} PointerBatch;

static bool parse_move(JsonObject *data, const char *path, int *axis, int64_t *value,
                       GError **errp)
{
    static const char *const known[] = { "axis", "value", NULL };
    JsonNode *a = json_object_get_member(data, "axis"), *v = json_object_get_member(data,
                                                                                 "value");
    if (!qv_check_unexpected(data, path, known, errp))
        return false;
    if (!a)
        return qv_missing(path, "axis", errp);
    if (!qv_enum(a, path, "axis", InputAxis_str, QAPI_COUNT_InputAxis, axis, errp))
        return false;
    if (!v)
        return qv_missing(path, "value", errp);
    return qv_int(v, path, "value", false, INT64_MIN, INT64_MAX, "int64_t", value, errp);
}

static bool parse_event(Machine *m, JsonNode *n, const char *path, PointerBatch *b,
                        GError **errp)
{
    static const char *const known[] = { "type", "data", NULL };
    UiState *ui = ui_state(m);
    JsonObject *o, *data;
    int kind;
    if (!qv_object(n, NULL, path, &o, errp) || !qv_check_unexpected(o, path, known, errp))
        return false;
    JsonNode *t = json_object_get_member(o, "type"), *d = json_object_get_member(o, "data");
    if (!t)
        return qv_missing(path, "type", errp);
    if (!qv_enum(t, path, "type", InputEventKind_str, QAPI_COUNT_InputEventKind, &kind,
                 errp))
        return false;
    if (!d)
        return qv_missing(path, "data", errp);
    g_autofree char *dpath = g_strdup_printf("%s.data", path);
    if (!qv_object(d, path, "data", &data, errp))
        return false;
    if (kind == INPUT_EVENT_KIND_KEY) {
        static const char *const kk[] = { "key", "down", NULL };
        JsonNode *key = json_object_get_member(data, "key");
        JsonNode *down = json_object_get_member(data, "down");
        QKeyCode q;
        bool dn;
        if (!qv_check_unexpected(data, dpath, kk, errp))
            return false;
        if (!key)
            return qv_missing(dpath, "key", errp);
        g_autofree char *kpath = g_strdup_printf("%s.key", dpath);
        if (!parse_key(key, kpath, &q, errp))
            return false;
        if (!down)
            return qv_missing(dpath, "down", errp);
        if (!qv_bool(down, dpath, "down", false, &dn, errp))
            return false;
        input_queue_key(m, q, dn);
        return true;
    }
    if (kind == INPUT_EVENT_KIND_BTN) {
        static const char *const kb[] = { "button", "down", NULL };
        JsonNode *btn = json_object_get_member(data, "button");
        JsonNode *down = json_object_get_member(data, "down");
        int button;
        bool dn;
        if (!qv_check_unexpected(data, dpath, kb, errp))
            return false;
        if (!btn)
            return qv_missing(dpath, "button", errp);
        if (!qv_enum(btn, dpath, "button", InputButton_str, QAPI_COUNT_InputButton, &button,
                     errp))
            return false;
        if (!down)
            return qv_missing(dpath, "down", errp);
        if (!qv_bool(down, dpath, "down", false, &dn, errp))
            return false;
        ui->buttons = dn ? ui->buttons | (1u << button) : ui->buttons & ~(1u << button);
        b->btn = true;
        return true;
    }
    int axis;
    int64_t v;
    if (!parse_move(data, dpath, &axis, &v, errp))
        return false;
    v = CLAMP(v, -INPUT_ABS_MAX * 16LL, INPUT_ABS_MAX * 16LL);
    if (kind == INPUT_EVENT_KIND_REL) {
        b->rel = true;
        *(axis ? &b->dy : &b->dx) += v;
    } else {
        b->abs = true;
        *(axis ? &ui->ptr_y : &ui->ptr_x) = CLAMP(v, 0, INPUT_ABS_MAX);
    }
    return true;
}

bool qmp_input_send_event(QmpCtx *c, JsonObject *args, GString *ret, GError **errp)
{
    static const char *const known[] = { "device", "head", "events", NULL };
    JsonArray *events;
    char *device = NULL;
    int64_t head = 0;
    if (!qv_check_unexpected(args, NULL, known, errp))
        return false;
    JsonNode *d = json_object_get_member(args, "device");
    JsonNode *h = json_object_get_member(args, "head");
    JsonNode *e = json_object_get_member(args, "events");
    if ((d && !qv_str(d, NULL, "device", &device, errp)) ||
        (h && !qv_int(h, NULL, "head", false, INT64_MIN, INT64_MAX, "int64_t", &head, errp)))
        return false;
    g_autofree char *dev = device;
    if (dev && !lookup_console(c->m, dev, h != NULL, head, errp))
        return false;
    if (!e)
        return qv_missing(NULL, "events", errp);
    if (!qv_array(e, NULL, "events", &events, errp))
        return false;
    PointerBatch b = { 0 };
    for (guint i = 0; i < json_array_get_length(events); i++) {
        g_autofree char *path = g_strdup_printf("events[%u]", i);
        if (!parse_event(c->m, json_array_get_element(events, i), path, &b, errp))
            return false;
    }
    UiState *ui = ui_state(c->m);
    if (b.abs || (b.btn && !b.rel && input_is_absolute(c->m)))
        input_pointer(c->m, &(InputPointer){ .abs = true, .x = ui->ptr_x, .y = ui->ptr_y,
                                             .buttons = ui->buttons });
    else if (b.rel || b.btn)
        input_pointer(c->m, &(InputPointer){ .x = b.dx, .y = b.dy,
                                             .buttons = ui->buttons });
    g_string_append(ret, "{}");
    return true;
}
