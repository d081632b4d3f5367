#!/usr/bin/env python3
"""The bash completion of `orchestrator` (completion/orchestrator), run by
a real bash with bash-completion loaded: subcommands, the options of the
run mode and of each subcommand, what follows an option (files,
directories, handlers), and the names of running fleets, read from the
sockets in the fleet directory ($XDG_RUNTIME_DIR/fanout, else
/tmp/fanout-UID) without running anything or connecting to them.

Most tests call _orchestrator directly in `bash -c`, with COMP_WORDS,
COMP_CWORD, COMP_LINE and COMP_POINT set as readline would, and read
COMPREPLY. Two start an interactive `bash -i` on a pseudo-terminal, whose
~/.bashrc sources bash_completion, and press TAB: the completion must be
found by bash-completion's on-demand loading, from the user's
completions directory (the repository's file) or from the installed
/usr/share/bash-completion/completions/orchestrator (skipped when not
installed; the package's test covers it).

Skips without bash or bash-completion. Needs no build.
Run: python3 tests/completion.py -v
"""
import errno
import os
import pty
import re
import select
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import unittest

TESTS = os.path.dirname(os.path.realpath(__file__))
COMPLETION = os.path.join(os.path.dirname(TESTS), "completion", "orchestrator")
BASH = shutil.which("bash")
BASH_COMPLETION = "/usr/share/bash-completion/bash_completion"
INSTALLED = "/usr/share/bash-completion/completions/orchestrator"

TIMEOUT = 10.0          # any one bash run, and waiting at the terminal

RUN_OPTIONS = ["-c", "--config", "-n", "--nodes", "-p", "--port",
               "--handler", "--json", "--lines", "--log-dir", "--no-watch",
               "--detach", "--service", "--name", "-q", "--quiet", "-h",
               "--help", "-V", "--version"]
SUBCOMMANDS = ["attach", "list", "send", "status", "stop"]

# Call _orchestrator as readline would: $1 the completion file, $2
# COMP_CWORD, $3 COMP_LINE, the rest COMP_WORDS. One candidate a line.
DRIVER = r'''
. /usr/share/bash-completion/bash_completion || exit 90
. "$1" || exit 91
COMP_CWORD=$2
COMP_LINE=$3
COMP_POINT=${#COMP_LINE}
shift 3
COMP_WORDS=("$@")
COMPREPLY=()
_orchestrator "${COMP_WORDS[0]}" "${COMP_WORDS[COMP_CWORD]}" \
    "${COMP_WORDS[COMP_CWORD-1]}"
printf 'rc=%d\n' "$?"
printf '%s\n' "${COMPREPLY[@]}"
'''


def comp_words(line):
    """COMP_WORDS and COMP_CWORD of line, the cursor at its end, as bash
    splits it (blanks, and '=' of COMP_WORDBREAKS as a word of its
    own)."""
    words = []
    for tok in line.split():
        words += [w for w in re.split(r"(=)", tok) if w]
    if line[-1:].isspace() or not words:
        words.append("")
    return words, len(words) - 1


def listening(path):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.bind(path)
    s.listen(4)
    s.setblocking(False)
    return s


class CompletionTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        if not BASH:
            raise unittest.SkipTest("bash is not installed")
        if not os.path.isfile(BASH_COMPLETION):
            raise unittest.SkipTest("bash-completion is not installed (no %s)"
                                    % BASH_COMPLETION)

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="fanout-completion-")
        os.chmod(self.tmp, 0o700)
        self.home = os.path.join(self.tmp, "home")
        self.cwd = os.path.join(self.tmp, "cwd")
        self.run_dir = os.path.join(self.tmp, "run")
        self.fleets = os.path.join(self.run_dir, "fanout")
        for d in (self.home, self.cwd, self.run_dir):
            os.mkdir(d, 0o700)
        os.mkdir(self.fleets, 0o700)
        self.socks = []
        # An `orchestrator` on PATH that tells if it is ever run.
        self.bin = os.path.join(self.tmp, "bin")
        os.mkdir(self.bin)
        self.ran = os.path.join(self.tmp, "orchestrator-ran")
        with open(os.path.join(self.bin, "orchestrator"), "w") as f:
            f.write("#!/bin/sh\ntouch '%s'\n" % self.ran)
        os.chmod(os.path.join(self.bin, "orchestrator"), 0o755)
        self.env = {"PATH": self.bin + ":" + os.environ.get("PATH",
                                                           "/usr/bin:/bin"),
                    "HOME": self.home, "LC_ALL": "C",
                    "XDG_RUNTIME_DIR": self.run_dir}

    def tearDown(self):
        for s in self.socks:
            s.close()
        shutil.rmtree(self.tmp, ignore_errors=True)
        self.assertFalse(os.path.exists(self.ran),
                         "completing ran the orchestrator")

    # -- helpers

    def fleet(self, name, directory=None):
        """A fleet's socket, listening, closed in tearDown."""
        s = listening(os.path.join(directory or self.fleets, name + ".sock"))
        self.socks.append(s)
        return s

    def complete(self, line, env=None):
        """The candidates (sorted) of _orchestrator for line, cursor at
        its end."""
        words, cword = comp_words(line)
        r = subprocess.run([BASH, "--norc", "--noprofile", "-c", DRIVER,
                            "bash", COMPLETION, str(cword), line] + words,
                           cwd=self.cwd, env=env or self.env,
                           stdin=subprocess.DEVNULL, capture_output=True,
                           text=True, timeout=TIMEOUT)
        self.assertEqual(r.returncode, 0, r)
        self.assertEqual(r.stderr, "", r)
        out = r.stdout.split("\n")
        self.assertRegex(out[0], r"^rc=\d+$", r)
        return sorted(w for w in out[1:] if w)

    def assert_complete(self, line, expected, env=None):
        self.assertEqual(self.complete(line, env), sorted(expected),
                         "completing %r" % line)

    # -- the run mode

    def test_subcommands_first(self):
        self.assert_complete("orchestrator ", SUBCOMMANDS)
        self.assert_complete("orchestrator st", ["status", "stop"])
        self.assert_complete("orchestrator a", ["attach"])
        self.assert_complete("orchestrator x", [])

    def test_run_options(self):
        self.assert_complete("orchestrator -", RUN_OPTIONS)
        got = self.complete("orchestrator --")
        for o in ("--handler", "--detach", "--service", "--json",
                  "--lines", "--log-dir", "--no-watch", "--name"):
            self.assertIn(o, got)
        self.assertNotIn("-c", got)
        self.assert_complete("orchestrator --se", ["--service"])
        self.assert_complete("orchestrator --de", ["--detach"])
        # The run mode takes no argument: after an option, options only
        # (a subcommand must come first).
        self.assert_complete("orchestrator --json ",
                             [o for o in RUN_OPTIONS if o != "--lines"])
        self.assert_complete("orchestrator --json st", [])
        # Options that exclude each other are not offered together.
        self.assert_complete("orchestrator --detach --se", [])
        self.assert_complete("orchestrator --service --de", [])
        self.assert_complete("orchestrator --lines --js", [])

    def test_handler(self):
        self.assert_complete("orchestrator --handler ",
                             ["ack", "exec", "pipe", "shell"])
        self.assert_complete("orchestrator --handler s", ["shell"])
        self.assert_complete("orchestrator --json --handler=p", ["pipe"])

    def test_config_files(self):
        for f in ("a.ini", "b.txt", "notes.ini"):
            open(os.path.join(self.cwd, f), "w").close()
        os.mkdir(os.path.join(self.cwd, "conf.d"))
        # *.ini and directories; any file when none fits.
        self.assert_complete("orchestrator -c ", ["a.ini", "conf.d",
                                                  "notes.ini"])
        self.assert_complete("orchestrator --config a", ["a.ini"])
        self.assert_complete("orchestrator --config=n", ["notes.ini"])
        self.assert_complete("orchestrator -q -c b", ["b.txt"])

    def test_log_dir(self):
        open(os.path.join(self.cwd, "a.ini"), "w").close()
        os.mkdir(os.path.join(self.cwd, "logs"))
        os.mkdir(os.path.join(self.cwd, "old"))
        self.assert_complete("orchestrator --log-dir ", ["logs", "old"])
        self.assert_complete("orchestrator --log-dir l", ["logs"])

    def test_values_not_completed(self):
        self.fleet("web")
        open(os.path.join(self.cwd, "a.ini"), "w").close()
        for line in ("orchestrator -n ", "orchestrator --nodes ",
                     "orchestrator -p ", "orchestrator --port ",
                     "orchestrator --name ", "orchestrator --name=",
                     "orchestrator -c a.ini --name w"):
            self.assert_complete(line, [])

    # -- subcommands

    def test_subcommand_options(self):
        self.assert_complete("orchestrator attach -",
                             ["--help", "--json", "--name", "-h"])
        self.assert_complete("orchestrator send --j", ["--json"])
        self.assert_complete("orchestrator status -",
                             ["--help", "--name", "-h"])
        self.assert_complete("orchestrator stop --", ["--help", "--name"])
        self.assert_complete("orchestrator list ", [])
        self.assert_complete("orchestrator list -", [])

    def test_fleet_names(self):
        web = self.fleet("web")
        db = self.fleet("db")
        self.assert_complete("orchestrator attach ", ["db", "web"])
        self.assert_complete("orchestrator stop w", ["web"])
        self.assert_complete("orchestrator status ", ["db", "web"])
        self.assert_complete("orchestrator attach --json d", ["db"])
        self.assert_complete("orchestrator status --name ", ["db", "web"])
        self.assert_complete("orchestrator stop --name=w", ["web"])
        # One fleet: none after it, nor after --name.
        self.assert_complete("orchestrator attach web ", [])
        self.assert_complete("orchestrator stop --name web ", [])
        # send: the first argument may name the fleet; the rest are lines.
        self.assert_complete("orchestrator send ", ["db", "web"])
        self.assert_complete("orchestrator send --json w", ["web"])
        self.assert_complete("orchestrator send web ", [])
        self.assert_complete("orchestrator send web -", [])
        self.assert_complete("orchestrator send --name web ", [])
        self.assert_complete("orchestrator send -- ", ["db", "web"])
        self.assert_complete("orchestrator list ", [])
        # No one connected to the fleets.
        for s in (web, db):
            with self.assertRaises(BlockingIOError):
                s.accept()

    def test_what_is_not_a_fleet(self):
        self.fleet("web")
        # A dead fleet's socket is listed (as `orchestrator list` does).
        stale = listening(os.path.join(self.fleets, "old.sock"))
        stale.close()
        # Not a socket; not a fleet's name; not NAME.sock.
        open(os.path.join(self.fleets, "file.sock"), "w").close()
        os.mkdir(os.path.join(self.fleets, "dir.sock"))
        self.fleet(".hidden")
        self.fleet("-dash")
        self.fleet("a b")
        self.socks.append(listening(os.path.join(self.fleets, "web.socket")))
        self.assert_complete("orchestrator attach ", ["old", "web"])

    def test_no_fleet_directory(self):
        shutil.rmtree(self.fleets)
        self.assert_complete("orchestrator attach ", [])
        env = dict(self.env, XDG_RUNTIME_DIR=os.path.join(self.tmp, "none"))
        self.assert_complete("orchestrator stop ", [], env)

    @unittest.skipUnless(os.geteuid() == 0, "needs root to give a "
                         "directory to another user")
    def test_directory_not_ours(self):
        self.fleet("web")
        os.chown(self.fleets, 65534, 65534)
        self.assert_complete("orchestrator attach ", [])

    def test_tmp_fallback(self):
        """Without an absolute XDG_RUNTIME_DIR: /tmp/fanout-UID. A socket
        of a name of its own is added there and removed."""
        d = "/tmp/fanout-%d" % os.getuid()
        made = False
        try:
            os.mkdir(d, 0o700)
            made = True
        except FileExistsError:
            st = os.lstat(d)
            if not os.path.isdir(d) or os.path.islink(d) or \
                    st.st_uid != os.getuid() or st.st_mode & 0o077:
                self.skipTest("%s is not a directory of ours (0700)" % d)
        name = "completion-test-%d" % os.getpid()
        path = os.path.join(d, name + ".sock")
        try:
            s = self.fleet(name, d)
            env = dict(self.env)
            del env["XDG_RUNTIME_DIR"]
            self.assertIn(name, self.complete("orchestrator attach ", env))
            self.assert_complete("orchestrator stop " + name[:-1], [name],
                                 env)
            # A relative XDG_RUNTIME_DIR is not used either (fleetdir.c).
            env["XDG_RUNTIME_DIR"] = "run"
            self.assertIn(name, self.complete("orchestrator status ", env))
            s.close()
        finally:
            try:
                os.unlink(path)
            except FileNotFoundError:
                pass
            if made:
                try:
                    os.rmdir(d)
                except OSError as e:
                    if e.errno != errno.ENOTEMPTY:
                        raise

    # -- on-demand loading in an interactive bash

    def interactive(self, env):
        """Start `bash -i` on a pseudo-terminal with ~/.bashrc sourcing
        bash_completion, type `orchestrator st` and TAB, then ask for
        `complete -p orchestrator`; return what the terminal showed."""
        with open(os.path.join(self.home, ".bashrc"), "w") as f:
            f.write(". %s\n"
                    "bind 'set show-all-if-ambiguous on'\n"
                    "bind 'set bell-style none'\n"
                    "PS1='READY$ '\n" % BASH_COMPLETION)
        env = dict(env, TERM="dumb")
        master, slave = pty.openpty()
        p = subprocess.Popen([BASH, "-i"], stdin=slave, stdout=slave,
                             stderr=slave, cwd=self.cwd, env=env,
                             start_new_session=True)
        os.close(slave)
        out = b""
        deadline = time.monotonic() + TIMEOUT

        def read_until(pattern):
            nonlocal out
            while not re.search(pattern, out):
                left = deadline - time.monotonic()
                self.assertGreater(left, 0, "waiting for %r; the terminal "
                                   "showed %r" % (pattern, out))
                r, _, _ = select.select([master], [], [], left)
                if r:
                    try:
                        data = os.read(master, 4096)
                    except OSError:
                        data = b""
                    self.assertTrue(data, "bash ended: %r" % out)
                    out += data

        try:
            read_until(rb"READY\$ ")
            os.write(master, b"orchestrator st\t")
            read_until(rb"status\s+stop")
            os.write(master, b"\x15complete -p orchestrator\n")
            read_until(rb"complete -F _orchestrator orchestrator")
            os.write(master, b"exit\n")
            p.wait(timeout=TIMEOUT)
        finally:
            if p.poll() is None:
                os.killpg(p.pid, signal.SIGKILL)
                p.wait(timeout=TIMEOUT)
            os.close(master)
        return out.decode(errors="replace")

    def test_loaded_on_demand_from_user_dir(self):
        """The repository's file in ~/.local/share/bash-completion/
        completions, found when `orchestrator` is first completed."""
        d = os.path.join(self.home, ".local", "share", "bash-completion",
                         "completions")
        os.makedirs(d)
        shutil.copy(COMPLETION, os.path.join(d, "orchestrator"))
        self.interactive(self.env)

    @unittest.skipUnless(os.path.isfile(INSTALLED),
                         "%s not installed (the package's test covers it)"
                         % INSTALLED)
    def test_loaded_on_demand_installed(self):
        self.interactive(self.env)


if __name__ == "__main__":
    unittest.main()
