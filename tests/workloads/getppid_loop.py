"""Makes exactly N getppid() syscalls (N = argv[1]) and nothing else of note; writes nothing to stdout."""
import os
import sys


def main():
    n = int(sys.argv[1])
    getppid = os.getppid
    for _ in range(n):
        getppid()


main()
