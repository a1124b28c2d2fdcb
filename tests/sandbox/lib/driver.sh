#!/usr/bin/env bash
# Runs inside the sandbox (started by run-tests.sh): every case script in
# tests/sandbox/cases/*.sh (or those matching $VSB_CASES, a shell glob on the name),
# one after the other, collecting their TAP lines in BUILD/sandbox-logs/results.tap.
# Progress goes to stdout as "# ..." lines. See docs/sandbox.md for the contract.
set -u
{ # (parsed whole before it runs: editing this file mid-run cannot break a run)
build=$1
export VSB_BUILD=$build
export VSB_LIB=$(cd "$(dirname "$0")" && pwd)
export VSB_DIR=$(cd "$VSB_LIB/.." && pwd)
export VSB_ROOT=$(cd "$VSB_DIR/../.." && pwd)
logs=$build/sandbox-logs
res=$logs/results.tap
# A retry after an outer livelock (sandbox.sh writes the attempt number) resumes: the
# results of the cases the killed attempt finished stand, the case it was in runs again.
attempt=$(cat "${VSB_JOB:-/nonexistent}/attempt" 2>/dev/null || echo 1)
declare -A done_before=()
if { [ "$attempt" -gt 1 ] || [ "${VSB_FRESH:-1}" = 0 ]; } && [ -f "$logs/cases.done" ] && [ -f "$res" ]; then
  while IFS= read -r d; do done_before[$d]=1; done < "$logs/cases.done"
  echo "# sandbox: attempt $attempt (pass ${VSB_PASS:-any}) continues after ${#done_before[@]} finished case(s)"
else
  rm -rf "$logs"; mkdir -p "$logs"
  : > "$res"
fi
[ -c /dev/kvm ] || echo "# warning: no /dev/kvm in the sandbox"

cases=()
for c in "$VSB_DIR"/cases/*.sh; do
  [ -e "$c" ] || continue
  n=$(basename "$c" .sh)
  # shellcheck disable=SC2053
  [[ $n == ${VSB_CASES:-*} ]] || continue
  # run-tests.sh boots twice: "# vsb-tcg: single" cases in the first boot, the rest after.
  if grep -q '^# vsb-tcg: *single' "$c"; then [ "${VSB_PASS:-any}" = multi ] && continue
  else [ "${VSB_PASS:-any}" = single ] && continue; fi
  cases+=("$c")
done
printf '%s\n' "${cases[@]##*/}" >> "$logs/cases.planned"
# The run's budget (sandbox.sh --timeout, less this boot's start-up): a case's own limit
# is cut so that every case after it keeps at least $reserve s. A case that hangs then
# fails by name instead of leaving the later cases "did not finish".
budget=$(cat "${VSB_JOB:-/nonexistent}/budget" 2>/dev/null)
deadline=
[[ $budget =~ ^[0-9]+$ ]] && deadline=$(( $(date +%s) + budget - 45 ))
reserve=90
left_cases=0
for c in "${cases[@]}"; do
  n=$(basename "$c" .sh)
  [ -n "${done_before[$n]:-}" ] && continue
  grep -q '^# vsb-tier: *full' "$c" && [ "${VSB_TIER:-default}" != full ] && continue
  left_cases=$((left_cases + 1))
done

for c in "${cases[@]}"; do
  n=$(basename "$c" .sh)
  [ -n "${done_before[$n]:-}" ] && continue
  short=${n#[0-9][0-9]-}
  # "# vsb-tier: full WHY": a case over make check's time budget runs only when
  # VSB_TIER=full (make sandbox-full); otherwise it is one skip that says why.
  tier=$(sed -n 's/^# vsb-tier: *full *//p' "$c" | head -n1)
  if [ -n "$tier" ] && [ "${VSB_TIER:-default}" != full ]; then
    echo "ok - $short: the whole case # SKIP tier full ($tier); make sandbox-full runs it" >> "$res"
    echo "$n" >> "$logs/cases.done"
    echo "# sandbox case $n: skipped (tier full)"
    continue
  fi
  to=$(sed -n 's/^# vsb-timeout: *\([0-9][0-9]*\).*/\1/p' "$c" | head -n1)
  to=${to:-300}
  left_cases=$((left_cases - 1))
  clamp=
  if [ -n "$deadline" ]; then
    cap=$(( deadline - $(date +%s) - reserve * left_cases ))
    [ $cap -lt 60 ] && cap=60
    [ $cap -lt "$to" ] && { to=$cap; clamp=", cut to the run's budget"; }
  fi
  work=$(mktemp -d /tmp/vsb-case.XXXXXX)
  rm -rf "$logs/$n"; mkdir -p "$logs/$n"
  echo "# sandbox case $n (limit ${to}s$clamp)"
  start=$(date +%s)
  ( cd "$VSB_ROOT" && VSB_WORK=$work VSB_LOGDIR=$logs/$n VSB_CASE=$n \
      timeout -k 10 "$to" bash "$c" 2> "$logs/$n/stderr.log" ) > "$logs/$n/stdout.log" &
  pid=$!
  # Stream this case's TAP lines as they come (as comments: the host prints the real ones).
  tail -n +1 -F --pid=$pid "$logs/$n/stdout.log" 2>/dev/null \
    | grep --line-buffered -E '^(ok|not ok)\b' | sed -u "s/^/#   /" &
  tpid=$!
  wait $pid; rc=$?
  wait $tpid
  took=$(( $(date +%s) - start ))
  ntap=0
  while IFS= read -r line; do
    line=${line%$'\r'}
    case $line in
      "ok "*|"not ok "*|ok|"not ok")
        # Normalise "ok 3 - name # SKIP why" to "ok - CASE: name # SKIP why" (no subshells:
        # every fork costs ~0.2 s in the TCG guest).
        if [[ $line == not* ]]; then st="not ok"; else st=ok; fi
        rest=${line#"$st"}
        [[ $rest =~ ^[[:space:]]*[0-9]*[[:space:]]*-?[[:space:]]*(.*)$ ]] && rest=${BASH_REMATCH[1]}
        desc=${rest%%#*} dir=
        [[ $rest == *"#"* ]] && dir=${rest#*#}
        [[ $desc =~ ^(.*[^[:space:]])[[:space:]]*$ ]] && desc=${BASH_REMATCH[1]}
        if [[ $dir =~ ^[[:space:]]*[Ss][Kk][Ii][Pp][[:space:]]*(.*)$ ]]; then
          echo "$st - $short: $desc # SKIP ${BASH_REMATCH[1]}" >> "$res"
        else
          echo "$st - $short: $desc" >> "$res"
          [ -n "$dir" ] && echo "#$dir" >> "$res"
        fi
        ntap=$((ntap + 1)) ;;
      "#"*) [ $ntap -gt 0 ] && echo "$line" >> "$res" ;;
    esac
  done < "$logs/$n/stdout.log"
  if [ $rc = 124 ] || [ $rc = 137 ]; then
    echo "not ok - $short: timed out after ${to}s$clamp" >> "$res"
  elif [ $ntap = 0 ]; then
    echo "not ok - $short: exited $rc without reporting a test" >> "$res"
    tail -n 5 "$logs/$n/stderr.log" | sed 's/^/# /' >> "$res"
  fi
  echo "$n" >> "$logs/cases.done"
  echo "# sandbox case $n: $ntap results, status $rc, ${took}s"
  rm -rf "$work"
done
exit
}
