#!/usr/bin/env python3
"""The SDL window (ui/sdl.c) on a virtual X server (Xvfb): build/tests/sdl-show opens it
on a console showing two text lines; a screenshot of the X screen (xwd, xwdtopnm) must
show them (tesseract), keys typed with XTEST (xdotool) must reach the guest's keyboard
handler as QEMU key codes, Ctrl-Alt-G must grab (window title) without reaching the
guest, a console resize must resize the window and redraw it. (Full screen needs a
window manager, which a bare Xvfb has not: not checked here.) TAP output; skips (77) without Xvfb,
xwd, xwdtopnm, xdotool or tesseract (scripts/install-deps.sh --test installs them).
Usage: test-sdl-xvfb.py BUILD_DIR
"""
import os
import select
import shutil
import subprocess
import sys
import tempfile
import time

WORDS = ['MARKER', 'ECHO', 'FOXTROT', '4713']
results = []


def tap(ok, name, why=''):
    results.append(ok)
    print('%s %d - %s' % ('ok' if ok else 'not ok', len(results), name))
    if not ok and why:
        print('# ' + why.replace('\n', '\n# '))
    sys.stdout.flush()


class Show:
    def __init__(self, exe, env, *args):
        self.p = subprocess.Popen([exe, *args], stdin=subprocess.PIPE,
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
        self.lines, self.buf = [], b''

    def _read(self, timeout):
        r, _, _ = select.select([self.p.stdout], [], [], timeout)
        if not r:
            return True
        data = os.read(self.p.stdout.fileno(), 65536)
        if not data:
            return False
        self.buf += data
        while b'\n' in self.buf:
            l, self.buf = self.buf.split(b'\n', 1)
            self.lines.append(l.decode().strip())
        return True

    def wait_for(self, prefix, timeout=30):
        end = time.time() + timeout
        while time.time() < end:
            for l in self.lines:
                if l.startswith(prefix):
                    return l
            if not self._read(0.5):
                return None
        return None

    def drain(self, secs):
        end = time.time() + secs
        while time.time() < end and self._read(0.2):
            pass

    def close(self):
        self.p.stdin.close()
        try:
            self.p.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.p.kill()
            self.p.wait()
        return self.p.returncode


def screenshot(env, out):
    xwd = subprocess.run(['xwd', '-root', '-silent'], env=env, stdout=subprocess.PIPE,
                         timeout=30).stdout
    pnm = subprocess.run(['xwdtopnm'], input=xwd, stdout=subprocess.PIPE,
                         stderr=subprocess.DEVNULL, timeout=30).stdout
    with open(out, 'wb') as f:
        f.write(pnm)
    r = subprocess.run(['tesseract', out, '-'], stdout=subprocess.PIPE,
                       stderr=subprocess.DEVNULL, timeout=120)
    return ' '.join(r.stdout.decode('utf-8', 'replace').split())


def xdo(env, *args):
    return subprocess.run(['xdotool', *args], env=env, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, timeout=30).stdout.decode().strip()


def geometry(env, name):
    ids = xdo(env, 'search', '--name', name).split()
    if not ids:
        return None
    out = xdo(env, 'getwindowgeometry', ids[0])
    for l in out.splitlines():
        if 'Geometry:' in l:
            return l.split(':', 1)[1].strip()
    return None


def main():
    build = sys.argv[1]
    exe = os.path.join(build, 'tests', 'sdl-show')
    tools = ['Xvfb', 'xwd', 'xwdtopnm', 'xdotool', 'tesseract']
    missing = [t for t in tools if not shutil.which(t)]
    if missing or not os.path.exists(exe):
        print('1..0 # SKIP missing: %s' % ' '.join(missing or [exe]))
        return 0
    tmp = tempfile.mkdtemp(prefix='vireo-sdl-')
    rfd, wfd = os.pipe()
    xvfb = subprocess.Popen(['Xvfb', '-displayfd', str(wfd), '-screen', '0', '1024x768x24',
                             '-nolisten', 'tcp'], pass_fds=[wfd],
                            stderr=open(os.path.join(tmp, 'xvfb.log'), 'w'))
    os.close(wfd)
    num = b''
    while not num.endswith(b'\n'):
        r, _, _ = select.select([rfd], [], [], 30)
        c = os.read(rfd, 16) if r else b''
        if not c:
            break
        num += c
    os.close(rfd)
    if not num.strip():
        xvfb.kill()
        print('1..0 # SKIP Xvfb did not start')
        return 0
    env = dict(os.environ, DISPLAY=':' + num.decode().strip(), SDL_VIDEODRIVER='x11')
    try:
        s = Show(exe, env)
        ready = s.wait_for('READY')
        tap(ready is not None, 'the SDL window opens on Xvfb',
            s.p.stderr.read().decode() if ready is None and s.p.poll() is not None else '')
        time.sleep(0.5)
        text = screenshot(env, os.path.join(tmp, 'window.pnm'))
        tap(all(w in text for w in WORDS), 'screenshot of the window shows the console text '
            '(OCR)', 'OCR: ' + text[:300])
        g = geometry(env, '^Vireo')
        tap(g == '720x400', 'window has the console size (720x400)', 'geometry: %s' % g)
        ids = xdo(env, 'search', '--name', '^Vireo').split()
        if ids:
            xdo(env, 'mousemove', '100', '100')
            xdo(env, 'windowfocus', '--sync', ids[0])
        xdo(env, 'key', '--delay', '50', 'a', 'Return', 'Shift_L+1')
        s.drain(2)
        keys = [l for l in s.lines if l.startswith('KEY ')]
        want = ['KEY a 1', 'KEY a 0', 'KEY ret 1', 'KEY ret 0', 'KEY shift 1', 'KEY 1 1',
                'KEY 1 0', 'KEY shift 0']
        tap(sorted(keys) == sorted(want) and keys.index('KEY a 1') < keys.index('KEY a 0')
            and keys.index('KEY shift 1') < keys.index('KEY 1 1'),
            'XTEST keys reach the guest as qcodes (a, ret, shift-1)',
            'got: %s' % keys)
        del s.lines[:]
        xdo(env, 'key', 'ctrl+alt+g')
        s.drain(1)
        keys = [l for l in s.lines if l.startswith('KEY ')]
        grabbed = xdo(env, 'search', '--name', 'exit grab')
        tap(bool(grabbed) and not any('KEY g' in k for k in keys),
            'Ctrl-Alt-G grabs (title says how to exit) and is not sent to the guest',
            'title search: %r, keys: %s' % (grabbed, keys))
        xdo(env, 'key', 'ctrl+alt+g')
        time.sleep(0.5)
        tap(not xdo(env, 'search', '--name', 'exit grab'), 'Ctrl-Alt-G again releases it')
        s.p.stdin.write(b'resize\n')
        s.p.stdin.flush()
        s.wait_for('SIZE')
        time.sleep(1)
        g = geometry(env, '^Vireo')
        text = screenshot(env, os.path.join(tmp, 'resized.pnm'))
        tap(g == '800x600' and all(w in text for w in WORDS),
            'a console resize resizes the window (800x600) and redraws it (OCR)',
            'geometry: %s, OCR: %s' % (g, text[:300]))
        rc = s.close()
        tap(rc == 0, 'sdl-show exits cleanly', 'status %s' % rc)

    finally:
        xvfb.terminate()
        xvfb.wait()
        shutil.rmtree(tmp, ignore_errors=True)
    print('1..%d' % len(results))
    return 0 if all(results) else 1


if __name__ == '__main__':
    sys.exit(main())
