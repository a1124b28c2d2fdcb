/*
 * The migration stream (docs/migration.md has the full description).
 *
 *   header   "VIREOMIG" | u32 version | u32 flags (MIG_F_*) | u32 multifd channels |
 *            u64 session (multifd channels name it)
 *   CONFIG   u8 1 | u32 len | what the destination must match (machine, CPUs, RAM
 *            blocks, one entry per section with its state levels and versions)
 *   RAM      u8 2 | u16 block | u64 first page | u32 pages               (zero pages)
 *            u8 3 | u16 block | u64 first page | u32 pages | pages * 4096 bytes
 *   PASS     u8 5 | u32 pass                                     (end of a RAM pass)
 *   DEVICE   u8 4 | u32 section | u32 len | len bytes       (device_state_save etc.)
 *   MAPPED   u8 7 | u16 block | u64 file offset      (file: RAM stored page-aligned)
 *
 * file: streams (MIG_F_MAPPED_RAM) keep each RAM block's pages at a fixed, page-aligned
 * offset of the file (a hole for a zero page), named by one MAPPED record per block
 * after CONFIG; the records then continue past the last block (DEVICE, PASS, END).
 * A live save rewrites a dirtied page in place (the file stays the size of RAM however
 * many passes run); the destination reads the data extents and skips the holes. The
 * checksum covers the records, not the RAM area.
 *   END      u8 6 | u64 checksum of every byte before it (header to END's type byte)
 *
 * All integers little-endian. A multifd channel carries "VIREOMFD" | u32 version |
 * u32 channel | u64 session, then RAM records, then END with its own checksum; page
 * ranges are split over the channels by a fixed rule (chunk index modulo channels),
 * so every version of a page travels on the same channel, in order.
 *
 * Return path (destination to source, on sockets): u8 type | u32 len | message.
 */
#ifndef MIGRATION_FORMAT_H
#define MIGRATION_FORMAT_H

#define MIG_MAGIC        "VIREOMIG"
#define MIG_MFD_MAGIC    "VIREOMFD"
#define MIG_VERSION      1

#define MIG_F_RETURN_PATH   (1u << 0)   /* the source waits for the destination's word */
#define MIG_F_MULTIFD       (1u << 1)   /* RAM also travels on multifd channels */
#define MIG_F_MAPPED_RAM    (1u << 2)   /* file: RAM at fixed offsets (MAPPED records) */
#define MIG_F_KNOWN         (MIG_F_RETURN_PATH | MIG_F_MULTIFD | MIG_F_MAPPED_RAM)
#define MIG_MAPPED_ALIGN    (2u << 20)  /* where mapped blocks start in the file */

enum {
    MIG_R_CONFIG = 1,
    MIG_R_ZERO = 2,
    MIG_R_PAGES = 3,
    MIG_R_DEVICE = 4,
    MIG_R_PASS = 5,
    MIG_R_END = 6,
    MIG_R_MAPPED = 7,
};

enum {
    MIG_RP_CONFIG_OK = 1,   /* the configuration matches: send RAM */
    MIG_RP_DONE = 2,        /* everything loaded; the destination runs the VM */
    MIG_RP_ERROR = 3,       /* refused: the message says why */
};

#define MIG_MAX_RUN          256            /* pages in one PAGES record */
#define MIG_MAX_CONFIG       (1u << 20)     /* bytes */
#define MIG_MAX_SECTION      (16u << 20)    /* bytes of one device's state */
#define MIG_MAX_SECTIONS     4096
#define MIG_MAX_BLOCKS       256
#define MIG_MAX_CHANNELS     255
#define MIG_MAX_DEVICE_BYTES (256u << 20)   /* all DEVICE records together */
#define MIG_MAX_RP_MESSAGE   4096
#define MIG_CHUNK_PAGES      64             /* pages per multifd chunk */

#endif
