#!/usr/bin/env python3
"""Command-line behaviour of the vireo binary that needs no KVM: help and version
output, and bad input giving one line that names the culprit, exit status 1, and no
process left behind."""
import os, subprocess, sys, tempfile, unittest

BUILD = os.environ.get("VIREO_BUILD_DIR", "build")
VIREO = os.path.join(BUILD, "vireo")


def run(*args, timeout=20):
    p = subprocess.run([VIREO, *args], stdin=subprocess.DEVNULL, capture_output=True,
                       text=True, timeout=timeout)
    return p.returncode, p.stdout, p.stderr


class Help(unittest.TestCase):
    def test_version(self):
        rc, out, _ = run("--version")
        self.assertEqual(rc, 0)
        self.assertIn("Vireo emulator version", out)

    def test_machine_help(self):
        rc, out, _ = run("-machine", "help")
        self.assertEqual(rc, 0)
        self.assertIn("pc", out)
        self.assertIn("(default)", out)
        rc2, out2, _ = run("-M", "?")
        self.assertEqual((rc2, out2), (rc, out))

    def test_device_help(self):
        rc, out, _ = run("-device", "help")
        self.assertEqual(rc, 0)
        self.assertIn('name "isa-debug-exit"', out)
        rc, out, _ = run("-device", "isa-debug-exit,help")
        self.assertEqual(rc, 0)
        self.assertIn("iobase=<uint", out)

    def test_cpu_help(self):
        rc, out, _ = run("-cpu", "help")
        self.assertEqual(rc, 0)
        self.assertIn("qemu64", out)
        self.assertIn("host", out)

    def test_usage(self):
        rc, out, _ = run("-h")
        self.assertEqual(rc, 0)
        self.assertIn("-kernel", out)


class BadInput(unittest.TestCase):
    def bad(self, needle, *args):
        rc, out, err = run(*args)
        self.assertEqual(rc, 1, f"{args}: rc={rc} err={err!r}")
        lines = [l for l in err.splitlines() if l.strip()]
        self.assertEqual(len(lines), 1, f"{args}: expected one line, got {err!r}")
        self.assertTrue(lines[0].startswith("vireo: "), lines[0])
        self.assertIn(needle, lines[0])

    def test_unknown_option(self):
        self.bad("-frobnicate: invalid option", "-frobnicate")

    def test_trace(self):
        self.bad("-trace nosuch: trace event 'nosuch' does not exist", "-trace", "nosuch")
        self.bad("Invalid parameter 'bogus'", "-trace", "vireo_*,bogus=1")
        with tempfile.TemporaryDirectory() as d:
            out, ev = os.path.join(d, "t.log"), os.path.join(d, "events")
            self.bad(f"{ev}", "-trace", f"events={ev}")          # missing events file
            rc, _, err = run("-trace", f"vireo_startup,file={out}", "--version")
            self.assertEqual(rc, 0, err)
            with open(out) as f:
                self.assertRegex(f.read(), r"^vireo-trace: \d+\.\d{6} vireo_startup main\n$")
            with open(ev, "w") as f:                       # QEMU's events file
                f.write("# all of ours, then not startup\nvireo_*\n-vireo_startup\n")
            rc, _, err = run("-trace", f"events={ev},file={out}", "--version")
            self.assertEqual(rc, 0, err)
            self.assertEqual(os.path.getsize(out), 0)
            with open(ev, "w") as f:
                f.write("vireo_startup\nno_such_event\n")
            self.bad(f"{ev}:2: trace event 'no_such_event' does not exist",
                     "-trace", f"events={ev}")

    def test_missing_argument(self):
        self.bad("-m: requires an argument", "-m")

    def test_bad_memory(self):
        self.bad("-m 12Q", "-m", "12Q")
        self.bad("-m lots", "-m", "lots")

    def test_memory_larger_than_host(self):
        self.bad("more than the host", "-m", "64T")

    def test_smp_zero(self):
        self.bad("-smp 0", "-smp", "0")

    def test_smp_too_many(self):
        self.bad("supports at most 255 CPUs", "-smp", "1000")

    def test_unknown_machine(self):
        self.bad("-machine nosuch", "-machine", "nosuch")

    def test_unknown_device(self):
        self.bad("'nosuch-dev' is not a valid device model name", "-device", "nosuch-dev")

    def test_unknown_accel(self):
        self.bad("-accel tcg", "-accel", "tcg")

    def test_missing_kernel(self):
        self.bad("-kernel /nonexistent/vmlinuz", "-kernel", "/nonexistent/vmlinuz")

    def test_not_a_kernel(self):
        with tempfile.NamedTemporaryFile(suffix=".bin") as f:
            f.write(b"this is not a kernel" * 100)
            f.flush()
            self.bad("not a Linux bzImage", "-kernel", f.name)

    def test_empty_kernel(self):
        with tempfile.NamedTemporaryFile() as f:
            self.bad("not a regular, non-empty file", "-kernel", f.name)

    def test_initrd_without_kernel(self):
        self.bad("-initrd only allowed with -kernel", "-initrd", "/etc/hostname")
        self.bad("-append only allowed with -kernel", "-append", "console=ttyS0")

    def test_bad_rtc(self):
        self.bad("-rtc base=mars", "-rtc", "base=mars")

    def test_bad_drive(self):
        with tempfile.TemporaryDirectory() as d:
            img = os.path.join(d, "d.raw")
            with open(img, "wb") as f:
                f.truncate(1 << 20)
            self.bad("interface if=scsi is not supported", "-drive", f"file={img},if=scsi")
            self.bad("'enospc' invalid read error action", "-drive", f"file={img},rerror=enospc")
            self.bad("'halt' invalid write error action", "-drive", f"file={img},werror=halt")
            self.bad("'' invalid write error action", "-drive", f"file={img},werror=")
            self.bad("Invalid discard option 'trim'", "-drive", f"file={img},discard=trim")
            self.bad("Parameter 'detect-zeroes' does not accept value 'yes'", "-drive",
                     f"file={img},detect-zeroes=yes")
            self.bad("detect-zeroes to unmap is not allowed without setting discard operation"
                     " to unmap", "-drive", f"file={img},detect-zeroes=unmap")
            self.bad("media must be disk or cdrom", "-drive", f"file={img},media=tape")
            self.bad("index must be 0..3", "-drive", f"file={img},index=4")
            self.bad("Invalid parameter 'bogus'", "-drive", f"file={img},if=virtio,bogus=1")
            self.bad("file= is required", "-drive", "if=virtio")
            self.bad("format must be raw or qcow2", "-drive", f"file={img},if=virtio,format=vmdk")
            self.bad("not a qcow2 image", "-drive", f"file={img},if=virtio,format=qcow2")
            self.bad("if=none needs id=", "-drive", f"file={img},if=none")
            self.bad("No such file", "-drive", f"file={d}/missing,if=virtio")
            self.bad("Parameter 'locking' does not accept value 'bogus'", "-drive",
                     f"file={img},if=none,id=a,file.locking=bogus")
            self.bad("force-share=on can only be used with read-only images", "-drive",
                     f"file={img},if=none,id=a,force-share=on")
            self.bad("drive id 'a' is used twice", "-drive", f"file={img},if=none,id=a,readonly=on",
                     "-drive", f"file={img},if=none,id=a,readonly=on")
            # a bare image is -hda: the same position twice
            self.bad("drive with bus=0, unit=0 (index=0) exists", img, "-hda", img)
            self.bad("-bios nosuch.bin: not found", "-bios", "nosuch.bin")
            self.bad("Invalid boot device for PC: 'z'", "-boot", "z")
            self.bad("splash-time must be 0..65535", "-boot", "splash-time=65536")
            self.bad("splash-time must be 0..65535", "-boot", "splash-time=-1")
            self.bad("-boot splash=nosuch.jpg: failed to find", "-boot", "splash=nosuch.jpg")
            # a raw image is neither a JPEG nor a 24-bit BMP; a 16-bit BMP is refused too
            self.bad("format not supported; must be JPEG or 24 bit BMP", "-boot",
                     f"menu=on,splash={img}")
            bmp = os.path.join(d, "logo.bmp")
            with open(bmp, "wb") as f:
                f.write(b"BM" + bytes(26) + b"\x10\x00" + bytes(40))
            self.bad("format not supported; must be JPEG or 24 bit BMP", "-boot",
                     f"splash={bmp}")
            # -blockdev: keyval and JSON; graph errors before anything is created
            self.bad("Parameter 'driver' does not accept value 'vmdk'", "-blockdev",
                     f"driver=vmdk,node-name=a,file=x")
            self.bad("Parameter 'filename' is missing", "-blockdev", "driver=file,node-name=f")
            self.bad("'nofile' is not a file or host_device node", "-blockdev",
                     "driver=qcow2,node-name=q,file=nofile")
            self.bad("Duplicate nodes with node-name='f'", "-blockdev",
                     f"driver=file,node-name=f,filename={img}", "-blockdev",
                     f"driver=file,node-name=f,filename={img}")
            self.bad("Parameter 'discard' does not accept value 'x'", "-blockdev",
                     f'{{"driver":"file","node-name":"f","filename":"{img}","discard":"x"}}')
            self.bad("detect-zeroes to unmap is not allowed", "-blockdev",
                     f'{{"driver":"file","node-name":"f","filename":"{img}",'
                     '"detect-zeroes":"unmap","discard":"ignore"}')
            self.bad("Invalid parameter 'bogus'", "-blockdev",
                     f"driver=file,node-name=f,filename={img},bogus=1")
            self.bad("Parameter 'locking' does not accept value 'no'", "-blockdev",
                     f"driver=file,node-name=f,filename={img},locking=no")
            self.bad("Parameter 'aio-max-batch' expects", "-blockdev",
                     f"driver=file,node-name=f,filename={img},aio-max-batch=-1")
            self.bad("force-share=on can only be used with read-only images", "-blockdev",
                     f"driver=file,node-name=f,filename={img},force-share=on")
            self.bad("not a qcow2 image", "-blockdev",
                     f'{{"driver":"file","node-name":"f","filename":"{img}","cache":{{"direct":false}}}}',
                     "-blockdev", '{"driver":"qcow2","node-name":"q","file":"f","backing":null}')
            self.bad("must start with \"opt/\"", "-fw_cfg", "name=etc/x,string=1")

    def test_backing_files(self):
        """Issue 13 item 10: a FIFO backing file fails fast; implicit-backing=off refuses a
        header naming a host file; backing= by node name needs -blockdev."""
        img_tool = os.path.join(BUILD, "tools", "vireo-img")
        with tempfile.TemporaryDirectory() as d:
            fifo, secret = os.path.join(d, "fifo"), os.path.join(d, "shadow")
            os.mkfifo(fifo)
            with open(secret, "w") as f:
                f.write("root:$6$secret:19000:0:99999:7:::\n")
            os.chmod(secret, 0o600)
            imgs = {}
            for name, backing in (("f", fifo), ("s", secret)):
                imgs[name] = os.path.join(d, name + ".qcow2")
                subprocess.run([img_tool, "create", "-q", "-f", "qcow2", "-u", "-b", backing,
                                "-F", "raw", imgs[name], "1M"], check=True)
            self.bad(f"Could not open '{fifo}': not a regular file or block device (a FIFO)",
                     "-drive", f"file={imgs['f']},if=virtio")
            self.bad(f"names the backing file '{secret}', and implicit-backing=off refuses",
                     "-drive", f"file={imgs['s']},if=virtio,implicit-backing=off")
            self.bad(f"a backing node by name needs -blockdev", "-drive",
                     f"file={imgs['s']},if=virtio,backing=base0")
            self.bad("Invalid parameter 'backing.file.bogus'", "-drive",
                     f"file={imgs['s']},if=virtio,backing.file.bogus=1")
            self.bad("implicit-backing' expects 'on' or 'off'", "-drive",
                     f"file={imgs['s']},if=virtio,implicit-backing=maybe")

    def test_bad_chardev(self):
        self.bad("nosuchbackend", "-chardev", "nosuchbackend,id=x")


def qmp_vm(d, name, *args):
    """Starts vireo with QMP on a unix socket in @d; returns (process, command fn)."""
    import json, socket, time
    sock = os.path.join(d, name + ".sock")
    p = subprocess.Popen([VIREO, "-display", "none", "-qmp", f"unix:{sock},server=on,wait=off",
                          *args], stdin=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    while not os.path.exists(sock):
        if p.poll() is not None:
            raise AssertionError(f"{name}: vireo exited: {p.stderr.read()}")
        time.sleep(0.05)
    s = socket.socket(socket.AF_UNIX)
    s.connect(sock)
    f = s.makefile("rw")
    f.readline()

    def cmd(c, **a):
        f.write(json.dumps({"execute": c, "arguments": a}) + "\n")
        f.flush()
        while True:
            r = json.loads(f.readline())
            if "event" not in r:
                return r
    cmd("qmp_capabilities")
    return p, cmd


def kvm_usable():
    try:
        os.close(os.open("/dev/kvm", os.O_RDWR | os.O_CLOEXEC))
        return True
    except OSError:
        return False


@unittest.skipUnless(kvm_usable(), "needs a usable /dev/kvm: the pc board's -device "
                     "options are realized after KVM is set up")
class BootIndex(unittest.TestCase):
    """A bootindex= that another device holds is refused as QEMU 7.2 refuses it (the same
    text), whichever kinds of device (NICs, disks on -drive if=none) hold it, and index 0
    is -kernel's (QEMU's linuxboot ROM)."""

    def refused(self, index, culprit, *args):
        rc, _, err = run("-nodefaults", "-display", "none", "-S", *args)
        lines = [l for l in err.splitlines() if l.strip() and "warning:" not in l]
        self.assertEqual(rc, 1, err)
        self.assertEqual(lines, [f"vireo: -device {culprit}: The bootindex {index} has "
                                 "already been used"])

    def test_two_nics(self):
        self.refused(1, "virtio-net-pci,bootindex=1,romfile=",
                     "-device", "e1000,bootindex=1,romfile=",
                     "-device", "virtio-net-pci,bootindex=1,romfile=")
        self.refused(3, '{"driver":"e1000","bootindex":3,"romfile":""}',
                     "-device", '{"driver":"e1000","bootindex":3,"romfile":"","addr":"5"}',
                     "-device", '{"driver":"e1000","bootindex":3,"romfile":""}')

    def test_disk_and_nic(self):
        with tempfile.TemporaryDirectory() as d:
            img = os.path.join(d, "d.raw")
            with open(img, "wb") as f:
                f.truncate(1 << 20)
            self.refused(2, "e1000,netdev=n0,bootindex=2,romfile=",
                         "-drive", f"file={img},format=raw,if=none,id=d0",
                         "-device", "ide-hd,drive=d0,bootindex=2",
                         "-netdev", "user,id=n0",
                         "-device", "e1000,netdev=n0,bootindex=2,romfile=")
            self.refused(0, "virtio-blk-pci,drive=d0,bootindex=0",
                         "-drive", f"file={img},format=raw,if=none,id=d0",
                         "-device", "e1000,bootindex=0,romfile=",
                         "-device", "virtio-blk-pci,drive=d0,bootindex=0")

    def test_kernel_holds_zero(self):
        kernel = os.path.join(BUILD, "firmware", "default-guest.elf")
        if not os.path.exists(kernel):
            self.skipTest(f"{kernel} not built")
        self.refused(0, "e1000,bootindex=0,romfile=", "-kernel", kernel,
                     "-device", "e1000,bootindex=0,romfile=")


class MemoryBackendMigration(unittest.TestCase):
    """-object memory-backend-* RAM through migration's file: layout (the none machine
    under -accel qtest needs no KVM): a shared file backend's contents arrive in the
    destination's backend; the RAM block is named after the backend; a read-only
    backend refuses the stream."""
    SIZE = 16 << 20

    def backend(self, path, extra=""):
        return ["-M", "none", "-accel", "qtest", "-m", "16M", "-object",
                f"memory-backend-file,id=mem0,size=16M,mem-path={path},share=on{extra}",
                "-machine", "memory-backend=mem0"]

    def test_file_backend_round_trip(self):
        import time
        with tempfile.TemporaryDirectory() as d:
            src, dst, stream = (os.path.join(d, n) for n in ("ramA", "ramB", "stream"))
            data = bytearray(self.SIZE)
            for off in range(0, self.SIZE, 4096 * 7):     # some pages data, most zero
                data[off:off + 16] = b"page%08x...." % off
            with open(src, "wb") as f:
                f.write(data)
            with open(dst, "wb") as f:
                f.write(b"\xff" * self.SIZE)               # zero pages must be written too
            a, ca = qmp_vm(d, "a", *self.backend(src))
            try:
                self.assertEqual(ca("migrate", uri=f"file:{stream}"), {"return": {}})
                for _ in range(600):
                    st = ca("query-migrate")["return"].get("status")
                    if st in ("completed", "failed"):
                        break
                    time.sleep(0.05)
                self.assertEqual(st, "completed")
            finally:
                a.terminate()
                a.wait()
            # The block is 'mem0': a machine with only its own RAM ('ram') lacks it.
            rc, _, err = run("-M", "none", "-accel", "qtest", "-display", "none", "-m", "16M",
                             "-incoming", f"file:{stream}")
            self.assertEqual(rc, 1)
            self.assertIn("the stream has RAM block 'mem0', which this machine lacks", err)
            rc, _, err = run("-display", "none", "-incoming", f"file:{stream}",
                             *self.backend(src, ",readonly=on"))
            self.assertEqual(rc, 1)
            self.assertIn("RAM block 'mem0' is a read-only memory backend here", err)
            b, cb = qmp_vm(d, "b", "-incoming", "defer", *self.backend(dst))
            try:
                self.assertEqual(cb("migrate-incoming", uri=f"file:{stream}"), {"return": {}})
                for _ in range(600):
                    if cb("query-status")["return"]["status"] != "inmigrate":
                        break
                    time.sleep(0.05)
                self.assertEqual(cb("query-status")["return"]["status"], "running")
            finally:
                b.terminate()
                b.wait()
            with open(dst, "rb") as f:
                self.assertTrue(f.read() == data, "destination RAM differs from the source's")


if __name__ == "__main__":
    if not os.path.exists(VIREO):
        print(f"vireo binary not found at {VIREO}", file=sys.stderr)
        sys.exit(1)
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    import taptest
    sys.exit(taptest.main())
