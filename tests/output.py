#!/usr/bin/env python3
"""What the orchestrator prints: JSON events with --json, human lines
without; and what it passes on from the nodes' own output: escaped,
quoted with a failed node's last lines, into --log-dir files, without
colour off a terminal.

Run: python3 tests/output.py -v     (build from $FANOUT_BUILD)
Helpers, and the rules every test follows: tests/harness.py.
"""
import os
import unittest

from harness import NODE, NUM, FanoutTest


class FiveNodesJson(FanoutTest):
    def test_five_nodes_json(self):
        base = self.ports(5)
        lines = ["hello", "fan out to five", "h\u00e9llo w\u00f6rld"]
        r, evs = self.run_lines(base, 5, lines)
        self.assertEqual(evs[0]["expected"], 5, r)
        self.assertIsInstance(evs[0]["ms"], (int, float))
        sd = self.shutdown_event(evs)
        self.assertEqual(sd["reason"], "eof", r)
        self.assertEqual(sd["status"], 0, r)
        self.assertEqual([e for e in evs if e["event"] == "node_exit"], [],
                         "no node exited unexpectedly")
        self.assert_clean(base, 5)


class HumanOutput(FanoutTest):
    def test_human_output(self):
        base = self.ports(3)
        r = self.run_orch(["-n", "3", "-p", str(base)], "one\ntwo\n")
        self.assertEqual(r.rc, 0, r)
        self.assertRegex(r.lines[0], r"^ready: 3/3 nodes in %s ms$" % NUM)
        self.assertRegex(r.lines[1], r"^#1 acked 3/3 in %s ms, slowest "
                         r"node [0-2]$" % NUM)
        self.assertRegex(r.lines[2], r"^#2 acked 3/3 in %s ms, slowest "
                         r"node [0-2]$" % NUM)
        self.assertRegex(r.lines[-1], r"^shutdown \(eof\): ")
        self.assertEqual(len(r.lines), 4, r)
        # No ./server_config.ini in the working directory: built-in
        # defaults, said once.
        notices = [l for l in r.stderr.splitlines() if "default" in l]
        self.assertEqual(len(notices), 1, r)
        self.assert_clean(base, 3)


class NoColour(FanoutTest):
    def test_no_colour_when_not_a_terminal(self):
        base = self.ports(2)
        r = self.run_orch(["-n", "2", "-p", str(base)], "x\n")
        self.assertEqual(r.rc, 0, r)
        self.assertNotIn("\x1b", r.stdout + r.stderr)


class LastWords(FanoutTest):
    def test_failed_node_quoted_with_its_last_lines(self):
        base = self.ports(2)
        script = self.write("dying.sh", "#!/bin/sh\necho first >&2\n"
                            "echo second >&2\necho third >&2\n"
                            "echo last words >&2\nexit 4\n", 0o755)
        cfg = self.config(base, 2, "[node]\ncommand = %s {port}\n" % script,
                          "c.ini")
        r = self.run_orch(["-c", cfg], "")
        self.assertEqual(r.rc, 69, r)
        self.assertRegex(r.stderr, r"exited 4: last words\n"
                         r".*before that: second\n.*before that: third")


class LogDir(FanoutTest):
    def test_log_dir_takes_node_output(self):
        base = self.ports(2)
        logs = os.path.join(self.dir, "logs")
        os.mkdir(logs)
        script = self.write("chatty.sh", "#!/bin/sh\necho hello from $2 >&2\n"
                            "exec %s \"$@\"\n" % NODE, 0o755)
        cfg = self.config(base, 2, "[node]\ncommand = %s --port {port} "
                          "--index {index}\n" % script, "c.ini")
        r = self.run_orch(["-c", cfg, "--log-dir", logs], "x\n")
        self.assertEqual(r.rc, 0, r)
        self.assertNotIn("[node", r.stderr)
        for i in range(2):
            with open(os.path.join(logs, "node-%d.log" % i)) as f:
                self.assertEqual(f.read(), "hello from %d\n" % (base + i))
        self.assert_clean(base, 2)


NOISY_SCRIPT = r"""#!/bin/sh
# Arguments: PORT INDEX. Print terminal controls to stderr, then be a node.
printf '\033[31mred\007 bell\r\bback\033]0;title\007\033[0m\177\n' >&2
printf 'relayed by ssh\r\n' >&2
exec '{node}' --port "$1" --index "$2"
"""


class NodeOutputSanitised(FanoutTest):
    def test_escape_sequences_in_node_output_are_escaped(self):
        n = 2
        base = self.ports(n)
        script = self.write("noisy.sh", NOISY_SCRIPT.format(node=NODE),
                            0o755)
        cfg = self.config(base, n, "[node]\ncommand = %s {port} {index}\n"
                          % script, "noisy.ini")
        r = self.run_orch(["-c", cfg, "--json"], "x\n")
        self.assertEqual(r.rc, 0, r)
        self.assert_broadcasts(r.events(), [1], n)
        for bad in ("\x1b", "\x07", "\x08", "\x7f", "\r"):
            self.assertNotIn(bad, r.stderr,
                             "raw %r on the orchestrator's stderr" % bad)
        lines = [l for l in r.stderr.splitlines()
                 if l.startswith("[node 0] ") and "red" in l]
        self.assertEqual(len(lines), 1, r)
        self.assertIn("\\x1b[31mred\\x07", lines[0], r)
        self.assertIn("back", lines[0], r)
        # A CR before the newline is not part of the line (SPEC §8).
        self.assertIn("[node 0] relayed by ssh\n", r.stderr, r)
        self.assert_clean(base, n)


if __name__ == "__main__":
    unittest.main()
