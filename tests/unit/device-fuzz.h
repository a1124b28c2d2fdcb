/*
 * Hostile-guest helpers shared by the device unit tests. Nothing a guest or a stream
 * can do may crash or reach outside the device; the tests run under ASan in a sanitizer
 * build (./configure --builddir=build-asan --enable-sanitizers), and `make check` runs
 * the sweep under ASan through the `device-sweep-asan` test (tests/unit/asan-sweep.sh).
 *
 * - sweep_address_space() / sweep_pci_config(): the systematic sweep: every width
 *   (1, 2, 4, 8) at every offset of every port and MMIO region (each PCI BAR included)
 *   and of every PCI function's configuration space, reads and writes with boundary
 *   and random values.
 * - Every device class (hw/core/hw-classes.def) is swept by tests/unit/test-device-
 *   sweep.c, from one line per class in its table: a new device class fails
 *   /sweep/every-class-listed until its line is added there.
 * - fuzz_ports(): random port accesses to one ISA device, also from random (corrupt)
 *   migrated state.
 */
#ifndef TESTS_DEVICE_FUZZ_H
#define TESTS_DEVICE_FUZZ_H
#include "vireo/machine.h"
#include "vireo/pci.h"

/* The values each width is written with: boundaries, then random ones. */
static inline uint64_t sweep_value(GRand *rnd, unsigned k, unsigned size)
{
    uint64_t ones = size == 8 ? ~0ull : (1ull << (8 * size)) - 1;
    switch (k) {
    case 0: return 0;
    case 1: return ones;
    case 2: return 1;
    case 3: return 1ull << (8 * size - 1);          /* the top bit */
    case 4: return ones >> 1;
    default: return ((uint64_t)g_rand_int(rnd) << 32 | g_rand_int(rnd)) & ones;
    }
}
#define SWEEP_VALUES 7

static inline void sweep_collect(MemRegion *r, void *opaque)
{
    if (!r->ram)
        g_ptr_array_add(opaque, r);
}

/* Every width at every offset of every non-RAM region of @as (and up to 7 bytes past
 * each region's end): a read, then the writes of sweep_value(), each followed by a
 * read. Regions that move or vanish meanwhile (a BAR reprogrammed through the PCI
 * host's ports) are followed. Returns the number of accesses. */
static inline uint64_t sweep_address_space(AddressSpace *as, GRand *rnd)
{
    static const unsigned widths[] = { 1, 2, 4, 8 };
    g_autoptr(GPtrArray) regions = g_ptr_array_new();
    uint64_t n = 0, v;
    as_foreach(as, sweep_collect, regions);
    for (guint i = 0; i < regions->len; i++) {
        MemRegion *r = regions->pdata[i];
        for (uint64_t off = 0; off < r->size + 7; off++) {
            for (unsigned w = 0; w < G_N_ELEMENTS(widths); w++) {
                for (unsigned k = 0; k < SWEEP_VALUES && r->mapped; k++, n += 2) {
                    uint64_t a = r->base + off;
                    as_read(as, a, &v, widths[w]);
                    as_write(as, a, sweep_value(rnd, k, widths[w]), widths[w]);
                }
            }
        }
    }
    return n;
}

/* The same over the 256 configuration bytes of every function on @bus (widths above 4
 * and accesses past the end must be refused by the PCI core). */
static inline uint64_t sweep_pci_config(PciBus *bus, GRand *rnd)
{
    static const unsigned widths[] = { 1, 2, 4, 8 };
    uint64_t n = 0;
    for (unsigned devfn = 0; devfn < 256; devfn++) {
        PciDevice *d = pci_bus_get_device(bus, devfn);
        for (uint32_t off = 0; d && off < PCI_CONFIG_SPACE_SIZE + 4; off++) {
            for (unsigned w = 0; w < G_N_ELEMENTS(widths); w++) {
                for (unsigned k = 0; k < SWEEP_VALUES; k++, n += 2) {
                    pci_config_read(d, off, widths[w]);
                    pci_config_write(d, off, sweep_value(rnd, k, widths[w]), widths[w]);
                }
            }
        }
    }
    return n;
}
#include <string.h>

/* Random bytes over @dev's migrated state (after the section header), loaded back. A
 * strict validator may refuse random state (naming its section); a refused load leaves
 * the device to be reset, as a failed migration does. */
static inline void fuzz_load_random_state(Device *dev, GRand *rnd)
{
    const VMStateDesc *d = dev->cls->vmsd;
    GByteArray *b = g_byte_array_new();
    vmstate_save(d, device_state(dev), b);
    for (guint i = 1 + b->data[0] + 8; i < b->len; i++)
        b->data[i] = g_rand_int(rnd);
    GError *err = NULL;
    ssize_t n = vmstate_load(d, device_state(dev), b->data, b->len, &err);
    if (n < 0) {
        g_assert_nonnull(strstr(err->message, d->name));
        g_clear_error(&err);
        device_reset(dev);
    } else {
        g_assert_cmpint(n, ==, b->len);
        if (dev->cls->post_load)
            dev->cls->post_load(dev);
    }
    g_byte_array_free(b, TRUE);
}

static inline void fuzz_ports(Machine *m, Device *dev, uint16_t base, unsigned span,
                              int rounds)
{
    GRand *rnd = g_rand_new_with_seed(1234);
    const VMStateDesc *d = dev->cls->vmsd;
    for (int r = 0; r < rounds; r++) {
        if (d && r % 500 == 0)
            fuzz_load_random_state(dev, rnd);
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
