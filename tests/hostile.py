#!/usr/bin/env python3
"""Hostile-input tests for fanout (issue 4, SPEC §4 and §6): whatever can
reach a node's port or come back from a node, and whatever arrives on the
orchestrator's stdin.

Run: python3 tests/hostile.py -v     (build from $FANOUT_BUILD)

    H01  node authentication: silent strangers, wrong hellos, a flood, a
         second orchestrator (build/node run directly by the test)
    H02  start-up while strangers hammer every port of the range
    H03  malformed frames from a node (tests/fakenode.py as node 1)
    H04  malformed frames to a node (a fake orchestrator in the test)
    H05  standard input: every byte value, over-long lines, last line
    H06  a node's output cannot drive the console's terminal

Built on tests/harness.py (FanoutTest, Orch, pick_ports, ...). Same
rules: only 127.0.0.1, every wait is for an event with a deadline, every
process is bounded in time and leftovers are killed by PID.
Python 3 standard library only.
"""
import os
import signal
import socket
import threading
import time
import unittest

from harness import (ACK, BYE, EXIT_DEADLINE, FAULT_DEADLINE, HEADER, HELLO,
                     MSG, NODE, WELCOME, WELCOME_BODY, FanoutTest,
                     Strangers, connect, frame, header, msg_frame,
                     still_open, stop_process, wait_closed, wait_until,
                     welcome_frame)


# ------------------------------------------------- 1. node authentication

class H01NodeAuthentication(FanoutTest):
    def test_silent_stranger_closed_after_1s_and_never_blocks_orchestrator(
            self):
        node = self.node(index=3)
        stranger = self.track(connect(node.port))
        t0 = time.monotonic()
        client, took = node.admit(budget=0.5)
        self.track(client)
        self.assertTrue(still_open(stranger),
                        "the stranger was closed before the client was "
                        "admitted: the test proves nothing")
        closed = wait_closed(stranger, 3.0) - t0
        self.assertGreaterEqual(closed, 0.9, "stranger closed too early")
        self.assertLessEqual(closed, 2.0, "stranger held too long")
        node.exchange(client, 1, b"after the stranger")
        self.assertTrue(node.running(), node.err)

    def test_wrong_hello_garbage_or_other_frame_closed_at_once(self):
        node = self.node(index=1)
        cases = [
            ("hello with a wrong token", node.hello(os.urandom(32))),
            ("hello with the token in hex",
             frame(HELLO, node.token.hex().encode())),
            ("hello with a short token", frame(HELLO, node.token[:31])),
            ("hello of version 2", frame(HELLO, node.token, version=2)),
            ("hello with reserved bits", frame(HELLO, node.token,
                                               reserved=1)),
            ("garbage bytes", b"\xde\xad\xbe\xef" * 4),
            ("an HTTP request", b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"),
            ("a MSG frame", msg_frame(1, b"hi")),
            ("a BYE frame", frame(BYE)),
            ("a WELCOME frame", welcome_frame(1, 1)),
            ("an ACK frame", frame(ACK, bytes(20))),
        ]
        for what, data in cases:
            with self.subTest(stranger=what):
                s = self.track(connect(node.port))
                t0 = time.monotonic()
                s.sendall(data)
                took = wait_closed(s, 2.0) - t0
                self.assertLess(took, 0.5, "%s closed after %.3f s"
                                % (what, took))
                self.assertTrue(node.running(), node.err)
        client, _ = node.admit(budget=0.5)
        self.track(client)
        node.exchange(client, 1, b"admitted after the strangers")

    def test_flood_of_strangers_does_not_delay_the_orchestrator(self):
        node = self.node(index=2)
        stop = threading.Event()
        dropped = [0]

        def garbage():
            while not stop.is_set():
                try:
                    with connect(node.port, 1.0) as s:
                        while not stop.is_set():
                            s.sendall(b"\xff\x00garbage" * 512)
                except OSError:
                    dropped[0] += 1

        t = threading.Thread(target=garbage, daemon=True)
        t.start()
        self.addCleanup(t.join, 5)
        self.addCleanup(stop.set)
        wait_until(lambda: dropped[0] >= 3, 5.0,
                   "the garbage sender to be dropped thrice")
        for _ in range(30):
            self.track(connect(node.port))
        client, took = node.admit(budget=1.2)
        self.track(client)
        stop.set()
        t.join(5)
        node.exchange(client, 1, b"through the flood")
        self.assertTrue(node.running(), node.err)

    def test_hello_among_a_burst_of_strangers_admitted_without_crash(self):
        # The deterministic form of the flood: while the node is stopped,
        # the orchestrator connects and says hello, then 20 strangers
        # connect; the node wakes to all of them in one go, so its table
        # of connections awaiting a hello overflows while it accepts, and
        # it admits the orchestrator from there.
        node = self.node(index=4)
        self.addCleanup(lambda: node.running() and
                        os.kill(node.pid, signal.SIGCONT))
        stop_process(node.pid)
        client = self.track(connect(node.port))
        client.sendall(node.hello())
        for _ in range(20):
            self.track(connect(node.port))
        os.kill(node.pid, signal.SIGCONT)
        ftype, body = node.reply(client, 1.0)
        self.assertEqual(ftype, WELCOME, node.err)
        self.assertEqual(WELCOME_BODY.unpack(body), (4, node.pid))
        node.exchange(client, 1, b"after the burst")
        self.assertTrue(node.running(), node.err)

    def test_second_orchestrator_refused_first_keeps_working(self):
        node = self.node(index=0)
        first, _ = node.admit()
        self.track(first)
        node.exchange(first, 1, b"first")
        second = self.track(connect(node.port))
        t0 = time.monotonic()
        second.sendall(node.hello())
        took = wait_closed(second, 2.0) - t0
        self.assertLess(took, 0.5, "second orchestrator closed after %.3f s"
                        % took)
        payload = bytes(range(256)) * 40
        node.exchange(first, 2, payload)
        node.exchange(first, 3, b"")
        first.sendall(frame(BYE))
        self.assertEqual(node.wait_exit(2.0), 0, node.err)


# ------------------------------------------- 2. start-up with strangers

class H02StartupWithStrangers(FanoutTest):
    """Strangers knock on every port before and while the orchestrator
    starts. With the readiness descriptor, the orchestrator connects the
    moment a node listens; without it (the node command unsets
    FANOUT_READY_FD), it connects by retrying every 100 to 200 ms, so
    strangers are usually there first, overflowing the node's table of
    connections that have not said hello yet."""

    STRAY_GRACE = 2.0

    def check(self, payload, ready_fd):
        n = 3
        base = self.ports(n)
        args = ["-n", str(n), "-p", str(base), "--json"]
        if not ready_fd:
            cfg = self.write("noready.ini", "[node]\ncommand = env -u "
                             "FANOUT_READY_FD %s --port {port} --index "
                             "{index}\n[connect]\nretry_initial_ms = 100\n"
                             "retry_max_ms = 200\n" % NODE)
            args = ["-c", cfg] + args
        strangers = Strangers(range(base, base + n), payload)
        self.addCleanup(strangers.finish)
        strangers.start()
        wait_until(lambda: strangers.rounds >= 20, 5.0,
                   "strangers to start knocking")
        o = self.start(args)
        ready = o.wait_event("ready")
        self.assertEqual(ready["nodes"], n, o.err)
        self.assertLess(ready["ms"], 1500, "start-up delayed by strangers")
        o.send("despite strangers\n")
        ev = o.wait_broadcast(1, FAULT_DEADLINE)
        self.assertEqual((ev["acked"], ev["expected"]), (n, n), ev)
        # Strangers in while the session runs do not disturb it either.
        wait_until(lambda: strangers.connected >= 4 * n, 5.0,
                   "strangers to get in")
        o.send("still there\n")
        ev = o.wait_broadcast(2, FAULT_DEADLINE)
        self.assertEqual((ev["acked"], ev["expected"]), (n, n), ev)
        strangers.finish()
        o.close_stdin()
        self.assertEqual(o.wait(), 0, o.err)
        self.assert_nothing_left(base, n)

    def test_silent_strangers_do_not_delay_startup(self):
        self.check(None, ready_fd=True)

    def test_garbage_strangers_do_not_delay_startup(self):
        self.check(GARBAGE, ready_fd=True)

    def test_silent_strangers_first_do_not_delay_startup_by_retry(self):
        self.check(None, ready_fd=False)

    def test_garbage_strangers_first_do_not_delay_startup_by_retry(self):
        self.check(GARBAGE, ready_fd=False)


GARBAGE = b"\xde\xad\xbe\xef garbage \x00\x01\x02" * 8


# --------------------------------------- 3. malformed frames from a node

class H03MalformedFromNode(FanoutTest):
    N = 3
    STRAY_GRACE = 2.0   # a wrapper's child is reaped by someone else

    def fake_config(self, mode):
        """A fleet of N whose node 1 is a fakenode in mode."""
        base = self.ports(self.N)
        cfg = self.config(base, self.N, "[node]\ncommand = %s\n"
                          "[connect]\ntimeout_ms = 3000\n"
                          "[broadcast]\nack_timeout_ms = 1000\n"
                          % self.one_fake_command(1, mode), "%s.ini" % mode)
        return base, cfg

    def run_two_broadcasts(self, mode):
        base, cfg = self.fake_config(mode)
        o = self.start(["-c", cfg, "--json"])
        self.assertEqual(o.wait_event("ready")["nodes"], self.N, o.err)
        o.send("first\n")
        b1 = o.wait_broadcast(1, FAULT_DEADLINE)
        o.send("second\n")
        b2 = o.wait_broadcast(2, FAULT_DEADLINE)
        o.close_stdin()
        rc = o.wait(EXIT_DEADLINE)
        return base, o, rc, b1, b2

    def check_dropped(self, mode, what):
        t0 = time.monotonic()
        base, o, rc, b1, b2 = self.run_two_broadcasts(mode)
        for b in (b1, b2):
            self.assertIn(1, b["missing"], b)
            self.assertEqual(b["acked"], 2, b)
            self.assertNotIn(1, b["corrupt"], b)
        self.assertEqual(rc, 1, o.err)
        o.wait_line("err", r"\bnode 1 \(127\.0\.0\.1:%d\b.*(%s)"
                    % (base + 1, what), 0)
        self.assertLess(time.monotonic() - t0, FAULT_DEADLINE)
        self.assert_nothing_left(base, self.N)

    def test_bad_version_drops_node_1(self):
        self.check_dropped("bad-version", "version")

    def test_bad_type_drops_node_1(self):
        self.check_dropped("bad-type", "type")

    def test_too_big_drops_node_1(self):
        self.check_dropped("too-big", "larger|too big|too large|bound|"
                           "exceed|limit")

    def test_cut_short_then_eof_drops_node_1(self):
        self.check_dropped("cut-short", "clos|cut|truncat|short|EOF|lost")

    def test_ack_for_unknown_seq_drops_node_1(self):
        self.check_dropped("unknown-seq", "never sent|unknown")

    def test_garbage_drops_node_1(self):
        self.check_dropped("garbage", "bad frame|version|type|larger|"
                           "length|reserved")

    def check_corrupt(self, mode):
        base, o, rc, b1, b2 = self.run_two_broadcasts(mode)
        for b in (b1, b2):
            self.assertEqual(b["corrupt"], [1], b)
            self.assertEqual((b["acked"], b["expected"]), (2, 3), b)
            self.assertNotIn(1, b["missing"], b)
        self.assertEqual(rc, 1, o.err)
        self.assert_nothing_left(base, self.N)

    def test_ack_with_wrong_checksum_is_corrupt(self):
        self.check_corrupt("bad-crc")

    def test_ack_with_wrong_length_is_corrupt(self):
        self.check_corrupt("bad-len")

    def test_welcome_naming_another_index_fails_startup(self):
        base, cfg = self.fake_config("welcome-wrong")
        r = self.run_orch(["-c", cfg, "--json"], "never sent\n",
                          timeout=15)
        self.assertEqual(r.rc, 69, r)
        self.assertLess(r.secs, FAULT_DEADLINE, r)
        self.assertRegex(r.stderr, r"\bnode 1\b.*handshake", r)
        evs = r.events()
        self.assertEqual([e for e in evs if e["event"] in
                          ("ready", "broadcast")], [], r)
        self.assert_nothing_left(base, self.N)


# ----------------------------------------- 4. malformed frames to a node

class H04MalformedToNode(FanoutTest):
    def admitted(self):
        node = self.node(index=5)
        s, _ = node.admit()
        self.track(s)
        node.exchange(s, 1, b"all is well")
        return node, s

    def check_rejected(self, data, what):
        node, s = self.admitted()
        s.sendall(data)
        rc = node.wait_exit(2.0)
        self.assertEqual(rc, 1, "exit status for %s; stderr=%r"
                         % (what, node.err))
        self.assertRegex(node.err.decode("utf-8", "replace"),
                         "(?i)" + what, "no message naming the fault")
        wait_closed(s, 1.0)

    def test_wrong_version_exits_1(self):
        self.check_rejected(frame(MSG, bytes(12), version=2), "version")

    def test_unknown_type_exits_1(self):
        self.check_rejected(frame(77), "type")

    def test_reserved_bits_exit_1(self):
        self.check_rejected(frame(MSG, bytes(12), reserved=0x100),
                            "reserved")

    def test_length_beyond_bound_exits_1(self):
        # Only the header, announcing a 16 MiB body: the node must not
        # wait for it.
        self.check_rejected(header(MSG, 16 << 20),
                            "larger|too big|too large|bound|exceed|limit")

    def test_hello_again_exits_1(self):
        node, s = self.admitted()
        s.sendall(node.hello())
        rc = node.wait_exit(2.0)
        self.assertEqual(rc, 1, node.err)
        self.assertRegex(node.err.decode("utf-8", "replace"),
                         "(?i)unexpected|type|hello")

    def test_other_node_frames_exit_1(self):
        for ftype, body in ((WELCOME, bytes(8)), (ACK, bytes(20))):
            with self.subTest(type=ftype):
                self.check_rejected(frame(ftype, body),
                                    "unexpected|type")

    def test_frame_cut_short_then_eof_exits(self):
        whole = msg_frame(2, b"cut short")
        for cut in (3, HEADER.size, HEADER.size + 5, len(whole) - 1):
            with self.subTest(cut=cut):
                node, s = self.admitted()
                s.sendall(whole[:cut])
                s.shutdown(socket.SHUT_WR)
                rc = node.wait_exit(2.0)
                self.assertIn(rc, (0, 1), "cut at %d: status %r, stderr=%r"
                              % (cut, rc, node.err))


# ----------------------------------------------------- 5. standard input

EVERY_BYTE = bytes(b for b in range(256) if b != 0x0a)


class H05StandardInput(FanoutTest):
    def test_every_byte_value_is_carried_intact(self):
        n = 3
        base = self.ports(n)
        self.assertEqual(len(EVERY_BYTE), 255)
        r = self.run_orch(["-n", str(n), "-p", str(base), "--json"],
                          EVERY_BYTE + b"\n" + EVERY_BYTE[::-1] + b"\n")
        self.assertEqual(r.rc, 0, r)
        evs = r.events()        # every stdout line is a JSON event
        # Acked by all, none corrupt: each node's checksum matched.
        self.assert_broadcasts(evs, [255, 255], n)
        self.assertEqual(self.shutdown_event(evs)["status"], 0, r)
        self.assert_clean(base, n)

    def test_over_long_line_refused_next_and_last_unterminated_sent(self):
        n = 2
        base = self.ports(n)
        limit = 300
        cfg = self.write("limit.ini", "[cluster]\nnum_clients = %d\n"
                         "base_port = %d\n[broadcast]\n"
                         "max_message_bytes = %d\n" % (n, base, limit))
        text = (EVERY_BYTE + b"\n" + b"\xff" * (limit + 1) + b"\n" +
                b"y" * limit + b"\n" + b"next\n" + b"last-\x00\xc3(")
        r = self.run_orch(["-c", cfg, "--json"], text)
        self.assertRegex(r.stderr, r"max_message_bytes", r)
        evs = r.events()
        self.assert_broadcasts(evs, [255, limit, 4, 8], n)
        # A refused line is a failure the status reports (as in T09).
        self.assertEqual(r.rc, 1, r)
        self.assertEqual(self.shutdown_event(evs)["reason"], "eof", r)
        self.assert_clean(base, n)


# ------------------------------------------------ 6. node output sanitised

NOISY_SCRIPT = r"""#!/bin/sh
# Arguments: PORT INDEX. Print terminal controls to stderr, then be a node.
printf '\033[31mred\007 bell\r\bback\033]0;title\007\033[0m\177\n' >&2
exec '{node}' --port "$1" --index "$2"
"""


class H06NodeOutputSanitised(FanoutTest):
    def test_escape_sequences_in_node_output_are_escaped(self):
        n = 2
        base = self.ports(n)
        script = self.write("noisy.sh", NOISY_SCRIPT.format(node=NODE),
                            0o755)
        cfg = self.write("noisy.ini", "[cluster]\nnum_clients = %d\n"
                         "base_port = %d\n[node]\ncommand = %s {port} "
                         "{index}\n" % (n, base, script))
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
        self.assert_clean(base, n)


if __name__ == "__main__":
    unittest.main()
