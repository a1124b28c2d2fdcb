/*
 * libFuzzer harness: open a fuzzed file as qcow2 (no backing files), read the virtual
 * disk, walk the allocation status, run a read-only check, then reopen read-write and
 * write a little. Built with clang -fsanitize=fuzzer,address,undefined (tests/fuzz).
 * Any crash or sanitizer report is a bug: malformed images must only produce errors.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "vireo/block.h"

enum { READ_CAP = 8 << 20, CHUNK = 256 << 10 };

static void exercise_read(BlockBackend *blk)
{
    int64_t len = blk_getlength(blk);
    uint8_t *buf = malloc(CHUNK);
    BlockImageInfo info;
    BlockCheckResult res;
    BlockSnapshotInfo *sns;
    int n;

    for (int64_t off = 0; len > 0 && off < MIN(len, READ_CAP); off += CHUNK) {
        if (blk_pread(blk, off, buf, MIN(CHUNK, len - off)) < 0) {
            break;
        }
    }
    for (int64_t off = 0, pnum; len > 0 && off < MIN(len, READ_CAP); off += pnum) {
        BlockStatus st;
        if (blk_block_status_chain(blk, off, len - off, &pnum, &st) < 0) {
            break;
        }
    }
    if (blk_get_info(blk, 0, &info, NULL)) {
        block_image_info_clear(&info);
    }
    blk_check(blk, BLOCK_FIX_NONE, &res, NULL);
    n = blk_snapshot_list(blk, &sns);
    for (int i = 0; i < n; i++) {
        block_snapshot_info_clear(&sns[i]);
    }
    free(sns);
    free(buf);
}

static void exercise_write(BlockEngine *eng, const char *path, const uint8_t *data,
                           size_t size)
{
    BlockOpenOptions o;
    BlockBackend *blk;
    uint8_t buf[4096];
    int64_t len;

    block_open_options_init(&o);
    o.format = "qcow2";
    o.no_backing = true;
    o.force_share = true;
    blk = blk_open(eng, path, &o, NULL);
    if (!blk) {
        return;
    }
    len = blk_getlength(blk);
    memset(buf, 0xa5, sizeof(buf));
    for (int i = 0; i < 4 && len >= (int64_t)sizeof(buf); i++) {
        uint64_t pick = size > 8 * (size_t)i + 8 ? data[8 * i] * 4093u + i * 65537u : i;
        int64_t off = (int64_t)(pick % (uint64_t)(len / sizeof(buf))) * sizeof(buf);
        blk_pwrite(blk, off, buf, sizeof(buf), 0);
    }
    blk_pwrite_zeroes(blk, 0, MIN(len, 65536), BLK_REQ_MAY_UNMAP);
    blk_pdiscard(blk, 0, MIN(len, 1 << 20));
    blk_flush(blk);
    blk_close(blk);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* One engine for the whole run: its coroutine stacks and ring are reused. */
    static BlockEngine *eng;
    int fd = memfd_create("fuzz-qcow2", MFD_CLOEXEC);
    BlockOpenOptions o;
    BlockBackend *blk;
    char path[64];

    if (fd < 0 || write(fd, data, size) != (ssize_t)size) {
        abort();
    }
    snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
    if (!eng) {
        eng = block_engine_new(NULL);
    }
    block_open_options_init(&o);
    o.format = "qcow2";
    o.read_only = true;
    o.no_backing = true;
    o.force_share = true;
    blk = blk_open(eng, path, &o, NULL);
    if (blk) {
        exercise_read(blk);
        blk_close(blk);
        exercise_write(eng, path, data, size);
    }
    close(fd);
    return 0;
}
