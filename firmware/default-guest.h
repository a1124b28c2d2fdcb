/* The embedded default guest (firmware/default-guest.c), a PVH ELF image that the machine
 * boots when no -kernel is given.  The bytes are generated at build time by firmware/embed.py. */
#ifndef VIREO_FIRMWARE_DEFAULT_GUEST_H
#define VIREO_FIRMWARE_DEFAULT_GUEST_H

extern const unsigned char vireo_default_guest[];
extern const unsigned int vireo_default_guest_len;

#endif
