#!/usr/bin/env python3
"""Inner driver of bench/display.sh (runs inside the sandbox): boots one VMM with -vga std
and a VNC server, and while the guest runs its workloads (guest/display/display-bench.sh)
a VNC client (build/tests/vnc-capture -w 10, ZRLE) counts the updates and bytes it
receives; the VMM's CPU time (utime + stime) is sampled at each workload's start and end.
Prints one line per workload: VMM WORKLOAD updates N bytes B cpu_s C seconds S.
"""
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


def main():
    vmm, capture, vnc, qmp, cmd = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5:]
    p = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                         stderr=open('/tmp/%s-bench.err' % vmm, 'w'))
    buf, start, clients, deadline = b'', {}, {}, time.time() + 400
    done, tail = set(), []
    log = open('/tmp/%s-bench.log' % vmm, 'w')
    while time.time() < deadline and p.poll() is None:
        r, _, _ = select.select([p.stdout], [], [], 1)
        if not r:
            continue
        data = os.read(p.stdout.fileno(), 65536)
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
    if done != {'scroll', 'fill'}:
        print('# %s: workloads missing (%s); the guest console ended with:' % (
            vmm, ', '.join(sorted({'scroll', 'fill'} - done))), flush=True)
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
