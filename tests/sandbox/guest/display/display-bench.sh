#!/bin/sh
# Guest side of bench/display.sh: Linux's bochs-drm + fbcon, then two 10 s workloads with
# markers on the serial console: text scrolling on tty0 and full-screen changes written
# to /dev/fb0 (two prepared frames alternating); then 20 marker writes a second apart
# for the framebuffer-write-to-client latency.
. /lib/vtest.sh
kver=$(cat /etc/kver)
while read -r m; do insmod "/lib/modules/$kver/$m" 2>/dev/null; done < /etc/bochs.load
i=0
while [ ! -e /dev/fb0 ] && [ $i -lt 30 ]; do sleep 1; i=$((i + 1)); done
size=$(cat /sys/class/graphics/fb0/virtual_size 2>/dev/null)
w=${size%,*} h=${size#*,}
bytes=$((w * h * 4))
dd if=/dev/urandom of=/tmp/a bs=4096 count=$((bytes / 4096)) 2>/dev/null
dd if=/dev/zero of=/tmp/b bs=4096 count=$((bytes / 4096)) 2>/dev/null
echo "BENCH-FB $w x $h"
echo BENCH-READY
sleep 8
echo BENCH-SCROLL-START
( n=0; while :; do echo "line $n: the quick brown fox jumps over the lazy dog 0123456789"; n=$((n + 1)); done > /dev/tty0 ) &
pid=$!
sleep 10
kill $pid
echo BENCH-SCROLL-END
sleep 4
echo BENCH-FILL-START
( while :; do cat /tmp/a > /dev/fb0; cat /tmp/b > /dev/fb0; done ) &
pid=$!
sleep 10
kill $pid
echo BENCH-FILL-END
# Latency: the top 16 rows turn white, then dark grey (1,1,1), ... once a second, each
# write done by shell builtins (no fork between the clock and the write) and stamped with
# the guest's monotonic clock read just after it (/proc/timer_list "now at N nsecs");
# the bench maps guest time to its own with the serial lines' smallest delay.
rows=$((w * 4 * 16))
tr '\000' '\377' < /dev/zero | head -c $rows > /tmp/white
tr '\000' '\001' < /dev/zero | head -c $rows > /tmp/dark
W=$(cat /tmp/white) D=$(cat /tmp/dark)
now() { { read -r _; read -r _; read -r _ _ ns _; } < /proc/timer_list; }
sleep 2
echo BENCH-LAT-START
sleep 3
i=1
while [ $i -le 20 ]; do
  if [ $((i % 2)) = 1 ]; then echo -n "$W" > /dev/fb0; else echo -n "$D" > /dev/fb0; fi
  now
  echo "BENCH-LAT $i $ns"
  now
  echo "BENCH-CLK $ns"
  sleep 1
  i=$((i + 1))
done
echo BENCH-LAT-END
sleep 2
vt_done
