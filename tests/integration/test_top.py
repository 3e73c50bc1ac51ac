"""`rtprof top` against a private rtprofd: a spinner that owns a CPU shows ~100% CPU, an idle sleeper ~0%, two
spinners sharing one CPU wait ~half the time in the run queue and sort first by RUNQ%; a thread making 10 getppid()
per 10 ms gives its session ~1000 syscalls/s with getppid on top; --batch frames carry no escapes; under tmux, q and
Ctrl-C end it within 2 s with the terminal as it was. A session that samples Python stacks lists its top functions
on CPU (stacks_split.py: busy_a first), also on a screen too small for them all, where the thread table stays."""

import os
import re
import shutil
import signal
import socket
import struct
import json
import itertools
import subprocess
import tempfile
import time
import unittest

import rtp

SPIN_S = 60          # workloads outlive every test; killed at the end
DELAY = "0.5"
FRAMES = 3
TICKER = """
import os, sys, time
end = time.monotonic() + float(sys.argv[1])
while time.monotonic() < end:
    for _ in range(10):
        os.getppid()
    time.sleep(0.01)
"""
# its name holds an escape sequence: top must print it as "idle?[2J", not clear the screen
SLEEPER = "import sys, time; open('/proc/self/comm', 'w').write('idle\\x1b[2J'); time.sleep(float(sys.argv[1]))"
ROW = re.compile(r"^\s*(\d+)\s+(\d+)\s+(\d+)\s+(\S)\s+([\d.]+)\s+([\d.]+)\s+(\S+)\s+(\S+)\s+(\S+)\s(.*)$")
FUNC = re.compile(r"^    \s*([\d.]+)%\s+([\d.]+)%  (.*?)\s*$")  # self, total, "function  file:line"
STACKS_HZ = 499  # the rate of test_stacks.py: 2 ms of CPU a sample
STACKS_WARMUP_S = 1.5  # seconds of the workload's CPU before top looks


ENV = None  # one daemon and set of workloads for the module's tests, made by the first test that needs it


def setUpModule():
    rtp.check_rtprof()


def tearDownModule():
    global ENV
    if ENV:
        ENV.stop()
        ENV = None


def shared_env(test):
    """The module's Env, started on first use; the tests that need it need root and two CPUs."""
    global ENV
    rtp.require_root(test)
    if len(os.sched_getaffinity(0)) < 2:
        test.skipTest("needs 2 CPUs: one for the spinner alone, one for the two that share it")
    if not ENV:
        env = Env()
        try:
            env.start()
        except BaseException:
            env.stop()
            raise
        ENV = env
    return ENV


def rtprofd_path():
    path = rtp.rtprofd_path()
    if not (os.path.isfile(path) and os.access(path, os.X_OK)):
        raise RuntimeError("rtprofd binary %r does not exist (set RTPROFD=PATH)" % path)
    return path


def rate(text):
    """'123.4' / '12345' / '1.23M' as printed by rtprof top"""
    return float(text[:-1]) * 1e6 if text.endswith("M") else float(text)


def parse_func(m):
    name, where = m.group(3), None
    loc = re.match(r"^(.*?)\s+(\S+):(\d+)$", name)
    if loc:
        name, where = loc.group(1), (loc.group(2), int(loc.group(3)))
    return {"self": float(m.group(1)), "total": float(m.group(2)), "name": name, "where": where}


def parse_frames(text):
    """rtprof top's batch output: frames starting with 'rtprof top - ', each a summary line, two lines per session
    (three for a python or node target: its runtime metrics) and, for a session that samples stacks, its top
    functions on CPU (a title, a column header, a row per function), a column header and one row per thread."""
    frames = []
    last_session = None
    for line in text.splitlines():
        if line.startswith("rtprof top - "):
            frames.append({"summary": line, "sessions": {}, "funcs": {}, "rows": [], "header": None})
            continue
        if not frames or not line.strip():
            continue
        f = frames[-1]
        m = re.match(r"^session (\d+): ", line)
        if m:
            f["sessions"][int(m.group(1))] = line
            last_session = int(m.group(1))
        elif line.startswith("  syscalls/s ") or line.startswith("  GIL ") or line.startswith("  event loop "):
            f["sessions"][last_session] += "\n" + line
        elif line.startswith("  Top functions on CPU"):
            f["funcs"][last_session] = {"title": line.strip(), "header": None, "rows": []}
        elif line.split() == ["self", "total", "function", "file:line"]:
            f["funcs"][last_session]["header"] = line
        elif FUNC.match(line):
            f["funcs"][last_session]["rows"].append(parse_func(FUNC.match(line)))
        elif line.split()[0] == "SESSION":
            f["header"] = line.split()
        else:
            m = ROW.match(line)
            if not m:
                raise AssertionError("not a row of rtprof top: %r" % line)
            f["rows"].append({"session": int(m.group(1)), "pid": int(m.group(2)), "tid": int(m.group(3)),
                              "state": m.group(4), "cpu": float(m.group(5)), "runq": float(m.group(6)),
                              "sw": rate(m.group(7)), "vol": rate(m.group(8)), "inv": rate(m.group(9)),
                              "name": m.group(10)})
    return frames


class Client:
    """A raw client of rtprofd's socket (4-byte big-endian length, then one JSON object); its sessions end with it."""

    def __init__(self, path):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(30)
        self.sock.connect(path)
        self.call({"type": "hello", "version": 1})

    def _recv(self, n):
        data = b""
        while len(data) < n:
            chunk = self.sock.recv(n - len(data))
            if not chunk:
                raise AssertionError("rtprofd closed the connection")
            data += chunk
        return data

    def call(self, msg):
        body = json.dumps(msg).encode()
        self.sock.sendall(struct.pack(">I", len(body)) + body)
        reply = json.loads(self._recv(struct.unpack(">I", self._recv(4))[0]))
        if reply.get("type") == "error":
            raise AssertionError("rtprofd refused %s: %s" % (msg, reply))
        return reply

    def attach(self, pids, sample_hz=0):
        msg = {"type": "attach", "pids": pids}
        if sample_hz:
            msg["sample_hz"] = sample_hz  # Python stacks at that rate (rtprof attach --stacks)
        return self.call(msg)["session"]

    def close(self):
        self.sock.close()


class Env:
    """A private rtprofd with two sessions: session A holds the CPU-owning spinner, two spinners sharing one CPU and
    an idle sleeper; session B a getppid ticker."""

    def __init__(self):
        self.procs = []
        self.clients = []
        self.daemon = None
        self.tmp = tempfile.mkdtemp(prefix="rtprof-top-")
        self.sock = os.path.join(self.tmp, "rtprofd.sock")
        self.daemon_log = os.path.join(self.tmp, "rtprofd.log")

    def start(self):
        cpus = sorted(os.sched_getaffinity(0))
        own_cpu, shared_cpu = cpus[-1], cpus[-2]
        with open(self.daemon_log, "w") as log:
            self.daemon = subprocess.Popen([rtprofd_path(), "--socket", self.sock], stdin=subprocess.DEVNULL,
                                           stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + rtp.DAEMON_STARTUP_S
        while not os.path.exists(self.sock):
            if self.daemon.poll() is not None or time.monotonic() > deadline:
                raise AssertionError("rtprofd did not listen on %s: %s\n%s" % (self.sock, rtp.where_is(self.daemon.pid),
                                                                              self.log()))
            time.sleep(0.05)
        py = rtp.python_exe()
        spin = [py, rtp.workload("spin.py"), str(SPIN_S)]

        def on_cpu(cpu, first=False):
            def pre():
                os.sched_setaffinity(0, {cpu})
                if first:
                    # nice -20 (of its autogroup too, which needs a session of its own): no other load on the
                    # machine takes this spinner's CPU, so its ~100% is known in advance
                    os.setsid()
                    os.setpriority(os.PRIO_PROCESS, 0, -20)
            return pre
        self.spinner = self.spawn(spin, on_cpu(own_cpu, True))
        try:
            with open("/proc/%d/autogroup" % self.spinner.pid, "w") as f:
                f.write("-20")
        except OSError:
            pass  # a kernel without CONFIG_SCHED_AUTOGROUP: the process's nice is enough
        self.shared = [self.spawn(spin, on_cpu(shared_cpu)), self.spawn(spin, on_cpu(shared_cpu))]
        self.sleeper = self.spawn([py, "-c", SLEEPER, str(SPIN_S)])
        self.ticker = self.spawn([py, "-c", TICKER, str(SPIN_S)])
        time.sleep(0.5)  # past the interpreters' start-up
        a, b = Client(self.sock), Client(self.sock)
        self.clients += [a, b]
        self.session_a = a.attach([self.spinner.pid] + [p.pid for p in self.shared] + [self.sleeper.pid])
        self.session_b = b.attach([self.ticker.pid])
        time.sleep(0.5)

    def spawn(self, argv, preexec=None):
        proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, preexec_fn=preexec)
        self.procs.append(proc)
        return proc

    def log(self):
        with open(self.daemon_log) as f:
            return f.read()[-2000:]

    def stop(self):
        for c in self.clients:
            c.close()
        for p in self.procs:
            if p.poll() is None:
                p.kill()
            p.wait()
        if self.daemon and self.daemon.poll() is None:
            self.daemon.send_signal(signal.SIGTERM)
            try:
                self.daemon.wait(10)
            except subprocess.TimeoutExpired:
                self.daemon.kill()
                self.daemon.wait()
        shutil.rmtree(self.tmp, True)


def top(env_or_sock, *args, timeout=60):
    sock = env_or_sock if isinstance(env_or_sock, str) else env_or_sock.sock
    return rtp.rtprof("top", *args, env=dict(os.environ, RTPROF_SOCKET=sock), timeout=timeout)


class TopErrors(unittest.TestCase):
    """No root needed: these end before anything is profiled."""

    def test_no_daemon(self):
        tmp = tempfile.mkdtemp(prefix="rtprof-top-")
        self.addCleanup(shutil.rmtree, tmp, True)
        path = os.path.join(tmp, "none.sock")
        res = top(path, "--batch", "-n", "1")
        self.assertEqual(res.returncode, 2, res.describe())
        self.assertIn("rtprof top needs rtprofd: no rtprofd at %s" % path, res.stderr, res.describe())
        self.assertEqual(res.stdout, "", res.describe())

    def test_bad_options(self):
        for args in (["--sort", "x"], ["-d", "0"], ["-d", "abc"], ["-n", "0"], ["extra"]):
            res = top("/nonexistent.sock", "--batch", *args)
            self.assertEqual(res.returncode, 2, res.describe())
            self.assertNotIn("needs rtprofd", res.stderr, "options are checked before connecting\n" + res.describe())


class Top(unittest.TestCase):
    def setUp(self):
        self.env = shared_env(self)

    def frames(self, *args):
        res = top(self.env, "--batch", "-n", str(FRAMES), "-d", DELAY, *args)
        self.assertEqual(res.returncode, 0, res.describe() + "\nrtprofd: " + self.env.log())
        self.assertNotIn("\x1b", res.stdout, "batch output has escape sequences")
        frames = parse_frames(res.stdout)
        self.assertEqual(len(frames), FRAMES, "-n %d: that many frames\n%s" % (FRAMES, res.stdout))
        return frames, res

    def row(self, frame, proc, res):
        rows = [r for r in frame["rows"] if r["tid"] == proc.pid]
        self.assertEqual(len(rows), 1, "one row for tid %d\n%s" % (proc.pid, res.stdout))
        return rows[0]

    def test_cpu_of_spinner_and_sleeper(self):
        frames, res = self.frames()
        last = frames[-1]
        self.assertEqual(last["header"], ["SESSION", "PID", "TID", "S", "CPU%", "RUNQ%", "SW/s", "VOL/s", "INV/s",
                                          "NAME"])
        # two sessions, three clients: the two attached ones and top itself
        self.assertRegex(last["summary"], r"sessions 2/2  clients 3  every 0\.5 s  sort CPU%")
        spinner = self.row(last, self.env.spinner, res)
        self.assertEqual((spinner["session"], spinner["pid"]), (self.env.session_a, self.env.spinner.pid))
        self.assertTrue(80 <= spinner["cpu"] <= 105, "spinner with a CPU of its own: CPU%% %.1f (RUNQ%% %.1f)\n%s"
                        % (spinner["cpu"], spinner["runq"], res.stdout))
        self.assertEqual(spinner["state"], "R", res.stdout)
        sleeper = self.row(last, self.env.sleeper, res)
        self.assertEqual(sleeper["name"], "idle?[2J", "control characters of a name are shown as '?'")
        self.assertLess(sleeper["cpu"], 5, res.stdout)
        self.assertLess(sleeper["runq"], 5, res.stdout)
        for p in self.env.shared:
            r = self.row(last, p, res)
            # always runnable: on the CPU or waiting for it, the two shares make up the interval
            self.assertTrue(90 <= r["cpu"] + r["runq"] <= 105, "spinner sharing a CPU: %s\n%s" % (r, res.stdout))
            self.assertGreater(r["runq"], 30, "two spinners on one CPU wait about half the time\n" + res.stdout)
        cpus = [r["cpu"] for r in last["rows"]]
        self.assertEqual(cpus, sorted(cpus, reverse=True), "sorted by CPU%\n" + res.stdout)
        self.assertEqual(last["rows"][0]["tid"], self.env.spinner.pid, res.stdout)

    def test_sort_keys(self):
        shared = {p.pid for p in self.env.shared}
        frames, res = self.frames("--sort", "r")
        last = frames[-1]
        self.assertIn("sort RUNQ%", last["summary"])
        runq = [r["runq"] for r in last["rows"]]
        self.assertEqual(runq, sorted(runq, reverse=True), "sorted by RUNQ%\n" + res.stdout)
        self.assertEqual({r["tid"] for r in last["rows"][:2]}, shared,
                         "the two spinners sharing a CPU wait most\n" + res.stdout)

        frames, res = self.frames("--sort", "tid")
        keys = [(r["session"], r["tid"]) for r in frames[-1]["rows"]]
        self.assertEqual(keys, sorted(keys), "sorted by session, tid\n" + res.stdout)
        self.assertEqual(len(keys), 5, "4 threads in session A, 1 in session B\n" + res.stdout)

        frames, res = self.frames("-s", "s")
        sw = [r["sw"] for r in frames[-1]["rows"]]
        self.assertEqual(sw, sorted(sw, reverse=True), "sorted by SW/s\n" + res.stdout)

    def test_session_lines(self):
        frames, res = self.frames()
        last = frames[-1]
        self.assertEqual(sorted(last["sessions"]), sorted([self.env.session_a, self.env.session_b]), res.stdout)
        a = last["sessions"][self.env.session_a]
        self.assertRegex(a, r": python3 \(pid %d \+3\)  python \d+\.\d+" % self.env.spinner.pid)
        self.assertIn("procs 4/4  threads 4", a)
        b = last["sessions"][self.env.session_b]
        m = re.search(r"\n  syscalls/s (\S+)  top (\S+) (\S+)/s  lost events (\d+)(\n|$)", b)
        self.assertTrue(m, "session line: %r" % b)
        # a python target: its third line, the GIL and the collector over the interval (one thread: no wait)
        self.assertRegex(b, r"\n  GIL wait 0\.0% of thread time  gc/s \d", b)
        total, top_name, top_rate = rate(m.group(1)), m.group(2), rate(m.group(3))
        self.assertEqual(top_name, "getppid", b)
        # 10 getppid per >= 10 ms sleep: at most 1000/s, less by the time each round takes
        self.assertTrue(500 <= top_rate <= 1050, "getppid/s of the ticker: %s" % b)
        # and per round one sleep syscall (clock_nanosleep or select), little else
        self.assertTrue(top_rate * 1.05 <= total <= top_rate * 1.3, "syscalls/s of the ticker: %s" % b)
        self.assertEqual(m.group(4), "0", b)
        ticker = self.row(last, self.env.ticker, res)
        self.assertGreater(ticker["vol"], 50, "a sleep every 10 ms is a voluntary switch\n" + res.stdout)

    def test_not_a_tty_means_batch(self):
        res = top(self.env, "-n", "2", "-d", DELAY)
        self.assertEqual(res.returncode, 0, res.describe())
        self.assertNotIn("\x1b", res.stdout)
        self.assertEqual(len(parse_frames(res.stdout)), 2, res.stdout)


class InTmux:
    """A real terminal for the interactive form: the pane of a tmux server of the test's own, running a shell."""

    PROMPT = "top-test$ "

    def require_tmux(self):
        if not shutil.which("tmux"):
            rtp.skip_or_fail(self, "tmux is not installed (Debian package tmux): without it the interactive "
                                   "terminal is not tested; CI needs tmux added to packaging/install-deps.sh --tests")

    def start_tmux(self, sock, cols, rows):
        """A pane of cols x rows with a shell at its prompt, whose rtprof talks to the rtprofd at sock."""
        self.tmp = tempfile.mkdtemp(prefix="rtprof-top-tmux-")
        self.addCleanup(shutil.rmtree, self.tmp, True)
        self.server = os.path.join(self.tmp, "tmux.sock")  # a tmux server of its own
        shell = "env -u TMUX PS1='%s' RTPROF_SOCKET=%s sh -i" % (self.PROMPT, sock)
        self.tmux("new-session", "-d", "-s", "top", "-x", str(cols), "-y", str(rows), shell)
        self.addCleanup(subprocess.call, ["tmux", "-S", self.server, "kill-server"], stderr=subprocess.DEVNULL)
        self.wait_screen(lambda s: self.PROMPT.strip() in s, 5, "the shell's prompt")

    def tmux(self, *args):
        return subprocess.run(["tmux", "-S", self.server, "-f", "/dev/null"] + list(args), check=True,
                              stdout=subprocess.PIPE, universal_newlines=True).stdout

    def screen(self):
        return self.tmux("capture-pane", "-p", "-t", "top")

    def pane(self, fmt):
        return self.tmux("display-message", "-p", "-t", "top", fmt).strip()

    def wait_screen(self, cond, timeout, what):
        deadline = time.monotonic() + timeout
        while True:
            s = self.screen()
            if cond(s):
                return s, time.monotonic()
            if time.monotonic() > deadline:
                self.fail("no %s on the screen within %.1f s:\n%s" % (what, timeout, s))
            time.sleep(0.05)


class TopInTmux(InTmux, unittest.TestCase):
    """The interactive form in a real terminal: tmux's pane."""

    def setUp(self):
        rtp.require_root(self)
        self.require_tmux()
        self.env = shared_env(self)
        self.start_tmux(self.env.sock, 120, 40)

    def run_and_quit(self, quit_keys):
        before, after = os.path.join(self.tmp, "before"), os.path.join(self.tmp, "after")
        self.tmux("send-keys", "-t", "top", "stty -g > %s; %s top -d 0.5; echo TOP-EXIT=$?; stty -g > %s"
                  % (before, rtp.RTPROF, after), "Enter")
        spinner_row = re.compile(r"^\s*%d\s+%d\s+%d\s+R" % (self.env.session_a, self.env.spinner.pid,
                                                           self.env.spinner.pid), re.M)
        s, _ = self.wait_screen(lambda s: spinner_row.search(s) and "sort CPU%" in s, 5, "frame with the spinner")
        self.assertEqual(self.pane("#{alternate_on}"), "1", "drawn on the alternate screen")
        self.assertEqual(self.pane("#{cursor_flag}"), "0", "cursor hidden while drawing")
        self.assertNotIn(self.PROMPT.strip(), s, "the frame replaces the shell's screen")

        self.tmux("send-keys", "-t", "top", "r")
        shared = {p.pid for p in self.env.shared}

        def resorted(s):
            rows = [ROW.match(l) for l in s.splitlines()]
            rows = [int(m.group(3)) for m in rows if m]
            return "sort RUNQ%" in s and set(rows[:2]) == shared
        self.wait_screen(resorted, 2, "re-sorted frame after 'r' (sharing spinners first)")

        self.tmux("send-keys", "-t", "top", *quit_keys)
        sent = time.monotonic()
        s, seen = self.wait_screen(lambda s: re.search(r"TOP-EXIT=\d+", s) and s.rstrip().endswith(self.PROMPT.strip()),
                                   2, "exit status and prompt after %s" % " ".join(quit_keys))
        self.assertLess(seen - sent, 2.0)
        self.assertEqual(re.search(r"TOP-EXIT=(\d+)", s).group(1), "0", s)
        self.assertEqual(self.pane("#{alternate_on}"), "0", "back from the alternate screen")
        self.assertEqual(self.pane("#{cursor_flag}"), "1", "cursor visible again")
        with open(before) as f1, open(after) as f2:
            self.assertEqual(f1.read(), f2.read(), "terminal modes (stty -g) restored")

    def test_q_quits(self):
        self.run_and_quit(["q"])

    def test_ctrl_c_quits(self):
        self.run_and_quit(["C-c"])


class TopFunctions(InTmux, unittest.TestCase):
    """A session that samples Python stacks, on a private rtprofd: stacks_split.py spends its CPU in busy_a, busy_b
    and busy_c (60/30/10), so top lists busy_a first, at its file and first line."""

    def setUp(self):
        rtp.require_root(self)
        tmp = tempfile.mkdtemp(prefix="rtprof-top-stacks-")
        self.addCleanup(shutil.rmtree, tmp, True)
        self.sock, self.daemon_log = rtp.start_rtprofd(self)
        self.workload = rtp.workload("stacks_split.py")
        self.proc = rtp.spawn(self, [rtp.python_exe(), self.workload, os.path.join(tmp, "truth.json"), str(SPIN_S)])
        time.sleep(0.5)  # the interpreter mapped: its stacks can be walked from the attach on
        client = Client(self.sock)
        self.addCleanup(client.close)  # the session ends with its client, before the workload and rtprofd
        self.session = client.attach([self.proc.pid], sample_hz=STACKS_HZ)
        # top's first frame covers the session since its attach: seconds of the workload's CPU, hundreds of
        # samples, where the 60/30/10 split shows for sure (a 0.5 s interval may have a few dozen only). Counted
        # in the thread's own CPU time, not wall time: on a loaded machine the workload may still be importing
        # after seconds in the run queue, and its first samples are the import's
        start = self.cpu_ns()
        deadline = time.monotonic() + 30
        while self.cpu_ns() - start < STACKS_WARMUP_S * 1e9:
            if time.monotonic() > deadline:
                self.fail("the workload ran %.2f s of CPU in 30 s" % ((self.cpu_ns() - start) / 1e9))
            time.sleep(0.1)
        with open(self.workload) as f:
            self.busy_a_line = [i for i, l in enumerate(f, 1) if l.startswith("def busy_a(")][0]

    def cpu_ns(self):
        """The workload's main thread's time on CPU, by the kernel's own accounting."""
        with open("/proc/%d/task/%d/schedstat" % (self.proc.pid, self.proc.pid)) as f:
            return int(f.read().split()[0])

    def test_batch_lists_busy_a_first(self):
        res = top(self.sock, "--batch", "-n", str(FRAMES), "-d", DELAY)
        self.assertEqual(res.returncode, 0, res.describe() + "\nrtprofd: " + self.daemon_log())
        frames = parse_frames(res.stdout)
        self.assertEqual(len(frames), FRAMES, res.stdout)
        for i, frame in enumerate(frames):
            funcs = frame["funcs"].get(self.session)
            self.assertTrue(funcs, "frame %d: no top functions for session %d\n%s" % (i, self.session, res.stdout))
            m = re.match(r"Top functions on CPU \((\d+) samples at (\d+) Hz\)$", funcs["title"])
            self.assertTrue(m, funcs["title"])
            samples = int(m.group(1))
            self.assertEqual(int(m.group(2)), STACKS_HZ, funcs["title"])
            self.assertTrue(funcs["header"], res.stdout)
            rows = funcs["rows"]
            self.assertTrue(1 <= len(rows) <= 5, "at most 5 functions a session\n" + res.stdout)
            selfs = [r["self"] for r in rows]
            self.assertEqual(selfs, sorted(selfs, reverse=True), "sorted by self\n" + res.stdout)
            # self: where it is the innermost function; total: anywhere in the stack, so never less
            for r in rows:
                self.assertGreaterEqual(r["total"], r["self"], res.stdout)
            main = [r for r in rows if r["name"] == "main"]
            if main:  # the caller of all three: ~all the samples in total, few of its own
                self.assertGreater(main[0]["total"], 90, res.stdout)
                self.assertLess(main[0]["self"], 10, res.stdout)
            busy_a = [r for r in rows if r["name"] == "busy_a"]
            self.assertTrue(busy_a, "frame %d lists busy_a\n%s" % (i, res.stdout))
            self.assertEqual(busy_a[0]["where"], (self.workload, self.busy_a_line), res.stdout)
            if i:
                # the later frames: the interval's samples only, at most STACKS_HZ a second of one thread
                self.assertLessEqual(samples, STACKS_HZ * float(DELAY) * 1.25, "frame %d\n%s" % (i, res.stdout))
            else:
                # since the attach: enough samples for busy_a's 60% to come first, whatever the load
                self.assertGreaterEqual(samples, 100, res.stdout)
                self.assertEqual(rows[0]["name"], "busy_a", res.stdout)
                self.assertTrue(45 <= rows[0]["self"] <= 75, "busy_a's self %% of a 60%% share\n%s" % res.stdout)
            # and the thread table goes on under the sessions
            self.assertEqual([r["tid"] for r in frame["rows"]], [self.proc.pid], res.stdout)

    def test_small_screen_keeps_the_threads(self):
        """A 12-row screen: the block lists the functions that fit over the thread table (3 or 4, as the session
        has 3 or 2 head lines); 60 columns: a long file name loses its beginning, not its line."""
        self.require_tmux()
        self.start_tmux(self.sock, 60, 12)
        # the first frame (since the attach: busy_a first) stays for the whole test
        self.tmux("send-keys", "-t", "top", "%s top -d 10" % rtp.RTPROF, "Enter")
        # its state R or W, as the machine's load goes
        thread = re.compile(r"^\s*%d\s+%d\s+%d\s+[RW]" % (self.session, self.proc.pid, self.proc.pid), re.M)
        s, _ = self.wait_screen(lambda s: thread.search(s) and "Top functions on CPU (" in s, 5,
                                "frame with the functions and the thread")
        lines = s.splitlines()
        head = [i for i, l in enumerate(lines) if l.startswith("session %d: " % self.session)][0]
        start = [i for i, l in enumerate(lines) if l.startswith("  Top functions on CPU (")][0]
        rows = [parse_func(m) for m in itertools.takewhile(bool, (FUNC.match(l) for l in lines[start + 2:]))]
        # summary, head lines, the block's title and header, blank, the table's header and the one thread
        self.assertEqual(len(rows), min(5, 12 - 1 - (start - head) - 2 - 3), "functions that fit\n" + s)
        self.assertEqual(rows[0]["name"], "busy_a", s)
        where = rows[0]["where"]
        self.assertTrue(where[0] == self.workload or (where[0].startswith("...") and
                                                      self.workload.endswith(where[0][3:])), s)
        self.assertEqual(where[1], self.busy_a_line, s)
        self.tmux("send-keys", "-t", "top", "q")
        self.wait_screen(lambda s: s.rstrip().endswith(self.PROMPT.strip()), 2, "prompt after q")


class ManySessions(InTmux, unittest.TestCase):
    """rtprofd watching 50 python processes, top on a 100x30 screen: a line a session, the selected one's
    threads in view, selection with j/k, exited sessions hidden until x, a filter by pid with /."""

    N = 50

    def setUp(self):
        rtp.require_root(self)
        self.require_tmux()
        self.sock, _ = rtp.start_rtprofd(self, "--watch", "python")
        self.procs = []
        for _ in range(self.N):
            p = subprocess.Popen([rtp.python_exe(), "-c", "import time; time.sleep(120)"])
            self.addCleanup(p.wait)
            self.addCleanup(p.kill)
            self.procs.append(p)
        # one of them exits: its session stays for the retention, hidden by default
        self.gone = subprocess.Popen([rtp.python_exe(), "-c", "import time; time.sleep(1.5)"])
        deadline = time.monotonic() + 30
        while True:
            res = rtp.rtprof("--socket", self.sock, "sessions", "--json")
            watched = {pid for s in json.loads(res.stdout or "[]") for pid in s["pids"]}
            if all(p.pid in watched for p in self.procs + [self.gone]):
                break
            if time.monotonic() > deadline:
                self.fail("not all %d processes watched within 30 s" % (self.N + 1))
            time.sleep(0.2)
        self.gone.wait(10)
        time.sleep(1.5)  # its session has seen the exit

    def selected(self, s):
        m = re.search(r"^> session (\d+): \S+ \(pid (\d+)", s, re.M)
        self.assertTrue(m, "a selected session\n" + s)
        return int(m.group(1)), int(m.group(2))

    def thread_pids(self, s):
        table = s.split(" SESSION ")[-1] if " SESSION " in s else s.split("SESSION ")[-1]
        # its state: R, W, S, D, X, or - for a thread not seen in the interval
        return {int(m.group(2)) for m in re.finditer(r"^\s*(\d+)\s+(\d+)\s+(\d+)\s+[RWSDX-] ", table, re.M)}

    def test_list_select_filter(self):
        self.start_tmux(self.sock, 100, 30)
        self.tmux("send-keys", "-t", "top", "%s top -d 0.5" % rtp.RTPROF, "Enter")
        s, _ = self.wait_screen(lambda s: "sessions listed" in s and "> session " in s, 10, "the list")
        # (rtprofd watches every python process: this test's own too, and any other on the machine, some of which
        # may have exited: the sessions whose processes are all gone are hidden, as rtprofd's list says)
        def consistent(s):
            m = re.search(r"(\d+) of (\d+) sessions listed", s)
            if not m:
                return False
            sessions = json.loads(rtp.rtprof("--socket", self.sock, "sessions", "--json").stdout or "[]")
            gone = sum(1 for x in sessions if x.get("live_processes") == 0)
            return (int(m.group(1)), int(m.group(2))) == (len(sessions) - gone, len(sessions))
        s, _ = self.wait_screen(consistent, 10, "the list, as many sessions hidden as have exited")
        m = re.search(r"(\d+) of (\d+) sessions listed", s)
        listed, total = int(m.group(1)), int(m.group(2))
        self.assertGreaterEqual(total, self.N + 1)
        self.assertLess(listed, total, "the exited one hidden\n" + s)
        self.assertNotIn("(pid %d" % self.gone.pid, s)
        lines = s.rstrip("\n").split("\n")
        self.assertLessEqual(len(lines), 30)
        # the selected session's threads: its one thread, in view
        sess, pid = self.selected(s)
        self.assertEqual(self.thread_pids(s), {pid}, s)
        # j selects the next one, whose thread is then the table's
        self.tmux("send-keys", "-t", "top", "j")
        s, _ = self.wait_screen(lambda s: self.selected(s)[0] != sess, 5, "another selected session")
        sess2, pid2 = self.selected(s)
        self.assertEqual(self.thread_pids(s), {pid2}, s)
        # x lists the exited session too
        self.tmux("send-keys", "-t", "top", "x")
        s, _ = self.wait_screen(lambda s: "%d of %d sessions listed" % (total, total) in s, 5, "all listed")
        # / filters by a pid
        target = self.procs[-1].pid
        self.tmux("send-keys", "-t", "top", "/", "(pid %d" % target, "Enter")
        # (not "51 of 52": the list while the filter is typed)
        one = re.compile(r"(?<!\d)1 of %d sessions listed" % total)
        s, _ = self.wait_screen(lambda s: one.search(s) is not None, 5, "one listed")
        self.assertEqual(self.selected(s)[1], target, s)
        self.assertEqual(self.thread_pids(s), {target}, s)
        self.tmux("send-keys", "-t", "top", "q")
        self.wait_screen(lambda s: s.rstrip().endswith(self.PROMPT.strip()), 3, "prompt after q")

if __name__ == "__main__":
    rtp.main()
