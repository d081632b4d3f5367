#!/usr/bin/env python3
"""Configuration file and command line: a bad value, an unknown key or
section (with a did-you-mean), a port range that does not fit, a missing
file or a bad option is reported once (FILE:LINE) with exit 78, or 64
for usage, before any node is spawned; flat seed keys need no section.

Run: python3 tests/configuration.py -v     (build from $FANOUT_BUILD)
Helpers, and the rules every test follows: tests/harness.py.
"""
import os
import shutil
import threading
import unittest

from harness import NODE, FanoutTest, listening_ports, node_processes


MARKER_SCRIPT = """#!/bin/sh
touch '{marker}'
exit 1
"""


class BadConfigBeforeSpawning(FanoutTest):
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


class ConfigErrors(FanoutTest):
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


class CommandWords(FanoutTest):
    """[node] command is split into words as a shell splits them, with no
    shell run and no expansion (SPEC §3); quotes and backslashes were
    taken literally ("cannot run '"/tmp/my'")."""

    def test_node_command_path_with_a_blank_can_be_named(self):
        bindir = os.path.join(self.dir, "my dir")
        os.mkdir(bindir)
        shutil.copy2(NODE, bindir)
        node = os.path.join(bindir, "node")
        for quoted in ('"%s"' % node, "'%s'" % node,
                       node.replace(" ", "\\ ")):
            with self.subTest(command=quoted):
                base = self.ports(2)
                cfg = self.config(base, 2, "[node]\ncommand = %s --port "
                                  "{port} --index {index}\n" % quoted)
                r = self.run_orch(["-c", cfg, "--json"], "hello\n")
                self.assertEqual(r.rc, 0, r)
                self.assert_broadcasts(r.events(), [5], 2)
                self.assert_clean(base, 2)

    def test_node_command_is_not_expanded(self):
        base = self.ports(1)
        out = os.path.join(self.dir, "argv")
        script = self.write("argv.sh", "#!/bin/sh\nprintf '%%s\\n' \"$@\" "
                            "> %s\nexit 1\n" % out, 0o755)
        cfg = self.config(base, 1, "[node]\ncommand = %s $HOME * '{port}' "
                          "\"a  b\"\n" % script)
        r = self.run_orch(["-c", cfg], "")
        self.assertEqual(r.rc, 69, r)
        with open(out) as f:
            self.assertEqual(f.read().splitlines(),
                             ["$HOME", "*", str(base), "a  b"])

    def test_unmatched_quote_in_node_command_is_a_config_error(self):
        ConfigErrors.check_78(self, "[cluster]\nbase_port = BASE\n[node]\n"
                              "command = \"/tmp/my dir/node --port {port}\n",
                              4, "[node] command")


class LogDirThatIsNoDirectory(FanoutTest):
    def test_log_dir_that_is_no_writable_directory_exits_64(self):
        base = self.ports(2)
        afile = self.write("afile", "")
        for d in (os.path.join(self.dir, "missing"), afile):
            with self.subTest(log_dir=d):
                r = self.run_orch(["-n", "2", "-p", str(base), "--log-dir",
                                   d], "hello\n")
                self.assertEqual(r.rc, 64, r)
                self.assertIn("--log-dir %s" % d, r.stderr, r)
                self.assert_clean(base, 2)


class ConfigFromAFifo(FanoutTest):
    def test_config_fifo_at_start_waits_for_its_writer(self):
        """A FIFO given with -c was read as empty when its writer came a
        moment later, and the built-in defaults were used silently."""
        base = self.ports(3)
        fifo = os.path.join(self.dir, "fanout.fifo")
        os.mkfifo(fifo)
        o = self.start(["-c", fifo, "--json"])

        def write():
            with open(fifo, "w") as f:  # blocks until the reader is there
                f.write("[cluster]\nnum_clients = 2\nbase_port = %d\n"
                        % base)
        t = threading.Thread(target=write, daemon=True)
        t.start()
        self.assertEqual(o.wait_event("ready")["nodes"], 2, o.err)
        o.close_stdin()
        self.assertEqual(o.wait(), 0)
        t.join(5)
        self.assert_clean(base, 3)


class ConfigThatIsNoFile(FanoutTest):
    def test_config_that_is_a_directory_says_so(self):
        base = self.ports(2)
        r = self.run_orch(["-c", self.dir, "-n", "2", "-p", str(base)],
                          "hello\n")
        self.assertEqual(r.rc, 78, r)
        self.assertIn("%s: is a directory" % self.dir, r.stderr, r)
        self.assert_clean(base, 2)


class FlatSeedKeys(FanoutTest):
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
        self.send_acked(o, "seed\n", 1, 2)
        o.close_stdin()
        self.assertEqual(o.wait(), 0, o.err)
        self.assert_clean(base, 3)


if __name__ == "__main__":
    unittest.main()
