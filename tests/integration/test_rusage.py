"""Process totals of `rtprof run` (from wait4's rusage) against the workload's own getrusage(RUSAGE_SELF)."""

import json
import os
import tempfile
import time
import unittest

import rtp


def setUpModule():
    rtp.check_rtprof()


class ProcessRusage(unittest.TestCase):
    def setUp(self):
        rtp.require_root(self)

    def test_cpu_rss_wall(self):
        with tempfile.TemporaryDirectory(prefix="rtprof-rusage-") as tmp:
            truth_path = os.path.join(tmp, "truth.json")
            report_path = os.path.join(tmp, "report.json")
            start = time.monotonic()
            res = rtp.rtprof("run", "--json", "-o", report_path, "--",
                             rtp.python_exe(), rtp.workload("rusage.py"), truth_path)
            outer_wall = time.monotonic() - start
            self.assertEqual(res.returncode, 0, res.describe())
            self.assertEqual(res.stdout, "", "with -o FILE the report goes to FILE and stdout stays empty")
            report = rtp.read_report_file(self, report_path, res)
            with open(truth_path) as f:
                truth = json.load(f)

        proc = report["process"]
        self.assertEqual(proc.get("source"), "rusage", "process.source for `run` should be rusage: %s" % proc)
        self.assertEqual(report["target"]["pid"], truth["pid"], "target.pid is not the workload's pid")

        # The workload measures itself just before it exits; the interpreter's teardown after that measurement
        # (module cleanup, the final write, exit) still costs a little CPU, hence 0.02 s of slack on top of 1%.
        cpu = proc["cpu_user_s"] + proc["cpu_sys_s"]
        self.assertLessEqual(abs(cpu - truth["cpu_s"]), 0.01 * truth["cpu_s"] + 0.02,
                             "cpu_user_s+cpu_sys_s = %.4f s (user %.4f, sys %.4f) vs getrusage %.4f s "
                             "(user %.4f, sys %.4f)" % (cpu, proc["cpu_user_s"], proc["cpu_sys_s"], truth["cpu_s"],
                                                        truth["utime_s"], truth["stime_s"]))
        self.assertGreaterEqual(cpu, truth["cpu_s"] - 0.001,
                                "rusage at wait4 (%.4f s) cannot be below the workload's own earlier reading "
                                "(%.4f s)" % (cpu, truth["cpu_s"]))

        rss = proc["max_rss_kb"]
        self.assertLessEqual(abs(rss - truth["maxrss_kb"]), 0.01 * truth["maxrss_kb"],
                             "max_rss_kb %d vs ru_maxrss %d kB" % (rss, truth["maxrss_kb"]))
        self.assertGreater(rss, 200 * 1024, "the workload touched 200 MB, max_rss_kb is only %d" % rss)

        wall = proc["wall_s"]
        self.assertLessEqual(wall, outer_wall,
                             "wall_s %.4f is longer than the whole rtprof run measured around it (%.4f s)"
                             % (wall, outer_wall))
        self.assertGreaterEqual(wall, truth["elapsed_s"],
                                "wall_s %.4f is shorter than the workload's own elapsed time %.4f s"
                                % (wall, truth["elapsed_s"]))


if __name__ == "__main__":
    rtp.main()
