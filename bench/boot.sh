#!/usr/bin/env bash
# Benchmark (not a test): boot-to-init time and VMM memory overhead, Vireo vs QEMU,
# inside the nested-KVM sandbox (tests/sandbox/). Interleaved runs of:
#   vireo -M pc | qemu -M pc | qemu -M microvm | qemu -M microvm,rtc=on
# each booting Debian's kernel + the sandbox's busybox initramfs (vtest=marker: init
# prints "VTEST-INIT" first thing, idles 2 s, powers off).
#   bench/boot.sh [RUNS]           (default 5 runs of each, after one warm-up each)
# Env: VIREO=path/to/vireo (default build/vireo), BENCH_MEM (MiB, default 256),
#      BENCH_SMP (default 1), BENCH_VMMS (subset, e.g. "qemu-pc qemu-microvm"; also
#      "vireo-pc-nocio": Vireo with coalesced I/O off), BENCH_QUIET ("" for a verbose
#      console boot; default "quiet").
# Method: docs/performance.md, section "Boot (issue 2)".
set -uo pipefail
{ # (parsed whole before it runs: editing this file mid-run cannot break a run)
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
. "$root/tests/sandbox/lib/common.sh"
vsb_ensure_setup
initrd=$(vsb_inner_initrd) || vsb_die "cannot build the inner initramfs"
vireo=${VIREO:-$root/build/vireo}
rw=()
case $vireo in "$root"/*) ;; *) [ -e "$vireo" ] && rw=(--rw "$(dirname "$vireo")") ;; esac
exec bash "$VSB_DIR/sandbox.sh" run "${rw[@]}" --timeout 1500 --cwd "$root" \
  --env "VSB_VMLINUZ=$VMLINUZ" --env "VSB_INITRD=$initrd" --env "VIREO=$vireo" \
  --env "BENCH_RUNS=${1:-5}" --env "BENCH_MEM=${BENCH_MEM:-256}" --env "BENCH_SMP=${BENCH_SMP:-1}" \
  --env "BENCH_QUIET=${BENCH_QUIET-quiet}" \
  --env "BENCH_VMMS=${BENCH_VMMS:-vireo-pc qemu-pc qemu-microvm qemu-microvm-rtc}" \
  -- bash "$here/lib/boot-inner.sh"
exit
}
