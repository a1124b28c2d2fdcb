#!/usr/bin/env bash
# Prepares the nested-KVM sandbox cache (idempotent; fast when already done):
#  - host tools (qemu-system-x86, busybox-static, cpio) when missing and we are root;
#  - the Debian kernel package that linux-image-amd64 depends on (6.1.0-NN-amd64),
#    fetched with `apt-get download`, unpacked with `dpkg -x`;
#  - the outer guest's initramfs (busybox, 9p + virtio + kvm-amd modules, outer-init.sh).
# Cache: $VIREO_SANDBOX_CACHE (default /var/cache/vireo-sandbox). Writes kernel.env, outer.env.
# Set VSB_KERNEL_PKG=linux-image-6.1.0-NN-amd64 to pin a package.
set -euo pipefail
{ # (parsed whole before it runs: editing this file mid-run cannot break a run)
. "$(dirname "$0")/lib/common.sh"

mkdir -p "$VSB_CACHE" || vsb_die "cannot create $VSB_CACHE (set VIREO_SANDBOX_CACHE)"
exec 9>"$VSB_CACHE/.setup.lock"
flock 9

# 1. Host tools.
need=()
command -v qemu-system-x86_64 >/dev/null || need+=(qemu-system-x86)
{ [ -x /bin/busybox ] && ! ldd /bin/busybox >/dev/null 2>&1; } || need+=(busybox-static)
command -v cpio >/dev/null || need+=(cpio)
command -v python3 >/dev/null || need+=(python3)
if [ ${#need[@]} -gt 0 ]; then
  [ "$(id -u)" = 0 ] || vsb_die "missing packages: ${need[*]} (install them as root)"
  vsb_log "installing ${need[*]}"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >&2 \
    || { apt-get update -qq >&2; DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
           --no-install-recommends "${need[@]}" >&2; }
fi

# 2. The kernel package.
kernel_pkg() {
  apt-cache depends linux-image-amd64 2>/dev/null \
    | awk '$1 == "Depends:" && $2 ~ /^linux-image-[0-9]/ { print $2; exit }'
}
apt_update() {  # apt lists missing or stale (a fresh machine): refresh once, as root
  [ "$(id -u)" = 0 ] && [ -z "${apt_updated:-}" ] || return 1
  vsb_log "apt-get update"; apt_updated=1; apt-get update -qq >&2
}
pkg=${VSB_KERNEL_PKG:-$(kernel_pkg)}
if [ -z "$pkg" ] && ! vsb_load_env && apt_update; then pkg=$(kernel_pkg); fi
if [ -z "$pkg" ]; then
  # apt lists not available: fall back to whatever kernel is cached.
  if vsb_load_env; then pkg=$KPKG; vsb_log "apt-cache unavailable, using cached $pkg"
  else vsb_die "cannot resolve linux-image-amd64 (run apt-get update)"; fi
fi
kver=${pkg#linux-image-}
kroot=$VSB_CACHE/kernel/$pkg
if [ ! -f "$kroot/.complete" ]; then
  mkdir -p "$VSB_CACHE/debs"
  deb=$(ls "$VSB_CACHE"/debs/"${pkg}"_*.deb 2>/dev/null | tail -n1 || true)
  if [ -z "$deb" ]; then
    vsb_log "downloading $pkg"
    # apt-get download drops privileges to _apt when it can; let it write there.
    chmod 777 "$VSB_CACHE/debs" 2>/dev/null || true
    (cd "$VSB_CACHE/debs" && apt-get download -q "$pkg" >&2 2>&1) \
      || { apt_update && (cd "$VSB_CACHE/debs" && apt-get download -q "$pkg" >&2 2>&1); } \
      || vsb_die "apt-get download $pkg failed"
    deb=$(ls "$VSB_CACHE"/debs/"${pkg}"_*.deb | tail -n1)
  fi
  vsb_log "unpacking $(basename "$deb")"
  rm -rf "$kroot.tmp"; mkdir -p "$kroot.tmp"
  dpkg -x "$deb" "$kroot.tmp"
  touch "$kroot.tmp/.complete"
  rm -rf "$kroot"; mv "$kroot.tmp" "$kroot"
  # Older kernels (linux-image-amd64 moved on): keep only this one.
  find "$VSB_CACHE/kernel" -mindepth 1 -maxdepth 1 ! -name "$pkg" -exec rm -rf {} +
  find "$VSB_CACHE/debs" -name '*.deb' ! -name "${pkg}_*" -delete
fi
cat > "$VSB_CACHE/kernel.env.tmp" <<ENV
KPKG=$pkg
KVER=$kver
VSB_KROOT=$kroot
VMLINUZ=$kroot/boot/vmlinuz-$kver
MODDIR=$kroot/lib/modules/$kver
ENV
mv -f "$VSB_CACHE/kernel.env.tmp" "$VSB_CACHE/kernel.env"
vsb_load_env || vsb_die "kernel package $pkg has no vmlinuz/modules"

# 3. The outer guest's initramfs (tun, vhost_net, bridge and veth for the network tests).
key=$(vsb_outer_key)
outer=$VSB_CACHE/outer-$key.cpio.gz
if [ ! -f "$outer" ]; then
  vsb_log "building outer initramfs"
  bash "$VSB_DIR/mkinitrd.sh" -o "$outer" -k "$MODDIR" -i "$VSB_DIR/outer-init.sh" \
    -m irqbypass -m kvm -m ccp -m kvm_amd -m 9p -m 9pnet_virtio -m virtio_pci \
    -m virtio_blk -m crc32c_generic -m ext4 -m tun -m vhost_net -m bridge -m veth
  find "$VSB_CACHE" -maxdepth 1 -name 'outer-*.cpio.gz' ! -name "outer-$key.cpio.gz" -mmin +120 -delete
fi
printf 'OUTER_KEY=%s\nOUTER_INITRD=%s\n' "$key" "$outer" > "$VSB_CACHE/outer.env"
exit
}
