#!/usr/bin/env python3
"""Runs every Vireo test and prints one closing line: "N passed, N failed, N skipped".

Host tests are meson tests (exit 0 = pass, 77 = skipped, anything else = fail).
Sandbox tests run inside the nested-KVM sandbox (tests/sandbox/run-tests.sh) and
report TAP lines ("ok N - name", "not ok N - name", "ok N - name # SKIP why"),
each counted as a test of its own.
"""
import argparse, json, os, re, subprocess, sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def run_meson(build, counts):
    log = os.path.join(build, "meson-logs", "testlog.json")
    if os.path.exists(log):
        os.unlink(log)
    subprocess.call(["meson", "test", "-C", build, "--print-errorlogs",
                     "--no-suite", "sandbox", "--num-processes", "2"])
    if not os.path.exists(log):
        print("runner: meson wrote no test log", file=sys.stderr)
        counts["failed"] += 1
        return
    with open(log) as f:
        for line in f:
            r = json.loads(line)
            res = r.get("result")
            if res in ("OK", "EXPECTEDFAIL"):
                counts["passed"] += 1
            elif res == "SKIP":
                counts["skipped"] += 1
            else:
                counts["failed"] += 1


TAP = re.compile(r"^(not ok|ok)\b[^#]*(#\s*(SKIP|skip).*)?$")


def run_sandbox(build, counts):
    script = os.path.join(ROOT, "tests", "sandbox", "run-tests.sh")
    if not os.path.exists(script):
        return
    p = subprocess.Popen(["bash", script, build], stdout=subprocess.PIPE,
                         stderr=subprocess.STDOUT, text=True, cwd=ROOT)
    seen = 0
    for line in p.stdout:
        sys.stdout.write(line)
        sys.stdout.flush()
        m = TAP.match(line.strip())
        if not m:
            continue
        seen += 1
        if m.group(3):
            counts["skipped"] += 1
        elif m.group(1) == "ok":
            counts["passed"] += 1
        else:
            counts["failed"] += 1
    rc = p.wait()
    if rc != 0 and seen == 0:
        print(f"runner: sandbox harness exited {rc} before reporting any test")
        counts["failed"] += 1


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default="build")
    ap.add_argument("--only", choices=["host", "sandbox"])
    a = ap.parse_args()
    counts = {"passed": 0, "failed": 0, "skipped": 0}
    if a.only != "sandbox":
        run_meson(a.build, counts)
    if a.only != "host" and not os.environ.get("VIREO_NO_SANDBOX"):
        run_sandbox(a.build, counts)
    print(f"{counts['passed']} passed, {counts['failed']} failed, {counts['skipped']} skipped")
    return 1 if counts["failed"] else 0


if __name__ == "__main__":
    sys.exit(main())
