"""usage: rt_gil_cpu.py TRUTH_JSON GO_FILE [SECONDS]

GIL contention reference: creates GO_FILE.ready once started up, waits (sleeping, GIL released) until GO_FILE
exists, then runs 4 CPU-bound threads (pure-Python loops) until a shared deadline SECONDS (default 2.0) after
the start, and joins them. Only one thread runs Python at a time, so the 4 workers hold the GIL for (almost)
the whole phase between them, and each waits for it ~3/4 of its life. Writes TRUTH_JSON:
  {"pid", "python", "wall_ns": from before the first thread starts to after the last join (perf_counter_ns),
   "workers": [{"tid", "cpu_ns": its CPU time, "runq_ns": its wait for a CPU (the kernel's schedstat of the
                thread, from its creation: a new thread waits for the GIL before its function runs),
                "wall_ns": its life, from just before its start() to its end, "chunks": loop chunks it ran}],
   "switch_interval_s"}
then sleeps until killed (the workers have exited; the main thread sleeps with the GIL released).
"""
import json
import os
import sys
import threading
import time

WORKERS = 4


def chunk():
    x = 0
    for i in range(2000):  # ~50-100 us: the deadline is checked often, the workers stop within a switch interval
        x += i * i
    return x


def schedstat():
    """The thread's time on a CPU and waiting for one since its creation (ns)."""
    with open("/proc/thread-self/schedstat") as f:
        fields = f.read().split()
    return int(fields[0]), int(fields[1])


def worker(out, index, deadline, started):
    tid = threading.get_native_id()
    chunks = 0
    while time.perf_counter_ns() < deadline:
        chunk()
        chunks += 1
    cpu, runq = schedstat()
    out[index] = {"tid": tid, "cpu_ns": cpu, "runq_ns": runq, "wall_ns": time.perf_counter_ns() - started[index],
                  "chunks": chunks}


def main():
    truth_path, go_path = sys.argv[1], sys.argv[2]
    seconds = float(sys.argv[3]) if len(sys.argv) > 3 else 2.0
    open(go_path + ".ready", "w").close()  # started up: a profiler may attach now
    while not os.path.exists(go_path):
        time.sleep(0.01)
    out = [None] * WORKERS
    t0 = time.perf_counter_ns()
    deadline = t0 + int(seconds * 1e9)
    started = [0] * WORKERS
    threads = [threading.Thread(target=worker, args=(out, i, deadline, started), name="gil-cpu-%d" % i)
               for i in range(WORKERS)]
    for i, t in enumerate(threads):
        started[i] = time.perf_counter_ns()  # its life, as the kernel's, includes its first wait for the GIL
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter_ns() - t0
    truth = {"pid": os.getpid(), "python": sys.version.split()[0], "wall_ns": wall, "workers": out,
             "switch_interval_s": sys.getswitchinterval()}
    with open(truth_path + ".tmp", "w") as f:
        json.dump(truth, f)
    os.rename(truth_path + ".tmp", truth_path)
    while True:
        time.sleep(3600)


main()
