/*
 * vireo-img: disk image tool with qemu-img's command names and options.
 * This file: command dispatch and the helpers every command uses.
 */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "vireo-img.h"
#include "vireo/option.h"

typedef int ImgCmd(ImgCtx *ctx, int argc, char **argv);

static const struct {
    const char *name;
    ImgCmd *fn;
    const char *synopsis;
} commands[] = {
    { "bench", img_bench, "bench [-c count] [-d depth] [-f fmt] [--flush-interval=N] [-i aio] "
      "[-n] [--no-drain] [-o offset] [--pattern=P] [-q] [-s size] [-S step] [-t cache] [-U] "
      "[-w] filename" },
    { "check", img_check, "check [-q] [-f fmt] [--output=human|json] [-r leaks|all] "
      "[-T cache] [-U] filename" },
    { "commit", img_commit, "commit [-q] [-f fmt] [-t cache] [-b base] [-d] [-p] filename" },
    { "compare", img_compare, "compare [-f fmt] [-F fmt] [-T cache] [-p] [-q] [-s] [-U] "
      "filename1 filename2" },
    { "convert", img_convert, "convert [-c] [-p] [-q] [-n] [-f fmt] [-t cache] [-T cache] "
      "[-O fmt] [-o options] [-S sparse_size] [-m coroutines] [-W] [-U] filename "
      "output_filename" },
    { "create", img_create, "create [-q] [-f fmt] [-b backing_file [-F backing_fmt]] [-u] "
      "[-o options] filename [size]" },
    { "info", img_info, "info [-f fmt] [--output=human|json] [--backing-chain] [-U] "
      "filename" },
    { "map", img_map, "map [-f fmt] [--output=human|json] [--start-offset=O] "
      "[--max-length=L] [-U] filename" },
    { "rebase", img_rebase, "rebase [-f fmt] [-t cache] [-T cache] [-p] [-q] [-u] [-U] "
      "-b backing_file [-F backing_fmt] filename" },
    { "resize", img_resize, "resize [-f fmt] [--preallocation=mode] [-q] [--shrink] "
      "filename [+|-]size" },
    { "snapshot", img_snapshot, "snapshot [-l | -a snapshot | -c snapshot | -d snapshot] "
      "[-U] [-q] [-f fmt] filename" },
};

void img_error(const char *fmt, ...)
{
    va_list ap;

    fputs("vireo-img: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

void img_gerror(GError *err)
{
    img_error("%s", err->message);
    g_error_free(err);
}

void img_io_error(BlockBackend *blk, const char *what, int64_t off, int ret)
{
    const char *detail = blk ? blk_last_error(blk) : NULL;

    if (detail) {
        img_error("error while %s '%s' at offset %" PRId64 ": %s (%s)", what,
                  blk_filename(blk), off, g_strerror(-ret), detail);
    } else {
        img_error("error while %s '%s' at offset %" PRId64 ": %s", what,
                  blk ? blk_filename(blk) : "", off, g_strerror(-ret));
    }
}

BlockBackend *img_open(ImgCtx *ctx, const char *filename, const char *fmt, bool read_only,
                       const char *cache, bool force_share, BlockOpenOptions *extra)
{
    BlockOpenOptions o;
    GError *err = NULL;
    BlockBackend *blk;

    if (extra) {
        o = *extra;
    } else {
        block_open_options_init(&o);
    }
    o.format = fmt;
    o.read_only = read_only;
    o.force_share = force_share;
    if (cache && !block_cache_mode_parse(cache, &o.cache)) {
        img_error("Invalid cache option: %s", cache);
        return NULL;
    }
    blk = blk_open(ctx->eng, filename, &o, &err);
    if (!blk) {
        img_gerror(err);
    }
    return blk;
}

/* The option layer's size rule (qemu_strtosz), as qemu-img parses sizes. */
int64_t img_parse_size(const char *s)
{
    uint64_t v;
    return s && str_to_size(s, 1, &v) && v <= INT64_MAX ? (int64_t)v : -1;
}

bool img_is_zero(const void *buf, size_t len)
{
    const unsigned char *p = buf;

    /* If the first 16 bytes are zero and every byte equals the one 16 bytes further
     * on, all are zero; memcmp is vectorised by libc. */
    for (size_t i = 0; i < len && i < 16; i++) {
        if (p[i]) {
            return false;
        }
    }
    return len <= 16 || memcmp(p, p + 16, len - 16) == 0;
}

/* The unit is picked so the number shown stays below 1000, three significant digits. */
char *img_size_to_str(uint64_t v)
{
    static const char *const units[] = { "", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei" };
    int i = 0;

    while (i < 6 && (double)v / (double)(1ULL << (i * 10)) >= 1000.0) {
        i++;
    }
    return g_strdup_printf("%0.3g %sB", (double)v / (double)(1ULL << (i * 10)), units[i]);
}

/* ---- JSON ------------------------------------------------------------------------------ */

void json_init(Json *j)
{
    memset(j, 0, sizeof(*j));
    j->s = g_string_new(NULL);
}

char *json_finish(Json *j)
{
    return g_string_free(j->s, FALSE);
}

static void json_indent(Json *j)
{
    for (int i = 0; i < j->depth; i++) {
        g_string_append(j->s, "    ");
    }
}

static void json_escape(GString *s, const char *v)
{
    g_string_append_c(s, '"');
    for (const unsigned char *p = (const unsigned char *)v; *p; p++) {
        switch (*p) {
        case '"': g_string_append(s, "\\\""); break;
        case '\\': g_string_append(s, "\\\\"); break;
        case '\n': g_string_append(s, "\\n"); break;
        case '\r': g_string_append(s, "\\r"); break;
        case '\t': g_string_append(s, "\\t"); break;
        default:
            if (*p < 0x20) {
                g_string_append_printf(s, "\\u%04x", *p);
            } else {
                g_string_append_c(s, *p);
            }
        }
    }
    g_string_append_c(s, '"');
}

/* Starts a member (or array element): comma, newline, indent, "key": */
static void json_member(Json *j, const char *key)
{
    if (j->depth > 0) {
        g_string_append(j->s, j->need_comma[j->depth] ? ",\n" : "\n");
        j->need_comma[j->depth] = true;
        json_indent(j);
    }
    if (key) {
        json_escape(j->s, key);
        g_string_append(j->s, ": ");
    }
}

static void json_open(Json *j, const char *key, char c)
{
    json_member(j, key);
    g_string_append_c(j->s, c);
    j->depth++;
    j->need_comma[j->depth] = false;
}

static void json_close(Json *j, char c)
{
    bool empty = !j->need_comma[j->depth];

    j->depth--;
    if (!empty) {
        g_string_append_c(j->s, '\n');
        json_indent(j);
    }
    g_string_append_c(j->s, c);
}

void json_begin_object(Json *j, const char *key) { json_open(j, key, '{'); }
void json_end_object(Json *j) { json_close(j, '}'); }
void json_begin_array(Json *j, const char *key) { json_open(j, key, '['); }
void json_end_array(Json *j) { json_close(j, ']'); }

void json_int(Json *j, const char *key, int64_t v)
{
    json_member(j, key);
    g_string_append_printf(j->s, "%" G_GINT64_FORMAT, v);
}

void json_uint(Json *j, const char *key, uint64_t v)
{
    json_member(j, key);
    g_string_append_printf(j->s, "%" G_GUINT64_FORMAT, v);
}

void json_bool(Json *j, const char *key, bool v)
{
    json_member(j, key);
    g_string_append(j->s, v ? "true" : "false");
}

void json_str(Json *j, const char *key, const char *v)
{
    json_member(j, key);
    json_escape(j->s, v ? v : "");
}

/* ---- main --------------------------------------------------------------------------- */

static void usage(FILE *f)
{
    fprintf(f, "vireo-img version " VIREO_VERSION "\n"
            "usage: vireo-img [standard options] command [command options]\n"
            "Disk image tool with qemu-img's commands and options.\n\n"
            "Command syntax:\n");
    for (size_t i = 0; i < G_N_ELEMENTS(commands); i++) {
        fprintf(f, "  %s\n", commands[i].synopsis);
    }
    fprintf(f, "\nSupported formats: raw qcow2\n");
}

int main(int argc, char **argv)
{
    ImgCtx ctx = { .prog = "vireo-img" };
    int ret;

    if (argc < 2) {
        usage(stderr);
        return EXIT_ERR;
    }
    if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
        usage(stdout);
        return EXIT_OK;
    }
    if (!strcmp(argv[1], "-V") || !strcmp(argv[1], "--version")) {
        printf("vireo-img version " VIREO_VERSION "\n");
        return EXIT_OK;
    }
    for (size_t i = 0; i < G_N_ELEMENTS(commands); i++) {
        if (!strcmp(argv[1], commands[i].name)) {
            ctx.eng = block_engine_new(NULL);
            ret = commands[i].fn(&ctx, argc - 1, argv + 1);
            block_engine_free(ctx.eng);
            return ret;
        }
    }
    img_error("Command not found: %s", argv[1]);
    return EXIT_ERR;
}
