#!/usr/bin/env bash
# vsb-timeout: 1500
# vsb-tier: full ISO install and IDE disk boots through SeaBIOS, ~20 min for both VMMs in the nested sandbox
# Issue #10: firmware boot (SeaBIOS through fw_cfg), IDE/ATAPI, drive options.
# Each scenario runs under Vireo and Debian's QEMU 7.2 (the harness self-test).
{ # (parsed whole before it runs)
. "$VSB_LIB/vm.sh"
MEM=512 SMP=2
BASE_APPEND="console=ttyS0 quiet panic=-1"
QEMU_DATA=(-L /usr/share/qemu -L /usr/share/seabios -L /usr/lib/ipxe/qemu)

guest_result() {
  line=$(grep -m1 "^VTEST-RESULT [a-z]* $2" "$1")
  case $line in "VTEST-RESULT ok "*) return 0 ;; "VTEST-RESULT fail "*) return 1 ;; *) return 2 ;; esac
}

# -kernel through SeaBIOS and linuxboot_dma.bin: fw_cfg items and DMA, the ACPI tables
# through the loader, etc/e820, PAM shadowing: the guest's own checks must all pass.
fwkernel_case() {  # fwkernel_case VMM [direct]
  local vmm=$1 log=$VSB_LOGDIR/$1-fwkernel${2:+-direct}.log c extra=() what="firmware -kernel boot"
  vsb_vmm_cmd "$vmm" || { tap 1 "$vmm: $what" "$VMM_ERR"; return; }
  if [ "$vmm" = vireo ]; then extra=(-machine kernel-boot=firmware); else extra=("${QEMU_DATA[@]}"); fi
  # direct: Vireo's default -kernel path with the same machine (PAM opened by the board,
  # ACPI and SMBIOS in the BIOS area, the default IDE CD-ROM present)
  [ -n "${2:-}" ] && extra=() && what="direct -kernel boot"
  vsb_boot "$log" --timeout 150 --first-output 60 --silence 60 \
    --marker VTEST-INIT --exit-after VTEST-DONE --exit-grace 20 -- \
    "${VMM_CMD[@]}" "${extra[@]}" -m $MEM -smp $SMP -kernel "$VSB_VMLINUZ" -initrd "$VSB_INITRD" \
    -append "$BASE_APPEND vtest=boot vtest.cpus=$SMP vtest.mem=$MEM vtest.time=@NOW@"
  echo "# $vmm $what: init after ${VM_MARKER_S:-never}s, exit after ${VM_ELAPSED}s"
  local bad=()
  for c in cpus memory acpi pci rtc; do
    guest_result "$log" "$c:" || bad+=("$c: ${line:-no report}")
  done
  local fw=1; [ -n "${2:-}" ] || grep -q SeaBIOS "$log" || fw=
  if [ ${#bad[@]} = 0 ] && [ -n "$fw" ] && [ "$VM_REASON" = exited ] && [ "$VM_RC" = 0 ]; then
    tap 0 "$vmm: $what passes the guest's checks"
  else
    tap 1 "$vmm: $what passes the guest's checks" "${bad[@]}" "$(vsb_why "$log")"
  fi
}

# ---- install media: the ISO from 60-storage.prep (built natively before the sandbox
# booted: Debian's isolinux, this kernel, a busybox initramfs with ata_piix/sr/ext4/
# virtio modules, extlinux and its MBR) ----
ST=$VSB_WORK/storage
mkdir -p "$ST"
ISO= ISOSUM=
[ -f "${VSB_PREP:-/nonexistent}/60-storage/env" ] && . "$VSB_PREP/60-storage/env"
if [ ! -f "$ISO" ]; then
  tap 1 "storage: install ISO prepared" "60-storage.prep did not build it (xorriso, isolinux, extlinux: scripts/install-deps.sh --test)"
fi
echo "# ISO: $(stat -c %s "$ISO" 2>/dev/null) bytes"

# check_results LOG NAME KEYS...: every guest check KEY reported ok, VMM exited 0.
check_results() {
  local log=$1 name=$2 bad=() k; shift 2
  for k in "$@"; do guest_result "$log" "$k:" || bad+=("$k: ${line:-no report}"); done
  if [ ${#bad[@]} = 0 ] && [ "$VM_REASON" = exited ] && [ "$VM_RC" = 0 ]; then
    tap 0 "$name" "init after ${VM_MARKER_S:-?}s, exit after ${VM_ELAPSED}s"
  else
    tap 1 "$name" "${bad[@]}" "$(vsb_why "$log")"
  fi
}

img_check() {  # img_check VMM WHEN DISK
  local out
  if out=$(qemu-img check "$3" 2>&1); then tap 0 "$1: qemu-img check clean after $2"
  else tap 1 "$1: qemu-img check clean after $2" "$(echo "$out" | tail -n 3 | tr '\n' ' ')"; fi
}

storage_case() {
  local vmm=$1 extra=() disk=$ST/disk-$1.qcow2 log sum1 sum2
  vsb_vmm_cmd "$vmm" || { tap 1 "$vmm: storage" "$VMM_ERR"; return; }
  [ "$vmm" = qemu ] && extra=("${QEMU_DATA[@]}")
  qemu-img create -q -f qcow2 "$disk" 64M
  log=$VSB_LOGDIR/$vmm-cdinstall.log
  vsb_boot "$log" --timeout 300 --first-output 90 --silence 120 \
    --marker VTEST-INIT --exit-after VTEST-DONE --exit-grace 30 -- \
    "${VMM_CMD[@]}" "${extra[@]}" -m $MEM -cdrom "$ISO" -hda "$disk" -boot d
  # the guest's checksum of /dev/sr0 against the file's
  local gsum; gsum=$(grep -m1 -o 'sha256 of /dev/sr0 [0-9a-f]*' "$log" | awk '{print $4}')
  if [ "$gsum" = "$ISOSUM" ]; then tap 0 "$vmm: sr reads the whole ISO, checksum equal to the file's"
  else tap 1 "$vmm: sr reads the whole ISO, checksum equal to the file's" "guest ${gsum:-none}, file $ISOSUM"; fi
  check_results "$log" "$vmm: ISO boots with -cdrom -boot d, ata_piix uses DMA, install to IDE disk" \
    ata-dma install
  img_check "$vmm" "the installation" "$disk"
  # SeaBIOS reads the kernel and initramfs from the IDE disk by PIO, one exit per
  # sector: in the nested sandbox that is minutes of silence after the SYSLINUX banner.
  log=$VSB_LOGDIR/$vmm-diskboot-ide.log
  vsb_boot "$log" --timeout 420 --first-output 90 --silence 300 \
    --marker VTEST-INIT --exit-after VTEST-DONE --exit-grace 30 -- \
    "${VMM_CMD[@]}" "${extra[@]}" -m $MEM -hda "$disk"
  check_results "$log" "$vmm: installed disk boots alone with -hda (DMI from SMBIOS)" diskboot diskwrite smbios
  img_check "$vmm" "the IDE disk boot" "$disk"
  log=$VSB_LOGDIR/$vmm-diskboot-virtio.log
  vsb_boot "$log" --timeout 240 --first-output 90 --silence 120 \
    --marker VTEST-INIT --exit-after VTEST-DONE --exit-grace 30 -- \
    "${VMM_CMD[@]}" "${extra[@]}" -m $MEM -drive "file=$disk,if=virtio"
  check_results "$log" "$vmm: installed disk boots with -drive if=virtio" diskboot diskwrite
  img_check "$vmm" "the virtio disk boot" "$disk"
  # libvirt's form: -blockdev nodes (JSON), a device by node name, bootindex -> bootorder
  # (virtio-blk: SeaBIOS loads from it quickly)
  log=$VSB_LOGDIR/$vmm-diskboot-blockdev.log
  vsb_boot "$log" --timeout 240 --first-output 90 --silence 120 \
    --marker VTEST-INIT --exit-after VTEST-DONE --exit-grace 30 -- \
    "${VMM_CMD[@]}" "${extra[@]}" -m $MEM \
    -blockdev "{\"driver\":\"file\",\"filename\":\"$disk\",\"node-name\":\"storage1\",\"cache\":{\"direct\":false,\"no-flush\":false}}" \
    -blockdev '{"node-name":"format1","read-only":false,"driver":"qcow2","file":"storage1","backing":null}' \
    -device virtio-blk-pci,drive=format1,id=disk1,bootindex=1
  check_results "$log" "$vmm: installed disk boots from -blockdev nodes with bootindex" diskboot diskwrite
  img_check "$vmm" "the -blockdev boot" "$disk"
  sum1=$(sha256sum "$disk" | cut -d' ' -f1)
  log=$VSB_LOGDIR/$vmm-snapshot.log
  vsb_boot "$log" --timeout 240 --first-output 90 --silence 120 \
    --marker VTEST-INIT --exit-after VTEST-DONE --exit-grace 30 -- \
    "${VMM_CMD[@]}" "${extra[@]}" -m $MEM -drive "file=$disk,if=virtio" -snapshot
  sum2=$(sha256sum "$disk" | cut -d' ' -f1)
  check_results "$log" "$vmm: -snapshot boot writes the disk" diskboot diskwrite
  if [ "$sum1" = "$sum2" ]; then tap 0 "$vmm: -snapshot leaves the image untouched"
  else tap 1 "$vmm: -snapshot leaves the image untouched" "sha256 before $sum1, after $sum2"; fi
  img_check "$vmm" "the -snapshot boot" "$disk"
}

for vmm in ${VSB_BOOT_VMMS:-vireo qemu}; do
  [ "$vmm" = vireo ] && fwkernel_case vireo direct
  fwkernel_case "$vmm"
  t0=$SECONDS
  [ -f "$ISO" ] && storage_case "$vmm"
  echo "# $vmm storage scenario: $((SECONDS - t0))s"
done
exit 0
}
