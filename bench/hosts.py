#!/usr/bin/env python3
"""Start-up across hosts over ssh: the time from starting the
orchestrator to its "ready" event for N nodes spread over three hosts,
each a network namespace running a real sshd at its default settings
(tests/harness.py's SshdHosts), two ways side by side in one run:

  launcher  `[cluster] launcher = ssh ... {host}`: one ssh per host, whose
            host daemon (`node --host-mode`) starts that host's nodes;
  per node  `[node] command = ssh ... {host} NODE --host {host} ...`: one
            ssh per node. sshd's default MaxStartups (10:30:100) drops
            connections past 10 unauthenticated ones at once, so this
            fails beyond about 30 nodes on three hosts; it is tried up to
            --per-node-max nodes (60) only, for time's sake.

Figures: the ready event's "ms" (the orchestrator's own count) and the
wall time from spawning the orchestrator to reading that event; medians
of --reps runs (3). A way that does not get ready in every run is
reported by how it failed ("fails (exit 69)"), not by a figure. Every run
ends with EOF on the orchestrator's stdin, and then nothing of it may be
left on any host.

Needs root (network namespaces) and openssh-server. Builds nothing: the
orchestrator and node are taken from $FANOUT_BUILD, else build/, as the
tests take them.
Run: python3 bench/hosts.py [--reps 3] [--sizes 60,300,600] [--json]
"""
import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(
    os.path.realpath(__file__))), "tests"))
import harness  # noqa: E402  (tests/ is put on the path first)

HOSTS = 3
READY_DEADLINE = 120.0   # spawn to ready event, any N
EXIT_DEADLINE = 60.0     # EOF to exit
CLEAR_DEADLINE = 15.0    # exit to nothing left on any host
WAYS = ("launcher", "per_node")
TITLES = {"launcher": "launcher: one ssh per host",
          "per_node": "per node: one ssh per node"}


def say(text):
    print(text, file=sys.stderr, flush=True)


def config(net, n, base, way):
    """The configuration of a run of n nodes the given way."""
    text = ("[cluster]\nnum_clients = %d\nbase_port = %d\nhosts = %s\n"
            % (n, base, ", ".join(net.hosts)))
    if way == "launcher":
        text += "launcher = %s\n" % net.launcher()
    text += "[node]\n"
    if way == "per_node":
        text += "command = %s\n" % net.node_command()
    # The connect budget well above any start-up measured here.
    return text + "stop_timeout_ms = 1000\n[connect]\ntimeout_ms = 60000\n"


BASE_PORT = 20000


def one_run(net, n, way, workdir):
    """Start n nodes the given way and stop them with EOF. Return
    (ready ms, wall ms, None) or, if no ready event came, (None, None,
    how the run ended). Fails if something is left on a host."""
    d = tempfile.mkdtemp(prefix="run-", dir=workdir)
    path = os.path.join(d, "hosts.ini")
    with open(path, "w") as f:
        # The nodes listen inside the hosts' own namespaces, where
        # nothing else runs: one range serves every run, one at a time.
        f.write(config(net, n, BASE_PORT, way))
    t0 = time.monotonic()
    o = harness.Orch(["-c", path, "--json"], d)
    try:
        try:
            ready = o.wait_event("ready", READY_DEADLINE)
            wall = (time.monotonic() - t0) * 1000
        except AssertionError:
            if o.p.poll() is None:
                return None, None, "no ready in %.0f s" % READY_DEADLINE
            return None, None, "exit %d" % o.wait(EXIT_DEADLINE)
        o.close_stdin()
        rc = o.wait(EXIT_DEADLINE)
        if ready["nodes"] != n:
            return None, None, "ready with %d of %d" % (ready["nodes"], n)
        if rc != 0:
            return None, None, "exit %d after ready" % rc
        return ready["ms"], wall, None
    finally:
        o.kill()
        net.wait_clear(CLEAR_DEADLINE)
        shutil.rmtree(d, ignore_errors=True)


def summary(runs):
    """{ready_ms, wall_ms, runs, failed, failures} of one way at one N:
    medians when every run got ready, else None."""
    failures = [why for _, _, why in runs if why]

    def median(k):
        return None if failures else round(
            statistics.median(run[k] for run in runs), 3)
    return {"ready_ms": median(0), "wall_ms": median(1), "runs": len(runs),
            "failed": len(failures), "failures": failures}


def cell(s, per_node_max):
    """A way's two columns at one N, as text (26 wide)."""
    if s is None:
        return "%-26s" % ("not tried (above %d)" % per_node_max)
    if s["failed"]:
        why = sorted(set(s["failures"]))
        text = "fails (%s)" % ", ".join(why)
        if s["failed"] < s["runs"]:
            text += " %d of %d" % (s["failed"], s["runs"])
        return "%-26s" % text
    return "%11.1f  %11.1f  " % (s["ready_ms"], s["wall_ms"])


def header(args, sshd):
    return ("fanout hosts bench, %s, Linux %s, %d CPUs, %d hosts "
            "(network namespaces, %s sshd at its defaults), %d reps, "
            "medians; start-up = spawn to the ready event, ready ms = the "
            "event's own, wall ms = as seen here; per node not tried above "
            "%d nodes" % (time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
                          platform.release(), os.cpu_count(), HOSTS, sshd,
                          args.reps, args.per_node_max))


def table(args, sshd, results):
    lines = [header(args, sshd),
             "%6s  %-26s  %-26s" % ("", TITLES["launcher"],
                                    TITLES["per_node"]),
             "%6s  %11s  %11s    %11s  %11s" % ("N", "ready ms", "wall ms",
                                                "ready ms", "wall ms")]
    for r in results:
        lines.append("%6d  %s  %s" % (r["n"],
                                      cell(r["launcher"], args.per_node_max),
                                      cell(r["per_node"], args.per_node_max)))
    return "\n".join(line.rstrip() for line in lines)


def sshd_version():
    r = subprocess.run([harness.SSHD, "-V"], stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, timeout=10)
    return r.stdout.decode("utf-8", "replace").split(",")[0].strip()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--reps", type=int, default=3, help="runs per figure")
    ap.add_argument("--sizes", default="60,300,600",
                    help="numbers of nodes, comma-separated")
    ap.add_argument("--per-node-max", type=int, default=60,
                    help="largest N tried one ssh per node")
    ap.add_argument("--json", action="store_true",
                    help="print a JSON report instead of the table")
    args = ap.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    if args.reps < 1 or any(n < 1 for n in sizes):
        ap.error("--reps and --sizes must be positive")
    why = harness.sshd_unusable()
    if why:
        sys.exit("bench/hosts.py: %s" % why)
    for path in (harness.ORCH, harness.NODE):
        if not os.access(path, os.X_OK):
            sys.exit("bench/hosts.py: %s not built (FANOUT_BUILD=%s)"
                     % (path, harness.BUILD))

    sshd = sshd_version()
    workdir = tempfile.mkdtemp(prefix="fanout-bench-hosts-")
    # The runs' control sockets and logs stay in it, as bench.c's do.
    os.environ["XDG_RUNTIME_DIR"] = workdir
    os.environ["XDG_STATE_HOME"] = workdir
    net = None
    results = []
    try:
        # The servers live as long as the whole bench may take.
        net = harness.SshdHosts(HOSTS, workdir, lifetime=24 * 3600)
        for n in sizes:
            runs = {way: [] for way in WAYS}
            for rep in range(1, args.reps + 1):
                for way in WAYS:
                    if way == "per_node" and n > args.per_node_max:
                        continue
                    ready, wall, failed = one_run(net, n, way, workdir)
                    runs[way].append((ready, wall, failed))
                    say("N=%d %s run %d: %s" % (
                        n, way, rep, failed or "ready %.1f ms (ready event), "
                        "%.1f ms (wall)" % (ready, wall)))
            results.append({"n": n,
                            "launcher": summary(runs["launcher"]),
                            "per_node": summary(runs["per_node"])
                            if runs["per_node"] else None})
    finally:
        stuck = net.close() if net else []
        shutil.rmtree(workdir, ignore_errors=True)
        if stuck:
            say("bench/hosts.py: namespaces left behind: %s" % stuck)

    if args.json:
        print(json.dumps({
            "section": "hosts",
            "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
            "kernel": platform.release(), "cpus": os.cpu_count(),
            "reps": args.reps, "hosts": HOSTS, "sshd": sshd,
            "per_node_max": args.per_node_max, "results": results},
            separators=(",", ":")))
    else:
        print(table(args, sshd, results))


if __name__ == "__main__":
    main()
