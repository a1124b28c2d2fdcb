#!/usr/bin/env python3
"""QMP client test: drives a running vireo (or, with --vmm qemu, Debian's QEMU in TCG
mode as a check of the test itself) over every way in: -qmp unix and tcp listeners,
-chardev socket + -mon, -monitor (HMP) and -qmp stdio.

Prints TAP: one line per check ("ok - NAME" / "not ok - NAME" with "# why" lines),
then the plan. Exit: 0 all passed, 1 a check failed; without /dev/kvm (vireo needs KVM)
the plan "1..0 # SKIP no /dev/kvm" and 0 (tests/sandbox/cases/40-qmp.sh runs this
inside the nested-KVM sandbox).
Python standard library only.
"""
import argparse
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from qmptest import QEMU, TIMEOUT, VIREO, Fail, Qmp, Tap, check  # noqa: E402

REQUIRED = ['qmp_capabilities', 'query-version', 'query-commands', 'query-qmp-schema',
            'query-status', 'query-name', 'query-uuid', 'query-kvm', 'query-machines',
            'query-cpus-fast', 'query-hotpluggable-cpus', 'query-target', 'query-chardev',
            'query-memory-size-summary', 'stop', 'cont', 'system_reset',
            'system_powerdown', 'quit', 'human-monitor-command']


def error_of(r, cls):
    check('error' in r, 'expected an error, got %r' % r)
    check(r['error']['class'] == cls, 'class %r, expected %r' % (r['error']['class'], cls))
    return r['error']['desc']


def expect_error(r, cls, desc):
    d = error_of(r, cls)
    check(d == desc, 'desc %r, expected %r' % (d, desc))


class Run:
    def __init__(self, args):
        self.a = args
        self.vireo = args.vmm == 'vireo'
        self.work = tempfile.mkdtemp(prefix='qmp-test-')
        self.tap = Tap()
        self.proc = None

    # -- the VMM --
    def start(self):
        w = self.work
        self.qsock, self.msock = os.path.join(w, 'qmp.sock'), os.path.join(w, 'mon.sock')
        self.hsock = os.path.join(w, 'hmp.sock')
        with socket.socket() as s:
            s.bind(('127.0.0.1', 0))
            self.port = s.getsockname()[1]
        common = ['-S', '-no-shutdown', '-display', 'none', '-m', '128', '-name', 'qmptest',
                  '-qmp', 'unix:%s,server=on,wait=off' % self.qsock,
                  '-qmp', 'tcp:127.0.0.1:%d,server=on,wait=off' % self.port,
                  '-chardev', 'socket,id=mon1,path=%s,server=on,wait=off' % self.msock,
                  '-mon', 'chardev=mon1,mode=control',
                  '-monitor', 'unix:%s,server=on,wait=off' % self.hsock]
        if self.vireo:
            cmd = [self.a.vireo] + common + ['-serial', 'file:%s/serial.log' % w]
        else:
            cmd = [QEMU, '-accel', 'tcg', '-nodefaults'] + common
        self.err = open(os.path.join(w, 'vmm.err'), 'w')
        self.proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=self.err,
                                     stderr=self.err)
        end = time.monotonic() + TIMEOUT
        while not os.path.exists(self.qsock):
            if self.proc.poll() is not None or time.monotonic() > end:
                raise Fail('the VMM did not open %s (exit %r)' % (self.qsock,
                                                                  self.proc.poll()))
            time.sleep(0.05)

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    def stderr_tail(self):
        try:
            with open(os.path.join(self.work, 'vmm.err')) as f:
                return f.read()[-2000:]
        except OSError:
            return ''

    # -- reporting --
    def t(self, name, fn):
        try:
            fn()
            self.tap(True, name)
        except (Fail, OSError, ValueError, KeyError, TypeError, IndexError) as e:
            self.tap(False, name, '%s: %s' % (type(e).__name__, e))

    # -- the checks --
    def greeting(self):
        c = Qmp(self.extra, negotiate=False)
        g = c.greeting['QMP']
        v = g['version']
        check(set(v['qemu']) == {'major', 'minor', 'micro'}, 'version %r' % v)
        check(isinstance(v['package'], str), 'package %r' % v)
        check(isinstance(g['capabilities'], list), 'capabilities %r' % g)
        if self.vireo:
            check(g['capabilities'] == [], 'vireo offers no oob: %r' % g)
            check(v['package'].startswith('vireo-'), 'package %r' % v['package'])
        expect_error(c.cmd('query-status'), 'CommandNotFound',
                     "Expecting capabilities negotiation with 'qmp_capabilities'")
        r = c.cmd('qmp_capabilities', id='neg')
        check(r == {'return': {}, 'id': 'neg'}, 'negotiation: %r' % r)
        expect_error(c.cmd('qmp_capabilities'), 'CommandNotFound',
                     'Capabilities negotiation is already complete, command ignored')
        c.close()

    def queries(self):
        c = self.main
        r = c.cmd('query-version', id=[1, {'x': None}])
        check(r['id'] == [1, {'x': None}], 'id not echoed: %r' % r)
        check(r['return'] == c.greeting['QMP']['version'], 'version %r' % r)
        names = {x['name'] for x in c.cmd('query-commands')['return']}
        check(set(REQUIRED) <= names, 'missing commands %r' % (set(REQUIRED) - names))
        s = c.cmd('query-status')['return']
        check(s['status'] == 'prelaunch' and s['running'] is False, 'status %r' % s)
        check(c.cmd('query-name')['return'] == {'name': 'qmptest'}, 'name')
        u = c.cmd('query-uuid')['return']['UUID']
        check(len(u) == 36 and u.count('-') == 4, 'uuid %r' % u)
        k = c.cmd('query-kvm')['return']
        check(k == {'enabled': self.vireo, 'present': True}, 'kvm %r' % k)
        check(c.cmd('query-target')['return'] == {'arch': 'x86_64'}, 'target')
        mach = c.cmd('query-machines')['return']
        check(any(x['name'].startswith('pc') and x['cpu-max'] >= 1 for x in mach),
              'machines %r' % mach)
        cpus = c.cmd('query-cpus-fast')['return']
        check(len(cpus) == 1 and cpus[0]['cpu-index'] == 0 and cpus[0]['target'] == 'x86_64'
              and isinstance(cpus[0]['thread-id'], int), 'cpus %r' % cpus)
        self.thread_id = cpus[0]['thread-id']
        hp = c.cmd('query-hotpluggable-cpus')['return']
        check(hp and hp[-1]['vcpus-count'] == 1 and 'qom-path' in hp[-1], 'hotpluggable %r' % hp)
        mem = c.cmd('query-memory-size-summary')['return']
        check(mem['base-memory'] == 128 << 20, 'memory %r' % mem)
        labels = {x['label']: x for x in c.cmd('query-chardev')['return']}
        check('mon1' in labels and 'compat_monitor0' in labels, 'chardevs %r' % labels)
        for name in REQUIRED[1:]:
            if name in ('human-monitor-command', 'quit'):
                continue
            expect_error(c.cmd(name, {'bogus': 1}), 'GenericError',
                         "Parameter 'bogus' is unexpected")

    def schema(self):
        s = self.main.cmd('query-qmp-schema')['return']
        by_name = {e['name']: e for e in s}
        for name in REQUIRED:
            check(by_name.get(name, {}).get('meta-type') == 'command', 'no %s' % name)
        for e in s:
            for key in ('arg-type', 'ret-type', 'element-type'):
                if key in e:
                    check(e[key] in by_name, '%s: %s %r unknown' % (e['name'], key, e[key]))
        st = by_name[by_name['query-status']['ret-type']]
        check({m['name'] for m in st['members']} >= {'running', 'status'}, 'StatusInfo')
        for ev in ('STOP', 'RESUME', 'RESET', 'SHUTDOWN', 'POWERDOWN'):
            check(by_name.get(ev, {}).get('meta-type') == 'event', 'no event %s' % ev)

    def hmp_via_qmp(self):
        c = self.main

        def hmp(line, **kw):
            args = {'command-line': line}
            args.update(kw)
            return c.cmd('human-monitor-command', args)

        check(hmp('info status') == {'return': 'VM status: paused (prelaunch)\r\n'},
              'info status')
        v = hmp('info version')['return']
        check(v.startswith('%d.%d.%d' % tuple(c.greeting['QMP']['version']['qemu'][k]
                                              for k in ('major', 'minor', 'micro'))),
              'info version %r' % v)
        check(hmp('info cpus')['return'] == '* CPU #0: thread_id=%d\r\n' % self.thread_id,
              'info cpus')
        regs = hmp('info registers')['return']
        check('EFL=' in regs or 'RFL=' in regs, 'info registers %r' % regs[:200])
        check(hmp('bogus')['return'] == "unknown command: 'bogus'\r\n", 'unknown command')
        expect_error(c.cmd('human-monitor-command'), 'GenericError',
                     "Parameter 'command-line' is missing")
        expect_error(hmp(5), 'GenericError',
                     "Invalid parameter type for 'command-line', expected: string")
        expect_error(hmp('info status', **{'cpu-index': 'x'}), 'GenericError',
                     "Invalid parameter type for 'cpu-index', expected: integer")
        expect_error(hmp('info status', **{'cpu-index': 7}), 'GenericError',
                     "Parameter 'cpu-index' expects a CPU number")

    def events_stop_cont_reset(self):
        a, b = self.main, self.second
        for c in (a, b):
            c.events.clear()
        r = a.cmd('cont')
        check(r == {'return': {}}, 'cont %r' % r)
        r = a.cmd('stop')          # before the guest can power itself off
        check(r == {'return': {}}, 'stop %r' % r)
        s = a.cmd('query-status')['return']
        check(s['status'] == 'paused' and not s['running'], 'after stop: %r' % s)
        r = a.cmd('system_reset')
        check(r == {'return': {}}, 'system_reset %r' % r)
        reset = a.event('RESET')
        check(reset['data'] == {'guest': False, 'reason': 'host-qmp-system-reset'},
              'RESET %r' % reset)
        b.event('RESET')
        for c in (a, b):
            names = [e['event'] for e in c.events]
            check(names[:2] == ['RESUME', 'STOP'], 'order %r' % names)
            for e in c.events + [reset]:
                check(set(e['timestamp']) == {'seconds', 'microseconds'}, 'timestamp %r' % e)
        s = a.cmd('query-status')['return']
        # QEMU goes to prelaunch after a reset of a stopped VM
        check(s['status'] in ('prelaunch', 'paused') and not s['running'], 'after reset %r' % s)

    def jobs(self):
        """A snapshot job that fails (this VM has no disks): QEMU's events, its error in
        query-jobs until job-dismiss, and the errors of the job verbs
        (tests/qmp/test_jobs.py drives the snapshot jobs on disks)."""
        c = self.main
        c.events.clear()
        r = c.cmd('snapshot-save', {'job-id': 'j1', 'tag': 't', 'vmstate': 'nope',
                                    'devices': ['nope']})
        check(r == {'return': {}}, 'snapshot-save %r' % r)
        seq = []
        while not seq or seq[-1] != 'concluded':
            e = c.event('JOB_STATUS_CHANGE')
            check(e['data']['id'] == 'j1', 'event %r' % e)
            seq.append(e['data']['status'])
        check(seq == ['created', 'running', 'aborting', 'concluded'], 'statuses %r' % seq)
        q = c.cmd('query-jobs')['return']
        check(q == [{'id': 'j1', 'type': 'snapshot-save', 'status': 'concluded',
                     'current-progress': 1, 'total-progress': 1,
                     'error': "No block device node 'nope'"}], 'query-jobs %r' % q)
        expect_error(c.cmd('snapshot-delete', {'job-id': 'j1', 'tag': 't', 'devices': []}),
                     'GenericError', "Job ID 'j1' already in use")
        expect_error(c.cmd('snapshot-load', {'job-id': '-x', 'tag': 't', 'vmstate': 'a',
                                             'devices': []}),
                     'GenericError', "Invalid job ID '-x'")
        expect_error(c.cmd('job-cancel', {'id': 'j1'}), 'GenericError',
                     "Job 'j1' in state 'concluded' cannot accept command verb 'cancel'")
        expect_error(c.cmd('job-resume', {'id': 'j1'}), 'GenericError',
                     "Can't resume a job that was not paused")
        check(c.cmd('job-dismiss', {'id': 'j1'}) == {'return': {}}, 'job-dismiss')
        e = c.event('JOB_STATUS_CHANGE')
        check(e['data'] == {'id': 'j1', 'status': 'null'}, 'event %r' % e)
        check(c.cmd('query-jobs') == {'return': []}, 'query-jobs after dismiss')
        expect_error(c.cmd('job-dismiss', {'id': 'j1'}), 'GenericError', 'Job not found')

    def tcp_and_more_clients(self):
        t = Qmp(('127.0.0.1', self.port))
        check(t.cmd('query-name')['return'] == {'name': 'qmptest'}, 'query-name')
        if not self.vireo:      # QEMU serves one client per socket at a time
            t.close()
            return
        t2 = Qmp(('127.0.0.1', self.port))      # several clients on one listener
        u = Qmp(self.qsock)                     # a third one beside self.main
        for c in (t2, u):
            check(c.cmd('query-target')['return'] == {'arch': 'x86_64'}, 'more clients')
        for c in (t, t2, u):
            c.close()

    def hmp_socket(self):
        s = socket.socket(socket.AF_UNIX)
        s.settimeout(TIMEOUT)
        s.connect(self.hsock)
        out = b''
        while b'(qemu) ' not in out:
            out += s.recv(4096)
        check(b'monitor' in out, 'banner %r' % out)
        s.sendall(b'info status\r\n')
        out = b''
        while out.count(b'(qemu) ') < 1:
            out += s.recv(4096)
        check(b'VM status: paused' in out, 'info status over HMP: %r' % out)
        s.close()

    def disconnect_mid_command(self):
        c = Qmp(self.extra)
        c.send('{"execute": "query-qmp-schema"}{"execute": "query-st')
        c.sock.shutdown(socket.SHUT_RDWR)
        c.close()
        c = Qmp(self.extra)
        c.send('{"execute": "query-status", "id": 1}')
        c.sock.close()
        check(self.main.cmd('query-name')['return'] == {'name': 'qmptest'}, 'others fine')

    def marker(self, c, tag):
        """Sends a command with id @tag and returns every reply before its answer."""
        c.send(json.dumps({'execute': 'query-name', 'id': tag}))
        got = []
        while True:
            r = c.reply()
            if r.get('id') == tag:
                check(r['return'] == {'name': 'qmptest'}, 'marker %r' % r)
                return got
            got.append(r)

    def bad_input(self):
        c = Qmp(self.extra)
        cases = [
            (b'{"execute": "query-status"', b' }', None),       # split: still one command
            (b'{"a" 1}', None, 'JSON parse error, '),
            (b'[1, 2]', None, 'QMP input must be a JSON object'),
            (b'"just a string"', None, 'QMP input must be a JSON object'),
            (b'{"foo": 1}', None, "QMP input member 'foo' is unexpected"),
            (b'{"execute": "no-such-command"}', None, 'The command no-such-command has not '
             'been found'),
            (b'{"execute": "query-status", "arguments": {"x": true}}', None,
             "Parameter 'x' is unexpected"),
        ]
        for first, second, want in cases:
            c.send(first)
            if second:
                c.send(second)
            r = c.reply()
            if want is None:
                check('return' in r, 'split command: %r' % r)
            else:
                d = error_of(r, 'CommandNotFound' if 'found' in want else 'GenericError')
                check(d.startswith(want), '%r: %r' % (first, d))
        deep = b'[' * 2000 + b']' * 2000
        c.send(deep)
        got = self.marker(c, 'after-deep')
        check(got and got[0]['error']['desc'] == 'JSON nesting depth limit exceeded',
              'deep nesting: %r' % got[:2])
        if not self.vireo:
            c.close()           # QEMU takes minutes over a 65 MiB text
            return
        c.send(b'{"execute": "query-status", "id": "' + b'x' * (65 << 20) + b'"}')
        got = self.marker(c, 'after-huge')
        check(got and got[0]['error']['desc'] == 'JSON token size limit exceeded',
              'huge message: %r' % got[:2])
        c.close()

    def flood(self):
        c = Qmp(self.extra)
        n = 5000
        c.send(''.join('{"execute": "query-status", "id": %d}' % i for i in range(n)))
        for i in range(n):
            r = c.reply()
            check(r.get('id') == i and 'return' in r, 'reply %d: %r' % (i, r))
        check(self.second.cmd('query-name')['return'] == {'name': 'qmptest'}, 'other client')
        c.close()

    def slow_mon_client(self):
        """A -mon chardev client sends 40 query-qmp-schema and reads nothing: another
        client is answered meanwhile; then every reply arrives whole and in order, and
        the session is still negotiated (issue 13 item 7)."""
        a = self.second
        a.events.clear()
        a.send(''.join('{"execute": "query-qmp-schema", "id": %d}' % i for i in range(40)))
        time.sleep(0.5)
        check(self.main.cmd('query-name')['return'] == {'name': 'qmptest'}, 'other client')
        for i in range(40):
            r = a.reply()
            check(r.get('id') == i and isinstance(r.get('return'), list) and
                  len(r['return']) > 10, 'reply %d: %r' % (i, str(r)[:200]))
        check(a.cmd('query-name') == {'return': {'name': 'qmptest'}}, 'still negotiated')

    def alive(self):
        check(self.proc.poll() is None, 'the VMM exited: %r' % self.proc.poll())
        s = self.main.cmd('query-status')['return']
        check(not s['running'] and s['status'] in ('prelaunch', 'paused'), 'status %r' % s)

    def powerdown_and_shutdown(self):
        a = self.main
        a.events.clear()
        check(a.cmd('cont') == {'return': {}}, 'cont')
        a.event('RESUME')
        check(a.cmd('system_powerdown') == {'return': {}}, 'system_powerdown')
        a.event('POWERDOWN')
        if not self.vireo:
            return                  # QEMU -S with no guest OS ignores the button
        # the guest shuts down (power button or its own end); -no-shutdown keeps it
        sd = a.event('SHUTDOWN', timeout=180)
        check(sd['data'] == {'guest': True, 'reason': 'guest-shutdown'}, 'SHUTDOWN %r' % sd)
        a.event('STOP')
        s = a.cmd('query-status')['return']
        check(s == {'running': False, 'singlestep': False, 'status': 'shutdown'}, '%r' % s)
        expect_error(a.cmd('cont'), 'GenericError', 'Resetting the Virtual Machine is required')
        check(a.cmd('system_reset') == {'return': {}}, 'system_reset')
        a.event('RESET')
        check(a.cmd('cont') == {'return': {}}, 'cont after reset')
        a.event('RESUME')
        check(a.cmd('query-status')['return']['status'] in ('running', 'shutdown'), 'running')

    def quit(self):
        a = self.main
        a.events.clear()
        r = a.cmd('quit')
        check(r == {'return': {}}, 'quit %r' % r)
        sd = a.event('SHUTDOWN')
        check(sd['data'] == {'guest': False, 'reason': 'host-qmp-quit'}, 'SHUTDOWN %r' % sd)
        rc = self.proc.wait(timeout=TIMEOUT)
        check(rc == 0, 'exit status %d' % rc)

    def qmp_stdio(self):
        if self.vireo:
            cmd = [self.a.vireo, '-S', '-display', 'none', '-serial', 'null', '-qmp', 'stdio']
        else:
            cmd = [QEMU, '-accel', 'tcg', '-nodefaults', '-S', '-display',
                   'none', '-qmp', 'stdio']
        req = (b'{"execute": "qmp_capabilities"}\n{"execute": "query-status"}\n'
               b'{"execute": "quit"}\n')
        p = subprocess.run(cmd, input=req, capture_output=True, timeout=TIMEOUT * 2)
        lines = [json.loads(x) for x in p.stdout.splitlines() if x.strip()]
        check(lines and 'QMP' in lines[0], 'greeting: %r %r' % (p.stdout[:300], p.stderr[-300:]))
        check(lines[1] == {'return': {}}, 'negotiation %r' % lines[1:2])
        check(lines[2]['return']['status'] == 'prelaunch', 'status %r' % lines[2:3])
        check(p.returncode == 0, 'exit %d' % p.returncode)

    def run(self):
        try:
            self.start()
            self.main = Qmp(self.qsock)
            self.second = Qmp(self.msock)       # the -chardev/-mon monitor
            self.extra = self.qsock if self.vireo else ('127.0.0.1', self.port)
        except (Fail, OSError) as e:
            print('not ok - start %s' % self.a.vmm)
            print('# %s' % e)
            for line in self.stderr_tail().splitlines():
                print('#   ' + line)
            print('1..1')
            self.stop()
            return 1
        for name, fn in [('greeting and negotiation', self.greeting),
                         ('query commands, valid and invalid arguments', self.queries),
                         ('query-qmp-schema', self.schema),
                         ('human-monitor-command', self.hmp_via_qmp),
                         ('events for cont, stop, reset in order to both clients',
                          self.events_stop_cont_reset),
                         ('snapshot job failing, query-jobs, job-dismiss', self.jobs),
                         ('tcp listener, several clients per listener', self.tcp_and_more_clients),
                         ('HMP on -monitor unix socket', self.hmp_socket),
                         ('client disconnecting mid-command', self.disconnect_mid_command),
                         ('bad input answered with QEMU errors', self.bad_input),
                         ('flood of 5000 commands', self.flood),
                         ('a -mon client that does not read holds up nobody, loses nothing',
                          self.slow_mon_client),
                         ('VM unaffected by bad clients', self.alive),
                         ('powerdown, guest shutdown with -no-shutdown, reset, cont',
                          self.powerdown_and_shutdown),
                         ('quit', self.quit),
                         ('-qmp stdio', self.qmp_stdio)]:
            self.t(name, fn)
        self.stop()
        self.tap.plan()
        if not self.tap.fails:
            shutil.rmtree(self.work, ignore_errors=True)
        else:
            print('# logs kept in %s' % self.work)
            for line in self.stderr_tail().splitlines():
                print('#   ' + line)
        return 0 if not self.tap.fails else 1


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--vmm', choices=['vireo', 'qemu'], default='vireo')
    ap.add_argument('--vireo', default=VIREO)
    a = ap.parse_args()
    if a.vmm == 'vireo':
        try:
            os.close(os.open('/dev/kvm', os.O_RDWR))
        except OSError:
            print('1..0 # SKIP no /dev/kvm')
            return 0
    return Run(a).run()


if __name__ == '__main__':
    sys.exit(main())
