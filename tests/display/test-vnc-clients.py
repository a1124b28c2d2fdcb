#!/usr/bin/env python3
"""Real VNC clients against Vireo's VNC server (no KVM): build/tests/vnc-show serves a
console with a fixed picture (a noisy gradient, a solid block, stripes, greys, colour runs) and writes
the picture as PPM.

- Tight: Debian's vncsnapshot (TightVNC 1.2.8's decoder) captures the screen with only
  the Tight encoding offered, once lossless (-nojpeg) and once with JPEG (-jpeg
  -vncQuality 9); its JPEG output file (quality 100) is read back with jpegtopnm and
  compared with the picture: near-exact lossless, within a small mean error with JPEG.
- ZRLE: build/tests/vnc-capture must decode the exact picture, every subencoding used;
  vncsnapshot with only ZRLE offered (RealVNC 3.3.7's decoder) must see it.
- Websockets: python3-websockets connects to the websocket port (subprotocol binary),
  speaks RFB 3.8 through it (None security, Raw encoding) and must get the exact
  picture; then the same handshake requests go to QEMU 7.2 (-M none -accel tcg
  -vnc ...,websocket=PORT) where Debian's QEMU is installed: the 101 answer's
  Sec-WebSocket-Accept/-Protocol and the status of refused requests must match.

TAP output; a check whose tool is missing is skipped (scripts/install-deps.sh --test
installs vncsnapshot, netpbm, python3-websockets, qemu-system-x86).
Usage: test-vnc-clients.py BUILD_DIR
"""
import asyncio
import os
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import time

results = []


def tap(ok, name, why=''):
    results.append(ok)
    print('%s %d - %s' % ('ok' if ok else 'not ok', len(results), name))
    if not ok and why:
        print('# ' + str(why).replace('\n', '\n# '))
    sys.stdout.flush()


def skip(name, why):
    results.append(True)
    print('ok %d - %s # SKIP %s' % (len(results), name, why))
    sys.stdout.flush()


def free_port():
    s = socket.socket()
    s.bind(('127.0.0.1', 0))
    port = s.getsockname()[1]
    s.close()
    return port


def read_ppm(path):
    with open(path, 'rb') as f:
        data = f.read()
    fields, pos = [], 0
    while len(fields) < 4:
        while data[pos:pos + 1].isspace():
            pos += 1
        if data[pos:pos + 1] == b'#':
            pos = data.index(b'\n', pos)
            continue
        end = pos
        while not data[end:end + 1].isspace():
            end += 1
        fields.append(data[pos:end])
        pos = end
    assert fields[0] == b'P6', fields
    w, h = int(fields[1]), int(fields[2])
    return w, h, data[pos + 1:pos + 1 + w * h * 3]


def compare(want, got):
    """(max, mean) absolute channel difference of two PPM pictures of one size."""
    if want[:2] != got[:2]:
        return None
    a, b = want[2], got[2]
    diffs = [abs(x - y) for x, y in zip(a, b)]
    return max(diffs), sum(diffs) / len(diffs)


class Show:
    def __init__(self, exe, spec, ppm):
        self.p = subprocess.Popen([exe, spec, ppm], stdin=subprocess.PIPE,
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        line = self.p.stdout.readline()
        if line.strip() != b'READY':
            raise RuntimeError('vnc-show: %r %r' % (line, self.p.stderr.read()))

    def close(self):
        self.p.stdin.close()
        try:
            self.p.wait(10)
        except subprocess.TimeoutExpired:
            self.p.kill()
            self.p.wait()


def tight_checks(d, show_port, want):
    if not shutil.which('vncsnapshot') or not shutil.which('jpegtopnm'):
        skip('tight: vncsnapshot capture', 'vncsnapshot or jpegtopnm (netpbm) missing')
        return
    for name, opts, max_ok, mean_ok in (
            ('lossless', ['-nojpeg', '-compresslevel', '1'], 2, 0.2),
            ('jpeg', ['-jpeg', '-vncQuality', '9', '-compresslevel', '9'], 96, 2.0)):
        out = os.path.join(d, 'tight-%s.jpg' % name)
        r = subprocess.run(['vncsnapshot', '-quiet', '-encodings', 'tight', '-quality', '100',
                            *opts, '127.0.0.1:%d' % (show_port - 5900), out],
                           capture_output=True, timeout=60)
        if r.returncode or not os.path.exists(out):
            tap(False, 'tight %s: vncsnapshot capture' % name, r.stderr.decode(errors='replace'))
            continue
        ppm = os.path.join(d, 'tight-%s.ppm' % name)
        with open(ppm, 'wb') as f:
            subprocess.run(['jpegtopnm', out], stdout=f, stderr=subprocess.DEVNULL, check=True)
        c = compare(want, read_ppm(ppm))
        tap(c is not None and c[0] <= max_ok and c[1] <= mean_ok,
            'tight %s: vncsnapshot sees the picture (max, mean error %s)' % (name, c))


def zrle_checks(build, d, show_port, want):
    """ZRLE (the picture has tiles of every subencoding): build/tests/vnc-capture
    (tests/vnc-dec.c) must decode the exact picture and see every subencoding used;
    vncsnapshot (RealVNC 3.3.7's ZRLE decoder, in its own BGR pixel format) must see
    the picture (its output is a JPEG, quality 100: near-exact)."""
    out = os.path.join(d, 'zrle-capture.ppm')
    r = subprocess.run([os.path.join(build, 'tests', 'vnc-capture'),
                        '127.0.0.1:%d' % (show_port - 5900), '-e', 'zrle', '-o', out, '-z'],
                       capture_output=True, timeout=60, text=True)
    kinds = dict(zip(r.stdout.split()[1::2], map(int, r.stdout.split()[2::2]))) \
        if r.stdout.startswith('zrle-tiles') else {}
    tap(r.returncode == 0 and os.path.exists(out) and read_ppm(out) == want,
        'zrle: vnc-capture decodes the exact picture', r.stderr)
    tap(len(kinds) == 5 and all(kinds.values()),
        'zrle: every subencoding used (%s)' % r.stdout.strip(), r.stderr)
    if not shutil.which('vncsnapshot') or not shutil.which('jpegtopnm'):
        skip('zrle: vncsnapshot capture', 'vncsnapshot or jpegtopnm (netpbm) missing')
        return
    jpg = os.path.join(d, 'zrle.jpg')
    r = subprocess.run(['vncsnapshot', '-quiet', '-encodings', 'zrle', '-quality', '100',
                        '127.0.0.1:%d' % (show_port - 5900), jpg],
                       capture_output=True, timeout=60)
    if r.returncode or not os.path.exists(jpg):
        tap(False, 'zrle: vncsnapshot capture', r.stderr.decode(errors='replace'))
        return
    ppm = os.path.join(d, 'zrle-snap.ppm')
    with open(ppm, 'wb') as f:
        subprocess.run(['jpegtopnm', jpg], stdout=f, stderr=subprocess.DEVNULL, check=True)
    c = compare(want, read_ppm(ppm))
    tap(c is not None and c[0] <= 2 and c[1] <= 0.2,
        'zrle: vncsnapshot sees the picture (max, mean error %s)' % (c,))


async def ws_capture(port):
    import websockets
    async with websockets.connect('ws://127.0.0.1:%d/' % port, subprotocols=['binary'],
                                  max_size=None, compression=None) as ws:
        buf = bytearray()

        async def need(n):
            while len(buf) < n:
                m = await asyncio.wait_for(ws.recv(), 20)
                assert isinstance(m, bytes), 'text frame from the server'
                buf.extend(m)
            out = bytes(buf[:n])
            del buf[:n]
            return out

        assert await need(12) == b'RFB 003.008\n'
        await ws.send(b'RFB 003.008\n')
        n = (await need(1))[0]
        types = await need(n)
        assert 1 in types, types
        await ws.send(b'\x01')
        assert struct.unpack('>I', await need(4))[0] == 0
        await ws.send(b'\x01')
        w, h = struct.unpack('>HH', await need(4))
        await need(16)
        nlen = struct.unpack('>I', await need(4))[0]
        await need(nlen)
        # 32 bpp, depth 24, little endian, r<<16 g<<8 b: the console's own layout.
        await ws.send(struct.pack('>BxxxBBBBHHHBBBxxx', 0, 32, 24, 0, 1, 255, 255, 255,
                                  16, 8, 0))
        await ws.send(struct.pack('>BxHi', 2, 1, 0))                  # Raw only
        # The request in two fragments: the server must join them.
        req = struct.pack('>BBHHHH', 3, 0, 0, 0, w, h)
        await ws.send([req[:3], req[3:]])
        fb = bytearray(w * h * 3)
        got = 0
        while got < w * h:
            hdr = await need(4)
            assert hdr[0] == 0
            for _ in range(struct.unpack('>H', hdr[2:])[0]):
                x, y, rw, rh, enc = struct.unpack('>HHHHi', await need(12))
                assert enc == 0, enc
                data = await need(rw * rh * 4)
                for j in range(rh):
                    for i in range(rw):
                        p = (j * rw + i) * 4
                        o = ((y + j) * w + x + i) * 3
                        fb[o:o + 3] = bytes((data[p + 2], data[p + 1], data[p]))
                got += rw * rh
        pong = await ws.ping(b'vireo')
        await asyncio.wait_for(pong, 10)
        return w, h, bytes(fb)


def raw_request(port, data):
    """Sends @data to the port; returns what comes back up to the end of the HTTP head."""
    s = socket.create_connection(('127.0.0.1', port), timeout=5)
    s.sendall(data)
    out = b''
    try:
        while b'\r\n\r\n' not in out:
            d = s.recv(4096)
            if not d:
                break
            out += d
    except socket.timeout:
        pass
    s.close()
    return out


KEY = b'dGhlIHNhbXBsZSBub25jZQ=='
BASE = (b'GET / HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\n'
        b'Connection: Upgrade\r\nSec-WebSocket-Key: ' + KEY + b'\r\n')
REQUESTS = {
    'binary': BASE + b'Sec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: binary\r\n\r\n',
    'no-protocol': BASE + b'Sec-WebSocket-Version: 13\r\n\r\n',
    'version-8': BASE + b'Sec-WebSocket-Version: 8\r\n\r\n',
    'chat-only': BASE + b'Sec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: chat\r\n\r\n',
    'post': b'POST / HTTP/1.1\r\nHost: localhost\r\n\r\n',
}


def summary(answer):
    """Status line and the websocket headers that matter (Server/Date are QEMU's own)."""
    lines = answer.split(b'\r\n')
    keep = [l for l in lines[1:] if l.lower().startswith((b'sec-websocket-accept',
                                                          b'sec-websocket-protocol',
                                                          b'upgrade:'))]
    return [lines[0]] + sorted(keep)


def ws_checks(exe, d, want):
    try:
        import websockets  # noqa: F401
    except ImportError:
        skip('websocket: capture', 'python3-websockets missing')
        return
    vport, wport = free_port(), free_port()
    show = Show(exe, '127.0.0.1:%d,websocket=%d' % (vport - 5900, wport),
                os.path.join(d, 'ws.ppm'))
    try:
        try:
            got = asyncio.run(ws_capture(wport))
            c = compare(want, got)
            tap(c == (0, 0), 'websocket: RFB over RFC 6455 frames, exact picture (%s)' % (c,))
        except Exception as e:      # noqa: BLE001 - reported as a failure
            tap(False, 'websocket: RFB over RFC 6455 frames', repr(e))
        ours = {k: summary(raw_request(wport, v)) for k, v in REQUESTS.items()}
    finally:
        show.close()
    tap(ours['binary'][0].startswith(b'HTTP/1.1 101') and
        b'Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=' in ours['binary'],
        'websocket: handshake answer (RFC 6455 1.3 example)', ours['binary'])
    qemu = shutil.which('qemu-system-x86_64')
    if not qemu:
        skip('websocket: handshake answers as QEMU 7.2', 'qemu-system-x86 missing')
        return
    qv, qw = free_port(), free_port()
    q = subprocess.Popen([qemu, '-M', 'none', '-accel', 'tcg', '-display', 'none',
                          '-nodefaults', '-vnc', '127.0.0.1:%d,websocket=%d' % (qv - 5900, qw)],
                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        for _ in range(100):
            try:
                socket.create_connection(('127.0.0.1', qw), timeout=1).close()
                break
            except OSError:
                time.sleep(0.1)
        theirs = {k: summary(raw_request(qw, v)) for k, v in REQUESTS.items()}
    finally:
        q.terminate()
        q.wait()
    diff = {k: (ours[k], theirs[k]) for k in REQUESTS if ours[k] != theirs[k]}
    tap(not diff, 'websocket: handshake answers as QEMU 7.2 (%s)' % ', '.join(REQUESTS),
        diff)


def main():
    build = sys.argv[1]
    try:
        import websockets  # noqa: F401
    except ImportError:
        # Debian's python3-websockets is for Debian's python3, which may not be the
        # python3 first in PATH.
        if os.path.exists('/usr/bin/python3') and sys.executable != '/usr/bin/python3':
            os.execv('/usr/bin/python3', ['/usr/bin/python3', os.path.abspath(__file__),
                                          *sys.argv[1:]])
    exe = os.path.join(build, 'tests', 'vnc-show')
    with tempfile.TemporaryDirectory() as d:
        port = free_port()
        ppm = os.path.join(d, 'want.ppm')
        show = Show(exe, '127.0.0.1:%d' % (port - 5900), ppm)
        try:
            want = read_ppm(ppm)
            tight_checks(d, port, want)
            zrle_checks(build, d, port, want)
        finally:
            show.close()
        ws_checks(exe, d, want)
    print('1..%d' % len(results))
    return 0 if all(results) else 1


if __name__ == '__main__':
    sys.exit(main())
