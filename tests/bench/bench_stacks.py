#!/usr/bin/env python3
"""Benchmark (not a test): the cost of Python stacks (--stacks), measured in one invocation. Budgets (issue):
99 Hz sampling at most 1.02x on a CPU-bound Python program; off-CPU and syscall stacks at most 1.10x on a
threaded I/O program over --no-runtime.

(a) CPU-bound: a pure-Python loop of a fixed amount of work (--work iterations), untraced, under `rtprof run
    --no-runtime` and under `rtprof run --no-runtime --stacks` (99 Hz). Judged by the target's CPU time (wait4),
    wall time beside it.
(b) Threaded I/O: 4 pairs of threads ping-ponging 64 bytes over socketpairs (--io-work round trips), every
    call releasing the GIL: context switches and syscalls, where the off-CPU and syscall walks run. Under
    --no-runtime and --no-runtime --stacks; the stacks' cost is the ratio of the two paired ratios.
(c) The BPF programs' own cost (kernel.bpf_stats_enabled, set for the run and restored): run time per run of
    the sampler (rtp_py_sample), of the off-CPU walker (rtp_py_switch) and of the syscall exit with stacks,
    with a stack 3 frames deep and 103 frames deep: the difference over 100 frames is the cost of a frame.
(d) Node: bench_runtime.py's HTTP server under wrk (-t2 -c32 -dDURATION), started with the perf map's flags
    (--perf-basic-prof-only-functions --interpreted-frames-native-stack, as `rtprof run --stacks` sets them
    for a node whose V8 objects it cannot read; in every variant), untraced, under `rtprof attach` (runtime metrics) and `rtprof attach --stacks` (99 Hz):
    the stacks' cost is --stacks over runtime of the same round, by requests/s. Budget 1.03x.
(e) The same server started without any flag: its JavaScript frames named from V8's own objects (each
    frame's function read by the walker). Budget 1.03x.

usage: bench_stacks.py --rtprof PATH [--rounds 7] [--work N] [--io-work N] [--python EXE] [--only a|b|c|d|e]
                       [--duration 3] [--cpu N|none] [--json FILE] [--no-perf]
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

import benchlib as bl

WALL = bl.Measure("wall_s", "wall", "s")

CPU_PY = r"""
import sys
def leaf(n):
    x = 0
    for i in range(n):
        x += i * i
    return x
def middle(n):
    return leaf(n)
total = 0
for _ in range(int(sys.argv[1]) // 100000):
    total += middle(100000)
"""

IO_PY = r"""
import socket, sys, threading
n = int(sys.argv[1])
msg = b"m" * 64
def ping(s):
    for _ in range(n):
        s.sendall(msg); s.recv(64)
def pong(s):
    for _ in range(n):
        s.recv(64); s.sendall(msg)
threads = []
for _ in range(4):
    a, b = socket.socketpair()
    threads += [threading.Thread(target=ping, args=(a,)), threading.Thread(target=pong, args=(b,))]
for t in threads: t.start()
for t in threads: t.join()
"""

# A stack DEPTH frames deep spinning on CPU, or sleeping (its samples then all land elsewhere), for SECONDS.
DEPTH_PY = r"""
import os, sys, time
def down(n, secs, sleep):
    if n:
        return down(n - 1, secs, sleep)
    end = time.monotonic() + secs
    while time.monotonic() < end:
        if sleep:
            time.sleep(0.001)
        else:
            os.getppid()
sys.setrecursionlimit(10000)
down(int(sys.argv[1]), float(sys.argv[2]), sys.argv[3] == "sleep")
"""


def write(tmp, name, text):
    path = os.path.join(tmp, name)
    with open(path, "w") as f:
        f.write(text)
    return path


def bench_overhead(args, report, tmp, name, title, script, work, variants, instructions):
    measures = [bl.TARGET_CPU, WALL, bl.TOOL_CPU, bl.OTHER_LOAD]
    cmd = bl.pin([args.python, script, str(work)], args)
    rep = os.path.join(tmp, "report.json")

    def run_one(v):
        if v == "untraced":
            _, cpu, wall, other = bl.run_target(cmd)
            return {bl.TARGET_CPU.key: cpu, WALL.key: wall, bl.OTHER_LOAD.key: other}
        t0 = time.perf_counter()
        _, _, target, tool, other = bl.run_traced(args.rtprof, variants[v], cmd, rep)
        return {bl.TARGET_CPU.key: target, WALL.key: time.perf_counter() - t0, bl.TOOL_CPU.key: tool,
                bl.OTHER_LOAD.key: other}

    def show(runs):
        return "  ".join("%s %.3fs" % (v, r[bl.TARGET_CPU.key]) for v, r in runs.items())

    print("\n%s" % title, flush=True)
    samples = bl.interleave(["untraced"] + list(variants), args.rounds, run_one, show)
    summary = bl.summarize(samples, "untraced", measures)
    bl.print_summary(summary, measures, instructions)
    return summary


def prog_stats():
    """{program name: (run_time_ns, run_cnt)} of the loaded BPF programs."""
    out = subprocess.run(["bpftool", "prog", "show", "-j"], stdout=subprocess.PIPE, text=True, check=True).stdout
    return {p["name"]: (p.get("run_time_ns", 0), p.get("run_cnt", 0)) for p in json.loads(out) if "name" in p}


def bpf_costs(args, tmp):
    """ns a run of each stacks program, at depth 3 and 103, from the kernel's own accounting."""
    script = write(tmp, "depth.py", DEPTH_PY)
    try:
        with open("/proc/sys/kernel/bpf_stats_enabled") as f:
            old = f.read().strip()
        with open("/proc/sys/kernel/bpf_stats_enabled", "w") as f:
            f.write("1")
    except OSError as e:
        print("    BPF run times: cannot enable kernel.bpf_stats_enabled (%s)" % e)
        return None
    results = {}
    try:
        for depth in (3, 103):
            for mode in ("spin", "sleep"):
                p = subprocess.Popen([args.rtprof, "run", "-q", "--stacks", "--sample-hz", "999", "-o", "/dev/null",
                                      "--", args.python, script, str(depth), "3", mode],
                                     stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL)
                time.sleep(1.0)
                a = prog_stats()
                time.sleep(1.5)
                b = prog_stats()
                p.wait()
                for prog in ("rtp_py_sample", "rtp_py_switch", "rtp_sys_exit"):
                    if prog in a and prog in b and b[prog][1] > a[prog][1]:
                        results[(depth, mode, prog)] = ((b[prog][0] - a[prog][0]) / (b[prog][1] - a[prog][1]),
                                                        b[prog][1] - a[prog][1])
    finally:
        with open("/proc/sys/kernel/bpf_stats_enabled", "w") as f:
            f.write(old)
    print("\n(c) BPF run time a run (kernel.bpf_stats_enabled), over 1.5 s of a program 3 or 103 frames deep")
    print("    %-14s %-6s %12s %12s %10s" % ("program", "target", "depth 3", "depth 103", "a frame"))
    for prog in ("rtp_py_sample", "rtp_py_switch", "rtp_sys_exit"):
        for mode in ("spin", "sleep"):
            a, b = results.get((3, mode, prog)), results.get((103, mode, prog))
            if not a or not b:
                continue
            print("    %-14s %-6s %9.0f ns %9.0f ns %7.1f ns   (%d and %d runs)" % (
                prog, mode, a[0], b[0], (b[0] - a[0]) / 100, a[1], b[1]))
    return {"%s/%s/%d" % (prog, mode, depth): v for (depth, mode, prog), v in results.items()}


def bench_node_http(args, report, instructions, perf_map=True):
    """(d), or (e) without perf_map: the HTTP server of bench_runtime.py, with and without 99 Hz stacks."""
    import bench_runtime as br

    node, wrk = shutil.which("node"), shutil.which("wrk")
    if not node or not wrk:
        print("(d) skipped: needs node and wrk on PATH (packaging/install-deps.sh --tests)")
        return None
    instr = bl.Instructions(instructions)
    try:
        return br.bench_http(shutil.which(args.rtprof) or args.rtprof, node, wrk, args, instr, report,
                             " with its perf map" if perf_map else " started without flags (V8's objects)", [],
                             "node-http-stacks" if perf_map else "node-http-stacks-v8",
                             configs={"untraced": None, "runtime": [], "--stacks": ["--stacks"]},
                             node_args=["--perf-basic-prof-only-functions", "--interpreted-frames-native-stack"]
                             if perf_map else [],
                             judge=("--stacks", "runtime", "99 Hz stacks alone", 1.03))
    finally:
        instr.close()


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rtprof", required=True)
    ap.add_argument("--python", default=shutil.which("python3"))
    ap.add_argument("--work", type=int, default=30000000, help="loop iterations of (a)")
    ap.add_argument("--io-work", type=int, default=20000, help="round trips a pair in (b)")
    ap.add_argument("--only", choices=("a", "b", "c", "d", "e"), help="run one part")
    ap.add_argument("--duration", type=int, default=3, help="seconds of wrk a run of (d)")
    bl.add_arguments(ap, rounds=7)
    args = ap.parse_args()
    if os.geteuid() != 0:
        sys.exit("bench_stacks.py: needs root (rtprof loads its probes)")
    instructions = bl.instructions_enabled(args)
    report = bl.Report("bench_stacks", args, instructions)
    tmp = tempfile.mkdtemp(prefix="rtprof-bench-stacks-")
    try:
        if args.only == "c":
            report.doc["bpf_ns_a_run"] = bpf_costs(args, tmp)
            report.write()
            return
        if args.only in ("d", "e"):
            bench_node_http(args, report, instructions, perf_map=args.only == "d")
            report.write()
            return
        cpu = None if args.only == "b" else bench_overhead(args, report, tmp, "cpu", "(a) CPU-bound Python, 99 Hz", write(tmp, "cpu.py", CPU_PY),
                             args.work, {"--no-runtime": ["--no-runtime"],
                                         "--stacks": ["--no-runtime", "--stacks"]}, instructions)
        if cpu:
            verdicts = [bl.verdict(cpu, "--stacks", bl.TARGET_CPU, 1.02, "the target's CPU time (wait4)")]
            report.add("cpu", "CPU-bound Python", cpu, verdicts)
        if args.only == "a":
            report.write()
            return
        io = bench_overhead(args, report, tmp, "io", "(b) threaded I/O Python (off-CPU and syscall walks)",
                            write(tmp, "io.py", IO_PY), args.io_work,
                            {"--no-runtime": ["--no-runtime"], "--stacks": ["--no-runtime", "--stacks"]},
                            instructions)
        a = io["--no-runtime"][bl.TARGET_CPU.key]["ratio"]["median"]
        b = io["--stacks"][bl.TARGET_CPU.key]["ratio"]["median"]
        print("    --stacks over --no-runtime: %.3fx by the target's CPU time (ratio of the paired medians; "
              "budget 1.10x)" % (b / a))
        report.add("io", "threaded I/O Python", io, [], stacks_over_no_runtime=b / a)
        report.doc["bpf_ns_a_run"] = bpf_costs(args, tmp)
        bench_node_http(args, report, instructions)
        bench_node_http(args, report, instructions, perf_map=False)
        report.write()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
