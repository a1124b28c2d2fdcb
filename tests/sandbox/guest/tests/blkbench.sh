# Guest side of bench/virtio-blk.sh: timed dd runs on /dev/vda (O_DIRECT), one
# "VTEST-RESULT ok bench-NAME: MS ms" line each (times from /proc/uptime, 10 ms steps).
. /lib/vtest.sh
ms() { awk '{printf "%d", $1 * 1000}' /proc/uptime; }
run() {  # run NAME dd-args...
  local name=$1; shift
  local t0 t1; t0=$(ms); dd "$@" 2>/dev/null; t1=$(ms)
  vt_ok "bench-$name: $((t1 - t0)) ms"
}
run seqread-1m if=/dev/vda of=/dev/null bs=1M count=256 iflag=direct
run seqwrite-1m if=/dev/zero of=/dev/vda bs=1M count=256 oflag=direct
run read-4k if=/dev/vda of=/dev/null bs=4k count=16384 iflag=direct
run write-4k if=/dev/zero of=/dev/vda bs=4k count=16384 oflag=direct
vt_done
poweroff -f
