"""Target for `rtprof attach`. argv: READY GO OUT K.
Creates READY, then sleeps in 10 ms steps until GO exists (no getppid() before that), then starts 3 new threads
that each make exactly K getppid() syscalls, writes {"pid", "tids": [...]} as JSON to OUT and exits 0."""
import json
import os
import sys
import threading
import time

THREADS = 3


def caller(tids, index, k):
    tids[index] = threading.get_native_id()
    getppid = os.getppid
    for _ in range(k):
        getppid()


def main():
    ready, go, out, k = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    open(ready, "w").close()
    while not os.path.exists(go):
        time.sleep(0.01)
    tids = [None] * THREADS
    threads = [threading.Thread(target=caller, args=(tids, i, k)) for i in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    with open(out, "w") as f:
        json.dump({"pid": os.getpid(), "tids": tids}, f)


main()
