/*
 * -blockdev (QEMU 7.2 qapi/block-core.json BlockdevOptions), keyval or JSON: protocol
 * nodes (driver=file|host_device: filename, aio, cache.direct, cache.no-flush,
 * locking=auto|on|off) and format nodes (driver=raw|qcow2: file = a node name or an
 * inline protocol node, backing = null or a node name, qcow2 only), each with
 * node-name, read-only, auto-read-only, force-share (read-only nodes),
 * discard=ignore|unmap, detect-zeroes=off|on|unmap (the top node's apply to guest
 * requests). Declared nodes form a graph; the
 * nodes nothing else refers to are opened as chains on the block layer (a backing node
 * becomes the overlay's pinned backing, BLOCK_BACKING_EXPLICIT) and registered as
 * drives named by their node-name, so devices attach with drive=NODE-NAME. A protocol
 * node nothing else uses is opened as raw, as QEMU's devices read protocol nodes.
 *
 * QMP blockdev-add declares a node through the same parser (JSON, QEMU's QMP error
 * texts) and opens it at once: the nodes it names as file or backing stop being roots,
 * so their drives are closed and the new node's chain is opened over the same files.
 * blockdev-del removes a root that no device uses, with the inline children that came
 * with it; a declared node it used becomes a root again and is reopened as its drive.
 * Invariant once the machine is up: every node that no other node uses has a drive.
 */
#include "vireo/drive.h"
#include "vireo/machine.h"
#include "vireo/option.h"
#include "vireo/runstate.h"
#include <errno.h>
#include <string.h>

typedef struct BdNode {
    char *name, *driver, *spec;
    char *filename;                 /* protocol nodes */
    char *file_ref;                 /* format nodes: the protocol node's name */
    char *backing_ref;              /* qcow2: a backing node's name */
    bool backing_null, read_only, auto_read_only;
    bool force_share;               /* force-share=on (read-only nodes only) */
    BlockLocking locking;           /* protocol nodes: locking= */
    bool qmp;                       /* declared by blockdev-add: QEMU's QMP texts */
    guint users;                    /* format nodes using it as file or backing */
    bool monitor;                   /* declared at the top (QEMU: owned by the monitor);
                                     * inline "file" children are not */
    bool file_counted, backing_counted;     /* this node counted in their users */
    BlockCacheMode cache;
    BlockAioMode aio;
    bool aio_set;
    int64_t aio_max_batch;          /* file nodes: 0 = the engine's batch */
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

/* @spec NULL: QMP blockdev-add, whose errors are QEMU's plain texts. */
static bool bd_error(GError **errp, const char *spec, const char *why)
{
    if (spec)
        g_set_error(errp, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT, "-blockdev %s: %s", spec,
                    why);
    else
        g_set_error_literal(errp, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT, why);
    return false;
}

static const char *bd_spec(const BdNode *n) { return n->qmp ? NULL : n->spec; }

/* The drive of a node that is open as a root, or NULL. */
static DriveInfo *bd_drive(Machine *m, const char *name)
{
    for (guint i = 0; m->drives && i < m->drives->len; i++) {
        DriveInfo *d = m->drives->pdata[i];
        if (d->is_node && !strcmp(d->id, name))
            return d;
    }
    return NULL;
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
    if ((v = json_object_get_member(o, "force-share")) &&
        !qv_bool(v, NULL, "force-share", kv, &n->force_share, errp))
        return false;
    if (n->force_share && !n->read_only)        /* QEMU bdrv_open_common's check */
        return bd_error(errp, bd_spec(n), "force-share=on can only be used with read-only "
                                          "images");
    const char *discard = json_object_has_member(o, "discard") ? kv_get_str(o, "discard") : NULL;
    const char *dz = json_object_has_member(o, "detect-zeroes") ?
                     kv_get_str(o, "detect-zeroes") : NULL;
    n->discard_ignore = true;                   /* QEMU's default: discard=ignore */
    if (discard && !block_discard_parse(discard, &n->discard_ignore)) {
        g_autofree char *why = g_strdup_printf("Parameter 'discard' does not accept value "
                                               "'%s' (ignore, unmap)", discard);
        return bd_error(errp, bd_spec(n), why);
    }
    if (dz && !block_detect_zeroes_parse(dz, &n->detect_zeroes)) {
        g_autofree char *why = g_strdup_printf("Parameter 'detect-zeroes' does not accept "
                                               "value '%s' (off, on, unmap)", dz);
        return bd_error(errp, bd_spec(n), why);
    }
    if (n->detect_zeroes == BLOCK_DETECT_ZEROES_UNMAP && n->discard_ignore)
        return bd_error(errp, bd_spec(n), "setting detect-zeroes to unmap is not allowed "
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
            return bd_error(errp, bd_spec(n), "cache.direct=on with cache.no-flush=on is not "
                            "supported");
    }
    return true;
}

/* A protocol node given inline as a format node's "file" member: declared anonymously. */
static bool bd_declare(Machine *m, JsonObject *o, bool kv, const char *spec, bool qmp,
                       char **name_out, GError **errp);

/* QMP: a node that another node (or a device) already writes through cannot be taken
 * as @role of @n as well (QEMU: a permission conflict; Vireo shares no node). */
static bool bd_check_free(Machine *m, BdNode *n, BdNode *c, const char *role, GError **errp)
{
    DriveInfo *d = bd_drive(m, c->name);
    if (d && d->claimed_by) {
        g_autofree char *why = g_strdup_printf("Permission conflict on node '%s': permissions "
                                               "'write' are both required by a %s (uses node "
                                               "'%s' as 'root' child) and unshared by node "
                                               "'%s' (uses node '%s' as '%s' child).",
                                               c->name, d->claimed_by, c->name, n->name,
                                               c->name, role);
        return bd_error(errp, NULL, why);
    }
    for (guint i = 0; c->users && i < m->blockdevs->len; i++) {
        BdNode *p = m->blockdevs->pdata[i];
        bool as_file = p->file_counted && !strcmp(p->file_ref, c->name);
        bool as_backing = p->backing_counted && !strcmp(p->backing_ref, c->name);
        if (p == n || (!as_file && !as_backing))
            continue;
        g_autofree char *why = g_strdup_printf("Permission conflict on node '%s': permissions "
                                               "'write, resize' are both required by node "
                                               "'%s' (uses node '%s' as '%s' child) and "
                                               "unshared by node '%s' (uses node '%s' as '%s' "
                                               "child).", c->name, p->name, c->name,
                                               as_file ? "file" : "backing", n->name, c->name,
                                               role);
        return bd_error(errp, NULL, why);
    }
    return true;
}

static bool bd_format(Machine *m, BdNode *n, JsonObject *o, bool kv, GError **errp)
{
    JsonNode *file = json_object_get_member(o, "file");
    JsonNode *backing = json_object_get_member(o, "backing");
    if (!file)
        return bd_error(errp, bd_spec(n), "Parameter 'file' is missing");
    if (JSON_NODE_HOLDS_OBJECT(file)) {
        if (!bd_declare(m, json_node_get_object(file), kv, n->spec, n->qmp, &n->file_ref,
                        errp))
            return false;
    } else if (!qv_str(file, NULL, "file", &n->file_ref, errp)) {
        return false;
    }
    BdNode *f = bd_find(m, n->file_ref);
    if (!f && n->qmp) {
        g_autofree char *why = g_strdup_printf("Cannot find device='%s' nor node-name='%s'",
                                               n->file_ref, n->file_ref);
        return bd_error(errp, NULL, why);
    }
    if (!f || f->filename == NULL) {
        g_autofree char *why = g_strdup_printf("file: '%s' is not a file or host_device node "
                                               "declared before", n->file_ref);
        return bd_error(errp, bd_spec(n), why);
    }
    if (n->qmp && !bd_check_free(m, n, f, "file", errp))
        return false;
    f->users++;
    n->file_counted = true;
    if (!backing)
        return true;
    if (strcmp(n->driver, "qcow2"))
        return bd_error(errp, bd_spec(n), n->qmp ? "Parameter 'backing' is unexpected"
                                                 : "Invalid parameter 'backing' (qcow2 only)");
    if (JSON_NODE_HOLDS_NULL(backing) || (kv && !strcmp(kv_get_str(o, "backing"), "null"))) {
        n->backing_null = true;
        return true;
    }
    if (!qv_str(backing, NULL, "backing", &n->backing_ref, errp))
        return false;
    BdNode *b = bd_find(m, n->backing_ref);
    if (!b && n->qmp) {
        g_autofree char *why = g_strdup_printf("Cannot find device='%s' nor node-name='%s'",
                                               n->backing_ref, n->backing_ref);
        return bd_error(errp, NULL, why);
    }
    if (!b || !b->file_ref) {
        g_autofree char *why = g_strdup_printf("backing: '%s' is not a format node declared "
                                               "before", n->backing_ref);
        return bd_error(errp, bd_spec(n), why);
    }
    if (n->qmp && !bd_check_free(m, n, b, "backing", errp))
        return false;
    b->users++;
    n->backing_counted = true;
    return true;
}

static bool bd_declare(Machine *m, JsonObject *o, bool kv, const char *spec, bool qmp,
                       char **name_out, GError **errp)
{
    static unsigned anon;           /* names of nodes declared without node-name */
    const char *driver = json_object_has_member(o, "driver") ? kv_get_str(o, "driver") : NULL;
    bool protocol = driver && (!strcmp(driver, "file") || !strcmp(driver, "host_device"));
    const char *espec = qmp ? NULL : spec;
    JsonObjectIter it;
    const char *k;
    JsonNode *v;

    if (!driver)
        return bd_error(errp, espec, "Parameter 'driver' is missing");
    if (!protocol && strcmp(driver, "raw") && strcmp(driver, "qcow2")) {
        g_autofree char *why = g_strdup_printf("Parameter 'driver' does not accept value "
                                               "'%s'%s", driver, qmp ? "" :
                                               " (file, host_device, raw, qcow2)");
        return bd_error(errp, espec, why);
    }
    json_object_iter_init(&it, o);
    while (json_object_iter_next(&it, &k, &v))
        if (!known_key(k, protocol)) {
            g_autofree char *why = g_strdup_printf(qmp ? "Parameter '%s' is unexpected"
                                                       : "Invalid parameter '%s'", k);
            return bd_error(errp, espec, why);
        }
    bool named = json_object_has_member(o, "node-name");
    if (qmp && !name_out && !named)
        return bd_error(errp, NULL, "'node-name' must be specified for the root node");
    BdNode *n = g_new0(BdNode, 1);
    n->qmp = qmp;
    n->monitor = name_out == NULL;
    n->driver = g_strdup(driver);
    n->name = named ? g_strdup(kv_get_str(o, "node-name")) : g_strdup_printf("#block%u", anon++);
    n->spec = spec ? g_strdup(spec) : g_strdup_printf("node-name=%s", n->name);
    if (!m->blockdevs)
        m->blockdevs = g_ptr_array_new();
    g_ptr_array_add(m->blockdevs, n);       /* freed with the machine's drives */
    if (named && !id_check("node-name", n->name, errp))
        return false;
    for (guint i = 0; i + 1 < m->blockdevs->len; i++)
        if (!strcmp(((BdNode *)m->blockdevs->pdata[i])->name, n->name)) {
            g_autofree char *why = g_strdup_printf("Duplicate nodes with node-name='%s'",
                                                   n->name);
            return bd_error(errp, espec, why);
        }
    for (guint i = 0; qmp && m->drives && i < m->drives->len; i++) {
        DriveInfo *d = m->drives->pdata[i];
        if (!d->is_node && !strcmp(d->id, n->name)) {
            g_autofree char *why = g_strdup_printf("node-name=%s is conflicting with a device "
                                                   "id", n->name);
            return bd_error(errp, NULL, why);
        }
    }
    if (!bd_common(n, o, kv, errp))
        return false;
    if (name_out)
        *name_out = g_strdup(n->name);
    if (!protocol)
        return bd_format(m, n, o, kv, errp);
    if (!json_object_has_member(o, "filename") || !*kv_get_str(o, "filename"))
        return bd_error(errp, espec, "Parameter 'filename' is missing");
    n->filename = g_strdup(kv_get_str(o, "filename"));
    const char *aio = json_object_has_member(o, "aio") ? kv_get_str(o, "aio") : NULL;
    if (aio && !block_aio_mode_parse(aio, &n->aio))
        return bd_error(errp, espec, "aio must be threads, io_uring or native");
    n->aio_set = aio != NULL;
    JsonNode *batch = json_object_get_member(o, "aio-max-batch");
    if (batch && !qv_int(batch, NULL, "aio-max-batch", kv, 0, INT64_MAX, "int64_t",
                         &n->aio_max_batch, errp))
        return false;
    const char *locking = json_object_has_member(o, "locking") ? kv_get_str(o, "locking") : NULL;
    if (locking && !block_locking_parse(locking, &n->locking)) {
        g_autofree char *why = g_strdup_printf("Parameter 'locking' does not accept value "
                                               "'%s'%s", locking, qmp ? "" : " (auto, on, off)");
        return bd_error(errp, espec, why);
    }
    return true;
}

bool blockdev_declare(Machine *m, JsonObject *o, bool kv, const char *spec, GError **errp)
{
    return bd_declare(m, o, kv, spec, false, NULL, errp);
}

/* Options of format node @n (and, through backing_options, its pinned chain). */
static void bd_options(Machine *m, BdNode *n, bool read_only)
{
    BdNode *f = bd_find(m, n->file_ref ? n->file_ref : n->name);
    block_open_options_init(&n->o);
    n->o.format = n->file_ref ? n->driver : "raw";
    n->o.read_only = read_only || n->read_only || (f && f->read_only);
    n->o.user = BLOCK_USER_NODE;
    n->o.locking = f ? f->locking : n->locking;
    n->o.force_share = n->force_share || (f && f->force_share);
    n->o.cache = f ? f->cache : n->cache;
    n->o.discard_ignore = n->discard_ignore;
    n->o.detect_zeroes = n->detect_zeroes;
    if (f && f->aio_set)
        n->o.aio = f->aio;
    n->o.aio_max_batch = f ? f->aio_max_batch : n->aio_max_batch;
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

/* The node names of @n's chain in blk_get_nodes() order (format node, its protocol
 * node, the backing format node, ...); a protocol node opened alone shows as itself. */
static char **bd_chain_names(Machine *m, BdNode *n)
{
    GPtrArray *a = g_ptr_array_new();
    g_ptr_array_add(a, g_strdup(n->name));
    if (!n->file_ref)
        g_ptr_array_add(a, g_strdup(n->name));
    for (BdNode *c = n; c && c->file_ref; c = c->backing_ref ? bd_find(m, c->backing_ref)
                                                               : NULL) {
        if (c != n)
            g_ptr_array_add(a, g_strdup(c->name));
        g_ptr_array_add(a, g_strdup(c->file_ref));
    }
    g_ptr_array_add(a, NULL);
    return (char **)g_ptr_array_free(a, FALSE);
}

/* Opens root @n as the drive named by its node-name. */
static bool bd_open(Machine *m, BdNode *n, bool inactive, GError **errp)
{
    BdNode *f = bd_find(m, n->file_ref ? n->file_ref : n->name);
    bd_options(m, n, false);
    n->o.inactive = inactive;           /* the source owns it until handover */
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
        if (!n->qmp)
            g_prefix_error(errp, "-blockdev %s: ", n->spec);
        return false;
    }
    if (!drive_register(m, n->name, n->spec, blk, errp))
        return false;
    DriveInfo *d = m->drives->pdata[m->drives->len - 1];
    d->node_opts = &n->o;
    d->protocol_node = n->file_ref == NULL;
    d->node_names = bd_chain_names(m, n);
    return true;
}

bool blockdev_open_all(Machine *m, GError **errp)
{
    for (guint i = 0; m->blockdevs && i < m->blockdevs->len; i++) {
        BdNode *n = m->blockdevs->pdata[i];
        if (n->users)
            continue;                       /* opened as part of another node's chain */
        if (!bd_open(m, n, m->opts.incoming != NULL, errp))
            return false;
    }
    return true;
}

static void bd_node_free(BdNode *n)
{
    g_free(n->name);
    g_free(n->driver);
    g_free(n->spec);
    g_free(n->filename);
    g_free(n->file_ref);
    g_free(n->backing_ref);
    g_free(n);
}

/* Takes @n out of the graph: the nodes it used lose a user, and inline children left
 * without one go with it. Its drive must be closed already. */
static void bd_remove(Machine *m, BdNode *n)
{
    g_ptr_array_remove(m->blockdevs, n);
    const char *refs[2] = { n->file_counted ? n->file_ref : NULL,
                            n->backing_counted ? n->backing_ref : NULL };
    for (int i = 0; i < 2; i++) {
        BdNode *c = refs[i] ? bd_find(m, refs[i]) : NULL;
        if (c && !--c->users && !c->monitor)
            bd_remove(m, c);
    }
    bd_node_free(n);
}

/* Every root without a drive (it was a child until now) is opened as one again. */
static void bd_reopen_roots(Machine *m)
{
    for (guint i = 0; m->blockdevs && i < m->blockdevs->len; i++) {
        BdNode *n = m->blockdevs->pdata[i];
        g_autoptr(GError) err = NULL;
        if (!n->users && !bd_drive(m, n->name) &&
            !bd_open(m, n, runstate_get(m) == RUN_STATE_INMIGRATE, &err))
            g_warning("node '%s' cannot be opened again: %s", n->name, err->message);
    }
}

/* Closes and forgets the drive of root @name, if it has one. */
static void bd_close_drive(Machine *m, const char *name)
{
    DriveInfo *d = bd_drive(m, name);
    if (d)
        drive_remove(m, d);
}

bool blockdev_add(Machine *m, JsonObject *o, GError **errp)
{
    guint before = m->blockdevs ? m->blockdevs->len : 0;
    if (!bd_declare(m, o, false, NULL, true, NULL, errp)) {
        while (m->blockdevs && m->blockdevs->len > before)
            bd_remove(m, m->blockdevs->pdata[m->blockdevs->len - 1]);
        return false;
    }
    BdNode *n = m->blockdevs->pdata[before];
    /* The roots it takes as file and backing are children now: their drives close, and
     * the new node's chain opens the same files. */
    if (n->file_counted)
        bd_close_drive(m, n->file_ref);
    if (n->backing_counted)
        bd_close_drive(m, n->backing_ref);
    if (!bd_open(m, n, runstate_get(m) == RUN_STATE_INMIGRATE, errp)) {
        bd_remove(m, n);
        bd_reopen_roots(m);
        return false;
    }
    return true;
}

BlockdevDelStatus blockdev_del(Machine *m, const char *name, GError **errp)
{
    BdNode *n = bd_find(m, name);
    if (!n)
        return BLOCKDEV_DEL_NOT_FOUND;
    DriveInfo *d = bd_drive(m, n->name);
    if (d && d->claimed_by) {
        g_set_error(errp, G_IO_ERROR, G_IO_ERROR_BUSY, "Node %s is in use", name);
        return BLOCKDEV_DEL_ERROR;
    }
    if (!n->monitor) {
        g_set_error(errp, G_IO_ERROR, G_IO_ERROR_PERMISSION_DENIED,
                    "Node %s is not owned by the monitor", name);
        return BLOCKDEV_DEL_ERROR;
    }
    if (n->users) {
        g_set_error(errp, G_IO_ERROR, G_IO_ERROR_BUSY, "Block device %s is in use", name);
        return BLOCKDEV_DEL_ERROR;
    }
    bd_close_drive(m, n->name);
    bd_remove(m, n);
    bd_reopen_roots(m);
    return BLOCKDEV_DEL_OK;
}

void blockdevs_free(Machine *m)
{
    for (guint i = 0; m->blockdevs && i < m->blockdevs->len; i++)
        bd_node_free(m->blockdevs->pdata[i]);
    if (m->blockdevs)
        g_ptr_array_free(m->blockdevs, TRUE);
    m->blockdevs = NULL;
}
