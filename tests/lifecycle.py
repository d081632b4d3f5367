#!/usr/bin/env python3
"""Lifecycle tests for fanout (issue 3, SPEC §4-§5): crashes, restarts,
stopped nodes, a real terminal's Ctrl-C, signals to the orchestrator,
failed start-ups, reload and EOF with broadcasts in flight.

Run: python3 tests/lifecycle.py -v     (build from $FANOUT_BUILD)

Built on tests/harness.py and tests/fakenode.py. Same rules: real
processes and real signals, every wait is for an event (an output line, a
process state, a port) with a deadline, every process is bounded in time,
leftovers are killed by PID.
Python 3 standard library only.
"""
import os
import re
import signal
import time
import unittest

from harness import (EXIT_DEADLINE, FAKENODE, HOST_RX, NUM, FanoutTest,
                     connections_to, listen_on, listening_ports,
                     node_processes, proc_state, stop_process, wait_until)


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


# ----------------------------------------------------------------- tests

class L01NodeKilledWhileRunning(FanoutTest):
    def test_node_killed_while_running(self):
        base = self.ports(3)
        cfg = self.config(base, 3, "[broadcast]\nack_timeout_ms = 3000\n")
        o = self.start(["-c", cfg, "--json"])
        o.wait_event("ready")
        o.send("before\n")
        ev = o.wait_broadcast(1)
        self.assertEqual((ev["acked"], ev["expected"]), (3, 3), ev)

        # Broadcast #2 is in flight (node 2 is stopped) when node 2 is
        # SIGKILLed: it is counted missing there.
        pid = self.node_pid(base, 2, 3)
        stop_process(pid)
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


class L02RestartOnFailure(FanoutTest):
    EXTRA = "[node]\nrestart = on-failure\n[broadcast]\nack_timeout_ms = 500\n"
    CONNECTED = r"^node 2 \(%s:%d, pid (\d+)\) connected after a restart$"

    def test_restart_on_failure(self):
        base = self.ports(3)
        port = base + 2
        o = self.start(["-c", self.config(base, 3, self.EXTRA), "--json"])
        o.wait_event("ready")
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
        o = self.start(["-c", self.config(base, 3, self.EXTRA), "--json"])
        o.wait_event("ready")
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


class L03StoppedNode(FanoutTest):
    def test_stopped_node_acks_late(self):
        base = self.ports(3)
        cfg = self.config(base, 3, "[broadcast]\nack_timeout_ms = 300\n")
        o = self.start(["-c", cfg, "--json"])
        o.wait_event("ready")
        o.send("one\n")
        ev = o.wait_broadcast(1)
        self.assertEqual((ev["acked"], ev["expected"]), (3, 3), ev)

        pid = self.node_pid(base, 1, 3)
        stop_process(pid)
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


class L04CtrlCAtTerminal(FanoutTest):
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


class L05SigtermToOrchestrator(FanoutTest):
    def test_sigterm_exits_143_and_restart_on_same_ports(self):
        base = self.ports(3)
        cfg = self.config(base, 3)
        o = self.start(["-c", cfg, "--json"])
        o.wait_event("ready")
        o.send("one\n")
        self.assertEqual(o.wait_broadcast(1)["acked"], 3)
        os.kill(o.pid, signal.SIGTERM)
        self.assertEqual(o.wait(EXIT_DEADLINE), 143, o.err)
        sd = o.wait_event("shutdown", 0)
        self.assertEqual((sd["reason"], sd["status"]), ("signal", 143), sd)
        self.assert_nothing_left(base, 3)
        o2 = self.start(["-c", cfg, "--json"])
        self.assertEqual(o2.wait_event("ready")["nodes"], 3, o2.err)
        o2.send("again\n")
        self.assertEqual(o2.wait_broadcast(1)["acked"], 3)
        o2.close_stdin()
        self.assertEqual(o2.wait(), 0, o2.err)
        self.assert_nothing_left(base, 3)

    def test_sigterm_kills_nodes_that_ignore_it_after_stop_timeout(self):
        base = self.ports(2)
        cfg = self.config(base, 2, "[node]\ncommand = python3 %s --port "
                          "{port} --index {index} --mode ignore-term\n"
                          "stop_timeout_ms = 500\n" % FAKENODE)
        o = self.start(["-c", cfg, "--json"])
        o.wait_event("ready")
        t0 = time.monotonic()
        os.kill(o.pid, signal.SIGTERM)
        self.assertEqual(o.wait(EXIT_DEADLINE), 143, o.err)
        secs = time.monotonic() - t0
        self.assertGreaterEqual(secs, 0.45, "no grace period")
        self.assertLess(secs, 3.0, "stop_timeout_ms not honoured")
        self.assert_nothing_left(base, 2)


class L06SigkillToOrchestrator(FanoutTest):
    def test_sigkill_to_orchestrator_every_node_exits_within_1s(self):
        base = self.ports(3)
        o = self.start(["-c", self.config(base, 3), "--json"])
        o.wait_event("ready")
        nodes = self.ports_by_pid(base, 3)
        self.assertEqual(len(nodes), 3)
        stopped = self.node_pid(base, 1, 3)
        stop_process(stopped)
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


class L07NodeDiesDuringStartup(FanoutTest):
    EXTRA = "[connect]\ntimeout_ms = 10000\n"

    def check_fast_69(self, r, base, n, needle_rx):
        self.assertEqual(r.rc, 69, r)
        self.assertLess(r.secs, 3.0, "start-up did not fail fast: %r" % r)
        self.assertRegex(r.stderr, needle_rx, r)
        evs = r.events()
        self.assertEqual([e for e in evs if e["event"] in
                          ("ready", "broadcast")], [], r)
        self.assertEqual(self.shutdown_event(evs)["status"], 69, r)

    def test_command_that_does_not_exist(self):
        base = self.ports(2)
        cfg = self.config(base, 2, self.EXTRA + "[node]\ncommand = "
                          "/nonexistent/node --port {port}\n")
        r = self.run_orch(["-c", cfg, "--json"], "never sent\n")
        self.check_fast_69(r, base, 2, r"node [01] \(%s:(%d|%d)\b.*"
                           r"No such file or directory"
                           % (HOST_RX, base, base + 1))
        self.assertIn("/nonexistent/node", r.stderr, r)
        self.assert_nothing_left(base, 2)

    def test_port_taken(self):
        base = self.ports(3)
        taken = base + 1
        self.addCleanup(listen_on(taken).close)
        r = self.run_orch(["-c", self.config(base, 3, self.EXTRA),
                           "--json"], "never sent\n")
        self.check_fast_69(r, base, 3, r"node 1 \(%s:%d\b.*\) exited 1: "
                           r".*Address already in use" % (HOST_RX, taken))
        self.assert_nothing_left(base, 3, allow_listen=(taken,))

    def test_crash_before_ready(self):
        base = self.ports(3)
        cfg = self.config(base, 3, self.EXTRA + "[node]\ncommand = %s\n"
                          % self.one_fake_command(1, "crash-early"))
        r = self.run_orch(["-c", cfg, "--json"], "never sent\n")
        self.check_fast_69(r, base, 3, r"node 1 \(%s:%d\b.*\) exited 3: "
                           r"fatal: crashed before ready"
                           % (HOST_RX, base + 1))
        self.assert_nothing_left(base, 3)


class L08NodeNeverReady(FanoutTest):
    def test_node_never_ready_gives_up_at_timeout(self):
        base = self.ports(3)
        cfg = self.config(base, 3, "[connect]\ntimeout_ms = 1000\n"
                          "[node]\ncommand = %s\n"
                          % self.one_fake_command(1, "no-ready"))
        r = self.run_orch(["-c", cfg, "--json"], "never sent\n")
        self.assertEqual(r.rc, 69, r)
        self.assertGreaterEqual(r.secs, 0.9, "gave up before timeout_ms")
        self.assertLess(r.secs, 5.0, "did not give up at timeout_ms")
        self.assertRegex(r.stderr, r"node 1 \(%s:%d\b[^\n]*\b1000 ms"
                         % (HOST_RX, base + 1), r)
        self.assertNotRegex(r.stderr, r"node [02] \(", r)
        self.assertEqual(self.shutdown_event(r.events())["status"], 69, r)
        self.assert_nothing_left(base, 3)


class L09Reload(FanoutTest):
    def test_reload_scales_up_down_and_keeps_fleet_on_error(self):
        base = self.ports(6)
        hi = base + 5
        cfg = self.config(base, 3)
        o = self.start(["-c", cfg, "--json"])
        o.wait_event("ready")
        first = self.ports_by_pid(base, 6)
        self.assertEqual(sorted(first.values()), [base, base + 1, base + 2])
        conns = connections_to(set(first.values()))
        self.assertEqual(len(conns), 3, conns)

        # 3 -> 6 on SIGHUP.
        self.config(base, 6)
        os.kill(o.pid, signal.SIGHUP)
        sc = o.wait_events("scale", 1)[0]
        self.assertEqual((sc["from"], sc["to"], sc["nodes"]), (3, 6, 6), sc)
        o.send("six\n")
        ev = o.wait_broadcast(1)
        self.assertEqual((ev["acked"], ev["expected"], ev["missing"]),
                         (6, 6, []), ev)
        now = self.ports_by_pid(base, 6)
        self.assertEqual(sorted(now.values()), list(range(base, hi + 1)))
        for pid, port in first.items():
            self.assertEqual(now.get(pid), port, "node on port %d was "
                             "replaced" % port)
        self.assertEqual({p: l for p, l in connections_to(
            set(first.values())).items()}, conns,
            "connections to the staying nodes were not kept")

        # 6 -> 2 on /reload.
        self.config(base, 2)
        o.send("/reload\n")
        sc = o.wait_events("scale", 2)[1]
        self.assertEqual((sc["from"], sc["to"], sc["nodes"]), (6, 2, 2), sc)
        wait_until(lambda: not node_processes(base + 2, hi), EXIT_DEADLINE,
                   "surplus nodes to exit")
        wait_until(lambda: not any(base + 2 <= p <= hi
                                   for p in listening_ports()),
                   EXIT_DEADLINE, "surplus ports to close")
        o.send("two\n")
        ev = o.wait_broadcast(2)
        self.assertEqual((ev["acked"], ev["expected"], ev["missing"]),
                         (2, 2, []), ev)
        kept = {pid: p for pid, p in first.items() if p < base + 2}
        self.assertEqual(self.ports_by_pid(base, 6), kept)
        # Surplus nodes were stopped, not killed.
        self.assertEqual([e for e in o.events_so_far("node_exit")
                          if e.get("signal") == 9], [], o.out)

        # An edited file with an error: reported, fleet kept.
        self.write("fanout.ini", "[cluster]\nnum_clientz = 2\n"
                   "base_port = %d\n" % base)
        os.kill(o.pid, signal.SIGHUP)
        o.wait_line("err", re.escape("%s:2:" % cfg) +
                    r".*keeping the running configuration")
        o.send("still two\n")
        ev = o.wait_broadcast(3)
        self.assertEqual((ev["acked"], ev["expected"], ev["missing"]),
                         (2, 2, []), ev)
        self.assertEqual(self.ports_by_pid(base, 6), kept)
        o.close_stdin()
        self.assertEqual(o.wait(), 0, o.err)
        self.assertEqual(len(o.events_so_far("scale")), 2, o.out)
        self.assert_nothing_left(base, 6)


class L10EofWithBroadcastsInFlight(FanoutTest):
    def test_eof_waits_for_broadcasts_in_flight(self):
        base = self.ports(3)
        cfg = self.config(base, 3, "[broadcast]\nack_timeout_ms = 500\n")
        o = self.start(["-c", cfg, "--json"])
        o.wait_event("ready")
        pid = self.node_pid(base, 1, 3)
        stop_process(pid)
        t0 = time.monotonic()
        o.send("a\nbb\nccc\n")
        o.close_stdin()
        self.assertEqual(o.wait(EXIT_DEADLINE), 1, o.err)
        self.assertGreaterEqual(time.monotonic() - t0, 0.45,
                                "shutdown did not wait for the deadline")
        evs = o.events_so_far()
        bcs = [e for e in evs if e["event"] == "broadcast"]
        self.assertEqual([(e["seq"], e["bytes"]) for e in bcs],
                         [(1, 1), (2, 2), (3, 3)], o.out)
        for ev in bcs:
            self.assertEqual((ev["acked"], ev["expected"], ev["missing"]),
                             (2, 3, [1]), ev)
        sd = self.shutdown_event(evs)
        self.assertEqual((sd["reason"], sd["status"]), ("eof", 1), sd)
        self.assert_nothing_left(base, 3)


if __name__ == "__main__":
    unittest.main()
