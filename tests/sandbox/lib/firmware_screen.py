#!/usr/bin/env python3
"""Runs a VMM that boots through its firmware (SeaBIOS with the VGA option ROM) and
watches the screen: a QMP screendump (PNG) every few seconds, read with tesseract, until
every word of --words is on it; then one VNC capture (build/tests/vnc-capture) of the same
screen, read again, and QMP quit. For cases/70-display.sh.

Usage: firmware_screen.py --qmp SOCK --out PREFIX --words "W1 W2" [--timeout S]
                          [--vnc ADDR --capture BIN] -- VMM ARGS...
Prints shell assignments: FS_SHOT (1 when a screendump showed every word), FS_VNC (1 when
the VNC capture did), FS_TEXT (the last OCR text of the screendump, one line), FS_RC.
The VMM's stdout and stderr go to PREFIX.log, QMP traffic to PREFIX.qmp.
"""
import argparse
import os
import shlex
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))  # python3 -I leaves it out
from display_run import Qmp  # noqa: E402 (one QMP client for the display scripts)


def ocr(path):
    try:
        r = subprocess.run(['tesseract', path, '-'], stdout=subprocess.PIPE,
                           stderr=subprocess.DEVNULL, timeout=120)
    except subprocess.TimeoutExpired:
        return ''
    return ' '.join(r.stdout.decode('utf-8', 'replace').split())


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--qmp', required=True)
    ap.add_argument('--out', required=True)
    ap.add_argument('--words', required=True)
    ap.add_argument('--timeout', type=float, default=180)
    ap.add_argument('--vnc')
    ap.add_argument('--capture')
    ap.add_argument('cmd', nargs='+')
    a = ap.parse_args()
    deadline = time.time() + a.timeout
    words = a.words.split()
    out = open(a.out + '.log', 'w')
    qlog = open(a.out + '.qmp', 'w', buffering=1)
    p = subprocess.Popen(a.cmd, stdin=subprocess.DEVNULL, stdout=out, stderr=out)
    shot, vnc, text = 0, 0, ''
    try:
        qmp = Qmp(a.qmp, qlog, deadline)
        png = a.out + '.png'
        while time.time() < deadline and p.poll() is None:
            time.sleep(3)
            if 'return' not in qmp.cmd('screendump', filename=png, format='png'):
                continue
            text = ocr(png)
            if all(w in text for w in words):
                shot = 1
                break
        if shot and a.vnc:
            ppm = a.out + '-vnc.ppm'
            r = subprocess.run([a.capture, a.vnc, '-o', ppm], stdout=qlog, stderr=qlog,
                               timeout=60)
            vtext = ocr(ppm) if r.returncode == 0 else ''
            with open(ppm + '.txt', 'w') as f:
                f.write(vtext + '\n')
            vnc = int(all(w in vtext for w in words))
        qmp.cmd('quit')
    except (OSError, EOFError, ValueError) as e:
        text = text or 'QMP: %s' % e
    finally:
        try:
            p.wait(timeout=30)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
    print('FS_SHOT=%d' % shot)
    print('FS_VNC=%d' % vnc)
    print('FS_TEXT=%s' % shlex.quote(text[:300]))
    print('FS_RC=%d' % p.returncode)


if __name__ == '__main__':
    sys.exit(main())
