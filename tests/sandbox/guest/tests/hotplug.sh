# PCI hotplug seen by Linux's acpiphp (cases/55-hotplug.sh; the outer side is
# lib/hotplugpeer.py, which runs the QMP commands each "VTEST-WAIT hp STEP" asks for):
#   slots           acpiphp's /sys/bus/pci/slots has slot 3 (the first free one) and not
#                   slot 2 (the VGA: built in, not hot-pluggable)
#   disk            blockdev-add + device_add virtio-blk-pci: a new virtio_blk disk
#                   whose first sector starts with $VT_marker; device_del: it goes
#   virtio-net, e1000  netdev_add user + device_add: the interface with MAC
#                   52:54:00:aa:10:0N comes, its driver binds, it gets slirp's DHCP
#                   lease 10.0.2.15; device_del: it goes
. /lib/vtest.sh
PATH=/bin:/sbin:/usr/bin:/usr/sbin
WAIT=${VT_wait:-60}

# wait_for SECONDS CMD...: polls CMD every 0.2 s.
wait_for() {
  _t=$(($1 * 5)); shift
  while ! "$@" && [ $_t -gt 0 ]; do usleep 200000; _t=$((_t - 1)); done
  "$@"
}
stamp() { echo "VTEST-T $(cut -d' ' -f1 /proc/uptime) $*"; }
disks() { ls /sys/block | grep '^vd' | tr '\n' ' '; }
new_disk() { for d in $(disks); do case " $before " in *" $d "*) ;; *) echo "$d"; return 0 ;; esac; done; return 1; }
has_new_disk() { [ -n "$(new_disk)" ]; }
no_disk() { [ ! -e "/sys/block/$1" ]; }
find_iface() {
  for d in /sys/class/net/*; do
    [ "$(cat "$d/address" 2>/dev/null)" = "$1" ] && { echo "${d##*/}"; return 0; }
  done
  return 1
}
no_pci() { [ ! -e "/sys/bus/pci/devices/$1" ]; }
has_iface() { find_iface "$1" > /dev/null; }
no_iface() { ! has_iface "$1"; }
driver_of() {  # SYSFS-DEVICE-LINK
  p=$(readlink -f "$1")
  [ -e "$p/driver" ] && basename "$(readlink "$p/driver")"
}
slot_of() {  # SYSFS-DEVICE-LINK: the PCI address (a virtio device's parent)
  p=$(readlink -f "$1")
  case ${p##*/} in virtio*) p=${p%/*} ;; esac
  echo "${p##*/}"
}

# --- slots ---
s=$(ls /sys/bus/pci/slots 2>/dev/null | sort -n | tr '\n' ' ')
slots_ok() { [ -e /sys/bus/pci/slots/3/power ] && [ ! -e /sys/bus/pci/slots/2 ]; }
vt_check "slots: '${s:-none}': 3 (free) but not 2 (the VGA, built in)" slots_ok

# --- disk ---
before=$(disks)
stamp "add-disk"
echo "VTEST-WAIT hp add-disk"
if wait_for "$WAIT" has_new_disk; then
  d=$(new_disk)
  stamp "disk $d"
  drv=$(driver_of "/sys/block/$d/device")
  pci=$(slot_of "/sys/block/$d/device")
  vt_check "disk: seen: /dev/$d (driver ${drv:-none}) at $pci" [ "$drv" = virtio_blk ]
  got=$(dd if="/dev/$d" bs=512 count=1 2>/dev/null | head -c ${#VT_marker})
  vt_check "disk: read: the first sector says '$got'" [ "$got" = "$VT_marker" ]
  echo "VTEST-WAIT hp del-disk"
  vt_check "disk: gone: /dev/$d and $pci left after device_del" wait_for "$WAIT" no_disk "$d"
  vt_check "disk: pci-gone: $pci" wait_for 10 no_pci "$pci"
  sleep 2     # acpiphp evaluates _EJ0 right after removing the device: let it finish
  stamp "disk gone"
else
  vt_fail "disk: seen: no new disk in $WAIT s (disks: $(disks)); PCI: $(ls /sys/bus/pci/devices | tr '\n' ' ')"
  echo "VTEST-WAIT hp del-disk"
fi

# --- NICs ---
nic() {  # TAG N DRIVER
  tag=$1 mac=52:54:00:aa:10:0$2
  stamp "add-$tag"
  echo "VTEST-WAIT hp add-$tag"
  if ! wait_for "$WAIT" has_iface "$mac"; then
    vt_fail "$tag: seen: no interface with MAC $mac in $WAIT s ($(cat /sys/class/net/*/address | tr '\n' ' '))"
    echo "VTEST-WAIT hp del-$tag"
    return
  fi
  ifc=$(find_iface "$mac")
  drv=$(driver_of "/sys/class/net/$ifc/device")
  pci=$(slot_of "/sys/class/net/$ifc/device")
  vt_check "$tag: seen: $ifc (driver ${drv:-none}) at $pci" [ "$drv" = "$3" ]
  ip link set "$ifc" up
  rm -f "/tmp/lease-$ifc"
  udhcpc -i "$ifc" -n -q -t 10 -T 2 -s /lib/net/udhcpc.sh > "/tmp/udhcpc-$ifc.log" 2>&1
  lease=$(cat "/tmp/lease-$ifc" 2>/dev/null)
  vt_check "$tag: dhcp: lease '${lease:-none}' (want 10.0.2.15)" [ "$lease" = 10.0.2.15 ]
  vt_check "$tag: ping: 10.0.2.2" ping -c 1 -W 5 10.0.2.2
  echo "VTEST-WAIT hp del-$tag"
  vt_check "$tag: gone: $ifc and $pci left after device_del" wait_for "$WAIT" no_iface "$mac"
  vt_check "$tag: pci-gone: $pci" wait_for 10 no_pci "$pci"
  sleep 2
  stamp "$tag gone"
}
nic virtio-net 1 virtio_net
nic e1000 2 e1000
vt_done
