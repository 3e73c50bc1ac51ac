"""usage: stacks_offcpu.py OUT

Off-CPU time in known functions: four threads spin in spin() for 0.6 s of wall time each (contending for
the GIL), a fifth sleeps in nap(), 50 x time.sleep(0.01): 0.5 s. Writes {"pid", "tids": {"spin": [4 tids],
"nap": tid}, "naps": 50, "nap_s": 0.01} to OUT.
"""
import json
import os
import sys
import threading
import time

NAPS = 50
NAP_S = 0.01
tids = {"spin": [], "nap": None}


def spin():
    tids["spin"].append(threading.get_native_id())
    end = time.monotonic() + 0.6
    x = 0
    while time.monotonic() < end:
        x += 1


def nap():
    tids["nap"] = threading.get_native_id()
    for _ in range(NAPS):
        time.sleep(NAP_S)


def main():
    ts = [threading.Thread(target=spin) for _ in range(4)] + [threading.Thread(target=nap)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    with open(sys.argv[1], "w") as f:
        json.dump({"pid": os.getpid(), "tids": tids, "naps": NAPS, "nap_s": NAP_S}, f)


main()
