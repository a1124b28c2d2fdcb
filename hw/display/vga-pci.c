/*
 * "VGA" (QEMU's standard VGA, -vga std: PCI 1234:1111 class 0300) and "bochs-display"
 * (the same dispi interface without legacy VGA, class 0380), after QEMU's
 * docs/specs/standard-vga.txt:
 *   BAR 0: the framebuffer (vgamem_mb MiB, prefetchable; guest writes go straight to
 *          host memory), BAR 2: 4 KiB MMIO: 0x400-0x41f the VGA ports 0x3c0-0x3df,
 *          0x500-0x515 the dispi registers (16 bits each), 0x600-0x607 QEMU's extended
 *          registers (size, framebuffer endianness).
 *   Legacy (VGA only): ports 0x3b0-0x3df, dispi index/data at 0x1ce/0x1cf, the
 *          0xa0000-0xbffff memory window. One legacy VGA per machine.
 */
#include "vga-int.h"
#include <inttypes.h>
#include <string.h>

#define PCI_VGA_MMIO_SIZE       0x1000
#define PCI_VGA_IOPORT_OFFSET   0x400
#define PCI_VGA_BOCHS_OFFSET    0x500
#define PCI_VGA_QEXT_OFFSET     0x600
#define PCI_VGA_QEXT_SIZE       8
#define QEXT_LITTLE_ENDIAN      0x1e1e1e1e

typedef struct VgaPci {
    PciDevice pci;                    /* first member */
    VgaCommon vga;
    uint32_t vgamem_mb;               /* property (VGA) */
    uint64_t vgamem;                  /* property (bochs-display): bytes */
    bool mmio, qext;                  /* properties */
} VgaPci;

/* ---- legacy ports and window ---- */

static uint64_t ioport_read(void *opaque, uint64_t off, unsigned size)
{
    return vga_ioport_read(opaque, 0x3b0 + off);
}

static void ioport_write(void *opaque, uint64_t off, uint64_t val, unsigned size)
{
    vga_ioport_write(opaque, 0x3b0 + off, val);
}

static const MemOps ioport_ops = {
    .read = ioport_read, .write = ioport_write, .min_access = 1, .max_access = 1,
};

static uint64_t dispi_read(void *opaque, uint64_t off, unsigned size)
{
    VgaCommon *s = opaque;
    return off == 0 ? s->r.vbe_index : vbe_read(s, s->r.vbe_index);
}

static void dispi_write(void *opaque, uint64_t off, uint64_t val, unsigned size)
{
    VgaCommon *s = opaque;
    if (off == 0)
        s->r.vbe_index = val & 0xffff;
    else
        vbe_write(s, s->r.vbe_index, val);
}

/* 16-bit ports: 0x1ce index, 0x1cf data (and 0x1d0, QEMU's alternative data port); a
 * byte access reaches the same register. */
static uint64_t dispi_port_read(void *opaque, uint64_t off, unsigned size)
{
    return dispi_read(opaque, off >= 1, size);
}

static void dispi_port_write(void *opaque, uint64_t off, uint64_t val, unsigned size)
{
    dispi_write(opaque, off >= 1, val, size);
}

static const MemOps dispi_ops = {
    .read = dispi_port_read, .write = dispi_port_write, .min_access = 1, .max_access = 2,
};

static uint64_t lowmem_read(void *opaque, uint64_t off, unsigned size)
{
    return vga_mem_read(opaque, off);
}

static void lowmem_write(void *opaque, uint64_t off, uint64_t val, unsigned size)
{
    vga_mem_write(opaque, off, val);
}

static const MemOps lowmem_ops = {
    .read = lowmem_read, .write = lowmem_write, .min_access = 1, .max_access = 1,
};

/* ---- BAR 2 ---- */

static uint64_t mmio_read(void *opaque, uint64_t off, unsigned size)
{
    VgaPci *v = opaque;
    VgaCommon *s = &v->vga;
    if (off >= PCI_VGA_IOPORT_OFFSET && off < PCI_VGA_IOPORT_OFFSET + 0x20) {
        if (!s->legacy)
            return ~0ull;
        uint64_t r = 0;
        for (unsigned i = 0; i < size && off + i < PCI_VGA_IOPORT_OFFSET + 0x20; i++)
            r |= (uint64_t)vga_ioport_read(s, 0x3c0 + off - PCI_VGA_IOPORT_OFFSET + i) << (8 * i);
        return r;
    }
    if (off >= PCI_VGA_BOCHS_OFFSET && off < PCI_VGA_BOCHS_OFFSET + 2 * VBE_DISPI_INDEX_NB)
        return vbe_read(s, (off - PCI_VGA_BOCHS_OFFSET) / 2);
    if (v->qext && off == PCI_VGA_QEXT_OFFSET)
        return PCI_VGA_QEXT_SIZE;
    if (v->qext && off == PCI_VGA_QEXT_OFFSET + 4)
        return QEXT_LITTLE_ENDIAN;
    return 0;                         /* EDID area (no EDID: edid is not offered) */
}

static void mmio_write(void *opaque, uint64_t off, uint64_t val, unsigned size)
{
    VgaPci *v = opaque;
    VgaCommon *s = &v->vga;
    if (off >= PCI_VGA_IOPORT_OFFSET && off < PCI_VGA_IOPORT_OFFSET + 0x20) {
        for (unsigned i = 0; s->legacy && i < size &&
             off + i < PCI_VGA_IOPORT_OFFSET + 0x20; i++)
            vga_ioport_write(s, 0x3c0 + off - PCI_VGA_IOPORT_OFFSET + i, val >> (8 * i));
    } else if (off >= PCI_VGA_BOCHS_OFFSET &&
               off < PCI_VGA_BOCHS_OFFSET + 2 * VBE_DISPI_INDEX_NB) {
        vbe_write(s, (off - PCI_VGA_BOCHS_OFFSET) / 2, val);
    } else if (v->qext && off == PCI_VGA_QEXT_OFFSET + 4 && val != QEXT_LITTLE_ENDIAN) {
        log_budget_warn(&s->log, "%s: big-endian framebuffer requested; only "
                        "little-endian is supported", s->dev->cls->name);
    }
}

static const MemOps mmio_ops = {
    .read = mmio_read, .write = mmio_write, .min_access = 1, .max_access = 4,
};

/* ---- device ---- */

static const PciDeviceInfo vga_pci_info = {
    .vendor_id = 0x1234, .device_id = 0x1111, .class_code = 0x030000, .revision = 2,
    .subsystem_vendor_id = 0x1af4, .subsystem_id = 0x1100,
    .romfile = "vgabios-stdvga.bin",            /* SeaBIOS's VGA BIOS */
    .romfile_package = "seabios",               /* loaded for direct boots too */
};
static const PciDeviceInfo bochs_pci_info = {
    .vendor_id = 0x1234, .device_id = 0x1111, .class_code = 0x038000, .revision = 2,
    .subsystem_vendor_id = 0x1af4, .subsystem_id = 0x1100,
    .romfile = "vgabios-bochs-display.bin", .romfile_package = "seabios",
};

static bool vga_map_legacy(VgaPci *v, GError **errp)
{
    VgaCommon *s = &v->vga;
    Machine *m = s->m;
    if (m->legacy_vga) {
        g_set_error(errp, G_IO_ERROR, G_IO_ERROR_EXISTS, "%s: a VGA with legacy I/O "
                    "ports and memory exists already (use bochs-display for a second "
                    "display)", s->dev->cls->name);
        return false;
    }
    mr_init_io(&s->ioport_mr, "vga-ioports", 0x30, &ioport_ops, s);
    mr_init_io(&s->vbe_mr, "vbe-dispi", 3, &dispi_ops, s);
    mr_init_io(&s->lowmem_mr, "vga-lowmem", 0x20000, &lowmem_ops, s);
    if (!as_add_region(m->io, &s->ioport_mr, 0x3b0, errp) ||
        !as_add_region(m->io, &s->vbe_mr, 0x1ce, errp) ||
        !as_add_region(m->sysmem, &s->lowmem_mr, 0xa0000, errp)) {
        as_del_region(m->io, &s->ioport_mr);
        as_del_region(m->io, &s->vbe_mr);
        g_prefix_error(errp, "%s: ", s->dev->cls->name);
        return false;
    }
    m->legacy_vga = true;
    return true;
}

static void vga_pci_unrealize(Device *dev);

static bool vga_pci_realize_common(Device *dev, const PciDeviceInfo *info, bool legacy,
                                   GError **errp)
{
    VgaPci *v = (VgaPci *)dev;
    if (!vga_common_init(&v->vga, dev, v->vgamem_mb, legacy, errp))
        return false;
    bool ok = pci_device_realize(&v->pci, info, errp);
    if (ok && pci_register_bar_ram(&v->pci, 0, PCI_BAR_MEM32 | PCI_BAR_PREFETCH,
                                   v->vga.vram_size, v->vga.vram) < 0) {
        g_set_error(errp, G_IO_ERROR, G_IO_ERROR_FAILED, "%s: vgamem_mb=%u: the "
                    "framebuffer BAR cannot be registered", dev->cls->name, v->vgamem_mb);
        ok = false;
    }
    if (ok)
        v->vga.vram_bar = &v->pci.bars[0].mr;
    if (ok) {
        /* QEMU's block name: the PCI address, then "vga.vram". */
        g_autofree char *name = g_strdup_printf("0000:00:%02x.%x/vga.vram",
                                                PCI_SLOT(v->pci.devfn), PCI_FUNC(v->pci.devfn));
        v->vga.vram_block = ram_block_register(dev->machine, name, v->vga.vram,
                                               v->vga.vram_size, RAM_BLOCK_TRACKED);
        if (!v->vga.vram_block) {
            g_set_error(errp, G_IO_ERROR, G_IO_ERROR_EXISTS, "%s: RAM block '%s' exists "
                        "already", dev->cls->name, name);
            ok = false;
        }
    }
    if (ok && v->mmio)
        pci_register_bar(&v->pci, 2, PCI_BAR_MEM32, PCI_VGA_MMIO_SIZE, &mmio_ops, v);
    ok = ok && (!legacy || vga_map_legacy(v, errp));
    if (!ok)
        vga_pci_unrealize(dev);
    return ok;
}

static bool vga_realize(Device *dev, GError **errp)
{
    return vga_pci_realize_common(dev, &vga_pci_info, true, errp);
}

static bool bochs_realize(Device *dev, GError **errp)
{
    VgaPci *v = (VgaPci *)dev;
    /* QEMU's bochs-display: vgamem= in bytes, 4 MiB to 256 MiB, rounded up to a power
     * of two; the MMIO BAR (dispi and QEMU's extended registers) is always there. */
    if (v->vgamem < (4u << 20) || v->vgamem > (256u << 20)) {
        g_set_error(errp, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                    "bochs-display: vgamem=%" PRIu64 ": must be 4 MiB to 256 MiB", v->vgamem);
        return false;
    }
    uint32_t mb = 4;
    while ((uint64_t)mb << 20 < v->vgamem)
        mb <<= 1;
    v->vgamem_mb = mb;
    v->mmio = v->qext = true;
    return vga_pci_realize_common(dev, &bochs_pci_info, false, errp);
}

static void vga_pci_reset(Device *dev)
{
    VgaPci *v = (VgaPci *)dev;
    pci_device_reset(&v->pci);
    vga_common_reset(&v->vga);
}

static void vga_pci_unrealize(Device *dev)
{
    VgaPci *v = (VgaPci *)dev;
    VgaCommon *s = &v->vga;
    if (s->vram_bar && s->m)
        as_log_display_stop(s->m->sysmem, s->vram_bar);     /* before the BAR goes */
    s->vram_bar = NULL;
    s->dirty_log = false;
    if (s->legacy && s->m && s->lowmem_mr.mapped) {
        as_del_region(s->m->io, &s->ioport_mr);
        as_del_region(s->m->io, &s->vbe_mr);
        as_del_region(s->m->sysmem, &s->lowmem_mr);
        s->m->legacy_vga = false;
    }
    pci_device_unrealize(&v->pci);
    if (s->vram_block)
        ram_block_unregister(dev->machine, s->vram_block);
    s->vram_block = NULL;
    vga_common_free(s);
}

static void vga_pci_post_load(Device *dev)
{
    vga_post_load(&((VgaPci *)dev)->vga);
}

static const Property vga_props[] = {
    PROP("vgamem_mb", PROP_U32, VgaPci, vgamem_mb, "16",
         "video memory in MiB (a power of two, 1-512)"),
    PROP("mmio", PROP_BOOL, VgaPci, mmio, "on",
         "MMIO BAR 2 with the VGA and dispi registers"),
    PROP("qemu-extended-regs", PROP_BOOL, VgaPci, qext, "on",
         "QEMU's extended registers in the MMIO BAR"),
    PROP_END,
};

static const Property bochs_props[] = {
    PROP("vgamem", PROP_SIZE, VgaPci, vgamem, "16777216", "video memory (4M to 256M)"),
    PROP_END,
};

/* QEMU's abstract parent of VGA (and its secondary-vga sibling). */
const DeviceClass pci_vga_class = {
    .name = "pci-vga", .parent = &pci_device_class, .abstract = true, .bus = BUS_PCI,
};

const DeviceClass vga_pci_class = {
    .name = "VGA",
    .parent = &pci_vga_class,
    .desc = "standard VGA with Bochs VBE extensions (-vga std)",
    .bus = BUS_PCI,
    .instance_size = sizeof(VgaPci),
    .props = vga_props,
    .user_creatable = true,
    .realize = vga_realize,
    .reset = vga_pci_reset,
    .unrealize = vga_pci_unrealize,
    .vmsd = &vga_regs_vmsd,
    .state_offset = offsetof(VgaPci, vga.r),
    .post_load = vga_pci_post_load,
};

const DeviceClass bochs_display_class = {
    .name = "bochs-display",
    .desc = "Bochs dispi framebuffer without legacy VGA",
    .bus = BUS_PCI,
    .instance_size = sizeof(VgaPci),
    .props = bochs_props,
    .user_creatable = true,
    .realize = bochs_realize,
    .reset = vga_pci_reset,
    .unrealize = vga_pci_unrealize,
    .vmsd = &vga_regs_vmsd,
    .state_offset = offsetof(VgaPci, vga.r),
    .post_load = vga_pci_post_load,
};

/* For tests and the migration of video memory. */
VgaCommon *vga_pci_common(Device *dev)
{
    return &((VgaPci *)dev)->vga;
}
