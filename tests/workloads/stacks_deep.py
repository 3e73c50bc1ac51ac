"""usage: stacks_deep.py OUT DEPTH SECONDS

Recurses DEPTH calls deep in recurse(), then spins SECONDS of CPU in spin() at the bottom. Writes {"pid",
"call_line" (the line of recurse's call to itself), "bottom_line" (its call to spin), "spin_lines" (every line
of spin, its def and its first statement included), "loop_lines" (spin's loop, where nearly all its time goes),
"file"} to OUT.
"""
import inspect
import json
import os
import sys
import time

sys.setrecursionlimit(10000)


def spin(cpu_s):
    end = time.thread_time() + cpu_s
    x = 0
    while time.thread_time() < end:
        x += 1


def recurse(n, cpu_s):
    if n == 0:
        return spin(cpu_s)
    return recurse(n - 1, cpu_s)


def main():
    out, depth, cpu_s = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
    recurse(depth, cpu_s)
    src, first = inspect.getsourcelines(recurse)
    call = [first + i for i, line in enumerate(src) if "return recurse(" in line][0]
    bottom = [first + i for i, line in enumerate(src) if "return spin(" in line][0]
    src, first = inspect.getsourcelines(spin)
    loop = [first + i for i, line in enumerate(src) if "while" in line or "x += 1" in line]
    every = list(range(first, first + len(src)))
    with open(out, "w") as f:
        json.dump({"pid": os.getpid(), "call_line": call, "bottom_line": bottom, "spin_lines": every,
                   "loop_lines": loop, "file": os.path.abspath(__file__)}, f)


main()
