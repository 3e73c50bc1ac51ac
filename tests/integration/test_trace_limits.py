"""A trace bigger than the readers hold costs them bounded memory and time, and they say what they left out.

The traces are crafted (tracegen.py), so every count is known in advance: 1,000,000 threads each switched in once and
making one syscall; 200,000 processes; 512 x 1000 (syscall, errno) pairs; 4,000,000 context switches of one thread;
a records block larger than any the writer makes. `rtprof report` (text, --json, --timeline) and `rtprof export` in
every format run on them with their peak RSS measured (wait4): each must stay under 256 MB and finish in well under
a minute, and report exactly how much it left out: the limits are TRACE_MAX_THREADS and TRACE_MAX_PROCS
(daemon/trace/trace.h), TIMELINE_MAX_EVENTS (daemon/trace/timeline.h), the 4096 errno keys of a live session, the
export formats' own (cli/export_*.c). Before these limits, `report --json` of the million threads peaked at 2.9 GB.
"""

import json
import os
import shutil
import sys
import tempfile
import unittest

import rtp
import tracegen

PEAK_RSS_MB = 256
# a guard for the machine: a reader without limits fails here instead of taking all memory
ADDRESS_SPACE_LIMIT = 4 << 30
TIME_LIMIT_S = 30  # each command; all of them take under 2 s after the fix on the project's VMs


TRACE_MAX_THREADS = 65536
TRACE_MAX_PROCS = 4096
MAX_ERRNO_KEYS = 4096
TIMELINE_MAX_EVENTS = 2 << 20
FOLDED_MAX_PAIRS = 512 << 10
CHROME_MAX_SLICES = 512 << 10
N_THREADS = 1_000_000
N_PROCS = 200_000
N_NRS, N_ERRS = 512, 1000
N_SWITCHES = 4_000_000
FORMATS = ("chrome", "folded", "csv")

_dir = {}


def setUpModule():
    rtp.check_rtprof()
    _dir["d"] = tempfile.mkdtemp(prefix="rtprof-limits-")


def tearDownModule():
    shutil.rmtree(_dir["d"], ignore_errors=True)


def write_trace(name, data):
    path = os.path.join(_dir["d"], name)
    with open(path, "wb") as f:
        f.write(data)
    return path


# Runs one command and prints its exit code, peak RSS and wall time as JSON. A fresh interpreter forks it: the
# kernel's peak RSS of a process counts the pages of the one it was forked from (exec keeps the high-water mark),
# and this test's own process holds traces and parsed exports of hundreds of MB.
MEASURE = r"""
import json, os, resource, signal, subprocess, sys, time
limit, timeout, out, err = int(sys.argv[1]), float(sys.argv[2]), sys.argv[3], sys.argv[4]
def guard():
    if limit:
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
start = time.monotonic()
with open(out, "wb") as o, open(err, "wb") as e:
    proc = subprocess.Popen(sys.argv[5:], stdin=subprocess.DEVNULL, stdout=o, stderr=e, preexec_fn=guard)
while True:
    pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
    if pid:
        break
    if time.monotonic() - start > timeout:
        os.kill(proc.pid, signal.SIGKILL)
        _, status, usage = os.wait4(proc.pid, 0)
        break
    time.sleep(0.01)
print(json.dumps({"rc": os.waitstatus_to_exitcode(status), "peak_kb": usage.ru_maxrss,
                  "wall_s": time.monotonic() - start}))
"""


class Run:
    """One rtprof command with its stdout, stderr, exit code, peak RSS (MB) and wall time."""

    def __init__(self, test, *args):
        self.args = args
        out_path = os.path.join(_dir["d"], "stdout")
        err_path = os.path.join(_dir["d"], "stderr")
        limit, time_limit = (0, 4 * TIME_LIMIT_S) if rtp.sanitized() else (ADDRESS_SPACE_LIMIT, TIME_LIMIT_S)
        res = rtp.run([sys.executable, "-c", MEASURE, str(limit), str(time_limit), out_path, err_path,
                       rtp.RTPROF] + list(args), timeout=time_limit + 30)
        test.assertEqual(res.returncode, 0, res.describe())
        m = json.loads(res.stdout)
        self.returncode, self.peak_mb, self.wall_s = m["rc"], m["peak_kb"] / 1024, m["wall_s"]
        with open(out_path, "rb") as f:
            self.stdout = f.read().decode(errors="replace")
        with open(err_path, "rb") as f:
            self.stderr = f.read().decode(errors="replace")
        what = {"report": args[:-1], "export": ("export",) + args[2:4]}.get(args[0], args[:2])
        sys.stderr.write("  rtprof %s: peak RSS %.0f MB, %.2f s\n" % (" ".join(what), self.peak_mb, self.wall_s))
        test.assertLess(self.wall_s, time_limit, "rtprof %s took over %d s" % (" ".join(args), time_limit))
        test.assertEqual(self.returncode, 0, self.describe())
        if not rtp.sanitized():
            test.assertLess(self.peak_mb, PEAK_RSS_MB, "peak RSS over %d MB\n%s" % (PEAK_RSS_MB, self.describe()))

    def describe(self):
        return "rtprof %s: exit %d, peak RSS %.0f MB, %.2f s\nstdout: %s\nstderr: %s" % (
            " ".join(self.args), self.returncode, self.peak_mb, self.wall_s, self.stdout[-1500:], self.stderr[-1500:])


def export(test, trace, fmt, *args):
    out = os.path.join(_dir["d"], "export." + fmt)
    res = Run(test, "export", trace, "--format", fmt, "-o", out, *args)
    with open(out) as f:
        return res, f.read()


class Threads(unittest.TestCase):
    """A million threads: the first 65536 are kept, the records of the others counted."""

    @classmethod
    def setUpClass(cls):
        cls.trace = write_trace("threads.rtprof.gz", tracegen.many_threads(N_THREADS)[0])

    def test_report(self):
        dropped = N_THREADS - TRACE_MAX_THREADS  # one switch-in record each
        res = Run(self, "report", "--json", self.trace)
        report = rtp.parse_report(self, res.stdout, "report --json")
        self.assertEqual(report["thread_drops"], dropped, res.describe())
        self.assertEqual(len(report["threads"]), TRACE_MAX_THREADS)
        self.assertEqual(sorted(t["tid"] for t in report["threads"]), list(range(1000, 1000 + TRACE_MAX_THREADS)))
        self.assertEqual(report["proc_drops"], 0)
        self.assertTrue(report["warnings"] and str(dropped) in report["warnings"][0], report["warnings"])
        self.assertIn(str(dropped), res.stderr, "the warning is on stderr too\n" + res.describe())
        self.assertEqual(rtp.syscall_count(self, report, "getppid"), N_THREADS, "syscalls are all counted")
        res = Run(self, "report", self.trace)
        self.assertIn("not tracked: %d thread events" % dropped, res.stdout, res.describe())

    def test_compare(self):
        # two such traces: each input's report as `report --json` has it
        dropped = N_THREADS - TRACE_MAX_THREADS
        res = Run(self, "compare", "--json", self.trace, self.trace)
        doc = rtp.parse_report(self, res.stdout, "compare --json")
        for i in doc["inputs"]:
            self.assertEqual(i["report"]["thread_drops"], dropped, res.describe())
            self.assertEqual(len(i["report"]["threads"]), TRACE_MAX_THREADS)
        # three are more than compare holds (two traces' worth): refused, saying why
        res = rtp.rtprof("compare", self.trace, self.trace, self.trace)
        self.assertEqual(res.returncode, 2, res.describe())
        self.assertIn("hold %d threads" % (3 * TRACE_MAX_THREADS), res.stderr, res.describe())
        self.assertIn("at most %d threads" % (2 * TRACE_MAX_THREADS), res.stderr, res.describe())

    def test_timeline(self):
        dropped = N_THREADS - TRACE_MAX_THREADS
        res = Run(self, "report", "--timeline", self.trace)
        rows = [line for line in res.stdout.splitlines() if line.endswith("|") and " (" in line]
        self.assertEqual(len(rows), TRACE_MAX_THREADS, res.describe())
        self.assertIn("not drawn: %d records of threads beyond the first %d" % (dropped, TRACE_MAX_THREADS),
                      res.stdout, res.describe())
        self.assertIn(str(dropped), res.stderr, res.describe())

    def test_export(self):
        dropped = N_THREADS - TRACE_MAX_THREADS
        res, text = export(self, self.trace, "chrome")
        doc = json.loads(text)
        self.assertEqual(doc["otherData"]["thread_drops"], dropped, res.describe())
        names = [e for e in doc["traceEvents"] if e["ph"] == "M" and e["name"] == "thread_name"]
        self.assertEqual(len(names), TRACE_MAX_THREADS)
        self.assertIn(str(dropped), res.stderr, res.describe())
        # a slice for every syscall, of which the export holds 524288
        res, text = export(self, self.trace, "chrome", "--min-syscall-us", "0")
        self.assertEqual(json.loads(text)["otherData"]["syscall_slices_dropped"], N_THREADS - CHROME_MAX_SLICES,
                         res.describe())
        self.assertIn("%d and 0 more are left out" % (N_THREADS - CHROME_MAX_SLICES), res.stderr, res.describe())
        # every syscall is one (thread, syscall) pair
        res, text = export(self, self.trace, "folded")
        self.assertEqual(len(text.splitlines()), FOLDED_MAX_PAIRS, res.describe())
        self.assertIn("%d calls of the others are left out" % (N_THREADS - FOLDED_MAX_PAIRS), res.stderr,
                      res.describe())
        # syscall rows are streamed, all of them; each kept thread was runnable, then running
        res, text = export(self, self.trace, "csv")
        kinds = [line.split(",", 1)[0] for line in text.splitlines()[1:]]
        self.assertEqual(kinds.count("syscall"), N_THREADS, res.describe())
        self.assertEqual(kinds.count("state"), 2 * TRACE_MAX_THREADS, res.describe())
        self.assertIn(str(dropped), res.stderr, res.describe())


class LoadCounters(unittest.TestCase):
    def test_threads_running_across_many_buckets(self):
        # 65536 threads switched in on CPU 0 in the first 66 ms of a trace of 2000 s, running to its end: the
        # chrome export's CPU load walked every bucket (2 M of them) of every thread's span, 80 s here
        t = tracegen.Trace(start_ns=1_000_000_000, ncpus=2, target_pid=1000)
        for i in range(TRACE_MAX_THREADS):
            t.switch(t.start_ns + (i + 1) * 1000, 0, 0, 1000 + i)
        trace = write_trace("long.rtprof.gz", t.build(t.start_ns + 2000 * 10**9))
        res, text = export(self, trace, "chrome")
        counters = [e for e in json.loads(text)["traceEvents"] if e["ph"] == "C"]
        cpu0 = [e["args"]["%"] for e in counters if e["name"] == "cpu 0 busy"]
        cpu1 = [e["args"]["%"] for e in counters if e["name"] == "cpu 1 busy"]
        # the spans overlap (a crafted trace): every thread running on CPU 0 in a whole bucket is 100% each
        self.assertEqual(max(cpu0), 100.0 * TRACE_MAX_THREADS, res.describe())
        self.assertEqual(cpu0[-1], 0.0)
        self.assertEqual(cpu1, [0.0, 0.0])


class Processes(unittest.TestCase):
    """200,000 processes: found by pid in constant time (a list search took 16 s for 100,000), 4096 kept."""

    @classmethod
    def setUpClass(cls):
        cls.trace = write_trace("procs.rtprof.gz", tracegen.many_processes(N_PROCS)[0])

    def test_report_timeline_export(self):
        dropped = N_PROCS - TRACE_MAX_PROCS  # one record each
        res = Run(self, "report", "--json", self.trace)
        report = rtp.parse_report(self, res.stdout, "report --json")
        self.assertEqual(report["proc_drops"], dropped, res.describe())
        self.assertEqual(len(report["targets"]), TRACE_MAX_PROCS)
        self.assertEqual(report["thread_drops"], 0)
        res = Run(self, "report", "--timeline", self.trace)
        self.assertIn("%d of processes beyond the first %d" % (dropped, TRACE_MAX_PROCS), res.stdout, res.describe())
        for fmt in FORMATS:
            res, text = export(self, self.trace, fmt)
            self.assertIn("%d of the other processes" % dropped, res.stderr, res.describe())
            if fmt == "chrome":
                self.assertEqual(json.loads(text)["otherData"]["proc_drops"], dropped)


class Errnos(unittest.TestCase):
    """512,000 (syscall, errno) pairs: found in constant time, 4096 kept as in a live session."""

    def test_report(self):
        trace = write_trace("errnos.rtprof.gz", tracegen.many_errnos(N_NRS, N_ERRS)[0])
        res = Run(self, "report", "--json", trace)
        report = rtp.parse_report(self, res.stdout, "report --json")
        self.assertEqual(report["errno_drops"], N_NRS * N_ERRS - MAX_ERRNO_KEYS, res.describe())
        self.assertEqual(sum(len(s["errnos"]) for s in report["syscalls"]), MAX_ERRNO_KEYS)
        self.assertEqual(sum(s["errors"] for s in report["syscalls"]), N_NRS * N_ERRS, "errors are all counted")
        res = Run(self, "report", trace)
        self.assertIn("not broken down by errno: %d failed syscalls" % (N_NRS * N_ERRS - MAX_ERRNO_KEYS), res.stdout,
                      res.describe())


class Switches(unittest.TestCase):
    """4,000,000 context switches: the timeline holds the first 2 M and ends at the first it leaves out."""

    def test_timeline_and_export(self):
        trace = write_trace("switches.rtprof.gz", tracegen.many_switches(N_SWITCHES)[0])
        dropped = N_SWITCHES - TIMELINE_MAX_EVENTS  # one event each
        # the first left out is switch number TIMELINE_MAX_EVENTS + 1, at that many microseconds
        duration_ns = (TIMELINE_MAX_EVENTS + 1) * 1000
        res = Run(self, "report", "--timeline", trace)
        self.assertIn("%d scheduling events beyond the first %d" % (dropped, TIMELINE_MAX_EVENTS), res.stdout,
                      res.describe())
        self.assertIn("Thread states over %.3f s" % (duration_ns / 1e9), res.stdout, res.describe())
        for fmt in FORMATS:
            res, text = export(self, trace, fmt)
            self.assertIn("it ends %.3f s in, at the first of the %d left out" % (duration_ns / 1e9, dropped),
                          res.stderr, res.describe())
            if fmt == "chrome":
                other = json.loads(text)["otherData"]
                self.assertEqual(other["sched_events_dropped"], dropped)
                self.assertEqual(other["duration_ns"], duration_ns)


class Blocks(unittest.TestCase):
    def test_block_larger_than_the_writer_makes(self):
        # 9 MiB of records in one block (the writer's are 1 MiB): skipped as damaged, not inflated whole
        t = tracegen.Trace()
        call = (bytes([tracegen.TR_SYSCALL]) + tracegen.varint(tracegen.zigzag(1000)) + tracegen.varint(100) +
                tracegen.varint(110) + tracegen.varint(1000) + tracegen.varint(0) + tracegen.varint(0))
        data = t._block(b"H", t.header())
        data += t._block(b"R", call * ((9 << 20) // len(call) + 1))
        data += t._block(b"F", t.footer(t.start_ns + 1_000_000))
        trace = write_trace("block.rtprof.gz", data)
        res = Run(self, "report", "--json", trace)
        report = rtp.parse_report(self, res.stdout, "report --json")
        self.assertEqual(report["syscalls"], [], res.describe())
        self.assertTrue(report["warnings"] and "damaged data after block 1" in report["warnings"][0],
                        res.describe())


if __name__ == "__main__":
    rtp.main()
