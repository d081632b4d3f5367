#!/usr/bin/env python3
"""One integration run under valgrind memcheck: orchestrator and nodes.

The orchestrator runs 3 nodes (valgrind follows them: --trace-children),
broadcasts lines holding every byte value, and shuts down at EOF. Every
process's valgrind log must report no error and no leak.
Run: python3 tests/memcheck.py -v     (build from $FANOUT_BUILD)
"""
import glob
import os
import re
import shutil
import tempfile
import unittest

import harness

VALGRIND = shutil.which("valgrind")


@unittest.skipUnless(VALGRIND, "valgrind is not installed")
class MemcheckRun(harness.FanoutTest):
    def run_memcheck(self, base, extra, data, hosts=None, launcher=None,
                     skip="*/sh,*/dash,*/cat"):
        """Run the orchestrator of 3 nodes under memcheck with data as
        its input, what skip names (what handlers run) not traced; return the
        run and its valgrind logs. With hosts and launcher, the nodes
        are started by host daemons."""
        # A static node (the default) would drown memcheck in false
        # reports from glibc's own allocator: use the dynamic one.
        node = os.environ.get("FANOUT_NODE_DYNAMIC")
        command = ("[node]\ncommand = %s --host {host} --port {port} "
                   "--index {index}\n" % node) if node else "[node]\n"
        if launcher:
            command = ("hosts = %s\nlauncher = %s\n[node]\n"
                       % (hosts, launcher))
        cfg = self.config(base, 3, "%s[connect]\ntimeout_ms = 30000\n"
                          "[broadcast]\nack_timeout_ms = 20000\n[node]\n%s"
                          % (command, extra), "vg.ini")
        logs = tempfile.mkdtemp(prefix="fanout-vg-")
        self.addCleanup(shutil.rmtree, logs, True)
        cmd = [VALGRIND, "--quiet", "--trace-children=yes",
               "--trace-children-skip=" + skip,
               "--leak-check=full",
               "--show-leak-kinds=definite,indirect,possible",
               "--errors-for-leak-kinds=definite,indirect,possible",
               "--log-file=%s/vg.%%p.log" % logs,
               harness.ORCH, "-c", cfg, "--json"]
        r = harness.run(cmd, self.dir, data, timeout=120,
                        stdout_errors="strict")
        return r, glob.glob(os.path.join(logs, "vg.*.log"))

    def test_handlers_under_memcheck_have_no_error_and_no_leak(self):
        for handler in ("shell", "pipe"):
            base = self.ports(3)
            r, files = self.run_memcheck(
                base, "handler = %s\nhandler_command = cat\n" % handler,
                b"echo one\nprintf 'two\\377'\nexit 3\necho four\n")
            self.assertEqual(r.rc, 1 if handler == "shell" else 0, r)
            self.assertEqual(len([e for e in r.events()
                                  if e["event"] == "broadcast"]), 4, r)
            self.assert_quiet(files, base)

    def test_run_under_memcheck_has_no_error_and_no_leak(self):
        base = self.ports(3)
        every_byte = bytes(b for b in range(256) if b != 0x0A)
        data = b"hello\n" + every_byte + b"\n" + b"last without newline"
        r, files = self.run_memcheck(base, "", data)
        self.assertEqual(r.rc, 0, r)
        self.assert_broadcasts(r.events(), [5, 255, 20], 3)
        self.assert_quiet(files, base)

    @unittest.skipUnless(os.environ.get("FANOUT_NODE_DYNAMIC"),
                         "no dynamic node to run under memcheck")
    def test_host_mode_under_memcheck_has_no_error_and_no_leak(self):
        # Two loopback hosts, each with its host daemon (the dynamic node
        # in host mode, exec'd by the launcher's sh, traced too: a shell
        # not traced would run it natively) and its nodes.
        base = self.ports(3)
        launcher = ("sh -c 'exec %s --host-mode' {host}"
                    % os.environ["FANOUT_NODE_DYNAMIC"])
        r, files = self.run_memcheck(
            base, "", b"hello\n", hosts="127.0.0.1, 127.0.0.2",
            launcher=launcher, skip="*/cat")
        self.assertEqual(r.rc, 0, r)
        self.assert_broadcasts(r.events(), [5], 3)
        self.assertGreaterEqual(len(files), 6, "orchestrator, 2 launchers "
                                "(then host daemons), 3 nodes")
        self.assert_quiet(files, base)

    def assert_quiet(self, files, base):
        """Every valgrind log is empty, and nothing of the run is left."""
        self.assertGreaterEqual(len(files), 4, "orchestrator + 3 nodes")
        for path in files:
            with open(path) as f:
                text = f.read()
            # --quiet leaves a log empty unless something was wrong.
            self.assertFalse(re.search(r"\S", text),
                             "valgrind reported in %s:\n%s" % (path, text))
        for pid, port in harness.node_processes(base, base + 2).items():
            self.fail("node %d left on port %d" % (pid, port))
        self.assertFalse(set(range(base, base + 3)) &
                         harness.listening_ports(), "ports left")


if __name__ == "__main__":
    unittest.main()
