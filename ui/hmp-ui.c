/*
 * HMP commands of the display layer (QEMU 7.2 hmp-commands*.hx texts): screendump,
 * sendkey, info vnc, info mice. They call the QMP handlers.
 */
#include "ui/vnc-int.h"
#include "vireo/vnc.h"
#include "qapi/qapi-generated.h"
#include "qapi/monitor-int.h"
#include <string.h>

static void report(GString *out, GError *err)
{
    if (err) {
        g_string_append_printf(out, "Error: %s\n", err->message);
        g_error_free(err);
    }
}

/* screendump FILENAME [-f png|ppm] [device [head]] (QEMU: "filename [-f format]
 * [device [head]]"). */
void hmp_screendump(MonitorSession *s, const char *args, GString *out)
{
    g_auto(GStrv) w = g_strsplit_set(args, " \t", -1);
    const char *file = NULL, *dev = NULL, *head = NULL;
    bool png = false;
    GError *err = NULL;
    for (char **p = w; *p; p++) {
        if (!**p)
            continue;
        if (!strcmp(*p, "-f") && p[1]) {
            p++;
            if (strcmp(*p, "png") && strcmp(*p, "ppm")) {
                g_string_append_printf(out, "Error: Parameter 'format' does not accept value "
                                       "'%s'\n", *p);
                return;
            }
            png = !strcmp(*p, "png");
        } else if (!file) {
            file = *p;
        } else if (!dev) {
            dev = *p;
        } else if (!head) {
            head = *p;
        }
    }
    if (!file) {
        g_string_append(out, "Parameter 'filename' is missing\n");
        return;
    }
    qmp_screendump(s->m, file, dev, head != NULL, head ? strtoll(head, NULL, 0) : 0, true,
                   png ? IMAGE_FORMAT_PNG : IMAGE_FORMAT_PPM, &err);
    report(out, err);
}

/* sendkey KEYS [HOLD_MS]: KEYS are qcode names or numbers joined by '-' ("ctrl-alt-f1"). */
void hmp_sendkey(MonitorSession *s, const char *args, GString *out)
{
    g_auto(GStrv) w = g_strsplit_set(args, " \t", 2);
    if (!w[0] || !*w[0]) {
        g_string_append(out, "Parameter 'keys' is missing\n");
        return;
    }
    g_auto(GStrv) keys = g_strsplit(w[0], "-", -1);
    g_autoptr(GArray) codes = g_array_new(FALSE, FALSE, sizeof(QKeyCode));
    for (char **k = keys; *k; k++) {
        QKeyCode q = qcode_from_name(*k);
        uint64_t n;
        if (q == Q_KEY_CODE__MAX && str_to_u64(*k, &n) && n <= 0xff)
            q = qnum_to_qcode(n);
        if (q == Q_KEY_CODE__MAX || q == Q_KEY_CODE_UNMAPPED) {
            g_string_append_printf(out, "invalid parameter: %s\n", *k);
            return;
        }
        g_array_append_val(codes, q);
    }
    uint64_t hold = 100;
    if (w[1] && *w[1] && !str_to_u64(w[1], &hold)) {
        g_string_append_printf(out, "invalid parameter: %s\n", w[1]);
        return;
    }
    for (guint i = 0; i < codes->len; i++)
        input_queue_key(s->m, g_array_index(codes, QKeyCode, i), true);
    input_queue_delay(s->m, MIN(hold, 60000));
    for (guint i = codes->len; i-- > 0;)
        input_queue_key(s->m, g_array_index(codes, QKeyCode, i), false);
}

static const char *family_name(int f)
{
    return NetworkAddressFamily_str[CLAMP(f, 0, QAPI_COUNT_NetworkAddressFamily - 1)];
}

void hmp_info_vnc(MonitorSession *s, const char *args, GString *out)
{
    GPtrArray *a = qmp_query_vnc_servers(s->m, NULL);
    if (!a->len)
        g_string_append(out, "None\n");
    for (guint i = 0; i < a->len; i++) {
        VncInfo2 *v = a->pdata[i];
        g_string_append_printf(out, "%s:\n", v->id);
        for (guint k = 0; k < v->server->len; k++) {
            VncServerInfo2 *sv = v->server->pdata[k];
            g_string_append_printf(out, "  Server: %s:%s (%s)\n    Auth: %s (Sub: none)\n",
                                   sv->host, sv->service, family_name(sv->family),
                                   VncPrimaryAuth_str[sv->auth]);
        }
        for (guint k = 0; k < v->clients->len; k++) {
            VncClientInfo *c = v->clients->pdata[k];
            g_string_append_printf(out, "  Client: %s:%s (%s)\n    x509_dname: none\n"
                                   "    sasl_username: none\n", c->host, c->service,
                                   family_name(c->family));
        }
    }
    g_ptr_array_unref(a);
}

void hmp_info_mice(MonitorSession *s, const char *args, GString *out)
{
    GPtrArray *a = qmp_query_mice(s->m, NULL);
    if (!a->len)
        g_string_append(out, "No mouse devices connected\n");
    for (guint i = 0; i < a->len; i++) {
        MouseInfo *mi = a->pdata[i];
        g_string_append_printf(out, "%c Mouse #%" G_GINT64_FORMAT ": %s%s\n",
                               mi->current ? '*' : ' ', mi->index, mi->name,
                               mi->absolute ? " (absolute)" : "");
    }
    g_ptr_array_unref(a);
}
