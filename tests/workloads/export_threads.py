"""usage: export_threads.py OUT K

Three named threads with known activity, one after the other so that none waits for the GIL of another:
  sleeper  time.sleep(0.2) once: one clock_nanosleep of ~200 ms;
  caller   exactly K os.getppid() calls;
  spinner  ~0.15 s of CPU in pure Python, no sleeps;
and a fourth, `odd`, that only names itself b'q"\\\xff;x' (a quote, a backslash, a byte that is not UTF-8 and a
';'), for the escaping of exported names.
Each names itself through /proc/thread-self/comm (the kernel's thread name, what rtprof shows). The thread ids
are written as {"pid": ..., "threads": {"sleeper": tid, "caller": tid, "spinner": tid, "odd": tid}} to OUT.
"""
import json
import os
import sys
import threading
import time

SLEEP_S = 0.2
SPIN_CPU_S = 0.15


ODD_NAME = b'q"\\\xff;x'


def set_name(name):
    with open("/proc/thread-self/comm", "wb") as f:
        f.write(name if isinstance(name, bytes) else name.encode())


def sleeper(tids):
    set_name("sleeper")
    tids["sleeper"] = threading.get_native_id()
    time.sleep(SLEEP_S)


def caller(tids, k):
    set_name("caller")
    tids["caller"] = threading.get_native_id()
    getppid = os.getppid
    for _ in range(k):
        getppid()


def spinner(tids):
    set_name("spinner")
    tids["spinner"] = threading.get_native_id()
    start = time.thread_time()
    x = 0
    while time.thread_time() - start < SPIN_CPU_S:
        for i in range(10000):
            x += i * i


def odd(tids):
    set_name(ODD_NAME)
    tids["odd"] = threading.get_native_id()


def main():
    out, k = sys.argv[1], int(sys.argv[2])
    tids = {}
    for target, args in ((sleeper, (tids,)), (caller, (tids, k)), (spinner, (tids,)), (odd, (tids,))):
        t = threading.Thread(target=target, args=args)
        t.start()
        t.join()
    with open(out, "w") as f:
        json.dump({"pid": os.getpid(), "threads": tids}, f)


main()
