/*
 * PCI: config mechanism #1 widths, header masks, BAR sizing and mapping, command
 * register decode enables, INTx sharing, MSI and MSI-X delivery, slot allocation,
 * firmware-style BAR assignment, the 0xcf9 reset register, migration state.
 */
#include <string.h>
#include <unistd.h>
#include "vireo/pc.h"
#include "vireo/machine.h"
#include "vireo/pci.h"

#define RAM_SIZE    (16 << 20)
#define WIN         0xc0000000u

typedef struct Msg { uint64_t addr; uint32_t data; } Msg;

typedef struct Fx {
    Machine *m;
    int level[MACHINE_NUM_GSI];
    int raises[MACHINE_NUM_GSI];
    GArray *msgs;
    int resets;
} Fx;

/* ---- a test device: BAR0 mem32 4K (registers), BAR1 I/O 32, BAR2 mem64 1M,
 * BAR4 MSI-X (or MSI-X inside BAR0 with msix-shared=on), MSI with 4 vectors ---- */
typedef struct TestDev {
    PciDevice pci;
    bool msix_shared;
    uint32_t reg[16];
} TestDev;

static uint64_t td_read(void *opaque, uint64_t off, unsigned size)
{
    TestDev *s = opaque;
    return off < sizeof(s->reg) ? s->reg[off / 4] : 0xdead;
}

static void td_write(void *opaque, uint64_t off, uint64_t val, unsigned size)
{
    TestDev *s = opaque;
    if (off < sizeof(s->reg))
        s->reg[off / 4] = val;
}

static const MemOps td_ops = { .read = td_read, .write = td_write,
                               .min_access = 4, .max_access = 4 };

static const PciDeviceInfo td_info = {
    .vendor_id = 0x1af4, .device_id = 0x10ff, .revision = 1,
    .class_code = 0xff0000, .irq_pin = 1,
};

static const Property td_props[] = {
    PROP("msix-shared", PROP_BOOL, TestDev, msix_shared, "off", "MSI-X in BAR0"),
    PROP_END
};

static bool td_realize(Device *dev, GError **errp)
{
    TestDev *s = (TestDev *)dev;
    PciDevice *d = &s->pci;

    if (!pci_device_realize(d, &td_info, errp))
        return false;
    g_assert_cmpint(pci_register_bar(d, 0, PCI_BAR_MEM32, 0x1000, &td_ops, s), ==, 0);
    g_assert_cmpint(pci_register_bar(d, 1, PCI_BAR_IO, 0x20, &td_ops, s), ==, 0);
    g_assert_cmpint(pci_register_bar(d, 2, PCI_BAR_MEM64 | PCI_BAR_PREFETCH, 0x100000,
                                     &td_ops, s), ==, 0);
    if (s->msix_shared)
        g_assert_cmpint(pci_msix_init(d, 4, 0, 0x800, 0, 0xc00), >, 0);
    else
        g_assert_cmpint(pci_msix_init_exclusive_bar(d, 4, 4), >, 0);
    g_assert_cmpint(pci_msi_init(d, 0, 4, true, true), >, 0);
    return true;
}

static void td_reset(Device *dev) { pci_device_reset(&((TestDev *)dev)->pci); }
static void td_unrealize(Device *dev) { pci_device_unrealize(&((TestDev *)dev)->pci); }

static const DeviceClass td_class = {
    .name = "test-pci", .bus = BUS_PCI, .instance_size = sizeof(TestDev),
    .props = td_props, .user_creatable = true, .realize = td_realize,
    .reset = td_reset, .unrealize = td_unrealize,
};

/* ---- fixture ---- */

static void gsi_handler(void *opaque, int n, int level)
{
    Fx *fx = opaque;
    if (level && !fx->level[n])
        fx->raises[n]++;
    fx->level[n] = level;
}

static void msi_handler(void *opaque, uint64_t addr, uint32_t data)
{
    Msg msg = { addr, data };
    g_array_append_val(((Fx *)opaque)->msgs, msg);
}

static void reset_hook(void *opaque, ShutdownCause cause)
{
    g_assert_cmpint(cause, ==, SHUTDOWN_CAUSE_GUEST_RESET);
    ((Fx *)opaque)->resets++;
}

static Fx *fx_new(void)
{
    Fx *fx = g_new0(Fx, 1);
    GError *err = NULL;

    fx->m = machine_new_test(RAM_SIZE);
    fx->msgs = g_array_new(false, false, sizeof(Msg));
    for (int i = 0; i < MACHINE_NUM_GSI; i++)
        fx->m->gsi[i] = (IrqLine){ .handler = gsi_handler, .opaque = fx, .n = i };
    fx->m->msi = (MsiSink){ .send = msi_handler, .opaque = fx };
    g_assert_nonnull(pci_bus_new_pc(fx->m, &err));
    g_assert_no_error(err);
    piix3_set_reset_hook(pci_bus_get_device(fx->m->pci_bus, PCI_DEVFN(1, 0)), reset_hook, fx);
    return fx;
}

static void fx_free(Fx *fx)
{
    pci_bus_free(fx->m->pci_bus);
    machine_free(fx->m);
    g_array_free(fx->msgs, true);
    g_free(fx);
}

static TestDev *try_add_dev(Fx *fx, const char *opts, GError **errp)
{
    Device *d = device_new(fx->m, &td_class);

    if (!device_set_props(d, opts, errp)) {
        device_free(d);
        return NULL;
    }
    return machine_add_device(fx->m, d, errp) ? (TestDev *)d : NULL;
}

static TestDev *add_dev(Fx *fx, const char *opts)
{
    GError *err = NULL;
    TestDev *d = try_add_dev(fx, opts, &err);

    g_assert_no_error(err);
    return d;
}

static void cfg_select(Fx *fx, unsigned devfn, unsigned reg)
{
    as_write(fx->m->io, 0xcf8, 0x80000000u | devfn << 8 | (reg & 0xfc), 4);
}

static uint32_t cfg_read(Fx *fx, unsigned devfn, unsigned reg, unsigned size)
{
    uint64_t v;
    cfg_select(fx, devfn, reg);
    as_read(fx->m->io, 0xcfc + (reg & 3), &v, size);
    return v;
}

static void cfg_write(Fx *fx, unsigned devfn, unsigned reg, uint32_t val, unsigned size)
{
    cfg_select(fx, devfn, reg);
    as_write(fx->m->io, 0xcfc + (reg & 3), val, size);
}

static uint64_t mem_read(Fx *fx, uint64_t addr, unsigned size)
{
    uint64_t v;
    as_read(fx->m->sysmem, addr, &v, size);
    return v;
}

/* ---- tests ---- */

static void test_host_ids(void)
{
    Fx *fx = fx_new();
    uint64_t v;

    g_assert_cmphex(cfg_read(fx, PCI_DEVFN(0, 0), 0, 4), ==, 0x12378086);
    g_assert_cmphex(cfg_read(fx, PCI_DEVFN(0, 0), 8, 4), ==, 0x06000002);
    g_assert_cmphex(cfg_read(fx, PCI_DEVFN(1, 0), 0, 4), ==, 0x70008086);
    g_assert_cmphex(cfg_read(fx, PCI_DEVFN(1, 0), 0x0a, 2), ==, 0x0601);
    g_assert_cmphex(cfg_read(fx, PCI_DEVFN(1, 0), PCI_HEADER_TYPE, 1), ==, 0x80);
    g_assert_cmphex(cfg_read(fx, PCI_DEVFN(0, 0), PCI_HEADER_TYPE, 1), ==, 0x00);
    /* Empty slot, another bus, enable bit clear: all ones. */
    g_assert_cmphex(cfg_read(fx, PCI_DEVFN(5, 0), 0, 4), ==, 0xffffffff);
    as_write(fx->m->io, 0xcf8, 0x80010000u, 4);
    as_read(fx->m->io, 0xcfc, &v, 4);
    g_assert_cmphex(v, ==, 0xffffffff);
    as_write(fx->m->io, 0xcf8, 0x00000000u, 4);
    as_read(fx->m->io, 0xcfc, &v, 2);
    g_assert_cmphex(v, ==, 0xffff);
    fx_free(fx);
}

static void test_cf8_widths(void)
{
    Fx *fx = fx_new();
    uint64_t v;

    as_write(fx->m->io, 0xcf8, 0x80000000u, 4);
    as_read(fx->m->io, 0xcf8, &v, 4);
    g_assert_cmphex(v, ==, 0x80000000u);
    /* Non-dword accesses to 0xcf8..0xcfb leave the address register alone. */
    as_write(fx->m->io, 0xcfb, 0x01, 1);
    as_write(fx->m->io, 0xcf8, 0x1234, 2);
    as_read(fx->m->io, 0xcf8, &v, 4);
    g_assert_cmphex(v, ==, 0x80000000u);
    /* Byte and word reads at every offset inside the data port. */
    as_read(fx->m->io, 0xcfc, &v, 1);
    g_assert_cmphex(v, ==, 0x86);
    as_read(fx->m->io, 0xcfd, &v, 1);
    g_assert_cmphex(v, ==, 0x80);
    as_read(fx->m->io, 0xcfe, &v, 2);
    g_assert_cmphex(v, ==, 0x1237);
    as_read(fx->m->io, 0xcff, &v, 1);
    g_assert_cmphex(v, ==, 0x12);
    /* Byte write at 0xcfd = latency timer when register 0x0c is selected. */
    cfg_select(fx, PCI_DEVFN(0, 0), 0x0c);
    as_write(fx->m->io, 0xcfd, 0x40, 1);
    g_assert_cmphex(cfg_read(fx, PCI_DEVFN(0, 0), 0x0c, 4) & 0xff00, ==, 0x4000);
    /* Word write at 0xcfe: the i440FX PAM registers at 0x5a/0x5b. */
    cfg_write(fx, PCI_DEVFN(0, 0), 0x5a, 0x3311, 2);
    g_assert_cmphex(cfg_read(fx, PCI_DEVFN(0, 0), 0x5a, 2), ==, 0x3311);
    g_assert_cmphex(cfg_read(fx, PCI_DEVFN(0, 0), 0x5b, 1), ==, 0x33);
    fx_free(fx);
}

static void test_reset_register(void)
{
    Fx *fx = fx_new();
    uint64_t v;

    as_write(fx->m->io, 0xcf9, 0x02, 1);
    g_assert_cmpint(fx->resets, ==, 0);
    as_read(fx->m->io, 0xcf9, &v, 1);
    g_assert_cmphex(v, ==, 0x02);
    as_write(fx->m->io, 0xcf9, 0x06, 1);        /* the FADT's RESET_VALUE */
    g_assert_cmpint(fx->resets, ==, 1);
    /* The address register next to it still works. */
    as_write(fx->m->io, 0xcf8, 0x80000800u, 4);
    as_read(fx->m->io, 0xcfc, &v, 4);
    g_assert_cmphex(v, ==, 0x70008086);
    fx_free(fx);
}

static void test_config_masks(void)
{
    Fx *fx = fx_new();
    TestDev *t = add_dev(fx, "addr=03.0");
    unsigned df = PCI_DEVFN(3, 0);

    g_assert_cmphex(cfg_read(fx, df, 0, 4), ==, 0x10ff1af4);
    cfg_write(fx, df, 0, 0xffffffff, 4);                    /* IDs are read-only */
    g_assert_cmphex(cfg_read(fx, df, 0, 4), ==, 0x10ff1af4);
    cfg_write(fx, df, PCI_COMMAND, 0xffff, 2);
    g_assert_cmphex(cfg_read(fx, df, PCI_COMMAND, 2), ==, 0x0547);
    cfg_write(fx, df, PCI_COMMAND, 0, 2);
    /* Status: capability list bit read-only, error bits write-1-to-clear. */
    g_assert_cmphex(cfg_read(fx, df, PCI_STATUS, 2), ==, PCI_STATUS_CAP_LIST);
    pci_set_word(&t->pci, PCI_STATUS, PCI_STATUS_CAP_LIST | 0x8100);
    cfg_write(fx, df, PCI_STATUS, 0x0000, 2);
    g_assert_cmphex(cfg_read(fx, df, PCI_STATUS, 2), ==, PCI_STATUS_CAP_LIST | 0x8100);
    cfg_write(fx, df, PCI_STATUS, 0x8010, 2);
    g_assert_cmphex(cfg_read(fx, df, PCI_STATUS, 2), ==, PCI_STATUS_CAP_LIST | 0x0100);
    /* Interrupt line writable, pin not. */
    cfg_write(fx, df, PCI_INTERRUPT_LINE, 0x0b0b, 2);
    g_assert_cmphex(cfg_read(fx, df, PCI_INTERRUPT_LINE, 2), ==, 0x010b);
    /* Unimplemented BAR 5 and the ROM BAR read 0 even after all-ones. */
    cfg_write(fx, df, 0x24, 0xffffffff, 4);
    cfg_write(fx, df, PCI_ROM_ADDRESS, 0xffffffff, 4);
    g_assert_cmphex(cfg_read(fx, df, 0x24, 4), ==, 0);
    g_assert_cmphex(cfg_read(fx, df, PCI_ROM_ADDRESS, 4), ==, 0);
    /* The capability list: MSI and MSI-X both reachable. */
    g_assert_cmpuint(pci_find_capability(&t->pci, PCI_CAP_ID_MSI), !=, 0);
    g_assert_cmpuint(pci_find_capability(&t->pci, PCI_CAP_ID_MSIX), !=, 0);
    g_assert_cmpuint(pci_find_capability(&t->pci, PCI_CAP_ID_EXP), ==, 0);
    fx_free(fx);
}

static void test_bar_sizing(void)
{
    Fx *fx = fx_new();
    unsigned df = PCI_DEVFN(3, 0);

    add_dev(fx, "addr=3");
    for (unsigned reg = 0x10; reg < 0x28; reg += 4)
        cfg_write(fx, df, reg, 0xffffffff, 4);
    g_assert_cmphex(cfg_read(fx, df, 0x10, 4), ==, 0xfffff000);       /* 4K mem32 */
    g_assert_cmphex(cfg_read(fx, df, 0x14, 4), ==, 0xffffffe1);       /* 32 bytes I/O */
    g_assert_cmphex(cfg_read(fx, df, 0x18, 4), ==, 0xfff0000c);       /* 1M mem64 pf */
    g_assert_cmphex(cfg_read(fx, df, 0x1c, 4), ==, 0xffffffff);
    g_assert_cmphex(cfg_read(fx, df, 0x20, 4), ==, 0xfffff000);       /* MSI-X 4K */
    g_assert_cmphex(cfg_read(fx, df, 0x24, 4), ==, 0);
    fx_free(fx);
}

static void test_bar_mapping(void)
{
    Fx *fx = fx_new();
    TestDev *t = add_dev(fx, "addr=3");
    unsigned df = PCI_DEVFN(3, 0);
    uint64_t v;

    t->reg[1] = 0x55aa55aa;
    cfg_write(fx, df, 0x10, WIN + 0x1000, 4);
    cfg_write(fx, df, 0x14, 0xc040, 4);
    g_assert_cmphex(pci_bar_address(&t->pci, 0), ==, PCI_BAR_UNMAPPED);  /* decode off */
    g_assert_false(as_read(fx->m->sysmem, WIN + 0x1004, &v, 4));
    cfg_write(fx, df, PCI_COMMAND, PCI_COMMAND_MEMORY, 2);
    g_assert_cmphex(pci_bar_address(&t->pci, 0), ==, WIN + 0x1000);
    g_assert_cmphex(mem_read(fx, WIN + 0x1004, 4), ==, 0x55aa55aa);
    g_assert_cmphex(pci_bar_address(&t->pci, 1), ==, PCI_BAR_UNMAPPED);  /* I/O off */
    cfg_write(fx, df, PCI_COMMAND, PCI_COMMAND_MEMORY | PCI_COMMAND_IO, 2);
    g_assert_true(as_read(fx->m->io, 0xc044, &v, 4));
    g_assert_cmphex(v, ==, 0x55aa55aa);
    /* Moving unmaps the old range. */
    cfg_write(fx, df, 0x10, WIN + 0x3000, 4);
    g_assert_false(as_read(fx->m->sysmem, WIN + 0x1004, &v, 4));
    g_assert_cmphex(mem_read(fx, WIN + 0x3004, 4), ==, 0x55aa55aa);
    /* Sizing pattern and 0 do not decode. */
    cfg_write(fx, df, 0x10, 0xffffffff, 4);
    g_assert_cmphex(pci_bar_address(&t->pci, 0), ==, PCI_BAR_UNMAPPED);
    cfg_write(fx, df, 0x10, 0, 4);
    g_assert_cmphex(pci_bar_address(&t->pci, 0), ==, PCI_BAR_UNMAPPED);
    /* Over guest RAM: refused, logged, no crash; RAM still intact. */
    cfg_write(fx, df, 0x10, 0x2000, 4);
    g_assert_cmphex(pci_bar_address(&t->pci, 0), ==, PCI_BAR_UNMAPPED);
    g_assert_true(as_ram_ptr(fx->m->sysmem, 0x2000, 0x1000) != NULL);
    /* 64-bit BAR above 4 GiB. */
    cfg_write(fx, df, 0x18, 0x00000000, 4);
    cfg_write(fx, df, 0x1c, 0x00000010, 4);
    g_assert_cmphex(pci_bar_address(&t->pci, 2), ==, 0x1000000000ull);
    g_assert_cmphex(mem_read(fx, 0x1000000004ull, 4), ==, 0x55aa55aa);
    /* Disabling memory decode unmaps everything of that kind. */
    cfg_write(fx, df, PCI_COMMAND, PCI_COMMAND_IO, 2);
    g_assert_cmphex(pci_bar_address(&t->pci, 2), ==, PCI_BAR_UNMAPPED);
    g_assert_true(as_read(fx->m->io, 0xc044, &v, 4));
    /* Device reset: BARs back to 0, nothing decodes. */
    device_reset(DEVICE(t));
    g_assert_cmphex(pci_bar_address(&t->pci, 1), ==, PCI_BAR_UNMAPPED);
    g_assert_cmphex(cfg_read(fx, df, 0x14, 4), ==, 0x1);
    fx_free(fx);
}

static void test_bar_swap(void)
{
    Fx *fx = fx_new();
    TestDev *a = add_dev(fx, "addr=3"), *b = add_dev(fx, "addr=4");

    cfg_write(fx, PCI_DEVFN(3, 0), 0x10, WIN, 4);
    cfg_write(fx, PCI_DEVFN(4, 0), 0x10, WIN + 0x1000, 4);
    cfg_write(fx, PCI_DEVFN(3, 0), PCI_COMMAND, PCI_COMMAND_MEMORY, 2);
    cfg_write(fx, PCI_DEVFN(4, 0), PCI_COMMAND, PCI_COMMAND_MEMORY, 2);
    /* a moves onto b: refused while b is there, taken once b leaves. */
    cfg_write(fx, PCI_DEVFN(3, 0), 0x10, WIN + 0x1000, 4);
    g_assert_cmphex(pci_bar_address(&a->pci, 0), ==, PCI_BAR_UNMAPPED);
    cfg_write(fx, PCI_DEVFN(4, 0), 0x10, WIN, 4);
    g_assert_cmphex(pci_bar_address(&a->pci, 0), ==, WIN + 0x1000);
    g_assert_cmphex(pci_bar_address(&b->pci, 0), ==, WIN);
    fx_free(fx);
}

static void test_intx_sharing(void)
{
    Fx *fx = fx_new();
    TestDev *a = add_dev(fx, "addr=3"), *b = add_dev(fx, "addr=7"), *c = add_dev(fx, "addr=4");
    int gsi = pci_pc_intx_to_gsi(PCI_DEVFN(3, 0), 1);

    g_assert_cmpint(gsi, ==, 19);                     /* 16 + ((3 + 0) & 3) */
    g_assert_cmpint(pci_pc_intx_to_gsi(PCI_DEVFN(7, 0), 1), ==, 19);
    g_assert_cmpint(pci_pc_intx_to_gsi(PCI_DEVFN(4, 0), 1), ==, 16);
    g_assert_cmpint(pci_pc_intx_to_gsi(PCI_DEVFN(4, 0), 4), ==, 19);
    pci_set_irq(&a->pci, 1);
    g_assert_cmpint(fx->level[19], ==, 1);
    pci_set_irq(&b->pci, 1);
    pci_set_irq(&a->pci, 0);
    g_assert_cmpint(fx->level[19], ==, 1);            /* b still holds it */
    g_assert_cmpint(fx->raises[19], ==, 1);
    pci_set_irq(&c->pci, 1);
    g_assert_cmpint(fx->level[16], ==, 1);
    pci_set_irq(&b->pci, 0);
    g_assert_cmpint(fx->level[19], ==, 0);
    /* INTx Disable masks the pin; the status bit still shows it. */
    cfg_write(fx, PCI_DEVFN(4, 0), PCI_COMMAND, PCI_COMMAND_INTX_DISABLE, 2);
    g_assert_cmpint(fx->level[16], ==, 0);
    g_assert_cmphex(cfg_read(fx, PCI_DEVFN(4, 0), PCI_STATUS, 2) & PCI_STATUS_INTERRUPT,
                    ==, PCI_STATUS_INTERRUPT);
    cfg_write(fx, PCI_DEVFN(4, 0), PCI_COMMAND, 0, 2);
    g_assert_cmpint(fx->level[16], ==, 1);
    /* Unplugging a device drops its share. */
    device_free(DEVICE(c));
    g_ptr_array_remove(fx->m->devices, c);
    g_assert_cmpint(fx->level[16], ==, 0);
    g_assert_null(pci_bus_get_device(fx->m->pci_bus, PCI_DEVFN(4, 0)));
    fx_free(fx);
}

static void test_msi(void)
{
    Fx *fx = fx_new();
    TestDev *t = add_dev(fx, "addr=3");
    unsigned df = PCI_DEVFN(3, 0), cap = pci_find_capability(&t->pci, PCI_CAP_ID_MSI);

    /* 64-bit, maskable, 4 vectors capable. */
    g_assert_cmphex(cfg_read(fx, df, cap + 2, 2), ==, 0x0184);
    cfg_write(fx, df, cap + 4, 0xfee01000, 4);
    cfg_write(fx, df, cap + 8, 0, 4);
    cfg_write(fx, df, cap + 12, 0x4040, 2);
    pci_msi_notify(&t->pci, 0);
    g_assert_cmpuint(fx->msgs->len, ==, 0);               /* not enabled */
    cfg_write(fx, df, cap + 2, 0x0021, 2);                 /* enable, 4 vectors */
    g_assert_true(pci_msi_enabled(&t->pci));
    pci_msi_notify(&t->pci, 2);
    g_assert_cmpuint(fx->msgs->len, ==, 0);               /* no bus master yet */
    cfg_write(fx, df, PCI_COMMAND, PCI_COMMAND_MASTER, 2);
    pci_msi_notify(&t->pci, 2);
    g_assert_cmpuint(fx->msgs->len, ==, 1);
    g_assert_cmphex(g_array_index(fx->msgs, Msg, 0).addr, ==, 0xfee01000);
    g_assert_cmphex(g_array_index(fx->msgs, Msg, 0).data, ==, 0x4042);
    /* Masked vector 1: pending bit, delivered on unmask. */
    cfg_write(fx, df, cap + 0x10, 0x2, 4);
    pci_msi_notify(&t->pci, 1);
    g_assert_cmpuint(fx->msgs->len, ==, 1);
    g_assert_cmphex(cfg_read(fx, df, cap + 0x14, 4), ==, 0x2);
    cfg_write(fx, df, cap + 0x14, 0, 4);                   /* pending is read-only */
    g_assert_cmphex(cfg_read(fx, df, cap + 0x14, 4), ==, 0x2);
    cfg_write(fx, df, cap + 0x10, 0, 4);
    g_assert_cmpuint(fx->msgs->len, ==, 2);
    g_assert_cmphex(g_array_index(fx->msgs, Msg, 1).data, ==, 0x4041);
    g_assert_cmphex(cfg_read(fx, df, cap + 0x14, 4), ==, 0);
    /* Vectors beyond what was enabled are dropped. */
    cfg_write(fx, df, cap + 2, 0x0001, 2);                 /* 1 vector */
    pci_msi_notify(&t->pci, 3);
    g_assert_cmpuint(fx->msgs->len, ==, 2);
    device_reset(DEVICE(t));
    g_assert_false(pci_msi_enabled(&t->pci));
    g_assert_cmphex(cfg_read(fx, df, cap + 4, 4), ==, 0);
    fx_free(fx);
}

/* MSI-X through the guest's view: table and PBA in BAR4 (or BAR0 when shared). */
static void check_msix(const char *opts, int bar, uint64_t table, uint64_t pba)
{
    Fx *fx = fx_new();
    TestDev *t = add_dev(fx, opts);
    unsigned df = PCI_DEVFN(3, 0), cap = pci_find_capability(&t->pci, PCI_CAP_ID_MSIX);
    uint64_t base = WIN + 0x10000;

    g_assert_cmphex(cfg_read(fx, df, cap + 2, 2), ==, 3);          /* 4 entries */
    g_assert_cmphex(cfg_read(fx, df, cap + 4, 4), ==, table | bar);
    g_assert_cmphex(cfg_read(fx, df, cap + 8, 4), ==, pba | bar);
    cfg_write(fx, df, 0x10 + 4 * bar, base, 4);
    cfg_write(fx, df, PCI_COMMAND, PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER, 2);
    /* Entries start masked. */
    g_assert_cmphex(mem_read(fx, base + table + 16 + 12, 4), ==, 1);
    as_write(fx->m->sysmem, base + table + 16, 0xfee00000, 4);
    as_write(fx->m->sysmem, base + table + 16 + 4, 0, 4);
    as_write(fx->m->sysmem, base + table + 16 + 8, 0x31, 4);
    cfg_write(fx, df, cap + 2, 0x8000, 2);                          /* enable */
    pci_msix_notify(&t->pci, 1);
    g_assert_cmpuint(fx->msgs->len, ==, 0);
    g_assert_cmphex(mem_read(fx, base + pba, 8), ==, 0x2);
    as_write(fx->m->sysmem, base + pba, 0, 8);                      /* PBA read-only */
    g_assert_cmphex(mem_read(fx, base + pba, 8), ==, 0x2);
    as_write(fx->m->sysmem, base + table + 16 + 12, 0, 4);          /* unmask */
    g_assert_cmpuint(fx->msgs->len, ==, 1);
    g_assert_cmphex(g_array_index(fx->msgs, Msg, 0).addr, ==, 0xfee00000);
    g_assert_cmphex(g_array_index(fx->msgs, Msg, 0).data, ==, 0x31);
    g_assert_cmphex(mem_read(fx, base + pba, 8), ==, 0);
    /* Function mask holds messages back until cleared. */
    cfg_write(fx, df, cap + 2, 0xc000, 2);
    pci_msix_notify(&t->pci, 1);
    g_assert_cmpuint(fx->msgs->len, ==, 1);
    g_assert_true(pci_msix_is_masked(&t->pci, 1));
    cfg_write(fx, df, cap + 2, 0x8000, 2);
    g_assert_cmpuint(fx->msgs->len, ==, 2);
    /* Out of range vectors and table offsets are harmless. */
    pci_msix_notify(&t->pci, 40);
    as_write(fx->m->sysmem, base + table + 4 * 16, 0x1234, 4);
    g_assert_cmpuint(fx->msgs->len, ==, 2);
    fx_free(fx);
}

static void test_msix_exclusive(void) { check_msix("addr=3", 4, 0, 0x800); }

static void test_msix_shared(void)
{
    Fx *fx = fx_new();
    TestDev *t = add_dev(fx, "addr=3,msix-shared=on");

    /* The device's own registers in the same BAR still reach it. */
    t->reg[2] = 0x77;
    cfg_write(fx, PCI_DEVFN(3, 0), 0x10, WIN, 4);
    cfg_write(fx, PCI_DEVFN(3, 0), PCI_COMMAND, PCI_COMMAND_MEMORY, 2);
    g_assert_cmphex(mem_read(fx, WIN + 8, 4), ==, 0x77);
    fx_free(fx);
    check_msix("addr=3,msix-shared=on", 0, 0x800, 0xc00);
}

static void test_slots(void)
{
    Fx *fx = fx_new();
    GError *err = NULL;
    TestDev *t;

    t = add_dev(fx, NULL);                          /* first free slot: 2 */
    g_assert_cmpuint(t->pci.devfn, ==, PCI_DEVFN(2, 0));
    t = add_dev(fx, "addr=0x3,id=net0");
    g_assert_cmpuint(t->pci.devfn, ==, PCI_DEVFN(3, 0));
    g_assert_null(try_add_dev(fx, "addr=03.0", &err));
    g_assert_cmpstr(err->message, ==,
                    "-device test-pci: PCI slot 3 function 0 is in use by test-pci (id 'net0')");
    g_clear_error(&err);
    g_assert_null(try_add_dev(fx, "addr=3.1", &err));     /* 03.0 is single-function */
    g_assert_nonnull(strstr(err->message, "single-function"));
    g_clear_error(&err);
    g_assert_null(try_add_dev(fx, "addr=0.0", &err));
    g_assert_nonnull(strstr(err->message, "in use by i440FX"));
    g_clear_error(&err);
    for (const char *bad = "zz\0" "20\0" "3.8\0" "3.\0" "\0"; *bad; bad += strlen(bad) + 1) {
        g_autofree char *o = g_strdup_printf("addr=%s", bad);
        g_assert_null(try_add_dev(fx, o, &err));
        g_assert_nonnull(strstr(err->message, "doesn't take value"));
        g_clear_error(&err);
    }
    /* Multi-function: PIIX3 at 01.0 is, so 01.1 works; then 05.0 with multifunction. */
    t = add_dev(fx, "addr=1.1");
    g_assert_cmpuint(t->pci.devfn, ==, PCI_DEVFN(1, 1));
    add_dev(fx, "addr=5.0,multifunction=on");
    t = add_dev(fx, "addr=5.3");
    g_assert_cmphex(cfg_read(fx, PCI_DEVFN(5, 0), PCI_HEADER_TYPE, 1), ==, 0x80);
    g_assert_cmphex(cfg_read(fx, PCI_DEVFN(5, 3), 0, 4), ==, 0x10ff1af4);
    add_dev(fx, "addr=6.2");
    g_assert_null(try_add_dev(fx, "addr=6.0", &err));    /* 6.2 needs a multi f0 */
    g_assert_nonnull(strstr(err->message, "multifunction=on"));
    g_clear_error(&err);
    fx_free(fx);
}

static void test_no_bus(void)
{
    Machine *m = machine_new_test(RAM_SIZE);
    Device *d = device_new(m, &td_class);
    GError *err = NULL;

    g_assert_false(machine_add_device(m, d, &err));
    g_assert_cmpstr(err->message, ==, "No 'PCI' bus found for device 'test-pci'");
    g_clear_error(&err);
    machine_free(m);
}

static void test_assign_bars(void)
{
    Fx *fx = fx_new();
    TestDev *a = add_dev(fx, "addr=3"), *b = add_dev(fx, "addr=4");
    PciWindows w;

    pci_bus_get_windows(fx->m->pci_bus, &w);
    g_assert_cmphex(w.mem32_base, ==, 0xc0000000);
    g_assert_cmphex(w.mem32_base + w.mem32_size, ==, 0xfec00000);
    g_assert_cmphex(w.mem64_base, ==, 0x100000000ull);
    g_assert_true(pci_bus_assign_bars(fx->m->pci_bus));
    for (TestDev *t = a; t; t = t == a ? b : NULL) {
        for (int i = 0; i < PCI_NUM_BARS; i++) {
            PciBar *bar = &t->pci.bars[i];
            bool io = bar->flags & PCI_BAR_IO;
            if (!bar->size)
                continue;
            g_assert_cmphex(bar->addr, !=, PCI_BAR_UNMAPPED);
            g_assert_cmphex(bar->addr & (bar->size - 1), ==, 0);
            g_assert_cmphex(bar->addr, >=, io ? w.io_base : w.mem32_base);
            g_assert_cmphex(bar->addr + bar->size, <=, io ? w.io_base + w.io_size
                                                          : w.mem32_base + w.mem32_size);
        }
        g_assert_cmphex(pci_get_word(&t->pci, PCI_COMMAND) & 3, ==, 3);
    }
    g_assert_cmpuint(pci_get_byte(&a->pci, PCI_INTERRUPT_LINE), ==, 19);
    g_assert_cmpuint(pci_get_byte(&b->pci, PCI_INTERRUPT_LINE), ==, 16);
    /* The guest sees what it would see after firmware. */
    a->reg[0] = 0xabc;
    g_assert_cmphex(mem_read(fx, a->pci.bars[0].addr, 4), ==, 0xabc);
    /* A 32-bit window too small: 64-bit BARs move above 4 GiB. */
    w.mem32_size = 0x4000;
    pci_bus_set_windows(fx->m->pci_bus, &w);
    machine_reset_devices(fx->m);
    g_assert_true(pci_bus_assign_bars(fx->m->pci_bus));
    g_assert_cmphex(a->pci.bars[2].addr, >=, w.mem64_base);
    g_assert_cmphex(b->pci.bars[2].addr, >=, w.mem64_base);
    g_assert_cmphex(a->pci.bars[0].addr, <, w.mem32_base + w.mem32_size);
    /* Nothing fits: reported, not fatal. */
    w.mem32_size = 0x1000;
    w.mem64_size = 0;
    pci_bus_set_windows(fx->m->pci_bus, &w);
    machine_reset_devices(fx->m);
    g_assert_false(pci_bus_assign_bars(fx->m->pci_bus));
    fx_free(fx);
}

/* Expansion ROM BAR from romfile= (PCI 3.0, 6.2.5.2): sizing, enable bit, read-only,
 * reset, placement by the BAR assignment; bad files are refused by name. */
static void test_rom_bar(void)
{
    g_autofree char *dir = g_dir_make_tmp("vireo-pci-rom-XXXXXX", NULL);
    g_autofree char *rom = g_build_filename(dir, "t.rom", NULL);
    g_autofree char *empty = g_build_filename(dir, "empty.rom", NULL);
    g_autofree char *opts = g_strdup_printf("addr=4,romfile=%s", rom);
    g_autofree char *opts0 = g_strdup_printf("addr=5,romfile=%s,rombar=0", rom);
    g_autofree char *opts_e = g_strdup_printf("addr=6,romfile=%s", empty);
    uint8_t img[3000];
    unsigned df = PCI_DEVFN(4, 0);
    GError *err = NULL;
    uint64_t v;

    for (unsigned i = 0; i < sizeof(img); i++)
        img[i] = i * 7;
    img[0] = 0x55, img[1] = 0xaa;
    g_assert_true(g_file_set_contents(rom, (char *)img, sizeof(img), NULL));
    g_assert_true(g_file_set_contents(empty, "", 0, NULL));

    Fx *fx = fx_new();
    TestDev *t = add_dev(fx, opts);
    g_assert_cmpuint(t->pci.bars[PCI_ROM_SLOT].size, ==, 0x1000);     /* 3000 -> 4K */
    cfg_write(fx, df, PCI_ROM_ADDRESS, 0xfffffffe, 4);
    g_assert_cmphex(cfg_read(fx, df, PCI_ROM_ADDRESS, 4), ==, 0xfffff000);
    cfg_write(fx, df, PCI_ROM_ADDRESS, WIN + 0x20000, 4);
    cfg_write(fx, df, PCI_COMMAND, PCI_COMMAND_MEMORY, 2);
    g_assert_cmphex(pci_bar_address(&t->pci, PCI_ROM_SLOT), ==, PCI_BAR_UNMAPPED);
    cfg_write(fx, df, PCI_ROM_ADDRESS, WIN + 0x20000 + PCI_ROM_ADDRESS_ENABLE, 4);
    g_assert_cmphex(pci_bar_address(&t->pci, PCI_ROM_SLOT), ==, WIN + 0x20000);
    g_assert_cmphex(mem_read(fx, WIN + 0x20000, 2), ==, 0xaa55);
    g_assert_cmphex(mem_read(fx, WIN + 0x20000 + 2999, 1), ==, (uint8_t)(2999 * 7));
    g_assert_cmphex(mem_read(fx, WIN + 0x20000 + 3000, 4), ==, 0);     /* zero padded */
    as_write(fx->m->sysmem, WIN + 0x20000, 0x1234, 2);                  /* read-only */
    g_assert_cmphex(mem_read(fx, WIN + 0x20000, 2), ==, 0xaa55);
    /* Memory decoding off, then a reset: gone, the register reads 0. */
    cfg_write(fx, df, PCI_COMMAND, 0, 2);
    g_assert_false(as_read(fx->m->sysmem, WIN + 0x20000, &v, 2));
    cfg_write(fx, df, PCI_COMMAND, PCI_COMMAND_MEMORY, 2);
    g_assert_cmphex(mem_read(fx, WIN + 0x20000, 2), ==, 0xaa55);
    device_reset(DEVICE(t));
    g_assert_cmphex(cfg_read(fx, df, PCI_ROM_ADDRESS, 4), ==, 0);
    g_assert_cmphex(pci_bar_address(&t->pci, PCI_ROM_SLOT), ==, PCI_BAR_UNMAPPED);
    /* rombar=0: no ROM BAR (the image would go to fw_cfg; this machine has none). */
    TestDev *t0 = add_dev(fx, opts0);
    g_assert_cmpuint(t0->pci.bars[PCI_ROM_SLOT].size, ==, 0);
    cfg_write(fx, PCI_DEVFN(5, 0), PCI_ROM_ADDRESS, 0xffffffff, 4);
    g_assert_cmphex(cfg_read(fx, PCI_DEVFN(5, 0), PCI_ROM_ADDRESS, 4), ==, 0);
    /* The firmware-style assignment places it with decoding off. */
    pci_bus_assign_bars(fx->m->pci_bus);
    v = cfg_read(fx, df, PCI_ROM_ADDRESS, 4);
    g_assert_cmphex(v & 0xfff, ==, 0);
    g_assert_cmphex(v, >=, WIN);
    /* Missing and empty files: errors naming the device and the file. */
    g_assert_null(try_add_dev(fx, "addr=7,romfile=/nonexistent/x.rom", &err));
    g_assert_nonnull(strstr(err->message, "failed to find romfile \"/nonexistent/x.rom\""));
    g_clear_error(&err);
    g_assert_null(try_add_dev(fx, opts_e, &err));
    g_assert_nonnull(strstr(err->message, "is empty"));
    g_clear_error(&err);
    fx_free(fx);
    unlink(rom);
    unlink(empty);
    rmdir(dir);
}

static void test_vmstate(void)
{
    Fx *fx = fx_new();
    TestDev *a = add_dev(fx, "addr=3"), *b = add_dev(fx, "addr=4");
    g_autoptr(GByteArray) buf = g_byte_array_new();
    GError *err = NULL;

    cfg_write(fx, PCI_DEVFN(3, 0), 0x10, WIN + 0x5000, 4);
    cfg_write(fx, PCI_DEVFN(3, 0), PCI_COMMAND, PCI_COMMAND_MEMORY, 2);
    pci_set_irq(&a->pci, 1);
    vmstate_save(&pci_device_vmsd, &a->pci.state, buf);
    g_assert_cmpuint(buf->len, ==, vmstate_size(&pci_device_vmsd));
    g_assert_cmpuint(buf->len, ==, 1 + 10 + 8 + 256 + 1024 + 8 + 1);
    g_assert_cmpmem(buf->data, 11, "\x0apci-device", 11);
    g_assert_cmpuint(buf->data[19], ==, 0xf4);            /* config[0]: vendor low */
    g_assert_cmpuint(buf->data[buf->len - 1], ==, 1);      /* intx_level */
    /* Load a's state into b (slot 4, pin A -> GSI 16): BAR mapped, INTx driven. */
    g_assert_cmpint(vmstate_load(&pci_device_vmsd, &b->pci.state, buf->data, buf->len, &err),
                    ==, buf->len);
    g_assert_no_error(err);
    cfg_write(fx, PCI_DEVFN(3, 0), 0x10, WIN + 0x9000, 4);     /* a moves away first */
    pci_device_post_load(&b->pci);
    g_assert_cmpmem(a->pci.state.msix_table, sizeof(a->pci.state.msix_table),
                    b->pci.state.msix_table, sizeof(b->pci.state.msix_table));
    g_assert_cmphex(pci_bar_address(&b->pci, 0), ==, WIN + 0x5000);
    g_assert_cmpint(fx->level[16], ==, 1);
    fx_free(fx);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/pci/host-ids", test_host_ids);
    g_test_add_func("/pci/cf8-widths", test_cf8_widths);
    g_test_add_func("/pci/reset-register", test_reset_register);
    g_test_add_func("/pci/config-masks", test_config_masks);
    g_test_add_func("/pci/bar-sizing", test_bar_sizing);
    g_test_add_func("/pci/bar-mapping", test_bar_mapping);
    g_test_add_func("/pci/bar-swap", test_bar_swap);
    g_test_add_func("/pci/intx-sharing", test_intx_sharing);
    g_test_add_func("/pci/msi", test_msi);
    g_test_add_func("/pci/msix-exclusive", test_msix_exclusive);
    g_test_add_func("/pci/msix-shared", test_msix_shared);
    g_test_add_func("/pci/slots", test_slots);
    g_test_add_func("/pci/no-bus", test_no_bus);
    g_test_add_func("/pci/assign-bars", test_assign_bars);
    g_test_add_func("/pci/vmstate", test_vmstate);
    g_test_add_func("/pci/rom-bar", test_rom_bar);
    return g_test_run();
}
