#!/usr/bin/env bash
# Start-up stress (issue 13, item 13): starts Vireo many times inside the sandbox, with
# -smp 1/2/4, while busy loops load the outer guest's CPUs, and reports every start that
# does not reach its first console output (or its end) in time, with the threads' states.
#
#   tests/sandbox/sandbox.sh run --timeout 3000 -- \
#       bash tests/sandbox/stress-start.sh BUILD [ROUNDS] [LINUX_EVERY] [SECONDS]
#
# Each round starts the embedded default guest (to its power-off, status 0) once per
# -smp value; every LINUX_EVERY-th round (default 2; 0: never) also boots the sandbox
# kernel + initramfs once per -smp value (console=ttyS0, not quiet) until it reports all
# its CPUs up ("smp: Brought up 1 node, N CPUs"), then stops it (SIGTERM, exit 0
# expected). No round starts after SECONDS
# (default: no limit), so a run fits a time box. A run that has not produced what it should within WATCHDOG seconds is a
# hang: /proc/PID/task/*/{comm,stat,wchan,stack} are saved, then it is killed (SIGKILL,
# by its own PID). Logs: BUILD/sandbox-logs/stress-start/. Last line:
#   stress-start: N starts, N ok, N hung, N failed
# Exit status 0 when every start was fine.
{
BUILD=$(cd "${1:-build}" && pwd)
ROUNDS=${2:-100}
LINUX_EVERY=${3:-2}
DEADLINE=$(( ${EPOCHSECONDS} + ${4:-999999} ))
# VSB_STRESS_UNTIL=EPOCH: no round starts after that wall-clock time either.
[ -n "$VSB_STRESS_UNTIL" ] && [ "$VSB_STRESS_UNTIL" -lt "$DEADLINE" ] && DEADLINE=$VSB_STRESS_UNTIL
WATCHDOG=${STRESS_WATCHDOG:-60}
VIREO=$BUILD/vireo
LOGDIR=$BUILD/sandbox-logs/stress-start
mkdir -p "$LOGDIR"
rm -f "$LOGDIR"/*.log "$LOGDIR"/*.threads "$LOGDIR/times.txt"
WORK=${VSB_WORK:-$(mktemp -d)}
CACHE=${VIREO_SANDBOX_CACHE:-/var/cache/vireo-sandbox}
. "$CACHE/kernel.env" 2>/dev/null || true        # VMLINUZ for the Linux rounds
INITRD=${VSB_INITRD:-$(ls "$CACHE"/inner-*.cpio.gz 2>/dev/null | head -n1)}
VMLINUZ=${VSB_VMLINUZ:-$VMLINUZ}

# A stdin that stays open (shared/KVM-HOSTS.md): a FIFO held by this shell.
mkfifo "$WORK/stdin"
exec 3<>"$WORK/stdin"
nap() { read -r -t "$1" -u 3 _ || true; }       # a sleep without a process start
# Running and not a zombie (kill -0 also succeeds for an exited child not yet reaped).
alive() { local st; { read -r _ _ st _ < "/proc/$1/stat"; } 2>/dev/null || return 1; [ "$st" != Z ]; }
has() { local c; { read -r -d '' c < "$1"; } 2>/dev/null; [[ $c == *"$2"* ]]; }   # no process

# Load: one busy loop per CPU of the outer guest (STRESS_HOGS, default: nproc), at nice
# STRESS_NICE (default 5) so the starts still get a share.
hogs=()
for ((i = 0; i < ${STRESS_HOGS:-$(nproc)}; i++)); do
  ( renice -n "${STRESS_NICE:-5}" -p $BASHPID >/dev/null; while :; do :; done ) &
  hogs+=($!)
done

starts=0 ok=0 hung=0 failed=0

dump_threads() {  # dump_threads PID FILE
  local t
  for t in /proc/"$1"/task/*; do
    echo "== thread ${t##*/} $(cat "$t/comm" 2>/dev/null)"
    echo "stat: $(cat "$t/stat" 2>/dev/null)"
    echo "wchan: $(cat "$t/wchan" 2>/dev/null)"
    cat "$t/stack" 2>/dev/null
  done > "$2"
}

# run_one NAME DONE_TEXT STOP -- ARGS...: starts Vireo, waits for DONE_TEXT on the
# console (STOP=term: then SIGTERM it) or for its exit; records the outcome.
run_one() {
  local name=$1 want=$2 stop=$3; shift 4
  local out=$LOGDIR/$name.log t0=$EPOCHREALTIME pid rc=-1 seen=0 i first=-
  starts=$((starts + 1))
  "$VIREO" "$@" <&3 >"$out" 2>&1 &
  pid=$!
  for ((i = 0; i < WATCHDOG * 10; i++)); do
    if [ $seen = 0 ] && has "$out" "$want"; then
      seen=1
      first=$(( (${EPOCHREALTIME/./} - ${t0/./}) / 1000 ))
      [ "$stop" = term ] && kill -TERM "$pid"
    fi
    if ! alive "$pid"; then
      wait "$pid"; rc=$?
      break
    fi
    nap 0.1
  done
  echo "$name first_ms=$first total_ms=$(( (${EPOCHREALTIME/./} - ${t0/./}) / 1000 ))" \
    >> "$LOGDIR/times.txt"
  if alive "$pid"; then
    dump_threads "$pid" "$out.threads"
    kill -KILL "$pid"; wait "$pid" 2>/dev/null
    hung=$((hung + 1))
    echo "HUNG $name: no '$want' and no exit within ${WATCHDOG}s (threads: $out.threads)"
    return
  fi
  if [ $seen = 1 ] || has "$out" "$want"; then
    if [ "$rc" = 0 ]; then ok=$((ok + 1)); rm -f "$out"; return; fi
  fi
  failed=$((failed + 1))
  echo "FAILED $name: status $rc, '$want' $( [ $seen = 1 ] && echo seen || echo 'not seen'); last: $(tail -n 2 "$out" | tr '\n' ' ' | cut -c1-200)"
}

linux=1
if [ -z "$VMLINUZ" ] || [ ! -f "$VMLINUZ" ] || [ ! -f "$INITRD" ]; then
  echo "no sandbox kernel/initramfs found: Linux rounds left out"
  linux=0
fi
for ((r = 1; r <= ROUNDS && EPOCHSECONDS < DEADLINE; r++)); do
  for smp in 1 2 4; do
    run_one "default-r$r-smp$smp" "powering off" wait -- -nographic -m 128 -smp "$smp"
  done
  [ $linux = 1 ] && [ "$LINUX_EVERY" -gt 0 ] && [ $((r % LINUX_EVERY)) = 0 ] || continue
  for smp in 1 2 4; do
    # past the first console line to SMP bring-up: every AP must have started
    run_one "linux-r$r-smp$smp" "smp: Brought up 1 node, $smp CPU" term -- \
      -machine pc -accel kvm -cpu host \
      -nographic -m 256 -smp "$smp" -kernel "$VMLINUZ" -initrd "$INITRD" \
      -append "console=ttyS0 panic=-1"
  done
done

kill "${hogs[@]}" 2>/dev/null
wait "${hogs[@]}" 2>/dev/null
echo "stress-start: $starts starts, $ok ok, $hung hung, $failed failed"
[ $hung = 0 ] && [ $failed = 0 ]
exit
}
