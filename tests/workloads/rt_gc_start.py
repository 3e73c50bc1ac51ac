# Collections from the interpreter's first instruction: the start-up's own (before this line) and those
# of the cycles made here. Writes the interpreter's own counts (gc.get_stats(), which also sees the
# start-up collections that gc.callbacks cannot) and its TracerPid, then leaves with os._exit so that
# shutdown collects nothing more. With a second argument "park", it waits for its stdin to close first
# (a watched process stays while the test reads its figures).
import gc
import os
import sys


class Node:
    pass


junk = []
for i in range(60000):
    n = Node()
    n.self = n
    junk.append(n)
    if len(junk) > 500:
        junk.clear()
gc.disable()  # nothing below may collect: the counts are final
stats = gc.get_stats()
with open("/proc/self/status") as f:
    tracer = [line.split()[1] for line in f if line.startswith("TracerPid:")][0]
out = "%d %s %s\n" % (os.getpid(), tracer, " ".join(str(s["collections"]) for s in stats))
fd = os.open(sys.argv[1], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
os.write(fd, out.encode())
os.close(fd)
if sys.argv[2:] == ["park"]:
    sys.stdin.buffer.read()
os._exit(0)
