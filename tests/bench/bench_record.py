#!/usr/bin/env python3
"""Benchmark (not a test): recording a trace of the worst case, a 5,000,000-iteration os.getppid() loop.

Interleaved rounds of the loop untraced and recorded (`rtprof run -o FILE.rtprof.gz`), in one invocation.
Figures: the loop's own time, the target's CPU time (wait4), the recorder's own CPU time (rtprof's, without
the command's), the machine's other load, instructions where perf stat counts them, records lost, the
file's size and bytes per record. Ratios are paired with the untraced runs either side of each recorded
one; the verdict is judged by the target's CPU time. The loop runs on one CPU (--cpu).

usage: bench_record.py --rtprof PATH [--iterations N] [--rounds R] [--cpu N|none] [--json FILE] [--no-perf]
"""
import argparse
import os
import shutil
import statistics
import sys
import tempfile

import benchlib as bl

HERE = os.path.dirname(os.path.abspath(__file__))
LOOP = bl.Measure("loop_s", "loop time", "s")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rtprof", default=os.environ.get("RTPROF", "rtprof"))
    ap.add_argument("--iterations", type=int, default=5_000_000)
    ap.add_argument("--budget", type=float, help="a ratio to judge against (none by default: the worst case)")
    bl.add_arguments(ap, rounds=9)
    args = ap.parse_args()
    if os.geteuid() != 0:
        sys.exit("bench_record: needs root to load the probes")
    rtprof = shutil.which(args.rtprof) or args.rtprof
    python = "/usr/bin/python3" if os.path.exists("/usr/bin/python3") else sys.executable
    loop = [python, os.path.join(HERE, "getppid_loop.py"), str(args.iterations)]
    instr = bl.Instructions(bl.instructions_enabled(args))
    report = bl.Report("record", args, instr.enabled)
    sizes, lost, records = [], [], []
    try:
        with tempfile.TemporaryDirectory() as tmp:
            trace = os.path.join(tmp, "t.rtprof.gz")

            def run_one(v):
                cmd = bl.pin(instr.wrap(loop), args)
                if v == "untraced":
                    out, cpu, _, other = bl.run_target(cmd)
                    row = {LOOP.key: float(out.split()[-1]), bl.TARGET_CPU.key: cpu, bl.OTHER_LOAD.key: other}
                else:
                    out, rep, cpu, own, other = bl.run_traced(rtprof, ["-o", trace], cmd,
                                                              os.path.join(tmp, "r.json"))
                    row = {LOOP.key: float(out.split()[-1]), bl.TARGET_CPU.key: cpu, bl.TOOL_CPU.key: own,
                           bl.OTHER_LOAD.key: other}
                    sizes.append(os.path.getsize(trace))
                    lost.append(rep["lost_events"])
                    records.append(sum(s["count"] for s in rep["syscalls"]))
                row.update(instr.read())
                return row

            def show(r):
                t = r["recorded"]
                u = t["_base"]
                return ("loop %.3f / %.3f s (%.2fx), target CPU %.3f / %.3f s (%.2fx), recorder CPU %.3f s, "
                        "other load %.2f / %.2f CPUs" % (
                            u[LOOP.key], t[LOOP.key], t[LOOP.key] / u[LOOP.key], u[bl.TARGET_CPU.key],
                            t[bl.TARGET_CPU.key], t[bl.TARGET_CPU.key] / u[bl.TARGET_CPU.key], t[bl.TOOL_CPU.key],
                            u[bl.OTHER_LOAD.key], t[bl.OTHER_LOAD.key]))

            print("record: %d x getppid() recorded to a trace, %s; %d interleaved rounds"
                  % (args.iterations, python, args.rounds), flush=True)
            samples = bl.interleave(["untraced", "recorded"], args.rounds, run_one, show)
    finally:
        instr.close()
    measures = [LOOP, bl.TARGET_CPU, bl.TOOL_CPU, bl.OTHER_LOAD, bl.INSTR_U, bl.INSTR_K]
    summary = bl.summarize(samples, "untraced", measures)
    bl.print_summary(summary, measures, instr.enabled)
    size = statistics.median(sizes)
    print("    lost %d  file %.1f MB  %.2f bytes/syscall record" % (max(lost), size / 1e6,
                                                                    size / statistics.median(records)))
    verdicts = [bl.verdict(summary, "recorded", bl.TARGET_CPU, args.budget,
                           "target CPU time (the recorder's own is the line above it)")]
    report.add("record", "%d x getppid() recorded" % args.iterations, summary, verdicts, command=loop,
               file_bytes=sizes, lost_events=lost, records=records)
    report.write()


if __name__ == "__main__":
    main()
