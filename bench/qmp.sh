#!/usr/bin/env bash
# QMP benchmark (issue 4): round-trip latency and pipelined throughput of query-status
# over a unix socket, Vireo against Debian's QEMU, both started with -S in the same run
# (timings are only comparable within one run). Vireo needs /dev/kvm: without it the
# script re-runs itself inside the nested-KVM sandbox (tests/sandbox/sandbox.sh).
#
#   bench/qmp.sh [COUNT]        COUNT round trips and COUNT pipelined commands (5000)
#   BUILD=build-x bench/qmp.sh  the build dir holding vireo (default: build)
#   VIREO_BASE=path/to/vireo    adds an older binary as a row (before/after, same run)
#
# Output: one line per VMM and the ratio; results go to docs/performance.md by hand.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
N=${1:-5000}
export VIREO_BENCH_BUILD=${VIREO_BENCH_BUILD:-$(cd "$ROOT" && realpath "${BUILD:-build}")}
VIREO=$VIREO_BENCH_BUILD/vireo
[ -x "$VIREO" ] || { echo "bench/qmp.sh: $VIREO is missing (build it first)" >&2; exit 1; }

kvm_ok() { [ -c /dev/kvm ] && python3 -c 'import os; os.close(os.open("/dev/kvm", os.O_RDWR))' 2>/dev/null; }
if [ -z "${VSB_INSIDE:-}" ] && ! kvm_ok; then
  echo "bench/qmp.sh: no /dev/kvm here; running inside the nested-KVM sandbox" >&2
  exec "$ROOT/tests/sandbox/sandbox.sh" run --timeout 1800 \
    ${VIREO_BASE:+--env VIREO_BASE=$VIREO_BASE} -- bash "$ROOT/bench/qmp.sh" "$N"
fi

WORK=$(mktemp -d)
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$WORK"; }
trap cleanup EXIT

# The client: Python standard library; its cost is the same for both VMMs.
cat > "$WORK/client.py" <<'PY'
import json, socket, sys, time
path, n = sys.argv[1], int(sys.argv[2])
s = socket.socket(socket.AF_UNIX)
for _ in range(600):
    try:
        s.connect(path)
        break
    except OSError:
        time.sleep(0.1)
buf = b''
def lines(k):
    global buf
    while buf.count(b'\n') < k:
        d = s.recv(1 << 20)
        if not d:
            sys.exit('connection closed')
        buf += d
    i = 0
    for _ in range(k):
        i = buf.index(b'\n', i) + 1
    out, buf = buf[:i], buf[i:]
    if out.count(b'"return"') != k - (1 if b'"QMP"' in out else 0):
        sys.exit('unexpected reply: %r' % out[:200])
    return out
lines(1)
s.sendall(b'{"execute": "qmp_capabilities"}\n'); lines(1)
req = b'{"execute": "query-status"}\n'
for _ in range(200):                      # warm-up
    s.sendall(req); lines(1)
lat = []
for _ in range(n):
    t0 = time.perf_counter_ns(); s.sendall(req); lines(1)
    lat.append(time.perf_counter_ns() - t0)
lat.sort()
W = 32
t0 = time.perf_counter()
for _ in range(n // W):
    s.sendall(req * W); lines(W)
dt = time.perf_counter() - t0
print(json.dumps({'mean_us': sum(lat) / len(lat) / 1000, 'p50_us': lat[len(lat) // 2] / 1000,
                  'p99_us': lat[len(lat) * 99 // 100] / 1000,
                  'serial_cps': len(lat) * 1e9 / sum(lat), 'pipelined_cps': (n // W) * W / dt}))
PY

run() {   # NAME CMD...: starts the VMM paused with QMP on a socket, measures, stops it
  local name=$1; shift
  local sock=$WORK/$name.sock
  "$@" -qmp "unix:$sock,server=on,wait=off" </dev/null >"$WORK/$name.log" 2>&1 &
  local pid=$!
  PIDS+=("$pid")
  if ! python3 -I "$WORK/client.py" "$sock" "$N" > "$WORK/$name.json"; then
    echo "bench/qmp.sh: $name failed:" >&2; tail -5 "$WORK/$name.log" >&2; exit 1
  fi
  kill "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
}

run vireo "$VIREO" -S -display none -serial null -m 128
run qemu qemu-system-x86_64 -accel tcg -S -display none -nodefaults -m 128
rows="vireo qemu"
if [ -n "${VIREO_BASE:-}" ]; then
  run vireo-base "$VIREO_BASE" -S -display none -serial null -m 128
  rows="vireo vireo-base qemu"
fi

python3 -I - "$WORK" "$N" $rows <<'PY'
import json, os, sys
work, n, names = sys.argv[1], sys.argv[2], sys.argv[3:]
r = {name: json.load(open(os.path.join(work, name + '.json'))) for name in names}
print('QMP query-status over a unix socket, %s round trips + %s pipelined (32 in flight)'
      % (n, n))
print('%-10s %10s %10s %10s %14s %16s' % ('vmm', 'mean us', 'p50 us', 'p99 us',
                                          'serial cmd/s', 'pipelined cmd/s'))
for name in names:
    x = r[name]
    print('%-10s %10.1f %10.1f %10.1f %14.0f %16.0f' % (name, x['mean_us'], x['p50_us'],
          x['p99_us'], x['serial_cps'], x['pipelined_cps']))
v, q = r['vireo'], r['qemu']
print('vireo/qemu: serial %.2fx, pipelined %.2fx' % (v['serial_cps'] / q['serial_cps'],
                                                    v['pipelined_cps'] / q['pipelined_cps']))
if 'vireo-base' in r:
    b = r['vireo-base']
    print('vireo/vireo-base: serial %.2fx, pipelined %.2fx' % (
        v['serial_cps'] / b['serial_cps'], v['pipelined_cps'] / b['pipelined_cps']))
PY
