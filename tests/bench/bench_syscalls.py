#!/usr/bin/env python3
"""Benchmark (not a test): the cost of syscall tracing on its worst case, a 5,000,000-iteration getppid loop,
in CPython and in Node, untraced and under `rtprof run`, in interleaved rounds of one invocation.

Figures for each: the loop's own time (printed by the loop: start-up and probe loading are not in it), the
target's CPU time (user+sys from wait4: the probes run in its syscalls and count there), rtprof's own CPU
time, the machine's other load, and instructions (user and kernel) where perf stat can count them. Ratios
are paired: each traced run's figure over the mean of the untraced runs either side of it. The loop runs on
one CPU (--cpu). The verdict is judged by the target's CPU time (and instructions where counted): the loop
does nothing but syscalls, so its CPU time is the path's cost, and it moves less with the load of the rest
of the machine than wall time does.

usage: bench_syscalls.py --rtprof PATH [--iterations N] [--rounds R] [--budget X] [--cpu N|none] [--json FILE]
                         [--no-perf]
"""
import argparse
import os
import shutil
import sys
import tempfile

import benchlib as bl

HERE = os.path.dirname(os.path.abspath(__file__))
LOOP = bl.Measure("loop_s", "loop time", "s")


def bench(name, base_cmd, rtprof, args, instr, report):
    variants = ["untraced", "rtprof run"]
    counts, lost = [], []
    with tempfile.TemporaryDirectory() as tmp:
        rep_path = os.path.join(tmp, "report.json")

        def run_one(v):
            cmd = bl.pin(instr.wrap(base_cmd), args)
            if v == "untraced":
                out, cpu, _, other = bl.run_target(cmd)
                row = {LOOP.key: float(out.split()[-1]), bl.TARGET_CPU.key: cpu, bl.OTHER_LOAD.key: other}
            else:
                out, rep, cpu, own, other = bl.run_traced(rtprof, [], cmd, rep_path)
                row = {LOOP.key: float(out.split()[-1]), bl.TARGET_CPU.key: cpu, bl.TOOL_CPU.key: own,
                       bl.OTHER_LOAD.key: other}
                counts.append(next((s["count"] for s in rep["syscalls"] if s["name"] == "getppid"), 0))
                lost.append(rep["lost_events"])
            row.update(instr.read())
            return row

        def show(r):
            t = r["rtprof run"]
            u = t["_base"]
            return "loop %.3f / %.3f s (%.2fx), target CPU %.3f / %.3f s (%.2fx), other load %.2f / %.2f CPUs" % (
                u[LOOP.key], t[LOOP.key], t[LOOP.key] / u[LOOP.key], u[bl.TARGET_CPU.key],
                t[bl.TARGET_CPU.key], t[bl.TARGET_CPU.key] / u[bl.TARGET_CPU.key],
                u[bl.OTHER_LOAD.key], t[bl.OTHER_LOAD.key])

        print("%s: %d x getppid(), %s; %d interleaved rounds" % (name, args.iterations, base_cmd[0], args.rounds),
              flush=True)
        samples = bl.interleave(variants, args.rounds, run_one, show)
    measures = [LOOP, bl.TARGET_CPU, bl.TOOL_CPU, bl.OTHER_LOAD, bl.INSTR_U, bl.INSTR_K]
    summary = bl.summarize(samples, "untraced", measures)
    bl.print_summary(summary, measures, instr.enabled)
    print("    getppid counted %d-%d of %d; lost events %d" % (min(counts), max(counts), args.iterations, max(lost)))
    verdicts = [bl.verdict(summary, "rtprof run", bl.TARGET_CPU, args.budget,
                           "target CPU time (a loop of syscalls: its CPU time is their cost)")]
    if instr.enabled:
        verdicts.append(bl.verdict(summary, "rtprof run", bl.INSTR_K, args.budget,
                                   "kernel instructions (where the probes run)"))
    report.add(name, "%d x getppid()" % args.iterations, summary, verdicts, command=base_cmd,
               getppid_counted=counts, lost_events=lost, iterations=args.iterations)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rtprof", default=os.environ.get("RTPROF", "rtprof"))
    ap.add_argument("--iterations", type=int, default=5_000_000)
    ap.add_argument("--budget", type=float, help="a ratio to judge against (none by default: the worst case)")
    bl.add_arguments(ap, rounds=9)
    args = ap.parse_args()
    if os.geteuid() != 0:
        sys.exit("bench_syscalls: needs root to load the probes")
    rtprof = shutil.which(args.rtprof) or args.rtprof
    instr = bl.Instructions(bl.instructions_enabled(args))
    report = bl.Report("syscalls", args, instr.enabled)
    try:
        python = "/usr/bin/python3" if os.path.exists("/usr/bin/python3") else sys.executable
        bench("python", [python, os.path.join(HERE, "getppid_loop.py"), str(args.iterations)],
              rtprof, args, instr, report)
        node = shutil.which("node")
        if node:
            bench("node", [node, os.path.join(HERE, "getppid_loop.js"), str(args.iterations)],
                  rtprof, args, instr, report)
        else:
            print("node: skipped: no node on PATH")
    finally:
        instr.close()
    report.write()


if __name__ == "__main__":
    main()
