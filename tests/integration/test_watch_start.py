"""rtprofd --watch counts a watched process from its first instruction once its program's runtime probes are
in place file-wide: the interpreter's collections exactly against its own gc.get_stats() (start-up included),
node's threadpool items submitted in its first milliseconds exactly. The python and node programs on rtprofd's
PATH are ready from its start; the first process of any other program is watched once its runtime is
detected, and its report says how late, never a silent count."""

import os
import shutil
import subprocess
import tempfile
import time
import unittest

import rtp

DEBIAN_PYTHON = "/usr/bin/python3.11"
ITEMS = 10


def read(path):
    try:
        with open(path) as f:
            return f.read()
    except FileNotFoundError:
        return ""


def on_path(program):
    """Whether rtprofd (started with this environment) finds the program on its PATH under a watched name."""
    st = os.stat(program)
    for d in os.environ.get("PATH", "").split(":"):
        if not d.startswith("/") or not os.path.isdir(d):
            continue
        for name in os.listdir(d):
            if not (name.startswith("python") or name == "node"):
                continue
            try:
                other = os.stat(os.path.join(d, name))
            except OSError:
                continue
            if (other.st_dev, other.st_ino) == (st.st_dev, st.st_ino):
                return True
    return False


def setUpModule():
    rtp.check_rtprof()


class WatchFromExec(unittest.TestCase):
    def setUp(self):
        rtp.require_root(self)
        self.sock, self.tail = rtp.start_rtprofd(self, "--watch", "python,node", "--retention", "60")
        self.tmp = tempfile.mkdtemp(prefix="rtprof-watch-start-")
        self.addCleanup(shutil.rmtree, self.tmp, True)

    def rtprof(self, *args):
        return rtp.daemon_json(self, self.sock, *args)

    def session_of(self, pid, timeout=10):
        s = rtp.watched_session(self, self.sock, pid, timeout)
        if not s:
            self.fail("pid %d is not watched after %d s\n%s" % (pid, timeout, self.tail()))
        return s

    def runtime_row(self, session, pid):
        report = self.rtprof("query", str(session["session"]), "--json")
        rows = [r for r in (report.get("runtime_metrics") or {}).get("processes", []) if r.get("pid") == pid]
        self.assertEqual(len(rows), 1, report.get("runtime_metrics"))
        return rows[0]

    def prime(self, cmd):
        """The first process of the program: watched once detected, its report saying how late its probes
        went in -- unless the program is on rtprofd's PATH, whose python and node programs have their probes
        in place from rtprofd's start. Either way they are then in place on its files for the next ones."""
        primer = subprocess.Popen(cmd)
        self.addCleanup(primer.wait)
        self.addCleanup(primer.kill)
        session = self.session_of(primer.pid)
        row = self.runtime_row(session, primer.pid)
        if on_path(cmd[0]):
            self.assertEqual(row.get("probes_from"), "first instruction", "%s is on PATH: %s" % (cmd[0], row))
        else:
            self.assertEqual(row.get("probes_from"), "exec", row)
            self.assertTrue(0 < row.get("probes_late_ns", 0) < 5e9, "the first one says how late: %s" % row)
        self.assertEqual(primer.wait(20), 0)

    def run_parked(self, cmd, truth_path):
        """The workload, parked once it wrote its truth; (its pid, the truth's numbers, its runtime row)."""
        proc = subprocess.Popen(cmd, stdin=subprocess.PIPE)
        self.addCleanup(proc.wait)
        self.addCleanup(proc.kill)
        deadline = time.monotonic() + 30
        while not read(truth_path).endswith("\n"):
            self.assertIsNone(proc.poll(), "the workload ended early")
            self.assertLess(time.monotonic(), deadline, "no truth from the workload")
            time.sleep(0.05)
        truth = [int(x) for x in read(truth_path).split()]
        self.assertEqual(truth[0], proc.pid)
        row = self.runtime_row(self.session_of(proc.pid), proc.pid)
        proc.stdin.close()
        self.assertEqual(proc.wait(20), 0)
        return truth, row

    def check_python(self, python, method):
        self.prime([python, "-c", "import time; time.sleep(0.5)"])
        truth_path = os.path.join(self.tmp, "truth")
        truth, row = self.run_parked([python, rtp.workload("rt_gc_start.py"), truth_path, "park"], truth_path)
        gens = truth[2:]
        self.assertEqual(row.get("probes_from"), "first instruction", row)
        gc = row.get("gc") or {}
        self.assertEqual(gc.get("method"), method, "gc.method (unavailable: %r)" % gc.get("unavailable"))
        got = {g.get("generation"): g.get("count") for g in gc.get("generations", [])}
        self.assertGreater(sum(gens), 0)
        self.assertEqual([got.get(g, 0) for g in range(3)], gens,
                         "collections by generation, rtprof vs the interpreter's gc.get_stats() (%s)" % gc)

    def check_node(self, major):
        node = rtp.require_node_major(self, major)
        self.prime([node, "-e", "setTimeout(() => {}, 500)"])
        truth_path = os.path.join(self.tmp, "truth")
        truth, row = self.run_parked([node, rtp.workload("rt_threadpool_start.js"), truth_path, str(ITEMS), "park"],
                                     truth_path)
        self.assertEqual(truth[2], ITEMS)
        self.assertEqual(row.get("probes_from"), "first instruction", row)
        tp = row.get("threadpool") or {}
        self.assertEqual(tp.get("method"), "uprobes", "threadpool.method (unavailable: %r)" % tp.get("unavailable"))
        self.assertEqual((tp.get("submitted"), tp.get("completed"), (tp.get("by_kind") or {}).get("work")),
                         (ITEMS, ITEMS, ITEMS), "items submitted in node's first milliseconds: %s" % tp)

    def test_debian_python311(self):
        if not os.access(DEBIAN_PYTHON, os.X_OK):
            rtp.skip_or_fail(self, "needs Debian's %s" % DEBIAN_PYTHON)
        self.check_python(DEBIAN_PYTHON, "usdt")

    def test_pyenv_python312(self):
        self.check_python(rtp.pyenv_python(self, 12), "uprobe:gc_collect_main")

    def test_pyenv_python313(self):
        self.check_python(rtp.pyenv_python(self, 13), "uprobe:gc_collect_main")

    def test_node20(self):
        self.check_node(20)

    def test_node22(self):
        self.check_node(22)

    def test_node24(self):
        self.check_node(24)


if __name__ == "__main__":
    rtp.main()
