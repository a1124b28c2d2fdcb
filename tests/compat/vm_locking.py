#!/usr/bin/env python3
"""Image locking of a running VM against QEMU 7.2 and its tools (suite 'compat'; issue
10 item 3).

usage: vm_locking.py [--vmm vireo|qemu]

1. Lock bytes: for each configuration in CASES the VM is started paused (-S) with a
   QMP socket; once QMP answers (every image is open and every device realized) the OFD
   lock bytes held on each image are read from /proc/locks and compared with what QEMU
   7.2 holds for the same command line (EXPECTED, measured from QEMU on Debian 12;
   `--vmm qemu`, suite 'reference', checks the table against QEMU itself).
2. Interop (vireo only): qemu-img info refuses a qcow2 Vireo writes ("Failed to get
   shared "write" lock") and opens a raw one (as with QEMU), -U opens both; a second
   Vireo, QEMU and qemu-io are refused a disk Vireo writes, with an error naming the
   file; Vireo is refused an image QEMU or qemu-io writes; two readers share;
   file.locking=off / locking=off (command line and blockdev-add) take no locks and
   keep nobody out.

Configurations without a device run on the none machine (Vireo: -accel qtest, no KVM
needed); those with a device need the pc board, which Vireo only builds with a usable
/dev/kvm: without one they are TAP skips. Skips everything without qemu-img/qemu-io.
"""
import os
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'qmp'))
from qmptest import QEMU, VIREO, Vm, Tap, Fail  # noqa: E402

# name: (device needed, {image: bytes QEMU 7.2 locks}, options). Images: r.img (raw),
# q.qcow2, ov.qcow2 (qcow2 over base.img, raw, named by its header).
CASES = [
    ('-drive raw, virtio disk', True, {'r.img': '100 101 201'},
     '-drive file=r.img,format=raw,if=virtio'),
    ('-drive qcow2, virtio disk', True, {'q.qcow2': '100 101 103 201 203'},
     '-drive file=q.qcow2,if=virtio'),
    ('-drive raw readonly=on, virtio disk', True, {'r.img': '100 201'},
     '-drive file=r.img,format=raw,if=virtio,readonly=on'),
    ('-drive qcow2 readonly=on, virtio disk', True, {'q.qcow2': '100 201 203'},
     '-drive file=q.qcow2,if=virtio,readonly=on'),
    ('-drive if=none (no device)', False, {'r.img': '100', 'q.qcow2': '100 101 103 201 203'},
     '-drive file=r.img,format=raw,if=none,id=a -drive file=q.qcow2,if=none,id=b'),
    ('-drive if=none readonly=on', False, {'r.img': '100', 'q.qcow2': '100 201 203'},
     '-drive file=r.img,format=raw,if=none,id=a,readonly=on '
     '-drive file=q.qcow2,if=none,id=b,readonly=on'),
    ('-blockdev roots (no device)', False, {'r.img': '', 'q.qcow2': '100 101 103 201 203'},
     '-blockdev driver=file,filename=r.img,node-name=f1 '
     '-blockdev driver=raw,file=f1,node-name=r1 '
     '-blockdev driver=file,filename=q.qcow2,node-name=f2 '
     '-blockdev driver=qcow2,file=f2,node-name=q2'),
    ('-blockdev read-only roots', False, {'r.img': '', 'q.qcow2': '100 201 203'},
     '-blockdev driver=file,filename=r.img,node-name=f1,read-only=on '
     '-blockdev driver=raw,file=f1,node-name=r1,read-only=on '
     '-blockdev driver=file,filename=q.qcow2,node-name=f2,read-only=on '
     '-blockdev driver=qcow2,file=f2,node-name=q2,read-only=on'),
    ('-blockdev with virtio-blk and ide-hd', True,
     {'r.img': '100 101 201', 'q.qcow2': '100 101 103 201 203'},
     '-blockdev driver=file,filename=r.img,node-name=f1 '
     '-blockdev driver=raw,file=f1,node-name=r1 -device virtio-blk-pci,drive=r1 '
     '-blockdev driver=file,filename=q.qcow2,node-name=f2 '
     '-blockdev driver=qcow2,file=f2,node-name=q2 -device ide-hd,drive=q2'),
    ('-blockdev read-only, virtio disk', True, {'r.img': '100 201'},
     '-blockdev driver=file,filename=r.img,node-name=f1,read-only=on '
     '-blockdev driver=raw,file=f1,node-name=r1,read-only=on '
     '-device virtio-blk-pci,drive=r1'),
    ('protocol node as a disk', True, {'r.img': '100 101 201'},
     '-blockdev driver=file,filename=r.img,node-name=f1 -device virtio-blk-pci,drive=f1'),
    ('protocol node as a CD-ROM', True, {'r.img': '100 201 203'},
     '-blockdev driver=file,filename=r.img,node-name=f1 -device ide-cd,drive=f1'),
    ('IDE disk and CD-ROM', True, {'r.img': '100 101 201', 'q.qcow2': '100 201 203'},
     '-drive file=r.img,format=raw,if=ide -drive file=q.qcow2,if=ide,media=cdrom'),
    ('file.locking=off, blockdev locking=off', True, {'r.img': '', 'q.qcow2': ''},
     '-drive file=r.img,format=raw,if=virtio,file.locking=off '
     '-blockdev driver=file,filename=q.qcow2,node-name=f2,locking=off '
     '-blockdev driver=qcow2,file=f2,node-name=q2 -device virtio-blk-pci,drive=q2'),
    ('file.locking=on / auto', False, {'r.img': '100', 'q.qcow2': '100 101 103 201 203'},
     '-drive file=r.img,format=raw,if=none,id=a,file.locking=on '
     '-drive file=q.qcow2,if=none,id=b,file.locking=auto'),
    ('snapshot=on', True, {'r.img': '100 201 203', 'q.qcow2': '100 201 203'},
     '-drive file=r.img,format=raw,if=virtio,snapshot=on '
     '-drive file=q.qcow2,if=virtio,snapshot=on'),
    ('snapshot=on, file.locking=off', True, {'r.img': ''},
     '-drive file=r.img,format=raw,if=virtio,snapshot=on,file.locking=off'),
    ('backing file', True, {'ov.qcow2': '100 101 103 201 203', 'base.img': '100 201 203'},
     '-drive file=ov.qcow2,if=virtio'),
    ('backing file, file.locking=off (the overlay only)', True,
     {'ov.qcow2': '', 'base.img': '100 201 203'},
     '-drive file=ov.qcow2,if=virtio,file.locking=off'),
    ('force-share=on', True, {'r.img': '100', 'q.qcow2': '100'},
     '-drive file=r.img,format=raw,if=virtio,readonly=on,force-share=on '
     '-drive file=q.qcow2,if=virtio,readonly=on,force-share=on'),
    ('force-share=on with a backing file', True, {'ov.qcow2': '100', 'base.img': '100'},
     '-drive file=ov.qcow2,if=virtio,readonly=on,force-share=on'),
]

tap = Tap('locking: ')


def kvm_usable():
    try:
        os.close(os.open('/dev/kvm', os.O_RDWR | os.O_CLOEXEC))
        return True
    except OSError:
        return False


def held(path):
    """The OFD lock bytes any process holds on @path, from /proc/locks, as '100 101'."""
    st = os.stat(path)
    dev = '%02x:%02x:%d' % (os.major(st.st_dev), os.minor(st.st_dev), st.st_ino)
    out = []
    with open('/proc/locks') as f:
        for line in f:
            w = line.split()
            if 'OFDLCK' in w and dev in w:
                i = w.index(dev)
                out += range(int(w[i + 1]), int(w[i + 2]) + 1)
    return ' '.join(str(b) for b in sorted(out))


def argv(vmm, device):
    if vmm == 'qemu':
        return [QEMU, '-accel', 'tcg', '-machine', 'pc' if device else 'none', '-S',
                '-nodefaults', '-display', 'none']
    if device:
        return [VIREO, '-machine', 'pc', '-S', '-nodefaults', '-display', 'none']
    return [VIREO, '-accel', 'qtest', '-machine', 'none', '-S', '-nodefaults', '-display',
            'none']


def make_images(work):
    for f in os.listdir(work):
        if not f.endswith('.sock'):
            os.unlink(os.path.join(work, f))
    img = lambda *a: subprocess.run(['qemu-img', 'create', '-q'] + list(a), cwd=work,
                                    check=True)
    img('-f', 'raw', 'r.img', '1M')
    img('-f', 'qcow2', 'q.qcow2', '1M')
    img('-f', 'raw', 'base.img', '1M')
    img('-f', 'qcow2', '-b', 'base.img', '-F', 'raw', 'ov.qcow2')


class Running:
    """A VM started from @work with @opts (a string, split on spaces) and QMP; closed
    with the context."""

    def __init__(self, work, vmm, device, opts, name='vm'):
        self.work = work
        self.cwd = os.getcwd()
        os.chdir(work)                  # relative image names, as in the table
        try:
            self.vm = Vm(argv(vmm, device) + opts.split(), os.path.join(work, name + '.sock'))
        finally:
            os.chdir(self.cwd)

    def __enter__(self):
        return self.vm

    def __exit__(self, *exc):
        self.vm.close()


def start_fails(work, vmm, device, opts):
    """(exit status, stderr) of a VM that should not start (None: it was still running
    after 20 s, and was killed)."""
    try:
        p = subprocess.run(argv(vmm, device) + opts.split(), cwd=work, capture_output=True,
                           text=True, timeout=20, stdin=subprocess.DEVNULL)
        return p.returncode, p.stderr
    except subprocess.TimeoutExpired as e:
        return None, 'still running after 20 s: %s' % (e.stderr or b'').decode()


def starts(work, vmm, device, opts):
    """(True, '') when a VM with @opts starts (then it is closed), else (False, why)."""
    try:
        with Running(work, vmm, device, opts, name='probe'):
            return True, ''
    except Fail as e:
        return False, str(e)


def tool(work, *args):
    p = subprocess.run(list(args), cwd=work, capture_output=True, text=True, timeout=60)
    return p.returncode, p.stdout + p.stderr


def lock_bytes(work, vmm, pc_ok):
    for name, device, want, opts in CASES:
        if device and not pc_ok:
            tap(True, '%s # SKIP no usable /dev/kvm (the pc board needs KVM)' % name)
            continue
        make_images(work)
        try:
            with Running(work, vmm, device, opts):
                got = {f: held(os.path.join(work, f)) for f in want}
        except (Fail, OSError) as e:
            tap(False, name, e)
            continue
        tap(got == want, '%s: %s' % (name, ' / '.join('%s %s' % (f, b or '-')
                                                       for f, b in want.items())),
            'held %r, QEMU 7.2 holds %r (%s)' % (got, want, opts))
    # After the VM: nothing is left locked.
    tap(all(held(os.path.join(work, f)) == '' for f in ('r.img', 'q.qcow2')),
        'no lock outlives the VM')


def refused(rc_err, needle, path):
    rc, err = rc_err
    return rc not in (0, None) and needle in err and path in err


def interop(work, pc_ok):
    have_qemu = shutil.which(QEMU) is not None
    make_images(work)
    r, q = os.path.join(work, 'r.img'), os.path.join(work, 'q.qcow2')
    # qcow2 written by Vireo (a -drive without device needs no KVM: the metadata locks)
    with Running(work, 'vireo', False, '-drive file=q.qcow2,if=none,id=d'):
        rc, out = tool(work, 'qemu-img', 'info', 'q.qcow2')
        tap(rc == 1 and 'Failed to get shared "write" lock' in out and 'q.qcow2' in out,
            'qemu-img info refuses a qcow2 Vireo writes, as it refuses QEMU\'s', out)
        rc, out = tool(work, 'qemu-img', 'info', '-U', 'q.qcow2')
        tap(rc == 0 and 'file format: qcow2' in out, 'qemu-img info -U opens it', out)
        rc, out = tool(work, 'qemu-io', '-c', 'read 0 512', 'q.qcow2')
        tap(rc != 0 and 'Failed to get "write" lock' in out, 'qemu-io cannot write it', out)
        tap(refused(start_fails(work, 'vireo', False, '-drive file=q.qcow2,if=none,id=d'),
                    'Failed to get "write" lock', 'q.qcow2'),
            'a second Vireo is refused it, the error naming the file')
        if have_qemu:
            tap(refused(start_fails(work, 'qemu', False, '-drive file=q.qcow2,if=none,id=d'),
                        'Failed to get "write" lock', 'q.qcow2'),
                'QEMU is refused it')
        ok, why = starts(work, 'vireo', False, '-drive file=q.qcow2,if=none,id=d,'
                         'file.locking=off')
        tap(ok, 'file.locking=off opens it anyway (nobody kept out)', why)
    # blockdev-add with locking off, over QMP, while QEMU-style holders exist
    with Running(work, 'vireo', False, '-drive file=q.qcow2,if=none,id=d') as vm:
        with Running(work, 'vireo', False, '', name='vm2') as vm2:
            rep = vm2.cmd('blockdev-add', {'driver': 'qcow2', 'node-name': 'n', 'file': {
                'driver': 'file', 'filename': q}})
            tap('error' in rep and 'Failed to get "write" lock' in rep['error']['desc'] and
                q in rep['error']['desc'], 'blockdev-add is refused it (QMP error names it)',
                rep)
            rep = vm2.cmd('blockdev-add', {'driver': 'qcow2', 'node-name': 'n', 'file': {
                'driver': 'file', 'filename': q, 'locking': 'off'}})
            tap(rep == {'return': {}}, 'blockdev-add with locking: off opens it', rep)
            rep = vm2.cmd('blockdev-add', {'driver': 'raw', 'node-name': 'm', 'force-share':
                          True, 'file': {'driver': 'file', 'filename': r}})
            tap('error' in rep and 'force-share=on can only be used with read-only images'
                in rep['error']['desc'], 'force-share needs read-only (QEMU\'s text)', rep)
    # Vireo refused what QEMU / qemu-io write
    if have_qemu:
        with Running(work, 'qemu', False, '-drive file=q.qcow2,if=none,id=d'):
            tap(refused(start_fails(work, 'vireo', False, '-drive file=q.qcow2,if=none,id=d'),
                        'Failed to get "write" lock', 'q.qcow2'),
                'Vireo is refused a qcow2 QEMU writes, the error naming the file')
            rc, out = start_fails(work, 'vireo', False,
                                  '-drive file=q.qcow2,if=none,id=d,readonly=on')
            tap(refused((rc, out), 'Failed to get shared "write" lock', 'q.qcow2'),
                'and a read-only open of it too', out)
    holder = subprocess.Popen(['qemu-io', '-f', 'raw', '-c', 'sleep 60000', r], cwd=work,
                              stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    try:
        for _ in range(100):
            if held(r):
                break
            subprocess.run(['sleep', '0.05'])
        if pc_ok:
            tap(refused(start_fails(work, 'vireo', True, '-drive file=r.img,format=raw,'
                                    'if=virtio'), 'Failed to get shared "write" lock',
                        'r.img'), 'Vireo\'s disk is refused a raw image qemu-io writes')
        else:
            tap(True, 'Vireo\'s disk and a raw image qemu-io writes # SKIP no usable /dev/kvm')
    finally:
        holder.kill()
        holder.wait()
    if not pc_ok:
        for n in ('raw disk: qemu-img info opens it, as with QEMU',
                  'raw disk: a second Vireo is refused it', 'raw disk: QEMU is refused it',
                  'raw readers share', 'raw reader and writer conflict',
                  'raw disk: file.locking=off opens it anyway'):
            tap(True, '%s # SKIP no usable /dev/kvm' % n)
        return
    # A raw disk Vireo writes (needs the pc board)
    with Running(work, 'vireo', True, '-drive file=r.img,format=raw,if=virtio'):
        rc, out = tool(work, 'qemu-img', 'info', 'r.img')
        tap(rc == 0 and 'file format: raw' in out,
            'raw disk: qemu-img info opens it, as with QEMU', out)
        tap(refused(start_fails(work, 'vireo', True, '-drive file=r.img,format=raw,if=virtio'),
                    'Failed to get "write" lock', 'r.img'),
            'raw disk: a second Vireo is refused it')
        if have_qemu:
            tap(refused(start_fails(work, 'qemu', True, '-drive file=r.img,format=raw,'
                                    'if=virtio'), 'Failed to get "write" lock', 'r.img'),
                'raw disk: QEMU is refused it')
        ok, why = starts(work, 'vireo', True, '-drive file=r.img,format=raw,if=virtio,'
                         'file.locking=off')
        tap(ok, 'raw disk: file.locking=off opens it anyway', why)
    ro = '-drive file=r.img,format=raw,if=virtio,readonly=on'
    with Running(work, 'vireo', True, ro):
        if have_qemu:
            with Running(work, 'qemu', True, ro, name='q'):
                with Running(work, 'vireo', True, ro, name='v2'):
                    tap(held(r) == '100 100 100 201 201 201', 'raw readers share (Vireo, '
                        'QEMU, Vireo)', held(r))
        else:
            with Running(work, 'vireo', True, ro, name='v2'):
                tap(held(r) == '100 100 201 201', 'raw readers share', held(r))
        tap(refused(start_fails(work, 'vireo', True, '-drive file=r.img,format=raw,if=virtio'),
                    'Failed to get "write" lock', 'r.img'), 'raw reader and writer conflict')


def main():
    vmm = sys.argv[sys.argv.index('--vmm') + 1] if '--vmm' in sys.argv else 'vireo'
    need = ['qemu-img', 'qemu-io'] + ([QEMU] if vmm == 'qemu' else [])
    for t in need:
        if not shutil.which(t):
            print('1..0 # SKIP no %s' % t)
            return 0
    pc_ok = vmm == 'qemu' or kvm_usable()
    work = tempfile.mkdtemp(prefix='vm-locking-', dir=os.environ.get('VIREO_BUILD_DIR'))
    try:
        lock_bytes(work, vmm, pc_ok)
        if vmm == 'vireo':
            interop(work, pc_ok)
    except (Fail, OSError, subprocess.SubprocessError) as e:
        tap(False, 'harness', e)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    tap.plan()
    return 1 if tap.fails else 0


if __name__ == '__main__':
    sys.exit(main())
