# usage: game_spin.py N OUT
#
# A CPU-bound program for rtprof compare --run: N rounds of arithmetic, then one JSON line appended to OUT,
# the run as the program itself measured it: "wall_s" from its first line to its last, "busy_s" (user +
# system, its getrusage) and "maxrss_kb".
import json
import resource
import sys
import time

start = time.monotonic()


def work(n):
    """'#' in a string is not a comment"""
    x = 0
    for i in range(n):
        x = (x * 31 + i) % 1000003  # the loop
    return x


result = work(int(sys.argv[1]))
ru = resource.getrusage(resource.RUSAGE_SELF)
with open(sys.argv[2], "a") as f:
    f.write(json.dumps({"wall_s": time.monotonic() - start, "busy_s": ru.ru_utime + ru.ru_stime,
                        "maxrss_kb": ru.ru_maxrss, "result": result}) + "\n")
