# Issue #10, booted from the ISO by SeaBIOS + isolinux (-cdrom X.iso -boot d): Linux's
# ata_piix uses DMA for both drives, sr reads the whole ISO (the harness compares
# the checksum with the file's), then an installation: partition and format the IDE
# disk, copy the kernel and initramfs from the CD, install extlinux and its MBR, power off.
. /lib/vtest.sh
# libata probes asynchronously after insmod: wait for both drives (30 s at most).
i=0
while [ $i -lt 30 ] && ! { [ -b /dev/sda ] && [ -b /dev/sr0 ]; }; do sleep 1; i=$((i + 1)); done
# libata's transfer mode of each device (sysfs: does not depend on what dmesg kept)
cfg= dma=1 n=0
for a in /sys/class/ata_device/dev*; do
  case "$(cat $a/class 2>/dev/null)" in ata|atapi) ;; *) continue ;; esac   # absent slaves
  [ -r $a/xfer_mode ] || continue
  m=$(cat $a/xfer_mode); cfg="$cfg${a##*/}=$m;"; n=$((n + 1))
  case "$m" in *DMA*) ;; *) dma= ;; esac
done
[ $n -ge 2 ] || dma=
echo "VTEST-INFO libata: $(dmesg | grep -E 'ata[0-9]+\.[0-9]+: configured for' | tr '\n' ';')"
vt_check "ata-dma: ata_piix transfer modes (2 devices, DMA): $cfg" [ -n "$dma" ]
sum=$(sha256sum /dev/sr0 | cut -d' ' -f1)
echo "VTEST-INFO sha256 of /dev/sr0 $sum"
printf 'o\nn\np\n1\n\n\na\n1\nw\n' | fdisk /dev/sda >/dev/null 2>&1
sleep 1
ok=1
mke2fs -q /dev/sda1 >/dev/null 2>&1 || ok=
mkdir -p /mnt/cd /mnt/disk
mount -t iso9660 -o ro /dev/sr0 /mnt/cd || ok=
mount -t ext2 /dev/sda1 /mnt/disk || ok=
cp /mnt/cd/vmlinuz /mnt/cd/initrd.gz /mnt/disk/ || ok=
cat > /mnt/disk/extlinux.conf <<EOC
serial 0 115200
default linux
prompt 0
timeout 1
label linux
  kernel /vmlinuz
  initrd /initrd.gz
  append console=ttyS0 quiet panic=-1 vtest=diskboot
EOC
extlinux --install /mnt/disk >/dev/null 2>&1 || ok=
umount /mnt/disk || ok=
umount /mnt/cd
dd if=/lib/mbr.bin of=/dev/sda bs=440 count=1 conv=notrunc 2>/dev/null || ok=
sync
vt_check "install: partition, ext2, kernel, extlinux on /dev/sda" [ -n "$ok" ]
vt_done
poweroff -f
