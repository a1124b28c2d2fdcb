#!/usr/bin/env python3
"""QMP blockdev-add / blockdev-del, Vireo against QEMU 7.2 (issue 10 item 6): the same
sequence to both on the `none` machine (Vireo: -accel qtest, no KVM needed; QEMU:
-accel tcg), each reply of Vireo compared with QEMU's: the same success or error class,
and the same error text except where listed in TEXT_DIFFERS. Between the steps the
image's lock is probed from outside with qemu-io in write mode (and qemu-img info):
held while a format node is open, released after blockdev-del.

The sequence is libvirt's hot-plug without the device (the none machine has no PCI bus;
tests/unit/test-blockdev.c runs device_add/device_del drive=NODE in between): a file
node, a qcow2 node on it, the errors (no node-name for a root, a file that does not
exist, an unknown driver, a duplicate node-name, an unknown file node, a second format
node on a used file node, an image of another format, unexpected members), the
queries, blockdev-del of an unknown node, of a node used as another's file, of an
inline child and of a -drive's nodes (not owned by the monitor), then the format node
and the file node, and the same names added again.

Prints TAP; exit 0 when all passed. Skips (TAP plan 0) without qemu-system-x86_64 or
qemu-io.
"""
import os
import re
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from qmptest import QEMU, Vm, Tap, none_machine  # noqa: E402

# Steps whose error text is Vireo's own (the class is still compared): why.
TEXT_DIFFERS = {
    'qcow2 over a raw image': "Vireo's qcow2 driver names the image and the bad magic",
}


tap = Tap('blockdev: ')


def lock_state(img):
    """(qemu-io can write, qemu-img info can read) from another process."""
    w = subprocess.run(['qemu-io', '-c', 'write 0 512', img], capture_output=True, text=True)
    r = subprocess.run(['qemu-img', 'info', img], capture_output=True, text=True)
    return w.returncode == 0, r.returncode == 0


def sequence(vm, work, is_vireo):
    """Runs the steps; returns [(name, reply or lock state)]."""
    img = os.path.join(work, 'a.qcow2')
    raw = os.path.join(work, 'r.raw')
    out = []

    def step(name, cmd, args=None):
        out.append((name, vm.cmd(cmd, args)))
        return out[-1][1]

    def lock(name):
        out.append(('lock: ' + name, lock_state(img)))

    f1 = {'driver': 'file', 'node-name': 'f1', 'filename': img}
    q1 = {'driver': 'qcow2', 'node-name': 'q1', 'file': 'f1'}
    step('root without node-name', 'blockdev-add', {'driver': 'file', 'filename': img})
    step('file that does not exist', 'blockdev-add',
         dict(f1, filename=os.path.join(work, 'none')))
    step('unknown driver', 'blockdev-add', dict(f1, driver='bogus'))
    step('unexpected member', 'blockdev-add', dict(f1, bogus=1))
    step('wrong member type', 'blockdev-add', dict(f1, **{'read-only': 'yes'}))
    step('driver missing', 'blockdev-add', {'node-name': 'x'})
    step('file node', 'blockdev-add', f1)
    step('duplicate node-name', 'blockdev-add', f1)
    step('format node on an unknown node', 'blockdev-add', dict(q1, file='nonode'))
    step('format root without node-name', 'blockdev-add', {'driver': 'qcow2', 'file': 'f1'})
    step('format node named as the file node', 'blockdev-add', dict(q1, **{'node-name': 'f1'}))
    step('qcow2 node', 'blockdev-add', q1)
    lock('qcow2 node open')
    step('second format node on a used file node', 'blockdev-add', dict(q1, **{'node-name': 'q2'}))
    nodes = step('query-named-block-nodes', 'query-named-block-nodes')
    step('query-block (no device: no block backend)', 'query-block')
    step('del unknown node', 'blockdev-del', {'node-name': 'nope'})
    step('del a node used as file', 'blockdev-del', {'node-name': 'f1'})
    step('del without node-name', 'blockdev-del', {})
    step('qcow2 over a raw image', 'blockdev-add',
         {'driver': 'qcow2', 'node-name': 'q3', 'file': {'driver': 'file', 'filename': raw}})
    step('raw node, inline file node', 'blockdev-add',
         {'driver': 'raw', 'node-name': 'r3', 'file': {'driver': 'file', 'filename': raw}})
    inline = [n['node-name'] for n in vm.cmd('query-named-block-nodes')['return']
              if n['node-name'].startswith('#') and n['file'] == raw]
    out.append(('inline child listed', len(inline)))
    if inline:
        step('del an inline child', 'blockdev-del', {'node-name': inline[0]})
    step('del the raw node', 'blockdev-del', {'node-name': 'r3'})
    drive_nodes = [n['node-name'] for n in vm.cmd('query-named-block-nodes')['return']
                   if n['node-name'].startswith('#')]
    out.append(('-drive nodes listed', len(drive_nodes)))
    if len(drive_nodes) == 2:
        step("del a -drive's format node", 'blockdev-del', {'node-name': drive_nodes[0]})
        step("del a -drive's file node", 'blockdev-del', {'node-name': drive_nodes[1]})
    step('node-name of a -drive id', 'blockdev-add', dict(f1, **{'node-name': 'dr0'}))
    step('del the qcow2 node', 'blockdev-del', {'node-name': 'q1'})
    step('del it again', 'blockdev-del', {'node-name': 'q1'})
    step('del the file node', 'blockdev-del', {'node-name': 'f1'})
    lock('all deleted')
    step('nodes left (the -drive only)', 'query-named-block-nodes')
    step('file node again', 'blockdev-add', f1)
    step('qcow2 node again', 'blockdev-add', q1)
    lock('added again')
    step('del the qcow2 node again', 'blockdev-del', {'node-name': 'q1'})
    step('del the file node again', 'blockdev-del', {'node-name': 'f1'})
    lock('deleted again')
    return out, nodes


def shape(reply):
    """What is compared: ('return', value without volatile numbers) or ('error', class,
    desc)."""
    if isinstance(reply, dict) and 'error' in reply:     # generated names are random in QEMU
        return ('error', reply['error']['class'],
                re.sub(r'#block[0-9]+', '#blockN', reply['error']['desc']))
    if isinstance(reply, dict) and 'return' in reply:
        r = reply['return']
        if isinstance(r, list):     # node lists: names, drivers, files, ro
            return ('return', sorted((n.get('node-name'), n.get('drv'), n.get('file'),
                                      n.get('ro')) for n in r
                                     if not n.get('node-name', '').startswith('#')))
        return ('return', r)
    return ('value', reply)


def run(vmm, work):
    for f in ('a.qcow2', 'r.raw', 'd.raw'):
        p = os.path.join(work, f)
        if os.path.exists(p):
            os.unlink(p)
    subprocess.run(['qemu-img', 'create', '-q', '-f', 'qcow2', os.path.join(work, 'a.qcow2'),
                    '16M'], check=True)
    subprocess.run(['qemu-img', 'create', '-q', '-f', 'raw', os.path.join(work, 'r.raw'), '1M'],
                   check=True)
    subprocess.run(['qemu-img', 'create', '-q', '-f', 'raw', os.path.join(work, 'd.raw'), '1M'],
                   check=True)
    drive = 'file=%s,if=none,id=dr0,format=raw' % os.path.join(work, 'd.raw')
    vm = Vm(none_machine(vmm) + ['-drive', drive], os.path.join(work, vmm + '.sock'))
    try:
        return sequence(vm, work, vmm == 'vireo')
    finally:
        vm.close()


def main():
    for tool in (QEMU, 'qemu-io', 'qemu-img'):
        if not shutil.which(tool):
            print('1..0 # SKIP no %s' % tool)
            return 0
    work = tempfile.mkdtemp(prefix='blockdev-test-')
    try:
        ref, ref_nodes = run('qemu', work)
        got, got_nodes = run('vireo', work)
    except (RuntimeError, OSError, ValueError) as e:
        tap(False, 'start', e)
        tap.plan()
        return 1
    finally:
        shutil.rmtree(work, ignore_errors=True)
    tap(len(ref) == len(got), 'same number of steps', '%d vs %d' % (len(got), len(ref)))
    for (name, r), (gname, g) in zip(ref, got):
        if name.startswith('lock: '):
            tap(g == r, name, 'vireo (write, read) %r, QEMU %r' % (g, r))
            continue
        rs, gs = shape(r), shape(g)
        if rs[0] == 'error' and gs[0] == 'error' and name in TEXT_DIFFERS:
            tap(gs[1] == rs[1], '%s (class; text differs: %s)' % (name, TEXT_DIFFERS[name]),
                'vireo %r\nQEMU  %r' % (g, r))
            continue
        tap(gs == rs, name, 'vireo %r\nQEMU  %r' % (g, r))
    # the members query-named-block-nodes shows, for the members Vireo has
    rn = {n['node-name']: n for n in ref_nodes.get('return', [])}
    gn = {n['node-name']: n for n in got_nodes.get('return', [])}
    for name in ('q1', 'f1'):
        missing = sorted(set(rn.get(name, {})) - set(gn.get(name, {})))
        diff = {k: (gn[name][k], rn[name][k]) for k in ('drv', 'file', 'ro', 'detect_zeroes',
                                                        'backing_file_depth', 'encrypted')
                if name in gn and name in rn and gn[name].get(k) != rn[name].get(k)}
        img = {k: (gn[name]['image'].get(k), rn[name]['image'].get(k))
               for k in ('filename', 'format', 'virtual-size')
               if name in gn and name in rn and
               gn[name]['image'].get(k) != rn[name]['image'].get(k)}
        tap(name in gn and not diff and not img and not missing,
            'query-named-block-nodes %s: members and values as QEMU' % name,
            'missing %r, differing %r %r' % (missing, diff, img))
    tap.plan()
    return 1 if tap.fails else 0


if __name__ == '__main__':
    sys.exit(main())
