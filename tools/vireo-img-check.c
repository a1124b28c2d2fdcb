/*
 * vireo-img check: qemu-img's human and JSON reports and exit statuses (0 clean,
 * 1 check failed, 2 corruptions, 3 leaks only, 63 no check for this format).
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "vireo-img.h"

enum { OPT_OUTPUT = 256 };

/* ---- check ----------------------------------------------------------------------------- */

static void check_human(const BlockCheckResult *r)
{
    if (!r->corruptions && !r->leaks && !r->check_errors) {
        printf("No errors were found on the image.\n");
    }
    if (r->corruptions) {
        printf("\n%d errors were found on the image.\nData may be corrupted, or further "
               "writes to the image may corrupt it.\n", r->corruptions);
    }
    if (r->leaks) {
        printf("\n%d leaked clusters were found on the image.\nThis means waste of disk "
               "space, but no harm to data.\n", r->leaks);
    }
    if (r->check_errors) {
        printf("\n%d internal errors have occurred during the check.\n", r->check_errors);
    }
    if (r->total_clusters && r->allocated_clusters) {
        printf("%" PRId64 "/%" PRId64 " = %0.2f%% allocated, %0.2f%% fragmented, %0.2f%% "
               "compressed clusters\n", r->allocated_clusters, r->total_clusters,
               r->allocated_clusters * 100.0 / r->total_clusters,
               r->fragmented_clusters * 100.0 / r->allocated_clusters,
               r->compressed_clusters * 100.0 / r->allocated_clusters);
    }
    if (r->image_end_offset) {
        printf("Image end offset: %" PRId64 "\n", r->image_end_offset);
    }
}

static void check_json(const BlockCheckResult *r, const char *filename, const char *fmt)
{
    Json j;
    char *out;

    json_init(&j);
    json_begin_object(&j, NULL);
    if (r->image_end_offset) {
        json_int(&j, "image-end-offset", r->image_end_offset);
    }
    if (r->total_clusters) {
        json_int(&j, "total-clusters", r->total_clusters);
    }
    json_int(&j, "check-errors", r->check_errors);
    if (r->leaks) {
        json_int(&j, "leaks", r->leaks);
    }
    if (r->corruptions) {
        json_int(&j, "corruptions", r->corruptions);
    }
    if (r->leaks_fixed) {
        json_int(&j, "leaks-fixed", r->leaks_fixed);
    }
    if (r->corruptions_fixed) {
        json_int(&j, "corruptions-fixed", r->corruptions_fixed);
    }
    if (r->allocated_clusters) {
        json_int(&j, "allocated-clusters", r->allocated_clusters);
    }
    if (r->fragmented_clusters) {
        json_int(&j, "fragmented-clusters", r->fragmented_clusters);
    }
    if (r->compressed_clusters) {
        json_int(&j, "compressed-clusters", r->compressed_clusters);
    }
    json_str(&j, "filename", filename);
    json_str(&j, "format", fmt);
    json_end_object(&j);
    out = json_finish(&j);
    printf("%s\n", out);
    g_free(out);
}

static int check_status(const BlockCheckResult *r)
{
    if (r->check_errors) {
        return 1;
    }
    if (r->corruptions) {
        return 2;
    }
    return r->leaks ? 3 : 0;
}

/* Runs the check, and after a repair a second one, like qemu-img. */
static int run_check(BlockBackend *blk, BlockFix fix, bool json, bool quiet,
                     BlockCheckResult *r)
{
    BlockCheckResult again;
    GError *err = NULL;

    if (blk_check(blk, fix, r, &err) < 0) {
        if (g_error_matches(err, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED)) {
            img_error("This image format does not support checks");
            g_error_free(err);
            return 63;
        }
        img_gerror(err);
        return 1;
    }
    if (fix && (r->leaks_fixed || r->corruptions_fixed)) {
        if (!json && !quiet) {
            printf("The following inconsistencies were found and repaired:\n\n"
                   "    %d leaked clusters\n    %d corruptions\n\n"
                   "Double checking the fixed image now...\n", r->leaks_fixed,
                   r->corruptions_fixed);
        }
        if (blk_check(blk, BLOCK_FIX_NONE, &again, &err) < 0) {
            img_gerror(err);
            return 1;
        }
        again.leaks_fixed = r->leaks_fixed;
        again.corruptions_fixed = r->corruptions_fixed;
        *r = again;
    }
    return 0;
}

int img_check(ImgCtx *ctx, int argc, char **argv)
{
    static const struct option lopts[] = {
        { "format", required_argument, NULL, 'f' }, { "repair", required_argument, NULL, 'r' },
        { "output", required_argument, NULL, OPT_OUTPUT },
        { "force-share", no_argument, NULL, 'U' }, { NULL, 0, NULL, 0 },
    };
    const char *fmt = NULL, *cache = NULL;
    bool json = false, share = false, quiet = false;
    BlockFix fix = BLOCK_FIX_NONE;
    BlockCheckResult r;
    BlockOpenOptions o;
    BlockBackend *blk;
    int c, ret;

    while ((c = getopt_long(argc, argv, "hf:r:T:qU", lopts, NULL)) != -1) {
        switch (c) {
        case 'f': fmt = optarg; break;
        case 'T': cache = optarg; break;
        case 'q': quiet = true; break;
        case 'U': share = true; break;
        case 'r':
            if (!strcmp(optarg, "leaks")) {
                fix = BLOCK_FIX_LEAKS;
            } else if (!strcmp(optarg, "all")) {
                fix = BLOCK_FIX_ALL;
            } else {
                img_error("Unknown option value for -r (expecting 'leaks' or 'all'): %s",
                          optarg);
                return EXIT_ERR;
            }
            break;
        case OPT_OUTPUT: if (!img_parse_output(optarg, &json)) return EXIT_ERR; break;
        default: img_error("usage: check [-f fmt] [--output=ofmt] [-r leaks|all] filename");
                 return EXIT_ERR;
        }
    }
    if (optind != argc - 1) {
        img_error("Expecting one image file name");
        return EXIT_ERR;
    }
    block_open_options_init(&o);
    o.check_mode = true;
    o.no_backing = true;
    if (!(blk = img_open(ctx, argv[optind], fmt, fix == BLOCK_FIX_NONE, cache, share, &o))) {
        return EXIT_ERR;
    }
    ret = run_check(blk, fix, json, quiet, &r);
    if (ret == 0) {
        if (json) {
            check_json(&r, argv[optind], blk_format(blk));
        } else if (!quiet) {
            check_human(&r);
        }
        ret = check_status(&r);
    }
    blk_close(blk);
    return ret;
}

