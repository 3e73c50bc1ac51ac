"""usage: stacks_offcpu.py OUT

Off-CPU time in known functions: two threads spin in spin() for 0.6 s of wall time each (contending for
the GIL), a third sleeps in nap(), 40 x time.sleep(0.01). Writes {"pid", "tids": {"spin": [tid, tid],
"nap": tid}, "naps": 40, "nap_s": 0.01} to OUT.
"""
import json
import os
import sys
import threading
import time

NAPS = 40
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
    ts = [threading.Thread(target=spin), threading.Thread(target=spin), threading.Thread(target=nap)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    with open(sys.argv[1], "w") as f:
        json.dump({"pid": os.getpid(), "tids": tids, "naps": NAPS, "nap_s": NAP_S}, f)


main()
