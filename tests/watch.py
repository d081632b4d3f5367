#!/usr/bin/env python3
"""Watching the configuration (SPEC §11): a saved edit of the file is
applied as a reload, whether the editor writes in place or writes a new
file and renames it over the old one; a burst of writes is read once; a
half-written or invalid file is refused with FILE:LINE and the running
configuration kept; --no-watch and [cluster] watch = false turn it off.

Run: python3 tests/watch.py -v     (build from $FANOUT_BUILD)
Helpers, and the rules every test follows: tests/harness.py.
"""
import os
import subprocess
import unittest

from harness import FanoutTest


class Watch(FanoutTest):
    def fleet(self, n, extra="", args=()):
        base = self.ports(8)
        cfg = self.config(base, n, extra)
        o = self.start(["-c", cfg, "--json"] + list(args))
        self.assertEqual(o.wait_event("ready")["nodes"], n, o.err)
        return base, cfg, o

    def rewrite(self, cfg, base, n, extra=""):
        """Write the file anew in place, as a plain editor saves."""
        with open(cfg, "w") as f:
            f.write("[cluster]\nnum_clients = %d\nbase_port = %d\n%s"
                    % (n, base, extra))

    def test_sed_in_place_scales_the_fleet(self):
        base, cfg, o = self.fleet(2)
        # sed -i writes a new file and renames it over the old one.
        subprocess.run(["sed", "-i", "s/num_clients = 2/num_clients = 4/",
                        cfg], check=True)
        ev = o.wait_event("scale")
        self.assertEqual((ev["from"], ev["to"], ev["nodes"]), (2, 4, 4), ev)
        o.wait_line("err", r"fanout\.ini changed: 2 -> 4 nodes")
        o.close_stdin()
        self.assertEqual(o.wait(), 0)
        self.assert_clean(base, 8)

    def test_an_editor_rename_is_seen(self):
        base, cfg, o = self.fleet(3)
        tmp = cfg + ".swp"
        with open(tmp, "w") as f:
            f.write("[cluster]\nnum_clients = 1\nbase_port = %d\n" % base)
        os.rename(tmp, cfg)
        ev = o.wait_event("scale")
        self.assertEqual((ev["from"], ev["to"]), (3, 1), ev)
        o.close_stdin()
        self.assertEqual(o.wait(), 0)
        self.assert_clean(base, 8)

    def test_a_burst_of_writes_is_read_once(self):
        base, cfg, o = self.fleet(2)
        for _ in range(5):
            self.rewrite(cfg, base, 3)
        ev = o.wait_event("scale")
        self.assertEqual((ev["from"], ev["to"]), (2, 3), ev)
        # A broadcast's report after the settle time: every reload the
        # burst caused has been said by then.
        o.send("after\n")
        o.wait_broadcast(1)
        o.wait_line("err", r"changed: 2 -> 3 nodes")
        changed = [l for l in o.err if "changed:" in l]
        self.assertEqual(len(changed), 1, o.err)
        o.close_stdin()
        self.assertEqual(o.wait(), 0)

    def test_a_half_written_file_is_refused_and_the_fleet_kept(self):
        base, cfg, o = self.fleet(2)
        with open(cfg, "w") as f:
            f.write("[cluster]\nnum_clients = 5\nbase_por")
        o.wait_line("err", r"reload: .*fanout\.ini:3: .*keeping the "
                    r"running configuration")
        o.send("still two\n")
        ev = o.wait_broadcast(1)
        self.assertEqual((ev["acked"], ev["expected"]), (2, 2), ev)
        # Finished, the edit applies.
        self.rewrite(cfg, base, 5)
        ev = o.wait_event("scale")
        self.assertEqual((ev["from"], ev["to"]), (2, 5), ev)
        o.close_stdin()
        self.assertEqual(o.wait(), 0)
        self.assert_clean(base, 8)

    def test_a_file_still_being_written_is_not_read(self):
        # Its first lines parse on their own (defaults for the rest):
        # read before its writer closes it, they would resize the fleet.
        base, cfg, o = self.fleet(5)
        os.unlink(cfg)
        with open(cfg, "w") as f:
            f.write("[cluster]\n")
            f.flush()
            with self.assertRaises(AssertionError):
                o.wait_line("err", r"changed", timeout=0.5)
            f.write("num_clients = 2\nbase_port = %d\n" % base)
        ev = o.wait_event("scale")
        self.assertEqual((ev["from"], ev["to"]), (5, 2), ev)
        # stderr has its own reader: waited for, then counted.
        o.wait_line("err", r"changed: 5 -> 2 nodes")
        self.assertEqual(len([l for l in o.err if "changed:" in l]), 1,
                         o.err)
        o.close_stdin()
        self.assertEqual(o.wait(), 0)

    def test_edits_through_a_symbolic_link_are_seen(self):
        base = self.ports(8)
        os.mkdir(os.path.join(self.dir, "real"))
        target = self.write("real/fanout.ini", "[cluster]\nnum_clients = 2\n"
                            "base_port = %d\n" % base)
        link = os.path.join(self.dir, "link.ini")
        os.symlink(target, link)
        o = self.start(["-c", link, "--json"])
        self.assertEqual(o.wait_event("ready")["nodes"], 2, o.err)
        subprocess.run(["sed", "-i", "s/= 2/= 3/", target], check=True)
        ev = o.wait_event("scale")
        self.assertEqual((ev["from"], ev["to"]), (2, 3), ev)
        o.close_stdin()
        self.assertEqual(o.wait(), 0)

    def test_a_directory_gone_is_said(self):
        base = self.ports(8)
        sub = os.path.join(self.dir, "sub")
        os.mkdir(sub)
        cfg = self.write("sub/x.ini", "[cluster]\nnum_clients = 2\n"
                         "base_port = %d\n" % base)
        o = self.start(["-c", cfg, "--json"])
        o.wait_event("ready")
        os.rename(sub, sub + ".old")
        o.wait_line("err", r"no longer watched")
        o.close_stdin()
        self.assertEqual(o.wait(), 0)

    def check_not_watched(self, extra, args):
        base, cfg, o = self.fleet(2, extra, args)
        self.rewrite(cfg, base, 4, extra)
        # Nothing comes of it: waited for, five settle times long.
        with self.assertRaises(AssertionError):
            o.wait_line("err", r"changed|reload", timeout=0.5)
        o.send("one\n")
        ev = o.wait_broadcast(1)
        self.assertEqual(ev["expected"], 2, ev)
        self.assertFalse(o.events_so_far("scale"), o.out)
        o.close_stdin()
        self.assertEqual(o.wait(), 0)

    def test_no_watch_leaves_edits_alone(self):
        self.check_not_watched("", ["--no-watch"])

    def test_watch_false_leaves_edits_alone(self):
        self.check_not_watched("watch = false\n", [])


if __name__ == "__main__":
    unittest.main()
