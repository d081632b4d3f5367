#!/usr/bin/env python3
"""Many hosts over ssh, for real (SPEC §8): each host a network namespace
of its own (named after its address, joined to this one by a veth pair)
running a real OpenSSH server, Debian's /usr/sbin/sshd, at its default
settings (MaxStartups 10:30:100 among them). See "OpenSSH in a
namespace" in harness.py for what the servers' files say and what a
session there looks like.

SshdAtDefaults: the hosts themselves, without the orchestrator: what a
launcher meets there.

SshLauncher: `[cluster] launcher = ssh ... {host}`: one ssh connection
per host, which runs `NODE --host-mode` there, a host daemon that starts
that host's nodes (node i on host i mod 3); the orchestrator connects to
every node directly. Beside it, for comparison, the per-node `[node]
command = ssh ... {host} NODE --host {host} ...` below MaxStartups.

Needs root, `ip netns` and openssh-server; skips, saying why, otherwise.
Every namespace and every server is removed afterwards, whatever
happened; processes are killed by PID, never by name.
Run: python3 tests/sshd_hosts.py -v     (build from $FANOUT_BUILD)
"""
import os
import shlex
import shutil
import signal
import subprocess
import tempfile
import threading
import time
import unittest

import harness

HOSTS = 3
WHY_NOT = harness.sshd_unusable()
DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
# ssh's last words when a host's port 22 refuses the connection.
REFUSED = "ssh: connect to host %s port 22: Connection refused"


class HostsMixin:
    """Three hosts with sshds for a test, removed in its cleanup."""

    def ssh_popen(self, net, addr, command):
        """ssh running command on host addr, its stdin a pipe kept open;
        killed and reaped in cleanup."""
        p = subprocess.Popen(harness.ssh_words(net.key) + [addr, command],
                             stdin=subprocess.PIPE,
                             stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL)

        def close():
            harness.kill_and_reap(p)
            p.stdin.close()
        self.addCleanup(close)
        return p

    def make_hosts(self, **kw):
        """harness.SshdHosts(HOSTS, self.dir, **kw), closed in cleanup
        (which fails if a namespace is left)."""
        net = harness.SshdHosts(HOSTS, self.dir, **kw)

        def close():
            self.assertEqual(net.close(), [], "namespaces left behind")
        self.addCleanup(close)
        return net


@unittest.skipIf(WHY_NOT, WHY_NOT or "")
class SshdAtDefaults(HostsMixin, unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="fanout-sshd-it-")
        self.addCleanup(shutil.rmtree, self.dir, True)
        self.net = self.make_hosts()

    def settings(self, conf):
        """{keyword: [value, ...]} of sshd's effective settings with the
        configuration file conf (sshd -T)."""
        r = harness.run([harness.SSHD, "-T", "-f", conf], self.dir, None,
                        harness.SSH_DEADLINE)
        self.assertEqual(r.rc, 0, r)
        found = {}
        for line in r.lines:
            key, _, value = line.partition(" ")
            found.setdefault(key, []).append(value)
        return found

    def test_every_setting_but_the_private_ones_is_the_default(self):
        sshd = self.net.sshds[self.net.hosts[0]]
        bare = os.path.join(self.dir, "bare_config")
        with open(bare, "w") as f:
            f.write("HostKey %s\n" % sshd.host_key)
        ours, defaults = self.settings(sshd.conf), self.settings(bare)
        differ = sorted(k for k in set(ours) | set(defaults)
                        if ours.get(k) != defaults.get(k))
        self.assertEqual(differ, ["authorizedkeysfile", "listenaddress",
                                  "pidfile", "setenv"])
        self.assertEqual(ours["maxstartups"], ["10:30:100"])

    def test_each_host_answers_on_its_own_address(self):
        for addr in self.net.hosts:
            r = self.net.ssh(addr, "ip -4 -o addr show dev eth0")
            self.assertEqual(r.rc, 0, r)
            self.assertIn(" %s/24 " % addr, r.stdout, r)
            # At rest a host runs its sshd's listener and nothing else
            # (the connection's sshd ends just after the client).
            harness.wait_until(lambda a=addr: harness.netns_pids(a) ==
                               [self.net.listener(a)],
                               harness.FAULT_DEADLINE,
                               "%s at rest" % addr)

    def test_a_session_has_a_private_empty_home(self):
        for addr in self.net.hosts:
            r = self.net.ssh(addr, 'echo "$HOME"; ls -A ~; pwd; '
                             'echo "$PATH"')
            self.assertEqual(r.rc, 0, r)
            # HOME is the server's own, and empty; the working directory
            # stays the password file's home; PATH is sshd's: root's
            # ~/.bashrc did not run.
            self.assertEqual(r.stdout.split("\n"),
                             [self.net.sshds[addr].home, "/root",
                              DEFAULT_PATH, ""], r)

    def test_bash_reads_the_bashrc_of_the_private_home(self):
        # Debian's bash sources ~/.bashrc for a command run by sshd: the
        # private HOME decides which.
        addr = self.net.hosts[0]
        bashrc = os.path.join(self.net.sshds[addr].home, ".bashrc")
        with open(bashrc, "w") as f:
            f.write("echo private-bashrc-ran >&2\n")
        r = self.net.ssh(addr, "true")
        self.assertEqual((r.rc, r.stderr), (0, "private-bashrc-ran\n"), r)
        os.unlink(bashrc)
        r = self.net.ssh(addr, "true")
        self.assertEqual((r.rc, r.stderr), (0, ""), r)

    def test_nothing_of_the_client_environment_crosses(self):
        addr = self.net.hosts[1]
        r = harness.run(["env", "FANOUT_TOKEN=" + "ab" * 32, "LANG=C.UTF-8"]
                        + harness.ssh_words(self.net.key) + [addr, "env"],
                        self.dir, None, harness.SSH_DEADLINE)
        self.assertEqual(r.rc, 0, r)
        names = sorted(line.split("=", 1)[0]
                       for line in r.stdout.splitlines())
        self.assertNotIn("FANOUT_TOKEN", names, r)
        self.assertNotIn("LANG", names, r)

    def test_max_startups_is_at_its_default(self):
        # 40 connections at once to one host: past 10 unauthenticated
        # ones, sshd drops new ones (30 % of them, rising to all at 100).
        addr = self.net.hosts[2]
        results = [None] * 40

        def one(i):
            results[i] = self.net.ssh(addr, "true")
        threads = [threading.Thread(target=one, args=(i,))
                   for i in range(len(results))]
        for t in threads:
            t.start()
        for t in threads:
            t.join(harness.SSH_DEADLINE + 5)
        self.assertNotIn(None, results)
        failed = [r for r in results if r.rc != 0]
        self.assertTrue(failed, "no connection dropped")
        self.assertGreaterEqual(len(results) - len(failed), 10, failed)
        for r in failed:
            self.assertEqual(r.rc, 255, r)
            self.assertIn("kex_exchange_identification", r.stderr, r)
        self.assertIn("past MaxStartups", self.net.sshds[addr].log())
        self.net.wait_clear(harness.FAULT_DEADLINE)

    def test_a_killed_client_ends_the_remote_stdin_and_nothing_more(self):
        # What a host daemon can rely on: without a terminal, sshd sends
        # no signal when its client goes; the command's stdin ends.
        addr = self.net.hosts[0]
        pids = []
        for command in ("cat >/dev/null", "sleep 60"):
            p = self.ssh_popen(self.net, addr, command)
            word = command.split()[0]
            pid = harness.wait_until(
                lambda: next((q for q in self.net.left(addr)
                              if (harness.read_proc(q, "cmdline") or b"")
                              .split(b"\0")[0] == word.encode()), None),
                harness.SSH_DEADLINE, "%s running on %s" % (word, addr))
            harness.kill_and_reap(p)
            pids.append(pid)
        harness.wait_until(lambda: not harness.alive(pids[0]),
                           harness.FAULT_DEADLINE, "cat to see EOF")
        self.assertTrue(harness.alive(pids[1]), "sleep was signalled")
        harness.kill_pids([pids[1]])

    def test_a_killed_host_leaves_nothing(self):
        doomed, other = self.net.hosts[1], self.net.hosts[2]
        p = self.ssh_popen(self.net, doomed, "sleep 60 & sleep 60")
        harness.wait_until(lambda: len(self.net.left(doomed)) >= 3,
                           harness.SSH_DEADLINE, "a session on %s" % doomed)
        self.net.kill_host(doomed)
        self.assertEqual(harness.netns_pids(doomed), [])
        self.assertIsNone(self.net.listener(doomed))
        self.assertEqual(p.wait(harness.FAULT_DEADLINE), 255)
        # The other hosts are left alone.
        self.assertEqual(harness.netns_pids(other), [self.net.listener(other)])
        self.assertEqual(self.net.ssh(other, "true").rc, 0)


@unittest.skipIf(WHY_NOT, WHY_NOT or "")
class SshLauncher(HostsMixin, harness.FanoutTest):
    def launcher_config(self, net, n, base, connect_ms=30000, extra="",
                        node_extra=""):
        """A configuration of n nodes from base on net's hosts through
        net's launcher; extra goes in [cluster], node_extra in [node]."""
        return self.config(base, n, "hosts = %s\nlauncher = %s\n%s"
                           "[node]\nstop_timeout_ms = 1000\n%s"
                           "[connect]\ntimeout_ms = %d\n"
                           % (", ".join(net.hosts), net.launcher(), extra,
                              node_extra, connect_ms), "hosts.ini")

    def start_launched(self, net, n, ready_timeout=30):
        """An orchestrator (--json) of n nodes over net's hosts, once they
        are all ready; return (orch, base)."""
        base = self.ports(n)
        o = self.start(["-c", self.launcher_config(net, n, base), "--json"])
        ready = o.wait_event("ready", timeout=ready_timeout)
        self.assertEqual((ready["nodes"], ready["expected"]), (n, n), ready)
        return o, base

    def node_procs(self, addr):
        """{pid: argv} of the node program's processes in host addr."""
        pids = set(harness.netns_pids(addr))
        return {pid: argv for pid, argv in harness.process_argvs().items()
                if pid in pids and harness.is_node_binary(pid, argv[0])}

    def assert_stopped_fast(self, o, bad, why):
        """o fails start-up: exit 69 well before the connect budget (30
        s), naming host bad itself and giving why (the launcher's last
        words); nothing is left on any host."""
        rc = o.wait(harness.EXIT_DEADLINE)
        took = time.monotonic() - o.started
        self.assertEqual(rc, 69, o.err)
        self.assertLess(took, harness.EXIT_DEADLINE)
        self.assertEqual(o.events_so_far("ready"), [], o.out)
        ssh_line = REFUSED % bad
        self.assertTrue(any(bad in line.replace(ssh_line, "")
                            for line in o.err),
                        "no line of the orchestrator's names %s: %r"
                        % (bad, o.err))
        self.assertTrue(any(why in line for line in o.err), o.err)

    # a.
    def test_600_nodes_over_one_ssh_connection_per_host(self):
        net = self.make_hosts()
        n = 600
        o, _ = self.start_launched(net, n, ready_timeout=60)
        for addr in net.hosts:
            self.assertEqual(len(self.node_procs(addr)), n // HOSTS + 1,
                             "%s: the host daemon and its nodes" % addr)
        self.send_acked(o, "to six hundred nodes on three hosts\n", 1, n,
                        timeout=30)
        o.close_stdin()
        self.assertEqual(o.wait(30), 0, o.err)
        net.wait_clear(10)

    def test_one_connection_and_one_host_daemon_per_host(self):
        net = self.make_hosts()
        n = 12
        o, base = self.start_launched(net, n)
        for k, addr in enumerate(net.hosts):
            listener = net.listener(addr)
            # One ssh connection: the listener serves one.
            self.assertEqual(len(harness.children(listener)), 1, addr)
            procs = self.node_procs(addr)
            daemons = [pid for pid, argv in procs.items()
                       if argv[1:] == ["--host-mode"]]
            self.assertEqual(len(daemons), 1, procs)
            daemon = daemons[0]
            self.assertIn(daemon, harness.descendants(listener))
            nodes = {pid: argv for pid, argv in procs.items()
                     if pid != daemon}
            indexes = sorted(int(harness.arg_after(argv, "--index"))
                             for argv in nodes.values())
            self.assertEqual(indexes, list(range(k, n, HOSTS)), procs)
            for pid, argv in nodes.items():
                i = int(harness.arg_after(argv, "--index"))
                self.assertEqual(harness.arg_after(argv, "--host"), addr)
                self.assertEqual(harness.arg_after(argv, "--port"),
                                 str(base + i))
                self.assertEqual(harness.proc_ppid(pid), daemon, argv)
                # A process group of its own (SPEC §8, §12).
                self.assertEqual(os.getpgid(pid), pid, "node %d's group"
                                 % i)
            # The token never travels on a command line.
            for argv in procs.values():
                self.assertIsNone(harness.HEX64.search(
                    " ".join(argv).encode()), argv)
        # Here: one ssh client per host, its words the launcher's, then
        # the node program's absolute path and --host-mode.
        clients = net.clients()
        self.assertEqual(len(clients), HOSTS)
        words = harness.ssh_words(net.key)
        got = sorted(harness.process_argvs()[pid] for pid in clients)
        for addr, argv in zip(sorted(net.hosts), got):
            self.assertEqual(argv[:len(words) + 1], words + [addr], argv)
            self.assertTrue(os.path.isabs(argv[-2]), argv)
            self.assertEqual(os.path.realpath(argv[-2]), harness.NODE_REAL)
            self.assertEqual(argv[-1], "--host-mode", argv)
            self.assertEqual(len(argv), len(words) + 3, argv)
        o.close_stdin()
        self.assertEqual(o.wait(15), 0, o.err)
        net.wait_clear(10)

    # b.
    def test_a_host_killed_mid_run_loses_its_nodes_only(self):
        net = self.make_hosts()
        n = 30
        o, _ = self.start_launched(net, n)
        self.send_acked(o, "before\n", 1, n)
        doomed = net.hosts[1]
        lost = list(range(1, n, HOSTS))
        net.kill_host(doomed)
        exits = o.wait_events("node_exit", len(lost), timeout=10)
        self.assertEqual(sorted(e["index"] for e in exits), lost, exits)
        # The others go on: two broadcasts, each acked by all of them.
        for seq, text in ((2, "after the loss\n"), (3, "and again\n")):
            o.send(text)
            ev = o.wait_broadcast(seq, timeout=10)
            self.assertEqual((ev["acked"], ev["expected"], ev["missing"]),
                             (n - len(lost), n, lost), ev)
        # Exactly the lost host's nodes were reported.
        self.assertEqual(sorted(e["index"]
                                for e in o.events_so_far("node_exit")),
                         lost)
        o.close_stdin()
        self.assertEqual(o.wait(15), 1, o.err)
        net.wait_clear(10)
        self.assertEqual(harness.netns_pids(doomed), [])

    # c.
    def test_a_host_that_refuses_fails_start_up_at_once(self):
        net = self.make_hosts(without_sshd=(1,))
        bad = net.hosts[1]
        base = self.ports(30)
        o = self.start(["-c", self.launcher_config(net, 30, base), "--json"])
        self.assert_stopped_fast(o, bad, "Connection refused")
        net.wait_clear(harness.FAULT_DEADLINE)
        self.assertEqual(harness.netns_pids(bad), [])

    # d.
    def test_sigkill_of_the_orchestrator_leaves_no_fleet(self):
        # What may remain afterwards: on each host its sshd's listener,
        # nothing else (no sshd process of a connection, no host daemon,
        # no node); here, no ssh client of the test's key. Within 1 s
        # (SPEC §5; seen: 0.05 s).
        net = self.make_hosts()
        n = 30
        o, _ = self.start_launched(net, n)
        self.send_acked(o, "before the kill\n", 1, n)
        os.kill(o.pid, signal.SIGKILL)
        t0 = time.monotonic()
        net.wait_clear(harness.FAULT_DEADLINE, interval=0.005)
        took = time.monotonic() - t0
        self.assertLessEqual(took, 1.0, "the fleet took %.2f s to go" % took)
        self.assertEqual(o.wait(), -signal.SIGKILL)
        for addr in net.hosts:
            self.assertEqual(harness.netns_pids(addr), [net.listener(addr)])

    def test_sigkill_of_the_orchestrator_stops_running_commands(self):
        # Nodes busy with a command each (handler = exec): the commands
        # go too, within the second, though SIGTERM is what a node with
        # commands asks for when its parent dies (their grace is 1 s).
        net = self.make_hosts()
        n = 15
        base = self.ports(n)
        o = self.start(["-c", self.launcher_config(
            net, n, base, node_extra="handler = exec\n"), "--json"])
        self.assertEqual(o.wait_event("ready", timeout=30)["nodes"], n)
        o.send("sleep 100\n")

        def sleeping(addr):
            pids = set(harness.netns_pids(addr))
            return [p for p, argv in harness.process_argvs().items()
                    if p in pids and argv[:2] == ["sleep", "100"]]
        harness.wait_until(
            lambda: all(len(sleeping(a)) == n // HOSTS for a in net.hosts),
            10, "a sleep on every node")
        os.kill(o.pid, signal.SIGKILL)
        t0 = time.monotonic()
        net.wait_clear(harness.FAULT_DEADLINE, interval=0.005)
        took = time.monotonic() - t0
        self.assertLessEqual(took, 1.0, "the fleet took %.2f s to go" % took)
        self.assertEqual(o.wait(), -signal.SIGKILL)

    # e.
    def test_a_host_without_the_node_program_fails_start_up_at_once(self):
        # sshd stays at its defaults: the key's line in host 2's
        # authorized_keys forces a command, a node program path that does
        # not exist there, as if the node program were missing on it.
        missing = harness.NODE + ".missing"
        net = self.make_hosts(key_options={
            2: 'command="%s --host-mode",no-user-rc' % shlex.quote(missing)})
        bad = net.hosts[2]
        base = self.ports(30)
        o = self.start(["-c", self.launcher_config(net, 30, base), "--json"])
        self.assert_stopped_fast(o, bad, "%s: No such file or directory"
                                 % missing)
        net.wait_clear(harness.FAULT_DEADLINE)

    # For comparison: one ssh per node, as many as sshd lets start at once.
    def test_one_ssh_per_node_below_max_startups(self):
        net = self.make_hosts()
        n = 9
        base = self.ports(n)
        o = self.start(["-c", self.config(
            base, n, "hosts = %s\n[node]\ncommand = %s\n"
            "stop_timeout_ms = 1000\n" % (", ".join(net.hosts),
                                          net.node_command()),
            "per-node.ini"), "--json"])
        ready = o.wait_event("ready", timeout=30)
        self.assertEqual(ready["nodes"], n, ready)
        self.assertEqual(len(net.clients()), n)
        self.send_acked(o, "one ssh each\n", 1, n)
        o.close_stdin()
        self.assertEqual(o.wait(15), 0, o.err)
        net.wait_clear(10)


if __name__ == "__main__":
    unittest.main()
