"""usage: pool_calls.py TRUTH_JSON

A multiprocessing Pool of 4 forked workers: each of 8 tasks calls getsid 250 times and makes cyclic garbage
(its collections), returning its worker's pid; the parent calls getsid 100 times itself. Writes
{"parent": pid, "getsid": {pid: calls}} to TRUTH_JSON (multiprocessing itself calls no getsid)."""
import json
import multiprocessing as mp
import os
import sys

CALLS = 250


def task(_):
    junk = []
    for i in range(20000):
        x = [i]
        x.append(x)
        junk.append(x)
        if len(junk) > 300:
            junk.clear()
    for _ in range(CALLS):
        os.getsid(0)
    return os.getpid()


if __name__ == "__main__":
    mp.set_start_method("fork")
    with mp.Pool(4) as pool:
        done = pool.map(task, range(8), chunksize=1)
    calls = {}
    for pid in done:
        calls[pid] = calls.get(pid, 0) + CALLS
    for _ in range(100):
        os.getsid(0)
    calls[os.getpid()] = 100
    with open(sys.argv[1], "w") as f:
        json.dump({"parent": os.getpid(), "getsid": calls}, f)
