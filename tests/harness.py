#!/usr/bin/env python3
"""The harness of fanout's scenario tests: everything the scenario files
share, and no scenario.

Every scenario file imports this module (it sits in the same directory,
which Python puts first on the path of a script run as
`python3 tests/X.py`); so does tests/fakenode.py, for the wire frames.
The build directory is $FANOUT_BUILD when set, else build/ at the root of
the checkout this file belongs to.

Rules every test follows, and the helpers here enforce:
- it picks a free range of ports itself (random, probed by binding);
- configuration files live in a temporary directory, which is also the
  orchestrator's working directory (so ./server_config.ini is never the
  repository's);
- every process runs under a hard timeout, and nothing sleeps a fixed
  time: the tests wait for events (output lines, exit, process states,
  port states, the screen) with deadlines;
- afterwards nothing may be left: no node process serving a port of the
  range, no LISTEN socket on the range, no fakenode, no process running a
  script of the test's directory. Leftovers are killed by PID in tearDown
  (never by name);
- traffic goes only to 127.0.0.1, or into the network namespaces a test
  makes itself.

Sections: constants; waiting; /proc; ports and sockets; wire frames (the
node protocol's; the console protocol's, and a fake daemon); processes
(the orchestrator, a node run directly, strangers); the console in tmux;
network namespaces; OpenSSH servers in them; the base class FanoutTest.
Python 3 standard library only.
"""
import collections
import ctypes
import fcntl
import itertools
import json
import os
import pwd
import random
import re
import select
import shlex
import shutil
import signal
import socket
import struct
import subprocess
import tempfile
import termios
import threading
import time
import unittest
import zlib

# -------------------------------------------------------------- constants

TESTS = os.path.dirname(os.path.realpath(__file__))
BUILD = os.environ.get("FANOUT_BUILD") or \
    os.path.join(os.path.dirname(TESTS), "build")
ORCH = os.path.abspath(os.path.join(BUILD, "orchestrator"))
NODE = os.path.abspath(os.path.join(BUILD, "node"))
NODE_REAL = os.path.realpath(NODE)
FAKENODE = os.path.join(TESTS, "fakenode.py")
SANITIZER = os.environ.get("FANOUT_SANITIZER", "none")

RUN_TIMEOUT = 20.0       # hard limit on any one orchestrator run
EXIT_DEADLINE = 5.0      # a stop (EOF, exit, signal) must finish by then
READY_DEADLINE = 10.0    # start-up to the ready event
FAULT_DEADLINE = 5.0     # a fault is reported and handled within this
NODE_LIFETIME = 30.0     # a node a test runs directly is killed after this

HOST = "127.0.0.1"
HOST_RX = re.escape(HOST)
HEX64 = re.compile(rb"(?<![0-9a-fA-F])[0-9a-fA-F]{64}(?![0-9a-fA-F])")
NUM = r"\d+(?:\.\d+)?"


# ---------------------------------------------------------------- waiting

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


# ------------------------------------------------------------------ /proc

def read_proc(pid, what):
    """The bytes of /proc/PID/WHAT, or None if the process is gone."""
    try:
        with open("/proc/%d/%s" % (pid, what), "rb") as f:
            return f.read()
    except OSError:
        return None


def proc_state(pid):
    """The state letter of pid (R, S, T, Z...), or None if it is gone."""
    status = read_proc(pid, "status")
    if status is None:
        return None
    m = re.search(rb"^State:\s+(\S)", status, re.M)
    return m.group(1).decode() if m else None


def proc_ppid(pid):
    status = read_proc(pid, "status")
    m = status and re.search(rb"^PPid:\s+(\d+)", status, re.M)
    return int(m.group(1)) if m else None


def alive(pid):
    """Whether pid runs (exists and is no zombie)."""
    return proc_state(pid) not in (None, "Z")


def _argvs():
    """(pid, argv) of every process with a command line."""
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        raw = read_proc(int(d), "cmdline")
        if not raw:
            continue
        argv = [a.decode("utf-8", "replace") for a in raw.split(b"\0")]
        if argv[-1] == "":
            argv.pop()
        yield int(d), argv


def process_argvs():
    """{pid: argv} of every live (not zombie) process."""
    return {pid: argv for pid, argv in _argvs() if alive(pid)}


def arg_after(argv, flag):
    """The word after flag in argv (or in flag=word), or None."""
    for i, a in enumerate(argv):
        if a == flag and i + 1 < len(argv):
            return argv[i + 1]
        if a.startswith(flag + "="):
            return a.split("=", 1)[1]
    return None


def port_in(argv, lo, hi):
    """The --port of argv if it is in lo..hi, else None."""
    port = arg_after(argv, "--port")
    if port is None or not port.isdigit() or not lo <= int(port) <= hi:
        return None
    return int(port)


def children(pid):
    """PIDs of the live processes whose parent is pid."""
    found = []
    for d in os.listdir("/proc"):
        if d.isdigit() and proc_ppid(int(d)) == pid and alive(int(d)):
            found.append(int(d))
    return found


def is_node_binary(pid, argv0):
    if os.path.realpath(argv0) == NODE_REAL:
        return True
    try:
        return os.path.realpath(os.readlink("/proc/%d/exe" % pid)) == \
            NODE_REAL
    except OSError:
        return False


def cwd_of(pid):
    """The working directory of pid, or None."""
    try:
        return os.readlink("/proc/%d/cwd" % pid)
    except OSError:
        return None


def node_processes(lo, hi, cwd=None):
    """{pid: port} of live node processes with --port in lo..hi; with
    cwd, only those working there (a test's nodes work in its directory,
    so another test's on an overlapping range of ports are not taken)."""
    found = {}
    for pid, argv in _argvs():
        if not is_node_binary(pid, argv[0]):
            continue
        port = port_in(argv, lo, hi)
        if (port is not None and alive(pid) and
                (cwd is None or cwd_of(pid) == cwd)):
            found[pid] = port
    return found


def wait_state(pid, states, timeout=2.0):
    return wait_until(lambda: proc_state(pid) in states, timeout,
                      "process %d in state %s" % (pid, states))


def stop_process(pid):
    """SIGSTOP pid and wait until it is stopped."""
    os.kill(pid, signal.SIGSTOP)
    wait_state(pid, ("T", "t"))


def kill_pids(pids, sig=signal.SIGKILL):
    """Send sig to each of pids (by PID, never by name); the gone are
    skipped."""
    for pid in pids:
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            pass


def kill_and_reap(p, timeout=5):
    """SIGKILL the subprocess p by PID if it still runs, then reap it."""
    if p.poll() is None:
        kill_pids([p.pid])
    try:
        p.wait(timeout)
    except subprocess.TimeoutExpired:
        pass


# ------------------------------------------------------ ports and sockets

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


def connections_to(ports):
    """{remote port: local port} of ESTABLISHED IPv4/IPv6 connections to
    the given ports (the orchestrator's side of its node connections)."""
    return {remote: local for state, local, remote in tcp_sockets()
            if state == "01" and remote in ports}


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
            s.bind((HOST, port))
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


def listen_on(port):
    """A socket listening on 127.0.0.1:port (to take a node's port)."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((HOST, port))
    s.listen(1)
    return s


def connect(port, timeout=2.0):
    s = socket.create_connection((HOST, port), timeout=timeout)
    s.settimeout(timeout)
    return s


def wait_closed(sock, timeout):
    """Wait until the peer closes sock (EOF or reset) and return when
    (monotonic). Fails if it sends data first or the timeout passes."""
    deadline = time.monotonic() + timeout
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            raise AssertionError("connection still open after %.1f s"
                                 % timeout)
        sock.settimeout(left)
        try:
            data = sock.recv(4096)
        except socket.timeout:
            continue
        except (ConnectionResetError, BrokenPipeError):
            return time.monotonic()
        if not data:
            return time.monotonic()
        raise AssertionError("the node sent %r to a connection it should "
                             "have closed" % data)


def still_open(sock):
    """Whether sock has neither data nor EOF waiting (non-destructive)."""
    r, _, _ = select.select([sock], [], [], 0)
    return not r


# ------------------------------------------------------------ wire frames
# The frames of common/proto.h, for tests that play the orchestrator or a
# node: an 8-byte header (u32 body length, u8 version, u8 type, u16
# reserved), then the body; big-endian throughout.

HEADER = struct.Struct(">IBBH")
VERSION = 2
HELLO, WELCOME, MSG, ACK, BYE, SETUP, REPLY = 1, 2, 3, 4, 5, 6, 7
MAX_BODY = 20 + (1 << 20)           # PROTO_MAX_BODY: a REPLY of 1 MiB
REPLY_MAX_BODY = 64                 # an ack handler's node sends no more
SEQ = struct.Struct(">Q")           # a MSG body: seq, then the payload
WELCOME_BODY = struct.Struct(">II")     # index, pid
ACK_BODY = struct.Struct(">QIII")       # seq, index, length, crc32
SETUP_BODY = struct.Struct(">BBHIII")   # handler, 0, 0, timeout_ms,
                                        # stop_timeout_ms, max_reply_bytes
REPLY_BODY = struct.Struct(">QIBBHI")   # seq, index, how, flags, code,
                                        # dropped; then the output
HANDLERS = {"ack": 0, "exec": 1, "shell": 2, "pipe": 3}


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


def setup_frame(handler, timeout_ms=60000, stop_timeout_ms=2000,
                max_reply_bytes=65536, command=()):
    """SETUP for handler (a name of HANDLERS); command: its words."""
    words = b"".join(w.encode() + b"\0" for w in command)
    return frame(SETUP, SETUP_BODY.pack(HANDLERS[handler], 0, 0, timeout_ms,
                                        stop_timeout_ms, max_reply_bytes)
                 + words)


def split_reply(body):
    """(seq, index, how, flags, code, dropped, output) of a REPLY body."""
    return REPLY_BODY.unpack_from(body) + (body[REPLY_BODY.size:],)


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


def read_frame(sock, timeout=None, max_body=MAX_BODY, want=VERSION):
    """(type, body) of the next frame on sock, or (None, None) if the peer
    closes before it. Raises FrameError for a header of another version
    than want, with reserved bits or announcing more than max_body bytes
    (its body is not read), and for a close inside the frame."""
    deadline = None if timeout is None else time.monotonic() + timeout
    head = recv_exact(sock, HEADER.size, deadline)
    if head is None:
        return None, None
    length, version, ftype, reserved = HEADER.unpack(head)
    if version != want or reserved != 0 or length > max_body:
        raise FrameError("unexpected frame header: %r" % head)
    body = recv_exact(sock, length, deadline)
    if body is None:
        raise FrameError("connection closed inside a frame")
    return ftype, body


# The frames of common/ctl.h, the console protocol between the
# subcommands (attach, send, status, stop, list) and a detached fleet's
# daemon: the same 8-byte header, its own version and types.

CTL_VERSION = 1
(CTL_HELLO, CTL_LINE, CTL_END, CTL_WELCOME, CTL_OUT, CTL_DONE,
 CTL_REFUSED) = 1, 2, 3, 4, 5, 6, 7
CTL_MODES = {"attach": 1, "send": 2, "status": 3, "stop": 4}
CTL_F_JSON, CTL_F_TTY = 0x01, 0x02
CTL_MAX_BODY = 4 + (1 << 20)
CTL_HELLO_BODY = struct.Struct(">BBH")     # mode, flags, 0; then a name
CTL_WELCOME_BODY = struct.Struct(">II")    # pid, nodes; then the name
CTL_OUT_BODY = struct.Struct(">BBH")       # stream, 0, 0; then bytes


def ctl_frame(ftype, body=b"", version=CTL_VERSION):
    return header(ftype, len(body), version) + body


def ctl_welcome(pid, nodes, name):
    return ctl_frame(CTL_WELCOME, CTL_WELCOME_BODY.pack(pid, nodes)
                     + name.encode())


def ctl_out(stream, data):
    """OUT: data (bytes or str) for the client's stream 1 or 2."""
    if isinstance(data, str):
        data = data.encode()
    return ctl_frame(CTL_OUT, CTL_OUT_BODY.pack(stream, 0, 0) + data)


def ctl_done(status):
    return ctl_frame(CTL_DONE, struct.pack(">I", status))


def ctl_refused(why):
    return ctl_frame(CTL_REFUSED, why.encode())


def ctl_read_frame(sock, timeout=None):
    """(type, body) of the next console frame on sock, or (None, None)
    if the peer closes before it; FrameError as read_frame()."""
    return read_frame(sock, timeout, CTL_MAX_BODY, CTL_VERSION)


def ctl_split_hello(body):
    """(mode, flags, name) of a HELLO body."""
    mode, flags, _ = CTL_HELLO_BODY.unpack_from(body)
    return mode, flags, body[CTL_HELLO_BODY.size:].decode()


class FakeDaemon(threading.Thread):
    """A detached fleet's control socket played by the test: listens on
    path and hands each connection to serve(conn), a function of the
    test, on this thread, one connection after another."""

    def __init__(self, path, serve):
        super().__init__(daemon=True)
        self.path = path
        self.serve = serve
        self.errors = []
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.bind(path)
        self.sock.listen(8)
        self.sock.settimeout(0.1)
        self.stopping = False
        self.start()

    def run(self):
        while not self.stopping:
            try:
                conn, _ = self.sock.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            with conn:
                try:
                    self.serve(conn)
                except Exception as e:  # reported by close()
                    self.errors.append(e)

    def close(self):
        """Stop serving; raise what serve() raised."""
        self.stopping = True
        self.join(5)
        self.sock.close()
        if self.errors:
            raise self.errors[0]


# -------------------------------------------------------------- processes

def parse_events(lines, strict):
    """The JSON events among lines. Strict: every line must be one (else
    AssertionError); otherwise other lines are skipped."""
    evs = []
    for line in lines:
        try:
            ev = json.loads(line)
        except ValueError:
            if strict:
                raise AssertionError("stdout line is not JSON: %r" % line)
            continue
        if not isinstance(ev, dict) or "event" not in ev:
            if strict:
                raise AssertionError("stdout line is not an event: %r"
                                     % line)
            continue
        evs.append(ev)
    return evs


def _take_terminal():
    """In a child after setsid(): make its stdin its controlling
    terminal."""
    fcntl.ioctl(0, termios.TIOCSCTTY, 0)


class Orch:
    """A running orchestrator whose stdout and stderr are collected line
    by line by reader threads, so a test can wait for a given line.
    With own_terminal, it starts a session of its own whose controlling
    terminal is stdin (a pseudo-terminal's slave), its process group in
    the foreground, as from an interactive shell."""

    def __init__(self, args, cwd, stdin=subprocess.PIPE, own_terminal=False,
                 pass_fds=(), env=None):
        self.args = [ORCH] + list(args)
        extra = dict(start_new_session=True,
                     preexec_fn=_take_terminal) if own_terminal else {}
        extra["pass_fds"] = pass_fds
        extra["env"] = env
        self.p = subprocess.Popen(self.args, cwd=cwd, stdin=stdin,
                                  stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, **extra)
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

    def _lines(self, stream):
        return self.out if stream == "out" else self.err

    def wait_line(self, stream, regex, timeout=READY_DEADLINE):
        """Wait for a line of stream ('out' or 'err') matching regex;
        return the match."""
        lines = self._lines(stream)
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

    def _wait_for(self, pred, timeout, what):
        """wait_until(pred), failing with both streams shown."""
        try:
            return wait_until(pred, timeout, what)
        except AssertionError as e:
            raise AssertionError("%s; stdout=%r stderr=%r"
                                 % (e, self.out, self.err)) from None

    def wait_matches(self, stream, regex, count, timeout=READY_DEADLINE):
        """Wait until count lines of stream ('out' or 'err') match regex;
        return the matches."""
        rx = re.compile(regex)
        lines = self._lines(stream)

        def enough():
            with self.cond:
                ms = [m for m in map(rx.search, lines) if m]
            return ms if len(ms) >= count else None
        return self._wait_for(enough, timeout, "%d lines matching %r on "
                              "std%s" % (count, regex, stream))

    def events_so_far(self, name=None):
        """The JSON events printed on stdout so far (other lines are
        skipped); with name, only the events called name."""
        with self.cond:
            lines = list(self.out)
        return [e for e in parse_events(lines, strict=False)
                if name is None or e["event"] == name]

    def wait_events(self, name, count, timeout=READY_DEADLINE):
        """Wait until at least count events called name are out; return
        them all."""
        def enough():
            evs = self.events_so_far(name)
            return evs if len(evs) >= count else None
        return self._wait_for(enough, timeout, "%d %r events"
                              % (count, name))

    def nth_event(self, name, n, timeout=READY_DEADLINE):
        """The n-th (1-based) event called name, waiting for it."""
        return self.wait_events(name, n, timeout)[n - 1]

    def wait_broadcast(self, seq, timeout=READY_DEADLINE):
        """The report of broadcast #seq, waiting for it."""
        return self.nth_event("broadcast", seq, timeout)

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
    """What a finished run printed, and its status and duration."""

    def __init__(self, rc, out, err, secs):
        self.rc = rc
        self.stdout = out
        self.stderr = err
        self.secs = secs
        self.lines = out.splitlines()

    def events(self):
        """stdout parsed as JSON lines; fails unless every line is one."""
        return parse_events(self.lines, strict=True)

    def __repr__(self):
        return "rc=%r\n--- stdout\n%s\n--- stderr\n%s" % (
            self.rc, self.stdout[-4000:], self.stderr[-4000:])


def run(argv, cwd, input=b"", timeout=RUN_TIMEOUT, stdout_errors="replace"):
    """Run argv to its end within timeout; return a Result. input is fed
    on stdin (None: /dev/null); stdout is decoded as UTF-8 with
    stdout_errors ("strict": invalid UTF-8 fails), stderr with
    replacement characters."""
    if isinstance(input, str):
        input = input.encode()
    stdin = subprocess.DEVNULL if input is None else None
    t0 = time.monotonic()
    try:
        p = subprocess.run(argv, cwd=cwd, input=input, stdin=stdin,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           timeout=timeout)
    except subprocess.TimeoutExpired as e:
        raise AssertionError("%r did not exit within %.0f s; stdout=%r "
                             "stderr=%r" % (argv, timeout, e.stdout,
                                            e.stderr))
    return Result(p.returncode, p.stdout.decode("utf-8", stdout_errors),
                  p.stderr.decode("utf-8", "replace"), time.monotonic() - t0)


class NodeProc:
    """build/node run directly: a random token in its environment and
    readiness reported on a pipe passed as FANOUT_READY_FD. The test
    plays the orchestrator (or a stranger) on its port."""

    def __init__(self, port, index=0):
        self.port, self.index = port, index
        self.token = os.urandom(32)
        rfd, wfd = os.pipe()
        env = dict(os.environ, FANOUT_TOKEN=self.token.hex(),
                   FANOUT_READY_FD=str(wfd))
        try:
            self.p = subprocess.Popen(
                [NODE, "--port", str(port), "--index", str(index)],
                env=env, pass_fds=(wfd,), stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        finally:
            os.close(wfd)
        self.pid = self.p.pid
        # Bounded in time whatever the test does.
        self.timer = threading.Timer(NODE_LIFETIME, self.kill)
        self.timer.daemon = True
        self.timer.start()
        self.err = b""
        self.reader = threading.Thread(target=self._read_err, daemon=True)
        self.reader.start()
        try:
            self._wait_ready(rfd, READY_DEADLINE)
        finally:
            os.close(rfd)

    def _read_err(self):
        for chunk in iter(lambda: self.p.stderr.read1(4096), b""):
            self.err += chunk

    def _wait_ready(self, rfd, timeout):
        r, _, _ = select.select([rfd], [], [], timeout)
        got = os.read(rfd, 1) if r else b""
        if got != b"R":
            self.kill()
            raise AssertionError("node on port %d not ready (read %r); "
                                 "stderr=%r" % (self.port, got, self.err))

    def hello(self, token=None):
        return frame(HELLO, self.token if token is None else token)

    def reply(self, sock, timeout):
        """(type, body) of the node's next frame on sock, (None, None) if
        it closes first; fails on anything that is not a frame a node
        sends."""
        return read_frame(sock, timeout, max_body=REPLY_MAX_BODY)

    def admit(self, budget=0.5):
        """Connect as the orchestrator; return (socket, seconds to
        WELCOME). The WELCOME must name our index and the node's pid."""
        t0 = time.monotonic()
        s = connect(self.port)
        s.sendall(self.hello())
        ftype, body = self.reply(s, max(budget, 0.1) + 1.0)
        took = time.monotonic() - t0
        if ftype != WELCOME:
            raise AssertionError("no WELCOME (type %r, body %r); node "
                                 "stderr=%r" % (ftype, body, self.err))
        index, pid = WELCOME_BODY.unpack(body)
        if (index, pid) != (self.index, self.pid):
            raise AssertionError("WELCOME names index %d pid %d, not %d "
                                 "and %d" % (index, pid, self.index,
                                             self.pid))
        if took >= budget:
            raise AssertionError("WELCOME after %.3f s, not within %.1f s"
                                 % (took, budget))
        return s, took

    def exchange(self, sock, seq, payload):
        """Send a MSG and check its ACK (seq, index, length, crc32)."""
        sock.sendall(msg_frame(seq, payload))
        ftype, body = self.reply(sock, 2.0)
        if ftype != ACK:
            raise AssertionError("no ACK for #%d (type %r); node %s; "
                                 "stderr=%r" % (seq, ftype, self.status(),
                                                self.err))
        got = ACK_BODY.unpack(body)
        want = ack_fields(seq, self.index, payload)
        if got != want:
            raise AssertionError("ACK %r, expected %r" % (got, want))

    def wait_exit(self, timeout):
        """Exit status (negative: a signal); fails if still running."""
        try:
            rc = self.p.wait(timeout)
        except subprocess.TimeoutExpired:
            raise AssertionError("node still running %.1f s later; "
                                 "stderr=%r" % (timeout, self.err))
        self.reader.join(1.0)
        return rc

    def status(self):
        """How the node stands, for messages (waits up to 1 s for it to
        finish dying)."""
        try:
            rc = self.p.wait(1.0)
        except subprocess.TimeoutExpired:
            return "still running"
        if rc < 0:
            return "killed by %s" % signal.Signals(-rc).name
        return "exited %d" % rc

    def running(self):
        return self.p.poll() is None

    def kill(self):
        kill_and_reap(self.p)

    def close(self):
        self.timer.cancel()
        self.kill()
        self.reader.join(1.0)
        self.p.stderr.close()


class Strangers(threading.Thread):
    """Connects to every port of a range about every millisecond and keeps
    the sockets open (silent, or after sending payload) for 2 s, longer
    than a node keeps them."""

    KEEP = 2.0

    def __init__(self, ports, payload=None):
        super().__init__(daemon=True)
        self.ports = list(ports)
        self.payload = payload
        self.stop = threading.Event()
        self.rounds = 0
        self.connected = 0
        self.socks = collections.deque()

    def run(self):
        try:
            while not self.stop.is_set():
                now = time.monotonic()
                for port in self.ports:
                    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
                    s.settimeout(0.2)
                    try:
                        s.connect((HOST, port))
                        if self.payload:
                            s.send(self.payload)
                    except OSError:
                        s.close()
                        continue
                    self.connected += 1
                    self.socks.append((now, s))
                while self.socks and now - self.socks[0][0] > self.KEEP:
                    self.socks.popleft()[1].close()
                self.rounds += 1
                # Pacing of the knocks (about one round a millisecond),
                # not a wait for anything to settle.
                time.sleep(0.001)
        finally:
            while self.socks:
                self.socks.popleft()[1].close()

    def finish(self):
        self.stop.set()
        self.join(5)


# A node command that runs the real node, except for one index, which runs
# fakenode in the given mode. Arguments: {port} {index}.
ONE_FAKE_SCRIPT = """#!/bin/sh
if [ "$2" = '{bad}' ]; then
    exec python3 '{fake}' --port "$1" --index "$2" --mode '{mode}'
fi
exec '{node}' --port "$1" --index "$2"
"""


# ------------------------------------------------------- console in tmux

TMUX = shutil.which("tmux")
WIDTH, HEIGHT = 120, 30
POLL = 0.02                  # screen polling interval, seconds
PROMPT = "fanout>"           # the prompt, trailing blank stripped
TABLE_HEADER = (r"^ *node +address +pid +state +acked +missed +late +"
                r"last rtt +median +restarts *$")
TABLE_ROW = (r"^ *(\d+) +%s:(\d+) +(\d+) +(\S+) +(\d+) +(\d+) +(\d+) +"
             r"(?:%s ms|-) +(?:%s ms|-) +(\d+) *$" % (HOST_RX, NUM, NUM))

_serial = itertools.count()


def tmux_env():
    """The environment for tmux commands: never inside the caller's own
    tmux session (a set $TMUX would make tmux refuse or nest)."""
    env = dict(os.environ)
    env.pop("TMUX", None)
    env.pop("TMUX_PANE", None)
    return env


class Terminal:
    """One tmux server, on a socket of its own (`tmux -L <unique name>`,
    never the default server), with one 120x30 window running one
    orchestrator under
        sh -c 'trap : INT; env XDG_STATE_HOME=<dir> TERM=xterm
               INPUTRC=/dev/null <orchestrator> -n N -p BASE; echo EXIT=$?'
    in the test's directory. The pane stays (remain-on-exit) after the
    shell ends, so the last screen can still be read. The screen is read
    with `tmux capture-pane -p`; every wait polls it (every 20 ms) for the
    expected text with a deadline."""

    def __init__(self, test, base, state_dir, n=3):
        self.base = base
        self.n = n
        self.start(test, "env XDG_STATE_HOME=%s TERM=xterm INPUTRC=/dev/null "
                   "%s -n %d -p %d" % (shlex.quote(state_dir),
                                       shlex.quote(ORCH), n, base))

    def start(self, test, cmd):
        """Run the shell command cmd in a new tmux server's pane."""
        self.test = test
        self.socket = "fanout-console-%d-%d-%s" % (
            os.getpid(), next(_serial), os.urandom(4).hex())
        self.conf = os.path.join(test.dir, "%s.conf" % self.socket)
        with open(self.conf, "w") as f:
            f.write("set -g remain-on-exit on\n"
                    "set -g status off\n"
                    "set -g history-limit 2000\n")
        self.socket_path = None
        self.pane_pid = None
        self.orch_pid = None
        # `trap : INT`: Ctrl-C reaches the whole foreground process group,
        # the shell included; without a trap it would die with the
        # orchestrator's Ctrl-C and never print EXIT=. A trap with a
        # command is reset on exec, so the orchestrator starts with
        # SIGINT at its default, as from an interactive shell.
        script = "trap : INT; %s; echo EXIT=$?" % cmd
        test.terminals.append(self)
        self.tmux("new-session", "-d", "-x", str(WIDTH), "-y", str(HEIGHT),
                  "-c", test.dir, "/bin/sh", "-c", script)
        self.socket_path = self.tmux("display-message", "-p",
                                     "#{socket_path}").strip()
        self.pane_pid = int(self.tmux("display-message", "-p",
                                      "#{pane_pid}").strip())

    # -- tmux

    def tmux(self, *args, check=True):
        p = subprocess.run([TMUX, "-L", self.socket, "-f", self.conf] +
                           list(args), env=tmux_env(),
                           stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, timeout=10)
        if check and p.returncode != 0:
            raise AssertionError("tmux %s failed (%d): %s"
                                 % (" ".join(args), p.returncode,
                                    p.stderr.decode("utf-8", "replace")))
        return p.stdout.decode("utf-8", "replace")

    def destroy(self):
        """Kill the tmux server and whatever it leaves running (by PID)."""
        pids = [self.orch_pid] if self.orch_pid else []
        if self.pane_pid:
            pids += [self.pane_pid] + children(self.pane_pid)
        self.tmux("kill-server", check=False)
        if self.socket_path and os.path.exists(self.socket_path):
            try:
                os.unlink(self.socket_path)
            except OSError:
                pass
        kill_pids(pid for pid in pids if alive(pid))

    # -- keys

    def type(self, text):
        """Type text literally (no Enter)."""
        self.tmux("send-keys", "-l", text)

    def key(self, *names):
        """Press keys by tmux name: Enter, Up, C-c, C-d."""
        self.tmux("send-keys", *names)

    def line(self, text):
        self.type(text)
        self.key("Enter")

    # -- screen

    def screen(self, history=False):
        """The pane's text, wrapped lines joined, trailing blanks
        stripped; with history, the scrolled-off lines too."""
        args = ["capture-pane", "-p", "-J"]
        if history:
            args += ["-S", "-"]
        return "\n".join(l.rstrip() for l in
                         self.tmux(*args).split("\n")).rstrip("\n")

    def last_line(self):
        """The last non-empty line of the visible screen."""
        lines = [l for l in self.screen().split("\n") if l]
        return lines[-1] if lines else ""

    def cursor(self):
        x, y = self.tmux("display-message", "-p",
                         "#{cursor_x} #{cursor_y}").split()
        return int(x), int(y)

    def wait(self, pred, timeout, what):
        """Poll pred() every 20 ms until it is true; on a timeout, fail
        showing the whole screen."""
        try:
            return wait_until(pred, timeout, what, interval=POLL)
        except AssertionError as e:
            raise AssertionError("%s\n--- screen (with history):\n%s\n---"
                                 % (e, self.screen(history=True))) from None

    def wait_text(self, regex, timeout=READY_DEADLINE, flags=re.M):
        """Wait for regex to match the screen (history included); return
        the match."""
        rx = re.compile(regex, flags)
        return self.wait(lambda: rx.search(self.screen(history=True)),
                         timeout, "%r on the screen" % regex)

    def wait_last_line(self, text, timeout=EXIT_DEADLINE):
        return self.wait(lambda: self.last_line() == text, timeout,
                         "%r as the last line" % text)

    def wait_prompt(self, timeout=READY_DEADLINE):
        """Wait for the ready line and an empty prompt below it; note the
        orchestrator's PID."""
        self.wait_text(r"^ready: %d/%d nodes in %s ms$"
                       % (self.n, self.n, NUM), timeout)
        self.wait_last_line(PROMPT, timeout)
        self.orch_pid = self.wait(
            lambda: next((p for p in children(self.pane_pid)
                          if os.path.realpath("/proc/%d/exe" % p) ==
                          os.path.realpath(ORCH)), None),
            EXIT_DEADLINE, "the orchestrator process")

    def wait_exit(self, status, timeout=EXIT_DEADLINE):
        """Wait for the shell's EXIT=<status> line."""
        m = self.wait_text(r"^EXIT=(\d+)$", timeout)
        self.test.assertEqual(int(m.group(1)), status,
                              "exit status; screen:\n%s"
                              % self.screen(history=True))

    def status_rows(self, n=3):
        """Run /status; wait for the table (header, n rows, then a prompt)
        and return the rows as tuples (index, port, pid, state, acked,
        missed, late, restarts) and the header and row lines."""
        self.line("/status")
        block = (r"^fanout> /status\n" + TABLE_HEADER[1:-1] + r"\n" +
                 (TABLE_ROW[1:-1] + r"\n") * n + PROMPT + "$")
        m = self.wait_text(block)
        lines = m.group(0).split("\n")[1:1 + 1 + n]
        rows = []
        for line in lines[1:]:
            r = re.match(TABLE_ROW, line)
            rows.append((int(r.group(1)), int(r.group(2)), int(r.group(3)),
                         r.group(4), int(r.group(5)), int(r.group(6)),
                         int(r.group(7)), int(r.group(8))))
        return rows, lines


# ----------------------------------------------------- network namespaces

def ip(*args, check=True):
    return subprocess.run(["ip"] + list(args), stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, timeout=10, check=check)


def netns_unusable():
    """None if network namespaces can be made here, else why not."""
    if os.geteuid() != 0:
        return "needs root to create network namespaces"
    if not shutil.which("ip"):
        return "needs ip (iproute2)"
    probe = "fanout-probe-%d" % os.getpid()
    if ip("netns", "add", probe, check=False).returncode != 0:
        return "ip netns add is not permitted here"
    ip("netns", "del", probe, check=False)
    return None


def netns_pids(name):
    r = ip("netns", "pids", name, check=False)
    return [int(p) for p in r.stdout.split()]


def add_host(addr, outer):
    """A "host": a network namespace named addr, holding addr/24 on its
    eth0, joined by a veth pair to this namespace, whose end (outer) has
    the .1 of the same /24."""
    ip("netns", "add", addr)
    ip("link", "add", outer, "type", "veth", "peer", "name", "eth0",
       "netns", addr)
    ip("addr", "add", addr[:-1] + "1/24", "dev", outer)
    ip("link", "set", outer, "up")
    ip("-n", addr, "addr", "add", addr + "/24", "dev", "eth0")
    ip("-n", addr, "link", "set", "eth0", "up")
    ip("-n", addr, "link", "set", "lo", "up")


def delete_host(addr, outer):
    """Kill what runs in host addr (by PID), delete it and its veth pair;
    return whether the namespace is gone."""
    kill_pids(netns_pids(addr))
    ip("netns", "del", addr, check=False)
    ip("link", "del", outer, check=False)  # gone with the namespace
    return addr not in ip("netns", "list", check=False).stdout.decode()


# ------------------------------------------------- OpenSSH in a namespace
# A "host" of add_host() can run a real OpenSSH server, Debian's
# /usr/sbin/sshd, at its default settings: the test's own configuration
# file (sshd -f) names only what must be the test's own (where to listen,
# a host key, the authorized client key, the pid file, the sessions'
# HOME), so /etc/ssh/sshd_config is never read and every other setting is
# sshd's compiled-in default (MaxStartups 10:30:100, UsePAM no,
# PermitRootLogin prohibit-password, StrictModes yes, AcceptEnv none).
#
# What OpenSSH 9.2 (Debian 12) was found to do, and what follows from it:
# - StrictModes refuses an AuthorizedKeysFile below a directory that is
#   group- or world-writable or not root's ("bad ownership or modes for
#   directory /tmp"): a server's files live in a directory of their own
#   under the first of $TMPDIR and /run whose every ancestor passes.
# - sshd sets HOME from the password file (root: /root), and Debian's
#   bash, which sshd runs as `bash -c COMMAND`, sources ~/.bashrc for a
#   command run by sshd: root's would change PATH and more. `SetEnv
#   HOME=<private>` in the server's file does override HOME (a session's
#   `echo $HOME` shows it), and bash then reads <private>/.bashrc, which
#   does not exist. A user made for the tests would alter the machine.
# - sshd still changes to the password file's home (/root) and runs its
#   .ssh/rc whatever HOME says: the option `no-user-rc` on the key's line
#   of the test's authorized_keys stops that (the server's PermitUserRC
#   stays at its default).
# - /run/sshd (privilege separation) must exist: made if missing, and
#   removed when the last server of this process stops, if made here.
# A command's session: user root, working directory /root, HOME private,
# PATH sshd's /usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin,
# nothing from the client's environment, the command's words joined by
# blanks and run by `bash -c` in a session of its own (setsid), without a
# terminal.

SSHD = "/usr/sbin/sshd"
SSHD_PRIVSEP = "/run/sshd"
SSHD_LIFETIME = 300.0    # an sshd a test starts is killed after this
SSHD_DEADLINE = 10.0     # sshd started to sshd listening
SSH_DEADLINE = 20.0      # one ssh command, from start to exit

# The client at its defaults too: no configuration file (neither the
# machine's nor root's), no agent's keys, no host key checks, errors only.
SSH_OPTIONS = ("-F", "none", "-o", "BatchMode=yes",
               "-o", "StrictHostKeyChecking=no",
               "-o", "UserKnownHostsFile=/dev/null",
               "-o", "IdentitiesOnly=yes", "-o", "LogLevel=ERROR")
SSH_KEY_OPTIONS = "no-user-rc"   # on the client key's authorized_keys line

SSHD_CONFIG = """\
# A test's sshd: only what must be the test's own is set here; every
# other setting is sshd's default (/etc/ssh/sshd_config is not read).
ListenAddress {addr}
HostKey {host_key}
AuthorizedKeysFile {authorized_keys}
PidFile {pid_file}
SetEnv HOME={home}
"""


def _sshd_accepts(path):
    """Whether StrictModes accepts a file below directory path: it and
    every directory above it are root's and writable by no group or
    other."""
    path = os.path.realpath(path)
    while True:
        try:
            st = os.stat(path)
        except OSError:
            return False
        if st.st_uid != 0 or st.st_mode & 0o022:
            return False
        if path == "/":
            return True
        path = os.path.dirname(path)


def sshd_dir_parent():
    """Where a server's files may live (see above), or None."""
    for d in (tempfile.gettempdir(), "/run"):
        if _sshd_accepts(d):
            return d
    return None


def sshd_unusable():
    """None if a real sshd can run in a test's namespace here, else why
    not."""
    why = netns_unusable()
    if why:
        return why
    if not os.access(SSHD, os.X_OK):
        return "needs %s (Debian's openssh-server)" % SSHD
    for prog in ("ssh", "ssh-keygen"):
        if not shutil.which(prog):
            return "needs %s (openssh-client)" % prog
    try:
        pwd.getpwnam("sshd")
    except KeyError:
        return ("needs the user sshd (privilege separation; "
                "openssh-server makes it)")
    if sshd_dir_parent() is None:
        return ("no directory for sshd's files that StrictModes accepts "
                "(neither %s nor /run)" % tempfile.gettempdir())
    return None


def ssh_keygen(path, comment):
    """A new ed25519 key pair without passphrase: path and path.pub."""
    r = run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", comment,
             "-f", path], os.path.dirname(path), None, SSH_DEADLINE)
    if r.rc != 0:
        raise AssertionError("ssh-keygen failed: %r" % r)


def ssh_words(key):
    """The words of an ssh client (before the host) that logs in with
    key."""
    return ["ssh", "-i", key] + list(SSH_OPTIONS)


def descendants(pid):
    """PIDs of the live processes below pid (children, theirs, ...)."""
    kids = collections.defaultdict(list)
    for d in os.listdir("/proc"):
        if d.isdigit():
            ppid = proc_ppid(int(d))
            if ppid is not None:
                kids[ppid].append(int(d))
    found, todo = [], [pid]
    while todo:
        for kid in kids.get(todo.pop(), ()):
            found.append(kid)
            todo.append(kid)
    return [p for p in found if alive(p)]


def kill_namespace(addr, timeout=FAULT_DEADLINE):
    """SIGKILL every process in network namespace addr (by PID), again
    while new ones appear, until none is left; fails after timeout."""
    def none_left():
        pids = netns_pids(addr)
        kill_pids(pids)
        return not pids
    wait_until(none_left, timeout, "every process of %s killed" % addr)


_libc = ctypes.CDLL(None, use_errno=True)
PR_SET_PDEATHSIG = 1


def _die_with_parent():
    """In a child before exec: SIGKILL when the thread that made it (the
    test's main thread) ends, so a test that is killed leaves no server
    listening."""
    _libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)


_privsep = {"users": 0, "made": False}
_privsep_lock = threading.Lock()


def _privsep_hold():
    """/run/sshd exists (made if missing) while a server of ours runs."""
    with _privsep_lock:
        if not os.path.isdir(SSHD_PRIVSEP):
            os.mkdir(SSHD_PRIVSEP, 0o755)
            os.chmod(SSHD_PRIVSEP, 0o755)
            _privsep["made"] = True
        _privsep["users"] += 1


def _privsep_release():
    """The last server of ours is gone: remove /run/sshd if we made it."""
    with _privsep_lock:
        _privsep["users"] -= 1
        if _privsep["users"] == 0 and _privsep["made"]:
            _privsep["made"] = False
            try:
                os.rmdir(SSHD_PRIVSEP)
            except OSError:
                pass        # not empty: someone else's sshd uses it now


class Sshd:
    """A real OpenSSH server, `ip netns exec ADDR /usr/sbin/sshd -D -e -f
    CONF`, a child of the test (ip execs sshd: same PID), listening on
    ADDR port 22 in host ADDR (add_host) at its default settings (see
    above). It lets root in with the client key whose public half is
    client_pub, key_options in front of it in authorized_keys. Its files
    (configuration, host key, authorized_keys, pid file, the sessions'
    empty HOME) are in a directory of its own. Its log (-e: on stderr) is
    read line by line into self.lines. Killed after lifetime seconds
    whatever the test does, and when the test's process dies (make it
    from the main thread); stop() kills it and everything below it, by
    PID."""

    def __init__(self, addr, client_pub, key_options=SSH_KEY_OPTIONS,
                 lifetime=SSHD_LIFETIME):
        self.addr = addr
        self.lines = []
        self.cond = threading.Condition()
        self.dir = tempfile.mkdtemp(prefix="fanout-sshd-",
                                    dir=sshd_dir_parent())
        try:
            self.home = os.path.join(self.dir, "home")
            os.mkdir(self.home, 0o700)
            self.host_key = os.path.join(self.dir, "host_key")
            ssh_keygen(self.host_key, "fanout-test-host-" + addr)
            authorized_keys = os.path.join(self.dir, "authorized_keys")
            with open(authorized_keys, "w") as f:
                f.write(" ".join(w for w in (key_options, client_pub) if w)
                        + "\n")
            self.conf = os.path.join(self.dir, "sshd_config")
            with open(self.conf, "w") as f:
                f.write(SSHD_CONFIG.format(
                    addr=addr, host_key=self.host_key,
                    authorized_keys=authorized_keys,
                    pid_file=os.path.join(self.dir, "sshd.pid"),
                    home=self.home))
            _privsep_hold()
        except BaseException:
            shutil.rmtree(self.dir, ignore_errors=True)
            raise
        try:
            self.p = subprocess.Popen(
                ["ip", "netns", "exec", addr, SSHD, "-D", "-e", "-f",
                 self.conf], stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                preexec_fn=_die_with_parent)
        except BaseException:
            _privsep_release()
            shutil.rmtree(self.dir, ignore_errors=True)
            raise
        self.pid = self.p.pid
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()
        self.timer = threading.Timer(lifetime, self._kill_tree)
        self.timer.daemon = True
        self.timer.start()

    def _read(self):
        for raw in iter(self.p.stdout.readline, b""):
            with self.cond:
                self.lines.append(raw.decode("utf-8", "replace").rstrip())
                self.cond.notify_all()
        self.p.stdout.close()
        with self.cond:
            self.cond.notify_all()

    def log(self):
        with self.cond:
            return "\n".join(self.lines)

    def wait_listening(self, timeout=SSHD_DEADLINE):
        """Wait for the server's "Server listening on ADDR port 22." (it
        says so once its socket listens); fail if it exits first."""
        want = "Server listening on %s port 22." % self.addr
        deadline = time.monotonic() + timeout
        with self.cond:
            while want not in self.lines:
                left = deadline - time.monotonic()
                if left <= 0 or self.p.poll() is not None:
                    raise AssertionError(
                        "sshd in %s not listening within %.1f s (status "
                        "%r); its log:\n%s" % (self.addr, timeout,
                                               self.p.poll(),
                                               "\n".join(self.lines)))
                self.cond.wait(min(left, 0.05))

    def running(self):
        return self.p is not None and self.p.poll() is None

    def _kill_tree(self):
        """SIGKILL the server and everything below it, by PID: first what
        is below (so the server starts no more), then the server."""
        for _ in range(3):
            below = descendants(self.pid)
            if not below:
                break
            kill_pids(below)
        if self.p.poll() is None:
            kill_pids([self.pid])

    def stop(self):
        """Kill the server and what it started, reap it, remove its files.
        Idempotent."""
        if self.p is None:
            return
        self.timer.cancel()
        self._kill_tree()
        try:
            self.p.wait(5)
        except subprocess.TimeoutExpired:
            pass
        self.reader.join(2)
        self.p = None
        _privsep_release()
        shutil.rmtree(self.dir, ignore_errors=True)


_hosts_serial = itertools.count()


class SshdHosts:
    """count hosts (add_host), each running a real sshd (Sshd) at its
    defaults, all letting in one client key made here in workdir (the
    key's path is the test's own: an ssh process naming it is one of the
    test's). Hosts whose index is in without_sshd run none: a connection
    there is refused. key_options: {index: options} for the key's line
    in that host's authorized_keys; lifetime: the servers' (Sshd).
    close() stops the servers and deletes the hosts; the constructor
    cleans up after itself when it fails."""

    def __init__(self, count, workdir, without_sshd=(), key_options=None,
                 lifetime=SSHD_LIFETIME):
        self.workdir = workdir
        self.key = os.path.join(workdir, "ssh_client_key")
        self.hosts = []
        self.outers = {}
        self.sshds = {}
        try:
            ssh_keygen(self.key, "fanout-test-client")
            with open(self.key + ".pub") as f:
                pub = f.read().strip()
            serial = next(_hosts_serial) % 10
            taken = ip("netns", "list", check=False).stdout.decode()
            for _ in range(100):
                net = random.randint(0, 249)
                addrs = ["10.232.%d.2" % ((net + k) % 250 + 1)
                         for k in range(count)]
                if not any(re.search(r"^%s\b" % re.escape(a), taken, re.M)
                           for a in addrs):
                    break
            else:
                raise AssertionError("no free range of %d hosts in "
                                     "10.232/16" % count)
            for k, addr in enumerate(addrs):
                outer = "fs%d%d%d" % (os.getpid() % 10000, serial, k)
                self.hosts.append(addr)
                self.outers[addr] = outer
                add_host(addr, outer)
            for k, addr in enumerate(addrs):
                if k not in without_sshd:
                    self.sshds[addr] = Sshd(
                        addr, pub, (key_options or {}).get(
                            k, SSH_KEY_OPTIONS), lifetime)
            for sshd in self.sshds.values():
                sshd.wait_listening()
        except BaseException:
            self.close()
            raise

    # -- what runs where

    def launcher(self):
        """`[cluster] launcher`: ssh as root with the key, to {host}."""
        return " ".join(map(shlex.quote, ssh_words(self.key))) + " {host}"

    def node_command(self):
        """`[node] command`: one ssh per node, running the node there."""
        return "%s %s --host {host} --port {port} --index {index}" % (
            self.launcher(), shlex.quote(NODE))

    def listener(self, addr):
        """The PID of addr's sshd, or None if it runs none (any more)."""
        sshd = self.sshds.get(addr)
        return sshd.pid if sshd and sshd.running() else None

    def left(self, addr):
        """PIDs of the processes in host addr besides its sshd's listener:
        connections' sshd processes, what they run, what that starts."""
        return sorted(set(netns_pids(addr)) - {self.listener(addr)})

    def clients(self):
        """PIDs of live ssh clients that log in with this key."""
        return sorted(pid for pid, argv in process_argvs().items()
                      if argv and os.path.basename(argv[0]) == "ssh"
                      and self.key in argv)

    def leftovers(self):
        """{where: [pid, ...]} of what is left of the test's fleets: in
        each host, anything but the listener; here, the ssh clients."""
        found = {addr: self.left(addr) for addr in self.hosts}
        found["ssh clients"] = self.clients()
        return {k: v for k, v in found.items() if v}

    def describe(self, leftovers):
        """leftovers() as lines "where: pid argv", for a failure message."""
        lines = []
        for where, pids in leftovers.items():
            for pid in pids:
                argv = (read_proc(pid, "cmdline") or b"").replace(b"\0", b" ")
                lines.append("%s: %d %s" % (where, pid, argv.decode(
                    "utf-8", "replace").strip()))
        return "\n".join(lines)

    def wait_clear(self, timeout, interval=0.01):
        """Wait until leftovers() is empty; return how long it took
        (seconds) or fail naming what is left."""
        t0 = time.monotonic()
        try:
            wait_until(lambda: not self.leftovers(), timeout,
                       "nothing of the fleet left on any host",
                       interval)
        except AssertionError as e:
            raise AssertionError("%s; left:\n%s" % (
                e, self.describe(self.leftovers()))) from None
        return time.monotonic() - t0

    # -- actions

    def ssh(self, addr, command, timeout=SSH_DEADLINE):
        """Run command on host addr through ssh; return a Result."""
        return run(ssh_words(self.key) + [addr, command], self.workdir,
                   None, timeout)

    def kill_host(self, addr):
        """The host dies: its sshd (listener and connections), and every
        process in it, SIGKILLed by PID."""
        kill_namespace(addr)
        sshd = self.sshds.pop(addr, None)
        if sshd:
            sshd.stop()

    def close(self):
        """Stop every sshd and delete every host (what runs there killed
        by PID); return the hosts that could not be deleted."""
        for sshd in self.sshds.values():
            sshd.stop()
        self.sshds = {}
        stuck = [addr for addr in self.hosts
                 if not delete_host(addr, self.outers[addr])]
        self.hosts = []
        return stuck


# ------------------------------------------------------------- base class

class FanoutTest(unittest.TestCase):
    """A test with a temporary directory, port ranges, and every process
    and socket it starts (orchestrators, nodes run directly, tmux
    terminals, fakenodes and scripts through node commands) cleaned up by
    PID in tearDown."""

    # How long assert_nothing_left lets the grandchildren of a node
    # command (a wrapper's fakenode), killed with their process group
    # but reaped by someone else, take to go.
    STRAY_GRACE = 1.0

    @classmethod
    def setUpClass(cls):
        for path in (ORCH, NODE):
            if not os.access(path, os.X_OK):
                raise unittest.SkipTest("%s not built (FANOUT_BUILD=%s)"
                                        % (path, BUILD))

    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="fanout-it-")
        # Each test's fleets keep their control sockets and logs in its
        # own directory (mode 0700): the default name is everyone's.
        os.environ["XDG_RUNTIME_DIR"] = self.dir
        os.environ["XDG_STATE_HOME"] = os.path.join(self.dir, "state")
        self.ranges = []
        self.orchs = []
        self.direct_nodes = []
        self.socks = []
        self.terminals = []

    def tearDown(self):
        # tmux servers first (they hold orchestrators), then what the
        # test runs directly, then leftover nodes and strays by PID.
        for t in self.terminals:
            t.destroy()
        for s in self.socks:
            s.close()
        for n in self.direct_nodes:
            n.close()
        for o in self.orchs:
            o.kill()
        for lo, hi in self.ranges:
            kill_pids(node_processes(lo, hi, self.dir))
        try:
            wait_until(lambda: not any(node_processes(lo, hi, self.dir)
                                       for lo, hi in self.ranges),
                       5, "leftover nodes to die")
        except AssertionError:
            pass
        kill_pids(self.strays())
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

    def config(self, base, n, extra="", name="fanout.ini"):
        """Write a config file: [cluster] num_clients n from base, then
        extra."""
        return self.write(name, "[cluster]\nnum_clients = %d\n"
                          "base_port = %d\n%s" % (n, base, extra))

    def one_fake_command(self, bad, mode):
        """A node command: the real node, but fakenode in mode for node
        index bad."""
        script = self.write("one-fake-%s.sh" % mode, ONE_FAKE_SCRIPT.format(
            bad=bad, fake=FAKENODE, mode=mode, node=NODE), 0o755)
        return "%s {port} {index}" % script

    def track(self, sock):
        """Close sock in tearDown."""
        self.socks.append(sock)
        return sock

    # -- running

    def start(self, args, **kw):
        o = Orch(args, self.dir, **kw)
        self.orchs.append(o)
        return o

    def run_orch(self, args, input_text="", timeout=RUN_TIMEOUT):
        return run([ORCH] + list(args), self.dir, input_text, timeout)

    def start_fleet(self, base, n, extra=""):
        """An orchestrator (--json) of the n nodes of config(base, n,
        extra), once all n are ready."""
        o = self.start(["-c", self.config(base, n, extra), "--json"])
        self.assertEqual(o.wait_event("ready")["nodes"], n, o.err)
        return o

    def send_acked(self, o, text, seq, n, timeout=READY_DEADLINE):
        """Send text to o, wait for the report of broadcast #seq and check
        that all n nodes acked it; return the report."""
        o.send(text)
        ev = o.wait_broadcast(seq, timeout)
        self.assertEqual((ev["acked"], ev["expected"]), (n, n), ev)
        return ev

    def run_lines(self, base, n, lines, timeout=RUN_TIMEOUT):
        """Run n nodes from base with --json over lines, one broadcast
        each; check that the run exits 0, opens with the ready event of n
        nodes and reports every line fully acked, in order. Return
        (result, events)."""
        r = self.run_orch(["-n", str(n), "-p", str(base), "--json"],
                          "".join(l + "\n" for l in lines), timeout)
        self.assertEqual(r.rc, 0, r)
        evs = r.events()            # stdout is only JSON event lines
        self.assertEqual(evs[0]["event"], "ready", r)
        self.assertEqual(evs[0]["nodes"], n, r)
        self.assert_broadcasts(evs, [len(l.encode()) for l in lines], n)
        return r, evs

    def start_in_terminal(self, args):
        """Start an orchestrator whose stdin is a new pseudo-terminal that
        is its controlling terminal, with its process group in the
        foreground (stdout and stderr stay pipes). Return (orch, master).
        """
        master, slave = os.openpty()
        try:
            o = self.start(args, stdin=slave, own_terminal=True)
        finally:
            os.close(slave)
        # Drain what the terminal echoes, so the orchestrator never blocks.
        stop = threading.Event()

        def drain():
            while not stop.is_set():
                r, _, _ = select.select([master], [], [], 0.05)
                if r:
                    try:
                        data = os.read(master, 4096)
                    except OSError:
                        return
                    if not data:
                        return
        t = threading.Thread(target=drain, daemon=True)
        t.start()

        def close():
            stop.set()
            t.join(2)
            os.close(master)
        self.addCleanup(close)

        def foreground():
            try:
                return os.tcgetpgrp(master)
            except OSError:
                return None
        wait_until(lambda: foreground() == o.pid, 2,
                   "the orchestrator to own the terminal")
        return o, master

    def node(self, index=0):
        """build/node run directly on a port of its own."""
        n = NodeProc(self.ports(1), index)
        self.direct_nodes.append(n)
        return n

    def terminal(self, n=3, state_dir=None):
        """An orchestrator of n nodes in a tmux terminal, at its prompt."""
        base = self.ports(n)
        if state_dir is None:
            state_dir = os.path.join(self.dir, "state")
        os.makedirs(state_dir, exist_ok=True)
        t = Terminal(self, base, state_dir, n)
        t.wait_prompt()
        return t

    # -- processes

    def ports_by_pid(self, base, n):
        return node_processes(base, base + n - 1)

    def node_pid(self, base, index, n):
        """The pid of the real node on port base+index (waits for it)."""
        port = base + index
        return wait_until(
            lambda: next((pid for pid, p in node_processes(
                base, base + n - 1).items() if p == port), None),
            READY_DEADLINE, "a node on port %d" % port)

    def stop_node(self, base, index, n):
        """SIGSTOP the real node on port base+index and wait until it is
        stopped; return its pid."""
        pid = self.node_pid(base, index, n)
        stop_process(pid)
        return pid

    def strays(self):
        """{pid: argv} of live fakenodes on this test's ports and of
        processes running a script of this test's directory (the
        orchestrators themselves excepted)."""
        orchs = {o.pid for o in self.orchs}
        found = {}
        for pid, argv in process_argvs().items():
            if pid in orchs or pid == os.getpid():
                continue
            if FAKENODE in argv:
                if any(port_in(argv, lo, hi) is not None
                       for lo, hi in self.ranges):
                    found[pid] = argv
            elif any(a.startswith(self.dir + os.sep) for a in argv[:2]):
                found[pid] = argv
        return found

    # -- assertions

    def assert_clean(self, base, n, allow_listen=()):
        """No node process for ports base..base+n-1 and no LISTEN socket
        there (ports in allow_listen excepted)."""
        lo, hi = base, base + n - 1
        nodes = node_processes(lo, hi, self.dir)
        self.assertEqual(nodes, {}, "node processes left behind "
                         "(pid: port)")
        listening = sorted(p for p in listening_ports()
                           if lo <= p <= hi and p not in allow_listen)
        self.assertEqual(listening, [], "ports left listening")

    def assert_nothing_left(self, base, n, allow_listen=()):
        """assert_clean, and no stray: no fakenode on the test's ports, no
        process running a script of its directory."""
        try:
            wait_until(lambda: not self.strays(), self.STRAY_GRACE,
                       "strays to exit")
        except AssertionError:
            pass
        self.assertEqual(self.strays(), {}, "processes left behind")
        self.assert_clean(base, n, allow_listen)

    def assert_terminal_closed(self, t):
        """Nothing left of terminal t's run: no node, no listening port,
        no orchestrator."""
        self.assert_clean(t.base, t.n)
        if t.orch_pid:
            self.assertFalse(alive(t.orch_pid), "orchestrator still running")

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
