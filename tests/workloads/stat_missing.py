"""Calls os.stat() on a path that does not exist exactly M times (M = argv[1]): M failed stat syscalls (ENOENT)."""
import os
import sys

MISSING = "/nonexistent-rtprof-test-dir/missing-file"


def main():
    m = int(sys.argv[1])
    stat = os.stat
    failures = 0
    for _ in range(m):
        try:
            stat(MISSING)
        except FileNotFoundError:
            failures += 1
    if failures != m:
        sys.exit("stat_missing: %d of %d stat calls failed with ENOENT" % (failures, m))


main()
