#!/usr/bin/env python3
"""Integration scenarios for fanout: the real orchestrator and node
binaries; output, exit statuses, config errors, what is left behind.

Run: python3 tests/integration.py -v
Helpers, constants and the rules every test follows: tests/harness.py.
"""
import json
import os
import shutil
import signal
import time
import unittest

from harness import (EXIT_DEADLINE, FAKENODE, HEX64, NODE, NUM, ORCH,
                     READY_DEADLINE, SANITIZER, FanoutTest, listen_on,
                     listening_ports, node_processes, proc_ppid, read_proc,
                     run, wait_until)


class T01FiveNodesJson(FanoutTest):
    def test_five_nodes_json(self):
        base = self.ports(5)
        lines = ["hello", "fan out to five", "h\u00e9llo w\u00f6rld"]
        r = self.run_orch(["-n", "5", "-p", str(base), "--json"],
                          "".join(l + "\n" for l in lines))
        self.assertEqual(r.rc, 0, r)
        evs = r.events()            # stdout is only JSON event lines
        self.assertEqual(evs[0]["event"], "ready", r)
        self.assertEqual(evs[0]["nodes"], 5, r)
        self.assertEqual(evs[0]["expected"], 5, r)
        self.assertIsInstance(evs[0]["ms"], (int, float))
        self.assert_broadcasts(evs, [len(l.encode()) for l in lines], 5)
        sd = self.shutdown_event(evs)
        self.assertEqual(sd["reason"], "eof", r)
        self.assertEqual(sd["status"], 0, r)
        self.assertEqual([e for e in evs if e["event"] == "node_exit"], [],
                         "no node exited unexpectedly")
        self.assert_clean(base, 5)


class T02HumanOutput(FanoutTest):
    def test_human_output(self):
        base = self.ports(3)
        r = self.run_orch(["-n", "3", "-p", str(base)], "one\ntwo\n")
        self.assertEqual(r.rc, 0, r)
        self.assertRegex(r.lines[0], r"^ready: 3/3 nodes in %s ms$" % NUM)
        self.assertRegex(r.lines[1], r"^#1 acked 3/3 in %s ms, slowest "
                         r"node [0-2]$" % NUM)
        self.assertRegex(r.lines[2], r"^#2 acked 3/3 in %s ms, slowest "
                         r"node [0-2]$" % NUM)
        self.assertRegex(r.lines[-1], r"^shutdown \(eof\): ")
        self.assertEqual(len(r.lines), 4, r)
        # No ./server_config.ini in the working directory: built-in
        # defaults, said once.
        notices = [l for l in r.stderr.splitlines() if "default" in l]
        self.assertEqual(len(notices), 1, r)
        self.assert_clean(base, 3)


MARKER_SCRIPT = """#!/bin/sh
touch '{marker}'
exit 1
"""


class T03BadConfigBeforeSpawning(FanoutTest):
    def config_with_script(self, base, extra=""):
        self.marker = os.path.join(self.dir, "spawned")
        script = self.write("fake-node.sh",
                            MARKER_SCRIPT.format(marker=self.marker), 0o755)
        return self.write("fanout.ini",
                          "[cluster]\n"
                          "num_clients = 2\n"
                          "base_port = %d\n"
                          "\n"
                          "[node]\n"
                          "command = %s --port {port}\n"
                          "%s" % (base, script, extra))

    def test_bad_config_exits_78_before_spawning(self):
        base = self.ports(2)
        cfg = self.config_with_script(base, "stop_timout_ms = 100\n")
        r = self.run_orch(["-c", cfg], "hello\n")
        self.assertEqual(r.rc, 78, r)
        self.assertIn("%s:7:" % cfg, r.stderr, r)
        self.assertRegex(r.stderr, r"did you mean.*stop_timeout_ms", r)
        self.assertEqual(r.stdout, "", r)
        self.assertFalse(os.path.exists(self.marker),
                         "a node command ran despite the config error")
        self.assert_clean(base, 2)

    def test_same_config_without_error_runs_the_command(self):
        # Control for the test above: the marker script does run (and,
        # exiting 1 before it is ready, makes start-up fail with 69).
        base = self.ports(2)
        cfg = self.config_with_script(base)
        r = self.run_orch(["-c", cfg], "hello\n")
        self.assertEqual(r.rc, 69, r)
        self.assertTrue(os.path.exists(self.marker), r)
        self.assertRegex(r.stderr, r"node [01] \(127\.0\.0\.1:(%d|%d)\b"
                         r".*exited 1" % (base, base + 1), r)
        self.assert_clean(base, 2)


class T04ConfigErrors(FanoutTest):
    def check_78(self, text, line, *needles):
        base = self.ports(2)
        cfg = self.write("bad.ini", text.replace("BASE", str(base)))
        r = self.run_orch(["-c", cfg], "hello\n")
        self.assertEqual(r.rc, 78, r)
        self.assertIn("%s:%d:" % (cfg, line), r.stderr, r)
        for n in needles:
            self.assertIn(n, r.stderr, r)
        self.assertEqual(len(r.stderr.strip().splitlines()), 1,
                         "one error line: %r" % r)
        self.assert_clean(base, 2)

    def test_bad_number(self):
        self.check_78("[cluster]\nbase_port = BASE\nnum_clients = 2x\n",
                      3, "num_clients", "2x")

    def test_negative_number(self):
        self.check_78("[cluster]\nbase_port = BASE\n\n[broadcast]\n"
                      "ack_timeout_ms = -5\n", 5, "ack_timeout_ms")

    def test_port_out_of_range(self):
        self.check_78("[cluster]\nnum_clients = 2\nbase_port = 70000\n",
                      3, "base_port")

    def test_port_range_does_not_fit(self):
        # Each value is valid alone; the range 65535..65536 is not.
        self.check_78("[cluster]\nbase_port = 65535\nnum_clients = 2\n",
                      3, "65536")

    def test_unknown_section(self):
        self.check_78("[cluster]\nbase_port = BASE\n\n[clustr]\n"
                      "host = 127.0.0.1\n", 4, "[clustr]", "[cluster]")

    def test_unknown_key(self):
        self.check_78("[cluster]\nbase_port = BASE\n\n[broadcast]\n"
                      "max_mesage_bytes = 10\n", 5, "max_mesage_bytes",
                      "max_message_bytes")

    def test_bad_restart_value(self):
        self.check_78("[cluster]\nbase_port = BASE\n[node]\n"
                      "restart = always\n", 4, "restart")

    def test_missing_config_file(self):
        base = self.ports(2)
        missing = os.path.join(self.dir, "nope.ini")
        r = self.run_orch(["-c", missing, "-p", str(base), "-n", "2"],
                          "hello\n")
        self.assertEqual(r.rc, 78, r)
        self.assertIn(missing, r.stderr, r)
        self.assert_clean(base, 2)

    def test_bad_option_values(self):
        base = self.ports(2)
        for args, needle in ((["-n", "abc"], "-n"), (["-n", "0"], "-n"),
                             (["-n", "2x"], "-n"), (["-n", ""], "-n"),
                             (["-p", "70000"], "-p"), (["-p", "-1"], "-p")):
            with self.subTest(args=args):
                full = ["-n", "2", "-p", str(base)] + args
                r = self.run_orch(full, "hello\n")
                self.assertEqual(r.rc, 78, r)
                self.assertIn(needle, r.stderr, r)
                self.assert_clean(base, 2)

    def test_unknown_option_exits_64(self):
        base = self.ports(2)
        for args in (["--bogus"], ["-z"], ["-n"]):
            with self.subTest(args=args):
                r = self.run_orch(["-p", str(base)] + args, "hello\n")
                # A missing option argument is a usage error too.
                self.assertEqual(r.rc, 64, r)
                if args != ["-n"]:
                    self.assertIn(args[0], r.stderr, r)
                self.assert_clean(base, 2)


class T05FlatSeedKeys(FanoutTest):
    def test_flat_seed_keys(self):
        base = self.ports(3)    # the third port must stay unused
        cfg = self.write("seed.ini", "num_clients = 2\nbase_port = %d\n"
                         % base)
        o = self.start(["-c", cfg, "--json"])
        ready = o.wait_event("ready")
        self.assertEqual(ready["nodes"], 2)
        self.assertEqual(sorted(node_processes(base, base + 2).values()),
                         [base, base + 1])
        listening = listening_ports()
        self.assertIn(base, listening)
        self.assertIn(base + 1, listening)
        self.assertNotIn(base + 2, listening)
        o.send("seed\n")
        ev = o.wait_event("broadcast")
        self.assertEqual((ev["acked"], ev["expected"]), (2, 2), ev)
        o.close_stdin()
        self.assertEqual(o.wait(), 0, o.err)
        self.assert_clean(base, 3)


class T06PortTaken(FanoutTest):
    def test_port_taken_exits_69(self):
        base = self.ports(3)
        taken = base + 1
        blocker = listen_on(taken)
        try:
            r = self.run_orch(["-n", "3", "-p", str(base), "--json"],
                              "never sent\n", timeout=10)
            self.assertEqual(r.rc, 69, r)
            self.assertLess(r.secs, 5.0, "start-up failure is not fast")
            self.assertRegex(r.stderr, r"node 1 \(127\.0\.0\.1:%d\b.*\) "
                             r"exited 1: .*127\.0\.0\.1:%d.*Address already "
                             r"in use" % (taken, taken), r)
            evs = r.events()
            self.assertEqual([e for e in evs if e["event"] in
                              ("ready", "broadcast")], [], r)
            sd = self.shutdown_event(evs)
            self.assertEqual((sd["reason"], sd["status"]), ("error", 69), r)
            self.assert_clean(base, 3, allow_listen=(taken,))
        finally:
            blocker.close()
        self.assert_clean(base, 3)


class T07Pipelined(FanoutTest):
    def test_pipelined_2000_lines_10_nodes(self):
        base = self.ports(10)
        lines = ["line %d %s" % (i, "x" * (i % 97)) for i in range(1, 2001)]
        r = self.run_orch(["-n", "10", "-p", str(base), "--json"],
                          "".join(l + "\n" for l in lines), timeout=30)
        self.assertEqual(r.rc, 0, r)
        evs = r.events()
        self.assertEqual(evs[0]["event"], "ready")
        self.assertEqual(evs[0]["nodes"], 10)
        self.assert_broadcasts(evs, [len(l) for l in lines], 10)
        sd = self.shutdown_event(evs)
        self.assertEqual((sd["reason"], sd["status"]), ("eof", 0))
        self.assert_clean(base, 10)


class T08Lines(FanoutTest):
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


class T09LongLine(FanoutTest):
    def test_long_line_refused(self):
        base = self.ports(2)
        cfg = self.write("small.ini", "[cluster]\nnum_clients = 2\n"
                         "base_port = %d\n[broadcast]\n"
                         "max_message_bytes = 16\n" % base)
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


class T10Signals(FanoutTest):
    def run_until_signal(self, base, n, sig):
        o = self.start(["-n", str(n), "-p", str(base), "--json"])
        self.assertEqual(o.wait_event("ready")["nodes"], n)
        o.send("before the signal\n")
        ev = o.wait_event("broadcast")
        self.assertEqual(ev["acked"], n, ev)
        self.assertEqual(len(node_processes(base, base + n - 1)), n)
        t0 = time.monotonic()
        os.kill(o.pid, sig)
        rc = o.wait(EXIT_DEADLINE)      # stdin still open
        self.assertLess(time.monotonic() - t0, EXIT_DEADLINE)
        sd = o.wait_event("shutdown", 0)
        self.assertEqual(sd["reason"], "signal", sd)
        self.assertEqual(sd["status"], rc, sd)
        o.close_stdin()
        return rc

    def test_sigint_exits_130(self):
        base = self.ports(3)
        self.assertEqual(self.run_until_signal(base, 3, signal.SIGINT), 130)
        self.assert_clean(base, 3)

    def test_sigterm_exits_143_and_ports_are_reusable(self):
        base = self.ports(3)
        self.assertEqual(self.run_until_signal(base, 3, signal.SIGTERM),
                         143)
        self.assert_clean(base, 3)
        # An immediate restart binds the same ports (SO_REUSEADDR).
        o = self.start(["-n", "3", "-p", str(base), "--json"])
        self.assertEqual(o.wait_event("ready")["nodes"], 3, o.err)
        o.send("again\n")
        self.assertEqual(o.wait_event("broadcast")["acked"], 3)
        o.close_stdin()
        self.assertEqual(o.wait(), 0, o.err)
        self.assert_clean(base, 3)


class T11ProcessTree(FanoutTest):
    def test_node_processes_are_children_in_own_pgroup(self):
        base = self.ports(4)
        o = self.start(["-n", "4", "-p", str(base), "--json"])
        o.wait_event("ready")
        nodes = node_processes(base, base + 3)
        self.assertEqual(sorted(nodes.values()), list(range(base, base + 4)))
        orch_pgid = os.getpgid(o.pid)
        for pid in nodes:
            self.assertEqual(proc_ppid(pid), o.pid,
                             "node %d is not the orchestrator's child" % pid)
            pgid = os.getpgid(pid)
            self.assertNotEqual(pgid, orch_pgid,
                                "node %d in the orchestrator's group" % pid)
            self.assertNotEqual(pgid, os.getpgid(0))
        o.close_stdin()
        self.assertEqual(o.wait(), 0, o.err)
        self.assert_clean(base, 4)


WRAPPER_SCRIPT = """#!/bin/sh
# Record the token the orchestrator handed over, then become the node.
printf '%s' "$FANOUT_TOKEN" > '{dir}/token.'"$2"
exec '{node}' --host "$1" --port "$3" --index "$2"
"""


class T12Token(FanoutTest):
    def check_nodes(self, o, base, n, token=None):
        nodes = wait_until(
            lambda: (lambda d: d if len(d) == n else None)(
                node_processes(base, base + n - 1)),
            READY_DEADLINE, "%d nodes" % n)
        for pid in nodes:
            cmdline = read_proc(pid, "cmdline")
            environ = read_proc(pid, "environ")
            self.assertIsNotNone(cmdline)
            self.assertIsNotNone(environ)
            self.assertIsNone(HEX64.search(cmdline),
                              "a 64-hex token on node %d's command line: %r"
                              % (pid, cmdline))
            for var in environ.split(b"\0"):
                if var.startswith(b"FANOUT_TOKEN="):
                    self.assertIsNone(
                        HEX64.search(var), "node %d's environ still has "
                        "the token: %r" % (pid, var))
            if token:
                self.assertNotIn(token, cmdline)
                self.assertNotIn(token, environ)
        self.assertIsNone(HEX64.search(read_proc(o.pid, "cmdline")))
        if token:
            self.assertNotIn(token, read_proc(o.pid, "environ"))

    def test_token_not_on_command_line(self):
        base = self.ports(3)
        o = self.start(["-n", "3", "-p", str(base), "--json"])
        o.wait_event("ready")
        self.check_nodes(o, base, 3)
        o.close_stdin()
        self.assertEqual(o.wait(), 0, o.err)
        self.assert_clean(base, 3)

    def test_token_handed_over_in_environment_then_wiped(self):
        # A wrapper command records the token it was given, so the test
        # knows the exact value to look for.
        base = self.ports(2)
        wrapper = self.write("wrap.sh", WRAPPER_SCRIPT.format(
            dir=self.dir, node=NODE), 0o755)
        cfg = self.write("wrap.ini", "[cluster]\nnum_clients = 2\n"
                         "base_port = %d\n[node]\n"
                         "command = %s {host} {index} {port}\n"
                         % (base, wrapper))
        o = self.start(["-c", cfg, "--json"])
        o.wait_event("ready")
        tokens = set()
        for i in range(2):
            with open(os.path.join(self.dir, "token.%d" % i), "rb") as f:
                tokens.add(f.read())
        self.assertEqual(len(tokens), 1, "one token per run: %r" % tokens)
        token = tokens.pop()
        self.assertRegex(token, rb"^[0-9a-fA-F]{64}$")
        self.check_nodes(o, base, 2, token)
        o.send("with token\n")
        self.assertEqual(o.wait_event("broadcast")["acked"], 2)
        o.close_stdin()
        self.assertEqual(o.wait(), 0, o.err)
        self.assert_clean(base, 2)


class T13StdinNotAPipe(FanoutTest):
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


class T14ReviewRegressions(FanoutTest):
    """Bugs found in review, each pinned by the test named for it."""

    def command_config(self, base, n, command):
        return self.config(base, n, "[node]\ncommand = %s\n" % command,
                           "c.ini")

    def test_custom_command_that_never_signals_readiness_is_connected(self):
        base = self.ports(2)
        cfg = self.command_config(
            base, 2, "env -u FANOUT_READY_FD python3 %s --port {port} "
            "--index {index}" % FAKENODE)
        r = self.run_orch(["-c", cfg, "--json"], "one\ntwo\n")
        self.assertEqual(r.rc, 0, r)
        self.assert_broadcasts(r.events(), [3, 3], 2)
        self.assert_clean(base, 2)

    def test_node_under_a_forking_wrapper_is_not_mistaken_for_orphan(self):
        base = self.ports(2)
        cfg = self.command_config(
            base, 2, "timeout 60 %s --port {port} --index {index}" % NODE)
        r = self.run_orch(["-c", cfg, "--json"], "one\n")
        self.assertEqual(r.rc, 0, r)
        self.assert_broadcasts(r.events(), [3], 2)
        self.assert_clean(base, 2)

    def test_install_path_with_a_blank(self):
        base = self.ports(2)
        bindir = os.path.join(self.dir, "with space")
        os.mkdir(bindir)
        for path in (ORCH, NODE):
            shutil.copy2(path, bindir)
        r = run([os.path.join(bindir, "orchestrator"), "-n", "2", "-p",
                 str(base), "--json"], self.dir, b"x\n",
                stdout_errors="strict")
        self.assertEqual(r.rc, 0, r)
        self.assert_broadcasts(r.events(), [1], 2)


class T15OpenFileLimit(FanoutTest):
    @unittest.skipUnless(shutil.which("setpriv") and shutil.which("prlimit"),
                         "setpriv or prlimit missing")
    def test_nofile_limit_too_low_is_named(self):
        base = self.ports(100)
        # Without CAP_SYS_RESOURCE even root cannot raise the hard limit.
        cmd = ["setpriv", "--bounding-set", "-sys_resource", "--inh-caps",
               "-sys_resource", "prlimit", "--nofile=64:64", ORCH, "-n",
               "100", "-p", str(base)]
        r = run(cmd, self.dir, None)
        err = r.stderr
        self.assertEqual(r.rc, 69, err)
        self.assertIn("RLIMIT_NOFILE", err)
        self.assertRegex(err, r"100 nodes need \d+ open files")
        self.assert_clean(base, 100)


class T16Thousand(FanoutTest):
    @unittest.skipUnless(SANITIZER == "none",
                         "a thousand sanitized processes are too heavy")
    def test_thousand_nodes_end_to_end(self):
        base = self.ports(1000)
        lines = ["line %d" % i for i in range(20)]
        r = self.run_orch(["-n", "1000", "-p", str(base), "--json"],
                          "".join(l + "\n" for l in lines), timeout=60)
        self.assertEqual(r.rc, 0, r)
        evs = r.events()
        self.assertEqual(evs[0]["event"], "ready")
        self.assertEqual(evs[0]["nodes"], 1000)
        self.assert_broadcasts(evs, [len(l) for l in lines], 1000)
        self.assert_clean(base, 1000)


class T17Console(FanoutTest):
    def test_send_to_one_node(self):
        base = self.ports(3)
        r = self.run_orch(["-n", "3", "-p", str(base), "--json"],
                          "/send 1 just you\n/send 9 nobody\nall\n")
        self.assertEqual(r.rc, 0, r)
        bcs = [e for e in r.events() if e["event"] == "broadcast"]
        self.assertEqual([(b["acked"], b["expected"], b["bytes"])
                          for b in bcs], [(1, 1, 8), (3, 3, 3)])
        self.assertIn("usage: /send I text", r.stderr)
        self.assert_clean(base, 3)

    def test_log_dir_takes_node_output(self):
        base = self.ports(2)
        logs = os.path.join(self.dir, "logs")
        os.mkdir(logs)
        script = self.write("chatty.sh", "#!/bin/sh\necho hello from $2 >&2\n"
                            "exec %s \"$@\"\n" % NODE, 0o755)
        cfg = self.write("c.ini", "[cluster]\nnum_clients = 2\n"
                         "base_port = %d\n[node]\ncommand = %s --port "
                         "{port} --index {index}\n" % (base, script))
        r = self.run_orch(["-c", cfg, "--log-dir", logs], "x\n")
        self.assertEqual(r.rc, 0, r)
        self.assertNotIn("[node", r.stderr)
        for i in range(2):
            with open(os.path.join(logs, "node-%d.log" % i)) as f:
                self.assertEqual(f.read(), "hello from %d\n" % (base + i))
        self.assert_clean(base, 2)

    def test_no_colour_when_not_a_terminal(self):
        base = self.ports(2)
        r = self.run_orch(["-n", "2", "-p", str(base)], "x\n")
        self.assertEqual(r.rc, 0, r)
        self.assertNotIn("\x1b", r.stdout + r.stderr)

    def test_failed_node_quoted_with_its_last_lines(self):
        base = self.ports(2)
        script = self.write("dying.sh", "#!/bin/sh\necho first >&2\n"
                            "echo second >&2\necho third >&2\n"
                            "echo last words >&2\nexit 4\n", 0o755)
        cfg = self.write("c.ini", "[cluster]\nnum_clients = 2\n"
                         "base_port = %d\n[node]\ncommand = %s {port}\n"
                         % (base, script))
        r = self.run_orch(["-c", cfg], "")
        self.assertEqual(r.rc, 69, r)
        self.assertRegex(r.stderr, r"exited 4: last words\n"
                         r".*before that: second\n.*before that: third")


if __name__ == "__main__":
    unittest.main()
