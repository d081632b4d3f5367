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
import os
import re
import signal
import unittest

from harness import (EXIT_DEADLINE, HOST_RX, NUM, PROMPT, TMUX, FanoutTest,
                     node_processes)


@unittest.skipIf(TMUX is None, "tmux is not installed (needed to run the "
                 "orchestrator in a terminal)")
class ConsoleTest(FanoutTest):
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

        rows, lines = t.status_rows()
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
        self.assert_terminal_closed(t)

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
        self.assert_terminal_closed(t)
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
        self.assert_terminal_closed(t2)

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
                  % (HOST_RX, t.base + 1, victim))
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
                    % (NUM, HOST_RX, t.base + 1, victim))
        t.wait_last_line(PROMPT)
        t.key("C-d")
        t.wait_text(r"^shutdown \(eof\)", EXIT_DEADLINE)
        t.wait_exit(1)          # a node died
        self.assert_terminal_closed(t)

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
        self.assert_terminal_closed(t)


if __name__ == "__main__":
    unittest.main()
