#!/usr/bin/env python3
"""Run one VMM (inner guest) with watchdogs, capture its serial console, report.

usage: vmrun.py [options] -- VMM ARGS...
  --log FILE          serial console (VMM stdout) with \\r stripped; stderr goes to FILE.err
  --timeout S         kill the VMM after S seconds (default 150)
  --first-output S    kill it if it printed nothing after S seconds (default 60)
  --silence S         kill it if it printed nothing new for S seconds (default 60)
  --marker TEXT       record when a console line first contains TEXT (repeatable count kept)
  --exit-after TEXT   after a line containing TEXT, allow --exit-grace S (default 20) for the
                      VMM to exit by itself, then kill it (reason "no-exit")
  --mem MB            guest RAM size, for the memory sample
  --sample-at TEXT    sample /proc/PID/smaps when a line contains TEXT (default: the marker)
  --stdin-hold        stdin is a pipe this program holds open (never EOF; default)
When the VMM is killed for no-output, silence or timeout, FILE.diag gets what it was
doing first: each thread's state, kernel wait channel, system call and CPU time (from
/proc), then every thread's stack from gdb when gdb is installed.
"@NOW@" in any VMM argument is replaced by the epoch seconds at exec.
Prints shell assignments on stdout: VM_RC VM_REASON VM_ELAPSED VM_MARKER_S
VM_MARKER_COUNT VM_RSS_KB VM_RAM_RSS_KB VM_OVERHEAD_KB VM_PRIV_OVERHEAD_KB VM_TEXT_KB.
VM_REASON: exited, timeout, no-output, silence, no-exit, exec-failed.
The stdin the VMM gets is the read end of a pipe whose write end stays open here, so
it never sees EOF (like a FIFO held open by a shell).
"""
import argparse, os, re, select, shlex, shutil, signal, subprocess, sys, time

# Terminal control sequences firmware and the kernel print (SeaBIOS clears the screen).
ANSI = re.compile(r"\x1b(\[[0-9;?]*[ -/]*[@-~]|[@-Z\\-_]|c)")


def smaps_sample(pid, mem_mb):
    """VmRSS split into guest RAM and the rest, from /proc/PID/smaps.

    Guest RAM = mappings whose size is within [mem, mem + 64 MiB] (QEMU and most VMMs
    map RAM as one block, possibly padded for alignment; for guests > 3 GiB split
    around the PCI hole this would need both halves: not needed at -m 512). The rest
    is the VMM's own overhead. 'text' = resident file-backed executable mappings
    (binary + shared libraries), which are shared with other processes.
    """
    try:
        with open(f"/proc/{pid}/smaps") as f:
            lines = f.read().splitlines()
        with open(f"/proc/{pid}/status") as f:
            vmrss = next(int(l.split()[1]) for l in f if l.startswith("VmRSS:"))
    except (OSError, StopIteration):
        return None
    mem_kb = mem_mb * 1024
    maps, cur = [], None
    for l in lines:
        parts = l.split()
        if not parts:
            continue
        if not parts[0].endswith(":") or "-" in parts[0]:
            lo, hi = (int(x, 16) for x in parts[0].split("-"))
            cur = {"size": (hi - lo) // 1024, "perms": parts[1],
                   "path": parts[5] if len(parts) > 5 else "", "f": {}}
            maps.append(cur)
        elif cur is not None and len(parts) >= 2 and parts[1].isdigit():
            cur["f"][parts[0][:-1]] = int(parts[1])
    ram = sum(m["f"].get("Rss", 0) for m in maps
              if mem_kb and mem_kb <= m["size"] <= mem_kb + 65536)
    other = [m for m in maps if not (mem_kb and mem_kb <= m["size"] <= mem_kb + 65536)]
    priv = sum(m["f"].get("Private_Clean", 0) + m["f"].get("Private_Dirty", 0) for m in other)
    text = sum(m["f"].get("Rss", 0) for m in other
               if "x" in m["perms"] and m["path"].startswith("/"))
    return {"rss": vmrss, "ram": ram, "over": vmrss - ram, "priv": priv, "text": text}


def thread_table(pid):
    """One line per thread: tid, name, state, wchan, syscall, utime+stime ticks."""
    rows = []
    try:
        tids = sorted(os.listdir(f"/proc/{pid}/task"), key=int)
    except OSError as e:
        return [f"no /proc/{pid}/task: {e}"]
    for tid in tids:
        base = f"/proc/{pid}/task/{tid}"
        def rd(name):
            try:
                with open(f"{base}/{name}") as f:
                    return f.read().strip()
            except OSError:
                return "?"
        stat = rd("stat")
        # comm may hold spaces and parentheses: the fields follow the last ')'.
        rest = stat[stat.rfind(")") + 2:].split() if ")" in stat else []
        state = rest[0] if rest else "?"
        cpu = int(rest[11]) + int(rest[12]) if len(rest) > 12 else -1
        rows.append(f"{tid} {rd('comm')!r} state={state} wchan={rd('wchan')} "
                    f"syscall={rd('syscall').split(' ')[0]} cpu_ticks={cpu}")
    return rows


def dump_diag(pid, path, why):
    """What a VMM that is about to be killed was doing (see the module docstring)."""
    with open(path, "w") as d:
        d.write(f"# {why}: pid {pid}\n# threads (twice, 2 s apart: CPU ticks show who runs)\n")
        d.write("\n".join(thread_table(pid)) + "\n")
        time.sleep(2)
        d.write("\n".join(thread_table(pid)) + "\n")
        d.flush()
        gdb = shutil.which("gdb")
        if not gdb:
            d.write("# no gdb: no stacks\n")
            return
        try:
            r = subprocess.run([gdb, "-nx", "-batch", "-p", str(pid), "-ex", "set pagination off",
                                "-ex", "thread apply all bt 30"], stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, timeout=90)
            d.write(r.stdout.decode("utf-8", "replace"))
        except (OSError, subprocess.TimeoutExpired) as e:
            d.write(f"# gdb failed: {e}\n")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--log", required=True)
    ap.add_argument("--timeout", type=float, default=150)
    ap.add_argument("--first-output", type=float, default=60)
    ap.add_argument("--silence", type=float, default=60)
    ap.add_argument("--marker", default=None)
    ap.add_argument("--exit-after", default=None)
    ap.add_argument("--exit-grace", type=float, default=20)
    ap.add_argument("--mem", type=int, default=0)
    ap.add_argument("--sample-at", default=None)
    ap.add_argument("--stdin-hold", action="store_true", default=True)
    ap.add_argument("cmd", nargs=argparse.REMAINDER)
    a = ap.parse_args()
    cmd = a.cmd[1:] if a.cmd[:1] == ["--"] else a.cmd
    sample_at = a.sample_at or a.marker
    res = {"VM_RC": -1, "VM_REASON": "exited", "VM_ELAPSED": 0, "VM_MARKER_S": "",
           "VM_MARKER_COUNT": 0, "VM_RSS_KB": "", "VM_RAM_RSS_KB": "",
           "VM_OVERHEAD_KB": "", "VM_PRIV_OVERHEAD_KB": "", "VM_TEXT_KB": ""}
    # @NOW@ in an argument: the host's epoch seconds at exec (e.g. for the RTC check).
    now_s = str(int(time.time()))
    cmd = [c.replace("@NOW@", now_s) for c in cmd]
    rfd, wfd = os.pipe()
    log = open(a.log, "w")
    err = open(a.log + ".err", "w")
    t0 = time.monotonic()
    try:
        p = subprocess.Popen(cmd, stdin=rfd, stdout=subprocess.PIPE, stderr=err,
                             start_new_session=True)
    except OSError as e:
        res.update(VM_REASON="exec-failed", VM_RC=127)
        err.write(f"vmrun: cannot run {cmd[0]}: {e}\n")
        emit(res)
        return
    os.close(rfd)
    out = p.stdout.fileno()
    buf, last_out, seen_any, exit_deadline, sampled = b"", t0, False, None, False
    while True:
        now = time.monotonic()
        if now - t0 > a.timeout:
            res["VM_REASON"] = "timeout"; break
        if not seen_any and now - t0 > a.first_output:
            res["VM_REASON"] = "no-output"; break
        if seen_any and now - last_out > a.silence:
            res["VM_REASON"] = "silence"; break
        if exit_deadline and now > exit_deadline:
            res["VM_REASON"] = "no-exit"; break
        r, _, _ = select.select([out], [], [], 0.2)
        if not r:
            continue
        chunk = os.read(out, 65536)
        if not chunk:
            break
        now = time.monotonic()
        last_out, seen_any = now, True
        buf += chunk
        *lines, buf = buf.split(b"\n")
        for raw in lines:
            line = ANSI.sub("", raw.decode("utf-8", "replace")).rstrip("\r")
            log.write(f"{line}\n")
            if a.marker and a.marker in line:
                res["VM_MARKER_COUNT"] += 1
                if res["VM_MARKER_S"] == "":
                    res["VM_MARKER_S"] = f"{now - t0:.3f}"
            if sample_at and not sampled and sample_at in line and a.mem:
                s = smaps_sample(p.pid, a.mem)
                sampled = True
                if s:
                    res.update(VM_RSS_KB=s["rss"], VM_RAM_RSS_KB=s["ram"], VM_OVERHEAD_KB=s["over"],
                               VM_PRIV_OVERHEAD_KB=s["priv"], VM_TEXT_KB=s["text"])
            if a.exit_after and a.exit_after in line and not exit_deadline:
                exit_deadline = now + a.exit_grace
        log.flush()
    if buf:
        log.write(buf.decode("utf-8", "replace").rstrip("\r") + "\n")
    if p.poll() is None and res["VM_REASON"] in ("no-output", "silence", "timeout"):
        dump_diag(p.pid, a.log + ".diag", res["VM_REASON"])
    if p.poll() is None and res["VM_REASON"] != "exited":
        try:
            os.killpg(p.pid, signal.SIGKILL)
        except OSError:
            pass
    try:
        rc = p.wait(timeout=30 if res["VM_REASON"] == "exited" else 10)
    except subprocess.TimeoutExpired:
        os.killpg(p.pid, signal.SIGKILL)
        rc = p.wait()
        res["VM_REASON"] = "no-exit"
    os.close(wfd)
    res["VM_RC"] = rc
    res["VM_ELAPSED"] = f"{time.monotonic() - t0:.3f}"
    emit(res)


def emit(res):
    for k, v in res.items():
        print(f"{k}={shlex.quote(str(v))}")


if __name__ == "__main__":
    main()
