"""Burns ~1 s of CPU and touches a 200 MB bytearray page by page, then, as its very last work, writes its own
resource.getrusage(RUSAGE_SELF) and elapsed time as JSON to argv[1]:
{"pid", "cpu_s" (ru_utime + ru_stime), "utime_s", "stime_s", "maxrss_kb", "elapsed_s" (from its first line)}."""
import time

START = time.monotonic()

import json
import os
import resource
import sys

CPU_S = 1.0
ALLOC_BYTES = 200 * 1024 * 1024
PAGE = os.sysconf("SC_PAGE_SIZE")


def burn(seconds):
    start = time.process_time()
    x = 0
    while time.process_time() - start < seconds:
        for i in range(20000):
            x += i * i
    return x


def touch(nbytes):
    buf = bytearray(nbytes)  # zero pages from mmap: not resident until written
    for off in range(0, nbytes, PAGE):
        buf[off] = 1
    return buf


def main():
    out = sys.argv[1]
    buf = touch(ALLOC_BYTES)
    burn(CPU_S)
    # Freed here so the interpreter's teardown after the measurement has no 200 MB to unmap; ru_maxrss is a peak.
    del buf
    ru = resource.getrusage(resource.RUSAGE_SELF)
    elapsed = time.monotonic() - START
    data = json.dumps({"pid": os.getpid(), "cpu_s": ru.ru_utime + ru.ru_stime, "utime_s": ru.ru_utime,
                       "stime_s": ru.ru_stime, "maxrss_kb": ru.ru_maxrss, "elapsed_s": elapsed})
    fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    os.write(fd, data.encode())
    os.close(fd)


main()
