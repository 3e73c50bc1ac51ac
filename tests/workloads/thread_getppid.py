"""Target for `rtprof attach TID`. argv: READY GO K.
A second thread writes {"pid", "tid"} (its own id) as JSON to READY, then sleeps in 10 ms steps until GO exists
(no getppid() before that), makes exactly K getppid() syscalls, and the process exits 0."""
import json
import os
import sys
import threading
import time


def worker(ready, go, k):
    tmp = ready + ".tmp"
    with open(tmp, "w") as f:
        json.dump({"pid": os.getpid(), "tid": threading.get_native_id()}, f)
    os.rename(tmp, ready)
    while not os.path.exists(go):
        time.sleep(0.01)
    getppid = os.getppid
    for _ in range(k):
        getppid()


def main():
    ready, go, k = sys.argv[1], sys.argv[2], int(sys.argv[3])
    t = threading.Thread(target=worker, args=(ready, go, k))
    t.start()
    t.join()


main()
