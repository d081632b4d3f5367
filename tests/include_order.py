#!/usr/bin/env python3
"""Dependencies point one way: a module includes only modules below it.

Every module of common/, node/ and orchestrator/ has a rank in LAYERS; a
file may include its own header and the headers of modules of a lower
rank, nothing else. An upward include, an include between modules of the
same rank, or an include cycle fails, and so does a module that is not
placed (put a new module in its layer first). Headers of another program
are never included: node/ and orchestrator/ see only common/.

Run: python3 tests/include_order.py [SOURCE_ROOT]
"""
import os
import re
import sys
import unittest

ROOT = (sys.argv.pop(1) if len(sys.argv) > 1 and not sys.argv[1].startswith("-")
        else os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

# Lowest first. A module's rank is the index of its layer.
LAYERS = [
    # common/: leaves, then what builds on them
    ["common/be"],  # big-endian bytes, both wire protocols
    ["common/buf", "common/clock", "common/ctl", "common/exitcode",
     "common/io", "common/log", "common/node_env", "common/parse",
     "common/loop", "common/pidmap", "common/proc", "common/proto", "common/sigfd"],
    ["common/config", "common/linebuf", "common/net", "common/token"],
    ["common/hostproto"],  # the host-mode protocol (text lines)
    # node/: handlers' parts, the handlers, their dispatcher, the loop
    ["node/capture", "node/child"],
    ["node/groups"],
    ["node/work"],
    ["node/exec", "node/pipe", "node/shell"],
    ["node/handler"],
    ["node/session"],
    ["node/hostd"],  # host mode: one per host, starts that host's nodes
    ["node/main"],
    # orchestrator/: pure parts and mechanisms that know no node
    ["orchestrator/connector", "orchestrator/fleetdir",
     "orchestrator/gather",
     "orchestrator/nodeset",
     "orchestrator/outcome", "orchestrator/template",
     "orchestrator/term"],
    ["orchestrator/cli",        # the command line (names checked)
     "orchestrator/hosts",      # one launcher per host (SPEC §8)
     "orchestrator/inflight"],  # broadcasts, acks and gathered replies
    ["orchestrator/backoff", "orchestrator/daemon", "orchestrator/service",
     "orchestrator/settings",
     "orchestrator/sink", "orchestrator/watch"],
    ["orchestrator/node"],     # the node record, one part per owner
    ["orchestrator/format"],   # the text of reports (pure)
    ["orchestrator/out"],      # the one writer
    ["orchestrator/fleet"],    # processes
    ["orchestrator/links"],    # connections
    ["orchestrator/console"],  # what a line means
    ["orchestrator/consoles", "orchestrator/input",
     "orchestrator/supervisor"],
    ["orchestrator/client"],   # subcommands: a console of a detached fleet
    ["orchestrator/main"],
]
DIRS = ("common", "node", "orchestrator")
INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.M)


def rank_of():
    ranks = {}
    for i, layer in enumerate(LAYERS):
        for m in layer:
            ranks[m] = i
    return ranks


def modules():
    """{module: [(file, [included header names])]} over DIRS."""
    found = {}
    for d in DIRS:
        for name in sorted(os.listdir(os.path.join(ROOT, d))):
            base, ext = os.path.splitext(name)
            if ext not in (".c", ".h"):
                continue
            with open(os.path.join(ROOT, d, name)) as f:
                incs = INCLUDE.findall(f.read())
            found.setdefault(d + "/" + base, []).append((d + "/" + name,
                                                         incs))
    return found


def resolve(module, header):
    """The module a header names, seen from module's directory: its own
    directory first, then common/ (as the build's include paths do)."""
    base = os.path.splitext(header)[0]
    own = module.split("/")[0]
    for d in (own, "common"):
        if os.path.exists(os.path.join(ROOT, d, header)):
            return d + "/" + base
    return None


class IncludeOrder(unittest.TestCase):
    def test_every_module_is_placed(self):
        ranks = rank_of()
        missing = sorted(set(modules()) - set(ranks))
        self.assertEqual(missing, [], "modules with no layer in "
                         "tests/include_order.py: %s" % missing)

    def test_includes_point_down(self):
        ranks = rank_of()
        bad = []
        for module, files in modules().items():
            for path, incs in files:
                for h in incs:
                    target = resolve(module, h)
                    if target is None:
                        bad.append("%s: \"%s\" not found" % (path, h))
                    elif target != module and (
                            target not in ranks or module not in ranks or
                            ranks[target] >= ranks[module]):
                        bad.append("%s includes %s: not below it"
                                   % (path, h))
        self.assertEqual(bad, [], "\n" + "\n".join(bad))

    def test_no_cycles(self):
        graph = {}
        for module, files in modules().items():
            for _, incs in files:
                for h in incs:
                    t = resolve(module, h)
                    if t and t != module:
                        graph.setdefault(module, set()).add(t)
        state = {}

        def visit(m, path):
            if state.get(m) == 1:
                cycle = path[path.index(m):] + [m]
                self.fail("include cycle: " + " -> ".join(cycle))
            if state.get(m) == 2:
                return
            state[m] = 1
            for t in sorted(graph.get(m, ())):
                visit(t, path + [m])
            state[m] = 2

        for m in sorted(graph):
            visit(m, [])

    def test_checker_catches_an_upward_include(self):
        """The rule itself: out including links would be refused."""
        ranks = rank_of()
        self.assertGreater(ranks["orchestrator/links"],
                           ranks["orchestrator/out"])
        self.assertGreater(ranks["orchestrator/console"],
                           ranks["orchestrator/term"])


if __name__ == "__main__":
    unittest.main()
