"""usage: thread_churn.py THREADS

Creates and joins THREADS short threads, one after another; each makes one os.getppid() call."""
import os
import sys
import threading

for _ in range(int(sys.argv[1])):
    t = threading.Thread(target=os.getppid)
    t.start()
    t.join()
