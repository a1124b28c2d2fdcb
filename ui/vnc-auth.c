/*
 * VNC authentication (RFC 6143 7.2.2): a 16-byte random challenge that the client
 * encrypts with DES (ECB, two blocks) under its password. The key is the password's first
 * 8 bytes, zero padded, each byte with its bits reversed (the RFB convention). DES comes
 * from Debian's nettle.
 */
#include "ui/vnc-int.h"
#include <nettle/des.h>
#include <string.h>
#include <sys/random.h>

void vnc_make_challenge(uint8_t challenge[16])
{
    size_t got = 0;
    while (got < 16) {
        ssize_t n = getrandom(challenge + got, 16 - got, 0);
        if (n > 0)
            got += n;
    }
}

static uint8_t reverse_bits(uint8_t b)
{
    b = (b & 0xf0) >> 4 | (b & 0x0f) << 4;
    b = (b & 0xcc) >> 2 | (b & 0x33) << 2;
    return (b & 0xaa) >> 1 | (b & 0x55) << 1;
}

void vnc_des_response(const char *password, const uint8_t challenge[16], uint8_t out[16])
{
    uint8_t key[8] = { 0 };
    struct des_ctx ctx;
    for (size_t i = 0; i < 8 && password[i]; i++)
        key[i] = reverse_bits(password[i]);
    des_fix_parity(8, key, key);
    des_set_key(&ctx, key);          /* weak keys are used anyway, as every VNC server */
    des_encrypt(&ctx, 16, out, challenge);
}

bool vnc_check_response(const char *password, const uint8_t challenge[16],
                        const uint8_t response[16])
{
    uint8_t want[16];
    unsigned diff = 0;
    vnc_des_response(password, challenge, want);
    for (int i = 0; i < 16; i++)
        diff |= want[i] ^ response[i];
    return diff == 0;
}
