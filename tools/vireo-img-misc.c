/*
 * vireo-img create, resize, rebase and commit.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vireo-img.h"

enum { CHUNK = 1 << 20, OPT_PREALLOC = 256, OPT_SHRINK, OPT_OBJ };

/* Appends key=value to an -o string, doubling commas in the value. */
static void opts_append(GString *o, const char *key, const char *val)
{
    if (o->len) {
        g_string_append_c(o, ',');
    }
    g_string_append_printf(o, "%s=", key);
    for (const char *p = val; *p; p++) {
        g_string_append_c(o, *p);
        if (*p == ',') {
            g_string_append_c(o, ',');
        }
    }
}

int img_create(ImgCtx *ctx, int argc, char **argv)
{
    static const struct option lopts[] = {
        { "object", required_argument, NULL, OPT_OBJ }, { NULL, 0, NULL, 0 },
    };
    const char *fmt = "raw", *base = NULL, *base_fmt = NULL;
    GString *opts = g_string_new(NULL);
    bool quiet = false;
    int64_t size = -1;
    GError *err = NULL;
    int c, ret;

    while ((c = getopt_long(argc, argv, "hf:b:F:o:qu", lopts, NULL)) != -1) {
        switch (c) {
        case 'f': fmt = optarg; break;
        case 'b': base = optarg; break;
        case 'F': base_fmt = optarg; break;
        case 'o':
            if (!strcmp(optarg, "help") || !strcmp(optarg, "?")) {
                block_create_help(fmt, opts);
                printf("%s", opts->str);
                g_string_free(opts, TRUE);
                return EXIT_OK;
            }
            g_string_append_printf(opts, "%s%s", opts->len ? "," : "", optarg);
            break;
        case 'q': quiet = true; break;
        case 'u': break;
        default: img_error("usage: create [-f fmt] [-b backing [-F fmt]] [-o options] "
                           "filename [size]");
                 g_string_free(opts, TRUE);
                 return EXIT_ERR;
        }
    }
    if (optind >= argc || argc - optind > 2) {
        img_error("Expecting image file name%s", optind >= argc ? "" : " and size");
        g_string_free(opts, TRUE);
        return EXIT_ERR;
    }
    if (optind + 1 < argc && (size = img_parse_size(argv[optind + 1])) < 0) {
        img_error("Invalid image size specified. You may use k, M, G, T, P or E suffixes "
                  "for kilobytes, megabytes, gigabytes, terabytes, petabytes and exabytes.");
        g_string_free(opts, TRUE);
        return EXIT_ERR;
    }
    if (base) {
        opts_append(opts, "backing_file", base);
    }
    if (base_fmt) {
        opts_append(opts, "backing_fmt", base_fmt);
    }
    if (!quiet) {
        printf("Formatting '%s', fmt=%s%s%s", argv[optind], fmt, opts->len ? " " : "",
               opts->str);
        if (size >= 0) {
            printf(" size=%" PRId64, size);
        }
        printf("\n");
    }
    ret = block_create(ctx->eng, argv[optind], fmt, opts->len ? opts->str : NULL, size, &err);
    g_string_free(opts, TRUE);
    if (ret < 0) {
        img_gerror(err);
        return EXIT_ERR;
    }
    return EXIT_OK;
}

int img_resize(ImgCtx *ctx, int argc, char **argv)
{
    static const struct option lopts[] = {
        { "preallocation", required_argument, NULL, OPT_PREALLOC },
        { "shrink", no_argument, NULL, OPT_SHRINK }, { NULL, 0, NULL, 0 },
    };
    const char *fmt = NULL, *sz;
    BlockPrealloc prealloc = BLOCK_PREALLOC_OFF;
    bool shrink = false, quiet = false;
    int64_t cur, size, delta;
    BlockBackend *blk;
    GError *err = NULL;
    int c, ret;

    if (argc < 3) {
        img_error("Expecting image file name and size");
        return EXIT_ERR;
    }
    sz = argv[--argc];              /* "-1G" must not be taken for an option */
    while ((c = getopt_long(argc, argv, "hf:q", lopts, NULL)) != -1) {
        switch (c) {
        case 'f': fmt = optarg; break;
        case 'q': quiet = true; break;
        case OPT_SHRINK: shrink = true; break;
        case OPT_PREALLOC:
            if (!block_prealloc_parse(optarg, &prealloc)) {
                img_error("Invalid preallocation mode '%s'", optarg);
                return EXIT_ERR;
            }
            break;
        default: img_error("usage: resize [-f fmt] [--shrink] filename [+|-]size");
                 return EXIT_ERR;
        }
    }
    if (optind != argc - 1) {
        img_error("Expecting image file name and size");
        return EXIT_ERR;
    }
    delta = img_parse_size(sz[0] == '+' || sz[0] == '-' ? sz + 1 : sz);
    if (delta < 0) {
        img_error("Invalid image size specified: %s", sz);
        return EXIT_ERR;
    }
    if (!(blk = img_open(ctx, argv[optind], fmt, false, NULL, false, NULL))) {
        return EXIT_ERR;
    }
    cur = blk_getlength(blk);
    size = sz[0] == '+' ? cur + delta : sz[0] == '-' ? cur - delta : delta;
    if (size < 0) {
        img_error("New image size must be positive");
        ret = -1;
    } else if (size < cur && !shrink) {
        img_error("Use the --shrink option to perform a shrink operation.");
        ret = -1;
    } else if ((ret = blk_truncate(blk, size, prealloc, &err)) < 0) {
        img_gerror(err);
    } else if (!quiet) {
        printf("Image resized.\n");
    }
    if (blk_close(blk) < 0 && ret == 0) {
        ret = -1;
    }
    return ret < 0 ? EXIT_ERR : EXIT_OK;
}

/* ---- rebase ----------------------------------------------------------------------------- */

typedef struct Rebase {
    BlockBackend *img, *new_base;
    int64_t size, new_size, next;
    int err;
    int64_t err_off;
} Rebase;

/* Where @img does not define the data itself, write what the old chain shows if the new
 * backing file would show something else. */
static int rebase_chunk(Rebase *r, int64_t off, int64_t len, uint8_t *old, uint8_t *new)
{
    for (int64_t pos = off; pos < off + len;) {
        BlockStatus st;
        int64_t n;
        int ret = blk_block_status(r->img, pos, off + len - pos, &n, &st);
        if (ret < 0) {
            return ret;
        }
        if (!st.allocated) {
            if ((ret = blk_pread(r->img, pos, old, n)) < 0) {
                return ret;
            }
            memset(new, 0, n);
            if (r->new_base && pos < r->new_size &&
                (ret = blk_pread(r->new_base, pos, new, MIN(n, r->new_size - pos))) < 0) {
                return ret;
            }
            if (memcmp(old, new, n) && (ret = blk_pwrite(r->img, pos, old, n, 0)) < 0) {
                return ret;
            }
        }
        pos += n;
    }
    return 0;
}

static int rebase_task(void *opaque, int index)
{
    Rebase *r = opaque;
    uint8_t *old = g_malloc(CHUNK), *new = g_malloc(CHUNK);
    int ret = 0;

    while (!r->err && r->next < r->size) {
        int64_t off = r->next, len = MIN(CHUNK, r->size - off);
        r->next += len;
        if ((ret = rebase_chunk(r, off, len, old, new)) < 0 && !r->err) {
            r->err = ret;
            r->err_off = off;
        }
    }
    g_free(old);
    g_free(new);
    return ret;
}

static char *path_beside(const char *image, const char *name)
{
    char *dir;
    char *p;

    if (name[0] == '/' || !strchr(image, '/')) {
        return g_strdup(name);
    }
    dir = g_path_get_dirname(image);
    p = g_build_filename(dir, name, NULL);
    g_free(dir);
    return p;
}

static int rebase_safe(ImgCtx *ctx, BlockBackend *img, const char *file, const char *base,
                       const char *base_fmt)
{
    Rebase r = { .img = img, .size = blk_getlength(img) };
    int ret;

    if (base && *base) {
        char *path = path_beside(file, base);
        r.new_base = img_open(ctx, path, base_fmt, true, NULL, false, NULL);
        g_free(path);
        if (!r.new_base) {
            return -1;
        }
        r.new_size = blk_getlength(r.new_base);
    }
    ret = block_run_parallel(ctx->eng, 8, rebase_task, &r);
    if (r.err) {
        img_io_error(img, "rebasing", r.err_off, r.err);
    }
    blk_close(r.new_base);
    return ret;
}

int img_rebase(ImgCtx *ctx, int argc, char **argv)
{
    static const struct option lopts[] = {
        { "force-share", no_argument, NULL, 'U' }, { NULL, 0, NULL, 0 },
    };
    const char *fmt = NULL, *base = NULL, *base_fmt = NULL, *cache = NULL;
    bool unsafe = false, share = false;
    BlockOpenOptions o;
    BlockBackend *img;
    GError *err = NULL;
    int c, ret = 0;

    while ((c = getopt_long(argc, argv, "hf:F:b:upt:T:qU", lopts, NULL)) != -1) {
        switch (c) {
        case 'f': fmt = optarg; break;
        case 'F': base_fmt = optarg; break;
        case 'b': base = optarg; break;
        case 'u': unsafe = true; break;
        case 't': cache = optarg; break;
        case 'U': share = true; break;
        case 'p': case 'q': case 'T': break;
        default: img_error("usage: rebase [-u] -b backing [-F fmt] filename");
                 return EXIT_ERR;
        }
    }
    if (optind != argc - 1 || !base) {
        img_error(!base ? "Must specify backing file (-b) or use '-b \"\"'"
                        : "Expecting one image file name");
        return EXIT_ERR;
    }
    block_open_options_init(&o);
    o.no_backing = unsafe;
    if (!(img = img_open(ctx, argv[optind], fmt, false, cache, share, &o))) {
        return EXIT_ERR;
    }
    if (!unsafe) {
        ret = rebase_safe(ctx, img, argv[optind], base, base_fmt);
    }
    if (ret == 0 && blk_change_backing_file(img, *base ? base : NULL, base_fmt, &err) < 0) {
        img_gerror(err);
        ret = -1;
    }
    if (blk_close(img) < 0 && ret == 0) {
        ret = -1;
    }
    return ret < 0 ? EXIT_ERR : EXIT_OK;
}

/* ---- commit -------------------------------------------------------------------------- */

typedef struct Commit {
    BlockBackend *top, *base;
    int64_t size, next;
    int err;
    int64_t err_off;
} Commit;

static int commit_chunk(Commit *m, int64_t off, int64_t len, uint8_t *buf)
{
    for (int64_t pos = off; pos < off + len;) {
        BlockStatus st;
        int64_t n;
        int ret = blk_block_status(m->top, pos, off + len - pos, &n, &st);
        if (ret < 0) {
            return ret;
        }
        if (st.allocated && st.zero) {
            ret = blk_pwrite_zeroes(m->base, pos, n, 0);
        } else if (st.allocated) {
            ret = blk_pread(m->top, pos, buf, n);
            if (ret == 0) {
                ret = blk_pwrite(m->base, pos, buf, n, 0);
            }
        }
        if (ret < 0) {
            return ret;
        }
        pos += n;
    }
    return 0;
}

static int commit_task(void *opaque, int index)
{
    Commit *m = opaque;
    uint8_t *buf = g_malloc(CHUNK);
    int ret = 0;

    while (!m->err && m->next < m->size) {
        int64_t off = m->next, len = MIN(CHUNK, m->size - off);
        m->next += len;
        if ((ret = commit_chunk(m, off, len, buf)) < 0 && !m->err) {
            m->err = ret;
            m->err_off = off;
        }
    }
    g_free(buf);
    return ret;
}

static int commit_into(ImgCtx *ctx, Commit *m, const BlockImageInfo *in, const char *cache)
{
    GError *err = NULL;
    int ret = 0;

    m->base = img_open(ctx, in->full_backing_filename, in->backing_format, false, cache,
                       false, NULL);
    if (!m->base) {
        return -1;
    }
    m->size = blk_getlength(m->top);
    if (blk_getlength(m->base) < m->size &&
        blk_truncate(m->base, m->size, BLOCK_PREALLOC_OFF, &err) < 0) {
        img_gerror(err);
        ret = -1;
    }
    if (ret == 0) {
        block_run_parallel(ctx->eng, 8, commit_task, m);
        if (m->err) {
            img_io_error(m->base, "committing into", m->err_off, m->err);
            ret = -1;
        }
    }
    if (blk_close(m->base) < 0 && ret == 0) {
        img_error("Could not flush '%s'", in->full_backing_filename);
        ret = -1;
    }
    return ret;
}

int img_commit(ImgCtx *ctx, int argc, char **argv)
{
    const char *fmt = NULL, *cache = "writeback", *base = NULL;
    bool drop = true, quiet = false;
    BlockOpenOptions o;
    BlockImageInfo in;
    Commit m = { 0 };
    GError *err = NULL;
    int c, ret;

    while ((c = getopt(argc, argv, "hf:t:b:dpqr:")) != -1) {
        switch (c) {
        case 'f': fmt = optarg; break;
        case 't': cache = optarg; break;
        case 'b': base = optarg; break;
        case 'd': drop = false; break;
        case 'q': quiet = true; break;
        case 'p': case 'r': break;
        default: img_error("usage: commit [-f fmt] [-t cache] [-b base] [-d] filename");
                 return EXIT_ERR;
        }
    }
    if (optind != argc - 1) {
        img_error("Expecting one image file name");
        return EXIT_ERR;
    }
    block_open_options_init(&o);
    o.no_backing = true;
    if (!(m.top = img_open(ctx, argv[optind], fmt, false, cache, false, &o))) {
        return EXIT_ERR;
    }
    blk_get_info(m.top, 0, &in, NULL);
    if (!in.backing_filename) {
        img_error("Image '%s' does not have a backing file", argv[optind]);
        ret = -1;
    } else if (base && strcmp(base, in.backing_filename) &&
               strcmp(base, in.full_backing_filename)) {
        img_error("Committing into '%s', which is not the direct backing file of '%s', is "
                  "not supported", base, argv[optind]);
        ret = -1;
    } else {
        ret = commit_into(ctx, &m, &in, cache);
    }
    if (ret == 0 && drop && blk_make_empty(m.top, &err) < 0) {
        img_gerror(err);
        ret = -1;
    }
    block_image_info_clear(&in);
    if (blk_close(m.top) < 0 && ret == 0) {
        ret = -1;
    }
    if (ret == 0 && !quiet) {
        printf("Image committed.\n");
    }
    return ret < 0 ? EXIT_ERR : EXIT_OK;
}
