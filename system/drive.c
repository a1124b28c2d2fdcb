/*
 * -drive (include/vireo/drive.h). Only the options that mean something to Vireo are
 * accepted; anything else is an error naming it, as QEMU does for unknown keys.
 */
#include "vireo/drive.h"
#include "vireo/device.h"
#include "vireo/machine.h"
#include "vireo/option.h"
#include <string.h>

static const char *const drive_keys[] = {
    "file", "format", "if", "id", "readonly", "cache", "aio", "media", "index",
    "implicit-backing", NULL,
};

#define BACKING_DEPTH_MAX 16

/* The pinned backing chain, QEMU's dotted keys: backing=null, backing.driver=FMT,
 * backing.file.filename=PATH, backing.backing=null, backing.backing.file.filename=... */
typedef struct DriveBacking {
    BlockOpenOptions node[BACKING_DEPTH_MAX];
    unsigned n;
} DriveBacking;

/* Whether @k is backing(.backing)*, optionally followed by .driver, .file.filename or
 * .file.driver. */
static bool is_backing_key(const char *k)
{
    const char *p = k;
    while (g_str_has_prefix(p, "backing")) {
        p += strlen("backing");
        if (!*p)
            return true;
        if (*p++ != '.')
            return false;
        if (!g_str_has_prefix(p, "backing"))
            return !strcmp(p, "driver") || !strcmp(p, "file.filename") ||
                   !strcmp(p, "file.driver");
    }
    return false;
}

static bool drive_error(GError **errp, const char *spec, const char *why)
{
    g_set_error(errp, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT, "-drive %s: %s", spec, why);
    return false;
}

static BlockEngine *machine_engine(Machine *m)
{
    if (!m->block_engine)
        m->block_engine = block_engine_new(NULL);
    return m->block_engine;
}

/* Parses @spec (QemuOpts: flat keys, short-form booleans) into a table; false with an
 * error on an unknown key. */
static bool drive_parse(const char *spec, GHashTable *kv, GError **errp)
{
    g_autoptr(JsonObject) o = keyval_parse(spec, NULL, KEYVAL_FLAT | KEYVAL_SHORT_BOOLS,
                                           NULL, errp);
    if (!o) {
        option_prefix_error(errp, "drive", spec);
        return false;
    }
    JsonObjectIter it;
    const char *k;
    JsonNode *v;
    json_object_iter_init(&it, o);
    while (json_object_iter_next(&it, &k, &v)) {
        if (!g_strv_contains(drive_keys, k) && !is_backing_key(k)) {
            g_autofree char *why = g_strdup_printf("Invalid parameter '%s'", k);
            return drive_error(errp, spec, why);
        }
        g_hash_table_insert(kv, g_strdup(k), g_strdup(kv_get_str(o, k)));
    }
    return true;
}

static bool parse_onoff(const char *spec, const char *key, const char *v, bool *out,
                        GError **errp)
{
    if (!v)
        return true;
    if (!str_to_bool(v, out)) {
        g_autofree char *why = g_strdup_printf("parameter '%s' expects 'on' or 'off'", key);
        return drive_error(errp, spec, why);
    }
    return true;
}

static bool drive_options(const char *spec, GHashTable *kv, BlockOpenOptions *o,
                          GError **errp)
{
    const char *fmt = g_hash_table_lookup(kv, "format");
    const char *cache = g_hash_table_lookup(kv, "cache");
    const char *aio = g_hash_table_lookup(kv, "aio");
    const char *media = g_hash_table_lookup(kv, "media");
    block_open_options_init(o);
    if (fmt && strcmp(fmt, "raw") && strcmp(fmt, "qcow2"))
        return drive_error(errp, spec, "format must be raw or qcow2");
    o->format = fmt;
    if (!parse_onoff(spec, "readonly", g_hash_table_lookup(kv, "readonly"), &o->read_only,
                     errp))
        return false;
    if (cache && !block_cache_mode_parse(cache, &o->cache))
        return drive_error(errp, spec, "cache must be writeback, none, writethrough, "
                                       "directsync or unsafe");
    if (aio && !block_aio_mode_parse(aio, &o->aio))
        return drive_error(errp, spec, "aio must be io_uring or threads");
    if (media && strcmp(media, "disk"))
        return drive_error(errp, spec, "only media=disk is supported");
    return true;
}

/* Fills @o's backing fields (and @b's nodes) from the backing.* keys. */
static bool drive_backing(const char *spec, GHashTable *kv, BlockOpenOptions *o,
                          DriveBacking *b, GError **errp)
{
    g_autoptr(GString) pfx = g_string_new("backing");
    BlockOpenOptions *cur = o;
    for (b->n = 0;; g_string_append(pfx, ".backing")) {
        g_autofree char *kfile = g_strconcat(pfx->str, ".file.filename", NULL);
        g_autofree char *kdrv = g_strconcat(pfx->str, ".driver", NULL);
        g_autofree char *kproto = g_strconcat(pfx->str, ".file.driver", NULL);
        const char *ref = g_hash_table_lookup(kv, pfx->str);
        const char *file = g_hash_table_lookup(kv, kfile);
        const char *drv = g_hash_table_lookup(kv, kdrv);
        const char *proto = g_hash_table_lookup(kv, kproto);
        if (ref && (file || drv)) {
            g_autofree char *why = g_strdup_printf("'%s' and '%s.*' exclude each other",
                                                   pfx->str, pfx->str);
            return drive_error(errp, spec, why);
        }
        if (ref && strcmp(ref, "null") && *ref) {
            g_autofree char *why = g_strdup_printf("%s=%s: a backing node by name needs "
                                                   "-blockdev; use %s=null or "
                                                   "%s.file.filename=PATH", pfx->str, ref,
                                                   pfx->str, pfx->str);
            return drive_error(errp, spec, why);
        }
        if (proto && strcmp(proto, "file"))
            return drive_error(errp, spec, "backing files use the 'file' protocol only");
        if (drv && strcmp(drv, "raw") && strcmp(drv, "qcow2"))
            return drive_error(errp, spec, "backing format must be raw or qcow2");
        if (ref) {
            cur->backing = BLOCK_BACKING_NONE;
            return true;
        }
        if (!file && !drv)
            return true;              /* from here on: what the images say */
        if (!file) {
            g_autofree char *why = g_strdup_printf("%s.driver needs %s.file.filename",
                                                   pfx->str, pfx->str);
            return drive_error(errp, spec, why);
        }
        if (b->n == BACKING_DEPTH_MAX)
            return drive_error(errp, spec, "backing chain too deep");
        BlockOpenOptions *next = &b->node[b->n++];
        block_open_options_init(next);
        next->format = drv;
        cur->backing = BLOCK_BACKING_EXPLICIT;
        cur->backing_filename = file;
        cur->backing_options = next;
        cur = next;
    }
}

bool drive_add(Machine *m, const char *spec, GError **errp)
{
    g_autoptr(GHashTable) kv = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
    BlockOpenOptions o;
    DriveBacking chain;
    if (!drive_parse(spec, kv, errp) || !drive_options(spec, kv, &o, errp) ||
        !drive_backing(spec, kv, &o, &chain, errp))
        return false;
    bool implicit = true;
    if (!parse_onoff(spec, "implicit-backing", g_hash_table_lookup(kv, "implicit-backing"),
                     &implicit, errp))
        return false;
    o.refuse_implicit_backing = !implicit;
    for (unsigned i = 0; i < chain.n; i++)
        chain.node[i].refuse_implicit_backing = !implicit;
    const char *file = g_hash_table_lookup(kv, "file");
    const char *iface = g_hash_table_lookup(kv, "if");
    const char *id = g_hash_table_lookup(kv, "id");
    if (!file || !*file)
        return drive_error(errp, spec, "file= is required");
    if (!iface || !strcmp(iface, "ide"))
        return drive_error(errp, spec, "IDE disks are not implemented yet: use if=virtio, "
                                       "or if=none,id=ID with -device virtio-blk-pci,drive=ID");
    if (strcmp(iface, "none") && strcmp(iface, "virtio")) {
        g_autofree char *why = g_strdup_printf("interface if=%s is not supported "
                                               "(none, virtio)", iface);
        return drive_error(errp, spec, why);
    }
    g_autofree char *auto_id = NULL;
    if (!id) {
        if (!strcmp(iface, "none"))
            return drive_error(errp, spec, "if=none needs id=");
        auto_id = g_strdup_printf("virtio%u", m->drives ? m->drives->len : 0);
        id = auto_id;
    }
    for (guint i = 0; m->drives && i < m->drives->len; i++)
        if (!strcmp(((DriveInfo *)m->drives->pdata[i])->id, id)) {
            g_autofree char *why = g_strdup_printf("drive id '%s' is used twice", id);
            return drive_error(errp, spec, why);
        }
    BlockBackend *blk = blk_open(machine_engine(m), file, &o, errp);
    if (!blk) {
        g_prefix_error(errp, "-drive %s: ", spec);
        return false;
    }
    DriveInfo *d = g_new0(DriveInfo, 1);
    d->id = g_strdup(id);
    d->iface = g_strdup(iface);
    d->spec = g_strdup(spec);
    d->blk = blk;
    if (!m->drives)
        m->drives = g_ptr_array_new();
    g_ptr_array_add(m->drives, d);
    return true;
}

BlockBackend *drive_claim(Machine *m, const char *id, const char *dev, GError **errp)
{
    for (guint i = 0; id && m->drives && i < m->drives->len; i++) {
        DriveInfo *d = m->drives->pdata[i];
        if (strcmp(d->id, id))
            continue;
        if (d->claimed_by) {
            g_set_error(errp, G_IO_ERROR, G_IO_ERROR_BUSY,
                        "%s: drive '%s' is already in use by a %s", dev, id, d->claimed_by);
            return NULL;
        }
        d->claimed_by = dev;
        return d->blk;
    }
    g_set_error(errp, G_IO_ERROR, G_IO_ERROR_NOT_FOUND, id ? "%s: no drive with id '%s'"
                : "%s: drive= is required%s", dev, id ? id : "");
    return NULL;
}

void drive_release(Machine *m, BlockBackend *blk)
{
    for (guint i = 0; blk && m->drives && i < m->drives->len; i++)
        if (((DriveInfo *)m->drives->pdata[i])->blk == blk)
            ((DriveInfo *)m->drives->pdata[i])->claimed_by = NULL;
}

bool drive_create_devices(Machine *m, GError **errp)
{
    for (guint i = 0; m->drives && i < m->drives->len; i++) {
        DriveInfo *d = m->drives->pdata[i];
        if (strcmp(d->iface, "virtio"))
            continue;
        g_autofree char *opts = g_strdup_printf("drive=%s", d->id);
        if (!machine_create_device(m, "virtio-blk-pci", opts, errp)) {
            g_prefix_error(errp, "-drive %s: ", d->spec);
            return false;
        }
    }
    return true;
}

void drives_free(Machine *m)
{
    for (guint i = 0; m->drives && i < m->drives->len; i++) {
        DriveInfo *d = m->drives->pdata[i];
        int r = blk_close(d->blk);
        if (r < 0)
            g_warning("-drive %s: flushing on close: %s", d->spec, g_strerror(-r));
        g_free(d->id);
        g_free(d->iface);
        g_free(d->spec);
        g_free(d);
    }
    if (m->drives)
        g_ptr_array_free(m->drives, TRUE);
    m->drives = NULL;
    if (m->block_engine)
        block_engine_free(m->block_engine);
    m->block_engine = NULL;
}
