#!/usr/bin/env bash
# Benchmark (not a test): install media and IDE through SeaBIOS and Linux, Vireo vs
# QEMU 7.2 side by side in the nested-KVM sandbox, RUNS (default 3) interleaved runs:
#  - iso-boot: exec to the guest's init for `-cdrom X.iso -hda disk -boot d` (SeaBIOS,
#    El Torito, isolinux loading kernel + initramfs over ATAPI PIO);
#  - disk-boot: exec to init for `-hda disk.qcow2` (SeaBIOS, extlinux, IDE);
#  - in the guest (direct kernel boot, same initramfs): ata_piix DMA reads of a 512 MiB
#    raw image with cache=none: 256 MiB sequential in 1 MiB O_DIRECT requests, 8192
#    random 4 KiB reads (queue depth 1); sr reads of the whole ISO in 64 KiB requests.
# QEMU gets -L for its data, no NIC and cache=none with aio=threads and aio=io_uring
# (its best of the two is used). Prints medians and ratios (QEMU time / Vireo time for
# throughput rows: > 1 means Vireo faster; Vireo time / QEMU time for boot rows).
#   bench/storage.sh [RUNS]
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
. "$root/tests/sandbox/lib/common.sh"
vsb_ensure_setup
vsb_load_env
prep=$(mktemp -d)
VSB_PREP_DIR=$prep VSB_ROOT=$root VSB_VMLINUZ=$VMLINUZ VSB_MODDIR=$MODDIR VSB_CACHE=$VSB_CACHE \
  VSB_KVER=$KVER bash "$root/tests/sandbox/cases/60-storage.prep" >&2 || vsb_die "prep failed"
. "$prep/env"; rm -rf "$prep"
exec bash "$VSB_DIR/sandbox.sh" run --timeout 3000 --scratch 1024 --cwd "$root" \
  --env "VSB_VMLINUZ=$VMLINUZ" --env "ISO=$ISO" --env "SINITRD=$STORAGE_INITRD" \
  --env "RUNS=${1:-3}" --env "VSB_BUILD=$root/build" -- bash -c '
. tests/sandbox/lib/vm.sh
QD=(-L /usr/share/qemu -L /usr/share/seabios -L /usr/lib/ipxe/qemu)
img=$VSB_SCRATCH/bench.raw; truncate -s 512M $img
dd if=/dev/urandom of=$img bs=1M count=512 conv=notrunc status=none
boot() {  # boot LOG MARKER-EXIT VMM ARGS...: sets VM_MARKER_S
  local log=$1 until=$2; shift 2
  vsb_boot $log --timeout 600 --first-output 120 --silence 200 --marker VTEST-INIT \
    --exit-after "$until" --exit-grace 30 -- "$@"
}
for run in $(seq 1 $RUNS); do
  for vmm in vireo qemu; do
    vsb_vmm_cmd $vmm || { echo "$VMM_ERR" >&2; exit 1; }
    extra=(); [ $vmm = qemu ] && extra=("${QD[@]}")
    disk=/tmp/disk-$vmm.qcow2; rm -f $disk; qemu-img create -q -f qcow2 $disk 64M
    boot /tmp/iso-$vmm-$run.log VTEST-DONE "${VMM_CMD[@]}" "${extra[@]}" -m 512 \
      -cdrom $ISO -hda $disk -boot d
    echo "$vmm iso-boot $(awk "BEGIN{printf \"%d\", ${VM_MARKER_S:-0} * 1000}")"
    boot /tmp/disk-$vmm-$run.log VTEST-DONE "${VMM_CMD[@]}" "${extra[@]}" -m 512 -hda $disk
    echo "$vmm disk-boot $(awk "BEGIN{printf \"%d\", ${VM_MARKER_S:-0} * 1000}")"
    for aio in threads io_uring; do
      [ $vmm = vireo ] && [ $aio = threads ] && continue
      cfg=$vmm; [ $vmm = qemu ] && cfg=qemu-$aio
      a=; [ $vmm = qemu ] && a=,aio=$aio
      log=/tmp/bench-$cfg-$run.log
      boot $log VTEST-DONE "${VMM_CMD[@]}" "${extra[@]}" -m 512 \
        -drive file=$img,format=raw,if=ide,index=0,cache=none$a -cdrom $ISO \
        -kernel "$VSB_VMLINUZ" -initrd "$SINITRD" -append "console=ttyS0 quiet vtest=idebench"
      grep "^VTEST-RESULT ok bench-[a-z0-9-]*: [0-9]* ms" $log | \
        sed "s/^VTEST-RESULT ok bench-/$cfg /; s/: / /; s/ ms//"
      grep -m1 "bench-config" $log >&2
    done
  done
done > /tmp/rows.txt
cat /tmp/rows.txt >&2
python3 - /tmp/rows.txt <<PY
import statistics, sys
d = {}
for l in open(sys.argv[1]):
    p = l.split()
    if len(p) == 3 and p[2].isdigit() and int(p[2]) > 0:
        d.setdefault(p[1], {}).setdefault(p[0], []).append(int(p[2]))
def med(r, k): return statistics.median(r[k]) if k in r else None
print("| storage (medians, ms) | vireo | qemu | ratio |")
print("|---|---|---|---|")
for name in ("iso-boot", "disk-boot"):
    r = d.get(name, {}); v, q = med(r, "vireo"), med(r, "qemu")
    print("| exec to init, %s | %s | %s | %s |" % (name, v, q,
          "%.2fx of QEMU" % (v / q) if v and q else "-"))
size = {"ide-seqread-1m": "256 MiB", "ide-randread-4k": "8192 x 4 KiB",
        "atapi-seqread-64k": "whole ISO"}
for name in size:
    r = d.get(name, {}); v = med(r, "vireo")
    qs = {k: med(r, k) for k in ("qemu-threads", "qemu-io_uring") if k in r}
    if not v or not qs:
        print("| %s | missing |" % name); continue
    best = min(qs, key=qs.get)
    print("| guest %s (%s) | %d | %d (%s) | %.2fx QEMU speed |" % (name, size[name], v,
          qs[best], best, qs[best] / v))
PY
'
