#!/usr/bin/env bash
# vsb-timeout: 420
# vsb-tcg: single (many short VMs: the outer QEMU's multi-threaded TCG livelocks here)
# vsb-host-test: * (the names are meson test names: their host skips are replaced)
# The meson `kvm` suite (freestanding guest programs on /dev/kvm), one TAP line per
# meson test. run-tests.sh writes $VSB_KVM_TESTS (`meson introspect --tests`) on the
# host; without it this falls back to `meson test` (slow: ~30 s of start-up here).
{ # (parsed whole before it runs: editing this file mid-run cannot break a run)
b=$VSB_BUILD
if [ -n "${VSB_KVM_TESTS:-}" ] && [ -f "$VSB_KVM_TESTS" ]; then
  exec python3 -I "$VSB_LIB/mesontests.py" "$VSB_KVM_TESTS" kvm "$VSB_LOGDIR"
fi
if [ ! -f "$b/build.ninja" ]; then echo "not ok - meson kvm suite"; echo "# $b is not a meson build dir"; exit 0; fi
meson test -C "$b" --suite kvm --no-rebuild --print-errorlogs --logbase sandbox-kvm \
  > "$VSB_LOGDIR/meson.log" 2>&1
rc=$?
if grep -q 'No suitable tests defined' "$VSB_LOGDIR/meson.log"; then
  echo "ok - meson suite kvm # SKIP the build defines no test in suite kvm"; exit 0
fi
python3 -I - "$b/meson-logs/sandbox-kvm.json" "$rc" <<'PY'
import json, sys
path, rc = sys.argv[1], sys.argv[2]
try:
    rows = [json.loads(l) for l in open(path)]
except OSError:
    print("not ok - meson kvm suite"); print(f"# meson test exited {rc} and wrote no log"); sys.exit()
for r in rows:
    name = r["name"].replace("#", "_")
    res = r.get("result")
    if res == "SKIP":
        print(f"ok - {name} # SKIP exit status 77")
    elif res in ("OK", "EXPECTEDFAIL"):
        print(f"ok - {name}")
    else:
        print(f"not ok - {name}"); print(f"# {res}, exit status {r.get('returncode')}")
        for l in (r.get("stdo") or "").splitlines()[-15:]:
            print(f"#   {l}")
PY
exit
}
