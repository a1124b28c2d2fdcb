#!/usr/bin/env bash
# Benchmark (not a test): boot-to-init time and VMM memory overhead, Vireo vs QEMU,
# inside the nested-KVM sandbox (tests/sandbox/). Interleaved runs of:
#   vireo-cold   vireo -M pc, first boot of the kernel file: an empty kernel cache
#                (a fresh XDG_CACHE_HOME every run; the guest runs its decompressor)
#   vireo-warm   vireo -M pc, the kernel cache filled by the warm-up boot (KASLR kept)
#   qemu-pc      qemu -M pc -kernel bzImage (SeaBIOS, the guest's decompressor)
#   qemu-pc-pvh  qemu -M pc -kernel vmlinux: the same kernel uncompressed, entered through
#                its PVH note (vmlinux extracted from the bzImage's payload)
# each booting Debian's kernel + the sandbox's busybox initramfs (vtest=marker: init
# prints "VTEST-INIT" first thing, idles 2 s, powers off).
#   bench/boot.sh [RUNS]           (default 5 runs of each, after one warm-up each)
# Env: VIREO=path/to/vireo (default build/vireo), BENCH_MEM (MiB, default 256),
#      BENCH_SMP (default 1), BENCH_VMMS (subset or others: "qemu-microvm",
#      "qemu-microvm-rtc", "vireo-pvh" (Vireo booting the vmlinux), "vireo-nocio"
#      (warm, coalesced I/O off)), BENCH_QUIET ("" for a verbose console boot).
# Method: docs/performance.md, section "Boot".
set -uo pipefail
{ # (parsed whole before it runs: editing this file mid-run cannot break a run)
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
. "$root/tests/sandbox/lib/common.sh"
vsb_ensure_setup
initrd=$(vsb_inner_initrd) || vsb_die "cannot build the inner initramfs"
# The uncompressed kernel for the PVH rows: the bzImage's payload, decompressed (an ELF
# with the relocation tables appended; loaders read the program headers only).
vmlinux=$VSB_CACHE/vmlinux-$KVER
if [ ! -s "$vmlinux" ]; then
  python3 -I - "$VMLINUZ" "$vmlinux.tmp" <<'PY' && mv "$vmlinux.tmp" "$vmlinux" || vsb_die "cannot extract vmlinux"
import lzma, struct, sys
b = open(sys.argv[1], "rb").read()
setup = ((b[0x1f1] or 4) + 1) * 512
off, ln = struct.unpack_from("<II", b, 0x248)
open(sys.argv[2], "wb").write(lzma.LZMADecompressor().decompress(b[setup + off:setup + off + ln]))
PY
fi
vireo=${VIREO:-$root/build/vireo}
rw=()
case $vireo in "$root"/*) ;; *) [ -e "$vireo" ] && rw=(--rw "$(dirname "$vireo")") ;; esac
exec bash "$VSB_DIR/sandbox.sh" run "${rw[@]}" --timeout 2400 --cwd "$root" \
  --env "VSB_VMLINUZ=$VMLINUZ" --env "VSB_VMLINUX=$vmlinux" --env "VSB_INITRD=$initrd" \
  --env "VIREO=$vireo" \
  --env "BENCH_RUNS=${1:-5}" --env "BENCH_MEM=${BENCH_MEM:-256}" --env "BENCH_SMP=${BENCH_SMP:-1}" \
  --env "BENCH_QUIET=${BENCH_QUIET-quiet}" \
  --env "BENCH_VMMS=${BENCH_VMMS:-vireo-cold vireo-warm qemu-pc qemu-pc-pvh}" \
  -- bash "$here/lib/boot-inner.sh"
exit
}
