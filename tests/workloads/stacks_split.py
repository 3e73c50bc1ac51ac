"""usage: stacks_split.py OUT SECONDS [threads]

CPU time in three functions in a known proportion, measured here with the thread's own CPU clock:
busy_a spins 60% of a round of CPU, busy_b 30%, busy_c 10%, round after round, until SECONDS of CPU are
spent. The rounds last 5 to 15 ms at random: a fixed round would run in step with a sampler's period
(10 ms rounds sampled every 2 ms put 4 samples of 5 in the first function).
With `threads`, busy_a runs on the main thread and busy_b on a second one, for 70% and 30% of SECONDS.
Writes {"pid", "version", "tids": {"main", "other"}, "cpu_s": {"busy_a", "busy_b", "busy_c"},
"lines": {name: [first, last]}, "loop_lines": {name: [the lines of its spin loop]}, "file"} to OUT.
"""
import inspect
import json
import os
import random
import sys
import threading
import time

spent = {"busy_a": 0.0, "busy_b": 0.0, "busy_c": 0.0}


def busy_a(cpu_s):
    start = time.thread_time()
    end = start + cpu_s
    x = 0
    while time.thread_time() < end:
        x += 1
    spent["busy_a"] += time.thread_time() - start


def busy_b(cpu_s):
    start = time.thread_time()
    end = start + cpu_s
    x = 0
    while time.thread_time() < end:
        x += 1
    spent["busy_b"] += time.thread_time() - start


def busy_c(cpu_s):
    start = time.thread_time()
    end = start + cpu_s
    x = 0
    while time.thread_time() < end:
        x += 1
    spent["busy_c"] += time.thread_time() - start


def lines(f):
    src, first = inspect.getsourcelines(f)
    return [first, first + len(src) - 1]


def loop_lines(f):
    """The lines of the function's spin loop: where its samples must fall."""
    src, first = inspect.getsourcelines(f)
    return [first + i for i, line in enumerate(src) if "while" in line or "x += 1" in line]


def main():
    out, total = sys.argv[1], float(sys.argv[2])
    threaded = len(sys.argv) > 3 and sys.argv[3] == "threads"
    tids = {"main": threading.get_native_id(), "other": None}
    if threaded:
        def other():
            tids["other"] = threading.get_native_id()
            busy_b(total * 0.3)
        t = threading.Thread(target=other)
        t.start()
        busy_a(total * 0.7)
        t.join()
    else:
        rng = random.Random(1)
        left = total
        while left > 0:
            r = rng.uniform(0.005, 0.015)
            busy_a(0.6 * r)
            busy_b(0.3 * r)
            busy_c(0.1 * r)
            left -= r
    funcs = (busy_a, busy_b, busy_c, main)
    with open(out, "w") as f:
        json.dump({"pid": os.getpid(), "version": "%d.%d" % sys.version_info[:2], "tids": tids, "cpu_s": spent,
                   "lines": {fn.__name__: lines(fn) for fn in funcs},
                   "loop_lines": {fn.__name__: loop_lines(fn) for fn in funcs[:3]},
                   "file": os.path.abspath(__file__)}, f)


main()
