#!/usr/bin/env python3
"""A node that fails while the fleet runs (SPEC §5): killed (reported,
reaped, missing from the broadcast in flight without waiting for its
deadline), restarted with backoff on failure up to the limit, or stopped
(its acks reported late).

Run: python3 tests/node_faults.py -v     (build from $FANOUT_BUILD)
Helpers, and the rules every test follows: tests/harness.py.
"""
import os
import re
import signal
import time
import unittest

from harness import HOST_RX, NUM, FanoutTest, proc_state, wait_until


class NodeKilledWhileRunning(FanoutTest):
    def test_node_killed_while_running(self):
        base = self.ports(3)
        o = self.start_fleet(base, 3, "[broadcast]\nack_timeout_ms = 3000\n")
        self.send_acked(o, "before\n", 1, 3)

        # Broadcast #2 is in flight (node 2 is stopped) when node 2 is
        # SIGKILLed: it is counted missing there.
        pid = self.stop_node(base, 2, 3)
        t0 = time.monotonic()
        o.send("in flight\n")
        os.kill(pid, signal.SIGKILL)

        ex = o.wait_events("node_exit", 1)[0]
        self.assertEqual((ex["index"], ex["pid"], ex["code"], ex["signal"]),
                         (2, pid, None, 9), ex)
        # Reported after waitpid(): reaped already, no zombie.
        self.assertNotEqual(proc_state(pid), "Z", "node %d is a zombie"
                            % pid)
        wait_until(lambda: proc_state(pid) is None, 1.0,
                   "node %d to be reaped" % pid)
        o.wait_line("err", r"^node 2 \(%s:%d, pid %d\) killed by signal 9 "
                    r"\(Killed\)" % (HOST_RX, base + 2, pid))

        ev = o.wait_broadcast(2)
        self.assertEqual((ev["acked"], ev["expected"], ev["missing"]),
                         (2, 3, [2]), ev)
        # A dead node cannot ack: its in-flight broadcast needs no
        # deadline to be reported.
        self.assertLess(time.monotonic() - t0, 2.5,
                        "broadcast #2 waited for the ack deadline of a "
                        "dead node: %r" % ev)

        o.send("after\n")
        ev = o.wait_broadcast(3)
        self.assertEqual((ev["acked"], ev["expected"], ev["missing"]),
                         (2, 3, [2]), ev)
        self.assertEqual(len(self.ports_by_pid(base, 3)), 2)
        o.close_stdin()
        self.assertEqual(o.wait(), 1, o.err)
        sd = o.wait_event("shutdown", 0)
        self.assertEqual((sd["reason"], sd["status"]), ("eof", 1), sd)
        self.assertEqual(len(o.events_so_far("node_exit")), 1, o.out)
        self.assert_nothing_left(base, 3)


class RestartOnFailure(FanoutTest):
    EXTRA = "[node]\nrestart = on-failure\n[broadcast]\nack_timeout_ms = 500\n"
    CONNECTED = r"^node 2 \(%s:%d, pid (\d+)\) connected after a restart$"

    def test_restart_on_failure(self):
        base = self.ports(3)
        port = base + 2
        o = self.start_fleet(base, 3, self.EXTRA)
        old = self.node_pid(base, 2, 3)
        os.kill(old, signal.SIGKILL)
        o.wait_line("err", r"^node 2 \(%s:%d, pid %d\) killed by signal 9 "
                    r"\(Killed\)$" % (HOST_RX, port, old))
        o.wait_line("err", r"^node 2 \(%s:%d\b[^)]*\) restarting in 100 ms "
                    r"\(restart 1 of at most 5 within 60 s\)$"
                    % (HOST_RX, port))
        new = int(o.wait_matches("err", self.CONNECTED % (HOST_RX, port),
                                 1)[0].group(1))
        self.assertNotEqual(new, old)
        self.assertEqual(self.ports_by_pid(base, 3).get(new), port,
                         "the restarted node is not on its port")
        o.send("after the restart\n")
        ev = o.wait_broadcast(1)
        self.assertEqual((ev["acked"], ev["expected"], ev["missing"]),
                         (3, 3, []), ev)
        o.close_stdin()
        self.assertEqual(o.wait(), 1, "a node died: %r" % o.err)
        self.assert_nothing_left(base, 3)

    def test_restart_gives_up_after_too_many_failures(self):
        base = self.ports(3)
        port = base + 2
        o = self.start_fleet(base, 3, self.EXTRA)
        pid = self.node_pid(base, 2, 3)
        for k in range(1, 6):
            os.kill(pid, signal.SIGKILL)
            o.wait_line("err", r"^node 2 \(%s:%d\b[^)]*\) restarting in "
                        r"%d ms \(restart %d of at most 5 within 60 s\)$"
                        % (HOST_RX, port, 100 << (k - 1), k))
            m = o.wait_matches("err", self.CONNECTED % (HOST_RX, port), k)
            new = int(m[k - 1].group(1))
            self.assertNotEqual(new, pid)
            pid = new
        os.kill(pid, signal.SIGKILL)
        o.wait_line("err", r"^node 2 \(%s:%d\b[^)]*\) failed 6 times "
                    r"within 60 s; not restarting it again$" % (HOST_RX, port))
        self.assertEqual(len(o.wait_events("node_exit", 6)), 6, o.out)
        o.send("given up\n")
        ev = o.wait_broadcast(1)
        self.assertEqual((ev["acked"], ev["expected"], ev["missing"]),
                         (2, 3, [2]), ev)
        self.assertNotIn(port, self.ports_by_pid(base, 3).values())
        o.close_stdin()
        self.assertEqual(o.wait(), 1, o.err)
        self.assertEqual(len(re.findall(r"restarting in",
                                        "\n".join(o.err))), 5, o.err)
        self.assert_nothing_left(base, 3)


class StoppedNode(FanoutTest):
    def test_stopped_node_acks_late(self):
        base = self.ports(3)
        o = self.start_fleet(base, 3, "[broadcast]\nack_timeout_ms = 300\n")
        self.send_acked(o, "one\n", 1, 3)

        pid = self.stop_node(base, 1, 3)
        t0 = time.monotonic()
        o.send("two\n")
        o.send("three\n")
        for seq in (2, 3):
            ev = o.wait_broadcast(seq, 5)
            self.assertEqual((ev["acked"], ev["expected"], ev["missing"],
                              ev["corrupt"]), (2, 3, [1], []), ev)
        # Reported at the deadline, not held up by the stopped node.
        self.assertLess(time.monotonic() - t0, 2.0, o.out)
        human = r"^#%d acked 2/3 in %s ms, slowest node [02]; missing: " \
                r"node 1 \(%s:%d, pid %d\)$"
        for seq in (2, 3):
            o.wait_line("err", human % (seq, NUM, HOST_RX, base + 1, pid), 5)

        os.kill(pid, signal.SIGCONT)
        late = r"^node 1 \(%s:%d, pid %d\) late ack for #%%d \(counted as " \
               r"late\)$" % (HOST_RX, base + 1, pid)
        for seq in (2, 3):
            o.wait_line("err", late % seq, 5)
        o.send("four\n")
        ev = o.wait_broadcast(4)
        self.assertEqual((ev["acked"], ev["expected"], ev["missing"],
                          ev["corrupt"]), (3, 3, [], []), ev)
        o.close_stdin()
        self.assertEqual(o.wait(), 1, "acks were missing: %r" % o.err)
        bcs = o.events_so_far("broadcast")
        self.assertEqual([e["seq"] for e in bcs], [1, 2, 3, 4],
                         "each broadcast reported once: %r" % bcs)
        self.assertEqual(len([l for l in o.err if "late ack" in l]), 2,
                         o.err)
        self.assert_nothing_left(base, 3)


if __name__ == "__main__":
    unittest.main()
