#!/usr/bin/env python3
"""-netdev user (libslirp) across a live migration (cases/80-migration.sh; TAP on stdout).

One Linux guest (guest/tests/slirpmig.sh) on `-netdev user` with a hostfwd to its echo
server on port 7000 and a guestfwd 10.0.2.100:5701 to a chardev connected to an echo
service here (Echo); it keeps two connections of its own to that service, one through
the guestfwd, one NAT'd (10.0.2.2), each sending a number every 0.2 s and printing the
echoes. The guest migrates to a second process of the same VMM over unix:, which has
its own hostfwd port (two listeners cannot share one port: a destination given the
source's port does not start, which is checked too). What is checked is what libslirp's
state carries (its guestfwd connections, DHCP leases) and what it cannot (host sockets):
  - the guestfwd connection goes on from the destination (its chardev is the
    destination's own connection to the service);
  - the NAT'd connection ends on the destination (libslirp saves no NAT'd socket: the
    guest's next segment is answered with a reset);
  - a new connection to the destination's own hostfwd reaches the guest; the connection
    made through the source's hostfwd ends with the source.
--vmm qemu runs the same with Debian's QEMU 7.2 (names start with "qemu: ").
"""
import argparse
import json
import os
import re
import socket
import subprocess
import sys
import threading
import time

ECHO = re.compile(r'^ECHO-([GN]) (\d+)$')


def tap(ok, name, *why):
    print(('ok - ' if ok else 'not ok - ') + name, flush=True)
    for w in why:
        for line in str(w).splitlines():
            if line.strip():
                print('# ' + line, flush=True)
    return ok


def free_port():
    s = socket.socket()
    s.bind(('127.0.0.1', 0))
    port = s.getsockname()[1]
    s.close()
    return port


class Echo:
    """A line echo service on 127.0.0.1; counts the connections it accepted."""

    def __init__(self):
        self.ls = socket.socket()
        self.ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.ls.bind(('127.0.0.1', 0))
        self.ls.listen(8)
        self.port = self.ls.getsockname()[1]
        self.accepts = 0
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            c, _ = self.ls.accept()
            self.accepts += 1
            threading.Thread(target=self._serve, args=(c,), daemon=True).start()

    @staticmethod
    def _serve(c):
        try:
            while True:
                d = c.recv(4096)
                if not d:
                    break
                c.sendall(d)
        except OSError:
            pass
        c.close()


class VM:
    def __init__(self, a, name, hostfwd_port, echo_port, extra=()):
        self.name = name
        self.ser = os.path.join(a.work, name + '.ser')
        self.qmp_path = os.path.join(a.work, name + '.qmp')
        self.err_path = os.path.join(a.logdir, 'slirp-%s-%s.err' % (a.vmm, name))
        self.log = open(os.path.join(a.logdir, 'slirp-%s-%s.log' % (a.vmm, name)), 'w')
        self.lines = []
        self.lock = threading.Lock()
        base = [a.vireo] if a.vmm == 'vireo' else ['qemu-system-x86_64']
        args = base + [
            '-machine', 'pc', '-accel', 'kvm', '-cpu', 'host', '-m', '256',
            '-display', 'none', '-kernel', a.kernel, '-initrd', a.initrd,
            '-append', 'console=ttyS0 quiet panic=-1 vtest=slirpmig vtest.port=%d' % echo_port,
            '-netdev', 'user,id=u0,hostfwd=tcp:127.0.0.1:%d-:7000,'
                       'guestfwd=tcp:10.0.2.100:5701-tcp:127.0.0.1:%d' % (hostfwd_port, echo_port),
            '-device', 'virtio-net-pci,netdev=u0,mac=52:54:00:12:34:77',
            '-chardev', 'socket,id=s0,path=%s,server=on,wait=off' % self.ser,
            '-serial', 'chardev:s0',
            '-qmp', 'unix:%s,server=on,wait=off' % self.qmp_path] + list(extra)
        self.proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=self.log,
                                     stderr=open(self.err_path, 'w'))
        self.sock = self.q = None

    def connect(self):
        self.sock = self._connect(self.ser)
        threading.Thread(target=self._read_serial, daemon=True).start()
        self.q = self._connect(self.qmp_path).makefile('rw')
        self.q.readline()
        self.cmd('qmp_capabilities')
        return self

    def _connect(self, path):
        end = time.monotonic() + 120
        while time.monotonic() < end:
            if self.proc.poll() is not None:
                raise RuntimeError('%s exited with %s: %s' % (self.name, self.proc.returncode,
                                                              self.stderr()))
            try:
                s = socket.socket(socket.AF_UNIX)
                s.connect(path)
                return s
            except OSError:
                time.sleep(0.05)
        raise RuntimeError('%s: %s never appeared' % (self.name, path))

    def _read_serial(self):
        buf = b''
        while True:
            try:
                data = self.sock.recv(65536)
            except OSError:
                return
            if not data:
                return
            buf += data
            while b'\n' in buf:
                line, buf = buf.split(b'\n', 1)
                text = line.decode('utf-8', 'replace').replace('\r', '').strip()
                with self.lock:
                    self.lines.append(text)
                self.log.write(text + '\n')
                self.log.flush()

    def stderr(self):
        try:
            return open(self.err_path).read()[-1500:]
        except OSError:
            return ''

    def cmd(self, name, **args):
        msg = {'execute': name}
        if args:
            msg['arguments'] = args
        self.q.write(json.dumps(msg) + '\n')
        self.q.flush()
        while True:
            line = self.q.readline()
            if not line:
                raise RuntimeError('%s: QMP closed (%s)' % (self.name, self.stderr()))
            r = json.loads(line)
            if 'event' not in r:
                return r

    def echoes(self, tag):
        with self.lock:
            return [int(m.group(2)) for m in map(ECHO.match, self.lines)
                    if m and m.group(1) == tag]

    def has(self, text):
        with self.lock:
            return text in self.lines

    def wait(self, cond, timeout):
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if cond():
                return True
            if self.proc.poll() is not None:
                return cond()
            time.sleep(0.1)
        return cond()

    def quit(self):
        if self.proc.poll() is None:
            try:
                self.cmd('quit')
                self.proc.wait(timeout=20)
            except (RuntimeError, OSError, subprocess.TimeoutExpired):
                self.kill()

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


def echo_once(sock, text, timeout=10):
    """Sends a line on @sock; True when it comes back."""
    sock.settimeout(timeout)
    try:
        sock.sendall(text.encode() + b'\n')
        got = b''
        while not got.endswith(b'\n'):
            d = sock.recv(4096)
            if not d:
                return False
            got += d
        return got.strip() == text.encode()
    except OSError:
        return False


def ended(sock, timeout):
    """True when @sock sees its end (EOF or an error) within @timeout seconds."""
    sock.settimeout(timeout)
    try:
        while True:
            if not sock.recv(4096):
                return True
    except socket.timeout:
        return False
    except OSError:
        return True


def steps(a, vms):
    p = 'qemu: slirp: ' if a.vmm == 'qemu' else 'slirp: '
    echo = Echo()
    hp1, hp2 = free_port(), free_port()
    src = VM(a, 'src', hp1, echo.port)
    vms.append(src)
    src.connect()
    up = src.wait(lambda: len(src.echoes('G')) >= 3 and len(src.echoes('N')) >= 3, 180)
    if not tap(up, p + 'the guest\'s connections through the guestfwd and NAT\'d run',
               'G %s, N %s' % (src.echoes('G')[-3:], src.echoes('N')[-3:]), src.stderr()):
        return
    c1 = socket.create_connection(('127.0.0.1', hp1), timeout=10)
    tap(echo_once(c1, 'before'), p + 'hostfwd reaches the guest\'s echo server')

    # Two listeners cannot share a port: the destination must have its own.
    bad = VM(a, 'bad', hp1, echo.port, ['-incoming', 'unix:%s/bad.sock' % a.work])
    vms.append(bad)
    try:
        rc = bad.proc.wait(timeout=60)
    except subprocess.TimeoutExpired:
        rc = None
    err = bad.stderr()
    tap(rc not in (None, 0) and 'host forwarding rule' in err,
        p + 'a destination given the source\'s hostfwd port does not start, naming the rule',
        'status %s' % rc, err)
    bad.kill()

    dst = VM(a, 'dst', hp2, echo.port, ['-incoming', 'unix:%s/m.sock' % a.work])
    vms.append(dst)
    dst.connect()
    src.cmd('migrate', uri='unix:%s/m.sock' % a.work)
    st, info, end = None, {}, time.monotonic() + 120
    while time.monotonic() < end:
        info = src.cmd('query-migrate')['return']
        st = info.get('status')
        if st in ('completed', 'failed', 'cancelled'):
            break
        time.sleep(0.2)
    if not tap(st == 'completed', p + 'migration completes', json.dumps(info), dst.stderr()):
        return
    g_src = src.echoes('G')
    n_src = src.echoes('N')
    # guestfwd: libslirp's state has the connection; the destination's chardev is its
    # own connection to the service (the service has one more accept).
    more = dst.wait(lambda: len(dst.echoes('G')) >= 10, 40)
    g_dst = dst.echoes('G')
    seq = g_src + g_dst
    gaps = [(x, y) for x, y in zip(seq, seq[1:]) if y != x + 1]
    tap(more and not dst.has('END G') and all(y > x for x, y in zip(seq, seq[1:])),
        p + 'guestfwd: the guest\'s connection goes on from the destination (echoes '
        'continue, in order)',
        'source %s..%s, destination %s..%s (%d lines), gaps %s' % (
            g_src[:1], g_src[-1:], g_dst[:1], g_dst[-1:], len(g_dst), gaps[:5]),
        'END G on the destination' if dst.has('END G') else '', dst.stderr())
    print('# %sguestfwd: %d echo(es) missing across the switch-over' % (
        p, sum(y - x - 1 for x, y in gaps)), flush=True)
    # NAT'd: no state for it on the destination.
    reset = dst.wait(lambda: dst.has('END N'), 30)
    tap(reset, p + 'NAT\'d connection: ends on the destination (libslirp saves no '
        'NAT\'d socket)', 'echoes on the source %s..%s, on the destination %s' % (
            n_src[:1], n_src[-1:], dst.echoes('N')[:5]))
    # hostfwd: the destination's own listener works; the source's connection cannot move.
    try:
        c2 = socket.create_connection(('127.0.0.1', hp2), timeout=10)
        ok = echo_once(c2, 'after')
        c2.close()
    except OSError as e:
        ok = False
        print('# %s' % e, flush=True)
    tap(ok, p + 'hostfwd: a new connection to the destination\'s own forward reaches the '
        'guest')
    stuck = not echo_once(c1, 'moved', timeout=3)
    src.quit()
    tap(stuck and ended(c1, 15), p + 'hostfwd: the connection through the source\'s forward '
        'gets no answer and ends with the source')
    c1.close()
    alive = dst.wait(lambda: len(dst.echoes('G')) >= len(g_dst) + 5, 20)
    tap(alive, p + 'guestfwd: the connection goes on after the source quit',
        'destination echoes %s..%s' % (dst.echoes('G')[:1], dst.echoes('G')[-1:]))
    dst.quit()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--vmm', default='vireo')
    ap.add_argument('--vireo')
    ap.add_argument('--kernel')
    ap.add_argument('--initrd')
    ap.add_argument('--work')
    ap.add_argument('--logdir')
    a = ap.parse_args()
    vms = []
    try:
        steps(a, vms)
        return 0
    except Exception as e:       # a harness error is a failed test, said plainly
        tap(False, ('qemu: ' if a.vmm == 'qemu' else '') + 'slirp: migration harness',
            repr(e))
        return 1
    finally:
        for vm in vms:
            vm.kill()


if __name__ == '__main__':
    sys.exit(main())
