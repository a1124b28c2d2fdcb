#!/usr/bin/env bash
# vsb-timeout: 900
# Network boot as QEMU 7.2's pc does it: the NIC's default option ROM (iPXE,
# efi-e1000.rom / efi-virtio.rom from Debian's ipxe-qemu) in its ROM BAR, SeaBIOS
# running it for bootindex= (fw_cfg bootorder) or -boot n (CMOS), iPXE's DHCP and TFTP
# against slirp's (-netdev user,tftp=DIR,bootfile=F), then pxelinux (Debian's pxelinux
# and syslinux-common) or an iPXE script loading the sandbox kernel and initramfs over
# TFTP, up to the guest's init marker. Each scenario runs under Vireo and Debian's
# QEMU 7.2 (the reference: same firmware, same ROMs, same files). A boot takes 25-50 s
# in the nested sandbox (most of it the 8 MB kernel over TFTP), so `make check` runs the
# two pxelinux boots per VMM and `make sandbox-full` (VSB_TIER=full) the iPXE script
# boot too.
{ # (parsed whole before it runs)
. "$VSB_LIB/vm.sh"
MEM=512
APPEND="console=ttyS0 quiet panic=-1 vtest=marker vtest.idle=1"
QEMU_DATA=(-L /usr/share/qemu -L /usr/share/seabios -L /usr/lib/ipxe/qemu)
PXELINUX=/usr/lib/PXELINUX/pxelinux.0
LDLINUX=/usr/lib/syslinux/modules/bios/ldlinux.c32

# The TFTP root on the sandbox's tmpfs (slirp reads the files block by block).
tftp=$VSB_WORK/tftp
mkdir -p "$tftp/pxelinux.cfg"
cp "$VSB_VMLINUZ" "$tftp/vmlinuz"
cp "$VSB_INITRD" "$tftp/initrd"
have_pxelinux=1
cp "$PXELINUX" "$LDLINUX" "$tftp/" 2>/dev/null || have_pxelinux=
cat > "$tftp/pxelinux.cfg/default" <<EOC
default linux
prompt 0
timeout 1
label linux
  kernel vmlinuz
  initrd initrd
  append $APPEND
EOC
# iPXE's own script language: paths relative to the script's tftp:// URI.
cat > "$tftp/boot.ipxe" <<EOC
#!ipxe
echo PXE-TEST: iPXE script running
kernel vmlinuz $APPEND
initrd initrd
boot
EOC

# pxe_case VMM NAME BOOTFILE WANT NIC-AND-BOOT-OPTIONS...: the pc machine's defaults
# (VGA, empty CD-ROM) and the NIC; -nographic puts SeaBIOS's sercon on ttyS0, which
# shows iPXE's and pxelinux's BIOS output. Passes when the console shows WANT (the
# loader that ran) and the guest's init marker, and the VMM exits 0 on its poweroff.
pxe_case() {
  local vmm=$1 name="$1: $2" bootfile=$3 want=$4 log extra=() banner
  shift 4
  log=${name//[^a-zA-Z0-9]/-}
  log=$VSB_LOGDIR/${log//--/-}.log
  vsb_vmm_cmd "$vmm" || { tap 1 "$name" "$VMM_ERR"; return; }
  [ "$vmm" = qemu ] && extra=("${QEMU_DATA[@]}")
  vsb_boot "$log" --timeout 300 --first-output 60 --silence 120 --marker VTEST-INIT -- \
    "${VMM_CMD[@]}" "${extra[@]}" -m $MEM \
    -netdev "user,id=n0,tftp=$tftp,bootfile=$bootfile" "$@"
  banner=$(grep -a -m1 -o 'iPXE [0-9][^ ]* ' "$log")
  # vtest=marker: init prints VTEST-INIT, idles 1 s and powers off (status 0).
  # (tr: a bare CR inside pxelinux's banner, "P<CR>XELINUX", was seen once under Vireo;
  # most likely SeaBIOS's sercon moving its cursor, whose escape sequences vmrun.py
  # strips; not reproduced since)
  if tr -d '\r' < "$log" | grep -q -a "$want" && [ "${VM_MARKER_COUNT:-0}" -ge 1 ] \
     && [ "$VM_REASON" = exited ] && [ "$VM_RC" = 0 ]; then
    tap 0 "$name" "${banner}: init after ${VM_MARKER_S}s, exit after ${VM_ELAPSED}s"
  else
    tap 1 "$name" "${banner:-no iPXE banner on the console}; want '$want'" \
      "last lines: $(grep -a -E 'iPXE|PXELINUX|PXE-TEST|DHCP|Configuring|No bootable|Booting from|Could not|Connection|tftp' "$log" | tail -n 5 | tr '\n' '|' | cut -c1-400)" \
      "$(vsb_why "$log")"
  fi
}

for vmm in ${VSB_BOOT_VMMS:-vireo qemu}; do
  for nic in "e1000 with bootindex=1" "virtio-net-pci with -boot n"; do
    name="$nic: SeaBIOS runs iPXE, pxelinux loads the kernel over TFTP"
    if [ -z "$have_pxelinux" ]; then
      tap 1 "$vmm: $name" "$PXELINUX or $LDLINUX missing: scripts/install-deps.sh --test (pxelinux, syslinux-common)"
    elif [ "${nic%% *}" = e1000 ]; then
      pxe_case "$vmm" "$name" pxelinux.0 "PXELINUX [0-9]" -device e1000,netdev=n0,bootindex=1
    else
      pxe_case "$vmm" "$name" pxelinux.0 "PXELINUX [0-9]" -device virtio-net-pci,netdev=n0 -boot n
    fi
  done
  name="virtio-net-pci with bootindex=1: an iPXE script loads the kernel over TFTP"
  if [ "${VSB_TIER:-default}" = full ]; then
    pxe_case "$vmm" "$name" boot.ipxe "PXE-TEST: iPXE script running" \
      -device virtio-net-pci,netdev=n0,bootindex=1
  else
    echo "ok - $vmm: $name # SKIP tier full (a third network boot per VMM, ~30-50 s each)"
  fi
done
exit 0
}
