#!/usr/bin/env python3
"""Runs the migration stream fuzzer on a bounded number of inputs (VIREO_FUZZ_RUNS,
default 1500, 0 = no limit) from a fixed seed, and at most VIREO_FUZZ_SECONDS (default
150); the fuzzer writes its own seed (a valid stream) into the fresh corpus.

usage: run-fuzz-migration.py FUZZER [EXTRA_CORPUS_DIR...]
"""
import os
import shutil
import subprocess
import sys
import tempfile


def main():
    fuzzer = os.path.abspath(sys.argv[1])
    secs = int(os.environ.get("VIREO_FUZZ_SECONDS", "150"))
    runs = int(os.environ.get("VIREO_FUZZ_RUNS", "1500"))
    base = os.environ.get("VIREO_BUILD_DIR", os.getcwd())
    work = tempfile.mkdtemp(prefix="fuzz-mig-", dir=base)
    corpus = os.path.join(work, "corpus")
    os.mkdir(corpus)
    env = dict(os.environ, ASAN_OPTIONS="detect_leaks=0:abort_on_error=0",
               UBSAN_OPTIONS="print_stacktrace=1")
    cmd = [fuzzer, "-max_total_time=%d" % secs, "-seed=1"] + \
        (["-runs=%d" % runs] if runs else []) + [ "-max_len=1100000", "-timeout=20",
           "-rss_limit_mb=2048", "-close_fd_mask=2", "-print_final_stats=1",
           "-artifact_prefix=" + os.path.join(base, "fuzz-migration-crash-")] + \
        sys.argv[2:] + [corpus]
    print(" ".join(cmd))
    sys.stdout.flush()
    rc = subprocess.call(cmd, env=env)
    shutil.rmtree(work, ignore_errors=True)
    return 0 if rc == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
