#!/usr/bin/env python3
"""Output channels (SPEC §13): the orchestrator's own standard streams,
closed, stalled or gone, and what its nodes print, whatever the bytes.
Each test pins a fault of issue 11, part B, and failed before its fix.

Run: python3 tests/output_channels.py -v     (build from $FANOUT_BUILD)
Helpers, and the rules every test follows: tests/harness.py.
"""
import json
import os
import re
import signal
import subprocess
import threading
import unittest

from harness import (EXIT_DEADLINE, FAULT_DEADLINE, NODE, ORCH,
                     READY_DEADLINE, RUN_TIMEOUT, FanoutTest, alive, children,
                     kill_and_reap, node_processes, parse_events,
                     wait_until)

PRINTER = """#!/bin/sh
# Print what the test wants, then run the real node.
printf '{text}'
exec {node} --port "$1" --index "$2"
"""


class ClosedStandardDescriptors(FanoutTest):
    """Started with a standard descriptor closed, the orchestrator took
    its epoll descriptor as standard input and failed after the whole
    fleet had started (exit 1). Closed ones are reopened on /dev/null
    first."""

    def run_closed(self, redirect, n=2):
        base = self.ports(n)
        sh = "exec %s -n %d -p %d --json %s" % (ORCH, n, base, redirect)
        p = subprocess.run(["sh", "-c", sh], cwd=self.dir,
                           stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, timeout=RUN_TIMEOUT)
        self.assert_clean(base, n)
        return p

    def test_closed_stdin_reads_as_end_of_input(self):
        p = self.run_closed("<&-")
        self.assertEqual(p.returncode, 0, p)
        evs = parse_events(p.stdout.decode().splitlines(), strict=True)
        self.assertEqual([e["event"] for e in evs], ["ready", "shutdown"])
        self.assertEqual(evs[-1]["reason"], "eof")
        self.assertNotIn(b"Invalid argument", p.stderr)

    def test_closed_stdout_and_stderr_still_run_clean(self):
        for redirect in (">&-", "2>&-", ">&- 2>&-"):
            with self.subTest(redirect=redirect):
                p = self.run_closed(redirect + " <&-")
                self.assertEqual(p.returncode, 0, p)


class NodeOutputEscaped(FanoutTest):
    """The README promises control characters are shown as \\xNN; the
    UTF-8 form of a C1 control (U+009B, CSI: C2 9B) reached the terminal
    as it was, and so did a lone 0x9B."""

    def node_prints(self, text):
        base = self.ports(1)
        script = self.write("printer.sh", PRINTER.format(text=text,
                                                         node=NODE), 0o755)
        cfg = self.config(base, 1, "[node]\ncommand = %s {port} {index}\n"
                          % script)
        p = subprocess.run([ORCH, "-c", cfg], cwd=self.dir, input=b"x\n",
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           timeout=RUN_TIMEOUT)
        self.assertEqual(p.returncode, 0, p)
        self.assert_clean(base, 1)
        lines = [l for l in p.stderr.splitlines()
                 if l.startswith(b"[node 0] ")]
        self.assertEqual(len(lines), 1, p)
        return lines[0]

    def test_c1_control_characters_in_node_output_are_escaped(self):
        line = self.node_prints("\\302\\2332J\\302\\205csi \\233red\\n")
        self.assertEqual(line, b"[node 0] \\xc2\\x9b2J\\xc2\\x85csi "
                         b"\\x9bred")

    def test_valid_utf8_in_node_output_passes(self):
        line = self.node_prints("caf\\303\\251 \\342\\202\\254 "
                                "\\360\\237\\230\\200\\n")
        self.assertEqual(line, "[node 0] café € 😀".encode())



CHATTY = """#!/bin/sh
# Node 0 prints a numbered line every {every} s beside the real node.
if [ "$2" = 0 ]; then
    python3 -c '
import sys, time
i = 0
while True:
    i += 1
    print("tick %d" % i, "x" * {width}, flush=True)
    time.sleep({every})
' &
fi
exec {node} --port "$1" --index "$2"
"""


SINK_DROP_BYTES = 1 << 20  # orchestrator/sink.h


def written(pid):
    """The bytes process pid has written (/proc/PID/io wchar)."""
    with open("/proc/%d/io" % pid) as f:
        for line in f:
            if line.startswith("wchar:"):
                return int(line.split()[1])
    return 0


def pipe_bytes(fd):
    """Bytes waiting in the pipe whose read end is fd (FIONREAD)."""
    import array
    import fcntl
    import termios
    n = array.array("i", [0])
    fcntl.ioctl(fd, termios.FIONREAD, n)
    return n[0]


class StalledReaders(FanoutTest):
    """A reader that stalls (a pager, a stuck log shipper) blocked the
    orchestrator in write(2): input was no longer broadcast, SIGTERM was
    not acted on, and the broadcast in flight was reported with every
    healthy node missing. The loop now never blocks on its output."""

    def start_chatty(self, every, stdout, stderr, n=3, width=200):
        base = self.ports(n)
        script = self.write("chatty.sh", CHATTY.format(every=every,
                                                       width=width,
                                                       node=NODE), 0o755)
        cfg = self.config(base, n, "[node]\ncommand = %s {port} {index}\n"
                          "[broadcast]\nack_timeout_ms = 500\n" % script)
        p = subprocess.Popen([ORCH, "-c", cfg, "--json"], cwd=self.dir,
                             stdin=subprocess.PIPE, stdout=stdout,
                             stderr=stderr)
        self.addCleanup(kill_and_reap, p)
        return p, base

    def stall(self, r, base):
        """Let nobody read stderr (read end r) until its pipe is full and
        node 0's chatter has far outgrown what may wait for the reader:
        a blocking writer is blocked by then."""
        wait_until(lambda: pipe_bytes(r) > 60000, FAULT_DEADLINE,
                   "the stderr pipe to fill")
        node0 = list(node_processes(base, base))[0]
        chatter = children(node0)[0]
        wait_until(lambda: written(chatter) > 4 * SINK_DROP_BYTES,
                   FAULT_DEADLINE, "node 0 to print 4 MiB")

    def start_stalled(self):
        """A fleet whose node 0 floods stderr, which nobody reads; return
        (process, base port, stderr's read end, a reader of stdout)."""
        r, w = os.pipe()
        self.addCleanup(os.close, r)
        p, base = self.start_chatty(0.001, subprocess.PIPE, w, width=4000)
        os.close(w)
        out = LineReader(p.stdout)
        self.assertEqual(out.event("ready")["nodes"], 3)
        self.stall(r, base)
        return p, base, r, out

    def test_stalled_stderr_reader_drops_node_output_only(self):
        p, base, r, out = self.start_stalled()
        for seq in (1, 2):
            p.stdin.write(b"line %d\n" % seq)
            p.stdin.flush()
            ev = out.event("broadcast")
            self.assertEqual((ev["seq"], ev["acked"], ev["expected"],
                              ev["missing"]), (seq, 3, 3, []), ev)
        # The reader comes back: it is told what it missed.
        err = LineReader(os.fdopen(os.dup(r), "rb"))
        err.line(rb"orchestrator: \d+ lines of node output were dropped "
                 rb"while the reader of standard error was stalled")
        p.send_signal(signal.SIGTERM)
        self.assertEqual(p.wait(EXIT_DEADLINE), 143)
        self.assert_clean(base, 3)

    def test_stalled_stderr_reader_does_not_delay_sigterm(self):
        p, base, _, out = self.start_stalled()
        p.send_signal(signal.SIGTERM)
        # Exits though nobody ever reads stderr again.
        self.assertEqual(p.wait(EXIT_DEADLINE), 143)
        self.assertEqual(out.event("shutdown")["reason"], "signal")
        self.assert_clean(base, 3)

    def test_stalled_stdout_reader_loses_no_report_and_misses_no_ack(self):
        # Stdout is read only once node 0 has ticked 8 times, 0.1 s
        # apart: longer than ack_timeout_ms, so a loop blocked on stdout
        # would miss every ack of the broadcasts in flight, and would not
        # pass the ticks on.
        p, base = self.start_chatty(0.1, subprocess.PIPE, subprocess.PIPE,
                                    width=0)
        err = LineReader(p.stderr)
        p.stdin.write(b"".join(b"message %d\n" % i for i in range(3000)))
        p.stdin.flush()
        err.line(rb"\[node 0\] tick 8 $", READY_DEADLINE)
        out = LineReader(p.stdout)
        for seq in range(1, 3001):
            ev = out.event("broadcast")
            self.assertEqual((ev["seq"], ev["acked"], ev["expected"]),
                             (seq, 3, 3), ev)
        p.stdin.close()
        self.assertEqual(p.wait(EXIT_DEADLINE), 0)
        self.assertEqual(out.event("shutdown")["status"], 0)
        self.assert_clean(base, 3)


class ReadersThatGoAway(FanoutTest):
    """A reader that goes away ends its stream: reports that can no
    longer be read stop the run, in order; node chatter and diagnostics
    that can no longer be read do not."""

    def start(self, stdout, stderr, n=2):
        base = self.ports(n)
        p = subprocess.Popen([ORCH, "-n", str(n), "-p", str(base), "--json"],
                             cwd=self.dir, stdin=subprocess.PIPE,
                             stdout=stdout, stderr=stderr)
        self.addCleanup(kill_and_reap, p)
        return p, base

    def test_stdout_reader_that_goes_away_stops_the_run(self):
        p, base = self.start(subprocess.PIPE, subprocess.PIPE)
        err = LineReader(p.stderr)
        self.assertIn(b'"event":"ready"', p.stdout.readline())
        p.stdout.close()  # as `| head -1` does
        p.stdin.write(b"one\ntwo\n")
        p.stdin.flush()
        err.line(rb"orchestrator: standard output: its reader went away; "
                 rb"stopping")
        self.assertEqual(p.wait(EXIT_DEADLINE), 1)
        self.assert_clean(base, 2)

    def test_stderr_reader_that_goes_away_does_not_stop_the_run(self):
        r, w = os.pipe()
        p, base = self.start(subprocess.PIPE, w)
        os.close(w)
        os.close(r)
        out = LineReader(p.stdout)
        self.assertEqual(out.event("ready")["nodes"], 2)
        p.stdin.write(b"one\n/bogus\ntwo\n")
        p.stdin.close()
        for seq in (1, 2):
            self.assertEqual(out.event("broadcast")["acked"], 2)
        self.assertEqual(p.wait(EXIT_DEADLINE), 0)
        self.assert_clean(base, 2)


class NodeStreamsThatEndOddly(FanoutTest):
    """Every way a node's output can end is handled in order (SPEC
    §13)."""

    def run_wrapped(self, body, n=1, lines="x\n", extra=""):
        base = self.ports(n)
        script = self.write("odd.sh", "#!/bin/sh\n%s\nexec %s --port "
                            "\"$1\" --index \"$2\"\n" % (body, NODE), 0o755)
        cfg = self.config(base, n, "[node]\ncommand = %s {port} {index}\n"
                          "stop_timeout_ms = 300\n%s" % (script, extra))
        p = subprocess.run([ORCH, "-c", cfg, "--json"], cwd=self.dir,
                           input=lines.encode(), stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, timeout=RUN_TIMEOUT)
        self.assert_clean(base, n)
        return p

    def test_last_line_without_newline_is_shown_when_the_node_ends(self):
        p = self.run_wrapped("printf 'no newline at the end'")
        self.assertEqual(p.returncode, 0, p)
        self.assertIn(b"[node 0] no newline at the end\n", p.stderr)

    def test_output_pipe_held_by_a_helper_does_not_hold_teardown(self):
        # The helper keeps the node's output pipe open and writing after
        # the node is gone: its end is not waited for, and the helper
        # goes with the node's group (its pid is checked below).
        base = self.ports(1)
        pids = os.path.join(self.dir, "helper.pid")
        script = self.write("odd.sh", "#!/bin/sh\n(trap '' TERM PIPE; while :; "
                            "do echo helper; sleep 0.05; done) & echo $! > "
                            "%s\nexec %s --port \"$1\" --index \"$2\"\n"
                            % (pids, NODE), 0o755)
        cfg = self.config(base, 1, "[node]\ncommand = %s {port} {index}\n"
                          "stop_timeout_ms = 300\n" % script)
        o = self.start(["-c", cfg, "--json"])
        o.wait_event("ready")
        # Its trap is set once it prints (then SIGTERM cannot end it).
        o.wait_matches("err", r"^\[node 0\] helper$", 2, FAULT_DEADLINE)
        o.close_stdin()
        self.assertEqual(o.wait(), 0)
        with open(pids) as f:
            helper = int(f.read())
        wait_until(lambda: not alive(helper), FAULT_DEADLINE,
                   "the helper %d to be gone" % helper)
        self.assert_clean(base, 1)

    def test_node_that_closes_its_output_early_runs_on(self):
        p = self.run_wrapped("exec >/dev/null 2>&1", lines="a\nb\n")
        self.assertEqual(p.returncode, 0, p)
        evs = parse_events(p.stdout.decode().splitlines(), strict=True)
        self.assertEqual([e["acked"] for e in evs
                          if e["event"] == "broadcast"], [1, 1])


class OutputWhileStarting(FanoutTest):
    def test_node_output_during_start_up_is_shown_at_once(self):
        """Output was held until the console started, so what a node said
        while another was slow to start came only with "ready"."""
        base = self.ports(2)
        gate = os.path.join(self.dir, "gate")
        script = self.write("slow.sh", "#!/bin/sh\nif [ \"$2\" = 1 ]; then\n"
                            "    while [ ! -e %s ]; do sleep 0.01; done\n"
                            "else\n    echo early words\nfi\nexec %s --port "
                            "\"$1\" --index \"$2\"\n" % (gate, NODE), 0o755)
        cfg = self.config(base, 2, "[node]\ncommand = %s {port} {index}\n"
                          "[connect]\ntimeout_ms = 10000\n" % script)
        p = subprocess.Popen([ORCH, "-c", cfg, "--json"], cwd=self.dir,
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE)
        self.addCleanup(kill_and_reap, p)
        err, out = LineReader(p.stderr), LineReader(p.stdout)
        err.line(rb"^\[node 0\] early words$")
        self.assertEqual(out.lines, [], "ready before node 1 started?")
        open(gate, "w").close()
        self.assertEqual(out.event("ready")["nodes"], 2)
        p.stdin.close()
        self.assertEqual(p.wait(EXIT_DEADLINE), 0)
        self.assert_clean(base, 2)


class DrainAtExit(FanoutTest):
    def test_sighup_during_the_exit_drain_loses_no_report(self):
        """Waiting at exit for a slow reader of stdout, the orchestrator
        gave up at any signal (SIGHUP, a child's SIGCHLD): reports were
        lost. Only SIGINT or SIGTERM end that wait."""
        base = self.ports(2)
        p = subprocess.Popen([ORCH, "-n", "2", "-p", str(base), "--json"],
                             cwd=self.dir, stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.addCleanup(kill_and_reap, p)
        err = LineReader(p.stderr)
        p.stdin.write(b"".join(b"line %d\n" % i for i in range(5000)))
        p.stdin.close()
        # Everything is done but writing stdout, which nobody reads yet.
        err.line(rb"^shutdown \(eof\): 5000 broadcasts", READY_DEADLINE)
        p.send_signal(signal.SIGHUP)
        evs = parse_events(p.stdout.read().decode().splitlines(),
                           strict=True)
        self.assertEqual(p.wait(EXIT_DEADLINE), 0)
        self.assertEqual(len([e for e in evs if e["event"] == "broadcast"]),
                         5000)
        self.assertEqual(evs[-1]["event"], "shutdown")
        self.assert_clean(base, 2)


class LineReader:
    """Lines of a binary stream, read by a thread, waited for with
    deadlines."""

    def __init__(self, f):
        self.lines = []
        self.cond = threading.Condition()
        threading.Thread(target=self._read, args=(f,), daemon=True).start()

    def _read(self, f):
        for raw in iter(f.readline, b""):
            with self.cond:
                self.lines.append(raw.rstrip(b"\n"))
                self.cond.notify_all()

    def line(self, regex, timeout=FAULT_DEADLINE):
        rx = re.compile(regex)
        with self.cond:
            ok = self.cond.wait_for(lambda: any(rx.search(l)
                                                for l in self.lines),
                                    timeout)
        if not ok:
            raise AssertionError("no line matching %r in %.0f s: %r"
                                 % (regex, timeout, self.lines[-5:]))

    def event(self, name, timeout=READY_DEADLINE):
        """The next event called name not returned yet."""
        seen = getattr(self, "seen", 0)

        def find():
            for i in range(seen, len(self.lines)):
                ev = json.loads(self.lines[i])
                if ev.get("event") == name:
                    return i
            return None
        with self.cond:
            self.cond.wait_for(lambda: find() is not None, timeout)
            i = find()
        if i is None:
            raise AssertionError("no %r event in %.0f s: %r"
                                 % (name, timeout, self.lines[-5:]))
        self.seen = i + 1
        return json.loads(self.lines[i])


if __name__ == "__main__":
    unittest.main()
