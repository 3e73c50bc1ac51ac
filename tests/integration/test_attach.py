"""`rtprof attach` to running Python and Node processes: threads created after attach are seen and their syscalls
counted exactly; nothing from before the attach is counted; rtprof ends when the target exits or after -d."""

import json
import os
import shutil
import subprocess
import tempfile
import threading
import time
import unittest

import rtp

K_GETPPID = 20000
NEW_THREADS = 3
STARTUP_TIMEOUT = 30


def setUpModule():
    rtp.check_rtprof()


class AttachNewThreads(unittest.TestCase):
    def setUp(self):
        rtp.require_root(self)

    def spawn(self, argv):
        return rtp.spawn(self, argv)

    def check_attach(self, interpreter, script, runtime):
        tmp = tempfile.mkdtemp(prefix="rtprof-attach-")
        self.addCleanup(shutil.rmtree, tmp, True)
        ready, go, out, report_path = (os.path.join(tmp, n) for n in ("ready", "go", "out.json", "report.json"))
        target = self.spawn([interpreter, rtp.workload(script), ready, go, out, str(K_GETPPID)])
        self.assertTrue(rtp.wait_for_file(ready, target, STARTUP_TIMEOUT),
                        "workload %s did not start (exit code %r)" % (script, target.poll()))

        bg = rtp.BackgroundRtprof(["--json", "-o", report_path, str(target.pid)])
        self.addCleanup(bg.kill)
        if not bg.attached.wait(STARTUP_TIMEOUT):
            self.fail("rtprof did not print an 'attached' line on stderr within %d s\n%s"
                      % (STARTUP_TIMEOUT, bg.describe()))
        self.assertIsNone(bg.proc.poll(), "rtprof ended right after attaching\n%s" % bg.describe())

        open(go, "w").close()
        try:
            target_rc = target.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.fail("workload did not finish within 60 s of the go file")
        self.assertEqual(target_rc, 0, "workload %s failed" % script)

        rc = bg.wait(timeout=30)
        self.assertIsNotNone(rc, "rtprof still running 30 s after its only target exited\n%s" % bg.describe())
        self.assertEqual(rc, 0, "rtprof attach should exit 0 when its target exits\n%s" % bg.describe())
        self.assertEqual(bg.stdout, "", "with -o FILE stdout stays empty\n%s" % bg.describe())
        with open(report_path) as f:
            report = rtp.parse_report(self, f.read(), "report file")
        with open(out) as f:
            truth = json.load(f)

        self.assertEqual(report.get("mode"), "attach", "mode should be attach")
        self.assertEqual(report["target"]["pid"], target.pid, "target.pid: %s" % report["target"])
        self.assertEqual(report["target"]["runtime"], runtime, "target.runtime: %s" % report["target"])
        threads = rtp.threads_by_tid(report)
        self.assertEqual(len(truth["tids"]), NEW_THREADS, "workload reported %s" % truth)
        missing = [tid for tid in truth["tids"] if tid not in threads]
        self.assertFalse(missing, "threads created after attach %s missing from report threads %s"
                         % (missing, sorted(threads)))
        count = rtp.syscall_count(self, report, "getppid")
        self.assertEqual(count, NEW_THREADS * K_GETPPID,
                         "%d new threads made exactly %d getppid calls each (none before attach): report counted %d; "
                         "lost_events=%s" % (NEW_THREADS, K_GETPPID, count, report.get("lost_events")))

    def test_python_attach(self):
        self.check_attach(rtp.python_exe(), "attach_threads.py", "python")

    def test_node_attach(self):
        node = rtp.require_node(self)
        self.check_attach(node, "attach_threads.js", "node")


class AttachDuration(unittest.TestCase):
    def setUp(self):
        rtp.require_root(self)

    def test_duration_one_second(self):
        sleeper = subprocess.Popen(["sleep", "30"])
        self.addCleanup(lambda: (sleeper.kill(), sleeper.wait()))
        res = rtp.rtprof("attach", "--json", "-d", "1", str(sleeper.pid), timeout=30)
        self.assertEqual(res.returncode, 0, res.describe())
        self.assertTrue(0.9 <= res.elapsed_s <= 3.0,
                        "`attach -d 1` took %.2f s, expected between 0.9 and 3 s\n%s" % (res.elapsed_s, res.describe()))
        report = rtp.parse_report(self, res.stdout, "stdout of `rtprof attach --json`")
        self.assertEqual(report.get("mode"), "attach")
        self.assertEqual(report["target"]["pid"], sleeper.pid)
        self.assertTrue(0.9e9 <= report.get("duration_ns", 0) <= 3e9,
                        "duration_ns %s for -d 1" % report.get("duration_ns"))
        self.assertIsNone(sleeper.poll(), "rtprof must leave its target running after -d expires")

    def test_thread_running_before_attach(self):
        """A thread already spinning when rtprof attaches, and still spinning when it stops, has the whole
        window on CPU: the kernel's accounting at attach is its base, and at the stop its end."""
        spinner = subprocess.Popen([rtp.python_exe(), rtp.workload("spin.py"), "30"])
        self.addCleanup(lambda: (spinner.kill(), spinner.wait()))
        time.sleep(0.3)
        before = read_schedstat_ns(spinner.pid)
        res = rtp.rtprof("attach", "--json", "-d", "1", str(spinner.pid), timeout=30)
        after = read_schedstat_ns(spinner.pid)
        self.assertEqual(res.returncode, 0, res.describe())
        report = rtp.parse_report(self, res.stdout, "stdout of `rtprof attach --json`")
        (thread,) = [t for t in report["threads"] if t["tid"] == spinner.pid]
        window = report["duration_ns"]
        # a spinning thread is running or waiting for a CPU through the whole window (on a busy machine
        # it waits more), and cannot have run more than the kernel counted between readings around rtprof
        self.assertGreaterEqual(thread["oncpu_ns"] + thread["runq_wait_ns"], 0.97 * window,
                                "oncpu %d + runq %d over a %d ns window" %
                                (thread["oncpu_ns"], thread["runq_wait_ns"], window))
        self.assertGreater(thread["oncpu_ns"], 0.3 * window, "it ran")
        self.assertLessEqual(thread["oncpu_ns"], after - before)
        # the load columns say the same: the target kept one CPU busy for its on-CPU share of the window
        load = sum(report["process"]["cpu_load_pct"])
        share = 100.0 * thread["oncpu_ns"] / window
        self.assertTrue(abs(load - share) <= 3.0, "cpu load per CPU %s should add up to its on-CPU share %.1f%%" %
                        (report["process"]["cpu_load_pct"], share))


def read_schedstat_ns(tid):
    with open("/proc/%d/task/%d/schedstat" % (tid, tid)) as f:
        return int(f.read().split()[0])


if __name__ == "__main__":
    rtp.main()
