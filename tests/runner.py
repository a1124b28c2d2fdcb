#!/usr/bin/env python3
"""Runs every Vireo test and prints the closing line "N passed, N failed, N skipped".

The counting rules (docs/testing.md):
- Every test case counts as itself: meson tests that speak TAP (GLib test binaries,
  the Python suites) count one result per TAP line, a whole-test skip ("1..0 # SKIP",
  exit 77) counts one skip, and a test that crashed or timed out after its last TAP
  line counts one more failure. Other meson tests count one result each.
- The sandbox (tests/sandbox/run-tests.sh) reports TAP lines "ok N - case: name".
  A case that stands for a host meson test (its header says "# vsb-host-test: NAME",
  or "*" when its names are meson test names) replaces that test's host skip: a test
  skipped on the host and run in the sandbox is counted once. A result reported by
  both (a host with KVM) is counted once too: failed if either failed.
- The closing line counts Vireo's own tests only. QEMU reference runs (meson suite
  'reference'; sandbox results named "qemu: ...") and the sandbox's self-checks (a case
  whose header says "# vsb-self-check") are counted on a line of their own, printed
  just before it.
Exit status 1 when any test, Vireo's or a reference, failed.
"""
import argparse, json, os, re, subprocess, sys
from collections import OrderedDict

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, 'tests'))
import taptest  # noqa: E402

MESON_OK = ('OK', 'EXPECTEDFAIL')


class Tally:
    """Results by key; a key reported twice is one result (fail > pass > skip)."""

    RANK = {'skip': 0, 'pass': 1, 'fail': 2}

    def __init__(self):
        self.res = OrderedDict()      # key -> [status, reference?, reason]

    def add(self, key, status, reference=False, reason=''):
        old = self.res.get(key)
        if old is None or self.RANK[status] > self.RANK[old[0]]:
            self.res[key] = [status, reference or (old and old[1]), reason]

    def drop_skip(self, key):
        if key in self.res and self.res[key][0] == 'skip':
            del self.res[key]

    def counts(self, reference):
        c = {'pass': 0, 'fail': 0, 'skip': 0}
        for status, ref, _ in self.res.values():
            if bool(ref) == reference:
                c[status] += 1
        return c

    def failures(self):
        return [(k, r[1], r[2]) for k, r in self.res.items() if r[0] == 'fail']


def meson_tests(build):
    """name -> (protocol, suites) from `meson introspect --tests`."""
    try:
        out = subprocess.run(['meson', 'introspect', '--tests', build], capture_output=True,
                             text=True, check=True).stdout
        return {t['name']: (t.get('protocol', 'exitcode'),
                            [s.split(':', 1)[-1] for s in t.get('suite', [])])
                for t in json.loads(out)}
    except (OSError, subprocess.CalledProcessError, ValueError):
        return {}


def count_meson_row(tally, row, tests):
    full = row.get('name', '?')
    name = full.rpartition(' / ')[2]
    proto, suites = tests.get(name, ('exitcode', []))
    if not suites and ':' in full.rpartition(' / ')[0]:
        suites = full.rpartition(' / ')[0].split(':', 1)[1].split('+')
    ref = 'reference' in suites
    res = row.get('result')
    if proto == 'tap':
        subs, _, plan_skip = taptest.parse(row.get('stdout'))
        for status, sub, why in subs:
            tally.add('%s: %s' % (name, sub), status, ref, why)
        bad = res not in MESON_OK and res != 'SKIP'
        if not subs:
            tally.add(name, 'skip' if res == 'SKIP' else 'fail' if bad else 'pass', ref,
                      plan_skip or res)
        elif bad and not any(s == 'fail' for s, _, _ in subs):
            tally.add(name, 'fail', ref, '%s, exit status %s' % (res, row.get('returncode')))
    else:
        tally.add(name, 'pass' if res in MESON_OK else 'skip' if res == 'SKIP' else 'fail',
                  ref, res)


def run_meson(build, tally):
    log = os.path.join(build, 'meson-logs', 'testlog.json')
    if os.path.exists(log):
        os.unlink(log)
    subprocess.call(['meson', 'test', '-C', build, '--print-errorlogs',
                     '--no-suite', 'sandbox', '--num-processes', '2'])
    if not os.path.exists(log):
        print('runner: meson wrote no test log', file=sys.stderr)
        tally.add('meson test', 'fail', reason='no test log')
        return
    tests = meson_tests(build)
    with open(log) as f:
        for line in f:
            count_meson_row(tally, json.loads(line), tests)


def sandbox_cases():
    """short case name -> {'host': NAME or '*' or None, 'self_check': bool}."""
    cases = {}
    d = os.path.join(ROOT, 'tests', 'sandbox', 'cases')
    for fn in sorted(os.listdir(d)) if os.path.isdir(d) else []:
        if not fn.endswith('.sh'):
            continue
        info = {'host': None, 'self_check': False}
        with open(os.path.join(d, fn), errors='replace') as f:
            for line in f.readlines()[:20]:
                m = re.match(r'#\s*vsb-host-test:\s*(\S+)', line)
                if m:
                    info['host'] = m.group(1)
                if re.match(r'#\s*vsb-self-check\b', line):
                    info['self_check'] = True
        cases[re.sub(r'^\d\d-', '', fn[:-3])] = info
    return cases


def count_sandbox_line(tally, line, cases):
    subs, _, _ = taptest.parse(line)
    if not subs:
        return False
    status, desc, why = subs[0]
    short, sep, rest = desc.partition(': ')
    info = cases.get(short) if sep else None
    if info is None:                  # the harness itself ("sandbox harness: ...")
        tally.add(desc, status, False, why)
        return True
    ref = info['self_check'] or rest.startswith('qemu: ')
    host = info['host']
    if host == '*' and ' ' not in rest.partition(': ')[0]:
        host_test, key = rest.partition(': ')[0], rest   # "NAME[: subtest]"
    elif host == '*':                 # the case's own report ("did not finish: ...")
        host_test, key = None, desc
    elif host:
        host_test, key = host, '%s: %s' % (host, rest)
    else:
        host_test, key = None, desc
    if host_test:
        tally.drop_skip(host_test)    # skipped on the host, run here: counted once
    tally.add(key, status, ref, why)
    return True


def run_sandbox(build, tally):
    script = os.path.join(ROOT, 'tests', 'sandbox', 'run-tests.sh')
    if not os.path.exists(script):
        return
    cases = sandbox_cases()
    p = subprocess.Popen(['bash', script, build], stdout=subprocess.PIPE,
                         stderr=subprocess.STDOUT, text=True, cwd=ROOT)
    seen = 0
    for line in p.stdout:
        sys.stdout.write(line)
        sys.stdout.flush()
        seen += count_sandbox_line(tally, line.strip(), cases)
    rc = p.wait()
    if rc != 0 and seen == 0:
        print(f'runner: sandbox harness exited {rc} before reporting any test')
        tally.add('sandbox harness', 'fail', reason='exited %d' % rc)


def summary(tally):
    fails = tally.failures()
    if fails:
        print('# failed:')
        for key, ref, why in fails:
            print('#   %s%s%s' % (key, ' (reference)' if ref else '', ': ' + why if why else ''))
    r, v = tally.counts(True), tally.counts(False)
    print('reference runs (QEMU doing the same scenarios) and sandbox self-checks, counted '
          'apart: %d passed, %d failed, %d skipped' % (r['pass'], r['fail'], r['skip']))
    print('%d passed, %d failed, %d skipped' % (v['pass'], v['fail'], v['skip']))
    return 1 if fails else 0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--build', default='build')
    ap.add_argument('--only', choices=['host', 'sandbox'])
    a = ap.parse_args()
    tally = Tally()
    if a.only != 'sandbox':
        run_meson(a.build, tally)
    if a.only != 'host' and not os.environ.get('VIREO_NO_SANDBOX'):
        run_sandbox(a.build, tally)
    return summary(tally)


if __name__ == '__main__':
    sys.exit(main())
