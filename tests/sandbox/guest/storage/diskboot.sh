# Issue #10: booted from the installed disk by SeaBIOS + extlinux (IDE or virtio-blk).
# Writes a marker file to the disk (the -snapshot run checks the image is untouched).
. /lib/vtest.sh
vt_check "diskboot: extlinux passed the command line ($(cat /proc/cmdline))" grep -q 'BOOT_IMAGE=/vmlinuz' /proc/cmdline
dev=
i=0
while [ $i -lt 30 ] && [ -z "$dev" ]; do       # libata/virtio probe asynchronously
  for d in /dev/sda1 /dev/vda1; do [ -b $d ] && dev=$d && break; done
  [ -z "$dev" ] && sleep 1
  i=$((i + 1))
done
ok=
if [ -n "$dev" ] && mount -t ext2 $dev /mnt; then
  date > /mnt/marker && ok=1
  umount /mnt
  sync
fi
pn=$(cat /sys/class/dmi/id/product_name 2>/dev/null)
vt_check "smbios: DMI product name '$pn' (from the SMBIOS tables SeaBIOS installed)" [ "$pn" = "Standard PC (i440FX + PIIX, 1996)" ]
vt_check "diskwrite: marker written on ${dev:-no disk}" [ -n "$ok" ]
vt_done
poweroff -f
