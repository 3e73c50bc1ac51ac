"""usage: threads_schedstat.py TRUTH_JSON GO_FILE

Waits (sleeping) until GO_FILE exists, then starts 4 worker threads that each burn ~0.3 s of CPU in chunks
with 10 ms sleeps in between, and park. Once every worker is parked -- two readings 20 ms apart agree -- the
kernel's own figures for each (/proc/self/task/TID/schedstat: on-CPU ns, run-queue wait ns; status:
voluntary/nonvoluntary context switches) are written to TRUTH_JSON as {"pid": ..., "workers": [{"tid",
"oncpu_ns", "runq_wait_ns", "timeslices", "vol_switches", "invol_switches"}]}. Then it sleeps until killed, the
workers still parked, so that a profiler stopped now has seen exactly what the reference shows.
"""
import json
import os
import sys
import threading
import time

WORKERS = 4
CPU_S = 0.3
CHUNKS_BETWEEN_SLEEPS = 10


def busy_chunk():
    x = 0
    for i in range(20000):
        x += i * i
    return x


def worker(tids, index, park):
    tids[index] = threading.get_native_id()
    start = time.thread_time()
    chunks = 0
    while time.thread_time() - start < CPU_S:
        busy_chunk()
        chunks += 1
        if chunks % CHUNKS_BETWEEN_SLEEPS == 0:
            time.sleep(0.01)
    park.wait()  # never set: the thread stays parked until the process is killed


def read_task(tid):
    with open("/proc/self/task/%d/schedstat" % tid) as f:
        oncpu, runq, slices = (int(v) for v in f.read().split()[:3])
    with open("/proc/self/task/%d/status" % tid) as f:
        fields = dict(line.split(":", 1) for line in f if ":" in line)
    return {"tid": tid, "oncpu_ns": oncpu, "runq_wait_ns": runq, "timeslices": slices,
            "vol_switches": int(fields["voluntary_ctxt_switches"]),
            "invol_switches": int(fields["nonvoluntary_ctxt_switches"])}


def main():
    truth_path, go_path = sys.argv[1], sys.argv[2]
    while not os.path.exists(go_path):
        time.sleep(0.01)
    tids = [None] * WORKERS
    park = threading.Event()
    threads = [threading.Thread(target=worker, args=(tids, i, park), name="worker-%d" % i, daemon=True)
               for i in range(WORKERS)]
    for t in threads:
        t.start()
    previous = None
    while True:
        time.sleep(0.02)
        if None in tids:
            continue
        current = [read_task(tid) for tid in tids]
        if current == previous:  # nobody ran in 20 ms: all parked
            break
        previous = current
    with open(truth_path + ".tmp", "w") as f:
        json.dump({"pid": os.getpid(), "workers": current}, f)
    os.rename(truth_path + ".tmp", truth_path)
    while True:
        time.sleep(3600)


main()
