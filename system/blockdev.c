/*
 * -blockdev (QEMU 7.2 qapi/block-core.json BlockdevOptions), keyval or JSON: protocol
 * nodes (driver=file|host_device: filename, aio, cache.direct, cache.no-flush, locking)
 * and format nodes (driver=raw|qcow2: file = a node name or an inline protocol node,
 * backing = null or a node name, qcow2 only), each with node-name, read-only,
 * auto-read-only, discard=ignore|unmap, detect-zeroes=off|on|unmap (the top node's
 * apply to guest requests). Declared nodes form a graph; the
 * nodes nothing else refers to are opened as chains on the block layer (a backing node
 * becomes the overlay's pinned backing, BLOCK_BACKING_EXPLICIT) and registered as
 * drives named by their node-name, so devices attach with drive=NODE-NAME. A protocol
 * node nothing else uses is opened as raw, as QEMU's devices read protocol nodes.
 */
#include "vireo/drive.h"
#include "vireo/machine.h"
#include "vireo/option.h"
#include <errno.h>
#include <string.h>

typedef struct BdNode {
    char *name, *driver, *spec;
    char *filename;                 /* protocol nodes */
    char *file_ref;                 /* format nodes: the protocol node's name */
    char *backing_ref;              /* qcow2: a backing node's name */
    bool backing_null, read_only, auto_read_only, used;
    BlockCacheMode cache;
    BlockAioMode aio;
    bool aio_set;
    bool discard_ignore;
    BlockDetectZeroes detect_zeroes;
    BlockOpenOptions o;             /* filled when opened; kept for backing chains */
} BdNode;

static const char *const common_keys[] = {
    "driver", "node-name", "read-only", "auto-read-only", "discard", "detect-zeroes",
    "cache", "force-share", NULL };
static const char *const file_keys[] = { "filename", "aio", "locking", "aio-max-batch",
                                         NULL };
static const char *const format_keys[] = { "file", "backing", NULL };

static bool bd_error(GError **errp, const char *spec, const char *why)
{
    g_set_error(errp, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT, "-blockdev %s: %s", spec, why);
    return false;
}

static BdNode *bd_find(Machine *m, const char *name)
{
    for (guint i = 0; name && m->blockdevs && i < m->blockdevs->len; i++)
        if (!strcmp(((BdNode *)m->blockdevs->pdata[i])->name, name))
            return m->blockdevs->pdata[i];
    return NULL;
}

static bool known_key(const char *k, bool protocol)
{
    return g_strv_contains(common_keys, k) ||
           g_strv_contains(protocol ? file_keys : format_keys, k);
}

/* Options shared by every node kind. */
static bool bd_common(BdNode *n, JsonObject *o, bool kv, GError **errp)
{
    JsonNode *v;
    if ((v = json_object_get_member(o, "read-only")) &&
        !qv_bool(v, NULL, "read-only", kv, &n->read_only, errp))
        return false;
    if ((v = json_object_get_member(o, "auto-read-only")) &&
        !qv_bool(v, NULL, "auto-read-only", kv, &n->auto_read_only, errp))
        return false;
    const char *discard = json_object_has_member(o, "discard") ? kv_get_str(o, "discard") : NULL;
    const char *dz = json_object_has_member(o, "detect-zeroes") ?
                     kv_get_str(o, "detect-zeroes") : NULL;
    n->discard_ignore = true;                   /* QEMU's default: discard=ignore */
    if (discard && !block_discard_parse(discard, &n->discard_ignore)) {
        g_autofree char *why = g_strdup_printf("Parameter 'discard' does not accept value "
                                               "'%s' (ignore, unmap)", discard);
        return bd_error(errp, n->spec, why);
    }
    if (dz && !block_detect_zeroes_parse(dz, &n->detect_zeroes)) {
        g_autofree char *why = g_strdup_printf("Parameter 'detect-zeroes' does not accept "
                                               "value '%s' (off, on, unmap)", dz);
        return bd_error(errp, n->spec, why);
    }
    if (n->detect_zeroes == BLOCK_DETECT_ZEROES_UNMAP && n->discard_ignore)
        return bd_error(errp, n->spec, "setting detect-zeroes to unmap is not allowed "
                                       "without setting discard operation to unmap");
    n->cache = BLOCK_CACHE_WRITEBACK;
    JsonObject *cache = NULL;
    if ((v = json_object_get_member(o, "cache")) &&
        !qv_object(v, NULL, "cache", &cache, errp))
        return false;
    if (cache) {
        static const char *const ck[] = { "direct", "no-flush", NULL };
        bool direct = false, noflush = false;
        JsonNode *d = json_object_get_member(cache, "direct");
        JsonNode *f = json_object_get_member(cache, "no-flush");
        if (!qv_check_unexpected(cache, "cache", ck, errp) ||
            (d && !qv_bool(d, "cache", "direct", kv, &direct, errp)) ||
            (f && !qv_bool(f, "cache", "no-flush", kv, &noflush, errp)))
            return false;
        n->cache = noflush ? BLOCK_CACHE_UNSAFE : direct ? BLOCK_CACHE_NONE
                                                         : BLOCK_CACHE_WRITEBACK;
        if (noflush && direct)
            return bd_error(errp, n->spec, "cache.direct=on with cache.no-flush=on is not "
                            "supported");
    }
    return true;
}

/* A protocol node given inline as a format node's "file" member: declared anonymously. */
static bool bd_declare(Machine *m, JsonObject *o, bool kv, const char *spec, char **name_out,
                       GError **errp);

static bool bd_format(Machine *m, BdNode *n, JsonObject *o, bool kv, GError **errp)
{
    JsonNode *file = json_object_get_member(o, "file");
    JsonNode *backing = json_object_get_member(o, "backing");
    if (!file)
        return bd_error(errp, n->spec, "Parameter 'file' is missing");
    if (JSON_NODE_HOLDS_OBJECT(file)) {
        if (!bd_declare(m, json_node_get_object(file), kv, n->spec, &n->file_ref, errp))
            return false;
    } else if (!qv_str(file, NULL, "file", &n->file_ref, errp)) {
        return false;
    }
    BdNode *f = bd_find(m, n->file_ref);
    if (!f || f->filename == NULL) {
        g_autofree char *why = g_strdup_printf("file: '%s' is not a file or host_device node "
                                               "declared before", n->file_ref);
        return bd_error(errp, n->spec, why);
    }
    f->used = true;
    if (!backing)
        return true;
    if (strcmp(n->driver, "qcow2"))
        return bd_error(errp, n->spec, "Invalid parameter 'backing' (qcow2 only)");
    if (JSON_NODE_HOLDS_NULL(backing) || (kv && !strcmp(kv_get_str(o, "backing"), "null"))) {
        n->backing_null = true;
        return true;
    }
    if (!qv_str(backing, NULL, "backing", &n->backing_ref, errp))
        return false;
    BdNode *b = bd_find(m, n->backing_ref);
    if (!b || !b->file_ref) {
        g_autofree char *why = g_strdup_printf("backing: '%s' is not a format node declared "
                                               "before", n->backing_ref);
        return bd_error(errp, n->spec, why);
    }
    b->used = true;
    return true;
}

static bool bd_declare(Machine *m, JsonObject *o, bool kv, const char *spec, char **name_out,
                       GError **errp)
{
    const char *driver = json_object_has_member(o, "driver") ? kv_get_str(o, "driver") : NULL;
    bool protocol = driver && (!strcmp(driver, "file") || !strcmp(driver, "host_device"));
    JsonObjectIter it;
    const char *k;
    JsonNode *v;

    if (!driver)
        return bd_error(errp, spec, "Parameter 'driver' is missing");
    if (!protocol && strcmp(driver, "raw") && strcmp(driver, "qcow2")) {
        g_autofree char *why = g_strdup_printf("Parameter 'driver' does not accept value "
                                               "'%s' (file, host_device, raw, qcow2)", driver);
        return bd_error(errp, spec, why);
    }
    json_object_iter_init(&it, o);
    while (json_object_iter_next(&it, &k, &v))
        if (!known_key(k, protocol)) {
            g_autofree char *why = g_strdup_printf("Invalid parameter '%s'", k);
            return bd_error(errp, spec, why);
        }
    BdNode *n = g_new0(BdNode, 1);
    n->spec = g_strdup(spec);
    n->driver = g_strdup(driver);
    n->name = json_object_has_member(o, "node-name") ? g_strdup(kv_get_str(o, "node-name"))
              : g_strdup_printf("#block%u", m->blockdevs ? m->blockdevs->len : 0);
    if (!m->blockdevs)
        m->blockdevs = g_ptr_array_new();
    g_ptr_array_add(m->blockdevs, n);       /* freed with the machine's drives */
    if (json_object_has_member(o, "node-name") && !id_check("node-name", n->name, errp))
        return false;
    for (guint i = 0; i + 1 < m->blockdevs->len; i++)
        if (!strcmp(((BdNode *)m->blockdevs->pdata[i])->name, n->name)) {
            g_autofree char *why = g_strdup_printf("Duplicate nodes with node-name='%s'",
                                                   n->name);
            return bd_error(errp, spec, why);
        }
    if (!bd_common(n, o, kv, errp))
        return false;
    if (name_out)
        *name_out = g_strdup(n->name);
    if (!protocol)
        return bd_format(m, n, o, kv, errp);
    if (!json_object_has_member(o, "filename") || !*kv_get_str(o, "filename"))
        return bd_error(errp, spec, "Parameter 'filename' is missing");
    n->filename = g_strdup(kv_get_str(o, "filename"));
    const char *aio = json_object_has_member(o, "aio") ? kv_get_str(o, "aio") : NULL;
    if (aio && !block_aio_mode_parse(aio, &n->aio))
        return bd_error(errp, spec, "aio must be threads, io_uring or native");
    n->aio_set = aio != NULL;
    const char *locking = json_object_has_member(o, "locking") ? kv_get_str(o, "locking") : NULL;
    if (locking && strcmp(locking, "auto") && strcmp(locking, "on"))
        return bd_error(errp, spec, "locking=off is not supported");
    return true;
}

bool blockdev_declare(Machine *m, JsonObject *o, bool kv, const char *spec, GError **errp)
{
    return bd_declare(m, o, kv, spec, NULL, errp);
}

/* Options of format node @n (and, through backing_options, its pinned chain). */
static void bd_options(Machine *m, BdNode *n, bool read_only)
{
    BdNode *f = bd_find(m, n->file_ref ? n->file_ref : n->name);
    block_open_options_init(&n->o);
    n->o.format = n->file_ref ? n->driver : "raw";
    n->o.read_only = read_only || n->read_only || (f && f->read_only);
    n->o.cache = f ? f->cache : n->cache;
    n->o.discard_ignore = n->discard_ignore;
    n->o.detect_zeroes = n->detect_zeroes;
    if (f && f->aio_set)
        n->o.aio = f->aio;
    if (n->backing_null) {
        n->o.backing = BLOCK_BACKING_NONE;
    } else if (n->backing_ref) {
        BdNode *b = bd_find(m, n->backing_ref);
        bd_options(m, b, true);
        n->o.backing = BLOCK_BACKING_EXPLICIT;
        n->o.backing_filename = bd_find(m, b->file_ref)->filename;
        n->o.backing_options = &b->o;
    }
}

bool blockdev_open_all(Machine *m, GError **errp)
{
    for (guint i = 0; m->blockdevs && i < m->blockdevs->len; i++) {
        BdNode *n = m->blockdevs->pdata[i];
        if (n->used)
            continue;                       /* opened as part of another node's chain */
        BdNode *f = bd_find(m, n->file_ref ? n->file_ref : n->name);
        bd_options(m, n, false);
        n->o.inactive = m->opts.incoming != NULL;   /* the source owns it until handover */
        BlockEngine *eng = drive_engine(m);
        BlockBackend *blk = blk_open(eng, f->filename, &n->o, errp);
        if (!blk && (n->auto_read_only || f->auto_read_only) && !n->o.read_only &&
            errp && *errp && (g_error_matches(*errp, G_IO_ERROR, G_IO_ERROR_PERMISSION_DENIED) ||
                              g_error_matches(*errp, G_IO_ERROR, G_IO_ERROR_READ_ONLY))) {
            g_clear_error(errp);
            n->o.read_only = true;
            blk = blk_open(eng, f->filename, &n->o, errp);
        }
        if (!blk) {
            g_prefix_error(errp, "-blockdev %s: ", n->spec);
            return false;
        }
        if (!drive_register(m, n->name, n->spec, blk, errp))
            return false;
        ((DriveInfo *)m->drives->pdata[m->drives->len - 1])->node_opts = &n->o;
    }
    return true;
}

void blockdevs_free(Machine *m)
{
    for (guint i = 0; m->blockdevs && i < m->blockdevs->len; i++) {
        BdNode *n = m->blockdevs->pdata[i];
        g_free(n->name);
        g_free(n->driver);
        g_free(n->spec);
        g_free(n->filename);
        g_free(n->file_ref);
        g_free(n->backing_ref);
        g_free(n);
    }
    if (m->blockdevs)
        g_ptr_array_free(m->blockdevs, TRUE);
    m->blockdevs = NULL;
}
