"""usage: fork_children.py CHILDREN CALLS

Forks CHILDREN processes one after another; each makes exactly CALLS os.getppid() calls and leaves with
os._exit(0). The parent makes no getppid call of its own and waits for each child."""
import os
import sys

children, calls = int(sys.argv[1]), int(sys.argv[2])
for _ in range(children):
    pid = os.fork()
    if pid == 0:
        for _ in range(calls):
            os.getppid()
        os._exit(0)
    os.waitpid(pid, 0)
