#!/usr/bin/env python3
"""Signals to the orchestrator (SPEC §4-§5): SIGINT exits 130 and SIGTERM
143 after an orderly teardown, the ports reusable at once; Ctrl-C at a
real terminal, a second one cutting the grace short; stop_timeout_ms for
nodes that ignore SIGTERM; after a SIGKILL every node exits within 1 s.

Run: python3 tests/signals.py -v     (build from $FANOUT_BUILD)
Helpers, and the rules every test follows: tests/harness.py.
"""
import os
import signal
import time
import unittest

from harness import (EXIT_DEADLINE, FAKENODE, FanoutTest, listening_ports,
                     node_processes, proc_state, wait_until)


class IntAndTerm(FanoutTest):
    def run_until_signal(self, base, n, sig):
        o = self.start(["-n", str(n), "-p", str(base), "--json"])
        self.assertEqual(o.wait_event("ready")["nodes"], n)
        self.send_acked(o, "before the signal\n", 1, n)
        self.assertEqual(len(node_processes(base, base + n - 1)), n)
        t0 = time.monotonic()
        os.kill(o.pid, sig)
        rc = o.wait(EXIT_DEADLINE)      # stdin still open
        self.assertLess(time.monotonic() - t0, EXIT_DEADLINE)
        sd = o.wait_event("shutdown", 0)
        self.assertEqual(sd["reason"], "signal", sd)
        self.assertEqual(sd["status"], rc, sd)
        o.close_stdin()
        return rc

    def test_sigint_exits_130(self):
        base = self.ports(3)
        self.assertEqual(self.run_until_signal(base, 3, signal.SIGINT), 130)
        self.assert_clean(base, 3)

    def test_sigterm_exits_143_and_ports_are_reusable(self):
        base = self.ports(3)
        self.assertEqual(self.run_until_signal(base, 3, signal.SIGTERM),
                         143)
        self.assert_clean(base, 3)
        # An immediate restart binds the same ports (SO_REUSEADDR).
        o = self.start(["-n", "3", "-p", str(base), "--json"])
        self.assertEqual(o.wait_event("ready")["nodes"], 3, o.err)
        self.send_acked(o, "again\n", 1, 3)
        o.close_stdin()
        self.assertEqual(o.wait(), 0, o.err)
        self.assert_clean(base, 3)


# A node command that records each SIGTERM it gets in a file and runs
# fakenode --mode ignore-term under it, so a test can see that the
# orchestrator has entered its grace period. Arguments: {port} {index}.
TERM_LOG_SCRIPT = """#!/bin/sh
trap 'echo TERM >> "{dir}/term.$2"' TERM
python3 '{fake}' --port "$1" --index "$2" --mode ignore-term &
child=$!
while kill -0 "$child" 2>/dev/null; do
    wait "$child"
done
"""


class CtrlCAtTerminal(FanoutTest):
    def test_ctrl_c_at_terminal_tears_down_and_exits_130(self):
        base = self.ports(3)
        o, master = self.start_in_terminal(
            ["-c", self.config(base, 3), "--json"])
        o.wait_event("ready")
        os.write(master, b"typed at the terminal\r")
        ev = o.wait_broadcast(1)
        self.assertEqual((ev["acked"], ev["expected"]), (3, 3), ev)
        nodes = self.ports_by_pid(base, 3)
        self.assertEqual(len(nodes), 3)
        for pid in nodes:
            self.assertNotEqual(os.getpgid(pid), o.pid,
                                "node %d in the foreground group" % pid)
        os.write(master, b"\x03")
        self.assertEqual(o.wait(EXIT_DEADLINE), 130, o.err)
        sd = o.wait_event("shutdown", 0)
        self.assertEqual((sd["reason"], sd["status"]), ("signal", 130), sd)
        # Orderly: no node died on its own of the Ctrl-C.
        self.assertEqual(o.events_so_far("node_exit"),
                         [], o.out)
        self.assert_nothing_left(base, 3)

    def test_second_ctrl_c_during_grace_kills_at_once(self):
        base = self.ports(2)
        script = self.write("term-log.sh", TERM_LOG_SCRIPT.format(
            dir=self.dir, fake=FAKENODE), 0o755)
        cfg = self.config(base, 2, "[node]\ncommand = %s {port} {index}\n"
                          "stop_timeout_ms = 30000\n" % script)
        o, master = self.start_in_terminal(["-c", cfg, "--json"])
        o.wait_event("ready")
        os.write(master, b"\x03")
        # The nodes got their SIGTERM (and ignore it): the grace period
        # has begun.
        marks = [os.path.join(self.dir, "term.%d" % i) for i in range(2)]
        wait_until(lambda: all(map(os.path.exists, marks)), EXIT_DEADLINE,
                   "SIGTERM to reach both nodes")
        self.assertIsNone(o.p.poll(), "exited without a grace period: %r"
                          % o.err)
        self.assertEqual(len([a for a in self.strays().values()
                              if FAKENODE in a]), 2)
        t0 = time.monotonic()
        os.write(master, b"\x03")
        rc = o.wait(EXIT_DEADLINE)
        self.assertLess(time.monotonic() - t0, 2.0,
                        "the second Ctrl-C did not cut the grace short")
        self.assertEqual(rc, 130, o.err)
        self.assertEqual(o.wait_event("shutdown", 0)["status"], 130)
        self.assert_nothing_left(base, 2)


class SigtermToOrchestrator(FanoutTest):
    def test_sigterm_exits_143_and_restart_on_same_ports(self):
        base = self.ports(3)
        o = self.start_fleet(base, 3)
        self.send_acked(o, "one\n", 1, 3)
        os.kill(o.pid, signal.SIGTERM)
        self.assertEqual(o.wait(EXIT_DEADLINE), 143, o.err)
        sd = o.wait_event("shutdown", 0)
        self.assertEqual((sd["reason"], sd["status"]), ("signal", 143), sd)
        self.assert_nothing_left(base, 3)
        o2 = self.start_fleet(base, 3)
        self.send_acked(o2, "again\n", 1, 3)
        o2.close_stdin()
        self.assertEqual(o2.wait(), 0, o2.err)
        self.assert_nothing_left(base, 3)

    def test_sigterm_kills_nodes_that_ignore_it_after_stop_timeout(self):
        base = self.ports(2)
        o = self.start_fleet(base, 2, "[node]\ncommand = python3 %s --port "
                             "{port} --index {index} --mode ignore-term\n"
                             "stop_timeout_ms = 500\n" % FAKENODE)
        t0 = time.monotonic()
        os.kill(o.pid, signal.SIGTERM)
        self.assertEqual(o.wait(EXIT_DEADLINE), 143, o.err)
        secs = time.monotonic() - t0
        self.assertGreaterEqual(secs, 0.45, "no grace period")
        self.assertLess(secs, 3.0, "stop_timeout_ms not honoured")
        self.assert_nothing_left(base, 2)


class SigkillToOrchestrator(FanoutTest):
    def test_sigkill_to_orchestrator_every_node_exits_within_1s(self):
        base = self.ports(3)
        o = self.start_fleet(base, 3)
        nodes = self.ports_by_pid(base, 3)
        self.assertEqual(len(nodes), 3)
        self.stop_node(base, 1, 3)
        t0 = time.monotonic()
        os.kill(o.pid, signal.SIGKILL)
        wait_until(lambda: all(proc_state(p) in (None, "Z") for p in nodes),
                   1.0, "every node (one stopped) to exit within 1 s "
                   "of the orchestrator's SIGKILL")
        self.assertLess(time.monotonic() - t0, 1.0)
        self.assertEqual(o.wait(), -signal.SIGKILL)
        wait_until(lambda: not any(base <= p < base + 3
                                   for p in listening_ports()),
                   1.0, "the nodes' ports to close")
        self.assert_nothing_left(base, 3)


if __name__ == "__main__":
    unittest.main()
