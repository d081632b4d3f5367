#!/usr/bin/env python3
"""The harness of fanout's scenario tests: everything the scenario files
share, and nothing that is a scenario.

Every scenario file imports this module (it sits in the same directory,
which Python puts first on the path of a script run as
`python3 tests/X.py`). The build directory is $FANOUT_BUILD when set,
else build/ at the root of the checkout this file belongs to.

Rules every test follows, and the helpers here enforce:
- it picks a free range of ports itself (random, probed by binding);
- configuration files live in a temporary directory, which is also the
  orchestrator's working directory (so ./server_config.ini is never the
  repository's);
- every process runs under a hard timeout, and nothing sleeps a fixed
  time: the tests wait for events (output lines, exit, port state) with
  deadlines;
- afterwards nothing may be left: no node process serving a port of the
  range, no LISTEN socket on the range. Leftovers are killed by PID in
  tearDown (never by name).
Python 3 standard library only.
"""
import json
import os
import random
import re
import shutil
import signal
import socket
import struct
import subprocess
import tempfile
import threading
import time
import unittest
import zlib

TESTS = os.path.dirname(os.path.realpath(__file__))
BUILD = os.environ.get("FANOUT_BUILD") or \
    os.path.join(os.path.dirname(TESTS), "build")
ORCH = os.path.abspath(os.path.join(BUILD, "orchestrator"))
NODE = os.path.abspath(os.path.join(BUILD, "node"))
NODE_REAL = os.path.realpath(NODE)

RUN_TIMEOUT = 20.0       # hard limit on any one orchestrator run
EXIT_DEADLINE = 5.0      # a stop (EOF, exit, signal) must finish by then
READY_DEADLINE = 10.0    # start-up to the ready event
FAKENODE = os.path.join(TESTS, "fakenode.py")
HEX64 = re.compile(rb"(?<![0-9a-fA-F])[0-9a-fA-F]{64}(?![0-9a-fA-F])")
NUM = r"\d+(?:\.\d+)?"


# --------------------------------------------------------------- helpers

def wait_until(pred, timeout, what, interval=0.01):
    """Poll pred() every interval seconds until it returns a true value
    or timeout passes; return the value or raise AssertionError."""
    deadline = time.monotonic() + timeout
    while True:
        v = pred()
        if v:
            return v
        if time.monotonic() >= deadline:
            raise AssertionError("timed out after %.1f s waiting for %s"
                                 % (timeout, what))
        time.sleep(interval)


def tcp_sockets():
    """Yield (state, local port, remote port) of every IPv4 and IPv6 TCP
    socket, state as the kernel's hex code ("0A" LISTEN, "01"
    ESTABLISHED)."""
    for name in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(name) as f:
                next(f)
                for line in f:
                    fields = line.split()
                    if len(fields) > 3:
                        yield (fields[3],
                               int(fields[1].rsplit(":", 1)[1], 16),
                               int(fields[2].rsplit(":", 1)[1], 16))
        except FileNotFoundError:
            pass


def listening_ports():
    """Ports with a socket in state LISTEN (0A), IPv4 and IPv6."""
    return {local for state, local, _ in tcp_sockets() if state == "0A"}


def kill_and_reap(p, timeout=5):
    """SIGKILL the subprocess p by PID if it still runs, then reap it."""
    if p.poll() is None:
        try:
            os.kill(p.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    try:
        p.wait(timeout)
    except subprocess.TimeoutExpired:
        pass


def read_proc(pid, what):
    try:
        with open("/proc/%d/%s" % (pid, what), "rb") as f:
            return f.read()
    except OSError:
        return None


def proc_state(pid):
    status = read_proc(pid, "status")
    if status is None:
        return None
    m = re.search(rb"^State:\s+(\S)", status, re.M)
    return m.group(1).decode() if m else None


def proc_ppid(pid):
    status = read_proc(pid, "status")
    m = status and re.search(rb"^PPid:\s+(\d+)", status, re.M)
    return int(m.group(1)) if m else None


def is_node_binary(pid, argv0):
    if os.path.realpath(argv0) == NODE_REAL:
        return True
    try:
        return os.path.realpath(os.readlink("/proc/%d/exe" % pid)) == \
            NODE_REAL
    except OSError:
        return False


def node_processes(lo, hi):
    """{pid: port} of live node processes with --port in lo..hi."""
    found = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        pid = int(d)
        raw = read_proc(pid, "cmdline")
        if not raw:
            continue
        argv = [a.decode("utf-8", "replace") for a in raw.split(b"\0")]
        if argv and argv[-1] == "":
            argv.pop()
        if not argv or not is_node_binary(pid, argv[0]):
            continue
        port = None
        for i, a in enumerate(argv):
            if a == "--port" and i + 1 < len(argv):
                port = argv[i + 1]
            elif a.startswith("--port="):
                port = a.split("=", 1)[1]
        if port is None or not port.isdigit():
            continue
        if lo <= int(port) <= hi and proc_state(pid) not in (None, "Z"):
            found[pid] = int(port)
    return found


def ephemeral_range():
    try:
        with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
            a, b = f.read().split()
            return int(a), int(b)
    except (OSError, ValueError):
        return 32768, 60999


_claimed = []           # ranges handed out in this process
_claimed_lock = threading.Lock()


def port_bindable(port):
    """Whether a node could bind port on 127.0.0.1 now. One socket at a
    time: holding a thousand would run into the open-file limit."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        # As nodes bind: a port whose old connections linger in
        # TIME_WAIT is free for them, and must be for us.
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def pick_ports(n):
    """Return the first port of n consecutive free ports on 127.0.0.1,
    chosen at random in 20000..65535, outside the ephemeral range when
    that leaves room (an outgoing connection could take a node's port).
    Large ranges prefer the space above the ephemeral range, which the
    other tests (small ranges, below it) leave alone."""
    eph_lo, eph_hi = ephemeral_range()
    windows = []
    for lo, hi in ((20000, min(65535, eph_lo - 1)),
                   (max(20000, eph_hi + 1), 65535)):
        if hi - lo + 1 >= n + 1:
            windows.append((lo, hi))
    if not windows:
        windows = [(20000, 60000)]
    if len(windows) > 1:
        # Small ranges below the ephemeral range, large ones above it:
        # scattered small ones would leave no room for a large one.
        windows = windows[1:] if n >= 100 else windows[:1]
    why = {"claimed": 0, "listening": 0, "unbindable": 0}
    for _ in range(2000):
        lo, hi = random.choice(windows)
        base = random.randint(lo, hi - n + 1)
        with _claimed_lock:
            if any(base <= b + m - 1 and b <= base + n - 1
                   for b, m in _claimed):
                why["claimed"] += 1
                continue
        listening = listening_ports()
        if any(p in listening for p in range(base, base + n)):
            why["listening"] += 1
            continue
        if not all(port_bindable(p) for p in range(base, base + n)):
            why["unbindable"] += 1
            continue
        with _claimed_lock:
            _claimed.append((base, n))
        return base
    raise RuntimeError("no free range of %d ports found in %r: %r"
                       % (n, windows, why))


class Orch:
    """A running orchestrator whose stdout and stderr are collected line
    by line by reader threads, so a test can wait for a given line."""

    def __init__(self, args, cwd, stdin=subprocess.PIPE):
        self.args = [ORCH] + list(args)
        self.p = subprocess.Popen(self.args, cwd=cwd, stdin=stdin,
                                  stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE)
        self.pid = self.p.pid
        self.started = time.monotonic()
        self.out = []
        self.err = []
        self.cond = threading.Condition()
        self.readers = [
            threading.Thread(target=self._read, args=(self.p.stdout,
                                                      self.out),
                             daemon=True),
            threading.Thread(target=self._read, args=(self.p.stderr,
                                                      self.err),
                             daemon=True),
        ]
        for t in self.readers:
            t.start()

    def _read(self, f, lines):
        for raw in iter(f.readline, b""):
            with self.cond:
                lines.append(raw.decode("utf-8", "replace").rstrip("\n"))
                self.cond.notify_all()
        f.close()

    def wait_line(self, stream, regex, timeout=READY_DEADLINE):
        """Wait for a line of stream ('out' or 'err') matching regex;
        return the match."""
        lines = self.out if stream == "out" else self.err
        rx = re.compile(regex)
        deadline = time.monotonic() + timeout
        with self.cond:
            while True:
                for line in lines:
                    m = rx.search(line)
                    if m:
                        return m
                left = deadline - time.monotonic()
                if left <= 0 or (self.p.poll() is not None and
                                 not any(t.is_alive()
                                         for t in self.readers)):
                    raise AssertionError(
                        "no line matching %r on std%s within %.1f s; "
                        "stdout=%r stderr=%r" % (regex, stream, timeout,
                                                 self.out, self.err))
                self.cond.wait(min(left, 0.05))

    def events_so_far(self):
        """The JSON events printed on stdout so far (other lines are
        skipped)."""
        with self.cond:
            lines = list(self.out)
        evs = []
        for line in lines:
            try:
                ev = json.loads(line)
            except ValueError:
                continue
            if isinstance(ev, dict) and "event" in ev:
                evs.append(ev)
        return evs

    def wait_event(self, event, timeout=READY_DEADLINE):
        m = self.wait_line("out", r'^\{.*"event":\s*"%s"' % event, timeout)
        return json.loads(m.string)

    def send(self, text):
        self.p.stdin.write(text.encode())
        self.p.stdin.flush()

    def close_stdin(self):
        if self.p.stdin and not self.p.stdin.closed:
            self.p.stdin.close()

    def wait(self, timeout=EXIT_DEADLINE):
        """Wait for exit; return the status (negative for a signal)."""
        try:
            rc = self.p.wait(timeout)
        except subprocess.TimeoutExpired:
            raise AssertionError("orchestrator still running after %.1f s; "
                                 "stdout=%r stderr=%r"
                                 % (timeout, self.out, self.err))
        for t in self.readers:
            t.join(timeout)
        return rc

    def kill(self):
        kill_and_reap(self.p)
        self.close_stdin()


class Result:
    def __init__(self, rc, out, err, secs):
        self.rc = rc
        self.stdout = out
        self.stderr = err
        self.secs = secs
        self.lines = out.splitlines()

    def events(self):
        """stdout parsed as JSON lines; fails unless every line is one."""
        evs = []
        for line in self.lines:
            try:
                ev = json.loads(line)
            except ValueError:
                raise AssertionError("stdout line is not JSON: %r" % line)
            if not isinstance(ev, dict) or "event" not in ev:
                raise AssertionError("stdout line is not an event: %r"
                                     % line)
            evs.append(ev)
        return evs

    def __repr__(self):
        return "rc=%r\n--- stdout\n%s\n--- stderr\n%s" % (
            self.rc, self.stdout[-4000:], self.stderr[-4000:])


# ------------------------------------------------------------ wire frames
# The frames of common/proto.h, for tests that play the orchestrator or a
# node: an 8-byte header (u32 body length, u8 version, u8 type, u16
# reserved), then the body; big-endian throughout.

HEADER = struct.Struct(">IBBH")
VERSION = 1
HELLO, WELCOME, MSG, ACK, BYE = 1, 2, 3, 4, 5
MAX_BODY = 8 + (1 << 20)            # PROTO_MAX_BODY: seq and 1 MiB
SEQ = struct.Struct(">Q")           # a MSG body: seq, then the payload
WELCOME_BODY = struct.Struct(">II")     # index, pid
ACK_BODY = struct.Struct(">QIII")       # seq, index, length, crc32


class FrameError(AssertionError):
    """Bytes from a peer that are no frame: a header out of bounds, or
    the connection closed inside a frame. An AssertionError, so a test
    that meets one fails."""


def header(ftype, length, version=VERSION, reserved=0):
    """A frame header announcing a body of length bytes."""
    return HEADER.pack(length, version, ftype, reserved)


def frame(ftype, body=b"", version=VERSION, reserved=0):
    return header(ftype, len(body), version, reserved) + body


def msg_frame(seq, payload):
    return frame(MSG, SEQ.pack(seq) + payload)


def welcome_frame(index, pid):
    return frame(WELCOME, WELCOME_BODY.pack(index, pid))


def ack_frame(seq, index, length, crc):
    return frame(ACK, ACK_BODY.pack(seq, index, length, crc))


def ack_fields(seq, index, payload):
    """What the ACK of MSG seq carrying payload says, from node index:
    (seq, index, length, crc32)."""
    return seq, index, len(payload), zlib.crc32(payload)


def split_msg(body):
    """(seq, payload) of a MSG body."""
    return SEQ.unpack_from(body)[0], body[SEQ.size:]


def recv_exact(sock, n, deadline=None):
    """n bytes from sock, or None if the peer closes (or resets) first.
    With a deadline (time.monotonic()), fail when it passes; without,
    block."""
    data = b""
    while len(data) < n:
        if deadline is not None:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError("timed out reading %d bytes (got %r)"
                                     % (n, data))
            sock.settimeout(left)
        try:
            chunk = sock.recv(n - len(data))
        except socket.timeout:
            continue
        except ConnectionResetError:
            return None
        if not chunk:
            return None
        data += chunk
    return data


def read_frame(sock, timeout=None, max_body=MAX_BODY):
    """(type, body) of the next frame on sock, or (None, None) if the peer
    closes before it. Raises FrameError for a header of another version,
    with reserved bits or announcing more than max_body bytes (its body
    is not read), and for a close inside the frame."""
    deadline = None if timeout is None else time.monotonic() + timeout
    head = recv_exact(sock, HEADER.size, deadline)
    if head is None:
        return None, None
    length, version, ftype, reserved = HEADER.unpack(head)
    if version != VERSION or reserved != 0 or length > max_body:
        raise FrameError("unexpected frame header: %r" % head)
    body = recv_exact(sock, length, deadline)
    if body is None:
        raise FrameError("connection closed inside a frame")
    return ftype, body


# ------------------------------------------------------------ base class

class FanoutTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        for path in (ORCH, NODE):
            if not os.access(path, os.X_OK):
                raise unittest.SkipTest("%s not built (FANOUT_BUILD=%s)"
                                        % (path, BUILD))

    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="fanout-it-")
        self.ranges = []
        self.orchs = []

    def tearDown(self):
        for o in self.orchs:
            o.kill()
        # Leftover nodes: kill by PID, then wait for them to go.
        for lo, hi in self.ranges:
            for pid in node_processes(lo, hi):
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
        try:
            wait_until(lambda: not any(node_processes(lo, hi)
                                       for lo, hi in self.ranges),
                       5, "leftover nodes to die")
        except AssertionError:
            pass
        shutil.rmtree(self.dir, ignore_errors=True)

    # -- resources

    def ports(self, n):
        base = pick_ports(n)
        self.ranges.append((base, base + n - 1))
        return base

    def write(self, name, text, mode=0o644):
        path = os.path.join(self.dir, name)
        with open(path, "w") as f:
            f.write(text)
        os.chmod(path, mode)
        return path

    # -- running

    def start(self, args, **kw):
        o = Orch(args, self.dir, **kw)
        self.orchs.append(o)
        return o

    def run_orch(self, args, input_text="", timeout=RUN_TIMEOUT):
        t0 = time.monotonic()
        try:
            p = subprocess.run([ORCH] + list(args), cwd=self.dir,
                               input=input_text.encode()
                               if isinstance(input_text, str)
                               else input_text,
                               stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, timeout=timeout)
        except subprocess.TimeoutExpired as e:
            raise AssertionError("orchestrator %r did not exit within "
                                 "%.0f s; stdout=%r stderr=%r"
                                 % (args, timeout, e.stdout, e.stderr))
        return Result(p.returncode, p.stdout.decode("utf-8", "replace"),
                      p.stderr.decode("utf-8", "replace"),
                      time.monotonic() - t0)

    # -- assertions

    def assert_clean(self, base, n, allow_listen=()):
        """No node process for ports base..base+n-1 and no LISTEN socket
        there (ports in allow_listen excepted)."""
        lo, hi = base, base + n - 1
        nodes = node_processes(lo, hi)
        self.assertEqual(nodes, {}, "node processes left behind "
                         "(pid: port)")
        listening = sorted(p for p in listening_ports()
                           if lo <= p <= hi and p not in allow_listen)
        self.assertEqual(listening, [], "ports left listening")

    def assert_broadcasts(self, evs, sizes, n):
        """The broadcast events are exactly one per size, seq 1.. in
        order, each fully acked by n nodes."""
        bcs = [e for e in evs if e["event"] == "broadcast"]
        self.assertEqual(len(bcs), len(sizes), "number of broadcasts")
        for i, (ev, size) in enumerate(zip(bcs, sizes), 1):
            self.assertEqual(ev["seq"], i, "seq order: %r" % ev)
            self.assertEqual(ev["bytes"], size, "bytes: %r" % ev)
            self.assertEqual(ev["acked"], n, "acked: %r" % ev)
            self.assertEqual(ev["expected"], n, "expected: %r" % ev)
            self.assertEqual(ev["missing"], [], "missing: %r" % ev)
            self.assertEqual(ev["corrupt"], [], "corrupt: %r" % ev)
            self.assertIsInstance(ev["ms"], (int, float))
        return bcs

    def shutdown_event(self, evs):
        sd = [e for e in evs if e["event"] == "shutdown"]
        self.assertEqual(len(sd), 1, "one shutdown event: %r" % evs)
        self.assertIs(evs[-1], sd[0], "shutdown is the last event")
        return sd[0]
