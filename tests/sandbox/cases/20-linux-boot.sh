#!/usr/bin/env bash
# vsb-timeout: 600
# Issue #2: Debian's linux-image-amd64 kernel + busybox initramfs booted by a VMM,
# -smp 2 -m 512: CPUs, memory, ACPI, PCI host bridge, RTC, poweroff exit status;
# `reboot` (two boots, counted in CMOS NVRAM) and -no-reboot. Runs for each VMM in
# $VSB_BOOT_VMMS (default "vireo qemu"; qemu = Debian's, the harness self-test).
{ # (parsed whole before it runs: editing this file mid-run cannot break a run)
. "$VSB_LIB/vm.sh"
MEM=512 SMP=2
BASE_APPEND="console=ttyS0 quiet panic=-1"

# guest_result LOG KEY: 0 if the guest reported "VTEST-RESULT ok KEY...", 1 if fail,
# 2 if nothing; sets $line to the guest's line.
guest_result() {
  line=$(grep -m1 "^VTEST-RESULT [a-z]* $2" "$1")
  case $line in "VTEST-RESULT ok "*) return 0 ;; "VTEST-RESULT fail "*) return 1 ;; *) return 2 ;; esac
}

boot_case() {  # boot_case VMM -> sets boot_ok
  local vmm=$1 log=$VSB_LOGDIR/$1-boot.log key why
  boot_ok=0
  if ! vsb_vmm_cmd "$vmm"; then
    for key in cpus memory acpi pci rtc i8042 serial "poweroff exits 0"; do tap 1 "$vmm: boot: $key" "$VMM_ERR"; done
    return
  fi
  vsb_boot "$log" --timeout 120 --first-output 60 --silence 60 --mem $MEM \
    --marker VTEST-INIT --exit-after VTEST-DONE --exit-grace 20 -- \
    "${VMM_CMD[@]}" -m $MEM -smp $SMP -kernel "$VSB_VMLINUZ" -initrd "$VSB_INITRD" \
    -append "$BASE_APPEND vtest=boot vtest.cpus=$SMP vtest.mem=$MEM vtest.time=@NOW@"
  why=$(vsb_why "$log")
  echo "# $vmm boot: init marker after ${VM_MARKER_S:-never}s, VMM exited after ${VM_ELAPSED}s"
  for c in cpus memory acpi pci rtc i8042 serial; do
    guest_result "$log" "$c:"
    case $? in
      0) tap 0 "$vmm: boot: $c" "${line#VTEST-RESULT ok }" ;;
      1) tap 1 "$vmm: boot: $c" "${line#VTEST-RESULT fail }" ;;
      *) tap 1 "$vmm: boot: $c" "the guest did not report this check" "$why" ;;
    esac
  done
  if grep -q '^VTEST-DONE' "$log" && [ "$VM_REASON" = exited ] && [ "$VM_RC" = 0 ]; then
    tap 0 "$vmm: boot: poweroff exits 0"; boot_ok=1
  else
    tap 1 "$vmm: boot: poweroff exits 0" "$why"
    [ "${VM_MARKER_COUNT:-0}" -gt 0 ] && boot_ok=1   # it booted: the reboot cases are still worth running
  fi
}

reboot_case() {  # VMM: `reboot` must reset the machine and boot the guest again
  local vmm=$1 log=$VSB_LOGDIR/$1-reboot.log name="$1: reboot boots the guest twice" n
  vsb_vmm_cmd "$vmm" || { tap 1 "$name" "$VMM_ERR"; return; }
  vsb_boot "$log" --timeout 180 --first-output 60 --silence 60 \
    --marker VTEST-INIT --exit-after VTEST-DONE --exit-grace 20 -- \
    "${VMM_CMD[@]}" -m $MEM -smp $SMP -kernel "$VSB_VMLINUZ" -initrd "$VSB_INITRD" \
    -append "$BASE_APPEND vtest=reboot"
  n=$VM_MARKER_COUNT
  if [ "$n" = 2 ] && grep -q '^VTEST-BOOT 1 ' "$log" && grep -q '^VTEST-BOOT 2 ' "$log" \
     && grep -q '^VTEST-RESULT ok second boot' "$log" && [ "$VM_REASON" = exited ] && [ "$VM_RC" = 0 ]; then
    tap 0 "$name" "2 boots in ${VM_ELAPSED}s"
  else
    tap 1 "$name" "inits seen: $n; boots: $(grep '^VTEST-BOOT' "$log" | tr '\n' ';')" "$(vsb_why "$log")"
  fi
}

noreboot_case() {  # VMM with -no-reboot: the guest's reboot ends the VMM with status 0
  local vmm=$1 log=$VSB_LOGDIR/$1-noreboot.log name="$1: -no-reboot exits 0 on guest reboot" n
  vsb_vmm_cmd "$vmm" || { tap 1 "$name" "$VMM_ERR"; return; }
  vsb_boot "$log" --timeout 120 --first-output 60 --silence 60 \
    --marker VTEST-INIT --exit-after 'VTEST-BOOT 1 ' --exit-grace 30 -- \
    "${VMM_CMD[@]}" -no-reboot -m $MEM -smp $SMP -kernel "$VSB_VMLINUZ" -initrd "$VSB_INITRD" \
    -append "$BASE_APPEND vtest=reboot"
  n=$VM_MARKER_COUNT
  if [ "$n" = 1 ] && grep -q '^VTEST-BOOT 1 ' "$log" && [ "$VM_REASON" = exited ] && [ "$VM_RC" = 0 ]; then
    tap 0 "$name" "exited after ${VM_ELAPSED}s"
  else
    tap 1 "$name" "inits seen: $n (want 1)" "$(vsb_why "$log")"
  fi
}

for vmm in ${VSB_BOOT_VMMS:-vireo qemu}; do
  boot_case "$vmm"
  if [ "$boot_ok" = 1 ]; then
    reboot_case "$vmm"
    noreboot_case "$vmm"
  else
    tap 1 "$vmm: reboot boots the guest twice" "not attempted: the guest never started under $vmm (see the boot case)"
    tap 1 "$vmm: -no-reboot exits 0 on guest reboot" "not attempted: the guest never started under $vmm (see the boot case)"
  fi
done
exit
}
