"""`rtprof export`, `rtprof report --timeline` and `rtprof compare` on traces of workloads with known activity.

The workload (tests/workloads/export_threads.py) runs named threads one after the other: `sleeper` sleeps 0.2 s in
one clock_nanosleep, `caller` makes exactly K getppid() calls, `spinner` computes for 0.15 s of CPU, and one names
itself with a quote, a backslash, a ';' and a byte that is not UTF-8.
Its trace is recorded once (root) and then exported, drawn and compared; every check is against a number known in
advance (K, 200 ms) or against `rtprof report --json` of the same trace, which computes the same figures from the
same records by another path (the kernel's CPU-time accounting rather than switch timestamps).

A real consumer reads the Chrome export: speedscope's own importer (npm package `speedscope`, pinned), run in
node. Set RTPROF_SPEEDSCOPE_DIR to an installed package directory (PREFIX/node_modules/speedscope) to use it;
otherwise the test installs it with npm into a temporary directory, and skips (fails in CI) when that is not
possible.
"""

import collections
import csv
import gzip
import io
import json
import math
import os
import re
import shutil
import stat
import subprocess
import tempfile
import unittest

import rtp
import tracegen

K_GETPPID = 20000
SLEEP_US = 200000
PHASES = {"M", "X", "C"}
STATES = {"running", "runnable", "sleeping", "blocked"}
LEGEND = set("#+.D ")
# Switch timestamps and the kernel's CPU time differ by where the kernel starts and stops a thread's clock around
# a switch (measured here: 0-10 us a switch, up to ~30 us on a busy VM): a thread that ran 5 ms or more must match
# its oncpu_ns within 5%; one that ran less (a few hundred us in a handful of slices), within 40 us a switch.
ONCPU_REL_TOL = 0.05
ONCPU_SMALL_NS = 5000000
ONCPU_PER_SWITCH_NS = 40000

_recorded = {}


def setUpModule():
    rtp.check_rtprof()


def tmpdir():
    if "dir" not in _recorded:
        _recorded["dir"] = tempfile.mkdtemp(prefix="rtprof-export-")
    return _recorded["dir"]


def tearDownModule():
    if "dir" in _recorded:
        shutil.rmtree(_recorded["dir"], ignore_errors=True)


def lost_cpu_ns():
    """Time the CPUs spent on interrupts and lost to the hypervisor (steal), from /proc/stat: the kernel's
    per-thread on-CPU time (sum_exec_runtime) leaves it out, while a running slice, from switch to switch,
    holds it."""
    with open("/proc/stat") as f:
        fields = f.readline().split()
    irq, softirq, steal = int(fields[6]), int(fields[7]), int(fields[8])
    return (irq + softirq + steal) * 1e9 / os.sysconf("SC_CLK_TCK")


def record(test, name, cmd):
    """Record cmd to a trace once per module; return (trace path, its report from `rtprof report --json`)."""
    if name in _recorded:
        return _recorded[name]
    path = os.path.join(tmpdir(), name + ".rtprof.gz")
    lost = lost_cpu_ns()
    res = rtp.rtprof("run", "-q", "-o", path, "--", *cmd)
    _recorded[name + "_lost_cpu_ns"] = lost_cpu_ns() - lost
    test.assertEqual(res.returncode, 0, "recording %s failed\n%s" % (name, res.describe()))
    rep = rtp.rtprof("report", "--json", path)
    test.assertEqual(rep.returncode, 0, "rtprof report --json %s failed\n%s" % (path, rep.describe()))
    report = rtp.parse_report(test, rep.stdout, "rtprof report --json " + path)
    test.assertEqual(report.get("lost_events"), 0, "the trace lost events; its figures cannot be checked exactly")
    _recorded[name] = (path, report)
    return _recorded[name]


def threads_trace(test):
    """The export_threads.py trace, its report, and the workload's own {"pid", "threads": {name: tid}}."""
    if "threads" not in _recorded:
        tids_path = os.path.join(tmpdir(), "threads.json")
        path, report = record(test, "threads", [rtp.python_exe(), rtp.workload("export_threads.py"), tids_path,
                                                str(K_GETPPID)])
        with open(tids_path) as f:
            _recorded["threads_tids"] = json.load(f)
    path, report = _recorded["threads"]
    return path, report, _recorded["threads_tids"]


def reject_constant(name):
    raise ValueError("not JSON: %s" % name)


def load_strict_json(test, data, what):
    """Strict JSON: valid UTF-8, no NaN/Infinity, nothing after the value."""
    try:
        return json.loads(data.decode("utf-8"), parse_constant=reject_constant)
    except (UnicodeDecodeError, ValueError) as e:
        test.fail("%s is not strict JSON: %s" % (what, e))


def export(test, trace, *args, expect_rc=0):
    res = rtp.rtprof("export", trace, *args)
    if expect_rc is not None:
        test.assertEqual(res.returncode, expect_rc, "rtprof export exit code\n" + res.describe())
    return res


def export_chrome(test, trace, *args):
    out = os.path.join(tmpdir(), "chrome-%d.json.gz" % len(os.listdir(tmpdir())))
    res = export(test, trace, "--format", "chrome", "-o", out, *args)
    with open(out, "rb") as f:
        raw = f.read()
    test.assertEqual(raw[:2], b"\x1f\x8b", "-o X.json.gz should be gzip-compressed")
    return res, out, load_strict_json(test, gzip.decompress(raw), "chrome export of " + trace)


def crafted_one_thread(name, comm, end_ns):
    """A crafted trace (tracegen.py) starting at 1000 ns: thread 100 named comm runs on CPU 0 for 1999 us;
    its footer says the trace ends at end_ns."""
    t = tracegen.Trace(start_ns=1000, ncpus=2, target_pid=100)
    t.thread_base(t.start_ns, 100, 100, comm)
    t.switch(t.start_ns + 1000, 0, 0, 100)
    t.switch(t.start_ns + 2_000_000, 0, 100, 0)
    path = os.path.join(tmpdir(), name)
    with open(path, "wb") as f:
        f.write(t.build(end_ns))
    return path


def thread_label(name, tid):
    """A thread's track name: its name (consumers show its tid, which is the real one, beside it)."""
    return name or "?"


def check_chrome_structure(test, doc):
    """Allowed phases, dur >= 0, per-track ts order and proper nesting; returns {(pid, tid): [X events]}."""
    test.assertIsInstance(doc, dict, "the chrome export should be a JSON object")
    events = doc.get("traceEvents")
    test.assertIsInstance(events, list, "traceEvents should be an array")
    tracks = collections.defaultdict(list)
    counters = collections.defaultdict(list)
    for e in events:
        test.assertIn(e.get("ph"), PHASES, "event with an unexpected phase: %s" % e)
        test.assertIsInstance(e.get("pid"), int, "event without an integer pid: %s" % e)
        test.assertIsInstance(e.get("name"), str, "event without a name: %s" % e)
        if e["ph"] == "X":
            test.assertIsInstance(e.get("tid"), int, "X event without tid: %s" % e)
            test.assertIsInstance(e.get("ts"), (int, float), "X event without ts: %s" % e)
            test.assertIsInstance(e.get("dur"), (int, float), "X event without dur: %s" % e)
            test.assertGreaterEqual(e["dur"], 0, "X event with a negative duration: %s" % e)
            test.assertGreaterEqual(e["ts"], 0, "X event before the trace began: %s" % e)
            tracks[(e["pid"], e["tid"])].append(e)
        elif e["ph"] == "C":
            test.assertIsInstance(e.get("ts"), (int, float), "C event without ts: %s" % e)
            for v in e.get("args", {}).values():
                test.assertTrue(0 <= v <= 100, "CPU load counter outside 0..100%%: %s" % e)
            counters[(e["pid"], e["name"])].append(e)
    for key, xs in list(tracks.items()) + list(counters.items()):
        for a, b in zip(xs, xs[1:]):
            test.assertLessEqual(a["ts"], b["ts"], "track %s is not sorted by ts: %s then %s" % (key, a, b))
    for key, xs in tracks.items():
        stack = []  # ends of the open slices, innermost last
        for e in xs:
            start, end = e["ts"], e["ts"] + e["dur"]
            while stack and stack[-1] <= start:
                stack.pop()
            if stack:
                test.assertLessEqual(end, stack[-1], "track %s: slice %s overlaps the slice around it partially"
                                     % (key, e))
            stack.append(end)
    return tracks


def metadata(doc, name):
    return {(e["pid"], e["tid"]): e["args"]["name"] for e in doc["traceEvents"]
            if e["ph"] == "M" and e["name"] == name}


class ChromeExport(unittest.TestCase):
    def setUp(self):
        rtp.require_root(self)

    def test_structure_names_and_running_time(self):
        trace, report, tids = threads_trace(self)
        _, _, doc = export_chrome(self, trace)
        tracks = check_chrome_structure(self, doc)
        names = metadata(doc, "thread_name")
        procs = metadata(doc, "process_name")
        self.assertIn((tids["pid"], tids["pid"]), procs, "no process_name for the traced process %d" % tids["pid"])
        for t in report["threads"]:
            key = (t["tgid"], t["tid"])
            self.assertEqual(names.get(key), thread_label(t["name"], t["tid"]),
                             "thread_name of thread %d (pid %d) in the report" % (t["tid"], t["tgid"]))
            track = tracks.get(key, [])
            self.assertEqual({e.get("cat") for e in track} - {"state", "syscall", "runtime"}, set(),
                             "thread %d's slices: %s" % (t["tid"], {e.get("cat") for e in track}))
            states = [e for e in track if e.get("cat") == "state"]
            self.assertTrue(all(e["name"] in STATES for e in states),
                            "thread %d has state slices that are not states: %s"
                            % (t["tid"], {e["name"] for e in states} - STATES))
            running_ns = sum(e["dur"] for e in states if e["name"] == "running") * 1000
            switches = t["vol_switches"] + t["invol_switches"] + 1
            tol = ONCPU_REL_TOL * t["oncpu_ns"]
            if t["oncpu_ns"] < ONCPU_SMALL_NS:
                tol = max(tol, ONCPU_PER_SWITCH_NS * switches)
            # interrupts and steal (a busy host) during the recording are in the slices, not in oncpu_ns
            tol += _recorded["threads_lost_cpu_ns"]
            self.assertLessEqual(abs(running_ns - t["oncpu_ns"]), tol,
                                 "thread %s (%d): running slices add up to %.0f ns, the report's oncpu_ns is %d "
                                 "(tolerance %.0f ns)" % (t["name"], t["tid"], running_ns, t["oncpu_ns"], tol))
        # a name with a quote, a backslash, a ';' and a byte that is not UTF-8 (U+FFFD once decoded)
        odd = tids["threads"]["odd"]
        self.assertEqual(names.get((tids["pid"], odd)), 'q"\\\ufffd;x', "escaped thread name")
        # every track is a real thread: the report's, under its process
        self.assertEqual(set(tracks) - {(t["tgid"], t["tid"]) for t in report["threads"]}, set(), "tracks of no thread")
        by_name = {t["name"]: t for t in report["threads"]}
        for name in ("sleeper", "caller", "spinner"):
            self.assertIn(name, by_name, "the report has no thread named %s: %s" % (name, sorted(by_name)))
            self.assertEqual(by_name[name]["tid"], tids["threads"][name], "tid of %s" % name)
        # the spinner computed 0.15 s: its running slices, not a tolerance window, carry that
        spinner = by_name["spinner"]
        running_ns = sum(e["dur"] for e in tracks[(spinner["tgid"], spinner["tid"])]
                         if e["name"] == "running" and e.get("cat") == "state") * 1000
        # (as above, the interrupts and steal of the recording are in its slices: 8 ms of 150 on a busy CI host)
        self.assertLessEqual(abs(running_ns - spinner["oncpu_ns"]),
                             ONCPU_REL_TOL * spinner["oncpu_ns"] + _recorded["threads_lost_cpu_ns"],
                             "spinner: running %.0f ns vs oncpu_ns %d (interrupts and steal meanwhile: %.0f ns)" %
                             (running_ns, spinner["oncpu_ns"], _recorded["threads_lost_cpu_ns"]))
        self.assertGreater(spinner["oncpu_ns"], 140e6, "the spinner computes for 0.15 s: %s" % spinner)

    def test_long_syscall_on_its_thread(self):
        """A syscall that blocked is a slice of its thread's own track (the real tid), holding the states it
        spanned; no return value in its args (a frame a value, in speedscope)."""
        trace, report, tids = threads_trace(self)
        _, _, doc = export_chrome(self, trace)
        tracks = check_chrome_structure(self, doc)
        names = metadata(doc, "thread_name")
        pid, sleeper = tids["pid"], tids["threads"]["sleeper"]
        key = (pid, sleeper)
        self.assertEqual(names.get(key), "sleeper", "name of the sleeper's track")
        track = tracks.get(key, [])
        sleeps = [e for e in track if e["name"] == "clock_nanosleep"]
        self.assertEqual(len(sleeps), 1, "the sleeper makes one clock_nanosleep; its track has %s"
                         % [(e["name"], e["dur"]) for e in track if e.get("cat") != "state"])
        sleep = sleeps[0]
        self.assertLessEqual(abs(sleep["dur"] - SLEEP_US), 0.1 * SLEEP_US,
                             "time.sleep(0.2) should be a slice of ~%d us: %s" % (SLEEP_US, sleep))
        self.assertEqual(sleep.get("cat"), "syscall")
        self.assertNotIn("args", sleep, "a call that succeeded has no args: its return value is no identity")
        inside = [e for e in track if e.get("cat") == "state" and sleep["ts"] <= e["ts"] and
                  e["ts"] + e["dur"] <= sleep["ts"] + sleep["dur"]]
        asleep = sum(e["dur"] for e in inside if e["name"] == "sleeping")
        self.assertGreater(asleep, 0.9 * sleep["dur"], "the sleep's own slice holds its sleeping state: %s" % inside)
        for (p, t), xs in tracks.items():
            short = [e for e in xs if e.get("cat") == "syscall" and e["dur"] < 100]
            self.assertFalse(short, "syscalls under the 100 us threshold exported: %s" % short[:3])
            self.assertFalse([e for e in xs if "ret" in e.get("args", {})], "return values in args")

    def test_every_syscall_with_threshold_zero(self):
        trace, report, tids = threads_trace(self)
        _, _, doc = export_chrome(self, trace, "--min-syscall-us", "0")
        tracks = check_chrome_structure(self, doc)
        caller = tids["threads"]["caller"]
        getppid = [e for e in tracks.get((tids["pid"], caller), []) if e["name"] == "getppid"]
        self.assertEqual(len(getppid), K_GETPPID, "the caller made exactly %d getppid calls" % K_GETPPID)

    def test_output_destinations(self):
        trace, _, _ = threads_trace(self)
        res = export(self, trace, "-o", "-")
        self.assertTrue(res.stdout.startswith("{"), "-o - should write plain JSON to stdout")
        load_strict_json(self, res.stdout.encode(), "chrome export on stdout")
        res = export(self, trace)
        load_strict_json(self, res.stdout.encode(), "chrome export without -o")
        plain = os.path.join(tmpdir(), "plain.json")
        export(self, trace, "-o", plain)
        with open(plain, "rb") as f:
            load_strict_json(self, f.read(), plain)


class FoldedAndCsv(unittest.TestCase):
    def setUp(self):
        rtp.require_root(self)

    def csv_rows(self, trace):
        res = export(self, trace, "--format", "csv")
        lines = res.stdout.splitlines()
        self.assertEqual(lines[0], "kind,tid,start_ns,dur_ns,name,ret,state", "csv header")
        return list(csv.DictReader(io.StringIO(res.stdout)))

    def test_folded(self):
        trace, report, tids = threads_trace(self)
        res = export(self, trace, "--format", "folded")
        folded = {}
        for line in res.stdout.splitlines():
            m = re.match(r"^(.+) \((\d+)\);(.+) \((\d+)\);([^; ]+) (\d+)$", line)
            self.assertIsNotNone(m, "not a folded line 'process (pid);thread (tid);syscall ns': %r" % line)
            # the process frame: the workload's one process, by its name and pid
            self.assertEqual((m.group(1), int(m.group(2))), ("python3", tids["pid"]), line)
            folded[(int(m.group(4)), m.group(5))] = int(m.group(6))
            name = {t["tid"]: t["name"] for t in report["threads"]}.get(int(m.group(4)), "")
            self.assertTrue(m.group(3) == thread_label(name.replace(";", "_"), int(m.group(4))),
                            "folded line of thread %s does not carry its name (';' made '_'): %r" % (m.group(4), line))
        caller = tids["threads"]["caller"]
        self.assertIn((caller, "getppid"), folded, "no 'caller (%d);getppid' line" % caller)
        csv_total = sum(int(r["dur_ns"]) for r in self.csv_rows(trace)
                        if r["kind"] == "syscall" and r["name"] == "getppid" and int(r["tid"]) == caller)
        self.assertEqual(folded[(caller, "getppid")], csv_total,
                         "folded getppid time of the caller should be the sum of its csv rows")
        sleeper = tids["threads"]["sleeper"]
        self.assertGreaterEqual(folded.get((sleeper, "clock_nanosleep"), 0), 0.9 * SLEEP_US * 1000,
                                "the sleeper's clock_nanosleep time")

    def test_csv_counts(self):
        trace, report, tids = threads_trace(self)
        rows = self.csv_rows(trace)
        caller = tids["threads"]["caller"]
        kinds = collections.Counter(r["kind"] for r in rows)
        # runtime rows: the python workload's GIL waits and collections (docs/runtime-metrics.md)
        self.assertEqual(set(kinds) - {"runtime"}, {"syscall", "state"}, "row kinds: %s" % kinds)
        caller_getppid = [r for r in rows if r["kind"] == "syscall" and r["name"] == "getppid"
                          and int(r["tid"]) == caller]
        self.assertEqual(len(caller_getppid), K_GETPPID, "csv getppid rows of the caller")
        all_getppid = sum(1 for r in rows if r["kind"] == "syscall" and r["name"] == "getppid")
        self.assertEqual(all_getppid, rtp.syscall_count(self, report, "getppid"),
                         "csv getppid rows vs the report's getppid count of the same trace")
        states = collections.defaultdict(list)
        for r in rows:
            if r["kind"] == "state":
                self.assertIn(r["state"], STATES, "state row: %s" % r)
                self.assertEqual(r["name"], "", "a state row has no name: %s" % r)
                states[int(r["tid"])].append((int(r["start_ns"]), int(r["dur_ns"]), r["state"]))
            elif r["kind"] == "runtime":
                self.assertEqual((r["state"], r["ret"]), ("", ""), "a runtime row has no state nor ret: %s" % r)
                self.assertTrue(r["name"], "a runtime row is named: %s" % r)
            else:
                self.assertEqual(r["state"], "", "a syscall row has no state: %s" % r)
                int(r["ret"])
        self.assertEqual(set(states), {t["tid"] for t in report["threads"]}, "threads with state rows")
        for tid, spans in states.items():
            for (s1, d1, _), (s2, _, _) in zip(spans, spans[1:]):
                self.assertLessEqual(s1 + d1, s2, "thread %d: state rows overlap or are out of order" % tid)


class Errors(unittest.TestCase):
    def test_bad_input(self):
        d = tempfile.mkdtemp(prefix="rtprof-export-err-")
        try:
            text = os.path.join(d, "text.rtprof.gz")
            with open(text, "w") as f:
                f.write("not a trace\n")
            out = os.path.join(d, "out.json")
            for args, what in (([os.path.join(d, "missing.rtprof.gz")], "a missing file"),
                               ([text, "-o", out], "a file that is not a trace"),
                               ([text, "--format", "svg"], "an unknown format"),
                               ([], "no file"),
                               ([text, text], "two files")):
                res = rtp.rtprof("export", *args)
                self.assertEqual(res.returncode, 2, "export of %s should exit 2\n%s" % (what, res.describe()))
                self.assertIn("rtprof", res.stderr, "%s: no message on stderr" % what)
            self.assertFalse(os.path.exists(out), "no output file should be created for a file that is not a trace")
            res = rtp.rtprof("export", "--help")
            self.assertEqual(res.returncode, 0)
            self.assertIn("--min-syscall-us", res.stdout)
            res = rtp.rtprof("compare", text, text)
            self.assertEqual(res.returncode, 2, "compare of non-traces\n" + res.describe())
            res = rtp.rtprof("compare", text)
            self.assertEqual(res.returncode, 2, "compare of one input\n" + res.describe())
        finally:
            shutil.rmtree(d, ignore_errors=True)

    def test_failed_output_to_a_device_is_left_alone(self):
        # An export that fails removes its half-written output file, but never what -o names when it is not
        # a regular file: a device node made for the test (the same device as /dev/full: writes fail ENOSPC).
        rtp.require_root(self)
        trace, _, _ = threads_trace(self)
        full = os.path.join(tmpdir(), "full")
        os.mknod(full, 0o666 | stat.S_IFCHR, os.makedev(1, 7))
        try:
            res = rtp.rtprof("export", trace, "--format", "csv", "-o", full)
            self.assertNotEqual(res.returncode, 0, "an export to a full device should fail\n" + res.describe())
            self.assertTrue(os.path.exists(full) and stat.S_ISCHR(os.stat(full).st_mode),
                            "the device named by -o was removed after the failed export\n" + res.describe())
        finally:
            if os.path.exists(full):
                os.unlink(full)

    def test_crafted_end_time(self):
        # A footer whose end time is 2^64-1 (tracegen.py): the CPU load buckets' arithmetic must not wrap
        # (it did: a bucket count of 0, then writes past the array; ASan builds abort on it). Every format
        # exports it, and the chrome export is still a valid document with the one running span's load.
        trace = crafted_one_thread("end_max.rtprof.gz", "crafted", (1 << 64) - 1)
        for fmt in ("folded", "csv"):
            export(self, trace, "--format", fmt, "-o", os.path.join(tmpdir(), "end_max." + fmt))
        for args in ((), ("--load-bucket-ms", "1")):
            res, _, doc = export_chrome(self, trace, *args)
            self.assertIn("widened", res.stderr, "a trace this long gets wider load buckets\n" + res.describe())
            running = [e for e in doc["traceEvents"] if e.get("ph") == "X" and e.get("tid") == 100
                       and e.get("name") == "running"]
            self.assertEqual([round(e["dur"]) for e in running], [1999], "the one running span, in us: %s" % running)

    def test_crafted_names_reach_no_terminal(self):
        # A thread named with an OSC title sequence, a bell, CR and LF (a name the kernel allows with
        # prctl(PR_SET_NAME), carried by a trace): the text outputs show it with '?', on its own row.
        trace = crafted_one_thread("names.rtprof.gz", "ev\x1b]0;pwn\x07\r\nx", 1000 + 5_000_000)
        for args in (("report", trace), ("report", "--timeline", trace), ("compare", trace, trace)):
            res = rtp.rtprof(*args)
            self.assertEqual(res.returncode, 0, res.describe())
            for c in "\x1b\x07\r":
                self.assertNotIn(c, res.stdout, "`rtprof %s` printed %r raw\n%s" % (args[0], c, res.describe()))
        res = rtp.rtprof("report", trace)
        rows = [line for line in res.stdout.splitlines() if line.strip().startswith("100 ")]
        self.assertEqual(len(rows), 1, "the thread's row:\n" + res.stdout)
        self.assertIn("ev?]0;pwn???x", rows[0], "the thread's row:\n" + res.stdout)

    def test_truncated_trace(self):
        rtp.require_root(self)
        trace, _, _ = threads_trace(self)
        cut = os.path.join(tmpdir(), "cut.rtprof.gz")
        with open(trace, "rb") as f:
            data = f.read()
        with open(cut, "wb") as f:
            f.write(data[:len(data) * 2 // 3])
        res, _, doc = export_chrome(self, cut)
        self.assertIn("warning", res.stderr, "a cut trace should be reported on stderr\n" + res.describe())
        check_chrome_structure(self, doc)


class SpeedscopeImport(unittest.TestCase):
    """speedscope's importer, the code its web page runs on a dropped file, reads both exports."""

    def setUp(self):
        rtp.require_root(self)
        self.node = rtp.require_node(self)
        self.pkg = self.speedscope_package()

    def speedscope_package(self):
        return rtp.speedscope_package(self, tmpdir())

    def speedscope(self, path):
        return rtp.speedscope_import(self, self.node, self.pkg, path)

    def test_chrome_json_gz(self):
        trace, report, tids = threads_trace(self)
        _, out, doc = export_chrome(self, trace)
        got = self.speedscope(out)
        self.assertEqual(got["importer"], ["Importing as Trace Event Format profile"],
                         "speedscope should recognise the Chrome trace event format")
        self.assertEqual(got["warnings"], [], "speedscope found slices that do not nest or end unopened")
        tracks = check_chrome_structure(self, doc)
        names = metadata(doc, "thread_name")
        self.assertEqual(len(got["profiles"]), len(tracks), "speedscope makes one profile per track with slices")
        for (pid, tid), xs in tracks.items():
            label = names[(pid, tid)]
            matching = [p for p in got["profiles"] if p["name"].endswith(", %s (tid %d)" % (label, tid))]
            self.assertEqual(len(matching), 1, "speedscope profile of track %r: %s"
                             % (label, [p["name"] for p in got["profiles"]]))
            span = max(e["ts"] + e["dur"] for e in xs) - min(e["ts"] for e in xs)
            self.assertAlmostEqual(matching[0]["weight"], span, delta=0.01,
                                   msg="speedscope's length of track %r" % label)
            self.assertEqual(matching[0]["unit"], "microseconds")

    def test_chrome_in_speedscopes_page(self):
        """The export opened in speedscope's own page in headless Chromium: one profile a thread, named by its
        process (with its runtime) and pid, then its name and its real tid; no script error."""
        trace, report, tids = threads_trace(self)
        _, out, doc = export_chrome(self, trace)
        got = rtp.speedscope_render(self, self.node, tmpdir(), out, self.pkg)
        self.assertEqual(got["errors"], [], "the page's errors")
        procs = metadata(doc, "process_name")
        expected = ["%s (pid %d), %s (tid %d)" % (procs[(t["tgid"], t["tgid"])], t["tgid"], t["name"] or "?", t["tid"])
                    for t in report["threads"]]
        names = [p["name"] for p in got["profiles"]]
        self.assertEqual(sorted(names), sorted(expected), "the page's list of tracks")
        self.assertIn("python3 (python 3.11.", procs[(tids["pid"], tids["pid"])], "the process's name says its runtime")
        # the traced command's threads first (process_sort_index), the caller among them by its name
        caller = tids["threads"]["caller"]
        self.assertIn("caller (tid %d)" % caller, " ".join(names[:len(tids["threads"]) + 1]))

    def test_folded_as_collapsed_stacks(self):
        trace, _, _ = threads_trace(self)
        out = os.path.join(tmpdir(), "trace.collapsedstack.txt")
        export(self, trace, "--format", "folded", "-o", out)
        with open(out) as f:
            total = sum(int(line.rsplit(" ", 1)[1]) for line in f)
        got = self.speedscope(out)
        self.assertEqual(got["importer"], ["Importing as collapsed stack format"])
        self.assertEqual(got["warnings"], [])
        self.assertEqual(len(got["profiles"]), 1)
        self.assertEqual(got["profiles"][0]["weight"], total, "speedscope's total of the folded lines")


class Timeline(unittest.TestCase):
    ROW = re.compile(r"^(.*) \((\d+)\)\s* \|(.*)\|$")

    def setUp(self):
        rtp.require_root(self)

    def rows(self, out):
        rows = {}
        for line in out.splitlines():
            m = self.ROW.match(line)
            if m:
                self.assertNotIn(int(m.group(2)), rows, "two rows for thread %s" % m.group(2))
                rows[int(m.group(2))] = (m.group(1), m.group(3))
        return rows

    def test_rows_and_legend(self):
        trace, report, tids = threads_trace(self)
        res = rtp.rtprof("report", trace, "--timeline")
        self.assertEqual(res.returncode, 0, res.describe())
        rows = self.rows(res.stdout)
        self.assertEqual(set(rows), {t["tid"] for t in report["threads"]},
                         "one row per thread of the report\n" + res.stdout)
        widths = {len(cells) for _, cells in rows.values()}
        self.assertEqual(len(widths), 1, "rows of different widths\n" + res.stdout)
        self.assertLessEqual(widths.pop(), 100, "the default fits about 100 columns")
        for tid, (label, cells) in rows.items():
            self.assertLessEqual(set(cells), LEGEND, "row of %d has characters outside the legend: %r" % (tid, cells))
        self.assertIn("legend", res.stdout)
        names = {t["tid"]: t["name"] for t in report["threads"]}
        for tid, (label, _) in rows.items():
            self.assertEqual(label, names[tid] or "?", "row label of thread %d" % tid)
        # the spinner never waits for anything but a CPU; the sleeper sleeps 0.2 s in one go (before it, it may
        # wait for a CPU on a busy machine)
        m = re.search(r"one column = ([\d.]+)(us|ms|s)\b", res.stdout)
        self.assertIsNotNone(m, "no column width in the header\n" + res.stdout)
        column_us = float(m.group(1)) * {"us": 1, "ms": 1e3, "s": 1e6}[m.group(2)]
        spinner = rows[tids["threads"]["spinner"]][1].strip()
        sleeper = rows[tids["threads"]["sleeper"]][1].strip()
        # ...except at its start: a new Python thread can wait for the GIL, which its starter holds until
        # Thread.start() blocks; that wait is short, so it can win only the spinner's first column
        spinner_sleep = {t["tid"]: t["sleep_ns"] + t["block_ns"] for t in report["threads"]}[tids["threads"]["spinner"]]
        if spinner.startswith(".") and spinner_sleep < column_us * 1e3:
            spinner = spinner[1:]
        self.assertLessEqual(set(spinner), set("#+"), "the spinner only runs or waits for a CPU: %r (it slept %d ns)"
                             % (spinner, spinner_sleep))
        self.assertIn("#", spinner)
        longest_sleep = max(len(run) for run in re.findall(r"\.+", sleeper)) if "." in sleeper else 0
        self.assertGreaterEqual(longest_sleep, SLEEP_US / column_us - 1,
                                "the sleeper sleeps %d us in one go: %r (%g us a column)"
                                % (SLEEP_US, sleeper, column_us))
        self.assertLessEqual(longest_sleep, SLEEP_US * 1.1 / column_us + 1, "sleeper: %r" % sleeper)

    def test_resolution(self):
        trace, report, _ = threads_trace(self)
        res = rtp.rtprof("report", "--timeline", "--resolution", "10", trace)
        self.assertEqual(res.returncode, 0, res.describe())
        rows = self.rows(res.stdout)
        columns = math.ceil(report["duration_ns"] / 10e6)
        for tid, (_, cells) in rows.items():
            self.assertEqual(len(cells), columns, "10 ms columns over %d ns" % report["duration_ns"])
        res = rtp.rtprof("report", "--timeline", "--json", trace)
        self.assertEqual(res.returncode, 2, "--timeline with --json\n" + res.describe())


class Compare(unittest.TestCase):
    def setUp(self):
        rtp.require_root(self)

    def traces(self):
        a = record(self, "getppid-python", [rtp.python_exe(), rtp.workload("getppid_loop.py"), "50000"])
        node = rtp.node_exe()
        if node:
            b = record(self, "getppid-node", [node, rtp.workload("getppid_loop.js"), "50000"])
        else:  # two runs of the same program
            b = record(self, "getppid-python-2", [rtp.python_exe(), rtp.workload("getppid_loop.py"), "50000"])
        return a, b

    def test_json_figures_are_the_reports(self):
        (a, rep_a), (b, rep_b) = self.traces()
        saved = os.path.join(tmpdir(), "b-report.json")
        with open(saved, "w") as f:
            json.dump(rep_b, f)
        for inputs, kinds in (([a, b], ["trace", "trace"]), ([a, saved], ["trace", "report"])):
            res = rtp.rtprof("compare", "--json", *inputs)
            self.assertEqual(res.returncode, 0, res.describe())
            doc = load_strict_json(self, res.stdout.encode(), "rtprof compare --json")
            self.assertEqual([i["file"] for i in doc["inputs"]], inputs)
            self.assertEqual([i["kind"] for i in doc["inputs"]], kinds)
            for i, rep in enumerate((rep_a, rep_b)):
                got = doc["inputs"][i]["report"]
                self.assertEqual(got["process"], rep["process"], "input %d: process figures" % i)
                self.assertEqual(got["target"], rep["target"], "input %d: target" % i)
                self.assertEqual(doc["process"]["wall_s"][i], rep["process"]["wall_s"])
                self.assertEqual(doc["process"]["max_rss_kb"][i], rep["process"]["max_rss_kb"])
                self.assertAlmostEqual(doc["process"]["cpu_s"][i],
                                       rep["process"]["cpu_user_s"] + rep["process"]["cpu_sys_s"], places=9)
                self.assertEqual(doc["scheduling"]["threads"][i], len(rep["threads"]))
                self.assertEqual(doc["scheduling"]["oncpu_ns"][i], sum(t["oncpu_ns"] for t in rep["threads"]))
            self.assertAlmostEqual(doc["ratios"]["wall_s"][1], rep_b["process"]["wall_s"] / rep_a["process"]["wall_s"],
                                   places=9)
            row = [s for s in doc["syscalls"] if s["name"] == "getppid"]
            self.assertEqual(len(row), 1, "getppid is in the top syscalls of both")
            self.assertEqual(row[0]["count"], [rtp.syscall_count(self, rep_a, "getppid"),
                                               rtp.syscall_count(self, rep_b, "getppid")])
            self.assertGreaterEqual(min(row[0]["count"]), 50000)

    def test_text_table(self):
        (a, rep_a), (b, rep_b) = self.traces()
        res = rtp.rtprof("compare", a, b)
        self.assertEqual(res.returncode, 0, res.describe())
        lines = res.stdout.splitlines()
        for label, path, rep in (("A", a, rep_a), ("B", b, rep_b)):
            header = [l for l in lines if re.match(r"^  %s\s+%s\s" % (label, re.escape(os.path.basename(path))), l)]
            self.assertEqual(len(header), 1, "input line of %s\n%s" % (label, res.stdout))
            self.assertIn("%s (pid %d)" % (rep["target"]["comm"], rep["target"]["pid"]), header[0])
            self.assertIn(rep["target"]["runtime"], header[0])
            p = rep["process"]
            load = " ".join("%.0f%%" % v for v in p["cpu_load_pct"])
            want = "  %-6s %10.3f %12d %10.3f   %s" % (label, p["wall_s"], p["max_rss_kb"],
                                                      p["cpu_user_s"] + p["cpu_sys_s"], load)
            self.assertIn(want, lines, "process line of %s\n%s" % (label, res.stdout))
        self.assertTrue(any(re.match(r"^  B/A\s+\d+\.\d+x\s+\d+\.\d+x\s+\d+\.\d+x$", l) for l in lines),
                        "ratio line\n" + res.stdout)
        getppid = [l for l in lines if l.startswith("  getppid ")]
        self.assertEqual(len(getppid), 1, res.stdout)
        counts = [int(x) for x in getppid[0].split() if x.isdigit()]
        self.assertEqual(counts[:2], [rtp.syscall_count(self, rep_a, "getppid"), rtp.syscall_count(self, rep_b, "getppid")])


if __name__ == "__main__":
    rtp.main()
