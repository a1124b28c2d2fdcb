/*
 * VGA registers, the legacy memory window and the Bochs VBE dispi registers
 * (hw/display/vga-int.h). Guest-reachable: every index is masked, every video memory
 * offset bounded by vram_size, every VBE mode checked against video memory.
 */
#include "vga-int.h"
#include "ui/vgafont.h"
#include <string.h>
#include <sys/mman.h>

/* Writable bits of the sequencer and graphics registers. */
static const uint8_t sr_mask[8] = { 0x03, 0x3d, 0x0f, 0x3f, 0x0e, 0x00, 0x00, 0xff };
static const uint8_t gr_mask[16] = { 0x0f, 0x0f, 0x0f, 0x1f, 0x03, 0x7b, 0x0f, 0x0f,
                                     0xff, 0x00 };

/* Mode 3 (80x25 text, 720x400) register values of the IBM VGA BIOS tables. */
static const uint8_t mode3_sr[5] = { 0x03, 0x00, 0x03, 0x00, 0x02 };
static const uint8_t mode3_cr[25] = {
    0x5f, 0x4f, 0x50, 0x82, 0x55, 0x81, 0xbf, 0x1f, 0x00, 0x4f, 0x0d, 0x0e, 0x00, 0x00,
    0x00, 0x00, 0x9c, 0x8e, 0x8f, 0x28, 0x1f, 0x96, 0xb9, 0xa3, 0xff };
static const uint8_t mode3_gr[9] = { 0x00, 0x00, 0x00, 0x00, 0x00, 0x10, 0x0e, 0x00, 0xff };
static const uint8_t mode3_ar[21] = {
    0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x14, 0x07, 0x38, 0x39, 0x3a, 0x3b, 0x3c, 0x3d,
    0x3e, 0x3f, 0x0c, 0x00, 0x0f, 0x08, 0x00 };

bool vbe_enabled(const VgaCommon *s)
{
    return s->r.vbe_regs[VBE_DISPI_INDEX_ENABLE] & VBE_DISPI_ENABLED;
}

/* ---- registers ---- */

static void ar_write(VgaCommon *s, uint32_t val)
{
    VgaRegs *r = &s->r;
    if (!r->ar_flip_flop) {
        r->ar_index = val & 0x3f;
    } else if ((r->ar_index & 0x1f) < 21) {
        unsigned i = r->ar_index & 0x1f;
        r->ar[i] = i < 16 ? val & 0x3f : i == 0x11 ? val : i == 0x12 ? val & 0x3f :
                   i == 0x13 ? val & 0x0f : i == 0x14 ? val & 0x0f : val & 0xef;
        s->pal_gen++;
    }
    r->ar_flip_flop ^= 1;
}

static void dac_write(VgaCommon *s, uint32_t val)
{
    VgaRegs *r = &s->r;
    r->dac_cache[r->dac_sub_index % 3] = val;
    if (++r->dac_sub_index >= 3) {
        memcpy(&r->palette[r->dac_write_index * 3], r->dac_cache, 3);
        r->dac_sub_index = 0;
        r->dac_write_index++;
        s->pal_gen++;
    }
}

static uint32_t dac_read(VgaCommon *s)
{
    VgaRegs *r = &s->r;
    uint32_t v = r->palette[r->dac_read_index * 3 + r->dac_sub_index % 3];
    if (++r->dac_sub_index >= 3) {
        r->dac_sub_index = 0;
        r->dac_read_index++;
    }
    return v;
}

/* Mono ports (0x3b?) decode only when misc bit 0 is clear, colour ports (0x3d?) only
 * when it is set. */
static bool port_decoded(VgaCommon *s, uint32_t port)
{
    if (port >= 0x3b0 && port <= 0x3bf)
        return !(s->r.misc & 1);
    if (port >= 0x3d0 && port <= 0x3df)
        return s->r.misc & 1;
    return true;
}

uint32_t vga_ioport_read(VgaCommon *s, uint32_t port)
{
    VgaRegs *r = &s->r;
    if (!port_decoded(s, port))
        return 0xff;
    switch (port) {
    case 0x3c0: return r->ar_flip_flop ? 0 : r->ar_index;
    case 0x3c1: return (r->ar_index & 0x1f) < 21 ? r->ar[r->ar_index & 0x1f] : 0;
    case 0x3c2: return 0;                          /* input status 0 */
    case 0x3c4: return r->sr_index;
    case 0x3c5: return r->sr[r->sr_index & 7];
    case 0x3c6: return r->pel_mask;
    case 0x3c7: return r->dac_state;
    case 0x3c8: return r->dac_write_index;
    case 0x3c9: return dac_read(s);
    case 0x3ca: return r->feature;
    case 0x3cc: return r->misc;
    case 0x3ce: return r->gr_index;
    case 0x3cf: return r->gr[r->gr_index & 0xf];
    case 0x3b4: case 0x3d4: return r->cr_index;
    case 0x3b5: case 0x3d5: return r->cr[r->cr_index & 0x3f];
    case 0x3ba: case 0x3da:
        /* Input status 1: retrace and display-enable bits toggle so that polling
         * loops end; reading resets the attribute flip-flop. */
        r->st01 ^= 0x09;
        r->ar_flip_flop = 0;
        return r->st01;
    default: return 0xff;
    }
}

static void cr_write(VgaCommon *s, uint32_t val)
{
    VgaRegs *r = &s->r;
    unsigned i = r->cr_index & 0x3f;
    /* CR11 bit 7 write-protects CR0-CR7, except CR7's line-compare bit 4. */
    if ((r->cr[0x11] & 0x80) && i <= 7) {
        if (i == 7)
            r->cr[7] = (r->cr[7] & ~0x10) | (val & 0x10);
        return;
    }
    r->cr[i] = val;
}

void vga_ioport_write(VgaCommon *s, uint32_t port, uint32_t val)
{
    VgaRegs *r = &s->r;
    val &= 0xff;
    if (!port_decoded(s, port))
        return;
    switch (port) {
    case 0x3c0: case 0x3c1: ar_write(s, val); break;
    case 0x3c2: r->misc = val & ~0x10; break;
    case 0x3c4: r->sr_index = val & 7; break;
    case 0x3c5: r->sr[r->sr_index & 7] = val & sr_mask[r->sr_index & 7]; break;
    case 0x3c6: r->pel_mask = val; s->pal_gen++; break;
    case 0x3c7: r->dac_read_index = val; r->dac_sub_index = 0; r->dac_state = 3; break;
    case 0x3c8: r->dac_write_index = val; r->dac_sub_index = 0; r->dac_state = 0; break;
    case 0x3c9: dac_write(s, val); break;
    case 0x3ce: r->gr_index = val & 0xf; break;
    case 0x3cf: r->gr[r->gr_index & 0xf] = val & gr_mask[r->gr_index & 0xf]; break;
    case 0x3b4: case 0x3d4: r->cr_index = val; break;
    case 0x3b5: case 0x3d5: cr_write(s, val); break;
    case 0x3ba: case 0x3da: r->feature = val & 0x10; break;
    default: break;
    }
}

/* ---- the legacy memory window (0xa0000-0xbffff) ---- */

/* Offset inside the window the graphics controller maps (GR6 bits 2-3), or -1. */
static int64_t window_offset(VgaCommon *s, uint32_t addr)
{
    switch ((s->r.gr[6] >> 2) & 3) {
    case 0: return addr;                                   /* a0000, 128K */
    case 1: return addr < 0x10000 ? (int64_t)addr : -1;    /* a0000, 64K */
    case 2: return addr >= 0x10000 && addr < 0x18000 ? (int64_t)addr - 0x10000 : -1;
    default: return addr >= 0x18000 ? (int64_t)addr - 0x18000 : -1;
    }
}

static uint32_t vbe_bank_base(VgaCommon *s)
{
    return (uint32_t)s->r.vbe_regs[VBE_DISPI_INDEX_BANK] << 16;
}

uint32_t vga_mem_read(VgaCommon *s, uint32_t addr)
{
    VgaRegs *r = &s->r;
    if (vbe_enabled(s)) {                     /* banked linear access (64K window) */
        uint64_t a = (uint64_t)vbe_bank_base(s) + (addr & 0xffff);
        return addr < 0x10000 && a < s->vram_size ? s->vram[a] : 0xff;
    }
    int64_t off = window_offset(s, addr);
    if (off < 0)
        return 0xff;
    if (r->sr[4] & 0x08) {                    /* chain 4 */
        return (uint64_t)off < s->vram_size ? s->vram[off] : 0xff;
    }
    if (!(r->sr[4] & 0x04)) {                 /* odd/even */
        uint64_t a = ((uint64_t)(off & ~1) << 1) | ((r->gr[4] & 2) | (off & 1));
        return a < s->vram_size ? s->vram[a] : 0xff;
    }
    if ((uint64_t)off * 4 + 4 > s->vram_size)
        return 0xff;
    memcpy(&r->latch, &s->vram[off * 4], 4);
    if (!(r->gr[5] & 0x08))                   /* read mode 0: one plane */
        return (r->latch >> ((r->gr[4] & 3) * 8)) & 0xff;
    /* Read mode 1: colour compare (GR2 colour, GR7 don't-care planes). */
    uint32_t ret = 0xffffffff;
    for (int p = 0; p < 4; p++) {
        if (!(r->gr[7] & (1 << p)))
            continue;
        uint32_t plane = (r->latch >> (p * 8)) & 0xff;
        ret &= (r->gr[2] & (1 << p)) ? plane : ~plane;
    }
    return ret & 0xff;
}

/* Write modes 0-3 through the ALU, bit mask and latches (IBM VGA, graphics controller). */
static uint32_t planar_value(VgaRegs *r, uint32_t val)
{
    uint32_t v, mask = r->gr[8], sr_fill = 0;
    for (int p = 0; p < 4; p++)
        if (r->gr[0] & (1 << p))
            sr_fill |= 0xffu << (p * 8);
    switch (r->gr[5] & 3) {
    case 1:
        return r->latch;
    case 2:
        v = 0;
        for (int p = 0; p < 4; p++)
            if (val & (1 << p))
                v |= 0xffu << (p * 8);
        break;
    case 3: {
        unsigned rot = r->gr[3] & 7;
        val = ((val >> rot) | (val << (8 - rot))) & 0xff;
        mask &= val;
        v = sr_fill;
        break;
    }
    default: {
        unsigned rot = r->gr[3] & 7;
        val = ((val >> rot) | (val << (8 - rot))) & 0xff;
        v = val * 0x01010101u;
        uint32_t en = 0;
        for (int p = 0; p < 4; p++)
            if (r->gr[1] & (1 << p))
                en |= 0xffu << (p * 8);
        v = (v & ~en) | (sr_fill & en);
        break;
    }
    }
    switch ((r->gr[3] >> 3) & 3) {
    case 1: v &= r->latch; break;
    case 2: v |= r->latch; break;
    case 3: v ^= r->latch; break;
    }
    mask *= 0x01010101u;
    return (v & mask) | (r->latch & ~mask);
}

/* A device write to video memory: a live migration must copy the page again, and the
 * display must draw it (KVM's dirty log sees only the guest's writes to the BAR). */
static inline void vram_dirty(VgaCommon *s, uint64_t a, uint64_t len)
{
    if (s->vram_block)
        ram_block_mark_dirty(s->vram_block, a, len);
    if (s->vram_bar)
        mr_display_mark(s->vram_bar, a, len);
}

void vga_mem_write(VgaCommon *s, uint32_t addr, uint32_t val)
{
    VgaRegs *r = &s->r;
    val &= 0xff;
    if (vbe_enabled(s)) {
        uint64_t a = (uint64_t)vbe_bank_base(s) + (addr & 0xffff);
        if (addr < 0x10000 && a < s->vram_size) {
            s->vram[a] = val;
            vram_dirty(s, a, 1);
        }
        return;
    }
    int64_t off = window_offset(s, addr);
    if (off < 0)
        return;
    unsigned map = r->sr[2] & 0x0f;
    if (r->sr[4] & 0x08) {
        if ((map & (1 << (off & 3))) && (uint64_t)off < s->vram_size) {
            s->vram[off] = val;
            vram_dirty(s, off, 1);
        }
        return;
    }
    if (!(r->sr[4] & 0x04)) {
        unsigned plane = (r->gr[4] & 2) | (off & 1);
        uint64_t a = ((uint64_t)(off & ~1) << 1) | plane;
        if ((map & (1 << plane)) && a < s->vram_size) {
            s->vram[a] = val;
            vram_dirty(s, a, 1);
            if (plane == 2)
                s->font_gen++;
        }
        return;
    }
    if ((uint64_t)off * 4 + 4 > s->vram_size)
        return;
    uint32_t v = planar_value(r, val), old;
    memcpy(&old, &s->vram[off * 4], 4);
    uint32_t wmask = 0;
    for (int p = 0; p < 4; p++)
        if (map & (1 << p))
            wmask |= 0xffu << (p * 8);
    v = (old & ~wmask) | (v & wmask);
    memcpy(&s->vram[off * 4], &v, 4);
    vram_dirty(s, off * 4, 4);
    if (map & 4)
        s->font_gen++;
}

/* ---- Bochs VBE dispi ---- */

static unsigned vbe_bytes_pp(unsigned bpp)
{
    return bpp == 4 ? 1 : (bpp + 7) / 8;
}

/* Makes the current dispi registers consistent with video memory (QEMU's
 * vbe_fixup_regs): a mode that does not fit shrinks, offsets stay inside. */
static void vbe_fixup(VgaCommon *s)
{
    uint16_t *v = s->r.vbe_regs;
    unsigned bpp = v[VBE_DISPI_INDEX_BPP];
    if (bpp != 4 && bpp != 8 && bpp != 15 && bpp != 16 && bpp != 24 && bpp != 32)
        bpp = v[VBE_DISPI_INDEX_BPP] = 8;
    unsigned bytes = vbe_bytes_pp(bpp);
    uint32_t xres = CLAMP(v[VBE_DISPI_INDEX_XRES], 8u, (uint32_t)VBE_DISPI_MAX_XRES) & ~7u;
    uint32_t yres = CLAMP(v[VBE_DISPI_INDEX_YRES], 1u, (uint32_t)VBE_DISPI_MAX_YRES);
    uint32_t vw = MAX((uint32_t)v[VBE_DISPI_INDEX_VIRT_WIDTH], xres);
    uint32_t line = vw * bytes;
    if ((uint64_t)line * yres > s->vram_size) {
        vw = xres;
        line = vw * bytes;
    }
    if ((uint64_t)line * yres > s->vram_size) {
        yres = s->vram_size / line;           /* >= 1 for xres <= 16000, 1 MiB */
        if (yres == 0) {
            xres = 8;
            vw = 8;
            line = 8 * bytes;
            yres = 1;
        }
    }
    uint32_t vh = s->vram_size / line;
    uint32_t xo = MIN((uint32_t)v[VBE_DISPI_INDEX_X_OFFSET], vw - xres);
    uint32_t yo = MIN((uint32_t)v[VBE_DISPI_INDEX_Y_OFFSET], vh - yres);
    v[VBE_DISPI_INDEX_XRES] = xres;
    v[VBE_DISPI_INDEX_YRES] = yres;
    v[VBE_DISPI_INDEX_VIRT_WIDTH] = vw;
    v[VBE_DISPI_INDEX_VIRT_HEIGHT] = MIN(vh, 0xffffu);
    v[VBE_DISPI_INDEX_X_OFFSET] = xo;
    v[VBE_DISPI_INDEX_Y_OFFSET] = yo;
    s->r.vbe_line_offset = line;
    s->r.vbe_start_addr = yo * line + xo * bytes;
}

uint32_t vbe_read(VgaCommon *s, unsigned index)
{
    uint16_t *v = s->r.vbe_regs;
    if (index >= VBE_DISPI_INDEX_NB)
        return 0;
    if (v[VBE_DISPI_INDEX_ENABLE] & VBE_DISPI_GETCAPS) {
        if (index == VBE_DISPI_INDEX_XRES) return VBE_DISPI_MAX_XRES;
        if (index == VBE_DISPI_INDEX_YRES) return VBE_DISPI_MAX_YRES;
        if (index == VBE_DISPI_INDEX_BPP) return VBE_DISPI_MAX_BPP;
    }
    if (index == VBE_DISPI_INDEX_VIDEO_MEMORY_64K)
        return s->vram_size >> 16;
    return v[index];
}

/* Legacy registers a VBE mode switch programs so that the banked window and readers of
 * the VGA registers see a linear graphics mode (as QEMU's vbe_update_vgaregs). */
static void vbe_set_vga_regs(VgaCommon *s)
{
    VgaRegs *r = &s->r;
    r->gr[6] = (r->gr[6] & ~0x0c) | 0x05;     /* graphics, a0000 64K */
    r->sr[4] |= 0x08;                         /* chain 4 */
    r->ar[0x10] |= 0x01;                      /* graphics mode */
    r->cr[0x13] = (s->r.vbe_line_offset >> 3) & 0xff;
}

static void vbe_enable(VgaCommon *s, uint32_t val)
{
    uint16_t *v = s->r.vbe_regs;
    bool was = vbe_enabled(s);
    v[VBE_DISPI_INDEX_ENABLE] = val & (VBE_DISPI_ENABLED | VBE_DISPI_GETCAPS |
                                       VBE_DISPI_8BIT_DAC | VBE_DISPI_LFB_ENABLED |
                                       VBE_DISPI_NOCLEARMEM);
    if (!(val & VBE_DISPI_ENABLED)) {
        v[VBE_DISPI_INDEX_BANK] = 0;
        s->invalidate = true;
        return;
    }
    v[VBE_DISPI_INDEX_VIRT_WIDTH] = was ? v[VBE_DISPI_INDEX_VIRT_WIDTH] : 0;
    v[VBE_DISPI_INDEX_X_OFFSET] = v[VBE_DISPI_INDEX_Y_OFFSET] = 0;
    vbe_fixup(s);
    if (!(val & VBE_DISPI_NOCLEARMEM)) {
        uint64_t n = MIN((uint64_t)s->r.vbe_line_offset * v[VBE_DISPI_INDEX_YRES],
                         s->vram_size);
        memset(s->vram, 0, n);
        vram_dirty(s, 0, n);
    }
    if (s->legacy)
        vbe_set_vga_regs(s);
    s->invalidate = true;
}

void vbe_write(VgaCommon *s, unsigned index, uint32_t val)
{
    uint16_t *v = s->r.vbe_regs;
    val &= 0xffff;
    switch (index) {
    case VBE_DISPI_INDEX_ID:
        if (val >= VBE_DISPI_ID0 && val <= VBE_DISPI_ID5)
            v[index] = val;
        break;
    case VBE_DISPI_INDEX_XRES: case VBE_DISPI_INDEX_YRES: case VBE_DISPI_INDEX_BPP:
        if (!vbe_enabled(s)) {                /* mode registers change while off */
            v[index] = val;
        }
        break;
    case VBE_DISPI_INDEX_BANK:
        v[index] = MIN(val, (s->vram_size >> 16) - 1);
        break;
    case VBE_DISPI_INDEX_ENABLE:
        vbe_enable(s, val);
        break;
    case VBE_DISPI_INDEX_VIRT_WIDTH: case VBE_DISPI_INDEX_X_OFFSET:
    case VBE_DISPI_INDEX_Y_OFFSET:
        v[index] = val;
        if (vbe_enabled(s))
            vbe_fixup(s);
        break;
    default:
        break;                                /* read-only or unknown */
    }
}

/* ---- lifecycle ---- */

static void vga_load_mode3(VgaCommon *s)
{
    VgaRegs *r = &s->r;
    r->misc = 0x67;
    memcpy(r->sr, mode3_sr, sizeof(mode3_sr));
    memcpy(r->cr, mode3_cr, sizeof(mode3_cr));
    memcpy(r->gr, mode3_gr, sizeof(mode3_gr));
    memcpy(r->ar, mode3_ar, sizeof(mode3_ar));
    r->pel_mask = 0xff;
    /* DAC entries 0-63: the EGA palette (bit 0/1/2 = 2/3 blue/green/red, bit 3/4/5 =
     * 1/3 blue/green/red), in 6-bit DAC units. */
    for (int i = 0; i < 64; i++) {
        r->palette[i * 3 + 0] = ((i >> 2) & 1) * 0x2a + ((i >> 5) & 1) * 0x15;
        r->palette[i * 3 + 1] = ((i >> 1) & 1) * 0x2a + ((i >> 4) & 1) * 0x15;
        r->palette[i * 3 + 2] = ((i >> 0) & 1) * 0x2a + ((i >> 3) & 1) * 0x15;
    }
    /* Text: blank cells with light grey on black; the font in plane 2, map 0. */
    for (uint32_t c = 0; c < 80 * 25 && c * 4 + 1 < s->vram_size; c++) {
        s->vram[c * 4] = ' ';
        s->vram[c * 4 + 1] = 0x07;
    }
    for (uint32_t ch = 0; ch < 256; ch++)
        for (uint32_t l = 0; l < 16 && (ch * 32 + l) * 4 + 2 < s->vram_size; l++)
            s->vram[(ch * 32 + l) * 4 + 2] = vga_font_8x16[ch * 16 + l];
    vram_dirty(s, 0, s->vram_size);         /* reset cleared all of it */
}

void vga_common_reset(VgaCommon *s)
{
    memset(&s->r, 0, sizeof(s->r));
    memset(s->vram, 0, s->vram_size);
    s->r.vbe_regs[VBE_DISPI_INDEX_ID] = VBE_DISPI_ID5;
    s->r.vbe_regs[VBE_DISPI_INDEX_XRES] = 640;
    s->r.vbe_regs[VBE_DISPI_INDEX_YRES] = 480;
    s->r.vbe_regs[VBE_DISPI_INDEX_BPP] = 32;
    if (s->legacy)
        vga_load_mode3(s);
    s->font_gen++;
    s->pal_gen++;
    s->invalidate = true;
}

bool vga_common_init(VgaCommon *s, Device *dev, uint32_t vgamem_mb, bool legacy,
                     GError **errp)
{
    if (vgamem_mb < 1 || vgamem_mb > 512 || (vgamem_mb & (vgamem_mb - 1))) {
        g_set_error(errp, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                    "%s: vgamem_mb=%u: must be a power of two from 1 to 512", dev->cls->name,
                    vgamem_mb);
        return false;
    }
    s->m = dev->machine;
    s->dev = dev;
    s->legacy = legacy;
    s->vram_size = vgamem_mb << 20;
    s->vram = mmap(NULL, s->vram_size, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (s->vram == MAP_FAILED) {
        s->vram = NULL;
        g_set_error(errp, G_IO_ERROR, G_IO_ERROR_NO_SPACE,
                    "%s: cannot allocate %u MiB of video memory", dev->cls->name, vgamem_mb);
        return false;
    }
    s->log = (LogBudget)LOG_BUDGET_DEFAULT;
    s->cursor_drawn = -1;
    s->con = console_new(s->m, dev, 0, &vga_console_ops, s);
    vga_common_reset(s);
    return true;
}

void vga_common_free(VgaCommon *s)
{
    console_free(s->con);
    s->con = NULL;
    if (s->vram)
        munmap(s->vram, s->vram_size);
    s->vram = NULL;
    g_free(s->text_shadow);
    g_free(s->line);
    s->text_shadow = NULL;
    s->line = NULL;
}

void vga_post_load(VgaCommon *s)
{
    VgaRegs *r = &s->r;
    r->sr_index &= 7;
    r->gr_index &= 0xf;
    r->ar_index &= 0x3f;
    if (vbe_enabled(s))
        vbe_fixup(s);
    else
        r->vbe_start_addr = r->vbe_line_offset = 0;
    r->vbe_regs[VBE_DISPI_INDEX_BANK] = MIN(r->vbe_regs[VBE_DISPI_INDEX_BANK],
                                            (s->vram_size >> 16) - 1);
    s->font_gen++;
    s->pal_gen++;
    s->invalidate = true;
}

static const VMStateField vga_fields[] = {
    VMS_FIELD(VgaRegs, misc), VMS_FIELD(VgaRegs, feature), VMS_FIELD(VgaRegs, st01),
    VMS_FIELD(VgaRegs, sr_index), VMS_ARRAY(VgaRegs, sr),
    VMS_FIELD(VgaRegs, gr_index), VMS_ARRAY(VgaRegs, gr),
    VMS_FIELD(VgaRegs, cr_index), VMS_ARRAY(VgaRegs, cr),
    VMS_FIELD(VgaRegs, ar_index), VMS_ARRAY(VgaRegs, ar), VMS_FIELD(VgaRegs, ar_flip_flop),
    VMS_FIELD(VgaRegs, dac_state), VMS_FIELD(VgaRegs, dac_sub_index),
    VMS_FIELD(VgaRegs, dac_read_index), VMS_FIELD(VgaRegs, dac_write_index),
    VMS_ARRAY(VgaRegs, dac_cache), VMS_FIELD(VgaRegs, pel_mask),
    VMS_BUF(VgaRegs, palette), VMS_FIELD(VgaRegs, latch),
    VMS_FIELD(VgaRegs, vbe_index), VMS_ARRAY(VgaRegs, vbe_regs),
    VMS_FIELD(VgaRegs, vbe_start_addr), VMS_FIELD(VgaRegs, vbe_line_offset),
    VMS_END,
};

/* A stream is hostile input: the indices the register files are read with must be
 * ones a guest's writes can produce (the port handlers mask them the same way). The
 * dispi mode registers go through vbe_fixup() again in vga_post_load(), as a guest's
 * write to them does. */
static bool vga_regs_post_load(void *state, int version, GError **errp)
{
    const VgaRegs *r = state;
    const VgaCommon *s = (const VgaCommon *)((const char *)r - offsetof(VgaCommon, r));
    if (r->sr_index > 7 || r->gr_index > 0xf || r->ar_index > 0x3f)
        return vmstate_invalid(errp, "vga", "register index out of range (sr %u, gr %u, "
                               "ar %u)", r->sr_index, r->gr_index, r->ar_index);
    if (r->ar_flip_flop > 1 || r->dac_sub_index > 2 || (r->dac_state != 0 && r->dac_state != 3))
        return vmstate_invalid(errp, "vga", "attribute flip-flop %u / DAC state %u, "
                               "sub-index %u out of range", r->ar_flip_flop, r->dac_state,
                               r->dac_sub_index);
    if (r->vbe_start_addr >= s->vram_size || r->vbe_line_offset > s->vram_size)
        return vmstate_invalid(errp, "vga", "dispi start 0x%x / line offset %u outside "
                               "%u bytes of video memory", r->vbe_start_addr,
                               r->vbe_line_offset, s->vram_size);
    if (r->vbe_regs[VBE_DISPI_INDEX_BANK] > (s->vram_size >> 16) - 1)
        return vmstate_invalid(errp, "vga", "dispi bank %u outside %u bytes of video "
                               "memory", r->vbe_regs[VBE_DISPI_INDEX_BANK], s->vram_size);
    return true;
}

const VMStateDesc vga_regs_vmsd = {
    .name = "vga", .version = 1, .min_version = 1, .fields = vga_fields,
    .post_load = vga_regs_post_load,
};

/* Video memory: one buffer field whose size is this device's vram_size. */
static VMStateDesc vram_vmsd(VgaCommon *s, VMStateField f[2])
{
    f[0] = (VMStateField){ .name = "vram", .type = VMS_BUFFER, .size = s->vram_size,
                           .count = 1 };
    f[1] = (VMStateField){ .name = NULL };
    return (VMStateDesc){ .name = "vga.vram", .version = 1, .min_version = 1, .fields = f };
}

void vga_vram_save(VgaCommon *s, GByteArray *out)
{
    VMStateField f[2];
    VMStateDesc d = vram_vmsd(s, f);
    vmstate_save(&d, s->vram, out);
}

bool vga_vram_load(VgaCommon *s, const uint8_t *buf, size_t len, GError **errp)
{
    VMStateField f[2];
    VMStateDesc d = vram_vmsd(s, f);
    return vmstate_load(&d, s->vram, buf, len, errp) >= 0;
}
