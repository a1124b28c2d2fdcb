/*
 * Image creation: parsing qemu-img's -o option strings and dispatching to the format.
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "block-int.h"

/* Sizes like qemu-img: bytes, or a number (fractions allowed) with k/M/G/T/P/E. */
int64_t block_parse_size(const char *s)
{
    static const char units[] = "kmgtpe";
    const char *u;
    char *end;
    double v;
    int shift = 0;

    if (!s || !*s || *s == '-') {
        return -1;
    }
    v = strtod(s, &end);
    if (end == s || v < 0) {
        return -1;
    }
    if (*end && (u = strchr(units, g_ascii_tolower(*end))) != NULL) {
        shift = 10 * (int)(u - units + 1);
        end++;
    } else if (*end == 'b' || *end == 'B') {
        end++;
    }
    if (*end) {
        return -1;                      /* trailing junk */
    }
    v = ldexp(v, shift);
    return v >= 9.2e18 || v != floor(v) ? -1 : (int64_t)v;
}

static bool parse_bool(const char *v, bool *out)
{
    if (!v || !strcmp(v, "on") || !strcmp(v, "true") || !strcmp(v, "yes")) {
        *out = true;
    } else if (!strcmp(v, "off") || !strcmp(v, "false") || !strcmp(v, "no")) {
        *out = false;
    } else {
        return false;
    }
    return true;
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

/* Splits "a=1,b=x,,y" (",," is a literal comma) into key/value pairs. */
static char **split_opts(const char *str)
{
    GPtrArray *out = g_ptr_array_new();
    GString *cur = g_string_new(NULL);

    for (const char *p = str; ; p++) {
        if (*p == ',' && p[1] == ',') {
            g_string_append_c(cur, ',');
            p++;
        } else if (*p == ',' || *p == '\0') {
            if (cur->len) {
                g_ptr_array_add(out, g_strdup(cur->str));
            }
            g_string_truncate(cur, 0);
            if (!*p) {
                break;
            }
        } else {
            g_string_append_c(cur, *p);
        }
    }
    g_string_free(cur, TRUE);
    g_ptr_array_add(out, NULL);
    return (char **)g_ptr_array_free(out, FALSE);
}

int block_create_opts_parse(const BlockDriver *drv, const char *str, BlockCreateOpts *o,
                            GError **errp)
{
    char **items;
    int ret = 0;

    if (!str) {
        return 0;
    }
    items = split_opts(str);
    for (char **it = items; *it && ret == 0; it++) {
        char *eq = strchr(*it, '=');
        if (eq) {
            *eq = '\0';
        }
        if (!opt_allowed(drv, *it)) {
            g_set_error(errp, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                        "Invalid parameter '%s' for format '%s'", *it, drv->format_name);
            ret = -EINVAL;
            break;
        }
        ret = opt_apply(o, *it, eq ? eq + 1 : NULL, errp);
    }
    g_strfreev(items);
    return ret;
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
