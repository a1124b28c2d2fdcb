#!/usr/bin/env python3
"""Malformed qcow2 images (suite 'compat'): truncated files, absurd header fields,
L1/L2/refcount entries pointing outside the file or into metadata, unknown incompatible
features, broken compressed clusters, snapshot tables and backing-chain loops.

Every vireo-img / vireo-io command on them must end with a clear error (or succeed),
never a crash; cases that must be refused say which words the error has to contain.
When the ASan/UBSan fuzzer binary is given, each image is also run through it.

usage: bad_images.py VIREO_IMG VIREO_IO [FUZZER]
"""
import os
import shutil
import struct
import subprocess
import sys
import tempfile

VIMG, VIO = os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2])
FUZZER = (os.path.abspath(sys.argv[3]) if len(sys.argv) > 3 and os.path.exists(sys.argv[3])
          else None)
CS = 4096


def make_base(work):
    """A 16 MiB qcow2 (4 KiB clusters) with data, zero, compressed clusters, a snapshot."""
    img = os.path.join(work, "base.qcow2")
    subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", "-o", "cluster_size=4k",
                    img, "16M"], check=True)
    subprocess.run(["qemu-io", "-c", "write -P 0x11 0 64k", "-c", "write -z 64k 8k",
                    "-c", "write -c -P 0x22 1M 8k", img], check=True, capture_output=True)
    subprocess.run(["qemu-img", "snapshot", "-c", "s1", img], check=True)
    subprocess.run(["qemu-io", "-c", "write -P 0x33 0 4k", img], check=True,
                   capture_output=True)
    with open(img, "rb") as f:
        return bytearray(f.read())


def u32(b, off, v=None):
    if v is None:
        return struct.unpack_from(">I", b, off)[0]
    struct.pack_into(">I", b, off, v)


def u64(b, off, v=None):
    if v is None:
        return struct.unpack_from(">Q", b, off)[0]
    struct.pack_into(">Q", b, off, v)


def l1_off(b):
    return u64(b, 40)


def l2_off(b, i=0):
    return u64(b, l1_off(b) + 8 * i) & 0x00fffffffffffe00


def rt_off(b):
    return u64(b, 48)


def l2e_off(b, guest):
    """Byte offset of the L2 entry for a guest offset (first L2 table)."""
    return l2_off(b) + 8 * (guest // CS)


def set_l2e(b, guest, value):
    u64(b, l2e_off(b, guest), value)


# name -> (mutator(bytes) -> bytes, words every refusal must contain or None)
def cases():
    c = {}
    c["truncated to 100 bytes"] = (lambda b: b[:100], None)
    c["truncated inside the header cluster"] = (lambda b: b[:2000], None)
    c["truncated before the L1 table"] = (lambda b: b[:l1_off(b)], None)
    c["truncated in the middle"] = (lambda b: b[:len(b) // 2], None)
    for bits in (8, 22, 63):
        c["cluster_bits %d" % bits] = (lambda b, v=bits: (u32(b, 20, v), b)[1],
                                       "cluster size")
    c["version 1"] = (lambda b: (u32(b, 4, 1), b)[1], "version")
    c["version 4"] = (lambda b: (u32(b, 4, 4), b)[1], "version")
    c["size 2^63"] = (lambda b: (u64(b, 24, 1 << 63), b)[1], "size")
    c["size far beyond L1"] = (lambda b: (u64(b, 24, 1 << 45), b)[1], "L1")
    c["l1_size 2^31-1"] = (lambda b: (u32(b, 36, 0x7fffffff), b)[1], "L1")
    c["l1 offset unaligned"] = (lambda b: (u64(b, 40, l1_off(b) + 8), b)[1], "L1")
    c["l1 offset 2^63+"] = (lambda b: (u64(b, 40, 0xffff000000000000), b)[1], "offset")
    c["l1 offset beyond EOF"] = (lambda b: (u64(b, 40, 1 << 40), b)[1], None)
    c["refcount table unaligned"] = (lambda b: (u64(b, 48, rt_off(b) + 16), b)[1],
                                     "refcount table")
    c["refcount table huge"] = (lambda b: (u32(b, 56, 0x10000000), b)[1], "refcount table")
    c["refcount table empty"] = (lambda b: (u32(b, 56, 0), b)[1], "refcount table")
    c["snapshot count huge"] = (lambda b: (u32(b, 60, 100000), b)[1], "snapshots")
    c["snapshot table unaligned"] = (lambda b: (u64(b, 64, u64(b, 64) + 8), b)[1],
                                     "snapshot")
    c["header_length odd"] = (lambda b: (u32(b, 100, 12345), b)[1], "header length")
    c["header_length beyond cluster"] = (lambda b: (u32(b, 100, 1 << 20), b)[1],
                                         "header length")
    c["backing name outside the cluster"] = (
        lambda b: (u64(b, 8, 0xffffff), u32(b, 16, 5000), b)[2], "backing")
    c["encrypted"] = (lambda b: (u32(b, 32, 1), b)[1], "encrypt")
    c["refcount order 7"] = (lambda b: (u32(b, 96, 7), b)[1], "refcount order")
    c["unknown incompatible bit"] = (lambda b: (u64(b, 72, 1 << 5), b)[1],
                                     "unknown feature bit 5")
    c["extended L2 entries"] = (lambda b: (u64(b, 72, 1 << 4), b)[1], "extended L2")
    c["external data file"] = (lambda b: (u64(b, 72, 1 << 2), b)[1], "external data file")
    c["corrupt bit set"] = (lambda b: (u64(b, 72, 1 << 1), b)[1], "marked corrupt")
    c["dirty bit set"] = (lambda b: (u64(b, 72, 1 << 0), b)[1], None)
    c["compression bit with zlib type"] = (lambda b: (u64(b, 72, 1 << 3), b)[1],
                                           "compression type")
    c["extension length huge"] = (
        lambda b: (u32(b, 112, 0x12345678), u32(b, 116, 0xfffffff0), b)[2], "extension")
    c["L1 entry beyond EOF"] = (lambda b: (u64(b, l1_off(b), (1 << 40) | (1 << 63)), b)[1],
                                None)
    c["L1 entry unaligned"] = (lambda b: (u64(b, l1_off(b), l2_off(b) + 512 | 1 << 63), b)[1],
                               "unaligned")
    c["L1 entry at the L1 table"] = (lambda b: (u64(b, l1_off(b), l1_off(b) | 1 << 63), b)[1],
                                     "overlaps")
    c["L1 entry at the refcount table"] = (
        lambda b: (u64(b, l1_off(b), rt_off(b) | 1 << 63), b)[1], "overlaps")
    c["L2 entry beyond EOF"] = (lambda b: (set_l2e(b, 0, (1 << 44) | 1 << 63), b)[1], None)
    c["L2 entry unaligned"] = (lambda b: (set_l2e(b, 0, (u64(b, l2e_off(b, 0)) + 512)), b)[1],
                               "unaligned")
    c["L2 entry at the header"] = (lambda b: (set_l2e(b, 0, CS * 0 + (1 << 63) | CS), b)[1],
                                   None)
    c["L2 entry at the L1 table"] = (lambda b: (set_l2e(b, 0, l1_off(b) | 1 << 63), b)[1],
                                     "overlaps")
    c["L2 entry at the refcount table"] = (
        lambda b: (set_l2e(b, 0, rt_off(b) | 1 << 63), b)[1], "overlaps")
    c["compressed cluster garbage"] = (corrupt_compressed, "decompress")
    c["compressed cluster beyond EOF"] = (
        lambda b: (set_l2e(b, 1 << 20, (1 << 62) | (1 << 40)), b)[1], "decompress")
    c["refcount block beyond EOF"] = (lambda b: (u64(b, rt_off(b), 1 << 40), b)[1], None)
    c["refcount block unaligned"] = (lambda b: (u64(b, rt_off(b), u64(b, rt_off(b)) + 64),
                                                b)[1], None)
    c["refcount block at the L1 table"] = (lambda b: (u64(b, rt_off(b), l1_off(b)), b)[1],
                                           None)
    c["refcount block offset 2^63+"] = (
        lambda b: (u64(b, rt_off(b), 0xffff000000000000), b)[1], None)
    c["all refcounts zero"] = (zero_refcounts, None)
    c["snapshot extra data huge"] = (lambda b: (u32(b, u64(b, 64) + 36, 0x7fffffff), b)[1],
                                     "extra data")
    c["snapshot L1 unaligned"] = (lambda b: (u64(b, u64(b, 64), 12345), b)[1], "snapshot")
    c["snapshot L1 huge"] = (lambda b: (u32(b, u64(b, 64) + 8, 0x7fffffff), b)[1],
                             "snapshot")
    return c


def corrupt_compressed(b):
    e = u64(b, l2e_off(b, 1 << 20))
    coff = e & ((1 << (62 - (12 - 8))) - 1)
    b[coff:coff + 64] = b"\xa5" * 64
    return b


def zero_refcounts(b):
    rb = u64(b, rt_off(b)) & ~0x1ff
    b[rb:rb + CS] = bytes(CS)
    return b


def run(args, work):
    try:
        p = subprocess.run(args, capture_output=True, text=True, timeout=60, cwd=work)
    except subprocess.TimeoutExpired:
        return -999, "timeout"
    return p.returncode, p.stdout + p.stderr


def crashed(rc, out):
    return rc < 0 or rc >= 128 or "Sanitizer" in out or "Segmentation" in out


def try_image(work, name, data, words):
    img = os.path.join(work, "bad.qcow2")
    with open(img, "wb") as f:
        f.write(data)
    problems, refusals = [], []
    cmds = [[VIMG, "info", "-f", "qcow2", img],
            [VIMG, "convert", "-f", "qcow2", "-O", "raw", img, os.path.join(work, "o.raw")],
            [VIMG, "check", "-f", "qcow2", img],
            [VIMG, "map", "-f", "qcow2", "--output=json", img],
            [VIMG, "snapshot", "-l", "-f", "qcow2", img],
            [VIO, "-f", "qcow2", "-c", "write -P 0x5 0 64k", "-c", "read -P 0x5 0 64k",
             "-c", "write -z 64k 64k", "-c", "discard 0 1M", img],
            [VIMG, "check", "-r", "all", "-f", "qcow2", img]]
    if FUZZER:
        pristine = os.path.join(work, "pristine.qcow2")
        with open(pristine, "wb") as f:
            f.write(data)
        cmds.insert(0, [FUZZER, pristine])  # before the writes below grow the file
    for args in cmds:
        rc, out = run(args, work)
        if crashed(rc, out):
            problems.append("%s crashed (%d): %s" % (os.path.basename(args[0]), rc,
                                                     out.strip()[-400:]))
        elif rc not in (0, 2, 3) and not out.strip():
            problems.append("%s failed without a message" % os.path.basename(args[0]))
        elif rc not in (0, 2, 3):
            refusals.append(out)
    if words and not any(words.lower() in r.lower() for r in refusals):
        problems.append("no error mentioning '%s'" % words)
    return problems


def loops(work):
    a, b = os.path.join(work, "a.qcow2"), os.path.join(work, "b.qcow2")
    for img in (a, b):
        subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", img, "1M"], check=True)
    subprocess.run(["qemu-img", "rebase", "-u", "-b", b, "-F", "qcow2", a], check=True)
    subprocess.run(["qemu-img", "rebase", "-u", "-b", a, "-F", "qcow2", b], check=True)
    out = []
    for args in ([VIMG, "info", "--backing-chain", a], [VIMG, "convert", "-O", "raw", a,
                                                         os.path.join(work, "o.raw")]):
        rc, o = run(args, work)
        out.append(rc == 1 and "loop" in o.lower() and not crashed(rc, o))
    subprocess.run(["qemu-img", "rebase", "-u", "-b", a, "-F", "qcow2", a], check=True)
    rc, o = run([VIMG, "info", "--backing-chain", a], work)
    out.append(rc == 1 and "loop" in o.lower())
    return all(out)


def main():
    if not shutil.which("qemu-img"):
        print("1..0 # SKIP qemu-img not installed")
        return 0
    work = tempfile.mkdtemp(prefix="bad-", dir=os.environ.get("VIREO_BUILD_DIR",
                                                               os.getcwd()))
    failed, n = 0, 0
    try:
        base = make_base(work)
        for name, (mutate, words) in cases().items():
            n += 1
            problems = try_image(work, name, bytes(mutate(bytearray(base))), words)
            if problems:
                failed += 1
                print("not ok %d - %s\n# %s" % (n, name, "\n# ".join(problems)))
            else:
                print("ok %d - %s" % (n, name))
            sys.stdout.flush()
        n += 1
        ok = loops(work)
        failed += not ok
        print("%s %d - backing chain loops are refused" % ("ok" if ok else "not ok", n))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print("1..%d" % n)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
