"""Recording traces: the file is valid gzip, holds one record per syscall, and `rtprof report` on it agrees with
the live report of the same session (counts exactly, times within 1%); --max-size, -d and a full disk stop the
recording with the file still readable."""

import json
import os
import pwd
import shutil
import signal
import subprocess
import tempfile
import time
import unittest

import rtp

N = 100000


def setUpModule():
    rtp.check_rtprof()


def offline(test, trace, expect_rc=0):
    res = rtp.rtprof("report", "--json", trace)
    test.assertEqual(res.returncode, expect_rc, res.describe())
    return rtp.parse_report(test, res.stdout, "stdout of `rtprof report --json`"), res


def within(a, b, rel=0.01, abs_ns=1000):
    return abs(a - b) <= rel * max(a, b) + abs_ns


class RoundTrip(unittest.TestCase):
    def setUp(self):
        rtp.require_root(self)
        self.tmp = tempfile.mkdtemp(prefix="rtprof-trace-")
        self.addCleanup(shutil.rmtree, self.tmp)

    def record(self, cmd, extra=(), expect_rc=0):
        trace = os.path.join(self.tmp, "t.rtprof.gz")
        live_path = os.path.join(self.tmp, "live.json")
        res = rtp.rtprof("run", "--json", "-q", "-o", trace, "-o", live_path, *extra, "--", *cmd)
        self.assertEqual(res.returncode, expect_rc, res.describe())
        with open(live_path) as f:
            live = json.load(f)
        return trace, live

    def assert_agree(self, live, off):
        self.assertEqual(off["warnings"], [], "a complete trace reads without warnings")
        self.assertEqual(off["target"]["pid"], live["target"]["pid"])
        self.assertEqual(off["target"]["runtime"], live["target"]["runtime"])
        self.assertEqual(off["lost_events"], 0)
        self.assertEqual(live["lost_events"], 0)
        ls = {s["name"]: s for s in live["syscalls"]}
        os_ = {s["name"]: s for s in off["syscalls"]}
        self.assertEqual(sorted(ls), sorted(os_), "the same syscalls")
        for name, s in ls.items():
            o = os_[name]
            for key in ("count", "errors", "errnos"):
                self.assertEqual(o[key], s[key], "%s %s: live %s, trace %s" % (name, key, s[key], o[key]))
            self.assertTrue(within(o["total_ns"], s["total_ns"]), "%s total_ns: live %d, trace %d" %
                            (name, s["total_ns"], o["total_ns"]))
        lt = rtp.threads_by_tid(live)
        ot = rtp.threads_by_tid(off)
        self.assertEqual(sorted(lt), sorted(ot), "the same threads")
        for tid, t in lt.items():
            o = ot[tid]
            for key in ("vol_switches", "invol_switches", "migrations", "exited", "tgid"):
                self.assertEqual(o[key], t[key], "tid %d %s: live %s, trace %s" % (tid, key, t[key], o[key]))
            for key in ("oncpu_ns", "runq_wait_ns", "sleep_ns", "block_ns"):
                self.assertTrue(within(o[key], t[key]), "tid %d %s: live %d, trace %d" % (tid, key, t[key], o[key]))
        for key in ("wall_s", "cpu_user_s", "cpu_sys_s", "max_rss_kb"):
            self.assertEqual(off["process"][key], live["process"][key], key)

    def test_python_getppid_round_trip(self):
        trace, live = self.record([rtp.python_exe(), rtp.workload("getppid_loop.py"), str(N)])
        self.assertEqual(subprocess.run(["gzip", "-t", trace]).returncode, 0, "gzip -t on the trace")
        off, _ = offline(self, trace)
        self.assertEqual(rtp.syscall_count(self, off, "getppid"), N, "one record per getppid call")
        self.assertEqual(off["mode"], "run")
        self.assert_agree(live, off)

    def test_python_threads_round_trip(self):
        trace, live = self.record([rtp.python_exe(), os.path.join(rtp.REPO, "docs", "examples", "sample_app.py")])
        off, _ = offline(self, trace)
        self.assertGreaterEqual(len(off["threads"]), 5, "main thread and 4 workers")
        self.assert_agree(live, off)

    def test_node_getppid_round_trip(self):
        node = rtp.require_node(self)
        trace, live = self.record([node, rtp.workload("getppid_loop.js"), str(N)])
        off, _ = offline(self, trace)
        self.assertEqual(rtp.syscall_count(self, off, "getppid"), N)
        self.assert_agree(live, off)


class Bounds(unittest.TestCase):
    def setUp(self):
        rtp.require_root(self)
        self.tmp = tempfile.mkdtemp(prefix="rtprof-trace-")
        self.addCleanup(shutil.rmtree, self.tmp, True)

    def test_max_size(self):
        trace = os.path.join(self.tmp, "t.rtprof.gz")
        res = rtp.rtprof("run", "--json", "-q", "-o", trace, "-o", "-", "--max-size", "100K", "--",
                         rtp.python_exe(), rtp.workload("getppid_loop.py"), "2000000")
        self.assertEqual(res.returncode, 0, res.describe())
        live = rtp.parse_report(self, res.stdout, "live report")
        self.assertEqual(rtp.syscall_count(self, live, "getppid"), 2000000, "the session itself is complete")
        # the bound is checked as blocks are written: at most one ~1 MiB block past it
        self.assertLess(os.path.getsize(trace), 100 * 1024 + 512 * 1024)
        off, _ = offline(self, trace)
        self.assertTrue(any("max-size" in w for w in off["warnings"]), off["warnings"])
        self.assertLess(rtp.syscall_count(self, off, "getppid"), 2000000)

    def test_duration(self):
        trace = os.path.join(self.tmp, "t.rtprof.gz")
        res = rtp.rtprof("run", "--json", "-q", "-o", trace, "-o", "-", "-d", "0.3", "--",
                         rtp.python_exe(), rtp.workload("spin.py"), "1.5")
        self.assertEqual(res.returncode, 0, res.describe())
        live = rtp.parse_report(self, res.stdout, "live report")
        off, _ = offline(self, trace)
        self.assertTrue(any("duration" in w for w in off["warnings"]), off["warnings"])
        self.assertGreater(live["duration_ns"], 1.4e9, "the command ran to its end")
        # the trace's report is of the 0.3 s it recorded, its process line too (not the whole run's 1.5 s)
        self.assertTrue(0.3e9 <= off["duration_ns"] < 0.6e9, "the recorded window: %d ns" % off["duration_ns"])
        proc = off["process"]
        self.assertEqual(proc["source"], "trace", proc)
        self.assertAlmostEqual(proc["wall_s"], off["duration_ns"] / 1e9, places=3)
        cpu = proc["cpu_user_s"] + proc["cpu_sys_s"]
        self.assertAlmostEqual(cpu, sum(t["oncpu_ns"] for t in off["threads"]) / 1e9, places=3)
        # the spinner ran through the window: its time since its last switch is in the trace too
        self.assertTrue(0.5 * proc["wall_s"] <= cpu <= proc["wall_s"] + 0.01, "a spinner's CPU time in the "
                        "window: %.3f s of %.3f s" % (cpu, proc["wall_s"]))
        self.assertLess(cpu, live["process"]["cpu_user_s"] + live["process"]["cpu_sys_s"] - 0.5)

    def test_disk_full(self):
        mnt = os.path.join(self.tmp, "small")
        os.mkdir(mnt)
        if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", mnt]).returncode != 0:
            rtp.skip_or_fail(self, "cannot mount a small tmpfs")
        self.addCleanup(subprocess.run, ["umount", mnt])
        trace = os.path.join(mnt, "t.rtprof.gz")
        res = rtp.rtprof("run", "--json", "-q", "-o", trace, "--",
                         rtp.python_exe(), rtp.workload("getppid_loop.py"), "1000000")
        self.assertEqual(res.returncode, 1, "a trace that could not be written is a failure\n" + res.describe())
        self.assertIn("No space left on device", res.stderr)
        copy = os.path.join(self.tmp, "copy.rtprof.gz")
        shutil.copy(trace, copy)
        off, _ = offline(self, copy)
        self.assertTrue(off["warnings"], "a cut trace says so")
        self.assertLess(rtp.syscall_count(self, off, "getppid"), 1000000)


class DaemonRecording(unittest.TestCase):
    """`rtprof attach -o FILE.rtprof.gz` through rtprofd: the daemon records and streams; the CLI writes the file
    as its own user -- here nobody, recording nobody's own process."""

    def setUp(self):
        rtp.require_root(self)
        if not shutil.which("setpriv"):
            rtp.skip_or_fail(self, "setpriv (util-linux) is needed to run as nobody")
        self.tmp = tempfile.mkdtemp(prefix="rtprof-drec-")
        self.addCleanup(shutil.rmtree, self.tmp, True)
        os.chmod(self.tmp, 0o777)
        self.sock = os.path.join(self.tmp, "rtprofd.sock")
        rtprofd = rtp.rtprofd_path()
        self.daemon = subprocess.Popen([rtprofd, "--socket", self.sock, "--config", "/dev/null"],
                                       stdin=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.addCleanup(lambda: (self.daemon.send_signal(signal.SIGTERM), self.daemon.wait(10)))
        # the daemon sets the socket's owner and mode after bind: open it to all once the daemon answers
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            res = rtp.run([rtp.RTPROF, "status", "--socket", self.sock], timeout=10)
            if res.returncode == 0:
                break
            time.sleep(0.05)
        os.chmod(self.sock, 0o666)
        self.binary = os.path.join(self.tmp, "rtprof")
        shutil.copy(rtp.RTPROF, self.binary)
        os.chmod(self.binary, 0o755)
        self.as_nobody = ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups"]

    def test_record_through_daemon_as_nobody(self):
        go = os.path.join(self.tmp, "go")
        trace = os.path.join(self.tmp, "t.rtprof.gz")
        # nobody's process: waits for the go file, then makes exactly N getppid calls and exits
        target = subprocess.Popen(self.as_nobody + [rtp.python_exe(), "-c",
                                  "import os, time\nwhile not os.path.exists(%r): time.sleep(0.01)\n"
                                  "for _ in range(%d): os.getppid()\n" % (go, N)])
        self.addCleanup(lambda: target.poll() is None and (target.kill(), target.wait()))
        env = dict(os.environ, RTPROF_SOCKET=self.sock)
        prof = subprocess.Popen(self.as_nobody + [self.binary, "attach", "--json", "-o", trace, str(target.pid)],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
        deadline = time.monotonic() + 10
        while not os.path.exists(trace) and time.monotonic() < deadline:
            time.sleep(0.02)
        time.sleep(0.3)  # the recording has started (its file exists); let the probes settle
        open(go, "w").close()
        out, err = prof.communicate(timeout=60)
        self.assertEqual(prof.returncode, 0, err)
        self.assertIn("through rtprofd", err)
        live = json.loads(out)
        self.assertEqual(rtp.syscall_count(self, live, "getppid"), N)
        self.assertEqual(pwd.getpwuid(os.stat(trace).st_uid).pw_name, "nobody", "the file is the user's")
        self.assertEqual(subprocess.run(["gzip", "-t", trace]).returncode, 0)
        off, _ = offline(self, trace)
        self.assertEqual(off["warnings"], [])
        self.assertEqual(rtp.syscall_count(self, off, "getppid"), N, "one record per call in the streamed file")


if __name__ == "__main__":
    rtp.main()
