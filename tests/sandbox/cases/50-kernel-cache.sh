#!/usr/bin/env bash
# vsb-timeout: 420
# The decompressed-kernel cache (issue 13 item 9, docs/kernel-cache.md) with Debian's
# kernel: a cold boot (empty cache) fills the cache; warm boots use it and still get
# KASLR (random virtual and physical base, as the kernel's own decompressor gives);
# 'nokaslr' boots at the fixed base; kernel-cache=off never writes the cache.
{ # (parsed whole before it runs: editing this file mid-run cannot break a run)
. "$VSB_LIB/vm.sh"
export XDG_CACHE_HOME=$VSB_WORK/xdg
kdir=$XDG_CACHE_HOME/vireo/kernels
cp "$VSB_INITRD" "$VSB_WORK/initrd" && VSB_INITRD=$VSB_WORK/initrd   # ours for the whole case
BASE_TEXT=ffffffff81000000 BASE_PHYS=01000000
# A KASLR boot moved the kernel: its virtual or its physical base differs from the fixed
# ones (each alone can land on the fixed value: the virtual one is ~1 chance in 500 per
# boot, seen once in a CI run).
moved() { [ -n "$1" ] && { [ "$1" != $BASE_TEXT ] || [ "$2" != $BASE_PHYS ]; }; }

# kboot LABEL [EXTRA APPEND] [-- VMM ARGS]: sets TEXT, PHYS, CACHED (trace line seen)
kboot() {
  local label=$1 extra=${2:-} log=$VSB_LOGDIR/$1.log; shift 2 || shift $#
  [ "${1:-}" = -- ] && shift
  TEXT= PHYS= CACHED=
  vsb_boot "$log" --timeout 240 --first-output 200 --silence 200 \
    --marker VTEST-INIT --exit-after VTEST-DONE --exit-grace 60 -- \
    "${VMM_CMD[@]}" -trace vireo_startup -m 256 "$@" -kernel "$VSB_VMLINUZ" -initrd "$VSB_INITRD" \
    -append "console=ttyS0 quiet panic=-1 $extra vtest=kaslr"
  local line; line=$(grep -m1 '^VTEST-KASLR ' "$log")
  TEXT=${line#*text=}; TEXT=${TEXT%% *}; PHYS=${line##*phys=}
  grep -q 'kernel from the cache' "$log.err" && CACHED=1
  WHY=$(vsb_why "$log")
}

if ! vsb_vmm_cmd vireo; then
  tap 1 "kernel-cache: vireo" "$VMM_ERR"; exit 0
fi
kboot cold ""
n=$(ls "$kdir" 2>/dev/null | grep -c '\.vmlinux$')
if moved "$TEXT" "$PHYS" && [ -z "$CACHED" ]; then
  tap 0 "kernel-cache: cold boot runs the kernel's decompressor (KASLR: _text $TEXT@$PHYS)"
else tap 1 "kernel-cache: cold boot runs the kernel's decompressor" "text=$TEXT phys=$PHYS cached=$CACHED" "$WHY"; fi
if [ "$n" = 1 ] && [ "$(stat -c %a "$kdir")" = 700 ]; then
  tap 0 "kernel-cache: the cold boot filled a private cache (0700)"
else tap 1 "kernel-cache: the cold boot filled a private cache (0700)" "$(ls -la "$kdir" 2>&1)"; fi
kboot warm1 ""; t1=$TEXT p1=$PHYS c1=$CACHED w1=$WHY
kboot warm2 ""; t2=$TEXT p2=$PHYS c2=$CACHED w2=$WHY
if [ -n "$c1" ] && [ -n "$c2" ] && moved "$t1" "$p1" && moved "$t2" "$p2" &&
   { [ "$t1" != "$t2" ] || [ "$p1" != "$p2" ]; }; then
  tap 0 "kernel-cache: warm boots use the cache and keep KASLR ($t1@$p1, $t2@$p2)"
else tap 1 "kernel-cache: warm boots use the cache and keep KASLR" \
  "boot 1: text=$t1 phys=$p1 cached=$c1" "boot 2: text=$t2 phys=$p2 cached=$c2" "$w1" "$w2"; fi
kboot nokaslr nokaslr
if [ -n "$CACHED" ] && [ "$TEXT" = $BASE_TEXT ] && [ "$PHYS" = $BASE_PHYS ]; then
  tap 0 "kernel-cache: nokaslr boots at the fixed base from the cache"
else tap 1 "kernel-cache: nokaslr boots at the fixed base from the cache" "text=$TEXT phys=$PHYS cached=$CACHED" "$WHY"; fi
rm -rf "$XDG_CACHE_HOME"
kboot off "" -- -machine kernel-cache=off
if [ -n "$TEXT" ] && [ -z "$CACHED" ] && [ -z "$(ls -A "$kdir" 2>/dev/null)" ]; then
  tap 0 "kernel-cache: -machine kernel-cache=off neither uses nor fills the cache"
else tap 1 "kernel-cache: -machine kernel-cache=off neither uses nor fills the cache" "$(ls -la "$kdir" 2>&1)" "$WHY"; fi
exit 0
}
