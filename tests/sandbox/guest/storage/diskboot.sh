# Issue #10: booted from the installed disk by SeaBIOS + extlinux (IDE or virtio-blk).
# Writes a marker file to the disk (the -snapshot run checks the image is untouched).
. /lib/vtest.sh
vt_check "diskboot: extlinux passed the command line ($(cat /proc/cmdline))" grep -q 'BOOT_IMAGE=/vmlinuz' /proc/cmdline
dev=
for d in /dev/sda1 /dev/vda1; do [ -b $d ] && dev=$d && break; done
ok=
if [ -n "$dev" ] && mount -t ext2 $dev /mnt; then
  date > /mnt/marker && ok=1
  umount /mnt
  sync
fi
vt_check "diskwrite: marker written on ${dev:-no disk}" [ -n "$ok" ]
vt_done
poweroff -f
