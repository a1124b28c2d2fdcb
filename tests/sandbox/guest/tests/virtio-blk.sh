# virtio-blk-pci through Linux's virtio_blk driver. The harness gives two disks (their
# vdX names follow PCI slot order, so they are told apart by size):
#   Q: a 64 MiB qcow2 with 0x5a at [1 MiB, 2 MiB) (written by qemu-io), if=virtio
#   R: an 8 MiB raw image full of 0x33, readonly=on, serial=VIREO-RO-1
# The guest reads both, writes 0xa5 to vda at [4 MiB, 5 MiB) with O_DIRECT and fsync
# (so a FLUSH reaches the device); the harness checks that on the image afterwards.
. /lib/vtest.sh

bytes() { od -An -v -tx1 | tr -s ' ' '\n' | grep . | sort -u | tr '\n' ' '; }

Q= R=
for d in vda vdb; do
  case $(cat /sys/block/$d/size 2>/dev/null) in 131072) Q=$d ;; 16384) R=$d ;; esac
done
vt_check "blk-size: disks of 131072 and 16384 sectors: ${Q:-none} ${R:-none} ($(cat /sys/block/vd*/size | tr '\n' ' '))" [ -n "$Q" -a -n "$R" ]
Q=/dev/${Q:-vda} R=/dev/${R:-vdb}
b=$(dd if=$Q bs=1M skip=1 count=1 iflag=direct 2>/dev/null | bytes)
vt_check "blk-read: $Q [1M,2M) holds: $b(want 5a)" [ "$b" = "5a " ]
z=$(dd if=$Q bs=1M skip=2 count=1 iflag=direct 2>/dev/null | bytes)
vt_check "blk-zero: $Q [2M,3M) holds: $z(want 00)" [ "$z" = "00 " ]
dd if=/dev/zero bs=1M count=1 2>/dev/null | tr '\000' '\245' > /tmp/pat
dd if=/tmp/pat of=$Q bs=1M seek=4 oflag=direct conv=fsync 2>/dev/null
w=$(dd if=$Q bs=1M skip=4 count=1 iflag=direct 2>/dev/null | bytes)
vt_check "blk-write: $Q [4M,5M) reads back: $w(want a5)" [ "$w" = "a5 " ]
ro=$(cat /sys/block/${R#/dev/}/ro 2>/dev/null)
vt_check "blk-ro: $R read-only flag ${ro:-missing} (want 1)" [ "$ro" = 1 ]
r=$(dd if=$R bs=4096 count=16 iflag=direct 2>/dev/null | bytes)
vt_check "blk-raw: $R holds: $r(want 33)" [ "$r" = "33 " ]
if dd if=/tmp/pat of=$R bs=4096 count=1 oflag=direct 2>/dev/null; then wfail=; else wfail=1; fi
vt_check "blk-ro-write: writing $R fails" [ -n "$wfail" ]
ser=$(cat /sys/block/${R#/dev/}/serial 2>/dev/null)
vt_check "blk-serial: $R serial '${ser}' (want VIREO-RO-1)" [ "$ser" = VIREO-RO-1 ]
vt_done
poweroff -f
