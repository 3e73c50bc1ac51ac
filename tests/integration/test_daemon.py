"""rtprofd, the daemon, against real workloads and real clients.

Each test class runs its own rtprofd on a socket in a temporary directory (group: nobody's, mode 0660, so that
the unprivileged tests can connect) and stops it in tearDownClass, where a daemon that does not exit 0 on
SIGTERM -- a crash, or a leak reported by LeakSanitizer in the sanitizer build -- is an error of the class.

- Counts through the daemon are exact, and the same as the embedded engine's (`attach --local`).
- Per-thread scheduling figures through the daemon agree with the kernel's own schedstat.
- A session made by a raw protocol client is listed, queried and ended by the CLI.
- As user nobody: one's own (dumpable) processes can be profiled through the daemon, root's cannot, and root's
  sessions cannot be seen, queried or ended.
- Hostile clients (bad frames, bad JSON, floods of connections, a client that never reads) cost the daemon
  one connection at most: a fresh client still gets its status within 1 s, and the memory stays bounded.
- Lifecycle: a session ends with its connection, outlives its target; a second rtprofd leaves a live one's
  socket alone; SIGTERM leaves no socket file and no BPF program behind.
- Budgets: 40 processes started at once are each watched within 1 s of their exec; with 60 watched, SIGTERM
  ends rtprofd within 2 s, leaving no process, link or program of it, and the processes running; no status
  request waits more than 50 ms behind the attaches and detaches of node processes.

rtprofd is found from --rtprofd PATH, $RTPROFD, or next to rtprof in the build tree (RTPROF/../daemon/rtprofd).
"""

import grp
import json
import os
import pwd
import random
import re
import select
import shutil
import signal
import socket
import stat
import struct
import subprocess
import sys
import tempfile
import threading
import time
import unittest

import rtp


K_GETPPID = 20000
NEW_THREADS = 3            # attach_threads.py/.js
STARTUP_TIMEOUT = 30
WORKLOAD_TIMEOUT = 60
ANSWER_S = 1.0             # a healthy daemon answers a fresh client's status within this
MAX_REQUEST = 64 << 10     # RTP_PROTO_MAX_REQUEST
MAX_CLIENTS = 256          # SERVER_MAX_CLIENTS
RSS_GROWTH_KB = 64 << 10   # what hostile clients may make the daemon's RSS grow by, at most
SESSION_RE = re.compile(r"through rtprofd \(session (\d+)\)")


def setUpModule():
    rtp.check_rtprof()
    path = rtp.rtprofd_path()
    if not (os.path.isfile(path) and os.access(path, os.X_OK)):
        raise RuntimeError("rtprofd binary %r does not exist or is not executable: pass --rtprofd PATH or set "
                           "RTPROFD=PATH" % path)


def nobody_ids():
    """(uid, gid, group name) of user nobody, or None."""
    try:
        pw = pwd.getpwnam("nobody")
    except KeyError:
        return None
    try:
        group = grp.getgrgid(pw.pw_gid).gr_name
    except KeyError:
        return None
    return pw.pw_uid, pw.pw_gid, group


# ---- the protocol, spoken by hand --------------------------------------------------------------------------------

def frame(payload):
    """4-byte big-endian length, then the payload (bytes as they are; anything else as JSON)."""
    if not isinstance(payload, bytes):
        payload = json.dumps(payload).encode()
    return struct.pack(">I", len(payload)) + payload


class DaemonError(Exception):
    def __init__(self, reply):
        Exception.__init__(self, "rtprofd answered with an error: %s" % reply)
        self.reply = reply


class Conn:
    """A raw client of rtprofd's socket; every wait is bounded."""

    def __init__(self, path, timeout=5.0):
        deadline = time.monotonic() + timeout
        while True:
            self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            self.sock.settimeout(timeout)
            try:
                self.sock.connect(path)
                break
            except BlockingIOError:  # the listen backlog is full: the daemon has not accepted the others yet
                self.sock.close()
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.001)
            except BaseException:
                self.sock.close()
                raise
        self.buf = b""

    def send_raw(self, data):
        self.sock.sendall(data)

    def send_hostile(self, data):
        """Send what the daemon may refuse half-way: its closing the connection is no error here."""
        try:
            self.sock.sendall(data)
        except (BrokenPipeError, ConnectionResetError):
            pass

    def send(self, msg):
        self.send_raw(frame(msg))

    def _fill(self, n, deadline):
        while len(self.buf) < n:
            left = deadline - time.monotonic()
            if left <= 0:
                raise socket.timeout("no complete reply in time (%d bytes buffered)" % len(self.buf))
            self.sock.settimeout(left)
            chunk = self.sock.recv(1 << 16)
            if not chunk:
                raise EOFError("rtprofd closed the connection")
            self.buf += chunk

    def recv(self, timeout=5.0):
        deadline = time.monotonic() + timeout
        self._fill(4, deadline)
        (n,) = struct.unpack(">I", self.buf[:4])
        self._fill(4 + n, deadline)
        body, self.buf = self.buf[4:4 + n], self.buf[4 + n:]
        try:
            return json.loads(body.decode())
        except ValueError as e:  # UnicodeDecodeError included
            raise AssertionError("rtprofd sent a frame that is not JSON in UTF-8 (%s): %r" % (e, body[:300]))

    def call(self, msg, timeout=5.0):
        self.send(msg)
        return self.recv(timeout)

    def request(self, msg, timeout=5.0):
        reply = self.call(msg, timeout)
        if reply.get("type") == "error":
            raise DaemonError(reply)
        return reply

    def hello(self, timeout=5.0):
        reply = self.call({"type": "hello", "version": 1}, timeout)
        if reply.get("type") != "hello" or reply.get("version") != 1:
            raise AssertionError("hello answered with %s" % reply)
        return reply

    def wait_closed(self, timeout=ANSWER_S):
        """Read until the daemon closes the connection: (closed in time?, the messages it sent before)."""
        deadline = time.monotonic() + timeout
        closed = False
        while time.monotonic() < deadline:
            self.sock.settimeout(max(deadline - time.monotonic(), 0.001))
            try:
                chunk = self.sock.recv(1 << 16)
            except socket.timeout:
                break
            except ConnectionResetError:
                closed = True
                break
            if not chunk:
                closed = True
                break
            self.buf += chunk
        messages = []
        while len(self.buf) >= 4:
            (n,) = struct.unpack(">I", self.buf[:4])
            if len(self.buf) < 4 + n:
                break
            try:
                messages.append(json.loads(self.buf[4:4 + n].decode()))
            except ValueError:
                messages.append({"unparsable": self.buf[4:4 + n][:200]})
            self.buf = self.buf[4 + n:]
        return closed, messages

    def close(self):
        self.sock.close()


# ---- the daemon --------------------------------------------------------------------------------------------------

class Daemon:
    """rtprofd on a socket in a temporary directory, its output in a log file there."""

    def __init__(self, extra=(), config=None):
        """extra: more options; config: the text of a configuration file for it (else none is read)."""
        self.dir = tempfile.mkdtemp(prefix="rtprofd-test-")
        os.chmod(self.dir, 0o755)
        self.socket = os.path.join(self.dir, "rtprofd.sock")
        self.log_path = os.path.join(self.dir, "rtprofd.log")
        self.argv = [rtp.rtprofd_path(), "--socket", self.socket]
        if config is not None:
            with open(os.path.join(self.dir, "rtprofd.conf"), "w") as f:
                f.write(config)
            self.argv += ["--config", os.path.join(self.dir, "rtprofd.conf")]
        ids = nobody_ids()
        if ids:
            self.argv += ["--group", ids[2]]
        self.argv += list(extra)
        self.log = open(self.log_path, "w")
        self.proc = subprocess.Popen(self.argv, stdin=subprocess.DEVNULL, stdout=self.log, stderr=subprocess.STDOUT)
        self.pid = self.proc.pid
        self.exit_code = None
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while True:
            if self.proc.poll() is not None:
                self.cleanup()
                raise RuntimeError("rtprofd exited with %r at startup\n%s" % (self.proc.returncode, self.log_tail()))
            try:
                st = self.status(timeout=2)
                break
            except (OSError, EOFError):
                if time.monotonic() > deadline:
                    where = rtp.where_is(self.pid)
                    self.stop()
                    self.cleanup()
                    raise RuntimeError("rtprofd did not answer on %s within %d s\n%s\n%s"
                                       % (self.socket, STARTUP_TIMEOUT, where, self.log_tail()))
                time.sleep(0.05)
        if st.get("pid") != self.pid:
            raise RuntimeError("status from %s names pid %s, not rtprofd's %d" % (self.socket, st.get("pid"), self.pid))
        self.baseline_rss_kb = st["rss_kb"]
        if not ids:  # no group to give the socket to nobody: open it to all
            os.chmod(self.socket, 0o666)

    def connect(self, timeout=5.0):
        c = Conn(self.socket, timeout)
        c.hello(timeout)
        return c

    def status(self, timeout=ANSWER_S):
        c = Conn(self.socket, timeout)
        try:
            c.hello(timeout)
            return c.request({"type": "status"}, timeout)
        finally:
            c.close()

    def sessions(self):
        """Every session (as root), by id."""
        c = self.connect()
        try:
            return {s["session"]: s for s in c.request({"type": "sessions"})["sessions"]}
        finally:
            c.close()

    def alive(self):
        return self.proc.poll() is None

    def log_tail(self, limit=3000):
        try:
            with open(self.log_path, errors="replace") as f:
                text = f.read()
        except OSError:
            return "(no log)"
        return "rtprofd log:\n" + (text if len(text) <= limit else "..." + text[-limit:])

    def stop(self, timeout=10):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                self.exit_code = "still running %d s after SIGTERM: killed" % timeout
                return self.exit_code
        if self.exit_code is None:
            self.exit_code = self.proc.returncode
        return self.exit_code

    def cleanup(self):
        if not self.log.closed:
            self.log.close()
        shutil.rmtree(self.dir, True)


class Background:
    """A command in the background (rtprof attach, usually), its stderr read line by line to see "attached"."""

    def __init__(self, argv, env=None):
        self.argv = list(argv)
        self.proc = subprocess.Popen(self.argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, universal_newlines=True, errors="replace", env=env)
        self.stderr_lines = []
        self.stdout = ""
        self.attached = threading.Event()
        self._threads = [threading.Thread(target=self._read_stderr, daemon=True),
                         threading.Thread(target=self._read_stdout, daemon=True)]
        for t in self._threads:
            t.start()

    def _read_stderr(self):
        for line in self.proc.stderr:
            self.stderr_lines.append(line)
            if "attached" in line:
                self.attached.set()

    def _read_stdout(self):
        self.stdout = self.proc.stdout.read()

    def attached_line(self):
        return next((line for line in self.stderr_lines if "attached" in line), "")

    def session(self):
        m = SESSION_RE.search(self.attached_line())
        return int(m.group(1)) if m else None

    def wait(self, timeout):
        try:
            rc = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            return None
        for t in self._threads:
            t.join(5)
        return rc

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        for t in self._threads:
            t.join(5)
        self.proc.stdout.close()
        self.proc.stderr.close()

    def describe(self):
        return "%s\n  exit code %r\n  stdout: %s\n  stderr: %s" % (" ".join(self.argv), self.proc.poll(),
                                                                  self.stdout[-2000:],
                                                                  "".join(self.stderr_lines)[-2000:])


def socket_env(path):
    return dict(os.environ, RTPROF_SOCKET=path)


def read_json(path):
    with open(path) as f:
        return json.load(f)


def stop_class_daemon(cls):
    """A test class's tearDownClass: its rtprofd must exit 0 on SIGTERM."""
    d, cls.daemon = cls.daemon, None
    if d is None:
        return
    rc = d.stop()
    log = d.log_tail()
    d.cleanup()
    if rc != 0:
        raise AssertionError("rtprofd should exit 0 on SIGTERM, got %r\n%s" % (rc, log))


class DaemonCase(unittest.TestCase):
    """One rtprofd for the class."""

    daemon = None

    @classmethod
    def setUpClass(cls):
        if os.geteuid() == 0 and rtp.RTPROF:
            cls.daemon = Daemon()

    @classmethod
    def tearDownClass(cls):
        stop_class_daemon(cls)

    def setUp(self):
        rtp.require_root(self)
        self.assertIsNotNone(self.daemon, "no rtprofd for this class")
        self.assertTrue(self.daemon.alive(), "rtprofd died before this test\n" + self.daemon.log_tail())

    def tmpdir(self, owner=None):
        tmp = tempfile.mkdtemp(prefix="rtprof-daemon-")
        self.addCleanup(shutil.rmtree, tmp, True)
        if owner:
            os.chown(tmp, owner[0], owner[1])
        return tmp

    def spawn(self, argv, **kw):
        return rtp.spawn(self, argv, **kw)

    def background(self, argv, env=None):
        bg = Background(argv, env)
        self.addCleanup(bg.kill)
        return bg

    def conn(self):
        c = self.daemon.connect()
        self.addCleanup(c.close)
        return c

    def wait_ready(self, path, proc, what):
        self.assertTrue(rtp.wait_for_file(path, proc, STARTUP_TIMEOUT),
                        "%s did not start (exit code %r)" % (what, proc.poll()))

    def rtprof(self, *args, **kw):
        return rtp.rtprof(*args, timeout=kw.pop("timeout", 30), **kw)

    def assert_healthy(self, after):
        """The daemon lives, answers a fresh client's status within 1 s, and its RSS stayed bounded."""
        d = self.daemon
        self.assertTrue(d.alive(), "rtprofd died after %s (exit %r)\n%s" % (after, d.proc.poll(), d.log_tail()))
        start = time.monotonic()
        try:
            st = d.status(timeout=ANSWER_S)
        except (OSError, EOFError, ValueError, DaemonError) as e:
            self.fail("after %s, a fresh client got no status within %.1f s: %r\n%s"
                      % (after, ANSWER_S, e, d.log_tail()))
        elapsed = time.monotonic() - start
        self.assertLess(elapsed, ANSWER_S, "after %s, status took %.3f s" % (after, elapsed))
        self.assertLessEqual(st["rss_kb"], d.baseline_rss_kb + RSS_GROWTH_KB,
                             "after %s, rtprofd's RSS is %d kB, it started at %d kB"
                             % (after, st["rss_kb"], d.baseline_rss_kb))
        return st


# ---- 1. exact counts through the daemon, and the same as embedded -------------------------------------------------

class AttachThroughDaemon(DaemonCase):
    def attach_once(self, interpreter, script, runtime, local):
        tmp = self.tmpdir()
        ready, go, out = (os.path.join(tmp, n) for n in ("ready", "go", "out.json"))
        target = self.spawn([interpreter, rtp.workload(script), ready, go, out, str(K_GETPPID)])
        self.wait_ready(ready, target, script)
        # RTPROF_SOCKET points at the live daemon in both runs: --local must win over it
        bg = self.background([rtp.RTPROF, "attach", "--json"] + (["--local"] if local else []) + [str(target.pid)],
                             env=socket_env(self.daemon.socket))
        self.assertTrue(bg.attached.wait(STARTUP_TIMEOUT), "rtprof did not attach\n" + bg.describe())
        line = bg.attached_line()
        if local:
            self.assertNotIn("rtprofd", line, "--local must profile in the CLI\n" + bg.describe())
        else:
            self.assertIn("through rtprofd", line, "with RTPROF_SOCKET set, attach goes through the daemon\n"
                          + bg.describe())
            self.assertIn(bg.session(), self.daemon.sessions(), "the CLI's session is not in the daemon's list")
        open(go, "w").close()
        try:
            self.assertEqual(target.wait(WORKLOAD_TIMEOUT), 0, "workload %s failed" % script)
        except subprocess.TimeoutExpired:
            self.fail("workload %s did not finish within %d s of the go file" % (script, WORKLOAD_TIMEOUT))
        rc = bg.wait(30)
        self.assertEqual(rc, 0, "rtprof attach should exit 0 when its target exits\n" + bg.describe())
        report = rtp.parse_report(self, bg.stdout, "stdout of `rtprof attach --json`")
        truth = read_json(out)
        self.assertEqual(report.get("mode"), "attach", "mode of %s" % bg.describe())
        self.assertEqual(report["target"]["pid"], target.pid, "target: %s" % report["target"])
        self.assertEqual(report["target"]["runtime"], runtime, "target: %s" % report["target"])
        threads = rtp.threads_by_tid(report)
        missing = [tid for tid in truth["tids"] if tid not in threads]
        self.assertFalse(missing, "threads %s missing from the report's %s" % (missing, sorted(threads)))
        count = rtp.syscall_count(self, report, "getppid")
        self.assertEqual(count, NEW_THREADS * K_GETPPID,
                         "%s: %d threads made exactly %d getppid calls each: report counted %d (lost_events=%s)"
                         % ("--local" if local else "through rtprofd", NEW_THREADS, K_GETPPID, count,
                            report.get("lost_events")))
        return count

    def check(self, interpreter, script, runtime):
        via_daemon = self.attach_once(interpreter, script, runtime, local=False)
        embedded = self.attach_once(interpreter, script, runtime, local=True)
        self.assertEqual(via_daemon, embedded, "the daemon and the embedded engine disagree")
        self.assertEqual(self.daemon.sessions(), {}, "the CLI's session should be gone after its report")

    def test_python(self):
        self.check(rtp.python_exe(), "attach_threads.py", "python")

    def test_node(self):
        node = rtp.require_node(self)
        self.check(node, "attach_threads.js", "node")


# ---- 2. per-thread scheduling through the daemon vs the kernel ----------------------------------------------------

class ThreadsThroughDaemon(DaemonCase):
    """The parked-workers method of test_threads.py, the session in rtprofd."""

    def check_workload(self, cmd_prefix, script, runtime):
        tmp = self.tmpdir()
        truth_path, go_path, report_path = (os.path.join(tmp, n) for n in ("truth.json", "go", "report.json"))
        target = self.spawn(cmd_prefix + [rtp.workload(script), truth_path, go_path])
        bg = self.background([rtp.RTPROF, "attach", "--json", "-o", report_path, str(target.pid)],
                             env=socket_env(self.daemon.socket))
        self.assertTrue(bg.attached.wait(STARTUP_TIMEOUT), "rtprof did not attach\n" + bg.describe())
        self.assertIn("through rtprofd", bg.attached_line(), bg.describe())
        open(go_path, "w").close()
        self.assertTrue(rtp.wait_for_file(truth_path, target, WORKLOAD_TIMEOUT),
                        "workload wrote no reference figures (exit %r)" % target.poll())
        bg.proc.send_signal(signal.SIGINT)
        self.assertEqual(bg.wait(30), 0, "rtprof attach should end with 0 on SIGINT\n" + bg.describe())
        truth = read_json(truth_path)
        report = read_json(report_path)
        self.assertEqual(report["target"]["pid"], truth["pid"])
        self.assertEqual(report["target"]["runtime"], runtime, "target: %s" % report["target"])
        self.assertEqual(len(truth["workers"]), 4, "workload should report 4 workers: %s" % truth)
        threads = rtp.threads_by_tid(report)
        problems = []
        for ref in truth["workers"]:
            tid = ref["tid"]
            got = threads.get(tid)
            self.assertGreater(ref["oncpu_ns"], 100_000_000, "worker %d did not compute: %s" % (tid, ref))
            if got is None:
                problems.append("tid %d missing from report threads %s" % (tid, sorted(threads)))
                continue
            if got.get("exited"):
                problems.append("tid %d is parked, alive, but exited=%s" % (tid, got.get("exited")))
            for key in ("oncpu_ns", "runq_wait_ns"):
                diff = got.get(key, 0) - ref[key]
                tol = 0.02 * ref[key] + 1e6
                if abs(diff) > tol:
                    problems.append("tid %d: %s %d vs schedstat %d: off by %+d ns (%+.2f%%), tolerance %d ns"
                                    % (tid, key, got.get(key, 0), ref[key], diff, 100.0 * diff / max(ref[key], 1),
                                       tol))
            for key in ("vol_switches", "invol_switches"):
                diff = got.get(key, 0) - ref[key]
                if abs(diff) > 2:
                    problems.append("tid %d: %s %d vs /proc status %d: off by %+d, tolerance 2"
                                    % (tid, key, got.get(key, 0), ref[key], diff))
        if problems:
            self.fail("through rtprofd, per-thread figures disagree with the kernel's (lost_events=%s):\n  %s"
                      % (report.get("lost_events"), "\n  ".join(problems)))

    def test_python_threads(self):
        self.check_workload([rtp.python_exe()], "threads_schedstat.py", "python")

    def test_node_worker_threads(self):
        node = rtp.require_node(self)
        self.check_workload([node], "threads_schedstat.js", "node")


# ---- 3. a raw client's session, seen and ended by the CLI ---------------------------------------------------------

class QueryWhileRunning(DaemonCase):
    def test_sessions_query_detach(self):
        tmp = self.tmpdir()
        ready, go, done = (os.path.join(tmp, n) for n in ("ready", "go", "done"))
        target = self.spawn([rtp.python_exe(), rtp.workload("getppid_then_park.py"), ready, go, done,
                             str(K_GETPPID)])
        self.wait_ready(ready, target, "getppid_then_park.py")
        c = self.conn()
        attached = c.request({"type": "attach", "pids": [target.pid], "id": 7})
        self.assertEqual(attached.get("type"), "attached", attached)
        self.assertEqual(attached.get("pids"), [target.pid], attached)
        self.assertEqual(attached.get("id"), 7, "the request's id should come back with the reply: %s" % attached)
        sid = attached["session"]
        open(go, "w").close()
        self.assertTrue(rtp.wait_for_file(done, target, WORKLOAD_TIMEOUT), "workload did not make its calls")
        sock = ["--socket", self.daemon.socket]

        # status as text: each figure as an integer or to the hundredth (uptime 12.34, not 12.345678901234)
        res = self.rtprof("status", *sock)
        self.assertEqual(res.returncode, 0, res.describe())
        status = dict(line.split(None, 1) for line in res.stdout.splitlines())
        self.assertRegex(status.get("uptime_s", ""), r"^[0-9]+\.[0-9]{2}$", res.stdout)
        self.assertGreaterEqual(int(status.get("sessions", "-1")), 1, res.stdout)
        self.assertFalse([v for v in status.values() if re.match(r"^-?[0-9]+\.[0-9]{3,}", v)], res.stdout)

        res = self.rtprof("sessions", "--json", *sock)
        self.assertEqual(res.returncode, 0, res.describe())
        listed = {s["session"]: s for s in json.loads(res.stdout)}
        self.assertIn(sid, listed, "root's `rtprof sessions` should list the raw client's session\n" + res.describe())
        self.assertEqual(listed[sid]["pids"], [target.pid], listed[sid])
        self.assertEqual(listed[sid]["owner_uid"], 0, listed[sid])
        self.assertEqual(listed[sid]["live_processes"], 1, listed[sid])

        res = self.rtprof("query", "--json", *sock, str(sid), "syscalls")
        self.assertEqual(res.returncode, 0, res.describe())
        view = rtp.parse_report(self, res.stdout, "`rtprof query ID syscalls --json`")
        self.assertEqual(rtp.syscall_count(self, view, "getppid"), K_GETPPID,
                         "the workload made exactly %d getppid calls: %s" % (K_GETPPID, rtp.syscall_summary(view)))
        self.assertEqual(view["target"]["pid"], target.pid, view["target"])
        self.assertNotIn("threads", view, "the syscalls view keeps only its keys: %s" % sorted(view))

        res = self.rtprof("query", "--json", *sock, str(sid), "threads")
        self.assertEqual(res.returncode, 0, res.describe())
        view = rtp.parse_report(self, res.stdout, "`rtprof query ID threads --json`")
        self.assertIn(target.pid, rtp.threads_by_tid(view), "the main thread is missing: %s" % view.get("threads"))
        self.assertNotIn("syscalls", view, "the threads view keeps only its keys: %s" % sorted(view))

        res = self.rtprof("query", *sock, str(sid))  # text
        self.assertEqual(res.returncode, 0, res.describe())
        self.assertIn("getppid", res.stdout, res.describe())

        res = self.rtprof("query", "--json", *sock, str(sid), "bogus")
        self.assertEqual(res.returncode, 2, "an unknown view is a usage error\n" + res.describe())
        self.assertIn("unknown view", res.stderr, res.describe())

        # the raw client sees the same numbers, and its connection was not disturbed
        rep = c.request({"type": "query", "session": sid, "what": "summary"})
        self.assertEqual((rep["type"], rep["session"]), ("report", sid), rep)
        self.assertEqual(rep["report"]["mode"], "attach")
        self.assertEqual(rtp.syscall_count(self, rep["report"], "getppid"), K_GETPPID)

        res = self.rtprof("detach", *sock, str(sid))
        self.assertEqual(res.returncode, 0, "root may end any session\n" + res.describe())
        self.assertNotIn(sid, self.daemon.sessions(), "detached session still listed")
        gone = c.call({"type": "query", "session": sid})
        self.assertEqual((gone.get("type"), gone.get("code")), ("error", "ENOENT"), gone)
        self.assertIsNone(target.poll(), "detaching must leave the target running")
        self.assertEqual(c.request({"type": "status"})["type"], "status", "the creator's connection should go on")

        res = self.rtprof("query", "--json", *sock, str(sid))
        self.assertEqual(res.returncode, 2, res.describe())
        self.assertIn("no session", res.stderr, res.describe())
        self.assertEqual(res.stdout, "", res.describe())


# ---- 4. as user nobody --------------------------------------------------------------------------------------------

NOT_DUMPABLE = """
import ctypes, sys, time
if ctypes.CDLL(None, use_errno=True).prctl(4, 0, 0, 0, 0) != 0:  # PR_SET_DUMPABLE, 0
    sys.exit("prctl failed")
print("ready", flush=True)
time.sleep(60)
"""


class Unprivileged(DaemonCase):
    def setUp(self):
        DaemonCase.setUp(self)
        ids = nobody_ids()
        if not ids:
            rtp.skip_or_fail(self, "no user nobody with a group")
        if not shutil.which("setpriv"):
            rtp.skip_or_fail(self, "setpriv is not installed to run processes as nobody")
        self.nobody = ids
        self.as_nobody = ["setpriv", "--reuid=%d" % ids[0], "--regid=%d" % ids[1], "--clear-groups"]
        self.binary = rtp.RTPROF
        if rtp.run(self.as_nobody + ["test", "-x", self.binary]).returncode != 0:
            tmp = self.tmpdir()
            os.chmod(tmp, 0o755)
            self.binary = os.path.join(tmp, "rtprof")
            shutil.copy(rtp.RTPROF, self.binary)
            os.chmod(self.binary, stat.S_IRWXU | stat.S_IRGRP | stat.S_IXGRP | stat.S_IROTH | stat.S_IXOTH)

    def nobody_rtprof(self, *args, env=None):
        return rtp.run(self.as_nobody + [self.binary] + list(args), timeout=30, env=env)

    def check_refused(self, res, *substrings):
        self.assertEqual(res.returncode, 2, res.describe())
        self.assertEqual(res.stdout, "", "nothing on stdout on error\n" + res.describe())
        self.assertTrue(res.stderr.startswith("rtprof: "), res.describe())
        self.assertTrue(any(s in res.stderr for s in substrings),
                        "message should mention one of %s\n%s" % (substrings, res.describe()))

    def root_session(self):
        """A session of root's, on a root process, made by a raw client kept open for the test."""
        sleeper = self.spawn(["sleep", "60"])
        return self.conn().request({"type": "attach", "pids": [sleeper.pid]})["session"]

    def test_privileged_exec_leaves_the_session(self):
        """ptrace loses access to a process that execs a set-user-ID program; so does nobody's session: the
        process leaves it at once (listed as ended while it still runs), and its work is not counted."""
        tmp = self.tmpdir(owner=self.nobody)
        os.chmod(tmp, 0o755)
        suid, plain = os.path.join(tmp, "suidsleep"), os.path.join(tmp, "plainsleep")
        for path, mode in ((suid, 0o4755), (plain, 0o755)):
            shutil.copy("/bin/sleep", path)
            os.chown(path, 0, 0)
            os.chmod(path, mode)
        go, pids = os.path.join(tmp, "go"), os.path.join(tmp, "pids")
        script = ("import os, subprocess, time\n"
                  "while not os.path.exists(%r): time.sleep(0.01)\n"
                  "a = subprocess.Popen([%r, '3']); b = subprocess.Popen([%r, '3'])\n"
                  "open(%r + '.tmp', 'w').write('%%d %%d' %% (a.pid, b.pid)); os.rename(%r + '.tmp', %r)\n"
                  "a.wait(); b.wait()\n" % (go, suid, plain, pids, pids, pids))
        target = self.spawn(self.as_nobody + [rtp.python_exe(), "-c", script])
        sock = ["--socket", self.daemon.socket]
        bg = self.background(self.as_nobody + [self.binary, "attach", "--json"] + sock + [str(target.pid)])
        self.assertTrue(bg.attached.wait(STARTUP_TIMEOUT), "nobody's rtprof did not attach\n" + bg.describe())
        sid = bg.session()
        open(go, "w").close()
        deadline = time.monotonic() + 10
        while not os.path.exists(pids) and time.monotonic() < deadline:
            time.sleep(0.02)
        suid_pid, plain_pid = (int(x) for x in open(pids).read().split())
        time.sleep(0.5)
        self.assertTrue(os.path.exists("/proc/%d" % suid_pid), "the set-user-ID sleeper still runs")
        res = rtp.run([rtp.RTPROF, "query", "--json", "--socket", self.daemon.socket, str(sid)], timeout=30)
        self.assertEqual(res.returncode, 0, res.describe())
        targets = {t["pid"]: t for t in json.loads(res.stdout)["targets"]}
        self.assertIn(plain_pid, targets, "the plain child is followed")
        self.assertFalse(targets[plain_pid]["exited"], "the plain child is profiled while it runs")
        self.assertTrue(targets[suid_pid]["exited"], "the set-user-ID child left the session at its exec")

    def test_own_process_counted_exactly(self):
        tmp = self.tmpdir(owner=self.nobody)
        ready, go, out = (os.path.join(tmp, n) for n in ("ready", "go", "out.json"))
        root_sid = self.root_session()
        # nobody may not be able to read the source tree (a clone in a private directory): a copy of its own
        script = os.path.join(tmp, "attach_threads.py")
        shutil.copy(rtp.workload("attach_threads.py"), script)
        os.chmod(script, 0o644)
        target = self.spawn(self.as_nobody + [rtp.python_exe(), script, ready, go, out,
                                              str(K_GETPPID)])
        self.wait_ready(ready, target, "nobody's attach_threads.py")
        self.assertEqual(os.stat("/proc/%d" % target.pid).st_uid, self.nobody[0], "the workload is not nobody's")
        sock = ["--socket", self.daemon.socket]
        bg = self.background(self.as_nobody + [self.binary, "attach", "--json"] + sock + [str(target.pid)])
        self.assertTrue(bg.attached.wait(STARTUP_TIMEOUT), "nobody's rtprof did not attach\n" + bg.describe())
        sid = bg.session()
        self.assertIsNotNone(sid, "attach as nobody should go through rtprofd\n" + bg.describe())

        res = self.nobody_rtprof("sessions", "--json", *sock)
        self.assertEqual(res.returncode, 0, res.describe())
        mine = {s["session"]: s for s in json.loads(res.stdout)}
        self.assertEqual(sorted(mine), [sid], "nobody should see its session and no other\n" + res.describe())
        self.assertEqual(mine[sid]["owner_uid"], self.nobody[0])
        self.assertIn(root_sid, self.daemon.sessions(), "root sees root's session")
        self.assertIn(sid, self.daemon.sessions(), "root sees nobody's session")

        res = self.nobody_rtprof("query", "--json", *sock, str(root_sid))
        self.check_refused(res, "no session")
        res = self.nobody_rtprof("detach", *sock, str(root_sid))
        self.check_refused(res, "no session")
        self.assertIn(root_sid, self.daemon.sessions(), "nobody ended root's session")

        open(go, "w").close()
        try:
            self.assertEqual(target.wait(WORKLOAD_TIMEOUT), 0, "nobody's workload failed")
        except subprocess.TimeoutExpired:
            self.fail("nobody's workload did not finish within %d s" % WORKLOAD_TIMEOUT)
        self.assertEqual(bg.wait(30), 0, "rtprof attach as nobody should exit 0\n" + bg.describe())
        report = rtp.parse_report(self, bg.stdout, "stdout of nobody's `rtprof attach --json`")
        self.assertEqual(report.get("mode"), "attach")
        self.assertEqual(report["target"]["pid"], target.pid)
        count = rtp.syscall_count(self, report, "getppid")
        self.assertEqual(count, NEW_THREADS * K_GETPPID, "nobody's workload made exactly %d getppid calls; "
                         "report counted %d (lost_events=%s)" % (NEW_THREADS * K_GETPPID, count,
                                                                 report.get("lost_events")))

    def test_socket_mode(self):
        st = os.stat(self.daemon.socket)
        self.assertTrue(stat.S_ISSOCK(st.st_mode))
        self.assertEqual((stat.S_IMODE(st.st_mode), st.st_uid, st.st_gid), (0o660, 0, self.nobody[1]),
                         "the socket should be root's, of the --group given, mode 0660")

    def test_root_process_refused(self):
        sleeper = self.spawn(["sleep", "60"])
        before = self.daemon.status()["refused"]
        res = self.nobody_rtprof("attach", "--json", "--socket", self.daemon.socket, str(sleeper.pid))
        self.check_refused(res, "not to you", "belongs to")
        self.assertEqual(self.daemon.status()["refused"], before + 1, "the daemon should count the refusal")
        self.assertEqual(self.daemon.sessions(), {}, "a refused attach left a session")
        self.assertIsNone(sleeper.poll())

    def test_own_non_dumpable_process_refused(self):
        """The ptrace rule: one's own process that made itself non-dumpable is root's to profile."""
        target = self.spawn(self.as_nobody + [rtp.python_exe(), "-c", NOT_DUMPABLE], stdout=subprocess.PIPE)
        self.addCleanup(target.stdout.close)
        ready = select.select([target.stdout], [], [], STARTUP_TIMEOUT)[0]
        self.assertTrue(ready and target.stdout.readline() == b"ready\n", "the non-dumpable workload did not start")
        # /proc/PID keeps the owner's uid (task_dump_owner() spares world-readable directories); its files do not
        self.assertEqual(os.stat("/proc/%d/stat" % target.pid).st_uid, 0,
                         "/proc/PID/stat of a non-dumpable process is root's")
        # -d 1: should the daemon accept, the CLI ends after 1 s with a report (and the test fails)
        res = self.nobody_rtprof("attach", "--json", "-d", "1", "--socket", self.daemon.socket, str(target.pid))
        self.check_refused(res, "dumpable")
        self.assertEqual(self.daemon.sessions(), {}, "a refused attach left a session")

    def test_without_daemon_root_is_needed(self):
        sleeper = self.spawn(self.as_nobody + ["sleep", "60"])
        res = self.nobody_rtprof("attach", "--json", str(sleeper.pid),
                                 env=dict(os.environ, RTPROF_SOCKET="/nonexistent/rtprofd.sock"))
        self.check_refused(res, "root")


# ---- 5. hostile clients -------------------------------------------------------------------------------------------

class HostileBase(DaemonCase):
    def raw(self):
        c = Conn(self.daemon.socket, timeout=5)
        self.addCleanup(c.close)
        return c

    def assert_closed(self, c, what, expect_error=None):
        closed, messages = c.wait_closed(ANSWER_S)
        self.assertTrue(closed, "rtprofd should close the connection after %s within %.1f s; it sent %s"
                        % (what, ANSWER_S, messages))
        for m in messages:
            self.assertEqual(m.get("type"), "error", "after %s the daemon answered %s" % (what, m))
            if expect_error:
                self.assertEqual(m.get("code"), expect_error, "after %s: %s" % (what, m))


class HostileClients(HostileBase):
    def test_truncated_frame(self):
        c = self.raw()
        c.send_raw(struct.pack(">I", 100) + b"0123456789")
        c.close()
        self.assert_healthy("a truncated frame")

    def test_zero_length(self):
        c = self.raw()
        c.send_raw(struct.pack(">I", 0))
        self.assert_closed(c, "a frame of length 0", "EPROTO")
        self.assert_healthy("a frame of length 0")

    def test_oversized_length(self):
        c = self.raw()
        c.hello()
        c.send_hostile(struct.pack(">I", 0x7FFFFFFF) + b"{")
        self.assert_closed(c, "a length of 0x7fffffff", "EPROTO")
        self.assert_healthy("a length of 0x7fffffff")

    def test_wrong_version(self):
        for hello in ({"type": "hello", "version": 2}, {"type": "hello", "version": 0}, {"type": "hello"},
                      {"type": "hello", "version": "1"}, {"type": "hello", "version": 1 << 40}):
            c = self.raw()
            reply = c.call(hello)
            self.assertEqual((reply.get("type"), reply.get("code")), ("error", "EPROTO"), "%s: %s" % (hello, reply))
            self.assert_closed(c, "hello %s" % hello)
        self.assert_healthy("hellos of the wrong version")

    def test_garbage(self):
        rnd = random.Random(20240601)
        cases = [b"GET / HTTP/1.1\r\nHost: rtprofd\r\n\r\n",
                 bytes(rnd.getrandbits(8) for _ in range(4096)),
                 frame(b"\xff\xfe\x00garbage\x80"),
                 frame(b'{"type":"status"} {"type":"status"}'),
                 frame(b'{"type":"status"}\x00'),
                 frame(b'{"type":"status"')]
        for i, data in enumerate(cases):
            c = self.raw()
            c.hello()
            c.send_hostile(data)
            self.assert_closed(c, "garbage case %d %r" % (i, data[:40]))
        self.assert_healthy("garbage")

    def test_replies_are_utf8_json(self):
        """A request type of 30 euro signs (90 bytes of UTF-8; sent escaped, so the request is plain ASCII) is
        unknown: the error saying so must still be JSON in UTF-8. So must the answer to a request whose type
        is not UTF-8 at all, if the daemon answers rather than closing the connection."""
        c = self.raw()
        c.hello()
        reply = c.call({"type": "\u20ac" * 30})
        self.assertEqual((reply.get("type"), reply.get("code")), ("error", "EINVAL"), reply)
        self.assertEqual(c.request({"type": "status"})["type"], "status")
        c = self.raw()
        c.hello()
        c.send_hostile(frame(b'{"type":"st\xffus"}'))
        closed, messages = c.wait_closed(0.5)  # raises if a frame is not UTF-8 JSON
        for m in messages:
            self.assertEqual(m.get("type"), "error", m)
        self.assert_healthy("requests with non-ASCII types")

    def test_json_not_an_object(self):
        for payload in (b"[1,2,3]", b'"status"', b"42", b"null", b"true", b"{}", b'{"type":1}', b'{"type":null}',
                        b'{"type":["status"]}'):
            c = self.raw()
            c.hello()
            c.send_hostile(frame(payload))
            self.assert_closed(c, "frame %r" % payload, "EPROTO")
        self.assert_healthy("JSON that is not a request")

    def test_request_before_hello(self):
        sleeper = self.spawn(["sleep", "60"])
        for req in ({"type": "status"}, {"type": "attach", "pids": [sleeper.pid]}):
            c = self.raw()
            reply = c.call(req)
            self.assertEqual((reply.get("type"), reply.get("code")), ("error", "EPROTO"), "%s: %s" % (req, reply))
            self.assert_closed(c, "%s before hello" % req)
        self.assertEqual(self.daemon.sessions(), {}, "an attach before hello made a session")
        self.assert_healthy("requests before hello")

    def test_unknown_request_keeps_connection(self):
        c = self.raw()
        c.hello()
        reply = c.call({"type": "frobnicate", "id": "x"})
        self.assertEqual((reply.get("type"), reply.get("code"), reply.get("id")), ("error", "EINVAL", "x"), reply)
        for bad in ({"type": "attach"}, {"type": "attach", "pids": []}, {"type": "attach", "pids": ["1"]},
                    {"type": "attach", "pids": [-1]}, {"type": "attach", "pids": list(range(1, 100))},
                    {"type": "query"}, {"type": "query", "session": "1"}, {"type": "detach", "session": 0}):
            reply = c.call(bad)
            self.assertEqual(reply.get("type"), "error", "%s: %s" % (bad, reply))
        self.assertEqual(c.request({"type": "status"})["type"], "status", "a bad request must not end the connection")
        self.assertEqual(self.daemon.sessions(), {}, "bad attach requests made a session")
        self.assert_healthy("bad requests")

    def test_pipelined_and_split_frames(self):
        c = self.raw()
        c.send_raw(b"".join(frame(m) for m in ({"type": "hello", "version": 1, "id": 1}, {"type": "status", "id": 2},
                                               {"type": "sessions", "id": 3}, {"type": "status", "id": 4})))
        got = [c.recv() for _ in range(4)]
        self.assertEqual([(m.get("type"), m.get("id")) for m in got],
                         [("hello", 1), ("status", 2), ("sessions", 3), ("status", 4)], got)
        c2 = self.raw()
        for b in frame({"type": "hello", "version": 1}):
            c2.send_raw(bytes([b]))
            time.sleep(0.002)
        self.assertEqual(c2.recv().get("type"), "hello", "a frame sent a byte at a time")
        self.assert_healthy("pipelined and split frames")

    def test_deeply_nested_json(self):
        c = self.raw()
        c.hello()
        c.send_hostile(frame(b'{"type":"status","x":' + b"[" * 10000 + b"]" * 10000 + b"}"))
        self.assert_closed(c, "JSON nested 10000 levels deep")
        c = self.raw()
        c.send_hostile(frame(b"[" * 30000))
        self.assert_closed(c, "30000 unclosed brackets")
        c = self.raw()  # a little nesting is fine
        c.hello()
        reply = c.call({"type": "status", "x": [[[[[[[[[[1]]]]]]]]]]})
        self.assertEqual(reply.get("type"), "status", reply)
        self.assert_healthy("deeply nested JSON")

    def test_request_size_limit(self):
        def padded(size):
            head, tail = b'{"type":"status","pad":"', b'"}'
            return head + b"x" * (size - len(head) - len(tail)) + tail
        at_limit, over = padded(MAX_REQUEST), padded(MAX_REQUEST + 1)
        self.assertEqual((len(at_limit), len(over)), (MAX_REQUEST, MAX_REQUEST + 1))
        c = self.raw()
        c.hello()
        c.send_raw(frame(at_limit))
        self.assertEqual(c.recv().get("type"), "status", "a request of exactly 64 KiB is allowed")
        c.send_hostile(frame(over))
        self.assert_closed(c, "a request of 64 KiB + 1", "EPROTO")
        c = self.raw()
        c.hello()
        c.send_hostile(frame(b'{"type":"status","pad":"' + b"x" * (1 << 20) + b'"}'))
        self.assert_closed(c, "a request of 1 MiB", "EPROTO")
        self.assert_healthy("requests over 64 KiB")

    def open_many(self, n, greet=True):
        conns = []
        for i in range(n):
            c = Conn(self.daemon.socket, timeout=5)
            self.addCleanup(c.close)
            if not greet:
                pass
            elif i % 3 == 1:
                c.hello()
            elif i % 3 == 2:
                c.send_raw(b"\x00\x00")  # half a length
            conns.append(c)
        return conns

    def wait_clients(self, n, timeout=ANSWER_S):
        deadline = time.monotonic() + timeout
        while True:
            st = self.daemon.status()
            if st["clients"] == n or time.monotonic() > deadline:
                return st
            time.sleep(0.02)

    def test_200_connections_held_open(self):
        conns = self.open_many(200)
        st = self.assert_healthy("200 connections held open")
        self.assertEqual(st["clients"], 201, "200 held open and the one asking: %s" % st)
        for c in conns:
            c.close()
        st = self.wait_clients(1)
        self.assertEqual(st["clients"], 1, "the 200 closed connections are still counted: %s" % st)
        self.assert_healthy("200 connections closed")

    def test_300_connections(self):
        keeper = self.raw()  # holds one slot, and asks while the rest are full
        keeper.hello()
        self.wait_clients(2)
        before = keeper.request({"type": "status"})
        self.assertEqual(before["clients"], 1, "another client is connected: %s" % before)
        conns = self.open_many(300, greet=False)
        deadline = time.monotonic() + ANSWER_S
        refused = set()
        while time.monotonic() < deadline and len(refused) < 300 - (MAX_CLIENTS - 1):
            readable = select.select([c.sock for c in conns if c.sock not in refused], [], [], 0.05)[0]
            for s in readable:
                # a refused connection gets an error, then is closed; the others are sent nothing
                try:
                    data = s.recv(1 << 16)
                except ConnectionResetError:
                    data = b""
                self.assertTrue(not data or b"rtprofd has all its %d connections in use" % MAX_CLIENTS in data,
                                "a refused connection is told why: %r" % data[:300])
                refused.add(s)
        st = keeper.request({"type": "status"}, timeout=ANSWER_S)
        self.assertEqual(st["clients"], MAX_CLIENTS, "with 301 connections the daemon keeps %d: %s"
                         % (MAX_CLIENTS, st))
        self.assertEqual(len(refused), 300 - (MAX_CLIENTS - 1), "connections closed by the daemon")
        self.assertEqual(st["dropped_clients"] - before["dropped_clients"], 300 - (MAX_CLIENTS - 1), st)
        for c in conns:
            c.close()
        keeper.close()
        st = self.wait_clients(1)
        self.assertEqual(st["clients"], 1, "closed connections are still counted: %s" % st)
        self.assert_healthy("300 connections")


class SlowReader(HostileBase):
    """Its own daemon: what this client makes rtprofd allocate must not be charged to the other tests."""

    def test_client_that_never_reads(self):
        """A client sends queries without end and reads nothing. Its session is on a process of 200 threads, so
        that each reply is large (tens of kB): the replies pile up fast. Meanwhile others must be answered within
        1 s, and rtprofd's memory must stay bounded (it may stop reading from that client, or drop it)."""
        tmp = self.tmpdir()
        ready = os.path.join(tmp, "ready")
        target = self.spawn([rtp.python_exe(), rtp.workload("park_threads.py"), ready, "200"])
        self.wait_ready(ready, target, "park_threads.py")
        slow = self.raw()
        slow.hello()
        sid = slow.request({"type": "attach", "pids": [target.pid]})["session"]
        reply_size = len(json.dumps(slow.request({"type": "query", "session": sid, "what": "summary"})))
        batch = frame({"type": "query", "session": sid, "what": "summary"}) * 1000
        stop = threading.Event()
        sent = [0]
        ended = [None]

        def pump():
            slow.sock.setblocking(False)
            off = 0
            while not stop.is_set():
                select.select([], [slow.sock], [], 0.1)
                try:
                    n = slow.sock.send(batch[off:])
                except BlockingIOError:
                    continue
                except OSError as e:
                    ended[0] = e  # dropped by the daemon
                    return
                off = (off + n) % len(batch)
                sent[0] += n

        pumper = threading.Thread(target=pump, daemon=True)
        pumper.start()
        self.addCleanup(stop.set)
        latencies = []
        start = time.monotonic()
        try:
            while time.monotonic() - start < 3.0:
                t = time.monotonic()
                try:
                    self.daemon.status(timeout=5)
                    latencies.append(time.monotonic() - t)
                except (OSError, EOFError):
                    latencies.append(float("inf"))
                time.sleep(0.1)
        finally:
            stop.set()
            pumper.join(5)
        peak_kb = vm_hwm_kb(self.daemon.pid)
        slow.close()
        self.wait_answer(10)  # what the flood left queued is not this check's concern
        worst = max(latencies)
        self.assertLess(worst, ANSWER_S, "while one client sent queries without reading the replies (%d bytes of "
                        "requests in 3 s, replies of %d bytes each; %s), a fresh client waited up to %s for its "
                        "status (%d tries: %s); rtprofd's peak RSS %d kB (started at %d kB)"
                        % (sent[0], reply_size, "it was dropped: %r" % ended[0] if ended[0] else "it stayed connected",
                           "%.2f s" % worst if worst < 1e9 else "more than 5 s", len(latencies),
                           ", ".join("%.3f" % x for x in latencies), peak_kb, self.daemon.baseline_rss_kb))
        self.assertLessEqual(peak_kb, self.daemon.baseline_rss_kb + RSS_GROWTH_KB,
                             "a client that does not read its replies made rtprofd's RSS reach %d kB (started at "
                             "%d kB; %s)" % (peak_kb, self.daemon.baseline_rss_kb,
                                             "dropped: %r" % ended[0] if ended[0] else "not dropped"))
        self.assert_healthy("a client that never reads")

    def wait_answer(self, timeout):
        deadline = time.monotonic() + timeout
        while True:
            try:
                return self.daemon.status(timeout=timeout)
            except (OSError, EOFError):
                if time.monotonic() > deadline:
                    raise


def vm_hwm_kb(pid):
    """Peak RSS of a process."""
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return 0


# ---- 6. lifecycle -------------------------------------------------------------------------------------------------

class Lifecycle(DaemonCase):
    def wait_until(self, predicate, timeout):
        deadline = time.monotonic() + timeout
        while True:
            value = predicate()
            if value or time.monotonic() > deadline:
                return value
            time.sleep(0.02)

    def test_cli_killed_mid_session(self):
        sleeper = self.spawn(["sleep", "60"])
        bg = self.background([rtp.RTPROF, "attach", "--socket", self.daemon.socket, str(sleeper.pid)])
        self.assertTrue(bg.attached.wait(STARTUP_TIMEOUT), "rtprof did not attach\n" + bg.describe())
        sid = bg.session()
        self.assertIn(sid, self.daemon.sessions(), bg.describe())
        bg.proc.kill()
        bg.proc.wait()
        start = time.monotonic()
        gone = self.wait_until(lambda: sid not in self.daemon.sessions(), 1.0)
        self.assertTrue(gone, "session %d still listed 1 s after its CLI was killed: %s"
                        % (sid, self.daemon.sessions()))
        self.assertLess(time.monotonic() - start, 1.5)
        self.assertIsNone(sleeper.poll(), "the target must outlive its profiler")
        self.assert_state_not_stopped(sleeper.pid)

    def assert_state_not_stopped(self, pid):
        with open("/proc/%d/stat" % pid) as f:
            text = f.read()
        state = text[text.rindex(")") + 2]
        self.assertNotIn(state, "tT", "process %d is left stopped (state %s)" % (pid, state))

    def test_target_killed_mid_session(self):
        tmp = self.tmpdir()
        ready, go, done = (os.path.join(tmp, n) for n in ("ready", "go", "done"))
        target = self.spawn([rtp.python_exe(), rtp.workload("getppid_then_park.py"), ready, go, done, str(K_GETPPID)])
        self.wait_ready(ready, target, "getppid_then_park.py")
        c = self.conn()
        sid = c.request({"type": "attach", "pids": [target.pid]})["session"]
        open(go, "w").close()
        self.assertTrue(rtp.wait_for_file(done, target, WORKLOAD_TIMEOUT), "workload did not make its calls")
        self.assertEqual(self.daemon.sessions()[sid]["live_processes"], 1)
        target.kill()
        target.wait()
        live = self.wait_until(lambda: self.daemon.sessions()[sid]["live_processes"] == 0, 1.0)
        self.assertTrue(live, "live_processes is %d 1 s after the only target was killed"
                        % self.daemon.sessions()[sid]["live_processes"])
        rep = c.request({"type": "query", "session": sid, "what": "summary"})["report"]
        self.assertEqual(rtp.syscall_count(self, rep, "getppid"), K_GETPPID, rtp.syscall_summary(rep))
        self.assertEqual(rep["target"]["pid"], target.pid)
        self.assertTrue(rep["target"]["exited"], "the killed target should be marked exited: %s" % rep["target"])
        res = rtp.rtprof("query", "--json", "--socket", self.daemon.socket, str(sid), "syscalls", timeout=30)
        self.assertEqual(res.returncode, 0, res.describe())
        self.assertEqual(rtp.syscall_count(self, rtp.parse_report(self, res.stdout, "query"), "getppid"), K_GETPPID)


class SocketTakeover(DaemonCase):
    """Its own daemon: a failure here would take the socket from the other tests."""

    def test_second_daemon_on_the_same_socket(self):
        before = os.stat(self.daemon.socket)
        res = rtp.run([rtp.rtprofd_path(), "--socket", self.daemon.socket], timeout=30)
        self.assertNotEqual(res.returncode, 0, "a second rtprofd on a live socket must fail\n" + res.describe())
        self.assertIn("another rtprofd", res.stderr, res.describe())
        self.assertTrue(os.path.exists(self.daemon.socket),
                        "the second rtprofd removed the first one's socket file %s\n%s"
                        % (self.daemon.socket, res.describe()))
        self.assert_healthy("a second rtprofd tried the same socket")
        self.assertEqual(os.stat(self.daemon.socket).st_ino, before.st_ino, "the socket file was replaced")


class SocketDirectory(unittest.TestCase):
    def test_missing_directory_is_said(self):
        # a --socket in a directory that does not exist: said so, with what to do (the default's directory,
        # /run/rtprof, rtprofd makes itself when its package did not)
        rtp.require_root(self)
        with tempfile.TemporaryDirectory(prefix="rtprofd-sock-") as tmp:
            sock = os.path.join(tmp, "missing", "rtprofd.sock")
            res = rtp.run([rtp.rtprofd_path(), "--socket", sock], timeout=30)
        self.assertNotEqual(res.returncode, 0, res.describe())
        self.assertIn("%s: its directory does not exist" % sock, res.stderr, res.describe())


def bpf_programs():
    """bpftool's list of loaded programs, or None without bpftool."""
    bpftool = shutil.which("bpftool") or ("/usr/sbin/bpftool" if os.path.exists("/usr/sbin/bpftool") else None)
    if not bpftool:
        return None
    res = rtp.run([bpftool, "prog", "show", "--json"], timeout=30)
    if res.returncode != 0:
        raise AssertionError("bpftool failed\n" + res.describe())
    return json.loads(res.stdout)


def held_prog_ids(pid):
    """Ids of the BPF programs a process holds a file descriptor of (a program's, or a link's)."""
    ids = set()
    fddir = "/proc/%d/fdinfo" % pid
    for fd in os.listdir(fddir):
        try:
            with open(os.path.join(fddir, fd)) as f:
                for line in f:
                    if line.startswith("prog_id:"):
                        ids.add(int(line.split()[1]))
        except OSError:
            pass
    return ids


class Shutdown(DaemonCase):
    def test_sigterm(self):
        d = self.daemon
        sleeper = self.spawn(["sleep", "60"])
        c = self.conn()
        c.request({"type": "attach", "pids": [sleeper.pid]})
        progs = bpf_programs()
        held = held_prog_ids(d.pid)
        if progs is not None:
            ours = {p["id"] for p in progs if p.get("name", "").startswith("rtp_")
                    and (p["id"] in held or any(x.get("pid") == d.pid for x in p.get("pids", [])))}
            self.assertTrue(ours, "rtprofd holds no rtp_* program before SIGTERM (held ids %s)" % sorted(held))
        else:
            self.assertTrue(held, "rtprofd holds no BPF program before SIGTERM")
        d.proc.send_signal(signal.SIGTERM)
        start = time.monotonic()
        try:
            rc = d.proc.wait(2.0)
        except subprocess.TimeoutExpired:
            rc = d.proc.wait(30)
            self.fail("rtprofd took %.1f s to exit after SIGTERM (exit %r)\n%s"
                      % (time.monotonic() - start, rc, d.log_tail()))
        d.exit_code = rc
        self.assertEqual(rc, 0, "rtprofd should exit 0 on SIGTERM\n" + d.log_tail())
        self.assertFalse(os.path.exists(d.socket), "rtprofd left its socket file %s" % d.socket)
        closed, _ = c.wait_closed(ANSWER_S)
        self.assertTrue(closed, "the client's connection is still open after rtprofd exited")
        self.assertIsNone(sleeper.poll(), "the target must outlive the daemon")
        if progs is None:
            rtp.skip_or_fail(self, "bpftool is not installed: cannot check that rtprofd's programs are gone")
        # the kernel frees programs after the last reference goes, some of it deferred (RCU): allow it 5 s
        deadline = time.monotonic() + 5
        while True:
            left = [(p["id"], p.get("name")) for p in bpf_programs()
                    if p["id"] in ours or any(x.get("pid") == d.pid for x in p.get("pids", []))]
            if not left or time.monotonic() > deadline:
                break
            time.sleep(0.1)
        self.assertEqual(left, [], "rtprofd's BPF programs outlived it by %.1f s" % (time.monotonic() - start))


# ---- budgets: watch mode at scale, shutdown, the loop's latency (the daemon's performance issue) ----------------

IDLE_PY = "import time\nwhile True: time.sleep(0.2)\n"
IDLE_JS = "setInterval(() => {}, 200);"
# The budgets are the release build's. The sanitizer pass (rtp.sanitized()) runs 2-4 times slower: there
# they are scaled by SANITIZED_SLACK, and what is checked is that the work is done off the loop at all.
WATCH_WITHIN_S = 1.0       # a process is watched this soon after its exec
STOP_WITHIN_S = 2.0        # rtprofd exits this soon after SIGTERM
REQUEST_WITHIN_S = 0.050   # no request waits longer behind an attach or a detach
SANITIZED_SLACK = 4


def budget(seconds):
    return seconds * SANITIZED_SLACK if rtp.sanitized() else seconds


def bpftool():
    return shutil.which("bpftool") or ("/usr/sbin/bpftool" if os.path.exists("/usr/sbin/bpftool") else None)


def bpf_links():
    """bpftool's list of BPF links, or None without bpftool."""
    tool = bpftool()
    if not tool:
        return None
    res = rtp.run([tool, "link", "show", "--json"], timeout=30)
    if res.returncode != 0:
        raise AssertionError("bpftool failed\n" + res.describe())
    return json.loads(res.stdout or "[]")


def pids_where(pred):
    """The pids of the processes for whose /proc/PID name pred is true (gone meanwhile: left out)."""
    pids = []
    for name in os.listdir("/proc"):
        try:
            if name.isdigit() and pred(name):
                pids.append(int(name))
        except OSError:
            pass
    return pids


def children_of(pid):
    """The pids of the processes whose parent is pid."""
    def parent(name):
        with open("/proc/%s/stat" % name) as f:
            return int(f.read().rsplit(")", 1)[1].split()[1])
    return pids_where(lambda name: parent(name) == pid)


def running_program(path):
    """The pids of the processes running the executable at path."""
    return pids_where(lambda name: os.path.realpath("/proc/%s/exe" % name) == path)


def proc_state(pid):
    with open("/proc/%d/stat" % pid) as f:
        return f.read().rsplit(")", 1)[1].split()[0]


def runq_s(pid, main_only=False):
    """Seconds the threads of process pid (or its main thread) have waited for a CPU (the kernel's schedstat,
    summed); 0 when gone."""
    total = 0
    try:
        tids = [str(pid)] if main_only else os.listdir("/proc/%d/task" % pid)
    except OSError:
        return 0.0
    for tid in tids:
        try:
            with open("/proc/%d/task/%s/schedstat" % (pid, tid)) as f:
                total += int(f.read().split()[1])
        except (OSError, IndexError, ValueError):
            pass
    return total / 1e9


class WatchAtScale(unittest.TestCase):
    """rtprofd --watch python,node with 40 to 60 processes: each watched within 1 s of its exec; SIGTERM
    ends it within 2 s, leaving no process, link or program of its own, and the watched processes running."""

    def setUp(self):
        rtp.require_root(self)
        self.node = rtp.require_node(self)
        # root's reserve (1/8) is kept out of watch mode: 128 slots watch 112 processes
        self.daemon = Daemon(extra=["--watch", "python,node"], config="max_sessions = 128\n")
        self.addCleanup(self.stop_daemon)

    def stop_daemon(self):
        d = self.daemon
        rc = d.stop()
        log = d.log_tail()
        d.cleanup()
        self.assertEqual(rc, 0, "rtprofd should exit 0 on SIGTERM\n" + log)

    def start(self, n):
        """n idle processes, python and node in turn: {pid: monotonic time before its fork}; self.rq0: {pid:
        rtprofd's run-queue wait then}."""
        started = {}
        for i in range(n):
            argv = [self.node, "-e", IDLE_JS] if i % 2 else [rtp.python_exe(), "-c", IDLE_PY]
            rq = runq_s(self.daemon.pid)
            t0 = time.monotonic()
            p = rtp.spawn(self, argv)
            started[p.pid] = t0
            self.rq0[p.pid] = rq
            self.procs.append(p)
        return started

    def watch_while_starting(self, n, timeout):
        """Start n processes while another client lists the watched ones every 10 ms: {pid: seconds from
        before its fork until the list first had it}, for those seen within timeout."""
        c = self.daemon.connect()
        self.addCleanup(c.close)
        seen, stop, errors = {}, threading.Event(), []
        # what the kernel says the machine's load cost: rtprofd's wait for a CPU between a process's fork and
        # the list that first had it, and the process's own before its exec (self.allow, seconds)
        self.rq0, self.allow = {}, {}

        def poll():
            try:
                while not stop.is_set():
                    pids = self.watched_pids(c)
                    now = time.monotonic()
                    rq = runq_s(self.daemon.pid)
                    for pid in pids:
                        if pid not in seen:
                            seen[pid] = now
                            self.allow[pid] = rq - self.rq0.get(pid, rq) + runq_s(pid, True)
                    time.sleep(0.01)
            except Exception as e:  # noqa: BLE001 -- reported by the test
                errors.append(e)

        poller = threading.Thread(target=poll, daemon=True)
        poller.start()
        self.procs = []
        started = self.start(n)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and not set(started) <= set(seen) and not errors:
            time.sleep(0.05)
        stop.set()
        poller.join(10)
        self.assertEqual(errors, [], "listing the sessions failed")
        return {pid: seen[pid] - t0 for pid, t0 in started.items() if pid in seen}

    def watched_pids(self, c):
        return {pid for s in c.request({"type": "sessions"})["sessions"] if s["watched"] for pid in s["pids"]}

    def test_40_processes_each_watched_within_1s(self):
        seen = self.watch_while_starting(40, 10)
        lat = sorted(seen.values())
        sys.stderr.write("\n  40 processes started at once: watched %.3f s after their fork at most (median %.3f, "
                         "least %.3f)\n" % (lat[-1], lat[len(lat) // 2], lat[0]) if lat else "")
        self.assertEqual(len(seen), 40, "watched %d of 40 processes within 10 s\n%s"
                         % (len(seen), self.daemon.log_tail()))
        late = {pid: (round(t, 3), round(self.allow[pid], 3)) for pid, t in seen.items()
                if t > budget(WATCH_WITHIN_S) + self.allow[pid]}
        self.assertEqual(late, {}, "processes watched more than %.1f s after their fork, beyond the time rtprofd "
                         "and they waited for a CPU meanwhile ({pid: (s, waits s)})\n%s"
                         % (budget(WATCH_WITHIN_S), self.daemon.log_tail()))

    def test_sigterm_with_60_watched(self):
        d = self.daemon
        seen = self.watch_while_starting(60, 30)
        self.assertEqual(len(seen), 60, "watched %d of 60 processes\n%s" % (len(seen), d.log_tail()))
        progs, links = bpf_programs(), bpf_links()
        if progs is None or links is None:
            rtp.skip_or_fail(self, "bpftool is not installed: cannot check that rtprofd's probes are gone")
        held = held_prog_ids(d.pid)
        ours = {p["id"] for p in progs if p.get("name", "").startswith("rtp_")
                and (p["id"] in held or any(x.get("pid") == d.pid for x in p.get("pids", [])))}
        our_links = {l["id"] for l in links if l.get("prog_id") in ours}
        # the probes' tracepoints and, for each program, its runtime probes: placed on its files for every
        # process (python: the collector's two; node: the threadpool's and V8's collector), not per process
        # (bpftool names BPF_LINK_TYPE_UPROBE_MULTI, or gives its number when it predates it)
        runtime = [l for l in links if l["id"] in our_links and l.get("type") in ("uprobe_multi", 12)]
        self.assertGreaterEqual(len(runtime), 2, "rtprofd holds %d runtime links for 60 processes: %s"
                                % (len(runtime), [(l["id"], l.get("type")) for l in links if l["id"] in our_links]))
        kids = children_of(d.pid)
        start = time.monotonic()
        d.proc.send_signal(signal.SIGTERM)
        try:
            rc = d.proc.wait(budget(STOP_WITHIN_S))
        except subprocess.TimeoutExpired:
            rc = d.proc.wait(60)
            self.fail("rtprofd took %.2f s to exit after SIGTERM with 60 processes watched (exit %r)\n%s"
                      % (time.monotonic() - start, rc, d.log_tail()))
        took = time.monotonic() - start
        d.exit_code = rc
        sys.stderr.write("\n  60 processes watched: rtprofd exited %.3f s after SIGTERM\n" % took)
        self.assertEqual(rc, 0, "rtprofd should exit 0 on SIGTERM\n" + d.log_tail())
        self.assertEqual(running_program(os.path.realpath(rtp.rtprofd_path())), [], "an rtprofd still runs")
        self.assertEqual([k for k in kids if os.path.exists("/proc/%d" % k)], [], "rtprofd's children outlived it")
        left_links = [l for l in bpf_links() if l["id"] in our_links or l.get("prog_id") in ours]
        self.assertEqual(left_links, [], "rtprofd's links outlived it")
        # the kernel frees a program after its last reference, some of it deferred (RCU): within the budget
        while True:
            left = [(p["id"], p.get("name")) for p in bpf_programs() if p["id"] in ours]
            if not left or time.monotonic() - start > budget(STOP_WITHIN_S):
                break
            time.sleep(0.05)
        self.assertEqual(left, [], "rtprofd's programs outlived it by %.2f s" % (time.monotonic() - start))
        time.sleep(0.5)
        for p in self.procs:
            self.assertIsNone(p.poll(), "watched process %d died (exit %r)" % (p.pid, p.returncode))
            self.assertIn(proc_state(p.pid), ("S", "R"), "watched process %d is not running" % p.pid)


class LoopLatency(DaemonCase):
    """Attaches and detaches of node processes go on while another client asks for the status: the ELF
    analysis of an attach, its runtime probes' links and what its stack walker reads of node's executable are
    not done on the loop, and no status waits more than 50 ms."""

    def test_status_while_node_attaches_and_detaches(self):
        node = rtp.require_node(self)
        # distinct programs: the first attach of each has to analyse its ELF file (not cached yet)
        tmp = self.tmpdir()
        nodes = []
        for i in range(3):
            copy = os.path.join(tmp, "node%d" % i)
            shutil.copy(os.path.realpath(node), copy)
            nodes.append(self.spawn([copy, "-e", IDLE_JS]))
        time.sleep(0.5)  # their own start, not the daemon's work
        stop = threading.Event()
        latencies, cycles, errors = [], [], []

        def attach_detach():
            c = self.daemon.connect()
            try:
                rounds = 0
                while not stop.is_set():
                    for p in nodes:
                        t = time.monotonic()
                        msg = {"type": "attach", "pids": [p.pid]}
                        if rounds % 2 == 0:
                            msg["sample_hz"] = 99  # every other round with stacks, the first among them
                        sid = c.request(msg, timeout=30)["session"]
                        c.request({"type": "detach", "session": sid}, timeout=30)
                        cycles.append(time.monotonic() - t)
                    rounds += 1
            except Exception as e:  # noqa: BLE001 -- reported by the test
                errors.append(e)
            finally:
                c.close()

        worker = threading.Thread(target=attach_detach, daemon=True)
        c = self.conn()
        worker.start()
        deadline = time.monotonic() + 6
        while time.monotonic() < deadline and not errors:
            t = time.monotonic()
            st = c.request({"type": "status"})
            latencies.append(time.monotonic() - t)
            self.assertEqual(st["pid"], self.daemon.pid)
            time.sleep(0.002)
        stop.set()
        worker.join(60)
        self.assertEqual(errors, [], "attach/detach failed")
        self.assertGreaterEqual(len(cycles), 6, "only %d attach+detach cycles in 6 s" % len(cycles))
        worst = max(latencies)
        sys.stderr.write("\n  %d status requests during %d attach+detach cycles of node (%.0f ms each at most): "
                         "answered within %.1f ms (median %.1f)\n"
                         % (len(latencies), len(cycles), 1000 * max(cycles), 1000 * worst,
                            1000 * sorted(latencies)[len(latencies) // 2]))
        self.assertLessEqual(worst, budget(REQUEST_WITHIN_S), "a status waited %.1f ms behind an attach or detach\n%s"
                             % (1000 * worst, self.daemon.log_tail()))


class SessionsList(unittest.TestCase):
    """`rtprof sessions` says what each session runs: its first process's command and runtime."""

    def setUp(self):
        rtp.require_root(self)

    def test_command_and_runtime(self):
        sock, _ = rtp.start_rtprofd(self)
        proc = subprocess.Popen([rtp.python_exe(), "-c", "import time; time.sleep(30)"])
        self.addCleanup(proc.wait)
        self.addCleanup(proc.kill)
        time.sleep(0.3)
        attach = subprocess.Popen([rtp.RTPROF, "--socket", sock, "attach", "-q", "-o", "/dev/null", "-d", "5",
                                   str(proc.pid)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.addCleanup(attach.wait)
        self.addCleanup(attach.kill)
        deadline = time.monotonic() + 10
        while True:
            res = rtp.rtprof("--socket", sock, "sessions", "--json")
            self.assertEqual(res.returncode, 0, res.describe())
            ours = [s for s in json.loads(res.stdout) if proc.pid in s["pids"]]
            if ours and ours[0]["runtime"]:
                break
            self.assertLess(time.monotonic(), deadline, "no runtime for the session: %s" % res.stdout)
            time.sleep(0.1)
        self.assertEqual(ours[0]["comm"], "python3")
        self.assertRegex(ours[0]["runtime"], r"^python 3\.\d+\.\d+")
        text = rtp.rtprof("--socket", sock, "sessions")
        row = [l for l in text.stdout.splitlines() if l.rstrip().endswith(" %d" % proc.pid)]
        self.assertEqual(len(row), 1, text.stdout)
        self.assertRegex(row[0], r" python3 +python 3\.\d+\.\d+ +%d$" % proc.pid)


if __name__ == "__main__":
    rtp.main()
