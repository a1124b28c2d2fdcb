#!/usr/bin/env bash
# vsb-timeout: 300
# virtio devices driven by the guest's own Linux drivers (modern virtio-pci, MSI-X).
# Runs for each VMM in $VSB_BOOT_VMMS (default "vireo qemu"; qemu = Debian's, the harness
# self-test: QEMU's devices are transitional by default, so they get disable-legacy=on).
{ # (parsed whole before it runs: editing this file mid-run cannot break a run)
. "$VSB_LIB/vm.sh"
APPEND="console=ttyS0 quiet panic=-1"

tap() {  # tap 0|1 NAME [diagnostic lines...]
  local st=$1 name=$2; shift 2
  if [ "$st" = 0 ]; then echo "ok - $name"; else echo "not ok - $name"; fi
  local d; for d in "$@"; do [ -n "$d" ] && echo "# $d"; done
}

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

for vmm in ${VSB_BOOT_VMMS:-vireo qemu}; do
  legacy=; [ "$vmm" = qemu ] && legacy=,disable-legacy=on
  guest_case "$vmm" virtio-rng "rng-pci rng-driver rng-hwrng rng-read rng-entropy rng-msix" \
    virtio-rng -- -device "virtio-rng-pci$legacy"
  # Without MSI: INTx and the ISR register (read-to-clear) carry the interrupts.
  EXTRA=pci=nomsi guest_case "$vmm" virtio-rng "rng-driver rng-read rng-entropy rng-intx" \
    virtio-rng-intx -- -device "virtio-rng-pci$legacy"
done
exit
}
