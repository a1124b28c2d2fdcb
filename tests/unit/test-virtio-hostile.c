/*
 * virtio-pci against a hostile driver (issue 13): common-configuration accesses of the
 * wrong width or alignment (virtio 1.2 4.1.3.1), a driver that re-offers buffers as
 * fast as the device uses them (bounded work per main-loop dispatch), virtio-rng's rate
 * limit as QEMU's, and a virtio-blk read longer than the used ring's 32-bit length.
 */
#include "virtio-fixture.h"
#include <fcntl.h>
#include <pthread.h>

/* ---- 1. common configuration: only whole, aligned fields ---- */

/* A guest-triggered warning reads as Vireo's ("vireo: warning: ..."), not as GLib's
 * "** WARNING **", once start-up has set the log format (vireo's process_setup does). */
static void test_warning_format(void)
{
    if (g_test_subprocess()) {
        report_set_format(false, NULL);
        Fx *f = fx_new();
        g_log_set_always_fatal(G_LOG_FATAL_MASK);
        negotiate(f, 1ull << 32);
        wr(f, f->common + 0x17, 0xff00ff00, 4);
        fx_free(f);
        return;
    }
    g_test_trap_subprocess(NULL, 0, G_TEST_SUBPROCESS_DEFAULT);
    g_test_trap_assert_passed();
    g_test_trap_assert_stderr("vireo: warning: virtio-*: 4-byte write at common "
                              "configuration offset 0x17 is not one aligned field*");
    g_test_trap_assert_stderr_unmatched("*WARNING*");
}

static void test_common_widths(void)
{
    Fx *f = fx_new();
    g_log_set_always_fatal(G_LOG_FATAL_MASK | G_LOG_LEVEL_CRITICAL);   /* refusals log */
    negotiate(f, 1ull << 32);
    wr(f, f->common + 0x16, 0, 2);                                  /* queue_select 0 */
    wr(f, f->common + 0x1a, VIRTIO_NO_VECTOR, 2);
    /* The reproducer: 4 bytes at 0x17 cover queue_select's high byte, queue_size and
     * queue_msix_vector's low byte; 8 bytes at 0x13 are the same write split in two. */
    wr(f, f->common + 0x17, 0xff00ff00, 4);
    wr(f, f->common + 0x13, 0x00ff00ffff00ff00ull, 8);
    g_assert_cmpuint(rd(f, f->common + 0x16, 2), ==, 0);           /* still queue 0 */
    g_assert_cmpuint(rd(f, f->common + 0x18, 2), ==, 8);
    g_assert_cmphex(rd(f, f->common + 0x1a, 2), ==, VIRTIO_NO_VECTOR);
    /* Misaligned or too wide reads return 0, even where the field is non-zero. */
    g_assert_cmpuint(rd(f, f->common + 0x17, 4), ==, 0);
    g_assert_cmpuint(rd(f, f->common + 0x18, 4), ==, 0);           /* 2-byte field */
    g_assert_cmpuint(rd(f, f->common + 0x13, 1), ==, 0);           /* inside num_queues */
    g_assert_cmpuint(rd(f, f->common + 0x06, 2), ==, 0);           /* inside a 32-bit one */
    g_assert_cmpuint(rd(f, f->common + 0x12, 2), ==, 1);
    g_assert_cmpuint(rd(f, f->common + 0x38, 2), ==, 0);           /* past the fields */
    /* A narrower read at a field's start gets its low bytes, as from QEMU: iPXE before
     * 2023 reads device_feature with a 16-bit access (VERSION_1 is bit 0 of word 1). */
    g_assert_cmpuint(rd(f, f->common + 0x12, 1), ==, 1);           /* num_queues, 1 byte */
    wr(f, f->common + 0x00, 1, 4);
    g_assert_cmphex(rd(f, f->common + 0x04, 2), ==, 1);
    g_assert_cmphex(rd(f, f->common + 0x04, 1), ==, 1);
    wr(f, f->common + 0x00, 0, 4);
    /* A byte write into a 16-bit field changes nothing either. */
    wr(f, f->common + 0x16, 1, 1);
    g_assert_cmpuint(rd(f, f->common + 0x16, 2), ==, 0);
    /* 64-bit fields: two 32-bit halves, or one aligned 8-byte access. */
    wr(f, f->common + 0x20, 0x11223340, 4);
    wr(f, f->common + 0x24, 0x5, 4);
    g_assert_cmphex(rd(f, f->common + 0x20, 8), ==, 0x511223340ull);
    g_assert_cmphex(rd(f, f->common + 0x24, 4), ==, 0x5);
    wr(f, f->common + 0x28, 0x0000000600001000ull, 8);
    g_assert_cmphex(rd(f, f->common + 0x28, 4), ==, 0x1000);
    g_assert_cmphex(rd(f, f->common + 0x2c, 4), ==, 0x6);
    wr(f, f->common + 0x22, 0xffffffff, 4);                         /* straddles halves */
    wr(f, f->common + 0x2c, 0x1234, 2);
    g_assert_cmphex(rd(f, f->common + 0x20, 8), ==, 0x511223340ull);
    g_assert_cmphex(rd(f, f->common + 0x28, 8), ==, 0x600001000ull);
    /* Whatever selector a driver writes, later fields are checked against it. */
    for (uint32_t sel = 0; sel <= 0xffff; sel += 0x101) {
        wr(f, f->common + 0x16, sel, 2);
        wr(f, f->common + 0x1a, 1, 2);
        wr(f, f->common + 0x18, 4, 2);
        g_assert_cmpuint(rd(f, f->common + 0x18, 2), ==, sel == 0 ? 4 : 0);
        g_assert_cmphex(rd(f, f->common + 0x1a, 2), ==, sel == 0 ? 1 : 0);
    }
    fx_free(f);
}

/* ---- 2. a driver that re-offers every buffer as soon as it is used ---- */

typedef struct Hostile {
    Fx *f;
    int notify_fd;                   /* the queue's eventfd, as KVM would signal it */
    uint16_t head;
    volatile int stop;
    unsigned offered;
} Hostile;

/* The "vCPU": keeps the available ring full of the same chain and notifies. */
static void *hostile_driver(void *opaque)
{
    Hostile *h = opaque;
    uint16_t *avail_idx = (uint16_t *)ram(h->f, AVAIL + 2);
    const uint16_t *used = (const uint16_t *)ram(h->f, USED + 2);
    while (!h->stop && h->offered < 2000000) {
        uint16_t a = __atomic_load_n(avail_idx, __ATOMIC_RELAXED);
        if ((uint16_t)(a - __atomic_load_n(used, __ATOMIC_ACQUIRE)) >= 8)
            continue;
        __atomic_store_n((uint16_t *)ram(h->f, AVAIL + 4 + 2 * (a % 8)), h->head,
                         __ATOMIC_RELAXED);
        __atomic_store_n(avail_idx, (uint16_t)(a + 1), __ATOMIC_RELEASE);
        h->offered++;
        uint64_t one = 1;
        if (write(h->notify_fd, &one, sizeof(one)) < 0) {
            /* EAGAIN: a notification is pending anyway */
        }
    }
    return NULL;
}

static gboolean count_dispatch(gpointer opaque)
{
    (*(unsigned *)opaque)++;
    return G_SOURCE_CONTINUE;
}

/* Runs the main loop while the hostile driver works: every dispatch does bounded work
 * (at most one batch per source), another main-loop client (QMP's stand-in) is served
 * in every iteration, and the device still makes progress. */
static void run_against(Fx *f, uint16_t head)
{
    Hostile h = { .f = f, .notify_fd = f->vp->notifier[0].fd, .head = head };
    unsigned other = 0;
    uint32_t served = 0;
    g_assert_cmpint(h.notify_fd, >=, 0);
    guint id = g_idle_add_full(G_PRIORITY_DEFAULT, count_dispatch, &other, NULL);
    pthread_t t;
    pthread_create(&t, NULL, hostile_driver, &h);
    while (served < 50 * VIRTIO_QUEUE_BATCH) {
        uint16_t before = __atomic_load_n((uint16_t *)ram(f, USED + 2), __ATOMIC_ACQUIRE);
        unsigned other_before = other;
        g_main_context_iteration(NULL, TRUE);
        uint16_t n = __atomic_load_n((uint16_t *)ram(f, USED + 2), __ATOMIC_ACQUIRE) - before;
        /* the eventfd watch and the rescheduled run: one batch each at most */
        g_assert_cmpuint(n, <=, 2 * VIRTIO_QUEUE_BATCH);
        g_assert_cmpuint(other, ==, other_before + 1);
        served += n;
    }
    h.stop = 1;
    pthread_join(t, NULL);
    g_source_remove(id);
    g_assert_false(rd(f, f->common + 0x14, 1) & VIRTIO_STATUS_NEEDS_RESET);
}

static void test_rng_reoffer(void)
{
    Fx *f = fx_new();
    negotiate(f, 1ull << 32);
    setup_queue(f, DESC, VIRTIO_NO_VECTOR);
    wr(f, f->common + 0x14, 0x0f, 1);
    put_desc(f, 0, BUF, 16, VIRTQ_DESC_F_WRITE, 0);
    run_against(f, 0);
    fx_free(f);
}

#define HDR  0x30000
#define STAT 0x40000

static char *blk_image(const char *tag, uint64_t size)
{
    const char *dir = g_getenv("VIREO_BUILD_DIR");
    char *path = g_strdup_printf("%s/test-virtio-hostile-%s-%d.raw",
                                 dir ? dir : g_get_tmp_dir(), tag, (int)getpid());
    int fd = open(path, O_CREAT | O_TRUNC | O_WRONLY, 0600);
    g_assert_cmpint(fd, >=, 0);
    g_assert_cmpint(ftruncate(fd, size), ==, 0);                    /* sparse */
    close(fd);
    return path;
}

static Fx *blk_fx(const char *path, uint64_t features)
{
    g_autofree char *spec = g_strdup_printf("file=%s,format=raw,if=none,id=d0", path);
    const char *drives[] = { spec, NULL };
    Fx *f = fx_new_dev("virtio-blk-pci", "drive=d0,serial=HOSTILE", drives);
    g_assert_true(negotiate(f, features) & VIRTIO_STATUS_FEATURES_OK);
    setup_queue(f, DESC, VIRTIO_NO_VECTOR);
    wr(f, f->common + 0x14, 0x0f, 1);
    return f;
}

/* GET_ID completes at once, so a re-offering driver could keep virtio-blk's handler
 * going as well. */
static void test_blk_reoffer(void)
{
    g_autofree char *path = blk_image("reoffer", 1 << 20);
    Fx *f = blk_fx(path, 1ull << 32);
    uint32_t type = 8;                                              /* GET_ID */
    memcpy(ram(f, HDR), &type, 4);
    memset(ram(f, HDR + 4), 0, 12);
    put_desc(f, 0, HDR, 16, VIRTQ_DESC_F_NEXT, 1);
    put_desc(f, 1, BUF, 20, VIRTQ_DESC_F_NEXT | VIRTQ_DESC_F_WRITE, 2);
    put_desc(f, 2, STAT, 1, VIRTQ_DESC_F_WRITE, 0);
    run_against(f, 0);
    g_assert_cmpmem(ram(f, BUF), 7, "HOSTILE", 7);
    fx_free(f);
    unlink(path);
}

/* ---- virtio-rng's rate limit, as QEMU's ---- */

static void rng_offer3(Fx *f)
{
    for (uint16_t i = 0; i < 3; i++) {
        put_desc(f, i, BUF + 0x100 * i, 32, VIRTQ_DESC_F_WRITE, 0);
        offer(f, i);
    }
    kick(f);
}

static void test_rng_rate_limit(void)
{
    Fx *f = fx_new_dev("virtio-rng-pci", "max-bytes=64,period=1000", NULL);
    negotiate(f, 1ull << 32);
    setup_queue(f, DESC, VIRTIO_NO_VECTOR);
    wr(f, f->common + 0x14, 0x0f, 1);
    rng_offer3(f);                                  /* 3 x 32 bytes, 64 allowed */
    g_assert_cmpuint(used_idx(f), ==, 2);
    vclock_step(f->m->clock, 999 * 1000000LL);
    g_assert_cmpuint(used_idx(f), ==, 2);
    vclock_step(f->m->clock, 1000000LL);            /* the period the request started */
    g_assert_cmpuint(used_idx(f), ==, 3);
    /* 32 bytes are left of the new period; a device reset does not refill them. */
    wr(f, f->common + 0x14, 0, 1);
    memset(ram(f, AVAIL), 0, 0x100);
    memset(ram(f, USED), 0, 0x100);
    negotiate(f, 1ull << 32);
    setup_queue(f, DESC, VIRTIO_NO_VECTOR);
    wr(f, f->common + 0x14, 0x0f, 1);
    rng_offer3(f);
    g_assert_cmpuint(used_idx(f), ==, 1);
    vclock_step(f->m->clock, 1000 * 1000000LL);
    g_assert_cmpuint(used_idx(f), ==, 3);
    fx_free(f);

    Machine *m = machine_new_test(RAM_SIZE);
    GError *err = NULL;
    g_assert_nonnull(pci_bus_new_pc(m, &err));
    g_assert_null(machine_create_device(m, "virtio-rng-pci", "max-bytes=9223372036854775808",
                                        &err));
    g_assert_nonnull(strstr(err->message, "'max-bytes' parameter must be non-negative"));
    g_clear_error(&err);
    g_assert_null(machine_create_device(m, "virtio-rng-pci", "period=0", &err));
    g_assert_nonnull(strstr(err->message, "'period' parameter expects a positive integer"));
    g_clear_error(&err);
    pci_bus_free(m->pci_bus);
    machine_free(m);
}

/* ---- 4. a read the used ring's 32-bit len cannot describe ---- */

#define BIG_BUF   0x800000u                         /* 8 MiB, reused by every descriptor */
#define BIG_LEN   0x800000u
#define BIG_N     513                               /* 513 x 8 MiB > 4 GiB */
#define IND_TABLE 0x50000

static void put_ind(Fx *f, unsigned i, uint64_t addr, uint32_t len, uint16_t flags,
                    uint16_t next)
{
    uint8_t *d = ram(f, IND_TABLE + 16 * i);
    memcpy(d, &addr, 8);
    memcpy(d + 8, &len, 4);
    memcpy(d + 12, &flags, 2);
    memcpy(d + 14, &next, 2);
}

static void test_blk_huge_read(void)
{
    g_autofree char *path = blk_image("huge", 5ull << 30);
    Fx *f = blk_fx(path, 1ull << 32 | 1u << VIRTIO_F_RING_INDIRECT_DESC);
    uint32_t type = 0;                                              /* IN */
    memcpy(ram(f, HDR), &type, 4);
    memset(ram(f, HDR + 4), 0, 12);
    put_ind(f, 0, HDR, 16, VIRTQ_DESC_F_NEXT, 1);
    for (unsigned i = 1; i <= BIG_N; i++)
        put_ind(f, i, BIG_BUF, BIG_LEN, VIRTQ_DESC_F_NEXT | VIRTQ_DESC_F_WRITE, i + 1);
    put_ind(f, BIG_N + 1, STAT, 1, VIRTQ_DESC_F_WRITE, 0);
    put_desc(f, 0, IND_TABLE, 16 * (BIG_N + 2), VIRTQ_DESC_F_INDIRECT, 0);
    *ram(f, STAT) = 0xee;
    offer(f, 0);
    kick(f);
    for (int i = 0; i < 100000 && used_idx(f) == 0; i++)
        g_main_context_iteration(NULL, TRUE);
    g_assert_cmpuint(used_idx(f), ==, 1);
    uint32_t len;
    memcpy(&len, ram(f, USED + 8), 4);
    g_assert_cmpuint(*ram(f, STAT), ==, 1);                         /* VIRTIO_BLK_S_IOERR */
    g_assert_cmpuint(len, ==, 1);                                   /* just the status */
    fx_free(f);
    unlink(path);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/virtio-pci/common-config-widths", test_common_widths);
    g_test_add_func("/virtio-pci/warning-format", test_warning_format);
    g_test_add_func("/virtio-rng/reoffer-bounded", test_rng_reoffer);
    g_test_add_func("/virtio-blk/reoffer-bounded", test_blk_reoffer);
    g_test_add_func("/virtio-rng/rate-limit", test_rng_rate_limit);
    g_test_add_func("/virtio-blk/read-longer-than-used-len", test_blk_huge_read);
    return g_test_run();
}
