/*
 * Shared fixture of the block unit tests: a block engine and a scratch directory
 * (under $VIREO_BUILD_DIR, on a real disk so that O_DIRECT works) removed afterwards.
 */
#ifndef TESTS_UNIT_BLOCK_FIXTURE_H
#define TESTS_UNIT_BLOCK_FIXTURE_H

#include <glib.h>
#include <unistd.h>

#include "block/block-int.h"

typedef struct Fixture {
    BlockEngine *eng;
    char *dir;
} Fixture;

static inline void fx_setup(Fixture *f, gconstpointer data)
{
    const char *base = g_getenv("VIREO_BUILD_DIR");
    g_autofree char *tmpl = g_build_filename(base ? base : g_get_tmp_dir(),
                                             "test-block-XXXXXX", NULL);

    f->dir = g_strdup(g_mkdtemp(tmpl));
    g_assert_nonnull(f->dir);
    f->eng = block_engine_new(NULL);
}

static inline void fx_teardown(Fixture *f, gconstpointer data)
{
    GDir *d = g_dir_open(f->dir, 0, NULL);
    const char *name;

    while (d && (name = g_dir_read_name(d))) {
        g_autofree char *p = g_build_filename(f->dir, name, NULL);
        unlink(p);
    }
    if (d) {
        g_dir_close(d);
    }
    rmdir(f->dir);
    g_free(f->dir);
    block_engine_free(f->eng);
}

#endif
