#!/usr/bin/env bash
# vsb-timeout: 900
# libvirt end to end (issue 8): Debian's libvirt 9.0 (a private libvirtd started here,
# lib/libvirt-ns.sh) probes the emulator and runs a domain as users define them (virtio
# disk and NIC, IDE CD-ROM, VNC + VGA, serial console) through its life, hot-plug and
# media changes included (lib/libvirt-flow.sh, guest/tests/libvirt.sh), for Vireo and,
# to prove the test, for Debian's QEMU 7.2. The probe's duration is printed as
# "LIBVIRT-PROBE-MS VMM MS", where it went as "LIBVIRT-PROBE-PHASE VMM ..." lines
# (from libvirtd's log; bench: docs/performance.md).
{
. "$VSB_LIB/vm.sh"
if ! command -v libvirtd > /dev/null || ! command -v virsh > /dev/null; then
  echo "not ok - libvirtd and virsh"
  echo "# not installed: apt-get install libvirt-daemon-driver-qemu libvirt-clients libvirt-daemon"
  exit 0
fi
img=$VSB_WORK/lv-initrd.cpio.gz
"$VSB_ROOT/tests/sandbox/mkinitrd.sh" -o "$img" -k "$VSB_MODDIR" -m evdev -m button \
  -m virtio_pci -m virtio_blk -m virtio_net -m ata_piix -m sr_mod \
  -f "$VSB_ROOT/tests/sandbox/guest/net/udhcpc.sh:/lib/net/udhcpc.sh" \
  > "$VSB_LOGDIR/mkinitrd.log" 2>&1 ||
  { echo "not ok - guest initramfs"; echo "# mkinitrd.sh failed"; exit 0; }
for vmm in ${VSB_BOOT_VMMS:-vireo qemu}; do
  case $vmm in
    vireo) bin=$VSB_BUILD/vireo ;;
    qemu) bin=$(command -v qemu-system-x86_64) ;;
  esac
  w=$VSB_LOGDIR/$vmm             # kept: libvirtd.log (QMP traffic), consoles, XML
  rm -rf "$w"
  mkdir -p "$w"
  # Copied here first: libvirt-ns.sh hides /var (where the kernel is cached) from libvirt.
  cp "$VSB_VMLINUZ" "$w/vmlinuz" && cp "$img" "$w/initrd" ||
    { echo "not ok - $vmm: kernel and initramfs for the domain"; continue; }
  "$VSB_LIB/libvirt-ns.sh" "$w" "$VSB_LIB/libvirt-flow.sh" "$vmm" "$bin" "$w" \
    "$w/vmlinuz" "$w/initrd"
  rm -rf "$w/disk.raw" "$w/hp.raw" "$w"/cd?.iso "$w"/iso? "$w/vmlinuz" "$w/initrd" "$w/var" \
    "$w/etc"
done
exit 0
}
