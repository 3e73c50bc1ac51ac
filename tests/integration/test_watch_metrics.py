"""rtprofd --watch python,node picks up python and node processes started after it, counts their syscalls,
forgets them after the retention; --metrics serves valid Prometheus exposition text with the same numbers."""

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import unittest
import urllib.parse
import urllib.request

import rtp

CALLS = 20000
RETENTION_S = 1
WINDOW_S = 1


def setUpModule():
    rtp.check_rtprof()


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


NAME = re.compile(r"^[a-zA-Z_:][a-zA-Z0-9_:]*$")
SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{((?:[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\[\\"n])*",?)*)\})? '
                    r'(-?[0-9.eE+-]+|\+Inf|-Inf|NaN)$')
LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\\n]|\\[\\"n])*)"')


def check_exposition(test, text):
    """The text exposition format's rules: HELP/TYPE lines, sample syntax, one contiguous family per name,
    histograms with cumulative buckets ending in +Inf equal to _count. Returns {(name, labels): value}."""
    types, seen_families, current, samples = {}, set(), None, {}
    for n, line in enumerate(text.split("\n"), 1):
        if not line:
            continue
        if line.startswith("#"):
            parts = line.split(" ", 3)
            test.assertIn(parts[1], ("HELP", "TYPE"), "line %d: %s" % (n, line))
            test.assertTrue(NAME.match(parts[2]), "line %d: bad name %r" % (n, parts[2]))
            if parts[1] == "TYPE":
                test.assertIn(parts[3], ("counter", "gauge", "histogram", "summary", "untyped"), line)
                test.assertNotIn(parts[2], types, "line %d: a second TYPE for %s" % (n, parts[2]))
                types[parts[2]] = parts[3]
            continue
        m = SAMPLE.match(line)
        test.assertTrue(m, "line %d is not a sample: %r" % (n, line))
        name = m.group(1)
        family = re.sub(r"_(bucket|sum|count)$", "", name) if re.sub(r"_(bucket|sum|count)$", "", name) in types \
            else name
        if family != current:
            test.assertNotIn(family, seen_families, "line %d: family %s is not contiguous" % (n, family))
            seen_families.add(family)
            current = family
        labels = tuple(LABEL.findall(m.group(3) or ""))
        test.assertEqual(len(set(k for k, _ in labels)), len(labels), "line %d: a label twice" % n)
        test.assertNotIn((name, labels), samples, "line %d: a duplicate sample" % n)
        samples[(name, labels)] = float(m.group(4))
    for family, kind in types.items():
        if kind != "histogram":
            continue
        series = {}
        for (name, labels), value in samples.items():
            if name == family + "_bucket":
                key = tuple(l for l in labels if l[0] != "le")
                le = dict(labels)["le"]
                series.setdefault(key, []).append((float("inf") if le == "+Inf" else float(le), value))
        for key, buckets in series.items():
            buckets.sort()
            values = [v for _, v in buckets]
            test.assertEqual(values, sorted(values), "%s %s: buckets not cumulative" % (family, key))
            test.assertEqual(buckets[-1][0], float("inf"))
            test.assertEqual(buckets[-1][1], samples[(family + "_count", key)])
    return samples


class WatchAndMetrics(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        if os.geteuid() != 0:
            return
        cls.tmp = tempfile.mkdtemp(prefix="rtprofd-watch-")
        cls.sock = os.path.join(cls.tmp, "rtprofd.sock")
        cls.port = free_port()
        rtprofd = rtp.rtprofd_path()
        cls.log = open(os.path.join(cls.tmp, "rtprofd.log"), "w+")
        cls.daemon = subprocess.Popen([rtprofd, "--socket", cls.sock, "--config", "/dev/null", "--watch", "python,node",
                                       "--retention", str(RETENTION_S), "--window", str(WINDOW_S),
                                       "--metrics", "127.0.0.1:%d" % cls.port],
                                      stdin=subprocess.DEVNULL, stdout=cls.log, stderr=subprocess.STDOUT)
        # ready once it says so: the socket exists before the watch's templates and first scan are done, and a
        # process started in between would be found by the scan (probes from "attach")
        deadline = time.monotonic() + rtp.DAEMON_STARTUP_S
        while time.monotonic() < deadline and cls.daemon.poll() is None:
            cls.log.seek(0)
            if os.path.exists(cls.sock) and "rtprofd: listening on" in cls.log.read():
                break
            time.sleep(0.05)

    @classmethod
    def tearDownClass(cls):
        if os.geteuid() != 0:
            return
        cls.daemon.send_signal(signal.SIGTERM)
        cls.daemon.wait(10)
        cls.log.close()
        shutil.rmtree(cls.tmp)

    def setUp(self):
        rtp.require_root(self)
        self.assertIsNone(self.daemon.poll(), "rtprofd is running")
        self.assertTrue(os.path.exists(self.sock), "rtprofd listens")

    def rtprof(self, *args):
        return rtp.daemon_json(self, self.sock, *args)

    def session_of(self, pid, timeout=5):
        return rtp.watched_session(self, self.sock, pid, timeout)

    def watch_one(self, cmd, runtime):
        proc = subprocess.Popen(cmd + ["0.8", str(CALLS), "1.0"])
        try:
            s = self.session_of(proc.pid)
            self.assertIsNotNone(s, "the new %s process (pid %d) is watched" % (runtime, proc.pid))
            self.assertTrue(s["watched"])
            self.assertEqual(proc.wait(20), 0)
            report = self.rtprof("query", str(s["session"]), "--json")
            self.assertEqual(report["target"]["runtime"], runtime)
            self.assertEqual(rtp.syscall_count(self, report, "getppid"), CALLS)
            # the first process of its program: its runtime probes went in after its exec, and the report says
            # since when, never a silent 0; a later one (test_watch_start) is counted from its first instruction
            rows = [r for r in (report.get("runtime_metrics") or {}).get("processes", []) if r.get("pid") == proc.pid]
            self.assertEqual(len(rows), 1, rows)
            if rows[0].get("probes_from") == "exec":
                self.assertTrue(0 < rows[0].get("probes_late_ns", 0) < 5e9, rows)
            else:
                self.assertEqual(rows[0].get("probes_from"), "first instruction", rows)
                self.assertFalse(rows[0].get("probes_late_ns"), rows)
            metrics = urllib.request.urlopen("http://127.0.0.1:%d/metrics" % self.port, timeout=10).read().decode()
            samples = check_exposition(self, metrics)
            mine = [v for (name, labels), v in samples.items() if name == "rtprof_syscalls_total" and
                    ("pid", str(proc.pid)) in labels and ("syscall", "getppid") in labels]
            self.assertEqual(mine, [CALLS], "the metrics show the same count")
            self.check_promtool(metrics)
            self.check_by_process(samples, report, proc.pid)
            detail = urllib.request.urlopen("http://127.0.0.1:%d/metrics?threads=1&syscalls=1" % self.port,
                                            timeout=10).read().decode()
            more = check_exposition(self, detail)
            self.check_promtool(detail)
            cpu = {dict(labels)["tid"]: v for (name, labels), v in more.items()
                   if name == "rtprof_thread_cpu_seconds_total" and ("pid", str(proc.pid)) in labels}
            self.assertEqual(cpu, {str(t["tid"]): round(t["oncpu_ns"] / 1e9, 9) for t in report["threads"]
                                   if t["tgid"] == proc.pid}, "?threads=1: the threads' own series")
            getppid = [v for (name, labels), v in more.items()
                       if name == "rtprof_syscall_latency_by_syscall_seconds_count" and
                       ("pid", str(proc.pid)) in labels and ("syscall", "getppid") in labels]
            self.assertEqual(getppid, [float(sum(rtp.syscall_row(self, report, "getppid")["hist"]))],
                             "?syscalls=1: the histogram of getppid")
            # gone after the retention
            deadline = time.monotonic() + RETENTION_S + 3
            while self.session_of(proc.pid, timeout=0.1) and time.monotonic() < deadline:
                time.sleep(0.1)
            self.assertIsNone(self.session_of(proc.pid, timeout=0.1), "forgotten after the retention")
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()

    def check_by_process(self, samples, report, pid):
        """The default series are by process: no thread label; the process's CPU time its threads' sum; its
        syscalls' latency one histogram (the report's log2 slots, its idle waits left out) whose buckets begin
        at 1.024 us; its runtime's figures (GC, GIL or event loop) the report's."""
        mine = {(name, labels): v for (name, labels), v in samples.items() if ("pid", str(pid)) in labels}
        self.assertFalse([k for k in samples if "tid" in dict(k[1])], "no per-thread series by default")
        cpu = [v for (name, _), v in mine.items() if name == "rtprof_process_cpu_seconds_total"]
        self.assertEqual(cpu, [round(sum(t["oncpu_ns"] for t in report["threads"] if t["tgid"] == pid) / 1e9, 9)])
        busy = [r for r in report["syscalls"] if not r.get("idle")]
        buckets = sorted((float(dict(labels)["le"]), v) for (name, labels), v in mine.items()
                         if name == "rtprof_syscall_latency_seconds_bucket")
        self.assertEqual(buckets[0][0], 1.024e-06, "the first bucket: 2^10 ns")
        self.assertEqual(len(buckets), 14, "13 buckets a factor of 4 apart, and +Inf")
        self.assertEqual(buckets[-1][1], sum(sum(r["hist"]) for r in busy), "the timed calls but the idle waits")
        first = sum(sum(r["hist"][:10]) for r in busy)
        self.assertEqual(buckets[0][1], first, "calls of at most 1.024 us")
        rt = [r for r in report["runtime_metrics"]["processes"] if r["pid"] == pid][0]
        gc = {dict(labels)["kind"]: v for (name, labels), v in mine.items() if name == "rtprof_gc_collections_total"}
        kinds = rt["gc"].get("generations") or rt["gc"].get("collectors")
        self.assertEqual(gc, {str(k.get("generation", k.get("name"))): float(k["count"]) for k in kinds}, rt["gc"])
        if rt["runtime"] == "node":
            iters = [v for (name, _), v in mine.items() if name == "rtprof_event_loop_iterations_total"]
            self.assertEqual(iters, [rt["event_loop"]["iterations"]])
        else:
            waits = [v for (name, _), v in mine.items() if name == "rtprof_gil_waits_total"]
            self.assertEqual(waits, [rt["gil"]["waits"]])

    def check_promtool(self, metrics):
        promtool = shutil.which("promtool")
        if not promtool:
            rtp.skip_or_fail(self, "promtool (Debian package prometheus) is not installed")
        res = subprocess.run([promtool, "check", "metrics"], input=metrics, capture_output=True, text=True)
        # promtool also lints (e.g. counters should end in _total): only a parse error is a failure
        self.assertNotIn("error while linting", res.stderr + res.stdout)
        self.assertFalse("parse" in (res.stderr + res.stdout).lower() and res.returncode != 0,
                         res.stderr + res.stdout)

    def test_python_is_watched(self):
        self.watch_one([rtp.python_exe(), rtp.workload("sleep_getppid_park.py")], "python")

    def test_node_is_watched(self):
        node = rtp.require_node(self)
        self.watch_one([node, rtp.workload("sleep_getppid_park.js")], "node")

    def test_rolling_window(self):
        """The cumulative report has every call; a window that ended after the calls, none -- and lasts the window."""
        proc = subprocess.Popen([rtp.python_exe(), rtp.workload("sleep_getppid_park.py"), "0.8", str(CALLS), "3.5"])
        try:
            s = self.session_of(proc.pid)
            self.assertIsNotNone(s, "the new python process is watched")
            time.sleep(0.8 + 2.5 * WINDOW_S)  # the calls, then more than two windows of sleep
            self.assertIsNone(proc.poll(), "still parked")
            total = self.rtprof("query", str(s["session"]), "--json")
            window = self.rtprof("query", str(s["session"]), "--json", "--window")
            self.assertEqual(rtp.syscall_count(self, total, "getppid"), CALLS)
            self.assertEqual(rtp.syscall_count(self, window, "getppid"), 0, "the last window saw no call")
            self.assertTrue(0.8e9 <= window["duration_ns"] <= 1.5e9, "a window lasts about %d s: %d ns" %
                            (WINDOW_S, window["duration_ns"]))
            self.assertLess(window["duration_ns"], total["duration_ns"])
        finally:
            proc.kill()
            proc.wait()

    def test_prometheus_scrapes(self):
        """A real Prometheus server (Debian's) scrapes rtprofd every second: a watched process's getppid count,
        queried through Prometheus's API, is the number of calls it made."""
        prometheus = shutil.which("prometheus")
        if not prometheus:
            rtp.skip_or_fail(self, "prometheus (Debian package prometheus) is not installed")
        tmp = tempfile.mkdtemp(prefix="rtprof-prometheus-")
        self.addCleanup(shutil.rmtree, tmp, True)
        port = free_port()
        with open(os.path.join(tmp, "prometheus.yml"), "w") as f:
            f.write("global:\n  scrape_interval: 1s\nscrape_configs:\n  - job_name: rtprofd\n"
                    "    static_configs:\n      - targets: ['127.0.0.1:%d']\n" % self.port)
        with open(os.path.join(tmp, "prometheus.log"), "w") as log:
            server = subprocess.Popen([prometheus, "--config.file", os.path.join(tmp, "prometheus.yml"),
                                       "--storage.tsdb.path", os.path.join(tmp, "data"),
                                       "--web.listen-address", "127.0.0.1:%d" % port],
                                      stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT)
        self.addCleanup(server.wait)
        self.addCleanup(server.terminate)
        proc = subprocess.Popen([rtp.python_exe(), rtp.workload("sleep_getppid_park.py"), "0.3", str(CALLS), "30"])
        self.addCleanup(proc.wait)
        self.addCleanup(proc.kill)
        query = "rtprof_syscalls_total{pid=\"%d\",syscall=\"getppid\"}" % proc.pid
        deadline, got = time.monotonic() + 30, None
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen("http://127.0.0.1:%d/api/v1/query?query=%s"
                                            % (port, urllib.parse.quote(query)), timeout=5) as r:
                    result = json.load(r)["data"]["result"]
                got = [float(x["value"][1]) for x in result]
                if got == [CALLS]:
                    break
            except (OSError, ValueError, KeyError):
                pass  # not up yet
            time.sleep(0.5)
        with open(os.path.join(tmp, "prometheus.log")) as f:
            log = f.read()[-3000:]
        self.assertEqual(got, [CALLS], "Prometheus's value of %s\n%s" % (query, log))
        # and its own view of the target: up, its scrapes parsed without error
        with urllib.request.urlopen("http://127.0.0.1:%d/api/v1/targets" % port, timeout=5) as r:
            targets = json.load(r)["data"]["activeTargets"]
        self.assertEqual([(t["health"], t["lastError"]) for t in targets], [("up", "")], targets)

    def test_not_found_is_404(self):
        with self.assertRaises(urllib.error.HTTPError) as ctx:
            urllib.request.urlopen("http://127.0.0.1:%d/other" % self.port, timeout=10)
        self.assertEqual(ctx.exception.code, 404)


if __name__ == "__main__":
    rtp.main()
