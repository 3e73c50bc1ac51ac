#!/usr/bin/env python3
"""Benchmark (not a test): recording a trace of the worst case, a 5,000,000-iteration os.getppid() loop.

Prints, from one invocation: the loop's wall-time ratio traced-to-a-trace/untraced (median of the rounds),
records lost, the recorder's own CPU seconds (rtprof's, without the command's), the file size and bytes per
record.

usage: bench_record.py --rtprof PATH [--iterations N] [--rounds R]
"""
import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))


def children_cpu():
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    return ru.ru_utime + ru.ru_stime


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rtprof", default=os.environ.get("RTPROF", "rtprof"))
    ap.add_argument("--iterations", type=int, default=5_000_000)
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    if os.geteuid() != 0:
        sys.exit("bench_record: needs root to load the probes")
    python = "/usr/bin/python3" if os.path.exists("/usr/bin/python3") else sys.executable
    loop = [python, os.path.join(HERE, "getppid_loop.py"), str(args.iterations)]
    plain, traced, rec_cpu, sizes, lost, records = [], [], [], [], [], []
    with tempfile.TemporaryDirectory() as tmp:
        trace, report = os.path.join(tmp, "t.rtprof.gz"), os.path.join(tmp, "r.json")
        for _ in range(args.rounds):
            plain.append(float(subprocess.run(loop, check=True, stdout=subprocess.PIPE, text=True).stdout))
            before = children_cpu()
            out = subprocess.run([args.rtprof, "run", "-q", "--json", "-o", trace, "-o", report, "--"] + loop,
                                 check=True, stdout=subprocess.PIPE, text=True).stdout
            total_cpu = children_cpu() - before
            traced.append(float(out))
            with open(report) as f:
                rep = json.load(f)
            command_cpu = rep["process"]["cpu_user_s"] + rep["process"]["cpu_sys_s"]
            rec_cpu.append(total_cpu - command_cpu)
            sizes.append(os.path.getsize(trace))
            lost.append(rep["lost_events"])
            records.append(sum(s["count"] for s in rep["syscalls"]))
    p, t = statistics.median(plain), statistics.median(traced)
    size = statistics.median(sizes)
    print(f"record   untraced {p:.3f} s  recorded {t:.3f} s  ratio {t / p:.2f}x  (median of {args.rounds})")
    print(f"         lost {max(lost)}  recorder CPU {statistics.median(rec_cpu):.2f} s  "
          f"file {size / 1e6:.1f} MB  {size / statistics.median(records):.2f} bytes/syscall record")


if __name__ == "__main__":
    main()
