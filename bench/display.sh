#!/usr/bin/env bash
# Benchmark (not a test): the VNC path, Vireo vs QEMU 7.2, in the nested-KVM sandbox.
# Each VMM boots Debian's kernel with -vga std and -vnc unix:...; the guest loads
# bochs-drm (fbcon on the dispi framebuffer, 1024x768x32) and runs two 10 s workloads:
# text scrolling on tty0 and full-screen changes (two prepared frames alternating in
# /dev/fb0). One VNC client (build/tests/vnc-capture, ZRLE, always one incremental
# request outstanding) counts updates and bytes; the VMM's CPU time is sampled around
# each workload. RUNS (default 3) interleaved runs; medians and ratios Vireo/QEMU
# (< 1: Vireo sends fewer bytes / uses less CPU). Also: screendump time (PNG, QMP), and
# the latency from a guest framebuffer write to a VNC client receiving it (20 writes a
# second apart, each stamped by a serial line; bench/lib/display_bench.py).
#   bench/display.sh [RUNS]
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
. "$root/tests/sandbox/lib/common.sh"
vsb_ensure_setup
initrd=$(vsb_display_initrd) || vsb_die "cannot build the display initramfs"
exec bash "$VSB_DIR/sandbox.sh" run --timeout 2400 --cwd "$root" \
  --env "VSB_VMLINUZ=$VMLINUZ" --env "VSB_INITRD=$initrd" --env "RUNS=${1:-3}" \
  --env "VSB_BUILD=$root/build" -- bash -c '
. tests/sandbox/lib/vm.sh
for run in $(seq 1 $RUNS); do
  for vmm in vireo qemu; do
    vsb_vmm_cmd $vmm || { echo "$VMM_ERR"; exit 1; }
    python3 -I bench/lib/display_bench.py $vmm "$VSB_BUILD/tests/vnc-capture" \
      unix:/tmp/$vmm.vnc /tmp/$vmm.qmp "${VMM_CMD[@]}" -m 512 -vga std \
      -vnc unix:/tmp/$vmm.vnc -qmp unix:/tmp/$vmm.qmp,server=on,wait=off \
      -kernel "$VSB_VMLINUZ" -initrd "$VSB_INITRD" \
      -append "console=ttyS0 quiet vtest=display-bench"
  done
done | tee /tmp/rows.txt
python3 - /tmp/rows.txt <<PY
import statistics, sys
d = {}
for l in open(sys.argv[1]):
    f = l.split()
    if len(f) != 10:
        continue
    vmm, w = f[0], f[1]
    sec = float(f[9])
    d.setdefault(w, {}).setdefault(vmm, []).append((int(f[3]) / sec, int(f[5]) / sec, float(f[7]) / sec))
print("| workload | metric | qemu | vireo | vireo/qemu |")
print("|---|---|---|---|---|")
sd = {}
for l in open(sys.argv[1]):
    f = l.split()
    if len(f) == 4 and f[1] == "screendump":
        sd.setdefault(f[0], []).append(float(f[3]))
if "qemu" in sd and "vireo" in sd:
    q, v = statistics.median(sd["qemu"]), statistics.median(sd["vireo"])
    print("| screendump (PNG, 1024x768) | ms | %.1f | %.1f | %.2f |" % (q, v, v / q))
lat = {}
for l in open(sys.argv[1]):
    f = l.split()
    if len(f) == 6 and f[1] == "latency":
        lat.setdefault(f[0], []).append((float(f[3]), float(f[4])))
if "qemu" in lat and "vireo" in lat:
    for i, name in enumerate(("median", "p90")):
        q = statistics.median(x[i] for x in lat["qemu"]); v = statistics.median(x[i] for x in lat["vireo"])
        print("| fb write to VNC client (top rows, 1/s) | latency %s ms | %.1f | %.1f | %.2f |" % (name, q, v, v / q if q else float("nan")))
else:
    print("| latency | missing | | | |")
for w in ("scroll", "fill"):
    r = d.get(w, {})
    if "qemu" not in r or "vireo" not in r:
        print("| %s | missing | | | |" % w); continue
    for i, name in enumerate(("updates/s", "bytes/s", "VMM CPU s/s")):
        q = statistics.median(x[i] for x in r["qemu"]); v = statistics.median(x[i] for x in r["vireo"])
        print("| %s | %s | %.3g | %.3g | %.2f |" % (w, name, q, v, v / q if q else float("nan")))
PY
'
