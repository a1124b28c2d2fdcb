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
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
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

/* file: pages go to their place in the RAM area; a zero page that once held data
 * there becomes a hole again. */
static void put_mapped(MigChannel *c, RamBlock *b, unsigned bi, uint64_t page, unsigned n,
                       bool zero)
{
    MigMapped *mm = c->mapped;
    uint64_t *in = mm->in_file[bi];
    off_t off = mm->off[bi] + (page << RAM_PAGE_SHIFT);
    size_t len = (size_t)n << RAM_PAGE_SHIFT;
    if (c->error)
        return;
    if (zero) {
        bool any = false;
        for (unsigned i = 0; i < n; i++)
            any |= in[(page + i) / 64] >> ((page + i) % 64) & 1;
        if (any && fallocate(mm->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, off, len) < 0) {
            static const uint8_t zeros[RAM_PAGE_SIZE];
            for (unsigned i = 0; i < n && !c->error; i++)
                if (pwrite(mm->fd, zeros, RAM_PAGE_SIZE, off + i * RAM_PAGE_SIZE) != RAM_PAGE_SIZE)
                    c->error = -EIO;
        }
        for (unsigned i = 0; i < n; i++)
            in[(page + i) / 64] &= ~(1ull << ((page + i) % 64));
        return;
    }
    mig_rate_account(c, len);
    for (size_t done = 0; done < len && !c->error;) {
        ssize_t k = pwrite(mm->fd, b->host + (page << RAM_PAGE_SHIFT) + done, len - done,
                           off + done);
        if (k <= 0 && errno != EINTR) {
            c->error = k < 0 ? -errno : -EIO;
            c->errmsg = g_strdup_printf("%s: %s", c->name, k < 0 ? g_strerror(errno)
                                                                  : "short write");
        }
        done += k > 0 ? k : 0;
    }
    c->bytes += len;
    for (unsigned i = 0; i < n; i++)
        in[(page + i) / 64] |= 1ull << ((page + i) % 64);
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
        if (c->mapped)
            put_mapped(c, b, bi, page, n, zero);
        else
            put_run_header(c, zero ? MIG_R_ZERO : MIG_R_PAGES, bi, page, n);
        if (zero) {
            st->zero_pages += n;
        } else {
            if (!c->mapped)
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
        if (b->flags & RAM_BLOCK_READONLY) {
            g_set_error(errp, G_IO_ERROR, G_IO_ERROR_READ_ONLY, "RAM block '%s' is a "
                        "read-only memory backend here (readonly=on): it cannot be loaded",
                        name);
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

/* ---- file: RAM at fixed offsets ----------------------------------------------------------- */

MigMapped *mig_mapped_new(Machine *m, MigChannel *c)
{
    MigMapped *mm = g_new0(MigMapped, 1);
    mm->fd = c->fd;
    mm->n = ram_block_count(m);
    mm->off = g_new0(uint64_t, mm->n + 1);
    mm->in_file = g_new0(uint64_t *, mm->n + 1);
    uint64_t at = MIG_MAPPED_ALIGN;
    for (unsigned i = 0; i < mm->n; i++) {
        RamBlock *b = ram_block_at(m, i);
        mm->off[i] = at;
        mm->in_file[i] = g_new0(uint64_t, ram_block_bitmap_words(b));
        at = (at + b->size + MIG_MAPPED_ALIGN - 1) / MIG_MAPPED_ALIGN * MIG_MAPPED_ALIGN;
        mc_put_le(c, MIG_R_MAPPED, 1);
        mc_put_le(c, i, 2);
        mc_put_le(c, mm->off[i], 8);
    }
    mm->tail = at;
    mc_flush(c);
    if (ftruncate(mm->fd, mm->tail) < 0 || lseek(mm->fd, mm->tail, SEEK_SET) < 0) {
        c->error = -errno;
        c->errmsg = g_strdup_printf("%s: %s", c->name, g_strerror(errno));
    }
    c->mapped = mm;
    return mm;
}

void mig_mapped_free(MigMapped *mm)
{
    if (!mm)
        return;
    for (unsigned i = 0; i < mm->n; i++)
        g_free(mm->in_file[i]);
    g_free(mm->in_file);
    g_free(mm->off);
    g_free(mm);
}

/* Reads one block's pages from the file: the data extents (SEEK_DATA/SEEK_HOLE), zeros
 * for the holes. The pages are read (or placed by lazy.c), not mapped: main RAM is
 * usually a shared memfd (vhost, THP) that a private file mapping would replace, and a
 * mapped file that is later truncated or rewritten (a new migrate to the same file)
 * would change or fault the running guest's memory. */
static bool read_block(RamBlock *b, int fd, uint64_t off, GError **errp)
{
    uint64_t pos = 0;
    while (pos < b->size) {
        off_t data = lseek(fd, off + pos, SEEK_DATA);
        uint64_t d = data < 0 || (uint64_t)data >= off + b->size ? b->size : data - off;
        memset(b->host + pos, 0, d - pos);              /* a hole reads as zeros */
        pos = d;
        if (pos >= b->size)
            break;
        off_t hole = lseek(fd, off + pos, SEEK_HOLE);
        uint64_t h = hole < 0 || (uint64_t)hole >= off + b->size ? b->size : hole - off;
        while (pos < h) {
            ssize_t k = pread(fd, b->host + pos, MIN(h - pos, 1u << 20), off + pos);
            if (k < 0 && errno == EINTR)
                continue;
            if (k <= 0) {
                g_set_error(errp, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, "reading RAM block "
                            "'%s': %s", b->name, k < 0 ? g_strerror(errno) : "short file");
                return false;
            }
            pos += k;
        }
    }
    return true;
}

bool mig_mapped_load(Machine *m, MigChannel *c, bool lazy, GError **errp)
{
    MigrationState *s = mig_state(m);
    unsigned n = s->in_blocks->len;
    g_autofree bool *seen = g_new0(bool, n + 1);
    g_autofree uint64_t *offs = g_new0(uint64_t, n + 1);
    struct stat st;
    uint64_t tail = 0;
    if (c->fd < 0 || fstat(c->fd, &st) < 0 || !S_ISREG(st.st_mode)) {
        g_set_error(errp, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                    "a stream with mapped RAM must come from a file (file:)");
        return false;
    }
    /* Every record is checked before any block is touched. */
    for (unsigned i = 0; i < n; i++) {
        uint64_t type, bi, off;
        if (!mc_get_le(c, &type, 1) || !mc_get_le(c, &bi, 2) || !mc_get_le(c, &off, 8)) {
            mc_set_error(c, errp);
            return false;
        }
        if (type != MIG_R_MAPPED || bi >= n || seen[bi]) {
            g_set_error(errp, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                        "the stream's RAM area records are malformed");
            return false;
        }
        RamBlock *b = s->in_blocks->pdata[bi];
        if (off % RAM_PAGE_SIZE || off > (uint64_t)st.st_size ||
            b->size > (uint64_t)st.st_size - off) {
            g_set_error(errp, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, "RAM block '%s' at file "
                        "offset %" G_GUINT64_FORMAT " (%" G_GUINT64_FORMAT " bytes) is not "
                        "inside the file", b->name, off, b->size);
            return false;
        }
        seen[bi] = true;
        offs[bi] = off;
        tail = MAX(tail, (off + b->size + MIG_MAPPED_ALIGN - 1) / MIG_MAPPED_ALIGN *
                         MIG_MAPPED_ALIGN);
    }
    MigLazy *lz = lazy && !s->lazy ? mig_lazy_new(c->fd) : NULL;
    for (unsigned i = 0; i < n; i++) {
        RamBlock *b = s->in_blocks->pdata[i];
        if (lz && mig_lazy_add(lz, b, offs[i]))
            continue;
        if (!read_block(b, c->fd, offs[i], errp)) {
            if (lz)
                mig_lazy_start(lz);             /* the blocks it holds get their pages */
            s->lazy = lz;
            return false;
        }
    }
    if (lz && mig_lazy_stats(lz).blocks) {
        mig_lazy_start(lz);
        s->lazy = lz;
    } else {
        mig_lazy_free(lz);
    }
    if (lseek(c->fd, tail, SEEK_SET) < 0) {
        g_set_error(errp, G_IO_ERROR, g_io_error_from_errno(errno), "%s", g_strerror(errno));
        return false;
    }
    c->rpos = c->rend = 0;              /* what was read ahead is RAM area, not records */
    return true;
}
