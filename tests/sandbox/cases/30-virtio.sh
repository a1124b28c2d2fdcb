#!/usr/bin/env bash
# vsb-timeout: 300
# virtio devices driven by the guest's own Linux drivers (modern virtio-pci, MSI-X).
# Runs for each VMM in $VSB_BOOT_VMMS (default "vireo qemu"; qemu = Debian's, the harness
# self-test: QEMU's devices are transitional by default, so they get disable-legacy=on).
{ # (parsed whole before it runs: editing this file mid-run cannot break a run)
. "$VSB_LIB/vm.sh"
APPEND="console=ttyS0 quiet panic=-1"

# guest_case VMM TEST "KEYS" LABEL -- EXTRA VMM ARGS: boots vtest=TEST (plus $EXTRA on the
# kernel command line), one TAP line per key, named "VMM: LABEL: KEY".
guest_case() {
  local vmm=$1 test=$2 keys=$3 label=$4 log=$VSB_LOGDIR/$1-$4.log line k why; shift 5
  if ! vsb_vmm_cmd "$vmm"; then
    for k in $keys; do tap 1 "$vmm: $label: $k" "$VMM_ERR"; done; return
  fi
  vsb_boot "$log" --timeout 120 --first-output 60 --silence 60 \
    --marker VTEST-INIT --exit-after VTEST-DONE --exit-grace 20 -- \
    "${VMM_CMD[@]}" -m 256 "$@" -kernel "$VSB_VMLINUZ" -initrd "$VSB_INITRD" \
    -append "$APPEND ${EXTRA:-} vtest=$test"
  why=$(vsb_why "$log")
  for k in $keys; do
    line=$(grep -m1 "^VTEST-RESULT [a-z]* $k:" "$log")
    case $line in
      "VTEST-RESULT ok "*) tap 0 "$vmm: $label: $k" "${line#VTEST-RESULT ok }" ;;
      "VTEST-RESULT fail "*) tap 1 "$vmm: $label: $k" "${line#VTEST-RESULT fail }" ;;
      *) tap 1 "$vmm: $label: $k" "the guest did not report this check" "$why" ;;
    esac
  done
  if grep -q '^VTEST-DONE' "$log" && [ "$VM_REASON" = exited ] && [ "$VM_RC" = 0 ]; then
    tap 0 "$vmm: $label: guest powered off, exit 0"
  else
    tap 1 "$vmm: $label: guest powered off, exit 0" "$why"
  fi
}

# virtio-blk: images made by qemu-img/qemu-io, read and written by the guest, checked
# afterwards by qemu-io (the guest's write is there) and qemu-img check (no corruption).
blk_case() {
  local vmm=$1 work d r; work=$(mktemp -d /tmp/vblk.XXXXXX); d=$work/d.qcow2; r=$work/r.raw
  qemu-img create -q -f qcow2 "$d" 64M && qemu-io -c "write -P 0x5a 1M 1M" "$d" >/dev/null &&
    qemu-img create -q -f raw "$r" 8M && qemu-io -f raw -c "write -P 0x33 0 8M" "$r" >/dev/null ||
    { tap 1 "$vmm: virtio-blk: images" "qemu-img/qemu-io failed"; return; }
  guest_case "$vmm" virtio-blk \
    "blk-size blk-read blk-zero blk-write blk-ro blk-raw blk-ro-write blk-serial" virtio-blk -- \
    -drive "file=$d,if=virtio" -drive "file=$r,format=raw,if=none,id=r,readonly=on" \
    -device "virtio-blk-pci,drive=r,serial=VIREO-RO-1"
  local out name="$vmm: virtio-blk: the guest's write is in the image (qemu-io)"
  out=$(qemu-io -c "read -P 0xa5 4M 1M" "$d" 2>&1)
  if [[ $out == *"read 1048576/1048576"* && $out != *failed* ]]; then tap 0 "$name"
  else tap 1 "$name" "$out"; fi
  out=$(qemu-img check "$d" 2>&1)
  case $out in *"No errors were found"*) tap 0 "$vmm: virtio-blk: qemu-img check after the guest" ;;
    *) tap 1 "$vmm: virtio-blk: qemu-img check after the guest" "$out" ;; esac
  rm -rf "$work"
}

for vmm in ${VSB_BOOT_VMMS:-vireo qemu}; do
  blk_case "$vmm"
  legacy=; [ "$vmm" = qemu ] && legacy=,disable-legacy=on
  guest_case "$vmm" virtio-rng "rng-pci rng-driver rng-hwrng rng-read rng-entropy rng-msix" \
    virtio-rng -- -device "virtio-rng-pci$legacy"
  # Without MSI: INTx and the ISR register (read-to-clear) carry the interrupts.
  EXTRA=pci=nomsi guest_case "$vmm" virtio-rng "rng-driver rng-read rng-entropy rng-intx" \
    virtio-rng-intx -- -device "virtio-rng-pci$legacy"
done
exit
}
