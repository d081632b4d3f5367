#!/usr/bin/env python3
"""[cluster] launcher on one machine: host mode's faults, without root.

The "hosts" are loopback addresses (127.0.0.1-3) and the launcher runs
the host daemon here (`env`, or a shell wrapper that misbehaves on
purpose): a host lost and launched again, a launcher that hangs, one
that refuses, a banner with no newline, a host daemon that lies. The
same over real sshd is tests/sshd_hosts.py (root).
Run: python3 tests/launcher.py -v     (build from $FANOUT_BUILD)
"""
import json
import os
import signal
import time
import unittest

import harness

HOSTS = ["127.0.0.1", "127.0.0.2", "127.0.0.3"]


class Launcher(harness.FanoutTest):
    def launcher_config(self, base, n, launcher, extra=""):
        return self.config(base, n, "hosts = %s\nlauncher = %s\n%s"
                           % (", ".join(HOSTS), launcher, extra),
                           "launcher.ini")

    def daemons(self):
        """{pid: host} of this test's host daemons, by the address
        their nodes bind."""
        found = {}
        for pid, argv in harness.process_argvs().items():
            if argv[1:] != ["--host-mode"] or \
                    not harness.is_node_binary(pid, argv[0]) or \
                    harness.cwd_of(pid) != self.dir:
                continue
            for kid in harness.children(pid):
                host = harness.arg_after(harness.process_argvs().get(
                    kid, []), "--host")
                if host:
                    found[pid] = host
        return found

    def assert_nothing_left(self, base, n):
        harness.wait_until(
            lambda: not harness.node_processes(base, base + n - 1, self.dir)
            and not self.daemons(), harness.FAULT_DEADLINE,
            "every node and host daemon gone")

    def lost_events(self, o):
        return [json.loads(l) for l in o.out if '"node_exit"' in l]

    def test_a_lost_host_comes_back_with_its_nodes(self):
        n, base = 6, self.ports(6)
        o = self.start(["-c", self.launcher_config(
            base, n, "env LAUNCHED_FOR={host}",
            "[node]\nrestart = on-failure\n"), "--json"])
        self.assertEqual(o.wait_event("ready")["nodes"], n)
        victim = [p for p, h in self.daemons().items() if h == HOSTS[1]]
        self.assertEqual(len(victim), 1)
        os.kill(victim[0], signal.SIGKILL)
        # Said once for the host, with the node set it took and when it
        # is launched again; each node's event says it was the host.
        o.wait_line("err", r"host 127\.0\.0\.2: launcher killed by signal "
                    r"9.*; lost with it: node\[1,4\] \(2\); launched again "
                    r"in \d+ ms", harness.FAULT_DEADLINE)
        harness.wait_until(lambda: len(self.lost_events(o)) == 2,
                           harness.FAULT_DEADLINE, "two node_exit events")
        self.assertEqual(sorted((e["index"], e.get("lost_with_host"))
                                for e in self.lost_events(o)),
                         [(1, HOSTS[1]), (4, HOSTS[1])])
        self.assertFalse([l for l in o.err if "restarting in" in l], o.err)
        o.wait_matches("err", "connected after a restart", 2,
                       harness.FAULT_DEADLINE)
        self.send_acked(o, "after the host came back\n", 1, n)
        o.close_stdin()
        self.assertEqual(o.wait(), 1)     # nodes died: not a clean run
        self.assert_nothing_left(base, n)

    def test_a_host_daemon_stopped_by_a_signal_is_a_lost_host(self):
        # SIGTERM on the far side (a reboot, an admin): its nodes end
        # cleanly there, but they are the host's loss, and come back.
        n, base = 6, self.ports(6)
        o = self.start(["-c", self.launcher_config(
            base, n, "env LAUNCHED_FOR={host}",
            "[node]\nrestart = on-failure\n"), "--json"])
        self.assertEqual(o.wait_event("ready")["nodes"], n)
        victim = [p for p, h in self.daemons().items() if h == HOSTS[1]]
        os.kill(victim[0], signal.SIGTERM)
        o.wait_line("err", r"host 127\.0\.0\.2: stopping: signal 15",
                    harness.FAULT_DEADLINE)
        harness.wait_until(lambda: len(self.lost_events(o)) == 2,
                           harness.FAULT_DEADLINE, "two node_exit events")
        self.assertEqual(sorted((e["index"], e.get("lost_with_host"))
                                for e in self.lost_events(o)),
                         [(1, HOSTS[1]), (4, HOSTS[1])])
        o.wait_matches("err", "connected after a restart", 2,
                       harness.FAULT_DEADLINE)
        self.send_acked(o, "back\n", 1, n)
        o.close_stdin()
        self.assertEqual(o.wait(), 1)
        self.assert_nothing_left(base, n)

    def test_a_change_of_size_ends_while_a_host_is_down(self):
        # Host 2 down for good meanwhile: the scale to 9 is reported
        # without it (its new node waits for it), and later reloads are
        # not held up; once it answers again, all nine are there.
        n, base = 6, self.ports(9)
        down = os.path.join(self.dir, "down")
        wrapper = self.write("launch.sh", "#!/bin/sh\n"
                             "[ $1 = 127.0.0.2 ] && [ -e %s ] && "
                             "{ echo refused >&2; exit 255; }\n"
                             "shift\nexec \"$@\"\n" % down, 0o755)
        cfg = self.launcher_config(base, n, wrapper + " {host}",
                                   "[node]\nrestart = on-failure\n")
        o = self.start(["-c", cfg, "--json"])
        self.assertEqual(o.wait_event("ready")["nodes"], n)
        open(down, "w").close()
        victim = [p for p, h in self.daemons().items() if h == HOSTS[1]]
        os.kill(victim[0], signal.SIGKILL)
        o.wait_line("err", r"host 127\.0\.0\.2: launcher killed",
                    harness.FAULT_DEADLINE)
        with open(cfg) as f:
            text = f.read()
        with open(cfg, "w") as f:
            f.write(text.replace("num_clients = 6", "num_clients = 9"))
        scale = o.wait_event("scale", timeout=harness.FAULT_DEADLINE)
        self.assertEqual((scale["from"], scale["to"], scale["nodes"]),
                         (6, 9, 6), scale)
        os.unlink(down)
        o.wait_matches("err", "connected after a restart", 2, 40)
        harness.wait_until(lambda: len(harness.node_processes(
            base, base + 8, self.dir)) == 9, 40, "nine nodes")
        o.close_stdin()
        o.wait()
        self.assert_nothing_left(base, 9)

    def test_a_relaunch_that_hangs_is_given_up_then_tried_again(self):
        n, base = 3, self.ports(3)
        flag = os.path.join(self.dir, "hang")
        wrapper = self.write("launch.sh", "#!/bin/sh\n"
                             "shift  # the host: all are here\n"
                             "[ -e %s ] && exec sleep 60\n"
                             "exec \"$@\"\n" % flag, 0o755)
        o = self.start(["-c", self.launcher_config(
            base, n, wrapper + " {host}", "[node]\nrestart = on-failure\n"
            "[connect]\ntimeout_ms = 700\n"), "--json"])
        self.assertEqual(o.wait_event("ready")["nodes"], n)
        open(flag, "w").close()
        victim = [p for p, h in self.daemons().items() if h == HOSTS[2]]
        os.kill(victim[0], signal.SIGKILL)
        o.wait_line("err", r"host 127\.0\.0\.3: did not answer within 700 "
                    r"ms", harness.FAULT_DEADLINE)
        os.unlink(flag)
        o.wait_matches("err", "connected after a restart", 1, 10)
        self.send_acked(o, "all back\n", 1, n)
        o.close_stdin()
        self.assertEqual(o.wait(), 1)
        self.assert_nothing_left(base, n)

    def test_a_refusing_host_fails_start_up_at_once(self):
        n, base = 9, self.ports(9)
        launcher = ("sh -c 'case $0 in 127.0.0.2) echo \"ssh: connect to "
                    "host $0 port 22: Connection refused\" >&2; exit 255;; "
                    "esac; exec \"$@\"' {host}")
        t0 = time.monotonic()
        o = self.start(["-c", self.launcher_config(
            base, n, launcher, "[connect]\ntimeout_ms = 30000\n")])
        self.assertEqual(o.wait(), 69)
        self.assertLess(time.monotonic() - t0, 5)
        o.wait_line("err", r"host 127\.0\.0\.2: launcher exited 255: ssh: "
                    r"connect to host 127\.0\.0\.2 port 22: Connection "
                    r"refused; lost with it: node\[1,4,7\] \(3\)$", 1)
        self.assert_nothing_left(base, n)

    def test_every_silent_host_is_named_with_its_last_words(self):
        n, base = 6, self.ports(6)
        launcher = ("sh -c 'case $0 in 127.0.0.1) exec \"$@\";; esac; "
                    "echo \"connecting to $0\" >&2; exec sleep 60' {host}")
        o = self.start(["-c", self.launcher_config(
            base, n, launcher, "[connect]\ntimeout_ms = 500\n")])
        self.assertEqual(o.wait(), 69)
        for host in HOSTS[1:]:
            o.wait_line("err", r"host %s did not answer within 500 ms "
                        r"\(\[connect\] timeout_ms\); it said: connecting "
                        r"to %s$" % (host.replace(".", r"\."),
                                     host.replace(".", r"\.")), 1)
        # Nodes that were never started are not said to outlive SIGKILL.
        self.assertFalse([l for l in o.err if "left behind" in l or
                          "SIGKILL" in l], o.err)
        self.assert_nothing_left(base, n)

    def test_a_banner_without_a_newline_does_not_hide_the_host(self):
        n, base = 3, self.ports(3)
        # Not even a blank before the hello.
        launcher = "sh -c 'printf \"Welcome to $0!\"; exec \"$@\"' {host}"
        o = self.start(["-c", self.launcher_config(base, n, launcher),
                        "--json"])
        self.assertEqual(o.wait_event("ready")["nodes"], n)
        o.wait_line("err", r"^\[host 127\.0\.0\.3\] Welcome to 127\.0\.0\.3!$",
                    harness.FAULT_DEADLINE)
        self.send_acked(o, "hello\n", 1, n)
        o.close_stdin()
        self.assertEqual(o.wait(), 0)
        self.assert_nothing_left(base, n)

    def test_a_lying_host_daemon_moves_no_terminal(self):
        # It claims another version, and says why with terminal escapes.
        n, base = 3, self.ports(3)
        fake = self.write("fake.sh", "#!/bin/sh\n"
                          "printf 'fanout-host 1 1\\nready 1\\nout 2 x\\n"
                          "error \\033]0;pwned\\007\\033[2Jgone\\n'\n", 0o755)
        o = self.start(["-c", self.launcher_config(base, n, fake +
                                                   " {host}")])
        self.assertEqual(o.wait(), 69)
        err = "\n".join(o.err)
        self.assertNotIn("\x1b", err)
        self.assertNotIn("\x07", err)
        self.assertRegex(err, r"host 127\.0\.0\.\d: \?\]0;pwned\?\?\[2Jgone")
        self.assert_nothing_left(base, n)

    def test_another_version_is_named_on_both_sides(self):
        n, base = 3, self.ports(3)
        fake = self.write("fake.sh", "#!/bin/sh\n"
                          "echo 'fanout-host 7 1'; cat >/dev/null\n", 0o755)
        o = self.start(["-c", self.launcher_config(base, n, fake +
                                                   " {host}")])
        self.assertEqual(o.wait(), 69)
        o.wait_line("err", "its node program speaks fanout-host 7, this "
                    "orchestrator 1", 1)
        self.assert_nothing_left(base, n)


if __name__ == "__main__":
    unittest.main()
