/*
 * The RAM-block registry (include/vireo/ramblock.h): what migration copies.
 */
#include "vireo/ramblock.h"
#include "vireo/machine.h"
#include <string.h>

static GPtrArray *blocks(Machine *m)
{
    if (!m->ram_blocks)
        m->ram_blocks = g_ptr_array_new_with_free_func(g_free);
    return m->ram_blocks;
}

RamBlock *ram_block_register(Machine *m, const char *name, void *host, uint64_t size,
                             unsigned flags)
{
    if (!name || strlen(name) >= RAM_BLOCK_NAME_MAX || ram_block_find(m, name) ||
        ((uintptr_t)host | size) & (RAM_PAGE_SIZE - 1) || !size) {
        g_warning("RAM block '%s': name taken or too long, or not page-aligned",
                  name ? name : "");
        return NULL;
    }
    RamBlock *b = g_new0(RamBlock, 1);
    g_strlcpy(b->name, name, sizeof(b->name));
    b->host = host;
    b->size = size;
    b->flags = flags;
    g_ptr_array_add(blocks(m), b);
    return b;
}

void ram_block_unregister(Machine *m, RamBlock *b)
{
    if (b && m->ram_blocks) {
        g_free(b->dirty);
        g_ptr_array_remove(m->ram_blocks, b);
    }
}

RamBlock *ram_block_find(Machine *m, const char *name)
{
    for (unsigned i = 0; i < ram_block_count(m); i++)
        if (!strcmp(ram_block_at(m, i)->name, name))
            return ram_block_at(m, i);
    return NULL;
}

RamBlock *ram_block_of_host(Machine *m, const void *host, uint64_t *off)
{
    const uint8_t *p = host;
    for (unsigned i = 0; i < ram_block_count(m); i++) {
        RamBlock *b = ram_block_at(m, i);
        if (p >= b->host && (uint64_t)(p - b->host) < b->size) {
            *off = p - b->host;
            return b;
        }
    }
    return NULL;
}

unsigned ram_block_count(Machine *m)
{
    return m->ram_blocks ? m->ram_blocks->len : 0;
}

RamBlock *ram_block_at(Machine *m, unsigned i)
{
    return m->ram_blocks->pdata[i];
}

void ram_block_mark_dirty(RamBlock *b, uint64_t off, uint64_t len)
{
    uint64_t *map = __atomic_load_n(&b->dirty, __ATOMIC_ACQUIRE);
    if (!map || !len || off >= b->size)
        return;
    len = MIN(len, b->size - off);
    uint64_t first = off >> RAM_PAGE_SHIFT, last = (off + len - 1) >> RAM_PAGE_SHIFT;
    for (uint64_t p = first; p <= last; p++)
        __atomic_fetch_or(&map[p / 64], 1ull << (p % 64), __ATOMIC_RELAXED);
}
