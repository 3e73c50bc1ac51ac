"""usage: stacks_native.py OUT SECONDS

CPU time in native code and in Python code: compress_work compresses 1 MiB with zlib over and over (all but
a sliver of it in deflate, in the zlib library the interpreter maps), spin counts in a Python loop; each for
half of SECONDS of its thread's CPU time. Writes {"pid", "zlib": the base name of the zlib library mapped
(e.g. libz.so.1.2.13), "cpu_s": {"compress_work", "spin"}} to OUT.
"""
import json
import os
import sys
import time
import zlib

DATA = os.urandom(1 << 16) * 16


def compress_work(cpu_s):
    end = time.thread_time() + cpu_s
    while time.thread_time() < end:
        zlib.compress(DATA, 6)


def spin(cpu_s):
    end = time.thread_time() + cpu_s
    x = 0
    while time.thread_time() < end:
        x += 1


def main():
    out, seconds = sys.argv[1], float(sys.argv[2])
    spent = {}
    for f in (compress_work, spin):
        start = time.thread_time()
        f(seconds / 2)
        spent[f.__name__] = time.thread_time() - start
    with open("/proc/self/maps") as maps:
        libz = sorted({os.path.basename(line.split()[5]) for line in maps
                       if len(line.split()) > 5 and os.path.basename(line.split()[5]).startswith("libz.so")})
    with open(out, "w") as f:
        json.dump({"pid": os.getpid(), "zlib": libz[0] if libz else None, "cpu_s": spent}, f)


if __name__ == "__main__":
    main()
