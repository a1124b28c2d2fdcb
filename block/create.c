/*
 * Image creation: parsing qemu-img's -o option strings and dispatching to the format.
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "block-int.h"
#include "vireo/option.h"

/* Sizes like qemu-img (qemu_strtosz: bytes, or a number with an optional fraction and
 * one of B, K, M, G, T, P, E); the option layer's rule. -1 when invalid or >= 2^63. */
int64_t block_parse_size(const char *s)
{
    uint64_t v;
    if (!s || !str_to_size(s, 1, &v) || v > INT64_MAX)
        return -1;
    return (int64_t)v;
}

/* A bare "flag" (no value) is flag=on, as qemu-img takes it. */
static bool parse_bool(const char *v, bool *out)
{
    if (!v) {
        *out = true;
        return true;
    }
    return str_to_bool(v, out);
}

static bool opt_allowed(const BlockDriver *drv, const char *key)
{
    for (const char *const *p = drv->create_opts; p && *p; p++) {
        if (!strcmp(*p, key)) {
            return true;
        }
    }
    return false;
}

static int opt_error(GError **errp, const char *key, const char *val, const char *why)
{
    g_set_error(errp, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                "Invalid value '%s' for option '%s': %s", val ? val : "", key, why);
    return -EINVAL;
}

static int opt_apply(BlockCreateOpts *o, const char *key, const char *val, GError **errp)
{
    if (!strcmp(key, "size")) {
        if ((o->size = block_parse_size(val)) < 0) {
            return opt_error(errp, key, val, "not a size");
        }
    } else if (!strcmp(key, "cluster_size")) {
        o->cluster_size = block_parse_size(val);
        if (o->cluster_size < 512 || o->cluster_size > (2 << 20) ||
            (o->cluster_size & (o->cluster_size - 1))) {
            return opt_error(errp, key, val, "must be a power of two from 512 to 2M");
        }
    } else if (!strcmp(key, "compat")) {
        if (val && (!strcmp(val, "0.10") || !strcmp(val, "v2"))) {
            o->version = 2;
        } else if (val && (!strcmp(val, "1.1") || !strcmp(val, "v3"))) {
            o->version = 3;
        } else {
            return opt_error(errp, key, val, "use 0.10 or 1.1");
        }
    } else if (!strcmp(key, "compression_type")) {
        if (val && !strcmp(val, "zlib")) {
            o->compression_type = 0;
        } else if (val && !strcmp(val, "zstd")) {
            o->compression_type = 1;
        } else {
            return opt_error(errp, key, val, "use zlib or zstd");
        }
    } else if (!strcmp(key, "backing_file")) {
        g_free(o->backing_file);
        o->backing_file = g_strdup(val ? val : "");
    } else if (!strcmp(key, "backing_fmt")) {
        g_free(o->backing_fmt);
        o->backing_fmt = g_strdup(val ? val : "");
    } else if (!strcmp(key, "lazy_refcounts")) {
        if (!parse_bool(val, &o->lazy_refcounts)) {
            return opt_error(errp, key, val, "use on or off");
        }
    } else if (!strcmp(key, "extended_l2")) {
        if (!parse_bool(val, &o->extended_l2)) {
            return opt_error(errp, key, val, "use on or off");
        }
    } else if (!strcmp(key, "preallocation")) {
        if (!val || !block_prealloc_parse(val, &o->prealloc)) {
            return opt_error(errp, key, val, "use off, metadata, falloc or full");
        }
    } else if (!strcmp(key, "refcount_bits")) {
        int64_t b = val ? strtoll(val, NULL, 10) : 0;
        if (b < 1 || b > 64 || (b & (b - 1))) {
            return opt_error(errp, key, val, "must be a power of two from 1 to 64");
        }
        o->refcount_bits = (int)b;
    }
    return 0;
}

int block_create_opts_parse(const BlockDriver *drv, const char *str, BlockCreateOpts *o,
                            GError **errp)
{
    if (!str) {
        return 0;
    }
    /* qemu-img -o is QemuOpts: flat keys, ",," escapes a comma, a bare key has no
     * value (a flag). The option layer's keyval grammar, keys kept in their order. */
    g_autoptr(JsonObject) kv = keyval_parse(str, NULL, KEYVAL_FLAT | KEYVAL_SHORT_BOOLS,
                                            NULL, errp);
    if (!kv) {
        return -EINVAL;
    }
    g_autoptr(GList) keys = json_object_get_members(kv);
    for (GList *l = keys; l; l = l->next) {
        const char *key = l->data;
        if (!opt_allowed(drv, key)) {
            g_set_error(errp, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                        "Invalid parameter '%s' for format '%s'", key, drv->format_name);
            return -EINVAL;
        }
        int ret = opt_apply(o, key, kv_get_str(kv, key), errp);
        if (ret < 0) {
            return ret;
        }
    }
    return 0;
}

void block_create_opts_clear(BlockCreateOpts *o)
{
    g_free(o->backing_file);
    g_free(o->backing_fmt);
    o->backing_file = o->backing_fmt = NULL;
}

void block_create_help(const char *format, GString *out)
{
    const BlockDriver *drv = bdrv_find_format(format ? format : "raw");

    if (!drv || !drv->create_opts) {
        g_string_append_printf(out, "Format '%s' has no creation options\n", format);
        return;
    }
    g_string_append_printf(out, "Supported options for %s:\n", drv->format_name);
    for (const char *const *p = drv->create_opts; *p; p++) {
        g_string_append_printf(out, "  %s\n", *p);
    }
}

typedef struct CreateArgs {
    BlockEngine *eng;
    const BlockDriver *drv;
    const char *filename;
    BlockCreateOpts *o;
    GError **errp;
} CreateArgs;

static int block_create_co(void *opaque)
{
    CreateArgs *a = opaque;

    return a->drv->co_create(a->eng, a->filename, a->o, a->errp);
}

/* Takes the virtual size from the backing file when none was given. */
static int create_size_from_backing(BlockEngine *eng, const char *filename,
                                    BlockCreateOpts *o, GError **errp)
{
    BlockOpenOptions bo;
    BlockBackend *blk;
    char *dir = g_path_get_dirname(filename);
    char *path = o->backing_file[0] == '/' ? g_strdup(o->backing_file)
                                           : g_build_filename(dir, o->backing_file, NULL);

    block_open_options_init(&bo);
    bo.read_only = true;
    bo.format = o->backing_fmt;
    bo.force_share = true;
    blk = blk_open(eng, path, &bo, errp);
    g_free(dir);
    g_free(path);
    if (!blk) {
        return -EINVAL;
    }
    o->size = blk_getlength(blk);
    if (!o->backing_fmt) {
        o->backing_fmt = g_strdup(blk_format(blk));
    }
    blk_close(blk);
    return 0;
}

int block_create(BlockEngine *eng, const char *filename, const char *format,
                 const char *options, int64_t size, GError **errp)
{
    const BlockDriver *drv = bdrv_find_format(format ? format : "raw");
    BlockCreateOpts o = { .size = size, .version = 3, .refcount_bits = 16 };
    CreateArgs a = { eng, drv, filename, &o, errp };
    int ret;

    if (!drv || !drv->co_create) {
        g_set_error(errp, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED,
                    "Unknown file format '%s'", format);
        return -EINVAL;
    }
    ret = block_create_opts_parse(drv, options, &o, errp);
    if (ret == 0 && o.backing_file && o.backing_file[0] && o.size < 0) {
        ret = create_size_from_backing(eng, filename, &o, errp);
    }
    if (ret == 0 && o.size < 0) {
        g_set_error(errp, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                    "Image creation needs a size parameter ('%s')", filename);
        ret = -EINVAL;
    }
    if (ret == 0) {
        ret = bdrv_run_co(eng, block_create_co, &a);
    }
    block_create_opts_clear(&o);
    return ret;
}
