#!/bin/sh
# The hostile-guest tests under AddressSanitizer + UBSan, for `make check` on a build
# that is not sanitized itself: the systematic sweep of every device (test-device-sweep),
# the ACPI PCI hotplug hostile driver and device removals (test-pcihp),
# the virtio hostile-driver tests, the VNC server's hostile clients (test-vnc: Tight,
# websockets) and the migration stream (test-migration: corrupt, hostile and mutated
# streams, libslirp state, live migrations, machines freed during and after them,
# exec: commands), the VGA (register fuzz, rendering from the display's dirty
# bitmaps: test-vga), the memory core (dispatch, the two dirty-logging clients:
# test-memory) and the management options (test-mgmt-options: -global into abstract parents), built in a sanitized build
# directory of their own (made on first use, incremental after that: ~1-2 min the
# first time on 2 cores). LeakSanitizer is on (ASan's default): a leak fails the test.
# usage: asan-sweep.sh SOURCE_DIR ASAN_BUILD_DIR
set -e
src=$1
dir=$2
tests="test-device-sweep test-pcihp test-virtio-hostile test-virtio test-virtio-net test-e1000 test-net test-vnc
       test-migration test-mgmt-options test-vga test-memory"
if ! command -v meson >/dev/null || ! command -v ninja >/dev/null; then
    echo "meson/ninja not in PATH: cannot make the sanitized build"; exit 77
fi
if [ ! -f "$dir/build.ninja" ]; then
    meson setup "$dir" "$src" -Dsanitize=true >"$dir.setup.log" 2>&1 ||
        { cat "$dir.setup.log"; exit 1; }
fi
targets=""
for t in $tests; do targets="$targets tests/$t"; done
ninja -C "$dir" $targets >"$dir.build.log" 2>&1 || { tail -50 "$dir.build.log"; exit 1; }
export ASAN_OPTIONS="${ASAN_OPTIONS:-abort_on_error=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}"
export VIREO_BUILD_DIR="$dir"
for t in $tests; do
    echo "# $t under ASan/UBSan"
    "$dir/tests/$t"
done
