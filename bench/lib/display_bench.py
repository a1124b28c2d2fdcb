#!/usr/bin/env python3
"""Inner driver of bench/display.sh (runs inside the sandbox): boots one VMM with -vga std
and a VNC server, and while the guest runs its workloads (guest/display/display-bench.sh)
a VNC client (build/tests/vnc-capture -w 10, ZRLE) counts the updates and bytes it
receives; the VMM's CPU time (utime + stime) is sampled at each workload's start and end.
Prints one line per workload: VMM WORKLOAD updates N bytes B cpu_s C seconds S.
Latency (BENCH-LAT-START..END): a second client (RfbWatch below, Raw encoding, one
incremental request always outstanding) stamps each change of the top-left pixel; the
guest turns its top rows white (odd i) or dark (even i) and prints "BENCH-LAT i NS"
(its monotonic clock just after the write) and "BENCH-CLK NS" lines. Guest time maps to
this clock by the smallest (arrival - guest time) over all those lines (a serial line
is never early; Vireo's coalesced UART writes can hold one back up to 50 ms, QEMU's not).
Latency of write i = the first change to its colour from 0.3 s before its mapped time
on (the clock is read just after the write, and the mapping can be a few ms late: a
fast VMM's change can come a few ms "before" its write), less that time.
Prints: VMM latency ms MEDIAN P90 N.
"""
import struct
import threading
import json
import os
import re
import socket
import select
import subprocess
import sys
import time

ESC = re.compile(r'\x1b\[[0-9;?]*[A-Za-z]|\r')


def cpu_s(pid):
    f = open('/proc/%d/stat' % pid).read().rsplit(')', 1)[1].split()
    return (int(f[11]) + int(f[12])) / os.sysconf('SC_CLK_TCK')


def screendump_ms(path, n=5):
    """Median wall time of n QMP screendumps (PNG) of the 1024x768 fbcon screen."""
    s = socket.socket(socket.AF_UNIX)
    s.settimeout(120)
    s.connect(path)
    f = s.makefile('rw')

    def cmd(c, **a):
        f.write(json.dumps({'execute': c, 'arguments': a}) + '\n')
        f.flush()
        while True:
            m = json.loads(f.readline())
            if 'event' not in m:
                return m
    f.readline()
    cmd('qmp_capabilities')
    times = []
    for i in range(n):
        t = time.time()
        cmd('screendump', filename='/tmp/sd.png', format='png')
        times.append((time.time() - t) * 1000)
    s.close()
    return sorted(times)[n // 2]


class RfbWatch(threading.Thread):
    """A minimal RFB 3.8 client (None security, Raw, the server's pixel format) that
    records (time, top-left pixel) whenever an update changes that pixel."""

    def __init__(self, path):
        super().__init__(daemon=True)
        self.s = socket.socket(socket.AF_UNIX)
        self.s.settimeout(60)
        self.s.connect(path)
        self.changes, self.stop, self.error = [], False, None

    def rx(self, n):
        b = bytearray()
        while len(b) < n:
            c = self.s.recv(min(n - len(b), 1 << 20))
            if not c:
                raise EOFError('server closed')
            b += c
        return bytes(b)

    def run(self):
        try:
            self.rx(12)
            self.s.sendall(b'RFB 003.008\n')
            n = self.rx(1)[0]
            if 1 not in self.rx(n):
                raise ValueError('no None security')
            self.s.sendall(b'\x01')
            self.rx(4)
            self.s.sendall(b'\x01')                      # ClientInit, shared
            w, h = struct.unpack('>HH', self.rx(4))
            bpp = self.rx(16)[0] // 8
            self.rx(struct.unpack('>I', self.rx(4))[0])
            self.s.sendall(struct.pack('>BBHi', 2, 0, 1, 0))   # SetEncodings: Raw
            last, inc = None, 0
            while not self.stop:
                self.s.sendall(struct.pack('>BBHHHH', 3, inc, 0, 0, w, h))
                inc = 1
                t = self.rx(1)[0]
                while t == 2:                          # Bell
                    t = self.rx(1)[0]
                if t != 0:
                    raise ValueError('message type %d' % t)
                nr = struct.unpack('>xH', self.rx(3))[0]
                when = time.time()
                for _ in range(nr):
                    x, y, rw, rh, enc = struct.unpack('>HHHHi', self.rx(12))
                    if enc != 0:
                        raise ValueError('encoding %d' % enc)
                    data = self.rx(rw * rh * bpp)
                    if x == 0 and y == 0 and rw and rh:
                        px = data[:bpp]
                        if px != last:
                            self.changes.append((when, px))
                            last = px
        except Exception as e:              # the VMM went away at the end, or a fault
            if not self.stop:
                self.error = str(e)


def latency_ms(marks, clocks, changes):
    """marks: (i, guest_s, arrival); clocks: (guest_s, arrival). For each mark, the
    first pixel change to its colour (white for odd i, dark for even i) from 0.3 s
    before the write's mapped time on, in ms."""
    offset = min(a - g for g, a in clocks + [(g, a) for _, g, a in marks])
    out, k = [], 0
    for i, g, _ in marks:
        t = g + offset
        want_white = i % 2 == 1
        while k < len(changes) and changes[k][0] < t - 0.3:
            k += 1
        for j in range(k, len(changes)):
            when, px = changes[j]
            white = all(b == 0xff for b in px[:3])
            dark = all(b == 1 for b in px[:3])
            if (white and want_white) or (dark and not want_white):
                out.append((when - t) * 1000)
                k = j + 1
                break
    return out


def main():
    vmm, capture, vnc, qmp, cmd = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5:]
    p = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                         stderr=open('/tmp/%s-bench.err' % vmm, 'w'))
    buf, start, clients, deadline = b'', {}, {}, time.time() + 400
    done, tail, watch, marks, clocks = set(), [], None, [], []
    log = open('/tmp/%s-bench.log' % vmm, 'w')
    while time.time() < deadline and p.poll() is None:
        r, _, _ = select.select([p.stdout], [], [], 1)
        if not r:
            continue
        data = os.read(p.stdout.fileno(), 65536)
        now = time.time()
        if not data:
            break
        buf += data
        while b'\n' in buf:
            raw, buf = buf.split(b'\n', 1)
            line = ESC.sub('', raw.decode('latin-1')).strip()
            log.write(line + '\n')
            tail = (tail + [line])[-5:]
            if line == 'BENCH-READY':
                print('%s screendump ms %.1f' % (vmm, screendump_ms(qmp)), flush=True)
            if line == 'BENCH-LAT-START':
                watch = RfbWatch(vnc[5:] if vnc.startswith('unix:') else vnc)
                watch.start()
                marks, clocks = [], []
            m = re.match(r'BENCH-LAT (\d+) (\d+)$', line)
            if m and watch:
                marks.append((int(m.group(1)), int(m.group(2)) / 1e9, now))
            m = re.match(r'BENCH-CLK (\d+)$', line)
            if m and watch:
                clocks.append((int(m.group(1)) / 1e9, now))
            if line == 'BENCH-LAT-END' and watch:
                time.sleep(1)
                watch.stop = True
                lat = sorted(latency_ms(marks, clocks, watch.changes))
                d = [round((a - g) * 1000) for g, a in sorted(clocks)]
                if d:
                    print('# %s: serial arrival - guest clock, ms from the first: %s' % (
                        vmm, ' '.join(str(x - d[0]) for x in d)), flush=True)
                if lat:
                    print('%s latency ms %.1f %.1f %d' % (
                        vmm, lat[len(lat) // 2], lat[min(len(lat) - 1, len(lat) * 9 // 10)],
                        len(lat)), flush=True)
                else:
                    print('# %s: no latency sample (%d marks, %d changes, client: %s)' % (
                        vmm, len(marks), len(watch.changes), watch.error), flush=True)
                done.add('latency')
                watch = None
            m = re.match(r'BENCH-(SCROLL|FILL)-(START|END)$', line)
            if m and m.group(2) == 'START':
                w = m.group(1).lower()
                start[w] = (cpu_s(p.pid), time.time())
                clients[w] = subprocess.Popen([capture, vnc, '-w', '10'],
                                              stdout=subprocess.PIPE, text=True)
            elif m:
                w = m.group(1).lower()
                c0, t0 = start[w]
                c1, t1 = cpu_s(p.pid), time.time()
                out = clients[w].communicate(timeout=30)[0].split()
                done.add(w)
                print('%s %s updates %s bytes %s cpu_s %.3f seconds %.2f' % (
                    vmm, w, out[1] if len(out) > 3 else 0, out[3] if len(out) > 3 else 0,
                    c1 - c0, t1 - t0), flush=True)
            if line.startswith('VTEST-DONE'):
                deadline = time.time() + 15
    if done != {'scroll', 'fill', 'latency'}:
        print('# %s: workloads missing (%s); the guest console ended with:' % (
            vmm, ', '.join(sorted({'scroll', 'fill', 'latency'} - done))), flush=True)
        for line in tail:
            print('#   ' + line, flush=True)
    if p.poll() is None:
        p.kill()
    try:
        p.wait(60)
    except subprocess.TimeoutExpired:
        # A VMM stuck in the (nested) kernel does not die at once: say so, go on.
        print('%s killed but still running after 60 s' % vmm, flush=True)


if __name__ == '__main__':
    main()
