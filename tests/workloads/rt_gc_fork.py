# A forked child (as multiprocessing's workers are) makes collections once the profiler has seen its fork:
# it waits 1 s, then counts its own (gc.get_stats()) over its work. Writes "child_pid gen0 gen1 gen2".
import gc
import os
import sys
import time


class Node:
    pass


pid = os.fork()
if pid == 0:
    time.sleep(1.0)
    before = [s["collections"] for s in gc.get_stats()]
    junk = []
    for i in range(60000):
        n = Node()
        n.self = n
        junk.append(n)
        if len(junk) > 500:
            junk.clear()
    gc.disable()
    after = [s["collections"] for s in gc.get_stats()]
    out = "%d %s\n" % (os.getpid(), " ".join(str(a - b) for a, b in zip(after, before)))
    fd = os.open(sys.argv[1], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    os.write(fd, out.encode())
    os._exit(0)
os.waitpid(pid, 0)
