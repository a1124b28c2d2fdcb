/*
 * vireo-io: a small qemu-io for tests. Runs commands against one image through the
 * Vireo block layer:
 *   vireo-io [-f fmt] [-t cache] [-i aio] -c 'write -P 0xab 0 64k' [-c ...] image
 * Commands: write [-P pat] [-z] [-u] [-c] off len | read [-P pat] off len |
 *   discard off len | flush | stress blocks tasks count seed |
 *   crash-writer blocks tasks seed flush_every (runs until killed; logs to stdout:
 *   "S blk seq" before a write, "W blk seq" after it, "FS n"/"FD n" around flushes).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vireo/block.h"

enum { BLK_SIZE = 4096 };

static BlockBackend *blk;

static int64_t parse_num(const char *s)
{
    char *end;
    int64_t v = strtoll(s, &end, 0);

    switch (*end) {
    case 'k': case 'K': v <<= 10; break;
    case 'm': case 'M': v <<= 20; break;
    case 'g': case 'G': v <<= 30; break;
    default: break;
    }
    return v;
}

static int cmd_write(int argc, char **argv)
{
    int pattern = 0xcd, flags = 0, c;
    bool zero = false, compressed = false;
    int64_t off, len;
    uint8_t *buf;
    int ret;

    optind = 0;         /* GNU: full re-initialisation */
    while ((c = getopt(argc, argv, "P:zuc")) != -1) {
        switch (c) {
        case 'P': pattern = (int)strtol(optarg, NULL, 0); break;
        case 'z': zero = true; break;
        case 'u': flags |= BLK_REQ_MAY_UNMAP; break;
        case 'c': compressed = true; break;
        default: return -EINVAL;
        }
    }
    if (argc - optind != 2) {
        return -EINVAL;
    }
    off = parse_num(argv[optind]);
    len = parse_num(argv[optind + 1]);
    if (zero) {
        return blk_pwrite_zeroes(blk, off, len, flags);
    }
    buf = g_malloc(len);
    memset(buf, pattern, len);
    ret = compressed ? blk_pwrite_compressed(blk, off, buf, len)
                     : blk_pwrite(blk, off, buf, len, 0);
    g_free(buf);
    return ret;
}

static int cmd_read(int argc, char **argv)
{
    int pattern = -1, c;
    int64_t off, len;
    uint8_t *buf;
    int ret;

    optind = 0;         /* GNU: full re-initialisation */
    while ((c = getopt(argc, argv, "P:")) != -1) {
        if (c != 'P') {
            return -EINVAL;
        }
        pattern = (int)strtol(optarg, NULL, 0);
    }
    if (argc - optind != 2) {
        return -EINVAL;
    }
    off = parse_num(argv[optind]);
    len = parse_num(argv[optind + 1]);
    buf = g_malloc(len);
    ret = blk_pread(blk, off, buf, len);
    for (int64_t i = 0; ret == 0 && pattern >= 0 && i < len; i++) {
        if (buf[i] != pattern) {
            fprintf(stderr, "Pattern verification failed at offset %" PRId64 "\n", off + i);
            ret = -EILSEQ;
        }
    }
    g_free(buf);
    return ret;
}

/* ---- parallel random writes ------------------------------------------------------------ */

typedef struct Stress {
    int64_t blocks;
    int tasks;
    int64_t count;
    uint32_t seed;
    int flush_every;
    uint64_t flushes;
    uint64_t *model;        /* stress: last seq written per block (0 = never) */
} Stress;

static void fill_block(uint8_t *buf, int64_t blkno, uint64_t seq)
{
    for (int i = 0; i < BLK_SIZE; i += 16) {
        memcpy(buf + i, &blkno, 8);
        memcpy(buf + i + 8, &seq, 8);
    }
}

static void logf_(const char *fmt, ...) G_GNUC_PRINTF(1, 2);

static void logf_(const char *fmt, ...)
{
    char line[128];
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    if (write(STDOUT_FILENO, line, n) != n) {
        exit(1);
    }
}

/* Task i owns the blocks b with b % tasks == i, so writes to one block are ordered. */
static int stress_task(void *opaque, int index)
{
    Stress *s = opaque;
    GRand *r = g_rand_new_with_seed(s->seed * 7919 + index);
    uint8_t *buf = NULL;
    int64_t mine = (s->blocks - index + s->tasks - 1) / s->tasks;
    int ret = 0;

    if (posix_memalign((void **)&buf, 4096, BLK_SIZE)) {
        abort();
    }
    for (int64_t i = 0; (s->count < 0 || i < s->count) && ret == 0; i++) {
        int64_t b = (int64_t)g_rand_int_range(r, 0, (gint32)mine) * s->tasks + index;
        /* Depends only on this task's history, so the final data is reproducible. */
        uint64_t seq = ((uint64_t)index << 40) | (uint64_t)(i + 1) |
                       (s->count < 0 ? 1ULL << 62 : 0);   /* crash-writer data differs */
        fill_block(buf, b, seq);
        if (s->count < 0) {
            logf_("S %" PRId64 " %" PRIu64 "\n", b, seq);
        }
        ret = blk_pwrite(blk, b * BLK_SIZE, buf, BLK_SIZE, 0);
        if (s->count < 0) {
            logf_("W %" PRId64 " %" PRIu64 "\n", b, seq);
        } else {
            s->model[b] = seq;
        }
        if (ret == 0 && s->flush_every && g_rand_int_range(r, 0, s->flush_every) == 0) {
            uint64_t f = ++s->flushes;
            logf_("FS %" PRIu64 "\n", f);
            ret = blk_flush(blk);
            logf_("FD %" PRIu64 "\n", f);
        }
    }
    free(buf);
    g_rand_free(r);
    return ret;
}

static int stress_verify(Stress *s)
{
    uint8_t *buf = g_malloc(BLK_SIZE), *want = g_malloc(BLK_SIZE);
    int ret = 0;

    /* Blocks the run did not write keep whatever was there before. */
    for (int64_t b = 0; b < s->blocks && ret == 0; b++) {
        if (!s->model[b]) {
            continue;
        }
        ret = blk_pread(blk, b * BLK_SIZE, buf, BLK_SIZE);
        fill_block(want, b, s->model[b]);
        if (ret == 0 && memcmp(buf, want, BLK_SIZE)) {
            fprintf(stderr, "stress: block %" PRId64 " has wrong data\n", b);
            ret = -EILSEQ;
        }
    }
    g_free(buf);
    g_free(want);
    return ret;
}

static int cmd_stress(int argc, char **argv, bool crash)
{
    Stress s = { 0 };
    int ret;

    if (argc != 5) {
        return -EINVAL;
    }
    s.blocks = parse_num(argv[1]);
    s.tasks = atoi(argv[2]);
    s.count = crash ? -1 : parse_num(argv[3]);
    s.seed = crash ? (uint32_t)parse_num(argv[3]) : (uint32_t)parse_num(argv[4]);
    s.flush_every = crash ? atoi(argv[4]) : 0;
    s.model = g_new0(uint64_t, s.blocks);
    ret = block_run_parallel(blk_engine(blk), s.tasks, stress_task, &s);
    if (ret == 0 && !crash) {
        ret = stress_verify(&s);
    }
    g_free(s.model);
    return ret;
}

static int run_command(const char *line)
{
    char **argv;
    int argc, ret;
    GError *err = NULL;

    if (!g_shell_parse_argv(line, &argc, &argv, &err)) {
        fprintf(stderr, "vireo-io: %s\n", err->message);
        g_error_free(err);
        return -EINVAL;
    }
    if (!strcmp(argv[0], "write")) {
        ret = cmd_write(argc, argv);
    } else if (!strcmp(argv[0], "read")) {
        ret = cmd_read(argc, argv);
    } else if (!strcmp(argv[0], "discard") && argc == 3) {
        ret = blk_pdiscard(blk, parse_num(argv[1]), parse_num(argv[2]));
    } else if (!strcmp(argv[0], "flush")) {
        ret = blk_flush(blk);
    } else if (!strcmp(argv[0], "stress")) {
        ret = cmd_stress(argc, argv, false);
    } else if (!strcmp(argv[0], "crash-writer")) {
        ret = cmd_stress(argc, argv, true);
    } else {
        ret = -EINVAL;
    }
    if (ret < 0) {
        fprintf(stderr, "vireo-io: '%s' failed: %s%s%s\n", line, g_strerror(-ret),
                blk_last_error(blk) ? ": " : "", blk_last_error(blk) ? blk_last_error(blk) : "");
    }
    g_strfreev(argv);
    return ret;
}

int main(int argc, char **argv)
{
    BlockOpenOptions o;
    GPtrArray *cmds = g_ptr_array_new();
    BlockEngine *eng;
    GError *err = NULL;
    int c, ret = 0;

    block_open_options_init(&o);
    while ((c = getopt(argc, argv, "f:t:i:c:U")) != -1) {
        switch (c) {
        case 'f': o.format = optarg; break;
        case 't': block_cache_mode_parse(optarg, &o.cache); break;
        case 'i': block_aio_mode_parse(optarg, &o.aio); break;
        case 'c': g_ptr_array_add(cmds, optarg); break;
        case 'U': o.force_share = true; break;
        default: return 2;
        }
    }
    if (optind != argc - 1) {
        fprintf(stderr, "usage: vireo-io [-f fmt] [-t cache] -c cmd... image\n");
        return 2;
    }
    eng = block_engine_new(NULL);
    blk = blk_open(eng, argv[optind], &o, &err);
    if (!blk) {
        fprintf(stderr, "vireo-io: %s\n", err->message);
        return 1;
    }
    for (guint i = 0; i < cmds->len && ret == 0; i++) {
        ret = run_command(g_ptr_array_index(cmds, i));
    }
    if (blk_close(blk) < 0 && ret == 0) {
        ret = -EIO;
    }
    block_engine_free(eng);
    g_ptr_array_free(cmds, TRUE);
    return ret < 0 ? 1 : 0;
}
