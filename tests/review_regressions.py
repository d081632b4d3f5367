#!/usr/bin/env python3
"""Bugs found in review (fixed in "Fix faults found in review: revived
dead nodes, uncounted skips, wrappers"), one test each, named after the
bug it pins: each failed before its fix.

Run: python3 tests/review_regressions.py -v     (build from $FANOUT_BUILD)
Helpers, and the rules every test follows: tests/harness.py.
"""
import os
import shutil
import unittest

from harness import FAKENODE, NODE, ORCH, FanoutTest, run


class CustomCommandNeverConnected(FanoutTest):
    """The orchestrator waited for the readiness byte of every node, but a
    custom [node] command (a wrapper script, ssh) may never pass it on:
    such nodes were never connected. Custom commands are now connected
    with retry."""

    def test_custom_command_without_readiness_byte_was_never_connected(
            self):
        base = self.ports(2)
        cfg = self.config(base, 2, "[node]\ncommand = env -u FANOUT_READY_FD "
                          "python3 %s --port {port} --index {index}\n"
                          % FAKENODE, "c.ini")
        r = self.run_orch(["-c", cfg, "--json"], "one\ntwo\n")
        self.assertEqual(r.rc, 0, r)
        self.assert_broadcasts(r.events(), [3, 3], 2)
        self.assert_clean(base, 2)


class NodeUnderForkingWrapperTookItselfForAnOrphan(FanoutTest):
    """The node compared its parent with the orchestrator's pid, so under
    a wrapper that forks it (timeout, ssh) it thought the orchestrator
    gone and exited. It now compares with the parent it saw at start."""

    def test_node_under_forking_wrapper_took_itself_for_an_orphan(self):
        base = self.ports(2)
        cfg = self.config(base, 2, "[node]\ncommand = timeout 60 %s --port "
                          "{port} --index {index}\n" % NODE, "c.ini")
        r = self.run_orch(["-c", cfg, "--json"], "one\n")
        self.assertEqual(r.rc, 0, r)
        self.assert_broadcasts(r.events(), [3], 2)
        self.assert_clean(base, 2)


class BlankInInstallPathSplitTheNodeCommand(FanoutTest):
    """The built-in node command was a template with the install path
    pasted in, then split into words at blanks: installed under a path
    with a blank, the orchestrator could not start its nodes. Its argv is
    now built directly."""

    def test_blank_in_install_path_split_the_node_command(self):
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
