#!/usr/bin/env bash
# Benchmark (not a test): networking through the guest's own drivers, Vireo vs QEMU 7.2,
# in the nested-KVM sandbox. One boot per VMM and run with five NICs, each measured in
# turn by the guest (tests/sandbox/guest/tests/netbench.sh):
#   vhost   virtio-net-pci on -netdev tap,vhost=on     (bridge br0, 192.168.77.0/24)
#   vtap    virtio-net-pci on -netdev tap              (br1, 192.168.78.0/24)
#   vuser   virtio-net-pci on -netdev user             (slirp 10.0.2.0/24)
#   etap    e1000 on -netdev tap                       (br3, 192.168.80.0/24)
#   euser   e1000 on -netdev user                      (slirp 10.0.3.0/24)
# iperf3 (-t BENCH_SECS, default 5) guest->outer ("tx") and outer->guest ("rx", -R), and
# the median of BENCH_RR (default 2000) 1-byte TCP round trips (netrr), each done twice
# in one boot: cold (first) then warm (second). The servers (iperf3 -s, netrr -s) run
# in the outer VM's network namespace that holds the bridges; slirp reaches them at
# 10.0.x.2 (its host address). RUNS (default 1) interleaved runs of vireo and qemu,
# medians; ratios are vireo/qemu for throughput (> 1: Vireo faster) and qemu/vireo for
# latency (> 1: Vireo faster).
#   bench/net.sh [RUNS]
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
. "$root/tests/sandbox/lib/common.sh"
vsb_ensure_setup
initrd=$(vsb_inner_initrd) || vsb_die "cannot build the inner initramfs"
[ -x "$root/build/tests/netrr" ] || vsb_die "build/tests/netrr is missing (ninja -C build)"
exec bash "$VSB_DIR/sandbox.sh" run --timeout 2400 --cwd "$root" --rw "$root/build" \
  --env "VSB_VMLINUZ=$VMLINUZ" --env "VSB_INITRD=$initrd" --env "RUNS=${1:-1}" \
  --env "VSB_BUILD=$root/build" --env "VSB_ROOT=$root" --env "VSB_KVER=$KVER" \
  --env "VSB_MODDIR=$MODDIR" --env "BENCH_SECS=${BENCH_SECS:-5}" \
  --env "BENCH_RR=${BENCH_RR:-2000}" -- bash -c '
. tests/sandbox/lib/vm.sh
. tests/sandbox/lib/netinitrd.sh
VSB_WORK=$(mktemp -d /tmp/netbench.XXXXXX)
initrd=$VSB_WORK/net.cpio.gz
net_initrd $initrd || exit 1
NS=benchnet
ip link set lo up
ip netns add $NS && ip -n $NS link set lo up || exit 1
for n in 0 1 3; do
  ip -n $NS link add br$n type bridge && ip -n $NS addr add 192.168.$((77 + n)).1/24 dev br$n &&
    ip -n $NS link set br$n up || exit 1
done
printf "#!/bin/sh\nip link set \"\$1\" master \"br\${1#vtap}\" && ip link set \"\$1\" up\n" > $VSB_WORK/ifup.sh
chmod +x $VSB_WORK/ifup.sh
ip netns exec $NS iperf3 -s -D --logfile $VSB_WORK/iperf3.log
ip netns exec $NS $VSB_BUILD/tests/netrr -s 5301 &
tapopt="script=$VSB_WORK/ifup.sh,downscript=no"
for run in $(seq 1 $RUNS); do
  for vmm in vireo qemu; do
    vsb_vmm_cmd $vmm || { echo "$VMM_ERR" >&2; exit 1; }
    log=$VSB_BUILD/netbench-$vmm-$run.log
    vsb_boot $log --timeout 900 --first-output 150 --silence 300 --marker VTEST-INIT \
      --exit-after VTEST-DONE --exit-grace 20 -- ip netns exec $NS "${VMM_CMD[@]}" -m 512 -smp 2 \
      -netdev tap,id=t0,ifname=vtap0,$tapopt,vhost=on -device virtio-net-pci,netdev=t0,mac=52:54:00:aa:00:20 \
      -netdev tap,id=t1,ifname=vtap1,$tapopt -device virtio-net-pci,netdev=t1,mac=52:54:00:aa:00:21 \
      -netdev user,id=u2 -device virtio-net-pci,netdev=u2,mac=52:54:00:aa:00:22 \
      -netdev tap,id=t3,ifname=vtap3,$tapopt -device e1000,netdev=t3,mac=52:54:00:aa:00:23 \
      -netdev user,id=u4,net=10.0.3.0/24 -device e1000,netdev=u4,mac=52:54:00:aa:00:24 \
      -kernel "$VSB_VMLINUZ" -initrd $initrd -append "console=ttyS0 quiet vtest=netbench vtest.secs=$BENCH_SECS vtest.rr=$BENCH_RR vtest.nics=vhost:20:tap,vtap:21:tap,vuser:22:user,etap:23:tap,euser:24:user"
    echo "# $vmm run $run: $VM_REASON after ${VM_ELAPSED}s" >&2
    grep "^VTEST-RESULT ok bench-" $log | sed "s/^VTEST-RESULT ok bench-/$vmm /; s/: / /"
  done
done > $VSB_WORK/rows.txt
ip netns del $NS
python3 - $VSB_WORK/rows.txt <<PY
import statistics, sys
d = {}
for line in open(sys.argv[1]):
    w = line.split()
    if len(w) < 3:
        continue
    vmm, key, val = w[0], w[1], float(w[2])
    d.setdefault(key, {}).setdefault(vmm, []).append(val)
rows = [("vhost", "virtio-net + tap + vhost-net"), ("vtap", "virtio-net + tap"),
        ("vuser", "virtio-net + slirp"), ("etap", "e1000 + tap"), ("euser", "e1000 + slirp")]
def med(key, vmm):
    v = d.get(key, {}).get(vmm)
    return statistics.median(v) if v else None
print("| configuration | metric | qemu cold | vireo cold | qemu warm | vireo warm | ratio (warm) |")
print("|---|---|---|---|---|---|---|")
for label, name in rows:
    for metric, unit, better in (("tx", "Mbit/s", "hi"), ("rx", "Mbit/s", "hi"), ("rr", "us", "lo")):
        q = [med("%s-%s-%s" % (label, metric, t), "qemu") for t in ("cold", "warm")]
        v = [med("%s-%s-%s" % (label, metric, t), "vireo") for t in ("cold", "warm")]
        if None in q + v or 0 in (q[1], v[1]):
            print("| %s | %s | missing |" % (name, metric)); continue
        ratio = v[1] / q[1] if better == "hi" else q[1] / v[1]
        what = {"tx": "TCP guest->outer", "rx": "TCP outer->guest", "rr": "1-byte RR median"}[metric]
        print("| %s | %s (%s) | %.0f | %.0f | %.0f | %.0f | %.2fx |"
              % (name, what, unit, q[0], v[0], q[1], v[1], ratio))
PY
'
