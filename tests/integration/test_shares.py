"""rtprofd's limits have a share for each user and a reserve for root: what one user takes, as an attacker
would, never denies the others -- root least of all.

Each class runs an rtprofd with small limits in its configuration (so that filling them is quick), and users
65534 and 65533 (and a few more) as clients: raw protocol clients run through setpriv, their processes too.

- Connections (max_clients 8): a user gets 2, root's status still answers.
- Recordings (max_recordings 4): a user gets 1, the last is root's; a trace buffer asked over the daemon's
  maximum is clamped to it, and the reply says so.
- Sessions (max_sessions 8, watch node): retained sessions of exited watched processes are evicted, oldest
  first and logged, for new ones; a user gets 2 sessions, the last slot is root's; attaching to one's own
  watched process is EBUSY and leaves the watched session alone.
- /metrics (16 connections, 4 from one address, 3 s each at most): a connection sending a byte a second is
  closed 3 s after its accept; a fifth one from one address is refused; 16 of them, from several
  addresses, hold a new scraper off for a few seconds at most.
- Threads (max_threads 1024): a user's sessions track at most 256 threads, however many its processes have;
  root's 4-thread python is reported with its 4 threads.
"""

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import unittest
import urllib.request

import rtp
from test_daemon import Daemon, nobody_ids, stop_class_daemon

STARTUP_TIMEOUT = 30

# A raw protocol client, run as another user: one JSON command a line on stdin, one JSON answer a line on
# stdout. {"op":"connect","name":N} -> the hello reply (or the error the daemon sent, or {"eof":true});
# {"op":"call","name":N,"msg":{...}} -> the reply; {"op":"close","name":N}. Binary frames are skipped.
CLIENT = r'''
import json, socket, struct, sys
path = sys.argv[1]
conns = {}
def recv(s):
    while True:
        head = b""
        while len(head) < 4:
            chunk = s.recv(4 - len(head))
            if not chunk:
                return {"eof": True}
            head += chunk
        (n,) = struct.unpack(">I", head)
        binary, n = n & 0x80000000, n & 0x7fffffff
        body = b""
        while len(body) < n:
            chunk = s.recv(n - len(body))
            if not chunk:
                return {"eof": True}
            body += chunk
        if not binary:
            return json.loads(body.decode())
def send(s, msg):
    data = json.dumps(msg).encode()
    s.sendall(struct.pack(">I", len(data)) + data)
for line in sys.stdin:
    cmd = json.loads(line)
    try:
        if cmd["op"] == "connect":
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            s.settimeout(10)
            s.connect(path)
            conns[cmd["name"]] = s
            try:
                send(s, {"type": "hello", "version": 1})
            except OSError:
                pass
            out = recv(s)
        elif cmd["op"] == "call":
            send(conns[cmd["name"]], cmd["msg"])
            out = recv(conns[cmd["name"]])
        elif cmd["op"] == "close":
            conns.pop(cmd["name"]).close()
            out = {}
    except (OSError, ValueError) as e:
        out = {"oserror": str(e)}
    print(json.dumps(out), flush=True)
'''


def log(fmt, *args):
    """A measurement, on stderr."""
    sys.stderr.write("shares: " + (fmt % args if args else fmt) + "\n")
    sys.stderr.flush()


def as_user(uid):
    """setpriv's argv for a process of uid, in nobody's group (which the socket's group lets in)."""
    ids = nobody_ids()
    return ["setpriv", "--reuid=%d" % uid, "--regid=%d" % ids[1], "--clear-groups"]


class User:
    """Raw protocol clients of one uid, in a process of that uid."""

    def __init__(self, case, uid):
        self.uid = uid
        self.proc = subprocess.Popen(as_user(uid) + [sys.executable, "-c", CLIENT, case.daemon.socket],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, universal_newlines=True)
        case.addCleanup(self.stop)

    def _do(self, cmd, timeout=15):
        self.proc.stdin.write(json.dumps(cmd) + "\n")
        self.proc.stdin.flush()
        out = []
        t = threading.Thread(target=lambda: out.append(self.proc.stdout.readline()), daemon=True)
        t.start()
        t.join(timeout)
        if not out or not out[0]:
            raise AssertionError("uid %d's client gave no answer to %s in %d s" % (self.uid, cmd, timeout))
        return json.loads(out[0])

    def connect(self, name):
        return self._do({"op": "connect", "name": name})

    def call(self, name, msg):
        return self._do({"op": "call", "name": name, "msg": msg})

    def close(self, name):
        self._do({"op": "close", "name": name})

    def stop(self):
        if self.proc.poll() is None:
            self.proc.stdin.close()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc.stdout.close()


class SharesCase(unittest.TestCase):
    CONFIG = ""

    @classmethod
    def setUpClass(cls):
        cls.daemon = None
        if os.geteuid() == 0 and rtp.RTPROF and nobody_ids() and shutil.which("setpriv"):
            cls.daemon = Daemon(config=cls.CONFIG)

    @classmethod
    def tearDownClass(cls):
        stop_class_daemon(cls)

    def setUp(self):
        rtp.require_root(self)
        if not nobody_ids():
            rtp.skip_or_fail(self, "no user nobody with a group")
        if not shutil.which("setpriv"):
            rtp.skip_or_fail(self, "setpriv is not installed to run processes as other users")
        self.assertIsNotNone(self.daemon, "no rtprofd for this class")
        self.assertTrue(self.daemon.alive(), "rtprofd died before this test\n" + self.daemon.log_tail())
        # the clients of the test before are gone (a status connection is one)
        self.wait_for(lambda: self.daemon.status(timeout=2)["clients"] == 1, "the earlier clients gone")
        with open(self.daemon.log_path, errors="replace") as f:
            self.log_start = len(f.read())

    def spawn(self, argv, uid=None):
        return rtp.spawn(self, (as_user(uid) if uid is not None else []) + argv)

    def sleeper(self, uid=None):
        proc = self.spawn(["sleep", "300"], uid)
        self.wait_for(lambda: os.path.exists("/proc/%d" % proc.pid) and
                      (uid is None or os.stat("/proc/%d" % proc.pid).st_uid == uid), "sleep of uid %s" % uid)
        return proc

    def wait_for(self, cond, what, timeout=20):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if cond():
                return
            time.sleep(0.05)
        self.fail("%s: not in %d s\n%s" % (what, timeout, self.daemon.log_tail()))

    def log(self):
        """What rtprofd logged during this test."""
        with open(self.daemon.log_path, errors="replace") as f:
            return f.read()[self.log_start:]

    def assert_error(self, reply, code, message, what):
        self.assertEqual((reply.get("type"), reply.get("code"), reply.get("message")), ("error", code, message),
                         "%s: %s\n%s" % (what, reply, self.daemon.log_tail()))

    def assert_ok(self, reply, kind, what):
        self.assertEqual(reply.get("type"), kind, "%s: %s\n%s" % (what, reply, self.daemon.log_tail()))


class Connections(SharesCase):
    CONFIG = "max_clients = 8\n"

    def test_a_user_gets_its_share_and_root_its_reserve(self):
        """8 connections: a user gets 2 of them (1/4), and users never the last one (root's, 1/8). Four users
        take 7; root's status still answers."""
        users = [User(self, uid) for uid in (65534, 65533, 65532, 65531)]
        a, b, c, d = users
        for u in (a, b, c):
            for name in ("1", "2"):
                self.assert_ok(u.connect(name), "hello", "uid %d's connection %s" % (u.uid, name))
        self.assert_error(a.connect("3"), "ENOSPC", "uid 65534 already has 2 of its 2 connections",
                          "uid 65534's third connection")
        self.assert_ok(d.connect("1"), "hello", "uid 65531's first connection, the 7th")
        self.assert_error(d.connect("2"), "ENOSPC", "the 1 connections of rtprofd's 8 left are root's reserve",
                          "uid 65531's second connection, which would be the 8th")
        st = self.daemon.status(timeout=2)
        self.assertEqual(st["clients"], 8, "7 users' connections and root's own: %s" % st)
        log = self.log()
        self.assertIn("refused a connection of uid 65534", log)
        self.assertIn("refused a connection of uid 65531", log)
        # a user's connection closed is one more for it
        a.close("1")
        self.wait_for(lambda: self.daemon.status(timeout=2)["clients"] == 7, "uid 65534's connection closed")
        self.assert_ok(a.connect("4"), "hello", "uid 65534's connection after closing one")


class Recordings(SharesCase):
    CONFIG = "max_recordings = 4\nmax_trace_buffer = 1048576\n"

    def record(self, user, name, pid, **extra):
        user.connect(name)
        msg = dict({"type": "record", "pids": [pid]}, **extra)
        return user.call(name, msg)

    def test_a_user_gets_its_share_and_root_its_reserve(self):
        """4 recordings: a user gets 1, users never the last one."""
        a, b, c = User(self, 65534), User(self, 65533), User(self, 65532)
        for u in (a, b):
            self.assert_ok(self.record(u, "1", self.sleeper(u.uid).pid), "recording", "uid %d's recording" % u.uid)
        self.assert_error(self.record(a, "2", self.sleeper(a.uid).pid), "ENOSPC",
                          "uid 65534 already has 1 of its 1 recordings", "uid 65534's second recording")
        self.assert_ok(self.record(c, "1", self.sleeper(c.uid).pid), "recording", "uid 65532's recording, the 3rd")
        d = User(self, 65531)
        self.assert_error(self.record(d, "1", self.sleeper(d.uid).pid), "ENOSPC",
                          "the 1 recordings of rtprofd's 4 left are root's reserve", "uid 65531's recording")
        root = User(self, 0)
        self.assert_ok(self.record(root, "1", self.sleeper().pid), "recording", "root's recording, the 4th")
        self.assertIn("refused: uid 65534 (pid", self.log())

    def test_trace_buffer_clamped(self):
        """An unprivileged recording asking for 64 MiB gets the daemon's maximum (1 MiB here), and is told;
        one asking for less gets what it asked for."""
        a, b = User(self, 65534), User(self, 65533)
        reply = self.record(a, "1", self.sleeper(a.uid).pid, trace_buffer=64 << 20)
        self.assert_ok(reply, "recording", "uid 65534's recording")
        self.assertEqual(reply.get("trace_buffer"), 1 << 20, "the buffer in use: %s" % reply)
        reply = self.record(b, "1", self.sleeper(b.uid).pid, trace_buffer=64 << 10)
        self.assert_ok(reply, "recording", "uid 65533's recording")
        self.assertEqual(reply.get("trace_buffer"), 64 << 10, "the buffer in use: %s" % reply)
        log = [line for line in self.log().splitlines() if "trace buffer" in line]
        self.assertEqual(len(log), 1, log)
        self.assertRegex(log[0], r"uid 65534 \(pid \d+\) asked for a trace buffer of 67108864 bytes: clamped to "
                         r"1048576, the most a recording gets")
        if shutil.which("bpftool"):
            maps = json.loads(subprocess.run(["bpftool", "map", "show", "--json"], stdout=subprocess.PIPE,
                                             check=True).stdout)
            rings = sorted(m["max_entries"] for m in maps if m.get("name") == "trace" and
                           any(p.get("pid") == self.daemon.pid for p in m.get("pids", [])))
            if rings:  # bpftool built without pid information shows none
                self.assertEqual(rings, [4096, 64 << 10, 1 << 20],
                                 "the daemon's trace buffers: its own engine's page, and the two recordings'")


NODE_SLEEP = "setTimeout(() => {}, 300000)"


class Sessions(SharesCase):
    # node, not python: this test's interpreter and others' pythons on the machine would be watched too
    CONFIG = "max_sessions = 8\nwatch = node\nretention = 600\n"

    def setUp(self):
        SharesCase.setUp(self)
        self.node = rtp.require_node(self)

    def node_sleeper(self, uid):
        return self.spawn([self.node, "-e", NODE_SLEEP], uid)

    def watched(self):
        """{pid: session} of the watched sessions, as root sees them."""
        return {s["pids"][0]: s for s in self.daemon.sessions().values() if s["watched"]}

    def test_retained_sessions_make_room_and_root_has_its_reserve(self):
        """8 slots, 7 of which watch processes at most: users' nodes take the 7, 3 exit; the 3 retained
        sessions are evicted, oldest first, for two users' sessions and root's. A user gets 2 sessions; the
        last slot is root's."""
        a, b = User(self, 65534), User(self, 65533)
        # the nodes watched already (none, unless another runs on the machine)
        others = [pid for pid, s in self.watched().items() if s["live_processes"]]
        self.assertLessEqual(len(others), 3, "too many other nodes run here for this test: %s" % others)
        nodes = [self.node_sleeper(65534) for _ in range(8 - len(others))]
        self.wait_for(lambda: len(self.watched()) == 7 and
                      all(s["live_processes"] for s in self.watched().values()), "7 nodes watched")
        self.wait_for(lambda: "not watching node" in self.log(), "the last node's drop logged")
        time.sleep(0.3)
        dropped = [line for line in self.log().splitlines() if "not watching node" in line]
        self.assertEqual(len(dropped), 1, "one node is not watched, 7 are\n" + self.log())
        self.assertIn("7 processes are watched, the most rtprofd watches", dropped[0])
        watched = self.watched()
        gone = [p for p in nodes if p.pid in watched][:3]
        for p in gone:  # oldest first: they exit in this order
            p.kill()
            p.wait()
            self.wait_for(lambda: self.watched()[p.pid]["live_processes"] == 0, "node %d seen gone" % p.pid)
            time.sleep(0.2)
        live = {pid: s["session"] for pid, s in self.watched().items() if s["live_processes"]}
        self.assertEqual(len(live), 4)

        self.assert_ok(a.connect("1"), "hello", "uid 65534")
        self.assert_ok(a.call("1", {"type": "attach", "pids": [self.sleeper(a.uid).pid]}), "attached",
                       "uid 65534's first session: a free slot")
        self.assert_ok(a.call("1", {"type": "attach", "pids": [self.sleeper(a.uid).pid]}), "attached",
                       "uid 65534's second session: the oldest retained one makes room")
        self.assert_error(a.call("1", {"type": "attach", "pids": [self.sleeper(a.uid).pid]}), "ENOSPC",
                          "uid 65534 already has 2 of its 2 sessions", "uid 65534's third session")
        self.assert_ok(b.connect("1"), "hello", "uid 65533")
        self.assert_ok(b.call("1", {"type": "attach", "pids": [self.sleeper(b.uid).pid]}), "attached",
                       "uid 65533's first session")
        self.assert_error(b.call("1", {"type": "attach", "pids": [self.sleeper(b.uid).pid]}), "ENOSPC",
                          "the 1 sessions of rtprofd's 8 left are root's reserve", "uid 65533's second session")
        root = User(self, 0)
        root.connect("1")
        self.assert_ok(root.call("1", {"type": "attach", "pids": [self.sleeper().pid]}), "attached",
                       "root's session: the last retained one makes room")
        log = self.log()
        evicted = [line for line in log.splitlines() if "evicted the watched session" in line and
                   "to make room for a session" in line]
        self.assertEqual([("(pid %d," % p.pid) in line for p, line in zip(gone, evicted)], [True] * 3,
                         "the 3 retained sessions evicted, oldest first, each logged:\n%s" % "\n".join(evicted))
        self.assertEqual({pid: s["session"] for pid, s in self.watched().items()}, live,
                         "the live watched processes keep their sessions")

    def test_attach_to_own_watched_process_is_busy(self):
        """A user's attach to its own watched node is EBUSY, as documented; the watched session stays."""
        a = User(self, 65534)
        py = self.node_sleeper(65534)
        self.wait_for(lambda: py.pid in self.watched(), "the node watched")
        session = self.watched()[py.pid]["session"]
        a.connect("1")
        reply = a.call("1", {"type": "attach", "pids": [py.pid]})
        self.assert_error(reply, "EBUSY", "process %d is watched by rtprofd (--watch): its figures are root's, "
                          "in the watched session" % py.pid, "uid 65534's attach to its watched node")
        time.sleep(0.5)
        w = self.watched().get(py.pid)
        self.assertIsNotNone(w, "the node is still watched\n" + self.daemon.log_tail())
        self.assertEqual((w["session"], w["live_processes"]), (session, 1), w)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


METRICS_DEADLINE_S = 3  # METRICS_DEADLINE_NS
METRICS_PER_ADDRESS = 4
METRICS_MAX = 16


class Metrics(SharesCase):
    PORT = free_port()
    CONFIG = "metrics = 127.0.0.1:%d\n" % PORT

    def slow_conn(self, source):
        """A connection from source (any 127.x.y.z is loopback) that has sent a byte of its request."""
        s = socket.socket()
        self.addCleanup(s.close)
        s.bind((source, 0))
        s.settimeout(2)
        s.connect(("127.0.0.1", self.PORT))
        s.sendall(b"G")
        return s

    @staticmethod
    def closed(s, wait):
        """Did the daemon close s within wait seconds?"""
        s.settimeout(wait)
        try:
            return s.recv(1) == b""
        except socket.timeout:
            return False
        except OSError:
            return True

    def test_a_connection_has_a_deadline(self):
        """A byte every half second does not keep a connection open: closed 3 s after its accept."""
        s = self.slow_conn("127.0.0.10")
        start = time.monotonic()
        request = b"ET /metrics HTTP/1.1\r\nHost: x\r\n"
        while time.monotonic() - start < METRICS_DEADLINE_S + 3:
            if self.closed(s, 0.5):
                break
            try:
                s.sendall(request[:1])
            except OSError:
                break
            request = request[1:] or b"X"
        elapsed = time.monotonic() - start
        self.assertGreater(elapsed, METRICS_DEADLINE_S - 0.5, "closed too soon")
        self.assertLess(elapsed, METRICS_DEADLINE_S + 1, "a trickling client was not closed at its deadline\n"
                        + self.daemon.log_tail())
        self.wait_for(lambda: "metrics: closed a connection still open 3 s after it was accepted" in self.log(),
                      "the deadline's close logged", timeout=2)

    def test_one_address_gets_four_connections(self):
        conns = [self.slow_conn("127.0.0.11") for _ in range(METRICS_PER_ADDRESS + 2)]
        time.sleep(0.5)
        still_open = [c for c in conns if not self.closed(c, 0.05)]
        self.assertEqual(len(still_open), METRICS_PER_ADDRESS, "connections from one address left open")

    def test_slow_clients_do_not_hold_metrics_down(self):
        """Slow clients from 5 addresses, 4 each (more than the 16 connections), send a byte a second and
        reconnect when closed; a scraper still gets /metrics within 5 s."""
        stop = threading.Event()

        def attacker(source):
            s = None
            while not stop.is_set():
                try:
                    if s is None:
                        s = socket.socket()
                        s.bind((source, 0))
                        s.settimeout(1)
                        s.connect(("127.0.0.1", self.PORT))
                    s.sendall(b"G")
                except OSError:
                    if s:
                        s.close()
                    s = None
                stop.wait(1)
            if s:
                s.close()
        threads = [threading.Thread(target=attacker, args=("127.0.0.%d" % (2 + i // 4),), daemon=True)
                   for i in range(20)]
        for t in threads:
            t.start()
        self.addCleanup(lambda: (stop.set(), [t.join(5) for t in threads]))
        time.sleep(1.5)  # they hold every connection
        start = time.monotonic()
        body, errors = None, 0
        while body is None and time.monotonic() - start < 10:
            try:
                with urllib.request.urlopen("http://127.0.0.1:%d/metrics" % self.PORT, timeout=2) as r:
                    body = r.read().decode()
            except (OSError, ValueError):
                errors += 1
                time.sleep(0.05)
        elapsed = time.monotonic() - start
        self.assertIsNotNone(body, "no /metrics in 10 s (%d failed tries)\n%s" % (errors, self.daemon.log_tail()))
        self.assertIn("rtprof_sessions 0", body)
        log("/metrics answered %.2f s after the first try, %d tries refused, 20 slow clients", elapsed, errors)
        self.assertLess(elapsed, 5, "/metrics took %.1f s (%d failed tries)" % (elapsed, errors))


# Threads that wait for ever: `before` of them, then, once the file `go` exists, `after` more.
THREADS = r'''
import os, sys, threading, time
threading.stack_size(1 << 16)
before, after, go = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
stop = threading.Event()
def start(k):
    for _ in range(k):
        threading.Thread(target=stop.wait, daemon=True).start()
start(before)
print("ready", flush=True)
while not os.path.exists(go):
    time.sleep(0.02)
start(after)
print("done", flush=True)
stop.wait()
'''

MAX_THREADS = 1024
USER_THREADS = MAX_THREADS // 4                  # a user's share
USERS_THREADS = MAX_THREADS - MAX_THREADS // 8   # all the users' but root's, together


class Threads(SharesCase):
    CONFIG = "max_threads = %d\n" % MAX_THREADS

    def threads_proc(self, uid, before, after, go):
        proc = subprocess.Popen(as_user(uid) + [rtp.python_exe(), "-c", THREADS, str(before), str(after), go],
                                stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, universal_newlines=True)

        def reap():
            if proc.poll() is None:
                proc.kill()
            proc.wait()
            proc.stdout.close()
        self.addCleanup(reap)
        self.assertEqual(proc.stdout.readline(), "ready\n", "uid %d's threads started" % uid)
        return proc

    def threads_of(self, session):
        c = self.daemon.connect()
        try:
            rep = c.request({"type": "query", "session": session, "view": "threads"})["report"]
        finally:
            c.close()
        return rep["threads"]

    def test_a_user_cannot_fill_the_thread_table(self):
        """1024 threads tracked: users with 600-thread processes get 256 each, the users together 896; root's
        4-thread python, attached last, has its 4 threads."""
        go = os.path.join(self.daemon.dir, "go")
        users = {uid: User(self, uid) for uid in (65534, 65533, 65532, 65531)}
        plan = [(65534, 300, 300), (65534, 300, 300), (65533, 300, 300), (65532, 300, 0), (65531, 300, 0)]
        sessions = {}
        for n, (uid, before, after) in enumerate(plan):
            proc = self.threads_proc(uid, before, after, go)
            u = users[uid]
            u.connect(str(n))
            reply = u.call(str(n), {"type": "attach", "pids": [proc.pid]})
            self.assert_ok(reply, "attached", "uid %d's attach" % uid)
            sessions.setdefault(uid, []).append((reply["session"], proc))
        open(go, "w").close()
        for uid, procs in sessions.items():
            for _, proc in procs:
                self.assertEqual(proc.stdout.readline(), "done\n", "uid %d's threads started" % uid)
        root_py = self.threads_proc(0, 3, 0, go)
        root = User(self, 0)
        root.connect("1")
        reply = root.call("1", {"type": "attach", "pids": [root_py.pid]})
        self.assert_ok(reply, "attached", "root's attach")
        time.sleep(0.5)
        tracked = {uid: sum(len(self.threads_of(sid)) for sid, _ in procs) for uid, procs in sessions.items()}
        self.assertEqual(tracked, {65534: USER_THREADS, 65533: USER_THREADS, 65532: USER_THREADS,
                                   65531: USERS_THREADS - 3 * USER_THREADS},
                         "threads tracked per user\n" + self.daemon.log_tail())
        root_threads = self.threads_of(reply["session"])
        self.assertEqual(sorted(t["tid"] for t in root_threads),
                         sorted(int(t) for t in os.listdir("/proc/%d/task" % root_py.pid)),
                         "root's python: its 4 threads")
        self.assertEqual(len(root_threads), 4)
        st = self.daemon.status(timeout=2)
        log("threads tracked: %s (uid: threads), root's %d; rtprofd's RSS %d kB (%d kB at start)", tracked,
            len(root_threads), st["rss_kb"], self.daemon.baseline_rss_kb)
        text = self.log()
        self.assertIn("uid 65534's sessions hold %d threads, its share of the %d tracked" % (USER_THREADS, MAX_THREADS),
                      text)
        self.assertIn("the users but root hold %d threads, all but root's reserve of the %d tracked"
                      % (USERS_THREADS, MAX_THREADS), text)


if __name__ == "__main__":
    rtp.main()
