#!/usr/bin/env python3
"""The subcommands (SPEC §11) against a fake daemon: `orchestrator send`,
`status`, `stop`, `list` and piped `attach`, with the test playing the
detached fleet on its control socket (harness.FakeDaemon speaking the
console protocol of common/ctl.h). No fleet is started.

Every test has a private XDG_RUNTIME_DIR (a temporary directory of mode
0700), so the sockets are its own.
"""
import os
import shutil
import socket
import subprocess
import tempfile
import time
import unittest

from harness import (CTL_DONE, CTL_END, CTL_F_JSON, CTL_F_TTY, CTL_HELLO,
                     CTL_LINE, CTL_MODES, CTL_VERSION, ORCH, RUN_TIMEOUT,
                     FakeDaemon, Result, ctl_done, ctl_frame, ctl_out,
                     ctl_read_frame, ctl_refused, ctl_split_hello,
                     ctl_welcome)

PID = 4242


class ClientTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        if not os.access(ORCH, os.X_OK):
            raise unittest.SkipTest("%s not built" % ORCH)

    def setUp(self):
        self.run_dir = tempfile.mkdtemp(prefix="fanout-client-")
        os.chmod(self.run_dir, 0o700)
        self.dir = os.path.join(self.run_dir, "fanout")
        self.daemons = []
        self.hellos = []

    def tearDown(self):
        for d in self.daemons:
            d.stopping = True
            d.join(5)
            d.sock.close()
        shutil.rmtree(self.run_dir, ignore_errors=True)

    # -- helpers

    def sock_path(self, name):
        os.makedirs(self.dir, mode=0o700, exist_ok=True)
        return os.path.join(self.dir, name + ".sock")

    def daemon(self, serve, name="default"):
        d = FakeDaemon(self.sock_path(name), serve)
        self.daemons.append(d)
        return d

    def stale(self, name):
        """A socket file nobody listens on: a dead fleet's."""
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.bind(self.sock_path(name))
        s.close()

    def client(self, args, input=b""):
        env = dict(os.environ, XDG_RUNTIME_DIR=self.run_dir)
        t0 = time.monotonic()
        p = subprocess.run([ORCH] + args, input=input, env=env,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           timeout=RUN_TIMEOUT, cwd=self.run_dir)
        return Result(p.returncode, p.stdout.decode(errors="replace"),
                      p.stderr.decode(errors="replace"),
                      time.monotonic() - t0)

    def hello(self, conn, mode):
        """Read HELLO and check its mode; return its flags."""
        ftype, body = ctl_read_frame(conn, timeout=5)
        self.assertEqual(ftype, CTL_HELLO)
        got, flags, who = ctl_split_hello(body)
        self.assertEqual(got, CTL_MODES[mode])
        self.hellos.append((got, flags, who))
        return flags

    def lines_until_end(self, conn):
        """The LINEs up to END."""
        lines = []
        while True:
            ftype, body = ctl_read_frame(conn, timeout=5)
            if ftype == CTL_END:
                return lines
            self.assertEqual(ftype, CTL_LINE, "a LINE or END")
            lines.append(body)

    def sender(self, status, got, json_lines=False):
        """A daemon of send: WELCOME, a report per LINE as it comes,
        DONE{status} after END; the lines it got go to got."""
        def serve(conn):
            flags = self.hello(conn, "send")
            conn.sendall(ctl_welcome(PID, 3, "default"))
            n = 0
            while True:
                ftype, body = ctl_read_frame(conn, timeout=5)
                if ftype == CTL_END:
                    break
                n += 1
                got.append(body)
                if flags & CTL_F_JSON:
                    conn.sendall(ctl_out(1, '{"event":"broadcast","seq":%d}'
                                         '\n' % n) +
                                 ctl_out(2, "#%d acked 3/3\n" % n))
                else:
                    conn.sendall(ctl_out(1, "#%d acked 3/3\n" % n))
            conn.sendall(ctl_done(status))
        return serve

    # -- send

    def test_send_arguments(self):
        got = []
        d = self.daemon(self.sender(0, got), "web")
        r = self.client(["send", "web", "uptime", "echo a b", "-x"])
        d.close()
        self.assertEqual(r.rc, 0, r)
        self.assertEqual(got, [b"uptime", b"echo a b", b"-x"])
        self.assertEqual(r.lines, ["#1 acked 3/3", "#2 acked 3/3",
                                   "#3 acked 3/3"])
        self.assertEqual(r.stderr, "")
        # HELLO names who we are, for /who; no terminal here.
        mode, flags, who = self.hellos[0]
        self.assertEqual(flags & CTL_F_TTY, 0)
        self.assertTrue(who)

    def test_send_name_flag_and_newline_in_argument(self):
        got = []
        d = self.daemon(self.sender(0, got), "web")
        r = self.client(["send", "--name", "web", "a\nb", "c"])
        d.close()
        self.assertEqual(r.rc, 0, r)
        self.assertEqual(got, [b"a", b"b", b"c"])

    def test_send_stdin_lines(self):
        got = []
        d = self.daemon(self.sender(0, got))
        r = self.client(["send"], input=b"one\ntwo\n\nlast, no newline")
        d.close()
        self.assertEqual(r.rc, 0, r)
        self.assertEqual(got, [b"one", b"two", b"", b"last, no newline"])
        self.assertEqual(len(r.lines), 4)

    def test_send_many_lines_no_deadlock(self):
        """The daemon answers each line at once and reads slowly: the
        client reads while it sends."""
        got = []
        d = self.daemon(self.sender(0, got))
        text = b"".join(b"line %d %s\n" % (i, b"x" * 200)
                        for i in range(20000))
        r = self.client(["send"], input=text)
        d.close()
        self.assertEqual(r.rc, 0, r.stderr)
        self.assertEqual(len(got), 20000)
        self.assertEqual(len(r.lines), 20000)

    def test_send_json_streams(self):
        got = []
        d = self.daemon(self.sender(0, got))
        r = self.client(["send", "--json", "default", "hostname"])
        d.close()
        self.assertEqual(r.rc, 0, r)
        self.assertEqual(r.events(), [{"event": "broadcast", "seq": 1}])
        self.assertEqual(r.stderr, "#1 acked 3/3\n")
        self.assertTrue(self.hellos[0][1] & CTL_F_JSON)

    def test_send_exit_status_from_done(self):
        for status in (1, 78, 0):
            got = []
            d = self.daemon(self.sender(status, got))
            r = self.client(["send", "default", "false"])
            d.close()
            self.daemons.remove(d)
            os.unlink(self.sock_path("default"))
            self.assertEqual(r.rc, status, r)

    def test_output_split_across_frames(self):
        """OUT is a byte stream: a line may span frames."""
        def serve(conn):
            self.hello(conn, "send")
            conn.sendall(ctl_welcome(PID, 1, "default"))
            self.lines_until_end(conn)
            conn.sendall(ctl_out(1, "#1 ac") + ctl_out(1, "ked 1/1\n") +
                         ctl_out(2, "") + ctl_done(0))
        d = self.daemon(serve)
        r = self.client(["send", "default", "x"])
        d.close()
        self.assertEqual((r.rc, r.stdout), (0, "#1 acked 1/1\n"), r)

    def test_closed_before_done(self):
        def serve(conn):
            self.hello(conn, "send")
            conn.sendall(ctl_welcome(PID, 3, "default"))
            self.lines_until_end(conn)
            conn.sendall(ctl_out(1, "#1 acked 3/3\n"))
        d = self.daemon(serve)
        r = self.client(["send", "default", "x"])
        d.close()
        self.assertEqual(r.rc, 1, r)
        self.assertEqual(r.stdout, "#1 acked 3/3\n")
        self.assertIn("fleet 'default'", r.stderr)
        self.assertIn("closed before the end", r.stderr)

    # -- failures to reach a fleet

    def test_refused(self):
        def serve(conn):
            self.hello(conn, "send")
            conn.sendall(ctl_refused("you are not the fleet's user"))
        d = self.daemon(serve)
        r = self.client(["send", "default", "x"])
        d.close()
        self.assertEqual(r.rc, 69, r)
        self.assertIn("fleet 'default' refused us: you are not the "
                      "fleet's user", r.stderr)

    def test_other_version(self):
        def serve(conn):
            self.hello(conn, "status")
            conn.sendall(ctl_frame(7, b"old", version=CTL_VERSION + 1))
        d = self.daemon(serve)
        r = self.client(["status"])
        d.close()
        self.assertEqual(r.rc, 69, r)
        self.assertIn("version %d, we speak %d" % (CTL_VERSION + 1,
                                                   CTL_VERSION), r.stderr)

    def test_no_socket(self):
        r = self.client(["send", "--name", "web", "x"])
        self.assertEqual(r.rc, 69, r)
        self.assertIn("no fleet named 'web' runs (no socket at %s)"
                      % os.path.join(self.dir, "web.sock"), r.stderr)
        # A first word that names no fleet is a line, to the default.
        r = self.client(["send", "uname", "-a"])
        self.assertEqual(r.rc, 69, r)
        self.assertIn("no fleet named 'default' runs", r.stderr)
        os.makedirs(self.dir, mode=0o700)
        r = self.client(["status", "web"])
        self.assertEqual(r.rc, 69, r)
        self.assertIn("no fleet named 'web' runs", r.stderr)

    def test_stale_socket(self):
        self.stale("web")
        r = self.client(["stop", "web"])
        self.assertEqual(r.rc, 69, r)
        self.assertIn("fleet 'web' is not running", r.stderr)
        self.assertIn("stale socket", r.stderr)

    def test_no_answer(self):
        """A daemon that never answers HELLO is given up."""
        def serve(conn):
            self.hello(conn, "status")
            time.sleep(7)
        d = self.daemon(serve)
        r = self.client(["status"])
        d.stopping = True
        self.assertEqual(r.rc, 69, r)
        self.assertIn("did not answer", r.stderr)

    # -- status, stop, attach piped

    def test_status(self):
        table = ("fleet 'default': pid 4242, 2 nodes\n"
                 "node  address         pid  state\n"
                 "   0  127.0.0.1:8888  11   up\n"
                 "   1  127.0.0.1:8889  12   up\n")

        def serve(conn):
            self.hello(conn, "status")
            conn.sendall(ctl_welcome(PID, 2, "default") + ctl_out(1, table)
                         + ctl_done(0))
        d = self.daemon(serve)
        r = self.client(["status"])
        d.close()
        self.assertEqual((r.rc, r.stdout, r.stderr), (0, table, ""))

    def test_stop(self):
        def serve(conn):
            self.hello(conn, "stop")
            conn.sendall(ctl_welcome(PID, 2, "web"))
            conn.sendall(ctl_out(2, "stopping\n"))
            time.sleep(0.3)  # the teardown
            conn.sendall(ctl_out(1, "shutdown (stop): 2 broadcasts\n") +
                         ctl_done(1))
        d = self.daemon(serve, "web")
        r = self.client(["stop", "web"])
        d.close()
        self.assertEqual(r.rc, 1, r)
        self.assertGreaterEqual(r.secs, 0.3)
        self.assertEqual(r.stdout, "shutdown (stop): 2 broadcasts\n")
        self.assertEqual(r.stderr, "stopping\n")

    def test_attach_piped(self):
        got = []

        def serve(conn):
            self.hello(conn, "attach")
            conn.sendall(ctl_welcome(PID, 3, "default"))
            got.extend(self.lines_until_end(conn))
            conn.sendall(ctl_done(0))
        d = self.daemon(serve)
        r = self.client(["attach"], input=b"/who\nuptime\n")
        d.close()
        self.assertEqual(r.rc, 0, r)
        self.assertEqual(got, [b"/who", b"uptime"])
        self.assertEqual(self.hellos[0][1] & CTL_F_TTY, 0)

    # -- list

    def test_list(self):
        def serve(conn):
            self.hello(conn, "status")
            conn.sendall(ctl_welcome(PID, 5, "live"))
        d = self.daemon(serve, "live")
        self.stale("dead")
        r = self.client(["list"])
        d.close()
        self.assertEqual(r.rc, 0, r)
        self.assertEqual(r.lines, ["dead  (not running: stale socket)",
                                   "live  pid %d  5 nodes" % PID])

    def test_list_none(self):
        r = self.client(["list"])
        self.assertEqual((r.rc, r.stdout), (0, ""), r)
        self.assertIn("no fleet runs", r.stderr)


if __name__ == "__main__":
    unittest.main()
