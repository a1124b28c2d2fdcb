#!/usr/bin/env bash
# vsb-timeout: 1200
# Networking (issue 9) with the guest's own drivers (virtio_net, e1000) and busybox
# tools, for Vireo and (to prove the test) Debian's QEMU 7.2, same command line. One boot
# per VMM with five NICs, run in a network namespace of the outer VM:
#  0 virtio-net on -netdev user/-device (slirp 10.0.2.0/24)
#  1 e1000 from -nic user (10.0.3.0/24)
#    DHCP lease and DNS server, a DNS lookup answered by a DNS server in the outer VM
#    (slirp forwards to it), TCP to an echo service in the outer VM, pings, hostfwd TCP
#    and UDP from the outer VM into the guest; set_link off/on on NIC 0 seen by the guest.
#  2 virtio-net on -netdev tap (userspace datapath)
#  3 virtio-net on -netdev tap,vhost=on,queues=2 with mq=on (vhost-net, two queue pairs)
#  4 e1000 on -netdev tap
#    each tap on its own bridge (script= attaches it), MTU 9000: pings (jumbo too), TCP
#    both ways, 2 MiB bulk transfers both ways, the receive queues Linux uses.
#  every NIC: the driver bound, carrier, offloads in ethtool -k; e1000: its log.
# The outer side (services, hostfwd clients, QMP, the vhost-net threads) is
# lib/netpeer.py, driven by "VTEST-WAIT ..." lines on the guest console.
{ # (parsed whole before it runs: editing this file mid-run cannot break a run)
. "$VSB_LIB/vm.sh"
. "$VSB_LIB/netinitrd.sh"
APPEND="console=ttyS0 quiet panic=-1"
W=$VSB_WORK
TPORT=5601 HFWD=6100
ip link set lo up 2>/dev/null || busybox ip link set lo up 2>/dev/null || true
initrd=$W/net.cpio.gz
if ! net_initrd "$initrd" 2> "$VSB_LOGDIR/initrd.err"; then
  tap 1 "net: inner initramfs" "$(tail -n 3 "$VSB_LOGDIR/initrd.err")"; exit 0
fi
echo "nameserver 127.0.0.1" > "$W/resolv.conf"

# report VMM LOG RESULTS KEYS: one TAP line per expected guest check (KEYS: lines
# "TAG: CHECK", the prefixes of VTEST-RESULT lines) and per line of the outer side's
# results file ("ok NAME" / "fail NAME: why").
report() {
  local vmm=$1 log=$2 res=$3 keys=$4 why line k st name rest
  why=$(vsb_why "$log")
  while IFS= read -r k; do
    [ -n "$k" ] || continue
    line=$(grep -m1 "^VTEST-RESULT [a-z]* $k:" "$log")
    case $line in
      "VTEST-RESULT ok "*) tap 0 "$vmm: $k" "${line#VTEST-RESULT ok $k: }" ;;
      "VTEST-RESULT fail "*) tap 1 "$vmm: $k" "${line#VTEST-RESULT fail $k: }" ;;
      *) tap 1 "$vmm: $k" "the guest did not report this check" "$why" ;;
    esac
  done <<< "$keys"
  while read -r st name rest; do
    name=${name%:}
    if [ "$st" = ok ]; then tap 0 "$vmm: outer: $name"
    else tap 1 "$vmm: outer: $name" "$rest"; fi
  done < "$res"
  if grep -q '^VTEST-DONE' "$log" && [ "$VM_REASON" = exited ] && [ "$VM_RC" = 0 ]; then
    tap 0 "$vmm: guest powered off, exit 0"
  else
    tap 1 "$vmm: guest powered off, exit 0" "$why"
  fi
}

stop_peer() {  # PID: netpeer ends by itself after VTEST-DONE; give it 10 s, then stop it
  local n=0
  while kill -0 "$1" 2>/dev/null && [ $n -lt 20 ]; do sleep 0.5; n=$((n + 1)); done
  kill "$1" 2>/dev/null; wait "$1" 2>/dev/null
}

nic_keys() {  # MODE TAG MODEL: the checks net.sh makes for one NIC
  local k list
  if [ "$1" = user ]; then list="driver carrier dhcp dhcp-dns dns tcp-out ping hostfwd-tcp hostfwd-udp offloads"
  else list="driver carrier ping mtu tcp-out tcp-bulk-out tcp-bulk-in queues tcp-in offloads"; fi
  for k in $list; do echo "$2: $k"; done
  if [ "$3" = e1000 ]; then echo "$2: link-up"; echo "$2: log"; fi
}

# The network namespace: bridges br2-br4 (192.168.79-81.1/24, MTU 9000), the services;
# the VMM runs in it (with /etc/resolv.conf pointing at the DNS service), script= puts
# each tap vtapN on brN.
NS=vsbnet
net_setup() {
  ip netns del $NS 2>/dev/null
  ip netns add $NS || return 1
  ip -n $NS link set lo up
  for n in 2 3 4; do
    ip -n $NS link add br$n type bridge || return 1
    ip -n $NS link set br$n mtu 9000
    ip -n $NS addr add 192.168.$((77 + n)).1/24 dev br$n
    ip -n $NS link set br$n up
  done
  printf '#!/bin/sh\nn=${1#vtap}\nip link set "$1" mtu 9000 && ip link set "$1" master "br$n" && ip link set "$1" up\n' > "$W/ifup.sh"
  chmod +x "$W/ifup.sh"
}

net_case() {  # VMM
  local vmm=$1 log=$VSB_LOGDIR/$1.log res=$W/$1.res peer qmp=$W/qmp-$1.sock keys
  : > "$res"
  if ! vsb_vmm_cmd "$vmm"; then tap 1 "$vmm: start" "$VMM_ERR"; return; fi
  local tap="script=$W/ifup.sh,downscript=no" attempt
  for attempt in 1 2; do
  rm -f "$log" "$qmp"
  ip netns exec $NS python3 -I "$VSB_LIB/netpeer.py" --log "$log" --out "$res" \
    --tcp "0.0.0.0:$TPORT" --dns 127.0.0.1:53 --qmp "$qmp" --timeout 560 2> "$log.peer" &
  peer=$!
  vsb_boot "$log" --timeout 560 --first-output 150 --silence 150 --marker VTEST-INIT \
    --exit-after VTEST-DONE --exit-grace 20 -- \
    ip netns exec $NS unshare -m sh -c 'mount --bind "$0" /etc/resolv.conf && exec "$@"' \
    "$W/resolv.conf" "${VMM_CMD[@]}" -m 512 -smp 2 -qmp "unix:$qmp,server=on,wait=off" \
    -netdev "user,id=un0,hostfwd=tcp:127.0.0.1:$HFWD-:8080,hostfwd=udp:127.0.0.1:$((HFWD + 10))-:9080" \
    -device virtio-net-pci,netdev=un0,mac=52:54:00:aa:00:01,id=nic0 \
    -nic "user,model=e1000,mac=52:54:00:aa:00:02,net=10.0.3.0/24,hostfwd=tcp:127.0.0.1:$((HFWD + 1))-:8081,hostfwd=udp:127.0.0.1:$((HFWD + 11))-:9081" \
    -netdev "tap,id=t2,ifname=vtap2,$tap" \
    -device virtio-net-pci,netdev=t2,mac=52:54:00:aa:00:03 \
    -netdev "tap,id=t3,ifname=vtap3,$tap,vhost=on,queues=2" \
    -device virtio-net-pci,netdev=t3,mac=52:54:00:aa:00:04,mq=on,vectors=6 \
    -netdev "tap,id=t4,ifname=vtap4,$tap" \
    -device e1000,netdev=t4,mac=52:54:00:aa:00:05 \
    -kernel "$VSB_VMLINUZ" -initrd "$initrd" \
    -append "$APPEND vtest=net vtest.nics=virtio:01:user,e1000:02:user,virtio:03:tap,virtio:04:tap:2,e1000:05:tap vtest.tport=$TPORT vtest.hfwd=$HFWD vtest.setlink=nic0 vtest.mtu=9000 vtest.vhost=2"
  # Known intermittent fault, cause not found (README, docs/sandbox.md): now and then
  # Vireo with this five-NIC command line prints nothing at all (not even the kernel's
  # first line) and is killed after 150 s; the same build passes the next boot. Said
  # here and retried once; a second silent boot fails the checks.
  [ "$VM_REASON" = no-output ] && [ $attempt = 1 ] || break
  echo "# $vmm: no console output in 150 s (first boot); log kept as $log.silent," \
       "threads and stacks in $log.silent.diag; retried" >&2
  echo "# $vmm: no console output in 150 s on the first boot; retried once"
  stop_peer "$peer"
  mv -f "$log" "$log.silent"; mv -f "$log.diag" "$log.silent.diag" 2>/dev/null; : > "$res"
  done
  stop_peer "$peer"
  keys="$(nic_keys user virtio-0 virtio)
$(nic_keys user e1000-1 e1000)
$(nic_keys tap virtio-2 virtio)
$(nic_keys tap virtio-3 virtio)
$(nic_keys tap e1000-4 e1000)
virtio-0: set_link-off
virtio-0: set_link-on
virtio-0-relinked: tcp-out"
  report "$vmm" "$log" "$res" "$keys"
}

if net_setup 2> "$VSB_LOGDIR/net-setup.err"; then
  for vmm in ${VSB_BOOT_VMMS:-vireo qemu}; do
    t0=$(date +%s)
    net_case "$vmm"
    echo "# $vmm: $(( $(date +%s) - t0 )) s (VTEST-INIT after ${VM_MARKER_S:-?} s)" >&2
  done
else
  tap 1 "network namespace with bridges" "$(tail -n 3 "$VSB_LOGDIR/net-setup.err")"
fi
ip netns del $NS 2>/dev/null
exit
}
