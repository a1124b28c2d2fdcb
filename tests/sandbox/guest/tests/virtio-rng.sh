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
lines=$(grep virtio /proc/interrupts | awk '{print $NF}' | tr '\n' ' ')
case "$lines" in *virtio0-config*virtio0-input*) msix=1 ;; *) msix= ;; esac
vt_check "rng-msix: per-queue MSI-X vectors ($lines)" [ -n "$msix" ]
# Under pci=nomsi the driver shares one INTx line (named after the PCI device) and reads
# the ISR to learn why; its count must have moved while we read entropy.
n=$(grep 'virtio' /proc/interrupts | awk '{s=0; for (i=2; i<=NF; i++) if ($i ~ /^[0-9]+$/) s+=$i; print s}' | head -1)
vt_check "rng-intx: $lines interrupts taken: ${n:-0}" [ "${n:-0}" -gt 0 ]
vt_done
poweroff -f
