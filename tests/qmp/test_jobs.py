#!/usr/bin/env python3
"""QMP jobs, Vireo against QEMU 7.2: the snapshot jobs (snapshot-save, snapshot-load,
snapshot-delete) and the generic job commands (query-jobs, job-dismiss and the other
verbs, JOB_STATUS_CHANGE), one scenario run on both in the same run, on the none
machine (Vireo: -accel qtest, which needs no KVM; QEMU: -accel tcg) with a qcow2
-blockdev node 'disk0', a raw one 'raw0', a read-only qcow2 one 'ro0' and RAM from a shared memory-backend-file.

For every step the test records what a client sees: the command's reply, the
sequence of JOB_STATUS_CHANGE statuses of the job, and query-jobs once the job has
concluded (its error text included). Vireo's record must equal QEMU's, step by step;
it must also equal the record of QEMU 7.2 kept below (EXPECTED), so the test fails
when the feature breaks even where QEMU is not installed. Beyond the record: a
snapshot-load must give the RAM back as it was at snapshot-save (the backend file is
changed in between), and the images end with the same snapshot tags (qemu-img, or
vireo-img without it). The commands' and the event's query-qmp-schema entries
(types resolved) must be QEMU's too.

TAP on stdout; exit 0 when every check passed, 1 otherwise.
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from qmptest import BUILD, QEMU, Vm, Tap, none_machine  # noqa: E402

IMG = 'qemu-img' if shutil.which('qemu-img') else os.path.join(BUILD, 'tools', 'vireo-img')
RAM = 16 << 20
SAVED, CHANGED = b'saved-by-snapshot-save', b'written-after-the-save'

# (step, what a client saw), as QEMU 7.2 (Debian 1:7.2+dfsg-7) gives it.
SAVE_OK = ['created', 'running', 'waiting', 'pending', 'concluded']
FAILED = ['created', 'running', 'aborting', 'concluded']


def info(jid, typ, error=None):
    i = {'id': jid, 'type': typ, 'status': 'concluded', 'current-progress': 1,
         'total-progress': 1}
    if error:
        i['error'] = error
    return i


def err(desc):
    return {'error': {'class': 'GenericError', 'desc': desc}}


OK = {'return': {}}
EXPECTED = [
    ('save s1 t1', [OK, SAVE_OK, [info('s1', 'snapshot-save')]]),
    ('save s2 t1 (exists)', [OK, FAILED, [info('s2', 'snapshot-save', "Snapshot 't1' already "
                                               "exists in one or more devices"),
                                          info('s1', 'snapshot-save')]]),
    ('save with the id of a concluded job', err("Job ID 's2' already in use")),
    ('dismiss s1', [OK, ['null']]),
    ('dismiss s2', [OK, ['null']]),
    ('query-jobs after dismiss', {'return': []}),
    ('save with job-id 1bad', err("Invalid job ID '1bad'")),
    ('save with job-id "a b"', err("Invalid job ID 'a b'")),
    ('save, vmstate unknown', [OK, FAILED, [info('s3', 'snapshot-save', "vmstate block "
                                                 "device 'nope' does not exist")]]),
    ('save, device unknown', [OK, FAILED, [info('s4', 'snapshot-save',
                                                "No block device node 'nope'")]]),
    ('save, no devices', [OK, FAILED, [info('s5', 'snapshot-save',
                                            'At least one device is required for snapshot')]]),
    ('save, vmstate not among the devices', [OK, FAILED, [info(
        's6', 'snapshot-save', "vmstate block device 'raw0' does not exist")]]),
    ('save, a raw device', [OK, FAILED, [info('s7', 'snapshot-save', "Device 'raw0' is "
                                              "writable but does not support snapshots")]]),
    ('save, a read-only device', [OK, FAILED, [info('s8', 'snapshot-save', "Device 'ro0' "
                                                    "is writable but does not support "
                                                    "snapshots")]]),
    ('load l1 t1', [OK, SAVE_OK, [info('l1', 'snapshot-load')]]),
    ('RAM after load is the saved RAM', True),
    ('run state after a load', {'status': 'running', 'running': True, 'singlestep': False}),
    ('load, tag unknown', [OK, FAILED, [info('l2', 'snapshot-load', "Snapshot 'zz' does "
                                             "not exist in one or more devices")]]),
    ('run state after a failed load', {'status': 'restore-vm', 'running': False,
                                       'singlestep': False}),
    ('load, vmstate unknown', [OK, FAILED, [info('l3', 'snapshot-load', "vmstate block "
                                                 "device 'nope' does not exist")]]),
    ('save s9 t9', [OK, SAVE_OK, [info('s9', 'snapshot-save')]]),
    ('delete d1 t1', [OK, SAVE_OK, [info('d1', 'snapshot-delete'),
                                    info('s9', 'snapshot-save')]]),
    ('delete d2 t1 (gone already)', [OK, SAVE_OK, [info('d2', 'snapshot-delete'),
                                                   info('s9', 'snapshot-save')]]),
    ('delete, device unknown', [OK, FAILED, [info('d3', 'snapshot-delete',
                                                  "No block device node 'nope'"),
                                             info('s9', 'snapshot-save')]]),
    ('job-dismiss zz', err('Job not found')),
    ('job-cancel zz', err('Job not found')),
    ('job-pause zz', err('Job not found')),
    ('job-resume zz', err('Job not found')),
    ('job-complete zz', err('Job not found')),
    ('job-finalize zz', err('Job not found')),
    ('job-cancel s9', err("Job 's9' in state 'concluded' cannot accept command verb "
                          "'cancel'")),
    ('job-pause s9', err("Job 's9' in state 'concluded' cannot accept command verb "
                         "'pause'")),
    ('job-resume s9', err("Can't resume a job that was not paused")),
    ('job-complete s9', err("Job 's9' in state 'concluded' cannot accept command verb "
                            "'complete'")),
    ('job-finalize s9', err("Job 's9' in state 'concluded' cannot accept command verb "
                            "'finalize'")),
    ('final query-jobs', {'return': [info('s9', 'snapshot-save')]}),
    ('snapshot tags of disk0', ['t9']),
]

tap = Tap('jobs: ', numbered=True, diag_lines=30)


JOB_SCHEMA = ['snapshot-save', 'snapshot-load', 'snapshot-delete', 'query-jobs', 'job-pause',
              'job-resume', 'job-cancel', 'job-complete', 'job-dismiss', 'job-finalize',
              'JOB_STATUS_CHANGE']


def schema_shapes(vm):
    """query-qmp-schema's entries of the job commands and event, with the masked type
    names replaced by what they name (so two VMMs' answers compare)."""
    sch = {e['name']: e for e in vm.cmd('query-qmp-schema')['return']}

    def resolve(name, depth=0):
        e = sch.get(name)
        if e is None or depth > 8:
            return name
        if e['meta-type'] == 'builtin':
            return e['json-type']
        out = {}
        for k, v in e.items():
            if k == 'name':
                continue
            if k in ('arg-type', 'ret-type', 'element-type'):
                out[k] = resolve(v, depth + 1)
            elif k == 'members':
                out[k] = [dict(m, **({'type': resolve(m['type'], depth + 1)} if 'type' in m
                                     else {})) for m in v]
            else:
                out[k] = v
        return out

    return {n: resolve(n) for n in JOB_SCHEMA}


def scenario(vm, ram):
    """Runs the steps on @vm; returns [(step, record)] in EXPECTED's order."""
    rec = []

    def job(step, cmd, jid, **args):
        r = vm.cmd(cmd, dict(args, **{'job-id': jid}))
        if r != OK:
            rec.append((step, [r]))
            return
        statuses = vm.job_statuses(jid, 'concluded')
        rec.append((step, [r, statuses, vm.cmd('query-jobs').get('return')]))

    def dismiss(step, jid):
        r = vm.cmd('job-dismiss', {'id': jid})
        rec.append((step, [r, vm.job_statuses(jid, 'null') if r == OK else None]))

    def set_ram(data):
        with open(ram, 'r+b') as f:
            f.write(data)

    def dev(*d):
        return list(d)

    set_ram(SAVED)
    job('save s1 t1', 'snapshot-save', 's1', tag='t1', vmstate='disk0', devices=dev('disk0'))
    set_ram(CHANGED)
    job('save s2 t1 (exists)', 'snapshot-save', 's2', tag='t1', vmstate='disk0',
        devices=dev('disk0'))
    rec.append(('save with the id of a concluded job',
                vm.cmd('snapshot-save', {'job-id': 's2', 'tag': 'tx', 'vmstate': 'disk0',
                                         'devices': ['disk0']})))
    dismiss('dismiss s1', 's1')
    dismiss('dismiss s2', 's2')
    rec.append(('query-jobs after dismiss', vm.cmd('query-jobs')))
    for step, jid in (('save with job-id 1bad', '1bad'), ('save with job-id "a b"', 'a b')):
        rec.append((step, vm.cmd('snapshot-save', {'job-id': jid, 'tag': 't1',
                                                   'vmstate': 'disk0',
                                                   'devices': ['disk0']})))
    for step, jid, vms, devs in (
            ('save, vmstate unknown', 's3', 'nope', ['disk0']),
            ('save, device unknown', 's4', 'disk0', ['nope']),
            ('save, no devices', 's5', 'disk0', []),
            ('save, vmstate not among the devices', 's6', 'raw0', ['disk0']),
            ('save, a raw device', 's7', 'disk0', ['disk0', 'raw0']),
            ('save, a read-only device', 's8', 'disk0', ['disk0', 'ro0'])):
        job(step, 'snapshot-save', jid, tag='t' + jid[1:], vmstate=vms, devices=devs)
        vm.cmd('job-dismiss', {'id': jid})
        vm.job_statuses(jid, 'null')
    job('load l1 t1', 'snapshot-load', 'l1', tag='t1', vmstate='disk0', devices=dev('disk0'))
    with open(ram, 'rb') as f:
        rec.append(('RAM after load is the saved RAM', f.read(len(SAVED)) == SAVED))
    rec.append(('run state after a load', vm.cmd('query-status').get('return')))
    for jid in ('l1',):
        vm.cmd('job-dismiss', {'id': jid})
        vm.job_statuses(jid, 'null')
    for step, jid, tag, vms in (('load, tag unknown', 'l2', 'zz', 'disk0'),
                                ('load, vmstate unknown', 'l3', 't1', 'nope')):
        job(step, 'snapshot-load', jid, tag=tag, vmstate=vms, devices=dev('disk0'))
        vm.cmd('job-dismiss', {'id': jid})
        vm.job_statuses(jid, 'null')
        if jid == 'l2':
            rec.append(('run state after a failed load', vm.cmd('query-status').get('return')))
    job('save s9 t9', 'snapshot-save', 's9', tag='t9', vmstate='disk0', devices=dev('disk0'))
    for step, jid, devs in (('delete d1 t1', 'd1', ['disk0']),
                            ('delete d2 t1 (gone already)', 'd2', ['disk0']),
                            ('delete, device unknown', 'd3', ['nope'])):
        job(step, 'snapshot-delete', jid, tag='t1', devices=devs)
        vm.cmd('job-dismiss', {'id': jid})
        vm.job_statuses(jid, 'null')
    for verb in ('dismiss', 'cancel', 'pause', 'resume', 'complete', 'finalize'):
        rec.append(('job-%s zz' % verb, vm.cmd('job-' + verb, {'id': 'zz'})))
    for verb in ('cancel', 'pause', 'resume', 'complete', 'finalize'):
        rec.append(('job-%s s9' % verb, vm.cmd('job-' + verb, {'id': 's9'})))
    rec.append(('final query-jobs', vm.cmd('query-jobs')))
    return rec


def normalize(rec):
    """Records as EXPECTED has them: a failed command's reply alone, a dismiss without
    its events list when it failed."""
    out = []
    for step, r in rec:
        if isinstance(r, list) and len(r) == 1:
            r = r[0]
        if isinstance(r, list) and len(r) == 2 and r[1] is None:
            r = r[0]
        out.append((step, r))
    return out


def tags(image):
    r = subprocess.run([IMG, 'snapshot', '-l', image], capture_output=True, text=True)
    lines = r.stdout.splitlines()[2:]
    return [line.split()[1] for line in lines if line.split()]


def run_one(kind, tmp):
    d = os.path.join(tmp, kind)
    os.makedirs(d)
    disk, raw, ro, ram = (os.path.join(d, n) for n in ('disk0.qcow2', 'raw0.raw', 'ro0.qcow2',
                                                       'ram'))
    for img in (disk, ro):
        subprocess.run([IMG, 'create', '-f', 'qcow2', img, '16M'], check=True,
                       stdout=subprocess.DEVNULL)
    with open(raw, 'wb') as f:
        f.truncate(1 << 20)
    with open(ram, 'wb') as f:
        f.truncate(RAM)
    sock = os.path.join(d, 'qmp.sock')
    argv = none_machine(kind) + [
        '-m', '16M',
        '-object', 'memory-backend-file,id=mem0,size=16M,mem-path=%s,share=on' % ram,
        '-machine', 'memory-backend=mem0',
        '-blockdev', 'driver=qcow2,node-name=disk0,file.driver=file,file.filename=' + disk,
        '-blockdev', 'driver=raw,node-name=raw0,file.driver=file,file.filename=' + raw,
        '-blockdev', 'driver=qcow2,node-name=ro0,read-only=on,file.driver=file,'
                     'file.read-only=on,file.filename=' + ro]
    vm = Vm(argv, sock)
    try:
        shapes = schema_shapes(vm)
        rec = normalize(scenario(vm, ram))
    finally:
        vm.close()
    rec.append(('snapshot tags of disk0', tags(disk)))
    return rec, shapes


def compare(name, got, want):
    if [s for s, _ in got] != [s for s, _ in want]:
        tap(False, '%s: the steps' % name, 'got %r' % [s for s, _ in got])
        return
    for (step, g), (_, w) in zip(got, want):
        tap(g == w, '%s: %s' % (name, step),
            'got:      %s\nexpected: %s' % (json.dumps(g), json.dumps(w)))


def main():
    tmp = tempfile.mkdtemp(prefix='vireo-jobs-')
    try:
        try:
            vireo, vshapes = run_one('vireo', tmp)
        except Exception as e:
            tap(False, 'the scenario on Vireo', e)
            vireo = None
        if vireo:
            compare('Vireo as recorded from QEMU 7.2', vireo, EXPECTED)
            missing = [n for n, e in vshapes.items() if not isinstance(e, dict)]
            tap(not missing, 'Vireo: the job commands and event in query-qmp-schema',
                'missing: %r' % missing)
        if shutil.which(QEMU):
            try:
                qemu, qshapes = run_one('qemu', tmp)
            except Exception as e:
                tap(False, 'the scenario on QEMU', e)
                qemu = None
            if qemu:
                compare('QEMU as recorded', qemu, EXPECTED)
            if qemu and vireo:
                compare('Vireo as QEMU in this run', vireo, qemu)
                for n in JOB_SCHEMA:
                    tap(vshapes[n] == qshapes[n], 'query-qmp-schema: %s as QEMU\'s' % n,
                        'Vireo: %s\nQEMU:  %s' % (json.dumps(vshapes[n]),
                                                   json.dumps(qshapes[n])))
        else:
            print('# %s not found: Vireo checked against the record only' % QEMU)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    tap.plan()
    return 1 if tap.fails else 0


if __name__ == '__main__':
    sys.exit(main())
