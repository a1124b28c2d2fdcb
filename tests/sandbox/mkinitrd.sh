#!/usr/bin/env bash
# Builds a busybox initramfs (newc cpio, gzip) for a guest running Debian's kernel.
#
#   mkinitrd.sh -o OUT.cpio.gz [-i INIT] [-m MODULE]... [-t TESTDIR]... [-f SRC:DEST]...
#
#   -i INIT    script installed as /init (default: tests/sandbox/guest/init.sh, the inner
#              guest's init: loads the modules, runs the test named by vtest= on the
#              kernel command line, see docs/sandbox.md)
#   -m MODULE  kernel module to include and load at boot, dependencies resolved and
#              loaded first (names from lib/modules/<kver>, '-' or '_'); repeatable.
#              Default for the inner init: virtio_pci virtio_blk virtio_net virtio_console virtio-rng
#   -t TESTDIR every *.sh in TESTDIR becomes /tests/NAME.sh (default: tests/sandbox/guest/tests)
#   -f SRC:DEST extra file copied to DEST in the image
#   -k MODDIR  module tree (default: from the sandbox cache, setup.sh)
# The image gets /bin/busybox (static, from busybox-static) with its applet links,
# /lib/modules/<kver>/... and /etc/modules.load (load order, one path a line).
set -euo pipefail
. "$(dirname "$0")/lib/common.sh"

out= init="$VSB_DIR/guest/init.sh" moddir= mods=() tdirs=() files=() mods_given=
while getopts "o:i:m:t:f:k:" opt; do
  case $opt in
    o) out=$OPTARG ;; i) init=$OPTARG ;; m) mods+=("$OPTARG"); mods_given=1 ;;
    t) tdirs+=("$OPTARG") ;; f) files+=("$OPTARG") ;; k) moddir=$OPTARG ;;
    *) sed -n '2,17p' "$0" >&2; exit 2 ;;
  esac
done
[ -n "$out" ] || { sed -n '2,17p' "$0" >&2; exit 2; }
if [ -z "$moddir" ]; then
  vsb_load_env || vsb_die "no kernel in $VSB_CACHE: run tests/sandbox/setup.sh"
  moddir=$MODDIR
fi
kver=$(basename "$moddir")
[ -n "$mods_given" ] || mods=(virtio_pci virtio_blk virtio_net virtio_console virtio-rng)
[ ${#tdirs[@]} -gt 0 ] || { [ "$init" != "$VSB_DIR/guest/init.sh" ] || tdirs=("$VSB_DIR/guest/tests"); }
[ -x /bin/busybox ] && ! ldd /bin/busybox >/dev/null 2>&1 \
  || vsb_die "/bin/busybox missing or not static: apt-get install busybox-static"

stage=$(mktemp -d "${TMPDIR:-/tmp}/vsb-initrd.XXXXXX")
trap 'rm -rf "$stage"' EXIT
mkdir -p "$stage"/{bin,sbin,etc,proc,sys,dev,tmp,run,mnt,tests,lib/modules/$kver}
cp /bin/busybox "$stage/bin/busybox"
for a in $(/bin/busybox --list); do
  [ -e "$stage/bin/$a" ] || ln -s busybox "$stage/bin/$a"
done
install -m 755 "$init" "$stage/init"
: > "$stage/etc/modules.load"
if [ ${#mods[@]} -gt 0 ]; then
  python3 "$VSB_DIR/lib/kmods.py" "$moddir" "${mods[@]}" > "$stage/etc/modules.load"
  while read -r rel; do
    mkdir -p "$stage/lib/modules/$kver/$(dirname "$rel")"
    cp "$moddir/$rel" "$stage/lib/modules/$kver/$rel"
  done < "$stage/etc/modules.load"
fi
echo "$kver" > "$stage/etc/kver"
install -m 644 "$VSB_DIR/guest/lib.sh" "$stage/lib/vtest.sh"
for d in "${tdirs[@]}"; do
  for f in "$d"/*.sh; do [ -e "$f" ] && install -m 755 "$f" "$stage/tests/$(basename "$f")"; done
done
for fd in "${files[@]}"; do
  src=${fd%%:*} dst=${fd#*:}
  mkdir -p "$stage/$(dirname "$dst")"; cp -a "$src" "$stage/$dst"
done
mkdir -p "$(dirname "$out")"
(cd "$stage" && find . -print0 | LC_ALL=C sort -z | cpio --null -o -H newc --quiet -R 0:0) \
  | gzip -1 > "$out.tmp.$$"
mv -f "$out.tmp.$$" "$out"
