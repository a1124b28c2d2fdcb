/*
 * A bounded RFB rectangle decoder for the test clients (tests/vnc-capture.c, the encoder
 * harness tests/vnc-encbench.c, tests/unit/test-vnc.c), written from RFC 6143 7.7 and
 * not from ui/vnc-enc.c: Raw, Hextile (every subencoding: raw, background, foreground,
 * subrectangles, coloured subrectangles) and ZRLE (raw, solid, packed palette, plain RLE,
 * palette RLE tiles; one inflate stream per connection). Pixels are stored as the
 * client's pixel values (in a uint32_t each, whatever the client's byte order); the
 * default is the format the test clients ask for: 32 bits per pixel, depth 24, little
 * endian x8r8g8b8, whose ZRLE CPIXEL is the three low bytes; vnc_dec_set_format() sets
 * another (8/16/32 bits, either byte order, its CPIXEL size). Every length, index and
 * run is checked against the rectangle and the framebuffer: bad data is an error
 * (VncDec.err), never an out-of-bounds access, so the decoder may face a server that is
 * not Vireo.
 */
#ifndef TESTS_VNC_DEC_H
#define TESTS_VNC_DEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <zlib.h>

/* Reads exactly @n bytes into @buf; false at end of stream or on an error. */
typedef bool (*VncDecRead)(void *opaque, void *buf, size_t n);

enum { ZRLE_RAW, ZRLE_SOLID, ZRLE_PACKED, ZRLE_PLAIN_RLE, ZRLE_PALETTE_RLE, ZRLE_KINDS };

#define VNC_DEC_ZLEN_MAX (64u << 20)     /* longest ZRLE zlib data accepted */

typedef struct VncDec {
    z_stream zs;
    bool zinit;
    unsigned bytes, cbytes;              /* bytes per pixel, per ZRLE CPIXEL */
    bool be, chigh;                      /* big endian; CPIXEL is the high 3 bytes */
    uint32_t bg, fg;                     /* Hextile's colours carry over tiles */
    unsigned zrle_tiles[ZRLE_KINDS];     /* ZRLE tiles decoded, per subencoding */
    unsigned hextile_tiles;
    char err[160];
} VncDec;

void vnc_dec_init(VncDec *d);
void vnc_dec_free(VncDec *d);
/* The client's pixel format: @bytes 1, 2 or 4 per pixel, big endian or not, ZRLE's
 * CPIXEL of @cbytes (3 for a 32-bit pixel whose used bits fit in 3 bytes, then @chigh
 * when they are the high ones; @bytes otherwise). */
void vnc_dec_set_format(VncDec *d, unsigned bytes, bool be, unsigned cbytes, bool chigh);
/* Decodes the data of one rectangle (after its 12-byte header) of encoding @enc into
 * @fb (@fbw x @fbh pixels). False with d->err set on malformed data, an unsupported
 * encoding or a rectangle outside the framebuffer. */
bool vnc_dec_rect(VncDec *d, VncDecRead rd, void *opaque, uint32_t *fb, int fbw, int fbh,
                  int x, int y, int w, int h, int32_t enc);
/* The name of a ZRLE tile kind (ZRLE_*). */
const char *vnc_dec_zrle_kind(unsigned k);

#endif
