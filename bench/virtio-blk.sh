#!/usr/bin/env bash
# Benchmark (not a test): virtio-blk through the guest's Linux driver, Vireo vs QEMU, in
# the nested-KVM sandbox. Each VMM boots Debian's kernel with a 512 MiB raw image on the
# sandbox's ext4 scratch disk (O_DIRECT works there) as -drive if=none + virtio-blk-pci,
# cache=none; the guest times dd with O_DIRECT: 256 MiB sequential in 1 MiB requests,
# 64 MiB in 4 KiB requests (queue depth 1), reads and writes. RUNS (default 3)
# interleaved runs of: vireo (io_uring), and QEMU with aio=threads, aio=io_uring and
# aio=native; medians, and the ratio best-QEMU/Vireo per row (> 1: Vireo faster).
#   bench/virtio-blk.sh [RUNS]
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
. "$root/tests/sandbox/lib/common.sh"
vsb_ensure_setup
initrd=$(vsb_inner_initrd) || vsb_die "cannot build the inner initramfs"
exec bash "$VSB_DIR/sandbox.sh" run --timeout 2400 --scratch 1024 --cwd "$root" \
  --env "VSB_VMLINUZ=$VMLINUZ" --env "VSB_INITRD=$initrd" --env "RUNS=${1:-3}" \
  --env "VSB_BUILD=$root/build" -- bash -c '
. tests/sandbox/lib/vm.sh
img=$VSB_SCRATCH/bench.raw; truncate -s 512M $img
for run in $(seq 1 $RUNS); do
  for cfg in vireo qemu-threads qemu-io_uring qemu-native; do
    vmm=${cfg%%-*}
    vsb_vmm_cmd $vmm || { echo "$VMM_ERR"; exit 1; }
    aio=; [ $vmm = qemu ] && aio=,aio=${cfg#qemu-}
    dev=virtio-blk-pci,drive=d0; [ $vmm = qemu ] && dev=$dev,disable-legacy=on
    log=/tmp/$cfg-$run.log
    vsb_boot $log --timeout 300 --first-output 60 --silence 120 --marker VTEST-INIT \
      --exit-after VTEST-DONE --exit-grace 20 -- "${VMM_CMD[@]}" -m 512 \
      -drive file=$img,format=raw,if=none,id=d0,cache=none$aio -device $dev \
      -kernel "$VSB_VMLINUZ" -initrd "$VSB_INITRD" -append "console=ttyS0 quiet vtest=blkbench"
    grep "^VTEST-RESULT ok bench-" $log | sed "s/^VTEST-RESULT ok bench-/$cfg /; s/: / /; s/ ms//"
  done
done > /tmp/rows.txt
python3 - /tmp/rows.txt <<PY
import statistics, sys
rows = [l.split() for l in open(sys.argv[1]) if len(l.split()) == 3]
d = {}
for vmm, name, ms in rows:
    d.setdefault(name, {}).setdefault(vmm, []).append(int(ms))
mib = {"seqread-1m": 256, "seqwrite-1m": 256, "read-4k": 64, "write-4k": 64}
qs = ("qemu-threads", "qemu-io_uring", "qemu-native")
print("| guest dd (O_DIRECT), cache=none | vireo ms | " + " | ".join(q + " ms" for q in qs) +
      " | best qemu / vireo |")
print("|---|---|---|---|---|---|")
for name in mib:
    r = d.get(name, {})
    if "vireo" not in r or not any(q in r for q in qs):
        print("| %s | missing: %s |" % (name, " ".join(sorted(r)))); continue
    v = statistics.median(r["vireo"])
    qm = {q: statistics.median(r[q]) for q in qs if q in r}
    best = min(qm, key=qm.get)
    print("| %s | %d | %s | %.2fx (%s) |" % (name, v, " | ".join(
        "%d" % qm[q] if q in qm else "-" for q in qs), qm[best] / max(v, 1), best))
PY
'
