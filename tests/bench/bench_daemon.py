#!/usr/bin/env python3
"""Benchmark (not a test): rtprofd's own cost while it watches 50 idle and 5 busy python/node processes.

Starts rtprofd --watch python,node on a private socket, then the processes (half python, half node), waits
until all are watched, and measures the daemon's CPU time (utime+stime from /proc) and resident memory over
--windows consecutive windows of --seconds in all, so that the spread shows. Budget: at most 1% of one core
and 32 MiB RSS (the peak included).

usage: bench_daemon.py --rtprof BUILD/cli/rtprof [--seconds 60] [--windows 5] [--idle 50] [--busy 5]
"""
import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

BUDGET_CPU_PCT = 1.0
BUDGET_RSS_MIB = 32.0

IDLE_PY = "import time\nwhile True: time.sleep(1)\n"
BUSY_PY = ("import os, time\n"
           "while True:\n"
           "    t = time.monotonic()\n"
           "    while time.monotonic() - t < 0.05: os.getppid()\n"
           "    time.sleep(0.05)\n")
IDLE_JS = "setInterval(() => {}, 1000);"
BUSY_JS = ("function burst() { const t = Date.now(); while (Date.now() - t < 50) process.ppid; "
           "setTimeout(burst, 50); } burst();")


def proc_cpu_s(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def proc_kb(pid, key):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    return 0


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rtprof", default=os.environ.get("RTPROF", "rtprof"))
    ap.add_argument("--seconds", type=float, default=60, help="the whole measurement")
    ap.add_argument("--windows", type=int, default=5, help="... cut in this many windows")
    ap.add_argument("--idle", type=int, default=50)
    ap.add_argument("--busy", type=int, default=5)
    args = ap.parse_args()
    if os.geteuid() != 0:
        sys.exit("bench_daemon: needs root")
    rtprofd = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(args.rtprof))), "daemon", "rtprofd")
    python = "/usr/bin/python3" if os.path.exists("/usr/bin/python3") else sys.executable
    node = shutil.which("node")
    tmp = tempfile.mkdtemp(prefix="rtprofd-bench-")
    sock = os.path.join(tmp, "s")
    daemon = subprocess.Popen([rtprofd, "--socket", sock, "--config", "/dev/null", "--watch", "python,node"],
                              stderr=subprocess.DEVNULL)
    procs = []
    try:
        while not os.path.exists(sock):
            time.sleep(0.05)
        for i in range(args.idle + args.busy):
            busy = i >= args.idle
            if node and i % 2:
                cmd = [node, "-e", BUSY_JS if busy else IDLE_JS]
            else:
                cmd = [python, "-c", BUSY_PY if busy else IDLE_PY]
            procs.append(subprocess.Popen(cmd))
        pids = {p.pid for p in procs}
        deadline = time.monotonic() + 30
        watched = set()
        while time.monotonic() < deadline and not pids <= watched:
            out = subprocess.run([args.rtprof, "--socket", sock, "sessions", "--json"], capture_output=True,
                                 text=True).stdout
            watched = {pid for s in json.loads(out or "[]") for pid in s["pids"]}
            time.sleep(0.5)
        if not pids <= watched:
            print("bench_daemon: only %d of %d processes are watched" % (len(pids & watched), len(pids)))
        cpu_pct, rss_mib = [], []
        for _ in range(max(args.windows, 1)):
            cpu0, t0 = proc_cpu_s(daemon.pid), time.monotonic()
            time.sleep(args.seconds / max(args.windows, 1))
            cpu1, t1 = proc_cpu_s(daemon.pid), time.monotonic()
            cpu_pct.append(100 * (cpu1 - cpu0) / (t1 - t0))
            rss_mib.append(proc_kb(daemon.pid, "VmRSS") / 1024)
        hwm = proc_kb(daemon.pid, "VmHWM") / 1024
        mean = sum(cpu_pct) / len(cpu_pct)
        print(f"rtprofd watching {len(pids & watched)} of {len(pids)} processes ({args.idle} idle, {args.busy} busy), "
              f"{len(cpu_pct)} windows of {args.seconds / len(cpu_pct):.0f} s:")
        print(f"  CPU  {mean:.2f}% of one core (windows: min {min(cpu_pct):.2f}, max {max(cpu_pct):.2f}; "
              f"{' '.join('%.2f' % c for c in cpu_pct)}); budget {BUDGET_CPU_PCT:.0f}%")
        print(f"  RSS  {max(rss_mib):.1f} MiB at most (min {min(rss_mib):.1f}), peak {hwm:.1f} MiB; "
              f"budget {BUDGET_RSS_MIB:.0f} MiB")
        over = [what for what, bad in (("CPU", max(cpu_pct) > BUDGET_CPU_PCT), ("RSS", hwm > BUDGET_RSS_MIB)) if bad]
        print("  " + ("OVER BUDGET: " + ", ".join(over) if over else "within budget"))
    finally:
        for p in procs:
            p.kill()
        for p in procs:
            p.wait()
        daemon.send_signal(signal.SIGTERM)
        daemon.wait(10)
        shutil.rmtree(tmp)


if __name__ == "__main__":
    main()
