#!/usr/bin/env python3
"""Benchmark (not a test): the cost of runtime metrics, measured in one invocation. Budget (issue): traced /
untraced <= 1.10x with the default methods.

(a) Python, 8 threads doing I/O, two workloads. The first, a worst case: 4 pairs ping-ponging 64 bytes over a
    socketpair (blocking round trips), each thread also doing a pwrite and a pread of 4 KiB on a file of its
    own per round trip; every call releases and re-takes the GIL -- a fixed amount of work (--work round trips
    per pair). The second, closer to a service: each thread reads its own 256 KiB file in 64 KiB chunks,
    checksums them and appends a line to a log (--files-work iterations). Each untraced and under `rtprof run`
    -- with --no-runtime (the syscall and scheduler probes alone), with runtime metrics (default GIL method:
    futex) and --gil=uprobes. Figures: the threaded phase's wall time, the target's CPU time (wait4), rtprof's
    own CPU time, instructions where perf stat counts them. Judged by the target's CPU time.
(b) Node, an HTTP server (http_server.js) under wrk (-t2 -c32 -dDURATION) for a fixed duration, untraced and
    with `rtprof attach` to the server -- --no-runtime and with runtime metrics. Figures: requests/s, the
    server's CPU time per request (/proc), rtprof's own CPU time. Judged by requests/s, with CPU/request
    beside it. --http-fs also runs a server that reads a small file per request (4 threadpool tasks each:
    the threadpool probes).

Rounds interleave the variants, the order rotated each round, each traced run between two untraced ones;
every ratio is paired -- a run's figure over the mean of the untraced runs either side of it -- and a cost:
above 1 is slower (requests/s untraced/traced). The target runs on one CPU (--cpu), wrk on the others. Each
round's ratios are printed as they come: on a shared machine, another process's load -- or another rtprof,
whose probes run on every CPU -- shows there. docs/benchmarks.md says how to read the summary.

usage: bench_runtime.py --rtprof PATH [--rounds 7] [--work N] [--files-work N] [--duration 3] [--http-fs]
                        [--python EXE] [--budget 1.10] [--cpu N|none] [--json FILE] [--no-perf]
"""
import argparse
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

import benchlib as bl

HERE = os.path.dirname(os.path.abspath(__file__))
SETTLE_S = 1.0  # runtime probes are attached ~0.5 s after the process

IO_THREADS_PY = r"""
import os, socket, sys, tempfile, threading, time
PAIRS = 4
n = int(sys.argv[1])
tmp = tempfile.mkdtemp(prefix="rt-bench-")
msg = b"m" * 64
block = b"x" * 4096
def io(fd, k):
    off = (k % 64) * 4096
    os.pwrite(fd, block, off); os.pread(fd, 4096, off)
def ping(s, fd):
    for k in range(n):
        s.sendall(msg); s.recv(64); io(fd, k)
def pong(s, fd):
    for k in range(n):
        s.recv(64); s.sendall(msg); io(fd, k)
threads, files = [], []
for i in range(PAIRS):
    a, b = socket.socketpair()
    fa, fb = (os.open(os.path.join(tmp, "%s%d" % (c, i)), os.O_RDWR | os.O_CREAT, 0o600) for c in "ab")
    files += [fa, fb]
    threads += [threading.Thread(target=ping, args=(a, fa)), threading.Thread(target=pong, args=(b, fb))]
time.sleep(float(sys.argv[2]))  # runtime probes attach ~0.5 s after exec: not in the measured phase
t0 = time.perf_counter()
for t in threads: t.start()
for t in threads: t.join()
print("%.6f" % (time.perf_counter() - t0))
for fd in files: os.close(fd)
for name in os.listdir(tmp): os.unlink(os.path.join(tmp, name))
os.rmdir(tmp)
"""

# (a') 8 threads reading files as a service would: each opens its own 256 KiB file, reads it in 64 KiB chunks,
# checksums each chunk (zlib.crc32 releases the GIL on large buffers), closes it and appends a 100-byte line to
# its own log: ~8 syscalls and some computation per iteration, on the page cache.
IO_FILES_PY = r"""
import os, sys, tempfile, threading, time, zlib
THREADS = 8
n = int(sys.argv[1])
tmp = tempfile.mkdtemp(prefix="rt-bench-")
data = os.urandom(256 * 1024)
paths = []
for i in range(THREADS):
    p = os.path.join(tmp, "data%d" % i)
    with open(p, "wb") as f:
        f.write(data)
    paths.append(p)
def work(i):
    log = os.open(os.path.join(tmp, "log%d" % i), os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    line = b"l" * 99 + b"\n"
    crc = 0
    for k in range(n):
        fd = os.open(paths[i], os.O_RDONLY)
        while True:
            chunk = os.read(fd, 65536)
            if not chunk:
                break
            crc = zlib.crc32(chunk, crc)
        os.close(fd)
        os.write(log, line)
    os.close(log)
threads = [threading.Thread(target=work, args=(i,)) for i in range(THREADS)]
time.sleep(float(sys.argv[2]))
t0 = time.perf_counter()
for t in threads: t.start()
for t in threads: t.join()
print("%.6f" % (time.perf_counter() - t0))
for name in os.listdir(tmp): os.unlink(os.path.join(tmp, name))
os.rmdir(tmp)
"""


PHASE = bl.Measure("phase_s", "phase time", "s")
RPS = bl.Measure("requests_per_s", "requests/s", "", "{:.0f}", higher_is_better=True)
CPU_PER_REQ = bl.Measure("server_cpu_us_per_request", "CPU/request", "us", "{:.1f}")
BUDGET = 1.10


def alone(samples, variants, measures, base="--no-runtime", what="the runtime metrics alone"):
    """The runtime metrics' own share: each variant paired with --no-runtime (base) of the same round."""
    s = bl.summarize({v: samples[v] for v in [base] + variants}, base, measures)
    for v in variants:
        parts = ["%.3fx (IQR %.3f-%.3f) by %s" % (r["median"], r["q1"], r["q3"], m.label)
                 for m in measures for r in [s[v].get(m.key, {}).get("ratio")] if r]
        if parts:
            print("    %s over %s of the same round (%s): %s" % (v, base, what, ", ".join(parts)))
    return {v: {m.key: s[v][m.key].get("ratio") for m in measures if m.key in s[v]} for v in variants}


def bench_python(rtprof, python, args, instr, report, work, script=IO_THREADS_PY, name="python-threads",
                 title="4 thread pairs x {work} socketpair round trips + 4 KiB pwrite/pread"):
    base = [python, "-c", script, str(work), str(SETTLE_S)]
    configs = {"untraced": None, "--no-runtime": ["--no-runtime"], "runtime (futex)": [],
               "--gil=uprobes": ["--gil=uprobes"]}
    with tempfile.TemporaryDirectory() as tmp:
        report_path = os.path.join(tmp, "report.json")

        def run_one(v):
            cmd = bl.pin(instr.wrap(base), args)
            if configs[v] is None:
                out, cpu, _, other = bl.run_target(cmd)
                row = {PHASE.key: float(out.split()[-1]), bl.TARGET_CPU.key: cpu, bl.OTHER_LOAD.key: other}
            else:
                out, _, cpu, own, other = bl.run_traced(rtprof, configs[v], cmd, report_path)
                row = {PHASE.key: float(out.split()[-1]), bl.TARGET_CPU.key: cpu, bl.TOOL_CPU.key: own,
                       bl.OTHER_LOAD.key: other}
            row.update(instr.read())
            return row

        def show(r):
            u = r["untraced"]
            return ", ".join("%s %.2f s %.2f cpu" % (v, u[PHASE.key], u[bl.TARGET_CPU.key]) if v == "untraced"
                             else "%s %.2fx %.2fx" % (v, bl.ratio(PHASE, r[v]["_base"][PHASE.key], r[v][PHASE.key]),
                                                      bl.ratio(bl.TARGET_CPU, r[v]["_base"][bl.TARGET_CPU.key],
                                                               r[v][bl.TARGET_CPU.key]))
                             for v in configs)

        print("%s: %s, %s; %d interleaved rounds (per round: the first untraced run's phase and CPU time, then "
              "each traced variant's ratios to the untraced runs either side of it)"
              % (name, title.format(work=work), python, args.rounds), flush=True)
        samples = bl.interleave(list(configs), args.rounds, run_one, show)
    measures = [PHASE, bl.TARGET_CPU, bl.TOOL_CPU, bl.OTHER_LOAD, bl.INSTR_U, bl.INSTR_K]
    summary = bl.summarize(samples, "untraced", measures)
    bl.print_summary(summary, measures, instr.enabled)
    own = alone(samples, ["runtime (futex)", "--gil=uprobes"], [bl.TARGET_CPU, PHASE])
    why = "the target's CPU time (its threads' work, the probes in their syscalls and GIL hand-offs included)"
    verdicts = [bl.verdict(summary, "runtime (futex)", bl.TARGET_CPU, args.budget, why)]
    if instr.enabled:
        verdicts.append(bl.verdict(summary, "runtime (futex)", bl.INSTR_K, args.budget, "kernel instructions"))
    report.add(name, title.format(work=work), summary, verdicts, command=base[:1] + ["-c", "..."] + base[3:],
               over_no_runtime=own)


def wrk_run(wrk, port, duration, threads, conns, cpus):
    """wrk's requests/s and request count; wrk on cpus (taskset -c), the server's CPU left to the server."""
    cmd = [wrk, "-t%d" % threads, "-c%d" % conns, "-d%ds" % duration, "http://127.0.0.1:%d/" % port]
    out = subprocess.run((["taskset", "-c", cpus] if cpus else []) + cmd, check=True, stdout=subprocess.PIPE,
                         text=True).stdout
    m = re.search(r"Requests/sec:\s*([0-9.]+)", out)
    n = re.search(r"(\d+) requests in", out)
    if not m or not n:
        sys.exit("bench_runtime: cannot read wrk's output:\n" + out)
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)|Socket errors: .*", out)
    if errors:
        print("  wrk: " + errors.group(0))
    return float(m.group(1)), int(n.group(1))


def bench_http(rtprof, node, wrk, args, instr, report, label, server_args, name, configs=None, node_args=(),
               judge=None):
    """The server untraced and under each attach of configs ({name: rtprof attach options; None: untraced});
    judge: (variant, base variant, what it measures, budget) -- its paired ratio over the base's of the same
    round is the verdict (default: runtime over --no-runtime, runtime judged against the untraced runs)."""
    server = subprocess.Popen(bl.pin([node] + list(node_args) + [os.path.join(HERE, "http_server.js")] + server_args,
                                     args), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, text=True)
    configs = configs or {"untraced": None, "--no-runtime": ["--no-runtime"], "runtime": []}
    try:
        port = int(server.stdout.readline())
        wrk_run(wrk, port, 2, 2, 32, bl.other_cpus(args))  # warm-up: JIT, connections

        def load():
            cpu0, perf = bl.proc_cpu_s(server.pid), instr.start(server.pid)
            rps, n = wrk_run(wrk, port, args.duration, 2, 32, bl.other_cpus(args))
            row = instr.stop(perf)
            row.update({RPS.key: rps, CPU_PER_REQ.key: (bl.proc_cpu_s(server.pid) - cpu0) / n * 1e6})
            return row

        with tempfile.TemporaryDirectory() as tmp:
            report_path = os.path.join(tmp, "report.json")

            def run_one(v):
                if configs[v] is None:
                    return load()
                prof = subprocess.Popen([rtprof, "attach", "--json", "-o", report_path] + configs[v] +
                                        [str(server.pid)], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                        stderr=subprocess.PIPE, text=True)
                attached = False
                for line in prof.stderr:
                    if "attached" in line:
                        attached = True
                        break
                if not attached:
                    sys.exit("bench_runtime: rtprof attach failed (exit %r)" % prof.wait())
                time.sleep(SETTLE_S)
                row = load()
                prof.send_signal(signal.SIGINT)
                prof.stderr.read()
                prof.stderr.close()
                _, status, ru = os.wait4(prof.pid, 0)
                prof.returncode = os.waitstatus_to_exitcode(status)
                if prof.returncode != 0:
                    sys.exit("bench_runtime: rtprof attach exited %d" % prof.returncode)
                row[bl.TOOL_CPU.key] = ru.ru_utime + ru.ru_stime  # the whole attach: probes' bring-up too
                return row

            def show(r):
                u = r["untraced"]
                return ", ".join("%s %.0f/s %.1f us" % (v, u[RPS.key], u[CPU_PER_REQ.key])
                                 if v == "untraced" else "%s %.2fx %.2fx" % (
                                     v, bl.ratio(RPS, r[v]["_base"][RPS.key], r[v][RPS.key]),
                                     bl.ratio(CPU_PER_REQ, r[v]["_base"][CPU_PER_REQ.key], r[v][CPU_PER_REQ.key]))
                                 for v in configs)

            print("%s: HTTP server%s under wrk -t2 -c32 -d%ds; %d interleaved rounds (per round: the first "
                  "untraced run's requests/s and server CPU per request, then each traced variant's cost ratios "
                  "to the untraced runs either side of it)"
                  % (name, label, args.duration, args.rounds), flush=True)
            samples = bl.interleave(list(configs), args.rounds, run_one, show)
    finally:
        server.terminate()
        server.wait()
    measures = [RPS, CPU_PER_REQ, bl.TOOL_CPU, bl.INSTR_U, bl.INSTR_K]
    summary = bl.summarize(samples, "untraced", measures)
    bl.print_summary(summary, measures, instr.enabled)
    if judge:
        variant, base, what, budget = judge
        own = alone(samples, [variant], [RPS, CPU_PER_REQ], base, what)
        r = own[variant][RPS.key]
        print("    %s over %s by requests/s: %.3fx (budget %.2fx): %s"
              % (variant, base, r["median"], budget, "within" if r["median"] <= budget else "OVER"))
        report.add(name, "HTTP server%s under wrk -t2 -c32 -d%ds" % (label, args.duration), summary, [],
                   **{"over_" + base.strip("-").replace("-", "_"): own})
        return own
    own = alone(samples, ["runtime"], [RPS, CPU_PER_REQ])
    verdicts = [bl.verdict(summary, "runtime", RPS, args.budget,
                           "requests/s (a throughput: untraced/traced), with CPU/request beside it"),
                bl.verdict(summary, "runtime", CPU_PER_REQ, args.budget,
                           "the server's CPU time per request")]
    report.add(name, "HTTP server%s under wrk -t2 -c32 -d%ds" % (label, args.duration), summary, verdicts,
               over_no_runtime=own)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rtprof", default=os.environ.get("RTPROF", "rtprof"))
    ap.add_argument("--work", type=int, default=8000, help="round trips per Python thread pair")
    ap.add_argument("--files-work", type=int, default=2000, help="iterations per thread of the file workload")
    ap.add_argument("--duration", type=int, default=3, help="seconds of each wrk run")
    ap.add_argument("--budget", type=float, default=BUDGET, help="the ratio judged against (%(default)s)")
    ap.add_argument("--http-fs", action="store_true", help="also a server reading a file per request")
    ap.add_argument("--python", default=shutil.which("python3") or sys.executable)
    bl.add_arguments(ap, rounds=7)
    args = ap.parse_args()
    if os.geteuid() != 0:
        sys.exit("bench_runtime: needs root to load the probes")
    rtprof = shutil.which(args.rtprof) or args.rtprof
    python = subprocess.run([args.python, "-c", "import sys; print(sys.executable)"], check=True,
                            stdout=subprocess.PIPE, text=True).stdout.strip()  # not pyenv's shim
    instr = bl.Instructions(bl.instructions_enabled(args))
    report = bl.Report("runtime", args, instr.enabled)
    try:
        bench_python(rtprof, python, args, instr, report, args.work)
        bench_python(rtprof, python, args, instr, report, args.files_work, IO_FILES_PY, "python-files",
                     "8 threads x {work} iterations of open, 4 x 64 KiB read + crc32, close, 100-byte append")
        node, wrk = shutil.which("node"), shutil.which("wrk")
        if not node or not wrk:
            print("node: skipped: needs node and wrk on PATH (packaging/install-deps.sh --tests)")
            return
        bench_http(rtprof, node, wrk, args, instr, report, "", [], "node-http")
        if args.http_fs:
            with tempfile.TemporaryDirectory() as tmp:
                small = os.path.join(tmp, "small.txt")
                with open(small, "w") as f:
                    f.write("a small file\n")
                bench_http(rtprof, node, wrk, args, instr, report, " (fs.readFile per request)", ["--fs", small],
                           "node-http-fs")
    finally:
        instr.close()
        report.write()

if __name__ == "__main__":
    main()
