/*
 * vireo-img bench: the request loop of qemu-img bench (same options, same offsets:
 * each request starts @step bytes after the previous one, modulo the image size), so
 * the two tools can be timed on identical work.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vireo-img.h"

enum { OPT_FLUSH = 256, OPT_NO_DRAIN, OPT_PATTERN };

typedef struct Bench {
    BlockBackend *blk;
    uint64_t image_size;
    bool write;
    int bufsize, step, nrreq, n;
    int flush_interval;
    bool drain_on_flush;
    bool in_flush;
    int in_flight;
    uint64_t offset;
    struct iovec iov;
} Bench;

static void bench_failed(int ret)
{
    img_error("Failed request: %s", g_strerror(-ret));
    exit(EXIT_ERR);
}

static void bench_undrained_flush_cb(void *opaque, int ret)
{
    if (ret < 0) {
        bench_failed(ret);
    }
}

static void bench_cb(void *opaque, int ret);

/* A completion: account for it and maybe start a flush; false means "wait". */
static bool bench_complete(Bench *b)
{
    int remaining;

    if (b->in_flush) {
        b->in_flush = false;            /* drained flush done: go on */
        return true;
    }
    if (b->in_flight == 0) {
        return true;                    /* the initial call */
    }
    remaining = b->n - b->in_flight;
    b->n--;
    b->in_flight--;
    if (b->flush_interval && remaining % b->flush_interval == 0) {
        if (!b->in_flight || !b->drain_on_flush) {
            b->in_flush = b->drain_on_flush;
            blk_aio_flush(b->blk, b->drain_on_flush ? bench_cb : bench_undrained_flush_cb, b);
        }
        return !b->drain_on_flush;
    }
    return true;
}

static void bench_cb(void *opaque, int ret)
{
    Bench *b = opaque;

    if (ret < 0) {
        bench_failed(ret);
    }
    if (!bench_complete(b)) {
        return;
    }
    while (b->n > b->in_flight && b->in_flight < b->nrreq) {
        uint64_t off = b->offset;
        b->in_flight++;
        b->offset += b->step;
        b->offset = b->image_size ? b->offset % b->image_size : 0;
        if (b->write) {
            blk_aio_pwritev(b->blk, off, &b->iov, 1, 0, bench_cb, b);
        } else {
            blk_aio_preadv(b->blk, off, &b->iov, 1, bench_cb, b);
        }
    }
}

typedef struct BenchArgs {
    const char *fmt, *cache, *aio;
    int count, depth, bufsize, step, pattern, flush_interval;
    int64_t offset;
    bool write, quiet, share, drain;
} BenchArgs;

static int bench_parse(int argc, char **argv, BenchArgs *a)
{
    static const struct option lopts[] = {
        { "flush-interval", required_argument, NULL, OPT_FLUSH },
        { "no-drain", no_argument, NULL, OPT_NO_DRAIN },
        { "pattern", required_argument, NULL, OPT_PATTERN },
        { "force-share", no_argument, NULL, 'U' }, { NULL, 0, NULL, 0 },
    };
    int64_t v;
    int c;

    while ((c = getopt_long(argc, argv, "hc:d:f:ni:o:qs:S:t:wU", lopts, NULL)) != -1) {
        switch (c) {
        case 'c': a->count = atoi(optarg); break;
        case 'd': a->depth = atoi(optarg); break;
        case 'f': a->fmt = optarg; break;
        case 'n': a->cache = "none"; a->aio = "io_uring"; break;
        case 'i': a->aio = optarg; break;
        case 'o': a->offset = img_parse_size(optarg); break;
        case 'q': a->quiet = true; break;
        case 's':
        case 'S':
            if ((v = img_parse_size(optarg)) <= 0 || v > INT32_MAX) {
                img_error("Invalid %s specified", c == 's' ? "buffer size" : "step size");
                return -1;
            }
            *(c == 's' ? &a->bufsize : &a->step) = (int)v;
            break;
        case 't': a->cache = optarg; break;
        case 'w': a->write = true; break;
        case 'U': a->share = true; break;
        case OPT_FLUSH: a->flush_interval = atoi(optarg); break;
        case OPT_NO_DRAIN: a->drain = false; break;
        case OPT_PATTERN: a->pattern = atoi(optarg); break;
        default: img_error("usage: bench [-c count] [-d depth] [-f fmt] [-n] [-s size] "
                           "[-S step] [-t cache] [-w] filename");
                 return -1;
        }
    }
    if (optind != argc - 1 || a->count < 1 || a->depth < 1 || a->offset < 0) {
        img_error("Expecting one image file name and positive -c/-d/-o values");
        return -1;
    }
    if (a->flush_interval && (!a->write || a->flush_interval < a->depth)) {
        img_error(!a->write ? "--flush-interval is only available in write tests"
                            : "Flush interval can't be smaller than depth");
        return -1;
    }
    return 0;
}

int img_bench(ImgCtx *ctx, int argc, char **argv)
{
    BenchArgs a = { .cache = "writeback", .count = 75000, .depth = 64, .bufsize = 4096,
                    .drain = true };
    BlockOpenOptions o;
    BlockBackend *blk;
    Bench b = { 0 };
    void *buf = NULL;
    gint64 t0;

    if (bench_parse(argc, argv, &a) < 0) {
        return EXIT_ERR;
    }
    block_open_options_init(&o);
    if (a.aio && !block_aio_mode_parse(a.aio, &o.aio)) {
        img_error("Invalid aio option: %s", a.aio);
        return EXIT_ERR;
    }
    if (!(blk = img_open(ctx, argv[optind], a.fmt, !a.write, a.cache, a.share, &o))) {
        return EXIT_ERR;
    }
    b = (Bench){ .blk = blk, .image_size = blk_getlength(blk), .write = a.write,
                 .bufsize = a.bufsize, .step = a.step ? a.step : a.bufsize,
                 .nrreq = a.depth, .n = a.count, .flush_interval = a.flush_interval,
                 .drain_on_flush = a.drain, .offset = a.offset };
    if (posix_memalign(&buf, 4096, b.bufsize)) {
        abort();
    }
    memset(buf, a.pattern, b.bufsize);
    b.iov = (struct iovec){ buf, b.bufsize };
    if (!a.quiet) {
        printf("Sending %d %s requests, %d bytes each, %d in parallel (starting at offset %"
               PRId64 ", step size %d)\n", a.count, a.write ? "write" : "read", b.bufsize,
               b.nrreq, a.offset, b.step);
        if (a.flush_interval) {
            printf("Sending flush every %d requests\n", a.flush_interval);
        }
    }
    t0 = g_get_monotonic_time();
    bench_cb(&b, 0);
    while (b.n > 0) {
        blk_drain(blk);
    }
    if (!a.quiet) {
        printf("Run completed in %3.3f seconds.\n", (g_get_monotonic_time() - t0) / 1e6);
    }
    blk_close(blk);
    free(buf);
    return EXIT_OK;
}
