#!/usr/bin/env python3
"""Runs a compiler command with the header files dropped from its arguments (meson
hands a generator's .h outputs along with its .c ones)."""
import subprocess
import sys

sys.exit(subprocess.call([a for a in sys.argv[1:] if not a.endswith('.h')]))
