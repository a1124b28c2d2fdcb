#!/bin/sh
# The guest side of the libvirt case (cases/50-libvirt.sh, lib/libvirt-flow.sh): a
# domain as users define them. Checks, before VTEST-READY:
#   power-button  the ACPI power button is an input device
#   disk          the virtio-blk disk /dev/vda
#   nic           <interface type='user'> with a virtio model: the interface with MAC
#                 $VT_mac, driver virtio_net, carrier, slirp's DHCP lease 10.0.2.15, a ping
#   bridge-nic    <interface type='bridge'> (virtio, vhost-net, a tap on the outer VM's
#                 bridge $VT_brnet.1): MAC $VT_brmac, driver virtio_net, carrier, a ping
#                 to the bridge with the address $VT_brnet.2 set here (no DHCP there)
#   cdrom         the ide-cd (hdc): /dev/sr0 reads as the ISO (md5 $VT_cd1)
#   vga           <video><model type='vga'/>: PCI 1234:1111
#   serial-in     a line the host types into the console pty arrives ($VT_word; on the
#                 second start "$VT_word again": then nothing else is checked)
# Then, on each "VTEST-WAIT lv STEP" the host runs virsh (libvirt-flow.sh) and types
# "done" into the console (so that nothing here opens the CD-ROM while libvirt changes
# its medium: an open /dev/sr0 locks the tray, and opening it closes an open tray):
#   add-disk/del-disk   attach-device/detach-device of a virtio-blk disk (first sector
#                       starts with $VT_hpmark), add-nic/del-nic of a virtio NIC
#                       (MAC $VT_hpmac, DHCP); each seen to come and to go
#   change-media, eject, insert   virsh change-media of hdc: the medium reads as the
#                       second ISO ($VT_cd2), then no medium, then the first again
# and last waits for the ACPI power button (virsh shutdown --mode acpi), powers off.
# Needs evdev, button, virtio_net, ata_piix, sr_mod and /lib/net/udhcpc.sh.
. /lib/vtest.sh
PATH=/bin:/sbin:/usr/bin:/usr/sbin
WAIT=${VT_wait:-40}

wait_for() {  # SECONDS CMD...: polls CMD every 0.2 s
  _t=$(($1 * 5)); shift
  while ! "$@" && [ $_t -gt 0 ]; do usleep 200000; _t=$((_t - 1)); done
  "$@"
}
find_iface() {
  for d in /sys/class/net/*; do
    [ "$(cat "$d/address" 2>/dev/null)" = "$1" ] && { echo "${d##*/}"; return 0; }
  done
  return 1
}
has_iface() { find_iface "$1" > /dev/null; }
no_iface() { ! has_iface "$1"; }
driver_of() { p=$(readlink -f "$1"); [ -e "$p/driver" ] && basename "$(readlink "$p/driver")"; }
disks() { ls /sys/block | grep '^vd' | tr '\n' ' '; }
new_disk() { for d in $(disks); do case " $before " in *" $d "*) ;; *) echo "$d"; return 0 ;; esac; done; return 1; }
has_new_disk() { [ -n "$(new_disk)" ]; }
no_disk() { [ ! -e "/sys/block/$1" ]; }
cdsum() { md5sum /dev/sr0 2>/dev/null | cut -d' ' -f1; }
cd_is() { [ "$(cdsum)" = "$1" ]; }
cd_empty() { ! dd if=/dev/sr0 of=/dev/null bs=2048 count=1 2>/dev/null; }
carrier() { [ "$(cat "/sys/class/net/$1/carrier" 2>/dev/null)" = 1 ]; }
ask() {  # STEP: the host's turn; returns when it typed "done" (or after 150 s)
  integrity "before $1"
  echo "VTEST-WAIT lv $1"
  reply=
  read -t 150 reply < /dev/console
}
# Diagnostics, no result: the md5 of the busybox binary in the page cache (a guest whose
# memory was overwritten shows another sum, or none when busybox itself crashes).
integrity() { echo "VTEST-INTEGRITY $1: $(md5sum /bin/busybox 2>&1 | cut -c1-32)"; }

nic_up() {  # TAG MAC: the interface is there, virtio_net drives it, up with carrier ($ifc)
  if ! wait_for "$WAIT" has_iface "$2"; then
    vt_fail "$1: seen: no interface with MAC $2 ($(cat /sys/class/net/*/address | tr '\n' ' '))"
    return 1
  fi
  ifc=$(find_iface "$2")
  drv=$(driver_of "/sys/class/net/$ifc/device")
  vt_check "$1: seen: $ifc with MAC $2, driver ${drv:-none}" [ "$drv" = virtio_net ]
  ip link set "$ifc" up
  vt_check "$1: carrier: $ifc" wait_for 10 carrier "$ifc"
}
nic() {  # TAG MAC: nic_up, a DHCP lease from slirp, a ping of the gateway
  nic_up "$1" "$2" || return 1
  rm -f "/tmp/lease-$ifc"
  udhcpc -i "$ifc" -n -q -t 10 -T 2 -s /lib/net/udhcpc.sh > "/tmp/udhcpc-$ifc.log" 2>&1
  lease=$(cat "/tmp/lease-$ifc" 2>/dev/null)
  vt_check "$1: dhcp: lease '${lease:-none}' (want 10.0.2.15)" [ "$lease" = 10.0.2.15 ]
  vt_check "$1: ping: 10.0.2.2" ping -c 1 -W 5 10.0.2.2
  ip link set "$ifc" down
}
brnic() {  # TAG MAC NET: nic_up, a static address, a ping of NET.1 (the bridge)
  nic_up "$1" "$2" || return 1
  ip addr add "$3.2/24" dev "$ifc"
  vt_check "$1: ping: $3.1" ping -c 1 -W 5 "$3.1"
  ip addr flush dev "$ifc"
  ip link set "$ifc" down
}

ev=
for d in /sys/class/input/input*; do
  [ "$(cat "$d/name" 2>/dev/null)" = "Power Button" ] || continue
  for e in "$d"/event*; do [ -e "$e" ] && ev=$(basename "$e"); done
done
# The host types $VT_word (first start) or "$VT_word again" (second start: only the boot
# is checked, and the power button is waited for at once).
echo "VTEST-WAIT lv serial-in"
line=
read -t "$WAIT" line < /dev/console
if [ "$line" = "$VT_word again" ]; then
  echo "VTEST-READY"
  [ -n "$ev" ] && dd if="/dev/input/$ev" of=/dev/null bs=24 count=1 2>/dev/null
  poweroff -f
fi
vt_check "serial-in: read '$line' from the console" [ "$line" = "$VT_word" ]
vt_check "power-button: the ACPI power button is input device '$ev'" [ -n "$ev" ]
vt_check "disk: /dev/vda is there ($(cat /sys/block/vda/size 2>/dev/null) sectors)" [ -b /dev/vda ]
nic nic "$VT_mac"
brnic bridge-nic "$VT_brmac" "$VT_brnet"
wait_for 10 [ -b /dev/sr0 ]
s=$(cdsum)
vt_check "cdrom: /dev/sr0 ($(cat /sys/block/sr0/size 2>/dev/null) sectors) reads as the ISO: md5 ${s:-unreadable}" [ "$s" = "$VT_cd1" ]
vga=
for d in /sys/bus/pci/devices/*; do
  [ "$(cat "$d/vendor"):$(cat "$d/device")" = 0x1234:0x1111 ] && vga=${d##*/}
done
vt_check "vga: PCI 1234:1111 at '${vga:-none}'" [ -n "$vga" ]
echo "VTEST-READY"

# --- libvirt's hot-plug and media changes, each asked of the host ---
before=$(disks)
ask add-disk
if wait_for "$WAIT" has_new_disk; then
  d=$(new_disk)
  drv=$(driver_of "/sys/block/$d/device")
  vt_check "hp-disk: seen: /dev/$d (driver ${drv:-none})" [ "$drv" = virtio_blk ]
  got=$(dd if="/dev/$d" bs=512 count=1 2>/dev/null | head -c ${#VT_hpmark})
  vt_check "hp-disk: read: the first sector says '$got'" [ "$got" = "$VT_hpmark" ]
  ask del-disk
  vt_check "hp-disk: gone: /dev/$d after detach-device" wait_for "$WAIT" no_disk "$d"
  sleep 2     # acpiphp evaluates _EJ0 right after removing the device: let it finish
else
  vt_fail "hp-disk: seen: no new disk in $WAIT s (disks: $(disks))"
  ask del-disk
fi
ask add-nic
if nic hp-nic "$VT_hpmac"; then
  ask del-nic
  vt_check "hp-nic: gone: the interface with MAC $VT_hpmac after detach-device" \
    wait_for "$WAIT" no_iface "$VT_hpmac"
  sleep 2
else
  ask del-nic
fi
ask change-media
vt_check "media: change-media --update: /dev/sr0 reads as the second ISO" wait_for 10 cd_is "$VT_cd2"
ask eject
vt_check "media: change-media --eject: no medium" wait_for 10 cd_empty
ask insert
vt_check "media: change-media --insert: /dev/sr0 reads as the first ISO again" wait_for 10 cd_is "$VT_cd1"
integrity "before lifecycle"
echo "VTEST-WAIT lv lifecycle"
[ -n "$ev" ] && dd if="/dev/input/$ev" of=/dev/null bs=24 count=1 2>/dev/null
echo "VTEST-POWERBUTTON"
poweroff -f
