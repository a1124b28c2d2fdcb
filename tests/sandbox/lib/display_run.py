#!/usr/bin/env python3
"""Runs a VMM for the display sandbox case (cases/70-display.sh) and plays the host side:
when the guest says DISPLAY-TEXT-READY / DISPLAY-FB-READY on its serial console, takes a
QMP screendump (PNG) and types a line with QMP send-key; ends after VTEST-DONE.

With --vnc ADDR --capture BIN --password PW (the VMM runs -vnc ADDR,password=on): the
password is set with QMP set_password, BIN (build/tests/vnc-capture) captures the screen
over VNC next to each screendump (PREFIX-WHAT-vnc.ppm), a wrong password is tried (it must
fail), and at the framebuffer stage the line is typed over VNC instead of send-key.

Usage: display_run.py --log LOG --qmp SOCK --out PREFIX [--timeout S]
                      [--vnc ADDR --capture BIN --password PW] -- VMM ARGS...
Prints shell assignments: DR_RC, DR_REASON, DR_SHOTS (names of the PNGs written),
DR_VNC (captures made), DR_BADPW (1 when the wrong password was refused).
Console lines (\\r and escapes stripped) go to LOG, QMP traffic to LOG.qmp.
"""
import argparse
import json
import os
import re
import select
import socket
import subprocess
import sys
import time

ESC = re.compile(r'\x1b\[[0-9;?]*[A-Za-z]|\x1bc|\r')


class Qmp:
    def __init__(self, path, log, deadline):
        while True:
            try:
                self.s = socket.socket(socket.AF_UNIX)
                self.s.connect(path)
                break
            except OSError:
                self.s.close()
                if time.time() > deadline:
                    raise
                time.sleep(0.2)
        self.f = self.s.makefile('rw')
        self.log = log
        self.read()
        self.cmd('qmp_capabilities')

    def read(self):
        while True:
            line = self.f.readline()
            if not line:
                raise EOFError('QMP closed')
            self.log.write('<- ' + line)
            msg = json.loads(line)
            if 'event' not in msg:
                return msg

    def cmd(self, name, **args):
        req = {'execute': name}
        if args:
            req['arguments'] = args
        self.log.write('-> %s\n' % json.dumps(req))
        self.f.write(json.dumps(req) + '\n')
        self.f.flush()
        return self.read()


def keys_for(text):
    names = {' ': 'spc', '\n': 'ret', '-': 'minus', '.': 'dot', '/': 'slash'}
    for ch in text:
        yield names.get(ch, ch)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--log', required=True)
    ap.add_argument('--qmp', required=True)
    ap.add_argument('--out', required=True)
    ap.add_argument('--timeout', type=float, default=240)
    ap.add_argument('--vnc')
    ap.add_argument('--capture')
    ap.add_argument('--password')
    ap.add_argument('cmd', nargs='+')
    a = ap.parse_args()
    deadline = time.time() + a.timeout
    log = open(a.log, 'w')
    qlog = open(a.log + '.qmp', 'w', buffering=1)
    err = open(a.log + '.err', 'w')
    p = subprocess.Popen(a.cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=err)
    qmp, shots, reason, buf = None, [], 'timeout', b''
    caps, badpw = [], 0
    try:
        while time.time() < deadline:
            r, _, _ = select.select([p.stdout], [], [], 1)
            if not r:
                if p.poll() is not None:
                    reason = 'exited'
                    break
                continue
            data = os.read(p.stdout.fileno(), 65536)
            if not data:
                reason = 'exited'
                break
            buf += data
            while b'\n' in buf:
                raw, buf = buf.split(b'\n', 1)
                line = ESC.sub('', raw.decode('latin-1'))
                log.write(line + '\n')
                log.flush()
                for tag, word in (('DISPLAY-TEXT-READY', 'text'), ('DISPLAY-FB-READY', 'fb')):
                    if line.strip() != tag:
                        continue
                    if qmp is None:
                        qmp = Qmp(a.qmp, qlog, deadline)
                        if a.vnc:
                            qmp.cmd('set_password', protocol='vnc', password=a.password)
                    time.sleep(1.5)
                    png = '%s-%s.png' % (a.out, word)
                    res = qmp.cmd('screendump', filename=png, format='png')
                    if 'return' in res:
                        shots.append(word)
                    typed = 'typed %s 42\n' % word
                    if a.vnc:
                        cap = [a.capture, a.vnc, '-p', a.password,
                               '-o', '%s-%s-vnc.ppm' % (a.out, word)]
                        if word == 'fb':
                            cap += ['-t', typed]
                        r = subprocess.run(cap, stdout=qlog, stderr=qlog, timeout=60)
                        if r.returncode == 0:
                            caps.append(word)
                        r = subprocess.run([a.capture, a.vnc, '-p', 'wrong-pw'],
                                           stdout=qlog, stderr=qlog, timeout=60)
                        badpw += r.returncode != 0
                    if word == 'text' or not a.vnc:
                        for k in keys_for(typed):
                            qmp.cmd('send-key', keys=[{'type': 'qcode', 'data': k}])
                if line.strip() == 'DISPLAY-TABLET-READY':
                    time.sleep(1)
                    qmp.cmd('input-send-event', events=[
                        {'type': 'abs', 'data': {'axis': 'x', 'value': 0x1234}},
                        {'type': 'abs', 'data': {'axis': 'y', 'value': 0x2345}}])
                if line.startswith('VTEST-DONE'):
                    deadline = min(deadline, time.time() + 60)
        else:
            reason = 'timeout'
    finally:
        # EOF on its stdout comes just before the process ends: give it time to exit.
        try:
            p.wait(timeout=30 if reason == 'exited' else 0.1)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
    print('DR_RC=%d' % p.returncode)
    print('DR_REASON=%s' % reason)
    print('DR_SHOTS="%s"' % ' '.join(shots))
    print('DR_VNC="%s"' % ' '.join(caps))
    print('DR_BADPW=%d' % (badpw == 2))


if __name__ == '__main__':
    sys.exit(main())
