#!/usr/bin/env python3
"""The session token: handed to each node in its environment, wiped there
once read, and never on a command line.

Run: python3 tests/token_handover.py -v     (build from $FANOUT_BUILD)
Helpers, and the rules every test follows: tests/harness.py.
"""
import os
import unittest

from harness import (HEX64, NODE, READY_DEADLINE, FanoutTest, node_processes,
                     read_proc, wait_until)


WRAPPER_SCRIPT = """#!/bin/sh
# Record the token the orchestrator handed over, then become the node.
printf '%s' "$FANOUT_TOKEN" > '{dir}/token.'"$2"
exec '{node}' --host "$1" --port "$3" --index "$2"
"""


class Token(FanoutTest):
    def check_nodes(self, o, base, n, token=None):
        nodes = wait_until(
            lambda: (lambda d: d if len(d) == n else None)(
                node_processes(base, base + n - 1)),
            READY_DEADLINE, "%d nodes" % n)
        for pid in nodes:
            cmdline = read_proc(pid, "cmdline")
            environ = read_proc(pid, "environ")
            self.assertIsNotNone(cmdline)
            self.assertIsNotNone(environ)
            self.assertIsNone(HEX64.search(cmdline),
                              "a 64-hex token on node %d's command line: %r"
                              % (pid, cmdline))
            for var in environ.split(b"\0"):
                if var.startswith(b"FANOUT_TOKEN="):
                    self.assertIsNone(
                        HEX64.search(var), "node %d's environ still has "
                        "the token: %r" % (pid, var))
            if token:
                self.assertNotIn(token, cmdline)
                self.assertNotIn(token, environ)
        self.assertIsNone(HEX64.search(read_proc(o.pid, "cmdline")))
        if token:
            self.assertNotIn(token, read_proc(o.pid, "environ"))

    def test_token_not_on_command_line(self):
        base = self.ports(3)
        o = self.start(["-n", "3", "-p", str(base), "--json"])
        o.wait_event("ready")
        self.check_nodes(o, base, 3)
        o.close_stdin()
        self.assertEqual(o.wait(), 0, o.err)
        self.assert_clean(base, 3)

    def test_token_handed_over_in_environment_then_wiped(self):
        # A wrapper command records the token it was given, so the test
        # knows the exact value to look for.
        base = self.ports(2)
        wrapper = self.write("wrap.sh", WRAPPER_SCRIPT.format(
            dir=self.dir, node=NODE), 0o755)
        cfg = self.config(base, 2, "[node]\ncommand = %s {host} {index} "
                          "{port}\n" % wrapper, "wrap.ini")
        o = self.start(["-c", cfg, "--json"])
        o.wait_event("ready")
        tokens = set()
        for i in range(2):
            with open(os.path.join(self.dir, "token.%d" % i), "rb") as f:
                tokens.add(f.read())
        self.assertEqual(len(tokens), 1, "one token per run: %r" % tokens)
        token = tokens.pop()
        self.assertRegex(token, rb"^[0-9a-fA-F]{64}$")
        self.check_nodes(o, base, 2, token)
        self.send_acked(o, "with token\n", 1, 2)
        o.close_stdin()
        self.assertEqual(o.wait(), 0, o.err)
        self.assert_clean(base, 2)


if __name__ == "__main__":
    unittest.main()
