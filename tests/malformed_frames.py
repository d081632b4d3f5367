#!/usr/bin/env python3
"""Malformed frames both ways (SPEC §4): from a node (tests/fakenode.py as
node 1), which is dropped or counted corrupt; and to a node (the test
plays the orchestrator), which exits 1 naming the fault.

Run: python3 tests/malformed_frames.py -v     (build from $FANOUT_BUILD)
Helpers, and the rules every test follows: tests/harness.py.
"""
import socket
import time
import unittest

from harness import (ACK, EXIT_DEADLINE, FAULT_DEADLINE, HEADER, MSG, WELCOME,
                     FanoutTest, frame, header, msg_frame, wait_closed)


class MalformedFromNode(FanoutTest):
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
        self.check_dropped("bad-version", "protocol version 9; this "
                           "orchestrator speaks version 2")

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


    def test_a_node_of_another_protocol_version_is_named_and_refused(self):
        base, cfg = self.fake_config("old-version")
        r = self.run_orch(["-c", cfg], "never sent\n", timeout=15)
        self.assertEqual(r.rc, 69, r)
        self.assertLess(r.secs, FAULT_DEADLINE, r)
        self.assertRegex(r.stdout + r.stderr, r"\bnode 1\b.*the node "
                         r"speaks fanout protocol version 1, this "
                         r"orchestrator speaks version 2", r)
        self.assert_nothing_left(base, self.N)


class MalformedToNode(FanoutTest):
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
        self.check_rejected(frame(MSG, bytes(12), version=1),
                            "protocol version 1; this node speaks version 2")

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


if __name__ == "__main__":
    unittest.main()
