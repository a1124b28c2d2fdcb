/*
 * Split virtqueue (virtio 1.2 section 2.7) against a fake guest: 1 MiB of "RAM" at GPA
 * 0x100000 and a ROM page, rings built by hand as a driver would. Well-formed requests,
 * index wrap-around, indirect tables, notification suppression with and without
 * EVENT_IDX, every rule a hostile driver can break, and random rings under the sanitizers.
 */
#include <glib.h>
#include <string.h>

#include "block/iov.h"
#include "vireo/virtqueue.h"

#define RAM_BASE 0x100000u
#define RAM_SIZE (1u << 20)
#define ROM_BASE 0x40000u
#define NUM      8
#define DESC     (RAM_BASE + 0x0000)
#define AVAIL    (RAM_BASE + 0x1000)
#define USED     (RAM_BASE + 0x2000)
#define BUFS     (RAM_BASE + 0x10000)

typedef struct Guest {
    AddressSpace *as;
    MemRegion ram, rom;
    uint8_t *mem, romb[4096];
    VirtQueue vq;
    uint16_t avail_idx;
} Guest;

static uint8_t *gp(Guest *g, uint64_t gpa) { return g->mem + (gpa - RAM_BASE); }

static void put16(Guest *g, uint64_t gpa, uint16_t v) { memcpy(gp(g, gpa), &v, 2); }
static uint16_t get16(Guest *g, uint64_t gpa) { uint16_t v; memcpy(&v, gp(g, gpa), 2); return v; }
static uint32_t get32(Guest *g, uint64_t gpa) { uint32_t v; memcpy(&v, gp(g, gpa), 4); return v; }

static void desc(Guest *g, uint64_t table, unsigned i, uint64_t addr, uint32_t len,
                 uint16_t flags, uint16_t next)
{
    uint8_t *d = gp(g, table + 16 * i);
    memcpy(d, &addr, 8);
    memcpy(d + 8, &len, 4);
    memcpy(d + 12, &flags, 2);
    memcpy(d + 14, &next, 2);
}

/* Publishes @head on the available ring. */
static void offer(Guest *g, uint16_t head)
{
    put16(g, AVAIL + 4 + 2 * (g->avail_idx % NUM), head);
    put16(g, AVAIL + 2, ++g->avail_idx);
}

static void guest_init(Guest *g, bool indirect, bool event_idx)
{
    memset(g, 0, sizeof(*g));
    g->mem = g_malloc0(RAM_SIZE);
    g->as = as_new("test");
    mr_init_ram(&g->ram, "ram", RAM_SIZE, g->mem);
    mr_init_ram(&g->rom, "rom", sizeof(g->romb), g->romb);
    g->rom.readonly = true;
    g_assert_true(as_add_region(g->as, &g->ram, RAM_BASE, NULL));
    g_assert_true(as_add_region(g->as, &g->rom, ROM_BASE, NULL));
    vq_reset(&g->vq, g->as);
    g->vq.s = (VirtQueueState){ .desc = DESC, .avail = AVAIL, .used = USED, .num = NUM,
                                .enabled = 1, .indirect = indirect, .event_idx = event_idx };
    g_assert_true(vq_validate(&g->vq));
}

static void guest_free(Guest *g)
{
    as_free(g->as);
    g_free(g->mem);
}

/* Pops expecting the queue to break, and checks the reason. */
static void expect_broken(Guest *g, const char *why)
{
    VirtQueueElement *e = (VirtQueueElement *)1;
    g_assert_cmpint(vq_pop(&g->vq, &e), ==, -EIO);
    g_assert_null(e);
    g_assert_true(g->vq.broken);
    g_assert_nonnull(strstr(g->vq.error, why));
    g_assert_cmpint(vq_pop(&g->vq, &e), ==, -EIO);      /* stays broken */
    g_assert_cmpuint(vq_pending(&g->vq), ==, 0);
}

static void test_request(void)
{
    Guest g;
    VirtQueueElement *e;
    guest_init(&g, false, false);
    g_assert_cmpint(vq_pop(&g.vq, &e), ==, 0);           /* empty */
    memcpy(gp(&g, BUFS), "request header..", 16);
    desc(&g, DESC, 3, BUFS, 16, VIRTQ_DESC_F_NEXT, 5);
    desc(&g, DESC, 5, BUFS + 0x100, 8, VIRTQ_DESC_F_NEXT, 1);
    desc(&g, DESC, 1, BUFS + 0x200, 64, VIRTQ_DESC_F_WRITE | VIRTQ_DESC_F_NEXT, 2);
    desc(&g, DESC, 2, BUFS + 0x300, 1, VIRTQ_DESC_F_WRITE, 0);
    offer(&g, 3);
    g_assert_cmpuint(vq_pending(&g.vq), ==, 1);
    g_assert_cmpint(vq_pop(&g.vq, &e), ==, 1);
    g_assert_cmpuint(e->head, ==, 3);
    g_assert_cmpuint(e->out_num, ==, 2);
    g_assert_cmpuint(e->in_num, ==, 2);
    g_assert_cmpuint(e->out_len, ==, 24);
    g_assert_cmpuint(e->in_len, ==, 65);
    char hdr[16];
    BlkIov out, in;
    blkiov_init_external(&out, e->iov, e->out_num);
    blkiov_init_external(&in, e->iov + e->out_num, e->in_num);
    g_assert_cmpuint(blkiov_to_buf(&out, 0, hdr, 16), ==, 16);
    g_assert_true(memcmp(hdr, "request header..", 16) == 0);
    g_assert_cmpuint(blkiov_from_buf(&in, 60, "abcdef", 6), ==, 5);
    g_assert_true(memcmp(gp(&g, BUFS + 0x200 + 60), "abcd", 4) == 0);
    g_assert_cmpint(*gp(&g, BUFS + 0x300), ==, 'e');
    vq_push(&g.vq, e, 1000);                             /* clamped to in_len */
    g_assert_cmpuint(get16(&g, USED + 2), ==, 1);
    g_assert_cmpuint(get32(&g, USED + 4), ==, 3);
    g_assert_cmpuint(get32(&g, USED + 8), ==, 65);
    g_assert_cmpuint(g.vq.inflight, ==, 0);
    g_assert_true(vq_should_notify(&g.vq));
    put16(&g, AVAIL, VIRTQ_AVAIL_F_NO_INTERRUPT);
    g_assert_false(vq_should_notify(&g.vq));
    vq_set_notification(&g.vq, false);
    g_assert_cmpuint(get16(&g, USED), ==, VIRTQ_USED_F_NO_NOTIFY);
    vq_set_notification(&g.vq, true);
    g_assert_cmpuint(get16(&g, USED), ==, 0);
    guest_free(&g);
}

/* The 16-bit indices wrap; slots are idx % num. */
static void test_wrap(void)
{
    Guest g;
    VirtQueueElement *e;
    guest_init(&g, false, false);
    g.vq.s.last_avail_idx = g.vq.s.used_idx = 65534;
    g.avail_idx = 65534;
    put16(&g, AVAIL + 2, 65534);
    for (unsigned i = 0; i < 4; i++) {
        desc(&g, DESC, i, BUFS + 0x100 * i, 16, VIRTQ_DESC_F_WRITE, 0);
        offer(&g, i);
    }
    g_assert_cmpuint(vq_pending(&g.vq), ==, 4);
    for (unsigned i = 0; i < 4; i++) {
        g_assert_cmpint(vq_pop(&g.vq, &e), ==, 1);
        g_assert_cmpuint(e->head, ==, i);
        vq_push(&g.vq, e, 4);
    }
    g_assert_cmpuint(g.vq.s.last_avail_idx, ==, 2);
    g_assert_cmpuint(get16(&g, USED + 2), ==, 2);
    g_assert_cmpuint(get32(&g, USED + 4 + 8 * (65535 % NUM)), ==, 1);
    guest_free(&g);
}

static void test_indirect(void)
{
    Guest g;
    VirtQueueElement *e;
    uint64_t table = RAM_BASE + 0x8000;
    guest_init(&g, true, false);
    desc(&g, table, 0, BUFS, 16, VIRTQ_DESC_F_NEXT, 2);
    desc(&g, table, 2, BUFS + 0x100, 512, VIRTQ_DESC_F_WRITE | VIRTQ_DESC_F_NEXT, 1);
    desc(&g, table, 1, BUFS + 0x400, 1, VIRTQ_DESC_F_WRITE, 0);
    desc(&g, DESC, 0, table, 3 * 16, VIRTQ_DESC_F_INDIRECT, 0);
    offer(&g, 0);
    g_assert_cmpint(vq_pop(&g.vq, &e), ==, 1);
    g_assert_cmpuint(e->out_num, ==, 1);
    g_assert_cmpuint(e->in_num, ==, 2);
    g_assert_cmpuint(e->in_len, ==, 513);
    vq_push(&g.vq, e, 513);
    /* The same without the feature negotiated. */
    g.vq.s.indirect = 0;
    offer(&g, 0);
    expect_broken(&g, "VIRTIO_F_INDIRECT_DESC");
    guest_free(&g);
}

typedef void Breaker(Guest *g);

static void b_loop(Guest *g)
{
    desc(g, DESC, 0, BUFS, 8, VIRTQ_DESC_F_NEXT, 1);
    desc(g, DESC, 1, BUFS, 8, VIRTQ_DESC_F_NEXT, 0);
    offer(g, 0);
}
static void b_next_range(Guest *g) { desc(g, DESC, 0, BUFS, 8, VIRTQ_DESC_F_NEXT, NUM); offer(g, 0); }
static void b_head_range(Guest *g) { offer(g, NUM + 3); }
static void b_outside(Guest *g) { desc(g, DESC, 0, RAM_BASE + RAM_SIZE - 4, 8, 0, 0); offer(g, 0); }
static void b_wrap64(Guest *g) { desc(g, DESC, 0, UINT64_MAX - 2, 8, 0, 0); offer(g, 0); }
static void b_rom_write(Guest *g) { desc(g, DESC, 0, ROM_BASE, 8, VIRTQ_DESC_F_WRITE, 0); offer(g, 0); }
static void b_order(Guest *g)
{
    desc(g, DESC, 0, BUFS, 8, VIRTQ_DESC_F_WRITE | VIRTQ_DESC_F_NEXT, 1);
    desc(g, DESC, 1, BUFS, 8, 0, 0);
    offer(g, 0);
}
static void b_avail_jump(Guest *g) { put16(g, AVAIL + 2, NUM + 1); }
static void b_nested(Guest *g)
{
    uint64_t t = RAM_BASE + 0x8000;
    desc(g, t, 0, t, 16, VIRTQ_DESC_F_INDIRECT, 0);
    desc(g, DESC, 0, t, 16, VIRTQ_DESC_F_INDIRECT, 0);
    offer(g, 0);
}
static void b_ind_next(Guest *g) { desc(g, DESC, 0, RAM_BASE + 0x8000, 16, VIRTQ_DESC_F_INDIRECT | VIRTQ_DESC_F_NEXT, 1); offer(g, 0); }
static void b_ind_len(Guest *g) { desc(g, DESC, 0, RAM_BASE + 0x8000, 24, VIRTQ_DESC_F_INDIRECT, 0); offer(g, 0); }
static void b_ind_mid(Guest *g)
{
    desc(g, DESC, 0, BUFS, 8, VIRTQ_DESC_F_NEXT, 1);
    desc(g, DESC, 1, RAM_BASE + 0x8000, 16, VIRTQ_DESC_F_INDIRECT, 0);
    offer(g, 0);
}
/* The driver offers a head again before the device returned it, NUM + 1 times. */
static void b_reuse(Guest *g)
{
    VirtQueueElement *e;
    desc(g, DESC, 0, BUFS, 8, 0, 0);
    for (unsigned i = 0; i < NUM; i++) {
        offer(g, 0);
        g_assert_cmpint(vq_pop(&g->vq, &e), ==, 1);
        g_free(e);                              /* never pushed: still in flight */
    }
    offer(g, 0);
}
static void b_ind_loop(Guest *g)
{
    uint64_t t = RAM_BASE + 0x8000;
    desc(g, t, 0, BUFS, 8, VIRTQ_DESC_F_NEXT, 1);
    desc(g, t, 1, BUFS, 8, VIRTQ_DESC_F_NEXT, 0);
    desc(g, DESC, 0, t, 32, VIRTQ_DESC_F_INDIRECT, 0);
    offer(g, 0);
}

/* Every rule a driver can break: the queue breaks with a reason, nothing is returned. */
static void test_hostile(void)
{
    static const struct { Breaker *fn; const char *why; } cases[] = {
        { b_loop, "loop" }, { b_next_range, "out of range" }, { b_head_range, "out of range" },
        { b_outside, "outside guest RAM" }, { b_wrap64, "outside guest RAM" },
        { b_rom_write, "outside guest RAM" }, { b_order, "after a device-writable" },
        { b_avail_jump, "more than a queue ahead" }, { b_nested, "indirect descriptor inside" },
        { b_ind_next, "NEXT flag" }, { b_ind_len, "length invalid" },
        { b_ind_mid, "inside a chain" }, { b_ind_loop, "loop" },
        { b_reuse, "more requests in flight" },
    };
    for (unsigned i = 0; i < G_N_ELEMENTS(cases); i++) {
        Guest g;
        guest_init(&g, true, false);
        cases[i].fn(&g);
        expect_broken(&g, cases[i].why);
        vq_push(&g.vq, NULL, 0);
        g_assert_false(vq_should_notify(&g.vq));
        guest_free(&g);
    }
}

/* Rings placed where they cannot be: refused before any access. */
static void test_validate(void)
{
    Guest g;
    guest_init(&g, false, false);
    g.vq.s.used = ROM_BASE;                        /* the device writes the used ring */
    g_assert_false(vq_validate(&g.vq));
    g.vq.s.used = USED + 2;
    g_assert_false(vq_validate(&g.vq));            /* misaligned */
    g.vq.s.used = USED;
    g.vq.s.desc = RAM_BASE + RAM_SIZE - 64;        /* 8 x 16 bytes do not fit */
    g_assert_false(vq_validate(&g.vq));
    g.vq.s.desc = DESC;
    g.vq.s.num = 0;
    g_assert_false(vq_validate(&g.vq));
    g.vq.s.num = NUM;
    g_assert_true(vq_validate(&g.vq));
    g_assert_false(g.vq.broken);
    guest_free(&g);
}

/* VIRTIO_F_EVENT_IDX: interrupts only when used_idx passes the driver's used_event, and
 * avail_event tells the driver how far the device has read. */
static void test_event_idx(void)
{
    Guest g;
    VirtQueueElement *e;
    guest_init(&g, false, true);
    for (unsigned i = 0; i < 4; i++) {
        desc(&g, DESC, i, BUFS + 0x100 * i, 16, VIRTQ_DESC_F_WRITE, 0);
        offer(&g, i);
    }
    put16(&g, AVAIL + 4 + 2 * NUM, 2);             /* used_event: wake me after entry 2 */
    g_assert_cmpint(vq_pop(&g.vq, &e), ==, 1);
    g_assert_cmpuint(get16(&g, USED + 4 + 8 * NUM), ==, 1);    /* avail_event */
    vq_push(&g.vq, e, 1);
    g_assert_true(vq_should_notify(&g.vq));        /* first interrupt always goes */
    for (unsigned i = 1; i < 4; i++) {
        g_assert_cmpint(vq_pop(&g.vq, &e), ==, 1);
        vq_push(&g.vq, e, 1);
        /* used_idx 2: not past 2 yet; 3: passed; 4: not past again */
        g_assert_cmpint(vq_should_notify(&g.vq), ==, i == 2);
    }
    vq_set_notification(&g.vq, true);
    g_assert_cmpuint(get16(&g, USED + 4 + 8 * NUM), ==, 4);
    guest_free(&g);
}

static void test_vmstate(void)
{
    VirtQueueState a, b;
    memset(&a, 0, sizeof(a));                      /* padding too: compared with memcmp */
    memset(&b, 0, sizeof(b));
    a.desc = 0x1000, a.avail = 0x2000, a.used = 0x3000, a.num = 256;
    a.last_avail_idx = 65000, a.used_idx = 64999, a.signalled_used = 7;
    a.enabled = a.event_idx = a.indirect = a.signalled_valid = 1;
    g_autoptr(GByteArray) buf = g_byte_array_new();
    vmstate_save(&vmstate_virtqueue, &a, buf);
    g_assert_cmpuint(buf->len, ==, vmstate_size(&vmstate_virtqueue));
    g_assert_cmpint(vmstate_load(&vmstate_virtqueue, &b, buf->data, buf->len, NULL), ==,
                    (ssize_t)buf->len);
    g_assert_true(memcmp(&a, &b, sizeof(a)) == 0);
}

/* Random descriptor tables and rings: whatever the guest writes, no crash, and every
 * buffer handed out lies inside guest RAM (ASan checks the accesses in the sanitizer
 * build). */
static void test_random(void)
{
    GRand *r = g_rand_new_with_seed(1234);
    unsigned popped = 0, broken = 0;
    for (unsigned round = 0; round < 2000; round++) {
        Guest g;
        guest_init(&g, g_rand_boolean(r), g_rand_boolean(r));
        for (unsigned i = 0; i < 0x3000; i++)
            g.mem[i] = g_rand_int(r);
        for (unsigned i = 0; i < 4 * NUM; i++) {     /* mostly plausible descriptors */
            uint64_t t = g_rand_int_range(r, 0, 4) ? DESC : RAM_BASE + 0x8000;
            uint64_t a = g_rand_int_range(r, 0, 8) ? BUFS + g_rand_int_range(r, 0, 0x1000)
                                                    : ((uint64_t)g_rand_int(r) << 20);
            uint16_t flags = g_rand_int_range(r, 0, 8) ? g_rand_int_range(r, 0, 4)
                                                       : g_rand_int_range(r, 0, 8);
            uint32_t len = flags & VIRTQ_DESC_F_INDIRECT ? 16 * g_rand_int_range(r, 0, NUM + 1)
                         : g_rand_int_range(r, 0, 4) ? g_rand_int_range(r, 0, 4096)
                                                     : g_rand_int(r);
            desc(&g, t, i % NUM, flags & VIRTQ_DESC_F_INDIRECT ? RAM_BASE + 0x8000 : a, len,
                 flags, g_rand_int_range(r, 0, NUM + 1));
        }
        for (unsigned i = 0; i < NUM; i++)               /* heads, mostly in range */
            put16(&g, AVAIL + 4 + 2 * i, g_rand_int_range(r, 0, NUM + 1));
        put16(&g, AVAIL + 2, g_rand_int_range(r, 0, 2 * NUM));
        for (unsigned k = 0; k < 2 * NUM; k++) {
            VirtQueueElement *e;
            int ret = vq_pop(&g.vq, &e);
            broken += ret < 0;
            if (ret <= 0)
                break;
            popped++;
            for (unsigned j = 0; j < e->out_num + e->in_num; j++) {
                uint8_t *p = e->iov[j].iov_base;
                g_assert_true(p >= g.mem && p + e->iov[j].iov_len <= g.mem + RAM_SIZE);
                if (j >= e->out_num)
                    memset(p, 0xee, e->iov[j].iov_len);
            }
            vq_push(&g.vq, e, g_rand_int(r));
            vq_should_notify(&g.vq);
        }
        guest_free(&g);
    }
    g_rand_free(r);
    g_test_message("%u requests popped, %u queues broken", popped, broken);
    g_assert_cmpuint(popped, >, 200);                /* the test reaches both outcomes */
    g_assert_cmpuint(broken, >, 200);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/virtqueue/request", test_request);
    g_test_add_func("/virtqueue/wrap", test_wrap);
    g_test_add_func("/virtqueue/indirect", test_indirect);
    g_test_add_func("/virtqueue/hostile", test_hostile);
    g_test_add_func("/virtqueue/validate", test_validate);
    g_test_add_func("/virtqueue/event-idx", test_event_idx);
    g_test_add_func("/virtqueue/vmstate", test_vmstate);
    g_test_add_func("/virtqueue/random", test_random);
    return g_test_run();
}
