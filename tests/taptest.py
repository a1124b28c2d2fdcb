"""TAP output for Python unittest suites, so meson (protocol 'tap') and `make check`
count every test case as itself (docs/testing.md).

    import taptest                  # (tests/ is put on sys.path by the caller)
    if __name__ == '__main__':
        sys.exit(taptest.main())

Prints "ok N - Class.test", "not ok N - Class.test" followed by the traceback as
"# " lines, "ok N - Class.test # SKIP reason", then the plan "1..N". Exit 0 when
nothing failed, else 1. Standard library only.
"""
import sys
import unittest


class TapResult(unittest.TestResult):
    def __init__(self, stream):
        super().__init__()
        self.out = stream
        self.n = 0

    def _name(self, test):
        return '%s.%s' % (type(test).__name__, test._testMethodName) \
            if hasattr(test, '_testMethodName') else str(test)

    def _line(self, ok, test, directive='', diag=''):
        self.n += 1
        name = self._name(test).replace('#', '_')
        self.out.write('%s %d - %s%s\n' % ('ok' if ok else 'not ok', self.n, name, directive))
        for line in diag.rstrip().splitlines():
            self.out.write('# %s\n' % line)
        self.out.flush()

    def addSuccess(self, test):
        super().addSuccess(test)
        self._line(True, test)

    def addFailure(self, test, err):
        super().addFailure(test, err)
        self._line(False, test, diag=self.failures[-1][1])

    def addError(self, test, err):
        super().addError(test, err)
        self._line(False, test, diag=self.errors[-1][1])

    def addSkip(self, test, reason):
        super().addSkip(test, reason)
        self._line(True, test, ' # SKIP %s' % reason.replace('\n', ' '))

    def addExpectedFailure(self, test, err):
        super().addExpectedFailure(test, err)
        self._line(True, test, ' # TODO expected failure')

    def addUnexpectedSuccess(self, test):
        super().addUnexpectedSuccess(test)
        self._line(False, test, diag='unexpected success')


def main(module='__main__', argv=None):
    """Runs the TestCases of @module (or those named in argv) and prints TAP."""
    argv = sys.argv[1:] if argv is None else argv
    loader = unittest.TestLoader()
    mod = sys.modules[module] if isinstance(module, str) else module
    suite = loader.loadTestsFromNames(argv, mod) if argv else loader.loadTestsFromModule(mod)
    result = TapResult(sys.stdout)
    suite.run(result)
    sys.stdout.write('1..%d\n' % result.n)
    return 0 if result.wasSuccessful() else 1


# ---- reading TAP (tests/runner.py, tests/sandbox/lib/mesontests.py) ----

import re as _re

_LINE = _re.compile(r'^(not ok|ok)\b[ \t]*(\d+)?[ \t]*(?:-[ \t]*)?([^#]*?)[ \t]*'
                    r'(?:#[ \t]*(SKIP|TODO)\S*[ \t]*(.*))?$', _re.I)
_PLAN = _re.compile(r'^1\.\.(\d+)[ \t]*(?:#[ \t]*SKIP\S*[ \t]*(.*))?$', _re.I)


def parse(text):
    """Reads TAP output. Returns (results, plan, plan_skip) where results is a list of
    (status, name, reason) with status 'pass', 'fail' or 'skip' (a TODO test, whether
    it passed or not, is 'skip': it proves nothing), plan the planned count or None,
    and plan_skip the reason of a "1..0 # SKIP reason" plan or None."""
    results, plan, plan_skip = [], None, None
    for line in (text or '').splitlines():
        line = line.rstrip('\r')
        m = _LINE.match(line)
        if m:
            ok, num, name, directive, why = m.groups()
            name = name.strip() or 'test %s' % (num or len(results) + 1)
            if directive and directive.upper() == 'SKIP':
                results.append(('skip', name, why.strip()))
            elif directive:
                results.append(('skip', name, 'TODO ' + why.strip()))
            else:
                results.append(('pass' if ok.lower() == 'ok' else 'fail', name, ''))
            continue
        m = _PLAN.match(line)
        if m:
            plan = int(m.group(1))
            if plan == 0:
                plan_skip = (m.group(2) or '').strip() or 'skipped'
    return results, plan, plan_skip
