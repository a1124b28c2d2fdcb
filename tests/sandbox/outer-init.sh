#!/bin/sh
# /init of the OUTER sandbox guest (Debian kernel under TCG with nested SVM).
# Loads kvm-amd and 9p, mounts the host's root read-only (9p tag vsbroot), the job
# folder (tag vsbjob) and the writable folders (tags vsbrw0..N, listed in the job's
# config) at their host paths, then chroots into the host root and runs the job's
# cmd.sh with stdout on ttyS1 and stderr on ttyS2. With --scratch, an ext4 disk
# (virtio-blk) is mounted at $VSB_SCRATCH (under the tmpfs /tmp). ttyS0 is the kernel console plus
# "VSB:" status lines and a heartbeat that sandbox.sh watches.
export PATH=/bin:/sbin
con=/dev/ttyS0
say() { echo "VSB: $*" > $con; }
fatal() { say "FATAL $*"; echo 125 > /job/rc 2>/dev/null; sync; poweroff -f; sleep 5; exit 1; }

mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
say "init $(cut -d' ' -f1 /proc/uptime)"
kver=$(cat /etc/kver)
while read -r m; do
  insmod /lib/modules/$kver/$m 2>/dev/null || say "insmod $m failed"
done < /etc/modules.load
[ -c /dev/kvm ] || say "WARNING: no /dev/kvm after loading kvm-amd"
ip link set lo up 2>/dev/null || ifconfig lo 127.0.0.1 up   # TCP tests on 127.0.0.1

o9=trans=virtio,version=9p2000.L,msize=512000
mkdir -p /job /root
mount -t 9p -o $o9,cache=none vsbjob /job || fatal "cannot mount job share"
. /job/config || fatal "bad job config"
R=/root
mount -t 9p -o $o9,ro,cache=loose vsbroot $R || fatal "cannot mount host root"
mount -t proc proc $R/proc
mount -t sysfs sysfs $R/sys
mount -t devtmpfs devtmpfs $R/dev
mkdir -p $R/dev/pts $R/dev/shm
mount -t devpts -o gid=5,mode=620,ptmxmode=666 devpts $R/dev/pts
mount -t tmpfs tmpfs $R/dev/shm
ln -sf /proc/self/fd $R/dev/fd; ln -sf /proc/self/fd/0 $R/dev/stdin
ln -sf /proc/self/fd/1 $R/dev/stdout; ln -sf /proc/self/fd/2 $R/dev/stderr
for d in tmp run var/tmp; do mount -t tmpfs -o mode=1777 tmpfs $R/$d; done
i=0
for p in $VSB_RW; do
  mkdir -p "$R$p"; mount -t 9p -o $o9,cache=none vsbrw$i "$R$p" || fatal "cannot mount $p"
  i=$((i + 1))
done
mkdir -p "$R$VSB_JOB"; mount --bind /job "$R$VSB_JOB" || fatal "cannot bind job dir"
if [ -n "${VSB_SCRATCH:-}" ]; then   # ext4 on virtio-blk: a filesystem with O_DIRECT
  mkdir -p "$R$VSB_SCRATCH"
  mount -t ext4 -o noatime /dev/vda "$R$VSB_SCRATCH" || fatal "cannot mount the scratch disk"
  chmod 1777 "$R$VSB_SCRATCH"
fi
cat /proc/mounts > /job/mounts

for t in /dev/ttyS1 /dev/ttyS2; do stty -F $t raw -echo 115200; done
( n=0; while :; do sleep 5; n=$((n + 1)); echo "VSB: hb $n"; done ) > $con 2>&1 &
hb=$!
say "ready $(cut -d' ' -f1 /proc/uptime)"
chroot $R /bin/bash "$VSB_JOB/cmd.sh" < /dev/null > /dev/ttyS1 2> /dev/ttyS2
rc=$?
kill $hb
echo $rc > /job/rc
sync
say "exit $rc $(cut -d' ' -f1 /proc/uptime)"
poweroff -f
