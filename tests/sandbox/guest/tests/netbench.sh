# bench/net.sh's guest side: for each NIC (vtest.nics=LABEL:MB:MODE,..., MODE user =
# DHCP on slirp 10.0.(2+k).0/24 with the servers at .2, tap = 192.168.(77+i).2/24 with
# the servers at .1), iperf3 TCP throughput guest->outer and outer->guest (-R) and the
# 1-byte request/response latency (netrr), each twice: cold (first) and warm (second).
# Prints "VTEST-RESULT ok bench-LABEL-METRIC-cold|warm: VALUE".
. /lib/vtest.sh
PATH=/bin:/sbin:/usr/bin:/usr/sbin
export LD_LIBRARY_PATH=/lib/x86_64-linux-gnu
ip link set lo up
T=${VT_secs:-5}
i=0 k=0
for spec in $(echo "$VT_nics" | tr , ' '); do
  label=${spec%%:*} rest=${spec#*:} mb=${rest%%:*} mode=${rest#*:}
  ifc=
  for d in /sys/class/net/*; do
    [ "$(cat "$d/address")" = "52:54:00:aa:00:$mb" ] && ifc=${d##*/}
  done
  [ -n "$ifc" ] || { vt_fail "bench-$label: no interface"; i=$((i + 1)); continue; }
  ip link set "$ifc" up
  n=0; while [ "$(cat /sys/class/net/$ifc/carrier)" != 1 ] && [ $n -lt 150 ]; do usleep 100000; n=$((n + 1)); done
  if [ "$mode" = user ]; then
    udhcpc -i "$ifc" -n -q -t 5 -T 2 -s /lib/net/udhcpc.sh >/dev/null 2>&1
    peer=10.0.$((2 + k)).2 k=$((k + 1))
  else
    ip addr add 192.168.$((77 + i)).2/24 dev "$ifc"
    peer=192.168.$((77 + i)).1
  fi
  for run in cold warm; do
    for dir in tx rx; do
      r=; [ $dir = rx ] && r=-R
      v=$(iperf3 -c "$peer" -t "$T" -f m $r 2>&1 | awk '/receiver/ { print $(NF-2) }')
      echo "VTEST-RESULT ok bench-$label-$dir-$run: ${v:-0} Mbit/s"
    done
    v=$(netrr "$peer" 5301 ${VT_rr:-2000} 2>&1 | sed -n 's/.*median \([0-9.]*\) us.*/\1/p')
    echo "VTEST-RESULT ok bench-$label-rr-$run: ${v:-0} us"
  done
  ip addr flush dev "$ifc"
  ip link set "$ifc" down
  i=$((i + 1))
done
vt_done
poweroff -f
