/*
 * The migration stream without KVM (migration/, docs/migration.md): a machine with a
 * PCI bus, ISA devices, virtio-rng and virtio-blk saved and loaded into a second one;
 * every mismatch refused by name (extra or missing device or user netdev, RAM size,
 * version too new); a user netdev's libslirp state (DHCP leases, guestfwd connections)
 * carried, and hostile libslirp state refused before libslirp reads it;
 * a corrupt, truncated or hostile stream refused without crashing (ASan build too);
 * and live migrations between two machines of this process over unix: and tcp:
 * sockets (the migration threads, the return path, multifd, cancel); a listener that
 * takes one migration and no second client; exec: commands reaped and their failures
 * reported; machines freed, shut down and cancelled in every phase of a migration;
 * the dirty tracking of video memory shared with the display's (a fake dirty log).
 */
#include <glib.h>
#include <dirent.h>
#include <errno.h>
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "migration/migration.h"
#include "log-fake.h"
#include "net-fake.h"
#include "vireo/console.h"
#include "vireo/acpi.h"
#include "vireo/drive.h"
#include "vireo/pc.h"
#include "vireo/fw_cfg.h"
#include "vireo/hotplug.h"
#include "vireo/input.h"
#include "vireo/ramblock.h"
#include "vireo/virtio.h"

#define MB (1u << 20)

/* A fresh 1 MiB raw image per machine (two machines of this process cannot hold the
 * write lock of one image at once). */
static GPtrArray *images;
static GHashTable *fakes;               /* Machine -> its FakeNet (extra == 3) */

static char *make_image(void)
{
    static unsigned n;
    const char *dir = g_getenv("VIREO_BUILD_DIR");
    char *path = g_strdup_printf("%s/test-migration-%d-%u.raw",
                                 dir ? dir : g_get_tmp_dir(), (int)getpid(), n++);
    int fd = open(path, O_CREAT | O_TRUNC | O_WRONLY, 0600);
    g_assert_cmpint(fd, >=, 0);
    g_assert_cmpint(ftruncate(fd, 1 << 20), ==, 0);
    close(fd);
    return path;
}

static Device *dev(Machine *m, const char *type, const char *opts)
{
    GError *err = NULL;
    Device *d = machine_create_device(m, type, opts, &err);
    g_assert_no_error(err);
    return d;
}

/* The machine the tests migrate; @extra adds one more virtio-rng-pci. */
/* @extra: 1 adds a virtio-rng-pci 'rng1' at 07.0; 2 puts it at 06.0 and moves the
 * virtio-blk-pci to 07.0 (as an extra device given first shifts the slots after it);
 * 3 adds an e1000 at 08.0 on a fake netdev that records what it is sent (fakes). */
static Machine *machine(uint64_t ram, int extra)
{
    GError *err = NULL;
    Machine *m = machine_new_test(ram);
    g_assert_nonnull(pci_bus_new_pc(m, &err));
    g_autofree char *image = make_image();
    g_autofree char *spec = g_strdup_printf("file=%s,format=raw,if=none,id=d0", image);
    g_assert_true(drive_add(m, spec, &err));
    g_ptr_array_add(images, g_steal_pointer(&image));
    g_assert_nonnull(acpi_pm_create(m, &err));
    dev(m, "isa-serial", "index=0");
    dev(m, "mc146818rtc", NULL);
    dev(m, "i8042", NULL);
    dev(m, "port92", NULL);
    dev(m, "isa-debug-exit", NULL);
    dev(m, "virtio-rng-pci", "addr=05.0");
    if (extra == 2)
        dev(m, "virtio-rng-pci", "addr=06.0,id=rng1");
    dev(m, "virtio-blk-pci", extra == 2 ? "drive=d0,addr=07.0" : "drive=d0,addr=06.0");
    if (extra == 1)
        dev(m, "virtio-rng-pci", "addr=07.0,id=rng1");
    if (extra == 3) {
        g_hash_table_insert(fakes, m, fake_net_new(m, "n0", false));
        dev(m, "e1000", "addr=08.0,netdev=n0,mac=52:54:00:12:34:99");
    }
    g_assert_true(pci_bus_assign_bars(m->pci_bus));
    return m;
}

static void machine_done(Machine *m)
{
    pci_bus_free(m->pci_bus);
    machine_free(m);
}

static Device *find(Machine *m, const char *type, unsigned nth)
{
    for (guint i = 0; i < m->devices->len; i++) {
        Device *d = m->devices->pdata[i];
        if (!strcmp(d->cls->name, type) && nth-- == 0)
            return d;
    }
    return NULL;
}

/* Guest-like activity: RAM contents, registers, a configured virtio queue. */
static void scribble(Machine *m)
{
    GRand *r = g_rand_new_with_seed(7);
    for (uint64_t a = 0; a < m->ram_size / 2; a += 4) {
        uint32_t v = g_rand_int(r);
        memcpy(m->ram + a, &v, 4);
    }
    g_rand_free(r);
    memset(m->ram + 0x10000, 0, 0x3000);        /* the virtqueue rings below: empty */
    as_write(m->io, 0x3fb, 0x83, 1);            /* serial: DLAB, 8N1 */
    as_write(m->io, 0x3f8, 0x0c, 1);            /* divisor 12 */
    as_write(m->io, 0x3fb, 0x03, 1);
    as_write(m->io, 0x3fc, 0x0b, 1);
    as_write(m->io, 0x70, 0x0b, 1);             /* RTC register B */
    as_write(m->io, 0x71, 0x06, 1);
    as_write(m->io, 0x92, 0x02, 1);             /* A20 */
    as_write(m->io, 0x64, 0x60, 1);             /* i8042 command byte */
    as_write(m->io, 0x60, 0x45, 1);
    PciDevice *p = (PciDevice *)find(m, "virtio-rng-pci", 0);
    pci_config_write(p, PCI_COMMAND, PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER, 2);
    pci_config_write(p, PCI_INTERRUPT_LINE, 11, 1);
    uint64_t common = pci_bar_address(p, 4);
    as_write(m->sysmem, common + 0x14, 3, 1);                       /* ACK | DRIVER */
    as_write(m->sysmem, common + 0x08, 1, 4);
    as_write(m->sysmem, common + 0x0c, 1, 4);                       /* VERSION_1 */
    as_write(m->sysmem, common + 0x14, 0x0b, 1);                    /* FEATURES_OK */
    as_write(m->sysmem, common + 0x16, 0, 2);                       /* queue 0 */
    as_write(m->sysmem, common + 0x18, 64, 2);
    as_write(m->sysmem, common + 0x20, 0x10000, 8);
    as_write(m->sysmem, common + 0x28, 0x11000, 8);
    as_write(m->sysmem, common + 0x30, 0x12000, 8);
    as_write(m->sysmem, common + 0x1c, 1, 2);                       /* enable */
    as_write(m->sysmem, common + 0x14, 0x0f, 1);                    /* DRIVER_OK */
}

static GByteArray *state_of(Device *d)
{
    GByteArray *b = g_byte_array_new();
    device_state_save(d, b);
    return b;
}

/* Every device's state and all of RAM equal. */
static void assert_same(Machine *a, Machine *b)
{
    g_assert_cmpuint(a->devices->len, ==, b->devices->len);
    for (guint i = 0; i < a->devices->len; i++) {
        g_autoptr(GByteArray) x = state_of(a->devices->pdata[i]);
        g_autoptr(GByteArray) y = state_of(b->devices->pdata[i]);
        g_assert_cmpmem(x->data, x->len, y->data, y->len);
    }
    g_assert_true(memcmp(a->ram, b->ram, a->ram_size) == 0);
    g_assert_cmpuint(ram_block_count(a), ==, ram_block_count(b));
    for (unsigned i = 0; i < ram_block_count(a); i++) {       /* video memory too */
        RamBlock *x = ram_block_at(a, i), *y = ram_block_at(b, i);
        g_assert_cmpstr(x->name, ==, y->name);
        g_assert_cmpuint(x->size, ==, y->size);
        g_assert_true(memcmp(x->host, y->host, x->size) == 0);
    }
}

/* The stream of @m in memory. */
static GByteArray *save(Machine *m)
{
    int fd = memfd_create("stream", 0);
    GError *err = NULL;
    g_assert_true(migration_save_fd(m, fd, &err));
    g_assert_no_error(err);
    off_t len = lseek(fd, 0, SEEK_END);
    GByteArray *b = g_byte_array_sized_new(len);
    g_byte_array_set_size(b, len);
    g_assert_cmpint(pread(fd, b->data, len, 0), ==, len);
    close(fd);
    return b;
}

static bool load(Machine *m, const uint8_t *data, size_t len, GError **errp)
{
    int fd = memfd_create("stream", 0);
    g_assert_cmpint(write(fd, data, len), ==, (ssize_t)len);
    lseek(fd, 0, SEEK_SET);
    bool ok = migration_load_fd(m, fd, errp);
    close(fd);
    return ok;
}

static void test_roundtrip(void)
{
    Machine *a = machine(8 * MB, 0), *b = machine(8 * MB, 0);
    scribble(a);
    g_autoptr(GByteArray) s = save(a);
    GError *err = NULL;
    g_assert_true(load(b, s->data, s->len, &err));
    g_assert_no_error(err);
    assert_same(a, b);
    /* The loaded BAR registers are what b decodes now. */
    PciDevice *pa = (PciDevice *)find(a, "virtio-rng-pci", 0);
    PciDevice *pb = (PciDevice *)find(b, "virtio-rng-pci", 0);
    g_assert_cmphex(pci_bar_address(pa, 4), ==, pci_bar_address(pb, 4));
    /* Zero pages travel without data: the stream is far smaller than RAM. */
    g_assert_cmpuint(s->len, <, a->ram_size / 2 + (1 << 20));
    machine_done(a);
    machine_done(b);
}

static void expect_refusal(Machine *src, Machine *dst, const char *want)
{
    g_autoptr(GByteArray) s = save(src);
    GError *err = NULL;
    g_assert_false(load(dst, s->data, s->len, &err));
    g_assert_nonnull(err);
    if (!strstr(err->message, want))
        g_error("expected '%s' in: %s", want, err->message);
    g_error_free(err);
}

static void test_mismatch(void)
{
    Machine *a = machine(8 * MB, 0), *b = machine(8 * MB, 1);
    Machine *c = machine(16 * MB, 0);
    expect_refusal(b, a, "'virtio-rng-pci' instance 1 (id 'rng1', PCI 00:07.0)");
    expect_refusal(b, a, "lacks (an extra device on the source?)");
    expect_refusal(a, b, "'virtio-rng-pci' instance 1 (id 'rng1', PCI 00:07.0), which the "
                   "stream lacks (an extra device here?)");
    /* The extra device is named even where it moved another device's slot. */
    Machine *d = machine(8 * MB, 2);
    expect_refusal(a, d, "'virtio-rng-pci' instance 1 (id 'rng1', PCI 00:06.0), which the "
                   "stream lacks (an extra device here?)");
    expect_refusal(d, a, "the stream has section 'virtio-rng-pci' instance 1 (id 'rng1'");
    machine_done(d);
    expect_refusal(a, c, "RAM block 'pc.ram' differs in size: 8 MiB in the stream, 16 MiB");
    machine_done(a);
    machine_done(b);
    machine_done(c);
}

/* ---- walking a stream (format.h) to tamper with it ---------------------------------------- */

typedef struct Rec {
    size_t at, len;     /* whole record */
    int type;
    uint32_t section;   /* DEVICE */
} Rec;

static uint64_t le(const uint8_t *p, int n)
{
    uint64_t v = 0;
    for (int i = 0; i < n; i++)
        v |= (uint64_t)p[i] << (8 * i);
    return v;
}

static GArray *records(const GByteArray *s)
{
    GArray *a = g_array_new(FALSE, TRUE, sizeof(Rec));
    size_t p = 28;
    for (;;) {
        Rec r = { .at = p, .type = s->data[p] };
        switch (r.type) {
        case MIG_R_CONFIG: r.len = 5 + le(s->data + p + 1, 4); break;
        case MIG_R_ZERO: r.len = 15; break;
        case MIG_R_PAGES: r.len = 15 + le(s->data + p + 11, 4) * 4096; break;
        case MIG_R_DEVICE:
            r.section = le(s->data + p + 1, 4);
            r.len = 9 + le(s->data + p + 5, 4);
            break;
        case MIG_R_PASS: r.len = 5; break;
        case MIG_R_END: r.len = 9; break;
        default: g_assert_not_reached();
        }
        g_array_append_val(a, r);
        if (r.type == MIG_R_END)
            return a;
        p += r.len;
    }
}

/* Recomputes END's checksum after tampering. */
static void reseal(GByteArray *s)
{
    MigCsum c;
    mig_csum_init(&c);
    mig_csum_update(&c, s->data, s->len - 8);
    uint64_t v = mig_csum_value(&c);
    for (int i = 0; i < 8; i++)
        s->data[s->len - 8 + i] = v >> (8 * i);
}

static const Rec *device_record(GArray *recs, uint32_t section)
{
    for (guint i = 0; i < recs->len; i++) {
        const Rec *r = &g_array_index(recs, Rec, i);
        if (r->type == MIG_R_DEVICE && r->section == section)
            return r;
    }
    return NULL;
}

static void test_corrupt(void)
{
    Machine *a = machine(8 * MB, 0), *b = machine(8 * MB, 0);
    scribble(a);
    g_autoptr(GByteArray) s = save(a);
    g_autoptr(GArray) recs = records(s);
    GError *err = NULL;
    /* A flipped byte in page data: the checksum refuses it. */
    for (guint i = 0; i < recs->len; i++) {
        const Rec *r = &g_array_index(recs, Rec, i);
        if (r->type != MIG_R_PAGES)
            continue;
        s->data[r->at + 15 + 100] ^= 0x40;
        g_assert_false(load(b, s->data, s->len, &err));
        g_assert_nonnull(strstr(err->message, "checksum mismatch"));
        g_clear_error(&err);
        s->data[r->at + 15 + 100] ^= 0x40;
        break;
    }
    /* Truncated anywhere: refused, nothing read past the end. */
    for (size_t cut = 0; cut < s->len; cut += 1 + cut / 7) {
        g_assert_false(load(b, s->data, cut, &err));
        g_assert_nonnull(err);
        g_clear_error(&err);
    }
    /* A RAM record beyond its block, with a valid checksum. */
    g_autoptr(GByteArray) t = g_byte_array_new();
    g_byte_array_append(t, s->data, s->len);
    for (guint i = 0; i < recs->len; i++) {
        const Rec *r = &g_array_index(recs, Rec, i);
        if (r->type == MIG_R_ZERO) {
            t->data[r->at + 3 + 3] = 0x40;          /* first page 0x4000000 (256 GiB) */
            break;
        }
    }
    reseal(t);
    g_assert_false(load(b, t->data, t->len, &err));
    g_assert_nonnull(strstr(err->message, "outside it"));
    g_clear_error(&err);
    machine_done(a);
    machine_done(b);
}

/* Section index of the first device of @type in machine order (no KVM sections). */
static uint32_t section_of(Machine *m, const char *type)
{
    for (guint i = 0; i < m->devices->len; i++)
        if (!strcmp(((Device *)m->devices->pdata[i])->cls->name, type))
            return i;
    g_assert_not_reached();
}

/* A state byte out of range, correctly checksummed: the validator names the section,
 * and the devices are reset rather than left with what was loaded. */
static void hostile_section(const char *type, size_t off, uint8_t val, const char *want)
{
    Machine *a = machine(8 * MB, 0), *b = machine(8 * MB, 0);
    scribble(a);
    g_autoptr(GByteArray) s = save(a);
    g_autoptr(GArray) recs = records(s);
    const Rec *r = device_record(recs, section_of(a, type));
    g_assert_nonnull(r);
    g_assert_cmpuint(off, <, r->len - 9);
    s->data[r->at + 9 + off] = val;
    reseal(s);
    GError *err = NULL;
    g_assert_false(load(b, s->data, s->len, &err));
    if (!strstr(err->message, want))
        g_error("expected '%s' in: %s", want, err->message);
    g_error_free(err);
    machine_done(a);
    machine_done(b);
}

static void test_hostile_sections(void)
{
    /* isa-serial: "serial" header (15 bytes), divider, 12 registers, rx_fifo[16]: rx_head. */
    hostile_section("isa-serial", 15 + 2 + 12 + 16, 200, "vmstate 'serial'");
    /* mc146818rtc: cmos[128], then index. */
    hostile_section("mc146818rtc", 20 + 128, 0x90, "vmstate 'mc146818rtc'");
    /* virtio-rng-pci: pci-device header (19 bytes), the vendor ID in config space. */
    hostile_section("virtio-rng-pci", 19, 0x12, "read-only config byte");
    /* the length of a section's own header: larger than the record. */
    hostile_section("port92", 12, 0xff, "port92");
}

/* Random mutations of a valid stream: each load succeeds or fails with a message. */
static void test_mutations(void)
{
    Machine *a = machine(4 * MB, 0), *b = machine(4 * MB, 0);
    scribble(a);
    g_autoptr(GByteArray) s = save(a);
    g_autoptr(GArray) recs = records(s);
    GRand *r = g_rand_new_with_seed(99);
    size_t cfg_end = g_array_index(recs, Rec, 0).at + g_array_index(recs, Rec, 0).len;
    for (int i = 0; i < 300; i++) {
        g_autoptr(GByteArray) t = g_byte_array_new();
        g_byte_array_append(t, s->data, s->len);
        /* Aim at the structure: the header, CONFIG and the device records. */
        const Rec *dr = &g_array_index(recs, Rec, recs->len - 2 - g_rand_int_range(r, 0, 5));
        size_t at = i % 2 ? g_rand_int_range(r, 0, cfg_end)
                          : dr->at + g_rand_int_range(r, 0, dr->len);
        t->data[at] ^= 1 << g_rand_int_range(r, 0, 8);
        if (i % 3)
            reseal(t);
        GError *err = NULL;
        if (!load(b, t->data, t->len, &err)) {
            g_assert_nonnull(err);
            g_clear_error(&err);
        }
    }
    g_rand_free(r);
    machine_done(a);
    machine_done(b);
}

/* ---- -netdev user: libslirp's state (net/slirp.c) -------------------------------------------- */

/* A machine with 1 MiB of RAM, no devices, and one -netdev per entry of @netdevs. */
static Machine *slirp_machine(const char *const *netdevs)
{
    GError *err = NULL;
    Machine *m = machine_new_test(MB);
    for (; *netdevs; netdevs++) {
        JsonObject *o = net_parse_netdev_text("netdev", *netdevs, &(bool){0}, &(bool){0},
                                              &err);
        g_assert_no_error(err);
        g_assert_nonnull(net_netdev_add_from(m, o, true, &err));
        g_assert_no_error(err);
        json_object_unref(o);
    }
    return m;
}

/* The guest's side of a netdev: a client that keeps every frame slirp sends. */
typedef struct Guest {
    NetClient *nc;
    GPtrArray *frames;
} Guest;

static ssize_t guest_receive(NetClient *nc, const struct iovec *iov, int cnt)
{
    Guest *g = nc->opaque;
    size_t len = iov_size_n(iov, cnt);
    GByteArray *b = g_byte_array_sized_new(len);
    g_byte_array_set_size(b, len);
    iov_to_buf_n(iov, cnt, 0, b->data, len);
    g_ptr_array_add(g->frames, b);
    return len;
}

static const NetClientOps guest_ops = {
    .kind = NET_KIND_NIC, .type = "nic", .receive = guest_receive,
};

static Guest *guest_on(Machine *m, const char *netdev)
{
    Guest *g = g_new0(Guest, 1);
    g->frames = g_ptr_array_new_with_free_func((GDestroyNotify)g_byte_array_unref);
    g->nc = net_client_new(m, &guest_ops, "guest", NULL, g);
    net_client_connect(g->nc, net_netdev_find(m, netdev)->nc[0]);
    return g;
}

static void guest_free(Guest *g)
{
    net_client_free(g->nc);
    g_ptr_array_unref(g->frames);
    g_free(g);
}

static void put_be16(uint8_t *p, uint16_t v)
{
    p[0] = v >> 8, p[1] = v;
}

/* A DHCPDISCOVER from @mac; returns the last octet of the address slirp offers. */
static unsigned dhcp_offer(Guest *g, const uint8_t mac[6])
{
    uint8_t f[14 + 20 + 8 + 548] = { 0 };
    uint8_t *ip = f + 14, *udp = ip + 20, *bp = udp + 8;
    memset(f, 0xff, 6);
    memcpy(f + 6, mac, 6);
    f[12] = 0x08;
    ip[0] = 0x45;
    put_be16(ip + 2, sizeof(f) - 14);
    ip[8] = 64;
    ip[9] = 17;
    memset(ip + 16, 0xff, 4);                                  /* 0.0.0.0 -> broadcast */
    uint32_t sum = 0;
    for (int i = 0; i < 20; i += 2)
        sum += ip[i] << 8 | ip[i + 1];
    while (sum >> 16)
        sum = (sum & 0xffff) + (sum >> 16);
    put_be16(ip + 10, ~sum);
    put_be16(udp, 68);
    put_be16(udp + 2, 67);
    put_be16(udp + 4, 8 + 548);
    bp[0] = 1, bp[1] = 1, bp[2] = 6;                           /* request, Ethernet */
    memcpy(bp + 4, "\x12\x34\x56\x78", 4);
    memcpy(bp + 28, mac, 6);
    memcpy(bp + 236, "\x63\x82\x53\x63\x35\x01\x01\xff", 8);   /* cookie, DISCOVER, end */
    g_ptr_array_set_size(g->frames, 0);
    net_send_buf(g->nc, f, sizeof(f), NULL);
    for (int i = 0; i < 20; i++) {
        for (guint k = 0; k < g->frames->len; k++) {
            const GByteArray *r = g->frames->pdata[k];
            const uint8_t *rip = r->data + 14;
            if (r->len < 14 + 20 + 8 + 20 || r->data[12] != 0x08 || r->data[13] != 0 ||
                rip[9] != 17)
                continue;
            const uint8_t *rudp = rip + (rip[0] & 15) * 4;
            if (rudp + 8 + 20 > r->data + r->len || rudp[3] != 68)
                continue;
            g_assert_cmpmem(rudp + 8 + 28, 6, mac, 6);
            g_assert_cmpmem(rudp + 8 + 16, 3, "\x0a\x00\x02", 3);   /* yiaddr 10.0.2.x */
            return rudp[8 + 19];
        }
        g_main_context_iteration(NULL, FALSE);
    }
    g_error("no DHCP offer");
}

/* The lines of "info usernet" for netdev @id that contain @what. */
static char *usernet_lines(Machine *m, const char *what)
{
    g_autoptr(GString) out = g_string_new(NULL);
    net_slirp_hmp_info_usernet(m, out);
    g_auto(GStrv) lines = g_strsplit(out->str, "\n", -1);
    GString *r = g_string_new(NULL);
    for (char **l = lines; *l; l++)
        if (strstr(*l, what))
            g_string_append_printf(r, "%s\n", *l);
    return g_string_free(r, FALSE);
}

static const uint8_t mac1[6] = { 0x52, 0x54, 0, 0x12, 0x34, 0x01 };
static const uint8_t mac2[6] = { 0x52, 0x54, 0, 0x12, 0x34, 0x02 };
static const uint8_t mac3[6] = { 0x52, 0x54, 0, 0x12, 0x34, 0x03 };

/* Saved and loaded into a fresh netdev: the DHCP leases survive (the second guest MAC
 * is offered its own address again, not the first free one), and the destination's
 * own hostfwd listener (from its command line) is the one it has after the load,
 * neither duplicated nor lost: libslirp's state carries no listeners. */
static void test_slirp_roundtrip(void)
{
    const char *nd[] = { "user,id=u,hostfwd=tcp:127.0.0.1:0-:22", NULL };
    Machine *a = slirp_machine(nd), *b = slirp_machine(nd), *c = slirp_machine(nd);
    Guest *ga = guest_on(a, "u"), *gb = guest_on(b, "u"), *gc = guest_on(c, "u");
    g_assert_cmpuint(dhcp_offer(ga, mac1), ==, 15);
    g_assert_cmpuint(dhcp_offer(ga, mac2), ==, 16);
    g_autofree char *listen_b = usernet_lines(b, "HOST_FORWARD");
    g_assert_nonnull(strstr(listen_b, "127.0.0.1"));
    g_autoptr(GByteArray) s = save(a);
    GError *err = NULL;
    g_assert_true(load(b, s->data, s->len, &err));
    g_assert_no_error(err);
    g_assert_cmpuint(dhcp_offer(gb, mac2), ==, 16);
    g_assert_cmpuint(dhcp_offer(gb, mac3), ==, 17);
    g_assert_cmpuint(dhcp_offer(gb, mac1), ==, 15);
    g_autofree char *listen_after = usernet_lines(b, "HOST_FORWARD");
    g_assert_cmpstr(listen_after, ==, listen_b);
    /* Without the state, a fresh netdev offers the first free address. */
    g_assert_cmpuint(dhcp_offer(gc, mac2), ==, 15);
    guest_free(ga);
    guest_free(gb);
    guest_free(gc);
    machine_free(a);
    machine_free(b);
    machine_free(c);
}

/* ---- libslirp's version-4 layout, written by hand (big-endian) ---- */

static void be(GByteArray *o, uint32_t v, int n)
{
    for (int i = n - 1; i >= 0; i--)
        g_byte_array_append(o, (const guint8[]){ v >> (8 * i) }, 1);
}

/* What a test changes in the one guestfwd connection the blob holds. */
typedef struct Conn {
    uint16_t fport;               /* guestfwd port (1234 is forwarded) */
    uint16_t family;              /* of the foreign address (2: IPv4) */
    uint32_t urgc;
    uint8_t emu;
    uint32_t datalen, woff;       /* of the receive buffer */
    int16_t t_state, rxtshift;
    uint16_t maxseg;
    uint8_t scale;
} Conn;

static const Conn good_conn = {
    .fport = 1234, .family = 2, .datalen = 16, .woff = 3, .t_state = 4 /* ESTABLISHED */,
    .maxseg = 1460,
};

static void put_sbuf(GByteArray *o, uint32_t len, uint32_t woff)
{
    be(o, 0, 4);                                        /* sb_cc */
    be(o, len, 4);
    be(o, woff, 4);
    be(o, 0, 4);                                        /* roff */
    for (uint32_t i = 0; i < len && i < 64; i++)
        be(o, 'a' + i % 26, 1);
}

/* libslirp's state: @conn (unless NULL), then ip_id and the leases (@mac at .15). */
static GByteArray *slirp_blob(const Conn *conn)
{
    GByteArray *o = g_byte_array_new();
    if (conn) {
        be(o, 42, 1);
        be(o, conn->urgc, 4);
        be(o, conn->family, 2);                         /* foreign: 10.0.2.100:fport */
        if (conn->family == 2) {
            be(o, inet_addr("10.0.2.100"), 4);
            be(o, htons(conn->fport), 2);
        }
        be(o, 2, 2);                                    /* local: 10.0.2.15:40000 */
        be(o, inet_addr("10.0.2.15"), 4);
        be(o, htons(40000), 2);
        be(o, 0, 1);                                    /* so_iptos */
        be(o, conn->emu, 1);
        be(o, 6, 1);                                    /* so_type TCP */
        be(o, 0x4, 4);                                  /* so_state */
        put_sbuf(o, conn->datalen, conn->woff);
        put_sbuf(o, 16, 0);
        be(o, conn->t_state, 2);
        for (int i = 0; i < 4; i++)
            be(o, 0, 2);                                /* t_timer */
        be(o, conn->rxtshift, 2);
        be(o, 6, 2);                                    /* t_rxtcur */
        be(o, 0, 2);                                    /* t_dupacks */
        be(o, conn->maxseg, 2);
        for (int i = 0; i < 1 + 2 + 15 * 4 + 2 + 2 + 4 + 2 + 2 + 2 + 4 + 1 + 1 + 2; i++)
            be(o, 0, 1);
        be(o, conn->scale, 1);
        for (int i = 0; i < 3 + 3 * 4; i++)
            be(o, 0, 1);
    }
    be(o, 0, 1);
    be(o, 0x1234, 2);                                   /* ip_id */
    for (int i = 0; i < 16; i++) {
        be(o, i == 0, 2);
        g_byte_array_append(o, i == 0 ? mac2 : (const uint8_t[6]){ 0 }, 6);
    }
    return o;
}

/* The section's bytes around @blob: "slirp" version 1, libslirp version, the blob
 * (whose length word says @claimed bytes, normally blob->len). */
static GByteArray *slirp_section(uint32_t version, const GByteArray *blob, uint32_t claimed)
{
    GByteArray *o = g_byte_array_new();
    g_byte_array_append(o, (const guint8 *)"\x05slirp\x01\x00\x00\x00", 10);
    uint32_t plen = 8 + blob->len;
    g_byte_array_append(o, (const guint8[]){ plen, plen >> 8, plen >> 16, plen >> 24 }, 4);
    g_byte_array_append(o, (const guint8[]){ version, 0, 0, 0 }, 4);
    g_byte_array_append(o, (const guint8[]){ claimed, claimed >> 8, claimed >> 16,
                                             claimed >> 24 }, 4);
    g_byte_array_append(o, blob->data, blob->len);
    return o;
}

static bool load_blob(Machine *m, const GByteArray *blob, GError **errp)
{
    g_autoptr(GByteArray) sec = slirp_section(4, blob, blob->len);
    return net_slirp_state_load(net_netdev_find(m, "u"), sec->data, sec->len, errp);
}

static const char *const fwd_netdev[] = {
    "user,id=u,guestfwd=tcp:10.0.2.100:1234-null", NULL
};

/* A guestfwd connection (the only kind libslirp saves), written as libslirp's layout:
 * loaded, it is a connection libslirp lists; saved again and loaded into a third
 * machine, it is still there with its lease. The section's own bytes are fixed. */
static void test_slirp_guestfwd(void)
{
    Machine *a = slirp_machine(fwd_netdev), *b = slirp_machine(fwd_netdev);
    g_autoptr(GByteArray) blob = slirp_blob(&good_conn);
    GError *err = NULL;
    g_autofree char *before = usernet_lines(a, "10.0.2.15");
    g_assert_cmpstr(before, ==, "");
    g_assert_true(load_blob(a, blob, &err));
    g_assert_no_error(err);
    g_autofree char *conn = usernet_lines(a, "ESTABLISHED");
    g_assert_nonnull(strstr(conn, "10.0.2.15"));
    g_assert_nonnull(strstr(conn, "40000"));
    g_autoptr(GByteArray) s = save(a);
    g_assert_true(load(b, s->data, s->len, &err));
    g_assert_no_error(err);
    g_autofree char *conn_b = usernet_lines(b, "ESTABLISHED");
    g_assert_cmpstr(conn_b, ==, conn);
    Guest *gb = guest_on(b, "u");
    g_assert_cmpuint(dhcp_offer(gb, mac2), ==, 15);            /* the blob's lease */
    g_assert_cmpuint(dhcp_offer(gb, mac1), ==, 16);
    guest_free(gb);
    /* A fresh netdev's section: header, libslirp version 4, 131 bytes (no connection,
     * ip_id, 16 leases). */
    Machine *c = slirp_machine(fwd_netdev);
    g_autoptr(GByteArray) sec = g_byte_array_new();
    g_assert_true(net_slirp_state_save(net_netdev_find(c, "u"), sec, &err));
    g_assert_cmpuint(sec->len, ==, 10 + 4 + 4 + 4 + 131);
    g_assert_cmpmem(sec->data, 26, "\x05slirp\x01\x00\x00\x00\x8b\x00\x00\x00"
                    "\x04\x00\x00\x00\x83\x00\x00\x00\x00", 23 + 3);
    machine_free(a);
    machine_free(b);
    machine_free(c);
}

static void expect_blob_refused(const Conn *conn, const char *want)
{
    Machine *m = slirp_machine(fwd_netdev);
    g_autoptr(GByteArray) blob = slirp_blob(conn);
    GError *err = NULL;
    g_assert_false(load_blob(m, blob, &err));
    if (!strstr(err->message, want))
        g_error("expected '%s' in: %s", want, err->message);
    g_error_free(err);
    g_autofree char *conns = usernet_lines(m, "10.0.2.15");
    g_assert_cmpstr(conns, ==, "");                         /* nothing was loaded */
    machine_free(m);
}

/* Hostile sections: every truncation, an oversized or mislabelled blob, garbage, and
 * the connection fields libslirp would use as an index, a divisor or a length. Each
 * is refused with a message before libslirp sees it (ASan sweep: test-migration). */
static void test_slirp_hostile(void)
{
    Machine *m = slirp_machine(fwd_netdev);
    NetBackend *nd = net_netdev_find(m, "u");
    g_autoptr(GByteArray) blob = slirp_blob(&good_conn);
    GError *err = NULL;
    for (guint n = 0; n < blob->len; n++) {                 /* truncated blobs */
        g_autoptr(GByteArray) cut = g_byte_array_new();
        g_byte_array_append(cut, blob->data, n);
        g_assert_false(load_blob(m, cut, &err));
        g_assert_nonnull(strstr(err->message, "libslirp state: "));
        g_clear_error(&err);
    }
    g_autoptr(GByteArray) sec = slirp_section(4, blob, blob->len);
    for (guint n = 0; n < sec->len; n++) {                  /* truncated sections */
        g_assert_false(net_slirp_state_load(nd, sec->data, n, &err));
        g_assert_nonnull(err);
        g_clear_error(&err);
    }
    g_autoptr(GByteArray) over = slirp_section(4, blob, NET_SLIRP_STATE_MAX + 1);
    g_assert_false(net_slirp_state_load(nd, over->data, over->len, &err));
    g_assert_cmpstr(err->message, ==, "vmstate 'slirp': field 'state' of 8388609 bytes is "
                    "larger than its maximum of 8388608 bytes");
    g_clear_error(&err);
    g_autoptr(GByteArray) v5 = slirp_section(5, blob, blob->len);
    g_assert_false(net_slirp_state_load(nd, v5->data, v5->len, &err));
    g_assert_nonnull(strstr(err->message, "libslirp state version 5"));
    g_clear_error(&err);
    g_byte_array_append(blob, (const guint8 *)"x", 1);
    g_assert_false(load_blob(m, blob, &err));
    g_assert_cmpstr(err->message, ==, "vmstate 'slirp': libslirp state: 1 bytes after its end");
    g_clear_error(&err);
    GRand *r = g_rand_new_with_seed(5);                     /* garbage */
    for (int i = 0; i < 200; i++) {
        g_autoptr(GByteArray) g = g_byte_array_new();
        int len = g_rand_int_range(r, 0, 600);
        for (int k = 0; k < len; k++)
            be(g, g_rand_int_range(r, 0, 256), 1);
        if (i % 2 && len)
            g->data[0] = 42;
        if (load_blob(m, g, &err))
            continue;                                       /* a lease table, say */
        g_assert_nonnull(err);
        g_clear_error(&err);
    }
    g_rand_free(r);
    g_autofree char *conns = usernet_lines(m, "10.0.2.15");
    g_assert_cmpstr(conns, ==, "");
    machine_free(m);
    Conn c = good_conn;
    c.fport = 1235;
    expect_blob_refused(&c, "a connection to guestfwd 10.0.2.100:1235, which this netdev "
                        "does not forward to a chardev");
    c = good_conn, c.family = 10;
    expect_blob_refused(&c, "foreign address family 10");
    c = good_conn, c.urgc = 3000;
    expect_blob_refused(&c, "3000 bytes of urgent data pending");
    c = good_conn, c.emu = 3;
    expect_blob_refused(&c, "protocol emulation 3");
    c = good_conn, c.datalen = 0;
    expect_blob_refused(&c, "receive buffer of 0 bytes");
    c = good_conn, c.datalen = 100000;
    expect_blob_refused(&c, "receive buffer of 100000 bytes");
    c = good_conn, c.woff = 16;
    expect_blob_refused(&c, "receive buffer of 16 bytes with 0 bytes from offset 0 to 16");
    c = good_conn, c.t_state = 11;
    expect_blob_refused(&c, "TCP state 11");
    c = good_conn, c.t_state = -1;
    expect_blob_refused(&c, "TCP state -1");
    c = good_conn, c.rxtshift = 13;
    expect_blob_refused(&c, "TCP retransmit shift 13");
    c = good_conn, c.maxseg = 0;
    expect_blob_refused(&c, "TCP maximum segment size 0");
    c = good_conn, c.scale = 15;
    expect_blob_refused(&c, "TCP window scale 15");
    /* A netdev without the guestfwd rule refuses the connection too. */
    const char *plain[] = { "user,id=u", NULL };
    Machine *p = slirp_machine(plain);
    g_autoptr(GByteArray) b2 = slirp_blob(&good_conn);
    g_assert_false(load_blob(p, b2, &err));
    g_assert_nonnull(strstr(err->message, "10.0.2.100:1234, which this netdev does not"));
    g_clear_error(&err);
    machine_free(p);
}

/* The stream names each user netdev; one side's extra netdev is refused by name, and
 * the same netdevs in another order are the same. An oversized blob in a stream is
 * refused naming the section. */
static void test_slirp_mismatch(void)
{
    const char *two[] = { "user,id=u1", "user,id=u2", NULL };
    const char *one[] = { "user,id=u1", NULL };
    const char *other[] = { "user,id=u1", "user,id=u3", NULL };
    const char *swapped[] = { "user,id=u2", "user,id=u1", NULL };
    Machine *a = slirp_machine(two), *b = slirp_machine(one), *c = slirp_machine(other);
    Machine *d = slirp_machine(swapped);
    expect_refusal(a, b, "the stream has section 'slirp' (netdev 'u2'), which this machine "
                   "lacks (an extra netdev on the source?)");
    expect_refusal(b, a, "this machine has section 'slirp' (netdev 'u2'), which the stream "
                   "lacks (an extra netdev here?)");
    expect_refusal(a, c, "'slirp' (netdev 'u2'), which this machine lacks");
    g_autoptr(GByteArray) s = save(a);
    GError *err = NULL;
    g_assert_true(load(d, s->data, s->len, &err));
    g_assert_no_error(err);
    /* u2's blob claims 8 MiB + 1 (the record is resealed). */
    g_autoptr(GArray) recs = records(s);
    const Rec *r = device_record(recs, 1);
    g_assert_nonnull(r);
    size_t at = r->at + 9 + 10 + 4 + 4;
    g_assert_cmpuint(s->data[at], ==, 131);
    s->data[at] = 1, s->data[at + 1] = 0, s->data[at + 2] = 0x80;
    reseal(s);
    g_assert_false(load(d, s->data, s->len, &err));
    g_assert_cmpstr(err->message, ==, "section 'slirp' (netdev 'u2'): vmstate 'slirp': "
                    "field 'state' of 8388609 bytes is larger than its maximum of 8388608 "
                    "bytes");
    g_clear_error(&err);
    machine_free(a);
    machine_free(b);
    machine_free(c);
    machine_free(d);
}

/* ---- live migration between two machines of this process ----------------------------------- */

static void wait_status(Machine *m, MigrationStatus want)
{
    for (int i = 0; i < 20000; i++) {
        MigrationStatus st = mig_state(m)->status;
        if (st == want)
            return;
        if (st == MIGRATION_STATUS_FAILED && want != st)
            g_error("migration failed: %s", mig_state(m)->error ? mig_state(m)->error : "?");
        g_main_context_iteration(NULL, FALSE);
        bql_unlock();
        g_usleep(1000);
        bql_lock();
    }
    g_error("migration did not reach %s (%s)", MigrationStatus_str[want],
            MigrationStatus_str[mig_state(m)->status]);
}

/* @multifd: that many channels (0: none). */
static void live(const char *uri, unsigned multifd)
{
    Machine *a = machine(8 * MB, 3), *b = machine(8 * MB, 3);
    scribble(a);
    GError *err = NULL;
    g_assert_true(migration_incoming_init(b, uri, &err));
    g_assert_no_error(err);
    if (multifd) {
        MigrationState *s = mig_state(a), *d = mig_state(b);
        s->caps[MIGRATION_CAPABILITY_MULTIFD] = d->caps[MIGRATION_CAPABILITY_MULTIFD] = true;
        s->p.multifd_channels = multifd;
    }
    mig_state(a)->p.max_bandwidth = 0;
    const char *target = uri;
    g_autofree char *tcp = NULL;
    if (g_str_has_prefix(uri, "tcp:")) {    /* the port the destination got */
        MigrationSocketAddress *sa = mig_state(b)->socket_address->pdata[0];
        target = tcp = g_strdup_printf("tcp:127.0.0.1:%s", sa->port);
    }
    qmp_migrate(a, target, false, false, false, false, false, false, false, false, &err);
    g_assert_no_error(err);
    wait_status(a, MIGRATION_STATUS_COMPLETED);
    wait_status(b, MIGRATION_STATUS_COMPLETED);
    assert_same(a, b);
    g_assert_cmpint(runstate_get(a), ==, RUN_STATE_POSTMIGRATE);
    g_assert_true(runstate_is_running(b));
    MigrationInfo *i = qmp_query_migrate(a, NULL);
    g_assert_true(i->has_downtime && i->ram && i->ram->transferred > 0);
    g_assert_cmpint(i->ram->remaining, ==, 0);
    qapi_free_MigrationInfo(i);
    /* The destination announced the NIC (a RARP for its MAC); the source did not. */
    FakeNet *fa = g_hash_table_lookup(fakes, a), *fb = g_hash_table_lookup(fakes, b);
    g_assert_cmpuint(fa->frames->len, ==, 0);
    g_assert_cmpuint(fb->frames->len, >=, 1);
    GByteArray *rarp = fake_frame(fb, 0);
    static const uint8_t mac[6] = { 0x52, 0x54, 0x00, 0x12, 0x34, 0x99 };
    g_assert_cmpuint(rarp->data[12] << 8 | rarp->data[13], ==, 0x8035);
    g_assert_cmpmem(rarp->data + 6, 6, mac, 6);
    machine_done(a);
    machine_done(b);
}

static void test_live_unix(void)
{
    g_autofree char *path = g_strdup_printf("%s/mig-%d.sock", g_get_tmp_dir(), getpid());
    g_autofree char *uri = g_strconcat("unix:", path, NULL);
    live(uri, 0);
    unlink(path);
}

static void test_live_tcp_multifd(void)
{
    live("tcp:127.0.0.1:0", 3);
}

/* More channels than a listen queue of 16 holds: the source connects them all before
 * the destination reads the header that says how many to accept. */
static void test_live_unix_many_channels(void)
{
    g_autofree char *path = g_strdup_printf("%s/mig-m-%d.sock", g_get_tmp_dir(), getpid());
    g_autofree char *uri = g_strconcat("unix:", path, NULL);
    live(uri, 40);
    unlink(path);
}

/* ---- the devices of the firmware-booted pc board ------------------------------------- */

/* RAM below the legacy VGA window; VGA, bochs-display, the virtio input devices,
 * fw_cfg with items and files, piix3-ide with a disk and an empty CD-ROM. */
static Machine *pc_machine(void)
{
    GError *err = NULL;
    Machine *m = machine_new_test(0x80000);
    g_assert_nonnull(pci_bus_new_pc(m, &err));
    g_autofree char *image = make_image();
    g_autofree char *spec = g_strdup_printf("file=%s,format=raw,if=none,id=d0", image);
    g_assert_true(drive_add(m, spec, &err));
    g_ptr_array_add(images, g_steal_pointer(&image));
    g_assert_true(drive_add(m, "if=none,id=c0,media=cdrom", &err));
    g_assert_no_error(err);
    dev(m, "VGA", "vgamem_mb=1,addr=02.0");
    dev(m, "bochs-display", "vgamem=4M,addr=03.0");   /* QEMU's minimum */
    dev(m, "virtio-keyboard-pci", "addr=04.0");
    dev(m, "virtio-mouse-pci", "addr=05.0");
    dev(m, "virtio-tablet-pci", "addr=06.0");
    dev(m, "piix3-ide", NULL);
    dev(m, "ide-hd", "drive=d0,bus=ide.0,unit=0");
    dev(m, "ide-cd", "drive=c0,bus=ide.1,unit=0");
    Device *fw = device_new(m, &fw_cfg_io_class);
    g_assert_true(machine_add_device(m, fw, &err));
    static const char blob[] = "migration fw_cfg item";
    fw_cfg_add_bytes(fw, FW_CFG_KERNEL_CMDLINE, blob, sizeof(blob));
    g_assert_true(fw_cfg_add_file(fw, "etc/migration", blob, sizeof(blob), &err));
    machine_reset_devices(m);
    g_assert_true(pci_bus_assign_bars(m->pci_bus));
    return m;
}

/* Guest-like activity on each of them. */
static void pc_scribble(Machine *m)
{
    for (unsigned i = 0; i < 80 * 2; i += 2) {             /* VGA text through 0xb8000 */
        as_write(m->sysmem, 0xb8000 + i, 'A' + i % 26, 1);
        as_write(m->sysmem, 0xb8001 + i, 0x1e, 1);
    }
    as_write(m->io, 0x3c4, 2, 1);                         /* sequencer index */
    as_write(m->io, 0x3c8, 5, 1);                         /* DAC write, 2 of 3 bytes */
    as_write(m->io, 0x3c9, 0x11, 1);
    as_write(m->io, 0x3c9, 0x22, 1);
    PciDevice *bochs = (PciDevice *)find(m, "bochs-display", 0);
    pci_config_write(bochs, PCI_COMMAND, PCI_COMMAND_MEMORY, 2);
    uint64_t fb = pci_bar_address(bochs, 0);
    for (uint64_t off = 0; off < 0x20000; off += 0x1000)    /* the framebuffer BAR */
        as_write(m->sysmem, fb + off, off | 0xab, 4);
    as_write(m->io, 0x510, FW_CFG_KERNEL_CMDLINE, 2);     /* fw_cfg: select, read 3 */
    uint64_t v;
    for (int i = 0; i < 3; i++)
        as_read(m->io, 0x511, &v, 1);
    as_write(m->io, 0x1f6, 0xe0, 1);                      /* IDE: LBA mode, features */
    as_write(m->io, 0x1f2, 0x08, 1);
    as_write(m->io, 0x1f1, 0x03, 1);
    as_write(m->io, 0x1f7, 0xef, 1);                      /* SET FEATURES: transfer mode */
    as_write(m->io, 0x176, 0xa0, 1);                      /* ATAPI: PACKET, awaiting bytes */
    as_write(m->io, 0x174, 0x00, 1);
    as_write(m->io, 0x175, 0x08, 1);
    as_write(m->io, 0x177, 0xa0, 1);
    PciDevice *kbd = (PciDevice *)find(m, "virtio-keyboard-pci", 0);
    pci_config_write(kbd, PCI_COMMAND, PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER, 2);
    uint64_t common = pci_bar_address(kbd, 4);
    as_write(m->sysmem, common + 0x14, 3, 1);             /* ACK | DRIVER */
    input_key(m, Q_KEY_CODE_A, true);                     /* queued: no buffers yet */
    input_key(m, Q_KEY_CODE_A, false);
}

/* Everything above through the stream into a fresh machine; then a stream whose VGA
 * state says the sequencer index is 9 is refused, naming the section. */
static void test_pc_devices(void)
{
    Machine *a = pc_machine(), *b = pc_machine();
    pc_scribble(a);
    g_autoptr(GByteArray) s = save(a);
    GError *err = NULL;
    g_assert_true(load(b, s->data, s->len, &err));
    g_assert_no_error(err);
    assert_same(a, b);
    uint64_t v = 0;
    as_read(b->sysmem, 0xb8002, &v, 1);
    g_assert_cmpuint(v, ==, 'C');
    as_read(b->io, 0x172, &v, 1);                         /* still awaiting the packet */
    g_assert_cmpuint(v & 3, ==, 1);
    as_write(a->io, 0x3c4, 3, 1);
    Machine *c = pc_machine();
    g_autoptr(GByteArray) t = save(a);
    /* find the VGA registers' section by its bytes; the sequencer index follows the
     * header (name length, name, version) and misc, feature, st01 */
    Device *vga = find(a, "VGA", 0);
    g_autoptr(GByteArray) vs = g_byte_array_new();
    vmstate_save(vga->cls->vmsd, device_state(vga), vs);
    guint8 *hit = memmem(t->data, t->len, vs->data, vs->len);
    g_assert_nonnull(hit);
    size_t idx = 1 + vs->data[0] + 8 + 3;
    g_assert_cmpuint(hit[idx], ==, 3);
    hit[idx] = 9;
    reseal(t);
    g_assert_false(load(c, t->data, t->len, &err));
    g_assert_nonnull(err);
    if (!strstr(err->message, "vga"))
        g_error("%s", err->message);
    g_clear_error(&err);
    machine_done(a);
    machine_done(b);
    machine_done(c);
}

static bool uffd_usable(void)
{
    int fd = syscall(SYS_userfaultfd, O_CLOEXEC);
    if (fd < 0)
        return false;
    close(fd);
    return true;
}

/* file: keeps RAM at fixed offsets (zero pages are holes), the destination reads it
 * back (lazily where it can), and a file cut short inside the RAM area is refused. */
static void test_file_mapped(void)
{
    const char *dir = g_getenv("VIREO_BUILD_DIR");
    g_autofree char *path = g_strdup_printf("%s/mig-f-%d.vmstate", dir ? dir : g_get_tmp_dir(),
                                            (int)getpid());
    g_autofree char *uri = g_strconcat("file:", path, NULL);
    Machine *a = machine(8 * MB, 0), *b = machine(8 * MB, 0);
    Machine *c = machine(8 * MB, 0);
    scribble(a);
    GError *err = NULL;
    mig_state(a)->p.max_bandwidth = 0;
    qmp_migrate(a, uri, false, false, false, false, false, false, false, false, &err);
    g_assert_no_error(err);
    wait_status(a, MIGRATION_STATUS_COMPLETED);
    struct stat st;
    g_assert_cmpint(stat(path, &st), ==, 0);
    g_assert_cmpint(st.st_size, >, 8 * MB);
    /* half of RAM is zero: it takes no room in the file (tmpfs and ext4 make holes) */
    g_assert_cmpint((int64_t)st.st_blocks * 512, <, st.st_size - 3 * MB);
    mig_lazy_hold_fill(true);           /* faults only, until released below */
    g_assert_true(migration_incoming_init(b, uri, &err));
    g_assert_no_error(err);
    wait_status(b, MIGRATION_STATUS_COMPLETED);
    /* Where a userfaultfd can be had, RAM comes in lazily: reading it here faults the
     * pages in while the fill thread places the rest. */
    MigLazy *lz = mig_state(b)->lazy;
    if (uffd_usable())
        g_assert_nonnull(lz);
    assert_same(a, b);
    if (lz) {
        g_assert_false(mig_lazy_finished(lz));
        /* a page the guest writes before the fill reaches it keeps the write */
        uint64_t far = 4 * MB - 4096;
        g_assert_cmpuint(b->ram[far + 7], ==, a->ram[far + 7]);
        b->ram[far + 7] ^= 0xff;
        mig_lazy_hold_fill(false);
        mig_lazy_wait(lz);
        g_assert_cmpuint(b->ram[far + 7], ==, (uint8_t)(a->ram[far + 7] ^ 0xff));
        b->ram[far + 7] ^= 0xff;
        MigLazyStats ls = mig_lazy_stats(lz);
        g_assert_cmpuint(ls.blocks, ==, ram_block_count(b));
        g_assert_cmpuint(ls.read_errors, ==, 0);
        /* only the data half was read (1021 pages: 3 zero pages inside it), give or
         * take the zero pages a fault's 64 KiB run around data reads */
        g_test_message("lazy restore: %" G_GUINT64_FORMAT " faults, %" G_GUINT64_FORMAT
                       " pages read, %" G_GUINT64_FORMAT " zero-filled", ls.faults,
                       ls.pages_read, ls.zero_pages);
        g_assert_cmpuint(ls.pages_read, >=, 4 * MB / 4096 - 3);
        g_assert_cmpuint(ls.pages_read, <=, 4 * MB / 4096 + 16);
        g_assert_cmpuint(ls.faults, >, 0);
        g_assert_true(memcmp(a->ram, b->ram, a->ram_size) == 0);   /* after the fill too */
    }
    mig_lazy_hold_fill(false);
    /* the restored guest's writes do not reach the file */
    memset(b->ram, 0xa5, 4096);
    g_autofree char *again = NULL;
    gsize len;
    g_assert_true(g_file_get_contents(path, &again, &len, NULL));
    g_assert_cmpint(again[2 * MB], !=, (char)0xa5);
    /* cut inside the RAM area */
    g_assert_cmpint(truncate(path, 4 * MB), ==, 0);
    g_assert_true(migration_incoming_init(c, uri, &err));
    g_assert_no_error(err);
    wait_status(c, MIGRATION_STATUS_FAILED);
    g_assert_nonnull(strstr(mig_state(c)->error, "not inside the file"));
    migration_shutdown(b);
    /* The fill thread's SEEK_DATA/SEEK_HOLE move its own offset, not the channel's. */
    int fd = open(path, O_RDONLY);
    g_assert_cmpint(fd, >=, 0);
    MigLazy *probe = mig_lazy_new(fd);
    if (probe) {
        g_assert_cmpint(lseek(fd, 4096, SEEK_SET), ==, 4096);
        g_assert_cmpint(lseek(mig_lazy_file_fd(probe), 0, SEEK_DATA), >=, 0);
        g_assert_cmpint(lseek(fd, 0, SEEK_CUR), ==, 4096);
        mig_lazy_free(probe);
    }
    close(fd);
    /* Restores with the fill running while the records after the RAM area are read:
     * its SEEK_DATA/SEEK_HOLE must not move the offset the stream is read at. */
    g_assert_cmpint(truncate(path, 0), ==, 0);
    Machine *e = machine(8 * MB, 0);
    scribble(e);
    mig_state(e)->p.max_bandwidth = 0;
    qmp_migrate(e, uri, false, false, false, false, false, false, false, false, &err);
    g_assert_no_error(err);
    wait_status(e, MIGRATION_STATUS_COMPLETED);
    for (int i = 0; i < 8; i++) {
        Machine *d = machine(8 * MB, 0);
        g_assert_true(migration_incoming_init(d, uri, &err));
        g_assert_no_error(err);
        wait_status(d, MIGRATION_STATUS_COMPLETED);
        mig_lazy_wait(mig_state(d)->lazy);
        assert_same(e, d);
        migration_shutdown(d);
        machine_done(d);
    }
    machine_done(e);
    machine_done(a);
    machine_done(b);
    machine_done(c);
    unlink(path);
}

/* A destination with an extra device refuses at the configuration; the source hears
 * why on the return path and keeps its VM. */
static void test_live_refused(void)
{
    g_autofree char *path = g_strdup_printf("%s/mig-r-%d.sock", g_get_tmp_dir(), getpid());
    g_autofree char *uri = g_strconcat("unix:", path, NULL);
    Machine *a = machine(8 * MB, 0), *b = machine(8 * MB, 1);
    GError *err = NULL;
    vm_start(a);
    g_assert_true(migration_incoming_init(b, uri, &err));
    qmp_migrate(a, uri, false, false, false, false, false, false, false, false, &err);
    g_assert_no_error(err);
    wait_status(a, MIGRATION_STATUS_FAILED);
    g_assert_nonnull(strstr(mig_state(a)->error, "virtio-rng-pci"));
    g_assert_true(runstate_is_running(a));
    wait_status(b, MIGRATION_STATUS_FAILED);
    machine_done(a);
    machine_done(b);
    unlink(path);
}

/* migrate_cancel while the destination never answers: the source runs on. */
static void test_live_cancel(void)
{
    g_autofree char *path = g_strdup_printf("%s/mig-c-%d.sock", g_get_tmp_dir(), getpid());
    g_autofree char *uri = g_strconcat("unix:", path, NULL);
    MigUri u;
    bool listening;
    GError *err = NULL;
    g_assert_true(mig_uri_parse(uri, &u, &err));
    int lfd = mig_listen(&u, &listening, NULL, &err);
    g_assert_cmpint(lfd, >=, 0);
    Machine *a = machine(8 * MB, 0);
    vm_start(a);
    qmp_migrate(a, uri, false, false, false, false, false, false, false, false, &err);
    g_assert_no_error(err);
    for (int i = 0; i < 50; i++) {
        g_main_context_iteration(NULL, FALSE);
        bql_unlock();
        g_usleep(2000);
        bql_lock();
    }
    qmp_migrate_cancel(a, &err);
    wait_status(a, MIGRATION_STATUS_CANCELLED);
    g_assert_true(runstate_is_running(a));
    close(lfd);
    mig_uri_clear(&u);
    machine_done(a);
    unlink(path);
}


/* ---- the listener, exec: children, teardown in every phase (issue 13) ---------------------- */

static unsigned open_fds(void)
{
    unsigned n = 0;
    DIR *d = opendir("/proc/self/fd");
    g_assert_nonnull(d);
    for (struct dirent *e; (e = readdir(d));)
        n += e->d_name[0] != '.';
    closedir(d);
    return n - 1;                       /* the directory's own descriptor */
}

static void spin(int ms)
{
    for (int i = 0; i < ms; i++) {
        g_main_context_iteration(NULL, FALSE);
        bql_unlock();
        g_usleep(1000);
        bql_lock();
    }
}

/* Connects to @uri's socket (unix:PATH or tcp:HOST:PORT); -errno when refused. */
static int connect_to(const char *uri, int *fdp)
{
    int fd;
    if (g_str_has_prefix(uri, "unix:")) {
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        g_strlcpy(sa.sun_path, uri + 5, sizeof(sa.sun_path));
        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        g_assert_cmpint(fd, >=, 0);
        if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
            int e = errno;
            close(fd);
            return -e;
        }
    } else {
        struct sockaddr_in sa = { .sin_family = AF_INET,
                                  .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
        sa.sin_port = htons(atoi(strrchr(uri, ':') + 1));
        fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        g_assert_cmpint(fd, >=, 0);
        if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
            int e = errno;
            close(fd);
            return -e;
        }
    }
    *fdp = fd;
    return 0;
}

/* The URI a source connects to for destination @b listening on @uri. */
static char *target_of(Machine *b, const char *uri)
{
    if (!g_str_has_prefix(uri, "tcp:"))
        return g_strdup(uri);
    MigrationSocketAddress *sa = mig_state(b)->socket_address->pdata[0];
    return g_strdup_printf("tcp:127.0.0.1:%s", sa->port);
}

/* The destination's listener takes one migration (and its multifd channels), then
 * closes: a second client is refused while the first migration runs, and nothing
 * is left behind (no descriptor, no socket file). */
static void one_connection(const char *uri, bool multifd)
{
    unsigned fds = open_fds();
    Machine *a = machine(8 * MB, 0), *b = machine(8 * MB, 0);
    scribble(a);
    GError *err = NULL;
    g_assert_true(migration_incoming_init(b, uri, &err));
    g_assert_no_error(err);
    g_autofree char *target = target_of(b, uri);
    MigrationState *s = mig_state(a);
    s->caps[MIGRATION_CAPABILITY_PAUSE_BEFORE_SWITCHOVER] = true;
    s->caps[MIGRATION_CAPABILITY_MULTIFD] = multifd;
    s->p.multifd_channels = 2;
    s->p.max_bandwidth = 0;
    qmp_migrate(a, target, false, false, false, false, false, false, false, false, &err);
    g_assert_no_error(err);
    /* The destination has taken the stream (and answered CONFIG_OK) by now. */
    wait_status(a, MIGRATION_STATUS_PRE_SWITCHOVER);
    int fd = -1, r = connect_to(target, &fd);
    if (r == 0)
        close(fd);
    g_assert_cmpint(r, !=, 0);
    g_assert_true(r == -ECONNREFUSED || r == -ENOENT);
    qmp_migrate_continue(a, MIGRATION_STATUS_PRE_SWITCHOVER, &err);
    g_assert_no_error(err);
    wait_status(a, MIGRATION_STATUS_COMPLETED);
    wait_status(b, MIGRATION_STATUS_COMPLETED);
    assert_same(a, b);
    machine_done(a);
    machine_done(b);
    if (g_str_has_prefix(uri, "unix:"))
        g_assert_false(g_file_test(uri + 5, G_FILE_TEST_EXISTS));
    g_assert_cmpuint(open_fds(), ==, fds);
}

/* A device removed while a live migration runs (a guest may eject a hot-plugged device
 * at any time): the source fails the migration, naming the device, instead of saving
 * freed state, and keeps the VM; device_add and device_del wait, as in QEMU. */
static void test_live_device_removed(void)
{
    g_autofree char *path = g_strdup_printf("%s/mig-r-%d.sock", g_get_tmp_dir(), getpid());
    g_autofree char *uri = g_strconcat("unix:", path, NULL);
    Machine *a = machine(8 * MB, 1), *b = machine(8 * MB, 1);
    GError *err = NULL;
    g_assert_true(migration_incoming_init(b, uri, &err));
    g_autofree char *target = target_of(b, uri);
    MigrationState *s = mig_state(a);
    s->caps[MIGRATION_CAPABILITY_PAUSE_BEFORE_SWITCHOVER] = true;
    s->p.max_bandwidth = 0;
    g_assert_false(migration_is_active(a));
    machine_find_device(a, "rng1")->user_created = true;  /* as if -device'd */
    qmp_migrate(a, target, false, false, false, false, false, false, false, false, &err);
    g_assert_no_error(err);
    wait_status(a, MIGRATION_STATUS_PRE_SWITCHOVER);
    g_assert_true(migration_is_active(a));
    qmp_device_del(a, "rng1", &err);
    g_assert_cmpstr(err ? err->message : "", ==, "device_del not allowed while migrating");
    g_clear_error(&err);
    Device *rng1 = machine_find_device(a, "rng1");
    g_assert_nonnull(rng1);
    machine_remove_device(a, rng1);                       /* what a guest's eject does */
    qmp_migrate_continue(a, MIGRATION_STATUS_PRE_SWITCHOVER, &err);
    g_assert_no_error(err);
    wait_status(a, MIGRATION_STATUS_FAILED);
    MigrationInfo *i = qmp_query_migrate(a, NULL);
    g_assert_nonnull(i->error_desc);
    g_assert_nonnull(strstr(i->error_desc, "id 'rng1'"));
    g_assert_nonnull(strstr(i->error_desc, "was removed during the migration"));
    qapi_free_MigrationInfo(i);
    g_assert_false(migration_is_active(a));
    machine_done(a);
    machine_done(b);
    unlink(path);
}

static void test_incoming_one_connection(void)
{
    g_autofree char *path = g_strdup_printf("%s/mig-o-%d.sock", g_get_tmp_dir(), getpid());
    g_autofree char *uri = g_strconcat("unix:", path, NULL);
    one_connection(uri, false);
    one_connection("tcp:127.0.0.1:0", true);
    unlink(path);
}

/* Children of this process that have exited and are not reaped. */
static unsigned zombies(void)
{
    unsigned n = 0;
    DIR *d = opendir("/proc");
    g_assert_nonnull(d);
    for (struct dirent *e; (e = readdir(d));) {
        if (e->d_name[0] < '0' || e->d_name[0] > '9')
            continue;
        g_autofree char *path = g_strdup_printf("/proc/%s/stat", e->d_name);
        g_autofree char *text = NULL;
        if (!g_file_get_contents(path, &text, NULL, NULL))
            continue;
        char *close_paren = strrchr(text, ')'), state;
        int ppid;
        if (close_paren && sscanf(close_paren + 1, " %c %d", &state, &ppid) == 2 &&
            ppid == getpid() && state == 'Z')
            n++;
    }
    closedir(d);
    return n;
}

/* The main loop runs (it reaps) until no child of this process is a zombie. */
static void assert_no_zombies(void)
{
    for (int i = 0; i < 5000 && zombies(); i++)
        spin(1);
    g_assert_cmpuint(zombies(), ==, 0);
}

/* exec: on both sides: the commands' processes are reaped; a command that fails is a
 * migration error naming it, and the source keeps running. */
static void test_exec(void)
{
    const char *dir = g_getenv("VIREO_BUILD_DIR");
    g_autofree char *path = g_strdup_printf("%s/mig-x-%d.stream", dir ? dir : g_get_tmp_dir(),
                                            (int)getpid());
    g_autofree char *out = g_strdup_printf("exec:cat > '%s'", path);
    g_autofree char *in = g_strdup_printf("exec:cat '%s'", path);
    Machine *a = machine(8 * MB, 0), *b = machine(8 * MB, 0);
    scribble(a);
    GError *err = NULL;
    mig_state(a)->p.max_bandwidth = 0;
    qmp_migrate(a, out, false, false, false, false, false, false, false, false, &err);
    g_assert_no_error(err);
    wait_status(a, MIGRATION_STATUS_COMPLETED);
    g_assert_true(migration_incoming_init(b, in, &err));
    g_assert_no_error(err);
    wait_status(b, MIGRATION_STATUS_COMPLETED);
    assert_same(a, b);
    assert_no_zombies();
    machine_done(a);
    machine_done(b);

    /* A command that fails on the source: the migration fails naming it, the VM runs. */
    Machine *c = machine(8 * MB, 0);
    vm_start(c);
    mig_state(c)->p.max_bandwidth = 0;
    qmp_migrate(c, "exec:exit 3", false, false, false, false, false, false, false, false,
                &err);
    g_assert_no_error(err);
    wait_status(c, MIGRATION_STATUS_FAILED);
    g_test_message("source: %s", mig_state(c)->error);
    g_assert_nonnull(strstr(mig_state(c)->error, "exec:exit 3"));
    g_assert_nonnull(strstr(mig_state(c)->error, "exited with status 3"));
    g_assert_true(runstate_is_running(c));
    /* A command that reads the whole stream, then fails: the migration fails too. */
    g_autofree char *late = g_strdup_printf("exec:cat > '%s'; exit 4", path);
    qmp_migrate(c, late, false, false, false, false, false, false, false, false, &err);
    g_assert_no_error(err);
    wait_status(c, MIGRATION_STATUS_FAILED);
    g_assert_nonnull(strstr(mig_state(c)->error, "exited with status 4"));
    g_assert_true(runstate_is_running(c));
    /* A command that fails on the destination. */
    Machine *d = machine(8 * MB, 0);
    g_assert_true(migration_incoming_init(d, "exec:cat /nonexistent-vireo-stream", &err));
    g_assert_no_error(err);
    wait_status(d, MIGRATION_STATUS_FAILED);
    g_test_message("destination: %s", mig_state(d)->error);
    g_assert_nonnull(strstr(mig_state(d)->error, "exec:cat /nonexistent-vireo-stream"));
    g_assert_nonnull(strstr(mig_state(d)->error, "exited with status 1"));
    assert_no_zombies();
    machine_done(c);
    machine_done(d);
    errno = 0;
    g_assert_cmpint(waitpid(-1, NULL, WNOHANG), ==, -1);   /* no child left at all */
    g_assert_cmpint(errno, ==, ECHILD);
    unlink(path);
}

/* A machine freed, shut down or cancelled in every phase of a migration, as source
 * and as destination: nothing hangs (the threads are joined; their requests to the
 * main loop are refused), nothing leaks, no use after free (ASan in the sweep). */
static void test_teardown(void)
{
    g_autofree char *path = g_strdup_printf("%s/mig-t-%d.sock", g_get_tmp_dir(), getpid());
    g_autofree char *uri = g_strconcat("unix:", path, NULL);
    unsigned fds = open_fds();
    GRand *rnd = g_rand_new_with_seed(13);
    GError *err = NULL;
    for (int i = 0; i < 24; i++) {
        int how = i % 6, ms = g_rand_int_range(rnd, 0, 40);
        Machine *a = machine(8 * MB, 0), *b = machine(8 * MB, 0);
        scribble(a);
        vm_start(a);
        g_assert_true(migration_incoming_init(b, uri, &err));
        g_assert_no_error(err);
        if (how == 5) {
            /* A client that connects and never sends: the destination's thread reads. */
            int fd = -1;
            g_assert_cmpint(connect_to(uri, &fd), ==, 0);
            wait_status(b, MIGRATION_STATUS_ACTIVE);
            spin(ms);
            machine_done(b);
            close(fd);
            machine_done(a);
            continue;
        }
        mig_state(a)->p.max_bandwidth = MB;         /* 4 MiB of data: it is still running */
        qmp_migrate(a, uri, false, false, false, false, false, false, false, false, &err);
        g_assert_no_error(err);
        switch (how) {
        case 0:                 /* at once: the thread waits for the main loop's setup */
            machine_done(a);
            machine_done(b);
            break;
        case 1:                 /* process exit: shut down, then freed */
            spin(ms);
            migration_shutdown(a);
            migration_shutdown(b);
            g_assert_cmpint(mig_state(a)->status, !=, MIGRATION_STATUS_ACTIVE);
            machine_done(a);
            machine_done(b);
            break;
        case 2:                 /* cancelled and freed before the thread has ended */
            spin(ms);
            qmp_migrate_cancel(a, &err);
            g_assert_no_error(err);
            machine_done(a);
            machine_done(b);
            break;
        case 3:                 /* the destination goes away mid-stream */
            spin(ms);
            machine_done(b);
            spin(ms);
            machine_done(a);
            break;
        case 4:                 /* cancelled, ended, migrated again, freed */
            spin(ms);
            qmp_migrate_cancel(a, &err);
            wait_status(a, MIGRATION_STATUS_CANCELLED);
            g_assert_true(runstate_is_running(a));
            qmp_migrate(a, "exec:cat > /dev/null", false, false, false, false, false, false,
                        false, false, &err);
            g_assert_no_error(err);
            spin(ms);
            machine_done(a);
            machine_done(b);
            break;
        }
    }
    g_rand_free(rnd);
    unlink(path);
    assert_no_zombies();
    g_assert_cmpuint(open_fds(), ==, fds);
}

/* ---- video memory: migration and the display both log it ------------------------------ */

static void nop_update(DisplayListener *l, int x, int y, int w, int h)
{
    (*(int *)l->opaque)++;
}
static void nop_resize(DisplayListener *l) { }
static const DisplayListenerOps count_ops = { .update = nop_update, .resize = nop_resize };

static bool block_page_dirty(RamBlock *b, uint64_t page)
{
    return __atomic_load_n(&b->dirty[page / 64], __ATOMIC_RELAXED) >> (page % 64) & 1;
}

static void block_clear(RamBlock *b)
{
    for (uint64_t w = 0; w < ram_block_bitmap_words(b); w++)
        __atomic_store_n(&b->dirty[w], 0, __ATOMIC_RELAXED);
}

static void vbe_set(Machine *m, unsigned idx, uint16_t v)
{
    as_write(m->io, 0x1ce, idx, 2);
    as_write(m->io, 0x1cf, v, 2);
}

/* A guest write to the VGA's framebuffer while a VNC client watches: the display's
 * sync re-arms the page in the log, yet migration's next sync still counts it (and a
 * page migration harvests first is still drawn); migration ending leaves the display's
 * logging on. */
static void test_vram_dirty_display(void)
{
    GError *err = NULL;
    FakeLog fl;
    fake_log_init(&fl);
    Machine *m = machine_new_test(0x80000);
    g_assert_nonnull(pci_bus_new_pc(m, &err));
    as_add_listener(m->sysmem, &fl.l);
    Device *vga = dev(m, "VGA", "vgamem_mb=1,addr=02.0");
    g_assert_true(pci_bus_assign_bars(m->pci_bus));
    MemRegion *bar = &((PciDevice *)vga)->bars[0].mr;
    RamBlock *b = ram_block_find(m, "0000:00:02.0/vga.vram");
    g_assert_nonnull(b);
    int damage = 0;
    DisplayListener l = { .ops = &count_ops, .opaque = &damage };
    Console *con = console_get(m, 0);
    console_add_listener(con, &l);
    vbe_set(m, 1, 256);                                /* 256x256x32: 1 KiB rows */
    vbe_set(m, 2, 256);
    vbe_set(m, 3, 32);
    vbe_set(m, 4, 0x41);
    console_refresh(con);

    mig_ram_dirty_begin(m);
    g_assert_cmpint(as_log_start(m->sysmem), ==, 0);
    block_clear(b);                                    /* the first pass went out */
    static const uint32_t px = 0xff00ff;
    fake_log_write(&fl, bar, 3 * 4096 + 8, &px, 4);
    damage = 0;
    console_refresh(con);                              /* the display harvests it */
    g_assert_cmpint(damage, ==, 1);
    g_assert_cmpint(mig_ram_sync(m, false), >=, 1);
    g_assert_true(block_page_dirty(b, 3));
    /* Migration harvests first: the display still draws the page. */
    block_clear(b);
    fake_log_write(&fl, bar, 7 * 4096, &px, 4);
    g_assert_cmpint(mig_ram_sync(m, false), >=, 1);
    g_assert_true(block_page_dirty(b, 7));
    g_assert_false(block_page_dirty(b, 3));
    damage = 0;
    console_refresh(con);
    g_assert_cmpint(damage, ==, 1);
    mig_ram_dirty_end(m);
    g_assert_true(fake_log_logging(&fl, bar));         /* the display's goes on */
    console_remove_listener(&l);
    g_assert_false(fake_log_logging(&fl, bar));
    machine_free(m);
    fake_log_free(&fl);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    signal(SIGPIPE, SIG_IGN);           /* as vireo: a pipe whose reader went is EPIPE */
    images = g_ptr_array_new_with_free_func(g_free);
    fakes = g_hash_table_new(NULL, NULL);
    mainloop_init();
    bql_lock();
    g_test_add_func("/migration/roundtrip", test_roundtrip);
    g_test_add_func("/migration/mismatch", test_mismatch);
    g_test_add_func("/migration/corrupt", test_corrupt);
    g_test_add_func("/migration/hostile-sections", test_hostile_sections);
    g_test_add_func("/migration/mutations", test_mutations);
    g_test_add_func("/migration/slirp-roundtrip", test_slirp_roundtrip);
    g_test_add_func("/migration/slirp-guestfwd", test_slirp_guestfwd);
    g_test_add_func("/migration/slirp-hostile", test_slirp_hostile);
    g_test_add_func("/migration/slirp-mismatch", test_slirp_mismatch);
    g_test_add_func("/migration/live-unix", test_live_unix);
    g_test_add_func("/migration/live-tcp-multifd", test_live_tcp_multifd);
    g_test_add_func("/migration/live-unix-many-channels", test_live_unix_many_channels);
    g_test_add_func("/migration/file-mapped", test_file_mapped);
    g_test_add_func("/migration/pc-devices", test_pc_devices);
    g_test_add_func("/migration/live-refused", test_live_refused);
    g_test_add_func("/migration/live-cancel", test_live_cancel);
    g_test_add_func("/migration/incoming-one-connection", test_incoming_one_connection);
    g_test_add_func("/migration/live-device-removed", test_live_device_removed);
    g_test_add_func("/migration/exec", test_exec);
    g_test_add_func("/migration/teardown", test_teardown);
    g_test_add_func("/migration/vram-dirty-display", test_vram_dirty_display);
    int r = g_test_run();
    for (guint i = 0; i < images->len; i++)
        unlink(images->pdata[i]);
    return r;
}
