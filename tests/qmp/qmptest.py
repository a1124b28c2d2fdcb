"""What the QMP tests share (test_qmp.py, test_introspect.py, test_jobs.py,
test_blockdev.py): a QMP client, a VMM process with one QMP connection, the argv of
the none machine for Vireo and QEMU, and a TAP printer. Standard library only.

The tests import it from their own directory; they put that directory on sys.path
themselves, because tests/sandbox/cases/40-qmp.sh runs test_qmp.py with `python3 -I`
(which leaves the script's directory out of sys.path).
"""
import json
import os
import socket
import subprocess
import sys
import tempfile
import time

BUILD = os.environ.get('VIREO_BUILD_DIR', 'build')
VIREO = os.path.join(BUILD, 'vireo')
QEMU = 'qemu-system-x86_64'
TIMEOUT = 60            # per reply; generous: the sandbox is a slow TCG machine


class Fail(RuntimeError):
    """A check failed, or the QMP peer did something a test does not expect."""


def check(cond, why):
    if not cond:
        raise Fail(why)


class Tap:
    """TAP lines "ok - PREFIXNAME" / "not ok - PREFIXNAME" (with numbered=True
    "ok N - ..."), a failure's @why as at most @diag_lines "# " lines after it."""

    def __init__(self, prefix='', numbered=False, diag_lines=20):
        self.prefix, self.numbered, self.diag_lines = prefix, numbered, diag_lines
        self.count = 0
        self.fails = 0

    def __call__(self, ok, name, why=''):
        self.count += 1
        print('%s%s - %s%s' % ('ok' if ok else 'not ok',
                               ' %d' % self.count if self.numbered else '', self.prefix, name))
        if not ok:
            self.fails += 1
            for line in str(why).splitlines()[:self.diag_lines]:
                print('# ' + line)
        sys.stdout.flush()
        return ok

    def plan(self):
        print('1..%d' % self.count)


def none_machine(kind):
    """The start of the argv of the none machine, the same on both: Vireo with -accel
    qtest (runs no guest code, needs no KVM), QEMU (@kind 'qemu') with TCG."""
    if kind == 'vireo':
        argv = [VIREO, '-accel', 'qtest']
    else:
        argv = [QEMU, '-accel', 'tcg']
    return argv + ['-machine', 'none', '-nodefaults', '-display', 'none']


def qmp_listener(path):
    """The options of a QMP unix listener at @path."""
    return ['-qmp', 'unix:%s,server=on,wait=off' % path]


class Qmp:
    """One QMP connection (to a unix socket path, a (host, port) pair, or a connected
    socket). Events are kept apart from replies, in self.events, in their order."""

    def __init__(self, addr, negotiate=True, timeout=TIMEOUT):
        self.timeout = timeout
        if isinstance(addr, socket.socket):
            self.sock = addr
        else:
            fam = socket.AF_UNIX if isinstance(addr, str) else socket.AF_INET
            self.sock = socket.socket(fam, socket.SOCK_STREAM)
            self.sock.settimeout(timeout)
            self.sock.connect(addr)
        self.sock.settimeout(timeout)      # a socket given too
        self.buf = b''
        self.events = []
        self.greeting = self.recv()
        if negotiate:
            r = self.cmd('qmp_capabilities')
            check(r == {'return': {}}, 'qmp_capabilities: %r' % r)

    def recv(self):
        """The next message, reply or event."""
        while b'\n' not in self.buf:
            d = self.sock.recv(1 << 20)
            if not d:
                raise Fail('connection closed by the server')
            self.buf += d
        line, self.buf = self.buf.split(b'\n', 1)
        return json.loads(line)

    def send(self, data):
        self.sock.sendall(data if isinstance(data, bytes) else data.encode())

    def reply(self):
        """The next reply; the events before it go to self.events."""
        while True:
            m = self.recv()
            if 'event' in m:
                self.events.append(m)
            else:
                return m

    def cmd(self, name, args=None, **extra):
        """Runs @name with the arguments @args (a dict; None: no "arguments" member, {}:
        an empty one) and returns the reply; @extra are more members of the request
        ("id")."""
        req = {'execute': name}
        if args is not None:
            req['arguments'] = args
        req.update(extra)
        self.send(json.dumps(req))      # no line end: a server must not wait for one
        return self.reply()

    def ret(self, name, args=None):
        """The "return" of @name; Fail when the reply is an error."""
        r = self.cmd(name, args)
        if 'return' not in r:
            raise Fail('%s: %s' % (name, r))
        return r['return']

    def event(self, name, timeout=None, match=None):
        """Returns (and removes) the first event @name (for which match(event) holds),
        buffered or arriving within @timeout s (default: the reply timeout)."""
        timeout = self.timeout if timeout is None else timeout
        end = time.monotonic() + timeout
        while True:
            for i, e in enumerate(self.events):
                if e['event'] == name and (match is None or match(e)):
                    return self.events.pop(i)
            left = end - time.monotonic()
            if left <= 0:
                raise Fail('no %s event within %d s (got %r)' % (name, timeout, self.events))
            self.sock.settimeout(left)
            try:
                m = self.recv()
            except socket.timeout:
                continue
            finally:
                self.sock.settimeout(self.timeout)
            check('event' in m, 'unexpected reply %r' % m)
            self.events.append(m)

    def job_statuses(self, jid, last):
        """The JOB_STATUS_CHANGE statuses of job @jid up to and including @last."""
        out = []
        while not out or out[-1] != last:
            e = self.event('JOB_STATUS_CHANGE', match=lambda e: e['data']['id'] == jid)
            out.append(e['data']['status'])
        return out

    def close(self):
        self.sock.close()


class Vm(Qmp):
    """A VMM started with @argv and a QMP unix listener at @sock (added to @argv), and
    one negotiated connection to it; its stderr is kept in a file (self.stderr())."""

    def __init__(self, argv, sock, timeout=TIMEOUT, start_timeout=30):
        self.err = tempfile.TemporaryFile()
        self.p = subprocess.Popen(argv + qmp_listener(sock), stdin=subprocess.DEVNULL,
                                  stdout=subprocess.DEVNULL, stderr=self.err)
        deadline = time.time() + start_timeout
        while True:
            s = socket.socket(socket.AF_UNIX)
            try:
                s.connect(sock)
                break
            except OSError:
                s.close()
                if self.p.poll() is not None or time.time() > deadline:
                    self.kill()
                    raise Fail('%s did not start: %s' % (argv[0], self.stderr()[-400:]))
                time.sleep(0.05)
        super().__init__(s, timeout=timeout)

    def stderr(self):
        self.err.seek(0)
        return self.err.read().decode(errors='replace')

    def kill(self):
        if self.p.poll() is None:
            self.p.kill()
        self.p.wait()

    def close(self):
        """quit, then waits up to 10 s for the exit (kills the VMM after that)."""
        try:
            self.cmd('quit')
        except (OSError, ValueError, Fail):
            pass
        super().close()
        try:
            self.p.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.kill()
        self.err.close()
