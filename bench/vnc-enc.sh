#!/usr/bin/env bash
# Benchmark (host only, no guest, no KVM): what each VNC encoding (Raw, Hextile, ZRLE,
# Tight) sends for scripted console pictures, from build/tests/vnc-encbench
# (tests/vnc-encbench.c: fbcon-like scrolling by 1 and 8 lines per update, random
# full-screen frames alternating with black, a synthetic desktop with a moving window).
# Deterministic: bytes and rectangles are the same on every run; the CPU column is the
# server's main-loop time for the updates. QEMU is not in it (its VNC server needs a
# guest): bench/display.sh compares with QEMU 7.2 in the sandbox.
#   bench/vnc-enc.sh [BUILD_DIR] [SCENARIO...]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$root/build}
shift || true
ninja -C "$build" tests/vnc-encbench >/dev/null
exec "$build/tests/vnc-encbench" "$@"
