#!/bin/sh
# Display test guest (cases/70-display.sh drives the host side): a marker on the VGA text
# console (vgacon), a line typed on the keyboard read back from tty0, then Linux's bochs
# DRM driver with fbcon, another marker and another typed line. Serial lines tell the
# host when to take screendumps and type.
. /lib/vtest.sh
tty=/dev/tty0
kver=$(cat /etc/kver)
printf '\033[2J\033[H' > $tty
echo "DISPLAY MARKER ALPHA BRAVO 4711" > $tty
echo "DISPLAY-TEXT-READY"
if read -t 120 line < $tty; then echo "DISPLAY-GOT:$line"; else echo "DISPLAY-GOT-NONE"; fi
while read -r m; do
  insmod "/lib/modules/$kver/$m" 2>/dev/null || echo "VTEST-WARN insmod $m failed"
done < /etc/bochs.load
i=0
while [ ! -e /sys/class/graphics/fb0 ] && [ $i -lt 30 ]; do sleep 1; i=$((i + 1)); done
sleep 2
echo "DISPLAY-FB:$(cat /sys/class/graphics/fb0/name 2>/dev/null) $(cat /sys/class/graphics/fb0/virtual_size 2>/dev/null)"
printf '\033[2J\033[H' > $tty
echo "DISPLAY MARKER CHARLIE DELTA 4712" > $tty
echo "DISPLAY-FB-READY"
if read -t 120 line < $tty; then echo "DISPLAY-GOT2:$line"; else echo "DISPLAY-GOT2-NONE"; fi
# virtio-tablet: the host sends absolute moves (QMP input-send-event); evdev shows them.
ev=
for d in /sys/class/input/event*; do
  [ "$(cat $d/device/name 2>/dev/null)" = "QEMU Virtio Tablet" ] && ev=/dev/input/${d##*/}
done
if [ -n "$ev" ]; then
  dd if=$ev bs=24 count=3 2>/dev/null | od -An -tx1 | tr -d '\n' > /tmp/ev &
  pid=$!
  echo "DISPLAY-TABLET-READY"
  i=0
  while kill -0 $pid 2>/dev/null && [ $i -lt 60 ]; do sleep 1; i=$((i + 1)); done
  echo "DISPLAY-TABLET:$(cat /tmp/ev)"
else
  echo "DISPLAY-TABLET-NONE $(cat /sys/class/input/*/device/name 2>/dev/null | tr '\n' ,)"
fi
vt_done
