#!/usr/bin/env python3
"""Migration tests in the sandbox (cases/80-migration.sh runs this; TAP on stdout).

One Linux guest boots once and runs /bin/migload (tests/sandbox/guest/migload.c): it
dirties memory at a steady rate, prints "TICK n mono_ms sum" every 200 ms (sum: a
checksum of memory it never changes) and writes n to sector 0 of its virtio-blk disk.
The guest then moves between VMM processes: unix and tcp, with and without multifd and
auto-converge; cancel, a killed destination, a corrupt stream and a destination with an
extra device all leave the source running; savevm/loadvm; a VM saved with migrate file:
and restored with -incoming file:; -loadvm at start. After each switch-over the ticks go
on with no gap, the checksum is the one printed at start, the guest's monotonic clock
advanced no more than the host's clock did and never backwards, and the serial console
goes on from the new process. At the end the disk holds the last tick and passes
qemu-img check. --vmm qemu runs the basic unix migration with Debian's QEMU (the harness
checked against a reference).

With --tap-script (run in a network namespace whose bridge the script attaches taps to),
every VMM process also gets a virtio-net-pci NIC (one MAC) on its own tap, and the guest
keeps one TCP connection to an echo service here (Peer, on --peer): every tick it sends
the tick number and prints "ECHO n" for each number that comes back. After each live
migration the peer has accepted exactly one connection, the guest's, still open; it got
the ticks from before and after the switch-over in order; the guest got every echo, on
and on for NET_AFTER ticks on the destination.

Each VMM gets its serial port and QMP on unix sockets in the work directory.
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

TICK = re.compile(r'^TICK (\d+) (\d+) ([0-9a-f]{16})$')
ECHO = re.compile(r'^ECHO (\d+)$')
MIG_TIMEOUT = 240
NET_AFTER = 25          # ticks (5 s) the TCP exchange must go on for on a destination
NET_MAC = '52:54:00:12:34:90'


def tap(ok, name, *why):
    print(('ok - ' if ok else 'not ok - ') + name, flush=True)
    for w in why:
        for line in str(w).splitlines():
            if line.strip():
                print('# ' + line, flush=True)
    return ok


class VM:
    """One VMM process: its serial lines (with host arrival times) and a QMP session."""
    count = 0

    def __init__(self, h, vmm, extra=(), name=None):
        VM.count += 1
        self.name = name or 'vm%d' % VM.count
        self.h = h
        d = h.work
        self.ser = os.path.join(d, self.name + '.ser')
        self.qmp_path = os.path.join(d, self.name + '.qmp')
        self.log = open(os.path.join(h.logdir, '%s-%s.log' % (vmm, self.name)), 'w')
        self.err_path = os.path.join(h.logdir, '%s-%s.err' % (vmm, self.name))
        self.lines = []              # (host_time, line)
        self.partial = ''            # an unterminated last line, and when it came
        self.partial_t = 0.0
        self.first_raw = None        # the first line as it came (switch_lines)
        self.events = []
        self.lock = threading.Lock()
        base = [h.vireo] if vmm == 'vireo' else ['qemu-system-x86_64', '-nic', 'none']
        append = 'console=ttyS0 quiet panic=-1 vtest=migrate vtest.dirty=%d vtest.rate=%d' % (
            h.dirty, h.rate)
        if h.peer:
            # one MAC for all, each process its own tap (two exist during a migration)
            self.tap = 'mtap%d' % VM.count
            base += ['-netdev', 'tap,id=n0,ifname=%s,script=%s,downscript=no' % (
                         self.tap, h.tap_script),
                     '-device', 'virtio-net-pci,netdev=n0,mac=' + NET_MAC]
            append += ' vtest.ip=%s vtest.peer=%s:%d' % (h.guest_ip, h.peer.host, h.peer.port)
        args = base + [
            '-machine', 'pc', '-accel', 'kvm', '-cpu', 'host', '-m', str(h.mem),
            '-display', 'none', '-kernel', h.kernel, '-initrd', h.initrd,
            '-append', append,
            '-drive', 'file=%s,if=virtio' % h.disk,
            '-chardev', 'socket,id=s0,path=%s,server=on,wait=off' % self.ser,
            '-serial', 'chardev:s0',
            '-qmp', 'unix:%s,server=on,wait=off' % self.qmp_path] + list(extra)
        self.args = args
        self.proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=self.log,
                                     stderr=open(self.err_path, 'w'))
        self.sock = self._connect(self.ser)
        threading.Thread(target=self._read_serial, daemon=True).start()
        self.q = self._connect(self.qmp_path).makefile('rw')
        self.q.readline()
        self.cmd('qmp_capabilities')

    def _connect(self, path):
        # up to 120 s: a start-up in the nested TCG sandbox has been seen to stall for
        # over 30 s when the outer QEMU hiccups
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
                raw = line.decode('utf-8', 'replace').replace('\r', '')
                text = raw.strip()
                with self.lock:
                    if self.first_raw is None:
                        self.first_raw = raw
                    self.lines.append((time.monotonic(), text))
                self.log.write(text + '\n')
                self.log.flush()
            with self.lock:
                if buf and not self.partial:
                    self.partial_t = time.monotonic()
                # unstripped: the guest writes "TICK n t " before the checksum, so
                # a switch-over often cuts the line just after that space
                self.partial = buf.decode('utf-8', 'replace').replace('\r', '')

    def stderr(self):
        try:
            return open(self.err_path).read()[-2000:]
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
            if 'event' in r:
                self.events.append(r)
                continue
            return r

    def hmp(self, line):
        return self.cmd('human-monitor-command', **{'command-line': line}).get('return', '')

    def send(self, text):
        self.sock.sendall(text.encode())

    def ticks(self, lines=None):
        with self.lock:
            out = []
            for t, l in (self.lines if lines is None else lines):
                m = TICK.match(l)
                if m:
                    out.append((int(m.group(1)), int(m.group(2)), m.group(3), t))
            return out

    def echoes(self, lines=None):
        with self.lock:
            return [int(m.group(1)) for m in (ECHO.match(l) for _, l in
                                              (self.lines if lines is None else lines)) if m]

    def grep(self, prefix):
        with self.lock:
            return [l for _, l in self.lines if l.startswith(prefix)]

    def wait_ticks(self, n, timeout):
        end = time.monotonic() + timeout
        start = len(self.ticks())
        while time.monotonic() < end:
            if len(self.ticks()) >= start + n:
                return True
            if self.proc.poll() is not None:
                return False
            time.sleep(0.1)
        return False

    def wait_line(self, prefix, timeout):
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            with self.lock:
                for _, l in self.lines:
                    if l.startswith(prefix):
                        return l
            if self.proc.poll() is not None:
                return None
            time.sleep(0.1)
        return None

    def status(self):
        return self.cmd('query-status')['return']['status']

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    def quit(self):
        if self.proc.poll() is None:
            try:
                self.cmd('quit')
            except (RuntimeError, OSError):
                pass
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.kill()


class Peer:
    """The guest's TCP echo service: every line it gets (a tick number) goes back at
    once. Records each accept and each connection's end, and what came when."""

    def __init__(self, spec):
        self.host, port = spec.rsplit(':', 1)
        self.port = int(port)
        self.lock = threading.Lock()
        self.accepts = []            # (host time, client port)
        self.ends = []               # (host time, client port, why)
        self.got = []                # (host time, client port, line)
        self.ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.ls.bind((self.host, self.port))
        self.ls.listen(4)
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            c, addr = self.ls.accept()
            with self.lock:
                self.accepts.append((time.monotonic(), addr[1]))
            threading.Thread(target=self._serve, args=(c, addr[1]), daemon=True).start()

    def _serve(self, c, port):
        c.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        buf, why = b'', 'closed by the guest'
        try:
            while True:
                data = c.recv(4096)
                if not data:
                    break
                buf += data
                while b'\n' in buf:
                    line, buf = buf.split(b'\n', 1)
                    with self.lock:
                        self.got.append((time.monotonic(), port,
                                         line.decode('ascii', 'replace')))
                    c.sendall(line + b'\n')
        except OSError as e:
            why = str(e)
        with self.lock:
            self.ends.append((time.monotonic(), port, why))
        c.close()

    def snapshot(self):
        with self.lock:
            return list(self.accepts), list(self.ends), list(self.got)


class Harness:
    def __init__(self, a):
        self.vireo, self.kernel, self.initrd = a.vireo, a.kernel, a.initrd
        self.work, self.logdir, self.vmm = a.work, a.logdir, a.vmm
        self.mem, self.dirty, self.rate = a.mem, a.dirty, a.rate
        self.disk = os.path.join(self.work, 'disk.qcow2')
        self.sum0 = None
        self.vms = []
        self.tap_script, self.guest_ip = a.tap_script, a.guest_ip
        self.peer = Peer(a.peer) if a.tap_script else None
        self.net_port = None         # the guest's end of its connection (NET-UP)

    def vm(self, extra=(), name=None):
        v = VM(self, self.vmm, extra, name)
        self.vms.append(v)
        return v

    def migrate(self, src, uri, caps=(), params=None, dst_caps=()):
        """Runs a migration; returns (ok, why, query-migrate answer)."""
        c = [{'capability': 'events', 'state': True}]
        c += [{'capability': k, 'state': True} for k in caps]
        r = src.cmd('migrate-set-capabilities', capabilities=c)
        if 'error' in r:
            return False, r['error']['desc'], None
        if params:
            r = src.cmd('migrate-set-parameters', **params)
            if 'error' in r:
                return False, r['error']['desc'], None
        r = src.cmd('migrate', uri=uri)
        if 'error' in r:
            return False, r['error']['desc'], None
        end = time.monotonic() + MIG_TIMEOUT
        info = None
        self.throttle = 0
        while time.monotonic() < end:
            info = src.cmd('query-migrate')['return']
            st = info.get('status')
            self.throttle = max(self.throttle, info.get('cpu-throttle-percentage', 0))
            if st == 'completed':
                return True, '', info
            if st in ('failed', 'cancelled'):
                return False, info.get('error-desc', st), info
            time.sleep(0.2)
        return False, 'timed out: %s' % json.dumps(info), info

    @staticmethod
    def switch_lines(src, dst, say=False):
        """The serial lines of src, then of dst. The byte stream goes on from the source
        to the destination, so a line the switch-over cut in two is joined again: the
        source's unterminated end and the destination's first line (a byte lost on the
        way breaks the join). Returns (src lines, the joined line or [], dst lines)."""
        with src.lock:
            slines = list(src.lines)
            cut, cut_t = src.partial, src.partial_t
        with dst.lock:
            dlines = list(dst.lines)
            first = dst.first_raw
        if cut.strip() and dlines:
            # joined as the bytes came, white space included ('TICK 154 91470 ' +
            # 'fcfc...'), stripped after
            if say:
                print('# a line cut by the switch-over: %r + %r' % (cut, first), flush=True)
            return slines, [(cut_t, (cut + first).strip())], dlines[1:]
        return slines, [], dlines

    def check_continuity(self, name, src, dst, since=0):
        """Ticks of src (from its @since-th tick) then dst: consecutive, checksum intact,
        clock sane (a line cut by the switch-over joined again: switch_lines).
        Returns (source ticks, destination ticks) or None."""
        slines, joined, dlines = self.switch_lines(src, dst, say=True)
        a = src.ticks(slines)[since:] + src.ticks(joined)
        b = dst.ticks(dlines)
        if not b:
            tap(False, name + ': the guest runs on the destination',
                'no tick from the destination', dst.stderr())
            return None
        tap(True, name + ': the guest runs on the destination (serial console continues)')
        seq = [t[0] for t in a] + [t[0] for t in b]
        gaps = [(x, y) for x, y in zip(seq, seq[1:]) if y != x + 1]
        tap(not gaps, name + ': the ticks continue without a gap',
            'jumps (before, after): %s' % gaps[:5])
        sums = {t[2] for t in a + b}
        tap(sums == {self.sum0}, name + ': the memory checksum the guest keeps matches',
            'start %s, seen %s' % (self.sum0, sorted(sums)))
        if a:
            guest = b[0][1] - a[-1][1]
            host = (b[0][3] - a[-1][3]) * 1000
            # kvmclock stops while the VM is stopped: the guest may lose time, never
            # gain it (2 s: serial delivery jitter in the TCG sandbox).
            tap(0 <= guest <= host + 2000, name + ': the guest clock did not jump',
                'guest %d ms, host %d ms across the switch-over' % (guest, host))
        return a, b

    def check_net(self, name, src, dst, ticks, t_start, t_done):
        """The guest's one TCP connection across the switch-over (see the top)."""
        a, b = ticks
        want = b[0][0] + NET_AFTER
        end = time.monotonic() + 90
        while time.monotonic() < end and dst.proc.poll() is None:
            e = dst.echoes()
            if (e and e[-1] >= want) or src.grep('NET-ERROR') or dst.grep('NET-ERROR'):
                break
            time.sleep(0.2)
        slines, joined, dlines = self.switch_lines(src, dst)
        se, de = src.echoes(slines + joined), dst.echoes(dlines)
        accepts, ends, got = self.peer.snapshot()
        errors = src.grep('NET-ERROR') + dst.grep('NET-ERROR')
        gport = self.net_port
        ok = (len(accepts) == 1 and accepts[0][1] == gport and not ends and not errors)
        tap(ok, name + ': TCP: the guest\'s one connection stays open (one accept, no reset)',
            'accepts (client port) %s, the guest connected from %s' % (
                [p for _, p in accepts], gport),
            'ends %s' % [(p, w) for _, p, w in ends], 'guest: %s' % errors)
        nums = []
        for _, p, line in got:
            nums.append(int(line) if line.isdigit() and p == gport else -1)
        gaps = [(x, y) for x, y in zip(nums, nums[1:]) if y != x + 1]
        times = [g[0] for g in got]
        before = [n for t, n in zip(times, nums) if t < t_start]
        after = [n for t, n in zip(times, nums) if t > t_done]
        last = a[-1][0] if a else -1
        ok = (nums and not gaps and before and after and last in nums
              and nums[-1] >= want)
        tap(ok, name + ': TCP: the peer got the ticks from before and after the '
            'switch-over in order, no gap',
            'got %d lines, %s..%s; jumps %s' % (len(nums), nums[:1], nums[-1:], gaps[:5]),
            'before the migration %d, after it %d; the last source tick %d, want up to %d'
            % (len(before), len(after), last, want))
        seq = se + de
        gaps = [(x, y) for x, y in zip(seq, seq[1:]) if y != x + 1]
        ok = se and de and not gaps and de[-1] >= want
        tap(ok, name + ': TCP: the guest got every echo, through %d ticks on the '
            'destination' % NET_AFTER,
            'echoes on the source %s..%s, on the destination %s..%s, want up to %d; '
            'jumps %s' % (se[:1], se[-1:], de[:1], de[-1:], want, gaps[:5]))
        first = [t for t, l in dlines if ECHO.match(l)]
        if first:
            print('# %s: the first echo on the destination %.1f s after the source said '
                  'completed (polled every 0.2 s)' % (name, first[0] - t_done), flush=True)

    def disk_tick(self):
        out = subprocess.run(['qemu-io', '-r', '-c', 'read -v 0 32', self.disk],
                             capture_output=True, text=True).stdout
        text = ''.join(re.findall(r'  (.{16})$', out, re.M)).replace('.', ' ')
        m = re.search(r'MIGTICK (\d+)', text)
        return int(m.group(1)) if m else None


def boot(h):
    t0 = time.monotonic()
    v = h.vm()
    line = v.wait_line('MIGLOAD-START', 180)
    print('# boot: %.1f s to the workload' % (time.monotonic() - t0), flush=True)
    ok = tap(line is not None, 'boot: the guest runs its workload',
             'no MIGLOAD-START' if line is None else '', v.stderr())
    if ok:
        h.sum0 = line.split()[-1]
        if h.peer:
            up = v.grep('NET-UP')
            h.net_port = int(up[0].split()[1]) if up else None
            print('# boot: %s' % ' '.join(up + v.grep('NET-ERROR')), flush=True)
        ok = v.wait_ticks(3, 60)
    return v if ok else None


def live(h, src, label, uri, caps=(), params=None, dst_extra=()):
    dst = h.vm(['-incoming', uri] + list(dst_extra))
    if uri.startswith('tcp:') and uri.endswith(':0'):
        addr = dst.cmd('query-migrate')['return']['socket-address'][0]
        uri = 'tcp:127.0.0.1:%s' % addr['port']
    src.wait_ticks(2, 30)
    since = max(0, len(src.ticks()) - 1)
    t0 = time.monotonic()
    ok, why, info = h.migrate(src, uri, caps, params)
    t_done = time.monotonic()
    print('# %s: the migration took %.1f s' % (label, t_done - t0), flush=True)
    tap(ok, '%s: migration completes' % label, why, dst.stderr())
    if not ok:
        dst.kill()
        return None
    tap(src.status() == 'postmigrate', '%s: the source is in postmigrate' % label)
    dst.wait_ticks(3, 60)
    tap(dst.status() == 'running', '%s: the destination runs' % label)
    ticks = h.check_continuity(label, src, dst, since)
    if h.peer and ticks:
        h.check_net(label, src, dst, ticks, t0, t_done)
    extra = 'downtime %s ms, total %s ms, %s passes' % (
        info.get('downtime'), info.get('total-time'), info['ram']['dirty-sync-count'])
    print('# %s: %s' % (label, extra), flush=True)
    return dst, info


def survives(h, src, label, action):
    """After @action (a failed or cancelled migration) the source still runs."""
    before = len(src.ticks())
    ok = src.wait_ticks(3, 60) and src.status() == 'running'
    tap(ok, '%s: the source keeps running' % label,
        'ticks %d -> %d, status %s' % (before, len(src.ticks()), src.status()))


def scenario_failures(h, src):
    # Cancel mid-way (the bandwidth keeps it in its first pass).
    dst = h.vm(['-incoming', 'tcp:127.0.0.1:0'])
    port = dst.cmd('query-migrate')['return']['socket-address'][0]['port']
    src.cmd('migrate-set-parameters', **{'max-bandwidth': 1 << 20})
    src.cmd('migrate', uri='tcp:127.0.0.1:%s' % port)
    time.sleep(1.5)
    mid = src.cmd('query-migrate')['return'].get('status')
    src.cmd('migrate_cancel')
    st = None
    for _ in range(100):
        st = src.cmd('query-migrate')['return'].get('status')
        if st in ('cancelled', 'failed', 'completed'):
            break
        time.sleep(0.1)
    tap(mid == 'active' and st == 'cancelled', 'cancel: the migration is cancelled mid-way',
        'status before %s, after %s' % (mid, st))
    survives(h, src, 'cancel', None)
    dst.kill()

    # The destination killed mid-stream.
    dst = h.vm(['-incoming', 'tcp:127.0.0.1:0'])
    port = dst.cmd('query-migrate')['return']['socket-address'][0]['port']
    src.cmd('migrate', uri='tcp:127.0.0.1:%s' % port)
    time.sleep(1.5)
    dst.kill()
    st, info = None, {}
    for _ in range(200):
        info = src.cmd('query-migrate')['return']
        st = info.get('status')
        if st in ('failed', 'completed', 'cancelled'):
            break
        time.sleep(0.1)
    tap(st == 'failed', 'destination killed: the migration fails', json.dumps(info))
    survives(h, src, 'destination killed', None)
    src.cmd('migrate-set-parameters', **{'max-bandwidth': 0})

    # A corrupt stream: a proxy flips one byte 3 MiB in; the destination refuses.
    dst = h.vm(['-incoming', 'unix:%s/corrupt.sock' % h.work])
    proxy = os.path.join(h.work, 'proxy.sock')
    p = subprocess.Popen([sys.executable, '-I', os.path.abspath(__file__), '--proxy', proxy,
                          '%s/corrupt.sock' % h.work, str(3 << 20)])
    for _ in range(100):
        if os.path.exists(proxy):
            break
        time.sleep(0.1)
    ok, why, _ = h.migrate(src, 'unix:' + proxy)
    dst.proc.wait(timeout=60)
    err = dst.stderr()
    m = re.search(r'load of migration failed: (.*)', err)
    tap(not ok and dst.proc.returncode == 1 and m is not None,
        'corrupt stream: the destination refuses it, saying why',
        'source: %s' % why, 'destination (status %s): %s' % (dst.proc.returncode, err))
    tap(m is not None and m.group(1) in why,
        'corrupt stream: the source reports the destination\'s reason', why)
    survives(h, src, 'corrupt stream', None)
    p.kill()

    # A destination with one more device refuses at once, naming it.
    dst = h.vm(['-incoming', 'unix:%s/extra.sock' % h.work, '-device',
                'virtio-rng-pci,id=extra-rng'])
    ok, why, _ = h.migrate(src, 'unix:%s/extra.sock' % h.work)
    dst.proc.wait(timeout=60)
    tap(not ok and 'virtio-rng-pci' in why and 'extra-rng' in why,
        'extra device: refused by name', why, dst.stderr())
    survives(h, src, 'extra device', None)


def scenario_snapshots(h, src):
    r = src.hmp('savevm s1')
    at = src.ticks()[-1][0]
    tap(r.strip() == '' and src.status() == 'running', 'savevm: the snapshot is taken, '
        'the guest runs on', r)
    src.wait_ticks(5, 60)
    later = src.ticks()[-1][0]
    info = src.hmp('info snapshots')
    tap('s1' in info, 'savevm: info snapshots lists it', info)
    r = src.hmp('loadvm s1')
    mark = len(src.ticks())
    src.wait_ticks(3, 60)
    after = [t[0] for t in src.ticks()[mark:]]
    ok = r.strip() == '' and after and after[0] <= at + 2 and after[0] < later
    tap(ok, 'loadvm: the guest goes back to the snapshot and runs on',
        'saved at tick %d, ticked to %d, after loadvm: %s; %s' % (at, later, after[:3], r))
    sums = {t[2] for t in src.ticks()}
    tap(sums == {h.sum0}, 'loadvm: the memory checksum matches', sorted(sums))


def scenario_file(h, src):
    path = os.path.join(h.work, 'vm.state')
    since = max(0, len(src.ticks()) - 1)    # after the loadvm that went back in time
    ok, why, info = h.migrate(src, 'file:' + path)
    tap(ok, 'snapshot to file: migrate file: completes', why)
    if not ok:
        return src
    t0 = time.monotonic()
    dst = h.vm(['-incoming', 'file:' + path])
    got = dst.wait_ticks(1, 60)
    took = time.monotonic() - t0
    tap(got, 'restore from file: the guest runs again (%.1f s from exec to the first tick)'
        % took, dst.stderr())
    if got:
        h.check_continuity('restore from file', src, dst, since)
    src.quit()
    return dst if got else src


def proxy_main(listen, target, flip_at):
    """A unix-socket proxy that flips the byte at offset @flip_at of the stream."""
    ls = socket.socket(socket.AF_UNIX)
    ls.bind(listen)
    ls.listen(1)
    a, _ = ls.accept()
    b = socket.socket(socket.AF_UNIX)
    b.connect(target)

    def pump(x, y, flip):
        n = 0
        while True:
            d = x.recv(65536)
            if not d:
                try:
                    y.shutdown(socket.SHUT_WR)
                except OSError:
                    pass
                return
            if flip is not None and n <= flip < n + len(d):
                d = bytearray(d)
                d[flip - n] ^= 0x20
                d = bytes(d)
            n += len(d)
            try:
                y.sendall(d)
            except OSError:
                return
    t = threading.Thread(target=pump, args=(b, a, None), daemon=True)
    t.start()
    pump(a, b, flip_at)
    t.join(60)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--proxy', nargs=3)
    ap.add_argument('--vmm', default='vireo')
    ap.add_argument('--vireo')
    ap.add_argument('--kernel')
    ap.add_argument('--initrd')
    ap.add_argument('--work')
    ap.add_argument('--logdir')
    ap.add_argument('--mem', type=int, default=128)
    ap.add_argument('--dirty', type=int, default=16)
    ap.add_argument('--rate', type=int, default=4)
    ap.add_argument('--tap-script', help='the ifup script attaching a tap to the bridge')
    ap.add_argument('--peer', default='192.168.90.1:5700', help='the echo service')
    ap.add_argument('--guest-ip', default='192.168.90.2/24')
    a = ap.parse_args()
    if a.proxy:
        return proxy_main(a.proxy[0], a.proxy[1], int(a.proxy[2]))
    h = Harness(a)
    subprocess.run(['qemu-img', 'create', '-q', '-f', 'qcow2', h.disk, '64M'], check=True)
    try:
        v = boot(h)
        if not v:
            return 1
        converge = ('tcp auto-converge', 'tcp:127.0.0.1:0', ('auto-converge',),
                    {'max-bandwidth': 8 << 20, 'cpu-throttle-initial': 30,
                     'cpu-throttle-increment': 20})
        steps = [('unix', 'unix:%s/m1.sock' % h.work, (), None),
                 ('tcp multifd', 'tcp:127.0.0.1:0', ('multifd',), {'multifd-channels': 2}),
                 ('unix multifd', 'unix:%s/m3.sock' % h.work, ('multifd',), None),
                 converge]
        if a.vmm == 'qemu':
            # the reference: the plain leg and the auto-converge leg (QEMU throttles too)
            steps = [('qemu: unix', 'unix:%s/q.sock' % h.work, (), None),
                     ('qemu: ' + converge[0],) + converge[1:]]
        for label, uri, caps, params in steps:
            if 'auto-converge' in caps:
                v.send('f')             # dirty faster than max-bandwidth can follow
            r = live(h, v, label, uri, caps, params)
            if not r:
                return 1
            dst, info = r
            if 'auto-converge' in caps:
                dst.send('s')
                tap(h.throttle > 0, '%s: the vCPUs were throttled (%d%%)' % (label, h.throttle))
            v.quit()
            v = dst
            # back to full speed and no throttle for what follows
            v.cmd('migrate-set-parameters', **{'max-bandwidth': 0})
        if a.vmm == 'qemu':
            return 0
        scenario_failures(h, v)
        scenario_snapshots(h, v)
        v = scenario_file(h, v)
        v.send('q\n')
        end = v.wait_line('MIGLOAD-END', 60)
        last = v.ticks()[-1][0] if v.ticks() else None
        try:
            v.proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            v.kill()
        tap(end is not None and v.proc.returncode == 0, 'the guest powers off on the last '
            'destination, exit 0', 'status %s' % v.proc.returncode, v.stderr())
        dt = h.disk_tick()
        tap(dt is not None and last is not None and last <= dt <= last + 1,
            'the disk holds the last tick the guest wrote', 'disk %s, console %s' % (dt, last))
        out = subprocess.run(['qemu-img', 'check', h.disk], capture_output=True, text=True)
        tap('No errors were found' in out.stdout, 'the disk passes qemu-img check',
            out.stdout + out.stderr)
        # -loadvm at start: the snapshot taken above.
        w = h.vm(['-loadvm', 's1'])
        got = w.wait_ticks(2, 60)
        tap(got and w.ticks()[0][2] == h.sum0, '-loadvm s1: the guest resumes from the '
            'snapshot', w.stderr())
        w.quit()
        return 0
    except Exception as e:       # a harness error is a failed test, said plainly
        tap(False, 'migration harness', repr(e))
        return 1
    finally:
        for vm in h.vms:
            vm.kill()


if __name__ == '__main__':
    sys.exit(main())
