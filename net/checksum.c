/*
 * The Internet checksum (RFC 1071) and the TCP/UDP checksums NICs insert when the
 * guest leaves them to the device (e1000 checksum offload, virtio-net NEEDS_CSUM toward
 * a backend without the vnet header).
 */
#include "vireo/net.h"
#include <string.h>

uint32_t net_checksum_add(const uint8_t *buf, size_t len, uint32_t sum)
{
    size_t i;
    for (i = 0; i + 1 < len; i += 2)
        sum += (uint32_t)buf[i] << 8 | buf[i + 1];
    if (i < len)
        sum += (uint32_t)buf[i] << 8;
    return sum;
}

uint16_t net_checksum_finish(uint32_t sum)
{
    while (sum >> 16)
        sum = (sum & 0xffff) + (sum >> 16);
    return ~sum;
}

/* Adds the checksum of [start, len) (the checksum field holding the pseudo-header sum
 * or 0, as the guest leaves it) and stores it at @off: virtio 1.2 5.1.6.2's
 * csum_start/csum_offset, e1000's CSS/CSO. */
bool net_checksum_insert(uint8_t *buf, size_t len, size_t start, size_t off)
{
    if (start > len || off > len - start || len - start - off < 2)
        return false;
    uint16_t c = net_checksum_finish(net_checksum_add(buf + start, len - start, 0));
    buf[start + off] = c >> 8;
    buf[start + off + 1] = c;
    return true;
}
