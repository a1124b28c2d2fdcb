#!/usr/bin/env bash
# Benchmark (not a test): live migration and restore from a file (issue 12), Vireo vs
# Debian's QEMU 7.2 in the same run, inside the nested-KVM sandbox. The guest: Debian's
# kernel + a busybox initramfs running build/tests/migload (the guest workload of
# tests/sandbox/cases/80-migration.sh), driven by bench/lib/migrate_bench.py through
# tests/sandbox/lib/migtest.py's VM/QMP classes. Both VMMs: max-bandwidth 512 MiB/s,
# downtime-limit 300 ms; destinations -incoming defer + the same settings +
# migrate-incoming on a unix socket. Legs:
#   idle     a guest dirtying nothing: single stream, then multifd (2 channels)
#   dirty    a guest dirtying min(256, GUEST_MB/4) MiB round robin at 50 MiB/s: same
#   restore  process start to init on a boot, vs process start to running again on a
#            restore of a stopped VM saved to a file (Vireo file:, QEMU exec:cat);
#            cold (page cache dropped) and warm
# Reports total-time, downtime, setup-time (query-migrate on the source), the guest's
# pause seen on its serial console, and vireo/qemu ratios (lower is better).
#   [ONLY=idle,dirty,restore] [RUNS=1] [GUEST_MB=1024] bench/migrate.sh
# RUNS: interleaved runs (vireo then qemu for each leg), medians. Exit 0 when every run
# completed, 1 when a VMM failed a leg (said at the end), 2 on a setup error.
# Logs (consoles, VMM stderr): build/bench-migrate-logs/.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
. "$root/tests/sandbox/lib/common.sh"
vsb_ensure_setup
ONLY=${ONLY:-idle,dirty,restore} RUNS=${RUNS:-1} GUEST_MB=${GUEST_MB:-1024}
case $RUNS in ''|*[!0-9]*|0) vsb_die "RUNS must be a positive number" ;; esac
case $GUEST_MB in ''|*[!0-9]*) vsb_die "GUEST_MB must be a number (MiB)" ;; esac
[ -x "$root/build/vireo" ] || vsb_die "build/vireo is missing (ninja -C build)"
[ -x "$root/build/tests/migload" ] || vsb_die "build/tests/migload is missing (ninja -C build)"
command -v qemu-system-x86_64 >/dev/null || vsb_die "qemu-system-x86_64 is missing"
logs=$root/build/bench-migrate-logs
rm -rf "$logs"; mkdir -p "$logs"
initrd=$logs/migrate.cpio.gz
bash "$VSB_DIR/mkinitrd.sh" -o "$initrd" -k "$MODDIR" -f "$root/build/tests/migload:/bin/migload" \
  >"$logs/mkinitrd.log" 2>&1 || vsb_die "mkinitrd.sh failed: $(tail -n 3 "$logs/mkinitrd.log")"
# Two guests of GUEST_MB at once (source and destination) plus the outer system.
mem=$((2 * GUEST_MB + 2048)); [ $mem -lt 3072 ] && mem=3072
exec bash "$VSB_DIR/sandbox.sh" run --mem $mem --timeout $((900 + RUNS * 2400)) \
  --scratch $((GUEST_MB * 3 + 1024)) --cwd "$root" \
  --env "VSB_VMLINUZ=$VMLINUZ" --env "MIG_INITRD=$initrd" --env "ONLY=$ONLY" \
  --env "RUNS=$RUNS" --env "GUEST_MB=$GUEST_MB" --env "LOGS=$logs" -- bash -c '
# The kernel, initramfs and state files on the scratch disk (ext4 on virtio-blk): a cold
# boot or restore after drop_caches reads them from a disk, not from tmpfs.
d=$VSB_SCRATCH/migbench; mkdir -p $d
cp "$VSB_VMLINUZ" $d/vmlinuz && cp "$MIG_INITRD" $d/initrd.cpio.gz || exit 2
work=$(mktemp -d /tmp/migbench.XXXXXX)
python3 -I bench/lib/migrate_bench.py --vireo "$PWD/build/vireo" --kernel $d/vmlinuz \
  --initrd $d/initrd.cpio.gz --work $work --logdir "$LOGS" --scratch $d \
  --guest-mb "$GUEST_MB" --runs "$RUNS" --only "$ONLY" --rows "$LOGS/rows.jsonl"
'
