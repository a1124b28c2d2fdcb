# Network checks with the guest's own drivers (virtio_net, e1000), driven by the kernel
# command line (cases/50-net.sh; the outer side is lib/netpeer.py):
#   vtest.nics=MODEL:MB:MODE[:Q],...  NICs in order; MODEL virtio|e1000, MAC
#                             52:54:00:aa:00:MB, Q receive queues Linux should use;
#                             MODE user: NIC i is on slirp's 10.0.(2+i).0/24 (DHCP, DNS,
#                             hostfwd tcp 127.0.0.1:HFWD+i -> 8080+i, udp HFWD+10+i ->
#                             9080+i); MODE tap: 192.168.(77+i).2/24, peer .1
#   vtest.tport=N             the outer TCP echo service (10.0.x.2 / the tap peer)
#   vtest.hfwd=N              first hostfwd port (user)
#   vtest.mtu=N               tap: interface MTU (the peer's bridge has the same)
#   vtest.setlink=NAME        set_link NAME off and on again (QMP) on NIC 0
#   vtest.vhost=N             the outer VM should have N vhost-net worker threads
# A NIC spec may end in :QUEUES (the receive queues Linux should use, multiqueue).
# Results are named "TAG: CHECK" with TAG = MODEL plus the NIC's index.
. /lib/vtest.sh
PATH=/bin:/sbin:/usr/bin:/usr/sbin
export LD_LIBRARY_PATH=/lib/x86_64-linux-gnu
ip link set lo up

# (busybox sh has no locals: these helpers use _-prefixed names, vt_check uses $n)
wait_file() {
  _w=0
  while [ ! -e "$1" ] && [ $_w -lt $(($2 * 10)) ]; do usleep 100000; _w=$((_w + 1)); done
  [ -e "$1" ]
}
wait_carrier() {  # IFACE 0|1 SECONDS
  _w=0
  while [ "$(cat /sys/class/net/$1/carrier 2>/dev/null)" != "$2" ] && [ $_w -lt $(($3 * 10)) ]; do
    usleep 100000; _w=$((_w + 1))
  done
  [ "$(cat /sys/class/net/$1/carrier 2>/dev/null)" = "$2" ]
}

quiet() { "$@" > /dev/null 2>&1; }
stamp() { echo "VTEST-T $(cut -d' ' -f1 /proc/uptime) $*"; }

find_iface() {
  for d in /sys/class/net/*; do
    [ "$(cat "$d/address" 2>/dev/null)" = "$1" ] && { echo "${d##*/}"; return; }
  done
}

driver_of() {
  p=$(readlink -f "/sys/class/net/$1/device")
  [ -e "$p/driver" ] || return
  basename "$(readlink "$p/driver")"
}

check_offloads() {  # TAG IFACE MODEL
  k=$(ethtool -k "$2" 2>&1)
  csum=$(echo "$k" | awk -F': ' '/^tx-checksumming:/ { print $2 }')
  tso=$(echo "$k" | awk -F': ' '/^tcp-segmentation-offload:/ { print $2 }')
  want=$4
  vt_check "$1: offloads: tx-checksumming ${csum:-?}, tcp-segmentation-offload ${tso:-?} (want $want)" \
    [ "${csum%% *},${tso%% *}" = "$want" ]
}

tcp_out() {  # TAG ADDR PORT
  r=$(echo "$1" | nc -w 5 "$2" "$3" 2>&1)
  vt_check "$1: tcp-out: $2:$3 answered '$r'" [ "$r" = "echo:$1" ]
}

user_nic() {  # INDEX TAG IFACE MODEL
  i=$1 tag=$2 ifc=$3 net=10.0.$((2 + $1))
  stamp "$tag dhcp"
  udhcpc -i "$ifc" -n -q -t 5 -T 2 -s /lib/net/udhcpc.sh >/tmp/udhcpc-$ifc.log 2>&1
  stamp "$tag dhcp done"
  lease=$(cat /tmp/lease-$ifc 2>/dev/null)
  vt_check "$tag: dhcp: lease '${lease:-none}' (want $net.15)" [ "$lease" = "$net.15" ]
  dns=$(cat /tmp/dns-$ifc 2>/dev/null)
  vt_check "$tag: dhcp-dns: DNS server '${dns:-none}' (want $net.3)" [ "$dns" = "$net.3" ]
  r=$(nslookup "host$i.vireo.test" "$net.3" 2>&1 | tr '\n\t' '  ')
  case $r in *192.0.2.77*) vt_ok "$tag: dns: host$i.vireo.test -> 192.0.2.77" ;;
    *) vt_fail "$tag: dns: nslookup said: $r" ;; esac
  tcp_out "$tag" "$net.2" "$VT_tport"
  vt_check "$tag: ping: 1400-byte pings to $net.2" quiet ping -c 2 -W 5 -s 1400 "$net.2"
  stamp "$tag hostfwd"
  nc -l -p $((8080 + i)) -e /lib/net/echo.sh "tcp$i" &
  echo "VTEST-WAIT hostfwd-tcp $((VT_hfwd + i)) $tag-hostfwd-tcp"
  vt_check "$tag: hostfwd-tcp: the outer VM's connection reached the guest" wait_file /tmp/echo-tcp$i 45
  socat -T 40 UDP4-RECVFROM:$((9080 + i)),reuseaddr,fork SYSTEM:"/lib/net/echo.sh udp$i" &
  sock=$!
  echo "VTEST-WAIT hostfwd-udp $((VT_hfwd + 10 + i)) $tag-hostfwd-udp"
  vt_check "$tag: hostfwd-udp: the outer VM's datagram reached the guest" wait_file /tmp/echo-udp$i 45
  sleep 2; kill $sock 2>/dev/null                 # (answers to the outer side's retries)
}

bulk() {  # TAG PEER: 2 MiB each way over TCP (segmentation offloads, large frames)
  r=$( (echo "sink 2097152"; dd if=/dev/zero bs=65536 count=32 2>/dev/null) | nc -w 30 "$2" "$VT_tport" 2>&1)
  vt_check "$1: tcp-bulk-out: 2 MiB to $2, the peer says '$r'" [ "$r" = "got 2097152" ]
  r=$(echo "source 2097152" | nc -w 30 "$2" "$VT_tport" 2>/dev/null | wc -c)
  vt_check "$1: tcp-bulk-in: $r of 2097152 bytes from $2" [ "$r" = 2097152 ]
}

tap_nic() {  # INDEX TAG IFACE MODEL
  i=$1 tag=$2 ifc=$3 peer=192.168.$((77 + $1)).1
  ip addr add 192.168.$((77 + i)).2/24 dev "$ifc"
  vt_check "$tag: ping: $peer" quiet ping -c 2 -W 5 "$peer"
  if [ -n "${VT_mtu:-}" ]; then
    s=$((VT_mtu - 28))
    vt_check "$tag: mtu: $s-byte pings to $peer (MTU $VT_mtu)" quiet ping -c 2 -W 5 -s $s "$peer"
  fi
  tcp_out "$tag" "$peer" "$VT_tport"
  bulk "$tag" "$peer"
  nq=$(ls -d /sys/class/net/$ifc/queues/rx-* | wc -l)
  vt_check "$tag: queues: $nq receive queues (want ${5:-1})" [ "$nq" = "${5:-1}" ]
  nc -l -p $((8080 + i)) -e /lib/net/echo.sh "tcp$i" &
  echo "VTEST-WAIT tcp-in 192.168.$((77 + i)).2 $((8080 + i)) $tag-tcp-in"
  vt_check "$tag: tcp-in: the outer VM's connection reached the guest" wait_file /tmp/echo-tcp$i 45
}

i=0
first_if= first_tag= first_net=
for spec in $(echo "$VT_nics" | tr , ' '); do
  model=${spec%%:*} rest=${spec#*:}
  mb=${rest%%:*} rest=${rest#*:}
  mode=${rest%%:*} qs=1
  case $rest in *:*) qs=${rest#*:} ;; esac
  mac=52:54:00:aa:00:$mb tag=$model-$i
  ifc=$(find_iface "$mac")
  if [ -z "$ifc" ]; then
    vt_fail "$tag: iface: no interface with MAC $mac ($(cat /sys/class/net/*/address | tr '\n' ' '))"
    i=$((i + 1)); continue
  fi
  want=virtio_net; [ "$model" = e1000 ] && want=e1000
  drv=$(driver_of "$ifc")
  vt_check "$tag: driver: $ifc is driven by '${drv:-nothing}' (want $want)" [ "$drv" = "$want" ]
  [ "$mode" = tap ] && [ -n "${VT_mtu:-}" ] && ip link set "$ifc" mtu "$VT_mtu"  # before up
  ip link set "$ifc" up
  stamp "$tag up"
  vt_check "$tag: carrier: $ifc has a link" wait_carrier "$ifc" 1 15
  case $mode in
    user) user_nic $i "$tag" "$ifc" "$model"
          if [ "$model" = e1000 ]; then check_offloads "$tag" "$ifc" "$model" on,on
          else check_offloads "$tag" "$ifc" "$model" off,off; fi ;;
    tap) tap_nic $i "$tag" "$ifc" "$model" "$qs"
         if [ "$model" = e1000 ]; then check_offloads "$tag" "$ifc" "$model" on,on
         else check_offloads "$tag" "$ifc" "$model" on,on; fi ;;
  esac
  if [ "$model" = e1000 ]; then
    up=$(dmesg | grep "$ifc NIC Link is Up" | tail -n 1)
    vt_check "$tag: link-up: '${up#*] }'" [ -n "$up" ]
    bad=$(dmesg | grep -i e1000 | grep -iE 'hang|error|fail|warn|timeout|reset|invalid|not valid' | head -n 3 | tr '\n' '|')
    vt_check "$tag: log: no e1000 warnings (${bad:-none})" [ -z "$bad" ]
  fi
  [ -z "$first_if" ] && first_if=$ifc first_tag=$tag first_net=10.0.2 first_mode=$mode
  i=$((i + 1))
done

stamp "nics done"
if [ -n "${VT_vhost:-}" ]; then echo "VTEST-WAIT vhost-threads $VT_vhost vhost"; sleep 3; fi
if [ -n "${VT_setlink:-}" ] && [ -n "$first_if" ]; then
  echo "VTEST-WAIT qmp set_link-off {\"execute\":\"set_link\",\"arguments\":{\"name\":\"$VT_setlink\",\"up\":false}}"
  vt_check "$first_tag: set_link-off: the guest sees no carrier" wait_carrier "$first_if" 0 30
  echo "VTEST-WAIT qmp set_link-on {\"execute\":\"set_link\",\"arguments\":{\"name\":\"$VT_setlink\",\"up\":true}}"
  vt_check "$first_tag: set_link-on: the carrier is back" wait_carrier "$first_if" 1 30
  [ "$first_mode" = user ] && tcp_out "$first_tag-relinked" "$first_net.2" "$VT_tport"
fi
vt_done
poweroff -f
