/*
 * QMP of the VNC server (QEMU 7.2 qapi/ui.json, ui/vnc.c texts): query-vnc,
 * query-vnc-servers, set_password / expire_password / change-vnc-password, and the
 * VNC_CONNECTED / VNC_INITIALIZED / VNC_DISCONNECTED events.
 */
#include "ui/vnc-int.h"
#include "vireo/vnc.h"
#include "qapi/qapi-generated.h"
#include "qapi/monitor-int.h"
#include <string.h>

static const char *auth_name(VncDisplay *vd)
{
    return vd->password_auth ? "vnc" : "none";
}

static VncServerInfo *server_info(VncDisplay *vd)
{
    VncServerInfo *s = g_new0(VncServerInfo, 1);
    s->host = g_strdup(vd->host);
    s->service = g_strdup(vd->service);
    s->family = vd->family;
    s->auth = g_strdup(auth_name(vd));
    return s;
}

static VncClientInfo *client_info(VncClient *c)
{
    VncClientInfo *i = g_new0(VncClientInfo, 1);
    i->host = g_strdup(c->host);
    i->service = g_strdup(c->service);
    i->family = c->family;
    i->websocket = c->ws_state != WS_NONE;
    return i;
}

void vnc_event_connected(VncClient *c)
{
    VncServerInfo *s = server_info(c->vd);
    VncBasicInfo b = { .host = c->host, .service = c->service, .family = c->family,
                       .websocket = c->ws_state != WS_NONE };
    qapi_event_send_vnc_connected(c->vd->m, s, &b);
    qapi_free_VncServerInfo(s);
}

void vnc_event_initialized(VncClient *c)
{
    VncServerInfo *s = server_info(c->vd);
    VncClientInfo *i = client_info(c);
    qapi_event_send_vnc_initialized(c->vd->m, s, i);
    qapi_free_VncServerInfo(s);
    qapi_free_VncClientInfo(i);
}

void vnc_event_disconnected(VncClient *c)
{
    VncServerInfo *s = server_info(c->vd);
    VncClientInfo *i = client_info(c);
    qapi_event_send_vnc_disconnected(c->vd->m, s, i);
    qapi_free_VncServerInfo(s);
    qapi_free_VncClientInfo(i);
}

static GPtrArray *clients_of(VncDisplay *vd)
{
    GPtrArray *a = g_ptr_array_new_with_free_func((GDestroyNotify)qapi_free_VncClientInfo);
    for (guint i = 0; i < vd->clients->len; i++)
        g_ptr_array_add(a, client_info(vd->clients->pdata[i]));
    return a;
}

VncInfo *qmp_query_vnc(Machine *m, GError **errp)
{
    VncInfo *i = g_new0(VncInfo, 1);
    VncDisplay *vd = vnc_find(m, NULL);
    i->enabled = vd != NULL;
    if (!vd)
        return i;
    i->host = g_strdup(vd->host);
    i->has_family = true;
    i->family = vd->family;
    i->service = g_strdup(vd->service);
    i->auth = g_strdup(auth_name(vd));
    i->clients = clients_of(vd);
    return i;
}

GPtrArray *qmp_query_vnc_servers(Machine *m, GError **errp)
{
    GPtrArray *a = g_ptr_array_new_with_free_func((GDestroyNotify)qapi_free_VncInfo2);
    GPtrArray *vds = ui_state(m)->vnc;
    for (guint k = 0; k < vds->len; k++) {
        VncDisplay *vd = vds->pdata[k];
        VncInfo2 *i = g_new0(VncInfo2, 1);
        i->id = g_strdup(vd->id);
        i->auth = vd->password_auth ? VNC_PRIMARY_AUTH_VNC : VNC_PRIMARY_AUTH_NONE;
        i->clients = clients_of(vd);
        i->server = g_ptr_array_new_with_free_func((GDestroyNotify)qapi_free_VncServerInfo2);
        VncServerInfo2 *s = g_new0(VncServerInfo2, 1);
        s->host = g_strdup(vd->host);
        s->service = g_strdup(vd->service);
        s->family = vd->family;
        s->auth = i->auth;
        g_ptr_array_add(i->server, s);
        if (vd->ws_lfd >= 0) {                  /* the websocket listener, as QEMU lists it */
            s = g_new0(VncServerInfo2, 1);
            s->host = g_strdup(vd->ws_host);
            s->service = g_strdup(vd->ws_service);
            s->family = vd->ws_family;
            s->websocket = true;
            s->auth = i->auth;
            g_ptr_array_add(i->server, s);
        }
        Device *dev = console_device(vd->con);
        i->display = g_strdup(dev && dev->id ? dev->id : NULL);
        g_ptr_array_add(a, i);
    }
    return a;
}

static bool set_vnc_password(Machine *m, const char *display, const char *password,
                             GError **errp)
{
    VncDisplay *vd = vnc_find(m, display);
    if (!vd || !vd->password_auth) {
        g_set_error(errp, QMP_ERROR, QAPI_ERROR_CLASS_GENERICERROR,
                    "Could not set password");
        return false;
    }
    g_free(vd->password);
    vd->password = g_strdup(password);
    return true;
}

void qmp_change_vnc_password(Machine *m, const char *password, GError **errp)
{
    set_vnc_password(m, NULL, password, errp);
}

static bool get_str(JsonObject *args, const char *key, bool required, char **out,
                    GError **errp)
{
    JsonNode *n = json_object_get_member(args, key);
    *out = NULL;
    if (!n)
        return required ? qv_missing(NULL, key, errp) : true;
    return qv_str(n, NULL, key, out, errp);
}

static bool get_protocol(JsonObject *args, int *proto, GError **errp)
{
    JsonNode *n = json_object_get_member(args, "protocol");
    if (!n)
        return qv_missing(NULL, "protocol", errp);
    if (!qv_enum(n, NULL, "protocol", DisplayProtocol_str, QAPI_COUNT_DisplayProtocol, proto,
                 errp))
        return false;
    if (*proto == DISPLAY_PROTOCOL_SPICE) {
        g_set_error(errp, QMP_ERROR, QAPI_ERROR_CLASS_GENERICERROR, "SPICE is not in use");
        return false;
    }
    return true;
}

bool qmp_set_password(QmpCtx *c, JsonObject *args, GString *ret, GError **errp)
{
    static const char *const known[] = { "protocol", "password", "connected", "display",
                                         NULL };
    int proto, connected = SET_PASSWORD_ACTION_KEEP;
    g_autofree char *password = NULL, *display = NULL;
    if (!qv_check_unexpected(args, NULL, known, errp) || !get_protocol(args, &proto, errp) ||
        !get_str(args, "password", true, &password, errp) ||
        !get_str(args, "display", false, &display, errp))
        return false;
    JsonNode *n = json_object_get_member(args, "connected");
    if (n && !qv_enum(n, NULL, "connected", SetPasswordAction_str,
                      QAPI_COUNT_SetPasswordAction, &connected, errp))
        return false;
    if (connected != SET_PASSWORD_ACTION_KEEP) {
        g_set_error(errp, QMP_ERROR, QAPI_ERROR_CLASS_GENERICERROR,
                    "VNC only supports connected=keep");
        return false;
    }
    if (!set_vnc_password(c->m, display, password, errp))
        return false;
    g_string_append(ret, "{}");
    return true;
}

bool qmp_expire_password(QmpCtx *c, JsonObject *args, GString *ret, GError **errp)
{
    static const char *const known[] = { "protocol", "time", "display", NULL };
    int proto;
    g_autofree char *t = NULL, *display = NULL;
    if (!qv_check_unexpected(args, NULL, known, errp) || !get_protocol(args, &proto, errp) ||
        !get_str(args, "time", true, &t, errp) ||
        !get_str(args, "display", false, &display, errp))
        return false;
    int64_t now = g_get_real_time() / 1000000, when;
    uint64_t v = 0;
    if (!strcmp(t, "now"))
        when = now;
    else if (!strcmp(t, "never"))
        when = 0;
    else if (t[0] == '+' && str_to_u64(t + 1, &v))
        when = now + (int64_t)MIN(v, (uint64_t)INT32_MAX);
    else if (str_to_u64(t, &v))
        when = (int64_t)MIN(v, (uint64_t)INT64_MAX / 2);
    else
        when = -1;
    VncDisplay *vd = vnc_find(c->m, display);
    if (!vd || when < 0) {
        g_set_error(errp, QMP_ERROR, QAPI_ERROR_CLASS_GENERICERROR,
                    "Could not set password expire time.");
        return false;
    }
    vd->expires = when == 0 ? 0 : MAX(when, 1);
    g_string_append(ret, "{}");
    return true;
}
