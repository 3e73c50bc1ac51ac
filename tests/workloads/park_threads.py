"""A process with many threads that do nothing. argv: READY N.
Starts N threads that block at once, creates READY and sleeps until it is killed."""
import sys
import threading
import time


def main():
    ready, n = sys.argv[1], int(sys.argv[2])
    park = threading.Event()
    for i in range(n):
        threading.Thread(target=park.wait, name="parked-%d" % i, daemon=True).start()
    open(ready, "w").close()
    while True:
        time.sleep(3600)


main()
