#!/usr/bin/env python3
"""Replies at the console (SPEC §9, §10), end to end on the real
binaries: each handler (exec, shell, pipe) answering through the
orchestrator; replies gathered and folded into node sets as clush -b
shows them; --lines as pdsh prints them; the JSON of every reply group,
exact bytes included; time-outs, a node killed mid-command, /send SET;
exit statuses; a reload that changes the handler.

Run: python3 tests/replies.py -v     (build from $FANOUT_BUILD)
Helpers, and the rules every test follows: tests/harness.py.
"""
import base64
import os
import random
import signal
import unittest

from harness import (FanoutTest, children, kill_pids, node_processes,
                     process_argvs, wait_until)

RULE = "-" * 16


def blocks(text):
    """The reply blocks of human output: {header: [lines]} in order."""
    out, cur = {}, None
    for line in text.splitlines():
        if line.startswith(RULE + " "):
            cur = line[len(RULE) + 1:]
            out[cur] = []
        elif line.startswith("#") or line.startswith("ready:") or \
                line.startswith("shutdown") or cur is None:
            cur = None
        else:
            out[cur].append(line)
    return out


class Exec(FanoutTest):
    def run_exec(self, n, text, *extra):
        base = self.ports(n)
        r = self.run_orch(["-n", str(n), "-p", str(base), "--handler",
                           "exec"] + list(extra), text)
        self.assert_clean(base, n)
        return r

    def test_identical_replies_are_folded_into_one_node_set(self):
        r = self.run_exec(8, "echo same; echo 'second line'\n")
        self.assertEqual(r.rc, 0, r)
        self.assertEqual(blocks(r.stdout),
                         {"node[0-7] (8)": ["same", "second line"]}, r)
        self.assertRegex(r.stdout, r"#1 acked 8/8 in [\d.]+ ms, replied "
                         r"8/8 in [\d.]+ ms", r)

    def test_differing_replies_are_grouped_and_sorted(self):
        r = self.run_exec(
            6, 'test "$FANOUT_INDEX" -ne 3 -a "$FANOUT_INDEX" -ne 5 '
            '|| { echo yes; exit 2; }\n')
        self.assertEqual(r.rc, 1, r)
        self.assertEqual(list(blocks(r.stdout).items()),
                         [("node[3,5] (2): exit 2", ["yes"])], r)
        self.assertIn("failed: node[3,5] (2)", r.stdout)

    def test_quiet_heads_what_it_shows(self):
        # -q: a clean broadcast's line only when it has output to head.
        r = self.run_exec(2, "echo hi\ntrue\n", "-q")
        self.assertEqual(r.rc, 0, r)
        self.assertRegex(r.stdout, r"^#1 acked 2/2 .*\n-+ node\[0-1\] \(2\)"
                         r"\nhi\nshutdown", r)
        self.assertNotIn("#2", r.stdout, r)

    def test_a_command_that_prints_nothing_shows_no_block(self):
        r = self.run_exec(3, "true\n")
        self.assertEqual(r.rc, 0, r)
        self.assertEqual(blocks(r.stdout), {}, r)
        self.assertRegex(r.stdout, r"replied 3/3", r)

    def test_output_that_would_drive_a_terminal_is_escaped(self):
        r = self.run_exec(2, r"printf 'a\033[2Jb\377\n'" + "\n")
        self.assertEqual(blocks(r.stdout),
                         {"node[0-1] (2)": [r"a\x1b[2Jb\xff"]}, r)

    def test_lines_prints_each_line_prefixed_by_its_node(self):
        r = self.run_exec(3, 'echo "i am $FANOUT_INDEX"; echo two\n',
                          "--lines")
        self.assertEqual(r.rc, 0, r)
        # stdout is for dshbak and clubak: node lines only.
        self.assertEqual(r.stdout.splitlines(),
                         ["node0: i am 0", "node0: two", "node1: i am 1",
                          "node1: two", "node2: i am 2", "node2: two"], r)
        self.assertRegex(r.stderr, r"#1 acked 3/3", r)

    def test_lines_says_failed_endings_on_stderr(self):
        r = self.run_exec(2, 'exit "$FANOUT_INDEX"\n', "--lines")
        self.assertEqual(r.rc, 1, r)
        self.assertEqual(r.stdout, "", r)
        self.assertIn("node1: exit 1", r.stderr)
        self.assertNotIn("node0: exit", r.stderr)

    def test_time_out_is_a_reply_not_a_missing_one(self):
        base = self.ports(2)
        cfg = self.config(base, 2, "[node]\nhandler = exec\n"
                          "handler_timeout_ms = 300\nstop_timeout_ms = 300\n")
        r = self.run_orch(["-c", cfg, "--json"], "sleep 30\n", timeout=20)
        self.assertEqual(r.rc, 1, r)
        bc = [e for e in r.events() if e["event"] == "broadcast"][0]
        self.assertEqual(bc["replied"], 2, bc)
        self.assertEqual(bc["no_reply"], [], bc)
        [g] = bc["replies"]
        self.assertEqual((g["nodes"], g["timed_out"], g["signal"]),
                         ([0, 1], True, signal.SIGTERM), g)
        self.assertLess(r.secs, 10, r)
        self.assert_clean(base, 2)

    def test_a_script_runs_one_command_at_a_time(self):
        # Piped commands go one at a time, as a shell runs a script: the
        # time-out bounds each one's run, not its wait behind the others
        # (20 x 100 ms is past a 1 s time-out).
        base = self.ports(2)
        cfg = self.config(base, 2, "[node]\nhandler = exec\n"
                          "handler_timeout_ms = 1000\n")
        lines = "".join("sleep 0.1; echo %d\n" % i for i in range(20))
        r = self.run_orch(["-c", cfg, "--json"], lines, timeout=30)
        self.assertEqual(r.rc, 0, r)
        bcs = [e for e in r.events() if e["event"] == "broadcast"]
        self.assertEqual([[(g["nodes"], g["output"]) for g in b["replies"]]
                          for b in bcs],
                         [[([0, 1], "%d\n" % i)] for i in range(20)], r)
        self.assert_clean(base, 2)

    def test_json_carries_every_byte(self):
        base = self.ports(2)
        r = self.run_orch(["-n", "2", "-p", str(base), "--handler", "exec",
                           "--json"],
                          "printf '\\377\\000x\"\\134\\n'; exit 4\n")
        self.assertEqual(r.rc, 1, r)
        bc = [e for e in r.events() if e["event"] == "broadcast"][0]
        [g] = bc["replies"]
        want = b'\xff\x00x"\\\n'
        self.assertEqual((g["nodes"], g["status"], g["signal"]),
                         ([0, 1], 4, None), g)
        # The text, with U+FFFD for the byte that is no UTF-8; the
        # exact bytes in base64.
        self.assertEqual(g["output"], "\ufffd\x00x\"\\\n", g)
        self.assertEqual(base64.b64decode(g["output_base64"]), want, g)
        self.assert_clean(base, 2)

    def test_megabytes_of_output_are_cut_and_counted(self):
        base = self.ports(2)
        cfg = self.config(base, 2, "[node]\nhandler = exec\n"
                          "max_reply_bytes = 1000\n")
        r = self.run_orch(["-c", cfg, "--json"],
                          "head -c 3000000 /dev/zero | tr '\\0' a\n")
        bc = [e for e in r.events() if e["event"] == "broadcast"][0]
        [g] = bc["replies"]
        self.assertEqual((len(g["output"]), g["truncated"]),
                         (1000, 3000000 - 1000), g)
        self.assertEqual(r.rc, 0, r)
        self.assert_clean(base, 2)

    def test_a_node_killed_mid_command_is_named_as_no_reply(self):
        base = self.ports(3)
        o = self.start(["-n", "3", "-p", str(base), "--handler", "exec",
                        "--json"])
        self.assertEqual(o.wait_event("ready")["nodes"], 3, o.err)
        o.send("sleep 3\n")
        victim = list(node_processes(base + 1, base + 1, self.dir))
        self.assertEqual(len(victim), 1)
        wait_until(lambda: children(victim[0]), 5,
                   "node 1 to start its command")
        os.kill(victim[0], signal.SIGKILL)
        o.wait_event("node_exit")
        o.close_stdin()
        # Nodes 0 and 2 answer when their sleep ends.
        bc = o.wait_broadcast(1, timeout=30)
        self.assertEqual(bc["replied"], 2, bc)
        self.assertIn(1, bc["no_reply"] + bc["missing"], bc)
        self.assertEqual(o.wait(), 1)
        self.assert_clean(base, 3)

    def test_send_set_reaches_the_node_set_only(self):
        r = self.run_exec(5, "/send 0-1,4 echo picked\n"
                          "/send node[2] echo two\n"
                          "/send node0,node[3] echo joined\n"
                          "/send 9 nobody\n")
        self.assertEqual(r.rc, 1, r)  # the refused line
        self.assertIn("node[0-1,4] (3)", r.stdout)
        self.assertIn(RULE + " node[0,3] (2)\njoined", r.stdout)
        self.assertIn(RULE + " node2 (1)\ntwo", r.stdout)
        self.assertIn("/send: ", r.stderr)
        self.assertRegex(r.stdout, r"#1 acked 3/3")


class Shell(FanoutTest):
    def test_state_is_kept_from_one_message_to_the_next(self):
        n = 3
        base = self.ports(n)
        r = self.run_orch(["-n", str(n), "-p", str(base), "--handler",
                           "shell", "--json"],
                          "cd /tmp\nX=41; f() { echo $((X + 1)); }\npwd; f\n"
                          "read line; echo \"read:$line\"\necho 0\n")
        self.assertEqual(r.rc, 0, r)
        bcs = [e for e in r.events() if e["event"] == "broadcast"]
        outs = [[g["output"] for g in b["replies"]] for b in bcs]
        self.assertEqual(outs, [[""], [""], ["/tmp\n42\n"], ["read:\n"],
                                ["0\n"]], bcs)
        self.assert_clean(base, n)


    def test_a_command_cannot_end_or_fool_the_shell(self):
        # A syntax error is an error of that line (dash would end a
        # shell on it); functions named like the loop's own commands are
        # not called by it.
        base = self.ports(1)
        r = self.run_orch(["-n", "1", "-p", str(base), "--handler",
                           "shell", "--json"],
                          "x=5\necho \"unterminated\necho x=$x\n"
                          "printf() { :; }; read() { :; }\n"
                          "echo still\n", timeout=20)
        bcs = [e for e in r.events() if e["event"] == "broadcast"]
        ends = [(g["status"], g["restarted"], g["output"])
                for b in bcs for g in b["replies"]]
        self.assertEqual(ends[1][:2], (2, False), bcs)
        self.assertEqual(ends[2:], [(0, False, "x=5\n"), (0, False, ""),
                                    (0, False, "still\n")], bcs)
        self.assertEqual(r.rc, 1, r)
        self.assert_clean(base, 1)


class Pipe(FanoutTest):
    def test_cat_answers_every_pipelined_line_in_order(self):
        n = 4
        base = self.ports(n)
        cfg = self.config(base, n, "[node]\nhandler = pipe\n"
                          "handler_command = cat\n")
        lines = ["line %d" % i for i in range(500)]
        r = self.run_orch(["-c", cfg, "--json"], "\n".join(lines) + "\n",
                          timeout=60)
        self.assertEqual(r.rc, 0, r)
        bcs = [e for e in r.events() if e["event"] == "broadcast"]
        self.assertEqual(len(bcs), 500)
        for i, b in enumerate(bcs):
            self.assertEqual([(g["nodes"], g["output"])
                              for g in b["replies"]],
                             [(list(range(n)), "line %d" % i)], b)
        self.assert_clean(base, n)

    def test_an_awk_program_is_a_worker(self):
        # Braces that name no placeholder are the program's own.
        n = 2
        base = self.ports(n)
        cfg = self.config(base, n, "[node]\nhandler = pipe\n"
                          "handler_command = mawk -W interactive "
                          "'{print $1*2}'\n")
        r = self.run_orch(["-c", cfg, "--json"], "21\n")
        self.assertEqual(r.rc, 0, r)
        bc = [e for e in r.events() if e["event"] == "broadcast"][0]
        self.assertEqual([(g["nodes"], g["output"]) for g in bc["replies"]],
                         [([0, 1], "42")], bc)
        self.assert_clean(base, n)

    def test_placeholders_in_handler_command_are_per_node(self):
        n = 3
        base = self.ports(n)
        script = self.write("worker.py",
                            "import sys\nfor l in sys.stdin:\n"
                            "    print(sys.argv[1] + ':' + l.strip(),"
                            " flush=True)\n")
        cfg = self.config(base, n, "[node]\nhandler = pipe\n"
                          "handler_command = python3 -u '%s' {index}\n"
                          % script)
        r = self.run_orch(["-c", cfg], "hello\n")
        self.assertEqual(r.rc, 0, r)
        self.assertEqual(blocks(r.stdout),
                         {"node0 (1)": ["0:hello"], "node1 (1)": ["1:hello"],
                          "node2 (1)": ["2:hello"]}, r)
        self.assert_clean(base, n)

    def test_a_co_process_that_dies_is_restarted_and_said(self):
        n = 2
        base = self.ports(n)
        cfg = self.config(base, n, "[node]\nhandler = pipe\n"
                          "handler_command = sh -c 'read l; echo \"$l\"; "
                          "read l; exit 4'\n")
        o = self.start(["-c", cfg, "--json"])
        o.wait_event("ready")
        o.send("one\n")
        self.assertEqual(o.wait_broadcast(1)["replies"][0]["output"], "one")
        o.send("two\n")
        [g] = o.wait_broadcast(2)["replies"]
        self.assertEqual((g["status"], g["restarted"]), (4, True), g)
        o.send("three\n")
        self.assertEqual(o.wait_broadcast(3)["replies"][0]["output"],
                         "three")
        o.close_stdin()
        self.assertEqual(o.wait(), 1)
        self.assert_clean(base, n)


def sleepers(secs):
    """PIDs of the live `sleep SECS` processes (secs unique per test)."""
    want = ["sleep", secs]
    return [pid for pid, argv in process_argvs().items()
            if [os.path.basename(a) for a in argv[:1]] + argv[1:] == want]


class NothingEscapes(FanoutTest):
    """What handlers run goes with their node (SPEC §12), however the
    node ends."""

    def start_sleeping(self, n, secs, cmd="sleep %s; echo never", each=1):
        base = self.ports(n)
        o = self.start(["-n", str(n), "-p", str(base), "--handler", "exec",
                        "--json"])
        self.assertEqual(o.wait_event("ready")["nodes"], n, o.err)
        o.send(cmd.replace("%s", secs) + "\n")
        wait_until(lambda: len(sleepers(secs)) == n * each, 5,
                   "every node to start its command")
        self.addCleanup(lambda: kill_pids(sleepers(secs)))
        return base, o

    def test_sigkill_of_the_orchestrator_stops_every_command(self):
        # A command that ignores SIGTERM, and what it left in a session
        # of its own, two levels deep.
        secs = "%d.5" % random.randint(3000, 9000)
        base, o = self.start_sleeping(
            3, secs, "setsid sh -c 'sleep %s & exec sleep %s' & "
            "trap '' TERM; sleep %s", each=3)
        os.kill(o.pid, signal.SIGKILL)
        # Nodes run commands: their parent's death reaches them as
        # SIGTERM, and they stop what they ran before they go, within
        # the second SPEC §5 gives them.
        wait_until(lambda: not sleepers(secs), 1.0,
                   "the commands to go with the orchestrator")
        wait_until(lambda: not node_processes(base, base + 2, self.dir),
                   1.0, "the nodes to go")

    def test_a_dead_nodes_commands_go_with_it(self):
        secs = "%d.5" % random.randint(3000, 9000)
        base, o = self.start_sleeping(2, secs)
        [victim] = list(node_processes(base, base, self.dir))
        mine = [p for p in sleepers(secs) if os.getsid(p) == victim]
        self.assertEqual(len(mine), 1)
        os.kill(victim, signal.SIGKILL)
        wait_until(lambda: all(not os.path.exists("/proc/%d" % p) or
                               p not in sleepers(secs) for p in mine),
                   2.0, "node 0's command to go with it")
        self.assertEqual(len(sleepers(secs)), 1)  # node 1's still runs
        os.kill(o.pid, signal.SIGTERM)
        self.assertEqual(o.wait(), 143)

    def test_what_a_command_leaves_in_a_session_of_its_own_is_stopped(self):
        secs = "%d.5" % random.randint(3000, 9000)
        base, o = self.start_sleeping(2, secs, "setsid sleep %s & sleep 0.5; echo bg")
        o.close_stdin()
        self.assertEqual(o.wait(), 0)
        wait_until(lambda: not sleepers(secs), 2.0,
                   "the session-leaving sleeps to be stopped")
        self.assert_clean(base, 2)


class Configuration(FanoutTest):
    def test_pipe_without_a_command_is_a_configuration_error(self):
        base = self.ports(1)
        cfg = self.config(base, 1, "[node]\nhandler = pipe\n")
        r = self.run_orch(["-c", cfg], "")
        self.assertEqual(r.rc, 78, r)
        self.assertRegex(r.stderr, r"fanout.ini:5: handler = pipe needs "
                         r"\[node\] handler_command")
        self.assertFalse(node_processes(base, base, self.dir))

    def test_a_scripts_reload_applies_before_its_next_lines(self):
        n = 2
        base = self.ports(n)
        cfg = self.config(base, n, "[node]\nhandler = exec\n")
        # The first line edits the file (on every node); the line after
        # /reload goes with what the reload read: the ack handler.
        r = self.run_orch(["-c", cfg, "--json"],
                          "sed -i 's/= exec/= ack/' %s\n/reload\n"
                          "echo after\n" % cfg)
        self.assertEqual(r.rc, 0, r)
        bcs = [e for e in r.events() if e["event"] == "broadcast"]
        self.assertEqual(len(bcs), 2, r)
        self.assertIn("replies", bcs[0])
        self.assertNotIn("replies", bcs[1], bcs)
        self.assert_clean(base, n)

    def test_a_reload_can_change_the_handler(self):
        n = 2
        base = self.ports(n)
        cfg = self.config(base, n)
        o = self.start(["-c", cfg, "--json"])
        o.wait_event("ready")
        self.send_acked(o, "echo before\n", 1, n)
        with open(cfg, "a") as f:
            f.write("[node]\nhandler = exec\n")
        os.kill(o.pid, signal.SIGHUP)
        o.wait_line("err", r"reload: .* read")
        o.send("echo after\n")
        [g] = o.wait_broadcast(2)["replies"]
        self.assertEqual(g["output"], "after\n", g)
        o.close_stdin()
        self.assertEqual(o.wait(), 0)
        self.assert_clean(base, n)


if __name__ == "__main__":
    unittest.main()
