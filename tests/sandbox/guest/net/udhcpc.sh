#!/bin/sh
# udhcpc event script for the network tests: the leased address on the interface, no
# routes (every peer the tests reach is on the interface's own subnet).
case $1 in
  bound|renew)
    ip addr flush dev "$interface"
    ip addr add "$ip/${mask:-24}" dev "$interface"
    echo "$ip" > "/tmp/lease-$interface"
    echo "${dns:-}" > "/tmp/dns-$interface" ;;
  deconfig) ip addr flush dev "$interface" ;;
esac
exit 0
