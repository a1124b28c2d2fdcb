#!/bin/sh
# Stays up until the ACPI power button is pressed (virsh shutdown --mode acpi, QMP
# system_powerdown), then powers off: the guest side of the libvirt lifecycle test.
# Needs the button and evdev modules (Linux's ACPI power button as an input device).
. /lib/vtest.sh
ev=
for d in /sys/class/input/input*; do
  [ "$(cat "$d/name" 2>/dev/null)" = "Power Button" ] || continue
  for e in "$d"/event*; do [ -e "$e" ] && ev=$(basename "$e"); done
done
vt_check "power-button: the ACPI power button is input device '$ev'" [ -n "$ev" ]
vt_check "disk: /dev/vda is there ($(cat /sys/block/vda/size 2>/dev/null) sectors)" [ -b /dev/vda ]
echo "VTEST-READY"
[ -n "$ev" ] && dd if="/dev/input/$ev" of=/dev/null bs=24 count=1 2>/dev/null
echo "VTEST-POWERBUTTON"
poweroff -f
