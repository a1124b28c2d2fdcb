# The migration tests' workload (cases/80-migration.sh): /bin/migload on /dev/vda,
# dirtying vtest.dirty MiB at vtest.rate MiB/s, until a 'q' on the console.
# vtest.ip=ADDR/LEN vtest.peer=ADDR:PORT: the one NIC (virtio_net) gets ADDR and
# migload keeps a TCP connection to the harness's echo service at PEER.
. /lib/vtest.sh
peer=
if [ -n "${VT_ip:-}" ] && [ -n "${VT_peer:-}" ]; then
  ifc=
  for d in /sys/class/net/*; do
    [ "${d##*/}" = lo ] || { ifc=${d##*/}; break; }
  done
  if [ -z "$ifc" ]; then
    echo "NET-ERROR no network interface"
  elif ip link set "$ifc" up && ip addr add "$VT_ip" dev "$ifc"; then
    peer=$VT_peer
  else
    echo "NET-ERROR cannot configure $ifc"
  fi
fi
if [ ! -b /dev/vda ]; then
  vt_fail "migrate: no /dev/vda"
else
  /bin/migload /dev/vda "${VT_dirty:-16}" "${VT_rate:-4}" $peer
fi
vt_done
