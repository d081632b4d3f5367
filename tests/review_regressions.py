#!/usr/bin/env python3
"""Bugs found in review, each pinned by the test named for it.

Run: python3 tests/review_regressions.py -v     (build from $FANOUT_BUILD)
Helpers, and the rules every test follows: tests/harness.py.
"""
import os
import shutil
import unittest

from harness import FAKENODE, NODE, ORCH, FanoutTest, run


class ReviewRegressions(FanoutTest):
    """Bugs found in review, each pinned by the test named for it."""

    def command_config(self, base, n, command):
        return self.config(base, n, "[node]\ncommand = %s\n" % command,
                           "c.ini")

    def test_custom_command_that_never_signals_readiness_is_connected(self):
        base = self.ports(2)
        cfg = self.command_config(
            base, 2, "env -u FANOUT_READY_FD python3 %s --port {port} "
            "--index {index}" % FAKENODE)
        r = self.run_orch(["-c", cfg, "--json"], "one\ntwo\n")
        self.assertEqual(r.rc, 0, r)
        self.assert_broadcasts(r.events(), [3, 3], 2)
        self.assert_clean(base, 2)

    def test_node_under_a_forking_wrapper_is_not_mistaken_for_orphan(self):
        base = self.ports(2)
        cfg = self.command_config(
            base, 2, "timeout 60 %s --port {port} --index {index}" % NODE)
        r = self.run_orch(["-c", cfg, "--json"], "one\n")
        self.assertEqual(r.rc, 0, r)
        self.assert_broadcasts(r.events(), [3], 2)
        self.assert_clean(base, 2)

    def test_install_path_with_a_blank(self):
        base = self.ports(2)
        bindir = os.path.join(self.dir, "with space")
        os.mkdir(bindir)
        for path in (ORCH, NODE):
            shutil.copy2(path, bindir)
        r = run([os.path.join(bindir, "orchestrator"), "-n", "2", "-p",
                 str(base), "--json"], self.dir, b"x\n",
                stdout_errors="strict")
        self.assertEqual(r.rc, 0, r)
        self.assert_broadcasts(r.events(), [1], 2)


if __name__ == "__main__":
    unittest.main()
