#!/usr/bin/env bash
# libvirt-flow.sh VMM EMULATOR WORKDIR KERNEL INITRD: run by libvirt-ns.sh (a private
# libvirtd is up). libvirt 9.0 probes EMULATOR (domcapabilities), then drives a domain
# with direct kernel boot, a virtio-blk disk, a serial pty console and no NIC or
# display through its life: define, start (the guest reaches its init), a QMP command
# through libvirt, suspend/resume, ACPI shutdown, start again, destroy. One TAP line
# per step, named "VMM: STEP" (the driver adds "libvirt: "; "qemu: ..." lines count as
# the reference run).
vmm=$1 bin=$2 W=$3 kernel=$4 initrd=$5
dom=lv-$vmm
# Every libvirt call has a time limit: a hung emulator must fail the step, not the run.
virsh() { timeout 60 /usr/bin/virsh "$@"; }
tap() {
  local r=$1 n=$2; shift 2
  if [ "$r" = 0 ]; then echo "ok - $vmm: $n"; else echo "not ok - $vmm: $n"; fi
  local l; for l in "$@"; do [ -n "$l" ] && printf '# %s\n' "$l"; done
}
lasterr() { tail -n 3 "$W/virsh.err" 2>/dev/null | tr '\n' ' ' | cut -c1-400; }
state() { virsh domstate "$dom" 2>/dev/null | head -n1; }
# wait_for SECONDS CMD...: polls CMD every 0.5 s
wait_for() {
  local t=$(( $1 * 2 )); shift
  while [ $t -gt 0 ]; do "$@" && return 0; sleep 0.5; t=$((t - 1)); done
  return 1
}
console_has() { grep -q "$1" "$W/console-$run.log" 2>/dev/null; }

# --- the capability probe ---
s=$(date +%s%N)
virsh domcapabilities --emulatorbin "$bin" --virttype kvm --machine pc \
  > "$W/domcaps.xml" 2> "$W/virsh.err"
rc=$?
ms=$(( ($(date +%s%N) - s) / 1000000 ))
echo "LIBVIRT-PROBE-MS $vmm $ms"
tap $rc "capability probe (virsh domcapabilities)" "took ${ms} ms" "$(lasterr)"
c=$W/domcaps.xml
grep -q '<machine>pc-i440fx-7.2</machine>' "$c"; tap $? "domcapabilities: machine pc is pc-i440fx-7.2" "$(grep -m1 '<machine>' "$c")"
grep -q '<domain>kvm</domain>' "$c"; tap $? "domcapabilities: kvm domain type"
grep -q "<model usable='yes'[^>]*>qemu64</model>" "$c"; tap $? "domcapabilities: CPU model qemu64 usable" "$(grep -m2 'qemu64' "$c" | tr -s ' ')"
grep -q "<mode name='host-passthrough' supported='yes'" "$c"; tap $? "domcapabilities: host-passthrough CPU"
sed -n "/<disk supported='yes'>/,/<\/disk>/p" "$c" | grep -q '<value>virtio</value>'
tap $? "domcapabilities: virtio disks"

# --- a domain ---
qemu-img create -q -f raw "$W/disk.raw" 64M
cat > "$W/dom.xml" <<EOX
<domain type='kvm'>
  <name>$dom</name>
  <memory unit='MiB'>256</memory>
  <vcpu>1</vcpu>
  <os>
    <type arch='x86_64' machine='pc'>hvm</type>
    <kernel>$kernel</kernel>
    <initrd>$initrd</initrd>
    <cmdline>console=ttyS0 panic=-1 vtest=powerbutton</cmdline>
  </os>
  <features><acpi/></features>
  <on_poweroff>destroy</on_poweroff>
  <devices>
    <emulator>$bin</emulator>
    <disk type='file' device='disk'>
      <driver name='qemu' type='raw'/>
      <source file='$W/disk.raw'/>
      <target dev='vda' bus='virtio'/>
    </disk>
    <serial type='pty'><target port='0'/></serial>
    <console type='pty'><target type='serial' port='0'/></console>
    <controller type='usb' model='none'/>
    <memballoon model='none'/>
  </devices>
</domain>
EOX
virsh define "$W/dom.xml" > /dev/null 2> "$W/virsh.err"; tap $? "define" "$(lasterr)"

# start RUN: starts the domain and copies its serial pty to console-RUN.log
start() {
  run=$1
  virsh start "$dom" > /dev/null 2> "$W/virsh.err" || return 1
  local pty; pty=$(virsh ttyconsole "$dom" 2>/dev/null)
  [ -n "$pty" ] || pty=$(virsh dumpxml "$dom" | sed -n "s/.*<source path='\([^']*\)'.*/\1/p" | head -n1)
  cat "$pty" > "$W/console-$run.log" 2>/dev/null &
  CAT=$!
}
if start 1; then
  tap 0 "start (virsh start)" "$(virsh dumpxml "$dom" | grep -m1 pts)"
else
  tap 1 "start (virsh start)" "$(lasterr)" "$(tail -n 5 /var/log/libvirt/qemu/$dom.log 2>/dev/null | tr '\n' ' ')"
  cp /var/log/libvirt/qemu/"$dom".log "$W/" 2>/dev/null
  for n in "the guest reaches its init" "the guest sees the virtio-blk disk" \
           "virsh qemu-monitor-command (query-status)" suspend \
           "the emulator says paused (HMP info status)" resume \
           "ACPI shutdown (virsh shutdown --mode acpi): shut off" \
           "the guest saw the power button" "start again" \
           "the guest reaches its init again" destroy; do
    tap 1 "$n" "not attempted: the domain did not start"
  done
  exit 0
fi
wait_for 120 console_has VTEST-READY
tap $? "the guest reaches its init" "$(grep -m3 '^VTEST-RESULT' "$W/console-1.log" | tr -d '\r' | tr '\n' ' ')"
grep -q '^VTEST-RESULT ok disk' "$W/console-1.log"; tap $? "the guest sees the virtio-blk disk"
out=$(virsh qemu-monitor-command "$dom" '{"execute":"query-status"}' 2> "$W/virsh.err")
[[ $out == *'"status":"running"'* ]]; tap $? "virsh qemu-monitor-command (query-status)" "$out" "$(lasterr)"
virsh suspend "$dom" > /dev/null 2> "$W/virsh.err" && [ "$(state)" = paused ]
tap $? "suspend" "state: $(state)" "$(lasterr)"
out=$(virsh qemu-monitor-command "$dom" --hmp 'info status' 2>&1)
[[ $out == *paused* ]]; tap $? "the emulator says paused (HMP info status)" "$out"
virsh resume "$dom" > /dev/null 2> "$W/virsh.err" && [ "$(state)" = running ]
tap $? "resume" "state: $(state)" "$(lasterr)"
virsh shutdown --mode acpi "$dom" > /dev/null 2> "$W/virsh.err"
wait_for 90 eval '[ "$(state)" = "shut off" ]'
tap $? "ACPI shutdown (virsh shutdown --mode acpi): shut off" "state: $(state)" "$(lasterr)"
console_has VTEST-POWERBUTTON; tap $? "the guest saw the power button"
kill "$CAT" 2>/dev/null

if start 2; then tap 0 "start again"; else tap 1 "start again" "$(lasterr)"; fi
wait_for 120 console_has VTEST-READY; tap $? "the guest reaches its init again"
virsh destroy "$dom" > /dev/null 2> "$W/virsh.err" && [ "$(state)" = "shut off" ]
tap $? "destroy" "state: $(state)" "$(lasterr)"
kill "$CAT" 2>/dev/null
virsh undefine "$dom" > /dev/null 2>&1
cp /var/log/libvirt/qemu/"$dom".log "$W/" 2>/dev/null
exit 0
