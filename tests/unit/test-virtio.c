/*
 * The modern virtio-pci transport (virtio 1.2, 4.1) with virtio-rng-pci behind it, driven
 * the way a driver does (3.1.1): capabilities found in config space, feature negotiation,
 * queue setup in guest RAM, a request, the interrupt (INTx + ISR, or MSI-X), and what a
 * broken driver gets (DEVICE_NEEDS_RESET plus a configuration interrupt, 2.1.2).
 */
#include "virtio-fixture.h"
#include "vireo/migration.h"
#include "vireo/runstate.h"
#include "qapi/qapi-generated.h"
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/resource.h>

static void test_features(void)
{
    Fx *f = fx_new();
    wr(f, f->common + 0x00, 1, 4);
    uint32_t hi = rd(f, f->common + 0x04, 4);
    wr(f, f->common + 0x00, 0, 4);
    uint32_t lo = rd(f, f->common + 0x04, 4);
    g_assert_true(hi & 1);                                          /* VERSION_1 */
    g_assert_true(lo & (1u << VIRTIO_F_RING_INDIRECT_DESC));
    g_assert_true(lo & (1u << VIRTIO_F_RING_EVENT_IDX));
    g_assert_cmpuint(rd(f, f->common + 0x12, 2), ==, 1);            /* num_queues */
    /* Without VERSION_1, or with a bit we never offered, FEATURES_OK does not stick. */
    g_assert_false(negotiate(f, 0) & VIRTIO_STATUS_FEATURES_OK);
    g_assert_false(negotiate(f, 1ull << 32 | 1ull << 40) & VIRTIO_STATUS_FEATURES_OK);
    g_assert_true(negotiate(f, 1ull << 32) & VIRTIO_STATUS_FEATURES_OK);
    /* Absent queues read size 0 (4.1.4.3.2). */
    wr(f, f->common + 0x16, 5, 2);
    g_assert_cmpuint(rd(f, f->common + 0x18, 2), ==, 0);
    fx_free(f);
}

/* Points the PCI_CFG window at @len bytes at @off of BAR @bar (4.1.4.9), as iPXE does:
 * cap.bar as a byte, cap.length and cap.offset as dwords. */
static void cfg_window_at(Fx *f, uint8_t bar, uint32_t off, uint32_t len)
{
    pci_config_write(f->pci, f->cfg_cap + 4, bar, 1);
    pci_config_write(f->pci, f->cfg_cap + 12, len, 4);
    pci_config_write(f->pci, f->cfg_cap + 8, off, 4);
}

/* The PCI configuration access capability (4.1.4.9): BAR 4 read and written through
 * pci_cfg_data with the access width in cap.length; windows naming no part of BAR 4
 * (another BAR, widths other than 1/2/4, misaligned, past the end) do nothing. */
static void test_cfg_window(void)
{
    Fx *f = fx_new();
    uint8_t c = f->cfg_cap, data = c + 16;

    g_assert_cmpuint(pci_config_read(f->pci, c + 2, 1), ==, 20);   /* cap_len */
    g_assert_cmpuint(pci_config_read(f->pci, c + 4, 1), ==, 0);    /* bar: QEMU's 0 */
    /* device_feature word 1 (VERSION_1) through the window: select, then read. */
    cfg_window_at(f, 4, 0x00, 4);
    pci_config_write(f->pci, data, 1, 4);
    g_assert_cmphex(rd(f, f->common + 0x00, 4), ==, 1);
    cfg_window_at(f, 4, 0x04, 4);
    g_assert_cmphex(pci_config_read(f->pci, data, 4), ==, 1);
    cfg_window_at(f, 4, 0x12, 2);                                   /* num_queues */
    g_assert_cmphex(pci_config_read(f->pci, data, 2), ==, 1);
    cfg_window_at(f, 4, 0x14, 1);                                   /* device_status */
    pci_config_write(f->pci, data, VIRTIO_STATUS_ACKNOWLEDGE, 1);
    g_assert_cmphex(rd(f, f->common + 0x14, 1), ==, VIRTIO_STATUS_ACKNOWLEDGE);
    g_assert_cmphex(pci_config_read(f->pci, data, 1), ==, VIRTIO_STATUS_ACKNOWLEDGE);
    /* The ISR through the window clears it as a BAR read does. */
    f->vp->s.isr = 1;
    cfg_window_at(f, 4, 0x1000, 1);
    g_assert_cmphex(pci_config_read(f->pci, data, 4) & 0xff, ==, 1);
    g_assert_cmphex(f->vp->s.isr, ==, 0);
    /* Nothing happens for windows outside BAR 4's structures. */
    const uint32_t bad[][3] = { { 1, 0x14, 1 }, { 4, 0x14, 3 }, { 4, 0x14, 8 },
                                { 4, 0x13, 2 }, { 4, 0x3fff, 4 }, { 4, 0xfffffffc, 4 },
                                { 0xff, 0x14, 1 } };
    for (unsigned i = 0; i < G_N_ELEMENTS(bad); i++) {
        cfg_window_at(f, bad[i][0], bad[i][1], bad[i][2]);
        pci_config_write(f->pci, data, 0, 4);
        g_assert_cmphex(rd(f, f->common + 0x14, 1), ==, VIRTIO_STATUS_ACKNOWLEDGE);
        g_assert_cmphex(pci_config_read(f->pci, data, 4), ==, 0);
    }
    /* An access that does not cover pci_cfg_data's first byte is a plain config one. */
    cfg_window_at(f, 4, 0x14, 1);
    pci_config_write(f->pci, data + 1, 0xff, 1);
    g_assert_cmphex(rd(f, f->common + 0x14, 1), ==, VIRTIO_STATUS_ACKNOWLEDGE);
    g_assert_cmphex(pci_config_read(f->pci, data + 1, 1), ==, 0xff);
    fx_free(f);
}

/* A request completed over INTx: ISR bit 0, read-to-clear, line dropped. */
static void test_request_intx(void)
{
    Fx *f = fx_new();
    int gsi = pci_pc_intx_to_gsi(PCI_DEVFN(5, 0), 1);
    g_assert_true(negotiate(f, 1ull << 32) & VIRTIO_STATUS_FEATURES_OK);
    setup_queue(f, DESC, VIRTIO_NO_VECTOR);
    wr(f, f->common + 0x14, 0x0f, 1);                               /* DRIVER_OK */
    g_assert_cmpint(f->vp->notifier[0].fd, >=, 0);
    /* The notify write only signals the queue's eventfd; the main loop does the work. */
    put_desc(f, 3, BUF, 64, VIRTQ_DESC_F_WRITE, 0);
    offer(f, 3);
    wr(f, f->notify, 0, 2);
    g_assert_cmpuint(used_idx(f), ==, 0);
    while (g_main_context_iteration(NULL, FALSE))
        ;
    g_assert_cmpuint(used_idx(f), ==, 1);
    uint32_t id, len;
    memcpy(&id, ram(f, USED + 4), 4);
    memcpy(&len, ram(f, USED + 8), 4);
    g_assert_cmpuint(id, ==, 3);
    g_assert_cmpuint(len, ==, 64);
    static const uint8_t zero[64];
    g_assert_true(memcmp(ram(f, BUF), zero, 64) != 0);
    g_assert_cmpint(f->gsi_level[gsi], ==, 1);
    g_assert_cmpuint(rd(f, f->isr, 1), ==, 1);
    g_assert_cmpint(f->gsi_level[gsi], ==, 0);
    g_assert_cmpuint(rd(f, f->isr, 1), ==, 0);
    fx_free(f);
}

/* With MSI-X on, the queue's vector carries the interrupt (no ISR, no INTx). */
static void test_request_msix(void)
{
    Fx *f = fx_new();
    uint8_t cap = pci_find_capability(f->pci, PCI_CAP_ID_MSIX);
    uint64_t table = pci_bar_address(f->pci, 1);
    g_assert_true(cap && table != PCI_BAR_UNMAPPED);
    wr(f, table + 16 * 1 + 0, 0xfee00000, 4);                       /* vector 1 */
    wr(f, table + 16 * 1 + 8, 0x4242, 4);
    wr(f, table + 16 * 1 + 12, 0, 4);                               /* unmasked */
    pci_config_write(f->pci, cap + 2, 0x8000, 2);                   /* MSI-X enable */
    g_assert_true(negotiate(f, 1ull << 32 | 1u << VIRTIO_F_RING_EVENT_IDX) &
                  VIRTIO_STATUS_FEATURES_OK);
    setup_queue(f, DESC, 7);                                        /* no such vector */
    g_assert_cmphex(rd(f, f->common + 0x1a, 2), ==, VIRTIO_NO_VECTOR);
    wr(f, f->common + 0x14, 0, 1);
    g_assert_true(negotiate(f, 1ull << 32 | 1u << VIRTIO_F_RING_EVENT_IDX) &
                  VIRTIO_STATUS_FEATURES_OK);
    setup_queue(f, DESC, 1);
    g_assert_cmpuint(rd(f, f->common + 0x1a, 2), ==, 1);
    wr(f, f->common + 0x14, 0x0f, 1);
    post_buffer(f, 0, 16);
    g_assert_cmpuint(used_idx(f), ==, 1);
    g_assert_cmpuint(f->msgs->len, ==, 1);
    g_assert_cmphex(g_array_index(f->msgs, uint32_t, 0), ==, 0x4242);
    g_assert_cmpuint(rd(f, f->isr, 1), ==, 0);
    fx_free(f);
}

/* A driver that breaks its queue: NEEDS_RESET, a configuration interrupt, no more
 * requests served; a reset (status 0) brings the device back. */
static void test_broken_driver(void)
{
    Fx *f = fx_new();
    int gsi = pci_pc_intx_to_gsi(PCI_DEVFN(5, 0), 1);
    negotiate(f, 1ull << 32);
    setup_queue(f, DESC, VIRTIO_NO_VECTOR);
    wr(f, f->common + 0x14, 0x0f, 1);
    offer(f, 200);                                                  /* beyond queue size */
    g_test_expect_message(NULL, G_LOG_LEVEL_WARNING,
                          "virtio-rng-pci: the driver broke queue 0: available ring entry*");
    kick(f);
    g_test_assert_expected_messages();
    g_assert_cmpuint(used_idx(f), ==, 0);
    g_assert_true(rd(f, f->common + 0x14, 1) & VIRTIO_STATUS_NEEDS_RESET);
    g_assert_cmpint(f->gsi_level[gsi], ==, 1);
    g_assert_cmpuint(rd(f, f->isr, 1), ==, 2);                      /* config change */
    kick(f);                                                        /* ignored now */
    g_assert_cmpuint(used_idx(f), ==, 0);
    wr(f, f->common + 0x14, 0, 1);
    g_assert_cmpuint(rd(f, f->common + 0x14, 1), ==, 0);
    g_assert_cmpuint(rd(f, f->common + 0x1c, 2), ==, 0);            /* queue disabled */
    /* A queue placed outside guest RAM is refused when enabled. */
    negotiate(f, 1ull << 32);
    g_test_expect_message(NULL, G_LOG_LEVEL_WARNING, "*queue 0: ring outside guest RAM*");
    setup_queue(f, RAM_SIZE - 64, VIRTIO_NO_VECTOR);
    g_test_assert_expected_messages();
    g_assert_cmpuint(rd(f, f->common + 0x1c, 2), ==, 0);
    g_assert_true(rd(f, f->common + 0x14, 1) & VIRTIO_STATUS_NEEDS_RESET);
    fx_free(f);
}

/* Hostile accesses: tests/unit/test-device-sweep.c (every width at every offset) and
 * test-virtio-hostile.c. */

/* ---- virtio-blk-pci on a raw image ---- */

#define HDR  0x30000
#define DATA 0x31000
#define STAT 0x40000

/* Sends one request (header, @len data bytes at DATA, status) and waits for it. */
static int blk_req(Fx *f, uint32_t type, uint64_t sector, uint32_t len, bool dev_writes)
{
    uint16_t before = used_idx(f);
    memcpy(ram(f, HDR), &type, 4);
    memset(ram(f, HDR + 4), 0, 4);
    memcpy(ram(f, HDR + 8), &sector, 8);
    *ram(f, STAT) = 0xee;
    put_desc(f, 0, HDR, 16, VIRTQ_DESC_F_NEXT, len ? 1 : 2);
    put_desc(f, 1, DATA, len, VIRTQ_DESC_F_NEXT | (dev_writes ? VIRTQ_DESC_F_WRITE : 0), 2);
    put_desc(f, 2, STAT, 1, VIRTQ_DESC_F_WRITE, 0);
    offer(f, 0);
    kick(f);
    for (int i = 0; i < 100000 && used_idx(f) == before; i++)
        g_main_context_iteration(NULL, TRUE);
    g_assert_cmpuint(used_idx(f), ==, (uint16_t)(before + 1));
    return *ram(f, STAT);
}

static char *blk_image(const char *tag)
{
    const char *dir = g_getenv("VIREO_BUILD_DIR");
    char *path = g_strdup_printf("%s/test-virtio-%s-%d.raw", dir ? dir : g_get_tmp_dir(),
                                 tag, (int)getpid());
    g_autofree uint8_t *buf = g_malloc(1 << 20);
    for (int i = 0; i < (1 << 20); i++)
        buf[i] = i / 512;                       /* sector n of the first 256: byte n */
    g_assert_true(g_file_set_contents(path, (char *)buf, 1 << 20, NULL));
    return path;
}

static Fx *blk_fx(const char *path, bool ro)
{
    g_autofree char *spec = g_strdup_printf("file=%s,format=raw,if=none,id=d0%s", path,
                                            ro ? ",readonly=on" : "");
    const char *drives[] = { spec, NULL };
    Fx *f = fx_new_dev("virtio-blk-pci", "drive=d0,serial=SER-123", drives);
    g_assert_cmphex(pci_config_read(f->pci, PCI_DEVICE_ID, 2), ==, 0x1042);
    g_assert_true(negotiate(f, 1ull << 32) & VIRTIO_STATUS_FEATURES_OK);
    setup_queue(f, DESC, VIRTIO_NO_VECTOR);
    wr(f, f->common + 0x14, 0x0f, 1);
    return f;
}

static void test_blk_io(void)
{
    g_autofree char *path = blk_image("io");
    Fx *f = blk_fx(path, false);
    uint64_t dev_cfg = 0;
    for (uint8_t c = pci_config_read(f->pci, PCI_CAPABILITY_LIST, 1); c;
         c = pci_config_read(f->pci, c + 1, 1))
        if (pci_config_read(f->pci, c, 1) == PCI_CAP_ID_VNDR &&
            pci_config_read(f->pci, c + 3, 1) == 4)
            dev_cfg = pci_bar_address(f->pci, 4) + pci_config_read(f->pci, c + 8, 4);
    g_assert_cmpuint(rd(f, dev_cfg, 4) | rd(f, dev_cfg + 4, 4) << 32, ==, 2048);  /* sectors */
    g_assert_cmpint(blk_req(f, 0, 3, 1024, true), ==, 0);          /* read sectors 3-4 */
    g_assert_cmpuint(ram(f, DATA)[0], ==, 3);
    g_assert_cmpuint(ram(f, DATA)[1023], ==, 4);
    memset(ram(f, DATA), 0x77, 512);
    g_assert_cmpint(blk_req(f, 1, 10, 512, false), ==, 0);         /* write sector 10 */
    g_assert_cmpint(blk_req(f, 4, 0, 0, false), ==, 0);            /* flush */
    memset(ram(f, DATA), 0, 512);
    g_assert_cmpint(blk_req(f, 0, 10, 512, true), ==, 0);
    g_assert_cmpuint(ram(f, DATA)[100], ==, 0x77);
    g_assert_cmpint(blk_req(f, 8, 0, 20, true), ==, 0);            /* GET_ID */
    g_assert_cmpmem(ram(f, DATA), 7, "SER-123", 7);
    /* Hostile requests: past the end, straddling it, not whole sectors, unknown type. */
    g_assert_cmpint(blk_req(f, 0, 2048, 512, true), ==, 1);
    g_assert_cmpint(blk_req(f, 0, 2047, 1024, true), ==, 1);
    g_assert_cmpint(blk_req(f, 1, UINT64_MAX / 256, 512, false), ==, 1);
    g_assert_cmpint(blk_req(f, 0, 0, 100, true), ==, 1);
    g_assert_cmpint(blk_req(f, 99, 0, 512, true), ==, 2);
    /* WRITE_ZEROES of sectors 3-4, one segment. */
    uint64_t seg_sector = 3;
    uint32_t seg_num = 2, seg_flags = 0;
    memcpy(ram(f, DATA), &seg_sector, 8);
    memcpy(ram(f, DATA + 8), &seg_num, 4);
    memcpy(ram(f, DATA + 12), &seg_flags, 4);
    g_assert_cmpint(blk_req(f, 13, 0, 16, false), ==, 0);
    g_assert_cmpint(blk_req(f, 0, 3, 1024, true), ==, 0);
    g_assert_cmpuint(ram(f, DATA)[0] | ram(f, DATA)[1023], ==, 0);
    fx_free(f);
    unlink(path);
}

static void test_blk_readonly(void)
{
    g_autofree char *path = blk_image("ro");
    Fx *f = blk_fx(path, true);
    wr(f, f->common + 0x00, 0, 4);
    g_assert_true(rd(f, f->common + 0x04, 4) & (1u << 5));         /* VIRTIO_BLK_F_RO */
    g_assert_cmpint(blk_req(f, 1, 0, 512, false), ==, 1);
    g_assert_cmpint(blk_req(f, 0, 0, 512, true), ==, 0);
    fx_free(f);
    unlink(path);
}

/* werror=stop on virtio-blk: the failed write (EFBIG past RLIMIT_FSIZE) stays on the
 * device's retry list and the VM is asked to stop in io-error. While it waits, migration
 * and savevm are refused naming the drive (the list is not in the device state); cont
 * retries it and answers the guest; a reset drops a waiting request. */
static int blk_ioerr;

static void blk_on_io_error(Machine *m, const char *device, const char *node, bool is_read,
                            int action, bool iostatus, int error)
{
    g_assert_cmpint(action, ==, 2 /* stop */);
    g_assert_cmpint(error, ==, EFBIG);
    blk_ioerr++;
}

static void blk_write_fails(Fx *f, uint64_t sector)
{
    uint32_t type = 1;
    int before = blk_ioerr;
    struct rlimit r;
    memcpy(ram(f, HDR), &type, 4);
    memset(ram(f, HDR + 4), 0, 4);
    memcpy(ram(f, HDR + 8), &sector, 8);
    memset(ram(f, DATA), 0x5a, 512);
    *ram(f, STAT) = 0xee;
    put_desc(f, 0, HDR, 16, VIRTQ_DESC_F_NEXT, 1);
    put_desc(f, 1, DATA, 512, VIRTQ_DESC_F_NEXT, 2);
    put_desc(f, 2, STAT, 1, VIRTQ_DESC_F_WRITE, 0);
    g_assert_cmpint(getrlimit(RLIMIT_FSIZE, &r), ==, 0);
    rlim_t max = r.rlim_cur;
    r.rlim_cur = 512 * 1024;
    g_assert_cmpint(setrlimit(RLIMIT_FSIZE, &r), ==, 0);
    g_test_expect_message(NULL, G_LOG_LEVEL_WARNING, "*I/O error: File too large*");
    offer(f, 0);
    kick(f);
    for (int i = 0; i < 100000 && blk_ioerr == before; i++)
        g_main_context_iteration(NULL, TRUE);
    g_test_assert_expected_messages();
    r.rlim_cur = max;
    g_assert_cmpint(setrlimit(RLIMIT_FSIZE, &r), ==, 0);
    g_assert_cmpint(blk_ioerr, ==, before + 1);
}

static void test_blk_werror_migrate(void)
{
    g_autofree char *path = g_strdup_printf("%s/test-virtio-werror-%d.raw",
                                            g_getenv("VIREO_BUILD_DIR") ?: g_get_tmp_dir(),
                                            (int)getpid());
    g_autofree char *spec = g_strdup_printf("file=%s,format=raw,if=none,id=d0,werror=stop",
                                            path);
    g_autofree uint8_t *zero = g_malloc0(1 << 20);
    const char *drives[] = { spec, NULL };
    GError *err = NULL;
    int null_fd = open("/dev/null", O_WRONLY);

    g_assert_cmpint(null_fd, >=, 0);
    g_assert_true(g_file_set_contents(path, (char *)zero, 1 << 20, NULL));
    signal(SIGXFSZ, SIG_IGN);
    Fx *f = fx_new_dev("virtio-blk-pci", "drive=d0", drives);
    f->m->block_io_error = blk_on_io_error;
    g_assert_true(negotiate(f, 1ull << 32) & VIRTIO_STATUS_FEATURES_OK);
    setup_queue(f, DESC, VIRTIO_NO_VECTOR);
    wr(f, f->common + 0x14, 0x0f, 1);
    g_assert_true(vm_start(f->m));

    uint16_t before = used_idx(f);
    blk_write_fails(f, 1500);                       /* byte 768000: past the limit */
    g_assert_cmpint(g_atomic_int_get(&f->m->run.stop_req), ==, RUN_STATE_IO_ERROR + 1);
    vm_stop(f->m, RUN_STATE_IO_ERROR);
    g_assert_cmpuint(used_idx(f), ==, before);     /* not answered: kept for the retry */

    qmp_migrate(f->m, "exec:cat >/dev/null", false, false, false, false, false, false,
                false, false, &err);
    g_assert_nonnull(err);
    g_assert_nonnull(strstr(err->message, "Migration refused"));
    g_assert_nonnull(strstr(err->message, "drive 'd0'"));
    g_clear_error(&err);
    g_assert_false(migration_save_fd(f->m, null_fd, &err));
    g_assert_nonnull(strstr(err->message, "drive 'd0'"));
    g_clear_error(&err);
    g_assert_cmpint(runstate_get(f->m), ==, RUN_STATE_IO_ERROR);

    /* cont: the write happens and the guest gets its answer. */
    drives_iostatus_reset(f->m);
    g_assert_true(vm_start(f->m));
    for (int i = 0; i < 100000 && used_idx(f) == before; i++)
        g_main_context_iteration(NULL, TRUE);
    g_assert_cmpuint(used_idx(f), ==, (uint16_t)(before + 1));
    g_assert_cmpint(*ram(f, STAT), ==, 0);
    g_autofree char *img = NULL;
    gsize n;
    g_assert_true(g_file_get_contents(path, &img, &n, NULL));
    g_assert_cmpuint((uint8_t)img[1500 * 512 + 7], ==, 0x5a);
    g_assert_true(drives_check_no_retry(f->m, "Migration", &err));
    g_assert_no_error(err);

    /* Failed again, then a machine reset: dropped, migration allowed. */
    blk_write_fails(f, 1501);
    vm_stop(f->m, RUN_STATE_IO_ERROR);
    g_assert_false(drives_check_no_retry(f->m, "Migration", &err));
    g_clear_error(&err);
    machine_reset_devices(f->m);
    g_assert_true(drives_check_no_retry(f->m, "Migration", &err));
    g_assert_no_error(err);
    fx_free(f);
    close(null_fd);
    unlink(path);
}

static void test_blk_bad_props(void)
{
    Machine *m = machine_new_test(RAM_SIZE);
    GError *err = NULL;
    g_assert_nonnull(pci_bus_new_pc(m, &err));
    g_assert_null(machine_create_device(m, "virtio-blk-pci", "drive=nope", &err));
    g_assert_nonnull(strstr(err->message, "no drive with id 'nope'"));
    g_clear_error(&err);
    g_assert_null(machine_create_device(m, "virtio-blk-pci", NULL, &err));
    g_assert_nonnull(strstr(err->message, "drive= is required"));
    g_clear_error(&err);
    g_autofree char *a = blk_image("a"), *b = blk_image("b");
    g_autofree char *da = g_strdup_printf("file=%s,format=raw,if=none,id=a", a);
    g_autofree char *db = g_strdup_printf("file=%s,format=raw,if=none,id=b", b);
    g_assert_true(drive_add(m, da, &err) && drive_add(m, db, &err));
    g_assert_nonnull(machine_create_device(m, "virtio-blk-pci", "drive=a", &err));
    g_assert_null(machine_create_device(m, "virtio-blk-pci", "drive=a", &err));
    g_assert_nonnull(strstr(err->message, "drive 'a' is already in use"));
    g_clear_error(&err);
    /* A realize that fails after taking the drive (slot 0 is the host bridge) gives the
     * drive back and leaves nothing on the bus. */
    g_assert_null(machine_create_device(m, "virtio-blk-pci", "drive=b,addr=00.0", &err));
    g_clear_error(&err);
    g_assert_nonnull(machine_create_device(m, "virtio-blk-pci", "drive=b", &err));
    g_assert_no_error(err);
    pci_bus_free(m->pci_bus);
    machine_free(m);
    unlink(a);
    unlink(b);
}

/* virtio-tablet-pci as Linux's virtio_input drives it, and as a hostile driver: the
 * configuration queries, absolute moves as evdev triples ending in SYN_REPORT, buffers
 * too short for an event, events without buffers (bounded queue), random config writes. */
static void test_input_tablet(void)
{
    Fx *f = fx_new_dev("virtio-tablet-pci", NULL, NULL);
    g_assert_cmphex(pci_config_read(f->pci, PCI_DEVICE_ID, 2), ==, 0x1052);
    g_assert_true(f->device);
    /* Name (select 1), EV_BITS for EV_ABS (select 0x11, subsel 3), ABS_INFO of ABS_X. */
    wr(f, f->device + 0, 0x01, 1);
    wr(f, f->device + 1, 0, 1);
    char name[32] = { 0 };
    unsigned size = rd(f, f->device + 2, 1);
    for (unsigned i = 0; i < size && i < 31; i++)
        name[i] = rd(f, f->device + 8 + i, 1);
    g_assert_cmpstr(name, ==, "QEMU Virtio Tablet");
    wr(f, f->device + 0, 0x11, 1);
    wr(f, f->device + 1, 3, 1);
    g_assert_cmpuint(rd(f, f->device + 2, 1), ==, 1);
    g_assert_cmphex(rd(f, f->device + 8, 1), ==, 0x3);             /* ABS_X, ABS_Y */
    wr(f, f->device + 0, 0x12, 1);
    wr(f, f->device + 1, 0, 1);
    g_assert_cmpuint(rd(f, f->device + 2, 1), ==, 20);
    g_assert_cmphex(rd(f, f->device + 8 + 4, 4), ==, INPUT_ABS_MAX);
    wr(f, f->device + 0, 0xee, 1);                                  /* unknown: empty */
    g_assert_cmpuint(rd(f, f->device + 2, 1), ==, 0);
    wr(f, f->device + 2, 0xff, 1);                                  /* size is read-only */
    g_assert_cmpuint(rd(f, f->device + 2, 1), ==, 0);
    g_assert_false(input_is_absolute(f->m));                        /* no driver yet */
    g_assert_cmpuint(negotiate(f, 1ull << VIRTIO_F_VERSION_1), &, VIRTIO_STATUS_FEATURES_OK);
    setup_queue(f, DESC, 0xffff);
    wr(f, f->common + 0x14, rd(f, f->common + 0x14, 1) | VIRTIO_STATUS_DRIVER_OK, 1);
    g_assert_true(input_is_absolute(f->m));
    for (unsigned i = 0; i < 3; i++) {
        put_desc(f, i, BUF + 8 * i, 8, VIRTQ_DESC_F_WRITE, 0);
        offer(f, i);
    }
    kick(f);
    input_pointer(f->m, &(InputPointer){ .abs = true, .x = 0x1234, .y = 0x2345 });
    g_assert_cmpuint(used_idx(f), ==, 3);
    static const uint8_t want[24] = { 3, 0, 0, 0, 0x34, 0x12, 0, 0, 3, 0, 1, 0, 0x45, 0x23,
                                      0, 0, 0, 0, 0, 0, 0, 0, 0, 0 };
    g_assert_cmpint(memcmp(ram(f, BUF), want, 24), ==, 0);
    /* A 2-byte buffer gets 2 bytes (the used length says so), nothing beyond it. */
    memset(ram(f, BUF), 0xaa, 16);
    put_desc(f, 3, BUF, 2, VIRTQ_DESC_F_WRITE, 0);
    offer(f, 3);
    kick(f);
    input_pointer(f->m, &(InputPointer){ .abs = true, .x = 1, .y = 1 });
    g_assert_cmphex(ram(f, BUF)[2], ==, 0xaa);
    /* No buffers: events queue up to a bound, the oldest dropped. */
    for (int i = 0; i < 1000; i++)
        input_pointer(f->m, &(InputPointer){ .abs = true, .x = i, .y = i });
    /* Random configuration writes. */
    GRand *rnd = g_rand_new_with_seed(3);
    for (int i = 0; i < 2000; i++)
        wr(f, f->device + g_rand_int_range(rnd, 0, 136), g_rand_int(rnd) & 0xff, 1);
    g_rand_free(rnd);
    fx_free(f);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/virtio-pci/features", test_features);
    g_test_add_func("/virtio-pci/cfg-window", test_cfg_window);
    g_test_add_func("/virtio-pci/request-intx", test_request_intx);
    g_test_add_func("/virtio-pci/request-msix", test_request_msix);
    g_test_add_func("/virtio-pci/broken-driver", test_broken_driver);
    g_test_add_func("/virtio-blk/io", test_blk_io);
    g_test_add_func("/virtio-blk/readonly", test_blk_readonly);
    g_test_add_func("/virtio-blk/bad-props", test_blk_bad_props);
    g_test_add_func("/virtio-blk/werror-migrate", test_blk_werror_migrate);
    g_test_add_func("/virtio/input-tablet", test_input_tablet);
    return g_test_run();
}
