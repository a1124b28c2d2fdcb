#!/usr/bin/env python3
"""The outer side of the PCI hotplug case (cases/55-hotplug.sh): follows the inner
guest's console and runs, on one QMP connection, the step each "VTEST-WAIT hp STEP"
line names, as libvirt's attach-device / detach-device would:

  add-disk        blockdev-add (raw over file --disk, read-only) + device_add virtio-blk-pci
  del-disk        device_del, DEVICE_DELETED for it (the guest ejected), blockdev-del
  add-virtio-net  netdev_add user + device_add virtio-net-pci, MAC 52:54:00:aa:10:01
  add-e1000       netdev_add user + device_add e1000, MAC 52:54:00:aa:10:02
  del-virtio-net, del-e1000   device_del, DEVICE_DELETED, netdev_del

usage: hotplugpeer.py --log CONSOLE --out RESULTS --qmp SOCKET --disk IMAGE [--timeout S]
RESULTS gets one line per step: "ok STEP: what happened" or "fail STEP: why".
Exits when the console says VTEST-DONE or after --timeout seconds.
"""
import argparse, json, os, select, socket, time

NICS = {"virtio-net": ("virtio-net-pci", "1"), "e1000": ("e1000", "2")}


class Qmp:
    """One QMP connection; events that arrive before a reply are kept."""
    def __init__(self, path, deadline):
        while True:
            try:
                self.s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                self.s.connect(path)
                break
            except OSError:
                self.s.close()
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
        self.buf, self.events = b"", []
        self.readline(30)                                   # greeting
        self.cmd("qmp_capabilities")

    def readline(self, timeout):
        """The next line, or None after @timeout seconds."""
        end = time.monotonic() + timeout
        while b"\n" not in self.buf:
            left = end - time.monotonic()
            if left <= 0 or not select.select([self.s], [], [], left)[0]:
                return None
            data = self.s.recv(65536)
            if not data:
                raise RuntimeError("QMP connection closed")
            self.buf += data
        line, self.buf = self.buf.split(b"\n", 1)
        return json.loads(line)

    def cmd(self, execute, **args):
        msg = {"execute": execute}
        if args:
            msg["arguments"] = args
        self.s.sendall(json.dumps(msg).encode() + b"\n")
        while True:
            r = self.readline(60)
            if r is None:
                raise RuntimeError("%s: no reply in 60 s" % execute)
            if "event" in r:
                self.events.append(r)
            elif "error" in r:
                raise RuntimeError("%s: %s" % (execute, r["error"].get("desc")))
            else:
                return r["return"]

    def wait_deleted(self, dev_id, timeout):
        """Seconds until DEVICE_DELETED names @dev_id."""
        t0 = time.monotonic()
        while True:
            if any(e["event"] == "DEVICE_DELETED" and e.get("data", {}).get("device") == dev_id
                   for e in self.events):
                return time.monotonic() - t0
            left = timeout - (time.monotonic() - t0)
            r = self.readline(left) if left > 0 else None
            if r is None:
                raise RuntimeError("no DEVICE_DELETED for %s in %d s" % (dev_id, timeout))
            if "event" in r:
                self.events.append(r)


def step(q, name, disk):
    if name == "add-disk":
        q.cmd("blockdev-add", driver="raw", **{"node-name": "hd1", "read-only": True},
              file={"driver": "file", "filename": disk, "read-only": True})
        q.cmd("device_add", driver="virtio-blk-pci", id="vd1", drive="hd1")
        return "blockdev-add, device_add virtio-blk-pci vd1"
    if name == "del-disk":
        q.cmd("device_del", id="vd1")
        t = q.wait_deleted("vd1", 60)
        q.cmd("blockdev-del", **{"node-name": "hd1"})
        return "DEVICE_DELETED %.1f s after device_del, blockdev-del" % t
    kind = name.split("-", 1)[1]
    driver, n = NICS[kind]
    if name.startswith("add-"):
        q.cmd("netdev_add", type="user", id="hn" + n)
        q.cmd("device_add", driver=driver, id="hnic" + n, netdev="hn" + n,
              mac="52:54:00:aa:10:0" + n)
        return "netdev_add user, device_add %s hnic%s" % (driver, n)
    q.cmd("device_del", id="hnic" + n)
    t = q.wait_deleted("hnic" + n, 60)
    q.cmd("netdev_del", id="hn" + n)
    return "DEVICE_DELETED %.1f s after device_del, netdev_del" % t


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--log", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--qmp", required=True)
    ap.add_argument("--disk", required=True)
    ap.add_argument("--timeout", type=float, default=400)
    a = ap.parse_args()
    out = open(a.out, "a", buffering=1)
    end = time.monotonic() + a.timeout
    while not os.path.exists(a.log) and time.monotonic() < end:
        time.sleep(0.2)
    log, q, part = open(a.log, errors="replace"), None, ""
    while time.monotonic() < end:
        part += log.readline()
        if not part.endswith("\n"):        # nothing new, or a line still being written
            time.sleep(0.1)
            continue
        line, part = part.strip(), ""
        if line.startswith("VTEST-DONE"):
            break
        if not line.startswith("VTEST-WAIT hp "):
            continue
        name = line.split()[2]
        try:
            if q is None:
                q = Qmp(a.qmp, end)
            out.write("ok %s: %s\n" % (name, step(q, name, a.disk)))
        except (OSError, RuntimeError, ValueError, KeyError) as e:
            out.write("fail %s: %s\n" % (name, e))


if __name__ == "__main__":
    main()
