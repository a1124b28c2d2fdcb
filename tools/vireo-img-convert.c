/*
 * vireo-img convert and compare. Convert copies with several coroutines in flight
 * (-m, default 8), skips what reads as zeros when the target starts out zeroed, detects
 * zero blocks in data (-S), and writes compressed clusters with -c.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vireo-img.h"

enum { CHUNK = 2 << 20, OPT_OBJ = 256 };

typedef struct Convert {
    BlockBackend *src, *dst;
    int64_t size;
    int64_t next;
    int64_t done;
    int64_t sparse;
    int64_t cluster;
    bool compress, zero_init, progress;
    int last_permille;
    int err;
    int64_t err_off;
    BlockBackend *err_blk;
    const char *err_what;
} Convert;

static void *aligned_buf(size_t n)
{
    void *p = NULL;

    if (posix_memalign(&p, 4096, n)) {
        abort();
    }
    return p;
}

static void progress_print(Convert *c, bool final)
{
    int permille = c->size ? (int)(c->done * 10000 / c->size) : 10000;

    if (!c->progress || (!final && permille == c->last_permille)) {
        return;
    }
    c->last_permille = permille;
    printf("    (%.2f/100%%)\r", permille / 100.0);
    if (final) {
        printf("\n");
    }
    fflush(stdout);
}

static int fail(Convert *c, BlockBackend *blk, const char *what, int64_t off, int ret)
{
    if (!c->err) {
        c->err = ret;
        c->err_blk = blk;
        c->err_what = what;
        c->err_off = off;
    }
    return ret;
}

static int zero_range(Convert *c, int64_t off, int64_t n)
{
    int ret;

    if (c->zero_init) {
        return 0;
    }
    ret = blk_pwrite_zeroes(c->dst, off, n, BLK_REQ_MAY_UNMAP);
    return ret < 0 ? fail(c, c->dst, "writing zeroes to", off, ret) : 0;
}

static int write_plain(Convert *c, int64_t off, int64_t n, const uint8_t *buf)
{
    int ret = blk_pwrite(c->dst, off, buf, n, 0);

    return ret < 0 ? fail(c, c->dst, "writing", off, ret) : 0;
}

/* Data with zero detection in -S sized blocks: zero runs are skipped or zeroed. */
static int write_sparse(Convert *c, int64_t off, int64_t n, const uint8_t *buf)
{
    int64_t pos = 0;

    while (pos < n) {
        int64_t blk = c->sparse - (off + pos) % c->sparse, run = 0;
        bool zero = img_is_zero(buf + pos, MIN(blk, n - pos));
        while (pos + run < n) {
            int64_t b = MIN(c->sparse - (off + pos + run) % c->sparse, n - pos - run);
            if (img_is_zero(buf + pos + run, b) != zero) {
                break;
            }
            run += b;
        }
        int ret = zero ? zero_range(c, off + pos, run) : write_plain(c, off + pos, run,
                                                                     buf + pos);
        if (ret < 0) {
            return ret;
        }
        pos += run;
    }
    return 0;
}

static int write_compressed(Convert *c, int64_t off, int64_t n, const uint8_t *buf)
{
    for (int64_t pos = 0; pos < n; pos += c->cluster) {
        int64_t len = MIN(c->cluster, n - pos);
        int ret;
        if (img_is_zero(buf + pos, len)) {
            if ((ret = zero_range(c, off + pos, len)) < 0) {
                return ret;
            }
            continue;
        }
        ret = blk_pwrite_compressed(c->dst, off + pos, buf + pos, len);
        if (ret < 0) {
            return fail(c, c->dst, "writing compressed data to", off + pos, ret);
        }
    }
    return 0;
}

static int copy_data(Convert *c, int64_t off, int64_t n, uint8_t *buf)
{
    int ret = blk_pread(c->src, off, buf, n);

    if (ret < 0) {
        return fail(c, c->src, "reading", off, ret);
    }
    if (c->compress) {
        return write_compressed(c, off, n, buf);
    }
    return c->sparse ? write_sparse(c, off, n, buf) : write_plain(c, off, n, buf);
}

static int convert_chunk(Convert *c, int64_t off, int64_t len, uint8_t *buf)
{
    int64_t pos = off;

    if (c->compress) {
        return copy_data(c, off, len, buf);     /* whole clusters, zero ones skipped */
    }
    while (pos < off + len) {
        BlockStatus st;
        int64_t n;
        int ret = blk_block_status_chain(c->src, pos, off + len - pos, &n, &st);
        if (ret < 0) {
            return fail(c, c->src, "reading allocation status of", pos, ret);
        }
        ret = st.zero ? zero_range(c, pos, n) : copy_data(c, pos, n, buf + (pos - off));
        if (ret < 0) {
            return ret;
        }
        pos += n;
    }
    return 0;
}

static int convert_task(void *opaque, int index)
{
    Convert *c = opaque;
    uint8_t *buf = aligned_buf(CHUNK);
    int ret = 0;

    while (!c->err && c->next < c->size) {
        int64_t off = c->next, len = MIN(CHUNK, c->size - off);
        c->next += len;
        if ((ret = convert_chunk(c, off, len, buf)) < 0) {
            break;
        }
        c->done += len;
        progress_print(c, false);
    }
    free(buf);
    return ret;
}

typedef struct ConvertArgs {
    const char *src_fmt, *dst_fmt, *options, *src_cache, *dst_cache;
    bool compress, progress, quiet, no_create, share;
    int64_t sparse;
    int coroutines;
} ConvertArgs;

static BlockBackend *open_target(ImgCtx *ctx, ConvertArgs *a, const char *name, int64_t size)
{
    GError *err = NULL;

    if (!a->no_create) {
        if (block_create(ctx->eng, name, a->dst_fmt, a->options, size, &err) < 0) {
            img_gerror(err);
            return NULL;
        }
    }
    return img_open(ctx, name, a->dst_fmt, false, a->dst_cache, false, NULL);
}

static int convert_run(ImgCtx *ctx, ConvertArgs *a, const char *in, const char *out)
{
    Convert c = { .sparse = a->sparse, .compress = a->compress, .progress = a->progress,
                  .last_permille = -1 };
    BlockImageInfo info;
    int ret;

    if (!(c.src = img_open(ctx, in, a->src_fmt, true, a->src_cache, a->share, NULL))) {
        return EXIT_ERR;
    }
    c.size = blk_getlength(c.src);
    if (!(c.dst = open_target(ctx, a, out, c.size))) {
        blk_close(c.src);
        return EXIT_ERR;
    }
    if (a->no_create && blk_getlength(c.dst) < c.size) {
        img_error("Target '%s' is smaller than the source", out);
        ret = -1;
        goto out;
    }
    c.zero_init = !a->no_create && blk_has_zero_init(c.dst);
    blk_get_info(c.dst, 0, &info, NULL);
    c.cluster = info.cluster_size;
    block_image_info_clear(&info);
    if (c.compress && (!c.cluster || strcmp(blk_format(c.dst), "qcow2"))) {
        img_error("Compression not supported for this file format");
        ret = -1;
        goto out;
    }
    progress_print(&c, false);
    ret = block_run_parallel(ctx->eng, a->coroutines, convert_task, &c);
    if (c.err) {
        img_io_error(c.err_blk, c.err_what, c.err_off, c.err);
        ret = -1;
    } else {
        c.done = c.size;
        progress_print(&c, true);
    }
out:
    if (blk_close(c.dst) < 0 && ret == 0) {
        img_error("Could not flush '%s'", out);
        ret = -1;
    }
    blk_close(c.src);
    return ret < 0 ? EXIT_ERR : EXIT_OK;
}

int img_convert(ImgCtx *ctx, int argc, char **argv)
{
    static const struct option lopts[] = {
        { "force-share", no_argument, NULL, 'U' }, { "object", required_argument, NULL, OPT_OBJ },
        { NULL, 0, NULL, 0 },
    };
    ConvertArgs a = { .dst_fmt = "raw", .src_cache = "writeback", .dst_cache = "unsafe",
                      .sparse = 4096, .coroutines = 8 };
    int c;

    while ((c = getopt_long(argc, argv, "hf:O:o:cpqnt:T:S:m:WUB:l:C", lopts, NULL)) != -1) {
        switch (c) {
        case 'f': a.src_fmt = optarg; break;
        case 'O': a.dst_fmt = optarg; break;
        case 'o': a.options = optarg; break;
        case 'c': a.compress = true; break;
        case 'p': a.progress = true; break;
        case 'q': a.quiet = true; break;
        case 'n': a.no_create = true; break;
        case 't': a.dst_cache = optarg; break;
        case 'T': a.src_cache = optarg; break;
        case 'U': a.share = true; break;
        case 'W': case 'C': break;              /* out-of-order writes are the default */
        case 'S':
            if ((a.sparse = img_parse_size(optarg)) < 0 || (a.sparse && a.sparse % 512)) {
                img_error("Invalid buffer size for sparse output specified");
                return EXIT_ERR;
            }
            break;
        case 'm':
            a.coroutines = atoi(optarg);
            if (a.coroutines < 1 || a.coroutines > 16) {
                img_error("Invalid number of coroutines. Allowed number of coroutines is "
                          "between 1 and 16");
                return EXIT_ERR;
            }
            break;
        case 'B': case 'l':
            img_error("option -%c is not supported by vireo-img", c);
            return EXIT_ERR;
        default:
            img_error("usage: convert [-c] [-p] [-n] [-f fmt] [-O fmt] [-o options] "
                      "filename output_filename");
            return EXIT_ERR;
        }
    }
    if (a.quiet) {
        a.progress = false;
    }
    if (argc - optind != 2) {
        img_error(argc - optind < 2 ? "Must specify image file name"
                                    : "Only one source image is supported");
        return EXIT_ERR;
    }
    if (a.options && !strcmp(a.options, "help")) {
        GString *h = g_string_new(NULL);
        block_create_help(a.dst_fmt, h);
        printf("%s", h->str);
        g_string_free(h, TRUE);
        return EXIT_OK;
    }
    return convert_run(ctx, &a, argv[optind], argv[optind + 1]);
}

/* ---- compare ------------------------------------------------------------------------------ */

typedef struct Cmp {
    BlockBackend *a, *b;
    bool strict, quiet;
} Cmp;

static int64_t first_difference(const uint8_t *x, const uint8_t *y, int64_t n)
{
    for (int64_t i = 0; i < n; i++) {
        if (x[i] != y[i]) {
            return i;
        }
    }
    return -1;
}

/* Compares the common part; returns 0 same, 1 different, -1 error. */
static int compare_common(Cmp *c, int64_t len, uint8_t *b1, uint8_t *b2)
{
    for (int64_t off = 0; off < len;) {
        BlockStatus s1, s2;
        int64_t n1, n2, n, d;
        int ret = blk_block_status_chain(c->a, off, MIN(len - off, CHUNK), &n1, &s1);
        if (ret < 0 || (ret = blk_block_status_chain(c->b, off, MIN(len - off, CHUNK), &n2,
                                                     &s2)) < 0) {
            img_io_error(NULL, "reading allocation status", off, ret);
            return -1;
        }
        n = MIN(n1, n2);
        if (c->strict && s1.allocated != s2.allocated) {
            printf("Strict mode: Offset %" PRId64 " block status mismatch!\n", off);
            return 1;
        }
        if (!(s1.zero && s2.zero)) {
            if ((ret = blk_pread(c->a, off, b1, n)) < 0 ||
                (ret = blk_pread(c->b, off, b2, n)) < 0) {
                img_io_error(NULL, "reading", off, ret);
                return -1;
            }
            if ((d = first_difference(b1, b2, n)) >= 0) {
                printf("Content mismatch at offset %" PRId64 "!\n", off + d);
                return 1;
            }
        }
        off += n;
    }
    return 0;
}

/* The longer image's tail must read as zeros. */
static int compare_tail(BlockBackend *blk, int64_t from, int64_t to, uint8_t *buf)
{
    for (int64_t off = from; off < to;) {
        int64_t n = MIN(CHUNK, to - off), d;
        int ret = blk_pread(blk, off, buf, n);
        if (ret < 0) {
            img_io_error(blk, "reading", off, ret);
            return -1;
        }
        for (d = 0; d < n && !buf[d]; d++) {
        }
        if (d < n) {
            printf("Content mismatch at offset %" PRId64 "!\n", off + d);
            return 1;
        }
        off += n;
    }
    return 0;
}

static int compare_run(Cmp *c)
{
    int64_t l1 = blk_getlength(c->a), l2 = blk_getlength(c->b);
    uint8_t *b1 = aligned_buf(CHUNK), *b2 = aligned_buf(CHUNK);
    int ret = compare_common(c, MIN(l1, l2), b1, b2);

    if (ret == 0 && l1 != l2) {
        if (c->strict) {
            printf("Strict mode: Image size mismatch!\n");
            ret = 1;
        } else {
            printf("Warning: Image size mismatch!\n");
            ret = compare_tail(l1 > l2 ? c->a : c->b, MIN(l1, l2), MAX(l1, l2), b1);
        }
    }
    if (ret == 0 && !c->quiet) {
        printf("Images are identical.\n");
    }
    free(b1);
    free(b2);
    return ret;
}

int img_compare(ImgCtx *ctx, int argc, char **argv)
{
    static const struct option lopts[] = {
        { "force-share", no_argument, NULL, 'U' }, { NULL, 0, NULL, 0 },
    };
    const char *f1 = NULL, *f2 = NULL, *cache = NULL;
    bool share = false;
    Cmp c = { 0 };
    int ch, ret;

    while ((ch = getopt_long(argc, argv, "hf:F:T:pqsU", lopts, NULL)) != -1) {
        switch (ch) {
        case 'f': f1 = optarg; break;
        case 'F': f2 = optarg; break;
        case 'T': cache = optarg; break;
        case 'p': break;
        case 'q': c.quiet = true; break;
        case 's': c.strict = true; break;
        case 'U': share = true; break;
        default: img_error("usage: compare [-f fmt] [-F fmt] [-s] filename1 filename2");
                 return 2;
        }
    }
    if (argc - optind != 2) {
        img_error("Expecting two image file names");
        return 2;
    }
    if (!f2) {
        f2 = f1;
    }
    if (!(c.a = img_open(ctx, argv[optind], f1, true, cache, share, NULL))) {
        return 2;
    }
    if (!(c.b = img_open(ctx, argv[optind + 1], f2, true, cache, share, NULL))) {
        blk_close(c.a);
        return 2;
    }
    ret = compare_run(&c);
    blk_close(c.a);
    blk_close(c.b);
    return ret < 0 ? 2 : ret;
}
