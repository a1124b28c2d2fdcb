#!/usr/bin/env python3
"""Introspection shapes, Vireo against QEMU 7.2 (issue 8): the same queries to both,
on the `none` machine (Vireo: -accel qtest, which runs no guest code and needs no
KVM; QEMU: -accel tcg), and each answer of Vireo checked against QEMU's:

  - qom-list-types: every type Vireo lists exists in QEMU with the same parent and
    abstract flag; --abstract lists the abstract ones;
  - device-list-properties / qom-list-properties: every property Vireo reports for a
    type QEMU also has exists there with the same QOM type name;
  - query-command-line-options: every option group and parameter Vireo lists is
    QEMU's, with the same parameter type;
  - query-machines, query-cpu-definitions, query-iothreads, query-target, query-kvm,
    query-migrate-capabilities, qom-list of the QOM tree: the members of each entry;
  - the errors QEMU gives without SEV/SGX and for unknown types: same class and text.

It prints one TAP line per check and, at the end, how many of QEMU's QMP commands and
command-line option groups Vireo has (from query-qmp-schema and
query-command-line-options of both). Exit 0 all passed, 1 a check failed.
"""
import os
import sys
import shutil
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from qmptest import Vm, Tap, none_machine  # noqa: E402

# What Vireo has that QEMU 7.2 does not, on purpose (each a Vireo extension or a
# device QEMU models differently); anything else missing from QEMU is a failure.
VIREO_TYPES = {
    'acpi-pm': "Vireo's ACPI PM block on the system bus (QEMU's pc has the PIIX4_PM "
               "PCI function)",
    'qtest-accel': 'QEMU has it only in builds with qtest; Vireo runs the none machine with it',
}
VIREO_PROPS = {
    'kernel-cache': "Vireo's decompressed-kernel cache (docs/architecture.md, Boot)",
    'kernel-boot': "how -kernel boots: directly (Vireo's) or through SeaBIOS (QEMU's way)",
}
# QEMU accepts these -drive keys (legacy spellings) without listing them.
QEMU_UNLISTED = {('drive', 'readonly'), ('drive', 'cache')}


def vireo_own(prop):
    """x- properties are experimental/internal, as in QEMU; VIREO_PROPS are Vireo's."""
    return prop.startswith('x-') or prop in VIREO_PROPS


tap = Tap('introspect: ')


def start(tmp):
    common = ['-S', '-object', 'iothread,id=io0', '-object', 'secret,id=sec0,data=x']
    v = Vm(none_machine('vireo') + common, tmp + '/v.sock')
    try:
        q = Vm(none_machine('qemu') + common, tmp + '/q.sock')
    except Exception:
        v.close()
        raise
    return v, q


def by_name(lst, key='name'):
    return {e[key]: e for e in lst}


def check_types(v, q):
    for abstract in (False, True):
        vt = by_name(v.ret('qom-list-types', {'abstract': abstract}))
        qt = by_name(q.ret('qom-list-types', {'abstract': abstract}))
        bad = ['%s: Vireo %s, QEMU %s' % (n, e, qt.get(n)) for n, e in sorted(vt.items())
               if n not in VIREO_TYPES and
               (n not in qt or qt[n].get('parent') != e.get('parent') or
                qt[n].get('abstract', False) != e.get('abstract', False))]
        tap(not bad, 'qom-list-types%s: names, parents, abstract as QEMU\'s'
            % (' abstract=true' if abstract else ''), '\n'.join(bad))
    vi = by_name(v.ret('qom-list-types', {'implements': 'pci-device'}))
    qi = by_name(q.ret('qom-list-types', {'implements': 'pci-device'}))
    bad = [n for n in vi if n not in qi]
    tap(vi and not bad, 'qom-list-types implements=pci-device', bad or 'empty')
    return vt, qt


def same_props(name, vl, ql):
    qd = by_name(ql)
    bad = []
    for p in vl:
        if p['name'] not in qd and vireo_own(p['name']):
            continue
        if p['name'] not in qd:
            bad.append('%s: no such property in QEMU' % p['name'])
        elif qd[p['name']]['type'] != p['type']:
            bad.append('%s: type %s, QEMU %s' % (p['name'], p['type'], qd[p['name']]['type']))
        elif set(p) - {'name', 'type', 'description', 'default-value'}:
            bad.append('%s: members %s' % (p['name'], sorted(p)))
    return bad


def check_props(v, q, types):
    devices = [n for n, t in types.items() if not t.get('abstract') and
               q.cmd('device-list-properties', {'typename': n}).get('return') is not None and
               'cpu' not in n]
    for n in sorted(devices):
        vl = v.ret('device-list-properties', {'typename': n})
        ql = q.ret('device-list-properties', {'typename': n})
        bad = same_props(n, vl, ql)
        tap(not bad, 'device-list-properties %s (%d properties)' % (n, len(vl)), '\n'.join(bad))
    for n in ('memory-backend-ram', 'memory-backend-memfd', 'memory-backend-file', 'secret',
              'rng-random', 'iothread', 'none-machine', 'pc-i440fx-7.2-machine', 'pci-device',
              'virtio-pci', 'kvm-accel'):
        vl = v.ret('qom-list-properties', {'typename': n})
        ql = q.ret('qom-list-properties', {'typename': n})
        bad = same_props(n, vl, ql)
        tap(not bad, 'qom-list-properties %s (%d properties)' % (n, len(vl)), '\n'.join(bad))


def same_errors(v, q, name, **args):
    rv, rq = v.cmd(name, args or None), q.cmd(name, args or None)
    tap(rv.get('error') == rq.get('error'), '%s %s: the error QEMU gives' % (name, args or ''),
        'Vireo %s\nQEMU %s' % (rv, rq))


def same_keys(v, q, name, pick=None, **args):
    rv, rq = v.ret(name, args or None), q.ret(name, args or None)
    if pick:
        rv, rq = pick(rv), pick(rq)
    if isinstance(rv, list):
        kv = set().union(*[set(e) for e in rv]) if rv else set()
        kq = set().union(*[set(e) for e in rq]) if rq else set()
    else:
        kv, kq = set(rv), set(rq)
    tap(kv <= kq, '%s: members as QEMU\'s' % name, 'Vireo only: %s' % sorted(kv - kq))


def check_misc(v, q):
    same_keys(v, q, 'query-machines', lambda l: [e for e in l if e['name'] in
                                                 ('none', 'pc-i440fx-7.2')])
    vm = by_name(v.ret('query-machines'))
    qm = by_name(q.ret('query-machines'))
    tap(vm['pc-i440fx-7.2'].get('alias') == 'pc' == qm['pc-i440fx-7.2'].get('alias') and
        vm['pc-i440fx-7.2'].get('is-default'), 'query-machines: pc-i440fx-7.2, alias pc, default',
        vm.get('pc-i440fx-7.2'))
    same_keys(v, q, 'query-cpu-definitions')
    vd, qd = by_name(v.ret('query-cpu-definitions')), by_name(q.ret('query-cpu-definitions'))
    bad = [n for n, e in vd.items() if n not in qd or qd[n]['typename'] != e['typename']]
    tap(not bad, 'query-cpu-definitions: models and type names are QEMU\'s', bad)
    same_keys(v, q, 'query-iothreads')
    same_keys(v, q, 'query-target')
    same_keys(v, q, 'query-kvm')
    same_keys(v, q, 'query-status')
    same_keys(v, q, 'query-migrate-capabilities')
    vc = [(e['capability'], e['state']) for e in v.ret('query-migrate-capabilities')]
    qc = [(e['capability'], e['state']) for e in q.ret('query-migrate-capabilities')]
    tap(vc == qc, 'query-migrate-capabilities: QEMU\'s capabilities, in its order, all off',
        'Vireo %s\nQEMU %s' % (vc, qc))
    same_errors(v, q, 'query-sev-capabilities')
    same_errors(v, q, 'query-sgx-capabilities')
    same_errors(v, q, 'query-hotpluggable-cpus')
    same_errors(v, q, 'device-list-properties', typename='no-such-device')
    same_errors(v, q, 'device-list-properties', typename='pci-device')
    same_errors(v, q, 'object-del', id='no-such-object')
    same_errors(v, q, 'qom-get', path='/machine/peripheral/nope', property='type')
    for path in ('/', '/machine', '/objects'):
        vl = by_name(v.ret('qom-list', {'path': path}))
        ql = by_name(q.ret('qom-list', {'path': path}))
        bad = ['%s: %s vs QEMU %s' % (n, e['type'], ql.get(n, {}).get('type'))
               for n, e in vl.items() if n in ql and ql[n]['type'] != e['type']]
        missing = [n for n in ('machine', 'objects', 'peripheral', 'unattached', 'io0', 'sec0')
                   if n in ql and n not in vl]
        tap(not bad and not missing, 'qom-list %s: children and types as QEMU\'s' % path,
            '\n'.join(bad + ['missing %s' % m for m in missing]))
    for obj, prop in (('/objects/io0', 'poll-max-ns'), ('/objects/sec0', 'format'),
                      ('/machine', 'type')):
        rv = v.cmd('qom-get', {'path': obj, 'property': prop})
        rq = q.cmd('qom-get', {'path': obj, 'property': prop})
        tap(rv == rq, 'qom-get %s %s' % (obj, prop), 'Vireo %s\nQEMU %s' % (rv, rq))
    r = v.cmd('object-add', {'qom-type': 'memory-backend-ram', 'id': 'm1', 'size': 1048576})
    tap(r == {'return': {}} and v.cmd('object-del', {'id': 'm1'}) == {'return': {}},
        'object-add, object-del', r)


def check_cmdline(v, q):
    vo, qo = by_name(v.ret('query-command-line-options'), 'option'), \
        by_name(q.ret('query-command-line-options'), 'option')
    bad = []
    for g, e in sorted(vo.items()):
        if g not in qo:
            bad.append('%s: QEMU has no such option group' % g)
            continue
        qp = by_name(qo[g]['parameters'])
        for p in e['parameters']:
            if (g, p['name']) in QEMU_UNLISTED:
                continue
            if p['name'] not in qp:
                bad.append('%s.%s: not a QEMU parameter' % (g, p['name']))
            elif qp[p['name']]['type'] != p['type']:
                bad.append('%s.%s: %s, QEMU %s' % (g, p['name'], p['type'],
                                                    qp[p['name']]['type']))
    tap(not bad, 'query-command-line-options: groups and parameters as QEMU\'s (%d groups)'
        % len(vo), '\n'.join(bad))
    same_errors(v, q, 'query-command-line-options', option='no-such-option')
    return vo, qo


def counts(v, q, vo, qo):
    def commands(vm):
        return {e['name'] for e in vm.ret('query-qmp-schema') if e['meta-type'] == 'command'}
    vc, qc = commands(v), commands(q)
    vp = sum(len(e['parameters']) for e in vo.values())
    qp = sum(len(e['parameters']) for e in qo.values())
    print('# QMP commands: Vireo %d, QEMU 7.2 %d, in both %d (not in QEMU: %s)'
          % (len(vc), len(qc), len(vc & qc), sorted(vc - qc)))
    print('# command-line option groups: Vireo %d, QEMU 7.2 %d, in both %d; parameters '
          'Vireo %d, QEMU %d' % (len(vo), len(qo), len(set(vo) & set(qo)), vp, qp))
    tap(vc <= qc, 'every QMP command Vireo has is one of QEMU\'s', sorted(vc - qc))


def run(tmp):
    try:
        v, q = start(tmp)
    except Exception as e:
        tap(False, 'start Vireo and QEMU on the none machine', e)
        return 1
    try:
        vt, qt = check_types(v, q)
        check_props(v, q, vt)
        check_misc(v, q)
        vo, qo = check_cmdline(v, q)
        counts(v, q, vo, qo)
    finally:
        v.close()
        q.close()
    return 1 if tap.fails else 0


def main():
    tmp = tempfile.mkdtemp(prefix='vireo-introspect-')
    try:
        return run(tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == '__main__':
    sys.exit(main())
