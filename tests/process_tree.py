#!/usr/bin/env python3
"""The process tree (SPEC §12): whatever a node starts is stopped with
it. Each test pins a fault of issue 11, part A, and failed before its fix.

In every test the node command is a wrapper script that starts a helper
in the background, writes the helper's pid to a file, and then runs the
real node; the helpers are found by those pids, and killed by pid in
cleanup if a test leaves them.

Run: python3 tests/process_tree.py -v     (build from $FANOUT_BUILD)
Helpers, and the rules every test follows: tests/harness.py.
"""
import os
import signal
import subprocess
import unittest

from harness import (FAULT_DEADLINE, NODE, ORCH, RUN_TIMEOUT, FanoutTest,
                     Result, alive, kill_pids,
                     node_processes, proc_ppid, proc_state, wait_until)

WRAP = """#!/bin/sh
# The helper, in the background; its pid for the test; then the node.
{helper} &
echo $! >> {pids}
exec {node} --port "$1" --index "$2"
"""


class ProcessTreeTest(FanoutTest):
    def wrapper(self, helper):
        """A [node] command running helper beside each node; return
        (command, the file the helpers' pids go to)."""
        pids = os.path.join(self.dir, "helpers.pids")
        script = self.write("wrap.sh", WRAP.format(helper=helper, pids=pids,
                                                    node=NODE), 0o755)
        self.addCleanup(lambda: kill_pids(self.helpers(pids)))
        return "%s {port} {index}" % script, pids

    def helpers(self, pids):
        """The pids the wrappers wrote so far."""
        try:
            with open(pids) as f:
                return [int(l) for l in f.read().split()]
        except FileNotFoundError:
            return []

    def live_helpers(self, pids):
        return [p for p in self.helpers(pids) if alive(p)]

    def assert_helpers_gone(self, pids, n):
        got = self.helpers(pids)
        self.assertEqual(len(got), n, got)
        wait_until(lambda: not self.live_helpers(pids), FAULT_DEADLINE,
                   "the helpers %s to be gone" % got)

    def run_two(self, helper, extra=""):
        """2 nodes under the wrapper, stop_timeout_ms = 500, one line,
        then, once both helpers have said they are set (a helper that
        traps SIGTERM must have trapped it), end of input; return (a
        result with rc, stdout and stderr, pids file)."""
        base = self.ports(2)
        cmd, pids = self.wrapper(helper)
        ready = os.path.join(self.dir, "helpers.ready")
        cfg = self.config(base, 2, "[node]\ncommand = %s\n"
                          "stop_timeout_ms = 500\n%s" % (cmd, extra))
        o = self.start(["-c", cfg], env=dict(os.environ, READY=ready))
        o.send("hello\n")
        wait_until(lambda: os.path.exists(ready) and
                   len(open(ready).read().split()) == 2, FAULT_DEADLINE,
                   "both helpers to be set")
        o.close_stdin()
        rc = o.wait()
        self.assert_clean(base, 2)
        return Result(rc, "\n".join(o.out) + "\n", "\n".join(o.err) + "\n",
                      0), pids


class GroupOutlivesItsLeader(ProcessTreeTest):
    def test_helper_ignoring_sigterm_is_killed_with_its_group(self):
        r, pids = self.run_two("sh -c 'trap \"\" TERM; echo x >> $READY; "
                               "exec sleep 300'")
        self.assertEqual(r.rc, 0, r)
        self.assert_helpers_gone(pids, 2)
        # Teardown says it had to use SIGKILL, and on which nodes.
        for i in (0, 1):
            self.assertRegex(r.stdout, r"node %d \(.*\) exited, but "
                             r"processes of its group still ran \d+ ms "
                             r"after SIGTERM; sending them SIGKILL" % i, r)


class RestartLeavesTheOldGroup(ProcessTreeTest):
    def test_restart_clears_the_dead_nodes_group_first(self):
        base = self.ports(2)
        cmd, pids = self.wrapper("sleep 300")
        o = self.start_fleet(base, 2, "[node]\ncommand = %s\n"
                             "restart = on-failure\nstop_timeout_ms = 500\n"
                             % cmd)
        for k in range(1, 4):
            node0 = [p for p, port in node_processes(base, base).items()]
            self.assertEqual(len(node0), 1)
            os.kill(node0[0], signal.SIGKILL)
            o.wait_matches("err", r"node 0 .* connected after a restart", k,
                           FAULT_DEADLINE)
            # The old helper went before the new node started.
            self.assertEqual(len(self.helpers(pids)), 2 + k)
            wait_until(lambda: len(self.live_helpers(pids)) == 2,
                       FAULT_DEADLINE, "two helpers, one per live node")
        o.close_stdin()
        self.assertEqual(o.wait(), 1)  # nodes died: incomplete
        self.assert_helpers_gone(pids, 5)
        self.assert_clean(base, 2)


class HelperInANewSession(ProcessTreeTest):
    def test_helper_in_a_new_session_is_stopped_with_the_fleet(self):
        r, pids = self.run_two("sh -c 'echo x >> $READY; exec setsid "
                               "sleep 300'")
        self.assertEqual(r.rc, 0, r)
        self.assert_helpers_gone(pids, 2)

    def test_helper_in_a_new_session_ignoring_sigterm_is_killed(self):
        r, pids = self.run_two("setsid sh -c 'trap \"\" TERM; echo x >> "
                               "$READY; exec sleep 300'")
        self.assertEqual(r.rc, 0, r)
        self.assert_helpers_gone(pids, 2)
        self.assertRegex(r.stdout, r"process \d+ \(sleep\), left by a "
                         r"node, still ran \d+ ms after SIGTERM; sending "
                         r"SIGKILL", r)

    def test_orphans_of_a_running_node_are_reaped(self):
        """A helper orphaned while the fleet runs (its parent, a
        subshell, exits at once) is re-parented to the orchestrator and
        reaped by it when it ends, not left a zombie."""
        base = self.ports(1)
        pids = os.path.join(self.dir, "helpers.pids")
        script = self.write("orphan.sh", "#!/bin/sh\n(setsid sleep 2 & "
                            "echo $! >> %s)\nexec %s --port \"$1\" "
                            "--index \"$2\"\n" % (pids, NODE), 0o755)
        self.addCleanup(lambda: kill_pids(self.helpers(pids)))
        o = self.start_fleet(base, 1, "[node]\ncommand = %s {port} "
                             "{index}\n" % script)
        wait_until(lambda: self.helpers(pids), FAULT_DEADLINE,
                   "the helper's pid")
        helper = self.helpers(pids)[0]
        wait_until(lambda: proc_ppid(helper) == o.pid, FAULT_DEADLINE,
                   "the orphan to be re-parented to the orchestrator")
        wait_until(lambda: proc_state(helper) is None, FAULT_DEADLINE,
                   "the orphan %d to be reaped" % helper)
        o.close_stdin()
        self.assertEqual(o.wait(), 0)


class TeardownSaysWhoNeededSigkill(ProcessTreeTest):
    def test_teardown_names_the_nodes_it_sigkilled(self):
        base = self.ports(2)
        # A leader that ignores SIGTERM and outlives its node.
        script = self.write("stubborn.sh", "#!/bin/sh\ntrap '' TERM\n"
                            "%s --port \"$1\" --index \"$2\"\nsleep 300\n"
                            % NODE, 0o755)
        cfg = self.config(base, 2, "[node]\ncommand = %s {port} {index}\n"
                          "stop_timeout_ms = 300\n" % script)
        r = self.run_orch(["-c", cfg], "hello\n")
        self.assertEqual(r.rc, 0, r)
        for i in (0, 1):
            self.assertRegex(r.stdout, r"node %d \(.*, pid \d+\) still ran "
                             r"\d+ ms after SIGTERM; sending SIGKILL" % i, r)
        self.assert_clean(base, 2)


class NotOursToStop(ProcessTreeTest):
    def test_children_inherited_through_exec_are_not_strays(self):
        """A logger behind `exec > >(...)`, a child of the shell that
        exec'd the orchestrator, was taken for a stray: SIGTERM, then
        SIGKILL, and the run's last lines were lost."""
        base = self.ports(2)
        log = os.path.join(self.dir, "out.log")
        sh = ("exec > >(trap '' TERM; exec cat > %s); exec %s -n 2 -p %d "
              "--json" % (log, ORCH, base))
        p = subprocess.run(["bash", "-c", sh], cwd=self.dir, input=b"x\n",
                           stderr=subprocess.PIPE, timeout=RUN_TIMEOUT)
        self.assertEqual(p.returncode, 0, p)
        wait_until(lambda: b'"event":"shutdown"' in open(log, "rb").read(),
                   FAULT_DEADLINE, "the shutdown event in the log")
        for said in (p.stderr, open(log, "rb").read()):
            self.assertNotIn(b"left by a node", said)
        self.assert_clean(base, 2)


class DeadNodesPipeFlooded(ProcessTreeTest):
    def test_node_dying_while_a_helper_floods_its_pipe_hangs_nothing(self):
        """A node died while something it started kept writing to its
        output pipe: the reaper read that pipe until it ran dry, which
        it never did, and the loop hung."""
        base = self.ports(2)
        cmd, pids = self.wrapper("yes flood")
        o = self.start_fleet(base, 2, "[node]\ncommand = %s\n"
                             "stop_timeout_ms = 300\n" % cmd)
        os.kill(list(node_processes(base, base))[0], signal.SIGKILL)
        o.wait_events("node_exit", 1, FAULT_DEADLINE)
        o.send("still here\n")
        ev = o.wait_broadcast(1, FAULT_DEADLINE)
        self.assertEqual(ev["expected"], 2, ev)
        os.kill(o.pid, signal.SIGTERM)
        self.assertEqual(o.wait(), 143)
        self.assert_helpers_gone(pids, 2)
        self.assert_clean(base, 2)


class LastWordsWithoutNewline(ProcessTreeTest):
    def test_last_line_without_newline_of_a_held_pipe_is_quoted(self):
        """A node whose last words had no newline, while a helper still
        held its output pipe, was reported without them; they then
        appeared as its successor's output."""
        base = self.ports(1)
        pids = os.path.join(self.dir, "helpers.pids")
        script = self.write("dies.sh", "#!/bin/sh\nsleep 300 &\necho $! > "
                            "%s\n%s --port \"$1\" --index \"$2\"\n"
                            "printf 'fatal: disk on fire'\nexit 3\n"
                            % (pids, NODE), 0o755)
        self.addCleanup(lambda: kill_pids(self.helpers(pids)))
        o = self.start_fleet(base, 1, "[node]\ncommand = %s {port} {index}"
                             "\n" % script)
        os.kill(list(node_processes(base, base))[0], signal.SIGKILL)
        o.wait_line("err", r"node 0 \(.*\) exited 3: fatal: disk on fire$",
                    FAULT_DEADLINE)
        o.close_stdin()
        o.wait()
        self.assert_clean(base, 1)


if __name__ == "__main__":
    unittest.main()
