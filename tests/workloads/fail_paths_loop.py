"""usage: fail_paths_loop.py PREFIX SECONDS

Fails os.stat() on PREFIX-0 .. PREFIX-9 in turn, over and over, for SECONDS, then exits: a process whose
failing paths all start with PREFIX."""
import os
import sys
import time

prefix, end = sys.argv[1], time.monotonic() + float(sys.argv[2])
i = 0
while time.monotonic() < end:
    try:
        os.stat("%s-%d" % (prefix, i % 10))
    except FileNotFoundError:
        pass
    i += 1
    time.sleep(0.001)
