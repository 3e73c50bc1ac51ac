"""Target for sessions that outlive the work. argv: READY GO DONE K.
Creates READY, then sleeps in 10 ms steps until GO exists (no getppid() before that), then makes exactly K
getppid() syscalls in its main thread, creates DONE and sleeps until it is killed."""
import os
import sys
import time


def main():
    ready, go, done, k = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    open(ready, "w").close()
    while not os.path.exists(go):
        time.sleep(0.01)
    getppid = os.getppid
    for _ in range(k):
        getppid()
    open(done, "w").close()
    while True:
        time.sleep(3600)


main()
