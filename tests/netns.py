#!/usr/bin/env python3
"""Many hosts, for real: a fleet across Linux network namespaces.

Each "host" is a network namespace of its own, named after its address
and joined to this one by a veth pair. The orchestrator starts node i on
host i mod 3 through `ip netns exec {host} ...` as its launcher, the way
it would through ssh: without FANOUT_TOKEN or FANOUT_READY_FD in the
node's environment, so the token travels on the node's standard input and
readiness comes back as a line on its standard output.

Needs root and `ip netns`; skips, saying why, otherwise. Every namespace
is deleted afterwards, whatever happened.
Run: python3 tests/netns.py -v     (build from $FANOUT_BUILD)
"""
import json
import os
import random
import signal
import unittest

import harness

HOSTS = 3
WHY_NOT = harness.netns_unusable()


@unittest.skipIf(WHY_NOT, WHY_NOT or "")
class ManyHosts(harness.FanoutTest):
    def setUp(self):
        super().setUp()
        self.hosts = []
        net = random.randint(1, 250)
        for k in range(HOSTS):
            addr = "10.231.%d.2" % ((net + k) % 250 + 1)
            outer = "fo%d%d" % (os.getpid() % 100000, k)
            self.addCleanup(self.delete_host, addr, outer)
            harness.add_host(addr, outer)
            self.hosts.append(addr)

    def delete_host(self, addr, outer):
        self.assertTrue(harness.delete_host(addr, outer),
                        "namespace %s left behind" % addr)

    def lose_host(self, o, n):
        """Kill everything in the second host; wait until o (--json)
        has reported each of its nodes."""
        for pid in harness.netns_pids(self.hosts[1]):
            os.kill(pid, signal.SIGKILL)
        harness.wait_until(
            lambda: sum('"node_exit"' in l for l in o.out) == n // HOSTS,
            10, "node_exit events of the lost host")

    def hosts_config(self, n, base, extra=""):
        launcher = ("ip netns exec {host} env -u FANOUT_TOKEN "
                    "-u FANOUT_READY_FD %s --host {host} --port {port} "
                    "--index {index}" % harness.NODE)
        return self.config(base, n, "hosts = %s\n[node]\ncommand = %s\n"
                           "stop_timeout_ms = 1000\n%s"
                           % (", ".join(self.hosts), launcher, extra),
                           "hosts.ini")

    def test_replies_come_back_from_every_host(self):
        n, base = 6, random.randint(21000, 30000)
        o = self.start(["-c", self.hosts_config(n, base, "handler = exec\n"),
                        "--json"])
        self.assertEqual(o.wait_event("ready", timeout=20)["nodes"], n)
        # Each command runs on its node's host: it sees that host's
        # address, and the replies fold by host.
        o.send("ip -4 -o addr show dev eth0 | awk '{print $4}'\n")
        ev = o.wait_broadcast(1, timeout=20)
        self.assertEqual((ev["replied"], ev["no_reply"]), (n, []), ev)
        got = sorted((g["nodes"], g["output"]) for g in ev["replies"])
        self.assertEqual(got, sorted(([k, k + HOSTS], host + "/24\n")
                                     for k, host in enumerate(self.hosts)),
                         ev)
        o.close_stdin()
        self.assertEqual(o.wait(15), 0)
        for host in self.hosts:
            harness.wait_until(lambda h=host: not harness.netns_pids(h), 5,
                               "nodes of %s gone" % host)

    def test_fleet_across_three_hosts(self):
        n, base = 6, random.randint(21000, 30000)
        o = self.start(["-c", self.hosts_config(n, base), "--json"])
        ready = o.wait_event("ready", timeout=20)
        self.assertEqual(ready["nodes"], n)
        # Node i runs in host i mod 3, and listens on that host's address.
        for k, host in enumerate(self.hosts):
            pids = harness.netns_pids(host)
            self.assertEqual(len(pids), n // HOSTS, host)
            for pid in pids:
                argv = harness.read_proc(pid, "cmdline").split(b"\0")
                self.assertIn(host.encode(), argv)
                # The token never travels on a command line.
                self.assertFalse(harness.HEX64.search(b" ".join(argv)))
        o.send("across the hosts\n")
        ev = o.wait_line("out", '"seq":1', 10)
        self.assertIn('"acked":6,"expected":6', ev.string)
        # One host goes down: its nodes are reported, and missed.
        self.lose_host(o, n)
        o.send("after the loss\n")
        ev = o.wait_line("out", '"seq":2', 10)
        self.assertIn('"acked":4,"expected":6,"missing":[1,4]', ev.string)
        o.close_stdin()
        self.assertEqual(o.wait(15), 1)
        # Teardown reached every host: no node anywhere.
        for host in self.hosts:
            harness.wait_until(lambda h=host: not harness.netns_pids(h), 5,
                               "nodes of %s gone" % host)
        self.assertEqual(harness.node_processes(base, base + n - 1), {})

    def test_one_launcher_per_host(self):
        """[cluster] launcher: one host daemon per namespace starts that
        host's nodes; a host lost mid-run takes exactly its nodes."""
        n, base = 9, random.randint(21000, 30000)
        cfg = self.config(base, n, "hosts = %s\nlauncher = ip netns exec "
                          "{host}\n[node]\nstop_timeout_ms = 1000\n"
                          % ", ".join(self.hosts), "launcher.ini")
        o = self.start(["-c", cfg, "--json"])
        self.assertEqual(o.wait_event("ready", timeout=20)["nodes"], n)
        for host in self.hosts:
            # The host daemon and its three nodes, nothing else.
            self.assertEqual(len(harness.netns_pids(host)), 1 + n // HOSTS,
                             host)
        o.send("across the hosts\n")
        ev = o.wait_line("out", '"seq":1', 10)
        self.assertIn('"acked":9,"expected":9', ev.string)
        self.lose_host(o, n)
        lost = sorted(json.loads(l)["index"] for l in o.out
                      if '"node_exit"' in l)
        self.assertEqual(lost, [1, 4, 7])
        o.send("after the loss\n")
        ev = o.wait_line("out", '"seq":2', 10)
        self.assertIn('"acked":6,"expected":9,"missing":[1,4,7]', ev.string)
        o.wait_line("err", "host %s: launcher killed by signal 9"
                    % self.hosts[1], 5)
        o.close_stdin()
        self.assertEqual(o.wait(15), 1)
        for host in self.hosts:
            self.assertEqual(harness.netns_pids(host), [], host)


if __name__ == "__main__":
    unittest.main()
