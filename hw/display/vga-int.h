/*
 * The VGA core shared by "VGA" (legacy VGA + Bochs VBE) and "bochs-display" (VBE only):
 * registers, video memory, and rendering into a console (hw/display/vga*.c).
 *
 * References: IBM VGA technical reference (register sets, memory maps, read/write
 * modes), the Bochs VBE "dispi" interface (bochs vbe.h: index 0x1ce / data 0x1cf), QEMU's
 * stdvga MMIO BAR layout (docs/specs/standard-vga.txt: EDID at 0x000, VGA ports
 * 0x3c0-0x3df at 0x400, dispi registers at 0x500, QEMU extended registers at 0x600).
 *
 * Video memory layout, as QEMU's: legacy planar memory interleaves the four planes,
 * byte 4*a+p holding plane p at plane offset a; chain-4 (mode 13h) and VBE modes see it
 * as linear bytes. Every index into it is bounded by vram_size.
 * Locking: machine lock held (vCPU exits and the main loop).
 */
#ifndef HW_DISPLAY_VGA_INT_H
#define HW_DISPLAY_VGA_INT_H

#include "vireo/console.h"
#include "vireo/log.h"
#include "vireo/machine.h"
#include "vireo/pci.h"
#include "vireo/ramblock.h"

/* Bochs VBE dispi registers (index port 0x1ce, data 0x1cf). */
#define VBE_DISPI_INDEX_ID              0x0
#define VBE_DISPI_INDEX_XRES            0x1
#define VBE_DISPI_INDEX_YRES            0x2
#define VBE_DISPI_INDEX_BPP             0x3
#define VBE_DISPI_INDEX_ENABLE          0x4
#define VBE_DISPI_INDEX_BANK            0x5
#define VBE_DISPI_INDEX_VIRT_WIDTH      0x6
#define VBE_DISPI_INDEX_VIRT_HEIGHT     0x7
#define VBE_DISPI_INDEX_X_OFFSET        0x8
#define VBE_DISPI_INDEX_Y_OFFSET        0x9
#define VBE_DISPI_INDEX_VIDEO_MEMORY_64K 0xa
#define VBE_DISPI_INDEX_NB              0xb

#define VBE_DISPI_ID0                   0xb0c0
#define VBE_DISPI_ID5                   0xb0c5
#define VBE_DISPI_MAX_XRES              16000
#define VBE_DISPI_MAX_YRES              12000
#define VBE_DISPI_MAX_BPP               32

#define VBE_DISPI_ENABLED               0x01
#define VBE_DISPI_GETCAPS               0x02
#define VBE_DISPI_8BIT_DAC              0x20
#define VBE_DISPI_LFB_ENABLED           0x40
#define VBE_DISPI_NOCLEARMEM            0x80

#define VGA_MAX_TEXT_CELLS              (256 * 256)

/* Guest-visible state: what the device's VMStateDesc migrates (video memory travels
 * as its own section, vga_vram_vmsd). */
typedef struct VgaRegs {
    uint8_t misc, feature, st01;
    uint8_t sr_index, sr[8];
    uint8_t gr_index, gr[16];
    uint8_t cr_index, cr[64];
    uint8_t ar_index, ar[21], ar_flip_flop;
    uint8_t dac_state, dac_sub_index, dac_read_index, dac_write_index, dac_cache[3];
    uint8_t pel_mask;
    uint8_t palette[768];
    uint32_t latch;
    uint16_t vbe_index;
    uint16_t vbe_regs[VBE_DISPI_INDEX_NB];
    uint32_t vbe_start_addr;          /* derived from the dispi registers, re-checked */
    uint32_t vbe_line_offset;
} VgaRegs;

/* What a graphics frame's row addresses and pixel decoding depend on, besides the DAC
 * (pal_gen): when it changes, pages nobody wrote may show different pixels. */
typedef struct VgaDrawKey {
    uint8_t cr[0x14], gr5, gr6, sr1, pel_mask, ar[21];
    uint16_t vbe_regs[VBE_DISPI_INDEX_NB];   /* the bank is left out: it moves no pixel */
    uint32_t vbe_start_addr, vbe_line_offset;
} VgaDrawKey;

typedef struct VgaCommon {
    Machine *m;
    Device *dev;
    VgaRegs r;
    uint8_t *vram;                    /* vram_size bytes, mmap'd (a RAM BAR) */
    uint32_t vram_size;
    RamBlock *vram_block;             /* "SLOT.FN/vga.vram": migrated as RAM (tracked) */
    bool legacy;                      /* VGA ports and the 0xa0000 window decode */
    Console *con;
    LogBudget log;
    /* Rendering (not migrated; rebuilt by a full redraw). */
    bool invalidate;
    unsigned font_gen, pal_gen;       /* bumped by plane-2 writes / palette writes */
    unsigned drawn_font_gen, drawn_pal_gen;
    uint16_t *text_shadow;            /* char | attr << 8 per cell, as last drawn */
    unsigned text_cells;
    int cursor_drawn;                 /* cell index of the drawn cursor, -1: none */
    uint32_t *line;                   /* one rendered row */
    int line_cap;
    /* Display dirty logging of the framebuffer BAR (docs/display.md): while a console
     * listener exists, graphics rows are drawn only where their pages were written. */
    MemRegion *vram_bar;              /* BAR 0's RAM region (s->vram) */
    bool dirty_log;                   /* as_log_display_start'ed (listeners exist) */
    VgaDrawKey drawn_key;             /* the registers the last frame was drawn with */
    MemRegion lowmem_mr, ioport_mr, vbe_mr;
} VgaCommon;

/* vga.c */
bool vga_common_init(VgaCommon *s, Device *dev, uint32_t vgamem_mb, bool legacy,
                     GError **errp);
void vga_common_free(VgaCommon *s);
/* Power-on state: legacy VGAs come up in 80x25 text mode (mode 3) with the 8x16 font
 * in plane 2, as the VGA BIOS leaves them; VBE off. */
void vga_common_reset(VgaCommon *s);
uint32_t vga_ioport_read(VgaCommon *s, uint32_t port);
void vga_ioport_write(VgaCommon *s, uint32_t port, uint32_t val);
uint32_t vga_mem_read(VgaCommon *s, uint32_t addr);
void vga_mem_write(VgaCommon *s, uint32_t addr, uint32_t val);
uint32_t vbe_read(VgaCommon *s, unsigned index);
void vbe_write(VgaCommon *s, unsigned index, uint32_t val);
bool vbe_enabled(const VgaCommon *s);
/* After loading VgaRegs from a stream: clamps what a hostile stream could set. */
void vga_post_load(VgaCommon *s);
extern const VMStateDesc vga_regs_vmsd;
/* Video memory as a VMState section ("vga.vram", vram_size bytes at s->vram). */
void vga_vram_save(VgaCommon *s, GByteArray *out);
bool vga_vram_load(VgaCommon *s, const uint8_t *buf, size_t len, GError **errp);

/* vga-render.c */
extern const ConsoleHwOps vga_console_ops;

#endif
