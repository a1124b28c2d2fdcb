/*
 * Intel 82441FX PCI and memory controller (PMC), function 00.0 of the pc board:
 * 8086:1237 rev 02, class 0600 host bridge (82441FX datasheet, 3.2).
 *
 * PAM (3.2.18, programmable attribute map): registers 0x59..0x5f decide, for 0xf0000-
 * 0xfffff (PAM0 bits 5:4) and twelve 16 KiB segments from 0xc0000 (PAM1..PAM6, low
 * nibble first), whether reads (bit 0, RE) and writes (bit 1, WE) reach DRAM or the PCI
 * side, where the BIOS ROM answers from 0xe0000 up (the last 128 KiB of the image,
 * "isa-bios"). SeaBIOS runs from ROM, then copies itself to shadow RAM with WE|RE and
 * write-protects it with RE only. When the board leaves 0xc0000-0xfffff unmapped (pc.c
 * does), each segment is a region re-created on every PAM change: RAM (read-only when
 * only RE: KVM gives writes to the dispatcher, which drops them), the ROM (read-only),
 * nothing, or for WE without RE an I/O region that reads the ROM and writes DRAM.
 * SMRAM (0x72) is a plain register: Vireo has no SMM.
 */
#include "pci-internal.h"
#include "vireo/log.h"

#define I440FX_PMCCFG   0x50    /* PMC configuration, 2 bytes */
#define I440FX_DRAMC    0x57
#define I440FX_PAM0     0x59    /* PAM0..PAM6 */
#define I440FX_PAM_NUM  7
#define I440FX_DRB0     0x60    /* DRAM row boundaries, 8 bytes */
#define I440FX_SMRAM    0x72

#define PAM_SEGS        13
#define PAM_BIOS_BASE   0xe0000         /* where the isa-bios ROM is decoded */
#define PAM_BASE        0xc0000
#define PAM_END         0x100000

typedef enum { SEG_NONE, SEG_RAM, SEG_RAM_RO, SEG_ROM, SEG_ROM_READ_RAM_WRITE } SegKind;

typedef struct PamSeg {
    MemRegion mr;
    uint64_t base, size;
    SegKind kind;
    struct I440fx *owner;
} PamSeg;

typedef struct I440fx {
    PciDevice pci;
    bool pam_active;                    /* the board left the PAM range to us */
    const uint8_t *isa_bios;            /* 128 KiB decoded at 0xe0000, or NULL */
    PamSeg seg[PAM_SEGS];               /* [0] 0xf0000 64 KiB, [1..12] 0xc0000 + 16 KiB */
} I440fx;

/* Write-only segments (WE without RE): reads from the ROM side, writes to DRAM. */
static uint64_t seg_read(void *opaque, uint64_t off, unsigned size)
{
    PamSeg *g = opaque;
    const uint8_t *rom = g->owner->isa_bios;
    uint64_t v = 0;

    for (unsigned i = 0; i < size; i++) {
        uint64_t a = g->base + off + i;
        uint8_t b = rom && a >= PAM_BIOS_BASE ? rom[a - PAM_BIOS_BASE] : 0xff;
        v |= (uint64_t)b << (8 * i);
    }
    return v;
}

static void seg_write(void *opaque, uint64_t off, uint64_t val, unsigned size)
{
    PamSeg *g = opaque;

    memcpy(g->owner->pci.dev.machine->ram + g->base + off, &val, size);
}

static const MemOps seg_ops = { .read = seg_read, .write = seg_write };

static SegKind seg_kind(I440fx *s, unsigned i)
{
    uint8_t reg = pci_get_byte(&s->pci, I440FX_PAM0 + (i + 1) / 2);
    uint8_t attr = (i == 0 || (i % 2) == 0) ? reg >> 4 : reg;
    bool re = attr & 1, we = attr & 2, rom = s->isa_bios && s->seg[i].base >= PAM_BIOS_BASE;

    if (re)
        return we ? SEG_RAM : SEG_RAM_RO;
    if (we)
        return SEG_ROM_READ_RAM_WRITE;
    return rom ? SEG_ROM : SEG_NONE;
}

/* Re-creates the segments whose attributes changed (@force: all of them). */
static void pam_update(I440fx *s, bool force)
{
    Machine *m = s->pci.dev.machine;
    static const char *const names[] = { "pam-none", "pam-ram", "pam-ram-ro", "pam-rom",
                                         "pam-rom-wo" };

    if (!s->pam_active)
        return;
    for (unsigned i = 0; i < PAM_SEGS; i++) {
        PamSeg *g = &s->seg[i];
        SegKind k = seg_kind(s, i);
        g_autoptr(GError) err = NULL;
        if (k == g->kind && !force)
            continue;
        as_del_region(m->sysmem, &g->mr);
        g->kind = k;
        if (k == SEG_NONE)
            continue;
        if (k == SEG_ROM_READ_RAM_WRITE)
            mr_init_io(&g->mr, names[k], g->size, &seg_ops, g);
        else
            mr_init_ram(&g->mr, names[k], g->size, k == SEG_ROM
                        ? (void *)(s->isa_bios + g->base - PAM_BIOS_BASE)
                        : (void *)(m->ram + g->base));
        g->mr.readonly = k == SEG_RAM_RO || k == SEG_ROM;
        if (!as_add_region(m->sysmem, &g->mr, g->base, &err))
            g_warning("i440FX: %s", err->message);
    }
}

static void i440fx_config_write(PciDevice *d, uint32_t addr, uint32_t val, unsigned len)
{
    (void)val;
    if (pci_ranges_overlap(addr, len, I440FX_PAM0, I440FX_PAM_NUM))
        pam_update((I440fx *)d, false);
}

void i440fx_set_isa_bios(PciDevice *d, const uint8_t *rom)
{
    I440fx *s = (I440fx *)d;

    s->isa_bios = rom;
    pam_update(s, true);
}

void i440fx_set_pam(PciDevice *d, uint8_t attr)
{
    for (unsigned i = 0; i < I440FX_PAM_NUM; i++)
        pci_set_byte(d, I440FX_PAM0 + i, attr & 0x33);
    pam_update((I440fx *)d, false);
}

/* The segments are ours when the board mapped nothing between 0xc0000 and 1 MiB. */
static void pam_init(I440fx *s)
{
    Machine *m = s->pci.dev.machine;

    for (unsigned i = 0; i < PAM_SEGS; i++) {
        s->seg[i].owner = s;
        s->seg[i].kind = SEG_NONE;
        s->seg[i].base = i == 0 ? 0xf0000 : PAM_BASE + (i - 1) * 0x4000;
        s->seg[i].size = i == 0 ? 0x10000 : 0x4000;
    }
    s->pam_active = m->ram && m->below_4g >= PAM_END;
    for (uint64_t a = PAM_BASE; s->pam_active && a < PAM_END; a += 0x4000)
        s->pam_active = !as_find(m->sysmem, a);
}

static const PciDeviceInfo i440fx_pci_info = {
    .vendor_id = 0x8086,
    .device_id = 0x1237,
    .revision = 0x02,
    .class_code = 0x060000,
    .config_write = i440fx_config_write,
};

static bool i440fx_realize(Device *dev, GError **errp)
{
    PciDevice *d = &((I440fx *)dev)->pci;

    if (!pci_device_realize(d, &i440fx_pci_info, errp))
        return false;
    pci_set_wmask(d, I440FX_PMCCFG, 2, 0xffff);
    pci_set_wmask(d, I440FX_DRAMC, 1, 0xff);
    pci_set_wmask(d, I440FX_PAM0, I440FX_PAM_NUM, 0x33333333);
    pci_set_wmask(d, I440FX_DRB0, 8, 0xffffffff);
    pci_set_wmask(d, I440FX_SMRAM, 1, 0x78);
    pam_init((I440fx *)dev);
    return true;
}

static void i440fx_reset(Device *dev)
{
    PciDevice *d = &((I440fx *)dev)->pci;

    pci_device_reset(d);
    for (unsigned i = 0; i < I440FX_PAM_NUM; i++)
        pci_set_byte(d, I440FX_PAM0 + i, 0);
    pci_set_byte(d, I440FX_SMRAM, 0x02);    /* default value from the datasheet */
    pam_update((I440fx *)dev, false);
}

static void i440fx_unrealize(Device *dev)
{
    I440fx *s = (I440fx *)dev;

    for (unsigned i = 0; i < PAM_SEGS; i++)
        as_del_region(dev->machine->sysmem, &s->seg[i].mr);
    pci_device_unrealize(&s->pci);
}

/* The PAM registers arrive with the PCI state: rebuild the segments from them. */
static void i440fx_post_load(Device *dev)
{
    pam_update((I440fx *)dev, false);
}

const DeviceClass i440fx_class = {
    .name = "i440FX",
    .desc = "Intel 82441FX host bridge (pc board, 00.0)",
    .bus = BUS_PCI,
    .instance_size = sizeof(I440fx),
    .user_creatable = false,
    .realize = i440fx_realize,
    .reset = i440fx_reset,
    .unrealize = i440fx_unrealize,
    .post_load = i440fx_post_load,
    /* No state beyond the PCI part (PAM registers included), which pci_device_vmsd
     * carries. */
};
