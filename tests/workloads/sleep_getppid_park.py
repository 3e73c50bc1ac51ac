"""usage: sleep_getppid_park.py DELAY CALLS PARK -- sleep DELAY s, make exactly CALLS os.getppid() calls, then
sleep PARK s and exit. The delay gives a watcher time to notice the new process before it makes its calls."""
import os
import sys
import time

delay, calls, park = float(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3])
time.sleep(delay)
for _ in range(calls):
    os.getppid()
time.sleep(park)
