/*
 * vireo-img info, map and snapshot: output in qemu-img's human and JSON forms.
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "vireo-img.h"

enum { OPT_OUTPUT = 256, OPT_BACKING_CHAIN, OPT_START, OPT_MAXLEN, OPT_OBJECT };

bool img_parse_output(const char *s, bool *json)
{
    if (!strcmp(s, "json")) {
        *json = true;
    } else if (!strcmp(s, "human")) {
        *json = false;
    } else {
        img_error("--output must be used with human or json as argument.");
        return false;
    }
    return true;
}

/* ---- snapshot table ------------------------------------------------------------------- */

static void print_snapshot_header(void)
{
    printf("%-9s %-17s %7s%20s%13s%11s\n", "ID", "TAG", "VM SIZE", "DATE", "VM CLOCK",
           "ICOUNT");
}

static void print_snapshot(const BlockSnapshotInfo *sn)
{
    char date[64] = "", clock[64], icount[32] = "";
    char *vm = img_size_to_str(sn->vm_state_size);
    time_t t = sn->date_sec;
    struct tm tm;
    uint64_t secs = sn->vm_clock_nsec / 1000000000ULL;

    if (localtime_r(&t, &tm)) {
        strftime(date, sizeof(date), "%Y-%m-%d %H:%M:%S", &tm);
    }
    snprintf(clock, sizeof(clock), "%02u:%02u:%02u.%03u", (unsigned)(secs / 3600),
             (unsigned)(secs / 60 % 60), (unsigned)(secs % 60),
             (unsigned)(sn->vm_clock_nsec / 1000000 % 1000));
    if (sn->icount != UINT64_MAX) {
        snprintf(icount, sizeof(icount), "%" PRIu64, sn->icount);
    }
    printf("%-9s %-17s %7s%20s%13s%11s\n", sn->id, sn->name, vm, date, clock, icount);
    g_free(vm);
}

static void json_snapshot(Json *j, const BlockSnapshotInfo *sn)
{
    json_begin_object(j, NULL);
    if (sn->icount != UINT64_MAX) {
        json_uint(j, "icount", sn->icount);
    }
    json_uint(j, "vm-clock-nsec", sn->vm_clock_nsec % 1000000000ULL);
    json_str(j, "name", sn->name);
    json_uint(j, "date-sec", sn->date_sec);
    json_uint(j, "date-nsec", sn->date_nsec);
    json_uint(j, "vm-clock-sec", sn->vm_clock_nsec / 1000000000ULL);
    json_str(j, "id", sn->id);
    json_uint(j, "vm-state-size", sn->vm_state_size);
    json_end_object(j);
}

/* ---- info ------------------------------------------------------------------------------ */

static void info_human(const BlockImageInfo *in)
{
    char *vs = img_size_to_str(in->virtual_size);

    printf("image: %s\nfile format: %s\nvirtual size: %s (%" PRId64 " bytes)\n",
           in->filename, in->format, vs, in->virtual_size);
    g_free(vs);
    if (in->actual_size >= 0) {
        char *ds = img_size_to_str(in->actual_size);
        printf("disk size: %s\n", ds);
        g_free(ds);
    } else {
        printf("disk size: unavailable\n");
    }
    if (in->cluster_size) {
        printf("cluster_size: %" PRId64 "\n", in->cluster_size);
    }
    if (in->backing_filename) {
        printf("backing file: %s", in->backing_filename);
        if (in->full_backing_filename && strcmp(in->full_backing_filename,
                                                in->backing_filename)) {
            printf(" (actual path: %s)", in->full_backing_filename);
        }
        printf("\n");
        if (in->backing_format) {
            printf("backing file format: %s\n", in->backing_format);
        }
    }
    if (in->has_dirty_flag && in->dirty_flag) {
        printf("cleanly shut down: no\n");
    }
    if (in->n_snapshots > 0) {
        printf("Snapshot list:\n");
        print_snapshot_header();
        for (int i = 0; i < in->n_snapshots; i++) {
            print_snapshot(&in->snapshots[i]);
        }
    }
    if (in->is_qcow2 && strcmp(in->compat, "0.10") == 0) {
        printf("Format specific information:\n    compat: %s\n    compression type: %s\n"
               "    refcount bits: %d\n", in->compat, in->compression_type,
               in->refcount_bits);
    } else if (in->is_qcow2) {
        printf("Format specific information:\n    compat: %s\n    compression type: %s\n"
               "    lazy refcounts: %s\n    refcount bits: %d\n    corrupt: %s\n"
               "    extended l2: %s\n", in->compat, in->compression_type,
               in->lazy_refcounts ? "true" : "false", in->refcount_bits,
               in->corrupt ? "true" : "false", in->extended_l2 ? "true" : "false");
    }
}

static void info_json(Json *j, const BlockImageInfo *in)
{
    json_begin_object(j, NULL);
    if (in->n_snapshots > 0) {
        json_begin_array(j, "snapshots");
        for (int i = 0; i < in->n_snapshots; i++) {
            json_snapshot(j, &in->snapshots[i]);
        }
        json_end_array(j);
    }
    if (in->backing_format) {
        json_str(j, "backing-filename-format", in->backing_format);
    }
    json_int(j, "virtual-size", in->virtual_size);
    json_str(j, "filename", in->filename);
    if (in->cluster_size) {
        json_int(j, "cluster-size", in->cluster_size);
    }
    json_str(j, "format", in->format);
    if (in->actual_size >= 0) {
        json_int(j, "actual-size", in->actual_size);
    }
    if (in->is_qcow2) {
        json_begin_object(j, "format-specific");
        json_str(j, "type", "qcow2");
        json_begin_object(j, "data");
        bool v3 = strcmp(in->compat, "0.10") != 0;     /* v2 has no such fields */
        json_str(j, "compat", in->compat);
        json_str(j, "compression-type", in->compression_type);
        if (v3) {
            json_bool(j, "lazy-refcounts", in->lazy_refcounts);
        }
        json_int(j, "refcount-bits", in->refcount_bits);
        if (v3) {
            json_bool(j, "corrupt", in->corrupt);
            json_bool(j, "extended-l2", in->extended_l2);
        }
        json_end_object(j);
        json_end_object(j);
    }
    if (in->backing_filename) {
        json_str(j, "full-backing-filename", in->full_backing_filename);
        json_str(j, "backing-filename", in->backing_filename);
    }
    json_bool(j, "dirty-flag", in->dirty_flag);
    json_end_object(j);
}

int img_info(ImgCtx *ctx, int argc, char **argv)
{
    static const struct option lopts[] = {
        { "help", no_argument, NULL, 'h' }, { "format", required_argument, NULL, 'f' },
        { "output", required_argument, NULL, OPT_OUTPUT },
        { "backing-chain", no_argument, NULL, OPT_BACKING_CHAIN },
        { "force-share", no_argument, NULL, 'U' }, { NULL, 0, NULL, 0 },
    };
    const char *fmt = NULL;
    bool json = false, chain = false, share = false;
    BlockOpenOptions o;
    BlockBackend *blk;
    BlockImageInfo in;
    Json j;
    int c;

    while ((c = getopt_long(argc, argv, "hf:U", lopts, NULL)) != -1) {
        switch (c) {
        case 'f': fmt = optarg; break;
        case 'U': share = true; break;
        case OPT_OUTPUT: if (!img_parse_output(optarg, &json)) return EXIT_ERR; break;
        case OPT_BACKING_CHAIN: chain = true; break;
        default: img_error("usage: info [-f fmt] [--output=ofmt] [--backing-chain] [-U] "
                           "filename"); return EXIT_ERR;
        }
    }
    if (optind != argc - 1) {
        img_error("Expecting one image file name");
        return EXIT_ERR;
    }
    block_open_options_init(&o);
    o.no_backing = !chain;
    if (!(blk = img_open(ctx, argv[optind], fmt, true, NULL, share, &o))) {
        return EXIT_ERR;
    }
    json_init(&j);
    if (json && chain) {
        json_begin_array(&j, NULL);
    }
    for (int depth = 0; blk_get_info(blk, depth, &in, NULL); depth++) {
        if (json) {
            info_json(&j, &in);
        } else {
            printf("%s", depth ? "\n" : "");
            info_human(&in);
        }
        block_image_info_clear(&in);
        if (!chain) {
            break;
        }
    }
    if (json && chain) {
        json_end_array(&j);
    }
    if (json) {
        char *out = json_finish(&j);
        printf("%s\n", out);
        g_free(out);
    } else {
        g_free(json_finish(&j));
    }
    blk_close(blk);
    return EXIT_OK;
}

/* ---- map --------------------------------------------------------------------------------- */

typedef struct MapEntry {
    int64_t start, length, offset;
    int depth;
    bool present, zero, data, has_offset;
    const char *file;
} MapEntry;

static bool map_mergeable(const MapEntry *a, const MapEntry *b)
{
    return a->depth == b->depth && a->present == b->present && a->zero == b->zero &&
           a->data == b->data && a->has_offset == b->has_offset &&
           (!a->has_offset || (a->offset + a->length == b->offset &&
                               !g_strcmp0(a->file, b->file)));
}

static void map_print(const MapEntry *e, bool json, bool last)
{
    if (json) {
        printf("{ \"start\": %" PRId64 ", \"length\": %" PRId64 ", \"depth\": %d, "
               "\"present\": %s, \"zero\": %s, \"data\": %s", e->start, e->length, e->depth,
               e->present ? "true" : "false", e->zero ? "true" : "false",
               e->data ? "true" : "false");
        if (e->has_offset) {
            printf(", \"offset\": %" PRId64, e->offset);
        }
        printf("}%s", last ? "" : ",\n");
    } else if (e->data && e->has_offset) {
        printf("%#-16" PRIx64 "%#-16" PRIx64 "%#-16" PRIx64 "%s\n", (uint64_t)e->start,
               (uint64_t)e->length, (uint64_t)e->offset, e->file);
    }
}

static int map_run(BlockBackend *blk, int64_t start, int64_t end, bool json)
{
    MapEntry cur = { 0 }, next;
    bool have = false;

    if (json) {
        printf("[");
    } else {
        printf("%-16s%-16s%-16s%s\n", "Offset", "Length", "Mapped to", "File");
    }
    for (int64_t off = start; off < end;) {
        BlockStatus st;
        int64_t n;
        int ret = blk_block_status_chain(blk, off, end - off, &n, &st);
        if (ret < 0) {
            img_io_error(blk, "reading allocation status of", off, ret);
            return EXIT_ERR;
        }
        next = (MapEntry){ off, n, st.offset, st.depth, st.allocated, st.zero, st.data,
                           st.offset_valid, st.file };
        if (have && map_mergeable(&cur, &next)) {
            cur.length += n;
        } else {
            if (have) {
                map_print(&cur, json, false);
            }
            cur = next;
            have = true;
        }
        off += n;
    }
    if (have) {
        map_print(&cur, json, true);
    }
    if (json) {
        printf("]\n");
    }
    return EXIT_OK;
}

int img_map(ImgCtx *ctx, int argc, char **argv)
{
    static const struct option lopts[] = {
        { "format", required_argument, NULL, 'f' },
        { "output", required_argument, NULL, OPT_OUTPUT },
        { "start-offset", required_argument, NULL, OPT_START },
        { "max-length", required_argument, NULL, OPT_MAXLEN },
        { "force-share", no_argument, NULL, 'U' }, { NULL, 0, NULL, 0 },
    };
    const char *fmt = NULL;
    bool json = false, share = false;
    int64_t start = 0, maxlen = INT64_MAX, len;
    BlockBackend *blk;
    int c, ret;

    while ((c = getopt_long(argc, argv, "hf:U", lopts, NULL)) != -1) {
        switch (c) {
        case 'f': fmt = optarg; break;
        case 'U': share = true; break;
        case OPT_OUTPUT: if (!img_parse_output(optarg, &json)) return EXIT_ERR; break;
        case OPT_START:
            if ((start = img_parse_size(optarg)) < 0) {
                img_error("Invalid start offset specified: %s", optarg);
                return EXIT_ERR;
            }
            break;
        case OPT_MAXLEN:
            if ((maxlen = img_parse_size(optarg)) < 0) {
                img_error("Invalid length specified: %s", optarg);
                return EXIT_ERR;
            }
            break;
        default: img_error("usage: map [-f fmt] [--output=ofmt] filename"); return EXIT_ERR;
        }
    }
    if (optind != argc - 1) {
        img_error("Expecting one image file name");
        return EXIT_ERR;
    }
    if (!(blk = img_open(ctx, argv[optind], fmt, true, NULL, share, NULL))) {
        return EXIT_ERR;
    }
    len = blk_getlength(blk);
    start = MIN(start, len);
    ret = map_run(blk, start, maxlen >= len - start ? len : start + maxlen, json);
    blk_close(blk);
    return ret;
}

/* ---- snapshot ----------------------------------------------------------------------------- */

static int snapshot_list(BlockBackend *blk)
{
    BlockSnapshotInfo *list;
    int n = blk_snapshot_list(blk, &list);

    if (n < 0) {
        img_error("Could not list snapshots of '%s': %s", blk_filename(blk), g_strerror(-n));
        return EXIT_ERR;
    }
    if (n > 0) {
        printf("Snapshot list:\n");
        print_snapshot_header();
    }
    for (int i = 0; i < n; i++) {
        print_snapshot(&list[i]);
        block_snapshot_info_clear(&list[i]);
    }
    g_free(list);
    return EXIT_OK;
}

int img_snapshot(ImgCtx *ctx, int argc, char **argv)
{
    static const struct option lopts[] = {
        { "format", required_argument, NULL, 'f' },
        { "force-share", no_argument, NULL, 'U' }, { NULL, 0, NULL, 0 },
    };
    const char *fmt = NULL, *name = NULL;
    char action = 0;
    bool share = false;
    BlockOpenOptions o;
    BlockBackend *blk;
    GError *err = NULL;
    int c, ret = 0;

    while ((c = getopt_long(argc, argv, "la:c:d:f:hqU", lopts, NULL)) != -1) {
        switch (c) {
        case 'f': fmt = optarg; break;
        case 'U': share = true; break;
        case 'q': break;
        case 'l': case 'a': case 'c': case 'd':
            if (action) {
                img_error("Cannot mix '-l', '-a', '-c', '-d'");
                return EXIT_ERR;
            }
            action = c;
            name = optarg;
            break;
        default: img_error("usage: snapshot [-l | -a snap | -c snap | -d snap] filename");
                 return EXIT_ERR;
        }
    }
    if (optind != argc - 1) {
        img_error("Expecting one image file name");
        return EXIT_ERR;
    }
    block_open_options_init(&o);
    o.no_backing = true;
    blk = img_open(ctx, argv[optind], fmt, !action || action == 'l', NULL, share, &o);
    if (!blk) {
        return EXIT_ERR;
    }
    switch (action) {
    case 0: case 'l': ret = snapshot_list(blk) ? -1 : 0; break;
    case 'c': ret = blk_snapshot_create(blk, name, &err); break;
    case 'a': ret = blk_snapshot_apply(blk, name, &err); break;
    case 'd': ret = blk_snapshot_delete(blk, name, &err); break;
    }
    if (err) {
        img_gerror(err);
    }
    if (blk_close(blk) < 0 && ret == 0) {
        img_error("Could not close '%s'", argv[optind]);
        ret = -1;
    }
    return ret < 0 ? EXIT_ERR : EXIT_OK;
}
