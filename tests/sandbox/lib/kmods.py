#!/usr/bin/env python3
"""Resolve Linux kernel modules and their dependencies without kmod/depmod.

Debian's kernel package ships no modules.dep (depmod runs in its postinst), and
kmod may not be installed, so this reads the `depends=` entry of each module's
.modinfo ELF section directly.

usage: kmods.py MODDIR NAME...   (MODDIR = .../lib/modules/<kver>)
Prints the module files (relative to MODDIR) in load order, dependencies
first. Names use either '-' or '_'. A name that is built into the kernel
(modules.builtin) is silently skipped; an unknown name is an error.
"""
import os
import struct
import sys


def norm(name):
    return name.replace("-", "_")


def modinfo(path):
    """Return the .modinfo section of an ELF64 little-endian .ko as a dict."""
    with open(path, "rb") as f:
        data = f.read()
    if data[:4] != b"\x7fELF" or data[4] != 2:
        raise ValueError(f"{path}: not an ELF64 object (compressed module?)")
    shoff, = struct.unpack_from("<Q", data, 0x28)
    shentsize, shnum, shstrndx = struct.unpack_from("<HHH", data, 0x3A)
    def sect(i):
        base = shoff + i * shentsize
        name, _type, _flags, _addr, off, size = struct.unpack_from("<IIQQQQ", data, base)
        return name, off, size
    _, stroff, _ = sect(shstrndx)
    info = {}
    for i in range(shnum):
        name, off, size = sect(i)
        end = data.index(b"\0", stroff + name)
        if data[stroff + name:end] != b".modinfo":
            continue
        for entry in data[off:off + size].split(b"\0"):
            if b"=" in entry:
                k, v = entry.decode(errors="replace").split("=", 1)
                info.setdefault(k, v)
    return info


def index(moddir):
    paths = {}
    order = os.path.join(moddir, "modules.order")
    if os.path.exists(order):
        with open(order) as f:
            for line in f:
                rel = line.strip()
                if rel.endswith(".ko") and os.path.exists(os.path.join(moddir, rel)):
                    paths[norm(os.path.basename(rel)[:-3])] = rel
    if not paths:
        for root, _dirs, files in os.walk(os.path.join(moddir, "kernel")):
            for fn in files:
                if fn.endswith(".ko"):
                    rel = os.path.relpath(os.path.join(root, fn), moddir)
                    paths[norm(fn[:-3])] = rel
    builtin = set()
    bpath = os.path.join(moddir, "modules.builtin")
    if os.path.exists(bpath):
        with open(bpath) as f:
            for line in f:
                builtin.add(norm(os.path.basename(line.strip())[:-3]))
    return paths, builtin


def resolve(moddir, names):
    paths, builtin = index(moddir)
    out, seen = [], set()
    def visit(name, stack):
        n = norm(name)
        if n in seen:
            return
        if n not in paths:
            if n in builtin:
                seen.add(n)
                return
            raise SystemExit(f"kmods: module {name!r} not found in {moddir}")
        if n in stack:
            raise SystemExit(f"kmods: dependency cycle at {name}")
        deps = modinfo(os.path.join(moddir, paths[n])).get("depends", "")
        for d in filter(None, deps.split(",")):
            visit(d, stack | {n})
        seen.add(n)
        out.append(paths[n])
    for name in names:
        visit(name, frozenset())
    return out


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    for rel in resolve(sys.argv[1], sys.argv[2:]):
        print(rel)
