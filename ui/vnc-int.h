/*
 * The VNC server (RFB 3.3/3.7/3.8, RFC 6143), written on the main loop as QEMU's is
 * (docs/display.md says why not libvncserver). Private to ui/vnc*.c.
 *
 * Flow control: a client's updates are generated from its dirty-tile bitmap only when it
 * has asked for one (FramebufferUpdateRequest) and its output queue has drained below
 * VNC_OUT_LOW, so a client that never reads holds at most one encoded update plus small
 * messages (hard cap VNC_OUT_MAX, then it is disconnected); the guest never waits for it.
 * Input is parsed from a bounded buffer; ClientCutText beyond VNC_CUT_MAX is skipped
 * without being stored.
 */
#ifndef UI_VNC_INT_H
#define UI_VNC_INT_H

#include "ui/ui-internal.h"
#include "vireo/log.h"
#include <sys/socket.h>
#include <zlib.h>

#define VNC_TILE        16
#define VNC_IN_MAX      (512 * 1024)      /* unparsed input bytes */
#define VNC_OUT_LOW     (256 * 1024)      /* below this, a new update may be encoded */
#define VNC_OUT_MAX     (96u << 20)       /* a client past this is disconnected */
#define VNC_CUT_MAX     (1u << 20)
#define VNC_WS_HTTP_MAX (8 * 1024)        /* websocket: the HTTP upgrade request */
#define VNC_WS_FRAME_MAX (32u << 20)      /* websocket: longest data frame accepted */
#define VNC_WS_CHUNK    (64 * 1024)       /* websocket: payload per frame sent */
#define TIGHT_MAX_WIDTH 2048              /* Tight: widest piece a client accepts */
#define TIGHT_MAX_AREA  65536             /* Tight: pixels per piece */
#define TIGHT_PIECE_W   512               /* Tight: the widest piece Vireo cuts */

/* Encodings (RFC 6143 7.7, 7.8; QEMU's pseudo-encodings). */
#define ENC_RAW                 0
#define ENC_COPYRECT            1
#define ENC_HEXTILE             5
#define ENC_TIGHT               7
#define ENC_ZRLE                16
#define ENC_JPEG_QUALITY_0      -32      /* -32..-23: JPEG quality levels 0..9 */
#define ENC_COMPRESS_LEVEL_0    -256     /* -256..-247: compression levels 0..9 */
#define ENC_DESKTOPSIZE         -223
#define ENC_POINTER_TYPE_CHANGE -257
#define ENC_EXT_KEY_EVENT       -258
#define ENC_AUDIO               -259      /* QEMU's audio extension */
#define ENC_LED_STATE           -261
#define ENC_EXT_DESKTOPSIZE     -308

typedef enum { VNC_SHARE_ALLOW_EXCLUSIVE, VNC_SHARE_FORCE_SHARED, VNC_SHARE_IGNORE } VncShare;
typedef enum { WS_NONE, WS_HTTP, WS_OPEN } VncWsState;
typedef enum { VS_VERSION, VS_SECURITY, VS_AUTH, VS_INIT, VS_NORMAL, VS_SKIP } VncState;

typedef struct PixelFormat {
    uint8_t bpp, depth, big_endian, true_colour;
    uint16_t rmax, gmax, bmax;
    uint8_t rshift, gshift, bshift;
} PixelFormat;

typedef struct VncDisplay VncDisplay;

typedef struct VncClient {
    VncDisplay *vd;
    int fd;
    unsigned in_watch, out_watch;
    GByteArray *in, *out;
    VncState state;
    int minor;                        /* RFB 3.minor */
    uint32_t skip;                    /* bytes of an oversized cut text still to drop */
    uint8_t challenge[16];
    PixelFormat pf;
    int enc;                          /* the rectangle encoding in use */
    bool has_desktop_size, has_ext_desktop_size, has_ext_key, has_led, has_ptr_type;
    bool has_audio;                   /* listed QEMU's audio pseudo-encoding */
    bool audio_on;                    /* asked for audio (QEMU audio message, enable) */
    bool update_requested, need_resize, need_ptr_type, need_led;
    bool absolute;                    /* what the client was last told */
    uint8_t last_buttons;
    int last_x, last_y;
    int tw, th;                       /* tiles per row / column */
    uint8_t *dirty;                   /* tw * th */
    z_stream zrle;
    bool zrle_init;
    z_stream tight_z[4];              /* Tight's four deflate streams (vnc-tight.c) */
    bool tight_zinit[4];
    int tight_zlevel[4];              /* the zlib level each was made with */
    int tight_level;                  /* compression level 0-9, -1: none asked */
    int tight_quality;                /* JPEG quality level 0-9, -1: no JPEG */
    /* websocket (vnc-ws.c); ws_state WS_NONE on the plain socket */
    VncWsState ws_state;
    GByteArray *ws_http;              /* the upgrade request so far */
    GByteArray *ws_out;               /* whole frames being sent (one data frame) */
    uint8_t ws_hdr[14];               /* the incoming frame's header */
    unsigned ws_hdr_len;
    uint64_t ws_left;                 /* its payload bytes still to come */
    uint8_t ws_mask[4], ws_op;
    unsigned ws_mpos;
    bool ws_in_msg;                   /* a fragmented data message is open */
    uint8_t ws_ctl[125], ws_pong[125];
    unsigned ws_ctl_len, ws_pong_len;
    bool ws_pong_pending, ws_close_sent;
    bool initialized;                 /* VNC_INITIALIZED sent */
    bool closing;
    char host[64], service[16];
    int family;                       /* NetworkAddressFamily */
} VncClient;

struct VncDisplay {
    Machine *m;
    char *id;
    Console *con;
    DisplayListener dl;
    int lfd;
    unsigned lwatch;
    int ws_lfd;                       /* websocket listener, -1: none */
    unsigned ws_lwatch;
    char ws_host[64], ws_service[16];
    int ws_family;
    char *unix_path;
    char host[64], service[16];
    int family;
    bool password_auth;
    char *password;                   /* NULL: none set (every VNC auth fails) */
    int64_t expires;                  /* wall-clock seconds; 0: never */
    VncShare share;
    char *audiodev;                   /* audiodev= (an -audiodev id), NULL: none */
    GPtrArray *clients;
    LogBudget log;
};

/* vnc.c */
void vnc_client_close(VncClient *c);
void vnc_out(VncClient *c, const void *p, size_t n);
void vnc_out_u8(VncClient *c, uint8_t v);
void vnc_out_u16(VncClient *c, uint16_t v);
void vnc_out_u32(VncClient *c, uint32_t v);
/* Sends the server's ProtocolVersion (after a websocket handshake: then). */
void vnc_client_greet(VncClient *c);

/* vnc-ws.c */
void vnc_ws_input(VncClient *c, const uint8_t *p, size_t n);
/* Moves the next frame (a pending pong, else up to VNC_WS_CHUNK of c->out) into
 * c->ws_out when that is empty. */
void vnc_ws_fill(VncClient *c);
void vnc_ws_free(VncClient *c);

/* vnc-enc.c: rectangles of the console surface in the client's pixel format. */
void vnc_pf_default(PixelFormat *pf);
bool vnc_pf_valid(const PixelFormat *pf);
void vnc_send_rect(VncClient *c, int x, int y, int w, int h);
void vnc_enc_free(VncClient *c);
/* How many rectangles a w x h update rectangle becomes in the client's encoding. */
unsigned vnc_rect_count(VncClient *c, int w, int h);

/* vnc-tight.c */
void vnc_tight_send(VncClient *c, int x, int y, int w, int h);
unsigned vnc_tight_pieces(int w, int h);
unsigned vnc_tight_tpixel_bytes(const PixelFormat *pf);
void vnc_tight_free(VncClient *c);

/* vnc-auth.c */
void vnc_make_challenge(uint8_t challenge[16]);
/* Whether @response is the challenge DES-encrypted with @password (RFC 6143 7.2.2). */
bool vnc_check_response(const char *password, const uint8_t challenge[16],
                        const uint8_t response[16]);
void vnc_des_response(const char *password, const uint8_t challenge[16], uint8_t out[16]);

/* vnc-qmp.c */
void vnc_event_connected(VncClient *c);
void vnc_event_initialized(VncClient *c);
void vnc_event_disconnected(VncClient *c);

#endif
