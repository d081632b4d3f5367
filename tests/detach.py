#!/usr/bin/env python3
"""Detached fleets end to end (SPEC §11, with §4, §5 and §12): the real
orchestrator started with --detach, then driven by its subcommands
(`list`, `send`, `status`, `attach`, `stop`), by signals, by a raw
console-protocol socket and by consoles attached at a real terminal
(tmux, as tests/console.py).

Every test has its own XDG_RUNTIME_DIR and XDG_STATE_HOME (harness
FanoutTest.setUp), so its fleets' sockets and logs are its own.
A detached daemon is no child of the test: its pid is taken from the
"fleet 'NAME' detached (pid P)" line and it is killed by PID in tearDown
if it still runs (its nodes die with it, and harness kills leftovers on
the test's ports by PID). Nothing sleeps a fixed time: every wait has a
deadline.

Run: python3 tests/detach.py -v     (build from $FANOUT_BUILD)
"""
import json
import os
import re
import shlex
import shutil
import signal
import socket
import stat
import subprocess
import time
import unittest

import harness
from harness import (CTL_DONE, CTL_HELLO, CTL_HELLO_BODY, CTL_LINE,
                     CTL_MODES, CTL_OUT, CTL_WELCOME, EXIT_DEADLINE, HOST_RX,
                     NUM, ORCH, READY_DEADLINE, RUN_TIMEOUT, TABLE_HEADER,
                     TABLE_ROW, TMUX, FanoutTest, Terminal, alive, ctl_frame,
                     ctl_read_frame, cwd_of, kill_pids, listen_on,
                     listening_ports, node_processes, proc_ppid, read_proc,
                     run, wait_until)

ORCH_REAL = os.path.realpath(ORCH)
DETACHED = r"^fleet '%s' detached \(pid (\d+)\)"
BIG = r"head -c 200000 /dev/zero | tr '\0' x"


def proc_stat(pid):
    """The fields of /proc/PID/stat after the command (field 3 on)."""
    raw = read_proc(pid, "stat")
    if raw is None:
        return None
    return raw[raw.rindex(b")") + 2:].split()


def fd_target(pid, fd):
    try:
        return os.readlink("/proc/%d/fd/%d" % (pid, fd))
    except OSError:
        return None


def exe_of(pid):
    try:
        return os.path.realpath(os.readlink("/proc/%d/exe" % pid))
    except OSError:
        return None


# The time stamp each line of a detached fleet's log begins with.
STAMP = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d ", re.M)

class AttachTerminal(Terminal):
    """A tmux terminal (as harness.Terminal) running
    `orchestrator attach NAME` instead of a fleet of its own."""

    def __init__(self, test, name):
        self.base = None
        self.n = 0
        self.name = name
        self.start(test, "env XDG_RUNTIME_DIR=%s XDG_STATE_HOME=%s "
                   "TERM=xterm INPUTRC=/dev/null %s attach %s"
                   % (shlex.quote(test.dir), shlex.quote(test.state),
                      shlex.quote(ORCH), shlex.quote(name)))

    @property
    def prompt(self):
        return "fanout[%s]>" % self.name

    def wait_attached(self, nodes):
        self.wait_text(r"^attached to fleet '%s' \(pid \d+, %d nodes\)"
                       % (re.escape(self.name), nodes))
        self.wait_last_line(self.prompt, READY_DEADLINE)


class DetachTest(FanoutTest):
    def setUp(self):
        super().setUp()
        self.state = os.environ["XDG_STATE_HOME"]
        self.daemons = []

    def tearDown(self):
        for t in self.terminals:
            t.destroy()
        self.terminals = []
        # Daemons by PID: the recorded ones, and any orchestrator still
        # working in this test's directory (one whose pid was never
        # printed).
        pids = set(self.daemons) | set(self.orch_processes())
        kill_pids([p for p in pids if alive(p)])
        try:
            wait_until(lambda: not any(alive(p) for p in pids), 5,
                       "daemons to die")
        except AssertionError:
            pass
        # A detached daemon's stderr (and its nodes') is its log: what a
        # sanitizer says there is read before the directory goes.
        logs = os.path.join(self.state, "fanout")
        reports = []
        for name in sorted(os.listdir(logs)) if os.path.isdir(logs) else ():
            with open(os.path.join(logs, name), errors="replace") as f:
                text = f.read()
            reports += ["%s: %s" % (name, line[:300])
                        for line in text.split("\n")
                        if "Sanitizer" in line or "runtime error:" in line]
        super().tearDown()
        self.assertEqual(reports, [], "sanitizer reports in the logs")

    # -- helpers

    def orch_processes(self):
        """PIDs of live orchestrators working in this test's
        directory."""
        found = []
        for d in os.listdir("/proc"):
            if d.isdigit():
                pid = int(d)
                if (exe_of(pid) == ORCH_REAL and cwd_of(pid) == self.dir
                        and alive(pid)):
                    found.append(pid)
        return found

    def sock_path(self, name):
        return os.path.join(self.dir, "fanout", name + ".sock")

    def log_path(self, name):
        return os.path.join(self.state, "fanout", name + ".log")

    def log_text(self, name, stamps=False):
        """The fleet's log; each line's time stamp taken off unless
        stamps."""
        try:
            with open(self.log_path(name), encoding="utf-8",
                      errors="replace") as f:
                text = f.read()
        except FileNotFoundError:
            return ""
        return text if stamps else STAMP.sub("", text)

    def wait_log(self, name, regex, timeout=READY_DEADLINE):
        rx = re.compile(regex, re.M)
        try:
            return wait_until(lambda: rx.search(self.log_text(name)),
                              timeout, "%r in the log" % regex)
        except AssertionError as e:
            raise AssertionError("%s; log:\n%s" % (
                e, self.log_text(name)[-3000:])) from None

    def cli(self, args, input_text=None, timeout=RUN_TIMEOUT):
        """Run orchestrator ARGS (a subcommand) in the test's
        directory; return the Result."""
        return run([ORCH] + list(args), self.dir, input_text, timeout)

    def detach(self, name, args, status=0):
        """orchestrator --detach --name NAME ARGS; check its status; on
        0 return the daemon's pid (recorded for tearDown), else the
        Result."""
        r = self.cli(["--detach", "--name", name] + list(args),
                     timeout=RUN_TIMEOUT)
        # Whatever it says, a daemon it left is killed in tearDown.
        m = re.search(DETACHED % re.escape(name), r.stdout, re.M)
        if m:
            self.daemons.append(int(m.group(1)))
        self.assertEqual(r.rc, status, r)
        if status != 0:
            return r
        self.assertTrue(m, "no 'detached (pid P)' line: %r" % r)
        pid = int(m.group(1))
        self.assertTrue(alive(pid), "daemon %d not running" % pid)
        return pid

    def nodes_of(self, base, n):
        return node_processes(base, base + n - 1)

    def status_rows(self, name, n=None):
        """`status NAME`: check it succeeds; return the rows as tuples
        (index, port, pid, state, ...)."""
        r = self.cli(["status", name])
        self.assertEqual(r.rc, 0, r)
        lines = [l for l in r.stdout.split("\n") if l.strip()]
        self.assertTrue(lines and re.match(TABLE_HEADER, lines[0]), r)
        rows = []
        for line in lines[1:]:
            m = re.match(TABLE_ROW, line)
            self.assertTrue(m, "not a table row: %r in %r" % (line, r))
            rows.append((int(m.group(1)), int(m.group(2)), int(m.group(3)),
                         m.group(4)))
        if n is not None:
            self.assertEqual(len(rows), n, r)
        return rows

    def all_connected(self, name, n):
        """Whether status shows n nodes, all connected (a scale-up is
        over)."""
        rows = self.status_rows(name)
        return len(rows) == n and all(r[3] == "connected" for r in rows)

    def assert_fleet(self, name, base, n, pid):
        """status answers with n connected nodes whose pids are the
        real nodes on base.., children of the daemon pid."""
        rows = self.status_rows(name, n)
        nodes = self.nodes_of(base, n)
        self.assertEqual(sorted(nodes.values()),
                         list(range(base, base + n)), nodes)
        for index, port, npid, state in rows:
            self.assertEqual(port, base + index, rows)
            self.assertEqual(nodes.get(npid), port, (rows, nodes))
            self.assertEqual(state, "connected", rows)
            self.assertEqual(proc_ppid(npid), pid,
                             "node %d is not the daemon's child" % npid)

    def assert_gone(self, name, base, n, pid):
        """Right now: no node of base.., no listening port there, no
        socket file; and the daemon exits within EXIT_DEADLINE."""
        self.assertEqual(self.nodes_of(base, n), {}, "nodes left")
        self.assertEqual(sorted(p for p in listening_ports()
                                if base <= p < base + n), [],
                         "ports left listening")
        self.assertFalse(os.path.exists(self.sock_path(name)),
                         "socket file left")
        wait_until(lambda: not alive(pid), EXIT_DEADLINE,
                   "daemon %d to exit" % pid)

    def wait_nodes_gone(self, base, n, timeout):
        wait_until(lambda: not self.nodes_of(base, n), timeout,
                   "the nodes on %d..%d to exit" % (base, base + n - 1))

    def raw_console(self, name, mode, rcvbuf=None):
        """A socket speaking the console protocol, past WELCOME."""
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.track(s)
        if rcvbuf:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        s.settimeout(5)
        s.connect(self.sock_path(name))
        s.sendall(ctl_frame(CTL_HELLO, CTL_HELLO_BODY.pack(
            CTL_MODES[mode], 0, 0) + b"raw test console"))
        ftype, body = ctl_read_frame(s, timeout=5)
        self.assertEqual(ftype, CTL_WELCOME, body)
        return s

    # -- 1. detach, the daemon, list, stop

    def test_01_detach_daemon_list_stop(self):
        base = self.ports(3)
        pid = self.detach("web", ["-n", "3", "-p", str(base),
                                  "--handler", "exec"])
        # Ready before it returned: every node listens already.
        self.assertTrue(set(range(base, base + 3)) <= listening_ports(),
                        "nodes not listening when --detach returned")
        # A session of its own, no controlling terminal.
        st = proc_stat(pid)
        self.assertEqual(int(st[3]), pid, "not a session leader: sid %s"
                         % st[3])
        self.assertNotEqual(int(st[3]), os.getsid(0))
        self.assertEqual(int(st[4]), 0, "has a controlling terminal")
        self.assertNotEqual(proc_ppid(pid), os.getpid())
        # Standard streams: /dev/null and the log, none of ours.
        self.assertEqual(fd_target(pid, 0), "/dev/null")
        log = os.path.realpath(self.log_path("web"))
        self.assertEqual(fd_target(pid, 1), log)
        self.assertEqual(fd_target(pid, 2), log)
        self.assertTrue(os.path.isfile(log))
        # Its nodes are its children.
        self.assert_fleet("web", base, 3, pid)
        # The socket, in a directory of mode 0700.
        self.assertTrue(stat.S_ISSOCK(os.stat(self.sock_path("web"))
                                      .st_mode))
        self.assertEqual(stat.S_IMODE(os.stat(os.path.join(
            self.dir, "fanout")).st_mode), 0o700)
        r = self.cli(["list"])
        self.assertEqual(r.rc, 0, r)
        self.assertRegex(r.stdout, r"(?m)^web +pid %d +3 nodes$" % pid)

        r = self.cli(["stop", "web"], timeout=EXIT_DEADLINE + 5)
        self.assertEqual(r.rc, 0, r)
        # stop returned: the teardown is done.
        self.assert_gone("web", base, 3, pid)
        r = self.cli(["list"])
        self.assertNotIn("web", r.stdout, r)

    # -- 2. start-up errors reach the starting terminal

    def test_02_port_in_use_exits_69(self):
        base = self.ports(3)
        self.track(listen_on(base + 1))
        r = self.detach("busy", ["-n", "3", "-p", str(base)], status=69)
        self.assertRegex(r.stderr, r"node 1 \(%s:%d, pid \d+\) exited 1: "
                         r"bind .*Address already in use"
                         % (HOST_RX, base + 1))
        self.assertNotRegex(r.stdout, "detached")
        self.assertEqual(self.nodes_of(base, 3), {}, "nodes left")
        self.assertEqual(self.orch_processes(), [], "a daemon remains")
        self.assertFalse(os.path.exists(self.sock_path("busy")))
        self.assertEqual(self.cli(["status", "busy"]).rc, 69)

    def test_02b_configuration_error_exits_78(self):
        base = self.ports(3)
        bad = self.write("bad.ini", "[cluster]\nnum_clients = 0\n"
                         "base_port = %d\n" % base)
        r = self.detach("bad", ["-c", bad], status=78)
        self.assertRegex(r.stderr, r"bad\.ini:2: .*num_clients")
        self.assertEqual(self.nodes_of(base, 3), {})
        self.assertEqual(self.orch_processes(), [], "a daemon remains")
        self.assertFalse(os.path.exists(self.sock_path("bad")))

    # -- 3. names: a second fleet refused, a stale socket replaced

    def test_03_second_fleet_of_a_name_refused(self):
        base, base2 = self.ports(2), self.ports(2)
        pid = self.detach("web", ["-n", "2", "-p", str(base)])
        self.detach("web", ["-n", "2", "-p", str(base2)], status=69)
        self.assertEqual(self.nodes_of(base2, 2), {}, "second fleet's "
                         "nodes left")
        self.assertEqual(self.orch_processes(), [pid])
        self.assert_fleet("web", base, 2, pid)

    def test_03b_second_fleet_refusal_says_why(self):
        # The refusal is said on the starting terminal (it once was
        # queued and lost to the exit).
        base, base2 = self.ports(2), self.ports(2)
        self.detach("web", ["-n", "2", "-p", str(base)])
        r = self.detach("web", ["-n", "2", "-p", str(base2)], status=69)
        self.assertRegex(r.stderr, r"fleet named 'web' runs already")

    def test_03c_stale_socket_replaced(self):
        base = self.ports(2)
        os.makedirs(os.path.join(self.dir, "fanout"), mode=0o700)
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.bind(self.sock_path("web"))
        s.close()
        self.assertIn("stale", self.cli(["list"]).stdout)
        pid = self.detach("web", ["-n", "2", "-p", str(base)])
        self.assert_fleet("web", base, 2, pid)
        r = self.cli(["list"])
        self.assertRegex(r.stdout, r"(?m)^web +pid %d +2 nodes$" % pid)

    # -- 4. send from a script

    def test_04_send_arguments_stdin_json_status(self):
        base = self.ports(3)
        self.detach("web", ["-n", "3", "-p", str(base), "--handler",
                            "exec"])
        r = self.cli(["send", "web", "echo first-arg", "echo second-arg"])
        self.assertEqual(r.rc, 0, r)
        self.assertRegex(r.stdout, r"(?m)^#1 acked 3/3 in %s ms" % NUM)
        self.assertRegex(r.stdout, r"(?m)^#2 acked 3/3 in %s ms" % NUM)
        self.assertRegex(r.stdout, r"(?m)^first-arg$")
        self.assertRegex(r.stdout, r"(?m)^second-arg$")

        r = self.cli(["send", "--name", "web"], "echo from-stdin-1\n\n"
                     "echo from-stdin-2\n")
        self.assertEqual(r.rc, 0, r)
        self.assertRegex(r.stdout, r"(?m)^#3 acked 3/3.*\n.*\nfrom-stdin-1$")
        self.assertRegex(r.stdout, r"(?m)^#4 acked 3/3.*\n.*\nfrom-stdin-2$")
        self.assertNotIn("#5", r.stdout)

        r = self.cli(["send", "--json", "web", "echo json-one"])
        self.assertEqual(r.rc, 0, r)
        evs = [json.loads(l) for l in r.stdout.splitlines()]
        self.assertEqual([e["event"] for e in evs], ["broadcast"], r)
        ev = evs[0]
        self.assertEqual((ev["seq"], ev["acked"], ev["expected"],
                          ev["missing"]), (5, 3, 3, []), ev)
        self.assertEqual([(x["nodes"], x["status"], x["output"])
                          for x in ev["replies"]],
                         [([0, 1, 2], 0, "json-one\n")], ev)
        self.assertRegex(r.stderr, r"(?m)^#5 acked 3/3", "human text on "
                         "stderr")

        r = self.cli(["send", "--json", "web", "echo ok", "exit 3"])
        self.assertEqual(r.rc, 1, r)
        evs = [json.loads(l) for l in r.stdout.splitlines()]
        self.assertEqual([e["seq"] for e in evs], [6, 7], r)
        self.assertEqual([x["status"] for x in evs[1]["replies"]], [3], r)
        self.assertRegex(r.stderr, r"(?m)^#7 .*failed: node\[0-2\]")

        # One failure does not stick to the fleet's next sender.
        r = self.cli(["send", "web", "true"])
        self.assertEqual(r.rc, 0, r)

        rows = self.status_rows("web", 3)
        self.assertEqual([x[0] for x in rows], [0, 1, 2])

    def test_04b_concurrent_sends_hear_only_their_own(self):
        base = self.ports(3)
        self.detach("web", ["-n", "3", "-p", str(base), "--handler",
                            "exec"])
        count = 20
        procs = {}
        for tag in ("AAA", "BBB"):
            procs[tag] = subprocess.Popen(
                [ORCH, "send", "--json", "--name", "web"], cwd=self.dir,
                stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                stderr=subprocess.PIPE)
        try:
            # Interleaved, so both are in flight together.
            for i in range(count):
                for tag, p in procs.items():
                    p.stdin.write(b"echo %s-%d\n" % (tag.encode(), i))
                    p.stdin.flush()
            outs = {}
            for tag, p in procs.items():
                out, err = p.communicate(timeout=RUN_TIMEOUT)
                outs[tag] = (p.returncode, out.decode(), err.decode())
        finally:
            for p in procs.values():
                harness.kill_and_reap(p)
        for tag, (rc, out, err) in outs.items():
            other = "BBB" if tag == "AAA" else "AAA"
            self.assertEqual(rc, 0, (tag, out, err))
            evs = [json.loads(l) for l in out.splitlines()]
            self.assertEqual(len(evs), count, (tag, out))
            self.assertEqual(
                sorted(e["replies"][0]["output"] for e in evs),
                sorted("%s-%d\n" % (tag, i) for i in range(count)))
            self.assertNotIn(other, out + err)
            seqs = [e["seq"] for e in evs]
            self.assertEqual(seqs, sorted(seqs))

    # -- 5. two consoles at real terminals

    @unittest.skipIf(TMUX is None, "tmux is not installed")
    def test_05_two_attached_consoles(self):
        base = self.ports(3)
        pid = self.detach("web", ["-n", "3", "-p", str(base), "--handler",
                                  "exec"])
        t1 = AttachTerminal(self, "web")
        t2 = AttachTerminal(self, "web")
        t1.wait_attached(3)
        t2.wait_attached(3)

        t1.line("echo from-one")
        t1.wait_text(r"^#1 acked 3/3 in %s ms.*\n.*\nfrom-one$" % NUM)
        t2.line("echo from-two")
        t2.wait_text(r"^#2 acked 3/3 in %s ms.*\n.*\nfrom-two$" % NUM)
        t1.wait_last_line(t1.prompt)
        t2.wait_last_line(t2.prompt)
        self.assertNotRegex(t2.screen(history=True), r"(?m)#1 |^from-one$")
        self.assertNotRegex(t1.screen(history=True), r"(?m)#2 |^from-two$")

        t1.line("/who")
        m = t1.wait_text(r"^%s /who\n((?:.+\n)+)%s$"
                         % (re.escape(t1.prompt), re.escape(t1.prompt)))
        who = [l for l in m.group(1).split("\n") if l]
        self.assertEqual(len(who), 2, who)
        self.assertTrue(all(re.match(r"^ *\d+ +attach ", l) for l in who),
                        who)
        self.assertEqual(sum("(you)" in l for l in who), 1, who)

        # Ctrl-D in the second: it leaves, the fleet stays.
        t2.key("C-d")
        t2.wait_text(r"^detached; fleet 'web' keeps running$")
        t2.wait_exit(0)
        self.assertTrue(alive(pid))
        self.assert_fleet("web", base, 3, pid)
        t1.line("echo still-here")
        t1.wait_text(r"^#3 acked 3/3 in %s ms.*\n.*\nstill-here$" % NUM)
        t1.wait_last_line(t1.prompt)

        # A third attaches; /stop in the first stops the fleet, and the
        # third sees it end.
        t3 = AttachTerminal(self, "web")
        t3.wait_attached(3)
        t1.line("/stop")
        t1.wait_exit(0, timeout=EXIT_DEADLINE + 2)
        m = t3.wait_text(r"^EXIT=(\d+)$", EXIT_DEADLINE + 2)
        self.assertEqual(int(m.group(1)), 0, t3.screen(history=True))
        t3.wait_text(r"^shutdown \(exit\): 3 broadcasts, 3 succeeded on "
                     r"every node; exit 0 after %s ms$" % NUM)
        self.assert_gone("web", base, 3, pid)

    @unittest.skipIf(TMUX is None, "tmux is not installed")
    def test_05b_bystander_not_told_the_fleet_keeps_running(self):
        # A console whose fleet stops (by its own /stop, or another
        # console's) is not told the fleet keeps running: only one that
        # asked to leave is.
        base = self.ports(2)
        pid = self.detach("web", ["-n", "2", "-p", str(base)])
        t1 = AttachTerminal(self, "web")
        t2 = AttachTerminal(self, "web")
        t1.wait_attached(2)
        t2.wait_attached(2)
        t1.line("/stop")
        t1.wait_exit(0, timeout=EXIT_DEADLINE + 2)
        t2.wait_text(r"^EXIT=\d+$", EXIT_DEADLINE + 2)
        self.assert_gone("web", base, 2, pid)
        for t in (t1, t2):
            self.assertNotIn("keeps running", t.screen(history=True))

    # -- 6. a stalled console delays nobody

    def test_06_stalled_console_delays_nobody(self):
        base = self.ports(3)
        cfg = self.config(base, 3, "[node]\nhandler = exec\n"
                          "max_reply_bytes = 1048576\n")
        pid = self.detach("web", ["-c", cfg])
        stalled = self.raw_console("web", "send", rcvbuf=4096)
        lines = 40     # 40 reports of 200 kB: past the 4 MiB bound
        for _ in range(lines):
            stalled.sendall(ctl_frame(CTL_LINE, BIG.encode()))
        # Never read from it. Meanwhile another sender is served.
        t0 = time.monotonic()
        r = self.cli(["send", "web", "echo quick"], timeout=RUN_TIMEOUT)
        took = time.monotonic() - t0
        self.assertEqual(r.rc, 0, r)
        self.assertRegex(r.stdout, r"(?m)^quick$")
        self.assertLess(took, 5.0, "a send behind a stalled console took "
                        "%.1f s" % took)
        self.status_rows("web", 3)
        self.wait_log("web", r"console \d+ \(raw test console\) read too "
                      r"little \(4 MiB waited for it\); dropped$",
                      RUN_TIMEOUT)
        # It was dropped, and told why: what it finally reads ends with
        # the reason and DONE 1 (what came after the bound is lost).
        stalled.settimeout(5)
        frames = []
        while True:
            ftype, body = ctl_read_frame(stalled, timeout=5)
            if ftype is None:
                break
            frames.append((ftype, body))
        self.assertEqual([t for t, _ in frames][-2:], [CTL_OUT, CTL_DONE],
                         frames[-3:])
        self.assertIn(b"read too little", frames[-2][1])
        self.assertTrue(alive(pid))
        r = self.cli(["send", "web", "echo after"])
        self.assertEqual(r.rc, 0, r)
        self.status_rows("web", 3)

    # -- 7. a stranger uid is refused

    def _as_nobody(self):
        for tool in (["setpriv", "--reuid=65534", "--regid=65534",
                      "--clear-groups"], ["runuser", "-u", "nobody", "--"]):
            if shutil.which(tool[0]):
                return tool
        return None

    def test_07_stranger_uid_refused(self):
        if os.geteuid() != 0:
            self.skipTest("needs root to run a client as another user")
        nobody = self._as_nobody()
        if nobody is None:
            self.skipTest("neither setpriv nor runuser is installed")
        probe = subprocess.run(nobody + [ORCH, "-V"], capture_output=True,
                               timeout=10)
        if probe.returncode != 0:
            self.skipTest("user nobody cannot run %s: %r" % (ORCH, probe))
        base = self.ports(2)
        pid = self.detach("web", ["-n", "2", "-p", str(base)])
        env = dict(os.environ, XDG_RUNTIME_DIR=self.dir, HOME="/")
        r = subprocess.run(nobody + [ORCH, "status", "web"], env=env,
                           cwd="/", capture_output=True, timeout=RUN_TIMEOUT)
        self.assertEqual(r.returncode, 69, r)
        self.assertTrue(alive(pid))
        self.assert_fleet("web", base, 2, pid)

        # Past the file system: directories made traversable and the
        # socket writable (after start: the daemon checks 0700 then),
        # a stranger's connection reaches the daemon, which must refuse
        # it by SO_PEERCRED.
        fdir = os.path.join(self.dir, "fanout")
        sock = self.sock_path("web")
        modes = [(p, stat.S_IMODE(os.stat(p).st_mode))
                 for p in (self.dir, fdir, sock)]

        def restore():
            for p, m in modes:
                if os.path.exists(p):
                    os.chmod(p, m)
        self.addCleanup(restore)
        os.chmod(self.dir, 0o711)
        os.chmod(fdir, 0o711)
        os.chmod(sock, 0o777)
        script = (
            "import socket, struct, sys\n"
            "s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)\n"
            "s.settimeout(5)\n"
            "s.connect(sys.argv[1])\n"
            "body = struct.pack('>BBH', %d, 0, 0) + b'stranger'\n"
            "try:\n"
            "    s.sendall(struct.pack('>IBBH', len(body), %d, %d, 0)"
            " + body)\n"
            "    got = s.recv(65536)\n"
            "except (ConnectionResetError, BrokenPipeError):\n"
            "    got = b''\n"
            "print('GOT', got.hex())\n"
            % (CTL_MODES["status"], harness.CTL_VERSION, CTL_HELLO))
        r = subprocess.run(nobody + ["python3", "-c", script, sock],
                           cwd="/", capture_output=True, timeout=RUN_TIMEOUT)
        restore()
        self.assertEqual(r.returncode, 0, r)
        self.assertEqual(r.stdout.decode().strip(), "GOT", r)
        self.wait_log("web", r"refused a console of uid 65534 \(pid \d+\)")
        self.assertTrue(alive(pid))
        self.assert_fleet("web", base, 2, pid)

    # -- 8. SIGKILL of the daemon

    def test_08_sigkill_daemon(self):
        base = self.ports(3)
        pid = self.detach("web", ["-n", "3", "-p", str(base)])
        nodes = self.nodes_of(base, 3)
        self.assertEqual(len(nodes), 3)
        os.kill(pid, signal.SIGKILL)
        t0 = time.monotonic()
        wait_until(lambda: not any(alive(p) for p in nodes), 1.0,
                   "every node to exit within 1 s of the daemon's SIGKILL")
        took = time.monotonic() - t0
        self.assertLess(took, 1.0)
        wait_until(lambda: not alive(pid), EXIT_DEADLINE, "daemon gone")
        # Its socket is left, stale.
        self.assertTrue(os.path.exists(self.sock_path("web")))
        r = self.cli(["list"])
        self.assertRegex(r.stdout, r"(?m)^web +\(not running: stale "
                         r"socket\)$")
        r = self.cli(["status", "web"])
        self.assertEqual(r.rc, 69, r)
        self.assertIn("stale socket", r.stderr)
        pid2 = self.detach("web", ["-n", "3", "-p", str(base)])
        self.assert_fleet("web", base, 3, pid2)

    # -- 9. SIGTERM stops, SIGHUP reloads, an edit applies itself

    def test_09_sigterm_stops_in_order(self):
        base = self.ports(3)
        pid = self.detach("web", ["-n", "3", "-p", str(base)])
        nodes = self.nodes_of(base, 3)
        os.kill(pid, signal.SIGTERM)
        wait_until(lambda: not alive(pid), EXIT_DEADLINE, "daemon to exit")
        self.assertFalse(any(alive(p) for p in nodes), "nodes outlived it")
        self.assert_gone("web", base, 3, pid)
        self.wait_log("web", r"^shutdown \(signal\): .*exit 143 after")

    def test_09b_sighup_reloads(self):
        base = self.ports(5)
        cfg = self.config(base, 2)
        pid = self.detach("web", ["-c", cfg, "--no-watch"])
        self.assert_fleet("web", base, 2, pid)
        self.config(base, 4)
        os.kill(pid, signal.SIGHUP)
        wait_until(lambda: self.all_connected("web", 4),
                   READY_DEADLINE, "status to show 4 connected nodes")
        wait_until(lambda: len(self.nodes_of(base, 5)) == 4, READY_DEADLINE,
                   "4 node processes")
        self.assert_fleet("web", base, 4, pid)
        self.assertTrue(alive(pid))

    def test_09c_watched_edit_applies(self):
        base = self.ports(5)
        cfg = self.config(base, 2)
        pid = self.detach("web", ["-c", cfg])
        self.assert_fleet("web", base, 2, pid)
        self.config(base, 3)
        wait_until(lambda: self.all_connected("web", 3),
                   READY_DEADLINE, "status to show 3 connected nodes")
        self.assert_fleet("web", base, 3, pid)
        self.wait_log("web", r"changed: 2 -> 3 nodes")

    # -- 10. the log

    def test_10_log_has_reports_and_events(self):
        base = self.ports(3)
        pid = self.detach("web", ["-n", "3", "-p", str(base), "--handler",
                                  "exec"])
        self.wait_log("web", r"fleet 'web' detached: pid %d, 3 nodes" % pid)
        r = self.cli(["send", "web", "echo logged-marker"])
        self.assertEqual(r.rc, 0, r)
        self.wait_log("web", r"^#1 acked 3/3 in %s ms.*\n.*\nlogged-marker$"
                      % NUM)
        victim = next(p for p, port in self.nodes_of(base, 3).items()
                      if port == base + 1)
        os.kill(victim, signal.SIGKILL)
        self.wait_log("web", r"node 1 \(%s:%d, pid %d\) killed by signal 9"
                      % (HOST_RX, base + 1, victim))
        r = self.cli(["stop", "web"])
        self.wait_log("web", r"^shutdown \(exit\)")
        self.assert_gone("web", base, 3, pid)
        # Every line of it begins with the time it was said.
        lines = self.log_text("web", stamps=True).splitlines()
        self.assertTrue(lines)
        for line in lines:
            self.assertRegex(line, STAMP, lines)


if __name__ == "__main__":
    unittest.main()
