#!/usr/bin/env bash
# Benchmark (not a test): virtio-blk through the guest's Linux driver, Vireo vs QEMU, in
# the nested-KVM sandbox. Each VMM boots Debian's kernel with a 512 MiB raw image on the
# sandbox's tmpfs (-drive if=virtio,cache=writeback, so the host side is memory and the
# numbers are about the virtualization path: exits, notifications, interrupts,
# completions); the guest times dd with O_DIRECT: 256 MiB sequential in 1 MiB requests,
# 64 MiB in 4 KiB requests (queue depth 1), reads and writes. RUNS (default 3)
# interleaved runs of vireo, vireo with ioeventfd=off (queue notifications exit to the
# vCPU thread) and qemu; medians and the ratios QEMU/Vireo (> 1: Vireo faster).
#   bench/virtio-blk.sh [RUNS]
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
. "$root/tests/sandbox/lib/common.sh"
vsb_ensure_setup
initrd=$(vsb_inner_initrd) || vsb_die "cannot build the inner initramfs"
exec bash "$VSB_DIR/sandbox.sh" run --timeout 1500 --cwd "$root" \
  --env "VSB_VMLINUZ=$VMLINUZ" --env "VSB_INITRD=$initrd" --env "RUNS=${1:-3}" \
  --env "VSB_BUILD=$root/build" -- bash -c '
. tests/sandbox/lib/vm.sh
img=/tmp/bench.raw; truncate -s 512M $img
for run in $(seq 1 $RUNS); do
  for cfg in vireo vireo-noioev qemu; do
    vmm=${cfg%-noioev}
    vsb_vmm_cmd $vmm || { echo "$VMM_ERR"; exit 1; }
    ioev=on; [ $cfg = vireo-noioev ] && ioev=off
    log=/tmp/$cfg-$run.log
    vsb_boot $log --timeout 300 --first-output 60 --silence 120 --marker VTEST-INIT \
      --exit-after VTEST-DONE --exit-grace 20 -- "${VMM_CMD[@]}" -m 512 \
      -drive file=$img,format=raw,if=none,id=d0,cache=writeback \
      -device virtio-blk-pci,drive=d0,ioeventfd=$ioev \
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
print("| guest dd (O_DIRECT) | qemu ms | vireo ms | vireo, no ioeventfd, ms | qemu/vireo | qemu/vireo-noioev |")
print("|---|---|---|---|---|---|")
for name in mib:
    r = d.get(name, {})
    if not all(k in r for k in ("qemu", "vireo", "vireo-noioev")):
        print("| %s | missing |" % name); continue
    q, v, n = (statistics.median(r[k]) for k in ("qemu", "vireo", "vireo-noioev"))
    print("| %s | %d | %d | %d | %.2fx | %.2fx |" % (name, q, v, n, q / max(v, 1), q / max(n, 1)))
PY
'
