#!/usr/bin/env python3
"""Runs the qcow2 fuzzer for a bounded time (VIREO_FUZZ_SECONDS, default 45) on seed
images made by qemu-img (various cluster sizes, compression, snapshots) plus the
hand-made bad images of tests/compat/bad_images.py when present.

usage: run-fuzz.py FUZZER [EXTRA_CORPUS_DIR...]
"""
import os
import shutil
import subprocess
import sys
import tempfile

SEEDS = [
    ("cluster_size=512", ["write -P 0x11 0 4k", "write -z 8k 1k"]),
    ("cluster_size=512,compat=0.10", ["write -P 0x22 1k 2k"]),
    ("cluster_size=512,refcount_bits=1", ["write -c -P 0x33 0 1k"]),
    ("cluster_size=1k,compression_type=zstd", ["write -c -P 0x44 0 2k", "discard 0 1k"]),
    ("cluster_size=512,refcount_bits=64,lazy_refcounts=on", ["write -P 0x55 0 3k"]),
]


def make_seeds(d):
    if not shutil.which("qemu-img"):
        return
    for i, (opts, ops) in enumerate(SEEDS):
        img = os.path.join(d, "seed%d.qcow2" % i)
        subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", "-o", opts, img, "64k"],
                       check=True)
        args = ["qemu-io", "-f", "qcow2"]
        for o in ops:
            args += ["-c", o]
        subprocess.run(args + [img], check=True, capture_output=True)
        if "refcount_bits=1" not in opts:
            subprocess.run(["qemu-img", "snapshot", "-c", "s", img], check=True)


def main():
    fuzzer = os.path.abspath(sys.argv[1])
    secs = int(os.environ.get("VIREO_FUZZ_SECONDS", "45"))
    base = os.environ.get("VIREO_BUILD_DIR", os.getcwd())
    work = tempfile.mkdtemp(prefix="fuzz-", dir=base)
    corpus = os.path.join(work, "corpus")
    os.mkdir(corpus)
    make_seeds(corpus)
    env = dict(os.environ, ASAN_OPTIONS="detect_leaks=1:abort_on_error=0",
               UBSAN_OPTIONS="print_stacktrace=1")
    cmd = [fuzzer, "-max_total_time=%d" % secs, "-max_len=65536", "-timeout=20",
           "-rss_limit_mb=2048", "-close_fd_mask=2", "-print_final_stats=1",
           "-artifact_prefix=" + os.path.join(base, "fuzz-crash-"), corpus] + sys.argv[2:]
    print(" ".join(cmd))
    sys.stdout.flush()
    rc = subprocess.call(cmd, env=env)
    shutil.rmtree(work, ignore_errors=True)
    return 0 if rc == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
