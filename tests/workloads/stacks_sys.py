"""usage: stacks_sys.py OUT N NAPS

caller() makes exactly N os.getppid() calls; napper() sleeps NAPS x 5 ms (clock_nanosleep, each over the
1 ms that makes a call's stack exact). Writes {"pid", "file", "n", "naps"} to OUT.
"""
import json
import os
import sys
import time


def caller(n):
    getppid = os.getppid
    for _ in range(n):
        getppid()


def napper(naps):
    for _ in range(naps):
        time.sleep(0.005)


def main():
    out, n, naps = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    caller(n)
    napper(naps)
    with open(out, "w") as f:
        json.dump({"pid": os.getpid(), "file": os.path.abspath(__file__), "n": n, "naps": naps}, f)


main()
