/*
 * Writing and parsing the stream (format.h). The parser treats every byte as hostile:
 * each length is bounded before anything is allocated, each RAM record is checked
 * against its block, each section is loaded once, the checksum is compared before any
 * device state is applied, and every error names the record or section at fault.
 */
#include "migration.h"
#include "vireo/kvm.h"
#include <string.h>

/* ---- writing --------------------------------------------------------------------------- */

void mig_put_header(MigChannel *c, uint32_t flags, uint32_t channels, uint64_t session)
{
    mc_put(c, MIG_MAGIC, 8);
    mc_put_le(c, MIG_VERSION, 4);
    mc_put_le(c, flags, 4);
    mc_put_le(c, channels, 4);
    mc_put_le(c, session, 8);
}

void mig_put_config(MigChannel *c, Machine *m, GArray *secs, uint32_t flags)
{
    g_autoptr(GByteArray) cfg = g_byte_array_new();
    mig_config_build(m, secs, flags, cfg);
    mc_put_le(c, MIG_R_CONFIG, 1);
    mc_put_le(c, cfg->len, 4);
    mc_put(c, cfg->data, cfg->len);
}

bool mig_put_end(MigChannel *c)
{
    mc_put_le(c, MIG_R_END, 1);
    if (!mc_flush(c))
        return false;
    mc_put_le(c, mig_csum_value(&c->csum), 8);
    return mc_flush(c);
}

void mig_put_mfd_header(MigChannel *c, uint32_t idx, uint64_t session)
{
    mc_put(c, MIG_MFD_MAGIC, 8);
    mc_put_le(c, MIG_VERSION, 4);
    mc_put_le(c, idx, 4);
    mc_put_le(c, session, 8);
}

/* ---- parsing ---------------------------------------------------------------------------- */

static bool bad(GError **errp, const char *fmt, ...) G_GNUC_PRINTF(2, 3);
static bool bad(GError **errp, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    g_autofree char *msg = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    g_set_error(errp, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, "%s", msg);
    return false;
}

static bool io_failed(MigChannel *c, GError **errp)
{
    mc_set_error(c, errp);
    return false;
}

void mig_load_init(MigLoad *l, Machine *m, MigChannel *c)
{
    memset(l, 0, sizeof(*l));
    l->m = m;
    l->c = c;
    l->secs = mig_sections(m);
    l->map = g_array_new(FALSE, FALSE, sizeof(int));
    l->records = g_ptr_array_new_with_free_func((GDestroyNotify)g_bytes_unref);
}

void mig_load_clear(MigLoad *l)
{
    if (l->secs)
        g_array_free(l->secs, TRUE);
    if (l->map)
        g_array_free(l->map, TRUE);
    if (l->records)
        g_ptr_array_free(l->records, TRUE);
    l->secs = l->map = NULL;
    l->records = NULL;
}

bool mig_load_header(MigLoad *l, GError **errp)
{
    char magic[8];
    uint64_t version, flags, channels;
    if (!mc_get(l->c, magic, 8))
        return io_failed(l->c, errp);
    if (memcmp(magic, MIG_MAGIC, 8))
        return bad(errp, "not a Vireo migration stream (bad magic)");
    if (!mc_get_le(l->c, &version, 4) || !mc_get_le(l->c, &flags, 4) ||
        !mc_get_le(l->c, &channels, 4) || !mc_get_le(l->c, &l->session, 8))
        return io_failed(l->c, errp);
    if (version != MIG_VERSION)
        return bad(errp, "stream format version %" G_GUINT64_FORMAT " is not supported "
                   "(this Vireo reads version %d)", version, MIG_VERSION);
    if (flags & ~(uint64_t)MIG_F_KNOWN)
        return bad(errp, "unknown stream flags %#" G_GINT64_MODIFIER "x", flags);
    if ((flags & MIG_F_MULTIFD) ? channels < 1 || channels > MIG_MAX_CHANNELS : channels)
        return bad(errp, "%" G_GUINT64_FORMAT " multifd channels", channels);
    l->flags = flags;
    l->channels = channels;
    return true;
}

bool mig_load_config(MigLoad *l, GError **errp)
{
    uint64_t type, len;
    if (!mc_get_le(l->c, &type, 1) || !mc_get_le(l->c, &len, 4))
        return io_failed(l->c, errp);
    if (type != MIG_R_CONFIG)
        return bad(errp, "the stream does not start with its configuration (record %u)",
                   (unsigned)type);
    if (len > MIG_MAX_CONFIG)
        return bad(errp, "configuration record of %" G_GUINT64_FORMAT " bytes", len);
    g_autofree uint8_t *buf = g_malloc(len ? len : 1);
    if (!mc_get(l->c, buf, len))
        return io_failed(l->c, errp);
    if (!mig_config_check(l->m, l->secs, buf, len, l->map, errp))
        return false;
    g_ptr_array_set_size(l->records, l->map->len);
    return true;
}

static bool load_device_record(MigLoad *l, GError **errp)
{
    uint64_t idx, len;
    if (!mc_get_le(l->c, &idx, 4) || !mc_get_le(l->c, &len, 4))
        return io_failed(l->c, errp);
    if (idx >= l->map->len)
        return bad(errp, "device record for section %" G_GUINT64_FORMAT " of %u", idx,
                   l->map->len);
    const MigSection *s = &g_array_index(l->secs, MigSection, g_array_index(l->map, int, idx));
    g_autofree char *label = mig_section_label(s);
    if (l->records->pdata[idx])
        return bad(errp, "section %s: state given twice", label);
    if (len > MIG_MAX_SECTION || l->device_bytes + len > MIG_MAX_DEVICE_BYTES)
        return bad(errp, "section %s: %" G_GUINT64_FORMAT " bytes of state is too large",
                   label, len);
    uint8_t *buf = g_malloc(len ? len : 1);
    if (!mc_get(l->c, buf, len)) {
        g_free(buf);
        return io_failed(l->c, errp);
    }
    l->device_bytes += len;
    l->records->pdata[idx] = g_bytes_new_take(buf, len);
    return true;
}

bool mig_load_end(MigChannel *c, const char *what, GError **errp)
{
    uint64_t want = mig_csum_value(&c->csum), got;
    if (!mc_get_le(c, &got, 8))
        return io_failed(c, errp);
    if (got != want)
        return bad(errp, "%s: checksum mismatch (the stream is corrupt)", what);
    return true;
}

bool mig_load_records(MigLoad *l, GError **errp)
{
    for (;;) {
        uint64_t type, pass;
        if (!mc_get_le(l->c, &type, 1))
            return io_failed(l->c, errp);
        switch (type) {
        case MIG_R_ZERO:
        case MIG_R_PAGES:
            if (!mig_ram_recv(l->m, l->c, type, errp))
                return false;
            break;
        case MIG_R_DEVICE:
            if (!load_device_record(l, errp))
                return false;
            break;
        case MIG_R_PASS:
            if (!mc_get_le(l->c, &pass, 4))
                return io_failed(l->c, errp);
            l->passes++;
            break;
        case MIG_R_END:
            return mig_load_end(l->c, "the migration stream", errp);
        default:
            return bad(errp, "unknown record type %u", (unsigned)type);
        }
    }
}

/* Every section's state, in this machine's order (kvm-vm, devices, vCPUs). */
bool mig_load_apply(MigLoad *l, GError **errp)
{
    for (guint i = 0; i < l->map->len; i++) {
        if (!l->records->pdata[i]) {
            const MigSection *s = &g_array_index(l->secs, MigSection,
                                                 g_array_index(l->map, int, i));
            g_autofree char *label = mig_section_label(s);
            return bad(errp, "section %s: the stream has no state for it", label);
        }
    }
    for (guint k = 0; k < l->secs->len; k++) {
        for (guint i = 0; i < l->map->len; i++) {
            if (g_array_index(l->map, int, i) != (int)k)
                continue;
            gsize len;
            const uint8_t *p = g_bytes_get_data(l->records->pdata[i], &len);
            if (!mig_load_section(l->m, &g_array_index(l->secs, MigSection, k), p, len, errp))
                return false;
        }
    }
    if (l->m->kvm && !kvm_clock_put(l->m->kvm, mig_state(l->m)->loaded_clock, errp))
        return false;
    return true;
}
