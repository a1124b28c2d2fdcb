/*
 * -drive (include/vireo/drive.h). Only the options that mean something to Vireo are
 * accepted; anything else is an error naming it, as QEMU does for unknown keys.
 * if=ide (the default) places drives as QEMU does: index= or bus=/unit=, otherwise the
 * first free position; the default id is ide<BUS>-hd<UNIT> / ide<BUS>-cd<UNIT>.
 * snapshot=on (and -snapshot) puts a temporary qcow2 overlay over the image, deleted
 * at once (the open file keeps it alive), so the image itself is never written.
 */
#include "vireo/drive.h"
#include "vireo/device.h"
#include "vireo/ide.h"
#include "vireo/machine.h"
#include "vireo/option.h"
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define IDE_UNITS_PER_BUS 2
#define IDE_MAX_INDEX     4

static const char *const drive_keys[] = {
    "file", "format", "if", "id", "readonly", "cache", "aio", "media", "index", "bus",
    "unit", "snapshot", "discard", "detect-zeroes", "werror", "rerror", "implicit-backing",
    "file.locking", "force-share", NULL,
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

static BlockEngine *machine_engine(Machine *m);
static void drives_resumed(void *opaque);

BlockEngine *drive_engine(Machine *m)
{
    return machine_engine(m);
}

bool drive_register(Machine *m, const char *id, const char *spec, BlockBackend *blk,
                    GError **errp)
{
    for (guint i = 0; m->drives && i < m->drives->len; i++)
        if (!strcmp(((DriveInfo *)m->drives->pdata[i])->id, id)) {
            g_set_error(errp, G_IO_ERROR, G_IO_ERROR_EXISTS, "-blockdev %s: node-name '%s' "
                        "is already a drive id", spec, id);
            blk_close(blk);
            return false;
        }
    DriveInfo *d = g_new0(DriveInfo, 1);
    *d = (DriveInfo){ .id = g_strdup(id), .iface = g_strdup("none"), .spec = g_strdup(spec),
                      .blk = blk, .bus = -1, .unit = -1, .is_node = true };
    if (!m->drives)
        m->drives = g_ptr_array_new();
    g_ptr_array_add(m->drives, d);
    return true;
}

static BlockEngine *machine_engine(Machine *m)
{
    if (!m->block_engine) {
        m->block_engine = block_engine_new(NULL);
        runstate_add_notifier(m, &(RunstateNotifier){ .resumed = drives_resumed,
                                                     .opaque = m });
    }
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

/* discard= and detect-zeroes= (QEMU blockdev.c: unmap detection needs discard=unmap). */
static bool drive_discard(const char *spec, GHashTable *kv, BlockOpenOptions *o,
                          GError **errp)
{
    const char *discard = g_hash_table_lookup(kv, "discard");
    const char *dz = g_hash_table_lookup(kv, "detect-zeroes");
    o->discard_ignore = true;                       /* QEMU's default: discard=ignore */
    if (discard && !block_discard_parse(discard, &o->discard_ignore)) {
        g_autofree char *why = g_strdup_printf("Invalid discard option '%s' (ignore, off, "
                                               "unmap, on)", discard);
        return drive_error(errp, spec, why);
    }
    if (dz && !block_detect_zeroes_parse(dz, &o->detect_zeroes)) {
        g_autofree char *why = g_strdup_printf("Parameter 'detect-zeroes' does not accept "
                                               "value '%s' (off, on, unmap)", dz);
        return drive_error(errp, spec, why);
    }
    if (o->detect_zeroes == BLOCK_DETECT_ZEROES_UNMAP && o->discard_ignore)
        return drive_error(errp, spec, "setting detect-zeroes to unmap is not allowed "
                                       "without setting discard operation to unmap");
    return true;
}

/* werror= / rerror= (QEMU parse_block_error_action: enospc is for writes only). */
static bool drive_on_error(const char *spec, GHashTable *kv, BlockOnError *rd,
                           BlockOnError *wr, GError **errp)
{
    const char *r = g_hash_table_lookup(kv, "rerror");
    const char *w = g_hash_table_lookup(kv, "werror");
    *rd = BLOCK_ON_ERROR_REPORT;
    *wr = BLOCK_ON_ERROR_ENOSPC;
    if (r && !block_on_error_parse(r, true, rd)) {
        g_autofree char *why = g_strdup_printf("'%s' invalid read error action", r);
        return drive_error(errp, spec, why);
    }
    if (w && !block_on_error_parse(w, false, wr)) {
        g_autofree char *why = g_strdup_printf("'%s' invalid write error action", w);
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
    if (media && strcmp(media, "disk") && strcmp(media, "cdrom"))
        return drive_error(errp, spec, "media must be disk or cdrom");
    if (media && !strcmp(media, "cdrom"))
        o->read_only = true;                        /* QEMU opens CD-ROM media read-only */
    o->user = BLOCK_USER_DRIVE;
    const char *locking = g_hash_table_lookup(kv, "file.locking");
    if (locking && !block_locking_parse(locking, &o->locking)) {
        g_autofree char *why = g_strdup_printf("Parameter 'locking' does not accept value "
                                               "'%s' (auto, on, off)", locking);
        return drive_error(errp, spec, why);
    }
    if (!parse_onoff(spec, "force-share", g_hash_table_lookup(kv, "force-share"),
                     &o->force_share, errp))
        return false;
    if (o->force_share && !o->read_only)
        return drive_error(errp, spec, "force-share=on can only be used with read-only "
                                       "images");
    return drive_discard(spec, kv, o, errp);
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

static bool parse_int(const char *spec, GHashTable *kv, const char *key, int max, int *out,
                      GError **errp)
{
    const char *v = g_hash_table_lookup(kv, key);
    uint64_t n;
    *out = -1;
    if (!v)
        return true;
    if (!str_to_u64(v, &n) || n >= (uint64_t)max) {
        g_autofree char *why = g_strdup_printf("%s must be 0..%d", key, max - 1);
        return drive_error(errp, spec, why);
    }
    *out = n;
    return true;
}

static DriveInfo *drive_at(Machine *m, int bus, int unit)
{
    for (guint i = 0; m->drives && i < m->drives->len; i++) {
        DriveInfo *d = m->drives->pdata[i];
        if (!strcmp(d->iface, "ide") && d->bus == bus && d->unit == unit)
            return d;
    }
    return NULL;
}

/* index= or bus=/unit= (QEMU drive_new), else the first free position. */
static bool ide_position(Machine *m, const char *spec, GHashTable *kv, DriveInfo *d,
                         GError **errp)
{
    int index, bus, unit;
    if (!parse_int(spec, kv, "index", IDE_MAX_INDEX, &index, errp) ||
        !parse_int(spec, kv, "bus", IDE_MAX_INDEX / IDE_UNITS_PER_BUS, &bus, errp) ||
        !parse_int(spec, kv, "unit", IDE_UNITS_PER_BUS, &unit, errp))
        return false;
    if (index >= 0 && (bus >= 0 || unit >= 0))
        return drive_error(errp, spec, "index cannot be used with bus and unit");
    if (index >= 0) {
        bus = index / IDE_UNITS_PER_BUS;
        unit = index % IDE_UNITS_PER_BUS;
    }
    if (bus < 0)
        bus = 0;
    if (unit < 0) {
        for (unit = 0; drive_at(m, bus, unit); ) {
            if (++unit == IDE_UNITS_PER_BUS) {
                unit = 0;
                if (++bus == IDE_MAX_INDEX / IDE_UNITS_PER_BUS)
                    return drive_error(errp, spec, "no free IDE position (4 drives at most)");
            }
        }
    }
    if (drive_at(m, bus, unit)) {
        g_autofree char *why = g_strdup_printf("drive with bus=%d, unit=%d (index=%d) exists",
                                               bus, unit, bus * IDE_UNITS_PER_BUS + unit);
        return drive_error(errp, spec, why);
    }
    d->bus = bus;
    d->unit = unit;
    return true;
}

/* snapshot=on: a qcow2 overlay in $TMPDIR (or /var/tmp) backed by the image. */
static BlockBackend *open_snapshot(Machine *m, const char *spec, const char *file,
                                   const BlockOpenOptions *o, GError **errp)
{
    BlockOpenOptions ro = *o;
    ro.read_only = true;
    BlockBackend *base = blk_open(machine_engine(m), file, &ro, errp);
    if (!base)
        return NULL;
    g_autofree char *fmt = g_strdup(blk_format(base));
    blk_close(base);
    const char *tmpdir = g_getenv("TMPDIR") ? g_getenv("TMPDIR") : "/var/tmp";
    g_autofree char *tmp = g_build_filename(tmpdir, "vireo-snapshot.XXXXXX", NULL);
    g_autofree char *abs = g_canonicalize_filename(file, NULL);
    int fd = mkstemp(tmp);
    if (fd < 0) {
        g_set_error(errp, G_IO_ERROR, G_IO_ERROR_FAILED, "-drive %s: snapshot=on: cannot "
                    "create a temporary file in %s: %s", spec, tmpdir, g_strerror(errno));
        return NULL;
    }
    close(fd);
    GString *opts = g_string_new("backing_file=");
    for (const char *p = abs; *p; p++) {
        if (*p == ',')
            g_string_append_c(opts, ',');
        g_string_append_c(opts, *p);
    }
    g_string_append_printf(opts, ",backing_fmt=%s", fmt);
    /* The overlay's backing node is the image, opened with the drive's own options
     * (format, pinned chain): reuse them rather than what the overlay's header says. */
    BlockOpenOptions base_opts = *o;
    base_opts.format = fmt;
    base_opts.read_only = true;
    BlockOpenOptions rw = *o;
    rw.format = "qcow2";
    rw.read_only = false;
    rw.backing = BLOCK_BACKING_EXPLICIT;
    rw.backing_filename = abs;
    rw.backing_options = &base_opts;
    BlockBackend *blk = NULL;
    if (block_create(machine_engine(m), tmp, "qcow2", opts->str, -1, errp) == 0)
        blk = blk_open(machine_engine(m), tmp, &rw, errp);
    unlink(tmp);
    g_string_free(opts, TRUE);
    return blk;
}

bool drive_add(Machine *m, const char *spec, GError **errp)
{
    g_autoptr(GHashTable) kv = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
    BlockOpenOptions o;
    DriveBacking chain;
    BlockOnError on_read, on_write;
    bool snapshot = m->opts.snapshot, implicit = true;
    if (!drive_parse(spec, kv, errp) || !drive_options(spec, kv, &o, errp) ||
        !drive_on_error(spec, kv, &on_read, &on_write, errp) ||
        !drive_backing(spec, kv, &o, &chain, errp) ||
        !parse_onoff(spec, "snapshot", g_hash_table_lookup(kv, "snapshot"), &snapshot, errp) ||
        !parse_onoff(spec, "implicit-backing", g_hash_table_lookup(kv, "implicit-backing"),
                     &implicit, errp))
        return false;
    o.refuse_implicit_backing = !implicit;
    for (unsigned i = 0; i < chain.n; i++)
        chain.node[i].refuse_implicit_backing = !implicit;
    const char *file = g_hash_table_lookup(kv, "file");
    const char *iface = g_hash_table_lookup(kv, "if");
    const char *id = g_hash_table_lookup(kv, "id");
    const char *media = g_hash_table_lookup(kv, "media");
    bool cdrom = media && !strcmp(media, "cdrom");
    DriveInfo info = { .bus = -1, .unit = -1, .cdrom = cdrom };
    if (!iface)
        iface = "ide";
    if ((!file || !*file) && !cdrom)
        return drive_error(errp, spec, "file= is required");
    if (strcmp(iface, "none") && strcmp(iface, "virtio") && strcmp(iface, "ide")) {
        g_autofree char *why = g_strdup_printf("interface if=%s is not supported "
                                               "(ide, virtio, none)", iface);
        return drive_error(errp, spec, why);
    }
    if (cdrom && !strcmp(iface, "virtio"))
        return drive_error(errp, spec, "media=cdrom is not possible with if=virtio");
    if (strcmp(iface, "ide") && (g_hash_table_lookup(kv, "bus") ||
                                 g_hash_table_lookup(kv, "unit")))
        return drive_error(errp, spec, "bus= and unit= are for if=ide");
    if (!strcmp(iface, "ide") && !ide_position(m, spec, kv, &info, errp))
        return false;
    g_autofree char *auto_id = NULL;
    if (!id) {
        if (!strcmp(iface, "none"))
            return drive_error(errp, spec, "if=none needs id=");
        auto_id = !strcmp(iface, "ide")
            ? g_strdup_printf("ide%d-%s%d", info.bus, cdrom ? "cd" : "hd", info.unit)
            : g_strdup_printf("virtio%u", m->drives ? m->drives->len : 0);
        id = auto_id;
    }
    for (guint i = 0; m->drives && i < m->drives->len; i++)
        if (!strcmp(((DriveInfo *)m->drives->pdata[i])->id, id)) {
            g_autofree char *why = g_strdup_printf("drive id '%s' is used twice", id);
            return drive_error(errp, spec, why);
        }
    /* -incoming: the source still runs on the image until the migration completes. */
    o.inactive = m->opts.incoming != NULL;
    BlockBackend *blk = NULL;
    if (file && *file) {
        blk = snapshot && !cdrom ? open_snapshot(m, spec, file, &o, errp)
                                 : blk_open(machine_engine(m), file, &o, errp);
        if (!blk) {
            if (errp && *errp && !g_str_has_prefix((*errp)->message, "-drive"))
                g_prefix_error(errp, "-drive %s: ", spec);
            return false;
        }
        blk_set_on_error(blk, on_read, on_write);
    }
    DriveInfo *d = g_new0(DriveInfo, 1);
    *d = info;
    d->id = g_strdup(id);
    d->iface = g_strdup(iface);
    d->spec = g_strdup(spec);
    d->blk = blk;
    if (!m->drives)
        m->drives = g_ptr_array_new();
    g_ptr_array_add(m->drives, d);
    return true;
}

/* @cd: a removable-media device (reads only, cannot resize), else a disk. */
static bool claim(Machine *m, const char *id, const char *dev, bool cd, BlockBackend **blk,
                  GError **errp)
{
    for (guint i = 0; id && m->drives && i < m->drives->len; i++) {
        DriveInfo *d = m->drives->pdata[i];
        if (strcmp(d->id, id))
            continue;
        if (d->claimed_by) {
            g_set_error(errp, G_IO_ERROR, G_IO_ERROR_BUSY,
                        "%s: drive '%s' is already in use by a %s", dev, id, d->claimed_by);
            return false;
        }
        /* The device's permissions (a CD-ROM reads only and cannot be resized; a disk
         * writes unless the drive is read-only): another process's locks may refuse. */
        if (d->blk && !blk_attach_dev(d->blk, cd || blk_is_read_only(d->blk), !cd, errp)) {
            g_prefix_error(errp, "%s: ", dev);
            return false;
        }
        d->claimed_by = dev;
        *blk = d->blk;
        return true;
    }
    g_set_error(errp, G_IO_ERROR, G_IO_ERROR_NOT_FOUND, id ? "%s: no drive with id '%s'"
                : "%s: drive= is required%s", dev, id ? id : "");
    return false;
}

bool drive_claim_media(Machine *m, const char *id, const char *dev, BlockBackend **blk,
                       GError **errp)
{
    return claim(m, id, dev, true, blk, errp);
}

BlockBackend *drive_claim(Machine *m, const char *id, const char *dev, GError **errp)
{
    BlockBackend *blk = NULL;
    if (!claim(m, id, dev, false, &blk, errp))
        return NULL;
    if (!blk) {
        drive_release_id(m, id);
        g_set_error(errp, G_IO_ERROR, G_IO_ERROR_NOT_FOUND, "%s: drive '%s' has no medium",
                    dev, id);
    }
    return blk;
}

static void drive_unclaim(DriveInfo *d)
{
    if (d->claimed_by && d->blk)
        blk_detach_dev(d->blk);
    d->claimed_by = NULL;
    d->retry = NULL;
    d->resized = NULL;
}

void drive_release_id(Machine *m, const char *id)
{
    for (guint i = 0; id && m->drives && i < m->drives->len; i++)
        if (!strcmp(((DriveInfo *)m->drives->pdata[i])->id, id))
            drive_unclaim(m->drives->pdata[i]);
}

void drive_release(Machine *m, BlockBackend *blk)
{
    DriveInfo *d = drive_find_blk(m, blk);
    if (d)
        drive_unclaim(d);
}

DriveInfo *drive_find_blk(Machine *m, BlockBackend *blk)
{
    for (guint i = 0; blk && m->drives && i < m->drives->len; i++)
        if (((DriveInfo *)m->drives->pdata[i])->blk == blk)
            return m->drives->pdata[i];
    return NULL;
}

char *drive_node_name(const DriveInfo *d, guint index, int pos)
{
    if (d->node_names && (int)g_strv_length(d->node_names) > pos)
        return g_strdup(d->node_names[pos]);
    return pos == 0 && d->is_node ? g_strdup(d->id)
                                   : g_strdup_printf("#block%u%02d", index, pos);
}

DriveInfo *drive_find_node(Machine *m, const char *node_name, guint *index)
{
    for (guint i = 0; m->drives && i < m->drives->len; i++) {
        DriveInfo *d = m->drives->pdata[i];
        g_autofree char *name = drive_node_name(d, i, 0);
        if (d->blk && !strcmp(name, node_name)) {
            if (index)
                *index = i;
            return d;
        }
    }
    return NULL;
}

/* ---- rerror / werror (QEMU block-backend.c blk_error_action) ---- */

BlkErrorAction drive_io_error(Machine *m, BlockBackend *blk, bool is_read, int error)
{
    BlkErrorAction action = blk_get_error_action(blk, is_read, error);
    DriveInfo *d = drive_find_blk(m, blk);
    const char *device = d && !d->is_node ? d->id : "";
    const char *node = d && d->is_node ? d->id : NULL;

    /* The status first, so that query-block agrees with the events sent so far; the
     * event before the STOP the request causes. */
    if (action == BLK_ERROR_ACTION_STOP)
        blk_iostatus_set_err(blk, error);
    if (m->block_io_error)
        m->block_io_error(m, device, node, is_read, action, blk_iostatus_is_enabled(blk),
                          error);
    if (action == BLK_ERROR_ACTION_STOP)
        vm_request_stop(m, RUN_STATE_IO_ERROR);
    return action;
}

void drive_set_retry(Machine *m, BlockBackend *blk, void (*retry)(void *opaque),
                     void *opaque)
{
    DriveInfo *d = drive_find_blk(m, blk);
    if (d) {
        d->retry = retry;
        d->retry_opaque = opaque;
    }
}

bool drives_check_no_retry(Machine *m, const char *what, GError **errp)
{
    for (guint i = 0; m->drives && i < m->drives->len; i++) {
        DriveInfo *d = m->drives->pdata[i];
        if (d->retry) {
            g_set_error(errp, G_IO_ERROR, G_IO_ERROR_BUSY,
                        "%s refused: %s '%s' has a request that failed with an I/O error "
                        "waiting to be retried (the VM stopped on it: io-error); 'cont' "
                        "retries it once the error is fixed, a system_reset drops it",
                        what, d->is_node ? "node" : "drive", d->id);
            return false;
        }
    }
    return true;
}

void drive_set_resize_cb(Machine *m, BlockBackend *blk, void (*resized)(void *opaque),
                         void *opaque)
{
    DriveInfo *d = drive_find_blk(m, blk);
    if (d) {
        d->resized = resized;
        d->resized_opaque = opaque;
    }
}

void drives_iostatus_reset(Machine *m)
{
    for (guint i = 0; m->drives && i < m->drives->len; i++) {
        DriveInfo *d = m->drives->pdata[i];
        if (d->blk)
            blk_iostatus_reset(d->blk);
    }
}

/* The VM runs again: the requests that stopped it are retried (QEMU's restart hooks). */
static void drives_resumed(void *opaque)
{
    Machine *m = opaque;
    for (guint i = 0; m->drives && i < m->drives->len; i++) {
        DriveInfo *d = m->drives->pdata[i];
        void (*retry)(void *) = d->retry;
        d->retry = NULL;
        if (retry)
            retry(d->retry_opaque);
    }
}

/* Whether a -device already sits at IDE position @bus/@unit. */
static bool ide_position_taken(Machine *m, int bus, int unit)
{
    for (guint i = 0; i < m->devices->len; i++) {
        Device *dev = m->devices->pdata[i];
        if (dev->cls == &piix3_ide_class)
            return ide_ctrl_drive(dev, bus, unit) != NULL;
    }
    return false;
}

bool drive_create_devices(Machine *m, GError **errp)
{
    for (guint i = 0; m->drives && i < m->drives->len; i++) {
        DriveInfo *d = m->drives->pdata[i];
        g_autofree char *opts = NULL;
        const char *type = "virtio-blk-pci";
        if (!strcmp(d->iface, "ide")) {
            if (d->is_default && ide_position_taken(m, d->bus, d->unit))
                continue;
            type = d->cdrom ? "ide-cd" : "ide-hd";
            opts = g_strdup_printf("drive=%s,bus=ide.%d,unit=%d", d->id, d->bus, d->unit);
        } else if (!strcmp(d->iface, "virtio")) {
            opts = g_strdup_printf("drive=%s", d->id);
        } else {
            continue;
        }
        if (!machine_create_device(m, type, opts, errp)) {
            g_prefix_error(errp, "-drive %s: ", d->spec);
            return false;
        }
    }
    return true;
}

/* The options @d was opened with, parsed again (the strings live in @kv). */
static bool drive_reparse(DriveInfo *d, GHashTable *kv, BlockOpenOptions *o,
                          DriveBacking *chain, GError **errp)
{
    if (!drive_parse(d->spec, kv, errp) || !drive_options(d->spec, kv, o, errp) ||
        !drive_backing(d->spec, kv, o, chain, errp))
        return false;
    bool implicit = true;
    parse_onoff(d->spec, "implicit-backing", g_hash_table_lookup(kv, "implicit-backing"),
                &implicit, NULL);
    o->refuse_implicit_backing = !implicit;
    for (unsigned i = 0; i < chain->n; i++)
        chain->node[i].refuse_implicit_backing = !implicit;
    return true;
}

bool drives_set_active(Machine *m, bool active, GError **errp)
{
    for (guint i = 0; m->drives && i < m->drives->len; i++) {
        DriveInfo *d = m->drives->pdata[i];
        g_autoptr(GHashTable) kv = g_hash_table_new_full(g_str_hash, g_str_equal, g_free,
                                                         g_free);
        BlockOpenOptions o;
        DriveBacking chain;
        if (!d->blk)
            continue;                   /* a CD-ROM drive without medium */
        if (d->node_opts) {             /* -blockdev: the node's own options */
            BlockOpenOptions no = *d->node_opts;
            no.inactive = false;
            if (!blk_set_active(d->blk, active, &no, errp)) {
                g_prefix_error(errp, "-blockdev %s: ", d->spec);
                return false;
            }
            continue;
        }
        if (!drive_reparse(d, kv, &o, &chain, errp) ||
            !blk_set_active(d->blk, active, &o, errp)) {
            g_prefix_error(errp, "-drive %s: ", d->spec);
            return false;
        }
    }
    return true;
}

static void drive_free(DriveInfo *d)
{
    int r = d->blk ? blk_close(d->blk) : 0;
    if (r < 0)
        g_warning("%s %s: flushing on close: %s", d->is_node ? "-blockdev" : "-drive",
                  d->spec, g_strerror(-r));
    g_free(d->id);
    g_free(d->iface);
    g_free(d->spec);
    g_strfreev(d->node_names);
    g_free(d);
}

void drive_remove(Machine *m, DriveInfo *d)
{
    g_ptr_array_remove(m->drives, d);
    drive_free(d);
}

void drives_free(Machine *m)
{
    for (guint i = 0; m->drives && i < m->drives->len; i++)
        drive_free(m->drives->pdata[i]);
    if (m->drives)
        g_ptr_array_free(m->drives, TRUE);
    m->drives = NULL;
    blockdevs_free(m);
    if (m->block_engine)
        block_engine_free(m->block_engine);
    m->block_engine = NULL;
}
