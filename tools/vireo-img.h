/*
 * vireo-img: shared helpers of the qemu-img compatible tool (tools/vireo-img*.c).
 */
#ifndef VIREO_IMG_H
#define VIREO_IMG_H

#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <glib.h>

#include "vireo/block.h"

/* Exit statuses. */
enum { EXIT_OK = 0, EXIT_ERR = 1 };

typedef struct ImgCtx {
    BlockEngine *eng;
    const char *prog;
} ImgCtx;

/* Prints "vireo-img: msg" to stderr. */
void img_error(const char *fmt, ...) G_GNUC_PRINTF(1, 2);
/* Prints @err's message and frees it. */
void img_gerror(GError *err);
/* "could not read at offset ...": the errno and, if any, what the image layer knows. */
void img_io_error(BlockBackend *blk, const char *what, int64_t off, int ret);

/* Opens an image for a command, reporting errors itself. */
BlockBackend *img_open(ImgCtx *ctx, const char *filename, const char *fmt, bool read_only,
                       const char *cache, bool force_share, BlockOpenOptions *extra);
/* Parses --output=human|json (reports the error itself). */
bool img_parse_output(const char *s, bool *json);
/* Parses a size argument like qemu-img (suffixes k, M, G, T, ...); -1 if invalid. */
int64_t img_parse_size(const char *s);
/* True when @buf[0..len) is all zero bytes. */
bool img_is_zero(const void *buf, size_t len);
/* Human size like QEMU's size_to_str: "196 KiB", "1.5 GiB". */
char *img_size_to_str(uint64_t v);

/* Minimal JSON writer producing qemu-img's pretty layout. */
typedef struct Json {
    GString *s;
    int depth;
    bool need_comma[64];
} Json;

void json_init(Json *j);
char *json_finish(Json *j);
void json_begin_object(Json *j, const char *key);
void json_end_object(Json *j);
void json_begin_array(Json *j, const char *key);
void json_end_array(Json *j);
void json_int(Json *j, const char *key, int64_t v);
void json_uint(Json *j, const char *key, uint64_t v);
void json_bool(Json *j, const char *key, bool v);
void json_str(Json *j, const char *key, const char *v);

/* Commands: argc/argv start at the command name; they return the exit status. */
int img_create(ImgCtx *ctx, int argc, char **argv);
int img_info(ImgCtx *ctx, int argc, char **argv);
int img_check(ImgCtx *ctx, int argc, char **argv);
int img_map(ImgCtx *ctx, int argc, char **argv);
int img_convert(ImgCtx *ctx, int argc, char **argv);
int img_compare(ImgCtx *ctx, int argc, char **argv);
int img_resize(ImgCtx *ctx, int argc, char **argv);
int img_snapshot(ImgCtx *ctx, int argc, char **argv);
int img_rebase(ImgCtx *ctx, int argc, char **argv);
int img_commit(ImgCtx *ctx, int argc, char **argv);
int img_bench(ImgCtx *ctx, int argc, char **argv);

#endif
