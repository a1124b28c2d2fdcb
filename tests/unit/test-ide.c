/* piix3-ide with ide-hd and ide-cd as a driver (and a hostile one) sees them: signatures,
 * IDENTIFY, PIO and DMA reads/writes with LBA28/LBA48, ATAPI packets over PIO and DMA,
 * sense data, media change, tray lock; PRD tables outside RAM, short or unterminated;
 * out-of-range sectors and blocks; random port traffic from random migrated state. */
#include "vireo/drive.h"
#include "vireo/hotplug.h"
#include "vireo/ide.h"
#include "vireo/machine.h"
#include "vireo/pc.h"
#include "vireo/pci.h"
#include "device-fuzz.h"
#include "hw/ide/ide-internal.h"
#include "vireo/migration.h"
#include "vireo/runstate.h"
#include "qapi/qapi-generated.h"
#include <fcntl.h>
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#define RAM (4u << 20)
#define DISK_SECTORS 2048u          /* 1 MiB */
#define CD_BLOCKS 512u              /* 1 MiB */

typedef struct Fx {
    Machine *m;
    char *dir, *disk, *iso;
    Device *ctrl, *hd, *cd;
    PciDevice *pci;
    uint16_t bm;
    int irq14, irq15;
} Fx;

static void gsi(void *opaque, int n, int level)
{
    Fx *f = opaque;
    if (n == 14)
        f->irq14 = level;
    if (n == 15)
        f->irq15 = level;
}

static char *make_file(const char *dir, const char *name, size_t len, uint8_t seed)
{
    char *p = g_build_filename(dir, name, NULL);
    g_autofree uint8_t *b = g_malloc(len);
    for (size_t i = 0; i < len; i++)
        b[i] = (uint8_t)(i / 512 * 7 + i + seed);
    g_assert_true(g_file_set_contents(p, (char *)b, len, NULL));
    return p;
}

static const char *fx_hd_opts = "";     /* extra -drive options of the disk */
static const char *fx_hd_image;         /* "file=...,format=..." instead of disk.raw */

static Fx *fx_new(bool cd_medium)
{
    Fx *f = g_new0(Fx, 1);
    GError *err = NULL;
    const char *base = g_getenv("VIREO_BUILD_DIR");
    g_autofree char *tmpl = g_build_filename(base ? base : g_get_tmp_dir(), "test-ide-XXXXXX",
                                             NULL);
    f->dir = g_strdup(g_mkdtemp(tmpl));
    f->disk = make_file(f->dir, "disk.raw", DISK_SECTORS * 512, 1);
    f->iso = make_file(f->dir, "cd.iso", CD_BLOCKS * 2048, 3);
    f->m = machine_new_test(RAM);
    for (int i = 0; i < MACHINE_NUM_GSI; i++)
        f->m->gsi[i] = (IrqLine){ .handler = gsi, .opaque = f, .n = i };
    g_assert_nonnull(pci_bus_new_pc(f->m, &err));
    g_autofree char *raw = g_strdup_printf("file=%s,format=raw", f->disk);
    g_autofree char *d0 = g_strdup_printf("%s,if=none,id=d0%s", fx_hd_image ? fx_hd_image : raw,
                                          fx_hd_opts);
    g_autofree char *c0 = cd_medium
        ? g_strdup_printf("file=%s,format=raw,if=none,id=c0,media=cdrom", f->iso)
        : g_strdup("if=none,id=c0,media=cdrom");
    g_assert_true(drive_add(f->m, d0, &err));
    g_assert_true(drive_add(f->m, c0, &err));
    f->ctrl = machine_create_device(f->m, "piix3-ide", NULL, &err);
    g_assert_no_error(err);
    f->hd = machine_create_device(f->m, "ide-hd", "drive=d0,bus=ide.0,unit=0,serial=S1", &err);
    g_assert_no_error(err);
    f->cd = machine_create_device(f->m, "ide-cd", "drive=c0,bus=ide.1,unit=0", &err);
    g_assert_no_error(err);
    f->pci = (PciDevice *)f->ctrl;
    machine_reset_devices(f->m);
    g_assert_true(pci_bus_assign_bars(f->m->pci_bus));
    pci_config_write(f->pci, PCI_COMMAND, PCI_COMMAND_IO | PCI_COMMAND_MASTER, 2);
    f->bm = pci_bar_address(f->pci, 4);
    return f;
}

static void fx_free(Fx *f)
{
    pci_bus_free(f->m->pci_bus);
    machine_free(f->m);
    unlink(f->disk);
    unlink(f->iso);
    rmdir(f->dir);
    g_free(f->disk);
    g_free(f->iso);
    g_free(f->dir);
    g_free(f);
}

static uint64_t in(Fx *f, uint16_t port, unsigned size)
{
    uint64_t v = 0;
    as_read(f->m->io, port, &v, size);
    return v;
}

static void out(Fx *f, uint16_t port, uint64_t v, unsigned size)
{
    as_write(f->m->io, port, v, size);
}

/* Lets block requests complete (main loop), bounded. */
static uint8_t wait_not_busy(Fx *f, uint16_t base)
{
    uint8_t st = 0;
    for (int i = 0; i < 100000; i++) {
        st = in(f, base == 0x1f0 ? 0x3f6 : 0x376, 1);
        if (!(st & 0x80))
            return st;
        g_main_context_iteration(NULL, TRUE);
    }
    g_assert_not_reached();
    return st;
}

static void lba28(Fx *f, uint32_t lba, uint8_t count, uint8_t cmd)
{
    out(f, 0x1f6, 0xe0 | (lba >> 24), 1);
    out(f, 0x1f2, count, 1);
    out(f, 0x1f3, lba, 1);
    out(f, 0x1f4, lba >> 8, 1);
    out(f, 0x1f5, lba >> 16, 1);
    out(f, 0x1f7, cmd, 1);
}

static void read_pio(Fx *f, uint16_t base, void *buf, size_t len)
{
    for (size_t i = 0; i < len; i += 2) {
        uint16_t w = in(f, base, 2);
        memcpy((uint8_t *)buf + i, &w, 2);
    }
}

static void check_disk_data(Fx *f, const uint8_t *buf, uint64_t lba, size_t len)
{
    g_autofree char *all = NULL;
    gsize n;
    g_assert_true(g_file_get_contents(f->disk, &all, &n, NULL));
    g_assert_cmpmem(buf, len, all + lba * 512, len);
}

static void test_signatures_identify(void)
{
    Fx *f = fx_new(true);
    uint16_t id[256];

    g_assert_cmphex(in(f, 0x1f7, 1), ==, 0x50);
    out(f, 0x176, 0xa0, 1);
    g_assert_cmphex(in(f, 0x174, 1), ==, 0x14);           /* ATAPI signature */
    g_assert_cmphex(in(f, 0x175, 1), ==, 0xeb);
    out(f, 0x177, 0xec, 1);                               /* IDENTIFY on ATAPI: abort */
    g_assert_cmphex(in(f, 0x177, 1) & 0x01, ==, 1);
    g_assert_cmphex(in(f, 0x171, 1), ==, 0x04);
    out(f, 0x1f6, 0xb0, 1);                               /* absent slave: reads 0 */
    g_assert_cmphex(in(f, 0x1f7, 1), ==, 0);
    out(f, 0x1f6, 0xa0, 1);
    out(f, 0x1f7, 0xec, 1);
    g_assert_cmpint(f->irq14, ==, 1);
    g_assert_cmphex(in(f, 0x1f7, 1), ==, 0x58);           /* DRDY DSC DRQ; clears INTRQ */
    g_assert_cmpint(f->irq14, ==, 0);
    read_pio(f, 0x1f0, id, 512);
    g_assert_cmphex(in(f, 0x1f7, 1), ==, 0x50);
    g_assert_cmpuint(GUINT16_FROM_LE(id[100]), ==, DISK_SECTORS);
    g_assert_cmpuint(GUINT16_FROM_LE(id[60]), ==, DISK_SECTORS);
    g_assert_cmphex(GUINT16_FROM_LE(id[27]), ==, ('Q' << 8) | 'E');   /* "QEMU HARDDISK" */
    g_assert_cmphex(GUINT16_FROM_LE(id[10]), ==, ('S' << 8) | '1');
    out(f, 0x3f6, 0x02, 1);                               /* nIEN masks INTRQ */
    out(f, 0x1f7, 0xe5, 1);
    g_assert_cmpint(f->irq14, ==, 0);
    g_assert_cmphex(in(f, 0x1f2, 1), ==, 0xff);
    fx_free(f);
}

static void test_pio_rw(void)
{
    Fx *f = fx_new(true);
    uint8_t buf[4 * 512], wbuf[512];

    lba28(f, 5, 2, 0x20);
    wait_not_busy(f, 0x1f0);
    read_pio(f, 0x1f0, buf, 512);
    wait_not_busy(f, 0x1f0);
    read_pio(f, 0x1f0, buf + 512, 512);
    check_disk_data(f, buf, 5, 1024);
    g_assert_cmphex(in(f, 0x1f7, 1), ==, 0x50);
    g_assert_cmphex(in(f, 0x1f3, 1), ==, 7);              /* next sector, as QEMU */
    /* WRITE MULTIPLE needs SET MULTIPLE first. */
    lba28(f, 9, 1, 0xc5);
    g_assert_cmphex(in(f, 0x1f7, 1) & 0x01, ==, 1);
    out(f, 0x1f2, 3, 1);
    out(f, 0x1f7, 0xc6, 1);                               /* not a power of two */
    g_assert_cmphex(in(f, 0x1f7, 1) & 0x01, ==, 1);
    /* LBA48 WRITE SECTORS EXT of one sector at 100, then read it back. */
    memset(wbuf, 0x5a, sizeof(wbuf));
    out(f, 0x1f6, 0xe0, 1);
    out(f, 0x1f2, 0, 1);
    out(f, 0x1f2, 1, 1);
    out(f, 0x1f3, 0, 1);
    out(f, 0x1f3, 100, 1);
    out(f, 0x1f4, 0, 1);
    out(f, 0x1f4, 0, 1);
    out(f, 0x1f5, 0, 1);
    out(f, 0x1f5, 0, 1);
    out(f, 0x1f7, 0x34, 1);
    g_assert_cmphex(in(f, 0x3f6, 1) & 0x08, ==, 0x08);
    for (unsigned i = 0; i < 512; i += 4)
        out(f, 0x1f0, *(uint32_t *)(wbuf + i), 4);        /* 32-bit PIO */
    g_assert_cmphex(wait_not_busy(f, 0x1f0), ==, 0x50);
    lba28(f, 100, 1, 0x20);
    wait_not_busy(f, 0x1f0);
    read_pio(f, 0x1f0, buf, 512);
    g_assert_cmpmem(buf, 512, wbuf, 512);
    /* Out of range: abort, nothing read. */
    lba28(f, DISK_SECTORS - 1, 2, 0x20);
    g_assert_cmphex(in(f, 0x1f7, 1), ==, 0x41);
    g_assert_cmphex(in(f, 0x1f1, 1), ==, 0x04);
    /* FLUSH CACHE, VERIFY, READ NATIVE MAX. */
    out(f, 0x1f7, 0xe7, 1);
    g_assert_cmphex(wait_not_busy(f, 0x1f0), ==, 0x50);
    lba28(f, 0, 16, 0x40);
    g_assert_cmphex(in(f, 0x1f7, 1), ==, 0x50);
    out(f, 0x1f7, 0xf8, 1);
    g_assert_cmphex(in(f, 0x1f3, 1) | in(f, 0x1f4, 1) << 8, ==, DISK_SECTORS - 1);
    fx_free(f);
}

static uint64_t rd_ops(Fx *f)
{
    DriveInfo *d = f->m->drives->pdata[0];
    return blk_stats(d->blk)->rd_ops;
}

/* Reads a PIO read command's @blocks DRQ blocks of @bsize sectors (the last one
 * @last), checking each one's interrupt, and the data against the disk from @lba. */
static void read_blocks(Fx *f, uint64_t lba, unsigned blocks, unsigned bsize, unsigned last)
{
    g_autofree uint8_t *buf = g_malloc(((size_t)blocks - 1) * bsize * 512 + last * 512);
    size_t off = 0;

    for (unsigned b = 0; b < blocks; b++) {
        size_t len = (b == blocks - 1 ? last : bsize) * 512;
        g_assert_cmphex(wait_not_busy(f, 0x1f0), ==, 0x58);      /* DRDY DSC DRQ */
        g_assert_cmpint(f->irq14, ==, 1);                        /* one per block */
        g_assert_cmphex(in(f, 0x1f7, 1), ==, 0x58);              /* acknowledges it */
        g_assert_cmpint(f->irq14, ==, 0);
        read_pio(f, 0x1f0, buf + off, len);
        off += len;
    }
    g_assert_cmphex(in(f, 0x1f7, 1), ==, 0x50);
    check_disk_data(f, buf, lba, off);
}

/* A PIO read reads ahead up to 128 KiB in one block request, with the DRQ blocks,
 * interrupts and registers of a read per block; a command cut short by another one
 * moves no more of its sectors. */
static void test_pio_read_ahead(void)
{
    Fx *f = fx_new(true);
    uint64_t ops = rd_ops(f);
    uint8_t id[512];

    lba28(f, 0, 0, 0x20);                                 /* 256 sectors: 128 KiB */
    read_blocks(f, 0, 256, 1, 1);
    g_assert_cmpuint(rd_ops(f) - ops, ==, 1);
    g_assert_cmphex(in(f, 0x1f3, 1) | in(f, 0x1f4, 1) << 8, ==, 256);

    out(f, 0x1f2, 8, 1);
    out(f, 0x1f7, 0xc6, 1);                               /* SET MULTIPLE MODE 8 */
    g_assert_cmphex(in(f, 0x1f7, 1), ==, 0x50);
    ops = rd_ops(f);
    lba28(f, 30, 20, 0xc4);                               /* READ MULTIPLE: 8 + 8 + 4 */
    read_blocks(f, 30, 3, 8, 4);
    g_assert_cmpuint(rd_ops(f) - ops, ==, 1);

    ops = rd_ops(f);                                      /* READ SECTORS EXT of 300 */
    out(f, 0x1f6, 0xe0, 1);
    out(f, 0x1f2, 1, 1);
    out(f, 0x1f2, 44, 1);
    out(f, 0x1f3, 0, 1);
    out(f, 0x1f3, 200, 1);
    out(f, 0x1f4, 0, 1);
    out(f, 0x1f4, 0, 1);
    out(f, 0x1f5, 0, 1);
    out(f, 0x1f5, 0, 1);
    out(f, 0x1f7, 0x24, 1);
    read_blocks(f, 200, 300, 1, 1);
    g_assert_cmpuint(rd_ops(f) - ops, ==, 2);             /* 256 + 44 sectors */

    /* IDENTIFY while READ SECTORS has a block left: the IDENTIFY data, then done. */
    lba28(f, 40, 2, 0x20);
    g_assert_cmphex(wait_not_busy(f, 0x1f0), ==, 0x58);
    read_pio(f, 0x1f0, id, 512);
    g_assert_cmphex(wait_not_busy(f, 0x1f0), ==, 0x58);
    out(f, 0x1f7, 0xec, 1);
    read_pio(f, 0x1f0, id, 512);
    g_assert_cmphex(id[21], ==, 'S');                     /* serial=S1, word 10, swapped */
    g_assert_cmphex(id[20], ==, '1');
    g_assert_cmphex(wait_not_busy(f, 0x1f0), ==, 0x50);
    g_assert_cmphex(in(f, 0x1f0, 2), ==, 0);              /* no window open */
    fx_free(f);
}

static uint64_t wr_ops(Fx *f)
{
    DriveInfo *d = f->m->drives->pdata[0];
    return blk_stats(d->blk)->wr_ops;
}

/* Writes a PIO write command's @blocks DRQ blocks of @bsize sectors (the last one
 * @last) of a pattern made from @seed, checking each block's DRQ and interrupt (none
 * for the first block, one after each), then the completion and the disk. */
static void write_blocks(Fx *f, uint64_t lba, unsigned blocks, unsigned bsize,
                         unsigned last, uint8_t seed)
{
    size_t total = ((size_t)blocks - 1) * bsize * 512 + last * 512, off = 0;
    g_autofree uint8_t *buf = g_malloc(total);

    for (size_t i = 0; i < total; i++)
        buf[i] = (uint8_t)(i * 13 + seed + i / 512);
    for (unsigned b = 0; b < blocks; b++) {
        size_t len = (b == blocks - 1 ? last : bsize) * 512;
        g_assert_cmphex(wait_not_busy(f, 0x1f0), ==, 0x58);
        g_assert_cmpint(f->irq14, ==, b ? 1 : 0);
        g_assert_cmphex(in(f, 0x1f7, 1), ==, 0x58);
        g_assert_cmpint(f->irq14, ==, 0);
        for (size_t i = 0; i < len; i += 2)
            out(f, 0x1f0, buf[off + i] | buf[off + i + 1] << 8, 2);
        off += len;
    }
    g_assert_cmphex(wait_not_busy(f, 0x1f0), ==, 0x50);
    g_assert_cmpint(f->irq14, ==, 1);
    g_assert_cmphex(in(f, 0x1f7, 1), ==, 0x50);
    check_disk_data(f, buf, lba, total);
}

/* PIO writes write behind: the blocks of a command are gathered (up to 128 KiB) and
 * written in one block request, with the DRQ blocks, interrupts and registers of a
 * write per block. */
static void test_pio_write_behind(void)
{
    Fx *f = fx_new(true);
    uint64_t ops = wr_ops(f);

    lba28(f, 100, 0, 0x30);                               /* WRITE SECTORS of 256 */
    write_blocks(f, 100, 256, 1, 1, 1);
    g_assert_cmpuint(wr_ops(f) - ops, ==, 1);
    g_assert_cmphex(in(f, 0x1f3, 1) | in(f, 0x1f4, 1) << 8, ==, 356);

    out(f, 0x1f2, 8, 1);
    out(f, 0x1f7, 0xc6, 1);                               /* SET MULTIPLE MODE 8 */
    g_assert_cmphex(in(f, 0x1f7, 1), ==, 0x50);
    ops = wr_ops(f);
    lba28(f, 30, 20, 0xc5);                               /* WRITE MULTIPLE: 8 + 8 + 4 */
    write_blocks(f, 30, 3, 8, 4, 2);
    g_assert_cmpuint(wr_ops(f) - ops, ==, 1);
    g_assert_cmphex(in(f, 0x1f3, 1), ==, 50);

    ops = wr_ops(f);                                      /* WRITE SECTORS EXT of 300 */
    out(f, 0x1f6, 0xe0, 1);
    out(f, 0x1f2, 1, 1);
    out(f, 0x1f2, 44, 1);
    out(f, 0x1f3, 0, 1);
    out(f, 0x1f3, 0x90, 1);
    out(f, 0x1f4, 0, 1);
    out(f, 0x1f4, 1, 1);
    out(f, 0x1f5, 0, 1);
    out(f, 0x1f5, 0, 1);
    out(f, 0x1f7, 0x34, 1);
    write_blocks(f, 0x190, 300, 1, 1, 3);
    g_assert_cmpuint(wr_ops(f) - ops, ==, 2);             /* 256 + 44 sectors */

    /* A command cut short after two blocks writes nothing it gathered. */
    g_autofree char *was = NULL, *now = NULL;
    gsize n;
    g_assert_true(g_file_get_contents(f->disk, &was, &n, NULL));
    ops = wr_ops(f);
    lba28(f, 700, 3, 0x30);
    for (unsigned i = 0; i < 2 * 512; i += 2)
        out(f, 0x1f0, 0xeeee, 2);
    g_assert_cmphex(wait_not_busy(f, 0x1f0), ==, 0x58);   /* the third block's window */
    g_assert_cmphex(in(f, 0x1f3, 1) | in(f, 0x1f4, 1) << 8, ==, 702);
    out(f, 0x1f7, 0xe7, 1);                               /* FLUSH CACHE instead */
    g_assert_cmphex(wait_not_busy(f, 0x1f0), ==, 0x50);
    g_assert_cmpuint(wr_ops(f) - ops, ==, 0);
    g_assert_true(g_file_get_contents(f->disk, &now, &n, NULL));
    g_assert_cmpmem(was + 700 * 512, 3 * 512, now + 700 * 512, 3 * 512);
    fx_free(f);
}

/* A read error inside the sectors read ahead is reported where it is: the blocks before
 * it arrive, then ERR with UNC at the bad sector (a qcow2 image whose compressed
 * cluster 2, sectors 16-23, points at bytes that do not inflate). */
static void test_pio_read_ahead_error(void)
{
    const char *base = g_getenv("VIREO_BUILD_DIR");
    g_autofree char *tmpl = g_build_filename(base ? base : g_get_tmp_dir(),
                                             "test-ide-q-XXXXXX", NULL);
    g_autofree char *dir = g_strdup(g_mkdtemp(tmpl));
    g_autofree char *path = g_build_filename(dir, "bad.qcow2", NULL);
    BlockEngine *eng = block_engine_new(NULL);
    BlockOpenOptions o;
    GError *err = NULL;
    g_autofree uint8_t *data = g_malloc(DISK_SECTORS * 512);
    uint8_t hdr[48], be[8], buf[4 * 512];

    for (size_t i = 0; i < DISK_SECTORS * 512; i++)
        data[i] = (uint8_t)(i / 512 * 7 + i + 1);                   /* disk.raw's bytes */
    memset(data + 8192, 0x6b, 4096);
    g_assert_cmpint(block_create(eng, path, "qcow2", "cluster_size=4k", DISK_SECTORS * 512,
                                 &err), ==, 0);
    block_open_options_init(&o);
    BlockBackend *blk = blk_open(eng, path, &o, &err);
    g_assert_no_error(err);
    g_assert_cmpint(blk_pwrite(blk, 0, data, 8192, 0), ==, 0);
    g_assert_cmpint(blk_pwrite_compressed(blk, 8192, data + 8192, 4096), ==, 0);
    blk_close(blk);
    block_engine_free(eng);
    /* L1 -> L2 entry of cluster 2: keep it compressed, point it at the header */
    int fd = open(path, O_RDWR);
    g_assert_cmpint(fd, >=, 0);
    g_assert_cmpint(pread(fd, hdr, sizeof(hdr), 0), ==, sizeof(hdr));
    uint64_t l1 = 0, l2 = 0, e = 0;
    for (int i = 0; i < 8; i++)
        l1 = l1 << 8 | hdr[40 + i];
    g_assert_cmpint(pread(fd, be, 8, l1), ==, 8);
    for (int i = 0; i < 8; i++)
        l2 = l2 << 8 | be[i];
    l2 &= 0x00fffffffffffe00ull;
    g_assert_cmpint(pread(fd, be, 8, l2 + 2 * 8), ==, 8);
    for (int i = 0; i < 8; i++)
        e = e << 8 | be[i];
    g_assert_cmphex(e >> 62, ==, 1);                      /* compressed */
    e &= ~((1ull << 58) - 1);                             /* host offset 0 */
    for (int i = 0; i < 8; i++)
        be[i] = e >> (56 - 8 * i);
    g_assert_cmpint(pwrite(fd, be, 8, l2 + 2 * 8), ==, 8);
    close(fd);

    g_autofree char *img = g_strdup_printf("file=%s,format=qcow2", path);
    fx_hd_image = img;
    Fx *f = fx_new(true);
    fx_hd_image = NULL;
    lba28(f, 12, 8, 0x20);                                /* sectors 12-19 */
    for (unsigned b = 0; b < 4; b++) {                    /* 12-15 are good */
        g_assert_cmphex(wait_not_busy(f, 0x1f0), ==, 0x58);
        read_pio(f, 0x1f0, buf + b * 512, 512);
    }
    g_assert_cmpmem(buf, sizeof(buf), data + 12 * 512, sizeof(buf));
    g_assert_cmphex(wait_not_busy(f, 0x1f0), ==, 0x41);  /* 16: DRDY ERR */
    g_assert_cmphex(in(f, 0x1f1, 1), ==, 0x44);           /* UNC, ABRT */
    g_assert_cmphex(in(f, 0x1f3, 1), ==, 16);
    fx_free(f);
    unlink(path);
    rmdir(dir);
}

/* PRD table at @table: entries { addr, len (0 = 64K), eot }. */
static void prd(Fx *f, uint32_t table, const uint32_t (*e)[3], unsigned n)
{
    for (unsigned i = 0; i < n; i++) {
        uint32_t w[2] = { GUINT32_TO_LE(e[i][0]),
                          GUINT32_TO_LE((e[i][1] & 0xffff) | (e[i][2] ? 0x80000000u : 0)) };
        memcpy(f->m->ram + table + 8 * i, w, 8);
    }
    out(f, f->bm + 4, table, 4);
}

static uint8_t dma_cmd(Fx *f, uint32_t lba, uint8_t count, uint8_t cmd, bool to_mem)
{
    out(f, f->bm + 2, 0x06, 1);                           /* clear INT, ERR */
    lba28(f, lba, count, cmd);
    out(f, f->bm, 0x01 | (to_mem ? 0x08 : 0), 1);
    wait_not_busy(f, 0x1f0);
    out(f, f->bm, to_mem ? 0x08 : 0, 1);
    return in(f, f->bm + 2, 1);
}

static void test_dma(void)
{
    Fx *f = fx_new(true);

    /* Two entries, the second with EOT: 8 sectors read into RAM. */
    const uint32_t ok[][3] = { { 0x10000, 2048, 0 }, { 0x20000, 2048, 1 } };
    prd(f, 0x1000, ok, 2);
    g_assert_cmphex(dma_cmd(f, 10, 8, 0xc8, true) & 0x07, ==, 0x04);   /* INT, !ACTIVE */
    g_assert_cmphex(in(f, 0x1f7, 1), ==, 0x50);
    check_disk_data(f, f->m->ram + 0x10000, 10, 2048);
    check_disk_data(f, f->m->ram + 0x20000, 14, 2048);
    /* WRITE DMA from RAM, read back by PIO. */
    memset(f->m->ram + 0x30000, 0xa7, 512);
    const uint32_t w[][3] = { { 0x30000, 512, 1 } };
    prd(f, 0x1000, w, 1);
    g_assert_cmphex(dma_cmd(f, 50, 1, 0xca, false) & 0x07, ==, 0x04);
    uint8_t buf[512];
    lba28(f, 50, 1, 0x20);
    wait_not_busy(f, 0x1f0);
    read_pio(f, 0x1f0, buf, 512);
    g_assert_cmpmem(buf, 512, f->m->ram + 0x30000, 512);
    /* A PRD that describes more than the command: fine. */
    const uint32_t more[][3] = { { 0x10000, 0, 1 } };
    prd(f, 0x1000, more, 1);
    g_assert_cmphex(dma_cmd(f, 0, 1, 0xc8, true) & 0x07, ==, 0x04);
    /* Hostile tables: outside RAM, into the top of RAM, too short, no EOT at all, the
     * table itself outside RAM: a DMA error and an aborted command, no write anywhere. */
    const uint32_t outside[][3] = { { RAM + 0x1000, 512, 1 } };
    const uint32_t straddle[][3] = { { RAM - 256, 512, 1 } };
    const uint32_t shorty[][3] = { { 0x10000, 512, 1 } };
    const uint32_t *cases[] = { outside[0], straddle[0], shorty[0] };
    for (unsigned i = 0; i < 3; i++) {
        prd(f, 0x1000, (const uint32_t (*)[3])cases[i], 1);
        g_assert_cmphex(dma_cmd(f, 0, 4, 0xc8, true) & 0x07, ==, 0x06);
        g_assert_cmphex(in(f, 0x1f7, 1), ==, 0x41);
    }
    for (unsigned i = 0; i < 600; i++) {                  /* 600 entries of 2 bytes, no EOT */
        uint32_t e[2] = { GUINT32_TO_LE(0x40000 + 2 * i), GUINT32_TO_LE(2) };
        memcpy(f->m->ram + 0x2000 + 8 * i, e, 8);
    }
    out(f, f->bm + 4, 0x2000, 4);
    g_assert_cmphex(dma_cmd(f, 0, 8, 0xc8, true) & 0x07, ==, 0x06);
    out(f, f->bm + 4, RAM - 4, 4);
    g_assert_cmphex(dma_cmd(f, 0, 1, 0xc8, true) & 0x07, ==, 0x06);
    fx_free(f);
}

/* Sends a 12-byte packet on the secondary channel; returns the status after it. */
static uint8_t packet(Fx *f, const uint8_t *pkt, uint16_t bcl, bool dma)
{
    out(f, 0x176, 0xa0, 1);
    out(f, 0x171, dma, 1);
    out(f, 0x174, bcl, 1);
    out(f, 0x175, bcl >> 8, 1);
    out(f, 0x177, 0xa0, 1);
    g_assert_cmphex(in(f, 0x172, 1) & 3, ==, 1);          /* C/D: waiting for the packet */
    for (unsigned i = 0; i < 12; i += 2)
        out(f, 0x170, pkt[i] | pkt[i + 1] << 8, 2);
    return wait_not_busy(f, 0x170);
}

/* Reads the whole PIO reply of the command in progress. */
static size_t reply(Fx *f, uint8_t *buf, size_t max)
{
    size_t n = 0;
    for (int blocks = 0; blocks < 10000; blocks++) {
        uint8_t st = wait_not_busy(f, 0x170);
        if (!(st & 0x08))
            return n;
        size_t len = in(f, 0x174, 1) | in(f, 0x175, 1) << 8;
        g_assert_cmpuint(n + len, <=, max);
        read_pio(f, 0x170, buf + n, len);
        n += len;
    }
    g_assert_not_reached();
}

static uint8_t sense(Fx *f, uint8_t *asc)
{
    const uint8_t rs[12] = { 0x03, 0, 0, 0, 18 };
    uint8_t b[18];
    packet(f, rs, 18, false);
    g_assert_cmpuint(reply(f, b, sizeof(b)), ==, 18);
    *asc = b[12];
    return b[2];
}

static void test_atapi(void)
{
    Fx *f = fx_new(true);
    uint8_t b[8192], asc;
    g_autofree char *iso = NULL;
    gsize n;

    g_assert_true(g_file_get_contents(f->iso, &iso, &n, NULL));
    const uint8_t inq[12] = { 0x12, 0, 0, 0, 36 };
    packet(f, inq, 0xffff, false);
    g_assert_cmpuint(reply(f, b, sizeof(b)), ==, 36);
    g_assert_cmpuint(b[0], ==, 5);
    g_assert_cmpmem(b + 16, 12, "QEMU DVD-ROM", 12);
    const uint8_t cap[12] = { 0x25 };
    packet(f, cap, 8, false);
    g_assert_cmpuint(reply(f, b, sizeof(b)), ==, 8);
    g_assert_cmpuint(b[2] << 8 | b[3], ==, CD_BLOCKS - 1);
    /* READ(10) of 3 blocks with a 2048-byte limit: three DRQ blocks. */
    const uint8_t rd[12] = { 0x28, 0, 0, 0, 0, 7, 0, 0, 3 };
    packet(f, rd, 2048, false);
    g_assert_cmpuint(reply(f, b, sizeof(b)), ==, 6144);
    g_assert_cmpmem(b, 6144, iso + 7 * 2048, 6144);
    /* An odd byte count limit is rounded down to even. */
    packet(f, rd, 1001, false);
    g_assert_cmpuint(in(f, 0x174, 1) | in(f, 0x175, 1) << 8, ==, 1000);
    out(f, 0x376, 0x04, 1);                               /* soft reset ends it */
    out(f, 0x376, 0x00, 1);
    g_assert_cmphex(in(f, 0x175, 1), ==, 0xeb);
    /* Absurd LBAs and lengths, unknown opcodes: sense data. */
    const uint8_t far[12] = { 0x28, 0, 0xff, 0xff, 0xff, 0xff, 0, 0xff, 0xff };
    g_assert_cmphex(packet(f, far, 2048, false) & 0x01, ==, 1);
    g_assert_cmpuint(sense(f, &asc), ==, 5);
    g_assert_cmphex(asc, ==, 0x21);
    const uint8_t big12[12] = { 0xa8, 0, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff };
    g_assert_cmphex(packet(f, big12, 2048, false) & 0x01, ==, 1);
    const uint8_t bad[12] = { 0xee };
    g_assert_cmphex(packet(f, bad, 2048, false) & 0x01, ==, 1);
    g_assert_cmpuint(sense(f, &asc), ==, 5);
    g_assert_cmphex(asc, ==, 0x20);
    const uint8_t toc[12] = { 0x43, 0, 0, 0, 0, 0, 0, 0xff, 0xff };
    packet(f, toc, 0, false);
    g_assert_cmpuint(reply(f, b, sizeof(b)), ==, 20);
    g_assert_cmphex(b[14], ==, 0xaa);
    const uint8_t ms[12] = { 0x5a, 0, 0x3f, 0, 0, 0, 0, 0xff, 0xff };
    packet(f, ms, 0xffff, false);
    g_assert_cmpuint(reply(f, b, sizeof(b)), ==, 36);
    const uint8_t cfg[12] = { 0x46, 0, 0, 0, 0, 0, 0, 0x10, 0 };
    packet(f, cfg, 0xffff, false);
    g_assert_cmpuint(reply(f, b, sizeof(b)), ==, 40);
    g_assert_cmphex(b[7], ==, 0x08);                      /* current profile: CD-ROM */
    /* Locked tray: eject refused, then allowed. */
    const uint8_t lock[12] = { 0x1e, 0, 0, 0, 1 }, eject[12] = { 0x1b, 0, 0, 0, 2 };
    packet(f, lock, 0, false);
    g_assert_cmphex(packet(f, eject, 0, false) & 0x01, ==, 1);
    g_assert_cmpuint(sense(f, &asc), ==, 2);
    g_assert_cmphex(asc, ==, 0x53);
    g_assert_false(ide_cd_open_tray(f->cd, false, NULL));
    const uint8_t unlock[12] = { 0x1e };
    packet(f, unlock, 0, false);
    g_assert_cmphex(packet(f, eject, 0, false) & 0x01, ==, 0);
    g_assert_true(ide_cd_tray_open(f->cd));
    const uint8_t tur[12] = { 0 };
    g_assert_cmphex(packet(f, tur, 0, false) & 0x01, ==, 1);
    g_assert_cmpuint(sense(f, &asc), ==, 2);
    g_assert_cmphex(asc, ==, 0x3a);
    /* Medium change: UNIT ATTENTION once, then a new-media event. */
    ide_cd_close_tray(f->cd);
    g_assert_cmphex(packet(f, tur, 0, false) & 0x01, ==, 1);
    g_assert_cmpuint(sense(f, &asc), ==, 6);
    g_assert_cmphex(packet(f, tur, 0, false) & 0x01, ==, 0);
    const uint8_t gesn[12] = { 0x4a, 1, 0, 0, 0x10, 0, 0, 0, 8 };
    packet(f, gesn, 8, false);
    g_assert_cmpuint(reply(f, b, sizeof(b)), ==, 8);
    g_assert_cmphex(b[4], ==, 2);
    g_assert_cmphex(b[5], ==, 2);
    /* READ over DMA into RAM. */
    const uint32_t e[][3] = { { 0x50000, 4096, 1 } };
    prd(f, 0x1000, e, 1);
    out(f, f->bm + 8 + 4, 0x1000, 4);
    const uint8_t rd2[12] = { 0x28, 0, 0, 0, 0, 20, 0, 0, 2 };
    out(f, f->bm + 8, 0x09, 1);
    g_assert_cmphex(packet(f, rd2, 0, true) & 0x01, ==, 0);
    g_assert_cmphex(in(f, f->bm + 10, 1) & 0x07, ==, 0x04);
    g_assert_cmpmem(f->m->ram + 0x50000, 4096, iso + 20 * 2048, 4096);
    fx_free(f);
}

static void test_empty_cd(void)
{
    Fx *f = fx_new(false);
    uint8_t asc;
    const uint8_t cap[12] = { 0x25 }, rd[12] = { 0x28, 0, 0, 0, 0, 0, 0, 0, 1 };
    g_assert_cmphex(packet(f, cap, 8, false) & 0x01, ==, 1);
    g_assert_cmpuint(sense(f, &asc), ==, 2);
    g_assert_cmphex(asc, ==, 0x3a);
    g_assert_cmphex(packet(f, rd, 8, false) & 0x01, ==, 1);
    fx_free(f);
}

static void test_vmstate_fuzz(void)
{
    Fx *f = fx_new(true);
    Device *devs[] = { f->ctrl, f->hd, f->cd };
    for (unsigned i = 0; i < 3; i++) {
        g_autoptr(GByteArray) a = g_byte_array_new(), b = g_byte_array_new();
        const VMStateDesc *d = devs[i]->cls->vmsd;
        vmstate_save(d, device_state(devs[i]), a);
        device_reset(devs[i]);
        g_assert_cmpint(vmstate_load(d, device_state(devs[i]), a->data, a->len, NULL), ==,
                        a->len);
        vmstate_save(d, device_state(devs[i]), b);
        g_assert_cmpmem(a->data, a->len, b->data, b->len);
    }
    fuzz_ports(f->m, f->hd, 0x1f0, 8, 4000);
    fuzz_ports(f->m, f->cd, 0x170, 8, 4000);
    fuzz_ports(f->m, f->ctrl, f->bm, 16, 4000);
    GRand *r = g_rand_new_with_seed(7);
    for (int i = 0; i < 20000; i++) {                     /* word/dword data port traffic */
        uint16_t port = g_rand_boolean(r) ? 0x1f0 : 0x170;
        if (g_rand_int_range(r, 0, 16) == 0)
            out(f, port + 7, g_rand_int_range(r, 0, 256), 1);
        else if (g_rand_boolean(r))
            in(f, port, g_rand_boolean(r) ? 2 : 4);
        else
            out(f, port, g_rand_int(r), g_rand_boolean(r) ? 2 : 4);
        if (i % 256 == 0)
            g_main_context_iteration(NULL, FALSE);
    }
    g_rand_free(r);
    for (int i = 0; i < 1000; i++)
        g_main_context_iteration(NULL, FALSE);
    fx_free(f);
}

/* ---- migration in the middle of commands ---------------------------------------------- */

/* The controller's and both drives' state from @from into @to (another machine with
 * identical images), as a migration does once block requests are drained. */
static void migrate_ide(Fx *from, Fx *to)
{
    Device *src[] = { from->ctrl, from->hd, from->cd }, *dst[] = { to->ctrl, to->hd, to->cd };
    for (unsigned i = 0; i < 3; i++) {
        g_autoptr(GByteArray) b = g_byte_array_new();
        GError *err = NULL;
        device_state_save(src[i], b);
        g_assert_true(device_state_load(dst[i], b->data, b->len, &err));
        g_assert_no_error(err);
    }
}

/* A PIO READ SECTORS half way through its first sector, an ATAPI PACKET waiting for its
 * packet, and an ATAPI READ(10) half way through a DRQ block: the destination goes on
 * where the source stopped and the guest reads the right data. Then hostile values of
 * the PIO windows are refused by the validators, naming the section. */
static void test_migrate_inflight(void)
{
    Fx *a = fx_new(true), *b = fx_new(true);
    uint8_t x[4 * 512], y[4 * 512], cd[3 * 2048];
    g_autofree char *iso = NULL;
    gsize n;
    g_assert_true(g_file_get_contents(a->iso, &iso, &n, NULL));

    lba28(a, 10, 4, 0x20);                                /* READ SECTORS */
    g_assert_cmphex(wait_not_busy(a, 0x1f0) & 0x08, ==, 0x08);
    read_pio(a, 0x1f0, x, 300);
    memcpy(y, x, 300);
    migrate_ide(a, b);
    for (size_t off = 300; off < sizeof(x); off += 2) {     /* the rest, on both */
        if (off % 512 == 0) {
            wait_not_busy(a, 0x1f0);
            wait_not_busy(b, 0x1f0);
        }
        read_pio(a, 0x1f0, x + off, 2);
        read_pio(b, 0x1f0, y + off, 2);
    }
    check_disk_data(a, x, 10, sizeof(x));
    check_disk_data(b, y, 10, sizeof(y));
    g_assert_cmphex(wait_not_busy(b, 0x1f0) & 0x89, ==, 0);   /* done: no DRQ, no ERR */

    /* ATAPI: PACKET issued, the 12 bytes not written yet. */
    const uint8_t rd[12] = { 0x28, 0, 0, 0, 0, 7, 0, 0, 3 };
    out(a, 0x176, 0xa0, 1);
    out(a, 0x171, 0, 1);
    out(a, 0x174, 0x00, 1);
    out(a, 0x175, 0x08, 1);                               /* byte count limit 2048 */
    out(a, 0x177, 0xa0, 1);
    g_assert_cmphex(in(a, 0x172, 1) & 3, ==, 1);
    migrate_ide(a, b);
    g_assert_cmphex(in(b, 0x172, 1) & 3, ==, 1);          /* C/D: waiting for the packet */
    for (unsigned i = 0; i < 12; i += 2)
        out(b, 0x170, rd[i] | rd[i + 1] << 8, 2);
    g_assert_cmpuint(reply(b, cd, sizeof(cd)), ==, sizeof(cd));
    g_assert_cmpmem(cd, sizeof(cd), iso + 7 * 2048, sizeof(cd));

    /* ATAPI READ(10): 1000 bytes of the first 2048-byte DRQ block read on the source. */
    memset(cd, 0, sizeof(cd));
    packet(a, rd, 2048, false);
    g_assert_cmpuint(in(a, 0x174, 1) | in(a, 0x175, 1) << 8, ==, 2048);
    read_pio(a, 0x170, cd, 1000);
    migrate_ide(a, b);
    read_pio(b, 0x170, cd + 1000, 1048);
    g_assert_cmpuint(reply(b, cd + 2048, sizeof(cd) - 2048), ==, sizeof(cd) - 2048);
    g_assert_cmpmem(cd, sizeof(cd), iso + 7 * 2048, sizeof(cd));

    /* Hostile: a PIO window past the buffer. */
    g_autoptr(GByteArray) bad = g_byte_array_new();
    IdeDriveState *ds = device_state(b->hd), keep = *ds;
    ds->data_end = IDE_BUF_SIZE + 1;
    vmstate_save(b->hd->cls->vmsd, ds, bad);
    *ds = keep;
    GError *err = NULL;
    g_assert_cmpint(vmstate_load(b->hd->cls->vmsd, ds, bad->data, bad->len, &err), <, 0);
    g_assert_nonnull(strstr(err->message, "ide_drive"));
    g_clear_error(&err);
    fx_free(a);
    fx_free(b);
}

/* werror=: a real write error (EFBIG past RLIMIT_FSIZE) reported, ignored, or stopping
 * the VM with BLOCK_IO_ERROR and retried when it runs again; a reset meanwhile drops
 * the retry. */
static struct { int n; bool is_read; int action, error; char device[16]; } ioerr;

static void on_io_error(Machine *m, const char *device, const char *node, bool is_read,
                        int action, bool iostatus, int error)
{
    ioerr.n++;
    ioerr.is_read = is_read;
    ioerr.action = action;
    ioerr.error = error;
    g_strlcpy(ioerr.device, device, sizeof(ioerr.device));
}

static void set_fsize_limit(rlim_t lim)
{
    struct rlimit r;
    g_assert_cmpint(getrlimit(RLIMIT_FSIZE, &r), ==, 0);
    r.rlim_cur = lim == RLIM_INFINITY ? r.rlim_max : lim;
    g_assert_cmpint(setrlimit(RLIMIT_FSIZE, &r), ==, 0);
}

/* WRITE SECTORS of one sector of @fill at @lba; returns once the request ended (or
 * produced an error event). */
static void pio_write1(Fx *f, uint32_t lba, uint8_t fill)
{
    int before = ioerr.n;
    lba28(f, lba, 1, 0x30);
    for (unsigned i = 0; i < 512; i += 2)
        out(f, 0x1f0, fill | fill << 8, 2);
    for (int i = 0; i < 100000 && ioerr.n == before && (in(f, 0x3f6, 1) & 0x80); i++)
        g_main_context_iteration(NULL, TRUE);
}

static bool disk_sector_is(Fx *f, uint32_t lba, uint8_t fill)
{
    g_autofree char *all = NULL;
    gsize n;
    g_assert_true(g_file_get_contents(f->disk, &all, &n, NULL));
    for (unsigned i = 0; i < 512; i++)
        if ((uint8_t)all[lba * 512 + i] != fill)
            return false;
    return true;
}

static Fx *werror_fx(const char *opts)
{
    fx_hd_opts = opts;
    Fx *f = fx_new(true);
    fx_hd_opts = "";
    f->m->block_io_error = on_io_error;
    memset(&ioerr, 0, sizeof(ioerr));
    return f;
}

static void test_werror(void)
{
    const uint32_t lba = 1500;                      /* byte 768000: past the limit */
    DriveInfo *d;
    Fx *f;

    signal(SIGXFSZ, SIG_IGN);
    /* default (enospc): EFBIG is reported as an aborted command */
    f = werror_fx("");
    set_fsize_limit(512 * 1024);
    pio_write1(f, lba, 0x11);
    set_fsize_limit(RLIM_INFINITY);
    g_assert_cmpint(wait_not_busy(f, 0x1f0), ==, 0x41);
    g_assert_cmphex(in(f, 0x1f1, 1), ==, 0x04);
    g_assert_cmpint(ioerr.n, ==, 1);
    g_assert_cmpint(ioerr.action, ==, 1 /* report */);
    g_assert_false(ioerr.is_read);
    g_assert_cmpint(ioerr.error, ==, EFBIG);
    g_assert_cmpstr(ioerr.device, ==, "d0");
    g_assert_cmpint(g_atomic_int_get(&f->m->run.stop_req), ==, 0);
    /* four blocks written behind fail as one request: ERR after the last block, the
     * registers at the request's first sector */
    set_fsize_limit(512 * 1024);
    lba28(f, lba, 4, 0x30);
    for (unsigned b = 0; b < 4; b++) {
        g_assert_cmphex(wait_not_busy(f, 0x1f0), ==, 0x58);
        for (unsigned i = 0; i < 512; i += 2)
            out(f, 0x1f0, 0x5555, 2);
    }
    g_assert_cmpint(wait_not_busy(f, 0x1f0), ==, 0x41);
    set_fsize_limit(RLIM_INFINITY);
    g_assert_cmphex(in(f, 0x1f1, 1), ==, 0x04);
    g_assert_cmphex(in(f, 0x1f3, 1) | in(f, 0x1f4, 1) << 8, ==, lba);
    g_assert_cmpint(ioerr.n, ==, 2);
    fx_free(f);
    /* ignore: the command completes as if written */
    f = werror_fx(",werror=ignore");
    set_fsize_limit(512 * 1024);
    pio_write1(f, lba, 0x22);
    set_fsize_limit(RLIM_INFINITY);
    g_assert_cmpint(wait_not_busy(f, 0x1f0), ==, 0x50);
    g_assert_cmpint(ioerr.action, ==, 0 /* ignore */);
    g_assert_false(disk_sector_is(f, lba, 0x22));
    fx_free(f);
    /* stop: BSY stays, the VM is asked to stop in io-error, cont writes it */
    f = werror_fx(",werror=stop");
    d = f->m->drives->pdata[0];
    set_fsize_limit(512 * 1024);
    pio_write1(f, lba, 0x33);
    set_fsize_limit(RLIM_INFINITY);
    g_assert_cmpint(ioerr.n, ==, 1);
    g_assert_cmpint(ioerr.action, ==, 2 /* stop */);
    g_assert_cmphex(in(f, 0x3f6, 1) & 0x80, ==, 0x80);
    g_assert_cmpint(g_atomic_int_get(&f->m->run.stop_req), ==, RUN_STATE_IO_ERROR + 1);
    g_assert_true(blk_iostatus_is_enabled(d->blk));
    g_assert_cmpint(blk_iostatus(d->blk), ==, BLOCK_IOSTATUS_FAILED);
    g_assert_false(disk_sector_is(f, lba, 0x33));
    drives_iostatus_reset(f->m);                    /* what QMP cont does first */
    g_assert_true(vm_start(f->m));
    g_assert_cmpint(wait_not_busy(f, 0x1f0), ==, 0x50);
    g_assert_true(disk_sector_is(f, lba, 0x33));
    g_assert_cmpint(blk_iostatus(d->blk), ==, BLOCK_IOSTATUS_OK);
    g_assert_cmpint(ioerr.n, ==, 1);
    /* stop, then a machine reset before cont: nothing is retried */
    vm_stop(f->m, RUN_STATE_PAUSED);
    set_fsize_limit(512 * 1024);
    pio_write1(f, lba + 1, 0x44);
    set_fsize_limit(RLIM_INFINITY);
    g_assert_cmpint(ioerr.n, ==, 2);
    machine_reset_devices(f->m);
    g_assert_true(vm_start(f->m));
    for (int i = 0; i < 100; i++)
        g_main_context_iteration(NULL, FALSE);
    g_assert_false(disk_sector_is(f, lba + 1, 0x44));
    g_assert_cmphex(in(f, 0x1f7, 1) & 0x80, ==, 0);
    fx_free(f);
}

/* A VM stopped by werror=stop holds the failed request for its retry on cont. That
 * request is not part of the device state, so migration and savevm refuse (naming the
 * drive) while it waits, instead of leaving it unanswered on the destination; the VM
 * stays stopped with the request intact, cont still retries it, and then the VM can
 * migrate. A reset drops the request and allows migration too. */
static void test_werror_migrate(void)
{
    const uint32_t lba = 1500;
    GError *err = NULL;
    Fx *f;
    int null_fd = open("/dev/null", O_WRONLY);
    g_assert_cmpint(null_fd, >=, 0);

    signal(SIGXFSZ, SIG_IGN);
    f = werror_fx(",werror=stop");
    g_assert_true(vm_start(f->m));
    set_fsize_limit(512 * 1024);
    pio_write1(f, lba, 0x55);
    set_fsize_limit(RLIM_INFINITY);
    g_assert_cmpint(ioerr.action, ==, 2 /* stop */);
    g_assert_cmpint(g_atomic_int_get(&f->m->run.stop_req), ==, RUN_STATE_IO_ERROR + 1);
    vm_stop(f->m, RUN_STATE_IO_ERROR);              /* what the main loop does with it */

    qmp_migrate(f->m, "exec:cat >/dev/null", false, false, false, false, false, false,
                false, false, &err);
    g_assert_nonnull(err);
    g_assert_nonnull(strstr(err->message, "Migration refused"));
    g_assert_nonnull(strstr(err->message, "drive 'd0'"));
    g_assert_nonnull(strstr(err->message, "cont"));
    g_clear_error(&err);
    g_assert_null(f->m->migration);                 /* refused before anything started */
    g_assert_false(migration_save_fd(f->m, null_fd, &err));
    g_assert_nonnull(err);
    g_assert_nonnull(strstr(err->message, "drive 'd0'"));
    g_clear_error(&err);
    /* Nothing was lost: still io-error, BSY, not written; cont writes it. */
    g_assert_cmpint(runstate_get(f->m), ==, RUN_STATE_IO_ERROR);
    g_assert_cmphex(in(f, 0x3f6, 1) & 0x80, ==, 0x80);
    g_assert_false(disk_sector_is(f, lba, 0x55));
    drives_iostatus_reset(f->m);
    g_assert_true(vm_start(f->m));
    g_assert_cmpint(wait_not_busy(f, 0x1f0), ==, 0x50);
    g_assert_true(disk_sector_is(f, lba, 0x55));
    vm_stop(f->m, RUN_STATE_PAUSED);
    g_assert_true(drives_check_no_retry(f->m, "Migration", &err));
    g_assert_true(migration_save_fd(f->m, null_fd, &err));
    g_assert_no_error(err);

    /* Stopped again on an error, then reset: the request is dropped, migration allowed. */
    g_assert_true(vm_start(f->m));
    set_fsize_limit(512 * 1024);
    pio_write1(f, lba + 1, 0x66);
    set_fsize_limit(RLIM_INFINITY);
    vm_stop(f->m, RUN_STATE_IO_ERROR);
    g_assert_false(drives_check_no_retry(f->m, "Migration", &err));
    g_clear_error(&err);
    machine_reset_devices(f->m);
    g_assert_true(drives_check_no_retry(f->m, "Migration", &err));
    g_assert_no_error(err);
    fx_free(f);
    close(null_fd);
}

/* DATA SET MANAGEMENT (TRIM) by DMA: @n 8-byte entries at RAM 0x50000, count blocks. */
static uint8_t trim(Fx *f, const uint64_t *e, unsigned n, uint16_t blocks, uint8_t feature)
{
    memset(f->m->ram + 0x50000, 0, 512 * 4);
    for (unsigned i = 0; i < n; i++) {
        uint64_t le = GUINT64_TO_LE(e[i]);
        memcpy(f->m->ram + 0x50000 + 8 * i, &le, 8);
    }
    const uint32_t t[][3] = { { 0x50000, (uint32_t)blocks * 512, 1 } };
    prd(f, 0x1000, t, 1);
    out(f, f->bm + 2, 0x06, 1);
    out(f, 0x1f6, 0xe0, 1);
    out(f, 0x1f1, 0, 1);
    out(f, 0x1f1, feature, 1);
    out(f, 0x1f2, blocks >> 8, 1);
    out(f, 0x1f2, blocks, 1);
    out(f, 0x1f7, 0x06, 1);
    out(f, f->bm, 0x01, 1);
    wait_not_busy(f, 0x1f0);
    out(f, f->bm, 0, 1);
    return in(f, f->bm + 2, 1);
}

#define RANGE(lba, n) ((uint64_t)(lba) | (uint64_t)(n) << 48)

static void test_trim(void)
{
    uint8_t buf[512];
    const uint64_t two[] = { RANGE(8, 8), 0, RANGE(100, 1) };
    /* discard=ignore (the default): TRIM succeeds, the data stays */
    Fx *f = fx_new(true);
    out(f, 0x1f7, 0xec, 1);
    wait_not_busy(f, 0x1f0);
    read_pio(f, 0x1f0, buf, 512);
    g_assert_cmphex(buf[169 * 2] & 1, ==, 1);              /* TRIM supported */
    g_assert_cmphex(trim(f, two, 3, 1, 1) & 0x07, ==, 0x04);
    g_assert_cmphex(in(f, 0x1f7, 1), ==, 0x50);
    g_assert_false(disk_sector_is(f, 8, 0));
    fx_free(f);
    /* discard=unmap: the ranges read as zeroes, the rest is untouched */
    fx_hd_opts = ",discard=unmap";
    f = fx_new(true);
    fx_hd_opts = "";
    g_assert_cmphex(trim(f, two, 3, 1, 1) & 0x07, ==, 0x04);
    g_assert_cmphex(in(f, 0x1f7, 1), ==, 0x50);
    for (unsigned s = 8; s < 16; s++)
        g_assert_true(disk_sector_is(f, s, 0));
    g_assert_true(disk_sector_is(f, 100, 0));
    g_assert_false(disk_sector_is(f, 7, 0));
    g_assert_false(disk_sector_is(f, 16, 0));
    g_assert_false(disk_sector_is(f, 101, 0));
    /* hostile: a range past the end, a range whose end wraps, no TRIM bit, more blocks
     * than the PIO buffer, a PRD shorter than the blocks: aborted, nothing discarded */
    const uint64_t past[] = { RANGE(DISK_SECTORS - 1, 2) };
    const uint64_t wrap[] = { RANGE(0xffffffffffffull, 0xffff) };
    const uint64_t ok[] = { RANGE(200, 1) };
    g_assert_cmphex(trim(f, past, 1, 1, 1) & 0x07, ==, 0x06);
    g_assert_cmphex(in(f, 0x1f7, 1), ==, 0x41);
    g_assert_cmphex(trim(f, wrap, 1, 1, 1) & 0x07, ==, 0x06);
    g_assert_cmphex(trim(f, ok, 1, 1, 0) & 0x01, ==, 0);    /* aborted before any DMA */
    g_assert_cmphex(in(f, 0x1f7, 1), ==, 0x41);
    g_assert_cmphex(trim(f, ok, 1, 0, 1) & 0x07, ==, 0x06); /* 0 = 65536 blocks */
    g_assert_cmphex(trim(f, ok, 1, 300, 1) & 0x07, ==, 0x06);
    g_assert_false(disk_sector_is(f, 200, 0));
    fx_free(f);
}

/* bootindex= on IDE devices: the disk's path in bootorder, its index held against other
 * devices (a NIC) while it exists, and freed with its path when it is removed (a -device
 * removed before the guest runs). */
static void test_bootindex(void)
{
    Fx *f = fx_new(false);
    GError *err = NULL;
    size_t len;
    g_autofree char *disk1 = make_file(f->dir, "disk1.raw", 512 * 64, 5);
    g_autofree char *d1 = g_strdup_printf("file=%s,format=raw,if=none,id=d1", disk1);

    g_assert_true(drive_add(f->m, d1, &err));
    g_assert_nonnull(machine_create_device(f->m, "ide-hd", "drive=d1,bus=ide.0,unit=1,"
                                           "bootindex=1,id=h1", &err));
    g_assert_no_error(err);
    g_autofree char *s = pc_firmware_bootorder(f->m, &len);
    g_assert_cmpstr(s, ==, "/pci@i0cf8/ide@1,1/drive@0/disk@1");
    g_assert_null(machine_create_device(f->m, "e1000", "bootindex=1,romfile=", &err));
    g_assert_cmpstr(err->message, ==, "The bootindex 1 has already been used");
    g_clear_error(&err);
    machine_remove_device(f->m, machine_find_device(f->m, "h1"));
    g_autofree char *s2 = pc_firmware_bootorder(f->m, &len);
    g_assert_cmpstr(s2, ==, "");
    g_assert_nonnull(machine_create_device(f->m, "e1000", "bootindex=1,romfile=", &err));
    g_assert_no_error(err);
    unlink(disk1);
    fx_free(f);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_log_set_always_fatal(G_LOG_FATAL_MASK | G_LOG_LEVEL_CRITICAL);   /* warnings expected */
    g_test_add_func("/ide/signatures-identify", test_signatures_identify);
    g_test_add_func("/ide/pio-rw", test_pio_rw);
    g_test_add_func("/ide/pio-read-ahead", test_pio_read_ahead);
    g_test_add_func("/ide/pio-read-ahead-error", test_pio_read_ahead_error);
    g_test_add_func("/ide/pio-write-behind", test_pio_write_behind);
    g_test_add_func("/ide/dma", test_dma);
    g_test_add_func("/ide/atapi", test_atapi);
    g_test_add_func("/ide/empty-cd", test_empty_cd);
    g_test_add_func("/ide/vmstate-fuzz", test_vmstate_fuzz);
    g_test_add_func("/ide/migrate-inflight", test_migrate_inflight);
    g_test_add_func("/ide/werror", test_werror);
    g_test_add_func("/ide/werror-migrate", test_werror_migrate);
    g_test_add_func("/ide/trim", test_trim);
    g_test_add_func("/ide/bootindex", test_bootindex);
    return g_test_run();
}
