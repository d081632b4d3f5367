#!/usr/bin/env python3
"""The node's handlers (SPEC §9), with the test as the orchestrator: the
real node binary, a SETUP, messages, and the ACKs and REPLYs that come
back. exec, shell and pipe; time-outs, output bounds, what a handler's
process inherits, what is left after a stop; and a HELLO of protocol
version 1 refused, naming both versions.

Run: python3 tests/node_handlers.py -v     (build from $FANOUT_BUILD)
Helpers, and the rules every test follows: tests/harness.py.
"""
import os
import re
import signal
import socket
import time
import unittest

from harness import (ACK, ACK_BODY, BYE, HELLO, REPLY, WELCOME, WELCOME_BODY,
                     FanoutTest, ack_fields, alive, children, connect, frame,
                     msg_frame, read_frame, read_proc, setup_frame,
                     split_reply, wait_closed, wait_until)

EXITED, SIGNALED, TIMED_OUT = 0, 1, 2
RESTARTED = 0x01
REPLY_DEADLINE = 5.0   # a reply that is due comes within this
STOP_DEADLINE = 4.0    # a node stops (about 1 s for its handlers) by then


def descendants(pid):
    """Every live process below pid."""
    found, todo = [], [pid]
    while todo:
        for c in children(todo.pop()):
            found.append(c)
            todo.append(c)
    return found


class Reply:
    def __init__(self, body, at):
        (self.seq, self.index, self.how, self.flags, self.code,
         self.dropped, self.output) = split_reply(body)
        self.at = at

    def __repr__(self):
        return ("Reply(seq=%d how=%d flags=%d code=%d dropped=%d %r)"
                % (self.seq, self.how, self.flags, self.code, self.dropped,
                   self.output[:200]))


class Orchestrator:
    """The test's end of one node: a SETUP, then messages; every frame
    that comes back is kept, in order, with when it came."""

    def __init__(self, test, handler, index=0, **setup):
        self.node = test.node(index)
        self.sock, _ = self.node.admit()
        test.track(self.sock)
        # Each message on its way at once (no Nagle wait on our side).
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.sock.sendall(setup_frame(handler, **setup))
        self.seq = 0
        self.sent = {}
        self.frames = []    # (type, seq, when, body)

    def send(self, *payloads):
        """Send the messages in one write; return their seqs."""
        data, seqs = b"", []
        for p in payloads:
            self.seq += 1
            self.sent[self.seq] = p
            data += msg_frame(self.seq, p)
            seqs.append(self.seq)
        self.sock.sendall(data)
        return seqs

    def _read_one(self, deadline):
        ftype, body = read_frame(self.sock, max(deadline - time.monotonic(),
                                                0.01))
        if ftype is None:
            raise AssertionError("node closed the connection; stderr=%r"
                                 % self.node.err)
        seq = int.from_bytes(body[:8], "big")
        if ftype == ACK:
            want = ack_fields(seq, self.node.index, self.sent[seq])
            assert ACK_BODY.unpack(body) == want, (body, want)
        elif ftype != REPLY:
            raise AssertionError("unexpected frame type %d" % ftype)
        self.frames.append((ftype, seq, time.monotonic(), body))

    def reply(self, seq, timeout=REPLY_DEADLINE):
        """The REPLY to message seq (waits for it)."""
        deadline = time.monotonic() + timeout
        while True:
            for ftype, s, at, body in self.frames:
                if ftype == REPLY and s == seq:
                    return Reply(body, at)
            self._read_one(deadline)

    def run(self, payload, timeout=REPLY_DEADLINE):
        return self.reply(self.send(payload)[0], timeout)

    def kinds(self):
        """[(type, seq)] of the frames so far, in order."""
        return [(t, s) for t, s, _, _ in self.frames]


class Exec(FanoutTest):
    def exec_node(self, **setup):
        return Orchestrator(self, "exec", **setup)

    def assertReply(self, r, how, code, output=None, flags=0):
        self.assertEqual((r.how, r.code, r.flags), (how, code, flags), r)
        if output is not None:
            self.assertEqual(r.output, output, r)

    def test_status_and_output(self):
        o = self.exec_node()
        self.assertReply(o.run(b"echo hi"), EXITED, 0, b"hi\n")
        self.assertReply(o.run(b"exit 3"), EXITED, 3, b"")
        self.assertReply(o.run(b"kill -9 $$"), SIGNALED, 9, b"")
        self.assertReply(o.run(b"true"), EXITED, 0, b"")
        r = o.run(b"echo out; echo err >&2; echo out2")
        self.assertReply(r, EXITED, 0, b"out\nerr\nout2\n")
        self.assertEqual(r.index, o.node.index)

    def test_output_bounded_and_counted(self):
        o = self.exec_node(max_reply_bytes=65536)
        r = o.run(b"head -c 3000000 /dev/zero")
        self.assertReply(r, EXITED, 0, bytes(65536))
        self.assertEqual(r.dropped, 3000000 - 65536)

    def test_output_binary_safe(self):
        o = self.exec_node()
        self.assertReply(o.run(b"printf '\\377\\000x'"), EXITED, 0,
                         b"\xff\x00x")

    def test_time_out_sigterm(self):
        o = self.exec_node(timeout_ms=300, stop_timeout_ms=200)
        t0 = time.monotonic()
        r = o.run(b"sleep 100")
        self.assertReply(r, TIMED_OUT, signal.SIGTERM)
        self.assertGreaterEqual(r.at - t0, 0.29)

    def test_time_out_sigkill_when_term_is_trapped(self):
        o = self.exec_node(timeout_ms=300, stop_timeout_ms=200)
        t0 = time.monotonic()
        r = o.run(b"trap '' TERM; sleep 100")
        self.assertReply(r, TIMED_OUT, signal.SIGKILL)
        self.assertGreaterEqual(r.at - t0, 0.49)

    def test_background_child_neither_delays_nor_outlives(self):
        o = self.exec_node(stop_timeout_ms=500)
        t0 = time.monotonic()
        r = o.run(b"sleep 100 & echo $!")
        # Well before the sleep ends, though it holds the output pipe.
        self.assertLess(r.at - t0, 3.0)
        self.assertReply(r, EXITED, 0)
        pid = int(r.output)
        wait_until(lambda: not alive(pid), 3.0,
                   "the background sleep %d to be stopped" % pid)

    def test_stdin_is_dev_null(self):
        o = self.exec_node()
        self.assertReply(o.run(b"cat"), EXITED, 0, b"")

    def test_environment(self):
        o = Orchestrator(self, "exec", index=3)
        r = o.run(b'echo "$FANOUT_INDEX $FANOUT_PORT $FANOUT_HOST '
                  b'${FANOUT_TOKEN-none} ${FANOUT_READY_FD-none}"')
        self.assertReply(r, EXITED, 0, ("3 %d 127.0.0.1 none none\n"
                                        % o.node.port).encode())

    def test_no_descriptor_past_2(self):
        o = self.exec_node()
        self.assertReply(o.run(b"ls /proc/$$/fd"), EXITED, 0, b"0\n1\n2\n")

    def test_acked_at_once_handled_in_order(self):
        o = self.exec_node()
        t0 = time.monotonic()
        seqs = o.send(b"sleep 1.5; echo 1", b"echo 2", b"echo 3")
        for seq, want in zip(seqs, (b"1\n", b"2\n", b"3\n")):
            self.assertReply(o.reply(seq), EXITED, 0, want)
        self.assertEqual(o.kinds(), [(ACK, 1), (ACK, 2), (ACK, 3),
                                     (REPLY, 1), (REPLY, 2), (REPLY, 3)])
        # Every ack came while the first command still ran.
        last_ack = max(at for t, _, at, _ in o.frames if t == ACK)
        self.assertLess(last_ack - t0, 1.2)
        self.assertGreaterEqual(o.frames[3][2] - t0, 1.5)

    def test_queued_message_past_its_deadline_is_not_run(self):
        o = self.exec_node(timeout_ms=300, stop_timeout_ms=500)
        marker = os.path.join(self.dir, "ran")
        first, second = o.send(b"trap '' TERM; sleep 100",
                               b"touch " + marker.encode())
        r2 = o.reply(second)
        self.assertReply(r2, TIMED_OUT, 0, b"")
        r1 = o.reply(first)
        self.assertReply(r1, TIMED_OUT, signal.SIGKILL)
        # Answered on time, while the first still ran.
        self.assertLess(r2.at, r1.at)
        self.assertFalse(os.path.exists(marker))


class Shell(FanoutTest):
    def test_state_persists(self):
        o = Orchestrator(self, "shell")
        self.assertEqual(o.run(b"cd /tmp").code, 0)
        self.assertEqual(o.run(b"pwd").output, b"/tmp\n")
        o.run(b"X=5")
        self.assertEqual(o.run(b"echo $X").output, b"5\n")
        o.run(b"f() { echo fn$1; }")
        self.assertEqual(o.run(b"f 1").output, b"fn1\n")

    def test_not_fooled_by_output_nor_stdin(self):
        o = Orchestrator(self, "shell")
        r = o.run(b"echo 0; false")
        self.assertEqual((r.how, r.code, r.output), (EXITED, 1, b"0\n"))
        r = o.run(b"printf '7\\n' >&2; exit_code=4; (exit 4)")
        self.assertEqual((r.code, r.output), (4, b"7\n"))
        r = o.run(b'read x; echo "got:$x"')
        self.assertEqual((r.code, r.output), (0, b"got:\n"))
        r = o.run(b"echo next")
        self.assertEqual((r.code, r.output, r.flags), (0, b"next\n", 0))

    def test_exit_restarts_the_shell(self):
        o = Orchestrator(self, "shell")
        o.run(b"X=5")
        r = o.run(b"echo bye; exit 3")
        self.assertEqual((r.how, r.code, r.flags, r.output),
                         (EXITED, 3, RESTARTED, b"bye\n"))
        r = o.run(b"echo ${X-unset}")
        self.assertEqual((r.how, r.code, r.flags, r.output),
                         (EXITED, 0, 0, b"unset\n"))

    def test_time_out(self):
        o = Orchestrator(self, "shell", timeout_ms=300, stop_timeout_ms=200)
        r = o.run(b"sleep 100")
        self.assertEqual((r.how, r.code, r.flags),
                         (TIMED_OUT, signal.SIGTERM, RESTARTED))
        r = o.run(b"echo again")
        self.assertEqual((r.how, r.code, r.output), (EXITED, 0, b"again\n"))

    def test_message_that_is_not_one_line(self):
        o = Orchestrator(self, "shell")
        marker = os.path.join(self.dir, "ran").encode()
        r = o.run(b"touch " + marker + b"\necho two")
        self.assertEqual((r.how, r.code), (EXITED, 2), r)
        self.assertIn(b"newline", r.output)
        self.assertFalse(os.path.exists(marker))
        self.assertEqual(o.run(b"echo fine").output, b"fine\n")


class Pipe(FanoutTest):
    def test_cat_echoes_lines(self):
        o = Orchestrator(self, "pipe", command=["cat"])
        r = o.run(b"hello")
        self.assertEqual((r.how, r.code, r.flags, r.output),
                         (EXITED, 0, 0, b"hello"))
        self.assertEqual(o.run(b"\xff\x00 bytes").output, b"\xff\x00 bytes")

    def test_pipelined_answered_in_order(self):
        o = Orchestrator(self, "pipe", command=["cat"])
        payloads = [b"line %d" % i for i in range(1000)]
        seqs = o.send(*payloads)
        for seq, p in zip(seqs, payloads):
            r = o.reply(seq)
            self.assertEqual((r.how, r.code, r.output), (EXITED, 0, p))
        replies = [s for t, s in o.kinds() if t == REPLY]
        self.assertEqual(replies, seqs, "replies in order")

    def test_surplus_lines_dropped_and_said(self):
        o = Orchestrator(self, "pipe", command=[
            "sh", "-c", "while read l; do echo a; echo b; done"])
        self.assertEqual(o.run(b"one").output, b"a")
        wait_until(lambda: re.search(rb"answered 1 line nobody asked "
                                     rb"for; dropped", o.node.err),
                   REPLY_DEADLINE, "the surplus line to be said")
        r = o.run(b"two")
        self.assertEqual((r.output, r.flags), (b"a", 0))

    def test_silent_co_process_times_out(self):
        o = Orchestrator(self, "pipe", timeout_ms=300, stop_timeout_ms=200,
                         command=["sh", "-c", "while read l; do :; done"])
        r = o.run(b"anyone?")
        self.assertEqual((r.how, r.code, r.flags),
                         (TIMED_OUT, signal.SIGTERM, RESTARTED))

    def test_dying_co_process_restarted(self):
        o = Orchestrator(self, "pipe", command=[
            "sh", "-c", "read l; echo started $$ >&2; exit 4"])
        for _ in range(2):
            r = o.run(b"x")
            self.assertEqual((r.how, r.code, r.flags),
                             (EXITED, 4, RESTARTED))
        # Two co-processes said they started (their stderr is the
        # node's, read by a thread of its own: waited for).
        wait_until(lambda: len(set(re.findall(rb"started (\d+)",
                                              o.node.err))) == 2,
                   REPLY_DEADLINE, "a second co-process")

    def test_lines_after_a_death_go_to_the_next_co_process(self):
        # Sent in one write: the worker dies on "die"; "b" and "c",
        # written after it, were never begun: the next worker answers.
        o = Orchestrator(self, "pipe", command=[
            "sh", "-c", 'while read l; do [ "$l" = die ] && exit 5; '
            'echo "got $l"; done'])
        seqs = o.send(b"a", b"die", b"b", b"c")
        got = [o.reply(q) for q in seqs]
        self.assertEqual([(r.how, r.code, r.flags, r.output) for r in got],
                         [(EXITED, 0, 0, b"got a"),
                          (EXITED, 5, RESTARTED, b""),
                          (EXITED, 0, RESTARTED, b"got b"),
                          (EXITED, 0, 0, b"got c")])

    def test_lines_after_a_time_out_go_to_the_next_co_process(self):
        # "b" comes 0.3 s after "hang" (the scenario, not a settling
        # wait): its own 0.6 s are not over when "hang" times out, so
        # the next co-process answers it.
        o = Orchestrator(self, "pipe", timeout_ms=600, stop_timeout_ms=200,
                         command=["sh", "-c", 'while read l; do '
                                  '[ "$l" = hang ] && sleep 100; '
                                  'echo "got $l"; done'])
        [first] = o.send(b"hang")
        time.sleep(0.3)
        [second] = o.send(b"b")
        hang, b = o.reply(first), o.reply(second)
        self.assertEqual((hang.how, hang.code, hang.flags),
                         (TIMED_OUT, signal.SIGTERM, RESTARTED))
        self.assertEqual((b.how, b.output), (EXITED, b"got b"))

    def test_command_not_found(self):
        o = Orchestrator(self, "pipe", command=["fanout-no-such-command"])
        r = o.run(b"x")
        self.assertEqual((r.how, r.code), (EXITED, 127), r)
        self.assertIn(b"fanout-no-such-command", r.output)
        self.assertIn(b"No such file", r.output)


class Stop(FanoutTest):
    def running(self, o, payload, sleeps=1):
        """Send payload and return the processes below the node once the
        command runs (its sleeps are there)."""
        o.send(payload)

        def started():
            below = descendants(o.node.pid)
            n = sum((read_proc(p, "cmdline") or b"").startswith(b"sleep")
                    for p in below)
            return below if n >= sleeps else None
        return wait_until(started, REPLY_DEADLINE, "the command to run")

    def check_stop(self, o, pids, how):
        t0 = time.monotonic()
        how()
        o.node.wait_exit(STOP_DEADLINE)
        self.assertLess(time.monotonic() - t0, STOP_DEADLINE)
        left = [p for p in pids if alive(p)]
        self.assertEqual(left, [], "processes left behind")

    def test_bye_while_a_command_runs(self):
        o = Orchestrator(self, "exec")
        pids = self.running(o, b"sleep 100")
        self.check_stop(o, pids, lambda: o.sock.sendall(frame(BYE)))

    def test_bye_while_a_command_ignores_sigterm(self):
        o = Orchestrator(self, "exec", stop_timeout_ms=5000)
        pids = self.running(o, b"trap '' TERM; sleep 100 & sleep 100", 2)
        self.check_stop(o, pids, lambda: o.sock.sendall(frame(BYE)))

    def test_connection_closed_while_shell_runs(self):
        o = Orchestrator(self, "shell")
        pids = self.running(o, b"sleep 100")
        self.check_stop(o, pids, o.sock.close)

    def test_sigterm_while_co_process_runs(self):
        o = Orchestrator(self, "pipe", command=["sh", "-c", "sleep 100"])
        pids = self.running(o, b"x")
        self.check_stop(o, pids,
                        lambda: os.kill(o.node.pid, signal.SIGTERM))


class Version(FanoutTest):
    def test_hello_of_version_1_refused_naming_both(self):
        n = self.node()
        s = self.track(connect(n.port))
        s.sendall(frame(HELLO, n.token, version=1))
        ftype, body = read_frame(s, REPLY_DEADLINE)
        self.assertEqual(ftype, WELCOME)    # ours, of version 2
        self.assertEqual(WELCOME_BODY.unpack(body), (0, n.pid))
        wait_closed(s, REPLY_DEADLINE)
        wait_until(lambda: re.search(rb"version 1\b.*version 2\b", n.err),
                   REPLY_DEADLINE, "the refusal naming both versions")
        self.assertTrue(n.running(), "the node keeps waiting")


if __name__ == "__main__":
    unittest.main()
