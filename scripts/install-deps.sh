#!/bin/sh
# Installs every Debian package Vireo needs to build and test, only when one is missing.
# Run as root on Debian 12. Used by `make run` and `make check`.
set -e
PKGS="gcc make meson ninja-build pkg-config python3 \
  libglib2.0-dev libpixman-1-dev libslirp-dev liburing-dev libaio-dev libjson-glib-dev \
  zlib1g-dev libzstd-dev liblzma-dev libsdl2-dev libseccomp-dev libfdt-dev acpica-tools \
  libpng-dev libjpeg62-turbo-dev nettle-dev seabios ipxe-qemu"
# Run time: seabios (bios-256k.bin, the VGA BIOS images) for firmware boots; ipxe-qemu
# (/usr/lib/ipxe/qemu/efi-e1000.rom, efi-virtio.rom): the NICs' default option ROMs,
# which a firmware boot loads as QEMU does (network boot with bootindex= / -boot n).
if [ "${1:-}" = "--test" ]; then
  # Test-only packages: qemu-utils (qemu-img/qemu-io interop), qemu-system-x86 (nested
  # KVM sandbox and side-by-side benchmarks), busybox-static and cpio (initramfs images).
  # iperf3 and ethtool go into the inner guest (network sandbox case, bench/net.sh);
  # tesseract-ocr reads the guest's console text off screendumps (display sandbox case).
  # xorriso, isolinux, syslinux-common, extlinux: the install-media test builds an ISO
  # and installs a bootloader on an IDE disk. xvfb, x11-apps (xwd), netpbm (xwdtopnm),
  # xdotool: the SDL window test on a virtual X server. vncsnapshot (a TightVNC-based
  # capture tool) and python3-websockets: real clients for VNC's Tight encoding and
  # websockets (tests/display/test-vnc-clients.py).
  # clang and libclang-rt-14-dev: the libFuzzer harnesses of the suite 'fuzz' (tests/fuzz).
  # gdb: the sandbox harness's stack dump of a VMM it kills for hanging (lib/vmrun.py).
  # pxelinux (pxelinux.0; ldlinux.c32 is syslinux-common's): the network-boot case 65-pxe.
  # libvirt-daemon, libvirt-daemon-driver-qemu, libvirt-clients: the libvirt case 50-libvirt
  # (a private libvirtd drives Vireo and QEMU; no libvirt-daemon-system, no service).
  PKGS="$PKGS qemu-utils qemu-system-x86 busybox-static cpio socat tesseract-ocr \
    xorriso isolinux syslinux-common extlinux iperf3 ethtool xvfb x11-apps netpbm xdotool \
    clang libclang-rt-14-dev vncsnapshot python3-websockets gdb pxelinux \
    libvirt-daemon libvirt-daemon-driver-qemu libvirt-clients"
fi
missing=""
for p in $PKGS; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
if [ "$(id -u)" != 0 ]; then
  echo "install-deps: missing packages:$missing (run as root to install them)" >&2
  exit 1
fi
echo "install-deps: installing$missing"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends $missing
