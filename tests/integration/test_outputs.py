"""Where rtprof writes, and what it refuses to write to.

- -o never follows a symbolic link, nor reuses a file or FIFO, that another user made in a sticky world-writable
  directory (the kernel's protected_symlinks/protected_regular rules, applied with those sysctls at 0), and
  refuses before the command runs;
- a FIFO nobody reads is an error at once, not a wait; one with a reader gets the report;
- a closed stdout, a negative or malformed number, an empty or doubled JSON report given to compare: a precise
  message and exit code 2;
- a thread id given to attach means its process (locally and through rtprofd), and rtprofd itself refuses a
  thread id with the process to use;
- a recording or a session that rtprofd refuses leaves no file behind.
"""

import gzip
import json
import os
import shutil
import subprocess
import tempfile
import threading
import unittest

import rtp
import test_daemon
import tracegen
from test_errors import kernel_thread_pid

NOBODY = 65534
PROMPT_S = 10          # a refusal comes at once: well within this
K_GETPPID = 5000       # thread_getppid.py's calls after GO
STARTUP_TIMEOUT = 30
VICTIM = b"the victim's bytes\n"


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


# ---- names planted in a sticky world-writable directory ----------------------------------------------------------

class PlantedNames(Case):
    """As root, with fs.protected_symlinks and fs.protected_regular at 0: rtprof applies the rules itself."""

    def setUp(self):
        rtp.require_root(self)
        rtp.set_sysctl(self, "fs.protected_symlinks", "0")
        rtp.set_sysctl(self, "fs.protected_regular", "0")
        rtp.set_sysctl(self, "fs.protected_fifos", "0")
        self.tmp = self.tmpdir()
        self.sticky = os.path.join(self.tmp, "sticky")
        os.mkdir(self.sticky)
        os.chmod(self.sticky, 0o1777)
        self.victim = os.path.join(self.tmp, "victim")
        with open(self.victim, "wb") as f:
            f.write(VICTIM)
        self.marker = os.path.join(self.tmp, "ran")

    def planted_link(self, name, target, uid=NOBODY):
        link = os.path.join(self.sticky, name)
        os.symlink(target, link)
        os.lchown(link, uid, uid)
        return link

    def check_victim(self, res):
        with open(self.victim, "rb") as f:
            self.assertEqual(f.read(), VICTIM, "the file the link points to was written\n%s" % res.describe())
        self.assertFalse(os.path.exists(self.marker), "the command ran although -o was refused\n%s" % res.describe())

    def test_report_through_another_users_link(self):
        link = self.planted_link("report.json", self.victim)
        res = rtp.rtprof("run", "--json", "-o", link, "--", "touch", self.marker, timeout=PROMPT_S)
        self.check_error(res, ["symbolic link", "uid %d" % NOBODY, link])
        self.check_victim(res)
        self.assertTrue(os.path.islink(link), "the planted link itself is left alone")

    def test_trace_through_another_users_link(self):
        link = self.planted_link("app.rtprof.gz", self.victim)
        res = rtp.rtprof("run", "-o", link, "--", "touch", self.marker, timeout=PROMPT_S)
        self.check_error(res, ["symbolic link", link])
        self.check_victim(res)

    def test_export_through_another_users_link(self):
        trace = os.path.join(self.tmp, "t.rtprof.gz")
        crafted_trace(trace)
        link = self.planted_link("t.json", self.victim)
        res = rtp.rtprof("export", trace, "-o", link, timeout=PROMPT_S)
        self.check_error(res, ["symbolic link", link])
        self.check_victim(res)

    def test_file_of_another_user(self):
        planted = os.path.join(self.sticky, "report.txt")
        with open(planted, "wb") as f:
            f.write(VICTIM)
        os.chown(planted, NOBODY, NOBODY)
        res = rtp.rtprof("run", "-o", planted, "--", "touch", self.marker, timeout=PROMPT_S)
        self.check_error(res, ["uid %d" % NOBODY, planted])
        with open(planted, "rb") as f:
            self.assertEqual(f.read(), VICTIM, "the planted file was written\n%s" % res.describe())
        self.assertFalse(os.path.exists(self.marker), "the command ran although -o was refused")

    def test_own_link_is_followed(self):
        """The rule is the kernel's: a link of the caller's (or of the directory owner's) is followed."""
        mine = os.path.join(self.tmp, "mine.json")
        link = self.planted_link("mine.json", mine, uid=0)
        res = rtp.rtprof("run", "--json", "-q", "-o", link, "--", "touch", self.marker)
        self.assertEqual(res.returncode, 0, res.describe())
        self.assertTrue(os.path.islink(link))
        report = rtp.read_report_file(self, mine, res)
        self.assertEqual(report.get("mode"), "run")
        self.assertTrue(os.path.exists(self.marker))


# ---- FIFOs -------------------------------------------------------------------------------------------------------

class Fifos(Case):
    def setUp(self):
        rtp.require_root(self)
        self.tmp = self.tmpdir()
        self.marker = os.path.join(self.tmp, "ran")

    def check_no_reader(self, name):
        fifo = os.path.join(self.tmp, name)
        os.mkfifo(fifo)
        res = rtp.rtprof("run", "-o", fifo, "--", "touch", self.marker, timeout=PROMPT_S)
        self.check_error(res, ["FIFO", "reads", fifo])
        self.assertFalse(os.path.exists(self.marker), "the command ran although -o cannot be written")

    def test_report_fifo_without_reader(self):
        self.check_no_reader("report.json")

    def test_trace_fifo_without_reader(self):
        self.check_no_reader("app.rtprof.gz")

    def test_report_fifo_with_reader(self):
        fifo = os.path.join(self.tmp, "report.json")
        os.mkfifo(fifo)
        # a reader that is there before rtprof, and keeps what it wrote (a report of `true` fits the pipe)
        rfd = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)
        self.addCleanup(os.close, rfd)
        res = rtp.rtprof("run", "--json", "-q", "-o", fifo, "--", "touch", self.marker, timeout=60)
        self.assertEqual(res.returncode, 0, res.describe())
        data = b""
        while True:
            try:
                chunk = os.read(rfd, 1 << 16)
            except BlockingIOError:
                break
            if not chunk:
                break
            data += chunk
        report = rtp.parse_report(self, data.decode(), "what the FIFO's reader got")
        self.assertEqual(report.get("mode"), "run")
        self.assertTrue(os.path.exists(self.marker))


# ---- the command's stdout ---------------------------------------------------------------------------------------

class CommandStdout(Case):
    """`rtprof run --json -- CMD | jq .` works: the command's stdout is its own, the report goes to stderr (as
    time(1)'s and perf stat's do), to -o FILE, or to stdout with `-o -`."""

    def setUp(self):
        rtp.require_root(self)

    def test_report_on_stderr(self):
        for extra in (["--json"], []):
            res = rtp.rtprof("run", "-q", *extra, "--", "sh", "-c", "echo hello; echo world")
            self.assertEqual(res.returncode, 0, res.describe())
            self.assertEqual(res.stdout, "hello\nworld\n", "the command's stdout, alone\n" + res.describe())
            if extra:
                report = rtp.parse_report(self, res.stderr, "stderr of rtprof run --json -q")
                self.assertEqual(report.get("mode"), "run")
            else:
                self.assertIn("cpu load", res.stderr, res.describe())

    def test_dash_o_dash_is_stdout(self):
        res = rtp.rtprof("run", "-q", "--json", "-o", "-", "--", "true")
        self.assertEqual(res.returncode, 0, res.describe())
        self.assertEqual(rtp.parse_report(self, res.stdout, "stdout of rtprof run -o -").get("mode"), "run")
        self.assertEqual(res.stderr, "", res.describe())

    def test_gzip_report_file(self):
        # FILE.json.gz (or any report FILE.gz) is gzip, as its name says; compare reads it back
        tmp = self.tmpdir()
        gz, plain = os.path.join(tmp, "r.json.gz"), os.path.join(tmp, "r.json")
        for path in (gz, plain):
            res = rtp.rtprof("run", "-q", "--json", "-o", path, "--", "true")
            self.assertEqual(res.returncode, 0, res.describe())
        with open(gz, "rb") as f:
            self.assertEqual(f.read(2), b"\x1f\x8b", "gzip's magic")
        with gzip.open(gz, "rt") as f:
            self.assertEqual(rtp.parse_report(self, f.read(), gz).get("mode"), "run")
        text = os.path.join(tmp, "r.txt.gz")
        res = rtp.rtprof("run", "-q", "-o", text, "--", "true")
        self.assertEqual(res.returncode, 0, res.describe())
        with gzip.open(text, "rt") as f:
            self.assertIn("cpu load", f.read())
        res = rtp.rtprof("compare", "--json", gz, plain)
        self.assertEqual(res.returncode, 0, res.describe())
        kinds = [i.get("kind") for i in json.loads(res.stdout).get("inputs", [])]
        self.assertEqual(kinds, ["report", "report"], res.stdout[:500])

    def test_report_file(self):
        path = os.path.join(self.tmpdir(), "r.json")
        res = rtp.rtprof("run", "-q", "--json", "-o", path, "--", "sh", "-c", "echo hello")
        self.assertEqual(res.returncode, 0, res.describe())
        self.assertEqual((res.stdout, res.stderr), ("hello\n", ""), res.describe())
        self.assertEqual(rtp.read_report_file(self, path, res).get("mode"), "run")


# ---- stdout closed -----------------------------------------------------------------------------------------------

def run_stdout_closed(argv, timeout=60):
    proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stderr=subprocess.PIPE, universal_newlines=True,
                            preexec_fn=lambda: os.close(1))
    try:
        _, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()
        raise AssertionError("timed out: %s" % " ".join(argv))
    return rtp.Result(argv, proc.returncode, "", err, 0.0)


class ClosedStdout(Case):
    def test_run(self):
        """run's report goes to stderr: a closed stdout is the command's business; `-o -` needs it."""
        rtp.require_root(self)
        tmp = self.tmpdir()
        marker = os.path.join(tmp, "ran")
        res = run_stdout_closed([rtp.RTPROF, "run", "-o", "-", "--", "touch", marker])
        self.check_error(res, ["cannot write the report", "stdout is closed"])
        self.assertFalse(os.path.exists(marker), "the command ran although its report could go nowhere")
        res = run_stdout_closed([rtp.RTPROF, "run", "--json", "-q", "--", "touch", marker])
        self.assertEqual(res.returncode, 0, res.describe())
        self.assertEqual(rtp.parse_report(self, res.stderr, "stderr of rtprof run --json -q").get("mode"), "run")
        self.assertTrue(os.path.exists(marker))

    def test_run_with_output_file(self):
        """-o FILE needs no stdout; and no file opened later takes descriptor 1."""
        rtp.require_root(self)
        tmp = self.tmpdir()
        path = os.path.join(tmp, "r.json")
        res = run_stdout_closed([rtp.RTPROF, "run", "--json", "-q", "-o", path, "--", "true"])
        self.assertEqual(res.returncode, 0, res.describe())
        self.assertEqual(rtp.read_report_file(self, path, res).get("mode"), "run")

    def test_compare(self):
        res = run_stdout_closed([rtp.RTPROF, "compare", "/nonexistent/a", "/nonexistent/b"])
        self.check_error(res, ["stdout is closed"])


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


class OptionsAfterOperands(Case):
    """attach takes its options after its pids too, as export and report do after their file; run's stop at
    its command (they are the command's)."""

    def test_attach(self):
        rtp.require_root(self)
        proc = rtp.spawn(self, ["sleep", "30"])
        res = rtp.rtprof("attach", str(proc.pid), "--json", "-d", "0.3",
                         env=dict(os.environ, RTPROF_SOCKET=os.path.join(self.tmpdir(), "none.sock")))
        self.assertEqual(res.returncode, 0, res.describe())
        self.assertEqual(json.loads(res.stdout)["target"]["pid"], proc.pid)

    def test_run_leaves_them_to_the_command(self):
        res = rtp.rtprof("run", "--", "sh", "-c", 'echo "$@"', "sh", "--json", "-d", "1")
        self.assertEqual(res.returncode, 0, res.describe())
        self.assertEqual(res.stdout, "--json -d 1\n", "the command's own arguments")


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
        test_daemon.stop_class_daemon(cls)

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

    def check_refused(self, name):
        kthread = kernel_thread_pid()
        self.assertIsNotNone(kthread, "no kernel thread found in /proc")
        tmp = self.tmpdir()
        path = os.path.join(tmp, name)
        res = rtp.rtprof("attach", "-o", path, str(kthread), env=self.env, timeout=30)
        self.assertNotEqual(res.returncode, 0, res.describe())
        self.assertIn("kernel thread", res.stderr, res.describe())
        self.assertEqual(os.listdir(tmp), [], "a refused session left %s behind\n%s"
                         % (os.listdir(tmp), res.describe()))

    def test_refused_recording_leaves_no_file(self):
        self.check_refused("k.rtprof.gz")

    def test_refused_session_leaves_no_report_file(self):
        self.check_refused("report.txt")


if __name__ == "__main__":
    rtp.main()
