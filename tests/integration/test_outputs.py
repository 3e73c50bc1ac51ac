"""Bad input rtprof gets a precise answer for:

- a negative or malformed number is refused while the options are parsed, with exit code 2 and a message
  naming the option and the value;
- a saved report given to compare is one JSON value: an empty file, one cut short, or a second value after
  the first is refused, saying which;
- a thread id given to attach means its process (locally and through rtprofd), and rtprofd itself refuses a
  thread id with the process to use.
"""

import json
import os
import shutil
import subprocess
import tempfile
import unittest

import rtp
import test_daemon
import tracegen

K_GETPPID = 5000       # thread_getppid.py's calls after GO
STARTUP_TIMEOUT = 30


def setUpModule():
    rtp.check_rtprof()


def crafted_trace(path):
    """A one-thread trace (tracegen.py): thread 100 runs 1 ms on CPU 0."""
    t = tracegen.Trace(start_ns=1000, ncpus=2, target_pid=100)
    t.thread_base(1000, 100, 100, "crafted")
    t.switch(2000, 0, 0, 100)
    t.switch(1_002_000, 0, 100, 0, prev_state=1, prev_oncpu_ns=1_000_000)
    with open(path, "wb") as f:
        f.write(t.build(2_000_000))


class Case(unittest.TestCase):
    def tmpdir(self):
        tmp = tempfile.mkdtemp(prefix="rtprof-outputs-")
        os.chmod(tmp, 0o755)
        self.addCleanup(shutil.rmtree, tmp, True)
        return tmp

    def check_error(self, res, substrings, rc=2):
        self.assertEqual(res.returncode, rc, "exit code should be %d\n%s" % (rc, res.describe()))
        self.assertEqual(res.stdout, "", "nothing may be printed on stdout on error\n%s" % res.describe())
        self.assertTrue(res.stderr.startswith("rtprof: "), "message should start with 'rtprof: '\n%s" % res.describe())
        for sub in substrings:
            self.assertIn(sub.lower(), res.stderr.lower(), "message should mention %r\n%s" % (sub, res.describe()))


# ---- numbers ------------------------------------------------------------------------------------------------------

class Numbers(Case):
    """Each refused while parsing, before anything runs, with the option and the value named."""

    def test_refused(self):
        tmp = self.tmpdir()
        marker = os.path.join(tmp, "ran")
        trace = os.path.join(tmp, "t.rtprof.gz")
        crafted_trace(trace)
        cases = [
            (["run", "--top", "-1", "--", "touch", marker], ["--top", "'-1'"]),
            (["run", "--top", "5x", "--", "touch", marker], ["--top", "'5x'"]),
            (["run", "--top", "", "--", "touch", marker], ["--top"]),
            (["attach", "-d", "1", "--top", "-1", "1"], ["--top", "'-1'"]),
            (["run", "--max-size", " -1", "-o", os.path.join(tmp, "x.rtprof.gz"), "--", "touch", marker],
             ["size", "' -1'"]),
            (["report", "--top", "-1", trace], ["--top", "'-1'"]),
            (["report", "--top", "99999999999999999999", trace], ["--top"]),
            (["query", "--top", "-1", "1"], ["--top", "'-1'"]),
        ]
        for args, subs in cases:
            with self.subTest(args=args):
                res = rtp.rtprof(*args, env=dict(os.environ, RTPROF_SOCKET=os.path.join(tmp, "none.sock")))
                self.check_error(res, subs)
        self.assertFalse(os.path.exists(marker), "a command ran although an option was refused")

    def test_zero_is_all(self):
        """--top 0 stays "all rows"."""
        tmp = self.tmpdir()
        trace = os.path.join(tmp, "t.rtprof.gz")
        crafted_trace(trace)
        res = rtp.rtprof("report", "--top", "0", trace)
        self.assertEqual(res.returncode, 0, res.describe())


# ---- compare's JSON inputs ----------------------------------------------------------------------------------------

class CompareInputs(Case):
    def setUp(self):
        self.tmp = self.tmpdir()
        trace = os.path.join(self.tmp, "t.rtprof.gz")
        crafted_trace(trace)
        res = rtp.rtprof("report", "--json", trace)
        self.assertEqual(res.returncode, 0, res.describe())
        self.report = res.stdout
        self.good = self.write("good.json", self.report)

    def write(self, name, text):
        path = os.path.join(self.tmp, name)
        with open(path, "w") as f:
            f.write(text)
        return path

    def test_empty_file(self):
        empty = self.write("empty.json", "")
        res = rtp.rtprof("compare", self.good, empty)
        self.check_error(res, [empty, "empty"])
        self.assertNotIn("continue", res.stderr, res.describe())

    def test_blank_file(self):
        blank = self.write("blank.json", " \n\t\n")
        self.check_error(rtp.rtprof("compare", self.good, blank), [blank, "empty"])

    def test_second_value_after_the_first(self):
        doubled = self.write("doubled.json", self.report + "\n" + self.report)
        self.check_error(rtp.rtprof("compare", self.good, doubled), [doubled, "more follows"])

    def test_unfinished_value(self):
        cut = self.write("cut.json", self.report[:len(self.report) // 2])
        res = rtp.rtprof("compare", self.good, cut)
        self.check_error(res, [cut, "ends before"])
        self.assertNotIn("continue", res.stderr, res.describe())

    def test_trailing_blanks_are_fine(self):
        spaced = self.write("spaced.json", self.report + "\n\n  \n")
        res = rtp.rtprof("compare", "--json", self.good, spaced)
        self.assertEqual(res.returncode, 0, res.describe())
        json.loads(res.stdout)


# ---- a thread id given to attach ----------------------------------------------------------------------------------

class ThreadIdCase(Case):
    def start_target(self):
        tmp = self.tmpdir()
        self.ready, self.go = os.path.join(tmp, "ready"), os.path.join(tmp, "go")
        proc = subprocess.Popen([rtp.python_exe(), rtp.workload("thread_getppid.py"), self.ready, self.go,
                                 str(K_GETPPID)], stdin=subprocess.DEVNULL)

        def reap():
            if proc.poll() is None:
                proc.kill()
            proc.wait()
        self.addCleanup(reap)
        self.assertTrue(rtp.wait_for_file(self.ready, proc, STARTUP_TIMEOUT), "workload did not start")
        with open(self.ready) as f:
            ids = json.load(f)
        self.assertNotEqual(ids["tid"], ids["pid"])
        return proc, ids

    def attach_tid(self, extra, env=None):
        proc, ids = self.start_target()
        bg = test_daemon.Background([rtp.RTPROF, "attach", "--json"] + extra + [str(ids["tid"])], env=env)
        self.addCleanup(bg.kill)
        if not bg.attached.wait(STARTUP_TIMEOUT):
            self.fail("rtprof did not attach\n%s" % bg.describe())
        open(self.go, "w").close()
        self.assertEqual(proc.wait(timeout=60), 0)
        rc = bg.wait(timeout=30)
        self.assertEqual(rc, 0, "rtprof attach should end 0 when the process exits\n%s" % bg.describe())
        note = "%d is a thread of process %d" % (ids["tid"], ids["pid"])
        self.assertIn(note, "".join(bg.stderr_lines), bg.describe())
        report = rtp.parse_report(self, bg.stdout, "stdout of rtprof attach")
        self.assertEqual(report["target"]["pid"], ids["pid"], "the report is of the thread's process")
        self.assertIn(ids["tid"], rtp.threads_by_tid(report), "the thread named is in the report")
        self.assertEqual(rtp.syscall_count(self, report, "getppid"), K_GETPPID,
                         "the thread made exactly %d getppid calls after the attach" % K_GETPPID)


class ThreadIdLocal(ThreadIdCase):
    def setUp(self):
        rtp.require_root(self)

    def test_attach_thread_id(self):
        self.attach_tid(["--local"])


# ---- through rtprofd ---------------------------------------------------------------------------------------------

class ThroughDaemon(ThreadIdCase):
    daemon = None

    @classmethod
    def setUpClass(cls):
        if os.geteuid() == 0 and rtp.RTPROF:
            cls.daemon = test_daemon.Daemon()

    @classmethod
    def tearDownClass(cls):
        d, cls.daemon = cls.daemon, None
        if d is None:
            return
        rc = d.stop()
        log = d.log_tail()
        d.cleanup()
        if rc != 0:
            raise AssertionError("rtprofd should exit 0 on SIGTERM, got %r\n%s" % (rc, log))

    def setUp(self):
        rtp.require_root(self)
        self.assertIsNotNone(self.daemon, "no rtprofd for this class")
        self.env = test_daemon.socket_env(self.daemon.socket)

    def test_attach_thread_id(self):
        self.attach_tid([], env=self.env)

    def test_daemon_refuses_thread_id(self):
        """A raw client naming a thread: rtprofd says which process to use instead of an empty session."""
        _, ids = self.start_target()
        c = self.daemon.connect()
        self.addCleanup(c.close)
        reply = c.call({"type": "attach", "pids": [ids["tid"]]})
        self.assertEqual(reply.get("type"), "error", reply)
        self.assertIn("%d is a thread of process %d" % (ids["tid"], ids["pid"]), reply.get("message", ""), reply)


if __name__ == "__main__":
    rtp.main()
