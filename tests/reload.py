#!/usr/bin/env python3
"""Reload, on SIGHUP or /reload: the fleet scales up and down, the staying
nodes and their connections kept; an edited file with an error is
reported and the running configuration kept.

Run: python3 tests/reload.py -v     (build from $FANOUT_BUILD)
Helpers, and the rules every test follows: tests/harness.py.
"""
import os
import re
import signal
import unittest

from harness import (EXIT_DEADLINE, FAKENODE, NODE, FanoutTest,
                     connections_to,
                     listening_ports, node_processes, stop_process,
                     wait_until)


class Reload(FanoutTest):
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


# A node that ignores BYE and SIGTERM: its retirement takes the grace.
STUBBORN = "python3 %s --mode ignore-term" % FAKENODE


class ReloadReadsOnlyARegularNonEmptyFile(FanoutTest):
    """A reload that cannot read a regular, non-empty file changes nothing
    and says why (SPEC §3); it took the built-in defaults before: 2 nodes
    became 3, timeouts reset."""

    def assert_unchanged_after_sighup(self, o, base, why):
        os.kill(o.pid, signal.SIGHUP)
        o.wait_line("err", r"reload: .*%s.*; keeping the running "
                    r"configuration" % why, EXIT_DEADLINE)
        self.send_acked(o, "still two\n", 1, 2)
        self.assertEqual(o.events_so_far("scale"), [])
        self.assertEqual(sorted(node_processes(base, base + 2).values()),
                         [base, base + 1])

    def test_reload_of_a_config_read_from_a_pipe_changes_nothing(self):
        base = self.ports(3)
        r, w = os.pipe()
        os.write(w, ("[cluster]\nnum_clients = 2\nbase_port = %d\n"
                     % base).encode())
        os.close(w)
        self.addCleanup(os.close, r)
        o = self.start(["-c", "/dev/fd/%d" % r, "--json"], pass_fds=(r,))
        self.assertEqual(o.wait_event("ready")["nodes"], 2, o.err)
        self.assert_unchanged_after_sighup(o, base, "not a regular file")

    def test_reload_of_a_file_being_rewritten_changes_nothing(self):
        base = self.ports(3)
        o = self.start_fleet(base, 2)
        with open(os.path.join(self.dir, "fanout.ini"), "w"):
            pass  # truncated, as an editor does before writing
        self.assert_unchanged_after_sighup(o, base, "empty")

    def test_reload_of_a_fifo_without_writer_does_not_hang(self):
        base = self.ports(3)
        o = self.start_fleet(base, 2)
        path = os.path.join(self.dir, "fanout.ini")
        os.unlink(path)
        os.mkfifo(path)
        self.assert_unchanged_after_sighup(o, base, "not a regular file")


class HostsResolvedAtStart(FanoutTest):
    def test_scale_up_needs_no_lookup_in_the_loop(self):
        """A host first used by a scale-up was looked up inside the event
        loop (getaddrinfo can take seconds). Every host is now resolved
        at start-up: here the name is gone from /etc/hosts by the time
        the scale-up uses it."""
        name = "fanout-test-%d.invalid" % os.getpid()
        try:
            with open("/etc/hosts", "a") as f:
                f.write("127.0.0.1 %s\n" % name)
        except OSError as e:
            self.skipTest("cannot add a name to /etc/hosts: %s" % e)
        self.addCleanup(self.forget_host, name)
        base = self.ports(2)
        # The nodes bind 127.0.0.1 whatever their host is called.
        extra = ("hosts = 127.0.0.1, %s\n[node]\ncommand = %s --host "
                 "127.0.0.1 --port {port} --index {index}\n" % (name, NODE))
        o = self.start(["-c", self.config(base, 1, extra), "--json"])
        self.assertEqual(o.wait_event("ready")["nodes"], 1, o.err)
        self.forget_host(name)
        self.config(base, 2, extra)
        os.kill(o.pid, signal.SIGHUP)
        sc = o.wait_events("scale", 1)[0]
        self.assertEqual((sc["to"], sc["nodes"]), (2, 2), o.err)
        o.close_stdin()
        self.assertEqual(o.wait(), 0)
        self.assert_clean(base, 2)

    @staticmethod
    def forget_host(name):
        with open("/etc/hosts") as f:
            lines = [l for l in f if name not in l]
        with open("/etc/hosts", "w") as f:
            f.writelines(lines)


class ScaleDownWithWorkInFlight(FanoutTest):
    def test_nodes_retired_with_broadcasts_in_flight_ack_them_first(self):
        """A scale-down sent SIGTERM with BYE: a retired node could die
        before acking what it had been sent, counted missing, exit 1.
        BYE comes after those messages, and SIGTERM only if the node
        has not left by half the grace."""
        base = self.ports(4)
        o = self.start_fleet(base, 4)
        self.config(base, 1)
        o.send("".join("line %d\n" % i for i in range(200)) + "/reload\n" +
               "".join("more %d\n" % i for i in range(200)))
        o.close_stdin()
        self.assertEqual(o.wait(), 0, o.err)
        bcs = o.events_so_far("broadcast")
        self.assertEqual(len(bcs), 400)
        self.assertEqual([b for b in bcs if b["missing"]], [])
        self.assert_clean(base, 4)


class ReloadDuringAScale(FanoutTest):
    def test_reload_during_a_change_of_size_is_done_after_it(self):
        """A reload while the last change of size was under way was
        refused ("try again") and never retried: the file said 3, the
        fleet stayed at 1."""
        base = self.ports(3)
        o = self.start_fleet(base, 3, "[node]\ncommand = %s "
                             "--port {port} --index {index}\n"
                             "stop_timeout_ms = 1500\n" % STUBBORN)
        self.config(base, 1, "[node]\ncommand = %s --port {port} --index "
                    "{index}\nstop_timeout_ms = 1500\n" % STUBBORN)
        os.kill(o.pid, signal.SIGHUP)
        o.wait_line("err", r"reload: .* 1 nodes wanted, 3 running")
        self.config(base, 3, "[node]\ncommand = %s --port {port} --index "
                    "{index}\nstop_timeout_ms = 1500\n" % STUBBORN)
        os.kill(o.pid, signal.SIGHUP)
        o.wait_line("err", r"reload: the last change of size is still "
                    r"under way; reading the file again when it is done")
        sc = o.wait_events("scale", 2)
        self.assertEqual([(e["from"], e["to"]) for e in sc],
                         [(3, 1), (1, 3)], o.err)
        self.send_acked(o, "three\n", 1, 3)
        o.close_stdin()
        o.wait()
        self.assert_clean(base, 3)


class ReloadOrder(FanoutTest):
    def test_reload_just_before_end_of_input_is_done(self):
        """A /reload followed at once by end of piped input was skipped:
        the stop for end of input came first."""
        base = self.ports(3)
        o = self.start_fleet(base, 2)
        self.config(base, 3)
        o.send("/reload")  # the last line, with no newline: read at EOF
        o.close_stdin()
        o.wait_line("err", r"reload: .*fanout\.ini read; 3 nodes wanted, "
                    r"2 running", EXIT_DEADLINE)
        self.assertEqual(o.wait(), 0)
        self.assert_clean(base, 3)


class RetiredNodesMissesStayItsOwn(FanoutTest):
    def test_missed_ack_of_a_retired_node_is_not_charged_to_its_successor(
            self):
        """After a scale down and up, the acks a retired node owed were
        charged to the new node at its index."""
        base = self.ports(3)
        extra = ("[node]\ncommand = %s\n[broadcast]\nack_timeout_ms = "
                 "5000\n" % self.one_fake_command(2, "no-ack"))
        o = self.start_fleet(base, 3, extra)
        # #1 stays in flight past the scale down and up: node 0 is
        # stopped and node 2 never acks it.
        stop_process(list(node_processes(base, base))[0])
        o.send("x\n")
        for k, n in ((1, 2), (2, 3)):
            self.config(base, n, extra)
            os.kill(o.pid, signal.SIGHUP)
            sc = o.wait_events("scale", k)[k - 1]
            self.assertEqual(sc["to"], n, sc)
        ev = o.wait_broadcast(1)
        self.assertEqual(ev["missing"], [0, 2], ev)
        o.send("/status\n")
        m = o.wait_line("err", r"^\s+2\s+\S+\s+\d+\s+connected\s+(\d+)\s+"
                        r"(\d+)\s")
        self.assertEqual(m.group(2), "0", "node 2's successor charged "
                         "with a miss: %r" % o.err)
        o.close_stdin()
        o.wait()
        self.assert_clean(base, 3)


if __name__ == "__main__":
    unittest.main()
