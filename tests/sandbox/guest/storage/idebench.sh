# Guest side of bench/storage.sh: IDE (ata_piix, DMA) and ATAPI (sr) reads timed in the
# guest, one "VTEST-RESULT ok bench-NAME: MS ms" line each.
. /lib/vtest.sh
i=0
while [ $i -lt 30 ] && ! { [ -b /dev/sda ] && [ -b /dev/sr0 ]; }; do sleep 1; i=$((i + 1)); done
ms() { awk '{printf "%d", $1 * 1000}' /proc/uptime; }
run() {  # run NAME dd-args...
  local name=$1; shift
  local t0 t1; t0=$(ms); dd "$@" 2>/dev/null; t1=$(ms)
  vt_ok "bench-$name: $((t1 - t0)) ms"
}
vt_ok "bench-config: $(dmesg | grep -E 'ata[0-9]+\.[0-9]+: configured for' | tr '\n' ';')"
run ide-seqread-1m if=/dev/sda of=/dev/null bs=1M count=256 iflag=direct
if [ -x /bin/randread ]; then
  vt_ok "bench-ide-randread-4k: $(/bin/randread /dev/sda 8192 4096) ms"
fi
run atapi-seqread-64k if=/dev/sr0 of=/dev/null bs=64k iflag=direct
vt_done
poweroff -f
