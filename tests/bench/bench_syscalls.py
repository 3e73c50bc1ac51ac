#!/usr/bin/env python3
"""Benchmark (not a test): wall-time ratio traced/untraced of a 5,000,000-iteration getppid loop,
in CPython and in Node, measured in one invocation. Runs interleave untraced and traced rounds
and report the median loop time of each.

usage: bench_syscalls.py --rtprof PATH [--iterations N] [--rounds R]
"""
import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))


def loop_seconds(cmd):
    out = subprocess.run(cmd, check=True, stdout=subprocess.PIPE, text=True).stdout
    return float(out.strip().splitlines()[-1])


def bench(name, base_cmd, rtprof, rounds, iterations):
    plain, traced, counts = [], [], []
    with tempfile.TemporaryDirectory() as tmp:
        report = os.path.join(tmp, "report.json")
        for _ in range(rounds):
            plain.append(loop_seconds(base_cmd))
            traced.append(loop_seconds([rtprof, "run", "--json", "-q", "-o", report, "--"] + base_cmd))
            with open(report) as f:
                rep = json.load(f)
            counts.append(next((s["count"] for s in rep["syscalls"] if s["name"] == "getppid"), 0))
            lost = rep["lost_events"]
    p, t = statistics.median(plain), statistics.median(traced)
    print(f"{name:8s} untraced {p:.3f} s  traced {t:.3f} s  ratio {t / p:.2f}x  "
          f"(median of {rounds}; getppid counted {counts[-1]} of {iterations}; lost events {lost})")
    return t / p


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rtprof", default=os.environ.get("RTPROF", "rtprof"))
    ap.add_argument("--iterations", type=int, default=5_000_000)
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    if os.geteuid() != 0:
        sys.exit("bench_syscalls: needs root to load the probes")
    python = "/usr/bin/python3" if os.path.exists("/usr/bin/python3") else sys.executable
    bench("python", [python, os.path.join(HERE, "getppid_loop.py"), str(args.iterations)],
          args.rtprof, args.rounds, args.iterations)
    node = shutil.which("node")
    if node:
        bench("node", [node, os.path.join(HERE, "getppid_loop.js"), str(args.iterations)],
              args.rtprof, args.rounds, args.iterations)
    else:
        print("node      skipped: no node on PATH")


if __name__ == "__main__":
    main()
