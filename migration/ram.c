/*
 * RAM transfer: dirty bitmaps per RAM block (one bit per 4 KiB page), harvested from
 * KVM's dirty log through the system address space's listeners and from device writes
 * (the as_mark_dirty hook); pages sent as runs of zero pages (no data) or of data.
 *
 * A bitmap word covers 64 pages, one multifd chunk: the sender takes a word with an
 * atomic exchange (a page dirtied after that is set again and goes in the next pass),
 * and word w of a block belongs to channel w % channels, so every copy of a page
 * travels on the same channel and arrives in order.
 */
#include "migration.h"
#include <string.h>

static bool page_is_zero(const uint8_t *p)
{
    const uint64_t *w = (const uint64_t *)p;
    for (unsigned i = 0; i < RAM_PAGE_SIZE / 8; i += 8) {
        if (w[i] | w[i + 1] | w[i + 2] | w[i + 3] | w[i + 4] | w[i + 5] | w[i + 6] | w[i + 7])
            return false;
    }
    return true;
}

/* ---- dirty tracking ------------------------------------------------------------------- */

static void device_wrote(void *opaque, const void *host, uint64_t len)
{
    uint64_t off;
    RamBlock *b = ram_block_of_host(opaque, host, &off);
    if (b)
        ram_block_mark_dirty(b, off, len);
}

static void set_all(RamBlock *b, uint64_t *map)
{
    uint64_t pages = ram_block_pages(b), words = ram_block_bitmap_words(b);
    for (uint64_t w = 0; w < words; w++) {
        uint64_t bits = w + 1 < words || !(pages % 64) ? ~0ull : (1ull << (pages % 64)) - 1;
        __atomic_fetch_or(&map[w], bits, __ATOMIC_RELAXED);
    }
}

void mig_ram_dirty_begin(Machine *m)
{
    for (unsigned i = 0; i < ram_block_count(m); i++) {
        RamBlock *b = ram_block_at(m, i);
        uint64_t *map = g_new0(uint64_t, ram_block_bitmap_words(b));
        set_all(b, map);
        __atomic_store_n(&b->dirty, map, __ATOMIC_RELEASE);
    }
    as_set_dirty_hook(m->sysmem, device_wrote, m);
}

void mig_ram_dirty_end(Machine *m)
{
    as_set_dirty_hook(m->sysmem, NULL, NULL);
    as_log_stop(m->sysmem);
    for (unsigned i = 0; i < ram_block_count(m); i++) {
        RamBlock *b = ram_block_at(m, i);
        uint64_t *map = __atomic_exchange_n(&b->dirty, NULL, __ATOMIC_ACQ_REL);
        g_free(map);
    }
}

/* ORs a region's log (page i of @r = bit i) into its block's bitmap. */
static void log_cb(MemRegion *r, const unsigned long *bitmap, void *opaque)
{
    uint64_t off;
    RamBlock *b = ram_block_of_host(opaque, r->ram, &off);
    if (!b || !b->dirty)
        return;
    uint64_t first = off >> RAM_PAGE_SHIFT, pages = MIN(r->size, b->size - off) >> RAM_PAGE_SHIFT;
    const uint64_t *src = (const uint64_t *)bitmap;
    for (uint64_t w = 0; w < (pages + 63) / 64; w++) {
        uint64_t bits = src[w];
        if (!bits)
            continue;
        if (first % 64 == 0) {
            __atomic_fetch_or(&b->dirty[first / 64 + w], bits, __ATOMIC_RELAXED);
            continue;
        }
        for (unsigned k = 0; k < 64; k++)
            if (bits >> k & 1)
                ram_block_mark_dirty(b, (first + w * 64 + k) << RAM_PAGE_SHIFT, 1);
    }
}

int64_t mig_ram_sync(Machine *m, bool final)
{
    int e = as_log_sync(m->sysmem, log_cb, m);
    if (e < 0)
        return e;
    for (unsigned i = 0; final && i < ram_block_count(m); i++) {
        RamBlock *b = ram_block_at(m, i);
        if (!(b->flags & RAM_BLOCK_TRACKED) || !as_log_active(m->sysmem))
            set_all(b, b->dirty);
    }
    return mig_ram_dirty_pages(m);
}

uint64_t mig_ram_dirty_pages(Machine *m)
{
    uint64_t n = 0;
    for (unsigned i = 0; i < ram_block_count(m); i++) {
        RamBlock *b = ram_block_at(m, i);
        for (uint64_t w = 0; b->dirty && w < ram_block_bitmap_words(b); w++)
            n += __builtin_popcountll(__atomic_load_n(&b->dirty[w], __ATOMIC_RELAXED));
    }
    return n;
}

/* ---- sending ------------------------------------------------------------------------- */

static void put_run_header(MigChannel *c, int type, unsigned block, uint64_t page,
                           uint32_t n)
{
    uint8_t h[15];
    h[0] = type;
    h[1] = block;
    h[2] = block >> 8;
    for (int i = 0; i < 8; i++)
        h[3 + i] = page >> (8 * i);
    for (int i = 0; i < 4; i++)
        h[11 + i] = n >> (8 * i);
    mc_put(c, h, sizeof(h));
}

/* Sends the pages set in @bits (64 pages from @page0). */
static void send_word(MigChannel *c, RamBlock *b, unsigned bi, uint64_t page0, uint64_t bits,
                      MigRamStats *st)
{
    while (bits) {
        unsigned k = __builtin_ctzll(bits);
        uint64_t page = page0 + k;
        bool zero = page_is_zero(b->host + (page << RAM_PAGE_SHIFT));
        unsigned n = 1;
        while (k + n < 64 && (bits >> (k + n) & 1) &&
               page_is_zero(b->host + ((page + n) << RAM_PAGE_SHIFT)) == zero)
            n++;
        put_run_header(c, zero ? MIG_R_ZERO : MIG_R_PAGES, bi, page, n);
        if (zero) {
            st->zero_pages += n;
        } else {
            mc_put(c, b->host + (page << RAM_PAGE_SHIFT), (size_t)n << RAM_PAGE_SHIFT);
            st->normal_pages += n;
        }
        bits &= n + k >= 64 ? 0 : ~0ull << (k + n);
    }
}

bool mig_ram_send(Machine *m, MigChannel *c, unsigned idx, unsigned n,
                  const volatile int *stop, MigRamStats *st)
{
    for (unsigned bi = 0; bi < ram_block_count(m); bi++) {
        RamBlock *b = ram_block_at(m, bi);
        uint64_t words = ram_block_bitmap_words(b);
        for (uint64_t w = idx; w < words; w += n) {
            if (mc_failed(c) || (stop && *stop))
                return false;
            if (!__atomic_load_n(&b->dirty[w], __ATOMIC_RELAXED))
                continue;
            uint64_t bits = __atomic_exchange_n(&b->dirty[w], 0, __ATOMIC_ACQ_REL);
            send_word(c, b, bi, w * 64, bits, st);
        }
    }
    return !mc_failed(c);
}

/* ---- receiving ------------------------------------------------------------------------- */

bool mig_ram_recv(Machine *m, MigChannel *c, int type, GError **errp)
{
    uint64_t bi, page, n;
    if (!mc_get_le(c, &bi, 2) || !mc_get_le(c, &page, 8) || !mc_get_le(c, &n, 4)) {
        mc_set_error(c, errp);
        return false;
    }
    MigrationState *s = mig_state(m);
    RamBlock *b = bi < s->in_blocks->len ? s->in_blocks->pdata[bi] : NULL;
    if (!b || !n || page > ram_block_pages(b) || n > ram_block_pages(b) - page ||
        (type == MIG_R_PAGES && n > MIG_MAX_RUN)) {
        g_set_error(errp, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, "RAM record: %" G_GUINT64_FORMAT
                    " pages at page %" G_GUINT64_FORMAT " of block %" G_GUINT64_FORMAT
                    " (%s) are outside it", n, page, bi, b ? b->name : "no such block");
        return false;
    }
    uint8_t *host = b->host + (page << RAM_PAGE_SHIFT);
    if (type == MIG_R_PAGES) {
        if (!mc_get_direct(c, host, n << RAM_PAGE_SHIFT)) {
            mc_set_error(c, errp);
            return false;
        }
        return true;
    }
    for (uint64_t i = 0; i < n; i++, host += RAM_PAGE_SIZE)
        if (!page_is_zero(host))
            memset(host, 0, RAM_PAGE_SIZE);
    return true;
}

/* ---- the block list in CONFIG --------------------------------------------------------- */

void mig_ram_config(Machine *m, GByteArray *out)
{
    uint8_t b4[4];
    unsigned n = ram_block_count(m);
    for (int i = 0; i < 4; i++)
        b4[i] = n >> (8 * i);
    g_byte_array_append(out, b4, 4);
    for (unsigned i = 0; i < n; i++) {
        RamBlock *b = ram_block_at(m, i);
        uint8_t h[2 + RAM_BLOCK_NAME_MAX + 8];
        size_t nl = strlen(b->name);
        h[0] = nl;
        h[1] = 0;
        memcpy(h + 2, b->name, nl);
        for (int k = 0; k < 8; k++)
            h[2 + nl + k] = b->size >> (8 * k);
        g_byte_array_append(out, h, 2 + nl + 8);
    }
}

static uint64_t rd(const uint8_t **p, unsigned n)
{
    uint64_t v = 0;
    for (unsigned i = 0; i < n; i++)
        v |= (uint64_t)(*p)[i] << (8 * i);
    *p += n;
    return v;
}

bool mig_ram_config_check(Machine *m, const uint8_t **pp, const uint8_t *end, GError **errp)
{
    MigrationState *s = mig_state(m);
    const uint8_t *p = *pp;
    if (end - p < 4)
        goto bad;
    uint32_t n = rd(&p, 4);
    if (n > MIG_MAX_BLOCKS)
        goto bad;
    g_ptr_array_set_size(s->in_blocks, 0);
    for (uint32_t i = 0; i < n; i++) {
        char name[RAM_BLOCK_NAME_MAX];
        if (end - p < 2)
            goto bad;
        size_t nl = rd(&p, 2);
        if (nl >= sizeof(name) || (size_t)(end - p) < nl + 8)
            goto bad;
        memcpy(name, p, nl);
        name[nl] = 0;
        p += nl;
        uint64_t size = rd(&p, 8);
        RamBlock *b = ram_block_find(m, name);
        if (!b) {
            g_set_error(errp, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, "the stream has RAM block "
                        "'%s', which this machine lacks", name);
            return false;
        }
        if (b->size != size) {
            g_set_error(errp, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, "RAM block '%s' differs in "
                        "size: %" G_GUINT64_FORMAT " MiB in the stream, %" G_GUINT64_FORMAT
                        " MiB here (-m)", name, size >> 20, b->size >> 20);
            return false;
        }
        for (guint k = 0; k < s->in_blocks->len; k++)
            if (s->in_blocks->pdata[k] == b)
                goto bad;
        g_ptr_array_add(s->in_blocks, b);
    }
    for (unsigned i = 0; i < ram_block_count(m); i++) {
        RamBlock *b = ram_block_at(m, i);
        bool found = false;
        for (guint k = 0; k < s->in_blocks->len; k++)
            found |= s->in_blocks->pdata[k] == b;
        if (!found) {
            g_set_error(errp, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, "this machine has RAM "
                        "block '%s', which the stream lacks", b->name);
            return false;
        }
    }
    *pp = p;
    return true;
bad:
    g_set_error(errp, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                "the stream's RAM block list is malformed");
    return false;
}
