#!/usr/bin/env python3
"""Run one meson suite's tests from `meson introspect --tests` output; print TAP.

usage: mesontests.py TESTS.json SUITE LOGDIR

Inside the sandbox, `meson test` costs ~30 s of Python start-up (every module is
read over 9p in a TCG guest), so run-tests.sh introspects on the host and this runs
the test commands directly with meson's semantics: the test's env and workdir, its
timeout (times $VSB_TIMEOUT_MULT, default 3: nested KVM in TCG is slow), exit status
0 = pass, 77 = skip, anything else = fail; a protocol "tap" test reports one line per
TAP result ("NAME: subtest"), as tests/runner.py counts them on the host.
"""
import json, os, shutil, subprocess, sys, time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
import taptest  # noqa: E402  (tests/taptest.py: the same TAP reading as tests/runner.py)


def fix_cmd(cmd):
    """A pyenv shim as interpreter (recorded by meson on a pyenv host) forks a dozen
    bash processes per call, ~12 s in the TCG guest: use the same-named program
    from the sandbox's PATH (which has no pyenv) instead."""
    if cmd and "/.pyenv/" in cmd[0]:
        alt = shutil.which(os.path.basename(cmd[0]))
        if alt:
            return [alt] + cmd[1:]
    return cmd


def in_suite(t, suite):
    return any(s == suite or s.endswith(":" + suite) for s in t.get("suite", []))


def main():
    path, suite, logdir = sys.argv[1:4]
    with open(path) as f:
        tests = [t for t in json.load(f) if in_suite(t, suite)]
    if not tests:
        print(f"ok - meson suite {suite} # SKIP the build defines no test in suite {suite}")
        return
    mult = float(os.environ.get("VSB_TIMEOUT_MULT", "3"))
    for t in tests:
        name = t["name"].replace("#", "_")
        env = dict(os.environ)
        env.update(t.get("env") or {})
        cwd = t.get("workdir") or os.environ.get("VSB_BUILD") or "."
        timeout = (t.get("timeout") or 0) * mult or None
        log = os.path.join(logdir, name.replace("/", "_") + ".log")
        start = time.monotonic()
        with open(log, "w") as out:
            try:
                p = subprocess.run(fix_cmd(t["cmd"]), env=env, cwd=cwd, stdout=out,
                                   stderr=subprocess.STDOUT, timeout=timeout,
                                   stdin=subprocess.DEVNULL)
                rc, how = p.returncode, f"exit status {p.returncode}"
            except subprocess.TimeoutExpired:
                rc, how = None, f"timed out after {timeout:.0f}s"
            except OSError as e:
                rc, how = None, f"cannot run: {e}"
        took = time.monotonic() - start
        with open(log, errors="replace") as f:
            text = f.read()
        if rc == 77:
            print(f"ok - {name} # SKIP exit status 77")
            continue
        if t.get("protocol") == "tap":
            report_tap(name, rc, how, took, text)
            continue
        ok = rc == 0
        print(f"{'ok' if ok else 'not ok'} - {name}")
        print(f"# {how} after {took:.1f}s")
        if not ok:
            for line in text.splitlines()[-15:]:
                print(f"#   {line}")
        sys.stdout.flush()


def report_tap(name, rc, how, took, text):
    """One line per TAP result ("NAME: subtest"), as `make check` counts them on the
    host; one more failure when the program failed after its last result."""
    subs, _, plan_skip = taptest.parse(text)
    for status, sub, why in subs:
        sub = sub.replace("#", "_")
        if status == "skip":
            print(f"ok - {name}: {sub} # SKIP {why}")
        else:
            print(f"{'ok' if status == 'pass' else 'not ok'} - {name}: {sub}")
    if not subs:
        if rc == 0 and plan_skip:
            print(f"ok - {name} # SKIP {plan_skip}")
        else:
            print(f"{'ok' if rc == 0 else 'not ok'} - {name}")
    elif rc != 0 and not any(s == "fail" for s, _, _ in subs):
        print(f"not ok - {name}: {how}")
    print(f"# {how} after {took:.1f}s")
    if rc != 0 or any(s == "fail" for s, _, _ in subs):
        for line in text.splitlines()[-15:]:
            print(f"#   {line}")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
