# Issue #2: the machine a Linux guest sees. Parameters (kernel command line):
# vtest.cpus=N vtest.mem=MiB vtest.time=host epoch seconds at VMM launch.
. /lib/vtest.sh

n=$(grep -c '^processor' /proc/cpuinfo)
vt_check "cpus: $n online (want ${VT_cpus:-?}; online=$(cat /sys/devices/system/cpu/online))" [ "$n" = "${VT_cpus:-x}" ]

# Usable RAM as firmware reported it (e820 "System RAM" entries), in KiB.
tot=0
for d in /sys/firmware/memmap/*; do
  [ "$(cat $d/type)" = "System RAM" ] || continue
  tot=$((tot + $(cat $d/end) - $(cat $d/start) + 1))
done
kib=$((tot / 1024)); want=$((${VT_mem:-0} * 1024)); slack=$((want / 64)); [ $slack -lt 4096 ] && slack=4096
vt_check "memory: e820 RAM ${kib} KiB for -m ${VT_mem:-?} (MemTotal $(awk '/MemTotal/{print $2}' /proc/meminfo) KiB)" \
  [ $kib -le $want -a $kib -ge $((want - slack)) ]

t=/sys/firmware/acpi/tables
tabs=$(ls $t 2>/dev/null | tr '\n' ' ')
ok=1; for x in DSDT FACP APIC; do [ -e $t/$x ] || ok=; done
vt_check "acpi: tables $tabs" [ -n "$ok" ]

p=/sys/bus/pci/devices/0000:00:00.0
id="$(cat $p/vendor 2>/dev/null):$(cat $p/device 2>/dev/null)"
vt_check "pci: host bridge 0000:00:00.0 is $id (want 0x8086:0x1237)" [ "$id" = "0x8086:0x1237" ]

rtc=$(cat /sys/class/rtc/rtc0/since_epoch 2>/dev/null || echo 0)
up=$(cut -d. -f1 /proc/uptime)
d=$((rtc - ${VT_time:-0} - up)); [ $d -lt 0 ] && d=$((-d))
vt_check "rtc: within a minute of the host (off by ${d}s; rtc=$rtc host=${VT_time:-?} uptime=${up})" [ $d -le 60 ]
# Linux's own drivers on the legacy devices: i8042 found its keyboard port (serio0 is
# created only after the controller self-test and the KBD port test passed) and 8250
# probed COM1 as a 16550A (FIFO detection through FCR/IIR).
kbd=$(cat /sys/bus/serio/devices/serio0/description 2>/dev/null)
vt_check "i8042: serio0 is '${kbd:-missing}' (want 'i8042 KBD port')" [ "$kbd" = "i8042 KBD port" ]
uart=$(grep '^0:' /proc/tty/driver/serial 2>/dev/null)
case "$uart" in *'uart:16550A port:000003F8 irq:4'*) u16550=1 ;; *) u16550= ;; esac
vt_check "serial: ttyS0 ${uart:-missing} (want a 16550A at 0x3f8, irq 4)" [ -n "$u16550" ]
vt_done
poweroff -f
