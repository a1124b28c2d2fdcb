/*
 * Shared by the virtio unit tests: a test machine with one virtio-pci device at 05.0,
 * its structures found through the capabilities, and a driver's side of queue 0 (size
 * 8: descriptor table, available and used rings in guest RAM).
 */
#ifndef TESTS_UNIT_VIRTIO_FIXTURE_H
#define TESTS_UNIT_VIRTIO_FIXTURE_H
#include <glib.h>
#include <string.h>

#include "vireo/drive.h"
#include "vireo/input.h"
#include "vireo/machine.h"
#include "vireo/pc.h"
#include "vireo/virtio.h"
#include <unistd.h>

#define RAM_SIZE (16u << 20)
#define DESC  0x10000
#define AVAIL 0x11000
#define USED  0x12000
#define BUF   0x20000

typedef struct Fx {
    Machine *m;
    PciDevice *pci;
    VirtioPci *vp;
    uint64_t common, isr, notify, device;
    uint8_t cfg_cap;                 /* config offset of the PCI_CFG window (4.1.4.9) */
    int gsi_level[MACHINE_NUM_GSI];
    GArray *msgs;                    /* MSI data words */
} Fx;

static inline void gsi_handler(void *opaque, int n, int level)
{
    ((Fx *)opaque)->gsi_level[n] = level;
}

static inline void msi_handler(void *opaque, uint64_t addr, uint32_t data)
{
    g_array_append_val(((Fx *)opaque)->msgs, data);
}

static inline uint64_t rd(Fx *f, uint64_t a, unsigned n)
{
    uint64_t v = 0;
    g_assert_true(as_read(f->m->sysmem, a, &v, n));
    return v;
}

static inline void wr(Fx *f, uint64_t a, uint64_t v, unsigned n)
{
    g_assert_true(as_write(f->m->sysmem, a, v, n));
}

static inline uint8_t *ram(Fx *f, uint64_t gpa) { return f->m->ram + gpa; }

/* Notifies queue 0 the way Linux does (a 16-bit write of the index) and lets the main
 * loop run: after DRIVER_OK the write signals the queue's eventfd. */
static inline void kick(Fx *f)
{
    wr(f, f->notify, 0, 2);
    while (g_main_context_iteration(NULL, FALSE))
        ;
}

/* Finds the virtio structures through the vendor capabilities (4.1.4). */
static inline void find_caps(Fx *f)
{
    uint64_t bar = pci_bar_address(f->pci, 4);
    g_assert_cmphex(bar, !=, PCI_BAR_UNMAPPED);
    for (uint8_t c = pci_config_read(f->pci, PCI_CAPABILITY_LIST, 1); c;
         c = pci_config_read(f->pci, c + 1, 1)) {
        if (pci_config_read(f->pci, c, 1) != PCI_CAP_ID_VNDR)
            continue;
        uint8_t type = pci_config_read(f->pci, c + 3, 1);
        if (type == 5) {                /* the PCI_CFG window: cap.bar is the driver's */
            f->cfg_cap = c;
            continue;
        }
        g_assert_cmpuint(pci_config_read(f->pci, c + 4, 1), ==, 4);
        uint64_t at = bar + pci_config_read(f->pci, c + 8, 4);
        if (type == 1)
            f->common = at;
        else if (type == 2) {
            f->notify = at;
            g_assert_cmpuint(pci_config_read(f->pci, c + 16, 4), ==, 4);
        } else if (type == 3)
            f->isr = at;
        else if (type == 4)
            f->device = at;
    }
    g_assert_true(f->common && f->notify && f->isr && f->cfg_cap);
}

/* A machine with device @type at 05.0 (after the -drive options in @drives, NULL-ended). */
static inline Fx *fx_new_dev(const char *type, const char *opts,
                             const char *const *drives)
{
    Fx *f = g_new0(Fx, 1);
    GError *err = NULL;
    f->m = machine_new_test(RAM_SIZE);
    f->msgs = g_array_new(false, false, sizeof(uint32_t));
    for (int i = 0; i < MACHINE_NUM_GSI; i++)
        f->m->gsi[i] = (IrqLine){ .handler = gsi_handler, .opaque = f, .n = i };
    f->m->msi = (MsiSink){ .send = msi_handler, .opaque = f };
    g_assert_nonnull(pci_bus_new_pc(f->m, &err));
    for (; drives && *drives; drives++) {
        drive_add(f->m, *drives, &err);
        g_assert_no_error(err);
    }
    g_autofree char *o = g_strdup_printf("addr=05.0%s%s", opts ? "," : "", opts ? opts : "");
    Device *d = machine_create_device(f->m, type, o, &err);
    g_assert_no_error(err);
    f->pci = (PciDevice *)d;
    f->vp = (VirtioPci *)d;
    g_assert_true(pci_bus_assign_bars(f->m->pci_bus));
    g_assert_cmpuint(pci_config_read(f->pci, PCI_REVISION_ID, 1), ==, 1);
    pci_config_write(f->pci, PCI_COMMAND, PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER, 2);
    find_caps(f);
    return f;
}

static inline Fx *fx_new(void)
{
    Fx *f = fx_new_dev("virtio-rng-pci", NULL, NULL);
    g_assert_cmphex(pci_config_read(f->pci, PCI_VENDOR_ID, 4), ==, 0x10441af4);
    return f;
}

static inline void fx_free(Fx *f)
{
    pci_bus_free(f->m->pci_bus);
    machine_free(f->m);
    g_array_free(f->msgs, true);
    g_free(f);
}

/* 3.1.1 steps 1-6 with @features; returns the status the device kept. */
static inline uint8_t negotiate(Fx *f, uint64_t features)
{
    wr(f, f->common + 0x14, 0, 1);                                  /* reset */
    wr(f, f->common + 0x14, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER, 1);
    wr(f, f->common + 0x08, 0, 4);
    wr(f, f->common + 0x0c, (uint32_t)features, 4);
    wr(f, f->common + 0x08, 1, 4);
    wr(f, f->common + 0x0c, features >> 32, 4);
    wr(f, f->common + 0x14, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER |
       VIRTIO_STATUS_FEATURES_OK, 1);
    return rd(f, f->common + 0x14, 1);
}

static inline void setup_queue(Fx *f, uint64_t desc, uint16_t vector)
{
    wr(f, f->common + 0x16, 0, 2);                                  /* queue_select */
    g_assert_cmpuint(rd(f, f->common + 0x18, 2), >=, 8);            /* queue_size */
    wr(f, f->common + 0x18, 8, 2);                                  /* we use 8 */
    wr(f, f->common + 0x1a, vector, 2);
    wr(f, f->common + 0x20, desc, 4);                               /* 64-bit, two halves */
    wr(f, f->common + 0x24, desc >> 32, 4);
    wr(f, f->common + 0x28, AVAIL, 4);
    wr(f, f->common + 0x30, USED, 4);
    wr(f, f->common + 0x1c, 1, 2);                                  /* queue_enable */
}

static inline void put_desc(Fx *f, unsigned i, uint64_t addr, uint32_t len, uint16_t flags,
                            uint16_t next)
{
    memcpy(ram(f, DESC + 16 * i), &addr, 8);
    memcpy(ram(f, DESC + 16 * i + 8), &len, 4);
    memcpy(ram(f, DESC + 16 * i + 12), &flags, 2);
    memcpy(ram(f, DESC + 16 * i + 14), &next, 2);
}

/* Publishes chain @head on the available ring (queue size 8). */
static inline void offer(Fx *f, uint16_t head)
{
    uint16_t idx;
    memcpy(&idx, ram(f, AVAIL + 2), 2);
    memcpy(ram(f, AVAIL + 4 + 2 * (idx % 8)), &head, 2);
    idx++;
    memcpy(ram(f, AVAIL + 2), &idx, 2);
}

/* One device-writable buffer of @len bytes at BUF as descriptor @head, offered and kicked. */
static inline void post_buffer(Fx *f, uint16_t head, uint32_t len)
{
    put_desc(f, head, BUF, len, VIRTQ_DESC_F_WRITE, 0);
    offer(f, head);
    kick(f);
}

static inline uint16_t used_idx(Fx *f) { uint16_t v; memcpy(&v, ram(f, USED + 2), 2); return v; }

#endif
