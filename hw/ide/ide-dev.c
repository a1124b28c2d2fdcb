/*
 * "ide-hd" and "ide-cd": the drives on the piix3-ide channels, with QEMU's properties
 * (drive, bus=ide.0|ide.1, unit, serial, model, ver, wwn, bootindex, logical and
 * physical block size, write-cache, rerror/werror, CHS geometry for disks). A drive
 * registers its OpenFirmware path (/pci@i0cf8/ide@1,1/drive@BUS/disk@UNIT) for bootindex.
 */
#include "ide-internal.h"
#include "vireo/drive.h"
#include <string.h>

typedef struct IdeDevice {
    Device dev;
    char *drive, *bus, *serial, *model, *ver;
    uint32_t unit;
    uint64_t wwn;
    int32_t bootindex;
    char *boot_path;                /* the bootorder path registered, or NULL */
    uint64_t logical_block_size, physical_block_size;
    int write_cache;                /* OnOffAuto */
    int rerror, werror;             /* BlockErrorAction */
    uint32_t cyls, heads, secs;
    uint16_t rotation_rate;
    bool is_cd;
    IdeBus *attached;
    IdeDrive d;
} IdeDevice;

/* QEMU's BlockdevOnError names; auto keeps the drive's -drive rerror=/werror=. */
static const char *const on_error_names[] = { "auto", "report", "ignore", "enospc", "stop",
                                              NULL };
static const BlockOnError on_error_values[] = {
    BLOCK_ON_ERROR_AUTO, BLOCK_ON_ERROR_REPORT, BLOCK_ON_ERROR_IGNORE, BLOCK_ON_ERROR_ENOSPC,
    BLOCK_ON_ERROR_STOP,
};

#define IDE_COMMON_PROPS \
    PROP("drive", PROP_DRIVE, IdeDevice, drive, NULL, "Node name or ID of a block device " \
         "to use as a backend"), \
    PROP("bus", PROP_STR, IdeDevice, bus, NULL, "ide.0 or ide.1 (default: first free)"), \
    PROP("unit", PROP_U32, IdeDevice, unit, "4294967295", "0 (master) or 1 (slave)"), \
    PROP("serial", PROP_STR, IdeDevice, serial, NULL, "serial number (default QM000NN)"), \
    PROP("model", PROP_STR, IdeDevice, model, NULL, "model name"), \
    PROP("ver", PROP_STR, IdeDevice, ver, NULL, "firmware version (default 2.5+)"), \
    PROP("wwn", PROP_U64, IdeDevice, wwn, "0", "World Wide Name"), \
    PROP("bootindex", PROP_I32, IdeDevice, bootindex, "-1", "boot order position"), \
    PROP("logical_block_size", PROP_SIZE, IdeDevice, logical_block_size, "512", \
         "logical block size (512 for IDE)"), \
    PROP("physical_block_size", PROP_SIZE, IdeDevice, physical_block_size, "512", \
         "physical block size (512 for IDE)"), \
    PROP_ENUM_("write-cache", IdeDevice, write_cache, on_off_auto_names, "auto", \
               "initial write cache state (auto: from the drive's cache mode)"), \
    PROP_ENUMT_("rerror", IdeDevice, rerror, on_error_names, "BlockdevOnError", "auto", \
                "action on read errors (auto: the drive's rerror)"), \
    PROP_ENUMT_("werror", IdeDevice, werror, on_error_names, "BlockdevOnError", "auto", \
                "action on write errors (auto: the drive's werror)")

static const Property ide_hd_props[] = {
    IDE_COMMON_PROPS,
    PROP("cyls", PROP_U32, IdeDevice, cyls, "0", "cylinders (0: from the size)"),
    PROP("heads", PROP_U32, IdeDevice, heads, "0", "heads"),
    PROP("secs", PROP_U32, IdeDevice, secs, "0", "sectors per track"),
    PROP("rotation_rate", PROP_U16, IdeDevice, rotation_rate, "0", "rotation rate (1: SSD)"),
    PROP_END
};

static const Property ide_cd_props[] = {
    IDE_COMMON_PROPS,
    PROP_END
};

#define DRV_FIELD(f) VMS_FIELD(IdeDriveState, f)
static const VMStateField ide_drive_fields[] = {
    DRV_FIELD(feature), DRV_FIELD(error), DRV_FIELD(nsector), DRV_FIELD(sector),
    DRV_FIELD(lcyl), DRV_FIELD(hcyl), DRV_FIELD(select), DRV_FIELD(status),
    DRV_FIELD(hob_feature), DRV_FIELD(hob_nsector), DRV_FIELD(hob_sector),
    DRV_FIELD(hob_lcyl), DRV_FIELD(hob_hcyl), DRV_FIELD(cmd), DRV_FIELD(xfer),
    DRV_FIELD(dma_pending), DRV_FIELD(mult_sectors), DRV_FIELD(xfer_mode),
    DRV_FIELD(write_cache), DRV_FIELD(lba48), DRV_FIELD(sense_key), DRV_FIELD(asc),
    DRV_FIELD(tray_open), DRV_FIELD(tray_locked), DRV_FIELD(unit_attention),
    DRV_FIELD(media_event), VMS_BUF(IdeDriveState, packet), DRV_FIELD(data_pos),
    DRV_FIELD(data_end), DRV_FIELD(nsect_left), DRV_FIELD(block_sectors), DRV_FIELD(lba),
    DRV_FIELD(atapi_left), DRV_FIELD(atapi_bcl), DRV_FIELD(buf_pos), DRV_FIELD(buf_len),
    VMS_BUF(IdeDriveState, io_buffer),
    VMS_END
};

/* A stream is hostile input: the PIO windows index io_buffer, the block sizes bound
 * the next transfer; refuse what the command engine never produces. An in-flight PIO
 * transfer (DRQ with its window, ATAPI reply or packet phase) migrates with these
 * fields and continues on the destination; block requests are drained before the
 * state is read, and a request kept for a retry after a werror/rerror=stop error
 * refuses the migration (drives_check_no_retry), so IdeDrive's request fields (last,
 * retry_gen, trim_pos/trim_end) never carry anything a destination would need. */
static bool ide_drive_state_post_load(void *state, int version, GError **errp)
{
    const IdeDriveState *s = state;
    if (s->data_end > IDE_BUF_SIZE || s->data_pos > s->data_end ||
        s->buf_len > IDE_BUF_SIZE || s->buf_pos > s->buf_len)
        return vmstate_invalid(errp, "ide_drive", "PIO window %u..%u / reply %u of %u "
                               "outside the %u-byte buffer", s->data_pos, s->data_end,
                               s->buf_pos, s->buf_len, IDE_BUF_SIZE);
    if (s->block_sectors > IDE_MAX_MULT || s->mult_sectors > IDE_MAX_MULT)
        return vmstate_invalid(errp, "ide_drive", "block of %u / multiple %u sectors "
                               "(at most %u)", s->block_sectors, s->mult_sectors,
                               IDE_MAX_MULT);
    if (s->xfer > XFER_PIO_OUT || s->dma_pending > 1 || s->sense_key > 0xf)
        return vmstate_invalid(errp, "ide_drive", "transfer %u / DMA pending %u / sense "
                               "key %u out of range", s->xfer, s->dma_pending,
                               s->sense_key);
    return true;
}

static const VMStateDesc ide_drive_vmsd = {
    .name = "ide_drive",
    .version = 1,
    .min_version = 1,
    .fields = ide_drive_fields,
    .post_load = ide_drive_state_post_load,
};

static Device *find_controller(Machine *m)
{
    for (guint i = 0; i < m->devices->len; i++) {
        Device *d = m->devices->pdata[i];
        if (d->cls == &piix3_ide_class)
            return d;
    }
    return NULL;
}

static bool pick_position(IdeDevice *s, Device *ctrl, unsigned *bus, unsigned *unit,
                          GError **errp)
{
    const char *name = s->dev.cls->name;
    int want_bus = -1;

    if (s->bus) {
        if (strcmp(s->bus, "ide.0") && strcmp(s->bus, "ide.1")) {
            g_set_error(errp, G_IO_ERROR, G_IO_ERROR_NOT_FOUND, "%s: Bus '%s' not found "
                        "(piix3-ide has ide.0 and ide.1)", name, s->bus);
            return false;
        }
        want_bus = s->bus[4] - '0';
    }
    if (s->unit != UINT32_MAX && s->unit > 1) {
        g_set_error(errp, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT, "%s: unit %u is not 0 or 1",
                    name, s->unit);
        return false;
    }
    for (unsigned b = 0; b < 2; b++) {
        if (want_bus >= 0 && b != (unsigned)want_bus)
            continue;
        for (unsigned u = 0; u < 2; u++) {
            if (s->unit != UINT32_MAX && u != s->unit)
                continue;
            if (!piix_ide_bus(ctrl, b)->drive[u]) {
                *bus = b;
                *unit = u;
                return true;
            }
        }
    }
    if (s->unit != UINT32_MAX && want_bus >= 0)
        g_set_error(errp, G_IO_ERROR, G_IO_ERROR_BUSY, "%s: IDE unit %u on %s is in use",
                    name, s->unit, s->bus);
    else
        g_set_error(errp, G_IO_ERROR, G_IO_ERROR_BUSY, "%s: no free IDE position", name);
    return false;
}

static bool check_props(IdeDevice *s, GError **errp)
{
    const char *name = s->dev.cls->name, *why = NULL;

    if (s->logical_block_size != 512)
        why = "logical_block_size must be 512 for IDE";
    else if (s->physical_block_size != 512 && s->physical_block_size != 4096)
        why = "physical_block_size must be 512 or 4096";
    else if (!s->is_cd && !s->drive)
        why = "No drive specified";
    else if (s->serial && strlen(s->serial) > 20)
        why = "serial longer than 20 characters";
    else if (s->model && strlen(s->model) > 40)
        why = "model longer than 40 characters";
    else if (s->ver && strlen(s->ver) > 8)
        why = "ver longer than 8 characters";
    if (why)
        g_set_error(errp, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT, "%s: %s", name, why);
    return !why;
}

static void set_geometry(IdeDevice *s)
{
    IdeDrive *d = &s->d;

    d->heads = s->heads ? s->heads : 16;
    d->secs = s->secs ? s->secs : 63;
    d->cyls = s->cyls ? s->cyls : MIN(MAX(d->nb_sectors / (d->heads * d->secs), 1), 16383);
}

static void tray_moved(IdeDrive *d);

/* block_resize of a disk: the new size shows in the next IDENTIFY (QEMU ide_resize_cb;
 * the CHS geometry stays). */
static void ide_resized(void *opaque)
{
    IdeDevice *s = opaque;
    int64_t len = s->d.blk ? blk_getlength(s->d.blk) : -1;
    if (len >= 0 && !s->is_cd)
        s->d.nb_sectors = (uint64_t)len / IDE_SECTOR;
}

/* The device's error policy, I/O status and resize hook on its image. */
static void use_blk(IdeDevice *s, BlockBackend *blk)
{
    blk_set_on_error(blk, on_error_values[s->rerror], on_error_values[s->werror]);
    blk_iostatus_enable(blk);
    drive_set_resize_cb(s->dev.machine, blk, ide_resized, s);
}

static bool ide_dev_realize(Device *dev, GError **errp)
{
    IdeDevice *s = (IdeDevice *)dev;
    Machine *m = dev->machine;
    Device *ctrl = find_controller(m);
    unsigned bus, unit;

    if (!check_props(s, errp))
        return false;
    if (!ctrl) {
        g_set_error(errp, G_IO_ERROR, G_IO_ERROR_NOT_FOUND, "%s: no IDE controller",
                    dev->cls->name);
        return false;
    }
    if (!pick_position(s, ctrl, &bus, &unit, errp))
        return false;
    if (s->drive && (s->is_cd ? !drive_claim_media(m, s->drive, dev->cls->name, &s->d.blk, errp)
                              : !(s->d.blk = drive_claim(m, s->drive, dev->cls->name, errp))))
        return false;
    if (s->d.blk && !s->is_cd && blk_is_read_only(s->d.blk)) {
        g_set_error(errp, G_IO_ERROR, G_IO_ERROR_READ_ONLY, "%s: Can't use a read-only drive",
                    dev->cls->name);
        drive_release_id(m, s->drive);
        s->d.blk = NULL;
        return false;
    }
    if (s->d.blk)
        use_blk(s, s->d.blk);
    int64_t len = s->d.blk ? blk_getlength(s->d.blk) : 0;
    s->d.nb_sectors = len > 0 ? (uint64_t)len / IDE_SECTOR : 0;
    s->d.is_cd = s->is_cd;
    s->d.unit = unit;
    s->d.bus = s->attached = piix_ide_bus(ctrl, bus);
    s->d.owner = dev;
    s->d.tray_moved = tray_moved;
    s->d.wwn = s->wwn;
    if (!s->serial)
        s->serial = g_strdup_printf("QM%05u", bus * 2 + unit + 1);
    if (!s->model)
        s->model = g_strdup(s->is_cd ? "QEMU DVD-ROM" : "QEMU HARDDISK");
    if (!s->ver)
        s->ver = g_strdup("2.5+");
    s->d.serial = s->serial;
    s->d.model = s->model;
    s->d.version = s->ver;
    set_geometry(s);
    s->attached->drive[unit] = &s->d;
    if (s->bootindex >= 0) {
        s->boot_path = g_strdup_printf("/pci@i0cf8/ide@1,1/drive@%u/disk@%u", bus, unit);
        machine_add_boot_device(m, s->bootindex, s->boot_path);
    }
    ide_drive_reset(&s->d);
    return true;
}

static void ide_dev_reset(Device *dev)
{
    IdeDevice *s = (IdeDevice *)dev;

    s->d.s.tray_locked = 0;
    ide_drive_reset(&s->d);
    if (s->write_cache != ON_OFF_AUTO_AUTO)
        s->d.s.write_cache = s->write_cache == ON_OFF_AUTO_ON;
}

/* A stream may carry any values: bring the offsets back inside the buffer. */
static void ide_dev_post_load(Device *dev)
{
    IdeDriveState *s = &((IdeDevice *)dev)->d.s;

    s->data_end = MIN(s->data_end, IDE_BUF_SIZE);
    s->data_pos = MIN(s->data_pos, s->data_end);
    s->buf_len = MIN(s->buf_len, IDE_BUF_SIZE);
    s->buf_pos = MIN(s->buf_pos, s->buf_len);
    s->block_sectors = MIN(s->block_sectors, IDE_MAX_MULT);
    s->mult_sectors = MIN(s->mult_sectors, IDE_MAX_MULT);
    if (s->xfer > XFER_PIO_OUT)
        s->xfer = XFER_NONE;
    if (s->status & ST_BSY)          /* a request that did not migrate: report an abort */
        s->status = ST_DRDY | ST_ERR;
}

static void ide_dev_unrealize(Device *dev)
{
    IdeDevice *s = (IdeDevice *)dev;

    if (s->attached) {
        if (s->d.blk)
            blk_drain(s->d.blk);
        s->attached->drive[s->d.unit] = NULL;
        s->attached = NULL;
    }
    if (s->drive)
        drive_release_id(dev->machine, s->drive);
    s->d.blk = NULL;
    machine_remove_boot_device(dev->machine, s->boot_path);
    g_clear_pointer(&s->boot_path, g_free);
}

static void ide_cd_init(Device *dev) { ((IdeDevice *)dev)->is_cd = true; }

/* QEMU's abstract parent of ide-hd and ide-cd (devices on an IDE bus). */
const DeviceClass ide_device_class = {
    .name = "ide-device", .parent = &device_base_class, .abstract = true, .bus = BUS_SYS,
};

const DeviceClass ide_hd_class = {
    .name = "ide-hd",
    .parent = &ide_device_class,
    .desc = "virtual IDE disk",
    .bus = BUS_SYS,
    .instance_size = sizeof(IdeDevice),
    .props = ide_hd_props,
    .user_creatable = true,
    .realize = ide_dev_realize,
    .reset = ide_dev_reset,
    .unrealize = ide_dev_unrealize,
    .vmsd = &ide_drive_vmsd,
    .state_offset = offsetof(IdeDevice, d.s),
    .post_load = ide_dev_post_load,
};

const DeviceClass ide_cd_class = {
    .name = "ide-cd",
    .parent = &ide_device_class,
    .desc = "virtual IDE CD-ROM",
    .bus = BUS_SYS,
    .instance_size = sizeof(IdeDevice),
    .props = ide_cd_props,
    .user_creatable = true,
    .init = ide_cd_init,
    .realize = ide_dev_realize,
    .reset = ide_dev_reset,
    .unrealize = ide_dev_unrealize,
    .vmsd = &ide_drive_vmsd,
    .state_offset = offsetof(IdeDevice, d.s),
    .post_load = ide_dev_post_load,
};

/* ---- removable media (QMP) ---- */

static IdeDevice *cd_of(Device *dev)
{
    return dev && dev->cls == &ide_cd_class ? (IdeDevice *)dev : NULL;
}

static void tray_moved(IdeDrive *d)
{
    IdeDevice *s = d->owner;

    if (s->dev.machine->ide_tray_moved)
        s->dev.machine->ide_tray_moved(&s->dev, d->s.tray_open);
}

bool ide_cd_open_tray(Device *dev, bool force, GError **errp)
{
    IdeDevice *s = cd_of(dev);

    if (!s)
        return false;
    if (s->d.s.tray_open)
        return true;
    if (s->d.s.tray_locked && !force) {
        s->d.s.media_event = 1;                 /* eject request: the guest decides */
        g_set_error(errp, G_IO_ERROR, G_IO_ERROR_BUSY, "Device '%s' is locked and force "
                    "was not specified, wait for tray to open and try again",
                    dev->id ? dev->id : "ide-cd");
        return false;
    }
    s->d.s.tray_open = 1;
    tray_moved(&s->d);
    return true;
}

void ide_cd_close_tray(Device *dev)
{
    IdeDevice *s = cd_of(dev);

    if (!s || !s->d.s.tray_open)
        return;
    s->d.s.tray_open = 0;
    if (s->d.blk)
        atapi_medium_changed(&s->d);
    tray_moved(&s->d);
}

bool ide_cd_tray_open(Device *dev) { return cd_of(dev) && cd_of(dev)->d.s.tray_open; }
bool ide_cd_locked(Device *dev) { return cd_of(dev) && cd_of(dev)->d.s.tray_locked; }

void ide_cd_set_medium(Device *dev, BlockBackend *blk)
{
    IdeDevice *s = cd_of(dev);

    if (!s)
        return;
    if (s->d.blk) {
        blk_drain(s->d.blk);
        drive_set_retry(dev->machine, s->d.blk, NULL, NULL);  /* the medium is gone */
    }
    s->d.gen++;
    s->d.inflight = false;
    s->d.blk = blk;
    int64_t len = blk ? blk_getlength(blk) : 0;
    s->d.nb_sectors = len > 0 ? (uint64_t)len / IDE_SECTOR : 0;
    atapi_medium_changed(&s->d);
}

BlockBackend *ide_cd_medium(Device *dev)
{
    return cd_of(dev) ? cd_of(dev)->d.blk : NULL;
}

const char *ide_cd_drive(Device *dev)
{
    return cd_of(dev) ? cd_of(dev)->drive : NULL;
}

void ide_cd_release_drive(Device *dev)
{
    IdeDevice *s = cd_of(dev);

    if (!s || !s->drive)
        return;
    ide_cd_set_medium(dev, NULL);
    drive_release_id(dev->machine, s->drive);
    g_clear_pointer(&s->drive, g_free);
}

bool ide_cd_take_drive(Device *dev, const char *id, GError **errp)
{
    IdeDevice *s = cd_of(dev);
    BlockBackend *blk = NULL;

    g_assert(s && !s->drive);
    if (!drive_claim_media(dev->machine, id, dev->cls->name, &blk, errp))
        return false;
    s->drive = g_strdup(id);
    if (blk)
        use_blk(s, blk);
    ide_cd_set_medium(dev, blk);
    return true;
}
