#!/usr/bin/env bash
# libvirt-flow.sh VMM EMULATOR WORKDIR KERNEL INITRD: run by libvirt-ns.sh (a private
# libvirtd is up). libvirt 9.0 probes EMULATOR (domcapabilities), then drives a domain
# as users define them -- direct kernel boot, a virtio-blk disk, a virtio NIC on
# <interface type='user'> (slirp), a virtio NIC on <interface type='bridge'> (libvirt
# makes the tap on bridge lvbr0 and passes it, and /dev/vhost-net, as descriptors), an
# IDE CD-ROM with an ISO made here, VNC graphics
# with a VGA, a serial pty console -- through its life: define, start (the guest checks
# each device, guest/tests/libvirt.sh), a line typed into the console, a VNC client on
# `virsh domdisplay`, attach-device/detach-device of a virtio-blk disk and a virtio
# NIC, change-media (update, eject, insert), a QMP command through libvirt,
# suspend/resume, ACPI shutdown, start again, destroy. One TAP line per step, named
# "VMM: STEP" (the driver adds "libvirt: "; "qemu: ..." lines count as the reference).
{ # (parsed whole before it runs: editing this file mid-run cannot break a run)
vmm=$1 bin=$2 W=$3 kernel=$4 initrd=$5
dom=lv-$vmm
MAC=52:54:00:aa:20:01 HPMAC=52:54:00:aa:20:02 BRMAC=52:54:00:aa:20:03
BR=lvbr0 BRNET=192.168.93
HPMARK=VIREO-LIBVIRT-HOTPLUG-7c1e WORD=vireo-typed-4d2a
VNC_CAPTURE=$VSB_BUILD/tests/vnc-capture
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
ms_of_day() { echo $(( ($1 / 1000000) % 86400000 )); }

# probe_phases LOG START_MS END_MS: where the probe's time went, from libvirtd's log
# (times of day in ms, UTC): before the first emulator start, then per emulator
# process: start until libvirt connects to its QMP socket, the QMP conversation, and
# from the kill until libvirt logs again (it polls every 200 ms until the process is
# gone, then decodes the host CPU model against its CPU map: its own work).
probe_phases() {
  awk -v s0="$2" -v e0="$3" '
    function t(x,  a) { split(substr(x, 12, 12), a, ":"); return (a[1] * 3600 + a[2] * 60 + a[3]) * 1000 }
    /qemuProcessQMPLaunch.*Try to probe/ { n++; m = $0; sub(/.* machine /, "", m); A[n] = m; L[n] = t($0); next }
    !n { next }
    kw && $3 == K && !/virProcessKillPainfully/ { N[n] = t($0); kw = 0 }
    /qemuProcessQMPConnectMonitor/ { C[n] = t($0); next }
    /QEMU_MONITOR_RECV_REPLY/ { R[n] = t($0); Q[n]++; next }
    /Killing QMP caps process/ { S[n] = t($0); K = $3; kw = 1; next }
    END {
      if (!n) { print "no emulator start in the log"; exit }
      printf "virsh until the first emulator start: %d ms\n", L[1] - s0
      for (i = 1; i <= n; i++) {
        if (!N[i]) N[i] = e0
        printf "emulator %d (%s): start to QMP connect %d ms; %d QMP replies in %d ms; kill until libvirt goes on %d ms\n", i, A[i], C[i] - L[i], Q[i], R[i] - C[i], N[i] - S[i]
      }
      printf "after the last emulator: %d ms\n", e0 - N[n]
    }' "$1"
}

# --- the capability probe ---
s=$(date +%s%N)
virsh domcapabilities --emulatorbin "$bin" --virttype kvm --machine pc \
  > "$W/domcaps.xml" 2> "$W/virsh.err"
rc=$?
e=$(date +%s%N)
ms=$(( (e - s) / 1000000 ))
echo "LIBVIRT-PROBE-MS $vmm $ms"
mapfile -t phases < <(probe_phases "$LIBVIRTD_LOG" "$(ms_of_day "$s")" "$(ms_of_day "$e")")
for p in "${phases[@]}"; do echo "LIBVIRT-PROBE-PHASE $vmm $p"; done
tap $rc "capability probe (virsh domcapabilities)" "took ${ms} ms" "${phases[@]}" "$(lasterr)"
c=$W/domcaps.xml
grep -q '<machine>pc-i440fx-7.2</machine>' "$c"; tap $? "domcapabilities: machine pc is pc-i440fx-7.2" "$(grep -m1 '<machine>' "$c")"
grep -q '<domain>kvm</domain>' "$c"; tap $? "domcapabilities: kvm domain type"
grep -q "<model usable='yes'[^>]*>qemu64</model>" "$c"; tap $? "domcapabilities: CPU model qemu64 usable" "$(grep -m2 'qemu64' "$c" | tr -s ' ')"
grep -q "<mode name='host-passthrough' supported='yes'" "$c"; tap $? "domcapabilities: host-passthrough CPU"
sed -n "/<disk supported='yes'>/,/<\/disk>/p" "$c" | grep -q '<value>virtio</value>'
tap $? "domcapabilities: virtio disks"

# --- media and disks ---
mk_iso() {  # N: cdN.iso holding a file that names it; prints its md5
  mkdir -p "$W/iso$1" && echo "VIREO-LIBVIRT-CDROM-$1" > "$W/iso$1/id.txt" &&
    xorriso -as mkisofs -quiet -V "VCD$1" -o "$W/cd$1.iso" "$W/iso$1" 2>> "$W/xorriso.err" &&
    md5sum < "$W/cd$1.iso" | cut -c1-32
}
cd1=$(mk_iso 1) cd2=$(mk_iso 2)
[ -n "$cd1" ] && [ -n "$cd2" ] ||
  tap 1 "ISO images (xorriso)" "$(tail -n 2 "$W/xorriso.err" 2>/dev/null)"
qemu-img create -q -f raw "$W/disk.raw" 64M
printf '%s' "$HPMARK" > "$W/hp.raw" && truncate -s 16M "$W/hp.raw"

# The bridge of <interface type='bridge'> (the outer VM's; both VMMs use it in turn).
ip link show $BR > /dev/null 2>&1 || { ip link add $BR type bridge &&
  ip addr add $BRNET.1/24 dev $BR && ip link set $BR up; } ||
  tap 1 "bridge $BR for <interface type='bridge'>" "ip link add failed"

cat > "$W/dom.xml" <<EOX
<domain type='kvm'>
  <name>$dom</name>
  <memory unit='MiB'>256</memory>
  <vcpu>1</vcpu>
  <os>
    <type arch='x86_64' machine='pc'>hvm</type>
    <kernel>$kernel</kernel>
    <initrd>$initrd</initrd>
    <cmdline>console=ttyS0 panic=-1 vtest=libvirt vtest.mac=$MAC vtest.hpmac=$HPMAC vtest.hpmark=$HPMARK vtest.brmac=$BRMAC vtest.brnet=$BRNET vtest.word=$WORD vtest.cd1=$cd1 vtest.cd2=$cd2</cmdline>
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
    <disk type='file' device='cdrom'>
      <driver name='qemu' type='raw'/>
      <source file='$W/cd1.iso'/>
      <target dev='hdc' bus='ide'/>
      <readonly/>
    </disk>
    <interface type='user'>
      <mac address='$MAC'/>
      <model type='virtio'/>
    </interface>
    <interface type='bridge'>
      <mac address='$BRMAC'/>
      <source bridge='$BR'/>
      <model type='virtio'/>
    </interface>
    <serial type='pty'><target port='0'/></serial>
    <console type='pty'><target type='serial' port='0'/></console>
    <graphics type='vnc' port='-1' autoport='yes' listen='127.0.0.1'/>
    <video><model type='vga'/></video>
    <controller type='usb' model='none'/>
    <memballoon model='none'/>
  </devices>
</domain>
EOX
cat > "$W/hpdisk.xml" <<EOX
<disk type='file' device='disk'>
  <driver name='qemu' type='raw'/>
  <source file='$W/hp.raw'/>
  <target dev='vdb' bus='virtio'/>
</disk>
EOX
cat > "$W/hpnic.xml" <<EOX
<interface type='user'>
  <mac address='$HPMAC'/>
  <model type='virtio'/>
</interface>
EOX
virsh define "$W/dom.xml" > /dev/null 2> "$W/virsh.err"; tap $? "define" "$(lasterr)"

# start RUN: starts the domain, copies its serial pty to console-RUN.log (PTY is set)
start() {
  run=$1
  virsh start "$dom" > /dev/null 2> "$W/virsh.err" || return 1
  PTY=$(virsh ttyconsole "$dom" 2>/dev/null)
  [ -n "$PTY" ] || PTY=$(virsh dumpxml "$dom" | sed -n "s/.*<source path='\([^']*\)'.*/\1/p" | head -n1)
  cat "$PTY" > "$W/console-$run.log" 2>/dev/null &
  CAT=$!
}
# ready: the guest asks for a line on its console (serial input), gets it, checks its
# devices and says VTEST-READY.
ready() {  # [again]
  wait_for 120 console_has 'VTEST-WAIT lv serial-in' || return 1
  printf '%s\n' "$WORD${1:+ $1}" > "$PTY"
  wait_for 60 console_has VTEST-READY
}
GUEST_KEYS="power-button
disk
nic: seen
nic: carrier
nic: dhcp
nic: ping
bridge-nic: seen
bridge-nic: carrier
bridge-nic: ping
cdrom
vga
serial-in"
HP_KEYS="hp-disk: seen
hp-disk: read
hp-disk: gone
hp-nic: seen
hp-nic: carrier
hp-nic: dhcp
hp-nic: ping
hp-nic: gone
media: change-media --update
media: change-media --eject
media: change-media --insert"
guest_results() {  # KEYS: a TAP line per check the guest reported
  local k line
  while IFS= read -r k; do
    line=$(grep -m1 -E "^VTEST-RESULT (ok|fail) $k:" "$W/console-$run.log" | tr -d '\r')
    case $line in
      "VTEST-RESULT ok "*) tap 0 "guest: $k" "${line#VTEST-RESULT ok $k: }" ;;
      "VTEST-RESULT fail "*) tap 1 "guest: $k" "${line#VTEST-RESULT fail $k: }" ;;
      *) tap 1 "guest: $k" "the guest did not report this check" ;;
    esac
  done <<< "$1"
}

if start 1; then
  tap 0 "start (virsh start)" "$(virsh dumpxml "$dom" | grep -m1 pts)"
else
  tap 1 "start (virsh start)" "$(lasterr)" "$(tail -n 5 /var/log/libvirt/qemu/$dom.log 2>/dev/null | tr '\n' ' ')"
  cp /var/log/libvirt/qemu/"$dom".log "$W/" 2>/dev/null
  while IFS= read -r n; do
    tap 1 "$n" "not attempted: the domain did not start"
  done <<EON
the guest reaches its init, reads the console, checks its devices
$(sed 's/^/guest: /' <<< "$GUEST_KEYS")
bridge NIC: the emulator holds the tap and /dev/vhost-net libvirt passed
VNC: virsh domdisplay, an RFB client reads the screen
attach-device: a virtio-blk disk
detach-device: the disk, libvirt sees DEVICE_DELETED
attach-device: a virtio NIC (interface type user)
detach-device: the NIC, libvirt sees DEVICE_DELETED
change-media --update: the second ISO
change-media --eject
change-media --insert: the first ISO
$(sed 's/^/guest: /' <<< "$HP_KEYS")
virsh qemu-monitor-command (query-status)
suspend
the emulator says paused (HMP info status)
resume
ACPI shutdown (virsh shutdown --mode acpi): shut off
the guest saw the power button
start again
the guest reaches its init again
destroy
EON
  exit 0
fi
ready; tap $? "the guest reaches its init, reads the console, checks its devices" \
  "$(grep -m3 '^VTEST-RESULT fail' "$W/console-1.log" | tr -d '\r' | tr '\n' ' ')"
guest_results "$GUEST_KEYS"
# The bridge NIC's data path: libvirt opened /dev/vhost-net and the tap and passed them;
# the emulator holds them (its pid from libvirt's pid file).
pid=$(cat /run/libvirt/qemu/$dom.pid 2>/dev/null)
vh=$(ls -l /proc/${pid:-0}/fd 2>/dev/null | grep -c '/dev/vhost-net')
tn=$(ls -l /proc/${pid:-0}/fd 2>/dev/null | grep -c '/dev/net/tun')
[ "${vh:-0}" -ge 1 ] && [ "${tn:-0}" -ge 1 ]
tap $? "bridge NIC: the emulator holds the tap and /dev/vhost-net libvirt passed" \
  "pid ${pid:-none}: $tn tun, $vh vhost-net descriptors"

# VNC: the display libvirt reports answers as an RFB server with the VGA's screen.
disp=$(virsh domdisplay "$dom" 2> "$W/virsh.err")
addr=${disp#vnc://}
if [[ $disp == vnc://* ]] && "$VNC_CAPTURE" "$addr" -o "$W/vnc-$vmm.ppm" 2> "$W/vnc.err" &&
   [ "$(head -c 2 "$W/vnc-$vmm.ppm")" = P6 ]; then
  tap 0 "VNC: virsh domdisplay, an RFB client reads the screen" \
    "$disp: $(sed -n 2p "$W/vnc-$vmm.ppm") pixels"
else
  tap 1 "VNC: virsh domdisplay, an RFB client reads the screen" "domdisplay '$disp'" \
    "$(cat "$W/vnc.err" 2>/dev/null)" "$(lasterr)"
fi

# step NAME WHAT CMD...: when the guest asks (VTEST-WAIT lv NAME), CMD; a TAP line;
# then "done" typed into the console tells the guest to look. Once the guest stops
# asking, the remaining steps are not attempted.
skip=
step() {
  local name=$1 what=$2; shift 2
  if [ -n "$skip" ]; then tap 1 "$what" "not attempted: $skip"; return; fi
  if ! wait_for 90 console_has "VTEST-WAIT lv $name"; then
    skip="the guest did not ask for $name"
    tap 1 "$what" "$skip"; return
  fi
  "$@" > /dev/null 2> "$W/virsh.err"; tap $? "$what" "$(lasterr)"
  printf 'done\n' > "$PTY"
}
# libvirt removes a device from the live XML when DEVICE_DELETED comes.
gone_from() {  # LIST-COMMAND WORD
  local l; l=$(virsh "$1" "$dom" 2>/dev/null) || return 1
  [[ $l != *"$2"* ]]
}
detach() {  # XML LIST-COMMAND WORD
  virsh detach-device "$dom" "$1" --live && wait_for 30 gone_from "$2" "$3"
}
step add-disk "attach-device: a virtio-blk disk" virsh attach-device "$dom" "$W/hpdisk.xml" --live
step del-disk "detach-device: the disk, libvirt sees DEVICE_DELETED" detach "$W/hpdisk.xml" domblklist vdb
step add-nic "attach-device: a virtio NIC (interface type user)" virsh attach-device "$dom" "$W/hpnic.xml" --live
step del-nic "detach-device: the NIC, libvirt sees DEVICE_DELETED" detach "$W/hpnic.xml" domiflist "$HPMAC"
step change-media "change-media --update: the second ISO" virsh change-media "$dom" hdc "$W/cd2.iso" --update --live
step eject "change-media --eject" virsh change-media "$dom" hdc --eject --live
step insert "change-media --insert: the first ISO" virsh change-media "$dom" hdc "$W/cd1.iso" --insert --live
# A guest that stopped asking is hung or gone: its checks are not waited for again
# (each wait would cost 90 s of the sandbox's budget for a result already known).
[ -z "$skip" ] && wait_for 90 console_has 'VTEST-WAIT lv lifecycle'
guest_results "$HP_KEYS"

out=$(virsh qemu-monitor-command "$dom" '{"execute":"query-status"}' 2> "$W/virsh.err")
[[ $out == *'"status":"running"'* ]]; tap $? "virsh qemu-monitor-command (query-status)" "$out" "$(lasterr)"
virsh suspend "$dom" > /dev/null 2> "$W/virsh.err" && [ "$(state)" = paused ]
tap $? "suspend" "state: $(state)" "$(lasterr)"
out=$(virsh qemu-monitor-command "$dom" --hmp 'info status' 2>&1)
[[ $out == *paused* ]]; tap $? "the emulator says paused (HMP info status)" "$out"
virsh resume "$dom" > /dev/null 2> "$W/virsh.err" && [ "$(state)" = running ]
tap $? "resume" "state: $(state)" "$(lasterr)"
if [ -n "$skip" ]; then
  # No guest to press the button for: destroyed, so the second start is still tried.
  tap 1 "ACPI shutdown (virsh shutdown --mode acpi): shut off" "not attempted: $skip"
  tap 1 "the guest saw the power button" "not attempted: $skip"
  virsh destroy "$dom" > /dev/null 2>&1
else
  virsh shutdown --mode acpi "$dom" > /dev/null 2> "$W/virsh.err"
  wait_for 90 eval '[ "$(state)" = "shut off" ]'
  tap $? "ACPI shutdown (virsh shutdown --mode acpi): shut off" "state: $(state)" "$(lasterr)"
  console_has VTEST-POWERBUTTON; tap $? "the guest saw the power button"
fi
kill "$CAT" 2>/dev/null
cp /var/log/libvirt/qemu/"$dom".log "$W/" 2>/dev/null

if start 2; then
  tap 0 "start again"
  ready again; tap $? "the guest reaches its init again"
else
  tap 1 "start again" "state: $(state)" "$(lasterr)"
  tap 1 "the guest reaches its init again" "not attempted: the domain did not start"
fi
virsh destroy "$dom" > /dev/null 2> "$W/virsh.err" && [ "$(state)" = "shut off" ]
tap $? "destroy" "state: $(state)" "$(lasterr)"
kill "$CAT" 2>/dev/null
virsh undefine "$dom" > /dev/null 2>&1
exit 0
}
