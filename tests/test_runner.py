#!/usr/bin/env python3
"""`make check`'s counting (tests/runner.py, docs/testing.md) on made-up meson log rows
and sandbox TAP lines: TAP subtests count as themselves, reference runs and sandbox
self-checks apart, a host skip replaced by the sandbox's run of the same test."""
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import runner  # noqa: E402
import taptest  # noqa: E402

TESTS = {
    'test-a': ('tap', ['unit']),
    'cpu-kvm': ('tap', ['kvm']),
    'guest-ioport': ('exitcode', ['kvm']),
    'guest-qemu-ioport': ('exitcode', ['guest-qemu', 'reference']),
    'qmp-client': ('tap', ['qmp']),
    'qmp-client-qemu': ('tap', ['qmp', 'reference']),
    'cli': ('tap', ['cli']),
}
CASES = {
    'sandbox': {'host': None, 'self_check': True},
    'meson-kvm': {'host': '*', 'self_check': False},
    'linux-boot': {'host': None, 'self_check': False},
    'qmp': {'host': 'qmp-client', 'self_check': False},
}


def row(name, result, stdout='', suites='unit', rc=0):
    return {'name': 'vireo:%s / %s' % (suites, name), 'result': result, 'stdout': stdout,
            'returncode': rc}


def host(tally):
    rows = [
        row('test-a', 'OK', '1..3\nok 1 /a/one\nok 2 /a/two\nok 3 /a/kvm # SKIP no kvm\n'),
        row('cpu-kvm', 'SKIP', '1..0 # SKIP no usable /dev/kvm\n', 'kvm'),
        row('guest-ioport', 'SKIP', '', 'kvm', 77),
        row('guest-qemu-ioport', 'OK', '', 'guest-qemu+reference'),
        row('qmp-client', 'SKIP', '1..0 # SKIP no /dev/kvm\n', 'qmp'),
        row('qmp-client-qemu', 'OK', 'ok - greeting\nok - quit\n1..2\n', 'qmp+reference'),
        row('cli', 'OK', 'ok 1 - Help.test_version\nnot ok 2 - Help.test_x # TODO later\n'
            '1..2\n', 'cli'),
    ]
    for r in rows:
        runner.count_meson_row(tally, r, TESTS)


SANDBOX = [
    'ok 1 - sandbox: /dev/kvm is usable',
    'ok 2 - sandbox: kvm-amd with nested paging',
    'ok 3 - meson-kvm: cpu-kvm: /cpustate/kvm/roundtrip',
    'ok 4 - meson-kvm: cpu-kvm: /cpustate/kvm/models',
    'ok 5 - meson-kvm: guest-ioport',
    'ok 6 - linux-boot: vireo: boot: cpus',
    'ok 7 - linux-boot: qemu: boot: cpus',
    'ok 8 - qmp: greeting and negotiation',
    'not ok 9 - qmp: quit',
    '# some diagnostic',
    '1..9',
]


class Counting(unittest.TestCase):
    def tally(self, sandbox=True):
        t = runner.Tally()
        host(t)
        if sandbox:
            for line in SANDBOX:
                runner.count_sandbox_line(t, line, CASES)
        return t

    def test_host_only(self):
        t = self.tally(sandbox=False)
        # test-a: 2 passed + 1 skipped; cpu-kvm, guest-ioport, qmp-client: whole-test
        # skips; cli: 1 passed, the TODO one skipped
        self.assertEqual(t.counts(False), {'pass': 3, 'fail': 0, 'skip': 5})
        # guest-qemu-ioport + qmp-client-qemu's 2 subtests
        self.assertEqual(t.counts(True), {'pass': 3, 'fail': 0, 'skip': 0})

    def test_sandbox_replaces_host_skips(self):
        t = self.tally()
        # + cpu-kvm 2, guest-ioport 1, linux-boot vireo 1, qmp 1 passed (and 1 failed);
        # the host skips of cpu-kvm, guest-ioport and qmp-client are gone
        self.assertEqual(t.counts(False), {'pass': 8, 'fail': 1, 'skip': 2})
        # + 2 self-checks + 1 QEMU run
        self.assertEqual(t.counts(True), {'pass': 6, 'fail': 0, 'skip': 0})
        self.assertEqual([k for k, _, _ in t.failures()], ['qmp-client: quit'])
        self.assertNotIn('cpu-kvm', t.res)
        self.assertIn('cpu-kvm: /cpustate/kvm/roundtrip', t.res)

    def test_same_test_on_both_counts_once(self):
        t = runner.Tally()
        runner.count_meson_row(t, row('guest-ioport', 'OK', '', 'kvm'), TESTS)
        runner.count_sandbox_line(t, 'ok 1 - meson-kvm: guest-ioport', CASES)
        self.assertEqual(t.counts(False), {'pass': 1, 'fail': 0, 'skip': 0})
        runner.count_sandbox_line(t, 'not ok 2 - meson-kvm: guest-ioport', CASES)
        self.assertEqual(t.counts(False), {'pass': 0, 'fail': 1, 'skip': 0})

    def test_crash_after_last_result_is_a_failure(self):
        t = runner.Tally()
        runner.count_meson_row(t, row('test-a', 'ERROR', '1..5\nok 1 /a/one\nBail out! boom\n',
                                      rc=-6), TESTS)
        self.assertEqual(t.counts(False), {'pass': 1, 'fail': 1, 'skip': 0})

    def test_harness_failure_counts_against_vireo(self):
        t = runner.Tally()
        runner.count_sandbox_line(t, 'not ok 1 - sandbox harness: setup failed', CASES)
        runner.count_sandbox_line(t, 'not ok 2 - meson-kvm: did not finish: it died', CASES)
        self.assertEqual(t.counts(False), {'pass': 0, 'fail': 2, 'skip': 0})
        self.assertIn('meson-kvm: did not finish: it died', t.res)

    def test_tap_parse(self):
        r, plan, skip = taptest.parse('1..2\nok 1 /x # SKIP why not\nnot ok 2 - y\n')
        self.assertEqual(r, [('skip', '/x', 'why not'), ('fail', 'y', '')])
        self.assertEqual((plan, skip), (2, None))
        self.assertEqual(taptest.parse('1..0 # SKIP no kvm')[1:], (0, 'no kvm'))

    def test_real_case_headers(self):
        cases = runner.sandbox_cases()
        self.assertTrue(cases['sandbox']['self_check'])
        self.assertEqual(cases['meson-kvm']['host'], '*')
        self.assertEqual(cases['qmp']['host'], 'qmp-client')


if __name__ == '__main__':
    sys.exit(taptest.main())
