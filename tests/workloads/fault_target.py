"""Targets of tests/integration/test_faults.py; nothing is written to stdout. Files are written whole (a rename), so
that a test that sees one can read it.

  storm OUT N BATCH      create N short threads, BATCH at a time (started together, then joined), each making
                         exactly one getppid(); then write {"pid", "tids": [...]} to OUT and exit 0
  park READY N [release] start N threads that all block on one Event (N alive at once), write {"pid", "tids"}
                         to READY; then sleep until killed, or with `release`: wake them, join them, exit 0
  busy READY             create READY, then make getppid() calls in bursts of 200 with 1 ms sleeps, forever
  calls READY GO DONE K exit|park
                         create READY, sleep in 10 ms steps until GO exists (no getppid() before), make exactly
                         K getppid() in the main thread, create DONE; then exit 0, or sleep until killed
"""
import json
import os
import sys
import threading
import time


def write_json(path, obj):
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        json.dump(obj, f)
    os.rename(tmp, path)


def storm(out, n, batch):
    tids = []
    lock = threading.Lock()

    def worker():
        tid = threading.get_native_id()
        os.getppid()
        with lock:
            tids.append(tid)

    made = 0
    while made < n:
        threads = [threading.Thread(target=worker) for _ in range(min(batch, n - made))]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        made += len(threads)
    write_json(out, {"pid": os.getpid(), "tids": tids})


def park(ready, n, release):
    gate = threading.Event()
    started = threading.Semaphore(0)
    tids = [None] * n

    def worker(i):
        tids[i] = threading.get_native_id()
        started.release()
        gate.wait()

    threads = [threading.Thread(target=worker, args=(i,), daemon=True) for i in range(n)]
    for t in threads:
        t.start()
    for _ in range(n):
        started.acquire()  # every tid is set, every thread is at its gate
    alive = sum(t.is_alive() for t in threads)
    write_json(ready, {"pid": os.getpid(), "tids": tids, "alive": alive})
    if not release:
        while True:
            time.sleep(3600)
    gate.set()
    for t in threads:
        t.join()


def busy(ready):
    open(ready, "w").close()
    getppid = os.getppid
    while True:
        for _ in range(200):
            getppid()
        time.sleep(0.001)


def calls(ready, go, done, k, then):
    open(ready, "w").close()
    while not os.path.exists(go):
        time.sleep(0.01)
    getppid = os.getppid
    for _ in range(k):
        getppid()
    open(done, "w").close()
    if then == "park":
        while True:
            time.sleep(3600)


def main():
    mode, args = sys.argv[1], sys.argv[2:]
    if mode == "storm":
        storm(args[0], int(args[1]), int(args[2]))
    elif mode == "park":
        park(args[0], int(args[1]), len(args) > 2 and args[2] == "release")
    elif mode == "busy":
        busy(args[0])
    elif mode == "calls":
        calls(args[0], args[1], args[2], int(args[3]), args[4])
    else:
        sys.exit("fault_target.py: unknown mode %r" % mode)


main()
