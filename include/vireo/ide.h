/*
 * IDE (hw/ide/): the PIIX3 IDE function (8086:7010 at 01.1 of the pc board, both
 * channels in compatibility mode: 0x1f0/0x3f6 IRQ 14 and 0x170/0x376 IRQ 15, bus-master
 * DMA in BAR 4) and its drives: "ide-hd" (ATA disk) and "ide-cd" (ATAPI CD/DVD-ROM).
 */
#ifndef VIREO_IDE_H
#define VIREO_IDE_H

#include <stdbool.h>
#include "vireo/device.h"

extern const DeviceClass piix3_ide_class;   /* "piix3-ide" */
extern const DeviceClass ide_hd_class;      /* "ide-hd" */
extern const DeviceClass ide_cd_class;      /* "ide-cd" */

/* The drive device at channel @bus (0/1) position @unit (0/1) of @ctrl, or NULL. */
Device *ide_ctrl_drive(Device *ctrl, unsigned bus, unsigned unit);

/* Removable media of an ide-cd (QMP eject / blockdev-change-medium / tray commands).
 * Opening a locked tray is refused unless @force (then the guest is asked, as QEMU
 * does, and the tray stays shut). */
bool ide_cd_open_tray(Device *cd, bool force, GError **errp);
void ide_cd_close_tray(Device *cd);
bool ide_cd_tray_open(Device *cd);
bool ide_cd_locked(Device *cd);
/* Replaces (or with NULL removes) the medium; the tray must be open. */
void ide_cd_set_medium(Device *cd, struct BlockBackend *blk);
struct BlockBackend *ide_cd_medium(Device *cd);
/* The drive id (drive= property) @cd takes its medium from, or NULL: none. */
const char *ide_cd_drive(Device *cd);
/* blockdev-remove-medium of a -blockdev node: @cd lets the node go (no medium, drive=
 * cleared, the node unclaimed so that blockdev-del may close it). */
void ide_cd_release_drive(Device *cd);
/* blockdev-insert-medium: @cd, with no drive, takes drive @id (a node nothing uses) as
 * its medium; errors name the node. */
bool ide_cd_take_drive(Device *cd, const char *id, GError **errp);

#endif
