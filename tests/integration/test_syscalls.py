"""Syscall counts and errors of `rtprof run` against workloads that make a known number of calls, and exit codes.

Interpreters may make a few calls of their own at startup, so every count is checked as the difference from a
baseline run of the same script with zero iterations, and the baseline itself must be small.
"""

import json
import signal
import os
import shutil
import tempfile
import time
import subprocess
import unittest

import rtp

N_GETPPID = 200000
M_STAT = 50000
# An interpreter's own startup may make a few such calls; more than this means the count is wrong, not "startup".
BASELINE_MAX = 100


def setUpModule():
    rtp.check_rtprof()


class SyscallCounts(unittest.TestCase):
    def setUp(self):
        rtp.require_root(self)

    def counted_getppid(self, cmd, n):
        res, report = rtp.run_json(self, cmd + [str(n)])
        self.assertEqual(report.get("mode"), "run", "report of `rtprof run` should say mode run")
        return rtp.syscall_count(self, report, "getppid"), report

    def check_getppid(self, cmd, runtime):
        base, base_report = self.counted_getppid(cmd, 0)
        count, report = self.counted_getppid(cmd, N_GETPPID)
        self.assertEqual(report["target"]["runtime"], runtime,
                         "target.runtime for %s: %s" % (cmd[0], report["target"]))
        self.assertLessEqual(base, BASELINE_MAX,
                             "baseline run (0 iterations) counted %d getppid calls; top syscalls: %s"
                             % (base, rtp.syscall_summary(base_report)))
        self.assertEqual(count - base, N_GETPPID,
                         "workload made exactly %d getppid calls; report counted %d, baseline %d (difference %d); "
                         "lost_events=%s" % (N_GETPPID, count, base, count - base, report.get("lost_events")))
        row = rtp.syscalls_named(report, "getppid")[0]
        self.assertEqual(row.get("errors"), 0, "getppid cannot fail, yet errors=%s" % row.get("errors"))
        self.assertGreater(row.get("total_ns", 0), 0, "getppid total_ns should be > 0: %s" % row)
        self.assertLessEqual(row.get("p50_ns", 0), row.get("p99_ns", 0), "p50 > p99: %s" % row)
        self.assertLessEqual(row.get("p99_ns", 0), row.get("max_ns", 0) * 2,
                             "p99 (a log2 bucket bound at most 2x a sample) far above max: %s" % row)

    def test_python_getppid_exact(self):
        self.check_getppid([rtp.python_exe(), rtp.workload("getppid_loop.py")], "python")

    def test_node_getppid_exact(self):
        node = rtp.require_node(self)
        self.check_getppid([node, rtp.workload("getppid_loop.js")], "node")

    def test_one_exec_of_the_command(self):
        # rtprof finds the command in $PATH itself: the program's execve is its one exec, not a search's
        # failures (PATH here has 3 directories without `true` before the one with it)
        with tempfile.TemporaryDirectory() as d:
            empties = [os.path.join(d, str(i)) for i in range(3)]
            for e in empties:
                os.mkdir(e)
            true = shutil.which("true")
            env = dict(os.environ, PATH=":".join(empties + [os.path.dirname(true)]))
            res = rtp.rtprof("run", "--json", "-o", "-", "--", "true", env=env)
            self.assertEqual(res.returncode, 0, res.describe())
            report = rtp.parse_report(self, res.stdout, "report")
        rows = rtp.syscalls_named(report, "execve")
        self.assertEqual([(r.get("count"), r.get("errors")) for r in rows], [(1, 0)],
                         "execve rows: %s" % rows)

    def enoent_rows(self, report):
        return [s for s in report.get("syscalls", []) if s.get("errnos", {}).get("ENOENT", 0) >= M_STAT]

    def test_python_stat_missing_enoent_exact(self):
        cmd = [rtp.python_exe(), rtp.workload("stat_missing.py")]
        _, base_report = rtp.run_json(self, cmd + ["0"])
        _, report = rtp.run_json(self, cmd + [str(M_STAT)])
        rows = self.enoent_rows(report)
        self.assertEqual(len(rows), 1,
                         "exactly one syscall (the stat one, newfstatat on x86_64) should have >= %d ENOENT errors; "
                         "got %s" % (M_STAT, [(s.get("name"), s.get("errnos")) for s in report.get("syscalls", [])]))
        row = rows[0]
        name = row["name"]
        self.assertGreaterEqual(row.get("errors", 0), M_STAT,
                                "%s: errors=%s < %d failed stat calls" % (name, row.get("errors"), M_STAT))
        self.assertGreaterEqual(row.get("count", 0), row.get("errors", 0),
                                "%s: count %s < errors %s" % (name, row.get("count"), row.get("errors")))
        self.assertEqual(sum(row["errnos"].values()), row["errors"],
                         "%s: errnos %s do not add up to errors=%s" % (name, row["errnos"], row["errors"]))
        base_rows = rtp.syscalls_named(base_report, name)
        base = base_rows[0].get("errnos", {}).get("ENOENT", 0) if base_rows else 0
        self.assertLessEqual(base, BASELINE_MAX, "baseline run (0 stats) had %d ENOENT from %s" % (base, name))
        got = row["errnos"]["ENOENT"] - base
        self.assertEqual(got, M_STAT,
                         "%s: %d ENOENT in the run, %d in the baseline: difference %d, expected exactly %d; "
                         "lost_events=%s" % (name, row["errnos"]["ENOENT"], base, got, M_STAT,
                                             report.get("lost_events")))


class ExitCodes(unittest.TestCase):
    def setUp(self):
        rtp.require_root(self)

    def test_exit_code_propagates(self):
        res, report = rtp.run_json(self, [rtp.python_exe(), rtp.workload("exit_with.py"), "code:3"], expect_rc=3)
        self.assertEqual(report.get("mode"), "run", "a report is still written when the command fails")

    def test_killed_by_signal_is_128_plus_signal(self):
        res, report = rtp.run_json(self, [rtp.python_exe(), rtp.workload("exit_with.py"),
                                          "signal:%d" % signal.SIGKILL], expect_rc=128 + signal.SIGKILL)
        self.assertEqual(report.get("mode"), "run", "a report is still written when the command is killed")

    def test_exit_zero(self):
        rtp.run_json(self, [rtp.python_exe(), rtp.workload("exit_with.py"), "code:0"], expect_rc=0)


class FailedPaths(unittest.TestCase):
    """Failures of path-taking syscalls by the path they named: counted in the kernel, exact, in the JSON,
    the text report and a trace's report alike; a session's distinct paths are bounded (256), the rest
    counted as drops."""

    def setUp(self):
        rtp.require_root(self)
        self.tmp = tempfile.mkdtemp(prefix="rtprof-paths-")
        self.addCleanup(shutil.rmtree, self.tmp, True)

    def paths_of(self, report, syscall):
        rows = rtp.syscalls_named(report, syscall)
        self.assertEqual(len(rows), 1, "one %s row: %s" % (syscall, rtp.syscall_summary(report)))
        return {(p["path"], p["errno"]): p["count"] for p in rows[0].get("error_paths", [])}, rows[0]

    def check(self, report, truth):
        stats, row = self.paths_of(report, "newfstatat")
        for path, times in truth["stat"].items():
            self.assertEqual(stats.get((path, "ENOENT")), times, "%s failed %d times: %s" % (path, times, stats))
        ours = [p for p in row["error_paths"] if p["path"] in truth["stat"]]
        self.assertEqual([p["count"] for p in ours], [30, 20, 10], "most frequent first: %s" % ours)
        opens, _ = self.paths_of(report, "openat")
        (dir_d, times), = truth["open_eisdir"].items()
        self.assertEqual(opens.get((dir_d, "EISDIR")), times, opens)
        mkdirs, row = self.paths_of(report, "mkdir")
        self.assertEqual(mkdirs, {(dir_d, "EEXIST"): 5}, mkdirs)
        # every failure of a path-taking call is counted under its path (no drops here)
        self.assertNotIn("error_path_drops", report)
        for s in report["syscalls"]:
            if s.get("error_paths"):
                self.assertEqual(sum(p["count"] for p in s["error_paths"]), s["errors"], s)
                for e, n in s["errnos"].items():
                    self.assertEqual(sum(p["count"] for p in s["error_paths"] if p["errno"] == e), n, s)

    def test_counts_by_path(self):
        trace = os.path.join(self.tmp, "t.rtprof.gz")
        res = rtp.rtprof("run", "--json", "-o", "-", "--", rtp.python_exe(), rtp.workload("fail_paths.py"), self.tmp)
        self.assertEqual(res.returncode, 0, res.describe())
        # the command's JSON first on stdout, then the report
        dec = json.JSONDecoder()
        truth, end = dec.raw_decode(res.stdout)
        report = json.loads(res.stdout[end:])
        self.check(report, truth)
        # the text report names them under their syscall, most frequent first
        shutil.rmtree(os.path.join(self.tmp, "dir-d"))
        res = rtp.rtprof("run", "-o", trace, "--", rtp.python_exe(), rtp.workload("fail_paths.py"), self.tmp)
        self.assertEqual(res.returncode, 0, res.describe())
        truth = json.loads(res.stdout)
        text = rtp.rtprof("report", trace)
        self.assertEqual(text.returncode, 0, text.describe())
        a, b, c = (os.path.join(self.tmp, "missing-" + x) for x in "abc")
        self.assertIn("failed on %s ENOENT 30, %s ENOENT 20, %s ENOENT 10" % (c, b, a), text.stdout)
        # the trace carries them: its report has the same counts
        res = rtp.rtprof("report", "--json", trace)
        self.assertEqual(res.returncode, 0, res.describe())
        self.check(json.loads(res.stdout), truth)

    def test_a_freed_session_leaves_no_paths(self):
        """Two sessions of a private rtprofd one after the other, in the same slot: the second lists only its
        own process's failing paths (a session's paths go with it)."""
        sock, _ = rtp.start_rtprofd(self)
        reports = []
        for prefix in ("/nonexistent-first", "/nonexistent-second"):
            proc = subprocess.Popen([rtp.python_exe(), rtp.workload("fail_paths_loop.py"), prefix, "3"])
            self.addCleanup(proc.kill)
            time.sleep(0.3)
            res = rtp.rtprof("--socket", sock, "attach", "--json", "-o", "-", "-d", "1", str(proc.pid))
            self.assertEqual(res.returncode, 0, res.describe())
            self.assertIn("through rtprofd", res.stderr)
            reports.append(json.loads(res.stdout))
            proc.kill()
            proc.wait()
        for prefix, report in zip(("/nonexistent-first", "/nonexistent-second"), reports):
            paths = {p["path"] for s in report["syscalls"] for p in s.get("error_paths", [])}
            self.assertTrue(paths, "failing paths listed")
            self.assertEqual({p for p in paths if not p.startswith(prefix)}, set(), "only %s's paths" % prefix)

    def test_a_session_keeps_256_paths(self):
        res = rtp.rtprof("run", "--json", "-o", "-", "--", rtp.python_exe(), rtp.workload("fail_paths.py"), self.tmp,
                         "400")
        self.assertEqual(res.returncode, 0, res.describe())
        truth, end = json.JSONDecoder().raw_decode(res.stdout)
        report = json.loads(res.stdout[end:])
        kept = sum(len(s.get("error_paths", [])) for s in report["syscalls"])
        self.assertEqual(kept, 256, "distinct paths kept")
        # each failure counted once: by its path or as a drop
        by_path = sum(p["count"] for s in report["syscalls"] for p in s.get("error_paths", []))
        failed = sum(s["errors"] for s in report["syscalls"] if s.get("error_paths"))
        self.assertEqual(by_path + report.get("error_path_drops", 0), failed)
        self.assertGreaterEqual(report.get("error_path_drops", 0), 400 - 256)
        # the first paths seen kept their exact counts
        stats, _ = self.paths_of(report, "newfstatat")
        for path, times in truth["stat"].items():
            self.assertEqual(stats.get((path, "ENOENT")), times)


class Launchers(unittest.TestCase):
    """A program exec'd by a launcher in the same process (a version manager's shim, a shell, env): its
    report is the program's from its first instruction; the launcher's figures and its helpers are one line."""

    def setUp(self):
        rtp.require_root(self)

    def shim(self):
        shim = os.path.expanduser("~/.pyenv/shims/python3")
        if not os.access(shim, os.X_OK):
            rtp.skip_or_fail(self, "needs pyenv's python3 shim (%s)" % shim)
        return shim

    def test_through_pyenv_shim(self):
        """The shim's bash, readlink and basename make execve, wait4 and getppid calls of their own: none
        is the program's. The script's getppid count is exact, its process and thread the only rows."""
        n = 5000
        res, report = rtp.run_json(self, [self.shim(), rtp.workload("getppid_loop.py"), str(n)])
        self.assertEqual(rtp.syscall_count(self, report, "getppid"), n)
        names = {s["name"] for s in report["syscalls"]}
        self.assertFalse(names & {"execve", "wait4", "clone", "clone3", "vfork"},
                         "the launcher's calls: %s" % sorted(names))
        pid = report["target"]["pid"]
        self.assertEqual([t["pid"] for t in report["targets"]], [pid])
        self.assertEqual({t["tgid"] for t in report["threads"]}, {pid})
        w = report["wrapper"]
        self.assertGreater(w["helpers"], 0, w)
        self.assertIn("bash", w["helper_names"])
        self.assertGreater(w["start_ns"], 0)
        self.assertLess(report["duration_ns"], report["process"]["wall_s"] * 1e9, "from the program's start")
        text = rtp.rtprof("run", "--", self.shim(), rtp.workload("getppid_loop.py"), "10")
        self.assertRegex(text.stderr, r"started through a launcher .* and its \d+ helper processes \(bash x\d+")

    def test_all_processes_keeps_them(self):
        res, report = rtp.run_json(self, [self.shim(), rtp.workload("getppid_loop.py"), "100"],
                                   extra=["--all-processes"])
        self.assertNotIn("wrapper", report)
        self.assertGreater(len(report["targets"]), 1)
        self.assertGreater(rtp.syscall_count(self, report, "execve"), 1)

    def test_shell_exec(self):
        """sh -c 'exec python3 ...': the shell's calls are left out, no helper."""
        res, report = rtp.run_json(self, ["/bin/sh", "-c", 'exec "$0" "$@"', rtp.python_exe(),
                                          rtp.workload("getppid_loop.py"), "1000"])
        self.assertEqual(rtp.syscall_count(self, report, "getppid"), 1000)
        self.assertEqual(report["wrapper"]["helpers"], 0)
        self.assertEqual(report["target"]["runtime"], "python")

    def test_no_launcher_no_wrapper(self):
        res, report = rtp.run_json(self, [rtp.python_exe(), rtp.workload("getppid_loop.py"), "10"])
        self.assertNotIn("wrapper", report)


class IdleWaits(unittest.TestCase):
    """Calls that wait (for time here) are apart from the calls that work, in the text and flagged in the JSON."""

    def setUp(self):
        rtp.require_root(self)

    def test_sleep_apart(self):
        script = "import os, time\nfor _ in range(20):\n    time.sleep(0.01)\nfor _ in range(100):\n    os.getppid()\n"
        res, report = rtp.run_json(self, [rtp.python_exe(), "-c", script])
        rows = {s["name"]: s for s in report["syscalls"]}
        self.assertTrue(rows["clock_nanosleep"]["idle"])
        self.assertGreaterEqual(rows["clock_nanosleep"]["count"], 20)
        self.assertFalse(rows["getppid"]["idle"])
        text = rtp.rtprof("run", "--", rtp.python_exe(), "-c", script)
        self.assertEqual(text.returncode, 0, text.describe())
        main, _, waiting = text.stderr.partition("\nWaiting (")
        self.assertIn("getppid", main.split("\nThreads")[0])
        self.assertNotIn("clock_nanosleep", main)
        self.assertRegex(waiting.split("\nThreads")[0], r"\n  clock_nanosleep +\d+ ")


class Processes(unittest.TestCase):
    """A multiprocessing Pool of 4: five processes in the report, each with its python runtime and its own
    collections, and with --per-thread each one's getsid calls exactly as the workload made them."""

    def setUp(self):
        rtp.require_root(self)

    def test_pool_of_four(self):
        tmp = tempfile.mkdtemp(prefix="rtprof-processes-")
        self.addCleanup(shutil.rmtree, tmp, True)
        truth_path, trace = os.path.join(tmp, "truth.json"), os.path.join(tmp, "t.rtprof.gz")
        res = rtp.rtprof("run", "--per-thread", "--json", "-o", trace, "--", rtp.python_exe(),
                         rtp.workload("pool_calls.py"), truth_path)
        self.assertEqual(res.returncode, 0, res.describe())
        live = rtp.parse_report(self, res.stderr[res.stderr.index("{"):], "run's report")
        with open(truth_path) as f:
            truth = json.load(f)
        calls = {int(pid): n for pid, n in truth["getsid"].items()}
        procs = live["processes"]
        self.assertEqual(len(procs), 5, [(p["pid"], p["name"]) for p in procs])
        self.assertEqual(procs[0]["pid"], truth["parent"], "the traced command first")
        self.assertEqual(sorted(p["pid"] for p in procs), sorted(set(calls) | {truth["parent"]}))
        runtimes = {r["pid"]: r for r in live["runtime_metrics"]["processes"]}
        for p in procs:
            with self.subTest(pid=p["pid"]):
                self.assertEqual((p["runtime"], p["version"][:4]), ("python", "3.11"), p)
                # measured, its own: a worker's probes go in some ms after its fork (its report says how late), so
                # a worker that ran its tasks before may have none
                self.assertIsNotNone(p["gc_count"], p)
                self.assertEqual(p["gc_count"], runtimes[p["pid"]]["gc"]["count"], "its own collections")
                getsid = [r for r in p["syscalls"]["by_syscall"] if r["syscall"] == "getsid"]
                self.assertEqual([r["count"] for r in getsid], [calls[p["pid"]]], "getsid of pid %d" % p["pid"])
                self.assertEqual(p["threads"], len([t for t in live["threads"] if t["tgid"] == p["pid"]]))
                self.assertEqual(p["oncpu_ns"], sum(t["oncpu_ns"] for t in live["threads"] if t["tgid"] == p["pid"]))
        self.assertGreater(sum(p["gc_count"] for p in procs[1:]), 0, "the workers' collections")
        # the trace's report: the same processes, the same counts
        again = rtp.rtprof("report", "--per-thread", "--json", trace)
        self.assertEqual(again.returncode, 0, again.describe())
        replay = rtp.parse_report(self, again.stdout, "the trace's report")
        self.assertEqual({p["pid"]: p["syscalls"]["calls"] for p in replay["processes"]},
                         {p["pid"]: p["syscalls"]["calls"] for p in procs})
        text = rtp.rtprof("report", "--per-thread", "--top", "0", trace)
        self.assertIn("Processes (5)\n", text.stdout)
        for pid, n in calls.items():
            self.assertRegex(text.stdout, r"\(pid %d\): \d+ calls, [^\n]*\n(    .*\n)*?    getsid +%d +0 " % (pid, n))
        # without --per-thread: the processes, their syscalls not counted apart
        plain = rtp.rtprof("report", "--json", trace)
        self.assertEqual([p["syscalls"] for p in rtp.parse_report(self, plain.stdout, "plain")["processes"]],
                         [None] * 5)


class PerThread(unittest.TestCase):
    """--per-thread: each thread's syscalls, counted exactly where the workload made them, the same from the
    trace (rtprof report --per-thread), and not in the report without the option."""

    def setUp(self):
        rtp.require_root(self)

    def test_counts_by_thread(self):
        tmp = tempfile.mkdtemp(prefix="rtprof-per-thread-")
        self.addCleanup(shutil.rmtree, tmp, True)
        truth_path, trace = os.path.join(tmp, "truth.json"), os.path.join(tmp, "t.rtprof.gz")
        res = rtp.rtprof("run", "--per-thread", "--json", "-o", trace, "--", rtp.python_exe(),
                         rtp.workload("per_thread_calls.py"), truth_path)
        self.assertEqual(res.returncode, 0, res.describe())
        live = rtp.parse_report(self, res.stderr[res.stderr.index("{"):], "run's report")
        with open(truth_path) as f:
            truth = json.load(f)
        self.assertTrue(live.get("per_thread"))
        rows = {(r["tid"], r["syscall"]): r for r in live["thread_syscalls"]}
        for who, name, calls in (("a", "getppid", 1000), ("b", "getpid", 500), ("main", "getsid", 200)):
            row = rows.get((truth[who], name))
            self.assertIsNotNone(row, "%s's %s: rows %s" % (who, name, sorted(rows)[:40]))
            self.assertEqual(row["count"], calls, row)
            self.assertEqual(row["pid"], truth["pid"])
            others = [r for (tid, sc), r in rows.items() if sc == name and tid != truth[who]]
            self.assertEqual(others, [], "%s on other threads" % name)
        # each thread's rows add up to the process's syscall table
        for sc in live["syscalls"]:
            self.assertEqual(sum(r["count"] for (_, n), r in rows.items() if n == sc["name"]), sc["count"], sc["name"])
        again = rtp.rtprof("report", "--per-thread", "--json", trace)
        self.assertEqual(again.returncode, 0, again.describe())
        replay = rtp.parse_report(self, again.stdout, "the trace's report")
        self.assertEqual({(r["tid"], r["syscall"]): (r["count"], r["errors"]) for r in replay["thread_syscalls"]},
                         {k: (r["count"], r["errors"]) for k, r in rows.items()})
        text = rtp.rtprof("report", "--per-thread", trace)
        self.assertRegex(text.stdout, r"Syscalls by thread \(--per-thread\)\n  \S+ \(tid %d, pid %d\)"
                         % (min(truth["main"], truth["a"], truth["b"]), truth["pid"]))
        self.assertRegex(text.stdout, r"\n    getppid +1000 +0 ")
        plain = rtp.rtprof("report", "--json", trace)
        self.assertNotIn("thread_syscalls", rtp.parse_report(self, plain.stdout, "the report without the option"))


if __name__ == "__main__":
    rtp.main()
