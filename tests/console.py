#!/usr/bin/env python3
"""Terminal tests for the fanout console (issue 6, item 7; SPEC §4): the
orchestrator runs in a real terminal emulator (tmux), keys are typed into
it, and the tests check what the screen shows.

Run: python3 tests/console.py -v     (build from $FANOUT_BUILD)

Each test starts its own tmux server on a socket of its own
(`tmux -L <unique name>`, never the default server) with a 120x30
window, and runs there
    sh -c 'trap : INT; env XDG_STATE_HOME=<tmp> TERM=xterm INPUTRC=/dev/null
           <orchestrator> -n 3 -p <base>; echo EXIT=$?'
with a temporary working directory. The screen is read with
`tmux capture-pane -p`; every wait polls it (every 20 ms) for the
expected text with a deadline, nothing sleeps a fixed time. Afterwards
the tmux server is killed, leftovers are killed by PID, and the tests
assert that no node process and no listening port of the run is left.

Needs the `tmux` program (the tests are skipped without it); otherwise
Python 3 standard library only. Built on tests/harness.py.
"""
import itertools
import os
import re
import shlex
import shutil
import signal
import subprocess
import unittest

import harness
from harness import (EXIT_DEADLINE, ORCH, READY_DEADLINE,
                     node_processes, wait_until)

TMUX = shutil.which("tmux")
WIDTH, HEIGHT = 120, 30
POLL = 0.02                  # screen polling interval, seconds
PROMPT = "fanout>"           # the prompt, trailing blank stripped
HOST = r"127\.0\.0\.1"
NUM = harness.NUM
TABLE_HEADER = (r"^ *node +address +pid +state +acked +missed +late +"
                r"last rtt +median +restarts *$")
TABLE_ROW = (r"^ *(\d+) +%s:(\d+) +(\d+) +(\S+) +(\d+) +(\d+) +(\d+) +"
             r"(?:%s ms|-) +(?:%s ms|-) +(\d+) *$" % (HOST, NUM, NUM))

_serial = itertools.count()


def tmux_env():
    """The environment for tmux commands: never inside the caller's own
    tmux session (a set $TMUX would make tmux refuse or nest)."""
    env = dict(os.environ)
    env.pop("TMUX", None)
    env.pop("TMUX_PANE", None)
    return env


def children(pid):
    """PIDs of the live processes whose parent is pid."""
    found = []
    for d in os.listdir("/proc"):
        if d.isdigit() and harness.proc_ppid(int(d)) == pid and \
                harness.proc_state(int(d)) not in (None, "Z"):
            found.append(int(d))
    return found


class Terminal:
    """One tmux server with one 120x30 window running one orchestrator
    under `sh -c '...; echo EXIT=$?'`. The pane stays (remain-on-exit)
    after the shell ends, so the last screen can still be read."""

    def __init__(self, test, base, state_dir, n=3):
        self.test = test
        self.base = base
        self.n = n
        self.socket = "fanout-console-%d-%d-%s" % (
            os.getpid(), next(_serial), os.urandom(4).hex())
        self.conf = os.path.join(test.dir, "%s.conf" % self.socket)
        with open(self.conf, "w") as f:
            f.write("set -g remain-on-exit on\n"
                    "set -g status off\n"
                    "set -g history-limit 2000\n")
        self.socket_path = None
        self.pane_pid = None
        self.orch_pid = None
        cmd = ("env XDG_STATE_HOME=%s TERM=xterm INPUTRC=/dev/null "
               "%s -n %d -p %d" % (shlex.quote(state_dir), shlex.quote(ORCH),
                                   n, base))
        # `trap : INT`: Ctrl-C reaches the whole foreground process group,
        # the shell included; without a trap it would die with the
        # orchestrator's Ctrl-C and never print EXIT=. A trap with a
        # command is reset on exec, so the orchestrator starts with
        # SIGINT at its default, as from an interactive shell.
        script = "trap : INT; %s; echo EXIT=$?" % cmd
        test.terminals.append(self)
        self.tmux("new-session", "-d", "-x", str(WIDTH), "-y", str(HEIGHT),
                  "-c", test.dir, "/bin/sh", "-c", script)
        self.socket_path = self.tmux("display-message", "-p",
                                     "#{socket_path}").strip()
        self.pane_pid = int(self.tmux("display-message", "-p",
                                      "#{pane_pid}").strip())

    # -- tmux

    def tmux(self, *args, check=True):
        p = subprocess.run([TMUX, "-L", self.socket, "-f", self.conf] +
                           list(args), env=tmux_env(),
                           stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, timeout=10)
        if check and p.returncode != 0:
            raise AssertionError("tmux %s failed (%d): %s"
                                 % (" ".join(args), p.returncode,
                                    p.stderr.decode("utf-8", "replace")))
        return p.stdout.decode("utf-8", "replace")

    def destroy(self):
        """Kill the tmux server and whatever it leaves running (by PID)."""
        pids = [self.orch_pid] if self.orch_pid else []
        if self.pane_pid:
            pids += [self.pane_pid] + children(self.pane_pid)
        self.tmux("kill-server", check=False)
        if self.socket_path and os.path.exists(self.socket_path):
            try:
                os.unlink(self.socket_path)
            except OSError:
                pass
        for pid in pids:
            if harness.proc_state(pid) not in (None, "Z"):
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass

    # -- keys

    def type(self, text):
        """Type text literally (no Enter)."""
        self.tmux("send-keys", "-l", text)

    def key(self, *names):
        """Press keys by tmux name: Enter, Up, C-c, C-d."""
        self.tmux("send-keys", *names)

    def line(self, text):
        self.type(text)
        self.key("Enter")

    # -- screen

    def screen(self, history=False):
        """The pane's text, wrapped lines joined, trailing blanks
        stripped; with history, the scrolled-off lines too."""
        args = ["capture-pane", "-p", "-J"]
        if history:
            args += ["-S", "-"]
        return "\n".join(l.rstrip() for l in
                         self.tmux(*args).split("\n")).rstrip("\n")

    def last_line(self):
        """The last non-empty line of the visible screen."""
        lines = [l for l in self.screen().split("\n") if l]
        return lines[-1] if lines else ""

    def cursor(self):
        x, y = self.tmux("display-message", "-p",
                         "#{cursor_x} #{cursor_y}").split()
        return int(x), int(y)

    def wait(self, pred, timeout, what):
        """Poll pred() every 20 ms until it is true; on a timeout, fail
        showing the whole screen."""
        try:
            return wait_until(pred, timeout, what, interval=POLL)
        except AssertionError as e:
            raise AssertionError("%s\n--- screen (with history):\n%s\n---"
                                 % (e, self.screen(history=True))) from None

    def wait_text(self, regex, timeout=READY_DEADLINE, flags=re.M):
        """Wait for regex to match the screen (history included); return
        the match."""
        rx = re.compile(regex, flags)
        return self.wait(lambda: rx.search(self.screen(history=True)),
                         timeout, "%r on the screen" % regex)

    def wait_last_line(self, text, timeout=EXIT_DEADLINE):
        return self.wait(lambda: self.last_line() == text, timeout,
                         "%r as the last line" % text)

    def wait_prompt(self, timeout=READY_DEADLINE):
        """Wait for the ready line and an empty prompt below it; note the
        orchestrator's PID."""
        self.wait_text(r"^ready: %d/%d nodes in %s ms$"
                       % (self.n, self.n, NUM), timeout)
        self.wait_last_line(PROMPT, timeout)
        self.orch_pid = self.wait(
            lambda: next((p for p in children(self.pane_pid)
                          if os.path.realpath("/proc/%d/exe" % p) ==
                          os.path.realpath(ORCH)), None),
            EXIT_DEADLINE, "the orchestrator process")

    def wait_exit(self, status, timeout=EXIT_DEADLINE):
        """Wait for the shell's EXIT=<status> line."""
        m = self.wait_text(r"^EXIT=(\d+)$", timeout)
        self.test.assertEqual(int(m.group(1)), status,
                              "exit status; screen:\n%s"
                              % self.screen(history=True))


@unittest.skipIf(TMUX is None, "tmux is not installed (needed to run the "
                 "orchestrator in a terminal)")
class ConsoleTest(harness.FanoutTest):
    def setUp(self):
        super().setUp()
        self.terminals = []

    def tearDown(self):
        # tmux servers first (they hold the orchestrators), then the
        # base class kills leftover nodes by PID and removes the
        # temporary directory.
        for t in self.terminals:
            t.destroy()
        super().tearDown()

    def terminal(self, n=3, state_dir=None):
        base = self.ports(n)
        if state_dir is None:
            state_dir = os.path.join(self.dir, "state")
        os.makedirs(state_dir, exist_ok=True)
        t = Terminal(self, base, state_dir, n)
        t.wait_prompt()
        return t

    def assert_nothing_left(self, t):
        self.assert_clean(t.base, t.n)
        if t.orch_pid:
            self.assertIn(harness.proc_state(t.orch_pid), (None, "Z"),
                          "orchestrator still running")

    def status_rows(self, t, n=3):
        """Run /status; wait for the table (header, n rows, then a prompt)
        and return the rows as tuples (index, port, pid, state, acked,
        missed, late, restarts) and the header and row lines."""
        t.line("/status")
        block = (r"^fanout> /status\n" + TABLE_HEADER[1:-1] + r"\n" +
                 (TABLE_ROW[1:-1] + r"\n") * n + PROMPT + "$")
        m = t.wait_text(block)
        lines = m.group(0).split("\n")[1:1 + 1 + n]
        rows = []
        for line in lines[1:]:
            r = re.match(TABLE_ROW, line)
            rows.append((int(r.group(1)), int(r.group(2)), int(r.group(3)),
                         r.group(4), int(r.group(5)), int(r.group(6)),
                         int(r.group(7)), int(r.group(8))))
        return rows, lines

    # ------------------------------------------------------------ tests

    def test_1_type_recall_status_ctrl_c(self):
        t = self.terminal()
        t.line("alpha one")
        t.wait_text(r"^#1 acked 3/3 in %s ms, slowest node \d$" % NUM)
        t.line("beta two")
        t.wait_text(r"^#2 acked 3/3 in %s ms, slowest node \d$" % NUM)
        t.wait_last_line(PROMPT)
        # Up twice recalls the older line, shown after the prompt.
        t.key("Up")
        t.wait_last_line("%s beta two" % PROMPT)
        t.key("Up")
        t.wait_last_line("%s alpha one" % PROMPT)
        screen = t.screen().split("\n")
        row = len(screen) - 1 - screen[::-1].index("fanout> alpha one")
        self.assertEqual(t.cursor(), (len("fanout> alpha one"), row),
                         "cursor not at the end of the recalled line")
        t.key("Enter")
        t.wait_text(r"^fanout> alpha one\n#3 acked 3/3 in %s ms, "
                    r"slowest node \d$" % NUM)
        t.wait_last_line(PROMPT)
        screen = t.screen(history=True).split("\n")
        self.assertEqual(screen.count("fanout> alpha one"), 2, screen)
        self.assertEqual(screen.count("fanout> beta two"), 1, screen)

        rows, lines = self.status_rows(t)
        nodes = node_processes(t.base, t.base + 2)
        self.assertEqual([r[0] for r in rows], [0, 1, 2], lines)
        for index, port, pid, state, acked, missed, late, restarts in rows:
            self.assertEqual(port, t.base + index, lines)
            self.assertEqual(nodes.get(pid), port,
                             "pid %d in /status is not node %d's: %r"
                             % (pid, index, nodes))
            self.assertEqual(state, "connected", lines)
            self.assertEqual((acked, missed, late, restarts), (3, 0, 0, 0),
                             lines)
        # Columns line up: every row as wide as the header (numbers are
        # right-aligned under their headings).
        self.assertEqual({len(l) for l in lines}, {len(lines[0])},
                         "ragged table:\n" + "\n".join(lines))

        t.key("C-c")
        t.wait_text(r"^shutdown \(signal\): 3 broadcasts, 3 fully acked; "
                    r"exit 130 after %s ms$" % NUM, EXIT_DEADLINE)
        t.wait_exit(130)
        self.assert_nothing_left(t)

    def test_2_history_persists(self):
        state = os.path.join(self.dir, "state")
        t = self.terminal(state_dir=state)
        t.line("remember me")
        t.wait_text(r"^#1 acked 3/3 in %s ms, slowest node \d$" % NUM)
        t.wait_last_line(PROMPT)
        t.key("C-d")
        t.wait_text(r"^shutdown \(eof\): 1 broadcasts, 1 fully acked; "
                    r"exit 0 after %s ms$" % NUM, EXIT_DEADLINE)
        t.wait_exit(0)
        self.assert_nothing_left(t)
        hist = os.path.join(state, "fanout", "history")
        self.assertTrue(os.path.isfile(hist), "no history file %s" % hist)
        with open(hist, encoding="utf-8", errors="replace") as f:
            self.assertIn("remember me", f.read().split("\n"))

        # A second session, same $XDG_STATE_HOME: Up recalls the line.
        t2 = self.terminal(state_dir=state)
        t2.key("Up")
        t2.wait_last_line("%s remember me" % PROMPT)
        t2.key("Enter")
        t2.wait_text(r"^fanout> remember me\n#1 acked 3/3 in %s ms, "
                     r"slowest node \d$" % NUM)
        t2.wait_last_line(PROMPT)
        t2.key("C-d")
        t2.wait_text(r"^shutdown \(eof\)", EXIT_DEADLINE)
        t2.wait_exit(0)
        self.assert_nothing_left(t2)

    def test_3_output_does_not_break_the_line_being_typed(self):
        t = self.terminal()
        t.type("half a li")
        t.wait_last_line("%s half a li" % PROMPT)
        nodes = node_processes(t.base, t.base + 2)
        self.assertEqual(sorted(nodes.values()),
                         [t.base, t.base + 1, t.base + 2], nodes)
        victim = next(pid for pid, port in nodes.items()
                      if port == t.base + 1)
        os.kill(victim, signal.SIGKILL)
        killed = (r"^node 1 \(%s:%d, pid %d\) killed by signal 9 \(Killed\)$"
                  % (HOST, t.base + 1, victim))
        t.wait_text(killed)
        # The partial line is redrawn, once, below the message, and the
        # cursor is at its end.
        t.wait_last_line("%s half a li" % PROMPT)
        screen = t.screen().split("\n")
        self.assertEqual([l for l in screen if "half a li" in l],
                         ["fanout> half a li"],
                         "partial line duplicated or garbled:\n%s"
                         % "\n".join(screen))
        row = screen.index("fanout> half a li")
        self.assertTrue(any(re.match(killed, l) for l in screen[:row]),
                        "the node's message is not above the prompt:\n%s"
                        % "\n".join(screen))
        self.assertEqual(t.cursor(), (len("fanout> half a li"), row),
                         "cursor not at the end of the partial line")

        t.line("ne")
        t.wait_text(r"^fanout> half a line\n#1 acked 2/3 in %s ms, "
                    r"slowest node \d; missing: node 1 \(%s:%d, pid %d\)$"
                    % (NUM, HOST, t.base + 1, victim))
        t.wait_last_line(PROMPT)
        t.key("C-d")
        t.wait_text(r"^shutdown \(eof\)", EXIT_DEADLINE)
        t.wait_exit(1)          # a node died
        self.assert_nothing_left(t)

    def test_4_unknown_command_and_help(self):
        t = self.terminal()
        t.line("/bogus")
        m = t.wait_text(r"^fanout> /bogus\n(.*unknown command.*)$")
        reply = m.group(1)
        self.assertIn("'/bogus'", reply)
        for cmd in ("/status", "/help", "/quit", "/send"):
            self.assertIn(cmd, reply, "command list lacks %s" % cmd)
        t.wait_last_line(PROMPT)

        t.line("/help")
        m = t.wait_text(r"^fanout> /help\n((?:.+\n)+)fanout>$")
        text = m.group(1)
        self.assertIn("broadcast", text)
        for cmd in ("/status", "/send", "/reload", "/help", "/quit",
                    "//text"):
            self.assertRegex(text, r"(?m)^ +%s\b" % re.escape(cmd),
                             "help lacks %s" % cmd)

        # Neither command was broadcast: the next line is message #1.
        t.line("after help")
        t.wait_text(r"^fanout> after help\n#1 acked 3/3 in %s ms, "
                    r"slowest node \d$" % NUM)
        self.assertNotIn("#2 ", t.screen(history=True))
        t.wait_last_line(PROMPT)
        t.line("/quit")
        t.wait_text(r"^shutdown \(exit\)", EXIT_DEADLINE)
        t.wait_exit(0)
        self.assert_nothing_left(t)


if __name__ == "__main__":
    unittest.main()
