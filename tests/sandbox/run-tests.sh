#!/usr/bin/env bash
# `make check`'s sandbox entry: ONE boot of the nested-KVM sandbox runs every case in
# tests/sandbox/cases/ (the meson `kvm` suite, the Linux boot tests under Vireo and,
# as the harness self-test, under Debian's QEMU; plus any dropped-in case) and prints
# one TAP line per test: "ok N - name", "not ok N - name", "ok N - name # SKIP why".
#
#   tests/sandbox/run-tests.sh BUILD_DIR
# Env: VSB_CASES=GLOB (run only matching cases), VSB_BOOT_VMMS="vireo qemu",
#      VIREO_SANDBOX_CACHE, VSB_TIMEOUT (whole sandbox run, default 2700 s),
#      VSB_TIER=full (also the cases marked "# vsb-tier: full": make sandbox-full).
# Logs: BUILD_DIR/sandbox-logs/<case>/ (serial consoles, stdout/stderr of each case).
set -uo pipefail
{ # (parsed whole before it runs: editing this file mid-run cannot break a run)
. "$(dirname "$0")/lib/common.sh"
[ $# -ge 1 ] || { echo "usage: $0 BUILD_DIR" >&2; exit 2; }
build=$(cd "$1" 2>/dev/null && pwd) || { echo "1..1"; echo "not ok 1 - sandbox harness: no build dir $1"; exit 1; }
logs=$build/sandbox-logs
t0=$(date +%s)

fail_all() {  # every planned case is a failure: the sandbox could not run
  echo "1..1"; echo "not ok 1 - sandbox harness: $*"; exit 1
}
setup_log=$(mktemp)
( vsb_ensure_setup ) > "$setup_log" 2>&1 || { cat "$setup_log" >&2; rm -f "$setup_log"; fail_all "setup failed (tests/sandbox/setup.sh)"; }
rm -f "$setup_log"
vsb_load_env; . "$VSB_CACHE/outer.env"
initrd=$(vsb_inner_initrd) || fail_all "cannot build the inner initramfs (tests/sandbox/mkinitrd.sh)"
display_initrd=$(vsb_display_initrd) || display_initrd=

rm -rf "$logs"
# A case may prepare artifacts natively first: cases/NN-topic.prep runs here on the host
# (process start-up inside the TCG guest is far slower) and writes what the case needs
# under $VSB_PREP/NN-topic/ (or names a cached copy there).
prep=$build/sandbox-prep
for p in "$VSB_DIR"/cases/*.prep; do
  [ -e "$p" ] || continue
  c=$(basename "$p" .prep)
  [[ $c == ${VSB_CASES:-*} ]] || continue
  if grep -q '^# vsb-tier: *full' "$VSB_DIR/cases/$c.sh" 2>/dev/null && [ "${VSB_TIER:-default}" != full ]; then
    continue                                     # the case does not run (lib/driver.sh)
  fi
  rm -rf "${prep:?}/$c"; mkdir -p "$prep/$c"
  VSB_PREP_DIR=$prep/$c VSB_ROOT=$VSB_ROOT VSB_VMLINUZ=$VMLINUZ VSB_MODDIR=$MODDIR \
    VSB_CACHE=$VSB_CACHE VSB_KVER=$KVER bash "$p" > "$prep/$c.log" 2>&1 \
    || echo "# sandbox: $c.prep failed, see $prep/$c.log" >&2
done
# The meson kvm suite is introspected here (natively fast), run inside by the case.
kvmtests=$build/sandbox-kvm-tests.json
rm -f "$kvmtests"
if [ -f "$build/build.ninja" ]; then
  meson introspect --tests "$build" > "$kvmtests.tmp" 2>/dev/null && mv "$kvmtests.tmp" "$kvmtests"
  rm -f "$kvmtests.tmp"
fi
# Share the build's source tree too when it is not this repo (it holds test scripts).
src_rw=()
srcdir=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["directories"]["source"])' \
         "$build/meson-info/meson-info.json" 2>/dev/null) || srcdir=
[ -n "$srcdir" ] && [ -d "$srcdir" ] && [ "$srcdir" != "$VSB_ROOT" ] && src_rw=(--rw "$srcdir")
# Two boots: the cases marked "# vsb-tcg: single" first, in an outer guest with
# single-threaded TCG (docs/sandbox.md: QEMU 7.2's multi-threaded SVM emulation livelocks
# in 10-meson-kvm's many short VMs), then every other case with multi-threaded TCG (Linux
# guests boot several times faster there). VSB_TIMEOUT covers both.
single=0 multi=0
for c in "$VSB_DIR"/cases/*.sh; do
  [ -e "$c" ] || continue
  n=$(basename "$c" .sh)
  [[ $n == ${VSB_CASES:-*} ]] || continue
  if grep -q '^# vsb-tcg: *single' "$c"; then single=$((single + 1)); else multi=$((multi + 1)); fi
done
sandbox_boot() {  # THREAD PASS FRESH TIMEOUT
  VSB_TCG_THREAD=$1 bash "$VSB_DIR/sandbox.sh" run --rw "$build" "${src_rw[@]}" --scratch "${VSB_SCRATCH_MB:-4096}" --timeout "$4" --cwd "$VSB_ROOT" \
    --env "VSB_VMLINUZ=$VMLINUZ" --env "VSB_INITRD=$initrd" --env "VSB_KVER=$KVER" \
    --env "VSB_MODDIR=$MODDIR" --env "VSB_CACHE=$VSB_CACHE" --env "VSB_PREP=$prep" \
    --env "VSB_DISPLAY_INITRD=$display_initrd" --env "VSB_PASS=$2" --env "VSB_FRESH=$3" \
    $( [ -f "$kvmtests" ] && echo --env "VSB_KVM_TESTS=$kvmtests" ) \
    -- bash "$VSB_DIR/lib/driver.sh" "$build" 2>&1 | grep --line-buffered -v '^\(not \)\?ok\b'
  return "${PIPESTATUS[0]}"
}
total=${VSB_TIMEOUT:-2700} src=0 fresh=1
if [ $single -gt 0 ]; then
  sandbox_boot single single 1 $(( total < 600 ? total : 600 )); src=$?
  fresh=0
fi
if [ $multi -gt 0 ]; then
  left=$(( total - ($(date +%s) - t0) )); [ $left -lt 120 ] && left=120
  sandbox_boot multi multi $fresh "$left"; r=$?
  [ $src = 0 ] && src=$r
fi

# The numbered TAP report, from what the cases wrote; missing cases are failures.
n=0
out=$(mktemp)
if [ -f "$logs/results.tap" ]; then
  while IFS= read -r line; do
    case $line in
      "ok - "*|"not ok - "*) n=$((n + 1)); st=${line%% - *}; echo "$st $n - ${line#* - }" ;;
      *) echo "$line" ;;
    esac
  done < "$logs/results.tap" > "$out"
fi
why="the sandbox run ended with status $src"
[ "$src" = 124 ] && why="the sandbox run timed out"
[ "$src" = 125 ] && why="the sandbox failed (boot or livelock), see $VSB_CACHE/last-console.log"
for c in "$VSB_DIR"/cases/*.sh; do
  [ -e "$c" ] || continue
  c=$(basename "$c" .sh)
  [[ $c == ${VSB_CASES:-*} ]] || continue
  if ! grep -qx "$c" "$logs/cases.done" 2>/dev/null; then
    n=$((n + 1)); echo "not ok $n - ${c#[0-9][0-9]-}: did not finish: $why" >> "$out"
  fi
done
if [ $n = 0 ]; then n=1; echo "not ok 1 - sandbox harness: no case reported anything: $why" >> "$out"; fi
echo "1..$n"
cat "$out"; rm -f "$out"
echo "# sandbox: run-tests.sh took $(( $(date +%s) - t0 ))s"
grep -q '^not ok' < <(grep -v '^#' "$logs/results.tap" 2>/dev/null; [ $src = 0 ] || echo "not ok") && exit 1
exit 0
exit
}
