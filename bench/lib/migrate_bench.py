#!/usr/bin/env python3
"""Live migration and restore benchmark, Vireo vs Debian's QEMU 7.2 (bench/migrate.sh runs
this inside the nested-KVM sandbox). Not a test: it reports numbers, checks no targets.

Guest: Debian's kernel + a busybox initramfs running /bin/migload (tests/sandbox/guest/
migload.c) on a virtio-blk disk, started and driven through tests/sandbox/lib/migtest.py's
VM and Harness classes (serial console and QMP on unix sockets). migload prints
"TICK n guest_mono_ms sum" every 200 ms of guest time and dirties vtest.dirty MiB at
vtest.rate MiB/s between ticks.

Legs (--only):
  idle     guest with nothing dirtied (rate 0): migrate single stream, then the
           destination migrates on with multifd (2 channels)
  dirty    guest dirtying DIRTY_MB MiB round robin at 50 MiB/s: single, then multifd
  restore  boot to the workload (timed: process start to VTEST-INIT), stop, save to a
           file, quit; a new process restores it (timed: process start to QMP status
           running, and to the first TICK line); cold (page cache dropped) then warm
Both VMMs get max-bandwidth 512 MiB/s and downtime-limit 300 ms on both sides;
destinations start with -incoming defer, get the same capabilities and parameters, then
migrate-incoming on a unix socket.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                '..', '..', 'tests', 'sandbox', 'lib'))
import migtest  # noqa: E402  (VM, Harness, TICK)

MAX_BW = 512 << 20
DOWNTIME_MS = 300
CHANNELS = 2
RATE = 50
VMMS = ('vireo', 'qemu')


def log(*a):
    print('#', *a, file=sys.stderr, flush=True)


class Fail(Exception):
    pass


def harness(a, vmm, tag, dirty, rate):
    work = os.path.join(a.work, tag)
    os.makedirs(work, exist_ok=True)
    logdir = os.path.join(a.logdir, tag)
    os.makedirs(logdir, exist_ok=True)
    ns = argparse.Namespace(vireo=a.vireo, kernel=a.kernel, initrd=a.initrd, work=work,
                            logdir=logdir, vmm=vmm, mem=a.guest_mb, dirty=dirty, rate=rate,
                            tap_script=None, peer=None, guest_ip=None)   # no NIC
    h = migtest.Harness(ns)
    subprocess.run(['qemu-img', 'create', '-q', '-f', 'qcow2', h.disk, '64M'], check=True)
    return h


def vmm_binary(a, vmm):
    return a.vireo if vmm == 'vireo' else 'qemu-system-x86_64'


def settings(vm, multifd):
    """The same capabilities and parameters on either side."""
    caps = [{'capability': 'events', 'state': True},
            {'capability': 'multifd', 'state': bool(multifd)}]
    r = vm.cmd('migrate-set-capabilities', capabilities=caps)
    if 'error' in r:
        raise Fail('%s: migrate-set-capabilities: %s' % (vm.name, r['error']['desc']))
    p = {'max-bandwidth': MAX_BW, 'downtime-limit': DOWNTIME_MS}
    if multifd:
        p['multifd-channels'] = CHANNELS
    r = vm.cmd('migrate-set-parameters', **p)
    if 'error' in r:
        raise Fail('%s: migrate-set-parameters: %s' % (vm.name, r['error']['desc']))
    return p


def boot_workload(h, timeout=400):
    t0 = time.monotonic()
    v = h.vm()
    line = v.wait_line('MIGLOAD-START', timeout)
    if line is None:
        raise Fail('%s: the guest did not start its workload within %d s: %s'
                   % (v.name, timeout, v.stderr()[-500:]))
    if not v.wait_ticks(3, 120):
        raise Fail('%s: no ticks after MIGLOAD-START' % v.name)
    log('%s: booted to the workload in %.1f s' % (v.name, time.monotonic() - t0))
    return v


def stall_ms(src, dst, t_end):
    """The time the guest did not run, seen from outside: kvmclock stands still while
    the VM is stopped (both VMMs), so the offset host arrival time - guest clock of the
    TICK lines grows by the pause. Each line's offset is the true one plus its delivery
    delay through the VMM and the serial socket (>= 0, and large when a busy main loop
    holds the output back), so the offset is the minimum over the source's lines of
    its last 10 s and the destination's first 5. The tail of a line cut by the
    switch-over does not match TICK and is skipped."""
    a = [t for t in src.ticks() if t[3] > t_end - 10]
    b = dst.ticks()[:5]
    if not a or not b:
        return None
    off = lambda ticks: min(t[3] * 1000 - t[1] for t in ticks)
    return off(b) - off(a)


def final_info(vm, info):
    """query-migrate once the numbers are in: QEMU 7.2 reports status completed a moment
    before it fills total-time and downtime (both read 0 until then)."""
    for _ in range(50):
        if info.get('total-time'):
            return info
        time.sleep(0.1)
        info = vm.cmd('query-migrate')['return']
    return info


def live_leg(h, src, label, multifd, sock):
    dst = h.vm(['-incoming', 'defer'])
    settings(dst, multifd)
    uri = 'unix:' + os.path.join(h.work, sock)
    r = dst.cmd('migrate-incoming', uri=uri)
    if 'error' in r:
        dst.kill()
        raise Fail('%s: migrate-incoming: %s' % (label, r['error']['desc']))
    src.wait_ticks(2, 60)
    params = settings(src, multifd)
    t0 = time.monotonic()
    ok, why, info = h.migrate(src, uri, ('multifd',) if multifd else (), params)
    wall = time.monotonic() - t0
    if not ok:
        try:
            src.cmd('migrate_cancel')
        except (RuntimeError, OSError):
            pass
        dst.kill()
        raise Fail('%s: migration did not complete: %s | destination: %s'
                   % (label, why, dst.stderr()[-300:]))
    info = final_info(src, info)
    if not dst.wait_ticks(5, 120):
        raise Fail('%s: the guest does not run on the destination: %s' % (label, dst.stderr()))
    res = {
        'total-time': info.get('total-time'),
        'downtime': info.get('downtime'),
        'setup-time': info.get('setup-time'),
        'stall': stall_ms(src, dst, time.monotonic()),
        'mib': info.get('ram', {}).get('transferred', 0) / (1 << 20),
        'passes': info.get('ram', {}).get('dirty-sync-count'),
    }
    log('%s: %s (QMP poll saw it done after %.1f s)'
        % (label, ', '.join('%s %s' % (k, round(v, 1) if isinstance(v, float) else v)
                            for k, v in res.items()), wall))
    src.quit()
    return dst, res


def chain(a, vmm, run, kind, out):
    """One guest: a single-stream leg, then its destination migrates on with multifd."""
    dirty = 0 if kind == 'idle' else a.dirty_mb
    rate = 0 if kind == 'idle' else RATE
    h = harness(a, vmm, 'run%d-%s-%s' % (run, vmm, kind), dirty, rate)
    try:
        v = boot_workload(h)
        if kind == 'dirty':
            v.wait_ticks(5, 60)          # a few seconds of steady dirtying first
        for multifd in (False, True):
            leg = '%s-%s' % (kind, 'multifd' if multifd else 'single')
            v, res = live_leg(h, v, '%s %s run %d' % (vmm, leg, run), multifd,
                              'm-%s.sock' % leg)
            out.append({'run': run, 'vmm': vmm, 'leg': leg, **res})
        v.quit()
    finally:
        for vm in h.vms:
            vm.kill()


def drop_caches(a, vmm):
    subprocess.run(['sync'])
    with open('/proc/sys/vm/drop_caches', 'w') as f:
        f.write('3\n')
    subprocess.run([vmm_binary(a, vmm), '-version'], stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL)


def line_time(v, prefix, timeout):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        with v.lock:
            for t, l in v.lines:
                if l.startswith(prefix):
                    return t
        if v.proc.poll() is not None:
            return None
        time.sleep(0.005)
    return None


def timed_boot(h):
    """Process start to VTEST-INIT (init's first line) and to MIGLOAD-START."""
    t0 = time.monotonic()
    v = h.vm()
    t_qmp = time.monotonic()
    ti = line_time(v, 'VTEST-INIT', 400)
    tw = line_time(v, 'MIGLOAD-START', 400)
    if ti is None or tw is None:
        raise Fail('%s: boot did not reach %s: %s' % (v.name, 'init' if ti is None else
                                                     'the workload', v.stderr()[-500:]))
    return v, (t_qmp - t0) * 1000, (ti - t0) * 1000, (tw - t0) * 1000


def timed_restore(h, vmm, path):
    """Process start to QMP ready (for the breakdown), to QMP status running, and to the
    first TICK the guest prints.
    QEMU 7.2 brings a VM saved while stopped back paused (the saved run state): it gets
    'cont' as soon as query-status says paused; Vireo starts it itself."""
    inc = 'file:' + path if vmm == 'vireo' else 'exec:cat ' + path
    t0 = time.monotonic()
    v = h.vm(['-incoming', inc])
    t_qmp = time.monotonic()                  # QMP answered qmp_capabilities
    t_run = None
    end = t0 + 300
    while time.monotonic() < end:
        st = v.status()
        if st == 'running':
            t_run = time.monotonic()
            break
        if st == 'paused':
            log('%s: paused after the load (the saved run state): cont' % v.name)
            r = v.cmd('cont')
            if 'error' in r:
                raise Fail('%s: cont: %s' % (v.name, r['error']['desc']))
            continue
        if v.proc.poll() is not None:
            break
        time.sleep(0.01)
    if t_run is None:
        raise Fail('%s: the restored VM never ran: %s' % (v.name, v.stderr()[-500:]))
    end = time.monotonic() + 60
    while time.monotonic() < end and not v.ticks():
        time.sleep(0.005)
    t = v.ticks()
    if not t:
        raise Fail('%s: no TICK after the restore: %s' % (v.name, v.stderr()[-500:]))
    return v, (t_qmp - t0) * 1000, (t_run - t0) * 1000, (t[0][3] - t0) * 1000


def warmup(a, vmm):
    """One untimed boot to init, as the live legs would have done: Vireo's kernel cache
    (docs/kernel-cache.md) is filled for the timed boots, like in the other orders."""
    h = harness(a, vmm, 'warmup-%s' % vmm, 0, 0)
    try:
        v, _, ti, _ = timed_boot(h)
        log('%s warm-up boot: %.0f ms to init' % (vmm, ti))
        v.quit()
    finally:
        for vm in h.vms:
            vm.kill()


def restore(a, vmm, run, out):
    h = harness(a, vmm, 'run%d-%s-restore' % (run, vmm), 0, 0)
    path = os.path.join(a.scratch, 'state-%s' % vmm)
    res = {'run': run, 'vmm': vmm, 'leg': 'restore'}
    try:
        drop_caches(a, vmm)
        v, res['cold-boot-qmp'], res['cold-boot-init'], res['cold-boot-workload'] = \
            timed_boot(h)
        v.wait_ticks(3, 60)
        v.wait_ticks(1, 10)              # stop right after a tick: the restored guest's
        r = v.cmd('stop')                # first TICK then comes ~one tick interval in
        if 'error' in r:
            raise Fail('stop: %s' % r['error']['desc'])
        params = {'max-bandwidth': MAX_BW, 'downtime-limit': DOWNTIME_MS}
        uri = 'file:' + path if vmm == 'vireo' else 'exec:cat > ' + path
        ok, why, info = h.migrate(v, uri, (), params)
        if not ok:
            raise Fail('%s: saving to %s failed: %s' % (vmm, uri, why))
        info = final_info(v, info)
        res['save-time'] = info.get('total-time')
        v.quit()
        subprocess.run(['sync'])
        st = os.stat(path)
        res['file-mib'] = st.st_size / (1 << 20)
        res['file-alloc-mib'] = st.st_blocks * 512 / (1 << 20)
        for temp in ('cold', 'warm'):
            if temp == 'cold':
                drop_caches(a, vmm)
            else:                         # warm: the boot right after the cold restore
                v, res['warm-boot-qmp'], res['warm-boot-init'], \
                    res['warm-boot-workload'] = timed_boot(h)
                v.quit()
            v, res[temp + '-restore-qmp'], res[temp + '-restore-running'], \
                res[temp + '-restore-tick'] = timed_restore(h, vmm, path)
            v.quit()
        log('%s restore run %d: %s' % (vmm, run, ', '.join(
            '%s %.0f' % (k, x) for k, x in res.items() if isinstance(x, float))))
        out.append(res)
    finally:
        for vm in h.vms:
            vm.kill()
        if os.path.exists(path):
            os.unlink(path)


def med(rows, vmm, leg, key):
    v = [r[key] for r in rows if r['vmm'] == vmm and r['leg'] == leg and
         r.get(key) is not None]
    return statistics.median(v) if v else None


def fmt(x, nd=0):
    return '-' if x is None else ('%.*f' % (nd, x))


def ratio(v, q):
    return '%.2fx' % (v / q) if v is not None and q is not None and v > 0 and q > 0 else '-'


def report(rows, a, failures):
    runs = a.runs
    print()
    print('Live migration: medians of %d run(s), guest %d MiB, max-bandwidth 512 MiB/s, '
          'downtime-limit %d ms, multifd %d channels, unix socket; dirty = %d MiB region '
          'at %d MiB/s. Lower is better: vireo/qemu < 1 means Vireo better.'
          % (runs, a.guest_mb, DOWNTIME_MS, CHANNELS, a.dirty_mb, RATE))
    print()
    print('| leg | metric | vireo | qemu | vireo/qemu | target |')
    print('|---|---|---|---|---|---|')
    metrics = (('total-time', 'total-time (ms)', '<= 1.0x'),
               ('downtime', 'downtime (ms, query-migrate)', '<= 0.5x'),
               ('setup-time', 'setup-time (ms)', ''),
               ('stall', 'guest pause seen on the serial (ms, noisy)', ''),
               ('mib', 'transferred (MiB)', ''),
               ('passes', 'dirty-sync-count', ''))
    for leg in ('idle-single', 'idle-multifd', 'dirty-single', 'dirty-multifd'):
        if not any(r['leg'] == leg for r in rows):
            continue
        for key, name, target in metrics:
            v, q = med(rows, 'vireo', leg, key), med(rows, 'qemu', leg, key)
            print('| %s | %s | %s | %s | %s | %s |' % (leg, name, fmt(v), fmt(q),
                                                      ratio(v, q), target))
    if any(r['leg'] == 'restore' for r in rows):
        print()
        print('Restore from file vs boot (ms from process start, medians of %d run(s); '
              'cold = page cache dropped, then `VMM -version` once; warm = right after). '
              'Vireo: migrate file: / -incoming file:; QEMU 7.2: exec:cat.' % runs)
        print()
        print('| metric | vireo | qemu | vireo/qemu |')
        print('|---|---|---|---|')
        names = (('cold-boot-qmp', 'cold boot: QMP ready (process start-up)'),
                 ('cold-boot-init', 'cold boot to init (VTEST-INIT)'),
                 ('cold-boot-workload', 'cold boot to the workload (MIGLOAD-START)'),
                 ('cold-restore-qmp', 'cold restore: QMP ready (process start-up)'),
                 ('cold-restore-running', 'cold restore to QMP running'),
                 ('cold-restore-tick', 'cold restore to the first TICK'),
                 ('warm-boot-qmp', 'warm boot: QMP ready (process start-up)'),
                 ('warm-boot-init', 'warm boot to init'),
                 ('warm-restore-qmp', 'warm restore: QMP ready (process start-up)'),
                 ('warm-restore-running', 'warm restore to QMP running'),
                 ('warm-restore-tick', 'warm restore to the first TICK'),
                 ('save-time', 'save (stopped VM) total-time'),
                 ('file-mib', 'state file size (MiB)'),
                 ('file-alloc-mib', 'state file allocated (MiB)'))
        for key, name in names:
            v, q = med(rows, 'vireo', 'restore', key), med(rows, 'qemu', 'restore', key)
            print('| %s | %s | %s | %s |' % (name, fmt(v), fmt(q), ratio(v, q)))
        print()
        print('| restore / boot-to-init (target <= 0.2x) | vireo | qemu |')
        print('|---|---|---|')
        for temp in ('cold', 'warm'):
            for what in ('running', 'tick'):
                cells = []
                for vmm in VMMS:
                    r = med(rows, vmm, 'restore', '%s-restore-%s' % (temp, what))
                    b = med(rows, vmm, 'restore', '%s-boot-init' % temp)
                    cells.append(ratio(r, b))
                print('| %s restore to %s / %s boot to init | %s | %s |'
                      % (temp, 'QMP running' if what == 'running' else 'first TICK', temp,
                         *cells))
    if failures:
        print()
        print('FAILED (%d):' % len(failures))
        for f in failures:
            print('  ' + f)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--vireo', required=True)
    ap.add_argument('--kernel', required=True)
    ap.add_argument('--initrd', required=True)
    ap.add_argument('--work', required=True)
    ap.add_argument('--logdir', required=True)
    ap.add_argument('--scratch', required=True, help='state files (a real disk: the '
                    'cold restore reads it after drop_caches)')
    ap.add_argument('--guest-mb', type=int, default=1024)
    ap.add_argument('--runs', type=int, default=1)
    ap.add_argument('--only', default='idle,dirty,restore')
    ap.add_argument('--rows', help='also write the raw rows (JSON lines) here')
    a = ap.parse_args()
    a.dirty_mb = min(256, a.guest_mb // 4)
    only = [x.strip() for x in a.only.split(',') if x.strip()]
    bad = [x for x in only if x not in ('idle', 'dirty', 'restore')]
    if bad:
        print('unknown leg(s) in ONLY: %s (idle, dirty, restore)' % ','.join(bad))
        return 2
    migtest.MIG_TIMEOUT = 400
    only = [x for x in ('idle', 'dirty', 'restore') if x in only]
    rows, failures = [], []
    for run in range(1, a.runs + 1):
        for kind in only:
            for vmm in VMMS:
                log('run %d: %s %s' % (run, vmm, kind))
                try:
                    if kind == 'restore' and only == ['restore'] and run == 1:
                        warmup(a, vmm)
                    if kind == 'restore':
                        restore(a, vmm, run, rows)
                    else:
                        chain(a, vmm, run, kind, rows)
                except (Fail, RuntimeError, OSError, subprocess.SubprocessError) as e:
                    msg = '%s %s run %d: %s' % (vmm, kind, run, e)
                    log('FAILED: ' + msg)
                    failures.append(msg)
    if a.rows:
        with open(a.rows, 'w') as f:
            for r in rows:
                f.write(json.dumps(r) + '\n')
    report(rows, a, failures)
    return 1 if failures else 0


if __name__ == '__main__':
    sys.exit(main())
