#!/usr/bin/env python3
"""The outer VM's side of the network tests (cases/50-net.sh): services the inner
guest reaches through its NICs, and actions the guest asks for on its console.

usage: netpeer.py --log CONSOLE --out RESULTS [--tcp ADDR:PORT]... [--dns ADDR:PORT]
                  [--qmp SOCKET] [--timeout S]

  --tcp ADDR:PORT  a TCP service: each connection gets "echo:" + the line it sent
  --dns ADDR:PORT  a DNS server: A queries for NAME.vireo.test answer 192.0.2.77
  --log CONSOLE    the guest console (vmrun.py writes it line by line); these lines
                   make us act:
      VTEST-WAIT hostfwd-tcp PORT NAME   connect to 127.0.0.1:PORT, send "outer-NAME",
                                         expect "guest:outer-NAME" back
      VTEST-WAIT hostfwd-udp PORT NAME   the same over UDP (retried until answered)
      VTEST-WAIT tcp-in ADDR PORT NAME   as hostfwd-tcp, to ADDR (a tap peer)
      VTEST-WAIT qmp NAME JSON           send one QMP command on --qmp
      VTEST-WAIT vhost-threads N NAME    at least N "vhost-*" kernel threads exist
  --out RESULTS    one line per action: "ok NAME" or "fail NAME: why"
Exits when the console says VTEST-DONE or after --timeout seconds.
"""
import argparse, json, os, socket, socketserver, struct, threading, time


class Echo(socketserver.StreamRequestHandler):
    """"sink N": reads N bytes, answers "got N"; "source N": sends N bytes;
    anything else: "echo:" + the line."""
    def handle(self):
        line = self.rfile.readline(4096).strip()
        words = line.split()
        if len(words) == 2 and words[0] == b"sink" and words[1].isdigit():
            want, got = int(words[1]), 0
            while got < want:
                chunk = self.rfile.read1(min(65536, want - got))
                if not chunk:
                    break
                got += len(chunk)
            self.wfile.write(b"got %d\n" % got)
        elif len(words) == 2 and words[0] == b"source" and words[1].isdigit():
            left, block = int(words[1]), b"x" * 65536
            while left > 0:
                self.wfile.write(block[:min(left, len(block))])
                left -= min(left, len(block))
        else:
            self.wfile.write(b"echo:" + line + b"\n")


class TCPServer(socketserver.ThreadingTCPServer):
    allow_reuse_address = True
    daemon_threads = True


def dns_server(addr, port):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((addr, port))

    def serve():
        while True:
            q, peer = s.recvfrom(512)
            if len(q) < 17:
                continue
            i, labels = 12, []
            while i < len(q) and q[i]:
                labels.append(q[i + 1:i + 1 + q[i]].decode("ascii", "replace"))
                i += 1 + q[i]
            qend = i + 5
            name = ".".join(labels).lower()
            qtype = struct.unpack(">H", q[i + 1:i + 3])[0] if qend <= len(q) else 0
            ours = name.endswith(".vireo.test")
            ok = ours and qtype == 1                    # A: answered; AAAA...: no data
            flags = 0x8180 if ours else 0x8183          # NXDOMAIN for other names
            hdr = q[:2] + struct.pack(">HHHHH", flags, 1, 1 if ok else 0, 0, 0)
            ans = (b"\xc0\x0c" + struct.pack(">HHIH", 1, 1, 60, 4) + bytes([192, 0, 2, 77])
                   if ok else b"")
            s.sendto(hdr + q[12:qend] + ans, peer)
    threading.Thread(target=serve, daemon=True).start()


def tcp_client(host, port, name, deadline):
    want = b"guest:outer-" + name.encode()
    err = "no connection"
    while time.monotonic() < deadline:
        try:
            with socket.create_connection((host, port), timeout=5) as c:
                c.sendall(b"outer-" + name.encode() + b"\n")
                data = b""
                while not data.endswith(b"\n") and len(data) < 4096:
                    chunk = c.recv(4096)
                    if not chunk:
                        break
                    data += chunk
                if data.strip() == want:
                    return None
                err = "got %r" % data
        except OSError as e:
            err = str(e)
        time.sleep(0.5)
    return err


def udp_client(host, port, name, deadline):
    want = b"guest:outer-" + name.encode()
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(1)
    err = "no answer"
    while time.monotonic() < deadline:
        try:
            s.sendto(b"outer-" + name.encode() + b"\n", (host, port))
            data, _ = s.recvfrom(4096)
            if data.strip() == want:
                return None
            err = "got %r" % data
        except OSError as e:
            err = str(e)
    return err


def qmp(path, command):
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.settimeout(10)
        s.connect(path)
        f = s.makefile("rwb")
        f.readline()                                     # greeting
        for cmd in ({"execute": "qmp_capabilities"}, json.loads(command)):
            f.write(json.dumps(cmd).encode() + b"\n")
            f.flush()
            while True:
                r = json.loads(f.readline())
                if "return" in r or "error" in r:
                    break
        if "error" in r:
            raise OSError(r["error"].get("desc", "error"))
        return r


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--log", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--tcp", action="append", default=[])
    ap.add_argument("--dns")
    ap.add_argument("--qmp")
    ap.add_argument("--timeout", type=float, default=200)
    a = ap.parse_args()
    for spec in a.tcp:
        host, port = spec.rsplit(":", 1)
        srv = TCPServer((host, int(port)), Echo)
        threading.Thread(target=srv.serve_forever, daemon=True).start()
    if a.dns:
        host, port = a.dns.rsplit(":", 1)
        dns_server(host, int(port))
    out = open(a.out, "a", buffering=1)
    end = time.monotonic() + a.timeout
    while not os.path.exists(a.log) and time.monotonic() < end:
        time.sleep(0.2)
    log, pos = open(a.log), 0
    threads = []

    def act(words):
        what, name = words[0], words[-1]
        deadline = time.monotonic() + 40
        if what == "hostfwd-tcp":
            err = tcp_client("127.0.0.1", int(words[1]), name, deadline)
        elif what == "hostfwd-udp":
            err = udp_client("127.0.0.1", int(words[1]), name, deadline)
        elif what == "tcp-in":
            err = tcp_client(words[1], int(words[2]), name, deadline)
        elif what == "qmp":
            name = "qmp-" + words[1]
            try:
                qmp(a.qmp, " ".join(words[2:]))
                err = None
            except (OSError, ValueError) as e:
                err = str(e)
        elif what == "vhost-threads":
            n = 0
            for pid in os.listdir("/proc"):
                try:
                    with open("/proc/%s/comm" % pid) as c:
                        n += c.read().startswith("vhost-")
                except OSError:
                    pass
            err = None if n >= int(words[1]) else "%d vhost threads" % n
        else:
            err = "unknown action " + what
        out.write(("ok %s\n" % name) if err is None else ("fail %s: %s\n" % (name, err)))

    while time.monotonic() < end:
        line = log.readline()
        if not line:
            time.sleep(0.1)
            continue
        line = line.strip()
        if line.startswith("VTEST-WAIT "):
            t = threading.Thread(target=act, args=(line.split()[1:],), daemon=True)
            t.start()
            threads.append(t)
        if line.startswith("VTEST-DONE"):
            break
    for t in threads:
        t.join(timeout=max(0, end - time.monotonic()))


if __name__ == "__main__":
    main()
