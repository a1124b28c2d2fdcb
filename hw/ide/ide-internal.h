/*
 * Private to hw/ide: an IDE channel ("bus": two drive positions, the task file, the
 * device control register, the bus-master DMA engine) and its drives (ide-hd, ide-cd).
 * ATA/ATAPI-8 (T13/1699-D) for the task file and ATA commands, MMC-6 and SPC-4 for the
 * ATAPI packet commands, "Programming Interface for Bus Master IDE Controller" (SFF
 * 8038i) for the DMA engine.
 *
 * Locking: everything runs with the big lock held (vCPU port accesses, block-layer
 * completions on the main loop).
 */
#ifndef HW_IDE_INTERNAL_H
#define HW_IDE_INTERNAL_H

#include "vireo/block.h"
#include "vireo/ide.h"
#include "vireo/log.h"
#include "vireo/machine.h"

#define IDE_SECTOR          512
#define CD_SECTOR           2048
#define IDE_BUF_SIZE        (128 * 1024)     /* PIO buffer: 256 ATA or 64 CD sectors */
#define IDE_MAX_MULT        16               /* READ/WRITE MULTIPLE block, sectors */
#define IDE_PRD_MAX         512              /* one 4 KiB PRD table (QEMU's fail-safe) */

/* Status register (ATA8-ACS 6.1 / ATA8-APT). */
#define ST_ERR      0x01
#define ST_DRQ      0x08
#define ST_DSC      0x10        /* seek complete (ATAPI: service) */
#define ST_DF       0x20
#define ST_DRDY     0x40
#define ST_BSY      0x80
/* Error register. */
#define ER_ABRT     0x04
#define ER_IDNF     0x10
#define ER_UNC      0x40
/* Device control register. */
#define CTL_NIEN    0x02
#define CTL_SRST    0x04
#define CTL_HOB     0x80
/* Device register. */
#define DEV_LBA     0x40
#define DEV_DEV     0x10
/* ATAPI interrupt reason (in the sector count register). */
#define IR_COD      0x01
#define IR_IO       0x02

/* Bus-master IDE (SFF 8038i): command and status bits. */
#define BM_CMD_START    0x01
#define BM_CMD_READ     0x08    /* bus master writes memory (device -> memory) */
#define BM_ST_ACTIVE    0x01
#define BM_ST_ERROR     0x02
#define BM_ST_INT       0x04
#define BM_ST_CAP_MASK  0x60    /* drive 0/1 DMA capable, software-set */

/* SCSI sense keys and additional sense codes used by ATAPI (SPC-4 4.5.6, MMC-6). */
#define SENSE_NONE              0
#define SENSE_NOT_READY         2
#define SENSE_ILLEGAL_REQUEST   5
#define SENSE_UNIT_ATTENTION    6
#define ASC_INV_OPCODE          0x20
#define ASC_LBA_OUT_OF_RANGE    0x21
#define ASC_INV_FIELD_IN_CDB    0x24
#define ASC_MEDIUM_MAY_HAVE_CHANGED 0x28
#define ASC_SAVING_NOT_SUPPORTED 0x39
#define ASC_MEDIUM_NOT_PRESENT  0x3a
#define ASC_MEDIUM_REMOVAL_PREVENTED 0x53

typedef enum {
    XFER_NONE,
    XFER_PIO_IN,                /* device -> host through the data port */
    XFER_PIO_OUT,               /* host -> device */
} IdeXfer;

/* Guest-visible state of one drive (migrated by ide-hd / ide-cd). */
typedef struct IdeDriveState {
    uint8_t feature, error, nsector, sector, lcyl, hcyl, select, status;
    uint8_t hob_feature, hob_nsector, hob_sector, hob_lcyl, hob_hcyl;
    uint8_t cmd;                /* command in progress */
    uint8_t xfer;               /* IdeXfer */
    uint8_t dma_pending;        /* a DMA command waits for the bus master */
    uint8_t mult_sectors;       /* SET MULTIPLE MODE; 0 = off */
    uint8_t xfer_mode;          /* SET FEATURES 03h value */
    uint8_t write_cache;
    uint8_t lba48;
    uint8_t sense_key, asc;     /* ATAPI */
    uint8_t tray_open, tray_locked, unit_attention, media_event;
    uint8_t packet[12];
    uint32_t data_pos, data_end;    /* PIO window of io_buffer */
    uint32_t nsect_left;        /* ATA: sectors the command still moves */
    uint32_t block_sectors;     /* ATA: sectors of the current DRQ block */
    uint64_t lba;               /* ATA: next sector; ATAPI: next 2048-byte block */
    uint32_t atapi_left;        /* ATAPI READ: bytes not yet read from the medium */
    uint32_t atapi_bcl;         /* ATAPI: byte count limit of the PACKET command */
    uint32_t buf_pos, buf_len;  /* bytes of io_buffer sent / available: the ATAPI
                                 * reply, the sectors an ATA PIO read read ahead */
    uint8_t io_buffer[IDE_BUF_SIZE];
} IdeDriveState;

typedef struct IdeBus IdeBus;
typedef struct IdeDrive IdeDrive;
/* Block request helper: runs @done(d, ret) on completion unless the drive was reset. */
typedef void IdeDoneFn(IdeDrive *d, int ret);

struct IdeDrive {
    IdeBus *bus;
    unsigned unit;
    bool is_cd;
    BlockBackend *blk;          /* NULL: a CD-ROM drive without medium */
    uint64_t nb_sectors;        /* 512-byte sectors of the medium */
    const char *serial, *model, *version;   /* device properties (owned by the device) */
    uint64_t wwn;
    uint16_t cyls, heads, secs;
    unsigned gen;               /* bumped by resets: older completions are dropped */
    bool inflight;
    /* The last block request, resubmitted when a werror/rerror=stop error stopped the
     * VM and it runs again (retry_gen: the generation it belongs to). */
    struct { uint8_t op; uint64_t offset; IdeDoneFn *done; } last;
    unsigned retry_gen;
    uint32_t trim_pos, trim_end;    /* DATA SET MANAGEMENT: range entries in io_buffer */
    struct iovec iov[IDE_PRD_MAX];
    int niov;
    /* ide-cd: the guest moved the tray (START STOP UNIT): DEVICE_TRAY_MOVED. */
    void (*tray_moved)(struct IdeDrive *d);
    void *owner;                /* the ide-hd / ide-cd device */
    IdeDriveState s;
};

typedef struct BmdmaState {
    uint8_t cmd, status;
    uint32_t addr;              /* PRD table (dword aligned) */
} BmdmaState;

/* Migrated by the controller. */
typedef struct IdeBusState {
    uint8_t ctl;                /* device control register */
    uint8_t irq_pending;
    uint8_t unit;               /* selected drive (DEV bit) */
    BmdmaState bm;
} IdeBusState;

struct IdeBus {
    Machine *m;
    unsigned index;
    IrqLine *irq;
    IdeDrive *drive[2];
    MemRegion cmd_mr, ctl_mr;
    LogBudget log;
    IdeBusState *s;             /* inside the controller's migrated state */
};

/* core.c */
void ide_bus_init(IdeBus *b, Machine *m, unsigned index, IrqLine *irq, IdeBusState *s);
bool ide_bus_map(IdeBus *b, uint16_t iobase, uint16_t ctlbase, GError **errp);
void ide_bus_unmap(IdeBus *b);
void ide_bus_reset(IdeBus *b);
void ide_drive_reset(IdeDrive *d);
void ide_set_irq(IdeBus *b);
void ide_bus_update_irq(IdeBus *b);
void ide_cmd_done(IdeDrive *d, bool irq);
void ide_abort(IdeDrive *d);
void ide_pio_start(IdeDrive *d, IdeXfer dir, uint32_t len);
/* Bus master: the start bit was set, or a DMA command arrived while it is set. */
void ide_dma_kick(IdeBus *b);
/* Builds d->iov from the PRD table for @bytes; false (and the DMA error reported)
 * when the table is short, unterminated or points outside guest RAM. */
bool ide_dma_map(IdeDrive *d, uint64_t bytes, bool to_memory);
void ide_dma_finish(IdeDrive *d, bool ok);
/* A request failed (@ret < 0): the drive's rerror/werror policy decides. Returns false
 * for ignore (the caller goes on as if it had succeeded); true when it is dealt with:
 * reported through @report, or kept (BSY) for a retry once the VM runs again (stop). */
bool ide_handle_error(IdeDrive *d, int ret, bool is_read, IdeDoneFn *report);
enum { IDE_OP_READ, IDE_OP_WRITE, IDE_OP_FLUSH, IDE_OP_TRIM };
void ide_submit(IdeDrive *d, bool write, uint64_t offset, struct iovec *iov, int niov,
                IdeDoneFn *done);

/* piix.c: channel @bus of a piix3-ide controller, or NULL. */
IdeBus *piix_ide_bus(Device *ctrl, unsigned bus);

/* atapi.c */
void atapi_identify(IdeDrive *d);
void atapi_packet_received(IdeDrive *d);
void atapi_pio_next(IdeDrive *d);
void atapi_dma_run(IdeDrive *d);
void atapi_set_signature(IdeDrive *d);
void atapi_medium_changed(IdeDrive *d);

#endif
