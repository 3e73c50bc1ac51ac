"""Per-thread scheduling figures against the kernel's own accounting of the same threads.

The workloads (Python threading; Node worker_threads) start 4 workers after rtprof has attached; the workers
compute and sleep, then park. With every worker parked, the workload reads each one's
/proc/self/task/TID/schedstat (on-CPU ns, run-queue wait ns) and status (voluntary/nonvoluntary switches),
and the test then stops rtprof with SIGINT -- the workers still parked, so rtprof and the reference cover
the same life of each thread, from its creation. (Comparing at thread exit does not work: what a thread
does after reading its own figures -- re-taking the GIL, a Node worker's teardown, waiting for a CPU when a
process's threads all die at once -- adds up to 20 switches and several ms that no reference shows.)
Tolerances are the acceptance criteria: 2% + 1 ms for times, 2 for switches.
"""

import json
import os
import signal
import subprocess
import tempfile
import unittest

import rtp

TIMEOUT = 60


def setUpModule():
    rtp.check_rtprof()


def ns_tolerance(reference):
    return 0.02 * reference + 1e6


SWITCH_TOLERANCE = 2


class ThreadSchedstat(unittest.TestCase):
    def setUp(self):
        rtp.require_root(self)

    def check_workload(self, cmd_prefix, script, runtime):
        with tempfile.TemporaryDirectory(prefix="rtprof-threads-") as tmp:
            truth_path = os.path.join(tmp, "truth.json")
            go_path = os.path.join(tmp, "go")
            report_path = os.path.join(tmp, "report.json")
            target = subprocess.Popen(cmd_prefix + [rtp.workload(script), truth_path, go_path],
                                      stdin=subprocess.DEVNULL)
            prof = None
            try:
                prof = rtp.BackgroundRtprof(["--json", "-o", report_path, str(target.pid)])
                self.assertTrue(prof.attached.wait(TIMEOUT), "rtprof did not attach\n" + prof.describe())
                open(go_path, "w").close()
                self.assertTrue(rtp.wait_for_file(truth_path, target, TIMEOUT),
                                "workload wrote no reference figures (exit %r)" % target.poll())
                prof.proc.send_signal(signal.SIGINT)
                self.assertEqual(prof.wait(TIMEOUT), 0, "rtprof attach should end with 0 on SIGINT\n"
                                 + prof.describe())
            finally:
                if prof:
                    prof.kill()
                target.kill()
                target.wait()
            with open(truth_path) as f:
                truth = json.load(f)
            with open(report_path) as f:
                report = json.load(f)
        self.assertEqual(report["target"]["pid"], truth["pid"], "target.pid is not the workload's pid")
        self.assertEqual(report["target"]["runtime"], runtime, "target.runtime: %s" % report["target"])
        self.assertEqual(len(truth["workers"]), 4, "workload should report 4 workers: %s" % truth)
        threads = rtp.threads_by_tid(report)
        problems = []
        for ref in truth["workers"]:
            tid = ref["tid"]
            got = threads.get(tid)
            # the workers computed for 0.3 s (Python: CPU time; Node: wall time, 4 threads on the CPUs there are):
            # a report of nothing would not be "within tolerance"
            self.assertGreater(ref["oncpu_ns"], 100_000_000, "worker %d did not compute: %s" % (tid, ref))
            if got is None:
                problems.append("tid %d missing from report threads %s" % (tid, sorted(threads)))
                continue
            if got.get("tgid") != truth["pid"]:
                problems.append("tid %d: tgid %s != pid %d" % (tid, got.get("tgid"), truth["pid"]))
            if got.get("exited"):
                problems.append("tid %d is parked, alive, but exited=%s" % (tid, got.get("exited")))
            for key in ("oncpu_ns", "runq_wait_ns"):
                diff = got.get(key, 0) - ref[key]
                tol = ns_tolerance(ref[key])
                if abs(diff) > tol:
                    problems.append("tid %d: %s %d vs schedstat %d: off by %+d ns (%+.2f%%), tolerance %d ns"
                                    % (tid, key, got.get(key, 0), ref[key], diff,
                                       100.0 * diff / max(ref[key], 1), tol))
            for key in ("vol_switches", "invol_switches"):
                diff = got.get(key, 0) - ref[key]
                if abs(diff) > SWITCH_TOLERANCE:
                    problems.append("tid %d: %s %d vs /proc status %d: off by %+d, tolerance %d"
                                    % (tid, key, got.get(key, 0), ref[key], diff, SWITCH_TOLERANCE))
        if problems:
            self.fail("per-thread figures disagree with the kernel's (lost_events=%s):\n  %s"
                      % (report.get("lost_events"), "\n  ".join(problems)))

    def test_python_threads(self):
        self.check_workload([rtp.python_exe()], "threads_schedstat.py", "python")

    def test_node_worker_threads(self):
        node = rtp.require_node(self)
        self.check_workload([node], "threads_schedstat.js", "node")


if __name__ == "__main__":
    rtp.main()
