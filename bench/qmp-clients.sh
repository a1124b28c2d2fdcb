#!/usr/bin/env bash
# Hostile and slow QMP clients (issue 13 items 5, 7, 8): RSS with idle and partial
# clients, query-status latency while a -mon chardev client does not read its 40
# query-qmp-schema replies (and how many of them arrive whole), and the time from
# `quit` to exit while a client reads slowly. Vireo and Debian's QEMU (TCG) in one run;
# VIREO_BASE=path/to/an/older/vireo adds that binary as a third row (before/after).
# Vireo needs /dev/kvm: without it the script re-runs itself inside the sandbox.
#
#   bench/qmp-clients.sh            BUILD=build-x: the build dir holding vireo
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
export VIREO_BENCH_BUILD=${VIREO_BENCH_BUILD:-$(cd "$ROOT" && realpath "${BUILD:-build}")}
VIREO=$VIREO_BENCH_BUILD/vireo
[ -x "$VIREO" ] || { echo "bench/qmp-clients.sh: $VIREO is missing (build it first)" >&2; exit 1; }

kvm_ok() { [ -c /dev/kvm ] && python3 -c 'import os; os.close(os.open("/dev/kvm", os.O_RDWR))' 2>/dev/null; }
if [ -z "${VSB_INSIDE:-}" ] && ! kvm_ok; then
  echo "bench/qmp-clients.sh: no /dev/kvm here; running inside the nested-KVM sandbox" >&2
  exec "$ROOT/tests/sandbox/sandbox.sh" run --timeout 1800 \
    ${VIREO_BASE:+--env VIREO_BASE=$VIREO_BASE} -- bash "$ROOT/bench/qmp-clients.sh"
fi
ip link set lo up 2>/dev/null || true
py() { python3 -I "$ROOT/bench/qmp_clients.py" "$@"; }
rows=()
[ -n "${VIREO_BASE:-}" ] && rows+=("$(py vireo-base "$VIREO_BASE" -serial null)")
rows+=("$(py vireo "$VIREO" -serial null)")
rows+=("$(py qemu qemu-system-x86_64 -accel tcg -nodefaults)")
printf '%s\n' "${rows[@]}" | python3 -I -c '
import json, sys
rows = [json.loads(l) for l in sys.stdin if l.strip()]
keys = ["start_kib", "idle16_kib", "partial6x48_kib", "partial_clients_fully_read",
        "query_status_s", "slow_client_whole_replies", "slow_client_in_order", "exit_s",
        "exit_mon_s"]
print("%-11s" % "vmm" + "".join("%16s" % k[:15] for k in keys))
for r in rows:
    print("%-11s" % r["vmm"] + "".join("%16s" % r.get(k, "-") for k in keys))
for r in rows:
    extra = {k: v for k, v in r.items() if k not in keys and k != "vmm"}
    if extra:
        print(r["vmm"], extra)
'
