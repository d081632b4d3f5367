#!/usr/bin/env python3
"""orchestrator --service: a fleet run by systemd (the fanout@ unit).

systemd itself does not run here (not PID 1 in a container, no user
manager), so the test plays its part: it binds the datagram socket
$NOTIFY_SOCKET names and reads what sd_notify(3) sends, as systemd's
Type=notify does, then signals the main process as ExecReload= and
`systemctl stop` would. The unit file is checked with systemd-analyze
where that works. tests/detach.py covers the consoles of such a fleet.
Run: python3 tests/service.py -v     (build from $FANOUT_BUILD)
"""
import os
import shutil
import signal
import socket
import subprocess
import unittest

import harness

ANALYZE = shutil.which("systemd-analyze")
UNIT = os.path.join(harness.BUILD, "fanout@.service")


class Service(harness.FanoutTest):
    def notify_socket(self):
        """A socket playing systemd's notify socket; return it."""
        path = os.path.join(self.dir, "notify")
        s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        s.bind(path)
        s.settimeout(harness.READY_DEADLINE)
        self.addCleanup(s.close)
        return s, path

    def start_service(self, cfg, name, notify_path):
        env = dict(os.environ, NOTIFY_SOCKET=notify_path)
        return self.start(["--service", "--name", name, "-c", cfg],
                          stdin=subprocess.DEVNULL, env=env)

    def expect(self, sock, word):
        """Read messages until one holds the assignment word (READY=1,
        ...): return it, and those before it in self.before."""
        self.before = []
        while True:
            msg = sock.recv(4096).decode()
            if word in msg.split("\n"):
                return msg
            self.before.append(msg)

    def test_ready_reload_and_stop_are_told(self):
        n, base = 3, self.ports(5)
        cfg = self.config(base, n)
        sock, path = self.notify_socket()
        o = self.start_service(cfg, "svc", path)
        msg = self.expect(sock, "READY=1")
        self.assertIn("STATUS=3 nodes ready", msg)
        # Start-up may take [connect] timeout_ms (5 s): systemd's start
        # timeout is extended by that and a margin, before it begins.
        self.assertEqual(self.before, ["EXTEND_TIMEOUT_USEC=15000000\n"
                                       "STATUS=starting"])
        # Standard input is /dev/null, as under systemd: its end does
        # not stop the fleet; consoles reach it by its name.
        r = self.run_orch(["send", "svc", "hello"])
        self.assertEqual(r.rc, 0, r)
        # Nodes never see the service manager's socket.
        for pid in harness.node_processes(base, base + n - 1, self.dir):
            self.assertNotIn(b"NOTIFY_SOCKET=",
                             harness.read_proc(pid, "environ"))
        # ExecReload=: SIGHUP, the file read again, told around it.
        with open(cfg, "w") as f:
            f.write("[cluster]\nnum_clients = 5\nbase_port = %d\n" % base)
        os.kill(o.pid, signal.SIGHUP)
        self.expect(sock, "RELOADING=1")
        self.assertIn("STATUS=5 nodes wanted", self.expect(sock, "READY=1"))
        o.wait_line("out", r"scaled from 3 to 5 nodes")
        # A file that cannot be used: the fleet runs on as it was, and
        # `systemctl status` says the reload failed.
        with open(cfg, "w") as f:
            f.write("[cluster]\nnum_clients = many\n")
        os.kill(o.pid, signal.SIGHUP)
        self.expect(sock, "RELOADING=1")
        self.assertIn("STATUS=reload failed (see the log); 5 nodes wanted, "
                      "as before", self.expect(sock, "READY=1"))
        # systemctl stop: SIGTERM to the main process (KillMode=mixed).
        os.kill(o.pid, signal.SIGTERM)
        msg = self.expect(sock, "STOPPING=1")
        # stop_timeout_ms (2 s), SIGKILL's wait (2 s), a margin (10 s).
        self.assertIn("EXTEND_TIMEOUT_USEC=14000000", msg.split("\n"))
        self.assertEqual(o.wait(), 143)
        self.assertEqual(harness.node_processes(base, base + 4, self.dir),
                         {})

    def test_a_reload_put_off_is_confirmed_when_done(self):
        # A second SIGHUP while the first one's new nodes still start:
        # READY=1 comes once the file is read, with its size.
        n, base = 2, self.ports(12)
        slow = self.write("slow.sh", "#!/bin/sh\nsleep 1\nexec %s --port $1 "
                          "--index $2\n" % harness.NODE, 0o755)
        cfg = self.config(base, n, "[node]\ncommand = %s {port} {index}\n"
                          "[connect]\ntimeout_ms = 20000\n" % slow)
        sock, path = self.notify_socket()
        o = self.start_service(cfg, "slow", path)
        self.expect(sock, "READY=1")
        for size in (6, 12):
            with open(cfg) as f:
                text = f.read()
            with open(cfg, "w") as f:
                f.write(text.replace("num_clients = %d" % n,
                                     "num_clients = %d" % size))
            n = size
            os.kill(o.pid, signal.SIGHUP)
            self.expect(sock, "RELOADING=1")
            msg = self.expect(sock, "READY=1")
            self.assertIn("STATUS=%d nodes wanted" % size, msg)
        # The second was read once the first's nodes had started.
        o.wait_line("out", r"scaled from 2 to 6 nodes", 5)
        o.wait_line("out", r"scaled from 6 to 12 nodes", 30)
        os.kill(o.pid, signal.SIGTERM)
        self.assertEqual(o.wait(), 143)

    def test_a_failed_start_is_not_ready(self):
        base = self.ports(2)
        sock, path = self.notify_socket()
        self.track(harness.listen_on(base + 1))  # node 1's port taken
        o = self.start_service(self.config(base, 2), "bad", path)
        self.assertEqual(o.wait(), 69)
        sock.settimeout(0)
        msgs = []
        try:
            while True:
                msgs.append(sock.recv(4096).decode())
        except BlockingIOError:
            pass
        self.assertFalse([m for m in msgs if "READY=1" in m], msgs)

    def test_detach_and_service_exclude_each_other(self):
        r = self.run_orch(["--detach", "--service"])
        self.assertEqual(r.rc, 64, r)
        self.assertIn("choose one", r.stderr)

    @unittest.skipUnless(ANALYZE, "systemd-analyze is not installed")
    def test_the_unit_file_verifies(self):
        if not os.path.exists(UNIT):
            self.skipTest("%s not built" % UNIT)
        # systemd-analyze verify needs a unit of a real name: the
        # template instantiated, in a directory of its own, its
        # ExecStart pointing at this build.
        d = os.path.join(self.dir, "units")
        os.mkdir(d)
        with open(UNIT) as f:
            text = f.read()
        start = [l for l in text.splitlines() if l.startswith("ExecStart=")]
        self.assertEqual(len(start), 1, text)
        self.assertIn("--service --name %i -c %E/fanout/%i.ini", start[0])
        text = text.replace(start[0].split()[0],
                            "ExecStart=" + harness.ORCH)
        with open(os.path.join(d, "fanout@web.service"), "w") as f:
            f.write(text)
        r = subprocess.run([ANALYZE, "verify", "--man=no",
                            os.path.join(d, "fanout@web.service")],
                           capture_output=True, text=True, timeout=60)
        if r.returncode != 0 and "Failed to" in r.stderr and \
                "bus" in r.stderr.lower():
            self.skipTest("systemd-analyze cannot run here: %s"
                          % r.stderr.strip().splitlines()[-1])
        self.assertEqual(r.returncode, 0, r.stderr)

    def test_the_unit_under_a_real_user_manager(self):
        why = user_manager_missing()
        if why:
            self.skipTest(why)
        # The unit, pointing at this build, where a user manager looks
        # for runtime units; its configuration where %E/fanout/ is.
        rundir = "/run/user/%d" % os.getuid()
        unit_dir = os.path.join(rundir, "systemd", "user")
        os.makedirs(unit_dir, exist_ok=True)
        unit = "fanout-test-%d@.service" % os.getpid()
        with open(UNIT) as f:
            text = f.read()
        start = [l for l in text.splitlines() if l.startswith("ExecStart=")]
        with open(os.path.join(unit_dir, unit), "w") as f:
            f.write(text.replace(start[0].split()[0],
                                 "ExecStart=" + harness.ORCH))
        self.addCleanup(os.unlink, os.path.join(unit_dir, unit))
        conf_dir = os.path.join(os.environ.get(
            "XDG_CONFIG_HOME", os.path.expanduser("~/.config")), "fanout")
        os.makedirs(conf_dir, exist_ok=True)
        name = "t%d" % os.getpid()
        base = self.ports(3)
        with open(os.path.join(conf_dir, name + ".ini"), "w") as f:
            f.write("[cluster]\nnum_clients = 3\nbase_port = %d\n" % base)
        self.addCleanup(os.unlink, os.path.join(conf_dir, name + ".ini"))
        inst = unit.replace("@", "@" + name)

        def ctl(*args):
            return subprocess.run(["systemctl", "--user"] + list(args),
                                  capture_output=True, text=True,
                                  timeout=60)
        ctl("daemon-reload")
        self.addCleanup(ctl, "stop", inst)
        r = ctl("start", inst)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(ctl("is-active", inst).stdout.strip(), "active")
        self.assertEqual(ctl("reload", inst).returncode, 0)
        r = ctl("stop", inst)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(harness.node_processes(base, base + 2), {})


def user_manager_missing():
    """None if a systemd user manager answers here, else why not."""
    if not shutil.which("systemctl"):
        return "systemctl is not installed"
    try:
        r = subprocess.run(["systemctl", "--user", "is-system-running"],
                           capture_output=True, text=True, timeout=10)
    except subprocess.TimeoutExpired:
        return "systemctl --user does not answer"
    state = (r.stdout.strip() or r.stderr.strip()).splitlines()
    if state and state[0] in ("running", "degraded"):
        return None
    return ("no systemd user manager runs here (%s): the unit is "
            "checked with systemd-analyze only"
            % (state[-1] if state else "no answer"))


if __name__ == "__main__":
    unittest.main()
