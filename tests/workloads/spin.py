"""usage: spin.py SECONDS -- one thread computing for SECONDS of wall time, no syscalls in the loop."""
import sys
import time

end = time.monotonic() + float(sys.argv[1])
x = 0
while time.monotonic() < end:
    for i in range(10000):
        x += i
