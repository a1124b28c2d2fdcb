#!/usr/bin/env bash
# build.sh OUT MODDIR KVER: the display test's initramfs: the default inner guest plus
# display.sh, and bochs.ko with its dependencies carried unloaded (listed in load order
# in /etc/bochs.load): the guest loads them mid-test, after the text-console checks;
# virtio_pci, virtio_input and evdev load at boot (the virtio-tablet check).
set -e
out=$1 moddir=$2 kver=$3
here=$(cd "$(dirname "$0")" && pwd)
sb=$(cd "$here/../.." && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
python3 -I "$sb/lib/kmods.py" "$moddir" bochs > "$tmp/bochs.load"
files=(-f "$tmp/bochs.load:etc/bochs.load")
while read -r rel; do files+=(-f "$moddir/$rel:lib/modules/$kver/$rel"); done < "$tmp/bochs.load"
bash "$sb/mkinitrd.sh" -o "$out" -k "$moddir" -t "$here" -m virtio_pci -m virtio_input \
  -m evdev "${files[@]}"
