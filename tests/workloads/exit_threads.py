"""usage: exit_threads.py

Threads that end while more threads are runnable than there are CPUs, for comparing a profiler's per-thread
figures with the kernel's accounting at each thread's exit. 4 long threads (~0.4 s each: 5 ms of CPU, then a
2 ms sleep, 40 times) and, while they run, 16 short ones (2 ms of CPU each, then exit) in waves of 4.
The CPU is burnt in hashlib, which releases the GIL on large buffers, so the threads really run in parallel
and queue for the CPUs. Prints the tids it started, one JSON line, and exits 0 after joining them all.
"""
import hashlib
import json
import threading
import time

LONG = 4
LONG_ROUNDS = 40
SHORT_WAVES = 4
SHORT_PER_WAVE = 4
BUF = b"\x5a" * 65536


def burn(seconds):
    end = time.thread_time() + seconds
    while time.thread_time() < end:
        hashlib.sha256(BUF).digest()


def long_thread(tids, lock):
    with lock:
        tids.append(threading.get_native_id())
    for _ in range(LONG_ROUNDS):
        burn(0.005)
        time.sleep(0.002)


def short_thread(tids, lock):
    with lock:
        tids.append(threading.get_native_id())
    burn(0.002)


def main():
    tids, lock = [], threading.Lock()
    longs = [threading.Thread(target=long_thread, args=(tids, lock)) for _ in range(LONG)]
    for t in longs:
        t.start()
    for _ in range(SHORT_WAVES):
        time.sleep(0.05)
        wave = [threading.Thread(target=short_thread, args=(tids, lock)) for _ in range(SHORT_PER_WAVE)]
        for t in wave:
            t.start()
        for t in wave:
            t.join()
    for t in longs:
        t.join()
    print(json.dumps({"tids": tids}), flush=True)


main()
