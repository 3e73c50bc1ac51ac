"""usage: fail_paths.py DIR [DISTINCT]

Fails path-taking syscalls on paths it names, a known number of times each, and writes what it did as JSON on
stdout: os.stat() on DIR/missing-a 10 times, DIR/missing-b 20 times and DIR/missing-c 30 times (ENOENT);
open() of DIR/dir-d for writing 7 times (EISDIR, DIR/dir-d a directory); os.mkdir() of DIR/dir-d 5 times
(EEXIST). With DISTINCT, then os.stat() once on each of DISTINCT more missing paths DIR/many-N."""
import json
import os
import sys


def fail(call, times):
    n = 0
    for _ in range(times):
        try:
            call()
        except OSError:
            n += 1
    if n != times:
        sys.exit("fail_paths: %d of %d calls failed" % (n, times))


def main():
    d = sys.argv[1]
    distinct = int(sys.argv[2]) if len(sys.argv) > 2 else 0
    os.mkdir(os.path.join(d, "dir-d"))
    stats = {os.path.join(d, "missing-a"): 10, os.path.join(d, "missing-b"): 20, os.path.join(d, "missing-c"): 30}
    for path, times in stats.items():
        fail(lambda: os.stat(path), times)
    dir_d = os.path.join(d, "dir-d")
    fail(lambda: open(dir_d, "w"), 7)
    fail(lambda: os.mkdir(dir_d), 5)
    for i in range(distinct):
        fail(lambda: os.stat(os.path.join(d, "many-%d" % i)), 1)
    json.dump({"stat": stats, "open_eisdir": {dir_d: 7}, "mkdir_eexist": {dir_d: 5}, "distinct": distinct},
              sys.stdout)


main()
