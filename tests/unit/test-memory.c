/* Memory dispatch: ordering, overlap rejection, access splitting, DMA bounds. */
#include "vireo/memory.h"
#include "log-fake.h"
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

typedef struct { uint64_t last_off, last_val; unsigned last_size, writes; uint8_t regs[16]; } Dev;

static uint64_t dev_read(void *o, uint64_t off, unsigned size)
{
    Dev *d = o;
    uint64_t v = 0;
    memcpy(&v, d->regs + off, size);
    d->last_off = off;
    d->last_size = size;
    return v;
}

static void dev_write(void *o, uint64_t off, uint64_t val, unsigned size)
{
    Dev *d = o;
    memcpy(d->regs + off, &val, size);
    d->last_off = off;
    d->last_val = val;
    d->last_size = size;
    d->writes++;
}

static const MemOps ops4 = { dev_read, dev_write, .min_access = 4, .max_access = 4 };
static const MemOps ops1 = { dev_read, dev_write, .min_access = 1, .max_access = 1 };

static void test_overlap(void)
{
    AddressSpace *as = as_new("test");
    Dev d = {0};
    MemRegion a, b, c;
    mr_init_io(&a, "a", 0x10, &ops4, &d);
    mr_init_io(&b, "b", 0x10, &ops4, &d);
    mr_init_io(&c, "c", 0x10, &ops4, &d);
    GError *err = NULL;
    g_assert_true(as_add_region(as, &a, 0x100, &err));
    g_assert_false(as_add_region(as, &b, 0x108, &err));
    g_assert_nonnull(strstr(err->message, "overlaps 'a'"));
    g_clear_error(&err);
    g_assert_false(as_add_region(as, &b, 0xf8, &err));
    g_clear_error(&err);
    g_assert_true(as_add_region(as, &b, 0x110, NULL));
    g_assert_true(as_add_region(as, &c, 0xf0, NULL));
    g_assert_true(as_find(as, 0x10f) == &a);
    g_assert_true(as_find(as, 0x110) == &b);
    g_assert_true(as_find(as, 0xf0) == &c);
    g_assert_null(as_find(as, 0x120));
    as_del_region(as, &a);
    g_assert_null(as_find(as, 0x100));
    g_assert_true(as_add_region(as, &a, 0x200, NULL));
    g_assert_true(as_find(as, 0x20f) == &a);
    as_free(as);
}

static void test_dispatch_split(void)
{
    AddressSpace *as = as_new("io");
    Dev d = {0}, e = {0};
    MemRegion a, b;
    mr_init_io(&a, "wide", 16, &ops4, &d);
    mr_init_io(&b, "narrow", 16, &ops1, &e);
    as_add_region(as, &a, 0x1000, NULL);
    as_add_region(as, &b, 0x2000, NULL);
    uint64_t v;
    /* A 1-byte write to a 4-byte-only device is a read-modify-write at the base. */
    memcpy(d.regs, "\x11\x22\x33\x44", 4);
    g_assert_true(as_write(as, 0x1001, 0xaa, 1));
    g_assert_cmpuint(d.last_off, ==, 0);
    g_assert_cmpuint(d.last_val, ==, 0x4433aa11);
    g_assert_true(as_read(as, 0x1002, &v, 1));
    g_assert_cmphex(v, ==, 0x33);
    /* An 8-byte read of a 1-byte device is composed little-endian. */
    memcpy(e.regs, "\x01\x02\x03\x04\x05\x06\x07\x08", 8);
    g_assert_true(as_read(as, 0x2000, &v, 8));
    g_assert_cmphex(v, ==, 0x0807060504030201ULL);
    g_assert_true(as_write(as, 0x2004, 0xdeadbeef, 4));
    g_assert_cmpuint(e.writes, ==, 4);
    g_assert_cmphex(e.regs[4], ==, 0xef);
    /* Unassigned reads are all ones; a write straddling the end is refused. */
    g_assert_false(as_read(as, 0x3000, &v, 2));
    g_assert_cmphex(v, ==, 0xffff);
    g_assert_false(as_write(as, 0x200e, 0, 4));
    as_free(as);
}

static int adds, dels;
static void l_add(MemListener *l, MemRegion *r) { adds++; }
static void l_del(MemListener *l, MemRegion *r) { dels++; }

static void test_ram_dma(void)
{
    AddressSpace *as = as_new("mem");
    uint8_t *ram = g_malloc0(0x10000);
    MemRegion r, rom, io;
    Dev d = {0};
    mr_init_ram(&r, "ram", 0x8000, ram);
    mr_init_ram(&rom, "rom", 0x1000, ram + 0x8000);
    rom.readonly = true;
    mr_init_io(&io, "io", 0x100, &ops4, &d);
    MemListener l = { l_add, l_del };
    as_add_region(as, &r, 0, NULL);
    as_add_listener(as, &l);
    g_assert_cmpint(adds, ==, 1);
    as_add_region(as, &rom, 0x8000, NULL);
    as_add_region(as, &io, 0x9000, NULL);
    g_assert_cmpint(adds, ==, 2);   /* I/O regions are not slots */
    uint8_t buf[16] = "0123456789abcdef";
    g_assert_true(as_dma_write(as, 0x7ff0, buf, 16));
    g_assert_false(as_dma_write(as, 0x7ff8, buf, 16));      /* crosses into the ROM */
    g_assert_false(as_dma_write(as, 0x8000, buf, 4));       /* ROM is read-only */
    g_assert_false(as_dma_read(as, 0x9000, buf, 4));        /* not RAM */
    g_assert_false(as_dma_read(as, UINT64_MAX - 3, buf, 8)); /* wraps */
    g_assert_null(as_ram_ptr(as, 0x10000, 1));
    g_assert_true(as_ram_ptr(as, 0x100, 16) == ram + 0x100);
    uint64_t v;
    g_assert_true(as_write(as, 0x8000, 0x1234, 2));         /* dropped */
    g_assert_true(as_read(as, 0x8000, &v, 2));
    g_assert_cmphex(v, ==, 0);
    as_del_region(as, &rom);
    g_assert_cmpint(dels, ==, 1);
    as_free(as);
    g_free(ram);
}

typedef struct Log {
    MemListener l;
    GString *s;
} Log;

static void log_add(MemListener *l, MemRegion *r)
{
    g_string_append_printf(((Log *)l)->s, "+%s@%" G_GINT64_MODIFIER "x ", r->name, r->base);
}

static void log_del(MemListener *l, MemRegion *r)
{
    g_string_append_printf(((Log *)l)->s, "-%s ", r->name);
}

static void log_cadd(MemListener *l, MemRegion *r, uint64_t addr, uint64_t len)
{
    g_string_append_printf(((Log *)l)->s, "c+%s:%" G_GINT64_MODIFIER "x/%" G_GUINT64_FORMAT " ",
                           r->name, addr, len);
}

static void log_cdel(MemListener *l, MemRegion *r, uint64_t addr, uint64_t len)
{
    g_string_append_printf(((Log *)l)->s, "c-%s:%" G_GINT64_MODIFIER "x/%" G_GUINT64_FORMAT " ",
                           r->name, addr, len);
}

/* Listeners hear of RAM regions and of coalesced ranges, with absolute addresses, on
 * change, on map/unmap, and (replayed) when they join late. */
static void test_listener(void)
{
    AddressSpace *as = as_new("io");
    static uint8_t ram[4096];
    MemRegion r, u, v;
    Log a = { { log_add, log_del, log_cadd, log_cdel }, g_string_new(NULL) };
    Log b = { { log_add, log_del, log_cadd, log_cdel }, g_string_new(NULL) };

    mr_init_ram(&r, "ram", sizeof(ram), ram);
    mr_init_io(&u, "uart", 8, &ops1, NULL);
    mr_init_io(&v, "other", 4, &ops1, NULL);
    as_add_listener(as, &a.l);
    g_assert_true(as_add_region(as, &r, 0x10000, NULL));
    g_assert_true(as_add_region(as, &u, 0x3f8, NULL));
    mr_set_coalescing(&u, 0, 1);
    mr_set_coalescing(&u, 0, 1);                /* no change: no event */
    mr_set_coalescing(&v, 2, 2);                /* not mapped yet: no event */
    g_assert_true(as_add_region(as, &v, 0x80, NULL));
    g_assert_cmpstr(a.s->str, ==, "+ram@10000 c+uart:3f8/1 c+other:82/2 ");
    as_add_listener(as, &b.l);                  /* replay, in address order */
    g_assert_cmpstr(b.s->str, ==, "c+other:82/2 c+uart:3f8/1 +ram@10000 ");
    g_string_truncate(a.s, 0);
    mr_set_coalescing(&u, 0, 0);
    as_del_region(as, &v);
    as_del_region(as, &r);
    g_assert_cmpstr(a.s->str, ==, "c-uart:3f8/1 c-other:82/2 -ram ");
    g_assert_null(v.as);
    g_assert_true(u.as == as);
    as_del_listener(as, &a.l);
    as_del_listener(as, &b.l);
    as_free(as);
    g_string_free(a.s, TRUE);
    g_string_free(b.s, TRUE);
}

static void log_eadd(MemListener *l, MemRegion *r, const MemEventfd *e, uint64_t addr)
{
    g_string_append_printf(((Log *)l)->s, "e+%s:%" G_GINT64_MODIFIER "x/%u ", r->name, addr,
                           e->len);
}

static void log_edel(MemListener *l, MemRegion *r, const MemEventfd *e, uint64_t addr)
{
    g_string_append_printf(((Log *)l)->s, "e-%s:%" G_GINT64_MODIFIER "x/%u ", r->name, addr,
                           e->len);
}

/* Write eventfds: listeners hear of them (absolute addresses, follow the region when it
 * moves); without an accelerator the dispatcher signals the eventfd itself, and only for
 * the exact offset, width and (with match) value. */
static unsigned device_writes;
static uint64_t count_read(void *o, uint64_t off, unsigned size) { return 0; }
static void count_write(void *o, uint64_t off, uint64_t val, unsigned size) { device_writes++; }
static const MemOps count_ops = { count_read, count_write, .min_access = 1, .max_access = 4 };

static void test_eventfd(void)
{
    AddressSpace *as = as_new("mem");
    MemRegion r;
    Log a = { { .eventfd_add = log_eadd, .eventfd_del = log_edel }, g_string_new(NULL) };
    int fd = eventfd(0, EFD_NONBLOCK);
    uint64_t cnt = 0;
    device_writes = 0;
    mr_init_io(&r, "bar", 0x1000, &count_ops, NULL);
    as_add_listener(as, &a.l);
    mr_add_eventfd(&r, 0x10, 2, false, 0, fd);
    mr_add_eventfd(&r, 0x20, 4, true, 7, fd);
    g_assert_true(as_add_region(as, &r, 0x8000, NULL));
    as_del_region(as, &r);
    g_assert_true(as_add_region(as, &r, 0x9000, NULL));
    g_assert_cmpstr(a.s->str, ==, "e+bar:8010/2 e+bar:8020/4 e-bar:8010/2 e-bar:8020/4 "
                                  "e+bar:9010/2 e+bar:9020/4 ");
    g_assert_true(as_write(as, 0x9010, 5, 2));               /* signals */
    g_assert_true(as_write(as, 0x9020, 7, 4));               /* matches 7: signals */
    g_assert_cmpint(read(fd, &cnt, 8), ==, 8);
    g_assert_cmpuint(cnt, ==, 2);
    g_assert_cmpuint(device_writes, ==, 0);
    g_assert_true(as_write(as, 0x9020, 8, 4));               /* no match: to the device */
    g_assert_true(as_write(as, 0x9010, 5, 1));               /* other width: device */
    g_assert_cmpint(read(fd, &cnt, 8), <, 0);
    g_assert_cmpuint(device_writes, ==, 2);
    g_string_truncate(a.s, 0);
    mr_del_eventfd(&r, 0x10, 2, false, 0, fd);
    mr_del_eventfd(&r, 0x20, 4, true, 7, fd);
    g_assert_cmpstr(a.s->str, ==, "e-bar:9010/2 e-bar:9020/4 ");
    g_assert_null(r.eventfds);
    as_del_listener(as, &a.l);
    as_free(as);
    close(fd);
    g_string_free(a.s, TRUE);
}

/* Regions that end at the last address of the space: an access that would run past
 * the end (and wrap to 0 in "addr + size - 1") is refused, for I/O and RAM alike. */
static void test_top_of_space(void)
{
    AddressSpace *as = as_new("test");
    Dev d = {0};
    MemRegion io, ram;
    static uint8_t backing[0x1000];
    mr_init_io(&io, "top-io", 0x10, &ops1, &d);
    mr_init_ram(&ram, "top-ram", sizeof(backing), backing);
    g_assert_true(as_add_region(as, &io, UINT64_MAX - 0xf, NULL));
    g_assert_true(as_add_region(as, &ram, UINT64_MAX - 0x10 - 0xfff, NULL));
    uint64_t v = 0;
    for (unsigned size = 2; size <= 8; size *= 2) {
        for (uint64_t back = 1; back < size; back++) {
            g_assert_false(as_read(as, UINT64_MAX - back + 1, &v, size));
            g_assert_cmphex(v, ==, size == 8 ? UINT64_MAX : (1ull << (8 * size)) - 1);
            g_assert_false(as_write(as, UINT64_MAX - back + 1, 0, size));
            g_assert_false(as_read(as, UINT64_MAX - 0xf - back, &v, size));  /* RAM | I/O */
        }
        g_assert_true(as_write(as, UINT64_MAX - size + 1, 0x42, size));
        g_assert_cmpuint(d.last_off, ==, 0x10 - 1);             /* 1-byte pieces, last */
    }
    /* RAM: pointers and DMA are refused across the end too. */
    uint64_t ram_end = UINT64_MAX - 0x10;
    g_assert_null(as_ram_ptr(as, ram_end - 3, 8));
    g_assert_nonnull(as_ram_ptr(as, ram_end - 7, 8));
    g_assert_null(as_ram_ptr(as, ram_end - 7, UINT64_MAX));
    g_assert_null(as_ram_ptr(as, ram_end - 0xfff, 0x1001));
    g_assert_nonnull(as_ram_ptr(as, ram_end - 0xfff, 0x1000));
    uint8_t buf[16];
    g_assert_false(as_dma_read(as, ram_end - 7, buf, 16));
    g_assert_false(as_dma_write(as, ram_end - 7, buf, 16));
    g_assert_false(as_dma_read(as, UINT64_MAX - 7, buf, 16));
    g_assert_false(as_read(as, ram_end - 3, &v, 8));
    as_free(as);
}

/* Pages (bit i = page i) migration's hook was told of, and its sync handed over. */
typedef struct MigSeen {
    const uint8_t *ram;
    uint64_t hook, sync;
} MigSeen;

static void mig_hook(void *opaque, const void *host, uint64_t len)
{
    MigSeen *m = opaque;
    uint64_t off = (const uint8_t *)host - m->ram;
    for (uint64_t p = off / 4096; p <= (off + len - 1) / 4096; p++)
        m->hook |= 1ull << p;
}

static void mig_sync_cb(MemRegion *r, const unsigned long *bitmap, void *opaque)
{
    ((MigSeen *)opaque)->sync |= ((const uint64_t *)bitmap)[0];
}

static uint64_t display_pages(MemRegion *r)
{
    uint64_t v = 0;
    for (unsigned p = 0; p < r->size / 4096; p++)
        v |= (uint64_t)mr_display_dirty(r, p * 4096ull, 1) << p;
    return v;
}

/* Two clients of dirty logging, migration (every RAM region) and the display (one):
 * a region is logged while either wants it, stopping one leaves the other's logging
 * on, and a harvest for one client never takes pages from the other. */
static void test_dirty_log_clients(void)
{
    AddressSpace *as = as_new("mem");
    uint8_t *ram = g_malloc0(0x20000), *vram = g_malloc0(0x10000);
    MemRegion r, v;
    mr_init_ram(&r, "ram", 0x20000, ram);
    mr_init_ram(&v, "vram", 0x10000, vram);         /* 16 pages */
    FakeLog f;
    fake_log_init(&f);
    as_add_listener(as, &f.l);
    as_add_region(as, &r, 0, NULL);
    g_assert_cmpint(as_log_display_start(as, &v), ==, 0);   /* unmapped: nothing to log */
    g_assert_cmpuint(f.starts, ==, 0);
    g_assert_cmphex(display_pages(&v), ==, 0xffff);         /* starts all set */
    mr_display_clear(&v);
    as_add_region(as, &v, 0x100000, NULL);                  /* the BAR is programmed */
    g_assert_true(fake_log_logging(&f, &v));
    g_assert_false(fake_log_logging(&f, &r));
    fake_log_write(&f, &v, 0x3010, "x", 1);
    g_assert_cmpint(as_log_display_sync(as, &v), ==, 0);
    g_assert_cmphex(display_pages(&v), ==, 1 << 3);

    /* Migration starts: pc.ram is logged, vram is not started twice. */
    MigSeen mig = { vram };
    as_set_dirty_hook(as, mig_hook, &mig);
    g_assert_cmpint(as_log_start(as), ==, 0);
    g_assert_true(fake_log_logging(&f, &r));
    g_assert_cmpuint(f.starts, ==, 2);
    /* A display sync hands migration the pages it harvested... */
    fake_log_write(&f, &v, 0x5000, "y", 1);
    g_assert_cmpint(as_log_display_sync(as, &v), ==, 0);
    g_assert_cmphex(mig.hook, ==, 1 << 5);
    /* ...and a migration sync gives the display its pages. */
    mr_display_clear(&v);
    fake_log_write(&f, &v, 0x7000, "z", 1);
    fake_log_write(&f, &v, 0x8000, "zz", 2);
    g_assert_cmpint(as_log_sync(as, mig_sync_cb, &mig), ==, 0);
    g_assert_cmphex(mig.sync, ==, 3 << 7);
    g_assert_cmphex(display_pages(&v), ==, 3 << 7);
    /* Device writes (DMA) into video memory reach both. */
    mr_display_clear(&v);
    mig.hook = 0;
    g_assert_true(as_dma_write(as, 0x100000 + 0x9ffe, "ab", 2));
    g_assert_cmphex(display_pages(&v), ==, 1 << 9);
    g_assert_cmphex(mig.hook, ==, 1 << 9);

    /* The display stops: migration's logging of vram goes on. */
    as_log_display_stop(as, &v);
    g_assert_true(fake_log_logging(&f, &v));
    g_assert_cmpint(as_log_display_sync(as, &v), ==, -ENOTSUP);
    g_assert_true(mr_display_dirty(&v, 0, 1));              /* not logging: "changed" */
    /* The display starts again, migration stops: the display's goes on. */
    g_assert_cmpint(as_log_display_start(as, &v), ==, 0);
    as_set_dirty_hook(as, NULL, NULL);
    as_log_stop(as);
    g_assert_true(fake_log_logging(&f, &v));
    g_assert_false(fake_log_logging(&f, &r));
    mr_display_clear(&v);
    fake_log_write(&f, &v, 0xf000, "w", 1);
    g_assert_cmpint(as_log_display_sync(as, &v), ==, 0);
    g_assert_cmphex(display_pages(&v), ==, 1 << 15);

    /* Unmapping harvests first: a write just before the BAR moves is not lost. */
    mr_display_clear(&v);
    fake_log_write(&f, &v, 0x1000, "u", 1);
    as_del_region(as, &v);
    g_assert_false(fake_log_logging(&f, &v));
    g_assert_cmpint(as_log_display_sync(as, &v), ==, 0);    /* unmapped: usable */
    g_assert_cmphex(display_pages(&v), ==, 1 << 1);
    as_log_display_stop(as, &v);
    g_assert_null(v.display_dirty);
    g_assert_cmpuint(f.starts, ==, f.stops + (fake_log_logging(&f, &r) ? 1 : 0));

    /* Logging that cannot start: the display is told (and compares everything). */
    as_add_region(as, &v, 0x100000, NULL);
    f.fail_start = -EINVAL;
    g_assert_cmpint(as_log_display_start(as, &v), ==, -EINVAL);
    g_assert_cmpint(as_log_display_sync(as, &v), ==, -ENOTSUP);
    as_log_display_stop(as, &v);
    f.fail_start = 0;
    /* No listener that logs (no KVM): unusable as well. */
    as_del_listener(as, &f.l);
    g_assert_cmpint(as_log_display_start(as, &v), ==, -ENOTSUP);
    g_assert_cmpint(as_log_display_sync(as, &v), ==, -ENOTSUP);
    as_log_display_stop(as, &v);
    as_free(as);
    fake_log_free(&f);
    g_free(ram);
    g_free(vram);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/memory/overlap", test_overlap);
    g_test_add_func("/memory/dispatch-split", test_dispatch_split);
    g_test_add_func("/memory/ram-dma", test_ram_dma);
    g_test_add_func("/memory/listener", test_listener);
    g_test_add_func("/memory/dirty-log-clients", test_dirty_log_clients);
    g_test_add_func("/memory/eventfd", test_eventfd);
    g_test_add_func("/memory/top-of-space", test_top_of_space);
    return g_test_run();
}
