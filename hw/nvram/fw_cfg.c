/*
 * fw_cfg_io (include/vireo/fw_cfg.h; QEMU docs/specs/fw_cfg.txt).
 *
 * Guest interface on the pc board:
 *   0x510 (16-bit write)  selector: picks an item, rewinds its offset to 0;
 *   0x510/0x511 (8-bit read) the next data byte (0 past the end or for no item);
 *   0x514..0x51b          DMA address register, big-endian: a 32-bit write to 0x514
 *                         sets the high half, one to 0x518 the low half and starts the
 *                         transfer (a 64-bit write does both); reads give "QEMU CFG".
 * A DMA transfer reads the FWCfgDmaAccess descriptor { be32 control; be32 length;
 * be64 address; } from guest RAM, performs it and writes control back as 0, or with
 * the error bit when a range is not guest RAM or a write is attempted.
 *
 * Bounded work: a transfer copies at most the item's remaining bytes and zero-fills at
 * most the descriptor's length of guest RAM (never more than the RAM that exists).
 */
#include "vireo/fw_cfg.h"
#include "vireo/log.h"
#include "vireo/machine.h"
#include <string.h>

#define FW_CFG_FILE_SLOTS_DFLT  0x20
#define FW_CFG_FILE_SLOTS_MAX   0x1000
#define FW_CFG_DMA_DESC_LEN     16

typedef struct FwCfgItem {
    uint8_t *data;                  /* g_malloc'd, owned */
    uint32_t len;
} FwCfgItem;

typedef struct FwCfgFile {
    char name[FW_CFG_MAX_FILE_PATH];
    FwCfgItem item;
} FwCfgFile;

/* Guest-visible state (migrated). */
typedef struct FwCfgState {
    uint16_t cur_entry;
    uint32_t cur_offset;
    uint64_t dma_addr;
} FwCfgState;

typedef struct FwCfg {
    Device dev;
    bool dma_enabled;               /* property dma_enabled */
    uint16_t file_slots;            /* property x-file-slots */
    MemRegion comb_mr, dma_mr;
    FwCfgItem items[FW_CFG_FILE_FIRST];
    FwCfgItem arch_items[FW_CFG_ARCH_KEYS];
    FwCfgFile *files;               /* sorted by name; selector FILE_FIRST + index */
    unsigned nfiles;
    uint8_t *dir;                   /* FW_CFG_FILE_DIR contents, rebuilt on change */
    LogBudget log;
    FwCfgState state;
} FwCfg;

static FwCfg *FWCFG(Device *d) { return (FwCfg *)d; }

static void item_set(FwCfgItem *it, void *data, size_t len)
{
    g_free(it->data);
    it->data = data;
    it->len = len;
}

/* The item a selector value names (write and arch bits as QEMU decodes them). */
static FwCfgItem *item_for(FwCfg *s, uint16_t key)
{
    uint16_t idx = key & FW_CFG_ENTRY_MASK;

    if (key == FW_CFG_INVALID)
        return NULL;
    if (key & FW_CFG_ARCH_LOCAL)
        return idx < FW_CFG_ARCH_KEYS ? &s->arch_items[idx] : NULL;
    if (idx < FW_CFG_FILE_FIRST)
        return &s->items[idx];
    idx -= FW_CFG_FILE_FIRST;
    return idx < s->nfiles ? &s->files[idx].item : NULL;
}

static void select_key(FwCfg *s, uint16_t key)
{
    s->state.cur_offset = 0;
    s->state.cur_entry = item_for(s, key) ? key : FW_CFG_INVALID;
}

static uint8_t data_read_byte(FwCfg *s)
{
    FwCfgItem *it = item_for(s, s->state.cur_entry);

    if (!it || !it->data || s->state.cur_offset >= it->len)
        return 0;
    return it->data[s->state.cur_offset++];
}

/* Combined selector/data port at 0x510 (2 bytes), as QEMU's "fwcfg" region: a 16-bit
 * write selects, an 8-bit read at either byte returns the next data byte. */
static uint64_t comb_read(void *opaque, uint64_t off, unsigned size)
{
    FwCfg *s = opaque;
    uint64_t v = 0;

    (void)off;
    for (unsigned i = 0; i < size; i++)
        v |= (uint64_t)data_read_byte(s) << (8 * i);
    return v;
}

static void comb_write(void *opaque, uint64_t off, uint64_t val, unsigned size)
{
    if (off == 0 && size == 2)
        select_key(opaque, val);
    /* 8-bit writes to the data port are ignored (read-only items). */
}

static const MemOps comb_ops = {
    .read = comb_read, .write = comb_write, .min_access = 1, .max_access = 2,
};

/* Copies to guest RAM (read) or zero-fills it; false when the range is not all RAM. */
static bool dma_fill(FwCfg *s, uint64_t gpa, const uint8_t *src, uint32_t len)
{
    AddressSpace *as = s->dev.machine->sysmem;
    uint8_t *p;

    if (len == 0)
        return true;
    p = as_ram_ptr_writable(as, gpa, len);
    if (!p)
        return false;
    if (src)
        memcpy(p, src, len);
    else
        memset(p, 0, len);
    return true;
}

/* One transfer (fw_cfg.txt, "DMA interface"). Returns the control word to write back. */
static uint32_t dma_run(FwCfg *s, uint32_t control, uint32_t length, uint64_t addr)
{
    bool read = control & FW_CFG_DMA_CTL_READ, write = control & FW_CFG_DMA_CTL_WRITE;

    if (control & FW_CFG_DMA_CTL_SELECT)
        select_key(s, control >> 16);
    if (!read && !write && !(control & FW_CFG_DMA_CTL_SKIP))
        return 0;
    while (length > 0) {
        FwCfgItem *it = item_for(s, s->state.cur_entry);
        uint32_t avail = it && it->data && s->state.cur_offset < it->len
                         ? it->len - s->state.cur_offset : 0;
        uint32_t n = avail ? MIN(length, avail) : length;
        if (write)
            return FW_CFG_DMA_CTL_ERROR;        /* no writable item exists */
        if (read && !dma_fill(s, addr, avail ? it->data + s->state.cur_offset : NULL, n)) {
            log_budget_warn(&s->log, "fw_cfg: DMA to 0x%" G_GINT64_MODIFIER "x+%u is not "
                            "guest RAM", addr, n);
            return FW_CFG_DMA_CTL_ERROR;
        }
        if (avail)
            s->state.cur_offset += n;
        addr += n;
        length -= n;
    }
    return 0;
}

static void dma_transfer(FwCfg *s)
{
    AddressSpace *as = s->dev.machine->sysmem;
    uint64_t desc = s->state.dma_addr;
    uint8_t d[FW_CFG_DMA_DESC_LEN];
    uint32_t control, length, result;

    s->state.dma_addr = 0;
    if (!as_dma_read(as, desc, d, sizeof(d))) {
        log_budget_warn(&s->log, "fw_cfg: DMA descriptor at 0x%" G_GINT64_MODIFIER "x is "
                        "not guest RAM", desc);
        return;
    }
    control = GUINT32_FROM_BE(*(uint32_t *)d);
    length = GUINT32_FROM_BE(*(uint32_t *)(d + 4));
    result = GUINT32_TO_BE(dma_run(s, control, length,
                                   GUINT64_FROM_BE(*(uint64_t *)(d + 8))));
    as_dma_write(as, desc, &result, 4);
}

static uint64_t dma_read(void *opaque, uint64_t off, unsigned size)
{
    uint64_t v = 0;

    (void)opaque;
    for (unsigned i = 0; i < size && off + i < 8; i++)
        v |= ((FW_CFG_DMA_SIGNATURE >> (8 * (7 - (off + i)))) & 0xff) << (8 * i);
    return v;
}

static void dma_write(void *opaque, uint64_t off, uint64_t val, unsigned size)
{
    FwCfg *s = opaque;

    if (size == 8 && off == 0) {
        s->state.dma_addr = GUINT64_FROM_BE(val);
        dma_transfer(s);
    } else if (size == 4 && off == 0) {
        s->state.dma_addr = (uint64_t)GUINT32_FROM_BE((uint32_t)val) << 32;
    } else if (size == 4 && off == 4) {
        s->state.dma_addr |= GUINT32_FROM_BE((uint32_t)val);
        dma_transfer(s);
    }
}

static const MemOps dma_ops = {
    .read = dma_read, .write = dma_write, .min_access = 1, .max_access = 8,
};

/* ---- board side ---- */

void fw_cfg_add_bytes_take(Device *fw, uint16_t key, void *data, size_t len)
{
    FwCfgItem *it = key < FW_CFG_FILE_FIRST || (key & FW_CFG_ARCH_LOCAL)
                    ? item_for(FWCFG(fw), key) : NULL;

    g_assert(it && len <= UINT32_MAX);
    item_set(it, data, len);
}

void fw_cfg_add_bytes(Device *fw, uint16_t key, const void *data, size_t len)
{
    fw_cfg_add_bytes_take(fw, key, g_memdup2(data, len), len);
}

void fw_cfg_add_i16(Device *fw, uint16_t key, uint16_t v)
{
    v = GUINT16_TO_LE(v);
    fw_cfg_add_bytes(fw, key, &v, 2);
}

void fw_cfg_add_i32(Device *fw, uint16_t key, uint32_t v)
{
    v = GUINT32_TO_LE(v);
    fw_cfg_add_bytes(fw, key, &v, 4);
}

void fw_cfg_add_i64(Device *fw, uint16_t key, uint64_t v)
{
    v = GUINT64_TO_LE(v);
    fw_cfg_add_bytes(fw, key, &v, 8);
}

/* Directory (fw_cfg.txt, "File Directory"): be32 count, then per file be32 size,
 * be16 select, be16 reserved, char name[56]. */
static void rebuild_dir(FwCfg *s)
{
    size_t len = 4 + (size_t)s->nfiles * 64;
    uint8_t *d = g_malloc0(len);

    *(uint32_t *)d = GUINT32_TO_BE(s->nfiles);
    for (unsigned i = 0; i < s->nfiles; i++) {
        uint8_t *e = d + 4 + i * 64;
        *(uint32_t *)e = GUINT32_TO_BE(s->files[i].item.len);
        *(uint16_t *)(e + 4) = GUINT16_TO_BE(FW_CFG_FILE_FIRST + i);
        memcpy(e + 8, s->files[i].name, FW_CFG_MAX_FILE_PATH);
    }
    item_set(&s->items[FW_CFG_FILE_DIR], d, len);
}

bool fw_cfg_add_file_take(Device *fw, const char *name, void *data, size_t len,
                          GError **errp)
{
    FwCfg *s = FWCFG(fw);
    unsigned i = 0;

    if (strlen(name) >= FW_CFG_MAX_FILE_PATH || len > UINT32_MAX) {
        g_set_error(errp, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT, "fw_cfg: file '%s': %s",
                    name, len > UINT32_MAX ? "too large" : "name longer than 55 bytes");
        g_free(data);
        return false;
    }
    while (i < s->nfiles && strcmp(s->files[i].name, name) < 0)
        i++;
    if (i < s->nfiles && !strcmp(s->files[i].name, name)) {
        item_set(&s->files[i].item, data, len);
    } else if (s->nfiles >= s->file_slots) {
        g_set_error(errp, G_IO_ERROR, G_IO_ERROR_NO_SPACE, "fw_cfg: file '%s': all %u "
                    "file slots are taken (x-file-slots)", name, s->file_slots);
        g_free(data);
        return false;
    } else {
        memmove(&s->files[i + 1], &s->files[i], (s->nfiles - i) * sizeof(FwCfgFile));
        memset(&s->files[i], 0, sizeof(FwCfgFile));
        g_strlcpy(s->files[i].name, name, FW_CFG_MAX_FILE_PATH);
        item_set(&s->files[i].item, data, len);
        s->nfiles++;
    }
    rebuild_dir(s);
    return true;
}

bool fw_cfg_add_file(Device *fw, const char *name, const void *data, size_t len,
                     GError **errp)
{
    return fw_cfg_add_file_take(fw, name, g_memdup2(data, len), len, errp);
}

const uint8_t *fw_cfg_file(Device *fw, const char *name, size_t *len)
{
    FwCfg *s = FWCFG(fw);

    for (unsigned i = 0; i < s->nfiles; i++)
        if (!strcmp(s->files[i].name, name)) {
            *len = s->files[i].item.len;
            return s->files[i].item.data;
        }
    return NULL;
}

const uint8_t *fw_cfg_item(Device *fw, uint16_t key, size_t *len)
{
    FwCfgItem *it = item_for(FWCFG(fw), key);

    *len = it ? it->len : 0;
    return it ? it->data : NULL;
}

/* ---- device ---- */

static const Property fw_cfg_props[] = {
    PROP("dma_enabled", PROP_BOOL, FwCfg, dma_enabled, "on",
         "DMA interface at 0x514 (ID bit 1)"),
    PROP("x-file-slots", PROP_U16, FwCfg, file_slots, "32",
         "number of named files the directory can hold"),
    PROP_END
};

static const VMStateField fw_cfg_fields[] = {
    VMS_FIELD(FwCfgState, cur_entry),
    VMS_FIELD(FwCfgState, cur_offset),
    VMS_FIELD(FwCfgState, dma_addr),
    VMS_END
};

/* A stream is hostile input: the selected item must be one this machine has (the
 * items come from the same configuration on both sides) and the offset inside it,
 * as select_key() and the data port leave them. */
static bool fw_cfg_state_post_load(void *state, int version, GError **errp)
{
    const FwCfgState *st = state;
    FwCfg *s = (FwCfg *)((char *)state - offsetof(FwCfg, state));
    if (st->cur_entry == FW_CFG_INVALID)
        return st->cur_offset == 0 ||
               vmstate_invalid(errp, "fw_cfg", "offset %u without a selected item",
                               st->cur_offset);
    FwCfgItem *it = item_for(s, st->cur_entry);
    if (!it)
        return vmstate_invalid(errp, "fw_cfg", "selected item 0x%x does not exist",
                               st->cur_entry);
    if (st->cur_offset > (it->data ? it->len : 0))
        return vmstate_invalid(errp, "fw_cfg", "offset %u past the end of item 0x%x (%u "
                               "bytes)", st->cur_offset, st->cur_entry,
                               it->data ? it->len : 0);
    return true;
}

static const VMStateDesc fw_cfg_vmsd = {
    .name = "fw_cfg",
    .version = 1,
    .min_version = 1,
    .fields = fw_cfg_fields,
    .post_load = fw_cfg_state_post_load,
};

static bool fw_cfg_realize(Device *dev, GError **errp)
{
    FwCfg *s = FWCFG(dev);
    Machine *m = dev->machine;

    if (s->file_slots < FW_CFG_FILE_SLOTS_DFLT || s->file_slots > FW_CFG_FILE_SLOTS_MAX) {
        g_set_error(errp, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT, "fw_cfg_io: x-file-slots "
                    "%u is outside %u..%u", s->file_slots, FW_CFG_FILE_SLOTS_DFLT,
                    FW_CFG_FILE_SLOTS_MAX);
        return false;
    }
    s->files = g_new0(FwCfgFile, s->file_slots);
    s->log = (LogBudget)LOG_BUDGET_DEFAULT;
    fw_cfg_add_bytes(dev, FW_CFG_SIGNATURE, "QEMU", 4);
    fw_cfg_add_i32(dev, FW_CFG_ID, FW_CFG_VERSION | (s->dma_enabled ? FW_CFG_VERSION_DMA : 0));
    rebuild_dir(s);
    mr_init_io(&s->comb_mr, "fwcfg", 2, &comb_ops, s);
    if (!as_add_region(m->io, &s->comb_mr, FW_CFG_IO_BASE, errp))
        return false;
    if (!s->dma_enabled)
        return true;
    mr_init_io(&s->dma_mr, "fwcfg.dma", 8, &dma_ops, s);
    return as_add_region(m->io, &s->dma_mr, FW_CFG_DMA_IO_BASE, errp);
}

static void fw_cfg_reset(Device *dev)
{
    FwCfg *s = FWCFG(dev);

    s->state = (FwCfgState){ .cur_entry = FW_CFG_INVALID };
}

static void fw_cfg_unrealize(Device *dev)
{
    FwCfg *s = FWCFG(dev);

    as_del_region(dev->machine->io, &s->comb_mr);
    as_del_region(dev->machine->io, &s->dma_mr);
    for (unsigned i = 0; i < FW_CFG_FILE_FIRST; i++)
        item_set(&s->items[i], NULL, 0);
    for (unsigned i = 0; i < FW_CFG_ARCH_KEYS; i++)
        item_set(&s->arch_items[i], NULL, 0);
    for (unsigned i = 0; i < s->nfiles; i++)
        item_set(&s->files[i].item, NULL, 0);
    g_free(s->files);
    s->files = NULL;
    s->nfiles = 0;
}

/* QEMU's abstract parent of fw_cfg_io and fw_cfg_mem. */
const DeviceClass fw_cfg_class = {
    .name = "fw_cfg", .parent = &sys_bus_device_class, .abstract = true, .bus = BUS_SYS,
};

const DeviceClass fw_cfg_io_class = {
    .name = "fw_cfg_io",
    .parent = &fw_cfg_class,
    .desc = "QEMU firmware configuration interface (I/O ports 0x510-0x51b)",
    .bus = BUS_SYS,
    .instance_size = sizeof(FwCfg),
    .props = fw_cfg_props,
    .user_creatable = false,
    .realize = fw_cfg_realize,
    .reset = fw_cfg_reset,
    .unrealize = fw_cfg_unrealize,
    .vmsd = &fw_cfg_vmsd,
    .state_offset = offsetof(FwCfg, state),
};
