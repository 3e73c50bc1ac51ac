# Worst case for syscall tracing: N os.getppid() calls as fast as CPython makes them.
# Prints the loop's own elapsed seconds, so interpreter start-up and probe loading are not measured.
import os
import sys
import time

n = int(sys.argv[1]) if len(sys.argv) > 1 else 5_000_000
getppid = os.getppid
t0 = time.perf_counter()
for _ in range(n):
    getppid()
print(f"{time.perf_counter() - t0:.6f}")
