# The slirp migration test's guest (cases/80-migration.sh, lib/slirpmig.py): the NIC on
# -netdev user at 10.0.2.15/24 (gateway 10.0.2.2); an echo server on port 7000 (the
# host reaches it through hostfwd); two connections the guest opens, each sending a
# number every 0.2 s and printing what comes back as "ECHO-TAG n": TAG G through the
# guestfwd 10.0.2.100:5701 (a chardev to the host's echo service), TAG N NAT'd to the
# same service at 10.0.2.2:vtest.port. When a connection ends: "END TAG".
. /lib/vtest.sh
ifc=
for d in /sys/class/net/*; do
  [ "${d##*/}" = lo ] || { ifc=${d##*/}; break; }
done
if [ -z "$ifc" ] || ! ip link set "$ifc" up || ! ip addr add 10.0.2.15/24 dev "$ifc" ||
   ! ip route add default via 10.0.2.2; then
  vt_fail "slirpmig: no network interface to configure (${ifc:-none})"
  vt_done
  exit 1
fi
nc -ll -p 7000 -e /bin/cat &
conn() {
  tag=$1
  shift
  (i=0; while :; do echo $i; i=$((i + 1)); sleep 0.2; done) | nc "$@" |
    while read -r l; do echo "ECHO-$tag $l"; done
  echo "END $tag"
}
conn G 10.0.2.100 5701 &
conn N 10.0.2.2 "${VT_port:-5710}" &
echo "SLIRPMIG-READY"
wait
