# Shared helpers for the nested-KVM sandbox scripts (sourced by bash scripts).
# Cache of downloaded/unpacked Debian material; lives outside the repo.
VSB_CACHE=${VIREO_SANDBOX_CACHE:-/var/cache/vireo-sandbox}
VSB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)   # tests/sandbox
VSB_ROOT=$(cd "$VSB_DIR/../.." && pwd)                      # repo root

vsb_log() { echo "sandbox: $*" >&2; }
vsb_die() { echo "sandbox: error: $*" >&2; exit 2; }

# Loads $VSB_CACHE/kernel.env (written by setup.sh): KVER, VSB_KROOT, VMLINUZ, MODDIR.
vsb_load_env() {
  [ -f "$VSB_CACHE/kernel.env" ] || return 1
  . "$VSB_CACHE/kernel.env"
  [ -f "$VMLINUZ" ] && [ -d "$MODDIR" ]
}

# Runs setup.sh unless the cache is already complete (cheap check).
vsb_ensure_setup() {
  if ! vsb_load_env || [ ! -f "$VSB_CACHE/outer.env" ] || [ -n "${VSB_FORCE_SETUP:-}" ]; then
    bash "$VSB_DIR/setup.sh" >&2 || vsb_die "setup.sh failed"
    vsb_load_env || vsb_die "setup.sh left no usable kernel in $VSB_CACHE"
  fi
  . "$VSB_CACHE/outer.env"
  # The outer initramfs depends on files in the repo: rebuild when they changed.
  if [ "$OUTER_KEY" != "$(vsb_outer_key)" ]; then
    bash "$VSB_DIR/setup.sh" >&2 || vsb_die "setup.sh failed"
    . "$VSB_CACHE/outer.env"
  fi
}

vsb_outer_key() {
  cat "$VSB_DIR/outer-init.sh" "$VSB_DIR/mkinitrd.sh" "$VSB_DIR/lib/kmods.py" \
      "$VSB_DIR/setup.sh" /bin/busybox 2>/dev/null | { cat; echo "$KVER"; } \
      | sha256sum | cut -c1-16
}

# Milliseconds since the epoch.
vsb_now_ms() { date +%s%3N; }

# Prints the path of the default inner-guest initramfs (guest/init.sh, guest/tests/*.sh,
# virtio modules), building it into the cache when the inputs changed. Host side only.
# vsb_display_initrd: the display case's initramfs (guest/display/build.sh), cached.
vsb_display_initrd() {
  local key out
  key=$(cat "$VSB_DIR"/guest/*.sh "$VSB_DIR"/guest/display/* "$VSB_DIR/mkinitrd.sh" \
          "$VSB_DIR/lib/kmods.py" | { cat; echo "$KVER"; } | sha256sum | cut -c1-16)
  out=$VSB_CACHE/display-$key.cpio.gz
  if [ ! -f "$out" ]; then
    bash "$VSB_DIR/guest/display/build.sh" "$out" "$MODDIR" "$KVER" >&2 || return 1
    find "$VSB_CACHE" -maxdepth 1 -name 'display-*.cpio.gz' ! -name "display-$key.cpio.gz" -mmin +120 -delete
  else
    touch "$out"                # in use: another checkout's clean-up leaves it alone
  fi
  echo "$out"
}

vsb_inner_initrd() {
  local key out
  key=$(cat "$VSB_DIR"/guest/*.sh "$VSB_DIR"/guest/tests/*.sh "$VSB_DIR/mkinitrd.sh" \
          "$VSB_DIR/lib/kmods.py" | { cat; echo "$KVER"; } | sha256sum | cut -c1-16)
  out=$VSB_CACHE/inner-$key.cpio.gz
  if [ ! -f "$out" ]; then
    bash "$VSB_DIR/mkinitrd.sh" -o "$out" >&2 || return 1
    find "$VSB_CACHE" -maxdepth 1 -name 'inner-*.cpio.gz' ! -name "inner-$key.cpio.gz" -mmin +120 -delete
  else
    touch "$out"                # in use: another checkout's clean-up leaves it alone
  fi
  echo "$out"
}
