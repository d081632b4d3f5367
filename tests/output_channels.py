#!/usr/bin/env python3
"""Output channels (SPEC §13): the orchestrator's own standard streams,
closed, stalled or gone, and what its nodes print, whatever the bytes.
Each test pins a fault of issue 11, part B, and failed before its fix.

Run: python3 tests/output_channels.py -v     (build from $FANOUT_BUILD)
Helpers, and the rules every test follows: tests/harness.py.
"""
import os
import subprocess
import unittest

from harness import NODE, ORCH, RUN_TIMEOUT, FanoutTest, parse_events

PRINTER = """#!/bin/sh
# Print what the test wants, then run the real node.
printf '{text}'
exec {node} --port "$1" --index "$2"
"""


class ClosedStandardDescriptors(FanoutTest):
    """Started with a standard descriptor closed, the orchestrator took
    its epoll descriptor as standard input and failed after the whole
    fleet had started (exit 1). Closed ones are reopened on /dev/null
    first."""

    def run_closed(self, redirect, n=2):
        base = self.ports(n)
        sh = "exec %s -n %d -p %d --json %s" % (ORCH, n, base, redirect)
        p = subprocess.run(["sh", "-c", sh], cwd=self.dir,
                           stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, timeout=RUN_TIMEOUT)
        self.assert_clean(base, n)
        return p

    def test_closed_stdin_reads_as_end_of_input(self):
        p = self.run_closed("<&-")
        self.assertEqual(p.returncode, 0, p)
        evs = parse_events(p.stdout.decode().splitlines(), strict=True)
        self.assertEqual([e["event"] for e in evs], ["ready", "shutdown"])
        self.assertEqual(evs[-1]["reason"], "eof")
        self.assertNotIn(b"Invalid argument", p.stderr)

    def test_closed_stdout_and_stderr_still_run_clean(self):
        for redirect in (">&-", "2>&-", ">&- 2>&-"):
            with self.subTest(redirect=redirect):
                p = self.run_closed(redirect + " <&-")
                self.assertEqual(p.returncode, 0, p)


class NodeOutputEscaped(FanoutTest):
    """The README promises control characters are shown as \\xNN; the
    UTF-8 form of a C1 control (U+009B, CSI: C2 9B) reached the terminal
    as it was, and so did a lone 0x9B."""

    def node_prints(self, text):
        base = self.ports(1)
        script = self.write("printer.sh", PRINTER.format(text=text,
                                                         node=NODE), 0o755)
        cfg = self.config(base, 1, "[node]\ncommand = %s {port} {index}\n"
                          % script)
        p = subprocess.run([ORCH, "-c", cfg], cwd=self.dir, input=b"x\n",
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           timeout=RUN_TIMEOUT)
        self.assertEqual(p.returncode, 0, p)
        self.assert_clean(base, 1)
        lines = [l for l in p.stderr.splitlines()
                 if l.startswith(b"[node 0] ")]
        self.assertEqual(len(lines), 1, p)
        return lines[0]

    def test_c1_control_characters_in_node_output_are_escaped(self):
        line = self.node_prints("\\302\\2332J\\302\\205csi \\233red\\n")
        self.assertEqual(line, b"[node 0] \\xc2\\x9b2J\\xc2\\x85csi "
                         b"\\x9bred")

    def test_valid_utf8_in_node_output_passes(self):
        line = self.node_prints("caf\\303\\251 \\342\\202\\254 "
                                "\\360\\237\\230\\200\\n")
        self.assertEqual(line, "[node 0] café € 😀".encode())


if __name__ == "__main__":
    unittest.main()
