#!/usr/bin/env python3
"""Hostile and slow QMP clients against one VMM (issue 13, items 5, 7, 8); run by
bench/qmp-clients.sh for Vireo and QEMU side by side. Not a test: it prints numbers.

usage: qmp_clients.py NAME VMM-COMMAND...

Scenarios (each on a fresh VMM started with -S):
  rss      VmRSS at start, with 16 idle clients, and after 6 clients each parked a
           48 MiB unfinished command (a string that never ends).
  slow     a client on -chardev socket + -mon sends 40 query-qmp-schema and reads
           nothing; another client's query-status latency meanwhile; then the first
           client reads: how many of its 40 replies arrive whole.
  exit     a client reading 4 KiB every 0.5 s has 40 query-qmp-schema replies
           pending (on -qmp: exit_s; on the -mon chardev: exit_mon_s); another client
           sends quit: seconds until the VMM exits (None: not within 120 s).
Prints one JSON object.
"""
import json, os, socket, subprocess, sys, tempfile, time

SCHEMA = b'{"execute": "query-qmp-schema"}'


def rss_kib(pid):
    with open('/proc/%d/status' % pid) as f:
        for line in f:
            if line.startswith('VmRSS:'):
                return int(line.split()[1])
    return -1


class Vmm:
    def __init__(self, cmd, mon=False):
        self.work = tempfile.mkdtemp(prefix='qmpc-')
        self.q = os.path.join(self.work, 'q.sock')
        self.m = os.path.join(self.work, 'm.sock')
        extra = ['-chardev', 'socket,id=mon1,path=%s,server=on,wait=off' % self.m,
                 '-mon', 'chardev=mon1,mode=control'] if mon else []
        self.p = subprocess.Popen(cmd + ['-S', '-display', 'none', '-m', '128',
                                         '-qmp', 'unix:%s,server=on,wait=off' % self.q] + extra,
                                  stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                  stderr=open(os.path.join(self.work, 'err'), 'w'))
        end = time.monotonic() + 120
        while not os.path.exists(self.q):
            if self.p.poll() is not None or time.monotonic() > end:
                raise SystemExit('VMM did not start: %r' % cmd)
            time.sleep(0.05)

    def stop(self):
        if self.p.poll() is None:
            self.p.kill()
        self.p.wait()


def connect(path, timeout=60):
    s = socket.socket(socket.AF_UNIX)
    s.settimeout(timeout)
    s.connect(path)
    return s


def recv_line(s, buf):
    while b'\n' not in buf[0]:
        d = s.recv(1 << 20)
        if not d:
            raise EOFError
        buf[0] += d
    line, buf[0] = buf[0].split(b'\n', 1)
    return json.loads(line)


def negotiated(path):
    s = connect(path)
    buf = [b'']
    recv_line(s, buf)
    s.sendall(b'{"execute": "qmp_capabilities"}')
    recv_line(s, buf)
    return s, buf


def scenario_rss(cmd):
    v = Vmm(cmd)
    out = {}
    try:
        time.sleep(1)
        out['start_kib'] = rss_kib(v.p.pid)
        idle = []
        for _ in range(16):
            try:
                idle.append(connect(v.q, 5))
            except OSError:
                break
        time.sleep(1)
        out['idle16_kib'] = rss_kib(v.p.pid)
        for s in idle:
            s.close()
        time.sleep(0.5)
        chunk = b'x' * (1 << 20)
        parked, sent_all = [], 0
        for _ in range(6):
            try:
                s = connect(v.q, 30)
                parked.append(s)
                s.sendall(b'{"execute": "query-status", "id": "')
                for _ in range(48):
                    s.sendall(chunk)
                sent_all += 1
            except (socket.timeout, OSError):
                pass            # the VMM stopped reading this client (or closed it)
        time.sleep(2)
        out['partial6x48_kib'] = rss_kib(v.p.pid)
        out['partial_clients_fully_read'] = sent_all
        out['alive'] = v.p.poll() is None
        for s in parked:
            s.close()
    finally:
        v.stop()
    return out


def scenario_slow(cmd):
    v = Vmm(cmd, mon=True)
    msock = v.m
    out = {}
    try:
        end = time.monotonic() + 60
        while not os.path.exists(msock) and time.monotonic() < end:
            time.sleep(0.05)
        a, abuf = negotiated(msock)
        a.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        a.sendall(b''.join(b'{"execute": "query-qmp-schema", "id": %d}' % i for i in range(40)))
        time.sleep(1)
        t0 = time.monotonic()           # connect, greeting, negotiation, query-status
        b, bbuf = negotiated(v.q)
        b.sendall(b'{"execute": "query-status", "id": "b"}')
        r = recv_line(b, bbuf)
        out['query_status_s'] = round(time.monotonic() - t0, 3)
        out['query_status_ok'] = r.get('id') == 'b' and 'return' in r
        a.settimeout(30)
        ids = []
        try:
            while len(ids) < 40:
                r = recv_line(a, abuf)
                if 'return' in r and isinstance(r['return'], list):
                    ids.append(r.get('id'))
        except (socket.timeout, EOFError, ValueError) as e:
            out['slow_client_error'] = type(e).__name__
        out['slow_client_whole_replies'] = len(ids)
        out['slow_client_in_order'] = ids == list(range(len(ids)))
    finally:
        v.stop()
    return out


def exit_with_slow_reader(cmd, slow_on_mon):
    """Seconds from quit until the VMM exits while a client reading 4 KiB every 0.5 s
    has 40 query-qmp-schema replies pending (on the -mon chardev, or on -qmp)."""
    v = Vmm(cmd, mon=True)
    try:
        a, abuf = negotiated(v.m if slow_on_mon else v.q)
        a.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        a.sendall(b''.join(b'{"execute": "query-qmp-schema", "id": %d}' % i for i in range(40)))
        time.sleep(1)
        b, bbuf = negotiated(v.q if slow_on_mon else v.m)
        t0 = time.monotonic()
        b.sendall(b'{"execute": "quit"}')
        a.setblocking(False)
        while v.p.poll() is None and time.monotonic() - t0 < 120:
            try:
                a.recv(4096)
            except BlockingIOError:
                pass
            except OSError:
                break
            time.sleep(0.5)
        return round(time.monotonic() - t0, 2) if v.p.poll() is not None else None
    finally:
        v.stop()


def scenario_exit(cmd):
    return {'exit_s': exit_with_slow_reader(cmd, False),
            'exit_mon_s': exit_with_slow_reader(cmd, True)}


def main():
    name, cmd = sys.argv[1], sys.argv[2:]
    res = {'vmm': name}
    for sc in (scenario_rss, scenario_slow, scenario_exit):
        try:
            res.update(sc(cmd))
        except Exception as e:                  # a benchmark reports, it does not stop
            res[sc.__name__ + '_error'] = '%s: %s' % (type(e).__name__, e)
    print(json.dumps(res))


if __name__ == '__main__':
    main()
