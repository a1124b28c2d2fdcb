#!/usr/bin/env bash
# vsb-timeout: 900
# PCI hotplug on the pc machine (ACPI PCI hotplug, QEMU's PIIX4 interface) seen by the
# guest's own acpiphp, for Vireo and (to prove the test) Debian's QEMU 7.2 with the same
# command line: a running Linux guest (Debian kernel, busybox initramfs) with no disk
# and no NIC gets, through QMP as libvirt's attach-device/detach-device send it
# (lib/hotplugpeer.py, on "VTEST-WAIT hp STEP" lines of the guest, guest/tests/hotplug.sh):
#   blockdev-add + device_add virtio-blk-pci: a new disk, its first sector read;
#   device_del: DEVICE_DELETED once the guest ejected, the disk gone; blockdev-del;
#   netdev_add user + device_add virtio-net-pci, then e1000: the interface, its driver,
#   a DHCP lease from slirp, a ping; device_del: DEVICE_DELETED, gone; netdev_del.
# /sys/bus/pci/slots shows the slots acpiphp registered (3: the first free one).
{ # (parsed whole before it runs: editing this file mid-run cannot break a run)
. "$VSB_LIB/vm.sh"
. "$VSB_LIB/netinitrd.sh"
W=$VSB_WORK
MARKER=VIREO-HOTPLUG-DISK-5f3a9c
APPEND="console=ttyS0 quiet panic=-1 vtest=hotplug vtest.marker=$MARKER vtest.wait=60"
initrd=$W/hotplug.cpio.gz
if ! net_initrd "$initrd" 2> "$VSB_LOGDIR/initrd.err"; then
  tap 1 "inner initramfs" "$(tail -n 3 "$VSB_LOGDIR/initrd.err")"; exit 0
fi
disk=$W/disk.raw
printf '%s' "$MARKER" > "$disk" && truncate -s 1M "$disk"

GUEST_KEYS="slots
disk: seen
disk: read
disk: gone
disk: pci-gone
virtio-net: seen
virtio-net: dhcp
virtio-net: ping
virtio-net: gone
virtio-net: pci-gone
e1000: seen
e1000: dhcp
e1000: ping
e1000: gone
e1000: pci-gone"
PEER_STEPS="add-disk del-disk add-virtio-net del-virtio-net add-e1000 del-e1000"

# report VMM LOG RESULTS: a TAP line per guest check, per QMP step, and for the exit.
report() {
  local vmm=$1 log=$2 res=$3 why k line st
  why=$(vsb_why "$log")
  while IFS= read -r k; do
    line=$(grep -m1 "^VTEST-RESULT [a-z]* $k:" "$log")
    case $line in
      "VTEST-RESULT ok "*) tap 0 "$vmm: $k" "${line#VTEST-RESULT ok $k: }" ;;
      "VTEST-RESULT fail "*) tap 1 "$vmm: $k" "${line#VTEST-RESULT fail $k: }" ;;
      *) tap 1 "$vmm: $k" "the guest did not report this check" "$why" ;;
    esac
  done <<< "$GUEST_KEYS"
  for k in $PEER_STEPS; do
    line=$(grep -m1 -E "^(ok|fail) $k:" "$res")
    case $line in
      "ok "*) tap 0 "$vmm: qmp: $k" "${line#ok $k: }" ;;
      "fail "*) tap 1 "$vmm: qmp: $k" "${line#fail $k: }" ;;
      *) tap 1 "$vmm: qmp: $k" "the guest never asked for it" "$why" ;;
    esac
  done
  if grep -q '^VTEST-DONE' "$log" && [ "$VM_REASON" = exited ] && [ "$VM_RC" = 0 ]; then
    tap 0 "$vmm: guest powered off, exit 0"
  else
    tap 1 "$vmm: guest powered off, exit 0" "$why"
  fi
}

hotplug_case() {  # VMM
  local vmm=$1 log=$VSB_LOGDIR/$1.log res=$W/$1.res qmp=$W/qmp-$1.sock peer
  : > "$res"
  if ! vsb_vmm_cmd "$vmm"; then tap 1 "$vmm: start" "$VMM_ERR"; return; fi
  rm -f "$log" "$qmp"
  python3 -I "$VSB_LIB/hotplugpeer.py" --log "$log" --out "$res" --qmp "$qmp" \
    --disk "$disk" --timeout 500 2> "$log.peer" &
  peer=$!
  vsb_boot "$log" --timeout 500 --first-output 150 --silence 150 --marker VTEST-INIT \
    --exit-after VTEST-DONE --exit-grace 20 -- \
    "${VMM_CMD[@]}" -m 512 -smp 2 -qmp "unix:$qmp,server=on,wait=off" \
    -kernel "$VSB_VMLINUZ" -initrd "$initrd" -append "$APPEND"
  local n=0
  while kill -0 "$peer" 2>/dev/null && [ $n -lt 20 ]; do sleep 0.5; n=$((n + 1)); done
  kill "$peer" 2>/dev/null; wait "$peer" 2>/dev/null
  cp "$res" "$VSB_LOGDIR/$vmm.qmp-steps"
  report "$vmm" "$log" "$res"
}

for vmm in ${VSB_BOOT_VMMS:-vireo qemu}; do
  t0=$(date +%s)
  hotplug_case "$vmm"
  echo "# $vmm: $(( $(date +%s) - t0 )) s (VTEST-INIT after ${VM_MARKER_S:-?} s)" >&2
done
exit
}
