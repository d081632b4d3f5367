#!/usr/bin/env python3
"""Standard input: each line one broadcast, pipelined; empty lines
skipped, the last line sent without its newline, //text, exit and /quit,
/send to one node; over-long lines refused and the next ones sent; every
byte value carried intact; EOF on /dev/null or a regular file; EOF with
broadcasts in flight waits for them.

Run: python3 tests/stdin.py -v     (build from $FANOUT_BUILD)
Helpers, and the rules every test follows: tests/harness.py.
"""
import json
import time
import unittest

from harness import EXIT_DEADLINE, FanoutTest


class Pipelined(FanoutTest):
    def test_pipelined_2000_lines_10_nodes(self):
        base = self.ports(10)
        lines = ["line %d %s" % (i, "x" * (i % 97)) for i in range(1, 2001)]
        r, evs = self.run_lines(base, 10, lines, timeout=30)
        sd = self.shutdown_event(evs)
        self.assertEqual((sd["reason"], sd["status"]), ("eof", 0))
        self.assert_clean(base, 10)


class Lines(FanoutTest):
    def run_json(self, text, n=2):
        base = self.ports(n)
        r = self.run_orch(["-n", str(n), "-p", str(base), "--json"], text)
        evs = r.events()
        self.assert_clean(base, n)
        return r, evs

    def test_last_line_without_newline_is_sent(self):
        r, evs = self.run_json("first\nlast-no-newline")
        self.assertEqual(r.rc, 0, r)
        self.assert_broadcasts(evs, [5, 15], 2)

    def test_empty_lines_ignored(self):
        r, evs = self.run_json("\n\na\n\n\nbb\n\n")
        self.assertEqual(r.rc, 0, r)
        self.assert_broadcasts(evs, [1, 2], 2)

    def test_double_slash_sends_slash_text(self):
        r, evs = self.run_json("//x\n")
        self.assertEqual(r.rc, 0, r)
        self.assert_broadcasts(evs, [2], 2)

    def test_exit_stops_early(self):
        r, evs = self.run_json("a\nexit\nbbb\ncccc\n")
        self.assertEqual(r.rc, 0, r)
        self.assert_broadcasts(evs, [1], 2)
        sd = self.shutdown_event(evs)
        self.assertEqual((sd["reason"], sd["status"]), ("exit", 0), r)

    def test_quit_stops_early(self):
        r, evs = self.run_json("a\n/quit\nbbb\n")
        self.assertEqual(r.rc, 0, r)
        self.assert_broadcasts(evs, [1], 2)
        self.assertEqual(self.shutdown_event(evs)["reason"], "exit", r)


class LongLine(FanoutTest):
    def test_long_line_refused(self):
        base = self.ports(2)
        cfg = self.config(base, 2, "[broadcast]\nmax_message_bytes = 16\n",
                          "small.ini")
        text = "0123456789abcdef\n" "0123456789abcdefg\n" "ok\n"
        r = self.run_orch(["-c", cfg, "--json"], text)
        self.assertEqual(r.rc, 1, r)
        self.assertIn("max_message_bytes", r.stderr, r)
        evs = r.events()
        # 16 bytes is allowed, 17 refused, and the next line goes on.
        self.assert_broadcasts(evs, [16, 2], 2)
        sd = self.shutdown_event(evs)
        self.assertEqual((sd["reason"], sd["status"]), ("eof", 1), r)
        self.assert_clean(base, 2)


class SendToOneNode(FanoutTest):
    def test_send_to_one_node(self):
        base = self.ports(3)
        r = self.run_orch(["-n", "3", "-p", str(base), "--json"],
                          "/send 1 just you\n/send 9 nobody\nall\n")
        # The line refused makes the run exit 1, as any refused line.
        self.assertEqual(r.rc, 1, r)
        bcs = [e for e in r.events() if e["event"] == "broadcast"]
        self.assertEqual([(b["acked"], b["expected"], b["bytes"])
                          for b in bcs], [(1, 1, 8), (3, 3, 3)])
        self.assertIn("usage: /send SET text", r.stderr)
        self.assert_clean(base, 3)


EVERY_BYTE = bytes(b for b in range(256) if b != 0x0a)


class HostileInput(FanoutTest):
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
        cfg = self.config(base, n, "[broadcast]\nmax_message_bytes = %d\n"
                          % limit, "limit.ini")
        text = (EVERY_BYTE + b"\n" + b"\xff" * (limit + 1) + b"\n" +
                b"y" * limit + b"\n" + b"next\n" + b"last-\x00\xc3(")
        r = self.run_orch(["-c", cfg, "--json"], text)
        self.assertRegex(r.stderr, r"max_message_bytes", r)
        evs = r.events()
        self.assert_broadcasts(evs, [255, limit, 4, 8], n)
        # A refused line is a failure the status reports (as in LongLine).
        self.assertEqual(r.rc, 1, r)
        self.assertEqual(self.shutdown_event(evs)["reason"], "eof", r)
        self.assert_clean(base, n)


class StdinNotAPipe(FanoutTest):
    def test_stdin_without_lines_is_eof(self):
        # EOF without any line, on stdin that is /dev/null or an empty
        # regular file (epoll refuses both): graceful shutdown, exit 0.
        empty = self.write("empty.txt", "")
        blank = self.write("blank.txt", "\n\n")
        for path in ("/dev/null", empty, blank):
            with self.subTest(stdin=path):
                base = self.ports(2)
                with open(path, "rb") as f:
                    o = self.start(["-n", "2", "-p", str(base), "--json"],
                                   stdin=f)
                    o.wait_event("ready")
                    rc = o.wait(EXIT_DEADLINE)
                self.assertEqual(rc, 0, o.err)
                sd = o.wait_event("shutdown", 0)
                self.assertEqual((sd["reason"], sd["status"]), ("eof", 0))
                self.assert_clean(base, 2)

    def test_regular_file_with_lines(self):
        # The EOF after the last line may be read when every ack is
        # already in: shutdown must still follow.
        base = self.ports(2)
        path = self.write("lines.txt", "one\ntwo\n")
        with open(path, "rb") as f:
            o = self.start(["-n", "2", "-p", str(base), "--json"], stdin=f)
            o.wait_event("ready")
            rc = o.wait(EXIT_DEADLINE)
        self.assertEqual(rc, 0, o.err)
        evs = [json.loads(l) for l in o.out]
        self.assert_broadcasts(evs, [3, 3], 2)
        self.assert_clean(base, 2)


class EofWithBroadcastsInFlight(FanoutTest):
    def test_eof_waits_for_broadcasts_in_flight(self):
        base = self.ports(3)
        o = self.start_fleet(base, 3, "[broadcast]\nack_timeout_ms = 500\n")
        self.stop_node(base, 1, 3)
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
