/*
 * -drive: disk images opened by the machine for its block devices (QEMU's grammar:
 * file=, format=, if=ide|none|virtio, id=, index=, bus=, unit=, media=disk|cdrom,
 * readonly=, cache=, aio=, snapshot=, file.locking=auto|on|off, force-share=, discard=ignore|unmap, detect-zeroes=off|on|unmap,
 * werror=report|ignore|enospc|stop, rerror=report|ignore|stop). A device
 * names one with drive=ID and claims it; if=virtio drives get a virtio-blk-pci each.
 * Images live on the machine's block engine (the main loop's GLib context).
 */
#ifndef VIREO_DRIVE_H
#define VIREO_DRIVE_H

#include "vireo/block.h"
#include "vireo/error.h"

typedef struct Machine Machine;

typedef struct DriveInfo {
    char *id;
    char *iface;                 /* "ide", "none" or "virtio" */
    bool cdrom;                  /* media=cdrom */
    int bus, unit;               /* if=ide position */
    bool is_default;             /* the board's default CD-ROM: yields to -device */
    char *spec;                  /* the option as given, for messages */
    BlockBackend *blk;           /* NULL: a CD-ROM drive without medium */
    const char *claimed_by;      /* device type that uses it, or NULL */
    const BlockOpenOptions *node_opts;  /* -blockdev: its node's options (reopen) */
    bool is_node;                /* a -blockdev / blockdev-add node (named by node-name) */
    bool protocol_node;          /* that node is a protocol node (file, host_device) */
    char **node_names;           /* its chain's node names in blk_get_nodes() order
                                  * (shorter than the chain: the rest are generated) */
    void (*retry)(void *opaque); /* the device's request that stopped the VM */
    void *retry_opaque;
    void (*resized)(void *opaque);  /* the device's reaction to block_resize */
    void *resized_opaque;
} DriveInfo;

/* Parses and opens one -drive option; the error names the option and the culprit. */
bool drive_add(Machine *m, const char *spec, GError **errp);
/* The drive @id for device type @dev, which takes it: NULL with an error when it does
 * not exist or another device has it. The image's locks become a disk's
 * (blk_attach_dev: writes unless read-only, resizable), which another process's locks
 * may refuse (an error naming the file). */
BlockBackend *drive_claim(Machine *m, const char *id, const char *dev, GError **errp);
/* The same for removable-media devices: *blk may be NULL (no medium); a CD-ROM's locks
 * (reads only, no resizes). */
bool drive_claim_media(Machine *m, const char *id, const char *dev, BlockBackend **blk,
                       GError **errp);
void drive_release_id(Machine *m, const char *id);
/* Gives a drive back (device unrealize); its locks are the -drive's/node's again. */
void drive_release(Machine *m, BlockBackend *blk);
/* A device's request on @blk failed with -@error (positive errno): the drive's policy
 * (rerror/werror) decides. STOP sets the I/O status, sends BLOCK_IO_ERROR and stops the
 * VM (io-error); REPORT and IGNORE send the event too. The device then completes the
 * request with an error (REPORT), as a success (IGNORE), or keeps it for a retry
 * (STOP, drive_set_retry). Main loop thread. */
BlkErrorAction drive_io_error(Machine *m, BlockBackend *blk, bool is_read, int error);
/* The device's retry of what stopped the VM, called once when the VM runs again
 * (QMP cont); NULL cancels (device reset / unrealize). */
void drive_set_retry(Machine *m, BlockBackend *blk, void (*retry)(void *opaque),
                     void *opaque);
/* Migration and savevm: false, with an error naming the drive, while a request that
 * stopped the VM on an I/O error (werror/rerror=stop) waits for its retry. Such a
 * request is not carried in the device state (the destination would never answer it,
 * or would fail it), so the VM cannot leave with it: 'cont' retries it, a system_reset
 * drops it. @what names the operation for the message. */
bool drives_check_no_retry(Machine *m, const char *what, GError **errp);
/* The device's hook for a size change of @blk (QMP block_resize); NULL removes it. */
void drive_set_resize_cb(Machine *m, BlockBackend *blk, void (*resized)(void *opaque),
                         void *opaque);
/* The drive that holds @blk, or NULL. */
DriveInfo *drive_find_blk(Machine *m, BlockBackend *blk);
/* The node name QMP shows for node @pos (0: the top, 1: its file) of drive @index
 * (m->drives): a -blockdev node's node-name, else "#blockIIPP". */
char *drive_node_name(const DriveInfo *d, guint index, int pos);
/* The drive whose top node is named @node_name (and its index), or NULL (also for a
 * drive without medium). */
DriveInfo *drive_find_node(Machine *m, const char *node_name, guint *index);
/* QMP cont: every drive's I/O status back to ok. */
void drives_iostatus_reset(Machine *m);
/* Creates the devices of if=virtio drives. */
bool drive_create_devices(Machine *m, GError **errp);
/* The machine's block engine (created on first use). */
BlockEngine *drive_engine(Machine *m);
/* Registers an opened image as drive @id (if=none), for -blockdev node names. */
bool drive_register(Machine *m, const char *id, const char *spec, BlockBackend *blk,
                    GError **errp);
/* -blockdev (system/blockdev.c): declares one node (keyval when @kv, else JSON), then
 * opens the nodes nothing refers to as drives named by their node-name. */
typedef struct _JsonObject JsonObject;
bool blockdev_declare(Machine *m, JsonObject *o, bool kv, const char *spec, GError **errp);
bool blockdev_open_all(Machine *m, GError **errp);
/* QMP blockdev-add: declares a node from JSON (QEMU's BlockdevOptions subset, the
 * -blockdev parser with QEMU's QMP error texts) and opens it as a root at once; the
 * roots it names as file or backing become its children (their drives close). */
bool blockdev_add(Machine *m, JsonObject *o, GError **errp);
/* QMP blockdev-del: removes root node @name (declared by -blockdev or blockdev-add, not
 * used by a device or another node) and its inline children; the declared nodes it used
 * become roots again (reopened as their drives). NOT_FOUND sets no error. */
typedef enum BlockdevDelStatus {
    BLOCKDEV_DEL_OK,
    BLOCKDEV_DEL_ERROR,
    BLOCKDEV_DEL_NOT_FOUND,
} BlockdevDelStatus;
BlockdevDelStatus blockdev_del(Machine *m, const char *name, GError **errp);
void blockdevs_free(Machine *m);
/* Migration hand-over of every drive (blk_set_active): false on the source before the
 * destination takes the images, true on the destination when it does (or on the
 * source when the migration failed). */
bool drives_set_active(Machine *m, bool active, GError **errp);
/* Closes drive @d (flushing it; a failure is logged) and forgets it. */
void drive_remove(Machine *m, DriveInfo *d);
/* Flushes and closes every drive (after the devices are gone). */
void drives_free(Machine *m);

#endif
