#!/usr/bin/env python3
"""Many nodes: a thousand end to end; an open-file limit too low for the
fleet is named, with exit 69.

Run: python3 tests/many_nodes.py -v     (build from $FANOUT_BUILD)
Helpers, and the rules every test follows: tests/harness.py.
"""
import shutil
import unittest

from harness import ORCH, SANITIZER, FanoutTest, run


class OpenFileLimit(FanoutTest):
    @unittest.skipUnless(shutil.which("setpriv") and shutil.which("prlimit"),
                         "setpriv or prlimit missing")
    def test_nofile_limit_too_low_is_named(self):
        base = self.ports(100)
        # Without CAP_SYS_RESOURCE even root cannot raise the hard limit.
        cmd = ["setpriv", "--bounding-set", "-sys_resource", "--inh-caps",
               "-sys_resource", "prlimit", "--nofile=64:64", ORCH, "-n",
               "100", "-p", str(base)]
        r = run(cmd, self.dir, None)
        err = r.stderr
        self.assertEqual(r.rc, 69, err)
        self.assertIn("RLIMIT_NOFILE", err)
        self.assertRegex(err, r"100 nodes need \d+ open files")
        self.assert_clean(base, 100)


class Thousand(FanoutTest):
    @unittest.skipUnless(SANITIZER == "none",
                         "a thousand sanitized processes are too heavy")
    def test_thousand_nodes_end_to_end(self):
        base = self.ports(1000)
        lines = ["line %d" % i for i in range(20)]
        self.run_lines(base, 1000, lines, timeout=60)
        self.assert_clean(base, 1000)


if __name__ == "__main__":
    unittest.main()
