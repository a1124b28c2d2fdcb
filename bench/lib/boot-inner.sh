#!/usr/bin/env bash
# Inside the sandbox: the runs of bench/boot.sh. Prints raw rows and the table.
set -uo pipefail
{ # (parsed whole before it runs: editing this file mid-run cannot break a run)
lib=$(cd "$(dirname "$0")" && pwd)
vsblib=$(cd "$lib/../../tests/sandbox/lib" && pwd)
work=$(mktemp -d /tmp/bench-boot.XXXXXX)
mem=$BENCH_MEM smp=$BENCH_SMP
append="console=ttyS0 ${BENCH_QUIET-quiet} panic=-1 vtest=marker"
raw=$work/raw.txt; : > "$raw"
# Our own copy: parallel sandbox runs of other checkouts may replace the cached image.
cp "$VSB_INITRD" "$work/initrd" && VSB_INITRD=$work/initrd

cmd_for() {  # sets CMD (and CACHE, the kernel cache of Vireo rows) for a configuration
  local kernel=$VSB_VMLINUZ run=$2
  CACHE=$work/cache-warm
  case $1 in
    vireo-cold) CMD=("$VIREO" -machine pc -accel kvm -cpu host -nographic -nic none)
                CACHE=$work/cache-cold-$run ;;               # empty: the first boot
    vireo-warm) CMD=("$VIREO" -machine pc -accel kvm -cpu host -nographic -nic none) ;;
    vireo-nocio) CMD=("$VIREO" -machine pc -accel kvm,x-coalesced-io=off -cpu host -nographic -nic none) ;;
    vireo-pvh) CMD=("$VIREO" -machine pc -accel kvm -cpu host -nographic -nic none); kernel=$VSB_VMLINUX ;;
    qemu-pc) CMD=(qemu-system-x86_64 -machine pc -accel kvm -cpu host -nographic -nic none) ;;
    qemu-pc-pvh) CMD=(qemu-system-x86_64 -machine pc -accel kvm -cpu host -nographic -nic none)
                 kernel=$VSB_VMLINUX ;;
    qemu-microvm) CMD=(qemu-system-x86_64 -machine microvm -accel kvm -cpu host -nographic -nic none) ;;
    qemu-microvm-rtc) CMD=(qemu-system-x86_64 -machine microvm,rtc=on -accel kvm -cpu host -nographic -nic none) ;;
  esac
  CMD+=(-m "$mem" -smp "$smp" -kernel "$kernel" -initrd "$VSB_INITRD" -append "$append")
}

one() {  # one CONFIG RUN: appends a raw row
  local cfg=$1 run=$2 out
  if [[ $cfg = vireo-* ]] && [ ! -x "$VIREO" ]; then
    echo "$cfg $run fail:not-built - - - - - -" >> "$raw"; return
  fi
  cmd_for "$cfg" "$run"
  out=$(XDG_CACHE_HOME=$CACHE python3 -I "$vsblib/vmrun.py" --log "$work/$cfg-$run.log" \
        --timeout 240 --first-output 150 --silence 150 --marker VTEST-INIT --mem "$mem" -- "${CMD[@]}")
  eval "$out"
  local st=ok
  [ -n "$VM_MARKER_S" ] || st="fail:$VM_REASON,rc=$VM_RC"
  echo "$cfg $run $st ${VM_MARKER_S:--} ${VM_OVERHEAD_KB:--} ${VM_PRIV_OVERHEAD_KB:--} ${VM_TEXT_KB:--} ${VM_RSS_KB:--} ${VM_ELAPSED:--}" >> "$raw"
  echo "# $cfg run $run: init after ${VM_MARKER_S:-never}s, exit after ${VM_ELAPSED:-?}s, VmRSS ${VM_RSS_KB:-?} KiB," \
       "guest RAM ${VM_RAM_RSS_KB:-?} KiB, overhead ${VM_OVERHEAD_KB:-?} KiB (exit: $VM_REASON $VM_RC)"
  if [ "$st" != ok ]; then tail -n 3 "$work/$cfg-$run.log" "$work/$cfg-$run.log.err" 2>/dev/null | sed 's/^/#   /'; fi
  [[ $cfg = vireo-cold ]] && rm -rf "$CACHE"
}

echo "# boot bench: -m $mem -smp $smp, $BENCH_RUNS runs each after a warm-up; $(uname -r) in the sandbox"
for cfg in $BENCH_VMMS; do one "$cfg" 0; done      # warm-up: binaries into the page cache,
                                                   # and vireo-warm's kernel cache filled
for run in $(seq 1 "$BENCH_RUNS"); do
  for cfg in $BENCH_VMMS; do one "$cfg" "$run"; done
done
awk '$2 != 0' "$raw" > "$work/runs.txt"
python3 -I "$lib/boottable.py" "$work/runs.txt" "$mem"
rm -rf "$work"
exit
}
