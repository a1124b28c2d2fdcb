#!/usr/bin/env bash
# vsb-timeout: 900
# Live migration, snapshots and restore (issue 12; lib/migtest.py says what is checked):
# one Linux guest running a memory-dirtying, disk-writing workload moves between Vireo
# processes over unix and tcp, with and without multifd and auto-converge; cancel, a
# killed destination, a corrupt stream and an extra device leave the source running;
# savevm/loadvm, migrate file: + -incoming file:, -loadvm. Then the basic unix
# migration with Debian's QEMU (the harness checked against a reference).
{ # (parsed whole before it runs: editing this file mid-run cannot break a run)
. "$VSB_LIB/vm.sh"
mig=$VSB_BUILD/tests/migload
initrd=$VSB_WORK/migrate.cpio.gz
if [ ! -x "$mig" ]; then
  tap 1 "migration: the guest workload" "$mig is not built (static linking unavailable?)"
  exit
fi
if ! bash "$VSB_ROOT/tests/sandbox/mkinitrd.sh" -o "$initrd" -k "$VSB_MODDIR" \
      -f "$mig:/bin/migload" >"$VSB_LOGDIR/mkinitrd.log" 2>&1; then
  tap 1 "migration: the guest initramfs" "$(tail -n 3 "$VSB_LOGDIR/mkinitrd.log")"
  exit
fi
for vmm in ${VSB_MIG_VMMS:-vireo qemu}; do
  mkdir -p "$VSB_WORK/$vmm"
  python3 -I "$VSB_LIB/migtest.py" --vmm "$vmm" --vireo "$VSB_BUILD/vireo" \
    --kernel "$VSB_VMLINUZ" --initrd "$initrd" --work "$VSB_WORK/$vmm" --logdir "$VSB_LOGDIR"
done
exit
}
