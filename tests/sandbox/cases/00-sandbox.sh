#!/usr/bin/env bash
# vsb-timeout: 60
# vsb-self-check (make check counts these apart from Vireo's tests: docs/testing.md)
# The sandbox itself: a usable /dev/kvm (kvm-amd with nested paging). If this fails,
# every KVM result after it is suspect (skips of the meson kvm suite included).
{ # (parsed whole before it runs: editing this file mid-run cannot break a run)
if [ -c /dev/kvm ] && exec 3<>/dev/kvm; then
  exec 3>&-
  echo "ok - /dev/kvm is usable"
else
  echo "not ok - /dev/kvm is usable"
  echo "# no /dev/kvm in the outer guest: kvm-amd did not load (see BUILD/sandbox-logs and the outer console)"
fi
npt=$(cat /sys/module/kvm_amd/parameters/npt 2>/dev/null)
nested=$(cat /sys/module/kvm_amd/parameters/nested 2>/dev/null)
if [[ $npt == [1Yy] && $nested == [1Yy] ]]; then
  echo "ok - kvm-amd with nested paging"
else
  echo "not ok - kvm-amd with nested paging"
  echo "# kvm_amd parameters: npt=${npt:-?} nested=${nested:-?}"
fi
read -r up _ < /proc/uptime
echo "# outer guest: $(nproc) CPUs, $(( $(sed -n 's/^MemTotal: *\([0-9]*\).*/\1/p' /proc/meminfo) / 1024 )) MiB, up ${up}s"
exit
}
