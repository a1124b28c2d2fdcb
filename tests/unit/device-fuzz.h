/*
 * Shared by the ISA device unit tests: random guest accesses to a device's ports, also
 * from random (corrupt) migrated state. Nothing a guest or a stream can do may crash or
 * reach outside the device (the tests run under ASan in a sanitizer build).
 */
#ifndef TESTS_DEVICE_FUZZ_H
#define TESTS_DEVICE_FUZZ_H
#include "vireo/machine.h"

static inline void fuzz_ports(Machine *m, Device *dev, uint16_t base, unsigned span,
                              int rounds)
{
    GRand *rnd = g_rand_new_with_seed(1234);
    const VMStateDesc *d = dev->cls->vmsd;
    for (int r = 0; r < rounds; r++) {
        if (d && r % 500 == 0) {
            GByteArray *b = g_byte_array_new();
            vmstate_save(d, device_state(dev), b);
            for (guint i = 1 + b->data[0] + 8; i < b->len; i++)
                b->data[i] = g_rand_int(rnd);
            g_assert_cmpint(vmstate_load(d, device_state(dev), b->data, b->len, NULL), ==,
                            b->len);
            if (dev->cls->post_load)
                dev->cls->post_load(dev);
            g_byte_array_free(b, TRUE);
        }
        uint64_t port = base + g_rand_int_range(rnd, 0, span), v;
        if (g_rand_boolean(rnd))
            as_write(m->io, port, g_rand_int(rnd) & 0xff, 1);
        else
            as_read(m->io, port, &v, 1);
        if (r % 64 == 0)
            vclock_step(m->clock, g_rand_int_range(rnd, 0, 2000000));
    }
    g_rand_free(rnd);
}

#endif
