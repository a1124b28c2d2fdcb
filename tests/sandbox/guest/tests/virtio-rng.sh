# virtio-rng-pci seen through Linux's own drivers: virtio-pci binds the modern function
# (1af4:1044), virtio_rng registers with hw_random, and /dev/hwrng returns entropy.
. /lib/vtest.sh

dev=
for d in /sys/bus/pci/devices/*; do
  [ "$(cat $d/vendor)" = 0x1af4 ] && [ "$(cat $d/device)" = 0x1044 ] && dev=$d
done
vt_check "rng-pci: modern virtio-rng function 1af4:1044 at ${dev:-nowhere}" [ -n "$dev" ]
drv=
[ -n "$dev" ] && [ -e "$dev/driver" ] && drv=$(basename "$(readlink "$dev/driver")")
vt_check "rng-driver: bound to '${drv:-nothing}' (want virtio-pci)" [ "$drv" = virtio-pci ]
cur=$(cat /sys/class/misc/hw_random/rng_current 2>/dev/null)
case "$cur" in virtio_rng*) ok=1 ;; *) ok= ;; esac
vt_check "rng-hwrng: hw_random uses '${cur:-none}'" [ -n "$ok" ]
dd if=/dev/hwrng of=/tmp/r bs=4096 count=4 2>/dev/null
n=$(wc -c < /tmp/r)
vt_check "rng-read: $n bytes from /dev/hwrng (want 16384)" [ "$n" = 16384 ]
u=$(od -An -v -tx1 /tmp/r | tr -s ' ' '\n' | grep . | sort -u | wc -l)
vt_check "rng-entropy: $u distinct byte values in 16 KiB (want 256)" [ "$u" = 256 ]
irq=$(grep -c 'virtio.*-' /proc/interrupts)
vt_check "rng-msix: $irq virtio MSI-X interrupt lines ($(grep virtio /proc/interrupts | awk '{print $NF}' | tr '\n' ' '))" [ "$irq" -ge 1 ]
vt_done
poweroff -f
