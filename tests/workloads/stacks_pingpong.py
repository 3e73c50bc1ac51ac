"""usage: stacks_pingpong.py OUT N

Two threads pass a byte back and forth over two pipes N times: ping() writes then reads, pong() reads then
writes. Each read waits a few microseconds for the other thread (the GIL released): many short waits off CPU,
each inside a syscall. Writes {"pid", "file", "tids": {"ping", "pong"}, "off_cpu_s": {"ping", "pong"}} to OUT:
each thread's time off CPU over its loop, its wall time less its own CPU time (time.thread_time).

The process keeps to one CPU (the last it may use): a CPU left idle by a thread's wait does the kernel's
idle-entry work (load balancing) on that thread's CPU time, ~7 us a wait on a 2-CPU VM with Linux 6.18, where
the switch tracepoints see the thread off CPU. On one CPU the other thread always runs next: no CPU goes idle,
and the thread's own measure and the switches' agree to the microsecond.
"""
import json
import os
import sys
import threading
import time

tids = {}
off_cpu_s = {}


def timed(name, f, *args):
    tids[name] = threading.get_native_id()
    wall, cpu = time.monotonic(), time.thread_time()
    f(*args)
    off_cpu_s[name] = (time.monotonic() - wall) - (time.thread_time() - cpu)


def ping(n, w, r):
    for _ in range(n):
        os.write(w, b"x")
        os.read(r, 1)


def pong(n, r, w):
    for _ in range(n):
        os.read(r, 1)
        os.write(w, b"x")


def main():
    out, n = sys.argv[1], int(sys.argv[2])
    os.sched_setaffinity(0, {max(os.sched_getaffinity(0))})
    a_r, a_w = os.pipe()
    b_r, b_w = os.pipe()
    threads = [threading.Thread(target=timed, args=("ping", ping, n, a_w, b_r)),
               threading.Thread(target=timed, args=("pong", pong, n, a_r, b_w))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    with open(out, "w") as f:
        json.dump({"pid": os.getpid(), "file": os.path.abspath(__file__), "tids": tids, "off_cpu_s": off_cpu_s}, f)


if __name__ == "__main__":
    main()
