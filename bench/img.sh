#!/bin/bash
# Side-by-side benchmark of vireo-img against Debian's qemu-img on the same files.
#
#   bench/img.sh [BUILD_DIR] [WORK_DIR]
#
# Every row runs both tools RUNS times (default 5), interleaved (the order alternates),
# and prints the median seconds of each and the ratio qemu-img / vireo-img (> 1: Vireo
# is faster). WORK_DIR must be on a real disk: cache=none needs O_DIRECT (tmpfs has
# none). Needs about 6 GiB there. Environment knobs: RUNS, SEQ_RUNS, QD1_COUNT,
# QD32_COUNT, ONLY (a regular expression: run only the rows whose name matches).
#
# Rows:
#  - 4 KiB random reads/writes at queue depth 1 and 32, raw and qcow2, cache=none
#    (qemu-img bench gets -i io_uring when it supports it; Vireo uses io_uring anyway)
#    (`bench -t none`; "random": each request is 1 MiB + 4 KiB after the previous one,
#    modulo the 1 GiB image, the same sequence for both tools since qemu-img bench has
#    no random mode). qcow2 writes go to a freshly created image each run, so they
#    measure cluster allocation; reads use a fully allocated image.
#  - sequential 1 MiB reads and writes (queue depth 4), raw, cache=none; these are bound
#    by the disk, whose speed drifts between runs, so they move 8 GiB per run
#    (the 1 GiB file over and over) and take SEQ_RUNS (default 9) runs
#  - convert of a 2 GiB qcow2 holding 1 GiB of data (half random, half text) to raw,
#    back to qcow2 (source and target cache=none), and to a compressed qcow2 (-c, the
#    default cache modes: that row is about compression speed).
set -euo pipefail

BUILD=${1:-build}
WORK=${2:-$PWD/bench-img.tmp}
RUNS=${RUNS:-5}
QD1=${QD1_COUNT:-4000}
QD32=${QD32_COUNT:-40000}
STEP=1052672
VIMG=$(realpath "$BUILD/tools/vireo-img")
QIMG=$(command -v qemu-img)

[ -x "$VIMG" ] || { echo "no $VIMG: build first" >&2; exit 1; }
[ -n "$QIMG" ] || { echo "qemu-img not found (apt-get install qemu-utils)" >&2; exit 1; }
mkdir -p "$WORK"
cd "$WORK"
if ! dd if=/dev/zero of=.direct-probe bs=4096 count=1 oflag=direct status=none 2>/dev/null; then
    echo "$WORK has no O_DIRECT (tmpfs?): pass a directory on a real disk" >&2
    exit 1
fi
rm -f .direct-probe

now() { date +%s.%N; }

# Seconds of one run: from "Run completed in X seconds." for bench, wall time otherwise.
timed() {
    local t0 out
    t0=$(now)
    out=$("$@" 2>&1) || { echo "FAILED: $* :: $out" >&2; exit 1; }
    if [[ $out =~ Run\ completed\ in\ ([0-9.]+)\ seconds ]]; then
        echo "${BASH_REMATCH[1]}"
    else
        echo "$(now) - $t0" | bc -l
    fi
}

median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

# row NAME PREP CMD-ARGS...: PREP (a shell function or "none") runs before each run;
# "TOOL" in the arguments is replaced by qemu-img or vireo-img.
row() {
    local name=$1 prep=$2; shift 2
    [[ $name =~ ${ONLY:-.} ]] || return 0
    local q=() v=() i tool first second
    for ((i = 0; i < RUNS; i++)); do
        if ((i % 2)); then first=v; second=q; else first=q; second=v; fi
        for tool in $first $second; do
            [ "$prep" = none ] || $prep "$tool"
            local bin=$QIMG; [ "$tool" = v ] && bin=$VIMG
            local args=("${@//TOOL/$bin}")
            # qemu-img bench defaults to aio=threads; give it io_uring where it has it.
            if [ "$tool" = q ] && [ "${args[1]}" = bench ]; then
                args=("${args[0]}" bench "${QBENCH_AIO[@]}" "${args[@]:2}")
            fi
            if [ "$tool" = q ]; then q+=("$(timed "${args[@]}")"); else v+=("$(timed "${args[@]}")"); fi
        done
    done
    local mq mv
    mq=$(median "${q[@]}")
    mv=$(median "${v[@]}")
    printf '| %-40s | %8.3f | %8.3f | %5.2fx |\n' "$name" "$mq" "$mv" "$(echo "$mq / $mv" | bc -l)"
}

# ---- test files ---------------------------------------------------------------------------
echo "preparing test files in $WORK ..." >&2
if [ ! -f src.raw ]; then
    dd if=/dev/urandom of=rand.raw bs=1M count=1024 status=none
    python3 - <<'EOF'
import random
r = random.Random(7)
words = [("%x" % r.getrandbits(24)) for _ in range(5000)]
with open("src.raw", "wb") as f:
    f.truncate(2 << 30)
    for i in range(256):                          # 256 extents of 4 MiB: 1 GiB of data
        f.seek(i * (8 << 20) + r.randrange(4) * (1 << 20))
        if i % 2:
            f.write(r.randbytes(4 << 20))
        else:
            text = " ".join(r.choice(words) for _ in range(800000)).encode()
            f.write(text[:4 << 20].ljust(4 << 20, b"."))
EOF
fi
[ -f src.qcow2 ] || "$QIMG" convert -f raw -O qcow2 src.raw src.qcow2
[ -f full.qcow2 ] || "$QIMG" convert -f raw -O qcow2 rand.raw full.qcow2
cp --sparse=never rand.raw rw.raw

# qemu-img bench's io_uring engine (-i io_uring), when this qemu-img has it.
QBENCH_AIO=()
if "$QIMG" bench -i io_uring -f raw -t none -c 1 -s 4k rand.raw >/dev/null 2>&1; then
    QBENCH_AIO=(-i io_uring)
fi
fresh_qcow2() { rm -f fresh.qcow2; "$QIMG" create -q -f qcow2 fresh.qcow2 1G; }
fresh_out() { rm -f out.raw out.qcow2 outc.qcow2; }

echo
echo "vireo-img vs qemu-img ($("$QIMG" --version | head -1)), median of $RUNS interleaved runs;" \
     "qemu-img bench ${QBENCH_AIO[*]:-with its default aio=threads (no io_uring)}"
echo "$(nproc) CPUs, $(uname -r), work dir $WORK"
echo
echo "| workload                                 | qemu-img | vireo-img | ratio |"
echo "|------------------------------------------|----------|-----------|-------|"
row "raw 4k rand read qd1 ($QD1 req)" none TOOL bench -f raw -t none -c "$QD1" -d 1 -s 4k -S $STEP rand.raw
row "raw 4k rand read qd32 ($QD32 req)" none TOOL bench -f raw -t none -c "$QD32" -d 32 -s 4k -S $STEP rand.raw
row "raw 4k rand write qd1 ($QD1 req)" none TOOL bench -w -f raw -t none -c "$QD1" -d 1 -s 4k -S $STEP rw.raw
row "raw 4k rand write qd32 ($QD32 req)" none TOOL bench -w -f raw -t none -c "$QD32" -d 32 -s 4k -S $STEP rw.raw
row "qcow2 4k rand read qd1 ($QD1 req)" none TOOL bench -f qcow2 -t none -c "$QD1" -d 1 -s 4k -S $STEP full.qcow2
row "qcow2 4k rand read qd32 ($QD32 req)" none TOOL bench -f qcow2 -t none -c "$QD32" -d 32 -s 4k -S $STEP full.qcow2
row "qcow2 4k rand write qd1, allocating" fresh_qcow2 TOOL bench -w -f qcow2 -t none -c "$QD1" -d 1 -s 4k -S $STEP fresh.qcow2
row "qcow2 4k rand write qd32, allocating" fresh_qcow2 TOOL bench -w -f qcow2 -t none -c "$QD32" -d 32 -s 4k -S $STEP fresh.qcow2
RUNS=${SEQ_RUNS:-9} row "raw 1M seq read qd4 (8 GiB)" none TOOL bench -f raw -t none -c 8192 -d 4 -s 1M rand.raw
RUNS=${SEQ_RUNS:-9} row "raw 1M seq write qd4 (8 GiB)" none TOOL bench -w -f raw -t none -c 8192 -d 4 -s 1M rw.raw
row "convert qcow2 -> raw (1 of 2 GiB used)" fresh_out TOOL convert -T none -t none -O raw src.qcow2 out.raw
row "convert raw -> qcow2" fresh_out TOOL convert -T none -t none -f raw -O qcow2 src.raw out.qcow2
row "convert -c qcow2 -> qcow2 (zlib, default caches)" fresh_out TOOL convert -c -O qcow2 src.qcow2 outc.qcow2
