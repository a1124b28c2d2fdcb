#!/usr/bin/env python3
"""Compiles an ASL file with iasl and writes the AML as a C array.

usage: aml2c.py IASL INPUT.asl OUTPUT.c SYMBOL
Warnings are errors (-we), so a sloppy table never reaches a guest.
"""
import os
import subprocess
import sys
import tempfile


def main():
    iasl, src, out, sym = sys.argv[1:5]
    with tempfile.TemporaryDirectory() as tmp:
        prefix = os.path.join(tmp, 'table')
        res = subprocess.run([iasl, '-we', '-vs', '-p', prefix, src],
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        if res.returncode != 0 or not os.path.exists(prefix + '.aml'):
            sys.stderr.write(res.stdout)
            sys.stderr.write('aml2c: iasl failed on %s\n' % src)
            return 1
        with open(prefix + '.aml', 'rb') as f:
            aml = f.read()
    lines = ['/* Generated from %s by aml2c.py: do not edit. */' % os.path.basename(src),
             '#include "vireo/acpi.h"', '',
             'const unsigned char %s[] = {' % sym]
    for i in range(0, len(aml), 12):
        lines.append('    ' + ' '.join('0x%02x,' % b for b in aml[i:i + 12]))
    lines += ['};', 'const unsigned int %s_len = %d;' % (sym, len(aml)), '']
    with open(out, 'w') as f:
        f.write('\n'.join(lines))
    return 0


if __name__ == '__main__':
    sys.exit(main())
