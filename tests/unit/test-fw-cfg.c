/* fw_cfg_io as a guest (and a hostile one) sees it: signature, ID, the sorted file
 * directory, the data port, DMA reads/skips/selects, and DMA descriptors or buffers
 * outside RAM, over MMIO, past the end of items or asking to write. */
#include "vireo/fw_cfg.h"
#include "vireo/machine.h"
#include "device-fuzz.h"
#include <string.h>

#define RAM (1u << 20)

static Device *make_fw(Machine *m, const char *opts)
{
    GError *err = NULL;
    Device *d = device_new(m, &fw_cfg_io_class);
    g_assert_true(device_set_props(d, opts, &err));
    g_assert_true(machine_add_device(m, d, &err));
    g_assert_no_error(err);
    device_reset(d);
    return d;
}

static void sel(Machine *m, uint16_t key) { as_write(m->io, 0x510, key, 2); }

static void read_data(Machine *m, void *buf, size_t n)
{
    uint64_t v;
    for (size_t i = 0; i < n; i++) {
        as_read(m->io, 0x511, &v, 1);
        ((uint8_t *)buf)[i] = v;
    }
}

/* Writes a descriptor at @desc and starts it the way SeaBIOS does (two outl). */
static uint32_t dma(Machine *m, uint64_t desc, uint32_t control, uint32_t len, uint64_t addr)
{
    uint8_t d[16];
    *(uint32_t *)d = GUINT32_TO_BE(control);
    *(uint32_t *)(d + 4) = GUINT32_TO_BE(len);
    *(uint64_t *)(d + 8) = GUINT64_TO_BE(addr);
    if (desc <= RAM - 16)
        memcpy(m->ram + desc, d, 16);
    as_write(m->io, 0x514, GUINT32_TO_BE((uint32_t)(desc >> 32)), 4);
    as_write(m->io, 0x518, GUINT32_TO_BE((uint32_t)desc), 4);
    return desc <= RAM - 16 ? GUINT32_FROM_BE(*(uint32_t *)(m->ram + desc)) : 0xdead;
}

static void test_signature_id_dir(void)
{
    Machine *m = machine_new_test(RAM);
    Device *fw = make_fw(m, NULL);
    char sig[5] = { 0 };
    uint32_t id = 0, count;
    uint64_t v = 0;
    GError *err = NULL;

    sel(m, FW_CFG_SIGNATURE);
    read_data(m, sig, 4);
    g_assert_cmpstr(sig, ==, "QEMU");
    sel(m, FW_CFG_ID);
    read_data(m, &id, 4);
    g_assert_cmphex(id, ==, FW_CFG_VERSION | FW_CFG_VERSION_DMA);
    /* The DMA register reads "QEMU CFG" in memory order at any width. */
    as_read(m->io, 0x514, &v, 4);
    g_assert_cmphex(v, ==, GUINT32_FROM_BE(0x51454d55));
    as_read(m->io, 0x518, &v, 4);
    g_assert_cmphex(v, ==, GUINT32_FROM_BE(0x20434647));

    g_assert_true(fw_cfg_add_file(fw, "etc/zz", "Z", 1, &err));
    g_assert_true(fw_cfg_add_file(fw, "bootorder", "/a\n", 4, &err));
    g_assert_true(fw_cfg_add_file(fw, "etc/e820", "0123456789", 10, &err));
    sel(m, FW_CFG_FILE_DIR);
    read_data(m, &count, 4);
    g_assert_cmpuint(GUINT32_FROM_BE(count), ==, 3);
    const char *want[] = { "bootorder", "etc/e820", "etc/zz" };
    const uint32_t sizes[] = { 4, 10, 1 };
    for (unsigned i = 0; i < 3; i++) {
        uint8_t e[64];
        read_data(m, e, 64);
        g_assert_cmpuint(GUINT32_FROM_BE(*(uint32_t *)e), ==, sizes[i]);
        g_assert_cmpuint(GUINT16_FROM_BE(*(uint16_t *)(e + 4)), ==, FW_CFG_FILE_FIRST + i);
        g_assert_cmpstr((char *)e + 8, ==, want[i]);
    }
    /* Past the end, and for selectors that name nothing: zeros. */
    read_data(m, &v, 1);
    g_assert_cmpuint(v & 0xff, ==, 0);
    uint16_t bad[] = { 0xffff, 0x7fff, FW_CFG_FILE_FIRST + 3, 0x8000 + 9, 0xc000 };
    for (unsigned i = 0; i < G_N_ELEMENTS(bad); i++) {
        uint8_t b[4] = { 1, 1, 1, 1 };
        sel(m, bad[i]);
        read_data(m, b, 4);
        g_assert_cmpuint(b[0] | b[1] | b[2] | b[3], ==, 0);
    }
    /* A replaced file keeps its slot and gets its new size. */
    g_assert_true(fw_cfg_add_file(fw, "etc/zz", "ZZZ", 3, &err));
    size_t len;
    g_assert_nonnull(fw_cfg_file(fw, "etc/zz", &len));
    g_assert_cmpuint(len, ==, 3);
    /* Too long a name, too many files: errors naming the file. */
    char longname[80];
    memset(longname, 'a', sizeof(longname) - 1);
    longname[79] = 0;
    g_assert_false(fw_cfg_add_file(fw, longname, "x", 1, &err));
    g_assert_nonnull(strstr(err->message, "aaaa"));
    g_clear_error(&err);
    for (unsigned i = 0; i < 40 && !err; i++) {
        g_autofree char *n = g_strdup_printf("opt/f%u", i);
        fw_cfg_add_file(fw, n, "x", 1, &err);
    }
    g_assert_nonnull(err);
    g_assert_nonnull(strstr(err->message, "x-file-slots"));
    g_clear_error(&err);
    machine_free(m);
}

static void test_dma(void)
{
    Machine *m = machine_new_test(RAM);
    Device *fw = make_fw(m, NULL);
    GError *err = NULL;
    uint8_t data[300];

    for (unsigned i = 0; i < sizeof(data); i++)
        data[i] = i * 7 + 1;
    g_assert_true(fw_cfg_add_file(fw, "opt/x", data, sizeof(data), &err));
    /* select + read 100 bytes, then skip 50, then read past the end (zero fill). */
    uint32_t ctl = (FW_CFG_FILE_FIRST << 16) | FW_CFG_DMA_CTL_SELECT | FW_CFG_DMA_CTL_READ;
    g_assert_cmphex(dma(m, 0x1000, ctl, 100, 0x2000), ==, 0);
    g_assert_cmpmem(m->ram + 0x2000, 100, data, 100);
    g_assert_cmphex(dma(m, 0x1000, FW_CFG_DMA_CTL_SKIP, 50, 0), ==, 0);
    memset(m->ram + 0x3000, 0xaa, 400);
    g_assert_cmphex(dma(m, 0x1000, FW_CFG_DMA_CTL_READ, 400, 0x3000), ==, 0);
    g_assert_cmpmem(m->ram + 0x3000, 150, data + 150, 150);
    for (unsigned i = 150; i < 400; i++)
        g_assert_cmpuint(m->ram[0x3000 + i], ==, 0);
    /* Neither read, write nor skip: nothing happens, control becomes 0. */
    g_assert_cmphex(dma(m, 0x1000, 0, 400, 0x3000), ==, 0);
    /* Writes: no item is writable. */
    g_assert_cmphex(dma(m, 0x1000, ctl | FW_CFG_DMA_CTL_WRITE, 4, 0x2000) &
                    FW_CFG_DMA_CTL_ERROR, ==, FW_CFG_DMA_CTL_ERROR);
    /* A buffer outside RAM, wrapping around, huge: error, no write anywhere. */
    g_assert_cmphex(dma(m, 0x1000, ctl, 16, RAM - 8), ==, FW_CFG_DMA_CTL_ERROR);
    g_assert_cmphex(dma(m, 0x1000, ctl, 16, UINT64_MAX - 4), ==, FW_CFG_DMA_CTL_ERROR);
    g_assert_cmphex(dma(m, 0x1000, ctl, 0xffffffff, 0), ==, FW_CFG_DMA_CTL_ERROR);
    /* A descriptor outside RAM is ignored (nothing to write the status to). */
    dma(m, RAM + 0x100, ctl, 16, 0x2000);
    dma(m, UINT64_MAX - 7, ctl, 16, 0x2000);
    machine_free(m);
}

static unsigned mmio_hits;
static uint64_t mmio_read(void *o, uint64_t off, unsigned size) { mmio_hits++; return 0; }
static void mmio_write(void *o, uint64_t off, uint64_t v, unsigned size) { mmio_hits++; }
static const MemOps mmio_ops = { .read = mmio_read, .write = mmio_write };

/* A DMA buffer or descriptor that overlaps an MMIO region never reaches the device. */
static void test_dma_over_mmio(void)
{
    Machine *m = machine_new_test(RAM);
    Device *fw = make_fw(m, NULL);
    MemRegion mr;
    GError *err = NULL;

    mr_init_io(&mr, "mmio", 0x1000, &mmio_ops, NULL);
    g_assert_true(as_add_region(m->sysmem, &mr, RAM, &err));
    g_assert_true(fw_cfg_add_file(fw, "opt/x", "abcdefgh", 8, &err));
    uint32_t ctl = (FW_CFG_FILE_FIRST << 16) | FW_CFG_DMA_CTL_SELECT | FW_CFG_DMA_CTL_READ;
    g_assert_cmphex(dma(m, 0x1000, ctl, 8, RAM - 4), ==, FW_CFG_DMA_CTL_ERROR);
    g_assert_cmphex(dma(m, 0x1000, ctl, 8, RAM + 8), ==, FW_CFG_DMA_CTL_ERROR);
    dma(m, RAM - 8, ctl, 8, 0x2000);
    g_assert_cmpuint(mmio_hits, ==, 0);
    as_del_region(m->sysmem, &mr);
    machine_free(m);
}

static void test_no_dma(void)
{
    Machine *m = machine_new_test(RAM);
    make_fw(m, "dma_enabled=off");
    uint32_t id;
    uint64_t v;
    sel(m, FW_CFG_ID);
    read_data(m, &id, 4);
    g_assert_cmphex(id, ==, FW_CFG_VERSION);
    g_assert_false(as_read(m->io, 0x514, &v, 4));
    machine_free(m);
}

static void test_vmstate_and_fuzz(void)
{
    Machine *m = machine_new_test(RAM);
    Device *fw = make_fw(m, NULL);
    GError *err = NULL;
    g_autoptr(GByteArray) a = g_byte_array_new(), b = g_byte_array_new();
    char c[2] = { 0 };

    g_assert_true(fw_cfg_add_file(fw, "opt/x", "abcdefgh", 8, &err));
    sel(m, FW_CFG_FILE_FIRST);
    read_data(m, c, 1);
    vmstate_save(fw->cls->vmsd, device_state(fw), a);
    device_reset(fw);
    g_assert_cmpint(vmstate_load(fw->cls->vmsd, device_state(fw), a->data, a->len, NULL),
                    ==, a->len);
    vmstate_save(fw->cls->vmsd, device_state(fw), b);
    g_assert_cmpmem(a->data, a->len, b->data, b->len);
    read_data(m, c, 1);
    g_assert_cmpint(c[0], ==, 'b');         /* the offset survived */
    fuzz_ports(m, fw, 0x510, 12, 20000);
    machine_free(m);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_log_set_always_fatal(G_LOG_FATAL_MASK | G_LOG_LEVEL_CRITICAL);   /* warnings expected */
    g_test_add_func("/fw_cfg/signature-id-dir", test_signature_id_dir);
    g_test_add_func("/fw_cfg/dma", test_dma);
    g_test_add_func("/fw_cfg/dma-over-mmio", test_dma_over_mmio);
    g_test_add_func("/fw_cfg/no-dma", test_no_dma);
    g_test_add_func("/fw_cfg/vmstate-fuzz", test_vmstate_and_fuzz);
    return g_test_run();
}
