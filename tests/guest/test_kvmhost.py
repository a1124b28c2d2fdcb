#!/usr/bin/env python3
"""Unit test of the KVM-host decision (tests/guest/kvmhost.py), with the facts of each
kind of host as inputs: none, PVM (shared/KVM-HOSTS.md), real SVM/VMX, and probes that
could not tell."""
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import kvmhost  # noqa: E402

NEEDS = ["triple-fault-shutdown"]

PVM = "pvm=1\ncpu=none\nkvm=ok\ntriple_fault=internal-error 1\n"
SVM = "pvm=0\ncpu=svm\nkvm=ok\ntriple_fault=shutdown\n"
VMX = "pvm=0\ncpu=vmx\nkvm=ok\ntriple_fault=shutdown\n"
NO_KVM = "pvm=0\ncpu=none\nkvm=absent (No such file or directory)\n"


class Decide(unittest.TestCase):
    def decide(self, text, needs=NEEDS):
        return kvmhost.cannot_run(needs, kvmhost.parse_facts(text))

    def test_pvm_skips_triple_fault_with_reason(self):
        why = self.decide(PVM)
        self.assertIn("PVM backend (kvm_pvm)", why)
        self.assertIn("KVM_EXIT_INTERNAL_ERROR, suberror 1", why)
        self.assertIn("instead of KVM_EXIT_SHUTDOWN", why)

    def test_pvm_runs_everything_else(self):
        self.assertIsNone(self.decide(PVM, needs=[]))

    def test_real_kvm_runs_it(self):
        self.assertIsNone(self.decide(SVM))
        self.assertIsNone(self.decide(VMX))

    def test_no_kvm_is_not_this_decision(self):
        self.assertIsNone(self.decide(NO_KVM))      # run-guest.py skips: no /dev/kvm

    def test_probe_that_could_not_tell_runs_the_test(self):
        self.assertIsNone(self.decide(""))
        self.assertIsNone(self.decide("kvm=ok\n"))
        self.assertIsNone(self.decide("kvm=ok\ntriple_fault=error (KVM_RUN: EFAULT)\n"))

    def test_other_exit_on_a_non_pvm_host_is_named(self):
        why = self.decide("pvm=0\ncpu=vmx\nkvm=ok\ntriple_fault=exit 17\n")
        self.assertIn("VMX KVM", why)
        self.assertIn("KVM exit reason 17", why)

    def test_unknown_capability_is_an_error(self):
        with self.assertRaises(ValueError):
            self.decide(SVM, needs=["teleport"])

    def test_parse(self):
        f = kvmhost.parse_facts("a=1\nnoise\nb = two words \n")
        self.assertEqual(f, {"a": "1", "b": "two words"})

    def test_probe_missing_gives_no_facts(self):
        self.assertEqual(kvmhost.probe("/nonexistent/kvm-probe"), {})


if __name__ == "__main__":
    unittest.main()
