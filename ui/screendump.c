/*
 * Writing a console's surface to a file: PPM (P6, as QEMU's ppm_save) and PNG (libpng,
 * 8-bit RGB, as QEMU 7.1+'s png_save). The surface is refreshed from video memory
 * first, so a dump shows what the guest wrote even with no display attached.
 */
#include "ui/ui-internal.h"
#include <errno.h>
#include <png.h>
#include <stdio.h>
#include <string.h>

static FILE *dump_open(const char *filename, GError **errp)
{
    FILE *f = fopen(filename, "wb");
    if (!f)
        g_set_error(errp, G_IO_ERROR, g_io_error_from_errno(errno),
                    "failed to open file '%s': %s", filename, g_strerror(errno));
    return f;
}

static bool dump_close(FILE *f, const char *filename, bool ok, GError **errp)
{
    if (fclose(f) != 0 && ok) {
        g_set_error(errp, G_IO_ERROR, g_io_error_from_errno(errno),
                    "failed to write file '%s': %s", filename, g_strerror(errno));
        ok = false;
    }
    if (!ok)
        unlink(filename);
    return ok;
}

/* One row of the surface as packed 8-bit RGB. */
static void row_rgb(Console *con, int y, uint8_t *out)
{
    const uint32_t *p = (const uint32_t *)((const uint8_t *)console_data(con) +
                                           (size_t)y * console_stride(con));
    for (int x = 0; x < console_width(con); x++) {
        out[3 * x] = p[x] >> 16;
        out[3 * x + 1] = p[x] >> 8;
        out[3 * x + 2] = p[x];
    }
}

bool console_write_ppm(Console *con, const char *filename, GError **errp)
{
    console_refresh(con);
    FILE *f = dump_open(filename, errp);
    if (!f)
        return false;
    int w = console_width(con), h = console_height(con);
    g_autofree uint8_t *row = g_malloc((size_t)w * 3);
    bool ok = fprintf(f, "P6\n%d %d\n%d\n", w, h, 255) > 0;
    for (int y = 0; ok && y < h; y++) {
        row_rgb(con, y, row);
        ok = fwrite(row, 3, w, f) == (size_t)w;
    }
    if (!ok)
        g_set_error(errp, G_IO_ERROR, G_IO_ERROR_FAILED, "failed to write file '%s': %s",
                    filename, g_strerror(errno));
    return dump_close(f, filename, ok, errp);
}

typedef struct PngJob {
    Console *con;
    FILE *f;
    uint8_t *row;
} PngJob;

/* libpng reports errors by longjmp; everything it needs lives in @j. */
static bool png_write_all(PngJob *j, png_structp png, png_infop info)
{
    if (setjmp(png_jmpbuf(png)))
        return false;
    int w = console_width(j->con), h = console_height(j->con);
    png_init_io(png, j->f);
    png_set_IHDR(png, info, w, h, 8, PNG_COLOR_TYPE_RGB, PNG_INTERLACE_NONE,
                 PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    png_set_compression_level(png, 1);
    png_write_info(png, info);
    for (int y = 0; y < h; y++) {
        row_rgb(j->con, y, j->row);
        png_write_row(png, j->row);
    }
    png_write_end(png, NULL);
    return true;
}

bool console_write_png(Console *con, const char *filename, GError **errp)
{
    console_refresh(con);
    FILE *f = dump_open(filename, errp);
    if (!f)
        return false;
    PngJob j = { .con = con, .f = f, .row = g_malloc((size_t)console_width(con) * 3) };
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
    png_infop info = png ? png_create_info_struct(png) : NULL;
    bool ok = info && png_write_all(&j, png, info);
    png_destroy_write_struct(&png, &info);
    g_free(j.row);
    if (!ok)
        g_set_error(errp, G_IO_ERROR, G_IO_ERROR_FAILED, "failed to write file '%s'",
                    filename);
    return dump_close(f, filename, ok, errp);
}
