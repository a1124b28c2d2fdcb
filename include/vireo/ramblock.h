/*
 * RAM blocks: every piece of host memory whose contents belong to the VM and must
 * travel with it (migration, snapshots): guest RAM ("pc.ram"), and device memory that
 * is not guest RAM, such as video memory or option ROMs. A device that owns such
 * memory registers it once (realize) and unregisters it (unrealize):
 *
 *   s->vram = mmap(...);   // page-aligned, a multiple of 4 KiB
 *   s->vram_block = ram_block_register(dev->machine, "vga.vram", s->vram, size, 0);
 *   ...
 *   ram_block_unregister(dev->machine, s->vram_block);
 *
 * Migration copies each block page by page; the destination must have registered a
 * block of the same name and size (a mismatch refuses the stream, naming the block).
 * Blocks are migrated live with dirty tracking only when every write to them is
 * seen: guest writes through KVM's dirty log (a mapped RAM region), device writes
 * through as_mark_dirty() (DMA helpers) or ram_block_mark_dirty() (a device model
 * writing its own memory). Such a block is registered with RAM_BLOCK_TRACKED; any
 * other block is copied whole again while the VM is stopped (correct, but it adds
 * its size to the downtime).
 *
 * Locking: register/unregister with the big lock held; ram_block_mark_dirty() from
 * any thread.
 */
#ifndef VIREO_RAMBLOCK_H
#define VIREO_RAMBLOCK_H

#include <stdbool.h>
#include <stdint.h>
#include <glib.h>

#define RAM_PAGE_SHIFT 12
#define RAM_PAGE_SIZE  (1u << RAM_PAGE_SHIFT)
#define RAM_BLOCK_NAME_MAX 64

typedef struct Machine Machine;

enum {
    RAM_BLOCK_TRACKED = 1 << 0,     /* every write is tracked (see above) */
    RAM_BLOCK_READONLY = 1 << 1,    /* mapped read-only (memory-backend-file readonly=on):
                                     * migrated out, never loaded into */
};

typedef struct RamBlock {
    char name[RAM_BLOCK_NAME_MAX];
    uint8_t *host;                  /* page-aligned */
    uint64_t size;                  /* a multiple of RAM_PAGE_SIZE */
    unsigned flags;                 /* RAM_BLOCK_* */
    /* Migration: one bit per page written since it was last copied; NULL while no
     * migration runs. Set with atomic ORs, harvested with atomic exchanges. */
    uint64_t *dirty;
} RamBlock;

/* Registers @size bytes at @host as block @name (unique per machine, at most 63
 * characters). Returns the block, or NULL (logged) when the name is taken or the
 * range is not page-aligned. */
RamBlock *ram_block_register(Machine *m, const char *name, void *host, uint64_t size,
                             unsigned flags);
void ram_block_unregister(Machine *m, RamBlock *b);
RamBlock *ram_block_find(Machine *m, const char *name);
/* The block holding host address @host, with *@off its offset there, or NULL. */
RamBlock *ram_block_of_host(Machine *m, const void *host, uint64_t *off);
/* Number of blocks and the @i-th (registration order). */
unsigned ram_block_count(Machine *m);
RamBlock *ram_block_at(Machine *m, unsigned i);

/* Marks [off, off + len) of @b written (no-op unless a migration tracks it). */
void ram_block_mark_dirty(RamBlock *b, uint64_t off, uint64_t len);
/* Pages in @b; words of its dirty bitmap. */
static inline uint64_t ram_block_pages(const RamBlock *b) { return b->size >> RAM_PAGE_SHIFT; }
static inline uint64_t ram_block_bitmap_words(const RamBlock *b)
{
    return (ram_block_pages(b) + 63) / 64;
}

#endif
