#!/bin/sh
# /init of the INNER test guest (Debian kernel + busybox, booted by the VMM under test).
# Prints the boot marker first, loads /etc/modules.load, then runs /tests/$vtest.sh
# (vtest=NAME on the kernel command line; every vtest.KEY=VALUE becomes $VT_KEY).
# A test reports with the helpers of /lib/vtest.sh and may end the guest itself
# (poweroff -f / reboot -f); when it returns, init powers the guest off.
echo "VTEST-INIT"
export PATH=/bin:/sbin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
kver=$(cat /etc/kver)
while read -r m; do
  insmod "/lib/modules/$kver/$m" || echo "VTEST-WARN insmod $m failed"
done < /etc/modules.load
vtest=
for w in $(cat /proc/cmdline); do
  case $w in
    vtest=*) vtest=${w#vtest=} ;;
    vtest.*=*) k=${w#vtest.}; export "VT_${k%%=*}=${k#*=}" ;;
  esac
done
if [ -n "$vtest" ] && [ -f "/tests/$vtest.sh" ]; then
  sh "/tests/$vtest.sh"
  echo "VTEST-EXIT $?"
else
  echo "VTEST-RESULT fail no test named '$vtest' in the initramfs"
  echo "VTEST-DONE"
fi
poweroff -f
sleep 10
