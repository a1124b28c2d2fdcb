#!/usr/bin/env python3
"""Boots one freestanding test guest and judges the run.

    run-guest.py --vmm vireo|qemu [--guest ELF] [--append CMDLINE] [--append-qemu MORE] [--status N]
                 [--expect TEXT]... [--timeout S] [--vireo PATH] [--qemu PATH] [-m MIB]
                 [--needs CAPABILITY]... [--probe PATH]

The VMM gets `-kernel ELF -device isa-debug-exit,iobase=0xf4,iosize=0x04 -nographic -m 128`
with a stdin pipe held open for the whole run.  Without --guest, vireo boots its embedded
default guest.  "{hosttime}" in --append becomes the host's Unix time just before the start.

Pass: the VMM exits in time with the expected status, every --expect text appears on the
serial console, and no "  FAIL - " or CPU-exception line does.  Exit codes: 0 pass,
1 fail, 77 skip (no /dev/kvm for vireo, no qemu-system-x86_64 for qemu, or a --needs
capability the host's KVM lacks: kvm-probe's facts, judged by kvmhost.py).
"""
import argparse
import os
import shutil
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import kvmhost  # noqa: E402

DEBUG_EXIT = "isa-debug-exit,iobase=0xf4,iosize=0x04"
SKIP = 77


def skip(why):
    print("SKIP: " + why)
    sys.exit(SKIP)


def kvm_usable():
    try:
        fd = os.open("/dev/kvm", os.O_RDWR | os.O_CLOEXEC)
    except OSError as e:
        return str(e)
    os.close(fd)
    return None


def vmm_command(a):
    if a.vmm == "vireo":
        err = kvm_usable()
        if err:
            skip("no /dev/kvm (%s)" % err)
        build = os.environ.get("VIREO_BUILD_DIR", "build")
        if a.needs:
            probe = a.probe or os.path.join(build, "tests", "guest", "kvm-probe")
            why = kvmhost.cannot_run(a.needs, kvmhost.probe(probe))
            if why:
                skip(why)
        exe = a.vireo or os.path.join(build, "vireo")
        if not os.access(exe, os.X_OK):
            print("FAIL: vireo binary not found at %s (set VIREO_BUILD_DIR or --vireo)" % exe)
            sys.exit(1)
        cmd = [exe]
    else:
        exe = a.qemu or os.environ.get("QEMU") or shutil.which("qemu-system-x86_64")
        if not exe:
            skip("qemu-system-x86_64 not installed")
        cmd = [exe, "-machine", "pc", "-accel", "tcg"]
        if not a.allow_reboot:
            cmd.append("-no-reboot")
    if a.guest:
        cmd += ["-kernel", a.guest]
    elif a.vmm == "qemu":
        print("FAIL: qemu needs --guest")
        sys.exit(1)
    cmd += ["-device", DEBUG_EXIT, "-nographic", "-m", str(a.mem)] + a.vmm_arg
    append = a.append
    if a.vmm == "qemu" and a.append_qemu:
        append = (append + " " if append else "") + a.append_qemu
    if append is not None:
        cmd += ["-append", append.replace("{hosttime}", str(int(time.time())))]
    return cmd


def run(cmd, timeout):
    """Returns (status or None on timeout, output lines, seconds)."""
    start = time.monotonic()
    p = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                         stderr=subprocess.STDOUT)
    try:
        out, _ = p.communicate(timeout=timeout)
        status = p.returncode
    except subprocess.TimeoutExpired:
        p.kill()                            # our own child, by its pid
        out, _ = p.communicate()
        status = None
    text = out.decode("utf-8", "replace").replace("\r", "")
    return status, text.split("\n"), time.monotonic() - start


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--vmm", choices=["vireo", "qemu"], required=True)
    ap.add_argument("--guest")
    ap.add_argument("--append")
    ap.add_argument("--append-qemu", help="more command line, for the qemu runs only")
    ap.add_argument("--status", type=int, default=0)
    ap.add_argument("--expect", action="append", default=[])
    ap.add_argument("--timeout", type=float)
    ap.add_argument("--vireo")
    ap.add_argument("--qemu")
    ap.add_argument("-m", "--mem", type=int, default=128)
    ap.add_argument("--vmm-arg", action="append", default=[],
                    help="extra VMM argument (repeatable), e.g. -no-reboot")
    ap.add_argument("--needs", action="append", default=[], choices=kvmhost.CAPABILITIES,
                    help="a host KVM capability the test needs (vireo runs): skipped, "
                         "with the reason, where kvm-probe shows the host lacks it")
    ap.add_argument("--probe", help="the kvm-probe helper (default: BUILD/tests/guest/kvm-probe)")
    ap.add_argument("--allow-reboot", action="store_true",
                    help="qemu runs: leave out -no-reboot (the guest resets itself)")
    a = ap.parse_args()
    timeout = a.timeout or (90 if a.vmm == "vireo" else 30)

    cmd = vmm_command(a)
    print("$ " + " ".join(cmd), flush=True)
    status, lines, secs = run(cmd, timeout)
    for line in lines:
        print("| " + line)

    problems = []
    if status is None:
        problems.append("no exit within %g s (killed)" % timeout)
    elif status != a.status:
        problems.append("exit status %d, expected %d" % (status, a.status))
    text = "\n".join(lines)
    for e in a.expect:
        if e not in text:
            problems.append("missing on the console: %r" % e)
    for line in lines:
        if line.startswith("  FAIL - ") or "*** CPU exception" in line:
            problems.append("guest reported: " + line.strip())
    if problems:
        print("FAIL (%.1f s): %s" % (secs, "; ".join(problems)))
        return 1
    print("PASS (%.1f s, exit status %d)" % (secs, status))
    return 0


if __name__ == "__main__":
    sys.exit(main())
