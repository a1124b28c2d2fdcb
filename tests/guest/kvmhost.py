"""What the host's KVM can do, and which guest tests it therefore cannot run.

The facts come from the kvm-probe helper (tests/guest/kvm-probe.c), which uses /dev/kvm
directly (nothing of Vireo): "key=value" lines.  `cannot_run(needs, facts)` is the whole
decision: a test is skipped only for a capability the probe showed missing, with the
probe's finding as the reason; when the probe could not tell (it failed, or is missing),
the test runs.

Capabilities a test can need (run-guest.py --needs NAME):
  triple-fault-shutdown  KVM ends a triple fault with KVM_EXIT_SHUTDOWN, so a VMM can
                         reset (or, with -no-reboot, exit).  VMX/SVM KVM does; the PVM
                         backend (module kvm_pvm) ends it in KVM_EXIT_INTERNAL_ERROR,
                         suberror 1 (shared/KVM-HOSTS.md).
"""
import os
import subprocess

CAPABILITIES = ("triple-fault-shutdown",)


def parse_facts(text):
    """The probe's output as a dict; values keep their detail ("internal-error 1")."""
    facts = {}
    for line in text.splitlines():
        key, sep, value = line.partition("=")
        if sep:
            facts[key.strip()] = value.strip()
    return facts


def probe(exe, timeout=60):
    """Runs the probe; {} when it cannot be run (then nothing is skipped for it)."""
    if not exe or not os.access(exe, os.X_OK):
        return {}
    try:
        out = subprocess.run([exe], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                             timeout=timeout, check=False).stdout
    except (OSError, subprocess.TimeoutExpired):
        return {}
    return parse_facts(out.decode("utf-8", "replace"))


def backend(facts):
    """A short name for the host's KVM, for reasons."""
    if facts.get("pvm") == "1":
        return "a PVM backend (kvm_pvm)"
    cpu = facts.get("cpu", "")
    return "%s KVM" % cpu.upper() if cpu in ("vmx", "svm") else "this KVM"


def cannot_run(needs, facts):
    """Why the host's KVM cannot run a test that needs @needs, or None if it can (or if
    the probe could not tell)."""
    for need in needs:
        if need not in CAPABILITIES:
            raise ValueError("unknown KVM capability %r" % need)
    if not facts or facts.get("kvm") != "ok":
        return None                 # no /dev/kvm is run-guest.py's own skip
    for need in needs:
        if need == "triple-fault-shutdown":
            got = facts.get("triple_fault", "")
            if got == "shutdown" or got == "" or got.startswith("error"):
                continue            # can, or the probe could not tell: run the test
            kind, _, detail = got.partition(" ")
            if kind == "internal-error":
                what = "KVM_EXIT_INTERNAL_ERROR" + (", suberror " + detail if detail else "")
            else:
                what = "KVM exit reason " + (detail or got)
            return ("%s ends a guest triple fault with %s instead of KVM_EXIT_SHUTDOWN "
                    "(kvm-probe)" % (backend(facts), what))
    return None
