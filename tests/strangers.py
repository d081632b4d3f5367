#!/usr/bin/env python3
"""Strangers on a node's port (issue 4, SPEC §6): a silent one is closed
after 1 s, a wrong hello or garbage at once, a flood or a burst does not
keep the orchestrator out, a second orchestrator is refused (build/node
run directly); and start-up while strangers knock on every port.

Run: python3 tests/strangers.py -v     (build from $FANOUT_BUILD)
Helpers, and the rules every test follows: tests/harness.py.
"""
import os
import signal
import threading
import time
import unittest

from harness import (ACK, BYE, FAULT_DEADLINE, HELLO, NODE, WELCOME,
                     WELCOME_BODY, FanoutTest, Strangers, connect, frame,
                     msg_frame, still_open, stop_process, wait_closed,
                     wait_until, welcome_frame)


class NodeAuthentication(FanoutTest):
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
            ("hello of version 1 with a wrong token",
             frame(HELLO, os.urandom(32), version=1)),
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


GARBAGE = b"\xde\xad\xbe\xef garbage \x00\x01\x02" * 8


class StartupWithStrangers(FanoutTest):
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
        self.send_acked(o, "despite strangers\n", 1, n, FAULT_DEADLINE)
        # Strangers in while the session runs do not disturb it either.
        wait_until(lambda: strangers.connected >= 4 * n, 5.0,
                   "strangers to get in")
        self.send_acked(o, "still there\n", 2, n, FAULT_DEADLINE)
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


if __name__ == "__main__":
    unittest.main()
