"""Python stacks on CPU (`--stacks`, report key `profiles`) against the workload's own CPU clock.

stacks_split.py spends CPU in busy_a, busy_b and busy_c in a 60/30/10 proportion that it measures itself
(time.thread_time around each call); the profile's shares of the three functions must match it within 5 points,
for Debian's python3.11 (static, stripped) and pyenv's 3.10, 3.11, 3.12 and 3.13 (shared libpython). The stacks
must be the program's: <module> -> main -> busy_a, in the workload's file, on lines inside each function.
The number of samples must be the sampling rate times the CPU time the kernel counted for the process. An
interpreter whose layout does not check out is reported as such, with no frames at all.
"""

import email.parser
import email.policy
import glob
import http.server
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import struct
import tempfile
import threading
import time
import unittest
import urllib.parse

import rtp

DEBIAN_PYTHON = "/usr/bin/python3.11"
CPU_S = "2.0"
HZ = 499  # more samples than the default: a 5-point bound on a share is then > 3 standard deviations


def setUpModule():
    rtp.check_rtprof()



pyenv_python = rtp.pyenv_python


def interpreters(test):
    found = []
    if os.access(DEBIAN_PYTHON, os.X_OK):
        found.append(DEBIAN_PYTHON)
    for minor in (10, 11, 12, 13):
        found.append(pyenv_python(test, minor))
    return found


def elf_symbol_offset(path, name):
    """The file offset of the dynamic symbol `name`'s value in the ELF64 file (its PT_LOAD's mapping)."""
    with open(path, "rb") as f:
        data = f.read()
    e_phoff, e_shoff = struct.unpack_from("<QQ", data, 0x20)
    e_phentsize, e_phnum, e_shentsize, e_shnum = struct.unpack_from("<HHHH", data, 0x36)
    sections = [struct.unpack_from("<IIQQQQIIQQ", data, e_shoff + i * e_shentsize) for i in range(e_shnum)]
    dynsym = [sh for sh in sections if sh[1] == 11][0]  # SHT_DYNSYM
    strtab = sections[dynsym[6]]
    value = None
    for off in range(dynsym[4], dynsym[4] + dynsym[5], 24):
        st_name, _, _, _, st_value, _ = struct.unpack_from("<IBBHQQ", data, off)
        end = data.index(b"\0", strtab[4] + st_name)
        if data[strtab[4] + st_name:end] == name.encode():
            value = st_value
    for i in range(e_phnum):
        p_type, _, p_offset, p_vaddr, _, p_filesz, _, _ = struct.unpack_from("<IIQQQQQQ", data, e_phoff + i * e_phentsize)
        if p_type == 1 and p_vaddr <= value < p_vaddr + p_filesz:
            return value - p_vaddr + p_offset
    raise AssertionError("%s not in a PT_LOAD of %s" % (name, path))


def python_frames(row):
    """The Python functions of a stack row, outermost first (the <kernel> or <native: FILE> leaf marker left
    out)."""
    stack = row["stack"]
    if row["in_kernel"] or (stack and stack[-1]["function"].startswith("<native: ")):
        stack = stack[:-1]
    return stack


class StacksCase(unittest.TestCase):
    def setUp(self):
        rtp.require_root(self)

    def profile(self, python, *args, hz=HZ, extra=()):
        fd, truth = tempfile.mkstemp(prefix="rtprof-stacks-")
        os.close(fd)
        self.addCleanup(os.unlink, truth)
        flags = ["--stacks"] + (["--sample-hz", str(hz)] if hz else []) + list(extra)
        res, report = rtp.run_json(self, [python, rtp.workload("stacks_split.py"), truth, CPU_S] + list(args),
                                   extra=flags)
        with open(truth) as f:
            return report, json.load(f), res

    def rows_of(self, report, pid):
        self.assertIn("profiles", report, "no profiles in the report of --stacks")
        return [r for r in report["profiles"]["cpu"] if r["pid"] == pid]


class OnCpu(StacksCase):
    def test_shares_stacks_and_lines(self):
        names = ("busy_a", "busy_b", "busy_c")
        for python in interpreters(self):
            with self.subTest(python=python):
                report, truth, res = self.profile(python)
                pid = truth["pid"]
                procs = {p["pid"]: p for p in report["profiles"]["processes"]}
                self.assertIn(pid, procs, res.describe())
                self.assertEqual(procs[pid]["method"], "cpython-%s frames" % truth["version"])
                self.assertIsNone(procs[pid]["unavailable"])
                rows = self.rows_of(report, pid)
                self.assertTrue(all(r["tid"] == pid for r in rows), "one thread: %s" % rows[:3])
                split = dict.fromkeys(names, 0)
                in_loop = 0
                for row in rows:
                    frames = python_frames(row)
                    leaf = frames[-1] if frames else {}
                    if leaf.get("function") not in split or leaf.get("file") != truth["file"]:
                        continue
                    split[leaf["function"]] += row["samples"]
                    # the program's own stack, outermost first, on the lines of each function's spin loop
                    self.assertEqual([f["function"] for f in frames[-3:]], ["<module>", "main", leaf["function"]],
                                     "stack %s" % frames)
                    # the def line too: a frame that has not run its first instruction yet (3.10's f_lasti -1,
                    # 3.11+'s RESUME) is on its function's first line, as the interpreter says itself
                    first, last = truth["lines"][leaf["function"]]
                    self.assertTrue(first <= leaf["line"] <= last, "line %s of a sample in %s (%d..%d)"
                                    % (leaf["line"], leaf["function"], first, last))
                    in_loop += row["samples"] if leaf["line"] in truth["loop_lines"][leaf["function"]] else 0
                    first, last = truth["lines"]["main"]
                    self.assertTrue(first <= frames[-2]["line"] <= last, "main's line %s" % frames[-2]["line"])
                total = sum(split.values())
                self.assertGreater(total, 0.8 * HZ * float(CPU_S), "samples in the three: %s" % split)
                # nearly all on the two lines of the spin loops (a few on the call before or the sum after)
                self.assertGreater(in_loop, 0.95 * total, "samples on the spin loops' lines")
                cpu = sum(truth["cpu_s"][n] for n in names)
                for n in names:
                    self.assertAlmostEqual(split[n] / total, truth["cpu_s"][n] / cpu, delta=0.05,
                                           msg="%s's share: samples %s, CPU %s" % (n, split, truth["cpu_s"]))

    def test_deep_recursion_is_cut_and_marked(self):
        """300 calls deep: the innermost 128 frames, all the program's, under a <truncated> marker."""
        fd, truth_path = tempfile.mkstemp(prefix="rtprof-stacks-")
        os.close(fd)
        self.addCleanup(os.unlink, truth_path)
        res, report = rtp.run_json(self, [pyenv_python(self, 13), rtp.workload("stacks_deep.py"), truth_path, "300",
                                          "0.5"], extra=["--stacks", "--sample-hz", str(HZ)])
        with open(truth_path) as f:
            truth = json.load(f)
        deep = [r for r in self.rows_of(report, truth["pid"])
                if any(f["function"] == "spin" for f in r["stack"])]
        total = sum(r["samples"] for r in deep)
        self.assertGreater(total, 0.8 * HZ * 0.5)
        # A sample can land on spin's first statement (its clock read, before the loop), or on its def line (the
        # frame's first instruction): rare, but real. Nearly all of them are in the loop.
        in_loop = sum(r["samples"] for r in deep if python_frames(r)[-1]["line"] in truth["loop_lines"])
        self.assertGreater(in_loop, 0.95 * total, "spin's time is in its loop")
        for r in deep:
            frames = python_frames(r)
            self.assertTrue(r["truncated"], "a stack 300 deep is marked truncated")
            self.assertEqual(frames[0]["function"], "<truncated>")
            self.assertEqual(len(frames), 1 + 128, "the innermost 128 frames are kept")
            self.assertEqual(frames[-1]["function"], "spin")
            self.assertIn(frames[-1]["line"], truth["spin_lines"])
            self.assertEqual((frames[-2]["function"], frames[-2]["line"]), ("recurse", truth["bottom_line"]))
            for f in frames[1:-2]:
                self.assertEqual((f["function"], f["file"], f["line"]), ("recurse", truth["file"], truth["call_line"]))

    def test_native_leaf(self):
        """A sample in user code outside the interpreter's file ends in <native: FILE>, the file the process
        maps there: zlib's deflate for compress_work (all but a sliver of its CPU), not for a Python loop."""
        for python in (DEBIAN_PYTHON if os.access(DEBIAN_PYTHON, os.X_OK) else pyenv_python(self, 11),
                       pyenv_python(self, 13)):
            with self.subTest(python=python):
                fd, truth_path = tempfile.mkstemp(prefix="rtprof-stacks-")
                os.close(fd)
                self.addCleanup(os.unlink, truth_path)
                res, report = rtp.run_json(self, [python, rtp.workload("stacks_native.py"), truth_path, "1.6"],
                                           extra=["--stacks", "--sample-hz", str(HZ)])
                with open(truth_path) as f:
                    truth = json.load(f)
                self.assertTrue(truth["zlib"], "the workload maps a zlib library")
                by = {"compress_work": {}, "spin": {}}
                for row in self.rows_of(report, truth["pid"]):
                    names = [f["function"] for f in row["stack"]]
                    for fn in by:
                        if fn in names:
                            leaf = names[-1] if names[-1].startswith("<native: ") else "python"
                            by[fn][leaf] = by[fn].get(leaf, 0) + row["samples"]
                zlib_leaf = "<native: %s>" % truth["zlib"]
                compress = sum(by["compress_work"].values())
                self.assertGreater(compress, 0.8 * HZ * 0.8, by)
                self.assertGreater(by["compress_work"].get(zlib_leaf, 0), 0.8 * compress, by)
                self.assertEqual(by["spin"].get(zlib_leaf, 0), 0, by)
                self.assertGreater(by["spin"].get("python", 0), 0.5 * sum(by["spin"].values()), by)

    def test_samples_are_rate_times_cpu(self):
        """At the default rate: the samples of the process are 99 a second of its CPU time (the kernel's)."""
        report, truth, res = self.profile(DEBIAN_PYTHON if os.access(DEBIAN_PYTHON, os.X_OK)
                                          else pyenv_python(self, 11), hz=None)
        self.assertEqual(report["profiles"]["sample_hz"], 99)
        samples = sum(r["samples"] for r in self.rows_of(report, truth["pid"]))
        cpu_s = sum(t["oncpu_ns"] for t in report["threads"] if t.get("pid", truth["pid"]) == truth["pid"]) / 1e9
        self.assertAlmostEqual(samples / cpu_s, 99, delta=99 * 0.15,
                               msg="%d samples over %.3f s of CPU" % (samples, cpu_s))

    def test_threads(self):
        """busy_a on the main thread, busy_b on another: each function's samples on its own thread."""
        report, truth, res = self.profile(pyenv_python(self, 12), "threads")
        by = {}
        for row in self.rows_of(report, truth["pid"]):
            frames = python_frames(row)
            if frames and frames[-1]["function"] in ("busy_a", "busy_b"):
                key = (frames[-1]["function"], row["tid"])
                by[key] = by.get(key, 0) + row["samples"]
        main, other = truth["tids"]["main"], truth["tids"]["other"]
        self.assertGreater(by.get(("busy_a", main), 0), 0.8 * HZ * float(CPU_S) * 0.7, by)
        self.assertGreater(by.get(("busy_b", other), 0), 0.8 * HZ * float(CPU_S) * 0.3, by)
        self.assertEqual(by.get(("busy_a", other), 0) + by.get(("busy_b", main), 0), 0, by)

    def test_text_report(self):
        python = pyenv_python(self, 13)
        fd, truth = tempfile.mkstemp(prefix="rtprof-stacks-")
        os.close(fd)
        self.addCleanup(os.unlink, truth)
        res = rtp.rtprof("run", "--stacks", "-q", "--", python, rtp.workload("stacks_split.py"), truth, "1.0")
        self.assertEqual(res.returncode, 0, res.describe())
        lines = res.stderr.splitlines()
        at = [i for i, l in enumerate(lines) if l.startswith("Top functions on CPU")]
        self.assertEqual(len(at), 1, res.stderr)
        rows = lines[at[0] + 2:at[0] + 4]
        self.assertRegex(rows[0], r"^\s+\d+\.\d% +\d+\.\d%  busy_a +\S+stacks_split\.py:\d+$", res.stderr)
        self.assertRegex(rows[1], r"busy_b", res.stderr)


class OffCpu(StacksCase):
    """Off-CPU time by the stack a thread left the CPU in, against the same threads' sleep, blocked and
    run-queue times (the scheduler's own accounting, in the threads table); GIL waits by stack against the
    futex GIL method's waits of each thread."""

    def test_offcpu_and_gil(self):
        for python in (pyenv_python(self, 11), pyenv_python(self, 13)):
            with self.subTest(python=python):
                fd, truth_path = tempfile.mkstemp(prefix="rtprof-stacks-")
                os.close(fd)
                self.addCleanup(os.unlink, truth_path)
                res, report = rtp.run_json(self, [python, rtp.workload("stacks_offcpu.py"), truth_path],
                                           extra=["--stacks"])
                with open(truth_path) as f:
                    truth = json.load(f)
                prof = report["profiles"]
                threads = {t["tid"]: t for t in report["threads"]}
                gil = {t["tid"]: t for t in report["runtime_metrics"]["processes"][0]["gil"]["threads"]}
                workers = truth["tids"]["spin"] + [truth["tids"]["nap"]]
                self.assertEqual(len(truth["tids"]["spin"]), 4)
                # the GIL waits by stack add up to the GIL section's total (its waits since the walker was
                # placed: the same start as the walker's under `run`), within 5%
                gil_total = report["runtime_metrics"]["processes"][0]["gil"]["wait_ns"]
                stacks_total = sum(r["ns"] for r in prof["gil"])
                self.assertAlmostEqual(stacks_total, gil_total, delta=0.05 * gil_total,
                                       msg="GIL waits by stack %d ns, the GIL section's %d ns" % (stacks_total,
                                                                                                  gil_total))
                for tid in workers:
                    rows = [r for r in prof["offcpu"] if r["tid"] == tid]
                    got = sum(r["ns"] for r in rows)
                    t = threads[tid]
                    want = t["sleep_ns"] + t["block_ns"] + t["runq_wait_ns"]
                    self.assertAlmostEqual(got, want, delta=0.02 * want + 2e6,
                                           msg="thread %d off CPU: stacks %d ns, scheduler %d ns" % (tid, got, want))
                    # the futex method times each wait from its futex call's entry to its return; the stacks
                    # from the switch-out to the switch-in: the calls' time on CPU around their sleep is in
                    # the former only (~30 us a wait measured here)
                    got_gil = sum(r["ns"] for r in prof["gil"] if r["tid"] == tid)
                    want_gil, waits = gil[tid]["wait_ns"], gil[tid]["waits"]
                    msg = "thread %d GIL waits: stacks %d ns, futex method %d ns in %d waits" % (
                        tid, got_gil, want_gil, waits)
                    self.assertLessEqual(got_gil, want_gil + 1e6, msg)
                    self.assertGreaterEqual(got_gil, want_gil - 0.02 * want_gil - 2e6 - waits * 60e3, msg)
                # the sleeper slept in nap(), at least as long as it asked to
                napped = sum(r["ns"] for r in prof["offcpu"] if r["tid"] == truth["tids"]["nap"]
                             and r["state"] == "sleeping" and python_frames(r)
                             and python_frames(r)[-1]["function"] == "nap")
                self.assertGreaterEqual(napped, 0.95 * truth["naps"] * truth["nap_s"] * 1e9)
                # the spinners waited for the GIL in spin()
                for tid in truth["tids"]["spin"]:
                    # (a new thread waits for the GIL before its first frame: those waits have no Python frame)
                    rows = [r for r in prof["gil"] if r["tid"] == tid and python_frames(r)
                            and python_frames(r)[0]["function"] != "<no Python frame>"]
                    in_spin = sum(r["ns"] for r in rows if python_frames(r)[-1:]
                                  and python_frames(r)[-1]["function"] == "spin")
                    self.assertGreater(in_spin, 0.9 * sum(r["ns"] for r in rows), rows[:5])


    def test_short_waits_sampled(self):
        """Waits of a few microseconds inside syscalls (two threads passing a byte over pipes 20000 times, on
        one CPU: see stacks_pingpong.py):
        by default one in 16 is walked with its call and stands for 16 (exact: false), with --exact-latency
        every one is; either way their time is each thread's time off CPU as it measures it (wall time less
        its CPU time), within the sampling's error and 2 us an interval (where the tracepoint sees a switch
        is not quite where the kernel stops and starts charging CPU time)."""
        for extra, exact, delta in (((), False, 0.15), (("--exact-latency",), True, 0.03)):
            with self.subTest(extra=extra):
                fd, truth_path = tempfile.mkstemp(prefix="rtprof-stacks-")
                os.close(fd)
                self.addCleanup(os.unlink, truth_path)
                res, report = rtp.run_json(self, [pyenv_python(self, 12), rtp.workload("stacks_pingpong.py"),
                                                  truth_path, "20000"], extra=["--stacks"] + list(extra))
                with open(truth_path) as f:
                    truth = json.load(f)
                threads = {t["tid"]: t for t in report["threads"]}
                for name in ("ping", "pong"):
                    tid = truth["tids"][name]
                    rows = [r for r in report["profiles"]["offcpu"] if r["tid"] == tid]
                    in_fn = [r for r in rows if any(f["function"] == name and f["file"] == truth["file"]
                                                    for f in python_frames(r))]
                    self.assertTrue(in_fn, "waits in %s: %s" % (name, rows[:3]))
                    if exact:
                        self.assertTrue(all(r["exact"] for r in rows), rows[:3])
                    else:
                        self.assertTrue(any(not r["exact"] for r in in_fn), "short waits are sampled, and say so")
                    want = truth["off_cpu_s"][name] * 1e9
                    switches = threads[tid]["vol_switches"] + threads[tid]["invol_switches"]
                    got = sum(r["ns"] for r in rows)
                    self.assertAlmostEqual(got, want, delta=delta * want + 2e3 * switches + 2e6,
                                           msg="%s off CPU: stacks %d ns, the thread's own %d ns, %d switches"
                                           % (name, got, want, switches))


class Syscalls(StacksCase):
    """Syscalls by the stack that made them: exact with --exact-latency (every call walked); by default the
    calls of 1 ms or more exact, the faster ones sampled one in 16 and said so."""

    N = 20000
    NAPS = 20

    def run_sys(self, python, extra=()):
        fd, truth_path = tempfile.mkstemp(prefix="rtprof-stacks-")
        os.close(fd)
        self.addCleanup(os.unlink, truth_path)
        res, report = rtp.run_json(self, [python, rtp.workload("stacks_sys.py"), truth_path, str(self.N),
                                          str(self.NAPS)], extra=["--stacks"] + list(extra))
        with open(truth_path) as f:
            return report, json.load(f)

    @staticmethod
    def in_function(report, syscall, function, file):
        return [r for r in report["profiles"]["syscalls"] if r["syscall"] == syscall
                and any(f["function"] == function and f["file"] == file for f in python_frames(r))]

    def test_exact(self):
        for python in (pyenv_python(self, 11), pyenv_python(self, 13)):
            with self.subTest(python=python):
                report, truth = self.run_sys(python, ["--exact-latency"])
                # every call is counted by some stack, exactly; a walk may stop at a frame whose page is not
                # resident (BPF reads cannot fault it in), so a rare call's stack is cut short of caller()
                every = [r for r in report["profiles"]["syscalls"] if r["syscall"] == "getppid"]
                self.assertEqual(sum(r["calls"] for r in every), rtp.syscalls_named(report, "getppid")[0]["count"])
                rows = self.in_function(report, "getppid", "caller", truth["file"])
                calls = sum(r["calls"] for r in rows)
                # the others with Python frames were cut short, and say so (a call the interpreter makes on its
                # own, outside any Python frame, is <no Python frame>)
                cut = [r for r in every if r not in rows
                       and [f["function"] for f in python_frames(r)] != ["<no Python frame>"]]
                self.assertTrue(all(r["partial"] for r in cut), cut[:3])
                self.assertLessEqual(calls, self.N)
                self.assertGreaterEqual(calls, self.N - self.N // 1000, rows[:3])
                self.assertTrue(all(r["exact"] and r["errors"] == 0 for r in rows), rows[:3])
                self.assertEqual(python_frames(rows[0])[-1]["function"], "caller")
                total = sum(r["ns"] for r in report["profiles"]["syscalls"] if r["syscall"] == "getppid")
                self.assertEqual(total, rtp.syscalls_named(report, "getppid")[0]["total_ns"],
                                 "getppid's time by stack is the syscall table's (every call timed and walked)")

    def test_slow_exact_fast_sampled(self):
        report, truth = self.run_sys(pyenv_python(self, 12))
        naps = self.in_function(report, "clock_nanosleep", "napper", truth["file"])
        self.assertEqual(sum(r["calls"] for r in naps), self.NAPS, "every sleep of 5 ms, exactly")
        self.assertTrue(all(r["exact"] for r in naps))
        self.assertGreaterEqual(sum(r["ns"] for r in naps), self.NAPS * 5e6)
        fast = self.in_function(report, "getppid", "caller", truth["file"])
        self.assertTrue(fast and not any(r["exact"] for r in fast), "fast calls are sampled, and say so")
        self.assertAlmostEqual(sum(r["calls"] for r in fast), self.N, delta=0.1 * self.N)


class Traces(StacksCase):
    """A trace recorded with --stacks carries them: `rtprof report FILE` rebuilds the same profiles, and the
    exports (folded, speedscope, svg) hold the same figures."""

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="rtprof-stacks-")

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def recorded(self):
        if getattr(Traces, "_rec", None):
            return Traces._rec
        trace = os.path.join(self.tmp, "split.rtprof.gz")
        truth = os.path.join(self.tmp, "truth.json")
        res, live = rtp.run_json(self, [pyenv_python(self, 12), rtp.workload("stacks_split.py"), truth, "1.0"],
                                 extra=["--stacks", "-o", trace])
        with open(truth) as f:
            Traces._rec = (trace, live, json.load(f))
        return Traces._rec

    @staticmethod
    def rows(profiles, kind):
        return sorted((r["pid"], r["tid"], r.get("state") or "", r.get("samples", r.get("calls")), r["ns"],
                       tuple((f["function"], f["file"] or "", f["line"] or 0) for f in r["stack"]))
                      for r in profiles[kind])

    def export(self, *args):
        trace, _, _ = self.recorded()
        res = rtp.rtprof("export", trace, *args)
        self.assertEqual(res.returncode, 0, res.describe())
        return res

    def test_report_of_the_trace(self):
        trace, live, _ = self.recorded()
        res = rtp.rtprof("report", trace, "--json")
        self.assertEqual(res.returncode, 0, res.describe())
        replayed = json.loads(res.stdout)["profiles"]
        for kind in ("cpu", "offcpu", "gil", "syscalls"):
            self.assertEqual(self.rows(replayed, kind), self.rows(live["profiles"], kind), kind)
        self.assertEqual(replayed["processes"], live["profiles"]["processes"])

    def test_folded(self):
        trace, live, truth = self.recorded()
        lines = self.export("--format", "folded", "--profile", "cpu").stdout.splitlines()
        want = {}
        for r in live["profiles"]["cpu"]:
            want[r["tid"]] = want.get(r["tid"], 0) + r["samples"]
        got, busy = {}, {"busy_a": 0, "busy_b": 0}
        for line in lines:
            stack, value = line.rsplit(" ", 1)
            frames = stack.split(";")
            self.assertRegex(frames[0], r"^python3\.12 \(%d\)$" % truth["pid"], line)
            tid = int(frames[1].rsplit("(", 1)[1].rstrip(")"))
            got[tid] = got.get(tid, 0) + int(value)
            for name in busy:
                if any(f.startswith(name + " (%s:" % truth["file"]) for f in frames[2:]):
                    busy[name] += int(value)
        self.assertEqual(got, want, "samples per thread, folded vs the report")
        a = sum(r["samples"] for r in live["profiles"]["cpu"] if any(f["function"] == "busy_a" for f in r["stack"]))
        self.assertEqual(busy["busy_a"], a)

    def test_svg(self):
        import xml.etree.ElementTree as ET
        trace, live, _ = self.recorded()
        out = os.path.join(self.tmp, "cpu.svg")
        self.export("--format", "svg", "-o", out)
        ns = {"s": "http://www.w3.org/2000/svg"}
        root = ET.parse(out).getroot()
        frames = root.find("s:g[@id='frames']", ns)
        boxes = []
        for g in frames.findall("s:g", ns):
            title = g.find("s:title", ns).text
            rect = g.find("s:rect", ns)
            m = re.match(r"^(.*) \((\d+), ([\d.]+)%\)$", title)
            self.assertIsNotNone(m, title)
            boxes.append((m.group(1), int(m.group(2)), float(rect.get("width")), float(rect.get("x"))))
        self.assertEqual(boxes[0][0], "all")
        total = sum(r["ns"] for r in live["profiles"]["cpu"])
        self.assertEqual(boxes[0][1], total, "the root's value: the profile's time on CPU")
        self.assertAlmostEqual(boxes[0][2], 1200.0)
        for name, value, width, x in boxes:
            self.assertAlmostEqual(width, value * 1200.0 / total, delta=0.01, msg=name)
            self.assertLessEqual(x + width, 1200.01, name)
        busy_a = sum(v for name, v, _, _ in boxes if name.startswith("busy_a ("))
        want = sum(r["ns"] for r in live["profiles"]["cpu"]
                   if any(f["function"] == "busy_a" for f in r["stack"]))
        self.assertEqual(busy_a, want, "busy_a's boxes add up to its stacks' time")
        with open(out) as f:
            self.assertIn("<script>", f.read())

    def test_svg_in_chromium(self):
        """The flame graph as headless Chromium shows it: the functions' names on the frames, no script error;
        a click on busy_a's frame zooms it to the full width; the page's search (its own prompt) for busy_b
        says busy_b's share of the time, as the report has it."""
        trace, live, _ = self.recorded()
        out = os.path.join(self.tmp, "chromium.svg")
        self.export("--format", "svg", "-o", out)
        node = rtp.require_node(self)
        got = rtp.svg_render(self, node, self.tmp, out, "busy_a (", "^busy_b ")
        self.assertEqual(got["errors"], [])
        for name in ("busy_a", "busy_b", "main", "<module>"):
            self.assertTrue(any(l.startswith(name) for l in got["labels"]), "%s in %s" % (name, got["labels"]))
        self.assertIsNotNone(got["zoomed"], "a busy_a frame to click")
        self.assertAlmostEqual(got["zoomed"]["width"], 1200.0, delta=0.01, msg=got["zoomed"]["title"])
        self.assertTrue(got["root_shown"], "the frames below the zoomed one stay, at full width")
        total = sum(r["ns"] for r in live["profiles"]["cpu"])
        busy_b = sum(r["ns"] for r in live["profiles"]["cpu"] if any(f["function"] == "busy_b" for f in r["stack"]))
        m = re.match(r"^matched: ([\d.]+)%", got["matched"])
        self.assertIsNotNone(m, got["matched"])
        self.assertAlmostEqual(float(m.group(1)), 100.0 * busy_b / total, delta=0.06, msg=got["matched"])

    def test_speedscope(self):
        trace, live, _ = self.recorded()
        out = os.path.join(self.tmp, "offcpu.speedscope.json")
        self.export("--format", "speedscope", "--profile", "offcpu", "-o", out)
        node = rtp.require_node(self)
        got = rtp.speedscope_import(self, node, rtp.speedscope_package(self, self.tmp), out)
        self.assertEqual(got["warnings"], [])
        per_thread = {}
        for r in live["profiles"]["offcpu"]:
            per_thread[r["tid"]] = per_thread.get(r["tid"], 0) + r["ns"]
        self.assertEqual(len(got["profiles"]), len(per_thread))
        for p in got["profiles"]:
            tid = int(re.search(r"\(tid (\d+)\)$", p["name"]).group(1))
            self.assertEqual(p["weight"], per_thread[tid], p["name"])
            self.assertEqual(p["unit"], "nanoseconds")

    def test_pprof(self):
        """pprof-format (npm) decodes the export: the same samples, time, stacks and labels as the report."""
        trace, live, truth = self.recorded()
        out = os.path.join(self.tmp, "cpu.pb.gz")
        self.export("--format", "pprof", "-o", out)
        node = rtp.require_node(self)
        got = rtp.pprof_decode(self, node, self.tmp, out)
        hz = live["profiles"]["sample_hz"]
        self.assertEqual(got["sample_types"], [["samples", "count"], ["cpu", "nanoseconds"]])
        self.assertEqual(got["period"], 10 ** 9 // hz)
        want = sorted((r["tid"], r["samples"], tuple((f["function"], f["file"] or "", f["line"] or 0)
                                                     for f in r["stack"])) for r in live["profiles"]["cpu"])
        have = sorted((s["labels"]["tid"], s["values"][0], tuple((f["function"], f["file"], f["line"])
                                                                 for f in s["stack"])) for s in got["samples"])
        self.assertEqual(have, want)
        for s in got["samples"]:
            self.assertEqual(s["values"][1], s["values"][0] * (10 ** 9 // hz))
            self.assertEqual(s["labels"]["pid"], truth["pid"])
            self.assertEqual(s["labels"]["process"], "python3.12")
        busy = [f for s in got["samples"] for f in s["stack"] if f["function"] == "busy_a"]
        self.assertTrue(busy and all(f["start_line"] == truth["lines"]["busy_a"][0] for f in busy))
        # off CPU: the state as a label, time in ns; a plain (not .gz) name is gzip'd all the same
        out = os.path.join(self.tmp, "offcpu.pprof")
        self.export("--format", "pprof", "--profile", "offcpu", "-o", out)
        got = rtp.pprof_decode(self, node, self.tmp, out)
        self.assertEqual(got["sample_types"], [["intervals", "count"], ["off_cpu", "nanoseconds"]])
        self.assertEqual(sum(s["values"][1] for s in got["samples"]),
                         sum(r["ns"] for r in live["profiles"]["offcpu"]))
        self.assertTrue(all(s["labels"]["state"] in ("sleeping", "blocked", "runnable") for s in got["samples"]))

    def test_syscall_profile(self):
        """--profile syscall:NAME: that syscall's time by stack; an unknown one says which the stacks have."""
        trace, live, _ = self.recorded()
        want = sum(r["ns"] for r in live["profiles"]["syscalls"] if r["syscall"] == "clock_gettime")
        self.assertGreater(want, 0, "thread_time() is a clock_gettime call: the workload makes thousands")
        got = sum(int(line.rsplit(" ", 1)[1]) for line in
                  self.export("--format", "folded", "--profile", "syscall:clock_gettime").stdout.splitlines())
        self.assertEqual(got, want)
        res = self.export("--format", "folded", "--profile", "syscall:nosuch")
        self.assertEqual(res.stdout, "")
        self.assertIn("no calls of nosuch; they have: ", res.stderr)
        self.assertIn("clock_gettime", res.stderr)

    def test_no_stacks_in_the_trace(self):
        trace = os.path.join(self.tmp, "plain.rtprof.gz")
        res = rtp.rtprof("run", "-q", "-o", trace, "--", rtp.python_exe(), "-c", "pass")
        self.assertEqual(res.returncode, 0, res.describe())
        res = rtp.rtprof("export", trace, "--format", "svg", "-o", os.path.join(self.tmp, "none.svg"))
        self.assertEqual(res.returncode, 2, res.describe())
        self.assertIn("--stacks", res.stderr)
        self.assertFalse(os.path.exists(os.path.join(self.tmp, "none.svg")), "no output file for a failed export")


class NotWalked(StacksCase):
    def patched_run(self, minor, symbol, offset, want, new):
        """Run stacks_split.py under --stacks with pyenv's 3.MINOR whose libpython has the 8 bytes at
        SYMBOL + OFFSET changed from want to new (LD_LIBRARY_PATH finds the copy first); the report and truth."""
        python = pyenv_python(self, minor)
        lib = glob.glob(os.path.join(os.path.dirname(os.path.dirname(python)), "lib",
                                     "libpython3.%d.so.1.0" % minor))[0]
        tmp = tempfile.mkdtemp(prefix="rtprof-stacks-")
        self.addCleanup(shutil.rmtree, tmp, True)
        patched = os.path.join(tmp, os.path.basename(lib))
        shutil.copy(lib, patched)
        off = elf_symbol_offset(patched, symbol) + offset
        with open(patched, "r+b") as f:
            f.seek(off)
            self.assertEqual(struct.unpack("<q", f.read(8))[0], want, "%s + %d in 3.%d" % (symbol, offset, minor))
            f.seek(off)
            f.write(struct.pack("<q", new))
        fd, truth_path = tempfile.mkstemp(prefix="rtprof-stacks-", dir=tmp)
        os.close(fd)
        res = rtp.rtprof("run", "--json", "-o", "-", "--stacks", "--", python, rtp.workload("stacks_split.py"),
                         truth_path, "0.3", env=dict(os.environ, LD_LIBRARY_PATH=tmp))
        self.assertEqual(res.returncode, 0, res.describe())
        report = rtp.parse_report(self, res.stdout, "stdout")
        with open(truth_path) as f:
            return report, json.load(f)

    def test_unverified_interpreter_has_no_frames(self):
        """An interpreter that is not laid out as its version's table says gets no walker: its process is listed
        as not sampled, with the reason, and has no frames at all. The interpreters run as before with what is
        changed: pyenv's 3.12 with PyCode_Type.tp_basicsize 8 bytes larger (code objects are allocated larger),
        pyenv's 3.13 with its _Py_DebugOffsets (read by debuggers only) giving another current_frame offset."""
        for minor, symbol, offset, want, new, reason in (
                (12, "PyCode_Type", 32, 192, 200, "200"),
                (13, "_PyRuntime", 184, 72, 80, "thread_state.current_frame at 80")):
            with self.subTest(python="3.%d" % minor):
                report, truth = self.patched_run(minor, symbol, offset, want, new)
                procs = {p["pid"]: p for p in report["profiles"]["processes"]}
                self.assertIsNone(procs[truth["pid"]]["method"])
                self.assertIn("not laid out as expected", procs[truth["pid"]]["unavailable"])
                self.assertIn(reason, procs[truth["pid"]]["unavailable"], "the reason names what was found")
                self.assertEqual(self.rows_of(report, truth["pid"]), [], "frames of an interpreter not walked")

    def test_no_profiles_without_stacks(self):
        res, report = rtp.run_json(self, [rtp.python_exe(), "-c", "pass"])
        self.assertNotIn("profiles", report)


def unreadable_node(test, major):
    """A copy of node MAJOR whose V8 layout cannot be read: its v8dbg_ constant for the SharedFunctionInfo's name
    renamed, as a build without it would be. Its path."""
    node = rtp.require_node_major(test, major)
    tmp = tempfile.mkdtemp(prefix="rtprof-stacks-js-")
    test.addCleanup(shutil.rmtree, tmp, True)
    patched = os.path.join(tmp, "node")
    with open(node, "rb") as f:
        data = f.read()
    name = b"v8dbg_class_SharedFunctionInfo__name_or_scope_info__"
    test.assertIn(name, data)
    with open(patched, "wb") as f:
        f.write(data.replace(name, b"x" + name[1:]))
    os.chmod(patched, 0o755)
    return patched


class NodeStacks(StacksCase):
    """JavaScript functions of node 20, 22 and 24 under `rtprof run --stacks`: frame-pointer stacks, named from
    V8's objects; a node whose objects cannot be read, from the perf map that node writes because rtprof adds
    its flags to the command's NODE_OPTIONS."""

    def js_profile(self, node, seconds="2.0", hz=HZ):
        tmp = tempfile.mkdtemp(prefix="rtprof-stacks-js-")
        self.addCleanup(shutil.rmtree, tmp, True)
        truth_path = os.path.join(tmp, "truth.json")
        res, report = rtp.run_json(self, [node, rtp.workload("stacks_split.js"), truth_path, seconds],
                                   extra=["--stacks", "--sample-hz", str(hz)])
        with open(truth_path) as f:
            return report, json.load(f)

    def test_shares_of_two_functions(self):
        """spinA and spinB take 70/30 of the busy time as the workload measures it: each one's samples (the
        innermost JavaScript frame of the stack) within 5 points; both named with their script and first line;
        read from V8's objects, with no perf map asked for."""
        for major in (20, 22, 24):
            with self.subTest(node=major):
                report, truth = self.js_profile(rtp.require_node_major(self, major))
                procs = {p["pid"]: p for p in report["profiles"]["processes"]}
                self.assertEqual(procs[truth["pid"]]["method"], "frame pointers, V8's objects", procs)
                self.assertEqual(truth["node_options"], "", "the command's NODE_OPTIONS are left alone")
                self.check_split(report, truth)

    def test_perf_map_when_unreadable(self):
        """A node whose V8 objects cannot be read (unreadable_node): rtprof run adds the perf map's flags to its
        NODE_OPTIONS, and names spinA and spinB from the map, in their shares; the map is removed after the
        run."""
        report, truth = self.js_profile(unreadable_node(self, 24))
        procs = {p["pid"]: p for p in report["profiles"]["processes"]}
        self.assertEqual(procs[truth["pid"]]["method"], "frame pointers, node's perf map", procs)
        self.assertIn("--perf-basic-prof-only-functions", truth["node_options"])
        self.check_split(report, truth)

    def check_split(self, report, truth):
        """spinA and spinB's shares of the samples (by innermost JavaScript frame) within 5 points of the
        workload's own clock; both named with their script and first line; no perf map or V8 log left."""
        rows = self.rows_of(report, truth["pid"])
        split = {"spinA": 0, "spinB": 0}
        for row in rows:
            js = [f for f in row["stack"] if f["file"] == truth["file"]]
            # V8's tier markers (node 24's "*'" and "+'" too) are not part of a name
            self.assertFalse([f for f in js if f["function"][:1] in "~^*+'"], row["stack"])
            if js and js[-1]["function"] in split:
                split[js[-1]["function"]] += row["samples"]
                self.assertEqual(js[-1]["line"], truth["lines"][js[-1]["function"]], js[-1])
        total_ms = truth["ms"]["spinA"] + truth["ms"]["spinB"]
        got = sum(split.values())
        self.assertGreater(got, 0.5 * sum(r["samples"] for r in rows), "most samples in the two: %s" % split)
        for name in split:
            self.assertAlmostEqual(split[name] / got, truth["ms"][name] / total_ms, delta=0.05,
                                   msg="%s's share: samples %s, ms %s" % (name, split, truth["ms"]))
        self.assertFalse(os.path.exists("/tmp/perf-%d.map" % truth["pid"]), "the perf map is removed")
        self.assertEqual(glob.glob("isolate-0x*-%d-v8.log" % truth["pid"]), [], "V8's logs are removed")

    def test_http_handler_under_wrk(self):
        """An HTTP server under wrk (-t2 -c16, 2 s): its request handler, handleRequest, among the top 5
        JavaScript functions on CPU by total (the stacks through it), with its script and first line."""
        node = rtp.require_node(self)
        wrk = shutil.which("wrk")
        if not wrk:
            rtp.skip_or_fail(self, "wrk is not installed (packaging/install-deps.sh installs it)")
        prof = subprocess.Popen([rtp.RTPROF, "run", "--json", "--stacks", "--", node, rtp.workload("http_handler.js")],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True)
        self.addCleanup(prof.kill)
        port = int(prof.stdout.readline())
        load = subprocess.run([wrk, "-t2", "-c16", "-d2s", "http://127.0.0.1:%d/" % port], stdout=subprocess.PIPE,
                              universal_newlines=True, timeout=60)
        self.assertEqual(load.returncode, 0, load.stdout)
        served = int(re.search(r"(\d+) requests in", load.stdout).group(1))
        node_pid = [p for p in children_pids(prof.pid)]
        self.assertTrue(node_pid, "node under rtprof run")
        os.kill(node_pid[0], signal.SIGTERM)
        out, err = prof.communicate(timeout=60)
        self.assertEqual(prof.returncode, 0, err[-2000:])
        truth = json.loads(out.strip().splitlines()[-1])
        self.assertGreaterEqual(truth["served"], served, "the server served wrk's requests")
        report = rtp.parse_report(self, err[err.index("{"):], "run's report on stderr")
        through, total = check_handler_ranked(self, self.rows_of(report, truth["pid"]), truth)
        self.assertGreater(through[("handleRequest", truth["file"], truth["line"])], 0.1 * total)



def check_handler_ranked(test, rows, truth):
    """http_handler.js's handleRequest among the top 5 JavaScript functions on CPU by total (the samples of the
    stacks through it), with its script and first line: the frames every request goes through (node's own C++,
    named from its symbols, the event loop's) come first, and are left aside. The totals by function, and of
    all samples."""
    total = sum(r["samples"] for r in rows)
    through = {}
    for r in rows:
        for f in {(f["function"], f["file"], f.get("first_line")) for f in r["stack"]}:
            through[f] = through.get(f, 0) + r["samples"]
    top = sorted(through.items(), key=lambda kv: -kv[1])
    ranked = [k for k, _ in top if k[0] and not k[0].startswith("<") and k[1] != "node"]
    test.assertIn(("handleRequest", truth["file"], truth["line"]), ranked[:5],
                  "top functions by total of %d samples: %s" % (total, top[:12]))
    return through, total


def cpu_prof_shares(test, node, tmp, seconds="2.0"):
    """node's own CPU profile (--cpu-prof) of a run of stacks_split.js: each of spinA's and spinB's share of
    the samples whose innermost function is one of the two, with the run's own measurement."""
    truth_path = os.path.join(tmp, "cpuprof-truth.json")
    prof_dir = os.path.join(tmp, "cpuprof")
    env = dict(os.environ)
    env.pop("NODE_OPTIONS", None)
    # at a 100 us interval: V8's sampler leans toward each call's first moments at coarser ones (spinA's 70%
    # read 62% at its default 1 ms, 52% at 3 ms, 69% at 100 us here)
    res = subprocess.run([node, "--cpu-prof", "--cpu-prof-interval", "100", "--cpu-prof-dir", prof_dir,
                          rtp.workload("stacks_split.js"),
                          truth_path, seconds], env=env, timeout=120)
    test.assertEqual(res.returncode, 0, "node --cpu-prof")
    profiles = glob.glob(os.path.join(prof_dir, "*.cpuprofile"))
    test.assertEqual(len(profiles), 1, profiles)
    with open(profiles[0]) as f:
        prof = json.load(f)
    name_of = {n["id"]: n["callFrame"]["functionName"] for n in prof["nodes"]}
    split = {"spinA": 0, "spinB": 0}
    for sample in prof["samples"]:
        if name_of[sample] in split:
            split[name_of[sample]] += 1
    got = sum(split.values())
    test.assertGreater(got, 100, "node's profile has the two functions: %s" % split)
    return {k: v / got for k, v in split.items()}


class NodeAttach(StacksCase):
    """`rtprof attach --stacks` to a node 20, 22 or 24 started with no flag at all: its JavaScript functions are
    read from V8's own objects (each frame's JSFunction -> SharedFunctionInfo -> name, Script and line), with
    the layout node's v8dbg_* constants give."""

    def start_node(self, node, *args):
        env = dict(os.environ)
        env.pop("NODE_OPTIONS", None)
        proc = subprocess.Popen([node] + list(args), env=env, stdout=subprocess.PIPE, universal_newlines=True)
        self.addCleanup(proc.stdout.close)
        self.addCleanup(proc.wait)
        self.addCleanup(proc.kill)
        return proc

    def run_workload(self, node, workload, *args, attach_after=0.0, attach_s=2, hz=HZ, extra=()):
        """node WORKLOAD TRUTH [args] started without flags, attached to attach_after seconds after its start
        for attach_s seconds (or until it exits), with extra options; its exit waited for. The report, and the
        truth the workload wrote."""
        tmp = tempfile.mkdtemp(prefix="rtprof-stacks-js-")
        self.addCleanup(shutil.rmtree, tmp, True)
        truth_path = os.path.join(tmp, "truth.json")
        proc = self.start_node(node, rtp.workload(workload), truth_path, *args)
        time.sleep(attach_after)
        report = self.attach_json(proc.pid, attach_s, hz=hz, extra=extra)
        self.assertEqual(proc.wait(timeout=60), 0)
        with open(truth_path) as f:
            return report, json.load(f), tmp

    def attach_json(self, pid, seconds, hz=HZ, extra=()):
        res = rtp.rtprof("attach", "--json", "-o", "-", "--stacks", "--sample-hz", str(hz), "-d", str(seconds),
                         *extra, str(pid), timeout=120)
        self.assertEqual(res.returncode, 0, res.describe())
        return rtp.parse_report(self, res.stdout, "attach's report")

    def test_shares_of_two_functions(self):
        """spinA and spinB take 70/30 of the busy time as the workload measures it: each one's samples (the
        innermost frame) within 5 points of that, and within 5 points of node's own CPU profile (--cpu-prof)
        of another run; both named with their script and first line; no perf map written."""
        for major in (20, 22, 24):
            with self.subTest(node=major):
                node = rtp.require_node_major(self, major)
                # attached past its calibration: the rounds are running
                report, truth, tmp = self.run_workload(node, "stacks_split.js", "4", attach_after=0.7)
                procs = {p["pid"]: p for p in report["profiles"]["processes"]}
                self.assertEqual(procs[truth["pid"]]["method"], "frame pointers, V8's objects", procs)
                self.assertFalse(os.path.exists("/tmp/perf-%d.map" % truth["pid"]), "no perf map")
                rows = self.rows_of(report, truth["pid"])
                split = {"spinA": 0, "spinB": 0}
                for row in rows:
                    js = [f for f in row["stack"] if f["file"] == truth["file"]]
                    if js and js[-1]["function"] in split and row["stack"][-1] == js[-1]:
                        split[js[-1]["function"]] += row["samples"]
                        self.assertEqual(js[-1]["line"], truth["lines"][js[-1]["function"]], js[-1])
                    # the script's frames in their calling order: main's callees under main
                    names = [f["function"] for f in js]
                    if "spinA" in names:
                        self.assertEqual(names[-2:], ["main", "spinA"], row["stack"])
                got = sum(split.values())
                total = sum(r["samples"] for r in rows)
                self.assertGreater(got, 0.9 * total, "the samples' leaves are the two: %s of %d" % (split, total))
                total_ms = truth["ms"]["spinA"] + truth["ms"]["spinB"]
                ours = {k: v / got for k, v in split.items()}
                theirs = cpu_prof_shares(self, node, tmp)
                for name in split:
                    self.assertAlmostEqual(ours[name], truth["ms"][name] / total_ms, delta=0.05,
                                           msg="%s's share: samples %s, ms %s" % (name, split, truth["ms"]))
                    self.assertAlmostEqual(ours[name], theirs[name], delta=0.05,
                                           msg="%s's share: ours %s, node's --cpu-prof %s" % (name, ours, theirs))

    def test_http_handler_under_wrk(self):
        """An HTTP server started without flags, under wrk (-t2 -c16), attached to for 2 s: its request
        handler, handleRequest, among the top 5 JavaScript functions on CPU by total, with its script and first
        line."""
        for major in (20, 22, 24):
            with self.subTest(node=major):
                node = rtp.require_node_major(self, major)
                wrk = shutil.which("wrk")
                if not wrk:
                    rtp.skip_or_fail(self, "wrk is not installed (packaging/install-deps.sh installs it)")
                proc = self.start_node(node, rtp.workload("http_handler.js"))
                port = int(proc.stdout.readline())
                load = subprocess.Popen([wrk, "-t2", "-c16", "-d4s", "http://127.0.0.1:%d/" % port],
                                        stdout=subprocess.PIPE, universal_newlines=True)
                self.addCleanup(load.kill)
                time.sleep(0.5)
                report = self.attach_json(proc.pid, 2, hz=99)
                out, _ = load.communicate(timeout=60)
                self.assertEqual(load.returncode, 0, out)
                proc.send_signal(signal.SIGTERM)
                truth = json.loads(proc.stdout.read().strip().splitlines()[-1])
                self.assertGreater(truth["served"], 1000, "the server served wrk's requests")
                check_handler_ranked(self, self.rows_of(report, proc.pid), truth)

    def test_native_frames_named(self):
        """node's own C++ named from its symbol table, under the JavaScript that called it, in one stack:
        json_parse.js's parseLoop calls JSON.parse, whose parser is V8's C++ (v8::internal::JsonParser<...>);
        most samples go through both, the C++ frames inside (after) parseLoop, the file node's executable."""
        for major in (20, 22, 24):
            with self.subTest(node=major):
                node = rtp.require_node_major(self, major)
                proc = self.start_node(node, rtp.workload("json_parse.js"), "4")
                time.sleep(0.5)
                report = self.attach_json(proc.pid, 2)
                rows = self.rows_of(report, proc.pid)
                total = sum(r["samples"] for r in rows)
                both = 0
                for r in rows:
                    names = [f["function"] for f in r["stack"]]
                    js = [i for i, f in enumerate(r["stack"]) if f["function"] == "parseLoop"]
                    cxx = [i for i, f in enumerate(r["stack"]) if f["function"].startswith("v8::internal::JsonParser")]
                    if js and cxx:
                        both += r["samples"]
                        self.assertLess(js[-1], cxx[0], "the parser inside parseLoop: %s" % names)
                        self.assertEqual(r["stack"][cxx[0]]["file"], "node", r["stack"][cxx[0]])
                        self.assertEqual(r["stack"][js[-1]]["file"], rtp.workload("json_parse.js"))
                self.assertGreater(both, 0.5 * total, "samples through parseLoop and V8's JSON parser: %d of %d"
                                   % (both, total))

    def test_syscalls_by_function(self):
        """Syscalls by the JavaScript function that made them, exactly (--exact-latency): js_syscalls.js's
        statMany stats 3000 missing paths; the stat calls are 3000, each failed, all under statMany (its file
        and line), named while the process lives (it exits 300 ms after them; the sanitizer build's rtprof
        takes longer than the release build's 5 ms to name a new stack)."""
        for major in (20, 22, 24):
            with self.subTest(node=major):
                report, truth, _ = self.run_workload(rtp.require_node_major(self, major), "js_syscalls.js", "3000",
                                                     "1500", attach_s=30, hz=99, extra=["--exact-latency"])
                self.assertEqual(truth["calls"], 3000)
                stats = [r for r in report["profiles"]["syscalls"]
                         if r["pid"] == truth["pid"] and r["syscall"] in ("statx", "newfstatat", "stat", "lstat")]
                mine = [r for r in stats if any((f["function"], f["file"], f["line"]) ==
                                                ("statMany", truth["file"], truth["line"]) for f in r["stack"])]
                detail = [(r["syscall"], r["calls"], [f["function"] for f in r["stack"]][-6:]) for r in stats][:6]
                self.assertTrue(all(r["exact"] for r in stats), detail)
                self.assertEqual(sum(r["calls"] for r in stats), 3000, detail)
                self.assertEqual(sum(r["errors"] for r in stats), 3000, "each of them failed (ENOENT)")
                self.assertEqual(sum(r["calls"] for r in mine), 3000, "stat calls under statMany: %s" % detail)

    def test_loop_block_named(self):
        """The callback that blocked the loop, named from V8's objects: loop_block.js's timers block for 250 ms
        in blockLong and twice for 120 ms in blockMid (1.5 s after its start: attach is in place by then); each
        iteration over 50 ms is named by its function, the longest is blockLong's (NodeLoopBlocks' checks)."""
        for major in (20, 22, 24):
            with self.subTest(node=major):
                report, truth, _ = self.run_workload(rtp.require_node_major(self, major), "loop_block.js", "1500",
                                                     attach_s=6)
                NodeLoopBlocks.check_blocks(self, report, truth, 50)

    def test_unreadable_node_is_unavailable(self):
        """A node whose V8 layout cannot be read (a copy whose v8dbg_ constant for the SharedFunctionInfo's
        name is renamed, as a build without it would be) and that writes no perf map: no frames at all, and
        the reason (never names guessed)."""
        patched = unreadable_node(self, 24)
        proc = self.start_node(patched, rtp.workload("stacks_split.js"), os.path.join(os.path.dirname(patched),
                                                                                       "t.json"), "3")
        time.sleep(0.7)
        report = self.attach_json(proc.pid, 1, hz=99)
        procs = {p["pid"]: p for p in report["profiles"]["processes"]}
        self.assertIsNone(procs[proc.pid]["method"], procs)
        self.assertIn("its functions cannot be read (node exports no v8dbg_class_SharedFunctionInfo__name_or",
                      procs[proc.pid]["unavailable"])
        self.assertIn("--perf-basic-prof-only-functions", procs[proc.pid]["unavailable"])
        self.assertEqual(self.rows_of(report, proc.pid), [], "no frames for a node not walked")


def children_pids(pid):
    """The processes whose parent is pid."""
    kids = []
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                with open("/proc/%s/stat" % d) as f:
                    if int(f.read().rsplit(")", 1)[1].split()[1]) == pid:
                        kids.append(int(d))
            except (OSError, IndexError, ValueError):
                pass
    return kids


class NodeLoopBlocks(StacksCase):
    """The callback that blocked node's event loop: a workload whose timers compute for 250 ms in blockLong and
    twice for 120 ms in blockMid, between 1 ms ticks; each iteration over the threshold is named by the
    function most of its samples were in, with its time, for node 20, 22 and 24; the same from the trace."""

    def loop_run(self, node, extra=(), trace=None):
        tmp = tempfile.mkdtemp(prefix="rtprof-loop-")
        self.addCleanup(shutil.rmtree, tmp, True)
        truth_path = os.path.join(tmp, "truth.json")
        res, report = rtp.run_json(self, [node, rtp.workload("loop_block.js"), truth_path],
                                   extra=["--stacks", "--sample-hz", str(HZ)] + list(extra))
        with open(truth_path) as f:
            return report, json.load(f)

    def check_blocks(self, report, truth, threshold_ms):
        prof = report["profiles"]
        self.assertEqual(prof["loop_threshold_ns"], threshold_ms * 1000000)
        loop = [rt for rt in report["runtime_metrics"]["processes"] if rt["pid"] == truth["pid"]][0]["event_loop"]
        blocks = [b for b in prof["loop_blocks"] if b["pid"] == truth["pid"]]
        named = [b for b in blocks if b["blocked_by"] and b["blocked_by"]["function"] in truth["lines"]]
        named.sort(key=lambda b: b["start_ns"])
        calls = [c for c in truth["calls"] if c["ms"] >= threshold_ms]
        detail = "blocks %s\ncalls %s" % (json.dumps(blocks, indent=1)[:4000], truth["calls"])
        # each callback over the threshold, and only those, named by its function, in the order they ran
        self.assertEqual([b["blocked_by"]["function"] for b in named], [c["fn"] for c in calls], detail)
        for b, c in zip(named, calls):
            by = b["blocked_by"]
            self.assertEqual(b["tid"], truth["pid"], "on the main thread: %s" % b)
            self.assertEqual((by["file"], by["line"]), (truth["file"], truth["lines"][c["fn"]]), by)
            # the iteration holds the callback (measured around the call) and little else: a tick, the timers'
            # own work
            self.assertGreaterEqual(b["busy_ns"], c["ms"] * 1e6 - 1e6, "iteration shorter than its callback: %s"
                                    % detail)
            self.assertLess(b["busy_ns"], c["ms"] * 1e6 + 50e6, "iteration much longer than its callback: %s"
                            % detail)
            # the samples: no more than the time allows; a uniform choice of 32 kept when more; most in it
            self.assertLessEqual(b["samples"], b["busy_ns"] * HZ / 1e9 * 1.1 + 2, detail)
            self.assertEqual(by["of_samples"], min(b["samples"], 32), detail)
            self.assertGreater(by["samples"], by["of_samples"] / 2, detail)
            self.assertEqual(by["stack"][-1]["function"], c["fn"], by)
        # the longest iteration: blockLong's, the event loop's own longest to the nanosecond
        longest = [b for b in blocks if b["longest"] and b["tid"] == truth["pid"]]
        self.assertEqual(len(longest), 1, detail)
        self.assertEqual(longest[0]["busy_ns"], loop["max_busy_ns"], detail)
        self.assertEqual(longest[0]["blocked_by"]["function"], "blockLong", detail)
        # nothing else over the threshold is named by the workload's functions (start-up may be slow)
        for b in blocks:
            if b not in named:
                self.assertTrue(not b["blocked_by"] or b["blocked_by"]["function"] not in truth["lines"], detail)

    def test_named_blocks_and_trace(self):
        """node 20, the default threshold (50 ms): blockLong, blockMid, blockMid; the text report names them;
        the trace's report has the same blocks."""
        node = rtp.require_node_major(self, 20)
        tmp = tempfile.mkdtemp(prefix="rtprof-loop-")
        self.addCleanup(shutil.rmtree, tmp, True)
        trace = os.path.join(tmp, "t.rtprof.gz")
        truth_path = os.path.join(tmp, "truth.json")
        res = rtp.rtprof("run", "--json", "--stacks", "--sample-hz", str(HZ), "-o", trace, "--", node,
                         rtp.workload("loop_block.js"), truth_path)
        self.assertEqual(res.returncode, 0, res.describe())
        report = rtp.parse_report(self, res.stderr[res.stderr.index("{"):], "run's report on stderr")
        with open(truth_path) as f:
            truth = json.load(f)
        self.check_blocks(report, truth, 50)
        again = rtp.rtprof("report", "--json", trace)
        self.assertEqual(again.returncode, 0, again.describe())
        replay = rtp.parse_report(self, again.stdout, "the trace's report")
        self.assertEqual(replay["profiles"]["loop_blocks"], report["profiles"]["loop_blocks"])
        # the chrome export: the loop's slices of those iterations say what blocked it
        chrome = rtp.rtprof("export", trace, "--format", "chrome", "-o", "-")
        self.assertEqual(chrome.returncode, 0, chrome.describe())
        events = json.loads(chrome.stdout)
        events = events["traceEvents"] if isinstance(events, dict) else events
        named = [e["args"]["blocked_by"] for e in sorted(events, key=lambda e: e.get("ts", 0))
                 if e.get("name") == "event loop busy" and e.get("args", {}).get("blocked_by") in truth["lines"]]
        self.assertEqual(named, ["blockLong", "blockMid", "blockMid"])
        text = rtp.rtprof("report", trace)
        self.assertEqual(text.returncode, 0, text.describe())
        self.assertRegex(text.stdout, r"iterations of 50\.00 ms or more:\n +\d+\.\d+ ms on tid %d, blockLong "
                         r"\(%s:%d\) in \d+ of \d+ samples < " % (truth["pid"], re.escape(truth["file"]),
                                                               truth["lines"]["blockLong"]), text.stdout)

    def test_threshold_node22_node24(self):
        """--loop-threshold-ms 200: blockLong's iteration only, for node 22 and 24."""
        for major in (22, 24):
            with self.subTest(node=major):
                report, truth = self.loop_run(rtp.require_node_major(self, major), ["--loop-threshold-ms", "200"])
                self.check_blocks(report, truth, 200)


def start_rtprofd(test, *extra):
    """rtprofd on a socket of its own for the test (rtp.start_rtprofd); the socket's path."""
    return rtp.start_rtprofd(test, *extra)[0]


class ThroughDaemon(StacksCase):
    """Sessions of rtprofd that ask for stacks, each at its own rate, beside sessions that do not; watched
    Python processes with rtprofd --stacks."""

    def workload(self, python, cpu_s):
        fd, truth = tempfile.mkstemp(prefix="rtprof-stacks-")
        os.close(fd)
        self.addCleanup(os.unlink, truth)
        proc = rtp.spawn(self, [python, rtp.workload("stacks_split.py"), truth, cpu_s])
        return proc, truth

    def attach(self, sock, pid, *flags):
        return subprocess.Popen([rtp.RTPROF, "--socket", sock, "attach", "--json", "-o", "-", "-d", "2"] +
                                list(flags) + [str(pid)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                universal_newlines=True)

    def finish(self, attach, proc, truth):
        out, err = attach.communicate(timeout=60)
        self.assertEqual(attach.returncode, 0, err)
        self.assertRegex(err, r"through rtprofd \(session \d+\)")
        self.assertEqual(proc.wait(60), 0)
        with open(truth) as f:
            return rtp.parse_report(self, out, "rtprof attach's report"), json.load(f)

    def check_profile(self, report, truth, hz):
        """The functions' shares as the workload measured them; the samples, hz a second of the CPU time
        the kernel counted for the process while attached; each function's first line."""
        self.assertEqual(report["profiles"]["sample_hz"], hz)
        rows = self.rows_of(report, truth["pid"])
        split = dict.fromkeys(("busy_a", "busy_b", "busy_c"), 0)
        for row in rows:
            frames = python_frames(row)
            if frames and frames[-1]["function"] in split and frames[-1]["file"] == truth["file"]:
                split[frames[-1]["function"]] += row["samples"]
                self.assertEqual(frames[-1]["first_line"], truth["lines"][frames[-1]["function"]][0])
        total = sum(split.values())
        cpu = sum(truth["cpu_s"].values())
        # what the process was walked with, and its leaves, to tell a failure's cause
        procs = [p for p in report["profiles"]["processes"] if p["pid"] == truth["pid"]]
        leaves = sorted(((r["samples"], [f["function"] for f in r["stack"]][-2:]) for r in rows), reverse=True)[:5]
        for n in split:
            self.assertAlmostEqual(split[n] / max(total, 1), truth["cpu_s"][n] / cpu, delta=0.05,
                                   msg="%s's share: samples %s, CPU %s; %s; leaves %s"
                                   % (n, split, truth["cpu_s"], procs, leaves))
        samples = sum(r["samples"] for r in rows)
        cpu_s = sum(t["oncpu_ns"] for t in report["threads"] if t.get("pid", truth["pid"]) == truth["pid"]) / 1e9
        self.assertAlmostEqual(samples / cpu_s, hz, delta=hz * 0.15,
                               msg="%d samples at %d Hz over %.3f s of CPU" % (samples, hz, cpu_s))

    def test_sessions_at_their_own_rates(self):
        """Three sessions at once: two with stacks at 499 and 251 Hz, one without any."""
        sock = start_rtprofd(self)
        runs = []
        for python, flags in ((pyenv_python(self, 12), ["--stacks", "--sample-hz", "499"]),
                              (pyenv_python(self, 11), ["--sample-hz", "251"]),
                              (pyenv_python(self, 13), [])):
            proc, truth = self.workload(python, "3.0")
            runs.append((proc, truth, flags))
        time.sleep(0.3)  # the interpreters mapped
        attaches = [self.attach(sock, proc.pid, *flags) for proc, truth, flags in runs]
        results = [self.finish(a, proc, truth) for a, (proc, truth, flags) in zip(attaches, runs)]
        self.check_profile(*results[0], 499)
        self.check_profile(*results[1], 251)
        self.assertNotIn("profiles", results[2][0], "a session without --stacks has no stacks")

    def test_watched_with_stacks(self):
        """rtprofd --watch python --sample-hz N: a Python process started after it is sampled at N Hz."""
        sock = start_rtprofd(self, "--watch", "python", "--sample-hz", str(HZ))
        proc, truth = self.workload(pyenv_python(self, 11), CPU_S)
        self.assertEqual(proc.wait(60), 0)
        res = rtp.rtprof("--socket", sock, "sessions", "--json")
        self.assertEqual(res.returncode, 0, res.describe())
        ids = [s["session"] for s in json.loads(res.stdout) if proc.pid in s["pids"]]
        self.assertEqual(len(ids), 1, "the process is watched: %s" % res.stdout)
        res = rtp.rtprof("--socket", sock, "query", "--json", str(ids[0]))
        self.assertEqual(res.returncode, 0, res.describe())
        with open(truth) as f:
            truth = json.load(f)
        self.check_profile(rtp.parse_report(self, res.stdout, "the watched session's report"), truth, HZ)

    def test_window_with_stacks(self):
        """rtprofd --window S: a watched process's last complete window has the stacks of that window only, at
        the rate, with the shares of the whole run; the cumulative report has more."""
        window_s = 2
        sock = start_rtprofd(self, "--watch", "python", "--sample-hz", str(HZ), "--window", str(window_s))
        proc, truth = self.workload(pyenv_python(self, 12), "6.0")
        start = time.monotonic()
        ids = []
        while not ids and time.monotonic() < start + 5:
            res = rtp.rtprof("--socket", sock, "sessions", "--json")
            self.assertEqual(res.returncode, 0, res.describe())
            ids = [s["session"] for s in json.loads(res.stdout) if proc.pid in s["pids"]]
            time.sleep(0.1)
        self.assertEqual(len(ids), 1, "the process is watched: %s" % res.stdout)
        # two windows and a half in: the last complete one is all spinning, on any machine's load
        time.sleep(max(0.0, start + 2.5 * window_s - time.monotonic()))
        self.assertIsNone(proc.poll(), "the workload still runs")
        res = rtp.rtprof("--socket", sock, "query", "--json", "--window", str(ids[0]))
        self.assertEqual(res.returncode, 0, res.describe())
        window = rtp.parse_report(self, res.stdout, "the window's report")
        res = rtp.rtprof("--socket", sock, "query", "--json", str(ids[0]))
        self.assertEqual(res.returncode, 0, res.describe())
        total = rtp.parse_report(self, res.stdout, "the cumulative report")
        self.assertEqual(proc.wait(60), 0)
        with open(truth) as f:
            truth = json.load(f)
        self.assertTrue(0.8 * window_s * 1e9 <= window["duration_ns"] <= 1.5 * window_s * 1e9,
                        window["duration_ns"])
        # the window's samples: its own CPU time at the rate, and the shares of the whole run
        self.check_profile(window, truth, HZ)
        in_window = sum(r["samples"] for r in self.rows_of(window, truth["pid"]))
        so_far = sum(r["samples"] for r in self.rows_of(total, truth["pid"]))
        self.assertLess(in_window, so_far, "the window has less than all the samples so far")

    def test_push_to_a_pyroscope_endpoint(self):
        """rtprofd --watch python --stacks --push URL: every interval, the stacks of each watched process since
        the last push, as gzip'd pprof in Pyroscope's /ingest request, labelled with host and pid; the last
        push once the process is gone. The pushes add up to the session's profile, sample for sample."""
        node = rtp.require_node(self)
        got = []

        class Receiver(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                got.append((self.path, self.headers["Content-Type"], body))
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args):
                pass
        httpd = http.server.HTTPServer(("127.0.0.1", 0), Receiver)
        threading.Thread(target=httpd.serve_forever, daemon=True).start()
        self.addCleanup(httpd.server_close)
        self.addCleanup(httpd.shutdown)
        sock = start_rtprofd(self, "--watch", "python", "--sample-hz", str(HZ), "--push",
                             "http://127.0.0.1:%d" % httpd.server_address[1], "--push-interval", "1")
        proc, truth_path = self.workload(pyenv_python(self, 12), CPU_S)
        self.assertEqual(proc.wait(60), 0)
        res = rtp.rtprof("--socket", sock, "sessions", "--json")
        ids = [s["session"] for s in json.loads(res.stdout) if proc.pid in s["pids"]]
        self.assertEqual(len(ids), 1, "the process is watched: %s" % res.stdout)
        res = rtp.rtprof("--socket", sock, "query", "--json", str(ids[0]))
        self.assertEqual(res.returncode, 0, res.describe())
        live = rtp.parse_report(self, res.stdout, "the watched session's report")
        want = sum(r["samples"] for r in live["profiles"]["cpu"])
        tmp = tempfile.mkdtemp(prefix="rtprof-push-")
        self.addCleanup(shutil.rmtree, tmp, True)
        # the last push comes within an interval of the exit
        deadline, pushed, ours, samples = time.monotonic() + 10, 0, 0, []
        while time.monotonic() < deadline:
            while pushed < len(got):
                path, ctype, body = got[pushed]
                pushed += 1
                url = urllib.parse.urlsplit(path)
                self.assertEqual(url.path, "/ingest")
                q = dict(urllib.parse.parse_qsl(url.query, strict_parsing=True))
                # every python process here is watched, the test's own included: this one's pushes only
                self.assertRegex(q["name"], r"^[A-Za-z0-9._-]+\{host=[A-Za-z0-9._-]+,pid=\d+\}$")
                if not q["name"].endswith(",pid=%d}" % proc.pid):
                    continue
                self.assertEqual(q["name"], "python3.12{host=%s,pid=%d}"
                                 % (re.sub(r"[^A-Za-z0-9._-]", "_", socket.gethostname()), proc.pid))
                ours += 1
                self.assertEqual((q["format"], q["sampleRate"], q["spyName"]), ("pprof", str(HZ), "rtprof"))
                self.assertLess(int(q["from"]), int(q["until"]))
                self.assertTrue(ctype.startswith("multipart/form-data"), ctype)
                form = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
                    b"Content-Type: " + ctype.encode() + b"\r\n\r\n" + body)
                parts = {p.get_param("name", header="content-disposition"): p.get_payload(decode=True)
                         for p in form.iter_parts()}
                out = os.path.join(tmp, "push%d.pprof" % pushed)
                with open(out, "wb") as f:
                    f.write(parts["profile"])
                decoded = rtp.pprof_decode(self, node, tmp, out)
                self.assertEqual(decoded["sample_types"], [["samples", "count"], ["cpu", "nanoseconds"]])
                samples += decoded["samples"]
            if sum(s["values"][0] for s in samples) >= want:
                break
            time.sleep(0.2)
        self.assertGreater(ours, 1, "a push a second while the workload ran")
        self.assertEqual(sum(s["values"][0] for s in samples), want, "the pushes add up to the session's samples")
        self.assertTrue(all(s["labels"]["pid"] == proc.pid for s in samples))
        with open(truth_path) as f:
            truth = json.load(f)
        split = dict.fromkeys(("busy_a", "busy_b", "busy_c"), 0)
        for s in samples:
            if s["stack"] and s["stack"][-1]["function"] in split:
                split[s["stack"][-1]["function"]] += s["values"][0]
            elif len(s["stack"]) > 1 and s["stack"][-1]["function"] == "<kernel>" and s["stack"][-2]["function"] in split:
                split[s["stack"][-2]["function"]] += s["values"][0]
        total, cpu = sum(split.values()), sum(truth["cpu_s"].values())
        for n in split:
            self.assertAlmostEqual(split[n] / total, truth["cpu_s"][n] / cpu, delta=0.05,
                                   msg="%s's share of the pushed samples: %s, CPU %s" % (n, split, truth["cpu_s"]))


if __name__ == "__main__":
    rtp.main()
