/*
 * VNC over websockets (RFC 6455), for noVNC and other browser clients: `-vnc
 * :N,websocket=on|PORT|HOST:PORT` opens a second listening socket whose clients first
 * send an HTTP/1.1 Upgrade request; after the 101 answer the RFB session runs as on the
 * plain socket, its bytes carried in binary frames.
 *
 * The client is treated as hostile:
 *  - the HTTP request is read into at most VNC_WS_HTTP_MAX bytes (then 400 and closed),
 *    only GET with Upgrade: websocket, Connection: upgrade, Sec-WebSocket-Version: 13
 *    and a key that is 16 bytes of base64 is accepted; a Sec-WebSocket-Protocol list
 *    must offer "binary" (the answer names it), as QEMU's; refusals are "400 Bad
 *    Request" naming version 13, as QEMU 7.2's;
 *  - frames: the RSV bits must be 0 (no extension is negotiated), every frame from the
 *    client must be masked (5.1), text frames are refused (RFB is binary), control
 *    frames are at most 125 bytes and not fragmented, a continuation needs an open
 *    fragmented message and a new data frame needs none, a data frame announces at
 *    most VNC_WS_FRAME_MAX bytes (64-bit lengths with the top bit set are refused).
 *    Any breach: a close frame with the RFC's status (1002, 1003, 1009) and the
 *    connection is dropped;
 *  - payload is unmasked as it arrives and appended to the RFB input (c->in), whose
 *    bound and parser are the plain path's: a frame is never buffered whole, whatever
 *    its length; control payloads are kept in a 125-byte buffer;
 *  - a ping is answered with a pong of its payload at the next frame boundary; pings
 *    that come faster than the client reads replace the pending pong (5.5.3 allows
 *    answering only the latest), so they cost nothing;
 *  - output: the RFB bytes (c->out, bounded as on the plain path) are cut into binary
 *    frames of at most VNC_WS_CHUNK bytes, one frame at a time in c->ws_out, so flow
 *    control sees what is queued exactly as on the plain path.
 * A close frame from the client is answered with a close frame (1000, or no status if it
 * gave none) and the connection is closed.
 */
#include "ui/vnc-int.h"
#include <string.h>

#define WS_GUID "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

enum { OP_CONT = 0, OP_TEXT = 1, OP_BINARY = 2, OP_CLOSE = 8, OP_PING = 9, OP_PONG = 10 };

/* ---- output ---- */

static void frame_header(GByteArray *q, uint8_t op, size_t len)
{
    uint8_t h[10];
    unsigned n = 2;
    h[0] = 0x80 | op;                 /* FIN: server frames are never fragmented */
    if (len < 126) {
        h[1] = len;
    } else if (len < 65536) {
        h[1] = 126;
        h[2] = len >> 8;
        h[3] = len;
        n = 4;
    } else {
        h[1] = 127;
        for (int i = 0; i < 8; i++)
            h[2 + i] = (uint64_t)len >> (56 - 8 * i);
        n = 10;
    }
    g_byte_array_append(q, h, n);
}

static void queue_close(VncClient *c, uint16_t code)
{
    if (c->ws_close_sent)
        return;
    uint8_t p[2] = { code >> 8, code };
    frame_header(c->ws_out, OP_CLOSE, code ? 2 : 0);
    g_byte_array_append(c->ws_out, p, code ? 2 : 0);
    c->ws_close_sent = true;
    g_byte_array_set_size(c->out, 0);     /* nothing after a close frame */
}

void vnc_ws_fill(VncClient *c)
{
    if (c->ws_out->len || c->ws_state != WS_OPEN || c->ws_close_sent)
        return;
    if (c->ws_pong_pending) {
        frame_header(c->ws_out, OP_PONG, c->ws_pong_len);
        g_byte_array_append(c->ws_out, c->ws_pong, c->ws_pong_len);
        c->ws_pong_pending = false;
        return;
    }
    if (!c->out->len)
        return;
    size_t n = MIN(c->out->len, VNC_WS_CHUNK);
    frame_header(c->ws_out, OP_BINARY, n);
    g_byte_array_append(c->ws_out, c->out->data, n);
    g_byte_array_remove_range(c->out, 0, n);
}

/* Drops the client after a protocol breach (a close frame with @code, best effort). */
static void ws_fail(VncClient *c, uint16_t code, const char *why)
{
    log_budget_warn(&c->vd->log, "vnc: %s:%s: websocket: %s: disconnected", c->host,
                    c->service, why);
    if (c->ws_state == WS_OPEN)
        queue_close(c, code);
    c->closing = true;
}

/* ---- the HTTP upgrade ---- */

static void http_error(VncClient *c, const char *status, const char *why)
{
    /* QEMU 7.2 names the version it speaks in every refusal; so does Vireo. */
    g_autofree char *r = g_strdup_printf("HTTP/1.1 %s\r\nConnection: close\r\n"
                                         "Sec-WebSocket-Version: 13\r\n"
                                         "Content-Length: 0\r\n\r\n", status);
    g_byte_array_append(c->ws_out, (const uint8_t *)r, strlen(r));
    log_budget_warn(&c->vd->log, "vnc: %s:%s: websocket handshake refused: %s", c->host,
                    c->service, why);
    c->closing = true;
}

/* Whether the comma-separated list @v has @token (case-insensitive). */
static bool has_token(const char *v, const char *token)
{
    g_auto(GStrv) parts = g_strsplit(v, ",", -1);
    for (char **p = parts; *p; p++)
        if (!g_ascii_strcasecmp(g_strstrip(*p), token))
            return true;
    return false;
}

/* @req: the request up to its blank line (no NUL in it). */
static void handshake(VncClient *c, const char *req)
{
    g_auto(GStrv) lines = g_strsplit(req, "\r\n", -1);
    const char *upgrade = NULL, *connection = NULL, *version = NULL, *key = NULL;
    const char *protocol = NULL;
    if (!lines[0] || !g_str_has_prefix(lines[0], "GET ") ||
        !g_str_has_suffix(lines[0], " HTTP/1.1")) {
        http_error(c, "400 Bad Request", "not an HTTP/1.1 GET");
        return;
    }
    for (char **l = lines + 1; *l; l++) {
        char *colon = strchr(*l, ':');
        if (!colon) {
            http_error(c, "400 Bad Request", "malformed header line");
            return;
        }
        *colon = 0;
        const char *name = g_strstrip(*l), *value = g_strstrip(colon + 1);
        if (!g_ascii_strcasecmp(name, "Upgrade"))
            upgrade = value;
        else if (!g_ascii_strcasecmp(name, "Connection"))
            connection = value;
        else if (!g_ascii_strcasecmp(name, "Sec-WebSocket-Version"))
            version = value;
        else if (!g_ascii_strcasecmp(name, "Sec-WebSocket-Key"))
            key = value;
        else if (!g_ascii_strcasecmp(name, "Sec-WebSocket-Protocol"))
            protocol = value;
    }
    if (!upgrade || !has_token(upgrade, "websocket") || !connection ||
        !has_token(connection, "upgrade")) {
        http_error(c, "400 Bad Request", "not a websocket upgrade");
        return;
    }
    if (!version || strcmp(version, "13")) {
        /* 400 as QEMU 7.2 answers (RFC 6455 4.2.2 suggests 426; either is allowed). */
        http_error(c, "400 Bad Request", "unsupported websocket version");
        return;
    }
    gsize klen = 0;
    bool key_ok = key && strlen(key) == 24;
    if (key_ok) {
        g_autofree guchar *raw = g_base64_decode(key, &klen);
        key_ok = klen == 16;
    }
    if (!key_ok) {
        http_error(c, "400 Bad Request", "bad Sec-WebSocket-Key");
        return;
    }
    if (protocol && !has_token(protocol, "binary")) {
        http_error(c, "400 Bad Request", "no 'binary' subprotocol offered");
        return;
    }
    /* Sec-WebSocket-Accept: base64 of SHA-1 of the key and the RFC's GUID (4.2.2). */
    GChecksum *sha = g_checksum_new(G_CHECKSUM_SHA1);
    g_checksum_update(sha, (const guchar *)key, strlen(key));
    g_checksum_update(sha, (const guchar *)WS_GUID, strlen(WS_GUID));
    guint8 digest[20];
    gsize dlen = sizeof(digest);
    g_checksum_get_digest(sha, digest, &dlen);
    g_checksum_free(sha);
    g_autofree char *accept = g_base64_encode(digest, dlen);
    g_autofree char *r = g_strdup_printf("HTTP/1.1 101 Switching Protocols\r\n"
                                         "Upgrade: websocket\r\nConnection: Upgrade\r\n"
                                         "Sec-WebSocket-Accept: %s\r\n%s\r\n", accept,
                                         protocol ? "Sec-WebSocket-Protocol: binary\r\n" : "");
    g_byte_array_append(c->ws_out, (const uint8_t *)r, strlen(r));
    c->ws_state = WS_OPEN;
    vnc_client_greet(c);
}

/* ---- frames ---- */

/* Header length once the first two bytes are known. */
static unsigned header_len(const uint8_t *h)
{
    unsigned l = h[1] & 0x7f;
    return 2 + (l == 126 ? 2 : l == 127 ? 8 : 0) + (h[1] & 0x80 ? 4 : 0);
}

/* A complete header in c->ws_hdr: checks it, sets up the payload. */
static void frame_start(VncClient *c)
{
    const uint8_t *h = c->ws_hdr;
    bool fin = h[0] & 0x80;
    uint8_t op = h[0] & 0x0f;
    unsigned l7 = h[1] & 0x7f, off = 2;
    uint64_t len = l7;
    if (l7 == 126) {
        len = h[2] << 8 | h[3];
        off = 4;
    } else if (l7 == 127) {
        len = 0;
        for (int i = 0; i < 8; i++)
            len = len << 8 | h[2 + i];
        off = 10;
    }
    memcpy(c->ws_mask, h + off, 4);
    c->ws_mpos = 0;
    if (h[0] & 0x70)
        return ws_fail(c, 1002, "reserved bits set");
    if (!(h[1] & 0x80))
        return ws_fail(c, 1002, "unmasked client frame");
    if (op >= OP_CLOSE) {
        if (op > OP_PONG)
            return ws_fail(c, 1002, "unknown control opcode");
        if (!fin || len > 125)
            return ws_fail(c, 1002, "fragmented or oversized control frame");
        c->ws_ctl_len = 0;
    } else {
        if (op == OP_TEXT)
            return ws_fail(c, 1003, "text frame (RFB is binary)");
        if (op != OP_CONT && op != OP_BINARY)
            return ws_fail(c, 1002, "unknown data opcode");
        if (op == OP_CONT && !c->ws_in_msg)
            return ws_fail(c, 1002, "continuation without a message");
        if (op == OP_BINARY && c->ws_in_msg)
            return ws_fail(c, 1002, "new message inside a fragmented one");
        if (len > VNC_WS_FRAME_MAX)
            return ws_fail(c, 1009, "frame too long");
        c->ws_in_msg = !fin;
    }
    c->ws_op = op;
    c->ws_left = len;
}

/* A control frame's payload is complete. */
static void control_done(VncClient *c)
{
    switch (c->ws_op) {
    case OP_PING:
        memcpy(c->ws_pong, c->ws_ctl, c->ws_ctl_len);
        c->ws_pong_len = c->ws_ctl_len;
        c->ws_pong_pending = true;
        break;
    case OP_PONG:
        break;                        /* unsolicited pongs are allowed and ignored */
    case OP_CLOSE: {
        uint16_t code = c->ws_ctl_len >= 2 ? c->ws_ctl[0] << 8 | c->ws_ctl[1] : 0;
        if (c->ws_ctl_len == 1)
            return ws_fail(c, 1002, "one-byte close payload");
        queue_close(c, code ? 1000 : 0);      /* normal closure; none if it gave none */
        c->closing = true;
        break;
    }
    }
}

/* Takes raw bytes from the socket: HTTP first, then frames whose data payload goes to
 * c->in. Sets c->closing on a breach. */
void vnc_ws_input(VncClient *c, const uint8_t *p, size_t n)
{
    if (c->ws_state == WS_HTTP) {
        size_t old = c->ws_http->len;
        g_byte_array_append(c->ws_http, p, MIN(n, VNC_WS_HTTP_MAX + 4 - old));
        const uint8_t *d = c->ws_http->data;
        size_t end = 0;
        bool found = false;
        for (size_t i = old >= 3 ? old - 3 : 0; i + 4 <= c->ws_http->len && !found; i++)
            if (!memcmp(d + i, "\r\n\r\n", 4)) {
                end = i;
                found = true;
            }
        if (!found) {
            if (c->ws_http->len > VNC_WS_HTTP_MAX || memchr(d, 0, c->ws_http->len))
                http_error(c, "400 Bad Request", "request too long or binary");
            return;
        }
        if (end > VNC_WS_HTTP_MAX || memchr(d, 0, end)) {
            http_error(c, "400 Bad Request", "request too long or binary");
            return;
        }
        g_autofree char *req = g_strndup((const char *)d, end);
        handshake(c, req);
        if (c->closing)
            return;
        /* Bytes after the blank line are already frames. */
        size_t used = end + 4 - old;
        g_byte_array_free(c->ws_http, TRUE);
        c->ws_http = NULL;
        if (used >= n)
            return;
        p += used;
        n -= used;
    }
    while (n && !c->closing && !c->ws_close_sent) {
        if (c->ws_hdr_len < 2 || c->ws_hdr_len < header_len(c->ws_hdr)) {
            unsigned want = c->ws_hdr_len < 2 ? 2 : header_len(c->ws_hdr);
            size_t k = MIN(n, want - c->ws_hdr_len);
            memcpy(c->ws_hdr + c->ws_hdr_len, p, k);
            c->ws_hdr_len += k;
            p += k;
            n -= k;
            if (c->ws_hdr_len >= 2 && c->ws_hdr_len == header_len(c->ws_hdr))
                frame_start(c);
            else
                continue;
            if (c->closing)
                return;
            if (c->ws_left)
                continue;
        } else {
            size_t k = MIN(n, c->ws_left);
            uint8_t *dst;
            if (c->ws_op >= OP_CLOSE) {
                dst = c->ws_ctl + c->ws_ctl_len;
                c->ws_ctl_len += k;
            } else {
                guint at = c->in->len;
                g_byte_array_set_size(c->in, at + k);
                dst = c->in->data + at;
            }
            for (size_t i = 0; i < k; i++)
                dst[i] = p[i] ^ c->ws_mask[c->ws_mpos++ & 3];
            p += k;
            n -= k;
            c->ws_left -= k;
            if (c->ws_left)
                continue;
        }
        /* The frame is complete. */
        c->ws_hdr_len = 0;
        if (c->ws_op >= OP_CLOSE)
            control_done(c);
    }
}

void vnc_ws_free(VncClient *c)
{
    if (c->ws_http)
        g_byte_array_free(c->ws_http, TRUE);
    if (c->ws_out)
        g_byte_array_free(c->ws_out, TRUE);
    c->ws_http = c->ws_out = NULL;
}
