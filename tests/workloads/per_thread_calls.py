"""usage: per_thread_calls.py TRUTH_JSON

Syscalls on known threads: thread "a" calls getppid 1000 times, thread "b" getpid 500 times, then the main
thread getsid 200 times (the interpreter itself calls none of the three). Writes {"pid", "main", "a", "b":
thread ids} to TRUTH_JSON."""
import json
import os
import sys
import threading

tids = {}


def a():
    tids["a"] = threading.get_native_id()
    for _ in range(1000):
        os.getppid()


def b():
    tids["b"] = threading.get_native_id()
    for _ in range(500):
        os.getpid()


threads = [threading.Thread(target=a), threading.Thread(target=b)]
for t in threads:
    t.start()
for t in threads:
    t.join()
for _ in range(200):
    os.getsid(0)
tids["pid"] = tids["main"] = threading.get_native_id()  # the main thread's id is the pid (no getpid here)
with open(sys.argv[1], "w") as f:
    json.dump(tids, f)
