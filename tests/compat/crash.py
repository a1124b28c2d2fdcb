#!/usr/bin/env python3
"""Crash consistency (suite 'compat'): kill -9 a Vireo writer in the middle of random
parallel writes, many times, then check that

  * `qemu-img check` finds no corruption (leaks are allowed),
  * every write that completed before a completed flush is there, and every 4 KiB
    block holds either that write or a later one (never a torn or foreign block),
  * `vireo-img check -r leaks` leaves an image qemu-img calls clean.

usage: crash.py VIREO_IMG VIREO_IO [ITERATIONS]
The writer (vireo-io crash-writer) logs "S blk seq" before each write, "W blk seq" after
it, and "FS n" / "FD n" around each flush, to a file. Lazy-refcount images are checked
after Vireo reopens them (which repairs the refcounts the dirty bit says may lag).
"""
import os
import random
import shutil
import struct
import subprocess
import sys
import tempfile
import time

VIMG, VIO = os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2])
ITER = int(sys.argv[3]) if len(sys.argv) > 3 else 36
BLOCKS, BLK, SIZE = 4096, 4096, 64 << 20

# (create options, cache mode, aio, take a snapshot first)
CONFIGS = [
    ("cluster_size=64k", "none", "io_uring", False),
    ("cluster_size=4k", "writeback", "io_uring", False),
    ("cluster_size=64k", "writeback", "threads", True),
    ("cluster_size=512,refcount_bits=64", "none", "io_uring", False),
    ("cluster_size=16k,compat=0.10", "writethrough", "io_uring", True),
    ("cluster_size=64k,lazy_refcounts=on", "writeback", "io_uring", False),
]


def wait_unlocked(img, secs=10.0):
    """A killed io_uring user's ring is torn down asynchronously by the kernel, so its
    file (and the image lock with it) can stay held briefly after the process is reaped.
    Wait until qemu-img can take the lock, as a user restarting after a crash would."""
    end = time.time() + secs
    while time.time() < end:
        p = subprocess.run(["qemu-img", "info", img], capture_output=True, text=True)
        if "lock" not in p.stderr:
            return
        time.sleep(0.1)


def run(*args, ok=(0,)):
    p = subprocess.run(list(args), capture_output=True, text=True)
    if p.returncode not in ok:
        raise RuntimeError("%s -> %d: %s%s" % (" ".join(args), p.returncode, p.stdout,
                                              p.stderr))
    return p


def parse_log(path):
    started, durable = {}, {}
    completed = []                      # (blk, seq) in completion order
    flush_start = {}
    last_done = None
    with open(path) as f:
        for line in f:
            parts = line.split()
            if len(parts) < 2 or not line.endswith("\n"):
                continue                # the line being written at the kill
            if parts[0] == "S":
                started.setdefault(int(parts[1]), set()).add(int(parts[2]))
            elif parts[0] == "W":
                completed.append((int(parts[1]), int(parts[2])))
            elif parts[0] == "FS":
                flush_start[int(parts[1])] = len(completed)
            elif parts[0] == "FD":
                last_done = int(parts[1])
    if last_done is not None:
        for b, seq in completed[:flush_start[last_done]]:
            durable[b] = max(durable.get(b, 0), seq)
    return started, durable, len(completed)


def verify(raw, base, started, durable):
    """Every block holds its initial contents (only if no flushed write touched it) or
    one whole write issued to it, no older than the last flushed one."""
    errors = []
    with open(raw, "rb") as f, open(base, "rb") as g:
        for b in range(BLOCKS):
            data, initial = f.read(BLK), g.read(BLK)
            if data == initial:
                if b in durable:
                    errors.append("block %d lost flushed write %#x" % (b, durable[b]))
                continue
            blkno, seq = struct.unpack("<QQ", data[:16])
            if data != data[:16] * (BLK // 16) or blkno != b:
                errors.append("block %d is torn or foreign" % b)
            elif seq not in started.get(b, ()):
                errors.append("block %d holds a write never issued (%#x)" % (b, seq))
            elif seq < durable.get(b, 0):
                errors.append("block %d went back to %#x before flushed %#x" %
                              (b, seq, durable[b]))
    return errors


def one_run(work, i, cfg, rng):
    opts, cache, aio, snap = cfg
    img, log, raw, base = (os.path.join(work, n) for n in ("c.qcow2", "log", "c.raw",
                                                            "base.raw"))
    run(VIMG, "create", "-q", "-f", "qcow2", "-o", opts, img, str(SIZE))
    if snap:
        run(VIO, "-c", "stress %d 4 2000 %d" % (BLOCKS, i), img)
        run(VIMG, "snapshot", "-c", "base", img)
    run("qemu-img", "convert", "-O", "raw", img, base)
    with open(log, "w") as out:
        p = subprocess.Popen([VIO, "-t", cache, "-i", aio, "-c", "crash-writer %d 8 %d 40" %
                              (BLOCKS, 1000 + i), img], stdout=out)
        time.sleep(rng.uniform(0.05, 0.6))
        p.kill()
        p.wait()
    wait_unlocked(img)
    started, durable, ncompleted = parse_log(log)
    lazy = "lazy_refcounts=on" in opts
    if lazy:
        run(VIO, "-c", "flush", img)    # reopening repairs the lagging refcounts
    c = run("qemu-img", "check", img, ok=(0, 2, 3))
    problems = []
    if c.returncode == 2 or "ERROR" in c.stdout + c.stderr:
        problems.append("qemu-img check: corruption\n" + c.stdout + c.stderr)
    run("qemu-img", "convert", "-O", "raw", img, raw)
    problems += verify(raw, base, started, durable)[:5]
    run(VIMG, "check", "-r", "leaks", img, ok=(0, 3))
    c2 = run("qemu-img", "check", img, ok=(0, 2, 3))
    if c2.returncode != 0:
        problems.append("still not clean after vireo-img check -r leaks:\n" + c2.stdout)
    name = "crash %d (%s, cache=%s, aio=%s%s): %d writes done, %d flushed blocks" % (
        i, opts, cache, aio, ", snapshot" if snap else "", ncompleted, len(durable))
    return name, problems


def main():
    if not shutil.which("qemu-img"):
        print("1..0 # SKIP qemu-img not installed")
        return 0
    work = tempfile.mkdtemp(prefix="crash-", dir=os.environ.get("VIREO_BUILD_DIR",
                                                                 os.getcwd()))
    rng = random.Random(int(os.environ.get("VIREO_CRASH_SEED", "20240607")))
    failed = 0
    try:
        for i in range(ITER):
            name, problems = one_run(work, i, CONFIGS[i % len(CONFIGS)], rng)
            if problems:
                failed += 1
                print("not ok %d - %s\n# %s" % (i + 1, name, "\n# ".join(problems)))
            else:
                print("ok %d - %s" % (i + 1, name))
            sys.stdout.flush()
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print("1..%d" % ITER)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
