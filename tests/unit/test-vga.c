/*
 * "VGA" and "bochs-display" as a guest drives them (no KVM): PCI identity and BARs,
 * text mode rendered with the font, damage of a changed cell only, mode 13h and planar
 * writes, VBE modes through the ports and the MMIO BAR, hostile register values and
 * modes larger than video memory, the state round trip, and a fuzz of every register;
 * rendering from the display's dirty log (a fake of KVM's on the memory listener).
 */
#include "vireo/console.h"
#include "vireo/machine.h"
#include "vireo/pci.h"
#include "vireo/pc.h"
#include "../../hw/display/vga-int.h"
#include "device-fuzz.h"
#include "log-fake.h"
#include <string.h>

VgaCommon *vga_pci_common(Device *dev);

typedef struct Fx {
    Machine *m;
    Device *dev;
    VgaCommon *s;
    Console *con;
} Fx;

static void fx_init(Fx *f, const char *type, const char *opts)
{
    g_autoptr(GError) err = NULL;
    f->m = machine_new_test(0x80000);
    g_assert_nonnull(pci_bus_new_pc(f->m, &err));
    f->dev = machine_create_device(f->m, type, opts, &err);
    g_assert_no_error(err);
    f->s = vga_pci_common(f->dev);
    f->con = console_get(f->m, 0);
    g_assert_nonnull(f->con);
}

static void fx_free(Fx *f)
{
    machine_free(f->m);
}

static void outb(Fx *f, uint16_t port, uint8_t v) { as_write(f->m->io, port, v, 1); }
static uint8_t inb(Fx *f, uint16_t port)
{
    uint64_t v;
    as_read(f->m->io, port, &v, 1);
    return v;
}
static void outw(Fx *f, uint16_t port, uint16_t v) { as_write(f->m->io, port, v, 2); }
static uint16_t inw(Fx *f, uint16_t port)
{
    uint64_t v;
    as_read(f->m->io, port, &v, 2);
    return v;
}
static void vbe(Fx *f, unsigned idx, uint16_t v) { outw(f, 0x1ce, idx); outw(f, 0x1cf, v); }
static uint16_t vbe_get(Fx *f, unsigned idx) { outw(f, 0x1ce, idx); return inw(f, 0x1cf); }

static uint32_t px(Fx *f, int x, int y)
{
    return console_data(f->con)[y * console_stride(f->con) / 4 + x];
}

typedef struct Dmg {
    DisplayListener l;
    int n, x0, y0, x1, y1;
} Dmg;

static void dmg_update(DisplayListener *l, int x, int y, int w, int h)
{
    Dmg *d = (Dmg *)l;
    d->n++;
    d->x0 = MIN(d->x0, x);
    d->y0 = MIN(d->y0, y);
    d->x1 = MAX(d->x1, x + w);
    d->y1 = MAX(d->y1, y + h);
}
static void dmg_resize(DisplayListener *l) { }
static const DisplayListenerOps dmg_ops = { .update = dmg_update, .resize = dmg_resize };
static void dmg_reset(Dmg *d) { d->n = 0; d->x0 = d->y0 = 1 << 30; d->x1 = d->y1 = -1; }

static void test_pci_identity(void)
{
    Fx f;
    fx_init(&f, "VGA", "");
    PciDevice *d = (PciDevice *)f.dev;
    g_assert_cmphex(pci_get_word(d, PCI_VENDOR_ID), ==, 0x1234);
    g_assert_cmphex(pci_get_word(d, PCI_DEVICE_ID), ==, 0x1111);
    g_assert_cmphex(pci_get_word(d, PCI_CLASS_DEVICE), ==, 0x0300);
    g_assert_cmpuint(d->bars[0].size, ==, 16 << 20);
    g_assert_cmpuint(d->bars[2].size, ==, 0x1000);
    g_assert_true(f.m->legacy_vga);
    /* A second legacy VGA is refused with a message naming it. */
    g_autoptr(GError) err = NULL;
    g_assert_null(machine_create_device(f.m, "VGA", "", &err));
    g_assert_nonnull(strstr(err->message, "VGA"));
    fx_free(&f);

    fx_init(&f, "bochs-display", "vgamem=4M");
    d = (PciDevice *)f.dev;
    g_assert_cmphex(pci_get_word(d, PCI_CLASS_DEVICE), ==, 0x0380);
    g_assert_cmpuint(d->bars[0].size, ==, 4 << 20);
    g_assert_false(f.m->legacy_vga);
    g_assert_cmphex(inb(&f, 0x3cc), ==, 0xff);    /* no legacy ports */
    fx_free(&f);

    Machine *m = machine_new_test(0x80000);
    g_assert_nonnull(pci_bus_new_pc(m, &err));
    g_clear_error(&err);
    g_assert_null(machine_create_device(m, "VGA", "vgamem_mb=3", &err));
    g_assert_nonnull(strstr(err->message, "vgamem_mb=3"));
    machine_free(m);
}

/* Text mode 3 after reset: 720x400, a character drawn with the font, one cell damaged
 * when one cell changes. */
static void test_text_mode(void)
{
    Fx f;
    fx_init(&f, "VGA", "");
    Dmg d = { .l.ops = &dmg_ops };
    console_add_listener(f.con, &d.l);
    console_refresh(f.con);
    g_assert_cmpint(console_width(f.con), ==, 720);
    g_assert_cmpint(console_height(f.con), ==, 400);
    /* 'H' in white on blue at row 1, column 2, through the window at 0xb8000. */
    as_write(f.m->sysmem, 0xb8000 + (80 + 2) * 2, 'H', 1);
    as_write(f.m->sysmem, 0xb8000 + (80 + 2) * 2 + 1, 0x1f, 1);
    dmg_reset(&d);
    console_refresh(f.con);
    g_assert_cmpint(d.x0, ==, 2 * 9);
    g_assert_cmpint(d.x1, ==, 3 * 9);
    g_assert_cmpint(d.y0, ==, 16);
    g_assert_cmpint(d.y1, ==, 32);
    /* The glyph's vertical bars are white, the gap between them blue. */
    g_assert_cmphex(px(&f, 2 * 9 + 0, 16 + 4), ==, 0xffffff);
    g_assert_cmphex(px(&f, 2 * 9 + 3, 16 + 4), ==, 0x0000aa);
    /* Nothing changed: nothing damaged. */
    dmg_reset(&d);
    console_refresh(f.con);
    g_assert_cmpint(d.n, ==, 0);
    /* Reading back through the window (odd/even) gives the bytes written. */
    uint64_t v;
    as_read(f.m->sysmem, 0xb8000 + (80 + 2) * 2, &v, 1);
    g_assert_cmphex(v, ==, 'H');
    /* The hardware cursor (CR0E/0F) at cell 0: the cursor lines become foreground. */
    outb(&f, 0x3d4, 0x0e); outb(&f, 0x3d5, 0);
    outb(&f, 0x3d4, 0x0f); outb(&f, 0x3d5, 0);
    console_refresh(f.con);
    g_assert_cmphex(px(&f, 0, 14), ==, 0xaaaaaa);
    console_remove_listener(&d.l);
    fx_free(&f);
}

/* Mode 13h-style chain-4 256-colour and a planar write-mode-2 pixel. */
static void test_graphics_modes(void)
{
    Fx f;
    fx_init(&f, "VGA", "");
    /* 320x200x256: chain 4, graphics, 256-colour shift, 64K window at a0000. */
    outb(&f, 0x3c4, 4); outb(&f, 0x3c5, 0x0e);
    outb(&f, 0x3c4, 2); outb(&f, 0x3c5, 0x0f);
    outb(&f, 0x3ce, 5); outb(&f, 0x3cf, 0x40);
    outb(&f, 0x3ce, 6); outb(&f, 0x3cf, 0x05);
    outb(&f, 0x3d4, 0x11); outb(&f, 0x3d5, 0x00);      /* unprotect CR0-7 */
    outb(&f, 0x3d4, 0x01); outb(&f, 0x3d5, 0x4f);
    outb(&f, 0x3d4, 0x09); outb(&f, 0x3d5, 0x41);
    outb(&f, 0x3d4, 0x12); outb(&f, 0x3d5, 0x8f);
    outb(&f, 0x3d4, 0x07); outb(&f, 0x3d5, 0x1f);
    outb(&f, 0x3d4, 0x13); outb(&f, 0x3d5, 0x28);
    outb(&f, 0x3c8, 5); outb(&f, 0x3c9, 63); outb(&f, 0x3c9, 0); outb(&f, 0x3c9, 0);
    as_write(f.m->sysmem, 0xa0000 + 320 * 10 + 7, 5, 1);
    console_refresh(f.con);
    g_assert_cmpint(console_width(f.con), ==, 320);
    g_assert_cmpint(console_height(f.con), ==, 200);
    g_assert_cmphex(px(&f, 7, 10), ==, 0xff0000);
    /* DAC read back. */
    outb(&f, 0x3c7, 5);
    g_assert_cmpint(inb(&f, 0x3c9), ==, 63);
    /* Planar: leave chain 4, write mode 2 colour 9 into bit 7 of byte 0. */
    outb(&f, 0x3c4, 4); outb(&f, 0x3c5, 0x06);
    outb(&f, 0x3ce, 5); outb(&f, 0x3cf, 0x02);
    outb(&f, 0x3c4, 2); outb(&f, 0x3c5, 0x0f);
    outb(&f, 0x3ce, 8); outb(&f, 0x3cf, 0x80);
    uint64_t latch;
    as_read(f.m->sysmem, 0xa0000, &latch, 1);
    as_write(f.m->sysmem, 0xa0000, 9, 1);
    /* Colour 9 = planes 0 and 3 in bit 7; the other bits keep the latched bytes. */
    g_assert_cmphex(f.s->vram[0], ==, 0x80 | ' ');
    g_assert_cmphex(f.s->vram[1], ==, 0x07);
    g_assert_cmphex(f.s->vram[2] & 0x80, ==, 0x00);
    g_assert_cmphex(f.s->vram[3] & 0x80, ==, 0x80);
    /* Read mode 1 (colour compare against 9): bit 7 matches. */
    outb(&f, 0x3ce, 5); outb(&f, 0x3cf, 0x08);
    outb(&f, 0x3ce, 2); outb(&f, 0x3cf, 0x09);
    outb(&f, 0x3ce, 7); outb(&f, 0x3cf, 0x0f);
    uint64_t v;
    as_read(f.m->sysmem, 0xa0000, &v, 1);
    g_assert_cmphex(v & 0x80, ==, 0x80);
    fx_free(&f);
}

static void test_vbe(void)
{
    Fx f;
    fx_init(&f, "VGA", "vgamem_mb=4");
    g_assert_cmphex(vbe_get(&f, VBE_DISPI_INDEX_ID), ==, VBE_DISPI_ID5);
    g_assert_cmpuint(vbe_get(&f, VBE_DISPI_INDEX_VIDEO_MEMORY_64K), ==, 64);
    vbe(&f, VBE_DISPI_INDEX_ENABLE, 0);
    vbe(&f, VBE_DISPI_INDEX_XRES, 800);
    vbe(&f, VBE_DISPI_INDEX_YRES, 600);
    vbe(&f, VBE_DISPI_INDEX_BPP, 32);
    vbe(&f, VBE_DISPI_INDEX_ENABLE, VBE_DISPI_ENABLED | VBE_DISPI_LFB_ENABLED);
    uint32_t *fb = (uint32_t *)f.s->vram;
    fb[600 * 800 - 1] = 0x123456;
    console_refresh(f.con);
    g_assert_cmpint(console_width(f.con), ==, 800);
    g_assert_cmpint(console_height(f.con), ==, 600);
    g_assert_cmphex(px(&f, 799, 599), ==, 0x123456);
    /* 16 bpp through the MMIO BAR's dispi registers. */
    PciDevice *d = (PciDevice *)f.dev;
    uint64_t bar2 = 0xf0000000;
    pci_config_write(d, PCI_BASE_ADDRESS_0 + 8, bar2, 4);
    pci_config_write(d, PCI_COMMAND, PCI_COMMAND_MEMORY, 2);
    as_write(f.m->sysmem, bar2 + 0x500 + 2 * VBE_DISPI_INDEX_ENABLE, 0, 2);
    as_write(f.m->sysmem, bar2 + 0x500 + 2 * VBE_DISPI_INDEX_BPP, 16, 2);
    as_write(f.m->sysmem, bar2 + 0x500 + 2 * VBE_DISPI_INDEX_ENABLE, 0x41, 2);
    uint64_t v;
    as_read(f.m->sysmem, bar2 + 0x500 + 2 * VBE_DISPI_INDEX_BPP, &v, 2);
    g_assert_cmpuint(v, ==, 16);
    as_read(f.m->sysmem, bar2 + 0x600, &v, 4);
    g_assert_cmpuint(v, ==, 8);
    ((uint16_t *)f.s->vram)[1] = 0xf800;                /* red */
    console_refresh(f.con);
    g_assert_cmphex(px(&f, 1, 0), ==, 0xff0000);
    /* A mode larger than video memory (4 MiB) is shrunk to fit; scrolling past the
     * end is clamped: the rendered rows stay inside video memory. */
    vbe(&f, VBE_DISPI_INDEX_ENABLE, 0);
    vbe(&f, VBE_DISPI_INDEX_XRES, 16000);
    vbe(&f, VBE_DISPI_INDEX_YRES, 12000);
    vbe(&f, VBE_DISPI_INDEX_BPP, 32);
    vbe(&f, VBE_DISPI_INDEX_ENABLE, VBE_DISPI_ENABLED | VBE_DISPI_NOCLEARMEM);
    uint32_t xr = vbe_get(&f, VBE_DISPI_INDEX_XRES), yr = vbe_get(&f, VBE_DISPI_INDEX_YRES);
    g_assert_cmpuint((uint64_t)xr * yr * 4, <=, 4 << 20);
    vbe(&f, VBE_DISPI_INDEX_Y_OFFSET, 0xffff);
    vbe(&f, VBE_DISPI_INDEX_X_OFFSET, 0xffff);
    vbe(&f, VBE_DISPI_INDEX_VIRT_WIDTH, 0xffff);
    g_assert_cmpuint((uint64_t)f.s->r.vbe_start_addr + (uint64_t)f.s->r.vbe_line_offset *
                     vbe_get(&f, VBE_DISPI_INDEX_YRES), <=, 4 << 20);
    console_refresh(f.con);
    /* Bad bpp falls back to 8; banks past the end are clamped. */
    vbe(&f, VBE_DISPI_INDEX_ENABLE, 0);
    vbe(&f, VBE_DISPI_INDEX_BPP, 7);
    vbe(&f, VBE_DISPI_INDEX_ENABLE, VBE_DISPI_ENABLED);
    g_assert_cmpuint(vbe_get(&f, VBE_DISPI_INDEX_BPP), ==, 8);
    vbe(&f, VBE_DISPI_INDEX_BANK, 0xffff);
    as_write(f.m->sysmem, 0xaffff, 0x55, 1);
    g_assert_cmphex(f.s->vram[(4 << 20) - 1], ==, 0x55);
    console_refresh(f.con);
    fx_free(&f);
}

static void test_state_roundtrip(void)
{
    Fx a, b;
    fx_init(&a, "VGA", "vgamem_mb=1");
    fx_init(&b, "VGA", "vgamem_mb=1");
    as_write(a.m->sysmem, 0xb8000, 'Z', 1);
    outb(&a, 0x3c8, 3); outb(&a, 0x3c9, 1); outb(&a, 0x3c9, 2); outb(&a, 0x3c9, 3);
    vbe(&a, VBE_DISPI_INDEX_XRES, 1024);
    GByteArray *st = g_byte_array_new(), *vr = g_byte_array_new();
    vmstate_save(a.dev->cls->vmsd, device_state(a.dev), st);
    vga_vram_save(a.s, vr);
    g_autoptr(GError) err = NULL;
    g_assert_cmpint(vmstate_load(b.dev->cls->vmsd, device_state(b.dev), st->data, st->len,
                                 &err), ==, st->len);
    g_assert_true(vga_vram_load(b.s, vr->data, vr->len, &err));
    b.dev->cls->post_load(b.dev);
    g_assert_cmpint(memcmp(&a.s->r, &b.s->r, sizeof(VgaRegs)), ==, 0);
    g_assert_cmpint(memcmp(a.s->vram, b.s->vram, a.s->vram_size), ==, 0);
    console_refresh(a.con);
    console_refresh(b.con);
    g_assert_cmpint(memcmp(console_data(a.con), console_data(b.con),
                           (size_t)console_stride(a.con) * console_height(a.con)), ==, 0);
    /* A stream for a different video memory size is refused. */
    Fx c;
    fx_init(&c, "bochs-display", "vgamem=8M");
    g_assert_false(vga_vram_load(c.s, vr->data, vr->len, &err));
    fx_free(&c);
    g_byte_array_free(st, TRUE);
    g_byte_array_free(vr, TRUE);
    fx_free(&a);
    fx_free(&b);
}

/* Every VGA and dispi port with random values (and random migrated state), rendering
 * now and then, memory window accesses in between: nothing may crash or overflow. */
static void test_fuzz(void)
{
    Fx f;
    fx_init(&f, "VGA", "vgamem_mb=1");
    GRand *rnd = g_rand_new_with_seed(42);
    for (int round = 0; round < 40; round++) {
        fuzz_ports(f.m, f.dev, 0x3b0, 0x30, 500);
        for (int i = 0; i < 200; i++) {
            unsigned idx = g_rand_int_range(rnd, 0, 16);
            vbe(&f, idx, g_rand_int(rnd));
            as_write(f.m->sysmem, 0xa0000 + g_rand_int_range(rnd, 0, 0x20000),
                     g_rand_int(rnd), 1);
            uint64_t v;
            as_read(f.m->sysmem, 0xa0000 + g_rand_int_range(rnd, 0, 0x20000), &v, 1);
        }
        console_refresh(f.con);
        g_assert_cmpint((int64_t)console_width(f.con) * console_height(f.con) * 4, <=,
                        CONSOLE_MAX_BYTES);
    }
    g_rand_free(rnd);
    fx_free(&f);
}

/* ---- rendering from the display's dirty log ---- */

/* A VGA whose framebuffer BAR is mapped, on a machine whose memory listener logs
 * dirty pages as KVM would (tests/unit/log-fake.h), with a damage listener. */
static void fx_init_logged(Fx *f, FakeLog *fl, Dmg *d, const char *opts)
{
    fake_log_init(fl);
    fx_init(f, "VGA", opts);
    as_add_listener(f->m->sysmem, &fl->l);
    g_assert_true(pci_bus_assign_bars(f->m->pci_bus));
    g_assert_true(f->s->vram_bar->mapped);
    *d = (Dmg){ .l.ops = &dmg_ops };
    console_add_listener(f->con, &d->l);
    g_assert_true(fake_log_logging(fl, f->s->vram_bar));
}

static void fx_free_logged(Fx *f, FakeLog *fl, Dmg *d)
{
    console_remove_listener(&d->l);
    g_assert_false(fake_log_logging(fl, f->s->vram_bar));  /* the display stopped */
    fx_free(f);
    fake_log_free(fl);
}

static void refresh_damage(Fx *f, Dmg *d)
{
    dmg_reset(d);
    console_refresh(f->con);
}

/* VBE 800x600x32 (3200-byte rows): an unchanged frame draws no row, a written page
 * damages exactly the rows on it, a page flip redraws, device writes through the
 * banked window are drawn. Video memory changed behind the log's back shows which
 * rows were not even converted: it stays undrawn. */
static void test_dirty_vbe(void)
{
    Fx f;
    FakeLog fl;
    Dmg d;
    fx_init_logged(&f, &fl, &d, "vgamem_mb=4");
    vbe(&f, VBE_DISPI_INDEX_XRES, 800);
    vbe(&f, VBE_DISPI_INDEX_YRES, 600);
    vbe(&f, VBE_DISPI_INDEX_BPP, 32);
    vbe(&f, VBE_DISPI_INDEX_ENABLE, VBE_DISPI_ENABLED | VBE_DISPI_LFB_ENABLED);
    refresh_damage(&f, &d);
    g_assert_cmpint(d.y1, ==, 600);                        /* the mode change: all */
    uint32_t *fb = (uint32_t *)f.s->vram;
    fb[100 * 800 + 5] = 0xabcdef;                          /* not logged */
    refresh_damage(&f, &d);
    g_assert_cmpint(d.n, ==, 0);
    g_assert_cmphex(px(&f, 5, 100), ==, 0);                /* row 100 was not converted */
    /* Page 5 ([0x5000, 0x6000)) holds the ends of rows 6 and 7. */
    static uint8_t page[4096];
    memset(page, 0x7f, sizeof(page));
    fake_log_write(&fl, f.s->vram_bar, 0x5000, page, sizeof(page));
    refresh_damage(&f, &d);
    g_assert_cmpint(d.y0, ==, 6);
    g_assert_cmpint(d.y1, ==, 8);
    g_assert_cmphex(px(&f, 799, 6), ==, 0x7f7f7f);
    g_assert_cmphex(px(&f, 5, 100), ==, 0);
    refresh_damage(&f, &d);
    g_assert_cmpint(d.n, ==, 0);
    /* The device's own write (banked window at 0xa0000, bank 0): row 2. */
    as_write(f.m->sysmem, 0xa0000 + 2 * 3200 + 4 * 10, 0x55, 1);
    refresh_damage(&f, &d);
    g_assert_cmpint(d.y0, ==, 2);
    g_assert_cmpint(d.y1, ==, 3);
    g_assert_cmphex(px(&f, 10, 2), ==, 0x55);
    /* A page flip (Y offset) moves every row: all are compared, none written. */
    vbe(&f, VBE_DISPI_INDEX_Y_OFFSET, 1);
    refresh_damage(&f, &d);
    g_assert_cmpint(d.y0, ==, 1);                          /* the old rows 2, 6, 7, 100 */
    g_assert_cmphex(px(&f, 5, 99), ==, 0xabcdef);
    vbe(&f, VBE_DISPI_INDEX_Y_OFFSET, 0);
    refresh_damage(&f, &d);
    g_assert_cmphex(px(&f, 5, 100), ==, 0xabcdef);
    /* An invalidate (a new client) draws all rows and damages them whole. */
    console_invalidate(f.con);
    refresh_damage(&f, &d);
    g_assert_cmpint(d.y0, ==, 0);
    g_assert_cmpint(d.y1, ==, 600);
    fx_free_logged(&f, &fl, &d);
}

/* Mode 13h (320-byte rows from CRTC start 0) and planar 640x480 (80-byte rows): the
 * window writes of the device damage their rows, unlogged changes are not drawn. */
static void test_dirty_legacy(void)
{
    Fx f;
    FakeLog fl;
    Dmg d;
    fx_init_logged(&f, &fl, &d, "vgamem_mb=1");
    outb(&f, 0x3c4, 4); outb(&f, 0x3c5, 0x0e);
    outb(&f, 0x3c4, 2); outb(&f, 0x3c5, 0x0f);
    outb(&f, 0x3ce, 5); outb(&f, 0x3cf, 0x40);
    outb(&f, 0x3ce, 6); outb(&f, 0x3cf, 0x05);
    outb(&f, 0x3d4, 0x11); outb(&f, 0x3d5, 0x00);
    outb(&f, 0x3d4, 0x01); outb(&f, 0x3d5, 0x4f);
    outb(&f, 0x3d4, 0x09); outb(&f, 0x3d5, 0x41);
    outb(&f, 0x3d4, 0x12); outb(&f, 0x3d5, 0x8f);
    outb(&f, 0x3d4, 0x07); outb(&f, 0x3d5, 0x1f);
    outb(&f, 0x3d4, 0x13); outb(&f, 0x3d5, 0x28);
    outb(&f, 0x3c8, 5); outb(&f, 0x3c9, 63); outb(&f, 0x3c9, 0); outb(&f, 0x3c9, 0);
    refresh_damage(&f, &d);
    g_assert_cmpint(console_height(f.con), ==, 200);
    f.s->vram[320 * 150] = 5;                              /* not logged */
    as_write(f.m->sysmem, 0xa0000 + 320 * 40 + 7, 5, 1);   /* the device's write */
    refresh_damage(&f, &d);
    g_assert_cmpint(d.y0, ==, 40);
    g_assert_cmpint(d.y1, ==, 41);
    g_assert_cmphex(px(&f, 7, 40), ==, 0xff0000);
    g_assert_cmphex(px(&f, 0, 150), !=, 0xff0000);
    /* A guest write to the BAR (logged): rows 12 and 13 share page 1. */
    fake_log_write(&fl, f.s->vram_bar, 0x1000, "\5", 1);
    refresh_damage(&f, &d);
    g_assert_cmpint(d.y0, ==, 12);
    g_assert_cmpint(d.y1, ==, 13);
    /* The palette changes: everything redrawn, the unlogged pixel too. */
    outb(&f, 0x3c8, 5); outb(&f, 0x3c9, 0); outb(&f, 0x3c9, 63); outb(&f, 0x3c9, 0);
    refresh_damage(&f, &d);
    g_assert_cmpint(d.y1, ==, 200);
    g_assert_cmphex(px(&f, 0, 150), ==, 0x00ff00);
    /* Planar 640x480 16 colours: a write-mode-2 pixel through the window. */
    outb(&f, 0x3c4, 4); outb(&f, 0x3c5, 0x06);
    outb(&f, 0x3ce, 5); outb(&f, 0x3cf, 0x02);
    outb(&f, 0x3d4, 0x09); outb(&f, 0x3d5, 0x40);
    outb(&f, 0x3d4, 0x12); outb(&f, 0x3d5, 0xdf);
    outb(&f, 0x3d4, 0x07); outb(&f, 0x3d5, 0x3e);
    outb(&f, 0x3d4, 0x13); outb(&f, 0x3d5, 0x28);
    refresh_damage(&f, &d);
    g_assert_cmpint(console_width(f.con), ==, 640);
    g_assert_cmpint(console_height(f.con), ==, 480);
    refresh_damage(&f, &d);
    g_assert_cmpint(d.n, ==, 0);
    outb(&f, 0x3ce, 8); outb(&f, 0x3cf, 0x80);
    uint64_t latch;
    as_read(f.m->sysmem, 0xa0000 + 80 * 300, &latch, 1);
    as_write(f.m->sysmem, 0xa0000 + 80 * 300, 9, 1);
    refresh_damage(&f, &d);
    g_assert_cmpint(d.y0, ==, 300);
    g_assert_cmpint(d.y1, ==, 301);
    fx_free_logged(&f, &fl, &d);
}

/* Without a listener that logs (no KVM), or when logging fails, every row is compared
 * as before: an unlogged change is drawn. */
static void test_dirty_unavailable(void)
{
    for (int fail = 0; fail < 2; fail++) {
        Fx f;
        FakeLog fl;
        Dmg d = { .l.ops = &dmg_ops };
        fake_log_init(&fl);
        fl.fail_start = -EINVAL;
        fx_init(&f, "VGA", "vgamem_mb=4");
        if (fail)
            as_add_listener(f.m->sysmem, &fl.l);
        g_assert_true(pci_bus_assign_bars(f.m->pci_bus));
        if (fail)
            g_test_expect_message(NULL, G_LOG_LEVEL_WARNING, "*dirty logging*");
        console_add_listener(f.con, &d.l);
        if (fail)
            g_test_assert_expected_messages();
        vbe(&f, VBE_DISPI_INDEX_XRES, 640);
        vbe(&f, VBE_DISPI_INDEX_YRES, 480);
        vbe(&f, VBE_DISPI_INDEX_BPP, 32);
        vbe(&f, VBE_DISPI_INDEX_ENABLE, VBE_DISPI_ENABLED | VBE_DISPI_LFB_ENABLED);
        refresh_damage(&f, &d);
        ((uint32_t *)f.s->vram)[640 * 33 + 1] = 0x123456;
        refresh_damage(&f, &d);
        g_assert_cmpint(d.n, ==, 1);
        g_assert_cmpint(d.y0, ==, 33);
        g_assert_cmphex(px(&f, 1, 33), ==, 0x123456);
        console_remove_listener(&d.l);
        fx_free(&f);
        fake_log_free(&fl);
    }
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/vga/pci-identity", test_pci_identity);
    g_test_add_func("/vga/text-mode", test_text_mode);
    g_test_add_func("/vga/graphics-modes", test_graphics_modes);
    g_test_add_func("/vga/vbe", test_vbe);
    g_test_add_func("/vga/state-roundtrip", test_state_roundtrip);
    g_test_add_func("/vga/fuzz", test_fuzz);
    g_test_add_func("/vga/dirty-vbe", test_dirty_vbe);
    g_test_add_func("/vga/dirty-legacy", test_dirty_legacy);
    g_test_add_func("/vga/dirty-unavailable", test_dirty_unavailable);
    return g_test_run();
}
