"""usage: rt_gil_sleepers.py TRUTH_JSON GO_FILE [SECONDS]

GIL reference with little contention: creates GO_FILE.ready once started up, waits (sleeping) until GO_FILE
exists, then runs 1 CPU-bound thread (pure-Python loop) and 3 threads that loop in time.sleep(0.001..0.01)
(fixed-seed random durations), all until a shared deadline SECONDS (default 2.0) after the start, and joins
them. The sleepers hold the GIL only for a few microseconds per wakeup, so the CPU thread almost never waits
for it. Writes TRUTH_JSON:
  {"pid", "python", "wall_ns", "cpu": {"tid", "cpu_ns", "runq_ns", "chunks"},
   "sleepers": [{"tid", "wakeups", "slept_ns": sum of requested sleeps, "runq_ns"}]}
(runq_ns: the thread's time runnable but waiting for a CPU, the kernel's own accounting of the phase,
/proc/thread-self/schedstat)
then sleeps until killed (the workers have exited).
"""
import json
import os
import random
import sys
import threading
import time

SLEEPERS = 3


def runq_ns():
    with open("/proc/thread-self/schedstat") as f:
        return int(f.read().split()[1])


def chunk():
    x = 0
    for i in range(2000):
        x += i * i
    return x


def cpu_worker(out, deadline):
    tid = threading.get_native_id()
    start = time.thread_time_ns()
    runq = runq_ns()
    chunks = 0
    while time.perf_counter_ns() < deadline:
        chunk()
        chunks += 1
    out["cpu"] = {"tid": tid, "cpu_ns": time.thread_time_ns() - start, "runq_ns": runq_ns() - runq,
                  "chunks": chunks}


def sleeper(out, index, deadline):
    tid = threading.get_native_id()
    rng = random.Random(index)
    runq = runq_ns()
    wakeups = 0
    slept = 0
    while time.perf_counter_ns() < deadline:
        s = rng.uniform(0.001, 0.01)
        time.sleep(s)
        slept += int(s * 1e9)
        wakeups += 1
    out["sleepers"][index] = {"tid": tid, "wakeups": wakeups, "slept_ns": slept, "runq_ns": runq_ns() - runq}


def main():
    truth_path, go_path = sys.argv[1], sys.argv[2]
    seconds = float(sys.argv[3]) if len(sys.argv) > 3 else 2.0
    open(go_path + ".ready", "w").close()  # started up: a profiler may attach now
    while not os.path.exists(go_path):
        time.sleep(0.01)
    out = {"cpu": None, "sleepers": [None] * SLEEPERS}
    t0 = time.perf_counter_ns()
    deadline = t0 + int(seconds * 1e9)
    threads = [threading.Thread(target=cpu_worker, args=(out, deadline), name="gil-cpu")]
    threads += [threading.Thread(target=sleeper, args=(out, i, deadline), name="gil-sleep-%d" % i)
                for i in range(SLEEPERS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter_ns() - t0
    truth = {"pid": os.getpid(), "python": sys.version.split()[0], "wall_ns": wall}
    truth.update(out)
    with open(truth_path + ".tmp", "w") as f:
        json.dump(truth, f)
    os.rename(truth_path + ".tmp", truth_path)
    while True:
        time.sleep(3600)


main()
