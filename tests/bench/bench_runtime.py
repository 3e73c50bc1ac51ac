#!/usr/bin/env python3
"""Benchmark (not a test): the cost of runtime metrics, measured in one invocation. Budget (issue): traced /
untraced <= 1.10x with the default methods.

(a) Python, 8 threads doing I/O, two workloads. The first, a worst case: 4 pairs ping-ponging 64 bytes over a socketpair (blocking round trips),
    each thread also doing a pwrite and a pread of 4 KiB on a file of its own per round trip; every call
    releases and re-takes the GIL -- a fixed amount of work (--work round trips per pair; 4-8 s untraced on
    a 2-CPU VM): wall time of the threaded phase, untraced and under `rtprof run` -- with --no-runtime (the
    syscall and scheduler probes alone), with runtime metrics (default GIL method: futex) and --gil=uprobes.
    The second, closer to a service: each thread reads its own 256 KiB file in 64 KiB chunks, checksums them
    and appends a line to a log (--files-work iterations).
(b) Node, an HTTP server (http_server.js) under wrk (-t2 -c32 -dDURATION) for a fixed duration: requests/s,
    untraced and with `rtprof attach` to the server -- --no-runtime and with runtime metrics. --http-fs also
    runs a server that reads a small file per request (4 threadpool tasks each: the threadpool probes).

Rounds interleave the configurations; medians over --rounds (each round's figure is printed too: on a shared
machine, another process's load -- or another rtprof session, whose probes run on every CPU -- shows there).
Ratios are traced/untraced cost: wall time traced/untraced for (a), requests/s untraced/traced for (b).

usage: bench_runtime.py --rtprof PATH [--rounds 3] [--work N] [--duration 5] [--http-fs] [--python EXE]
"""
import argparse
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time

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


def python_wall(cmd):
    out = subprocess.run(cmd, check=True, stdout=subprocess.PIPE, text=True).stdout
    return float(out.strip().splitlines()[-1])


def bench_python(rtprof, python, rounds, work, script=IO_THREADS_PY,
                 title="4 thread pairs x {work} socketpair round trips + 4 KiB pwrite/pread"):
    base = [python, "-c", script, str(work), str(SETTLE_S)]
    configs = [("untraced", None), ("--no-runtime", ["--no-runtime"]), ("runtime (futex)", []),
               ("--gil=uprobes", ["--gil=uprobes"])]
    times = {name: [] for name, _ in configs}
    with tempfile.TemporaryDirectory() as tmp:
        report = os.path.join(tmp, "report.json")
        for _ in range(rounds):
            for name, extra in configs:
                cmd = base if extra is None else [rtprof, "run", "--json", "-q", "-o", report] + extra + ["--"] + base
                times[name].append(python_wall(cmd))
    plain = statistics.median(times["untraced"])
    print("python: " + title.format(work=work) + ", " + python)
    for name, _ in configs:
        t = statistics.median(times[name])
        spread = ", ".join(f"{x:.3f}" for x in times[name])
        print(f"  {name:16s} {t:7.3f} s  ratio {t / plain:.2f}x   (rounds: {spread})")
    base = statistics.median(times["--no-runtime"])
    futex, uprobes = statistics.median(times["runtime (futex)"]), statistics.median(times["--gil=uprobes"])
    print(f"  runtime metrics alone (over --no-runtime): futex {futex / base:.2f}x, uprobes {uprobes / base:.2f}x")


def wrk_rps(wrk, port, duration, threads, conns):
    out = subprocess.run([wrk, "-t%d" % threads, "-c%d" % conns, "-d%ds" % duration,
                          "http://127.0.0.1:%d/" % port], check=True, stdout=subprocess.PIPE, text=True).stdout
    m = re.search(r"Requests/sec:\s*([0-9.]+)", out)
    if not m:
        sys.exit("bench_runtime: cannot read wrk's output:\n" + out)
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)|Socket errors: .*", out)
    if errors:
        print("  wrk: " + errors.group(0))
    return float(m.group(1))


def bench_http(rtprof, node, wrk, rounds, duration, label, server_args):
    server = subprocess.Popen([node, os.path.join(HERE, "http_server.js")] + server_args,
                              stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, text=True)
    try:
        port = int(server.stdout.readline())
        wrk_rps(wrk, port, 2, 2, 32)  # warm-up: JIT, connections
        configs = [("untraced", None), ("--no-runtime", ["--no-runtime"]), ("runtime", [])]
        rps = {name: [] for name, _ in configs}
        with tempfile.TemporaryDirectory() as tmp:
            report = os.path.join(tmp, "report.json")
            for _ in range(rounds):
                for name, extra in configs:
                    if extra is None:
                        rps[name].append(wrk_rps(wrk, port, duration, 2, 32))
                        continue
                    prof = subprocess.Popen([rtprof, "attach", "--json", "-o", report] + extra + [str(server.pid)],
                                            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                            stderr=subprocess.PIPE, text=True)
                    attached = False
                    for line in prof.stderr:
                        if "attached" in line:
                            attached = True
                            break
                    if not attached:
                        sys.exit("bench_runtime: rtprof attach failed (exit %r)" % prof.wait())
                    time.sleep(SETTLE_S)
                    rps[name].append(wrk_rps(wrk, port, duration, 2, 32))
                    prof.send_signal(signal.SIGINT)
                    prof.stderr.read()
                    if prof.wait(60) != 0:
                        sys.exit("bench_runtime: rtprof attach exited %d" % prof.returncode)
    finally:
        server.terminate()
        server.wait()
    plain = statistics.median(rps["untraced"])
    print(f"node: HTTP server{label} under wrk -t2 -c32 -d{duration}s, requests/s")
    for name, _ in configs:
        r = statistics.median(rps[name])
        spread = ", ".join(f"{x:.0f}" for x in rps[name])
        print(f"  {name:16s} {r:9.0f}/s  ratio {plain / r:.2f}x   (rounds: {spread})")
    print(f"  runtime metrics alone (over --no-runtime): "
          f"{statistics.median(rps['--no-runtime']) / statistics.median(rps['runtime']):.2f}x")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rtprof", default=os.environ.get("RTPROF", "rtprof"))
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--work", type=int, default=60000, help="round trips per Python thread pair")
    ap.add_argument("--files-work", type=int, default=15000, help="iterations per thread of the file workload")
    ap.add_argument("--duration", type=int, default=5, help="seconds of each wrk run")
    ap.add_argument("--http-fs", action="store_true", help="also a server reading a file per request")
    ap.add_argument("--python", default=shutil.which("python3") or sys.executable)
    args = ap.parse_args()
    if os.geteuid() != 0:
        sys.exit("bench_runtime: needs root to load the probes")
    rtprof = shutil.which(args.rtprof) or args.rtprof
    python = subprocess.run([args.python, "-c", "import sys; print(sys.executable)"], check=True,
                            stdout=subprocess.PIPE, text=True).stdout.strip()  # not pyenv's shim
    bench_python(rtprof, python, args.rounds, args.work)
    bench_python(rtprof, python, args.rounds, args.files_work, IO_FILES_PY,
                 "8 threads x {work} iterations of open, 4 x 64 KiB read + crc32, close, 100-byte append")
    node, wrk = shutil.which("node"), shutil.which("wrk")
    if not node or not wrk:
        print("node: skipped: needs node and wrk on PATH (packaging/install-deps.sh --tests)")
        return
    bench_http(rtprof, node, wrk, args.rounds, args.duration, "", [])
    if args.http_fs:
        with tempfile.TemporaryDirectory() as tmp:
            small = os.path.join(tmp, "small.txt")
            with open(small, "w") as f:
                f.write("a small file\n")
            bench_http(rtprof, node, wrk, args.rounds, args.duration, " (fs.readFile per request)",
                       ["--fs", small])


if __name__ == "__main__":
    main()
