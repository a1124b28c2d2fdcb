# Sourced by cases/50-net.sh and bench/net.sh: net_initrd OUT builds the inner
# initramfs for the network tests: the default one (VSB_INITRD: busybox, guest/tests)
# followed by an overlay archive (Linux unpacks concatenated archives in order) with
# the e1000 module, /etc/modules.load, guest/net/*.sh, and socat, ethtool, iperf3 with
# their shared libraries. The overlay is cached in $VSB_BUILD/sandbox-cache, keyed by
# the inputs' names, sizes and times.
NET_MODULES="virtio_pci virtio_blk virtio_net virtio_console virtio-rng e1000"
NET_BINS="/usr/bin/socat /usr/sbin/ethtool /usr/bin/iperf3"

net_initrd() {  # OUT
  local out=$1 bins=() b libs key cache ov stage
  for b in $NET_BINS ${NET_EXTRA_BINS:-}; do
    [ -x "$b" ] || { echo "net_initrd: $b is missing (scripts/install-deps.sh --test)" >&2; return 1; }
    bins+=("$b")
  done
  libs=$(ldd "${bins[@]}" 2>/dev/null | awk '/=> \// { print $3 } /^\t\/lib64/ { print $1 }' | sort -u)
  key=$( { stat -c '%n %s %Y' "${bins[@]}" $libs "$VSB_ROOT"/tests/sandbox/guest/net/*.sh \
             "$VSB_ROOT/tests/sandbox/lib/netinitrd.sh" "$VSB_BUILD/tests/netrr" 2>/dev/null
           echo "$VSB_KVER $NET_MODULES"; } \
         | sha256sum | cut -c1-16)
  cache=$VSB_BUILD/sandbox-cache
  ov=$cache/net-overlay-$key.cpio.gz
  if [ ! -f "$ov" ]; then
    mkdir -p "$cache"
    stage=$(mktemp -d "${VSB_WORK:-/tmp}/netov.XXXXXX")
    mkdir -p "$stage/etc" "$stage/lib/net" "$stage/lib/modules/$VSB_KVER"
    python3 -I "$VSB_ROOT/tests/sandbox/lib/kmods.py" "$VSB_MODDIR" $NET_MODULES \
      > "$stage/etc/modules.load" || { rm -rf "$stage"; return 1; }
    while read -r rel; do
      mkdir -p "$stage/lib/modules/$VSB_KVER/$(dirname "$rel")"
      cp "$VSB_MODDIR/$rel" "$stage/lib/modules/$VSB_KVER/$rel"
    done < "$stage/etc/modules.load"
    cp "$VSB_ROOT"/tests/sandbox/guest/net/*.sh "$stage/lib/net/"
    if [ -x "$VSB_BUILD/tests/netrr" ]; then          # bench/net.sh's latency meter
      mkdir -p "$stage/usr/bin"; cp "$VSB_BUILD/tests/netrr" "$stage/usr/bin/netrr"
    fi
    for b in "${bins[@]}" $libs; do
      mkdir -p "$stage$(dirname "$b")"; cp -L "$b" "$stage$b"
    done
    (cd "$stage" && find . -mindepth 1 -print0 | LC_ALL=C sort -z \
       | cpio --null -o -H newc --quiet -R 0:0) | gzip -1 > "$ov.tmp.$$" && mv -f "$ov.tmp.$$" "$ov"
    rm -rf "$stage"
    find "$cache" -name 'net-overlay-*.cpio.gz' ! -name "net-overlay-$key.cpio.gz" -delete
  fi
  cat "$VSB_INITRD" "$ov" > "$out"
}
