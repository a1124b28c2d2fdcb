#!/usr/bin/env bash
# vsb-timeout: 1080
# Live migration, snapshots and restore (issue 12; lib/migtest.py says what is checked):
# one Linux guest running a memory-dirtying, disk-writing workload moves between Vireo
# processes over unix and tcp, with and without multifd and auto-converge; cancel, a
# killed destination, a corrupt stream and an extra device leave the source running;
# savevm/loadvm, migrate file: + -incoming file:, -loadvm. Then the basic unix
# migration with Debian's QEMU (the harness checked against a reference).
# Every VMM process has a virtio-net-pci NIC (one MAC) on its own tap, all on bridge
# mbr0 in a network namespace where the harness runs: the guest keeps one TCP connection
# to the harness's echo service (192.168.90.1:5700) through every live migration.
# Then -netdev user (libslirp) across a live migration, Vireo and QEMU 7.2
# (lib/slirpmig.py): the guest's guestfwd connection goes on, its NAT'd one ends, the
# destination's own hostfwd serves, the source's hostfwd connection ends with it.
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
# The namespace: bridge mbr0 (192.168.90.1/24, the echo service's side), lo for the tcp:
# migrations; the ifup script puts each VMM's tap on the bridge.
NS=vsbmig
net_setup() {
  ip netns del $NS 2>/dev/null
  ip netns add $NS || return 1
  ip -n $NS link set lo up || return 1
  # a fixed MAC: a bridge without one takes its ports' lowest, which changes as taps
  # come and go, and the guest's ARP entry for the peer goes stale with it
  ip -n $NS link add mbr0 address 02:00:00:00:90:01 type bridge || return 1
  ip -n $NS addr add 192.168.90.1/24 dev mbr0 || return 1
  ip -n $NS link set mbr0 up || return 1
  printf '#!/bin/sh\nip link set "$1" master mbr0 && ip link set "$1" up\n' > "$VSB_WORK/ifup.sh"
  chmod +x "$VSB_WORK/ifup.sh"
}
run=() net=()
if net_setup > "$VSB_LOGDIR/net-setup.log" 2>&1; then
  run=(ip netns exec $NS) net=(--tap-script "$VSB_WORK/ifup.sh")
else
  tap 1 "migration: a network namespace with a bridge" "$(tail -n 3 "$VSB_LOGDIR/net-setup.log")"
fi
for vmm in ${VSB_MIG_VMMS:-vireo qemu}; do
  mkdir -p "$VSB_WORK/$vmm"
  "${run[@]}" python3 -I "$VSB_LIB/migtest.py" --vmm "$vmm" --vireo "$VSB_BUILD/vireo" \
    --kernel "$VSB_VMLINUZ" --initrd "$initrd" --work "$VSB_WORK/$vmm" --logdir "$VSB_LOGDIR" \
    "${net[@]}"
done
ip netns del $NS 2>/dev/null
for vmm in ${VSB_MIG_VMMS:-vireo qemu}; do
  mkdir -p "$VSB_WORK/slirp-$vmm"
  python3 -I "$VSB_LIB/slirpmig.py" --vmm "$vmm" --vireo "$VSB_BUILD/vireo" \
    --kernel "$VSB_VMLINUZ" --initrd "$initrd" --work "$VSB_WORK/slirp-$vmm" \
    --logdir "$VSB_LOGDIR"
done
exit
}
